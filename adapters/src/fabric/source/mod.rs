//! [`FabricSource`]: the outbox chaincode's `causeway.Dispatch` events from a channel's
//! committed blocks, each with its block as native proof.
//!
//! One [`Source::next_batch`] call:
//! 1. reads full blocks from the peer's Deliver service, from the cursor on (keeping the stream
//!    open between calls while the cursor follows it): waits up to
//!    [`FabricSourceConfig::idle_wait`] for the first, then takes what follows within
//!    [`FabricSourceConfig::linger`], at most [`FabricSourceConfig::max_blocks`] and
//!    [`FabricSourceConfig::max_batch_bytes`];
//! 2. checks the header hash chain from the cursor's block (Fabric is final on commit: a
//!    block that does not link is never skipped, it is an error);
//! 3. verifies every block once, on [`FabricSourceConfig::workers`] threads: data hash and
//!    orderer signatures, and for every outbox `causeway.Dispatch` event of a VALID
//!    transaction its creator and endorsements against the policy (see
//!    [`FabricNativeVerifier`]). The channel's genesis block (number 0, made by configtxgen and
//!    not signed by the orderers) is taken on its data hash alone unless it claims a message,
//!    and only together with block 1, whose orderer signature covers the link to it: a batch
//!    never ends on an unsigned block 0 (else a forged genesis would wedge the cursor);
//! 4. checks that the messages carry the outbox's nonces one after the other: a nonce seen
//!    before is equivocation (a relabelled twin: the same nonce, another message), a nonce
//!    beyond the next a gap (see [`nonces`]);
//! 5. yields those events in block and transaction order. Events of invalid transactions,
//!    look-alike events of other chaincodes and malformed payloads are ignored and counted
//!    ([`FabricSourceCounters`]).
//!
//! A block that fails any check yields nothing: the blocks before it are returned (the cursor
//! stops just before it), and the next call fails with [`Error::InvalidBlock`] (retryable: the
//! relayer backs off and asks again, from the same cursor).

mod nonces;
mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use causeway_proofs::bundle::SourceReference;
use causeway_proofs::{Domain, Hash32};
use tokio_stream::StreamExt as _;

use super::{BlockStream, FabricBlock, FabricClient, FabricNativeVerifier, FabricVerifierConfig};
use crate::Error;
use crate::chain::{BlockId, Cursor, ObservedMessage, Source, SourceBatch};
use causeway_proofs::fabric::native_proof;

/// The default byte budget of one batch ([`FabricSourceConfig::max_batch_bytes`]): 64 MiB of
/// blocks, which a batch holds in memory (with their proofs) until it is stored.
pub(crate) const DEFAULT_MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// Configuration of a [`FabricSource`].
#[derive(Clone, Debug)]
pub struct FabricSourceConfig {
    /// This channel's Causeway domain (every message must name it as origin).
    pub domain: Domain,
    /// What blocks and transactions are checked against (channel, outbox, trust, policy).
    pub verifier: FabricVerifierConfig,
    /// Most blocks one batch covers.
    pub max_blocks: usize,
    /// Most block bytes (protobuf encoding) one batch reads: once reached, the batch ends
    /// after the block that reached it (a single larger block is still read, alone).
    pub max_batch_bytes: usize,
    /// How long a call waits for the first new block before reporting that it caught up.
    pub idle_wait: Duration,
    /// How long, once a block arrived, the call waits for the next one before returning.
    pub linger: Duration,
    /// Threads checking signatures (0: one per available core).
    pub workers: usize,
}

impl FabricSourceConfig {
    /// Defaults: batches of at most 500 blocks and 64 MiB of blocks, 200 ms idle
    /// wait, 5 ms linger, one worker per core.
    pub fn new(domain: Domain, verifier: FabricVerifierConfig) -> Self {
        Self {
            domain,
            verifier,
            max_blocks: 500,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            idle_wait: Duration::from_millis(200),
            linger: Duration::from_millis(5),
            workers: 0,
        }
    }
}

/// What the source read and ignored so far (for metrics and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FabricSourceCounters {
    /// Blocks verified.
    pub blocks: u64,
    /// Messages yielded.
    pub messages: u64,
    /// Outbox `causeway.Dispatch` events in transactions the committer marked invalid.
    pub invalid_tx_events: u64,
    /// `causeway.Dispatch` events of other chaincodes (look-alikes).
    pub foreign_events: u64,
    /// Outbox events whose payload is not a message of this origin.
    pub malformed_events: u64,
    /// Blocks refused (each refusal counted once per attempt).
    pub refused_blocks: u64,
    /// Deliver streams opened.
    pub streams_opened: u64,
}

#[derive(Default)]
struct Counters {
    blocks: AtomicU64,
    messages: AtomicU64,
    invalid_tx_events: AtomicU64,
    foreign_events: AtomicU64,
    malformed_events: AtomicU64,
    refused_blocks: AtomicU64,
    streams_opened: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// An open Deliver stream and the block it yields next.
struct OpenStream {
    next: u64,
    stream: BlockStream,
}

/// The origin side of a Fabric channel: a cloneable handle over one peer connection.
#[derive(Clone)]
pub struct FabricSource {
    inner: Arc<Inner>,
}

struct Inner {
    client: FabricClient,
    endpoint: String,
    config: FabricSourceConfig,
    verifier: FabricNativeVerifier,
    workers: usize,
    stream: tokio::sync::Mutex<Option<OpenStream>>,
    /// The outbox nonce after the last batch returned (see [`nonces`]).
    next_nonce: std::sync::Mutex<Option<nonces::NextNonce>>,
    counters: Counters,
}

impl std::fmt::Debug for FabricSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FabricSource")
            .field("endpoint", &self.inner.endpoint)
            .field("domain", &self.inner.config.domain)
            .field("channel", &self.inner.config.verifier.channel)
            .field("outbox", &self.inner.config.verifier.outbox_chaincode)
            .finish()
    }
}

impl FabricSource {
    /// A source reading through `client` (connected to `endpoint`, named in errors). Fails
    /// closed on a verifier configuration that [`FabricVerifierConfig::validate`] refuses, and
    /// on a batch bound of zero.
    pub fn new(
        client: FabricClient,
        endpoint: impl Into<String>,
        config: FabricSourceConfig,
    ) -> Result<Self, Error> {
        let verifier = FabricNativeVerifier::new(config.domain, config.verifier.clone())?;
        if config.max_blocks == 0 || config.max_batch_bytes == 0 {
            return Err(Error::Config {
                reason: "max_blocks or max_batch_bytes is 0: the Fabric source could never advance"
                    .into(),
            });
        }
        let workers = if config.workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            config.workers
        };
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                endpoint: crate::redact_endpoint(&endpoint.into()),
                config,
                verifier,
                workers,
                stream: tokio::sync::Mutex::new(None),
                next_nonce: std::sync::Mutex::new(None),
                counters: Counters::default(),
            }),
        })
    }

    /// The offline verifier of this source's proofs (sharing its identity cache).
    pub fn verifier(&self) -> FabricNativeVerifier {
        self.inner.verifier.clone()
    }

    /// What the source read and ignored so far.
    pub fn counters(&self) -> FabricSourceCounters {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FabricSourceCounters {
            blocks: get(&c.blocks),
            messages: get(&c.messages),
            invalid_tx_events: get(&c.invalid_tx_events),
            foreign_events: get(&c.foreign_events),
            malformed_events: get(&c.malformed_events),
            refused_blocks: get(&c.refused_blocks),
            streams_opened: get(&c.streams_opened),
        }
    }

    /// Reads the blocks of the next batch (see the module docs, step 1). Returns them and
    /// whether the stream ran dry (the source caught up). A stream failure with no block read
    /// is the error; after some blocks, the stream is dropped and the blocks returned.
    async fn read(&self, from: u64) -> Result<(Vec<FabricBlock>, bool), Error> {
        let inner = &self.inner;
        let mut guard = inner.stream.lock().await;
        let mut open = match guard.take() {
            Some(open) if open.next == from => open,
            _ => {
                let stream = inner
                    .client
                    .deliver_blocks(&inner.config.verifier.channel, from)
                    .await?;
                add(&inner.counters.streams_opened, 1);
                OpenStream { next: from, stream }
            }
        };
        let mut blocks = Vec::new();
        let mut caught_up = false;
        let mut failure = None;
        let mut bytes = 0usize;
        // From block 0, at least blocks 0 and 1: the genesis block is not signed, and a batch
        // never ends on it (see `verify::verify_blocks`).
        let max_blocks = if from == 0 {
            inner.config.max_blocks.max(2)
        } else {
            inner.config.max_blocks
        };
        while blocks.len() < max_blocks
            && (bytes < inner.config.max_batch_bytes || (from == 0 && blocks.len() < 2))
        {
            // Block 1 is waited for like a first block: without it block 0 is not taken.
            let wait = if blocks.is_empty() || (from == 0 && blocks.len() < 2) {
                inner.config.idle_wait
            } else {
                inner.config.linger
            };
            match tokio::time::timeout(wait, open.stream.next()).await {
                Err(_elapsed) => {
                    caught_up = true;
                    break;
                }
                Ok(Some(Ok(block))) => {
                    bytes = bytes.saturating_add(prost::Message::encoded_len(block.block()));
                    blocks.push(block);
                }
                Ok(Some(Err(e))) => {
                    failure = Some(e);
                    break;
                }
                Ok(None) => {
                    failure = Some(Error::RpcUnavailable {
                        endpoint: inner.endpoint.clone(),
                        source: "protos.Deliver/Deliver: the block stream ended".into(),
                    });
                    break;
                }
            }
        }
        match failure {
            Some(e) if blocks.is_empty() => Err(e),
            Some(e) => {
                tracing::debug!(error = %e, "Deliver stream failed; it is reopened on the next call");
                Ok((blocks, false))
            }
            None => {
                open.next = from + blocks.len() as u64;
                *guard = Some(open);
                Ok((blocks, caught_up))
            }
        }
    }

    /// Forgets the open stream (after a refused block, so that the next call asks again).
    async fn drop_stream(&self) {
        *self.inner.stream.lock().await = None;
    }
}

impl Source for FabricSource {
    fn domain(&self) -> Domain {
        self.inner.config.domain
    }

    #[tracing::instrument(name = "fabric_source", skip_all,
        fields(domain = %self.inner.config.domain, from = cursor.next_height()))]
    async fn next_batch(&self, cursor: &Cursor) -> Result<SourceBatch, Error> {
        let inner = &self.inner;
        let from = cursor.next_height();
        let (blocks, caught_up) = self.read(from).await?;
        let unchanged_height = cursor
            .processed()
            .map_or(from.saturating_sub(1), |(height, _)| height);
        if blocks.is_empty() {
            return Ok(SourceBatch {
                messages: Vec::new(),
                cursor: cursor.clone(),
                final_height: unchanged_height,
            });
        }
        let read = blocks.len();
        let checker = Arc::clone(inner.verifier.checker());
        let endpoint = inner.endpoint.clone();
        let workers = inner.workers;
        let cursor_copy = cursor.clone();
        let mut verified = tokio::task::spawn_blocking(move || {
            verify::verify_blocks(
                &checker,
                &endpoint,
                &cursor_copy,
                blocks,
                workers,
                SystemTime::now(),
            )
        })
        .await
        .map_err(|e| Error::InvalidNativeProof {
            reason: format!("block verification task failed: {e}"),
        })?;
        let expected = {
            let last = inner
                .next_nonce
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            nonces::expected_from(cursor, last.as_ref())
        };
        let next_nonce = nonces::check(expected, &mut verified, &inner.endpoint);

        let c = &inner.counters;
        add(&c.invalid_tx_events, verified.ignored.invalid_tx_events);
        add(&c.foreign_events, verified.ignored.foreign_events);
        add(&c.malformed_events, verified.ignored.malformed_events);
        add(&c.blocks, verified.blocks.len() as u64);
        if let Some(error) = verified.error {
            add(&c.refused_blocks, 1);
            self.drop_stream().await;
            if verified.blocks.is_empty() {
                tracing::warn!(%error, "refused a block from the peer");
                return Err(error);
            }
            tracing::warn!(%error, "refused a block; returning the blocks before it");
        }
        if verified.blocks.is_empty() {
            // Only an unsigned genesis block was read: wait for block 1 to prove it.
            self.drop_stream().await;
            return Ok(SourceBatch {
                messages: Vec::new(),
                cursor: cursor.clone(),
                final_height: unchanged_height,
            });
        }
        let complete = verified.blocks.len() == read;
        let mut messages = Vec::new();
        let mut last = None;
        for (block, found) in verified.blocks {
            let hash = block.header_hash();
            if !found.is_empty() {
                let encoded = BASE64.encode(block.encode());
                for f in found {
                    messages.push(ObservedMessage {
                        message: f.message,
                        source: SourceReference {
                            block_number: Some(block.number()),
                            block_hash: Some(Hash32(hash.0)),
                            transaction_hash: None,
                            fabric_tx_id: Some(f.tx_id),
                            event_index: Some(0),
                        },
                        proof: native_proof(&encoded, f.tx_index),
                    });
                }
            }
            last = Some((block.number(), hash));
        }
        add(&c.messages, messages.len() as u64);
        let (height, hash) = last.expect("at least one verified block when there is no error");
        *inner
            .next_nonce
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(nonces::NextNonce {
            height,
            block_id: BlockId::from(hash.0),
            next: next_nonce,
        });
        Ok(SourceBatch {
            messages,
            cursor: Cursor::After {
                height,
                block_id: BlockId::from(hash.0),
            },
            // Caught up only when the stream ran dry after the last block; otherwise more may
            // be ready now (the next block exists, or was refused and must be asked again).
            final_height: if caught_up && complete {
                height
            } else {
                height + 1
            },
        })
    }
}

#[cfg(test)]
mod tests;
