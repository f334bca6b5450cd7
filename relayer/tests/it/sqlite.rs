//! What only the SQLite backend has: its file settings, schema rules enforced by the database
//! itself, migrations, lock contention, and crashes before commit.

use std::sync::Arc;
use std::time::Duration;

use causeway_proofs::{LeafIndex, LogSize};
use causeway_relayer::Error;
use causeway_relayer::store::{
    DeliveryState, DeliveryStore, LeaseRequest, QueryStore, SourceStore, SqliteOptions,
    SqliteStore, Store,
};
use rusqlite::Connection;

use crate::support::*;

fn raw(b: &SqliteBackend) -> Connection {
    let c = Connection::open(&b.path).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c
}

#[test]
fn file_is_wal_with_recorded_migrations() {
    let b = SqliteBackend::new();
    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), 16);
    assert_eq!(s.path(), b.path.as_path());
    s.integrity_check().unwrap();
    let c = raw(&b);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let versions: Vec<(i64, String)> = c
        .prepare("SELECT version, name FROM schema_version ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        versions,
        vec![
            (1, "initial".to_owned()),
            (2, "submission handle".to_owned()),
            (3, "family-neutral submission".to_owned()),
            (4, "lease tokens".to_owned()),
            (5, "signed submissions".to_owned()),
            (6, "member signatures and equivocation evidence".to_owned()),
            (7, "message events, API tokens and audit".to_owned()),
            (8, "delivery rows and status events in log order".to_owned()),
            (9, "send requests, envelopes and grants".to_owned()),
            (
                10,
                "leaner delivery transitions; each lane's last delivery kept".to_owned()
            ),
            (11, "status history and lane counts per batch".to_owned()),
            (12, "send requests leased to one dispatcher".to_owned()),
            (13, "send requests put off with a backoff".to_owned()),
            (14, "one delivery row per leased batch".to_owned()),
            (15, "compact native proofs as bytes".to_owned()),
            (
                16,
                "accepted without a delivery row; runs of lane positions".to_owned()
            ),
        ]
    );
    drop(s);
    // Reopening applies nothing twice.
    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), 16);
    let n: i64 = c
        .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 16);
}

/// A file written by the first release (schema 1) is brought to the current schema on open,
/// its rows kept.
#[test]
fn a_file_of_schema_1_is_migrated_in_place() {
    let b = SqliteBackend::new();
    {
        let c = raw(&b);
        c.execute_batch(
            "CREATE TABLE schema_version (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT    NOT NULL,
                 applied_at INTEGER NOT NULL
             ) STRICT;",
        )
        .unwrap();
        c.execute_batch(include_str!(
            "../../src/store/sqlite/migrations/0001_initial.sql"
        ))
        .unwrap();
        c.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (1, 'initial', 0)",
            [],
        )
        .unwrap();
    }
    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), 16);
    s.integrity_check().unwrap();
    let columns = b.columns("delivery");
    assert!(
        columns.iter().any(|c| c == "submission_handle"),
        "{columns:?}"
    );
}

#[test]
fn a_file_from_a_newer_build_is_refused() {
    let b = SqliteBackend::new();
    drop(b.open());
    raw(&b)
        .execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (17, 'future', 0)",
            [],
        )
        .unwrap();
    match SqliteStore::open(&b.path).unwrap_err() {
        Error::SchemaTooNew { found, supported } => assert_eq!((found, supported), (17, 16)),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

/// A newer build migrates the file beside a running gateway (a newer `causeway` started on
/// it): from then on the running gateway's every write is refused with
/// [`Error::SchemaTooNew`], naming the fix, and changes nothing; its reads go on.
#[test]
fn a_running_gateway_refuses_to_write_once_a_newer_build_migrated_the_file() {
    let b = SqliteBackend::new();
    let running = b.open();
    accept_new(&running, 0, 2, 1, 1);
    let found = running.schema_version().unwrap();
    raw(&b)
        .execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, 'future', 0)",
            [found + 1],
        )
        .unwrap();
    let refused = running
        .lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &owner("a"),
            limit: 10,
            lease_for: Duration::from_secs(1),
            covered_by: LogSize(2),
            policy: causeway_relayer::store::RetryPolicy::default(),
            now: t(5),
            rota: None,
        })
        .unwrap_err();
    match &refused {
        Error::SchemaTooNew {
            found: f,
            supported,
        } => {
            assert_eq!((*f, *supported), (found + 1, found));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(
        refused.to_string().contains("upgrade this gateway"),
        "the error names the fix: {refused}"
    );
    assert_eq!(
        running.lane_stats().unwrap()[0].counts.pending,
        2,
        "nothing leased"
    );
    assert_eq!(running.log_size(ORIGIN).unwrap(), LogSize(2), "reads go on");
}

/// `causeway status` reads beside a running gateway: a read-only handle sees what the writer
/// committed, never waits for a write transaction in progress nor makes the writer wait, cannot
/// write, creates no file, and refuses a file at another schema than this build's.
#[test]
fn a_read_only_handle_reads_beside_a_writer_and_never_writes() {
    let b = SqliteBackend::new();
    let writer = b.open();
    accept_new(&writer, 0, 2, 1, 1);
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(200),
    };
    let reader = SqliteStore::open_read_only(&b.path, options).unwrap();
    assert_eq!(reader.log_size(ORIGIN).unwrap(), LogSize(2));

    // A write transaction held open by another connection: the reader reads the last commit
    // at once, and the writer commits while the reader's handle is open.
    let held = raw(&b);
    held.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    assert_eq!(reader.log_size(ORIGIN).unwrap(), LogSize(2));
    assert_eq!(reader.lane_stats().unwrap()[0].counts.pending, 2);
    assert!(started.elapsed() < Duration::from_millis(150));
    held.execute_batch("ROLLBACK").unwrap();
    accept_new(&writer, 2, 1, 2, 2);
    assert_eq!(reader.log_size(ORIGIN).unwrap(), LogSize(3));

    // It cannot write, whatever it is asked.
    assert!(matches!(
        reader.retry_dead_letter(message(ORIGIN, 0, DEST, 0).id(), t(5)),
        Err(Error::Backend { .. })
    ));
    assert_eq!(writer.log_size(ORIGIN).unwrap(), LogSize(3));

    // No file is created for a missing store.
    let missing = b.path.with_file_name("missing.sqlite");
    assert!(SqliteStore::open_read_only(&missing, options).is_err());
    assert!(!missing.exists());

    // Another schema: refused, never migrated.
    raw(&b)
        .execute("DELETE FROM schema_version WHERE version = 16", [])
        .unwrap();
    match SqliteStore::open_read_only(&b.path, options).unwrap_err() {
        Error::SchemaTooOld { found, expected } => assert_eq!((found, expected), (15, 16)),
        other => panic!("expected SchemaTooOld, got {other:?}"),
    }
    raw(&b)
        .execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (17, 'future', 0)",
            [],
        )
        .unwrap();
    match SqliteStore::open_read_only(&b.path, options).unwrap_err() {
        Error::SchemaTooNew { found, supported } => assert_eq!((found, supported), (17, 16)),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn the_schema_itself_keeps_the_log_append_only_and_contiguous() {
    let b = SqliteBackend::new();
    let s = b.open();
    let msgs = accept_new(&s, 0, 3, 1, 0);
    // Accepted messages have no delivery row (schema 16); a transition gives them theirs.
    let ids: Vec<_> = msgs.iter().map(|m| m.id()).collect();
    s.confirm(&causeway_relayer::store::Confirmation {
        ids: &ids,
        block: 7,
        now: t(10),
    })
    .unwrap();
    let c = raw(&b);
    let fails = |sql: &str| {
        let err = c.execute(sql, []).unwrap_err().to_string();
        assert!(
            err.contains("append-only")
                || err.contains("immutable")
                || err.contains("never deleted")
                || err.contains("next index")
                || err.contains("keeps its message"),
            "{sql}: {err}"
        );
    };
    fails("DELETE FROM log_leaf");
    fails("UPDATE log_leaf SET leaf_index = leaf_index + 10");
    fails("DELETE FROM message");
    fails("UPDATE message SET accepted_at = 0");
    fails("DELETE FROM delivery");
    fails("UPDATE delivery SET leaf_index = 9");
    // A gap in the log is refused by the database, whatever code writes it.
    let id = message(ORIGIN, 50, DEST, 0).id();
    // A message at a negative place in its lane or its log is refused.
    for (pos, leaf) in [(-1, 5), (3, -1)] {
        let err = c
            .execute(
                "INSERT INTO message (id, origin, nonce, destination, encoded, source_ref,
                                      accepted_at, lane_pos, leaf_index)
                 VALUES (?1, 1, 50, 2, x'00', '{}', 0, ?2, ?3)",
                rusqlite::params![&id.0.0[..], pos, leaf],
            )
            .unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{err}");
    }
    c.execute(
        "INSERT INTO message (id, origin, nonce, destination, encoded, source_ref, accepted_at,
                              lane_pos, leaf_index)
         VALUES (?1, 1, 50, 2, x'00', '{}', 0, 3, 5)",
        [&id.0.0[..]],
    )
    .unwrap();
    let err = c
        .execute(
            "INSERT INTO log_leaf (origin, leaf_index, message_id) VALUES (1, 5, ?1)",
            [&id.0.0[..]],
        )
        .unwrap_err();
    assert!(err.to_string().contains("next index"), "{err}");
    // A state without its data is refused.
    let err = c
        .execute("UPDATE delivery SET state = 'leased'", [])
        .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
    assert_eq!(
        s.leaves(ORIGIN, LeafIndex(0), 10).unwrap(),
        msgs.iter().map(|m| m.id()).collect::<Vec<_>>()
    );
}

#[test]
fn a_crash_before_commit_leaves_nothing_behind() {
    let b = SqliteBackend::new();
    let first = {
        let s = b.open();
        accept_new(&s, 0, 2, 5, 0)
    };
    // The batch's writes all run, then the "process dies" before COMMIT: the transaction is
    // left open on the connection and the connection is dropped.
    let pending: Vec<_> = (2..6).map(|n| message(ORIGIN, n, DEST, 0)).collect();
    let events: Vec<_> = pending.iter().map(|m| event(m.clone(), 6)).collect();
    {
        let s = b.open();
        s.crash_before_next_commit();
        assert!(matches!(
            accept(&s, ORIGIN, &events, 6, 10),
            Err(Error::InjectedCrash { .. })
        ));
    }
    let s = b.open();
    s.integrity_check().unwrap();
    assert_eq!(
        s.cursor(ORIGIN).unwrap(),
        Some(cursor(5)),
        "cursor not advanced"
    );
    assert_eq!(
        s.log_size(ORIGIN).unwrap(),
        LogSize(2),
        "no leaf of the batch"
    );
    for m in &pending {
        assert!(s.message(m.id()).unwrap().is_none());
    }
    assert_eq!(s.lane_stats().unwrap()[0].counts.pending, 2);
    // The watcher resumes from the stored cursor and re-offers the batch: it lands whole.
    let out = accept(&s, ORIGIN, &events, 6, 20).unwrap();
    assert_eq!(out.appended.len(), 4);
    assert_eq!(out.appended[0].0, LeafIndex(2));
    assert_eq!(s.message(first[0].id()).unwrap().unwrap().accepted_at, t(0));

    // A lease that never committed hands nothing out.
    s.crash_before_next_commit();
    let who = owner("a");
    let req = LeaseRequest {
        lane: LANE,
        owner: &who,
        limit: 10,
        lease_for: Duration::from_secs(60),
        covered_by: LogSize(6),
        policy: policy(12),
        now: t(30),
        rota: None,
    };
    assert!(matches!(
        s.lease_pending(&req),
        Err(Error::InjectedCrash { .. })
    ));
    drop(s);
    let s = b.open();
    assert_eq!(
        s.message(first[0].id()).unwrap().unwrap().delivery.state,
        DeliveryState::Pending
    );
    assert_eq!(s.lease_pending(&req).unwrap().len(), 6);
}

#[test]
fn a_held_write_lock_makes_writes_busy_but_not_reads() {
    let b = SqliteBackend::new();
    drop(b.open());
    let s = SqliteStore::open_with(
        &b.path,
        SqliteOptions {
            busy_timeout: Duration::from_millis(100),
        },
    )
    .unwrap();
    accept_new(&s, 0, 1, 1, 0);
    let c = raw(&b);
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let err = accept(&s, ORIGIN, &[], 2, 1).unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "waited for the timeout"
    );
    // WAL: readers are not blocked by the writer.
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(1)));
    c.execute_batch("ROLLBACK").unwrap();
    accept(&s, ORIGIN, &[], 2, 1).unwrap();
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(2)));
}

#[test]
fn handles_are_shareable_trait_objects() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SqliteStore>();
    let b = SqliteBackend::new();
    let s: Box<dyn Store> = Box::new(b.open());
    let source: &dyn SourceStore = &*s;
    assert_eq!(source.log_size(ORIGIN).unwrap(), LogSize(0));
}

/// Several processes starting at once on a new file (issue 10, item 5): switching it to WAL and
/// migrating it need the file alone for a moment, and SQLite may answer busy there without
/// waiting; every opener must still succeed, and the file be migrated once.
#[test]
fn many_handles_opening_a_new_file_at_once_all_succeed() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let start = Arc::new(std::sync::Barrier::new(6));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let (path, start) = (path.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(&path).map(|s| s.schema_version().unwrap())
                })
            })
            .collect();
        for opener in openers {
            let version = opener.join().unwrap();
            assert!(
                matches!(version, Ok(16)),
                "round {round}: an opener failed: {version:?}"
            );
        }
        let n: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 16, "round {round}: each migration applied once");
    }
}

/// Maintenance (`causeway store rollback`) and running instances exclude each other: no
/// instance starts while the store is held, and the store is not held while one runs (the
/// error names it).
#[test]
fn maintenance_and_running_instances_exclude_each_other() {
    let b = SqliteBackend::new();
    let s = b.open();
    let held = s.hold_for_maintenance().unwrap();
    assert!(matches!(
        s.claim_owner(&owner("org1-gateway")),
        Err(Error::StoreInMaintenance { .. })
    ));
    drop(held);
    let claim = s.claim_owner(&owner("org1-gateway")).unwrap();
    let second = s.claim_owner(&owner("org1-replica")).unwrap();
    match s.hold_for_maintenance() {
        Err(Error::StoreInUse { owners, .. }) => {
            assert_eq!(owners, "org1-gateway, org1-replica");
        }
        other => panic!("held beside running instances: {other:?}"),
    }
    drop((claim, second));
    s.hold_for_maintenance().unwrap();
}

/// Pages a commit by `s` wrote: the write-ahead log is emptied first, so its size afterwards
/// counts the frames (one page plus a 24-byte header each) of `write`'s commit.
fn pages_written(b: &SqliteBackend, write: impl FnOnce()) -> u64 {
    let c = raw(b);
    let _: (i64, i64, i64) = c
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let page: u64 = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    write();
    let wal = b.path.with_file_name(format!(
        "{}-wal",
        b.path.file_name().unwrap().to_str().unwrap()
    ));
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0) / (page + 24)
}

/// A batch of consecutive messages changes state in a handful of pages, not one page per
/// message: delivery rows and status events are kept in log order (schema 8). Keyed by message
/// id (a hash), each of the 128 rows and events sat on its own page, and every commit wrote and
/// fsynced them all.
#[test]
fn a_batch_state_change_writes_a_few_pages_not_one_per_message() {
    let b = SqliteBackend::new();
    let s = b.open();
    let mut nonce = 0;
    for block in 1..=10 {
        let events: Vec<_> = (0..500)
            .map(|_| {
                nonce += 1;
                event(message(ORIGIN, nonce, DEST, 0), block)
            })
            .collect();
        s.accept_events(&causeway_relayer::store::AcceptBatch {
            origin: ORIGIN,
            events: &events,
            cursor: cursor(block),
            now: t(1_000),
        })
        .unwrap();
    }
    let who = owner("a");
    let lease = |limit| {
        s.lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &who,
            limit,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(u64::MAX),
            policy: causeway_relayer::store::RetryPolicy::default(),
            now: t(2_000),
            rota: None,
        })
        .unwrap()
    };
    // Move past the start of the log, so the batch sits among other rows.
    let _ = lease(2_000);
    let mut leased = Vec::new();
    let leasing = pages_written(&b, || leased = lease(128));
    assert_eq!(leased.len(), 128);
    let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
    let handle = causeway_adapters::SubmissionHandle {
        family: causeway_proofs::bundle::ChainFamily::Evm,
        data: serde_json::json!({ "tx": 1 }),
    };
    let submitting = pages_written(&b, || {
        s.mark_submitted(&causeway_relayer::store::Submission {
            owner: &who,
            lease: leased[0].lease,
            ids: &ids,
            handle: &handle,
            signed: None,
            replaces: None,
            now: t(3_000),
        })
        .unwrap();
    });
    let confirming = pages_written(&b, || {
        s.confirm(&causeway_relayer::store::Confirmation {
            ids: &ids,
            block: 9,
            now: t(4_000),
        })
        .unwrap();
    });
    for (what, pages) in [
        ("lease", leasing),
        ("submitted", submitting),
        ("confirm", confirming),
    ] {
        assert!(
            pages > 0 && pages < 48,
            "{what} of 128 consecutive messages wrote {pages} pages"
        );
    }
}

/// Schema 14: a batch submitted and confirmed as it was leased moves in its run's row only.
/// Its 128 messages' rows are not rewritten (they keep the lease's time), each message still
/// reads as submitted, then confirmed, and the writes are a few pages, not the rows' pages.
#[test]
fn a_whole_batch_is_submitted_and_confirmed_in_its_run_row_only() {
    let b = SqliteBackend::new();
    let s = b.open();
    let events: Vec<_> = (0..400)
        .map(|n| event(message(ORIGIN, n, DEST, 0), 1))
        .collect();
    accept(&s, ORIGIN, &events, 1, 1_000).unwrap();
    let who = owner("a");
    let lease = |limit, now| {
        s.lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &who,
            limit,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(u64::MAX),
            policy: causeway_relayer::store::RetryPolicy::default(),
            now: t(now),
            rota: None,
        })
        .unwrap()
    };
    let _ = lease(100, 1_500);
    let leased = lease(128, 2_000);
    assert_eq!(leased.len(), 128);
    let ids: Vec<_> = leased.iter().map(|m| m.message.id()).collect();
    let handle = causeway_adapters::SubmissionHandle {
        family: causeway_proofs::bundle::ChainFamily::Evm,
        data: serde_json::json!({ "tx": 1 }),
    };
    let rows_touched_after = |at: i64| -> i64 {
        raw(&b)
            .query_row(
                "SELECT count(*) FROM delivery WHERE updated_at > ?1",
                [at],
                |r| r.get(0),
            )
            .unwrap()
    };
    let submitting = pages_written(&b, || {
        s.mark_submitted(&causeway_relayer::store::Submission {
            owner: &who,
            lease: leased[0].lease,
            ids: &ids,
            handle: &handle,
            signed: None,
            replaces: None,
            now: t(3_000),
        })
        .unwrap();
    });
    assert_eq!(rows_touched_after(2_000), 0, "no message row rewritten");
    let state = s.message(ids[77]).unwrap().unwrap().delivery.state;
    assert!(
        matches!(state, DeliveryState::Submitted { ref owner, .. } if *owner == who),
        "{state:?}"
    );
    assert_eq!(s.submitted(LANE, 1_000).unwrap().len(), 128);
    let confirming = pages_written(&b, || {
        s.confirm(&causeway_relayer::store::Confirmation {
            ids: &ids,
            block: 9,
            now: t(4_000),
        })
        .unwrap();
    });
    assert_eq!(rows_touched_after(2_000), 0, "no message row rewritten");
    for id in [ids[0], ids[127]] {
        assert_eq!(
            s.message(id).unwrap().unwrap().delivery.state,
            DeliveryState::Confirmed { block: 9 }
        );
    }
    assert!(s.submitted(LANE, 1_000).unwrap().is_empty());
    let counts = s.lane_stats().unwrap()[0].counts;
    assert_eq!((counts.leased, counts.confirmed), (100, 128));
    for (what, pages) in [("submitted", submitting), ("confirm", confirming)] {
        assert!(
            pages > 0 && pages < 16,
            "{what} of a run of 128 messages wrote {pages} pages"
        );
    }
}

/// An EVM source proof is kept in its compact binary form (as bytes, since schema 15; less than
/// half of its JSON) and read back as the same JSON, byte for byte; a native proof of another
/// shape keeps its JSON. A file of schema 14, whose rows hold the compact form in base64 text,
/// migrates to 15 and reads its rows back the same.
#[test]
fn an_evm_source_proof_is_stored_compact_and_read_back_as_accepted() {
    use causeway_proofs::bundle::NativeProof;

    let b = SqliteBackend::new();
    let s = b.open();
    let evm = evm_native_proof();
    let mut compact = event(message(ORIGIN, 0, DEST, 0), 10);
    compact.native_proof = Some(evm.clone());
    let other = event(message(ORIGIN, 1, DEST, 0), 10);
    accept(&s, ORIGIN, &[compact.clone(), other.clone()], 10, 1_000).unwrap();

    let c = raw(&b);
    let stored = |id: causeway_proofs::MessageId| -> (Option<String>, Option<i64>) {
        c.query_row(
            "SELECT substr(native_proof, 1, 1), length(native_proof_compact)
             FROM message WHERE id = ?1",
            [&id.0.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let json = serde_json::to_string(&evm).unwrap();
    let (text, len) = stored(compact.message.id());
    assert_eq!(text, None);
    // About 40 % of the JSON.
    let len = len.unwrap() as usize;
    assert!(
        len * 5 < json.len() * 2,
        "{len} bytes stored for {} of JSON",
        json.len()
    );
    assert_eq!(stored(other.message.id()), (Some("{".to_owned()), None));
    let read = |s: &causeway_relayer::store::SqliteStore, id| -> Option<NativeProof> {
        s.message(id).unwrap().unwrap().native_proof
    };
    assert_eq!(
        serde_json::to_string(&read(&s, compact.message.id()).unwrap()).unwrap(),
        json
    );
    assert_eq!(read(&s, other.message.id()), other.native_proof);

    // Schema 14 as its build wrote the row: the compact form in base64 after its marker, in
    // the text column; no bytes column.
    drop(s);
    {
        use base64::Engine as _;
        let bytes: Vec<u8> = c
            .query_row(
                "SELECT native_proof_compact FROM message WHERE id = ?1",
                [&compact.message.id().0.0[..]],
                |r| r.get(0),
            )
            .unwrap();
        let text = format!(
            "evm-compact-v1:{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        );
        // Message rows are immutable (a trigger); lifted for this rewrite only.
        let (name, guard): (String, String) = c
            .query_row(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'
                 AND tbl_name = 'message' AND sql LIKE '%immutable%' AND sql LIKE '%UPDATE%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        c.execute_batch(&format!("DROP TRIGGER {name}")).unwrap();
        c.execute(
            "UPDATE message SET native_proof = ?1, native_proof_compact = NULL WHERE id = ?2",
            rusqlite::params![text, &compact.message.id().0.0[..]],
        )
        .unwrap();
        c.execute_batch(&guard).unwrap();
        // And without schema 16: each message has its delivery row (pending here), no
        // positions on the message row (schema 16 makes its own view again).
        c.execute_batch(
            "INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                 next_attempt_at, created_at, updated_at, lane_pos)
             SELECT id, origin, destination, leaf_index, 'pending', accepted_at, accepted_at,
                    accepted_at, lane_pos FROM message;
             DROP VIEW delivery_now;
             CREATE VIEW delivery_now AS SELECT * FROM delivery;
             DROP INDEX message_by_lane;
             DROP INDEX delivery_run_span;
             DROP TABLE lane_frontier;
             ALTER TABLE message DROP COLUMN lane_pos;
             ALTER TABLE message DROP COLUMN leaf_index;
             DELETE FROM schema_version WHERE version = 16;",
        )
        .unwrap();
        c.execute_batch(
            "ALTER TABLE message DROP COLUMN native_proof_compact;
             DELETE FROM schema_version WHERE version = 15;",
        )
        .unwrap();
    }
    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), 16);
    assert_eq!(stored(compact.message.id()), (Some("e".to_owned()), None));
    assert_eq!(
        serde_json::to_string(&read(&s, compact.message.id()).unwrap()).unwrap(),
        json
    );
    assert_eq!(read(&s, other.message.id()), other.native_proof);
    // New rows are written as bytes.
    let mut later = event(message(ORIGIN, 2, DEST, 0), 11);
    later.native_proof = Some(evm.clone());
    accept(&s, ORIGIN, &[later.clone()], 11, 2_000).unwrap();
    assert_eq!(stored(later.message.id()).0, None);
    assert_eq!(
        serde_json::to_string(&read(&s, later.message.id()).unwrap()).unwrap(),
        json
    );
    s.integrity_check().unwrap();
}

/// Schema 16: accepting writes no delivery row and leasing writes run rows only, one per
/// stretch of consecutive lane positions. Under a rota (two members, turns of two leaves) a
/// member leases its own turns at once, as two runs around the other member's turn, which
/// stays pending (the lane's oldest) and is leased once its grace has passed; every message
/// reads in its run's state, and no message ever got a row of its own.
#[test]
fn accepting_writes_no_delivery_row_and_leasing_writes_runs_of_positions() {
    let b = SqliteBackend::new();
    let s = b.open();
    let events: Vec<_> = (0..6)
        .map(|n| event(message(ORIGIN, n, DEST, 0), 1))
        .collect();
    accept(&s, ORIGIN, &events, 1, 1_000).unwrap();
    let c = raw(&b);
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM delivery"), 0);
    let who = owner("a");
    let lease = |now| {
        s.lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &who,
            limit: 10,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(u64::MAX),
            policy: causeway_relayer::store::RetryPolicy::default(),
            now: t(now),
            rota: Some(causeway_relayer::store::Rota {
                members: 2,
                position: 0,
                run: 2,
                grace: Duration::from_secs(5),
            }),
        })
        .unwrap()
    };
    let leaves = |leased: &[causeway_relayer::store::LeasedMessage]| -> Vec<u64> {
        leased.iter().map(|m| m.leaf_index.0).collect()
    };
    let first = lease(2_000);
    assert_eq!(leaves(&first), vec![0, 1, 4, 5]);
    let runs = |c: &Connection| -> Vec<(i64, i64, i64)> {
        c.prepare("SELECT first_pos, last_pos, members FROM delivery_run ORDER BY first_pos")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(runs(&c), vec![(0, 1, 2), (4, 5, 2)]);
    let state = |n: usize| s.message(events[n].message.id()).unwrap().unwrap().delivery;
    assert!(matches!(state(4).state, DeliveryState::Leased { .. }));
    assert_eq!(state(2).state, DeliveryState::Pending);
    assert_eq!(state(2).next_attempt_at, t(1_000));
    let stats = s.lane_stats().unwrap();
    assert_eq!((stats[0].counts.pending, stats[0].counts.leased), (2, 4));
    assert_eq!(stats[0].oldest_pending_since, Some(t(1_000)));
    // The other member's turn is not this one's until its grace has passed.
    assert!(lease(5_999).is_empty());
    let second = lease(6_000);
    assert_eq!(leaves(&second), vec![2, 3]);
    assert_eq!(runs(&c), vec![(0, 1, 2), (2, 3, 2), (4, 5, 2)]);
    assert!(matches!(state(2).state, DeliveryState::Leased { .. }));
    assert_eq!(
        count("SELECT count(*) FROM delivery"),
        0,
        "no message has a row"
    );
    assert_eq!(
        count("SELECT next_pos FROM lane_frontier"),
        6,
        "every position is in a run"
    );
}
