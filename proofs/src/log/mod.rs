//! The append-only Merkle log of RFC 9162 §2: roots of any size, inclusion proofs and
//! consistency proofs, and verifiers for both.
//!
//! Hashing follows RFC 9162 §2.1.1: a leaf hash is `H(0x00 ‖ leaf)`, an interior node is
//! `H(0x01 ‖ left ‖ right)`, and the root of the empty log is `H("")`. A tree of `n > 1`
//! leaves splits at the largest power of two `k < n`: `MTH(D[n]) = H(0x01 ‖ MTH(D[0:k]) ‖
//! MTH(D[k:n]))`. Unlike Bitcoin-style trees (and `merkle_light`), an odd last node is never
//! duplicated, so `[a, b, c]` and `[a, b, c, c]` have different roots (CVE-2012-2459).
//!
//! [`MerkleLog`] keeps the hash of every complete, aligned subtree, so appending
//! costs amortised two hashes per leaf and any root or proof folds at most `O(log n)` stored
//! nodes. The verifiers ([`verify_inclusion`], [`verify_consistency`] and the `verify` methods)
//! are total: on any input, however hostile, they return an error rather than panic, and they
//! refuse a path of the wrong length (never more than [`MAX_PROOF_NODES`], or
//! [`MAX_CONSISTENCY_PROOF_NODES`] for consistency) before hashing.

use core::fmt;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::hash::{Keccak256Algorithm, Sha256Algorithm, Sm3Algorithm};
use crate::{Error, Hash32, HashAlgorithm};

mod tree;
mod verify;

pub use tree::{Keccak256Log, MerkleLog, Sha256Log, Sm3Log};
pub use verify::{
    consistency_proof_len, inclusion_proof_len, root_from_inclusion_proof, verify_consistency,
    verify_inclusion,
};

/// The most nodes an RFC 9162 inclusion proof can have: one per level of a tree of at most
/// `u64::MAX` leaves, which is at most 64 levels deep. Longer paths are refused outright,
/// including while deserialising.
pub const MAX_PROOF_NODES: usize = 64;

/// The most nodes an RFC 9162 consistency proof can have: one per level plus the hash of the
/// old tree's last complete subtree (65 from `2^63 - 1` to `2^64 - 1` leaves).
pub const MAX_CONSISTENCY_PROOF_NODES: usize = MAX_PROOF_NODES + 1;

/// Number of leaves in a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogSize(pub u64);

/// Zero-based position of a leaf in a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeafIndex(pub u64);

impl fmt::Display for LogSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// RFC 9162 §2.1.3 inclusion proof of leaf `index` in the log of `size` leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The leaf's position.
    pub index: LeafIndex,
    /// The log size the proof is for.
    pub size: LogSize,
    /// Audit path, from the leaf's sibling up.
    #[serde(deserialize_with = "bounded_path::<_, MAX_PROOF_NODES>")]
    pub path: Vec<Hash32>,
}

/// RFC 9162 §2.1.4 consistency proof between two sizes of one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The older size.
    pub old_size: LogSize,
    /// The newer size.
    pub new_size: LogSize,
    /// The proof nodes.
    #[serde(deserialize_with = "bounded_path::<_, MAX_CONSISTENCY_PROOF_NODES>")]
    pub path: Vec<Hash32>,
}

/// Runs `$body` with the type alias `$A` bound to the `merkle_light` algorithm of `$alg`.
macro_rules! with_algorithm {
    ($alg:expr, $A:ident => $body:expr) => {
        match $alg {
            HashAlgorithm::Sha256 => {
                type $A = Sha256Algorithm;
                $body
            }
            HashAlgorithm::Keccak256 => {
                type $A = Keccak256Algorithm;
                $body
            }
            HashAlgorithm::Sm3 => {
                type $A = Sm3Algorithm;
                $body
            }
        }
    };
}

impl InclusionProof {
    /// Checks that the leaf whose data is `leaf` (a message id) sits at `self.index` in the log
    /// of `self.size` leaves whose root is `root`, under `alg` (RFC 9162 §2.1.3.2).
    ///
    /// The proof does not bind the log size by itself: a root commits to its size only through
    /// the signed checkpoint that carries both, so callers check `self.size` against it.
    pub fn verify(&self, alg: HashAlgorithm, leaf: &Hash32, root: &Hash32) -> Result<(), Error> {
        self.verify_leaf_hash(alg, &alg.leaf_hash(leaf.as_bytes()), root)
    }

    /// Like [`verify`](Self::verify), for a leaf given by its already computed leaf hash
    /// `H(0x00 ‖ data)` (leaves whose data is not a 32-byte id, such as the RFC 6962 examples).
    pub fn verify_leaf_hash(
        &self,
        alg: HashAlgorithm,
        leaf_hash: &Hash32,
        root: &Hash32,
    ) -> Result<(), Error> {
        with_algorithm!(alg, A => verify_inclusion::<A>(self.index, self.size, leaf_hash, &self.path, root))
    }

    /// The root this proof recomputes for a leaf with `leaf_hash`, under `alg`, after the same
    /// index, size and length checks as [`verify`](Self::verify).
    pub fn root_from_leaf_hash(
        &self,
        alg: HashAlgorithm,
        leaf_hash: &Hash32,
    ) -> Result<Hash32, Error> {
        with_algorithm!(alg, A => root_from_inclusion_proof::<A>(self.index, self.size, leaf_hash, &self.path))
    }
}

impl ConsistencyProof {
    /// Checks that the log of `new_size` with `new_root` extends the log of `old_size` with
    /// `old_root`, under `alg` (RFC 9162 §2.1.4.2).
    pub fn verify(
        &self,
        alg: HashAlgorithm,
        old_root: &Hash32,
        new_root: &Hash32,
    ) -> Result<(), Error> {
        with_algorithm!(alg, A => verify_consistency::<A>(
            self.old_size,
            self.new_size,
            old_root,
            new_root,
            &self.path,
        ))
    }
}

/// Deserialises a proof path, failing as soon as it exceeds `MAX` nodes so that a hostile
/// document cannot make us allocate for a path no log can have.
fn bounded_path<'de, D: Deserializer<'de>, const MAX: usize>(
    d: D,
) -> Result<Vec<Hash32>, D::Error> {
    struct PathVisitor<const MAX: usize>;

    impl<'de, const MAX: usize> Visitor<'de> for PathVisitor<MAX> {
        type Value = Vec<Hash32>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a list of at most {MAX} 32-byte hashes")
        }

        fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
            let mut path = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX));
            while let Some(node) = seq.next_element::<Hash32>()? {
                if path.len() == MAX {
                    return Err(S::Error::invalid_length(MAX + 1, &self));
                }
                path.push(node);
            }
            Ok(path)
        }
    }

    d.deserialize_seq(PathVisitor::<MAX>)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn proofs_round_trip_through_json() {
        let p = InclusionProof {
            index: LeafIndex(3),
            size: LogSize(7),
            path: vec![Hash32([1; 32]), Hash32([2; 32])],
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<InclusionProof>(&json).unwrap(), p);
        let c = ConsistencyProof {
            old_size: LogSize(3),
            new_size: LogSize(7),
            path: vec![Hash32([9; 32])],
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<ConsistencyProof>(&json).unwrap(), c);
    }

    #[test]
    fn oversized_paths_are_refused_while_deserialising() {
        let node = format!("\"{}\"", Hash32([7; 32]));
        let path = |n: usize| vec![node.as_str(); n].join(",");
        let ok = format!(
            "{{\"index\":0,\"size\":1,\"path\":[{}]}}",
            path(MAX_PROOF_NODES)
        );
        assert_eq!(
            serde_json::from_str::<InclusionProof>(&ok)
                .unwrap()
                .path
                .len(),
            MAX_PROOF_NODES
        );
        let too_long = format!(
            "{{\"index\":0,\"size\":1,\"path\":[{}]}}",
            path(MAX_PROOF_NODES + 1)
        );
        let err = serde_json::from_str::<InclusionProof>(&too_long).unwrap_err();
        assert!(err.to_string().contains("at most 64"), "{err}");
        let consistency =
            |n: usize| format!("{{\"old_size\":1,\"new_size\":2,\"path\":[{}]}}", path(n));
        let ok = consistency(MAX_CONSISTENCY_PROOF_NODES);
        assert_eq!(
            serde_json::from_str::<ConsistencyProof>(&ok)
                .unwrap()
                .path
                .len(),
            65
        );
        assert!(serde_json::from_str::<ConsistencyProof>(&consistency(66)).is_err());
        let too_long = consistency(1000);
        assert!(serde_json::from_str::<ConsistencyProof>(&too_long).is_err());
    }
}
