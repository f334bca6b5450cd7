//! Which `eth_getLogs` results are Causeway messages of this chain's Outbox.

use alloy::primitives::B256;
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;
use causeway_proofs::{Domain, Hash32, Message};

use super::{EvmSource, bump};
use crate::Error;
use crate::evm::bindings::IOutbox;

/// A log that passed the message checks, waiting for its proof.
pub(super) struct Candidate {
    pub(super) block_number: u64,
    pub(super) block_hash: B256,
    pub(super) tx_index: u64,
    pub(super) tx_hash: B256,
    pub(super) log_index: u64,
    pub(super) message: Message,
}

impl EvmSource {
    /// Keeps the logs that are Causeway messages of this chain's Outbox, counting the others.
    pub(super) fn candidates(&self, logs: Vec<Log>) -> Result<Vec<Candidate>, Error> {
        let inner = &self.inner;
        let mut out = Vec::with_capacity(logs.len());
        for log in logs {
            if log.removed {
                bump(&inner.counters.removed_logs);
                continue;
            }
            if log.address() != inner.config.outbox {
                bump(&inner.counters.foreign_logs);
                tracing::warn!(emitter = %log.address(), outbox = %inner.config.outbox,
                    "ignoring a log from another contract than the Outbox");
                continue;
            }
            let (
                Some(block_number),
                Some(block_hash),
                Some(tx_index),
                Some(tx_hash),
                Some(log_index),
            ) = (
                log.block_number,
                log.block_hash,
                log.transaction_index,
                log.transaction_hash,
                log.log_index,
            )
            else {
                return Err(Error::MissingData {
                    what: "block, transaction or index of a mined log".into(),
                });
            };
            match check_dispatch(&log, inner.config.domain) {
                Ok(message) => out.push(Candidate {
                    block_number,
                    block_hash,
                    tx_index,
                    tx_hash,
                    log_index,
                    message,
                }),
                Err(reason) => {
                    bump(&inner.counters.malformed_logs);
                    tracing::warn!(block_number, log_index, %reason,
                        "ignoring an Outbox log that is not a valid message of this chain");
                }
            }
        }
        out.sort_by_key(|c| (c.block_number, c.tx_index, c.log_index));
        Ok(out)
    }
}

/// Decodes a `Dispatch` log's message and checks it against the log's topics and the chain's
/// domain. The error is a reason for the logs.
fn check_dispatch(log: &Log, domain: Domain) -> Result<Message, String> {
    let event = IOutbox::Dispatch::decode_log(&log.inner).map_err(|e| e.to_string())?;
    let message = Message::decode(&event.data.message).map_err(|e| e.to_string())?;
    if message.id().0 != Hash32(event.data.id.0) {
        return Err(format!(
            "topic id {} is not the message's id {}",
            event.data.id,
            message.id()
        ));
    }
    if message.origin() != domain {
        return Err(format!(
            "origin {} is not this chain's domain {domain}",
            message.origin()
        ));
    }
    if message.nonce().0 != event.data.nonce || message.destination().0 != event.data.destination {
        return Err("nonce or destination topic differs from the message".into());
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use alloy::primitives::{Bytes, LogData};
    use causeway_proofs::{Address32, Nonce};

    use alloy::primitives::Address;

    use super::*;
    use crate::evm::{EvmSourceConfig, Finality};

    const OUTBOX: Address = Address::repeat_byte(0x0b);

    fn message(nonce: u64, origin: u32) -> Message {
        Message::new(
            Nonce(nonce),
            Domain(origin),
            Address32([1; 32]),
            Domain(2),
            Address32([2; 32]),
            b"hello".to_vec(),
        )
        .unwrap()
    }

    /// A mined `Dispatch` log of `message` with the given topics' values.
    fn log(emitter: Address, id: B256, nonce: u64, message: &[u8], log_index: u64) -> Log {
        let event = IOutbox::Dispatch {
            id,
            nonce,
            destination: 2,
            message: Bytes::copy_from_slice(message),
        };
        Log {
            inner: alloy::primitives::Log {
                address: emitter,
                data: event.encode_log_data(),
            },
            block_hash: Some(B256::repeat_byte(0xbb)),
            block_number: Some(10),
            block_timestamp: None,
            transaction_hash: Some(B256::repeat_byte(0xcc)),
            transaction_index: Some(log_index / 2),
            log_index: Some(log_index),
            removed: false,
        }
    }

    fn good(nonce: u64, log_index: u64) -> Log {
        let m = message(nonce, 1);
        log(
            OUTBOX,
            B256::from(m.id().0.0),
            nonce,
            &m.encode(),
            log_index,
        )
    }

    fn offline_source() -> EvmSource {
        // Connecting is lazy: no request is sent by these tests.
        EvmSource::new(EvmSourceConfig::new(
            "http://127.0.0.1:9",
            Domain(1),
            OUTBOX,
            Finality::Confirmations(3),
        ))
        .unwrap()
    }

    #[test]
    fn keeps_only_valid_outbox_messages_and_counts_the_rest() {
        let src = offline_source();
        let mut removed = good(5, 9);
        removed.removed = true;
        let wrong_origin = {
            let m = message(6, 7);
            log(OUTBOX, B256::from(m.id().0.0), 6, &m.encode(), 3)
        };
        let wrong_id = {
            let m = message(7, 1);
            log(OUTBOX, B256::repeat_byte(1), 7, &m.encode(), 4)
        };
        let wrong_nonce = {
            let m = message(8, 1);
            log(OUTBOX, B256::from(m.id().0.0), 99, &m.encode(), 5)
        };
        let garbage = log(OUTBOX, B256::ZERO, 0, &[1, 2, 3], 6);
        let foreign = {
            let m = message(9, 1);
            log(
                Address::repeat_byte(0xee),
                B256::from(m.id().0.0),
                9,
                &m.encode(),
                7,
            )
        };
        let mut not_dispatch = good(10, 8);
        not_dispatch.inner.data = LogData::new_unchecked(vec![B256::ZERO], Bytes::new());
        let logs = vec![
            good(2, 2),
            removed,
            wrong_origin,
            wrong_id,
            wrong_nonce,
            garbage,
            foreign,
            not_dispatch,
            good(1, 1),
        ];
        let kept = src.candidates(logs).unwrap();
        let nonces: Vec<u64> = kept.iter().map(|c| c.message.nonce().0).collect();
        assert_eq!(
            nonces,
            vec![1, 2],
            "sorted by position, invalid ones dropped"
        );
        let c = src.counters();
        assert_eq!(c.removed_logs, 1);
        assert_eq!(c.foreign_logs, 1);
        assert_eq!(c.malformed_logs, 5);
    }

    #[test]
    fn a_pending_log_without_position_is_missing_data() {
        let src = offline_source();
        let mut pending = good(1, 1);
        pending.block_hash = None;
        assert!(matches!(
            src.candidates(vec![pending]),
            Err(Error::MissingData { .. })
        ));
    }

    #[test]
    fn a_zero_outbox_is_refused() {
        let config = EvmSourceConfig::new(
            "http://127.0.0.1:9",
            Domain(1),
            Address::ZERO,
            Finality::FinalizedTag,
        );
        assert!(matches!(EvmSource::new(config), Err(Error::Config { .. })));
    }
}
