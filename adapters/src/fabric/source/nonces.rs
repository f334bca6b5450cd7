//! The outbox's nonces, checked where the source yields messages.
//!
//! The outbox chaincode gives every dispatch the next nonce and writes the following one in
//! the same transaction, so a dispatch endorsed against the same state as another loses the
//! MVCC conflict, is marked invalid and consumes nothing: the messages of VALID transactions
//! carry consecutive nonces in block order, from 0. But which transactions are VALID is the
//! TRANSACTIONS_FILTER, written by the committing peer and signed by nobody: a lying peer (or
//! anyone building a proof) can relabel the losing twin of a conflict as VALID (the same nonce,
//! another message), or mark a valid dispatch invalid to hide it. This check catches both
//! alone: a nonce seen again is refused as equivocation, a nonce beyond the next as a gap, and
//! the block that holds either yields nothing (the blocks before it are kept, as for any refused
//! block, and the source asks for it again and refuses it again: it stops there, visibly). What
//! it cannot see: a peer that swaps a pair of twins (the winner marked invalid, the loser
//! VALID) leaves one message per nonce and no gap; that, like any lie about the filter, is left
//! to the consortium's threshold of gateways, each reading its own organisation's peers. Nor does
//! it know the next nonce when it resumes at a cursor it did not hand out (a restart): the first
//! message read sets it there, and the store's one-message-per-nonce rule still refuses a twin.
//!
//! The next nonce is known from the start of the ledger (0) and, between batches, from the
//! cursor the source handed out last. A source resumed at another cursor (after a restart)
//! learns it from the first message it reads, and checks from there.

use std::collections::BTreeMap;

use causeway_proofs::MessageId;

use super::verify::Verified;
use crate::Error;
use crate::chain::{BlockId, Cursor};

/// The next nonce after the last batch the source returned, and where that batch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NextNonce {
    /// The last block of the batch.
    pub(crate) height: u64,
    /// Its header hash.
    pub(crate) block_id: BlockId,
    /// The nonce the next message must carry (`None`: no message seen yet, nor known). Wider
    /// than a nonce: after nonce `u64::MAX` none may follow.
    pub(crate) next: Option<u128>,
}

/// The nonce the first message read from `cursor` must carry, when it is known: 0 from the
/// start of the ledger, else what `last` recorded if the cursor is where it ended.
pub(crate) fn expected_from(cursor: &Cursor, last: Option<&NextNonce>) -> Option<u128> {
    match cursor {
        Cursor::Start { height: 0 } => Some(0),
        Cursor::Start { .. } => None,
        Cursor::After { height, block_id } => last
            .filter(|l| l.height == *height && l.block_id == *block_id)
            .and_then(|l| l.next),
    }
}

/// Checks the nonces of the messages in `verified`, in order, from `expected` (unknown: the
/// first message sets it). At the first block holding a nonce seen before (equivocation) or
/// beyond the next (a gap), the blocks from it on are dropped and `verified.error` says why.
/// Returns the nonce the next message must carry.
pub(crate) fn check(
    expected: Option<u128>,
    verified: &mut Verified,
    endpoint: &str,
) -> Option<u128> {
    let mut next = expected;
    // Nonces of this batch, with the message and transaction that used them.
    let mut seen: BTreeMap<u128, (MessageId, String)> = BTreeMap::new();
    let mut refused = None;
    'blocks: for (b, (block, found)) in verified.blocks.iter().enumerate() {
        let before = next;
        for f in found {
            let nonce = u128::from(f.message.nonce().0);
            let problem = match next {
                Some(want) if nonce < want => Some(match seen.get(&nonce) {
                    Some((id, tx)) => format!(
                        "equivocation: transaction {} carries message {} under outbox nonce {nonce}, which VALID transaction {tx} already used for message {id}; one nonce, two messages means a validation code was relabelled (e.g. the losing dispatch of an MVCC conflict marked VALID): refused",
                        f.tx_id,
                        f.message.id()
                    ),
                    None => format!(
                        "equivocation: transaction {} carries message {} under outbox nonce {nonce}, but the messages up to nonce {} were already read; a second message under a used nonce means a validation code was relabelled (e.g. the losing dispatch of an MVCC conflict marked VALID): refused",
                        f.tx_id,
                        f.message.id(),
                        want - 1
                    ),
                }),
                Some(want) if nonce > want => Some(format!(
                    "nonce gap: transaction {} carries outbox nonce {nonce} where {want} is next; the VALID dispatches of nonces {want}..{nonce} are missing (marked invalid by the peer, or left out): refused",
                    f.tx_id
                )),
                _ => None,
            };
            if let Some(reason) = problem {
                refused = Some((b, block.number(), reason));
                next = before;
                break 'blocks;
            }
            seen.insert(nonce, (f.message.id(), f.tx_id.clone()));
            next = Some(nonce + 1);
        }
    }
    if let Some((b, number, reason)) = refused {
        verified.blocks.truncate(b);
        verified.error = Some(Error::InvalidBlock {
            endpoint: endpoint.to_owned(),
            number,
            reason,
        });
    }
    next
}
