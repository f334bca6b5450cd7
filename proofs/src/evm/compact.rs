//! The compact, binary form of an EVM source proof, for a store to keep instead of its JSON.
//!
//! A bundle's `native_proof` of family `evm` is JSON with every byte string in hex: ~8 KB per
//! message for a block of 100 dispatches, the largest part of a message's row, written (and
//! its write-ahead log copy) for every accepted message. [`compact_native_proof`] turns that
//! JSON into bytes of less than half its size, and [`native_proof_from_compact`] gives back
//! the same JSON value, so a bundle made from a stored proof is byte for byte the one made
//! from the proof as accepted.
//!
//! Exactness is by construction: only a value in the exact shape [`EvmSourceProof`]
//! serialises to (the same keys, lowercase `0x` hex, integers) is compacted, and anything else
//! answers `None` (its store keeps the JSON). The receipt and the transaction, which a valid
//! proof also carries as the value of its last trie node, are left out when they are exactly
//! that value, and read back from it.
//!
//! Layout (integers big-endian, byte strings as a `u32` length and the bytes):
//! `0xe1` ‖ flags ‖ receipts_root (32) ‖ tx_index (u64) ‖ log_index_in_receipt (u32) ‖
//! [block_hash (32)] ‖ header ‖ [receipt] ‖ receipt nodes (`u32` count, byte strings) ‖
//! [[transaction] ‖ transaction nodes]. Decoding is strict and bounded like the JSON's: the
//! limits of [`super::verify`], [`MAX_HEADER_LEN`] and [`MAX_TRANSACTION_LEN`], no bytes left
//! over, no unknown flag.

use serde_json::{Map, Value};

use super::header::MAX_HEADER_LEN;
use super::receipt_proof::ReceiptProof;
use super::rlp::decode_exact;
use super::source::EvmSourceProof;
use super::transaction::{MAX_TRANSACTION_LEN, TransactionProof};
use super::verify::{MAX_PROOF_BYTES, MAX_PROOF_NODES};
use crate::bundle::{ChainFamily, NativeProof};
use crate::{Error, Hash32};

/// First byte of the compact form (version 1 of an EVM source proof).
pub const COMPACT_EVM_SOURCE_PROOF: u8 = 0xe1;

const HAS_BLOCK_HASH: u8 = 1;
const RECEIPT_IN_LEAF: u8 = 1 << 1;
const HAS_TRANSACTION: u8 = 1 << 2;
const TRANSACTION_IN_LEAF: u8 = 1 << 3;
const KNOWN_FLAGS: u8 = HAS_BLOCK_HASH | RECEIPT_IN_LEAF | HAS_TRANSACTION | TRANSACTION_IN_LEAF;

impl EvmSourceProof {
    /// The compact form of this proof (see the module documentation).
    pub fn to_compact(&self) -> Vec<u8> {
        let r = &self.receipt_proof;
        let receipt_in_leaf = leaf_value(&r.nodes) == Some(r.receipt.as_slice());
        let tx_in_leaf = self
            .transaction_proof
            .as_ref()
            .is_some_and(|t| leaf_value(&t.nodes) == Some(t.transaction.as_slice()));
        let mut flags = 0;
        for (set, flag) in [
            (r.block_hash.is_some(), HAS_BLOCK_HASH),
            (receipt_in_leaf, RECEIPT_IN_LEAF),
            (self.transaction_proof.is_some(), HAS_TRANSACTION),
            (tx_in_leaf, TRANSACTION_IN_LEAF),
        ] {
            if set {
                flags |= flag;
            }
        }
        let mut out = Vec::with_capacity(self.header.len() + 4096);
        out.push(COMPACT_EVM_SOURCE_PROOF);
        out.push(flags);
        out.extend_from_slice(r.receipts_root.as_bytes());
        out.extend_from_slice(&r.tx_index.to_be_bytes());
        out.extend_from_slice(&self.log_index_in_receipt.to_be_bytes());
        if let Some(hash) = &r.block_hash {
            out.extend_from_slice(hash.as_bytes());
        }
        put_bytes(&mut out, &self.header);
        if !receipt_in_leaf {
            put_bytes(&mut out, &r.receipt);
        }
        put_nodes(&mut out, &r.nodes);
        if let Some(t) = &self.transaction_proof {
            if !tx_in_leaf {
                put_bytes(&mut out, &t.transaction);
            }
            put_nodes(&mut out, &t.nodes);
        }
        out
    }

    /// The proof whose compact form is `bytes`; [`Error::Decode`] for anything
    /// [`EvmSourceProof::to_compact`] does not write, or beyond the JSON form's limits.
    pub fn from_compact(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader { rest: bytes };
        if r.take(1)? != [COMPACT_EVM_SOURCE_PROOF] {
            return Err(decode(
                "not a compact EVM source proof (unknown first byte)",
            ));
        }
        let flags = r.take(1)?[0];
        if flags & !KNOWN_FLAGS != 0
            || (flags & TRANSACTION_IN_LEAF != 0 && flags & HAS_TRANSACTION == 0)
        {
            return Err(decode(format!("unknown flags {flags:#04x}")));
        }
        let receipts_root = Hash32(r.array()?);
        let tx_index = u64::from_be_bytes(r.array()?);
        let log_index_in_receipt = u32::from_be_bytes(r.array()?);
        let block_hash = if flags & HAS_BLOCK_HASH != 0 {
            Some(Hash32(r.array()?))
        } else {
            None
        };
        let header = r.bytes(MAX_HEADER_LEN, "block header")?.to_vec();
        let receipt = if flags & RECEIPT_IN_LEAF == 0 {
            Some(r.bytes(MAX_PROOF_BYTES, "receipt")?.to_vec())
        } else {
            None
        };
        let nodes = r.nodes()?;
        let receipt = match receipt {
            Some(receipt) => receipt,
            None => from_leaf(&nodes, "receipt")?,
        };
        let transaction_proof = if flags & HAS_TRANSACTION != 0 {
            let transaction = if flags & TRANSACTION_IN_LEAF == 0 {
                Some(r.bytes(MAX_TRANSACTION_LEN, "transaction")?.to_vec())
            } else {
                None
            };
            let nodes = r.nodes()?;
            let transaction = match transaction {
                Some(t) => t,
                None => from_leaf(&nodes, "transaction")?,
            };
            if transaction.len() > MAX_TRANSACTION_LEN {
                return Err(decode("the transaction exceeds its maximum length"));
            }
            Some(TransactionProof { transaction, nodes })
        } else {
            None
        };
        if !r.rest.is_empty() {
            return Err(decode(format!("{} bytes left over", r.rest.len())));
        }
        Ok(EvmSourceProof {
            header,
            receipt_proof: ReceiptProof {
                block_hash,
                receipts_root,
                tx_index,
                receipt,
                nodes,
            },
            log_index_in_receipt,
            transaction_proof,
        })
    }
}

/// The compact form of `proof` if it is an EVM source proof in exactly the JSON shape
/// [`EvmSourceProof::to_native_proof`] makes, so that [`native_proof_from_compact`] gives back
/// an equal value; `None` for any other family or shape (keep its JSON).
pub fn compact_native_proof(proof: &NativeProof) -> Option<Vec<u8>> {
    if proof.family != ChainFamily::Evm {
        return None;
    }
    evm_proof_of_value(&proof.data).map(|p| p.to_compact())
}

/// The native proof (family `evm`, the JSON value of [`EvmSourceProof::to_native_proof`]) whose
/// compact form is `bytes`.
pub fn native_proof_from_compact(bytes: &[u8]) -> Result<NativeProof, Error> {
    EvmSourceProof::from_compact(bytes)?.to_native_proof()
}

/// The proof `value` holds if it is exactly what serialising an [`EvmSourceProof`] yields:
/// the same keys and nothing else, byte strings as `0x` and lowercase hex, integers as JSON
/// integers in range. Strict on purpose: anything the serialiser would write differently
/// answers `None`.
pub(super) fn evm_proof_of_value(value: &Value) -> Option<EvmSourceProof> {
    let proof = object(
        value,
        &["header", "receipt_proof", "log_index_in_receipt"],
        &["transaction_proof"],
    )?;
    let receipt = object(
        proof.get("receipt_proof")?,
        &["receipts_root", "tx_index", "receipt", "nodes"],
        &["block_hash"],
    )?;
    let transaction_proof = match proof.get("transaction_proof") {
        None => None,
        Some(t) => {
            let t = object(t, &["transaction", "nodes"], &[])?;
            Some(TransactionProof {
                transaction: hex(t.get("transaction")?, MAX_TRANSACTION_LEN)?,
                nodes: nodes(t.get("nodes")?)?,
            })
        }
    };
    let block_hash = match receipt.get("block_hash") {
        None => None,
        Some(h) => Some(hash(h)?),
    };
    Some(EvmSourceProof {
        header: hex(proof.get("header")?, MAX_HEADER_LEN)?,
        receipt_proof: ReceiptProof {
            block_hash,
            receipts_root: hash(receipt.get("receipts_root")?)?,
            tx_index: receipt.get("tx_index")?.as_u64()?,
            receipt: hex(receipt.get("receipt")?, MAX_PROOF_BYTES)?,
            nodes: nodes(receipt.get("nodes")?)?,
        },
        log_index_in_receipt: u32::try_from(proof.get("log_index_in_receipt")?.as_u64()?).ok()?,
        transaction_proof,
    })
}

/// `value` as an object with every key of `required`, any of `optional`, and no other.
fn object<'a>(
    value: &'a Value,
    required: &[&str],
    optional: &[&str],
) -> Option<&'a Map<String, Value>> {
    let map = value.as_object()?;
    let present = required.iter().all(|k| map.contains_key(*k));
    let known = map
        .keys()
        .all(|k| required.contains(&k.as_str()) || optional.contains(&k.as_str()));
    (present && known).then_some(map)
}

/// A `0x`-prefixed, lowercase, even-length hex string of at most `max` bytes.
///
/// const-hex decodes (SIMD) and refuses any digit that is not hex, and a second `0x` by length
/// (it would strip it, leaving fewer digits than `out` holds); uppercase digits, which it would
/// accept, are refused before (a branch-free scan the compiler vectorises). The scalar
/// check-then-decode it replaces was ~11 % of the relaying process's CPU in a catch-up profile.
fn hex(value: &Value, max: usize) -> Option<Vec<u8>> {
    let digits = value.as_str()?.strip_prefix("0x")?;
    let uppercase = digits
        .bytes()
        .fold(false, |seen, b| seen | b.is_ascii_uppercase());
    if digits.len() % 2 != 0 || digits.len() / 2 > max || uppercase {
        return None;
    }
    let mut out = vec![0u8; digits.len() / 2];
    const_hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

fn hash(value: &Value) -> Option<Hash32> {
    let bytes = hex(value, 32)?;
    Some(Hash32(<[u8; 32]>::try_from(bytes.as_slice()).ok()?))
}

/// Trie nodes within the JSON form's limits.
fn nodes(value: &Value) -> Option<Vec<Vec<u8>>> {
    let list = value.as_array()?;
    if list.len() > MAX_PROOF_NODES {
        return None;
    }
    let mut total = 0usize;
    let mut out = Vec::with_capacity(list.len());
    for node in list {
        let node = hex(node, MAX_PROOF_BYTES - total)?;
        total += node.len();
        out.push(node);
    }
    Some(out)
}

/// The value of the last node if it is a leaf (`[path, value]`), as a proof's carried receipt
/// or transaction is.
fn leaf_value(nodes: &[Vec<u8>]) -> Option<&[u8]> {
    let items = decode_exact(nodes.last()?).ok()?.list().ok()?;
    match items.as_slice() {
        [path, value] if !path.is_list && !value.is_list => Some(value.payload),
        _ => None,
    }
}

fn from_leaf(nodes: &[Vec<u8>], what: &str) -> Result<Vec<u8>, Error> {
    leaf_value(nodes).map(<[u8]>::to_vec).ok_or_else(|| {
        decode(format!(
            "the {what} is said to be the last node's value, which is not a leaf"
        ))
    })
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every length is bounded far below 4 GiB (the proof limits), as the decoder checks.
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_nodes(out: &mut Vec<u8>, nodes: &[Vec<u8>]) {
    out.extend_from_slice(&u32::try_from(nodes.len()).unwrap_or(u32::MAX).to_be_bytes());
    for node in nodes {
        put_bytes(out, node);
    }
}

fn decode(reason: impl Into<String>) -> Error {
    Error::Decode {
        what: "compact EVM source proof",
        reason: reason.into(),
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.rest.len() < n {
            return Err(decode(format!(
                "truncated: {n} bytes wanted, {} left",
                self.rest.len()
            )));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len(&mut self) -> Result<usize, Error> {
        usize::try_from(u32::from_be_bytes(self.array()?)).map_err(|_| decode("length overflow"))
    }

    fn bytes(&mut self, max: usize, what: &str) -> Result<&'a [u8], Error> {
        let len = self.len()?;
        if len > max {
            return Err(decode(format!(
                "the {what} is {len} bytes, more than {max}"
            )));
        }
        self.take(len)
    }

    fn nodes(&mut self) -> Result<Vec<Vec<u8>>, Error> {
        let count = self.len()?;
        if count > MAX_PROOF_NODES {
            return Err(decode(format!(
                "{count} trie nodes, more than {MAX_PROOF_NODES}"
            )));
        }
        let mut total = 0usize;
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
            let node = self.bytes(MAX_PROOF_BYTES - total, "trie nodes")?;
            total += node.len();
            nodes.push(node.to_vec());
        }
        Ok(nodes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::evm::{ReceiptTrie, TransactionTrie};

    /// A proof from real tries: `n` receipts and transactions of varied sizes, proving `at`.
    fn proof(n: usize, at: usize, size: usize, block_hash: bool, tx: bool) -> EvmSourceProof {
        let receipts: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut r = vec![0x02];
                r.extend(std::iter::repeat_n(i as u8, size + i));
                r
            })
            .collect();
        let txs: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut t = vec![0x02];
                t.extend(std::iter::repeat_n(!(i as u8), 40 + size / 2 + i));
                t
            })
            .collect();
        let mut receipt_proof = ReceiptTrie::new(&receipts).proof(at as u64).unwrap();
        if block_hash {
            receipt_proof = receipt_proof.with_block_hash(Hash32([0xab; 32]));
        }
        EvmSourceProof {
            header: vec![0xf9; 40 + size],
            receipt_proof,
            log_index_in_receipt: (at % 3) as u32,
            transaction_proof: tx.then(|| TransactionTrie::new(&txs).proof(at as u64).unwrap()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The compact form round-trips, and so does the JSON through it, to an equal value
        /// (the bundle a store hands out is the one it accepted).
        #[test]
        fn round_trips_exactly(n in 1usize..140, at in 0usize..140, size in 0usize..700,
                               block_hash: bool, tx: bool) {
            let at = at % n;
            let p = proof(n, at, size, block_hash, tx);
            let compact = p.to_compact();
            prop_assert_eq!(&EvmSourceProof::from_compact(&compact).unwrap(), &p);
            let native = p.to_native_proof().unwrap();
            // The verify stage's reading of the JSON (the exact shape, without serde's generic
            // path) is serde's reading.
            prop_assert_eq!(&EvmSourceProof::from_native_proof(&native).unwrap(), &p);
            prop_assert_eq!(&evm_proof_of_value(&native.data).unwrap(), &p);
            prop_assert_eq!(
                &<EvmSourceProof as serde::Deserialize>::deserialize(&native.data).unwrap(),
                &p
            );
            let stored = compact_native_proof(&native).unwrap();
            prop_assert_eq!(&stored, &compact);
            let back = native_proof_from_compact(&stored).unwrap();
            prop_assert_eq!(
                serde_json::to_string(&back).unwrap(),
                serde_json::to_string(&native).unwrap()
            );
            // A receipt and transaction carried apart from their leaves (not what a valid
            // proof holds) round-trip too.
            let mut apart = p.clone();
            apart.receipt_proof.receipt.push(1);
            if let Some(t) = &mut apart.transaction_proof {
                t.transaction.push(2);
            }
            prop_assert_eq!(&EvmSourceProof::from_compact(&apart.to_compact()).unwrap(), &apart);
        }

        /// Any truncation is refused, never read as another proof.
        #[test]
        fn truncations_are_refused(cut in 0usize..4000) {
            let compact = proof(20, 7, 300, true, true).to_compact();
            let cut = cut % compact.len();
            prop_assert!(EvmSourceProof::from_compact(&compact[..cut]).is_err());
        }
    }

    #[test]
    fn it_is_less_than_half_of_the_json() {
        let p = proof(100, 42, 600, true, true);
        let json = serde_json::to_string(&p.to_native_proof().unwrap()).unwrap();
        let compact = p.to_compact();
        assert!(
            compact.len() * 2 < json.len(),
            "{} vs {}",
            compact.len(),
            json.len()
        );
    }

    #[test]
    fn malformed_compact_forms_are_refused() {
        let good = proof(20, 7, 300, true, true).to_compact();
        let mut other_version = good.clone();
        other_version[0] = 0xe2;
        let mut unknown_flag = good.clone();
        unknown_flag[1] |= 0x80;
        let mut trailing = good.clone();
        trailing.push(0);
        let mut huge_header = good.clone();
        // The header's length follows the fixed part and the block hash.
        let at = 2 + 32 + 8 + 4 + 32;
        huge_header[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        for bad in [
            other_version,
            unknown_flag,
            trailing,
            huge_header,
            Vec::new(),
        ] {
            assert!(matches!(
                EvmSourceProof::from_compact(&bad),
                Err(Error::Decode { .. })
            ));
        }
    }

    /// Values the serialiser would not have written stay JSON (`None`): a store keeps them
    /// as they came.
    #[test]
    fn only_the_exact_json_shape_is_compacted() {
        let native = proof(20, 7, 300, true, true).to_native_proof().unwrap();
        assert!(compact_native_proof(&native).is_some());
        let edits: [fn(&mut Value); 10] = [
            |v| {
                v["header"] = Value::String(
                    v["header"]
                        .as_str()
                        .unwrap()
                        .to_uppercase()
                        .replacen("0X", "0x", 1),
                )
            },
            |v| v["transaction_proof"] = Value::Null,
            |v| v["extra"] = Value::Bool(true),
            |v| v["receipt_proof"]["tx_index"] = serde_json::json!(7.0),
            |v| v["log_index_in_receipt"] = serde_json::json!(u64::from(u32::MAX) + 1),
            |v| v["receipt_proof"]["receipt"] = Value::String("abcd".into()),
            |v| v["receipt_proof"]["nodes"] = serde_json::json!(["0x1"]),
            // A second prefix, a digit that is not hex, one uppercase digit (const-hex would
            // strip the first and accept the last).
            |v| v["receipt_proof"]["nodes"] = serde_json::json!(["0x0x12"]),
            |v| v["receipt_proof"]["nodes"] = serde_json::json!(["0x1g"]),
            |v| {
                let receipt = v["receipt_proof"]["receipt"].as_str().unwrap();
                v["receipt_proof"]["receipt"] = Value::String(format!("{receipt}A0"));
            },
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut data = native.data.clone();
            edit(&mut data);
            let edited = NativeProof {
                family: ChainFamily::Evm,
                data,
            };
            assert_eq!(compact_native_proof(&edited), None, "edit {i}");
        }
        let fabric = NativeProof {
            family: ChainFamily::Fabric,
            data: native.data,
        };
        assert_eq!(compact_native_proof(&fabric), None);
    }
}
