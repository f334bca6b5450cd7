-- The lane counts and the status events written by the store's own statements, not by
-- triggers (issue 15: one outcome and `bench pipeline --postgres` against SQLite's schema 11).
--
-- Schema 2 kept both with statement triggers over transition tables: every statement that
-- inserted or changed delivery rows ran a PL/pgSQL function that materialized the statement's
-- old and new rows, joined them by message id, and ran three more statements (the counts out
-- of the old states, into the new ones, the events). From here on each of those statements
-- writes them itself, in the same statement (data-modifying CTEs over the rows it returns; see
-- `postgres/bookkeeping.rs`): one grouped count update per lane and state left, one grouped
-- upsert per lane and state entered, and one INSERT ... SELECT of the events, numbered after
-- the last in log order (origin, leaf index), as the triggers numbered them. The counts, the
-- events (status, reason, time) and their numbers are the same; the history is untouched.
--
-- As with SQLite's schema 11, a delivery row changed outside the store's statements (by hand,
-- in psql) is no longer counted or logged: the store is the only writer of its tables.
-- The append-only and identity triggers stay, and so does the log's contiguity check.

DROP TRIGGER delivery_inserted ON delivery;
DROP FUNCTION delivery_inserted();
DROP TRIGGER delivery_updated ON delivery;
DROP FUNCTION delivery_updated();

-- Room in each delivery page for its rows' next versions (new pages only; existing ones fill
-- up as they are rewritten). A change that moves no indexed column (renewing a submission's
-- follow lease, taking it over) is then a HOT update: the new version on the same page, no
-- index entry written. Changes of state still write one per index (`delivery_work` holds the
-- state), now mostly on the same page.
ALTER TABLE delivery SET (fillfactor = 70);
