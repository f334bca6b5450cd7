//! 65-byte recoverable secp256k1 signatures, their strict recovery, the EIP-2098 compact form and
//! EIP-191 personal-message hashing.

use core::fmt;
use core::str::FromStr;

use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::{PrimeField, subtle::CtOption};
use k256::{FieldBytes, Scalar};

use super::EvmAddress;
use crate::hash::{keccak256, parse_hex_array};
use crate::{Error, Hash32};

/// A recoverable ECDSA signature as Ethereum and `ecrecover` take it: `r ‖ s ‖ v`, 65 bytes,
/// v = 27 + recovery id. Serialised as `0x`-prefixed hex (130 digits).
///
/// Any 65 bytes make a `Signature`; whether they are a *valid* one is decided by [`recover`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 65]);

impl Signature {
    /// Exactly 65 bytes; the 64-byte EIP-2098 form or trailing bytes are refused (use
    /// [`Signature::from_compact`] for the former).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let arr: [u8; 65] = bytes.try_into().map_err(|_| Error::Decode {
            what: "signature",
            reason: format!("expected 65 bytes (r ‖ s ‖ v), found {}", bytes.len()),
        })?;
        Ok(Signature(arr))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// The first 32 bytes, `r`.
    pub fn r(&self) -> [u8; 32] {
        first_32(&self.0[..32])
    }

    /// Bytes 32..64, `s`.
    pub fn s(&self) -> [u8; 32] {
        first_32(&self.0[32..64])
    }

    /// The last byte, `v` (27 or 28 when well formed).
    pub fn v(&self) -> u8 {
        self.0[64]
    }

    /// The EIP-2098 compact form `r ‖ vs` with `vs = (v - 27) << 255 | s`; `None` when it cannot
    /// represent this signature (v not 27/28, or s with its top bit set, which is high-s anyway).
    pub fn to_compact(&self) -> Option<[u8; 64]> {
        let parity = match self.v() {
            27 => 0u8,
            28 => 1u8,
            _ => return None,
        };
        if self.0[32] & 0x80 != 0 {
            return None;
        }
        let mut out = [0u8; 64];
        out.copy_from_slice(&self.0[..64]);
        out[32] |= parity << 7;
        Some(out)
    }

    /// Expands an EIP-2098 compact signature `r ‖ vs` to `r ‖ s ‖ v`.
    pub fn from_compact(compact: &[u8; 64]) -> Self {
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(compact);
        let parity = out[32] >> 7;
        out[32] &= 0x7f;
        out[64] = 27 + parity;
        Signature(out)
    }

    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

fn first_32(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&s[..32]);
    out
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl FromStr for Signature {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        parse_hex_array::<65>(s, "65-byte signature").map(Signature)
    }
}

crate::serde_as_text!(Signature, Signature::to_hex);

/// The EIP-191 "personal message" digest that `personal_sign` / `eth_sign` sign:
/// `keccak256("\x19Ethereum Signed Message:\n" ‖ decimal(len(message)) ‖ message)`.
///
/// Checkpoints are *not* signed this way (they sign their EIP-712 digest directly); this exists so
/// that published personal-sign vectors exercise the same [`ValidatorKey::sign`](super::ValidatorKey::sign)
/// and [`recover`] code, and for operators proving control of a validator key with a wallet.
pub fn hash_personal_message(message: &[u8]) -> Hash32 {
    let mut pre = format!("\x19Ethereum Signed Message:\n{}", message.len()).into_bytes();
    pre.extend_from_slice(message);
    keccak256(&pre)
}

/// Recovers the address that signed `digest`, enforcing Causeway's canonical form:
/// r and s in 1..n-1 and v in {27, 28} ([`Error::MalformedSignature`] otherwise), s in the low
/// half ([`Error::HighS`]: the malleated twin `(r, n-s, v^1)` of a valid signature never counts).
/// `position` is the signature's index in its list, reported in errors.
///
/// Security: stricter than Solidity's bare `ecrecover`, which returns `address(0)` on garbage and
/// accepts high s; the Inbox applies the same rules (OpenZeppelin `ECDSA.recover` semantics).
pub fn recover(
    digest: &Hash32,
    signature: &Signature,
    position: usize,
) -> Result<EvmAddress, Error> {
    let malformed = |reason: &str| Error::MalformedSignature {
        position,
        reason: reason.to_owned(),
    };
    let r = scalar(&signature.r())
        .ok_or_else(|| malformed("r is zero or not below the curve order"))?;
    let s = scalar(&signature.s())
        .ok_or_else(|| malformed("s is zero or not below the curve order"))?;
    if bool::from(s.is_high()) {
        return Err(Error::HighS { position });
    }
    let y_odd = match signature.v() {
        27 => false,
        28 => true,
        v => return Err(malformed(&format!("v must be 27 or 28, found {v}"))),
    };
    // The recovery itself through libsecp256k1, several times faster than k256's (it was most
    // of a gateway's secp256k1 time: every checkpoint signature a peer sends, every batch a
    // destination checks). The checks above stay ours; recovery id 0 or 1 (x = r, never r + n,
    // as `ecrecover` and k256's `RecoveryId::new(y_odd, false)` take it).
    let id = if y_odd {
        secp256k1::ecdsa::RecoveryId::One
    } else {
        secp256k1::ecdsa::RecoveryId::Zero
    };
    let mut rs = [0u8; 64];
    rs[..32].copy_from_slice(&r.to_repr());
    rs[32..].copy_from_slice(&s.to_repr());
    let sig = secp256k1::ecdsa::RecoverableSignature::from_compact(&rs, id)
        .map_err(|_| malformed("r or s out of range"))?;
    let key = SECP256K1
        .recover_ecdsa(secp256k1::Message::from_digest(digest.0), &sig)
        .map_err(|_| malformed("no public key recovers from this signature"))?;
    let point = key.serialize_uncompressed();
    let mut address = EvmAddress([0; 20]);
    address.0.copy_from_slice(&keccak256(&point[1..]).0[12..]);
    // Cannot happen for a real public key; checked because `ecrecover` signals failure this way.
    if address.is_zero() {
        return Err(malformed("recovers to the zero address"));
    }
    Ok(address)
}

/// libsecp256k1's verification context (recovery needs no more), built once; FISCO BCOS's
/// sealer signatures verify with it too.
pub(crate) static SECP256K1: std::sync::LazyLock<secp256k1::Secp256k1<secp256k1::VerifyOnly>> =
    std::sync::LazyLock::new(secp256k1::Secp256k1::verification_only);

/// A non-zero scalar below the curve order, or `None`.
fn scalar(bytes: &[u8; 32]) -> Option<Scalar> {
    let s: CtOption<Scalar> = Scalar::from_repr(FieldBytes::from(*bytes));
    Option::<Scalar>::from(s).filter(|s| !bool::from(s.is_zero()))
}
