//! Shared helpers: fixed keys and contexts, vector paths.

use causeway_privacy::envelope::{
    self, EnvelopeContext, ExpectedMessage, MessageCommitment, SealRequest, Sealed,
};
use causeway_privacy::keys::{KeyPair, PublicKey};
use causeway_proofs::Domain;
use causeway_proofs::message::{Address32, Nonce};

/// Path of a file under ../shared/vectors; `CAUSEWAY_VECTORS` overrides the folder (as in
/// proofs' tests), for checkouts such as worktrees that do not sit beside `shared/`.
pub(crate) fn vector_path(rel: &str) -> std::path::PathBuf {
    std::env::var_os("CAUSEWAY_VECTORS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
        })
        .join(rel)
}

/// Hex to bytes.
pub(crate) fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// A deterministic key pair numbered `n`.
pub(crate) fn key(n: u8) -> KeyPair {
    KeyPair::from_secret_bytes([n; 32])
}

/// The public keys of `keys`.
pub(crate) fn publics(keys: &[KeyPair]) -> Vec<PublicKey> {
    keys.iter().map(|k| *k.public_key()).collect()
}

/// A message context.
pub(crate) fn context() -> EnvelopeContext {
    EnvelopeContext {
        origin: Domain(31337),
        destination: Domain(1),
        nonce: Nonce(42),
        sender: Address32([0x5e; 32]),
    }
}

/// Deterministic payload bytes of length `len`.
pub(crate) fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

/// Seals `plaintext` for `recipients` under [`context`].
pub(crate) fn seal(recipients: &[PublicKey], plaintext: &[u8]) -> (Vec<u8>, envelope::Sealed) {
    envelope::seal_to_vec(
        &SealRequest {
            context: context(),
            recipients,
        },
        plaintext,
    )
    .unwrap()
}

/// What the chain says about a sealed envelope: its context and commitment.
pub(crate) fn expected(sealed: &Sealed) -> ExpectedMessage {
    ExpectedMessage {
        context: context(),
        commitment: sealed.commitment,
    }
}

/// The context and commitment (possibly tampered) envelope bytes claim for themselves, computed
/// without a key; a zero commitment when even the header does not parse (the open fails on it).
/// Tests open against it to reach the cryptographic checks behind the chain comparison.
pub(crate) fn self_expected(bytes: &[u8]) -> ExpectedMessage {
    match envelope::inspect(bytes) {
        Ok((header, sealed)) => ExpectedMessage {
            context: *header.context(),
            commitment: sealed.commitment,
        },
        Err(_) => ExpectedMessage {
            context: context(),
            commitment: MessageCommitment([0; 32]),
        },
    }
}
