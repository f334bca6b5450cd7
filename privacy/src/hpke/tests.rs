//! RFC 9180 Appendix A test vectors, every intermediate value (the integration tests repeat the
//! run through the public API only). Source: ../shared/vectors/hpke/SOURCE.txt (the HPKE
//! specification's test-vectors.json at commit 5f503c5, filtered to X25519/HKDF-SHA256/AES-GCM).

#![allow(clippy::unwrap_used)]

use rand_core::{CryptoRng, RngCore};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use super::*;

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
    key_schedule_context: String,
    secret: String,
    key: String,
    base_nonce: String,
    exporter_secret: String,
    encryptions: Vec<Encryption>,
    exports: Vec<Export>,
}

#[derive(Deserialize)]
struct Encryption {
    aad: String,
    ct: String,
    nonce: String,
    pt: String,
}

#[derive(Deserialize)]
struct Export {
    exporter_context: String,
    #[serde(rename = "L")]
    len: usize,
    exported_value: String,
}

/// An RNG that returns fixed bytes: replays ikmE so Encap draws the published ephemeral key.
pub(crate) struct Replay(pub(crate) Vec<u8>);

impl RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(dest.len() <= self.0.len(), "replay RNG exhausted");
        let rest = self.0.split_off(dest.len());
        dest.copy_from_slice(&self.0);
        self.0 = rest;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Replay {}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/hpke/rfc9180-x25519-sha256-aesgcm.json"
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn rfc9180_vectors_every_intermediate() {
    let all = vectors();
    assert_eq!(all.len(), 8, "four modes x two AEADs");
    let mut seen = std::collections::BTreeSet::new();
    for v in &all {
        let aead = Aead::from_id(v.aead_id).unwrap();
        let mode = [Mode::Base, Mode::Psk, Mode::Auth, Mode::AuthPsk][usize::from(v.mode)];
        seen.insert((v.mode, v.aead_id));

        // DeriveKeyPair.
        let sk_r = kem::derive_key_pair(&h(&v.ikm_r));
        assert_eq!(hex::encode(sk_r.secret_bytes()), v.sk_rm);
        assert_eq!(sk_r.public_key().to_hex(), v.pk_rm);
        let sk_e = kem::derive_key_pair(&h(&v.ikm_e));
        assert_eq!(hex::encode(sk_e.secret_bytes()), v.sk_em);
        assert_eq!(sk_e.public_key().to_hex(), v.pk_em);
        let sk_s = v.ikm_s.as_ref().map(|ikm| kem::derive_key_pair(&h(ikm)));
        if let Some(sk_s) = &sk_s {
            assert_eq!(Some(hex::encode(sk_s.secret_bytes())), v.sk_sm);
            assert_eq!(Some(sk_s.public_key().to_hex()), v.pk_sm);
        }

        // Encap / AuthEncap with the replayed ephemeral ikm, and Decap / AuthDecap.
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
        assert!(bool::from(ss.ct_eq(&ss_r)));

        // Key schedule.
        let psk_bytes = v.psk.as_deref().map(h);
        let psk_id_bytes = v.psk_id.as_deref().map(h);
        let psk = match (&psk_bytes, &psk_id_bytes) {
            (Some(psk), Some(psk_id)) => Some(Psk { psk, psk_id }),
            _ => None,
        };
        let info = h(&v.info);
        let s = schedule(aead, mode, &ss, &info, psk).unwrap();
        assert_eq!(hex::encode(&s.key_schedule_context), v.key_schedule_context);
        assert_eq!(hex::encode(&s.secret[..]), v.secret);
        assert_eq!(hex::encode(&s.key[..]), v.key);
        assert_eq!(hex::encode(s.base_nonce), v.base_nonce);
        assert_eq!(hex::encode(&s.exporter_secret[..]), v.exporter_secret);

        // Every encryption: nonce, ciphertext, and decryption, in sequence.
        let mut sender = SenderContext(key_schedule(aead, mode, &ss, &info, psk).unwrap());
        let mut receiver = ReceiverContext(key_schedule(aead, mode, &ss_r, &info, psk).unwrap());
        for (seq, e) in v.encryptions.iter().enumerate() {
            assert_eq!(sender.sequence(), seq as u64);
            assert_eq!(hex::encode(sender.0.nonce()), e.nonce, "seq {seq}");
            let ct = sender.seal(&h(&e.aad), &h(&e.pt)).unwrap();
            assert_eq!(hex::encode(&ct), e.ct, "mode {} seq {seq}", v.mode);
            assert_eq!(receiver.open(&h(&e.aad), &ct).unwrap(), h(&e.pt));
        }
        for x in &v.exports {
            let out = sender.export(&h(&x.exporter_context), x.len).unwrap();
            assert_eq!(hex::encode(&out), x.exported_value);
            assert_eq!(
                receiver.export(&h(&x.exporter_context), x.len).unwrap(),
                out
            );
        }
    }
    assert_eq!(seen.len(), 8, "every (mode, aead) pair once");
}

#[test]
fn psk_inputs_are_verified() {
    let ss = kem::decap(
        &EncappedKey(*kem::derive_key_pair(b"e").public_key().as_bytes()),
        &kem::derive_key_pair(b"r"),
    )
    .unwrap();
    let psk = Psk {
        psk: &[1; 32],
        psk_id: b"id",
    };
    for (mode, psk) in [
        (Mode::Base, Some(psk)),
        (Mode::Auth, Some(psk)),
        (Mode::Psk, None),
        (Mode::AuthPsk, None),
        (
            Mode::Psk,
            Some(Psk {
                psk: &[1; 32],
                psk_id: b"",
            }),
        ),
    ] {
        assert!(matches!(
            schedule(Aead::Aes256Gcm, mode, &ss, b"", psk),
            Err(Error::PskInputs { .. })
        ));
    }
}

/// T42 (c): a context driven to the end of its sequence refuses to seal rather than wrap.
#[test]
fn sequence_number_never_wraps() {
    let r = kem::derive_key_pair(b"recipient");
    let (enc, mut sender) = setup_base_sender(
        Aead::Aes256Gcm,
        r.public_key(),
        b"info",
        &mut rand_core::OsRng,
    )
    .unwrap();
    let mut receiver = setup_base_receiver(Aead::Aes256Gcm, &enc, &r, b"info").unwrap();
    sender.0.seq = u64::MAX - 1;
    receiver.0.seq = u64::MAX - 1;
    let ct = sender.seal(b"", b"last").unwrap();
    assert_eq!(receiver.open(b"", &ct).unwrap(), b"last");
    assert!(matches!(
        sender.seal(b"", b"one too many"),
        Err(Error::NonceExhausted { .. })
    ));
    assert!(matches!(
        receiver.open(b"", &ct),
        Err(Error::NonceExhausted { .. })
    ));
}

#[test]
fn failed_open_does_not_advance_the_sequence() {
    let r = kem::derive_key_pair(b"recipient");
    let (enc, mut sender) =
        setup_base_sender(Aead::Aes128Gcm, r.public_key(), b"", &mut rand_core::OsRng).unwrap();
    let mut receiver = setup_base_receiver(Aead::Aes128Gcm, &enc, &r, b"").unwrap();
    let mut ct = sender.seal(b"a", b"hello").unwrap();
    ct[0] ^= 1;
    assert!(matches!(receiver.open(b"a", &ct), Err(Error::AeadOpen)));
    assert_eq!(receiver.sequence(), 0);
    ct[0] ^= 1;
    assert_eq!(receiver.open(b"a", &ct).unwrap(), b"hello");
}
