//! Shared test values: messages, events, cursors and a SQLite backend in a temporary folder.

/// The pipeline harness: a relayer over in-memory chains, probes and fault switches.
pub(crate) mod pipeline;

use std::path::PathBuf;
use std::time::Duration;

use causeway_adapters::SubmissionHandle;
use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{
    Address32, Checkpoint, Domain, EvmAddress, Hash32, HashAlgorithm, LogSize, Message, Nonce,
    Signature,
};
use causeway_relayer::store::{
    AcceptBatch, AcceptOutcome, AcceptedEvent, Lane, LeaseClock, LeaseOwner, PgOptions, PgStore,
    RetryPolicy, SourceCursor, SqliteStore, Store, UnixMillis, ValidatorSignature,
};
use tempfile::TempDir;

/// Opens new handles on one database. The conformance suite is written against this, so a
/// PostgreSQL backend provides its own `open` (same database, new connection) and reuses it.
pub trait Backend {
    /// The store type.
    type S: Store + 'static;
    /// A new handle on the same database: a second connection, or the reopen after a crash.
    fn open(&self) -> Self::S;
    /// Arms the failpoint of `s`: its next mutating call runs but never commits.
    fn crash_before_next_commit(s: &Self::S);
    /// Checks the database's own consistency after a crash (SQLite's `integrity_check`;
    /// PostgreSQL's write-ahead log needs no such check).
    fn integrity_check(_s: &Self::S) {}
}

/// SQLite in a fresh temporary folder.
pub struct SqliteBackend {
    _dir: TempDir,
    pub path: PathBuf,
}

impl SqliteBackend {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relayer.sqlite");
        SqliteBackend { _dir: dir, path }
    }

    /// The columns of `table`, read from the database file on a connection of its own.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let c = rusqlite::Connection::open(&self.path).unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

impl Backend for SqliteBackend {
    type S = SqliteStore;
    fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path).unwrap()
    }
    fn crash_before_next_commit(s: &SqliteStore) {
        s.crash_before_next_commit();
    }
    fn integrity_check(s: &SqliteStore) {
        s.integrity_check().unwrap();
    }
}

/// The PostgreSQL cluster every PostgreSQL test of this binary shares (a database each); its
/// supervisor stops it and removes its folder when the test process ends.
pub fn shared_postgres() -> &'static causeway_devnet::postgres::PostgresNode {
    static NODE: std::sync::OnceLock<causeway_devnet::postgres::PostgresNode> =
        std::sync::OnceLock::new();
    NODE.get_or_init(|| causeway_devnet::postgres::PostgresNode::start().unwrap())
}

/// A new database with a unique name on `node`; its URL.
pub fn new_database(node: &causeway_devnet::postgres::PostgresNode) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    node.create_database(&format!("t{}_{n}", std::process::id()))
        .unwrap()
}

/// PostgreSQL: a new database of the shared cluster, on the caller's clock (the suite drives
/// time by hand).
pub struct PgBackend {
    pub url: String,
}

impl PgBackend {
    pub fn new() -> Self {
        PgBackend {
            url: new_database(shared_postgres()),
        }
    }
}

impl Backend for PgBackend {
    type S = PgStore;
    fn open(&self) -> PgStore {
        PgStore::open_with(
            &self.url,
            None,
            PgOptions {
                clock: LeaseClock::Caller,
                ..PgOptions::default()
            },
        )
        .unwrap()
    }
    fn crash_before_next_commit(s: &PgStore) {
        s.crash_before_next_commit();
    }
}

pub const ORIGIN: Domain = Domain(1);
pub const DEST: Domain = Domain(2);
pub const LANE: Lane = Lane {
    origin: ORIGIN,
    destination: DEST,
};

pub fn t(ms: u64) -> UnixMillis {
    UnixMillis(ms)
}

pub fn owner(name: &str) -> LeaseOwner {
    LeaseOwner(name.to_owned())
}

/// A message of `origin` with `nonce` to `destination`; `variant` changes the body (same nonce,
/// different message: equivocation).
pub fn message(origin: Domain, nonce: u64, destination: Domain, variant: u8) -> Message {
    Message::new(
        Nonce(nonce),
        origin,
        Address32::from(EvmAddress([0x11; 20])),
        destination,
        Address32::from(EvmAddress([0x22; 20])),
        format!("body {origin} {nonce} {variant}").into_bytes(),
    )
    .unwrap()
}

pub fn block_hash(block: u64) -> Hash32 {
    keccak256(&block.to_be_bytes())
}

pub fn cursor(block: u64) -> SourceCursor {
    SourceCursor {
        block_number: block,
        block_hash: block_hash(block),
    }
}

/// An event as the EVM source would emit it, observed in `block`.
pub fn event(message: Message, block: u64) -> AcceptedEvent {
    let tx = keccak256(&message.encode());
    AcceptedEvent {
        source: SourceReference {
            block_number: Some(block),
            block_hash: Some(block_hash(block)),
            transaction_hash: Some(tx),
            fabric_tx_id: None,
            event_index: Some(message.nonce().0 % 7),
        },
        native_proof: Some(NativeProof {
            family: ChainFamily::Evm,
            data: serde_json::json!({ "receipt_proof": [tx.to_hex()], "block": block }),
        }),
        message,
    }
}

/// Accepts `events` of `origin` with the cursor at `block`.
pub fn accept(
    s: &dyn Store,
    origin: Domain,
    events: &[AcceptedEvent],
    block: u64,
    now: u64,
) -> causeway_relayer::store::Result<AcceptOutcome> {
    s.accept_events(&AcceptBatch {
        origin,
        events,
        cursor: cursor(block),
        now: t(now),
    })
}

/// Accepts `n` new messages (nonces `first..first+n`) to `DEST`, all observed in `block`.
pub fn accept_new(s: &dyn Store, first: u64, n: u64, block: u64, now: u64) -> Vec<Message> {
    let msgs: Vec<Message> = (first..first + n)
        .map(|i| message(ORIGIN, i, DEST, 0))
        .collect();
    let events: Vec<AcceptedEvent> = msgs.iter().map(|m| event(m.clone(), block)).collect();
    accept(s, ORIGIN, &events, block, now).unwrap();
    msgs
}

/// A checkpoint of `ORIGIN` at `size` with a made-up, non-zero root (`variant` changes it).
pub fn checkpoint(size: u64, variant: u8) -> Checkpoint {
    let mut seed = size.to_be_bytes().to_vec();
    seed.push(variant);
    Checkpoint::new(
        ORIGIN,
        HashAlgorithm::Sha256,
        LogSize(size),
        keccak256(&seed),
    )
    .unwrap()
}

/// A well-formed (not verified here) signature attributed to validator `v`.
pub fn validator_sig(v: u8) -> ValidatorSignature {
    let mut bytes = [v; 65];
    bytes[64] = 27;
    ValidatorSignature {
        validator: EvmAddress([v; 20]),
        signature: Signature::from_slice(&bytes).unwrap(),
    }
}

/// A submission handle as the EVM adapter writes one, for nonce `n` (distinct per `n`).
pub fn handle(n: u64) -> SubmissionHandle {
    SubmissionHandle {
        family: ChainFamily::Evm,
        data: serde_json::json!({ "from": "0x01", "nonce": n, "transactions": ["0x07"] }),
    }
}

pub fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(1_000),
        max_delay: Duration::from_millis(8_000),
        max_attempts,
    }
}

/// An EVM source proof from real tries of 100 receipts and transactions, as a block of
/// dispatches has (message 42 of block 10), as a native proof.
pub fn evm_native_proof() -> causeway_proofs::bundle::NativeProof {
    use causeway_proofs::evm::{EvmSourceProof, ReceiptTrie, TransactionTrie};
    let receipts: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 600]).collect();
    let transactions: Vec<Vec<u8>> = (0..100u8).map(|i| vec![!i; 250]).collect();
    EvmSourceProof {
        header: vec![0xf9; 600],
        receipt_proof: ReceiptTrie::new(&receipts)
            .proof(42)
            .expect("index 42 of 100")
            .with_block_hash(block_hash(10)),
        log_index_in_receipt: 0,
        transaction_proof: Some(
            TransactionTrie::new(&transactions)
                .proof(42)
                .expect("index 42 of 100"),
        ),
    }
    .to_native_proof()
    .expect("serialises")
}
