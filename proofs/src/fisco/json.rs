//! The JSON shapes of FISCO BCOS 3.x's JSON-RPC (`bcos-rpc/jsonrpc/JsonRpcImpl_2_0.cpp`;
//! protocol notes B.5–B.7) for blocks, receipts and transactions, shared by the adapter (which
//! reads them), the devnet test node (which writes them) and source proofs (which carry them).
//!
//! Hex fields are `0x`-prefixed lowercase; proof entries have no prefix. Unknown keys are
//! ignored, as a client of a newer node must.

use serde::{Deserialize, Serialize};

use super::{FiscoError, Header, LogEntry, ParentInfo, Receipt, SealerSignature, TransactionData};
use crate::Hash32;

/// `0x`-prefixed lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    crate::hash::to_0x_hex(bytes)
}

/// Decodes hex with or without `0x`; `field` names it in errors.
pub fn from_hex(field: &str, text: &str) -> Result<Vec<u8>, FiscoError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|e| FiscoError::Malformed {
        field: field.to_owned(),
        reason: format!("hex ({e})"),
    })
}

fn hash32(field: &str, text: &str) -> Result<Hash32, FiscoError> {
    let bytes = from_hex(field, text)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(Hash32)
        .map_err(|_| FiscoError::Malformed {
            field: field.to_owned(),
            reason: format!("32 bytes, found {}", bytes.len()),
        })
}

fn int32(field: &str, v: i64) -> Result<i32, FiscoError> {
    i32::try_from(v).map_err(|_| FiscoError::Malformed {
        field: field.to_owned(),
        reason: format!("{v} does not fit 32 bits"),
    })
}

/// The form a node stores (and hashes) an address in: lowercase hex without `0x`. The RPC
/// writes `0x` before it (the published block-2 receipt: JSON `0x82a3…`, hashed `82a3…`).
fn stored_address(json: &str) -> String {
    json.strip_prefix("0x").unwrap_or(json).to_owned()
}

/// The RPC's form of a stored address: `0x` before it, "" stays "".
fn json_address(stored: &str) -> String {
    if stored.is_empty() {
        String::new()
    } else {
        format!("0x{stored}")
    }
}

/// A parent reference in a block's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentInfoJson {
    /// The parent's number.
    pub block_number: i64,
    /// `0x` hex of the parent's hash.
    pub block_hash: String,
}

/// A sealer signature in a block's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureJson {
    /// Index into `sealerList`.
    pub sealer_index: i64,
    /// `0x` hex of the signature.
    pub signature: String,
}

/// A block as `getBlockByNumber` / `getBlockByHash` return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockJson {
    /// `0x` hex of the block hash (the node's claim; recomputed by verifiers).
    pub hash: String,
    /// Header version.
    pub version: i64,
    /// Parents.
    #[serde(default)]
    pub parent_info: Vec<ParentInfoJson>,
    /// Transactions root.
    pub txs_root: String,
    /// Receipts root.
    pub receipts_root: String,
    /// State root.
    pub state_root: String,
    /// Block number.
    pub number: i64,
    /// Gas used, decimal text.
    pub gas_used: String,
    /// Milliseconds.
    pub timestamp: i64,
    /// Proposer index.
    pub sealer: i64,
    /// Sealer node ids, `0x` hex.
    #[serde(default)]
    pub sealer_list: Vec<String>,
    /// Extra data.
    #[serde(default)]
    pub extra_data: String,
    /// Weights.
    #[serde(default)]
    pub consensus_weights: Vec<i64>,
    /// The sealers' signatures.
    #[serde(default)]
    pub signature_list: Vec<SignatureJson>,
    /// Transaction hashes (`onlyTxHash`) or objects; absent with `onlyHeader`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<serde_json::Value>,
}

impl BlockJson {
    /// The header's hashed fields.
    ///
    /// Fails with [`FiscoError::Malformed`] for a field that is not of its form.
    pub fn header(&self) -> Result<Header, FiscoError> {
        Ok(Header {
            version: int32("version", self.version)?,
            parents: self
                .parent_info
                .iter()
                .map(|p| {
                    Ok(ParentInfo {
                        number: p.block_number,
                        hash: hash32("parentInfo.blockHash", &p.block_hash)?,
                    })
                })
                .collect::<Result<_, FiscoError>>()?,
            txs_root: hash32("txsRoot", &self.txs_root)?,
            receipts_root: hash32("receiptsRoot", &self.receipts_root)?,
            state_root: hash32("stateRoot", &self.state_root)?,
            number: self.number,
            gas_used: self.gas_used.clone(),
            timestamp: self.timestamp,
            sealer: self.sealer,
            sealer_list: self
                .sealer_list
                .iter()
                .map(|s| from_hex("sealerList", s))
                .collect::<Result<_, _>>()?,
            extra_data: from_hex("extraData", &self.extra_data)?,
            consensus_weights: self.consensus_weights.clone(),
        })
    }

    /// The signature list.
    ///
    /// Fails with [`FiscoError::Malformed`] for a signature that is not hex.
    pub fn signatures(&self) -> Result<Vec<SealerSignature>, FiscoError> {
        self.signature_list
            .iter()
            .map(|s| {
                Ok(SealerSignature {
                    sealer_index: s.sealer_index,
                    signature: from_hex("signatureList.signature", &s.signature)?,
                })
            })
            .collect()
    }

    /// The JSON of `header` with `signatures`, as a node writes it (`hash` computed in `mode`).
    pub fn from_header(
        header: &Header,
        signatures: &[SealerSignature],
        mode: super::CryptoMode,
    ) -> Self {
        BlockJson {
            hash: header.hash(mode).to_hex(),
            version: i64::from(header.version),
            parent_info: header
                .parents
                .iter()
                .map(|p| ParentInfoJson {
                    block_number: p.number,
                    block_hash: p.hash.to_hex(),
                })
                .collect(),
            txs_root: header.txs_root.to_hex(),
            receipts_root: header.receipts_root.to_hex(),
            state_root: header.state_root.to_hex(),
            number: header.number,
            gas_used: header.gas_used.clone(),
            timestamp: header.timestamp,
            sealer: header.sealer,
            sealer_list: header.sealer_list.iter().map(|s| to_hex(s)).collect(),
            extra_data: to_hex(&header.extra_data),
            consensus_weights: header.consensus_weights.clone(),
            signature_list: signatures
                .iter()
                .map(|s| SignatureJson {
                    sealer_index: s.sealer_index,
                    signature: to_hex(&s.signature),
                })
                .collect(),
            transactions: Vec::new(),
        }
    }
}

/// A log in a receipt's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogJson {
    /// The emitter, `0x` and the stored (hashed) lowercase hex.
    pub address: String,
    /// `0x` hex topics.
    #[serde(default)]
    pub topics: Vec<String>,
    /// `0x` hex data.
    #[serde(default)]
    pub data: String,
}

/// A receipt as `getTransactionReceipt` (and `sendTransaction`) return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptJson {
    /// Receipt version.
    pub version: i64,
    /// The transaction's hash.
    pub transaction_hash: String,
    /// The receipt hash (the node's claim).
    #[serde(default)]
    pub hash: String,
    /// Block number.
    pub block_number: i64,
    /// 0 on success.
    pub status: i64,
    /// Gas used, decimal text.
    pub gas_used: String,
    /// Deployed contract, or "".
    #[serde(default)]
    pub contract_address: String,
    /// `0x` hex output.
    #[serde(default)]
    pub output: String,
    /// The node's message for failures.
    #[serde(default)]
    pub message: String,
    /// Logs.
    #[serde(default)]
    pub log_entries: Vec<LogJson>,
    /// Version ≥ 1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_gas_price: Option<String>,
    /// The sender, copied from the transaction.
    #[serde(default)]
    pub from: String,
    /// The callee, copied from the transaction.
    #[serde(default)]
    pub to: String,
    /// The receipt's Merkle proof (hex without 0x) when asked for.
    #[serde(default)]
    pub tx_receipt_proof: Vec<String>,
}

impl ReceiptJson {
    /// The receipt's hashed fields.
    ///
    /// Fails with [`FiscoError::Malformed`] for a field that is not of its form.
    pub fn receipt(&self) -> Result<Receipt, FiscoError> {
        Ok(Receipt {
            version: int32("version", self.version)?,
            gas_used: self.gas_used.clone(),
            contract_address: stored_address(&self.contract_address),
            status: int32("status", self.status)?,
            output: from_hex("output", &self.output)?,
            effective_gas_price: self.effective_gas_price.clone().unwrap_or_default(),
            logs: self
                .log_entries
                .iter()
                .map(|l| {
                    Ok(LogEntry {
                        address: stored_address(&l.address),
                        topics: l
                            .topics
                            .iter()
                            .map(|t| from_hex("logEntries.topics", t))
                            .collect::<Result<_, _>>()?,
                        data: from_hex("logEntries.data", &l.data)?,
                    })
                })
                .collect::<Result<_, FiscoError>>()?,
            block_number: self.block_number,
        })
    }

    /// The JSON a node writes for `receipt` of transaction `tx_hash`.
    pub fn from_receipt(
        receipt: &Receipt,
        tx_hash: &Hash32,
        mode: super::CryptoMode,
        proof: Option<&[Hash32]>,
    ) -> Self {
        ReceiptJson {
            version: i64::from(receipt.version),
            transaction_hash: tx_hash.to_hex(),
            hash: receipt.hash(mode).to_hex(),
            block_number: receipt.block_number,
            status: i64::from(receipt.status),
            gas_used: receipt.gas_used.clone(),
            contract_address: json_address(&receipt.contract_address),
            output: to_hex(&receipt.output),
            message: String::new(),
            log_entries: receipt
                .logs
                .iter()
                .map(|l| LogJson {
                    address: json_address(&l.address),
                    topics: l.topics.iter().map(|t| to_hex(t)).collect(),
                    data: to_hex(&l.data),
                })
                .collect(),
            effective_gas_price: (receipt.version >= 1)
                .then(|| receipt.effective_gas_price.clone()),
            from: String::new(),
            to: String::new(),
            tx_receipt_proof: proof
                .map(|p| p.iter().map(|h| hex::encode(h.0)).collect())
                .unwrap_or_default(),
        }
    }
}

/// A transaction as `getTransaction` returns it (version 0 fields; later ones optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionJson {
    /// Version.
    pub version: i64,
    /// `0x` hash.
    pub hash: String,
    /// Decimal nonce.
    pub nonce: String,
    /// Block limit.
    pub block_limit: i64,
    /// Callee ("" for deployments).
    #[serde(default)]
    pub to: String,
    /// `0x` sender.
    #[serde(default)]
    pub from: String,
    /// `0x` input.
    #[serde(default)]
    pub input: String,
    /// Chain id.
    #[serde(rename = "chainID")]
    pub chain_id: String,
    /// Group id.
    #[serde(rename = "groupID")]
    pub group_id: String,
    /// ABI JSON.
    #[serde(default)]
    pub abi: String,
    /// `0x` signature.
    #[serde(default)]
    pub signature: String,
    /// Import time (node-set).
    #[serde(default)]
    pub import_time: i64,
    /// Free text.
    #[serde(default)]
    pub extra_data: String,
    /// The transaction's Merkle proof when asked for.
    #[serde(default)]
    pub tx_proof: Vec<String>,
}

impl TransactionJson {
    /// The signed fields (version 0 transactions).
    ///
    /// Fails with [`FiscoError::Malformed`] for a field that is not of its form.
    pub fn data(&self) -> Result<TransactionData, FiscoError> {
        Ok(TransactionData {
            version: int32("version", self.version)?,
            chain_id: self.chain_id.clone(),
            group_id: self.group_id.clone(),
            block_limit: self.block_limit,
            nonce: self.nonce.clone(),
            to: self.to.clone(),
            input: from_hex("input", &self.input)?,
            abi: self.abi.clone(),
            ..TransactionData::default()
        })
    }
}
