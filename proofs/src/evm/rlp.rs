//! Strict Recursive Length Prefix (RLP, Ethereum Yellow Paper appendix B): a decoder that
//! accepts only the canonical encoding of every value, and the few encoders the trie needs,
//! both alloy-rlp's (its `Header` and `Encodable`). This module adds only a borrowed view of
//! items with byte offsets, for errors that say where a receipt or header is malformed.
//!
//! Strictness is what makes decoding safe for proofs: every accepted input re-encodes to
//! itself, so two different byte strings can never be read as the same receipt or header.
//! Rejected: truncated items, trailing bytes, a single byte below 0x80 wrapped in a string
//! header, long-form lengths that fit the short form, lengths with leading zero bytes, and
//! integers with leading zero bytes. All arithmetic on lengths is checked; nothing panics.

use alloy_rlp::{Decodable, Encodable, Header};

use crate::Error;

/// One decoded RLP item: a byte string or a list, with its payload and its full encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Item<'a> {
    /// Whether the item is a list (otherwise a byte string).
    pub(crate) is_list: bool,
    /// The payload: the string's bytes, or the concatenated encodings of the list's items.
    pub(crate) payload: &'a [u8],
    /// The item's complete encoding (header and payload).
    pub(crate) raw: &'a [u8],
}

/// Why bytes are not canonical RLP, and where (relative to the decoded buffer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RlpError {
    pub(crate) offset: usize,
    pub(crate) reason: String,
}

impl RlpError {
    fn at(offset: usize, reason: impl Into<String>) -> Self {
        RlpError {
            offset,
            reason: reason.into(),
        }
    }

    /// The crate error for this RLP error while decoding `what`.
    pub(crate) fn into_error(self, what: &'static str) -> Error {
        Error::Rlp {
            what,
            offset: self.offset,
            reason: self.reason,
        }
    }
}

/// Turns RLP errors and shape errors inside one encoded value into [`Error::Rlp`] with offsets
/// counted from the start of that value.
pub(crate) struct Ctx<'a> {
    base: &'a [u8],
    what: &'static str,
}

impl<'a> Ctx<'a> {
    /// A context for decoding `base` as a `what`.
    pub(crate) fn new(base: &'a [u8], what: &'static str) -> Self {
        Ctx { base, what }
    }

    /// Offset of `item` within the base value.
    fn offset_of(&self, item: &Item<'_>) -> usize {
        (item.raw.as_ptr() as usize).saturating_sub(self.base.as_ptr() as usize)
    }

    /// An RLP error `e` raised while reading `item` (its offset is relative to `item`).
    pub(crate) fn rlp(&self, item: &Item<'_>, e: RlpError) -> Error {
        Error::Rlp {
            what: self.what,
            offset: self.offset_of(item) + e.offset,
            reason: e.reason,
        }
    }

    /// A shape error at `item`.
    pub(crate) fn fail(&self, item: &Item<'_>, reason: impl Into<String>) -> Error {
        Error::Rlp {
            what: self.what,
            offset: self.offset_of(item),
            reason: reason.into(),
        }
    }

    /// Decodes the whole base value as one list and returns its items.
    pub(crate) fn top_list(&self) -> Result<(Item<'a>, Vec<Item<'a>>), Error> {
        let item = decode_exact(self.base).map_err(|e| e.into_error(self.what))?;
        let items = item.list().map_err(|e| e.into_error(self.what))?;
        Ok((item, items))
    }

    /// Decodes `payload` (a suffix of the base value) as exactly one list.
    pub(crate) fn list_at(&self, payload: &'a [u8]) -> Result<(Item<'a>, Vec<Item<'a>>), Error> {
        let at = (payload.as_ptr() as usize).saturating_sub(self.base.as_ptr() as usize);
        let relocate = |e: RlpError| Error::Rlp {
            what: self.what,
            offset: at + e.offset,
            reason: e.reason,
        };
        let item = decode_exact(payload).map_err(relocate)?;
        let items = item.list().map_err(relocate)?;
        Ok((item, items))
    }
}

/// Decodes the item at the start of `buf`; returns it and the bytes after it.
///
/// The header is alloy-rlp's [`Header::decode`], which refuses every non-canonical form
/// (a single byte below 0x80 wrapped, long-form lengths that fit the short form, lengths with
/// leading zero bytes) and payloads longer than the input. Ours is only the [`Item`] view with
/// offsets, which alloy-rlp's owned decoding does not give.
pub(crate) fn decode_first(buf: &[u8]) -> Result<(Item<'_>, &[u8]), RlpError> {
    if buf.is_empty() {
        return Err(RlpError::at(0, "empty input where an item was expected"));
    }
    let mut rest = buf;
    let header = Header::decode(&mut rest).map_err(|e| RlpError::at(0, reason(e)))?;
    // `rest` now starts at the payload (for a single byte below 0x80, the byte itself), and
    // `Header::decode` checked that the payload fits in it.
    let header_len = buf.len() - rest.len();
    let end = header_len + header.payload_length;
    Ok((
        Item {
            is_list: header.list,
            payload: &buf[header_len..end],
            raw: &buf[..end],
        },
        &buf[end..],
    ))
}

/// Why alloy-rlp refused an encoding, in the words of our errors.
fn reason(e: alloy_rlp::Error) -> String {
    match e {
        alloy_rlp::Error::NonCanonicalSingleByte => {
            "single byte below 0x80 must be encoded as itself".to_owned()
        }
        alloy_rlp::Error::NonCanonicalSize => "long-form length must use the short form".to_owned(),
        alloy_rlp::Error::LeadingZero => "length or integer has a leading zero byte".to_owned(),
        alloy_rlp::Error::InputTooShort => "item is truncated".to_owned(),
        alloy_rlp::Error::Overflow => "integer does not fit its type".to_owned(),
        other => other.to_string(),
    }
}

/// Decodes `buf` as exactly one item (no trailing bytes).
pub(crate) fn decode_exact(buf: &[u8]) -> Result<Item<'_>, RlpError> {
    let (item, rest) = decode_first(buf)?;
    if !rest.is_empty() {
        return Err(RlpError::at(
            item.raw.len(),
            format!("{} trailing bytes after the item", rest.len()),
        ));
    }
    Ok(item)
}

impl<'a> Item<'a> {
    /// The items of a list. Fails on a byte string or a malformed element.
    pub(crate) fn list(&self) -> Result<Vec<Item<'a>>, RlpError> {
        if !self.is_list {
            return Err(RlpError::at(0, "expected a list, found a byte string"));
        }
        let header = self.raw.len() - self.payload.len();
        let mut items = Vec::new();
        let mut rest = self.payload;
        while !rest.is_empty() {
            let offset = header + (self.payload.len() - rest.len());
            let (item, next) = decode_first(rest).map_err(|e| RlpError {
                offset: offset + e.offset,
                reason: e.reason,
            })?;
            items.push(item);
            rest = next;
        }
        Ok(items)
    }

    /// The bytes of a byte string. Fails on a list.
    pub(crate) fn bytes(&self) -> Result<&'a [u8], RlpError> {
        if self.is_list {
            return Err(RlpError::at(0, "expected a byte string, found a list"));
        }
        Ok(self.payload)
    }

    /// A byte string of exactly `N` bytes.
    pub(crate) fn fixed<const N: usize>(&self) -> Result<[u8; N], RlpError> {
        let b = self.bytes()?;
        b.try_into()
            .map_err(|_| RlpError::at(0, format!("expected {N} bytes, found {}", b.len())))
    }

    /// A canonical unsigned integer of at most `max_bytes` bytes (big-endian, no leading zero;
    /// zero is the empty string), returned as its minimal big-endian bytes. Ours: alloy-rlp
    /// decodes integers only into fixed-width types, and the header's 32-byte difficulty and
    /// base fee are kept as bytes.
    pub(crate) fn uint_bytes(&self, max_bytes: usize) -> Result<&'a [u8], RlpError> {
        let b = self.bytes()?;
        if b.len() > max_bytes {
            return Err(RlpError::at(
                0,
                format!("integer of {} bytes exceeds {max_bytes} bytes", b.len()),
            ));
        }
        if b.first() == Some(&0) {
            return Err(RlpError::at(0, "integer has a leading zero byte"));
        }
        Ok(b)
    }

    /// A canonical unsigned integer that fits in 64 bits (alloy-rlp's `u64` decoding, which
    /// refuses leading zeros and more than 8 bytes).
    pub(crate) fn u64(&self) -> Result<u64, RlpError> {
        if self.is_list {
            return Err(RlpError::at(0, "expected a byte string, found a list"));
        }
        let mut raw = self.raw;
        <u64 as Decodable>::decode(&mut raw).map_err(|e| RlpError::at(0, reason(e)))
    }
}

/// Appends the encoding of a byte string (alloy-rlp's).
pub(crate) fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    bytes.encode(out);
}

/// Appends the header of a list whose items' encodings total `payload_len` bytes.
pub(crate) fn encode_list_header(payload_len: usize, out: &mut Vec<u8>) {
    Header {
        list: true,
        payload_length: payload_len,
    }
    .encode(out);
}

/// Wraps already-encoded items into a list.
pub(crate) fn encode_list(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 9);
    encode_list_header(payload.len(), &mut out);
    out.extend_from_slice(payload);
    out
}

/// The canonical encoding of an unsigned integer (the receipts-trie key of a transaction index).
pub(crate) fn encode_u64(value: u64) -> Vec<u8> {
    alloy_rlp::encode(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // Examples from the Ethereum wiki's RLP page (ethereum.org "Recursive-length prefix").
    #[test]
    fn published_examples_round_trip() {
        let dog = h("83646f67");
        assert_eq!(decode_exact(&dog).unwrap().bytes().unwrap(), b"dog");
        let cat_dog = h("c88363617483646f67");
        let items = decode_exact(&cat_dog).unwrap().list().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].bytes().unwrap(), b"cat");
        assert_eq!(items[1].bytes().unwrap(), b"dog");
        assert!(decode_exact(&h("80")).unwrap().bytes().unwrap().is_empty());
        assert!(decode_exact(&h("c0")).unwrap().list().unwrap().is_empty());
        assert_eq!(decode_exact(&h("0f")).unwrap().u64().unwrap(), 15);
        assert_eq!(decode_exact(&h("820400")).unwrap().u64().unwrap(), 1024);
        assert_eq!(decode_exact(&h("80")).unwrap().u64().unwrap(), 0);
        // The set-theoretical representation of three: [ [], [[]], [ [], [[]] ] ].
        let three = h("c7c0c1c0c3c0c1c0");
        let items = decode_exact(&three).unwrap().list().unwrap();
        assert_eq!(items.len(), 3);
        let lorem = b"Lorem ipsum dolor sit amet, consectetur adipisicing elit";
        let mut enc = Vec::new();
        encode_bytes(lorem, &mut enc);
        assert_eq!(&enc[..2], &[0xb8, 0x38]);
        assert_eq!(decode_exact(&enc).unwrap().bytes().unwrap(), lorem);
    }

    #[test]
    fn integers_encode_canonically() {
        assert_eq!(encode_u64(0), h("80"));
        assert_eq!(encode_u64(1), h("01"));
        assert_eq!(encode_u64(0x7f), h("7f"));
        assert_eq!(encode_u64(0x80), h("8180"));
        assert_eq!(encode_u64(1024), h("820400"));
        assert_eq!(encode_u64(u64::MAX), h("88ffffffffffffffff"));
        for v in [0, 1, 127, 128, 255, 256, 65_535, 1 << 40, u64::MAX] {
            assert_eq!(decode_exact(&encode_u64(v)).unwrap().u64().unwrap(), v);
        }
    }

    #[test]
    fn non_canonical_encodings_are_rejected() {
        for bad in [
            "",                   // nothing
            "8100",               // single byte < 0x80 wrapped
            "817f",               // same
            "83646f",             // truncated string
            "c883636174",         // truncated list
            "b800",               // long form for a short length (0)
            "b837",               // long form for 55
            "b90038",             // length with a leading zero
            "83646f6700",         // trailing byte
            "f800",               // long-form list for a short length
            "c1",                 // list truncated
            "bf0100000000000000", // absurd length
        ] {
            assert!(decode_exact(&h(bad)).is_err(), "{bad} accepted");
        }
        // Integers: leading zeros and over-long values.
        assert!(decode_exact(&h("00")).unwrap().u64().is_err());
        assert!(decode_exact(&h("820001")).unwrap().u64().is_err());
        assert!(
            decode_exact(&h("89010000000000000000"))
                .unwrap()
                .u64()
                .is_err()
        );
        // Shape errors.
        assert!(decode_exact(&h("c0")).unwrap().bytes().is_err());
        assert!(decode_exact(&h("80")).unwrap().list().is_err());
        assert!(decode_exact(&h("83646f67")).unwrap().fixed::<4>().is_err());
    }

    #[test]
    fn error_offsets_point_into_lists() {
        // Second element of the list is a wrapped single byte at offset 2.
        let err = decode_exact(&h("c3018100")).unwrap().list().unwrap_err();
        assert_eq!(err.offset, 2);
    }
}
