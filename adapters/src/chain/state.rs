//! [`StateReader`]: one value of a chain's state, with the chain's proof of it.

use core::future::Future;

use causeway_proofs::bundle::NativeProof;
use serde::{Deserialize, Serialize};

use super::BlockRef;
use crate::Error;

/// At which block to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadAt {
    /// The latest block that is final under the chain's finality rule (the default: a value
    /// read there cannot be reorganised away).
    Final,
    /// A given block height (which the caller knows to be final).
    Height(u64),
}

/// What a query's key is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadKind {
    /// The family's own read: EVM, the key is a 32-byte storage slot; Fabric, a chaincode
    /// evaluation; FISCO BCOS, a view call.
    #[default]
    Storage,
    /// EVM: a contract call, the key its call data, answered by re-executing the call over
    /// proven state. Fabric and FISCO BCOS reads are calls already (the same as `Storage`).
    Call,
}

/// One state read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateQuery {
    /// The contract (EVM: its 0x address; Fabric: `channel/chaincode`; FISCO BCOS: its address).
    pub contract: String,
    /// The key within it (EVM: a 32-byte storage slot; Fabric: a state key).
    pub key: Vec<u8>,
    /// Where to read.
    pub at: ReadAt,
    /// What the key is.
    #[serde(default)]
    pub kind: ReadKind,
}

/// A value and the proof that the chain held it at `at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateRead {
    /// The block the value was read at.
    pub at: BlockRef,
    /// The value (EVM: the 32-byte big-endian slot word, zero when never written).
    pub value: Vec<u8>,
    /// The family's proof of `value` against the block (EVM: `eth_getProof`'s account and
    /// storage proofs plus the block header), already verified by the reader.
    pub proof: NativeProof,
}

/// Reads state with proofs: the cross-ledger query of the gateway API.
pub trait StateReader: Send + Sync {
    /// Reads `query`, verifying the chain's proof before returning it.
    fn read(&self, query: &StateQuery) -> impl Future<Output = Result<StateRead, Error>> + Send;
}
