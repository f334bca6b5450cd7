//! [`SqliteStore`]: the embedded [`Store`](super::Store), one SQLite file in WAL mode.
//!
//! Every mutating call runs in one `BEGIN IMMEDIATE` transaction: it takes the database's write
//! lock up front (waiting up to the busy timeout for another connection or process to finish),
//! so two handles never interleave a read-then-write and leases stay exclusive across
//! processes. Reads run in deferred transactions and, thanks to WAL, never wait for writers.
//!
//! Durability ("everything accepted is durable before it is acknowledged", DESIGN.md Storage):
//! `synchronous = FULL`. In WAL mode `NORMAL` is crash-safe for a *process* crash, but a power
//! loss or kernel panic can roll back the last transactions committed before the next WAL
//! checkpoint, i.e. calls that already returned `Ok`. A cursor or a `Submitted` record lost that
//! way would be redone (re-read, re-sent), but the contract says `Ok` means durable, so each
//! commit fsyncs the WAL. The cost is one fsync per call; batches amortise it.

pub(super) mod api;
mod checkpoint;
pub(super) mod codec;
mod delivery;
mod history;
mod migrate;
pub(super) mod outbound;
pub(super) mod query;
mod runs;
mod source;
mod timings;

pub use timings::{StoreTimings, StoreTimingsSnapshot, TransactionKind};

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use causeway_proofs::attestation::Equivocation;
use causeway_proofs::{Domain, LeafIndex, LogSize, Message, MessageId};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use super::{
    AcceptBatch, AcceptOutcome, CheckpointOutcome, CheckpointRecord, CheckpointStore, Confirmation,
    DeadLetter, DeliveryStore, FailureOutcome, FailureReport, Lane, LaneStats, LastDelivery,
    LeaseOwner, LeaseRequest, LeasedMessage, MemberSignatureOutcome, MemberSignatureRecord,
    MessageRecord, OwnerClaim, QueryStore, Renewal, Result, SourceCursor, SourceStore,
    StoredCheckpoint, Submission, SubmissionId, SubmittedMessage, TakeOver, UnixMillis,
    ValidatorActivity,
};
use super::{
    ApiStore, AuditRecord, MessageFilter, MessageRead, MessageReadout, MessageSummary, NewToken,
    ReadWait, StatusEvent, TokenId, TokenRecord,
};
use super::{
    EnvelopeRecord, GrantRecord, NewEnvelope, NewGrant, NewSendRequest, OutboundStore, SendLease,
    SendLeaseRequest, SendRequest, SendRequestId,
};
use crate::Error;

/// How to open a [`SqliteStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a call waits for another connection's write lock before failing with
    /// [`Error::Busy`].
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    /// A 5 s busy timeout: far above any single transaction here, well below an RPC timeout.
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The SQLite implementation of [`Store`](super::Store).
///
/// One handle owns one connection (behind a mutex, so a handle can be shared between threads);
/// several handles, in one process or several, may open the same file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    timings: StoreTimings,
    #[cfg(feature = "failpoints")]
    crash_before_commit: std::sync::atomic::AtomicBool,
}

/// The lock file, in the owners folder, that running instances hold shared and maintenance alone.
const STORE_LOCK: &str = "store.lock";

/// Opens (creating if needed, never truncating) a file that is only ever `flock`ed.
fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` with default options, and brings its
    /// schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the store at `path` with `options`: sets WAL mode, `synchronous = FULL`, foreign
    /// keys and the busy timeout, then applies the embedded migrations not yet applied. Fails
    /// with [`Error::SchemaTooNew`] if a newer build has migrated the file.
    ///
    /// Several processes may open a new file at once: switching it to WAL and migrating it
    /// need the file to themselves for a moment, and SQLite can answer busy there without
    /// waiting for the busy timeout (a lock upgrade it would otherwise deadlock on), so the
    /// whole opening is tried again until the busy timeout has passed.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let started = std::time::Instant::now();
        let (conn, version) = loop {
            match Self::connect(&path, options) {
                Err(Error::Busy { op }) if started.elapsed() < options.busy_timeout => {
                    tracing::debug!(path = %path.display(), op, "database busy while opening; trying again");
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        tracing::debug!(path = %path.display(), schema_version = version, "opened SQLite store");
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path,
            timings: StoreTimings::default(),
            #[cfg(feature = "failpoints")]
            crash_before_commit: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Opens an existing store for reading only, beside a running gateway (`causeway status`):
    /// creates no file, applies no migration and never takes the write lock (the connection is
    /// `query_only`); each read is one WAL snapshot, which neither waits for the gateway's
    /// writes nor holds them up. Fails with [`Error::SchemaTooNew`] or [`Error::SchemaTooOld`]
    /// when the file is not at this build's schema.
    pub fn open_read_only(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        // Read-write flags without CREATE: SQLite may need to create the WAL's shared-memory
        // file beside a store whose gateway is not running; `query_only` forbids every write to
        // the database itself.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(sql("open"))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(sql("set busy timeout"))?;
        conn.pragma_update(None, "query_only", "ON")
            .map_err(sql("set query_only"))?;
        conn.pragma_update(None, "trusted_schema", "OFF")
            .map_err(sql("set trusted_schema"))?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
            path,
            timings: StoreTimings::default(),
            #[cfg(feature = "failpoints")]
            crash_before_commit: std::sync::atomic::AtomicBool::new(false),
        };
        let found = store.read("read schema version", |tx| {
            let has_table: bool = tx
                .query_row(
                    "SELECT count(*) > 0 FROM sqlite_master
                     WHERE type = 'table' AND name = 'schema_version'",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql("read schema version"))?;
            if has_table {
                migrate::current_version(tx)
            } else {
                Ok(0)
            }
        })?;
        Error::check_read_only_schema(found, migrate::LATEST_VERSION)?;
        Ok(store)
    }

    /// One attempt at opening: connect, configure, migrate.
    fn connect(path: &Path, options: SqliteOptions) -> Result<(Connection, u32)> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(sql("open"))?;
        configure(&conn, options)?;
        let version = migrate::migrate(&mut conn)?;
        Ok((conn, version))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the file is at (the last applied migration).
    pub fn schema_version(&self) -> Result<u32> {
        self.read("schema_version", migrate::current_version)
    }

    /// Runs SQLite's `PRAGMA integrity_check` (b-trees, indices, constraints); fails with
    /// [`Error::Corrupt`] listing what it found.
    pub fn integrity_check(&self) -> Result<()> {
        self.read("integrity_check", |tx| {
            let mut stmt = tx
                .prepare("PRAGMA integrity_check")
                .map_err(sql("integrity_check"))?;
            let rows: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .map_err(sql("integrity_check"))?
                .collect::<rusqlite::Result<_>>()
                .map_err(sql("integrity_check"))?;
            if rows == ["ok"] {
                Ok(())
            } else {
                Err(Error::Corrupt {
                    what: "database file",
                    reason: rows.join("; "),
                })
            }
        })
    }

    /// The folder of the instance-name locks of this file (one per file, however its path is
    /// spelt: a symlink, a relative path).
    fn owners_folder(&self) -> std::io::Result<PathBuf> {
        let mut folder = std::fs::canonicalize(&self.path)?.into_os_string();
        folder.push(".owners");
        Ok(PathBuf::from(folder))
    }

    /// Holds the store for an operator's tool that must run alone (`causeway store rollback`):
    /// fails with [`Error::StoreInUse`], naming them, while instances run on it, and no instance
    /// starts ([`Error::StoreInMaintenance`]) until the returned guard is dropped.
    pub fn hold_for_maintenance(&self) -> Result<OwnerClaim> {
        let io = |source: std::io::Error| Error::Backend {
            op: "hold the store for maintenance",
            source: Box::new(source),
        };
        let folder = self.owners_folder().map_err(io)?;
        std::fs::create_dir_all(&folder).map_err(io)?;
        let store_lock = open_lock_file(&folder.join(STORE_LOCK)).map_err(io)?;
        match store_lock.try_lock() {
            Ok(()) => Ok(OwnerClaim(Box::new(store_lock))),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::StoreInUse {
                store: self.path.display().to_string(),
                owners: self.live_owners()?.join(", "),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// The names of the instances running on this file now (each holds its name's lock, see
    /// [`DeliveryStore::claim_owner`](super::DeliveryStore::claim_owner)): an operator's tool
    /// that must not run beside a gateway checks it is empty.
    pub fn live_owners(&self) -> Result<Vec<String>> {
        let io = |source: std::io::Error| Error::Backend {
            op: "list running instances",
            source: Box::new(source),
        };
        let folder = self.owners_folder().map_err(io)?;
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(e)),
        };
        let mut live = Vec::new();
        for entry in entries {
            let path = entry.map_err(io)?.path();
            if path.extension().is_none_or(|e| e != "lock")
                || path.file_name().is_some_and(|n| n == STORE_LOCK)
            {
                continue;
            }
            let file = std::fs::File::open(&path).map_err(io)?;
            match file.try_lock_shared() {
                // Free: nobody runs under that name (the lock goes with the file handle).
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let name = std::fs::read_to_string(&path).unwrap_or_default();
                    live.push(name.trim().to_owned());
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        live.sort();
        Ok(live)
    }

    /// Test failpoint: the next mutating call runs all its statements but never commits, and
    /// leaves its transaction open on the connection, as if the process died just before
    /// `COMMIT`. The call fails with [`Error::InjectedCrash`]; drop the handle and reopen.
    #[cfg(feature = "failpoints")]
    pub fn crash_before_next_commit(&self) {
        self.crash_before_commit
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// This handle's transaction timings (shared: the handle keeps counting into them).
    pub fn timings(&self) -> StoreTimings {
        self.timings.clone()
    }

    /// This handle, counting its transactions into `timings` instead of its own: several
    /// handles of one role (the API's) share one set of figures.
    pub fn with_timings(mut self, timings: StoreTimings) -> Self {
        self.timings = timings;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held unwound through the transaction guard, which rolled
        // the transaction back: the connection itself is fine to reuse.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in one write transaction and commits it (durably, see the module docs); timed
    /// in [`StoreTimings`].
    fn write<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        if !causeway_adapters::metrics::updates_enabled() {
            return self.write_untimed(op, f);
        }
        let started = std::time::Instant::now();
        let out = self.write_untimed(op, f);
        self.timings
            .observe(TransactionKind::Write, started.elapsed(), out.is_err());
        out
    }

    fn write_untimed<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(op))?;
        migrate::refuse_newer(&tx)?;
        let out = f(&tx)?;
        #[cfg(feature = "failpoints")]
        if self
            .crash_before_commit
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            let mut tx = tx;
            tx.set_drop_behavior(rusqlite::DropBehavior::Ignore);
            drop(tx);
            return Err(Error::InjectedCrash { op });
        }
        tx.commit().map_err(sql(op))?;
        Ok(out)
    }

    /// Runs `f` in one read transaction (a consistent snapshot); timed in [`StoreTimings`].
    fn read<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        if !causeway_adapters::metrics::updates_enabled() {
            return self.read_untimed(op, f);
        }
        let started = std::time::Instant::now();
        let out = self.read_untimed(op, f);
        self.timings
            .observe(TransactionKind::Read, started.elapsed(), out.is_err());
        out
    }

    fn read_untimed<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(sql(op))?;
        let out = f(&tx)?;
        tx.commit().map_err(sql(op))?;
        Ok(out)
    }
}

/// Per-connection settings. `journal_mode` is stored in the file; the others are per connection.
fn configure(conn: &Connection, options: SqliteOptions) -> Result<()> {
    conn.busy_timeout(options.busy_timeout)
        .map_err(sql("set busy timeout"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(sql("enable WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Backend {
            op: "enable WAL",
            source: format!("SQLite kept journal_mode = {mode} (WAL unsupported here?)").into(),
        });
    }
    // FULL, not NORMAL: see the module docs ("durable before acknowledged").
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql("set synchronous"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql("enable foreign keys"))?;
    // 32 MiB of pages per connection (the default is 2 MiB): the id indices are looked up at
    // random, and a page read from the OS page cache instead is a copy per lookup.
    conn.pragma_update(None, "cache_size", -32_768)
        .map_err(sql("set cache size"))?;
    // Schema triggers are ours; never run functions a crafted schema could name.
    conn.pragma_update(None, "trusted_schema", "OFF")
        .map_err(sql("set trusted_schema"))?;
    // Every statement of the store stays prepared (`prepare_cached`). rusqlite keeps 16 per
    // connection by default, fewer than the delivery path alone runs: each delivery round
    // re-prepared the ones pushed out, ~4 % of a gateway's CPU in `bench pipeline` at schema
    // 12 and 11 % with the delivery runs (schema 14), which run a few more. The store has
    // under a hundred.
    conn.set_prepared_statement_cache_capacity(256);
    // The query planner's stability guarantee: no plan depends on a bound value. Without it
    // SQLite marks a statement whose `LIMIT` is a parameter (the lease, the take-over, the
    // log's leaves, the lane reads) to be planned again whenever that parameter is bound,
    // which is every call: the lease statement was parsed and planned anew on each lease,
    // ~2 % of a gateway's CPU in `bench pipeline`. The store's plans never used the values
    // (its lane statements name their index; its partial indices' conditions are literals).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(sql("enable the query planner stability guarantee"))?;
    // `rarray(?)`: a batch's message ids bound as one parameter, so a transition over a batch
    // is one statement instead of one per message (see `delivery::ids_param`).
    rusqlite::vtab::array::load_module(conn).map_err(sql("load the rarray module"))?;
    Ok(())
}

/// Maps a SQLite error during `op`: lock contention past the busy timeout is [`Error::Busy`]
/// (transient), anything else [`Error::Backend`].
fn sql(op: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Busy { op },
        _ => Error::Backend {
            op,
            source: Box::new(e),
        },
    }
}

impl SourceStore for SqliteStore {
    fn cursor(&self, origin: Domain) -> Result<Option<SourceCursor>> {
        self.read("read cursor", |tx| source::cursor(tx, origin))
    }

    fn accept_events(&self, batch: &AcceptBatch<'_>) -> Result<AcceptOutcome> {
        self.write("accept events", |tx| source::accept(tx, batch))
    }

    fn rollback_to(
        &self,
        origin: Domain,
        to: SourceCursor,
        now: UnixMillis,
    ) -> Result<Option<SourceCursor>> {
        self.write("roll back cursor", |tx| {
            source::rollback(tx, origin, to, now)
        })
    }

    fn leaves(&self, origin: Domain, from: LeafIndex, limit: usize) -> Result<Vec<MessageId>> {
        self.read("read leaves", |tx| source::leaves(tx, origin, from, limit))
    }

    fn log_size(&self, origin: Domain) -> Result<LogSize> {
        self.read("read log size", |tx| source::log_size(tx, origin))
    }
}

impl CheckpointStore for SqliteStore {
    fn record_checkpoint(&self, record: &CheckpointRecord<'_>) -> Result<CheckpointOutcome> {
        self.write("record checkpoint", |tx| checkpoint::record(tx, record))
    }

    fn record_member_signature(
        &self,
        record: &MemberSignatureRecord,
    ) -> Result<MemberSignatureOutcome> {
        self.write("record a member's signature", |tx| {
            checkpoint::record_member(tx, record)
        })
    }

    fn equivocations(&self, lane: Lane) -> Result<Vec<Equivocation>> {
        self.read("read equivocation evidence", |tx| {
            checkpoint::equivocations(tx, lane)
        })
    }

    fn latest_checkpoint(
        &self,
        lane: Lane,
        min_signatures: usize,
    ) -> Result<Option<StoredCheckpoint>> {
        self.read("read latest checkpoint", |tx| {
            checkpoint::latest(tx, lane, min_signatures)
        })
    }
}

impl DeliveryStore for SqliteStore {
    fn lease_pending(&self, req: &LeaseRequest<'_>) -> Result<Vec<LeasedMessage>> {
        self.write("lease pending messages", |tx| delivery::lease(tx, req))
    }

    fn mark_submitted(&self, submission: &Submission<'_>) -> Result<()> {
        self.write("mark submitted", |tx| delivery::submitted(tx, submission))
    }

    fn signed_submission(&self, submission: SubmissionId) -> Result<Option<Vec<u8>>> {
        self.read("read signed submission", |tx| {
            delivery::signed(tx, submission)
        })
    }

    fn confirm(&self, confirmation: &Confirmation<'_>) -> Result<()> {
        self.write("confirm delivery", |tx| delivery::confirm(tx, confirmation))
    }

    fn record_failure(&self, report: &FailureReport<'_>) -> Result<FailureOutcome> {
        self.write("record failure", |tx| delivery::failure(tx, report))
    }

    fn retry_dead_letter(&self, id: MessageId, now: UnixMillis) -> Result<()> {
        self.write("retry dead letter", |tx| delivery::retry_dead(tx, id, now))
    }

    fn take_over_submitted(&self, req: &TakeOver<'_>) -> Result<Vec<SubmittedMessage>> {
        self.write("take over submitted", |tx| delivery::take_over(tx, req))
    }

    fn renew_submitted(&self, renewal: &Renewal<'_>) -> Result<usize> {
        self.write("renew submitted", |tx| delivery::renew(tx, renewal))
    }

    /// An exclusive lock (`flock`) on a file per name in the folder `<store file>.owners/`:
    /// the operating system releases it when the process ends, however it ends, so a crashed
    /// instance never blocks its restart.
    fn claim_owner(&self, owner: &LeaseOwner) -> Result<OwnerClaim> {
        let op = "claim instance name";
        let io = |source: std::io::Error| Error::Backend {
            op,
            source: Box::new(source),
        };
        let folder = self.owners_folder().map_err(io)?;
        std::fs::create_dir_all(&folder).map_err(io)?;
        // Every running instance holds the store's lock shared; maintenance holds it alone.
        let store_lock = open_lock_file(&folder.join(STORE_LOCK)).map_err(io)?;
        match store_lock.try_lock_shared() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::StoreInMaintenance {
                    store: self.path.display().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let digest = causeway_proofs::hash::keccak256(owner.0.as_bytes());
        let file = open_lock_file(&folder.join(format!("{}.lock", hex::encode(&digest.0[..16]))))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::OwnerInUse {
                    owner: owner.clone(),
                    store: self.path.display().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        // For people looking at the folder: whose lock it is.
        let _ = file.set_len(0);
        let _ = std::io::Write::write_all(&mut &file, format!("{}\n", owner.0).as_bytes());
        Ok(OwnerClaim(Box::new((file, store_lock))))
    }
}

impl QueryStore for SqliteStore {
    fn message(&self, id: MessageId) -> Result<Option<MessageRecord>> {
        self.read("read message", |tx| query::message(tx, id))
    }

    fn message_body(&self, id: MessageId) -> Result<Option<Message>> {
        self.read("read message body", |tx| query::message_body(tx, id))
    }

    fn lane_stats(&self) -> Result<Vec<LaneStats>> {
        self.read("read lane stats", query::lane_stats)
    }

    fn submitted(&self, lane: Lane, limit: usize) -> Result<Vec<SubmittedMessage>> {
        self.read("read submitted", |tx| query::submitted(tx, lane, limit))
    }

    fn validator_activity(&self, lane: Lane) -> Result<Vec<ValidatorActivity>> {
        self.read("read validator activity", |tx| {
            query::validator_activity(tx, lane)
        })
    }

    fn last_delivery(&self, lane: Lane) -> Result<Option<LastDelivery>> {
        self.read("read last delivery", |tx| query::last_delivery(tx, lane))
    }

    fn dead_letters(&self, lane: Lane, limit: usize) -> Result<Vec<DeadLetter>> {
        self.read("read dead letters", |tx| {
            query::dead_letters(tx, lane, limit)
        })
    }
}

impl ApiStore for SqliteStore {
    fn message_readout(&self, read: &MessageRead<'_>) -> Option<Result<MessageReadout>> {
        let in_one = |tx: &Transaction<'_>| -> Result<MessageReadout> {
            let token = api::token_by_hash(tx, read.credential)?;
            let mut out = MessageReadout {
                token,
                message: None,
                history: Vec::new(),
                checkpoint: None,
            };
            if out.token.is_none() {
                return Ok(out);
            }
            out.message = query::message(tx, read.id)?;
            if let Some(record) = &out.message {
                out.history = api::history(tx, read.id)?;
                let lane = record.delivery.lane;
                if let Some(threshold) = (read.threshold)(lane) {
                    out.checkpoint = checkpoint::latest(tx, lane, threshold)?;
                }
            }
            Ok(out)
        };
        match read.wait {
            ReadWait::Block => Some(self.read("read message with token", in_one)),
            ReadWait::IfIdle => {
                let mut conn = match self.conn.try_lock() {
                    Ok(conn) => conn,
                    Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => return None,
                };
                let started = std::time::Instant::now();
                let out = (|| {
                    let op = "read message with token";
                    let tx = conn
                        .transaction_with_behavior(TransactionBehavior::Deferred)
                        .map_err(sql(op))?;
                    let out = in_one(&tx)?;
                    tx.commit().map_err(sql(op))?;
                    Ok(out)
                })();
                if causeway_adapters::metrics::updates_enabled() {
                    self.timings
                        .observe(TransactionKind::Read, started.elapsed(), out.is_err());
                }
                Some(out)
            }
        }
    }

    fn create_token(&self, token: &NewToken<'_>) -> Result<TokenId> {
        self.write("create token", |tx| api::create_token(tx, token))
    }

    fn revoke_token(&self, id: TokenId, actor: &str, now: UnixMillis) -> Result<()> {
        self.write("revoke token", |tx| api::revoke_token(tx, id, actor, now))
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.read("list tokens", api::tokens)
    }

    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        self.read("read token", |tx| api::token_by_hash(tx, hash))
    }

    fn retry_dead_letter_as(&self, id: MessageId, actor: &str, now: UnixMillis) -> Result<()> {
        self.write("retry dead letter", |tx| {
            delivery::retry_dead(tx, id, now)?;
            api::audit(tx, actor, "message.retry", &id.to_string(), now)
        })
    }

    fn audit(&self, actor: &str, action: &str, target: &str, now: UnixMillis) -> Result<()> {
        self.write("write audit row", |tx| {
            api::audit(tx, actor, action, target, now)
        })
    }

    fn audit_trail(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        self.read("read audit trail", |tx| api::audit_trail(tx, after, limit))
    }

    fn message_history(&self, id: MessageId) -> Result<Vec<StatusEvent>> {
        self.read("read message history", |tx| api::history(tx, id))
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StatusEvent>> {
        self.read("read message events", |tx| {
            api::events_after(tx, after, limit)
        })
    }

    fn last_event_seq(&self) -> Result<u64> {
        self.read("read last event", api::last_event_seq)
    }

    fn search_messages(&self, filter: &MessageFilter) -> Result<Vec<MessageSummary>> {
        self.read("search messages", |tx| api::search(tx, filter))
    }
}

impl OutboundStore for SqliteStore {
    fn record_send_requests(
        &self,
        requests: &[NewSendRequest<'_>],
        now: UnixMillis,
    ) -> Result<Vec<SendRequestId>> {
        self.write("record send requests", |tx| {
            outbound::record_requests(tx, requests, now)
        })
    }

    fn send_request(&self, id: SendRequestId) -> Result<Option<SendRequest>> {
        self.read("read send request", |tx| outbound::request(tx, id))
    }

    fn open_send_requests(&self, origin: Domain, limit: usize) -> Result<Vec<SendRequest>> {
        self.read("read open send requests", |tx| {
            outbound::open_requests(tx, origin, limit)
        })
    }

    fn lease_send_requests(&self, req: &SendLeaseRequest<'_>) -> Result<Vec<SendRequest>> {
        self.write("lease send requests", |tx| {
            outbound::lease_requests(tx, req)
        })
    }

    fn renew_send_lease(
        &self,
        lease: &SendLease,
        lease_for: std::time::Duration,
        now: UnixMillis,
    ) -> Result<SendLease> {
        self.write("renew a send request's lease", |tx| {
            outbound::renew_lease(tx, lease, now.saturating_add(lease_for))
        })
    }

    fn record_sealed(
        &self,
        lease: &SendLease,
        nonce: u64,
        message_id: MessageId,
        envelope: Option<&NewEnvelope<'_>>,
        now: UnixMillis,
    ) -> Result<()> {
        self.write("record sealed request", |tx| {
            outbound::record_sealed(tx, lease, nonce, message_id, envelope, now)
        })
    }

    fn record_submitted(
        &self,
        lease: &SendLease,
        tx_hash: causeway_proofs::Hash32,
        now: UnixMillis,
    ) -> Result<()> {
        self.write("record a sealed request's transaction", |tx| {
            outbound::record_submitted(tx, lease, tx_hash, now)
        })
    }

    fn record_dispatched(
        &self,
        lease: &SendLease,
        tx_hash: causeway_proofs::Hash32,
        now: UnixMillis,
    ) -> Result<()> {
        self.write("record dispatched request", |tx| {
            outbound::record_dispatched(tx, lease, tx_hash, now)
        })
    }

    fn record_send_failure(
        &self,
        lease: &SendLease,
        reason: &str,
        then: super::AfterFailure,
        now: UnixMillis,
    ) -> Result<()> {
        self.write("record send failure", |tx| {
            let retry_at = outbound::retry_after_failure(then, now);
            outbound::record_failure(tx, lease, reason, then, retry_at, now)
        })
    }

    fn defer_send_request(
        &self,
        lease: &SendLease,
        reason: &str,
        delay: std::time::Duration,
        holdup: super::Holdup,
        now: UnixMillis,
    ) -> Result<()> {
        self.write("put a send request off", |tx| {
            outbound::defer(tx, lease, reason, now.saturating_add(delay), holdup, now)
        })
    }

    fn store_envelope(&self, envelope: &NewEnvelope<'_>, now: UnixMillis) -> Result<bool> {
        self.write("store envelope", |tx| {
            outbound::store_envelope(tx, envelope, now)
        })
    }

    fn envelope(&self, id: MessageId) -> Result<Option<EnvelopeRecord>> {
        self.read("read envelope", |tx| outbound::envelope(tx, id))
    }

    fn record_grant(&self, grant: &NewGrant<'_>) -> Result<GrantRecord> {
        self.write("record grant", |tx| outbound::record_grant(tx, grant))
    }

    fn grants(&self, id: MessageId) -> Result<Vec<GrantRecord>> {
        self.read("read grants", |tx| outbound::grants(tx, id))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A caller on an async runtime never waits: with the connection in use, the one-call read
    /// declines at once (the API then reads on a blocking thread).
    #[test]
    fn a_read_that_may_not_wait_declines_while_the_connection_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
        let read = MessageRead {
            credential: &[1; 32],
            id: MessageId([2; 32].into()),
            threshold: &|_| None,
            wait: ReadWait::IfIdle,
        };
        let idle = store.message_readout(&read).unwrap().unwrap();
        assert_eq!(idle.token, None);
        let held = store.lock();
        assert!(store.message_readout(&read).is_none());
        drop(held);
        assert!(store.message_readout(&read).is_some());
    }

    /// A statement whose `LIMIT` is a parameter (the lease, the take-over, the log's leaves)
    /// keeps its plan when that parameter is bound again: without the planner's stability
    /// guarantee SQLite parsed and planned it anew on every call.
    #[test]
    fn a_statement_is_not_planned_again_when_its_limit_is_bound_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("s.sqlite")).unwrap();
        let sql_text = "SELECT message_id FROM log_leaf WHERE origin = ?1 AND leaf_index >= ?2
                        ORDER BY leaf_index LIMIT ?3";
        store
            .read("test", |tx| {
                for limit in [1i64, 128, 7] {
                    let mut st = tx.prepare_cached(sql_text).unwrap();
                    let rows = st
                        .query_map(rusqlite::params![1, 0, limit], |r| r.get::<_, Vec<u8>>(0))
                        .unwrap();
                    assert_eq!(rows.count(), 0);
                }
                let st = tx.prepare_cached(sql_text).unwrap();
                assert_eq!(
                    st.get_status(rusqlite::StatementStatus::RePrepare),
                    0,
                    "planned again when its limit was bound again"
                );
                Ok(())
            })
            .unwrap();
    }
}
