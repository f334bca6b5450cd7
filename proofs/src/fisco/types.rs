//! FISCO BCOS 3.x transactions, receipts and block headers, and the hashes the chain gives
//! them: the chain hash (Keccak-256 or SM3) over the fields concatenated in order, integers
//! big-endian, strings and byte vectors as their bytes, with no length prefixes
//! (`bcos-tars-protocol/impl/TarsHashable.h`; protocol notes B.10).
//!
//! No length prefixes means a receipt's bytes can be split into fields in more than one way:
//! the hash does not fix where one log's data ends and the next log begins. [`Receipt::check_form`]
//! refuses every receipt whose fields have a form FISCO BCOS never produces, and the source
//! proof ([`super::FiscoSourceProof`]) adds the rest of the defence (see `docs/fisco.md`).

use serde::{Deserialize, Serialize};

use super::tars::{Fields, Writer, decode_fields};
use super::{CryptoMode, FiscoError, NodeKey};
use crate::Hash32;

/// Transaction version 1 adds value and gas fields to the hash, version 2 the extension.
const TX_V1: i32 = 1;
/// Transaction version 2 (see [`TX_V1`]).
const TX_V2: i32 = 2;

/// The signed fields of a transaction (TARS `TransactionData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionData {
    /// 0, 1 or 2: which of the optional fields are hashed.
    pub version: i32,
    /// The chain id, e.g. "chain0".
    pub chain_id: String,
    /// The group id, e.g. "group0".
    pub group_id: String,
    /// The last block in which the transaction may be included.
    pub block_limit: i64,
    /// A random 256-bit number written in decimal.
    pub nonce: String,
    /// The callee as hex without 0x; empty for a deployment.
    pub to: String,
    /// Call data or deployment code.
    pub input: Vec<u8>,
    /// The contract's ABI JSON for deployments, else empty.
    pub abi: String,
    /// Version ≥ 1: value (decimal text).
    pub value: String,
    /// Version ≥ 1: gas price (decimal text).
    pub gas_price: String,
    /// Version ≥ 1: gas limit.
    pub gas_limit: i64,
    /// Version ≥ 1: EIP-1559 max fee (decimal text).
    pub max_fee_per_gas: String,
    /// Version ≥ 1: EIP-1559 priority fee (decimal text).
    pub max_priority_fee_per_gas: String,
    /// Version ≥ 2: extension bytes.
    pub extension: Vec<u8>,
}

impl TransactionData {
    /// The transaction hash (`dataHash`).
    pub fn hash(&self, mode: CryptoMode) -> Hash32 {
        let mut b = Vec::with_capacity(128 + self.input.len() + self.abi.len());
        b.extend_from_slice(&self.version.to_be_bytes());
        b.extend_from_slice(self.chain_id.as_bytes());
        b.extend_from_slice(self.group_id.as_bytes());
        b.extend_from_slice(&self.block_limit.to_be_bytes());
        b.extend_from_slice(self.nonce.as_bytes());
        b.extend_from_slice(self.to.as_bytes());
        b.extend_from_slice(&self.input);
        b.extend_from_slice(self.abi.as_bytes());
        if self.version >= TX_V1 {
            b.extend_from_slice(self.value.as_bytes());
            b.extend_from_slice(self.gas_price.as_bytes());
            b.extend_from_slice(&self.gas_limit.to_be_bytes());
            b.extend_from_slice(self.max_fee_per_gas.as_bytes());
            b.extend_from_slice(self.max_priority_fee_per_gas.as_bytes());
        }
        if self.version >= TX_V2 {
            b.extend_from_slice(&self.extension);
        }
        mode.hash(&b)
    }

    fn write(&self, w: &mut Writer) {
        w.int(1, i64::from(self.version));
        w.string(2, self.chain_id.as_bytes());
        w.string(3, self.group_id.as_bytes());
        w.int(4, self.block_limit);
        w.string(5, self.nonce.as_bytes());
        if !self.to.is_empty() {
            w.string(6, self.to.as_bytes());
        }
        w.bytes(7, &self.input);
        if !self.abi.is_empty() {
            w.string(8, self.abi.as_bytes());
        }
        if self.version >= TX_V1 {
            w.string(9, self.value.as_bytes());
            w.string(10, self.gas_price.as_bytes());
            w.int(11, self.gas_limit);
            w.string(12, self.max_fee_per_gas.as_bytes());
            w.string(13, self.max_priority_fee_per_gas.as_bytes());
        }
        if self.version >= TX_V2 {
            w.bytes(14, &self.extension);
        }
    }

    fn read(f: &Fields<'_>) -> Result<Self, FiscoError> {
        let version = i32::try_from(f.int(1)?).map_err(|_| FiscoError::Tars {
            what: "TransactionData",
            reason: "version does not fit 32 bits".into(),
        })?;
        Ok(TransactionData {
            version,
            chain_id: f.string(2)?,
            group_id: f.string(3)?,
            block_limit: f.int(4)?,
            nonce: f.string(5)?,
            to: f.string(6)?,
            input: f.bytes(7)?,
            abi: f.string(8)?,
            value: f.string(9)?,
            gas_price: f.string(10)?,
            gas_limit: f.int(11)?,
            max_fee_per_gas: f.string(12)?,
            max_priority_fee_per_gas: f.string(13)?,
            extension: f.bytes(14)?,
        })
    }
}

/// A signed transaction as `sendTransaction` carries it (TARS `Transaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The signed fields.
    pub data: TransactionData,
    /// The hash the sender claims (recomputed by [`Transaction::verify`]).
    pub data_hash: Vec<u8>,
    /// ECDSA r ‖ s ‖ v or SM2 r ‖ s ‖ public key.
    pub signature: Vec<u8>,
    /// Set by the node; 0 from clients.
    pub import_time: i64,
    /// Flags (EVM_ABI_CODEC 0x1, …).
    pub attribute: i32,
    /// Set by the node; empty from clients.
    pub sender: Vec<u8>,
    /// Free text, not signed.
    pub extra_data: String,
}

/// What [`Transaction::verify`] establishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedTransaction {
    /// The transaction hash.
    pub hash: Hash32,
    /// The key that signed it.
    pub signer: NodeKey,
    /// The sender's address.
    pub sender: [u8; 20],
}

impl Transaction {
    /// A transaction signed by `secret` (its hash computed here).
    pub fn sign(
        data: TransactionData,
        secret: &super::NodeSecret,
        rng: &mut impl ::sm2::elliptic_curve::rand_core::CryptoRngCore,
    ) -> Result<Self, FiscoError> {
        let hash = data.hash(secret.mode());
        let signature = secret.sign(&hash, rng)?;
        Ok(Transaction {
            data,
            data_hash: hash.0.to_vec(),
            signature,
            import_time: 0,
            attribute: 0,
            sender: Vec::new(),
            extra_data: String::new(),
        })
    }

    /// Decodes the TARS bytes of a signed transaction (the hex of `sendTransaction`).
    ///
    /// Fails with [`FiscoError::Tars`] if the bytes are not a transaction.
    pub fn decode(bytes: &[u8]) -> Result<Self, FiscoError> {
        let fields = decode_fields("Transaction", bytes)?;
        let f = Fields {
            what: "Transaction",
            fields: &fields,
        };
        let data = TransactionData::read(&f.nested(1, "TransactionData")?)?;
        Ok(Transaction {
            data,
            data_hash: f.bytes(2)?,
            signature: f.bytes(3)?,
            import_time: f.int(4)?,
            attribute: i32::try_from(f.int(5)?).unwrap_or(0),
            sender: f.bytes(7)?,
            extra_data: f.string(8)?,
        })
    }

    /// The TARS bytes (the form `sendTransaction` takes as hex).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.struct_begin(1);
        self.data.write(&mut w);
        w.struct_end();
        w.bytes(2, &self.data_hash);
        w.bytes(3, &self.signature);
        if self.import_time != 0 {
            w.int(4, self.import_time);
        }
        if self.attribute != 0 {
            w.int(5, i64::from(self.attribute));
        }
        if !self.sender.is_empty() {
            w.bytes(7, &self.sender);
        }
        if !self.extra_data.is_empty() {
            w.string(8, self.extra_data.as_bytes());
        }
        w.into_bytes()
    }

    /// Recomputes the hash, refuses a `dataHash` that differs, and checks the signature in
    /// the chain's `mode` (as a node does before admitting a transaction).
    ///
    /// Fails with [`FiscoError::Mismatch`], [`FiscoError::SignatureForm`] (a signature of the
    /// other mode) or [`FiscoError::BadSignature`].
    pub fn verify(&self, mode: CryptoMode) -> Result<VerifiedTransaction, FiscoError> {
        let hash = self.data.hash(mode);
        if !self.data_hash.is_empty() && self.data_hash != hash.0 {
            return Err(FiscoError::Mismatch {
                what: "transaction dataHash",
                expected: hash.to_hex(),
                found: format!("0x{}", hex::encode(&self.data_hash)),
            });
        }
        let signer = mode.signer(&hash, &self.signature, -1, 0)?;
        Ok(VerifiedTransaction {
            hash,
            signer,
            sender: signer.address(),
        })
    }
}

/// One log of a receipt (TARS `LogEntry`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogEntry {
    /// The emitting contract as the node stores (and hashes) it: 40 lowercase hex digits.
    pub address: String,
    /// The topics (32 bytes each on an EVM chain).
    pub topics: Vec<Vec<u8>>,
    /// The data.
    pub data: Vec<u8>,
}

/// A transaction receipt's hashed fields (TARS `TransactionReceiptData`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Receipt version; ≥ 1 hashes the effective gas price.
    pub version: i32,
    /// Gas used, decimal text.
    pub gas_used: String,
    /// The deployed contract's address for deployments (stored form, no `0x`), else empty.
    pub contract_address: String,
    /// 0 on success.
    pub status: i32,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// Version ≥ 1: effective gas price, decimal text.
    pub effective_gas_price: String,
    /// The logs in emission order.
    pub logs: Vec<LogEntry>,
    /// The block that holds the receipt.
    pub block_number: i64,
}

/// Whether `s` is an EVM address as FISCO BCOS stores one: 40 lowercase hex digits.
fn is_address_text(digits: &str) -> bool {
    digits.len() == 40
        && digits
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Whether `s` is a canonical decimal (no sign, no leading zero except "0").
fn is_decimal_text(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

impl Receipt {
    /// The receipt hash, the leaf of the block's receipts root.
    pub fn hash(&self, mode: CryptoMode) -> Hash32 {
        let logs: usize = self
            .logs
            .iter()
            .map(|l| 42 + 32 * l.topics.len() + l.data.len())
            .sum();
        let mut b = Vec::with_capacity(64 + self.output.len() + logs);
        b.extend_from_slice(&self.version.to_be_bytes());
        b.extend_from_slice(self.gas_used.as_bytes());
        b.extend_from_slice(self.contract_address.as_bytes());
        b.extend_from_slice(&self.status.to_be_bytes());
        b.extend_from_slice(&self.output);
        if self.version >= TX_V1 {
            b.extend_from_slice(self.effective_gas_price.as_bytes());
        }
        for log in &self.logs {
            b.extend_from_slice(log.address.as_bytes());
            for topic in &log.topics {
                b.extend_from_slice(topic);
            }
            b.extend_from_slice(&log.data);
        }
        b.extend_from_slice(&self.block_number.to_be_bytes());
        mode.hash(&b)
    }

    /// Refuses field forms FISCO BCOS's EVM never produces: gas as non-canonical decimal, a
    /// contract or log address that is not 40 lowercase hex digits, a topic that is not 32
    /// bytes, more than 4 topics, or (version 0) an effective gas price. Each of these would
    /// let a forger move bytes across field boundaries without changing the hash.
    pub fn check_form(&self) -> Result<(), FiscoError> {
        let bad = |field: String, reason: &str| FiscoError::Malformed {
            field,
            reason: reason.to_owned(),
        };
        if !is_decimal_text(&self.gas_used) {
            return Err(bad("gasUsed".into(), "canonical decimal text"));
        }
        if !self.contract_address.is_empty() && !is_address_text(&self.contract_address) {
            return Err(bad(
                "contractAddress".into(),
                "empty or 40 lowercase hex digits",
            ));
        }
        if self.version >= TX_V1 {
            if !is_decimal_text(&self.effective_gas_price) {
                return Err(bad("effectiveGasPrice".into(), "canonical decimal text"));
            }
        } else if !self.effective_gas_price.is_empty() {
            return Err(bad(
                "effectiveGasPrice".into(),
                "absent in a version 0 receipt",
            ));
        }
        for (i, log) in self.logs.iter().enumerate() {
            if !is_address_text(&log.address) {
                return Err(bad(
                    format!("logEntries[{i}].address"),
                    "40 lowercase hex digits",
                ));
            }
            if log.topics.len() > 4 {
                return Err(bad(
                    format!("logEntries[{i}].topics"),
                    "at most 4 topics (LOG0..LOG4)",
                ));
            }
            if let Some(t) = log.topics.iter().position(|t| t.len() != 32) {
                return Err(bad(format!("logEntries[{i}].topics[{t}]"), "32 bytes"));
            }
        }
        Ok(())
    }
}

/// A parent reference of a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentInfo {
    /// The parent's number.
    pub number: i64,
    /// The parent's hash.
    pub hash: Hash32,
}

/// One sealer's signature in a header's `signatureList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealerSignature {
    /// Index into the header's sealer list (not signed: information only).
    pub sealer_index: i64,
    /// The signature over the header hash.
    pub signature: Vec<u8>,
}

/// A block header's hashed fields (TARS `BlockHeaderData`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// Header version, e.g. 0x03030000 for 3.3.0.
    pub version: i32,
    /// Parents (usually one).
    pub parents: Vec<ParentInfo>,
    /// Merkle root of the transaction hashes.
    pub txs_root: Hash32,
    /// Merkle root of the receipt hashes.
    pub receipts_root: Hash32,
    /// State root.
    pub state_root: Hash32,
    /// Block number.
    pub number: i64,
    /// Gas used, decimal text.
    pub gas_used: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Index of the proposer in the sealer list.
    pub sealer: i64,
    /// The sealers' 64-byte node ids.
    pub sealer_list: Vec<Vec<u8>>,
    /// Extra data.
    pub extra_data: Vec<u8>,
    /// Consensus weights, one per sealer.
    pub consensus_weights: Vec<i64>,
}

impl Header {
    /// The block hash.
    pub fn hash(&self, mode: CryptoMode) -> Hash32 {
        let mut b = Vec::with_capacity(256 + 64 * self.sealer_list.len());
        b.extend_from_slice(&self.version.to_be_bytes());
        for parent in &self.parents {
            b.extend_from_slice(&parent.number.to_be_bytes());
            b.extend_from_slice(&parent.hash.0);
        }
        b.extend_from_slice(&self.txs_root.0);
        b.extend_from_slice(&self.receipts_root.0);
        b.extend_from_slice(&self.state_root.0);
        b.extend_from_slice(&self.number.to_be_bytes());
        b.extend_from_slice(self.gas_used.as_bytes());
        b.extend_from_slice(&self.timestamp.to_be_bytes());
        b.extend_from_slice(&self.sealer.to_be_bytes());
        for id in &self.sealer_list {
            b.extend_from_slice(id);
        }
        b.extend_from_slice(&self.extra_data);
        for w in &self.consensus_weights {
            b.extend_from_slice(&w.to_be_bytes());
        }
        mode.hash(&b)
    }
}
