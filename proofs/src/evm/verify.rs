//! Strict verification of Merkle-Patricia proofs from untrusted sources.
//!
//! Two verifiers must both accept a proof. alloy-trie's `proof::verify_proof` checks the
//! commitment chain (every node hashes to its parent's reference, the path follows the key, the
//! value is the one claimed); it is the authority wherever it can speak. Our walk, from the root
//! to the key one node at a time, adds what alloy-trie cannot express:
//! - the value itself: alloy-trie checks a value given to it, while callers (state proofs) need
//!   the value the proof holds, so the walk reads it and alloy-trie then confirms it;
//! - bounds on the proof's size before anything is hashed (alloy-trie has none);
//! - canonical form: 2 or 17 items, strict hex-prefix paths, children under 32 bytes embedded
//!   and all others hashed, no empty values, branches of at least two entries, extensions
//!   followed by branches, no node left over; alloy-trie accepts some non-canonical nodes;
//! - typed errors naming the node at fault;
//! - tries alloy-trie's decoder refuses or cannot check: values at branch nodes (keys that
//!   prefix other keys, as in the general `trietest` vectors) and root nodes under 32 bytes
//!   (which it compares by value, not by hash). Receipt, transaction, state and storage tries
//!   have neither, so alloy-trie checks every proof of theirs.
//!
//! Each node is hashed once: our walk checks the proof's shape and reads the value without
//! hashing the nodes alloy-trie then checks (it hashes every node it is given), and hashes
//! them itself only where alloy-trie cannot speak. A proof that fails either check is walked
//! again, hashing every node, so its error is the one the strict walk names (the first broken
//! link, in order). [`verify_proof_with`] also skips nodes a [`TrieNodes`] set already holds
//! byte for byte (proven earlier to hash to the reference naming them): the nodes a block's
//! proofs share are then hashed once for all of them.
//!
//! The walk is a loop (no recursion, so no stack to exhaust), and each step consumes at least
//! one key nibble, so the work is linear in the proof's size. Hostile input yields an
//! [`Error`], never a panic.

use std::collections::HashMap;

use alloy_primitives::{B256, Bytes};
use alloy_trie::Nibbles;

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
    verify_proof_with(root, key, nodes, None)
}

/// Trie nodes proven to hash to the hash they are filed under, so that proofs sharing them
/// (the proofs of one block's receipts or transactions share the nodes near the root) hash
/// each once. Bounded: past [`TrieNodes::MAX_BYTES`] of nodes it starts over empty.
///
/// Security: an entry is only ever made from bytes whose keccak-256 was checked against the
/// hash it is filed under, by our walk or by alloy-trie's verifier given that hash as the root
/// of the rest of the proof; a proof's node is taken as proven only when its parent's
/// reference names an entry and the node's bytes equal the entry's, byte for byte. Equal bytes
/// have equal hashes, so the commitment chain from the trusted root is exactly what hashing
/// the node again would have shown. Nothing about keys or values is kept: which key a proof is
/// for and the value it ends in are read from the proof every time.
#[derive(Clone, Debug, Default)]
pub struct TrieNodes {
    nodes: HashMap<Hash32, Box<[u8]>>,
    bytes: usize,
}

impl TrieNodes {
    /// Most node bytes kept (16 MiB; a block's interior receipt and transaction nodes are a few
    /// KiB to a few hundred KiB).
    pub const MAX_BYTES: usize = 16 * 1024 * 1024;

    /// Whether `node` is the node filed under `hash` (hence hashes to it).
    fn holds(&self, hash: &Hash32, node: &[u8]) -> bool {
        self.nodes.get(hash).is_some_and(|known| **known == *node)
    }

    /// Files `node` under `hash`. The caller has checked that `node` hashes to `hash`.
    fn insert_proven(&mut self, hash: Hash32, node: &[u8]) {
        if self.nodes.contains_key(&hash) {
            return;
        }
        if self.bytes.saturating_add(node.len()) > Self::MAX_BYTES {
            self.nodes.clear();
            self.bytes = 0;
        }
        self.bytes += node.len();
        self.nodes.insert(hash, node.into());
    }

    /// Number of nodes held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is held.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// [`verify_proof`], taking as proven the nodes `known` holds byte for byte and filing there
/// the nodes this proof establishes (see [`TrieNodes`]). The result, and the error of a bad
/// proof, are those of [`verify_proof`] whatever `known` holds.
pub fn verify_proof_with<'a>(
    root: &Hash32,
    key: &[u8],
    nodes: &'a [Vec<u8>],
    mut known: Option<&mut TrieNodes>,
) -> Result<Option<&'a [u8]>, Error> {
    // Shape and value first, hashing nothing; on any failure the strict walk (every node
    // hashed, in order) names the error, so errors are the same as before caching.
    let Ok(walked) = walk(root, key, nodes, Hashing::Deferred(known.as_deref())) else {
        return Err(strict_error(root, key, nodes, None));
    };
    let Some(first) = walked.pending.first() else {
        // Every node referenced by hash is one `known` proved: nothing left to hash.
        return Ok(walked.value);
    };
    if walked.alloy_can_check {
        // alloy-trie checks the commitment chain from the first node not yet proven (the
        // reference naming it is the root of the rest of the proof) with the rest of the key,
        // hashing each of those nodes once; the nodes before it are proven by `known`.
        let proof: Vec<Bytes> = nodes[first.index..]
            .iter()
            .map(|n| Bytes::copy_from_slice(n))
            .collect();
        let rest = Nibbles::from_nibbles_unchecked(&nibbles(key)[first.key_pos..]);
        if let Err(e) = alloy_trie::proof::verify_proof(
            B256::from(first.expected.0),
            rest,
            walked.value.map(<[u8]>::to_vec),
            &proof,
        ) {
            let refused = malformed(
                nodes.len() - 1,
                format!("alloy-trie's verifier refuses the proof: {e}"),
            );
            return Err(strict_error(root, key, nodes, Some(refused)));
        }
        // alloy-trie compared the first pending node's hash with `first.expected` itself.
        // Only interior nodes are filed: the last one (a leaf, or where an absence ends) is
        // particular to its key and would only fill the set.
        if let Some(known) = known.as_deref_mut()
            && first.index + 1 < nodes.len()
        {
            known.insert_proven(first.expected, &nodes[first.index]);
        }
    } else {
        for pending in &walked.pending {
            if keccak256(&nodes[pending.index]) != pending.expected {
                return Err(strict_error(root, key, nodes, None));
            }
        }
        if let Some(known) = known {
            for pending in walked.pending.iter().filter(|p| p.index + 1 < nodes.len()) {
                known.insert_proven(pending.expected, &nodes[pending.index]);
            }
        }
    }
    Ok(walked.value)
}

/// The error of the strict walk (every node hashed) over a proof that failed a check, or
/// `otherwise` if that walk accepts it (alloy-trie refused what our walk accepts).
fn strict_error(root: &Hash32, key: &[u8], nodes: &[Vec<u8>], otherwise: Option<Error>) -> Error {
    match walk(root, key, nodes, Hashing::Strict) {
        Err(e) => e,
        Ok(_) => otherwise.unwrap_or_else(|| {
            malformed(
                nodes.len().saturating_sub(1),
                "the proof failed a check the strict walk repeats without failing",
            )
        }),
    }
}

/// How the walk treats nodes referenced by hash.
#[derive(Clone, Copy)]
enum Hashing<'k> {
    /// Hash every one and compare with its reference.
    Strict,
    /// Hash none: those `known` holds byte for byte are proven, the others are returned as
    /// [`Pending`] for alloy-trie or the caller to hash.
    Deferred(Option<&'k TrieNodes>),
}

/// A node referenced by hash that the walk did not hash.
struct Pending {
    /// Its position in the proof.
    index: usize,
    /// The hash its parent (or the root) names.
    expected: Hash32,
    /// Key nibbles consumed before it.
    key_pos: usize,
}

/// What our walk found: the value (or `None` for a proven absence), whether alloy-trie can
/// check the same proof (key of at most 32 bytes, no value at a branch, root node of 32 bytes
/// or more), and the nodes it left unhashed.
struct Walked<'a> {
    value: Option<&'a [u8]>,
    alloy_can_check: bool,
    /// Nodes a deferred walk did not hash, in proof order (empty for a strict walk).
    pending: Vec<Pending>,
}

/// Our walk from `root` along `key` (see the module documentation).
fn walk<'a>(
    root: &Hash32,
    key: &[u8],
    nodes: &'a [Vec<u8>],
    hashing: Hashing<'_>,
) -> Result<Walked<'a>, Error> {
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
        return Ok(Walked {
            value: None,
            alloy_can_check: true,
            pending: Vec::new(),
        });
    }
    // alloy-trie's nibble paths hold at most 64 nibbles (`Nibbles::unpack` of a longer key
    // panics), so keys over 32 bytes stay with our walk alone.
    let mut alloy_can_check = key.len() <= 32 && nodes.first().is_some_and(|root| root.len() >= 32);

    let key = nibbles(key);
    let mut pos = 0;
    let mut used = 0;
    let mut next = NodeRef::Hash(*root);
    let mut after_extension = false;
    let mut pending = Vec::new();
    loop {
        // Resolve the reference into node bytes; `index` names the proof node holding them.
        let (bytes, index) = match next {
            NodeRef::Hash(expected) => {
                let Some(node) = nodes.get(used) else {
                    return Err(Error::MptMissingNode { index: used });
                };
                match hashing {
                    Hashing::Strict => {
                        let computed = keccak256(node);
                        if computed != expected {
                            return Err(Error::MptNodeHashMismatch {
                                index: used,
                                expected,
                                computed,
                            });
                        }
                    }
                    Hashing::Deferred(known) => {
                        if !known.is_some_and(|k| k.holds(&expected, node)) {
                            pending.push(Pending {
                                index: used,
                                expected,
                                key_pos: pos,
                            });
                        }
                    }
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
                alloy_can_check &= value.is_empty();
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
                        // alloy-trie decodes an embedded child even where the key leaves
                        // the path, and refuses a value at a branch inside it.
                        if items[1].is_list {
                            alloy_can_check &= !embedded_branch_value(items[1].raw);
                        }
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
            return Ok(Walked {
                value: result,
                alloy_can_check,
                pending,
            });
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

/// Whether the embedded node `raw` (under 32 bytes), or a node embedded in it, has a value at
/// a branch. Bounded: embedded nodes are under 32 bytes. A malformed node answers `false`, and
/// alloy-trie then refuses it.
fn embedded_branch_value(raw: &[u8]) -> bool {
    let Ok(items) = decode_exact(raw).and_then(|item| item.list()) else {
        return false;
    };
    match items.len() {
        17 => {
            !items[16].payload.is_empty()
                || items[..16]
                    .iter()
                    .any(|child| child.is_list && embedded_branch_value(child.raw))
        }
        2 => items[1].is_list && embedded_branch_value(items[1].raw),
        _ => false,
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

    /// alloy-trie checks every proof it can express (no branch values, root node of 32 bytes
    /// or more, keys of at most 32 bytes), and only those.
    #[test]
    fn alloy_trie_checks_what_it_can_express() {
        let frozen = sample().freeze();
        let root = frozen.root();
        // "do" and "dog" hold values at branches on the way to "doge".
        for key in [&b"do"[..], b"dog", b"doge"] {
            let proof = frozen.proof(key);
            let walked = walk(&root, key, &proof, Hashing::Strict).unwrap();
            assert!(
                !walked.alloy_can_check,
                "{key:?}: a branch value on the path"
            );
        }
        // "horse" branches off before them: alloy-trie checks it.
        let proof = frozen.proof(b"horse");
        assert!(
            walk(&root, b"horse", &proof, Hashing::Strict)
                .unwrap()
                .alloy_can_check
        );
        assert_eq!(
            verify_proof(&root, b"horse", &proof).unwrap(),
            Some(&b"stallion"[..])
        );
        let mut t = PatriciaTrie::new();
        for i in 0u8..40 {
            t.insert(&[i, 0xaa, i], &[i; 40]);
        }
        let frozen = t.freeze();
        let root = frozen.root();
        for key in [&[7u8, 0xaa, 7][..], &[7, 0xab, 7], &[200, 0, 0]] {
            let proof = frozen.proof(key);
            let walked = walk(&root, key, &proof, Hashing::Strict).unwrap();
            assert!(walked.alloy_can_check, "{key:?}");
            assert_eq!(verify_proof(&root, key, &proof).unwrap(), walked.value);
        }
        // A key longer than 32 bytes stays with our walk (alloy-trie's paths hold 64 nibbles).
        let long = [7u8; 33];
        assert!(
            !walk(&root, &long, &frozen.proof(&long), Hashing::Strict)
                .unwrap()
                .alloy_can_check
        );
        assert_eq!(verify_proof(&root, &long, &frozen.proof(&long)), Ok(None));
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
