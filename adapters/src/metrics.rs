//! What a chain connection observed, for the gateway's `/metrics`: requests to the chain's nodes
//! per method class (counted once, in the connection's request path, so no call site can forget
//! one), the head height seen, reorganisations detected, and what deliveries spent.
//!
//! One [`ChainMetrics`] is shared (cheaply cloned) by every adapter of a chain; the gateway
//! reads it at scrape time with [`ChainMetrics::snapshot`]. Observing never blocks on I/O: the
//! counters are atomics, the two `f64` sums a short mutex.
//!
//! Every family counts its node requests through [`ChainMetrics::request`] with the method's
//! own name, mapped to a fixed [`MethodClass`]: the EVM adapter in its one request path
//! (`Rpc::once`), the Fabric client around each gRPC call ([`crate::fabric::FabricClient`]),
//! and FISCO BCOS's JSON-RPC names are mapped too, for its request path to call the same hook.
//!
//! [`set_updates`] turns every metric update of the process off (the relayer's pipeline
//! counters and store timings check [`updates_enabled`] too): a gateway that serves no
//! `/metrics`, or a benchmark measuring what the updates cost.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Whether metric updates are on in this process (see [`set_updates`]).
static UPDATES: AtomicBool = AtomicBool::new(true);

/// Turns the metric updates of this whole process on or off: off, [`ChainMetrics`] and the
/// relayer's pipeline counters, stage histograms and store timings count nothing (their
/// figures stay where they were). Process-wide, because one process runs one gateway; a test
/// that turns it off runs in a process of its own.
pub fn set_updates(on: bool) {
    UPDATES.store(on, Ordering::Relaxed);
}

/// Whether metric updates are on (the default; see [`set_updates`]). One relaxed load: cheap
/// enough to ask before every update.
#[inline]
pub fn updates_enabled() -> bool {
    UPDATES.load(Ordering::Relaxed)
}

/// Upper bounds, in seconds, of the request latency buckets (1 ms to 30 s: the relayer's stage
/// buckets, so dashboards read them alike).
pub const RPC_LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A fixed class of node requests: the label of the request metrics (a method name from the
/// code maps to one of these, so the label's values are bounded and known in advance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MethodClass {
    /// The head, a block or its header (`eth_blockNumber`, `eth_getBlockByNumber`; Fabric's
    /// Deliver stream of blocks; FISCO BCOS's `getBlockNumber`, `getBlockByNumber`).
    Block,
    /// Event logs (`eth_getLogs`; Fabric's `ChaincodeEvents` stream).
    Logs,
    /// Receipts and transactions (`eth_getBlockReceipts`, `eth_getTransactionReceipt`,
    /// `eth_getTransactionByHash`; Fabric's `CommitStatus`; FISCO BCOS's
    /// `getTransactionReceipt`, `getTransaction`).
    Receipt,
    /// State proofs (`eth_getProof`).
    Proof,
    /// Contract calls and gas estimates (`eth_call`, `eth_estimateGas`; Fabric's `Evaluate` and
    /// `Endorse`, which run the chaincode on the peers; FISCO BCOS's `call`).
    Call,
    /// Account and network facts (`eth_getTransactionCount`, `eth_getBalance`, `eth_chainId`,
    /// `eth_feeHistory`; FISCO BCOS's `getCode`, `getGroupInfo`, `getSealerList`,
    /// `getSystemConfigByKey`).
    Account,
    /// Sending a transaction (`eth_sendRawTransaction`; Fabric's `Submit` to the orderer;
    /// FISCO BCOS's `sendTransaction`).
    Send,
    /// Any other method.
    Other,
}

impl MethodClass {
    /// Every class, in label order.
    pub const ALL: [MethodClass; 8] = [
        MethodClass::Block,
        MethodClass::Logs,
        MethodClass::Receipt,
        MethodClass::Proof,
        MethodClass::Call,
        MethodClass::Account,
        MethodClass::Send,
        MethodClass::Other,
    ];

    /// The class of a method: an EVM or FISCO BCOS JSON-RPC method, or a Fabric gRPC method
    /// (`gateway.Gateway/Evaluate`, `protos.Deliver/Deliver`, ...).
    pub fn of(method: &str) -> MethodClass {
        match method {
            "eth_blockNumber"
            | "eth_getBlockByNumber"
            | "eth_getBlockByHash"
            | "protos.Deliver/Deliver"
            | "getBlockNumber"
            | "getBlockByNumber"
            | "getBlockByHash"
            | "getBlockHashByNumber" => MethodClass::Block,
            "eth_getLogs" | "gateway.Gateway/ChaincodeEvents" => MethodClass::Logs,
            "eth_getBlockReceipts"
            | "eth_getTransactionReceipt"
            | "eth_getTransactionByHash"
            | "gateway.Gateway/CommitStatus"
            | "getTransactionReceipt"
            | "getTransaction"
            | "getTransactionByHash" => MethodClass::Receipt,
            "eth_getProof" => MethodClass::Proof,
            "eth_call"
            | "eth_estimateGas"
            | "gateway.Gateway/Evaluate"
            | "gateway.Gateway/Endorse"
            | "call" => MethodClass::Call,
            "eth_getTransactionCount"
            | "eth_getBalance"
            | "eth_chainId"
            | "eth_feeHistory"
            | "getCode"
            | "getGroupInfo"
            | "getSealerList"
            | "getSystemConfigByKey" => MethodClass::Account,
            "eth_sendRawTransaction" | "gateway.Gateway/Submit" | "sendTransaction" => {
                MethodClass::Send
            }
            _ => MethodClass::Other,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodClass::Block => "block",
            MethodClass::Logs => "logs",
            MethodClass::Receipt => "receipt",
            MethodClass::Proof => "proof",
            MethodClass::Call => "call",
            MethodClass::Account => "account",
            MethodClass::Send => "send",
            MethodClass::Other => "other",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Where a reorganisation was detected, relative to the watcher's durable cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReorgDepth {
    /// Above the cursor: the scan is repeated, nothing accepted is affected.
    AboveCursor,
    /// At or below the cursor: something treated as final changed (the watcher halts).
    BelowCursor,
}

#[derive(Debug, Default)]
struct ClassStats {
    calls: AtomicU64,
    errors: AtomicU64,
    /// Observations at or below each bound (not cumulative).
    buckets: [AtomicU64; RPC_LATENCY_BUCKETS.len()],
    sum_micros: AtomicU64,
}

#[derive(Debug, Default)]
struct Spent {
    gas: u64,
    fees_wei: f64,
    balance_wei: Option<f64>,
}

#[derive(Debug, Default)]
struct Inner {
    classes: [ClassStats; MethodClass::ALL.len()],
    /// Highest head seen plus one (0: none yet).
    head: AtomicU64,
    reorgs_above: AtomicU64,
    reorgs_below: AtomicU64,
    deliveries_mined: AtomicU64,
    spent: Mutex<Spent>,
}

/// The shared observation point of one chain's connections (see the module's docs).
#[derive(Clone, Debug, Default)]
pub struct ChainMetrics(Arc<Inner>);

impl PartialEq for ChainMetrics {
    /// The same handle (configurations that share it compare equal).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ChainMetrics {}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl ChainMetrics {
    /// Counts one request of `method` (a JSON-RPC or gRPC method name, see
    /// [`MethodClass::of`]) that took `took` and failed when `failed`: an error answer, a
    /// transport failure or a timeout (a contract's revert is an answer, not a failure). A
    /// stream (Fabric's Deliver) is one request, timed until it opened.
    pub fn request(&self, method: &str, took: Duration, failed: bool) {
        if !updates_enabled() {
            return;
        }
        let stats = &self.0.classes[MethodClass::of(method).index()];
        add(&stats.calls, 1);
        if failed {
            add(&stats.errors, 1);
        }
        let secs = took.as_secs_f64();
        if let Some(i) = RPC_LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            add(&stats.buckets[i], 1);
        }
        add(
            &stats.sum_micros,
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        );
    }

    /// Counts the failure of a stream `method` opened earlier (and counted by
    /// [`Self::request`] then) that broke later: an error of that request. Call it at most once
    /// per stream, so errors never outnumber requests.
    pub fn stream_failed(&self, method: &str) {
        if updates_enabled() {
            add(&self.0.classes[MethodClass::of(method).index()].errors, 1);
        }
    }

    /// Records the chain's head height as a node reported it (the highest seen is kept).
    pub fn head(&self, height: u64) {
        if !updates_enabled() {
            return;
        }
        self.0
            .head
            .fetch_max(height.saturating_add(1), Ordering::Relaxed);
    }

    /// Counts one reorganisation detected at `depth`.
    pub fn reorg(&self, depth: ReorgDepth) {
        if !updates_enabled() {
            return;
        }
        match depth {
            ReorgDepth::AboveCursor => add(&self.0.reorgs_above, 1),
            ReorgDepth::BelowCursor => add(&self.0.reorgs_below, 1),
        }
    }

    /// Counts one mined delivery transaction that used `gas` at `price_wei` per unit.
    pub fn delivery_mined(&self, gas: u64, price_wei: u128) {
        if !updates_enabled() {
            return;
        }
        add(&self.0.deliveries_mined, 1);
        let mut spent = self.0.spent.lock().unwrap_or_else(PoisonError::into_inner);
        spent.gas = spent.gas.saturating_add(gas);
        spent.fees_wei += gas as f64 * price_wei as f64;
    }

    /// Records the deliverer account's balance as last read.
    pub fn deliverer_balance(&self, wei: u128) {
        if !updates_enabled() {
            return;
        }
        let mut spent = self.0.spent.lock().unwrap_or_else(PoisonError::into_inner);
        spent.balance_wei = Some(wei as f64);
    }

    /// The figures now.
    pub fn snapshot(&self) -> ChainMetricsSnapshot {
        let requests = MethodClass::ALL
            .iter()
            .map(|class| {
                let s = &self.0.classes[class.index()];
                let mut cumulative = [0u64; RPC_LATENCY_BUCKETS.len()];
                let mut running = 0u64;
                for (c, b) in cumulative.iter_mut().zip(&s.buckets) {
                    running = running.saturating_add(b.load(Ordering::Relaxed));
                    *c = running;
                }
                RequestFigures {
                    class: *class,
                    calls: s.calls.load(Ordering::Relaxed),
                    errors: s.errors.load(Ordering::Relaxed),
                    cumulative,
                    sum_seconds: s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
                }
            })
            .collect();
        let spent = self.0.spent.lock().unwrap_or_else(PoisonError::into_inner);
        ChainMetricsSnapshot {
            requests,
            head: self.0.head.load(Ordering::Relaxed).checked_sub(1),
            reorgs_above_cursor: self.0.reorgs_above.load(Ordering::Relaxed),
            reorgs_below_cursor: self.0.reorgs_below.load(Ordering::Relaxed),
            deliveries_mined: self.0.deliveries_mined.load(Ordering::Relaxed),
            gas_used: spent.gas,
            fees_wei: spent.fees_wei,
            deliverer_balance_wei: spent.balance_wei,
        }
    }
}

/// Requests of one method class.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestFigures {
    /// The class.
    pub class: MethodClass,
    /// Requests sent (each attempt of a retried call counts).
    pub calls: u64,
    /// Of those, failed (error answer, transport failure or timeout).
    pub errors: u64,
    /// Requests at or below each bound of [`RPC_LATENCY_BUCKETS`] (cumulative).
    pub cumulative: [u64; RPC_LATENCY_BUCKETS.len()],
    /// Their durations' sum, in seconds.
    pub sum_seconds: f64,
}

/// A chain's figures at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainMetricsSnapshot {
    /// Per method class, in [`MethodClass::ALL`] order.
    pub requests: Vec<RequestFigures>,
    /// Highest head height a node reported (`None`: not read yet, or the finality rule does
    /// not read it).
    pub head: Option<u64>,
    /// Reorganisations detected above the watcher's cursor.
    pub reorgs_above_cursor: u64,
    /// Reorganisations detected at or below it.
    pub reorgs_below_cursor: u64,
    /// Delivery transactions seen mined (success or revert).
    pub deliveries_mined: u64,
    /// Gas they used.
    pub gas_used: u64,
    /// What they cost, in the chain's smallest unit (wei).
    pub fees_wei: f64,
    /// The deliverer account's balance as last read, in wei.
    pub deliverer_balance_wei: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_class_with_latency() {
        let m = ChainMetrics::default();
        m.request("eth_getLogs", Duration::from_millis(3), false);
        m.request("eth_getLogs", Duration::from_millis(40), true);
        m.request("eth_sendRawTransaction", Duration::from_secs(60), false);
        let s = m.clone().snapshot();
        let logs = &s.requests[MethodClass::Logs.index()];
        assert_eq!((logs.calls, logs.errors), (2, 1));
        assert_eq!(logs.cumulative[2], 1, "3 ms is at or below 5 ms");
        assert_eq!(logs.cumulative[RPC_LATENCY_BUCKETS.len() - 1], 2);
        let send = &s.requests[MethodClass::Send.index()];
        assert_eq!(send.calls, 1);
        assert_eq!(
            send.cumulative[RPC_LATENCY_BUCKETS.len() - 1],
            0,
            "+Inf only"
        );
        assert!((logs.sum_seconds - 0.043).abs() < 1e-9);
    }

    #[test]
    fn head_keeps_the_highest_and_none_before_the_first() {
        let m = ChainMetrics::default();
        assert_eq!(m.snapshot().head, None);
        m.head(0);
        assert_eq!(m.snapshot().head, Some(0));
        m.head(7);
        m.head(5);
        assert_eq!(m.snapshot().head, Some(7));
    }

    #[test]
    fn spending_adds_up_and_balance_is_the_last_read() {
        let m = ChainMetrics::default();
        m.delivery_mined(21_000, 2);
        m.delivery_mined(100_000, 1);
        m.deliverer_balance(5);
        m.deliverer_balance(3);
        let s = m.snapshot();
        assert_eq!((s.deliveries_mined, s.gas_used), (2, 121_000));
        assert_eq!(s.fees_wei, 142_000.0);
        assert_eq!(s.deliverer_balance_wei, Some(3.0));
    }

    #[test]
    fn every_method_the_adapters_send_has_a_class_of_its_own() {
        for m in [
            "eth_blockNumber",
            "eth_getBlockByNumber",
            "eth_getLogs",
            "eth_getBlockReceipts",
            "eth_getProof",
            "eth_call",
            "eth_estimateGas",
            "eth_getTransactionCount",
            "eth_feeHistory",
            "eth_sendRawTransaction",
            "eth_getTransactionReceipt",
            "eth_getTransactionByHash",
            "eth_chainId",
            "eth_getBalance",
        ] {
            assert_ne!(MethodClass::of(m), MethodClass::Other, "{m}");
        }
        assert_eq!(
            MethodClass::of("debug_traceTransaction"),
            MethodClass::Other
        );
    }

    #[test]
    fn fabric_and_fisco_methods_share_the_evm_classes() {
        for (method, class) in [
            ("protos.Deliver/Deliver", MethodClass::Block),
            ("gateway.Gateway/ChaincodeEvents", MethodClass::Logs),
            ("gateway.Gateway/Evaluate", MethodClass::Call),
            ("gateway.Gateway/Endorse", MethodClass::Call),
            ("gateway.Gateway/Submit", MethodClass::Send),
            ("gateway.Gateway/CommitStatus", MethodClass::Receipt),
            ("getBlockNumber", MethodClass::Block),
            ("getBlockByNumber", MethodClass::Block),
            ("getTransactionReceipt", MethodClass::Receipt),
            ("sendTransaction", MethodClass::Send),
            ("call", MethodClass::Call),
            ("getCode", MethodClass::Account),
            ("getGroupInfo", MethodClass::Account),
            ("getSealerList", MethodClass::Account),
            ("getSystemConfigByKey", MethodClass::Account),
        ] {
            assert_eq!(MethodClass::of(method), class, "{method}");
        }
    }

    #[test]
    fn a_broken_stream_is_an_error_of_its_request() {
        let m = ChainMetrics::default();
        m.request("protos.Deliver/Deliver", Duration::from_millis(2), false);
        m.stream_failed("protos.Deliver/Deliver");
        let block = &m.snapshot().requests[MethodClass::Block.index()];
        assert_eq!((block.calls, block.errors), (1, 1));
    }
}
