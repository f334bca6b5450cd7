//! Keys: text forms, key ids, key files, low-order refusal (T43).

use std::os::unix::fs::PermissionsExt as _;

use base64::Engine as _;
use causeway_privacy::Error;
use causeway_privacy::hpke::{EncappedKey, kem};
use causeway_privacy::keys::{KeyId, KeyPair, PublicKey};
use sha2::{Digest as _, Sha256};

use crate::support::h;

/// T43's list of small-order u-coordinates (RFC 7748 §6.1 discussion; the libsodium and
/// curve25519-dalek blocklists): 0, 1, the two order-8 points, p-1, p, p+1.
const LOW_ORDER: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

fn low_order_points() -> Vec<[u8; 32]> {
    let mut all = Vec::new();
    for hex in LOW_ORDER {
        let p: [u8; 32] = h(hex).try_into().unwrap();
        all.push(p);
        let mut high = p;
        high[31] |= 0x80; // the same with bit 255 set
        all.push(high);
    }
    all
}

#[test]
fn low_order_points_are_refused_at_registration_and_in_decap() {
    let me = KeyPair::from_secret_bytes([3; 32]);
    for p in low_order_points() {
        assert!(
            matches!(
                PublicKey::from_bytes(p),
                Err(Error::LowOrderPublicKey { .. })
            ),
            "{}",
            hex::encode(p)
        );
        assert!(matches!(
            hex::encode(p).parse::<PublicKey>(),
            Err(Error::LowOrderPublicKey { .. })
        ));
        assert!(matches!(
            me.diffie_hellman(&p),
            Err(Error::ZeroSharedSecret)
        ));
        assert!(matches!(
            kem::decap(&EncappedKey(p), &me),
            Err(Error::ZeroSharedSecret)
        ));
    }
}

#[test]
fn wrong_lengths_are_refused() {
    for len in [0, 31, 33, 64] {
        assert!(matches!(
            PublicKey::from_slice(&vec![9u8; len]),
            Err(Error::InvalidKeyLength { expected: 32, actual, .. }) if actual == len
        ));
        assert!(matches!(
            EncappedKey::from_slice(&vec![9u8; len]),
            Err(Error::InvalidKeyLength { .. })
        ));
    }
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![9u8; n]);
    assert!(matches!(
        b64(31).parse::<PublicKey>(),
        Err(Error::PublicKeyEncoding { .. })
    ));
    assert!(matches!(
        b64(33).parse::<PublicKey>(),
        Err(Error::PublicKeyEncoding { .. })
    ));
    assert!(matches!(
        "09".repeat(31).parse::<PublicKey>(),
        Err(Error::PublicKeyEncoding { .. })
    ));
    assert!(matches!(
        "not a key!".parse::<PublicKey>(),
        Err(Error::PublicKeyEncoding { .. })
    ));
}

#[test]
fn non_canonical_encodings_are_refused() {
    let pk = *KeyPair::from_secret_bytes([1; 32]).public_key();
    let mut high = *pk.as_bytes();
    high[31] |= 0x80;
    assert!(matches!(
        PublicKey::from_bytes(high),
        Err(Error::NonCanonicalPublicKey { .. })
    ));
    // 2^255 - 19 + 9 (the base point's u plus p) reduces to 9: same point, other encoding.
    let nine_plus_p = h("f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    assert!(matches!(
        PublicKey::from_slice(&nine_plus_p),
        Err(Error::NonCanonicalPublicKey { .. })
    ));
}

#[test]
fn key_id_is_a_sha256_prefix_and_text_forms_parse() {
    // RFC 7748 §6.1: Alice's private key and public key.
    let alice = KeyPair::from_secret_bytes(
        h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
            .try_into()
            .unwrap(),
    );
    let pk_hex = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    assert_eq!(alice.public_key().to_hex(), pk_hex);
    let digest = Sha256::digest(h(pk_hex));
    assert_eq!(alice.key_id().as_bytes(), &digest[..16]);
    assert_eq!(alice.key_id().to_string(), hex::encode(&digest[..16]));
    assert_eq!(
        alice.key_id().to_string().parse::<KeyId>().unwrap(),
        alice.key_id()
    );

    let b64 = base64::engine::general_purpose::STANDARD.encode(h(pk_hex));
    for text in [
        pk_hex.to_owned(),
        format!("0x{pk_hex}"),
        b64.clone(),
        format!("  {b64}\n"),
    ] {
        assert_eq!(
            &text.parse::<PublicKey>().unwrap(),
            alice.public_key(),
            "{text:?}"
        );
    }
    assert_eq!(alice.public_key().to_string(), b64);
    let json = serde_json::to_string(alice.public_key()).unwrap();
    assert_eq!(
        serde_json::from_str::<PublicKey>(&json).unwrap(),
        *alice.public_key()
    );

    // RFC 7748 §6.1: the shared secret with Bob.
    let bob_pk = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    assert_eq!(
        hex::encode(*alice.diffie_hellman(&bob_pk.try_into().unwrap()).unwrap()),
        "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    );
}

#[test]
fn key_files_round_trip_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("privacy.key");
    let key = KeyPair::generate();
    key.write_to_file(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let read = KeyPair::read_from_file(&path).unwrap();
    assert_eq!(read.public_key(), key.public_key());
    assert_eq!(read.key_id(), key.key_id());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&key.key_id().to_string()));
    // Never overwritten.
    assert!(matches!(
        key.write_to_file(&path),
        Err(Error::KeyFileIo {
            action: "create",
            ..
        })
    ));
}

#[test]
fn readable_key_files_are_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open.key");
    KeyPair::generate().write_to_file(&path).unwrap();
    for mode in [0o640, 0o604, 0o644] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = KeyPair::read_from_file(&path).unwrap_err();
        assert!(matches!(err, Error::KeyFilePermissions { mode: m, .. } if m == mode));
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    KeyPair::read_from_file(&path).unwrap();
}

#[test]
fn malformed_key_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    };
    let good_b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let cases = [
        ("empty", String::new()),
        ("comments", "# only a comment\n".to_owned()),
        ("prefix", format!("wrong-prefix:{good_b64}\n")),
        ("b64", "causeway-x25519-secret-key-v1:!!!\n".to_owned()),
        (
            "short",
            format!(
                "causeway-x25519-secret-key-v1:{}\n",
                base64::engine::general_purpose::STANDARD.encode([7u8; 31])
            ),
        ),
        (
            "two",
            format!(
                "causeway-x25519-secret-key-v1:{good_b64}\ncauseway-x25519-secret-key-v1:{good_b64}\n"
            ),
        ),
        ("big", "#".repeat(5000)),
    ];
    for (name, body) in cases {
        let p = write(name, &body);
        assert!(
            matches!(
                KeyPair::read_from_file(&p),
                Err(Error::KeyFileFormat { .. })
            ),
            "{name}"
        );
    }
    let p = write(
        "ok",
        &format!("\n# hand-written\ncauseway-x25519-secret-key-v1:{good_b64}\n"),
    );
    assert_eq!(
        KeyPair::read_from_file(&p).unwrap().public_key(),
        KeyPair::from_secret_bytes([7; 32]).public_key()
    );
    assert!(matches!(
        KeyPair::read_from_file(&dir.path().join("missing")),
        Err(Error::KeyFileIo { action: "open", .. })
    ));
}

#[test]
fn debug_never_shows_the_secret() {
    let secret = [0x3cu8; 32];
    let k = KeyPair::from_secret_bytes(secret);
    let shown = format!("{k:?} {k:#?}");
    assert!(!shown.contains(&hex::encode(secret)));
    assert!(!shown.contains(&base64::engine::general_purpose::STANDARD.encode(secret)));
    assert!(shown.contains(&k.key_id().to_string()));
}

/// XEdDSA differential: a signature by an X25519 privacy key is an RFC 8032 Ed25519 signature
/// under the key's Edwards form (sign bit 0), as the XEdDSA specification defines it; ring's
/// Ed25519 verifier, written independently, accepts it, and refuses it on another message.
#[test]
fn xeddsa_signatures_are_ed25519_signatures_under_the_converted_key() {
    use ring::signature::{ED25519, UnparsedPublicKey};
    let mut rng = rand_core::OsRng;
    for seed in 1u8..=32 {
        let kp = KeyPair::from_secret_bytes([seed.wrapping_mul(37); 32]);
        let edwards = curve25519_dalek::montgomery::MontgomeryPoint(*kp.public_key().as_bytes())
            .to_edwards(0)
            .unwrap()
            .compress();
        let message = [b"causeway grant ".as_slice(), &[seed]].concat();
        let sig = kp.sign(&message, &mut rng);
        let ring_key = UnparsedPublicKey::new(&ED25519, edwards.as_bytes());
        ring_key.verify(&message, &sig.0).unwrap();
        assert!(ring_key.verify(b"another message", &sig.0).is_err());
        kp.public_key().verify(&message, &sig).unwrap();
    }
}

/// A key file larger than any key file is refused from its size, before a byte is read: a
/// sparse 1 GiB file answers at once.
#[test]
fn oversized_key_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.key");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(1 << 30).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let started = std::time::Instant::now();
    let e = KeyPair::read_from_file(&path).unwrap_err();
    assert!(
        matches!(&e, Error::KeyFileFormat { reason, .. } if reason.contains("1073741824 bytes")),
        "{e}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
