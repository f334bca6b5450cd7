//! The two crypto modes of a FISCO BCOS chain (`[chain] sm_crypto`), its node keys, and the
//! signatures of transactions and sealers in each mode.
//!
//! | | [`CryptoMode::Ecdsa`] | [`CryptoMode::Sm`] |
//! |---|---|---|
//! | hash | Keccak-256 | SM3 |
//! | signature | secp256k1, r ‖ s ‖ v (65 bytes, v ∈ {0, 1}) | SM2, r ‖ s ‖ public key (128 bytes) |
//! | signer | recovered from r, s, v | the appended key, then verified |
//! | address | last 20 bytes of Keccak-256(x ‖ y) | last 20 bytes of SM3(x ‖ y) |
//!
//! SM2 signs e = SM3(Z_A ‖ M) with M the 32-byte hash and the default identity
//! `1234567812345678`; verified against the published sendTransaction example (see
//! `tests/it/fisco.rs`).

use core::fmt;

use ::sm2::elliptic_curve::rand_core::CryptoRngCore;
use ::sm2::elliptic_curve::zeroize::Zeroizing;
use k256::ecdsa::{RecoveryId, Signature as K256Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::FiscoError;
use crate::attestation::signature::SECP256K1;
use crate::sm::{DEFAULT_USER_ID, Sm2PublicKey, Sm2SecretKey, Sm2Signature};
use crate::{Hash32, HashAlgorithm};

/// Length of an ECDSA (secp256k1) signature: r ‖ s ‖ v.
pub const ECDSA_SIGNATURE_LEN: usize = 65;
/// Length of an SM2 signature as FISCO BCOS carries it: r ‖ s ‖ 64-byte public key.
pub const SM2_SIGNATURE_LEN: usize = 128;

/// A chain's crypto mode, fixed at genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CryptoMode {
    /// `sm_crypto = false`: Keccak-256 and secp256k1 ECDSA.
    Ecdsa,
    /// `sm_crypto = true`: SM3 and SM2 (national cryptography).
    Sm,
}

impl CryptoMode {
    /// The mode's name in configuration and errors: `ecdsa` or `sm`.
    pub fn name(self) -> &'static str {
        match self {
            CryptoMode::Ecdsa => "ecdsa",
            CryptoMode::Sm => "sm",
        }
    }

    /// The chain hash: Keccak-256 or SM3.
    pub fn hash_algorithm(self) -> HashAlgorithm {
        match self {
            CryptoMode::Ecdsa => HashAlgorithm::Keccak256,
            CryptoMode::Sm => HashAlgorithm::Sm3,
        }
    }

    /// Hashes `data` with the chain hash.
    pub fn hash(self, data: &[u8]) -> Hash32 {
        self.hash_algorithm().digest(data)
    }

    /// The length of a signature in this mode.
    pub fn signature_len(self) -> usize {
        match self {
            CryptoMode::Ecdsa => ECDSA_SIGNATURE_LEN,
            CryptoMode::Sm => SM2_SIGNATURE_LEN,
        }
    }

    /// Recovers (ECDSA) or reads and verifies (SM2) the key that signed `hash`.
    ///
    /// `index` is the signature's position, reported in errors. Fails with
    /// [`FiscoError::SignatureForm`] if the signature has another mode's length, or
    /// [`FiscoError::BadSignature`] (with `number`) if it does not verify.
    pub fn signer(
        self,
        hash: &Hash32,
        signature: &[u8],
        number: i64,
        index: usize,
    ) -> Result<NodeKey, FiscoError> {
        if signature.len() != self.signature_len() {
            return Err(FiscoError::SignatureForm {
                index,
                len: signature.len(),
                expected: self.signature_len(),
                mode: self.name(),
            });
        }
        let bad = || FiscoError::BadSignature { number, index };
        match self {
            CryptoMode::Ecdsa => {
                let sig = K256Signature::from_slice(&signature[..64]).map_err(|_| bad())?;
                // FISCO BCOS writes the recovery id as 0/1. Identity is the recovered key,
                // so the malleated twin (r, n - s) of a signature counts as the same sealer.
                let recid = match signature[64] {
                    v @ (0 | 1) => RecoveryId::from_byte(v).ok_or_else(bad)?,
                    _ => return Err(bad()),
                };
                let key =
                    VerifyingKey::recover_from_prehash(&hash.0, &sig, recid).map_err(|_| bad())?;
                NodeKey::from_k256(&key)
            }
            CryptoMode::Sm => {
                let sig = Sm2Signature::from_bytes(&signature[..64]).map_err(|_| bad())?;
                let key = Sm2PublicKey::from_bytes(&signature[64..]).map_err(|_| bad())?;
                crate::sm::verify(&key, DEFAULT_USER_ID, &hash.0, &sig).map_err(|_| bad())?;
                Ok(NodeKey {
                    mode: CryptoMode::Sm,
                    xy: key.to_bytes(),
                })
            }
        }
    }
}

impl CryptoMode {
    /// Checks a sealer's signature of a block `hash` under the sealer's `key` (named by the
    /// signature's `sealerIndex`): ECDSA r ‖ s ‖ v must recover `key`; SM2 is r ‖ s (64
    /// bytes, as in the published SM block example), or r ‖ s ‖ `key` (128 bytes).
    ///
    /// Fails with [`FiscoError::SignatureForm`] or [`FiscoError::BadSignature`].
    pub fn verify_sealer_signature(
        self,
        hash: &Hash32,
        signature: &[u8],
        key: &NodeKey,
        number: i64,
        index: usize,
    ) -> Result<(), FiscoError> {
        let bad = || FiscoError::BadSignature { number, index };
        match self {
            CryptoMode::Ecdsa => {
                if signature.len() != ECDSA_SIGNATURE_LEN {
                    return Err(FiscoError::SignatureForm {
                        index,
                        len: signature.len(),
                        expected: ECDSA_SIGNATURE_LEN,
                        mode: self.name(),
                    });
                }
                // FISCO BCOS writes the recovery id as 0/1; the key is known (the indexed
                // sealer's), so the signature is verified against it rather than recovered:
                // the same acceptance as recovery (low s only: FISCO BCOS signs with
                // libsecp256k1, which always writes low s), several times faster.
                if !matches!(signature[64], 0 | 1) {
                    return Err(bad());
                }
                verify_secp256k1(hash, &signature[..64], &key.xy).map_err(|()| bad())
            }
            CryptoMode::Sm => {
                let rs = match signature.len() {
                    64 => signature,
                    SM2_SIGNATURE_LEN if signature[64..] == key.xy[..] => &signature[..64],
                    SM2_SIGNATURE_LEN => return Err(bad()),
                    len => {
                        return Err(FiscoError::SignatureForm {
                            index,
                            len,
                            expected: 64,
                            mode: self.name(),
                        });
                    }
                };
                let sig = Sm2Signature::from_bytes(rs).map_err(|_| bad())?;
                sm2_sealer(key)
                    .map_err(|_| bad())?
                    .verify(&hash.0, &sig)
                    .map_err(|_| bad())
            }
        }
    }
}

/// Sealer keys prepared for SM2 verification (Z_A and the key's table), most a process keeps:
/// a few groups' sealers. Beyond it, a key is prepared for each use (correct, only slower).
const SM2_SEALERS_KEPT: usize = 256;

/// The prepared SM2 verifiers of the sealer keys met so far.
static SM2_SEALERS: std::sync::LazyLock<
    std::sync::Mutex<
        std::collections::HashMap<[u8; 64], std::sync::Arc<crate::sm::Sm2KeyVerifier>>,
    >,
> = std::sync::LazyLock::new(Default::default);

/// The prepared verifier of SM2 sealer `key` (built on first use, then kept): sealers sign
/// every block, so their keys are worth the table.
fn sm2_sealer(key: &NodeKey) -> Result<std::sync::Arc<crate::sm::Sm2KeyVerifier>, crate::Error> {
    let lock = || {
        SM2_SEALERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(known) = lock().get(&key.xy) {
        return Ok(std::sync::Arc::clone(known));
    }
    let public = Sm2PublicKey::from_bytes(&key.xy)?;
    let prepared = std::sync::Arc::new(crate::sm::Sm2KeyVerifier::new(&public, DEFAULT_USER_ID)?);
    let mut kept = lock();
    if kept.len() < SM2_SEALERS_KEPT {
        kept.insert(key.xy, std::sync::Arc::clone(&prepared));
    }
    Ok(prepared)
}

/// Verifies the compact signature `rs` (r ‖ s, s in the lower half of the order, as k256's
/// recovery required before) over the digest `hash` under the secp256k1 key `xy` (x ‖ y).
fn verify_secp256k1(hash: &Hash32, rs: &[u8], xy: &[u8; 64]) -> Result<(), ()> {
    let sig = secp256k1::ecdsa::Signature::from_compact(rs).map_err(drop)?;
    let mut uncompressed = [0u8; 65];
    uncompressed[0] = 0x04;
    uncompressed[1..].copy_from_slice(xy);
    let key = secp256k1::PublicKey::from_slice(&uncompressed).map_err(drop)?;
    SECP256K1
        .verify_ecdsa(secp256k1::Message::from_digest(hash.0), &sig, &key)
        .map_err(drop)
}

impl fmt::Display for CryptoMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A node's or account's public key: a point of the mode's curve (secp256k1 or sm2p256v1),
/// held as its 64-byte x ‖ y (FISCO BCOS's node id).
///
/// Two keys are equal exactly when they are the same point: construction checks the point is
/// on the curve with canonical coordinates, so x ‖ y has one form per point (the review
/// checklist's "distinct by the thing that is unique").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKey {
    mode: CryptoMode,
    xy: [u8; 64],
}

impl NodeKey {
    /// Parses a node id: 64 bytes x ‖ y (or 65 bytes with the `0x04` prefix).
    ///
    /// Fails with [`FiscoError::InvalidPublicKey`] if it is not a point of the mode's curve.
    pub fn from_bytes(mode: CryptoMode, bytes: &[u8]) -> Result<Self, FiscoError> {
        let invalid = |reason: String| FiscoError::InvalidPublicKey {
            mode: mode.name(),
            key: hex::encode(bytes),
            reason,
        };
        match mode {
            CryptoMode::Ecdsa => {
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                match bytes.len() {
                    64 => sec1[1..].copy_from_slice(bytes),
                    65 if bytes[0] == 0x04 => sec1.copy_from_slice(bytes),
                    n => return Err(invalid(format!("{n} bytes; a node id is 64 bytes x ‖ y"))),
                }
                let key = VerifyingKey::from_sec1_bytes(&sec1)
                    .map_err(|_| invalid("not a point of secp256k1".into()))?;
                NodeKey::from_k256(&key)
            }
            CryptoMode::Sm => {
                let key = Sm2PublicKey::from_bytes(bytes).map_err(|e| invalid(e.to_string()))?;
                Ok(NodeKey {
                    mode,
                    xy: key.to_bytes(),
                })
            }
        }
    }

    /// Parses a node id written as hex (with or without `0x`, either case).
    pub fn from_hex(mode: CryptoMode, text: &str) -> Result<Self, FiscoError> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let bytes = hex::decode(digits).map_err(|e| FiscoError::InvalidPublicKey {
            mode: mode.name(),
            key: text.to_owned(),
            reason: format!("not hex: {e}"),
        })?;
        NodeKey::from_bytes(mode, &bytes)
    }

    fn from_k256(key: &VerifyingKey) -> Result<Self, FiscoError> {
        let point = key.to_encoded_point(false);
        let mut xy = [0u8; 64];
        // An uncompressed SEC1 point is 0x04 ‖ x ‖ y.
        let bytes = point.as_bytes();
        if bytes.len() != 65 {
            return Err(FiscoError::InvalidPublicKey {
                mode: "ecdsa",
                key: hex::encode(bytes),
                reason: "not an uncompressed point".into(),
            });
        }
        xy.copy_from_slice(&bytes[1..]);
        Ok(NodeKey {
            mode: CryptoMode::Ecdsa,
            xy,
        })
    }

    /// The mode whose curve the key is on.
    pub fn mode(&self) -> CryptoMode {
        self.mode
    }

    /// The 64-byte node id x ‖ y.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.xy
    }

    /// The node id as lowercase hex without `0x` (as `getSealerList` writes it).
    pub fn to_hex(&self) -> String {
        hex::encode(self.xy)
    }

    /// The account address: the last 20 bytes of the chain hash of x ‖ y.
    pub fn address(&self) -> [u8; 20] {
        let hash = self.mode.hash(&self.xy);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash.0[12..]);
        out
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey({}:{})", self.mode, self.to_hex())
    }
}

/// A node's or account's secret key in either mode; zeroized on drop, redacted in `Debug`.
pub enum NodeSecret {
    /// A secp256k1 key (`k256` zeroizes its scalar on drop).
    Ecdsa(SigningKey),
    /// An SM2 key.
    Sm(Sm2SecretKey),
}

impl NodeSecret {
    /// A fresh random key of `mode`.
    pub fn generate(mode: CryptoMode, rng: &mut impl CryptoRngCore) -> Self {
        match mode {
            CryptoMode::Ecdsa => NodeSecret::Ecdsa(SigningKey::random(rng)),
            CryptoMode::Sm => NodeSecret::Sm(Sm2SecretKey::generate(rng)),
        }
    }

    /// The key from its 32 big-endian bytes.
    ///
    /// Fails with [`FiscoError::Malformed`] if the bytes are not a valid scalar.
    pub fn from_bytes(mode: CryptoMode, bytes: &[u8; 32]) -> Result<Self, FiscoError> {
        let malformed = |reason: String| FiscoError::Malformed {
            field: "secret key".into(),
            reason,
        };
        match mode {
            CryptoMode::Ecdsa => SigningKey::from_bytes(bytes.into())
                .map(NodeSecret::Ecdsa)
                .map_err(|_| malformed("not a secp256k1 scalar in 1..n-1".into())),
            CryptoMode::Sm => Sm2SecretKey::from_bytes(bytes)
                .map(NodeSecret::Sm)
                .map_err(|e| malformed(e.to_string())),
        }
    }

    /// The key's 32 secret bytes (zeroized when dropped).
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        match self {
            NodeSecret::Ecdsa(key) => Zeroizing::new(key.to_bytes().into()),
            NodeSecret::Sm(key) => key.secret_bytes(),
        }
    }

    /// The crypto mode of the key.
    pub fn mode(&self) -> CryptoMode {
        match self {
            NodeSecret::Ecdsa(_) => CryptoMode::Ecdsa,
            NodeSecret::Sm(_) => CryptoMode::Sm,
        }
    }

    /// The public key.
    pub fn public_key(&self) -> NodeKey {
        match self {
            NodeSecret::Ecdsa(key) => NodeKey::from_k256(key.verifying_key())
                .expect("a k256 verifying key is an uncompressed point"),
            NodeSecret::Sm(key) => NodeKey {
                mode: CryptoMode::Sm,
                xy: key.public_key().to_bytes(),
            },
        }
    }

    /// Signs the 32-byte `hash` as FISCO BCOS does: ECDSA r ‖ s ‖ v (RFC 6979), or SM2
    /// r ‖ s ‖ public key over e = SM3(Z_A ‖ hash) with the default identity.
    ///
    /// Fails with [`FiscoError::Malformed`] only if signing fails (a failing RNG).
    pub fn sign(&self, hash: &Hash32, rng: &mut impl CryptoRngCore) -> Result<Vec<u8>, FiscoError> {
        let failed = |reason: String| FiscoError::Malformed {
            field: "signature".into(),
            reason,
        };
        match self {
            NodeSecret::Ecdsa(key) => {
                let (sig, recid) = key
                    .sign_prehash_recoverable(&hash.0)
                    .map_err(|e| failed(e.to_string()))?;
                let mut out = Vec::with_capacity(ECDSA_SIGNATURE_LEN);
                out.extend_from_slice(&sig.to_bytes());
                out.push(recid.to_byte());
                Ok(out)
            }
            NodeSecret::Sm(key) => {
                let sig = crate::sm::sm2::sign(key, DEFAULT_USER_ID, &hash.0, rng)
                    .map_err(|e| failed(e.to_string()))?;
                let mut out = Vec::with_capacity(SM2_SIGNATURE_LEN);
                out.extend_from_slice(&sig.to_bytes());
                out.extend_from_slice(&key.public_key().to_bytes());
                Ok(out)
            }
        }
    }
}

impl fmt::Debug for NodeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NodeSecret({}, public {:?}, secret redacted)",
            self.mode(),
            self.public_key()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_in_both_modes_and_refuse_the_other_mode() {
        let mut rng = rand_core::OsRng;
        let hash = Hash32([7u8; 32]);
        for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
            let secret = NodeSecret::generate(mode, &mut rng);
            let sig = secret.sign(&hash, &mut rng).expect("signs");
            assert_eq!(sig.len(), mode.signature_len());
            assert_eq!(mode.signer(&hash, &sig, 1, 0), Ok(secret.public_key()));
            let other = match mode {
                CryptoMode::Ecdsa => CryptoMode::Sm,
                CryptoMode::Sm => CryptoMode::Ecdsa,
            };
            assert!(matches!(
                other.signer(&hash, &sig, 1, 0),
                Err(FiscoError::SignatureForm { .. })
            ));
            // Another hash: ECDSA recovers some other key, SM2 refuses.
            let other_hash = Hash32([8u8; 32]);
            assert_ne!(
                mode.signer(&other_hash, &sig, 1, 0),
                Ok(secret.public_key())
            );
        }
    }

    #[test]
    fn ecdsa_sealer_signatures_verify_against_the_key_exactly_when_recovery_names_it() {
        let mut rng = rand_core::OsRng;
        let mode = CryptoMode::Ecdsa;
        for i in 0..32u8 {
            let hash = Hash32([i; 32]);
            let secret = NodeSecret::generate(mode, &mut rng);
            let key = secret.public_key();
            let stranger = NodeSecret::generate(mode, &mut rng).public_key();
            let sig = secret.sign(&hash, &mut rng).expect("signs");
            assert_eq!(mode.signer(&hash, &sig, 1, 0), Ok(key));
            assert_eq!(
                mode.verify_sealer_signature(&hash, &sig, &key, 1, 0),
                Ok(())
            );
            let refused = |sig: &[u8], key: &NodeKey, hash: &Hash32| {
                mode.verify_sealer_signature(hash, sig, key, 1, 0).is_err()
            };
            assert!(refused(&sig, &stranger, &hash));
            assert!(refused(&sig, &key, &Hash32([i ^ 0xff; 32])));
            let mut bad_v = sig.clone();
            bad_v[64] = 27;
            assert!(refused(&bad_v, &key, &hash));
            assert!(refused(&sig[..64], &key, &hash));
            // The high-s twin (r, n - s, v ^ 1): refused by recovery and by verification alike
            // (FISCO BCOS writes low s).
            let mut twin = sig.clone();
            let parsed = K256Signature::from_slice(&sig[..64]).expect("a signature");
            let neg_s: k256::Scalar = -*AsRef::<k256::Scalar>::as_ref(&parsed.s());
            twin[32..64].copy_from_slice(&neg_s.to_bytes());
            twin[64] ^= 1;
            assert!(mode.signer(&hash, &twin, 1, 0).is_err());
            assert!(refused(&twin, &key, &hash));
        }
    }

    #[test]
    fn node_keys_are_points_and_debug_hides_secrets() {
        assert!(NodeKey::from_bytes(CryptoMode::Ecdsa, &[1u8; 64]).is_err());
        assert!(NodeKey::from_bytes(CryptoMode::Sm, &[1u8; 64]).is_err());
        let secret = NodeSecret::from_bytes(CryptoMode::Sm, &[9u8; 32]).expect("valid");
        let text = format!("{secret:?}");
        assert!(!text.contains(&hex::encode([9u8; 32])));
        let key = secret.public_key();
        assert_eq!(NodeKey::from_hex(CryptoMode::Sm, &key.to_hex()), Ok(key));
    }
}
