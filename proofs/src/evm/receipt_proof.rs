//! The receipts trie of a block and inclusion proofs of one receipt against its receiptsRoot.
//!
//! The receipts trie maps `rlp(transactionIndex)` to the receipt's consensus encoding (type
//! byte ‖ RLP for typed receipts, RLP for legacy ones); its root is the header's
//! `receiptsRoot`. A [`ReceiptProof`] is the JSON-serialisable proof that a receipt sits at an
//! index of a block: the `native_proof` data of an EVM [`crate::ProofBundle`] carries one
//! inside an [`super::EvmSourceProof`].

use serde::{Deserialize, Serialize};

use super::json::{de_nodes, de_receipt, ser_hex, ser_nodes};
use super::receipt::{Receipt, decode_receipt};
use alloy_trie::proof::{ProofNodes, ProofRetainer};
use alloy_trie::{HashBuilder, Nibbles};

use super::rlp::encode_u64;
use super::verify::{TrieNodes, verify_proof_with};
use crate::{Error, Hash32};

/// The receipts-trie key of transaction `tx_index`: its canonical RLP encoding.
pub fn receipt_key(tx_index: u64) -> Vec<u8> {
    encode_u64(tx_index)
}

/// The receipts root of a block whose receipts, in transaction order, have the consensus
/// encodings `receipts` (the empty-trie root for a block without transactions).
pub fn receipts_root<R: AsRef<[u8]>>(receipts: &[R]) -> Hash32 {
    ReceiptTrie::new(receipts).root()
}

/// The receipts trie of one block, built once to prove several of its receipts: alloy-trie's
/// `HashBuilder` (reth's trie builder) with every receipt's key retained for proofs.
#[derive(Clone, Debug)]
pub struct ReceiptTrie {
    root: Hash32,
    nodes: ProofNodes,
    receipts: Vec<Vec<u8>>,
}

impl ReceiptTrie {
    /// The trie of `receipts` (consensus encodings, in transaction order).
    pub fn new<R: AsRef<[u8]>>(receipts: &[R]) -> Self {
        let receipts: Vec<Vec<u8>> = receipts.iter().map(|r| r.as_ref().to_vec()).collect();
        let mut entries: Vec<(Nibbles, &[u8])> = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| (Nibbles::unpack(receipt_key(i as u64)), r.as_slice()))
            .collect();
        // The builder wants keys in nibble order, which is not index order (rlp(0) = 0x80
        // sorts after rlp(1..=127) = 0x01..=0x7f).
        entries.sort_unstable_by_key(|e| e.0);
        let targets = entries.iter().map(|(k, _)| *k).collect();
        let mut builder = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
        for (key, receipt) in &entries {
            builder.add_leaf(*key, receipt);
        }
        let root = Hash32(builder.root().0);
        ReceiptTrie {
            root,
            nodes: builder.take_proof_nodes(),
            receipts,
        }
    }

    /// The receipts root.
    pub fn root(&self) -> Hash32 {
        self.root
    }

    /// Number of receipts.
    pub fn len(&self) -> usize {
        self.receipts.len()
    }

    /// Whether the block has no receipts.
    pub fn is_empty(&self) -> bool {
        self.receipts.is_empty()
    }

    /// The proof of receipt `tx_index`; [`Error::ReceiptIndexOutOfRange`] past the last one.
    pub fn proof(&self, tx_index: u64) -> Result<ReceiptProof, Error> {
        let out_of_range = || Error::ReceiptIndexOutOfRange {
            index: tx_index,
            receipts: self.receipts.len(),
        };
        let position = usize::try_from(tx_index).map_err(|_| out_of_range())?;
        let receipt = self.receipts.get(position).ok_or_else(out_of_range)?;
        Ok(ReceiptProof {
            block_hash: None,
            receipts_root: self.root(),
            tx_index,
            receipt: receipt.clone(),
            nodes: self.proof_nodes(tx_index),
        })
    }

    /// The nodes on the path to receipt `tx_index`, root first: the retainer keeps embedded
    /// nodes too, and a proof lists only the root and the nodes referenced by hash.
    fn proof_nodes(&self, tx_index: u64) -> Vec<Vec<u8>> {
        self.nodes
            .matching_nodes_sorted(&Nibbles::unpack(receipt_key(tx_index)))
            .into_iter()
            .filter(|(path, node)| path.is_empty() || node.len() >= 32)
            .map(|(_, node)| node.to_vec())
            .collect()
    }
}

/// Proof that `receipt` is the receipt of transaction `tx_index` in a block whose receipts
/// root is `receipts_root`. Untrusted until [`ReceiptProof::verify`] accepts it against a root
/// the verifier trusts (from a header whose hash it trusts).
///
/// JSON: `{"block_hash":"0x…"?, "receipts_root":"0x…", "tx_index":3, "receipt":"0x…",
/// "nodes":["0x…", …]}`; unknown fields are refused and sizes are bounded while parsing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptProof {
    /// The block the proof was made for (informative; [`super::EvmSourceProof::verify`]
    /// checks it when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_hash: Option<Hash32>,
    /// The receipts root the proof was made against.
    pub receipts_root: Hash32,
    /// The transaction's index in its block.
    pub tx_index: u64,
    /// The receipt's consensus encoding.
    #[serde(serialize_with = "ser_hex", deserialize_with = "de_receipt")]
    pub receipt: Vec<u8>,
    /// The trie nodes on the path to the receipt, root first.
    #[serde(serialize_with = "ser_nodes", deserialize_with = "de_nodes")]
    pub nodes: Vec<Vec<u8>>,
}

impl ReceiptProof {
    /// Builds the proof of receipt `tx_index` of a block with `receipts` (see [`ReceiptTrie`]
    /// to prove several receipts of one block).
    pub fn build<R: AsRef<[u8]>>(receipts: &[R], tx_index: u64) -> Result<Self, Error> {
        ReceiptTrie::new(receipts).proof(tx_index)
    }

    /// The same proof, labelled with the hash of the block it belongs to.
    pub fn with_block_hash(mut self, block_hash: Hash32) -> Self {
        self.block_hash = Some(block_hash);
        self
    }

    /// Checks the proof against the receipts root the verifier trusts: the root must be
    /// non-zero and equal to the one the proof claims ([`Error::ReceiptsRootMismatch`]); the
    /// nodes must be exactly the canonical path to key `rlp(tx_index)` under that root (the
    /// `Mpt*` errors); and the value there must be `receipt` byte for byte
    /// ([`Error::MptValueMismatch`], or [`Error::MptKeyAbsent`] if the index holds nothing).
    pub fn verify(&self, expected_receipts_root: &Hash32) -> Result<(), Error> {
        self.verify_with(expected_receipts_root, None)
    }

    /// [`ReceiptProof::verify`], hashing only the nodes `known` does not already hold (see
    /// [`TrieNodes`]); same result and errors.
    pub fn verify_with(
        &self,
        expected_receipts_root: &Hash32,
        known: Option<&mut TrieNodes>,
    ) -> Result<(), Error> {
        if expected_receipts_root.is_zero() {
            return Err(Error::ZeroRoot);
        }
        if self.receipts_root != *expected_receipts_root {
            return Err(Error::ReceiptsRootMismatch {
                claimed: self.receipts_root,
                expected: *expected_receipts_root,
            });
        }
        let key = receipt_key(self.tx_index);
        match verify_proof_with(expected_receipts_root, &key, &self.nodes, known)? {
            Some(value) if value == self.receipt.as_slice() => Ok(()),
            Some(_) => Err(Error::MptValueMismatch {
                key: format!("0x{}", hex::encode(&key)),
            }),
            None => Err(Error::MptKeyAbsent {
                key: format!("0x{}", hex::encode(&key)),
            }),
        }
    }

    /// Decodes the proven receipt (see [`decode_receipt`]).
    pub fn decode_receipt(&self) -> Result<Receipt, Error> {
        decode_receipt(&self.receipt)
    }
}
