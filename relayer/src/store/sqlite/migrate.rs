//! Embedded schema migrations: ordered SQL scripts compiled into the binary, applied in one
//! transaction on open and recorded in `schema_version`.
//!
//! A migration, once released, never changes: fix mistakes with a new one. A file migrated by
//! a newer build is refused ([`Error::SchemaTooNew`]) rather than written with old assumptions:
//! at opening, and by every write of a handle opened before a newer build migrated the file
//! beside it ([`refuse_newer`]).

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{codec, sql};
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
        name: "initial",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "submission handle",
        sql: include_str!("migrations/0002_submission_handle.sql"),
    },
    Migration {
        version: 3,
        name: "family-neutral submission",
        sql: include_str!("migrations/0003_family_neutral_submission.sql"),
    },
    Migration {
        version: 4,
        name: "lease tokens",
        sql: include_str!("migrations/0004_lease_tokens.sql"),
    },
    Migration {
        version: 5,
        name: "signed submissions",
        sql: include_str!("migrations/0005_signed_submissions.sql"),
    },
    Migration {
        version: 6,
        name: "member signatures and equivocation evidence",
        sql: include_str!("migrations/0006_member_signatures.sql"),
    },
    Migration {
        version: 7,
        name: "message events, API tokens and audit",
        sql: include_str!("migrations/0007_api.sql"),
    },
    Migration {
        version: 8,
        name: "delivery rows and status events in log order",
        sql: include_str!("migrations/0008_sequential_delivery.sql"),
    },
    Migration {
        version: 9,
        name: "send requests, envelopes and grants",
        sql: include_str!("migrations/0009_sends_and_envelopes.sql"),
    },
    Migration {
        version: 10,
        name: "leaner delivery transitions; each lane's last delivery kept",
        sql: include_str!("migrations/0010_lean_delivery.sql"),
    },
    Migration {
        version: 11,
        name: "status history and lane counts per batch",
        sql: include_str!("migrations/0011_batch_history.sql"),
    },
    Migration {
        version: 12,
        name: "send requests leased to one dispatcher",
        sql: include_str!("migrations/0012_send_leases.sql"),
    },
    Migration {
        version: 13,
        name: "send requests put off with a backoff",
        sql: include_str!("migrations/0013_send_retries.sql"),
    },
    Migration {
        version: 14,
        name: "one delivery row per leased batch",
        sql: include_str!("migrations/0014_delivery_runs.sql"),
    },
    Migration {
        version: 15,
        name: "compact native proofs as bytes",
        sql: include_str!("migrations/0015_native_proof_blob.sql"),
    },
    Migration {
        version: 16,
        name: "accepted without a delivery row; runs of lane positions",
        sql: include_str!("migrations/0016_lane_positions.sql"),
    },
];

/// The schema version this build brings a file to.
pub(super) const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

/// Applies the missing migrations in one `IMMEDIATE` transaction (so two processes opening a new
/// file at once apply them once) and returns the resulting version.
pub(super) fn migrate(conn: &mut Connection) -> Result<u32> {
    let op = "migrate schema";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql(op))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )
    .map_err(sql(op))?;
    let current = current_version(&tx)?;
    if current > LATEST_VERSION {
        return Err(Error::SchemaTooNew {
            found: current,
            supported: LATEST_VERSION,
        });
    }
    let now = codec::to_i64("time", UnixMillis::now().0)?;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sql).map_err(sql("apply migration"))?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, now],
        )
        .map_err(sql(op))?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied store migration"
        );
    }
    tx.commit().map_err(sql(op))?;
    Ok(LATEST_VERSION)
}

/// The last applied migration (0 for a new file).
/// Refuses a write ([`Error::SchemaTooNew`]) once a newer build migrated the file since this
/// handle opened it (a newer `causeway` run beside this one). Run first in every write
/// transaction: it holds the write lock, which a migration needs too, so no migration lands
/// between this check and the write's commit.
pub(super) fn refuse_newer(tx: &Transaction<'_>) -> Result<()> {
    let found: i64 = tx
        .prepare_cached("SELECT coalesce(max(version), 0) FROM schema_version")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql("read schema version"))?;
    if found > i64::from(LATEST_VERSION) {
        return Err(Error::SchemaTooNew {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: LATEST_VERSION,
        });
    }
    Ok(())
}

pub(super) fn current_version(tx: &Transaction<'_>) -> Result<u32> {
    let op = "read schema version";
    let v: Option<i64> = tx
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .optional()
        .map_err(sql(op))?
        .flatten();
    let v = v.unwrap_or(0);
    u32::try_from(v).map_err(|_| Error::Corrupt {
        what: "schema version",
        reason: format!("{v} is not a migration number"),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// SQLite's plan for `sql` on a freshly migrated store (no statistics, as in service), one
    /// step a line.
    pub(crate) fn query_plan(sql: &str) -> String {
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        migrate(&mut conn).expect("migrations apply");
        // As the store's connections plan (see `configure`): never from a bound value.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .expect("planner stability guarantee");
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("statement prepares");
        // Unbound parameters are NULL: the plan does not depend on their values.
        let mut rows = stmt.raw_query();
        let mut steps = Vec::new();
        while let Some(row) = rows.next().expect("plan row") {
            steps.push(row.get::<_, String>(3).expect("plan step"));
        }
        steps.join("\n")
    }

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
        assert_eq!(LATEST_VERSION as usize, MIGRATIONS.len());
    }
}
