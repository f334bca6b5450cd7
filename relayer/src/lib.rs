//! `causeway-relayer`: the pipeline that moves proven messages between chains.
//!
//! Stages, each its own task joined by bounded channels: watch a source chain, verify each
//! event's native proof, append it to the origin's Merkle log, sign the checkpoint, deliver
//! batches to the destination and confirm them. Every accepted event is durable in the store
//! (SQLite embedded; PostgreSQL for several replicas) before it is acknowledged, so a restart
//! resumes where it stopped. The relayer is untrusted by design: destinations recompute and
//! check everything it hands them.
//!
//! The pipeline and its store arrive with the EVM issue; this crate currently only fixes its
//! place above `causeway-proofs`, `causeway-adapters` and `causeway-config`.

pub use causeway_adapters as adapters;
pub use causeway_config as config;
