//! `/metrics` rendering cost: a gateway with 10 lanes and 10 chains, 3 members, every
//! histogram filled; the snapshot is prebuilt, so this measures building the families and
//! writing the text format (the store reads of a real scrape are timed by
//! `causeway_scrape_duration_seconds`).

// criterion's macros define undocumented functions.
#![allow(missing_docs)]

use std::sync::Arc;

use causeway_monitoring::{
    ApiRouteFigures, ChainFigures, CheckpointFigures, GatewaySnapshot, Histogram, LaneCounters,
    LaneFigures, LaneStoreFigures, Metrics, NodeFigures, PeerFigures, RpcFigures, StatusCounts,
    StoreTransactionFigures, ValidatorFigures,
};
use causeway_monitoring::{EnvelopeFigures, EnvelopeOperation, Outcome};
use criterion::{Criterion, criterion_group, criterion_main};

fn histogram(seed: u64) -> Histogram {
    let bounds = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    Histogram {
        buckets: bounds
            .iter()
            .enumerate()
            .map(|(i, b)| (*b, seed + i as u64 * 10))
            .collect(),
        count: seed + 200,
        sum_seconds: seed as f64 * 0.5,
    }
}

fn gateway(lanes: usize, chains: usize) -> GatewaySnapshot {
    let members = ["org1", "org2", "org3"];
    GatewaySnapshot {
        member: "org1".into(),
        store_up: true,
        store_size_bytes: Some(1 << 30),
        chains: (0..chains)
            .map(|c| ChainFigures {
                chain: format!("chain-{c}"),
                final_height: Some(1_000_000 + c as u64),
                cursor_height: Some(999_990),
                log_leaves: Some(123_456),
                observed: 123_456,
                verified: 123_456,
                accepted: 123_456,
                source_errors: 7,
                invalid_proofs: 0,
                halted: false,
                stages: ["watch", "verify", "append"]
                    .into_iter()
                    .map(|s| (s, histogram(c as u64)))
                    .collect(),
                nodes: NodeFigures {
                    head_height: Some(1_000_012),
                    rpc: [
                        "block", "logs", "receipt", "proof", "call", "account", "send", "other",
                    ]
                    .into_iter()
                    .map(|method| RpcFigures {
                        method,
                        requests: 50_000,
                        errors: 3,
                        latency: histogram(c as u64),
                    })
                    .collect(),
                    reorgs_above_cursor: 1,
                    reorgs_below_cursor: 0,
                    deliveries_mined: 5_000,
                    delivery_gas: 1_500_000_000,
                    delivery_fees_wei: 3.0e18,
                    deliverer_balance_wei: Some(9.0e21),
                },
            })
            .collect(),
        lanes: (0..lanes)
            .map(|l| LaneFigures {
                lane: format!("lane-{l}"),
                origin: format!("chain-{}", l % chains),
                destination: format!("chain-{}", (l + 1) % chains),
                threshold: 2,
                validators_configured: 3,
                paused: false,
                store: Some(LaneStoreFigures {
                    messages: StatusCounts {
                        pending: 10,
                        leased: 2,
                        submitted: 3,
                        confirmed: 100_000,
                        dead_letter: 1,
                    },
                    oldest_pending_age_seconds: Some(4.5),
                    own_checkpoint: Some(CheckpointFigures {
                        size: 100_010,
                        age_seconds: 1.0,
                    }),
                    threshold_checkpoint: Some(CheckpointFigures {
                        size: 100_000,
                        age_seconds: 2.0,
                    }),
                    last_delivery_age_seconds: Some(3.0),
                    equivocators: 0,
                    validators: members
                        .iter()
                        .map(|m| ValidatorFigures {
                            member: (*m).into(),
                            checkpoints_signed: 5_000,
                            last_signed: Some(CheckpointFigures {
                                size: 100_010,
                                age_seconds: 1.5,
                            }),
                            equivocated: false,
                        })
                        .collect(),
                }),
                counters: LaneCounters {
                    checkpoints: 5_000,
                    confirmed: 100_000,
                    ..LaneCounters::default()
                },
                stages: ["attest", "submit", "confirm"]
                    .into_iter()
                    .map(|s| (s, histogram(l as u64)))
                    .collect(),
            })
            .collect(),
        peers: members[1..]
            .iter()
            .map(|m| PeerFigures {
                member: (*m).into(),
                connected: true,
                sessions: 1,
                signatures_received: 10_000,
                failures: 0,
                violations: 0,
            })
            .collect(),
        peer_server: Default::default(),
        store_transactions: ["pipeline", "api", "scrape"]
            .into_iter()
            .flat_map(|handle| {
                ["read", "write"]
                    .into_iter()
                    .map(move |kind| StoreTransactionFigures {
                        handle,
                        kind,
                        latency: histogram(3),
                        failures: 0,
                    })
            })
            .collect(),
        envelope_operations: EnvelopeOperation::ALL
            .into_iter()
            .flat_map(|operation| {
                Outcome::ALL
                    .into_iter()
                    .map(move |outcome| EnvelopeFigures {
                        operation,
                        outcome,
                        count: 7,
                    })
            })
            .collect(),
        anchors: Vec::new(),
        // Every route of the API, GET, with a few status codes each.
        api: [
            "/healthz",
            "/readyz",
            "/v1/openapi.json",
            "/v1/chains",
            "/v1/lanes",
            "/v1/messages",
            "/v1/messages/{id}",
            "/v1/messages/{id}/proof",
            "/v1/events",
            "/ui",
            "unmatched",
        ]
        .into_iter()
        .map(|route| ApiRouteFigures {
            route: route.into(),
            method: "GET",
            statuses: vec![(200, 10_000), (401, 12), (404, 40)],
            latency: histogram(7),
        })
        .collect(),
    }
}

fn render(c: &mut Criterion) {
    let snapshot = gateway(10, 10);
    let metrics = Metrics::new(Arc::new(move || snapshot.clone()), "0.1.0")
        .expect("the family table is valid");
    let size = metrics.render().expect("renders").len();
    eprintln!("render/10 lanes, 10 chains: {size} bytes per scrape");
    c.bench_function("render/10 lanes, 10 chains", |b| {
        b.iter(|| metrics.render().expect("renders"))
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
