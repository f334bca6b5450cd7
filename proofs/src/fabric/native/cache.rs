//! Validated identities, cached: parsing an X.509 certificate and checking its CA's signature
//! costs as much as the endorsement check itself, and a channel has few distinct identities
//! (one per client, peer and orderer), so each is validated once and reused.
//!
//! Security decisions:
//! - Only successful validations are cached; a refused identity is checked again every time.
//! - A cached identity is reused only while the certificate and the root that issued it are
//!   both within their validity periods at the time of the check, and for at most [`TTL`]
//!   around the time it was validated, after which it is validated again in full (key usage,
//!   CA signature).
//! - Identities are cached per role: an orderer identity validated against the orderer roots is
//!   never taken as a peer or client identity, nor the other way round.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

use crate::fabric::{FabricError, FabricIdentity, TrustedMsps};

/// How long (either side of the validation time) a validation is reused.
pub(crate) const TTL: Duration = Duration::from_secs(60);

/// Most identities kept per role; the cache is emptied when full (far above any real channel).
const MAX_ENTRIES: usize = 4_096;

/// Which roots an identity was validated against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Transaction creators and endorsers: the organisations' MSP roots.
    Member,
    /// Block signers: the ordering service's MSP roots.
    Orderer,
}

struct Entry {
    identity: Arc<Validated>,
    validated_at: SystemTime,
    /// When the certificate and the root that issued it are both within their validity.
    valid_from: SystemTime,
    valid_to: SystemTime,
}

/// An identity that passed validation, with its key in the form ring verifies with.
pub(crate) struct Validated {
    identity: FabricIdentity,
    /// The uncompressed SEC1 point of the certificate's P-256 key.
    sec1: Vec<u8>,
}

impl std::ops::Deref for Validated {
    type Target = FabricIdentity;

    fn deref(&self) -> &FabricIdentity {
        &self.identity
    }
}

impl Validated {
    fn new(identity: FabricIdentity) -> Self {
        let sec1 = identity
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        Self { identity, sec1 }
    }

    /// Fabric's check of an endorsement, creator or block signature by this identity:
    /// [`FabricIdentity::verify`]'s rules (strict DER, low S, ECDSA P-256 over SHA-256 of
    /// `message`), with the curve arithmetic done by ring, several times faster than p256's.
    /// The DER and S checks stay p256's, and ring parses the DER strictly too: a signature
    /// passes only if both accept it (a differential test over Wycheproof's vectors pins the
    /// equivalence).
    pub(crate) fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), FabricError> {
        verify_low_s(&self.sec1, message, der_signature)
    }
}

impl crate::fabric::verify::Signer for Arc<Validated> {
    fn identity(&self) -> &FabricIdentity {
        &self.identity
    }

    fn verify_signature(&self, message: &[u8], der_signature: &[u8]) -> Result<(), FabricError> {
        self.verify(message, der_signature)
    }
}

/// See [`Validated::verify`]; `sec1` is an uncompressed P-256 point.
pub(crate) fn verify_low_s(
    sec1: &[u8],
    message: &[u8],
    der_signature: &[u8],
) -> Result<(), FabricError> {
    let signature = p256::ecdsa::Signature::from_der(der_signature)
        .map_err(|_| FabricError::MalformedSignature)?;
    if signature.normalize_s().is_some() {
        return Err(FabricError::HighS);
    }
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, sec1)
        .verify(message, der_signature)
        .map_err(|_| FabricError::BadSignature)
}

/// Identities that passed [`TrustedMsps::validate`], by serialized `msp.SerializedIdentity`.
#[derive(Default)]
pub(crate) struct IdentityCache {
    members: RwLock<HashMap<Vec<u8>, Entry>>,
    orderers: RwLock<HashMap<Vec<u8>, Entry>>,
}

impl std::fmt::Debug for IdentityCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCache").finish_non_exhaustive()
    }
}

fn within(at: SystemTime, from: SystemTime, to: SystemTime) -> bool {
    at >= from && at <= to
}

impl IdentityCache {
    fn map(&self, role: Role) -> &RwLock<HashMap<Vec<u8>, Entry>> {
        match role {
            Role::Member => &self.members,
            Role::Orderer => &self.orderers,
        }
    }

    /// The identity serialized in `bytes`, validated against `trusted` at `at` (from the cache
    /// when a fresh validation exists).
    pub(crate) fn validated(
        &self,
        role: Role,
        bytes: &[u8],
        trusted: &TrustedMsps,
        at: SystemTime,
    ) -> Result<Arc<Validated>, FabricError> {
        let map = self.map(role);
        {
            let entries = map
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(entry) = entries.get(bytes) {
                let fresh = within(
                    at,
                    entry
                        .validated_at
                        .checked_sub(TTL)
                        .unwrap_or(SystemTime::UNIX_EPOCH),
                    entry.validated_at + TTL,
                ) && within(at, entry.valid_from, entry.valid_to);
                if fresh {
                    return Ok(Arc::clone(&entry.identity));
                }
            }
        }
        let identity = FabricIdentity::from_serialized(bytes)?;
        let (valid_from, valid_to) = trusted.validate_window(&identity, at)?;
        let identity = Arc::new(Validated::new(identity));
        let mut entries = map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            bytes.to_vec(),
            Entry {
                identity: Arc::clone(&identity),
                validated_at: at,
                valid_from,
                valid_to,
            },
        );
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use p256::ecdsa::VerifyingKey;

    use super::verify_low_s;
    use crate::fabric::verify_endorsement_signature;

    /// Every Wycheproof ECDSA P-256/SHA-256 vector (`shared/vectors/wycheproof/SOURCE.txt`):
    /// the ring path accepts exactly what the p256 path ([`verify_endorsement_signature`])
    /// accepts, and refuses with the same error kind.
    #[test]
    fn ring_path_agrees_with_p256_on_wycheproof() {
        // `CAUSEWAY_VECTORS` overrides the shared vectors folder, as for the integration tests.
        let base = std::env::var_os("CAUSEWAY_VECTORS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
            });
        let path = base.join("wycheproof/wycheproof_ecdsa_secp256r1_sha256_test.json");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut cases = 0;
        let mut accepted = 0;
        for group in json["testGroups"].as_array().unwrap() {
            let sec1 = hex::decode(group["publicKey"]["uncompressed"].as_str().unwrap()).unwrap();
            let key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
            for test in group["tests"].as_array().unwrap() {
                let msg = hex::decode(test["msg"].as_str().unwrap()).unwrap();
                let sig = hex::decode(test["sig"].as_str().unwrap()).unwrap();
                let ours = verify_low_s(&sec1, &msg, &sig);
                let reference = verify_endorsement_signature(&key, &msg, &sig);
                assert_eq!(
                    ours.as_ref().map_err(std::mem::discriminant),
                    reference.as_ref().map_err(std::mem::discriminant),
                    "tcId {}: {ours:?} vs {reference:?}",
                    test["tcId"]
                );
                cases += 1;
                accepted += usize::from(ours.is_ok());
            }
        }
        assert_eq!(cases, 484);
        assert!(accepted > 0);
    }
}
