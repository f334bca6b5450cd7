-- Causeway relayer store, schema version 1.
--
-- Integers are SQLite's signed 64-bit INTEGER: heights, leaf indices and times are checked to fit
-- (u64 values up to 2^63 - 1); message and transaction nonces, which only need equality, are
-- stored bit-for-bit (a u64 reinterpreted as i64). Hashes are 32-byte BLOBs, domains u32.
-- Triggers make the log and the messages append-only and keep per-lane counters, so the rules
-- hold whatever code writes the file. Every table is STRICT: a value of the wrong type fails.

-- Where each origin's watcher stands: the last block whose events are all stored.
CREATE TABLE source_cursor (
    origin       INTEGER PRIMARY KEY CHECK (origin BETWEEN 0 AND 4294967295),
    block_number INTEGER NOT NULL CHECK (block_number >= 0),
    block_hash   BLOB    NOT NULL CHECK (length(block_hash) = 32),
    updated_at   INTEGER NOT NULL
) STRICT;

-- Every accepted (final, verified) message. Immutable once written.
CREATE TABLE message (
    id           BLOB    PRIMARY KEY CHECK (length(id) = 32),
    origin       INTEGER NOT NULL,
    nonce        INTEGER NOT NULL,
    destination  INTEGER NOT NULL,
    encoded      BLOB    NOT NULL,          -- the canonical encoding; id = keccak256(encoded)
    source_block INTEGER,                   -- the origin block it was observed in, if known
    source_ref   TEXT    NOT NULL,          -- SourceReference as JSON
    native_proof TEXT,                      -- NativeProof as JSON
    accepted_at  INTEGER NOT NULL,
    UNIQUE (origin, nonce)                  -- two messages under one nonce = equivocation
) STRICT;                                   -- rowid table: rows carry up to 64 KiB bodies

CREATE INDEX message_by_source_block ON message (origin, source_block);

CREATE TRIGGER message_immutable BEFORE UPDATE ON message
BEGIN SELECT RAISE(ABORT, 'message rows are immutable'); END;
CREATE TRIGGER message_no_delete BEFORE DELETE ON message
BEGIN SELECT RAISE(ABORT, 'message rows are never deleted'); END;

-- Each origin's RFC 9162 log: leaf i of origin o is message_id. Append-only and contiguous.
CREATE TABLE log_leaf (
    origin     INTEGER NOT NULL,
    leaf_index INTEGER NOT NULL CHECK (leaf_index >= 0),
    message_id BLOB    NOT NULL UNIQUE REFERENCES message (id),
    PRIMARY KEY (origin, leaf_index)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER log_leaf_contiguous BEFORE INSERT ON log_leaf
WHEN NEW.leaf_index <> (SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaf WHERE origin = NEW.origin)
BEGIN SELECT RAISE(ABORT, 'log_leaf must be appended at the next index'); END;
CREATE TRIGGER log_leaf_immutable BEFORE UPDATE ON log_leaf
BEGIN SELECT RAISE(ABORT, 'log_leaf is append-only'); END;
CREATE TRIGGER log_leaf_no_delete BEFORE DELETE ON log_leaf
BEGIN SELECT RAISE(ABORT, 'log_leaf is append-only'); END;

-- Checkpoints per lane (origin -> destination): one root per log size.
CREATE TABLE checkpoint (
    id             INTEGER PRIMARY KEY,
    origin         INTEGER NOT NULL,
    destination    INTEGER NOT NULL,
    size           INTEGER NOT NULL CHECK (size >= 0),
    hash_algorithm INTEGER NOT NULL,
    root           BLOB    NOT NULL CHECK (length(root) = 32),
    recorded_at    INTEGER NOT NULL,
    UNIQUE (origin, destination, size)
) STRICT;

-- One signature per (checkpoint, validator): a validator counts once.
CREATE TABLE checkpoint_signature (
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoint (id),
    validator     BLOB    NOT NULL CHECK (length(validator) = 20),
    signature     BLOB    NOT NULL CHECK (length(signature) = 65),
    recorded_at   INTEGER NOT NULL,
    PRIMARY KEY (checkpoint_id, validator)
) STRICT, WITHOUT ROWID;

-- The delivery state machine, one row per message (a message names one destination).
CREATE TABLE delivery (
    message_id      BLOB    PRIMARY KEY REFERENCES message (id),
    origin          INTEGER NOT NULL,
    destination     INTEGER NOT NULL,
    leaf_index      INTEGER NOT NULL,
    state           TEXT    NOT NULL
        CHECK (state IN ('pending', 'leased', 'submitted', 'confirmed', 'dead_letter')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,                   -- leased: holder; submitted: sender
    lease_until     INTEGER,
    tx_hash         BLOB    CHECK (tx_hash IS NULL OR length(tx_hash) = 32),
    tx_nonce        INTEGER,
    submitted_at    INTEGER,
    confirmed_block INTEGER,
    dead_reason     TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (state <> 'leased' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK (state <> 'submitted'
           OR (lease_owner IS NOT NULL AND tx_hash IS NOT NULL AND tx_nonce IS NOT NULL
               AND submitted_at IS NOT NULL)),
    CHECK (state <> 'confirmed' OR confirmed_block IS NOT NULL),
    CHECK (state <> 'dead_letter' OR dead_reason IS NOT NULL)
) STRICT, WITHOUT ROWID;

CREATE INDEX delivery_work ON delivery (origin, destination, state, leaf_index);
CREATE INDEX delivery_age ON delivery (origin, destination, state, created_at);

CREATE TRIGGER delivery_identity_fixed
BEFORE UPDATE OF message_id, origin, destination, leaf_index, created_at ON delivery
BEGIN SELECT RAISE(ABORT, 'a delivery keeps its message, lane and position'); END;
CREATE TRIGGER delivery_no_delete BEFORE DELETE ON delivery
BEGIN SELECT RAISE(ABORT, 'delivery rows are never deleted'); END;

-- Messages per lane and state, maintained by triggers so the metrics never scan the table.
CREATE TABLE lane_count (
    origin      INTEGER NOT NULL,
    destination INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    n           INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (origin, destination, state)
) STRICT, WITHOUT ROWID;

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
