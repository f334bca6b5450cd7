//! Threshold attestations: validator gateways sign a [`Checkpoint`](crate::Checkpoint)'s digest
//! with secp256k1 ECDSA, and a checkpoint is final with `threshold` signatures from distinct
//! members of the configured [`ValidatorSet`].
//!
//! Signatures are 65 bytes `r ‖ s ‖ v` (v = 27 + recovery id) over the raw 32-byte digest, so the
//! Solidity Inbox checks the very same bytes with `ecrecover`. Every rule that bridge failures
//! taught (`security/bridge-exploits.md`, T01 and T09–T12) is enforced in [`verify_attestations`]:
//! low-s only (no malleated twin counts), r and s in range, v in {27, 28}, signer known, each
//! signer counted once, signers strictly ascending by address, and any single bad signature fails
//! the whole check (fail closed).
//!
//! - [`key`]: [`ValidatorKey`], a validator's secret signing key.
//! - [`signature`]: [`Signature`], recovery, EIP-2098 compact form, EIP-191 personal messages.
//! - [`evidence`]: [`Equivocation`], offline-checkable evidence of a validator signing two roots.
//! - [`quorum`]: [`ValidatorSet`] and [`verify_attestations`].

use core::fmt;
use core::str::FromStr;

use crate::Error;
use crate::hash::parse_hex_array;

pub mod evidence;
pub mod key;
pub mod quorum;
pub mod signature;
#[cfg(any(test, feature = "test-utils"))]
pub mod testkit;

pub use evidence::{EQUIVOCATION_FORMAT, Equivocation, SignedCheckpoint};
pub use key::ValidatorKey;
pub use quorum::{ValidatorSet, VerifiedQuorum, order_signatures, verify_attestations};
pub use signature::{Signature, hash_personal_message, recover};

/// A 20-byte Ethereum-style address: how validators are named (the last 20 bytes of the
/// keccak-256 of their uncompressed secp256k1 public key), so Solidity's `ecrecover` names
/// them the same way. Serialised as `0x`-prefixed lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EvmAddress(pub [u8; 20]);

impl EvmAddress {
    /// Whether every byte is zero (what `ecrecover` returns on garbage; never a validator).
    pub fn is_zero(&self) -> bool {
        self.0 == [0u8; 20]
    }
    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl fmt::Display for EvmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for EvmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for EvmAddress {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        parse_hex_array::<20>(s, "20-byte address").map(EvmAddress)
    }
}

crate::serde_as_text!(EvmAddress, EvmAddress::to_hex);
