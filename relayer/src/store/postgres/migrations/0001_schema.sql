-- Numbers a caller sees (status event seq, token id, audit seq, send request id, grant seq)
-- are the largest so far plus one, as SQLite's rowids are: writes run one at a time (the write
-- lock, see postgres/mod.rs), so this never collides, and unlike a sequence a rolled-back
-- transaction leaves no gap, so both stores number the same history the same way.
--
-- The PostgreSQL store's schema: the same tables, constraints and triggers as the SQLite store
-- at its schema 9 (relayer/src/store/sqlite/migrations/0001..0009), in PostgreSQL's types:
-- INTEGER columns are BIGINT, BLOBs BYTEA, length() of a blob octet_length(). What a row may
-- hold, which rows are unique, and which tables refuse updates and deletes are the same, so the
-- conformance suite and the differential test hold both stores to one contract.

CREATE TABLE message (
    id           BYTEA   PRIMARY KEY CHECK (octet_length(id) = 32),
    origin       BIGINT  NOT NULL,
    nonce        BIGINT  NOT NULL,
    destination  BIGINT  NOT NULL,
    encoded      BYTEA   NOT NULL,          -- the canonical encoding; id = keccak256(encoded)
    source_block BIGINT,                    -- the origin block it was observed in, if known
    source_ref   TEXT    NOT NULL,          -- SourceReference as JSON
    native_proof TEXT,                      -- NativeProof as JSON
    accepted_at  BIGINT  NOT NULL,
    UNIQUE (origin, nonce)                  -- two messages under one nonce = equivocation
);
CREATE INDEX message_by_sender ON message (substring(encoded from 14 for 32), accepted_at);
CREATE INDEX message_by_source_block ON message (origin, source_block);
CREATE INDEX message_by_time ON message (accepted_at, id);

CREATE TABLE source_cursor (
    origin       BIGINT  PRIMARY KEY CHECK (origin BETWEEN 0 AND 4294967295),
    block_number BIGINT  NOT NULL CHECK (block_number >= 0),
    block_hash   BYTEA   NOT NULL CHECK (octet_length(block_hash) = 32),
    updated_at   BIGINT  NOT NULL
);

CREATE TABLE log_leaf (
    origin     BIGINT NOT NULL,
    leaf_index BIGINT NOT NULL CHECK (leaf_index >= 0),
    message_id BYTEA  NOT NULL UNIQUE REFERENCES message (id),
    PRIMARY KEY (origin, leaf_index)
);

CREATE TABLE delivery (
    message_id        BYTEA   NOT NULL UNIQUE REFERENCES message (id),
    origin            BIGINT  NOT NULL,
    destination       BIGINT  NOT NULL,
    leaf_index        BIGINT  NOT NULL,
    state             TEXT    NOT NULL
        CHECK (state IN ('pending', 'leased', 'submitted', 'confirmed', 'dead_letter')),
    attempts          BIGINT  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   BIGINT  NOT NULL,
    lease_owner       TEXT,                 -- leased: holder; submitted: sender
    lease_until       BIGINT,
    submission_id     BYTEA   CHECK (submission_id IS NULL OR octet_length(submission_id) = 32),
    submission_handle TEXT
        CHECK (submission_handle IS NULL OR length(submission_handle) <= 16384),
    submitted_at      BIGINT,
    confirmed_block   BIGINT,
    dead_reason       TEXT,
    last_error        TEXT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    lease_token       BIGINT,
    PRIMARY KEY (origin, leaf_index),
    CHECK (state <> 'leased' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK (state <> 'submitted'
           OR (lease_owner IS NOT NULL AND submission_id IS NOT NULL
               AND submitted_at IS NOT NULL)),
    CHECK (state <> 'confirmed' OR confirmed_block IS NOT NULL),
    CHECK (state <> 'dead_letter' OR dead_reason IS NOT NULL)
);
CREATE INDEX delivery_work ON delivery (origin, destination, state, leaf_index);
CREATE INDEX delivery_age ON delivery (origin, destination, state, created_at);
CREATE INDEX delivery_by_submission ON delivery (submission_id) WHERE state = 'submitted';

CREATE TABLE lane_count (
    origin      BIGINT NOT NULL,
    destination BIGINT NOT NULL,
    state       TEXT   NOT NULL,
    n           BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (origin, destination, state)
);

CREATE TABLE lease_sequence (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL CHECK (last >= 0)
);
INSERT INTO lease_sequence (id, last) VALUES (1, 0);

CREATE TABLE signed_submission (
    submission_id BYTEA  PRIMARY KEY CHECK (octet_length(submission_id) = 32),
    signed        BYTEA  NOT NULL CHECK (octet_length(signed) > 0),
    recorded_at   BIGINT NOT NULL CHECK (recorded_at >= 0)
);

CREATE TABLE checkpoint (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    origin         BIGINT NOT NULL,
    destination    BIGINT NOT NULL,
    size           BIGINT NOT NULL CHECK (size >= 0),
    hash_algorithm BIGINT NOT NULL,
    root           BYTEA  NOT NULL CHECK (octet_length(root) = 32),
    recorded_at    BIGINT NOT NULL,
    UNIQUE (origin, destination, size)
);

CREATE TABLE checkpoint_signature (
    checkpoint_id BIGINT NOT NULL REFERENCES checkpoint (id),
    validator     BYTEA  NOT NULL CHECK (octet_length(validator) = 20),
    signature     BYTEA  NOT NULL CHECK (octet_length(signature) = 65),
    recorded_at   BIGINT NOT NULL,
    PRIMARY KEY (checkpoint_id, validator)
);

CREATE TABLE foreign_signature (
    origin         BIGINT NOT NULL,
    destination    BIGINT NOT NULL,
    size           BIGINT NOT NULL CHECK (size >= 0),
    validator      BYTEA  NOT NULL CHECK (octet_length(validator) = 20),
    hash_algorithm BIGINT NOT NULL,
    root           BYTEA  NOT NULL CHECK (octet_length(root) = 32),
    signature      BYTEA  NOT NULL CHECK (octet_length(signature) = 65),
    recorded_at    BIGINT NOT NULL,
    PRIMARY KEY (origin, destination, size, validator)
);

CREATE TABLE equivocation (
    origin      BIGINT NOT NULL,
    destination BIGINT NOT NULL,
    validator   BYTEA  NOT NULL CHECK (octet_length(validator) = 20),
    size        BIGINT NOT NULL CHECK (size >= 0),
    evidence    TEXT   NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (origin, destination, validator)
);

CREATE TABLE message_event (
    seq         BIGINT PRIMARY KEY,
    message_id  BYTEA  NOT NULL CHECK (octet_length(message_id) = 32),
    origin      BIGINT NOT NULL,
    destination BIGINT NOT NULL,
    leaf_index  BIGINT NOT NULL,
    status      TEXT   NOT NULL
        CHECK (status IN ('logged', 'leased', 'submitted', 'confirmed', 'failed', 'retried',
                          'dead_lettered')),
    reason      TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX message_event_by_leaf ON message_event (origin, leaf_index, seq);

CREATE TABLE api_token (
    id          BIGINT PRIMARY KEY,
    name        TEXT   NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 64),
    hash        BYTEA  NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
    scopes      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);

CREATE TABLE audit (
    seq    BIGINT PRIMARY KEY,
    actor  TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    at     BIGINT NOT NULL
);

CREATE TABLE send_request (
    id           BIGINT PRIMARY KEY,
    origin       BIGINT NOT NULL,
    destination  BIGINT NOT NULL,
    recipient    BYTEA  NOT NULL CHECK (octet_length(recipient) = 32),
    kind         TEXT   NOT NULL CHECK (kind IN ('public', 'private')),
    payload      BYTEA,
    readers      TEXT   NOT NULL,
    disclose     TEXT   NOT NULL,
    state        TEXT   NOT NULL CHECK (state IN ('accepted', 'sealed', 'dispatched', 'failed')),
    nonce        BIGINT,
    message_id   BYTEA  CHECK (message_id IS NULL OR octet_length(message_id) = 32),
    tx_hash      BYTEA  CHECK (tx_hash IS NULL OR octet_length(tx_hash) = 32),
    attempts     BIGINT NOT NULL DEFAULT 0,
    error        TEXT,
    actor        TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX send_request_open ON send_request (origin, state, id);

CREATE TABLE envelope (
    message_id   BYTEA  PRIMARY KEY CHECK (octet_length(message_id) = 32),
    origin       BIGINT NOT NULL,
    destination  BIGINT NOT NULL,
    nonce        BIGINT NOT NULL,
    sender       BYTEA  NOT NULL CHECK (octet_length(sender) = 32),
    commitment   BYTEA  NOT NULL CHECK (octet_length(commitment) = 32),
    bytes        BYTEA  NOT NULL,
    disclosure   TEXT,
    fetched_from TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE envelope_grant (
    seq          BIGINT PRIMARY KEY,
    message_id   BYTEA  NOT NULL REFERENCES envelope (message_id),
    kind         TEXT   NOT NULL CHECK (kind IN ('grant', 'revoke')),
    grantor      TEXT   NOT NULL,
    grantee      TEXT   NOT NULL,
    chain        BYTEA  NOT NULL CHECK (octet_length(chain) = 32),
    actor        TEXT   NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX envelope_grant_by_message ON envelope_grant (message_id, seq);

-- Refusals: one function raising the message given by each trigger (TG_ARGV[0]).
CREATE FUNCTION causeway_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER message_immutable BEFORE UPDATE ON message
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('message rows are immutable');
CREATE TRIGGER message_no_delete BEFORE DELETE ON message
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('message rows are never deleted');
CREATE TRIGGER log_leaf_immutable BEFORE UPDATE ON log_leaf
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('log_leaf is append-only');
CREATE TRIGGER log_leaf_no_delete BEFORE DELETE ON log_leaf
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('log_leaf is append-only');
CREATE TRIGGER delivery_identity_fixed
    BEFORE UPDATE OF message_id, origin, destination, leaf_index, created_at ON delivery
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('a delivery keeps its message, lane and position');
CREATE TRIGGER delivery_no_delete BEFORE DELETE ON delivery
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('delivery rows are never deleted');
CREATE TRIGGER equivocation_no_update BEFORE UPDATE ON equivocation
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('equivocation evidence is kept for ever');
CREATE TRIGGER equivocation_no_delete BEFORE DELETE ON equivocation
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('equivocation evidence is kept for ever');
CREATE TRIGGER message_event_immutable BEFORE UPDATE ON message_event
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('message events are append-only');
CREATE TRIGGER message_event_no_delete BEFORE DELETE ON message_event
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('message events are append-only');
CREATE TRIGGER audit_immutable BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('the audit trail is append-only');
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('the audit trail is append-only');
CREATE TRIGGER envelope_grant_immutable BEFORE UPDATE ON envelope_grant
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('grant records are append-only');
CREATE TRIGGER envelope_grant_no_delete BEFORE DELETE ON envelope_grant
    FOR EACH ROW EXECUTE FUNCTION causeway_refuse('grant records are append-only');
-- TRUNCATE bypasses row triggers: refuse it on every append-only table.
CREATE TRIGGER message_no_truncate BEFORE TRUNCATE ON message
    FOR EACH STATEMENT EXECUTE FUNCTION causeway_refuse('message rows are never deleted');
CREATE TRIGGER log_leaf_no_truncate BEFORE TRUNCATE ON log_leaf
    FOR EACH STATEMENT EXECUTE FUNCTION causeway_refuse('log_leaf is append-only');
CREATE TRIGGER delivery_no_truncate BEFORE TRUNCATE ON delivery
    FOR EACH STATEMENT EXECUTE FUNCTION causeway_refuse('delivery rows are never deleted');
CREATE TRIGGER message_event_no_truncate BEFORE TRUNCATE ON message_event
    FOR EACH STATEMENT EXECUTE FUNCTION causeway_refuse('message events are append-only');
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION causeway_refuse('the audit trail is append-only');

CREATE FUNCTION log_leaf_contiguous() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.leaf_index <> (SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaf
                          WHERE origin = NEW.origin) THEN
        RAISE EXCEPTION 'log_leaf must be appended at the next index'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER log_leaf_contiguous BEFORE INSERT ON log_leaf
    FOR EACH ROW EXECUTE FUNCTION log_leaf_contiguous();

-- Per-lane counts per state and the status history, kept by the delivery rows' triggers.
CREATE FUNCTION delivery_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lane_count (origin, destination, state, n)
    VALUES (NEW.origin, NEW.destination, NEW.state, 1)
    ON CONFLICT (origin, destination, state) DO UPDATE SET n = lane_count.n + 1;
    INSERT INTO message_event (seq, message_id, origin, destination, status, reason, at,
                               leaf_index)
    VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM message_event), NEW.message_id, NEW.origin, NEW.destination, 'logged', NULL, NEW.created_at,
            NEW.leaf_index);
    RETURN NULL;
END $$;
CREATE TRIGGER delivery_after_insert AFTER INSERT ON delivery
    FOR EACH ROW EXECUTE FUNCTION delivery_after_insert();

-- Back to pending from a lease or a submission is a failed attempt (its reason is last_error);
-- from a dead letter it is an operator's retry.
CREATE FUNCTION delivery_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lane_count SET n = n - 1
    WHERE origin = OLD.origin AND destination = OLD.destination AND state = OLD.state;
    INSERT INTO lane_count (origin, destination, state, n)
    VALUES (NEW.origin, NEW.destination, NEW.state, 1)
    ON CONFLICT (origin, destination, state) DO UPDATE SET n = lane_count.n + 1;
    INSERT INTO message_event (seq, message_id, origin, destination, status, reason, at,
                               leaf_index)
    VALUES (
        (SELECT coalesce(max(seq), 0) + 1 FROM message_event),
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
    RETURN NULL;
END $$;
CREATE TRIGGER delivery_after_update AFTER UPDATE OF state ON delivery
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION delivery_after_update();
