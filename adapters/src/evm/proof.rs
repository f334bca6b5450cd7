//! The EVM native proof: building an [`EvmSourceProof`] from what a node returned, and
//! [`EvmNativeVerifier`], the offline check of one.
//!
//! The proof chains a trusted block hash to the message bytes: header RLP (hashes to the block
//! hash) → receipts root → the receipt of the emitting transaction (Merkle-Patricia proof,
//! rebuilt by us from all of the block's receipts) → the Outbox's `Dispatch` log → the bytes;
//! and header → transactions root → the emitting transaction (rebuilt from all of the block's
//! transactions), which proves the source reference's transaction hash. The checks themselves
//! live in `causeway_proofs::evm` (no I/O); this module feeds them.

use alloy::primitives::{Address, B256};
use causeway_proofs::bundle::ChainFamily;
use causeway_proofs::evm::{
    CheckedBlocks, EvmSourceProof, ProvenSource, ReceiptTrie, TransactionTrie, Unproved,
    dispatch_topic0, header_hash,
};
use causeway_proofs::{Domain, EvmAddress, Hash32};

use crate::Error;
use crate::chain::{NativeVerifier, ObservedMessage};

use super::json::{BlockReceipt, FullBlock};

/// A proofs-crate address from an alloy one.
pub(crate) fn evm_address(a: Address) -> EvmAddress {
    EvmAddress(a.into_array())
}

/// A proofs-crate hash from an alloy one.
pub(crate) fn hash32(h: B256) -> Hash32 {
    Hash32(h.0)
}

/// Maps a rejected native proof to this crate's error: a log from another emitter is
/// [`Error::ForeignEmitter`], anything else [`Error::InvalidNativeProof`].
pub(crate) fn proof_error(e: causeway_proofs::Error) -> Error {
    match e {
        causeway_proofs::Error::LogEmitterMismatch { expected, actual } => Error::ForeignEmitter {
            emitter: actual.to_hex(),
            expected: expected.to_hex(),
        },
        other => Error::InvalidNativeProof {
            reason: other.to_string(),
        },
    }
}

/// One block's data for proofs: its header RLP, its receipts trie and its transactions trie,
/// checked against the block hash and the header's roots before any proof is built from them.
pub(crate) struct BlockProofs {
    hash: B256,
    header_rlp: Vec<u8>,
    trie: ReceiptTrie,
    transactions: TransactionTrie,
    /// Logs per receipt, by transaction index (to find a log's position in its receipt).
    log_counts: Vec<usize>,
}

impl BlockProofs {
    /// Checks the block's header, transactions and receipts as the node sent them (read by
    /// [`super::json`]), refusing a node whose data does not hash to the block hash and roots it
    /// claims.
    pub(crate) fn new(block: &FullBlock, receipts: &[BlockReceipt]) -> Result<Self, Error> {
        let hash = block.hash;
        let header_rlp = alloy::rlp::encode(&block.header);
        let computed = header_hash(&header_rlp);
        if computed.0 != hash.0 {
            return Err(Error::InvalidNativeProof {
                reason: format!(
                    "the node's header of block {} re-encodes to hash {computed}, not {hash}",
                    block.header.number
                ),
            });
        }
        let transactions = TransactionTrie::new(&block.transactions);
        if transactions.root().0 != block.header.transactions_root.0 {
            return Err(Error::InvalidNativeProof {
                reason: format!(
                    "the transactions of block {hash} have root {}, the header says {}",
                    transactions.root(),
                    block.header.transactions_root
                ),
            });
        }
        let tx_count = block.transactions.len();
        if receipts.len() != tx_count {
            return Err(Error::MissingData {
                what: format!("receipts of block {hash}: {} of {tx_count}", receipts.len()),
            });
        }
        let mut encoded = Vec::with_capacity(receipts.len());
        let mut log_counts = Vec::with_capacity(receipts.len());
        for (i, r) in receipts.iter().enumerate() {
            if r.transaction_index != Some(i as u64) || r.block_hash != Some(hash) {
                return Err(Error::InvalidNativeProof {
                    reason: format!(
                        "receipt {i} of block {hash} is for transaction {:?} of block {:?}",
                        r.transaction_index, r.block_hash
                    ),
                });
            }
            log_counts.push(r.log_count);
            encoded.push(r.encoded.as_slice());
        }
        let trie = ReceiptTrie::new(&encoded);
        if trie.root().0 != block.header.receipts_root.0 {
            return Err(Error::InvalidNativeProof {
                reason: format!(
                    "the receipts of block {hash} have root {}, the header says {}",
                    trie.root(),
                    block.header.receipts_root
                ),
            });
        }
        Ok(BlockProofs {
            hash,
            header_rlp,
            trie,
            transactions,
            log_counts,
        })
    }

    /// The position among its receipt's logs of the log with block-wide index `log_index`
    /// emitted by transaction `tx_index`.
    pub(crate) fn log_index_in_receipt(&self, tx_index: u64, log_index: u64) -> Option<u32> {
        let tx = usize::try_from(tx_index).ok()?;
        let before: usize = self.log_counts.get(..tx)?.iter().sum();
        let within = usize::try_from(log_index).ok()?.checked_sub(before)?;
        if within >= *self.log_counts.get(tx)? {
            return None;
        }
        u32::try_from(within).ok()
    }

    /// The proof of the log at `log_index` (block-wide) of transaction `tx_index`, built from
    /// this block's data, whose header hash and transaction and receipt roots [`BlockProofs::new`]
    /// checked. It is not verified here: the relayer's verify stage checks every proof once,
    /// offline, with [`EvmNativeVerifier`] (against the block hash, the Outbox, the message bytes
    /// and the source reference) before anything of its batch is accepted; checking it here too
    /// doubled that cost for nothing (the same data, the same check).
    pub(crate) fn prove(&self, tx_index: u64, log_index: u64) -> Result<EvmSourceProof, Error> {
        let log_index_in_receipt = self.log_index_in_receipt(tx_index, log_index).ok_or_else(
            || Error::InvalidNativeProof {
                reason: format!(
                    "log {log_index} is not among the logs of transaction {tx_index} in block {}",
                    self.hash
                ),
            },
        )?;
        let receipt_proof = self
            .trie
            .proof(tx_index)
            .map_err(proof_error)?
            .with_block_hash(hash32(self.hash));
        let transaction_proof = self.transactions.proof(tx_index).map_err(proof_error)?;
        Ok(EvmSourceProof {
            header: self.header_rlp.clone(),
            receipt_proof,
            log_index_in_receipt,
            transaction_proof: Some(transaction_proof),
        })
    }
}

/// Checks EVM source proofs offline for one origin: its domain and its Outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvmNativeVerifier {
    /// The origin's domain (every proven message must name it as origin).
    pub domain: Domain,
    /// The origin's Outbox (the only accepted emitter).
    pub outbox: Address,
}

/// What [`EvmNativeVerifier::check`] established about an observed message's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedSource {
    /// Where the proof shows the log was emitted.
    pub proven: ProvenSource,
    /// Fields of the source reference the proof neither proves nor contradicts.
    pub unproved: Vec<Unproved>,
}

impl EvmNativeVerifier {
    /// Checks the native proof from the source reference's block hash down to the message
    /// bytes, then every field of the source reference against what the proof shows: a
    /// contradiction is refused, a field the proof cannot decide is returned as unproved.
    /// That the block hash is on the origin chain is the caller's to establish.
    pub fn check(&self, observed: &ObservedMessage) -> Result<CheckedSource, Error> {
        self.check_in(observed, None)
    }

    /// [`EvmNativeVerifier::check`] for one of many messages: the headers and trie nodes
    /// `blocks` holds from earlier checks are not hashed again (a block's messages share its
    /// header and the nodes near its tries' roots). Same result and errors as `check`; see
    /// [`CheckedBlocks`] for why.
    pub fn check_with(
        &self,
        observed: &ObservedMessage,
        blocks: &mut CheckedBlocks,
    ) -> Result<CheckedSource, Error> {
        self.check_in(observed, Some(blocks))
    }

    fn check_in(
        &self,
        observed: &ObservedMessage,
        blocks: Option<&mut CheckedBlocks>,
    ) -> Result<CheckedSource, Error> {
        let invalid = |reason: String| Error::InvalidNativeProof { reason };
        if observed.message.origin() != self.domain {
            return Err(invalid(format!(
                "message origin {} is not this chain's domain {}",
                observed.message.origin(),
                self.domain
            )));
        }
        let Some(block_hash) = observed.source.block_hash else {
            return Err(invalid("the source reference names no block hash".into()));
        };
        let proof = EvmSourceProof::from_native_proof(&observed.proof).map_err(proof_error)?;
        let outbox = evm_address(self.outbox);
        let message = observed.message.encode();
        let proven = match blocks {
            Some(blocks) => {
                proof.verify_source_with(&block_hash, &outbox, &dispatch_topic0(), &message, blocks)
            }
            None => proof.verify_source(&block_hash, &outbox, &dispatch_topic0(), &message),
        }
        .map_err(proof_error)?;
        let unproved = proven
            .check_reference(&observed.source)
            .map_err(proof_error)?;
        Ok(CheckedSource { proven, unproved })
    }
}

impl NativeVerifier for EvmNativeVerifier {
    fn family(&self) -> ChainFamily {
        ChainFamily::Evm
    }

    fn verify(&self, observed: &ObservedMessage) -> Result<(), Error> {
        self.check(observed).map(|_| ())
    }

    /// One [`CheckedBlocks`] for the whole batch: each block's header and shared trie nodes
    /// are checked once, not once per message.
    fn verify_all(&self, observed: &[ObservedMessage]) -> Result<(), (usize, Error)> {
        let mut blocks = CheckedBlocks::new();
        for (i, o) in observed.iter().enumerate() {
            self.check_with(o, &mut blocks).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}
