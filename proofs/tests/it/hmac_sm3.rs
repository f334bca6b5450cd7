//! HMAC-SM3 through `causeway_proofs::sm::hmac`, against Project Wycheproof's
//! `testvectors_v1/hmac_sm3_test.json` (C2SP/wycheproof @ dac1dd47, Apache-2.0; copied to
//! `shared/vectors/sm/wycheproof_hmac_sm3_test.json`, see its SOURCE.txt): every case of every
//! group. Valid cases must produce the exact (possibly truncated) tag and verify; invalid cases
//! (modified tags) must be rejected.
//!
//! Groups with tagSize 128 use tags truncated to 16 bytes; our API verifies those only through
//! `verify_hmac_sm3_truncated` with the length fixed by the caller, and the full-length
//! `verify_hmac_sm3` refuses them, which is asserted too.

#![allow(clippy::unwrap_used)]

use causeway_proofs::Error;
use causeway_proofs::sm::hmac::{
    HMAC_SM3_TAG_LEN, hmac_sm3, verify_hmac_sm3, verify_hmac_sm3_truncated,
};
use serde_json::Value;

use crate::vectors::read_vector;

#[derive(Debug, Default, PartialEq)]
struct Tally {
    valid: usize,
    invalid: usize,
    truncated: usize,
}

#[test]
fn every_wycheproof_hmac_sm3_case() {
    let file: Value =
        serde_json::from_str(&read_vector("sm/wycheproof_hmac_sm3_test.json")).unwrap();
    assert_eq!(file["algorithm"], "HMACSM3");
    let mut tally = Tally::default();
    for group in file["testGroups"].as_array().unwrap() {
        let tag_bits = usize::try_from(group["tagSize"].as_u64().unwrap()).unwrap();
        assert_eq!(tag_bits % 8, 0);
        let tag_len = tag_bits / 8;
        for case in group["tests"].as_array().unwrap() {
            let id = case["tcId"].as_u64().unwrap();
            let bytes = |name: &str| hex::decode(case[name].as_str().unwrap()).unwrap();
            let (key, msg, tag) = (bytes("key"), bytes("msg"), bytes("tag"));
            assert_eq!(tag.len(), tag_len, "tcId {id}");
            let computed = hmac_sm3(&key, &msg);
            let verdict = verify_hmac_sm3_truncated(&key, &msg, &tag, tag_len);
            match case["result"].as_str().unwrap() {
                "valid" => {
                    tally.valid += 1;
                    assert_eq!(computed.0[..tag_len], tag[..], "tcId {id}: tag");
                    assert_eq!(verdict, Ok(()), "tcId {id}");
                    if tag_len == HMAC_SM3_TAG_LEN {
                        assert_eq!(verify_hmac_sm3(&key, &msg, &tag), Ok(()), "tcId {id}");
                    } else {
                        // A valid truncated tag is still refused by the full-length verifier:
                        // the tag length is the verifier's parameter, not the sender's.
                        tally.truncated += 1;
                        assert_eq!(
                            verify_hmac_sm3(&key, &msg, &tag),
                            Err(Error::HmacTagLength {
                                expected: HMAC_SM3_TAG_LEN,
                                actual: tag_len
                            }),
                            "tcId {id}"
                        );
                    }
                }
                "invalid" => {
                    tally.invalid += 1;
                    assert_ne!(computed.0[..tag_len], tag[..], "tcId {id}");
                    assert_eq!(verdict, Err(Error::HmacMismatch), "tcId {id}");
                    assert!(verify_hmac_sm3(&key, &msg, &tag).is_err(), "tcId {id}");
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
        }
    }
    // The file declares 174 tests: 6 groups (tagSize 256 and 128 for 256-bit, 128-bit and
    // 520-bit keys); 66 valid (33 per tag size) and 108 modified tags (54 per tag size).
    assert_eq!(file["numberOfTests"], 174);
    assert_eq!(
        tally,
        Tally {
            valid: 66,
            invalid: 108,
            truncated: 33
        }
    );
}

#[test]
fn key_longer_than_a_block_is_hashed_first() {
    // RFC 2104: a key longer than the 64-byte SM3 block is replaced by its SM3 digest.
    let long_key = [0x0b; 65];
    let hashed = causeway_proofs::HashAlgorithm::Sm3.digest(&long_key);
    assert_eq!(hmac_sm3(&long_key, b"data"), hmac_sm3(&hashed.0, b"data"));
    // …which a 64-byte key is not.
    let block_key = [0x0b; 64];
    let hashed = causeway_proofs::HashAlgorithm::Sm3.digest(&block_key);
    assert_ne!(hmac_sm3(&block_key, b"data"), hmac_sm3(&hashed.0, b"data"));
}
