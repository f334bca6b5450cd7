//! (c) OpenSSL's `evppkey_sm2.txt` (shared/vectors/sm/openssl_evppkey_sm2.txt, verbatim from
//! openssl@0ca8e7dd, Apache-2.0): its three prehashed `Verify` stanzas for `SM2_key1`, whose key
//! is reconstructed from the file's own PEM and compared with sm2_signature_vectors.json.

use causeway_proofs::sm::sm2::{
    Sm2PublicKey, Sm2SecretKey, Sm2Signature, verify_digest, verify_prehash,
};
use causeway_proofs::{Error, Hash32};

use super::{flip, hex32, vectors};
use crate::vectors::read_vector;

/// One `Key = value` stanza of an OpenSSL evp test file, with its PEM lines if any.
#[derive(Debug, Default)]
struct Stanza {
    line: usize,
    fields: Vec<(String, String)>,
    pem: Vec<String>,
}

impl Stanza {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the evp test format: blank-line separated stanzas of `Key = value` lines, `#`
/// comments, and PEM blocks (`-----BEGIN` … `-----END`) inside `PrivateKey` stanzas.
fn parse_stanzas(text: &str) -> Vec<Stanza> {
    let mut out = Vec::new();
    let mut current = Stanza::default();
    let mut in_pem = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if in_pem || line.starts_with("-----BEGIN") {
            in_pem = !line.starts_with("-----END");
            current.pem.push(line.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if !current.fields.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: no '='", n + 1));
        if current.fields.is_empty() {
            current.line = n + 1;
        }
        current
            .fields
            .push((k.trim().to_owned(), v.trim().to_owned()));
    }
    if !current.fields.is_empty() {
        out.push(current);
    }
    out
}

/// Standard base64 (RFC 4648 §4), enough for one PEM body.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap();
        bits = (bits << 6) | u32::try_from(v).unwrap();
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push(u8::try_from((bits >> nbits) & 0xff).unwrap());
        }
    }
    out
}

/// The bytes right after the first occurrence of `marker` in `der`.
fn after<'a>(der: &'a [u8], marker: &[u8], len: usize) -> &'a [u8] {
    let at = der
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap_or_else(|| panic!("marker {} not found", hex::encode(marker)));
    &der[at + marker.len()..at + marker.len() + len]
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` → (r, s) as 32-byte big-endian values.
fn parse_der_signature(der: &[u8]) -> ([u8; 32], [u8; 32]) {
    assert_eq!(der[0], 0x30, "SEQUENCE");
    assert_eq!(usize::from(der[1]), der.len() - 2, "short-form length");
    let mut rest = &der[2..];
    let mut ints = Vec::new();
    for _ in 0..2 {
        assert_eq!(rest[0], 0x02, "INTEGER");
        let len = usize::from(rest[1]);
        let mut value = &rest[2..2 + len];
        if value.len() == 33 {
            assert_eq!(value[0], 0, "only a sign byte may make it 33 bytes");
            value = &value[1..];
        }
        let mut fixed = [0u8; 32];
        fixed[32 - value.len()..].copy_from_slice(value);
        ints.push(fixed);
        rest = &rest[2 + len..];
    }
    assert!(rest.is_empty(), "nothing after s");
    (ints[0], ints[1])
}

#[test]
fn openssl_prehashed_verify_cases() {
    let stanzas = parse_stanzas(&read_vector("sm/openssl_evppkey_sm2.txt"));

    // SM2_key1: PKCS#8 with the SM2 curve OID 1.2.156.10197.1.301; its ECPrivateKey holds d
    // (after 02 01 01 04 20) and the public key (after 03 42 00 04).
    let key_stanza = stanzas
        .iter()
        .find(|s| s.get("PrivateKey") == Some("SM2_key1"))
        .unwrap();
    let body: String = key_stanza.pem[1..key_stanza.pem.len() - 1].concat();
    let der = base64_decode(&body);
    after(
        &der,
        &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d],
        0,
    );
    let d: [u8; 32] = after(&der, &[0x02, 0x01, 0x01, 0x04, 0x20], 32)
        .try_into()
        .unwrap();
    let embedded = Sm2PublicKey::from_bytes(after(&der, &[0x03, 0x42, 0x00], 65)).unwrap();
    let key = Sm2SecretKey::from_bytes(&d).unwrap();
    assert_eq!(key.public_key(), embedded, "d·G is the embedded public key");

    // The JSON's extracted public key (sm2_signature_vectors.json) is the same key.
    let all = vectors();
    let json_cases = all["openssl_evppkey_sm2_verify_prehashed"]["cases"]
        .as_array()
        .unwrap();
    for case in json_cases {
        let mut xy = hex32(&case["public_key_x"]).to_vec();
        xy.extend_from_slice(&hex32(&case["public_key_y"]));
        assert_eq!(Sm2PublicKey::from_bytes(&xy).unwrap(), embedded);
    }

    let verify_stanzas: Vec<&Stanza> = stanzas
        .iter()
        .filter(|s| s.get("Verify").is_some())
        .collect();
    // evppkey_sm2.txt has three Verify stanzas, all expected to succeed (no `Result =` line).
    assert_eq!(verify_stanzas.len(), 3);
    assert_eq!(json_cases.len(), 3);
    for (stanza, case) in verify_stanzas.iter().zip(json_cases) {
        assert_eq!(
            stanza.get("Verify"),
            Some("SM2_key1"),
            "line {}",
            stanza.line
        );
        assert_eq!(stanza.get("Result"), None, "line {}", stanza.line);
        let input = hex::decode(stanza.get("Input").unwrap()).unwrap();
        let output = hex::decode(stanza.get("Output").unwrap()).unwrap();
        // The JSON copies the same cases.
        assert_eq!(input, hex::decode(case["e_hex"].as_str().unwrap()).unwrap());
        assert_eq!(
            output,
            hex::decode(case["signature_der"].as_str().unwrap()).unwrap()
        );
        let ctrl = stanza.get("Ctrl").unwrap();
        assert_eq!(
            Some(ctrl),
            case["digest_ctrl"]
                .as_str()
                .map(|d| format!("digest:{d}"))
                .as_deref()
        );

        let (r, s) = parse_der_signature(&output);
        let sig = Sm2Signature::from_scalars(&r, &s).unwrap();
        assert_eq!(
            verify_prehash(&embedded, &input, &sig),
            Ok(()),
            "line {}",
            stanza.line
        );
        if input.len() == 32 {
            let e = Hash32(input.clone().try_into().unwrap());
            assert_eq!(
                verify_digest(&embedded, &e, &sig),
                Ok(()),
                "line {}",
                stanza.line
            );
        } else {
            // The SHA512 case: a 64-byte value, reduced mod n as OpenSSL does.
            assert_eq!(ctrl, "digest:SHA512");
            assert_eq!(input.len(), 64);
        }
        for bit in [0, 7, input.len() * 4, input.len() * 8 - 1] {
            assert_eq!(
                verify_prehash(&embedded, &flip(&input, bit), &sig),
                Err(Error::Sm2VerificationFailed),
                "line {}, input bit {bit}",
                stanza.line
            );
        }
    }
    // Not covered: the file's Decrypt stanzas (SM2 public-key encryption, not used by Causeway)
    // and its Sign stanza, which OpenSSL itself marks KEYOP_MISMATCH (a smoke test with a random
    // k, asserting nothing about the signature).
}
