//! Operators' limits on a lane: a paused lane delivers nothing (its messages are still logged
//! and attested) and delivers them all once resumed; a rate-limited lane delivers no more than
//! its limit per window.

use std::sync::Arc;
use std::time::Duration;

use causeway_proofs::HashAlgorithm;
use causeway_relayer::pipeline::{DeliveryRate, LaneConfig, LaneLimits, LocalSigner, OriginConfig};
use causeway_relayer::store::SqliteStore;
use causeway_relayer::{Relayer, RelayerHandle};

use crate::support::pipeline::*;

const N: u64 = 40;

async fn start(s: &Solo, probe: &Arc<Probe>, limits: LaneLimits) -> RelayerHandle {
    let store = Arc::new(SqliteStore::open(&s.db).unwrap());
    Relayer::new(store, Arc::new(LocalSigner::new(key(0))), test_config())
        .origin(OriginConfig {
            source: Arc::new(s.source.clone()),
            verifier: Arc::new(s.source.clone()),
            start_height: 0,
        })
        .lane(LaneConfig {
            limits,
            destination: Arc::clone(probe) as _,
            signing_domain: signing_domain(),
            validators: validators(&[key(0)], 1),
            hash_algorithm: HashAlgorithm::Sha256,
            batch_size: 8,
            rota: None,
        })
        .spawn()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_lane_logs_and_attests_but_delivers_only_once_resumed() {
    let s = Solo::new(N, 5);
    let probe = Arc::new(s.probe());
    let paused = LaneLimits {
        paused: true,
        rate: None,
        attest_only: false,
    };
    let handle = start(&s, &probe, paused).await;
    // Every message is accepted and covered by a signed checkpoint...
    let p = wait_until(&handle, Duration::from_secs(30), |p| counts(p).pending == N).await;
    assert!(p.halted.is_empty(), "{:?}", p.halted);
    metrics_when(&handle, |m| m.all_lanes().checkpoints >= 1).await;
    // ...and nothing goes out for several delivery polls.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = handle.progress().await.unwrap();
    assert_eq!(counts(&p).pending, N, "{p:?}");
    assert!(probe.deliveries().is_empty(), "a paused lane delivered");
    assert_eq!(handle.metrics().all_lanes().submissions, 0);
    handle.shutdown().await;

    // Resumed (the configuration no longer pauses it): everything delivered, once.
    let handle = start(&s, &probe, LaneLimits::default()).await;
    let p = wait_until(&handle, Duration::from_secs(30), |p| {
        counts(p).confirmed == N
    })
    .await;
    assert_settled(&counts(&p));
    handle.shutdown().await;
    let delivered = probe.deliveries();
    assert_eq!(delivered.len() as u64, N);
    assert!(delivered.values().all(|n| *n == 1), "each message once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_lane_delivers_no_more_than_its_limit_per_window() {
    let s = Solo::new(N, 5);
    let probe = Arc::new(s.probe());
    let limited = LaneLimits {
        paused: false,
        rate: Some(DeliveryRate {
            max_messages: 13,
            window: Duration::from_secs(3600),
        }),
        attest_only: false,
    };
    let handle = start(&s, &probe, limited).await;
    let p = wait_until(&handle, Duration::from_secs(30), |p| {
        counts(p).confirmed == 13
    })
    .await;
    assert!(p.halted.is_empty(), "{:?}", p.halted);
    // The window is full: the rest waits, however many polls pass.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = handle.progress().await.unwrap();
    let c = counts(&p);
    assert_eq!((c.confirmed, c.pending), (13, N - 13), "{c:?}");
    handle.shutdown().await;
    let delivered = probe.deliveries();
    assert_eq!(delivered.len(), 13);
    assert!(delivered.values().all(|n| *n == 1));
}
