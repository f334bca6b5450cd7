//! The RFC 9162 Merkle log: differential tests against `merkle_light` and `rs_merkle`, the
//! CVE-2012-2459 mutation, leaf/node confusion, edge and hostile inputs, and property tests
//! over all three hash algorithms.

#![allow(clippy::unwrap_used)]

use causeway_proofs::hash::{Keccak256Algorithm, Sha256Algorithm, Sm3Algorithm};
use causeway_proofs::log::{
    MAX_CONSISTENCY_PROOF_NODES, MAX_PROOF_NODES, MerkleLog, Sha256Log, consistency_proof_len,
    inclusion_proof_len, verify_consistency, verify_inclusion,
};
use causeway_proofs::{
    ConsistencyProof, Error, Hash32, HashAlgorithm, InclusionProof, LeafIndex, LogSize,
};
use merkle_light::hash::Algorithm;
use merkle_light::merkle::MerkleTree;
use proptest::prelude::*;

const SHA: HashAlgorithm = HashAlgorithm::Sha256;

/// `n` distinct pseudo-random message ids.
fn ids(n: usize, seed: u64) -> Vec<Hash32> {
    (0..n as u64)
        .map(|i| SHA.digest(&[seed.to_be_bytes(), i.to_be_bytes()].concat()))
        .collect()
}

/// RFC 9162 §2.1.1 MTH straight from the recursive definition, as an independent model.
fn mth(alg: HashAlgorithm, leaf_hashes: &[Hash32]) -> Hash32 {
    match leaf_hashes.len() {
        0 => alg.digest(b""),
        1 => leaf_hashes[0],
        n => {
            let k = pow2_below(n as u64) as usize;
            alg.node_hash(&mth(alg, &leaf_hashes[..k]), &mth(alg, &leaf_hashes[k..]))
        }
    }
}

/// The largest power of two strictly below `n >= 2`.
fn pow2_below(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The shape of RFC 9162's PATH(m, D[n]) (§2.1.3.1), leaf first: for each node, whether it is
/// a left sibling. `None` when no proof exists. Two (m, n) with the same shape make the
/// verifier perform the same computation on the same path.
fn inclusion_shape(m: u64, n: u64) -> Option<Vec<bool>> {
    fn path(m: u64, n: u64) -> Vec<bool> {
        if n <= 1 {
            return vec![];
        }
        let k = pow2_below(n);
        let (mut v, left_sibling) = if m < k {
            (path(m, k), false)
        } else {
            (path(m - k, n - k), true)
        };
        v.push(left_sibling);
        v
    }
    (m < n).then(|| path(m, n))
}

/// The shape of RFC 9162's SUBPROOF(m, D[n], true) (§2.1.4.1), deepest first: 'T' for the
/// old tree's own subtree hash, 'L' for a node left of both trees' paths, 'R' for a node only
/// in the new tree.
fn consistency_shape(m: u64, n: u64) -> Option<Vec<char>> {
    fn subproof(m: u64, n: u64, whole_old_tree: bool) -> Vec<char> {
        if m == n {
            return if whole_old_tree { vec![] } else { vec!['T'] };
        }
        let k = pow2_below(n);
        let (mut v, c) = if m <= k {
            (subproof(m, k, whole_old_tree), 'R')
        } else {
            (subproof(m - k, n - k, false), 'L')
        };
        v.push(c);
        v
    }
    (0 < m && m <= n).then(|| subproof(m, n, true))
}

// ---- differential: merkle_light -----------------------------------------------------------

/// For power-of-two sizes `merkle_light` builds the RFC 9162 tree (same 0x00/0x01 prefixes),
/// so roots and audit paths agree. `merkle_light` 0.4 panics below 2 leaves
/// (`assert!(leafs > 1)` in `from_iter`), so sizes start at 2.
#[test]
fn roots_and_paths_equal_merkle_light_for_powers_of_two() {
    for k in 1..=10 {
        let n = 1usize << k;
        let ids = ids(n, k as u64);
        let theirs: MerkleTree<Hash32, Sha256Algorithm> =
            MerkleTree::from_iter(ids.iter().copied());
        let ours = Sha256Log::from_leaves(&ids);
        assert_eq!(ours.root(), theirs.root(), "size {n}");
        for i in [0, 1, n / 3, n / 2, n - 1] {
            let lemma = theirs.gen_proof(i).lemma().to_vec();
            let path = &lemma[1..lemma.len() - 1];
            let proof = ours
                .inclusion_proof(LeafIndex(i as u64), LogSize(n as u64))
                .unwrap();
            assert_eq!(proof.path, path, "path of {i} in {n}");
            assert_eq!(lemma[0], ours.leaf_hash(LeafIndex(i as u64)).unwrap());
        }
    }
}

/// CVE-2012-2459: a tree that duplicates an odd last node gives `[a, b, c]` and `[a, b, c, c]`
/// the same root, so a proof for a leaf that was never appended verifies. RFC 9162 does not
/// duplicate, and our verifier rejects that proof.
#[test]
fn cve_2012_2459_mutation_is_rejected() {
    let v = ids(3, 2459);
    let (a, b, c) = (v[0], v[1], v[2]);
    let ml3: MerkleTree<Hash32, Sha256Algorithm> = MerkleTree::from_iter([a, b, c]);
    let ml4: MerkleTree<Hash32, Sha256Algorithm> = MerkleTree::from_iter([a, b, c, c]);
    assert_eq!(ml3.root(), ml4.root(), "merkle_light accepts the mutation");

    let ours3 = Sha256Log::from_leaves(&[a, b, c]);
    let ours4 = Sha256Log::from_leaves(&[a, b, c, c]);
    assert_ne!(ours3.root(), ours4.root());
    assert_ne!(ours3.root(), ml3.root());

    // merkle_light proves a 4th leaf under the root of the 3-leaf list.
    let forged = ml4.gen_proof(3);
    assert!(forged.validate::<Sha256Algorithm>());
    assert_eq!(forged.root(), ml3.root());
    let lemma = forged.lemma();
    let path = lemma[1..lemma.len() - 1].to_vec();

    let at_size_3 = InclusionProof {
        index: LeafIndex(3),
        size: LogSize(3),
        path: path.clone(),
    };
    assert_eq!(
        at_size_3.verify(SHA, &c, &ours3.root()),
        Err(Error::IndexOutOfRange { index: 3, size: 3 })
    );
    let at_size_4 = InclusionProof {
        index: LeafIndex(3),
        size: LogSize(4),
        path: path.clone(),
    };
    assert!(matches!(
        at_size_4.verify(SHA, &c, &ours3.root()),
        Err(Error::RootMismatch { expected, .. }) if expected == ours3.root()
    ));
    // merkle_light's own proof of c in its 3-leaf tree hashes c with its duplicate: the wrong
    // length for an RFC 9162 tree of 3 leaves.
    let ml_path = ml3.gen_proof(2).lemma().to_vec();
    let dup = InclusionProof {
        index: LeafIndex(2),
        size: LogSize(3),
        path: ml_path[1..ml_path.len() - 1].to_vec(),
    };
    assert_eq!(
        dup.verify(SHA, &c, &ours3.root()),
        Err(Error::ProofLength {
            expected: 1,
            actual: 2
        })
    );
    // The genuine proof of c verifies.
    let genuine = ours3.inclusion_proof(LeafIndex(2), LogSize(3)).unwrap();
    genuine.verify(SHA, &c, &ours3.root()).unwrap();
}

// ---- differential: rs_merkle --------------------------------------------------------------

/// `rs_merkle` pairs nodes level by level and promotes an odd last node unchanged, which
/// yields the same tree as RFC 9162's split at the largest power of two. It hashes a pair as
/// `H(left ‖ right)` without prefixes, so we give it RFC 9162's node hash and our leaf hashes.
#[derive(Clone)]
struct RfcNodeHasher;

impl rs_merkle::Hasher for RfcNodeHasher {
    type Hash = [u8; 32];

    /// `rs_merkle` calls this only on `left ‖ right` when it builds a tree from leaf hashes.
    fn hash(data: &[u8]) -> [u8; 32] {
        SHA.digest(&[&[0x01], data].concat()).0
    }
}

#[test]
fn roots_equal_rs_merkle_for_every_size() {
    let ids = ids(300, 9);
    let leaf_hashes: Vec<[u8; 32]> = ids
        .iter()
        .map(|id| SHA.leaf_hash(id.as_bytes()).0)
        .collect();
    let ours = Sha256Log::from_leaves(&ids);
    for n in 1..=ids.len() {
        let theirs = rs_merkle::MerkleTree::<RfcNodeHasher>::from_leaves(&leaf_hashes[..n]);
        assert_eq!(
            Some(ours.root_at(LogSize(n as u64)).unwrap().0),
            theirs.root(),
            "size {n}"
        );
    }
}

// ---- leaf / node confusion ----------------------------------------------------------------

/// An interior node passed off as a leaf (the second-preimage attack RFC 9162's 0x00/0x01
/// prefixes exist for): neither its children's bytes as leaf data nor the node itself as a
/// message id verify, whatever size and path length the attacker picks.
#[test]
fn interior_node_presented_as_a_leaf_is_rejected() {
    let v = ids(4, 77);
    let log = Sha256Log::from_leaves(&v);
    let root = log.root();
    let (la, lb) = (
        log.leaf_hash(LeafIndex(0)).unwrap(),
        log.leaf_hash(LeafIndex(1)).unwrap(),
    );
    let node_ab = SHA.node_hash(&la, &lb);
    let (lc, ld) = (
        log.leaf_hash(LeafIndex(2)).unwrap(),
        log.leaf_hash(LeafIndex(3)).unwrap(),
    );
    let node_cd = SHA.node_hash(&lc, &ld);
    assert_eq!(log.root_at(LogSize(2)).unwrap(), node_ab);
    assert_eq!(SHA.node_hash(&node_ab, &node_cd), root);

    // The node's preimage l‖r as leaf data: its leaf hash is H(0x00‖l‖r), not H(0x01‖l‖r).
    let as_data = SHA.leaf_hash(&[la.0, lb.0].concat());
    assert_ne!(as_data, node_ab);
    // As leaf 0 of a 2-leaf "tree" whose other half is node_cd (the shorter path it would need).
    let short = InclusionProof {
        index: LeafIndex(0),
        size: LogSize(2),
        path: vec![node_cd],
    };
    assert!(matches!(
        short.verify_leaf_hash(SHA, &as_data, &root),
        Err(Error::RootMismatch { .. })
    ));
    // The node itself as a message id.
    assert!(matches!(
        short.verify(SHA, &node_ab, &root),
        Err(Error::RootMismatch { .. })
    ));
    // Claiming the real size with the shorter path fails on length, before any hashing.
    let claimed = InclusionProof {
        index: LeafIndex(0),
        size: LogSize(4),
        path: vec![node_cd],
    };
    assert_eq!(
        claimed.verify(SHA, &node_ab, &root),
        Err(Error::ProofLength {
            expected: 2,
            actual: 1
        })
    );

    // Without domain separation the same forgery works: rs_merkle's plain SHA-256 tree over the
    // raw ids accepts its interior node H(a‖b) as a leaf of a 2-leaf tree.
    use rs_merkle::Hasher as _;
    let raw: Vec<[u8; 32]> = v.iter().map(|id| id.0).collect();
    let plain = rs_merkle::MerkleTree::<rs_merkle::algorithms::Sha256>::from_leaves(&raw);
    let plain_ab = rs_merkle::algorithms::Sha256::concat_and_hash(&raw[0], Some(&raw[1]));
    let plain_cd = rs_merkle::algorithms::Sha256::concat_and_hash(&raw[2], Some(&raw[3]));
    let forged = rs_merkle::MerkleProof::<rs_merkle::algorithms::Sha256>::new(vec![plain_cd]);
    assert!(forged.verify(plain.root().unwrap(), &[0], &[plain_ab], 2));
}

// ---- edge cases and hostile input ---------------------------------------------------------

#[test]
fn empty_and_single_leaf_logs() {
    let empty = Sha256Log::new();
    assert_eq!(empty.size(), LogSize(0));
    assert!(empty.is_empty());
    // RFC 9162 §2.1.1: MTH({}) = SHA-256("") (FIPS 180-4 / RFC 6962 test data).
    assert_eq!(
        empty.root(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            .parse()
            .unwrap()
    );
    assert_eq!(empty.root_at(LogSize(0)).unwrap(), empty.root());
    assert_eq!(
        MerkleLog::<Keccak256Algorithm>::new().root(),
        HashAlgorithm::Keccak256.digest(b"")
    );
    assert_eq!(
        MerkleLog::<Sm3Algorithm>::default().root(),
        HashAlgorithm::Sm3.digest(b"")
    );
    assert_eq!(
        empty.inclusion_proof(LeafIndex(0), LogSize(0)),
        Err(Error::IndexOutOfRange { index: 0, size: 0 })
    );

    let id = ids(1, 1)[0];
    let mut one = Sha256Log::new();
    assert_eq!(one.append(&id), LeafIndex(0));
    assert_eq!(one.root(), SHA.leaf_hash(id.as_bytes()));
    let p = one.inclusion_proof(LeafIndex(0), LogSize(1)).unwrap();
    assert!(p.path.is_empty());
    p.verify(SHA, &id, &one.root()).unwrap();
    let c = one.consistency_proof(LogSize(1), LogSize(1)).unwrap();
    assert!(c.path.is_empty());
    c.verify(SHA, &one.root(), &one.root()).unwrap();
}

#[test]
fn requests_beyond_the_log_or_without_a_proof_are_refused() {
    let log = Sha256Log::from_leaves(&ids(10, 3));
    assert_eq!(
        log.root_at(LogSize(11)),
        Err(Error::SizeBeyondLog {
            requested: 11,
            size: 10
        })
    );
    assert_eq!(
        log.root_at(LogSize(u64::MAX)),
        Err(Error::SizeBeyondLog {
            requested: u64::MAX,
            size: 10
        })
    );
    assert_eq!(
        log.inclusion_proof(LeafIndex(10), LogSize(10)),
        Err(Error::IndexOutOfRange {
            index: 10,
            size: 10
        })
    );
    assert_eq!(
        log.inclusion_proof(LeafIndex(3), LogSize(11)),
        Err(Error::SizeBeyondLog {
            requested: 11,
            size: 10
        })
    );
    assert_eq!(
        log.inclusion_proof(LeafIndex(u64::MAX), LogSize(u64::MAX)),
        Err(Error::SizeBeyondLog {
            requested: u64::MAX,
            size: 10
        })
    );
    assert_eq!(
        log.consistency_proof(LogSize(0), LogSize(5)),
        Err(Error::InvalidSizes {
            old_size: 0,
            new_size: 5
        })
    );
    assert_eq!(
        log.consistency_proof(LogSize(6), LogSize(5)),
        Err(Error::InvalidSizes {
            old_size: 6,
            new_size: 5
        })
    );
    assert_eq!(
        log.consistency_proof(LogSize(5), LogSize(12)),
        Err(Error::SizeBeyondLog {
            requested: 12,
            size: 10
        })
    );
    assert!(
        log.consistency_proof(LogSize(7), LogSize(7))
            .unwrap()
            .path
            .is_empty()
    );
    assert_eq!(log.leaf_hash(LeafIndex(10)), None);
    assert_eq!(log.leaf_hash(LeafIndex(u64::MAX)), None);
}

#[test]
fn zero_roots_are_refused() {
    let log = Sha256Log::from_leaves(&ids(5, 5));
    let id = ids(5, 5)[2];
    let p = log.inclusion_proof(LeafIndex(2), LogSize(5)).unwrap();
    assert_eq!(p.verify(SHA, &id, &Hash32::ZERO), Err(Error::ZeroRoot));
    let c = log.consistency_proof(LogSize(5), LogSize(5)).unwrap();
    assert_eq!(
        c.verify(SHA, &Hash32::ZERO, &Hash32::ZERO),
        Err(Error::ZeroRoot)
    );
    let c = log.consistency_proof(LogSize(3), LogSize(5)).unwrap();
    assert_eq!(
        c.verify(SHA, &log.root_at(LogSize(3)).unwrap(), &Hash32::ZERO),
        Err(Error::ZeroRoot)
    );
}

#[test]
fn hostile_sizes_and_paths_never_panic() {
    let extremes = [
        0,
        1,
        2,
        3,
        1 << 32,
        (1 << 63) - 1,
        1 << 63,
        (1 << 63) + 1,
        u64::MAX - 1,
        u64::MAX,
    ];
    let node = SHA.digest(b"node");
    let root = SHA.digest(b"root");
    let leaf = SHA.leaf_hash(b"leaf");
    for &size in &extremes {
        for &index in &extremes {
            for len in (0..=MAX_PROOF_NODES + 2).chain([1000, 100_000]) {
                let path = vec![node; len];
                let r = verify_inclusion::<Sha256Algorithm>(
                    LeafIndex(index),
                    LogSize(size),
                    &leaf,
                    &path,
                    &root,
                );
                assert!(r.is_err(), "index {index} size {size} len {len}");
                if index < size && len > MAX_PROOF_NODES {
                    assert!(
                        matches!(r, Err(Error::ProofLength { expected, .. }) if expected <= MAX_PROOF_NODES)
                    );
                }
                if index >= size {
                    assert_eq!(r, Err(Error::IndexOutOfRange { index, size }));
                }
                let old = index; // every pair of extremes as (old, new) sizes, too
                let r = verify_consistency::<Sha256Algorithm>(
                    LogSize(old),
                    LogSize(size),
                    &root,
                    &node,
                    &path,
                );
                assert!(r.is_err(), "old {old} new {size} len {len}");
                if old == 0 || old > size {
                    assert_eq!(
                        r,
                        Err(Error::InvalidSizes {
                            old_size: old,
                            new_size: size
                        })
                    );
                }
            }
        }
    }
    // The largest possible log: the last leaf's proof and the longest consistency proofs have
    // exactly the computed lengths and fail only on the root.
    for (index, len) in [(0, 64), (u64::MAX - 1, 63), (u64::MAX / 2, 64)] {
        assert_eq!(
            inclusion_proof_len(LeafIndex(index), LogSize(u64::MAX)),
            Some(len)
        );
        let p = InclusionProof {
            index: LeafIndex(index),
            size: LogSize(u64::MAX),
            path: vec![node; len],
        };
        assert!(matches!(
            p.verify_leaf_hash(SHA, &leaf, &root),
            Err(Error::RootMismatch { .. })
        ));
    }
    let c = ConsistencyProof {
        old_size: LogSize(u64::MAX - 1),
        new_size: LogSize(u64::MAX),
        path: vec![node; consistency_proof_len(LogSize(u64::MAX - 1), LogSize(u64::MAX)).unwrap()],
    };
    assert!(matches!(
        c.verify(SHA, &root, &node),
        Err(Error::RootMismatch { .. })
    ));
    // The longest proof there is: 65 nodes from 2^63 - 1 to 2^64 - 1 leaves.
    assert_eq!(
        consistency_shape(u64::MAX / 2, u64::MAX).map(|s| s.len()),
        Some(MAX_CONSISTENCY_PROOF_NODES)
    );
    let longest = ConsistencyProof {
        old_size: LogSize(u64::MAX / 2),
        new_size: LogSize(u64::MAX),
        path: vec![node; MAX_CONSISTENCY_PROOF_NODES],
    };
    assert!(matches!(
        longest.verify(SHA, &root, &node),
        Err(Error::RootMismatch { .. })
    ));
    // Same huge size twice: nothing to prove, equal roots are consistent.
    let same = ConsistencyProof {
        old_size: LogSize(u64::MAX),
        new_size: LogSize(u64::MAX),
        path: vec![],
    };
    same.verify(SHA, &root, &root).unwrap();
}

/// RFC 6962/9162 proofs do not bind the log size: a root does not encode it, so an audit path
/// proves "this leaf, at this position in a tree of this shape, under this root". Leaf 0 has the
/// same shape (three right siblings) in trees of 5 and of 7 leaves, so its 5-leaf proof also
/// verifies when labelled size 7. The signed checkpoint binds size and root together; the
/// property tests below allow exactly these same-shape relabellings and nothing else.
#[test]
fn a_proof_binds_the_tree_shape_and_root_not_the_size_label() {
    let v = ids(7, 5);
    let log = Sha256Log::from_leaves(&v);
    let root5 = log.root_at(LogSize(5)).unwrap();
    let mut p = log.inclusion_proof(LeafIndex(0), LogSize(5)).unwrap();
    p.verify(SHA, &v[0], &root5).unwrap();
    assert_eq!(inclusion_shape(0, 5), inclusion_shape(0, 7));
    p.size = LogSize(7);
    p.verify(SHA, &v[0], &root5).unwrap();
    // ...and it is not a proof against the real 7-leaf root.
    assert!(matches!(
        p.verify(SHA, &v[0], &log.root()),
        Err(Error::RootMismatch { .. })
    ));
    // A size with a different shape (9 leaves: leaf 0 needs a fourth sibling) is rejected.
    p.size = LogSize(9);
    assert!(matches!(
        p.verify(SHA, &v[0], &root5),
        Err(Error::ProofLength { .. })
    ));
}

// ---- property tests -----------------------------------------------------------------------

/// Every bit of a valid inclusion proof, its root, its leaf and its index matters; a flipped
/// size bit fails unless the flipped size has exactly the same proof shape for this index.
///
/// That exception is inherent to RFC 6962/9162: an audit path proves a position in a tree
/// shape and a root, and a root does not encode its size; the size is bound by the signed
/// checkpoint that carries both (checked by the proof bundle, not here). E.g. leaf 0's path in
/// a 5-leaf tree has the same shape (three right siblings) as in a 7-leaf tree.
fn check_inclusion_flips(
    alg: HashAlgorithm,
    p: &InclusionProof,
    id: &Hash32,
    root: &Hash32,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.verify(alg, id, root), Ok(()));
    for k in 0..p.path.len() {
        for bit in 0..256 {
            let mut q = p.clone();
            q.path[k].0[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(q.verify(alg, id, root).is_err(), "path[{}] bit {}", k, bit);
        }
    }
    for bit in 0..256 {
        let (mut r, mut l) = (*root, *id);
        r.0[bit / 8] ^= 1 << (bit % 8);
        l.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(p.verify(alg, id, &r).is_err(), "root bit {}", bit);
        prop_assert!(p.verify(alg, &l, root).is_err(), "leaf bit {}", bit);
    }
    let shape = inclusion_shape(p.index.0, p.size.0);
    for bit in 0..64 {
        let mut q = p.clone();
        q.index.0 ^= 1 << bit;
        prop_assert!(q.verify(alg, id, root).is_err(), "index bit {}", bit);
        let mut q = p.clone();
        q.size.0 ^= 1 << bit;
        let same_shape = inclusion_shape(q.index.0, q.size.0) == shape;
        prop_assert_eq!(
            q.verify(alg, id, root).is_ok(),
            same_shape,
            "size bit {}",
            bit
        );
    }
    Ok(())
}

/// Likewise for consistency proofs: every path and root bit matters, and a flipped size bit
/// fails unless the flipped sizes give exactly the same proof shape.
fn check_consistency_flips(
    alg: HashAlgorithm,
    c: &ConsistencyProof,
    old_root: &Hash32,
    new_root: &Hash32,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(c.verify(alg, old_root, new_root), Ok(()));
    for k in 0..c.path.len() {
        for bit in 0..256 {
            let mut q = c.clone();
            q.path[k].0[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(
                q.verify(alg, old_root, new_root).is_err(),
                "path[{}] bit {}",
                k,
                bit
            );
        }
    }
    for bit in 0..256 {
        let (mut o, mut n) = (*old_root, *new_root);
        o.0[bit / 8] ^= 1 << (bit % 8);
        n.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(c.verify(alg, &o, new_root).is_err(), "old root bit {}", bit);
        prop_assert!(c.verify(alg, old_root, &n).is_err(), "new root bit {}", bit);
    }
    let shape = consistency_shape(c.old_size.0, c.new_size.0);
    for bit in 0..64 {
        let mut q = c.clone();
        q.old_size.0 ^= 1 << bit;
        let same_shape = consistency_shape(q.old_size.0, q.new_size.0) == shape;
        prop_assert_eq!(
            q.verify(alg, old_root, new_root).is_ok(),
            same_shape,
            "old size bit {}",
            bit
        );
        let mut q = c.clone();
        q.new_size.0 ^= 1 << bit;
        let same_shape = consistency_shape(q.old_size.0, q.new_size.0) == shape;
        prop_assert_eq!(
            q.verify(alg, old_root, new_root).is_ok(),
            same_shape,
            "new size bit {}",
            bit
        );
    }
    Ok(())
}

/// One random log under algorithm `A`: roots of every prefix, inclusion and consistency
/// proofs (all of them for small logs, sampled otherwise), and bit flips of a few proofs.
fn check_random_log<A: Algorithm<Hash32>>(
    alg: HashAlgorithm,
    n: usize,
    seed: u64,
    picks: &[(u64, u64, u64)],
) -> Result<(), TestCaseError> {
    let ids = ids(n, seed);
    let log = MerkleLog::<A>::from_leaves(&ids);
    let leaf_hashes: Vec<Hash32> = ids.iter().map(|id| alg.leaf_hash(id.as_bytes())).collect();
    prop_assert_eq!(log.root(), mth(alg, &leaf_hashes));

    // root_at(k) equals the root of a fresh log holding the first k leaves.
    let mut fresh = MerkleLog::<A>::new();
    let mut roots = Vec::with_capacity(n + 1);
    for k in 0..=n {
        prop_assert_eq!(
            log.root_at(LogSize(k as u64)).unwrap(),
            fresh.root(),
            "root_at({})",
            k
        );
        roots.push(fresh.root());
        if let Some(id) = ids.get(k) {
            prop_assert_eq!(fresh.append(id), LeafIndex(k as u64));
        }
    }

    let size = LogSize(n as u64);
    let mut inclusion: Vec<(u64, u64)> = if n <= 48 {
        (1..=n as u64)
            .flat_map(|s| (0..s).map(move |i| (i, s)))
            .collect()
    } else {
        (0..n as u64).map(|i| (i, n as u64)).collect()
    };
    let mut consistency: Vec<(u64, u64)> = if n <= 48 {
        (1..=n as u64)
            .flat_map(|m| (m..=n as u64).map(move |s| (m, s)))
            .collect()
    } else {
        (1..=n as u64).map(|m| (m, n as u64)).collect()
    };
    for &(a, b, c) in picks {
        let s = 1 + b % n as u64;
        inclusion.push((a % s, s));
        consistency.push((1 + c % s, s));
    }
    for &(i, s) in &inclusion {
        let p = log.inclusion_proof(LeafIndex(i), LogSize(s)).unwrap();
        prop_assert_eq!(
            p.verify(alg, &ids[i as usize], &roots[s as usize]),
            Ok(()),
            "inclusion {} in {}",
            i,
            s
        );
    }
    for &(m, s) in &consistency {
        let c = log.consistency_proof(LogSize(m), LogSize(s)).unwrap();
        let r = c.verify(alg, &roots[m as usize], &roots[s as usize]);
        prop_assert_eq!(r, Ok(()), "consistency {} -> {}", m, s);
    }

    // Bit flips: the full-size proof of one picked leaf and one picked old size, and one pick
    // at a smaller size.
    let (a, b, c) = picks[0];
    let i = a % n as u64;
    let p = log.inclusion_proof(LeafIndex(i), size).unwrap();
    check_inclusion_flips(alg, &p, &ids[i as usize], &roots[n])?;
    let m = 1 + c % n as u64;
    let cp = log.consistency_proof(LogSize(m), size).unwrap();
    check_consistency_flips(alg, &cp, &roots[m as usize], &roots[n])?;
    let s = 1 + b % n as u64;
    let (i, m) = (a % s, 1 + c % s);
    let p = log.inclusion_proof(LeafIndex(i), LogSize(s)).unwrap();
    check_inclusion_flips(alg, &p, &ids[i as usize], &roots[s as usize])?;
    let cp = log.consistency_proof(LogSize(m), LogSize(s)).unwrap();
    check_consistency_flips(alg, &cp, &roots[m as usize], &roots[s as usize])?;
    Ok(())
}

fn any_algorithm() -> impl Strategy<Value = HashAlgorithm> {
    prop_oneof![
        Just(HashAlgorithm::Sha256),
        Just(HashAlgorithm::Keccak256),
        Just(HashAlgorithm::Sm3)
    ]
}

/// Sizes and indices biased towards the extremes where arithmetic could overflow.
fn any_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=300,
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(1u64 << 63),
        any::<u64>(),
    ]
}

fn any_hash() -> impl Strategy<Value = Hash32> {
    any::<[u8; 32]>().prop_map(Hash32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_proof_verifies_and_every_bit_flip_fails(
        alg in any_algorithm(),
        n in 1usize..=300,
        seed in any::<u64>(),
        picks in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 1..12),
    ) {
        match alg {
            HashAlgorithm::Sha256 => check_random_log::<Sha256Algorithm>(alg, n, seed, &picks)?,
            HashAlgorithm::Keccak256 => check_random_log::<Keccak256Algorithm>(alg, n, seed, &picks)?,
            HashAlgorithm::Sm3 => check_random_log::<Sm3Algorithm>(alg, n, seed, &picks)?,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary (hostile) proofs: never a panic, never accepted, and never any hashing for a
    /// path longer than any log can need.
    #[test]
    fn arbitrary_proofs_are_rejected_without_panicking(
        alg in any_algorithm(),
        index in any_size(),
        size in any_size(),
        path in prop::collection::vec(any_hash(), 0..=MAX_PROOF_NODES + 4),
        leaf in any_hash(),
        root in any_hash(),
        other_root in any_hash(),
    ) {
        let p = InclusionProof { index: LeafIndex(index), size: LogSize(size), path: path.clone() };
        let r = p.verify(alg, &leaf, &root);
        prop_assert!(r.is_err());
        if path.len() > MAX_PROOF_NODES && index < size {
            let is_length_error = matches!(r, Err(Error::ProofLength { .. }));
            prop_assert!(is_length_error);
        }
        let c = ConsistencyProof { old_size: LogSize(index), new_size: LogSize(size), path };
        prop_assert!(c.verify(alg, &root, &other_root).is_err());
        // The O(1) length formulas agree with the RFC's recursive definitions everywhere.
        prop_assert_eq!(
            inclusion_proof_len(LeafIndex(index), LogSize(size)),
            inclusion_shape(index, size).map(|s| s.len())
        );
        prop_assert_eq!(
            consistency_proof_len(LogSize(index), LogSize(size)),
            consistency_shape(index, size).map(|s| s.len())
        );
    }
}
