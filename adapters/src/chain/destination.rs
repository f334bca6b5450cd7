//! [`Destination`]: deliver batches of proven messages and follow what became of them.

use core::future::Future;

use causeway_proofs::bundle::ChainFamily;
use causeway_proofs::{Checkpoint, InclusionProof, Message, MessageId, Signature};
use serde::{Deserialize, Serialize};

use super::{BlockRef, RevertReason};
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
    /// The ids of the batch's messages, in order.
    pub fn ids(&self) -> Vec<MessageId> {
        self.items.iter().map(|i| i.message.id()).collect()
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
}

/// A destination chain, as the relayer's deliver and confirm stages see it.
///
/// Contract for implementations:
/// - [`Destination::submit`] may split a batch into several submissions (gas or size budgets)
///   and returns as soon as they are accepted by the node, without waiting for inclusion, so
///   many submissions can be in flight; a batch the destination would refuse as a whole is
///   reported as [`Error::Reverted`] before anything is sent, when the chain can simulate it.
///   An error means nothing was sent; if a later part fails after earlier parts were sent,
///   `Ok` lists only the sent parts, and the batch's messages missing from every
///   [`Submission`] were not sent;
/// - [`Destination::outcome`] is polled by the confirm stage; an adapter may use the call to
///   push a stuck submission along (EVM: re-send it with higher fees under the same nonce);
/// - [`Destination::delivery_status`] reads the destination's own replay record, so a restarted
///   relayer never delivers twice.
pub trait Destination: Send + Sync {
    /// The destination domain.
    fn domain(&self) -> causeway_proofs::Domain;

    /// Submits `batch`, possibly as several submissions.
    fn submit(
        &self,
        batch: &DeliveryBatch,
    ) -> impl Future<Output = Result<Vec<Submission>, Error>> + Send;

    /// What became of the submission behind `handle`.
    fn outcome(
        &self,
        handle: &SubmissionHandle,
    ) -> impl Future<Output = Result<SubmissionOutcome, Error>> + Send;

    /// Whether the destination has already delivered message `id`.
    fn delivery_status(
        &self,
        id: &MessageId,
    ) -> impl Future<Output = Result<DeliveryStatus, Error>> + Send;
}
