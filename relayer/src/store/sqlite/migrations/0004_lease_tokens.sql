-- Fencing by lease, not by owner name (issue 10). Every lease call takes the next token from
-- lease_sequence and writes it on every row it leases; a write about a lease (mark submitted,
-- record a failure before submitting) names its token and is refused once the row was leased
-- again, whoever holds it now. Rows leased by an older build have no token: their lease expires
-- and they are leased again with one.
ALTER TABLE delivery ADD COLUMN lease_token INTEGER;

CREATE TABLE lease_sequence (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL CHECK (last >= 0)
) STRICT;

INSERT INTO lease_sequence (id, last) VALUES (1, 0);
