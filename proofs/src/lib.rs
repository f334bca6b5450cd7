//! `causeway-proofs`: everything in Causeway that can be verified, and nothing that does I/O.
//!
//! This crate sits at the bottom of the architecture. It defines the canonical [`Message`]
//! whose keccak-256 is its id, the append-only Merkle log of RFC 9162 (roots, inclusion and
//! consistency proofs) over SHA-256, Keccak-256 or SM3, the [`Checkpoint`] that commits to a
//! log, the threshold [`attestation`] of validator gateways (secp256k1, low-s, recoverable so that
//! Solidity's `ecrecover` checks the same bytes), and the [`ProofBundle`] that lets anyone check
//! one relayed message offline. Adapters add native-chain proofs on top; the relayer and the
//! gateway only ever move these values around.

/// Implements `Serialize` as the text `$text` makes of a value, and `Deserialize` by parsing
/// that text with the type's `FromStr`: the JSON form of the protocol's textual types (hashes,
/// addresses, signatures, keys, ids) is their text, written and read in one place.
#[macro_export]
macro_rules! serde_as_text {
    ($t:ty, $text:expr) => {
        impl $crate::__private::serde::Serialize for $t {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                s: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                let text: fn(&$t) -> ::std::string::String = $text;
                s.serialize_str(&text(self))
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $t {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                d: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as $crate::__private::serde::Deserialize>::deserialize(d)?;
                s.parse()
                    .map_err(<D::Error as $crate::__private::serde::de::Error>::custom)
            }
        }
    };
}

#[doc(hidden)]
pub mod __private {
    //! What [`serde_as_text!`](crate::serde_as_text) expands to needs, from the crate that
    //! defines it.
    pub use serde;
}

pub mod attestation;
pub mod bundle;
pub mod checkpoint;
mod error;
pub mod evm;
pub mod fabric;
pub mod fisco;
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
