//! (b) The draft-shen-sm2-ecdsa-02 example on its 256-bit TEST curve, which the `sm2` crate
//! cannot do, checked with the test-only reference arithmetic of `reference.rs`; and that
//! reference itself validated on sm2p256v1 against GB/T 32918.5 Annex A and the production code.

use causeway_proofs::Hash32;
use causeway_proofs::sm::sm2::{Sm2SecretKey, message_digest, sign_digest_with_k, verify, za};
use num_bigint::BigUint;
use serde_json::Value;

use super::reference::{RefCurve, be32, big};
use super::{ascii, example, hex32, vectors};

/// What the reference arithmetic derives for one example.
struct RefOutputs {
    /// Public key x ‖ y.
    public: [u8; 64],
    z: [u8; 32],
    e: [u8; 32],
    r: [u8; 32],
    s: [u8; 32],
}

/// Runs one JSON sign example through the reference arithmetic, asserting each derived value
/// against the JSON.
fn reference_run(ex: &Value) -> RefOutputs {
    let curve = RefCurve::from_json(&ex["curve"]);
    let d = big(ex["private_key"].as_str().unwrap());
    let public = curve.mul(&d, curve.generator());
    assert!(curve.is_on_curve(&public));
    let (px, py) = public.clone().unwrap();
    assert_eq!(be32(&px), hex32(&ex["public_key_x_derived"]));
    assert_eq!(be32(&py), hex32(&ex["public_key_y_derived"]));

    let user_id = ascii(&ex["user_id_ascii"]);
    let msg = ascii(&ex["message_ascii"]);
    let z = curve.za(user_id, &public);
    assert_eq!(z, hex32(&ex["Z_derived"]));
    let e = curve.message_digest(user_id, &public, msg);
    assert_eq!(e, hex32(&ex["e_derived"]));

    let (r, s) = curve.sign(&d, &e, &big(ex["k"].as_str().unwrap()));
    assert_eq!(be32(&r), hex32(&ex["r"]), "published r");
    assert_eq!(be32(&s), hex32(&ex["s"]), "published s");
    assert!(curve.verify(&public, &e, &r, &s));
    assert!(!curve.verify(&public, &e, &(&r + 1u8), &s));
    assert!(!curve.verify(&public, &e, &r, &(&s + 1u8)));
    let mut bad_e = e;
    bad_e[31] ^= 1;
    assert!(!curve.verify(&public, &bad_e, &r, &s));

    let mut xy = [0u8; 64];
    xy[..32].copy_from_slice(&be32(&px));
    xy[32..].copy_from_slice(&be32(&py));
    RefOutputs {
        public: xy,
        z,
        e,
        r: be32(&r),
        s: be32(&s),
    }
}

#[test]
fn draft_shen_example_on_its_test_curve() {
    // draft-shen-sm2-ecdsa-02 example (ID ALICE123@YAHOO.COM, M "message digest"): published
    // d, k, r = 40F1EC59…, s = 6FC6DAC3… (OpenSSL sm2_internal_test.c); public key, Z = F4A38489…
    // and e = B524F552… from the JSON's *_derived fields.
    let all = vectors();
    let ex = example(&all, "draft-shen-sm2-ecdsa-02");
    assert_ne!(
        ex["curve"]["p"],
        example(&all, "GM/T 0003.5-2012")["curve"]["p"],
        "a different curve from sm2p256v1"
    );
    reference_run(ex);
}

#[test]
fn reference_arithmetic_agrees_with_production_on_sm2p256v1() {
    // The helper that checks draft-shen is validated on the Annex A example (published values)
    // and against the production code.
    let all = vectors();
    let ex = example(&all, "GM/T 0003.5-2012");
    let RefOutputs {
        public: xy,
        z,
        e,
        r,
        s,
    } = reference_run(ex);

    let key = Sm2SecretKey::from_bytes(&hex32(&ex["private_key"])).unwrap();
    let public = key.public_key();
    assert_eq!(public.to_bytes(), xy);
    let user_id = ascii(&ex["user_id_ascii"]);
    assert_eq!(za(&public, user_id).unwrap().0, z);
    assert_eq!(
        message_digest(&public, user_id, ascii(&ex["message_ascii"]))
            .unwrap()
            .0,
        e
    );
    let sig = sign_digest_with_k(&key, &Hash32(e), &hex32(&ex["k"])).unwrap();
    assert_eq!((*sig.r(), *sig.s()), (r, s));

    // And on a few more keys, nonces and identities (fixed, so the test is reproducible).
    let curve = RefCurve::from_json(&ex["curve"]);
    for i in 1u8..=4 {
        let d = [i.wrapping_mul(0x3b); 32];
        let k = [i.wrapping_mul(0x95) ^ 0x5a; 32];
        let id = vec![b'a' + i; usize::from(i) * 7];
        let msg = vec![i; usize::from(i) * 50];
        let key = Sm2SecretKey::from_bytes(&d).unwrap();
        let ours_e = message_digest(&key.public_key(), &id, &msg).unwrap();
        let ours = sign_digest_with_k(&key, &ours_e, &k).unwrap();

        let ref_public = curve.mul(&BigUint::from_bytes_be(&d), curve.generator());
        let (px, py) = ref_public.clone().unwrap();
        assert_eq!(key.public_key().to_bytes()[..32], be32(&px));
        assert_eq!(key.public_key().to_bytes()[32..], be32(&py));
        let ref_e = curve.message_digest(&id, &ref_public, &msg);
        assert_eq!(ours_e.0, ref_e, "e, case {i}");
        let (ref_r, ref_s) = curve.sign(
            &BigUint::from_bytes_be(&d),
            &ref_e,
            &BigUint::from_bytes_be(&k),
        );
        assert_eq!(ours.r(), &be32(&ref_r), "r, case {i}");
        assert_eq!(ours.s(), &be32(&ref_s), "s, case {i}");
        assert_eq!(verify(&key.public_key(), &id, &msg, &ours), Ok(()));
    }
    assert!(curve.order() > &BigUint::ZERO);
}
