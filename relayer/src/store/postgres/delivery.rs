//! The delivery state machine ([`DeliveryStore`](crate::store::DeliveryStore)), the statements
//! of the SQLite store's `delivery.rs` in PostgreSQL's dialect. Every call runs under the write
//! lock (see the module docs), so a check of the current row and the write that follows it see
//! the same row: fencing by lease token holds across replicas. A leased batch is one run (see
//! `runs`): its submission and confirmation rewrite that row when they name exactly its
//! messages; anything else takes the messages out of their runs and moves them one by one.

use std::sync::LazyLock;

use causeway_proofs::{LeafIndex, MessageId};

use super::{LeaseClock, Tx, bookkeeping, col, conn, dom, i64_of, query, runs};
use crate::Error;
use crate::store::rules::{self, Current};
use crate::store::sqlite::codec;
use crate::store::{
    Confirmation, DeliveryStateKind, FailureOutcome, FailureReport, LEASE_EXPIRED_REASON,
    LeaseOwner, LeaseRequest, LeaseToken, LeasedMessage, Renewal, Result, Submission, SubmissionId,
    SubmittedMessage, TakeOver, UnixMillis,
};

// Each statement's text is built once (the bookkeeping CTEs are spliced in), not per call.
static SUBMIT: LazyLock<String> = LazyLock::new(submit_sql);
static RESUBMIT: LazyLock<String> = LazyLock::new(resubmit_sql);
static CONFIRM: LazyLock<String> = LazyLock::new(confirm_sql);
static EXPIRE: LazyLock<String> = LazyLock::new(expire_sql);
static LEASE: LazyLock<String> = LazyLock::new(lease_sql);
static FAIL: LazyLock<String> = LazyLock::new(fail_sql);
static RETRY_DEAD: LazyLock<String> = LazyLock::new(retry_dead_sql);

/// What a statement that moves delivery rows returns for `bookkeeping` (the row's new
/// state, and `$n`, the state it left, as `was`).
fn moved_columns(was: &str) -> String {
    format!(
        "origin, destination, lane_pos, state, {was}::text AS was, dead_reason, last_error, updated_at"
    )
}

/// Moves the messages not in a run (taken out first, see `runs`) among ids `$1` from leased
/// (by owner `$5`, under lease `$6`) to submitted in submission `$2`, handle `$3`, at `$4` (see
/// [`conn::now_param`]), and keeps the submission's signed bytes (`$7`, if any). Returns the
/// ids it moved: the caller checks the rest.
fn submit_sql() -> String {
    let now = conn::now_param(4);
    let bookkeeping = bookkeeping::ctes("moved");
    let returning = moved_columns("'leased'");
    format!(
        "WITH moved AS (
             UPDATE delivery
             SET state = 'submitted', submission_id = $2, submission_handle = $3,
                 submitted_at = {now}, lease_token = NULL, updated_at = {now}
             WHERE message_id = ANY($1)
               AND state = 'leased' AND lease_owner = $5 AND lease_token = $6
             RETURNING message_id, {returning}
         ),
         kept AS (
             INSERT INTO signed_submission (submission_id, signed, recorded_at)
             SELECT $2, $7::bytea, {now} WHERE $7::bytea IS NOT NULL
             ON CONFLICT (submission_id) DO UPDATE SET signed = excluded.signed
         ),
         {bookkeeping}
         SELECT message_id FROM moved"
    )
}

/// Moves one row (`$1`), which was in state `$5`, to submitted again in submission `$2` with
/// handle `$3` at `$4` (a replacement of its submission, or a lease's first).
fn resubmit_sql() -> String {
    let bookkeeping = bookkeeping::ctes("moved");
    let returning = moved_columns("$5");
    format!(
        "WITH moved AS (
             UPDATE delivery SET state = 'submitted', submission_id = $2,
                 submission_handle = $3, submitted_at = $4, lease_token = NULL,
                 updated_at = $4
             WHERE message_id = $1
             RETURNING {returning}
         ),
         {bookkeeping}
         SELECT count(*) FROM moved"
    )
}

/// Confirms a batch (`$1`, `$4` different ids) at block `$2`, time `$3`: every message not
/// confirmed yet, from whatever state (a delivery seen on the destination is final, whoever
/// sent it), or none if an id is unknown (`known` falls short of `$4`). A message in a run
/// not confirmed leaves it as it is confirmed: its row takes the run's submission and sender
/// (see `runs`), and the run counts one message fewer; a message in a confirmed run is
/// confirmed already. Each lane it touched keeps this confirmation as its latest (the latest
/// time, then the highest block) for `last_delivery`; and the signed bytes of each submission
/// it leaves with no message still submitted are forgotten (the statement sees the rows as
/// they were: a submission's rows still submitted after it are those it did not move, its
/// runs' those they still hold after it). Counted and logged by the same statement (`before`
/// holds the states the messages leave). Returns how many of the ids are known and how many
/// rows it moved. One statement, which refuses by changing nothing: its commit is sent with
/// it (see `conn`).
fn confirm_sql() -> String {
    let bookkeeping = bookkeeping::ctes("moved");
    format!(
        "WITH before AS MATERIALIZED (
             SELECT d.message_id, coalesce(r.state, d.state) AS state, r.id AS run,
                    r.lease_owner, r.submission_id, r.submission_handle, r.submitted_at
             FROM delivery AS d
             LEFT JOIN delivery_run AS r ON d.state = 'run' AND r.id = d.run_id
             WHERE d.message_id = ANY($1)
         ),
         moved AS (
             UPDATE delivery AS d
             SET state = 'confirmed', confirmed_block = $2, lease_until = NULL,
                 lease_token = NULL, dead_reason = NULL, updated_at = $3,
                 lease_owner = CASE WHEN b.run IS NULL THEN d.lease_owner
                                    ELSE b.lease_owner END,
                 submission_id = CASE WHEN b.run IS NULL THEN d.submission_id
                                      ELSE b.submission_id END,
                 submission_handle = CASE WHEN b.run IS NULL THEN d.submission_handle
                                          ELSE b.submission_handle END,
                 submitted_at = CASE WHEN b.run IS NULL THEN d.submitted_at
                                     ELSE b.submitted_at END,
                 run_id = NULL
             FROM before AS b
             WHERE d.message_id = b.message_id AND b.state <> 'confirmed'
               AND (SELECT count(*) FROM before) = $4::bigint
             RETURNING d.origin, d.destination, d.lane_pos, d.state, b.state AS was,
                       d.dead_reason, d.last_error, d.updated_at, d.message_id,
                       d.submission_id, b.run
         ),
         left_runs AS (
             UPDATE delivery_run AS r SET members = r.members - g.k
             FROM (SELECT run, count(*) AS k FROM moved WHERE run IS NOT NULL GROUP BY run)
                  AS g
             WHERE r.id = g.run
         ),
         latest AS (
             INSERT INTO lane_last_delivery AS l (origin, destination, confirmed_at, block)
             SELECT DISTINCT origin, destination, $3::bigint, $2::bigint FROM moved
             ON CONFLICT (origin, destination) DO UPDATE
             SET confirmed_at = excluded.confirmed_at, block = excluded.block
             WHERE (excluded.confirmed_at, excluded.block) >= (l.confirmed_at, l.block)
         ),
         pruned AS (
             DELETE FROM signed_submission AS s
             WHERE s.submission_id IN (SELECT submission_id FROM moved)
               AND NOT EXISTS (SELECT 1 FROM delivery AS d
                               WHERE d.submission_id = s.submission_id
                                 AND d.state = 'submitted'
                                 AND d.message_id NOT IN (SELECT message_id FROM moved))
               AND NOT EXISTS (SELECT 1 FROM delivery_run AS r
                               WHERE r.submission_id = s.submission_id
                                 AND r.state = 'submitted'
                                 AND r.members > (SELECT count(*) FROM moved AS m
                                                  WHERE m.run = r.id))
         ),
         {bookkeeping}
         SELECT (SELECT count(*) FROM before), (SELECT count(*) FROM moved)"
    )
}

/// Ends the expired leases of a lane (`$1`, `$2`) at time `$3` (see [`conn::now_param`]), its
/// expired runs' messages taken out first (`runs::TAKE_OUT_EXPIRED`): each used an attempt,
/// so it goes back to pending or, once its attempts (`$4`) are used up, to dead letter with
/// reason `$5` (see the SQLite store). Returns whether each went dead.
fn expire_sql() -> String {
    let now = conn::now_param(3);
    let bookkeeping = bookkeeping::ctes("moved");
    let returning = moved_columns("'leased'");
    format!(
        "WITH moved AS (
             UPDATE delivery
             SET state = CASE WHEN attempts + 1 >= $4 THEN 'dead_letter' ELSE 'pending' END,
                 attempts = attempts + 1, next_attempt_at = {now},
                 dead_reason = CASE WHEN attempts + 1 >= $4 THEN $5 ELSE dead_reason END,
                 last_error = $5, lease_owner = NULL, lease_until = NULL, lease_token = NULL,
                 updated_at = {now}
             WHERE origin = $1 AND destination = $2 AND state = 'leased'
               AND lease_until <= {now}
             RETURNING {returning}
         ),
         {bookkeeping}
         SELECT state = 'dead_letter' FROM moved"
    )
}

/// Leases up to `$7` pending messages of a lane (`$4`, `$5`) below leaf `$6` to owner `$1`
/// at time `$3` until `$2` (or `$12` ms after the database's time, see
/// [`conn::now_param`]), under the next lease token (taken whether or not a row is leased, as
/// SQLite's), with the rota's turn (`$8` members, this one at `$9`, runs of `$10`, `$11` ms of
/// grace per turn): the messages join one run (see `runs`), which holds the lease. Returns the
/// rows with their messages (not one read per message), the lease token and its end.
fn lease_sql() -> String {
    let now = conn::now_param(3);
    let until = format!("coalesce($2::bigint, {now} + $12::bigint)");
    let bookkeeping = bookkeeping::ctes("moved");
    format!(
        "WITH token AS (
             UPDATE lease_sequence SET last = last + 1 WHERE id = 1 RETURNING last
         ),
         leased AS (
             UPDATE delivery AS d
             SET state = 'run', run_id = (SELECT last FROM token), updated_at = {now}
             FROM message AS m
             WHERE m.id = d.message_id AND d.message_id IN (
                 SELECT message_id FROM delivery
                 WHERE origin = $4 AND destination = $5 AND leaf_index < $6
                   AND state = 'pending' AND next_attempt_at <= {now}
                   AND next_attempt_at
                       + (($9::bigint + $8::bigint - (leaf_index / $10::bigint) % $8::bigint)
                          % $8::bigint) * $11::bigint <= {now}
                 ORDER BY leaf_index LIMIT $7)
             RETURNING d.message_id, d.origin, d.destination, d.lane_pos, d.leaf_index,
                       d.attempts, d.updated_at, m.encoded
         ),
         moved AS (
             SELECT origin, destination, lane_pos, 'leased'::text AS state,
                    'pending'::text AS was, NULL::text AS dead_reason,
                    NULL::text AS last_error, updated_at
             FROM leased
         ),
         run AS (
             INSERT INTO delivery_run (id, origin, destination, state, size, members,
                                       first_pos, last_pos, digest, lease_owner,
                                       lease_until, lease_token, updated_at)
             SELECT (SELECT last FROM token), $4, $5, 'leased', count(*), count(*),
                    min(lane_pos), max(lane_pos),
                    sha256(string_agg(message_id, ''::bytea ORDER BY message_id)), $1,
                    {until}, (SELECT last FROM token), {now}
             FROM leased HAVING count(*) > 0
         ),
         {bookkeeping}
         SELECT message_id, leaf_index, attempts, encoded, (SELECT last FROM token), {until}
         FROM leased"
    )
}

/// Moves one row (`$1`, in state `$8`, out of any run) after a failure: to state `$2` with
/// `$3` attempts, next attempt at `$4`, dead-letter reason `$5`, error `$6`, at `$7`.
fn fail_sql() -> String {
    let bookkeeping = bookkeeping::ctes("moved");
    let returning = moved_columns("$8");
    format!(
        "WITH moved AS (
             UPDATE delivery SET state = $2, attempts = $3, next_attempt_at = $4,
                 dead_reason = $5, last_error = $6, lease_owner = NULL, lease_until = NULL,
                 lease_token = NULL, submission_id = NULL, submission_handle = NULL,
                 submitted_at = NULL, updated_at = $7
             WHERE message_id = $1
             RETURNING {returning}
         ),
         {bookkeeping}
         SELECT count(*) FROM moved"
    )
}

/// Sends a dead letter (`$1`) back to pending at `$2`.
fn retry_dead_sql() -> String {
    let bookkeeping = bookkeeping::ctes("moved");
    let returning = moved_columns("'dead_letter'");
    format!(
        "WITH moved AS (
             UPDATE delivery SET state = 'pending', attempts = 0, next_attempt_at = $2,
                 dead_reason = NULL, updated_at = $2
             WHERE message_id = $1
             RETURNING {returning}
         ),
         {bookkeeping}
         SELECT count(*) FROM moved"
    )
}

fn current(tx: &mut Tx<'_>, id: MessageId) -> Result<Current> {
    let key: &[u8] = &id.0.0[..];
    let row = tx
        .opt(
            "SELECT state, lease_owner, attempts, lease_token, submission_id
             FROM delivery_now WHERE message_id = $1",
            &[&key],
        )?
        .ok_or(Error::UnknownMessage { id })?;
    let lease: Option<i64> = col(&row, 3)?;
    let submission: Option<&[u8]> = col(&row, 4)?;
    Ok(Current {
        state: codec::state(col(&row, 0)?)?,
        owner: col::<Option<String>>(&row, 1)?.map(LeaseOwner),
        attempts: codec::to_u32("attempts", col(&row, 2)?)?,
        lease: lease
            .map(|t| codec::to_u64("lease token", t).map(LeaseToken))
            .transpose()?,
        submission: submission
            .map(|b| codec::hash32("submission id", b).map(SubmissionId))
            .transpose()?,
    })
}

/// Leases pending messages of `req.lane` (expired leases ended first) at `req.now` on
/// `clock`: one round trip, the lease statements and the commit sent together.
pub(super) fn lease(
    tx: &mut Tx<'_>,
    req: &LeaseRequest<'_>,
    clock: LeaseClock,
) -> Result<Vec<LeasedMessage>> {
    if req.limit == 0 {
        return Ok(Vec::new());
    }
    // On the caller's clock, the times are the caller's; on the database's, the statements
    // read it as the transaction did once it held the write lock, and add the lease to it
    // (a lease too long for any database time is refused, as it would be on the caller's).
    let (now, until, lease_for) = match clock {
        LeaseClock::Caller => (
            Some(i64_of("time", req.now.0)?),
            Some(i64_of(
                "lease end",
                req.now.saturating_add(req.lease_for).0,
            )?),
            0,
        ),
        LeaseClock::Database => {
            let ms = u64::try_from(req.lease_for.as_millis()).unwrap_or(u64::MAX);
            let ms = i64::try_from(ms)
                .ok()
                .filter(|ms| *ms <= i64::MAX / 2)
                .ok_or(Error::OutOfRange {
                    what: "lease end",
                    value: ms,
                })?;
            (None, None, ms)
        }
    };
    let covered = i64::try_from(req.covered_by.0).unwrap_or(i64::MAX);
    let limit = i64::try_from(req.limit).unwrap_or(i64::MAX);
    let (members, position, run, grace) = match req.rota {
        Some(r) => (
            i64::from(r.members.max(1)),
            i64::from(r.position),
            i64::try_from(r.run.max(1)).unwrap_or(i64::MAX),
            i64::try_from(r.grace.as_millis()).unwrap_or(i64::MAX),
        ),
        None => (1, 0, 1, 0),
    };
    let max = i64::from(req.policy.max_attempts.max(1));
    let (o, d) = (dom(req.lane.origin), dom(req.lane.destination));
    let (take_out, expire, lease): (&String, &String, &String) =
        (&runs::TAKE_OUT_EXPIRED, &EXPIRE, &LEASE);
    let mut replies = tx.query_and_commit(&[
        (take_out, &[&o, &d, &now]),
        (expire, &[&o, &d, &now, &max, &LEASE_EXPIRED_REASON]),
        (
            lease,
            &[
                &req.owner.0,
                &until,
                &now,
                &o,
                &d,
                &covered,
                &limit,
                &members,
                &position,
                &run,
                &grace,
                &lease_for,
            ],
        ),
    ])?;
    let rows = replies.pop().unwrap_or_default();
    let expired = replies.pop().unwrap_or_default();
    if !expired.is_empty() {
        let dead = expired
            .iter()
            .map(|r| col::<bool>(r, 0))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|&dead| dead)
            .count();
        tracing::warn!(
            lane = %req.lane, dead_letters = dead, back_to_pending = expired.len() - dead,
            "leases expired without an outcome; each counts as a failed attempt"
        );
    }
    let mut leased = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = codec::message_id(col(r, 0)?)?;
        let lease = LeaseToken(codec::to_u64("lease token", col(r, 4)?)?);
        leased.push(LeasedMessage {
            leaf_index: LeafIndex(codec::to_u64("leaf index", col(r, 1)?)?),
            message: query::message_of(id, col(r, 3)?)?,
            attempts: codec::to_u32("attempts", col(r, 2)?)?,
            lease_until: UnixMillis(codec::to_u64("lease end", col(r, 5)?)?),
            lease,
        });
    }
    leased.sort_by_key(|m| m.leaf_index);
    if let Some(first) = leased.first() {
        tracing::debug!(
            lane = %req.lane, owner = %req.owner, count = leased.len(),
            until = first.lease_until.0, "leased messages"
        );
    }
    Ok(leased)
}

/// Records a submission at `s.now` on `clock`. A batch's first submission that names exactly
/// a run's messages, leased by this owner under this lease, is one round trip: the run row
/// rewritten, its commit sent with it. Anything else (part of a run, a replacement, a lease
/// lost) changes nothing there, and the messages then leave their runs and move one by one, in
/// a transaction of its own.
pub(super) fn submitted(tx: &mut Tx<'_>, s: &Submission<'_>, clock: LeaseClock) -> Result<()> {
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
    let submission_bytes: &[u8] = &submission.0.0[..];
    let token = i64_of("lease token", s.lease.0)?;
    if s.replaces.is_none() && distinct(s.ids) == s.ids.len() {
        // On the database's clock the statement reads the time the transaction took once it
        // held the write lock (as leasing does).
        let now = match clock {
            LeaseClock::Caller => Some(i64_of("time", s.now.0)?),
            LeaseClock::Database => None,
        };
        let digest = runs::digest(s.ids);
        let digest: &[u8] = &digest[..];
        let size = i64::try_from(s.ids.len()).unwrap_or(i64::MAX);
        let sql: &String = &runs::SUBMIT_RUN;
        let moved = tx
            .query_and_commit(&[(
                sql,
                &[
                    &digest,
                    &submission_bytes,
                    &handle,
                    &now,
                    &s.owner.0,
                    &token,
                    &s.signed,
                    &size,
                ],
            )])?
            .pop()
            .and_then(|mut rows| rows.pop());
        if let Some(row) = moved
            && col::<i64>(&row, 0)? == 1
        {
            tracing::debug!(
                owner = %s.owner, submission = %submission, family = ?s.handle.family,
                count = s.ids.len(), signed = s.signed.map(<[u8]>::len),
                "recorded a run's submission"
            );
            return Ok(());
        }
    }
    let ids = ids_param(s.ids);
    let take_out: &String = &runs::TAKE_OUT;
    tx.exec(take_out, &[&ids])?;
    let now = i64_of("time", super::now_on(tx, clock, s.now)?.0)?;
    if s.replaces.is_none() {
        // The whole batch in one statement. Any id it did not move (not, or no longer, leased
        // by this owner under this lease; or named twice) fails the call as the first such id,
        // exactly as checking them one by one would, and the transaction is rolled back.
        let sql: &String = &SUBMIT;
        let moved = tx.query(
            sql,
            &[
                &ids,
                &submission_bytes,
                &handle,
                &Some(now),
                &s.owner.0,
                &token,
                &s.signed,
            ],
        )?;
        let moved = moved
            .iter()
            .map(|r| col::<&[u8]>(r, 0))
            .collect::<Result<Vec<_>>>()?;
        let mut unclaimed: std::collections::HashSet<&[u8]> = moved.into_iter().collect();
        for &id in s.ids {
            if !unclaimed.remove(&id.0.0[..]) {
                return Err(current(tx, id)?.lease_lost(id, s.owner));
            }
        }
        tracing::debug!(
            owner = %s.owner, submission = %submission, family = ?s.handle.family,
            count = s.ids.len(), signed = s.signed.map(<[u8]>::len), "recorded submission"
        );
        return Ok(());
    }
    let resubmit: &String = &RESUBMIT;
    for &id in s.ids {
        let cur = current(tx, id)?;
        let replacing = cur.state == DeliveryStateKind::Submitted
            && cur.owner.as_ref() == Some(s.owner)
            && cur.submission == s.replaces;
        if !cur.leased_by(s.owner, s.lease) && !replacing {
            return Err(cur.lease_lost(id, s.owner));
        }
        let key: &[u8] = &id.0.0[..];
        tx.query(
            resubmit,
            &[&key, &submission_bytes, &handle, &now, &cur.state.as_str()],
        )?;
    }
    if let (Some(signed), Some(_)) = (s.signed, s.replaces) {
        tx.exec(
            "INSERT INTO signed_submission (submission_id, signed, recorded_at)
             VALUES ($1, $2, $3)
             ON CONFLICT (submission_id) DO UPDATE SET signed = excluded.signed",
            &[&submission_bytes, &signed, &now],
        )?;
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
fn prune_signed(tx: &mut Tx<'_>, submission: SubmissionId) -> Result<()> {
    let key: &[u8] = &submission.0.0[..];
    tx.exec(
        "DELETE FROM signed_submission WHERE submission_id = $1
           AND NOT EXISTS (SELECT 1 FROM delivery
                           WHERE submission_id = $1 AND state = 'submitted')
           AND NOT EXISTS (SELECT 1 FROM delivery_run
                           WHERE submission_id = $1 AND state = 'submitted' AND members > 0)",
        &[&key],
    )?;
    Ok(())
}

pub(super) fn signed(tx: &mut Tx<'_>, submission: SubmissionId) -> Result<Option<Vec<u8>>> {
    let key: &[u8] = &submission.0.0[..];
    tx.opt(
        "SELECT signed FROM signed_submission WHERE submission_id = $1",
        &[&key],
    )?
    .map(|r| col(&r, 0))
    .transpose()
}

pub(super) fn confirm(tx: &mut Tx<'_>, c: &Confirmation<'_>) -> Result<()> {
    let now = i64_of("time", c.now.0)?;
    let block = i64_of("confirmation block", c.block)?;
    let distinct = i64::try_from(distinct(c.ids)).unwrap_or(i64::MAX);
    // The usual case: the batch is exactly a run not confirmed yet: one row written, and
    // committed in the same round trip. Else nothing was written, and the messages move one
    // by one, in one statement, in a transaction of its own.
    let whole = usize::try_from(distinct).ok() == Some(c.ids.len());
    let digest = runs::digest(c.ids);
    let digest: &[u8] = &digest[..];
    let run_sql: &String = &runs::CONFIRM_RUN;
    if whole && c.ids.len() > 1 {
        let moved = tx
            .query_and_commit(&[(run_sql, &[&digest, &block, &now, &distinct])])?
            .pop()
            .and_then(|mut rows| rows.pop());
        if let Some(row) = moved
            && col::<i64>(&row, 0)? == 1
        {
            tracing::debug!(
                count = c.ids.len(),
                block = c.block,
                "confirmed a delivery run"
            );
            return Ok(());
        }
    }
    // One statement for the batch (as SQLite's), committed in the same round trip: it changes
    // nothing if an id is unknown. Only then are the ids read one by one (in a transaction of
    // their own), to name the first unknown one. One message's outcome sends the run's
    // statement before it, in the same round trip (one turn of the write lock, one commit):
    // a run of one is confirmed as a run, and the per-message statement then finds its message
    // confirmed and moves nothing; a message of a larger run is no run, and moves alone.
    let ids = ids_param(c.ids);
    let sql: &String = &CONFIRM;
    let mut statements: Vec<(&str, &conn::Params<'_>)> = Vec::with_capacity(2);
    let run_params: [&(dyn postgres::types::ToSql + Sync); 4] = [&digest, &block, &now, &distinct];
    if whole && c.ids.len() <= 1 {
        // (Nothing to confirm sends both too: the same statements prepared as for one.)
        statements.push((run_sql, &run_params));
    }
    let params: [&(dyn postgres::types::ToSql + Sync); 4] = [&ids, &block, &now, &distinct];
    statements.push((sql, &params));
    let mut replies = tx.query_and_commit(&statements)?;
    let row = replies
        .pop()
        .and_then(|mut rows| rows.pop())
        .ok_or(Error::Corrupt {
            what: "confirmation",
            reason: "the confirmation statement returned no row".into(),
        })?;
    let known: i64 = col(&row, 0)?;
    if known != distinct {
        for &id in c.ids {
            current(tx, id)?;
        }
        return Err(Error::Corrupt {
            what: "confirmation",
            reason: format!("{known} of {distinct} ids found at once, every one on its own"),
        });
    }
    tracing::debug!(count = c.ids.len(), block = c.block, "confirmed deliveries");
    Ok(())
}

/// A batch's message ids as one `bytea[]` parameter.
fn ids_param(ids: &[MessageId]) -> Vec<&[u8]> {
    ids.iter().map(|id| &id.0.0[..]).collect()
}

/// How many different ids `ids` holds (a statement over `= ANY` counts each row once).
fn distinct(ids: &[MessageId]) -> usize {
    let mut sorted: Vec<&MessageId> = ids.iter().collect();
    sorted.sort_unstable_by_key(|id| id.0.0);
    sorted.dedup();
    sorted.len()
}

pub(super) fn failure(tx: &mut Tx<'_>, f: &FailureReport<'_>) -> Result<FailureOutcome> {
    let id = f.id;
    // A message in a run leaves it first (it keeps its state), then moves alone.
    let take_out: &String = &runs::TAKE_OUT;
    tx.exec(take_out, &[&ids_param(&[id])])?;
    let cur = current(tx, id)?;
    let was = cur.state;
    let rules::FailureStep {
        outcome,
        state,
        attempts,
        next_attempt_at,
        dead_reason,
        submission,
    } = rules::failure(cur, f)?;
    let now = i64_of("time", f.now.0)?;
    let next_i = i64_of("next attempt time", next_attempt_at.0)?;
    let key: &[u8] = &id.0.0[..];
    let sql: &String = &FAIL;
    tx.query(
        sql,
        &[
            &key,
            &state.as_str(),
            &i64::from(attempts),
            &next_i,
            &dead_reason,
            &f.reason,
            &now,
            &was.as_str(),
        ],
    )?;
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

pub(super) fn retry_dead(tx: &mut Tx<'_>, id: MessageId, now: UnixMillis) -> Result<()> {
    let cur = current(tx, id)?;
    if cur.state != DeliveryStateKind::DeadLetter {
        return Err(Error::InvalidTransition {
            id,
            action: "retry",
            state: cur.state,
        });
    }
    let now = i64_of("time", now.0)?;
    let key: &[u8] = &id.0.0[..];
    let sql: &String = &RETRY_DEAD;
    tx.query(sql, &[&key, &now])?;
    tracing::info!(message_id = %id, "dead letter sent back to pending");
    Ok(())
}

pub(super) fn take_over(tx: &mut Tx<'_>, req: &TakeOver<'_>) -> Result<Vec<SubmittedMessage>> {
    if req.limit == 0 {
        return Ok(Vec::new());
    }
    let now = i64_of("time", req.now.0)?;
    let until = i64_of("follow lease end", req.now.saturating_add(req.follow_for).0)?;
    let limit = i64::try_from(req.limit).unwrap_or(i64::MAX);
    let (origin, destination) = (dom(req.lane.origin), dom(req.lane.destination));
    // The runs it may take leave them first (rare: a follower gone, or a restart); then the
    // messages are taken one by one, with the commit in the same round trip.
    let take_out: &String = &runs::TAKE_OUT_UNFOLLOWED;
    let rows = tx
        .query_and_commit(&[
            (
                take_out,
                &[&req.owner.0, &now, &origin, &destination, &req.include_own],
            ),
            (
                TAKE_OVER,
                &[
                    &req.owner.0,
                    &until,
                    &now,
                    &origin,
                    &destination,
                    &limit,
                    &req.include_own,
                ],
            ),
        ])?
        .pop()
        .unwrap_or_default();
    let mut taken = rows
        .iter()
        .map(query::submitted_message)
        .collect::<Result<Vec<_>>>()?;
    taken.sort_by_key(|m| m.leaf_index);
    if !taken.is_empty() {
        tracing::debug!(lane = %req.lane, owner = %req.owner, count = taken.len(),
            "took over submitted messages");
    }
    Ok(taken)
}

/// Takes over a lane's submitted messages to follow: `$1` the owner, `$2` the follow lease's
/// end, `$3` the time, `$4`, `$5` the lane, `$6` the most, `$7` whether its own too.
const TAKE_OVER: &str = "UPDATE delivery SET lease_owner = $1, lease_until = $2, updated_at = $3
         WHERE message_id IN (
             SELECT message_id FROM delivery
             WHERE origin = $4 AND destination = $5 AND state = 'submitted'
               AND (CASE WHEN lease_owner = $1 THEN $7::boolean
                         ELSE lease_until IS NULL OR lease_until <= $3 END)
             ORDER BY leaf_index LIMIT $6)
         RETURNING message_id, leaf_index, lease_owner, submission_id, submitted_at,
                   submission_handle";

pub(super) fn renew(tx: &mut Tx<'_>, r: &Renewal<'_>) -> Result<usize> {
    let until = i64_of("follow lease end", r.until.0)?;
    let now = i64_of("time", r.now.0)?;
    let submission: &[u8] = &r.submission.0.0[..];
    let row = tx.one(runs::RENEW, &[&until, &now, &r.owner.0, &submission])?;
    Ok(usize::try_from(col::<i64>(&row, 0)?).unwrap_or(usize::MAX))
}
