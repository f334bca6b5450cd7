//! The AEADs of the HPKE suites Causeway speaks: AES-128-GCM and AES-256-GCM (96-bit nonces,
//! 128-bit tags), from the `aes-gcm` crate.

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};

use crate::Error;

/// Length of an AES-GCM nonce (`Nn`).
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag (`Nt`).
pub const TAG_LEN: usize = 16;

/// An HPKE AEAD algorithm (RFC 9180 §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Aead {
    /// AES-128-GCM, id 0x0001.
    Aes128Gcm,
    /// AES-256-GCM, id 0x0002. Causeway's envelopes use this one.
    Aes256Gcm,
}

impl Aead {
    /// The IANA identifier.
    pub fn id(self) -> u16 {
        match self {
            Aead::Aes128Gcm => 0x0001,
            Aead::Aes256Gcm => 0x0002,
        }
    }

    /// The algorithm with IANA identifier `id`.
    pub fn from_id(id: u16) -> Result<Self, Error> {
        match id {
            0x0001 => Ok(Aead::Aes128Gcm),
            0x0002 => Ok(Aead::Aes256Gcm),
            id => Err(Error::UnsupportedAead { id }),
        }
    }

    /// Key length `Nk`.
    pub fn key_len(self) -> usize {
        match self {
            Aead::Aes128Gcm => 16,
            Aead::Aes256Gcm => 32,
        }
    }
}

/// An AES-GCM key ready for use. The cipher state is zeroized on drop (`aes-gcm`'s `zeroize`
/// feature).
pub struct AeadKey(Inner);

enum Inner {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
}

impl AeadKey {
    /// The key `key` for algorithm `aead`; `key` must be `aead.key_len()` bytes.
    pub fn new(aead: Aead, key: &[u8]) -> Result<Self, Error> {
        let wrong = || Error::InvalidKeyLength {
            what: "AES-GCM key",
            expected: aead.key_len(),
            actual: key.len(),
        };
        Ok(AeadKey(match aead {
            Aead::Aes128Gcm => Inner::Aes128(Box::new(
                Aes128Gcm::new_from_slice(key).map_err(|_| wrong())?,
            )),
            Aead::Aes256Gcm => Inner::Aes256(Box::new(
                Aes256Gcm::new_from_slice(key).map_err(|_| wrong())?,
            )),
        }))
    }

    /// `ciphertext ‖ tag` of `plaintext` under `nonce` and associated data `aad`. Fails only for
    /// inputs beyond GCM's limits (2^36 - 32 bytes of plaintext).
    pub fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let nonce = &Nonce::from(*nonce);
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        let len = plaintext.len() as u64;
        match &self.0 {
            Inner::Aes128(c) => c.encrypt(nonce, payload),
            Inner::Aes256(c) => c.encrypt(nonce, payload),
        }
        .map_err(|_| Error::AeadLimit { len })
    }

    /// The plaintext of `ciphertext ‖ tag`, or [`Error::AeadOpen`].
    pub fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let nonce = &Nonce::from(*nonce);
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        match &self.0 {
            Inner::Aes128(c) => c.decrypt(nonce, payload),
            Inner::Aes256(c) => c.decrypt(nonce, payload),
        }
        .map_err(|_| Error::AeadOpen)
    }
}

impl core::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AeadKey(<redacted>)")
    }
}
