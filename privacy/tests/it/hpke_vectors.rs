//! HPKE through the public API: tampered inputs, fresh randomness, unknown AEADs. The RFC 9180
//! Appendix A vectors run once, in the unit tests (src/hpke/tests.rs), which check every
//! intermediate value as well as DeriveKeyPair, Encap/Decap, the four Setup pairs, every
//! Seal/Open in sequence and every Export.

use causeway_privacy::Error;
use causeway_privacy::hpke::{self, Aead, EncappedKey, kem};

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
