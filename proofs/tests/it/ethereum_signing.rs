//! Published Ethereum personal-sign vectors run through Causeway's own signing and recovery code
//! (`ValidatorKey::sign`, `recover`) and the EIP-2098 compact form.
//!
//! Source: ../shared/vectors/ethereum-signing/eip191_personal_sign_vectors.json, built from
//! ethereum/EIPs EIPS/eip-2098.md @08a15424 (CC0) and MetaMask/eth-sig-util
//! src/personal-sign.test.ts @9a56f57b (see SOURCE.txt there).

#![allow(clippy::unwrap_used)]

use causeway_proofs::attestation::{hash_personal_message, recover};
use causeway_proofs::{EvmAddress, Hash32, Signature, ValidatorKey};
use serde_json::Value;

use crate::vectors::read_vector;

fn hex_bytes(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).unwrap()
}

fn vectors() -> Vec<Value> {
    let doc: Value = serde_json::from_str(&read_vector(
        "ethereum-signing/eip191_personal_sign_vectors.json",
    ))
    .unwrap();
    let v = doc["vectors"].as_array().unwrap().clone();
    assert_eq!(v.len(), 6, "SOURCE.txt promises 6 vectors");
    v
}

#[test]
fn eip191_vectors_hash_sign_and_recover_exactly() {
    for (i, v) in vectors().iter().enumerate() {
        let message = hex_bytes(&v["message_hex"]);
        if let Some(text) = v["message_utf8"].as_str() {
            assert_eq!(
                message,
                text.as_bytes(),
                "vector {i}: hex and utf8 disagree"
            );
        }
        let hash = hash_personal_message(&message);
        let expected_hash: Hash32 = v["eip191_hash_derived"].as_str().unwrap().parse().unwrap();
        assert_eq!(hash, expected_hash, "vector {i}: EIP-191 hash");

        let key_bytes: [u8; 32] = hex_bytes(&v["private_key"]).try_into().unwrap();
        let key = ValidatorKey::from_bytes(&key_bytes).unwrap();
        let address: EvmAddress = v["address_derived"].as_str().unwrap().parse().unwrap();
        assert_eq!(key.address(), address, "vector {i}: address of the key");
        if let Some(published) = v["address"].as_str() {
            assert_eq!(
                address,
                published.parse().unwrap(),
                "vector {i}: published address"
            );
        }

        // RFC 6979 + low-s reproduces the published signature byte for byte.
        let expected: Signature = v["signature"].as_str().unwrap().parse().unwrap();
        let sig = key.sign(&hash);
        assert_eq!(sig, expected, "vector {i}: signature");
        assert_eq!(sig.r().to_vec(), hex_bytes(&v["r"]), "vector {i}: r");
        assert_eq!(sig.s().to_vec(), hex_bytes(&v["s"]), "vector {i}: s");
        assert_eq!(
            u64::from(sig.v()),
            v["v"].as_u64().unwrap(),
            "vector {i}: v"
        );

        assert_eq!(
            recover(&hash, &expected, 0).unwrap(),
            address,
            "vector {i}: recover"
        );
    }
}

#[test]
fn eip2098_compact_round_trip() {
    let mut with_published_vs = 0;
    for (i, v) in vectors().iter().enumerate() {
        let sig: Signature = v["signature"].as_str().unwrap().parse().unwrap();
        let compact = sig
            .to_compact()
            .expect("low-s signatures always have a compact form");
        assert_eq!(&compact[..32], &sig.r(), "vector {i}: r unchanged");
        assert_eq!(
            compact[32] >> 7,
            sig.v() - 27,
            "vector {i}: top bit is the y parity"
        );
        if let Some(vs) = v.get("compact_vs_eip2098") {
            // EIP-2098's published `vs` values.
            assert_eq!(compact[32..].to_vec(), hex_bytes(vs), "vector {i}: vs");
            with_published_vs += 1;
        }
        assert_eq!(Signature::from_compact(&compact), sig, "vector {i}: expand");
    }
    assert_eq!(with_published_vs, 2, "the two EIP-2098 examples carry vs");
}

#[test]
fn compact_form_refuses_what_it_cannot_represent() {
    let mut sig = Signature([0x11; 65]);
    sig.0[64] = 29;
    assert_eq!(sig.to_compact(), None, "v = 29");
    sig.0[64] = 27;
    sig.0[32] = 0x80;
    assert_eq!(sig.to_compact(), None, "s with its top bit set");
}

#[test]
fn signature_parsing_is_exact() {
    let sig = Signature([7; 65]);
    assert_eq!(sig.to_hex().parse::<Signature>().unwrap(), sig);
    assert_eq!(Signature::from_slice(&[7; 65]).unwrap(), sig);
    // The 64-byte compact form and trailing bytes are not a 65-byte signature.
    assert!(Signature::from_slice(&[7; 64]).is_err());
    assert!(Signature::from_slice(&[7; 66]).is_err());
    assert!(
        format!("0x{}", "07".repeat(64))
            .parse::<Signature>()
            .is_err()
    );
    assert!(
        format!("0x{}", "07".repeat(66))
            .parse::<Signature>()
            .is_err()
    );
    let json = serde_json::to_string(&sig).unwrap();
    assert_eq!(json, format!("\"0x{}\"", "07".repeat(65)));
    assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
}

#[test]
fn personal_hash_uses_decimal_length() {
    // 10-byte message: the prefix carries "10", not "\n" or a binary length.
    let m = b"0123456789";
    let mut pre = b"\x19Ethereum Signed Message:\n10".to_vec();
    pre.extend_from_slice(m);
    assert_eq!(
        hash_personal_message(m),
        causeway_proofs::hash::keccak256(&pre)
    );
}
