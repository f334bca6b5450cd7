//! [`EvmSourceProof`]: the native proof that an EVM Outbox emitted a message, checked from a
//! trusted block hash down to the `Dispatch` log's bytes.
//!
//! The chain of checks: the header hashes to the trusted block hash; the header's receiptsRoot
//! is the root the receipt proof verifies under; the proven receipt's transaction succeeded;
//! the chosen log was emitted by the configured Outbox, is a `Dispatch` event, and carries
//! exactly the message bytes, with the message id, nonce and destination as its indexed
//! topics. Anything else is rejected with the error that names the broken link.

use serde::{Deserialize, Serialize};

use super::checked::{CheckedBlocks, HeaderFacts, check_header};
use super::header::{EvmHeader, decode_header};
use super::json::{de_header, ser_hex};
use super::receipt::decode_receipt;
use super::receipt_proof::ReceiptProof;
use super::transaction::TransactionProof;
use crate::bundle::{ChainFamily, NativeProof};
use crate::hash::keccak256;
use crate::{Error, EvmAddress, Hash32, Message};

/// The Outbox's event: `event Dispatch(bytes32 indexed id, uint64 indexed nonce,
/// uint32 indexed destination, bytes message)`.
pub const DISPATCH_EVENT_SIGNATURE: &str = "Dispatch(bytes32,uint64,uint32,bytes)";

/// Topics of a `Dispatch` log: the signature hash and the three indexed arguments.
pub const DISPATCH_TOPICS: usize = 4;

/// keccak-256 of [`DISPATCH_EVENT_SIGNATURE`]: topic 0 of every `Dispatch` log.
pub fn dispatch_topic0() -> Hash32 {
    keccak256(DISPATCH_EVENT_SIGNATURE.as_bytes())
}

/// The data of a `Dispatch` log for `message`: `abi.encode(bytes)`, i.e. the offset 0x20, the
/// length, and the bytes zero-padded to a multiple of 32.
pub fn encode_dispatch_data(message: &[u8]) -> Vec<u8> {
    let padded = message.len().div_ceil(32) * 32;
    let mut out = Vec::with_capacity(64 + padded);
    out.extend_from_slice(&word(32));
    out.extend_from_slice(&word(message.len() as u64));
    out.extend_from_slice(message);
    out.resize(64 + padded, 0);
    out
}

/// The message bytes of a `Dispatch` log's data, decoded strictly: offset exactly 0x20, a
/// length that fits, exactly the padded length of data, zero padding
/// ([`Error::EventDataMismatch`] otherwise).
pub fn decode_dispatch_data(data: &[u8]) -> Result<&[u8], Error> {
    let mismatch = |reason: String| Error::EventDataMismatch { reason };
    if data.len() < 64 || !data.len().is_multiple_of(32) {
        return Err(mismatch(format!(
            "{} bytes is not the ABI encoding of one bytes value",
            data.len()
        )));
    }
    let (offset, rest) = data.split_at(32);
    if offset != word(32) {
        return Err(mismatch("the bytes offset is not 0x20".into()));
    }
    let (length, body) = rest.split_at(32);
    if length[..24].iter().any(|&b| b != 0) {
        return Err(mismatch("the bytes length does not fit in 64 bits".into()));
    }
    let mut be = [0u8; 8];
    be.copy_from_slice(&length[24..]);
    let len = u64::from_be_bytes(be);
    let fits = usize::try_from(len)
        .ok()
        .filter(|&len| len.div_ceil(32) * 32 == body.len());
    let Some(len) = fits else {
        return Err(mismatch(format!(
            "length {len} does not match the {} data bytes that follow",
            body.len()
        )));
    };
    let (message, padding) = body.split_at(len);
    if padding.iter().any(|&b| b != 0) {
        return Err(mismatch("non-zero padding after the message".into()));
    }
    Ok(message)
}

/// A 32-byte big-endian ABI word holding `value`.
fn word(value: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&value.to_be_bytes());
    w
}

/// Proof that a block emitted a `Dispatch` log: the block's header, the receipt proof of the
/// emitting transaction, the log's position among that receipt's logs (not its block-wide
/// log index: subtract the logs of the block's earlier receipts), and optionally the emitting
/// transaction with its proof against the header's transactionsRoot (which proves the
/// transaction hash; see [`super::ProvenSource`]).
///
/// JSON (the `data` of a bundle's `native_proof` with family `evm`):
/// `{"header":"0x…", "receipt_proof":{…}, "log_index_in_receipt":0, "transaction_proof":{…}}`;
/// `transaction_proof` may be absent (proofs made before it existed stay valid).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmSourceProof {
    /// The block header's RLP.
    #[serde(serialize_with = "ser_hex", deserialize_with = "de_header")]
    pub header: Vec<u8>,
    /// The receipt of the transaction that emitted the log, proven against the header's
    /// receipts root.
    pub receipt_proof: ReceiptProof,
    /// Position of the log among the receipt's logs.
    pub log_index_in_receipt: u32,
    /// The emitting transaction, proven at the receipt's index against the header's
    /// transactions root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_proof: Option<TransactionProof>,
}

impl EvmSourceProof {
    /// Checks the whole chain from `expected_block_hash` (which the caller trusts: a final
    /// block of its own view of the chain) to `message_bytes`, emitted by `outbox` as a
    /// `Dispatch` log whose topic 0 is `dispatch_topic0` (see [`dispatch_topic0`]).
    ///
    /// Errors, in the order checked: [`Error::BlockHashMismatch`] (header or the receipt
    /// proof's block label), header decoding ([`Error::Rlp`]), the receipt proof's own errors
    /// (see [`ReceiptProof::verify`]), [`Error::TransactionProofInvalid`] if the proof carries
    /// a transaction, receipt decoding, [`Error::ReceiptFailed`],
    /// [`Error::LogIndexOutOfRange`], [`Error::LogEmitterMismatch`], [`Error::LogTopicCount`],
    /// [`Error::LogTopicMismatch`] for topic 0, [`Error::EventDataMismatch`], message decoding,
    /// then [`Error::LogTopicMismatch`] for the id, nonce and destination topics.
    pub fn verify(
        &self,
        expected_block_hash: &Hash32,
        outbox: &EvmAddress,
        dispatch_topic0: &Hash32,
        message_bytes: &[u8],
    ) -> Result<(), Error> {
        self.verify_in(
            expected_block_hash,
            outbox,
            dispatch_topic0,
            message_bytes,
            None,
        )
        .map(|_| ())
    }

    /// [`EvmSourceProof::verify`] for one of many proofs of the same blocks: a header and trie
    /// nodes `blocks` holds byte for byte are not hashed again, and those this proof proves
    /// are filed there (see [`CheckedBlocks`] for why this checks exactly what `verify` does).
    /// Same result and errors as `verify`.
    pub fn verify_with(
        &self,
        expected_block_hash: &Hash32,
        outbox: &EvmAddress,
        dispatch_topic0: &Hash32,
        message_bytes: &[u8],
        blocks: &mut CheckedBlocks,
    ) -> Result<(), Error> {
        self.verify_in(
            expected_block_hash,
            outbox,
            dispatch_topic0,
            message_bytes,
            Some(blocks),
        )
        .map(|_| ())
    }

    /// The checks of [`EvmSourceProof::verify`], returning the header's facts and the proven
    /// transaction's hash (if the proof carries the transaction).
    pub(crate) fn verify_in(
        &self,
        expected_block_hash: &Hash32,
        outbox: &EvmAddress,
        dispatch_topic0: &Hash32,
        message_bytes: &[u8],
        mut blocks: Option<&mut CheckedBlocks>,
    ) -> Result<(HeaderFacts, Option<Hash32>), Error> {
        let header = check_header(
            expected_block_hash,
            &self.header,
            self.receipt_proof.block_hash,
            blocks.as_deref_mut(),
        )?;
        self.receipt_proof.verify_with(
            &header.receipts_root,
            blocks.as_deref_mut().map(|b| &mut b.nodes),
        )?;
        let transaction_hash = match &self.transaction_proof {
            Some(transaction) => Some(transaction.verify_with(
                &header.transactions_root,
                self.receipt_proof.tx_index,
                blocks.map(|b| &mut b.nodes),
            )?),
            None => None,
        };

        let receipt = decode_receipt(&self.receipt_proof.receipt)?;
        if !receipt.status {
            return Err(Error::ReceiptFailed {
                tx_index: self.receipt_proof.tx_index,
            });
        }
        let log = usize::try_from(self.log_index_in_receipt)
            .ok()
            .and_then(|i| receipt.logs.get(i))
            .ok_or(Error::LogIndexOutOfRange {
                index: self.log_index_in_receipt,
                logs: receipt.logs.len(),
            })?;
        if log.address != *outbox {
            return Err(Error::LogEmitterMismatch {
                expected: *outbox,
                actual: log.address,
            });
        }
        if log.topics.len() != DISPATCH_TOPICS {
            return Err(Error::LogTopicCount {
                expected: DISPATCH_TOPICS,
                actual: log.topics.len(),
            });
        }
        check_topic(&log.topics, 0, *dispatch_topic0)?;
        let emitted = decode_dispatch_data(&log.data)?;
        if emitted != message_bytes {
            return Err(Error::EventDataMismatch {
                reason: format!(
                    "the log carries {} message bytes that differ from the {} expected",
                    emitted.len(),
                    message_bytes.len()
                ),
            });
        }
        let message = Message::decode(message_bytes)?;
        check_topic(&log.topics, 1, message.id().into())?;
        check_topic(&log.topics, 2, Hash32(word(message.nonce().0)))?;
        check_topic(
            &log.topics,
            3,
            Hash32(word(u64::from(message.destination().0))),
        )?;
        Ok((header, transaction_hash))
    }

    /// The decoded header (to read the block number, parent hash, …).
    pub fn decode_header(&self) -> Result<EvmHeader, Error> {
        decode_header(&self.header)
    }

    /// This proof as a bundle's native proof (family `evm`).
    pub fn to_native_proof(&self) -> Result<NativeProof, Error> {
        let data = serde_json::to_value(self).map_err(|e| Error::Decode {
            what: "EVM source proof",
            reason: e.to_string(),
        })?;
        Ok(NativeProof {
            family: ChainFamily::Evm,
            data,
        })
    }

    /// The EVM source proof a bundle's native proof carries; [`Error::Decode`] if it is of
    /// another family or malformed.
    pub fn from_native_proof(proof: &NativeProof) -> Result<Self, Error> {
        if proof.family != ChainFamily::Evm {
            return Err(Error::Decode {
                what: "EVM source proof",
                reason: format!("native proof is of family {:?}, not evm", proof.family),
            });
        }
        // The exact shape `to_native_proof` writes is read without serde's generic path (a
        // subset of what it accepts, read to the same proof); anything else goes through it.
        if let Some(parsed) = super::compact::evm_proof_of_value(&proof.data) {
            return Ok(parsed);
        }
        Self::deserialize(&proof.data).map_err(|e| Error::Decode {
            what: "EVM source proof",
            reason: e.to_string(),
        })
    }
}

/// The message a `Dispatch` log carries, checked strictly: exactly [`DISPATCH_TOPICS`] topics,
/// topic 0 is `dispatch_topic0`, the data is the strict ABI encoding of one `bytes` value that
/// decodes as a [`Message`], and topics 1–3 are its id, nonce and destination. Shared by every
/// family whose Outbox is the Solidity contract (EVM, FISCO BCOS).
///
/// Errors: [`Error::LogTopicCount`], [`Error::LogTopicMismatch`], [`Error::EventDataMismatch`],
/// or message decoding.
pub fn dispatched_message<'a>(
    topics: &[Hash32],
    data: &'a [u8],
    dispatch_topic0: &Hash32,
) -> Result<&'a [u8], Error> {
    if topics.len() != DISPATCH_TOPICS {
        return Err(Error::LogTopicCount {
            expected: DISPATCH_TOPICS,
            actual: topics.len(),
        });
    }
    check_topic(topics, 0, *dispatch_topic0)?;
    let bytes = decode_dispatch_data(data)?;
    let message = Message::decode(bytes)?;
    check_topic(topics, 1, message.id().into())?;
    check_topic(topics, 2, Hash32(word(message.nonce().0)))?;
    check_topic(topics, 3, Hash32(word(u64::from(message.destination().0))))?;
    Ok(bytes)
}

fn check_topic(topics: &[Hash32], position: usize, expected: Hash32) -> Result<(), Error> {
    let actual = topics[position];
    if actual != expected {
        return Err(Error::LogTopicMismatch {
            position,
            expected,
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_data_round_trip_and_strictness() {
        for len in [0usize, 1, 31, 32, 33, 81, 200] {
            let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let data = encode_dispatch_data(&msg);
            assert_eq!(data.len(), 64 + len.div_ceil(32) * 32);
            assert_eq!(decode_dispatch_data(&data).unwrap(), msg.as_slice());
        }
        let data = encode_dispatch_data(&[7; 40]);
        let mut bad = data.clone();
        bad[31] = 0x40; // offset
        assert!(decode_dispatch_data(&bad).is_err());
        let mut bad = data.clone();
        bad[63] = 65; // a length whose padded size is not the data's
        assert!(decode_dispatch_data(&bad).is_err());
        let mut other = data.clone();
        other[63] = 41; // same padded size: decodes, to other bytes (verify compares them)
        assert_eq!(decode_dispatch_data(&other).unwrap().len(), 41);
        let mut bad = data.clone();
        *bad.last_mut().unwrap() = 1; // padding
        assert!(decode_dispatch_data(&bad).is_err());
        let mut bad = data.clone();
        bad.extend_from_slice(&[0; 32]); // extra word
        assert!(decode_dispatch_data(&bad).is_err());
        assert!(decode_dispatch_data(&data[..63]).is_err());
        let mut bad = data;
        bad[40] = 1; // length beyond 64 bits
        assert!(decode_dispatch_data(&bad).is_err());
    }

    #[test]
    fn topic0_is_the_keccak_of_the_signature() {
        assert_eq!(
            dispatch_topic0(),
            keccak256(b"Dispatch(bytes32,uint64,uint32,bytes)")
        );
    }
}
