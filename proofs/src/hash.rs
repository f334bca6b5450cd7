//! The hash functions of Causeway's Merkle logs, as implementations of `merkle_light`'s
//! [`Algorithm`] trait, and the 32-byte [`Hash32`] value they all produce.
//!
//! RFC 9162 §2.1.1 domain-separates leaves from interior nodes: a leaf hash is
//! `H(0x00 ‖ leaf)` and a node hash is `H(0x01 ‖ left ‖ right)`, so that a node can never be
//! passed off as a leaf (second-preimage confusion). `merkle_light`'s default `leaf` and `node`
//! already use those prefixes; we restate them explicitly so the rule is visible here and does
//! not silently change with the dependency.

use core::fmt;
use core::hash::Hasher;
use core::str::FromStr;

use merkle_light::hash::Algorithm;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::Error;

/// RFC 9162 leaf prefix.
pub const LEAF_PREFIX: u8 = 0x00;
/// RFC 9162 interior-node prefix.
pub const NODE_PREFIX: u8 = 0x01;

/// A 32-byte hash: a leaf or node hash, a root, a message id. Serialised as `0x`-prefixed hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The all-zero value, which Causeway never accepts as a root.
    pub const ZERO: Hash32 = Hash32([0u8; 32]);

    /// Whether every byte is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0u8; 32]
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        to_0x_hex(&self.0)
    }
}

/// `0x`-prefixed lowercase hex of `bytes`, through const-hex's SIMD encoder: `hex::encode`
/// yields one `char` at a time through an iterator, and showed as ~13 % of a gateway's CPU in a
/// profile of catching up EVM native proofs (their JSON carries receipts, headers and trie
/// nodes as hex); the `hex` crate's slice encoder that replaced it is table-driven, one byte at
/// a time.
pub(crate) fn to_0x_hex(bytes: &[u8]) -> String {
    const_hex::encode_prefixed(bytes)
}

#[cfg(test)]
mod hex_tests {
    use super::to_0x_hex;

    #[test]
    fn matches_the_hex_crate() {
        for len in [0usize, 1, 2, 31, 32, 33, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(to_0x_hex(&bytes), format!("0x{}", hex::encode(&bytes)));
        }
    }
}

impl AsRef<[u8]> for Hash32 {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<[u8; 32]> for Hash32 {
    fn from(b: [u8; 32]) -> Self {
        Hash32(b)
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Parses exactly `N` bytes of hex, with or without a `0x` prefix.
pub fn parse_hex_array<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], Error> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.len() != 2 * N {
        return Err(Error::Decode {
            what,
            reason: format!("expected {} hex digits, found {}", 2 * N, digits.len()),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|e| Error::Decode {
        what,
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// Parses any length of hex, with or without a `0x` prefix, refusing more than `max` bytes
/// before decoding anything.
pub fn parse_hex_vec(s: &str, what: &'static str, max: usize) -> Result<Vec<u8>, Error> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.len() / 2 > max {
        return Err(Error::Decode {
            what,
            reason: format!("{} bytes exceed the maximum of {max}", digits.len() / 2),
        });
    }
    // Decoded into a buffer sized once (`hex::decode` collects through an iterator).
    let mut out = vec![0u8; digits.len() / 2];
    if !digits.len().is_multiple_of(2) {
        return Err(Error::Decode {
            what,
            reason: hex::FromHexError::OddLength.to_string(),
        });
    }
    hex::decode_to_slice(digits, &mut out).map_err(|e| Error::Decode {
        what,
        reason: e.to_string(),
    })?;
    Ok(out)
}

impl FromStr for Hash32 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        parse_hex_array::<32>(s, "32-byte hash").map(Hash32)
    }
}

crate::serde_as_text!(Hash32, Hash32::to_hex);

/// Which hash function a lane's Merkle log uses. SHA-256 is the default (cheap in the EVM via
/// its precompile); Keccak-256 and SM3 serve lanes that ask for them (SM3 for Chinese
/// national-cryptography chains such as FISCO BCOS in SM mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4), the default.
    #[default]
    Sha256,
    /// Keccak-256 as used by Ethereum (not NIST SHA3-256).
    Keccak256,
    /// SM3 (GB/T 32905-2016).
    Sm3,
}

impl HashAlgorithm {
    /// The one-byte identifier that signed checkpoints carry, so a signature over a SHA-256
    /// root can never be replayed as one over a Keccak-256 root.
    pub fn id(self) -> u8 {
        match self {
            HashAlgorithm::Sha256 => 1,
            HashAlgorithm::Keccak256 => 2,
            HashAlgorithm::Sm3 => 3,
        }
    }

    /// The algorithm with identifier `id`.
    pub fn from_id(id: u8) -> Result<Self, Error> {
        match id {
            1 => Ok(HashAlgorithm::Sha256),
            2 => Ok(HashAlgorithm::Keccak256),
            3 => Ok(HashAlgorithm::Sm3),
            other => Err(Error::Decode {
                what: "hash algorithm",
                reason: format!(
                    "unknown identifier {other}; known: 1 (sha256), 2 (keccak256), 3 (sm3)"
                ),
            }),
        }
    }

    /// RFC 9162 leaf hash `H(0x00 ‖ data)` under this algorithm.
    pub fn leaf_hash(self, data: &[u8]) -> Hash32 {
        match self {
            HashAlgorithm::Sha256 => leaf_with::<Sha256Algorithm>(data),
            HashAlgorithm::Keccak256 => leaf_with::<Keccak256Algorithm>(data),
            HashAlgorithm::Sm3 => leaf_with::<Sm3Algorithm>(data),
        }
    }

    /// RFC 9162 node hash `H(0x01 ‖ left ‖ right)` under this algorithm.
    pub fn node_hash(self, left: &Hash32, right: &Hash32) -> Hash32 {
        match self {
            HashAlgorithm::Sha256 => Sha256Algorithm::default().node(*left, *right),
            HashAlgorithm::Keccak256 => Keccak256Algorithm::default().node(*left, *right),
            HashAlgorithm::Sm3 => Sm3Algorithm::default().node(*left, *right),
        }
    }

    /// The plain digest of `data` (no prefix).
    pub fn digest(self, data: &[u8]) -> Hash32 {
        match self {
            HashAlgorithm::Sha256 => Hash32(sha2::Sha256::digest(data).into()),
            HashAlgorithm::Keccak256 => keccak256(data),
            HashAlgorithm::Sm3 => Hash32(sm3::Sm3::digest(data).into()),
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Keccak256 => "keccak256",
            HashAlgorithm::Sm3 => "sm3",
        })
    }
}

/// Leaf hash of arbitrary-length data under algorithm `A` (merkle_light's `leaf` takes a
/// `Hash32`, so variable-length leaf data is hashed through the `Hasher` interface directly).
pub fn leaf_with<A: Algorithm<Hash32>>(data: &[u8]) -> Hash32 {
    let mut a = A::default();
    a.write(&[LEAF_PREFIX]);
    a.write(data);
    a.hash()
}

/// Keccak-256 (Ethereum's), used for message ids and signing digests whatever the log's hash.
pub fn keccak256(data: &[u8]) -> Hash32 {
    Hash32(sha3::Keccak256::digest(data).into())
}

macro_rules! algorithm {
    ($(#[$doc:meta])* $name:ident, $inner:ty) => {
        $(#[$doc])*
        #[derive(Clone, Default)]
        pub struct $name($inner);

        impl Hasher for $name {
            fn write(&mut self, bytes: &[u8]) {
                self.0.update(bytes);
            }
            /// `Hasher::finish` is required by merkle_light's trait bound but never used for
            /// Merkle hashing; it returns the first 8 bytes of the current digest.
            fn finish(&self) -> u64 {
                let d = self.0.clone().finalize();
                let mut first = [0u8; 8];
                first.copy_from_slice(&d[..8]);
                u64::from_be_bytes(first)
            }
        }

        impl Algorithm<Hash32> for $name {
            fn hash(&mut self) -> Hash32 {
                Hash32(self.0.finalize_reset().into())
            }
            fn reset(&mut self) {
                self.0.reset();
            }
            fn leaf(&mut self, leaf: Hash32) -> Hash32 {
                self.0.reset();
                self.0.update([LEAF_PREFIX]);
                self.0.update(leaf.0);
                self.hash()
            }
            fn node(&mut self, left: Hash32, right: Hash32) -> Hash32 {
                self.0.reset();
                self.0.update([NODE_PREFIX]);
                self.0.update(left.0);
                self.0.update(right.0);
                self.hash()
            }
        }
    };
}

algorithm!(
    /// SHA-256 as a `merkle_light` algorithm.
    Sha256Algorithm,
    sha2::Sha256
);
algorithm!(
    /// Keccak-256 as a `merkle_light` algorithm.
    Keccak256Algorithm,
    sha3::Keccak256
);
algorithm!(
    /// SM3 as a `merkle_light` algorithm.
    Sm3Algorithm,
    sm3::Sm3
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // FIPS 180-2 Appendix B.1: SHA-256("abc").
    #[test]
    fn sha256_abc() {
        assert_eq!(
            HashAlgorithm::Sha256.digest(b"abc").to_hex(),
            "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    // Keccak-256 of the empty string, as used across Ethereum (e.g. the empty code hash).
    #[test]
    fn keccak_empty() {
        assert_eq!(
            keccak256(b"").to_hex(),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn leaf_and_node_are_domain_separated() {
        for alg in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Keccak256,
            HashAlgorithm::Sm3,
        ] {
            let a = Hash32([1; 32]);
            let b = Hash32([2; 32]);
            let mut concat = Vec::new();
            concat.extend_from_slice(&a.0);
            concat.extend_from_slice(&b.0);
            // A node over (a, b) is not the leaf hash of a ‖ b.
            assert_ne!(alg.node_hash(&a, &b), alg.leaf_hash(&concat));
            let mut pre = vec![NODE_PREFIX];
            pre.extend_from_slice(&concat);
            assert_eq!(alg.node_hash(&a, &b), alg.digest(&pre));
        }
    }

    #[test]
    fn hash32_hex_round_trip_and_errors() {
        let h = Hash32([0xab; 32]);
        assert_eq!(h.to_hex().parse::<Hash32>().unwrap(), h);
        assert!("0x12".parse::<Hash32>().is_err());
        assert!(format!("0x{}", "zz".repeat(32)).parse::<Hash32>().is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Hash32>(&json).unwrap(), h);
    }
}
