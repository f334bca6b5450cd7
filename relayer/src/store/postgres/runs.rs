//! Delivery runs (schema 6, as SQLite's schema 14): a leased batch is one `delivery_run` row.
//!
//! Leasing moves each message's `delivery` row to the state `run` and writes one run row (its
//! lane, state, lease, and later its submission and confirmation). A submission or a
//! confirmation that names exactly a run's messages (recognised by their digest, without
//! reading them) rewrites the run row only ([`SUBMIT_RUN`], [`CONFIRM_RUN`]), and its status
//! events are one row for the run (see `bookkeeping`). Any other change to a message in a run
//! first takes it out ([`TAKE_OUT`], [`TAKE_OUT_EXPIRED`], [`TAKE_OUT_UNFOLLOWED`]; a
//! confirmation takes it out in the statement that confirms it): the run's
//! columns are copied into the message's own row, so its state and meaning do not change, and
//! from then on it moves alone, as before schema 6.

use std::sync::LazyLock;

use causeway_proofs::MessageId;
use causeway_proofs::hash::HashAlgorithm;

use super::{bookkeeping, conn};

/// The digest of a run's messages: SHA-256 of their distinct ids (32 bytes each) in ascending
/// order, as the lease statement computes it (`sha256(string_agg(id ORDER BY id))`). Only ever
/// compared with other runs' digests.
pub(super) fn digest<'a>(ids: impl IntoIterator<Item = &'a MessageId>) -> [u8; 32] {
    let mut sorted: Vec<[u8; 32]> = ids.into_iter().map(|id| id.0.0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    HashAlgorithm::Sha256.digest(sorted.as_flattened()).0
}

/// The messages of the runs of CTE `runs` (columns `id`, `origin`, `destination`,
/// `first_pos`, `last_pos`, `size`, `updated_at` and `was`, the state the run left) that have
/// gaps in their span, each moving to `state`, in the columns `bookkeeping` counts and logs:
/// their positions read through the lane-position index (which only a statement saying
/// `lane_pos >= 0` reads, see the migration). A run without a gap is counted and logged from
/// its own row ([`bookkeeping::run_ctes`]). Only for runs that hold every message they were
/// leased with.
fn gapped_positions(runs: &str, state: &str) -> String {
    format!(
        "SELECT r.origin, r.destination, d.lane_pos, '{state}'::text AS state, r.was,
                NULL::text AS dead_reason, NULL::text AS last_error, r.updated_at
         FROM {runs} AS r JOIN delivery AS d
           ON d.origin = r.origin AND d.destination = r.destination
          AND d.lane_pos BETWEEN r.first_pos AND r.last_pos AND d.lane_pos >= 0
         WHERE r.last_pos - r.first_pos + 1 <> r.size AND d.state = 'run' AND d.run_id = r.id"
    )
}

/// Records the submission of run `$6` when its messages are exactly the `$8` (distinct) ids
/// whose digest is `$1`, all still in it and leased by `$5` under that lease token: submission
/// `$2` with handle `$3` at `$4` (see [`conn::now_param`]), its signed bytes `$7` (if any)
/// kept. Returns how many runs it moved (0: nothing written).
pub(super) static SUBMIT_RUN: LazyLock<String> = LazyLock::new(|| {
    let now = conn::now_param(4);
    let gapped = gapped_positions("run", "submitted");
    let bookkeeping = bookkeeping::run_ctes("run", "gapped", "submitted");
    format!(
        "WITH run AS (
             UPDATE delivery_run
             SET state = 'submitted', submission_id = $2, submission_handle = $3,
                 submitted_at = {now}, lease_token = NULL, updated_at = {now}
             WHERE id = $6 AND state = 'leased' AND lease_owner = $5 AND lease_token = $6
               AND members = size AND size = $8 AND digest = $1
             RETURNING id, origin, destination, first_pos, last_pos, size, updated_at,
                       'leased'::text AS was
         ),
         gapped AS ({gapped}),
         kept AS (
             INSERT INTO signed_submission (submission_id, signed, recorded_at)
             SELECT $2, $7::bytea, {now} FROM run WHERE $7::bytea IS NOT NULL
             ON CONFLICT (submission_id) DO UPDATE SET signed = excluded.signed
         ),
         {bookkeeping}
         SELECT count(*) FROM run"
    )
});

/// Confirms the run whose messages are exactly the `$4` (distinct) ids whose digest is `$1`,
/// all still in it and not confirmed, at block `$2`, time `$3`; its lane keeps this
/// confirmation as its latest, and its submission's signed bytes are forgotten once no other
/// message is submitted in it. Returns how many runs it moved (0: nothing written).
pub(super) static CONFIRM_RUN: LazyLock<String> = LazyLock::new(|| {
    let gapped = gapped_positions("run", "confirmed");
    let bookkeeping = bookkeeping::run_ctes("run", "gapped", "confirmed");
    format!(
        "WITH found AS MATERIALIZED (
             SELECT id, state, submission_id FROM delivery_run
             WHERE digest = $1 AND members > 0 AND members = size AND size = $4::bigint
               AND state <> 'confirmed'
         ),
         run AS (
             UPDATE delivery_run AS r
             SET state = 'confirmed', confirmed_block = $2, lease_until = NULL,
                 lease_token = NULL, updated_at = $3
             FROM found AS f WHERE r.id = f.id
             RETURNING r.id, r.origin, r.destination, r.first_pos, r.last_pos, r.size,
                       r.updated_at, f.state AS was
         ),
         gapped AS ({gapped}),
         latest AS (
             INSERT INTO lane_last_delivery AS l (origin, destination, confirmed_at, block)
             SELECT origin, destination, $3::bigint, $2::bigint FROM run
             ON CONFLICT (origin, destination) DO UPDATE
             SET confirmed_at = excluded.confirmed_at, block = excluded.block
             WHERE (excluded.confirmed_at, excluded.block) >= (l.confirmed_at, l.block)
         ),
         pruned AS (
             DELETE FROM signed_submission AS s USING found AS f
             WHERE s.submission_id = f.submission_id
               AND NOT EXISTS (SELECT 1 FROM delivery AS d
                               WHERE d.submission_id = s.submission_id
                                 AND d.state = 'submitted')
               AND NOT EXISTS (SELECT 1 FROM delivery_run AS o
                               WHERE o.submission_id = s.submission_id
                                 AND o.state = 'submitted' AND o.members > 0
                                 AND o.id <> f.id)
         ),
         {bookkeeping}
         SELECT count(*) FROM run"
    )
});

/// The assignments that copy run `r`'s columns into a message's row `d` (taking it out).
const COPY_OUT: &str = "state = r.state, lease_owner = r.lease_owner, lease_until = r.lease_until,
     lease_token = r.lease_token, submission_id = r.submission_id,
     submission_handle = r.submission_handle, submitted_at = r.submitted_at,
     confirmed_block = r.confirmed_block, updated_at = r.updated_at, run_id = NULL";

/// Takes the messages among ids `$1` that are in a run out of it (each keeps its state).
pub(super) static TAKE_OUT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH out AS (
             UPDATE delivery AS d SET {COPY_OUT}
             FROM delivery_run AS r
             WHERE d.message_id = ANY($1) AND d.state = 'run' AND r.id = d.run_id
             RETURNING r.id
         )
         UPDATE delivery_run AS r SET members = r.members - o.k
         FROM (SELECT id, count(*) AS k FROM out GROUP BY id) AS o
         WHERE r.id = o.id"
    )
});

/// Takes every message of the runs `which` selects (a condition on `delivery_run`) out of
/// them.
fn take_out_runs(which: &str) -> String {
    format!(
        "WITH runs AS (
             UPDATE delivery_run SET members = 0
             WHERE members > 0 AND {which}
             RETURNING *
         )
         UPDATE delivery AS d SET {COPY_OUT}
         FROM runs AS r
         WHERE d.origin = r.origin AND d.destination = r.destination
           AND d.lane_pos BETWEEN r.first_pos AND r.last_pos AND d.lane_pos >= 0
           AND d.state = 'run' AND d.run_id = r.id"
    )
}

/// Takes the messages of a lane's (`$1`, `$2`) leased runs whose lease ended at or before `$3`
/// (see [`conn::now_param`]) out of them, so that each expires alone.
pub(super) static TAKE_OUT_EXPIRED: LazyLock<String> = LazyLock::new(|| {
    let now = conn::now_param(3);
    take_out_runs(&format!(
        "origin = $1 AND destination = $2 AND state = 'leased' AND lease_until <= {now}"
    ))
});

/// Takes the messages of a lane's (`$3`, `$4`) submitted runs that a take-over by `$1` at `$2`
/// may take (another's whose follow lease ended, or, with `$5`, its own) out of them, as
/// `delivery::TAKE_OVER` selects messages.
pub(super) static TAKE_OUT_UNFOLLOWED: LazyLock<String> = LazyLock::new(|| {
    take_out_runs(
        "origin = $3 AND destination = $4 AND state = 'submitted'
         AND (CASE WHEN lease_owner = $1 THEN $5::boolean
                   ELSE lease_until IS NULL OR lease_until <= $2 END)",
    )
});

/// Extends until `$1` (at `$2`) the follow lease of the submitted messages `$3` follows in
/// submission `$4`, alone or in runs; returns how many messages.
pub(super) const RENEW: &str = "WITH alone AS (
         UPDATE delivery SET lease_until = $1, updated_at = $2
         WHERE state = 'submitted' AND lease_owner = $3 AND submission_id = $4
         RETURNING 1
     ),
     in_runs AS (
         UPDATE delivery_run SET lease_until = $1, updated_at = $2
         WHERE submission_id = $4 AND state = 'submitted' AND lease_owner = $3 AND members > 0
         RETURNING members
     )
     SELECT ((SELECT count(*) FROM alone)
             + (SELECT coalesce(sum(members), 0) FROM in_runs))::bigint";

/// The oldest acceptance time among the messages of a lane's (`$1`, `$2`) leased and
/// submitted runs.
pub(super) const OLDEST_IN_RUNS: &str = "SELECT min(d.created_at)
     FROM delivery_run r
     JOIN delivery d
       ON d.origin = r.origin AND d.destination = r.destination
      AND d.lane_pos BETWEEN r.first_pos AND r.last_pos AND d.lane_pos >= 0
     WHERE r.origin = $1 AND r.destination = $2 AND r.state IN ('leased', 'submitted')
       AND r.members > 0 AND d.state = 'run' AND d.run_id = r.id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_digest_is_its_set_of_ids() {
        let id = |b: u8| MessageId(causeway_proofs::Hash32([b; 32]));
        assert_eq!(
            digest(&[id(1), id(2), id(3)]),
            digest(&[id(3), id(1), id(2), id(1)])
        );
        assert_ne!(digest(&[id(1), id(2)]), digest(&[id(1), id(2), id(3)]));
        assert_ne!(digest(&[id(1)]), digest(&[id(2)]));
    }
}
