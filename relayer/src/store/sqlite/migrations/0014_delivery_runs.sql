-- One delivery row per leased batch (issue 11's pipeline figure).
--
-- Until schema 12 every delivery transition rewrote one `delivery` row per message: leasing,
-- recording the submission and confirming a batch of 128 rewrote 384 rows and moved 384
-- `delivery_work` entries (the state is in the key), through random seeks of the message-id
-- index. From here on a batch, once leased, is ONE row of `delivery_run`, and the submission
-- and the confirmation rewrite that row only:
--
-- - leasing moves each pending message's row to the state 'run', naming its run (`run_id`, the
--   lease token it was leased under), and writes the run: its lane, state ('leased',
--   'submitted', 'confirmed'), lease owner, end and token, submission, confirmation block, the
--   positions it spans, how many messages it holds and the Keccak-256 of their sorted ids (so a
--   submission or a confirmation naming exactly its messages is recognised without reading
--   them, and anything else takes the per-message path);
-- - a message whose row says 'run' is in its run's state, with its run's lease, submission and
--   confirmation; its attempts, next attempt, last error and dead-letter reason stay its own
--   (a run never changes them);
-- - a message that leaves its run (a failure reported for it, an expired lease, a submission or
--   confirmation of part of a run, a take-over) first gets its run's columns copied into its
--   own row (its state, fields and meaning unchanged; the run counts one message fewer), and
--   from then on moves alone, exactly as before. Rows in a run are never rewritten otherwise;
--   runs, like delivery rows, are never deleted.
--
-- The lane counts and the status history stay per statement (schema 11), in the states the API
-- shows. Every existing row keeps its state and columns: the table is rebuilt only to admit
-- the state 'run' and its `run_id` (SQLite's documented procedure, as in 0008; the copy fires
-- no trigger and writes no event).

CREATE TABLE delivery_run (
    id                INTEGER PRIMARY KEY,  -- the lease token the run was leased under
    origin            INTEGER NOT NULL,
    destination       INTEGER NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('leased', 'submitted', 'confirmed')),
    size              INTEGER NOT NULL CHECK (size >= 1),           -- messages leased in it
    members           INTEGER NOT NULL CHECK (members BETWEEN 0 AND size), -- still in it
    first_pos         INTEGER NOT NULL CHECK (first_pos >= 0),
    last_pos          INTEGER NOT NULL,
    digest            BLOB    NOT NULL CHECK (length(digest) = 32), -- Keccak-256, sorted ids
    lease_owner       TEXT    NOT NULL,     -- leased: holder; submitted: sender
    lease_until       INTEGER,
    lease_token       INTEGER,
    submission_id     BLOB    CHECK (submission_id IS NULL OR length(submission_id) = 32),
    submission_handle TEXT
        CHECK (submission_handle IS NULL OR length(submission_handle) <= 16384),
    submitted_at      INTEGER,
    confirmed_block   INTEGER,
    updated_at        INTEGER NOT NULL,
    CHECK (last_pos - first_pos + 1 >= size),
    CHECK (state <> 'leased' OR (lease_until IS NOT NULL AND lease_token IS NOT NULL)),
    CHECK (state <> 'submitted' OR (submission_id IS NOT NULL AND submitted_at IS NOT NULL)),
    CHECK (state <> 'confirmed' OR confirmed_block IS NOT NULL)
) STRICT;

-- The runs still holding messages, per lane and state (expiry, take-over, the submitted list,
-- the oldest unfinished message); a batch's submission or confirmation by its messages' digest.
CREATE INDEX delivery_run_live ON delivery_run (origin, destination, state, first_pos)
    WHERE members > 0;
CREATE INDEX delivery_run_by_digest ON delivery_run (digest) WHERE members > 0;
CREATE INDEX delivery_run_by_submission ON delivery_run (submission_id)
    WHERE state = 'submitted';

CREATE TRIGGER delivery_run_identity_fixed
BEFORE UPDATE OF id, origin, destination, size, first_pos, last_pos, digest ON delivery_run
BEGIN SELECT RAISE(ABORT, 'a delivery run keeps its lane, positions and messages'); END;
CREATE TRIGGER delivery_run_no_delete BEFORE DELETE ON delivery_run
BEGIN SELECT RAISE(ABORT, 'delivery runs are never deleted'); END;

CREATE TABLE delivery_v14 (
    message_id        BLOB    NOT NULL UNIQUE REFERENCES message (id),
    origin            INTEGER NOT NULL,
    destination       INTEGER NOT NULL,
    leaf_index        INTEGER NOT NULL,
    state             TEXT    NOT NULL
        CHECK (state IN ('pending', 'leased', 'submitted', 'confirmed', 'dead_letter', 'run')),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   INTEGER NOT NULL,
    lease_owner       TEXT,                 -- leased: holder; submitted: sender
    lease_until       INTEGER,
    submission_id     BLOB    CHECK (submission_id IS NULL OR length(submission_id) = 32),
    submission_handle TEXT
        CHECK (submission_handle IS NULL OR length(submission_handle) <= 16384),
    submitted_at      INTEGER,
    confirmed_block   INTEGER,
    dead_reason       TEXT,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    lease_token       INTEGER,
    lane_pos          INTEGER NOT NULL DEFAULT -1,
    run_id            INTEGER,              -- state 'run': the run it is in
    PRIMARY KEY (origin, leaf_index),
    CHECK (state <> 'leased' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK (state <> 'submitted'
           OR (lease_owner IS NOT NULL AND submission_id IS NOT NULL
               AND submitted_at IS NOT NULL)),
    CHECK (state <> 'confirmed' OR confirmed_block IS NOT NULL),
    CHECK (state <> 'dead_letter' OR dead_reason IS NOT NULL),
    CHECK ((state = 'run') = (run_id IS NOT NULL))
) STRICT, WITHOUT ROWID;

INSERT INTO delivery_v14 (
    message_id, origin, destination, leaf_index, state, attempts, next_attempt_at,
    lease_owner, lease_until, submission_id, submission_handle, submitted_at,
    confirmed_block, dead_reason, last_error, created_at, updated_at, lease_token, lane_pos,
    run_id)
SELECT
    message_id, origin, destination, leaf_index, state, attempts, next_attempt_at,
    lease_owner, lease_until, submission_id, submission_handle, submitted_at,
    confirmed_block, dead_reason, last_error, created_at, updated_at, lease_token, lane_pos,
    NULL
FROM delivery ORDER BY origin, leaf_index;

DROP TABLE delivery;
ALTER TABLE delivery_v14 RENAME TO delivery;

CREATE INDEX delivery_work ON delivery (origin, destination, state, leaf_index);
CREATE INDEX delivery_by_submission ON delivery (submission_id) WHERE state = 'submitted';
CREATE UNIQUE INDEX delivery_by_lane_pos ON delivery (origin, destination, lane_pos);

CREATE TRIGGER delivery_identity_fixed
BEFORE UPDATE OF message_id, origin, destination, leaf_index, lane_pos, created_at ON delivery
BEGIN SELECT RAISE(ABORT, 'a delivery keeps its message, lane and position'); END;
CREATE TRIGGER delivery_no_delete BEFORE DELETE ON delivery
BEGIN SELECT RAISE(ABORT, 'delivery rows are never deleted'); END;
CREATE TRIGGER delivery_lane_pos_set BEFORE INSERT ON delivery
WHEN NEW.lane_pos < 0
BEGIN SELECT RAISE(ABORT, 'a delivery row needs its position in the lane'); END;

-- What each message's delivery is now, in the columns `delivery` has always had: a message in a
-- run reads its run's state, lease, submission and confirmation. The readers of one message
-- (the API's readout and search, `message`) read this; the transitions read the tables.
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
