//! Verification of RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs, written
//! step by step after the RFC's algorithms, plus the exact proof lengths they imply.
//!
//! Every function here is total: any index, sizes (up to `u64::MAX`), roots and path give an
//! `Ok` or an [`Error`], never a panic or an overflow. The path length is checked against the
//! length the sizes imply (at most 64 nodes for inclusion, 65 for consistency) before any
//! hashing, so a huge path costs nothing.

use merkle_light::hash::Algorithm;

use super::{LeafIndex, LogSize};
use crate::{Error, Hash32};

/// Number of bits needed to write `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// The exact number of nodes in the inclusion proof of leaf `index` in a log of `size` leaves,
/// or `None` when `index >= size` (no such proof exists). Never more than
/// [`MAX_PROOF_NODES`](super::MAX_PROOF_NODES) (64).
///
/// The proof has one node per level below where the paths of `index` and of the last leaf
/// `size - 1` meet (`inner`), plus one per left sibling above that point (`border`).
pub fn inclusion_proof_len(index: LeafIndex, size: LogSize) -> Option<usize> {
    if index.0 >= size.0 {
        return None;
    }
    let inner = bit_len(index.0 ^ (size.0 - 1));
    let border = (index.0.checked_shr(inner).unwrap_or(0)).count_ones();
    Some((inner + border) as usize)
}

/// The exact number of nodes in the consistency proof from `old_size` to `new_size`, or
/// `None` when no proof exists (`old_size == 0` or `old_size > new_size`). Zero when the sizes
/// are equal; never more than
/// [`MAX_CONSISTENCY_PROOF_NODES`](super::MAX_CONSISTENCY_PROOF_NODES) (65).
pub fn consistency_proof_len(old_size: LogSize, new_size: LogSize) -> Option<usize> {
    let (m, n) = (old_size.0, new_size.0);
    if m == 0 || m > n {
        return None;
    }
    if m == n {
        return Some(0);
    }
    // The nodes of the inclusion proof of the old tree's last leaf, minus the levels inside
    // the largest complete subtree that ends the old tree, plus that subtree's own hash unless
    // it is the whole old tree (then the verifier starts from the old root instead).
    let inner = bit_len((m - 1) ^ (n - 1));
    let border = ((m - 1).checked_shr(inner).unwrap_or(0)).count_ones();
    let shift = m.trailing_zeros();
    let seed = u32::from(!m.is_power_of_two());
    // m < n puts the highest differing bit of m-1 and n-1 above m's trailing zeros.
    let inner = inner.checked_sub(shift)?;
    Some((inner + border + seed) as usize)
}

/// The root that `path` proves for the leaf with `leaf_hash` at `index` in a log of `size`
/// leaves, computed as RFC 9162 §2.1.3.2 prescribes. Fails when `index >= size` or when the
/// path does not have exactly the length the two imply.
pub fn root_from_inclusion_proof<A: Algorithm<Hash32>>(
    index: LeafIndex,
    size: LogSize,
    leaf_hash: &Hash32,
    path: &[Hash32],
) -> Result<Hash32, Error> {
    // 1. leaf_index >= tree_size fails.
    let expected = inclusion_proof_len(index, size).ok_or(Error::IndexOutOfRange {
        index: index.0,
        size: size.0,
    })?;
    let wrong_length = Error::ProofLength {
        expected,
        actual: path.len(),
    };
    if path.len() != expected {
        return Err(wrong_length);
    }
    // 2.-3. fn = leaf_index, sn = tree_size - 1, r = hash.
    let mut r = *leaf_hash;
    let mut hasher = A::default();
    // 4.-5. Each p is a left or a right sibling of r; sn must end at 0.
    walk_path(index.0, size.0 - 1, path, |p, left| {
        hasher.reset();
        r = if left {
            hasher.node(*p, r)
        } else {
            hasher.node(r, *p)
        };
    })
    .map_err(|()| wrong_length)?;
    Ok(r)
}

/// The walk up a proof's path that RFC 9162 §2.1.3.2 (step 4) and §2.1.4.2 (step 6) share,
/// from `fn_` and `sn`: each value is passed to `visit` with `true` when it is a left sibling
/// (LSB(fn) set, or fn == sn, after which the levels of the right border that have no
/// sibling are skipped) and `false` when it is a right sibling; then both go up a level. Fails
/// when sn reaches 0 before the path ends, or has not reached 0 when it ends.
fn walk_path(
    mut fn_: u64,
    mut sn: u64,
    path: &[Hash32],
    mut visit: impl FnMut(&Hash32, bool),
) -> Result<(), ()> {
    for p in path {
        // a. sn = 0 fails.
        if sn == 0 {
            return Err(());
        }
        // b. LSB(fn) set or fn == sn: a left sibling.
        if fn_ & 1 == 1 || fn_ == sn {
            visit(p, true);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            // c. Otherwise a right sibling.
            visit(p, false);
        }
        // d. Up one level.
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 { Ok(()) } else { Err(()) }
}

/// Checks that the leaf with `leaf_hash` sits at `index` in the log of `size` leaves whose
/// root is `root` (RFC 9162 §2.1.3.2). A zero root is refused outright ([`Error::ZeroRoot`]).
pub fn verify_inclusion<A: Algorithm<Hash32>>(
    index: LeafIndex,
    size: LogSize,
    leaf_hash: &Hash32,
    path: &[Hash32],
    root: &Hash32,
) -> Result<(), Error> {
    if root.is_zero() {
        return Err(Error::ZeroRoot);
    }
    let computed = root_from_inclusion_proof::<A>(index, size, leaf_hash, path)?;
    if computed != *root {
        return Err(Error::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Checks that the log of `new_size` leaves with `new_root` extends the log of `old_size`
/// leaves with `old_root` (RFC 9162 §2.1.4.2).
///
/// `old_size` must be in `1..=new_size` ([`Error::InvalidSizes`]); equal sizes need an empty
/// path and equal roots; zero roots are refused ([`Error::ZeroRoot`]).
pub fn verify_consistency<A: Algorithm<Hash32>>(
    old_size: LogSize,
    new_size: LogSize,
    old_root: &Hash32,
    new_root: &Hash32,
    path: &[Hash32],
) -> Result<(), Error> {
    let expected = consistency_proof_len(old_size, new_size).ok_or(Error::InvalidSizes {
        old_size: old_size.0,
        new_size: new_size.0,
    })?;
    let wrong_length = Error::ProofLength {
        expected,
        actual: path.len(),
    };
    if path.len() != expected {
        return Err(wrong_length);
    }
    if old_root.is_zero() || new_root.is_zero() {
        return Err(Error::ZeroRoot);
    }
    let (first, second) = (old_size.0, new_size.0);
    if first == second {
        // The same log: nothing to prove, the roots must simply agree.
        return if old_root == new_root {
            Ok(())
        } else {
            Err(Error::RootMismatch {
                computed: *old_root,
                expected: *new_root,
            })
        };
    }
    // 1. An empty path fails (first < second here, so expected > 0 and was checked above).
    // 2. If first is an exact power of 2, the old root is the path's first value.
    let (seed, rest) = if first.is_power_of_two() {
        (*old_root, path)
    } else {
        match path.split_first() {
            Some((seed, rest)) => (*seed, rest),
            None => return Err(wrong_length),
        }
    };
    // 3. fn = first - 1, sn = second - 1.
    let (mut fn_, mut sn) = (first - 1, second - 1);
    // 4. Shift both right while LSB(fn) is set.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. fr = sr = the first value.
    let (mut fr, mut sr) = (seed, seed);
    let mut hasher = A::default();
    // 6.-7. Each c is a left sibling in both trees, or a right sibling present only in the new
    // tree; sn must end at 0.
    walk_path(fn_, sn, rest, |c, left| {
        hasher.reset();
        if left {
            fr = hasher.node(*c, fr);
            hasher.reset();
            sr = hasher.node(*c, sr);
        } else {
            sr = hasher.node(sr, *c);
        }
    })
    .map_err(|()| wrong_length)?;
    // 7. fr must equal the old root, sr the new root.
    if fr != *old_root {
        return Err(Error::RootMismatch {
            computed: fr,
            expected: *old_root,
        });
    }
    if sr != *new_root {
        return Err(Error::RootMismatch {
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths_match_the_tree_shape() {
        // transparency-dev/merkle proof/proof_test.go (TestInclusion / TestConsistency) lists
        // these proofs node by node; their lengths:
        let incl = [
            (0, 1, 0),
            (0, 2, 1),
            (1, 3, 2),
            (0, 7, 3),
            (4, 7, 3),
            (6, 7, 2),
            (10, 15, 4),
            (24, 31, 5),
        ];
        for (index, size, len) in incl {
            assert_eq!(
                inclusion_proof_len(LeafIndex(index), LogSize(size)),
                Some(len),
                "{index}/{size}"
            );
        }
        let cons = [
            (1, 2, 1),
            (1, 4, 2),
            (1, 6, 3),
            (2, 8, 2),
            (3, 7, 4),
            (4, 7, 1),
            (5, 7, 4),
            (7, 8, 4),
            (4, 4, 0),
            (24, 31, 3),
            (81, 95, 7),
        ];
        for (m, n, len) in cons {
            assert_eq!(
                consistency_proof_len(LogSize(m), LogSize(n)),
                Some(len),
                "{m}->{n}"
            );
        }
    }

    #[test]
    fn lengths_at_the_extremes_stay_within_the_bound() {
        let max = LogSize(u64::MAX);
        assert_eq!(inclusion_proof_len(LeafIndex(u64::MAX), max), None);
        assert_eq!(inclusion_proof_len(LeafIndex(0), LogSize(0)), None);
        // Leaf 0 of the largest log sits 64 levels deep.
        assert_eq!(inclusion_proof_len(LeafIndex(0), max), Some(64));
        for index in [1, u64::MAX / 2, u64::MAX - 1] {
            assert!(inclusion_proof_len(LeafIndex(index), max).is_some_and(|l| l <= 64));
        }
        assert_eq!(consistency_proof_len(LogSize(0), max), None);
        assert_eq!(consistency_proof_len(max, LogSize(1)), None);
        assert_eq!(consistency_proof_len(max, max), Some(0));
        // 2^63 - 1 -> 2^64 - 1: the top split's right half, then the old tree's last leaf
        // 63 levels down (62 left siblings and its own sibling), then the seed: 65 nodes.
        assert_eq!(consistency_proof_len(LogSize(u64::MAX / 2), max), Some(65));
        for m in [1, 2, 3, 1 << 63, u64::MAX - 1] {
            assert!(
                consistency_proof_len(LogSize(m), max)
                    .is_some_and(|l| l <= super::super::MAX_CONSISTENCY_PROOF_NODES)
            );
        }
    }
}
