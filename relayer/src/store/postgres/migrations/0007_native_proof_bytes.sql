-- An EVM source proof's compact form as bytes (issue 11), as SQLite's migration 0015.
--
-- Until now `native_proof` held an EVM source proof's compact binary form in base64 after the
-- marker `evm-compact-v1:`, and every other native proof as its JSON. From here on the compact
-- form is written as bytes into `native_proof_compact` (`native_proof` then NULL): no base64 to
-- write or read, and a row a quarter smaller. Other proofs stay JSON in `native_proof`. At most
-- one of the two is set. Rows accepted before keep their text as it is (as on SQLite); readers
-- take both forms, to the same proof.
ALTER TABLE message ADD COLUMN native_proof_compact BYTEA;
