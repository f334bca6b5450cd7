//! `causeway-proofs`: everything in Causeway that can be verified, and nothing that does I/O.
//!
//! This crate sits at the bottom of the architecture. It defines the canonical [`Message`]
//! whose keccak-256 is its id, the append-only Merkle log of RFC 9162 (roots, inclusion and
//! consistency proofs) over SHA-256, Keccak-256 or SM3, the [`Checkpoint`] that commits to a
//! log, the threshold [`attestation`] of validator gateways (secp256k1, low-s, recoverable so that
//! Solidity's `ecrecover` checks the same bytes), and the [`ProofBundle`] that lets anyone check
//! one relayed message offline. Adapters add native-chain proofs on top; the relayer and the
//! gateway only ever move these values around.

pub mod attestation;
pub mod bundle;
pub mod checkpoint;
mod error;
pub mod evm;
pub mod fabric;
pub mod hash;
pub mod log;
pub mod message;
pub mod sm;

pub use attestation::{
    EvmAddress, Signature, ValidatorKey, ValidatorSet, VerifiedQuorum, verify_attestations,
};
pub use bundle::{ProofBundle, TrustAnchor, Verdict};
pub use checkpoint::{Checkpoint, SigningDomain};
pub use error::Error;
pub use hash::{Hash32, HashAlgorithm};
pub use log::{ConsistencyProof, InclusionProof, LeafIndex, LogSize, MerkleLog};
pub use message::{Address32, Domain, Message, MessageId, Nonce};
