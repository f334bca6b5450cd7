//! `causeway-adapters`: the boundary between Causeway and the chains it connects.
//!
//! Each chain family gets one module here — `evm` (alloy), `fabric` (tonic gRPC and Fabric's
//! protobufs) and `fisco` (JSON-RPC) — implementing small traits defined for the relayer: a
//! *source* that streams finalized events from a cursor together with their native proof, a
//! *destination* that submits a batch and reports its outcome, and a *state reader*. Every
//! event an adapter yields becomes a `causeway_proofs::Message`; nothing above this crate ever
//! talks to a chain client directly.
//!
//! The chain traits and the EVM adapter arrive with the EVM issue; Fabric and FISCO BCOS
//! implement the same traits afterwards. Until then this crate only fixes its place in the
//! dependency graph (it depends on `causeway-proofs` and nothing else of ours).

pub use causeway_proofs::{Domain, Message, MessageId};
