//! SM2 signatures (GB/T 32918.2) through `causeway_proofs::sm::sm2`, against
//! `shared/vectors/sm/` (see its SOURCE.txt):
//!
//! - `sm2_signature_vectors.json`, built from OpenSSL's `test/sm2_internal_test.c`
//!   (@0223dfcf): the GM/T 0003.5-2012 / GB/T 32918.5 Annex A example on sm2p256v1, and the
//!   draft-shen-sm2-ecdsa-02 example on its 256-bit TEST curve, which the `sm2` crate cannot do
//!   and which is therefore checked with the test-only reference arithmetic in `sm2/reference.rs`
//!   (itself validated here against the Annex A values and the production code);
//! - `openssl_evppkey_sm2.txt`, OpenSSL's `test/recipes/30-test_evp_data/evppkey_sm2.txt`
//!   (@0ca8e7dd, verbatim): its three `Verify` stanzas, whose input is the prehashed e.
//!
//! Plus property tests: the parsers never panic on arbitrary bytes, and sign/verify round-trips.

#![allow(clippy::unwrap_used)]

mod draft_shen;
mod openssl;
mod reference;

use causeway_proofs::Error;
use causeway_proofs::Hash32;
use causeway_proofs::sm::sm2::{
    DEFAULT_USER_ID, Sm2PublicKey, Sm2SecretKey, Sm2Signature, message_digest, sign, sign_digest,
    sign_digest_with_k, verify, verify_digest, verify_prehash, za,
};
use num_bigint::BigUint;
use proptest::prelude::*;
use serde_json::Value;

use self::reference::be32;
use crate::vectors::read_vector;

fn vectors() -> Value {
    serde_json::from_str(&read_vector("sm/sm2_signature_vectors.json")).unwrap()
}

fn hex32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn ascii(v: &Value) -> &[u8] {
    v.as_str().unwrap().as_bytes()
}

/// The JSON's example whose name starts with `prefix`.
fn example<'a>(all: &'a Value, prefix: &str) -> &'a Value {
    all["sign_examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ex| ex["name"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no example named {prefix}…"))
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 0x80 >> (bit % 8);
    out
}

// ---- (a) GB/T 32918.5 Annex A on sm2p256v1 ----------------------------------------------------

#[test]
fn annex_a_example_reproduces_published_values() {
    let all = vectors();
    let ex = example(&all, "GM/T 0003.5-2012");
    let key = Sm2SecretKey::from_bytes(&hex32(&ex["private_key"])).unwrap();
    let public = key.public_key();

    // Public key: GB/T 32918.5 Annex A publishes x_A = 09F9DF31…, y_A = CCEA490C… (the JSON's
    // public_key_*_derived, which SOURCE.txt states equal the published values).
    assert_eq!(public.to_bytes()[..32], hex32(&ex["public_key_x_derived"]));
    assert_eq!(public.to_bytes()[32..], hex32(&ex["public_key_y_derived"]));
    assert_eq!(
        hex::encode_upper(&public.to_bytes()[..4]),
        "09F9DF31",
        "GB/T 32918.5 Annex A x_A"
    );

    // Z_A = B2E14C5C… and e = F0B43E94…: GB/T 32918.5 Annex A (JSON Z_derived / e_derived).
    let user_id = ascii(&ex["user_id_ascii"]);
    assert_eq!(user_id, DEFAULT_USER_ID, "Annex A uses the default ID");
    let msg = ascii(&ex["message_ascii"]);
    let z = za(&public, user_id).unwrap();
    assert_eq!(z.0, hex32(&ex["Z_derived"]));
    assert!(
        z.to_hex().starts_with("0xb2e14c5c"),
        "GB/T 32918.5 Annex A Z_A"
    );
    let e = message_digest(&public, user_id, msg).unwrap();
    assert_eq!(e.0, hex32(&ex["e_derived"]));
    assert!(
        e.to_hex().starts_with("0xf0b43e94"),
        "GB/T 32918.5 Annex A e"
    );

    // (r, s) with the published k: GB/T 32918.5 Annex A, as in OpenSSL sm2_internal_test.c.
    let sig = sign_digest_with_k(&key, &e, &hex32(&ex["k"])).unwrap();
    assert_eq!(sig.r(), &hex32(&ex["r"]));
    assert_eq!(sig.s(), &hex32(&ex["s"]));
    assert_eq!(
        Sm2Signature::from_bytes(&sig.to_bytes()).unwrap(),
        sig,
        "r ‖ s round-trips"
    );

    assert_eq!(verify(&public, user_id, msg, &sig), Ok(()));
    assert_eq!(verify_digest(&public, &e, &sig), Ok(()));
    assert_eq!(verify_prehash(&public, &e.0, &sig), Ok(()));
    // The key also parses from its own encodings.
    assert_eq!(
        Sm2PublicKey::from_bytes(&public.to_bytes()).unwrap(),
        public
    );
    assert_eq!(
        Sm2PublicKey::from_bytes(&public.to_sec1_bytes()).unwrap(),
        public
    );
}

#[test]
fn annex_a_signature_fails_after_any_single_bit_flip() {
    let all = vectors();
    let ex = example(&all, "GM/T 0003.5-2012");
    let public = Sm2SecretKey::from_bytes(&hex32(&ex["private_key"]))
        .unwrap()
        .public_key();
    let msg = ascii(&ex["message_ascii"]);
    let e = hex32(&ex["e_derived"]);
    let sig = Sm2Signature::from_scalars(&hex32(&ex["r"]), &hex32(&ex["s"])).unwrap();
    assert_eq!(verify(&public, DEFAULT_USER_ID, msg, &sig), Ok(()));

    // Every bit of r ‖ s: either the bytes are no longer a signature (r or s out of range) or
    // it fails to verify.
    let mut unparsable = 0;
    for bit in 0..512 {
        match Sm2Signature::from_bytes(&flip(&sig.to_bytes(), bit)) {
            Err(Error::Sm2InvalidSignature { .. }) => unparsable += 1,
            Err(other) => panic!("bit {bit}: unexpected {other:?}"),
            Ok(bad) => assert_eq!(
                verify_digest(&public, &Hash32(e), &bad),
                Err(Error::Sm2VerificationFailed),
                "r ‖ s bit {bit}"
            ),
        }
    }
    // One flip cannot take r = F5A03B06… or s = B1B6AA29… up to n = FFFFFFFE… or down to 0, so
    // every flipped signature parsed and was rejected by verification itself.
    assert_eq!(unparsable, 0);

    // Every bit of e.
    for bit in 0..256 {
        let bad_e = Hash32(flip(&e, bit).try_into().unwrap());
        assert_eq!(
            verify_digest(&public, &bad_e, &sig),
            Err(Error::Sm2VerificationFailed),
            "e bit {bit}"
        );
    }
    // Every bit of the message "message digest".
    for bit in 0..msg.len() * 8 {
        assert_eq!(
            verify(&public, DEFAULT_USER_ID, &flip(msg, bit), &sig),
            Err(Error::Sm2VerificationFailed),
            "message bit {bit}"
        );
    }
    // Another identity, or another key, changes Z and so e.
    assert_eq!(
        verify(&public, b"1234567812345679", msg, &sig),
        Err(Error::Sm2VerificationFailed)
    );
    let other = Sm2SecretKey::from_bytes(&[1u8; 32]).unwrap().public_key();
    assert_eq!(
        verify(&other, DEFAULT_USER_ID, msg, &sig),
        Err(Error::Sm2VerificationFailed)
    );
}

// ---- Parsing rules and round trips ------------------------------------------------------------

#[test]
fn parsers_reject_out_of_range_values() {
    let n =
        hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123").unwrap();
    let p =
        hex::decode("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF").unwrap();
    let one = {
        let mut v = [0u8; 32];
        v[31] = 1;
        v
    };
    let n32: [u8; 32] = n.clone().try_into().unwrap();
    let mut n_minus_1 = n32;
    n_minus_1[31] -= 1;
    let mut n_minus_2 = n32;
    n_minus_2[31] -= 2;

    // Signature: r, s in 1..n-1 (GB/T 32918.2 B1, B2).
    assert!(Sm2Signature::from_scalars(&one, &n_minus_1).is_ok());
    for (r, s) in [
        ([0u8; 32], one),
        (one, [0u8; 32]),
        (n32, one),
        (one, n32),
        ([0xff; 32], one),
    ] {
        assert!(matches!(
            Sm2Signature::from_scalars(&r, &s),
            Err(Error::Sm2InvalidSignature { .. })
        ));
    }
    assert!(Sm2Signature::from_bytes(&[1u8; 63]).is_err());
    assert!(Sm2Signature::from_bytes(&[1u8; 65]).is_err());

    // Secret key: 1..n-2 (GB/T 32918.1 clause 6.1).
    assert!(Sm2SecretKey::from_bytes(&one).is_ok());
    assert!(Sm2SecretKey::from_bytes(&n_minus_2).is_ok());
    for bad in [[0u8; 32], n_minus_1, n32, [0xff; 32]] {
        assert_eq!(
            Sm2SecretKey::from_bytes(&bad).err(),
            Some(Error::Sm2InvalidSecretKey)
        );
    }

    // Public key: G itself parses; wrong lengths/prefix, coordinates >= p, off-curve and
    // (0, 0) (no encoding of the identity) do not.
    let g = Sm2SecretKey::from_bytes(&one).unwrap().public_key();
    assert_eq!(
        hex::encode_upper(&g.to_bytes()[..32]),
        "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
        "1·G = G (GB/T 32918.5 clause 5)"
    );
    let bytes = g.to_bytes();
    let mut compressed = vec![0x02 | (bytes[63] & 1)];
    compressed.extend_from_slice(&bytes[..32]);
    let mut wrong_prefix = g.to_sec1_bytes();
    wrong_prefix[0] = 0x06;
    let mut x_is_p = p.clone();
    x_is_p.extend_from_slice(&bytes[32..]);
    let mut y_is_p = bytes[..32].to_vec();
    y_is_p.extend_from_slice(&p);
    let mut off_curve = bytes;
    off_curve[63] ^= 1;
    let invalid: [&[u8]; 8] = [
        &[],
        &compressed,
        &wrong_prefix,
        &bytes[..63],
        &x_is_p,
        &y_is_p,
        &off_curve,
        &[0u8; 64],
    ];
    for bad in invalid {
        assert!(
            matches!(
                Sm2PublicKey::from_bytes(bad),
                Err(Error::Sm2InvalidPublicKey { .. })
            ),
            "{}",
            hex::encode(bad)
        );
    }
    // y and p - y are both on the curve: the negated point is a different, valid key.
    let mut negated = bytes;
    let y = BigUint::from_bytes_be(&bytes[32..]);
    negated[32..].copy_from_slice(&be32(&(BigUint::from_bytes_be(&p) - y)));
    assert_ne!(Sm2PublicKey::from_bytes(&negated).unwrap(), g);
}

/// The `sm2` crate computes Z itself for UTF-8 identities; ours ([`za`]) serves identities that
/// are not UTF-8. Both must give the same e: a signature made on one path verifies on the other.
#[test]
fn library_z_and_our_z_agree() {
    let mut rng = rand_core::OsRng;
    let key = Sm2SecretKey::generate(&mut rng);
    let public = key.public_key();
    let msg = b"sealer vote";
    let sig = sign(&key, DEFAULT_USER_ID, msg, &mut rng).unwrap();
    let e = causeway_proofs::sm::message_digest(&public, DEFAULT_USER_ID, msg).unwrap();
    assert_eq!(verify_digest(&public, &e, &sig), Ok(()));
    let sig = sign_digest(&key, &e, &mut rng).unwrap();
    assert_eq!(verify(&public, DEFAULT_USER_ID, msg, &sig), Ok(()));
    // An identity that is not UTF-8 signs and verifies, and is bound: another one fails.
    let binary_id = [0xff, 0xfe, 0x00, 0x80];
    let sig = sign(&key, &binary_id, msg, &mut rng).unwrap();
    assert_eq!(verify(&public, &binary_id, msg, &sig), Ok(()));
    assert_eq!(
        verify(&public, &[0xff, 0xfe, 0x00, 0x81], msg, &sig),
        Err(Error::Sm2VerificationFailed)
    );
    assert_eq!(
        verify(&public, DEFAULT_USER_ID, msg, &sig),
        Err(Error::Sm2VerificationFailed)
    );
}

#[test]
fn random_keys_sign_and_verify() {
    let mut rng = rand_core::OsRng;
    let key = Sm2SecretKey::generate(&mut rng);
    let sig = sign(&key, DEFAULT_USER_ID, b"FISCO BCOS block", &mut rng).unwrap();
    assert_eq!(
        verify(
            &key.public_key(),
            DEFAULT_USER_ID,
            b"FISCO BCOS block",
            &sig
        ),
        Ok(())
    );
    let e = Hash32([0x5a; 32]);
    let a = sign_digest(&key, &e, &mut rng).unwrap();
    let b = sign_digest(&key, &e, &mut rng).unwrap();
    assert_ne!(a, b, "fresh nonces give fresh signatures");
    assert_eq!(verify_digest(&key.public_key(), &e, &a), Ok(()));
    assert_eq!(verify_digest(&key.public_key(), &e, &b), Ok(()));
    let copy = Sm2SecretKey::from_bytes(&key.secret_bytes()).unwrap();
    assert_eq!(copy.public_key(), key.public_key());
    // Debug never shows the secret.
    let shown = format!("{key:?}");
    assert!(!shown.contains(&hex::encode(*key.secret_bytes())));
    assert!(shown.contains("public_key"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn parsers_and_verify_never_panic(
        key in prop_oneof![
            proptest::collection::vec(any::<u8>(), 64),
            proptest::collection::vec(any::<u8>(), 65),
            proptest::collection::vec(any::<u8>(), 0..80),
        ],
        sig in prop_oneof![
            proptest::collection::vec(any::<u8>(), 64),
            proptest::collection::vec(any::<u8>(), 0..80),
        ],
        msg in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let parsed_key = Sm2PublicKey::from_bytes(&key);
        let parsed_sig = Sm2Signature::from_bytes(&sig);
        if let Ok(sig) = &parsed_sig {
            prop_assert_eq!(&sig.to_bytes()[..], &sig_bytes_of(sig)[..]);
        }
        if let Ok(k) = &parsed_key {
            // Random bytes are on the curve with negligible probability; if they are, they
            // round-trip.
            prop_assert_eq!(&k.to_bytes()[..], &key[key.len() - 64..]);
        }
        // A valid key with an arbitrary signature: never a panic, and (for random bytes)
        // never a pass.
        let valid_key = Sm2SecretKey::from_bytes(&[0x33; 32]).unwrap().public_key();
        if let Ok(sig) = &parsed_sig {
            prop_assert!(verify(&valid_key, DEFAULT_USER_ID, &msg, sig).is_err());
            prop_assert!(verify_prehash(&valid_key, &msg, sig).is_err());
        }
    }

    #[test]
    fn sign_with_k_round_trips_and_rejects_changes(
        d in any::<[u8; 32]>(),
        k in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..128),
        bit in 0usize..512,
    ) {
        // Out-of-range d or k (probability ~2^-32 for random bytes) are rejected, never panic.
        let Ok(key) = Sm2SecretKey::from_bytes(&d) else { return Ok(()) };
        let public = key.public_key();
        let e = message_digest(&public, DEFAULT_USER_ID, &msg).unwrap();
        let Ok(sig) = sign_digest_with_k(&key, &e, &k) else { return Ok(()) };
        prop_assert_eq!(verify(&public, DEFAULT_USER_ID, &msg, &sig), Ok(()));
        prop_assert_eq!(Sm2PublicKey::from_bytes(&public.to_sec1_bytes()).unwrap(), public);
        if let Ok(bad) = Sm2Signature::from_bytes(&flip(&sig.to_bytes(), bit)) {
            prop_assert_eq!(verify_digest(&public, &e, &bad), Err(Error::Sm2VerificationFailed));
        }
    }
}

fn sig_bytes_of(sig: &Sm2Signature) -> Vec<u8> {
    let mut v = sig.r().to_vec();
    v.extend_from_slice(sig.s());
    v
}
