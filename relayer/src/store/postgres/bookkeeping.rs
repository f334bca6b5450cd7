//! The lane counts and the status events, written by the statements that insert or move
//! delivery rows or runs (schema 5; until then statement triggers wrote them, see
//! `migrations/0005_statement_bookkeeping.sql`), one event row per run of a lane's messages
//! (schema 6, as SQLite's schema 11; see `migrations/0006_delivery_runs.sql`).
//!
//! A statement that moves messages has a CTE with the columns of each message moved (`origin`,
//! `destination`, `lane_pos`, `state`, `was`, `dead_reason`, `last_error`, `updated_at`: a
//! delivery row's `RETURNING`, or a run's positions) and appends [`ctes`] over it: in the same
//! statement, one grouped update of the counts per lane and state left, one grouped upsert per
//! lane and state entered, and one insert of the events: one row per run of consecutive
//! positions of a lane that made the same move (at most [`MAX_RUN`] a row), numbered after the
//! last one, as SQLite's `history::Moves` numbers them (by lane, state left, state entered,
//! then position). A message whose state did not change is neither counted nor logged (a
//! replacement submission, a lease renewed).
//!
//! One condition: no state may be both left and entered by the messages of one statement (the
//! two count CTEs would then write one row twice). Every statement of the store moves its
//! messages from states disjoint from the state they enter (pending -> leased, leased ->
//! submitted, anything else -> confirmed, leased -> pending or dead letter, one message at a
//! time otherwise).

/// The most messages one event row covers (the schema's `CHECK (n BETWEEN 1 AND 1024)`; a
/// message's events are looked up among the runs starting at most this far before it).
pub(super) const MAX_RUN: i64 = 1024;

/// An event's status from a message's new state and the state it left: back to pending from a
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

/// The CTEs (to follow `moved`'s, after a comma) that count and log the messages of CTE
/// `moved`: the counts grouped by lane and state, the events through [`island_ctes`] and
/// [`LOGGED`].
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
         {islands},
         chunks AS (SELECT * FROM island_chunks),
         {LOGGED}",
        islands = island_ctes(moved),
    )
}

/// The CTEs (to follow the statement's own, after a comma) that count and log the runs of CTE
/// `runs` (columns `origin`, `destination`, `first_pos`, `last_pos`, `size`, `updated_at` and
/// `was`: every message of each run moved from `was` to `state`, and the run still holds all
/// it was leased with), as [`ctes`] would from a row per message, without one where it can:
/// a run's counts are its size, and the events of a run without a gap are its span cut at
/// [`MAX_RUN`] (one row for a batch of 128: no message's row made, sorted or numbered). The
/// positions of the runs with gaps (CTE `gapped`, in [`ctes`]' columns) go through the
/// islands as any statement's messages do. Numbered as [`ctes`] numbers them.
pub(super) fn run_ctes(runs: &str, gapped: &str, state: &str) -> String {
    format!(
        "left_state AS (
             UPDATE lane_count AS c SET n = c.n - g.k
             FROM (SELECT origin, destination, was, sum(size)::bigint AS k FROM {runs}
                   WHERE was <> '{state}' GROUP BY origin, destination, was) AS g
             WHERE c.origin = g.origin AND c.destination = g.destination AND c.state = g.was
         ),
         entered_state AS (
             INSERT INTO lane_count AS c (origin, destination, state, n)
             SELECT origin, destination, '{state}', sum(size)::bigint FROM {runs}
             WHERE was IS DISTINCT FROM '{state}' GROUP BY origin, destination
             ON CONFLICT (origin, destination, state) DO UPDATE SET n = c.n + excluded.n
         ),
         {islands},
         chunks AS (
             SELECT * FROM island_chunks
             UNION ALL
             SELECT origin, destination, was, state, {STATUS} AS status, {REASON} AS reason,
                    at, first_pos, n
             FROM (SELECT r.origin, r.destination, r.was, '{state}'::text AS state,
                          NULL::text AS dead_reason, NULL::text AS last_error,
                          r.updated_at AS at, r.first_pos + c * {MAX_RUN} AS first_pos,
                          least({MAX_RUN}, r.size - c * {MAX_RUN}) AS n
                   FROM {runs} AS r, generate_series(0, (r.size - 1) / {MAX_RUN}) AS c
                   WHERE r.last_pos - r.first_pos + 1 = r.size
                     AND r.was IS DISTINCT FROM '{state}') AS whole
         ),
         {LOGGED}",
        islands = island_ctes(gapped),
    )
}

/// `islands` and `island_chunks` over the messages of CTE `moved` (see [`ctes`]): `islands`
/// gives each changed message its run (its position less its rank among the messages of its
/// lane that made the same move: equal along consecutive positions), `island_chunks` cuts
/// runs at [`MAX_RUN`] and counts them.
fn island_ctes(moved: &str) -> String {
    format!(
        "islands AS (
             SELECT origin, destination, was, state, lane_pos, {STATUS} AS status,
                    {REASON} AS reason, updated_at AS at,
                    lane_pos - row_number() OVER (
                        PARTITION BY origin, destination, was, state ORDER BY lane_pos
                    ) AS island
             FROM {moved} WHERE was IS DISTINCT FROM state
         ),
         island_chunks AS (
             SELECT origin, destination, was, state, status, reason, at,
                    min(lane_pos) AS first_pos, count(*) AS n
             FROM (SELECT *, (row_number() OVER (
                                  PARTITION BY origin, destination, was, state, island
                                  ORDER BY lane_pos) - 1) / {MAX_RUN} AS chunk
                   FROM islands) AS c
             GROUP BY origin, destination, was, state, island, chunk, status, reason, at
         )"
    )
}

/// The insert of the events of CTE `chunks`: each chunk's number is the last one so far plus
/// the messages of the chunks before it and its own.
const LOGGED: &str = "logged AS (
             INSERT INTO message_event (seq, n, origin, destination, first_pos, status, reason,
                                        at)
             SELECT (SELECT coalesce(max(seq), 0) FROM message_event)
                        + (sum(n) OVER (ORDER BY origin, destination,
                                                 was COLLATE \"C\" NULLS FIRST,
                                                 state COLLATE \"C\", first_pos
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::bigint,
                    n, origin, destination, first_pos, status, reason, at
             FROM chunks
         )";
