//! The API's records ([`ApiStore`](crate::store::ApiStore)): tokens, the audit trail, the status
//! history the delivery statements write, and the message search; rows are decoded by the SQLite
//! store's decoders.

use std::sync::LazyLock;

use causeway_proofs::{Address32, MessageId};
use postgres::Row;
use postgres::types::ToSql;

use super::{Tx, bookkeeping, col, i64_of};
use crate::Error;
use crate::store::sqlite::api::{MAX_NAME, RawToken, TOKEN_COLUMNS, decode_event};
use crate::store::sqlite::codec;
use crate::store::{
    AuditRecord, Lane, MessageFilter, MessageSummary, NewToken, Result, StatusEvent, TokenId,
    TokenRecord, UnixMillis,
};

/// Appends one audit row.
pub(super) fn audit(
    tx: &mut Tx<'_>,
    actor: &str,
    action: &str,
    target: &str,
    now: UnixMillis,
) -> Result<()> {
    let at = i64_of("time", now.0)?;
    tx.exec(
        "INSERT INTO audit (seq, actor, action, target, at)
         VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM audit), $1, $2, $3, $4)",
        &[&actor, &action, &target, &at],
    )?;
    Ok(())
}

pub(super) fn create_token(tx: &mut Tx<'_>, token: &NewToken<'_>) -> Result<TokenId> {
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
    let now = i64_of("time", token.now.0)?;
    let expires = token
        .expires_at
        .map(|e| i64_of("expiry", e.0))
        .transpose()?;
    let hash: &[u8] = &token.hash[..];
    let row = tx.one(
        "INSERT INTO api_token (id, name, hash, scopes, created_at, expires_at)
         VALUES ((SELECT coalesce(max(id), 0) + 1 FROM api_token), $1, $2, $3, $4, $5)
         RETURNING id",
        &[&token.name, &hash, &scopes.join(","), &now, &expires],
    )?;
    let id = TokenId(codec::to_u64("token id", col(&row, 0)?)?);
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
    tx: &mut Tx<'_>,
    id: TokenId,
    actor: &str,
    now: UnixMillis,
) -> Result<()> {
    let key = i64_of("token id", id.0)?;
    let row = tx
        .opt(
            "SELECT name, revoked_at FROM api_token WHERE id = $1",
            &[&key],
        )?
        .ok_or(Error::UnknownToken { id: id.0 })?;
    let name: String = col(&row, 0)?;
    let revoked: Option<i64> = col(&row, 1)?;
    if revoked.is_some() {
        return Ok(());
    }
    let at = i64_of("time", now.0)?;
    tx.exec(
        "UPDATE api_token SET revoked_at = $2 WHERE id = $1",
        &[&key, &at],
    )?;
    audit(
        tx,
        actor,
        "token.revoke",
        &format!("token:{id}:{name}"),
        now,
    )
}

fn token(r: &Row) -> Result<TokenRecord> {
    RawToken {
        id: col(r, 0)?,
        name: col(r, 1)?,
        hash: col(r, 2)?,
        scopes: col(r, 3)?,
        created_at: col(r, 4)?,
        expires_at: col(r, 5)?,
        revoked_at: col(r, 6)?,
    }
    .decode()
}

pub(super) fn tokens(tx: &mut Tx<'_>) -> Result<Vec<TokenRecord>> {
    let rows = tx.query(
        &format!("SELECT {TOKEN_COLUMNS} FROM api_token ORDER BY id"),
        &[],
    )?;
    rows.iter().map(token).collect()
}

pub(super) fn token_by_hash(tx: &mut Tx<'_>, hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
    let key: &[u8] = &hash[..];
    tx.opt(
        &format!("SELECT {TOKEN_COLUMNS} FROM api_token WHERE hash = $1"),
        &[&key],
    )?
    .as_ref()
    .map(token)
    .transpose()
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(super) fn audit_trail(tx: &mut Tx<'_>, after: u64, limit: usize) -> Result<Vec<AuditRecord>> {
    let after = i64_of("seq", after)?;
    let rows = tx.query(
        "SELECT seq, actor, action, target, at FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[&after, &limit_param(limit)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(AuditRecord {
                seq: codec::to_u64("audit seq", col(r, 0)?)?,
                actor: col(r, 1)?,
                action: col(r, 2)?,
                target: col(r, 3)?,
                at: codec::millis(col(r, 4)?)?,
            })
        })
        .collect()
}

fn event(r: &Row) -> Result<StatusEvent> {
    decode_event((
        col(r, 0)?,
        col(r, 1)?,
        col(r, 2)?,
        col(r, 3)?,
        col(r, 4)?,
        col(r, 5)?,
        col(r, 6)?,
    ))
}

/// A message's events (schema 6: one row per run of its lane's messages a statement moved):
/// the runs of its lane that start at most `MAX_RUN - 1` positions before it and reach it.
/// Each event's number is the run's first number plus the message's offset in the run.
static HISTORY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT e.seq - e.n + 1 + d.lane_pos - e.first_pos, d.message_id, d.origin,
                d.destination, e.status, e.reason, e.at
         FROM delivery d JOIN message_event e
           ON e.origin = d.origin AND e.destination = d.destination
          AND e.first_pos BETWEEN d.lane_pos - {} + 1 AND d.lane_pos
          AND e.first_pos + e.n > d.lane_pos
         WHERE d.message_id = $1
         ORDER BY e.seq",
        bookkeeping::MAX_RUN
    )
});

pub(super) fn history(tx: &mut Tx<'_>, id: MessageId) -> Result<Vec<StatusEvent>> {
    let key: &[u8] = &id.0.0[..];
    let rows = tx.query(&HISTORY, &[&key])?;
    rows.iter().map(event).collect()
}

/// The events numbered after `$1`, at most `$2`: the runs holding those numbers (every run
/// holding a number past `$1` gives at least one event, so `$2` runs are enough, and only
/// those that start before the `$2`-th event past `$1` are read), each expanded into its
/// messages by their positions in its lane (through the lane-position index, run by run). A
/// run that does not find all of its messages is a corrupt store.
const EVENTS_AFTER: &str = "SELECT e.seq - e.n + 1 + d.lane_pos - e.first_pos AS seq,
            d.message_id, e.origin, e.destination, e.status, e.reason, e.at,
            e.seq AS last, e.n, count(*) OVER (PARTITION BY e.seq) AS found,
            greatest(e.seq - e.n + 1, $1 + 1) AS from_seq
     FROM (SELECT * FROM (
               SELECT *, sum(least(n, seq - $1)) OVER (ORDER BY seq) - least(n, seq - $1)
                         AS before
               FROM (SELECT * FROM message_event WHERE seq > $1 ORDER BY seq LIMIT $2) AS r
           ) AS r WHERE before < $2) AS e
     CROSS JOIN LATERAL (
         SELECT lane_pos, message_id FROM delivery
         WHERE origin = e.origin AND destination = e.destination
           AND lane_pos BETWEEN e.first_pos + greatest($1 + 1 - (e.seq - e.n + 1), 0)
                            AND e.first_pos + e.n - 1
           AND lane_pos >= 0
         OFFSET 0
     ) AS d
     ORDER BY 1 LIMIT $2";

pub(super) fn events_after(tx: &mut Tx<'_>, after: u64, limit: usize) -> Result<Vec<StatusEvent>> {
    let after = i64_of("seq", after)?;
    let rows = tx.query(EVENTS_AFTER, &[&after, &limit_param(limit)])?;
    rows.iter()
        .map(|r| {
            let (last, n, found, from): (i64, i64, i64, i64) =
                (col(r, 7)?, col(r, 8)?, col(r, 9)?, col(r, 10)?);
            if found != last - from + 1 {
                return Err(codec::corrupt(
                    "message event",
                    format!(
                        "event {last} covers {n} messages, {found} of its {} past {after} stored",
                        last - from + 1
                    ),
                ));
            }
            event(r)
        })
        .collect()
}

pub(super) fn last_event_seq(tx: &mut Tx<'_>) -> Result<u64> {
    let row = tx.one(
        "SELECT coalesce(max(seq), 0)::bigint FROM message_event",
        &[],
    )?;
    codec::to_u64("event seq", col(&row, 0)?)
}

pub(super) fn search(tx: &mut Tx<'_>, f: &MessageFilter) -> Result<Vec<MessageSummary>> {
    // Only the conditions asked for are written (numbered as they are added), so the planner
    // can walk an index, as in the SQLite store.
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let mut add = |condition: &str, value: Box<dyn ToSql + Sync>, values: &mut Vec<_>| {
        values.push(value);
        conditions.push(condition.replace('?', &format!("${}", values.len())));
    };
    if let Some(d) = f.origin {
        add("m.origin = ?", Box::new(i64::from(d.0)), &mut values);
    }
    if let Some(d) = f.destination {
        add("m.destination = ?", Box::new(i64::from(d.0)), &mut values);
    }
    if let Some(a) = f.sender {
        add(
            "substring(m.encoded from 14 for 32) = ?",
            Box::new(a.0.to_vec()),
            &mut values,
        );
    }
    if let Some(state) = f.state {
        add(
            "d.state = ?",
            Box::new(state.as_str().to_owned()),
            &mut values,
        );
    }
    if let Some(t) = f.since {
        add(
            "m.accepted_at >= ?",
            Box::new(i64_of("time", t.0)?),
            &mut values,
        );
    }
    if let Some(t) = f.until {
        add(
            "m.accepted_at < ?",
            Box::new(i64_of("time", t.0)?),
            &mut values,
        );
    }
    if let Some((at, id)) = f.after {
        values.push(Box::new(i64_of("time", at.0)?));
        values.push(Box::new(id.0.0.to_vec()));
        conditions.push(format!(
            "(m.accepted_at, m.id) > (${}, ${})",
            values.len() - 1,
            values.len()
        ));
    }
    let limit = f.limit.min(MessageFilter::MAX_LIMIT);
    values.push(Box::new(limit_param(limit)));
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let query = format!(
        "SELECT m.id, m.origin, m.destination, substring(m.encoded from 14 for 32), d.state,
                m.accepted_at
         FROM message m JOIN delivery_now d ON d.message_id = m.id
         {filter}
         ORDER BY m.accepted_at, m.id
         LIMIT ${}",
        values.len()
    );
    let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
    let rows = tx.query(&query, &params)?;
    rows.iter()
        .map(|r| {
            let sender: &[u8] = col(r, 3)?;
            let sender: [u8; 32] = sender
                .try_into()
                .map_err(|_| codec::corrupt("message sender", format!("{} bytes", sender.len())))?;
            Ok(MessageSummary {
                id: codec::message_id(col(r, 0)?)?,
                lane: Lane {
                    origin: codec::domain(col(r, 1)?)?,
                    destination: codec::domain(col(r, 2)?)?,
                },
                sender: Address32(sender),
                state: codec::state(col(r, 4)?)?,
                accepted_at: codec::millis(col(r, 5)?)?,
            })
        })
        .collect()
}
