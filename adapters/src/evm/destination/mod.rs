//! [`EvmDestination`]: delivers batches to the Solidity Inbox with `deliverPacked` (the batch in
//! packed calldata, the cheapest form), from one local key, many transactions in flight.
//!
//! - **Sizing**: each batch is simulated with `eth_estimateGas` (which also surfaces a revert
//!   such as `InvalidProof` before anything is sent) and split in halves until every part
//!   fits the per-transaction gas budget. A part's gas limit is the estimate plus the
//!   `HANDLE_GAS` the Inbox guarantees two recipients, or every recipient for a while after a
//!   delivery reverted on chain, so a hostile recipient costs one reverted transaction at
//!   most, never a stall (see [`EvmDestination::plan`]).
//! - **One bad message**: a part whose simulation reverts for a reason one message can cause
//!   is cut in halves until that message stands alone; it is left out of the submissions
//!   (the caller backs it off) and the rest is sent.
//! - **Fees**: EIP-1559, from `eth_feeHistory` (alloy's estimator), optionally capped.
//! - **Nonces**: a local counter ([`nonce::NonceManager`]); submissions do not wait for each
//!   other's inclusion.
//! - **Record before broadcast**: each transaction is signed, handed to the caller's
//!   [`Recorder`] with its raw bytes, and broadcast only once recorded (all under the nonce
//!   lock, so a refused record frees its nonce for the next transaction). Following a
//!   submission with its recorded bytes ([`Destination::outcome_recorded`]) sends them again
//!   when the node does not know the transaction and this process did not send it (a restart
//!   after a crash between recording and broadcasting, or another instance's submission taken
//!   over); bytes that do not hash to the handle's transaction are never sent.
//! - **Retries**: retryable RPC failures are retried with exponential backoff and full jitter;
//!   a raw transaction is re-sent byte for byte, so a retry can never create a second one.
//! - **Stuck transactions**: [`Destination::outcome`] re-sends a transaction still pending after
//!   `replace_after` under the same nonce with both fees raised by at least 12.5 %, and
//!   re-broadcasts one the node forgot.
//! - **Outcome**: from the receipt, per message `Delivered` / `DeliveryFailed(reason)` /
//!   `DeliveryRefused` (a forbidden recipient, [`MessageOutcome::Refused`]: dead-lettered, never
//!   retried) / `AlreadyDeliveredSkipped(id, status)` (another transaction got there first: by
//!   the status it recorded, delivered, failed or refused); a message over the lane's rate limit
//!   (`RateLimited`) is not reported and so is prepared again later. A reverted transaction's
//!   reason is recovered by replaying it with `eth_call` on the parent block's state and decoded
//!   into the protocol's named errors.
//!
//! [`MessageOutcome::Refused`]: crate::chain::MessageOutcome::Refused

mod fees;
mod nonce;
mod outcome;
mod pool;
mod send;

pub use self::pool::EvmSignerPool;

pub(crate) use self::outcome::delivery_results;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use causeway_proofs::bundle::ChainFamily;
use causeway_proofs::{Domain, MessageId};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use self::fees::Fees;
use self::nonce::NonceManager;
use super::bindings::{
    IInbox, STATUS_DELIVERED, STATUS_FAILED, STATUS_NONE, STATUS_REFUSED, b256,
    deliver_packed_calldata,
};
use super::rpc::{Rpc, RpcConfig};
use crate::Error;
use crate::chain::{
    DeliveryBatch, DeliveryStatus, Destination, Recorder, Submission, SubmissionHandle,
    SubmissionOutcome,
};

/// Configuration of an [`EvmDestination`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmDestinationConfig {
    /// The node.
    pub rpc: RpcConfig,
    /// This chain's Causeway domain (the Inbox's `localDomain`).
    pub domain: Domain,
    /// The Inbox.
    pub inbox: Address,
    /// The chain id the key signs for; the node's is checked against it. `None`: the node's.
    pub chain_id: Option<u64>,
    /// Most gas one transaction may use; larger batches are split.
    pub gas_budget: u64,
    /// Gas added on top of the estimate, in percent.
    pub gas_margin_percent: u64,
    /// A transaction still pending after this long is replaced with higher fees.
    pub replace_after: Duration,
    /// Fee increase of a replacement, in thousandths (at least 125 = 12.5 %).
    pub fee_bump_per_mille: u64,
    /// Highest `maxFeePerGas` ever offered, in wei (`None`: no cap).
    pub max_fee_cap: Option<u128>,
    /// Replacements of one transaction before it is left to the node as it is.
    pub max_replacements: u32,
    /// How long a submission's nonce must stay used by another transaction, with no receipt
    /// for any of its own, before it is reported dropped: a node (or a pool of nodes behind
    /// one endpoint) can show an account's new nonce a moment before the receipt of the
    /// transaction that used it.
    pub drop_grace: Duration,
}

impl EvmDestinationConfig {
    /// Defaults for `inbox` of `domain` at `url`: 15 M gas per transaction, 25 % margin,
    /// replacement after 60 s with a 15 % bump, no fee cap, at most 5 replacements, dropped
    /// after a 2 s grace.
    pub fn new(url: impl Into<String>, domain: Domain, inbox: Address) -> Self {
        EvmDestinationConfig {
            rpc: RpcConfig::new(url),
            domain,
            inbox,
            chain_id: None,
            gas_budget: 15_000_000,
            gas_margin_percent: 25,
            replace_after: Duration::from_secs(60),
            fee_bump_per_mille: 150,
            max_fee_cap: None,
            max_replacements: 5,
            drop_grace: Duration::from_secs(2),
        }
    }
}

/// The data of an EVM [`SubmissionHandle`]: who sent it, its nonce, and every transaction hash
/// sent for that nonce (the original and any replacements known when the handle was made).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmSubmission {
    /// The sending account.
    pub from: Address,
    /// The transaction's nonce.
    pub nonce: u64,
    /// Hashes of the transactions sent with that nonce, oldest first.
    pub transactions: Vec<B256>,
}

impl EvmSubmission {
    /// The handle carrying this submission.
    pub fn to_handle(&self) -> SubmissionHandle {
        SubmissionHandle {
            family: ChainFamily::Evm,
            data: serde_json::json!({
                "from": self.from,
                "nonce": self.nonce,
                "transactions": self.transactions,
            }),
        }
    }

    /// The submission a handle carries; [`Error::InvalidHandle`] if it is not an EVM one.
    pub fn from_handle(handle: &SubmissionHandle) -> Result<Self, Error> {
        if handle.family != ChainFamily::Evm {
            return Err(Error::InvalidHandle {
                reason: format!("handle of family {:?}, not evm", handle.family),
            });
        }
        EvmSubmission::deserialize(&handle.data).map_err(|e| Error::InvalidHandle {
            reason: e.to_string(),
        })
    }
}

/// One signed transaction as broadcast.
#[derive(Clone, Debug)]
struct SentTx {
    hash: B256,
    fees: Fees,
    raw: Bytes,
}

/// What the destination remembers of a transaction it sent, by nonce.
#[derive(Clone, Debug)]
struct InFlight {
    calldata: Bytes,
    gas_limit: u64,
    sent: Vec<SentTx>,
    /// When the newest transaction was signed and sent (the `replace_after` clock).
    last_sent: Instant,
    /// When its bytes were last sent again to a node that did not know them.
    resent_at: Option<Instant>,
}

/// The destination side of an EVM chain: a cloneable handle over one RPC connection and one
/// signing key. Its `Debug` shows the sending address, never the key.
#[derive(Clone)]
pub struct EvmDestination {
    inner: Arc<Inner>,
}

struct Inner {
    rpc: Rpc,
    config: EvmDestinationConfig,
    signer: PrivateKeySigner,
    from: Address,
    chain_id: OnceCell<u64>,
    /// The gas the Inbox guarantees each recipient (`HANDLE_GAS`), read once.
    handle_gas: OnceCell<u64>,
    nonces: NonceManager,
    in_flight: Mutex<HashMap<u64, InFlight>>,
    /// Submissions (by sender and nonce) seen with their nonce used and no receipt: since when.
    vanished: Mutex<HashMap<(Address, u64), Instant>>,
    /// Until when gas limits cover every recipient burning its whole `HANDLE_GAS` (set when a
    /// delivery whose simulation passed reverted on chain).
    cautious_until: Mutex<Option<Instant>>,
    /// The last estimate (margin included) and the messages it covered: the next batch is
    /// first tried at a gas limit scaled from it (see [`EvmDestination::plan`]).
    last_estimate: Mutex<Option<(u64, usize)>>,
    /// `eth_estimateGas` calls made while planning.
    estimates: AtomicU64,
    /// Batches planned with one simulation at the predicted gas limit.
    predicted_plans: AtomicU64,
    /// Mined transactions whose spending was counted (the last [`SPENDING_REMEMBERED`]).
    spending_counted: Mutex<std::collections::VecDeque<B256>>,
}

/// How many counted transactions are remembered, so a receipt read again while its
/// confirmations accrue is not counted twice.
const SPENDING_REMEMBERED: usize = 1024;

/// How a destination planned its batches so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanningStats {
    /// `eth_estimateGas` calls (each costs the node several executions of the batch).
    pub estimates: u64,
    /// Batches sent at a gas limit predicted from an earlier estimate and checked by a single
    /// simulation at that limit (one execution).
    pub predicted_plans: u64,
}

impl core::fmt::Debug for EvmDestination {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EvmDestination")
            .field("endpoint", &self.inner.rpc.endpoint())
            .field("domain", &self.inner.config.domain)
            .field("inbox", &self.inner.config.inbox)
            .field("from", &self.inner.from)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (plain values only).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How a batch is cut into transactions.
#[derive(Debug, Default)]
struct Plan {
    /// Consecutive parts in order, each with its calldata and gas limit.
    parts: Vec<(core::ops::Range<usize>, Bytes, u64)>,
    /// Messages (by position in the batch) left out, each with why its delivery reverts.
    left_out: Vec<(usize, crate::chain::RevertReason)>,
}

/// The gas limit of a part whose estimate (margin included) is `estimate`, covering `covered`
/// recipients that burn their whole `handle_gas` (see [`EvmDestination::plan`]).
fn guaranteed_gas_limit(estimate: u64, covered: usize, handle_gas: u64) -> u64 {
    estimate.saturating_add(handle_gas.saturating_mul(covered as u64))
}

/// How many of a part's `messages` recipients its gas limit covers burning their whole
/// `HANDLE_GAS`: all of them while `cautious`, else [`OPTIMISTIC_HANDLES`] at most.
fn covered_handles(messages: usize, cautious: bool) -> usize {
    if cautious {
        messages
    } else {
        messages.min(OPTIMISTIC_HANDLES)
    }
}

/// Recipients per transaction whose whole `HANDLE_GAS` the gas limit covers by default.
const OPTIMISTIC_HANDLES: usize = 2;

/// How long gas limits cover every recipient after a delivery reverted on chain.
const CAUTIOUS_FOR: Duration = Duration::from_secs(600);

/// How many in-flight records of mined nonces are kept (for outcome queries of replacements).
const KEEP_MINED: u64 = 1024;

/// Least time a sighting of a vanished submission is remembered.
const KEEP_VANISHED: Duration = Duration::from_secs(600);

impl EvmDestination {
    /// A destination sending from the account of the 32-byte secp256k1 `secret` key.
    pub fn new(config: EvmDestinationConfig, secret: &[u8; 32]) -> Result<Self, Error> {
        let signer =
            PrivateKeySigner::from_bytes(&B256::from(*secret)).map_err(|e| Error::Signer {
                reason: e.to_string(),
            })?;
        if config.inbox == Address::ZERO {
            return Err(Error::Config {
                reason: "the Inbox address is zero".into(),
            });
        }
        let rpc = Rpc::connect(&config.rpc)?;
        Ok(EvmDestination {
            inner: Arc::new(Inner {
                rpc,
                from: signer.address(),
                signer,
                chain_id: OnceCell::new(),
                handle_gas: OnceCell::new(),
                nonces: NonceManager::new(),
                in_flight: Mutex::new(HashMap::new()),
                vanished: Mutex::new(HashMap::new()),
                cautious_until: Mutex::new(None),
                last_estimate: Mutex::new(None),
                spending_counted: Mutex::new(std::collections::VecDeque::new()),
                estimates: AtomicU64::new(0),
                predicted_plans: AtomicU64::new(0),
                config,
            }),
        })
    }

    /// How batches were planned so far (for operators and tests).
    pub fn planning_stats(&self) -> PlanningStats {
        PlanningStats {
            estimates: self.inner.estimates.load(Ordering::Relaxed),
            predicted_plans: self.inner.predicted_plans.load(Ordering::Relaxed),
        }
    }

    /// The sending account.
    pub fn address(&self) -> Address {
        self.inner.from
    }

    /// Hashes of every transaction this process sent with `nonce` (the original first, then
    /// its replacements), for operators and tests.
    pub fn sent_transactions(&self, nonce: u64) -> Vec<B256> {
        lock(&self.inner.in_flight)
            .get(&nonce)
            .map(|f| f.sent.iter().map(|t| t.hash).collect())
            .unwrap_or_default()
    }

    /// The chain id transactions are signed for (read from the node once, checked against the
    /// configured one).
    pub async fn chain_id(&self) -> Result<u64, Error> {
        let inner = &self.inner;
        let id = inner
            .chain_id
            .get_or_try_init(|| async {
                let node = inner
                    .rpc
                    .call("eth_chainId", |p| async move { p.get_chain_id().await })
                    .await?;
                match inner.config.chain_id {
                    Some(expected) if expected != node => Err(Error::Config {
                        reason: format!(
                            "the node at {} serves chain {node}, configured for chain {expected}",
                            inner.rpc.endpoint()
                        ),
                    }),
                    _ => Ok(node),
                }
            })
            .await?;
        Ok(*id)
    }

    /// Gas one transaction carrying `calldata` needs, margin included. A revert in simulation
    /// is [`Error::Reverted`] with the decoded reason.
    pub async fn estimate(&self, calldata: &Bytes) -> Result<u64, Error> {
        let inner = &self.inner;
        inner.estimates.fetch_add(1, Ordering::Relaxed);
        let request = TransactionRequest::default()
            .from(inner.from)
            .to(inner.config.inbox)
            .input(calldata.clone().into());
        let gas = inner
            .rpc
            .call("eth_estimateGas", |p| {
                let request = request.clone();
                async move { p.estimate_gas(request).await }
            })
            .await?;
        let margin = gas.saturating_mul(inner.config.gas_margin_percent) / 100;
        Ok(gas.saturating_add(margin))
    }

    /// Runs a transaction carrying `calldata` with exactly `gas` in simulation (`eth_call`,
    /// one execution; sends nothing): `Ok` when it completes within that gas.
    async fn simulate(&self, calldata: &Bytes, gas: u64) -> Result<(), Error> {
        let inner = &self.inner;
        let request = TransactionRequest::default()
            .from(inner.from)
            .to(inner.config.inbox)
            .gas_limit(gas)
            .input(calldata.clone().into());
        inner
            .rpc
            .call("eth_call", |p| {
                let request = request.clone();
                async move { p.call(request).await }
            })
            .await?;
        Ok(())
    }

    /// The batch in the fewest equal parts that fit the budget, each at a gas limit scaled from
    /// the last estimate, when one simulation per part at that limit without the recipients'
    /// slack passes; `None` otherwise (no estimate yet, or a simulation failed: the caller
    /// estimates).
    ///
    /// `eth_estimateGas` searches for the least gas that works and so runs the batch many
    /// times (in `bench relay` on anvil, planning a 128-message batch took 75–98 ms against
    /// 5–20 ms to send it); a relayer delivering batch after batch of like messages needs one
    /// run. The
    /// simulation at the predicted limit gives the same guarantee as an estimate at or below
    /// it: the batch completes with that gas on the current state, and the limit sent adds
    /// the same recipients' slack on top.
    async fn predicted_plan(
        &self,
        batch: &DeliveryBatch,
        handle_gas: u64,
        cautious: bool,
    ) -> Option<Plan> {
        let (gas, covered_then) = (*lock(&self.inner.last_estimate))?;
        let n = batch.items.len();
        // Scaled up for a larger part, never down: an estimate of more messages covers fewer
        // of the same kind.
        let predict = |len: usize| -> Option<(u64, u64)> {
            let predicted = u64::try_from(
                u128::from(gas) * len.max(covered_then) as u128 / covered_then.max(1) as u128,
            )
            .ok()?;
            Some((
                predicted,
                guaranteed_gas_limit(predicted, covered_handles(len, cautious), handle_gas),
            ))
        };
        // The fewest equal parts whose predicted limits fit the budget.
        let budget = self.inner.config.gas_budget;
        let parts =
            (1..=n).find(|&k| predict(n.div_ceil(k)).is_some_and(|(_, limit)| limit <= budget))?;
        let size = n.div_ceil(parts);
        let mut plan = Plan::default();
        let mut start = 0;
        while start < n {
            let range = start..(start + size).min(n);
            start = range.end;
            let (predicted, gas_limit) = predict(range.len())?;
            let calldata = deliver_packed_calldata(&batch.slice(range.clone()));
            if let Err(e) = self.simulate(&calldata, predicted).await {
                tracing::debug!(error = %e, predicted, messages = range.len(),
                    "a part does not complete at the predicted gas; estimating the batch");
                return None;
            }
            plan.parts.push((range, calldata, gas_limit));
        }
        self.inner.predicted_plans.fetch_add(1, Ordering::Relaxed);
        Some(plan)
    }

    /// The gas the Inbox hands each recipient (its `HANDLE_GAS`), read from it once.
    async fn handle_gas(&self) -> Result<u64, Error> {
        let inner = &self.inner;
        let gas = inner
            .handle_gas
            .get_or_try_init(|| async {
                let gas = self
                    .view(IInbox::HANDLE_GASCall {}, "Inbox.HANDLE_GAS result")
                    .await?;
                u64::try_from(gas).map_err(|_| Error::Decode {
                    what: "Inbox.HANDLE_GAS result",
                    reason: format!("{gas} does not fit 64 bits"),
                })
            })
            .await?;
        Ok(*gas)
    }

    /// Cuts `batch` into parts that each fit the gas budget, simulating every part (sends
    /// nothing). A part whose simulation reverts for a reason one message can cause is cut in
    /// halves until the message behind it stands alone: that message is left out
    /// ([`Plan::left_out`]) and the rest is sent. A reason the whole batch shares (signatures,
    /// checkpoint, a paused lane) fails the whole batch.
    ///
    /// A part's gas limit is not the estimate alone: a recipient can behave differently in
    /// the estimate (run at gas price 0) and in the transaction, or change between the two.
    /// The Inbox hands each recipient exactly `HANDLE_GAS` and nothing a recipient does can make
    /// the Inbox's own work cost more, so the estimate plus `HANDLE_GAS` per message covers any
    /// behaviour of the recipients (the estimate already holds what they used then, and the
    /// 1/64 the Inbox keeps back at each call). That bound would cut a batch of 128 into parts
    /// of 16 (15 M gas), so by default the limit covers [`OPTIMISTIC_HANDLES`] recipients
    /// burning their whole allowance; once a delivery whose simulation passed reverts on chain
    /// (a recipient burnt more than it did in the estimate), every limit covers all of them
    /// for [`CAUTIOUS_FOR`]. A hostile recipient so costs at most one reverted transaction
    /// (and one attempt of the messages it carried), never a stall.
    async fn plan(&self, batch: &DeliveryBatch) -> Result<Plan, Error> {
        let budget = self.inner.config.gas_budget;
        let handle_gas = self.handle_gas().await?;
        let cautious = lock(&self.inner.cautious_until).is_some_and(|t| Instant::now() < t);
        if let Some(plan) = self.predicted_plan(batch, handle_gas, cautious).await {
            return Ok(plan);
        }
        let mut todo = Vec::new();
        todo.push(0..batch.items.len());
        let mut plan = Plan::default();
        // Depth-first, right half pushed first, so parts come out in order.
        while let Some(range) = todo.pop() {
            let calldata = deliver_packed_calldata(&batch.slice(range.clone()));
            let estimate = match self.estimate(&calldata).await {
                Ok(gas) => gas,
                Err(Error::Reverted { reason }) if reason.may_be_one_message() => {
                    if range.len() == 1 {
                        tracing::warn!(message_id = %batch.items[range.start].message.id(),
                            %reason, "left out of the batch: its delivery alone reverts");
                        plan.left_out.push((range.start, reason));
                    } else {
                        let mid = range.start + range.len() / 2;
                        todo.push(mid..range.end);
                        todo.push(range.start..mid);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            *lock(&self.inner.last_estimate) = Some((estimate, range.len()));
            let gas_limit =
                guaranteed_gas_limit(estimate, covered_handles(range.len(), cautious), handle_gas);
            if gas_limit <= budget {
                plan.parts.push((range, calldata, gas_limit));
            } else if range.len() == 1 {
                return Err(Error::GasBudgetExceeded {
                    needed: gas_limit,
                    budget,
                });
            } else {
                let mid = range.start + range.len() / 2;
                todo.push(mid..range.end);
                todo.push(range.start..mid);
            }
        }
        Ok(plan)
    }

    /// Forgets in-flight records far below the account's mined nonce.
    fn prune(&self, mined_nonce: u64) {
        let floor = mined_nonce.saturating_sub(KEEP_MINED);
        lock(&self.inner.in_flight).retain(|n, _| *n >= floor);
    }

    /// Whether `sub`, whose nonce is used and none of whose transactions has a receipt, has
    /// been so for the drop grace (the first sighting starts it).
    fn vanished_for_good(&self, sub: &EvmSubmission) -> bool {
        let grace = self.inner.config.drop_grace;
        let mut vanished = lock(&self.inner.vanished);
        // Sightings of submissions nobody asks about any more.
        vanished.retain(|_, since| since.elapsed() < KEEP_VANISHED.max(grace));
        let since = *vanished
            .entry((sub.from, sub.nonce))
            .or_insert_with(Instant::now);
        if since.elapsed() < grace {
            return false;
        }
        vanished.remove(&(sub.from, sub.nonce));
        true
    }

    /// Delivery status of `id` read from the Inbox at the latest block.
    async fn status(&self, id: &MessageId) -> Result<u8, Error> {
        self.view(
            IInbox::statusCall { id: b256(&id.0) },
            "Inbox.status result",
        )
        .await
    }

    /// Calls a view function of the Inbox at the latest block; `what` names its result in a
    /// decoding error.
    async fn view<C: SolCall>(&self, call: C, what: &'static str) -> Result<C::Return, Error> {
        let inner = &self.inner;
        let request = TransactionRequest::default()
            .to(inner.config.inbox)
            .input(Bytes::from(call.abi_encode()).into());
        let out = inner
            .rpc
            .call("eth_call", |p| {
                let request = request.clone();
                async move { p.call(request).await }
            })
            .await?;
        C::abi_decode_returns(&out).map_err(|e| Error::Decode {
            what,
            reason: e.to_string(),
        })
    }
}

impl Destination for EvmDestination {
    fn domain(&self) -> Domain {
        self.inner.config.domain
    }

    #[tracing::instrument(name = "evm_submit", skip_all,
        fields(domain = %self.inner.config.domain, messages = batch.items.len()))]
    async fn submit_recorded(
        &self,
        batch: &DeliveryBatch,
        recorder: &dyn Recorder,
    ) -> Result<Vec<Submission>, Error> {
        batch.check_shape()?;
        let ids = batch.ids();
        let planning = Instant::now();
        let Plan { parts, left_out } = self.plan(batch).await?;
        let plan_ms = planning.elapsed().as_secs_f64() * 1e3;
        for (at, reason) in &left_out {
            recorder.left_out(&ids[*at], reason);
        }
        if parts.is_empty()
            && let Some((_, reason)) = left_out.into_iter().next()
        {
            // Every message reverts on its own: say why the first does.
            return Err(Error::Reverted { reason });
        }
        let mut out = Vec::with_capacity(parts.len());
        for (range, calldata, gas_limit) in parts {
            let part = &ids[range.clone()];
            let sending = Instant::now();
            let sent = match self
                .send_new(calldata.clone(), gas_limit, part, recorder)
                .await
            {
                // The counter was stale: it is re-read from the node, one more try (signed
                // and recorded again: the first was never broadcast).
                Err(Error::NonceTooLow { .. } | Error::Underpriced { .. }) => {
                    self.send_new(calldata, gas_limit, part, recorder).await
                }
                other => other,
            };
            let sub = match sent {
                Ok(sub) => sub,
                // Parts already sent are in flight: report them; the rest is not sent.
                Err(e) if !out.is_empty() => {
                    tracing::warn!(error = %e, sent = out.len(),
                        "a later part of the batch could not be sent");
                    break;
                }
                Err(e) => return Err(e),
            };
            tracing::debug!(nonce = sub.nonce, tx = %sub.transactions[0],
                messages = range.len(), plan_ms,
                send_ms = sending.elapsed().as_secs_f64() * 1e3, "submitted deliverPacked");
            out.push(Submission {
                handle: sub.to_handle(),
                messages: ids[range].to_vec(),
            });
        }
        Ok(out)
    }

    #[tracing::instrument(name = "evm_outcome", skip_all, fields(domain = %self.inner.config.domain))]
    async fn outcome_recorded(
        &self,
        handle: &SubmissionHandle,
        signed: Option<&[u8]>,
    ) -> Result<SubmissionOutcome, Error> {
        let sub = EvmSubmission::from_handle(handle)?;
        let from = sub.from;
        // The mined nonce first: a receipt that appears after this read is still found below.
        let mined_nonce = self
            .inner
            .rpc
            .call("eth_getTransactionCount", |p| async move {
                p.get_transaction_count(from).latest().await
            })
            .await?;
        for hash in self.known_hashes(&sub) {
            if let Some(outcome) = self.receipt_outcome(hash).await? {
                if let SubmissionOutcome::Reverted { reason, .. } = &outcome {
                    // Its simulation passed: the chain ran it differently (a recipient burning
                    // more gas than in the estimate, most likely).
                    tracing::warn!(nonce = sub.nonce, %reason,
                        "a delivery reverted on chain although its simulation passed; gas limits \
                         now cover every recipient's whole allowance for a while");
                    *lock(&self.inner.cautious_until) = Some(Instant::now() + CAUTIOUS_FOR);
                }
                lock(&self.inner.vanished).remove(&(sub.from, sub.nonce));
                self.prune(mined_nonce);
                return Ok(outcome);
            }
        }
        if mined_nonce > sub.nonce {
            if !self.vanished_for_good(&sub) {
                return Ok(SubmissionOutcome::Pending);
            }
            // Another transaction used the nonce: the local counter may be stale too.
            if sub.from == self.inner.from {
                self.inner.nonces.resync().await;
            }
            return Ok(SubmissionOutcome::Dropped);
        }
        if sub.from == self.inner.from && self.sent_by_this_process(sub.nonce) {
            self.unstick(sub.nonce).await?;
        } else if let Some(signed) = signed {
            self.resend_recorded(&sub, signed).await?;
        }
        Ok(SubmissionOutcome::Pending)
    }

    async fn delivery_status(&self, id: &MessageId) -> Result<DeliveryStatus, Error> {
        delivery_status_of(self.status(id).await?, "Inbox.status result")
    }

    async fn delivery_statuses(&self, ids: &[MessageId]) -> Result<Vec<DeliveryStatus>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(STATUSES_PER_CALL) {
            let call = IInbox::statusesCall {
                ids: chunk.iter().map(|id| b256(&id.0)).collect(),
            };
            let read = self.view(call, "Inbox.statuses result").await?;
            if read.len() != chunk.len() {
                return Err(Error::Decode {
                    what: "Inbox.statuses result",
                    reason: format!("{} statuses for {} ids", read.len(), chunk.len()),
                });
            }
            for status in read {
                out.push(delivery_status_of(status, "Inbox.statuses result")?);
            }
        }
        Ok(out)
    }
}

/// Most ids one `Inbox.statuses` call reads (a cold read costs 2,100 gas: 1,024 of them stay
/// far below any node's `eth_call` gas cap).
const STATUSES_PER_CALL: usize = 1024;

/// The [`DeliveryStatus`] an Inbox status byte stands for.
pub(crate) fn delivery_status_of(status: u8, what: &'static str) -> Result<DeliveryStatus, Error> {
    match status {
        STATUS_NONE => Ok(DeliveryStatus::NotDelivered),
        STATUS_DELIVERED => Ok(DeliveryStatus::Delivered),
        STATUS_FAILED => Ok(DeliveryStatus::Failed),
        STATUS_REFUSED => Ok(DeliveryStatus::Refused),
        other => Err(Error::Decode {
            what,
            reason: format!("unknown status {other}"),
        }),
    }
}
