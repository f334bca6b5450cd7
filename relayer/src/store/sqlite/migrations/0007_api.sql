-- The /v1 HTTP API (issue 12): every message's status history (which the event stream serves,
-- in `seq` order), the API's bearer tokens (hashes only) and the audit trail of its writes.

-- One row per status change of a message, written by the triggers below wherever the delivery
-- row changes state, so every code path (and every store version) records it. `seq` only grows
-- (AUTOINCREMENT: never reused) and writers are serialised, so a reader that has seen `seq` n
-- sees every event below n: the event stream resumes from a client's Last-Event-ID losslessly.
CREATE TABLE message_event (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  BLOB    NOT NULL REFERENCES message (id),
    origin      INTEGER NOT NULL,
    destination INTEGER NOT NULL,
    status      TEXT    NOT NULL
        CHECK (status IN ('logged', 'leased', 'submitted', 'confirmed', 'failed', 'retried',
                          'dead_lettered')),
    reason      TEXT,
    at          INTEGER NOT NULL
) STRICT;

CREATE INDEX message_event_by_message ON message_event (message_id, seq);

CREATE TRIGGER message_event_immutable BEFORE UPDATE ON message_event
BEGIN SELECT RAISE(ABORT, 'message events are append-only'); END;
CREATE TRIGGER message_event_no_delete BEFORE DELETE ON message_event
BEGIN SELECT RAISE(ABORT, 'message events are append-only'); END;

CREATE TRIGGER delivery_event_insert AFTER INSERT ON delivery
BEGIN
    INSERT INTO message_event (message_id, origin, destination, status, reason, at)
    VALUES (NEW.message_id, NEW.origin, NEW.destination, 'logged', NULL, NEW.created_at);
END;

-- Back to pending from a lease or a submission is a failed attempt (its reason is last_error);
-- from a dead letter it is an operator's retry.
CREATE TRIGGER delivery_event_update AFTER UPDATE OF state ON delivery
WHEN OLD.state <> NEW.state
BEGIN
    INSERT INTO message_event (message_id, origin, destination, status, reason, at)
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
        NEW.updated_at
    );
END;

-- Messages stored before this version: their acceptance, and their present state if it moved on.
INSERT INTO message_event (message_id, origin, destination, status, reason, at)
SELECT message_id, origin, destination, 'logged', NULL, created_at FROM delivery
ORDER BY origin, leaf_index;
INSERT INTO message_event (message_id, origin, destination, status, reason, at)
SELECT message_id, origin, destination,
       CASE state WHEN 'dead_letter' THEN 'dead_lettered' ELSE state END,
       CASE state WHEN 'dead_letter' THEN dead_reason END,
       updated_at
FROM delivery WHERE state <> 'pending'
ORDER BY updated_at, origin, leaf_index;

-- Search by sender and time: the sender is bytes 14..45 of the canonical encoding (version 1,
-- nonce 8, origin 4, then the 32-byte sender); queries use the same expression.
CREATE INDEX message_by_sender ON message (substr(encoded, 14, 32), accepted_at);
CREATE INDEX message_by_time ON message (accepted_at, id);

-- API bearer tokens: only the SHA-256 of the secret is kept (the secret is 32 random bytes,
-- shown once). Revoked tokens stay, marked, so the audit trail keeps naming them.
CREATE TABLE api_token (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    hash        BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    scopes      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
) STRICT;

-- Who did what, when: every write through the API or `causeway token`. Never changed.
CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    at     INTEGER NOT NULL
) STRICT;
CREATE TRIGGER audit_immutable BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
