//! RFC 9180 Appendix A vectors through the public API only: DeriveKeyPair, Encap/Decap,
//! AuthEncap/AuthDecap, the four Setup pairs, every Seal/Open in sequence, every Export.
//! Source: ../shared/vectors/hpke/SOURCE.txt (HPKE specification test-vectors.json, commit
//! 5f503c5 = RFC 9180, filtered to KEM 0x0020 / KDF 0x0001 / AEAD 0x0001, 0x0002).
//! (The unit tests in src/hpke/tests.rs also check key_schedule_context, secret, key,
//! base_nonce and exporter_secret, which the public API does not expose.)

use causeway_privacy::Error;
use causeway_privacy::hpke::{self, Aead, EncappedKey, Psk, kem};
use causeway_privacy::keys::KeyPair;
use serde::Deserialize;

use crate::support::{Replay, h, vector_path};

#[derive(Deserialize)]
struct Vector {
    mode: u8,
    aead_id: u16,
    info: String,
    #[serde(rename = "ikmR")]
    ikm_r: String,
    #[serde(rename = "ikmE")]
    ikm_e: String,
    #[serde(rename = "ikmS")]
    ikm_s: Option<String>,
    #[serde(rename = "skRm")]
    sk_rm: String,
    #[serde(rename = "pkRm")]
    pk_rm: String,
    #[serde(rename = "skEm")]
    sk_em: String,
    #[serde(rename = "pkEm")]
    pk_em: String,
    #[serde(rename = "skSm")]
    sk_sm: Option<String>,
    #[serde(rename = "pkSm")]
    pk_sm: Option<String>,
    psk: Option<String>,
    psk_id: Option<String>,
    enc: String,
    shared_secret: String,
    encryptions: Vec<Encryption>,
    exports: Vec<Export>,
}

#[derive(Deserialize)]
struct Encryption {
    aad: String,
    ct: String,
    pt: String,
}

#[derive(Deserialize)]
struct Export {
    exporter_context: String,
    #[serde(rename = "L")]
    len: usize,
    exported_value: String,
}

fn vectors() -> Vec<Vector> {
    let bytes = std::fs::read(vector_path("hpke/rfc9180-x25519-sha256-aesgcm.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A derived key pair equals the published one: same public key, and the same X25519 function
/// as the published private key (checked against a fixed peer).
fn assert_key(derived: &KeyPair, sk_hex: &str, pk_hex: &str) {
    assert_eq!(derived.public_key().to_hex(), pk_hex);
    let published = KeyPair::from_secret_bytes(h(sk_hex).try_into().unwrap());
    assert_eq!(published.public_key(), derived.public_key());
    let peer = [9u8; 32];
    assert_eq!(
        *derived.diffie_hellman(&peer).unwrap(),
        *published.diffie_hellman(&peer).unwrap()
    );
}

#[test]
fn all_eight_rfc9180_vectors() {
    let all = vectors();
    assert_eq!(all.len(), 8);
    let (mut encryptions, mut exports) = (0, 0);
    for v in &all {
        let aead = Aead::from_id(v.aead_id).unwrap();
        let sk_r = kem::derive_key_pair(&h(&v.ikm_r));
        assert_key(&sk_r, &v.sk_rm, &v.pk_rm);
        assert_key(&kem::derive_key_pair(&h(&v.ikm_e)), &v.sk_em, &v.pk_em);
        let sk_s = v.ikm_s.as_ref().map(|ikm| kem::derive_key_pair(&h(ikm)));
        if let Some(s) = &sk_s {
            assert_key(s, v.sk_sm.as_ref().unwrap(), v.pk_sm.as_ref().unwrap());
        }

        // The KEM alone.
        let mut rng = Replay(h(&v.ikm_e));
        let (ss, enc) = match &sk_s {
            None => kem::encap(sk_r.public_key(), &mut rng).unwrap(),
            Some(s) => kem::auth_encap(sk_r.public_key(), s, &mut rng).unwrap(),
        };
        assert_eq!(hex::encode(enc.as_bytes()), v.enc);
        assert_eq!(hex::encode(ss.as_bytes()), v.shared_secret);
        let ss_r = match &sk_s {
            None => kem::decap(&enc, &sk_r).unwrap(),
            Some(s) => kem::auth_decap(&enc, &sk_r, s.public_key()).unwrap(),
        };
        assert_eq!(hex::encode(ss_r.as_bytes()), v.shared_secret);

        // The Setup functions of the vector's mode.
        let info = h(&v.info);
        let (psk, psk_id) = (v.psk.as_deref().map(h), v.psk_id.as_deref().map(h));
        let psk = psk.as_ref().map(|psk| Psk {
            psk,
            psk_id: psk_id.as_ref().unwrap(),
        });
        let pk_r = sk_r.public_key();
        let mut rng = Replay(h(&v.ikm_e));
        let ((enc, mut sender), mut receiver) = match (v.mode, &sk_s, psk) {
            (0, None, None) => {
                let s = hpke::setup_base_sender(aead, pk_r, &info, &mut rng).unwrap();
                let r = hpke::setup_base_receiver(aead, &s.0, &sk_r, &info).unwrap();
                (s, r)
            }
            (1, None, Some(p)) => {
                let s = hpke::setup_psk_sender(aead, pk_r, &info, p, &mut rng).unwrap();
                let r = hpke::setup_psk_receiver(aead, &s.0, &sk_r, &info, p).unwrap();
                (s, r)
            }
            (2, Some(k), None) => {
                let s = hpke::setup_auth_sender(aead, pk_r, &info, k, &mut rng).unwrap();
                let r =
                    hpke::setup_auth_receiver(aead, &s.0, &sk_r, &info, k.public_key()).unwrap();
                (s, r)
            }
            (3, Some(k), Some(p)) => {
                let s = hpke::setup_auth_psk_sender(aead, pk_r, &info, p, k, &mut rng).unwrap();
                let r = hpke::setup_auth_psk_receiver(aead, &s.0, &sk_r, &info, p, k.public_key())
                    .unwrap();
                (s, r)
            }
            other => panic!("unexpected vector shape: mode {}", other.0),
        };
        assert_eq!(hex::encode(enc.as_bytes()), v.enc);
        for e in &v.encryptions {
            let ct = sender.seal(&h(&e.aad), &h(&e.pt)).unwrap();
            assert_eq!(hex::encode(&ct), e.ct);
            assert_eq!(receiver.open(&h(&e.aad), &h(&e.ct)).unwrap(), h(&e.pt));
            encryptions += 1;
        }
        for x in &v.exports {
            let ctx = h(&x.exporter_context);
            assert_eq!(
                hex::encode(sender.export(&ctx, x.len).unwrap()),
                x.exported_value
            );
            assert_eq!(
                hex::encode(receiver.export(&ctx, x.len).unwrap()),
                x.exported_value
            );
            exports += 1;
        }
    }
    assert_eq!((encryptions, exports), (8 * 257, 8 * 3));
}

/// Decryption with anything changed fails: aad, ciphertext, info, order.
#[test]
fn open_rejects_changes() {
    let r = kem::derive_key_pair(b"recipient ikm");
    let (enc, ct) = hpke::seal_base(
        Aead::Aes256Gcm,
        r.public_key(),
        b"info",
        b"aad",
        b"pt",
        &mut rand_core::OsRng,
    )
    .unwrap();
    let open = |enc: &EncappedKey, info: &[u8], aad: &[u8], ct: &[u8]| {
        hpke::open_base(Aead::Aes256Gcm, enc, &r, info, aad, ct)
    };
    assert_eq!(open(&enc, b"info", b"aad", &ct).unwrap(), b"pt");
    assert!(matches!(
        open(&enc, b"info", b"AAD", &ct),
        Err(Error::AeadOpen)
    ));
    assert!(matches!(
        open(&enc, b"INFO", b"aad", &ct),
        Err(Error::AeadOpen)
    ));
    let mut bad = ct.clone();
    bad[0] ^= 0x80;
    assert!(matches!(
        open(&enc, b"info", b"aad", &bad),
        Err(Error::AeadOpen)
    ));
    let mut other_enc = enc;
    other_enc.0[0] ^= 1;
    assert!(open(&other_enc, b"info", b"aad", &ct).is_err());
    // Wrong AEAD.
    assert!(hpke::open_base(Aead::Aes128Gcm, &enc, &r, b"info", b"aad", &ct).is_err());
    // Exports longer than 255 * 32 bytes are refused.
    let (_, sender) =
        hpke::setup_base_sender(Aead::Aes256Gcm, r.public_key(), b"", &mut rand_core::OsRng)
            .unwrap();
    assert!(matches!(
        sender.export(b"", 255 * 32 + 1),
        Err(Error::ExportTooLong { .. })
    ));
    assert_eq!(sender.export(b"", 255 * 32).unwrap().len(), 255 * 32);
}

/// T42 (a): sealing the same plaintext twice for the same recipient gives a fresh ephemeral
/// key and a different ciphertext.
#[test]
fn same_plaintext_twice_differs() {
    let r = kem::derive_key_pair(b"recipient ikm");
    let seal = || {
        hpke::seal_base(
            Aead::Aes256Gcm,
            r.public_key(),
            b"",
            b"",
            b"same",
            &mut rand_core::OsRng,
        )
        .unwrap()
    };
    let (e1, c1) = seal();
    let (e2, c2) = seal();
    assert_ne!(e1, e2);
    assert_ne!(c1, c2);
}

#[test]
fn unknown_aead_id() {
    assert!(matches!(
        Aead::from_id(3),
        Err(Error::UnsupportedAead { id: 3 })
    ));
}
