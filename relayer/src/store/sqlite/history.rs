//! The status history and the lane counts, written once per statement (schema 11).
//!
//! Every delivery transition moves a set of rows of one lane from one state to another; the
//! statement returns each moved row's position in its lane (`lane_pos`). [`Moves`] turns them
//! into one `message_event` row per run of consecutive positions (a batch is one run) and one
//! `lane_count` update per lane and state, where schema 10's triggers wrote an event and two
//! count updates per row.

use std::collections::BTreeMap;

use rusqlite::{Transaction, params};

use super::sql;
use crate::store::Result;

/// The most messages one event row covers (the schema's `CHECK (n BETWEEN 1 AND 1024)`; a
/// message's events are looked up among the runs starting at most this far before it).
pub(super) const MAX_RUN: i64 = 1024;

/// Rows one statement moved, per lane and state change, with their positions in the lane.
#[derive(Default)]
pub(super) struct Moves {
    /// (origin, destination, from state, to state) -> positions. `from` is `None` for rows
    /// inserted (accepted messages).
    moves: BTreeMap<(i64, i64, Option<&'static str>, &'static str), Vec<i64>>,
}

impl Moves {
    /// Records that the row at `pos` of lane (`origin`, `destination`) moved `from` -> `to`
    /// (nothing, for a row that kept its state).
    pub(super) fn add(
        &mut self,
        origin: i64,
        destination: i64,
        from: Option<&'static str>,
        to: &'static str,
        pos: i64,
    ) {
        if from == Some(to) {
            return;
        }
        self.moves
            .entry((origin, destination, from, to))
            .or_default()
            .push(pos);
    }

    /// Writes the counts and the status events of the recorded moves, all at `at`; `reason`
    /// is the events' reason for a move to `failed` or `dead_lettered`.
    pub(super) fn write(self, tx: &Transaction<'_>, at: i64, reason: Option<&str>) -> Result<()> {
        for ((origin, destination, from, to), mut positions) in self.moves {
            let n = i64::try_from(positions.len()).unwrap_or(i64::MAX);
            if let Some(from) = from {
                count(tx, origin, destination, from, -n)?;
            }
            count(tx, origin, destination, to, n)?;
            let status = status(from, to);
            let reason = match status {
                "failed" | "dead_lettered" => reason,
                _ => None,
            };
            positions.sort_unstable();
            for (first, len) in runs(&positions) {
                event(tx, origin, destination, first, len, status, reason, at)?;
            }
        }
        Ok(())
    }
}

/// The status event of a move `from` -> `to` (as schema 10's `delivery_event_update` named
/// it): back to pending from a lease or a submission is a failed attempt, from a dead letter
/// an operator's retry.
fn status(from: Option<&str>, to: &'static str) -> &'static str {
    match (from, to) {
        (None, _) => "logged",
        (_, "dead_letter") => "dead_lettered",
        (Some("dead_letter"), "pending") => "retried",
        (_, "pending") => "failed",
        (_, other) => other,
    }
}

/// Consecutive runs of sorted, distinct `positions`, each at most [`MAX_RUN`] long, as
/// (first position, length).
fn runs(positions: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &p in positions {
        match out.last_mut() {
            Some((first, len)) if *first + *len == p && *len < MAX_RUN => *len += 1,
            _ => out.push((p, 1)),
        }
    }
    out
}

/// Moves a lane's count of `state` by `delta`.
fn count(
    tx: &Transaction<'_>,
    origin: i64,
    destination: i64,
    state: &str,
    delta: i64,
) -> Result<()> {
    let op = "count lane states";
    if delta < 0 {
        let changed = tx
            .prepare_cached(
                "UPDATE lane_count SET n = n + ?4
                 WHERE origin = ?1 AND destination = ?2 AND state = ?3",
            )
            .and_then(|mut s| s.execute(params![origin, destination, state, delta]))
            .map_err(sql(op))?;
        if changed != 1 {
            return Err(super::codec::corrupt(
                "lane count",
                format!("no count of {state} messages to move for lane {origin}->{destination}"),
            ));
        }
    } else {
        tx.prepare_cached(
            "INSERT INTO lane_count (origin, destination, state, n) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (origin, destination, state) DO UPDATE SET n = n + excluded.n",
        )
        .and_then(|mut s| s.execute(params![origin, destination, state, delta]))
        .map_err(sql(op))?;
    }
    Ok(())
}

/// Appends the events of a run: `len` messages of the lane from position `first`, numbered
/// after the last event so far.
#[allow(clippy::too_many_arguments)]
fn event(
    tx: &Transaction<'_>,
    origin: i64,
    destination: i64,
    first: i64,
    len: i64,
    status: &str,
    reason: Option<&str>,
    at: i64,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO message_event (seq, n, origin, destination, first_pos, status, reason, at)
         VALUES ((SELECT coalesce(max(seq), 0) FROM message_event) + ?1,
                 ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| s.execute(params![len, origin, destination, first, status, reason, at]))
    .map_err(sql("write status events"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_at_gaps_and_at_the_longest_run() {
        assert_eq!(runs(&[]), vec![]);
        assert_eq!(runs(&[3, 4, 5, 7, 9, 10]), vec![(3, 3), (7, 1), (9, 2)]);
        let long: Vec<i64> = (0..2_500).collect();
        assert_eq!(runs(&long), vec![(0, 1024), (1024, 1024), (2048, 452)]);
    }

    #[test]
    fn a_move_is_named_as_schema_10_named_it() {
        assert_eq!(status(None, "pending"), "logged");
        assert_eq!(status(Some("pending"), "leased"), "leased");
        assert_eq!(status(Some("leased"), "submitted"), "submitted");
        assert_eq!(status(Some("dead_letter"), "confirmed"), "confirmed");
        assert_eq!(status(Some("leased"), "pending"), "failed");
        assert_eq!(status(Some("submitted"), "pending"), "failed");
        assert_eq!(status(Some("leased"), "dead_letter"), "dead_lettered");
        assert_eq!(status(Some("dead_letter"), "pending"), "retried");
    }
}
