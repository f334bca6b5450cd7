//! The test node's ledger: transactions admitted only with a valid signature in the chain's
//! crypto mode, executed in order by an anvil node (the execution engine: the same Solidity
//! artifacts, Ethereum's precompiles, as FISCO BCOS's EVM offers them; see `docs/fisco.md`),
//! and FISCO BCOS blocks built from what anvil executed: receipts in FISCO BCOS's form, roots
//! and proofs by `causeway_proofs::fisco`, sealed by four sealers.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use alloy::providers::{DynProvider, Provider};
use causeway_proofs::Hash32;
use causeway_proofs::fisco::json::{BlockJson, ReceiptJson, TransactionJson, to_hex};
use causeway_proofs::fisco::{
    BlockParams, CryptoMode, LogEntry, NodeSecret, ParentInfo, Receipt, SealedBlock, Transaction,
    VerifiedTransaction,
};
use rand_core::OsRng;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

/// How far ahead of the head a transaction's `blockLimit` may reach (FISCO BCOS's default).
pub const BLOCK_LIMIT_RANGE: i64 = 1000;

/// Most transactions sealed into one block.
pub const MAX_BLOCK_TXS: usize = 1000;

/// Gas each transaction may use on the execution engine.
const TX_GAS: u64 = 15_000_000;

/// A JSON-RPC error as FISCO BCOS reports it (code and message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// FISCO BCOS's code (e.g. 10008 InvalidSignature).
    pub code: i64,
    /// The message.
    pub message: String,
}

impl RpcError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }
}

/// A sealed block and what the RPC serves from it.
pub(crate) struct StoredBlock {
    pub(crate) sealed: SealedBlock,
    pub(crate) txs: Vec<TransactionJson>,
}

/// Faults a test can switch on.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// How many sealers sign new blocks (`None`: all).
    pub(crate) signing: Mutex<Option<usize>>,
    /// Serve receipt proofs that do not reach the receipts root.
    pub(crate) forge_receipt_proofs: AtomicBool,
}

pub(crate) struct Pending {
    pub(crate) tx: Transaction,
    pub(crate) verified: VerifiedTransaction,
    pub(crate) reply: oneshot::Sender<Result<ReceiptJson, RpcError>>,
}

/// The ledger shared by the RPC handlers and the sealer task.
pub(crate) struct Ledger {
    pub(crate) mode: CryptoMode,
    pub(crate) chain_id: String,
    pub(crate) group: String,
    pub(crate) sealers: Vec<NodeSecret>,
    pub(crate) blocks: Mutex<Vec<StoredBlock>>,
    /// Transaction hash → (block number, index).
    pub(crate) index: Mutex<HashMap<Hash32, (usize, usize)>>,
    /// Hashes admitted but not sealed, and every nonce seen (FISCO BCOS refuses repeats).
    pub(crate) pending_hashes: Mutex<HashSet<Hash32>>,
    pub(crate) nonces: Mutex<HashSet<String>>,
    pub(crate) faults: Faults,
    pub(crate) sealed_txs: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A handler that panicked mid-update leaves data a test node can still serve.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Ledger {
    pub(crate) fn new(
        mode: CryptoMode,
        chain_id: String,
        group: String,
        sealers: Vec<NodeSecret>,
    ) -> Result<Self, RpcError> {
        let genesis = SealedBlock::build(
            mode,
            &BlockParams {
                number: 0,
                parent: None,
                timestamp: 0,
                state_root: Hash32::ZERO,
            },
            Vec::new(),
            Vec::new(),
            &sealers,
            sealers.len(),
            &mut OsRng,
        )
        .map_err(|e| RpcError::new(-1, e.to_string()))?;
        Ok(Ledger {
            mode,
            chain_id,
            group,
            sealers,
            blocks: Mutex::new(vec![StoredBlock {
                sealed: genesis,
                txs: Vec::new(),
            }]),
            index: Mutex::new(HashMap::new()),
            pending_hashes: Mutex::new(HashSet::new()),
            nonces: Mutex::new(HashSet::new()),
            faults: Faults::default(),
            sealed_txs: AtomicUsize::new(0),
        })
    }

    /// The head's number.
    pub(crate) fn head(&self) -> i64 {
        i64::try_from(lock(&self.blocks).len()).unwrap_or(i64::MAX) - 1
    }

    /// Admission (as a FISCO BCOS transaction pool): chain and group, block limit, signature
    /// in the chain's mode, no repeated nonce or hash.
    pub(crate) fn admit(&self, tx: &Transaction) -> Result<VerifiedTransaction, RpcError> {
        if tx.data.chain_id != self.chain_id {
            return Err(RpcError::new(10006, "InvalidChainId"));
        }
        if tx.data.group_id != self.group {
            return Err(RpcError::new(10007, "InvalidGroupId"));
        }
        let head = self.head();
        if tx.data.block_limit <= head || tx.data.block_limit > head + BLOCK_LIMIT_RANGE {
            return Err(RpcError::new(10001, "BlockLimitCheckFail"));
        }
        let verified = tx
            .verify(self.mode)
            .map_err(|e| RpcError::new(10008, format!("InvalidSignature: {e}")))?;
        if lock(&self.index).contains_key(&verified.hash) {
            return Err(RpcError::new(10005, "TxAlreadyInChain"));
        }
        if !lock(&self.pending_hashes).insert(verified.hash) {
            return Err(RpcError::new(10004, "AlreadyInTxPool"));
        }
        if !lock(&self.nonces).insert(tx.data.nonce.clone()) {
            lock(&self.pending_hashes).remove(&verified.hash);
            return Err(RpcError::new(10000, "NonceCheckFail"));
        }
        Ok(verified)
    }

    /// The block JSON of `number`, or `None`.
    pub(crate) fn block_json(
        &self,
        number: i64,
        only_header: bool,
        only_hash: bool,
    ) -> Option<BlockJson> {
        let blocks = lock(&self.blocks);
        let stored = usize::try_from(number).ok().and_then(|n| blocks.get(n))?;
        let sealed = &stored.sealed;
        let mut json = BlockJson::from_header(&sealed.header, &sealed.signatures, self.mode);
        if !only_header {
            json.transactions = if only_hash {
                sealed
                    .tx_hashes
                    .iter()
                    .map(|h| Value::String(h.to_hex()))
                    .collect()
            } else {
                stored
                    .txs
                    .iter()
                    .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
                    .collect()
            };
        }
        Some(json)
    }

    /// The number of the block with hash `hash`, or `None`.
    pub(crate) fn number_of(&self, hash: &Hash32) -> Option<i64> {
        let blocks = lock(&self.blocks);
        blocks
            .iter()
            .position(|b| b.sealed.hash() == *hash)
            .and_then(|n| i64::try_from(n).ok())
    }

    /// The receipt JSON of transaction `hash` (with its proof when asked), or `None`.
    pub(crate) fn receipt_json(&self, hash: &Hash32, with_proof: bool) -> Option<ReceiptJson> {
        let (number, index) = *lock(&self.index).get(hash)?;
        let blocks = lock(&self.blocks);
        let stored = blocks.get(number)?;
        let sealed = &stored.sealed;
        let mut proof = with_proof.then(|| sealed.receipt_proof(index)).flatten();
        if self.faults.forge_receipt_proofs.load(Ordering::Relaxed)
            && let Some(p) = proof.as_mut()
        {
            if p.len() == 1 {
                // A one-receipt block's proof is the root alone: forge a level above the leaf.
                let leaf = sealed.receipts[index].hash(self.mode);
                let mut count = [0u8; 32];
                count[3] = 2;
                *p = vec![Hash32(count), leaf, Hash32([0xee; 32])];
            } else if let Some(last) = p.last_mut() {
                last.0[31] ^= 1;
            }
        }
        let mut json =
            ReceiptJson::from_receipt(&sealed.receipts[index], hash, self.mode, proof.as_deref());
        let tx = stored.txs.get(index)?;
        json.from = tx.from.clone();
        json.to = tx.to.clone();
        Some(json)
    }

    /// The transaction JSON of `hash` (with its proof when asked), or `None`.
    pub(crate) fn transaction_json(
        &self,
        hash: &Hash32,
        with_proof: bool,
    ) -> Option<TransactionJson> {
        let (number, index) = *lock(&self.index).get(hash)?;
        let blocks = lock(&self.blocks);
        let stored = blocks.get(number)?;
        let mut json = stored.txs.get(index)?.clone();
        if with_proof {
            json.tx_proof = stored
                .sealed
                .transaction_proof(index)
                .unwrap_or_default()
                .iter()
                .map(|h| hex::encode(h.0))
                .collect();
        }
        Some(json)
    }
}

fn tx_json(tx: &Transaction, verified: &VerifiedTransaction) -> TransactionJson {
    TransactionJson {
        version: i64::from(tx.data.version),
        hash: verified.hash.to_hex(),
        nonce: tx.data.nonce.clone(),
        block_limit: tx.data.block_limit,
        to: tx.data.to.clone(),
        from: to_hex(&verified.sender),
        input: to_hex(&tx.data.input),
        chain_id: tx.data.chain_id.clone(),
        group_id: tx.data.group_id.clone(),
        abi: tx.data.abi.clone(),
        signature: to_hex(&tx.signature),
        import_time: 0,
        extra_data: tx.extra_data.clone(),
        tx_proof: Vec::new(),
    }
}

/// Runs the sealer: takes admitted transactions in arrival order (up to [`MAX_BLOCK_TXS`] per
/// block), executes them on `engine` in one anvil block, and seals the FISCO BCOS block.
pub(crate) async fn seal_loop(
    ledger: std::sync::Arc<Ledger>,
    engine: DynProvider,
    mut rx: mpsc::Receiver<Pending>,
) {
    let mut funded: HashSet<[u8; 20]> = HashSet::new();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BLOCK_TXS {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let outcome = seal_batch(&ledger, &engine, &mut funded, &batch).await;
        for (pending, result) in batch.into_iter().zip(outcome) {
            lock(&ledger.pending_hashes).remove(&pending.verified.hash);
            // The caller may have gone; the transaction is sealed all the same.
            let _ = pending.reply.send(result);
        }
    }
}

async fn raw(engine: &DynProvider, method: &'static str, params: Value) -> Result<Value, RpcError> {
    engine
        .raw_request::<Value, Value>(method.into(), params)
        .await
        .map_err(|e| RpcError::new(-1, format!("execution engine {method}: {e}")))
}

async fn seal_batch(
    ledger: &Ledger,
    engine: &DynProvider,
    funded: &mut HashSet<[u8; 20]>,
    batch: &[Pending],
) -> Vec<Result<ReceiptJson, RpcError>> {
    match execute(ledger, engine, funded, batch).await {
        Ok(receipts) => receipts,
        Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
    }
}

async fn execute(
    ledger: &Ledger,
    engine: &DynProvider,
    funded: &mut HashSet<[u8; 20]>,
    batch: &[Pending],
) -> Result<Vec<Result<ReceiptJson, RpcError>>, RpcError> {
    let mut evm_hashes = Vec::with_capacity(batch.len());
    for p in batch {
        let sender = p.verified.sender;
        if funded.insert(sender) {
            raw(
                engine,
                "anvil_setBalance",
                json!([to_hex(&sender), "0xffffffffffffffffffffffffffffffff"]),
            )
            .await?;
        }
        let mut call = json!({
            "from": to_hex(&sender),
            "data": to_hex(&p.tx.data.input),
            "gas": format!("{TX_GAS:#x}"),
        });
        if !p.tx.data.to.is_empty() {
            call["to"] = json!(format!("0x{}", p.tx.data.to.trim_start_matches("0x")));
        }
        let hash = raw(engine, "eth_sendTransaction", json!([call])).await?;
        evm_hashes.push(hash);
    }
    raw(engine, "evm_mine", json!([])).await?;

    let number = ledger.head() + 1;
    let mut receipts = Vec::with_capacity(batch.len());
    let mut evm_block_hash = Hash32::ZERO;
    for hash in &evm_hashes {
        let r = raw(engine, "eth_getTransactionReceipt", json!([hash])).await?;
        if let Some(bh) = r["blockHash"].as_str() {
            let bytes = hex::decode(bh.trim_start_matches("0x")).unwrap_or_default();
            if let Ok(b) = <[u8; 32]>::try_from(bytes.as_slice()) {
                evm_block_hash = Hash32(b);
            }
        }
        receipts.push(fisco_receipt(&r, number)?);
    }
    let tx_hashes: Vec<Hash32> = batch.iter().map(|p| p.verified.hash).collect();
    let txs: Vec<TransactionJson> = batch.iter().map(|p| tx_json(&p.tx, &p.verified)).collect();
    let parent = {
        let blocks = lock(&ledger.blocks);
        blocks.last().map(|b| ParentInfo {
            number: b.sealed.header.number,
            hash: b.sealed.hash(),
        })
    };
    let signing = lock(&ledger.faults.signing).unwrap_or(ledger.sealers.len());
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let sealed = SealedBlock::build(
        ledger.mode,
        &BlockParams {
            number,
            parent,
            timestamp,
            // The engine's block hash stands for the state it reached.
            state_root: evm_block_hash,
        },
        tx_hashes.clone(),
        receipts,
        &ledger.sealers,
        signing,
        &mut OsRng,
    )
    .map_err(|e| RpcError::new(-1, e.to_string()))?;
    {
        let mut blocks = lock(&ledger.blocks);
        let mut index = lock(&ledger.index);
        let at = blocks.len();
        for (i, h) in tx_hashes.iter().enumerate() {
            index.insert(*h, (at, i));
        }
        blocks.push(StoredBlock { sealed, txs });
    }
    ledger.sealed_txs.fetch_add(batch.len(), Ordering::Relaxed);
    Ok(tx_hashes
        .iter()
        .map(|h| {
            ledger
                .receipt_json(h, false)
                .ok_or_else(|| RpcError::new(-1, "sealed receipt not found"))
        })
        .collect())
}

/// FISCO BCOS's receipt for what the engine executed: status 0 or 16 (RevertInstruction),
/// gas, the deployed address, and the logs, with addresses in the node's stored form.
fn fisco_receipt(r: &Value, number: i64) -> Result<Receipt, RpcError> {
    let bad = |what: &str| RpcError::new(-1, format!("execution engine receipt lacks {what}"));
    let hex_u64 = |v: &Value, what: &str| {
        v.as_str()
            .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| bad(what))
    };
    let status = hex_u64(&r["status"], "status")?;
    let gas = hex_u64(&r["gasUsed"], "gasUsed")?;
    let stored = |v: &Value| {
        v.as_str()
            .map(|s| s.trim_start_matches("0x").to_lowercase())
    };
    let mut logs = Vec::new();
    if let Some(entries) = r["logs"].as_array() {
        for l in entries {
            let topics = l["topics"]
                .as_array()
                .map(|ts| {
                    ts.iter()
                        .filter_map(|t| t.as_str())
                        .map(|t| hex::decode(t.trim_start_matches("0x")).unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            logs.push(LogEntry {
                address: stored(&l["address"]).ok_or_else(|| bad("log address"))?,
                topics,
                data: l["data"]
                    .as_str()
                    .map(|d| hex::decode(d.trim_start_matches("0x")).unwrap_or_default())
                    .unwrap_or_default(),
            });
        }
    }
    Ok(Receipt {
        version: 0,
        gas_used: gas.to_string(),
        contract_address: stored(&r["contractAddress"]).unwrap_or_default(),
        status: if status == 1 { 0 } else { 16 },
        output: Vec::new(),
        effective_gas_price: String::new(),
        logs,
        block_number: number,
    })
}
