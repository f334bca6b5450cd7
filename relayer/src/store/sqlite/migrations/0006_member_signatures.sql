-- Checkpoint agreement between member gateways (issue 11). Other members' validators send their
-- signatures; a signature over this gateway's own root for that size joins checkpoint_signature,
-- one over another root (a root mismatch) is kept here, never counted: a validator that signs
-- two roots for one lane and size is caught whichever root came first.
CREATE TABLE foreign_signature (
    origin         INTEGER NOT NULL,
    destination    INTEGER NOT NULL,
    size           INTEGER NOT NULL CHECK (size >= 0),
    validator      BLOB    NOT NULL CHECK (length(validator) = 20),
    hash_algorithm INTEGER NOT NULL,
    root           BLOB    NOT NULL CHECK (length(root) = 32),
    signature      BLOB    NOT NULL CHECK (length(signature) = 65),
    recorded_at    INTEGER NOT NULL,
    PRIMARY KEY (origin, destination, size, validator)
) STRICT, WITHOUT ROWID;

-- Evidence that a validator equivocated on a lane (two roots, one size), as the JSON anyone checks
-- offline (`causeway verify --evidence`). One per validator and lane: from then on that
-- validator's signatures do not count on the lane. Never deleted.
CREATE TABLE equivocation (
    origin      INTEGER NOT NULL,
    destination INTEGER NOT NULL,
    validator   BLOB    NOT NULL CHECK (length(validator) = 20),
    size        INTEGER NOT NULL CHECK (size >= 0),
    evidence    TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (origin, destination, validator)
) STRICT;
CREATE TRIGGER equivocation_no_delete BEFORE DELETE ON equivocation
BEGIN SELECT RAISE(ABORT, 'equivocation evidence is kept for ever'); END;
CREATE TRIGGER equivocation_no_update BEFORE UPDATE ON equivocation
BEGIN SELECT RAISE(ABORT, 'equivocation evidence is kept for ever'); END;
