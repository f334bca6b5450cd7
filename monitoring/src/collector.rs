//! [`GatewayCollector`]: a `prometheus` collector that builds every family of
//! [`crate::Family`] from a [`GatewaySnapshot`] taken at scrape time, so the pipeline keeps
//! its own counters and nothing is counted twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{Encoder, Registry, TextEncoder};

use crate::Error;
use crate::families::{Family, Kind};
use crate::snapshot::{GatewaySnapshot, Histogram};

/// What a scrape reads the gateway's figures from.
pub trait SnapshotSource: Send + Sync {
    /// The figures now. May block (store queries): the server calls it off the async
    /// runtime's workers.
    fn snapshot(&self) -> GatewaySnapshot;
}

impl<F: Fn() -> GatewaySnapshot + Send + Sync> SnapshotSource for F {
    fn snapshot(&self) -> GatewaySnapshot {
        self()
    }
}

/// Builds every family from a snapshot at each collection.
pub struct GatewayCollector {
    source: Arc<dyn SnapshotSource>,
    version: String,
    descs: Vec<Desc>,
}

impl std::fmt::Debug for GatewayCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayCollector")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl GatewayCollector {
    /// A collector over `source`, reporting `version` in `causeway_build_info`.
    pub fn new(source: Arc<dyn SnapshotSource>, version: &str) -> Result<Self, Error> {
        let descs = Family::ALL
            .iter()
            .map(|f| {
                let s = f.spec();
                Desc::new(
                    s.name.to_owned(),
                    s.help.to_owned(),
                    s.labels.iter().map(|l| (*l).to_owned()).collect(),
                    HashMap::new(),
                )
                .map_err(|e| Error::Family {
                    name: s.name,
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GatewayCollector {
            source,
            version: version.to_owned(),
            descs,
        })
    }
}

impl Collector for GatewayCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let started = Instant::now();
        let snapshot = self.source.snapshot();
        let mut out = families(&snapshot, &self.version);
        out.gauge(Family::ScrapeDuration, &[], started.elapsed().as_secs_f64());
        out.finish()
    }
}

/// A registry with a [`GatewayCollector`] over `source`: what `/metrics` serves.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// The metrics of a gateway whose figures `source` gives, reporting `version`.
    pub fn new(source: Arc<dyn SnapshotSource>, version: &str) -> Result<Self, Error> {
        let registry = Registry::new();
        registry
            .register(Box::new(GatewayCollector::new(source, version)?))
            .map_err(|e| Error::Family {
                name: "causeway_*",
                reason: e.to_string(),
            })?;
        Ok(Metrics { registry })
    }

    /// The registry (to register more collectors, e.g. in tests).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Gathers every family and writes the text exposition format. Blocks while the
    /// snapshot is taken.
    pub fn render(&self) -> Result<String, Error> {
        let families = self.registry.gather();
        let mut buf = Vec::with_capacity(16 * 1024);
        TextEncoder::new()
            .encode(&families, &mut buf)
            .map_err(|e| Error::Encode {
                reason: e.to_string(),
            })?;
        String::from_utf8(buf).map_err(|e| Error::Encode {
            reason: e.to_string(),
        })
    }
}

/// The Content-Type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Families under construction, keyed by family.
struct Builder {
    families: BTreeMap<Family, MetricFamily>,
}

fn labels(family: Family, values: &[&str]) -> Vec<proto::LabelPair> {
    let names = family.spec().labels;
    debug_assert_eq!(names.len(), values.len(), "{:?}", family);
    names
        .iter()
        .zip(values)
        .map(|(n, v)| {
            let mut pair = proto::LabelPair::default();
            pair.set_name((*n).to_owned());
            pair.set_value((*v).to_owned());
            pair
        })
        .collect()
}

impl Builder {
    fn new() -> Self {
        Builder {
            families: BTreeMap::new(),
        }
    }

    fn family(&mut self, family: Family) -> &mut MetricFamily {
        self.families.entry(family).or_insert_with(|| {
            let s = family.spec();
            let mut mf = MetricFamily::default();
            mf.set_name(s.name.to_owned());
            mf.set_help(s.help.to_owned());
            mf.set_field_type(match s.kind {
                Kind::Counter => MetricType::COUNTER,
                Kind::Gauge => MetricType::GAUGE,
                Kind::Histogram => MetricType::HISTOGRAM,
            });
            mf
        })
    }

    fn gauge(&mut self, family: Family, values: &[&str], v: f64) {
        debug_assert_eq!(family.spec().kind, Kind::Gauge, "{family:?}");
        let mut g = proto::Gauge::default();
        g.set_value(v);
        let mut m = proto::Metric::from_label(labels(family, values));
        m.set_gauge(g);
        self.family(family).mut_metric().push(m);
    }

    fn flag(&mut self, family: Family, values: &[&str], on: bool) {
        self.gauge(family, values, if on { 1.0 } else { 0.0 });
    }

    fn counter(&mut self, family: Family, values: &[&str], v: u64) {
        self.counter_f64(family, values, v as f64);
    }

    fn counter_f64(&mut self, family: Family, values: &[&str], v: f64) {
        debug_assert_eq!(family.spec().kind, Kind::Counter, "{family:?}");
        let mut c = proto::Counter::default();
        c.set_value(v);
        let mut m = proto::Metric::from_label(labels(family, values));
        m.set_counter(c);
        self.family(family).mut_metric().push(m);
    }

    fn histogram(&mut self, family: Family, values: &[&str], h: &Histogram) {
        debug_assert_eq!(family.spec().kind, Kind::Histogram, "{family:?}");
        let mut p = proto::Histogram::default();
        p.set_sample_count(h.count);
        p.set_sample_sum(h.sum_seconds);
        p.set_bucket(
            h.buckets
                .iter()
                .map(|(bound, count)| {
                    let mut b = proto::Bucket::default();
                    b.set_upper_bound(*bound);
                    b.set_cumulative_count(*count);
                    b
                })
                .collect(),
        );
        let mut m = proto::Metric::from_label(labels(family, values));
        m.set_histogram(p);
        self.family(family).mut_metric().push(m);
    }

    fn finish(self) -> Vec<MetricFamily> {
        self.families.into_values().collect()
    }
}

/// Every family of `s` (all but the scrape duration, which the collector adds).
fn families(s: &GatewaySnapshot, version: &str) -> Builder {
    use Family as F;
    let mut b = Builder::new();
    b.gauge(F::BuildInfo, &[&s.member, version], 1.0);
    b.flag(F::StoreUp, &[], s.store_up);
    if let Some(size) = s.store_size_bytes {
        b.gauge(F::StoreSize, &[], size as f64);
    }
    for c in &s.chains {
        let chain = [c.chain.as_str()];
        if let Some(h) = c.final_height {
            b.gauge(F::ChainFinalHeight, &chain, h as f64);
        }
        if let Some(h) = c.cursor_height {
            b.gauge(F::ChainCursorHeight, &chain, h as f64);
        }
        if let (Some(f), Some(cur)) = (c.final_height, c.cursor_height) {
            b.gauge(F::ChainWatchLag, &chain, f.saturating_sub(cur) as f64);
        }
        if let Some(n) = c.log_leaves {
            b.gauge(F::LogLeaves, &chain, n as f64);
        }
        b.counter(F::ChainObserved, &chain, c.observed);
        b.counter(F::ChainVerified, &chain, c.verified);
        b.counter(F::ChainAccepted, &chain, c.accepted);
        b.counter(F::ChainSourceErrors, &chain, c.source_errors);
        b.counter(F::ChainInvalidProofs, &chain, c.invalid_proofs);
        b.flag(F::ChainHalted, &chain, c.halted);
        for (stage, h) in &c.stages {
            b.histogram(F::OriginStageDuration, &[&c.chain, stage], h);
        }
        let n = &c.nodes;
        if let Some(head) = n.head_height {
            b.gauge(F::ChainHeadHeight, &chain, head as f64);
            if let Some(cur) = c.cursor_height {
                b.gauge(F::ChainHeadLag, &chain, head.saturating_sub(cur) as f64);
            }
        }
        for r in &n.rpc {
            let key = [c.chain.as_str(), r.method];
            b.counter(F::ChainRpcRequests, &key, r.requests);
            b.counter(F::ChainRpcErrors, &key, r.errors);
            b.histogram(F::ChainRpcDuration, &key, &r.latency);
        }
        b.counter(
            F::ChainReorgs,
            &[&c.chain, "above_cursor"],
            n.reorgs_above_cursor,
        );
        b.counter(
            F::ChainReorgs,
            &[&c.chain, "below_cursor"],
            n.reorgs_below_cursor,
        );
        b.counter(F::ChainDeliveriesMined, &chain, n.deliveries_mined);
        b.counter(F::ChainDeliveryGas, &chain, n.delivery_gas);
        b.counter_f64(F::ChainDeliveryFees, &chain, n.delivery_fees_wei);
        if let Some(balance) = n.deliverer_balance_wei {
            b.gauge(F::ChainDelivererBalance, &chain, balance);
        }
    }
    for t in &s.store_transactions {
        let key = [t.handle, t.kind];
        b.histogram(F::StoreTransactionDuration, &key, &t.latency);
        b.counter(F::StoreTransactionFailures, &key, t.failures);
    }
    for e in &s.envelope_operations {
        let key = [e.operation.as_str(), e.outcome.as_str()];
        b.counter(F::EnvelopeOperations, &key, e.count);
    }
    for a in &s.anchors {
        let key = [a.anchoring.as_str()];
        b.gauge(F::AnchorInfo, &[&a.anchoring, &a.origin, &a.chain], 1.0);
        b.counter(F::AnchorsSent, &key, a.sent);
        b.counter(F::AnchorsLanded, &key, a.landed);
        b.counter(F::AnchorsStale, &key, a.stale);
        b.counter(F::AnchorsFailed, &key, a.failed);
        b.gauge(F::AnchoredSize, &key, a.anchored_size as f64);
    }
    for a in &s.api {
        for (status, n) in &a.statuses {
            let status = status.to_string();
            b.counter(F::ApiRequests, &[&a.route, a.method, &status], *n);
        }
        b.histogram(F::ApiRequestDuration, &[&a.route, a.method], &a.latency);
    }
    for l in &s.lanes {
        let lane = [l.lane.as_str()];
        b.gauge(F::LaneInfo, &[&l.lane, &l.origin, &l.destination], 1.0);
        b.gauge(F::LaneThreshold, &lane, l.threshold as f64);
        b.gauge(F::LaneValidators, &lane, l.validators_configured as f64);
        b.flag(F::LanePaused, &lane, l.paused);
        if let Some(st) = &l.store {
            let m = st.messages;
            for (status, n) in [
                ("pending", m.pending),
                ("leased", m.leased),
                ("submitted", m.submitted),
                ("confirmed", m.confirmed),
                ("dead_letter", m.dead_letter),
            ] {
                b.gauge(F::LaneMessages, &[&l.lane, status], n as f64);
            }
            let backlog = m
                .pending
                .saturating_add(m.leased)
                .saturating_add(m.submitted);
            b.gauge(F::LaneBacklog, &lane, backlog as f64);
            b.gauge(
                F::LaneOldestPendingAge,
                &lane,
                st.oldest_pending_age_seconds.unwrap_or(0.0),
            );
            for (kind, cp) in [
                ("own", st.own_checkpoint),
                ("threshold", st.threshold_checkpoint),
            ] {
                if let Some(cp) = cp {
                    b.gauge(F::LaneCheckpointSize, &[&l.lane, kind], cp.size as f64);
                    b.gauge(F::LaneCheckpointAge, &[&l.lane, kind], cp.age_seconds);
                }
            }
            if let Some(age) = st.last_delivery_age_seconds {
                b.gauge(F::LaneLastDeliveryAge, &lane, age);
            }
            b.gauge(F::LaneEquivocators, &lane, st.equivocators as f64);
            for v in &st.validators {
                let key = [l.lane.as_str(), v.member.as_str()];
                b.counter(F::ValidatorCheckpoints, &key, v.checkpoints_signed);
                if let Some(last) = v.last_signed {
                    b.gauge(F::ValidatorLastSize, &key, last.size as f64);
                    b.gauge(F::ValidatorLastAge, &key, last.age_seconds);
                }
                b.flag(F::ValidatorEquivocated, &key, v.equivocated);
            }
        }
        let c = &l.counters;
        for (family, v) in [
            (F::LaneCheckpointsSigned, c.checkpoints),
            (F::LaneMemberSignatures, c.member_signatures),
            (F::LaneMemberSignaturesInvalid, c.invalid_member_signatures),
            (F::LaneRootMismatches, c.root_mismatches),
            (F::LaneEquivocations, c.equivocations),
            (F::LaneSubmissions, c.submissions),
            (F::LaneMessagesSubmitted, c.messages_submitted),
            (F::LaneDuplicates, c.duplicates),
            (F::LaneSubmitFailures, c.submit_failures),
            (F::LaneConfirmed, c.confirmed),
            (F::LaneRecipientFailures, c.recipient_failures),
            (F::LaneReverts, c.reverts),
            (F::LaneTakenOver, c.taken_over),
            (F::LaneDeadLetters, c.dead_letters),
        ] {
            b.counter(family, &lane, v);
        }
        b.gauge(F::LaneInFlight, &lane, c.in_flight as f64);
        b.gauge(F::LaneInFlightMax, &lane, c.max_in_flight as f64);
        for (stage, h) in &l.stages {
            b.histogram(F::LaneStageDuration, &[&l.lane, stage], h);
        }
    }
    for p in &s.peers {
        let member = [p.member.as_str()];
        b.flag(F::PeerConnected, &member, p.connected);
        b.counter(F::PeerSessions, &member, p.sessions);
        b.counter(F::PeerSignaturesReceived, &member, p.signatures_received);
        b.counter(F::PeerFailures, &member, p.failures);
        b.counter(F::PeerViolations, &member, p.violations);
    }
    let ps = s.peer_server;
    for (result, n) in [
        ("accepted", ps.accepted),
        ("refused", ps.refused),
        ("over_limit", ps.over_limit),
    ] {
        b.counter(F::PeerServerConnections, &[result], n);
    }
    b.gauge(F::PeerServerStreams, &[], ps.streams_open as f64);
    b
}
