//! What only the PostgreSQL store has to show beyond the shared conformance suite: replicas
//! starting together migrate once, leases run on the database's clock, a replica that lost its
//! lease cannot write over the new holder's, the password never reaches an error, an outage is
//! a transient error the same handle recovers from, `sslmode=verify-full` checks the server's
//! certificate and name, and weaker TLS modes are refused.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use causeway_devnet::postgres::PostgresNode;
use causeway_proofs::LogSize;
use causeway_relayer::Error;
use causeway_relayer::store::{
    ApiStore, Attempt, DeliveryState, DeliveryStore, FailureReport, LeaseClock, LeaseOwner,
    LeaseRequest, LeasedMessage, PG_SCHEMA_VERSION, PgOptions, PgStore, QueryStore, RetryPolicy,
    SourceStore, Submission, SubmissionId, UnixMillis,
};

use crate::support::*;

fn open(url: &str, clock: LeaseClock) -> PgStore {
    PgStore::open_with(
        url,
        None,
        PgOptions {
            clock,
            ..PgOptions::default()
        },
    )
    .unwrap()
}

fn lease_at(
    s: &PgStore,
    who: &LeaseOwner,
    lease_for: Duration,
    now: UnixMillis,
) -> Vec<LeasedMessage> {
    s.lease_pending(&LeaseRequest {
        lane: LANE,
        owner: who,
        limit: 10,
        lease_for,
        covered_by: LogSize(100),
        policy: RetryPolicy::default(),
        now,
        rota: None,
    })
    .unwrap()
}

#[test]
fn replicas_starting_together_migrate_once() {
    let node = shared_postgres();
    let url = new_database(node);
    let replicas = 6;
    let barrier = Arc::new(Barrier::new(replicas));
    let handles: Vec<_> = (0..replicas)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PgStore::open(&url).map(|s| s.schema_version().unwrap())
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), PG_SCHEMA_VERSION);
    }
    let db = url.rsplit('/').next().unwrap();
    let applied = node
        .psql(
            db,
            "SELECT count(*) || ' ' || count(DISTINCT version) FROM schema_version",
        )
        .unwrap();
    assert_eq!(applied, format!("{PG_SCHEMA_VERSION} {PG_SCHEMA_VERSION}"));
}

/// A rolling upgrade: a replica of this build is running when a newer build migrates the
/// database (a schema version past this build's). From then on every write of the running
/// replica is refused with [`Error::SchemaTooNew`], naming the fix, and changes nothing (an
/// older build's confirmations would skip what newer code reads, as schema 1's did
/// `lane_last_delivery`); reads go on; a replica of this build opening it is refused too.
#[test]
fn a_running_replica_refuses_to_write_once_a_newer_build_migrated_the_database() {
    use causeway_relayer::store::{NewSendRequest, OutboundStore as _, SendKind};
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let running = open(&url, LeaseClock::Database);
    let send = |s: &PgStore| {
        s.record_send_requests(
            &[NewSendRequest {
                origin: ORIGIN,
                destination: DEST,
                recipient: causeway_proofs::Address32([1; 32]),
                kind: SendKind::Public,
                payload: b"before",
                readers: &[],
                disclose: &[],
                actor: "test",
            }],
            t(1),
        )
    };
    send(&running).unwrap();
    // A newer build migrates (it records its version under the migration's locks).
    let newer = PG_SCHEMA_VERSION + 1;
    node.psql(
        &db,
        &format!(
            "SELECT pg_advisory_xact_lock({}); INSERT INTO schema_version (version, name, applied_at) \
             VALUES ({newer}, 'a newer build', 0)",
            0x6361_7573_6577_6179_i64
        ),
    )
    .unwrap();
    let refused = send(&running).unwrap_err();
    match &refused {
        Error::SchemaTooNew { found, supported } => {
            assert_eq!((*found, *supported), (newer, PG_SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(
        refused
            .to_string()
            .contains("upgrade this gateway or replica"),
        "the error names the fix: {refused}"
    );
    // Other writes alike (a delivery's lease), and nothing was written.
    assert!(matches!(
        running.lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &owner("a"),
            limit: 10,
            lease_for: Duration::from_secs(1),
            covered_by: LogSize(100),
            policy: RetryPolicy::default(),
            now: t(5),
            rota: None,
        }),
        Err(Error::SchemaTooNew { .. })
    ));
    assert_eq!(
        node.psql(&db, "SELECT count(*) FROM send_request").unwrap(),
        "1"
    );
    assert_eq!(running.schema_version().unwrap(), newer, "reads go on");
    match PgStore::open(&url) {
        Err(Error::SchemaTooNew { found, .. }) => assert_eq!(found, newer),
        other => panic!(
            "expected SchemaTooNew at opening, got {:?}",
            other.map(|_| ())
        ),
    }
}

/// `causeway status`'s handle: opening read-only migrates nothing (an empty database is
/// refused as too old, and stays empty), reads what a gateway wrote, and every write through
/// it is refused by the server (its sessions are read-only) and changes nothing; a database a
/// newer build migrated is refused too.
#[test]
fn a_read_only_handle_never_migrates_or_writes() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let read_only = || PgStore::open_read_only(&url, None, PgOptions::default());
    match read_only() {
        Err(Error::SchemaTooOld { found, expected }) => {
            assert_eq!((found, expected), (0, PG_SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooOld, got {:?}", other.map(|_| ())),
    }
    assert_eq!(
        node.psql(&db, "SELECT to_regclass('schema_version') IS NULL")
            .unwrap(),
        "t",
        "nothing migrated"
    );

    let writer = open(&url, LeaseClock::Database);
    accept_new(&writer, 0, 3, 1, 10);
    let reader = read_only().unwrap();
    assert_eq!(reader.schema_version().unwrap(), PG_SCHEMA_VERSION);
    assert_eq!(reader.log_size(ORIGIN).unwrap(), LogSize(3));
    let more: Vec<_> = (3..5)
        .map(|i| event(message(ORIGIN, i, DEST, 0), 2))
        .collect();
    let refused = accept(&reader, ORIGIN, &more, 2, 20).unwrap_err();
    assert!(
        anyhow_like(&refused).contains("read-only transaction"),
        "the server refused the write: {}",
        anyhow_like(&refused)
    );
    assert_eq!(writer.log_size(ORIGIN).unwrap(), LogSize(3));
    assert_eq!(
        node.psql(&db, "SELECT count(*) FROM message").unwrap(),
        "3",
        "nothing written"
    );

    let newer = PG_SCHEMA_VERSION + 1;
    node.psql(
        &db,
        &format!(
            "INSERT INTO schema_version (version, name, applied_at) VALUES ({newer}, 'newer', 0)"
        ),
    )
    .unwrap();
    match read_only() {
        Err(Error::SchemaTooNew { found, .. }) => assert_eq!(found, newer),
        other => panic!("expected SchemaTooNew, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn leases_run_on_the_database_clock_whatever_the_callers_clock_says() {
    let url = new_database(shared_postgres());
    let (a, b) = (
        open(&url, LeaseClock::Database),
        open(&url, LeaseClock::Database),
    );
    let msgs = accept_new(&a, 0, 2, 1, 1_000);
    // Replica A's clock is far behind: its lease still lasts an hour from the database's now.
    let got = lease_at(&a, &owner("a"), Duration::from_secs(3600), UnixMillis(5));
    assert_eq!(got.len(), 2);
    let db_now = UnixMillis::now().0;
    assert!(
        got[0].lease_until.0 >= db_now + 3_500_000,
        "lease until {} is not an hour past the database's now ({db_now})",
        got[0].lease_until.0
    );
    // Replica B's clock is a century ahead: on its own clock A's lease is long over, but the
    // database's clock decides, so B gets nothing.
    let far = UnixMillis(db_now + 100 * 365 * 24 * 3_600_000);
    assert!(lease_at(&b, &owner("b"), Duration::from_secs(60), far).is_empty());
    assert!(matches!(
        b.message(msgs[0].id()).unwrap().unwrap().delivery.state,
        DeliveryState::Leased { ref owner, .. } if owner.0 == "a"
    ));
}

#[test]
fn a_replica_that_lost_its_lease_cannot_write_over_the_new_holders() {
    let url = new_database(shared_postgres());
    let (a, b) = (
        open(&url, LeaseClock::Database),
        open(&url, LeaseClock::Database),
    );
    let msgs = accept_new(&a, 0, 1, 1, 1_000);
    let id = msgs[0].id();
    let (owner_a, owner_b) = (owner("replica-a"), owner("replica-b"));
    let first = lease_at(&a, &owner_a, Duration::from_millis(200), UnixMillis::now());
    assert_eq!(first.len(), 1);
    // A pauses past its lease; B takes the message over under a new lease.
    std::thread::sleep(Duration::from_millis(400));
    let second = lease_at(&b, &owner_b, Duration::from_secs(60), UnixMillis::now());
    assert_eq!(second.len(), 1);
    assert_ne!(first[0].lease, second[0].lease);
    // A wakes up: neither its submission nor its failure report lands.
    let h = handle(1);
    let err = a
        .mark_submitted(&Submission {
            ids: &[id],
            owner: &owner_a,
            lease: first[0].lease,
            handle: &h,
            signed: None,
            replaces: None,
            now: UnixMillis::now(),
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::LeaseLost { ref holder, .. } if holder.as_ref() == Some(&owner_b)),
        "{err:?}"
    );
    let err = a
        .record_failure(&FailureReport {
            id,
            attempt: Attempt::Leased {
                owner: &owner_a,
                lease: first[0].lease,
            },
            reason: "late",
            policy: RetryPolicy::default(),
            jitter: 0,
            now: UnixMillis::now(),
        })
        .unwrap_err();
    assert!(matches!(err, Error::LeaseLost { .. }), "{err:?}");
    // B's lease is intact and B's submission lands.
    let record = b.message(id).unwrap().unwrap();
    assert!(
        matches!(record.delivery.state, DeliveryState::Leased { ref owner, .. } if *owner == owner_b)
    );
    b.mark_submitted(&Submission {
        ids: &[id],
        owner: &owner_b,
        lease: second[0].lease,
        handle: &h,
        signed: None,
        replaces: None,
        now: UnixMillis::now(),
    })
    .unwrap();
}

#[test]
fn the_password_never_appears_in_errors_or_debug_output() {
    let node = shared_postgres();
    let url = new_database(node);
    let password = node.password().to_owned();
    let store = open(&url, LeaseClock::Database);
    assert!(!format!("{store:?}").contains(&password));
    assert!(!store.target().contains(&password));
    // A wrong password: refused, and the error shows neither password.
    let wrong = url.replace(&password, "not-the-password-0123");
    let err = PgStore::open(&wrong).unwrap_err();
    let shown = format!("{err} {err:?} {:#}", anyhow_like(&err));
    assert!(
        !shown.contains(&password) && !shown.contains("not-the-password-0123"),
        "{shown}"
    );
    // Nobody listening: unavailable, and still no password.
    let closed = url.replace(&format!(":{}/", node.port()), ":1/");
    let err = PgStore::open(&closed).unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {}", anyhow_like(&err));
    assert!(!shown.contains(&password), "{shown}");
}

/// The error and every source below it, as an operator's log would show them.
fn anyhow_like(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

#[test]
fn unsupported_tls_modes_are_refused_with_a_clear_error() {
    let url = new_database(shared_postgres());
    for mode in ["require", "verify-ca"] {
        let err = PgStore::open(&format!("{url}?sslmode={mode}")).unwrap_err();
        assert!(
            matches!(err, Error::Config { ref reason } if reason.contains("verify-full")),
            "{err:?}"
        );
    }
}

/// `sslmode=verify-full` against a private cluster that accepts TCP over TLS only, with a
/// certificate for `localhost` from a test CA: the right CA and name connect (so over TLS) and
/// the store works; another CA, or the same server reached by a name its certificate does not
/// hold, is refused before any password is sent, with a configuration error that names the fix
/// and never the password.
#[test]
fn verify_full_checks_the_servers_certificate_and_its_name() {
    use causeway_devnet::pki::{ConsortiumCa, GatewayCertSpec};
    let ca = ConsortiumCa::new("PostgreSQL test CA");
    let cert = ca
        .issue(&GatewayCertSpec::new("database", "localhost"))
        .unwrap();
    let node = PostgresNode::start_tls(&cert.cert_pem, cert.key_pem.as_bytes()).unwrap();
    node.create_database("tls").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (right, wrong) = (dir.path().join("ca.pem"), dir.path().join("other-ca.pem"));
    ca.write_ca(&right).unwrap();
    ConsortiumCa::new("Another CA").write_ca(&wrong).unwrap();
    let password = node.password().as_bytes();
    let url = |host: &str, ca: &std::path::Path| {
        format!(
            "postgres://causeway@{host}:{}/tls?sslmode=verify-full&sslrootcert={}",
            node.port(),
            ca.display()
        )
    };

    let store = PgStore::open_with(
        &url("localhost", &right),
        Some(password),
        PgOptions::default(),
    )
    .unwrap();
    assert!(store.target().contains("verify-full"), "{}", store.target());
    assert_eq!(store.schema_version().unwrap(), PG_SCHEMA_VERSION);
    // Without TLS the server refuses (hostssl only): the store above did speak TLS.
    let plain = format!("postgres://causeway@localhost:{}/tls", node.port());
    assert!(PgStore::open_with(&plain, Some(password), PgOptions::default()).is_err());

    for (host, ca, says) in [
        ("127.0.0.1", &right, "not valid for name"),
        ("localhost", &wrong, "UnknownIssuer"),
    ] {
        let err =
            PgStore::open_with(&url(host, ca), Some(password), PgOptions::default()).unwrap_err();
        let shown = format!("{err} {err:?} {}", anyhow_like(&err));
        assert!(
            matches!(err, Error::Config { ref reason }
                if reason.contains("TLS handshake") && reason.contains(says)
                    && reason.contains("fix")),
            "{host} with {}: {shown}",
            ca.display()
        );
        assert!(!shown.contains(node.password()), "{shown}");
    }
}

#[test]
fn an_outage_is_transient_and_the_same_handle_recovers() {
    let mut node = PostgresNode::start().unwrap();
    let url = node.create_database("outage").unwrap();
    let s = open(&url, LeaseClock::Database);
    let msgs = accept_new(&s, 0, 3, 1, 1_000);
    node.stop().unwrap();
    let err = s.log_size(ORIGIN).unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let err = s
        .accept_events(&causeway_relayer::store::AcceptBatch {
            origin: ORIGIN,
            events: &[event(message(ORIGIN, 3, DEST, 0), 2)],
            cursor: cursor(2),
            now: t(2_000),
        })
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    node.restart().unwrap();
    // The broken connections are dropped and new ones opened; nothing accepted was lost.
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(3));
    assert_eq!(
        s.leaves(ORIGIN, causeway_proofs::LeafIndex(0), 10).unwrap(),
        msgs.iter().map(|m| m.id()).collect::<Vec<_>>()
    );
    accept_new(&s, 3, 1, 2, 2_000);
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(4));
}

#[test]
fn an_instance_name_is_claimed_once_until_released() {
    let url = new_database(shared_postgres());
    let (a, b) = (
        open(&url, LeaseClock::Database),
        open(&url, LeaseClock::Database),
    );
    let claim = a.claim_owner(&owner("org1-gateway")).unwrap();
    assert!(matches!(
        b.claim_owner(&owner("org1-gateway")),
        Err(Error::OwnerInUse { .. })
    ));
    let other = b.claim_owner(&owner("org1-replica")).unwrap();
    drop(claim);
    // The server releases the lock when the claim's connection ends.
    let mut again = b.claim_owner(&owner("org1-gateway"));
    for _ in 0..50 {
        if again.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        again = b.claim_owner(&owner("org1-gateway"));
    }
    again.unwrap();
    drop(other);
}

/// An EVM source proof is stored as bytes (schema 7: `native_proof_compact`, less than half of
/// its JSON) and read back as the same JSON, byte for byte; a native proof of another shape
/// keeps its JSON. A database of schema 6, whose rows hold the compact form in base64 text,
/// migrates to 7 and reads its rows back the same.
#[test]
fn an_evm_source_proof_is_stored_as_bytes_and_schema_6_rows_read_back() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let sql = |q: &str| node.psql(&db, q).unwrap();
    let s = open(&url, LeaseClock::Caller);
    let evm = evm_native_proof();
    let json = serde_json::to_string(&evm).unwrap();
    let mut compact = event(message(ORIGIN, 0, DEST, 0), 10);
    compact.native_proof = Some(evm.clone());
    let other = event(message(ORIGIN, 1, DEST, 0), 10);
    accept(&s, ORIGIN, &[compact.clone(), other.clone()], 10, 1_000).unwrap();
    let stored = |id: causeway_proofs::MessageId| {
        sql(&format!(
            "SELECT coalesce(left(native_proof, 1), '-') || ' ' ||
                    coalesce(length(native_proof_compact)::text, '-')
             FROM message WHERE id = '\\x{}'",
            hex::encode(id.0.0)
        ))
    };
    let (text, len) = stored(compact.message.id())
        .split_once(' ')
        .map(|(a, b)| (a.to_owned(), b.parse::<usize>().unwrap()))
        .unwrap();
    assert_eq!(text, "-");
    assert!(
        len * 5 < json.len() * 2,
        "{len} bytes for {} of JSON",
        json.len()
    );
    assert_eq!(stored(other.message.id()), "{ -");
    let read = |s: &PgStore, id| s.message(id).unwrap().unwrap().native_proof;
    let as_json = |p: Option<causeway_proofs::bundle::NativeProof>| {
        serde_json::to_string(&p.unwrap()).unwrap()
    };
    assert_eq!(as_json(read(&s, compact.message.id())), json);
    assert_eq!(read(&s, other.message.id()), other.native_proof);

    // Schema 6 as its build wrote the row: the compact form in base64 after its marker, in the
    // text column; no bytes column.
    drop(s);
    sql("ALTER TABLE message DISABLE TRIGGER USER;
         UPDATE message SET native_proof = 'evm-compact-v1:' ||
             translate(encode(native_proof_compact, 'base64'), E'\\n', ''),
             native_proof_compact = NULL
         WHERE native_proof_compact IS NOT NULL;
         ALTER TABLE message ENABLE TRIGGER USER;
         ALTER TABLE message DROP COLUMN native_proof_compact;
         DELETE FROM schema_version WHERE version = 7;");
    let s = open(&url, LeaseClock::Caller);
    assert_eq!(s.schema_version().unwrap(), PG_SCHEMA_VERSION);
    assert_eq!(stored(compact.message.id()), "e -");
    assert_eq!(as_json(read(&s, compact.message.id())), json);
    assert_eq!(read(&s, other.message.id()), other.native_proof);
    // New rows are written as bytes.
    let mut later = event(message(ORIGIN, 2, DEST, 0), 11);
    later.native_proof = Some(evm);
    accept(&s, ORIGIN, &[later.clone()], 11, 2_000).unwrap();
    assert!(stored(later.message.id()).starts_with("- "));
    assert_eq!(as_json(read(&s, later.message.id())), json);
}

/// A database a schema-1 build wrote, opened by this build: migrated to schema 2 with its
/// history kept (each lane's last delivery filled in from its confirmed rows, the counts and
/// the status events as they were), and the statement triggers that replaced schema 1's row
/// triggers go on counting, numbering events and refusing a gap in the log.
#[test]
fn a_schema_1_database_is_migrated_with_its_history() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let sql = |q: &str| node.psql(&db, q).unwrap();
    // What a schema-1 build left: its migration, and three messages written through its row
    // triggers (0 and 1 confirmed, 2 pending).
    sql(&format!(
        "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                                      applied_at BIGINT NOT NULL);
         {}
         INSERT INTO schema_version VALUES (1, 'the schema of SQLite''s version 9', 0);",
        include_str!("../../src/store/postgres/migrations/0001_schema.sql")
    ));
    let msgs: Vec<_> = (0..3).map(|i| message(ORIGIN, i, DEST, 0)).collect();
    for (i, m) in msgs.iter().enumerate() {
        let id = hex::encode(m.id().0.0);
        let source = serde_json::to_string(&event(m.clone(), 1).source).unwrap();
        sql(&format!(
            "INSERT INTO message (id, origin, nonce, destination, encoded, source_block,
                                  source_ref, accepted_at)
             VALUES ('\\x{id}', 1, {i}, 2, '\\x{}', 1, '{source}', 100);
             INSERT INTO log_leaf VALUES (1, {i}, '\\x{id}');
             INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                                   next_attempt_at, created_at, updated_at)
             VALUES ('\\x{id}', 1, 2, {i}, 'pending', 100, {}, 100);",
            hex::encode(m.encode()),
            100 + i
        ));
    }
    // 0 confirmed at 700 in block 7, 1 at 600 in block 9: the latest is 0's (time first).
    for (i, at, block) in [(0, 700, 7), (1, 600, 9)] {
        sql(&format!(
            "UPDATE delivery SET state = 'leased', lease_owner = 'a', lease_until = 9000,
                 updated_at = {at} - 1 WHERE leaf_index = {i};
             UPDATE delivery SET state = 'confirmed', confirmed_block = {block},
                 lease_until = NULL, updated_at = {at} WHERE leaf_index = {i};"
        ));
    }

    let s = open(&url, LeaseClock::Caller);
    assert_eq!(s.schema_version().unwrap(), PG_SCHEMA_VERSION);
    assert_eq!(
        sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'delivery_age'"),
        "0"
    );
    let last = s.last_delivery(LANE).unwrap().unwrap();
    assert_eq!((last.confirmed_at, last.block), (t(700), 7));
    let stats = s.lane_stats().unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].counts.pending, stats[0].counts.confirmed), (1, 2));
    assert_eq!(stats[0].oldest_pending_since, Some(t(102)));
    let statuses = |id| {
        s.message_history(id)
            .unwrap()
            .iter()
            .map(|e| format!("{:?}", e.status))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(statuses(msgs[0].id()), "Logged Leased Confirmed");
    assert_eq!(s.last_event_seq().unwrap(), 7);

    // Schema 2's triggers carry on: a batch accepted, leased and confirmed in one statement
    // each is counted, and its events numbered after the old ones, in log order.
    let more = accept_new(&s, 3, 3, 2, 1_000);
    let leased = lease_at(&s, &owner("b"), Duration::from_secs(60), t(1_100));
    assert_eq!(
        leased.len(),
        4,
        "2 (pending since schema 1) and the three new ones"
    );
    let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
    s.confirm(&causeway_relayer::store::Confirmation {
        ids: &ids,
        block: 12,
        now: t(1_200),
    })
    .unwrap();
    let last = s.last_delivery(LANE).unwrap().unwrap();
    assert_eq!((last.confirmed_at, last.block), (t(1_200), 12));
    let stats = s.lane_stats().unwrap();
    assert_eq!(
        (
            stats[0].counts.pending,
            stats[0].counts.leased,
            stats[0].counts.confirmed
        ),
        (0, 0, 6)
    );
    assert_eq!(stats[0].oldest_pending_since, None);
    assert_eq!(s.last_event_seq().unwrap(), 7 + 3 + 4 + 4);
    let confirmed: Vec<_> = s
        .events_after(7 + 3 + 4, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let in_log_order: Vec<_> = std::iter::once(msgs[2].id())
        .chain(more.iter().map(|m| m.id()))
        .collect();
    assert_eq!(confirmed, in_log_order);
    assert_eq!(statuses(msgs[2].id()), "Logged Leased Confirmed");

    // The log still refuses a leaf that is not the next one.
    let gap = message(ORIGIN, 9, DEST, 0);
    let id = hex::encode(gap.id().0.0);
    let err = node
        .psql(
            &db,
            &format!(
                "INSERT INTO message (id, origin, nonce, destination, encoded, source_ref,
                                      accepted_at)
                 VALUES ('\\x{id}', 1, 9, 2, '\\x{}', '{{}}', 100);
                 INSERT INTO log_leaf VALUES (1, 7, '\\x{id}');",
                hex::encode(gap.encode())
            ),
        )
        .unwrap_err();
    assert!(err.to_string().contains("next index"), "{err}");
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(6));
}

/// A database a schema-3 build wrote (its statement triggers counted and logged every change),
/// opened by this build: migrated to schemas 4 and 5 with every event, state and count as it was, and
/// the statements that now count and log go on from there: the counts move with each change,
/// the events are numbered after the old ones without a gap, in log order, with their reasons.
#[test]
fn a_schema_3_database_keeps_its_history_states_and_counts() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let sql = |q: &str| node.psql(&db, q).unwrap();
    sql(&format!(
        "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                                      applied_at BIGINT NOT NULL);
         {}
         {}
         {}
         INSERT INTO schema_version VALUES (1, 'the schema of SQLite''s version 9', 0),
             (2, 'SQLite''s version 10, bookkeeping triggers per statement', 0),
             (3, 'send requests leased to one dispatcher', 0);",
        include_str!("../../src/store/postgres/migrations/0001_schema.sql"),
        include_str!("../../src/store/postgres/migrations/0002_lean_delivery.sql"),
        include_str!("../../src/store/postgres/migrations/0003_send_leases.sql"),
    ));
    // Five messages in one statement per table, as a schema-3 build accepted them.
    let msgs: Vec<_> = (0..5).map(|i| message(ORIGIN, i, DEST, 0)).collect();
    let hex_id = |i: usize| hex::encode(msgs[i].id().0.0);
    let rows = |f: &dyn Fn(usize) -> String| (0..5).map(f).collect::<Vec<_>>().join(", ");
    sql(&format!(
        "INSERT INTO message (id, origin, nonce, destination, encoded, source_block, source_ref,
                              accepted_at) VALUES {};
         INSERT INTO log_leaf VALUES {};
         INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                               next_attempt_at, created_at, updated_at) VALUES {};",
        rows(&|i| format!(
            "('\\x{}', 1, {i}, 2, '\\x{}', 1, '{}', 100)",
            hex_id(i),
            hex::encode(msgs[i].encode()),
            serde_json::to_string(&event(msgs[i].clone(), 1).source).unwrap()
        )),
        rows(&|i| format!("(1, {i}, '\\x{}')", hex_id(i))),
        rows(&|i| format!("('\\x{}', 1, 2, {i}, 'pending', 100, 100, 100)", hex_id(i))),
    ));
    // Leaves 0-3 leased in one statement; then 0 confirmed, 2 submitted, 3 dead-lettered; 1
    // stays leased (by "a", lease 1) and 4 pending.
    let sub = causeway_relayer::store::SubmissionId::of(&handle(1));
    sql(&format!(
        "UPDATE delivery SET state = 'leased', lease_owner = 'a', lease_until = 9000,
             lease_token = 1, updated_at = 200 WHERE leaf_index < 4;
         UPDATE delivery SET state = 'confirmed', confirmed_block = 7, lease_until = NULL,
             lease_token = NULL, updated_at = 300 WHERE leaf_index = 0;
         UPDATE delivery SET state = 'submitted', submission_id = '\\x{}',
             submission_handle = '{}', submitted_at = 400, lease_token = NULL,
             updated_at = 400 WHERE leaf_index = 2;
         UPDATE delivery SET state = 'dead_letter', attempts = 1, dead_reason = 'gave up',
             last_error = 'gave up', lease_owner = NULL, lease_until = NULL,
             lease_token = NULL, updated_at = 500 WHERE leaf_index = 3;
         UPDATE lease_sequence SET last = 1;",
        hex::encode(sub.0.0),
        serde_json::to_string(&handle(1)).unwrap()
    ));
    let counts = || sql("SELECT state, n FROM lane_count WHERE n > 0 ORDER BY state");
    let (events_before, counts_before) = (
        sql("SELECT seq, leaf_index, status, reason, at FROM message_event ORDER BY seq"),
        counts(),
    );
    // Since schema 6 an event row is a run of a lane's messages; each old one is a run of one.
    let events = || {
        sql("SELECT e.seq, d.leaf_index, e.status, e.reason, e.at
             FROM message_event e JOIN delivery d
               ON d.origin = e.origin AND d.destination = e.destination
              AND d.lane_pos = e.first_pos
             WHERE e.n = 1 ORDER BY e.seq")
    };
    assert_eq!(
        counts_before,
        "confirmed|1\ndead_letter|1\nleased|1\npending|1\nsubmitted|1"
    );
    assert_eq!(events_before.lines().count(), 5 + 4 + 3);

    let s = open(&url, LeaseClock::Caller);
    assert_eq!(s.schema_version().unwrap(), PG_SCHEMA_VERSION);
    assert_eq!(
        sql("SELECT count(*) FROM pg_trigger
             WHERE tgname IN ('delivery_inserted', 'delivery_updated')"),
        "0",
        "schema 5 counts and logs in the statements"
    );
    assert_eq!((events(), counts()), (events_before, counts_before));
    let statuses = |i: usize| {
        s.message_history(msgs[i].id())
            .unwrap()
            .iter()
            .map(|e| format!("{:?}{}", e.status, e.reason.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(statuses(3), "Logged Leased DeadLetteredgave up");

    // This build's statements carry on: the dead letter retried, a failure of the lease that
    // 1 holds, three new messages accepted, the lane leased (1, 3, 4 and the new ones), 2
    // confirmed from submitted.
    s.retry_dead_letter(msgs[3].id(), t(1_000)).unwrap();
    s.record_failure(&FailureReport {
        id: msgs[1].id(),
        attempt: Attempt::Leased {
            owner: &owner("a"),
            lease: causeway_relayer::store::LeaseToken(1),
        },
        reason: "reverted",
        policy: RetryPolicy::default(),
        jitter: 0,
        now: t(1_001),
    })
    .unwrap();
    let more = accept_new(&s, 5, 3, 2, 1_002);
    let leased = lease_at(&s, &owner("b"), Duration::from_secs(60), t(100_000_000));
    let mut leaves: Vec<u64> = leased.iter().map(|m| m.leaf_index.0).collect();
    leaves.sort_unstable();
    assert_eq!(leaves, [1, 3, 4, 5, 6, 7]);
    s.confirm(&causeway_relayer::store::Confirmation {
        ids: &[msgs[2].id()],
        block: 9,
        now: t(100_000_001),
    })
    .unwrap();

    let stats = s.lane_stats().unwrap();
    let c = &stats[0].counts;
    assert_eq!(
        (c.pending, c.leased, c.submitted, c.confirmed, c.dead_letter),
        (0, 6, 0, 2, 0)
    );
    assert_eq!(
        counts(),
        "confirmed|2\nleased|6",
        "the table agrees with the stats"
    );
    let old_last = 12;
    assert_eq!(s.last_event_seq().unwrap(), old_last + 1 + 1 + 3 + 6 + 1);
    let after: Vec<String> = s
        .events_after(old_last, 100)
        .unwrap()
        .iter()
        .map(|e| format!("{} {:?}", e.seq, e.status))
        .collect();
    let expected: Vec<String> = ["Retried", "Failed", "Logged", "Logged", "Logged"]
        .into_iter()
        .chain(["Leased"; 6])
        .chain(["Confirmed"])
        .enumerate()
        .map(|(i, status)| format!("{} {status}", old_last + 1 + i as u64))
        .collect();
    assert_eq!(after, expected);
    // The lease's events in log order.
    let leased_in_order: Vec<_> = s
        .events_after(old_last + 5, 6)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let mut in_log_order = vec![msgs[1].id(), msgs[3].id(), msgs[4].id()];
    in_log_order.extend(more.iter().map(|m| m.id()));
    assert_eq!(leased_in_order, in_log_order);
    assert_eq!(statuses(1), "Logged Leased Failedreverted Leased");
    assert_eq!(
        statuses(3),
        "Logged Leased DeadLetteredgave up Retried Leased"
    );
    assert_eq!(statuses(2), "Logged Leased Submitted Confirmed");
}

/// A database a schema-5 build wrote (two interleaved lanes, messages in every state, their
/// events and counts), opened by this build: migrated to schema 6 (positions in each lane,
/// one event row per run, delivery runs) with every event under its number, each message's
/// history and state, the counts and each lane's oldest unfinished message as they were; and
/// this build's statements go on from there: a batch leased, submitted and confirmed as one
/// run is numbered after the old events, and new messages take their lane's next positions.
#[test]
fn a_schema_5_database_keeps_its_history_states_counts_and_oldest_pending_time() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let sql = |q: &str| node.psql(&db, q).unwrap();
    // Schema 2's statement triggers log and count the rows written by hand below; then
    // schemas 3 to 5 (which drop them) as a schema-5 build applied them.
    sql(&format!(
        "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                                      applied_at BIGINT NOT NULL);
         {}
         {}",
        include_str!("../../src/store/postgres/migrations/0001_schema.sql"),
        include_str!("../../src/store/postgres/migrations/0002_lean_delivery.sql"),
    ));
    // Leaves 0..6 of origin 1, alternating between destinations 2 and 3.
    let other = causeway_proofs::Domain(3);
    let dest = |i: u64| if i.is_multiple_of(2) { DEST } else { other };
    let msgs: Vec<_> = (0..6).map(|i| message(ORIGIN, i, dest(i), 0)).collect();
    let hex_id = |i: usize| hex::encode(msgs[i].id().0.0);
    let rows = |f: &dyn Fn(usize) -> String| (0..6).map(f).collect::<Vec<_>>().join(", ");
    sql(&format!(
        "INSERT INTO message (id, origin, nonce, destination, encoded, source_block, source_ref,
                              accepted_at) VALUES {};
         INSERT INTO log_leaf VALUES {};
         INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                               next_attempt_at, created_at, updated_at) VALUES {};",
        rows(&|i| format!(
            "('\\x{}', 1, {i}, {}, '\\x{}', 1, '{}', 100)",
            hex_id(i),
            dest(i as u64).0,
            hex::encode(msgs[i].encode()),
            serde_json::to_string(&event(msgs[i].clone(), 1).source).unwrap()
        )),
        rows(&|i| format!("(1, {i}, '\\x{}')", hex_id(i))),
        rows(&|i| format!(
            "('\\x{}', 1, {}, {i}, 'pending', 100, {}, 100)",
            hex_id(i),
            dest(i as u64).0,
            100 + i
        )),
    ));
    // 0 (lane 2) confirmed, 1 (lane 3) submitted by "a", 2 (lane 2) dead-lettered, 3 (lane 3)
    // leased by "a" under lease 1; 4 (lane 2) and 5 (lane 3) pending.
    let sub = causeway_relayer::store::SubmissionId::of(&handle(1));
    sql(&format!(
        "UPDATE delivery SET state = 'leased', lease_owner = 'a', lease_until = 9000,
             lease_token = 1, updated_at = 200 WHERE leaf_index < 4;
         UPDATE delivery SET state = 'confirmed', confirmed_block = 7, lease_until = NULL,
             lease_token = NULL, updated_at = 300 WHERE leaf_index = 0;
         UPDATE delivery SET state = 'submitted', submission_id = '\\x{}',
             submission_handle = '{}', submitted_at = 400, lease_token = NULL,
             updated_at = 400 WHERE leaf_index = 1;
         UPDATE delivery SET state = 'dead_letter', attempts = 1, dead_reason = 'gave up',
             last_error = 'gave up', lease_owner = NULL, lease_until = NULL,
             lease_token = NULL, updated_at = 500 WHERE leaf_index = 2;
         UPDATE lease_sequence SET last = 1;
         {}
         {}
         {}
         INSERT INTO schema_version VALUES (1, 'the schema of SQLite''s version 9', 0),
             (2, 'SQLite''s version 10, bookkeeping triggers per statement', 0),
             (3, 'send requests leased to one dispatcher', 0),
             (4, 'send requests put off with a backoff', 0),
             (5, 'lane counts and status events written by the statements, not by triggers',
              0);",
        hex::encode(sub.0.0),
        serde_json::to_string(&handle(1)).unwrap(),
        include_str!("../../src/store/postgres/migrations/0003_send_leases.sql"),
        include_str!("../../src/store/postgres/migrations/0004_send_retries.sql"),
        include_str!("../../src/store/postgres/migrations/0005_statement_bookkeeping.sql"),
    ));
    let events_before = sql(
        "SELECT seq || ' ' || encode(message_id, 'hex') || ' ' || status || ' '
                || coalesce(reason, '-') || ' ' || at
         FROM message_event ORDER BY seq",
    );
    assert_eq!(events_before.lines().count(), 6 + 4 + 3);
    let states_before = sql("SELECT leaf_index, state FROM delivery ORDER BY leaf_index");
    let counts =
        || sql("SELECT origin, destination, state, n FROM lane_count WHERE n > 0 ORDER BY 1, 2, 3");
    let counts_before = counts();

    let s = open(&url, LeaseClock::Caller);
    assert_eq!(s.schema_version().unwrap(), PG_SCHEMA_VERSION);
    assert_eq!(
        sql("SELECT leaf_index || ':' || lane_pos FROM delivery ORDER BY leaf_index"),
        "0:0\n1:0\n2:1\n3:1\n4:2\n5:2",
        "each lane's messages numbered in log order"
    );
    // Every event under its number, through the store's readers.
    let events_after: Vec<String> = s
        .events_after(0, 100)
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {}",
                e.seq,
                hex::encode(e.id.0.0),
                e.status.as_str(),
                e.reason.as_deref().unwrap_or("-"),
                e.at.0
            )
        })
        .collect();
    assert_eq!(events_after.join("\n"), events_before);
    for (i, m) in msgs.iter().enumerate() {
        let history: Vec<String> = s
            .message_history(m.id())
            .unwrap()
            .iter()
            .map(|e| format!("{} {}", e.seq, hex::encode(e.id.0.0)))
            .collect();
        let expected: Vec<String> = events_before
            .lines()
            .filter(|l| l.contains(&hex_id(i)))
            .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(history, expected, "message {i}'s history");
    }
    // Each state as it was, and the counts.
    let states: Vec<String> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let state = s.message(m.id()).unwrap().unwrap().delivery.state.kind();
            format!("{i}|{}", state.as_str())
        })
        .collect();
    assert_eq!(states.join("\n"), states_before);
    assert_eq!(counts(), counts_before);
    let stats = s.lane_stats().unwrap();
    let oldest: Vec<_> = stats
        .iter()
        .map(|l| (l.lane.destination.0, l.oldest_pending_since))
        .collect();
    // Lane 2: 4 (pending, accepted at 104); lane 3: 1 (submitted, 101) before 3 and 5.
    assert_eq!(oldest, [(2, Some(t(104))), (3, Some(t(101)))]);

    // This build carries on: lane 2's pending message leased, submitted and confirmed as one
    // run; two new messages of lane 3 take its next positions.
    let leased = lease_at(&s, &owner("b"), Duration::from_secs(60), t(1_000));
    let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
    assert_eq!(ids, [msgs[4].id()]);
    s.mark_submitted(&Submission {
        ids: &ids,
        owner: &owner("b"),
        lease: leased[0].lease,
        handle: &handle(2),
        signed: None,
        replaces: None,
        now: t(1_001),
    })
    .unwrap();
    s.confirm(&causeway_relayer::store::Confirmation {
        ids: &ids,
        block: 12,
        now: t(1_002),
    })
    .unwrap();
    assert_eq!(
        sql("SELECT state, size, members FROM delivery_run"),
        "confirmed|1|1",
        "submitted and confirmed as a run"
    );
    let history: Vec<String> = s
        .message_history(msgs[4].id())
        .unwrap()
        .iter()
        .map(|e| format!("{} {:?}", e.seq, e.status))
        .collect();
    let old_last = 13;
    assert_eq!(
        history[1..],
        [
            format!("{} Leased", old_last + 1),
            format!("{} Submitted", old_last + 2),
            format!("{} Confirmed", old_last + 3)
        ]
    );
    let more: Vec<_> = (6..8).map(|i| message(ORIGIN, i, other, 0)).collect();
    s.accept_events(&causeway_relayer::store::AcceptBatch {
        origin: ORIGIN,
        events: &more.iter().map(|m| event(m.clone(), 2)).collect::<Vec<_>>(),
        cursor: causeway_relayer::store::SourceCursor {
            block_number: 2,
            block_hash: causeway_proofs::Hash32([2; 32]),
        },
        now: t(2_000),
    })
    .unwrap();
    assert_eq!(
        sql(
            "SELECT leaf_index || ':' || lane_pos FROM delivery WHERE leaf_index >= 6
             ORDER BY leaf_index"
        ),
        "6:3\n7:4"
    );
    assert_eq!(s.last_event_seq().unwrap(), old_last + 3 + 2);
    let stats = s.lane_stats().unwrap();
    assert_eq!(
        (
            stats[0].counts.confirmed,
            stats[0].counts.pending,
            stats[1].counts.pending
        ),
        (2, 0, 3)
    );
}

/// A batch leased, submitted and confirmed as a whole is one delivery run: its submission and
/// confirmation rewrite no message's row (each row keeps the version the lease wrote), and
/// each transition of the batch is one status event row, whose messages still read their own
/// numbered events in log order. A message that leaves the run (a failure reported for it)
/// moves alone, and the rest of the batch goes on as a run of one message fewer.
#[test]
fn a_batch_moves_as_one_run_row_and_one_event_row_per_transition() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let sql = |q: &str| node.psql(&db, q).unwrap();
    let s = open(&url, LeaseClock::Caller);
    let msgs = accept_new(&s, 0, 128, 1, 100);
    let leased = s
        .lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &owner("a"),
            limit: 128,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(128),
            policy: RetryPolicy::default(),
            now: t(200),
            rota: None,
        })
        .unwrap();
    assert_eq!(leased.len(), 128);
    let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
    let versions = || sql("SELECT count(*) || ' ' || count(DISTINCT xmin::text) FROM delivery");
    let leased_versions = sql("SELECT DISTINCT xmin::text FROM delivery");
    assert_eq!(versions(), "128 1", "one statement leased every row");
    s.mark_submitted(&Submission {
        ids: &ids,
        owner: &owner("a"),
        lease: leased[0].lease,
        handle: &handle(1),
        signed: Some(b"signed"),
        replaces: None,
        now: t(300),
    })
    .unwrap();
    s.confirm(&causeway_relayer::store::Confirmation {
        ids: &ids,
        block: 9,
        now: t(400),
    })
    .unwrap();
    assert_eq!(
        sql("SELECT DISTINCT xmin::text FROM delivery"),
        leased_versions,
        "no message's row rewritten by the submission or the confirmation"
    );
    assert_eq!(
        sql("SELECT state, size, members FROM delivery_run"),
        "confirmed|128|128"
    );
    assert_eq!(
        sql("SELECT seq || ' ' || n || ' ' || status FROM message_event ORDER BY seq"),
        "128 128 logged\n256 128 leased\n384 128 submitted\n512 128 confirmed"
    );
    assert_eq!(
        s.signed_submission(SubmissionId::of(&handle(1))).unwrap(),
        None
    );
    let record = s.message(msgs[5].id()).unwrap().unwrap();
    assert!(
        matches!(
            record.delivery.state,
            DeliveryState::Confirmed { block: 9, .. }
        ),
        "{:?}",
        record.delivery.state
    );
    let history: Vec<String> = s
        .message_history(msgs[5].id())
        .unwrap()
        .iter()
        .map(|e| format!("{} {:?}", e.seq, e.status))
        .collect();
    assert_eq!(
        history,
        ["6 Logged", "134 Leased", "262 Submitted", "390 Confirmed"]
    );
    let confirmed: Vec<_> = s
        .events_after(384, 200)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.id))
        .collect();
    let in_log_order: Vec<_> = (385..).zip(msgs.iter().map(|m| m.id())).collect();
    assert_eq!(confirmed, in_log_order);

    // The next batch: one message fails while leased (it leaves the run, alone); the other
    // 127 are submitted and confirmed by the per-message statements, as exactly as before.
    let more = accept_new(&s, 128, 128, 2, 500);
    let leased = s
        .lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &owner("a"),
            limit: 10,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(256),
            policy: RetryPolicy::default(),
            now: t(600),
            rota: None,
        })
        .unwrap();
    assert_eq!(leased.len(), 10);
    let lease = leased[0].lease;
    let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
    s.record_failure(&FailureReport {
        id: ids[3],
        attempt: Attempt::Leased {
            owner: &owner("a"),
            lease,
        },
        reason: "reverted",
        policy: RetryPolicy::default(),
        jitter: 0,
        now: t(700),
    })
    .unwrap();
    let rest: Vec<_> = ids.iter().copied().filter(|&id| id != ids[3]).collect();
    s.mark_submitted(&Submission {
        ids: &rest,
        owner: &owner("a"),
        lease,
        handle: &handle(2),
        signed: None,
        replaces: None,
        now: t(800),
    })
    .unwrap();
    s.confirm(&causeway_relayer::store::Confirmation {
        ids: &rest,
        block: 10,
        now: t(900),
    })
    .unwrap();
    assert_eq!(
        sql("SELECT state, size, members FROM delivery_run ORDER BY id"),
        "confirmed|128|128\nleased|10|0",
        "the second run's messages left it"
    );
    let stats = &s.lane_stats().unwrap()[0];
    assert_eq!(
        (
            stats.counts.pending,
            stats.counts.leased,
            stats.counts.confirmed
        ),
        (128 - 10 + 1, 0, 128 + 9)
    );
    assert_eq!(stats.oldest_pending_since, Some(t(500)));
    let statuses = |id| {
        s.message_history(id)
            .unwrap()
            .iter()
            .map(|e| format!("{:?}", e.status))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(statuses(more[3].id()), "Logged Leased Failed");
    assert_eq!(statuses(more[4].id()), "Logged Leased Submitted Confirmed");
}

/// In a new database (no statistics yet), ending a lane's expired leases reads the lane's
/// leased rows through `delivery_work` (its state in the key), not the lane-position index
/// (same `origin, destination` prefix, smaller): through that one it read every row of the
/// lane at every lease. The lane-position index serves the statements that name positions.
#[test]
fn a_lanes_rows_by_state_are_not_read_through_the_lane_position_index() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let _store = open(&url, LeaseClock::Caller);
    let plan = |q: &str| node.psql(&db, &format!("EXPLAIN {q}")).unwrap();
    let expire = plan(
        "UPDATE delivery SET state = 'pending', lease_owner = NULL, lease_until = NULL
         WHERE origin = 1 AND destination = 2 AND state = 'leased' AND lease_until <= 5",
    );
    assert!(
        expire.contains("delivery_work") && !expire.contains("delivery_by_lane_pos"),
        "{expire}"
    );
    let positions = plan(
        "SELECT message_id FROM delivery
         WHERE origin = 1 AND destination = 2 AND lane_pos BETWEEN 3 AND 9 AND lane_pos >= 0",
    );
    assert!(positions.contains("delivery_by_lane_pos"), "{positions}");
}

/// Leases up to `limit` of the lane's pending messages for `lease_for` at `now` (at most 3
/// attempts each).
fn lease_n(
    s: &dyn causeway_relayer::store::Store,
    limit: usize,
    lease_for: Duration,
    now: UnixMillis,
) -> Vec<LeasedMessage> {
    s.lease_pending(&LeaseRequest {
        lane: LANE,
        owner: &owner("a"),
        limit,
        lease_for,
        covered_by: LogSize(10_000),
        policy: policy(3),
        now,
        rota: None,
    })
    .unwrap()
}

/// Submits and confirms `leased` as one batch (owner "a", submission `n`) at `at`, `at + 1`.
fn submit_and_confirm(s: &dyn causeway_relayer::store::Store, leased: &[LeasedMessage], n: u64) {
    let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
    let at = 1_000 * n;
    s.mark_submitted(&Submission {
        ids: &ids,
        owner: &owner("a"),
        lease: leased[0].lease,
        handle: &handle(n),
        signed: Some(b"signed"),
        replaces: None,
        now: t(at),
    })
    .unwrap();
    s.confirm(&causeway_relayer::store::Confirmation {
        ids: &ids,
        block: n,
        now: t(at + 1),
    })
    .unwrap();
}

/// 1,100 messages leased, submitted and confirmed as one run; then ten more, of which the
/// fifth is dead-lettered while the others' lease runs out, so that leased again the nine are
/// one run with a gap in its span; then one message's outcome alone, in a run of one and in a
/// run of two. Every message.
fn runs_scenario(s: &dyn causeway_relayer::store::Store) -> Vec<causeway_proofs::Message> {
    let mut msgs = accept_new(s, 0, 1_100, 1, 100);
    let leased = lease_n(s, 2_000, Duration::from_secs(60), t(200));
    assert_eq!(leased.len(), 1_100);
    submit_and_confirm(s, &leased, 1);
    msgs.extend(accept_new(s, 1_100, 10, 2, 2_000));
    let leased = lease_n(s, 10, Duration::from_millis(50), t(2_100));
    let failed = msgs[1_104].id();
    let dead = s
        .record_failure(&FailureReport {
            id: failed,
            attempt: Attempt::Leased {
                owner: &owner("a"),
                lease: leased[0].lease,
            },
            reason: "reverted",
            policy: policy(1),
            jitter: 0,
            now: t(2_101),
        })
        .unwrap();
    assert!(matches!(
        dead,
        causeway_relayer::store::FailureOutcome::DeadLetter { .. }
    ));
    let again = lease_n(s, 10, Duration::from_secs(60), t(2_200));
    assert_eq!(again.len(), 9, "the other nine, their lease expired");
    assert!(again.iter().all(|m| m.message.id() != failed));
    submit_and_confirm(s, &again, 3);
    // One outcome: a run of one, and one message of a run of two.
    msgs.extend(accept_new(s, 1_110, 3, 3, 4_000));
    for (limit, n) in [(1, 5), (2, 6)] {
        let leased = lease_n(s, limit, Duration::from_secs(60), t(1_000 * n - 10));
        s.confirm(&causeway_relayer::store::Confirmation {
            ids: &[leased[0].message.id()],
            block: n,
            now: t(1_000 * n),
        })
        .unwrap();
    }
    msgs
}

/// A run's submission and confirmation are counted and logged from the run's row (no row per
/// message): a run longer than one event row holds (1,024) is logged in two rows numbered in
/// log order, a run with a gap in its span through its messages' positions, and one message's
/// outcome (in a run of one, or of two) in one transaction. Every message's history, the
/// events and the counts are what SQLite's statements give for the same calls.
#[test]
fn runs_are_counted_and_logged_from_their_rows_as_sqlite_logs_each_message() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let sql = |q: &str| node.psql(&db, q).unwrap();
    let pg = open(&url, LeaseClock::Caller);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = causeway_relayer::store::SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
    let msgs = runs_scenario(&pg);
    assert_eq!(runs_scenario(&sqlite), msgs);

    assert_eq!(
        sql("SELECT state || ' ' || size || ' ' || members FROM delivery_run ORDER BY id"),
        "confirmed 1100 1100\nleased 10 0\nconfirmed 9 9\nconfirmed 1 1\nleased 2 1",
        "the big run and the one with a gap submitted and confirmed as runs; the run of one \
         confirmed as a run, one message of the run of two alone"
    );
    assert_eq!(
        sql(
            "SELECT seq || ' ' || n || ' ' || first_pos || ' ' || status FROM message_event
             WHERE status IN ('submitted', 'confirmed') ORDER BY seq"
        ),
        "3224 1024 0 submitted\n3300 76 1024 submitted\n\
         4324 1024 0 confirmed\n4400 76 1024 confirmed\n\
         4443 4 1100 submitted\n4448 5 1105 submitted\n\
         4452 4 1100 confirmed\n4457 5 1105 confirmed\n\
         4462 1 1110 confirmed\n4465 1 1111 confirmed",
        "two rows for the run of 1,100; two islands for the run with a gap"
    );
    let history = |s: &dyn causeway_relayer::store::Store, i: usize| -> Vec<String> {
        s.message_history(msgs[i].id())
            .unwrap()
            .iter()
            .map(|e| format!("{:?} {:?} {}", e.status, e.reason, e.at.0))
            .collect()
    };
    for i in 0..msgs.len() {
        assert_eq!(
            history(&pg, i),
            history(&sqlite, i),
            "message {i}'s history"
        );
    }
    let numbered = |i: usize| -> Vec<u64> {
        pg.message_history(msgs[i].id())
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect()
    };
    assert_eq!(numbered(1_050), [1_051, 2_151, 3_251, 4_351]);
    let events = |s: &dyn causeway_relayer::store::Store| {
        let mut e: Vec<String> = s
            .events_after(0, 10_000)
            .unwrap()
            .iter()
            .map(|e| format!("{:?} {:?} {:?} {}", e.id, e.status, e.reason, e.at.0))
            .collect();
        e.sort();
        e
    };
    assert_eq!(events(&pg), events(&sqlite));
    assert_eq!(
        pg.last_event_seq().unwrap(),
        sqlite.last_event_seq().unwrap()
    );
    assert_eq!(
        format!("{:?}", pg.lane_stats().unwrap()),
        format!("{:?}", sqlite.lane_stats().unwrap())
    );
}

/// A batch's signed transaction (tens of KiB) is stored compressed with LZ4, not pglz (several
/// times cheaper in the server's CPU), and reads back as it was.
#[test]
fn a_large_signed_submission_is_stored_with_lz4_and_reads_back() {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    let s = open(&url, LeaseClock::Caller);
    accept_new(&s, 0, 2, 1, 100);
    let leased = lease_at(&s, &owner("a"), Duration::from_secs(60), t(200));
    let signed: Vec<u8> = (0..48 * 1024u32).map(|i| (i % 251) as u8).collect();
    s.mark_submitted(&Submission {
        ids: &leased.iter().map(|m| m.message.id()).collect::<Vec<_>>(),
        owner: &owner("a"),
        lease: leased[0].lease,
        handle: &handle(1),
        signed: Some(&signed),
        replaces: None,
        now: t(300),
    })
    .unwrap();
    assert_eq!(
        node.psql(
            &db,
            "SELECT pg_column_compression(signed) || ' ' || octet_length(signed)
             FROM signed_submission"
        )
        .unwrap(),
        "lz4 49152"
    );
    assert_eq!(
        s.signed_submission(SubmissionId::of(&handle(1))).unwrap(),
        Some(signed)
    );
}
