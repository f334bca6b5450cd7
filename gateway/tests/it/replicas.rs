//! Replicas of one organisation's gateway on one PostgreSQL database (issue 15). org1 runs as
//! two `causeway run` processes (`[gateway] instance` `a` and `b`, each with its own signer
//! account, one shared validator key and TLS identity) on a private PostgreSQL cluster; org2 and
//! org3 each run one process on SQLite; 2 of 3 over two anvil chains, lanes both ways.
//!
//! One run covers the three scenarios in sequence (multi-process tests are slow):
//! 1. 2,000 messages while replica `a` is SIGKILLed three times and restarted. `a` runs with
//!    the test fault `hold-after-lease` (`CAUSEWAY_DEVNET_FAULT`): every batch it leases is
//!    held, leased and unsent, for a moment after a marker line in its log, and the test kills
//!    it inside that window, so every kill finds work held. The time from the kill until each
//!    message `a` held moves again (its lease ended and the message is back in the queue or
//!    leased by `b`, its submission followed by `b`, or it is confirmed) is measured and
//!    bounded (the takeover figures in BENCHMARKS.md);
//! 2. PostgreSQL stopped for 20 s and started again: both replicas keep running and both work
//!    again afterwards;
//! 3. replica `b` (restarted with the same fault) paused with SIGSTOP while it holds a lease,
//!    for two leases: `a` takes its messages over within about two leases (a stopped replica
//!    stalls the other's store writes for one stalled transaction at most); after SIGCONT `b`
//!    sends none of them (fencing by lease token).
//!
//! Throughout: every message delivered exactly once (one `Delivered` per id on its
//! destination), no message submitted by both replicas, none stuck (all confirmed in org1's
//! store), and the database password in no log.
//!
//! Applications send as well (`POST /v1/messages`, public and private, to both replicas' APIs
//! in turn, during phase 1): org1's replicas dispatch them on alpha from one sender key, each
//! request leased to one replica at a time. After the third kill `a` runs with the test fault
//! `hold-after-dispatch` and is SIGKILLed once more in the window where a dispatch of its
//! landed on chain and is not yet recorded: `b` takes the request over after the lease, finds
//! its message on chain and records it, never sending it again. Every request ends
//! `dispatched`, none `failed` or stuck; each is one `Dispatch` event on alpha's Outbox (the
//! sender's events are exactly the requests') and one `Delivered` on beta.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::providers::Provider as _;
use alloy::providers::ext::AnvilApi as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use causeway_devnet::contracts::Inbox;
use causeway_devnet::fixtures::Committee;
use causeway_devnet::postgres::PostgresNode;
use causeway_devnet::{DevChain, Devnet};
use causeway_gateway::devnet::{Layout, LocalChain, MemberFolder, write_members};
use causeway_gateway::private::dispatch::faults::HOLDING_DISPATCH;
use causeway_relayer::pipeline::faults::HOLDING_LEASE;
use causeway_relayer::store::PgOptions;

use crate::consortium::{COMMITTEE, Member, chains, deliveries, dispatch, member, tail};
use crate::private_messages::{Api, api_of, token};

/// The replicas' lease (`[relayer] lease_ms`): short, so that a takeover fits in a test.
const LEASE: Duration = Duration::from_millis(4000);
/// The grace between members' turns: longer than a takeover between org1's replicas, so that
/// org1's runs are normally delivered by org1's own replicas.
const GRACE_MS: u64 = 8000;
/// org1's replicas' names in the store's leases.
const A: &str = "org1/a";
const B: &str = "org1/b";
/// The anvil account replica `b` signs its submissions with (members use 5, 6 and 7).
const B_SIGNER: usize = 8;
const FIRST_SIGNER: usize = 5;
/// The test fault that makes a replica hold each batch it leases for a while after logging
/// [`HOLDING_LEASE`]: long enough for the test to see the line and act, short against the
/// lease (the replica sends nothing in the lease's last quarter).
const HOLD: (&str, &str) = ("CAUSEWAY_DEVNET_FAULT", "hold-after-lease:1500");
/// The test fault that makes a replica hold each dispatch that landed, unrecorded, for a while
/// after logging [`HOLDING_DISPATCH`] (renewing its lease meanwhile).
const HOLD_DISPATCH: (&str, &str) = ("CAUSEWAY_DEVNET_FAULT", "hold-after-dispatch:1500");
/// The anvil account org1's replicas both send applications' messages from on alpha.
const SENDER: usize = 9;
/// Send requests posted per part of phase 1 (half to each replica, half of them private).
const REQUESTS_PER_PART: usize = 12;

/// A port free on 127.0.0.1 now ([`causeway_devnet::free_port`]).
fn free_port() -> u16 {
    causeway_devnet::free_port().unwrap()
}

/// Writes `bytes` to a new owner-only file (key and password files).
fn secret_file(path: &Path, bytes: &[u8]) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

/// `text` with `instance = "{instance}"` in `[gateway]`, `lease_ms` in `[relayer]` and the
/// PostgreSQL store (the password in a file beside the keys, never in the configuration).
fn on_postgres(text: &str, instance: &str, pg: &PostgresNode) -> String {
    let text = text
        .replacen(
            "organisation = \"org1\"\n",
            &format!("organisation = \"org1\"\ninstance = \"{instance}\"\n"),
            1,
        )
        .replacen(
            "[relayer]\n",
            &format!("[relayer]\nlease_ms = {}\n", LEASE.as_millis()),
            1,
        );
    assert!(text.contains("instance =") && text.contains("lease_ms ="));
    format!(
        "{text}\n[storage]\npostgres_url = \"postgres://causeway@127.0.0.1:{}/org1\"\n\
         postgres_password_file = \"keys/postgres.password\"\n",
        pg.port()
    )
}

/// The consortium's folders, with org1 as two replicas on `pg`: `[a, b, org2, org3]`.
fn consortium(
    dir: &Path,
    devnet: &Devnet,
    committee: &Committee,
    pg: &PostgresNode,
) -> Vec<Member> {
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
        delivery_grace_ms: GRACE_MS,
        poll_interval_ms: 100,
        first_signer: FIRST_SIGNER,
    };
    let lanes = [("alpha", "beta"), ("beta", "alpha")];
    let mut folders = write_members(dir, committee, &chains, None, &lanes, &layout).unwrap();
    let org1 = folders.remove(0);
    secret_file(
        &org1.dir.join("keys/postgres.password"),
        format!("{}\n", pg.password()).as_bytes(),
    );
    // Both replicas send on alpha from one sender key (a message's id binds its sender, so a
    // request one replica sealed is sent by the other as sealed).
    secret_file(
        &org1.dir.join("keys/alpha-sender.key"),
        format!(
            "0x{}\n",
            hex::encode(devnet.a.node.dev_keys()[SENDER].to_bytes().0)
        )
        .as_bytes(),
    );
    let signer_line = "signer_key_files = [\"keys/alpha-signer.key\"]\n";
    let base = std::fs::read_to_string(org1.config()).unwrap();
    assert_eq!(base.matches(signer_line).count(), 1);
    let base = base.replacen(
        signer_line,
        &format!("{signer_line}sender_key_file = \"keys/alpha-sender.key\"\n"),
        1,
    );
    // Replica b: org1's keys and certificate, its own signer account, listeners and name.
    let b_dir = dir.join("org1-b");
    let copied = Command::new("cp")
        .args(["-a", org1.dir.to_str().unwrap(), b_dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(copied.success());
    for (chain, node) in [("alpha", &devnet.a), ("beta", &devnet.b)] {
        let key = node.node.dev_keys()[B_SIGNER].to_bytes();
        secret_file(
            &b_dir.join(format!("keys/{chain}-signer.key")),
            format!("0x{}\n", hex::encode(key.0)).as_bytes(),
        );
    }
    let b_text: String = base
        .lines()
        .map(|line| {
            if line.starts_with("peer_listen = ") {
                format!("peer_listen = \"127.0.0.1:{}\"", free_port())
            } else if line.starts_with("listen = \"127.0.0.1:") {
                format!("listen = \"127.0.0.1:{}\"", free_port())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(b_dir.join("causeway.toml"), on_postgres(&b_text, "b", pg)).unwrap();
    std::fs::write(org1.config(), on_postgres(&base, "a", pg)).unwrap();
    let mut members = vec![
        member(MemberFolder {
            name: "org1-a".into(),
            dir: org1.dir,
        }),
        member(MemberFolder {
            name: "org1-b".into(),
            dir: b_dir,
        }),
    ];
    members.extend(folders.into_iter().map(member));
    members
}

/// One `psql` command in org1's database (off the runtime's threads).
fn sql(pg: &PostgresNode, query: &str) -> String {
    tokio::task::block_in_place(|| pg.psql("org1", query)).unwrap()
}

/// The messages `owner` holds now (leased, or submitted and followed by it), with their state.
fn held(pg: &PostgresNode, owner: &str, states: &[&str]) -> BTreeMap<String, String> {
    let states = states
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    sql(
        pg,
        &format!(
            "SELECT encode(message_id, 'hex') || ' ' || state FROM delivery_now \
             WHERE lease_owner = '{owner}' AND state IN ({states})"
        ),
    )
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(id, state)| (id.to_owned(), state.to_owned()))
    .collect()
}

/// Of `ids`, those that moved on from `owner`: its lease ended (back in the queue, or leased
/// by another instance), its submission followed by another instance, or confirmed.
fn moved(pg: &PostgresNode, owner: &str, ids: &[&String]) -> HashSet<String> {
    let list = ids
        .iter()
        .map(|id| format!("'\\x{id}'::bytea"))
        .collect::<Vec<_>>()
        .join(",");
    sql(
        pg,
        &format!(
            "SELECT encode(message_id, 'hex') FROM delivery_now WHERE message_id IN ({list}) \
             AND (state = 'confirmed' OR lease_owner IS DISTINCT FROM '{owner}')"
        ),
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// One block on each chain (a dispatch or delivery needs one confirmation).
async fn mine(devnet: &Devnet) {
    devnet.a.provider.evm_mine(None).await.unwrap();
    devnet.b.provider.evm_mine(None).await.unwrap();
}

/// Waits until `m` (started with [`HOLD`]) logs [`HOLDING_LEASE`] from now on (a hold that
/// began before is not waited for: it may be over): it holds a lease now, for a while. Mines a block now and then (deliveries mine their own;
/// a dispatch or a followed submission needs a later block). If it leased nothing for 40 s
/// (its turn's messages all taken by the other replica), more messages are dispatched, into
/// `extra`, at most three times.
async fn until_holding(devnet: &Devnet, members: &mut [Member], who: usize, extra: &mut Vec<B256>) {
    let from = members[who].log().len();
    let mut since = Instant::now();
    let mut mined = Instant::now();
    let mut topped_up = 0;
    loop {
        if members[who]
            .log()
            .get(from..)
            .unwrap_or("")
            .contains(HOLDING_LEASE)
        {
            return;
        }
        for m in members.iter_mut() {
            m.assert_running();
        }
        if since.elapsed() > Duration::from_secs(40) {
            assert!(
                topped_up < 3,
                "{} held no lease for 3 x 40 s:\n{}",
                members[who].name,
                logs(members)
            );
            topped_up += 1;
            extra.extend(dispatch(&devnet.a, &devnet.b, 64, &format!("top-up {topped_up}")).await);
            since = Instant::now();
        }
        if mined.elapsed() > Duration::from_millis(500) {
            mine(devnet).await;
            mined = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `m` logged `gateway running` `runs` times (its latest start is up).
async fn until_running(m: &mut Member, runs: usize) {
    let started = Instant::now();
    while m.log().matches("gateway running").count() < runs {
        m.assert_running();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} did not start within 60 s:\n{}",
            m.name,
            tail(&m.log(), 40)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The delivery rows of org1's store by state and holder.
fn store_states(pg: &PostgresNode) -> String {
    sql(
        pg,
        "SELECT state || ' ' || coalesce(lease_owner, '-') || ' ' || count(*) \
         FROM delivery_now GROUP BY state, lease_owner ORDER BY 1",
    )
}

/// The end of every member's log.
fn logs(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| format!("--- {} ---\n{}", m.name, tail(&m.log(), 40)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Mines until every message of `held` moved on from `owner`; how long each took from `since`.
async fn until_moved(
    devnet: &Devnet,
    pg: &PostgresNode,
    owner: &str,
    held: &BTreeMap<String, String>,
    since: Instant,
    bound: Duration,
    members: &mut [Member],
) -> Vec<Duration> {
    let mut left: Vec<&String> = held.keys().collect();
    let mut took = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let now = moved(pg, owner, &left);
        let elapsed = since.elapsed();
        left.retain(|id| {
            let gone = now.contains(*id);
            if gone {
                took.push(elapsed);
            }
            !gone
        });
        if left.is_empty() {
            break;
        }
        if elapsed > bound {
            panic!(
                "{} of the {} messages {owner} held did not move within {bound:?}: {:?}\n{}\n{}",
                left.len(),
                held.len(),
                left.iter().map(|id| (id, &held[*id])).collect::<Vec<_>>(),
                store_states(pg),
                logs(members)
            );
        }
        for m in members.iter_mut() {
            m.assert_running();
        }
        mine(devnet).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    took
}

/// Who sent each `Delivered` and `AlreadyDeliveredSkipped` on `chain`'s Inbox, per message id.
async fn submitters(chain: &DevChain) -> HashMap<B256, Vec<Address>> {
    let logs = chain
        .provider
        .get_logs(&Filter::new().address(*chain.inbox.address()).from_block(0))
        .await
        .unwrap();
    let mut senders: HashMap<B256, Address> = HashMap::new();
    let mut by_id: HashMap<B256, Vec<Address>> = HashMap::new();
    for log in logs {
        let relevant = log.topic0().is_some_and(|t| {
            *t == Inbox::Delivered::SIGNATURE_HASH
                || *t == Inbox::AlreadyDeliveredSkipped::SIGNATURE_HASH
        });
        let Some(tx) = log.transaction_hash.filter(|_| relevant) else {
            continue;
        };
        let from = match senders.get(&tx) {
            Some(from) => *from,
            None => {
                let receipt = chain
                    .provider
                    .get_transaction_receipt(tx)
                    .await
                    .unwrap()
                    .expect("a mined transaction has a receipt");
                senders.insert(tx, receipt.from);
                receipt.from
            }
        };
        by_id.entry(log.topics()[1]).or_default().push(from);
    }
    by_id
}

/// Mines until every message of both lanes is delivered on its destination and confirmed in
/// org1's store, or fails with the logs after `timeout`.
async fn until_all_delivered(
    devnet: &Devnet,
    pg: &PostgresNode,
    members: &mut [Member],
    a_to_b: &[B256],
    b_to_a: &[B256],
    timeout: Duration,
) {
    crate::consortium::wait_delivered(devnet, members, a_to_b, b_to_a, timeout).await;
    let total = a_to_b.len() + b_to_a.len();
    let deadline = Instant::now() + timeout;
    loop {
        let confirmed: usize = sql(
            pg,
            "SELECT count(*) FROM delivery_now WHERE state = 'confirmed'",
        )
        .parse()
        .unwrap();
        if confirmed == total {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "org1's store confirms {confirmed} of {total} within {timeout:?}:\n{}\n{}",
                store_states(pg),
                logs(members)
            );
        }
        mine(devnet).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Posts `n` send requests from alpha to beta's recipient, to each of `apis` in turn, public
/// and private (for org2) in turn; the request ids the APIs answered with.
async fn post_requests(apis: &[Api], devnet: &Devnet, n: usize, tag: &str) -> Vec<u64> {
    let to = causeway_devnet::fixtures::address32(*devnet.b.recipient.address()).to_hex();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let mut body = serde_json::json!({
            "origin": devnet.a.spec.domain.0,
            "destination": devnet.b.spec.domain.0,
            "recipient": to,
        });
        if (i / apis.len()).is_multiple_of(2) {
            body["body"] = format!("0x{}", hex::encode(format!("send {tag} {i}"))).into();
        } else {
            body["private"] = serde_json::json!({
                "payload": {"part": tag, "request": i},
                "recipients": ["org2"],
                "disclose": [],
            });
        }
        let api = &apis[i % apis.len()];
        let (status, accepted) = api
            .call(
                alloy::transports::http::reqwest::Method::POST,
                "/v1/messages",
                Some(body),
            )
            .await;
        assert_eq!(status, 202, "{}: {accepted}", api.base);
        ids.push(accepted["request_id"].as_u64().expect("a request id"));
    }
    ids
}

/// Every send request in org1's store: id, state, message id (hex, empty if none), attempts.
fn send_requests(pg: &PostgresNode) -> Vec<(u64, String, String, u32)> {
    sql(
        pg,
        "SELECT id || ' ' || state || ' ' || coalesce(encode(message_id, 'hex'), '-') || ' ' \
         || attempts FROM send_request ORDER BY id",
    )
    .lines()
    .map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (
            f[0].parse().unwrap(),
            f[1].to_owned(),
            f[2].to_owned(),
            f[3].parse().unwrap(),
        )
    })
    .collect()
}

/// Waits until every send request in org1's store is dispatched (mining now and then), or
/// fails with the store's view after `timeout`; their message ids, by request id.
async fn until_dispatched(
    devnet: &Devnet,
    pg: &PostgresNode,
    members: &mut [Member],
    timeout: Duration,
) -> BTreeMap<u64, B256> {
    let deadline = Instant::now() + timeout;
    loop {
        let all = send_requests(pg);
        assert!(
            all.iter().all(|(_, state, _, _)| state != "failed"),
            "a send request failed: {all:?}\n{}",
            logs(members)
        );
        if all.iter().all(|(_, state, _, _)| state == "dispatched") {
            return all
                .into_iter()
                .map(|(id, _, mid, _)| (id, format!("0x{mid}").parse().unwrap()))
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "send requests not dispatched within {timeout:?}: {all:?}\n{}",
            logs(members)
        );
        for m in members.iter_mut() {
            m.assert_running();
        }
        mine(devnet).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every `Dispatch` event on `chain`'s Outbox whose message `sender` sent: message ids, with
/// repeats.
async fn dispatched_by(chain: &DevChain, sender: causeway_proofs::Address32) -> Vec<B256> {
    chain
        .outbox
        .Dispatch_filter()
        .from_block(0)
        .query()
        .await
        .unwrap()
        .into_iter()
        .filter(|(e, _)| {
            causeway_proofs::Message::decode(&e.message[..]).is_ok_and(|m| m.sender() == sender)
        })
        .map(|(e, _)| e.id)
        .collect()
}

/// The value at fraction `q` of `sorted`.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_deliver_exactly_once_through_kills_an_outage_and_a_pause() {
    let started = Instant::now();
    let committee = Committee::new(COMMITTEE, 3, 2);
    let devnet = chains(&committee).await;
    let mut pg = PostgresNode::start().unwrap();
    pg.create_database("org1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut members = consortium(dir.path(), &devnet, &committee, &pg);
    members[0].start_with(&[HOLD]);
    for m in &mut members[1..] {
        m.start();
    }
    let a_signer = devnet.a.node.dev_keys()[FIRST_SIGNER].address();
    let b_signer = devnet.a.node.dev_keys()[B_SIGNER].address();
    // One token in org1's store serves both replicas' APIs.
    until_running(&mut members[0], 1).await;
    until_running(&mut members[1], 1).await;
    let app = token(&members[0]);
    let apis: Vec<Api> = members[..2]
        .iter()
        .map(|m| Api {
            base: api_of(m),
            token: app.clone(),
            client: alloy::transports::http::reqwest::Client::new(),
        })
        .collect();
    let mut posted: Vec<u64> = Vec::new();

    // 1. 2,000 messages in four parts; replica a SIGKILLed during each of the first three while
    //    it holds a lease (the fault's window), and restarted once b has moved all of it on.
    let (mut a_to_b, mut b_to_a) = (Vec::new(), Vec::new());
    let mut takeovers: Vec<Duration> = Vec::new();
    let mut kills = Vec::new();
    for part in 0..4 {
        until_running(&mut members[0], part + 1).await;
        if part < 3 {
            posted
                .extend(post_requests(&apis, &devnet, REQUESTS_PER_PART, &format!("{part}")).await);
        }
        a_to_b.extend(dispatch(&devnet.a, &devnet.b, 300, &format!("a-b {part}")).await);
        b_to_a.extend(dispatch(&devnet.b, &devnet.a, 200, &format!("b-a {part}")).await);
        if part == 3 {
            break;
        }
        until_holding(&devnet, &mut members, 0, &mut a_to_b).await;
        members[0].kill();
        let killed = Instant::now();
        let held = held(&pg, A, &["leased", "submitted"]);
        assert!(
            held.values().any(|state| state == "leased"),
            "replica a was killed inside its hold, yet holds no lease: {held:?}\n{}\n{}",
            store_states(&pg),
            tail(&members[0].log(), 30)
        );
        let took = until_moved(&devnet, &pg, A, &held, killed, LEASE * 3, &mut members).await;
        kills.push((held.len(), took.iter().max().copied()));
        takeovers.extend(took);
        // The last restart holds every landed dispatch instead (the kill below).
        if part < 2 {
            members[0].start_with(&[HOLD]);
        } else {
            members[0].start_with(&[HOLD_DISPATCH]);
        }
    }
    // Replica a SIGKILLed once more, between a dispatch of its landing on alpha and its record:
    // b takes the request over after the lease and finds the message on chain (sent once).
    // The requests are posted once the chains' own dispatches are in, and only a hold that
    // begins from now on counts (an earlier one may be over).
    let from = members[0].log().len();
    posted.extend(post_requests(&apis, &devnet, REQUESTS_PER_PART, "3").await);
    let mut topped_up = 0;
    let mut since = Instant::now();
    while !members[0].log()[from..].contains(HOLDING_DISPATCH) {
        for m in members.iter_mut() {
            m.assert_running();
        }
        if since.elapsed() > Duration::from_secs(30) {
            assert!(
                topped_up < 2,
                "replica a landed no dispatch in 3 x 30 s:\n{}",
                logs(&members)
            );
            topped_up += 1;
            posted.extend(post_requests(&apis, &devnet, 4, &format!("top-up {topped_up}")).await);
            since = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    members[0].kill();
    let killed = Instant::now();
    let unrecorded = sql(
        &pg,
        &format!(
            "SELECT id || ' ' || state || ' ' || encode(message_id, 'hex') FROM send_request \
             WHERE lease_owner = '{A}' AND lease_until IS NOT NULL"
        ),
    );
    let (request, state, message) = match unrecorded.split(' ').collect::<Vec<_>>()[..] {
        [request, state, message] => (request.parse::<u64>().unwrap(), state, message),
        _ => panic!("replica a was killed inside its dispatch hold, yet holds {unrecorded:?}"),
    };
    assert_eq!(state, "sealed", "landed but not recorded");
    let message: B256 = format!("0x{message}").parse().unwrap();
    let sender = causeway_proofs::Address32::from(causeway_proofs::EvmAddress(
        devnet.a.node.dev_keys()[SENDER].address().0.0,
    ));
    assert!(
        dispatched_by(&devnet.a, sender).await.contains(&message),
        "request {request}'s message {message} is not on alpha, yet a held it as landed"
    );
    let took = loop {
        let now = send_requests(&pg);
        if now
            .iter()
            .any(|(id, state, _, _)| *id == request && state == "dispatched")
        {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < LEASE * 3,
            "request {request}, landed by a before its kill, not recorded by b within 3 leases: \
             {now:?}\n{}",
            logs(&members)
        );
        members[1].assert_running();
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "request {request} landed by replica a, killed before recording it; b recorded it \
         after {took:?}"
    );
    // Restarted without a fault (the outage and the pause at full speed).
    members[0].start();
    until_running(&mut members[0], 5).await;
    let requested = until_dispatched(&devnet, &pg, &mut members, Duration::from_secs(120)).await;
    assert_eq!(
        requested.keys().copied().collect::<Vec<_>>(),
        {
            let mut all = posted.clone();
            all.sort_unstable();
            all
        },
        "the store holds exactly the requests the APIs accepted"
    );
    // Every send request dispatched once: the sender's Dispatch events on alpha are exactly the
    // requests' message ids, each once (a request sent again under another nonce would add
    // one).
    let mut landed = dispatched_by(&devnet.a, sender).await;
    landed.sort_unstable();
    let mut expected: Vec<B256> = requested.values().copied().collect();
    expected.sort_unstable();
    assert_eq!(
        landed, expected,
        "the sender's Dispatch events are the requests', each once"
    );
    a_to_b.extend(requested.values().copied());
    until_all_delivered(
        &devnet,
        &pg,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(180),
    )
    .await;
    assert!(a_to_b.len() + b_to_a.len() >= 2000);
    takeovers.sort();
    let (p50, max) = (quantile(&takeovers, 0.5), quantile(&takeovers, 1.0));
    eprintln!(
        "takeover after SIGKILL (lease {LEASE:?}): {} messages over 3 kills (held, slowest) \
         {kills:?}; p50 {p50:?} ({:.2} leases), max {max:?} ({:.2} leases)",
        takeovers.len(),
        p50.as_secs_f64() / LEASE.as_secs_f64(),
        max.as_secs_f64() / LEASE.as_secs_f64(),
    );
    let phase1 = started.elapsed();

    // 2. PostgreSQL down for 20 s: both replicas wait it out and work again afterwards.
    a_to_b.extend(dispatch(&devnet.a, &devnet.b, 60, "a-b before the outage").await);
    pg.stop().unwrap();
    let down = Instant::now();
    b_to_a.extend(dispatch(&devnet.b, &devnet.a, 60, "b-a during the outage").await);
    while down.elapsed() < Duration::from_secs(20) {
        for m in &mut members {
            m.assert_running();
        }
        mine(&devnet).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    pg.restart().unwrap();
    let back: i64 = sql(
        &pg,
        "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
    )
    .parse()
    .unwrap();
    a_to_b.extend(dispatch(&devnet.a, &devnet.b, 180, "a-b after the outage").await);
    b_to_a.extend(dispatch(&devnet.b, &devnet.a, 120, "b-a after the outage").await);
    until_all_delivered(
        &devnet,
        &pg,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(120),
    )
    .await;
    let working: HashSet<String> = sql(
        &pg,
        &format!("SELECT DISTINCT lease_owner FROM delivery_now WHERE updated_at > {back}"),
    )
    .lines()
    .map(str::to_owned)
    .collect();
    assert!(
        working.contains(A) && working.contains(B),
        "after the outage only {working:?} worked:\n{}\n{}",
        tail(&members[0].log(), 30),
        tail(&members[1].log(), 30)
    );
    let phase2 = started.elapsed();

    // 3. Replica b, restarted with the fault, paused (SIGSTOP) inside its hold, for two leases:
    //    a takes its lease over within about two leases, whatever b's other sessions were
    //    doing when it stopped; woken, b sends none of the messages it had leased.
    let status = members[1].terminate();
    assert!(status.success(), "b exited with {status}");
    members[1].start_with(&[HOLD]);
    until_running(&mut members[1], 2).await;
    a_to_b.extend(dispatch(&devnet.a, &devnet.b, 150, "a-b before the pause").await);
    b_to_a.extend(dispatch(&devnet.b, &devnet.a, 100, "b-a before the pause").await);
    until_holding(&devnet, &mut members, 1, &mut a_to_b).await;
    members[1].signal("STOP");
    let paused = Instant::now();
    let fenced = held(&pg, B, &["leased", "submitted"]);
    assert!(
        fenced.values().any(|state| state == "leased"),
        "replica b was stopped inside its hold, yet holds no lease: {fenced:?}"
    );
    // Moved on while b sleeps, within about two leases: its leases end after one lease at
    // most, its followed submissions' follow leases after one lease and a's next look (every
    // half lease), and b's sessions hold the store's write lock for one stalled transaction
    // (PgOptions, 5 s) at most, not one per session it had waiting for the lock.
    let stalled = PgOptions::default().stalled_transaction;
    assert!(stalled < LEASE * 2);
    let bound = LEASE * 2 + Duration::from_secs(2);
    let took = until_moved(&devnet, &pg, B, &fenced, paused, bound, &mut members).await;
    while paused.elapsed() < LEASE * 2 {
        mine(&devnet).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    members[1].signal("CONT");
    until_all_delivered(
        &devnet,
        &pg,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(120),
    )
    .await;
    eprintln!(
        "paused b held {} messages ({fenced:?}); all moved on to a after {:?} at most \
         (bound {bound:?})",
        fenced.len(),
        took.iter().max()
    );

    // The requests still once each after the outage and the pause, under the ids recorded.
    let mut landed = dispatched_by(&devnet.a, sender).await;
    landed.sort_unstable();
    assert_eq!(landed, expected, "a request was dispatched again later");
    let requests = send_requests(&pg);
    assert!(
        requests.len() == requested.len()
            && requests
                .iter()
                .all(|(id, state, mid, _)| state == "dispatched"
                    && format!("0x{mid}").parse::<B256>().ok() == requested.get(id).copied()),
        "every request still dispatched under the id first recorded: {requests:?}"
    );

    // Exactly once, no message sent by both replicas, none of b's fenced leases sent by b.
    let (on_b, skipped_b) = deliveries(&devnet.b).await;
    let (on_a, skipped_a) = deliveries(&devnet.a).await;
    assert_eq!(
        on_b.len(),
        a_to_b.len(),
        "no message beyond those dispatched"
    );
    assert_eq!(on_a.len(), b_to_a.len());
    assert!(a_to_b.iter().all(|id| on_b.get(id) == Some(&1)));
    assert!(b_to_a.iter().all(|id| on_a.get(id) == Some(&1)));
    let mut sent = submitters(&devnet.b).await;
    sent.extend(submitters(&devnet.a).await);
    let both: Vec<&B256> = sent
        .iter()
        .filter(|(_, from)| from.contains(&a_signer) && from.contains(&b_signer))
        .map(|(id, _)| id)
        .collect();
    assert!(both.is_empty(), "sent by both replicas: {both:?}");
    // Leased by b when it stopped: b had recorded no submission for them, so (a submission is
    // recorded before it is broadcast) had sent none; a took them, and b never sent them.
    for (id, state) in &fenced {
        let id: B256 = format!("0x{id}").parse().unwrap();
        assert!(
            state != "leased" || !sent.get(&id).is_some_and(|from| from.contains(&b_signer)),
            "b sent {id} after its lease had moved to a"
        );
    }
    let by_signer = |who: Address| {
        sent.values()
            .map(|from| from.iter().filter(|f| **f == who).count())
            .sum::<usize>()
    };
    eprintln!(
        "{} messages ({} sent through the APIs, their attempts {:?}); submissions by replica a \
         {}, by b {}; duplicates skipped by the Inboxes {skipped_b} + {skipped_a}; phases ended \
         at {phase1:?}, {phase2:?}, {:?}",
        on_a.len() + on_b.len(),
        requested.len(),
        requests.iter().map(|r| r.3).collect::<Vec<_>>(),
        by_signer(a_signer),
        by_signer(b_signer),
        started.elapsed()
    );

    // SIGTERM: every process drains and exits 0; the database password is in no log.
    for m in &mut members {
        let status = m.terminate();
        assert!(
            status.success(),
            "{} exited with {status}:\n{}",
            m.name,
            tail(&m.log(), 40)
        );
        assert!(
            !m.log().contains(pg.password()),
            "{}: the password is logged",
            m.name
        );
    }
}
