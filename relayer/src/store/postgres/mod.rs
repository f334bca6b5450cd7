//! [`PgStore`]: the [`Store`](super::Store) on PostgreSQL, for several replicas of one
//! organisation's gateway on one database (issue 15). SQLite stays the embedded default.
//!
//! The schema means what SQLite's does (the same tables, constraints and append-only triggers;
//! see `migrations/`: schema 2 is SQLite's 10; since schema 5 the lane counts and status
//! events are written by the statements that move delivery rows, as SQLite's since its 11, see
//! `bookkeeping`; since schema 6 a status event row covers a run of a lane's messages, as
//! SQLite's since its 11, and a leased batch is one delivery run, as SQLite's since its 14, see
//! `runs`; the log's contiguity is checked by a statement trigger), and every call keeps
//! the contract in [`store`](super): one transaction per call, durable when it returns `Ok`.
//! A call is a few round trips: accepting a batch, leasing, recording a submission or a
//! confirmation each run one statement for the whole batch (leasing three: expired runs and
//! leases first), and a
//! transaction's `BEGIN` goes with its first statement. Leasing, confirming and a batch's
//! first submission send their statements and their `COMMIT` together: one round trip each
//! (see `conn`).
//!
//! # One writer at a time
//!
//! Every write transaction first takes one transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`), so writes from every replica run one after the other, exactly as
//! SQLite's `BEGIN IMMEDIATE` makes them. That is a deliberate choice: each call's
//! read-then-write (check a lease, then record its outcome) sees every earlier commit and no
//! concurrent one, so leases stay exclusive and fencing by lease generation holds without
//! per-statement row locks; no two transactions can deadlock; and the status events' sequence
//! numbers are committed in order, so a reader paging with "events after n" never skips one that
//! commits late. Reads take no lock (a `REPEATABLE READ` snapshot).
//!
//! # Clock
//!
//! With [`LeaseClock::Database`] (what a gateway uses) every lease, follow lease and retry time
//! is computed on the database's clock: the call's times are moved by the difference between
//! the database's `clock_timestamp()` and the caller's `now`, so replicas whose clocks disagree
//! still agree on when a lease ends. [`LeaseClock::Caller`] keeps the caller's times as they
//! are (the conformance suite drives time by hand).
//!
//! # Connections
//!
//! A small pool of connections (each call borrows one for its transaction): `tokio-postgres`
//! clients, each driven by a current-thread runtime of its own while a call blocks on it, so
//! that a call can pipeline its statements (see `conn`). Calls block: use them from
//! `spawn_blocking` threads, like SQLite's. Migrating and instance names' claims use the
//! synchronous `postgres` client, on connections of their own. A connection that breaks
//! is dropped and the next call opens a new one; while the database cannot be reached calls fail
//! with [`Error::Unavailable`] (transient: nothing was written). The password is kept only in the
//! client configuration and never appears in an error or a log line. Over a network, connect
//! with `sslmode=verify-full&sslrootcert=CA.pem`: TLS (rustls) with the server's certificate
//! checked against that CA and the host name; weaker TLS modes are refused (see `tls`).

mod api;
mod bookkeeping;
mod checkpoint;
mod conn;
mod delivery;
mod migrate;
mod outbound;
mod query;
mod runs;
mod source;
mod tls;

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use causeway_proofs::attestation::Equivocation;
use causeway_proofs::{Domain, LeafIndex, LogSize, MessageId};
use postgres::types::FromSql;
use postgres::{Client, Row};

use conn::{Conn, Mode};
use conn::{Io, Tx};

use super::{
    AcceptBatch, AcceptOutcome, ApiStore, AuditRecord, CheckpointOutcome, CheckpointRecord,
    CheckpointStore, Confirmation, DeadLetter, DeliveryStore, EnvelopeRecord, FailureOutcome,
    FailureReport, GrantRecord, Lane, LaneStats, LastDelivery, LeaseOwner, LeaseRequest,
    LeasedMessage, MemberSignatureOutcome, MemberSignatureRecord, MessageFilter, MessageRecord,
    MessageSummary, NewEnvelope, NewGrant, NewSendRequest, NewToken, OutboundStore, OwnerClaim,
    QueryStore, Renewal, Result, SendLease, SendLeaseRequest, SendRequest, SendRequestId,
    SourceCursor, SourceStore, StatusEvent, StoredCheckpoint, Submission, SubmissionId,
    SubmittedMessage, TakeOver, TokenId, TokenRecord, UnixMillis, ValidatorActivity,
};
use crate::Error;

pub use migrate::LATEST_VERSION as PG_SCHEMA_VERSION;

/// The advisory lock key every write transaction takes (`"causeway"` in ASCII, as a number).
const WRITE_LOCK: i64 = 0x6361_7573_6577_6179;
/// The advisory lock key held while migrating (one more than [`WRITE_LOCK`]).
const MIGRATE_LOCK: i64 = WRITE_LOCK + 1;
/// The advisory lock class of instance names ([`DeliveryStore::claim_owner`]).
const OWNER_LOCK_CLASS: i32 = 0x6361_7573;

/// Whose clock leases and retry times are on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseClock {
    /// The database's (`clock_timestamp()`): one clock for every replica. A gateway's choice.
    #[default]
    Database,
    /// The `now` each call passes in, as is (tests that drive time by hand).
    Caller,
}

/// How to open a [`PgStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PgOptions {
    /// Whose clock leases run on.
    pub clock: LeaseClock,
    /// The most connections the handle opens at once.
    pub max_connections: usize,
    /// How long opening a connection, or waiting for a free one, may take before a call fails
    /// with [`Error::Unavailable`] or [`Error::Busy`].
    pub timeout: Duration,
    /// How long a session may sit inside a transaction without sending a statement before the
    /// server ends it (`idle_in_transaction_session_timeout`). A store transaction never waits
    /// on anything but the database, so only a stalled process (paused, swapped out, stuck)
    /// reaches it; without it, a replica stalled in the middle of a write would hold the write
    /// lock, and stall every replica, for as long as it sleeps. Its transaction is rolled back;
    /// it finds its connection gone when it wakes. A write waits for the write lock for half
    /// as long at most (`lock_timeout`, then [`Error::Busy`]; see [`PgStore::lock_wait`]).
    pub stalled_transaction: Duration,
    /// How long the network may lose what one side of a session sends before that side ends
    /// it: the server (its `tcp_user_timeout` and TCP keepalives, per session) ends the session
    /// of a replica killed or cut off, or frozen with a reply unread, and so releases its
    /// transaction's locks; the client does the same to a server gone silent, so a call fails
    /// (unavailable, retried) instead of waiting for ever. Keepalive probes start after a third
    /// of it idle, every sixth of it, three of them. Sessions over a Unix socket ignore it.
    pub dead_peer: Duration,
    /// The longest one statement may run before the server cancels it (`statement_timeout`):
    /// the store's statements take milliseconds, so only a session stuck behind something
    /// outside the store (a lock taken by hand, a runaway query) reaches it; the call fails as
    /// busy and is retried. Migrations are not bound by it.
    pub statement_timeout: Duration,
}

impl PgOptions {
    /// The default [`PgOptions::dead_peer`].
    pub const DEFAULT_DEAD_PEER: Duration = Duration::from_secs(30);
    /// The default [`PgOptions::statement_timeout`].
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

    /// The server settings each session of the store starts with (`-c name=value` each): the
    /// stalled transaction's, the dead peer's and the statement's bounds.
    fn session_settings(&self) -> String {
        let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128);
        let s = |d: Duration| d.as_secs().clamp(1, i32::MAX as u64);
        format!(
            "-c idle_in_transaction_session_timeout={} -c statement_timeout={} \
             -c tcp_user_timeout={} -c tcp_keepalives_idle={} -c tcp_keepalives_interval={} \
             -c tcp_keepalives_count=3",
            ms(self.stalled_transaction),
            ms(self.statement_timeout),
            ms(self.dead_peer),
            s(self.dead_peer / 3),
            s(self.dead_peer / 6),
        )
    }
}

impl Default for PgOptions {
    /// The database's clock, 8 connections, a 5 s timeout (like SQLite's busy timeout), a
    /// stalled transaction ended after 5 s, a dead peer after 30 s, a statement after 30 s.
    fn default() -> Self {
        PgOptions {
            clock: LeaseClock::Database,
            max_connections: 8,
            timeout: Duration::from_secs(5),
            stalled_transaction: Duration::from_secs(5),
            dead_peer: Self::DEFAULT_DEAD_PEER,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
        }
    }
}

/// The PostgreSQL implementation of [`Store`](super::Store). Share one handle between threads;
/// several handles, in one process or several, may use the same database.
pub struct PgStore {
    /// For the connections outside the pool (migrating, instance names' claims).
    config: postgres::Config,
    /// For the pool's connections (the same settings).
    pool_config: tokio_postgres::Config,
    /// In the clear, or TLS with the server checked (`sslmode=verify-full`).
    connector: tls::Connector,
    options: PgOptions,
    pool: Mutex<PoolState>,
    freed: Condvar,
    /// Where the store is, for messages: host, port and database, never the password.
    target: String,
    /// How long this handle's transactions take (the gateway's
    /// `causeway_store_transaction_duration_seconds`, as SQLite's).
    timings: super::StoreTimings,
    #[cfg(feature = "failpoints")]
    crash_before_commit: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for PgStore {
    /// Names the database; never prints the configuration (it holds the password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    /// Closes the idle connections off the async runtime's threads (see [`close_off_runtime`]).
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock_pool().idle);
        close_off_runtime(idle);
    }
}

/// Drops `clients` (`postgres` clients, or what holds them) where that cannot panic: a
/// `postgres::Client` closes itself by blocking on its own runtime, which panics on a thread
/// that drives an async runtime (a handle or an instance claim dropped in a gateway's tasks).
/// There, they are dropped on a thread of their own; elsewhere, at once.
fn close_off_runtime<T: Send + 'static>(clients: T) {
    if tokio::runtime::Handle::try_current().is_err() {
        drop(clients);
        return;
    }
    let slot = std::sync::Arc::new(Mutex::new(Some(clients)));
    let theirs = std::sync::Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("causeway-pg-close".into())
        .spawn(move || {
            let clients = theirs.lock().unwrap_or_else(|p| p.into_inner()).take();
            drop(clients);
        });
    if let Err(e) = spawned {
        // Left open until the process ends (the server then drops them): better than a panic.
        tracing::warn!(error = %e, "could not start a thread to close PostgreSQL connections");
        std::mem::forget(slot.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// An instance name's claim ([`DeliveryStore::claim_owner`]): the connection that holds its
/// session lock, closed off the async runtime's threads when the claim is dropped.
struct ClaimConnection(Option<Client>);

impl Drop for ClaimConnection {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            close_off_runtime(client);
        }
    }
}

#[derive(Default)]
struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// Maps a PostgreSQL error during `op`: an unreachable or restarting server is
/// [`Error::Unavailable`], a serialization failure, deadlock, lock or statement timeout
/// [`Error::Busy`] (both transient: the transaction was rolled back), anything else
/// [`Error::Backend`].
fn pg(op: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| {
        if let Some(found) = migrate::schema_too_new(&e) {
            return Error::SchemaTooNew {
                found,
                supported: migrate::LATEST_VERSION,
            };
        }
        let code = e.code().map(|c| c.code().to_owned());
        match code.as_deref() {
            // 57014: a statement cancelled (its `statement_timeout` reached, stuck behind a
            // lock the store does not take): rolled back, like a lock timeout.
            Some("40001" | "40P01" | "55P03" | "57014") => Error::Busy { op },
            Some(c) if c.starts_with("08") || c.starts_with("57P") || c == "53300" => {
                Error::Unavailable {
                    op,
                    reason: e.to_string(),
                }
            }
            None if e.is_closed() || e.as_db_error().is_none() => Error::Unavailable {
                op,
                reason: e.to_string(),
            },
            _ => Error::Backend {
                op,
                source: Box::new(e),
            },
        }
    }
}

/// A connection that could not be opened: a refused TLS handshake (the server's certificate
/// not from the configured CA, or not for the host connected to) is the configuration's to
/// fix and will not pass on a retry; anything else as [`pg`] maps it.
fn connect_error(e: postgres::Error) -> Error {
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let refused = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(refused) = refused {
            return Error::Config {
                reason: format!(
                    "the TLS handshake with PostgreSQL failed: {refused} (fix: sslrootcert must \
                     be the CA that issued the server's certificate, and the URL's host a name \
                     that certificate holds)"
                ),
            };
        }
        source = s.source();
    }
    pg("connect to PostgreSQL")(e)
}

/// Column `i` of `row`, typed (a type mismatch is a corrupt or foreign schema).
pub(super) fn col<'r, T: FromSql<'r>>(row: &'r Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|e| Error::Corrupt {
        what: "column",
        reason: format!("column {i}: {e}"),
    })
}

impl PgStore {
    /// Opens the database at `url` (`postgres://user:password@host:port/db`, or key=value
    /// settings) with default options, and brings its schema up to date.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, None, PgOptions::default())
    }

    /// Opens the database at `url`, with `password` if given (it replaces one in the URL; read
    /// from `[storage] postgres_password_file`), and applies the migrations not yet applied,
    /// under an advisory lock so that replicas starting together migrate once. Fails with
    /// [`Error::Unavailable`] if the database cannot be reached, [`Error::SchemaTooNew`] if a
    /// newer build migrated it, and [`Error::Config`] for a URL it cannot use.
    pub fn open_with(url: &str, password: Option<&[u8]>, options: PgOptions) -> Result<Self> {
        let store = Self::configure(url, password, options, false)?;
        // Migrating runs on a connection of its own (the synchronous client's transactions).
        let mut client = store
            .connector
            .connect(&store.config)
            .map_err(connect_error)?;
        let version = migrate::migrate(&mut client);
        close_off_runtime(client);
        let version = version?;
        tracing::debug!(target = %store.target, schema_version = version, "opened PostgreSQL store");
        Ok(store)
    }

    /// Opens the database at `url` for reading only (`causeway status` beside a running
    /// gateway), as [`SqliteStore::open_read_only`](super::SqliteStore::open_read_only) does
    /// SQLite: no migration, no advisory lock, no instance claim, and every session starts with
    /// `default_transaction_read_only = on`, so the server itself refuses any write. Fails with
    /// [`Error::SchemaTooOld`] when the database is not yet at [`PG_SCHEMA_VERSION`] (empty,
    /// or written by an older build: starting the gateway migrates it), [`Error::SchemaTooNew`]
    /// when a newer build migrated it, [`Error::Unavailable`] when it cannot be reached, and
    /// [`Error::Config`] for a URL it cannot use.
    pub fn open_read_only(url: &str, password: Option<&[u8]>, options: PgOptions) -> Result<Self> {
        let store = Self::configure(url, password, options, true)?;
        let found = store.read("read schema version", |tx| {
            let has_table: bool = col(
                &tx.one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?,
                0,
            )?;
            if has_table {
                migrate::current_version(tx)
            } else {
                Ok(0)
            }
        })?;
        Error::check_read_only_schema(found, migrate::LATEST_VERSION)?;
        tracing::debug!(target = %store.target, schema_version = found, "opened PostgreSQL store read-only");
        Ok(store)
    }

    /// A handle on the database at `url` with no connection opened yet; its sessions are
    /// read-only if `read_only`.
    fn configure(
        url: &str,
        password: Option<&[u8]>,
        options: PgOptions,
        read_only: bool,
    ) -> Result<Self> {
        // `sslmode=verify-full` and `sslrootcert` are ours to read (see `tls`).
        let split = tls::split(url)?;
        let (connector, ssl_mode) = tls::connector(&split)?;
        let mut config: tokio_postgres::Config =
            split.url.parse().map_err(|e: postgres::Error| {
                // The parser's message names the bad setting, never its value.
                Error::Config {
                    reason: format!("the PostgreSQL URL is not valid: {e}"),
                }
            })?;
        if let Some(password) = password {
            config.password(password);
        }
        config.ssl_mode(ssl_mode);
        // See `PgOptions::stalled_transaction`, `dead_peer` and `statement_timeout` (added to
        // any options the URL sets).
        let mut settings = options.session_settings();
        if read_only {
            settings.push_str(" -c default_transaction_read_only=on");
        }
        let server_options = match config.get_options() {
            Some(given) => format!("{given} {settings}"),
            None => settings,
        };
        config.options(&server_options);
        // The client's side of `dead_peer`: the same bounds on its socket.
        config
            .keepalives(true)
            .keepalives_idle((options.dead_peer / 3).max(Duration::from_secs(1)))
            .keepalives_interval((options.dead_peer / 6).max(Duration::from_secs(1)))
            .keepalives_retries(3)
            .tcp_user_timeout(options.dead_peer.max(Duration::from_secs(1)));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.timeout);
        }
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        let target = format!(
            "postgresql {}:{} database {}{}",
            hosts.join(","),
            config
                .get_ports()
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(","),
            config.get_dbname().unwrap_or("(default)"),
            match connector {
                tls::Connector::Plain => "",
                tls::Connector::VerifyFull(_) => " (TLS, verify-full)",
            }
        );
        let store = PgStore {
            config: postgres::Config::from(config.clone()),
            pool_config: config,
            connector,
            options: PgOptions {
                max_connections: options.max_connections.max(1),
                ..options
            },
            pool: Mutex::new(PoolState::default()),
            freed: Condvar::new(),
            target,
            timings: super::StoreTimings::default(),
            #[cfg(feature = "failpoints")]
            crash_before_commit: std::sync::atomic::AtomicBool::new(false),
        };
        Ok(store)
    }

    /// Where the store is (host, port, database; never the password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// This handle's transaction timings (shared: the handle keeps counting into them).
    pub fn timings(&self) -> super::StoreTimings {
        self.timings.clone()
    }

    /// The schema version the database is at (the last applied migration).
    pub fn schema_version(&self) -> Result<u32> {
        self.run("schema_version", Mode::Read, |tx| {
            migrate::current_version(tx)
        })
    }

    /// Test failpoint: the next mutating call runs all its statements but never commits (its
    /// connection is dropped, as if the process died just before `COMMIT`). The call fails
    /// with [`Error::InjectedCrash`].
    #[cfg(feature = "failpoints")]
    pub fn crash_before_next_commit(&self) {
        self.crash_before_commit
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock_pool(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // The state is two plain fields updated in one step: fine after a panic elsewhere.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, a new one while under the limit, else the first one given
    /// back within the timeout.
    fn take(&self) -> Result<Conn> {
        let deadline = Instant::now() + self.options.timeout;
        let mut pool = self.lock_pool();
        loop {
            if let Some(conn) = pool.idle.pop() {
                if !conn.is_closed() {
                    return Ok(conn);
                }
                pool.open -= 1;
                continue;
            }
            if pool.open < self.options.max_connections {
                pool.open += 1;
                drop(pool);
                return match Conn::open(&self.connector, &self.pool_config) {
                    Ok(conn) => Ok(conn),
                    Err(e) => {
                        self.lock_pool().open -= 1;
                        self.freed.notify_one();
                        Err(match e {
                            conn::OpenError::Connect(e) => connect_error(e),
                            conn::OpenError::Runtime(e) => Error::Unavailable {
                                op: "connect to PostgreSQL",
                                reason: format!("no runtime for the connection: {e}"),
                            },
                        })
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Busy {
                    op: "wait for a free PostgreSQL connection",
                });
            }
            pool = self
                .freed
                .wait_timeout(pool, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Returns a connection to the pool, or forgets it if it broke.
    fn give_back(&self, conn: Conn) {
        let mut pool = self.lock_pool();
        if conn.is_closed() {
            pool.open -= 1;
        } else {
            pool.idle.push(conn);
        }
        drop(pool);
        self.freed.notify_one();
    }

    /// Forgets a connection whose transaction was left open (dropped: the server rolls it back).
    fn discard(&self, conn: Conn) {
        drop(conn);
        self.lock_pool().open -= 1;
        self.freed.notify_one();
    }

    /// Runs `f` in one transaction on a pooled connection and commits it; timed in
    /// [`StoreTimings`](super::StoreTimings) (waiting for a connection and, for a write, for
    /// the write lock included), like SQLite's.
    fn run<T>(
        &self,
        op: &'static str,
        mode: Mode,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        if !causeway_adapters::metrics::updates_enabled() {
            return self.run_untimed(op, mode, f);
        }
        let started = Instant::now();
        let out = self.run_untimed(op, mode, f);
        let kind = match mode {
            Mode::Read => super::TransactionKind::Read,
            Mode::Write => super::TransactionKind::Write,
        };
        self.timings.observe(kind, started.elapsed(), out.is_err());
        out
    }

    fn run_untimed<T>(
        &self,
        op: &'static str,
        mode: Mode,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.take()?;
        // The failpoint: this call runs its statements and never commits (see
        // `crash_before_next_commit`); armed until a call gets that far.
        let crash = self.crash_armed(mode);
        let tx = Tx::new(&mut conn, op, mode, self.lock_wait(), !crash);
        let (out, left_open) = Self::run_on(tx, f);
        if left_open && self.crash_now(mode) {
            // Never committed; the connection is dropped (the server rolls it back).
            self.discard(conn);
            return Err(injected_crash(op));
        }
        self.give_back(conn);
        out
    }

    #[cfg(feature = "failpoints")]
    fn crash_now(&self, mode: Mode) -> bool {
        mode == Mode::Write
            && self
                .crash_before_commit
                .swap(false, std::sync::atomic::Ordering::SeqCst)
    }

    #[cfg(not(feature = "failpoints"))]
    fn crash_now(&self, _mode: Mode) -> bool {
        false
    }

    #[cfg(feature = "failpoints")]
    fn crash_armed(&self, mode: Mode) -> bool {
        mode == Mode::Write
            && self
                .crash_before_commit
                .load(std::sync::atomic::Ordering::SeqCst)
    }

    #[cfg(not(feature = "failpoints"))]
    fn crash_armed(&self, _mode: Mode) -> bool {
        false
    }

    /// How long a write waits for the write lock before it fails with [`Error::Busy`]: half
    /// of [`PgOptions::stalled_transaction`].
    ///
    /// Without a bound, a replica stopped while several of its sessions waited for the lock
    /// (SIGSTOP, swapped out) stalled every other replica for one stalled transaction *per
    /// session*: the lock went to its waiting sessions in turn, each held it without reading
    /// the reply, and the server ended each only after `stalled_transaction` (four sessions,
    /// 20 s). A waiter now gives up before the server can end the holder ahead of it, so a
    /// stopped replica holds the lock once, for `stalled_transaction` at most; the others'
    /// writes fail as busy meanwhile, and are retried.
    fn lock_wait(&self) -> Duration {
        (self.options.stalled_transaction / 2).max(Duration::from_millis(1))
    }

    /// Runs `f` in `tx` and ends the transaction (see [`Tx::finish`]): the result, and whether
    /// the transaction was left open uncommitted (the failpoint's crash).
    fn run_on<T>(mut tx: Tx<'_>, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> (Result<T>, bool) {
        let out = f(&mut tx);
        tx.finish(out)
    }

    fn write<T>(&self, op: &'static str, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.run(op, Mode::Write, f)
    }

    fn read<T>(&self, op: &'static str, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.run(op, Mode::Read, f)
    }

    /// The time a lease-related call runs at: the caller's `now`, or the database's clock (see
    /// the module docs).
    fn now(&self, tx: &mut Tx<'_>, caller: UnixMillis) -> Result<UnixMillis> {
        now_on(tx, self.options.clock, caller)
    }
}

/// The time a call runs at on `clock`: the caller's `now`, or the database's (see the module
/// docs; a write's is read once it holds the write lock).
fn now_on(tx: &mut Tx<'_>, clock: LeaseClock, caller: UnixMillis) -> Result<UnixMillis> {
    match clock {
        LeaseClock::Caller => Ok(caller),
        LeaseClock::Database => {
            let ms: i64 = match tx.clock()? {
                Some(ms) => ms,
                None => col(
                    &tx.one(
                        "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                        &[],
                    )?,
                    0,
                )?,
            };
            Ok(UnixMillis(u64::try_from(ms).unwrap_or(0)))
        }
    }
}

/// The failpoint's error.
#[cfg(feature = "failpoints")]
fn injected_crash(op: &'static str) -> Error {
    Error::InjectedCrash { op }
}

/// Without failpoints nothing crashes on purpose; never called.
#[cfg(not(feature = "failpoints"))]
fn injected_crash(op: &'static str) -> Error {
    Error::Busy { op }
}

/// `t` moved from the caller's clock (`from`) to the database's (`to`).
fn shift(t: UnixMillis, from: UnixMillis, to: UnixMillis) -> UnixMillis {
    if to.0 >= from.0 {
        UnixMillis(t.0.saturating_add(to.0 - from.0))
    } else {
        UnixMillis(t.0.saturating_sub(from.0 - to.0))
    }
}

/// An i64 parameter from a u64, refused (not wrapped) past i64.
pub(super) fn i64_of(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::OutOfRange { what, value })
}

/// A domain parameter.
pub(super) fn dom(d: Domain) -> i64 {
    i64::from(d.0)
}

impl SourceStore for PgStore {
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

impl CheckpointStore for PgStore {
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

impl DeliveryStore for PgStore {
    fn lease_pending(&self, req: &LeaseRequest<'_>) -> Result<Vec<LeasedMessage>> {
        self.write("lease pending messages", |tx| {
            delivery::lease(tx, req, self.options.clock)
        })
    }

    fn mark_submitted(&self, submission: &Submission<'_>) -> Result<()> {
        self.write("mark submitted", |tx| {
            delivery::submitted(tx, submission, self.options.clock)
        })
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
        self.write("record failure", |tx| {
            let now = self.now(tx, report.now)?;
            delivery::failure(tx, &FailureReport { now, ..*report })
        })
    }

    fn retry_dead_letter(&self, id: MessageId, now: UnixMillis) -> Result<()> {
        self.write("retry dead letter", |tx| {
            let now = self.now(tx, now)?;
            delivery::retry_dead(tx, id, now)
        })
    }

    fn take_over_submitted(&self, req: &TakeOver<'_>) -> Result<Vec<SubmittedMessage>> {
        self.write("take over submitted", |tx| {
            let now = self.now(tx, req.now)?;
            delivery::take_over(tx, &TakeOver { now, ..*req })
        })
    }

    fn renew_submitted(&self, renewal: &Renewal<'_>) -> Result<usize> {
        self.write("renew submitted", |tx| {
            let now = self.now(tx, renewal.now)?;
            let until = shift(renewal.until, renewal.now, now);
            delivery::renew(
                tx,
                &Renewal {
                    now,
                    until,
                    ..*renewal
                },
            )
        })
    }

    /// A session-level advisory lock per name, on a connection of its own that the claim
    /// holds: the server releases it when that connection ends, however the process ends, so
    /// a crashed instance never blocks its restart.
    fn claim_owner(&self, owner: &LeaseOwner) -> Result<OwnerClaim> {
        let op = "claim instance name";
        let mut client = self
            .connector
            .connect(&self.config)
            .map_err(connect_error)?;
        let digest = causeway_proofs::hash::keccak256(owner.0.as_bytes());
        let mut key = [0u8; 4];
        key.copy_from_slice(&digest.0[..4]);
        let key = i32::from_be_bytes(key);
        let row = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&OWNER_LOCK_CLASS, &key],
            )
            .map_err(pg(op))?;
        let got: bool = col(&row, 0)?;
        if !got {
            return Err(Error::OwnerInUse {
                owner: owner.clone(),
                store: self.target.clone(),
            });
        }
        Ok(OwnerClaim(Box::new(Mutex::new(ClaimConnection(Some(
            client,
        ))))))
    }
}

impl QueryStore for PgStore {
    fn message(&self, id: MessageId) -> Result<Option<MessageRecord>> {
        self.read("read message", |tx| query::message(tx, id))
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

impl ApiStore for PgStore {
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
            let at = self.now(tx, now)?;
            delivery::retry_dead(tx, id, at)?;
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

impl OutboundStore for PgStore {
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
            let now = self.now(tx, req.now)?;
            outbound::lease_requests(tx, &SendLeaseRequest { now, ..*req })
        })
    }

    fn renew_send_lease(
        &self,
        lease: &SendLease,
        lease_for: Duration,
        now: UnixMillis,
    ) -> Result<SendLease> {
        self.write("renew a send request's lease", |tx| {
            let now = self.now(tx, now)?;
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
            // A request sent again waits out its backoff on the lease clock, as one put off.
            let retry_at = match then {
                super::AfterFailure::SendAgain { .. } => {
                    crate::store::sqlite::outbound::retry_after_failure(then, self.now(tx, now)?)
                }
                _ => None,
            };
            outbound::record_failure(tx, lease, reason, then, retry_at, now)
        })
    }

    fn defer_send_request(
        &self,
        lease: &SendLease,
        reason: &str,
        delay: Duration,
        holdup: super::Holdup,
        now: UnixMillis,
    ) -> Result<()> {
        self.write("put a send request off", |tx| {
            let now = self.now(tx, now)?;
            outbound::defer(tx, lease, reason, now.saturating_add(delay), holdup, now)
        })
    }

    fn store_envelope(&self, envelope: &NewEnvelope<'_>, now: UnixMillis) -> Result<bool> {
        self.write("store envelope", |tx| {
            outbound::insert_envelope(tx, envelope, now)
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
