//! Native proofs of EVM chains: that a block's transaction emitted a log, checked offline from
//! a trusted block hash.
//!
//! - [`trie`]: the Ethereum Merkle-Patricia trie (roots and proofs of any key-value map) and
//!   [`verify_proof`], a strict, bounded verifier for proofs from untrusted sources.
//! - [`receipts_root`], [`ReceiptTrie`] and [`ReceiptProof`]: a block's receipts trie
//!   (key `rlp(index)`, value the receipt's consensus encoding) and the proof of one receipt
//!   against the header's receiptsRoot.
//! - [`decode_receipt`]: a receipt's status and logs; [`decode_header`] and [`header_hash`]:
//!   the header fields a proof chains through, and the block hash.
//! - [`TransactionTrie`] and [`TransactionProof`]: a block's transactions trie and the proof of
//!   one transaction (hence its hash) against the header's transactionsRoot.
//! - [`EvmSourceProof`]: header → receipts root → receipt → the Outbox's `Dispatch` log → the
//!   message bytes (and header → transactions root → the emitting transaction). This is the
//!   `native_proof` of a bundle of family `evm`.
//! - [`compact_native_proof`] and [`native_proof_from_compact`]: the binary form a store keeps
//!   of an EVM source proof instead of its JSON (less than half the size), read back to the
//!   same JSON.
//! - [`CheckedBlocks`]: the headers and trie nodes earlier proofs proved, so the proofs of
//!   one block's messages check its header and shared nodes once.
//! - [`ProvenSource`]: what a verified source proof establishes about a bundle's source
//!   reference, field by field: proven, contradicted (refused) or [`Unproved`].
//!
//! Everything here is pure computation over bytes: no I/O, no client library. RLP is decoded by
//! alloy-rlp and trie proofs are checked by alloy-trie (see [`verify_proof`]); keccak-256 is sha3's.
//! Adapters fetch headers and receipts and build the proofs; verifiers only need the bytes.

mod checked;
mod compact;
mod header;
mod json;
mod receipt;
mod receipt_proof;
mod reference;
mod rlp;
mod source;
mod transaction;
pub mod trie;
mod verify;

pub use checked::CheckedBlocks;
pub use compact::{COMPACT_EVM_SOURCE_PROOF, compact_native_proof, native_proof_from_compact};
pub use header::{EvmHeader, MAX_HEADER_LEN, decode_header, header_hash};
pub use receipt::{Bloom, Log, MAX_TOPICS, Receipt, TxType, decode_receipt};
pub use receipt_proof::{ReceiptProof, ReceiptTrie, receipt_key, receipts_root};
pub use reference::{ProvenSource, Unproved};
pub use source::{
    DISPATCH_EVENT_SIGNATURE, DISPATCH_TOPICS, EvmSourceProof, decode_dispatch_data,
    dispatch_topic0, dispatched_message, encode_dispatch_data,
};
pub use transaction::{MAX_TRANSACTION_LEN, TransactionProof, TransactionTrie};
pub use trie::{EMPTY_ROOT, FrozenTrie, PatriciaTrie};
pub use verify::{MAX_PROOF_BYTES, MAX_PROOF_NODES, TrieNodes, verify_proof, verify_proof_with};
