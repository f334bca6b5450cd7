//! The payload as a STREAM of AES-256-GCM chunks (Hoang, Reyhanitabar, Rogaway, Vizár,
//! "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015).
//!
//! Chunk `i` holds plaintext bytes `[i·C, (i+1)·C)` with C = 64 KiB, encrypted under the payload
//! key with nonce `prefix (7) ‖ i (u32 BE) ‖ last (0x00 or 0x01)` and empty associated data. All
//! chunks but the last hold exactly C bytes; the last holds 1..=C bytes, or 0 if the whole
//! payload is empty. Hence a reordered or dropped chunk fails (wrong counter), a stream cut at a
//! chunk boundary fails (its last chunk was sealed with flag 0), and appended data fails (the
//! real last chunk was sealed with flag 1). The stream runs to the end of the input.
//!
//! Memory is one chunk buffer (64 KiB + 16) whatever the payload size (two when opening: the
//! ciphertext stays intact so a failed chunk can be retried with the other flag). Each chunk is
//! written only after its tag verified; the final chunk only after it verified *as final*.
//!
//! The cipher is AWS-LC's AES-256-GCM (through `aws-lc-rs`: VAES/VPCLMULQDQ stitched assembly
//! where the CPU has it, the code OpenSSL runs). RustCrypto's `aes-gcm` stays in the tests as
//! the differential oracle: same key, nonce and data give the same ciphertext and tag.

use std::io::{self, Read, Write};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use super::commitment::PayloadHasher;
use super::secrets::{EnvelopeKeys, NONCE_PREFIX_LEN};
use crate::Error;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// AES-GCM tag bytes per chunk.
pub const CHUNK_TAG_LEN: usize = 16;

/// The payload cipher of one envelope.
pub(crate) struct ChunkCipher {
    aes: LessSafeKey,
    prefix: [u8; NONCE_PREFIX_LEN],
}

impl ChunkCipher {
    pub(crate) fn new(keys: &EnvelopeKeys) -> Result<Self, Error> {
        Self::from_parts(&keys.payload_key, keys.nonce_prefix)
    }

    /// The cipher of a raw payload key and nonce prefix.
    pub(crate) fn from_parts(
        key: &[u8; 32],
        prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, Error> {
        let key = UnboundKey::new(&AES_256_GCM, key).map_err(|_| Error::InvalidKeyLength {
            what: "AES-256-GCM payload key",
            expected: 32,
            actual: key.len(),
        })?;
        Ok(ChunkCipher {
            aes: LessSafeKey::new(key),
            prefix,
        })
    }

    /// The nonce of chunk `index`; refuses an index beyond the 32-bit counter.
    pub(crate) fn nonce(&self, index: u64, last: bool) -> Result<[u8; 12], Error> {
        let counter = u32::try_from(index).map_err(|_| Error::NonceExhausted {
            what: "envelope chunk",
        })?;
        let mut n = [0u8; 12];
        n[..NONCE_PREFIX_LEN].copy_from_slice(&self.prefix);
        n[NONCE_PREFIX_LEN..11].copy_from_slice(&counter.to_be_bytes());
        n[11] = u8::from(last);
        Ok(n)
    }

    /// Encrypts one chunk in place; returns its tag.
    pub(crate) fn encrypt(
        &self,
        index: u64,
        last: bool,
        buf: &mut [u8],
    ) -> Result<[u8; CHUNK_TAG_LEN], Error> {
        let nonce = Nonce::assume_unique_for_key(self.nonce(index, last)?);
        let tag = self
            .aes
            .seal_in_place_separate_tag(nonce, Aad::empty(), buf)
            .map_err(|_| Error::AeadLimit {
                len: buf.len() as u64,
            })?;
        let mut out = [0u8; CHUNK_TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts one chunk from `ct` into `out` (same length), leaving `ct` intact; `Ok(false)`
    /// if it does not authenticate (then `out` holds nothing usable).
    pub(crate) fn decrypt_into(
        &self,
        index: u64,
        last: bool,
        ct: &[u8],
        tag: &[u8; CHUNK_TAG_LEN],
        out: &mut [u8],
    ) -> Result<bool, Error> {
        let nonce = Nonce::assume_unique_for_key(self.nonce(index, last)?);
        Ok(self
            .aes
            .open_separate_gather(nonce, Aad::empty(), ct, tag, out)
            .is_ok())
    }

    /// Decrypts one chunk in place; `Ok(false)` if it does not authenticate.
    #[cfg(test)]
    pub(crate) fn decrypt(
        &self,
        index: u64,
        last: bool,
        ct: &mut [u8],
        tag: &[u8; CHUNK_TAG_LEN],
    ) -> Result<bool, Error> {
        let mut out = vec![0u8; ct.len()];
        let ok = self.decrypt_into(index, last, ct, tag, &mut out)?;
        if ok {
            ct.copy_from_slice(&out);
        }
        Ok(ok)
    }
}

/// Reads whole chunks and tells whether input follows, with a one-byte lookahead.
struct Chunks<R> {
    inner: R,
    pending: Option<u8>,
}

impl<R: Read> Chunks<R> {
    /// Fills `buf` as far as the input allows. Returns the bytes filled and whether the input
    /// is exhausted after them.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let mut n = 0;
        if let Some(b) = self.pending.take() {
            buf[0] = b;
            n = 1;
        }
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => return Ok((n, true)),
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let mut one = [0u8; 1];
        loop {
            match self.inner.read(&mut one) {
                Ok(0) => return Ok((n, true)),
                Ok(_) => {
                    self.pending = Some(one[0]);
                    return Ok((n, false));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The plaintext length of a chunk stream of `chunks_len` bytes, as a sealer writes them.
pub(crate) fn plaintext_len(chunks_len: u64) -> u64 {
    let full = (CHUNK_SIZE + CHUNK_TAG_LEN) as u64;
    let chunks = chunks_len.div_ceil(full).max(1);
    chunks_len.saturating_sub(chunks * CHUNK_TAG_LEN as u64)
}

/// Encrypts `plaintext` to `out` chunk by chunk, feeding the payload digest. Returns
/// `(plaintext bytes, ciphertext bytes)`.
pub(crate) fn seal_chunks(
    cipher: &ChunkCipher,
    hasher: &mut PayloadHasher,
    plaintext: impl Read,
    mut out: impl Write,
) -> Result<(u64, u64), Error> {
    let mut src = Chunks {
        inner: plaintext,
        pending: None,
    };
    let mut buf = Zeroizing::new(vec![0u8; CHUNK_SIZE + CHUNK_TAG_LEN]);
    let (mut pt_len, mut ct_len, mut index) = (0u64, 0u64, 0u64);
    loop {
        let (n, last) = src
            .fill(&mut buf[..CHUNK_SIZE])
            .map_err(|source| Error::Io {
                during: "reading the plaintext",
                source,
            })?;
        let tag = cipher.encrypt(index, last, &mut buf[..n])?;
        buf[n..n + CHUNK_TAG_LEN].copy_from_slice(&tag);
        hasher.update(&buf[..n + CHUNK_TAG_LEN]);
        out.write_all(&buf[..n + CHUNK_TAG_LEN])
            .map_err(|source| Error::Io {
                during: "writing the envelope",
                source,
            })?;
        pt_len += n as u64;
        ct_len += (n + CHUNK_TAG_LEN) as u64;
        if last {
            return Ok((pt_len, ct_len));
        }
        index += 1;
    }
}

/// Decrypts the chunk stream of `input` to `out`, feeding the payload digest. Returns the
/// plaintext length. On `Err`, whatever was written to `out` must be discarded.
pub(crate) fn open_chunks(
    cipher: &ChunkCipher,
    hasher: &mut PayloadHasher,
    input: impl Read,
    mut out: impl Write,
) -> Result<u64, Error> {
    let mut src = Chunks {
        inner: input,
        pending: None,
    };
    let mut buf = Zeroizing::new(vec![0u8; CHUNK_SIZE + CHUNK_TAG_LEN]);
    let mut plain = Zeroizing::new(vec![0u8; CHUNK_SIZE]);
    let (mut pt_len, mut index) = (0u64, 0u64);
    loop {
        let (n, last) = src.fill(&mut buf[..]).map_err(|source| Error::Io {
            during: "reading the envelope",
            source,
        })?;
        if n < CHUNK_TAG_LEN {
            // Not even a tag: the stream was cut (at a chunk boundary, or inside a tag).
            return Err(Error::StreamTruncated { chunks: index });
        }
        if last && n == CHUNK_TAG_LEN && index > 0 {
            return Err(Error::EmptyFinalChunk { index });
        }
        hasher.update(&buf[..n]);
        let (ct, tag) = buf[..n].split_at(n - CHUNK_TAG_LEN);
        let tag: [u8; CHUNK_TAG_LEN] = tag.try_into().expect("split 16 bytes from the end");
        let pt = &mut plain[..ct.len()];
        if !cipher.decrypt_into(index, last, ct, &tag, pt)? {
            // Tell truncation and trailing data apart from damage: does the chunk
            // authenticate with the other flag? The output is discarded either way.
            if cipher.decrypt_into(index, !last, ct, &tag, pt)? {
                return Err(if last {
                    Error::StreamTruncated { chunks: index + 1 }
                } else {
                    Error::TrailingData { index }
                });
            }
            return Err(Error::ChunkAuthentication { index });
        }
        out.write_all(pt).map_err(|source| Error::Io {
            during: "writing the plaintext",
            source,
        })?;
        pt_len += pt.len() as u64;
        if last {
            return Ok(pt_len);
        }
        index += 1;
    }
}
