//! [`FiscoSource`]: the Outbox's messages on a FISCO BCOS group, each yielded only after its
//! native proof (receipt proof to the header's receipts root, header sealed by 2f+1 distinct
//! configured sealers) verified and its id confirmed in the Outbox's storage;
//! [`FiscoNativeVerifier`]: the proof check offline.
//!
//! Why the state read: FISCO BCOS hashes a receipt's fields without lengths, so a receipt can
//! be split into logs in more than one way, and another contract's log data can be presented as
//! a forged `Dispatch` under the same receipt hash, proof and seal (docs/fisco.md, "Receipt
//! hash"). The `FiscoOutbox` records every id it emits (`dispatched(id)`), which no log can
//! imitate; the source asks its nodes before accepting a message. The offline verifier cannot
//! ask, and says so: a FISCO BCOS receipt proof alone does not prove the message was sent.

use std::sync::Arc;

use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::fisco::json::BlockJson;
use causeway_proofs::fisco::{FiscoSourceProof, Header, SealerSet};
use causeway_proofs::{Domain, EvmAddress, Hash32, Message};

use super::rpc::FiscoRpc;
use super::seals::SealCache;
use crate::Error;
use crate::chain::{BlockId, Cursor, NativeVerifier, ObservedMessage, Source, SourceBatch};
use crate::metrics::ChainMetrics;

/// Blocks scanned per batch unless configured otherwise.
pub const DEFAULT_RANGE: u64 = 64;

/// `dispatched(id)` reads in flight at once while a batch's messages are confirmed.
const CONFIRMATIONS_IN_FLIGHT: usize = 32;

/// What a [`FiscoSource`] watches.
#[derive(Clone, Debug)]
pub struct FiscoSourceConfig {
    /// The node's JSON-RPC endpoint (with [`FiscoSource::with_rpc`], the client's endpoints
    /// are used instead).
    pub endpoint: String,
    /// The group, e.g. `group0`.
    pub group: String,
    /// The origin domain.
    pub domain: Domain,
    /// The Outbox contract: a `FiscoOutbox` (contracts/src/FiscoOutbox.sol), whose
    /// `dispatched(id)` confirms each message.
    pub outbox: EvmAddress,
    /// The configured sealers (and the chain's crypto mode).
    pub sealers: SealerSet,
    /// Blocks per batch.
    pub range: u64,
}

/// A FISCO BCOS origin.
#[derive(Clone, Debug)]
pub struct FiscoSource {
    rpc: FiscoRpc,
    config: Arc<FiscoSourceConfig>,
    /// Seals verified, shared with [`FiscoSource::verifier`]: the relayer's verify stage does
    /// not check again a block seal this source checked.
    seals: Arc<SealCache>,
}

fn fisco(e: causeway_proofs::fisco::FiscoError) -> Error {
    Error::Fisco(e)
}

/// Whether a receipt log's address names `outbox` (`0x` optional, either case).
fn names(address: &str, outbox: &EvmAddress) -> bool {
    address
        .strip_prefix("0x")
        .unwrap_or(address)
        .eq_ignore_ascii_case(&hex::encode(outbox.0))
}

impl FiscoSource {
    /// A source over `config`, asking its one endpoint.
    pub fn new(config: FiscoSourceConfig) -> Result<Self, Error> {
        let rpc = FiscoRpc::new(config.endpoint.clone(), config.group.clone())?;
        Self::with_rpc(config, rpc)
    }

    /// A source over `config` asking the group's nodes through `rpc` (several endpoints with
    /// failover, the chain's metrics; `config.endpoint` is then unused).
    pub fn with_rpc(config: FiscoSourceConfig, rpc: FiscoRpc) -> Result<Self, Error> {
        if config.range == 0 {
            return Err(Error::Config {
                reason: "range must be at least one block".into(),
            });
        }
        Ok(FiscoSource {
            rpc,
            config: Arc::new(config),
            seals: Arc::default(),
        })
    }

    /// Where this source's requests are counted.
    pub fn metrics(&self) -> &ChainMetrics {
        self.rpc.metrics()
    }

    /// Confirms that the Outbox recorded each of `messages` (`dispatched(id)`), with up to
    /// [`CONFIRMATIONS_IN_FLIGHT`] reads at once. A message it did not record was never sent,
    /// whatever its receipt proof shows: [`Error::InvalidNativeProof`] names it.
    async fn confirm(&self, messages: &[ObservedMessage]) -> Result<(), Error> {
        for chunk in messages.chunks(CONFIRMATIONS_IN_FLIGHT) {
            let mut reads = tokio::task::JoinSet::new();
            for observed in chunk {
                let rpc = self.rpc.clone();
                let outbox = self.config.outbox;
                let id = observed.message.id();
                let at = observed.source.clone();
                reads.spawn(async move {
                    let number = at.block_number.unwrap_or_default();
                    let recorded = rpc.dispatched(&outbox, &id.0, number).await?;
                    Ok::<_, Error>((recorded, id, at))
                });
            }
            while let Some(joined) = reads.join_next().await {
                let (recorded, id, at) = joined.map_err(|e| Error::MissingData {
                    what: format!("the Outbox's record of a message (the read task failed: {e})"),
                })??;
                if !recorded {
                    return Err(Error::InvalidNativeProof {
                        reason: format!(
                            "the receipt of transaction {} in block {} shows an Outbox Dispatch \
                             of message {}, but the Outbox {} has no record of it \
                             (dispatched(id) is false): the log was forged from another \
                             contract's log data (FISCO BCOS receipt hashes have no field \
                             lengths, docs/fisco.md) or the node is not telling the truth; \
                             nothing was accepted from this block",
                            at.transaction_hash.map(|h| h.to_hex()).unwrap_or_default(),
                            at.block_number.unwrap_or_default(),
                            id.to_hex(),
                            self.config.outbox,
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The offline verifier of this source's proofs (it shares the seals this source already
    /// verified, so a block's seal is checked once in a pipeline).
    pub fn verifier(&self) -> FiscoNativeVerifier {
        FiscoNativeVerifier {
            sealers: self.config.sealers.clone(),
            outbox: self.config.outbox,
            seals: Arc::clone(&self.seals),
        }
    }

    /// Block `height`'s header checked: its seal by the configured sealers; returns the block
    /// (without transactions when `only_header`) and its hash.
    async fn sealed_block(
        &self,
        height: u64,
        only_header: bool,
    ) -> Result<(BlockJson, Header, Hash32), Error> {
        let block = self.rpc.block(height, only_header).await?;
        let header = block.header().map_err(fisco)?;
        if u64::try_from(header.number).ok() != Some(height) {
            return Err(Error::InvalidBlock {
                number: height,
                endpoint: self.rpc.endpoint().to_owned(),
                reason: format!("the node answered with block {}", header.number),
            });
        }
        let hash = self
            .seals
            .verify(
                &self.config.sealers,
                &header,
                &block.signatures().map_err(fisco)?,
            )
            .map_err(fisco)?;
        Ok((block, header, hash))
    }
}

impl Source for FiscoSource {
    fn domain(&self) -> Domain {
        self.config.domain
    }

    async fn next_batch(&self, cursor: &Cursor) -> Result<SourceBatch, Error> {
        if let Some((height, id)) = cursor.processed() {
            let (_, _, hash) = self.sealed_block(height, true).await?;
            if hash.0[..] != *id.as_bytes() {
                return Err(Error::ReorgBelowCursor {
                    height,
                    expected: id.clone(),
                    actual: BlockId::from(hash.0),
                });
            }
        }
        let head = self.rpc.block_number().await?;
        let from = cursor.next_height();
        if from > head {
            return Ok(SourceBatch {
                messages: Vec::new(),
                cursor: cursor.clone(),
                final_height: head,
            });
        }
        let to = head.min(from.saturating_add(self.config.range - 1));
        let mut messages = Vec::new();
        let mut last = None;
        for height in from..=to {
            let (mut block, header, hash) = self.sealed_block(height, false).await?;
            let txs = std::mem::take(&mut block.transactions);
            for tx in txs {
                let Some(tx_hash) = tx.as_str().and_then(parse_hash) else {
                    return Err(Error::Decode {
                        what: "getBlockByNumber transactions",
                        reason: format!("{tx} is not a transaction hash"),
                    });
                };
                let receipt =
                    self.rpc
                        .receipt(&tx_hash)
                        .await?
                        .ok_or_else(|| Error::MissingData {
                            what: format!("receipt of {} in block {height}", tx_hash.to_hex()),
                        })?;
                if !receipt
                    .log_entries
                    .iter()
                    .any(|l| names(&l.address, &self.config.outbox))
                {
                    continue;
                }
                let proof = FiscoSourceProof {
                    block: block.clone(),
                    receipt,
                };
                // The block's seal was checked once above, for all its receipts.
                let verified = proof
                    .verify_receipt(
                        &header,
                        hash,
                        self.config.sealers.mode(),
                        &self.config.outbox,
                    )
                    .map_err(fisco)?;
                let data = serde_json::to_value(&proof).map_err(|e| Error::Decode {
                    what: "FISCO BCOS source proof",
                    reason: e.to_string(),
                })?;
                for dispatched in verified.messages {
                    messages.push(ObservedMessage {
                        message: Message::decode(&dispatched.message)?,
                        source: SourceReference {
                            block_number: Some(height),
                            block_hash: Some(hash),
                            transaction_hash: Some(tx_hash),
                            fabric_tx_id: None,
                            event_index: u64::try_from(dispatched.log_index).ok(),
                        },
                        proof: NativeProof {
                            family: ChainFamily::Fisco,
                            data: data.clone(),
                        },
                    });
                }
            }
            last = Some((height, hash));
        }
        // Every message is confirmed in the Outbox's storage before any is yielded: a forged
        // one refuses the whole batch, so the cursor does not move past it.
        self.confirm(&messages).await?;
        let cursor = match last {
            Some((height, hash)) => Cursor::After {
                height,
                block_id: BlockId::from(hash.0),
            },
            None => cursor.clone(),
        };
        Ok(SourceBatch {
            messages,
            cursor,
            final_height: head,
        })
    }
}

fn parse_hash(text: &str) -> Option<Hash32> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(text), &mut out).ok()?;
    Some(Hash32(out))
}

/// Re-checks a FISCO BCOS source proof offline: the seal, the receipt proof and the `Dispatch`
/// log as the proof splits the receipt.
///
/// Not enough alone for a proof from an untrusted party: another split of the same receipt can
/// show a forged `Dispatch` (docs/fisco.md, "Receipt hash"). [`FiscoSource`] confirms each id in
/// the Outbox's storage before yielding it; `causeway verify --rpc` does the same for bundles.
#[derive(Clone, Debug)]
pub struct FiscoNativeVerifier {
    sealers: SealerSet,
    outbox: EvmAddress,
    /// Seals already verified against `sealers` (a block's seal is checked once however many
    /// of its messages are verified).
    seals: Arc<SealCache>,
}

impl FiscoNativeVerifier {
    /// A verifier trusting `sealers` and `outbox`.
    pub fn new(sealers: SealerSet, outbox: EvmAddress) -> Self {
        FiscoNativeVerifier {
            sealers,
            outbox,
            seals: Arc::default(),
        }
    }
}

impl NativeVerifier for FiscoNativeVerifier {
    fn family(&self) -> ChainFamily {
        ChainFamily::Fisco
    }

    fn verify(&self, observed: &ObservedMessage) -> Result<(), Error> {
        let invalid = |reason: String| Error::InvalidNativeProof { reason };
        if observed.proof.family != ChainFamily::Fisco {
            return Err(invalid(format!(
                "a {:?} proof, not FISCO BCOS",
                observed.proof.family
            )));
        }
        let proof: FiscoSourceProof =
            serde_json::from_value::<FiscoSourceProof>(observed.proof.data.clone())
                .map_err(|e| invalid(format!("not a FISCO BCOS source proof: {e}")))?;
        // FiscoSourceProof::verify, with the seal checked once per block.
        let header = proof.block.header().map_err(fisco)?;
        let hash = self
            .seals
            .verify(
                &self.sealers,
                &header,
                &proof.block.signatures().map_err(fisco)?,
            )
            .map_err(fisco)?;
        let verified = proof
            .verify_receipt(&header, hash, self.sealers.mode(), &self.outbox)
            .map_err(fisco)?;
        let source = &observed.source;
        if source.block_hash != Some(verified.block_hash)
            || source.block_number != u64::try_from(verified.number).ok()
        {
            return Err(invalid(
                "the proof is of another block than the source names".into(),
            ));
        }
        let encoded = observed.message.encode();
        let index = source.event_index.and_then(|i| usize::try_from(i).ok());
        if !verified
            .messages
            .iter()
            .any(|m| Some(m.log_index) == index && m.message == encoded)
        {
            return Err(invalid(
                "no Outbox Dispatch log at the source's event index carries this message".into(),
            ));
        }
        Ok(())
    }
}
