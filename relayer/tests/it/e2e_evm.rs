//! The relayer end to end over two real anvil chains (issue 3, "tests against real anvil
//! chains"): chain A's Outbox to chain B's Inbox through `EvmSource`, the pipeline and
//! `EvmDestination`, with a 2-of-3 committee configured on the Inbox exactly as the relayer's
//! signing domain says. Every test checks the destination chain itself: `Inbox.status(id)` and
//! the ExampleRecipient's `Handled` events (each message handled exactly once), and that what
//! the store kept assembles into `ProofBundle`s that verify offline.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::anvil::{ReorgOptions, TransactionData};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use causeway_adapters::NativeVerifier;
use causeway_adapters::ObservedMessage;
use causeway_adapters::evm::{
    EvmDestination, EvmDestinationConfig, EvmSource, EvmSourceConfig, Finality,
};
use causeway_devnet::contracts::{ExampleRecipient, Outbox};
use causeway_devnet::fixtures::{Committee, address32, evm_signing_domain, message};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{
    HashAlgorithm, LeafIndex, Message, ProofBundle, SigningDomain, TrustAnchor, ValidatorKey,
    ValidatorSet,
};
use causeway_relayer::pipeline::{LaneConfig, MultiSigner, OriginConfig, PipelineConfig, Progress};
use causeway_relayer::store::{
    CheckpointStore, Lane, LeaseOwner, QueryStore, RetryPolicy, SourceStore, SqliteStore,
    StateCounts,
};
use causeway_relayer::{Relayer, RelayerHandle};

/// The lane every test relays: chain A (domain 1) to chain B (domain 2).
const LANE: Lane = Lane {
    origin: CHAIN_A.domain,
    destination: CHAIN_B.domain,
};
/// Dev account of chain B the relayer sends from (the admin is account 0).
const RELAYER_ACCOUNT: usize = 5;
/// Confirmations on chain A before an Outbox event is final.
const CONFIRMATIONS: u64 = 3;
/// Gas limit of one dispatch (explicit: no estimate per transaction, and `anvil_reorg` needs it).
const DISPATCH_GAS: u64 = 200_000;

/// Two chains, the committee trusted by chain B's Inbox for origin A, and the signing domain
/// the Inbox computes on chain.
struct Bridge {
    a: DevChain,
    b: DevChain,
    committee: Committee,
    signing_domain: SigningDomain,
}

impl Bridge {
    async fn start() -> Bridge {
        let (a, b) = tokio::try_join!(DevChain::start(CHAIN_A), DevChain::start(CHAIN_B)).unwrap();
        let committee = Committee::new(COMMITTEE, 3, 2);
        let receipt = b
            .inbox
            .setValidators(CHAIN_A.domain.0, CHAIN_A.chain_id, committee.addresses(), 2)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
        let set = b.inbox.validatorSet(CHAIN_A.domain.0).call().await.unwrap();
        assert_eq!(set.threshold, 2);
        assert_eq!(set.originChainId, CHAIN_A.chain_id);
        // What the Inbox hashes: origin and its chain id as configured, its own localDomain,
        // block.chainid, address(this) left-padded, the epoch setValidators moved to.
        let local = b.inbox.localDomain().call().await.unwrap();
        let chain_id = b.provider.get_chain_id().await.unwrap();
        let signing_domain = evm_signing_domain(
            CHAIN_A.domain,
            CHAIN_A.chain_id,
            causeway_proofs::Domain(local),
            chain_id,
            *b.inbox.address(),
            set.epoch,
        );
        Bridge {
            a,
            b,
            committee,
            signing_domain,
        }
    }

    fn validators(&self) -> ValidatorSet {
        validators(&self.committee)
    }

    fn trust(&self) -> TrustAnchor {
        TrustAnchor {
            signing_domain: self.signing_domain,
            validators: self.validators(),
        }
    }

    fn source(&self, url: String) -> EvmSource {
        evm_source(url, *self.a.outbox.address())
    }

    fn destination(&self, url: String) -> EvmDestination {
        self.destination_with(url, |_| {})
    }

    fn destination_with(
        &self,
        url: String,
        tweak: impl FnOnce(&mut EvmDestinationConfig),
    ) -> EvmDestination {
        let mut config = EvmDestinationConfig::new(url, CHAIN_B.domain, *self.b.inbox.address());
        config.chain_id = Some(CHAIN_B.chain_id);
        tweak(&mut config);
        let key = self.b.node.dev_keys()[RELAYER_ACCOUNT].to_bytes();
        EvmDestination::new(config, &key.0).unwrap()
    }

    /// A relayer of the lane over the given endpoints, on the SQLite file `db`.
    fn relayer(&self, db: &Path, source_url: String, destination_url: String) -> Relayer {
        self.relayer_to(db, source_url, self.destination(destination_url))
    }

    /// A relayer of the lane to `destination`, on the SQLite file `db`.
    fn relayer_to(&self, db: &Path, source_url: String, destination: EvmDestination) -> Relayer {
        build_relayer(
            db,
            self.source(source_url),
            destination,
            self.signing_domain,
            e2e_config(),
            100,
        )
    }

    /// The message chain A's Outbox emits for the dispatch of `body` with `nonce` by its admin.
    fn message(&self, nonce: u64, body: &[u8]) -> Message {
        message(
            nonce,
            CHAIN_A.domain,
            self.a.admin,
            CHAIN_B.domain,
            *self.b.recipient.address(),
            body,
        )
    }

    /// The transaction dispatching `body` to chain B's ExampleRecipient.
    fn dispatch_request(&self, body: &[u8]) -> TransactionRequest {
        let call = Outbox::dispatchCall {
            destination: CHAIN_B.domain.0,
            recipient: address32(*self.b.recipient.address()).0.into(),
            body: Bytes::copy_from_slice(body),
        };
        TransactionRequest::default()
            .from(self.a.admin)
            .to(*self.a.outbox.address())
            .input(Bytes::from(call.abi_encode()).into())
            .gas_limit(DISPATCH_GAS)
    }

    /// Dispatches every body on chain A, `per_block` transactions per block (automine off
    /// meanwhile), and returns the messages.
    async fn dispatch(&self, bodies: &[Vec<u8>], per_block: usize) -> Vec<Message> {
        let p = &self.a.provider;
        let first = self.a.outbox.nonce().call().await.unwrap();
        p.anvil_set_auto_mine(false).await.unwrap();
        for chunk in bodies.chunks(per_block) {
            for body in chunk {
                // Not awaiting receipts: the node pools them until the block is mined.
                let _pending = p
                    .send_transaction(self.dispatch_request(body))
                    .await
                    .unwrap();
            }
            p.evm_mine(None).await.unwrap();
        }
        let want = first + bodies.len() as u64;
        for _ in 0..100 {
            if self.a.outbox.nonce().call().await.unwrap() == want {
                break;
            }
            p.evm_mine(None).await.unwrap();
        }
        p.anvil_set_auto_mine(true).await.unwrap();
        assert_eq!(self.a.outbox.nonce().call().await.unwrap(), want);
        bodies
            .iter()
            .enumerate()
            .map(|(i, body)| self.message(first + i as u64, body))
            .collect()
    }

    /// Mines `n` empty blocks on chain A.
    async fn mine_a(&self, n: u64) {
        self.a.provider.anvil_mine(Some(n), None).await.unwrap();
    }

    /// `Inbox.status(id)` on chain B for each message.
    async fn statuses(&self, msgs: &[Message]) -> Vec<u8> {
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            let id = m.id().as_hash().0.into();
            out.push(self.b.inbox.status(id).call().await.unwrap());
        }
        out
    }

    /// How many times chain B's ExampleRecipient handled each body (its `Handled` events).
    async fn handled(&self) -> HashMap<Vec<u8>, u32> {
        let filter = Filter::new()
            .address(*self.b.recipient.address())
            .event_signature(ExampleRecipient::Handled::SIGNATURE_HASH)
            .from_block(0);
        let logs = self.b.provider.get_logs(&filter).await.unwrap();
        let mut seen = HashMap::new();
        for log in logs {
            let event = ExampleRecipient::Handled::decode_log_data(log.data()).unwrap();
            assert_eq!(event.origin, CHAIN_A.domain.0);
            assert_eq!(
                event.sender,
                alloy::primitives::B256::from(address32(self.a.admin).0)
            );
            *seen.entry(event.body.to_vec()).or_default() += 1;
        }
        seen
    }

    /// Asserts that exactly `delivered` were delivered and handled once each, and that none of
    /// `never` reached chain B.
    async fn assert_delivered_exactly_once(&self, delivered: &[Message], never: &[Message]) {
        let statuses = self.statuses(delivered).await;
        let undelivered: Vec<usize> = (0..statuses.len()).filter(|&i| statuses[i] != 1).collect();
        assert!(undelivered.is_empty(), "not delivered: {undelivered:?}");
        assert!(self.statuses(never).await.iter().all(|s| *s == 0));
        let handled = self.handled().await;
        assert_eq!(handled.len(), delivered.len(), "distinct bodies handled");
        for m in delivered {
            assert_eq!(
                handled.get(m.body()),
                Some(&1),
                "handled once: {:?}",
                m.nonce()
            );
        }
        let count = self.b.recipient.handled().call().await.unwrap();
        assert_eq!(count, alloy::primitives::U256::from(delivered.len()));
    }

    /// Assembles, from the store at `db` alone, the proof bundle of every message (what
    /// `causeway verify` is given) and verifies it offline against the Inbox's trust anchor;
    /// the native receipt proof kept beside it verifies too.
    fn assert_bundles_verify(&self, db: &Path, msgs: &[Message]) {
        let store = SqliteStore::open(db).unwrap();
        let size = store.log_size(LANE.origin).unwrap();
        let mut log = Sha256Log::new();
        let mut from = 0;
        while from < size.0 {
            let page = store.leaves(LANE.origin, LeafIndex(from), 10_000).unwrap();
            assert!(!page.is_empty());
            for id in &page {
                log.append(id.as_hash());
            }
            from += page.len() as u64;
        }
        let stored = store.latest_checkpoint(LANE, 2).unwrap().unwrap();
        let cp = stored.checkpoint;
        assert_eq!(
            cp.root(),
            log.root_at(cp.size()).unwrap(),
            "the signed root"
        );
        let signatures: Vec<_> = stored.signatures.iter().map(|s| s.signature).collect();
        let trust = self.trust();
        let verifier = causeway_adapters::evm::EvmNativeVerifier {
            domain: CHAIN_A.domain,
            outbox: *self.a.outbox.address(),
        };
        for m in msgs {
            let record = store.message(m.id()).unwrap().unwrap();
            assert_eq!(&record.message, m);
            assert!(
                record.leaf_index.0 < cp.size().0,
                "covered by the checkpoint"
            );
            let inclusion = log.inclusion_proof(record.leaf_index, cp.size()).unwrap();
            let native = record.native_proof.clone().unwrap();
            let bundle = ProofBundle::assemble(
                record.message.clone(),
                inclusion,
                cp,
                self.signing_domain,
                signatures.clone(),
            )
            .unwrap()
            .with_source(record.source.clone())
            .with_native_proof(native.clone());
            // Through its JSON form, as a verifier elsewhere receives it.
            let bundle = ProofBundle::from_json(&bundle.to_json_pretty()).unwrap();
            let verdict = bundle.verify(&trust).unwrap();
            assert_eq!(verdict.message_id, m.id());
            assert_eq!(verdict.leaf_index, record.leaf_index);
            assert_eq!(verdict.signers.len(), 2);
            verifier
                .verify(&ObservedMessage {
                    message: record.message,
                    source: record.source,
                    proof: native,
                })
                .unwrap();
        }
    }
}

/// The label the committee's deterministic keys derive from (a child process rebuilds them).
const COMMITTEE: &str = "causeway-relayer-e2e";

fn validators(committee: &Committee) -> ValidatorSet {
    ValidatorSet::new(
        committee.keys().iter().map(ValidatorKey::address).collect(),
        2,
    )
    .unwrap()
}

/// Two of the three validators (the first and the last by address) sign.
fn collector(committee: &Committee) -> MultiSigner {
    let keys = committee.keys();
    let copy = |k: &ValidatorKey| ValidatorKey::from_bytes(&k.secret_bytes()).unwrap();
    MultiSigner::new(vec![copy(&keys[0]), copy(&keys[2])])
}

/// The source of chain A's Outbox at `url`, final after [`CONFIRMATIONS`].
fn evm_source(url: String, outbox: Address) -> EvmSource {
    EvmSource::new(EvmSourceConfig::new(
        url,
        CHAIN_A.domain,
        outbox,
        Finality::Confirmations(CONFIRMATIONS),
    ))
    .unwrap()
}

/// A relayer of the lane A -> B on the SQLite file `db`, signing with two of the committee.
fn build_relayer(
    db: &Path,
    source: EvmSource,
    destination: EvmDestination,
    signing_domain: SigningDomain,
    config: PipelineConfig,
    batch_size: usize,
) -> Relayer {
    let committee = Committee::new(COMMITTEE, 3, 2);
    let store = Arc::new(SqliteStore::open(db).unwrap());
    Relayer::new(store, Arc::new(collector(&committee)), config)
        .origin(OriginConfig {
            verifier: Arc::new(source.verifier()),
            source: Arc::new(source),
            start_height: 0,
        })
        .lane(LaneConfig {
            destination: Arc::new(destination),
            signing_domain,
            validators: validators(&committee),
            hash_algorithm: HashAlgorithm::Sha256,
            batch_size,
        })
}

/// Pipeline knobs for real chains: quick polls, leases longer than a submission takes.
fn e2e_config() -> PipelineConfig {
    PipelineConfig {
        owner: LeaseOwner("e2e-relayer".into()),
        channel_capacity: 4,
        max_in_flight: 4,
        source_poll: Duration::from_millis(50),
        source_backoff: Duration::from_millis(100),
        source_backoff_max: Duration::from_secs(1),
        deliver_poll: Duration::from_millis(50),
        confirm_poll: Duration::from_millis(50),
        confirmations: 1,
        lease_for: Duration::from_secs(20),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_attempts: 100,
        },
    }
}

/// The lane's counts (zero before its first message).
fn counts(p: &Progress) -> StateCounts {
    p.lanes
        .iter()
        .find(|s| s.lane == LANE)
        .map(|s| s.counts)
        .unwrap_or_default()
}

/// Polls until `done` holds; panics after `timeout`. While waiting, calls `tick` (e.g. to mine
/// blocks on chain A so events become final).
async fn wait_until<F, Fut>(
    handle: &RelayerHandle,
    timeout: Duration,
    mut tick: F,
    done: impl Fn(&StateCounts) -> bool,
) -> Progress
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let p = handle.progress().await.unwrap();
        assert!(p.halted.is_empty(), "halted: {:?}", p.halted);
        if done(&counts(&p)) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; progress {p:?}, metrics {:?}",
            handle.metrics()
        );
        tick().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn bodies(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{tag} message {i:05}").into_bytes())
        .collect()
}

/// Messages dispatched on chain A (100 per block).
const N: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_from_a_to_b_are_delivered_exactly_once_with_verifying_bundles() {
    let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_test_writer().try_init();
    let started = Instant::now();
    let bridge = Bridge::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let msgs = bridge.dispatch(&bodies("a-to-b", N), 100).await;
    bridge.mine_a(CONFIRMATIONS).await;
    eprintln!("{N} dispatched after {:?}", started.elapsed());

    let handle = bridge
        .relayer(&db, bridge.a.node.endpoint(), bridge.b.node.endpoint())
        .spawn()
        .await
        .unwrap();
    let p = wait_until(
        &handle,
        Duration::from_secs(60),
        || async {},
        |c| c.confirmed == N as u64,
    )
    .await;
    let c = counts(&p);
    assert_eq!(
        (c.pending, c.leased, c.submitted, c.dead_letter),
        (0, 0, 0, 0)
    );
    let metrics = handle.metrics();
    handle.shutdown().await;
    eprintln!("relayed after {:?}: {metrics:?}", started.elapsed());
    assert_eq!(metrics.accepted, N as u64);
    assert_eq!(metrics.messages_submitted, N as u64, "each submitted once");
    assert_eq!(metrics.reverted, 0);

    bridge.assert_delivered_exactly_once(&msgs, &[]).await;
    bridge.assert_bundles_verify(&db, &msgs);
    eprintln!("checked after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reorganised_away_before_finality_is_never_delivered_but_its_replacement_is() {
    let started = Instant::now();
    let bridge = Bridge::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let handle = bridge
        .relayer(&db, bridge.a.node.endpoint(), bridge.b.node.endpoint())
        .spawn()
        .await
        .unwrap();

    let mut delivered = bridge.dispatch(&bodies("before", 20), 10).await;
    bridge.mine_a(CONFIRMATIONS).await;
    wait_until(
        &handle,
        Duration::from_secs(30),
        || async {},
        |c| c.confirmed == 20,
    )
    .await;

    // The doomed dispatch is mined, one more block lands on it (2 of the 3 confirmations
    // finality needs), and the relayer polls that head for a while.
    let doomed = bridge.dispatch(&[b"doomed".to_vec()], 1).await;
    let doomed_block = bridge.a.provider.get_block_number().await.unwrap();
    bridge.mine_a(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Both blocks are replaced; the new first one holds another dispatch, which takes the same
    // nonce (the Outbox's state was rolled back with the block).
    let replacement_request = bridge.dispatch_request(b"replacement");
    bridge
        .a
        .provider
        .anvil_reorg(ReorgOptions {
            depth: 2,
            tx_block_pairs: vec![(TransactionData::JSON(replacement_request), 0)],
        })
        .await
        .unwrap();
    assert_eq!(
        bridge.a.provider.get_block_number().await.unwrap(),
        doomed_block + 1
    );
    let replacement = bridge.message(doomed[0].nonce().0, b"replacement");
    assert_eq!(bridge.a.outbox.nonce().call().await.unwrap(), 21);
    delivered.push(replacement.clone());
    delivered.extend(bridge.dispatch(&bodies("after", 10), 5).await);
    bridge.mine_a(CONFIRMATIONS).await;

    let p = wait_until(
        &handle,
        Duration::from_secs(30),
        || async {},
        |c| c.confirmed == 31,
    )
    .await;
    let c = counts(&p);
    assert_eq!(
        (c.pending, c.leased, c.submitted, c.dead_letter),
        (0, 0, 0, 0)
    );
    // Nothing more arrives: the doomed event never comes back.
    bridge.mine_a(CONFIRMATIONS).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = handle.progress().await.unwrap();
    assert_eq!(counts(&p).confirmed, 31);
    let metrics = handle.metrics();
    handle.shutdown().await;
    assert_eq!(metrics.accepted, 31, "{metrics:?}");

    bridge
        .assert_delivered_exactly_once(&delivered, &doomed)
        .await;
    let store = SqliteStore::open(&db).unwrap();
    assert!(
        store.message(doomed[0].id()).unwrap().is_none(),
        "never stored"
    );
    let record = store.message(replacement.id()).unwrap().unwrap();
    assert_eq!(record.source.block_number, Some(doomed_block));
    drop(store);
    bridge.assert_bundles_verify(&db, &delivered);
    eprintln!("reorg test took {:?}", started.elapsed());
}

/// A TCP gate in front of a node: forwards connections while open; when closed, cuts every
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

/// Log lines captured by a test's own subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// Current-thread runtime: every relayer task runs on this thread, under the subscriber set
// below, so its warnings are captured.
#[tokio::test]
async fn the_destination_node_going_dark_mid_run_delays_delivery_without_loss() {
    let started = Instant::now();
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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
    assert!(during.submit_failures > 0, "{during:?}");
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
    assert_eq!(
        (c.pending, c.leased, c.submitted, c.dead_letter),
        (0, 0, 0, 0)
    );
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

/// Set in a child's environment: the test then runs the relayer (see [`crash_child`]).
const CHILD_ENV: &str = "CAUSEWAY_E2E_RELAYER_CHILD";
/// The crash test's full name, for re-running this binary in child mode.
const CRASH_TEST: &str =
    "e2e_evm::a_relayer_sigkilled_at_random_moments_delivers_every_message_exactly_once";
/// What a child prints once its relayer runs.
const STARTED: &str = "RELAYER STARTED";
/// Rounds that end with a SIGKILL, then one that runs to completion.
const KILLS: usize = 12;
/// Messages dispatched before each round (final on chain A when the child starts).
const PER_ROUND: usize = 150;

/// What a child needs to rebuild the parent's relayer, as `key=value` lines in [`CHILD_ENV`].
struct ChildSpec {
    db: String,
    a_url: String,
    b_url: String,
    outbox: Address,
    inbox: Address,
    epoch: u64,
    key: String,
}

impl ChildSpec {
    fn encode(&self) -> String {
        format!(
            "db={}\na={}\nb={}\noutbox={}\ninbox={}\nepoch={}\nkey={}",
            self.db, self.a_url, self.b_url, self.outbox, self.inbox, self.epoch, self.key
        )
    }

    fn decode(text: &str) -> ChildSpec {
        let fields: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        ChildSpec {
            db: fields["db"].to_owned(),
            a_url: fields["a"].to_owned(),
            b_url: fields["b"].to_owned(),
            outbox: fields["outbox"].parse().unwrap(),
            inbox: fields["inbox"].parse().unwrap(),
            epoch: fields["epoch"].parse().unwrap(),
            key: fields["key"].to_owned(),
        }
    }
}

/// The child: run the relayer on the parent's chains and database until killed (or until the
/// parent goes away: its end of stdin closes).
async fn crash_child(spec: ChildSpec) {
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        std::process::exit(0);
    });
    let mut config = EvmDestinationConfig::new(spec.b_url, CHAIN_B.domain, spec.inbox);
    config.chain_id = Some(CHAIN_B.chain_id);
    let key: alloy::primitives::B256 = spec.key.parse().unwrap();
    let destination = EvmDestination::new(config, &key.0).unwrap();
    let signing_domain = evm_signing_domain(
        CHAIN_A.domain,
        CHAIN_A.chain_id,
        CHAIN_B.domain,
        CHAIN_B.chain_id,
        spec.inbox,
        spec.epoch,
    );
    let mut pipeline = e2e_config();
    // A killed run's leases come back quickly.
    pipeline.lease_for = Duration::from_secs(2);
    // Small batches, few in flight: a round's work spans many transactions to be killed in.
    pipeline.max_in_flight = 2;
    let handle = build_relayer(
        Path::new(&spec.db),
        evm_source(spec.a_url, spec.outbox),
        destination,
        signing_domain,
        pipeline,
        5,
    )
    .spawn()
    .await
    .unwrap();
    println!("{STARTED}");
    // Bounded even if nobody kills it.
    tokio::time::sleep(Duration::from_secs(80)).await;
    handle.shutdown().await;
    std::process::exit(1);
}

/// Starts a child relayer and waits until it runs; returns it with its stdin (closing that
/// ends it).
async fn start_child(spec: &ChildSpec) -> tokio::process::Child {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CRASH_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec.encode())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let started = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(STARTED) {
                return;
            }
        }
        panic!("the child relayer ended before starting");
    };
    tokio::time::timeout(Duration::from_secs(20), started)
        .await
        .expect("the child relayer starts");
    // Keep draining its stdout so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

/// The lane's counts in the store at `db` (read beside the running child: WAL).
fn stored_counts(db: &Path) -> StateCounts {
    let store = SqliteStore::open(db).unwrap();
    store
        .lane_stats()
        .unwrap()
        .into_iter()
        .find(|s| s.lane == LANE)
        .map(|s| s.counts)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayer_sigkilled_at_random_moments_delivers_every_message_exactly_once() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        crash_child(ChildSpec::decode(&spec)).await;
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    let started = Instant::now();
    let bridge = Bridge::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let spec = ChildSpec {
        db: db.to_str().unwrap().to_owned(),
        a_url: bridge.a.node.endpoint(),
        b_url: bridge.b.node.endpoint(),
        outbox: *bridge.a.outbox.address(),
        inbox: *bridge.b.inbox.address(),
        epoch: bridge.signing_domain.validator_epoch,
        key: bridge.b.node.dev_keys()[RELAYER_ACCOUNT]
            .to_bytes()
            .to_string(),
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("e2e crash test seed {seed}");
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };

    let mut msgs = Vec::new();
    let mut killed_mid_work = 0;
    for round in 0..KILLS {
        msgs.extend(
            bridge
                .dispatch(&bodies(&format!("round {round:02}"), PER_ROUND), 50)
                .await,
        );
        bridge.mine_a(CONFIRMATIONS).await;
        let mut child = start_child(&spec).await;
        tokio::time::sleep(Duration::from_millis(next() % 600)).await;
        child.start_kill().unwrap(); // SIGKILL
        let status = child.wait().await.unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: ended by {status:?}"
        );
        let c = stored_counts(&db);
        if c.confirmed < msgs.len() as u64 {
            killed_mid_work += 1;
        }
        eprintln!("round {round}: killed; {c:?} of {}", msgs.len());
    }
    assert!(
        killed_mid_work >= KILLS / 2,
        "most kills hit work in progress"
    );

    // A last run on the same file finishes the work.
    let mut child = start_child(&spec).await;
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let c = stored_counts(&db);
        if c.confirmed == msgs.len() as u64 {
            assert_eq!(
                (c.pending, c.leased, c.submitted, c.dead_letter),
                (0, 0, 0, 0)
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the last run did not finish: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    eprintln!(
        "{} messages, {KILLS} kills ({killed_mid_work} mid-work), took {:?}",
        msgs.len(),
        started.elapsed()
    );

    bridge.assert_delivered_exactly_once(&msgs, &[]).await;
    let sample: Vec<Message> = msgs.iter().step_by(37).cloned().collect();
    bridge.assert_bundles_verify(&db, &sample);
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
    assert_eq!(
        (c.pending, c.leased, c.submitted, c.dead_letter),
        (0, 0, 0, 0)
    );
    let metrics = handle.metrics();
    handle.shutdown().await;
    eprintln!(
        "restart at {confirmed_at_kill} confirmed; metrics {metrics:?}; took {:?}",
        started.elapsed()
    );
    bridge.assert_delivered_exactly_once(&msgs, &[]).await;
    bridge.assert_bundles_verify(&db, &msgs[..20]);
}
