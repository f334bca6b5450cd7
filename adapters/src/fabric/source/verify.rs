//! Verifying a run of blocks fetched from a cursor, on several cores: the hash chain from the
//! cursor (sequential, cheap), then the data hash and orderer signatures of every block and the
//! creator and endorsement signatures of every dispatching transaction, as independent jobs on
//! scoped worker threads. The result keeps the longest prefix of blocks that verified, so that
//! a bad block stops the source exactly there.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use causeway_proofs::Message;

use crate::Error;
use crate::chain::Cursor;
use crate::fabric::{FabricBlock, FabricError, ValidationCode};
use causeway_proofs::fabric::{Candidate, Checker, Skip};

/// What was ignored in the verified blocks (see [`super::FabricSourceCounters`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ignored {
    pub(crate) invalid_tx_events: u64,
    pub(crate) foreign_events: u64,
    pub(crate) malformed_events: u64,
}

/// One message of a verified block.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) tx_index: u32,
    pub(crate) tx_id: String,
    pub(crate) message: Message,
}

/// The verified prefix of the blocks and their messages, and the error of the first block that
/// failed, if any.
#[derive(Debug)]
pub(crate) struct Verified {
    /// Blocks that passed, in order, each with its messages in transaction order.
    pub(crate) blocks: Vec<(FabricBlock, Vec<Found>)>,
    /// What the passed blocks held that was ignored.
    pub(crate) ignored: Ignored,
    /// Why the block after the prefix failed.
    pub(crate) error: Option<Error>,
}

/// The outcome of one transaction.
enum TxResult {
    Found(Found),
    Skipped(Skip),
}

/// One unit of work.
#[derive(Clone, Copy)]
enum Job {
    Block(usize),
    Tx(usize, usize),
}

fn block_error(endpoint: &str, number: u64, error: Error) -> Error {
    let reason = match error {
        Error::InvalidNativeProof { reason } => reason,
        other => other.to_string(),
    };
    Error::InvalidBlock {
        endpoint: endpoint.to_owned(),
        number,
        reason,
    }
}

/// The hash-chain check: the first block links to the cursor's block, each next one to the
/// block before it. Returns how many blocks link up and the error at the first that does not.
fn chain_prefix(cursor: &Cursor, blocks: &[FabricBlock]) -> (usize, Option<FabricError>) {
    let mut previous = cursor
        .processed()
        .map(|(height, id)| (height, id.as_bytes().to_vec()));
    for (i, block) in blocks.iter().enumerate() {
        if let Some((height, hash)) = &previous {
            if block.number() != height + 1 {
                return (
                    i,
                    Some(FabricError::NotConsecutive {
                        previous: *height,
                        next: block.number(),
                    }),
                );
            }
            if block.header().previous_hash != *hash {
                return (
                    i,
                    Some(FabricError::BrokenHashChain {
                        number: block.number(),
                        claimed: hex::encode(&block.header().previous_hash),
                        computed: hex::encode(hash),
                    }),
                );
            }
        }
        previous = Some((block.number(), block.header_hash().0.to_vec()));
    }
    (blocks.len(), None)
}

/// Verifies `blocks` (consecutive, from the cursor) with `workers` threads.
pub(crate) fn verify_blocks(
    checker: &Checker,
    endpoint: &str,
    cursor: &Cursor,
    mut blocks: Vec<FabricBlock>,
    workers: usize,
    at: SystemTime,
) -> Verified {
    let (linked, chain_error) = chain_prefix(cursor, &blocks);
    let mut first_error: Option<(usize, Error)> = chain_error.map(|e| {
        let number = blocks[linked].number();
        (linked, block_error(endpoint, number, e.into()))
    });
    blocks.truncate(linked);

    // Validation codes (no cryptography): a block without one code per transaction fails.
    let mut codes: Vec<Vec<ValidationCode>> = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        match block.validation_codes() {
            Ok(c) => codes.push(c),
            Err(e) => {
                first_error = Some((i, block_error(endpoint, block.number(), e.into())));
                break;
            }
        }
    }
    blocks.truncate(codes.len());

    let mut jobs = Vec::new();
    for (b, block_codes) in codes.iter().enumerate() {
        jobs.push(Job::Block(b));
        jobs.extend((0..block_codes.len()).map(|t| Job::Tx(b, t)));
    }
    let run = |job: Job| -> Result<Option<TxResult>, Error> {
        match job {
            // The channel's genesis block is made by configtxgen, not signed by the ordering
            // service: only its data hash is checked here. It holds configuration, not
            // messages (a message in it requires the signature, below), and block 1's
            // orderer signature covers the link to its header (which is why the batch may not
            // end on it, below).
            Job::Block(b) if blocks[b].number() == 0 => blocks[b]
                .verify_data_hash()
                .map_err(Error::from)
                .map(|()| None),
            Job::Block(b) => checker
                .check_block(&blocks[b], at)
                .map_err(Error::from)
                .map(|()| None),
            Job::Tx(b, t) => match checker.classify(&blocks[b], codes[b][t], t)? {
                Err(skip) => Ok(Some(TxResult::Skipped(skip))),
                Ok(Candidate { tx, message }) => {
                    checker.check_transaction(&tx, at)?;
                    Ok(Some(TxResult::Found(Found {
                        tx_index: u32::try_from(t).map_err(|_| Error::InvalidNativeProof {
                            reason: format!("transaction index {t} exceeds u32"),
                        })?,
                        tx_id: tx.tx_id().to_owned(),
                        message,
                    })))
                }
            },
        }
    };
    let results = run_parallel(&jobs, workers, run);

    // Walk the blocks in order; stop at the first that failed any job.
    let mut ignored = Ignored::default();
    let mut out = Vec::with_capacity(blocks.len());
    // Jobs were queued block by block: the block's own check, then one per transaction.
    let mut results = results.into_iter();
    for (b, block) in blocks.into_iter().enumerate() {
        let mut found = Vec::new();
        let mut local = Ignored::default();
        let mut failed: Option<Error> = None;
        for result in results.by_ref().take(codes[b].len() + 1) {
            match result {
                Ok(None) => {}
                Ok(Some(TxResult::Found(f))) => found.push(f),
                Ok(Some(TxResult::Skipped(Skip::NotValid { .. }))) => local.invalid_tx_events += 1,
                Ok(Some(TxResult::Skipped(Skip::Foreign { .. }))) => local.foreign_events += 1,
                Ok(Some(TxResult::Skipped(Skip::Malformed { reason }))) => {
                    tracing::warn!(block = block.number(), %reason, "ignored a malformed outbox event");
                    local.malformed_events += 1;
                }
                Ok(Some(TxResult::Skipped(Skip::NoDispatch))) => {}
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        if failed.is_none() {
            // Fabric marks a repeated tx id DUPLICATE_TXID; a block holding one twice as VALID
            // is not what a committer wrote.
            let mut ids = std::collections::BTreeSet::new();
            if let Some(f) = found.iter().find(|f| !ids.insert(f.tx_id.as_str())) {
                failed = Some(Error::InvalidNativeProof {
                    reason: format!(
                        "transaction {} appears twice marked VALID (Fabric marks the second DUPLICATE_TXID)",
                        f.tx_id
                    ),
                });
            }
        }
        if failed.is_none() && block.number() == 0 && !found.is_empty() {
            failed = checker.check_block(&block, at).err().map(Error::from);
        }
        if let Some(e) = failed {
            first_error = Some((b, block_error(endpoint, block.number(), e)));
            break;
        }
        ignored.invalid_tx_events += local.invalid_tx_events;
        ignored.foreign_events += local.foreign_events;
        ignored.malformed_events += local.malformed_events;
        out.push((block, found));
    }
    // A batch never ends on an unsigned genesis block: its only proof is block 1's orderer
    // signature over the link to it, so without block 1 a forged block 0 would set a cursor
    // that no real block links to. It is read again with block 1 next time.
    if out
        .last()
        .is_some_and(|(block, _)| block.number() == 0 && checker.check_block(block, at).is_err())
    {
        out.pop();
    }
    Verified {
        blocks: out,
        ignored,
        error: first_error.map(|(_, e)| e),
    }
}

/// Runs `run` over `jobs` on up to `workers` scoped threads; results in job order.
fn run_parallel<T: Send>(jobs: &[Job], workers: usize, run: impl Fn(Job) -> T + Sync) -> Vec<T> {
    let workers = workers.clamp(1, jobs.len().max(1));
    if workers == 1 {
        return jobs.iter().map(|&job| run(job)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut indexed: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&job) = jobs.get(i) else { break };
                        mine.push((i, run(job)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    indexed.sort_unstable_by_key(|(i, _)| *i);
    indexed.into_iter().map(|(_, r)| r).collect()
}
