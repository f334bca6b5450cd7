//! Reads for the API and the metrics ([`QueryStore`](crate::store::QueryStore)); rows are
//! decoded by the SQLite store's decoders, so both stores read a row the same way.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use causeway_proofs::{LeafIndex, LogSize, Message, MessageId};
use postgres::Row;

use super::{Tx, col, dom, runs};
use crate::store::sqlite::codec;
use crate::store::sqlite::query::{
    RawRecord, decode_message, submitted_message as decode_submitted,
};
use crate::store::{
    DeadLetter, Lane, LaneStats, LastDelivery, MessageRecord, Result, StateCounts,
    SubmittedMessage, ValidatorActivity,
};

/// A stored message's encoding, decoded and checked against its id.
pub(super) fn message_of(id: MessageId, encoded: &[u8]) -> Result<Message> {
    decode_message(id, encoded)
}

pub(super) fn message(tx: &mut Tx<'_>, id: MessageId) -> Result<Option<MessageRecord>> {
    let key: &[u8] = &id.0.0[..];
    let row = tx.opt(
        &format!(
            "SELECT {} FROM message m JOIN delivery_now d ON d.message_id = m.id WHERE m.id = $1",
            RawRecord::COLUMNS
        ),
        &[&key],
    )?;
    let Some(r) = row else {
        return Ok(None);
    };
    RawRecord {
        encoded: col(&r, 0)?,
        source_ref: col(&r, 1)?,
        native_proof: col(&r, 2)?,
        accepted_at: col(&r, 3)?,
        origin: col(&r, 4)?,
        destination: col(&r, 5)?,
        leaf_index: col(&r, 6)?,
        state: col(&r, 7)?,
        attempts: col(&r, 8)?,
        next_attempt_at: col(&r, 9)?,
        lease_owner: col(&r, 10)?,
        lease_until: col(&r, 11)?,
        submission_id: col(&r, 12)?,
        submitted_at: col(&r, 13)?,
        confirmed_block: col(&r, 14)?,
        dead_reason: col(&r, 15)?,
        last_error: col(&r, 16)?,
        native_proof_compact: col(&r, 17)?,
    }
    .decode(id)
    .map(Some)
}

pub(super) fn lane_stats(tx: &mut Tx<'_>) -> Result<Vec<LaneStats>> {
    let rows = tx.query("SELECT origin, destination, state, n FROM lane_count", &[])?;
    let mut lanes: BTreeMap<Lane, StateCounts> = BTreeMap::new();
    for r in &rows {
        let lane = Lane {
            origin: codec::domain(col(r, 0)?)?,
            destination: codec::domain(col(r, 1)?)?,
        };
        *lanes
            .entry(lane)
            .or_default()
            .get_mut(codec::state(col(r, 2)?)?) = codec::to_u64("lane count", col(r, 3)?)?;
    }
    let mut out = Vec::with_capacity(lanes.len());
    for (lane, counts) in lanes {
        let row = tx.one(
            &OLDEST_UNFINISHED,
            &[&dom(lane.origin), &dom(lane.destination)],
        )?;
        let oldest: Option<i64> = col(&row, 0)?;
        out.push(LaneStats {
            lane,
            counts,
            oldest_pending_since: oldest.map(codec::millis).transpose()?,
        });
    }
    Ok(out)
}

/// A lane's oldest unfinished message's acceptance time: rows are inserted in log order as
/// they are accepted, so the first row of each unfinished state by leaf index is its oldest
/// (three seeks in `delivery_work`, as the SQLite store's), and the messages of the lane's
/// leased and submitted runs (`runs::OLDEST_IN_RUNS`).
static OLDEST_UNFINISHED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT least(
             (SELECT created_at FROM delivery
              WHERE origin = $1 AND destination = $2 AND state = 'pending'
              ORDER BY leaf_index LIMIT 1),
             (SELECT created_at FROM delivery
              WHERE origin = $1 AND destination = $2 AND state = 'leased'
              ORDER BY leaf_index LIMIT 1),
             (SELECT created_at FROM delivery
              WHERE origin = $1 AND destination = $2 AND state = 'submitted'
              ORDER BY leaf_index LIMIT 1),
             ({}))",
        runs::OLDEST_IN_RUNS
    )
});

/// Decodes a submitted message from a row whose first six columns are message id, leaf index,
/// owner, submission id, submitted at and handle.
pub(super) fn submitted_message(r: &Row) -> Result<SubmittedMessage> {
    decode_submitted((
        col(r, 0)?,
        col(r, 1)?,
        col(r, 2)?,
        col(r, 3)?,
        col(r, 4)?,
        col(r, 5)?,
    ))
}

pub(super) fn submitted(
    tx: &mut Tx<'_>,
    lane: Lane,
    limit: usize,
) -> Result<Vec<SubmittedMessage>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.query(
        "SELECT message_id, leaf_index, lease_owner, submission_id, submitted_at,
                submission_handle
         FROM (
             SELECT message_id, leaf_index, lease_owner, submission_id, submitted_at,
                    submission_handle
             FROM delivery
             WHERE origin = $1 AND destination = $2 AND state = 'submitted'
             UNION ALL
             SELECT d.message_id, d.leaf_index, r.lease_owner, r.submission_id,
                    r.submitted_at, r.submission_handle
             FROM delivery_run r
             JOIN delivery d
               ON d.origin = r.origin AND d.destination = r.destination
              AND d.lane_pos BETWEEN r.first_pos AND r.last_pos AND d.lane_pos >= 0
             WHERE r.origin = $1 AND r.destination = $2 AND r.state = 'submitted'
               AND r.members > 0 AND d.state = 'run' AND d.run_id = r.id
         ) AS s
         ORDER BY leaf_index LIMIT $3",
        &[&dom(lane.origin), &dom(lane.destination), &limit],
    )?;
    rows.iter().map(submitted_message).collect()
}

pub(super) fn validator_activity(tx: &mut Tx<'_>, lane: Lane) -> Result<Vec<ValidatorActivity>> {
    let rows = tx.query(
        "SELECT s.validator, count(*), max(c.size), max(s.recorded_at)
         FROM checkpoint c JOIN checkpoint_signature s ON s.checkpoint_id = c.id
         WHERE c.origin = $1 AND c.destination = $2
         GROUP BY s.validator ORDER BY s.validator",
        &[&dom(lane.origin), &dom(lane.destination)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(ValidatorActivity {
                validator: codec::evm_address(col(r, 0)?)?,
                checkpoints: codec::to_u64("signature count", col(r, 1)?)?,
                last_size: LogSize(codec::to_u64("checkpoint size", col(r, 2)?)?),
                last_recorded_at: codec::millis(col(r, 3)?)?,
            })
        })
        .collect()
}

pub(super) fn last_delivery(tx: &mut Tx<'_>, lane: Lane) -> Result<Option<LastDelivery>> {
    let row = tx.opt(
        "SELECT confirmed_at, block FROM lane_last_delivery
         WHERE origin = $1 AND destination = $2",
        &[&dom(lane.origin), &dom(lane.destination)],
    )?;
    row.map(|r| {
        Ok(LastDelivery {
            confirmed_at: codec::millis(col(&r, 0)?)?,
            block: codec::to_u64("confirmation block", col(&r, 1)?)?,
        })
    })
    .transpose()
}

pub(super) fn dead_letters(tx: &mut Tx<'_>, lane: Lane, limit: usize) -> Result<Vec<DeadLetter>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.query(
        "SELECT message_id, leaf_index, attempts, dead_reason, updated_at FROM delivery
         WHERE origin = $1 AND destination = $2 AND state = 'dead_letter'
         ORDER BY updated_at DESC, leaf_index DESC LIMIT $3",
        &[&dom(lane.origin), &dom(lane.destination), &limit],
    )?;
    rows.iter()
        .map(|r| {
            let reason: Option<String> = col(r, 3)?;
            Ok(DeadLetter {
                id: codec::message_id(col(r, 0)?)?,
                leaf_index: LeafIndex(codec::to_u64("leaf index", col(r, 1)?)?),
                attempts: codec::to_u32("attempts", col(r, 2)?)?,
                reason: reason.ok_or_else(|| {
                    codec::corrupt("dead-letter reason", "missing for its state".into())
                })?,
                since: codec::millis(col(r, 4)?)?,
            })
        })
        .collect()
}
