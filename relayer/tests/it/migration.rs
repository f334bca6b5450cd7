//! A database written by the previous schema (2: EVM's `tx_hash`/`tx_nonce` columns) opened by
//! this build: migrated in place to the family-neutral schema, every row kept with its meaning,
//! and the migrated file works like a new one.

use std::time::Duration;

use causeway_adapters::SubmissionHandle;
use causeway_proofs::{Domain, HashAlgorithm, LeafIndex, LogSize, Message, MessageId};
use causeway_relayer::store::{
    ApiStore, CheckpointStore, DeliveryStateKind, MessageStatus, Submission,
};
use causeway_relayer::store::{
    Confirmation, DeliveryState, DeliveryStore, KeptHandle, LeaseRequest, QueryStore, SourceStore,
    StateCounts, SubmissionId, UnixMillis,
};
use rusqlite::{Connection, params};

use crate::support::*;

const SCHEMA_1: &str = include_str!("../../src/store/sqlite/migrations/0001_initial.sql");
const SCHEMA_2: &str = include_str!("../../src/store/sqlite/migrations/0002_submission_handle.sql");

/// One delivery row as a schema-2 build wrote it.
struct OldDelivery {
    state: &'static str,
    attempts: i64,
    next_attempt_at: i64,
    lease_owner: Option<&'static str>,
    lease_until: Option<i64>,
    tx_hash: Option<[u8; 32]>,
    tx_nonce: Option<i64>,
    handle: Option<String>,
    submitted_at: Option<i64>,
    confirmed_block: Option<i64>,
    dead_reason: Option<&'static str>,
    last_error: Option<&'static str>,
}

impl OldDelivery {
    fn pending() -> Self {
        OldDelivery {
            state: "pending",
            attempts: 0,
            next_attempt_at: 0,
            lease_owner: None,
            lease_until: None,
            tx_hash: None,
            tx_nonce: None,
            handle: None,
            submitted_at: None,
            confirmed_block: None,
            dead_reason: None,
            last_error: None,
        }
    }
}

fn json(handle: &SubmissionHandle) -> String {
    serde_json::to_string(handle).unwrap()
}

/// Writes `msgs` (leaves 0.., accepted at 100 + i) with `deliveries` into a new file of schema
/// 2, exactly as the migrations of that build left it, plus a cursor and a signed checkpoint.
fn write_schema_2(b: &SqliteBackend, msgs: &[Message], deliveries: &[OldDelivery]) {
    let c = Connection::open(&b.path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_version (
             version    INTEGER PRIMARY KEY,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )
    .unwrap();
    c.execute_batch(SCHEMA_1).unwrap();
    c.execute_batch(SCHEMA_2).unwrap();
    c.execute_batch(
        "INSERT INTO schema_version VALUES (1, 'initial', 0), (2, 'submission handle', 0);",
    )
    .unwrap();
    c.execute(
        "INSERT INTO source_cursor VALUES (?1, 3, ?2, 50)",
        params![ORIGIN.0, &block_hash(3).0[..]],
    )
    .unwrap();
    for (i, (m, d)) in msgs.iter().zip(deliveries).enumerate() {
        let i = i as i64;
        insert_accepted(&c, m, i);
        c.execute(
            "INSERT INTO delivery (message_id, origin, destination, leaf_index, state, attempts,
                 next_attempt_at, lease_owner, lease_until, tx_hash, tx_nonce, submitted_at,
                 confirmed_block, dead_reason, last_error, created_at, updated_at,
                 submission_handle)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?16, ?17)",
            params![
                &m.id().0.0[..],
                ORIGIN.0,
                DEST.0,
                i,
                d.state,
                d.attempts,
                d.next_attempt_at,
                d.lease_owner,
                d.lease_until,
                d.tx_hash.as_ref().map(|h| &h[..]),
                d.tx_nonce,
                d.submitted_at,
                d.confirmed_block,
                d.dead_reason,
                d.last_error,
                100 + i,
                d.handle,
            ],
        )
        .unwrap();
    }
    let cp = checkpoint(msgs.len() as u64, 0);
    c.execute(
        "INSERT INTO checkpoint (origin, destination, size, hash_algorithm, root, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 60)",
        params![
            ORIGIN.0,
            DEST.0,
            msgs.len() as i64,
            i64::from(HashAlgorithm::Sha256.id()),
            &cp.root().0[..]
        ],
    )
    .unwrap();
    let sig = validator_sig(1);
    c.execute(
        "INSERT INTO checkpoint_signature VALUES (1, ?1, ?2, 60)",
        params![&sig.validator.0[..], &sig.signature.0[..]],
    )
    .unwrap();
}

/// Writes `m` as an old schema accepted it: its message row (source block 2, accepted at
/// 100 + `leaf`) and its leaf at `leaf` of `ORIGIN`'s log.
fn insert_accepted(c: &Connection, m: &Message, leaf: i64) {
    let ev = event(m.clone(), 2);
    c.execute(
        "INSERT INTO message (id, origin, nonce, destination, encoded, source_block,
             source_ref, native_proof, accepted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 2, ?6, ?7, ?8)",
        params![
            &m.id().0.0[..],
            m.origin().0,
            m.nonce().0 as i64,
            m.destination().0,
            m.encode(),
            serde_json::to_string(&ev.source).unwrap(),
            serde_json::to_string(&ev.native_proof).unwrap(),
            100 + leaf
        ],
    )
    .unwrap();
    c.execute(
        "INSERT INTO log_leaf (origin, leaf_index, message_id) VALUES (?1, ?2, ?3)",
        params![ORIGIN.0, leaf, &m.id().0.0[..]],
    )
    .unwrap();
}

#[test]
fn a_file_of_schema_2_migrates_in_place_and_every_row_keeps_its_meaning() {
    let b = SqliteBackend::new();
    let msgs: Vec<Message> = (0..7).map(|i| message(ORIGIN, i, DEST, 0)).collect();
    let kept = handle(3);
    let kept_id = SubmissionId::of(&kept);
    let v1_tx_hash = block_hash(44);
    let rows = [
        OldDelivery {
            attempts: 1,
            next_attempt_at: 5_000,
            last_error: Some("rpc timeout"),
            ..OldDelivery::pending()
        },
        OldDelivery {
            state: "leased",
            lease_owner: Some("a"),
            lease_until: Some(9_000),
            ..OldDelivery::pending()
        },
        // Two messages of one submission whose handle a schema-2 build kept: its tx_hash was
        // keccak-256 of the handle's data, its tx_nonce the EVM nonce inside the handle.
        OldDelivery {
            state: "submitted",
            lease_owner: Some("a"),
            tx_hash: Some(kept_id.0.0),
            tx_nonce: Some(3),
            handle: Some(json(&kept)),
            submitted_at: Some(300),
            ..OldDelivery::pending()
        },
        OldDelivery {
            state: "submitted",
            lease_owner: Some("a"),
            tx_hash: Some(kept_id.0.0),
            tx_nonce: Some(3),
            handle: Some(json(&kept)),
            submitted_at: Some(300),
            ..OldDelivery::pending()
        },
        // Submitted by a schema-1 build: no handle.
        OldDelivery {
            state: "submitted",
            attempts: 2,
            lease_owner: Some("old"),
            tx_hash: Some(v1_tx_hash.0),
            tx_nonce: Some(44),
            submitted_at: Some(200),
            last_error: Some("reverted: out of gas"),
            ..OldDelivery::pending()
        },
        OldDelivery {
            state: "confirmed",
            confirmed_block: Some(42),
            ..OldDelivery::pending()
        },
        OldDelivery {
            state: "dead_letter",
            attempts: 3,
            dead_reason: Some("gave up"),
            last_error: Some("gave up"),
            ..OldDelivery::pending()
        },
    ];
    write_schema_2(&b, &msgs, &rows);

    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), 16);
    s.integrity_check().unwrap();
    let columns = b.columns("delivery");
    for gone in ["tx_hash", "tx_nonce"] {
        assert!(!columns.iter().any(|c| c == gone), "{gone}: {columns:?}");
    }
    for new in ["submission_id", "submission_handle"] {
        assert!(columns.iter().any(|c| c == new), "{new}: {columns:?}");
    }

    // Every message, its log position, source, proof and delivery, as the old build wrote them.
    let expected_states = [
        DeliveryState::Pending,
        DeliveryState::Leased {
            owner: owner("a"),
            until: t(9_000),
        },
        DeliveryState::Submitted {
            owner: owner("a"),
            submission: kept_id,
            submitted_at: t(300),
        },
        DeliveryState::Submitted {
            owner: owner("a"),
            submission: kept_id,
            submitted_at: t(300),
        },
        DeliveryState::Submitted {
            owner: owner("old"),
            submission: SubmissionId(v1_tx_hash),
            submitted_at: t(200),
        },
        DeliveryState::Confirmed { block: 42 },
        DeliveryState::DeadLetter {
            reason: "gave up".into(),
        },
    ];
    for (i, ((m, row), state)) in msgs.iter().zip(&rows).zip(expected_states).enumerate() {
        let rec = s.message(m.id()).unwrap().expect("kept");
        let ev = event(m.clone(), 2);
        assert_eq!(rec.message, *m);
        assert_eq!(rec.leaf_index, LeafIndex(i as u64));
        assert_eq!(rec.source, ev.source);
        assert_eq!(rec.native_proof, ev.native_proof);
        assert_eq!(rec.accepted_at, t(100 + i as u64));
        assert_eq!(rec.delivery.lane, LANE);
        assert_eq!(rec.delivery.state, state, "message {i}");
        assert_eq!(rec.delivery.attempts, row.attempts as u32, "message {i}");
        assert_eq!(
            rec.delivery.next_attempt_at,
            UnixMillis(row.next_attempt_at as u64)
        );
        assert_eq!(rec.delivery.last_error.as_deref(), row.last_error);
    }
    // Migration 7 gives every message a status history: its acceptance, then its state now.
    for (i, m) in msgs.iter().enumerate() {
        let history: Vec<(MessageStatus, Option<String>)> = s
            .message_history(m.id())
            .unwrap()
            .into_iter()
            .map(|e| (e.status, e.reason))
            .collect();
        let mut expected = vec![(MessageStatus::Logged, None)];
        expected.extend(match i {
            0 => None,
            1 => Some((MessageStatus::Leased, None)),
            2..=4 => Some((MessageStatus::Submitted, None)),
            5 => Some((MessageStatus::Confirmed, None)),
            _ => Some((MessageStatus::DeadLettered, Some("gave up".to_owned()))),
        });
        assert_eq!(history, expected, "message {i}");
    }
    // The kept handle reads back as the adapter made it; the schema-1 row says it has none.
    let submitted = s.submitted(LANE, 10).unwrap();
    let handles: Vec<(u64, KeptHandle)> = submitted
        .iter()
        .map(|m| (m.leaf_index.0, m.handle.clone()))
        .collect();
    assert_eq!(
        handles,
        vec![
            (2, KeptHandle::Kept(kept.clone())),
            (3, KeptHandle::Kept(kept.clone())),
            (4, KeptHandle::Missing),
        ]
    );
    assert_eq!(submitted[0].submission, kept_id);
    assert_eq!(submitted[2].owner, owner("old"));
    // The log, the cursor, the checkpoint and the per-lane counters.
    assert_eq!(
        s.leaves(ORIGIN, LeafIndex(0), 100).unwrap(),
        msgs.iter().map(Message::id).collect::<Vec<_>>()
    );
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(3)));
    let cp = s.latest_checkpoint(LANE, 1).unwrap().expect("kept");
    assert_eq!(cp.checkpoint, checkpoint(7, 0));
    assert_eq!(cp.signatures, vec![validator_sig(1)]);
    let stats = s.lane_stats().unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(
        stats[0].counts,
        StateCounts {
            pending: 1,
            leased: 1,
            submitted: 3,
            confirmed: 1,
            dead_letter: 1,
        }
    );
    assert_eq!(stats[0].oldest_pending_since, Some(t(100)));
    // Migration 10 keeps each lane's last delivery, found before by sorting its confirmed rows.
    let last = s.last_delivery(LANE).unwrap().expect("one confirmed row");
    assert_eq!((last.confirmed_at, last.block), (t(105), 42));

    // The migrated file works like a new one: its triggers still count and guard the rows.
    s.confirm(&Confirmation {
        ids: &[msgs[4].id()],
        block: 50,
        now: t(10_000),
    })
    .unwrap();
    let last = s.last_delivery(LANE).unwrap().expect("confirmed rows");
    assert_eq!((last.confirmed_at, last.block), (t(10_000), 50));
    let leased = s
        .lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &owner("b"),
            limit: 10,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(7),
            policy: policy(12),
            now: t(10_000),
            rota: None,
        })
        .unwrap();
    let lease = leased[0].lease;
    let leased: Vec<u64> = leased.iter().map(|m| m.leaf_index.0).collect();
    assert_eq!(leased, vec![0, 1], "pending and expired-lease messages");
    let next = handle(9);
    s.mark_submitted(&Submission {
        owner: &owner("b"),
        lease,
        ids: &[msgs[0].id(), msgs[1].id()],
        handle: &next,
        signed: None,
        replaces: None,
        now: t(10_001),
    })
    .unwrap();
    assert_eq!(
        s.lane_stats().unwrap()[0].counts,
        StateCounts {
            pending: 0,
            leased: 0,
            submitted: 4,
            confirmed: 2,
            dead_letter: 1,
        }
    );
    let err = Connection::open(&b.path)
        .unwrap()
        .execute("DELETE FROM delivery", [])
        .unwrap_err();
    assert!(err.to_string().contains("never deleted"), "{err}");
    drop(s);
    assert_eq!(b.open().schema_version().unwrap(), 16, "applied once");
}

/// The migrations up to schema 10, as that build applied them.
const SCHEMA_1_TO_10: [&str; 10] = [
    SCHEMA_1,
    SCHEMA_2,
    include_str!("../../src/store/sqlite/migrations/0003_family_neutral_submission.sql"),
    include_str!("../../src/store/sqlite/migrations/0004_lease_tokens.sql"),
    include_str!("../../src/store/sqlite/migrations/0005_signed_submissions.sql"),
    include_str!("../../src/store/sqlite/migrations/0006_member_signatures.sql"),
    include_str!("../../src/store/sqlite/migrations/0007_api.sql"),
    include_str!("../../src/store/sqlite/migrations/0008_sequential_delivery.sql"),
    include_str!("../../src/store/sqlite/migrations/0009_sends_and_envelopes.sql"),
    include_str!("../../src/store/sqlite/migrations/0010_lean_delivery.sql"),
];

/// A second lane of `ORIGIN`, whose messages sit between `LANE`'s in the log.
const DEST_B: Domain = Domain(3);

/// An event as schema 10 numbered it: (seq, message, status, reason, at).
type OldEvent = (u64, MessageId, MessageStatus, Option<String>, u64);

/// A lane count as schema 10's triggers kept it: (destination, state, count).
type OldCount = (i64, String, i64);

/// Writes a file of schema 10 with eight messages of two interleaved lanes (even leaves to
/// `DEST`, odd to `DEST_B`), accepted at 100 + leaf, then moved by plain updates, as schema
/// 10's triggers recorded them, into every state and through every kind of status change.
/// Returns the messages, and the status events and lane counts the triggers wrote.
fn write_schema_10(b: &SqliteBackend) -> (Vec<Message>, Vec<OldEvent>, Vec<OldCount>) {
    let c = Connection::open(&b.path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_version (
             version    INTEGER PRIMARY KEY,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )
    .unwrap();
    for (i, sql) in SCHEMA_1_TO_10.iter().enumerate() {
        c.execute_batch(sql).unwrap();
        c.execute(
            "INSERT INTO schema_version VALUES (?1, 'old', 0)",
            [i as i64 + 1],
        )
        .unwrap();
    }
    let msgs: Vec<Message> = (0..8)
        .map(|i| message(ORIGIN, i, if i % 2 == 0 { DEST } else { DEST_B }, 0))
        .collect();
    for (i, m) in msgs.iter().enumerate() {
        let i = i as i64;
        insert_accepted(&c, m, i);
        c.execute(
            "INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                 next_attempt_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?5)",
            params![&m.id().0.0[..], ORIGIN.0, m.destination().0, i, 100 + i],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO source_cursor VALUES (?1, 3, ?2, 50)",
        params![ORIGIN.0, &block_hash(3).0[..]],
    )
    .unwrap();
    let submission = SubmissionId::of(&handle(5));
    let step = |leaf: i64, at: i64, set: &str| {
        c.execute(
            &format!("UPDATE delivery SET {set}, updated_at = ?2 WHERE leaf_index = ?1"),
            params![leaf, at],
        )
        .unwrap();
    };
    let lease = "state = 'leased', lease_owner = 'a', lease_until = 9000, lease_token = 1";
    let submit = format!(
        "state = 'submitted', lease_token = NULL, submission_id = x'{}', submitted_at = 400,
         submission_handle = '{}'",
        hex::encode(submission.0.0),
        serde_json::to_string(&handle(5)).unwrap()
    );
    let confirm = "state = 'confirmed', confirmed_block = 42, lease_until = NULL";
    // 0: pending. 1: leased. 2: submitted. 3 and 7: confirmed.
    for leaf in 1..=7 {
        step(leaf, 200 + leaf, lease);
    }
    for leaf in [2, 3, 7] {
        step(leaf, 400, &submit);
    }
    step(3, 500, confirm);
    step(7, 510, confirm);
    // 4: a failed attempt, back to pending after its backoff.
    step(
        4,
        600,
        "state = 'pending', attempts = 1, next_attempt_at = 5000, last_error = 'rpc timeout',
         lease_owner = NULL, lease_until = NULL, lease_token = NULL",
    );
    // 5: a dead letter. 6: a dead letter retried by an operator.
    for leaf in [5, 6] {
        step(
            leaf,
            700,
            "state = 'dead_letter', attempts = 3, dead_reason = 'gave up',
             last_error = 'gave up', lease_owner = NULL, lease_until = NULL, lease_token = NULL",
        );
    }
    step(
        6,
        800,
        "state = 'pending', attempts = 0, next_attempt_at = 800, dead_reason = NULL",
    );
    let events: Vec<OldEvent> = c
        .prepare("SELECT seq, message_id, status, reason, at FROM message_event ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            let id: Vec<u8> = r.get(1)?;
            let status: String = r.get(2)?;
            Ok((
                r.get::<_, i64>(0)? as u64,
                MessageId(causeway_proofs::Hash32(id.try_into().unwrap())),
                MessageStatus::from_name(&status).unwrap(),
                r.get(3)?,
                r.get::<_, i64>(4)? as u64,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let counts: Vec<OldCount> = c
        .prepare("SELECT destination, state, n FROM lane_count WHERE n > 0 ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (msgs, events, counts)
}

fn history_of(s: &causeway_relayer::store::SqliteStore, id: MessageId) -> Vec<OldEvent> {
    s.message_history(id)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.id, e.status, e.reason, e.at.0))
        .collect()
}

/// Schema 11 keeps one status event row per run of a lane's messages a statement moved, and the
/// lane counts per statement, where schema 10's triggers wrote them per message. A file of
/// schema 10 keeps every message's state, every event under its number (the event stream
/// resumes across the upgrade), each message's history and the lane counts; and new events
/// are numbered after the old ones, per message, on both lanes.
#[test]
fn a_file_of_schema_10_keeps_every_state_event_and_count() {
    let b = SqliteBackend::new();
    let (msgs, old_events, old_counts) = write_schema_10(&b);
    // Sanity: the triggers wrote 8 acceptances and 16 changes.
    assert_eq!(old_events.len(), 8 + 16);
    let last_old = old_events.last().unwrap().0;

    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), 16);
    s.integrity_check().unwrap();

    // Every event under its number, with its message, status, reason and time.
    let all: Vec<OldEvent> = s
        .events_after(0, 1_000)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.id, e.status, e.reason, e.at.0))
        .collect();
    assert_eq!(all, old_events);
    assert_eq!(s.last_event_seq().unwrap(), last_old);
    // Resuming after any event, in pages, gives exactly the ones after it.
    for (k, e) in old_events.iter().enumerate() {
        let page: Vec<u64> = s
            .events_after(e.0, 3)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        let expected: Vec<u64> = old_events[k + 1..].iter().take(3).map(|e| e.0).collect();
        assert_eq!(page, expected, "after event {}", e.0);
    }
    for (i, m) in msgs.iter().enumerate() {
        let own: Vec<OldEvent> = old_events
            .iter()
            .filter(|e| e.1 == m.id())
            .cloned()
            .collect();
        assert_eq!(history_of(&s, m.id()), own, "message {i}");
        let lane = if i % 2 == 0 { DEST } else { DEST_B };
        assert!(
            s.message_history(m.id())
                .unwrap()
                .iter()
                .all(|e| e.lane.destination == lane)
        );
    }

    // Every message's state.
    let submission = SubmissionId::of(&handle(5));
    let expected = [
        DeliveryState::Pending,
        DeliveryState::Leased {
            owner: owner("a"),
            until: t(9_000),
        },
        DeliveryState::Submitted {
            owner: owner("a"),
            submission,
            submitted_at: t(400),
        },
        DeliveryState::Confirmed { block: 42 },
        DeliveryState::Pending,
        DeliveryState::DeadLetter {
            reason: "gave up".into(),
        },
        DeliveryState::Pending,
        DeliveryState::Confirmed { block: 42 },
    ];
    for (i, (m, state)) in msgs.iter().zip(expected).enumerate() {
        let rec = s.message(m.id()).unwrap().unwrap();
        assert_eq!(rec.delivery.state, state, "message {i}");
        assert_eq!(rec.leaf_index, LeafIndex(i as u64));
    }

    // The lane counts, as the triggers kept them.
    let lane_b = causeway_relayer::store::Lane {
        origin: ORIGIN,
        destination: DEST_B,
    };
    let stats = s.lane_stats().unwrap();
    assert_eq!(stats.len(), 2);
    let mut counts: Vec<OldCount> = Vec::new();
    for st in &stats {
        for kind in DeliveryStateKind::ALL {
            let n = st.counts.get(kind);
            if n > 0 {
                counts.push((
                    i64::from(st.lane.destination.0),
                    kind.as_str().to_owned(),
                    n as i64,
                ));
            }
        }
    }
    counts.sort();
    assert_eq!(counts, old_counts);
    assert_eq!(
        stats[0].counts,
        StateCounts {
            pending: 3,
            leased: 0,
            submitted: 1,
            confirmed: 0,
            dead_letter: 0,
        }
    );
    assert_eq!(stats[1].lane, lane_b);
    assert_eq!(stats[0].oldest_pending_since, Some(t(100)));

    // The migrated file goes on: two new messages take the next place in their lanes (kept on
    // the message row since schema 16), and a batch of lane A leased, submitted and confirmed
    // numbers its events after the old ones.
    let new: Vec<Message> = [(8, DEST), (9, DEST_B)]
        .into_iter()
        .map(|(nonce, dest)| message(ORIGIN, nonce, dest, 0))
        .collect();
    let events: Vec<_> = new.iter().map(|m| event(m.clone(), 4)).collect();
    accept(&s, ORIGIN, &events, 4, 9_000).unwrap();
    let positions: Vec<(i64, i64)> = Connection::open(&b.path)
        .unwrap()
        .prepare("SELECT leaf_index, lane_pos FROM message ORDER BY leaf_index")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        positions,
        vec![
            (0, 0),
            (1, 0),
            (2, 1),
            (3, 1),
            (4, 2),
            (5, 2),
            (6, 3),
            (7, 3),
            (8, 4),
            (9, 4)
        ]
    );
    let leased = s
        .lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &owner("b"),
            limit: 10,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(10),
            policy: policy(12),
            now: t(10_000),
            rota: None,
        })
        .unwrap();
    let leaves: Vec<u64> = leased.iter().map(|m| m.leaf_index.0).collect();
    assert_eq!(leaves, vec![0, 4, 6, 8]);
    let ids: Vec<MessageId> = leased.iter().map(|m| m.message.id()).collect();
    s.mark_submitted(&Submission {
        owner: &owner("b"),
        lease: leased[0].lease,
        ids: &ids,
        handle: &handle(9),
        signed: None,
        replaces: None,
        now: t(10_001),
    })
    .unwrap();
    s.confirm(&Confirmation {
        ids: &ids,
        block: 50,
        now: t(10_002),
    })
    .unwrap();
    let after: Vec<(u64, MessageId, MessageStatus)> = s
        .events_after(last_old, 1_000)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.id, e.status))
        .collect();
    let seqs: Vec<u64> = after.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (last_old + 1..=last_old + 14).collect::<Vec<_>>());
    let mut expected: Vec<(MessageId, MessageStatus)> = vec![
        (new[0].id(), MessageStatus::Logged),
        (new[1].id(), MessageStatus::Logged),
    ];
    for status in [
        MessageStatus::Leased,
        MessageStatus::Submitted,
        MessageStatus::Confirmed,
    ] {
        expected.extend(ids.iter().map(|&id| (id, status)));
    }
    let got: Vec<(MessageId, MessageStatus)> = after.iter().map(|e| (e.1, e.2)).collect();
    let (mut got_sorted, mut expected_sorted) = (got.clone(), expected.clone());
    got_sorted.sort_by_key(|e| format!("{e:?}"));
    expected_sorted.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(got_sorted, expected_sorted);
    // Message 4's history: its old events, then the new ones in order.
    let h4: Vec<(MessageStatus, Option<String>)> = s
        .message_history(msgs[4].id())
        .unwrap()
        .into_iter()
        .map(|e| (e.status, e.reason))
        .collect();
    assert_eq!(
        h4,
        vec![
            (MessageStatus::Logged, None),
            (MessageStatus::Leased, None),
            (MessageStatus::Failed, Some("rpc timeout".to_owned())),
            (MessageStatus::Leased, None),
            (MessageStatus::Submitted, None),
            (MessageStatus::Confirmed, None),
        ]
    );
    let stats = s.lane_stats().unwrap();
    assert_eq!(
        stats[0].counts,
        StateCounts {
            pending: 0,
            leased: 0,
            submitted: 1,
            confirmed: 4,
            dead_letter: 0,
        }
    );
    assert_eq!(
        stats[1].counts,
        StateCounts {
            pending: 1,
            leased: 1,
            submitted: 0,
            confirmed: 2,
            dead_letter: 1,
        }
    );
    // The schema still guards its rows: no event changes, no position moves.
    let c = Connection::open(&b.path).unwrap();
    let err = c.execute("DELETE FROM message_event", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = c
        .execute("UPDATE delivery SET lane_pos = lane_pos + 1", [])
        .unwrap_err();
    assert!(err.to_string().contains("keeps its message"), "{err}");
    drop(s);
    assert_eq!(b.open().schema_version().unwrap(), 16, "applied once");
}

/// The migrations up to schema 12, as that build applied them.
const SCHEMA_11_TO_12: [&str; 2] = [
    include_str!("../../src/store/sqlite/migrations/0011_batch_history.sql"),
    include_str!("../../src/store/sqlite/migrations/0012_send_leases.sql"),
];

/// One delivery row as schema 12 kept it, by leaf: (state, attempts, next attempt, owner,
/// lease end, lease token, submitted?, confirmed block, dead reason, last error, updated at).
type Row12 = (
    &'static str,
    i64,
    i64,
    Option<&'static str>,
    Option<i64>,
    Option<i64>,
    bool,
    Option<i64>,
    Option<&'static str>,
    Option<&'static str>,
    i64,
);

/// Writes a file of schema 12 with the eight messages of [`write_schema_10`] (two interleaved
/// lanes, every state, every kind of status change), its delivery rows, status events (one
/// row per run, as schema 11 and 12 wrote them: the lease of each lane's messages one run) and
/// lane counts. Returns the messages and the events each message had, numbered.
fn write_schema_12(b: &SqliteBackend) -> (Vec<Message>, Vec<OldEvent>) {
    let c = Connection::open(&b.path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_version (
             version    INTEGER PRIMARY KEY,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )
    .unwrap();
    for (i, sql) in SCHEMA_1_TO_10.iter().chain(&SCHEMA_11_TO_12).enumerate() {
        c.execute_batch(sql).unwrap();
        c.execute(
            "INSERT INTO schema_version VALUES (?1, 'old', 0)",
            [i as i64 + 1],
        )
        .unwrap();
    }
    let msgs: Vec<Message> = (0..8)
        .map(|i| message(ORIGIN, i, if i % 2 == 0 { DEST } else { DEST_B }, 0))
        .collect();
    let submission = SubmissionId::of(&handle(5));
    let lease = (Some("a"), Some(9_000), Some(1));
    let rows: [Row12; 8] = [
        (
            "pending", 0, 100, None, None, None, false, None, None, None, 100,
        ),
        (
            "leased", 0, 101, lease.0, lease.1, lease.2, false, None, None, None, 200,
        ),
        (
            "submitted",
            0,
            102,
            lease.0,
            lease.1,
            None,
            true,
            None,
            None,
            None,
            400,
        ),
        (
            "confirmed",
            0,
            103,
            lease.0,
            None,
            None,
            true,
            Some(42),
            None,
            None,
            500,
        ),
        (
            "pending",
            1,
            5_000,
            None,
            None,
            None,
            false,
            None,
            None,
            Some("rpc timeout"),
            600,
        ),
        (
            "dead_letter",
            3,
            700,
            None,
            None,
            None,
            false,
            None,
            Some("gave up"),
            Some("gave up"),
            700,
        ),
        (
            "pending",
            0,
            800,
            None,
            None,
            None,
            false,
            None,
            None,
            Some("gave up"),
            800,
        ),
        (
            "confirmed",
            0,
            107,
            lease.0,
            None,
            None,
            true,
            Some(42),
            None,
            None,
            510,
        ),
    ];
    for (i, (m, r)) in msgs.iter().zip(rows).enumerate() {
        let leaf = i as i64;
        insert_accepted(&c, m, leaf);
        let (state, attempts, next, owner, until, token, submitted, block, dead, error, at) = r;
        c.execute(
            "INSERT INTO delivery (message_id, origin, destination, leaf_index, state, attempts,
                 next_attempt_at, lease_owner, lease_until, lease_token, submission_id,
                 submission_handle, submitted_at, confirmed_block, dead_reason, last_error,
                 created_at, updated_at, lane_pos)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19)",
            params![
                &m.id().0.0[..],
                ORIGIN.0,
                m.destination().0,
                leaf,
                state,
                attempts,
                next,
                owner,
                until,
                token,
                submitted.then(|| submission.0.0.to_vec()),
                submitted.then(|| serde_json::to_string(&handle(5)).unwrap()),
                submitted.then_some(400),
                block,
                dead,
                error,
                100 + leaf,
                at,
                leaf / 2
            ],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO source_cursor VALUES (?1, 3, ?2, 50)",
        params![ORIGIN.0, &block_hash(3).0[..]],
    )
    .unwrap();
    // The events, one row per run of one lane's consecutive positions: (leaves, status,
    // reason, at). Each lane's leases are one run (lane A's leaves 2, 4, 6; lane B's 1 to 7).
    let runs: Vec<(Vec<i64>, &str, Option<&str>, i64)> = vec![
        (vec![0], "logged", None, 100),
        (vec![1], "logged", None, 101),
        (vec![2], "logged", None, 102),
        (vec![3], "logged", None, 103),
        (vec![4], "logged", None, 104),
        (vec![5], "logged", None, 105),
        (vec![6], "logged", None, 106),
        (vec![7], "logged", None, 107),
        (vec![2, 4, 6], "leased", None, 200),
        (vec![1, 3, 5, 7], "leased", None, 200),
        (vec![2], "submitted", None, 400),
        (vec![3], "submitted", None, 400),
        (vec![7], "submitted", None, 400),
        (vec![3], "confirmed", None, 500),
        (vec![7], "confirmed", None, 510),
        (vec![4], "failed", Some("rpc timeout"), 600),
        (vec![5], "dead_lettered", Some("gave up"), 700),
        (vec![6], "dead_lettered", Some("gave up"), 700),
        (vec![6], "retried", None, 800),
    ];
    let mut seq = 0i64;
    let mut events: Vec<OldEvent> = Vec::new();
    for (leaves, status, reason, at) in runs {
        let n = leaves.len() as i64;
        seq += n;
        c.execute(
            "INSERT INTO message_event (seq, n, origin, destination, first_pos, status, reason, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                seq,
                n,
                ORIGIN.0,
                msgs[leaves[0] as usize].destination().0,
                leaves[0] / 2,
                status,
                reason,
                at
            ],
        )
        .unwrap();
        for (k, &leaf) in leaves.iter().enumerate() {
            events.push((
                (seq - n + 1 + k as i64) as u64,
                msgs[leaf as usize].id(),
                MessageStatus::from_name(status).unwrap(),
                reason.map(str::to_owned),
                at as u64,
            ));
        }
    }
    for (dest, state, n) in [
        (DEST, "pending", 3),
        (DEST, "submitted", 1),
        (DEST_B, "leased", 1),
        (DEST_B, "confirmed", 2),
        (DEST_B, "dead_letter", 1),
    ] {
        c.execute(
            "INSERT INTO lane_count (origin, destination, state, n) VALUES (?1, ?2, ?3, ?4)",
            params![ORIGIN.0, dest.0, state, n],
        )
        .unwrap();
    }
    (msgs, events)
}

/// Schema 14 keeps a leased batch as one `delivery_run` row that its submission and its
/// confirmation rewrite, where schema 12 rewrote each message's row. A file of schema 12 keeps
/// every message's state, each history, every event under its number and the lane counts; a
/// batch leased after the upgrade (old messages and a new one) moves the old ones alone (they
/// have rows) and the new one as a run (schema 16), which it leaves when part of the batch is
/// submitted; a message that fails moves alone with its own history.
#[test]
fn a_file_of_schema_12_keeps_every_state_event_and_count() {
    let b = SqliteBackend::new();
    let (msgs, old_events) = write_schema_12(&b);
    let last_old = old_events.last().unwrap().0;
    assert_eq!(last_old, 24, "8 acceptances and 16 changes");

    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), 16);
    s.integrity_check().unwrap();
    let all: Vec<OldEvent> = s
        .events_after(0, 1_000)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.id, e.status, e.reason, e.at.0))
        .collect();
    let mut sorted = old_events.clone();
    sorted.sort_by_key(|e| e.0);
    assert_eq!(all, sorted);
    for (i, m) in msgs.iter().enumerate() {
        let own: Vec<OldEvent> = sorted.iter().filter(|e| e.1 == m.id()).cloned().collect();
        assert_eq!(history_of(&s, m.id()), own, "message {i}");
    }
    let submission = SubmissionId::of(&handle(5));
    let expected = [
        DeliveryState::Pending,
        DeliveryState::Leased {
            owner: owner("a"),
            until: t(9_000),
        },
        DeliveryState::Submitted {
            owner: owner("a"),
            submission,
            submitted_at: t(400),
        },
        DeliveryState::Confirmed { block: 42 },
        DeliveryState::Pending,
        DeliveryState::DeadLetter {
            reason: "gave up".into(),
        },
        DeliveryState::Pending,
        DeliveryState::Confirmed { block: 42 },
    ];
    for (i, (m, state)) in msgs.iter().zip(expected).enumerate() {
        let rec = s.message(m.id()).unwrap().unwrap();
        assert_eq!(rec.delivery.state, state, "message {i}");
        assert_eq!(rec.leaf_index, LeafIndex(i as u64));
    }
    let stats = s.lane_stats().unwrap();
    assert_eq!(
        (stats[0].counts, stats[1].counts),
        (
            StateCounts {
                pending: 3,
                leased: 0,
                submitted: 1,
                confirmed: 0,
                dead_letter: 0,
            },
            StateCounts {
                pending: 0,
                leased: 1,
                submitted: 0,
                confirmed: 2,
                dead_letter: 1,
            }
        )
    );
    assert_eq!(stats[0].oldest_pending_since, Some(t(100)));
    assert_eq!(s.submitted(LANE, 10).unwrap().len(), 1);

    // A new message, then lane A's pending messages (old and new) leased as one run.
    let new = message(ORIGIN, 8, DEST, 0);
    accept(&s, ORIGIN, &[event(new.clone(), 4)], 4, 9_000).unwrap();
    let b_owner = owner("b");
    let req = |now: u64| LeaseRequest {
        lane: LANE,
        owner: &b_owner,
        limit: 10,
        lease_for: Duration::from_secs(60),
        covered_by: LogSize(9),
        policy: policy(12),
        now: t(now),
        rota: None,
    };
    let leased = s.lease_pending(&req(10_000)).unwrap();
    let leaves: Vec<u64> = leased.iter().map(|m| m.leaf_index.0).collect();
    assert_eq!(leaves, vec![0, 4, 6, 8]);
    let ids: Vec<MessageId> = leased.iter().map(|m| m.message.id()).collect();
    let run = |c: &Connection| -> Vec<(String, i64, i64)> {
        c.prepare("SELECT state, size, members FROM delivery_run ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let c = Connection::open(&b.path).unwrap();
    // Schema 16: the old messages have rows and are leased alone; the new one (no row) is a run.
    assert_eq!(run(&c), vec![("leased".to_owned(), 1, 1)]);
    // Message 4 fails alone; the others go on.
    s.record_failure(&causeway_relayer::store::FailureReport {
        id: msgs[4].id(),
        attempt: causeway_relayer::store::Attempt::Leased {
            owner: &owner("b"),
            lease: leased[0].lease,
        },
        reason: "reverted",
        policy: policy(12),
        jitter: 0,
        now: t(10_001),
    })
    .unwrap();
    assert_eq!(run(&c), vec![("leased".to_owned(), 1, 1)]);
    let rest: Vec<MessageId> = ids
        .iter()
        .copied()
        .filter(|&id| id != msgs[4].id())
        .collect();
    s.mark_submitted(&Submission {
        owner: &owner("b"),
        lease: leased[0].lease,
        ids: &rest,
        handle: &handle(9),
        signed: None,
        replaces: None,
        now: t(10_002),
    })
    .unwrap();
    s.confirm(&Confirmation {
        ids: &rest,
        block: 50,
        now: t(10_003),
    })
    .unwrap();
    // The submission of part of a lease (the run's message with others) takes the new message
    // out of its run. Then message 4 again, alone.
    assert_eq!(run(&c), vec![("leased".to_owned(), 1, 0)]);
    let again = s.lease_pending(&req(20_000)).unwrap();
    assert_eq!(
        again.iter().map(|m| m.leaf_index.0).collect::<Vec<_>>(),
        vec![4]
    );
    let one = [msgs[4].id()];
    s.mark_submitted(&Submission {
        owner: &owner("b"),
        lease: again[0].lease,
        ids: &one,
        handle: &handle(10),
        signed: None,
        replaces: None,
        now: t(20_001),
    })
    .unwrap();
    assert_eq!(run(&c), vec![("leased".to_owned(), 1, 0)]);
    assert_eq!(
        s.message(msgs[4].id()).unwrap().unwrap().delivery.state,
        DeliveryState::Submitted {
            owner: owner("b"),
            submission: SubmissionId::of(&handle(10)),
            submitted_at: t(20_001),
        }
    );
    s.confirm(&Confirmation {
        ids: &one,
        block: 51,
        now: t(20_002),
    })
    .unwrap();
    assert_eq!(run(&c), vec![("leased".to_owned(), 1, 0)]);
    let in_runs: i64 = c
        .query_row(
            "SELECT count(*) FROM delivery WHERE state = 'run'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_runs, 0, "since schema 16 no row names a run");
    for m in [&msgs[0], &msgs[4], &msgs[6], &new] {
        let rec = s.message(m.id()).unwrap().unwrap();
        assert!(
            matches!(rec.delivery.state, DeliveryState::Confirmed { .. }),
            "{:?}",
            rec.delivery.state
        );
    }
    // Message 4's history: its old events, then each of its moves, in order.
    let h4: Vec<(MessageStatus, Option<String>)> = s
        .message_history(msgs[4].id())
        .unwrap()
        .into_iter()
        .map(|e| (e.status, e.reason))
        .collect();
    assert_eq!(
        h4,
        vec![
            (MessageStatus::Logged, None),
            (MessageStatus::Leased, None),
            (MessageStatus::Failed, Some("rpc timeout".to_owned())),
            (MessageStatus::Leased, None),
            (MessageStatus::Failed, Some("reverted".to_owned())),
            (MessageStatus::Leased, None),
            (MessageStatus::Submitted, None),
            (MessageStatus::Confirmed, None),
        ]
    );
    let stats = s.lane_stats().unwrap();
    assert_eq!(
        stats[0].counts,
        StateCounts {
            pending: 0,
            leased: 0,
            submitted: 1,
            confirmed: 4,
            dead_letter: 0,
        }
    );
    // Runs, like delivery rows, are never deleted.
    let err = c.execute("DELETE FROM delivery_run", []).unwrap_err();
    assert!(err.to_string().contains("never deleted"), "{err}");
    drop(s);
    assert_eq!(b.open().schema_version().unwrap(), 16, "applied once");
}

/// The migrations from schema 13 to 15, as those builds applied them.
const SCHEMA_13_TO_15: [&str; 3] = [
    include_str!("../../src/store/sqlite/migrations/0013_send_retries.sql"),
    include_str!("../../src/store/sqlite/migrations/0014_delivery_runs.sql"),
    include_str!("../../src/store/sqlite/migrations/0015_native_proof_blob.sql"),
];

/// Writes a file of schema 15: the eight messages of [`write_schema_12`] (every state, rows of
/// their own), then four more of lane `DEST` (leaves 8 to 11, positions 4 to 7, accepted at
/// 108 to 111) in three runs as schema 14's statements left them (each message's row in the
/// state `run`, naming its run): leaves 8 and 9 confirmed in one run, 10 submitted in another,
/// 11 leased in a third (until 9,500), with their events and lane counts. Returns the twelve
/// messages and every event, numbered.
fn write_schema_15(b: &SqliteBackend) -> (Vec<Message>, Vec<OldEvent>) {
    let (mut msgs, mut events) = write_schema_12(b);
    let c = Connection::open(&b.path).unwrap();
    for (i, sql) in SCHEMA_13_TO_15.iter().enumerate() {
        c.execute_batch(sql).unwrap();
        c.execute(
            "INSERT INTO schema_version VALUES (?1, 'old', 0)",
            [i as i64 + 13],
        )
        .unwrap();
    }
    let submission = SubmissionId::of(&handle(6));
    // (run id, state, first and last position, submitted?, confirmed block, lease end)
    type Run15 = (i64, &'static str, i64, i64, bool, Option<i64>, Option<i64>);
    let runs: [Run15; 3] = [
        (100, "confirmed", 4, 5, true, Some(60), None),
        (101, "submitted", 6, 6, true, None, Some(9_800)),
        (102, "leased", 7, 7, false, None, Some(9_500)),
    ];
    for (run, state, first, last, submitted, block, until) in runs {
        c.execute(
            "INSERT INTO delivery_run (id, origin, destination, state, size, members,
                 first_pos, last_pos, digest, lease_owner, lease_until, lease_token,
                 submission_id, submission_handle, submitted_at, confirmed_block, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, zeroblob(32), 'a', ?8, ?9, ?10, ?11, ?12,
                     ?13, ?14)",
            params![
                run,
                ORIGIN.0,
                DEST.0,
                state,
                last - first + 1,
                first,
                last,
                until,
                (state == "leased").then_some(run),
                submitted.then(|| submission.0.0.to_vec()),
                submitted.then(|| serde_json::to_string(&handle(6)).unwrap()),
                submitted.then_some(310),
                block,
                300 + 10 * (run - 100)
            ],
        )
        .unwrap();
        for pos in first..=last {
            let leaf = pos + 4;
            let m = message(ORIGIN, leaf as u64, DEST, 0);
            insert_accepted(&c, &m, leaf);
            c.execute(
                "INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                     attempts, next_attempt_at, created_at, updated_at, lane_pos, run_id)
                 VALUES (?1, ?2, ?3, ?4, 'run', 0, ?5, ?5, 300, ?6, ?7)",
                params![
                    &m.id().0.0[..],
                    ORIGIN.0,
                    DEST.0,
                    leaf,
                    100 + leaf,
                    pos,
                    run
                ],
            )
            .unwrap();
            msgs.push(m);
        }
    }
    // Their events: logged one by one, leased together, then submitted and confirmed by run.
    let mut seq = events.last().unwrap().0 as i64;
    let moves: [(i64, i64, &str, i64); 8] = [
        (8, 8, "logged", 108),
        (9, 9, "logged", 109),
        (10, 10, "logged", 110),
        (11, 11, "logged", 111),
        (8, 11, "leased", 300),
        (8, 9, "submitted", 310),
        (10, 10, "submitted", 310),
        (8, 9, "confirmed", 320),
    ];
    for (from, to, status, at) in moves {
        let n = to - from + 1;
        seq += n;
        c.execute(
            "INSERT INTO message_event (seq, n, origin, destination, first_pos, status, reason, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)",
            params![seq, n, ORIGIN.0, DEST.0, from - 4, status, at],
        )
        .unwrap();
        for leaf in from..=to {
            events.push((
                (seq - n + 1 + leaf - from) as u64,
                msgs[leaf as usize].id(),
                MessageStatus::from_name(status).unwrap(),
                None,
                at as u64,
            ));
        }
    }
    for (state, n) in [("confirmed", 2), ("submitted", 2), ("leased", 1)] {
        c.execute(
            "INSERT INTO lane_count (origin, destination, state, n) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (origin, destination, state) DO UPDATE SET n = ?4",
            params![ORIGIN.0, DEST.0, state, n],
        )
        .unwrap();
    }
    (msgs, events)
}

/// Schema 16 accepts without a delivery row and leases runs of lane positions. A file of schema
/// 15, with messages in every state, alone and in runs of every state, keeps every message's
/// state, history, the lane counts and the oldest unfinished message's time; the messages that
/// were in runs keep their runs' states in rows of their own (their runs count none), so they
/// move alone afterwards; the submitted ones are still followed, the expired lease ends as
/// before, and messages accepted after the upgrade are leased, from the lane's end, as a run.
#[test]
fn a_file_of_schema_15_keeps_every_state_history_count_and_oldest_time() {
    let b = SqliteBackend::new();
    let (msgs, old_events) = write_schema_15(&b);
    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), 16);
    s.integrity_check().unwrap();
    let all: Vec<OldEvent> = s
        .events_after(0, 1_000)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.id, e.status, e.reason, e.at.0))
        .collect();
    let mut sorted = old_events.clone();
    sorted.sort_by_key(|e| e.0);
    assert_eq!(all, sorted);
    for (i, m) in msgs.iter().enumerate() {
        let own: Vec<OldEvent> = sorted.iter().filter(|e| e.1 == m.id()).cloned().collect();
        assert_eq!(history_of(&s, m.id()), own, "message {i}");
    }
    let submission = SubmissionId::of(&handle(6));
    let expected = [
        (8, DeliveryState::Confirmed { block: 60 }),
        (9, DeliveryState::Confirmed { block: 60 }),
        (
            10,
            DeliveryState::Submitted {
                owner: owner("a"),
                submission,
                submitted_at: t(310),
            },
        ),
        (
            11,
            DeliveryState::Leased {
                owner: owner("a"),
                until: t(9_500),
            },
        ),
        (0, DeliveryState::Pending),
        (
            5,
            DeliveryState::DeadLetter {
                reason: "gave up".into(),
            },
        ),
    ];
    for (i, state) in expected {
        let rec = s.message(msgs[i].id()).unwrap().unwrap();
        assert_eq!(rec.delivery.state, state, "message {i}");
        assert_eq!(rec.leaf_index, LeafIndex(i as u64));
    }
    let c = Connection::open(&b.path).unwrap();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM delivery WHERE state = 'run'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM delivery"),
        12,
        "every message keeps a row"
    );
    assert_eq!(count("SELECT sum(members) FROM delivery_run"), 0);
    let stats = s.lane_stats().unwrap();
    assert_eq!(
        (stats[0].counts, stats[1].counts),
        (
            StateCounts {
                pending: 3,
                leased: 1,
                submitted: 2,
                confirmed: 2,
                dead_letter: 0,
            },
            StateCounts {
                pending: 0,
                leased: 1,
                submitted: 0,
                confirmed: 2,
                dead_letter: 1,
            }
        )
    );
    assert_eq!(stats[0].oldest_pending_since, Some(t(100)));
    assert_eq!(stats[1].oldest_pending_since, Some(t(101)));
    let followed: Vec<u64> = s
        .submitted(LANE, 10)
        .unwrap()
        .iter()
        .map(|m| m.leaf_index.0)
        .collect();
    assert_eq!(followed, vec![2, 10]);

    // Two new messages (positions 8 and 9); the lease at 10,000 first ends message 11's
    // expired lease (an attempt used, back to pending), then takes the lane's pending messages
    // (0, 4 and 6 as schema 12 left them, 11, and the new ones): the old rows alone, the new
    // positions as one run.
    let new = [message(ORIGIN, 12, DEST, 0), message(ORIGIN, 13, DEST, 0)];
    accept(
        &s,
        ORIGIN,
        &[event(new[0].clone(), 4), event(new[1].clone(), 4)],
        4,
        9_000,
    )
    .unwrap();
    let leased = s
        .lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &owner("b"),
            limit: 10,
            lease_for: Duration::from_secs(60),
            covered_by: LogSize(14),
            policy: policy(12),
            now: t(10_000),
            rota: None,
        })
        .unwrap();
    let leaves: Vec<(u64, u32)> = leased
        .iter()
        .map(|m| (m.leaf_index.0, m.attempts))
        .collect();
    assert_eq!(
        leaves,
        vec![(0, 0), (4, 1), (6, 0), (11, 1), (12, 0), (13, 0)]
    );
    assert_eq!(
        count("SELECT count(*) FROM delivery_run WHERE members = 2 AND first_pos = 8"),
        1,
        "the new messages are one run"
    );
    assert_eq!(
        count("SELECT count(*) FROM delivery"),
        12,
        "and have no rows"
    );
    let stats = s.lane_stats().unwrap();
    assert_eq!(
        stats[0].counts,
        StateCounts {
            pending: 0,
            leased: 6,
            submitted: 2,
            confirmed: 2,
            dead_letter: 0,
        }
    );
    assert_eq!(stats[0].oldest_pending_since, Some(t(100)));
    drop(s);
    assert_eq!(b.open().schema_version().unwrap(), 16, "applied once");
}
