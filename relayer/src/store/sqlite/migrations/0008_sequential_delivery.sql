-- Delivery rows in log order (issue 11's pipeline figure). Schema 3 keyed `delivery` by message
-- id, a hash: a batch of consecutive messages moving from pending to leased, submitted and
-- confirmed touched one random page of the table per message, and every status event indexed
-- by message id one more. Each commit wrote (and fsynced) a page per message and per event; on
-- this machine that was most of a gateway's CPU per message. From here on:
--
-- - `delivery` is keyed by (origin, leaf_index), so a batch's rows share a few pages; the
--   message id stays UNIQUE (its index is written once, when the row is inserted, and never
--   changes: the id is fixed by the delivery_identity_fixed trigger);
-- - `message_event` carries the message's leaf index and is indexed by (origin, leaf_index,
--   seq) instead of (message_id, seq); a message's history is found through its delivery row.
--   Its `seq` is a plain rowid and it no longer checks each event's message id (see below).
--
-- The rebuild is SQLite's documented procedure (new table, copy, drop, rename, then indices and
-- triggers), as in 0003; the copy fires no trigger, so lane_count and the events stay exact.

CREATE TABLE delivery_v8 (
    message_id        BLOB    NOT NULL UNIQUE REFERENCES message (id),
    origin            INTEGER NOT NULL,
    destination       INTEGER NOT NULL,
    leaf_index        INTEGER NOT NULL,
    state             TEXT    NOT NULL
        CHECK (state IN ('pending', 'leased', 'submitted', 'confirmed', 'dead_letter')),
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
    PRIMARY KEY (origin, leaf_index),
    CHECK (state <> 'leased' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK (state <> 'submitted'
           OR (lease_owner IS NOT NULL AND submission_id IS NOT NULL
               AND submitted_at IS NOT NULL)),
    CHECK (state <> 'confirmed' OR confirmed_block IS NOT NULL),
    CHECK (state <> 'dead_letter' OR dead_reason IS NOT NULL)
) STRICT, WITHOUT ROWID;

INSERT INTO delivery_v8 (
    message_id, origin, destination, leaf_index, state, attempts, next_attempt_at,
    lease_owner, lease_until, submission_id, submission_handle, submitted_at,
    confirmed_block, dead_reason, last_error, created_at, updated_at, lease_token)
SELECT
    message_id, origin, destination, leaf_index, state, attempts, next_attempt_at,
    lease_owner, lease_until, submission_id, submission_handle, submitted_at,
    confirmed_block, dead_reason, last_error, created_at, updated_at, lease_token
FROM delivery ORDER BY origin, leaf_index;

DROP TABLE delivery;
ALTER TABLE delivery_v8 RENAME TO delivery;

CREATE INDEX delivery_work ON delivery (origin, destination, state, leaf_index);
CREATE INDEX delivery_age ON delivery (origin, destination, state, created_at);
CREATE INDEX delivery_by_submission ON delivery (submission_id) WHERE state = 'submitted';

CREATE TRIGGER delivery_identity_fixed
BEFORE UPDATE OF message_id, origin, destination, leaf_index, created_at ON delivery
BEGIN SELECT RAISE(ABORT, 'a delivery keeps its message, lane and position'); END;
CREATE TRIGGER delivery_no_delete BEFORE DELETE ON delivery
BEGIN SELECT RAISE(ABORT, 'delivery rows are never deleted'); END;

CREATE TRIGGER delivery_count_insert AFTER INSERT ON delivery
BEGIN
    INSERT INTO lane_count (origin, destination, state, n)
    VALUES (NEW.origin, NEW.destination, NEW.state, 1)
    ON CONFLICT (origin, destination, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER delivery_count_update AFTER UPDATE OF state ON delivery
WHEN OLD.state <> NEW.state
BEGIN
    UPDATE lane_count SET n = n - 1
    WHERE origin = OLD.origin AND destination = OLD.destination AND state = OLD.state;
    INSERT INTO lane_count (origin, destination, state, n)
    VALUES (NEW.origin, NEW.destination, NEW.state, 1)
    ON CONFLICT (origin, destination, state) DO UPDATE SET n = n + 1;
END;

-- The status events, rebuilt: the leaf index beside the message id (filled in for the events so
-- far), indexed by (origin, leaf_index, seq). `seq` stays the rowid, in the same order; without
-- AUTOINCREMENT (which wrote sqlite_sequence once more per event) it is still never reused,
-- since events are never deleted (the triggers below refuse it) and a new rowid is the largest
-- plus one. The message id is no longer checked against `message` per event: events are written
-- only by the delivery triggers, and a delivery row references its message.
CREATE TABLE message_event_v8 (
    seq         INTEGER PRIMARY KEY,
    message_id  BLOB    NOT NULL CHECK (length(message_id) = 32),
    origin      INTEGER NOT NULL,
    destination INTEGER NOT NULL,
    leaf_index  INTEGER NOT NULL,
    status      TEXT    NOT NULL
        CHECK (status IN ('logged', 'leased', 'submitted', 'confirmed', 'failed', 'retried',
                          'dead_lettered')),
    reason      TEXT,
    at          INTEGER NOT NULL
) STRICT;

INSERT INTO message_event_v8 (seq, message_id, origin, destination, leaf_index, status, reason, at)
SELECT e.seq, e.message_id, e.origin, e.destination,
       (SELECT d.leaf_index FROM delivery d WHERE d.message_id = e.message_id),
       e.status, e.reason, e.at
FROM message_event e ORDER BY e.seq;

DROP TABLE message_event;
ALTER TABLE message_event_v8 RENAME TO message_event;

CREATE INDEX message_event_by_leaf ON message_event (origin, leaf_index, seq);

CREATE TRIGGER message_event_immutable BEFORE UPDATE ON message_event
BEGIN SELECT RAISE(ABORT, 'message events are append-only'); END;
CREATE TRIGGER message_event_no_delete BEFORE DELETE ON message_event
BEGIN SELECT RAISE(ABORT, 'message events are append-only'); END;

CREATE TRIGGER delivery_event_insert AFTER INSERT ON delivery
BEGIN
    INSERT INTO message_event (message_id, origin, destination, status, reason, at, leaf_index)
    VALUES (NEW.message_id, NEW.origin, NEW.destination, 'logged', NULL, NEW.created_at,
            NEW.leaf_index);
END;

-- Back to pending from a lease or a submission is a failed attempt (its reason is last_error);
-- from a dead letter it is an operator's retry.
CREATE TRIGGER delivery_event_update AFTER UPDATE OF state ON delivery
WHEN OLD.state <> NEW.state
BEGIN
    INSERT INTO message_event (message_id, origin, destination, status, reason, at, leaf_index)
    VALUES (
        NEW.message_id, NEW.origin, NEW.destination,
        CASE NEW.state
            WHEN 'leased' THEN 'leased'
            WHEN 'submitted' THEN 'submitted'
            WHEN 'confirmed' THEN 'confirmed'
            WHEN 'dead_letter' THEN 'dead_lettered'
            ELSE CASE OLD.state WHEN 'dead_letter' THEN 'retried' ELSE 'failed' END
        END,
        CASE
            WHEN NEW.state = 'dead_letter' THEN NEW.dead_reason
            WHEN NEW.state = 'pending' AND OLD.state <> 'dead_letter' THEN NEW.last_error
        END,
        NEW.updated_at,
        NEW.leaf_index
    );
END;
