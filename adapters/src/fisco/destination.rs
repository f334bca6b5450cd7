//! [`FiscoDestination`]: delivers batches to the Inbox on a FISCO BCOS group with transactions
//! signed in the chain's crypto mode, and follows them; the Inbox calldata, the revert decoding
//! and the reading of per-message results are the EVM adapter's (`crate::evm::bindings`), as
//! the contracts are the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use alloy::primitives::{Address, B256, Bytes as AlloyBytes, Log, LogData, U256};
use alloy::sol_types::SolCall;
use causeway_proofs::bundle::ChainFamily;
use causeway_proofs::fisco::json::ReceiptJson;
use causeway_proofs::fisco::{NodeSecret, Transaction, TransactionData};
use causeway_proofs::{Domain, EvmAddress, Hash32, MessageId};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::rpc::FiscoRpc;
use crate::Error;
use crate::chain::{
    BlockId, BlockRef, DeliveryBatch, DeliveryStatus, Destination, Recorder, SignedSubmission,
    Submission, SubmissionHandle, SubmissionOutcome,
};
use crate::evm::bindings::{IInbox, decode_revert, deliver_batch_calldata};
use crate::evm::{delivery_results, delivery_status_of};

/// How many blocks past the head a transaction stays valid (FISCO BCOS allows up to 1,000).
const BLOCK_LIMIT_MARGIN: u64 = 500;

/// Most ids one `Inbox.statuses` call reads.
const STATUSES_PER_CALL: usize = 1024;

/// FISCO BCOS's transaction-pool codes for "already there" (AlreadyInTxPool, TxAlreadyInChain).
const ALREADY_KNOWN: [i64; 2] = [10004, 10005];

/// Where a [`FiscoDestination`] delivers.
#[derive(Clone, Debug)]
pub struct FiscoDestinationConfig {
    /// The node's JSON-RPC endpoint.
    pub endpoint: String,
    /// The chain id, e.g. `chain0`.
    pub chain_id: String,
    /// The group, e.g. `group0`.
    pub group: String,
    /// The destination domain.
    pub domain: Domain,
    /// The Inbox contract.
    pub inbox: EvmAddress,
}

/// The data of a FISCO BCOS [`SubmissionHandle`]: the transaction hash and its block limit
/// (after which a transaction never committed can no longer be).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscoSubmission {
    /// The transaction hash.
    pub transaction: Hash32,
    /// Its block limit.
    pub block_limit: u64,
}

impl FiscoSubmission {
    /// The handle carrying this submission.
    pub fn to_handle(&self) -> SubmissionHandle {
        SubmissionHandle {
            family: ChainFamily::Fisco,
            data: serde_json::json!({
                "transaction": self.transaction,
                "block_limit": self.block_limit,
            }),
        }
    }

    /// The submission a handle carries; [`Error::InvalidHandle`] if it is not a FISCO BCOS one.
    pub fn from_handle(handle: &SubmissionHandle) -> Result<Self, Error> {
        if handle.family != ChainFamily::Fisco {
            return Err(Error::InvalidHandle {
                reason: format!("handle of family {:?}, not fisco", handle.family),
            });
        }
        FiscoSubmission::deserialize(&handle.data).map_err(|e| Error::InvalidHandle {
            reason: e.to_string(),
        })
    }
}

/// A FISCO BCOS destination sending from one or several accounts (keys of the chain's crypto
/// mode), in turn: each delivery round signs with the next key. FISCO BCOS transactions carry
/// a random nonce of their own, not an account sequence, so rounds never wait on one another;
/// spreading them spreads each account's share of the pool and of any per-account limit the
/// chain's administrators set. A submission is followed by its transaction hash, whoever sent
/// it.
#[derive(Clone)]
pub struct FiscoDestination {
    rpc: FiscoRpc,
    config: Arc<FiscoDestinationConfig>,
    keys: Arc<[NodeSecret]>,
    next: Arc<AtomicUsize>,
}

impl std::fmt::Debug for FiscoDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiscoDestination")
            .field("endpoint", &self.rpc.endpoint())
            .field(
                "senders",
                &self.senders().iter().map(hex::encode).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl FiscoDestination {
    /// A destination over `config` signing with `key` (whose mode must be the chain's).
    pub fn new(config: FiscoDestinationConfig, key: NodeSecret) -> Result<Self, Error> {
        let rpc = FiscoRpc::new(config.endpoint.clone(), config.group.clone())?;
        Ok(Self::with_rpc(config, rpc, key))
    }

    /// A destination over `config` asking the group's nodes through `rpc` (several endpoints
    /// with failover, the chain's metrics; `config.endpoint` is then unused).
    pub fn with_rpc(config: FiscoDestinationConfig, rpc: FiscoRpc, key: NodeSecret) -> Self {
        FiscoDestination {
            rpc,
            config: Arc::new(config),
            keys: Arc::from(vec![key]),
            next: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// [`Self::with_rpc`] sending from every key of `keys` in turn. [`Error::Config`] when
    /// there is none, when they are of different crypto modes, or when one account is listed
    /// twice.
    pub fn with_keys(
        config: FiscoDestinationConfig,
        rpc: FiscoRpc,
        keys: Vec<NodeSecret>,
    ) -> Result<Self, Error> {
        let Some(first) = keys.first() else {
            return Err(Error::Config {
                reason: "a FISCO BCOS destination needs at least one signer key".into(),
            });
        };
        let mode = first.mode();
        let mut seen = std::collections::HashSet::new();
        for key in &keys {
            if key.mode() != mode {
                return Err(Error::Config {
                    reason: format!(
                        "the signer keys are of different crypto modes ({mode} and {})",
                        key.mode()
                    ),
                });
            }
            let address = key.public_key().address();
            if !seen.insert(address) {
                return Err(Error::Config {
                    reason: format!(
                        "account 0x{} is listed twice among the signer keys",
                        hex::encode(address)
                    ),
                });
            }
        }
        Ok(FiscoDestination {
            rpc,
            config: Arc::new(config),
            keys: Arc::from(keys),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The first sending account's address.
    pub fn address(&self) -> [u8; 20] {
        self.keys[0].public_key().address()
    }

    /// Every sending account's address, in turn order.
    pub fn senders(&self) -> Vec<[u8; 20]> {
        self.keys.iter().map(|k| k.public_key().address()).collect()
    }

    /// The key the next delivery round signs with (the next in turn).
    fn next_key(&self) -> &NodeSecret {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.keys.len();
        &self.keys[at]
    }

    /// A transaction to `to` with `input`, signed by `key`, with a fresh 256-bit random nonce.
    async fn signed(&self, key: &NodeSecret, input: Vec<u8>) -> Result<(Transaction, u64), Error> {
        let head = self.rpc.block_number().await?;
        let block_limit = head + BLOCK_LIMIT_MARGIN;
        let mut nonce = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let data = TransactionData {
            chain_id: self.config.chain_id.clone(),
            group_id: self.config.group.clone(),
            block_limit: i64::try_from(block_limit).unwrap_or(i64::MAX),
            nonce: U256::from_be_bytes(nonce).to_string(),
            to: hex::encode(self.config.inbox.0),
            input,
            ..TransactionData::default()
        };
        let tx = Transaction::sign(data, key, &mut rand::rngs::OsRng).map_err(Error::Fisco)?;
        Ok((tx, block_limit))
    }

    /// Calls the Inbox's view `call` and decodes its result.
    async fn view<C: SolCall>(&self, call: C, what: &'static str) -> Result<C::Return, Error> {
        let result = self
            .rpc
            .call_contract(&self.config.inbox.0, &call.abi_encode())
            .await?;
        if result.status != 0 {
            return Err(Error::Reverted {
                reason: decode_revert(&result.output),
            });
        }
        C::abi_decode_returns(&result.output).map_err(|e| Error::Decode {
            what,
            reason: e.to_string(),
        })
    }

    async fn block_ref(&self, height: u64) -> Result<BlockRef, Error> {
        let block = self.rpc.block(height, true).await?;
        let mut id = [0u8; 32];
        hex::decode_to_slice(block.hash.trim_start_matches("0x"), &mut id).map_err(|e| {
            Error::Decode {
                what: "block hash",
                reason: e.to_string(),
            }
        })?;
        Ok(BlockRef {
            height,
            id: BlockId::from(id),
        })
    }

    async fn outcome_of(&self, receipt: &ReceiptJson) -> Result<SubmissionOutcome, Error> {
        let height = u64::try_from(receipt.block_number).map_err(|_| Error::Decode {
            what: "receipt blockNumber",
            reason: format!("{}", receipt.block_number),
        })?;
        let block = self.block_ref(height).await?;
        if receipt.status != 0 {
            let output = hex::decode(receipt.output.trim_start_matches("0x")).unwrap_or_default();
            return Ok(SubmissionOutcome::Reverted {
                block,
                reason: decode_revert(&output),
            });
        }
        let head = self.rpc.block_number().await?;
        let inbox = Address::from(self.config.inbox.0);
        let logs: Vec<Log> = receipt
            .log_entries
            .iter()
            .filter_map(|l| {
                let mut address = [0u8; 20];
                hex::decode_to_slice(l.address.trim_start_matches("0x"), &mut address).ok()?;
                let topics = l
                    .topics
                    .iter()
                    .map(|t| {
                        let mut b = [0u8; 32];
                        hex::decode_to_slice(t.trim_start_matches("0x"), &mut b).ok()?;
                        Some(B256::from(b))
                    })
                    .collect::<Option<Vec<_>>>()?;
                let data = hex::decode(l.data.trim_start_matches("0x")).ok()?;
                Some(Log {
                    address: Address::from(address),
                    data: LogData::new(topics, AlloyBytes::from(data))?,
                })
            })
            .collect();
        Ok(SubmissionOutcome::Included {
            block,
            confirmations: head.saturating_sub(height) + 1,
            messages: delivery_results(inbox, &logs),
        })
    }
}

impl Destination for FiscoDestination {
    fn domain(&self) -> Domain {
        self.config.domain
    }

    async fn submit_recorded(
        &self,
        batch: &DeliveryBatch,
        recorder: &dyn Recorder,
    ) -> Result<Vec<Submission>, Error> {
        batch.check_shape()?;
        let calldata = deliver_batch_calldata(batch).to_vec();
        // A batch the Inbox refuses as a whole is reported before anything is signed.
        let simulated = self
            .rpc
            .call_contract(&self.config.inbox.0, &calldata)
            .await?;
        if simulated.status != 0 {
            return Err(Error::Reverted {
                reason: decode_revert(&simulated.output),
            });
        }
        let key = self.next_key();
        tracing::debug!(sender = %hex::encode(key.public_key().address()), "delivery round takes signer account");
        let (tx, block_limit) = self.signed(key, calldata).await?;
        let hash = tx.data.hash(key.mode());
        let submission = FiscoSubmission {
            transaction: hash,
            block_limit,
        };
        let signed = SignedSubmission {
            handle: submission.to_handle(),
            messages: batch.ids(),
            signed: tx.encode(),
        };
        recorder
            .record(&signed)
            .await
            .map_err(|e| Error::NotRecorded {
                reason: e.to_string(),
            })?;
        match self.rpc.send_transaction(&signed.signed).await {
            Ok(_) => {}
            // No answer: the node may have it; the outcome will tell.
            Err(e @ (Error::Timeout { .. } | Error::RpcUnavailable { .. })) => {
                tracing::warn!(error = %e, tx = %hash, "FISCO BCOS sendTransaction had no answer");
            }
            Err(Error::Rpc { code, .. }) if ALREADY_KNOWN.contains(&code) => {}
            Err(e) => return Err(e),
        }
        Ok(vec![Submission {
            handle: signed.handle,
            messages: signed.messages,
        }])
    }

    async fn outcome_recorded(
        &self,
        handle: &SubmissionHandle,
        signed: Option<&[u8]>,
    ) -> Result<SubmissionOutcome, Error> {
        let submission = FiscoSubmission::from_handle(handle)?;
        if let Some(receipt) = self.rpc.receipt(&submission.transaction).await? {
            return self.outcome_of(&receipt).await;
        }
        let head = self.rpc.block_number().await?;
        if head >= submission.block_limit {
            // Past its block limit a transaction can never be committed.
            return Ok(SubmissionOutcome::Dropped);
        }
        if let Some(bytes) = signed {
            match self.rpc.send_transaction(bytes).await {
                Ok(receipt) => return self.outcome_of(&receipt).await,
                Err(Error::Rpc { code, .. }) if ALREADY_KNOWN.contains(&code) => {}
                Err(e) if e.is_retryable() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(SubmissionOutcome::Pending)
    }

    async fn delivery_status(&self, id: &MessageId) -> Result<DeliveryStatus, Error> {
        let statuses = self.delivery_statuses(std::slice::from_ref(id)).await?;
        statuses
            .into_iter()
            .next()
            .ok_or_else(|| Error::MissingData {
                what: "Inbox.statuses result".into(),
            })
    }

    async fn delivery_statuses(&self, ids: &[MessageId]) -> Result<Vec<DeliveryStatus>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(STATUSES_PER_CALL) {
            let call = IInbox::statusesCall {
                ids: chunk.iter().map(|id| B256::from(id.0.0)).collect(),
            };
            let read = self.view(call, "Inbox.statuses result").await?;
            if read.len() != chunk.len() {
                return Err(Error::Decode {
                    what: "Inbox.statuses result",
                    reason: format!("{} statuses for {} ids", read.len(), chunk.len()),
                });
            }
            for status in read {
                out.push(delivery_status_of(status, "Inbox.statuses result")?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use causeway_proofs::fisco::CryptoMode;

    use super::*;

    fn config() -> FiscoDestinationConfig {
        FiscoDestinationConfig {
            endpoint: "http://127.0.0.1:1".into(),
            chain_id: "chain0".into(),
            group: "group0".into(),
            domain: Domain(3001),
            inbox: EvmAddress([1; 20]),
        }
    }

    fn key(mode: CryptoMode, byte: u8) -> NodeSecret {
        NodeSecret::from_bytes(mode, &[byte; 32]).unwrap()
    }

    #[test]
    fn rounds_take_the_keys_in_turn_and_a_bad_key_list_is_refused() {
        let rpc = FiscoRpc::new("http://127.0.0.1:1", "group0").unwrap();
        let keys = (1..=3).map(|b| key(CryptoMode::Ecdsa, b)).collect();
        let dest = FiscoDestination::with_keys(config(), rpc.clone(), keys).unwrap();
        let senders = dest.senders();
        assert_eq!(senders.len(), 3);
        let taken: Vec<_> = (0..6)
            .map(|_| dest.next_key().public_key().address())
            .collect();
        assert_eq!(taken[..3], senders[..]);
        assert_eq!(taken[3..], senders[..]);
        for (keys, why) in [
            (vec![], "at least one"),
            (
                vec![key(CryptoMode::Ecdsa, 1), key(CryptoMode::Ecdsa, 1)],
                "listed twice",
            ),
            (
                vec![key(CryptoMode::Ecdsa, 1), key(CryptoMode::Sm, 2)],
                "different crypto modes",
            ),
        ] {
            let err = FiscoDestination::with_keys(config(), rpc.clone(), keys).unwrap_err();
            assert!(err.to_string().contains(why), "{err}");
        }
    }
}
