-- Accepting without a delivery row, leasing runs of lane positions (issue 11's pipeline figure).
--
-- Until schema 15 accepting a message wrote its `delivery` row (with four index entries) and
-- leasing rewrote it (the state 'run', its `delivery_work` entry moved). From here on:
--
-- - each message keeps its place in its lane (`lane_pos`) and in its origin's log
--   (`leaf_index`) on its own row, found by lane through `message_by_lane`; accepting writes
--   the message and its leaf, and no `delivery` row;
-- - a message with a `delivery` row is in that row's state, as always;
-- - a message without one is in the run whose span (`first_pos` .. `last_pos`, no gaps) holds
--   its position, with the run's state, lease, submission and confirmation (attempts 0, next
--   attempt at its acceptance, no error), or else pending (never leased);
-- - leasing takes the lane's next pending positions: rows in the state 'pending' alone (as
--   before schema 14), and positions without a row as one run per stretch of consecutive
--   positions, writing the run row only; `lane_frontier` keeps each lane's first position that
--   is neither a row nor in a run (every one below it is), where the search starts;
-- - a message leaves its run exactly as in schema 14, except that its row is inserted then
--   (the run's columns copied, its state and meaning unchanged; the run counts one fewer);
--   a pending message that some other transition names first gets its row the same way.
--
-- Existing data: every message gets its positions from its delivery row; the messages in a
-- run (rows in the state 'run') get their run's columns copied into their rows and the runs
-- count no members (every message keeps its row, its state and its history); each lane's
-- frontier is its end (every accepted message has a row).

-- The positions are checked by CHECK constraints, not by a trigger: a trigger that may abort
-- makes every insert into the table keep a statement journal of each page it changes (most of
-- what accepting a message cost once the delivery row was gone). `ALTER TABLE` cannot add a
-- NOT NULL column without a default; the accepting statement always names both.
DROP TRIGGER message_immutable;
ALTER TABLE message ADD COLUMN lane_pos INTEGER CHECK (lane_pos >= 0);
ALTER TABLE message ADD COLUMN leaf_index INTEGER CHECK (leaf_index >= 0);
UPDATE message SET (lane_pos, leaf_index) =
    (SELECT d.lane_pos, d.leaf_index FROM delivery d WHERE d.message_id = message.id);
CREATE TRIGGER message_immutable BEFORE UPDATE ON message
BEGIN SELECT RAISE(ABORT, 'message rows are immutable'); END;
CREATE UNIQUE INDEX message_by_lane ON message (origin, destination, lane_pos);

UPDATE delivery
SET (state, lease_owner, lease_until, lease_token, submission_id, submission_handle,
     submitted_at, confirmed_block, updated_at, run_id) =
    (SELECT r.state, r.lease_owner, r.lease_until, r.lease_token, r.submission_id,
            r.submission_handle, r.submitted_at, r.confirmed_block, r.updated_at, NULL
     FROM delivery_run r WHERE r.id = delivery.run_id)
WHERE state = 'run';
UPDATE delivery_run SET members = 0 WHERE members > 0;

-- The runs still holding messages by lane and first position: the run holding a position.
CREATE INDEX delivery_run_span ON delivery_run (origin, destination, first_pos)
    WHERE members > 0;

CREATE TABLE lane_frontier (
    origin      INTEGER NOT NULL,
    destination INTEGER NOT NULL,
    next_pos    INTEGER NOT NULL CHECK (next_pos >= 0),
    PRIMARY KEY (origin, destination)
) STRICT, WITHOUT ROWID;
INSERT INTO lane_frontier (origin, destination, next_pos)
SELECT origin, destination, max(lane_pos) + 1 FROM delivery GROUP BY origin, destination;

-- What each message's delivery is now, in the columns `delivery` has always had (see above).
DROP VIEW delivery_now;
CREATE VIEW delivery_now AS
SELECT m.id AS message_id, m.origin, m.destination, m.leaf_index, m.lane_pos,
       CASE WHEN d.message_id IS NOT NULL THEN d.state
            WHEN r.id IS NOT NULL THEN r.state ELSE 'pending' END AS state,
       coalesce(d.attempts, 0) AS attempts,
       coalesce(d.next_attempt_at, m.accepted_at) AS next_attempt_at,
       CASE WHEN d.message_id IS NOT NULL THEN d.lease_owner ELSE r.lease_owner END
           AS lease_owner,
       CASE WHEN d.message_id IS NOT NULL THEN d.lease_until ELSE r.lease_until END
           AS lease_until,
       CASE WHEN d.message_id IS NOT NULL THEN d.lease_token ELSE r.lease_token END
           AS lease_token,
       CASE WHEN d.message_id IS NOT NULL THEN d.submission_id ELSE r.submission_id END
           AS submission_id,
       CASE WHEN d.message_id IS NOT NULL THEN d.submission_handle ELSE r.submission_handle END
           AS submission_handle,
       CASE WHEN d.message_id IS NOT NULL THEN d.submitted_at ELSE r.submitted_at END
           AS submitted_at,
       CASE WHEN d.message_id IS NOT NULL THEN d.confirmed_block ELSE r.confirmed_block END
           AS confirmed_block,
       d.dead_reason, d.last_error,
       coalesce(d.created_at, m.accepted_at) AS created_at,
       CASE WHEN d.message_id IS NOT NULL THEN d.updated_at
            ELSE coalesce(r.updated_at, m.accepted_at) END AS updated_at,
       CASE WHEN d.message_id IS NULL THEN r.id END AS run_id
FROM message m
LEFT JOIN delivery d ON d.message_id = m.id
LEFT JOIN delivery_run r
  ON d.message_id IS NULL
 AND r.id = (SELECT s.id FROM delivery_run s INDEXED BY delivery_run_span
             WHERE s.origin = m.origin AND s.destination = m.destination
               AND s.first_pos <= m.lane_pos AND s.members > 0
             ORDER BY s.first_pos DESC LIMIT 1)
 AND r.last_pos >= m.lane_pos;
