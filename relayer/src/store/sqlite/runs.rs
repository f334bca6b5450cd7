//! Delivery runs (schema 14) of lane positions (schema 16).
//!
//! A message has no `delivery` row until some transition needs one. Leasing takes a lane's
//! next positions without a row and not in a run ([`free`], from the lane's frontier) and
//! writes one `delivery_run` row per stretch of consecutive positions (its lane, span, state,
//! lease, and later its submission and confirmation); a message without a row is in the run
//! whose span holds its position, or pending. A submission or a confirmation that names
//! exactly a run's messages (recognised by their digest, without reading them) rewrites the
//! run row only. Any other change to a message first gives it its row ([`take_out`],
//! [`take_out_runs`]): a message in a run gets the run's columns (its state and meaning do not
//! change, the run counts one fewer), a pending one the columns it was accepted with; from
//! then on it moves alone, as before schema 14.

use causeway_proofs::MessageId;
use rusqlite::{OptionalExtension, Transaction, params};

use super::delivery::ids_param;
use super::{codec, sql};
use crate::store::Result;

/// The digest of a run's messages: Keccak-256 of a domain tag and their distinct ids (32 bytes
/// each) in ascending order. Only ever compared with other runs' digests.
pub(super) fn digest<'a>(ids: impl IntoIterator<Item = &'a MessageId>) -> [u8; 32] {
    const TAG: &[u8] = b"causeway/sqlite/delivery-run/v1";
    let mut sorted: Vec<[u8; 32]> = ids.into_iter().map(|id| id.0.0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut bytes = Vec::with_capacity(TAG.len() + sorted.len() * 32);
    bytes.extend_from_slice(TAG);
    bytes.extend_from_slice(sorted.as_flattened());
    causeway_proofs::hash::keccak256(&bytes).0
}

/// A run to write when a batch is leased.
pub(super) struct NewRun<'a> {
    /// The lease token (the run's id).
    pub(super) token: i64,
    pub(super) origin: i64,
    pub(super) destination: i64,
    pub(super) owner: &'a str,
    pub(super) until: i64,
    pub(super) now: i64,
    /// The leased messages' ids and positions in their lane.
    pub(super) ids: &'a [MessageId],
    pub(super) positions: &'a [i64],
}

/// Writes the run of a stretch of consecutive positions just leased (its messages have no
/// rows; the run's span is theirs).
pub(super) fn insert(tx: &Transaction<'_>, run: &NewRun<'_>) -> Result<()> {
    let (Some(&first), Some(&last)) = (run.positions.first(), run.positions.last()) else {
        return Ok(());
    };
    let size = i64::try_from(run.ids.len()).unwrap_or(i64::MAX);
    if last - first + 1 != size {
        return Err(codec::corrupt(
            "delivery run",
            format!("a run of {size} messages from position {first} to {last} has gaps"),
        ));
    }
    tx.prepare_cached(
        "INSERT INTO delivery_run (origin, destination, state, size, members, first_pos,
             last_pos, digest, lease_owner, lease_until, lease_token, updated_at)
         VALUES (?2, ?3, 'leased', ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?1, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            run.token,
            run.origin,
            run.destination,
            size,
            first,
            last,
            &digest(run.ids)[..],
            run.owner,
            run.until,
            run.now
        ])
    })
    .map_err(sql("write delivery run"))?;
    Ok(())
}

/// A run a statement moved as a whole: its lane, the state it left, its messages' positions and
/// its submission.
pub(super) struct Moved {
    pub(super) origin: i64,
    pub(super) destination: i64,
    pub(super) from: &'static str,
    pub(super) positions: Vec<i64>,
    pub(super) submission: Option<Vec<u8>>,
}

/// The positions of run `id`'s messages, in order: its whole span when it has no gap (every run
/// written since schema 16), else read (a schema-14 run: its members kept their rows).
fn positions(
    tx: &Transaction<'_>,
    id: i64,
    (origin, destination, first, last, size): (i64, i64, i64, i64, i64),
) -> Result<Vec<i64>> {
    if last - first + 1 == size {
        return Ok((first..=last).collect());
    }
    let found: Vec<i64> = tx
        .prepare_cached(
            "SELECT lane_pos FROM delivery INDEXED BY delivery_by_lane_pos
             WHERE origin = ?1 AND destination = ?2 AND lane_pos BETWEEN ?3 AND ?4
               AND state = 'run' AND run_id = ?5
             ORDER BY lane_pos",
        )
        .and_then(|mut s| {
            s.query_map(params![origin, destination, first, last, id], |r| r.get(0))?
                .collect()
        })
        .map_err(sql("read a run's positions"))?;
    if i64::try_from(found.len()).ok() != Some(size) {
        return Err(codec::corrupt(
            "delivery run",
            format!("run {id} holds {size} messages, {} found", found.len()),
        ));
    }
    Ok(found)
}

/// Records the submission of run `token` when `ids` (distinct) are exactly its messages, all
/// still in it and leased by `owner` under that token; `None` (nothing written) otherwise.
pub(super) struct WholeSubmission<'a> {
    pub(super) token: i64,
    pub(super) owner: &'a str,
    pub(super) ids: &'a [MessageId],
    pub(super) submission: &'a [u8],
    pub(super) handle: &'a str,
    pub(super) now: i64,
}

pub(super) fn submit_whole(tx: &Transaction<'_>, s: &WholeSubmission<'_>) -> Result<Option<Moved>> {
    let op = "record a run's submission";
    let size = i64::try_from(s.ids.len()).unwrap_or(i64::MAX);
    let row: Option<(i64, i64, i64, i64, i64)> = tx
        .prepare_cached(
            "UPDATE delivery_run INDEXED BY delivery_run_by_digest
             SET state = 'submitted', submission_id = ?1, submission_handle = ?2,
                 submitted_at = ?3, lease_token = NULL, updated_at = ?3
             WHERE digest = ?7 AND members > 0 AND state = 'leased' AND lease_owner = ?5
               AND lease_token = ?4 AND members = size AND size = ?6
             RETURNING id, origin, destination, first_pos, last_pos",
        )
        .and_then(|mut st| {
            st.query_row(
                params![
                    s.submission,
                    s.handle,
                    s.now,
                    s.token,
                    s.owner,
                    size,
                    &digest(s.ids)[..]
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
        })
        .map_err(sql(op))?;
    let Some((id, origin, destination, first, last)) = row else {
        return Ok(None);
    };
    Ok(Some(Moved {
        origin,
        destination,
        from: "leased",
        positions: positions(tx, id, (origin, destination, first, last, size))?,
        submission: None,
    }))
}

/// Confirms the run whose messages are exactly `ids` (distinct), all still in it and not
/// confirmed; `None` (nothing written) when no run is.
pub(super) fn confirm_whole(
    tx: &Transaction<'_>,
    ids: &[MessageId],
    block: i64,
    now: i64,
) -> Result<Option<Moved>> {
    let op = "confirm a run";
    let size = i64::try_from(ids.len()).unwrap_or(i64::MAX);
    type Row = (i64, String, i64, i64, i64, i64, Option<Vec<u8>>);
    let row: Option<Row> = tx
        .prepare_cached(
            "SELECT id, state, origin, destination, first_pos, last_pos, submission_id
             FROM delivery_run INDEXED BY delivery_run_by_digest
             WHERE digest = ?1 AND members > 0 AND members = size AND size = ?2
               AND state <> 'confirmed'",
        )
        .and_then(|mut st| {
            st.query_row(params![&digest(ids)[..], size], |r| r.try_into())
                .optional()
        })
        .map_err(sql(op))?;
    let Some((id, state, origin, destination, first, last, submission)) = row else {
        return Ok(None);
    };
    tx.prepare_cached(
        "UPDATE delivery_run SET state = 'confirmed', confirmed_block = ?2, lease_until = NULL,
             lease_token = NULL, updated_at = ?3
         WHERE id = ?1",
    )
    .and_then(|mut st| st.execute(params![id, block, now]))
    .map_err(sql(op))?;
    Ok(Some(Moved {
        origin,
        destination,
        from: codec::state(&state)?.as_str(),
        positions: positions(tx, id, (origin, destination, first, last, size))?,
        submission,
    }))
}

/// Gives the messages of run `id` that have no row yet, and that `which` selects (`?1` is the
/// run id, further parameters follow), their rows with the run's columns (their state and
/// meaning unchanged), and counts them out of the run; returns how many.
fn copy_out(
    tx: &Transaction<'_>,
    id: i64,
    which: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<usize> {
    let op = "take messages out of their run";
    let sql_text = format!(
        "INSERT INTO delivery (message_id, origin, destination, leaf_index, state, attempts,
             next_attempt_at, lease_owner, lease_until, lease_token, submission_id,
             submission_handle, submitted_at, confirmed_block, created_at, updated_at, lane_pos)
         SELECT m.id, m.origin, m.destination, m.leaf_index, r.state, 0, m.accepted_at,
                r.lease_owner, r.lease_until, r.lease_token, r.submission_id,
                r.submission_handle, r.submitted_at, r.confirmed_block, m.accepted_at,
                r.updated_at, m.lane_pos
         FROM delivery_run r
         JOIN message m INDEXED BY message_by_lane
           ON m.origin = r.origin AND m.destination = r.destination
          AND m.lane_pos BETWEEN r.first_pos AND r.last_pos
         WHERE r.id = ?1 AND r.members > 0 AND {which}
           AND NOT EXISTS (SELECT 1 FROM delivery d INDEXED BY delivery_by_lane_pos
                           WHERE d.origin = m.origin AND d.destination = m.destination
                             AND d.lane_pos = m.lane_pos)"
    );
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&id];
    all.extend_from_slice(params);
    let n = tx
        .prepare_cached(&sql_text)
        .and_then(|mut s| s.execute(all.as_slice()))
        .map_err(sql(op))?;
    let changed = tx
        .prepare_cached(
            "UPDATE delivery_run SET members = members - ?2 WHERE id = ?1 AND members >= ?2",
        )
        .and_then(|mut s| s.execute(params![id, i64::try_from(n).unwrap_or(i64::MAX)]))
        .map_err(sql(op))?;
    if changed != 1 {
        return Err(codec::corrupt(
            "delivery run",
            format!("run {id} is missing, or holds fewer than the {n} messages taken out"),
        ));
    }
    Ok(n)
}

/// The live run holding position `pos` of a lane: its id, state and last position.
pub(super) fn run_at(
    tx: &Transaction<'_>,
    origin: i64,
    destination: i64,
    pos: i64,
) -> Result<Option<(i64, String, i64)>> {
    let row: Option<(i64, String, i64)> = tx
        .prepare_cached(
            "SELECT id, state, last_pos FROM delivery_run INDEXED BY delivery_run_span
             WHERE origin = ?1 AND destination = ?2 AND first_pos <= ?3 AND members > 0
             ORDER BY first_pos DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row(params![origin, destination, pos], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(sql("find a position's run"))?;
    Ok(row.filter(|&(_, _, last)| last >= pos))
}

/// Gives each message among `ids` that has no row its row (see the module): those in a run
/// leave it (with `keep_confirmed`, those in a confirmed run stay: nothing moves them), the
/// pending ones get the columns they were accepted with. Unknown ids are left to the caller.
pub(super) fn take_out(
    tx: &Transaction<'_>,
    ids: &[MessageId],
    keep_confirmed: bool,
) -> Result<()> {
    let op = "give messages their delivery rows";
    let rowless: Vec<(Vec<u8>, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT m.id, m.origin, m.destination, m.lane_pos FROM message m
             WHERE m.id IN rarray(?1)
               AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.message_id = m.id)",
        )
        .and_then(|mut s| {
            s.query_map([ids_param(ids)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect()
        })
        .map_err(sql(op))?;
    if rowless.is_empty() {
        return Ok(());
    }
    let mut runs: Vec<i64> = Vec::new();
    let mut lanes: Vec<(i64, i64)> = Vec::new();
    for (id, origin, destination, pos) in rowless {
        match run_at(tx, origin, destination, pos)? {
            Some((run, state, _)) => {
                if !(keep_confirmed && state == "confirmed") {
                    runs.push(run);
                }
            }
            None => {
                tx.prepare_cached(
                    "INSERT INTO delivery (message_id, origin, destination, leaf_index, state,
                         attempts, next_attempt_at, created_at, updated_at, lane_pos)
                     SELECT id, origin, destination, leaf_index, 'pending', 0, accepted_at,
                            accepted_at, accepted_at, lane_pos
                     FROM message WHERE id = ?1",
                )
                .and_then(|mut s| s.execute([&id]))
                .map_err(sql(op))?;
                lanes.push((origin, destination));
            }
        }
    }
    runs.sort_unstable();
    runs.dedup();
    let ids = ids_param(ids);
    for run in runs {
        copy_out(tx, run, "m.id IN rarray(?2)", &[&ids])?;
    }
    lanes.sort_unstable();
    lanes.dedup();
    for (origin, destination) in lanes {
        advance_frontier(tx, origin, destination)?;
    }
    Ok(())
}

/// Takes every message of the runs `runs` out of them (see the module).
pub(super) fn take_out_runs(tx: &Transaction<'_>, runs: &[i64]) -> Result<()> {
    for &run in runs {
        let n = copy_out(tx, run, "1", &[])?;
        let left: i64 = tx
            .prepare_cached("SELECT members FROM delivery_run WHERE id = ?1")
            .and_then(|mut s| s.query_row([run], |r| r.get(0)))
            .map_err(sql("read delivery run"))?;
        if left != 0 {
            return Err(codec::corrupt(
                "delivery run",
                format!("run {run} still counts {left} messages after {n} left it"),
            ));
        }
    }
    Ok(())
}

/// A lane's frontier: every position below it has a row or is in a run.
fn frontier(tx: &Transaction<'_>, origin: i64, destination: i64) -> Result<i64> {
    tx.prepare_cached("SELECT next_pos FROM lane_frontier WHERE origin = ?1 AND destination = ?2")
        .and_then(|mut s| {
            s.query_row(params![origin, destination], |r| r.get(0))
                .optional()
        })
        .map(Option::unwrap_or_default)
        .map_err(sql("read lane frontier"))
}

/// Whether position `pos` of a lane has a row.
fn row_at(tx: &Transaction<'_>, origin: i64, destination: i64, pos: i64) -> Result<bool> {
    tx.prepare_cached(
        "SELECT 1 FROM delivery INDEXED BY delivery_by_lane_pos
         WHERE origin = ?1 AND destination = ?2 AND lane_pos = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![origin, destination, pos], |_| Ok(()))
            .optional()
    })
    .map(|row| row.is_some())
    .map_err(sql("read a position's row"))
}

/// Moves a lane's frontier past the positions that have a row or are in a run.
pub(super) fn advance_frontier(tx: &Transaction<'_>, origin: i64, destination: i64) -> Result<()> {
    let start = frontier(tx, origin, destination)?;
    let mut pos = start;
    loop {
        if let Some((_, _, last)) = run_at(tx, origin, destination, pos)? {
            pos = last + 1;
        } else if row_at(tx, origin, destination, pos)? {
            pos += 1;
        } else {
            break;
        }
    }
    if pos != start {
        tx.prepare_cached(
            "INSERT INTO lane_frontier (origin, destination, next_pos) VALUES (?1, ?2, ?3)
             ON CONFLICT (origin, destination) DO UPDATE SET next_pos = excluded.next_pos",
        )
        .and_then(|mut s| s.execute(params![origin, destination, pos]))
        .map_err(sql("move lane frontier"))?;
    }
    Ok(())
}

/// A pending message without a row, as [`free`] reads it.
pub(super) struct Free {
    pub(super) id: Vec<u8>,
    pub(super) leaf_index: i64,
    pub(super) pos: i64,
    pub(super) encoded: Vec<u8>,
}

/// Up to `limit` of a lane's messages without a row and not in a run, in position order, from
/// its frontier, among the first `covered` leaves of the log and those `due` (its leaf index
/// and acceptance time) says may be leased now; the others (another member's turn) are passed
/// over and stay as they are.
pub(super) fn free(
    tx: &Transaction<'_>,
    (origin, destination): (i64, i64),
    covered: i64,
    limit: usize,
    due: impl Fn(i64, i64) -> bool,
) -> Result<Vec<Free>> {
    let op = "read pending positions";
    let mut out: Vec<Free> = Vec::new();
    let mut pos = frontier(tx, origin, destination)?;
    while out.len() < limit {
        if let Some((_, _, last)) = run_at(tx, origin, destination, pos)? {
            pos = last + 1;
            continue;
        }
        if row_at(tx, origin, destination, pos)? {
            pos += 1;
            continue;
        }
        // The stretch from `pos` up to the next run or row (SQL's two-argument `min` is NULL
        // when either is).
        let end: i64 = tx
            .prepare_cached(
                "SELECT min(
                     coalesce((SELECT min(first_pos) FROM delivery_run INDEXED BY delivery_run_span
                               WHERE origin = ?1 AND destination = ?2 AND first_pos > ?3
                                 AND members > 0), ?4),
                     coalesce((SELECT min(lane_pos) FROM delivery INDEXED BY delivery_by_lane_pos
                               WHERE origin = ?1 AND destination = ?2 AND lane_pos > ?3), ?4))",
            )
            .and_then(|mut s| {
                s.query_row(params![origin, destination, pos, i64::MAX], |r| r.get(0))
            })
            .map_err(sql(op))?;
        let end = (end != i64::MAX).then_some(end);
        let want = limit - out.len();
        // (id, leaf index, lane position, accepted at, encoding)
        type Row = (Vec<u8>, i64, i64, i64, Vec<u8>);
        let rows: Vec<Row> = tx
            .prepare_cached(
                "SELECT id, leaf_index, lane_pos, accepted_at, encoded
                 FROM message INDEXED BY message_by_lane
                 WHERE origin = ?1 AND destination = ?2 AND lane_pos >= ?3 AND lane_pos < ?4
                 ORDER BY lane_pos LIMIT ?5",
            )
            .and_then(|mut s| {
                s.query_map(
                    params![
                        origin,
                        destination,
                        pos,
                        end.unwrap_or(i64::MAX),
                        i64::try_from(want).unwrap_or(i64::MAX)
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?
                .collect()
            })
            .map_err(sql(op))?;
        let Some(&(_, _, last_read, _, _)) = rows.last() else {
            break;
        };
        let read = rows.len();
        for (id, leaf_index, at, accepted_at, encoded) in rows {
            if leaf_index >= covered {
                return Ok(out);
            }
            if due(leaf_index, accepted_at) {
                out.push(Free {
                    id,
                    leaf_index,
                    pos: at,
                    encoded,
                });
            }
        }
        pos = match end {
            Some(end) if read < want => end,
            None if read < want => break,
            _ => last_read + 1,
        };
    }
    Ok(out)
}

/// A lane's runs still leased whose lease ended at or before `now`.
pub(super) fn expired(
    tx: &Transaction<'_>,
    origin: i64,
    destination: i64,
    now: i64,
) -> Result<Vec<i64>> {
    tx.prepare_cached(
        "SELECT id FROM delivery_run INDEXED BY delivery_run_live
         WHERE origin = ?1 AND destination = ?2 AND state = 'leased' AND members > 0
           AND lease_until <= ?3",
    )
    .and_then(|mut s| {
        s.query_map(params![origin, destination, now], |r| r.get(0))?
            .collect()
    })
    .map_err(sql("find expired runs"))
}

/// A lane's submitted runs a take-over by `owner` may take (as `delivery::TAKE_OVER` selects
/// messages: another's whose follow lease ended, or, with `include_own`, its own).
pub(super) fn unfollowed(
    tx: &Transaction<'_>,
    origin: i64,
    destination: i64,
    owner: &str,
    now: i64,
    include_own: bool,
) -> Result<Vec<i64>> {
    tx.prepare_cached(
        "SELECT id FROM delivery_run INDEXED BY delivery_run_live
         WHERE origin = ?1 AND destination = ?2 AND state = 'submitted' AND members > 0
           AND (CASE WHEN lease_owner = ?3 THEN ?5
                     ELSE lease_until IS NULL OR lease_until <= ?4 END)",
    )
    .and_then(|mut s| {
        s.query_map(params![origin, destination, owner, now, include_own], |r| {
            r.get(0)
        })?
        .collect()
    })
    .map_err(sql("find runs to take over"))
}

/// Extends the follow lease of the runs `owner` follows in `submission`; returns how many
/// messages they hold.
pub(super) fn renew(
    tx: &Transaction<'_>,
    owner: &str,
    submission: &[u8],
    until: i64,
    now: i64,
) -> Result<usize> {
    let held: Vec<i64> = tx
        .prepare_cached(
            "UPDATE delivery_run SET lease_until = ?1, updated_at = ?2
             WHERE submission_id = ?4 AND state = 'submitted' AND lease_owner = ?3
               AND members > 0
             RETURNING members",
        )
        .and_then(|mut s| {
            s.query_map(params![until, now, owner, submission], |r| r.get(0))?
                .collect()
        })
        .map_err(sql("renew submitted runs"))?;
    Ok(held
        .into_iter()
        .map(|n| usize::try_from(n).unwrap_or(0))
        .sum())
}

/// The oldest acceptance time among the messages of a lane's leased and submitted runs (those
/// without a row: the others are read with the rows).
pub(super) const OLDEST_IN_RUNS: &str = "SELECT min(m.accepted_at)
     FROM delivery_run r INDEXED BY delivery_run_live
     JOIN message m INDEXED BY message_by_lane
       ON m.origin = r.origin AND m.destination = r.destination
      AND m.lane_pos BETWEEN r.first_pos AND r.last_pos
     WHERE r.origin = ?1 AND r.destination = ?2 AND r.state IN ('leased', 'submitted')
       AND r.members > 0
       AND NOT EXISTS (SELECT 1 FROM delivery d INDEXED BY delivery_by_lane_pos
                       WHERE d.origin = m.origin AND d.destination = m.destination
                         AND d.lane_pos = m.lane_pos)";

/// The acceptance time of a lane's oldest pending message without a row: the one at its
/// frontier (messages are accepted in position order).
pub(super) const OLDEST_FREE: &str = "SELECT (
     SELECT m.accepted_at FROM message m INDEXED BY message_by_lane
     WHERE m.origin = ?1 AND m.destination = ?2
       AND m.lane_pos = coalesce((SELECT next_pos FROM lane_frontier
                                  WHERE origin = ?1 AND destination = ?2), 0))";

/// The tables a message's delivery is read from (`m`: the message, `d`: its row, `r`: the run
/// holding it when it has no row), as the view `delivery_now` reads them.
pub(super) const NOW_FROM: &str = "message m
     LEFT JOIN delivery d ON d.message_id = m.id
     LEFT JOIN delivery_run r
       ON d.message_id IS NULL
      AND r.id = (SELECT s.id FROM delivery_run s INDEXED BY delivery_run_span
                  WHERE s.origin = m.origin AND s.destination = m.destination
                    AND s.first_pos <= m.lane_pos AND s.members > 0
                  ORDER BY s.first_pos DESC LIMIT 1)
      AND r.last_pos >= m.lane_pos";

/// A message's state over [`NOW_FROM`], compared with a parameter.
pub(super) const NOW_STATE_IS: &str = "(CASE WHEN d.message_id IS NOT NULL THEN d.state
     WHEN r.id IS NOT NULL THEN r.state ELSE 'pending' END) = ?";

/// A message's state over [`NOW_FROM`].
pub(super) const NOW_STATE: &str = "CASE WHEN d.message_id IS NOT NULL THEN d.state
     WHEN r.id IS NOT NULL THEN r.state ELSE 'pending' END";

#[cfg(test)]
mod tests {
    use super::super::migrate::tests::query_plan;
    use super::*;

    /// The runs still holding messages are read through their partial index (the confirmed
    /// and emptied runs of a lane's whole history are never scanned), and their messages
    /// through the lane-position index.
    #[test]
    fn run_reads_go_through_the_live_runs_index() {
        let plan = query_plan(OLDEST_IN_RUNS);
        assert!(
            plan.contains("INDEX delivery_run_live") && plan.contains("delivery_by_lane_pos"),
            "the oldest message in runs reads through {plan}"
        );
        for sql in [
            "SELECT id FROM delivery_run INDEXED BY delivery_run_live
             WHERE origin = ?1 AND destination = ?2 AND state = 'leased' AND members > 0
               AND lease_until <= ?3",
            "SELECT id FROM delivery_run INDEXED BY delivery_run_by_digest
             WHERE digest = ?1 AND members > 0 AND members = size AND size = ?2
               AND state <> 'confirmed'",
        ] {
            let plan = query_plan(sql);
            assert!(plan.contains("USING INDEX delivery_run_"), "{plan}");
        }
    }

    /// The reads of schema 16 go through indices, never a scan of a table: a lane's free
    /// positions and the run holding a position by lane and position, one message's delivery
    /// (the view `delivery_now`) by its id.
    #[test]
    fn position_reads_go_through_indices() {
        for (name, sql, index) in [
            (
                "the run at a position",
                "SELECT id, state, last_pos FROM delivery_run INDEXED BY delivery_run_span
                 WHERE origin = ?1 AND destination = ?2 AND first_pos <= ?3 AND members > 0
                 ORDER BY first_pos DESC LIMIT 1",
                "delivery_run_span",
            ),
            (
                "a stretch of free positions",
                "SELECT id, leaf_index, lane_pos, accepted_at, encoded
                 FROM message INDEXED BY message_by_lane
                 WHERE origin = ?1 AND destination = ?2 AND lane_pos >= ?3 AND lane_pos < ?4
                 ORDER BY lane_pos LIMIT ?5",
                "message_by_lane",
            ),
            ("the oldest free message", OLDEST_FREE, "message_by_lane"),
            (
                "one message's delivery",
                "SELECT state, lease_owner FROM delivery_now WHERE message_id = ?1",
                "sqlite_autoindex_message",
            ),
        ] {
            let plan = query_plan(sql);
            let scans = plan
                .lines()
                .any(|step| step.starts_with("SCAN") && step != "SCAN CONSTANT ROW");
            assert!(
                plan.contains(index) && !scans,
                "{name} reads through {plan}"
            );
        }
    }

    #[test]
    fn a_runs_digest_is_its_set_of_ids() {
        let id = |b: u8| MessageId(causeway_proofs::Hash32([b; 32]));
        assert_eq!(
            digest(&[id(1), id(2), id(3)]),
            digest(&[id(3), id(1), id(2)])
        );
        assert_ne!(digest(&[id(1), id(2)]), digest(&[id(1), id(2), id(3)]));
        assert_ne!(digest(&[id(1)]), digest(&[id(2)]));
    }
}
