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

/// What `recover` did before it recovered through libsecp256k1 (issue 11): the same canonical
/// checks, then k256's recovery. The reference the property below compares with.
fn recover_with_k256(digest: &Hash32, sig: &Signature) -> Option<EvmAddress> {
    use k256::ecdsa::{RecoveryId, Signature as K256Signature, VerifyingKey};
    use k256::elliptic_curve::PrimeField;
    use k256::elliptic_curve::scalar::IsHigh;
    let scalar = |b: [u8; 32]| {
        Option::<k256::Scalar>::from(k256::Scalar::from_repr(b.into()))
            .filter(|s| !bool::from(s.is_zero()))
    };
    let (r, s) = (scalar(sig.r())?, scalar(sig.s())?);
    if bool::from(s.is_high()) {
        return None;
    }
    let y_odd = match sig.v() {
        27 => false,
        28 => true,
        _ => return None,
    };
    let sig = K256Signature::from_scalars(r.to_repr(), s.to_repr()).ok()?;
    let key =
        VerifyingKey::recover_from_prehash(&digest.0, &sig, RecoveryId::new(y_odd, false)).ok()?;
    let hash = causeway_proofs::hash::keccak256(&key.to_encoded_point(false).as_bytes()[1..]);
    Some(EvmAddress(hash.0[12..].try_into().unwrap()))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    /// `recover` (libsecp256k1) and k256's recovery agree: an honest signature recovers its
    /// signer, and any 65 bytes (a real signature with its r, s or v replaced by arbitrary
    /// bytes, high s included) are refused by both or recover the same address in both.
    #[test]
    fn recover_agrees_with_k256(
        secret in proptest::prelude::any::<[u8; 32]>(),
        digest in proptest::prelude::any::<[u8; 32]>(),
        junk in proptest::prelude::any::<[u8; 32]>(),
        part in 0u8..4,
        v in 25u8..31,
    ) {
        let digest = Hash32(digest);
        let Ok(key) = ValidatorKey::from_bytes(&secret) else {
            return Ok(());
        };
        let honest = key.sign(&digest);
        proptest::prop_assert_eq!(recover(&digest, &honest, 0).ok(), Some(key.address()));
        proptest::prop_assert_eq!(recover_with_k256(&digest, &honest), Some(key.address()));
        let mut bytes = honest.0;
        match part {
            0 => bytes[..32].copy_from_slice(&junk),
            1 => bytes[32..64].copy_from_slice(&junk),
            2 => bytes[64] = v,
            _ => {
                // The malleated twin (n - s, v flipped): high s, refused.
                use k256::elliptic_curve::PrimeField;
                let s = k256::Scalar::from_repr(honest.s().into()).unwrap();
                bytes[32..64].copy_from_slice(&(-s).to_bytes());
                bytes[64] ^= 1;
            }
        }
        let altered = Signature(bytes);
        proptest::prop_assert_eq!(
            recover(&digest, &altered, 0).ok(),
            recover_with_k256(&digest, &altered)
        );
    }
}
