//! `causeway-relayer`: the pipeline that moves proven messages between chains.
//!
//! Stages, each its own task joined by bounded channels: watch a source chain, verify each
//! event's native proof, append it to the origin's Merkle log, sign the checkpoint, deliver
//! batches to the destination and confirm them. Every accepted event is durable in the store
//! (SQLite embedded; PostgreSQL for several replicas) before it is acknowledged, so a restart
//! resumes where it stopped. The relayer is untrusted by design: destinations recompute and
//! check everything it hands them.
//!
//! - [`store`]: the durable store behind the [`Store`](store::Store) trait, with its SQLite
//!   implementation ([`SqliteStore`](store::SqliteStore)).
//! - [`pipeline`]: the stages as tokio tasks, built with [`Relayer`] and run behind a
//!   [`RelayerHandle`].
//! - [`Error`]: the crate's one error enum.

mod error;
pub mod pipeline;
pub mod store;

pub use causeway_adapters as adapters;
pub use causeway_config as config;
pub use error::{BackendError, Error};
pub use pipeline::{Relayer, RelayerHandle};
