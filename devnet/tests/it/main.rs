//! Contract tests against real anvil nodes started by each test (never a shared or external
//! chain). The expected values come from `causeway_proofs`, which the contracts must match byte
//! for byte: message encoding and id, RFC 9162 roots and proofs, checkpoint digests and
//! signatures. Attack tests follow `shared/security/bridge-exploits.md` (T-numbers in comments)
//! and assert the exact custom error decoded from the revert data, then that nothing changed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod abi;
mod anchor;
mod anvil;
mod attacks;
mod delivery;
mod differential;
mod fabric_fidelity;
mod fabric_network;
mod fisco_node;
mod gas;
mod hyperlane;
mod outbox;
mod postgres;
mod private_message;
mod replay;
mod support;
mod validators;
