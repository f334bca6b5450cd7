//! The consistency file `causeway verify --anchored` reads when a bundle's checkpoint and the
//! anchored one differ in size (format `causeway-anchor-consistency/1`), and the check itself.
//!
//! How an offline verifier gets the proof (docs/anchoring.md): a bundle is made once, the
//! anchor keeps moving, so the bundle cannot carry a proof to an anchor that did not exist yet.
//! Any holder of the origin's log makes one when asked: `causeway store consistency --db FILE
//! --origin DOMAIN --from A --to B` writes it from a gateway's store (read-only, beside the
//! running gateway), and `causeway devnet` leaves one beside its bundles. The file is untrusted
//! like the bundle: the verifier checks the RFC 9162 proof against the bundle's root (signed by
//! the lane's threshold) and the anchored root (read from the Anchor by the verifier itself),
//! so a wrong or forged file can only fail.
//!
//! ```json
//! { "format": "causeway-anchor-consistency/1", "origin": 1001,
//!   "proof": { "old_size": 8, "new_size": 40, "path": ["0x…", …] } }
//! ```

use serde::{Deserialize, Serialize};

use causeway_proofs::log::Sha256Log;
use causeway_proofs::{ConsistencyProof, Domain, Hash32, HashAlgorithm, LeafIndex, LogSize};
use causeway_relayer::store::SourceStore;

/// The format tag.
pub const FORMAT: &str = "causeway-anchor-consistency/1";

/// Largest consistency file read (a proof has at most a few dozen nodes).
pub const MAX_CONSISTENCY_JSON_LEN: u64 = 64 * 1024;

/// Leaves read from the store per call while building the log.
const PAGE: usize = 10_000;

/// A consistency proof between two sizes of one origin's SHA-256 log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The origin whose log it is.
    pub origin: Domain,
    /// The RFC 9162 proof (SHA-256) from `old_size` to `new_size`.
    pub proof: ConsistencyProof,
}

impl ConsistencyFile {
    /// Parses a file's text, refusing another format.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: ConsistencyFile = serde_json::from_str(text).map_err(|e| {
            format!("not a consistency file ({e}); `causeway store consistency` writes one")
        })?;
        if file.format != FORMAT {
            return Err(format!("format {:?}, expected {FORMAT:?}", file.format));
        }
        Ok(file)
    }

    /// The proof between `first` and `second` (either order) of `origin`'s log, built from the
    /// store's leaves. Fails when the log is shorter than either size or a size is 0.
    pub fn from_store(
        store: &dyn SourceStore,
        origin: Domain,
        first: LogSize,
        second: LogSize,
    ) -> Result<Self, String> {
        let (old, new) = if first <= second {
            (first, second)
        } else {
            (second, first)
        };
        if old.0 == 0 {
            return Err("a consistency proof starts from a size of at least 1".to_owned());
        }
        let size = store
            .log_size(origin)
            .map_err(|e| format!("reading the log size of origin {origin}: {e}"))?;
        if size < new {
            return Err(format!(
                "origin {origin}'s log in this store has {} leaves, fewer than {}",
                size.0, new.0
            ));
        }
        let mut log = Sha256Log::with_capacity(usize::try_from(new.0).unwrap_or(0));
        let mut next = 0u64;
        while next < new.0 {
            let page = store
                .leaves(origin, LeafIndex(next), PAGE)
                .map_err(|e| format!("reading origin {origin}'s leaves: {e}"))?;
            if page.is_empty() {
                break;
            }
            let take = usize::try_from(new.0 - next)
                .unwrap_or(usize::MAX)
                .min(page.len());
            let ids: Vec<Hash32> = page[..take].iter().map(|id| *id.as_hash()).collect();
            log.extend_from_slice(&ids);
            next += take as u64;
        }
        let proof = log
            .consistency_proof(old, new)
            .map_err(|e| format!("building the proof: {e}"))?;
        Ok(ConsistencyFile {
            format: FORMAT.to_owned(),
            origin,
            proof,
        })
    }
}

/// Why a checkpoint is not consistent with an anchored one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistent {
    /// Same size, other root: the history was rewritten.
    #[error(
        "the anchored root of size {size} is {anchored}, the checkpoint's is {checkpoint}: this \
         history is not the one anchored (rewritten)"
    )]
    RootDiffers {
        /// The size both have.
        size: u64,
        /// The anchored root.
        anchored: Hash32,
        /// The checkpoint's root.
        checkpoint: Hash32,
    },
    /// Different sizes and no proof between them was given.
    #[error(
        "the checkpoint has {checkpoint} leaves and the anchor {anchored}: a consistency proof \
         between them is needed (fix: pass --consistency FILE, which `causeway store \
         consistency --origin {origin} --from {checkpoint} --to {anchored}` writes from a \
         gateway's store)"
    )]
    NoProof {
        /// The origin.
        origin: Domain,
        /// The checkpoint's size.
        checkpoint: u64,
        /// The anchored size.
        anchored: u64,
    },
    /// The proof does not link the two roots: one of the histories was rewritten (or the
    /// proof is wrong).
    #[error(
        "the consistency proof from {old} to {new} leaves does not link the checkpoint's root \
         and the anchored root: the checkpoint is not of the anchored history ({reason})"
    )]
    ProofFails {
        /// The smaller size.
        old: u64,
        /// The larger size.
        new: u64,
        /// What failed.
        reason: String,
    },
}

/// Checks that the checkpoint (`size`, `root`) and the anchored one are of one history:
/// equal roots at equal sizes, else `proofs` must hold a proof between the two sizes (either
/// direction) that links both roots. `Ok` names the proof used (`None` at equal sizes).
pub fn check_consistent(
    origin: Domain,
    size: LogSize,
    root: Hash32,
    anchored_size: LogSize,
    anchored_root: Hash32,
    proofs: &[ConsistencyFile],
) -> Result<Option<&ConsistencyFile>, Inconsistent> {
    if size == anchored_size {
        return if root == anchored_root {
            Ok(None)
        } else {
            Err(Inconsistent::RootDiffers {
                size: size.0,
                anchored: anchored_root,
                checkpoint: root,
            })
        };
    }
    let (old, old_root, new, new_root) = if size < anchored_size {
        (size, root, anchored_size, anchored_root)
    } else {
        (anchored_size, anchored_root, size, root)
    };
    let Some(file) = proofs
        .iter()
        .find(|f| f.origin == origin && f.proof.old_size == old && f.proof.new_size == new)
    else {
        return Err(Inconsistent::NoProof {
            origin,
            checkpoint: size.0,
            anchored: anchored_size.0,
        });
    };
    file.proof
        .verify(HashAlgorithm::Sha256, &old_root, &new_root)
        .map_err(|e| Inconsistent::ProofFails {
            old: old.0,
            new: new.0,
            reason: e.to_string(),
        })?;
    Ok(Some(file))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use causeway_proofs::hash::keccak256;

    fn ids(tag: u8, n: u8) -> Vec<Hash32> {
        (0..n).map(|i| keccak256(&[tag, i])).collect()
    }

    fn file(log: &Sha256Log, old: u64, new: u64) -> ConsistencyFile {
        ConsistencyFile {
            format: FORMAT.to_owned(),
            origin: Domain(7),
            proof: log.consistency_proof(LogSize(old), LogSize(new)).unwrap(),
        }
    }

    #[test]
    fn a_prefix_or_an_extension_of_the_anchored_log_is_consistent_either_way() {
        let log = Sha256Log::from_leaves(&ids(1, 20));
        let root = |n| log.root_at(LogSize(n)).unwrap();
        let proofs = [file(&log, 5, 12), file(&log, 12, 20)];
        // The bundle below the anchor, and beyond it.
        check_consistent(
            Domain(7),
            LogSize(5),
            root(5),
            LogSize(12),
            root(12),
            &proofs,
        )
        .unwrap();
        check_consistent(
            Domain(7),
            LogSize(20),
            root(20),
            LogSize(12),
            root(12),
            &proofs,
        )
        .unwrap();
        // Equal sizes need no proof.
        assert_eq!(
            check_consistent(Domain(7), LogSize(12), root(12), LogSize(12), root(12), &[]),
            Ok(None)
        );
        // Without the proof for these sizes: said so, with the command that writes one.
        let err = check_consistent(
            Domain(7),
            LogSize(6),
            root(6),
            LogSize(12),
            root(12),
            &proofs,
        )
        .unwrap_err();
        assert!(err.to_string().contains("--from 6 --to 12"), "{err}");
        // Another origin's proof does not count.
        let mut other = file(&log, 5, 12);
        other.origin = Domain(8);
        assert!(matches!(
            check_consistent(
                Domain(7),
                LogSize(5),
                root(5),
                LogSize(12),
                root(12),
                &[other]
            ),
            Err(Inconsistent::NoProof { .. })
        ));
    }

    #[test]
    fn a_rewritten_history_fails_at_equal_and_at_other_sizes() {
        let honest = Sha256Log::from_leaves(&ids(1, 20));
        // The same first 4 leaves, then others: a history rewritten after leaf 4.
        let mut leaves = ids(1, 4);
        leaves.extend(ids(2, 16));
        let rewritten = Sha256Log::from_leaves(&leaves);
        let anchored = honest.root_at(LogSize(12)).unwrap();
        let forged = rewritten.root_at(LogSize(12)).unwrap();
        assert!(matches!(
            check_consistent(Domain(7), LogSize(12), forged, LogSize(12), anchored, &[]),
            Err(Inconsistent::RootDiffers { size: 12, .. })
        ));
        // Beyond the anchor: the rewritten log's own proof does not reach the anchored root.
        let proof = file(&rewritten, 12, 20);
        let err = check_consistent(
            Domain(7),
            LogSize(20),
            rewritten.root_at(LogSize(20)).unwrap(),
            LogSize(12),
            anchored,
            &[proof],
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Inconsistent::ProofFails {
                    old: 12,
                    new: 20,
                    ..
                }
            ),
            "{err}"
        );
        // Below the anchor: the honest proof does not link a rewritten prefix.
        let err = check_consistent(
            Domain(7),
            LogSize(8),
            rewritten.root_at(LogSize(8)).unwrap(),
            LogSize(12),
            anchored,
            &[file(&honest, 8, 12)],
        )
        .unwrap_err();
        assert!(matches!(err, Inconsistent::ProofFails { .. }), "{err}");
    }

    #[test]
    fn the_file_round_trips_and_other_formats_are_refused() {
        let log = Sha256Log::from_leaves(&ids(1, 9));
        let f = file(&log, 3, 9);
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(ConsistencyFile::from_json(&text).unwrap(), f);
        let other = text.replace(FORMAT, "causeway-anchor-consistency/2");
        assert!(
            ConsistencyFile::from_json(&other)
                .unwrap_err()
                .contains("format")
        );
        assert!(ConsistencyFile::from_json("{}").is_err());
    }
}
