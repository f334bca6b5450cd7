-- Status history and lane counts per batch, not per message (issue 11's pipeline figure).
--
-- Until schema 10 every state change of every delivery row ran two triggers: one wrote a
-- `message_event` row (and its index entry), the other moved the lane's count by one (two
-- statements). A batch of 128 messages leased, submitted and confirmed ran them 384 times, and
-- accepting 128 messages 256 more: a third of the delivery transitions' CPU in `bench pipeline`.
-- From here on the store's code writes both, once per statement:
--
-- - each delivery row gets `lane_pos`, its place among its lane's messages (0, 1, 2, ... in log
--   order; fixed once inserted), so the messages one statement moves form runs of consecutive
--   positions of one lane even where other lanes' messages sit between them in the log;
-- - `message_event` holds one row per run a statement moved (at most 1,024 messages a row): the
--   run's lane, first position and length, the status, reason and time. The row's `seq` is the
--   number of the run's LAST event; its messages' events are numbered `seq - n + 1 ...` in
--   position order, so every message still has its own event numbers, one sequence that only
--   grows, and a reader resuming after any number loses nothing (the event stream's contract);
-- - `lane_count` is moved by the statement's row count per state, not per row.
--
-- The migration keeps every event with its number: each old row becomes a run of one (an event
-- without its delivery row would have no position: NOT NULL fails the migration).

DROP TRIGGER delivery_count_insert;
DROP TRIGGER delivery_count_update;
DROP TRIGGER delivery_event_insert;
DROP TRIGGER delivery_event_update;

ALTER TABLE delivery ADD COLUMN lane_pos INTEGER NOT NULL DEFAULT -1;

UPDATE delivery SET lane_pos = p.pos
FROM (
    SELECT origin AS o, leaf_index AS l,
           row_number() OVER (PARTITION BY origin, destination ORDER BY leaf_index) - 1 AS pos
    FROM delivery
) AS p
WHERE delivery.origin = p.o AND delivery.leaf_index = p.l;

CREATE UNIQUE INDEX delivery_by_lane_pos ON delivery (origin, destination, lane_pos);

DROP TRIGGER delivery_identity_fixed;
CREATE TRIGGER delivery_identity_fixed
BEFORE UPDATE OF message_id, origin, destination, leaf_index, lane_pos, created_at ON delivery
BEGIN SELECT RAISE(ABORT, 'a delivery keeps its message, lane and position'); END;
CREATE TRIGGER delivery_lane_pos_set BEFORE INSERT ON delivery
WHEN NEW.lane_pos < 0
BEGIN SELECT RAISE(ABORT, 'a delivery row needs its position in the lane'); END;

CREATE TABLE message_event_v11 (
    seq         INTEGER PRIMARY KEY,
    n           INTEGER NOT NULL CHECK (n BETWEEN 1 AND 1024),
    origin      INTEGER NOT NULL,
    destination INTEGER NOT NULL,
    first_pos   INTEGER NOT NULL CHECK (first_pos >= 0),
    status      TEXT    NOT NULL
        CHECK (status IN ('logged', 'leased', 'submitted', 'confirmed', 'failed', 'retried',
                          'dead_lettered')),
    reason      TEXT,
    at          INTEGER NOT NULL,
    CHECK (seq >= n)
) STRICT;

INSERT INTO message_event_v11 (seq, n, origin, destination, first_pos, status, reason, at)
SELECT e.seq, 1, e.origin, e.destination, d.lane_pos, e.status, e.reason, e.at
FROM message_event e LEFT JOIN delivery d ON d.origin = e.origin AND d.leaf_index = e.leaf_index
ORDER BY e.seq;

DROP TABLE message_event;
ALTER TABLE message_event_v11 RENAME TO message_event;

-- A message's events: the runs of its lane that start at most 1,023 positions before it.
CREATE INDEX message_event_by_lane ON message_event (origin, destination, first_pos);

CREATE TRIGGER message_event_immutable BEFORE UPDATE ON message_event
BEGIN SELECT RAISE(ABORT, 'message events are append-only'); END;
CREATE TRIGGER message_event_no_delete BEFORE DELETE ON message_event
BEGIN SELECT RAISE(ABORT, 'message events are append-only'); END;
