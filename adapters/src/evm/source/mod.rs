//! [`EvmSource`]: final `Dispatch` events of one Outbox, with their receipt proofs.
//!
//! One [`Source::next_batch`] call:
//! 1. reads the final head (N confirmations below `latest`, or the `finalized` tag);
//! 2. checks that the cursor's block is still canonical ([`Error::ReorgBelowCursor`] if not);
//! 3. asks `eth_getLogs` for the Outbox's `Dispatch` logs over the next block range, halving
//!    the range while the node refuses it ([`RangeSizer`]);
//! 4. drops logs marked `removed`, from another address (a node must not return them, but a
//!    hostile one may) or whose message does not check out (id, origin, nonce, destination),
//!    counting each in [`SourceCounters`];
//! 5. for each block holding logs: fetches the block and all its receipts, checks the header
//!    hash and the transaction and receipt roots, builds each message's [`EvmSourceProof`]
//!    (verified once, offline, by the relayer's verify stage with [`EvmNativeVerifier`]);
//! 6. fetches the range's last header for the new cursor. Every header passes the
//!    [`HeaderWindow`] continuity checks; a log whose block hash differs from the canonical
//!    block at its height is a reorganisation during the scan, which is retried from the same
//!    cursor (nothing was yielded).
//!
//! [`EvmSourceProof`]: causeway_proofs::evm::EvmSourceProof
//! [`EvmNativeVerifier`]: super::EvmNativeVerifier

mod filter;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use alloy::eips::{BlockId as AlloyBlockId, BlockNumberOrTag};
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{Block, Filter, Log};
use alloy::sol_types::SolEvent;
use causeway_proofs::Domain;
use causeway_proofs::bundle::SourceReference;
use futures_util::StreamExt as _;

use self::filter::Candidate;
use super::Finality;
use super::bindings::IOutbox;
use super::json::{BlockReceipt, FullBlock, FullBlockAnswer, LogsAnswer, ReceiptsAnswer};
use super::proof::{BlockProofs, hash32};
use super::range::RangeSizer;
use super::reorg::{HeaderWindow, SeenHeader};
use super::rpc::{Rpc, RpcConfig};
use crate::Error;
use crate::chain::{BlockId, Cursor, ObservedMessage, Source, SourceBatch};
use crate::metrics::ReorgDepth;

/// Configuration of an [`EvmSource`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmSourceConfig {
    /// The node.
    pub rpc: RpcConfig,
    /// This chain's Causeway domain (every message must name it as origin).
    pub domain: Domain,
    /// The Outbox: the only emitter whose events count.
    pub outbox: Address,
    /// When a block is final.
    pub finality: Finality,
    /// Blocks per log query at start.
    pub initial_range: u64,
    /// Most blocks per log query.
    pub max_range: u64,
    /// Successful queries in a row before the range grows by a quarter.
    pub grow_after: u32,
    /// Most logs one batch takes from a multi-block range (a single block is taken whole).
    pub max_logs_per_batch: usize,
    /// Recent headers kept for continuity checks.
    pub header_window: usize,
    /// Scans restarted after a reorganisation above the cursor before giving up (the error is
    /// then [`Error::ReorgAboveCursor`], retryable).
    pub rescans: u32,
    /// Blocks (each a block and its receipts: two requests) fetched at once while a scan
    /// proves the earlier ones, in order. At least 1.
    pub block_fetches: usize,
}

impl EvmSourceConfig {
    /// Defaults for `outbox` of `domain` at `url`: 2 000-block queries (up to 10 000), growth
    /// after 5 successes, at most 2 000 logs per batch, a 256-header window, 3 re-scans, 4
    /// blocks fetched at once.
    pub fn new(
        url: impl Into<String>,
        domain: Domain,
        outbox: Address,
        finality: Finality,
    ) -> Self {
        EvmSourceConfig {
            rpc: RpcConfig::new(url),
            domain,
            outbox,
            finality,
            initial_range: 2_000,
            max_range: 10_000,
            grow_after: 5,
            max_logs_per_batch: 2_000,
            header_window: 256,
            rescans: 3,
            block_fetches: 4,
        }
    }
}

/// Counters of what the source ignored or adapted to (for metrics and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceCounters {
    /// `Dispatch`-shaped logs from another address than the Outbox.
    pub foreign_logs: u64,
    /// Logs marked `removed` by the node.
    pub removed_logs: u64,
    /// Outbox logs whose message did not decode or did not match its topics or domain.
    pub malformed_logs: u64,
    /// Log queries refused as too large.
    pub range_refusals: u64,
    /// Scans restarted because the chain reorganised above the cursor.
    pub rescans: u64,
}

#[derive(Default)]
struct Counters {
    foreign_logs: AtomicU64,
    removed_logs: AtomicU64,
    malformed_logs: AtomicU64,
    range_refusals: AtomicU64,
    rescans: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The origin side of an EVM chain: a cloneable handle over one RPC connection.
#[derive(Clone)]
pub struct EvmSource {
    inner: Arc<Inner>,
}

struct Inner {
    rpc: Rpc,
    config: EvmSourceConfig,
    topic0: B256,
    sizer: Mutex<RangeSizer>,
    window: Mutex<HeaderWindow>,
    counters: Counters,
}

impl core::fmt::Debug for EvmSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EvmSource")
            .field("endpoint", &self.inner.rpc.endpoint())
            .field("domain", &self.inner.config.domain)
            .field("outbox", &self.inner.config.outbox)
            .finish()
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (plain values only).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl EvmSource {
    /// A source as `config` says (connects lazily).
    pub fn new(config: EvmSourceConfig) -> Result<Self, Error> {
        if config.outbox == Address::ZERO {
            return Err(Error::Config {
                reason: "the Outbox address is zero".into(),
            });
        }
        let rpc = Rpc::connect(&config.rpc)?;
        let sizer = RangeSizer::new(config.initial_range, config.max_range, config.grow_after);
        let window = HeaderWindow::new(config.header_window);
        Ok(EvmSource {
            inner: Arc::new(Inner {
                rpc,
                topic0: IOutbox::Dispatch::SIGNATURE_HASH,
                sizer: Mutex::new(sizer),
                window: Mutex::new(window),
                counters: Counters::default(),
                config,
            }),
        })
    }

    /// The offline verifier of this source's proofs.
    pub fn verifier(&self) -> super::EvmNativeVerifier {
        super::EvmNativeVerifier {
            domain: self.inner.config.domain,
            outbox: self.inner.config.outbox,
        }
    }

    /// What the source ignored or adapted to so far.
    pub fn counters(&self) -> SourceCounters {
        let c = &self.inner.counters;
        SourceCounters {
            foreign_logs: c.foreign_logs.load(Ordering::Relaxed),
            removed_logs: c.removed_logs.load(Ordering::Relaxed),
            malformed_logs: c.malformed_logs.load(Ordering::Relaxed),
            range_refusals: c.range_refusals.load(Ordering::Relaxed),
            rescans: c.rescans.load(Ordering::Relaxed),
        }
    }

    /// The current log query span, in blocks.
    pub fn range(&self) -> u64 {
        lock(&self.inner.sizer).current()
    }

    /// The highest final block now, or `None` while no block is final.
    pub async fn final_height(&self) -> Result<Option<u64>, Error> {
        super::final_height(&self.inner.rpc, self.inner.config.finality).await
    }

    /// The canonical block at `height` (transaction hashes only).
    async fn block(&self, height: u64) -> Result<Block, Error> {
        super::block_at(&self.inner.rpc, height).await
    }

    /// Block `height` with its full transactions (to prove a transaction against the header's
    /// transactions root), read by [`super::json`] rather than into alloy's RPC types.
    async fn full_block(&self, height: u64) -> Result<FullBlock, Error> {
        self.inner
            .rpc
            .call("eth_getBlockByNumber", |p| async move {
                p.raw_request::<_, FullBlockAnswer>(
                    "eth_getBlockByNumber".into(),
                    (BlockNumberOrTag::Number(height), true),
                )
                .await
            })
            .await?
            .0
            .ok_or_else(|| Error::MissingData {
                what: format!("block {height}"),
            })
    }

    /// Records `block`'s header in the window, classifying a conflict against the cursor.
    fn observe(&self, block: &Block, cursor_height: Option<u64>) -> Result<(), Error> {
        self.observe_header(&block.header.inner, block.header.hash, cursor_height)
    }

    /// Records the header `header` of hash `hash` in the window, classifying a conflict against
    /// the cursor.
    fn observe_header(
        &self,
        header: &alloy::consensus::Header,
        hash: B256,
        cursor_height: Option<u64>,
    ) -> Result<(), Error> {
        let seen = SeenHeader {
            height: header.number,
            hash,
            parent: header.parent_hash,
        };
        lock(&self.inner.window)
            .observe(seen)
            .map_err(|c| c.into_error(cursor_height))
    }

    /// The Outbox's `Dispatch` logs from `from` on, over as many blocks as the node allows (up
    /// to `final_head`): returns the last block covered and the logs.
    async fn logs(&self, from: u64, final_head: u64) -> Result<(u64, Vec<Log>), Error> {
        let inner = &self.inner;
        let mut attempt = 0u32;
        loop {
            let span = lock(&inner.sizer).current();
            let to = final_head.min(from.saturating_add(span - 1));
            let filter = Filter::new()
                .address(inner.config.outbox)
                .event_signature(inner.topic0)
                .from_block(from)
                .to_block(to);
            let result = inner
                .rpc
                .once("eth_getLogs", |p| async move {
                    p.raw_request::<_, LogsAnswer>("eth_getLogs".into(), (&filter,))
                        .await
                        .map(|answer| answer.0)
                })
                .await;
            match result {
                Ok(logs) if logs.len() > inner.config.max_logs_per_batch && to > from => {
                    bump(&inner.counters.range_refusals);
                    lock(&inner.sizer).too_large(to - from + 1, None);
                }
                Ok(logs) => {
                    lock(&inner.sizer).succeeded();
                    return Ok((to, logs));
                }
                Err(Error::RangeTooLarge {
                    suggested, message, ..
                }) => {
                    bump(&inner.counters.range_refusals);
                    if !lock(&inner.sizer).too_large(to - from + 1, suggested) {
                        return Err(Error::RangeTooLarge {
                            from,
                            to,
                            suggested,
                            message,
                        });
                    }
                    tracing::debug!(
                        from,
                        to,
                        span = self.range(),
                        "log range refused, shrinking"
                    );
                }
                Err(Error::Timeout { .. }) if to > from => {
                    // A node that times out on a wide query answers a narrower one.
                    bump(&inner.counters.range_refusals);
                    lock(&inner.sizer).too_large(to - from + 1, None);
                }
                Err(e) if e.is_retryable() && attempt + 1 < inner.rpc.policy().max_attempts => {
                    let delay = inner.rpc.policy().delay(attempt, &e);
                    tracing::debug!(error = %e, ?delay, "eth_getLogs failed, retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Block `height` with its full transactions and its receipts, for the logs `group` found
    /// in it: [`Error::ReorgAboveCursor`] if the canonical block there is not theirs.
    async fn fetch_block(
        &self,
        height: u64,
        group: Vec<Candidate>,
    ) -> Result<(u64, Vec<Candidate>, FullBlock, Vec<BlockReceipt>), Error> {
        let block = self.full_block(height).await?;
        if let Some(c) = group.iter().find(|c| c.block_hash != block.hash) {
            return Err(Error::ReorgAboveCursor {
                height,
                expected: BlockId::from(c.block_hash.0),
                actual: BlockId::from(block.hash.0),
            });
        }
        let hash = block.hash;
        let receipts = self
            .inner
            .rpc
            .call("eth_getBlockReceipts", |p| async move {
                p.raw_request::<_, ReceiptsAnswer>(
                    "eth_getBlockReceipts".into(),
                    (AlloyBlockId::hash(hash),),
                )
                .await
            })
            .await?
            .0
            .ok_or_else(|| Error::MissingData {
                what: format!("receipts of block {hash}"),
            })?;
        Ok((height, group, block, receipts))
    }

    /// One scan from `cursor` (see the module docs).
    async fn scan(&self, cursor: &Cursor) -> Result<SourceBatch, Error> {
        let cursor_height = cursor.processed().map(|(h, _)| h);
        let final_head = self.final_height().await?;
        let unchanged = |final_height| SourceBatch {
            messages: Vec::new(),
            cursor: cursor.clone(),
            final_height,
        };
        if let Some((height, id)) = cursor.processed() {
            let block = self.block(height).await?;
            let actual = BlockId::from(block.header.hash.0);
            if actual != *id {
                return Err(Error::ReorgBelowCursor {
                    height,
                    expected: id.clone(),
                    actual,
                });
            }
            self.observe(&block, cursor_height)?;
        }
        let Some(final_head) = final_head else {
            return Ok(unchanged(0));
        };
        let from = cursor.next_height();
        if from > final_head {
            return Ok(unchanged(final_head));
        }
        let (to, logs) = self.logs(from, final_head).await?;
        let candidates = self.candidates(logs)?;

        let mut by_block: BTreeMap<u64, Vec<Candidate>> = BTreeMap::new();
        for c in candidates {
            by_block.entry(c.block_number).or_default().push(c);
        }
        // Blocks are fetched `block_fetches` at a time and proven in height order as they
        // arrive: a catching-up source waited on each block's two round trips in turn.
        let mut fetched = futures_util::stream::iter(by_block)
            .map(|(height, group)| self.fetch_block(height, group))
            .buffered(self.inner.config.block_fetches.max(1));
        let mut messages = Vec::new();
        while let Some(next) = fetched.next().await {
            let (height, group, block, receipts) = next?;
            self.observe_header(&block.header, block.hash, cursor_height)?;
            let hash = block.hash;
            let proofs = BlockProofs::new(&block, &receipts)?;
            for c in group {
                let source = SourceReference {
                    block_number: Some(height),
                    block_hash: Some(hash32(hash)),
                    transaction_hash: Some(hash32(c.tx_hash)),
                    fabric_tx_id: None,
                    event_index: Some(c.log_index),
                };
                let proof = proofs.prove(c.tx_index, c.log_index)?;
                let native = proof.to_native_proof().map_err(super::proof::proof_error)?;
                messages.push(ObservedMessage {
                    message: c.message,
                    source,
                    proof: native,
                });
            }
        }
        drop(fetched);
        let end = self.block(to).await?;
        self.observe(&end, cursor_height)?;
        Ok(SourceBatch {
            messages,
            cursor: Cursor::After {
                height: to,
                block_id: BlockId::from(end.header.hash.0),
            },
            final_height: final_head,
        })
    }
}

impl Source for EvmSource {
    fn domain(&self) -> Domain {
        self.inner.config.domain
    }

    #[tracing::instrument(name = "evm_source", skip_all,
        fields(domain = %self.inner.config.domain, from = cursor.next_height()))]
    async fn next_batch(&self, cursor: &Cursor) -> Result<SourceBatch, Error> {
        let inner = &self.inner;
        let mut rescans = 0u32;
        loop {
            match self.scan(cursor).await {
                Err(e @ Error::ReorgAboveCursor { .. }) => {
                    inner.rpc.metrics().reorg(ReorgDepth::AboveCursor);
                    // Nothing was yielded: forget the headers above the cursor and scan again.
                    lock(&inner.window).forget_above(cursor.next_height().saturating_sub(1));
                    if rescans >= inner.config.rescans {
                        return Err(e);
                    }
                    rescans += 1;
                    bump(&inner.counters.rescans);
                    tracing::warn!(error = %e, rescans, "chain moved during a scan; scanning again");
                }
                Err(e @ Error::ReorgBelowCursor { .. }) => {
                    inner.rpc.metrics().reorg(ReorgDepth::BelowCursor);
                    return Err(e);
                }
                other => return other,
            }
        }
    }
}
