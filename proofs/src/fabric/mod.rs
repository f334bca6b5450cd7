//! Native proofs of Hyperledger Fabric, checked offline: the wire messages ([`proto`], generated
//! from `proofs/proto/`), block decoding and hash-chain checks ([`block`]), MSP identities with
//! Fabric's signature rules ([`identity`]), endorsement policies ([`policy`]), the signature
//! checks of a block's contents, and the native proof of a message dispatched on Fabric
//! ([`FabricSourceProof`], checked by [`FabricNativeVerifier`]), and the inbox chaincode's batch
//! format ([`inbox_wire`]). Bytes in, checked values or a
//! [`FabricError`] out, failing closed; no I/O. The parts that talk to peers (client, source,
//! destination, state reader, MSP folders) are in `causeway-adapters`.

pub mod block;
mod error;
pub mod identity;
pub mod inbox_wire;
mod native;
pub mod policy;
pub mod proto;
mod verify;

pub use block::{
    EndorsedAction, FabricBlock, FabricTransaction, HeaderHash, ValidationCode, data_hash,
    header_bytes, header_hash, verify_chain,
};
pub use error::{FabricError, decode};
pub use identity::{
    FabricIdentity, MspRole, MspRoots, SigningIdentity, TransactionId, TrustedMsps,
    verify_endorsement_signature, verify_signature,
};
#[cfg(any(test, feature = "test-utils"))]
pub use native::testkit;
pub use native::{
    Candidate, Checker, DEFAULT_OUTBOX_CHAINCODE, DISPATCH_EVENT, FabricNativeVerifier,
    FabricSourceProof, FabricVerifierConfig, MAX_PROOF_BLOCK_LEN, Skip, VALIDATION_CODE_UNPROVED,
    native_proof,
};
pub use policy::EndorsementPolicy;
