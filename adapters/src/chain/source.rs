//! [`Source`]: finalized messages from an origin chain, from a cursor, with native proofs; and
//! [`NativeVerifier`]: the offline check of such a proof.

use core::future::Future;

use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::{Domain, Message, MessageId};
use serde::{Deserialize, Serialize};

use super::BlockId;
use crate::Error;

/// Where a source resumes. The relayer stores it durably with the messages of the batch that
/// produced it, so a restart neither loses nor repeats a message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Cursor {
    /// Nothing processed yet: the first batch starts *at* `height` (e.g. the block the Outbox
    /// was deployed in).
    Start {
        /// First block to scan.
        height: u64,
    },
    /// Every message up to and including block `height` (whose id was `block_id`) has been
    /// yielded; the next batch starts at `height + 1`. Sources check that this block is still
    /// canonical before going further.
    After {
        /// The last processed block.
        height: u64,
        /// Its id when it was processed.
        block_id: BlockId,
    },
}

impl Cursor {
    /// The first height the next batch scans.
    pub fn next_height(&self) -> u64 {
        match self {
            Cursor::Start { height } => *height,
            Cursor::After { height, .. } => height.saturating_add(1),
        }
    }

    /// The last processed block, if any.
    pub fn processed(&self) -> Option<(u64, &BlockId)> {
        match self {
            Cursor::Start { .. } => None,
            Cursor::After { height, block_id } => Some((*height, block_id)),
        }
    }
}

/// A message observed on its origin chain, final, with where it was seen and the chain's own
/// proof that it was emitted there by the configured outbox. Its JSON form is what a store
/// keeps: `{"message":{…}, "source":{…}, "proof":{"family":"evm","data":{…}}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedMessage {
    /// The canonical message (decoded strictly from the event).
    pub message: Message,
    /// Block, transaction and event position.
    pub source: SourceReference,
    /// The family's proof, already verified by the source before the message was yielded.
    pub proof: NativeProof,
}

impl ObservedMessage {
    /// The message id (keccak-256 of its encoding).
    pub fn id(&self) -> MessageId {
        self.message.id()
    }
}

/// What one [`Source::next_batch`] call found.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceBatch {
    /// Final messages after the cursor, in the origin's order (block, transaction, event).
    /// May be empty while the cursor still advances.
    pub messages: Vec<ObservedMessage>,
    /// Where to resume: the last block this batch covered (unchanged when nothing new is final).
    pub cursor: Cursor,
    /// The highest final block the source saw; `cursor` below it means more is ready now.
    pub final_height: u64,
}

impl SourceBatch {
    /// Whether the batch reached the chain's final head (the caller may wait before polling).
    pub fn caught_up(&self) -> bool {
        match &self.cursor {
            Cursor::Start { height } => *height > self.final_height,
            Cursor::After { height, .. } => *height >= self.final_height,
        }
    }
}

/// An origin chain, as the relayer's watch stage sees it.
///
/// Contract for implementations:
/// - yield only messages that are final under the chain's configured finality rule, emitted by
///   the configured outbox (anything else is ignored and counted), each with a native proof
///   that the implementation verified before yielding it;
/// - yield them in the origin's order, each exactly once across a sequence of calls that feeds
///   each returned cursor into the next call;
/// - detect that the cursor's block is no longer canonical and fail with
///   [`Error::ReorgBelowCursor`] (never skip or repeat silently);
/// - bound the work and memory of one call (a batch covers a bounded block range).
pub trait Source: Send + Sync {
    /// The origin domain this source watches.
    fn domain(&self) -> Domain;

    /// The next final messages after `cursor`, and the cursor to pass next time.
    fn next_batch(
        &self,
        cursor: &Cursor,
    ) -> impl Future<Output = Result<SourceBatch, Error>> + Send;
}

/// Re-checks an observed message's native proof from the proof data alone, offline: used by the
/// relayer's verify stage and by `causeway verify`.
///
/// A successful check establishes that the message bytes were emitted by the configured outbox
/// in the block that `observed.source` names (its hash is what the proof is checked against);
/// whether that block is final on the canonical chain is the source's judgement, not something
/// an offline check can know.
pub trait NativeVerifier: Send + Sync {
    /// The chain family whose proofs this verifier checks.
    fn family(&self) -> ChainFamily;

    /// `Ok(())` when `observed.proof` proves `observed.message` at `observed.source`.
    fn verify(&self, observed: &ObservedMessage) -> Result<(), Error>;

    /// [`NativeVerifier::verify`] of every message of a batch, in order, stopping at the first
    /// refused (its position and error). A family whose messages share proof parts (an EVM
    /// block's header and trie nodes) checks each shared part once.
    fn verify_all(&self, observed: &[ObservedMessage]) -> Result<(), (usize, Error)> {
        for (i, o) in observed.iter().enumerate() {
            self.verify(o).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_next_height_and_json() {
        let start = Cursor::Start { height: 5 };
        assert_eq!(start.next_height(), 5);
        assert_eq!(start.processed(), None);
        let after = Cursor::After {
            height: 9,
            block_id: BlockId::new(vec![7; 32]),
        };
        assert_eq!(after.next_height(), 10);
        let j = serde_json::to_string(&after).expect("serialises");
        assert!(j.contains("\"kind\":\"after\""), "{j}");
        assert_eq!(serde_json::from_str::<Cursor>(&j).expect("parses"), after);
    }

    #[test]
    fn caught_up_compares_cursor_with_final_head() {
        let batch = |cursor, final_height| SourceBatch {
            messages: vec![],
            cursor,
            final_height,
        };
        let after = |height| Cursor::After {
            height,
            block_id: BlockId::new(vec![0; 32]),
        };
        assert!(batch(after(10), 10).caught_up());
        assert!(!batch(after(9), 10).caught_up());
        assert!(batch(Cursor::Start { height: 11 }, 10).caught_up());
        assert!(!batch(Cursor::Start { height: 10 }, 10).caught_up());
    }
}
