//! [`Equivocation`]: evidence that one validator signed two different roots for the same lane
//! and log size — something an honest validator never does, since a log has one root per size.
//! Anyone checks it offline with nothing but the evidence itself ([`Equivocation::verify`]): the
//! two signed digests are recomputed from the checkpoints and the lane's signing domain, and both
//! signatures must recover to the accused validator.

use core::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{EvmAddress, Signature, recover};
use crate::{Checkpoint, Error, SigningDomain};

/// The `format` field of the evidence's JSON form.
pub const EQUIVOCATION_FORMAT: &str = "causeway-equivocation-v1";

/// Largest evidence JSON [`Equivocation::from_json`] reads (real evidence is under 2 KiB).
pub const MAX_EVIDENCE_JSON_LEN: usize = 64 * 1024;

/// One validator's two signatures over different roots of the same lane, hash and log size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivocation {
    /// Always [`EQUIVOCATION_FORMAT`].
    pub format: String,
    /// The lane's signing domain both signatures were made for.
    pub domain: SigningDomain,
    /// The validator accused.
    pub validator: EvmAddress,
    /// The first signed checkpoint.
    pub first: SignedCheckpoint,
    /// The second: same origin, hash algorithm and size, another root.
    pub second: SignedCheckpoint,
}

/// A checkpoint and one signature over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signature, `0x` and 130 hex digits (`r ‖ s ‖ v`).
    #[serde(with = "signature_hex")]
    pub signature: Signature,
}

impl Equivocation {
    /// Evidence against `validator` from two signed checkpoints; check it with
    /// [`Equivocation::verify`].
    pub fn new(
        domain: SigningDomain,
        validator: EvmAddress,
        first: SignedCheckpoint,
        second: SignedCheckpoint,
    ) -> Self {
        Equivocation {
            format: EQUIVOCATION_FORMAT.to_owned(),
            domain,
            validator,
            first,
            second,
        }
    }

    /// Checks the evidence: both checkpoints are of the domain's origin, with the same hash
    /// algorithm and size and different roots, and both signatures recover (low-s, canonical) to
    /// [`Equivocation::validator`] over the digests this crate computes for the domain. Returns the
    /// validator proven to have equivocated.
    pub fn verify(&self) -> Result<EvmAddress, Error> {
        let invalid = |reason: String| Error::InconsistentBundle {
            reason: format!("equivocation evidence: {reason}"),
        };
        if self.format != EQUIVOCATION_FORMAT {
            return Err(invalid(format!(
                "format {:?} is not {EQUIVOCATION_FORMAT:?}",
                self.format
            )));
        }
        let (a, b) = (&self.first.checkpoint, &self.second.checkpoint);
        for (which, cp) in [("first", a), ("second", b)] {
            if cp.origin() != self.domain.origin {
                return Err(invalid(format!(
                    "the {which} checkpoint is of origin {}, the domain's origin is {}",
                    cp.origin(),
                    self.domain.origin
                )));
            }
        }
        if a.hash_algorithm() != b.hash_algorithm() || a.size() != b.size() {
            return Err(invalid(format!(
                "the checkpoints are of different logs or sizes ({:?} size {} and {:?} size {}): \
                 only two roots for one log size are an equivocation",
                a.hash_algorithm(),
                a.size().0,
                b.hash_algorithm(),
                b.size().0
            )));
        }
        if a.root() == b.root() {
            return Err(invalid("both checkpoints have the same root".to_owned()));
        }
        for (position, signed) in [&self.first, &self.second].into_iter().enumerate() {
            let digest = signed.checkpoint.signing_digest(&self.domain);
            let signer = recover(&digest, &signed.signature, position)?;
            if signer != self.validator {
                return Err(invalid(format!(
                    "signature {position} was made by {signer}, not by the accused {}",
                    self.validator
                )));
            }
        }
        Ok(self.validator)
    }

    /// The evidence as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses evidence JSON (at most [`MAX_EVIDENCE_JSON_LEN`] bytes, unknown fields refused).
    /// Parsing does not verify: call [`Equivocation::verify`].
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        if json.len() > MAX_EVIDENCE_JSON_LEN {
            return Err(Error::Decode {
                what: "equivocation evidence",
                reason: format!(
                    "{} bytes is more than the {MAX_EVIDENCE_JSON_LEN} accepted",
                    json.len()
                ),
            });
        }
        serde_json::from_slice(json).map_err(|e| Error::Decode {
            what: "equivocation evidence",
            reason: e.to_string(),
        })
    }
}

mod signature_hex {
    use super::{FromStr, Signature};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(sig: &Signature, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&sig.to_hex())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
        let text = String::deserialize(d)?;
        Signature::from_str(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::ValidatorKey;
    use crate::{Address32, Domain, Hash32, HashAlgorithm, LogSize};

    fn domain() -> SigningDomain {
        SigningDomain {
            origin: Domain(1),
            origin_chain_id: 31337,
            destination: Domain(2),
            destination_chain_id: 31338,
            inbox: Address32([7; 32]),
            validator_epoch: 1,
        }
    }

    fn signed(key: &ValidatorKey, size: u64, root: u8) -> SignedCheckpoint {
        let checkpoint = Checkpoint::new(
            Domain(1),
            HashAlgorithm::Sha256,
            LogSize(size),
            Hash32([root; 32]),
        )
        .expect("non-zero root");
        SignedCheckpoint {
            signature: key.sign_checkpoint(&checkpoint, &domain()),
            checkpoint,
        }
    }

    #[test]
    fn two_roots_for_one_size_by_one_validator_verify_and_round_trip_json() {
        let key = ValidatorKey::from_bytes(&[3; 32]).expect("key");
        let evidence = Equivocation::new(
            domain(),
            key.address(),
            signed(&key, 8, 1),
            signed(&key, 8, 2),
        );
        assert_eq!(evidence.verify().expect("valid evidence"), key.address());
        let parsed = Equivocation::from_json(evidence.to_json().as_bytes()).expect("parses");
        assert_eq!(parsed, evidence);
        assert_eq!(parsed.verify().expect("still valid"), key.address());
    }

    #[test]
    fn evidence_that_proves_nothing_is_refused() {
        let key = ValidatorKey::from_bytes(&[3; 32]).expect("key");
        let other = ValidatorKey::from_bytes(&[4; 32]).expect("key");
        let cases = [
            (
                "same root",
                Equivocation::new(
                    domain(),
                    key.address(),
                    signed(&key, 8, 1),
                    signed(&key, 8, 1),
                ),
            ),
            (
                "different sizes",
                Equivocation::new(
                    domain(),
                    key.address(),
                    signed(&key, 8, 1),
                    signed(&key, 9, 2),
                ),
            ),
            (
                "another signer",
                Equivocation::new(
                    domain(),
                    key.address(),
                    signed(&key, 8, 1),
                    signed(&other, 8, 2),
                ),
            ),
            (
                "accusing the wrong validator",
                Equivocation::new(
                    domain(),
                    other.address(),
                    signed(&key, 8, 1),
                    signed(&key, 8, 2),
                ),
            ),
        ];
        for (what, evidence) in cases {
            assert!(evidence.verify().is_err(), "{what} was accepted");
        }
        // Signed for another lane's domain: the digests differ, so the signer recovered is not
        // the accused.
        let mut moved = Equivocation::new(
            domain(),
            key.address(),
            signed(&key, 8, 1),
            signed(&key, 8, 2),
        );
        moved.domain.validator_epoch = 2;
        assert!(moved.verify().is_err());
        // Tampered JSON: unknown fields and oversized input.
        let json = Equivocation::new(
            domain(),
            key.address(),
            signed(&key, 8, 1),
            signed(&key, 8, 2),
        )
        .to_json();
        let extra = json.replacen('{', "{\"extra\":1,", 1);
        assert!(Equivocation::from_json(extra.as_bytes()).is_err());
        assert!(Equivocation::from_json(&vec![b' '; MAX_EVIDENCE_JSON_LEN + 1]).is_err());
    }
}
