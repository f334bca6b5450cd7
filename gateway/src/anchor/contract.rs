//! The Anchor contract over JSON-RPC: what it holds (`latest(origin)`, `validatorSet(origin)`,
//! `checkpointDigest(cp)`) and sending `anchor(cp, signatures, consistencyProof)` from the
//! anchoring account: simulated first (a revert is named from its custom error and nothing is
//! sent), then signed (EIP-1559), broadcast and followed to its receipt.
//!
//! The anchoring account is its own (the configuration refuses a key the relayer or the API
//! sends with), and one task per anchoring sends at most one transaction at a time, so the
//! node's pending nonce is the next nonce.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use alloy::transports::{RpcError, TransportErrorKind};
use causeway_adapters::chain::RevertReason;
use causeway_adapters::evm::LogWindows;
use causeway_adapters::evm::bindings::decode_revert;
use causeway_proofs::{Checkpoint, Domain, EvmAddress, Hash32, LogSize};
use causeway_relayer::store::ValidatorSignature;

alloy::sol! {
    /// The Anchor's checkpoint argument.
    #[derive(Debug, PartialEq, Eq)]
    struct AnchorCheckpoint { uint32 origin; uint8 hashAlgorithm; uint64 size; bytes32 root; }

    /// What the gateway calls on the Anchor (contracts/src/Anchor.sol and its
    /// ValidatorRegistry).
    interface IAnchor {
        event Anchored(uint32 indexed origin, uint64 size, bytes32 root);
        function anchor(AnchorCheckpoint calldata cp, bytes[] calldata signatures, bytes32[] calldata consistencyProof) external;
        function latest(uint32 origin) external view returns (uint64 size, bytes32 root);
        function verifyConsistency(uint64 first, uint64 second, bytes32 firstRoot, bytes32 secondRoot, bytes32[] calldata path) external view returns (bool);
        function checkpointDigest(AnchorCheckpoint calldata cp) external view returns (bytes32);
        function validatorSet(uint32 origin) external view returns (address[] memory validators, uint8 threshold, uint64 epoch, uint64 originChainId);
    }
}

/// Time one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a sent anchor is followed before the attempt counts as not landed.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Between two looks for a receipt.
const RECEIPT_POLL: Duration = Duration::from_millis(500);
/// Gas added to the estimate (percent).
const GAS_MARGIN_PERCENT: u64 = 25;

/// Why a call to the Anchor failed.
#[derive(Debug, thiserror::Error)]
pub enum AnchorCallError {
    /// The Anchor refused (in simulation, or on chain), with its reason.
    #[error("the Anchor reverted: {reason}")]
    Reverted {
        /// The decoded custom error.
        reason: RevertReason,
    },
    /// The node did not answer as expected, before anything was sent (retried with backoff).
    #[error("{0}")]
    Node(String),
    /// The node answered the request with an error of its own (not a revert): e.g. a log
    /// query over more blocks or results than it serves. Another node would not know better.
    #[error("{0}")]
    Refused(String),
    /// The transaction was sent but not seen mined (retried with backoff; a later attempt
    /// that finds it anchored counts it then).
    #[error("{0}")]
    NotMined(String),
}

/// The last checkpoint an Anchor recorded for an origin (size 0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchored {
    /// Its log size.
    pub size: LogSize,
    /// Its root (zero when nothing is anchored).
    pub root: Hash32,
}

/// What became of a sent anchor transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Landed {
    /// Mined and successful.
    Landed {
        /// The transaction.
        tx: B256,
    },
    /// Mined and reverted (another member's anchor got there first, most often).
    Reverted {
        /// The transaction.
        tx: B256,
    },
}

/// One Anchor contract on its chain's nodes, read by anyone; sent to only with a key.
///
/// Failover: a request that finds its node unreachable, failing at the transport or silent
/// past [`REQUEST_TIMEOUT`] goes to the chain's next configured node at once, and the
/// requests after it stay there (the clones share which node is current). An answer from a
/// node, a revert or a refusal, is never retried elsewhere.
#[derive(Clone)]
pub struct AnchorContract {
    /// Every node: its provider and its URL without credentials, for messages.
    nodes: Arc<[(RootProvider, String)]>,
    /// The index in `nodes` requests go to first.
    current: Arc<AtomicUsize>,
    address: Address,
}

impl core::fmt::Debug for AnchorContract {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AnchorContract")
            .field("node", &self.node())
            .field("nodes", &self.nodes.len())
            .field("address", &self.address)
            .finish()
    }
}

impl AnchorContract {
    /// The Anchor at `address` through the node at `url` (http or https).
    pub fn connect(url: &str, address: EvmAddress) -> Result<Self, String> {
        Self::connect_all(&[url], address)
    }

    /// The Anchor at `address` through the chain's nodes at `urls` (http or https; at least
    /// one), the first one first.
    pub fn connect_all(urls: &[&str], address: EvmAddress) -> Result<Self, String> {
        if urls.is_empty() {
            return Err("no endpoint for the Anchor's chain".to_owned());
        }
        let nodes = urls
            .iter()
            .map(|url| {
                crate::wiring::evm::http_provider(url, REQUEST_TIMEOUT, "can reach the Anchor")
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(AnchorContract {
            nodes: nodes.into(),
            current: Arc::new(AtomicUsize::new(0)),
            address: Address::from(address.0),
        })
    }

    /// The node requests go to now, without credentials.
    pub fn node(&self) -> &str {
        &self.nodes[self.current.load(Ordering::Relaxed) % self.nodes.len()].1
    }

    /// Runs the request `request` builds for a node, bounded by [`REQUEST_TIMEOUT`], on the
    /// current node and, while nodes fail (unreachable, transport errors, silence), on the
    /// next ones in turn; a revert is named.
    async fn ask<T, F, R>(&self, method: &str, request: F) -> Result<T, AnchorCallError>
    where
        F: Fn(RootProvider) -> R,
        R: core::future::IntoFuture<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        let first = self.current.load(Ordering::Relaxed) % self.nodes.len();
        let mut failure = String::new();
        for attempt in 0..self.nodes.len() {
            let at = (first + attempt) % self.nodes.len();
            let (provider, shown) = &self.nodes[at];
            failure = match tokio::time::timeout(REQUEST_TIMEOUT, request(provider.clone())).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(RpcError::ErrorResp(payload))) if payload.as_revert_data().is_some() => {
                    let data = payload.as_revert_data().unwrap_or_default();
                    return Err(AnchorCallError::Reverted {
                        reason: decode_revert(&data),
                    });
                }
                // The node answered (a refusal, a malformed reply): another node would not
                // know better.
                Ok(Err(e @ RpcError::ErrorResp(_))) => {
                    return Err(AnchorCallError::Refused(format!(
                        "{method} at {shown}: {}",
                        scrub(&e.to_string(), shown)
                    )));
                }
                Ok(Err(e @ RpcError::DeserError { .. })) => {
                    return Err(AnchorCallError::Node(format!(
                        "{method} at {shown}: {}",
                        scrub(&e.to_string(), shown)
                    )));
                }
                Ok(Err(e)) => format!("{method} at {shown}: {}", scrub(&e.to_string(), shown)),
                Err(_) => format!(
                    "{method} at {shown} got no answer within {} s",
                    REQUEST_TIMEOUT.as_secs()
                ),
            };
            if self.nodes.len() > 1 {
                let next = (at + 1) % self.nodes.len();
                if self
                    .current
                    .compare_exchange(at, next, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    tracing::warn!(
                        failed = %shown, next = %self.nodes[next].1, method, error = %failure,
                        "the Anchor's node failed; the chain's next endpoint takes the requests"
                    );
                }
            }
        }
        Err(AnchorCallError::Node(failure))
    }

    /// `eth_call` of `call` on the Anchor, decoded.
    async fn view<C: SolCall>(&self, call: &C) -> Result<C::Return, AnchorCallError> {
        let request = TransactionRequest::default()
            .to(self.address)
            .input(Bytes::from(call.abi_encode()).into());
        let output = self
            .ask(C::SIGNATURE, |p| {
                let request = request.clone();
                async move { p.call(request).await }
            })
            .await?;
        C::abi_decode_returns(&output)
            .map_err(|e| AnchorCallError::Node(format!("{} answered {output} ({e})", C::SIGNATURE)))
    }

    /// The code at the Anchor's address.
    pub async fn code(&self) -> Result<Bytes, AnchorCallError> {
        let address = self.address;
        self.ask(
            "eth_getCode",
            |p| async move { p.get_code_at(address).await },
        )
        .await
    }

    /// Every checkpoint this Anchor recorded for `origin`, oldest first, from its `Anchored`
    /// events (the contract checked that each one extends the one before, so any of them
    /// stands for the anchored history up to its size).
    pub async fn history(&self, origin: Domain) -> Result<Vec<Anchored>, AnchorCallError> {
        use alloy::sol_types::SolEvent as _;
        let logs = self.anchored_logs(origin, |_| false).await?;
        Ok(logs
            .iter()
            .filter_map(|log| IAnchor::Anchored::decode_log_data(log.data()).ok())
            .map(|e| Anchored {
                size: LogSize(e.size),
                root: Hash32(e.root.0),
            })
            .collect())
    }

    /// The block number and time (Unix seconds) of the last `Anchored` event for `origin`, or
    /// `None` when nothing is anchored.
    pub async fn last_anchored_at(
        &self,
        origin: Domain,
    ) -> Result<Option<(u64, u64)>, AnchorCallError> {
        // Nothing anchored: no need to look through the chain's history for it.
        if self.latest(origin).await?.size.0 == 0 {
            return Ok(None);
        }
        // The newest window that holds an event ends the scan: anchoring is periodic, so
        // that is the first window or one of the first few.
        let logs = self
            .anchored_logs(origin, |found| !found.is_empty())
            .await?;
        let Some(number) = logs.iter().filter_map(|l| l.block_number).max() else {
            return Ok(None);
        };
        let block = self
            .ask("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(number.into()).await
            })
            .await?
            .ok_or_else(|| {
                AnchorCallError::Node(format!(
                    "{} has no block {number}, which holds an Anchored event",
                    self.node()
                ))
            })?;
        Ok(Some((number, block.header.timestamp)))
    }

    /// The Anchor's `Anchored` logs for `origin`, oldest first, read window by window from the
    /// head back to block 0 (one `eth_getLogs` over the whole chain is refused by most public
    /// providers, which cap a request's range or its results); `done` is asked after each
    /// window with what was found so far and ends the scan early.
    async fn anchored_logs(
        &self,
        origin: Domain,
        done: impl Fn(&[alloy::rpc::types::Log]) -> bool,
    ) -> Result<Vec<alloy::rpc::types::Log>, AnchorCallError> {
        use alloy::rpc::types::Filter;
        use alloy::sol_types::SolEvent as _;
        let head = self
            .ask(
                "eth_blockNumber",
                |p| async move { p.get_block_number().await },
            )
            .await?;
        let mut windows = LogWindows::newest_first(head);
        let mut found: Vec<alloy::rpc::types::Log> = Vec::new();
        while let Some((from, to)) = windows.next_window() {
            let filter = Filter::new()
                .address(self.address)
                .event_signature(IAnchor::Anchored::SIGNATURE_HASH)
                .topic1(B256::from(U256::from(origin.0)))
                .from_block(from)
                .to_block(to);
            match self
                .ask("eth_getLogs", |p| {
                    let filter = filter.clone();
                    async move { p.get_logs(&filter).await }
                })
                .await
            {
                Ok(mut logs) => {
                    windows.served();
                    logs.append(&mut found);
                    found = logs;
                    if done(&found) {
                        break;
                    }
                }
                Err(AnchorCallError::Refused(why)) => {
                    if !windows.refused() {
                        return Err(AnchorCallError::Refused(format!(
                            "{why} (even over a single block; fix: point the chain's `rpc` at a \
                             node that serves eth_getLogs)"
                        )));
                    }
                    tracing::debug!(from, to, error = %why, "eth_getLogs refused; asking for half the blocks");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// The chain id the node serves.
    pub async fn chain_id(&self) -> Result<u64, AnchorCallError> {
        self.ask("eth_chainId", |p| async move { p.get_chain_id().await })
            .await
    }

    /// `latest(origin)`.
    pub async fn latest(&self, origin: Domain) -> Result<Anchored, AnchorCallError> {
        let r = self.view(&IAnchor::latestCall { origin: origin.0 }).await?;
        Ok(Anchored {
            size: LogSize(r.size),
            root: Hash32(r.root.0),
        })
    }

    /// `checkpointDigest(cp)`: what the Anchor's validators must have signed for `cp`.
    pub async fn checkpoint_digest(&self, cp: &Checkpoint) -> Result<Hash32, AnchorCallError> {
        let r = self
            .view(&IAnchor::checkpointDigestCall { cp: abi(cp) })
            .await?;
        Ok(Hash32(r.0))
    }

    /// `validatorSet(origin)`: the members, threshold, epoch and origin chain id.
    pub async fn validator_set(
        &self,
        origin: Domain,
    ) -> Result<(Vec<EvmAddress>, u64, u64, u64), AnchorCallError> {
        let r = self
            .view(&IAnchor::validatorSetCall { origin: origin.0 })
            .await?;
        Ok((
            r.validators
                .iter()
                .map(|a| EvmAddress(a.into_array()))
                .collect(),
            u64::from(r.threshold),
            r.epoch,
            r.originChainId,
        ))
    }

    /// The account's balance is zero.
    pub async fn balance_is_zero(&self, account: Address) -> Result<bool, AnchorCallError> {
        self.ask(
            "eth_getBalance",
            |p| async move { p.get_balance(account).await },
        )
        .await
        .map(|b| b.is_zero())
    }

    /// Sends `anchor(cp, signatures, proof)` from `signer`: simulated first (a revert comes
    /// back as [`AnchorCallError::Reverted`] and nothing is sent), then signed, broadcast and
    /// followed until mined (or [`RECEIPT_TIMEOUT`], a node error).
    pub async fn anchor(
        &self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        cp: &Checkpoint,
        signatures: &[ValidatorSignature],
        proof: &[Hash32],
    ) -> Result<Landed, AnchorCallError> {
        let call = IAnchor::anchorCall {
            cp: abi(cp),
            signatures: signatures
                .iter()
                .map(|s| Bytes::copy_from_slice(&s.signature.0))
                .collect(),
            consistencyProof: proof.iter().map(|h| B256::from(h.0)).collect(),
        };
        let input = Bytes::from(call.abi_encode());
        let from = signer.address();
        let request = TransactionRequest::default()
            .from(from)
            .to(self.address)
            .input(input.clone().into());
        // The simulation names a revert (stale, inconsistent, below threshold) before any gas
        // is spent.
        let gas = self
            .ask("eth_estimateGas", |p| {
                let request = request.clone();
                async move { p.estimate_gas(request).await }
            })
            .await?;
        let gas = gas.saturating_add(gas.saturating_mul(GAS_MARGIN_PERCENT) / 100);
        let nonce = self
            .ask("eth_getTransactionCount", |p| async move {
                p.get_transaction_count(from).pending().await
            })
            .await?;
        let fees = self
            .ask("eth_feeHistory", |p| async move {
                p.estimate_eip1559_fees().await
            })
            .await?;
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: TxKind::Call(self.address),
            value: U256::ZERO,
            access_list: Default::default(),
            input,
        };
        let signature = signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| AnchorCallError::Node(format!("signing the anchor transaction: {e}")))?;
        let envelope = TxEnvelope::from(tx.into_signed(signature));
        let hash = *envelope.tx_hash();
        let raw = envelope.encoded_2718();
        match self
            .ask("eth_sendRawTransaction", |p| {
                let raw = raw.clone();
                async move { p.send_raw_transaction(&raw).await.map(|_| ()) }
            })
            .await
        {
            Ok(_) => {}
            // Sent before (a retry after a lost answer): follow it all the same.
            Err(AnchorCallError::Node(e)) if e.contains("already known") => {}
            Err(e) => return Err(e),
        }
        let deadline = tokio::time::Instant::now() + RECEIPT_TIMEOUT;
        loop {
            let receipt = match self
                .ask("eth_getTransactionReceipt", |p| async move {
                    p.get_transaction_receipt(hash).await
                })
                .await
            {
                Ok(receipt) => receipt,
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(AnchorCallError::NotMined(format!(
                        "the anchor transaction {hash} was sent, then: {e}"
                    )));
                }
                Err(_) => None,
            };
            if let Some(receipt) = receipt {
                return Ok(if receipt.status() {
                    Landed::Landed { tx: hash }
                } else {
                    Landed::Reverted { tx: hash }
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AnchorCallError::NotMined(format!(
                    "the anchor transaction {hash} was not mined within {} s",
                    RECEIPT_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(RECEIPT_POLL).await;
        }
    }
}

/// The ABI checkpoint of `cp`.
fn abi(cp: &Checkpoint) -> AnchorCheckpoint {
    AnchorCheckpoint {
        origin: cp.origin().0,
        hashAlgorithm: cp.hash_algorithm().id(),
        size: cp.size().0,
        root: B256::from(cp.root().0),
    }
}

/// `text` without the node's full URL (it may carry credentials): alloy quotes it in errors.
fn scrub(text: &str, shown: &str) -> String {
    // The shown form has no credentials; anything URL-like in the text is replaced by it.
    text.split_whitespace()
        .map(|w| {
            if w.contains("://") {
                shown.to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
