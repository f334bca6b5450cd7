//! Delivery runs (schema 14): a leased batch is one `delivery_run` row.
//!
//! Leasing moves each message's `delivery` row to the state `run` and writes one run row (its
//! lane, state, lease, and later its submission and confirmation). A submission or a
//! confirmation that names exactly a run's messages (recognised by their digest, without
//! reading them) rewrites the run row only. Any other change to a message in a run first takes
//! it out ([`take_out`], [`take_out_runs`]): the run's columns are copied into the message's own
//! row, so its state and meaning do not change, and from then on it moves alone, as before
//! schema 14.

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

/// Writes the run of a batch just leased (its messages' rows already name it).
pub(super) fn insert(tx: &Transaction<'_>, run: &NewRun<'_>) -> Result<()> {
    let (Some(&first), Some(&last)) = (run.positions.iter().min(), run.positions.iter().max())
    else {
        return Ok(());
    };
    let size = i64::try_from(run.ids.len()).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO delivery_run (id, origin, destination, state, size, members, first_pos,
             last_pos, digest, lease_owner, lease_until, lease_token, updated_at)
         VALUES (?1, ?2, ?3, 'leased', ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?1, ?10)",
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

/// The positions of run `id`'s messages, in order: its whole span when it has no gap, else read.
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
    let row: Option<(i64, i64, i64, i64)> = tx
        .prepare_cached(
            "UPDATE delivery_run
             SET state = 'submitted', submission_id = ?1, submission_handle = ?2,
                 submitted_at = ?3, lease_token = NULL, updated_at = ?3
             WHERE id = ?4 AND state = 'leased' AND lease_owner = ?5 AND lease_token = ?4
               AND members = size AND size = ?6 AND digest = ?7
             RETURNING origin, destination, first_pos, last_pos",
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
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
        })
        .map_err(sql(op))?;
    let Some((origin, destination, first, last)) = row else {
        return Ok(None);
    };
    Ok(Some(Moved {
        origin,
        destination,
        from: "leased",
        positions: positions(tx, s.token, (origin, destination, first, last, size))?,
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

/// Copies run `id`'s columns into the rows of its messages that `which` selects in `table`
/// (`delivery`, with the index to read it by; `?1` is the run id, further parameters follow)
/// and takes them out of it; returns how many.
fn copy_out(
    tx: &Transaction<'_>,
    id: i64,
    table: &str,
    which: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<usize> {
    let op = "take messages out of their run";
    let sql_text = format!(
        "UPDATE {table}
         SET (state, lease_owner, lease_until, lease_token, submission_id, submission_handle,
              submitted_at, confirmed_block, updated_at, run_id) =
             (SELECT state, lease_owner, lease_until, lease_token, submission_id,
                     submission_handle, submitted_at, confirmed_block, updated_at, NULL
              FROM delivery_run WHERE id = ?1)
         WHERE state = 'run' AND run_id = ?1 AND {which}"
    );
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&id];
    all.extend_from_slice(params);
    let n = tx
        .prepare_cached(&sql_text)
        .and_then(|mut s| s.execute(all.as_slice()))
        .map_err(sql(op))?;
    let changed = tx
        .prepare_cached("UPDATE delivery_run SET members = members - ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id, i64::try_from(n).unwrap_or(i64::MAX)]))
        .map_err(sql(op))?;
    if changed != 1 {
        return Err(codec::corrupt(
            "delivery run",
            format!("run {id} named by {n} messages is missing"),
        ));
    }
    Ok(n)
}

/// Takes the messages among `ids` that are in a run out of it (each keeps its state; see the
/// module). With `keep_confirmed`, those in a confirmed run stay in it (nothing moves them).
pub(super) fn take_out(
    tx: &Transaction<'_>,
    ids: &[MessageId],
    keep_confirmed: bool,
) -> Result<()> {
    let op = "find messages in runs";
    let runs: Vec<(i64, String)> = tx
        .prepare_cached(
            "SELECT DISTINCT d.run_id, r.state
             FROM delivery d JOIN delivery_run r ON r.id = d.run_id
             WHERE d.message_id IN rarray(?1) AND d.state = 'run'",
        )
        .and_then(|mut s| {
            s.query_map([ids_param(ids)], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(sql(op))?;
    let ids = ids_param(ids);
    for (run, state) in runs {
        if keep_confirmed && state == "confirmed" {
            continue;
        }
        copy_out(tx, run, "delivery", "message_id IN rarray(?2)", &[&ids])?;
    }
    Ok(())
}

/// Takes every message of the runs `runs` out of them (see the module).
pub(super) fn take_out_runs(tx: &Transaction<'_>, runs: &[i64]) -> Result<()> {
    for &run in runs {
        let span: (i64, i64, i64, i64) = tx
            .prepare_cached(
                "SELECT origin, destination, first_pos, last_pos FROM delivery_run WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            })
            .map_err(sql("read delivery run"))?;
        let (origin, destination, first, last) = span;
        copy_out(
            tx,
            run,
            "delivery INDEXED BY delivery_by_lane_pos",
            "origin = ?2 AND destination = ?3 AND lane_pos BETWEEN ?4 AND ?5",
            &[&origin, &destination, &first, &last],
        )?;
    }
    Ok(())
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

/// The oldest acceptance time among the messages of a lane's leased and submitted runs.
pub(super) const OLDEST_IN_RUNS: &str = "SELECT min(d.created_at)
     FROM delivery_run r INDEXED BY delivery_run_live
     JOIN delivery d INDEXED BY delivery_by_lane_pos
       ON d.origin = r.origin AND d.destination = r.destination
      AND d.lane_pos BETWEEN r.first_pos AND r.last_pos
     WHERE r.origin = ?1 AND r.destination = ?2 AND r.state IN ('leased', 'submitted')
       AND r.members > 0 AND d.state = 'run' AND d.run_id = r.id";

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
