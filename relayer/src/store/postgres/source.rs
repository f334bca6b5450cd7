//! Cursors, accepted events and the per-origin log ([`SourceStore`](crate::store::SourceStore)),
//! the statements of the SQLite store's `source.rs` in PostgreSQL's dialect.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use causeway_proofs::{Domain, LeafIndex, LogSize, MessageId};

use super::{Tx, bookkeeping, col, dom, i64_of};
use crate::Error;
use crate::store::sqlite::codec;
use crate::store::{AcceptBatch, AcceptOutcome, AcceptedEvent, Result, SourceCursor, UnixMillis};

/// Events of a batch offered to [`insert`], column by column, in batch order.
#[derive(Default)]
struct Offered {
    id: Vec<Vec<u8>>,
    nonce: Vec<i64>,
    destination: Vec<i64>,
    encoded: Vec<Vec<u8>>,
    source_block: Vec<Option<i64>>,
    source_ref: Vec<String>,
    native_proof: Vec<Option<String>>,
    native_proof_compact: Vec<Option<Vec<u8>>>,
}

impl Offered {
    fn push(&mut self, event: &AcceptedEvent, id: MessageId) -> Result<()> {
        let message = &event.message;
        self.source_block.push(
            event
                .source
                .block_number
                .map(|b| i64_of("source block", b))
                .transpose()?,
        );
        self.source_ref.push(
            serde_json::to_string(&event.source).map_err(|e| Error::Backend {
                op: "encode source reference",
                source: Box::new(e),
            })?,
        );
        let proof = codec::encode_native_proof(event.native_proof.as_ref())?;
        self.native_proof.push(proof.json);
        self.native_proof_compact.push(proof.compact);
        self.id.push(id.0.0.to_vec());
        self.nonce.push(codec::bits_to_i64(message.nonce().0));
        self.destination.push(dom(message.destination()));
        self.encoded.push(message.encode());
        Ok(())
    }
}

/// [`accept_sql`], built once.
static ACCEPT: LazyLock<String> = LazyLock::new(accept_sql);

/// Accepting a batch in one statement: each offered message is inserted unless its id or its
/// nonce is taken (by a stored message or an earlier one of the batch), in batch order; the
/// inserted ones get the next leaves in that order, their log leaves and pending deliveries
/// (each at the next position of its lane, in log order);
/// and the origin's cursor moves. Returns the inserted ids with their leaves, in log order.
/// The leaves' contiguity check (a statement trigger) sees the rows in log order; the new
/// deliveries are counted and logged by the same statement (see `bookkeeping`).
fn accept_sql() -> String {
    let bookkeeping = bookkeeping::ctes("deliveries");
    format!(
        "WITH offered AS (
         SELECT * FROM unnest($3::bytea[], $4::bigint[], $5::bigint[], $6::bytea[],
                              $7::bigint[], $8::text[], $9::text[], $13::bytea[])
              WITH ORDINALITY AS r(id, nonce, destination, encoded, source_block,
                                   source_ref, native_proof, native_proof_compact, n)
     ),
     added AS (
         INSERT INTO message (id, origin, nonce, destination, encoded, source_block,
                              source_ref, native_proof, accepted_at, native_proof_compact)
         SELECT id, $1, nonce, destination, encoded, source_block, source_ref, native_proof, $2,
                native_proof_compact
         FROM offered ORDER BY n
         ON CONFLICT DO NOTHING
         RETURNING id
     ),
     numbered AS (
         SELECT o.id, o.destination, $10::bigint - 1 + row_number() OVER (ORDER BY o.n) AS leaf
         FROM (SELECT DISTINCT ON (id) id, destination, n FROM offered ORDER BY id, n) AS o
         JOIN added AS a ON a.id = o.id
     ),
     leaves AS (
         INSERT INTO log_leaf (origin, leaf_index, message_id)
         SELECT $1, leaf, id FROM numbered ORDER BY leaf
     ),
     lanes AS MATERIALIZED (
         SELECT l.destination,
                (SELECT coalesce(max(d.lane_pos) + 1, 0) FROM delivery AS d
                 WHERE d.origin = $1 AND d.destination = l.destination
                   AND d.lane_pos >= 0) AS next
         FROM (SELECT DISTINCT destination FROM numbered) AS l
     ),
     deliveries AS (
         INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                               next_attempt_at, created_at, updated_at, lane_pos)
         SELECT n.id, $1, n.destination, n.leaf, 'pending', $2, $2, $2,
                l.next - 1 + row_number() OVER (PARTITION BY n.destination ORDER BY n.leaf)
         FROM numbered AS n JOIN lanes AS l ON l.destination = n.destination
         ORDER BY n.leaf
         RETURNING origin, destination, lane_pos, state, NULL::text AS was, dead_reason,
                   last_error, updated_at
     ),
     moved AS (
         INSERT INTO source_cursor (origin, block_number, block_hash, updated_at)
         VALUES ($1, $11, $12, $2)
         ON CONFLICT (origin) DO UPDATE SET block_number = excluded.block_number,
             block_hash = excluded.block_hash, updated_at = excluded.updated_at
     ),
     {bookkeeping}
     SELECT id, leaf FROM numbered ORDER BY leaf"
    )
}

/// Runs [`accept_sql`] for `offered`, the log being `next` leaves long.
fn insert(
    tx: &mut Tx<'_>,
    batch: &AcceptBatch<'_>,
    offered: &Offered,
    next: u64,
    now: i64,
) -> Result<Vec<(LeafIndex, MessageId)>> {
    let number = i64_of("cursor block", batch.cursor.block_number)?;
    let hash: &[u8] = &batch.cursor.block_hash.0[..];
    let rows = tx.query(
        &ACCEPT,
        &[
            &dom(batch.origin),
            &now,
            &offered.id,
            &offered.nonce,
            &offered.destination,
            &offered.encoded,
            &offered.source_block,
            &offered.source_ref,
            &offered.native_proof,
            &i64_of("leaf index", next)?,
            &number,
            &hash,
            &offered.native_proof_compact,
        ],
    )?;
    rows.iter()
        .map(|r| {
            Ok((
                LeafIndex(codec::to_u64("leaf index", col(r, 1)?)?),
                codec::message_id(col(r, 0)?)?,
            ))
        })
        .collect()
}

/// The origin's cursor and log size, in one statement.
fn cursor_and_size(tx: &mut Tx<'_>, origin: Domain) -> Result<(Option<SourceCursor>, LogSize)> {
    let row = tx.one(
        "SELECT c.block_number, c.block_hash,
                (SELECT coalesce(max(leaf_index) + 1, 0)::bigint FROM log_leaf
                 WHERE origin = $1)
         FROM (SELECT 1) AS one
              LEFT JOIN source_cursor AS c ON c.origin = $1",
        &[&dom(origin)],
    )?;
    let number: Option<i64> = col(&row, 0)?;
    let hash: Option<&[u8]> = col(&row, 1)?;
    let cursor = match (number, hash) {
        (Some(number), Some(hash)) => Some(SourceCursor {
            block_number: codec::to_u64("cursor block", number)?,
            block_hash: codec::hash32("cursor block hash", hash)?,
        }),
        _ => None,
    };
    Ok((cursor, LogSize(codec::to_u64("log size", col(&row, 2)?)?)))
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

/// The stored messages among `ids` and under `nonces` of `origin`: the ids stored, and who
/// holds each nonce. One read.
fn stored(
    tx: &mut Tx<'_>,
    origin: Domain,
    ids: &[&[u8]],
    nonces: &[i64],
) -> Result<(HashSet<MessageId>, HashMap<i64, MessageId>)> {
    let offered: HashSet<&[u8]> = ids.iter().copied().collect();
    let mut known = HashSet::new();
    let mut by_nonce = HashMap::new();
    for r in tx.query(
        "SELECT id, origin = $2 AND nonce = ANY($3), nonce FROM message
         WHERE id = ANY($1) OR (origin = $2 AND nonce = ANY($3))",
        &[&ids, &dom(origin), &nonces],
    )? {
        let id: &[u8] = col(&r, 0)?;
        let id_known = offered.contains(id);
        let id = codec::message_id(id)?;
        if id_known {
            known.insert(id);
        }
        if col::<bool>(&r, 1)? {
            by_nonce.insert(col::<i64>(&r, 2)?, id);
        }
    }
    Ok((known, by_nonce))
}

/// The checks of a batch in batch order, each event against what was stored before the batch
/// (`known` ids, `by_nonce`) and the events before it, as the SQLite store makes them one
/// statement at a time: the first failing event's error, or the index of each new event.
/// `admit` is called on each new event as it passes (its error is that event's).
fn check(
    batch: &AcceptBatch<'_>,
    ids: &[MessageId],
    mut known: HashSet<MessageId>,
    mut by_nonce: HashMap<i64, MessageId>,
    mut admit: impl FnMut(usize) -> Result<()>,
) -> Result<Vec<usize>> {
    let origin = batch.origin;
    let mut new = Vec::new();
    for (i, (event, &id)) in batch.events.iter().zip(ids).enumerate() {
        let message = &event.message;
        if message.origin() != origin {
            return Err(Error::WrongOrigin {
                expected: origin,
                actual: message.origin(),
            });
        }
        if known.contains(&id) {
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
        if let Some(block) = event.source.block_number
            && block > batch.cursor.block_number
        {
            return Err(Error::EventBeyondCursor {
                id,
                block,
                cursor: batch.cursor.block_number,
            });
        }
        admit(i)?;
        known.insert(id);
        by_nonce.insert(nonce, id);
        new.push(i);
    }
    Ok(new)
}

pub(super) fn accept(tx: &mut Tx<'_>, batch: &AcceptBatch<'_>) -> Result<AcceptOutcome> {
    let origin = batch.origin;
    let (stored_cursor, size) = cursor_and_size(tx, origin)?;
    if let Some(stored) = stored_cursor
        && batch.cursor.block_number < stored.block_number
    {
        return replay_behind(tx, batch, stored);
    }
    if let Some(stored) = stored_cursor {
        check_cursor_advance(origin, stored, batch.cursor)?;
    }
    let now = i64_of("time", batch.now.0)?;
    let next = size.0;
    let ids: Vec<MessageId> = batch.events.iter().map(|e| e.message.id()).collect();

    let id_bytes: Vec<&[u8]> = ids.iter().map(|id| &id.0.0[..]).collect();
    let nonces: Vec<i64> = batch
        .events
        .iter()
        .map(|e| codec::bits_to_i64(e.message.nonce().0))
        .collect();

    // Insert first (one statement: a new message costs no read), read only on a conflict. A
    // batch with an event that fails a check needing no read (another origin, a block past
    // the cursor or past what the store holds) is checked before anything is written: that
    // event is an error unless an earlier event's is first or it is stored already.
    let storable = i64::MAX as u64;
    let clean = batch.cursor.block_number <= storable
        && batch.events.iter().all(|e| {
            e.message.origin() == origin
                && e.source
                    .block_number
                    .is_none_or(|b| b <= batch.cursor.block_number)
        });
    let appended = if clean {
        let mut offered = Offered::default();
        for (event, &id) in batch.events.iter().zip(&ids) {
            offered.push(event, id)?;
        }
        let appended = insert(tx, batch, &offered, next, now)?;
        if appended.len() != batch.events.len() {
            // Some were skipped: stored already (a replay), or equivocating. The checks,
            // against what was stored before this statement, say which, and fail the call
            // (the transaction is dropped) on the first equivocation.
            let (mut known, mut by_nonce) = stored(tx, origin, &id_bytes, &nonces)?;
            let inserted: HashSet<MessageId> = appended.iter().map(|&(_, id)| id).collect();
            known.retain(|id| !inserted.contains(id));
            by_nonce.retain(|_, id| !inserted.contains(id));
            let new = check(batch, &ids, known, by_nonce, |_| Ok(()))?;
            if new.len() != appended.len()
                || new.iter().zip(&appended).any(|(&i, (_, id))| ids[i] != *id)
            {
                return Err(Error::Backend {
                    op: "accept events",
                    source: "a message insert was skipped for a conflict that is neither its \
                             id nor its nonce"
                        .into(),
                });
            }
        }
        appended
    } else {
        let (known, by_nonce) = stored(tx, origin, &id_bytes, &nonces)?;
        let mut fresh = Offered::default();
        check(batch, &ids, known, by_nonce, |i| {
            fresh.push(&batch.events[i], ids[i])
        })?;
        insert(tx, batch, &fresh, next, now)?
    };
    let outcome = AcceptOutcome {
        already_known: batch.events.len() - appended.len(),
        log_size: LogSize(next + appended.len() as u64),
        appended,
    };
    tracing::debug!(
        origin = %origin,
        block = batch.cursor.block_number,
        appended = outcome.appended.len(),
        already_known = outcome.already_known,
        log_size = outcome.log_size.0,
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
