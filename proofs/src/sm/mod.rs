//! Chinese national cryptography ("SM", 商用密码) beyond the SM3 hash: SM2 signatures and
//! HMAC-SM3.
//!
//! FISCO BCOS chains in SM mode sign transactions and sealer votes with [`sm2`] (GB/T 32918.2
//! on the recommended curve sm2p256v1) and hash with SM3 ([`crate::HashAlgorithm::Sm3`]);
//! Causeway verifies both when it reads such a chain. [`hmac`] is HMAC (RFC 2104) over SM3 for
//! peers that authenticate with the SM suite.

pub mod hmac;
pub mod sm2;

pub use self::hmac::{
    HMAC_SM3_MIN_TAG_LEN, HMAC_SM3_TAG_LEN, hmac_sm3, verify_hmac_sm3, verify_hmac_sm3_truncated,
};
pub use self::sm2::{
    DEFAULT_USER_ID, Sm2KeyVerifier, Sm2PublicKey, Sm2SecretKey, Sm2Signature, message_digest,
    verify, verify_digest, verify_prehash, za,
};
