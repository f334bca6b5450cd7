//! Serde helpers for the JSON forms of EVM proofs: byte strings as `0x`-prefixed lowercase hex,
//! with every length bounded while parsing (before the bytes are allocated), so a hostile
//! bundle cannot make a reader allocate more than the limits of [`super::verify`].

use core::fmt;
use std::borrow::Cow;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serializer};

use super::header::MAX_HEADER_LEN;
use super::transaction::MAX_TRANSACTION_LEN;
use super::verify::{MAX_PROOF_BYTES, MAX_PROOF_NODES};
use crate::hash::parse_hex_vec;

/// Serialises bytes as `0x`-hex.
pub(crate) fn ser_hex<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(bytes))
}

fn to_hex(bytes: &[u8]) -> String {
    crate::hash::to_0x_hex(bytes)
}

fn de_bounded<'de, D: Deserializer<'de>>(
    d: D,
    what: &'static str,
    max: usize,
) -> Result<Vec<u8>, D::Error> {
    let s = <Cow<'de, str>>::deserialize(d)?;
    parse_hex_vec(&s, what, max).map_err(de::Error::custom)
}

/// A receipt: at most [`MAX_PROOF_BYTES`].
pub(crate) fn de_receipt<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    de_bounded(d, "receipt", MAX_PROOF_BYTES)
}

/// A transaction: at most [`MAX_TRANSACTION_LEN`].
pub(crate) fn de_transaction<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    de_bounded(d, "transaction", MAX_TRANSACTION_LEN)
}

/// A block header: at most [`MAX_HEADER_LEN`].
pub(crate) fn de_header<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    de_bounded(d, "block header", MAX_HEADER_LEN)
}

/// Proof nodes as a list of hex strings.
pub(crate) fn ser_nodes<S: Serializer>(nodes: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(nodes.len()))?;
    for node in nodes {
        seq.serialize_element(&to_hex(node))?;
    }
    seq.end()
}

/// Proof nodes: at most [`MAX_PROOF_NODES`] nodes totalling at most [`MAX_PROOF_BYTES`].
pub(crate) fn de_nodes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
    d.deserialize_seq(NodesVisitor)
}

struct NodesVisitor;

impl<'de> Visitor<'de> for NodesVisitor {
    type Value = Vec<Vec<u8>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a list of at most {MAX_PROOF_NODES} hex-encoded trie nodes"
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut nodes = Vec::new();
        let mut total = 0usize;
        while let Some(s) = seq.next_element::<Cow<'de, str>>()? {
            if nodes.len() == MAX_PROOF_NODES {
                return Err(de::Error::custom(format!(
                    "more than {MAX_PROOF_NODES} trie nodes"
                )));
            }
            let node = parse_hex_vec(&s, "trie node", MAX_PROOF_BYTES - total)
                .map_err(de::Error::custom)?;
            total += node.len();
            nodes.push(node);
        }
        Ok(nodes)
    }
}
