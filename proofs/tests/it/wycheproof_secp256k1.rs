//! Project Wycheproof ECDSA secp256k1/SHA-256 vectors (C2SP/wycheproof @ dac1dd47, Apache-2.0;
//! ../shared/vectors/wycheproof/SOURCE.txt), run through k256 with its low-s verification (what
//! Causeway depends on) and through Causeway's own `recover`, whose policy is low-s only.
//!
//! - `_bitcoin_test.json` already demands low-s: verify == (result == "valid") for both.
//! - `_test.json` (DER) and `_p1363_test.json` (r ‖ s) follow plain ECDSA, where a high-s
//!   signature is "valid": plain ECDSA (s normalised first) must agree with `result`, and our
//!   policy must accept exactly the valid low-s ones and reject exactly the valid-but-high-s ones.
//!
//! One more class is valid ECDSA but outside Ethereum's signature format: when k·G has an x
//! coordinate >= n, r = x − n and recovering the key needs recovery id 2 or 3, which v ∈ {27, 28}
//! (and `ecrecover`) cannot express. Honest signers hit this with probability about 2^-128;
//! Causeway, like the Inbox's `ecrecover`, rejects such signatures, and the tests count them.

#![allow(clippy::unwrap_used)]

use causeway_proofs::attestation::recover;
use causeway_proofs::hash::keccak256;
use causeway_proofs::{EvmAddress, Hash32, Signature};
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{RecoveryId, Signature as K256Signature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::vectors::read_vector;

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Der,
    P1363,
}

#[derive(Default, Debug)]
struct Tally {
    total: usize,
    valid: usize,
    valid_high_s: usize,
    valid_reduced_x: usize,
    ours_accepted: usize,
}

fn address_of_uncompressed(sec1: &[u8]) -> EvmAddress {
    let h = keccak256(&sec1[1..]);
    EvmAddress(h.0[12..].try_into().unwrap())
}

/// Whether Causeway's `recover` accepts (r, s) for `digest` as a signature by `address`, with
/// either recovery id (Wycheproof signatures carry none).
fn ours_accepts(sig: &K256Signature, digest: &Hash32, address: EvmAddress) -> bool {
    let mut raw = [0u8; 65];
    raw[..64].copy_from_slice(&sig.to_bytes());
    [27u8, 28].iter().any(|v| {
        raw[64] = *v;
        recover(digest, &Signature(raw), 0) == Ok(address)
    })
}

/// Whether the key is recoverable from (r, s) only with an "x reduced" recovery id (2 or 3).
fn needs_reduced_x(vk: &VerifyingKey, sig: &K256Signature, digest: &Hash32) -> bool {
    let sig = sig.normalize_s().unwrap_or(*sig);
    let recovers = |reduced: bool| {
        [false, true].iter().any(|y_odd| {
            VerifyingKey::recover_from_prehash(&digest.0, &sig, RecoveryId::new(*y_odd, reduced))
                .is_ok_and(|k| k == *vk)
        })
    };
    !recovers(false) && recovers(true)
}

fn run(file: &str, encoding: Encoding, low_s_file: bool) -> Tally {
    let doc: Value = serde_json::from_str(&read_vector(file)).unwrap();
    let mut tally = Tally::default();
    for group in doc["testGroups"].as_array().unwrap() {
        let pk = hex::decode(group["publicKey"]["uncompressed"].as_str().unwrap()).unwrap();
        let vk = VerifyingKey::from_sec1_bytes(&pk).unwrap();
        let address = address_of_uncompressed(&pk);
        for t in group["tests"].as_array().unwrap() {
            let id = t["tcId"].as_u64().unwrap();
            let result = t["result"].as_str().unwrap();
            assert!(
                result == "valid" || result == "invalid",
                "{file} #{id}: {result}"
            );
            let expect_valid = result == "valid";
            let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
            let sig_bytes = hex::decode(t["sig"].as_str().unwrap()).unwrap();
            let digest = Hash32(Sha256::digest(&msg).into());
            tally.total += 1;

            let parsed = match encoding {
                Encoding::Der => K256Signature::from_der(&sig_bytes),
                Encoding::P1363 => K256Signature::from_slice(&sig_bytes),
            };
            let Ok(sig) = parsed else {
                assert!(
                    !expect_valid,
                    "{file} #{id}: valid signature failed to parse"
                );
                continue;
            };
            let high_s = sig.normalize_s().is_some();
            // k256 verification rejects high s (BIP 62 / EIP-2 policy).
            let k256_low_s = vk.verify_prehash(&digest.0, &sig).is_ok();
            // Plain ECDSA: a high-s signature is its low-s twin.
            let plain = vk
                .verify_prehash(&digest.0, &sig.normalize_s().unwrap_or(sig))
                .is_ok();
            let ours = ours_accepts(&sig, &digest, address);
            let reduced_x = needs_reduced_x(&vk, &sig, &digest);

            if low_s_file {
                assert_eq!(
                    k256_low_s, expect_valid,
                    "{file} #{id}: k256 (low-s) verify"
                );
                assert_eq!(
                    ours,
                    expect_valid && !reduced_x,
                    "{file} #{id}: causeway recover"
                );
            } else {
                assert_eq!(plain, expect_valid, "{file} #{id}: plain ECDSA verify");
                assert_eq!(
                    k256_low_s,
                    expect_valid && !high_s,
                    "{file} #{id}: k256 low-s"
                );
                assert_eq!(
                    ours,
                    expect_valid && !high_s && !reduced_x,
                    "{file} #{id}: causeway recover"
                );
            }
            if expect_valid {
                tally.valid += 1;
                tally.valid_high_s += usize::from(high_s);
                tally.valid_reduced_x += usize::from(reduced_x);
            }
            tally.ours_accepted += usize::from(ours);
        }
    }
    tally
}

#[test]
fn bitcoin_low_s_vectors() {
    let t = run(
        "wycheproof/wycheproof_ecdsa_secp256k1_sha256_bitcoin_test.json",
        Encoding::Der,
        true,
    );
    // 463 tests, 162 valid (file header); none of the valid ones is high-s; one (#346, "k*G has
    // a large x-coordinate") needs a reduced-x recovery id, so 161 pass Causeway's recover.
    assert_eq!(
        (t.total, t.valid, t.valid_high_s, t.valid_reduced_x),
        (463, 162, 0, 1),
        "{t:?}"
    );
    assert_eq!(t.ours_accepted, 161);
}

#[test]
fn der_vectors_high_s_rejected_by_policy() {
    let t = run(
        "wycheproof/wycheproof_ecdsa_secp256k1_sha256_test.json",
        Encoding::Der,
        false,
    );
    // 476 tests, 168 valid, of which 72 high-s (the two reduced-x ones are among them): exactly
    // the 96 valid low-s signatures pass Causeway's recover.
    assert_eq!(
        (t.total, t.valid, t.valid_high_s, t.valid_reduced_x),
        (476, 168, 72, 2),
        "{t:?}"
    );
    assert_eq!(t.ours_accepted, 96);
}

#[test]
fn p1363_vectors_high_s_rejected_by_policy() {
    let t = run(
        "wycheproof/wycheproof_ecdsa_secp256k1_sha256_p1363_test.json",
        Encoding::P1363,
        false,
    );
    // 252 tests, 167 valid, of which 72 high-s (including both reduced-x ones): 95 pass.
    assert_eq!(
        (t.total, t.valid, t.valid_high_s, t.valid_reduced_x),
        (252, 167, 72, 2),
        "{t:?}"
    );
    assert_eq!(t.ours_accepted, 95);
}
