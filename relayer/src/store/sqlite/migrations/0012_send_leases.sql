-- Send requests leased to one dispatcher at a time (issue 15): several replicas of one
-- organisation's gateway on one store must never dispatch one request twice. A dispatcher takes
-- a request with a lease (owner, end, generation); every write about it (sealed, its
-- transaction, dispatched, failed) names the owner and generation and is refused once the
-- request was leased again, so a dispatcher that paused past its lease cannot overwrite the new
-- holder's record. `lease_until` NULL: released (an outcome was recorded) or never leased;
-- `lease_owner` and `lease_generation` then say who last had it.
ALTER TABLE send_request ADD COLUMN lease_owner TEXT;
ALTER TABLE send_request ADD COLUMN lease_until INTEGER;
ALTER TABLE send_request ADD COLUMN lease_generation INTEGER NOT NULL DEFAULT 0
    CHECK (lease_generation >= 0);
