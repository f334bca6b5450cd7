//! What the chaincodes share with the off-chain Fabric adapter: the inbox's wire format (batch
//! JSON, per-message results, the revert encoding, the checkpoint signing domain) and the
//! protocol's named revert reasons and message outcomes. Every import from
//! `causeway-adapters` is here, so moving those types to another crate changes only this file.

pub(crate) use causeway_adapters::chain::{MessageOutcome, RevertReason};
/// The chaincode name the network installs the inbox under (the adapter's default).
pub use causeway_adapters::fabric::inbox_wire::INBOX_CHAINCODE;
pub(crate) use causeway_adapters::fabric::inbox_wire::{
    DeliveryResult, FabricDeliveryBatch, WireCheckpoint, encode_results, encode_revert,
    inbox_signing_domain,
};

#[cfg(test)]
pub(crate) use causeway_adapters::chain::DeliveryBatch;
#[cfg(test)]
pub(crate) use causeway_adapters::fabric::inbox_wire::{WireBytes, decode_revert, parse_results};
