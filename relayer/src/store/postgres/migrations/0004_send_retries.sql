-- SQLite's send-request backoff (its migration "send requests put off with a backoff"):
-- `retry_at` on the lease clock (the database's), `deferrals` since the last outcome,
-- `contended_since` the start of the episode in which the request's nonce was held by a
-- transaction not yet final.
ALTER TABLE send_request ADD COLUMN retry_at BIGINT;
ALTER TABLE send_request ADD COLUMN deferrals BIGINT NOT NULL DEFAULT 0 CHECK (deferrals >= 0);
ALTER TABLE send_request ADD COLUMN contended_since BIGINT;
