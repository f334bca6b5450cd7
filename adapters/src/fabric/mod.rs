//! Hyperledger Fabric: the wire protocol ([`proto`], generated from `adapters/proto/`), block
//! decoding and hash-chain checks ([`block`]) and MSP identities with Fabric's signature rules
//! ([`identity`]), the signature checks of a block's contents and endorsement policies
//! ([`policy`]). Apart from the peer client ([`client`]) and MSP folder loading ([`msp`]),
//! everything here is offline: bytes in, checked values or a [`FabricError`]
//! out, failing closed.

pub mod block;
pub mod client;
mod error;
pub mod identity;
pub mod msp;
pub mod policy;
pub mod proto;
pub mod request;
mod verify;

pub use block::{
    EndorsedAction, FabricBlock, FabricTransaction, HeaderHash, ValidationCode, data_hash,
    header_bytes, header_hash, verify_chain,
};
pub use client::{
    BlockStream, ChaincodeEventStream, CommitStatus, EndorsedTransaction, FabricClient, TlsConfig,
    TlsIdentity,
};
pub use error::FabricError;
pub use identity::{
    FabricIdentity, MspRoots, SigningIdentity, TransactionId, TrustedMsps,
    verify_endorsement_signature, verify_signature,
};
pub use msp::MspFolder;
pub use policy::EndorsementPolicy;
