-- The destination adapter's handle of the transaction that carries a submitted message (the JSON of
-- causeway_adapters::SubmissionHandle: family and data), so that a restarted relayer follows its
-- submissions to their outcome instead of only asking the destination's replay record (which
-- cannot tell a still-pending transaction from a lost one). NULL on rows submitted by a build
-- without this column; cleared whenever a message leaves the submitted state for pending.
ALTER TABLE delivery ADD COLUMN submission_handle TEXT
    CHECK (submission_handle IS NULL OR length(submission_handle) <= 16384);
