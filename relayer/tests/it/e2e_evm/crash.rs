//! Crash safety: the relayer in a child process, SIGKILLed at random moments, and between
//! signing, recording and broadcasting a transaction, and restarted on the same SQLite file;
//! every message still reaches chain B exactly once, and a transaction recorded and never
//! broadcast is sent, itself, by the next run.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use causeway_adapters::chain::BoxFuture;
use causeway_adapters::evm::{EvmDestination, EvmDestinationConfig, EvmSubmission};
use causeway_adapters::{
    DeliveryBatch, DeliveryStatus, Destination, Error as AdapterError, Recorder, SignedSubmission,
    Submission, SubmissionHandle, SubmissionOutcome,
};
use causeway_devnet::fixtures::evm_signing_domain;
use causeway_devnet::{CHAIN_A, CHAIN_B};
use causeway_proofs::Message;
use causeway_relayer::store::{QueryStore, SqliteStore, StateCounts};

use super::support::*;

/// Set in a child's environment: the test then runs the relayer (see [`crash_child`]).
const CHILD_ENV: &str = "CAUSEWAY_E2E_RELAYER_CHILD";
/// The crash test's full name, for re-running this binary in child mode.
const CRASH_TEST: &str =
    "e2e_evm::crash::a_relayer_sigkilled_at_random_moments_delivers_every_message_exactly_once";
/// What a child prints once its relayer runs.
const STARTED: &str = "RELAYER STARTED";
/// What a child prints, with the transaction hash, when it kills itself right after the
/// relayer recorded a signed transaction and before the adapter broadcast it.
const KILLED_AFTER_RECORD: &str = "KILLED AFTER RECORDING";
/// Rounds that end with a SIGKILL, then one that runs to completion.
const KILLS: usize = 12;
/// Messages dispatched before each round (final on chain A when the child starts): 12 x 170 =
/// 2,040 in all, above the 2,000.
const PER_ROUND: usize = 170;

/// What a child needs to rebuild the parent's relayer, as `key=value` lines in [`CHILD_ENV`].
#[derive(Clone)]
struct ChildSpec {
    db: String,
    a_url: String,
    b_url: String,
    outbox: Address,
    inbox: Address,
    epoch: u64,
    key: String,
    kill: KillPoint,
}

/// Where a child kills itself (SIGKILL), counting the signed transactions of its run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillPoint {
    /// Never: the parent kills it at a random moment.
    Never,
    /// At the n-th signed transaction, before the relayer records it.
    BeforeRecord(u32),
    /// At the n-th signed transaction, after the relayer recorded it, before its broadcast.
    AfterRecord(u32),
}

impl KillPoint {
    fn encode(self) -> String {
        match self {
            KillPoint::Never => "never".into(),
            KillPoint::BeforeRecord(n) => format!("before-record:{n}"),
            KillPoint::AfterRecord(n) => format!("after-record:{n}"),
        }
    }

    fn decode(text: &str) -> KillPoint {
        match text.split_once(':') {
            Some(("before-record", n)) => KillPoint::BeforeRecord(n.parse().unwrap()),
            Some(("after-record", n)) => KillPoint::AfterRecord(n.parse().unwrap()),
            _ => KillPoint::Never,
        }
    }
}

/// The child's destination: the real one, with a recorder that kills the process at its
/// [`KillPoint`].
struct Killing {
    inner: EvmDestination,
    kill: KillPoint,
    signed: AtomicU32,
}

/// Ends this process with SIGKILL, as an operator's `kill -9` or the OOM killer would.
fn kill_self(note: &str) -> ! {
    println!("{note}");
    std::process::Command::new("kill")
        .args(["-9", &std::process::id().to_string()])
        .status()
        .unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

struct KillingRecorder<'a> {
    inner: &'a dyn Recorder,
    owner: &'a Killing,
}

impl Recorder for KillingRecorder<'_> {
    fn record<'a>(&'a self, s: &'a SignedSubmission) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async move {
            let n = self.owner.signed.fetch_add(1, Ordering::SeqCst) + 1;
            if self.owner.kill == KillPoint::BeforeRecord(n) {
                kill_self("KILLED BEFORE RECORDING");
            }
            self.inner.record(s).await?;
            if self.owner.kill == KillPoint::AfterRecord(n) {
                let tx = EvmSubmission::from_handle(&s.handle).unwrap().transactions[0];
                kill_self(&format!("{KILLED_AFTER_RECORD} {tx}"));
            }
            Ok(())
        })
    }
}

impl Destination for Killing {
    fn domain(&self) -> causeway_proofs::Domain {
        self.inner.domain()
    }

    async fn submit_recorded(
        &self,
        batch: &DeliveryBatch,
        recorder: &dyn Recorder,
    ) -> Result<Vec<Submission>, AdapterError> {
        let recorder = KillingRecorder {
            inner: recorder,
            owner: self,
        };
        self.inner.submit_recorded(batch, &recorder).await
    }

    async fn outcome_recorded(
        &self,
        handle: &SubmissionHandle,
        signed: Option<&[u8]>,
    ) -> Result<SubmissionOutcome, AdapterError> {
        self.inner.outcome_recorded(handle, signed).await
    }

    async fn delivery_status(
        &self,
        id: &causeway_proofs::MessageId,
    ) -> Result<DeliveryStatus, AdapterError> {
        self.inner.delivery_status(id).await
    }

    async fn delivery_statuses(
        &self,
        ids: &[causeway_proofs::MessageId],
    ) -> Result<Vec<DeliveryStatus>, AdapterError> {
        self.inner.delivery_statuses(ids).await
    }
}

impl ChildSpec {
    fn encode(&self) -> String {
        format!(
            "db={}\na={}\nb={}\noutbox={}\ninbox={}\nepoch={}\nkey={}\nkill={}",
            self.db,
            self.a_url,
            self.b_url,
            self.outbox,
            self.inbox,
            self.epoch,
            self.key,
            self.kill.encode()
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
            kill: KillPoint::decode(fields["kill"]),
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
    pipeline.clock_skew = Duration::from_millis(200);
    // Small batches, few in flight: a round's work spans many transactions to be killed in.
    pipeline.max_in_flight = 2;
    let destination = Killing {
        inner: destination,
        kill: spec.kill,
        signed: AtomicU32::new(0),
    };
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

/// Starts a child relayer and waits until it runs; returns it (its stdin open: closing that
/// ends it), and the lines it prints after starting.
async fn start_child(spec: &ChildSpec) -> (tokio::process::Child, Arc<Mutex<Vec<String>>>) {
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
    let printed = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&printed);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            keep.lock().unwrap().push(line);
        }
    });
    (child, printed)
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
        kill: KillPoint::Never,
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
    // Transactions a child recorded and died before broadcasting.
    let mut recorded_unsent: Vec<B256> = Vec::new();
    for round in 0..KILLS {
        msgs.extend(
            bridge
                .dispatch(&bodies(&format!("round {round:02}"), PER_ROUND), 50)
                .await,
        );
        bridge.mine_a(CONFIRMATIONS).await;
        // A third of the rounds kill at random, a third between signing and recording, a
        // third between recording and broadcasting (at one of the first transactions).
        let at = 1 + (next() % 3) as u32;
        let kill = match round % 3 {
            0 => KillPoint::Never,
            1 => KillPoint::BeforeRecord(at),
            _ => KillPoint::AfterRecord(at),
        };
        let (mut child, printed) = start_child(&ChildSpec {
            kill,
            ..spec.clone()
        })
        .await;
        if kill == KillPoint::Never {
            tokio::time::sleep(Duration::from_millis(next() % 600)).await;
            child.start_kill().unwrap(); // SIGKILL
        }
        // `wait` closes the child's stdin, which ends a child still running: keep it open.
        let _stdin = child.stdin.take();
        let status = tokio::time::timeout(Duration::from_secs(40), child.wait())
            .await
            .unwrap_or_else(|_| panic!("round {round}: the child never reached {kill:?}"))
            .unwrap();
        if let KillPoint::AfterRecord(_) = kill {
            // The pipe may deliver the last line a moment after the exit.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let printed = printed.lock().unwrap();
            let tx = printed
                .iter()
                .find_map(|l| l.strip_prefix(KILLED_AFTER_RECORD))
                .unwrap_or_else(|| panic!("round {round}: no kill after recording: {printed:?}"));
            recorded_unsent.push(tx.trim().parse().unwrap());
        }
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
    let (mut child, _) = start_child(&spec).await;
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let c = stored_counts(&db);
        if c.confirmed == msgs.len() as u64 {
            assert_settled(&c);
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
    // Record before broadcast: each transaction recorded and never broadcast by a killed run
    // was sent, itself (the same bytes, the same hash), by the next run.
    assert_eq!(recorded_unsent.len(), KILLS / 3);
    for tx in &recorded_unsent {
        let receipt = bridge
            .b
            .provider
            .get_transaction_receipt(*tx)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("the recorded transaction {tx} was never mined"));
        assert!(receipt.status(), "{tx} reverted");
    }
    let sample: Vec<Message> = msgs.iter().step_by(37).cloned().collect();
    bridge.assert_bundles_verify(&db, &sample);
}
