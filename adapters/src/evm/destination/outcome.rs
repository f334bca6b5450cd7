//! Reading a `deliverBatch` transaction's outcome from its receipt: per-message `Delivered` /
//! `DeliveryFailed` / `DeliveryRefused` / `AlreadyDeliveredSkipped` events, or the decoded
//! reason of a revert.

use alloy::consensus::Transaction as _;
use alloy::eips::BlockId as AlloyBlockId;
use alloy::primitives::{Address, B256, Log};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolEvent;
use causeway_proofs::{Hash32, MessageId};

use super::{EvmDestination, SPENDING_REMEMBERED};
use crate::Error;
use crate::chain::{BlockId, BlockRef, MessageOutcome, RevertReason, SubmissionOutcome};
use crate::evm::bindings::{
    IInbox, STATUS_DELIVERED, STATUS_FAILED, STATUS_REFUSED, describe_recipient_revert,
};
use crate::evm::json::{DeliveryReceipt, DeliveryReceiptAnswer};

/// The per-message results an Inbox reported in a receipt's logs, in log order. Logs from other
/// addresses (a recipient emitting look-alike events) are ignored. A message skipped because
/// another transaction recorded it first counts as that record says: delivered (by someone
/// else), failed (retryable at the destination) or refused. A rate-limited message is left out
/// (not processed: the relayer prepares it again).
pub(crate) fn delivery_results(inbox: Address, logs: &[Log]) -> Vec<(MessageId, MessageOutcome)> {
    let mut out = Vec::new();
    for log in logs.iter().filter(|l| l.address == inbox) {
        if let Ok(e) = IInbox::AlreadyDeliveredSkipped::decode_log(log) {
            let outcome = match e.data.status {
                STATUS_DELIVERED => MessageOutcome::Delivered,
                STATUS_FAILED => MessageOutcome::Failed {
                    reason: "recorded failed by an earlier transaction".into(),
                },
                STATUS_REFUSED => MessageOutcome::Refused {
                    reason: "recorded refused by an earlier transaction".into(),
                },
                // Not a status this adapter knows: leave it out, so it is prepared again.
                _ => continue,
            };
            out.push((MessageId(Hash32(e.data.id.0)), outcome));
        } else if let Ok(e) = IInbox::DeliveryRefused::decode_log(log) {
            out.push((
                MessageId(Hash32(e.data.id.0)),
                MessageOutcome::Refused {
                    reason: format!("forbidden recipient {}", e.data.recipient),
                },
            ));
        } else if let Ok(e) = IInbox::Delivered::decode_log(log) {
            out.push((MessageId(Hash32(e.data.id.0)), MessageOutcome::Delivered));
        } else if let Ok(e) = IInbox::DeliveryFailed::decode_log(log) {
            out.push((
                MessageId(Hash32(e.data.id.0)),
                MessageOutcome::Failed {
                    reason: describe_recipient_revert(&e.data.reason),
                },
            ));
        }
    }
    out
}

impl EvmDestination {
    /// The outcome of transaction `hash` if it has a receipt.
    pub(super) async fn receipt_outcome(
        &self,
        hash: B256,
    ) -> Result<Option<SubmissionOutcome>, Error> {
        let rpc = &self.inner.rpc;
        let receipt = rpc
            .call("eth_getTransactionReceipt", |p| async move {
                p.raw_request::<_, DeliveryReceiptAnswer>(
                    "eth_getTransactionReceipt".into(),
                    (hash,),
                )
                .await
                .map(|answer| answer.0)
            })
            .await?;
        let Some(receipt) = receipt else {
            return Ok(None);
        };
        let (Some(height), Some(block_hash)) = (receipt.block_number, receipt.block_hash) else {
            return Ok(None);
        };
        let block = BlockRef {
            height,
            id: BlockId::from(block_hash.0),
        };
        self.count_spending(hash, &receipt).await;
        if receipt.status {
            let latest = rpc
                .call(
                    "eth_blockNumber",
                    |p| async move { p.get_block_number().await },
                )
                .await?;
            rpc.metrics().head(latest);
            Ok(Some(SubmissionOutcome::Included {
                block,
                confirmations: latest.saturating_sub(height).saturating_add(1),
                messages: delivery_results(self.inner.config.inbox, &receipt.logs),
            }))
        } else {
            let reason = self.revert_reason(&receipt, hash).await?;
            Ok(Some(SubmissionOutcome::Reverted { block, reason }))
        }
    }

    /// Counts a mined delivery's gas and fee once per transaction (outcomes are read again
    /// while confirmations accrue), then reads the deliverer's balance for the
    /// "deliverer balance low" alert. A failed balance read keeps the last one: the outcome
    /// matters more than the gauge.
    async fn count_spending(&self, hash: B256, receipt: &DeliveryReceipt) {
        {
            let mut counted = self
                .inner
                .spending_counted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if counted.contains(&hash) {
                return;
            }
            if counted.len() == SPENDING_REMEMBERED {
                counted.pop_front();
            }
            counted.push_back(hash);
        }
        let rpc = &self.inner.rpc;
        rpc.metrics()
            .delivery_mined(receipt.gas_used, receipt.effective_gas_price);
        let from = self.inner.from;
        // One attempt, no retries: a slow node must not hold the outcome up for a gauge.
        match rpc
            .once(
                "eth_getBalance",
                |p| async move { p.get_balance(from).await },
            )
            .await
        {
            Ok(balance) => rpc
                .metrics()
                .deliverer_balance(u128::try_from(balance).unwrap_or(u128::MAX)),
            Err(e) => tracing::debug!(error = %e, "reading the deliverer's balance failed"),
        }
    }

    /// Why a mined transaction reverted: out of gas when it used its whole limit; else the
    /// revert data of a replay with `eth_call`, first on the parent block's state (what the
    /// transaction saw, minus the transactions before it in its own block), then, if that
    /// replay succeeds because an earlier transaction of the same block changed the state (a
    /// competing relayer delivering the same message), on the block's own state.
    async fn revert_reason(
        &self,
        receipt: &DeliveryReceipt,
        hash: B256,
    ) -> Result<RevertReason, Error> {
        let rpc = &self.inner.rpc;
        let unknown = || RevertReason::Unknown { data: "0x".into() };
        let tx = rpc
            .call("eth_getTransactionByHash", |p| async move {
                p.get_transaction_by_hash(hash).await
            })
            .await?;
        let Some(tx) = tx else {
            return Ok(unknown());
        };
        let gas_limit = tx.gas_limit();
        if receipt.gas_used >= gas_limit {
            return Ok(RevertReason::OutOfGas);
        }
        let Some(height) = receipt.block_number else {
            return Ok(unknown());
        };
        let mut request = TransactionRequest::default()
            .from(receipt.from)
            .input(tx.input().clone().into())
            .gas_limit(gas_limit);
        if let Some(to) = tx.to() {
            request = request.to(to);
        }
        for at in [height.saturating_sub(1), height] {
            let block = AlloyBlockId::number(at);
            let replay = rpc
                .call("eth_call", |p| {
                    let request = request.clone();
                    async move { p.call(request).block(block).await }
                })
                .await;
            match replay {
                Err(Error::Reverted { reason }) => return Ok(reason),
                Err(e) if e.is_retryable() => return Err(e),
                // Succeeded on this state (or failed for another reason): try the next one.
                _ => {}
            }
        }
        Ok(unknown())
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Bytes, LogData};
    use alloy::sol_types::SolError;

    use super::*;
    use crate::evm::bindings::Builtin;

    fn log(address: Address, event: &impl SolEvent) -> Log {
        Log {
            address,
            data: event.encode_log_data(),
        }
    }

    #[test]
    fn per_message_results_come_from_the_inbox_only() {
        let inbox = Address::repeat_byte(0x11);
        let other = Address::repeat_byte(0x22);
        let reason = Builtin::Error {
            message: "recipient says no".into(),
        }
        .abi_encode();
        let logs = vec![
            log(
                inbox,
                &IInbox::Delivered {
                    id: B256::repeat_byte(1),
                    origin: 1,
                    nonce: 0,
                },
            ),
            // A recipient emitting an identical event is not the Inbox.
            log(
                other,
                &IInbox::Delivered {
                    id: B256::repeat_byte(9),
                    origin: 1,
                    nonce: 9,
                },
            ),
            log(
                inbox,
                &IInbox::DeliveryFailed {
                    id: B256::repeat_byte(2),
                    origin: 1,
                    nonce: 1,
                    reason: Bytes::from(reason),
                },
            ),
            Log {
                address: inbox,
                data: LogData::new_unchecked(vec![B256::repeat_byte(0xee)], Bytes::new()),
            },
            log(
                inbox,
                &IInbox::DeliveryRefused {
                    id: B256::repeat_byte(3),
                    origin: 1,
                    nonce: 2,
                    recipient: B256::repeat_byte(0x44),
                },
            ),
            log(
                inbox,
                &IInbox::AlreadyDeliveredSkipped {
                    id: B256::repeat_byte(4),
                    status: STATUS_DELIVERED,
                },
            ),
            log(
                inbox,
                &IInbox::AlreadyDeliveredSkipped {
                    id: B256::repeat_byte(5),
                    status: STATUS_REFUSED,
                },
            ),
            // Rate-limited: not processed, so not reported.
            log(
                inbox,
                &IInbox::RateLimited {
                    id: B256::repeat_byte(6),
                    origin: 1,
                    nonce: 5,
                },
            ),
        ];
        let results = delivery_results(inbox, &logs);
        assert_eq!(
            results,
            vec![
                (MessageId(Hash32([1; 32])), MessageOutcome::Delivered),
                (
                    MessageId(Hash32([2; 32])),
                    MessageOutcome::Failed {
                        reason: "recipient says no".into()
                    }
                ),
                (
                    MessageId(Hash32([3; 32])),
                    MessageOutcome::Refused {
                        reason: format!("forbidden recipient {}", B256::repeat_byte(0x44))
                    }
                ),
                (MessageId(Hash32([4; 32])), MessageOutcome::Delivered),
                (
                    MessageId(Hash32([5; 32])),
                    MessageOutcome::Refused {
                        reason: "recorded refused by an earlier transaction".into()
                    }
                ),
            ]
        );
    }
}
