//! Hyperledger Fabric: the wire protocol ([`proto`], generated from `adapters/proto/`), block
//! decoding and hash-chain checks ([`block`]), MSP identities with Fabric's signature rules
//! ([`identity`]), the signature checks of a block's contents and endorsement policies
//! ([`policy`]), and the requests fabric-gateway builds ([`request`]) — offline, bytes in,
//! checked values or a [`FabricError`] out, failing closed — and the parts that talk to peers
//! over the Gateway and Deliver services: the client ([`client`]), the chain adapters built on
//! it ([`FabricSource`] reading the outbox's events block by block, [`FabricDestination`]
//! delivering to the inbox chaincode, [`FabricStateReader`] reading chaincode state with its
//! endorsements), and MSP folder loading ([`msp`]). The native proof of a Fabric message
//! ([`FabricNativeVerifier`]) is checked offline. A Fabric channel's chain id in checkpoint
//! signing domains is configured, never read from the ledger ([`inbox_wire::inbox_signing_domain`]).

pub mod block;
pub mod client;
pub mod destination;
mod error;
pub mod identity;
pub mod inbox_wire;
pub mod msp;
mod native;
pub mod policy;
pub mod proto;
pub mod request;
mod source;
pub mod state;
mod verify;

pub use block::{
    EndorsedAction, FabricBlock, FabricTransaction, HeaderHash, ValidationCode, data_hash,
    header_bytes, header_hash, verify_chain,
};
pub use client::{
    BlockStream, ChaincodeEventStream, CommitStatus, EndorsedTransaction, FabricClient, TlsConfig,
    TlsIdentity,
};
pub use destination::{FabricDestination, FabricDestinationConfig, FabricSubmission};
pub use error::FabricError;
pub use identity::{
    FabricIdentity, MspRole, MspRoots, SigningIdentity, TransactionId, TrustedMsps,
    verify_endorsement_signature, verify_signature,
};
pub use msp::MspFolder;
pub use native::{
    DEFAULT_OUTBOX_CHAINCODE, DISPATCH_EVENT, FabricNativeVerifier, FabricSourceProof,
    FabricVerifierConfig, MAX_PROOF_BLOCK_LEN, VALIDATION_CODE_UNPROVED, msp_roots_from_files,
};
pub use policy::EndorsementPolicy;
pub use source::{FabricSource, FabricSourceConfig, FabricSourceCounters};
pub use state::{
    DEFAULT_READ_MAX_AGE, FabricStateProof, FabricStateReader, FabricStateReaderConfig,
    VerifiedRead,
};
