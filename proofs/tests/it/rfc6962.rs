//! RFC 6962 / Certificate Transparency reference values for the classic 8-leaf tree, run
//! through the same tree and verifier code as message ids (via leaf hashes).
//!
//! Sources (values copied verbatim, hex):
//! - leaf inputs, node hashes of every complete subtree, and roots of sizes 0..=8:
//!   transparency-dev/merkle `testonly/constants.go` (stored version 582a6ad1); the same data
//!   as google/certificate-transparency `cpp/merkletree/merkle_tree_test.cc` and google/trillian
//!   `merkle/testonly/constants.go`.
//! - audit paths and consistency proofs: transparency-dev/merkle `proof/verify_test.go`
//!   (`inclusionProofs`, `consistencyProofs`; stored version 02194e9a). Its leaf numbers are
//!   1-based; ours are 0-based.
//! - proof structure as node ids (level, index) for trees up to 8 leaves:
//!   transparency-dev/merkle `proof/proof_test.go` (`TestInclusion`, `TestConsistency`).

#![allow(clippy::unwrap_used)]

use causeway_proofs::hash::Sha256Algorithm;
use causeway_proofs::log::{Sha256Log, verify_consistency, verify_inclusion};
use causeway_proofs::{
    ConsistencyProof, Error, Hash32, HashAlgorithm, InclusionProof, LeafIndex, LogSize,
};

const SHA: HashAlgorithm = HashAlgorithm::Sha256;

/// testonly/constants.go `LeafInputs()`.
const LEAF_INPUTS: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// testonly/constants.go `NodeHashes()`: `[level][index]`, level 0 = leaf hashes.
const NODE_HASHES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// testonly/constants.go `RootHashes()`: index = tree size (0 = `EmptyRootHash()`).
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// proof/verify_test.go `inclusionProofs`, as (0-based index, size, audit path).
const INCLUSION_PROOFS: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// proof/verify_test.go `consistencyProofs`, as (old size, new size, proof).
const CONSISTENCY_PROOFS: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// proof/verify_test.go `sha256SomeHash`.
const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

fn h(hex: &str) -> Hash32 {
    hex.parse().expect("reference values are 32-byte hex")
}

fn hs(hexes: &[&str]) -> Vec<Hash32> {
    hexes.iter().map(|x| h(x)).collect()
}

fn nh(level: usize, index: usize) -> Hash32 {
    h(NODE_HASHES[level][index])
}

fn leaf_hashes() -> Vec<Hash32> {
    LEAF_INPUTS.iter().map(|d| SHA.leaf_hash(d)).collect()
}

fn reference_log() -> Sha256Log {
    Sha256Log::from_leaf_hashes(leaf_hashes())
}

#[test]
fn leaf_hashes_and_every_complete_subtree_match_the_reference() {
    let leaves = leaf_hashes();
    assert_eq!(leaves, hs(NODE_HASHES[0]));
    for (level, nodes) in NODE_HASHES.iter().enumerate().skip(1) {
        for (i, node) in nodes.iter().enumerate() {
            let children = (nh(level - 1, 2 * i), nh(level - 1, 2 * i + 1));
            assert_eq!(
                SHA.node_hash(&children.0, &children.1),
                h(node),
                "level {level} node {i}"
            );
            // A complete aligned subtree is the root of a log holding exactly its leaves.
            let span = &leaves[i << level..(i + 1) << level];
            assert_eq!(Sha256Log::from_leaf_hashes(span.to_vec()).root(), h(node));
        }
    }
}

#[test]
fn roots_of_every_size_match_the_reference() {
    let leaves = leaf_hashes();
    let bulk = reference_log();
    let mut one_by_one = Sha256Log::new();
    let mut extended = Sha256Log::new();
    extended.extend_leaf_hashes(&leaves[..3]);
    extended.extend_leaf_hashes(&leaves[3..]);
    for (size, root) in ROOTS.iter().enumerate() {
        assert_eq!(one_by_one.root(), h(root), "size {size}");
        assert_eq!(
            bulk.root_at(LogSize(size as u64)).unwrap(),
            h(root),
            "size {size}"
        );
        assert_eq!(
            extended.root_at(LogSize(size as u64)).unwrap(),
            h(root),
            "size {size}"
        );
        if let Some(leaf) = leaves.get(size) {
            assert_eq!(one_by_one.append_leaf_hash(*leaf), LeafIndex(size as u64));
        }
    }
    assert_eq!(bulk.root(), h(ROOTS[8]));
}

/// The probes of verify_test.go `corruptInclusionProof`, each of which must be rejected.
fn corrupted_inclusion(
    p: &InclusionProof,
    root: Hash32,
    leaf: Hash32,
) -> Vec<(String, InclusionProof, Hash32, Hash32)> {
    let with = |index: u64, size: u64, path: Vec<Hash32>| InclusionProof {
        index: LeafIndex(index),
        size: LogSize(size),
        path,
    };
    let (i, n, path) = (p.index.0, p.size.0, p.path.clone());
    let mut probes = vec![
        (
            "index - 1".into(),
            with(i.wrapping_sub(1), n, path.clone()),
            root,
            leaf,
        ),
        ("index + 1".into(), with(i + 1, n, path.clone()), root, leaf),
        ("index ^ 2".into(), with(i ^ 2, n, path.clone()), root, leaf),
        ("size * 2".into(), with(i, n * 2, path.clone()), root, leaf),
        ("size / 2".into(), with(i, n / 2, path.clone()), root, leaf),
        (
            "wrong leaf".into(),
            p.clone(),
            root,
            SHA.leaf_hash(b"WrongLeaf"),
        ),
        ("empty root".into(), p.clone(), h(ROOTS[0]), leaf),
        ("random root".into(), p.clone(), h(SOME_HASH), leaf),
        (
            "trailing root".into(),
            with(i, n, [path.clone(), vec![root]].concat()),
            root,
            leaf,
        ),
        (
            "trailing zero".into(),
            with(i, n, [path.clone(), vec![Hash32::ZERO]].concat()),
            root,
            leaf,
        ),
        (
            "preceding root".into(),
            with(i, n, [vec![root], path.clone()].concat()),
            root,
            leaf,
        ),
    ];
    for k in 0..path.len() {
        let mut wrong = path.clone();
        wrong[k].0[0] ^= 8;
        probes.push((
            format!("modified path[{k}] bit 3"),
            with(i, n, wrong),
            root,
            leaf,
        ));
    }
    if !path.is_empty() {
        probes.push((
            "removed component".into(),
            with(i, n, path[..path.len() - 1].to_vec()),
            root,
            leaf,
        ));
    }
    if path.len() > 1 {
        let inserted = [vec![path[0], h(SOME_HASH)], path[1..].to_vec()].concat();
        probes.push((
            "inserted component".into(),
            with(i, n, inserted),
            root,
            leaf,
        ));
    }
    probes
}

#[test]
fn reference_audit_paths_are_generated_and_verified_and_corruptions_rejected() {
    let log = reference_log();
    let leaves = leaf_hashes();
    for (index, size, path) in INCLUSION_PROOFS {
        let root = h(ROOTS[size as usize]);
        let proof = log
            .inclusion_proof(LeafIndex(index), LogSize(size))
            .unwrap();
        assert_eq!(proof.path, hs(path), "audit path of {index} in {size}");
        let leaf = leaves[index as usize];
        proof.verify_leaf_hash(SHA, &leaf, &root).unwrap();
        assert_eq!(proof.root_from_leaf_hash(SHA, &leaf).unwrap(), root);
        verify_inclusion::<Sha256Algorithm>(proof.index, proof.size, &leaf, &proof.path, &root)
            .unwrap();
        for (what, bad, bad_root, bad_leaf) in corrupted_inclusion(&proof, root, leaf) {
            assert!(
                bad.verify_leaf_hash(SHA, &bad_leaf, &bad_root).is_err(),
                "{what} accepted for leaf {index} in {size}"
            );
        }
    }
}

#[test]
fn reference_consistency_proofs_are_generated_and_verified_and_corruptions_rejected() {
    let log = reference_log();
    for (m, n, path) in CONSISTENCY_PROOFS {
        let (root1, root2) = (h(ROOTS[m as usize]), h(ROOTS[n as usize]));
        let proof = log.consistency_proof(LogSize(m), LogSize(n)).unwrap();
        assert_eq!(proof.path, hs(path), "consistency {m} -> {n}");
        proof.verify(SHA, &root1, &root2).unwrap();
        verify_consistency::<Sha256Algorithm>(
            proof.old_size,
            proof.new_size,
            &root1,
            &root2,
            &proof.path,
        )
        .unwrap();
        if proof.path.is_empty() {
            continue; // verify_test.go probes only non-trivial proofs
        }
        // verify_test.go `corruptConsistencyProof`.
        let with = |m: u64, n: u64, path: Vec<Hash32>| ConsistencyProof {
            old_size: LogSize(m),
            new_size: LogSize(n),
            path,
        };
        let p = proof.path.clone();
        let wrong_root = SHA.digest(b"WrongRoot");
        let mut probes = vec![
            ("size1 - 1", with(m - 1, n, p.clone()), root1, root2),
            ("size1 + 1", with(m + 1, n, p.clone()), root1, root2),
            ("size1 ^ 2", with(m ^ 2, n, p.clone()), root1, root2),
            ("size2 * 2", with(m, n * 2, p.clone()), root1, root2),
            ("size2 / 2", with(m, n / 2, p.clone()), root1, root2),
            ("wrong root1", proof.clone(), wrong_root, root2),
            ("wrong root2", proof.clone(), root1, wrong_root),
            ("swapped roots", proof.clone(), root2, root1),
            ("empty proof", with(m, n, vec![]), root1, root2),
            (
                "trailing zero",
                with(m, n, [p.clone(), vec![Hash32::ZERO]].concat()),
                root1,
                root2,
            ),
            (
                "trailing root1",
                with(m, n, [p.clone(), vec![root1]].concat()),
                root1,
                root2,
            ),
            (
                "trailing root2",
                with(m, n, [p.clone(), vec![root2]].concat()),
                root1,
                root2,
            ),
            (
                "preceding root1",
                with(m, n, [vec![root1], p.clone()].concat()),
                root1,
                root2,
            ),
            (
                "preceding root2",
                with(m, n, [vec![root2], p.clone()].concat()),
                root1,
                root2,
            ),
            (
                "preceding proof[0]",
                with(m, n, [vec![p[0]], p.clone()].concat()),
                root1,
                root2,
            ),
            (
                "truncated proof",
                with(m, n, p[..p.len() - 1].to_vec()),
                root1,
                root2,
            ),
        ];
        let mut flipped = Vec::new();
        for k in 0..p.len() {
            let mut wrong = p.clone();
            wrong[k].0[0] ^= 16;
            flipped.push(with(m, n, wrong));
        }
        probes.extend(
            flipped
                .into_iter()
                .map(|f| ("modified proof bit 4", f, root1, root2)),
        );
        for (what, bad, r1, r2) in probes {
            assert!(
                bad.verify(SHA, &r1, &r2).is_err(),
                "{what} accepted for {m} -> {n}"
            );
        }
    }
}

/// verify_test.go `TestVerifyConsistency`'s edge cases. Two deliberate differences: an empty
/// old log (size 0) has no consistency proof here (RFC 9162 §2.1.4 defines proofs for
/// `0 < m`), where the Go verifier accepts any roots for it.
#[test]
fn consistency_edge_cases() {
    let (r1, r2) = (SHA.digest(b"don't care 1"), SHA.digest(b"don't care 2"));
    let empty = h(ROOTS[0]);
    let check = |m: u64, n: u64, a: Hash32, b: Hash32, path: Vec<Hash32>| {
        ConsistencyProof {
            old_size: LogSize(m),
            new_size: LogSize(n),
            path,
        }
        .verify(SHA, &a, &b)
    };
    assert_eq!(check(1, 1, r2, r2, vec![]), Ok(()));
    assert!(matches!(
        check(1, 1, r1, r2, vec![]),
        Err(Error::RootMismatch { .. })
    ));
    assert!(matches!(
        check(1, 1, empty, r2, vec![]),
        Err(Error::RootMismatch { .. })
    ));
    assert!(matches!(
        check(1, 1, empty, empty, vec![empty]),
        Err(Error::ProofLength {
            expected: 0,
            actual: 1
        })
    ));
    assert!(matches!(
        check(0, 1, empty, empty, vec![empty]),
        Err(Error::InvalidSizes { .. })
    ));
    assert!(matches!(
        check(0, 0, r1, r1, vec![]),
        Err(Error::InvalidSizes { .. })
    ));
    assert!(matches!(
        check(0, 1, r1, r2, vec![]),
        Err(Error::InvalidSizes { .. })
    ));
    assert!(matches!(
        check(1, 0, r1, r2, vec![]),
        Err(Error::InvalidSizes { .. })
    ));
    assert!(matches!(
        check(2, 1, r1, r2, vec![]),
        Err(Error::InvalidSizes { .. })
    ));
    assert!(matches!(
        check(1, 2, r1, r2, vec![]),
        Err(Error::ProofLength {
            expected: 1,
            actual: 0
        })
    ));
}

/// proof/proof_test.go `TestInclusion` and `TestConsistency`, for the trees of at most 8
/// leaves: each proof node named by (level, index) in `NodeHashes`, or, where the Go test
/// "rehashes" a right-border node that is not a complete subtree, the hash of its children.
#[test]
fn proof_structure_matches_the_reference_node_ids() {
    let log = reference_log();
    // l = hash(i, j): the node over leaves 4..7 of the 7-leaf tree.
    let l7 = SHA.node_hash(&nh(1, 2), &nh(0, 6));
    let inclusion: Vec<(u64, u64, Vec<Hash32>)> = vec![
        (1, 0, vec![]),
        (2, 0, vec![nh(0, 1)]),
        (2, 1, vec![nh(0, 0)]),
        (3, 1, vec![nh(0, 0), nh(0, 2)]),
        (7, 0, vec![nh(0, 1), nh(1, 1), l7]),
        (7, 1, vec![nh(0, 0), nh(1, 1), l7]),
        (7, 2, vec![nh(0, 3), nh(1, 0), l7]),
        (7, 3, vec![nh(0, 2), nh(1, 0), l7]),
        (7, 4, vec![nh(0, 5), nh(0, 6), nh(2, 0)]),
        (7, 5, vec![nh(0, 4), nh(0, 6), nh(2, 0)]),
        (7, 6, vec![nh(1, 2), nh(2, 0)]),
        (4, 2, vec![nh(0, 3), nh(1, 0)]),
        (5, 3, vec![nh(0, 2), nh(1, 0), nh(0, 4)]),
        (6, 3, vec![nh(0, 2), nh(1, 0), nh(1, 2)]),
        (6, 4, vec![nh(0, 5), nh(2, 0)]),
    ];
    for (size, index, want) in inclusion {
        let p = log
            .inclusion_proof(LeafIndex(index), LogSize(size))
            .unwrap();
        assert_eq!(p.path, want, "inclusion of {index} in {size}");
        p.verify_leaf_hash(SHA, &nh(0, index as usize), &h(ROOTS[size as usize]))
            .unwrap();
    }
    // The Go test's error cases.
    for (size, index) in [(0, 0), (0, 1), (1, 2), (0, 3), (7, 8)] {
        let err = log
            .inclusion_proof(LeafIndex(index), LogSize(size))
            .unwrap_err();
        assert_eq!(err, Error::IndexOutOfRange { index, size });
    }

    let consistency: Vec<(u64, u64, Vec<Hash32>)> = vec![
        (1, 2, vec![nh(0, 1)]),
        (1, 4, vec![nh(0, 1), nh(1, 1)]),
        (1, 6, vec![nh(0, 1), nh(1, 1), nh(1, 2)]),
        (2, 3, vec![nh(0, 2)]),
        (2, 8, vec![nh(1, 1), nh(2, 1)]),
        (3, 7, vec![nh(0, 2), nh(0, 3), nh(1, 0), l7]),
        (4, 7, vec![l7]),
        (5, 7, vec![nh(0, 4), nh(0, 5), nh(0, 6), nh(2, 0)]),
        (6, 7, vec![nh(1, 2), nh(0, 6), nh(2, 0)]),
        (7, 8, vec![nh(0, 6), nh(0, 7), nh(1, 2), nh(2, 0)]),
        (1, 1, vec![]),
        (2, 2, vec![]),
        (3, 3, vec![]),
        (4, 4, vec![]),
        (5, 5, vec![]),
        (7, 7, vec![]),
        (8, 8, vec![]),
        (2, 4, vec![nh(1, 1)]),
        (3, 5, vec![nh(0, 2), nh(0, 3), nh(1, 0), nh(0, 4)]),
        (3, 6, vec![nh(0, 2), nh(0, 3), nh(1, 0), nh(1, 2)]),
        (4, 6, vec![nh(1, 2)]),
        (1, 7, vec![nh(0, 1), nh(1, 1), l7]),
    ];
    for (m, n, want) in consistency {
        let p = log.consistency_proof(LogSize(m), LogSize(n)).unwrap();
        assert_eq!(p.path, want, "consistency {m} -> {n}");
        p.verify(SHA, &h(ROOTS[m as usize]), &h(ROOTS[n as usize]))
            .unwrap();
    }
    // The Go test's error cases (size1 > size2).
    for (m, n) in [(5, 0), (9, 8)] {
        let err = log.consistency_proof(LogSize(m), LogSize(n)).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidSizes {
                old_size: m,
                new_size: n
            }
        );
    }
}
