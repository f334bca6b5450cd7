//! `causeway status`: a gateway's store, chains and peers reported, read-only and beside a
//! running gateway, against a devnet of two anvil chains. The figures printed (text and
//! `--json`) are the ones the store was given; a chain whose endpoint is down is shown down
//! (its endpoint without credentials) with exit 0; no store yet, exit 2 saying so. The same
//! on a PostgreSQL store, read in read-only sessions: nothing migrated, nothing written.

use std::path::Path;
use std::time::Duration;

use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi as _;
use causeway_devnet::fixtures::Committee;
use causeway_devnet::{CHAIN_A, CHAIN_B, Devnet};
use causeway_proofs::bundle::SourceReference;
use causeway_proofs::hash::keccak256;
use causeway_proofs::{
    Address32, Checkpoint, Domain, EvmAddress, Hash32, HashAlgorithm, LogSize, Message, MessageId,
    Nonce, SigningDomain, ValidatorKey,
};
use causeway_relayer::store::{
    AcceptBatch, AcceptedEvent, Attempt, CheckpointRecord, Confirmation, DeliveryStore,
    FailureOutcome, FailureReport, Lane, LeaseOwner, LeaseRequest, MemberSignatureOutcome,
    MemberSignatureRecord, PgStore, RetryPolicy, SourceCursor, SourceStore, SqliteStore, Store,
    UnixMillis, ValidatorSignature,
};

use crate::config_check::{Org, chain_toml, lanes_toml};
use crate::support::text;

const ALPHA: Domain = CHAIN_A.domain;
const BETA: Domain = CHAIN_B.domain;
const LANE: Lane = Lane {
    origin: ALPHA,
    destination: BETA,
};
/// The down chain's endpoint, given in the environment with credentials that must never show.
const DOWN_ENDPOINT: &str = "http://user:hunter2@127.0.0.1:1/v3/APIKEY";

fn checkpoint(size: u64, root: u8) -> Checkpoint {
    Checkpoint::new(
        ALPHA,
        HashAlgorithm::Sha256,
        LogSize(size),
        Hash32([root; 32]),
    )
    .unwrap()
}

fn signing_domain() -> SigningDomain {
    SigningDomain {
        origin: ALPHA,
        origin_chain_id: CHAIN_A.chain_id,
        destination: BETA,
        destination_chain_id: CHAIN_B.chain_id,
        inbox: SigningDomain::named_inbox("status-test"),
        validator_epoch: 1,
    }
}

fn signed(key: &ValidatorKey, cp: &Checkpoint) -> ValidatorSignature {
    ValidatorSignature {
        validator: key.address(),
        signature: key.sign_checkpoint(cp, &signing_domain()),
    }
}

/// A store as a gateway leaves it: 4 messages from alpha to beta accepted (cursor at block
/// 3); org1 (this gateway) signed sizes 1 to 3, org2 size 2, org3 size 3 and then another root
/// for size 3 (equivocation); message 0 delivered in beta block 42, message 1 a dead letter,
/// message 2 leased, message 3 pending.
fn fill_store(store: &dyn Store, keys: &[ValidatorKey]) -> MessageId {
    let events: Vec<AcceptedEvent> = (0..4u64)
        .map(|nonce| {
            let message = Message::new(
                Nonce(nonce),
                ALPHA,
                Address32::from(EvmAddress([0x11; 20])),
                BETA,
                Address32::from(EvmAddress([0x22; 20])),
                b"body".to_vec(),
            )
            .unwrap();
            AcceptedEvent {
                source: SourceReference {
                    block_number: Some(1 + nonce / 2),
                    block_hash: Some(keccak256(&(1 + nonce / 2).to_be_bytes())),
                    transaction_hash: Some(keccak256(&message.encode())),
                    fabric_tx_id: None,
                    event_index: Some(0),
                },
                native_proof: None,
                message,
            }
        })
        .collect();
    let now = UnixMillis::now();
    store
        .accept_events(&AcceptBatch {
            origin: ALPHA,
            events: &events,
            cursor: SourceCursor {
                block_number: 3,
                block_hash: keccak256(&3u64.to_be_bytes()),
            },
            now,
        })
        .unwrap();
    let (org1, org2, org3) = (&keys[0], &keys[1], &keys[2]);
    for (size, signers) in [(1, vec![org1]), (2, vec![org1, org2]), (3, vec![org1])] {
        let cp = checkpoint(size, size as u8);
        let sigs: Vec<_> = signers.iter().map(|k| signed(k, &cp)).collect();
        store
            .record_checkpoint(&CheckpointRecord {
                lane: LANE,
                checkpoint: cp,
                signatures: &sigs,
                now,
            })
            .unwrap();
    }
    let member = |root: u8, own: bool| {
        let cp = checkpoint(3, root);
        store
            .record_member_signature(&MemberSignatureRecord {
                lane: LANE,
                domain: signing_domain(),
                checkpoint: cp,
                signature: signed(org3, &cp),
                matches_own_root: own,
                now,
            })
            .unwrap()
    };
    assert!(matches!(
        member(3, true),
        MemberSignatureOutcome::Counted {
            total_signatures: 2
        }
    ));
    assert!(matches!(
        member(9, false),
        MemberSignatureOutcome::Equivocation(_)
    ));

    store
        .confirm(&Confirmation {
            ids: &[events[0].message.id()],
            block: 42,
            now,
        })
        .unwrap();
    let owner = LeaseOwner("org1".into());
    let policy = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let lease = |limit| {
        store
            .lease_pending(&LeaseRequest {
                lane: LANE,
                owner: &owner,
                limit,
                lease_for: Duration::from_secs(3600),
                covered_by: LogSize(4),
                policy,
                rota: None,
                now,
            })
            .unwrap()
    };
    let first = lease(1);
    assert_eq!(first[0].message.id(), events[1].message.id());
    assert!(matches!(
        store
            .record_failure(&FailureReport {
                id: first[0].message.id(),
                attempt: Attempt::Leased {
                    owner: &owner,
                    lease: first[0].lease,
                },
                reason: "the recipient reverted \u{1b}[2J at http://user:hunter2@10.0.0.1:8545/x",
                policy,
                jitter: 0,
                now,
            })
            .unwrap(),
        FailureOutcome::DeadLetter { .. }
    ));
    assert_eq!(lease(1)[0].message.id(), events[2].message.id());
    events[1].message.id()
}

fn status(config: &Path, json: bool) -> std::process::Output {
    let mut args = vec!["status", "--config", config.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    std::process::Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(&args)
        .env("CAUSEWAY_CHAIN_GAMMA_ENDPOINTS", DOWN_ENDPOINT)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_the_store_the_chains_and_the_peers() {
    let devnet = Devnet::start().await.unwrap();
    let committee = Committee::new("causeway-gateway-status", 3, 2);
    let org = Org::new(&committee);
    org.evm_signer("alpha", &devnet.a);
    org.evm_signer("beta", &devnet.b);
    // org2's gateway accepts connections; nothing listens at org3's.
    let org2_peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let org2_port = org2_peer.local_addr().unwrap().port();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut toml = org
        .gateway_toml(&committee, None)
        .replace(
            "https://localhost:7444",
            &format!("https://localhost:{org2_port}"),
        )
        .replace(
            "https://localhost:7445",
            &format!("https://127.0.0.1:{closed_port}"),
        );
    toml += &lanes_toml("alpha", "beta");
    toml += &chain_toml(
        "alpha",
        &devnet.a,
        CHAIN_A.chain_id,
        &devnet.a.outbox.address().to_string(),
    );
    toml += &chain_toml(
        "beta",
        &devnet.b,
        CHAIN_B.chain_id,
        &devnet.b.outbox.address().to_string(),
    );
    toml += r#"
[chains.gamma]
domain = 3
family = "evm"
chain_id = 31339
endpoints = ["http://127.0.0.1:1"]
finality = { tag = "finalized" }
outbox = "0x00000000000000000000000000000000000000ee"
inbox = "0x00000000000000000000000000000000000000ee"
"#;
    let config = org.write_config(&toml);
    let db = org.path().join("data/causeway.sqlite");

    // Before the gateway ever ran: exit 2, saying so, and no store made.
    let out = tokio::task::spawn_blocking({
        let config = config.clone();
        move || status(&config, false)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("the gateway has not run yet"),
        "{}",
        text(&out)
    );
    assert!(!db.exists());

    // A configuration that cannot be read: exit 2 too.
    let out = tokio::task::spawn_blocking({
        let missing = org.path().join("missing.toml");
        move || status(&missing, true)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("missing.toml"), "{}", text(&out));

    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let dead_id = fill_store(&SqliteStore::open(&db).unwrap(), committee.keys());
    // A gateway runs on the store (its instance claim held): status reads beside it.
    let running = SqliteStore::open(&db).unwrap();
    let _claim = running.claim_owner(&LeaseOwner("org1".into())).unwrap();
    // Alpha runs ahead of the cursor (block 3).
    for _ in 0..10 {
        devnet.a.provider.evm_mine(None).await.unwrap();
    }
    let alpha_head = devnet.a.provider.get_block_number().await.unwrap();
    let beta_head = devnet.b.provider.get_block_number().await.unwrap();

    let (out, json) = tokio::task::spawn_blocking({
        let config = config.clone();
        move || (status(&config, false), status(&config, true))
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let addresses: Vec<String> = committee
        .keys()
        .iter()
        .map(|k| k.address().to_string())
        .collect();
    for expected in [
        "lane alpha-to-beta: alpha (1) -> beta (2), 2 of 3 validators".to_owned(),
        "  log size        4".to_owned(),
        "  signed by us    size 3 (".to_owned(),
        "  threshold       size 2 with 2 signatures (recorded ".to_owned(),
        format!(
            "  validators      org1  {}       3 checkpoints  last size 3\n",
            addresses[0]
        ),
        format!(
            "                  org2  {}       1 checkpoints  last size 2\n",
            addresses[1]
        ),
        format!(
            "                  org3  {}       1 checkpoints  last size 3  EQUIVOCATED",
            addresses[2]
        ),
        "  equivocations   1".to_owned(),
        "  backlog         1 pending, 1 leased, 0 submitted; oldest waiting ".to_owned(),
        "(destination block 42); 1 delivered in all".to_owned(),
        "  dead letters    1\n".to_owned(),
        format!(
            "                  leaf 1 {}: 1 attempt(s), given up ",
            dead_id
        ),
        ": the recipient reverted ?[2J at http://10.0.0.1:8545\n".to_owned(),
        "lane beta-to-alpha: beta (2) -> alpha (1), 2 of 3 validators".to_owned(),
        "  signed by us    nothing yet".to_owned(),
        "  threshold       no checkpoint with 2 signatures yet".to_owned(),
        format!(
            "  alpha  domain     1  up    head {alpha_head:>8}  final {:>8}  lag    1  cursor 3, {} final blocks behind",
            alpha_head - 1,
            alpha_head - 1 - 3
        ),
        format!(
            "  beta   domain     2  up    head {beta_head:>8}  final {:>8}  lag    1  no cursor",
            beta_head - 1
        ),
        "  gamma  domain     3  DOWN  no cursor; http://127.0.0.1:1: ".to_owned(),
        "peers: reachability checked now from this machine".to_owned(),
        format!("  org2  https://localhost:{org2_port}  reachable"),
        format!("  org3  https://127.0.0.1:{closed_port}  UNREACHABLE: "),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(
        !text(&out).contains("hunter2") && !text(&out).contains("APIKEY"),
        "{}",
        text(&out)
    );

    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    assert!(!text(&json).contains("hunter2"), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let lane = &v["lanes"][0];
    assert_eq!(lane["name"], "alpha-to-beta");
    assert_eq!(lane["log_size"], 4);
    assert_eq!(lane["last_signed"]["size"], 3);
    assert_eq!(lane["last_threshold"]["size"], 2);
    assert_eq!(lane["last_threshold"]["signatures"], 2);
    assert_eq!(lane["validators"][0]["member"], "org1");
    assert_eq!(lane["validators"][0]["checkpoints_signed"], 3);
    assert_eq!(lane["validators"][1]["last_size"], 2);
    assert_eq!(lane["validators"][2]["equivocated"], true);
    assert_eq!(lane["validators"][1]["equivocated"], false);
    assert_eq!(lane["equivocations"], 1);
    assert_eq!(lane["backlog"]["pending"], 1);
    assert_eq!(lane["backlog"]["leased"], 1);
    assert_eq!(lane["backlog"]["submitted"], 0);
    assert!(lane["backlog"]["oldest_age_ms"].is_u64());
    assert_eq!(lane["last_delivery"]["block"], 42);
    assert_eq!(lane["confirmed"], 1);
    assert_eq!(lane["dead_letters"], 1);
    assert_eq!(lane["recent_dead_letters"][0]["id"], dead_id.to_string());
    assert_eq!(lane["recent_dead_letters"][0]["leaf_index"], 1);
    assert_eq!(
        lane["recent_dead_letters"][0]["reason"],
        "the recipient reverted \u{1b}[2J at http://10.0.0.1:8545"
    );
    assert_eq!(v["lanes"][1]["log_size"], 0);
    assert!(v["lanes"][1]["last_signed"].is_null());
    let alpha = &v["chains"][0];
    assert_eq!(alpha["status"], "up");
    assert_eq!(alpha["head"], alpha_head);
    assert_eq!(alpha["final_height"], alpha_head - 1);
    assert_eq!(alpha["lag"], 1);
    assert_eq!(alpha["source_cursor"], 3);
    assert_eq!(alpha["cursor_behind_final"], alpha_head - 1 - 3);
    let gamma = &v["chains"][2];
    assert_eq!(gamma["status"], "down");
    assert_eq!(gamma["endpoints"][0]["endpoint"], "http://127.0.0.1:1");
    let peers = &v["peers"]["members"];
    assert_eq!(peers.as_array().unwrap().len(), 2);
    assert_eq!(peers[0]["member"], "org2");
    assert_eq!(peers[0]["reachable"], true);
    assert_eq!(peers[1]["reachable"], false);
    assert!(
        v["peers"]["note"]
            .as_str()
            .unwrap()
            .contains("not the running gateway's own view")
    );

    // Nothing was written: the store is as the gateway left it.
    assert_eq!(running.log_size(ALPHA).unwrap(), LogSize(4));
    drop(org2_peer);
}

/// The next transaction id PostgreSQL will assign: a read-only transaction is given none, so
/// this moves only when something wrote (or migrated).
fn next_xid(pg: &causeway_devnet::postgres::PostgresNode) -> u64 {
    pg.psql("org1", "SELECT pg_snapshot_xmax(pg_current_snapshot())")
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_a_postgresql_store_in_read_only_sessions() {
    use causeway_devnet::postgres::PostgresNode;
    let devnet = Devnet::start().await.unwrap();
    let pg = tokio::task::spawn_blocking(|| {
        let pg = PostgresNode::start().unwrap();
        pg.create_database("org1").unwrap();
        pg
    })
    .await
    .unwrap();
    let committee = Committee::new("causeway-gateway-status-pg", 3, 2);
    let org = Org::new(&committee);
    org.evm_signer("alpha", &devnet.a);
    org.evm_signer("beta", &devnet.b);
    crate::config_check::secret_file(
        &org.path().join("keys/postgres.password"),
        format!("{}\n", pg.password()).as_bytes(),
    );
    let storage = format!(
        "[storage]\npostgres_url = \"postgres://causeway@127.0.0.1:{}/org1\"\n\
         postgres_password_file = \"keys/postgres.password\"\n",
        pg.port()
    );
    let mut toml = org.gateway_toml(&committee, None).replace(
        "[storage]\nsqlite_path = \"data/causeway.sqlite\"\n",
        &storage,
    );
    assert!(toml.contains("postgres_url"), "{toml}");
    toml += &lanes_toml("alpha", "beta");
    toml += &chain_toml(
        "alpha",
        &devnet.a,
        CHAIN_A.chain_id,
        &devnet.a.outbox.address().to_string(),
    );
    toml += &chain_toml(
        "beta",
        &devnet.b,
        CHAIN_B.chain_id,
        &devnet.b.outbox.address().to_string(),
    );
    let config = org.write_config(&toml);
    let run_status = |json: bool| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || status(&config, json))
    };

    // An empty database (the gateway never ran): exit 2, naming the command that migrates
    // it, and nothing migrated.
    let out = run_status(false).await.unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "`causeway run --config {}` migrates it",
            config.display()
        )),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(pg.password()), "{}", text(&out));
    let pg = tokio::task::spawn_blocking(move || {
        assert_eq!(
            pg.psql("org1", "SELECT to_regclass('schema_version') IS NULL")
                .unwrap(),
            "t"
        );
        pg
    })
    .await
    .unwrap();

    // The gateway's data, written through the store as a gateway writes it.
    let (dead_id, before) = tokio::task::block_in_place(|| {
        let store = PgStore::open(&pg.url("org1")).unwrap();
        let dead_id = fill_store(&store, committee.keys());
        drop(store);
        (dead_id, next_xid(&pg))
    });

    let out = run_status(false).await.unwrap();
    let json = run_status(true).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for expected in [
        format!(
            "  store   postgresql 127.0.0.1:{} database org1\n",
            pg.port()
        ),
        "lane alpha-to-beta: alpha (1) -> beta (2), 2 of 3 validators".to_owned(),
        "  log size        4".to_owned(),
        "  signed by us    size 3 (".to_owned(),
        "  threshold       size 2 with 2 signatures (recorded ".to_owned(),
        "  equivocations   1".to_owned(),
        "  backlog         1 pending, 1 leased, 0 submitted; oldest waiting ".to_owned(),
        "(destination block 42); 1 delivered in all".to_owned(),
        "  dead letters    1\n".to_owned(),
        format!("                  leaf 1 {dead_id}: 1 attempt(s), given up "),
        "  alpha  domain     1  up    head ".to_owned(),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let lane = &v["lanes"][0];
    assert_eq!(lane["log_size"], 4);
    assert_eq!(lane["validators"][2]["equivocated"], true);
    assert_eq!(lane["backlog"]["pending"], 1);
    assert_eq!(lane["backlog"]["leased"], 1);
    assert_eq!(lane["confirmed"], 1);
    assert_eq!(lane["dead_letters"], 1);
    assert_eq!(v["chains"][0]["source_cursor"], 3);
    for out in [&out, &json] {
        assert!(!text(out).contains(pg.password()), "{}", text(out));
    }

    // Nothing was written: no transaction id was assigned while status read.
    let mut pg = tokio::task::spawn_blocking(move || {
        assert_eq!(next_xid(&pg), before, "status wrote to the store");
        pg
    })
    .await
    .unwrap();

    // The database down: exit 2, naming the server (never the password) and the fix.
    pg.stop().unwrap();
    let out = run_status(false).await.unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for expected in [
        format!("postgres://causeway@127.0.0.1:{}/org1", pg.port()),
        "read-only".to_owned(),
        "start the database, or correct [storage] postgres_url".to_owned(),
    ] {
        assert!(
            text(&out).contains(&expected),
            "missing {expected:?} in\n{}",
            text(&out)
        );
    }
    assert!(!text(&out).contains(pg.password()), "{}", text(&out));
}
