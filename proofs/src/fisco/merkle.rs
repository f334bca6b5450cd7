//! FISCO BCOS's Merkle tree over a block's transaction or receipt hashes, and its proofs
//! (`bcos-crypto/merkle/Merkle.h`, width 2 as `BlockImpl` uses it; protocol notes B.11).
//!
//! - One leaf: the root is the leaf itself. No leaves: the root is 32 zero bytes.
//! - Otherwise each level hashes consecutive groups of up to [`WIDTH`] nodes, H(n0 ‖ n1); a
//!   last group with one node is still hashed, H(n0) (not promoted), until one node is left.
//! - A proof is the list of groups from the leaves up, the root excluded: for each level a
//!   count word (u32 big-endian in the first 4 bytes of 32) and the group's hashes (the node
//!   itself included). A one-leaf block's proof is the single root.
//!
//! FISCO BCOS's own verifier only checks that the running hash is *somewhere* in each group,
//! so a proof does not fix the leaf's position; Causeway's [`verify_proof`] checks the same
//! (the position is not what a source proof relies on), and bounds everything it reads.

use super::{CryptoMode, FiscoError};
use crate::Hash32;

/// The tree's width (FISCO BCOS's default template argument).
pub const WIDTH: usize = 2;

/// Most entries a proof may carry: 64 levels of a count and [`WIDTH`] hashes (a block of
/// 2^64 transactions), so a hostile proof cannot make the verifier hash without bound.
pub const MAX_PROOF_ENTRIES: usize = 64 * (1 + WIDTH);

fn count_word(n: usize) -> Hash32 {
    let mut w = [0u8; 32];
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    w[..4].copy_from_slice(&n.to_be_bytes());
    Hash32(w)
}

fn next_level(level: &[Hash32], mode: CryptoMode) -> Vec<Hash32> {
    level
        .chunks(WIDTH)
        .map(|group| {
            let mut b = Vec::with_capacity(32 * group.len());
            for h in group {
                b.extend_from_slice(&h.0);
            }
            mode.hash(&b)
        })
        .collect()
}

/// The Merkle root of `leaves` (transaction or receipt hashes in block order).
pub fn merkle_root(leaves: &[Hash32], mode: CryptoMode) -> Hash32 {
    match leaves {
        [] => Hash32::ZERO,
        [one] => *one,
        _ => {
            let mut level = next_level(leaves, mode);
            while level.len() > 1 {
                level = next_level(&level, mode);
            }
            level[0]
        }
    }
}

/// The proof of leaf `index` among `leaves`, as a node returns it in `txReceiptProof` /
/// `txProof` (a one-leaf block: the single root). `None` if `index` is out of range.
pub fn merkle_proof(leaves: &[Hash32], index: usize, mode: CryptoMode) -> Option<Vec<Hash32>> {
    if index >= leaves.len() {
        return None;
    }
    if leaves.len() == 1 {
        return Some(vec![leaves[0]]);
    }
    let mut out = Vec::new();
    let mut level = leaves.to_vec();
    let mut index = index;
    while level.len() > 1 {
        let start = index - index % WIDTH;
        let end = (start + WIDTH).min(level.len());
        out.push(count_word(end - start));
        out.extend_from_slice(&level[start..end]);
        level = next_level(&level, mode);
        index /= WIDTH;
    }
    Some(out)
}

/// Checks that `proof` leads from `leaf` to `root`, as FISCO BCOS's `verifyMerkleProof` does,
/// with bounds: at most [`MAX_PROOF_ENTRIES`] entries, count words of 1..=[`WIDTH`] with 28
/// zero bytes, and groups that are not cut short. `tree` ("receipt", "transaction") names the
/// tree in errors.
///
/// Fails with [`FiscoError::MalformedProof`], [`FiscoError::LeafNotInProof`] or
/// [`FiscoError::ProofMismatch`].
pub fn verify_proof(
    proof: &[Hash32],
    leaf: &Hash32,
    root: &Hash32,
    mode: CryptoMode,
    tree: &'static str,
) -> Result<(), FiscoError> {
    let malformed = |reason: String| FiscoError::MalformedProof { reason };
    if proof.is_empty() {
        return Err(malformed("empty".into()));
    }
    if proof.len() > MAX_PROOF_ENTRIES {
        return Err(malformed(format!(
            "{} entries, more than the {MAX_PROOF_ENTRIES} of any real block",
            proof.len()
        )));
    }
    let mismatch = || FiscoError::ProofMismatch {
        tree,
        root: root.to_hex(),
    };
    if proof.len() == 1 {
        // A one-leaf block: the leaf is the root (the entry itself is not evidence).
        return if leaf == root {
            Ok(())
        } else {
            Err(mismatch())
        };
    }
    let mut current = *leaf;
    let mut rest = proof;
    let mut level = 0;
    while let Some((word, tail)) = rest.split_first() {
        if word.0[4..] != [0u8; 28] {
            return Err(malformed(format!(
                "level {level}: count word has non-zero tail"
            )));
        }
        let count = u32::from_be_bytes([word.0[0], word.0[1], word.0[2], word.0[3]]) as usize;
        if count == 0 || count > WIDTH || count > tail.len() {
            return Err(malformed(format!(
                "level {level}: a group of {count} with {} entries left",
                tail.len()
            )));
        }
        let (group, after) = tail.split_at(count);
        if !group.contains(&current) {
            return Err(FiscoError::LeafNotInProof {
                tree,
                leaf: current.to_hex(),
                level,
            });
        }
        let mut b = Vec::with_capacity(32 * count);
        for h in group {
            b.extend_from_slice(&h.0);
        }
        current = mode.hash(&b);
        rest = after;
        level += 1;
    }
    if current == *root {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// Parses the hex strings of an RPC proof (`txReceiptProof`, `txProof`; with or without 0x).
///
/// Fails with [`FiscoError::MalformedProof`] for an entry that is not 32 bytes of hex.
pub fn parse_proof(entries: &[String]) -> Result<Vec<Hash32>, FiscoError> {
    if entries.len() > MAX_PROOF_ENTRIES {
        return Err(FiscoError::MalformedProof {
            reason: format!("{} entries, more than {MAX_PROOF_ENTRIES}", entries.len()),
        });
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let digits = e.strip_prefix("0x").unwrap_or(e);
            let mut out = [0u8; 32];
            hex::decode_to_slice(digits, &mut out).map_err(|_| FiscoError::MalformedProof {
                reason: format!("entry {i} is not 32 bytes of hex"),
            })?;
            Ok(Hash32(out))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n)
            .map(|i| CryptoMode::Ecdsa.hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves_and_no_other_does() {
        for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
            for n in 1..=17 {
                let leaves = leaves(n);
                let root = merkle_root(&leaves, mode);
                for i in 0..n {
                    let proof = merkle_proof(&leaves, i, mode).expect("in range");
                    assert_eq!(
                        verify_proof(&proof, &leaves[i], &root, mode, "receipt"),
                        Ok(())
                    );
                    let stranger = mode.hash(b"stranger");
                    assert!(verify_proof(&proof, &stranger, &root, mode, "receipt").is_err());
                }
                assert!(merkle_proof(&leaves, n, mode).is_none());
            }
        }
    }

    #[test]
    fn three_leaves_hash_the_lone_last_node() {
        let mode = CryptoMode::Sm;
        let l = leaves(3);
        let h = |parts: &[&Hash32]| {
            let mut b = Vec::new();
            for p in parts {
                b.extend_from_slice(&p.0);
            }
            mode.hash(&b)
        };
        let expected = h(&[&h(&[&l[0], &l[1]]), &h(&[&l[2]])]);
        assert_eq!(merkle_root(&l, mode), expected);
        assert_eq!(merkle_root(&[], mode), Hash32::ZERO);
        assert_eq!(merkle_root(&l[..1], mode), l[0]);
    }

    #[test]
    fn malformed_proofs_are_refused() {
        let mode = CryptoMode::Ecdsa;
        let l = leaves(4);
        let root = merkle_root(&l, mode);
        let proof = merkle_proof(&l, 1, mode).expect("in range");
        assert!(matches!(
            verify_proof(&[], &l[1], &root, mode, "receipt"),
            Err(FiscoError::MalformedProof { .. })
        ));
        let mut bad_count = proof.clone();
        bad_count[0].0[3] = 9;
        assert!(matches!(
            verify_proof(&bad_count, &l[1], &root, mode, "receipt"),
            Err(FiscoError::MalformedProof { .. })
        ));
        let cut = &proof[..proof.len() - 1];
        assert!(matches!(
            verify_proof(cut, &l[1], &root, mode, "receipt"),
            Err(FiscoError::MalformedProof { .. })
        ));
        let long = vec![count_word(1); MAX_PROOF_ENTRIES + 2];
        assert!(matches!(
            verify_proof(&long, &l[1], &root, mode, "receipt"),
            Err(FiscoError::MalformedProof { .. })
        ));
        let mut tampered = proof;
        tampered[2].0[0] ^= 1; // the sibling of leaf 1 is leaf 0 at index 1 of the group
        tampered[1].0[0] ^= 1;
        assert!(verify_proof(&tampered, &l[1], &root, mode, "receipt").is_err());
    }
}
