//! [`CheckedBlocks`]: what the proofs already checked established about their blocks, so the
//! proofs of one block's messages check its header and the trie nodes they share once.
//!
//! A block of 100 `Dispatch` transactions yields 100 source proofs that carry the same header
//! and, in each of its two tries, the same nodes near the root; checked one by one, every proof
//! hashed the header three times and every trie node twice. With a `CheckedBlocks` kept across
//! them, the header is hashed and decoded once per block and each node once.
//!
//! Security (bridge-exploits T17–T22, T27, T36): nothing here is a claim, only bytes already
//! proven to hash to a value:
//! - a header entry is filed under the block hash the caller trusts, and only after the
//!   header's keccak-256 was computed and found equal to it; a later proof's header is taken
//!   from it only when the bytes are equal to the entry's, byte for byte, so a wrong or forged
//!   header is hashed, compared and refused exactly as without the cache;
//! - trie node entries follow [`TrieNodes`]' rule (bytes proven to hash to the hash they are
//!   filed under, taken only when equal byte for byte);
//! - everything particular to a message is checked every time: the receipt proof's block
//!   label, its key (the transaction index) and the value at it (the receipt, the transaction),
//!   the receipt's status, the log's position, emitter, topics and data. A receipt from another
//!   block does not chain to the trusted block's receipts root whatever the cache holds, and a
//!   proof for one log presented for another fails on the log's own checks.
//!
//! Bounded: at most [`CheckedBlocks::MAX_BLOCKS`] headers (then it starts over empty) and
//! [`TrieNodes::MAX_BYTES`] of nodes.

use std::collections::HashMap;

use super::header::{decode_header, header_hash};
use super::verify::TrieNodes;
use crate::{Error, Hash32};

/// Headers and trie nodes proven by earlier source proofs (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct CheckedBlocks {
    headers: HashMap<Hash32, CheckedHeader>,
    pub(crate) nodes: TrieNodes,
}

/// What a header a proof chains through establishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderFacts {
    pub(crate) number: u64,
    pub(crate) receipts_root: Hash32,
    pub(crate) transactions_root: Hash32,
}

#[derive(Clone, Debug)]
struct CheckedHeader {
    raw: Box<[u8]>,
    facts: HeaderFacts,
}

impl CheckedBlocks {
    /// Most headers kept.
    pub const MAX_BLOCKS: usize = 256;

    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of blocks whose header is held.
    pub fn blocks(&self) -> usize {
        self.headers.len()
    }

    /// Number of trie nodes held.
    pub fn trie_nodes(&self) -> usize {
        self.nodes.len()
    }
}

/// The header step of a source proof: `raw` must hash to `expected` (the trusted block hash,
/// [`Error::BlockHashMismatch`] otherwise); `label` (the receipt proof's own block hash, if
/// any) must name the same block; then the header is decoded. With `blocks`, a header held
/// byte for byte under `expected` is neither hashed nor decoded again, and a new one is filed.
/// Errors come in that order, with or without `blocks`.
pub(crate) fn check_header(
    expected: &Hash32,
    raw: &[u8],
    label: Option<Hash32>,
    blocks: Option<&mut CheckedBlocks>,
) -> Result<HeaderFacts, Error> {
    let held = blocks
        .as_deref()
        .and_then(|b| b.headers.get(expected))
        .filter(|h| *h.raw == *raw)
        .map(|h| h.facts);
    if held.is_none() {
        let computed = header_hash(raw);
        if computed != *expected {
            return Err(Error::BlockHashMismatch {
                computed,
                expected: *expected,
            });
        }
    }
    if let Some(claimed) = label
        && claimed != *expected
    {
        return Err(Error::BlockHashMismatch {
            computed: claimed,
            expected: *expected,
        });
    }
    if let Some(facts) = held {
        return Ok(facts);
    }
    let header = decode_header(raw)?;
    let facts = HeaderFacts {
        number: header.number,
        receipts_root: header.receipts_root,
        transactions_root: header.transactions_root,
    };
    if let Some(blocks) = blocks {
        if blocks.headers.len() >= CheckedBlocks::MAX_BLOCKS {
            blocks.headers.clear();
        }
        blocks.headers.insert(
            *expected,
            CheckedHeader {
                raw: raw.into(),
                facts,
            },
        );
    }
    Ok(facts)
}
