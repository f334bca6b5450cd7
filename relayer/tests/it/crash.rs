//! A real crash test: a child process (this test binary, re-run in "child" mode) accepts batches
//! in a loop and is killed with SIGKILL at random moments; the parent reopens the file each time
//! and checks that it is intact, that every acknowledged batch survived, and that no batch is
//! partially there.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use causeway_proofs::{LeafIndex, LogSize};
use causeway_relayer::store::{
    AcceptBatch, Confirmation, DeliveryStore, LeaseRequest, QueryStore, SourceStore, SqliteStore,
    UnixMillis,
};

use crate::support::*;

/// Set in the child's environment to the database path: the test then runs the writer loop.
const CHILD_ENV: &str = "CAUSEWAY_STORE_CRASH_CHILD";
const ACK: &str = "ACK ";
const ROUNDS: usize = 10;

/// How many events the batch of block `b` carries (1..=8, a fixed function of `b`, so the log
/// size at any cursor is known: a partial batch would show).
fn batch_len(block: u64) -> u64 {
    1 + (block * 7 + 3) % 8
}

fn expected_log_size(cursor_block: u64) -> u64 {
    (0..=cursor_block).map(batch_len).sum()
}

/// The child: resume from the stored cursor and accept one block's batch after another, leasing
/// and confirming some deliveries in between; print `ACK <block>` after each batch returns.
fn child(path: &Path) -> ! {
    let store = SqliteStore::open(path).expect("child opens the store");
    let me = owner("crash-child");
    let mut out = std::io::stdout().lock();
    loop {
        let block = store
            .cursor(ORIGIN)
            .unwrap()
            .map_or(0, |c| c.block_number + 1);
        let start = store.log_size(ORIGIN).unwrap().0;
        let events: Vec<_> = (start..start + batch_len(block))
            .map(|nonce| event(message(ORIGIN, nonce, DEST, 0), block))
            .collect();
        let now = UnixMillis(block * 10);
        store
            .accept_events(&AcceptBatch {
                origin: ORIGIN,
                events: &events,
                cursor: cursor(block),
                now,
            })
            .unwrap();
        std::io::Write::write_all(&mut out, format!("{ACK}{block}\n").as_bytes()).unwrap();
        std::io::Write::flush(&mut out).unwrap();
        let leased = store
            .lease_pending(&LeaseRequest {
                lane: LANE,
                owner: &me,
                limit: 3,
                lease_for: Duration::from_secs(3_600),
                covered_by: LogSize(u64::MAX),
                policy: causeway_relayer::store::RetryPolicy::default(),
                now,
                rota: None,
            })
            .unwrap();
        let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
        store
            .confirm(&Confirmation {
                ids: &ids,
                block,
                now,
            })
            .unwrap();
    }
}

/// A small xorshift generator: random delays without another dependency; the seed is printed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Reopens the file and checks everything the crash must not break.
fn verify(path: &Path, acked: Option<u64>) -> u64 {
    let store = SqliteStore::open(path).unwrap();
    store.integrity_check().unwrap();
    let Some(c) = store.cursor(ORIGIN).unwrap() else {
        assert_eq!(acked, None, "an acknowledged batch was lost");
        assert_eq!(store.log_size(ORIGIN).unwrap(), LogSize(0));
        return 0;
    };
    assert_eq!(c, cursor(c.block_number));
    if let Some(acked) = acked {
        assert!(
            c.block_number >= acked,
            "acknowledged block {acked} lost (cursor at {})",
            c.block_number
        );
    }
    let size = store.log_size(ORIGIN).unwrap().0;
    assert_eq!(
        size,
        expected_log_size(c.block_number),
        "log size does not match whole batches up to block {}",
        c.block_number
    );
    // Contiguous, in order, each leaf the message the child built for that nonce.
    let mut from = 0;
    while from < size {
        let page = store.leaves(ORIGIN, LeafIndex(from), 5_000).unwrap();
        assert!(!page.is_empty(), "gap in the log at {from}");
        for (i, id) in page.iter().enumerate() {
            let nonce = from + i as u64;
            assert_eq!(*id, message(ORIGIN, nonce, DEST, 0).id(), "leaf {nonce}");
        }
        from += page.len() as u64;
    }
    // Every message has its delivery, and the per-lane counters agree with the rows.
    let stats = store.lane_stats().unwrap();
    assert_eq!(stats.len(), 1);
    let counts = stats[0].counts;
    assert_eq!(
        counts.pending + counts.leased + counts.submitted + counts.confirmed + counts.dead_letter,
        size
    );
    // Each message's state as the rows say it (`delivery_now`: a message in a run is in its
    // run's state).
    let raw = rusqlite::Connection::open(path).unwrap();
    let by_state: Vec<(String, i64)> = raw
        .prepare("SELECT state, count(*) FROM delivery_now GROUP BY state ORDER BY state")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (state, n) in by_state {
        let kind = causeway_relayer::store::DeliveryStateKind::parse(&state).unwrap();
        assert_eq!(counts.get(kind), n as u64, "counter for {state}");
    }
    size
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_batch() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&path));
    }
    let backend = SqliteBackend::new();
    let exe = std::env::current_exe().unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = XorShift(seed);
    let started = Instant::now();
    let mut acked_ever: Option<u64> = None;
    let mut sizes = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::sigkill_at_random_moments_loses_no_acknowledged_batch",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &backend.path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(block) = line.strip_prefix(ACK) {
                    let _ = tx.send(block.parse::<u64>().unwrap());
                }
            }
        });
        // Let it get going, then kill it a random moment later, mid-write most of the time.
        let first = rx.recv_timeout(Duration::from_secs(10));
        if first.is_err() {
            let _ = child.kill();
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("round {round}: the child acknowledged nothing; stderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(rng.next() % 120));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(9),
                "round {round}: child ended by {status:?}"
            );
        }
        reader.join().unwrap();
        let acked = std::iter::once(first.ok())
            .chain(rx.try_iter().map(Some))
            .flatten()
            .max();
        acked_ever = acked_ever.max(acked);
        sizes.push(verify(&backend.path, acked_ever));
        eprintln!(
            "round {round}: acked {acked:?}, log size {:?}",
            sizes.last()
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "crash rounds took too long"
        );
    }
    assert!(
        sizes.windows(2).all(|w| w[0] <= w[1]),
        "the log never shrinks: {sizes:?}"
    );
    assert!(sizes[ROUNDS - 1] > 0);
}
