//! [`SealCache`]: the seals (2f+1 sealer signatures over a header) already verified, so a block's
//! seal is checked once however many of its messages are verified: by the source for its whole
//! block, then again by the relayer's verify stage and by `causeway verify` for each message.
//!
//! Sound because the check is a pure function of what the key covers: the header hash (which
//! covers the header's sealer list, the only header field the check reads besides the hash)
//! and the exact signature list (SHA-256 over each `sealerIndex` and signature, with lengths),
//! against one configured [`SealerSet`] (one cache per set: it lives in the verifier that holds
//! the set). Bounded: the oldest entries are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use causeway_proofs::Hash32;
use causeway_proofs::fisco::{FiscoError, Header, SealerSet, SealerSignature};
use sha2::{Digest, Sha256};

/// Seals remembered: a few batches of blocks.
const CAPACITY: usize = 4096;

/// Verified seals of one [`SealerSet`] (see the module's docs).
#[derive(Debug, Default)]
pub(crate) struct SealCache {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    keys: HashMap<[u8; 32], Hash32>,
    order: VecDeque<[u8; 32]>,
}

/// The cache key of `signatures` over the header hashed to `hash`.
fn key(hash: &Hash32, signatures: &[SealerSignature]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(hash.0);
    h.update((signatures.len() as u64).to_be_bytes());
    for s in signatures {
        h.update(s.sealer_index.to_be_bytes());
        h.update((s.signature.len() as u64).to_be_bytes());
        h.update(&s.signature);
    }
    h.finalize().into()
}

impl SealCache {
    /// `sealers.verify_seal(header, signatures)` unless this exact seal verified before; the
    /// header's hash. Refusals are not remembered (each is checked and reported again).
    pub(crate) fn verify(
        &self,
        sealers: &SealerSet,
        header: &Header,
        signatures: &[SealerSignature],
    ) -> Result<Hash32, FiscoError> {
        let hash = header.hash(sealers.mode());
        let k = key(&hash, signatures);
        if let Some(known) = self.lock().keys.get(&k) {
            return Ok(*known);
        }
        let seal = sealers.verify_seal(header, signatures)?;
        let mut seen = self.lock();
        if seen.keys.insert(k, seal.hash).is_none() {
            seen.order.push_back(k);
            while seen.order.len() > CAPACITY {
                if let Some(old) = seen.order.pop_front() {
                    seen.keys.remove(&old);
                }
            }
        }
        Ok(seal.hash)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_proofs::fisco::{BlockParams, CryptoMode, NodeSecret, SealedBlock};

    #[test]
    fn a_seal_is_verified_once_and_a_changed_one_is_checked_again() {
        let mode = CryptoMode::Ecdsa;
        let secrets: Vec<NodeSecret> = (0..4)
            .map(|_| NodeSecret::generate(mode, &mut rand_core::OsRng))
            .collect();
        let params = BlockParams {
            number: 3,
            parent: None,
            timestamp: 1,
            state_root: Hash32([3; 32]),
        };
        let block = SealedBlock::build(
            mode,
            &params,
            vec![Hash32([1; 32])],
            vec![Default::default()],
            &secrets,
            3,
            &mut rand_core::OsRng,
        )
        .expect("block");
        let sealers =
            SealerSet::new(mode, secrets.iter().map(NodeSecret::public_key)).expect("set");
        let cache = SealCache::default();
        let hash = cache
            .verify(&sealers, &block.header, &block.signatures)
            .expect("sealed");
        assert_eq!(hash, block.hash());
        assert_eq!(cache.lock().keys.len(), 1);
        // The same seal again: remembered.
        cache
            .verify(&sealers, &block.header, &block.signatures)
            .expect("sealed");
        assert_eq!(cache.lock().keys.len(), 1);
        // Fewer signatures, or one changed: not the remembered seal, checked and refused.
        assert!(matches!(
            cache.verify(&sealers, &block.header, &block.signatures[..2]),
            Err(FiscoError::BelowQuorum { .. })
        ));
        let mut changed = block.signatures.clone();
        changed[0].signature[5] ^= 1;
        assert!(cache.verify(&sealers, &block.header, &changed).is_err());
        // Another header with the same signatures: its hash differs, checked and refused.
        let mut other = block.header.clone();
        other.timestamp += 1;
        assert!(cache.verify(&sealers, &other, &block.signatures).is_err());
        assert_eq!(cache.lock().keys.len(), 1);
    }
}
