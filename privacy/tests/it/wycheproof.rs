//! Project Wycheproof vectors (github.com/C2SP/wycheproof @ dac1dd47, Apache-2.0; see
//! ../shared/vectors/wycheproof/SOURCE.txt): X25519 and AES-GCM.
//!
//! X25519 decision (../shared/vectors/README.md): an all-zero shared secret is refused, so the
//! "acceptable" LowOrderPublic / ZeroSharedSecret cases are expected errors here, and such
//! public keys are refused at registration too.

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U1, U2, U4, U6, U8, U10, U12, U15, U16, U20, U32, U64, U128, U257};
use aes_gcm::aead::generic_array::ArrayLength;
use aes_gcm::aead::{Aead as _, KeyInit, Payload};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use causeway_privacy::Error;
use causeway_privacy::hpke::{Aead, AeadKey};
use causeway_privacy::keys::{KeyPair, PublicKey};
use serde::Deserialize;

use crate::support::{h, vector_path};

#[derive(Deserialize)]
struct File<G> {
    #[serde(rename = "numberOfTests")]
    number_of_tests: usize,
    #[serde(rename = "testGroups")]
    groups: Vec<G>,
}

#[derive(Deserialize)]
struct XdhGroup {
    tests: Vec<XdhTest>,
}

#[derive(Deserialize)]
struct XdhTest {
    #[serde(rename = "tcId")]
    id: u32,
    flags: Vec<String>,
    public: String,
    private: String,
    shared: String,
    result: String,
}

#[test]
fn x25519() {
    let file: File<XdhGroup> = serde_json::from_slice(
        &std::fs::read(vector_path("wycheproof/wycheproof_x25519_test.json")).unwrap(),
    )
    .unwrap();
    let (mut agreed, mut refused) = (0, 0);
    for t in file.groups.iter().flat_map(|g| &g.tests) {
        let sk = KeyPair::from_secret_bytes(h(&t.private).try_into().unwrap());
        let pk: [u8; 32] = h(&t.public).try_into().unwrap();
        let zero = t.shared == "00".repeat(32);
        assert!(
            t.result == "valid" || t.result == "acceptable",
            "tc {}",
            t.id
        );
        if zero {
            // Every all-zero case is flagged low order; refused at DH and at registration.
            assert!(t.flags.iter().any(|f| f == "LowOrderPublic"), "tc {}", t.id);
            assert!(
                matches!(sk.diffie_hellman(&pk), Err(Error::ZeroSharedSecret)),
                "tc {}",
                t.id
            );
            assert!(
                matches!(
                    PublicKey::from_bytes(pk),
                    Err(Error::LowOrderPublicKey { .. })
                ),
                "tc {}",
                t.id
            );
            refused += 1;
        } else {
            // Includes NonCanonicalPublic (bit 255 masked, value reduced) and twist points.
            assert_eq!(
                hex::encode(*sk.diffie_hellman(&pk).unwrap()),
                t.shared,
                "tc {}",
                t.id
            );
            match PublicKey::from_bytes(pk) {
                Ok(p) => assert_eq!(p.as_bytes(), &pk),
                Err(Error::NonCanonicalPublicKey { .. }) => {
                    assert!(
                        t.flags.iter().any(|f| f == "NonCanonicalPublic"),
                        "tc {}",
                        t.id
                    )
                }
                Err(e) => panic!("tc {}: {e}", t.id),
            }
            agreed += 1;
        }
    }
    assert_eq!(file.number_of_tests, 518);
    assert_eq!((agreed, refused), (487, 31));
}

#[derive(Deserialize)]
struct GcmGroup {
    #[serde(rename = "ivSize")]
    iv_size: usize,
    #[serde(rename = "keySize")]
    key_size: usize,
    #[serde(rename = "tagSize")]
    tag_size: usize,
    tests: Vec<GcmTest>,
}

#[derive(Deserialize)]
struct GcmTest {
    #[serde(rename = "tcId")]
    id: u32,
    key: String,
    iv: String,
    aad: String,
    msg: String,
    ct: String,
    tag: String,
    result: String,
}

/// Seal and open with aes-gcm's generic `AesGcm` for cipher `C` and nonce size `N`.
fn generic<C, N>(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    msg: &[u8],
    ct_tag: &[u8],
) -> (Vec<u8>, Option<Vec<u8>>)
where
    AesGcm<C, N>: KeyInit + aes_gcm::aead::Aead,
    N: ArrayLength<u8>,
{
    let c = AesGcm::<C, N>::new_from_slice(key).unwrap();
    let nonce = <&aes_gcm::aead::Nonce<AesGcm<C, N>>>::from(iv);
    let sealed = c.encrypt(nonce, Payload { msg, aad }).unwrap();
    let opened = c.decrypt(nonce, Payload { msg: ct_tag, aad }).ok();
    (sealed, opened)
}

macro_rules! by_iv_len {
    ($c:ty, $iv_len:expr, $($args:expr),*) => {
        match $iv_len {
            1 => generic::<$c, U1>($($args),*),
            2 => generic::<$c, U2>($($args),*),
            4 => generic::<$c, U4>($($args),*),
            6 => generic::<$c, U6>($($args),*),
            8 => generic::<$c, U8>($($args),*),
            10 => generic::<$c, U10>($($args),*),
            12 => generic::<$c, U12>($($args),*),
            15 => generic::<$c, U15>($($args),*),
            16 => generic::<$c, U16>($($args),*),
            20 => generic::<$c, U20>($($args),*),
            32 => generic::<$c, U32>($($args),*),
            64 => generic::<$c, U64>($($args),*),
            128 => generic::<$c, U128>($($args),*),
            257 => generic::<$c, U257>($($args),*),
            other => panic!("no nonce type for {other}-byte IVs"),
        }
    };
}

#[test]
fn aes_gcm() {
    let file: File<GcmGroup> = serde_json::from_slice(
        &std::fs::read(vector_path("wycheproof/wycheproof_aes_gcm_test.json")).unwrap(),
    )
    .unwrap();
    let (mut valid, mut invalid, mut through_hpke, mut empty_iv_refused) = (0, 0, 0, 0);
    let skipped = 0; // every group runs: no IV size is left out
    for g in &file.groups {
        assert_eq!(g.tag_size, 128);
        for t in &g.tests {
            let (key, iv, aad, msg) = (h(&t.key), h(&t.iv), h(&t.aad), h(&t.msg));
            let ct_tag = [h(&t.ct), h(&t.tag)].concat();
            assert_eq!(iv.len() * 8, g.iv_size);
            let ok = t.result == "valid";
            assert!(ok || t.result == "invalid", "tc {}", t.id);
            if iv.is_empty() {
                // NIST SP 800-38D requires a non-empty IV; Wycheproof marks these invalid and
                // nothing here accepts one (HPKE and envelopes use fixed 12-byte nonces).
                assert!(!ok, "tc {}", t.id);
                empty_iv_refused += 1;
                invalid += 1;
                continue;
            }
            let (sealed, opened) = match g.key_size {
                128 => by_iv_len!(Aes128, iv.len(), &key, &iv, &aad, &msg, &ct_tag),
                192 => by_iv_len!(Aes192, iv.len(), &key, &iv, &aad, &msg, &ct_tag),
                256 => by_iv_len!(Aes256, iv.len(), &key, &iv, &aad, &msg, &ct_tag),
                other => panic!("key size {other}"),
            };
            if ok {
                assert_eq!(sealed, ct_tag, "tc {}", t.id);
                assert_eq!(opened.as_deref(), Some(&msg[..]), "tc {}", t.id);
                valid += 1;
            } else {
                assert_eq!(opened, None, "tc {}", t.id);
                invalid += 1;
            }
            // The same case through this crate's own AEAD wrapper where it applies.
            let aead = match g.key_size {
                128 => Some(Aead::Aes128Gcm),
                256 => Some(Aead::Aes256Gcm),
                _ => None,
            };
            if let (Some(aead), Ok(nonce)) = (aead, <[u8; 12]>::try_from(&iv[..])) {
                let k = AeadKey::new(aead, &key).unwrap();
                if ok {
                    assert_eq!(k.seal(&nonce, &aad, &msg).unwrap(), ct_tag, "tc {}", t.id);
                    assert_eq!(k.open(&nonce, &aad, &ct_tag).unwrap(), msg, "tc {}", t.id);
                } else {
                    assert!(matches!(
                        k.open(&nonce, &aad, &ct_tag),
                        Err(Error::AeadOpen)
                    ));
                }
                through_hpke += 1;
            }
        }
    }
    assert_eq!(file.number_of_tests, 316);
    assert_eq!((valid, invalid, skipped), (229, 87, 0));
    assert_eq!(empty_iv_refused, 6);
    assert!(
        through_hpke > 100,
        "{through_hpke} cases ran through AeadKey"
    );
}

#[test]
fn aead_key_length_is_checked() {
    assert!(matches!(
        AeadKey::new(Aead::Aes256Gcm, &[0; 16]),
        Err(Error::InvalidKeyLength {
            expected: 32,
            actual: 16,
            ..
        })
    ));
}
