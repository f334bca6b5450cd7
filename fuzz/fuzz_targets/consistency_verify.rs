//! `ConsistencyProof::verify` on arbitrary sizes, path and roots, under every hash algorithm:
//! it must return an error or Ok, never panic.
#![no_main]

use causeway_proofs::{ConsistencyProof, Hash32, HashAlgorithm, LogSize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u64, u64, u8, Vec<[u8; 32]>, [u8; 32], [u8; 32])| {
    let (old_size, new_size, alg, path, old_root, new_root) = input;
    let alg = match alg % 3 {
        0 => HashAlgorithm::Sha256,
        1 => HashAlgorithm::Keccak256,
        _ => HashAlgorithm::Sm3,
    };
    let proof = ConsistencyProof {
        old_size: LogSize(old_size),
        new_size: LogSize(new_size),
        path: path.into_iter().map(Hash32).collect(),
    };
    let _ = proof.verify(alg, &Hash32(old_root), &Hash32(new_root));
});
