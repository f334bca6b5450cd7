//! Conversions between the store's typed values and SQLite columns, each failing with a named
//! error instead of wrapping or truncating.

use causeway_proofs::bundle::NativeProof;
use causeway_proofs::{Domain, EvmAddress, Hash32, MessageId, Signature};

use crate::Error;
use crate::store::{DeliveryStateKind, Result, UnixMillis};

/// A u64 that must fit SQLite's signed integer (heights, indices, times, counts).
pub(crate) fn to_i64(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::OutOfRange { what, value })
}

/// A stored non-negative integer.
pub(crate) fn to_u64(what: &'static str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| corrupt(what, format!("negative value {value}")))
}

/// A stored count of attempts.
pub(crate) fn to_u32(what: &'static str, value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| corrupt(what, format!("{value} out of range")))
}

/// A u64 stored bit for bit (nonces: only equality matters, and every u64 is a valid nonce).
pub(crate) fn bits_to_i64(value: u64) -> i64 {
    value.cast_signed()
}

/// The inverse of [`bits_to_i64`] (nothing reads a stored nonce back yet; kept with its test).
#[cfg(test)]
pub(crate) fn bits_to_u64(value: i64) -> u64 {
    value.cast_unsigned()
}

/// A domain column.
pub(crate) fn domain(value: i64) -> Result<Domain> {
    u32::try_from(value)
        .map(Domain)
        .map_err(|_| corrupt("domain", format!("{value} is not a u32")))
}

/// A time column.
pub(crate) fn millis(value: i64) -> Result<UnixMillis> {
    to_u64("time", value).map(UnixMillis)
}

/// A 32-byte hash column.
pub(crate) fn hash32(what: &'static str, blob: &[u8]) -> Result<Hash32> {
    <[u8; 32]>::try_from(blob)
        .map(Hash32)
        .map_err(|_| corrupt(what, format!("{} bytes, expected 32", blob.len())))
}

/// A message id column.
pub(crate) fn message_id(blob: &[u8]) -> Result<MessageId> {
    hash32("message id", blob).map(MessageId)
}

/// A validator address column.
pub(crate) fn evm_address(blob: &[u8]) -> Result<EvmAddress> {
    <[u8; 20]>::try_from(blob)
        .map(EvmAddress)
        .map_err(|_| corrupt("validator address", format!("{} bytes", blob.len())))
}

/// A signature column.
pub(crate) fn signature(blob: &[u8]) -> Result<Signature> {
    Signature::from_slice(blob).map_err(|e| corrupt("signature", e.to_string()))
}

/// A delivery state column.
pub(crate) fn state(text: &str) -> Result<DeliveryStateKind> {
    DeliveryStateKind::parse(text).ok_or_else(|| corrupt("delivery state", text.to_owned()))
}

/// An [`Error::Corrupt`].
pub(crate) fn corrupt(what: &'static str, reason: String) -> Error {
    Error::Corrupt { what, reason }
}

/// What marks a `native_proof` column holding a compact EVM source proof in base64, as rows
/// accepted before SQLite schema 15 / PostgreSQL schema 6 keep it, rather than `NativeProof`
/// JSON (which begins with `{`).
pub(crate) const COMPACT_PROOF_PREFIX: &str = "evm-compact-v1:";

/// A message's native proof as its two columns hold it: `native_proof`, the `NativeProof` JSON
/// (or, in rows accepted before the `native_proof_compact` column, [`COMPACT_PROOF_PREFIX`] and
/// the compact form in base64), and `native_proof_compact`, an EVM source proof's compact
/// binary form ([`causeway_proofs::evm::compact_native_proof`]) as bytes. At most one is set.
///
/// The JSON of an EVM proof is ~8 KB of hex per message, the largest part of a message's row,
/// written (with its write-ahead copy) for every accepted message; the compact form is ~40 %
/// of it, and as bytes it needs no base64 (a third more) to write or read. Read back, it is the
/// same JSON value ([`causeway_proofs::evm::native_proof_from_compact`]), so bundles and the
/// API hand out what was accepted, byte for byte. Both backends store it the same way.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct StoredProof {
    /// The `native_proof` column.
    pub(crate) json: Option<String>,
    /// The `native_proof_compact` column.
    pub(crate) compact: Option<Vec<u8>>,
}

/// The columns that store `proof` (see [`StoredProof`]).
pub(crate) fn encode_native_proof(proof: Option<&NativeProof>) -> Result<StoredProof> {
    let Some(proof) = proof else {
        return Ok(StoredProof::default());
    };
    if let Some(bytes) = causeway_proofs::evm::compact_native_proof(proof) {
        return Ok(StoredProof {
            json: None,
            compact: Some(bytes),
        });
    }
    let json = serde_json::to_string(proof).map_err(|e| Error::Backend {
        op: "encode native proof",
        source: Box::new(e),
    })?;
    Ok(StoredProof {
        json: Some(json),
        compact: None,
    })
}

/// The native proof the two columns hold (see [`StoredProof`]); both set is a corrupt row.
pub(crate) fn decode_native_proof(stored: StoredProof) -> Result<Option<NativeProof>> {
    let bytes = match (stored.json, stored.compact) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(corrupt(
                "native proof",
                "both the JSON and the compact column are set".to_owned(),
            ));
        }
        (None, Some(bytes)) => bytes,
        (Some(text), None) => {
            let Some(encoded) = text.strip_prefix(COMPACT_PROOF_PREFIX) else {
                return serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| corrupt("native proof", e.to_string()));
            };
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| corrupt("native proof", format!("compact form: {e}")))?
        }
    };
    causeway_proofs::evm::native_proof_from_compact(&bytes)
        .map(Some)
        .map_err(|e| corrupt("native proof", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_round_trip_bit_for_bit() {
        for n in [0u64, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(bits_to_u64(bits_to_i64(n)), n);
        }
    }

    #[test]
    fn out_of_range_values_are_refused_not_wrapped() {
        assert!(matches!(
            to_i64("block", u64::MAX),
            Err(Error::OutOfRange {
                what: "block",
                value: u64::MAX
            })
        ));
        assert!(to_u64("time", -1).is_err());
        assert!(domain(1 << 32).is_err());
        assert!(hash32("root", &[0u8; 31]).is_err());
    }
}
