//! The pipeline end to end over in-memory chains: every message delivered exactly once, also
//! across a restart on the same SQLite file, under 1-of-1 and 2-of-3 signing.

use std::sync::Arc;
use std::time::Duration;

use causeway_adapters::memory::MemoryChain;
use causeway_adapters::{DeliveryStatus, Destination};
use causeway_proofs::{
    Address32, Domain, HashAlgorithm, Message, Nonce, SigningDomain, TrustAnchor,
};
use causeway_relayer::pipeline::{LaneConfig, LocalSigner, MultiSigner, PipelineConfig, Progress};
use causeway_relayer::store::Lane;

use crate::support::pipeline::*;

const N: u64 = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_messages_are_delivered_exactly_once_with_two_of_three_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [key(0), key(1), key(2)];
    let source = MemoryChain::new(P_ORIGIN, 2);
    let msgs = messages(0, N);
    emit(&source, &msgs, 7);
    source.mine(2);
    let probe = Arc::new(Probe::new(destination_chain(&keys, 2)));
    // Two of the three validators sign: the destination's 2-of-3 threshold is met.
    let collector = Arc::new(MultiSigner::new(vec![key(0), key(2)]));
    let handle = relayer(
        &dir.path().join("relayer.db"),
        &source,
        Arc::clone(&probe),
        collector,
        validators(&keys, 2),
        50,
        test_config(),
    )
    .spawn()
    .await
    .unwrap();

    let p = wait_until(&handle, Duration::from_secs(60), |p| {
        counts(p).confirmed == N
    })
    .await;
    let c = counts(&p);
    assert_settled(&c);
    assert!(p.halted.is_empty(), "{:?}", p.halted);
    let metrics = metrics_when(&handle, |m| m.all_lanes().confirmed >= N).await;
    handle.shutdown().await;

    let delivered = probe.deliveries();
    assert_eq!(delivered.len() as u64, N);
    assert!(delivered.values().all(|n| *n == 1), "each message once");
    for m in &msgs {
        assert_eq!(
            probe.delivery_status(&m.id()).await.unwrap(),
            DeliveryStatus::Delivered
        );
    }
    assert_eq!(metrics.all_origins().accepted, N);
    assert_eq!(metrics.all_origins().verified, N);
    assert_eq!(metrics.all_lanes().confirmed, N);
    assert!(metrics.all_lanes().checkpoints >= 1);
    assert!(metrics.all_lanes().max_in_flight <= 4, "{metrics:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_way_delivers_the_rest_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let keys = [key(0)];
    let source = MemoryChain::new(P_ORIGIN, 1);
    let msgs = messages(0, N);
    emit(&source, &msgs[..600], 5);
    source.mine(1);
    let probe = Arc::new(Probe::new(destination_chain(&keys, 1)));
    let build = || solo_relayer(&db, &source, Arc::clone(&probe), 25, test_config());

    let first = build().spawn().await.unwrap();
    let p = wait_until(&first, Duration::from_secs(60), |p| {
        counts(p).confirmed >= 200
    })
    .await;
    assert!(counts(&p).confirmed < 600, "stopped mid-way: {p:?}");
    first.shutdown().await;

    // More messages arrive while the relayer is down.
    emit(&source, &msgs[600..], 5);
    source.mine(1);

    let second = build().spawn().await.unwrap();
    let p = wait_until(&second, Duration::from_secs(60), |p| {
        counts(p).confirmed == N
    })
    .await;
    assert!(p.halted.is_empty(), "{:?}", p.halted);
    let c = counts(&p);
    assert_settled(&c);
    second.shutdown().await;

    let delivered = probe.deliveries();
    assert_eq!(delivered.len() as u64, N, "nothing lost");
    assert!(
        delivered.values().all(|n| *n == 1),
        "nothing delivered twice"
    );

    // A third start on the same file finds nothing to do and delivers nothing again.
    let third = build().spawn().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let p = third.progress().await.unwrap();
    assert_eq!(counts(&p).confirmed, N);
    assert_eq!(third.metrics().all_lanes().messages_submitted, 0);
    assert_eq!(
        third.metrics().all_origins().accepted,
        0,
        "the cursor was resumed"
    );
    third.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_in_flight_at_shutdown_are_followed_on_restart_without_resubmitting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let keys = [key(0)];
    let source = MemoryChain::new(P_ORIGIN, 0);
    let msgs = messages(0, 30);
    emit(&source, &msgs, 10);
    let chain = destination_chain(&keys, 1);
    // First run: the destination executes every submission but never reports an outcome, so
    // all of them are still `submitted` when the relayer stops (their handles are in the store).
    let mut stuck = Probe::new(chain.clone());
    stuck.pending_polls = u32::MAX;
    let stuck = Arc::new(stuck);
    let build = |probe: Arc<Probe>| solo_relayer(&db, &source, probe, 10, test_config());
    let first = build(Arc::clone(&stuck)).spawn().await.unwrap();
    wait_until(&first, Duration::from_secs(30), |p| {
        counts(p).submitted == 30
    })
    .await;
    stuck.wait_applied(30).await;
    first.shutdown().await;
    assert_eq!(stuck.deliveries().len(), 30);

    // Second run: the kept handles are followed (still pending for a few polls, then
    // included); nothing is sent again and the replay record is not needed.
    let mut slow = Probe::new(chain);
    slow.pending_polls = 3;
    let probe = Arc::new(slow);
    let second = build(Arc::clone(&probe)).spawn().await.unwrap();
    wait_until(&second, Duration::from_secs(30), |p| {
        counts(p).confirmed == 30
    })
    .await;
    let metrics = metrics_when(&second, |m| m.all_lanes().confirmed >= 30).await;
    second.shutdown().await;
    assert_eq!(metrics.all_lanes().messages_submitted, 0);
    assert_eq!(
        metrics.all_lanes().taken_over,
        3,
        "three batches of ten followed by handle"
    );
    assert_eq!(metrics.all_lanes().already_delivered, 0);
    assert_eq!(metrics.all_lanes().confirmed, 30);
    assert!(probe.deliveries().is_empty());
}

/// A kept handle whose transaction stays pending after the restart (this run's adapter never
/// sent it, so it cannot push it along) is given a lease period, then settled by the
/// destination's replay record; nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_over_submission_still_pending_after_a_lease_is_settled_by_the_replay_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let keys = [key(0)];
    let source = MemoryChain::new(P_ORIGIN, 0);
    let msgs = messages(0, 20);
    emit(&source, &msgs, 10);
    let chain = destination_chain(&keys, 1);
    let never = || {
        let mut p = Probe::new(chain.clone());
        p.pending_polls = u32::MAX;
        Arc::new(p)
    };
    let build = |probe: Arc<Probe>| solo_relayer(&db, &source, probe, 10, test_config());
    let stuck = never();
    let first = build(Arc::clone(&stuck)).spawn().await.unwrap();
    wait_until(&first, Duration::from_secs(30), |p| {
        counts(p).submitted == 20
    })
    .await;
    stuck.wait_applied(20).await;
    first.shutdown().await;

    let probe = never();
    let started = std::time::Instant::now();
    let second = build(Arc::clone(&probe)).spawn().await.unwrap();
    wait_until(&second, Duration::from_secs(30), |p| {
        counts(p).confirmed == 20
    })
    .await;
    let metrics = metrics_when(&second, |m| m.all_lanes().confirmed >= 20).await;
    second.shutdown().await;
    assert!(
        started.elapsed() >= test_config().lease_for,
        "followed for a lease period first"
    );
    assert_eq!(metrics.all_lanes().taken_over, 2);
    assert_eq!(
        metrics.all_lanes().already_delivered,
        20,
        "settled by the replay record"
    );
    assert_eq!(metrics.all_lanes().messages_submitted, 0);
    assert!(probe.deliveries().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_another_relayer_delivered_are_confirmed_not_resubmitted() {
    use causeway_adapters::{DeliveryBatch, DeliveryItem};
    use causeway_proofs::log::Sha256Log;
    use causeway_proofs::{Checkpoint, HashAlgorithm, LeafIndex};

    let dir = tempfile::tempdir().unwrap();
    let keys = [key(0)];
    let source = MemoryChain::new(P_ORIGIN, 0);
    let msgs = messages(0, 12);
    emit(&source, &msgs, 12);
    let chain = destination_chain(&keys, 1);
    // Someone else relays the first five (anyone may relay): same log, same checkpoint.
    let mut log = Sha256Log::new();
    for m in &msgs {
        log.append(m.id().as_hash());
    }
    let cp = Checkpoint::new(P_ORIGIN, HashAlgorithm::Sha256, log.size(), log.root()).unwrap();
    let batch = DeliveryBatch {
        checkpoint: cp,
        signatures: vec![key(0).sign_checkpoint(&cp, &signing_domain())],
        items: (0..5)
            .map(|i| DeliveryItem {
                message: msgs[i].clone(),
                proof: log
                    .inclusion_proof(LeafIndex(i as u64), log.size())
                    .unwrap(),
            })
            .collect(),
    };
    chain.submit(&batch).await.unwrap();

    let probe = Arc::new(Probe::new(chain));
    let handle = relayer(
        &dir.path().join("relayer.db"),
        &source,
        Arc::clone(&probe),
        Arc::new(LocalSigner::new(key(0))),
        validators(&keys, 1),
        12,
        test_config(),
    )
    .spawn()
    .await
    .unwrap();
    wait_until(&handle, Duration::from_secs(30), |p| {
        counts(p).confirmed == 12
    })
    .await;
    let metrics = metrics_when(&handle, |m| {
        m.all_lanes().already_delivered >= 5 && m.all_lanes().messages_submitted >= 7
    })
    .await;
    handle.shutdown().await;
    assert_eq!(metrics.all_lanes().already_delivered, 5);
    assert_eq!(metrics.all_lanes().messages_submitted, 7);
    let delivered = probe.deliveries();
    assert_eq!(delivered.len(), 7);
    assert!(msgs[..5].iter().all(|m| !delivered.contains_key(&m.id())));
}

/// Two lanes from one origin: each reports its own figures. Lane A's destination never settles
/// a submission (its four in-flight slots stay taken) while lane B delivers everything; lane A's
/// in-flight gauge must not be overwritten by lane B's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lanes_report_their_own_metrics() {
    const DEST_B: Domain = Domain(21);
    let dir = tempfile::tempdir().unwrap();
    let source = MemoryChain::new(P_ORIGIN, 0);
    let to_a = messages(0, 6);
    let to_b: Vec<Message> = (6..16)
        .map(|i| {
            Message::new(
                Nonce(i),
                P_ORIGIN,
                Address32([1; 32]),
                DEST_B,
                Address32([2; 32]),
                i.to_be_bytes().to_vec(),
            )
            .unwrap()
        })
        .collect();
    emit(&source, &to_a, 3);
    emit(&source, &to_b, 5);

    let mut stuck = Probe::new(destination_chain(&[key(0)], 1));
    stuck.pending_polls = u32::MAX;
    let domain_b = SigningDomain {
        destination: DEST_B,
        destination_chain_id: 2121,
        inbox: SigningDomain::named_inbox("pipeline-test-inbox-b"),
        ..signing_domain()
    };
    let chain_b = MemoryChain::new(DEST_B, 0).with_trust(TrustAnchor {
        signing_domain: domain_b,
        validators: validators(&[key(0)], 1),
    });
    let lane_a = Lane {
        origin: P_ORIGIN,
        destination: P_DEST,
    };
    let lane_b = Lane {
        origin: P_ORIGIN,
        destination: DEST_B,
    };
    let handle = solo_relayer(
        &dir.path().join("relayer.db"),
        &source,
        Arc::new(stuck),
        1,
        test_config(),
    )
    .lane(LaneConfig {
        limits: Default::default(),
        destination: Arc::new(Probe::new(chain_b)),
        signing_domain: domain_b,
        validators: validators(&[key(0)], 1),
        hash_algorithm: HashAlgorithm::Sha256,
        batch_size: 5,
        rota: None,
    })
    .spawn()
    .await
    .unwrap();
    let of = |p: &Progress, lane: Lane| {
        p.lanes
            .iter()
            .find(|s| s.lane == lane)
            .map(|s| s.counts)
            .unwrap_or_default()
    };
    wait_until(&handle, Duration::from_secs(30), |p| {
        of(p, lane_b).confirmed == 10 && of(p, lane_a).submitted == 4
    })
    .await;
    // Several confirm polls of both lanes after lane B settled its last submission.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let metrics = handle.metrics();
    handle.shutdown().await;

    let (a, b) = (metrics.lane(lane_a), metrics.lane(lane_b));
    assert_eq!(
        (a.in_flight, a.max_in_flight),
        (4, 4),
        "lane A keeps its four slots taken: {metrics:?}"
    );
    assert_eq!(b.in_flight, 0, "lane B has settled everything: {metrics:?}");
    assert_eq!((a.messages_submitted, a.confirmed), (4, 0), "{metrics:?}");
    assert_eq!((b.messages_submitted, b.confirmed), (10, 10), "{metrics:?}");
    assert_eq!(metrics.origin(P_ORIGIN).accepted, 16);
    assert_eq!(metrics.lanes.len(), 2);
}

/// Two instances of one gateway on one store file (issue 10, item 1): each accepts the origin's
/// batches in turn, the one behind accepts what the other stored as a no-op and catches its
/// in-memory log up from the store; they lease disjoint messages. Before, the one behind halted
/// (its cursor "regressed", or its log no longer lined up) with most messages undelivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_store_deliver_everything_once_and_neither_halts() {
    let fixture = Solo::new(N, 25);
    let probe = Arc::new(fixture.probe());
    let instance = |name: &str| fixture.relayer(Arc::clone(&probe), 40, named_config(name));
    let a = instance("instance-a").spawn().await.unwrap();
    let b = instance("instance-b").spawn().await.unwrap();
    let p = wait_until(&a, Duration::from_secs(90), |p| counts(p).confirmed == N).await;
    assert_settled(&counts(&p));
    // The instance that accepted less caught its log up from the store: it attests the whole
    // log too (before, it never got past the first batch the other stored).
    let mb = metrics_when(&b, |m| m.all_lanes().checkpoints >= 1).await;
    assert!(mb.all_lanes().checkpoints >= 1, "b never attested: {mb:?}");
    let pb = b.progress().await.unwrap();
    let ma = a.metrics();
    a.shutdown().await;
    b.shutdown().await;
    assert!(p.halted.is_empty(), "a halted: {:?}", p.halted);
    assert!(pb.halted.is_empty(), "b halted: {:?}", pb.halted);
    let delivered = probe.deliveries();
    assert_eq!(delivered.len() as u64, N);
    assert!(delivered.values().all(|n| *n == 1), "each message once");
    assert_eq!(
        ma.all_origins().accepted + mb.all_origins().accepted,
        N,
        "each message appended once, by one of them: a: {ma:?}\nb: {mb:?}"
    );
}

/// Another process holding the database lock past the busy timeout (issue 10, item 5): busy is
/// a state, so every stage waits and retries; nothing halts and nothing is dropped. Before, the
/// first store call that gave up (reading the cursor, accepting events) halted the origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_locked_past_the_busy_timeout_delays_but_halts_nothing() {
    let fixture = Solo::new(200, 20);
    let probe = Arc::new(fixture.probe());
    let relayer = fixture.relayer(Arc::clone(&probe), 40, test_config());
    // Another process takes the write lock and keeps it longer than the 5 s busy timeout.
    let (_keep, holder) = hold_write_lock(&fixture.db, Duration::from_secs(7));
    let handle = relayer.spawn().await.unwrap();
    let p = wait_until(&handle, Duration::from_secs(60), |p| {
        counts(p).confirmed == 200
    })
    .await;
    holder.join().unwrap();
    assert!(p.halted.is_empty(), "{:?}", p.halted);
    handle.shutdown().await;
    let delivered = probe.deliveries();
    assert_eq!(delivered.len(), 200);
    assert!(delivered.values().all(|n| *n == 1), "each message once");
}

/// An instance that stops with submissions in flight and never returns (issue 10, item 4):
/// another instance, under another name, takes them over once their follow lease expires,
/// follows the recorded submissions and settles them; nothing is sent again. Before, they
/// stayed `submitted` for ever (only their own owner took them over, on its restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_of_an_instance_that_never_returns_are_settled_by_another() {
    let fixture = Solo::new(30, 10);
    // Instance a: the destination executes every submission but never reports an outcome.
    let mut stuck = fixture.probe();
    stuck.pending_polls = u32::MAX;
    let stuck = Arc::new(stuck);
    let a = fixture
        .relayer(Arc::clone(&stuck), 10, named_config("instance-a"))
        .spawn()
        .await
        .unwrap();
    wait_until(&a, Duration::from_secs(30), |p| counts(p).submitted == 30).await;
    stuck.wait_applied(30).await;
    a.shutdown().await;
    assert_eq!(stuck.deliveries().len(), 30);

    // Instance b, another name: a's submissions are taken over after their lease.
    let mut slow = fixture.probe();
    slow.pending_polls = 3;
    let probe = Arc::new(slow);
    let started = std::time::Instant::now();
    let b = fixture
        .relayer(Arc::clone(&probe), 10, named_config("instance-b"))
        .spawn()
        .await
        .unwrap();
    wait_until(&b, Duration::from_secs(30), |p| counts(p).confirmed == 30).await;
    let metrics = metrics_when(&b, |m| m.all_lanes().confirmed >= 30).await;
    b.shutdown().await;
    assert!(
        started.elapsed() >= test_config().lease_for / 2,
        "not before a's follow lease could have expired"
    );
    assert_eq!(metrics.all_lanes().taken_over, 3, "three batches of ten");
    assert_eq!(
        metrics.all_lanes().messages_submitted,
        0,
        "nothing sent again"
    );
    assert_eq!(metrics.all_lanes().confirmed, 30);
    assert!(probe.deliveries().is_empty());
}

/// One name, one live instance per store (issue 10, item 2): a second instance under the same
/// explicit name is refused at spawn, saying what to do; the name is free again once the first
/// stops. The default name is unique per process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_under_the_same_name_is_refused() {
    let fixture = Solo::new(5, 5);
    let probe = Arc::new(fixture.probe());
    let first = fixture
        .relayer(Arc::clone(&probe), 10, test_config())
        .spawn()
        .await
        .unwrap();
    let err = fixture
        .relayer(Arc::clone(&probe), 10, test_config())
        .spawn()
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(&err, causeway_relayer::Error::OwnerInUse { owner, .. } if owner.0 == "test-relayer"),
        "{err}"
    );
    assert!(
        err.to_string().contains("give this one another name"),
        "{err}"
    );
    first.shutdown().await;
    let again = fixture
        .relayer(Arc::clone(&probe), 10, test_config())
        .spawn()
        .await
        .unwrap();
    again.shutdown().await;
    let defaults = (
        causeway_relayer::pipeline::PipelineConfig::default().owner,
        causeway_relayer::pipeline::PipelineConfig::default().owner,
    );
    assert_ne!(defaults.0, defaults.1, "default names are unique");
}

/// Nothing is sent under a lease that is nearly over (issue 10, item 6): an instance whose
/// clock runs up to `clock_skew` ahead would already see it expired and send the same
/// messages. Here the destination's status reads eat the lease; the batch is never sent and
/// the attempt is recorded. Before, it was sent after the lease had ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_not_sent_under_a_lease_that_is_nearly_over() {
    use causeway_relayer::store::QueryStore;
    let fixture = Solo::new(5, 5);
    let mut slow = fixture.probe();
    // Five reads of 100 ms: 500 ms of a 500 ms lease.
    slow.status_delay = Duration::from_millis(100);
    let probe = Arc::new(slow);
    let handle = fixture
        .relayer(Arc::clone(&probe), 5, test_config())
        .spawn()
        .await
        .unwrap();
    let store = causeway_relayer::store::SqliteStore::open(&fixture.db).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let id = fixture.msgs[0].id();
    loop {
        let error = store
            .message(id)
            .unwrap()
            .and_then(|r| r.delivery.last_error);
        if error
            .as_deref()
            .is_some_and(|e| e.contains("lease was nearly over"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never refused: {error:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.shutdown().await;
    assert!(probe.deliveries().is_empty(), "nothing was sent");
}

/// A reorganisation below the cursor (issue 10, item 8) halts the origin with what to do, and
/// the rollback it names lets a restarted relayer read the new fork: nothing lost, nothing
/// twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_below_the_cursor_halts_with_the_fix_and_the_rollback_resumes() {
    use causeway_adapters::BlockId;
    use causeway_proofs::Hash32;
    use causeway_relayer::store::{SourceCursor, SourceStore, SqliteStore, UnixMillis};

    let fixture = Solo::new(5, 5);
    fixture.source.mine(3);
    let head = fixture.source.head();
    let probe = Arc::new(fixture.probe());
    let first = fixture
        .relayer(Arc::clone(&probe), 10, test_config())
        .spawn()
        .await
        .unwrap();
    wait_until(&first, Duration::from_secs(30), |p| {
        counts(p).confirmed == 5
    })
    .await;
    let store = SqliteStore::open(&fixture.db).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while store.cursor(P_ORIGIN).unwrap().map(|c| c.block_number) != Some(head) {
        assert!(
            std::time::Instant::now() < deadline,
            "cursor never reached the head"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The two top (empty) blocks, already read as final, are replaced.
    fixture.source.reorg(2, vec![vec![], vec![]]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let reason = loop {
        let p = first.progress().await.unwrap();
        if let Some(reason) = p.halted.get(&format!("origin {P_ORIGIN}")) {
            break reason.clone();
        }
        assert!(std::time::Instant::now() < deadline, "never halted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        reason.contains("reorganisation below the cursor")
            && reason.contains(&format!(
                "causeway store rollback --db <store file> --origin {P_ORIGIN}"
            )),
        "{reason}"
    );
    first.shutdown().await;

    // The operator rolls back to the last block both forks share (fork 0 at head - 2).
    let common = head - 2;
    let mut seed = common.to_be_bytes().to_vec();
    seed.extend_from_slice(&0u64.to_be_bytes());
    let id = BlockId::from(causeway_proofs::hash::keccak256(&seed).0);
    let hash = Hash32(id.as_bytes().try_into().unwrap());
    store
        .rollback_to(
            P_ORIGIN,
            SourceCursor {
                block_number: common,
                block_hash: hash,
            },
            UnixMillis::now(),
        )
        .unwrap();
    // Restarted, it reads the new fork and delivers what comes next, once.
    let more = messages(5, 2);
    emit(&fixture.source, &more, 2);
    let second = fixture
        .relayer(Arc::clone(&probe), 10, test_config())
        .spawn()
        .await
        .unwrap();
    let p = wait_until(&second, Duration::from_secs(30), |p| {
        counts(p).confirmed == 7
    })
    .await;
    assert!(p.halted.is_empty(), "{:?}", p.halted);
    second.shutdown().await;
    let delivered = probe.deliveries();
    assert_eq!(delivered.len(), 7);
    assert!(delivered.values().all(|n| *n == 1));
}

/// An instance whose source yields nothing new (behind, or idle) still keeps its log up with
/// what another instance appends to the store: it attests the whole log. Before, its log moved
/// only with its own accepts, and it could prove none of the other's messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_instance_catches_its_log_up_with_the_store() {
    let fixture = Solo::new(N, 25);
    let probe = Arc::new(fixture.probe());
    // Its own view of the origin has no block yet: it reads nothing.
    let idle_source = MemoryChain::new(P_ORIGIN, 0);
    let idle = solo_relayer(
        &fixture.db,
        &idle_source,
        Arc::clone(&probe),
        40,
        named_config("instance-idle"),
    )
    .spawn()
    .await
    .unwrap();
    let busy = fixture
        .relayer(Arc::clone(&probe), 40, named_config("instance-busy"))
        .spawn()
        .await
        .unwrap();
    wait_until(&busy, Duration::from_secs(60), |p| counts(p).confirmed == N).await;
    let m = metrics_when(&idle, |m| m.all_lanes().checkpoints >= 1).await;
    let p = idle.progress().await.unwrap();
    busy.shutdown().await;
    idle.shutdown().await;
    assert!(p.halted.is_empty(), "{:?}", p.halted);
    assert_eq!(m.all_origins().accepted, 0, "it accepted nothing itself");
    assert!(m.all_lanes().checkpoints >= 1, "it never attested: {m:?}");
}

/// A kept handle the destination can never read (another family's, an older format) is not
/// followed for ever: its messages are settled by the destination's replay record and sent
/// again. Before, they stayed `submitted` while the instance renewed their follow lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_that_cannot_be_followed_is_settled_by_the_replay_record() {
    use causeway_adapters::SubmissionHandle;
    use causeway_proofs::LogSize;
    use causeway_proofs::bundle::ChainFamily;
    use causeway_relayer::store::{
        DeliveryStore, LeaseOwner, LeaseRequest, SourceStore, SqliteStore, Submission, UnixMillis,
    };

    let fixture = Solo::new(3, 3);
    let probe = Arc::new(fixture.probe());
    // The messages are in the store, as the genesis block's (the source then finds them
    // known), and submitted under a handle no memory chain reads.
    let store = SqliteStore::open(&fixture.db).unwrap();
    let genesis = {
        let mut seed = 0u64.to_be_bytes().to_vec();
        seed.extend_from_slice(&0u64.to_be_bytes());
        causeway_proofs::hash::keccak256(&seed)
    };
    let events: Vec<_> = fixture
        .msgs
        .iter()
        .map(|m| crate::support::event(m.clone(), 0))
        .collect();
    store
        .accept_events(&causeway_relayer::store::AcceptBatch {
            origin: P_ORIGIN,
            events: &events,
            cursor: causeway_relayer::store::SourceCursor {
                block_number: 0,
                block_hash: genesis,
            },
            now: UnixMillis::now(),
        })
        .unwrap();
    let me = LeaseOwner("test-relayer".into());
    let leased = store
        .lease_pending(&LeaseRequest {
            lane: causeway_relayer::store::Lane {
                origin: P_ORIGIN,
                destination: P_DEST,
            },
            owner: &me,
            limit: 10,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(u64::MAX),
            policy: test_config().retry,
            now: UnixMillis::now(),
            rota: None,
        })
        .unwrap();
    let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
    assert_eq!(ids.len(), 3);
    store
        .mark_submitted(&Submission {
            owner: &me,
            lease: leased[0].lease,
            ids: &ids,
            handle: &SubmissionHandle {
                family: ChainFamily::Fabric,
                data: serde_json::json!({ "tx_id": "from another family" }),
            },
            signed: None,
            replaces: None,
            now: UnixMillis::now(),
        })
        .unwrap();
    let second = fixture
        .relayer(Arc::clone(&probe), 10, test_config())
        .spawn()
        .await
        .unwrap();
    wait_until(&second, Duration::from_secs(30), |p| {
        counts(p).confirmed == 3
    })
    .await;
    second.shutdown().await;
    let delivered = probe.deliveries();
    assert_eq!(delivered.len(), 3);
    assert!(delivered.values().all(|n| *n == 1));
}

/// A shutdown never waits on a database lock another process holds for ever: the stages stop
/// retrying busy store calls once cancelled. Before, `shutdown()` never returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_returns_while_another_process_holds_the_lock() {
    let fixture = Solo::new(50, 10);
    let probe = Arc::new(fixture.probe());
    let handle = fixture
        .relayer(Arc::clone(&probe), 10, test_config())
        .spawn()
        .await
        .unwrap();
    let (release, holder) = hold_write_lock(&fixture.db, Duration::from_secs(120));
    // Let the stages run into the lock.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(30), handle.shutdown()).await;
    release.send(()).unwrap();
    holder.join().unwrap();
    assert!(
        stopped.is_ok(),
        "shutdown still waiting on the lock after 30 s"
    );
}

/// A message the destination adapter leaves out of a batch (its delivery alone reverts in
/// simulation) backs off with that reason, recorded in the store, and dead-letters with it once
/// its attempts are used up; the rest of the batch is delivered (issue 9, item 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_left_out_of_a_batch_backs_off_with_its_own_reason_and_the_rest_is_delivered() {
    use causeway_relayer::store::{DeliveryState, QueryStore};
    let fixture = Solo::new(10, 10);
    let culprit = fixture.msgs[3].id();
    let mut probe = fixture.probe();
    probe.left_out = vec![culprit];
    let probe = Arc::new(probe);
    let mut config = test_config();
    config.retry = retry_policy(Duration::from_millis(20), Duration::from_millis(40), 3);
    let handle = fixture
        .relayer(Arc::clone(&probe), 10, config)
        .spawn()
        .await
        .unwrap();
    let p = wait_until(&handle, Duration::from_secs(30), |p| {
        let c = counts(p);
        c.confirmed == 9 && c.dead_letter == 1
    })
    .await;
    handle.shutdown().await;
    assert!(p.halted.is_empty());
    let delivered = probe.deliveries();
    assert_eq!(delivered.len(), 9);
    assert!(!delivered.contains_key(&culprit));
    let store = causeway_relayer::store::SqliteStore::open(&fixture.db).unwrap();
    let record = store.message(culprit).unwrap().unwrap();
    let DeliveryState::DeadLetter { reason } = record.delivery.state else {
        panic!("not a dead letter: {:?}", record.delivery.state);
    };
    assert!(
        reason.contains("its delivery alone reverts") && reason.contains("InvalidProof"),
        "{reason}"
    );
}

/// A log that grows every 10 ms is signed at most once per `checkpoint_interval` (the latest
/// size each time), not once per origin block, and every message is still delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_signed_at_most_once_per_interval_while_the_log_grows() {
    async fn run(interval: Duration) -> u64 {
        let solo = Solo::new(0, 1);
        let config = PipelineConfig {
            checkpoint_interval: interval,
            source_poll: Duration::from_millis(5),
            ..test_config()
        };
        let probe = Arc::new(solo.probe());
        let handle = solo
            .relayer(Arc::clone(&probe), 50, config)
            .spawn()
            .await
            .unwrap();
        let msgs = messages(0, 100);
        for m in &msgs {
            solo.source.emit(vec![m.clone()]);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        wait_until(&handle, Duration::from_secs(30), |p| {
            counts(p).confirmed == 100
        })
        .await;
        let checkpoints = handle.metrics().all_lanes().checkpoints;
        handle.shutdown().await;
        assert_eq!(probe.deliveries().len(), 100);
        checkpoints
    }
    let every_size = run(Duration::ZERO).await;
    let coalesced = run(Duration::from_millis(300)).await;
    // ~1.2 s of growth: a handful of checkpoints, where signing every size makes dozens.
    assert!(
        coalesced <= 8,
        "{coalesced} checkpoints with a 300 ms interval"
    );
    assert!(
        every_size >= 3 * coalesced,
        "{every_size} without an interval, {coalesced} with"
    );
}
