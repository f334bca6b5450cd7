//! The wire format of the `causeway_inbox` chaincode's `deliverBatch` argument: the
//! **FabricDeliveryBatch** JSON, parsed from untrusted bytes (the chaincode's input, and what a
//! fuzzer feeds it) without any chain client. The adapters add the conversions to and from their
//! delivery batch, and the inbox's results and refusal reasons.
//!
//! ```json
//! {"checkpoint": {"version": 1, "origin": 1, "hash_algorithm": "sha256", "size": 2, "root": "0x…"},
//!  "signatures": ["0x<65-byte r ‖ s ‖ v>", …],
//!  "items": [{"message": "0x<encoded message>", "proof": {"index": 0, "size": 2, "path": ["0x…"]}}]}
//! ```
//!
//! Parsing is bounded before anything is allocated per item: at most [`MAX_BATCH_BYTES`] of
//! JSON, [`MAX_BATCH_ITEMS`] items, [`MAX_SIGNATURES`] signatures, and each hex string at most the
//! longest value it may carry. The parsed [`WireBatch`] is deliberately *raw*: a zero root, a
//! signature that is not 65 bytes or a message that does not decode survive parsing, so that the
//! inbox chaincode refuses them with the same named reasons, in the same order, as the Solidity
//! Inbox (`ZeroRoot`, `InvalidSignature(i)`, `MessageTooShort`, ...).

use crate::hash::parse_hex_vec;
use crate::message::MAX_MESSAGE_LEN;
use crate::{
    Checkpoint, Domain, Error, Hash32, HashAlgorithm, InclusionProof, LogSize, SigningDomain,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest `deliverBatch` argument accepted, in bytes of JSON.
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// Most messages in one batch.
pub const MAX_BATCH_ITEMS: usize = 512;
/// Most signatures in one batch (the Solidity registry's `MAX_VALIDATORS` is 255).
pub const MAX_SIGNATURES: usize = 256;
/// Longest signature bytes accepted by the parser. Longer than 65 so that a signature of the
/// wrong length is refused by the inbox as `InvalidSignature(position)`, as on the EVM.
pub const MAX_SIGNATURE_BYTES: usize = 128;
/// Longest message bytes accepted by the parser: one word more than the longest valid message,
/// so that an oversize body is refused by name (`BodyTooLarge`) rather than as bad JSON.
pub const MAX_WIRE_MESSAGE_BYTES: usize = MAX_MESSAGE_LEN + 32;

/// What the parser calls the batch in its errors.
const WHAT: &str = "FabricDeliveryBatch";

/// The chaincode name the inbox is installed under on the Causeway test network.
pub const INBOX_CHAINCODE: &str = "causeway_inbox";

/// The signing domain of a Fabric inbox: what validators sign a checkpoint of `origin` under
/// for the inbox chaincode `inbox_chaincode` on `channel` of the network whose Causeway domain
/// is `destination`. Fabric ledgers have no chain id of their own, so each channel is given one
/// by configuration (`[chains.<name>] chain_id`: non-zero, unique among the consortium's Fabric
/// chains): `destination_chain_id` is the inbox channel's, `origin_chain_id` the origin's (a
/// Fabric origin's configured one, or an EVM origin's EIP-155 id). The inbox is named by
/// keccak-256 of `"<channel>/<chaincode>"`, so a signature for one channel, chaincode or chain
/// id never verifies on another.
pub fn inbox_signing_domain(
    origin: Domain,
    origin_chain_id: u64,
    destination: Domain,
    destination_chain_id: u64,
    channel: &str,
    inbox_chaincode: &str,
    validator_epoch: u64,
) -> SigningDomain {
    SigningDomain {
        origin,
        origin_chain_id,
        destination,
        destination_chain_id,
        inbox: SigningDomain::named_inbox(&format!("{channel}/{inbox_chaincode}")),
        validator_epoch,
    }
}

/// A checkpoint as carried on the wire: the fields of `crate::Checkpoint`'s JSON,
/// without its validation (the inbox refuses a zero root as `ZeroRoot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCheckpoint {
    /// Checkpoint format version (1).
    pub version: u8,
    /// The origin domain whose log it commits to.
    pub origin: Domain,
    /// The log's hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The log size.
    pub size: LogSize,
    /// The root (possibly zero: refused by the inbox, not by the parser).
    pub root: Hash32,
}

impl WireCheckpoint {
    /// The validated checkpoint: version 1, non-zero root.
    pub fn to_checkpoint(&self) -> Result<Checkpoint, Error> {
        if self.version != Checkpoint::VERSION {
            return Err(Error::Decode {
                what: "checkpoint",
                reason: format!(
                    "unsupported checkpoint version {}; this build speaks version {}",
                    self.version,
                    Checkpoint::VERSION
                ),
            });
        }
        Checkpoint::new(self.origin, self.hash_algorithm, self.size, self.root)
    }
}

impl From<Checkpoint> for WireCheckpoint {
    fn from(c: Checkpoint) -> Self {
        WireCheckpoint {
            version: c.version(),
            origin: c.origin(),
            hash_algorithm: c.hash_algorithm(),
            size: c.size(),
            root: c.root(),
        }
    }
}

/// Bytes shown as `0x` hex; parsed with a length bound of `MAX` bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WireBytes<const MAX: usize>(pub Vec<u8>);

impl<const MAX: usize> core::fmt::Debug for WireBytes<MAX> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl<const MAX: usize> Serialize for WireBytes<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for WireBytes<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if !s.starts_with("0x") {
            return Err(serde::de::Error::custom("hex bytes must start with 0x"));
        }
        parse_hex_vec(&s, "hex bytes", MAX)
            .map(WireBytes)
            .map_err(serde::de::Error::custom)
    }
}

/// One message of a wire batch: its encoded bytes and its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireItem {
    /// The canonical message encoding (not yet decoded: the inbox reports a malformed one by
    /// name).
    pub message: WireBytes<MAX_WIRE_MESSAGE_BYTES>,
    /// Its inclusion proof (the inbox verifies it against the checkpoint's size and root).
    pub proof: InclusionProof,
}

/// The `deliverBatch` argument of the inbox chaincode, as parsed (raw: see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireBatch {
    /// The checkpoint every proof is against.
    pub checkpoint: WireCheckpoint,
    /// Validator signatures (65 bytes each when well formed), ascending by signer.
    pub signatures: Vec<WireBytes<MAX_SIGNATURE_BYTES>>,
    /// The messages.
    pub items: Vec<WireItem>,
}

impl WireBatch {
    /// The JSON bytes `deliverBatch` takes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("plain data serialises")
    }

    /// Parses `deliverBatch`'s argument, refusing more than [`MAX_BATCH_BYTES`] before reading
    /// it, and more than [`MAX_BATCH_ITEMS`] items or [`MAX_SIGNATURES`] signatures.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_BATCH_BYTES {
            return Err(decode_error(format!(
                "{} bytes exceed the maximum of {MAX_BATCH_BYTES}",
                bytes.len()
            )));
        }
        let batch: WireBatch = serde_json::from_slice(bytes)
            .map_err(|e| decode_error(format!("malformed JSON: {e}")))?;
        if batch.items.len() > MAX_BATCH_ITEMS {
            return Err(decode_error(format!(
                "{} items exceed the maximum of {MAX_BATCH_ITEMS}",
                batch.items.len()
            )));
        }
        if batch.signatures.len() > MAX_SIGNATURES {
            return Err(decode_error(format!(
                "{} signatures exceed the maximum of {MAX_SIGNATURES}",
                batch.signatures.len()
            )));
        }
        Ok(batch)
    }
}

fn decode_error(reason: String) -> Error {
    Error::Decode { what: WHAT, reason }
}
