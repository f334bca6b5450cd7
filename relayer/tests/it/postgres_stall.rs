//! A replica that stops in the middle of its store calls (SIGSTOP, swapped out, a debugger)
//! must not stall the replicas beside it for longer than the server takes to end one stalled
//! transaction (`PgOptions::stalled_transaction`).
//!
//! The stopped replica is a [`PgStore`] behind a [`Relay`] that stops passing the server's
//! replies on: from the server's side exactly what a stopped process looks like (its requests
//! arrived; its kernel accepts the replies; nobody reads them).

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use causeway_relayer::Error;
use causeway_relayer::store::{
    Confirmation, DeliveryStore, Lane, LeaseClock, LeaseOwner, LeaseRequest, PgOptions, PgStore,
    Renewal, RetryPolicy, SubmissionId,
};

use crate::support::*;

/// The lane replica b looks at (no message on it).
const B_LANE: Lane = Lane {
    origin: ORIGIN,
    destination: causeway_proofs::Domain(3),
};

/// A TCP relay in front of PostgreSQL that can freeze: while frozen it forwards what clients
/// send but holds back every reply of the server.
struct Relay {
    port: u16,
    frozen: Arc<AtomicBool>,
}

impl Relay {
    fn start(server_port: u16) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let gate = Arc::clone(&frozen);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let server = TcpStream::connect(("127.0.0.1", server_port)).unwrap();
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(Shutdown::Write);
                });
                let (mut s_in, mut c_out, gate) = (server, client, Arc::clone(&gate));
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    loop {
                        let n = match s_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        while gate.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        if c_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_out.shutdown(Shutdown::Write);
                });
            }
        });
        Relay { port, frozen }
    }

    fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }
}

/// Leases at most one message of `lane` for `who` (a write transaction).
fn lease(s: &PgStore, who: &LeaseOwner, lane: Lane) -> causeway_relayer::store::Result<usize> {
    s.lease_pending(&LeaseRequest {
        lane,
        owner: who,
        limit: 1,
        lease_for: Duration::from_secs(60),
        covered_by: causeway_proofs::LogSize(1_000),
        policy: RetryPolicy::default(),
        now: t(1_000),
        rota: None,
    })
    .map(|leased| leased.len())
}

/// A new database on the shared cluster: the cluster, its URL and its name.
fn fresh_database() -> (
    &'static causeway_devnet::postgres::PostgresNode,
    String,
    String,
) {
    let node = shared_postgres();
    let url = new_database(node);
    let db = url.rsplit('/').next().unwrap().to_owned();
    (node, url, db)
}

/// The stores' options of these tests: leases on the database's clock.
fn database_clock() -> PgOptions {
    PgOptions {
        clock: LeaseClock::Database,
        ..PgOptions::default()
    }
}

/// The URL of a replica's sessions through `relay` (to the server at `server_port`), named
/// `name` in `pg_stat_activity`.
fn through_relay(url: &str, server_port: u16, relay: &Relay, name: &str) -> String {
    format!(
        "{url}?application_name={name}",
        url = url.replace(&format!(":{server_port}/"), &format!(":{}/", relay.port))
    )
}

/// A handle of replica b of one connection at `b_url`, opened (and its session used once, on a
/// lane with nothing to lease) now: nothing gets through the relay's handshake once it is
/// frozen.
fn open_b(b_url: &str, options: PgOptions) -> PgStore {
    let b = PgStore::open_with(
        b_url,
        None,
        PgOptions {
            max_connections: 1,
            ..options
        },
    )
    .unwrap();
    assert_eq!(lease(&b, &owner("org1/b"), B_LANE).unwrap(), 0);
    b
}

/// Renews the follow lease of a submission nobody made, for `who` (a write transaction whose
/// statement needs the database's clock first: two round trips, so a replica that stops
/// reading replies holds the write lock in between).
fn renew(s: &PgStore, who: &LeaseOwner) -> causeway_relayer::store::Result<usize> {
    s.renew_submitted(&Renewal {
        owner: who,
        submission: SubmissionId(causeway_proofs::Hash32([0x5b; 32])),
        until: t(61_000),
        now: t(1_000),
    })
}

/// `SELECT` in `node`'s database `db`, one value.
fn count(db: &str, sql: &str) -> u32 {
    shared_postgres()
        .psql(db, sql)
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Waits until `sql` counts at least one row, at most 2 s (then fails: `what` was not
/// committed while the replica that sent it was frozen).
fn committed_within_2s(db: &str, sql: &str, what: &str) {
    let sent = Instant::now();
    while count(db, sql) < 1 {
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "the frozen replica's {what} was not committed without it"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_frozen_replica_stalls_the_others_writes_for_one_stalled_transaction_at_most() {
    let (node, url, db) = fresh_database();
    let options = database_clock();
    let a = PgStore::open_with(&url, None, options).unwrap();
    accept_new(&a, 0, 2, 1, 1_000);

    // Replica b: four sessions through the relay (a handle of one connection each, opened
    // now: nothing gets through the relay's handshake once it is frozen).
    let relay = Relay::start(node.port());
    let b_url = through_relay(&url, node.port(), &relay, "frozen");
    let b: Vec<Arc<PgStore>> = (0..4).map(|_| Arc::new(open_b(&b_url, options))).collect();

    // b stops while each of its sessions begins a write (on a lane of its own, so that a finds
    // its message): one holds the write lock inside a transaction whose reply it never reads,
    // the others wait for the lock behind it. (Not a lease: a lease's statements and commit
    // are sent together, so its transaction ends on the server whether or not b reads on.)
    relay.freeze();
    let barrier = Arc::new(std::sync::Barrier::new(b.len()));
    let writers: Vec<_> = b
        .iter()
        .map(|b| {
            let (b, barrier) = (Arc::clone(b), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let _ = renew(&b, &owner("org1/b"));
            })
        })
        .collect();
    let queued = Instant::now();
    while count(
        &db,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'frozen' \
         AND wait_event_type = 'Lock'",
    ) < 3
    {
        assert!(
            queued.elapsed() < Duration::from_secs(2),
            "b's sessions never queued for the write lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    // a writes, retrying while the store is busy: it gets through once the server ended b's
    // stalled transaction, not once per session b had queued.
    let stalled = options.stalled_transaction;
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = Instant::now();
        let out = loop {
            match lease(&a, &owner("org1/a"), LANE) {
                Err(Error::Busy { .. }) => continue,
                other => break other,
            }
        };
        let _ = done_tx.send((started.elapsed(), out));
    });
    let bound = stalled + Duration::from_secs(2);
    let outcome = done.recv_timeout(Duration::from_secs(40));
    relay.thaw();
    let (took, leased) = outcome.unwrap_or_else(|_| panic!("a's write did not finish in 40 s"));
    eprintln!(
        "a's write behind the frozen replica took {took:?} (stalled transaction {stalled:?})"
    );
    assert_eq!(leased.unwrap(), 1);
    assert!(
        took <= bound,
        "a's write waited {took:?} behind the frozen replica (bound {bound:?}): its sessions \
         held the write lock one after the other"
    );

    // Thawed, b finds its sessions ended and works again on new ones.
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(lease(&b[0], &owner("org1/b"), LANE).unwrap(), 1);
}

/// A lease, and a confirmation, is sent whole (its statements and its commit in one write): a
/// replica that stops before reading the reply has leased (confirmed) all the same, and holds
/// no lock while it sleeps.
#[test]
fn a_frozen_replicas_lease_and_confirmation_commit_without_it_and_hold_no_lock() {
    let (node, url, db) = fresh_database();
    let options = database_clock();
    let a = PgStore::open_with(&url, None, options).unwrap();
    let msgs = accept_new(&a, 0, 2, 1, 1_000);
    let relay = Relay::start(node.port());
    let b = open_b(&through_relay(&url, node.port(), &relay, "frozen"), options);

    relay.freeze();
    let b = Arc::new(b);
    let frozen = {
        let b = Arc::clone(&b);
        std::thread::spawn(move || lease(&b, &owner("org1/b"), LANE))
    };
    committed_within_2s(
        &db,
        "SELECT count(*) FROM delivery_now WHERE state = 'leased' AND lease_owner = 'org1/b'",
        "lease",
    );
    // The write lock is free: a leases the other message at once, never busy.
    let started = Instant::now();
    assert_eq!(lease(&a, &owner("org1/a"), LANE).unwrap(), 1);
    assert!(
        started.elapsed() < options.stalled_transaction / 2,
        "a waited {:?} for the write lock behind a frozen replica's lease",
        started.elapsed()
    );
    relay.thaw();
    assert_eq!(
        frozen.join().unwrap().unwrap(),
        1,
        "b's lease, read once thawed"
    );

    // b leased the first message (a the second, after it): b confirms it, frozen again (its
    // connection has the statement prepared, as after its first confirmation: preparing is a
    // round trip of its own).
    b.confirm(&Confirmation {
        ids: &[],
        block: 2,
        now: t(2_000),
    })
    .unwrap();
    relay.freeze();
    let frozen = {
        let (b, id) = (Arc::clone(&b), msgs[0].id());
        std::thread::spawn(move || {
            b.confirm(&Confirmation {
                ids: &[id],
                block: 2,
                now: t(2_000),
            })
        })
    };
    committed_within_2s(
        &db,
        "SELECT count(*) FROM delivery_now WHERE state = 'confirmed'",
        "confirmation",
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM delivery_now WHERE state = 'leased' AND lease_owner = 'org1/a'"
        ),
        1,
        "a's lease is untouched"
    );
    let started = Instant::now();
    assert_eq!(lease(&a, &owner("org1/a"), LANE).unwrap(), 0);
    assert!(started.elapsed() < options.stalled_transaction / 2);
    relay.thaw();
    frozen.join().unwrap().unwrap();
}

/// A replica that stops reading in the middle of a large reply (frozen, or cut off) leaves its
/// session blocked on sending it, inside the transaction, holding the write lock: not idle,
/// so `stalled_transaction` does not end it. The server ends it once the replica has not taken
/// what it sent for `dead_peer` (the session's `tcp_user_timeout`, which covers a receive window
/// that stays shut), and the other replica's write goes through within that bound.
#[test]
fn a_replica_that_stops_reading_a_large_reply_loses_its_session_within_the_dead_peer_bound() {
    let (node, url, db) = fresh_database();
    let options = PgOptions {
        dead_peer: Duration::from_secs(2),
        ..database_clock()
    };
    let a = PgStore::open_with(&url, None, options).unwrap();
    // 400 messages of 60 KB: a lease of all of them answers with 24 MB, more than the
    // sockets between the server and the frozen replica hold.
    let events: Vec<_> = (0..400u64)
        .map(|i| {
            let m = causeway_proofs::Message::new(
                causeway_proofs::Nonce(i),
                ORIGIN,
                causeway_proofs::Address32([0x11; 32]),
                LANE.destination,
                causeway_proofs::Address32([0x22; 32]),
                vec![i as u8; 60_000],
            )
            .unwrap();
            event(m, 1)
        })
        .collect();
    accept(&a, ORIGIN, &events, 1, 1_000).unwrap();

    let relay = Relay::start(node.port());
    let b = open_b(
        &through_relay(&url, node.port(), &relay, "stopped_reading"),
        options,
    );
    relay.freeze();
    let b = Arc::new(b);
    let frozen = {
        let b = Arc::clone(&b);
        std::thread::spawn(move || {
            b.lease_pending(&LeaseRequest {
                lane: LANE,
                owner: &owner("org1/b"),
                limit: 400,
                lease_for: Duration::from_secs(60),
                covered_by: causeway_proofs::LogSize(1_000),
                policy: RetryPolicy::default(),
                now: t(1_000),
                rota: None,
            })
            .map(|l| l.len())
        })
    };
    // b's session is blocked sending the reply (not idle in its transaction).
    let blocked = Instant::now();
    while count(
        &db,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stopped_reading' \
         AND state = 'active' AND wait_event = 'ClientWrite'",
    ) < 1
    {
        assert!(
            blocked.elapsed() < Duration::from_secs(10),
            "b's session never blocked on sending its reply"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // a writes, retrying while busy: through once the server ended b's session.
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = Instant::now();
        let out = loop {
            match renew(&a, &owner("org1/a")) {
                Err(Error::Busy { .. }) => continue,
                other => break other,
            }
        };
        let _ = done_tx.send((started.elapsed(), out));
    });
    let outcome = done.recv_timeout(Duration::from_secs(40));
    relay.thaw();
    let (took, renewed) = outcome.unwrap_or_else(|_| panic!("a's write did not finish in 40 s"));
    eprintln!("a's write behind a replica that stopped reading took {took:?}");
    renewed.unwrap();
    let bound = options.dead_peer + Duration::from_secs(8);
    assert!(
        took <= bound,
        "a's write waited {took:?} behind a session blocked on a replica that stopped reading \
         (bound {bound:?})"
    );
    // b's lease was rolled back with its session: nothing is leased to it.
    assert!(frozen.join().unwrap().is_err(), "b's session was ended");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM delivery_now WHERE state = 'leased' AND lease_owner = 'org1/b'"
        ),
        0
    );
}
