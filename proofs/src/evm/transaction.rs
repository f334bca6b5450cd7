//! The transactions trie of a block and the proof of one transaction against the header's
//! transactionsRoot: what ties a bundle's `source.transaction_hash` to the proven block.
//!
//! The transactions trie has the receipts trie's shape: key `rlp(index)`, value the
//! transaction's EIP-2718 encoding (type byte ‖ RLP for typed transactions, RLP for legacy
//! ones). A transaction's hash is the keccak-256 of exactly that value, so a value proven at
//! the receipt's index under the header's transactionsRoot proves the transaction hash of the
//! receipt that emitted the log.

use serde::{Deserialize, Serialize};

use super::json::{de_nodes, de_transaction, ser_hex, ser_nodes};
use super::receipt_proof::{ReceiptTrie, receipt_key};
use super::verify::{TrieNodes, verify_proof_with};
use crate::hash::keccak256;
use crate::{Error, Hash32};

/// Longest transaction a proof may carry: 1 MiB. Nodes relay transactions of at most 128 KiB
/// (geth's `txMaxSize`); the Outbox's dispatches are far smaller. The bound keeps a bundle
/// carrying a transaction and a large receipt within the bundle's JSON limit.
pub const MAX_TRANSACTION_LEN: usize = 1024 * 1024;

/// The transactions trie of one block, built once to prove several of its transactions.
#[derive(Clone, Debug)]
pub struct TransactionTrie {
    // Same keys (`rlp(index)`) and same kind of values (EIP-2718 bytes) as the receipts trie,
    // so the receipts trie's builder builds it.
    trie: ReceiptTrie,
}

impl TransactionTrie {
    /// The trie of `transactions` (EIP-2718 encodings, in block order).
    pub fn new<T: AsRef<[u8]>>(transactions: &[T]) -> Self {
        TransactionTrie {
            trie: ReceiptTrie::new(transactions),
        }
    }

    /// The transactions root (the header's `transactionsRoot` if the encodings are right).
    pub fn root(&self) -> Hash32 {
        self.trie.root()
    }

    /// The proof of transaction `tx_index`; [`Error::ReceiptIndexOutOfRange`] past the last.
    pub fn proof(&self, tx_index: u64) -> Result<TransactionProof, Error> {
        let p = self.trie.proof(tx_index)?;
        Ok(TransactionProof {
            transaction: p.receipt,
            nodes: p.nodes,
        })
    }
}

/// Proof that `transaction` is the transaction at an index of a block: its EIP-2718 encoding
/// and the transactions-trie nodes on the path to key `rlp(index)`. The index is the receipt
/// proof's (one transaction, one receipt), so it is not repeated here.
///
/// JSON: `{"transaction":"0x…", "nodes":["0x…", …]}`; unknown fields are refused and sizes are
/// bounded while parsing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionProof {
    /// The transaction's EIP-2718 encoding; its keccak-256 is the transaction hash.
    #[serde(serialize_with = "ser_hex", deserialize_with = "de_transaction")]
    pub transaction: Vec<u8>,
    /// The trie nodes on the path to the transaction, root first.
    #[serde(serialize_with = "ser_nodes", deserialize_with = "de_nodes")]
    pub nodes: Vec<Vec<u8>>,
}

impl TransactionProof {
    /// The hash of the carried transaction (proven only once [`TransactionProof::verify`]
    /// accepts it).
    pub fn hash(&self) -> Hash32 {
        keccak256(&self.transaction)
    }

    /// Checks that the transactions trie with root `transactions_root` (from a header whose
    /// hash the caller trusts) holds exactly `transaction` at `tx_index`, and returns its
    /// hash. Any failure is [`Error::TransactionProofInvalid`], naming the broken link.
    pub fn verify(&self, transactions_root: &Hash32, tx_index: u64) -> Result<Hash32, Error> {
        self.verify_with(transactions_root, tx_index, None)
    }

    /// [`TransactionProof::verify`], hashing only the nodes `known` does not already hold (see
    /// [`TrieNodes`]); same result and errors.
    pub fn verify_with(
        &self,
        transactions_root: &Hash32,
        tx_index: u64,
        known: Option<&mut TrieNodes>,
    ) -> Result<Hash32, Error> {
        let invalid = |reason: String| Error::TransactionProofInvalid { tx_index, reason };
        if self.transaction.len() > MAX_TRANSACTION_LEN {
            return Err(invalid(format!(
                "the transaction is {} bytes, more than the {MAX_TRANSACTION_LEN} accepted",
                self.transaction.len()
            )));
        }
        let key = receipt_key(tx_index);
        match verify_proof_with(transactions_root, &key, &self.nodes, known) {
            Ok(Some(value)) if value == self.transaction.as_slice() => Ok(self.hash()),
            Ok(Some(_)) => Err(invalid(
                "the block holds another transaction at that index".to_owned(),
            )),
            Ok(None) => Err(invalid(
                "the block has no transaction at that index".to_owned(),
            )),
            Err(e) => Err(invalid(e.to_string())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn transactions(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                // Typed (0x02 ‖ …) and legacy-looking values of varied sizes; the trie does
                // not interpret them.
                let mut t = vec![if i % 2 == 0 { 0x02 } else { 0xf8 }];
                t.extend(std::iter::repeat_n(i as u8, 20 + i * 7));
                t
            })
            .collect()
    }

    #[test]
    fn every_transaction_is_proven_with_its_hash() {
        for n in [1usize, 2, 17, 130] {
            let txs = transactions(n);
            let trie = TransactionTrie::new(&txs);
            for (i, tx) in txs.iter().enumerate() {
                let proof = trie.proof(i as u64).unwrap();
                assert_eq!(&proof.transaction, tx);
                assert_eq!(
                    proof.verify(&trie.root(), i as u64).unwrap(),
                    keccak256(tx),
                    "{i} of {n}"
                );
            }
            assert!(trie.proof(n as u64).is_err());
        }
    }

    #[test]
    fn a_proof_holds_only_for_its_index_root_and_bytes() {
        let txs = transactions(20);
        let trie = TransactionTrie::new(&txs);
        let proof = trie.proof(5).unwrap();
        let invalid =
            |r: Result<Hash32, Error>| matches!(r, Err(Error::TransactionProofInvalid { .. }));
        for other in [0, 4, 6, 19, 20, 0x80] {
            assert!(invalid(proof.verify(&trie.root(), other)), "index {other}");
        }
        assert!(invalid(proof.verify(&Hash32([7; 32]), 5)));
        let mut edited = proof.clone();
        edited.transaction[3] ^= 1;
        assert!(invalid(edited.verify(&trie.root(), 5)));
        let mut truncated = proof.clone();
        truncated.nodes.pop();
        assert!(invalid(truncated.verify(&trie.root(), 5)));
        let mut huge = proof;
        huge.transaction = vec![0; MAX_TRANSACTION_LEN + 1];
        assert!(invalid(huge.verify(&trie.root(), 5)));
    }

    #[test]
    fn json_round_trip_refuses_unknown_fields() {
        let trie = TransactionTrie::new(&transactions(3));
        let proof = trie.proof(1).unwrap();
        let json = serde_json::to_value(&proof).unwrap();
        let back: TransactionProof = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, proof);
        let mut extra = json;
        extra["index"] = 1.into();
        assert!(serde_json::from_value::<TransactionProof>(extra).is_err());
    }
}
