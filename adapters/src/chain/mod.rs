//! The chain traits the relayer consumes, the same for every chain family.
//!
//! Three small capabilities instead of one large "chain endpoint" (Hermes' `ChainEndpoint` is
//! the counter-example): a [`Source`] streams finalized messages with their native proofs, a
//! [`NativeVerifier`] re-checks such a proof offline, a [`Destination`] submits delivery batches
//! and reports their outcomes, and a [`StateReader`] reads one value with a proof. Nothing here
//! names an EVM, Fabric or FISCO BCOS type: block identities are bytes, proofs are
//! [`NativeProof`]s (family + JSON), submission handles are persistable JSON.
//!
//! The futures are `Send` so that implementations can run on tokio worker threads; the traits
//! use native `async fn`-in-trait style (`impl Future` in return position), so the relayer can
//! be generic over them, or hold chains of different families as `Arc<dyn DynSource>` (and
//! [`DynDestination`], [`DynStateReader`]), object-safe twins implemented for every chain. Implementations are cheap to clone handles (the EVM ones share one
//! connection pool behind an `Arc`).

mod destination;
mod dynamic;
mod revert;
mod source;
mod state;

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
pub use destination::{
    DeliveryBatch, DeliveryItem, DeliveryStatus, Destination, MessageOutcome, NoRecorder, Recorder,
    SignedSubmission, Submission, SubmissionHandle, SubmissionOutcome,
};
pub use dynamic::{BoxFuture, DynDestination, DynSource, DynStateReader};
pub use revert::RevertReason;
pub use source::{Cursor, NativeVerifier, ObservedMessage, Source, SourceBatch};
pub use state::{ReadAt, ReadKind, StateQuery, StateRead, StateReader};

/// A block's identity in its chain family's own terms: the 32-byte block hash on EVM chains and
/// FISCO BCOS, the block header hash on Fabric. Compared byte for byte; shown as `0x` hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(Vec<u8>);

impl BlockId {
    /// A block id from its bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        BlockId(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(&self.0))
    }
}

impl From<[u8; 32]> for BlockId {
    fn from(bytes: [u8; 32]) -> Self {
        BlockId(bytes.to_vec())
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockId({})", self.to_hex())
    }
}

impl Serialize for BlockId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for BlockId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Longest block id accepted from JSON (real ones are 32 bytes).
        const MAX_BLOCK_ID_LEN: usize = 64;
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        causeway_proofs::hash::parse_hex_vec(&s, "block id", MAX_BLOCK_ID_LEN)
            .map(BlockId)
            .map_err(serde::de::Error::custom)
    }
}

/// One block: its height and its identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRef {
    /// Block number.
    pub height: u64,
    /// Block hash (or the family's equivalent).
    pub id: BlockId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_id_hex_and_json_round_trip() {
        let id = BlockId::new(vec![0xab, 0x01]);
        assert_eq!(id.to_hex(), "0xab01");
        let j = serde_json::to_string(&id).expect("serialises");
        assert_eq!(j, "\"0xab01\"");
        assert_eq!(serde_json::from_str::<BlockId>(&j).expect("parses"), id);
        let long = format!("\"0x{}\"", "00".repeat(65));
        assert!(serde_json::from_str::<BlockId>(&long).is_err());
    }
}
