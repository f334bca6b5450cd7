//! Proof bundles out of a relayer's store: the JSON `causeway verify` checks offline, for one
//! message (the API's `GET /v1/messages/{id}/proof`) or for every message of a lane
//! (`causeway bench relay --export-bundles`, `causeway devnet`).

use causeway_proofs::log::Sha256Log;
use causeway_proofs::{LeafIndex, MessageId, ProofBundle, SigningDomain, ValidatorSet};
use causeway_relayer::store::{
    CheckpointStore, Lane, MessageRecord, QueryStore, SourceStore, StoredCheckpoint,
};

/// Leaves read from the store per page.
const PAGE: usize = 10_000;

/// Why no bundle could be assembled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The lane has no checkpoint signed by a quorum yet.
    #[error("lane {lane} has no checkpoint with a quorum of signatures yet")]
    NoQuorumCheckpoint {
        /// The lane.
        lane: Lane,
    },
    /// The message lies beyond the lane's latest quorum checkpoint.
    #[error(
        "message {id} (leaf {leaf}) is not yet covered by a checkpoint with a quorum of \
         signatures (the latest covers {size} leaves)"
    )]
    NotYetAttested {
        /// The message.
        id: MessageId,
        /// Its leaf index.
        leaf: u64,
        /// The size of the latest quorum checkpoint.
        size: u64,
    },
    /// The store's leaves do not give the signed root (a corrupt or foreign store).
    #[error("the store's log of origin {origin} does not give its checkpoint's root: {reason}")]
    LogMismatch {
        /// The origin.
        origin: causeway_proofs::Domain,
        /// What differs.
        reason: String,
    },
    /// The store could not answer.
    #[error(transparent)]
    Store(#[from] causeway_relayer::Error),
    /// A proof could not be built from the log.
    #[error(transparent)]
    Proof(#[from] causeway_proofs::Error),
}

/// A lane's trust anchors: what its checkpoints are signed over and by whom.
#[derive(Clone, Debug)]
pub struct LaneTrust {
    /// The lane.
    pub lane: Lane,
    /// The domain its validators sign checkpoints in.
    pub signing_domain: SigningDomain,
    /// Its validators and threshold.
    pub validators: ValidatorSet,
}

/// The origin's log rebuilt from the store up to `checkpoint`'s size, checked against its root,
/// with the leaves' message ids.
pub fn signed_log<S>(
    store: &S,
    lane: Lane,
    checkpoint: &StoredCheckpoint,
) -> Result<(Sha256Log, Vec<MessageId>), ProofError>
where
    S: SourceStore + ?Sized,
{
    let size = checkpoint.checkpoint.size();
    let mut log = Sha256Log::new();
    let mut ids = Vec::new();
    while (ids.len() as u64) < size.0 {
        let page = store.leaves(lane.origin, LeafIndex(ids.len() as u64), PAGE)?;
        if page.is_empty() {
            return Err(ProofError::LogMismatch {
                origin: lane.origin,
                reason: format!(
                    "the log has {} leaves, the checkpoint {}",
                    ids.len(),
                    size.0
                ),
            });
        }
        for id in &page {
            log.append(id.as_hash());
        }
        ids.extend(page);
    }
    ids.truncate(usize::try_from(size.0).unwrap_or(usize::MAX));
    if log.root_at(size)? != checkpoint.checkpoint.root() {
        return Err(ProofError::LogMismatch {
            origin: lane.origin,
            reason: "the leaves hash to another root".to_owned(),
        });
    }
    Ok((log, ids))
}

/// The bundle of `record` under `checkpoint`, from the log [`signed_log`] rebuilt.
pub fn assemble(
    record: MessageRecord,
    log: &Sha256Log,
    checkpoint: &StoredCheckpoint,
    signing_domain: SigningDomain,
) -> Result<ProofBundle, ProofError> {
    let signatures: Vec<_> = checkpoint.signatures.iter().map(|s| s.signature).collect();
    let inclusion = log.inclusion_proof(record.leaf_index, checkpoint.checkpoint.size())?;
    let mut bundle = ProofBundle::assemble(
        record.message,
        inclusion,
        checkpoint.checkpoint,
        signing_domain,
        signatures,
    )?
    .with_source(record.source);
    if let Some(native) = record.native_proof {
        bundle = bundle.with_native_proof(native);
    }
    Ok(bundle)
}

/// The proof bundle of message `record` on its lane (`trust`): its inclusion in the lane's
/// latest checkpoint signed by a quorum. Blocking (reads the store): call it off the runtime.
pub fn bundle_of<S>(
    store: &S,
    trust: &LaneTrust,
    record: MessageRecord,
) -> Result<ProofBundle, ProofError>
where
    S: SourceStore + CheckpointStore + QueryStore + ?Sized,
{
    let lane = trust.lane;
    let stored = store
        .latest_checkpoint(lane, trust.validators.threshold())?
        .ok_or(ProofError::NoQuorumCheckpoint { lane })?;
    let size = stored.checkpoint.size().0;
    if record.leaf_index.0 >= size {
        return Err(ProofError::NotYetAttested {
            id: record.message.id(),
            leaf: record.leaf_index.0,
            size,
        });
    }
    let (log, _) = signed_log(store, lane, &stored)?;
    assemble(record, &log, &stored, trust.signing_domain)
}
