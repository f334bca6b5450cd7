//! Signing, broadcasting and replacing `deliverBatch` transactions.

use std::time::Instant;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::primitives::{B256, Bytes, TxKind, U256, keccak256};
use alloy::providers::Provider;
use alloy::signers::SignerSync;

use super::fees::{Fees, SendRefusal, classify_refusal, refusal_message};
use super::{EvmDestination, EvmSubmission, InFlight, SentTx, lock};
use crate::Error;
use crate::chain::{Recorder, SignedSubmission};
use causeway_proofs::MessageId;

/// How long a transaction may go unseen by the node before its bytes are sent again.
const RESEND_UNKNOWN_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

impl EvmDestination {
    /// The current EIP-1559 fee estimate, capped.
    pub(super) async fn fees(&self) -> Result<Fees, Error> {
        let estimate = self
            .inner
            .rpc
            .call("eth_feeHistory", |p| async move {
                p.estimate_eip1559_fees().await
            })
            .await?;
        Ok(Fees {
            max_fee: estimate.max_fee_per_gas,
            priority_fee: estimate.max_priority_fee_per_gas,
        }
        .capped(self.inner.config.max_fee_cap))
    }

    /// Signs a `deliverBatch` transaction.
    pub(super) fn sign(
        &self,
        chain_id: u64,
        nonce: u64,
        gas_limit: u64,
        fees: Fees,
        calldata: &Bytes,
    ) -> Result<SentTx, Error> {
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: fees.max_fee,
            max_priority_fee_per_gas: fees.priority_fee,
            to: TxKind::Call(self.inner.config.inbox),
            value: U256::ZERO,
            access_list: Default::default(),
            input: calldata.clone(),
        };
        let signature = self
            .inner
            .signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| Error::Signer {
                reason: e.to_string(),
            })?;
        let envelope = TxEnvelope::from(tx.into_signed(signature));
        Ok(SentTx {
            hash: *envelope.tx_hash(),
            fees,
            raw: Bytes::from(envelope.encoded_2718()),
        })
    }

    /// Broadcasts a signed transaction, re-sending the same bytes on retryable failures; the
    /// node already knowing it counts as success.
    pub(super) async fn broadcast(&self, nonce: u64, tx: &SentTx) -> Result<(), Error> {
        self.broadcast_raw(nonce, &tx.raw).await
    }

    /// [`Self::broadcast`] of raw signed bytes.
    async fn broadcast_raw(&self, nonce: u64, raw: &Bytes) -> Result<(), Error> {
        let result = self
            .inner
            .rpc
            .call("eth_sendRawTransaction", |p| {
                let raw = raw.clone();
                async move { p.send_raw_transaction(&raw).await.map(|_| ()) }
            })
            .await;
        let Err(e) = result else {
            return Ok(());
        };
        let account = format!("{:#x}", self.inner.from);
        match refusal_message(&e).map(classify_refusal) {
            Some(SendRefusal::AlreadyKnown) => Ok(()),
            Some(SendRefusal::NonceTooLow) => Err(Error::NonceTooLow { account, nonce }),
            Some(SendRefusal::Underpriced) => Err(Error::Underpriced {
                nonce,
                message: refusal_message(&e).unwrap_or_default().to_owned(),
            }),
            Some(SendRefusal::InsufficientFunds) => Err(Error::InsufficientFunds { account }),
            Some(SendRefusal::Other) | None => Err(e),
        }
    }

    /// Signs one part with the next nonce, has `recorder` record it, and broadcasts it; returns
    /// its submission. A recorder error sends nothing (the nonce goes to the next
    /// transaction); a broadcast that got no answer counts as sent (the node may have it: it is
    /// followed, and re-sent byte for byte if the node turns out not to know it).
    pub(super) async fn send_new(
        &self,
        calldata: Bytes,
        gas_limit: u64,
        messages: &[MessageId],
        recorder: &dyn Recorder,
    ) -> Result<EvmSubmission, Error> {
        let chain_id = self.chain_id().await?;
        let fees = self.fees().await?;
        let inner = &self.inner;
        let from = inner.from;
        let fetch = || async move {
            inner
                .rpc
                .call("eth_getTransactionCount", |p| async move {
                    p.get_transaction_count(from).pending().await
                })
                .await
        };
        let send = |nonce: u64| {
            let calldata = calldata.clone();
            async move {
                let tx = self.sign(chain_id, nonce, gas_limit, fees, &calldata)?;
                let hash = tx.hash;
                let submission = EvmSubmission {
                    from,
                    nonce,
                    transactions: vec![hash],
                };
                recorder
                    .record(&SignedSubmission {
                        handle: submission.to_handle(),
                        messages: messages.to_vec(),
                        signed: tx.raw.to_vec(),
                    })
                    .await?;
                match self.broadcast(nonce, &tx).await {
                    Ok(()) => {}
                    Err(e @ (Error::RpcUnavailable { .. } | Error::Timeout { .. })) => {
                        tracing::warn!(nonce, tx = %hash, error = %e,
                            "the node did not answer the broadcast; following the transaction as sent");
                    }
                    // The broadcast is retried: an earlier try may have reached the node, and
                    // a later one been refused for it (nonce too low, already known under
                    // another name, a rate limit). If the node has the transaction, it is sent.
                    Err(e) => {
                        if !matches!(self.node_knows(hash).await, Ok(true)) {
                            return Err(e);
                        }
                        tracing::warn!(nonce, tx = %hash, error = %e,
                            "the broadcast was refused, but the node has the transaction; following it as sent");
                    }
                }
                lock(&inner.in_flight).insert(
                    nonce,
                    InFlight {
                        calldata,
                        gas_limit,
                        sent: vec![tx],
                        last_sent: Instant::now(),
                        resent_at: None,
                    },
                );
                Ok(submission)
            }
        };
        inner.nonces.with_next(fetch, send).await
    }

    /// Whether this process sent (and so can push along) a transaction with `nonce`.
    pub(super) fn sent_by_this_process(&self, nonce: u64) -> bool {
        lock(&self.inner.in_flight).contains_key(&nonce)
    }

    /// Sends the recorded signed transaction of `sub` again if the node does not know it: the
    /// process that recorded it may have crashed before broadcasting it, or the node lost it.
    /// The bytes must hash to one of the submission's transactions. A transaction of this
    /// process's own account is then followed like one it sent (replaced with higher fees if
    /// it stays pending).
    pub(super) async fn resend_recorded(
        &self,
        sub: &EvmSubmission,
        signed: &[u8],
    ) -> Result<(), Error> {
        let hash = keccak256(signed);
        if !sub.transactions.contains(&hash) {
            tracing::warn!(nonce = sub.nonce, recorded = %hash,
                "the recorded signed transaction is not one of its submission's; not sending it");
            return Ok(());
        }
        let inner = &self.inner;
        let raw = Bytes::copy_from_slice(signed);
        // A transaction of this account is followed from now on like one this process sent:
        // sent again while the node does not know it, replaced with higher fees if it stays
        // pending.
        if sub.from == inner.from
            && let Ok(TxEnvelope::Eip1559(tx)) = TxEnvelope::decode_2718(&mut &signed[..])
        {
            let tx = tx.tx();
            lock(&inner.in_flight)
                .entry(sub.nonce)
                .or_insert_with(|| InFlight {
                    calldata: tx.input.clone(),
                    gas_limit: tx.gas_limit,
                    sent: vec![SentTx {
                        hash,
                        fees: Fees {
                            max_fee: tx.max_fee_per_gas,
                            priority_fee: tx.max_priority_fee_per_gas,
                        },
                        raw: raw.clone(),
                    }],
                    last_sent: Instant::now(),
                    resent_at: None,
                });
        }
        if self.node_knows(hash).await? {
            return Ok(());
        }
        match self.broadcast_raw(sub.nonce, &raw).await {
            Ok(()) => {}
            // Its nonce was used meanwhile, or another transaction holds it in the pool: the
            // next query reports it dropped, or finds its receipt.
            Err(Error::NonceTooLow { .. } | Error::Underpriced { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
        tracing::info!(nonce = sub.nonce, tx = %hash, from = %sub.from,
            "sent the recorded transaction again: the node did not have it");
        Ok(())
    }

    /// Whether the node knows transaction `hash` (pending or mined).
    async fn node_knows(&self, hash: B256) -> Result<bool, Error> {
        Ok(self
            .inner
            .rpc
            .call("eth_getTransactionByHash", |p| async move {
                p.get_transaction_by_hash(hash).await
            })
            .await?
            .is_some())
    }

    /// Every hash known for `sub`'s nonce: the handle's and those sent since.
    pub(super) fn known_hashes(&self, sub: &EvmSubmission) -> Vec<B256> {
        let mut hashes = sub.transactions.clone();
        if sub.from == self.inner.from
            && let Some(f) = lock(&self.inner.in_flight).get(&sub.nonce)
        {
            for tx in &f.sent {
                if !hashes.contains(&tx.hash) {
                    hashes.push(tx.hash);
                }
            }
        }
        hashes
    }

    /// Pushes the transaction of `nonce` along: sends its bytes again once the node turns out
    /// not to know it (a broadcast that got no answer, a node restarted without its pool), and
    /// replaces it with higher fees once it has been pending for `replace_after`.
    pub(super) async fn unstick(&self, nonce: u64) -> Result<(), Error> {
        let inner = &self.inner;
        let Some(entry) = lock(&inner.in_flight).get(&nonce).cloned() else {
            return Ok(());
        };
        let waited = entry.last_sent.elapsed();
        let replace_after = inner.config.replace_after;
        if waited < RESEND_UNKNOWN_AFTER.min(replace_after) {
            return Ok(());
        }
        let Some(last) = entry.sent.last().cloned() else {
            return Ok(());
        };
        let mut refused = false;
        if !self.node_knows(last.hash).await? {
            if entry
                .resent_at
                .is_some_and(|at| at.elapsed() < RESEND_UNKNOWN_AFTER)
            {
                return Ok(());
            }
            match self.broadcast(nonce, &last).await {
                // Mined meanwhile: the next outcome query finds the receipt.
                Ok(()) | Err(Error::NonceTooLow { .. }) => {
                    tracing::info!(nonce, tx = %last.hash,
                        "the node did not know the transaction; sent it again");
                }
                // Its fees no longer do (the base fee rose above them): replace it now.
                Err(Error::Underpriced { .. }) => refused = true,
                Err(e) => return Err(e),
            }
            if let Some(f) = lock(&inner.in_flight).get_mut(&nonce) {
                f.resent_at = Some(Instant::now());
            }
        }
        if waited < replace_after && !refused {
            return Ok(());
        }
        let replacements = u32::try_from(entry.sent.len().saturating_sub(1)).unwrap_or(u32::MAX);
        if replacements >= inner.config.max_replacements {
            if refused {
                tracing::warn!(
                    nonce,
                    replacements,
                    "the node refuses the transaction's fees and the replacements are used up; \
                     raise max_replacements or the fee cap"
                );
            }
            return Ok(());
        }
        let current = self.fees().await?;
        let Some(fees) = last.fees.replacement(
            current,
            inner.config.fee_bump_per_mille,
            inner.config.max_fee_cap,
        ) else {
            tracing::warn!(
                nonce,
                "transaction stuck, but the fee cap leaves no room to bump"
            );
            return Ok(());
        };
        let chain_id = self.chain_id().await?;
        let tx = self.sign(chain_id, nonce, entry.gas_limit, fees, &entry.calldata)?;
        tracing::info!(nonce, old = %last.hash, new = %tx.hash, max_fee = fees.max_fee,
            "replacing a stuck transaction");
        match self.broadcast(nonce, &tx).await {
            Ok(()) => {
                let mut map = lock(&inner.in_flight);
                if let Some(f) = map.get_mut(&nonce) {
                    f.sent.push(tx);
                    f.last_sent = Instant::now();
                }
                Ok(())
            }
            // Mined meanwhile: the next outcome query finds the receipt.
            Err(Error::NonceTooLow { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
