//! The FISCO BCOS 3.x family adapter, over the node's JSON-RPC (HTTP; HTTPS when the node's
//! RPC has TLS), in either crypto mode (ECDSA + Keccak-256, or SM2 + SM3).
//!
//! - [`FiscoSource`]: the Outbox's `Dispatch` logs in block order, each yielded only after its
//!   receipt proof (to the header's receipts root) and the header's seal (2f+1 distinct
//!   configured sealers) verified; blocks are final once committed (PBFT).
//! - [`FiscoNativeVerifier`]: the same check offline.
//! - [`FiscoDestination`]: `Inbox.deliverBatch` by transactions signed in the chain's mode,
//!   their outcomes and the Inbox's statuses.
//! - [`FiscoStateReader`]: view calls at the head (FISCO BCOS has no state proofs over RPC:
//!   the read says the value is not proven).
//!
//! Every adapter asks the group's nodes through one [`FiscoRpc`] (all configured endpoints,
//! with failover; requests counted in the chain's metrics).
//!
//! FISCO BCOS runs the same Solidity contracts as EVM chains: the ABI, bindings, revert
//! decoding and the reading of the Inbox's per-message events are the EVM adapter's. Facts and
//! sources: `docs/fisco.md`.

mod destination;
mod rpc;
mod seals;
mod source;
mod state;

pub use destination::{FiscoDestination, FiscoDestinationConfig, FiscoSubmission};
pub use rpc::{CallResult, FiscoRpc, READ_TIMEOUT, SEND_TIMEOUT};
pub use source::{DEFAULT_RANGE, FiscoNativeVerifier, FiscoSource, FiscoSourceConfig};
pub use state::FiscoStateReader;
