//! The lane counts and the status events, written by the statements that insert or move
//! delivery rows (schema 5; until then statement triggers wrote them, see
//! `migrations/0005_statement_bookkeeping.sql`).
//!
//! A statement that moves rows returns them from a data-modifying CTE with the columns of
//! [`MOVED_COLUMNS`], and appends [`ctes`] over that CTE: in the same statement, one grouped
//! update of the counts per lane and state left, one grouped upsert per lane and state
//! entered, and one insert of the events, numbered after the last one in log order (origin,
//! leaf index), as the triggers did. A row whose state did not change is neither counted nor
//! logged (a replacement submission, a lease renewed).
//!
//! One condition: no state may be both left and entered by the rows of one statement (the two
//! count CTEs would then write one row twice). Every statement of the store moves its rows from
//! states disjoint from the state they enter (pending -> leased, leased -> submitted,
//! anything else -> confirmed, leased -> pending or dead letter, one row at a time otherwise).

/// An event's status from a row's new state and the state it left: back to pending from a
/// lease or a submission is a failed attempt; from a dead letter, an operator's retry.
const STATUS: &str = "CASE
         WHEN was IS NULL THEN 'logged'
         WHEN state = 'leased' THEN 'leased'
         WHEN state = 'submitted' THEN 'submitted'
         WHEN state = 'confirmed' THEN 'confirmed'
         WHEN state = 'dead_letter' THEN 'dead_lettered'
         WHEN was = 'dead_letter' THEN 'retried'
         ELSE 'failed'
     END";

/// An event's reason: a dead letter's, or a failed attempt's error.
const REASON: &str = "CASE
         WHEN was IS NULL THEN NULL
         WHEN state = 'dead_letter' THEN dead_reason
         WHEN state = 'pending' AND was <> 'dead_letter' THEN last_error
     END";

/// The CTEs (to follow `moved`'s, after a comma) that count and log the rows of CTE `moved`.
pub(super) fn ctes(moved: &str) -> String {
    format!(
        "left_state AS (
             UPDATE lane_count AS c SET n = c.n - g.k
             FROM (SELECT origin, destination, was, count(*) AS k FROM {moved}
                   WHERE was <> state GROUP BY origin, destination, was) AS g
             WHERE c.origin = g.origin AND c.destination = g.destination AND c.state = g.was
         ),
         entered_state AS (
             INSERT INTO lane_count AS c (origin, destination, state, n)
             SELECT origin, destination, state, count(*) FROM {moved}
             WHERE was IS DISTINCT FROM state GROUP BY origin, destination, state
             ON CONFLICT (origin, destination, state) DO UPDATE SET n = c.n + excluded.n
         ),
         logged AS (
             INSERT INTO message_event (seq, message_id, origin, destination, status, reason,
                                        at, leaf_index)
             SELECT (SELECT coalesce(max(seq), 0) FROM message_event)
                        + row_number() OVER (ORDER BY origin, leaf_index),
                    message_id, origin, destination, {STATUS}, {REASON}, updated_at, leaf_index
             FROM {moved} WHERE was IS DISTINCT FROM state
         )"
    )
}
