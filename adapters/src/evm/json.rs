//! The node's JSON for blocks, receipts and logs, read into lean typed structs straight from the
//! response text.
//!
//! Why not alloy's RPC types: `alloy::rpc::types::{Block, Transaction, TransactionReceipt, Log}`
//! flatten their consensus parts (`#[serde(flatten)]`, internally tagged and untagged enums), so
//! serde buffers every transaction, receipt and log through its private `Content` tree before it
//! builds the value: ~10 % of a catching-up relayer's CPU in a `perf` profile (BENCHMARKS.md,
//! issue 11). The structs here name only the fields the proofs need, without flattening; what is
//! consensus-critical stays alloy's: the header is alloy's own [`Header`] (its `Deserialize`,
//! its RLP), transactions and receipts are rebuilt as alloy's consensus types and encoded by
//! alloy (EIP-2718). Nothing read here is trusted: [`super::proof::BlockProofs::new`] checks the
//! header against the block hash and the encodings against the header's transactions and
//! receipts roots, as it did with alloy's RPC types; a field read wrongly here can only make a
//! block refused, never a forged one accepted. The `json_differs_from_alloy_in_nothing` test
//! (adapters' `it` suite, on anvil) holds these readings to alloy's RPC types, transaction type by
//! transaction type.

use alloy::consensus::{
    Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Signed, TxEip1559, TxEip2930,
    TxEip4844, TxEip7702, TxLegacy, transaction::from_eip155_value,
};
use alloy::eips::eip2930::AccessList;
use alloy::eips::eip7702::SignedAuthorization;
use alloy::primitives::{Address, B256, Bloom, Bytes, LogData, Signature, TxKind, U256};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A block with its full transactions, as the proofs need it: its hash, alloy's header and each
/// transaction's EIP-2718 encoding, in block order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FullBlock {
    /// The hash the node gives for the block (checked against the header by the proofs).
    pub(crate) hash: B256,
    /// The header.
    pub(crate) header: Header,
    /// Each transaction's EIP-2718 encoding (the transactions trie's values).
    pub(crate) transactions: Vec<Vec<u8>>,
}

/// One receipt of a block, as the proofs need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BlockReceipt {
    /// The receipt's transaction index, as the node gives it.
    pub(crate) transaction_index: Option<u64>,
    /// The receipt's block hash, as the node gives it.
    pub(crate) block_hash: Option<B256>,
    /// How many logs the receipt holds.
    pub(crate) log_count: usize,
    /// The receipt's EIP-2718 encoding (the receipts trie's value).
    pub(crate) encoded: Vec<u8>,
}

#[derive(Deserialize)]
struct BlockFields {
    hash: B256,
    transactions: Vec<TxFields>,
}

/// Every field of a signed transaction of types 0-4 in the node's JSON (the union: each type
/// reads its own).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TxFields {
    /// The node's hash of the transaction: carried, not used (the encoding is checked against
    /// the header's transactions root).
    hash: B256,
    #[serde(rename = "type", default, with = "alloy::serde::quantity::opt")]
    ty: Option<u8>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    chain_id: Option<u64>,
    #[serde(with = "alloy::serde::quantity")]
    nonce: u64,
    #[serde(rename = "gas", alias = "gasLimit", with = "alloy::serde::quantity")]
    gas_limit: u64,
    /// A quantity up to 256 bits, saturated to 128 as alloy does for legacy transactions.
    #[serde(default)]
    gas_price: Option<U256>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    max_fee_per_gas: Option<u128>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    max_priority_fee_per_gas: Option<u128>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    max_fee_per_blob_gas: Option<u128>,
    #[serde(default)]
    to: Option<Address>,
    value: U256,
    #[serde(alias = "data")]
    input: Bytes,
    #[serde(default)]
    access_list: Option<AccessList>,
    #[serde(default)]
    blob_versioned_hashes: Option<Vec<B256>>,
    #[serde(default)]
    authorization_list: Option<Vec<SignedAuthorization>>,
    r: U256,
    s: U256,
    #[serde(default)]
    v: Option<U256>,
    #[serde(default)]
    y_parity: Option<U256>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptFields {
    #[serde(rename = "type", default, with = "alloy::serde::quantity::opt")]
    ty: Option<u8>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    status: Option<bool>,
    #[serde(default)]
    root: Option<B256>,
    #[serde(with = "alloy::serde::quantity")]
    cumulative_gas_used: u64,
    logs_bloom: Bloom,
    logs: Vec<LogFields>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    transaction_index: Option<u64>,
    #[serde(default)]
    block_hash: Option<B256>,
}

/// A log of a receipt or of `eth_getLogs`: its consensus part and where it was mined.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogFields {
    address: Address,
    topics: Vec<B256>,
    data: Bytes,
    #[serde(default)]
    block_hash: Option<B256>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    block_number: Option<u64>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    block_timestamp: Option<u64>,
    #[serde(default)]
    transaction_hash: Option<B256>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    transaction_index: Option<u64>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    log_index: Option<u64>,
    #[serde(default)]
    removed: bool,
}

impl LogFields {
    fn consensus(self) -> alloy::primitives::Log {
        alloy::primitives::Log {
            address: self.address,
            data: LogData::new_unchecked(self.topics, self.data),
        }
    }
}

/// An answer of `eth_getBlockByNumber` / `eth_getBlockByHash` with full transactions (`None`
/// for `null`), read from the response text without a copy. A body this cannot read is alloy's
/// `DeserError`, as it was with alloy's types (the node's failure: the next node, a retry).
#[derive(Debug)]
pub(crate) struct FullBlockAnswer(pub(crate) Option<FullBlock>);

/// An answer of `eth_getBlockReceipts` (`None` for `null`).
#[derive(Debug)]
pub(crate) struct ReceiptsAnswer(pub(crate) Option<Vec<BlockReceipt>>);

/// An answer of `eth_getLogs`: alloy's RPC logs, built field by field.
#[derive(Debug)]
pub(crate) struct LogsAnswer(pub(crate) Vec<alloy::rpc::types::Log>);

impl<'de> Deserialize<'de> for FullBlockAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?;
        full_block(raw.get())
            .map(FullBlockAnswer)
            .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for ReceiptsAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let receipts = Option::<Vec<ReceiptFields>>::deserialize(d)?;
        receipts
            .map(|all| {
                all.into_iter()
                    .enumerate()
                    .map(|(i, r)| {
                        r.encode().map_err(|reason| {
                            serde::de::Error::custom(format!("receipt {i}: {reason}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .map(ReceiptsAnswer)
    }
}

impl<'de> Deserialize<'de> for LogsAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let logs = Vec::<LogFields>::deserialize(d)?;
        Ok(LogsAnswer(
            logs.into_iter()
                .map(|l| alloy::rpc::types::Log {
                    block_hash: l.block_hash,
                    block_number: l.block_number,
                    block_timestamp: l.block_timestamp,
                    transaction_hash: l.transaction_hash,
                    transaction_index: l.transaction_index,
                    log_index: l.log_index,
                    removed: l.removed,
                    inner: l.consensus(),
                })
                .collect(),
        ))
    }
}

/// What the destination reads of a delivery's receipt (`eth_getTransactionReceipt`): where it
/// was mined, whether it succeeded, its gas and its logs. A delivery of 128 messages logs ~130
/// events, each buffered through `Content` by alloy's `TransactionReceipt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeliveryReceipt {
    /// The block's height (`None` while pending, for nodes that answer so).
    pub(crate) block_number: Option<u64>,
    /// The block's hash.
    pub(crate) block_hash: Option<B256>,
    /// Whether the transaction succeeded (a pre-Byzantium receipt, with a state root instead,
    /// counts as succeeded, as alloy's `status()` has it).
    pub(crate) status: bool,
    /// Gas the transaction used.
    pub(crate) gas_used: u64,
    /// The price paid per gas.
    pub(crate) effective_gas_price: u128,
    /// The sender.
    pub(crate) from: Address,
    /// The logs, in order.
    pub(crate) logs: Vec<alloy::primitives::Log>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryReceiptFields {
    #[serde(default, with = "alloy::serde::quantity::opt")]
    block_number: Option<u64>,
    #[serde(default)]
    block_hash: Option<B256>,
    #[serde(default, with = "alloy::serde::quantity::opt")]
    status: Option<bool>,
    #[serde(default)]
    root: Option<B256>,
    #[serde(with = "alloy::serde::quantity")]
    gas_used: u64,
    #[serde(with = "alloy::serde::quantity")]
    effective_gas_price: u128,
    from: Address,
    logs: Vec<LogFields>,
}

/// An answer of `eth_getTransactionReceipt` (`None` for `null`).
#[derive(Debug)]
pub(crate) struct DeliveryReceiptAnswer(pub(crate) Option<DeliveryReceipt>);

impl<'de> Deserialize<'de> for DeliveryReceiptAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(r) = Option::<DeliveryReceiptFields>::deserialize(d)? else {
            return Ok(DeliveryReceiptAnswer(None));
        };
        let status = match (r.status, r.root) {
            (Some(ok), _) => ok,
            (None, Some(_)) => true,
            (None, None) => return Err(serde::de::Error::custom("neither status nor root")),
        };
        Ok(DeliveryReceiptAnswer(Some(DeliveryReceipt {
            block_number: r.block_number,
            block_hash: r.block_hash,
            status,
            gas_used: r.gas_used,
            effective_gas_price: r.effective_gas_price,
            from: r.from,
            logs: r.logs.into_iter().map(LogFields::consensus).collect(),
        })))
    }
}

/// A block with its full transactions from the node's JSON text (`None` for `null`).
pub(crate) fn full_block(text: &str) -> Result<Option<FullBlock>, serde_json::Error> {
    use serde::de::Error as _;
    let Some(fields) = serde_json::from_str::<Option<BlockFields>>(text)? else {
        return Ok(None);
    };
    // alloy's header, read by alloy's own `Deserialize` from the same object (the header's
    // fields are at its top level; the rest, transactions included, is skipped).
    let header: Header = serde_json::from_str(text)?;
    let transactions = fields
        .transactions
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.encode().map_err(|reason| {
                serde_json::Error::custom(format!(
                    "transaction {i} of block {}: {reason}",
                    fields.hash
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(FullBlock {
        hash: fields.hash,
        header,
        transactions,
    }))
}

impl TxFields {
    /// The signature of a typed transaction: `yParity`, else `v` (0/1, or 27/28 and EIP-155
    /// values, as alloy's `Signature` reads them).
    fn typed_signature(&self) -> Result<Signature, String> {
        let parity = match (self.y_parity, self.v) {
            (Some(y), _) if y == U256::ZERO => false,
            (Some(y), _) if y == U256::from(1) => true,
            (Some(y), _) => return Err(format!("yParity {y} is neither 0 nor 1")),
            (None, Some(v)) => u64::try_from(v)
                .ok()
                .and_then(alloy::primitives::normalize_v)
                .ok_or_else(|| format!("v {v} is no signature parity"))?,
            (None, None) => return Err("no yParity or v".into()),
        };
        Ok(Signature::new(self.r, self.s, parity))
    }

    fn access_list(&mut self) -> Result<AccessList, String> {
        self.access_list
            .take()
            .ok_or_else(|| "no accessList".to_owned())
    }

    fn chain_id(&self) -> Result<u64, String> {
        self.chain_id.ok_or_else(|| "no chainId".to_owned())
    }

    fn fees(&self) -> Result<(u128, u128), String> {
        match (self.max_fee_per_gas, self.max_priority_fee_per_gas) {
            (Some(max), Some(priority)) => Ok((max, priority)),
            _ => Err("no maxFeePerGas or maxPriorityFeePerGas".into()),
        }
    }

    fn gas_price(&self) -> Result<u128, String> {
        self.gas_price
            .map(|p| p.saturating_to())
            .ok_or_else(|| "no gasPrice".to_owned())
    }

    fn to_address(&self) -> Result<Address, String> {
        self.to
            .ok_or_else(|| "no `to` (this type cannot create)".to_owned())
    }

    /// The transaction's EIP-2718 encoding, by alloy's consensus types.
    fn encode(mut self) -> Result<Vec<u8>, String> {
        let to = self.to.map_or(TxKind::Create, TxKind::Call);
        let mut out = Vec::with_capacity(self.input.len() + 160);
        match self.ty.unwrap_or(0) {
            0 => {
                // As alloy's `signed_legacy_serde`: the chain id comes from `v` (EIP-155);
                // a `chainId` field, where a node sends one, must agree; v = r = s = 0 is a
                // system transaction of some L2s, without a signature.
                let v = self.v.ok_or("no v")?;
                let (signature, chain_id) =
                    if v == U256::ZERO && self.r == U256::ZERO && self.s == U256::ZERO {
                        (Signature::new(U256::ZERO, U256::ZERO, false), self.chain_id)
                    } else {
                        let (parity, chain_id) = u128::try_from(v)
                            .ok()
                            .and_then(from_eip155_value)
                            .ok_or_else(|| format!("v {v} is no EIP-155 value"))?;
                        if let (Some(field), Some(from_v)) = (self.chain_id, chain_id)
                            && field != from_v
                        {
                            return Err(format!("chainId {field} differs from v's {from_v}"));
                        }
                        (Signature::new(self.r, self.s, parity), chain_id)
                    };
                let tx = TxLegacy {
                    chain_id,
                    nonce: self.nonce,
                    gas_price: self.gas_price()?,
                    gas_limit: self.gas_limit,
                    to,
                    value: self.value,
                    input: self.input,
                };
                Signed::new_unchecked(tx, signature, self.hash).eip2718_encode(&mut out);
            }
            1 => {
                let signature = self.typed_signature()?;
                let tx = TxEip2930 {
                    chain_id: self.chain_id()?,
                    nonce: self.nonce,
                    gas_price: self.gas_price()?,
                    gas_limit: self.gas_limit,
                    to,
                    value: self.value,
                    access_list: self.access_list()?,
                    input: self.input,
                };
                Signed::new_unchecked(tx, signature, self.hash).eip2718_encode(&mut out);
            }
            2 => {
                let signature = self.typed_signature()?;
                let (max_fee_per_gas, max_priority_fee_per_gas) = self.fees()?;
                let tx = TxEip1559 {
                    chain_id: self.chain_id()?,
                    nonce: self.nonce,
                    gas_limit: self.gas_limit,
                    max_fee_per_gas,
                    max_priority_fee_per_gas,
                    to,
                    value: self.value,
                    access_list: self.access_list()?,
                    input: self.input,
                };
                Signed::new_unchecked(tx, signature, self.hash).eip2718_encode(&mut out);
            }
            3 => {
                let signature = self.typed_signature()?;
                let (max_fee_per_gas, max_priority_fee_per_gas) = self.fees()?;
                let tx = TxEip4844 {
                    chain_id: self.chain_id()?,
                    nonce: self.nonce,
                    gas_limit: self.gas_limit,
                    max_fee_per_gas,
                    max_priority_fee_per_gas,
                    to: self.to_address()?,
                    value: self.value,
                    access_list: self.access_list()?,
                    blob_versioned_hashes: self
                        .blob_versioned_hashes
                        .take()
                        .ok_or("no blobVersionedHashes")?,
                    max_fee_per_blob_gas: self.max_fee_per_blob_gas.ok_or("no maxFeePerBlobGas")?,
                    input: self.input,
                };
                Signed::new_unchecked(tx, signature, self.hash).eip2718_encode(&mut out);
            }
            4 => {
                let signature = self.typed_signature()?;
                let (max_fee_per_gas, max_priority_fee_per_gas) = self.fees()?;
                let tx = TxEip7702 {
                    chain_id: self.chain_id()?,
                    nonce: self.nonce,
                    gas_limit: self.gas_limit,
                    max_fee_per_gas,
                    max_priority_fee_per_gas,
                    to: self.to_address()?,
                    value: self.value,
                    access_list: self.access_list()?,
                    authorization_list: self
                        .authorization_list
                        .take()
                        .ok_or("no authorizationList")?,
                    input: self.input,
                };
                Signed::new_unchecked(tx, signature, self.hash).eip2718_encode(&mut out);
            }
            other => return Err(format!("transaction type {other} is not supported")),
        }
        Ok(out)
    }
}

impl ReceiptFields {
    /// The receipt's EIP-2718 encoding, by alloy's consensus types.
    fn encode(self) -> Result<BlockReceipt, String> {
        // As alloy's `Eip658Value`: `status` when present, else the pre-Byzantium state root.
        let status = match (self.status, self.root) {
            (Some(ok), _) => Eip658Value::Eip658(ok),
            (None, Some(root)) => Eip658Value::PostState(root),
            (None, None) => return Err("neither status nor root".into()),
        };
        let log_count = self.logs.len();
        let receipt = ReceiptWithBloom {
            receipt: Receipt {
                status,
                cumulative_gas_used: self.cumulative_gas_used,
                logs: self.logs.into_iter().map(LogFields::consensus).collect(),
            },
            logs_bloom: self.logs_bloom,
        };
        let envelope = match self.ty.unwrap_or(0) {
            0 => ReceiptEnvelope::Legacy(receipt),
            1 => ReceiptEnvelope::Eip2930(receipt),
            2 => ReceiptEnvelope::Eip1559(receipt),
            3 => ReceiptEnvelope::Eip4844(receipt),
            4 => ReceiptEnvelope::Eip7702(receipt),
            other => return Err(format!("receipt type {other} is not supported")),
        };
        use alloy::eips::eip2718::Encodable2718;
        Ok(BlockReceipt {
            transaction_index: self.transaction_index,
            block_hash: self.block_hash,
            log_count,
            encoded: envelope.encoded_2718(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    //! Differential tests: what this module reads from a real node (anvil) against alloy's RPC
    //! types for the same answers, over every transaction type anvil mines here.

    use alloy::eips::Typed2718;
    use alloy::eips::eip2718::Encodable2718;
    use alloy::eips::eip2930::AccessListItem;
    use alloy::eips::eip7702::Authorization;
    use alloy::eips::{BlockId, BlockNumberOrTag};
    use alloy::network::TransactionBuilder;
    use alloy::primitives::TxHash;
    use alloy::providers::Provider;
    use alloy::providers::ext::AnvilApi;
    use alloy::rpc::types::{Filter, TransactionRequest};
    use alloy::signers::SignerSync;
    use alloy::sol_types::SolCall;
    use causeway_devnet::anvil::Mining;
    use causeway_devnet::{CHAIN_A, DevChain};

    use super::*;
    use crate::evm::bindings::IOutbox;
    use crate::evm::proof::BlockProofs;

    /// Init code of a contract returning 42 (a creation: `to` is null).
    const INIT: &str = "0x600a600c600039600a6000f3602a60005260206000f3";

    /// One block holding a legacy (EIP-155) transfer, a legacy creation, an EIP-2930 and an
    /// EIP-1559 transaction with access lists, two Outbox dispatches (logs) and an EIP-7702
    /// transaction, each from its own dev account; returns the chain and the block's height.
    async fn mixed_block() -> (DevChain, u64, Vec<TxHash>) {
        let chain = DevChain::start_with(CHAIN_A, Mining::Manual).await.unwrap();
        let keys = chain.node.dev_keys();
        let from = |i: usize| keys[i].address();
        let item = AccessListItem {
            address: Address::repeat_byte(0x42),
            storage_keys: vec![B256::repeat_byte(7), B256::repeat_byte(8)],
        };
        let list = AccessList(vec![item]);
        let fee = 2_000_000_000u128;
        let outbox = *chain.outbox.address();
        let dispatch = |i: usize, body: &[u8]| {
            TransactionRequest::default()
                .from(from(i))
                .to(outbox)
                .input(
                    Bytes::from(
                        IOutbox::dispatchCall {
                            destination: 2,
                            recipient: B256::repeat_byte(9),
                            body: Bytes::copy_from_slice(body),
                        }
                        .abi_encode(),
                    )
                    .into(),
                )
                .gas_limit(500_000)
                .max_fee_per_gas(fee)
                .max_priority_fee_per_gas(1)
        };
        let authority = &keys[7];
        let auth = Authorization {
            chain_id: U256::from(CHAIN_A.chain_id),
            address: outbox,
            nonce: 0,
        };
        let signature = authority.sign_hash_sync(&auth.signature_hash()).unwrap();
        let mut delegation = TransactionRequest::default()
            .from(from(8))
            .to(authority.address())
            .gas_limit(100_000)
            .max_fee_per_gas(fee)
            .max_priority_fee_per_gas(1);
        delegation.authorization_list = Some(vec![auth.into_signed(signature)]);
        let requests = vec![
            TransactionRequest::default()
                .from(from(1))
                .to(from(9))
                .value(U256::from(12_345))
                .gas_limit(21_000)
                .with_gas_price(fee),
            TransactionRequest::default()
                .from(from(2))
                .with_deploy_code(INIT.parse::<Bytes>().unwrap())
                .gas_limit(200_000)
                .with_gas_price(fee),
            TransactionRequest::default()
                .from(from(3))
                .to(from(9))
                .value(U256::from(1))
                .gas_limit(60_000)
                .with_gas_price(fee)
                .access_list(list.clone()),
            TransactionRequest::default()
                .from(from(4))
                .to(from(9))
                .value(U256::from(2))
                .gas_limit(60_000)
                .max_fee_per_gas(fee)
                .max_priority_fee_per_gas(3)
                .access_list(list),
            dispatch(5, b"first"),
            dispatch(6, &[0xab; 700]),
            delegation,
        ];
        let mut hashes = Vec::new();
        for request in requests {
            let pending = chain.provider.send_transaction(request).await.unwrap();
            hashes.push(*pending.tx_hash());
        }
        chain.provider.anvil_mine(Some(1), None).await.unwrap();
        let receipt = chain
            .provider
            .get_transaction_receipt(hashes[0])
            .await
            .unwrap()
            .expect("mined");
        (chain, receipt.block_number.unwrap(), hashes)
    }

    #[tokio::test]
    async fn json_differs_from_alloy_in_nothing() {
        let (chain, height, hashes) = mixed_block().await;
        let p = &chain.provider;

        // The block: header, hash and every transaction's encoding as alloy's types give them.
        let ours = p
            .raw_request::<_, FullBlockAnswer>(
                "eth_getBlockByNumber".into(),
                (BlockNumberOrTag::Number(height), true),
            )
            .await
            .unwrap()
            .0
            .expect("a block");
        let theirs = p
            .get_block_by_number(BlockNumberOrTag::Number(height))
            .full()
            .await
            .unwrap()
            .expect("a block");
        let txs = theirs.transactions.as_transactions().unwrap();
        assert_eq!(txs.len(), hashes.len(), "every transaction in one block");
        let mut types: Vec<u8> = txs.iter().map(|t| t.inner.inner().ty()).collect();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types, [0, 1, 2, 4], "the block holds types 0, 1, 2 and 4");
        assert_eq!(ours.hash, theirs.header.hash);
        assert_eq!(ours.header, theirs.header.inner);
        let encoded: Vec<Vec<u8>> = txs.iter().map(|t| t.inner.inner().encoded_2718()).collect();
        assert_eq!(ours.transactions, encoded);

        // The receipts: the same encodings, log counts, indices and block hashes.
        let receipts = p
            .raw_request::<_, ReceiptsAnswer>(
                "eth_getBlockReceipts".into(),
                (BlockId::hash(ours.hash),),
            )
            .await
            .unwrap()
            .0
            .expect("receipts");
        let alloys = p
            .get_block_receipts(BlockId::hash(ours.hash))
            .await
            .unwrap()
            .expect("receipts");
        assert_eq!(receipts.len(), alloys.len());
        for (ours, theirs) in receipts.iter().zip(&alloys) {
            assert_eq!(ours.transaction_index, theirs.transaction_index);
            assert_eq!(ours.block_hash, theirs.block_hash);
            assert_eq!(ours.log_count, theirs.inner.logs().len());
            let encoded = theirs.inner.clone().map_logs(|l| l.inner).encoded_2718();
            assert_eq!(ours.encoded, encoded);
        }
        assert!(
            receipts.iter().any(|r| r.log_count > 0),
            "dispatches logged"
        );
        // Each transaction's receipt as the destination reads it.
        for (hash, theirs) in hashes.iter().zip(&alloys) {
            let ours = p
                .raw_request::<_, DeliveryReceiptAnswer>(
                    "eth_getTransactionReceipt".into(),
                    (hash,),
                )
                .await
                .unwrap()
                .0
                .expect("a receipt");
            assert_eq!(ours.block_number, theirs.block_number);
            assert_eq!(ours.block_hash, theirs.block_hash);
            assert_eq!(ours.status, theirs.status());
            assert_eq!(ours.gas_used, theirs.gas_used);
            assert_eq!(ours.effective_gas_price, theirs.effective_gas_price);
            assert_eq!(ours.from, theirs.from);
            let logs: Vec<_> = theirs
                .inner
                .logs()
                .iter()
                .map(|l| l.inner.clone())
                .collect();
            assert_eq!(ours.logs, logs);
        }
        let missing = p
            .raw_request::<_, DeliveryReceiptAnswer>(
                "eth_getTransactionReceipt".into(),
                (B256::repeat_byte(0xee),),
            )
            .await
            .unwrap();
        assert!(missing.0.is_none());
        // And they prove: the header hashes to the block hash, the tries to its roots.
        BlockProofs::new(&ours, &receipts).expect("the block's roots check");

        // The logs of `eth_getLogs`: equal to alloy's, field by field.
        let filter = Filter::new().from_block(height).to_block(height);
        let logs = p
            .raw_request::<_, LogsAnswer>("eth_getLogs".into(), (&filter,))
            .await
            .unwrap()
            .0;
        assert_eq!(logs, p.get_logs(&filter).await.unwrap());
        assert_eq!(logs.len(), 2, "one Dispatch log per dispatch");

        // A block altered in one transaction's field reads, but is refused by the roots check.
        let text: Box<RawValue> = p
            .raw_request(
                "eth_getBlockByNumber".into(),
                (BlockNumberOrTag::Number(height), true),
            )
            .await
            .unwrap();
        let altered = text
            .get()
            .replacen("\"value\":\"0x3039\"", "\"value\":\"0x303a\"", 1);
        assert_ne!(altered, text.get(), "the transfer's value is in the block");
        let forged = full_block(&altered).unwrap().unwrap();
        let refused = BlockProofs::new(&forged, &receipts).err().expect("refused");
        assert!(
            refused.to_string().contains("transactions of block"),
            "{refused}"
        );
        // A transaction type this reader does not know is an error naming it, not a guess.
        let unknown = text
            .get()
            .replacen("\"type\":\"0x2\"", "\"type\":\"0x7e\"", 1);
        let e = full_block(&unknown).unwrap_err().to_string();
        assert!(e.contains("transaction type 126 is not supported"), "{e}");
        // `null` (no such block) is `None`, as with alloy.
        let none = p
            .raw_request::<_, FullBlockAnswer>(
                "eth_getBlockByNumber".into(),
                (BlockNumberOrTag::Number(height + 1_000), true),
            )
            .await
            .unwrap();
        assert!(none.0.is_none());
    }
}
