-- An EVM source proof's compact form as bytes (issue 11).
--
-- Until now `native_proof` (TEXT, the table is STRICT) held an EVM source proof's compact
-- binary form in base64 after the marker `evm-compact-v1:`, and every other native proof as
-- its JSON. From here on the compact form is written as bytes into `native_proof_compact`
-- (`native_proof` then NULL): no base64 to write or read, and a row a quarter smaller. Other
-- proofs stay JSON in `native_proof`. At most one of the two is set. Rows accepted before
-- keep their text as it is (base64 cannot be decoded in SQLite's SQL); readers take both
-- forms, to the same proof. PostgreSQL's migration 0007 adds the same column (BYTEA).
ALTER TABLE message ADD COLUMN native_proof_compact BLOB;
