//! A pooled connection and the transaction a call runs on it, with its statements pipelined.
//!
//! A connection is a `tokio-postgres` client and its I/O, driven by a current-thread runtime
//! of its own only while a call blocks on it (what the synchronous `postgres` client does
//! inside; the store's calls stay blocking, on `spawn_blocking` threads). Unlike that client,
//! it sends several requests before reading the first reply: PostgreSQL runs them in order, so
//! pipelining changes when the client waits, never what the server does.
//!
//! A transaction begins lazily: its `BEGIN` (for a write, with the write lock and the database's
//! clock, and the schema guard: two prepared statements, parsed and planned once per
//! connection) goes in the same write as its first statement, so a call costs one round trip
//! less, and a call that runs no statement none. A call whose last statement cannot make it fail
//! ([`Tx::query_and_commit`]) sends its `COMMIT` in the same write too: leasing a batch, or
//! confirming one, is then one round trip to the server, with its WAL flush. A statement that
//! fails aborts the transaction on the server, so a `COMMIT` sent behind it rolls back instead.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::LazyLock;
use std::task::Poll;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Row, Statement};

use super::{WRITE_LOCK, pg};
use crate::Error;
use crate::store::Result;

/// A connection's I/O: polled only while a call on its connection blocks.
pub(super) type Io = Pin<Box<dyn Future<Output = std::result::Result<(), postgres::Error>> + Send>>;

/// A statement's parameters.
pub(super) type Params<'p> = [&'p (dyn ToSql + Sync)];

/// The transaction-local setting that holds a write transaction's time on the database's
/// clock, read once the write lock was taken (see [`now_param`]).
const NOW_SETTING: &str = "causeway.now";

/// A write statement's time in SQL: the caller's (`bigint` parameter `$n`) when given, else
/// the database's clock as the transaction read it once it held the write lock.
pub(super) fn now_param(n: usize) -> String {
    format!("coalesce(${n}::bigint, current_setting('{NOW_SETTING}')::bigint)")
}

/// How this store's sessions compress large values (see [`Conn::open`]).
const TOAST_COMPRESSION: &str = "lz4";

/// One pooled connection and its prepared statements.
pub(super) struct Conn {
    client: tokio_postgres::Client,
    /// Taken on drop (the socket closes before the runtime shuts down).
    io: Option<Io>,
    /// Taken on drop, and shut down without waiting (dropping a runtime may not block on a
    /// thread that drives an async runtime).
    runtime: Option<tokio::runtime::Runtime>,
    statements: HashMap<String, Statement>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.io = None;
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `work` to its end on `runtime`, driving the connection's I/O meanwhile. If the
/// connection ends, `work`'s requests fail as closed ([`pg`] maps that to unavailable).
fn drive<T>(
    runtime: &tokio::runtime::Runtime,
    io: &mut Option<Io>,
    work: impl Future<Output = T>,
) -> T {
    let mut work = pin!(work);
    runtime.block_on(poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if let Some(conn) = io.as_mut()
            && let Poll::Ready(ended) = conn.as_mut().poll(cx)
        {
            if let Err(e) = ended {
                tracing::debug!(error = %e, "PostgreSQL connection ended");
            }
            // Dropping it closes the request and reply channels: the work's requests fail.
            *io = None;
            return work.as_mut().poll(cx);
        }
        Poll::Pending
    }))
}

impl Conn {
    /// Opens a connection with `config` through `connector`.
    pub(super) fn open(
        connector: &super::tls::Connector,
        config: &tokio_postgres::Config,
    ) -> std::result::Result<Conn, OpenError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(OpenError::Runtime)?;
        let mut io = None;
        let (client, opened) = drive(&runtime, &mut io, connector.connect_async(config))
            .map_err(OpenError::Connect)?;
        let mut io = Some(opened);
        // Values too large for a row (a batch's signed transaction, tens of KiB) are
        // compressed with LZ4 rather than PostgreSQL's default pglz, several times cheaper in
        // the server's CPU (pglz took ~0.2 ms of a batch's submission for 48 KiB). Only what
        // this session writes; values already stored keep their method, and both read back
        // the same. A server built without LZ4 refuses the setting: it keeps pglz.
        if let Err(e) = drive(
            &runtime,
            &mut io,
            client.batch_execute(&format!(
                "SET default_toast_compression = {TOAST_COMPRESSION}"
            )),
        ) {
            tracing::debug!(error = %e, "PostgreSQL keeps its default compression");
        }
        Ok(Conn {
            client,
            io,
            runtime: Some(runtime),
            statements: HashMap::new(),
        })
    }

    /// Whether the connection is known to have ended.
    pub(super) fn is_closed(&self) -> bool {
        self.io.is_none() || self.runtime.is_none() || self.client.is_closed()
    }
}

/// Why a connection could not be opened.
pub(super) enum OpenError {
    /// No runtime for it (out of threads or file descriptors).
    Runtime(std::io::Error),
    /// The server refused or could not be reached.
    Connect(postgres::Error),
}

/// Whether the transaction writes (takes the write lock) or only reads (a snapshot).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Read,
    Write,
}

/// Where a transaction is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Nothing sent yet (or the last one committed): the next statement begins one.
    Idle,
    /// Begun and not ended.
    Open,
}

/// What one pipelined request returned.
enum Reply {
    /// A simple query's (`BEGIN`, `COMMIT`): done.
    Done,
    Rows(Vec<Row>),
    Count(u64),
}

/// What a pipelined statement's caller wants of it.
#[derive(Clone, Copy)]
enum Want {
    Rows,
    /// The number of rows it changed.
    Count,
}

type Request<'a> = Pin<Box<dyn Future<Output = std::result::Result<Reply, postgres::Error>> + 'a>>;

/// Polls every request until each is done (each sent on its first poll, in order: pipelined).
async fn join_all<'a>(
    requests: Vec<Request<'a>>,
) -> Vec<std::result::Result<Reply, postgres::Error>> {
    let mut pending: Vec<Option<Request<'a>>> = requests.into_iter().map(Some).collect();
    let mut done: Vec<Option<std::result::Result<Reply, postgres::Error>>> =
        pending.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut waiting = false;
        for (slot, request) in done.iter_mut().zip(pending.iter_mut()) {
            if let Some(r) = request {
                match r.as_mut().poll(cx) {
                    Poll::Ready(out) => {
                        *slot = Some(out);
                        *request = None;
                    }
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

/// A call's transaction on a pooled connection, with its statement cache (every statement is
/// prepared once per connection). See the module docs.
pub(super) struct Tx<'c> {
    conn: &'c mut Conn,
    op: &'static str,
    /// What opens the transaction (for a write: the write lock and the clock).
    begin: Begin,
    state: State,
    /// False when the call must not commit (the failpoint's crash before commit).
    may_commit: bool,
    /// A write transaction's time on the database's clock, read once the write lock was taken
    /// (in the same round trip).
    locked_at: Option<i64>,
}

/// How a transaction begins.
enum Begin {
    /// A snapshot.
    Read,
    /// [`WRITE_BEGIN`], then [`WRITE_LOCK_AND_CLOCK`] waiting at most `lock_timeout` (ms, as
    /// the setting's text), then the schema guard.
    Write { lock_timeout: String },
}

/// A read's `BEGIN`.
const READ_BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// A write's `BEGIN`.
const WRITE_BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// Takes the one advisory write lock (one writer at a time, on every replica: see the store's
/// docs), waiting at most `$1` ms (the transaction's `lock_timeout`, set before the lock is
/// asked for: the innermost subquery runs first, and a subquery that calls a volatile function
/// is never merged into the query around it), then reads the database's clock, in
/// milliseconds, once the lock is held (the outer query needs the lock's row first) and keeps
/// it for the transaction's statements ([`now_param`]); returns it. One prepared statement,
/// where a simple query's statements would be parsed and planned at every write.
static WRITE_LOCK_AND_CLOCK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT set_config('{NOW_SETTING}', now_ms::text, true), now_ms
         FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms
               FROM (SELECT pg_advisory_xact_lock({WRITE_LOCK})
                     FROM (SELECT set_config('lock_timeout', $1::text, true)) AS bounded)
                    AS locked) AS clock"
    )
});

impl<'c> Tx<'c> {
    /// A transaction on `conn`, not begun yet. A write waits at most `lock_wait` for the
    /// write lock.
    pub(super) fn new(
        conn: &'c mut Conn,
        op: &'static str,
        mode: Mode,
        lock_wait: Duration,
        may_commit: bool,
    ) -> Self {
        let begin = match mode {
            Mode::Read => Begin::Read,
            Mode::Write => Begin::Write {
                lock_timeout: lock_wait.as_millis().max(1).to_string(),
            },
        };
        Tx {
            conn,
            op,
            begin,
            state: State::Idle,
            may_commit,
            locked_at: None,
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.conn.statements.get(sql) {
            return Ok(s.clone());
        }
        let Conn {
            client,
            io,
            runtime,
            statements,
        } = &mut *self.conn;
        let runtime = runtime.as_ref().ok_or_else(|| closed(self.op))?;
        let s = drive(runtime, io, client.prepare(sql)).map_err(pg(self.op))?;
        statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Sends the transaction's `BEGIN` if it is not begun, then `statements`, then `COMMIT`
    /// if `commit` (and the call may commit), without waiting between them; every
    /// statement's rows. The first error wins (a failed `BEGIN` fails everything after it);
    /// after one, the transaction is rolled back, at once when `COMMIT` was sent behind it.
    fn pipeline(
        &mut self,
        statements: &[(&Statement, &Params<'_>, Want)],
        commit: bool,
    ) -> Result<Vec<Reply>> {
        let begin = self.state == State::Idle;
        let commit = commit && self.may_commit;
        let op = self.op;
        // A write's lock and guard are prepared statements (see `WRITE_LOCK_AND_CLOCK`): then,
        // on a snapshot taken once the lock is held (a statement of its own), the schema
        // guard: a newer build's migration (which takes the write lock too) refuses this write.
        let write_begin = match &self.begin {
            Begin::Write { .. } if begin => Some((
                self.statement(&WRITE_LOCK_AND_CLOCK)?,
                self.statement(&super::migrate::SCHEMA_GUARD)?,
            )),
            _ => None,
        };
        let Conn {
            client,
            io,
            runtime,
            ..
        } = &mut *self.conn;
        let runtime = runtime.as_ref().ok_or_else(|| closed(op))?;
        let client = &*client;
        let mut requests: Vec<Request<'_>> = Vec::with_capacity(statements.len() + 4);
        let lock_timeout: &(dyn ToSql + Sync) = match &self.begin {
            Begin::Write { lock_timeout } => lock_timeout,
            Begin::Read => &"",
        };
        let lock_params = [lock_timeout];
        if begin {
            let sql = match self.begin {
                Begin::Read => READ_BEGIN,
                Begin::Write { .. } => WRITE_BEGIN,
            };
            requests.push(Box::pin(async move {
                client.simple_query(sql).await.map(|_| Reply::Done)
            }));
        }
        if let Some((lock, guard)) = &write_begin {
            let lock_params = &lock_params[..];
            requests.push(Box::pin(async move {
                client.query(lock, lock_params).await.map(Reply::Rows)
            }));
            requests.push(Box::pin(async move {
                client.query(guard, &[]).await.map(Reply::Rows)
            }));
        }
        for &(statement, params, want) in statements {
            requests.push(match want {
                Want::Rows => {
                    Box::pin(async move { client.query(statement, params).await.map(Reply::Rows) })
                }
                Want::Count => {
                    Box::pin(
                        async move { client.execute(statement, params).await.map(Reply::Count) },
                    )
                }
            });
        }
        if commit {
            requests.push(Box::pin(async move {
                client.simple_query("COMMIT").await.map(|_| Reply::Done)
            }));
        }
        let replies = drive(runtime, io, join_all(requests));
        // Sent: the transaction is open, unless a COMMIT behind it ended it (committed, or
        // rolled back after an error).
        self.state = if commit { State::Idle } else { State::Open };
        let mut replies = replies.into_iter();
        if begin {
            replies.next().ok_or_else(|| closed(op))?.map_err(pg(op))?;
        }
        if write_begin.is_some() {
            let locked = replies.next().ok_or_else(|| closed(op))?.map_err(pg(op))?;
            let guarded = replies.next().ok_or_else(|| closed(op))?;
            let Reply::Rows(rows) = locked else {
                return Err(mismatch());
            };
            // The guard's refusal is an error of its own (`pg` maps it to `SchemaTooNew`).
            guarded.map_err(pg(op))?;
            self.locked_at = Some(clock_of(&rows)?);
        }
        let mut out = Vec::with_capacity(statements.len());
        for _ in statements {
            out.push(replies.next().ok_or_else(|| closed(op))?.map_err(pg(op))?);
        }
        if commit {
            replies.next().ok_or_else(|| closed(op))?.map_err(pg(op))?;
        }
        Ok(out)
    }

    /// Every row `sql` returns.
    pub(super) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        match self.pipeline(&[(&s, params, Want::Rows)], false)?.pop() {
            Some(Reply::Rows(rows)) => Ok(rows),
            _ => Err(mismatch()),
        }
    }

    /// Every row each of `statements` returns, sent together (pipelined), and then the
    /// transaction committed in the same write. Only for a call's last statements, and only
    /// when nothing in their results can make the call fail (a statement that refuses must
    /// change nothing, and say so in its rows).
    pub(super) fn query_and_commit(
        &mut self,
        statements: &[(&str, &Params<'_>)],
    ) -> Result<Vec<Vec<Row>>> {
        let prepared = statements
            .iter()
            .map(|(sql, params)| Ok((self.statement(sql)?, *params)))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<(&Statement, &Params<'_>, Want)> =
            prepared.iter().map(|(s, p)| (s, *p, Want::Rows)).collect();
        self.pipeline(&refs, true)?
            .into_iter()
            .map(|reply| match reply {
                Reply::Rows(rows) => Ok(rows),
                _ => Err(mismatch()),
            })
            .collect()
    }

    /// The row `sql` returns, if any (more than one is an error).
    pub(super) fn opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(Error::Corrupt {
                what: "query result",
                reason: format!("{} rows where one at most was expected", rows.len()),
            });
        }
        Ok(rows.pop())
    }

    /// The one row `sql` returns.
    pub(super) fn one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row> {
        let mut rows = self.query(sql, params)?;
        if rows.len() != 1 {
            return Err(Error::Corrupt {
                what: "query result",
                reason: format!("{} rows where one was expected", rows.len()),
            });
        }
        rows.pop().ok_or_else(|| closed(self.op))
    }

    /// Runs `sql`; the number of rows it changed.
    pub(super) fn exec(&mut self, sql: &str, params: &Params<'_>) -> Result<u64> {
        let s = self.statement(sql)?;
        match self.pipeline(&[(&s, params, Want::Count)], false)?.pop() {
            Some(Reply::Count(n)) => Ok(n),
            _ => Err(mismatch()),
        }
    }

    /// A write transaction's time on the database's clock, read once it held the write lock
    /// (begins the transaction if no statement has yet).
    pub(super) fn clock(&mut self) -> Result<Option<i64>> {
        if self.state == State::Idle {
            self.pipeline(&[], false)?;
        }
        Ok(self.locked_at)
    }

    /// Ends the transaction after `f` returned: commits it if it is open (unless the call
    /// may not), rolls it back after an error. Returns whether it was left open uncommitted
    /// (the failpoint's crash: the caller drops the connection).
    pub(super) fn finish<T>(mut self, out: Result<T>) -> (Result<T>, bool) {
        let op = self.op;
        if self.state != State::Open {
            return (out, false);
        }
        let Conn {
            client,
            io,
            runtime,
            ..
        } = &mut *self.conn;
        let Some(runtime) = runtime.as_ref() else {
            return (out.and(Err(closed(op))), false);
        };
        match out {
            Err(e) => {
                // Nothing of it stays; a connection that broke is dropped by the caller.
                let _ = drive(runtime, io, client.batch_execute("ROLLBACK"));
                self.state = State::Idle;
                (Err(e), false)
            }
            Ok(_) if !self.may_commit => (out, true),
            Ok(v) => {
                let committed = drive(runtime, io, client.batch_execute("COMMIT"));
                self.state = State::Idle;
                (committed.map(|()| v).map_err(pg(op)), false)
            }
        }
    }
}

/// The clock the write lock's query returned (see [`WRITE_LOCK_AND_CLOCK`]).
fn clock_of(rows: &[Row]) -> Result<i64> {
    match rows {
        [row] => row.try_get::<_, i64>(1).map_err(|e| Error::Corrupt {
            what: "database clock",
            reason: format!("the write lock's query returned no clock: {e}"),
        }),
        _ => Err(Error::Corrupt {
            what: "database clock",
            reason: format!("the write lock's query returned {} rows", rows.len()),
        }),
    }
}

/// A pipelined reply of another kind than its request asked for (never: each request's
/// future makes its own kind).
fn mismatch() -> Error {
    Error::Corrupt {
        what: "pipelined reply",
        reason: "a reply of another kind than its request".into(),
    }
}

/// A connection that ended under a call.
fn closed(op: &'static str) -> Error {
    Error::Unavailable {
        op,
        reason: "the connection to PostgreSQL ended".into(),
    }
}
