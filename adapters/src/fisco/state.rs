//! [`FiscoStateReader`]: a contract's view function called at the head of a FISCO BCOS group.
//!
//! FISCO BCOS 3.x offers no state proofs over its JSON-RPC (no `eth_getProof` equivalent), so
//! the value of a read is the node's word, not proven: the [`NativeProof`] says so
//! (`"value_proven": false`) and carries the block the call ran at, whose seal by 2f+1
//! configured sealers *was* verified (so the block itself is real and committed).

use std::sync::Arc;

use causeway_proofs::bundle::{ChainFamily, NativeProof};
use causeway_proofs::fisco::SealerSet;

use super::rpc::FiscoRpc;
use crate::Error;
use crate::chain::{BlockId, BlockRef, ReadAt, StateQuery, StateRead, StateReader};

/// Calls contracts on a FISCO BCOS group.
#[derive(Clone, Debug)]
pub struct FiscoStateReader {
    rpc: FiscoRpc,
    sealers: Arc<SealerSet>,
}

impl FiscoStateReader {
    /// A reader of `endpoint`'s `group`, checking block seals against `sealers`.
    pub fn new(
        endpoint: impl Into<String>,
        group: impl Into<String>,
        sealers: SealerSet,
    ) -> Result<Self, Error> {
        Ok(Self::with_rpc(FiscoRpc::new(endpoint, group)?, sealers))
    }

    /// A reader asking the group's nodes through `rpc` (several endpoints with failover, the
    /// chain's metrics), checking block seals against `sealers`.
    pub fn with_rpc(rpc: FiscoRpc, sealers: SealerSet) -> Self {
        FiscoStateReader {
            rpc,
            sealers: Arc::new(sealers),
        }
    }
}

impl StateReader for FiscoStateReader {
    /// `query.contract` is the contract's address (`0x` hex), `query.key` the call data; the
    /// value is the call's return data. Only [`ReadAt::Final`] (the head: every committed
    /// block is final) is possible: FISCO BCOS's `call` runs at the head.
    async fn read(&self, query: &StateQuery) -> Result<StateRead, Error> {
        let invalid = |reason: String| Error::InvalidQuery { reason };
        if let ReadAt::Height(h) = query.at {
            return Err(invalid(format!(
                "FISCO BCOS calls run at the head; block {h} cannot be chosen (read at \"final\")"
            )));
        }
        let mut to = [0u8; 20];
        hex::decode_to_slice(query.contract.trim_start_matches("0x"), &mut to).map_err(|_| {
            invalid(format!(
                "{} is not a 20-byte contract address",
                query.contract
            ))
        })?;
        let before = self.rpc.block_number().await?;
        let result = self.rpc.call_contract(&to, &query.key).await?;
        if result.status != 0 {
            return Err(Error::Reverted {
                reason: crate::evm::bindings::decode_revert(&result.output),
            });
        }
        let block = self.rpc.block(before, true).await?;
        let header = block.header().map_err(Error::Fisco)?;
        let seal = self
            .sealers
            .verify_seal(&header, &block.signatures().map_err(Error::Fisco)?)
            .map_err(Error::Fisco)?;
        Ok(StateRead {
            at: BlockRef {
                height: before,
                id: BlockId::from(seal.hash.0),
            },
            value: result.output,
            proof: NativeProof {
                family: ChainFamily::Fisco,
                data: serde_json::json!({
                    "block": block,
                    "value_proven": false,
                    "note": "FISCO BCOS has no state proofs over JSON-RPC: the value is the node's answer to a call at (or just after) this sealed block",
                }),
            },
        })
    }
}
