//! The one on-chain commitment of a private message: it binds the envelope (header, recipient
//! list, ciphertext) and the selective-disclosure tree (root and size) under the message
//! context. The exact byte layout, and why it binds, is in `docs/private-messages.md`.
//!
//! ```text
//! recipients digest = SHA-256("causeway/recipients/v2" ‖ n (u16) ‖ key id 1 ‖ … ‖ key id n)
//! payload digest    = BLAKE3-derive-key("causeway 2026-12 envelope payload v2", chunk stream)
//! envelope digest   = SHA-256("causeway/envelope-digest/v2" ‖ envelope id (16) ‖
//!                             header digest (32) ‖ recipients digest (32) ‖ payload digest (32))
//! commitment        = SHA-256(TAG (32) ‖ context (48) ‖ envelope digest (32) ‖
//!                             disclosure root (32) ‖ disclosure leaves (u64, 8))
//! TAG               = "causeway/message-commitment/v2" padded with zero bytes to 32
//! ```
//!
//! Security decisions:
//! - Every SHA-256 input has a fixed layout per tag (the one variable-length input, the
//!   recipient list, starts with its count), so no input is a prefix-extension of another:
//!   SHA-256's length extension yields no other valid commitment. The commitment's own input is
//!   152 bytes, cheap to recompute on chain (the SHA-256 precompile).
//! - The payload digest covers the *ciphertext* (chunks and their tags) with a
//!   collision-resistant hash, not only the GCM tags: whoever holds the key can make a second
//!   ciphertext with the same GCM tag (GHASH is linear in known keys). Decryption is
//!   deterministic under the content key, which the key commitment (inside the header digest)
//!   fixes, so binding the ciphertext binds the plaintext. It is one pass over bytes already in
//!   cache, and anyone holding the envelope bytes, key or not, can check them against the chain.
//! - The disclosure tree's size is inside the commitment: a discloser cannot state another.

use core::fmt;
use core::str::FromStr;

use causeway_proofs::Hash32;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::EnvelopeContext;
use crate::Error;
use crate::disclosure::PayloadRoot;
use crate::keys::KeyId;

/// The commitment's domain tag: ASCII, zero-padded to one 32-byte word.
pub const COMMITMENT_TAG: [u8; 32] = *b"causeway/message-commitment/v2\0\0";
const RECIPIENTS_TAG: &[u8] = b"causeway/recipients/v2";
const ENVELOPE_TAG: &[u8] = b"causeway/envelope-digest/v2";
/// BLAKE3 key-derivation context of the payload digest (its domain separation).
const PAYLOAD_CONTEXT: &str = "causeway 2026-12 envelope payload v2";

/// The on-chain commitment of a private message (the message body). Public; compared in
/// constant time; `0x`-prefixed hex in text.
#[derive(Clone, Copy)]
pub struct MessageCommitment(pub [u8; 32]);

impl MessageCommitment {
    /// The commitment bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// `Ok` if `self` equals `expected` (constant time), else
    /// [`Error::MessageCommitmentMismatch`].
    pub fn verify(&self, expected: &MessageCommitment) -> Result<(), Error> {
        if bool::from(self.ct_eq(expected)) {
            Ok(())
        } else {
            Err(Error::MessageCommitmentMismatch)
        }
    }
}

impl ConstantTimeEq for MessageCommitment {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for MessageCommitment {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for MessageCommitment {}

impl fmt::Display for MessageCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for MessageCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageCommitment({})", self.to_hex())
    }
}

impl FromStr for MessageCommitment {
    type Err = causeway_proofs::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        causeway_proofs::hash::parse_hex_array::<32>(s, "message commitment").map(MessageCommitment)
    }
}

causeway_proofs::serde_as_text!(MessageCommitment, MessageCommitment::to_hex);

/// What the gateway knows from the chain before it opens an envelope: the message it belongs
/// to and the commitment its body carries. [`crate::envelope::open`] refuses anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedMessage {
    /// The on-chain message's origin, destination, nonce and sender.
    pub context: EnvelopeContext,
    /// The on-chain message body.
    pub commitment: MessageCommitment,
}

/// The public inputs of a [`MessageCommitment`] besides the context: no secret, shareable with
/// anyone (an auditor, a disclosure's verifier, a Solidity verifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentInputs {
    /// The envelope digest (id, header, recipients, ciphertext).
    pub envelope_digest: Hash32,
    /// The selective-disclosure root (zero when the payload has no disclosure tree).
    pub disclosure_root: Hash32,
    /// Leaves of the disclosure tree (0 when none). Bound: a disclosure proven in a tree of
    /// another size fails.
    pub disclosure_leaves: u64,
}

impl CommitmentInputs {
    /// The commitment of these inputs under `context`.
    pub fn commitment(&self, context: &EnvelopeContext) -> MessageCommitment {
        let mut h = Sha256::new();
        h.update(COMMITMENT_TAG);
        h.update(context.to_bytes());
        h.update(self.envelope_digest.0);
        h.update(self.disclosure_root.0);
        h.update(self.disclosure_leaves.to_be_bytes());
        MessageCommitment(h.finalize().into())
    }

    /// The disclosure root as a [`PayloadRoot`].
    pub fn disclosure_root(&self) -> PayloadRoot {
        PayloadRoot(self.disclosure_root)
    }
}

/// The public parts of an envelope digest: enough for anyone to check from the chain alone
/// which keys an envelope was sealed for (an auditor's presence), without any secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeDigestInputs {
    /// The envelope id.
    pub envelope_id: super::EnvelopeId,
    /// SHA-256 of the header's preamble, recipient count and recipient blocks.
    pub header_digest: Hash32,
    /// The recipients' key ids, in header order.
    pub recipients: Vec<KeyId>,
    /// The BLAKE3 payload digest of the chunk stream.
    pub payload_digest: Hash32,
}

impl EnvelopeDigestInputs {
    /// The envelope digest these inputs hash to.
    pub fn envelope_digest(&self) -> Hash32 {
        envelope_digest(
            &self.envelope_id,
            &self.header_digest.0,
            &recipients_digest(&self.recipients),
            &self.payload_digest.0,
        )
    }

    /// `Ok` if these inputs hash to `inputs.envelope_digest` and, with `context`, to
    /// `on_chain`, and `key_id` is among the recipients: proof from the chain alone that the
    /// envelope was sealed for `key_id` (an auditor, say).
    pub fn check_recipient(
        &self,
        key_id: &KeyId,
        context: &EnvelopeContext,
        inputs: &CommitmentInputs,
        on_chain: &MessageCommitment,
    ) -> Result<(), Error> {
        if self.envelope_digest() != inputs.envelope_digest {
            return Err(Error::MessageCommitmentMismatch);
        }
        inputs.commitment(context).verify(on_chain)?;
        if self.recipients.contains(key_id) {
            Ok(())
        } else {
            Err(Error::NotARecipient { key_id: *key_id })
        }
    }
}

/// SHA-256 of the recipients' key ids with their count.
pub fn recipients_digest(recipients: &[KeyId]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(RECIPIENTS_TAG);
    h.update(
        u16::try_from(recipients.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    for id in recipients {
        h.update(id.0);
    }
    h.finalize().into()
}

pub(crate) fn envelope_digest(
    id: &super::EnvelopeId,
    header_digest: &[u8; 32],
    recipients_digest: &[u8; 32],
    payload_digest: &[u8; 32],
) -> Hash32 {
    let mut h = Sha256::new();
    h.update(ENVELOPE_TAG);
    h.update(id.0);
    h.update(header_digest);
    h.update(recipients_digest);
    h.update(payload_digest);
    Hash32(h.finalize().into())
}

/// Streaming BLAKE3 of the chunk stream (ciphertext and tags, as stored).
pub(crate) struct PayloadHasher(blake3::Hasher);

impl PayloadHasher {
    pub(crate) fn new() -> Self {
        PayloadHasher(blake3::Hasher::new_derive_key(PAYLOAD_CONTEXT))
    }

    pub(crate) fn update(&mut self, chunk_bytes: &[u8]) {
        self.0.update(chunk_bytes);
    }

    pub(crate) fn finish(&self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}
