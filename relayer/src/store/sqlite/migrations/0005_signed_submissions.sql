-- Record before you broadcast (issue 10). A destination adapter signs a submission, the relayer
-- records it here with its signed bytes, and only then is it broadcast: a crash in between
-- leaves the very transaction to send again (whoever follows the submission sends these bytes
-- when the chain does not know them), never a second transaction for the same messages. A row
-- lives while some message is still submitted in it; settling the last one removes it (these
-- bytes are a means to finish the submission, not part of the record of what happened).
CREATE TABLE signed_submission (
    submission_id BLOB PRIMARY KEY CHECK (length(submission_id) = 32),
    signed        BLOB NOT NULL CHECK (length(signed) > 0),
    recorded_at   INTEGER NOT NULL CHECK (recorded_at >= 0)
) STRICT;

-- Finding the messages still submitted in one submission (to prune its signed bytes and to
-- renew its follow lease).
CREATE INDEX delivery_by_submission ON delivery (submission_id) WHERE state = 'submitted';
