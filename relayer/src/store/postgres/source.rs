//! Cursors, accepted events and the per-origin log ([`SourceStore`](crate::store::SourceStore)),
//! the statements of the SQLite store's `source.rs` in PostgreSQL's dialect.

use std::collections::{HashMap, HashSet};

use causeway_proofs::{Domain, LeafIndex, LogSize, MessageId};

use super::{Tx, col, dom, i64_of};
use crate::Error;
use crate::store::sqlite::codec;
use crate::store::{AcceptBatch, AcceptOutcome, Result, SourceCursor, UnixMillis};

/// The new messages of a batch, column by column, in log order.
#[derive(Default)]
struct NewRows {
    id: Vec<Vec<u8>>,
    nonce: Vec<i64>,
    destination: Vec<i64>,
    encoded: Vec<Vec<u8>>,
    source_block: Vec<Option<i64>>,
    source_ref: Vec<String>,
    native_proof: Vec<Option<String>>,
    leaf: Vec<i64>,
}

impl NewRows {
    /// Inserts the messages, their log leaves and their pending deliveries: one statement per
    /// table, rows in log order (the leaves' contiguity trigger and the status events see them
    /// one by one, in that order, as the SQLite store inserts them).
    fn insert(&self, tx: &mut Tx<'_>, origin: Domain, now: i64) -> Result<()> {
        let origin = dom(origin);
        tx.exec(
            "INSERT INTO message (id, origin, nonce, destination, encoded, source_block,
                                  source_ref, native_proof, accepted_at)
             SELECT id, $1, nonce, destination, encoded, source_block, source_ref,
                    native_proof, $2
             FROM unnest($3::bytea[], $4::bigint[], $5::bigint[], $6::bytea[], $7::bigint[],
                         $8::text[], $9::text[])
                  WITH ORDINALITY AS r(id, nonce, destination, encoded, source_block,
                                       source_ref, native_proof, n)
             ORDER BY n",
            &[
                &origin,
                &now,
                &self.id,
                &self.nonce,
                &self.destination,
                &self.encoded,
                &self.source_block,
                &self.source_ref,
                &self.native_proof,
            ],
        )?;
        tx.exec(
            "INSERT INTO log_leaf (origin, leaf_index, message_id)
             SELECT $1, leaf, id FROM unnest($2::bigint[], $3::bytea[])
                  WITH ORDINALITY AS r(leaf, id, n)
             ORDER BY n",
            &[&origin, &self.leaf, &self.id],
        )?;
        tx.exec(
            "INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                                   next_attempt_at, created_at, updated_at)
             SELECT id, $1, destination, leaf, 'pending', $2, $2, $2
             FROM unnest($3::bytea[], $4::bigint[], $5::bigint[])
                  WITH ORDINALITY AS r(id, destination, leaf, n)
             ORDER BY n",
            &[&origin, &now, &self.id, &self.destination, &self.leaf],
        )?;
        Ok(())
    }
}

pub(super) fn cursor(tx: &mut Tx<'_>, origin: Domain) -> Result<Option<SourceCursor>> {
    let row = tx.opt(
        "SELECT block_number, block_hash FROM source_cursor WHERE origin = $1",
        &[&dom(origin)],
    )?;
    row.map(|r| {
        Ok(SourceCursor {
            block_number: codec::to_u64("cursor block", col(&r, 0)?)?,
            block_hash: codec::hash32("cursor block hash", col(&r, 1)?)?,
        })
    })
    .transpose()
}

pub(super) fn log_size(tx: &mut Tx<'_>, origin: Domain) -> Result<LogSize> {
    let row = tx.one(
        "SELECT coalesce(max(leaf_index) + 1, 0)::bigint FROM log_leaf WHERE origin = $1",
        &[&dom(origin)],
    )?;
    codec::to_u64("log size", col(&row, 0)?).map(LogSize)
}

pub(super) fn accept(tx: &mut Tx<'_>, batch: &AcceptBatch<'_>) -> Result<AcceptOutcome> {
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
    let now = i64_of("time", batch.now.0)?;
    let mut next = log_size(tx, origin)?.0;
    let mut outcome = AcceptOutcome {
        appended: Vec::new(),
        already_known: 0,
        log_size: LogSize(next),
    };

    // What is stored already, read once for the whole batch: the batch's message ids, and the
    // messages under its nonces.
    let message_ids: Vec<MessageId> = batch.events.iter().map(|e| e.message.id()).collect();
    let ids: Vec<&[u8]> = message_ids.iter().map(|id| &id.0.0[..]).collect();
    let nonces: Vec<i64> = batch
        .events
        .iter()
        .map(|e| codec::bits_to_i64(e.message.nonce().0))
        .collect();
    let mut known = HashSet::new();
    for r in tx.query("SELECT id FROM message WHERE id = ANY($1)", &[&ids])? {
        known.insert(codec::message_id(col(&r, 0)?)?);
    }
    let mut by_nonce = HashMap::new();
    for r in tx.query(
        "SELECT nonce, id FROM message WHERE origin = $1 AND nonce = ANY($2)",
        &[&dom(origin), &nonces],
    )? {
        by_nonce.insert(col::<i64>(&r, 0)?, codec::message_id(col(&r, 1)?)?);
    }
    // The checks in batch order, each event against the store and the events before it, as
    // the SQLite store makes them one statement at a time; then every new row in one statement
    // per table.
    let mut rows = NewRows::default();
    for (event, &id) in batch.events.iter().zip(&message_ids) {
        let message = &event.message;
        if message.origin() != origin {
            return Err(Error::WrongOrigin {
                expected: origin,
                actual: message.origin(),
            });
        }
        if known.contains(&id) {
            outcome.already_known += 1;
            continue;
        }
        let nonce = codec::bits_to_i64(message.nonce().0);
        if let Some(&stored) = by_nonce.get(&nonce) {
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
        let block = event.source.block_number;
        if let Some(block) = block
            && block > batch.cursor.block_number
        {
            return Err(Error::EventBeyondCursor {
                id,
                block,
                cursor: batch.cursor.block_number,
            });
        }
        rows.source_block
            .push(block.map(|b| i64_of("source block", b)).transpose()?);
        rows.source_ref.push(
            serde_json::to_string(&event.source).map_err(|e| Error::Backend {
                op: "encode source reference",
                source: Box::new(e),
            })?,
        );
        rows.native_proof.push(
            event
                .native_proof
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| Error::Backend {
                    op: "encode native proof",
                    source: Box::new(e),
                })?,
        );
        rows.id.push(id.0.0.to_vec());
        rows.nonce.push(nonce);
        rows.destination.push(dom(message.destination()));
        rows.encoded.push(message.encode());
        rows.leaf.push(i64_of("leaf index", next)?);
        known.insert(id);
        by_nonce.insert(nonce, id);
        outcome.appended.push((LeafIndex(next), id));
        next += 1;
    }
    if !rows.id.is_empty() {
        rows.insert(tx, origin, now)?;
    }

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

/// A batch that ends below the stored cursor: a no-op when every event is already stored, a
/// regression otherwise (see the SQLite store's `replay_behind`).
fn replay_behind(
    tx: &mut Tx<'_>,
    batch: &AcceptBatch<'_>,
    stored: SourceCursor,
) -> Result<AcceptOutcome> {
    let origin = batch.origin;
    for event in batch.events {
        let id = event.message.id();
        let id_bytes: &[u8] = &id.0.0[..];
        let known = tx.opt(
            "SELECT 1 FROM message WHERE id = $1 AND origin = $2",
            &[&id_bytes, &dom(origin)],
        )?;
        if known.is_none() {
            return Err(Error::CursorRegression {
                origin,
                stored: stored.block_number,
                offered: batch.cursor.block_number,
            });
        }
    }
    let log_size = log_size(tx, origin)?;
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

fn store_cursor(tx: &mut Tx<'_>, origin: Domain, c: SourceCursor, now: i64) -> Result<()> {
    let number = i64_of("cursor block", c.block_number)?;
    let hash: &[u8] = &c.block_hash.0[..];
    tx.exec(
        "INSERT INTO source_cursor (origin, block_number, block_hash, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (origin) DO UPDATE SET block_number = excluded.block_number,
             block_hash = excluded.block_hash, updated_at = excluded.updated_at",
        &[&dom(origin), &number, &hash, &now],
    )?;
    Ok(())
}

pub(super) fn rollback(
    tx: &mut Tx<'_>,
    origin: Domain,
    to: SourceCursor,
    now: UnixMillis,
) -> Result<Option<SourceCursor>> {
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
    let target = i64_of("rollback block", to.block_number)?;
    let above = tx.opt(
        "SELECT l.message_id, l.leaf_index, m.source_block
         FROM message m JOIN log_leaf l ON l.message_id = m.id
         WHERE m.origin = $1 AND m.source_block > $2
         ORDER BY l.leaf_index LIMIT 1",
        &[&dom(origin), &target],
    )?;
    if let Some(r) = above {
        return Err(Error::RollbackBelowFinal {
            origin,
            target: to.block_number,
            id: codec::message_id(col(&r, 0)?)?,
            leaf_index: codec::to_u64("leaf index", col(&r, 1)?)?,
            block: codec::to_u64("source block", col(&r, 2)?)?,
        });
    }
    let now = i64_of("time", now.0)?;
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
    tx: &mut Tx<'_>,
    origin: Domain,
    from: LeafIndex,
    limit: usize,
) -> Result<Vec<MessageId>> {
    let from = i64_of("leaf index", from.0)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.query(
        "SELECT message_id FROM log_leaf WHERE origin = $1 AND leaf_index >= $2
         ORDER BY leaf_index LIMIT $3",
        &[&dom(origin), &from, &limit],
    )?;
    rows.iter().map(|r| codec::message_id(col(r, 0)?)).collect()
}
