//! [`Destination`]: deliver batches of proven messages and follow what became of them.

use core::future::Future;

use causeway_proofs::bundle::ChainFamily;
use causeway_proofs::{Checkpoint, InclusionProof, Message, MessageId, Signature};
use serde::{Deserialize, Serialize};

use super::{BlockRef, BoxFuture, RevertReason};
use crate::Error;

/// One message and its inclusion proof in the batch's checkpointed log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryItem {
    /// The message.
    pub message: Message,
    /// Its inclusion proof against the batch's checkpoint (same log size).
    pub proof: InclusionProof,
}

/// Messages from one origin delivered under one checkpoint and its validator signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryBatch {
    /// The checkpoint every proof is against.
    pub checkpoint: Checkpoint,
    /// Validator signatures over the checkpoint's digest for this destination, in the order the
    /// destination requires (ascending by signer for the EVM Inbox).
    pub signatures: Vec<Signature>,
    /// The messages.
    pub items: Vec<DeliveryItem>,
}

impl DeliveryBatch {
    /// A test batch: `messages` appended in order to a fresh log of `origin`, each proven
    /// against the log's checkpoint, with `signatures` as given.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn logged(
        origin: causeway_proofs::Domain,
        messages: Vec<Message>,
        signatures: Vec<Signature>,
    ) -> Self {
        let mut log = causeway_proofs::attestation::testkit::OriginLog::new();
        let indexes: Vec<_> = messages.iter().map(|m| log.append(m.clone())).collect();
        DeliveryBatch {
            checkpoint: log.checkpoint(origin),
            signatures,
            items: messages
                .into_iter()
                .zip(indexes)
                .map(|(message, index)| DeliveryItem {
                    message,
                    proof: log.proof(index),
                })
                .collect(),
        }
    }

    /// The ids of the batch's messages, in order.
    pub fn ids(&self) -> Vec<MessageId> {
        self.items.iter().map(|i| i.message.id()).collect()
    }

    /// Checks what every destination needs of a batch before it plans anything: at least one
    /// message, and every inclusion proof against the checkpoint's log size.
    /// [`Error::InvalidBatch`] otherwise.
    pub fn check_shape(&self) -> Result<(), Error> {
        if self.items.is_empty() {
            return Err(Error::InvalidBatch {
                reason: "no messages".into(),
            });
        }
        match self
            .items
            .iter()
            .find(|i| i.proof.size != self.checkpoint.size())
        {
            Some(item) => Err(Error::InvalidBatch {
                reason: format!(
                    "message {} is proven against log size {}, the checkpoint has {}",
                    item.message.id(),
                    item.proof.size.0,
                    self.checkpoint.size().0
                ),
            }),
            None => Ok(()),
        }
    }

    /// The batch reduced to the items at `range` (same checkpoint and signatures): a batch can
    /// be split anywhere, because every proof is against the same checkpoint.
    pub fn slice(&self, range: core::ops::Range<usize>) -> DeliveryBatch {
        DeliveryBatch {
            checkpoint: self.checkpoint,
            signatures: self.signatures.clone(),
            items: self.items[range].to_vec(),
        }
    }
}

/// A persistable reference to one submitted transaction (or the family's equivalent), in an
/// adapter-defined JSON shape. The relayer stores it and asks [`Destination::outcome`] about it,
/// possibly after a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionHandle {
    /// Which adapter family produced it.
    pub family: ChainFamily,
    /// The adapter's data (EVM: sender, nonce and every transaction hash sent for that nonce).
    pub data: serde_json::Value,
}

/// One transaction carrying some of a batch's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The handle to follow it with.
    pub handle: SubmissionHandle,
    /// The messages it carries.
    pub messages: Vec<MessageId>,
}

/// A submission signed and not yet broadcast: what [`Destination::submit_recorded`] hands its
/// [`Recorder`] before sending it.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedSubmission {
    /// The handle to follow it with.
    pub handle: SubmissionHandle,
    /// The messages it carries.
    pub messages: Vec<MessageId>,
    /// The signed transaction as the chain takes it (EVM: the EIP-2718 envelope), so that
    /// whoever follows the submission after a crash can send these very bytes again
    /// ([`Destination::outcome_recorded`]) instead of a new transaction. Empty when the
    /// adapter never sends a transaction again (Fabric: a lost one is reported dropped).
    pub signed: Vec<u8>,
}

impl core::fmt::Debug for SignedSubmission {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignedSubmission")
            .field("handle", &self.handle)
            .field("messages", &self.messages.len())
            .field("signed_len", &self.signed.len())
            .finish()
    }
}

/// Where [`Destination::submit_recorded`] records each submission after signing it and before
/// broadcasting it (the relayer's store). A crash between the two leaves a record from which
/// the same transaction is sent again, never a second one for the same messages.
pub trait Recorder: Send + Sync {
    /// Records `submission`. An error means it was not recorded: the adapter then does not
    /// broadcast it.
    fn record<'a>(&'a self, submission: &'a SignedSubmission) -> BoxFuture<'a, Result<(), Error>>;

    /// Hears that message `id` was left out of every submission because its delivery alone
    /// reverts in simulation, and why (the caller backs it off with that reason).
    fn left_out(&self, id: &MessageId, reason: &RevertReason) {
        let _ = (id, reason);
    }
}

/// A [`Recorder`] that keeps nothing, for callers with no store (tools, tests): a crash
/// between signing and broadcasting then leaves nothing to send again.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRecorder;

impl Recorder for NoRecorder {
    fn record<'a>(&'a self, _: &'a SignedSubmission) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(core::future::ready(Ok(())))
    }
}

/// What happened to one message of an included submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum MessageOutcome {
    /// Delivered: the recipient accepted it.
    Delivered,
    /// Proven, but the recipient refused it; recorded as failed and retryable at the
    /// destination.
    Failed {
        /// The recipient's revert reason, decoded when it is a string, else hex.
        reason: String,
    },
    /// Proven, but refused for good by the destination (a forbidden recipient): never handed
    /// to a recipient and never retryable there. The relayer dead-letters it without retrying.
    Refused {
        /// Why, for people.
        reason: String,
    },
}

/// What became of a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SubmissionOutcome {
    /// Not yet in a block (the adapter may have re-sent it with higher fees meanwhile).
    Pending,
    /// In a block that executed it.
    Included {
        /// The block.
        block: BlockRef,
        /// Blocks on top of it, including itself (1 = it is the head).
        confirmations: u64,
        /// One entry per message the destination reported on, in event order. A message of the
        /// submission missing here was not processed and must be prepared again.
        messages: Vec<(MessageId, MessageOutcome)>,
    },
    /// In a block, but reverted as a whole: none of its messages was delivered.
    Reverted {
        /// The block.
        block: BlockRef,
        /// Why, decoded.
        reason: RevertReason,
    },
    /// Gone: never included, and its slot (EVM: its nonce) was used by another transaction.
    /// Check each message's [`DeliveryStatus`] and prepare the undelivered ones again.
    Dropped,
}

/// A message's state at the destination, read from the destination itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Never delivered.
    NotDelivered,
    /// Delivered (the recipient accepted it). Submitting it again would revert.
    Delivered,
    /// Proven, but its recipient refused it; it can be retried at the destination.
    Failed,
    /// Refused for good by the destination (a forbidden recipient); nothing can deliver it.
    Refused,
}

/// A destination chain, as the relayer's deliver and confirm stages see it.
///
/// Contract for implementations:
/// - [`Destination::submit_recorded`] may split a batch into several submissions (gas or size
///   budgets) and returns as soon as they are accepted by the node, without waiting for
///   inclusion, so many submissions can be in flight; a batch the destination would refuse as
///   a whole is reported as [`Error::Reverted`] before anything is sent, when the chain can
///   simulate it. Each part is signed, then handed to the [`Recorder`], and broadcast only once
///   the recorder accepted it (sign → record → broadcast). An error means nothing was sent;
///   if a later part fails after earlier parts were sent, `Ok` lists only the sent parts, and
///   the batch's messages missing from every [`Submission`] were not sent (a part recorded
///   and then refused by the node is missing too: the caller undoes its record). A part whose
///   broadcast had no answer (the node may have it) counts as sent;
/// - [`Destination::outcome_recorded`] is polled by the confirm stage with the recorded signed
///   transaction when there is one; an adapter may use the call to push a stuck submission
///   along (EVM: re-send it with higher fees under the same nonce, or send the recorded bytes
///   again to a node that lost them, after a crash between recording and broadcasting);
/// - [`Destination::delivery_status`] reads the destination's own replay record, so a restarted
///   relayer never delivers twice.
pub trait Destination: Send + Sync {
    /// The destination domain.
    fn domain(&self) -> causeway_proofs::Domain;

    /// Submits `batch`, possibly as several submissions, recording each with `recorder` after
    /// signing it and before broadcasting it.
    fn submit_recorded(
        &self,
        batch: &DeliveryBatch,
        recorder: &dyn Recorder,
    ) -> impl Future<Output = Result<Vec<Submission>, Error>> + Send;

    /// Submits `batch` without recording anything ([`NoRecorder`]).
    fn submit(
        &self,
        batch: &DeliveryBatch,
    ) -> impl Future<Output = Result<Vec<Submission>, Error>> + Send {
        self.submit_recorded(batch, &NoRecorder)
    }

    /// What became of the submission behind `handle`; `signed` is its recorded signed
    /// transaction, if the caller has it, to send again should the chain have lost it.
    fn outcome_recorded(
        &self,
        handle: &SubmissionHandle,
        signed: Option<&[u8]>,
    ) -> impl Future<Output = Result<SubmissionOutcome, Error>> + Send;

    /// What became of the submission behind `handle` (nothing recorded to send again).
    fn outcome(
        &self,
        handle: &SubmissionHandle,
    ) -> impl Future<Output = Result<SubmissionOutcome, Error>> + Send {
        self.outcome_recorded(handle, None)
    }

    /// Whether the destination has already delivered message `id`.
    fn delivery_status(
        &self,
        id: &MessageId,
    ) -> impl Future<Output = Result<DeliveryStatus, Error>> + Send;

    /// [`Self::delivery_status`] of each of `ids`, in order. The default asks one by one; a
    /// destination that can read many in one round trip (the EVM Inbox's `statuses`) does,
    /// so a relayer's replay check before a batch costs one call, not one per message.
    fn delivery_statuses(
        &self,
        ids: &[MessageId],
    ) -> impl Future<Output = Result<Vec<DeliveryStatus>, Error>> + Send {
        async move {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(self.delivery_status(id).await?);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use causeway_proofs::log::Sha256Log;
    use causeway_proofs::{Address32, Domain, HashAlgorithm, LeafIndex, LogSize, Message, Nonce};

    use super::*;

    /// A batch of `n` messages proven against a checkpoint of their log.
    fn batch(n: u64) -> DeliveryBatch {
        let msgs: Vec<Message> = (0..n)
            .map(|i| {
                Message::new(
                    Nonce(i),
                    Domain(1),
                    Address32([1; 32]),
                    Domain(2),
                    Address32([2; 32]),
                    vec![i as u8],
                )
                .expect("a small message")
            })
            .collect();
        let mut log = Sha256Log::new();
        for m in &msgs {
            log.append(m.id().as_hash());
        }
        let checkpoint = Checkpoint::new(Domain(1), HashAlgorithm::Sha256, log.size(), log.root())
            .expect("a non-empty log");
        let items = msgs
            .into_iter()
            .enumerate()
            .map(|(i, message)| DeliveryItem {
                proof: log
                    .inclusion_proof(LeafIndex(i as u64), log.size())
                    .expect("a leaf of the log"),
                message,
            })
            .collect();
        DeliveryBatch {
            checkpoint,
            signatures: Vec::new(),
            items,
        }
    }

    #[test]
    fn check_shape_wants_messages_proven_against_the_checkpoint_size() {
        let good = batch(3);
        assert!(good.check_shape().is_ok());
        assert!(matches!(
            good.slice(0..0).check_shape(),
            Err(Error::InvalidBatch { .. })
        ));
        let mut stale = good.clone();
        stale.items[1].proof.size = LogSize(2);
        match stale.check_shape() {
            Err(Error::InvalidBatch { reason }) => {
                assert!(
                    reason.contains("log size 2, the checkpoint has 3"),
                    "{reason}"
                );
            }
            other => panic!("expected InvalidBatch, got {other:?}"),
        }
    }
}
