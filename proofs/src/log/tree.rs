//! The in-memory log: every level of complete subtrees, so that any root or proof is a handful
//! of lookups plus at most one fold of `O(log n)` stored nodes.
//!
//! Level 0 holds the leaf hashes; level `k` holds, at position `i`, the hash of the complete,
//! aligned subtree over leaves `[i·2^k, (i+1)·2^k)`. Every node of an RFC 9162 tree whose leaf
//! count is a power of two is such a subtree (the tree splits at powers of two, so complete
//! subtrees are always aligned); the only other nodes are on the right border, and those are
//! folded from the complete subtrees that make up their range. Appending a leaf hashes it once
//! and completes at most one node per level, amortised one node per leaf: `2n - 1` hashes for
//! `n` leaves in all, and `~2n · 32` bytes of memory.

use core::fmt;

use merkle_light::hash::Algorithm;

use super::{ConsistencyProof, InclusionProof, LeafIndex, LogSize};
use crate::hash::{Keccak256Algorithm, Sha256Algorithm, Sm3Algorithm};
use crate::{Error, Hash32};

/// An append-only RFC 9162 Merkle log over hash algorithm `A`.
///
/// Leaves are message ids (or any 32-byte values): [`append`](Self::append) stores the leaf
/// hash `H(0x00 ‖ id)`. Leaves whose data is not 32 bytes enter through
/// [`append_leaf_hash`](Self::append_leaf_hash) with a hash from
/// [`HashAlgorithm::leaf_hash`](crate::HashAlgorithm::leaf_hash).
pub struct MerkleLog<A: Algorithm<Hash32>> {
    /// `levels[k][i]`: hash of the complete subtree over leaves `[i·2^k, (i+1)·2^k)`.
    /// Invariant: `levels` is never empty and `levels[k + 1].len() == levels[k].len() / 2`.
    levels: Vec<Vec<Hash32>>,
    /// One hasher reused (reset between uses) by the appending paths.
    hasher: A,
}

/// A SHA-256 log, the default for lanes and the hash of selective-disclosure trees.
pub type Sha256Log = MerkleLog<Sha256Algorithm>;
/// A Keccak-256 log.
pub type Keccak256Log = MerkleLog<Keccak256Algorithm>;
/// An SM3 log.
pub type Sm3Log = MerkleLog<Sm3Algorithm>;

/// The largest power of two strictly below `n`; `n` must be at least 2.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// `size` as a `usize` index bound, once checked against the log's length (which is a `usize`).
fn checked_size(size: LogSize, len: usize) -> Result<usize, Error> {
    match usize::try_from(size.0) {
        Ok(s) if s <= len => Ok(s),
        _ => Err(Error::SizeBeyondLog {
            requested: size.0,
            size: len as u64,
        }),
    }
}

impl<A: Algorithm<Hash32>> MerkleLog<A> {
    /// An empty log.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty log with room for `leaves` leaves before it reallocates.
    pub fn with_capacity(leaves: usize) -> Self {
        let mut levels = vec![Vec::with_capacity(leaves)];
        let mut width = leaves / 2;
        while width > 0 {
            levels.push(Vec::with_capacity(width));
            width /= 2;
        }
        MerkleLog {
            levels,
            hasher: A::default(),
        }
    }

    /// A log holding the leaves `ids`, in order, built in bulk.
    pub fn from_leaves(ids: &[Hash32]) -> Self {
        let mut log = Self::with_capacity(ids.len());
        log.extend_from_slice(ids);
        log
    }

    /// A log whose leaf hashes (`H(0x00 ‖ data)` each) are `leaf_hashes`, in order.
    pub fn from_leaf_hashes(leaf_hashes: Vec<Hash32>) -> Self {
        let mut log = Self::new();
        log.levels[0] = leaf_hashes;
        log.complete_levels();
        log
    }

    /// Appends a leaf whose data is `leaf` (a message id); returns its index.
    pub fn append(&mut self, leaf: &Hash32) -> LeafIndex {
        self.hasher.reset();
        let leaf_hash = self.hasher.leaf(*leaf);
        self.append_leaf_hash(leaf_hash)
    }

    /// Appends a leaf by its leaf hash `H(0x00 ‖ data)`; returns its index.
    pub fn append_leaf_hash(&mut self, leaf_hash: Hash32) -> LeafIndex {
        let index = self.levels[0].len();
        self.levels[0].push(leaf_hash);
        // Each trailing 1 bit of `index` is a level where the new node completes a pair.
        let (mut pos, mut node, mut level) = (index, leaf_hash, 0);
        while pos & 1 == 1 {
            let left = self.levels[level][pos - 1];
            self.hasher.reset();
            node = self.hasher.node(left, node);
            level += 1;
            pos >>= 1;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(node);
        }
        LeafIndex(index as u64)
    }

    /// Appends the leaves `ids`, in order, hashing level by level (the bulk path).
    pub fn extend_from_slice(&mut self, ids: &[Hash32]) {
        let leaves = &mut self.levels[0];
        leaves.reserve(ids.len());
        for id in ids {
            self.hasher.reset();
            leaves.push(self.hasher.leaf(*id));
        }
        self.complete_levels();
    }

    /// Appends leaves by their leaf hashes, in order (the bulk path).
    pub fn extend_leaf_hashes(&mut self, leaf_hashes: &[Hash32]) {
        self.levels[0].extend_from_slice(leaf_hashes);
        self.complete_levels();
    }

    /// Computes every node that the leaves added to level 0 since the last call complete.
    fn complete_levels(&mut self) {
        let mut level = 0;
        loop {
            let want = self.levels[level].len() / 2;
            if want == 0 {
                return;
            }
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::with_capacity(want));
            }
            let (lower, upper) = self.levels.split_at_mut(level + 1);
            let (below, above) = (&lower[level], &mut upper[0]);
            let have = above.len();
            if have == want {
                // Nothing new here means nothing new above either.
                return;
            }
            above.reserve(want - have);
            for pair in below[2 * have..2 * want].chunks_exact(2) {
                self.hasher.reset();
                above.push(self.hasher.node(pair[0], pair[1]));
            }
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> LogSize {
        LogSize(self.len() as u64)
    }

    /// Number of leaves, as a `usize`.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the log has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The leaf hash at `index`, if the log has that many leaves.
    pub fn leaf_hash(&self, index: LeafIndex) -> Option<Hash32> {
        usize::try_from(index.0)
            .ok()
            .and_then(|i| self.levels[0].get(i).copied())
    }

    /// Root of the whole log (RFC 9162: hash of the empty string for size 0).
    pub fn root(&self) -> Hash32 {
        self.range_hash(0, self.len())
    }

    /// Root of the first `size` leaves.
    pub fn root_at(&self, size: LogSize) -> Result<Hash32, Error> {
        let size = checked_size(size, self.len())?;
        Ok(self.range_hash(0, size))
    }

    /// Inclusion proof of `index` in the first `size` leaves (RFC 9162 §2.1.3.1).
    pub fn inclusion_proof(
        &self,
        index: LeafIndex,
        size: LogSize,
    ) -> Result<InclusionProof, Error> {
        let n = checked_size(size, self.len())?;
        if index.0 >= size.0 {
            return Err(Error::IndexOutOfRange {
                index: index.0,
                size: size.0,
            });
        }
        let m = index.0 as usize; // < n, a usize
        // PATH(m, D[lo:hi]) descends from the root; its nodes are listed leaf first.
        let mut path = Vec::with_capacity(usize::BITS as usize);
        let (mut lo, mut hi) = (0, n);
        while hi - lo > 1 {
            let k = split_point(hi - lo);
            if m < lo + k {
                path.push(self.range_hash(lo + k, hi - lo - k));
                hi = lo + k;
            } else {
                path.push(self.range_hash(lo, k));
                lo += k;
            }
        }
        path.reverse();
        Ok(InclusionProof { index, size, path })
    }

    /// Consistency proof from `old_size` to `new_size` (RFC 9162 §2.1.4.1). An empty old log
    /// has no consistency proof (RFC 9162 requires `0 < old_size`); equal sizes give an empty
    /// proof.
    pub fn consistency_proof(
        &self,
        old_size: LogSize,
        new_size: LogSize,
    ) -> Result<ConsistencyProof, Error> {
        if old_size.0 == 0 || old_size > new_size {
            return Err(Error::InvalidSizes {
                old_size: old_size.0,
                new_size: new_size.0,
            });
        }
        let n = checked_size(new_size, self.len())?;
        let mut m = old_size.0 as usize; // <= n, a usize
        // SUBPROOF(m, D[lo:hi], b) descends from the root; its nodes are listed deepest first.
        let mut path = Vec::with_capacity(usize::BITS as usize + 1);
        let (mut lo, mut hi, mut whole_old_tree) = (0, n, true);
        while m != hi - lo {
            let k = split_point(hi - lo);
            if m <= k {
                path.push(self.range_hash(lo + k, hi - lo - k));
                hi = lo + k;
            } else {
                path.push(self.range_hash(lo, k));
                lo += k;
                m -= k;
                whole_old_tree = false;
            }
        }
        if !whole_old_tree {
            path.push(self.range_hash(lo, hi - lo));
        }
        path.reverse();
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path,
        })
    }

    /// `MTH(D[lo : lo + len])` for a range of the shape RFC 9162's recursion produces: `lo` is
    /// a multiple of the smallest power of two `>= len`. The range splits into complete
    /// subtrees, one per set bit of `len` (largest first); they are folded right to left.
    fn range_hash(&self, lo: usize, len: usize) -> Hash32 {
        let mut hasher = A::default();
        if len == 0 {
            // RFC 9162 §2.1.1: MTH({}) = HASH(), the hash of the empty string.
            return hasher.hash();
        }
        debug_assert!(
            lo.is_multiple_of(len.next_power_of_two()),
            "unaligned range {lo}+{len}"
        );
        debug_assert!(lo + len <= self.len());
        let mut end = lo + len;
        let mut acc: Option<Hash32> = None;
        let mut rest = len;
        while rest != 0 {
            let level = rest.trailing_zeros() as usize;
            let start = end - (1 << level);
            let subtree = self.levels[level][start >> level];
            acc = Some(match acc {
                None => subtree,
                Some(right) => {
                    hasher.reset();
                    hasher.node(subtree, right)
                }
            });
            end = start;
            rest &= rest - 1;
        }
        acc.expect("len != 0, so the loop ran at least once")
    }
}

impl<A: Algorithm<Hash32>> Default for MerkleLog<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Algorithm<Hash32> + Clone> Clone for MerkleLog<A> {
    fn clone(&self) -> Self {
        MerkleLog {
            levels: self.levels.clone(),
            hasher: self.hasher.clone(),
        }
    }
}

impl<A: Algorithm<Hash32>> fmt::Debug for MerkleLog<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleLog")
            .field("algorithm", &core::any::type_name::<A>())
            .field("size", &self.len())
            .finish_non_exhaustive()
    }
}

impl<A: Algorithm<Hash32>> Extend<Hash32> for MerkleLog<A> {
    fn extend<I: IntoIterator<Item = Hash32>>(&mut self, ids: I) {
        for id in ids {
            self.hasher.reset();
            let leaf_hash = self.hasher.leaf(id);
            self.levels[0].push(leaf_hash);
        }
        self.complete_levels();
    }
}

impl<'a, A: Algorithm<Hash32>> Extend<&'a Hash32> for MerkleLog<A> {
    fn extend<I: IntoIterator<Item = &'a Hash32>>(&mut self, ids: I) {
        self.extend(ids.into_iter().copied());
    }
}

impl<A: Algorithm<Hash32>> FromIterator<Hash32> for MerkleLog<A> {
    fn from_iter<I: IntoIterator<Item = Hash32>>(ids: I) -> Self {
        let mut log = Self::new();
        log.extend(ids);
        log
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::HashAlgorithm;

    fn ids(n: usize) -> Vec<Hash32> {
        (0..n)
            .map(|i| HashAlgorithm::Sha256.digest(&(i as u64).to_be_bytes()))
            .collect()
    }

    /// RFC 9162 §2.1.1 MTH, straight from the definition.
    fn mth(leaf_hashes: &[Hash32]) -> Hash32 {
        match leaf_hashes.len() {
            0 => HashAlgorithm::Sha256.digest(b""),
            1 => leaf_hashes[0],
            n => {
                let k = split_point(n);
                HashAlgorithm::Sha256.node_hash(&mth(&leaf_hashes[..k]), &mth(&leaf_hashes[k..]))
            }
        }
    }

    #[test]
    fn every_level_holds_its_complete_subtrees() {
        for n in [0, 1, 2, 3, 7, 8, 9, 33, 100] {
            let ids = ids(n);
            let one_by_one = {
                let mut log = Sha256Log::new();
                for id in &ids {
                    log.append(id);
                }
                log
            };
            let bulk = Sha256Log::from_leaves(&ids);
            let halves = {
                let mut log = Sha256Log::new();
                log.extend_from_slice(&ids[..n / 3]);
                log.extend(ids[n / 3..].iter());
                log
            };
            for log in [&one_by_one, &bulk, &halves] {
                assert_eq!(log.len(), n);
                for (k, level) in log.levels.iter().enumerate() {
                    assert_eq!(level.len(), n >> k, "n={n} level {k}");
                    for (i, node) in level.iter().enumerate() {
                        let leaves = &log.levels[0][i << k..(i + 1) << k];
                        assert_eq!(*node, mth(leaves), "n={n} level {k} node {i}");
                    }
                }
                for size in 0..=n {
                    assert_eq!(
                        log.root_at(LogSize(size as u64)).unwrap(),
                        mth(&log.levels[0][..size])
                    );
                }
            }
        }
    }

    #[test]
    fn split_point_is_the_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(usize::MAX), 1 << (usize::BITS - 1));
    }
}
