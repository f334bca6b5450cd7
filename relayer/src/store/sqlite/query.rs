//! Reads for the API and the metrics ([`QueryStore`](crate::store::QueryStore)).

use std::collections::BTreeMap;

use causeway_proofs::bundle::{NativeProof, SourceReference};
use causeway_proofs::{LeafIndex, LogSize, Message, MessageId};
use rusqlite::{OptionalExtension, Row, Transaction};

use super::codec::{self, StoredProof};
use super::{runs, sql};
use crate::store::{
    DeadLetter, Delivery, DeliveryState, DeliveryStateKind, KeptHandle, Lane, LaneStats,
    LastDelivery, LeaseOwner, MessageRecord, Result, StateCounts, SubmissionId, SubmittedMessage,
    ValidatorActivity,
};

/// Stored messages by id, each decoded and checked against its id; an id with no message is
/// left out (the caller names it).
pub(super) fn load_messages(
    tx: &Transaction<'_>,
    ids: &[MessageId],
) -> Result<std::collections::HashMap<MessageId, Message>> {
    let rows: Vec<(Vec<u8>, Vec<u8>)> = tx
        .prepare_cached("SELECT id, encoded FROM message WHERE id IN rarray(?1)")
        .and_then(|mut s| {
            s.query_map([super::delivery::ids_param(ids)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect()
        })
        .map_err(sql("read messages"))?;
    rows.into_iter()
        .map(|(id, encoded)| {
            let id = codec::message_id(&id)?;
            Ok((id, decode_message(id, &encoded)?))
        })
        .collect()
}

pub(crate) fn decode_message(id: MessageId, encoded: &[u8]) -> Result<Message> {
    let message =
        Message::decode(encoded).map_err(|e| codec::corrupt("message encoding", e.to_string()))?;
    if message.id() != id {
        return Err(codec::corrupt(
            "message encoding",
            format!("stored under {id} but hashes to {}", message.id()),
        ));
    }
    Ok(message)
}

/// The raw columns of a message joined with its delivery.
pub(crate) struct RawRecord {
    pub(crate) encoded: Vec<u8>,
    pub(crate) source_ref: String,
    pub(crate) native_proof: Option<String>,
    pub(crate) native_proof_compact: Option<Vec<u8>>,
    pub(crate) accepted_at: i64,
    pub(crate) origin: i64,
    pub(crate) destination: i64,
    pub(crate) leaf_index: i64,
    pub(crate) state: String,
    pub(crate) attempts: i64,
    pub(crate) next_attempt_at: i64,
    pub(crate) lease_owner: Option<String>,
    pub(crate) lease_until: Option<i64>,
    pub(crate) submission_id: Option<Vec<u8>>,
    pub(crate) submitted_at: Option<i64>,
    pub(crate) confirmed_block: Option<i64>,
    pub(crate) dead_reason: Option<String>,
    pub(crate) last_error: Option<String>,
}

impl RawRecord {
    pub(crate) const COLUMNS: &'static str =
        "m.encoded, m.source_ref, m.native_proof, m.accepted_at,
        d.origin, d.destination, d.leaf_index, d.state, d.attempts, d.next_attempt_at,
        d.lease_owner, d.lease_until, d.submission_id, d.submitted_at, d.confirmed_block,
        d.dead_reason, d.last_error, m.native_proof_compact";

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawRecord {
            encoded: r.get(0)?,
            source_ref: r.get(1)?,
            native_proof: r.get(2)?,
            accepted_at: r.get(3)?,
            origin: r.get(4)?,
            destination: r.get(5)?,
            leaf_index: r.get(6)?,
            state: r.get(7)?,
            attempts: r.get(8)?,
            next_attempt_at: r.get(9)?,
            lease_owner: r.get(10)?,
            lease_until: r.get(11)?,
            submission_id: r.get(12)?,
            submitted_at: r.get(13)?,
            confirmed_block: r.get(14)?,
            dead_reason: r.get(15)?,
            last_error: r.get(16)?,
            native_proof_compact: r.get(17)?,
        })
    }

    pub(crate) fn decode(self, id: MessageId) -> Result<MessageRecord> {
        let missing = |what: &'static str| codec::corrupt(what, "missing for its state".into());
        let state = match codec::state(&self.state)? {
            DeliveryStateKind::Pending => DeliveryState::Pending,
            DeliveryStateKind::Leased => DeliveryState::Leased {
                owner: LeaseOwner(self.lease_owner.ok_or_else(|| missing("lease owner"))?),
                until: codec::millis(self.lease_until.ok_or_else(|| missing("lease end"))?)?,
            },
            DeliveryStateKind::Submitted => DeliveryState::Submitted {
                owner: LeaseOwner(self.lease_owner.ok_or_else(|| missing("submitter"))?),
                submission: SubmissionId(codec::hash32(
                    "submission id",
                    &self.submission_id.ok_or_else(|| missing("submission id"))?,
                )?),
                submitted_at: codec::millis(
                    self.submitted_at
                        .ok_or_else(|| missing("submission time"))?,
                )?,
            },
            DeliveryStateKind::Confirmed => DeliveryState::Confirmed {
                block: codec::to_u64(
                    "confirmation block",
                    self.confirmed_block
                        .ok_or_else(|| missing("confirmation block"))?,
                )?,
            },
            DeliveryStateKind::DeadLetter => DeliveryState::DeadLetter {
                reason: self
                    .dead_reason
                    .ok_or_else(|| missing("dead-letter reason"))?,
            },
        };
        let source: SourceReference = serde_json::from_str(&self.source_ref)
            .map_err(|e| codec::corrupt("source reference", e.to_string()))?;
        let native_proof: Option<NativeProof> = codec::decode_native_proof(StoredProof {
            json: self.native_proof,
            compact: self.native_proof_compact,
        })?;
        Ok(MessageRecord {
            message: decode_message(id, &self.encoded)?,
            leaf_index: LeafIndex(codec::to_u64("leaf index", self.leaf_index)?),
            source,
            native_proof,
            accepted_at: codec::millis(self.accepted_at)?,
            delivery: Delivery {
                lane: Lane {
                    origin: codec::domain(self.origin)?,
                    destination: codec::domain(self.destination)?,
                },
                state,
                attempts: codec::to_u32("attempts", self.attempts)?,
                next_attempt_at: codec::millis(self.next_attempt_at)?,
                last_error: self.last_error,
            },
        })
    }
}

pub(super) fn message(tx: &Transaction<'_>, id: MessageId) -> Result<Option<MessageRecord>> {
    let sql_text = format!(
        "SELECT {} FROM message m JOIN delivery_now d ON d.message_id = m.id WHERE m.id = ?1",
        RawRecord::COLUMNS
    );
    let raw = tx
        .prepare_cached(&sql_text)
        .and_then(|mut s| s.query_row([&id.0.0[..]], RawRecord::from_row).optional())
        .map_err(sql("read message"))?;
    raw.map(|r| r.decode(id)).transpose()
}

/// The message `id`'s body alone (one read of its row, no delivery, source or proof).
pub(super) fn message_body(tx: &Transaction<'_>, id: MessageId) -> Result<Option<Message>> {
    let encoded: Option<Vec<u8>> = tx
        .prepare_cached("SELECT encoded FROM message WHERE id = ?1")
        .and_then(|mut s| s.query_row([&id.0.0[..]], |r| r.get(0)).optional())
        .map_err(sql("read message body"))?;
    encoded.map(|e| decode_message(id, &e)).transpose()
}

/// A lane's oldest unfinished message's acceptance time among the rows not in a run: rows are
/// inserted in log order as they are accepted, so the first row of each unfinished state by
/// leaf index is its oldest (three index seeks; named index: see `delivery::LEASE`). The
/// messages of the lane's leased and submitted runs are read by [`runs::OLDEST_IN_RUNS`].
pub(super) const OLDEST_UNFINISHED: &str = "SELECT min(created_at) FROM (
         SELECT (SELECT created_at FROM delivery INDEXED BY delivery_work
                 WHERE origin = ?1 AND destination = ?2 AND state = 'pending'
                 ORDER BY leaf_index LIMIT 1) AS created_at
         UNION ALL
         SELECT (SELECT created_at FROM delivery INDEXED BY delivery_work
                 WHERE origin = ?1 AND destination = ?2 AND state = 'leased'
                 ORDER BY leaf_index LIMIT 1)
         UNION ALL
         SELECT (SELECT created_at FROM delivery INDEXED BY delivery_work
                 WHERE origin = ?1 AND destination = ?2 AND state = 'submitted'
                 ORDER BY leaf_index LIMIT 1))";

pub(super) fn lane_stats(tx: &Transaction<'_>) -> Result<Vec<LaneStats>> {
    let op = "read lane stats";
    let counts: Vec<(i64, i64, String, i64)> = tx
        .prepare_cached("SELECT origin, destination, state, n FROM lane_count")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .map_err(sql(op))?;
    let mut lanes: BTreeMap<Lane, StateCounts> = BTreeMap::new();
    for (origin, destination, state, n) in counts {
        let lane = Lane {
            origin: codec::domain(origin)?,
            destination: codec::domain(destination)?,
        };
        *lanes
            .entry(lane)
            .or_default()
            .get_mut(codec::state(&state)?) = codec::to_u64("lane count", n)?;
    }
    let mut out = Vec::with_capacity(lanes.len());
    for (lane, counts) in lanes {
        let mut oldest: Option<i64> = None;
        for query in [OLDEST_UNFINISHED, runs::OLDEST_IN_RUNS, runs::OLDEST_FREE] {
            let found: Option<i64> = tx
                .prepare_cached(query)
                .and_then(|mut s| s.query_row([lane.origin.0, lane.destination.0], |r| r.get(0)))
                .map_err(sql(op))?;
            oldest = match (oldest, found) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        out.push(LaneStats {
            lane,
            counts,
            oldest_pending_since: oldest.map(codec::millis).transpose()?,
        });
    }
    Ok(out)
}

/// A lane's submitted messages in log order: the rows (named index: see
/// `delivery::LEASE_ROWS`) and the messages of its submitted runs without a row.
const SUBMITTED: &str = "SELECT message_id, leaf_index, lease_owner, submission_id,
            submitted_at, submission_handle
     FROM (
         SELECT message_id, leaf_index, lease_owner, submission_id, submitted_at,
                submission_handle
         FROM delivery INDEXED BY delivery_work
         WHERE origin = ?1 AND destination = ?2 AND state = 'submitted'
         UNION ALL
         SELECT m.id, m.leaf_index, r.lease_owner, r.submission_id, r.submitted_at,
                r.submission_handle
         FROM delivery_run r INDEXED BY delivery_run_live
         JOIN message m INDEXED BY message_by_lane
           ON m.origin = r.origin AND m.destination = r.destination
          AND m.lane_pos BETWEEN r.first_pos AND r.last_pos
         WHERE r.origin = ?1 AND r.destination = ?2 AND r.state = 'submitted'
           AND r.members > 0
           AND NOT EXISTS (SELECT 1 FROM delivery d INDEXED BY delivery_by_lane_pos
                           WHERE d.origin = m.origin AND d.destination = m.destination
                             AND d.lane_pos = m.lane_pos))
     ORDER BY leaf_index LIMIT ?3";

/// A lane's dead letters, newest first (named index: see `delivery::LEASE`).
const DEAD_LETTERS: &str = "SELECT message_id, leaf_index, attempts, dead_reason, updated_at
     FROM delivery INDEXED BY delivery_work
     WHERE origin = ?1 AND destination = ?2 AND state = 'dead_letter'
     ORDER BY updated_at DESC, leaf_index DESC LIMIT ?3";

pub(super) fn submitted(
    tx: &Transaction<'_>,
    lane: Lane,
    limit: usize,
) -> Result<Vec<SubmittedMessage>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows: Vec<SubmittedRow> = tx
        .prepare_cached(SUBMITTED)
        .and_then(|mut s| {
            s.query_map(
                rusqlite::params![lane.origin.0, lane.destination.0, limit],
                submitted_row,
            )?
            .collect()
        })
        .map_err(sql("read submitted"))?;
    rows.into_iter().map(submitted_message).collect()
}

/// A submitted message's columns, in this order: message id, leaf index, owner, submission
/// id, submitted at, handle.
pub(crate) type SubmittedRow = (Vec<u8>, i64, String, Vec<u8>, i64, Option<String>);

/// Reads a [`SubmittedRow`] from the statement's first six columns.
pub(super) fn submitted_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SubmittedRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// Decodes a [`SubmittedRow`].
pub(crate) fn submitted_message(
    (id, leaf, owner, submission, at, handle): SubmittedRow,
) -> Result<SubmittedMessage> {
    Ok(SubmittedMessage {
        id: codec::message_id(&id)?,
        leaf_index: LeafIndex(codec::to_u64("leaf index", leaf)?),
        owner: LeaseOwner(owner),
        submission: SubmissionId(codec::hash32("submission id", &submission)?),
        handle: KeptHandle::from_column(handle),
        submitted_at: codec::millis(at)?,
    })
}

pub(super) fn validator_activity(
    tx: &Transaction<'_>,
    lane: Lane,
) -> Result<Vec<ValidatorActivity>> {
    let op = "read validator activity";
    let rows: Vec<(Vec<u8>, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT s.validator, count(*), max(c.size), max(s.recorded_at)
             FROM checkpoint c JOIN checkpoint_signature s ON s.checkpoint_id = c.id
             WHERE c.origin = ?1 AND c.destination = ?2
             GROUP BY s.validator ORDER BY s.validator",
        )
        .and_then(|mut s| {
            s.query_map([lane.origin.0, lane.destination.0], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect()
        })
        .map_err(sql(op))?;
    rows.into_iter()
        .map(|(validator, n, size, at)| {
            Ok(ValidatorActivity {
                validator: codec::evm_address(&validator)?,
                checkpoints: codec::to_u64("signature count", n)?,
                last_size: LogSize(codec::to_u64("checkpoint size", size)?),
                last_recorded_at: codec::millis(at)?,
            })
        })
        .collect()
}

pub(super) fn last_delivery(tx: &Transaction<'_>, lane: Lane) -> Result<Option<LastDelivery>> {
    let row: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT confirmed_at, block FROM lane_last_delivery
             WHERE origin = ?1 AND destination = ?2",
        )
        .and_then(|mut s| {
            s.query_row([lane.origin.0, lane.destination.0], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(sql("read last delivery"))?;
    row.map(|(at, block)| {
        Ok(LastDelivery {
            confirmed_at: codec::millis(at)?,
            block: codec::to_u64("confirmation block", block)?,
        })
    })
    .transpose()
}

/// A dead letter's columns: message id, leaf index, attempts, reason, since.
type DeadRow = (Vec<u8>, i64, i64, Option<String>, i64);

pub(super) fn dead_letters(
    tx: &Transaction<'_>,
    lane: Lane,
    limit: usize,
) -> Result<Vec<DeadLetter>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows: Vec<DeadRow> = tx
        .prepare_cached(DEAD_LETTERS)
        .and_then(|mut s| {
            s.query_map(
                rusqlite::params![lane.origin.0, lane.destination.0, limit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?
            .collect()
        })
        .map_err(sql("read dead letters"))?;
    rows.into_iter()
        .map(|(id, leaf, attempts, reason, at)| {
            Ok(DeadLetter {
                id: codec::message_id(&id)?,
                leaf_index: LeafIndex(codec::to_u64("leaf index", leaf)?),
                attempts: codec::to_u32("attempts", attempts)?,
                reason: reason.ok_or_else(|| {
                    codec::corrupt("dead-letter reason", "missing for its state".into())
                })?,
                since: codec::millis(at)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::migrate::tests::query_plan;
    use super::*;

    #[test]
    fn lane_reads_go_through_the_lane_state_index() {
        for (name, sql) in [("submitted", SUBMITTED), ("dead letters", DEAD_LETTERS)] {
            let plan = query_plan(sql);
            assert!(
                plan.contains("INDEX delivery_work") && !plan.contains("PRIMARY KEY"),
                "{name} reads through {plan}"
            );
        }
    }
}
