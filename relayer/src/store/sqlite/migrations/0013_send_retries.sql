-- Send requests put off with a backoff of their own (issue 15): a request whose attempt failed
-- for a reason that is not its own (the origin's node unreachable, its nonce held by a
-- transaction not yet final) is released and not leased again before `retry_at`, so fresh
-- requests go ahead of one that keeps failing, and no request is tried at every poll.
-- `deferrals`: how often it was put off since its last outcome (the backoff doubles with it);
-- `contended_since`: when its nonce was first seen held by a transaction not yet final, in the
-- episode still going on (the dispatcher replaces that transaction, or gives the request up,
-- once it lasted too long). An outcome (sealed, dispatched, a failed attempt) clears all three.
ALTER TABLE send_request ADD COLUMN retry_at INTEGER;
ALTER TABLE send_request ADD COLUMN deferrals INTEGER NOT NULL DEFAULT 0 CHECK (deferrals >= 0);
ALTER TABLE send_request ADD COLUMN contended_since INTEGER;
