//! Cursors, accepted events and the per-origin log ([`SourceStore`](crate::store::SourceStore)).

use causeway_proofs::{Domain, LeafIndex, LogSize, MessageId};
use rusqlite::{OptionalExtension, Transaction, params};

use super::codec::{self, bits_to_i64, to_i64};
use super::history::Moves;
use super::sql;
use crate::Error;
use crate::store::{
    AcceptBatch, AcceptOutcome, DeliveryStateKind, Result, SourceCursor, UnixMillis,
};

pub(super) fn cursor(tx: &Transaction<'_>, origin: Domain) -> Result<Option<SourceCursor>> {
    let op = "read cursor";
    let row: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT block_number, block_hash FROM source_cursor WHERE origin = ?1")
        .and_then(|mut s| {
            s.query_row([origin.0], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(sql(op))?;
    row.map(|(number, hash)| {
        Ok(SourceCursor {
            block_number: codec::to_u64("cursor block", number)?,
            block_hash: codec::hash32("cursor block hash", &hash)?,
        })
    })
    .transpose()
}

pub(super) fn log_size(tx: &Transaction<'_>, origin: Domain) -> Result<LogSize> {
    let next: i64 = tx
        .prepare_cached("SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaf WHERE origin = ?1")
        .and_then(|mut s| s.query_row([origin.0], |r| r.get(0)))
        .map_err(sql("read log size"))?;
    codec::to_u64("log size", next).map(LogSize)
}

pub(super) fn accept(tx: &Transaction<'_>, batch: &AcceptBatch<'_>) -> Result<AcceptOutcome> {
    let op = "accept events";
    let origin = batch.origin;
    let stored = cursor(tx, origin)?;
    if let Some(stored) = stored
        && batch.cursor.block_number < stored.block_number
    {
        return replay_behind(tx, batch, stored);
    }
    if let Some(stored) = stored {
        check_cursor_advance(origin, stored, batch.cursor)?;
    }
    let now = to_i64("time", batch.now.0)?;
    let mut next = log_size(tx, origin)?.0;
    // Each destination's next position in its lane, read once per batch.
    let mut lane_next: std::collections::HashMap<u32, i64> = std::collections::HashMap::new();
    let mut moves = Moves::default();
    let mut outcome = AcceptOutcome {
        appended: Vec::new(),
        already_known: 0,
        log_size: LogSize(next),
    };

    for event in batch.events {
        let message = &event.message;
        if message.origin() != origin {
            return Err(Error::WrongOrigin {
                expected: origin,
                actual: message.origin(),
            });
        }
        let id = message.id();
        let block = event.source.block_number;
        if let Some(block) = block
            && block > batch.cursor.block_number
        {
            // Known already (a replay), or two messages under one nonce, before this error.
            if known(tx, id)? {
                outcome.already_known += 1;
                continue;
            }
            check_nonce_free(tx, origin, message, id)?;
            return Err(Error::EventBeyondCursor {
                id,
                block,
                cursor: batch.cursor.block_number,
            });
        }
        let source_block = block.map(|b| to_i64("source block", b)).transpose()?;
        let source_ref = serde_json::to_string(&event.source).map_err(|e| Error::Backend {
            op: "encode source reference",
            source: Box::new(e),
        })?;
        let native_proof = codec::encode_native_proof(event.native_proof.as_ref())?;
        let leaf = to_i64("leaf index", next)?;
        let nonce = bits_to_i64(message.nonce().0);
        // Its place in its lane (schema 16: on the message row; no delivery row until a
        // transition needs one, see `runs`).
        let destination = message.destination();
        let pos = match lane_next.get(&destination.0) {
            Some(&pos) => pos,
            None => next_lane_pos(tx, origin, destination)?,
        };
        // The insert itself tells a new message from a known one (its id, or its nonce, is
        // taken); the two reads that told them apart run only when it did nothing (a replay
        // or an equivocation), not for every message.
        let inserted = tx
            .prepare_cached(
                "INSERT INTO message (id, origin, nonce, destination, encoded, source_block,
                                      source_ref, native_proof, accepted_at,
                                      native_proof_compact, lane_pos, leaf_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    &id.0.0[..],
                    origin.0,
                    nonce,
                    message.destination().0,
                    message.encode(),
                    source_block,
                    source_ref,
                    native_proof.json,
                    now,
                    native_proof.compact,
                    pos,
                    leaf
                ])
            })
            .map_err(sql(op))?;
        if inserted == 0 {
            if known(tx, id)? {
                outcome.already_known += 1;
                continue;
            }
            check_nonce_free(tx, origin, message, id)?;
            // Neither its id nor its nonce is taken, yet the insert did nothing: the schema
            // has a uniqueness rule this code does not know.
            return Err(Error::Backend {
                op,
                source: "a message insert was ignored for a conflict that is neither its id \
                         nor its nonce"
                    .into(),
            });
        }
        tx.prepare_cached(
            "INSERT INTO log_leaf (origin, leaf_index, message_id) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut s| s.execute(params![origin.0, leaf, &id.0.0[..]]))
        .map_err(sql(op))?;
        moves.add(
            i64::from(origin.0),
            i64::from(destination.0),
            None,
            DeliveryStateKind::Pending.as_str(),
            pos,
        );
        lane_next.insert(destination.0, pos + 1);
        outcome.appended.push((LeafIndex(next), id));
        next += 1;
    }

    moves.write(tx, now, None)?;
    store_cursor(tx, origin, batch.cursor, now)?;
    outcome.log_size = LogSize(next);
    tracing::debug!(
        origin = %origin,
        block = batch.cursor.block_number,
        appended = outcome.appended.len(),
        already_known = outcome.already_known,
        log_size = next,
        "accepted events"
    );
    Ok(outcome)
}

/// The position the next message of lane (`origin`, `destination`) takes in its lane.
fn next_lane_pos(tx: &Transaction<'_>, origin: Domain, destination: Domain) -> Result<i64> {
    tx.prepare_cached(
        "SELECT coalesce(max(lane_pos) + 1, 0) FROM message INDEXED BY message_by_lane
         WHERE origin = ?1 AND destination = ?2",
    )
    .and_then(|mut s| s.query_row(params![origin.0, destination.0], |r| r.get(0)))
    .map_err(sql("read lane position"))
}

/// Whether message `id` is stored.
fn known(tx: &Transaction<'_>, id: MessageId) -> Result<bool> {
    tx.prepare_cached("SELECT 1 FROM message WHERE id = ?1")
        .and_then(|mut s| s.query_row([&id.0.0[..]], |_| Ok(())).optional())
        .map(|row| row.is_some())
        .map_err(sql("accept events"))
}

/// Fails with [`Error::Equivocation`] if `origin` has another message under `message`'s nonce.
fn check_nonce_free(
    tx: &Transaction<'_>,
    origin: Domain,
    message: &causeway_proofs::Message,
    id: MessageId,
) -> Result<()> {
    let other: Option<Vec<u8>> = tx
        .prepare_cached("SELECT id FROM message WHERE origin = ?1 AND nonce = ?2")
        .and_then(|mut s| {
            s.query_row(params![origin.0, bits_to_i64(message.nonce().0)], |r| {
                r.get(0)
            })
            .optional()
        })
        .map_err(sql("accept events"))?;
    if let Some(other) = other {
        let stored = codec::message_id(&other)?;
        tracing::warn!(
            origin = %origin, nonce = %message.nonce(), %stored, offered = %id,
            "equivocation: two messages under one origin nonce"
        );
        return Err(Error::Equivocation {
            origin,
            nonce: message.nonce(),
            stored,
            offered: id,
        });
    }
    Ok(())
}

/// A batch's cursor may stay at the stored height (a replay) with the same hash, or move up.
/// A batch that ends below the stored cursor: another instance on this store already accepted
/// these blocks (or this one did before a restart from an older cursor). Accepted as a no-op,
/// the cursor left where it is, when every event is already stored; an event the store has
/// not seen below its cursor means the sources disagree, and is refused as a regression.
fn replay_behind(
    tx: &Transaction<'_>,
    batch: &AcceptBatch<'_>,
    stored: SourceCursor,
) -> Result<AcceptOutcome> {
    let origin = batch.origin;
    for event in batch.events {
        let id = event.message.id();
        let known: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM message WHERE id = ?1 AND origin = ?2")
            .and_then(|mut s| {
                s.query_row(params![&id.0.0[..], origin.0], |r| r.get(0))
                    .optional()
            })
            .map_err(sql("accept events"))?;
        if known.is_none() {
            return Err(Error::CursorRegression {
                origin,
                stored: stored.block_number,
                offered: batch.cursor.block_number,
            });
        }
    }
    let log_size = log_size(tx, origin)?;
    tracing::debug!(
        origin = %origin,
        block = batch.cursor.block_number,
        stored = stored.block_number,
        already_known = batch.events.len(),
        "batch behind the stored cursor, already accepted"
    );
    Ok(AcceptOutcome {
        appended: Vec::new(),
        already_known: batch.events.len(),
        log_size,
    })
}

fn check_cursor_advance(origin: Domain, stored: SourceCursor, offered: SourceCursor) -> Result<()> {
    if offered.block_number < stored.block_number {
        return Err(Error::CursorRegression {
            origin,
            stored: stored.block_number,
            offered: offered.block_number,
        });
    }
    if offered.block_number == stored.block_number && offered.block_hash != stored.block_hash {
        return Err(Error::CursorConflict {
            origin,
            block: stored.block_number,
            stored: stored.block_hash,
            offered: offered.block_hash,
        });
    }
    Ok(())
}

fn store_cursor(tx: &Transaction<'_>, origin: Domain, c: SourceCursor, now: i64) -> Result<()> {
    let number = to_i64("cursor block", c.block_number)?;
    tx.prepare_cached(
        "INSERT INTO source_cursor (origin, block_number, block_hash, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (origin) DO UPDATE SET block_number = excluded.block_number,
             block_hash = excluded.block_hash, updated_at = excluded.updated_at",
    )
    .and_then(|mut s| s.execute(params![origin.0, number, &c.block_hash.0[..], now]))
    .map_err(sql("store cursor"))?;
    Ok(())
}

pub(super) fn rollback(
    tx: &Transaction<'_>,
    origin: Domain,
    to: SourceCursor,
    now: UnixMillis,
) -> Result<Option<SourceCursor>> {
    let op = "roll back cursor";
    let stored = cursor(tx, origin)?;
    if let Some(stored) = stored
        && to.block_number > stored.block_number
    {
        return Err(Error::RollbackForward {
            origin,
            stored: stored.block_number,
            target: to.block_number,
        });
    }
    let target = to_i64("rollback block", to.block_number)?;
    let above: Option<(Vec<u8>, i64, i64)> = tx
        .prepare_cached(
            "SELECT l.message_id, l.leaf_index, m.source_block
             FROM message m JOIN log_leaf l ON l.message_id = m.id
             WHERE m.origin = ?1 AND m.source_block > ?2
             ORDER BY l.leaf_index LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row(params![origin.0, target], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(sql(op))?;
    if let Some((id, leaf_index, block)) = above {
        return Err(Error::RollbackBelowFinal {
            origin,
            target: to.block_number,
            id: codec::message_id(&id)?,
            leaf_index: codec::to_u64("leaf index", leaf_index)?,
            block: codec::to_u64("source block", block)?,
        });
    }
    let now = to_i64("time", now.0)?;
    store_cursor(tx, origin, to, now)?;
    tracing::warn!(
        origin = %origin,
        from = stored.map(|c| c.block_number),
        to = to.block_number,
        "rolled source cursor back"
    );
    Ok(stored)
}

pub(super) fn leaves(
    tx: &Transaction<'_>,
    origin: Domain,
    from: LeafIndex,
    limit: usize,
) -> Result<Vec<MessageId>> {
    let op = "read leaves";
    let from = to_i64("leaf index", from.0)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = tx
        .prepare_cached(
            "SELECT message_id FROM log_leaf WHERE origin = ?1 AND leaf_index >= ?2
             ORDER BY leaf_index LIMIT ?3",
        )
        .map_err(sql(op))?;
    let rows = stmt
        .query_map(params![origin.0, from, limit], |r| r.get::<_, Vec<u8>>(0))
        .map_err(sql(op))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(codec::message_id(&row.map_err(sql(op))?)?);
    }
    Ok(out)
}
