//! The Ethereum Merkle-Patricia trie (Yellow Paper appendix D): roots and inclusion proofs of a
//! key-value map, as used for the receipts, transactions, state and storage tries.
//!
//! The trie of a map is a function of the map alone, so [`PatriciaTrie`] keeps the map (in a
//! `BTreeMap`, whose byte order is the trie's nibble order) and builds the canonical trie when a
//! root or proof is asked for: [`PatriciaTrie::freeze`] builds it once for many proofs. Keys may
//! be of any length and one may prefix another (branch nodes then carry values), so the general
//! `trietest` vectors are reproduced, not only fixed-length keys.
//!
//! Nodes whose encoding is shorter than 32 bytes are embedded in their parent instead of being
//! referenced by hash; the root is always hashed. Proofs list the hashed nodes from the root
//! down, which is what `eth_getProof` returns and what [`super::verify_proof`] checks.
//!
//! Why this builder is ours: alloy-trie's `HashBuilder` (which builds the receipts trie, see
//! [`super::ReceiptTrie`]) cannot store a value at a branch node, so it cannot build a map in
//! which one key prefixes another, and it needs every proof target before it builds. This
//! trie serves those general maps (the `trietest` vectors, tests of the verifier); it only
//! produces roots and proofs, and every proof still has to pass [`super::verify_proof`]. Its
//! RLP encoding is alloy-rlp's.

use std::collections::BTreeMap;

use super::rlp::{encode_bytes, encode_list};
use crate::Hash32;
use crate::hash::keccak256;

/// Root of the empty trie: keccak-256 of the RLP empty string (0x80).
pub const EMPTY_ROOT: Hash32 = Hash32([
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
]);

/// A key-value map with Merkle-Patricia roots and proofs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatriciaTrie {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl PatriciaTrie {
    /// An empty trie.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`. An empty value deletes the key, as in every Ethereum client: a
    /// trie never stores an empty value.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) {
        if value.is_empty() {
            self.entries.remove(key);
        } else {
            self.entries.insert(key.to_vec(), value.to_vec());
        }
    }

    /// Deletes `key`, returning its value if it was present.
    pub fn remove(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.entries.remove(key)
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the trie holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The root hash (builds the trie; use [`PatriciaTrie::freeze`] for several queries).
    pub fn root(&self) -> Hash32 {
        self.freeze().root()
    }

    /// The canonical trie of the current contents, for roots and proofs.
    pub fn freeze(&self) -> FrozenTrie {
        FrozenTrie::from_sorted(
            self.entries
                .iter()
                .map(|(k, v)| (nibbles(k), v.as_slice()))
                .collect(),
        )
    }
}

/// The canonical trie of a fixed map: its root and the inclusion (or exclusion) proof of any key.
#[derive(Clone, Debug)]
pub struct FrozenTrie {
    root: Option<Node>,
}

#[derive(Clone, Debug)]
struct Node {
    kind: Kind,
    /// The node's RLP encoding.
    rlp: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Kind {
    Leaf,
    Extension { path: Vec<u8>, child: Box<Node> },
    Branch { children: Box<[Option<Node>; 16]> },
}

impl FrozenTrie {
    /// Builds the trie of `entries`, whose nibble keys must be sorted and distinct.
    pub(crate) fn from_sorted(entries: Vec<(Vec<u8>, &[u8])>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        let root = (!entries.is_empty()).then(|| build(&entries, 0));
        FrozenTrie { root }
    }

    /// The root hash: keccak-256 of the root node (always hashed, even when short), or
    /// [`EMPTY_ROOT`] for an empty trie.
    pub fn root(&self) -> Hash32 {
        self.root
            .as_ref()
            .map_or(EMPTY_ROOT, |node| keccak256(&node.rlp))
    }

    /// The proof for `key`: the encodings of the hashed nodes on its path, root first. For an
    /// absent key it proves absence (the path up to where the key diverges).
    pub fn proof(&self, key: &[u8]) -> Vec<Vec<u8>> {
        let key = nibbles(key);
        let mut out = Vec::new();
        let mut pos = 0;
        let mut next = self.root.as_ref();
        let mut is_root = true;
        while let Some(node) = next {
            if is_root || node.rlp.len() >= 32 {
                out.push(node.rlp.clone());
            }
            is_root = false;
            next = match &node.kind {
                Kind::Leaf => None,
                Kind::Extension { path, child } => {
                    if key[pos..].starts_with(path) {
                        pos += path.len();
                        Some(child.as_ref())
                    } else {
                        None
                    }
                }
                Kind::Branch { children } => match key.get(pos) {
                    Some(&nibble) => {
                        pos += 1;
                        children[usize::from(nibble)].as_ref()
                    }
                    None => None,
                },
            };
        }
        out
    }
}

/// Builds the subtrie of `entries` (sorted, sharing their first `depth` nibbles, at least one).
fn build(entries: &[(Vec<u8>, &[u8])], depth: usize) -> Node {
    let (first_key, first_value) = &entries[0];
    if entries.len() == 1 {
        let path = &first_key[depth..];
        let mut payload = Vec::new();
        encode_bytes(&hex_prefix(path, true), &mut payload);
        encode_bytes(first_value, &mut payload);
        return Node {
            kind: Kind::Leaf,
            rlp: encode_list(&payload),
        };
    }
    // Sorted keys: the prefix common to all is the one common to the first and the last.
    let last_key = &entries[entries.len() - 1].0;
    let shared = first_key[depth..]
        .iter()
        .zip(&last_key[depth..])
        .take_while(|(a, b)| a == b)
        .count();
    if shared > 0 {
        let path = first_key[depth..depth + shared].to_vec();
        let child = build(entries, depth + shared);
        let mut payload = Vec::new();
        encode_bytes(&hex_prefix(&path, false), &mut payload);
        push_reference(&child, &mut payload);
        return Node {
            rlp: encode_list(&payload),
            kind: Kind::Extension {
                path,
                child: Box::new(child),
            },
        };
    }
    // A branch: a key ending here is the branch's value (it sorts first, being a prefix of
    // the others); the rest are grouped by their next nibble.
    let (value, rest) = if first_key.len() == depth {
        (Some(*first_value), &entries[1..])
    } else {
        (None, entries)
    };
    let mut children: Box<[Option<Node>; 16]> = Box::default();
    let mut start = 0;
    while start < rest.len() {
        let nibble = rest[start].0[depth];
        let end = start
            + rest[start..]
                .iter()
                .take_while(|(k, _)| k[depth] == nibble)
                .count();
        children[usize::from(nibble)] = Some(build(&rest[start..end], depth + 1));
        start = end;
    }
    let mut payload = Vec::new();
    for child in children.iter() {
        match child {
            Some(child) => push_reference(child, &mut payload),
            None => payload.push(0x80),
        }
    }
    encode_bytes(value.unwrap_or(&[]), &mut payload);
    Node {
        rlp: encode_list(&payload),
        kind: Kind::Branch { children },
    }
}

/// Appends how a parent refers to `child`: embedded if its encoding is under 32 bytes,
/// otherwise as the 32-byte string of its keccak-256.
fn push_reference(child: &Node, out: &mut Vec<u8>) {
    if child.rlp.len() < 32 {
        out.extend_from_slice(&child.rlp);
    } else {
        encode_bytes(keccak256(&child.rlp).as_bytes(), out);
    }
}

/// The nibbles (half-bytes, high first) of `bytes`.
pub(crate) fn nibbles(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

/// Hex-prefix encoding of a nibble path (Yellow Paper appendix C): a flag nibble (2 for a leaf,
/// plus 1 for an odd length), a zero pad nibble for even lengths, then the path.
pub(crate) fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2u8 } else { 0 };
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    let rest = if path.len() % 2 == 1 {
        out.push(((flag + 1) << 4) | path[0]);
        &path[1..]
    } else {
        out.push(flag << 4);
        path
    };
    out.extend(rest.chunks(2).map(|pair| (pair[0] << 4) | pair[1]));
    out
}

/// Decodes a hex-prefix path strictly: returns (is_leaf, nibbles). The flag nibble must be 0..=3
/// and the pad nibble of an even-length path must be zero.
pub(crate) fn decode_hex_prefix(bytes: &[u8]) -> Result<(bool, Vec<u8>), &'static str> {
    let Some((&first, rest)) = bytes.split_first() else {
        return Err("empty hex-prefix path");
    };
    let flag = first >> 4;
    if flag > 3 {
        return Err("hex-prefix flag nibble above 3");
    }
    let mut path = Vec::with_capacity(rest.len() * 2 + 1);
    if flag & 1 == 1 {
        path.push(first & 0x0f);
    } else if first & 0x0f != 0 {
        return Err("hex-prefix pad nibble of an even path is not zero");
    }
    path.extend(nibbles(rest));
    Ok((flag & 2 == 2, path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Yellow Paper appendix C examples of hex-prefix encoding.
    #[test]
    fn hex_prefix_examples() {
        assert_eq!(hex_prefix(&[1, 2, 3, 4, 5], false), vec![0x11, 0x23, 0x45]);
        assert_eq!(
            hex_prefix(&[0, 1, 2, 3, 4, 5], false),
            vec![0x00, 0x01, 0x23, 0x45]
        );
        assert_eq!(
            hex_prefix(&[0, 0xf, 1, 0xc, 0xb, 8], true),
            vec![0x20, 0x0f, 0x1c, 0xb8]
        );
        assert_eq!(
            hex_prefix(&[0xf, 1, 0xc, 0xb, 8], true),
            vec![0x3f, 0x1c, 0xb8]
        );
        assert_eq!(hex_prefix(&[], true), vec![0x20]);
        for (path, leaf) in [
            (vec![], true),
            (vec![1], false),
            (vec![1, 2], true),
            (vec![0, 0xf, 3], false),
        ] {
            assert_eq!(
                decode_hex_prefix(&hex_prefix(&path, leaf)).unwrap(),
                (leaf, path)
            );
        }
        assert!(decode_hex_prefix(&[]).is_err());
        assert!(decode_hex_prefix(&[0x40]).is_err());
        assert!(decode_hex_prefix(&[0x01]).is_err());
        assert!(decode_hex_prefix(&[0x2a]).is_err());
    }

    #[test]
    fn empty_trie_root_is_keccak_of_empty_string() {
        assert_eq!(PatriciaTrie::new().root(), keccak256(&[0x80]));
        assert!(PatriciaTrie::new().freeze().proof(b"x").is_empty());
    }

    #[test]
    fn empty_value_deletes() {
        let mut t = PatriciaTrie::new();
        t.insert(b"a", b"1");
        t.insert(b"b", b"2");
        let with_both = t.root();
        t.insert(b"c", b"3");
        t.insert(b"c", b"");
        assert_eq!(t.root(), with_both);
        assert_eq!(t.remove(b"b"), Some(b"2".to_vec()));
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(b"a"), Some(&b"1"[..]));
    }
}
