//! The pipeline under faults: a destination outage (retried with backoff, on tokio's paused
//! clock), a reverted submission (messages back to pending), a forged native proof (the lane
//! halts, nothing delivered), and a slow destination (in-flight submissions stay bounded).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use causeway_adapters::memory::MemoryChain;
use causeway_adapters::{
    Cursor, DeliveryStatus, Destination, Error as AdapterError, Source, SourceBatch,
};
use causeway_proofs::{Domain, Hash32, HashAlgorithm, Nonce};
use causeway_relayer::Relayer;
use causeway_relayer::pipeline::{LaneConfig, LocalSigner, OriginConfig};
use causeway_relayer::store::{QueryStore, SqliteStore};

use crate::support::pipeline::*;

#[tokio::test(start_paused = true)]
async fn a_destination_outage_is_retried_with_backoff_and_completes() {
    let solo = Solo::new(40, 4);
    let (db, msgs) = (&solo.db, &solo.msgs);
    let probe = Arc::new(solo.probe());
    probe.chain.set_unavailable(true);
    let mut config = test_config();
    config.retry = retry_policy(Duration::from_secs(1), Duration::from_secs(8), 100);
    let handle = solo
        .relayer(Arc::clone(&probe), 10, config)
        .spawn()
        .await
        .unwrap();

    // A minute of outage (paused clock): failures are recorded, nothing is delivered, and the
    // persisted backoff keeps the number of attempts small.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let p = handle.progress().await.unwrap();
    assert_eq!(counts(&p).confirmed, 0);
    // Backoff 0.5-1 s, 1-2 s, 2-4 s, then 4-8 s: at most about 17 attempts per message in a
    // minute (the 20 ms polling would make 3000 without it).
    let failures = handle.metrics().all_lanes().submit_failures;
    assert!(failures >= 2, "retried: {failures}");
    assert!(failures <= 40 * 17, "backed off, not flooding: {failures}");
    let store = SqliteStore::open(db).unwrap();
    for m in msgs {
        let attempts = store.message(m.id()).unwrap().unwrap().delivery.attempts;
        assert!((4..=17).contains(&attempts), "attempts {attempts}");
    }

    probe.chain.set_unavailable(false);
    let p = wait_until(&handle, Duration::from_secs(120), |p| {
        counts(p).confirmed == 40
    })
    .await;
    assert!(p.halted.is_empty());
    handle.shutdown().await;
    assert!(probe.deliveries().values().all(|n| *n == 1));
    assert_eq!(probe.deliveries().len(), 40);
}

#[tokio::test(start_paused = true)]
async fn a_reverted_batch_goes_back_to_pending_then_is_delivered() {
    let solo = Solo::new(20, 20);
    let (db, msgs) = (&solo.db, &solo.msgs);
    let probe = Arc::new(solo.probe());
    probe.revert_next.store(1, Ordering::SeqCst);
    let mut config = test_config();
    // A long backoff: after the revert the messages visibly wait in pending.
    config.retry = retry_policy(Duration::from_secs(600), Duration::from_secs(600), 5);
    let handle = solo
        .relayer(Arc::clone(&probe), 20, config)
        .spawn()
        .await
        .unwrap();

    let p = wait_until(&handle, Duration::from_secs(60), |p| {
        counts(p).pending == 20
    })
    .await;
    assert_eq!(handle.metrics().all_lanes().reverted, 1);
    assert_eq!(counts(&p).confirmed, 0);
    let store = SqliteStore::open(db).unwrap();
    let record = store.message(msgs[3].id()).unwrap().unwrap();
    assert_eq!(record.delivery.attempts, 1);
    assert!(
        record
            .delivery
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("probe revert"),
        "{record:?}"
    );

    // After the backoff the batch is submitted again and delivered, once.
    wait_until(&handle, Duration::from_secs(1200), |p| {
        counts(p).confirmed == 20
    })
    .await;
    handle.shutdown().await;
    assert_eq!(probe.deliveries().len(), 20);
    assert!(probe.deliveries().values().all(|n| *n == 1));
}

/// A source that forges the native proof of one nonce (as a lying RPC node would).
struct ForgingSource {
    inner: MemoryChain,
    forged: Nonce,
}

impl Source for ForgingSource {
    fn domain(&self) -> Domain {
        Source::domain(&self.inner)
    }

    async fn next_batch(&self, cursor: &Cursor) -> Result<SourceBatch, AdapterError> {
        let mut batch = self.inner.next_batch(cursor).await?;
        for observed in &mut batch.messages {
            if observed.message.nonce() == self.forged {
                observed.proof.data =
                    serde_json::json!({ "memory_commitment": Hash32([0xee; 32]) });
            }
        }
        Ok(batch)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_native_proof_halts_the_origin_and_nothing_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [key(0)];
    let chain = MemoryChain::new(P_ORIGIN, 0);
    let msgs = messages(0, 10);
    emit(&chain, &msgs, 10);
    let probe = Arc::new(Probe::new(destination_chain(&keys, 1)));
    let store = Arc::new(SqliteStore::open(dir.path().join("relayer.db")).unwrap());
    let handle = Relayer::new(
        store.clone(),
        Arc::new(LocalSigner::new(key(0))),
        test_config(),
    )
    .origin(OriginConfig {
        source: Arc::new(ForgingSource {
            inner: chain.clone(),
            forged: Nonce(3),
        }),
        verifier: Arc::new(chain.clone()),
        start_height: 0,
    })
    .lane(LaneConfig {
        limits: Default::default(),
        destination: probe.clone(),
        signing_domain: signing_domain(),
        validators: validators(&keys, 1),
        hash_algorithm: HashAlgorithm::Sha256,
        batch_size: 10,
        rota: None,
    })
    .spawn()
    .await
    .unwrap();

    let p = wait_until(&handle, Duration::from_secs(30), |p| !p.halted.is_empty()).await;
    let reason = p.halted.values().next().unwrap();
    assert!(reason.contains("invalid native proof"), "{reason}");
    assert!(reason.contains(&msgs[3].id().to_string()), "{reason}");
    // Give the other stages time to (wrongly) act; nothing of the batch may move.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let p = handle.progress().await.unwrap();
    assert_eq!(counts(&p), Default::default(), "nothing accepted");
    assert_eq!(handle.metrics().all_origins().invalid_proofs, 1);
    assert_eq!(handle.metrics().all_lanes().messages_submitted, 0);
    handle.shutdown().await;
    for m in &msgs {
        assert!(store.message(m.id()).unwrap().is_none());
        assert_eq!(
            probe.delivery_status(&m.id()).await.unwrap(),
            DeliveryStatus::NotDelivered
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_destination_keeps_in_flight_submissions_bounded() {
    let solo = Solo::new(120, 10);
    let mut probe = solo.probe();
    probe.pending_polls = 5; // each submission stays pending for five polls
    let probe = Arc::new(probe);
    let mut config = test_config();
    config.max_in_flight = 2;
    let handle = solo
        .relayer(Arc::clone(&probe), 5, config)
        .spawn()
        .await
        .unwrap();

    // While the destination is slow, most messages wait durably in the store, not in memory.
    let p = wait_until(&handle, Duration::from_secs(30), |p| {
        counts(p).confirmed >= 10
    })
    .await;
    let c = counts(&p);
    assert!(c.submitted <= 2 * 5, "at most two batches in flight: {c:?}");
    let p = wait_until(&handle, Duration::from_secs(60), |p| {
        counts(p).confirmed == 120
    })
    .await;
    assert!(p.halted.is_empty());
    let metrics = metrics_when(&handle, |m| m.all_lanes().submissions >= 24).await;
    handle.shutdown().await;
    let most = probe.max_outstanding.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "in flight at once: {most}");
    assert!(metrics.all_lanes().max_in_flight <= 2, "{metrics:?}");
    assert_eq!(metrics.all_lanes().submissions, 24, "batches of five");
    assert!(probe.deliveries().values().all(|n| *n == 1));
}

#[tokio::test(start_paused = true)]
async fn a_source_outage_backs_off_then_resumes() {
    let solo = Solo::new(10, 5);
    let source = &solo.source;
    source.set_unavailable(true);
    let probe = Arc::new(solo.probe());
    let handle = solo
        .relayer(Arc::clone(&probe), 10, test_config())
        .spawn()
        .await
        .unwrap();
    // Ten seconds of outage: backoff 50, 100, 200, 400 ms, then 500 ms each: about 24 polls.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let errors = handle.metrics().all_origins().source_errors;
    assert!((5..=25).contains(&errors), "source errors {errors}");
    assert_eq!(counts(&handle.progress().await.unwrap()).confirmed, 0);
    source.set_unavailable(false);
    let p = wait_until(&handle, Duration::from_secs(30), |p| {
        counts(p).confirmed == 10
    })
    .await;
    assert!(p.halted.is_empty());
    handle.shutdown().await;
}

/// Counts what the source yielded and what was verified, and records the largest gap.
#[derive(Debug, Default)]
struct Gap {
    yielded: std::sync::atomic::AtomicU64,
    verified: std::sync::atomic::AtomicU64,
    max_gap: std::sync::atomic::AtomicU64,
}

struct CountingSource {
    inner: MemoryChain,
    gap: Arc<Gap>,
}

impl Source for CountingSource {
    fn domain(&self) -> Domain {
        Source::domain(&self.inner)
    }

    async fn next_batch(&self, cursor: &Cursor) -> Result<SourceBatch, AdapterError> {
        let batch = self.inner.next_batch(cursor).await?;
        let yielded = self
            .gap
            .yielded
            .fetch_add(batch.messages.len() as u64, Ordering::SeqCst)
            + batch.messages.len() as u64;
        let gap = yielded - self.gap.verified.load(Ordering::SeqCst);
        self.gap.max_gap.fetch_max(gap, Ordering::SeqCst);
        Ok(batch)
    }
}

/// A verifier that takes 2 ms per proof (a heavy receipt-trie check).
struct SlowVerifier {
    inner: MemoryChain,
    gap: Arc<Gap>,
}

impl causeway_adapters::NativeVerifier for SlowVerifier {
    fn family(&self) -> causeway_proofs::bundle::ChainFamily {
        self.inner.family()
    }

    fn verify(&self, observed: &causeway_adapters::ObservedMessage) -> Result<(), AdapterError> {
        std::thread::sleep(Duration::from_millis(2));
        self.gap.verified.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(observed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_verify_stage_holds_the_watcher_back() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [key(0)];
    let chain = MemoryChain::new(P_ORIGIN, 0);
    // One message per block: the memory source yields 64 blocks (64 messages) per batch.
    let msgs = messages(0, 640);
    emit(&chain, &msgs, 1);
    let gap = Arc::new(Gap::default());
    let probe = Arc::new(Probe::new(destination_chain(&keys, 1)));
    let config = test_config(); // channel capacity 2
    let handle = Relayer::new(
        Arc::new(SqliteStore::open(dir.path().join("relayer.db")).unwrap()),
        Arc::new(LocalSigner::new(key(0))),
        config,
    )
    .origin(OriginConfig {
        source: Arc::new(CountingSource {
            inner: chain.clone(),
            gap: Arc::clone(&gap),
        }),
        verifier: Arc::new(SlowVerifier {
            inner: chain.clone(),
            gap: Arc::clone(&gap),
        }),
        start_height: 0,
    })
    .lane(LaneConfig {
        limits: Default::default(),
        destination: probe.clone(),
        signing_domain: signing_domain(),
        validators: validators(&keys, 1),
        hash_algorithm: HashAlgorithm::Sha256,
        batch_size: 64,
        rota: None,
    })
    .spawn()
    .await
    .unwrap();
    let p = wait_until(&handle, Duration::from_secs(60), |p| {
        counts(p).confirmed == 640
    })
    .await;
    assert!(p.halted.is_empty());
    handle.shutdown().await;
    // At most: one batch being verified, two in the channel, one waiting to be sent, one just
    // yielded (5 x 64), well below the 640 an unbounded pipeline would read ahead.
    let most = gap.max_gap.load(Ordering::SeqCst);
    assert!(
        most <= 5 * 64,
        "source ran {most} messages ahead of verification"
    );
    assert_eq!(gap.yielded.load(Ordering::SeqCst), 640);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_that_refuses_is_confirmed_as_failed_at_the_destination() {
    let solo = Solo::new(8, 8);
    let msgs = &solo.msgs;
    let probe = Arc::new(solo.probe());
    probe.chain.refuse(msgs[5].id());
    let handle = solo
        .relayer(Arc::clone(&probe), 8, test_config())
        .spawn()
        .await
        .unwrap();
    wait_until(&handle, Duration::from_secs(30), |p| {
        counts(p).confirmed == 8
    })
    .await;
    let metrics = metrics_when(&handle, |m| m.all_lanes().failed_at_recipient >= 1).await;
    handle.shutdown().await;
    // Not sent again by the relayer: the destination keeps the failure and retries it itself.
    assert_eq!(metrics.all_lanes().failed_at_recipient, 1);
    assert_eq!(metrics.all_lanes().messages_submitted, 8);
    assert_eq!(
        probe.delivery_status(&msgs[5].id()).await.unwrap(),
        DeliveryStatus::Failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_recipient_is_dead_lettered_at_once_and_the_rest_confirmed() {
    // Issue 9: the destination refuses the message for good; the relayer never retries it.
    let solo = Solo::new(8, 8);
    let (db, msgs) = (&solo.db, &solo.msgs);
    let probe = Arc::new(solo.probe());
    probe.chain.forbid(msgs[3].id());
    let handle = solo
        .relayer(Arc::clone(&probe), 8, test_config())
        .spawn()
        .await
        .unwrap();
    wait_until(&handle, Duration::from_secs(30), |p| {
        counts(p).confirmed == 7 && counts(p).dead_letter == 1
    })
    .await;
    // The counter is bumped right after the store call it counts (a CI flake read it first).
    let metrics = metrics_when(&handle, |m| m.all_lanes().dead_letters >= 1).await;
    handle.shutdown().await;
    assert_eq!(
        metrics.all_lanes().messages_submitted,
        8,
        "sent once, never retried"
    );
    assert_eq!(metrics.all_lanes().dead_letters, 1);
    let store = SqliteStore::open(db).unwrap();
    let state = store.message(msgs[3].id()).unwrap().unwrap().delivery.state;
    assert!(
        matches!(&state, causeway_relayer::store::DeliveryState::DeadLetter { reason } if reason.contains("refused")),
        "{state:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_always_reverts_ends_in_dead_letters() {
    let solo = Solo::new(6, 6);
    let (db, msgs) = (&solo.db, &solo.msgs);
    let probe = Arc::new(solo.probe());
    probe.revert_next.store(u32::MAX, Ordering::SeqCst);
    let mut config = test_config();
    config.retry = retry_policy(Duration::from_secs(1), Duration::from_secs(4), 3);
    let handle = solo
        .relayer(Arc::clone(&probe), 6, config)
        .spawn()
        .await
        .unwrap();
    let p = wait_until(&handle, Duration::from_secs(120), |p| {
        counts(p).dead_letter == 6
    })
    .await;
    assert_eq!(counts(&p).confirmed, 0);
    // Nothing more is tried once they are dead letters.
    let submitted = handle.metrics().all_lanes().messages_submitted;
    assert_eq!(submitted, 3 * 6, "three attempts each");
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(handle.metrics().all_lanes().messages_submitted, submitted);
    assert_eq!(handle.metrics().all_lanes().dead_letters, 6);
    handle.shutdown().await;
    let store = SqliteStore::open(db).unwrap();
    let state = store.message(msgs[0].id()).unwrap().unwrap().delivery.state;
    assert!(
        matches!(&state, causeway_relayer::store::DeliveryState::DeadLetter { reason } if reason.contains("probe revert")),
        "{state:?}"
    );
}
