//! The PostgreSQL schema's versioned migrations, applied at start-up in one transaction under
//! an advisory lock (`pg_advisory_xact_lock`), so replicas starting together migrate once: the
//! second waits for the first to commit, then finds nothing left to apply.
//!
//! A migration, once released, never changes: fix mistakes with a new one. A database migrated
//! by a newer build is refused ([`Error::SchemaTooNew`]): at opening, and by every write of a
//! replica that was already running when a newer one migrated the database (a rolling upgrade),
//! so an older build never writes what newer code reads differently (PostgreSQL schema 2's
//! `lane_last_delivery`, say, which schema 1's confirmations did not update). A migration holds
//! the write lock, and each write checks the schema version once it holds that lock
//! ([`SCHEMA_GUARD`]).

use std::sync::LazyLock;

use postgres::Client;

use super::{MIGRATE_LOCK, Tx, WRITE_LOCK, col, pg};
use crate::Error;
use crate::store::{Result, UnixMillis};

/// One schema step.
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order; versions are 1, 2, 3, ... without gaps.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "the schema of SQLite's version 9",
        sql: include_str!("migrations/0001_schema.sql"),
    },
    Migration {
        version: 2,
        name: "SQLite's version 10, bookkeeping triggers per statement",
        sql: include_str!("migrations/0002_lean_delivery.sql"),
    },
    Migration {
        version: 3,
        name: "send requests leased to one dispatcher",
        sql: include_str!("migrations/0003_send_leases.sql"),
    },
    Migration {
        version: 4,
        name: "send requests put off with a backoff",
        sql: include_str!("migrations/0004_send_retries.sql"),
    },
    Migration {
        version: 5,
        name: "lane counts and status events written by the statements, not by triggers",
        sql: include_str!("migrations/0005_statement_bookkeeping.sql"),
    },
    Migration {
        version: 6,
        name: "one delivery row per leased batch, one status event per run of a lane",
        sql: include_str!("migrations/0006_delivery_runs.sql"),
    },
    Migration {
        version: 7,
        name: "compact native proofs as bytes",
        sql: include_str!("migrations/0007_native_proof_bytes.sql"),
    },
];

/// The schema version this build brings a database to.
pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

/// What the schema guard's refusal says, up to the version found.
const GUARD_REFUSAL: &str = "store schema version ";

/// The statement each write runs once it holds the write lock: no rows while the database is at
/// a schema this build knows; else it fails, naming the version found (the failed cast of the
/// refusal's text, SQLSTATE 22P02, which [`schema_too_new`] reads as [`Error::SchemaTooNew`]),
/// and the write's transaction is rolled back with everything pipelined behind it.
pub(super) static SCHEMA_GUARD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT 1 FROM schema_version WHERE CASE WHEN version > {LATEST_VERSION} \
         THEN ('{GUARD_REFUSAL}' || version || ' is newer than this build supports')::int = 0 \
         ELSE false END"
    )
});

/// The version a write's [`SCHEMA_GUARD`] refused, if `e` is its refusal.
pub(super) fn schema_too_new(e: &postgres::Error) -> Option<u32> {
    let db = e.as_db_error()?;
    if db.code().code() != "22P02" {
        return None;
    }
    let (_, rest) = db.message().split_once(GUARD_REFUSAL)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Applies the missing migrations and returns the resulting version.
pub(super) fn migrate(client: &mut Client) -> Result<u32> {
    let op = "migrate schema";
    let mut tx = client.transaction().map_err(pg(op))?;
    // A migration may rewrite a large table: not bound by the sessions' statement timeout.
    tx.batch_execute("SET LOCAL statement_timeout = 0")
        .map_err(pg(op))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(pg(op))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    BIGINT PRIMARY KEY,
             name       TEXT   NOT NULL,
             applied_at BIGINT NOT NULL
         )",
    )
    .map_err(pg(op))?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM schema_version",
            &[],
        )
        .map_err(pg(op))?;
    let current = version_of(col(&row, 0)?)?;
    if current > LATEST_VERSION {
        return Err(Error::SchemaTooNew {
            found: current,
            supported: LATEST_VERSION,
        });
    }
    if current < LATEST_VERSION {
        // The write lock too, until this commits: no replica's write straddles the migration,
        // and each write after it sees the new version (its schema guard).
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(pg(op))?;
    }
    let now = i64::try_from(UnixMillis::now().0).unwrap_or(i64::MAX);
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(m.sql).map_err(pg("apply migration"))?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&i64::from(m.version), &m.name, &now],
        )
        .map_err(pg(op))?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied PostgreSQL store migration"
        );
    }
    tx.commit().map_err(pg(op))?;
    Ok(LATEST_VERSION)
}

/// The last applied migration (0 for a new database).
pub(super) fn current_version(tx: &mut Tx<'_>) -> Result<u32> {
    let row = tx.one(
        "SELECT coalesce(max(version), 0)::bigint FROM schema_version",
        &[],
    )?;
    version_of(col(&row, 0)?)
}

fn version_of(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Corrupt {
        what: "schema version",
        reason: format!("{v} is not a migration number"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version as usize,
                i + 1,
                "migration {} out of order",
                m.name
            );
            assert!(!m.sql.trim().is_empty(), "migration {} is empty", m.name);
        }
    }
}
