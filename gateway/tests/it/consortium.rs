//! A consortium as it runs: three member organisations, each its own `causeway run` process with
//! its own keys, SQLite store and mutual-TLS identity from the consortium's CA, attesting 2 of 3
//! over the peer protocol on loopback, over two anvil chains (lanes both ways). No process holds
//! another member's validator key, so a message is delivered only if the members' gateways
//! agree on checkpoints over the peer protocol.
//!
//! One run covers the scenarios in sequence (few slow multi-process tests): every
//! message of 1,000 delivered exactly once (each destination Inbox emits one `Delivered` per
//! message);
//! one member SIGKILLed: delivery goes on with the other two; two stopped: nothing delivered,
//! nothing lost; restarted: everything caught up, exactly once; SIGTERM: each process drains
//! and exits 0. Every delivered message's bundle verifies with `causeway verify`. Alpha's log is
//! anchored on beta all along (`anchoring.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes};
use alloy::providers::Provider as _;
use alloy::providers::ext::AnvilApi as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use causeway_devnet::contracts::{Inbox, Outbox};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain, Devnet};
use causeway_gateway::devnet::{Layout, LocalChain, MemberFolder, write_members};

use crate::support::{causeway, text};

/// The committee's deterministic keys: member `i` holds key `i` only.
pub(crate) const COMMITTEE: &str = "causeway-gateway-consortium";

/// One member organisation's folder and process.
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    child: Option<Child>,
    runs: u32,
}

impl Member {
    pub(crate) fn config(&self) -> PathBuf {
        self.dir.join("causeway.toml")
    }

    /// Starts `causeway run` (its log appended to `gateway.log`).
    pub(crate) fn start(&mut self) {
        self.start_with(&[]);
    }

    /// Starts `causeway run` with extra environment variables.
    pub(crate) fn start_with(&mut self, env: &[(&str, &str)]) {
        assert!(self.child.is_none(), "{} already runs", self.name);
        self.runs += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("gateway.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_causeway"))
            .args(["run", "--config", self.config().to_str().unwrap()])
            .env("RUST_LOG", "info,causeway_relayer=info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL: no chance to drain.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then the exit status (the gateway drains and exits 0).
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not stop within 60 s of SIGTERM:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to the running process.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gateway.log")).unwrap_or_default()
    }

    /// Fails the test with the log if the process exited on its own.
    pub(crate) fn assert_running(&mut self) {
        if let Some(child) = &mut self.child
            && let Some(status) = child.try_wait().unwrap()
        {
            panic!("{} exited with {status}:\n{}", self.name, self.log());
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The member of a folder [`write_members`] (or `write_consortium`) wrote, not running yet.
pub(crate) fn member(folder: MemberFolder) -> Member {
    Member {
        name: folder.name,
        dir: folder.dir,
        child: None,
        runs: 0,
    }
}

/// Every member's folder ([`write_members`]): the committee's key `i`, a certificate from the
/// consortium CA, signer keys, and the shared configuration with this member's `[gateway]`.
pub(crate) fn members(dir: &Path, devnet: &Devnet, committee: &Committee) -> Vec<Member> {
    let chains = [
        LocalChain {
            name: "alpha",
            chain: &devnet.a,
        },
        LocalChain {
            name: "beta",
            chain: &devnet.b,
        },
    ];
    let layout = Layout {
        batch_size: 16,
        delivery_grace_ms: 1500,
        poll_interval_ms: 100,
        first_signer: 5,
    };
    let lanes = [("alpha", "beta"), ("beta", "alpha")];
    write_members(dir, committee, &chains, None, &lanes, &layout)
        .unwrap()
        .into_iter()
        .map(member)
        .collect()
}

/// Dispatches `n` messages from `from` to `to`'s recipient; their ids.
pub(crate) async fn dispatch(from: &DevChain, to: &DevChain, n: usize, tag: &str) -> Vec<B256> {
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        pending.push(
            from.outbox
                .dispatch(
                    to.spec.domain.0,
                    address32(*to.recipient.address()).0.into(),
                    Bytes::from(format!("{tag} {i}").into_bytes()),
                )
                .send()
                .await
                .unwrap(),
        );
    }
    let mut ids = Vec::with_capacity(n);
    for tx in pending {
        let receipt = tx.get_receipt().await.unwrap();
        assert!(receipt.status());
        let event = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<Outbox::Dispatch>().ok())
            .expect("Dispatch event");
        ids.push(event.inner.data.id);
    }
    ids
}

/// `Delivered` events per message id on `chain`'s Inbox, and the number of
/// `AlreadyDeliveredSkipped` (a duplicate delivery, harmless and counted).
pub(crate) async fn deliveries(chain: &DevChain) -> (HashMap<B256, u32>, usize) {
    let logs = chain
        .provider
        .get_logs(&Filter::new().address(*chain.inbox.address()).from_block(0))
        .await
        .unwrap();
    let mut delivered = HashMap::new();
    let mut skipped = 0;
    for log in logs {
        match log.topic0() {
            Some(t) if *t == Inbox::Delivered::SIGNATURE_HASH => {
                let id = log.topics()[1];
                *delivered.entry(id).or_insert(0) += 1;
            }
            Some(t) if *t == Inbox::AlreadyDeliveredSkipped::SIGNATURE_HASH => skipped += 1,
            _ => {}
        }
    }
    (delivered, skipped)
}

/// Mines on both chains (one confirmation) until every id of `a_to_b` is delivered on beta and
/// every id of `b_to_a` on alpha, or `timeout`.
pub(crate) async fn wait_delivered(
    devnet: &Devnet,
    members: &mut [Member],
    a_to_b: &[B256],
    b_to_a: &[B256],
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let (on_b, _) = deliveries(&devnet.b).await;
        let (on_a, _) = deliveries(&devnet.a).await;
        let missing_b = a_to_b.iter().filter(|id| !on_b.contains_key(*id)).count();
        let missing_a = b_to_a.iter().filter(|id| !on_a.contains_key(*id)).count();
        if missing_a == 0 && missing_b == 0 {
            return;
        }
        for m in members.iter_mut() {
            m.assert_running();
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = members
                .iter()
                .map(|m| format!("--- {} ---\n{}", m.name, tail(&m.log(), 60)))
                .collect();
            panic!(
                "{missing_b} of {} alpha->beta and {missing_a} of {} beta->alpha not delivered within {timeout:?}\n{}",
                a_to_b.len(),
                b_to_a.len(),
                logs.join("\n")
            );
        }
        devnet.a.provider.evm_mine(None).await.unwrap();
        devnet.b.provider.evm_mine(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Warning and error lines in a gateway's log.
fn warnings(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .count()
}

pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Two chains with the committee installed on both Inboxes (2 of 3, for each other's origin).
pub(crate) async fn chains(committee: &Committee) -> Devnet {
    let devnet = Devnet::start().await.unwrap();
    committee
        .install(&devnet.b.inbox, CHAIN_A.domain, CHAIN_A.chain_id)
        .await
        .unwrap();
    committee
        .install(&devnet.a.inbox, CHAIN_B.domain, CHAIN_B.chain_id)
        .await
        .unwrap();
    devnet
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_member_processes_deliver_exactly_once_through_kills_and_restarts() {
    let committee = Committee::new(COMMITTEE, 3, 2);
    let devnet = chains(&committee).await;
    let dir = tempfile::tempdir().unwrap();
    // Alpha's log is anchored on beta's Anchor all along (crate::anchoring).
    let anchor = crate::anchoring::deploy(&devnet.b, &committee).await;
    crate::anchoring::nothing_anchored_is_refused(dir.path(), &devnet, &committee, &anchor).await;
    let mut members =
        crate::anchoring::anchored_members(dir.path(), &devnet, &committee, *anchor.address());
    for m in &members {
        let out = causeway(&["config", "check", "--config", m.config().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", m.name, text(&out));
    }
    for m in &mut members {
        m.start();
    }

    // 1. All three up: both directions.
    let mut a_to_b = dispatch(&devnet.a, &devnet.b, 400, "a-b").await;
    let mut b_to_a = dispatch(&devnet.b, &devnet.a, 200, "b-a").await;
    wait_delivered(
        &devnet,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(120),
    )
    .await;

    // `causeway status` reaches both other members and is accepted by each over mutual TLS.
    let status = causeway(&["status", "--config", members[0].config().to_str().unwrap()]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let stdout = String::from_utf8_lossy(&status.stdout).into_owned();
    for other in ["org2", "org3"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(other)
                && l.contains("reachable, mutual TLS accepted")),
            "{other}: {stdout}"
        );
    }

    // 2. One member SIGKILLed: the other two still reach 2 of 3 and deliver (its runs after the
    //    grace period).
    members[0].kill();
    a_to_b.extend(dispatch(&devnet.a, &devnet.b, 200, "a-b after one kill").await);
    wait_delivered(
        &devnet,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(120),
    )
    .await;

    // 3. Two stopped: no threshold, nothing delivered, nothing lost, and no error storm in the
    //    remaining member's log.
    members[1].kill();
    let quiet_before = warnings(&members[2].log());
    let held = dispatch(&devnet.a, &devnet.b, 100, "a-b while two are down").await;
    for _ in 0..20 {
        devnet.a.provider.evm_mine(None).await.unwrap();
        devnet.b.provider.evm_mine(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let (on_b, _) = deliveries(&devnet.b).await;
    assert!(
        held.iter().all(|id| !on_b.contains_key(id)),
        "one member alone delivered without a threshold"
    );
    members[2].assert_running();
    let storm = warnings(&members[2].log()) - quiet_before;
    assert!(
        storm <= 10,
        "{storm} warnings in 3 s with two members down:\n{}",
        tail(&members[2].log(), 30)
    );

    // 4. Both restarted: they catch up from their stores; everything delivered exactly once.
    members[0].start();
    members[1].start();
    a_to_b.extend(held);
    b_to_a.extend(dispatch(&devnet.b, &devnet.a, 100, "b-a after restarts").await);
    wait_delivered(
        &devnet,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(180),
    )
    .await;

    let (on_b, skipped_b) = deliveries(&devnet.b).await;
    let (on_a, skipped_a) = deliveries(&devnet.a).await;
    assert_eq!(
        on_b.len(),
        a_to_b.len(),
        "no message beyond those dispatched"
    );
    assert_eq!(on_a.len(), b_to_a.len());
    assert!(
        on_b.values().chain(on_a.values()).all(|n| *n == 1),
        "each message delivered once"
    );
    eprintln!(
        "delivered {} + {} messages; duplicate deliveries skipped by the Inboxes: {skipped_b} + {skipped_a}",
        on_b.len(),
        on_a.len()
    );

    // Public anchoring: anchors landed through the kills and restarts, each a prefix of alpha's
    // log, up to its last message; verify --anchored tells a real bundle from a rewritten one.
    crate::anchoring::anchored_history_is_the_log(
        dir.path(),
        &devnet,
        &committee,
        &anchor,
        &mut members,
        &a_to_b,
    )
    .await;

    // 5. SIGTERM: each drains and exits 0.
    for m in &mut members {
        let status = m.terminate();
        assert!(
            status.success(),
            "{} exited with {status}:\n{}",
            m.name,
            tail(&m.log(), 40)
        );
        let log = m.log();
        if std::env::var_os("CAUSEWAY_TEST_SHOW_LOGS").is_some() {
            eprintln!("--- {} ---\n{log}", m.name);
        }
        assert!(log.contains("gateway running"), "{}", tail(&log, 20));
        // No secret in the logs: no validator key hex.
        assert!(!log.contains(&hex::encode(*committee.keys()[0].secret_bytes())));
    }
}

/// Waits (bounded) until every member's log shows it subscribed to every other member's
/// signatures on both lanes.
async fn wait_all_subscribed(members: &[Member], limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let missing: Vec<String> = members
            .iter()
            .flat_map(|m| {
                let log = m.log();
                members
                    .iter()
                    .filter(|o| o.name != m.name)
                    .filter(move |o| {
                        let subscribed = format!("peer client: subscribed member={} ", o.name);
                        !log.lines()
                            .any(|l| l.contains(&subscribed) && l.trim_end().ends_with("lanes=2"))
                    })
                    .map(|o| format!("{} -> {}", m.name, o.name))
                    .collect::<Vec<_>>()
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "members not streaming from each other within {limit:?}: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A member whose gateway signs two roots for every checkpoint (the devnet build's test fault,
/// `CAUSEWAY_DEVNET_FAULT=equivocate`): the two honest members record evidence that `causeway
/// verify --evidence` accepts offline, stop counting the faulty validator, and keep the lane
/// moving with their own two signatures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equivocating_member_process_is_caught_and_the_honest_two_keep_the_lane_moving() {
    let committee = Committee::new(COMMITTEE, 3, 2);
    let devnet = chains(&committee).await;
    let dir = tempfile::tempdir().unwrap();
    let mut members = members(dir.path(), &devnet, &committee);
    members[0].start();
    members[1].start();
    members[2].start_with(&[("CAUSEWAY_DEVNET_FAULT", "equivocate")]);
    // Both of the faulty member's signatures reach an honest member only over a live stream: a
    // member that subscribes after the faulty one signed catches up from its latest signature
    // alone, sees one root, and logs a root mismatch, not equivocation. So the messages go out
    // once every member streams from both others (a CI run dispatched while org1 still retried).
    wait_all_subscribed(&members, Duration::from_secs(60)).await;

    let a_to_b = dispatch(&devnet.a, &devnet.b, 100, "a-b").await;
    wait_delivered(
        &devnet,
        &mut members,
        &a_to_b,
        &[],
        Duration::from_secs(120),
    )
    .await;
    let (on_b, _) = deliveries(&devnet.b).await;
    assert!(
        on_b.values().all(|n| *n == 1),
        "each message delivered once"
    );
    // The honest two may deliver everything with their own signatures before they have
    // processed the faulty member's: wait (bounded) until each has recorded the evidence.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !members[..2]
        .iter()
        .all(|m| m.log().contains("equivocation evidence recorded"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no equivocation recorded within 60 s:\n{}\n{}",
            tail(&members[0].log(), 20),
            tail(&members[1].log(), 20)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for m in &mut members {
        assert!(m.terminate().success(), "{}", tail(&m.log(), 30));
    }

    let faulty = committee.keys()[2].address();
    for m in &members[..2] {
        let out_dir = dir.path().join(format!("evidence-{}", m.name));
        let store = m.dir.join("causeway.sqlite");
        let out = causeway(&[
            "store",
            "evidence",
            "--db",
            store.to_str().unwrap(),
            "--origin",
            &CHAIN_A.domain.0.to_string(),
            "--destination",
            &CHAIN_B.domain.0.to_string(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let file = out_dir.join(format!("equivocation-{faulty}.json"));
        assert!(
            file.is_file(),
            "{}: no evidence against {faulty}: {}",
            m.name,
            text(&out)
        );
        let verify = causeway(&["verify", "--evidence", file.to_str().unwrap()]);
        assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
        assert!(
            String::from_utf8_lossy(&verify.stdout).contains(&faulty.to_string()),
            "{}",
            text(&verify)
        );
        // No evidence against an honest member.
        assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);
    }
}
