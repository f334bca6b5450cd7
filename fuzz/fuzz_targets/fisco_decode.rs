//! The FISCO BCOS parsers and verifiers of untrusted input: a signed transaction's TARS bytes
//! (`Transaction::decode`, then its signature check in both crypto modes), a Merkle proof, and
//! a source proof's JSON verified against a fixed sealer set. They must return an error or a
//! value, never panic.
#![no_main]

use causeway_proofs::fisco::merkle::verify_proof;
use causeway_proofs::fisco::{CryptoMode, FiscoSourceProof, NodeSecret, SealerSet, Transaction};
use causeway_proofs::{EvmAddress, Hash32};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode_byte, rest)) = data.split_first() else {
        return;
    };
    let mode = if mode_byte & 1 == 0 { CryptoMode::Ecdsa } else { CryptoMode::Sm };
    match mode_byte >> 1 {
        0 => {
            if let Ok(tx) = Transaction::decode(rest) {
                let _ = tx.verify(mode);
                let _ = tx.encode();
            }
        }
        1 => {
            let entries: Vec<Hash32> = rest
                .chunks_exact(32)
                .map(|c| Hash32(c.try_into().expect("32 bytes")))
                .collect();
            let (leaf, root) = (Hash32([1; 32]), Hash32([2; 32]));
            let _ = verify_proof(&entries, &leaf, &root, mode, "receipt");
        }
        _ => {
            let Ok(proof) = serde_json::from_slice::<FiscoSourceProof>(rest) else {
                return;
            };
            let sealers = SealerSet::new(
                mode,
                (1u8..=4).map(|i| {
                    NodeSecret::from_bytes(mode, &[i; 32])
                        .expect("a small constant is a valid scalar")
                        .public_key()
                }),
            )
            .expect("four distinct sealers");
            let _ = proof.verify(&sealers, &EvmAddress([0x0b; 20]));
        }
    }
});
