//! The EVM family adapter (Ethereum, Besu, Quorum, anvil), on alloy over HTTP JSON-RPC.
//!
//! - [`EvmSource`]: the Outbox's final `Dispatch` events with verified receipt proofs;
//! - [`EvmNativeVerifier`]: the offline check of those proofs;
//! - [`EvmDestination`]: `Inbox.deliverBatch` transactions from a local key, many in flight;
//! - [`EvmStateReader`]: a storage slot with `eth_getProof`, verified against the state root, or
//!   a contract call re-executed over such proven state ([`EvmCallProof`]).
//!
//! The contract bindings in [`bindings`] are written from the fixed interface of issue 3.

pub mod bindings;
mod call;
mod destination;
mod json;
mod proof;
mod range;
mod reorg;
mod rpc;
mod source;
mod state;

use serde::{Deserialize, Serialize};

pub use call::{
    CALLER, EvmCallProof, MAX_CALL_GAS, MAX_PROVEN_ACCOUNTS, MAX_PROVEN_SLOTS, ProvenAccount,
    ProvenSlot,
};
pub use destination::{
    EvmDestination, EvmDestinationConfig, EvmSignerPool, EvmSubmission, PlanningStats,
};
pub(crate) use destination::{delivery_results, delivery_status_of};
pub use proof::{CheckedSource, EvmNativeVerifier};
pub use range::{LOG_WINDOW, LogWindows, RangeSizer};
pub use rpc::RpcConfig;
pub use source::{EvmSource, EvmSourceConfig, SourceCounters};
pub use state::{EvmAccount, EvmStateProof, EvmStateReader};

/// When an EVM block counts as final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finality {
    /// Final once this many blocks were built on top of it (`latest - n`). 0 means "as soon as
    /// it is mined", which is unsafe on any chain that can reorganise.
    Confirmations(u64),
    /// Final at or below the node's `finalized` block (proof-of-stake chains).
    FinalizedTag,
}

/// The canonical block at `height` (transaction hashes only); [`crate::Error::MissingData`]
/// when the node has none.
pub(crate) async fn block_at(
    rpc: &rpc::Rpc,
    height: u64,
) -> Result<alloy::rpc::types::Block, crate::Error> {
    use alloy::eips::BlockNumberOrTag;
    use alloy::providers::Provider;
    rpc.call("eth_getBlockByNumber", |p| async move {
        p.get_block_by_number(BlockNumberOrTag::Number(height))
            .await
    })
    .await?
    .ok_or_else(|| crate::Error::MissingData {
        what: format!("block {height}"),
    })
}

/// The highest final block under `finality`, or `None` while no block is final.
pub(crate) async fn final_height(
    rpc: &rpc::Rpc,
    finality: Finality,
) -> Result<Option<u64>, crate::Error> {
    use alloy::eips::BlockNumberOrTag;
    use alloy::providers::Provider;
    match finality {
        Finality::Confirmations(n) => {
            let latest = rpc
                .call(
                    "eth_blockNumber",
                    |p| async move { p.get_block_number().await },
                )
                .await?;
            rpc.metrics().head(latest);
            Ok(latest.checked_sub(n))
        }
        Finality::FinalizedTag => {
            rpc.probe_head().await;
            let block = rpc
                .call("eth_getBlockByNumber", |p| async move {
                    p.get_block_by_number(BlockNumberOrTag::Finalized).await
                })
                .await?;
            Ok(block.map(|b| b.header.number))
        }
    }
}
