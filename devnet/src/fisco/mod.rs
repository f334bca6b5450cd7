//! The FISCO BCOS test node: no FISCO BCOS node runs on these machines, so this one answers the
//! JSON-RPC methods the adapter uses with FISCO BCOS 3.x's shapes, admits transactions only with
//! a valid signature in the chain's crypto mode (ECDSA or SM2), executes them on an anvil node
//! (the Outbox/Inbox artifacts of the EVM chains), and builds blocks whose roots, proofs and
//! header hash follow FISCO BCOS's construction (`causeway_proofs::fisco`), sealed with real
//! signatures of four sealers.
//!
//! Fidelity gaps (by design; none is read by a verifier): receipts carry no return `output`, and
//! the header's `stateRoot` is the engine's block hash.

mod chain;
mod deploy;
mod forge;
mod rpc;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use causeway_proofs::fisco::json::ReceiptJson;
use causeway_proofs::fisco::{CryptoMode, NodeKey, NodeSecret, Transaction};
use rand_core::OsRng;
use tokio::sync::{mpsc, oneshot};

use crate::anvil::{AnvilConfig, AnvilNode, Mining};
use crate::{Error, Result};
pub use chain::{BLOCK_LIMIT_RANGE, MAX_BLOCK_TXS, RpcError};
use chain::{Ledger, Pending};
pub use deploy::FiscoContracts;
pub use forge::ForgedDispatch;

/// What test node to start.
#[derive(Debug, Clone)]
pub struct FiscoNodeConfig {
    /// The chain's crypto mode.
    pub mode: CryptoMode,
    /// The chain id (FISCO BCOS's default is `chain0`).
    pub chain_id: String,
    /// The group (default `group0`).
    pub group: String,
    /// Number of sealers (4: f = 1).
    pub sealers: usize,
    /// The group's `web3_chain_id` system configuration: what `block.chainid` returns in its
    /// EVM (the engine's chain id) and what `getSystemConfigByKey` serves. FISCO BCOS's
    /// default is 0, which Causeway cannot use (docs/fisco.md, "`block.chainid` on FISCO
    /// BCOS"); the test node models a group whose operators set it.
    pub engine_chain_id: u64,
}

impl FiscoNodeConfig {
    /// `chain0`/`group0` in `mode` with four sealers.
    pub fn new(mode: CryptoMode) -> Self {
        FiscoNodeConfig {
            mode,
            chain_id: "chain0".into(),
            group: "group0".into(),
            sealers: 4,
            // A group that set its `web3_chain_id` (FISCO BCOS's default 0 names no chain).
            engine_chain_id: 20200,
        }
    }
}

/// A running test node; dropping it stops the server and the engine.
pub struct FiscoNode {
    addr: SocketAddr,
    web3_chain_id: u64,
    ledger: Arc<Ledger>,
    pool: mpsc::Sender<Pending>,
    _engine: AnvilNode,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for FiscoNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiscoNode")
            .field("addr", &self.addr)
            .field("mode", &self.ledger.mode)
            .finish_non_exhaustive()
    }
}

fn node_error(context: &'static str, reason: impl ToString) -> Error {
    Error::Fisco {
        context,
        reason: reason.to_string(),
    }
}

impl FiscoNode {
    /// Starts the engine (anvil, mining only when a block is sealed) and the JSON-RPC server
    /// on a free loopback port.
    pub async fn start(config: FiscoNodeConfig) -> Result<Self> {
        let engine = AnvilNode::spawn(
            &AnvilConfig::new(config.engine_chain_id)
                .with_mining(Mining::Manual)
                .with_arg("--auto-impersonate")
                .with_arg("--gas-limit")
                .with_arg("1000000000000"),
        )
        .await?;
        let sealers = (0..config.sealers)
            .map(|_| NodeSecret::generate(config.mode, &mut OsRng))
            .collect();
        let ledger = Arc::new(
            Ledger::new(config.mode, config.chain_id, config.group, sealers)
                .map_err(|e| node_error("building genesis", e.message))?,
        );
        let (pool, rx) = mpsc::channel(4 * chain::MAX_BLOCK_TXS);
        tokio::spawn(chain::seal_loop(ledger.clone(), engine.read_provider(), rx));
        let state = rpc::NodeState {
            web3_chain_id: config.engine_chain_id,
            ledger: ledger.clone(),
            pool: pool.clone(),
            engine: engine.read_provider(),
        };
        let app = axum::Router::new()
            .route("/", axum::routing::post(rpc::handle))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| node_error("binding the RPC port", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| node_error("reading the RPC port", e))?;
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop.await;
            });
            if let Err(e) = serve.await {
                eprintln!("FISCO BCOS test node stopped: {e}");
            }
        });
        Ok(FiscoNode {
            addr,
            web3_chain_id: config.engine_chain_id,
            ledger,
            pool,
            _engine: engine,
            shutdown: Some(shutdown),
        })
    }

    /// The JSON-RPC endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The chain's crypto mode.
    pub fn mode(&self) -> CryptoMode {
        self.ledger.mode
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.ledger.chain_id
    }

    /// `block.chainid` in its EVM (the group's `web3_chain_id`): the chain id of its Inbox's
    /// signing domains.
    pub fn web3_chain_id(&self) -> u64 {
        self.web3_chain_id
    }

    /// The group.
    pub fn group(&self) -> &str {
        &self.ledger.group
    }

    /// The sealers' node ids (what an operator configures).
    pub fn sealer_keys(&self) -> Vec<NodeKey> {
        self.ledger
            .sealers
            .iter()
            .map(NodeSecret::public_key)
            .collect()
    }

    /// The head block number.
    pub fn block_number(&self) -> i64 {
        self.ledger.head()
    }

    /// Transactions sealed so far.
    pub fn sealed_transactions(&self) -> usize {
        self.ledger.sealed_txs.load(Ordering::Relaxed)
    }

    /// How many sealers sign blocks sealed from now on (`None`: all); fewer than the quorum
    /// makes blocks a verifier must refuse.
    pub fn set_signing_sealers(&self, signing: Option<usize>) {
        *self
            .ledger
            .faults
            .signing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = signing;
    }

    /// Serve every receipt proof with one hash changed (a proof that does not reach the
    /// header's receipts root).
    pub fn set_forge_receipt_proofs(&self, on: bool) {
        self.ledger
            .faults
            .forge_receipt_proofs
            .store(on, Ordering::Relaxed);
    }

    /// Submits a signed transaction in-process (as `sendTransaction` does) and waits for its
    /// receipt: for deploying the contracts a test needs.
    pub async fn submit(&self, tx: Transaction) -> Result<ReceiptJson> {
        let verified = self
            .ledger
            .admit(&tx)
            .map_err(|e| node_error("admitting a transaction", e.message))?;
        let (reply, answer) = oneshot::channel();
        self.pool
            .send(Pending {
                tx,
                verified,
                reply,
            })
            .await
            .map_err(|_| node_error("submitting", "the sealer stopped"))?;
        answer
            .await
            .map_err(|_| node_error("submitting", "the sealer stopped"))?
            .map_err(|e| node_error("sealing a transaction", e.message))
    }
}

impl Drop for FiscoNode {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
    }
}
