-- SQLite's send-request leases (its migration "send requests leased to one dispatcher"): a
-- dispatcher takes a request with a lease (owner, end on the database's clock, generation);
-- every write about it names the owner and generation and is refused once the request was
-- leased again. `lease_until` NULL: released or never leased.
ALTER TABLE send_request ADD COLUMN lease_owner TEXT;
ALTER TABLE send_request ADD COLUMN lease_until BIGINT;
ALTER TABLE send_request ADD COLUMN lease_generation BIGINT NOT NULL DEFAULT 0
    CHECK (lease_generation >= 0);
