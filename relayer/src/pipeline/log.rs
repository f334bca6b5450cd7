//! The in-memory copies of an origin's Merkle log, one per hash algorithm its lanes use,
//! rebuilt from the store's leaves on start and extended by the log stage after each durable
//! accept. They give the attest stage its roots and the deliver stage its inclusion proofs.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use causeway_proofs::log::{Keccak256Log, Sha256Log, Sm3Log};
use causeway_proofs::{
    ConsistencyProof, Domain, Hash32, HashAlgorithm, InclusionProof, LeafIndex, LogSize, MessageId,
};

use super::{StageContext, blocking};
use crate::Error;
use crate::store::Result;

/// Leaves read from the store per call while rebuilding.
const REBUILD_PAGE: usize = 10_000;

/// One log under one hash algorithm.
enum AnyLog {
    Sha256(Box<Sha256Log>),
    Keccak256(Box<Keccak256Log>),
    Sm3(Box<Sm3Log>),
}

impl AnyLog {
    fn new(alg: HashAlgorithm) -> Self {
        match alg {
            HashAlgorithm::Sha256 => AnyLog::Sha256(Box::default()),
            HashAlgorithm::Keccak256 => AnyLog::Keccak256(Box::default()),
            HashAlgorithm::Sm3 => AnyLog::Sm3(Box::default()),
        }
    }

    fn extend(&mut self, ids: &[Hash32]) {
        match self {
            AnyLog::Sha256(l) => l.extend_from_slice(ids),
            AnyLog::Keccak256(l) => l.extend_from_slice(ids),
            AnyLog::Sm3(l) => l.extend_from_slice(ids),
        }
    }

    fn root_at(&self, size: LogSize) -> Result<Hash32, causeway_proofs::Error> {
        match self {
            AnyLog::Sha256(l) => l.root_at(size),
            AnyLog::Keccak256(l) => l.root_at(size),
            AnyLog::Sm3(l) => l.root_at(size),
        }
    }

    fn inclusion_proof(
        &self,
        index: LeafIndex,
        size: LogSize,
    ) -> Result<InclusionProof, causeway_proofs::Error> {
        match self {
            AnyLog::Sha256(l) => l.inclusion_proof(index, size),
            AnyLog::Keccak256(l) => l.inclusion_proof(index, size),
            AnyLog::Sm3(l) => l.inclusion_proof(index, size),
        }
    }

    fn consistency_proof(
        &self,
        old: LogSize,
        new: LogSize,
    ) -> Result<ConsistencyProof, causeway_proofs::Error> {
        match self {
            AnyLog::Sha256(l) => l.consistency_proof(old, new),
            AnyLog::Keccak256(l) => l.consistency_proof(old, new),
            AnyLog::Sm3(l) => l.consistency_proof(old, new),
        }
    }
}

/// A cloneable reader of the origins' in-memory logs beside the running pipeline: sizes, roots
/// and consistency proofs, for the anchoring task (its proofs come from the very log this
/// gateway signs roots of).
#[derive(Clone, Default)]
pub struct LogReader {
    logs: Arc<BTreeMap<Domain, Arc<RwLock<OriginLogs>>>>,
}

impl core::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LogReader")
            .field("origins", &self.logs.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl LogReader {
    pub(crate) fn new(logs: BTreeMap<Domain, Arc<RwLock<OriginLogs>>>) -> Self {
        LogReader {
            logs: Arc::new(logs),
        }
    }

    fn with<T>(&self, origin: Domain, f: impl FnOnce(&OriginLogs) -> Result<T>) -> Result<T> {
        let logs = self.logs.get(&origin).ok_or_else(|| Error::Config {
            reason: format!("this gateway keeps no log of origin {origin}"),
        })?;
        let logs = logs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&logs)
    }

    /// The number of leaves of `origin`'s log (`None` when this gateway keeps no log of it).
    pub fn size(&self, origin: Domain) -> Option<LogSize> {
        self.with(origin, |l| Ok(l.size())).ok()
    }

    /// The root of the first `size` leaves of `origin`'s log under `alg`.
    pub fn root_at(&self, origin: Domain, alg: HashAlgorithm, size: LogSize) -> Result<Hash32> {
        self.with(origin, |l| l.root_at(alg, size))
    }

    /// The RFC 9162 consistency proof of `origin`'s log under `alg` from `old` to `new` leaves.
    pub fn consistency_proof(
        &self,
        origin: Domain,
        alg: HashAlgorithm,
        old: LogSize,
        new: LogSize,
    ) -> Result<ConsistencyProof> {
        self.with(origin, |l| {
            l.log(alg)?
                .consistency_proof(old, new)
                .map_err(|source| Error::Proof {
                    op: "build consistency proof",
                    source,
                })
        })
    }
}

/// An origin's logs, all of the same size (they hold the same leaves).
pub(crate) struct OriginLogs {
    origin: Domain,
    size: u64,
    logs: Vec<(HashAlgorithm, AnyLog)>,
}

impl OriginLogs {
    /// Rebuilds `origin`'s logs under `algorithms` from the store's leaves.
    pub(crate) async fn rebuild(
        ctx: &StageContext,
        origin: Domain,
        algorithms: &[HashAlgorithm],
    ) -> Result<Self> {
        let mut logs = OriginLogs {
            origin,
            size: 0,
            logs: Vec::new(),
        };
        for alg in algorithms {
            if !logs.logs.iter().any(|(a, _)| a == alg) {
                logs.logs.push((*alg, AnyLog::new(*alg)));
            }
        }
        loop {
            let store = Arc::clone(&ctx.store);
            let from = LeafIndex(logs.size);
            let page = blocking(&ctx.cancel, "read log leaves", move || {
                store.leaves(origin, from, REBUILD_PAGE)
            })
            .await?;
            if page.is_empty() {
                break;
            }
            logs.append(LeafIndex(logs.size), &page)?;
        }
        Ok(logs)
    }

    /// The number of leaves.
    pub(crate) fn size(&self) -> LogSize {
        LogSize(self.size)
    }

    /// Appends `ids` starting at leaf `first`, which must be the current size.
    pub(crate) fn append(&mut self, first: LeafIndex, ids: &[MessageId]) -> Result<()> {
        if first.0 != self.size {
            return Err(Error::Config {
                reason: format!(
                    "in-memory log of origin {} has {} leaves, the store appended at {}",
                    self.origin, self.size, first.0
                ),
            });
        }
        let hashes: Vec<Hash32> = ids.iter().map(|id| *id.as_hash()).collect();
        for (_, log) in &mut self.logs {
            log.extend(&hashes);
        }
        self.size += ids.len() as u64;
        Ok(())
    }

    /// The root of the first `size` leaves under `alg`.
    pub(crate) fn root_at(&self, alg: HashAlgorithm, size: LogSize) -> Result<Hash32> {
        self.log(alg)?.root_at(size).map_err(|source| Error::Proof {
            op: "compute log root",
            source,
        })
    }

    /// The inclusion proof of leaf `index` in the first `size` leaves under `alg`.
    pub(crate) fn inclusion_proof(
        &self,
        alg: HashAlgorithm,
        index: LeafIndex,
        size: LogSize,
    ) -> Result<InclusionProof> {
        self.log(alg)?
            .inclusion_proof(index, size)
            .map_err(|source| Error::Proof {
                op: "build inclusion proof",
                source,
            })
    }

    fn log(&self, alg: HashAlgorithm) -> Result<&AnyLog> {
        self.logs
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, log)| log)
            .ok_or_else(|| Error::Config {
                reason: format!("origin {} keeps no {alg:?} log", self.origin),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use causeway_proofs::hash::keccak256;

    use super::*;

    fn logs(algs: &[HashAlgorithm]) -> OriginLogs {
        let mut logs = OriginLogs {
            origin: Domain(1),
            size: 0,
            logs: Vec::new(),
        };
        for alg in algs {
            logs.logs.push((*alg, AnyLog::new(*alg)));
        }
        logs
    }

    #[test]
    fn every_algorithm_matches_its_own_log_and_gaps_are_refused() {
        let ids: Vec<MessageId> = (0u8..5).map(|i| MessageId(keccak256(&[i]))).collect();
        let mut l = logs(&[HashAlgorithm::Sha256, HashAlgorithm::Keccak256]);
        l.append(LeafIndex(0), &ids[..3]).unwrap();
        assert!(l.append(LeafIndex(4), &ids[3..]).is_err(), "a gap");
        l.append(LeafIndex(3), &ids[3..]).unwrap();
        assert_eq!(l.size(), LogSize(5));
        let hashes: Vec<Hash32> = ids.iter().map(|id| *id.as_hash()).collect();
        let sha = Sha256Log::from_leaves(&hashes);
        let kec = Keccak256Log::from_leaves(&hashes);
        assert_eq!(
            l.root_at(HashAlgorithm::Sha256, LogSize(5)).unwrap(),
            sha.root()
        );
        assert_eq!(
            l.root_at(HashAlgorithm::Keccak256, LogSize(5)).unwrap(),
            kec.root()
        );
        assert_ne!(sha.root(), kec.root());
        let proof = l
            .inclusion_proof(HashAlgorithm::Sha256, LeafIndex(2), LogSize(4))
            .unwrap();
        proof
            .verify(
                HashAlgorithm::Sha256,
                ids[2].as_hash(),
                &sha.root_at(LogSize(4)).unwrap(),
            )
            .unwrap();
        assert!(
            l.root_at(HashAlgorithm::Sm3, LogSize(5)).is_err(),
            "not kept"
        );
    }
}
