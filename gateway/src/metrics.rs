//! `/metrics` of a running gateway: [`start`] serves `causeway_monitoring`'s families on
//! `[monitoring] listen`, filled at each scrape from the relayer's own counters and stage
//! histograms, the store (through its own read-only connection, so a scrape never waits for
//! the pipeline's writes nor holds them up) and the peer protocol's links.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use causeway_adapters::metrics::{ChainMetrics, ChainMetricsSnapshot, RPC_LATENCY_BUCKETS};
use causeway_config::{Config, Storage};
use causeway_monitoring::{
    AnchorFigures, ApiRouteFigures, ChainFigures, CheckpointFigures, EnvelopeFigures,
    EnvelopeOperation, GatewaySnapshot, Histogram, LaneCounters, LaneFigures, LaneStoreFigures,
    Metrics, MetricsServer, NodeFigures, Outcome, PeerFigures, PeerServerFigures, RpcFigures,
    SnapshotSource, StatusCounts, StoreTransactionFigures, ValidatorFigures,
};
use causeway_peer::{LinkState, PeerStatusReader, ServerStats};
use causeway_relayer::pipeline::{LATENCY_BUCKETS, LatencySnapshot, PipelineMetricsReader};
use causeway_relayer::store::{Lane, SqliteOptions, SqliteStore, Store, StoreTimings, UnixMillis};

use crate::api::ApiRequests;
use crate::lanes::LaneState;

/// The build reported by `causeway_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `handle` label of the pipeline's store handle's transactions.
pub const HANDLE_PIPELINE: &str = "pipeline";
/// The `handle` label of the HTTP API's store handles' transactions.
pub const HANDLE_API: &str = "api";
/// The `handle` label of the transactions of `/metrics`' own read-only store handle.
pub const HANDLE_SCRAPE: &str = "scrape";

/// What the gateway's parts observe as it happens, read at each scrape: the chains' adapters
/// (requests to the nodes, heads, reorganisations, deliveries' spending) and the API's requests.
#[derive(Clone, Default)]
pub struct Observed {
    /// Per chain name, what its adapters count.
    pub chains: Vec<(String, ChainMetrics)>,
    /// The API's request counts (envelope operations are counted from them too).
    pub api: ApiRequests,
    /// Store handles' transaction timings (SQLite) by handle label ([`HANDLE_PIPELINE`],
    /// [`HANDLE_API`]); the scrape's own handle is added by [`GatewayFigures`].
    pub store_handles: Vec<(&'static str, StoreTimings)>,
    /// What the anchoring tasks did, per anchoring.
    pub anchors: crate::anchor::AnchorMetrics,
    /// The store a scrape reads when it opens no handle of its own (PostgreSQL: the gateway's
    /// pooled handle; SQLite gets a read-only connection of its own).
    pub store: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("chains", &self.chains)
            .field("api", &self.api)
            .field("store_handles", &self.store_handles)
            .field("store", &self.store.as_ref().map(|_| "shared"))
            .finish_non_exhaustive()
    }
}

/// Starts the `/metrics` listener of a gateway configured by `config`, reading `relayer`'s
/// and `peer`'s figures, what `observed` counts and the store; it stops when `shutdown`
/// completes. The store must exist (the node opened it first).
pub async fn start(
    config: &Config,
    relayer: PipelineMetricsReader,
    peer: PeerStatusReader,
    observed: Observed,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<MetricsServer> {
    let source = GatewayFigures::new(config, relayer, peer)?.observing(observed);
    let metrics = Metrics::new(Arc::new(source), VERSION).context("the metric families")?;
    let listen = config.monitoring().listen;
    MetricsServer::start(listen, metrics, shutdown)
        .await
        .context("starting the /metrics listener ([monitoring] listen)")
}

/// Where a scrape reads a gateway's figures.
pub struct GatewayFigures {
    config: Arc<Config>,
    store: Option<Arc<dyn Store>>,
    /// The timings of the scrape's own (SQLite) handle.
    scrape_timings: Option<StoreTimings>,
    store_path: Option<PathBuf>,
    relayer: PipelineMetricsReader,
    peer: PeerStatusReader,
    observed: Observed,
}

impl GatewayFigures {
    /// Opens a read-only connection to `config`'s store (SQLite) beside the gateway's own.
    pub fn new(
        config: &Config,
        relayer: PipelineMetricsReader,
        peer: PeerStatusReader,
    ) -> Result<Self> {
        let (store, store_path) = match config.storage() {
            Storage::Sqlite { path } => (
                Some(
                    SqliteStore::open_read_only(path, SqliteOptions::default()).with_context(
                        || {
                            format!(
                                "opening the store {} read-only for /metrics",
                                path.display()
                            )
                        },
                    )?,
                ),
                Some(path.clone()),
            ),
            _ => (None, None),
        };
        Ok(GatewayFigures {
            config: Arc::new(config.clone()),
            scrape_timings: store.as_ref().map(SqliteStore::timings),
            store: store.map(|s| Arc::new(s) as Arc<dyn Store>),
            store_path,
            relayer,
            peer,
            observed: Observed::default(),
        })
    }

    /// These figures with what `observed` counts (and the scrape's own store handle's
    /// timings).
    pub fn observing(mut self, mut observed: Observed) -> Self {
        if let Some(timings) = &self.scrape_timings {
            observed
                .store_handles
                .push((HANDLE_SCRAPE, timings.clone()));
        }
        if self.store.is_none() {
            self.store = observed.store.take();
        }
        self.observed = observed;
        self
    }

    /// What the adapters of the chain named `name` observed (nothing when not wired).
    fn nodes(&self, name: &str) -> NodeFigures {
        self.observed
            .chains
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| node_figures(&m.snapshot()))
            .unwrap_or_default()
    }

    /// Size of the SQLite database and its write-ahead log.
    fn store_size(&self) -> Option<u64> {
        let path = self.store_path.as_ref()?;
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        Some(size(path) + size(std::path::Path::new(&wal)))
    }
}

fn histogram(h: &LatencySnapshot) -> Histogram {
    Histogram {
        buckets: LATENCY_BUCKETS
            .iter()
            .copied()
            .zip(h.cumulative.iter().copied())
            .collect(),
        count: h.count,
        sum_seconds: h.sum_micros as f64 / 1e6,
    }
}

fn node_figures(s: &ChainMetricsSnapshot) -> NodeFigures {
    NodeFigures {
        head_height: s.head,
        rpc: s
            .requests
            .iter()
            .map(|r| RpcFigures {
                method: r.class.as_str(),
                requests: r.calls,
                errors: r.errors,
                latency: Histogram {
                    buckets: RPC_LATENCY_BUCKETS
                        .iter()
                        .copied()
                        .zip(r.cumulative.iter().copied())
                        .collect(),
                    count: r.calls,
                    sum_seconds: r.sum_seconds,
                },
            })
            .collect(),
        reorgs_above_cursor: s.reorgs_above_cursor,
        reorgs_below_cursor: s.reorgs_below_cursor,
        deliveries_mined: s.deliveries_mined,
        delivery_gas: s.gas_used,
        delivery_fees_wei: s.fees_wei,
        deliverer_balance_wei: s.deliverer_balance_wei,
    }
}

/// Envelope operations since the gateway started, every operation and outcome class (zeros
/// included, so a dashboard always has the series): the API's from its responses to the
/// routes of [`crate::api::envelopes::OPERATIONS`], fetches from the peer server's counters.
pub fn envelope_operations(api: &[ApiRouteFigures], peer: &ServerStats) -> Vec<EnvelopeFigures> {
    // Indexed by the enums' discriminants, which follow their `ALL` order.
    let mut counts = [[0u64; Outcome::ALL.len()]; EnvelopeOperation::ALL.len()];
    let fetch = &mut counts[EnvelopeOperation::Fetch as usize];
    for (outcome, n) in [
        (Outcome::Ok, peer.envelopes_served),
        (Outcome::Denied, peer.envelopes_denied),
        (Outcome::NotFound, peer.envelopes_not_found),
        (Outcome::Rejected, peer.envelopes_rejected),
        (Outcome::Error, peer.envelopes_failed),
    ] {
        fetch[outcome as usize] += n;
    }
    for route in api {
        let Some((_, _, op)) = crate::api::envelopes::OPERATIONS
            .iter()
            .find(|(method, template, _)| *method == route.method && *template == route.route)
        else {
            continue;
        };
        for (status, n) in &route.statuses {
            counts[*op as usize][Outcome::of_http(*status) as usize] += n;
        }
    }
    EnvelopeOperation::ALL
        .iter()
        .zip(counts)
        .flat_map(|(operation, row)| {
            Outcome::ALL
                .iter()
                .zip(row)
                .map(|(outcome, count)| EnvelopeFigures {
                    operation: *operation,
                    outcome: *outcome,
                    count,
                })
        })
        .collect()
}

fn age(now: UnixMillis, then: UnixMillis) -> f64 {
    now.saturating_since(then).as_secs_f64()
}

impl SnapshotSource for GatewayFigures {
    fn snapshot(&self) -> GatewaySnapshot {
        let now = UnixMillis::now();
        let pipeline = self.relayer.snapshot();
        let halted = self.relayer.halted_origins();
        let config = &self.config;
        let mut store_up = self.store.is_some();
        let stats = match self.store.as_ref().map(|s| s.lane_stats()) {
            Some(Ok(stats)) => Some(stats),
            Some(Err(e)) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "/metrics: reading the lanes' backlogs failed"
                );
                store_up = false;
                None
            }
            None => None,
        };
        let chains = config
            .chains()
            .iter()
            .filter_map(|chain| {
                let o = pipeline.origins.get(&chain.domain)?;
                let (cursor, leaves) = match &self.store {
                    Some(store) => match (store.cursor(chain.domain), store.log_size(chain.domain)) {
                        (Ok(cursor), Ok(size)) => (cursor.map(|c| c.block_number), Some(size.0)),
                        (Err(e), _) | (_, Err(e)) => {
                            tracing::warn!(chain = %chain.name, error = &e as &dyn std::error::Error, "/metrics: reading the chain's cursor failed");
                            store_up = false;
                            (None, None)
                        }
                    },
                    None => (None, None),
                };
                Some(ChainFigures {
                    chain: chain.name.clone(),
                    final_height: (o.final_height > 0 || cursor.is_some()).then_some(o.final_height),
                    cursor_height: cursor,
                    log_leaves: leaves,
                    observed: o.observed,
                    verified: o.verified,
                    accepted: o.accepted,
                    source_errors: o.source_errors,
                    invalid_proofs: o.invalid_proofs,
                    halted: halted.contains(&chain.domain),
                    stages: vec![
                        ("watch", histogram(&o.watch_seconds)),
                        ("verify", histogram(&o.verify_seconds)),
                        ("append", histogram(&o.append_seconds)),
                    ],
                    nodes: self.nodes(&chain.name),
                })
            })
            .collect();
        let own = config.own_member().validator_address;
        let lanes = config
            .lanes()
            .iter()
            .map(|lane| {
                let key = Lane {
                    origin: lane.origin.domain,
                    destination: lane.destination.domain,
                };
                let store = match (&self.store, &stats) {
                    (Some(store), Some(stats)) => match LaneState::read(store.as_ref(), lane, stats, 0) {
                        Ok(state) => Some(lane_store(&state, lane, own, now)),
                        Err(e) => {
                            tracing::warn!(lane = %lane.name, error = format!("{e:#}"), "/metrics: reading the lane failed");
                            store_up = false;
                            None
                        }
                    },
                    _ => None,
                };
                let m = pipeline.lane(key);
                LaneFigures {
                    lane: lane.name.clone(),
                    origin: lane.origin.name.clone(),
                    destination: lane.destination.name.clone(),
                    threshold: u64::from(lane.threshold),
                    validators_configured: lane.validators.len() as u64,
                    paused: lane.paused,
                    store,
                    counters: LaneCounters {
                        checkpoints: m.checkpoints,
                        member_signatures: m.member_signatures,
                        invalid_member_signatures: m.invalid_member_signatures,
                        root_mismatches: m.root_mismatches,
                        equivocations: m.equivocations,
                        submissions: m.submissions,
                        messages_submitted: m.messages_submitted,
                        duplicates: m.already_delivered,
                        submit_failures: m.submit_failures,
                        confirmed: m.confirmed,
                        recipient_failures: m.failed_at_recipient,
                        reverts: m.reverted,
                        taken_over: m.taken_over,
                        dead_letters: m.dead_letters,
                        in_flight: m.in_flight,
                        max_in_flight: m.max_in_flight,
                    },
                    stages: vec![
                        ("attest", histogram(&m.attest_seconds)),
                        ("submit", histogram(&m.submit_seconds)),
                        ("confirm", histogram(&m.confirm_seconds)),
                    ],
                }
            })
            .collect();
        let peers = self
            .peer
            .peers()
            .into_iter()
            .map(|p| PeerFigures {
                connected: p.state == LinkState::Connected,
                sessions: p.sessions,
                signatures_received: p.signatures_received,
                failures: p.failures,
                violations: p.violations,
                member: p.member,
            })
            .collect();
        let s = self.peer.server_stats();
        let api = self.observed.api.snapshot();
        let envelope_operations = envelope_operations(&api, &s);
        GatewaySnapshot {
            member: config.own_member().name.clone(),
            store_up,
            store_size_bytes: self.store_size(),
            chains,
            lanes,
            peers,
            peer_server: PeerServerFigures {
                accepted: s.connections_accepted,
                refused: s.handshakes_refused,
                over_limit: s.connections_over_limit,
                streams_open: s.streams_open,
            },
            api,
            store_transactions: self
                .observed
                .store_handles
                .iter()
                .flat_map(|&(handle, ref t)| {
                    let s = t.snapshot();
                    [
                        StoreTransactionFigures {
                            handle,
                            kind: "read",
                            latency: histogram(&s.read),
                            failures: s.read_failures,
                        },
                        StoreTransactionFigures {
                            handle,
                            kind: "write",
                            latency: histogram(&s.write),
                            failures: s.write_failures,
                        },
                    ]
                })
                .collect(),
            envelope_operations,
            anchors: self.anchors(),
        }
    }
}

impl GatewayFigures {
    /// What the anchoring tasks counted, per configured anchoring.
    fn anchors(&self) -> Vec<AnchorFigures> {
        use std::sync::atomic::Ordering::Relaxed;
        self.config
            .anchors()
            .iter()
            .map(|a| {
                let counted = self
                    .observed
                    .anchors
                    .all()
                    .iter()
                    .find(|(name, _)| *name == a.name)
                    .map(|(_, c)| std::sync::Arc::clone(c))
                    .unwrap_or_default();
                AnchorFigures {
                    anchoring: a.name.clone(),
                    origin: a.origin.name.clone(),
                    chain: a.chain.name.clone(),
                    sent: counted.sent.load(Relaxed),
                    landed: counted.landed.load(Relaxed),
                    stale: counted.stale.load(Relaxed),
                    failed: counted.failed.load(Relaxed),
                    anchored_size: counted.anchored_size.load(Relaxed),
                }
            })
            .collect()
    }
}

/// The store's figures of one lane.
fn lane_store(
    state: &LaneState,
    lane: &causeway_config::Lane,
    own: causeway_proofs::EvmAddress,
    now: UnixMillis,
) -> LaneStoreFigures {
    let c = state.counts;
    LaneStoreFigures {
        messages: StatusCounts {
            pending: c.pending,
            leased: c.leased,
            submitted: c.submitted,
            confirmed: c.confirmed,
            dead_letter: c.dead_letter,
        },
        oldest_pending_age_seconds: state.oldest_pending_since.map(|t| age(now, t)),
        own_checkpoint: state.activity_of(own).map(|a| CheckpointFigures {
            size: a.last_size.0,
            age_seconds: age(now, a.last_recorded_at),
        }),
        threshold_checkpoint: state
            .threshold_checkpoint
            .as_ref()
            .map(|t| CheckpointFigures {
                size: t.checkpoint.size().0,
                age_seconds: age(now, t.recorded_at),
            }),
        last_delivery_age_seconds: state.last_delivery.map(|d| age(now, d.confirmed_at)),
        equivocators: state.equivocators.len() as u64,
        validators: lane
            .validators
            .iter()
            .map(|v| {
                let a = state.activity_of(v.address);
                ValidatorFigures {
                    member: v.member.clone(),
                    checkpoints_signed: a.map_or(0, |a| a.checkpoints),
                    last_signed: a.map(|a| CheckpointFigures {
                        size: a.last_size.0,
                        age_seconds: age(now, a.last_recorded_at),
                    }),
                    equivocated: state.equivocators.contains(&v.address),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn count(figures: &[EnvelopeFigures], operation: EnvelopeOperation, outcome: Outcome) -> u64 {
        figures
            .iter()
            .find(|f| f.operation == operation && f.outcome == outcome)
            .map(|f| f.count)
            .unwrap()
    }

    #[test]
    fn envelope_operations_come_from_the_api_responses_and_the_peer_server() {
        let route = |method, route: &str, statuses: Vec<(u16, u64)>| ApiRouteFigures {
            route: route.into(),
            method,
            statuses,
            latency: Histogram::default(),
        };
        let api = [
            route(
                "POST",
                "/v1/envelopes/{id}/decrypt",
                vec![(200, 3), (403, 2), (503, 1)],
            ),
            route(
                "POST",
                "/v1/envelopes/{id}/grants",
                vec![(201, 1), (409, 1)],
            ),
            route(
                "DELETE",
                "/v1/envelopes/{id}/grants/{member}",
                vec![(200, 1)],
            ),
            route(
                "GET",
                "/v1/messages/{id}/disclosure",
                vec![(200, 4), (404, 1)],
            ),
            // Not envelope operations: another route, and a method the route does not serve.
            route("GET", "/v1/messages/{id}", vec![(200, 9)]),
            route("GET", "/v1/envelopes/{id}/decrypt", vec![(405, 9)]),
        ];
        let mut peer = ServerStats::default();
        peer.envelopes_served = 5;
        peer.envelopes_denied = 2;
        peer.envelopes_failed = 1;
        let f = envelope_operations(&api, &peer);
        assert_eq!(f.len(), EnvelopeOperation::ALL.len() * Outcome::ALL.len());
        use EnvelopeOperation as Op;
        for (op, outcome, n) in [
            (Op::Decrypt, Outcome::Ok, 3),
            (Op::Decrypt, Outcome::Denied, 2),
            (Op::Decrypt, Outcome::Error, 1),
            (Op::Decrypt, Outcome::Rejected, 0),
            (Op::Grant, Outcome::Ok, 1),
            (Op::Grant, Outcome::Rejected, 1),
            (Op::Revoke, Outcome::Ok, 1),
            (Op::Disclosure, Outcome::Ok, 4),
            (Op::Disclosure, Outcome::NotFound, 1),
            (Op::Read, Outcome::Ok, 0),
            (Op::Fetch, Outcome::Ok, 5),
            (Op::Fetch, Outcome::Denied, 2),
            (Op::Fetch, Outcome::Error, 1),
        ] {
            assert_eq!(count(&f, op, outcome), n, "{op:?} {outcome:?}");
        }
        let total: u64 = f.iter().map(|e| e.count).sum();
        assert_eq!(total, 3 + 2 + 1 + 1 + 1 + 1 + 4 + 1 + 5 + 2 + 1);
    }

    #[tokio::test]
    async fn every_envelope_operation_names_a_route_of_the_api() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("store.db")).unwrap());
        let state = crate::api::ApiState::new(
            store,
            Vec::new(),
            Vec::new(),
            tokio_util::sync::CancellationToken::new(),
        );
        let (_, doc) = crate::api::router(state);
        for (method, template, op) in crate::api::envelopes::OPERATIONS {
            let item = doc
                .paths
                .paths
                .get(template)
                .unwrap_or_else(|| panic!("{op:?}: no route {template}"));
            let served = match method {
                "GET" => item.get.is_some(),
                "POST" => item.post.is_some(),
                "DELETE" => item.delete.is_some(),
                other => panic!("{other}"),
            };
            assert!(served, "{op:?}: {template} serves no {method}");
        }
    }
}
