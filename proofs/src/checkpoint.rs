//! [`Checkpoint`]s (the signed statement "the log of origin O has N leaves and root R") and the
//! [`SigningDomain`] that binds a signature over one to a single lane, chain pair, Inbox and
//! validator-set epoch.
//!
//! The digest is EIP-712 style so that the Solidity Inbox recomputes it with `abi.encode` and
//! checks it with `ecrecover` (see `notes/wire.md`):
//!
//! ```text
//! domainSeparator = keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Causeway"), keccak256("1"),
//!     originDomain, originChainId, destinationDomain, destinationChainId, inbox, validatorEpoch))
//! structHash      = keccak256(abi.encode(CHECKPOINT_TYPEHASH, version, originDomain, hashAlgorithm,
//!     logSize, root))
//! digest          = keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash)
//! ```
//!
//! Security: the separator names the protocol and its version, both domains, both chain ids, the
//! Inbox and the epoch, so an attestation for one lane, chain (or fork of it), Inbox instance or
//! committee never verifies for another (the Omni/ETHW and Wintermute replays). The destination
//! must fill `destination_chain_id` from the chain it runs on, never from the bundle.

use serde::{Deserialize, Serialize};

use crate::attestation::EvmAddress;
use crate::hash::keccak256;
use crate::message::Address32;
use crate::{Domain, Error, Hash32, HashAlgorithm, LogSize};

/// The EIP-712 type string of the domain separator.
pub const DOMAIN_TYPE: &str = "CausewayDomain(string name,string version,uint32 originDomain,uint256 originChainId,uint32 destinationDomain,uint256 destinationChainId,bytes32 inbox,uint64 validatorEpoch)";
/// The EIP-712 type string of a checkpoint.
pub const CHECKPOINT_TYPE: &str =
    "Checkpoint(uint8 version,uint32 originDomain,uint8 hashAlgorithm,uint64 logSize,bytes32 root)";
/// The protocol name in the domain separator.
pub const PROTOCOL_NAME: &str = "Causeway";
/// The protocol version in the domain separator.
pub const PROTOCOL_VERSION: &str = "1";

/// A checked statement about one origin's Merkle log: its size and root under a hash algorithm.
///
/// Only [`Checkpoint::new`] makes one (deserialisation goes through it too), so a checkpoint that
/// exists never has a zero root (the Nomad failure: an all-zero root accepted as proven).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "CheckpointJson", into = "CheckpointJson")]
pub struct Checkpoint {
    origin: Domain,
    hash_algorithm: HashAlgorithm,
    size: LogSize,
    root: Hash32,
}

/// The JSON shape of a [`Checkpoint`]: `{"version":1,"origin":1,"hash_algorithm":"sha256","size":8,"root":"0x…"}`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointJson {
    pub(crate) version: u8,
    pub(crate) origin: Domain,
    pub(crate) hash_algorithm: HashAlgorithm,
    pub(crate) size: LogSize,
    pub(crate) root: Hash32,
}

impl TryFrom<CheckpointJson> for Checkpoint {
    type Error = Error;
    fn try_from(j: CheckpointJson) -> Result<Self, Error> {
        if j.version != Checkpoint::VERSION {
            return Err(Error::Decode {
                what: "checkpoint",
                reason: format!(
                    "unsupported checkpoint version {}; this build speaks version {}",
                    j.version,
                    Checkpoint::VERSION
                ),
            });
        }
        Checkpoint::new(j.origin, j.hash_algorithm, j.size, j.root)
    }
}

impl From<Checkpoint> for CheckpointJson {
    fn from(c: Checkpoint) -> Self {
        CheckpointJson {
            version: Checkpoint::VERSION,
            origin: c.origin,
            hash_algorithm: c.hash_algorithm,
            size: c.size,
            root: c.root,
        }
    }
}

impl Checkpoint {
    /// The checkpoint format version that is signed.
    pub const VERSION: u8 = 1;

    /// A checkpoint of `origin`'s log; fails with [`Error::ZeroRoot`] if `root` is all zeros.
    pub fn new(
        origin: Domain,
        hash_algorithm: HashAlgorithm,
        size: LogSize,
        root: Hash32,
    ) -> Result<Self, Error> {
        if root.is_zero() {
            return Err(Error::ZeroRoot);
        }
        Ok(Checkpoint {
            origin,
            hash_algorithm,
            size,
            root,
        })
    }

    /// The checkpoint version (always [`Checkpoint::VERSION`]).
    pub fn version(&self) -> u8 {
        Self::VERSION
    }
    /// Whose log this is.
    pub fn origin(&self) -> Domain {
        self.origin
    }
    /// The log's hash algorithm.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash_algorithm
    }
    /// Number of leaves committed to.
    pub fn size(&self) -> LogSize {
        self.size
    }
    /// The log's root at that size (never zero).
    pub fn root(&self) -> Hash32 {
        self.root
    }

    /// `structHash = keccak256(abi.encode(CHECKPOINT_TYPEHASH, version, originDomain,
    /// hashAlgorithm, logSize, root))`.
    pub fn struct_hash(&self) -> Hash32 {
        let mut enc = Vec::with_capacity(6 * 32);
        enc.extend_from_slice(&keccak256(CHECKPOINT_TYPE.as_bytes()).0);
        enc.extend_from_slice(&word(u64::from(Self::VERSION)));
        enc.extend_from_slice(&word(u64::from(self.origin.0)));
        enc.extend_from_slice(&word(u64::from(self.hash_algorithm.id())));
        enc.extend_from_slice(&word(self.size.0));
        enc.extend_from_slice(&self.root.0);
        keccak256(&enc)
    }

    /// The 32-byte digest validators sign for this checkpoint on the lane `domain`
    /// (`keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash)`).
    ///
    /// Does not check that `domain.origin` is this checkpoint's origin; verifiers call
    /// [`Checkpoint::check_domain`] first (a mismatch could never verify anyway, since the
    /// separator and the struct hash would disagree with what honest validators signed).
    pub fn signing_digest(&self, domain: &SigningDomain) -> Hash32 {
        let mut pre = [0u8; 66];
        pre[0] = 0x19;
        pre[1] = 0x01;
        pre[2..34].copy_from_slice(&domain.separator().0);
        pre[34..].copy_from_slice(&self.struct_hash().0);
        keccak256(&pre)
    }

    /// [`Error::WrongDomain`] unless this checkpoint is for `domain`'s origin.
    pub fn check_domain(&self, domain: &SigningDomain) -> Result<(), Error> {
        if self.origin != domain.origin {
            return Err(Error::WrongDomain {
                expected: domain.origin,
                actual: self.origin,
            });
        }
        Ok(())
    }
}

/// The lane a checkpoint signature is valid for: origin and destination (domain and chain id),
/// the destination's Inbox, and the validator-set epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningDomain {
    /// The origin chain's domain (whose log is checkpointed).
    pub origin: Domain,
    /// The origin chain's chain id (EIP-155 for EVM chains; a configured number otherwise).
    pub origin_chain_id: u64,
    /// The destination chain's domain.
    pub destination: Domain,
    /// The destination chain's chain id, as the destination itself reads it at run time.
    pub destination_chain_id: u64,
    /// The destination's verifying contract: [`SigningDomain::evm_inbox`] or
    /// [`SigningDomain::named_inbox`].
    pub inbox: Address32,
    /// The validator-set epoch; rotating the set bumps it, so old signers stop counting.
    pub validator_epoch: u64,
}

impl SigningDomain {
    /// The `inbox` value of an EVM Inbox contract: its address left-padded to 32 bytes.
    pub fn evm_inbox(address: EvmAddress) -> Address32 {
        Address32::from(address)
    }

    /// The `inbox` value of a non-EVM destination: keccak-256 of its name, e.g.
    /// `"channel/chaincode"`.
    pub fn named_inbox(name: &str) -> Address32 {
        Address32::from_name(name)
    }

    /// The EIP-712 domain separator (see the module docs).
    pub fn separator(&self) -> Hash32 {
        let mut enc = Vec::with_capacity(9 * 32);
        enc.extend_from_slice(&keccak256(DOMAIN_TYPE.as_bytes()).0);
        enc.extend_from_slice(&keccak256(PROTOCOL_NAME.as_bytes()).0);
        enc.extend_from_slice(&keccak256(PROTOCOL_VERSION.as_bytes()).0);
        enc.extend_from_slice(&word(u64::from(self.origin.0)));
        enc.extend_from_slice(&word(self.origin_chain_id));
        enc.extend_from_slice(&word(u64::from(self.destination.0)));
        enc.extend_from_slice(&word(self.destination_chain_id));
        enc.extend_from_slice(&self.inbox.0);
        enc.extend_from_slice(&word(self.validator_epoch));
        keccak256(&enc)
    }
}

/// An unsigned integer as one `abi.encode` word: big-endian, left-padded to 32 bytes.
fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_root_is_rejected_also_through_serde() {
        assert_eq!(
            Checkpoint::new(Domain(1), HashAlgorithm::Sha256, LogSize(1), Hash32::ZERO),
            Err(Error::ZeroRoot)
        );
        let json = format!(
            r#"{{"version":1,"origin":1,"hash_algorithm":"sha256","size":1,"root":"{}"}}"#,
            Hash32::ZERO
        );
        let err = serde_json::from_str::<Checkpoint>(&json).expect_err("zero root");
        assert!(err.to_string().contains("zero root"), "{err}");
    }

    #[test]
    fn word_is_left_padded() {
        let w = word(0x0102);
        assert_eq!(&w[..30], &[0u8; 30]);
        assert_eq!(&w[30..], &[1, 2]);
    }
}
