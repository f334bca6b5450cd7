//! HMAC-SM3: HMAC (RFC 2104) with the SM3 hash (GB/T 32905), 32-byte tags.
//!
//! Truncation decision: the *verifier* fixes the tag length, never the tag. [`verify_hmac_sm3`]
//! accepts only full 32-byte tags; [`verify_hmac_sm3_truncated`] takes the length the protocol
//! agreed on, which must be at least [`HMAC_SM3_MIN_TAG_LEN`] bytes (128 bits, as NIST SP
//! 800-107 and RFC 2104 §5 advise), and a tag of any other length is rejected. Accepting whatever
//! length arrives (as `hmac`'s `verify_truncated_left` does) would let a forger send one byte.

use ::hmac::{Hmac, Mac};
use sm3::Sm3;

use crate::{Error, Hash32};

/// Length of a full HMAC-SM3 tag in bytes.
pub const HMAC_SM3_TAG_LEN: usize = 32;

/// Shortest truncated tag [`verify_hmac_sm3_truncated`] accepts: 16 bytes (128 bits).
pub const HMAC_SM3_MIN_TAG_LEN: usize = 16;

type HmacSm3 = Hmac<Sm3>;

fn keyed(key: &[u8], data: &[u8]) -> HmacSm3 {
    let mut mac = HmacSm3::new_from_slice(key).expect("HMAC accepts keys of every length");
    mac.update(data);
    mac
}

/// The HMAC-SM3 tag of `data` under `key` (any key length; longer than SM3's 64-byte block it is
/// hashed first, per RFC 2104).
pub fn hmac_sm3(key: &[u8], data: &[u8]) -> Hash32 {
    Hash32(keyed(key, data).finalize().into_bytes().into())
}

/// Checks a full 32-byte HMAC-SM3 `tag` of `data` under `key`, in constant time.
///
/// Fails with [`Error::HmacTagLength`] if `tag` is not 32 bytes (truncated tags are refused
/// here; see [`verify_hmac_sm3_truncated`]) or [`Error::HmacMismatch`].
pub fn verify_hmac_sm3(key: &[u8], data: &[u8], tag: &[u8]) -> Result<(), Error> {
    verify_hmac_sm3_truncated(key, data, tag, HMAC_SM3_TAG_LEN)
}

/// Checks an HMAC-SM3 `tag` truncated to the leftmost `tag_len` bytes (RFC 2104 §5), in
/// constant time. `tag_len` is the caller's fixed protocol parameter, not read from the tag.
///
/// Fails with [`Error::HmacTruncation`] if `tag_len` is outside
/// [`HMAC_SM3_MIN_TAG_LEN`]..=[`HMAC_SM3_TAG_LEN`], [`Error::HmacTagLength`] if `tag` is not
/// `tag_len` bytes, or [`Error::HmacMismatch`].
pub fn verify_hmac_sm3_truncated(
    key: &[u8],
    data: &[u8],
    tag: &[u8],
    tag_len: usize,
) -> Result<(), Error> {
    if !(HMAC_SM3_MIN_TAG_LEN..=HMAC_SM3_TAG_LEN).contains(&tag_len) {
        return Err(Error::HmacTruncation {
            len: tag_len,
            min: HMAC_SM3_MIN_TAG_LEN,
            max: HMAC_SM3_TAG_LEN,
        });
    }
    if tag.len() != tag_len {
        return Err(Error::HmacTagLength {
            expected: tag_len,
            actual: tag.len(),
        });
    }
    // `verify_truncated_left` compares the leftmost tag.len() bytes with `subtle`; the length
    // itself was fixed above.
    keyed(key, data)
        .verify_truncated_left(tag)
        .map_err(|_| Error::HmacMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_fixed_by_the_verifier() {
        let tag = hmac_sm3(b"key", b"data");
        assert_eq!(verify_hmac_sm3(b"key", b"data", &tag.0), Ok(()));
        assert_eq!(
            verify_hmac_sm3(b"key", b"data", &tag.0[..16]),
            Err(Error::HmacTagLength {
                expected: 32,
                actual: 16
            })
        );
        assert_eq!(
            verify_hmac_sm3_truncated(b"key", b"data", &tag.0[..16], 16),
            Ok(())
        );
        assert_eq!(
            verify_hmac_sm3_truncated(b"key", b"data", &tag.0[..1], 1),
            Err(Error::HmacTruncation {
                len: 1,
                min: 16,
                max: 32
            })
        );
        assert_eq!(
            verify_hmac_sm3_truncated(b"key", b"data", &[], 0),
            Err(Error::HmacTruncation {
                len: 0,
                min: 16,
                max: 32
            })
        );
        assert_eq!(
            verify_hmac_sm3(b"key", b"other", &tag.0),
            Err(Error::HmacMismatch)
        );
    }
}
