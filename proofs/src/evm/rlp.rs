//! Strict Recursive Length Prefix (RLP, Ethereum Yellow Paper appendix B): a decoder that
//! accepts only the canonical encoding of every value, and the few encoders the trie needs.
//!
//! Strictness is what makes decoding safe for proofs: every accepted input re-encodes to
//! itself, so two different byte strings can never be read as the same receipt or header.
//! Rejected: truncated items, trailing bytes, a single byte below 0x80 wrapped in a string
//! header, long-form lengths that fit the short form, lengths with leading zero bytes, and
//! integers with leading zero bytes. All arithmetic on lengths is checked; nothing panics.

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
pub(crate) fn decode_first(buf: &[u8]) -> Result<(Item<'_>, &[u8]), RlpError> {
    let Some(&first) = buf.first() else {
        return Err(RlpError::at(0, "empty input where an item was expected"));
    };
    let (is_list, header_len, payload_len) = match first {
        0x00..=0x7f => {
            let raw = &buf[..1];
            return Ok((
                Item {
                    is_list: false,
                    payload: raw,
                    raw,
                },
                &buf[1..],
            ));
        }
        0x80..=0xb7 => (false, 1, usize::from(first - 0x80)),
        0xb8..=0xbf => {
            let (len, header) = long_length(buf, usize::from(first - 0xb7))?;
            (false, header, len)
        }
        0xc0..=0xf7 => (true, 1, usize::from(first - 0xc0)),
        0xf8..=0xff => {
            let (len, header) = long_length(buf, usize::from(first - 0xf7))?;
            (true, header, len)
        }
    };
    let end = header_len
        .checked_add(payload_len)
        .ok_or_else(|| RlpError::at(0, "length overflows"))?;
    if end > buf.len() {
        return Err(RlpError::at(
            0,
            format!("item of {end} bytes is truncated to {} bytes", buf.len()),
        ));
    }
    let payload = &buf[header_len..end];
    if !is_list && payload_len == 1 && payload[0] < 0x80 {
        return Err(RlpError::at(
            0,
            "single byte below 0x80 must be encoded as itself",
        ));
    }
    Ok((
        Item {
            is_list,
            payload,
            raw: &buf[..end],
        },
        &buf[end..],
    ))
}

/// Reads a long-form length of `len_of_len` bytes after the first byte; returns the payload
/// length and the header length.
fn long_length(buf: &[u8], len_of_len: usize) -> Result<(usize, usize), RlpError> {
    let Some(bytes) = buf.get(1..1 + len_of_len) else {
        return Err(RlpError::at(1, "length bytes are truncated"));
    };
    if bytes[0] == 0 {
        return Err(RlpError::at(1, "length has a leading zero byte"));
    }
    if len_of_len > core::mem::size_of::<usize>() {
        return Err(RlpError::at(1, "length does not fit in memory"));
    }
    let len = bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if len <= 55 {
        return Err(RlpError::at(
            0,
            format!("long-form length {len} must use the short form"),
        ));
    }
    Ok((len, 1 + len_of_len))
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
    /// zero is the empty string), returned as its minimal big-endian bytes.
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

    /// A canonical unsigned integer that fits in 64 bits.
    pub(crate) fn u64(&self) -> Result<u64, RlpError> {
        let b = self.uint_bytes(8)?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }
}

/// Appends the header of a byte string or list (`offset` 0x80 or 0xc0) with `len` payload bytes.
fn encode_header(offset: u8, len: usize, out: &mut Vec<u8>) {
    if len <= 55 {
        // len <= 55, so the sum stays within a byte.
        out.push(offset + len as u8);
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count();
        let len_bytes = &be[skip..];
        // At most size_of::<usize>() = 8 bytes, so 0x37 + 8 stays within a byte.
        out.push(offset + 55 + len_bytes.len() as u8);
        out.extend_from_slice(len_bytes);
    }
}

/// Appends the encoding of a byte string.
pub(crate) fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    if bytes.len() == 1 && bytes[0] < 0x80 {
        out.push(bytes[0]);
    } else {
        encode_header(0x80, bytes.len(), out);
        out.extend_from_slice(bytes);
    }
}

/// Appends the header of a list whose items' encodings total `payload_len` bytes.
pub(crate) fn encode_list_header(payload_len: usize, out: &mut Vec<u8>) {
    encode_header(0xc0, payload_len, out);
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
    let be = value.to_be_bytes();
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let mut out = Vec::with_capacity(9);
    encode_bytes(&be[skip..], &mut out);
    out
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
