-- Leaner delivery transitions, and a lane's last delivery without a scan (issue 11).
--
-- - `delivery_age` (origin, destination, state, created_at) is dropped. Its one reader was a
--   lane's oldest unfinished message, and every state change of every message rewrote one of
--   its entries (a delete and an insert), a sixth of the b-tree work of a message's life. Rows
--   are inserted in log order as they are accepted, so within a lane the first row of a state
--   by leaf index (`delivery_work`) is also its oldest; `lane_stats` reads that instead.
-- - `lane_last_delivery` holds each lane's latest confirmation, written once per confirmed
--   batch. `last_delivery` read it by sorting every confirmed row of the lane on each call (a
--   metrics scrape, `causeway status`): a cost that grew with the lane's history.

DROP INDEX delivery_age;

CREATE TABLE lane_last_delivery (
    origin       INTEGER NOT NULL,
    destination  INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,
    block        INTEGER NOT NULL,
    PRIMARY KEY (origin, destination)
) STRICT, WITHOUT ROWID;

INSERT INTO lane_last_delivery (origin, destination, confirmed_at, block)
SELECT origin, destination, updated_at, confirmed_block
FROM (
    SELECT origin, destination, updated_at, confirmed_block,
           row_number() OVER (PARTITION BY origin, destination
                              ORDER BY updated_at DESC, confirmed_block DESC) AS n
    FROM delivery WHERE state = 'confirmed'
)
WHERE n = 1;
