//! Destination node faults: the node unreachable for a while, and killed and restarted with
//! its state; the relayer backs off, warns, and completes without loss.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use causeway_devnet::CHAIN_B;
use causeway_devnet::contracts::ExampleRecipient;
use causeway_devnet::logs::Captured;
use causeway_relayer::store::{QueryStore, SqliteStore};

use super::support::*;

/// open connection and drops new ones at once (the node looks dead). Stopped when dropped.
struct Gate {
    url: String,
    upstream: Arc<std::sync::atomic::AtomicU16>,
    closed: tokio::sync::watch::Sender<bool>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gate {
    async fn start(upstream_port: u16) -> Gate {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (closed, _) = tokio::sync::watch::channel(false);
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let upstream = Arc::new(std::sync::atomic::AtomicU16::new(upstream_port));
        let (state, counter, target) =
            (closed.clone(), Arc::clone(&dropped), Arc::clone(&upstream));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut rx = state.subscribe();
                if *rx.borrow_and_update() {
                    counter.fetch_add(1, Ordering::Relaxed);
                    drop(client);
                    continue;
                }
                let port = target.load(Ordering::Relaxed);
                tokio::spawn(async move {
                    let Ok(mut node) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut node) => {}
                        _ = rx.wait_for(|closed| *closed) => {}
                    }
                });
            }
        });
        Gate {
            url,
            upstream,
            closed,
            dropped,
            task,
        }
    }

    fn close(&self) {
        self.closed.send_replace(true);
    }

    fn open(&self) {
        self.closed.send_replace(false);
    }

    /// Forwards new connections to another port from now on.
    fn reroute(&self, port: u16) {
        self.upstream
            .store(port, std::sync::atomic::Ordering::Relaxed);
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Prints the captured log if the test fails.
struct DumpOnPanic(Captured);

impl Drop for DumpOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("captured log:\n{}", self.0.text());
        }
    }
}

// Current-thread runtime: every relayer task runs on this thread, under the subscriber set
// below, so its warnings are captured.
#[tokio::test]
async fn the_destination_node_going_dark_mid_run_delays_delivery_without_loss() {
    let started = Instant::now();
    let logs = Captured::default();
    let _guard = logs.install();
    let _dump = DumpOnPanic(logs.clone());

    let bridge = Bridge::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let gate = Gate::start(bridge.b.node.port()).await;
    // Few quick RPC retries, so the outage reaches the pipeline instead of hiding in them.
    let destination = bridge.destination_with(gate.url.clone(), |c| {
        c.rpc.request_timeout = Duration::from_secs(2);
        c.rpc.retry = causeway_adapters::retry::RetryPolicy {
            max_attempts: 2,
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(100),
        };
    });
    let handle = bridge
        .relayer_to(&db, bridge.a.node.endpoint(), destination)
        .spawn()
        .await
        .unwrap();

    let mut msgs = bridge.dispatch(&bodies("before outage", 100), 50).await;
    bridge.mine_a(CONFIRMATIONS).await;
    wait_until(
        &handle,
        Duration::from_secs(30),
        || async {},
        |c| c.confirmed == 100,
    )
    .await;

    // The node goes dark while more messages become final on chain A.
    gate.close();
    msgs.extend(bridge.dispatch(&bodies("during outage", 200), 50).await);
    bridge.mine_a(CONFIRMATIONS).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let p = handle.progress().await.unwrap();
    assert_eq!(counts(&p).confirmed, 100, "nothing confirmed while dark");
    let during = handle.metrics();
    assert!(during.all_lanes().submit_failures > 0, "{during:?}");
    assert!(gate.dropped() > 0);
    let dropped_while_dark = gate.dropped();

    // Back: everything arrives, once.
    gate.open();
    let p = wait_until(
        &handle,
        Duration::from_secs(40),
        || async {},
        |c| c.confirmed == 300,
    )
    .await;
    let c = counts(&p);
    assert_settled(&c);
    let metrics = handle.metrics();
    handle.shutdown().await;
    eprintln!(
        "outage: {dropped_while_dark} connections dropped; metrics {metrics:?}; took {:?}",
        started.elapsed()
    );
    // Backoff: the failed messages carried their attempts and waited, not hammered the node.
    let store = SqliteStore::open(&db).unwrap();
    let retried = msgs[100..]
        .iter()
        .filter(|m| store.message(m.id()).unwrap().unwrap().delivery.attempts > 0)
        .count();
    assert!(retried > 0, "the outage cost attempts");
    assert!(
        dropped_while_dark < 400,
        "{dropped_while_dark} connections in 4 s: no backoff"
    );
    drop(store);
    let text = logs.text();
    assert!(
        text.contains("WARN") && text.contains("back to pending with backoff"),
        "a warning was logged:\n{text}"
    );
    bridge.assert_delivered_exactly_once(&msgs, &[]).await;
    bridge.assert_bundles_verify(&db, &msgs[..20]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_destination_node_killed_mid_run_and_restarted_with_its_state_loses_nothing() {
    let started = Instant::now();
    let mut bridge = Bridge::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    // The relayer reaches chain B at a fixed address; the node behind it is replaced.
    let gate = Gate::start(bridge.b.node.port()).await;
    let destination = bridge.destination_with(gate.url.clone(), |c| {
        c.rpc.request_timeout = Duration::from_secs(2);
        c.rpc.retry = causeway_adapters::retry::RetryPolicy {
            max_attempts: 2,
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(100),
        };
    });
    let handle = build_relayer(
        &db,
        bridge.source(bridge.a.node.endpoint()),
        destination,
        bridge.signing_domain,
        e2e_config(),
        10,
    )
    .spawn()
    .await
    .unwrap();
    let msgs = bridge.dispatch(&bodies("restart", 400), 100).await;
    bridge.mine_a(CONFIRMATIONS).await;
    wait_until(
        &handle,
        Duration::from_secs(30),
        || async {},
        |c| c.confirmed >= 60,
    )
    .await;

    // Mid-run: the node stops answering, its state is saved, the process is killed.
    gate.close();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let state = bridge.b.provider.anvil_dump_state().await.unwrap();
    let head_before = bridge.b.provider.get_block_number().await.unwrap();
    let confirmed_at_kill = counts(&handle.progress().await.unwrap()).confirmed;
    assert!(confirmed_at_kill < 400, "killed mid-run");
    let old = std::mem::replace(
        &mut bridge.b.node,
        causeway_devnet::anvil::AnvilNode::spawn(&causeway_devnet::anvil::AnvilConfig::new(
            CHAIN_B.chain_id,
        ))
        .await
        .unwrap(),
    );
    drop(old); // SIGKILL
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The new process takes the saved state and the old one's place.
    let node = &bridge.b.node;
    let provider = node.provider(causeway_devnet::ADMIN_KEY_INDEX);
    assert!(provider.anvil_load_state(state).await.unwrap());
    assert_eq!(provider.get_block_number().await.unwrap(), head_before);
    bridge.b.inbox =
        causeway_devnet::contracts::Inbox::new(*bridge.b.inbox.address(), provider.clone());
    bridge.b.recipient = ExampleRecipient::new(*bridge.b.recipient.address(), provider.clone());
    bridge.b.provider = provider;
    gate.reroute(bridge.b.node.port());
    gate.open();

    let p = wait_until(
        &handle,
        Duration::from_secs(40),
        || async {},
        |c| c.confirmed == 400,
    )
    .await;
    let c = counts(&p);
    assert_settled(&c);
    let metrics = handle.metrics();
    handle.shutdown().await;
    eprintln!(
        "restart at {confirmed_at_kill} confirmed; metrics {metrics:?}; took {:?}",
        started.elapsed()
    );
    bridge.assert_delivered_exactly_once(&msgs, &[]).await;
    bridge.assert_bundles_verify(&db, &msgs[..20]);
}
