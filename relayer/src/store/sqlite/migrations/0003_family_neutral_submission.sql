-- Submissions in terms every chain family shares. Schema 1 named a submitted message's
-- transaction with EVM's terms: tx_hash (in fact keccak-256 of the adapter handle's data, not a
-- transaction hash) and tx_nonce (the EVM sender's nonce, read out of the handle), which mean
-- nothing for Fabric or FISCO BCOS. From here on:
--
-- - submission_id: tx_hash renamed, same value and meaning (keccak-256 of the handle's data;
--   one id per submission, shared by the messages it carries);
-- - submission_handle: unchanged, the adapter's handle stored as is (JSON);
-- - tx_nonce: dropped. Nothing reads it: for rows with a handle the nonce is inside the
--   handle's data; rows without one (submitted by a schema-1 build) are settled by the
--   destination's replay record, which needs no nonce.
--
-- SQLite cannot drop a column a CHECK names, so the table is rebuilt (the documented
-- "12-step" procedure: new table, copy, drop, rename, then its indices and triggers). The
-- copy fires no trigger (they belong to the old table), so lane_count stays exact.

CREATE TABLE delivery_v3 (
    message_id        BLOB    PRIMARY KEY REFERENCES message (id),
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
    CHECK (state <> 'leased' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK (state <> 'submitted'
           OR (lease_owner IS NOT NULL AND submission_id IS NOT NULL
               AND submitted_at IS NOT NULL)),
    CHECK (state <> 'confirmed' OR confirmed_block IS NOT NULL),
    CHECK (state <> 'dead_letter' OR dead_reason IS NOT NULL)
) STRICT, WITHOUT ROWID;

INSERT INTO delivery_v3 (
    message_id, origin, destination, leaf_index, state, attempts, next_attempt_at,
    lease_owner, lease_until, submission_id, submission_handle, submitted_at,
    confirmed_block, dead_reason, last_error, created_at, updated_at)
SELECT
    message_id, origin, destination, leaf_index, state, attempts, next_attempt_at,
    lease_owner, lease_until, tx_hash, submission_handle, submitted_at,
    confirmed_block, dead_reason, last_error, created_at, updated_at
FROM delivery;

DROP TABLE delivery;
ALTER TABLE delivery_v3 RENAME TO delivery;

CREATE INDEX delivery_work ON delivery (origin, destination, state, leaf_index);
CREATE INDEX delivery_age ON delivery (origin, destination, state, created_at);

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
