//! A database written by the previous schema (2: EVM's `tx_hash`/`tx_nonce` columns) opened by
//! this build: migrated in place to the family-neutral schema, every row kept with its meaning,
//! and the migrated file works like a new one.

use std::time::Duration;

use causeway_adapters::SubmissionHandle;
use causeway_proofs::{HashAlgorithm, LeafIndex, LogSize, Message};
use causeway_relayer::store::{ApiStore, CheckpointStore, MessageStatus, Submission};
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
                100 + i
            ],
        )
        .unwrap();
        c.execute(
            "INSERT INTO log_leaf (origin, leaf_index, message_id) VALUES (?1, ?2, ?3)",
            params![ORIGIN.0, i, &m.id().0.0[..]],
        )
        .unwrap();
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
    assert_eq!(s.schema_version().unwrap(), 11);
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
    assert_eq!(b.open().schema_version().unwrap(), 11, "applied once");
}
