//! RFC 9180 HPKE for the suites DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM or
//! AES-256-GCM, all four modes, from the `hpke` crate (rozbb/rust-hpke, RustCrypto primitives).
//!
//! Envelopes use base mode with AES-256-GCM to wrap content keys; the other modes run the whole
//! published test-vector set, and auth mode is kept for binding grantors later. This module is
//! our API over the crate: our key and error types, a run-time choice of AEAD (the crate picks
//! it by type), and the checks the crate leaves to its caller (below).
//!
//! Security decisions:
//! - No API takes a caller-chosen AEAD nonce: nonces are `base_nonce ⊕ seq` (the crate's), and
//!   our sequence number refuses to reach `u64::MAX` ([`Error::NonceExhausted`]) (T42).
//! - The ephemeral key is `DeriveKeyPair(random ikm)`, fresh per setup (the crate's Encap), so
//!   two seals of the same plaintext differ in `enc` and ciphertext.
//! - All-zero DH outputs are refused in constant time (RFC 9180 §7.1.4; the crate's check,
//!   reported as [`Error::ZeroSharedSecret`]) (T43).
//! - The key schedule binds `mode`, `info`, `psk_id` and, through `kem_context`, `enc` and the
//!   public keys (the crate's KeySchedule) (T45).
//! - PSK inputs are verified here (RFC 9180 §5.1 VerifyPSKInputs): hpke 0.12 accepts an empty
//!   `psk` or `psk_id` without complaint.

mod aead;
pub mod kem;
#[cfg(test)]
mod tests;

use core::fmt;

use hpke::aead::{AeadCtxR, AeadCtxS, AesGcm128, AesGcm256};
use hpke::kdf::HkdfSha256;
use hpke::{HpkeError, OpModeR, OpModeS, PskBundle};
use rand_core::CryptoRngCore;

pub use aead::{Aead, AeadKey, NONCE_LEN, TAG_LEN};
pub use kem::{EncappedKey, SharedSecret};

use self::kem::{Kem, kem_error, lib_private_key, lib_public_key};
use crate::Error;
use crate::keys::{KeyPair, PublicKey};

/// The KDF identifier of HKDF-SHA256.
pub const KDF_ID: u16 = <HkdfSha256 as hpke::kdf::Kdf>::KDF_ID;
/// `Nh` of HKDF-SHA256.
const NH: usize = 32;
/// Maximum HKDF-SHA256 output, hence the longest export.
pub const MAX_EXPORT_LEN: usize = 255 * NH;

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

/// VerifyPSKInputs(mode, psk, psk_id) (RFC 9180 §5.1). Ours: hpke 0.12's `PskBundle` is two
/// public slices the crate never checks.
fn verify_psk_inputs(mode: Mode, psk: Option<Psk<'_>>) -> Result<(), Error> {
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
    match reason {
        Some(reason) => Err(Error::PskInputs {
            mode: mode.id(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The crate's bundle of a PSK we have verified.
fn bundle(psk: Psk<'_>) -> PskBundle<'_> {
    PskBundle {
        psk: psk.psk,
        psk_id: psk.psk_id,
    }
}

/// The last sequence number is reserved, so that a context never has to report exhaustion
/// after it processed a message (the crate would allow one more, at `u64::MAX`).
fn check_seq(seq: u64) -> Result<(), Error> {
    if seq == u64::MAX {
        return Err(exhausted(HpkeError::MessageLimitReached));
    }
    Ok(())
}

fn exhausted(_: HpkeError) -> Error {
    Error::NonceExhausted {
        what: "HPKE sequence",
    }
}

/// Context.Export(exporter_context, L) through `export`, with our length limit and error.
fn export_with(
    len: usize,
    export: impl FnOnce(&mut [u8]) -> Result<(), HpkeError>,
) -> Result<Vec<u8>, Error> {
    let too_long = || Error::ExportTooLong {
        requested: len,
        max: MAX_EXPORT_LEN,
    };
    if len > MAX_EXPORT_LEN {
        return Err(too_long());
    }
    let mut out = vec![0u8; len];
    export(&mut out).map_err(|_| too_long())?;
    Ok(out)
}

/// The crate's sender context for the AEAD chosen at run time (boxed: about 1 KiB each).
enum SenderInner {
    Aes128(Box<AeadCtxS<AesGcm128, HkdfSha256, Kem>>),
    Aes256(Box<AeadCtxS<AesGcm256, HkdfSha256, Kem>>),
}

/// The crate's receiver context for the AEAD chosen at run time (boxed: about 1 KiB each).
enum ReceiverInner {
    Aes128(Box<AeadCtxR<AesGcm128, HkdfSha256, Kem>>),
    Aes256(Box<AeadCtxR<AesGcm256, HkdfSha256, Kem>>),
}

/// The sender's HPKE context: seals messages in order and exports secrets. Its key, base nonce
/// and exporter secret are the crate's, zeroized on drop.
pub struct SenderContext {
    inner: SenderInner,
    aead: Aead,
    /// Messages sealed so far; mirrors the crate's counter, which it does not expose.
    seq: u64,
}

/// The recipient's HPKE context: opens messages in order and exports secrets.
pub struct ReceiverContext {
    inner: ReceiverInner,
    aead: Aead,
    /// Messages opened so far; mirrors the crate's counter, which it does not expose.
    seq: u64,
}

impl SenderContext {
    /// ContextS.Seal(aad, pt): encrypts the next message.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        check_seq(self.seq)?;
        let sealed = match &mut self.inner {
            SenderInner::Aes128(ctx) => ctx.seal(plaintext, aad),
            SenderInner::Aes256(ctx) => ctx.seal(plaintext, aad),
        };
        let ct = sealed.map_err(|e| match e {
            HpkeError::MessageLimitReached => exhausted(e),
            _ => Error::AeadLimit {
                len: plaintext.len() as u64,
            },
        })?;
        self.seq += 1;
        Ok(ct)
    }

    /// Context.Export(exporter_context, L).
    pub fn export(&self, exporter_context: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        export_with(len, |out| match &self.inner {
            SenderInner::Aes128(ctx) => ctx.export(exporter_context, out),
            SenderInner::Aes256(ctx) => ctx.export(exporter_context, out),
        })
    }

    /// The next sequence number (messages sealed so far).
    pub fn sequence(&self) -> u64 {
        self.seq
    }
}

impl ReceiverContext {
    /// ContextR.Open(aad, ct): decrypts the next message. A failed open does not advance the
    /// sequence number.
    pub fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        check_seq(self.seq)?;
        let opened = match &mut self.inner {
            ReceiverInner::Aes128(ctx) => ctx.open(ciphertext, aad),
            ReceiverInner::Aes256(ctx) => ctx.open(ciphertext, aad),
        };
        let pt = opened.map_err(|e| match e {
            HpkeError::MessageLimitReached => exhausted(e),
            _ => Error::AeadOpen,
        })?;
        self.seq += 1;
        Ok(pt)
    }

    /// Context.Export(exporter_context, L).
    pub fn export(&self, exporter_context: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        export_with(len, |out| match &self.inner {
            ReceiverInner::Aes128(ctx) => ctx.export(exporter_context, out),
            ReceiverInner::Aes256(ctx) => ctx.export(exporter_context, out),
        })
    }

    /// The next sequence number (messages opened so far).
    pub fn sequence(&self) -> u64 {
        self.seq
    }
}

impl fmt::Debug for SenderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SenderContext({:?}, seq {}, <redacted>)",
            self.aead, self.seq
        )
    }
}

impl fmt::Debug for ReceiverContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ReceiverContext({:?}, seq {}, <redacted>)",
            self.aead, self.seq
        )
    }
}

/// SetupS for any mode: the crate's `setup_sender` with the AEAD chosen at run time.
fn setup_sender(
    aead: Aead,
    mode: &OpModeS<'_, Kem>,
    pk_r: &PublicKey,
    info: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, SenderContext), Error> {
    let pk_r = lib_public_key(pk_r);
    let (enc, inner) = match aead {
        Aead::Aes128Gcm => {
            let (enc, ctx) = hpke::setup_sender(mode, &pk_r, info, rng).map_err(kem_error)?;
            (enc, SenderInner::Aes128(Box::new(ctx)))
        }
        Aead::Aes256Gcm => {
            let (enc, ctx) = hpke::setup_sender(mode, &pk_r, info, rng).map_err(kem_error)?;
            (enc, SenderInner::Aes256(Box::new(ctx)))
        }
    };
    let enc = EncappedKey::from_slice(&hpke::Serializable::to_bytes(&enc))?;
    Ok((
        enc,
        SenderContext {
            inner,
            aead,
            seq: 0,
        },
    ))
}

/// SetupR for any mode: the crate's `setup_receiver` with the AEAD chosen at run time.
fn setup_receiver(
    aead: Aead,
    mode: &OpModeR<'_, Kem>,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
) -> Result<ReceiverContext, Error> {
    let sk_r = lib_private_key(sk_r);
    let enc = enc.to_lib();
    let inner = match aead {
        Aead::Aes128Gcm => ReceiverInner::Aes128(Box::new(
            hpke::setup_receiver(mode, &sk_r, &enc, info).map_err(kem_error)?,
        )),
        Aead::Aes256Gcm => ReceiverInner::Aes256(Box::new(
            hpke::setup_receiver(mode, &sk_r, &enc, info).map_err(kem_error)?,
        )),
    };
    Ok(ReceiverContext {
        inner,
        aead,
        seq: 0,
    })
}

/// SetupBaseS(pkR, info).
pub fn setup_base_sender(
    aead: Aead,
    pk_r: &PublicKey,
    info: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, SenderContext), Error> {
    setup_sender(aead, &OpModeS::Base, pk_r, info, rng)
}

/// SetupBaseR(enc, skR, info).
pub fn setup_base_receiver(
    aead: Aead,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
) -> Result<ReceiverContext, Error> {
    setup_receiver(aead, &OpModeR::Base, enc, sk_r, info)
}

/// SetupPSKS(pkR, info, psk, psk_id).
pub fn setup_psk_sender(
    aead: Aead,
    pk_r: &PublicKey,
    info: &[u8],
    psk: Psk<'_>,
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, SenderContext), Error> {
    verify_psk_inputs(Mode::Psk, Some(psk))?;
    setup_sender(aead, &OpModeS::Psk(bundle(psk)), pk_r, info, rng)
}

/// SetupPSKR(enc, skR, info, psk, psk_id).
pub fn setup_psk_receiver(
    aead: Aead,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
    psk: Psk<'_>,
) -> Result<ReceiverContext, Error> {
    verify_psk_inputs(Mode::Psk, Some(psk))?;
    setup_receiver(aead, &OpModeR::Psk(bundle(psk)), enc, sk_r, info)
}

/// SetupAuthS(pkR, info, skS).
pub fn setup_auth_sender(
    aead: Aead,
    pk_r: &PublicKey,
    info: &[u8],
    sk_s: &KeyPair,
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, SenderContext), Error> {
    let sender = (lib_private_key(sk_s), lib_public_key(sk_s.public_key()));
    setup_sender(aead, &OpModeS::Auth(sender), pk_r, info, rng)
}

/// SetupAuthR(enc, skR, info, pkS).
pub fn setup_auth_receiver(
    aead: Aead,
    enc: &EncappedKey,
    sk_r: &KeyPair,
    info: &[u8],
    pk_s: &PublicKey,
) -> Result<ReceiverContext, Error> {
    setup_receiver(aead, &OpModeR::Auth(lib_public_key(pk_s)), enc, sk_r, info)
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
    verify_psk_inputs(Mode::AuthPsk, Some(psk))?;
    let sender = (lib_private_key(sk_s), lib_public_key(sk_s.public_key()));
    setup_sender(
        aead,
        &OpModeS::AuthPsk(sender, bundle(psk)),
        pk_r,
        info,
        rng,
    )
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
    verify_psk_inputs(Mode::AuthPsk, Some(psk))?;
    let mode = OpModeR::AuthPsk(lib_public_key(pk_s), bundle(psk));
    setup_receiver(aead, &mode, enc, sk_r, info)
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
