//! `causeway store`: an origin's cursor shown, and rolled back after a reorganisation only
//! when no accepted message came from above the target.

use causeway_proofs::bundle::SourceReference;
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, Message, Nonce};
use causeway_relayer::store::{
    AcceptBatch, AcceptedEvent, DeliveryStore, LeaseOwner, SourceCursor, SourceStore, SqliteStore,
    UnixMillis,
};

use crate::support::{causeway, text};

const ORIGIN: Domain = Domain(1);

pub(crate) fn block_hash(block: u64) -> Hash32 {
    keccak256(&block.to_be_bytes())
}

/// A store with messages accepted from blocks 5 and 9, its cursor at block 12.
pub(crate) fn store_with_events(db: &std::path::Path) {
    let store = SqliteStore::open(db).unwrap();
    let events: Vec<AcceptedEvent> = [(0, 5), (1, 9)]
        .into_iter()
        .map(|(nonce, block)| {
            let message = Message::new(
                Nonce(nonce),
                ORIGIN,
                Address32::from(EvmAddress([0x11; 20])),
                Domain(2),
                Address32::from(EvmAddress([0x22; 20])),
                b"body".to_vec(),
            )
            .unwrap();
            AcceptedEvent {
                source: SourceReference {
                    block_number: Some(block),
                    block_hash: Some(block_hash(block)),
                    transaction_hash: Some(keccak256(&message.encode())),
                    fabric_tx_id: None,
                    event_index: Some(0),
                },
                native_proof: None,
                message,
            }
        })
        .collect();
    store
        .accept_events(&AcceptBatch {
            origin: ORIGIN,
            events: &events,
            cursor: SourceCursor {
                block_number: 12,
                block_hash: block_hash(12),
            },
            now: UnixMillis(1),
        })
        .unwrap();
}

#[test]
fn a_cursor_is_rolled_back_only_above_the_last_accepted_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    store_with_events(&db);
    let db_arg = db.to_str().unwrap();
    let out = causeway(&["store", "cursor", "--db", db_arg, "--origin", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("cursor at block 12") && text(&out).contains("log of 2 messages"),
        "{}",
        text(&out)
    );

    // Below the message of block 9: refused, with what to do, and nothing changed.
    let hash7 = format!("{}", block_hash(7));
    let out = causeway(&[
        "store", "rollback", "--db", db_arg, "--origin", "1", "--to", "7", "--hash", &hash7,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("from block 9 is already in the log")
            && text(&out).contains("roll back no lower than block 9"),
        "{}",
        text(&out)
    );
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.cursor(ORIGIN).unwrap().unwrap().block_number, 12);

    // To block 10: done, and the new cursor is what the source reads from next.
    let hash10 = format!("{}", block_hash(10));
    let out = causeway(&[
        "store", "rollback", "--db", db_arg, "--origin", "1", "--to", "10", "--hash", &hash10,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("moved back from block 12"),
        "{}",
        text(&out)
    );
    assert_eq!(
        store.cursor(ORIGIN).unwrap(),
        Some(SourceCursor {
            block_number: 10,
            block_hash: block_hash(10)
        })
    );

    // Not beside a running gateway: refused, naming it, and nothing changed.
    let running = SqliteStore::open(&db).unwrap();
    let claim = running
        .claim_owner(&LeaseOwner("org1-gateway".into()))
        .unwrap();
    let hash9 = format!("{}", block_hash(9));
    let out = causeway(&[
        "store", "rollback", "--db", db_arg, "--origin", "1", "--to", "9", "--hash", &hash9,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("a gateway is running") && text(&out).contains("org1-gateway"),
        "{}",
        text(&out)
    );
    assert_eq!(store.cursor(ORIGIN).unwrap().unwrap().block_number, 10);
    drop(claim);

    // Forward, a malformed hash, a file that is not a store: refused, saying why.
    let out = causeway(&[
        "store", "rollback", "--db", db_arg, "--origin", "1", "--to", "11", "--hash", &hash10,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = causeway(&[
        "store", "rollback", "--db", db_arg, "--origin", "1", "--to", "9", "--hash", "0x12",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("0x and 64 hex digits"),
        "{}",
        text(&out)
    );
    let missing = dir.path().join("nope.db");
    let out = causeway(&[
        "store",
        "cursor",
        "--db",
        missing.to_str().unwrap(),
        "--origin",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("is not a store file"), "{}", text(&out));
    assert!(!missing.exists(), "no store was created");
}
