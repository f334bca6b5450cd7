//! [`FiscoSourceProof`]: the native proof that a FISCO BCOS Outbox emitted messages, checked
//! offline from the configured sealers down to each `Dispatch` log.
//!
//! The chain of checks: the header's hash is signed by a quorum of distinct configured sealers
//! ([`SealerSet::verify_seal`]); the receipt has the forms FISCO BCOS produces
//! ([`Receipt::check_form`]), its hash is proven under the header's receipts root, its block
//! number is the header's, and its transaction succeeded; every log of the Outbox is a strict
//! `Dispatch` whose topics match the message it carries.
//!
//! Limit (see `docs/fisco.md`, "Receipt hash"): FISCO BCOS hashes a receipt's fields without
//! length prefixes, so a contract that logs caller-chosen bytes on the same chain can make a
//! receipt whose bytes also parse as one with a forged Outbox log. These checks refuse every
//! form FISCO BCOS never produces, but cannot rule that out: a proof from an untrusted party
//! is accepted only once the `FiscoOutbox`'s storage confirms the id (`dispatched(id)`, read by
//! the adapter's source and by `causeway verify --rpc`).

use serde::{Deserialize, Serialize};

use super::json::{BlockJson, ReceiptJson};
use super::merkle::{parse_proof, verify_proof};
use super::{CryptoMode, FiscoError, Header, SealerSet};
use crate::evm::{dispatch_topic0, dispatched_message};
use crate::{EvmAddress, Hash32};

/// A proven block header and receipt: the `data` of a bundle's native proof of family
/// `fisco`. JSON: `{"block": {…getBlockByNumber…}, "receipt": {…getTransactionReceipt with
/// txReceiptProof…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscoSourceProof {
    /// The block's header with its signature list (transactions may be omitted).
    pub block: BlockJson,
    /// The receipt with its Merkle proof.
    pub receipt: ReceiptJson,
}

/// A message the proof shows the Outbox emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchedMessage {
    /// Position of the log among the receipt's logs.
    pub log_index: usize,
    /// The canonical message bytes.
    pub message: Vec<u8>,
}

/// What [`FiscoSourceProof::verify`] establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSource {
    /// The block number.
    pub number: i64,
    /// The block hash (signed by the quorum).
    pub block_hash: Hash32,
    /// The receipt hash (proven under the receipts root).
    pub receipt_hash: Hash32,
    /// The Outbox's messages, in log order.
    pub messages: Vec<DispatchedMessage>,
}

/// Whether a log's stored address names `outbox` (40 lowercase hex digits;
/// [`super::Receipt::check_form`] has already refused every other form).
fn is_outbox(address: &str, outbox: &EvmAddress) -> bool {
    address == hex::encode(outbox.0)
}

impl FiscoSourceProof {
    /// Checks the proof against the configured `sealers` and `outbox`.
    ///
    /// Errors, in the order checked: the header's and signatures' forms and the seal
    /// ([`SealerSet::verify_seal`]), the receipt's form, [`FiscoError::MalformedProof`] /
    /// [`FiscoError::LeafNotInProof`] / [`FiscoError::ProofMismatch`],
    /// [`FiscoError::Mismatch`] for the block number, [`FiscoError::ReceiptFailed`], and
    /// [`FiscoError::Event`] for an Outbox log that is not a well-formed `Dispatch`.
    pub fn verify(
        &self,
        sealers: &SealerSet,
        outbox: &EvmAddress,
    ) -> Result<VerifiedSource, FiscoError> {
        let header = self.block.header()?;
        let seal = sealers.verify_seal(&header, &self.block.signatures()?)?;
        self.verify_receipt(&header, seal.hash, sealers.mode(), outbox)
    }

    /// The receipt half of [`FiscoSourceProof::verify`], for a `header` whose seal the caller
    /// already verified (its hash `block_hash`), so a source checks a block's seal once for all
    /// its receipts. Errors as [`FiscoSourceProof::verify`] after the seal.
    pub fn verify_receipt(
        &self,
        header: &Header,
        block_hash: Hash32,
        mode: CryptoMode,
        outbox: &EvmAddress,
    ) -> Result<VerifiedSource, FiscoError> {
        let receipt = self.receipt.receipt()?;
        receipt.check_form()?;
        let receipt_hash = receipt.hash(mode);
        let proof = parse_proof(&self.receipt.tx_receipt_proof)?;
        verify_proof(
            &proof,
            &receipt_hash,
            &header.receipts_root,
            mode,
            "receipt",
        )?;
        if receipt.block_number != header.number {
            return Err(FiscoError::Mismatch {
                what: "receipt block number",
                expected: header.number.to_string(),
                found: receipt.block_number.to_string(),
            });
        }
        if receipt.status != 0 {
            return Err(FiscoError::ReceiptFailed {
                status: receipt.status,
            });
        }
        let topic0 = dispatch_topic0();
        let mut messages = Vec::new();
        for (index, log) in receipt.logs.iter().enumerate() {
            if !is_outbox(&log.address, outbox) {
                continue;
            }
            let topics: Vec<Hash32> = log
                .topics
                .iter()
                .map(|t| {
                    let mut h = [0u8; 32];
                    h.copy_from_slice(t); // 32 bytes by check_form
                    Hash32(h)
                })
                .collect();
            let message = dispatched_message(&topics, &log.data, &topic0)
                .map_err(|source| FiscoError::Event { index, source })?;
            messages.push(DispatchedMessage {
                log_index: index,
                message: message.to_vec(),
            });
        }
        Ok(VerifiedSource {
            number: header.number,
            block_hash,
            receipt_hash,
            messages,
        })
    }
}
