//! The payload commitment: what a private message carries on chain as its body.
//!
//! `commitment = SHA-256("causeway/payload-commitment/v1" ‖ context ‖ salt ‖ plaintext)` where
//! `context` is the 48-byte envelope context (origin ‖ destination ‖ nonce ‖ sender, see
//! [`EnvelopeContext::to_bytes`]) and `salt` a 32-byte secret derived from the content key, so
//! that recipients (and grantees) can recompute it after opening and nobody else can test
//! guesses of a low-entropy plaintext. It binds the *plaintext*, not the ciphertext: even a
//! sender who crafted a ciphertext valid under two keys could not make two recipients accept
//! two plaintexts under one on-chain commitment (T44). Computed streaming, chunk by chunk.

use core::fmt;
use core::str::FromStr;

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::EnvelopeContext;
use crate::Error;

/// Domain-separation prefix of the payload commitment.
const TAG: &[u8] = b"causeway/payload-commitment/v1";

/// The salt of a payload commitment: secret until a recipient chooses to reveal it together
/// with the plaintext (to an auditor, say). Zeroized on drop; `Debug` redacts it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CommitmentSalt([u8; 32]);

impl CommitmentSalt {
    /// Wraps 32 salt bytes (e.g. revealed by a recipient).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        CommitmentSalt(bytes)
    }

    /// The salt bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for CommitmentSalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommitmentSalt(<redacted>)")
    }
}

/// A salted commitment to a private payload's plaintext and context. Public; compared in
/// constant time. Serialised as `0x`-prefixed hex.
#[derive(Clone, Copy)]
pub struct PayloadCommitment(pub [u8; 32]);

impl PayloadCommitment {
    /// Recomputes the commitment of `plaintext` sealed under `context` with `salt`: what an
    /// auditor does once a recipient reveals the salt.
    pub fn compute(context: &EnvelopeContext, salt: &CommitmentSalt, plaintext: &[u8]) -> Self {
        let mut h = CommitmentHasher::new(context, salt);
        h.update(plaintext);
        h.finish()
    }

    /// The commitment bytes (the message body on chain).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// `Ok` if `self` equals `expected` (constant time), else
    /// [`Error::PayloadCommitmentMismatch`].
    pub fn verify(&self, expected: &PayloadCommitment) -> Result<(), Error> {
        if bool::from(self.ct_eq(expected)) {
            Ok(())
        } else {
            Err(Error::PayloadCommitmentMismatch)
        }
    }
}

impl ConstantTimeEq for PayloadCommitment {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for PayloadCommitment {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for PayloadCommitment {}

impl fmt::Display for PayloadCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PayloadCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayloadCommitment({})", self.to_hex())
    }
}

impl FromStr for PayloadCommitment {
    type Err = causeway_proofs::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        causeway_proofs::hash::parse_hex_array::<32>(s, "payload commitment").map(PayloadCommitment)
    }
}

causeway_proofs::serde_as_text!(PayloadCommitment, PayloadCommitment::to_hex);

/// Streaming computation of a [`PayloadCommitment`].
pub(crate) struct CommitmentHasher(Sha256);

impl CommitmentHasher {
    pub(crate) fn new(context: &EnvelopeContext, salt: &CommitmentSalt) -> Self {
        let mut h = Sha256::new();
        h.update(TAG);
        h.update(context.to_bytes());
        h.update(salt.0);
        CommitmentHasher(h)
    }

    pub(crate) fn update(&mut self, plaintext: &[u8]) {
        self.0.update(plaintext);
    }

    pub(crate) fn finish(self) -> PayloadCommitment {
        PayloadCommitment(self.0.finalize().into())
    }
}
