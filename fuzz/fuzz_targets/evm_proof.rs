//! EVM native proofs from untrusted input: a Merkle-Patricia proof of arbitrary nodes against an
//! arbitrary root and key, and an `EvmSourceProof` parsed from arbitrary JSON then verified. Both
//! must fail cleanly, never panic.
#![no_main]

use causeway_proofs::evm::{EvmSourceProof, dispatch_topic0, verify_proof};
use causeway_proofs::{EvmAddress, Hash32};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: ([u8; 32], Vec<u8>, Vec<Vec<u8>>, &str)| {
    let (root, key, nodes, json) = input;
    let _ = verify_proof(&Hash32(root), &key, &nodes);
    if let Ok(proof) = serde_json::from_str::<EvmSourceProof>(json) {
        let _ = proof.verify(&Hash32(root), &EvmAddress([0x11; 20]), &dispatch_topic0(), &key);
    }
});
