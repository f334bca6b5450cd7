-- Sending through the /v1 API and private messages end to end (issue 12).

-- One row per `POST /v1/messages`, written (durably) before the API answers; the gateway's
-- dispatcher sends it on the origin's Outbox. `payload` is the body of a public message or the
-- JSON of a private one (sealed at dispatch, when the Outbox nonce is known; cleared once the
-- message is on chain). `readers` and `disclose` are JSON arrays (member names; field names).
-- `nonce` and `message_id` are set when it is sealed for one nonce (before anything is sent).
CREATE TABLE send_request (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    origin       INTEGER NOT NULL,
    destination  INTEGER NOT NULL,
    recipient    BLOB    NOT NULL CHECK (length(recipient) = 32),
    kind         TEXT    NOT NULL CHECK (kind IN ('public', 'private')),
    payload      BLOB,
    readers      TEXT    NOT NULL,
    disclose     TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('accepted', 'sealed', 'dispatched', 'failed')),
    nonce        INTEGER,
    message_id   BLOB    CHECK (message_id IS NULL OR length(message_id) = 32),
    tx_hash      BLOB    CHECK (tx_hash IS NULL OR length(tx_hash) = 32),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    actor        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX send_request_open ON send_request (origin, state, id);

-- The envelope of a private message: sealed here (`fetched_from` NULL) or fetched from the
-- sender's gateway after it opened against the chain's commitment. `bytes` is the envelope with
-- its current grant history; `disclosure` the public AnchoredDisclosure JSON, if any.
CREATE TABLE envelope (
    message_id   BLOB    PRIMARY KEY CHECK (length(message_id) = 32),
    origin       INTEGER NOT NULL,
    destination  INTEGER NOT NULL,
    nonce        INTEGER NOT NULL,
    sender       BLOB    NOT NULL CHECK (length(sender) = 32),
    commitment   BLOB    NOT NULL CHECK (length(commitment) = 32),
    bytes        BLOB    NOT NULL,
    disclosure   TEXT,
    fetched_from TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- Every grant and revocation made through this gateway, in order (the signed history itself
-- is in the envelope bytes; this is the record that makes a cut-off history visible).
CREATE TABLE envelope_grant (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   BLOB    NOT NULL REFERENCES envelope (message_id),
    kind         TEXT    NOT NULL CHECK (kind IN ('grant', 'revoke')),
    grantor      TEXT    NOT NULL,
    grantee      TEXT    NOT NULL,
    chain        BLOB    NOT NULL CHECK (length(chain) = 32),
    actor        TEXT    NOT NULL,
    at           INTEGER NOT NULL
) STRICT;

CREATE INDEX envelope_grant_by_message ON envelope_grant (message_id, seq);

CREATE TRIGGER envelope_grant_immutable BEFORE UPDATE ON envelope_grant
BEGIN SELECT RAISE(ABORT, 'grant records are append-only'); END;
CREATE TRIGGER envelope_grant_no_delete BEFORE DELETE ON envelope_grant
BEGIN SELECT RAISE(ABORT, 'grant records are append-only'); END;
