//! The API's records in SQLite ([`ApiStore`](crate::store::ApiStore)): tokens, the audit
//! trail, the status history (written per statement by `history`, one row per run of a lane's
//! messages since schema 11), and the message search.

use causeway_proofs::{Address32, MessageId};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::codec::{self, to_i64};
use super::sql;
use crate::Error;
use crate::store::{
    AuditRecord, Lane, MessageFilter, MessageStatus, MessageSummary, NewToken, Result, Scope,
    StatusEvent, TokenId, TokenRecord, UnixMillis,
};

/// The longest token name.
pub(crate) const MAX_NAME: usize = 64;

/// Appends one audit row.
pub(super) fn audit(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    target: &str,
    now: UnixMillis,
) -> Result<()> {
    let at = to_i64("time", now.0)?;
    tx.prepare_cached("INSERT INTO audit (actor, action, target, at) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| s.execute(params![actor, action, target, at]))
        .map_err(sql("write audit row"))?;
    Ok(())
}

pub(super) fn create_token(tx: &Transaction<'_>, token: &NewToken<'_>) -> Result<TokenId> {
    if token.name.is_empty() || token.name.len() > MAX_NAME {
        return Err(Error::InvalidToken {
            reason: format!("a token's name is 1 to {MAX_NAME} bytes"),
        });
    }
    if token.scopes.is_empty() {
        return Err(Error::InvalidToken {
            reason: "a token needs at least one scope".to_owned(),
        });
    }
    let mut scopes = token.scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let now = to_i64("time", token.now.0)?;
    let expires = token
        .expires_at
        .map(|e| to_i64("expiry", e.0))
        .transpose()?;
    tx.prepare_cached(
        "INSERT INTO api_token (name, hash, scopes, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            token.name,
            &token.hash[..],
            scopes.join(","),
            now,
            expires
        ])
    })
    .map_err(sql("create token"))?;
    let id = TokenId(codec::to_u64("token id", tx.last_insert_rowid())?);
    audit(
        tx,
        token.actor,
        "token.create",
        &format!("token:{id}:{}", token.name),
        token.now,
    )?;
    Ok(id)
}

pub(super) fn revoke_token(
    tx: &Transaction<'_>,
    id: TokenId,
    actor: &str,
    now: UnixMillis,
) -> Result<()> {
    let key = to_i64("token id", id.0)?;
    let row: Option<(String, Option<i64>)> = tx
        .prepare_cached("SELECT name, revoked_at FROM api_token WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(sql("read token"))?;
    let (name, revoked) = row.ok_or(Error::UnknownToken { id: id.0 })?;
    if revoked.is_some() {
        return Ok(());
    }
    let at = to_i64("time", now.0)?;
    tx.prepare_cached("UPDATE api_token SET revoked_at = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![key, at]))
        .map_err(sql("revoke token"))?;
    audit(
        tx,
        actor,
        "token.revoke",
        &format!("token:{id}:{name}"),
        now,
    )
}

pub(crate) const TOKEN_COLUMNS: &str = "id, name, hash, scopes, created_at, expires_at, revoked_at";

fn token_row(r: &Row<'_>) -> rusqlite::Result<RawToken> {
    Ok(RawToken {
        id: r.get(0)?,
        name: r.get(1)?,
        hash: r.get(2)?,
        scopes: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

pub(crate) struct RawToken {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) hash: Vec<u8>,
    pub(crate) scopes: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
}

impl RawToken {
    pub(crate) fn decode(self) -> Result<TokenRecord> {
        let hash: [u8; 32] = self
            .hash
            .as_slice()
            .try_into()
            .map_err(|_| codec::corrupt("token hash", format!("{} bytes", self.hash.len())))?;
        let scopes = self
            .scopes
            .split(',')
            .map(|s| Scope::from_name(s).ok_or_else(|| codec::corrupt("token scope", s.to_owned())))
            .collect::<Result<Vec<_>>>()?;
        Ok(TokenRecord {
            id: TokenId(codec::to_u64("token id", self.id)?),
            name: self.name,
            hash,
            scopes,
            created_at: codec::millis(self.created_at)?,
            expires_at: self.expires_at.map(codec::millis).transpose()?,
            revoked_at: self.revoked_at.map(codec::millis).transpose()?,
        })
    }
}

pub(super) fn tokens(tx: &Transaction<'_>) -> Result<Vec<TokenRecord>> {
    let rows: Vec<RawToken> = tx
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_token ORDER BY id"
        ))
        .and_then(|mut s| s.query_map([], token_row)?.collect())
        .map_err(sql("list tokens"))?;
    rows.into_iter().map(RawToken::decode).collect()
}

pub(super) fn token_by_hash(tx: &Transaction<'_>, hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
    tx.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_token WHERE hash = ?1"
    ))
    .and_then(|mut s| s.query_row([&hash[..]], token_row).optional())
    .map_err(sql("read token"))?
    .map(RawToken::decode)
    .transpose()
}

pub(super) fn audit_trail(
    tx: &Transaction<'_>,
    after: u64,
    limit: usize,
) -> Result<Vec<AuditRecord>> {
    type Raw = (i64, String, String, String, i64);
    let after = to_i64("seq", after)?;
    let rows: Vec<Raw> = tx
        .prepare_cached(
            "SELECT seq, actor, action, target, at FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![after, limit_param(limit)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect()
        })
        .map_err(sql("read audit trail"))?;
    rows.into_iter()
        .map(|(seq, actor, action, target, at)| {
            Ok(AuditRecord {
                seq: codec::to_u64("audit seq", seq)?,
                actor,
                action,
                target,
                at: codec::millis(at)?,
            })
        })
        .collect()
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(crate) type RawEvent = (i64, Vec<u8>, i64, i64, String, Option<String>, i64);

pub(crate) fn decode_event(raw: RawEvent) -> Result<StatusEvent> {
    let (seq, id, origin, destination, status, reason, at) = raw;
    Ok(StatusEvent {
        seq: codec::to_u64("event seq", seq)?,
        id: codec::message_id(&id)?,
        lane: Lane {
            origin: codec::domain(origin)?,
            destination: codec::domain(destination)?,
        },
        status: MessageStatus::from_name(&status)
            .ok_or_else(|| codec::corrupt("message status", status.clone()))?,
        reason,
        at: codec::millis(at)?,
    })
}

/// A message's events (schema 11: one row per run of its lane's messages a statement moved):
/// the runs of its lane that start at most `MAX_RUN - 1` positions before it and reach it.
/// Each event's number is the run's first number plus the message's offset in the run.
const HISTORY: &str = "SELECT e.seq - e.n + 1 + m.lane_pos - e.first_pos, m.id,
            m.origin, m.destination, e.status, e.reason, e.at
     FROM message m JOIN message_event e INDEXED BY message_event_by_lane
       ON e.origin = m.origin AND e.destination = m.destination
      AND e.first_pos BETWEEN m.lane_pos - ?2 + 1 AND m.lane_pos
      AND e.first_pos + e.n > m.lane_pos
     WHERE m.id = ?1
     ORDER BY e.seq";

pub(super) fn history(tx: &Transaction<'_>, id: MessageId) -> Result<Vec<StatusEvent>> {
    let rows: Vec<RawEvent> = tx
        .prepare_cached(HISTORY)
        .and_then(|mut s| {
            s.query_map(params![&id.0.0[..], super::history::MAX_RUN], |r| {
                r.try_into()
            })?
            .collect()
        })
        .map_err(sql("read message history"))?;
    rows.into_iter().map(decode_event).collect()
}

/// The messages of a run, in position order.
const RUN_MESSAGES: &str = "SELECT lane_pos, id FROM message INDEXED BY message_by_lane
     WHERE origin = ?1 AND destination = ?2 AND lane_pos BETWEEN ?3 AND ?4
     ORDER BY lane_pos";

/// One event row: a run of `n` messages of a lane from `first_pos`, numbered up to `seq`.
type RawRun = (i64, i64, i64, i64, i64, String, Option<String>, i64);

pub(super) fn events_after(
    tx: &Transaction<'_>,
    after: u64,
    limit: usize,
) -> Result<Vec<StatusEvent>> {
    let op = "read message events";
    let after = to_i64("seq", after)?;
    // Every run holding a number past `after` gives at least one event: `limit` runs are enough.
    let runs: Vec<RawRun> = tx
        .prepare_cached(
            "SELECT seq, n, origin, destination, first_pos, status, reason, at
             FROM message_event WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![after, limit_param(limit)], |r| r.try_into())?
                .collect()
        })
        .map_err(sql(op))?;
    let mut out = Vec::new();
    for (seq, n, origin, destination, first_pos, status, reason, at) in runs {
        let first_seq = seq - n + 1;
        // Only the part of the run past `after` (all of it, but for the first run).
        let skip = (after + 1 - first_seq).max(0);
        let ids: Vec<(i64, Vec<u8>)> = tx
            .prepare_cached(RUN_MESSAGES)
            .and_then(|mut s| {
                s.query_map(
                    params![origin, destination, first_pos + skip, first_pos + n - 1],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect()
            })
            .map_err(sql(op))?;
        if i64::try_from(ids.len()).ok() != Some(n - skip) {
            return Err(codec::corrupt(
                "message event",
                format!(
                    "event {seq} covers {n} messages of lane {origin}->{destination} from \
                     position {first_pos}, {} of which are stored",
                    ids.len()
                ),
            ));
        }
        for (pos, id) in ids {
            if out.len() == limit {
                return Ok(out);
            }
            out.push(decode_event((
                first_seq + pos - first_pos,
                id,
                origin,
                destination,
                status.clone(),
                reason.clone(),
                at,
            ))?);
        }
    }
    Ok(out)
}

pub(super) fn last_event_seq(tx: &Transaction<'_>) -> Result<u64> {
    let seq: i64 = tx
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM message_event")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql("read last event"))?;
    codec::to_u64("event seq", seq)
}

pub(super) fn search(tx: &Transaction<'_>, f: &MessageFilter) -> Result<Vec<MessageSummary>> {
    // Only the conditions asked for are written, so SQLite can walk an index: the keyset
    // condition on (accepted_at, id) starts the next page where the last one ended
    // (`message_by_time`), never from the first row. The sender expression is the one
    // `message_by_sender` indexes.
    let mut conditions: Vec<&str> = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut add = |condition: &'static str, value: rusqlite::types::Value| {
        conditions.push(condition);
        values.push(value);
    };
    if let Some(d) = f.origin {
        add("m.origin = ?", i64::from(d.0).into());
    }
    if let Some(d) = f.destination {
        add("m.destination = ?", i64::from(d.0).into());
    }
    if let Some(a) = f.sender {
        add("substr(m.encoded, 14, 32) = ?", a.0.to_vec().into());
    }
    if let Some(state) = f.state {
        add(super::runs::NOW_STATE_IS, state.as_str().to_owned().into());
    }
    if let Some(t) = f.since {
        add("m.accepted_at >= ?", to_i64("time", t.0)?.into());
    }
    if let Some(t) = f.until {
        add("m.accepted_at < ?", to_i64("time", t.0)?.into());
    }
    if let Some((at, id)) = f.after {
        conditions.push("(m.accepted_at, m.id) > (?, ?)");
        values.push(to_i64("time", at.0)?.into());
        values.push(id.0.0.to_vec().into());
    }
    let limit = f.limit.min(MessageFilter::MAX_LIMIT);
    values.push(limit_param(limit).into());
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let query = format!(
        "SELECT m.id, m.origin, m.destination, substr(m.encoded, 14, 32), {} AS state,
                m.accepted_at
         FROM {}
         {filter}
         ORDER BY m.accepted_at, m.id
         LIMIT ?",
        super::runs::NOW_STATE,
        super::runs::NOW_FROM
    );
    type Raw = (Vec<u8>, i64, i64, Vec<u8>, String, i64);
    let rows: Vec<Raw> = tx
        .prepare_cached(&query)
        .and_then(|mut s| {
            s.query_map(rusqlite::params_from_iter(values), |r| r.try_into())?
                .collect()
        })
        .map_err(sql("search messages"))?;
    rows.into_iter()
        .map(|(id, origin, destination, sender, state, at)| {
            let sender: [u8; 32] = sender
                .as_slice()
                .try_into()
                .map_err(|_| codec::corrupt("message sender", format!("{} bytes", sender.len())))?;
            Ok(MessageSummary {
                id: codec::message_id(&id)?,
                lane: Lane {
                    origin: codec::domain(origin)?,
                    destination: codec::domain(destination)?,
                },
                sender: Address32(sender),
                state: codec::state(&state)?,
                accepted_at: codec::millis(at)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::migrate::tests::query_plan;
    use super::*;

    /// A message's history reads the few runs of its lane that start within `MAX_RUN` before
    /// it (a range of the index), not every run of the lane; a run's messages are a range of
    /// the lane's positions.
    #[test]
    fn history_and_runs_read_index_ranges() {
        let plan = query_plan(HISTORY);
        assert!(
            plan.contains("sqlite_autoindex_message"),
            "history finds the message through {plan}"
        );
        assert!(
            plan.contains(
                "message_event_by_lane (origin=? AND destination=? AND first_pos>? AND first_pos<?)"
            ),
            "history reads runs through {plan}"
        );
        let plan = query_plan(RUN_MESSAGES);
        assert!(
            plan.contains(
                "message_by_lane (origin=? AND destination=? AND lane_pos>? AND lane_pos<?)"
            ),
            "a run's messages are read through {plan}"
        );
    }
}
