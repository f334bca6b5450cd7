//! Shared helpers: fixed keys and contexts, vector paths, a replaying RNG.

use causeway_privacy::envelope::{self, EnvelopeContext, SealRequest};
use causeway_privacy::keys::{KeyPair, PublicKey};
use causeway_proofs::Domain;
use causeway_proofs::message::{Address32, Nonce};
use rand_core::{CryptoRng, RngCore};

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

/// An RNG that returns fixed bytes: replays a published ikmE so Encap uses that ephemeral key.
pub(crate) struct Replay(pub(crate) Vec<u8>);

impl RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(dest.len() <= self.0.len(), "replay RNG exhausted");
        let rest = self.0.split_off(dest.len());
        dest.copy_from_slice(&self.0);
        self.0 = rest;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Replay {}
