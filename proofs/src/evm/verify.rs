//! Strict verification of Merkle-Patricia proofs from untrusted sources.
//!
//! The verifier walks from the root to the key, one node at a time, and accepts a proof only if
//! it is exactly the canonical path: every hashed node hashes to what its parent commits to,
//! every node is canonical (2 or 17 items, strict hex-prefix paths, children under 32 bytes
//! embedded and all others hashed, no empty values, extensions followed by branches), and no
//! node is left over. Sizes are bounded before anything is hashed, the walk is a loop (no
//! recursion, so no stack to exhaust), and each step consumes at least one key nibble, so the
//! work is linear in the proof's size. Hostile input yields an [`Error`], never a panic.

use super::rlp::{Item, decode_exact};
use super::trie::{EMPTY_ROOT, decode_hex_prefix, nibbles};
use crate::hash::keccak256;
use crate::{Error, Hash32};

/// Most nodes a proof may have. A receipts-trie proof has at most 19 (a 9-byte key has 18
/// nibbles, one branch each, plus the leaf); a 32-byte secure-trie key needs at most 65, but
/// real tries stay far shallower (about 10 levels for mainnet's state).
pub const MAX_PROOF_NODES: usize = 64;

/// Most bytes the nodes of a proof may total: 3 MiB. Interior nodes are under 600 bytes; the
/// leaf holds the whole value, and a receipt with many or large logs can reach hundreds of
/// KiB (log data costs 8 gas per byte). 3 MiB keeps a proof, hex-encoded twice over in a
/// bundle (the receipt alone and inside its leaf), within the bundle's 16 MiB JSON limit.
pub const MAX_PROOF_BYTES: usize = 3 * 1024 * 1024;

/// How the next node on the path is referenced by its parent.
enum NodeRef<'a> {
    /// By hash: the next proof node must hash to it.
    Hash(Hash32),
    /// Embedded in the parent (encodings under 32 bytes).
    Inline(&'a [u8]),
}

/// Verifies `nodes` as the proof for `key` in the trie with root `root`.
///
/// Returns `Some(value)` if the proof shows `key` holding `value`, `None` if it shows `key`
/// absent (a valid exclusion proof), or an error naming what is wrong with the proof.
pub fn verify_proof<'a>(
    root: &Hash32,
    key: &[u8],
    nodes: &'a [Vec<u8>],
) -> Result<Option<&'a [u8]>, Error> {
    if nodes.len() > MAX_PROOF_NODES {
        return Err(Error::MptProofTooLarge {
            what: "nodes",
            actual: nodes.len(),
            max: MAX_PROOF_NODES,
        });
    }
    let total = nodes
        .iter()
        .map(Vec::len)
        .fold(0usize, usize::saturating_add);
    if total > MAX_PROOF_BYTES {
        return Err(Error::MptProofTooLarge {
            what: "bytes",
            actual: total,
            max: MAX_PROOF_BYTES,
        });
    }
    if nodes.is_empty() && *root == EMPTY_ROOT {
        return Ok(None);
    }

    let key = nibbles(key);
    let mut pos = 0;
    let mut used = 0;
    let mut next = NodeRef::Hash(*root);
    let mut after_extension = false;
    loop {
        // Resolve the reference into node bytes; `index` names the proof node holding them.
        let (bytes, index) = match next {
            NodeRef::Hash(expected) => {
                let Some(node) = nodes.get(used) else {
                    return Err(Error::MptMissingNode { index: used });
                };
                let computed = keccak256(node);
                if computed != expected {
                    return Err(Error::MptNodeHashMismatch {
                        index: used,
                        expected,
                        computed,
                    });
                }
                if used > 0 && node.len() < 32 {
                    return Err(malformed(
                        used,
                        "a node under 32 bytes must be embedded, not referenced by hash",
                    ));
                }
                used += 1;
                (node.as_slice(), used - 1)
            }
            NodeRef::Inline(raw) => (raw, used.saturating_sub(1)),
        };
        let items = decode_exact(bytes)
            .and_then(|item| item.list())
            .map_err(|e| malformed(index, format!("{} (at byte {})", e.reason, e.offset)))?;
        if after_extension && items.len() != 17 {
            return Err(malformed(index, "an extension's child must be a branch"));
        }
        after_extension = false;

        let found = match items.len() {
            17 => {
                let value = items[16]
                    .bytes()
                    .map_err(|_| malformed(index, "a branch value must be a byte string"))?;
                // Every slot must be a well-formed reference, not only the one followed.
                let mut occupied = usize::from(!value.is_empty());
                for slot in &items[..16] {
                    if child_reference(slot, index)?.is_some() {
                        occupied += 1;
                    }
                }
                if occupied < 2 {
                    return Err(malformed(index, "a branch must have at least two entries"));
                }
                match key.get(pos) {
                    None => Some((!value.is_empty()).then_some(value)),
                    Some(&nibble) => {
                        pos += 1;
                        match child_reference(&items[usize::from(nibble)], index)? {
                            Some(child) => {
                                next = child;
                                None
                            }
                            None => Some(None),
                        }
                    }
                }
            }
            2 => {
                let path = items[0]
                    .bytes()
                    .map_err(|_| malformed(index, "a node path must be a byte string"))?;
                let (is_leaf, path) =
                    decode_hex_prefix(path).map_err(|reason| malformed(index, reason))?;
                if is_leaf {
                    let value = items[1]
                        .bytes()
                        .map_err(|_| malformed(index, "a leaf value must be a byte string"))?;
                    if value.is_empty() {
                        return Err(malformed(index, "a leaf value is never empty"));
                    }
                    Some((key[pos..] == path[..]).then_some(value))
                } else {
                    if path.is_empty() {
                        return Err(malformed(index, "an extension path is never empty"));
                    }
                    if key[pos..].starts_with(&path) {
                        pos += path.len();
                        match child_reference(&items[1], index)? {
                            Some(child) => {
                                next = child;
                                after_extension = true;
                                None
                            }
                            None => {
                                return Err(malformed(index, "an extension has no child"));
                            }
                        }
                    } else {
                        Some(None)
                    }
                }
            }
            n => {
                return Err(malformed(
                    index,
                    format!("a trie node has 2 or 17 items, not {n}"),
                ));
            }
        };
        if let Some(result) = found {
            if used != nodes.len() {
                return Err(Error::MptUnusedNodes {
                    used,
                    given: nodes.len(),
                });
            }
            return Ok(result);
        }
    }
}

/// Reads a child slot: `None` for an empty slot, a hash for a 32-byte string, the raw node for
/// an embedded list (which must encode to under 32 bytes).
fn child_reference<'a>(item: &Item<'a>, index: usize) -> Result<Option<NodeRef<'a>>, Error> {
    if item.is_list {
        if item.raw.len() >= 32 {
            return Err(malformed(
                index,
                "a child of 32 bytes or more must be referenced by hash",
            ));
        }
        return Ok(Some(NodeRef::Inline(item.raw)));
    }
    match item.payload.len() {
        0 => Ok(None),
        32 => {
            let mut h = [0u8; 32];
            h.copy_from_slice(item.payload);
            Ok(Some(NodeRef::Hash(Hash32(h))))
        }
        n => Err(malformed(
            index,
            format!("a child reference is empty, 32 bytes or an embedded node, not {n} bytes"),
        )),
    }
}

fn malformed(index: usize, reason: impl Into<String>) -> Error {
    Error::MptMalformedNode {
        index,
        reason: reason.into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::trie::PatriciaTrie;
    use super::*;

    fn sample() -> PatriciaTrie {
        let mut t = PatriciaTrie::new();
        for (k, v) in [
            (&b"do"[..], &b"verb"[..]),
            (b"dog", b"puppy"),
            (b"doge", b"coin"),
            (b"horse", b"stallion"),
        ] {
            t.insert(k, v);
        }
        t
    }

    #[test]
    fn proofs_of_present_and_absent_keys() {
        let t = sample();
        let frozen = t.freeze();
        let root = frozen.root();
        for key in [&b"do"[..], b"dog", b"doge", b"horse"] {
            let proof = frozen.proof(key);
            assert_eq!(
                verify_proof(&root, key, &proof).unwrap(),
                Some(t.get(key).unwrap())
            );
        }
        for key in [&b"d"[..], b"dogs", b"cat", b"horses", b"", b"doe"] {
            let proof = frozen.proof(key);
            assert_eq!(verify_proof(&root, key, &proof).unwrap(), None, "{key:?}");
        }
    }

    #[test]
    fn empty_trie() {
        assert_eq!(verify_proof(&EMPTY_ROOT, b"k", &[]).unwrap(), None);
        assert!(matches!(
            verify_proof(&Hash32([1; 32]), b"k", &[]),
            Err(Error::MptMissingNode { index: 0 })
        ));
    }

    #[test]
    fn extra_and_missing_nodes() {
        let frozen = sample().freeze();
        let root = frozen.root();
        let mut proof = frozen.proof(b"horse");
        proof.push(vec![0xc0]);
        assert!(matches!(
            verify_proof(&root, b"horse", &proof),
            Err(Error::MptUnusedNodes { .. })
        ));
        let proof = frozen.proof(b"doge");
        assert!(proof.len() >= 2);
        assert!(matches!(
            verify_proof(&root, b"doge", &proof[..proof.len() - 1]),
            Err(Error::MptMissingNode { .. })
        ));
    }

    use super::super::rlp::{encode_bytes, encode_list};
    use super::super::trie::hex_prefix;

    fn list(items: &[Vec<u8>]) -> Vec<u8> {
        encode_list(&items.concat())
    }
    fn string(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_bytes(bytes, &mut out);
        out
    }
    fn leaf(path: &[u8], value: &[u8]) -> Vec<u8> {
        list(&[string(&hex_prefix(path, true)), string(value)])
    }
    fn extension(path: &[u8], child: Vec<u8>) -> Vec<u8> {
        list(&[string(&hex_prefix(path, false)), child])
    }
    fn branch(slots: &[(usize, Vec<u8>)], value: &[u8]) -> Vec<u8> {
        let mut items = vec![string(&[]); 17];
        for (i, slot) in slots {
            items[*i] = slot.clone();
        }
        items[16] = string(value);
        list(&items)
    }
    fn hash_ref(node: &[u8]) -> Vec<u8> {
        string(keccak256(node).as_bytes())
    }
    /// Verifies `nodes` for `key` under the root committing to the first node.
    fn check(key: &[u8], nodes: Vec<Vec<u8>>) -> Result<Option<Vec<u8>>, Error> {
        let root = keccak256(&nodes[0]);
        verify_proof(&root, key, &nodes).map(|v| v.map(<[u8]>::to_vec))
    }
    fn is_malformed(r: Result<Option<Vec<u8>>, Error>) -> bool {
        matches!(r, Err(Error::MptMalformedNode { .. }))
    }

    #[test]
    fn hand_built_canonical_proofs_verify() {
        // extension [a b] -> branch { 1: hashed leaf [2 3 4], 5: embedded leaf [0 0 0] }
        let big = vec![7u8; 40];
        let l = leaf(&[2, 3, 4], &big);
        let b = branch(&[(1, hash_ref(&l)), (5, leaf(&[0, 0, 0], b"x"))], &[]);
        let e = extension(&[0xa, 0xb], hash_ref(&b));
        let path = vec![e.clone(), b.clone(), l.clone()];
        assert_eq!(check(&[0xab, 0x12, 0x34], path.clone()), Ok(Some(big)));
        assert_eq!(
            check(&[0xab, 0x50, 0x00], vec![e.clone(), b.clone()]),
            Ok(Some(b"x".to_vec()))
        );
        // Absent: diverging in the leaf, in an empty slot, in the extension.
        assert_eq!(check(&[0xab, 0x12, 0x35], path), Ok(None));
        assert_eq!(check(&[0xab, 0x20, 0x00], vec![e.clone(), b]), Ok(None));
        assert_eq!(check(&[0xac, 0x12, 0x34], vec![e.clone()]), Ok(None));
        // Truncated after the extension.
        assert_eq!(
            check(&[0xab, 0x12, 0x34], vec![e]),
            Err(Error::MptMissingNode { index: 1 })
        );
    }

    #[test]
    fn non_canonical_nodes_are_malformed() {
        let big = vec![7u8; 40];
        let l = leaf(&[1], &big);
        // Three items; a byte string; trailing bytes.
        assert!(is_malformed(check(
            b"",
            vec![list(&[string(b"a"), string(b"b"), string(b"c")])]
        )));
        assert!(is_malformed(check(b"", vec![string(&[1; 40])])));
        let mut trailing = l.clone();
        trailing.push(0x80);
        assert!(is_malformed(check(&[0x01], vec![trailing])));
        // A branch with a single entry.
        assert!(is_malformed(check(
            &[0x01],
            vec![branch(&[(0, hash_ref(&l))], &[])]
        )));
        // A branch slot of 5 bytes (not the slot followed).
        let b = branch(&[(0, hash_ref(&l)), (3, string(&[1; 5]))], &[]);
        assert!(is_malformed(check(&[0x01], vec![b, l.clone()])));
        // A leaf with an empty value; a bad hex-prefix flag.
        assert!(is_malformed(check(&[0x12], vec![leaf(&[1, 2], &[]),])));
        let bad_flag = list(&[string(&[0x40, 0x12]), string(&big)]);
        assert!(is_malformed(check(&[0x12], vec![bad_flag])));
        // An extension with an empty path, or followed by a leaf.
        assert!(is_malformed(check(
            &[0x01],
            vec![extension(&[], hash_ref(&l)), l.clone()]
        )));
        let e = extension(&[0], hash_ref(&l));
        assert!(is_malformed(check(&[0x01], vec![e, l.clone()])));
        // An embedded child of 32 bytes or more.
        let b = branch(&[(0, l.clone()), (1, hash_ref(&l))], &[]);
        assert!(is_malformed(check(&[0x01], vec![b])));
        // A node under 32 bytes referenced by hash.
        let small = leaf(&[1], b"tiny");
        let b = branch(&[(0, hash_ref(&small)), (1, hash_ref(&l))], &[]);
        assert!(is_malformed(check(&[0x01], vec![b, small])));
    }

    #[test]
    fn limits_are_checked_first() {
        let many = vec![vec![0u8; 1]; MAX_PROOF_NODES + 1];
        assert!(matches!(
            verify_proof(&EMPTY_ROOT, b"k", &many),
            Err(Error::MptProofTooLarge { what: "nodes", .. })
        ));
        let big = vec![vec![0u8; MAX_PROOF_BYTES + 1]];
        assert!(matches!(
            verify_proof(&EMPTY_ROOT, b"k", &big),
            Err(Error::MptProofTooLarge { what: "bytes", .. })
        ));
    }
}
