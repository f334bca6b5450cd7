//! The sealer check: a header counts as committed only when at least 2f+1 distinct
//! configured sealers signed its hash (PBFT's commit quorum for n = 3f+1 sealers).
//!
//! Security decisions:
//! - The trusted list is the *configured* one; the header's own `sealerList` is the chain's
//!   claim and is used only to check each signature's `sealerIndex` (which nobody signs).
//! - A signer is the public key recovered (ECDSA) or carried and verified (SM2); sealers are
//!   told apart by that key as a curve point ([`NodeKey`]), never by an encoding of it.
//! - A configured list with a repeated key, or fewer than [`MIN_SEALERS`] keys (where one
//!   key alone would be a quorum), is refused.
//! - Any bad, unknown or repeated signature refuses the header: a consensus node never
//!   writes one, so it is evidence of forgery, not noise to skip.

use std::collections::BTreeSet;

use super::{CryptoMode, FiscoError, Header, NodeKey, SealerSignature};
use crate::Hash32;

/// Fewest configured sealers accepted: with 4, f = 1 and the quorum is 3, so no single key
/// decides.
pub const MIN_SEALERS: usize = 4;

/// Most signatures a header may carry before it is refused unread.
pub const MAX_SIGNATURES: usize = 1024;

/// The configured sealers of a chain: distinct keys of one crypto mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealerSet {
    mode: CryptoMode,
    keys: BTreeSet<NodeKey>,
}

/// What a successful seal check establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSeal {
    /// The header hash that was signed.
    pub hash: Hash32,
    /// The distinct configured sealers that signed it.
    pub signers: Vec<NodeKey>,
}

impl SealerSet {
    /// A set from the configured node ids.
    ///
    /// Fails with [`FiscoError::SealerSet`] for a repeated key, a key of another mode, or
    /// fewer than [`MIN_SEALERS`] keys.
    pub fn new(
        mode: CryptoMode,
        keys: impl IntoIterator<Item = NodeKey>,
    ) -> Result<Self, FiscoError> {
        let mut set = BTreeSet::new();
        for key in keys {
            if key.mode() != mode {
                return Err(FiscoError::SealerSet {
                    reason: format!(
                        "sealer {} is a {} key on a {mode} chain",
                        key.to_hex(),
                        key.mode()
                    ),
                });
            }
            if !set.insert(key) {
                return Err(FiscoError::SealerSet {
                    reason: format!(
                        "sealer {} is listed twice; each sealer must appear once",
                        key.to_hex()
                    ),
                });
            }
        }
        if set.len() < MIN_SEALERS {
            return Err(FiscoError::SealerSet {
                reason: format!(
                    "{} sealers configured; at least {MIN_SEALERS} are needed so that no single \
                     key is a quorum (list every sealer of the group, from getSealerList)",
                    set.len()
                ),
            });
        }
        Ok(SealerSet { mode, keys: set })
    }

    /// The chain's crypto mode.
    pub fn mode(&self) -> CryptoMode {
        self.mode
    }

    /// The number of sealers n.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a set has at least [`MIN_SEALERS`] keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The most faulty sealers tolerated, f = ⌊(n − 1) / 3⌋.
    pub fn max_faulty(&self) -> usize {
        (self.keys.len() - 1) / 3
    }

    /// The quorum 2f + 1 of distinct sealers (never less than a Byzantine majority).
    pub fn quorum(&self) -> usize {
        let n = self.keys.len();
        // n - f ≥ 2f + 1; PBFT's quorum for any n is n - f.
        n - self.max_faulty()
    }

    /// The configured keys.
    pub fn keys(&self) -> impl Iterator<Item = &NodeKey> {
        self.keys.iter()
    }

    /// Whether `key` is a configured sealer.
    pub fn contains(&self, key: &NodeKey) -> bool {
        self.keys.contains(key)
    }

    /// Checks `signatures` over `header`'s hash: each one names (by `sealerIndex`) an entry of
    /// the header's sealer list that is a configured sealer, verifies under that key, and no
    /// sealer signs twice; and at least [`SealerSet::quorum`] distinct sealers signed.
    ///
    /// Fails with the [`FiscoError`] that names the first refused signature, or
    /// [`FiscoError::BelowQuorum`].
    pub fn verify_seal(
        &self,
        header: &Header,
        signatures: &[SealerSignature],
    ) -> Result<VerifiedSeal, FiscoError> {
        let number = header.number;
        if signatures.len() > MAX_SIGNATURES {
            return Err(FiscoError::Malformed {
                field: format!("signatureList of block {number}"),
                reason: format!(
                    "{} signatures, more than the {MAX_SIGNATURES} any header carries",
                    signatures.len()
                ),
            });
        }
        let hash = header.hash(self.mode);
        let mut signers = Vec::with_capacity(signatures.len());
        let mut seen = BTreeSet::new();
        for (index, sig) in signatures.iter().enumerate() {
            // The header's list names the key (its `sealerIndex` is not signed, so a wrong
            // one only makes the signature fail); the configured set decides whether it counts.
            let named = usize::try_from(sig.sealer_index)
                .ok()
                .and_then(|i| header.sealer_list.get(i))
                .ok_or(FiscoError::SealerIndexMismatch {
                    number,
                    index,
                    sealer_index: sig.sealer_index,
                })?;
            let key = NodeKey::from_bytes(self.mode, named)?;
            if !self.keys.contains(&key) {
                return Err(FiscoError::UnknownSealer {
                    number,
                    index,
                    key: key.to_hex(),
                });
            }
            self.mode
                .verify_sealer_signature(&hash, &sig.signature, &key, number, index)?;
            if !seen.insert(key) {
                return Err(FiscoError::DuplicateSealer {
                    number,
                    key: key.to_hex(),
                });
            }
            signers.push(key);
        }
        if signers.len() < self.quorum() {
            return Err(FiscoError::BelowQuorum {
                number,
                signed: signers.len(),
                quorum: self.quorum(),
                sealers: self.len(),
            });
        }
        Ok(VerifiedSeal { hash, signers })
    }
}
