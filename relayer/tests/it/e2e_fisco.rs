//! The relayer end to end between the FISCO BCOS test node of `causeway_devnet` and an anvil
//! chain (issue 14), in both crypto modes: messages dispatched on FISCO BCOS are read by
//! `FiscoSource` (every block's sealer quorum and every receipt's Merkle proof checked),
//! re-checked by `FiscoNativeVerifier`, attested by a 2-of-3 committee and delivered by
//! `EvmDestination`; and messages from anvil are delivered to the Inbox on FISCO BCOS by
//! `FiscoDestination` with transactions signed in the chain's mode. In process; the same through
//! `causeway run` processes is `gateway/tests/it/fisco_consortium.rs`.

mod evm_to_fisco;
mod fisco_to_evm;
