//! The deliver stage while its store refuses it (issue 15). A server that is down is waited for
//! inside each store call (`blocking`); a store that answers with an error does not wait: here
//! the PostgreSQL server turned read-only (what a failover to a standby looks like), so every
//! delivery round's lease fails. That is one warning when rounds start failing and one line
//! when they work again (per deliver worker), with a backoff between rounds, not a warning at
//! every poll (20 ms here: about 150 per worker in three seconds). The confirm stage's periodic
//! take-over of abandoned submissions, a write too, is logged alike.

use std::sync::Arc;
use std::time::Duration;

use causeway_devnet::logs::Captured;
use causeway_devnet::postgres::PostgresNode;
use causeway_proofs::HashAlgorithm;
use causeway_relayer::Relayer;
use causeway_relayer::pipeline::{LaneConfig, LocalSigner, OriginConfig};
use causeway_relayer::store::{PgOptions, PgStore};

use crate::support::pipeline::*;

// Current-thread runtime: the relayer's tasks run on the test's thread, under its subscriber.
#[tokio::test]
async fn a_store_outage_is_logged_once_by_the_deliver_stage_and_its_end_once() {
    let captured = Captured::default();
    let _guard = captured.install();

    let node = PostgresNode::start().unwrap();
    let url = node.create_database("deliver_outage").unwrap();
    let store = tokio::task::spawn_blocking(move || {
        Arc::new(PgStore::open_with(&url, None, PgOptions::default()).unwrap())
    })
    .await
    .unwrap();
    let fixture = Solo::new(20, 10);
    let probe = Arc::new(fixture.probe());
    let handle = Relayer::new(store, Arc::new(LocalSigner::new(key(0))), test_config())
        .origin(OriginConfig {
            source: Arc::new(fixture.source.clone()),
            verifier: Arc::new(fixture.source.clone()),
            start_height: 0,
        })
        .lane(LaneConfig {
            limits: Default::default(),
            destination: Arc::clone(&probe) as _,
            signing_domain: signing_domain(),
            validators: validators(&[key(0)], 1),
            hash_algorithm: HashAlgorithm::Sha256,
            batch_size: 10,
            rota: None,
        })
        .spawn()
        .await
        .unwrap();
    wait_until(&handle, Duration::from_secs(60), |p| {
        counts(p).confirmed == 20
    })
    .await;
    assert_eq!(captured.count("delivery round failed"), 0);

    // Three seconds of a read-only server, polled every 20 ms.
    node.set_read_only(true).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    node.set_read_only(false).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while captured.count("delivery rounds work again") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the deliver stage never said it works again:\n{}",
            captured.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Working again: new messages delivered, each once.
    emit(&fixture.source, &messages(20, 10), 10);
    let p = wait_until(&handle, Duration::from_secs(30), |p| {
        counts(p).confirmed == 30
    })
    .await;
    assert!(p.halted.is_empty(), "{:?}", p.halted);
    probe.wait_applied(30).await;
    handle.shutdown().await;
    let delivered = probe.deliveries();
    assert_eq!(delivered.len(), 30);
    assert!(delivered.values().all(|n| *n == 1));

    // Each of the lane's deliver workers runs its own rounds: one warning each, one line each
    // when they work again.
    let workers = test_config().deliver_workers;
    assert_eq!(
        captured.count("delivery round failed"),
        workers,
        "one warning for the outage per worker:\n{}",
        captured.text()
    );
    assert_eq!(captured.count("delivery rounds still fail"), 0);
    assert_eq!(
        captured.count("delivery rounds work again"),
        workers,
        "one line for its end per worker"
    );
    // The confirm stage's take-over of abandoned submissions (a write, every half lease: 250 ms
    // here, a dozen times in the outage) fails alike: one warning, one line when it works again.
    assert_eq!(
        captured.count("taking over abandoned submissions failed"),
        1,
        "one warning for the outage from the confirm stage:\n{}",
        captured.text()
    );
    assert_eq!(
        captured.count("taking over abandoned submissions works again"),
        1,
        "one line for its end:\n{}",
        captured.text()
    );
}
