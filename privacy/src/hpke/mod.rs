//! RFC 9180 HPKE for the suites DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM or
//! AES-256-GCM, all four modes, written on x25519-dalek, hkdf, sha2 and aes-gcm.
//!
//! Envelopes use base mode with AES-256-GCM to wrap content keys; the other modes exist so that
//! the whole published test-vector set runs against this code, and for future peer-to-peer use.
//!
//! Security decisions:
//! - No API takes a caller-chosen AEAD nonce: nonces are `base_nonce ⊕ seq` with a sequence
//!   number that never wraps ([`Error::NonceExhausted`]) (T42).
//! - The ephemeral key is `DeriveKeyPair(random ikm)`, fresh per setup, so two seals of the same
//!   plaintext differ in `enc` and ciphertext.
//! - All-zero DH outputs are refused in constant time (RFC 9180 §7.1.4) (T43).
//! - The key schedule binds `mode`, `info`, `psk_id` and, through `kem_context`, `enc` and the
//!   public keys (T45).

mod aead;
pub mod kem;
#[cfg(test)]
mod tests;

use core::fmt;

use hkdf::{Hkdf, HkdfExtract};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

pub use aead::{Aead, AeadKey, NONCE_LEN, TAG_LEN};
pub use kem::{EncappedKey, SharedSecret};

use crate::Error;
use crate::keys::{KeyPair, PublicKey};

/// The KDF identifier of HKDF-SHA256.
pub const KDF_ID: u16 = 0x0001;
/// `Nh` of HKDF-SHA256.
const NH: usize = 32;
/// Maximum HKDF-SHA256 output, hence the longest export.
pub const MAX_EXPORT_LEN: usize = 255 * NH;

/// A 32-byte pseudorandom key, zeroized on drop.
pub(crate) type Prk = Zeroizing<[u8; NH]>;

/// LabeledExtract(salt, label, ikm) with `ikm` given in parts (RFC 9180 §4).
pub(crate) fn labeled_extract(suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[&[u8]]) -> Prk {
    let mut ext = HkdfExtract::<Sha256>::new(Some(salt));
    ext.input_ikm(b"HPKE-v1");
    ext.input_ikm(suite_id);
    ext.input_ikm(label);
    for part in ikm {
        ext.input_ikm(part);
    }
    let (prk, _) = ext.finalize();
    let mut out = Zeroizing::new([0u8; NH]);
    out.copy_from_slice(&prk);
    out
}

/// LabeledExpand(prk, label, info, L) with `info` given in parts, L = `out.len()`.
pub(crate) fn labeled_expand(
    suite_id: &[u8],
    prk: &[u8; NH],
    label: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Result<(), Error> {
    if out.len() > MAX_EXPORT_LEN {
        return Err(Error::ExportTooLong {
            requested: out.len(),
            max: MAX_EXPORT_LEN,
        });
    }
    let hk = Hkdf::<Sha256>::from_prk(prk).expect("a 32-byte PRK is at least Nh bytes");
    let len = u16::try_from(out.len())
        .expect("at most 255 * 32 bytes, checked above")
        .to_be_bytes();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(4 + info.len());
    parts.extend_from_slice(&[&len, b"HPKE-v1", suite_id, label]);
    parts.extend_from_slice(info);
    hk.expand_multi_info(&parts, out)
        .map_err(|_| Error::ExportTooLong {
            requested: out.len(),
            max: MAX_EXPORT_LEN,
        })
}

/// An HPKE mode (RFC 9180 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// mode_base, 0x00.
    Base,
    /// mode_psk, 0x01.
    Psk,
    /// mode_auth, 0x02.
    Auth,
    /// mode_auth_psk, 0x03.
    AuthPsk,
}

impl Mode {
    /// The mode byte.
    pub fn id(self) -> u8 {
        match self {
            Mode::Base => 0,
            Mode::Psk => 1,
            Mode::Auth => 2,
            Mode::AuthPsk => 3,
        }
    }

    fn uses_psk(self) -> bool {
        matches!(self, Mode::Psk | Mode::AuthPsk)
    }
}

/// A pre-shared key and its id, for the PSK modes.
#[derive(Clone, Copy)]
pub struct Psk<'a> {
    /// The pre-shared key (at least 32 bytes of entropy, RFC 9180 §5.1.2).
    pub psk: &'a [u8],
    /// Its identifier.
    pub psk_id: &'a [u8],
}

impl fmt::Debug for Psk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Psk")
            .field("psk", &"<redacted>")
            .field("psk_id", &hex::encode(self.psk_id))
            .finish()
    }
}

/// `suite_id = "HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2)`.
fn hpke_suite_id(aead: Aead) -> [u8; 10] {
    let mut id = [0u8; 10];
    id[..4].copy_from_slice(b"HPKE");
    id[4..6].copy_from_slice(&kem::KEM_ID.to_be_bytes());
    id[6..8].copy_from_slice(&KDF_ID.to_be_bytes());
    id[8..10].copy_from_slice(&aead.id().to_be_bytes());
    id
}

/// The secrets of an HPKE context, shared by both roles.
struct ContextInner {
    aead: Aead,
    key: AeadKey,
    base_nonce: [u8; NONCE_LEN],
    seq: u64,
    exporter_secret: Prk,
}

impl ContextInner {
    /// ComputeNonce(seq) = base_nonce ⊕ I2OSP(seq, Nn).
    fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut nonce = self.base_nonce;
        for (n, s) in nonce[NONCE_LEN - 8..]
            .iter_mut()
            .zip(self.seq.to_be_bytes())
        {
            *n ^= s;
        }
        nonce
    }

    /// IncrementSeq(), refusing to wrap.
    fn increment(&mut self) -> Result<(), Error> {
        self.seq = self.seq.checked_add(1).ok_or(Error::NonceExhausted {
            what: "HPKE sequence",
        })?;
        Ok(())
    }

    fn check_seq(&self) -> Result<(), Error> {
        // The last sequence number is reserved so that increment never has to fail after a
        // message was processed.
        if self.seq == u64::MAX {
            return Err(Error::NonceExhausted {
                what: "HPKE sequence",
            });
        }
        Ok(())
    }

    fn export(&self, exporter_context: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        let mut out = vec![0u8; len];
        labeled_expand(
            &hpke_suite_id(self.aead),
            &self.exporter_secret,
            b"sec",
            &[exporter_context],
            &mut out,
        )?;
        Ok(out)
    }
}

/// The values of RFC 9180 §5.1's key schedule; kept apart from [`ContextInner`] so unit tests
/// can check each intermediate against the published vectors.
struct Schedule {
    #[cfg_attr(not(test), allow(dead_code))] // read by the vector tests
    key_schedule_context: Vec<u8>,
    #[cfg_attr(not(test), allow(dead_code))] // read by the vector tests
    secret: Prk,
    key: Zeroizing<Vec<u8>>,
    base_nonce: [u8; NONCE_LEN],
    exporter_secret: Prk,
}

/// KeySchedule(mode, shared_secret, info, psk, psk_id) up to its derived values.
fn schedule(
    aead: Aead,
    mode: Mode,
    shared_secret: &SharedSecret,
    info: &[u8],
    psk: Option<Psk<'_>>,
) -> Result<Schedule, Error> {
    // VerifyPSKInputs.
    let (psk, psk_id) = match psk {
        Some(p) => (p.psk, p.psk_id),
        None => (&b""[..], &b""[..]),
    };
    let reason = if psk.is_empty() != psk_id.is_empty() {
        Some("psk and psk_id must be given together")
    } else if !psk.is_empty() && !mode.uses_psk() {
        Some("a psk was given to a mode without one")
    } else if psk.is_empty() && mode.uses_psk() {
        Some("this mode needs a psk")
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(Error::PskInputs {
            mode: mode.id(),
            reason,
        });
    }

    let suite_id = hpke_suite_id(aead);
    let psk_id_hash = labeled_extract(&suite_id, b"", b"psk_id_hash", &[psk_id]);
    let info_hash = labeled_extract(&suite_id, b"", b"info_hash", &[info]);
    let mut key_schedule_context = Vec::with_capacity(1 + 2 * NH);
    key_schedule_context.push(mode.id());
    key_schedule_context.extend_from_slice(&psk_id_hash[..]);
    key_schedule_context.extend_from_slice(&info_hash[..]);
    let secret = labeled_extract(&suite_id, shared_secret.as_bytes(), b"secret", &[psk]);

    let ctx = [&key_schedule_context[..]];
    let mut key = Zeroizing::new(vec![0u8; aead.key_len()]);
    labeled_expand(&suite_id, &secret, b"key", &ctx, &mut key)?;
    let mut base_nonce = [0u8; NONCE_LEN];
    labeled_expand(&suite_id, &secret, b"base_nonce", &ctx, &mut base_nonce)?;
    let mut exporter_secret = Zeroizing::new([0u8; NH]);
    labeled_expand(&suite_id, &secret, b"exp", &ctx, exporter_secret.as_mut())?;
    Ok(Schedule {
        key_schedule_context,
        secret,
        key,
        base_nonce,
        exporter_secret,
    })
}

/// KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id) (RFC 9180 §5.1).
fn key_schedule(
    aead: Aead,
    mode: Mode,
    shared_secret: &SharedSecret,
    info: &[u8],
    psk: Option<Psk<'_>>,
) -> Result<ContextInner, Error> {
    let s = schedule(aead, mode, shared_secret, info, psk)?;
    Ok(ContextInner {
        aead,
        key: AeadKey::new(aead, &s.key)?,
        base_nonce: s.base_nonce,
        seq: 0,
        exporter_secret: s.exporter_secret,
    })
}

/// The sender's HPKE context: seals messages in order and exports secrets.
pub struct SenderContext(ContextInner);

/// The recipient's HPKE context: opens messages in order and exports secrets.
pub struct ReceiverContext(ContextInner);

impl SenderContext {
    /// ContextS.Seal(aad, pt): encrypts the next message.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        self.0.check_seq()?;
        let ct = self.0.key.seal(&self.0.nonce(), aad, plaintext)?;
        self.0.increment()?;
        Ok(ct)
    }

    /// Context.Export(exporter_context, L).
    pub fn export(&self, exporter_context: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        self.0.export(exporter_context, len)
    }

    /// The next sequence number (messages sealed so far).
    pub fn sequence(&self) -> u64 {
        self.0.seq
    }
}

impl ReceiverContext {
    /// ContextR.Open(aad, ct): decrypts the next message. A failed open does not advance the
    /// sequence number.
    pub fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        self.0.check_seq()?;
        let pt = self.0.key.open(&self.0.nonce(), aad, ciphertext)?;
        self.0.increment()?;
        Ok(pt)
    }

    /// Context.Export(exporter_context, L).
    pub fn export(&self, exporter_context: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        self.0.export(exporter_context, len)
    }

    /// The next sequence number (messages opened so far).
    pub fn sequence(&self) -> u64 {
        self.0.seq
    }
}

impl fmt::Debug for SenderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SenderContext({:?}, seq {}, <redacted>)",
            self.0.aead, self.0.seq
        )
    }
}

impl fmt::Debug for ReceiverContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ReceiverContext({:?}, seq {}, <redacted>)",
            self.0.aead, self.0.seq
        )
    }
}

/// SetupBaseS(pkR, info).
pub fn setup_base_sender(
    aead: Aead,
    pk_r: &PublicKey,
    info: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, SenderContext), Error> {
    let (ss, enc) = kem::encap(pk_r, rng)?;
    Ok((
        enc,
        SenderContext(key_schedule(aead, Mode::Base, &ss, info, None)?),
    ))
}

/// SetupBaseR(enc, skR, info).
pub fn setup_base_receiver(
    aead: Aead,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
) -> Result<ReceiverContext, Error> {
    let ss = kem::decap(enc, sk_r)?;
    Ok(ReceiverContext(key_schedule(
        aead,
        Mode::Base,
        &ss,
        info,
        None,
    )?))
}

/// SetupPSKS(pkR, info, psk, psk_id).
pub fn setup_psk_sender(
    aead: Aead,
    pk_r: &PublicKey,
    info: &[u8],
    psk: Psk<'_>,
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, SenderContext), Error> {
    let (ss, enc) = kem::encap(pk_r, rng)?;
    Ok((
        enc,
        SenderContext(key_schedule(aead, Mode::Psk, &ss, info, Some(psk))?),
    ))
}

/// SetupPSKR(enc, skR, info, psk, psk_id).
pub fn setup_psk_receiver(
    aead: Aead,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
    psk: Psk<'_>,
) -> Result<ReceiverContext, Error> {
    let ss = kem::decap(enc, sk_r)?;
    Ok(ReceiverContext(key_schedule(
        aead,
        Mode::Psk,
        &ss,
        info,
        Some(psk),
    )?))
}

/// SetupAuthS(pkR, info, skS).
pub fn setup_auth_sender(
    aead: Aead,
    pk_r: &PublicKey,
    info: &[u8],
    sk_s: &KeyPair,
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, SenderContext), Error> {
    let (ss, enc) = kem::auth_encap(pk_r, sk_s, rng)?;
    Ok((
        enc,
        SenderContext(key_schedule(aead, Mode::Auth, &ss, info, None)?),
    ))
}

/// SetupAuthR(enc, skR, info, pkS).
pub fn setup_auth_receiver(
    aead: Aead,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
    pk_s: &PublicKey,
) -> Result<ReceiverContext, Error> {
    let ss = kem::auth_decap(enc, sk_r, pk_s)?;
    Ok(ReceiverContext(key_schedule(
        aead,
        Mode::Auth,
        &ss,
        info,
        None,
    )?))
}

/// SetupAuthPSKS(pkR, info, psk, psk_id, skS).
pub fn setup_auth_psk_sender(
    aead: Aead,
    pk_r: &PublicKey,
    info: &[u8],
    psk: Psk<'_>,
    sk_s: &KeyPair,
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, SenderContext), Error> {
    let (ss, enc) = kem::auth_encap(pk_r, sk_s, rng)?;
    Ok((
        enc,
        SenderContext(key_schedule(aead, Mode::AuthPsk, &ss, info, Some(psk))?),
    ))
}

/// SetupAuthPSKR(enc, skR, info, psk, psk_id, pkS).
pub fn setup_auth_psk_receiver(
    aead: Aead,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
    psk: Psk<'_>,
    pk_s: &PublicKey,
) -> Result<ReceiverContext, Error> {
    let ss = kem::auth_decap(enc, sk_r, pk_s)?;
    Ok(ReceiverContext(key_schedule(
        aead,
        Mode::AuthPsk,
        &ss,
        info,
        Some(psk),
    )?))
}

/// Single-shot base-mode Seal (RFC 9180 §6.1): `(enc, ct)`.
pub fn seal_base(
    aead: Aead,
    pk_r: &PublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, Vec<u8>), Error> {
    let (enc, mut ctx) = setup_base_sender(aead, pk_r, info, rng)?;
    Ok((enc, ctx.seal(aad, plaintext)?))
}

/// Single-shot base-mode Open (RFC 9180 §6.1).
pub fn open_base(
    aead: Aead,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, Error> {
    setup_base_receiver(aead, enc, sk_r, info)?.open(aad, ciphertext)
}
