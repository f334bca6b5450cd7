//! The relayer end to end between an anvil chain and the Fabric test network of
//! `causeway_devnet` (issue 4): 500 messages each way, every one delivered exactly once with
//! its proofs checked at the destination.

mod evm_to_fabric;
mod fabric_to_evm;
pub(crate) mod support;
