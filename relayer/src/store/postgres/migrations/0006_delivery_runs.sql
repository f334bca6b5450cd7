-- One delivery row per leased batch, and one status event per run of a lane's messages (issue
-- 15: store operations and `bench pipeline --postgres` within 2x of SQLite). SQLite's schemas
-- 11 and 14 (relayer/src/store/sqlite/migrations/0011_batch_history.sql, 0014_delivery_runs.sql)
-- in PostgreSQL's types; see `postgres/runs.rs` and `postgres/bookkeeping.rs`.
--
-- Until schema 5 every delivery transition of a batch of 128 rewrote 128 `delivery` rows (none
-- of them HOT: `delivery_work` holds the state) and wrote 128 `message_event` rows with their
-- index entries: ~5 row versions and 4 event rows per message from acceptance to confirmation,
-- most of the server's CPU in `bench pipeline --postgres`. From here on:
--
-- - each delivery row has `lane_pos`, its place among its lane's messages (0, 1, 2, ... in log
--   order; fixed once inserted), so the messages one statement moves form runs of consecutive
--   positions of one lane even where other lanes' messages sit between them in the log;
-- - `message_event` holds one row per run a statement moved (at most 1,024 messages a row):
--   the run's lane, first position and length, the status, reason and time. The row's `seq`
--   is the number of the run's LAST event; its messages' events are numbered
--   `seq - n + 1 ...` in position order, so every message keeps its own event numbers, one
--   sequence that only grows;
-- - a leased batch is ONE `delivery_run` row (lane, state, lease, submission, confirmation,
--   the positions it spans, how many messages it holds and the SHA-256 of their sorted ids).
--   Leasing moves each message's row to the state 'run', naming its run; a submission or a
--   confirmation naming exactly a run's messages (recognised by the digest, without reading
--   them) rewrites the run row only. A message in a run is in its run's state, with its run's
--   lease, submission and confirmation (`delivery_now`); its attempts, next attempt, last
--   error and dead-letter reason stay its own. A message that leaves its run (a failure for
--   it, an expired lease, part of a run submitted or confirmed, a take-over, a replacement)
--   first gets its run's columns copied into its own row, and from then on moves alone, as
--   before. Runs, like delivery rows, are never deleted.
--
-- Every existing row keeps its state and columns, every event its number, status, reason and
-- time (an old event becomes a run of one; an event without its delivery row would have no
-- position: NOT NULL fails the migration); the counts are untouched.

ALTER TABLE delivery ADD COLUMN lane_pos BIGINT;
ALTER TABLE delivery ADD COLUMN run_id BIGINT;

UPDATE delivery SET lane_pos = p.pos
FROM (
    SELECT origin AS o, leaf_index AS l,
           row_number() OVER (PARTITION BY origin, destination ORDER BY leaf_index) - 1 AS pos
    FROM delivery
) AS p
WHERE delivery.origin = p.o AND delivery.leaf_index = p.l;

ALTER TABLE delivery ALTER COLUMN lane_pos SET NOT NULL;
ALTER TABLE delivery ADD CONSTRAINT delivery_lane_pos_check CHECK (lane_pos >= 0);
-- Partial on a condition every row meets, so that only a statement that says `lane_pos >= 0`
-- reads through it: without statistics (a new or young table) the planner otherwise took it
-- for the statements that pick a lane's rows by state (its `origin, destination` prefix is
-- the same as `delivery_work`'s and it is smaller), reading every row of the lane to expire
-- its leases (~20 ms per lease at 30,000 rows in the store bench).
CREATE UNIQUE INDEX delivery_by_lane_pos ON delivery (origin, destination, lane_pos)
    WHERE lane_pos >= 0;

ALTER TABLE delivery DROP CONSTRAINT delivery_state_check;
ALTER TABLE delivery ADD CONSTRAINT delivery_state_check
    CHECK (state IN ('pending', 'leased', 'submitted', 'confirmed', 'dead_letter', 'run'));
ALTER TABLE delivery ADD CONSTRAINT delivery_run_named
    CHECK ((state = 'run') = (run_id IS NOT NULL));

DROP TRIGGER delivery_identity_fixed ON delivery;
CREATE TRIGGER delivery_identity_fixed
    BEFORE UPDATE OF message_id, origin, destination, leaf_index, lane_pos, created_at
    ON delivery
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('a delivery keeps its message, lane and position');

CREATE TABLE delivery_run (
    id                BIGINT PRIMARY KEY,   -- the lease token the run was leased under
    origin            BIGINT NOT NULL,
    destination       BIGINT NOT NULL,
    state             TEXT   NOT NULL CHECK (state IN ('leased', 'submitted', 'confirmed')),
    size              BIGINT NOT NULL CHECK (size >= 1),                  -- messages leased
    members           BIGINT NOT NULL CHECK (members BETWEEN 0 AND size), -- still in it
    first_pos         BIGINT NOT NULL CHECK (first_pos >= 0),
    last_pos          BIGINT NOT NULL,
    digest            BYTEA  NOT NULL CHECK (octet_length(digest) = 32),  -- SHA-256, sorted ids
    lease_owner       TEXT   NOT NULL,      -- leased: holder; submitted: sender
    lease_until       BIGINT,
    lease_token       BIGINT,
    submission_id     BYTEA  CHECK (submission_id IS NULL OR octet_length(submission_id) = 32),
    submission_handle TEXT
        CHECK (submission_handle IS NULL OR length(submission_handle) <= 16384),
    submitted_at      BIGINT,
    confirmed_block   BIGINT,
    updated_at        BIGINT NOT NULL,
    CHECK (last_pos - first_pos + 1 >= size),
    CHECK (state <> 'leased' OR (lease_until IS NOT NULL AND lease_token IS NOT NULL)),
    CHECK (state <> 'submitted' OR (submission_id IS NOT NULL AND submitted_at IS NOT NULL)),
    CHECK (state <> 'confirmed' OR confirmed_block IS NOT NULL)
) WITH (fillfactor = 70);

-- The runs still holding messages, per lane and state (expiry, take-over, the submitted list,
-- the oldest unfinished message); a batch's confirmation by its messages' digest; a
-- submission's runs (renewals, forgetting its signed bytes).
CREATE INDEX delivery_run_live ON delivery_run (origin, destination, state, first_pos)
    WHERE members > 0;
CREATE INDEX delivery_run_by_digest ON delivery_run (digest) WHERE members > 0;
CREATE INDEX delivery_run_by_submission ON delivery_run (submission_id)
    WHERE state = 'submitted';

CREATE TRIGGER delivery_run_identity_fixed
    BEFORE UPDATE OF id, origin, destination, size, first_pos, last_pos, digest ON delivery_run
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('a delivery run keeps its lane, positions and messages');
CREATE TRIGGER delivery_run_no_delete BEFORE DELETE ON delivery_run
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('delivery runs are never deleted');
CREATE TRIGGER delivery_run_no_truncate BEFORE TRUNCATE ON delivery_run
    FOR EACH STATEMENT EXECUTE FUNCTION causeway_refuse('delivery runs are never deleted');

CREATE TABLE message_event_v6 (
    seq         BIGINT PRIMARY KEY,
    n           BIGINT NOT NULL CHECK (n BETWEEN 1 AND 1024),
    origin      BIGINT NOT NULL,
    destination BIGINT NOT NULL,
    first_pos   BIGINT NOT NULL CHECK (first_pos >= 0),
    status      TEXT   NOT NULL
        CHECK (status IN ('logged', 'leased', 'submitted', 'confirmed', 'failed', 'retried',
                          'dead_lettered')),
    reason      TEXT,
    at          BIGINT NOT NULL,
    CHECK (seq >= n)
);

INSERT INTO message_event_v6 (seq, n, origin, destination, first_pos, status, reason, at)
SELECT e.seq, 1, e.origin, e.destination, d.lane_pos, e.status, e.reason, e.at
FROM message_event e LEFT JOIN delivery d ON d.origin = e.origin AND d.leaf_index = e.leaf_index
ORDER BY e.seq;

DROP TABLE message_event;
ALTER TABLE message_event_v6 RENAME TO message_event;
ALTER INDEX message_event_v6_pkey RENAME TO message_event_pkey;

-- A message's events: the runs of its lane that start at most 1,023 positions before it.
CREATE INDEX message_event_by_lane ON message_event (origin, destination, first_pos);

CREATE TRIGGER message_event_immutable BEFORE UPDATE ON message_event
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('message events are append-only');
CREATE TRIGGER message_event_no_delete BEFORE DELETE ON message_event
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('message events are append-only');
CREATE TRIGGER message_event_no_truncate BEFORE TRUNCATE ON message_event
    FOR EACH STATEMENT EXECUTE FUNCTION causeway_refuse('message events are append-only');

-- What each message's delivery is now, in the columns `delivery` has always had: a message in a
-- run reads its run's state, lease, submission and confirmation. The readers of one message
-- (the API's readout and search, `message`, the checks of a transition) read this.
CREATE VIEW delivery_now AS
SELECT d.message_id, d.origin, d.destination, d.leaf_index, d.lane_pos,
       CASE WHEN d.state = 'run' THEN r.state ELSE d.state END AS state,
       d.attempts, d.next_attempt_at,
       CASE WHEN d.state = 'run' THEN r.lease_owner ELSE d.lease_owner END AS lease_owner,
       CASE WHEN d.state = 'run' THEN r.lease_until ELSE d.lease_until END AS lease_until,
       CASE WHEN d.state = 'run' THEN r.lease_token ELSE d.lease_token END AS lease_token,
       CASE WHEN d.state = 'run' THEN r.submission_id ELSE d.submission_id END AS submission_id,
       CASE WHEN d.state = 'run' THEN r.submission_handle ELSE d.submission_handle END
           AS submission_handle,
       CASE WHEN d.state = 'run' THEN r.submitted_at ELSE d.submitted_at END AS submitted_at,
       CASE WHEN d.state = 'run' THEN r.confirmed_block ELSE d.confirmed_block END
           AS confirmed_block,
       d.dead_reason, d.last_error, d.created_at,
       CASE WHEN d.state = 'run' THEN r.updated_at ELSE d.updated_at END AS updated_at,
       d.run_id
FROM delivery d LEFT JOIN delivery_run r ON r.id = d.run_id;
