//! The delivery state machine ([`DeliveryStore`](crate::store::DeliveryStore)).

use causeway_proofs::{LeafIndex, MessageId};
use rusqlite::{OptionalExtension, Transaction, params};

use super::codec::{self, to_i64};
use super::history::Moves;
use super::{query, runs, sql};
use crate::Error;
use crate::store::rules::{self, Current};
use crate::store::{
    Confirmation, DeliveryStateKind, FailureOutcome, FailureReport, LEASE_EXPIRED_REASON,
    LeaseOwner, LeaseRequest, LeaseToken, LeasedMessage, Renewal, Result, Submission, SubmissionId,
    SubmittedMessage, TakeOver, UnixMillis,
};

const PENDING: &str = "pending";
const LEASED: &str = "leased";
const SUBMITTED: &str = "submitted";
const CONFIRMED: &str = "confirmed";
const DEAD_LETTER: &str = "dead_letter";

// The statements that pick a lane's rows by state name the index they read through. Without
// statistics (the store never runs ANALYZE), SQLite's planner preferred the primary key's
// `origin` prefix for some of them (it yields leaf order for free), which reads every row the
// origin ever logged: a scan per call that grew with the log and was a quarter of a gateway's
// CPU in `bench pipeline`. `INDEXED BY` also fails loudly if the index ever goes missing.

/// A lane's next pending messages that have their own row (they left a run, or a transition
/// named them), in log order (see [`lease`]); the others have no row (see `runs::free`).
const LEASE_ROWS: &str = "SELECT message_id, leaf_index, attempts, lane_pos
     FROM delivery INDEXED BY delivery_work
     WHERE origin = ?1 AND destination = ?2 AND leaf_index < ?3
       AND state = 'pending' AND next_attempt_at <= ?4
       AND next_attempt_at + ((?6 + ?5 - (leaf_index / ?7) % ?5) % ?5) * ?8 <= ?4
     ORDER BY leaf_index LIMIT ?9";

/// Leases the rows [`LEASE_ROWS`] chose, each alone (as before schema 14).
const LEASE_ROW: &str = "UPDATE delivery
     SET state = 'leased', lease_owner = ?2, lease_until = ?3, lease_token = ?4, updated_at = ?5
     WHERE message_id IN rarray(?1) AND state = 'pending'";

/// Ends a lane's expired leases whose attempts are used up (see [`expire_leases`]).
const EXPIRE_TO_DEAD_LETTER: &str = "UPDATE delivery INDEXED BY delivery_work
     SET state = 'dead_letter', attempts = attempts + 1, next_attempt_at = ?3,
         dead_reason = ?5, last_error = ?5, lease_owner = NULL, lease_until = NULL,
         lease_token = NULL, updated_at = ?3
     WHERE origin = ?1 AND destination = ?2 AND state = 'leased' AND lease_until <= ?3
       AND attempts + 1 >= ?4
     RETURNING lane_pos";

/// Sends a lane's other expired leases back to pending (see [`expire_leases`]).
const EXPIRE_TO_PENDING: &str = "UPDATE delivery INDEXED BY delivery_work
     SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?3,
         last_error = ?4, lease_owner = NULL, lease_until = NULL, lease_token = NULL,
         updated_at = ?3
     WHERE origin = ?1 AND destination = ?2 AND state = 'leased' AND lease_until <= ?3
     RETURNING lane_pos";

/// Takes over a lane's submitted messages to follow (see [`take_over`]).
const TAKE_OVER: &str = "UPDATE delivery SET lease_owner = ?1, lease_until = ?2, updated_at = ?3
     WHERE message_id IN (
         SELECT message_id FROM delivery INDEXED BY delivery_work
         WHERE origin = ?4 AND destination = ?5 AND state = 'submitted'
           AND (CASE WHEN lease_owner = ?1 THEN ?7
                     ELSE lease_until IS NULL OR lease_until <= ?3 END)
         ORDER BY leaf_index LIMIT ?6)
     RETURNING message_id, leaf_index, lease_owner, submission_id, submitted_at,
               submission_handle";

/// Moves a batch from leased (by this owner, under this lease) to submitted.
const SUBMIT_LEASED: &str = "UPDATE delivery
     SET state = 'submitted', submission_id = ?2, submission_handle = ?3, submitted_at = ?4,
         lease_token = NULL, updated_at = ?4
     WHERE message_id IN rarray(?1)
       AND state = 'leased' AND lease_owner = ?5 AND lease_token = ?6
     RETURNING message_id, origin, destination, lane_pos";

/// Confirms a batch's submitted messages: the usual case (this instance or another sent them),
/// in which the state each row leaves is known without reading it first.
const CONFIRM_SUBMITTED: &str = "UPDATE delivery
     SET state = 'confirmed', confirmed_block = ?2, lease_until = NULL, lease_token = NULL,
         dead_reason = NULL, updated_at = ?3
     WHERE message_id IN rarray(?1) AND state = 'submitted'
     RETURNING message_id, submission_id, origin, destination, lane_pos";

/// The rows of a batch [`CONFIRM`] moves, with the state each leaves (its lane count and
/// status event), read in the same transaction just before it. A message still without a row
/// is in a confirmed run (the others were given theirs first): confirmed already. (No row is
/// in the state 'run' since schema 16; the condition stays for what schema 14 wrote.)
const CONFIRM_FROM: &str = "SELECT state, origin, destination, lane_pos FROM delivery
     WHERE message_id IN rarray(?1) AND state NOT IN ('confirmed', 'run')";

/// Confirms a batch: every message not confirmed yet, from whatever state (a delivery seen on
/// the destination is final, whoever sent it); returns each moved row and the submission it
/// leaves.
const CONFIRM: &str = "UPDATE delivery
     SET state = 'confirmed', confirmed_block = ?2, lease_until = NULL, lease_token = NULL,
         dead_reason = NULL, updated_at = ?3
     WHERE message_id IN rarray(?1) AND state NOT IN ('confirmed', 'run')
     RETURNING message_id, submission_id, origin, destination";

/// Keeps a lane's latest confirmation (the latest time, then the highest block), which
/// `last_delivery` reads without sorting the lane's confirmed rows.
const LAST_DELIVERY: &str =
    "INSERT INTO lane_last_delivery (origin, destination, confirmed_at, block)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (origin, destination) DO UPDATE
     SET confirmed_at = excluded.confirmed_at, block = excluded.block
     WHERE (excluded.confirmed_at, excluded.block) >= (confirmed_at, block)";

fn current(tx: &Transaction<'_>, id: MessageId) -> Result<Current> {
    type Row = (String, Option<String>, i64, Option<i64>, Option<Vec<u8>>);
    let row: Option<Row> = tx
        .prepare_cached(
            "SELECT state, lease_owner, attempts, lease_token, submission_id
             FROM delivery_now WHERE message_id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([&id.0.0[..]], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(sql("read delivery"))?;
    let (state, owner, attempts, lease, submission) = row.ok_or(Error::UnknownMessage { id })?;
    Ok(Current {
        state: codec::state(&state)?,
        owner: owner.map(LeaseOwner),
        attempts: codec::to_u32("attempts", attempts)?,
        lease: lease
            .map(|t| codec::to_u64("lease token", t).map(LeaseToken))
            .transpose()?,
        submission: submission
            .map(|b| codec::hash32("submission id", &b).map(SubmissionId))
            .transpose()?,
    })
}

pub(super) fn lease(tx: &Transaction<'_>, req: &LeaseRequest<'_>) -> Result<Vec<LeasedMessage>> {
    let op = "lease pending messages";
    if req.limit == 0 {
        return Ok(Vec::new());
    }
    let now = to_i64("time", req.now.0)?;
    let until = req.now.saturating_add(req.lease_for);
    let until_i = to_i64("lease end", until.0)?;
    // Sizes past i64 cover every storable index.
    let covered = i64::try_from(req.covered_by.0).unwrap_or(i64::MAX);
    let limit = i64::try_from(req.limit).unwrap_or(i64::MAX);
    // Turns between member gateways (see `Rota`); alone, every message is this instance's.
    let (members, position, run, grace) = match req.rota {
        Some(r) => (
            i64::from(r.members.max(1)),
            i64::from(r.position),
            i64::try_from(r.run.max(1)).unwrap_or(i64::MAX),
            i64::try_from(r.grace.as_millis()).unwrap_or(i64::MAX),
        ),
        None => (1, 0, 1, 0),
    };
    expire_leases(tx, req, now)?;
    let token: i64 = tx
        .prepare_cached("UPDATE lease_sequence SET last = last + 1 WHERE id = 1 RETURNING last")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(sql("take a lease token"))?;
    let lease = LeaseToken(codec::to_u64("lease token", token)?);
    let (origin, destination) = (
        i64::from(req.lane.origin.0),
        i64::from(req.lane.destination.0),
    );
    // The candidates: pending rows, and pending positions without a row (schema 16), each in
    // log order; the first `limit` of both are leased. The transaction holds the write lock,
    // so nothing is leased twice.
    let rows: Vec<(Vec<u8>, i64, i64, i64)> = tx
        .prepare_cached(LEASE_ROWS)
        .and_then(|mut s| {
            s.query_map(
                params![
                    origin,
                    destination,
                    covered,
                    now,
                    members,
                    position,
                    run,
                    grace,
                    limit
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?
            .collect()
        })
        .map_err(sql(op))?;
    let due = |leaf_index: i64, accepted_at: i64| {
        let turn = (position + members - (leaf_index / run) % members) % members;
        accepted_at <= now && accepted_at.saturating_add(turn.saturating_mul(grace)) <= now
    };
    let free = runs::free(tx, (origin, destination), covered, req.limit, due)?;
    // Merge by leaf index; keep the first `limit`.
    let (mut rows, mut free) = (rows.into_iter().peekable(), free.into_iter().peekable());
    let (mut own, mut fresh) = (Vec::new(), Vec::new());
    while own.len() + fresh.len() < req.limit {
        let take_row = match (rows.peek(), free.peek()) {
            (Some(r), Some(f)) => r.1 < f.leaf_index,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_row {
            own.extend(rows.next());
        } else {
            fresh.extend(free.next());
        }
    }
    let mut moves = Moves::default();
    let mut leased = Vec::with_capacity(own.len() + fresh.len());
    if !own.is_empty() {
        let ids: Vec<MessageId> = own
            .iter()
            .map(|(id, _, _, _)| codec::message_id(id))
            .collect::<Result<_>>()?;
        let n = tx
            .prepare_cached(LEASE_ROW)
            .and_then(|mut s| s.execute(params![ids_param(&ids), req.owner.0, until_i, token, now]))
            .map_err(sql(op))?;
        if n != ids.len() {
            return Err(codec::corrupt(
                "delivery",
                format!("{} pending rows chosen to lease, {n} leased", ids.len()),
            ));
        }
        let mut messages = query::load_messages(tx, &ids)?;
        for ((_, leaf_index, attempts, pos), id) in own.into_iter().zip(ids) {
            moves.add(origin, destination, Some(PENDING), LEASED, pos);
            leased.push(LeasedMessage {
                leaf_index: LeafIndex(codec::to_u64("leaf index", leaf_index)?),
                message: messages.remove(&id).ok_or(Error::UnknownMessage { id })?,
                attempts: codec::to_u32("attempts", attempts)?,
                lease_until: until,
                lease,
            });
        }
    }
    if !fresh.is_empty() {
        // One run per stretch of consecutive positions (one, unless other members' turns or
        // rows sit between).
        let mut ids = Vec::with_capacity(fresh.len());
        let mut positions = Vec::with_capacity(fresh.len());
        for (i, f) in fresh.iter().enumerate() {
            ids.push(codec::message_id(&f.id)?);
            positions.push(f.pos);
            let ends = fresh.get(i + 1).is_none_or(|next| next.pos != f.pos + 1);
            if ends {
                runs::insert(
                    tx,
                    &runs::NewRun {
                        token,
                        origin,
                        destination,
                        owner: &req.owner.0,
                        until: until_i,
                        now,
                        ids: &ids[ids.len() - positions.len()..],
                        positions: &positions,
                    },
                )?;
                positions.clear();
            }
        }
        runs::advance_frontier(tx, origin, destination)?;
        for (f, id) in fresh.into_iter().zip(ids) {
            moves.add(origin, destination, Some(PENDING), LEASED, f.pos);
            leased.push(LeasedMessage {
                leaf_index: LeafIndex(codec::to_u64("leaf index", f.leaf_index)?),
                message: query::decode_message(id, &f.encoded)?,
                attempts: 0,
                lease_until: until,
                lease,
            });
        }
    }
    moves.write(tx, now, None)?;
    leased.sort_by_key(|m| m.leaf_index);
    if !leased.is_empty() {
        tracing::debug!(
            lane = %req.lane, owner = %req.owner, count = leased.len(), until = until.0,
            "leased messages"
        );
    }
    Ok(leased)
}

/// Ends the expired leases of `req.lane`: each has used an attempt, so it goes back to pending
/// (eligible at once: the lease was the wait) or, once the attempts are used up, to dead letter.
/// Without this a message whose every attempt dies before anything is recorded would be leased
/// again for ever.
fn expire_leases(tx: &Transaction<'_>, req: &LeaseRequest<'_>, now: i64) -> Result<()> {
    let op = "expire leases";
    let max = i64::from(req.policy.max_attempts.max(1));
    let (origin, destination) = (
        i64::from(req.lane.origin.0),
        i64::from(req.lane.destination.0),
    );
    // An expired run's messages leave it first; then each expires alone, as below.
    let expired = runs::expired(tx, origin, destination, now)?;
    runs::take_out_runs(tx, &expired)?;
    let dead: Vec<i64> = tx
        .prepare_cached(EXPIRE_TO_DEAD_LETTER)
        .and_then(|mut s| {
            s.query_map(
                params![origin, destination, now, max, LEASE_EXPIRED_REASON],
                |r| r.get(0),
            )?
            .collect()
        })
        .map_err(sql(op))?;
    let mut moves = Moves::default();
    for &pos in &dead {
        moves.add(origin, destination, Some(LEASED), DEAD_LETTER, pos);
    }
    moves.write(tx, now, Some(LEASE_EXPIRED_REASON))?;
    let back: Vec<i64> = tx
        .prepare_cached(EXPIRE_TO_PENDING)
        .and_then(|mut s| {
            s.query_map(
                params![origin, destination, now, LEASE_EXPIRED_REASON],
                |r| r.get(0),
            )?
            .collect()
        })
        .map_err(sql(op))?;
    let mut moves = Moves::default();
    for &pos in &back {
        moves.add(origin, destination, Some(LEASED), PENDING, pos);
    }
    moves.write(tx, now, Some(LEASE_EXPIRED_REASON))?;
    let (dead, back) = (dead.len(), back.len());
    if dead + back > 0 {
        tracing::warn!(
            lane = %req.lane, dead_letters = dead, back_to_pending = back,
            "leases expired without an outcome; each counts as a failed attempt"
        );
    }
    Ok(())
}

pub(super) fn submitted(tx: &Transaction<'_>, s: &Submission<'_>) -> Result<()> {
    let op = "mark submitted";
    let now = to_i64("time", s.now.0)?;
    let handle = serde_json::to_string(s.handle).map_err(|e| Error::Backend {
        op: "encode submission handle",
        source: Box::new(e),
    })?;
    if handle.len() > Submission::MAX_HANDLE_LEN {
        return Err(Error::HandleTooLong {
            len: handle.len(),
            max: Submission::MAX_HANDLE_LEN,
        });
    }
    if let Some(signed) = s.signed
        && signed.len() > Submission::MAX_SIGNED_LEN
    {
        return Err(Error::SignedTooLong {
            len: signed.len(),
            max: Submission::MAX_SIGNED_LEN,
        });
    }
    let submission = SubmissionId::of(s.handle);
    let mut moves = Moves::default();
    // The usual case: the batch is exactly a run, still leased by this owner under this lease:
    // one row written. Anything else: the messages leave their runs and move one by one.
    let token = to_i64("lease token", s.lease.0)?;
    let whole = if s.replaces.is_none() && distinct(s.ids) == s.ids.len() {
        runs::submit_whole(
            tx,
            &runs::WholeSubmission {
                token,
                owner: &s.owner.0,
                ids: s.ids,
                submission: &submission.0.0[..],
                handle: &handle,
                now,
            },
        )?
    } else {
        None
    };
    if let Some(run) = whole {
        for &pos in &run.positions {
            moves.add(run.origin, run.destination, Some(run.from), SUBMITTED, pos);
        }
    } else if s.replaces.is_none() {
        runs::take_out(tx, s.ids, false)?;
        // The whole batch in one statement. Any id it did not move (not, or no longer, leased
        // by this owner under this lease; or named twice) fails the call as the first such id,
        // exactly as checking them one by one would, and the transaction is dropped unwritten.
        let moved: Vec<(Vec<u8>, i64, i64, i64)> = tx
            .prepare_cached(SUBMIT_LEASED)
            .and_then(|mut st| {
                st.query_map(
                    params![
                        ids_param(s.ids),
                        &submission.0.0[..],
                        handle,
                        now,
                        s.owner.0,
                        token
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?
                .collect()
            })
            .map_err(sql(op))?;
        if moved.len() != s.ids.len() {
            let mut unclaimed: std::collections::HashSet<&[u8]> =
                moved.iter().map(|(id, _, _, _)| id.as_slice()).collect();
            for &id in s.ids {
                if !unclaimed.remove(&id.0.0[..]) {
                    return Err(current(tx, id)?.lease_lost(id, s.owner));
                }
            }
        }
        for &(_, origin, destination, pos) in &moved {
            moves.add(origin, destination, Some(LEASED), SUBMITTED, pos);
        }
    } else {
        runs::take_out(tx, s.ids, false)?;
        for &id in s.ids {
            let cur = current(tx, id)?;
            let replacing = cur.state == DeliveryStateKind::Submitted
                && cur.owner.as_ref() == Some(s.owner)
                && cur.submission == s.replaces;
            if !cur.leased_by(s.owner, s.lease) && !replacing {
                return Err(cur.lease_lost(id, s.owner));
            }
            let (origin, destination, pos): (i64, i64, i64) = tx
                .prepare_cached(
                    "UPDATE delivery SET state = 'submitted', submission_id = ?2,
                         submission_handle = ?3, submitted_at = ?4, lease_token = NULL,
                         updated_at = ?4
                     WHERE message_id = ?1
                     RETURNING origin, destination, lane_pos",
                )
                .and_then(|mut st| {
                    st.query_row(
                        params![&id.0.0[..], &submission.0.0[..], handle, now],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                })
                .map_err(sql(op))?;
            moves.add(
                origin,
                destination,
                Some(cur.state.as_str()),
                SUBMITTED,
                pos,
            );
        }
    }
    moves.write(tx, now, None)?;
    if let Some(signed) = s.signed {
        tx.prepare_cached(
            "INSERT INTO signed_submission (submission_id, signed, recorded_at)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (submission_id) DO UPDATE SET signed = excluded.signed",
        )
        .and_then(|mut st| st.execute(params![&submission.0.0[..], signed, now]))
        .map_err(sql(op))?;
    }
    if let Some(old) = s.replaces {
        prune_signed(tx, old)?;
    }
    tracing::debug!(
        owner = %s.owner, submission = %submission, family = ?s.handle.family,
        count = s.ids.len(), signed = s.signed.map(<[u8]>::len), replaces = ?s.replaces,
        "recorded submission"
    );
    Ok(())
}

/// Forgets the signed bytes of `submission` once none of its messages is submitted in it.
fn prune_signed(tx: &Transaction<'_>, submission: SubmissionId) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM signed_submission WHERE submission_id = ?1
           AND NOT EXISTS (SELECT 1 FROM delivery
                           WHERE submission_id = ?1 AND state = 'submitted')
           AND NOT EXISTS (SELECT 1 FROM delivery_run
                           WHERE submission_id = ?1 AND state = 'submitted' AND members > 0)",
    )
    .and_then(|mut st| st.execute([&submission.0.0[..]]))
    .map_err(sql("forget signed submission"))?;
    Ok(())
}

/// The signed bytes recorded for `submission`, while some message is still submitted in it.
pub(super) fn signed(tx: &Transaction<'_>, submission: SubmissionId) -> Result<Option<Vec<u8>>> {
    tx.prepare_cached("SELECT signed FROM signed_submission WHERE submission_id = ?1")
        .and_then(|mut st| st.query_row([&submission.0.0[..]], |r| r.get(0)).optional())
        .map_err(sql("read signed submission"))
}

pub(super) fn confirm(tx: &Transaction<'_>, c: &Confirmation<'_>) -> Result<()> {
    let op = "confirm delivery";
    let now = to_i64("time", c.now.0)?;
    let block = to_i64("confirmation block", c.block)?;
    type Row = (Vec<u8>, Option<Vec<u8>>, i64, i64);
    let mut moves = Moves::default();
    let distinct = distinct(c.ids);
    // The usual case: the batch is exactly a run not confirmed yet: one row written.
    if distinct == c.ids.len()
        && let Some(run) = runs::confirm_whole(tx, c.ids, block, now)?
    {
        for &pos in &run.positions {
            moves.add(run.origin, run.destination, Some(run.from), CONFIRMED, pos);
        }
        moves.write(tx, now, None)?;
        tx.prepare_cached(LAST_DELIVERY)
            .and_then(|mut st| st.execute(params![run.origin, run.destination, now, block]))
            .map_err(sql(op))?;
        if let Some(submission) = run.submission {
            prune_signed(
                tx,
                SubmissionId(codec::hash32("submission id", &submission)?),
            )?;
        }
        tracing::debug!(
            count = c.ids.len(),
            block = c.block,
            "confirmed a delivery run"
        );
        return Ok(());
    }
    // Else the messages get their rows (leaving their runs, but confirmed ones; pending ones
    // with the columns they were accepted with) and move one by one.
    runs::take_out(tx, c.ids, true)?;
    // The submitted messages first, in one statement that tells their lanes and positions.
    let mut rows: Vec<Row> = Vec::new();
    {
        let mut st = tx.prepare_cached(CONFIRM_SUBMITTED).map_err(sql(op))?;
        let mut moved = st
            .query(params![ids_param(c.ids), block, now])
            .map_err(sql(op))?;
        while let Some(r) = moved.next().map_err(sql(op))? {
            let (origin, destination, pos) = (
                r.get(2).map_err(sql(op))?,
                r.get(3).map_err(sql(op))?,
                r.get(4).map_err(sql(op))?,
            );
            moves.add(origin, destination, Some(SUBMITTED), CONFIRMED, pos);
            rows.push((
                r.get(0).map_err(sql(op))?,
                r.get(1).map_err(sql(op))?,
                origin,
                destination,
            ));
        }
    }
    if rows.len() != distinct {
        // Messages in other states (or confirmed already, or unknown): the states they leave
        // are read first, then one statement moves them.
        {
            let mut st = tx.prepare_cached(CONFIRM_FROM).map_err(sql(op))?;
            let mut from_rows = st.query([ids_param(c.ids)]).map_err(sql(op))?;
            while let Some(r) = from_rows.next().map_err(sql(op))? {
                let state: String = r.get(0).map_err(sql(op))?;
                let from = codec::state(&state)?.as_str();
                let (origin, destination, pos) = (
                    r.get(1).map_err(sql(op))?,
                    r.get(2).map_err(sql(op))?,
                    r.get(3).map_err(sql(op))?,
                );
                moves.add(origin, destination, Some(from), CONFIRMED, pos);
            }
        }
        let others: Vec<Row> = tx
            .prepare_cached(CONFIRM)
            .and_then(|mut st| {
                st.query_map(params![ids_param(c.ids), block, now], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect()
            })
            .map_err(sql(op))?;
        rows.extend(others);
        // A message neither statement moved is confirmed already, or unknown: only then are
        // the ids read one by one, to name the first unknown one.
        if rows.len() != distinct {
            for &id in c.ids {
                current(tx, id)?;
            }
        }
    }
    moves.write(tx, now, None)?;
    // Each lane the batch touched (one, unless a caller mixes lanes) keeps this confirmation.
    let mut lanes: Vec<(i64, i64)> = rows.iter().map(|&(_, _, o, d)| (o, d)).collect();
    lanes.sort_unstable();
    lanes.dedup();
    for (origin, destination) in lanes {
        tx.prepare_cached(LAST_DELIVERY)
            .and_then(|mut st| st.execute(params![origin, destination, now, block]))
            .map_err(sql(op))?;
    }
    // The submissions the rows left are pruned once each.
    let mut submissions: Vec<Vec<u8>> = rows.into_iter().filter_map(|(_, s, _, _)| s).collect();
    submissions.sort_unstable();
    submissions.dedup();
    for submission in &submissions {
        prune_signed(
            tx,
            SubmissionId(codec::hash32("submission id", submission)?),
        )?;
    }
    tracing::debug!(count = c.ids.len(), block = c.block, "confirmed deliveries");
    Ok(())
}

/// A batch's message ids as one `rarray(?)` parameter.
pub(super) fn ids_param(ids: &[MessageId]) -> std::rc::Rc<Vec<rusqlite::types::Value>> {
    std::rc::Rc::new(
        ids.iter()
            .map(|id| rusqlite::types::Value::Blob(id.0.0.to_vec()))
            .collect(),
    )
}

/// How many different ids `ids` holds (a statement over `rarray` counts each row once).
fn distinct(ids: &[MessageId]) -> usize {
    let mut sorted: Vec<&MessageId> = ids.iter().collect();
    sorted.sort_unstable_by_key(|id| id.0.0);
    sorted.dedup();
    sorted.len()
}

pub(super) fn failure(tx: &Transaction<'_>, f: &FailureReport<'_>) -> Result<FailureOutcome> {
    let op = "record failure";
    let id = f.id;
    runs::take_out(tx, &[id], false)?;
    let cur = current(tx, id)?;
    let from = cur.state.as_str();
    let rules::FailureStep {
        outcome,
        state,
        attempts,
        next_attempt_at,
        dead_reason,
        submission,
    } = rules::failure(cur, f)?;
    let now = to_i64("time", f.now.0)?;
    let next_i = to_i64("next attempt time", next_attempt_at.0)?;
    let (origin, destination, pos): (i64, i64, i64) = tx
        .prepare_cached(
            "UPDATE delivery SET state = ?2, attempts = ?3, next_attempt_at = ?4,
                 dead_reason = ?5, last_error = ?6, lease_owner = NULL, lease_until = NULL,
                 lease_token = NULL, submission_id = NULL,
                 submission_handle = NULL, submitted_at = NULL, updated_at = ?7
             WHERE message_id = ?1
             RETURNING origin, destination, lane_pos",
        )
        .and_then(|mut st| {
            st.query_row(
                params![
                    &id.0.0[..],
                    state.as_str(),
                    i64::from(attempts),
                    next_i,
                    dead_reason,
                    f.reason,
                    now
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .map_err(sql(op))?;
    let mut moves = Moves::default();
    moves.add(origin, destination, Some(from), state.as_str(), pos);
    moves.write(tx, now, Some(f.reason))?;
    if let Some(submission) = submission {
        prune_signed(tx, submission)?;
    }
    match outcome {
        FailureOutcome::DeadLetter { attempts } => tracing::warn!(
            message_id = %id, attempts, reason = f.reason, "delivery dead-lettered"
        ),
        FailureOutcome::Retry {
            attempts,
            next_attempt_at,
        } => tracing::debug!(
            message_id = %id, attempts, next_attempt_at = next_attempt_at.0, reason = f.reason,
            "delivery attempt failed; will retry"
        ),
    }
    Ok(outcome)
}

pub(super) fn retry_dead(tx: &Transaction<'_>, id: MessageId, now: UnixMillis) -> Result<()> {
    let cur = current(tx, id)?;
    if cur.state != DeliveryStateKind::DeadLetter {
        return Err(Error::InvalidTransition {
            id,
            action: "retry",
            state: cur.state,
        });
    }
    let now = to_i64("time", now.0)?;
    let (origin, destination, pos): (i64, i64, i64) = tx
        .prepare_cached(
            "UPDATE delivery SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                 dead_reason = NULL, updated_at = ?2
             WHERE message_id = ?1
             RETURNING origin, destination, lane_pos",
        )
        .and_then(|mut st| {
            st.query_row(params![&id.0.0[..], now], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })
        .map_err(sql("retry dead letter"))?;
    let mut moves = Moves::default();
    moves.add(origin, destination, Some(DEAD_LETTER), PENDING, pos);
    moves.write(tx, now, None)?;
    tracing::info!(message_id = %id, "dead letter sent back to pending");
    Ok(())
}

pub(super) fn take_over(tx: &Transaction<'_>, req: &TakeOver<'_>) -> Result<Vec<SubmittedMessage>> {
    let op = "take over submitted";
    if req.limit == 0 {
        return Ok(Vec::new());
    }
    let now = to_i64("time", req.now.0)?;
    let until = to_i64("follow lease end", req.now.saturating_add(req.follow_for).0)?;
    let limit = i64::try_from(req.limit).unwrap_or(i64::MAX);
    // The runs it may take leave them first (rare: a follower gone, or a restart).
    let unfollowed = runs::unfollowed(
        tx,
        i64::from(req.lane.origin.0),
        i64::from(req.lane.destination.0),
        &req.owner.0,
        now,
        req.include_own,
    )?;
    runs::take_out_runs(tx, &unfollowed)?;
    let rows: Vec<query::SubmittedRow> = tx
        .prepare_cached(TAKE_OVER)
        .and_then(|mut s| {
            s.query_map(
                params![
                    req.owner.0,
                    until,
                    now,
                    req.lane.origin.0,
                    req.lane.destination.0,
                    limit,
                    req.include_own
                ],
                query::submitted_row,
            )?
            .collect()
        })
        .map_err(sql(op))?;
    let mut taken = rows
        .into_iter()
        .map(query::submitted_message)
        .collect::<Result<Vec<_>>>()?;
    // RETURNING gives no order guarantee.
    taken.sort_by_key(|m| m.leaf_index);
    if !taken.is_empty() {
        tracing::debug!(lane = %req.lane, owner = %req.owner, count = taken.len(),
            "took over submitted messages");
    }
    Ok(taken)
}

pub(super) fn renew(tx: &Transaction<'_>, r: &Renewal<'_>) -> Result<usize> {
    let until = to_i64("follow lease end", r.until.0)?;
    let now = to_i64("time", r.now.0)?;
    let alone = tx
        .prepare_cached(
            "UPDATE delivery SET lease_until = ?1, updated_at = ?2
             WHERE state = 'submitted' AND lease_owner = ?3 AND submission_id = ?4",
        )
        .and_then(|mut s| s.execute(params![until, now, r.owner.0, &r.submission.0.0[..]]))
        .map_err(sql("renew submitted"))?;
    let in_runs = runs::renew(tx, &r.owner.0, &r.submission.0.0[..], until, now)?;
    Ok(alone + in_runs)
}

#[cfg(test)]
mod tests {
    use super::super::migrate::tests::query_plan;
    use super::*;

    /// Before the statements named their index, the expiry updates and the take-over read
    /// every row of the origin through the primary key (`SEARCH delivery USING PRIMARY KEY
    /// (origin=?)`), once per lease and per follow.
    #[test]
    fn lane_transitions_go_through_the_lane_state_index() {
        for (name, sql) in [
            ("lease", LEASE_ROWS),
            ("expire to dead letter", EXPIRE_TO_DEAD_LETTER),
            ("expire to pending", EXPIRE_TO_PENDING),
            ("take over", TAKE_OVER),
            ("oldest unfinished", query::OLDEST_UNFINISHED),
        ] {
            let plan = query_plan(sql);
            assert!(
                plan.contains("INDEX delivery_work") && !plan.contains("PRIMARY KEY"),
                "{name} reads through {plan}"
            );
        }
    }
}
