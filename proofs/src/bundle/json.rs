//! The stable JSON form of a [`ProofBundle`] (`"format": "causeway-proof-bundle/1"`).
//!
//! ```json
//! {
//!   "format": "causeway-proof-bundle/1",
//!   "message_id": "0x…32 bytes: keccak-256 of `message`, checked on load",
//!   "message": "0x…the canonical message bytes (notes/wire.md)",
//!   "inclusion": { "index": 3, "size": 8, "path": ["0x…", "0x…", "0x…"] },
//!   "checkpoint": { "version": 1, "origin": 1, "hash_algorithm": "sha256", "size": 8, "root": "0x…" },
//!   "signing_domain": {
//!     "origin": 1, "origin_chain_id": 31337, "destination": 2, "destination_chain_id": 31338,
//!     "inbox": "0x…32 bytes", "validator_epoch": 1
//!   },
//!   "signatures": ["0x…65 bytes r ‖ s ‖ v, ascending by signer"],
//!   "source": { "block_number": 12, "block_hash": "0x…", "transaction_hash": "0x…", "event_index": 0 },
//!   "native_proof": { "family": "evm", "data": { "adapter-defined": "…" } }
//! }
//! ```
//!
//! Rules: every byte string is `0x`-prefixed lowercase hex on output (the prefix is optional on
//! input); unknown fields are rejected at every level; `source` and `native_proof` are optional
//! (omitted when absent), as is every field inside `source`. Limits, enforced while parsing so a
//! hostile file cannot make the reader allocate beyond them: the whole document at most
//! [`MAX_BUNDLE_JSON_LEN`] bytes, at most [`MAX_SIGNATURES`] signatures, at most
//! [`MAX_PATH_NODES`] path nodes, and a message of at most [`MAX_MESSAGE_LEN`] bytes.

use core::fmt;
use core::marker::PhantomData;
use std::borrow::Cow;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{NativeProof, ProofBundle, SourceReference};
use crate::checkpoint::CheckpointJson;
use crate::hash::parse_hex_vec;
use crate::message::MAX_MESSAGE_LEN;
use crate::{
    Checkpoint, Error, Hash32, InclusionProof, LeafIndex, LogSize, Message, MessageId, Signature,
    SigningDomain,
};

/// The `format` tag of version 1 of the bundle JSON form.
pub const FORMAT: &str = "causeway-proof-bundle/1";
/// Most signatures a bundle may carry (well above any sane validator threshold).
pub const MAX_SIGNATURES: usize = 64;
/// Most inclusion-path nodes a bundle may carry: an inclusion proof in a log of up to
/// 2^64 − 1 leaves has at most 64.
pub const MAX_PATH_NODES: usize = 64;
/// Largest bundle document accepted, in bytes (room for large native proofs such as Fabric
/// blocks, small enough to bound what parsing can allocate).
pub const MAX_BUNDLE_JSON_LEN: usize = 16 * 1024 * 1024;

impl ProofBundle {
    /// Parses the JSON form, checking the `format` tag first, then every field and limit.
    /// Errors keep their meaning: a zero root is [`Error::ZeroRoot`], a truncated message
    /// [`Error::MessageTooShort`], a `message_id` that is not the message's
    /// [`Error::InconsistentBundle`]; malformed JSON, unknown fields and exceeded limits are
    /// [`Error::Decode`].
    pub fn from_json(json: &str) -> Result<Self, Error> {
        if json.len() > MAX_BUNDLE_JSON_LEN {
            return Err(decode_error(format!(
                "{} bytes exceed the maximum of {MAX_BUNDLE_JSON_LEN}",
                json.len()
            )));
        }
        // Read only the tag first (other fields are skipped without allocating), so a file of
        // another format gets a clear error rather than a complaint about its first unknown field.
        let probe: FormatProbe<'_> =
            serde_json::from_str(json).map_err(|e| decode_error(e.to_string()))?;
        check_format(probe.format.as_deref())?;
        let raw: BundleJson =
            serde_json::from_str(json).map_err(|e| decode_error(e.to_string()))?;
        ProofBundle::try_from(raw)
    }

    /// The JSON form, pretty-printed. Stable: the same bundle always gives the same text.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&BundleJson::from(self.clone()))
            .expect("bundle JSON has only string keys and infallible fields")
    }
}

fn decode_error(reason: String) -> Error {
    Error::Decode {
        what: "proof bundle",
        reason,
    }
}

fn check_format(format: Option<&str>) -> Result<(), Error> {
    match format {
        Some(FORMAT) => Ok(()),
        Some(other) => Err(decode_error(format!(
            "unsupported format {other:?}; this build reads {FORMAT:?}"
        ))),
        None => Err(decode_error(format!("missing \"format\": {FORMAT:?}"))),
    }
}

#[derive(Deserialize)]
struct FormatProbe<'a> {
    #[serde(borrow, default)]
    format: Option<Cow<'a, str>>,
}

/// The wire shape of a bundle; [`ProofBundle`] converts to and from it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BundleJson {
    format: String,
    message_id: MessageId,
    message: String,
    inclusion: InclusionJson,
    checkpoint: CheckpointJson,
    signing_domain: SigningDomain,
    signatures: Bounded<Signature, SignatureLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<SourceReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    native_proof: Option<NativeProof>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionJson {
    index: LeafIndex,
    size: LogSize,
    path: Bounded<Hash32, PathLimit>,
}

impl From<ProofBundle> for BundleJson {
    fn from(b: ProofBundle) -> Self {
        BundleJson {
            format: FORMAT.to_owned(),
            message_id: b.message.id(),
            message: crate::hash::to_0x_hex(&b.message.encode()),
            inclusion: InclusionJson {
                index: b.inclusion.index,
                size: b.inclusion.size,
                path: Bounded::new(b.inclusion.path),
            },
            checkpoint: CheckpointJson::from(b.checkpoint),
            signing_domain: b.signing_domain,
            signatures: Bounded::new(b.signatures),
            source: b.source,
            native_proof: b.native_proof,
        }
    }
}

impl TryFrom<BundleJson> for ProofBundle {
    type Error = Error;
    fn try_from(j: BundleJson) -> Result<Self, Error> {
        check_format(Some(&j.format))?;
        let bytes = parse_hex_vec(&j.message, "message", MAX_MESSAGE_LEN)?;
        let message = Message::decode(&bytes)?;
        let id = message.id();
        if id != j.message_id {
            return Err(Error::InconsistentBundle {
                reason: format!(
                    "message_id is {} but the message's keccak-256 is {}",
                    j.message_id, id
                ),
            });
        }
        if let Some(tx) = j.source.as_ref().and_then(|s| s.fabric_tx_id.as_ref())
            && tx.len() > SourceReference::MAX_TX_ID_LEN
        {
            return Err(decode_error(format!(
                "fabric_tx_id is {} bytes; the maximum is {}",
                tx.len(),
                SourceReference::MAX_TX_ID_LEN
            )));
        }
        Ok(ProofBundle {
            message,
            inclusion: InclusionProof {
                index: j.inclusion.index,
                size: j.inclusion.size,
                path: j.inclusion.path.items,
            },
            checkpoint: Checkpoint::try_from(j.checkpoint)?,
            signing_domain: j.signing_domain,
            signatures: j.signatures.items,
            source: j.source,
            native_proof: j.native_proof,
        })
    }
}

impl Serialize for ProofBundle {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        BundleJson::from(self.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for ProofBundle {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BundleJson::deserialize(d)?;
        ProofBundle::try_from(raw).map_err(serde::de::Error::custom)
    }
}

/// A cap on a list's length, with the list's name for errors.
trait Limit {
    const MAX: usize;
    const WHAT: &'static str;
}

enum SignatureLimit {}
impl Limit for SignatureLimit {
    const MAX: usize = MAX_SIGNATURES;
    const WHAT: &'static str = "signatures";
}

enum PathLimit {}
impl Limit for PathLimit {
    const MAX: usize = MAX_PATH_NODES;
    const WHAT: &'static str = "inclusion path nodes";
}

/// A list that refuses, while being parsed, to grow past `L::MAX` items.
struct Bounded<T, L> {
    items: Vec<T>,
    _limit: PhantomData<L>,
}

impl<T, L> Bounded<T, L> {
    fn new(items: Vec<T>) -> Self {
        Bounded {
            items,
            _limit: PhantomData,
        }
    }
}

impl<T: Serialize, L> Serialize for Bounded<T, L> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>, L: Limit> Deserialize<'de> for Bounded<T, L> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BoundedVisitor<T, L>(PhantomData<(T, L)>);

        impl<'de, T: Deserialize<'de>, L: Limit> Visitor<'de> for BoundedVisitor<T, L> {
            type Value = Bounded<T, L>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {} {}", L::MAX, L::WHAT)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(L::MAX));
                while let Some(item) = seq.next_element()? {
                    if items.len() == L::MAX {
                        return Err(serde::de::Error::custom(format!(
                            "more than {} {}",
                            L::MAX,
                            L::WHAT
                        )));
                    }
                    items.push(item);
                }
                Ok(Bounded::new(items))
            }
        }

        d.deserialize_seq(BoundedVisitor(PhantomData))
    }
}
