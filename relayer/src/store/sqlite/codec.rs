//! Conversions between the store's typed values and SQLite columns, each failing with a named
//! error instead of wrapping or truncating.

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
