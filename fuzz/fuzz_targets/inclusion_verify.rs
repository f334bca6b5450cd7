//! `InclusionProof::verify` on arbitrary index, size, path, leaf and root, under every hash
//! algorithm: it must return an error or Ok, never panic, and never allocate beyond the path.
#![no_main]

use causeway_proofs::{Hash32, HashAlgorithm, InclusionProof, LeafIndex, LogSize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u64, u64, u8, Vec<[u8; 32]>, [u8; 32], [u8; 32])| {
    let (index, size, alg, path, leaf, root) = input;
    let alg = match alg % 3 {
        0 => HashAlgorithm::Sha256,
        1 => HashAlgorithm::Keccak256,
        _ => HashAlgorithm::Sm3,
    };
    let proof = InclusionProof {
        index: LeafIndex(index),
        size: LogSize(size),
        path: path.into_iter().map(Hash32).collect(),
    };
    let _ = proof.verify(alg, &Hash32(leaf), &Hash32(root));
});
