//! Hyperledger Fabric: the parts that talk to peers over the Gateway and Deliver services — the
//! client ([`client`]), the chain adapters built on it ([`FabricSource`] reading the outbox's
//! events block by block, [`FabricDestination`] delivering to the inbox chaincode,
//! [`FabricStateReader`] reading chaincode state with its endorsements), the requests
//! fabric-gateway builds ([`request`]), MSP folder loading ([`msp`]) and the gRPC stubs
//! ([`proto`]). The offline checks — block decoding and hashing ([`block`]), MSP identities
//! ([`identity`]), endorsement policies ([`policy`]) and the native proof of a Fabric message
//! ([`FabricNativeVerifier`]) — are `causeway_proofs::fabric`'s, re-exported here. A Fabric
//! channel's chain id in checkpoint signing domains is configured, never read from the ledger
//! ([`inbox_wire::inbox_signing_domain`]).

pub use causeway_proofs::fabric::{block, identity, policy};

pub mod client;
pub mod destination;
pub mod inbox_wire;
pub mod msp;
mod native;
pub mod proto;
pub mod request;
mod source;
pub mod state;

pub use block::{
    EndorsedAction, FabricBlock, FabricTransaction, HeaderHash, ValidationCode, data_hash,
    header_bytes, header_hash, verify_chain,
};
pub use causeway_proofs::fabric::FabricError;
pub use causeway_proofs::fabric::VALIDATION_CODE_UNPROVED;
pub use causeway_proofs::fabric::{
    DEFAULT_OUTBOX_CHAINCODE, DISPATCH_EVENT, FabricNativeVerifier, FabricSourceProof,
    FabricVerifierConfig, MAX_PROOF_BLOCK_LEN,
};
pub use client::{
    BlockStream, ChaincodeEventStream, CommitStatus, EndorsedTransaction, FabricClient, TlsConfig,
    TlsIdentity,
};
pub use destination::{FabricDestination, FabricDestinationConfig, FabricSubmission};
pub use identity::{
    FabricIdentity, MspRole, MspRoots, SigningIdentity, TransactionId, TrustedMsps,
    verify_endorsement_signature, verify_signature,
};
pub use msp::MspFolder;
pub use native::msp_roots_from_files;
pub use policy::EndorsementPolicy;
pub use source::{FabricSource, FabricSourceConfig, FabricSourceCounters};
pub use state::{
    DEFAULT_READ_MAX_AGE, FabricStateProof, FabricStateReader, FabricStateReaderConfig,
    VerifiedRead,
};
