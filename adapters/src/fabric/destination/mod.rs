//! [`FabricDestination`]: delivers batches to the `causeway_inbox` chaincode the way Fabric's
//! Gateway SDKs submit a transaction: Endorse, then Submit, then CommitStatus.
//!
//! - **Sizing** ([`batching`]): a batch is split into parts of at most `max_items` messages and
//!   `max_bytes` of [`FabricDeliveryBatch`](super::inbox_wire::FabricDeliveryBatch) JSON (the
//!   inbox refuses more than 512 items or 1 MiB).
//! - **Refusals before anything is sent** ([`submission`]): endorsement *is* the simulation. A
//!   part the inbox refuses (a bad signature, a replay, ...) fails at Endorse with the inbox's
//!   named reason, decoded into [`Error::Reverted`]; nothing is submitted.
//! - **Outcome** ([`outcome`]): CommitStatus of the transaction. `VALID` is
//!   [`SubmissionOutcome::Included`], with the per-message results the committed transaction's
//!   response carries (read from its block; the endorsed ones in the handle otherwise). Any other validation code
//!   (`MVCC_READ_CONFLICT` when another transaction changed a key it read, ...) means none of
//!   its writes happened: [`SubmissionOutcome::Reverted`], so the relayer re-reads each
//!   message's status from the inbox and prepares it again.
//! - **Lost submissions**: Fabric's CommitStatus waits for a transaction forever; one not
//!   committed `drop_after` after it was sent is [`SubmissionOutcome::Dropped`], and the relayer
//!   settles its messages by their status at the inbox.
//! - **Delivery status**: Evaluate of the inbox's `status(id)`.
//!
//! Fabric has no forks: a committed block is final, so an included submission reports
//! `u64::MAX` confirmations.

mod batching;
mod outcome;
mod submission;

use std::time::Duration;

use causeway_proofs::{Domain, MessageId, SigningDomain};

use self::batching::plan;
use self::submission::refusal;
use super::client::{CommitStatus, FabricClient};
use super::inbox_wire::{
    INBOX_CHAINCODE, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, inbox_signing_domain, parse_results,
};
use super::request::Invocation;
use crate::Error;
use crate::chain::{
    DeliveryBatch, DeliveryStatus, Destination, Recorder, RevertReason, SignedSubmission,
    Submission, SubmissionHandle, SubmissionOutcome,
};

pub use self::submission::FabricSubmission;

/// Configuration of a [`FabricDestination`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FabricDestinationConfig {
    /// This network's Causeway domain (the inbox's).
    pub domain: Domain,
    /// The configured chain id of the inbox's channel (non-zero, unique among the consortium's
    /// Fabric chains): the destination chain id of the checkpoints it verifies.
    pub chain_id: u64,
    /// The channel the inbox is installed on.
    pub channel: String,
    /// The inbox chaincode's name.
    pub inbox_chaincode: String,
    /// Organisations to collect endorsements from (empty: as the chaincode's policy requires,
    /// chosen by the gateway).
    pub endorsing_orgs: Vec<String>,
    /// Most messages per transaction.
    pub max_items: usize,
    /// Most bytes of batch JSON per transaction.
    pub max_bytes: usize,
    /// How long one [`Destination::outcome`] call waits for the commit before answering
    /// `Pending`.
    pub commit_wait: Duration,
    /// A submission not committed this long after it was sent is reported
    /// [`SubmissionOutcome::Dropped`] (the orderer lost it; Fabric's CommitStatus would wait
    /// forever). Safe even if it commits later: the inbox's replay guard and MVCC checks refuse
    /// a second delivery of any of its messages.
    pub drop_after: Duration,
}

impl FabricDestinationConfig {
    /// Defaults for the inbox `causeway_inbox` on `channel` (configured chain id `chain_id`) of
    /// the network with Causeway domain `domain`: at most 128 messages and 512 KiB per
    /// transaction, 2 s of waiting per outcome query, dropped after 60 s without a commit.
    pub fn new(domain: Domain, chain_id: u64, channel: impl Into<String>) -> Self {
        FabricDestinationConfig {
            domain,
            chain_id,
            channel: channel.into(),
            inbox_chaincode: INBOX_CHAINCODE.to_owned(),
            endorsing_orgs: Vec::new(),
            max_items: 128,
            max_bytes: 512 * 1024,
            commit_wait: Duration::from_secs(2),
            drop_after: Duration::from_secs(60),
        }
    }

    /// What validators sign a checkpoint of `origin` (chain id `origin_chain_id`, validator
    /// set epoch `validator_epoch` at this inbox) under for this inbox: its
    /// [`inbox_signing_domain`].
    pub fn signing_domain(
        &self,
        origin: Domain,
        origin_chain_id: u64,
        validator_epoch: u64,
    ) -> SigningDomain {
        inbox_signing_domain(
            origin,
            origin_chain_id,
            self.domain,
            self.chain_id,
            &self.channel,
            &self.inbox_chaincode,
            validator_epoch,
        )
    }
}

/// The destination side of a Fabric network: a cloneable handle over one [`FabricClient`]
/// (whose identity signs the proposals and transactions).
#[derive(Clone, Debug)]
pub struct FabricDestination {
    client: FabricClient,
    config: FabricDestinationConfig,
}

impl FabricDestination {
    /// A destination submitting through `client`. Refuses budgets the inbox would refuse.
    pub fn new(client: FabricClient, config: FabricDestinationConfig) -> Result<Self, Error> {
        if config.max_items == 0 || config.max_items > MAX_BATCH_ITEMS {
            return Err(Error::Config {
                reason: format!(
                    "max_items {} is not in 1..={MAX_BATCH_ITEMS}",
                    config.max_items
                ),
            });
        }
        if config.max_bytes > MAX_BATCH_BYTES {
            return Err(Error::Config {
                reason: format!(
                    "max_bytes {} exceeds the inbox's {MAX_BATCH_BYTES}",
                    config.max_bytes
                ),
            });
        }
        if config.chain_id == 0 {
            return Err(Error::Config {
                reason: "chain id 0 is never trusted: give the channel its configured, non-zero chain id".to_owned(),
            });
        }
        if config.channel.is_empty() || config.inbox_chaincode.is_empty() {
            return Err(Error::Config {
                reason: "channel and inbox chaincode must be named".to_owned(),
            });
        }
        Ok(FabricDestination { client, config })
    }

    /// The configuration.
    pub fn config(&self) -> &FabricDestinationConfig {
        &self.config
    }

    fn invocation(&self, function: &str, args: Vec<Vec<u8>>) -> Invocation {
        Invocation::new(
            &self.config.channel,
            &self.config.inbox_chaincode,
            function,
            args,
        )
    }
}

impl Destination for FabricDestination {
    fn domain(&self) -> Domain {
        self.config.domain
    }

    #[tracing::instrument(name = "fabric_submit", skip_all,
        fields(domain = %self.config.domain, messages = batch.items.len()))]
    async fn submit_recorded(
        &self,
        batch: &DeliveryBatch,
        recorder: &dyn Recorder,
    ) -> Result<Vec<Submission>, Error> {
        batch.check_shape()?;
        let mut out = Vec::new();
        for range in plan(batch, &self.config)? {
            let part = batch.slice(range);
            let sent = async {
                let (endorsed, results) = self.endorse(&part).await?;
                let handle = FabricSubmission {
                    tx_id: endorsed.tx_id.0.clone(),
                    channel: endorsed.channel_id.clone(),
                    submitted_at: unix_now(),
                    results,
                }
                .to_handle();
                let signed = self.client.sign(&endorsed);
                // No bytes: a lost envelope is not sent again (see `outcome_recorded`).
                recorder
                    .record(&SignedSubmission {
                        handle: handle.clone(),
                        messages: part.ids(),
                        signed: Vec::new(),
                    })
                    .await?;
                self.client.submit_signed(&endorsed, signed).await?;
                Ok::<_, Error>((endorsed, handle))
            }
            .await;
            let (endorsed, handle) = match sent {
                Ok(sent) => sent,
                // Parts already sent are in flight: report them; the rest is not sent.
                Err(e) if !out.is_empty() => {
                    tracing::warn!(error = %e, sent = out.len(),
                        "a later part of the batch could not be sent");
                    break;
                }
                Err(e) => return Err(e),
            };
            tracing::debug!(tx = %endorsed.tx_id, messages = part.items.len(),
                "submitted deliverBatch");
            out.push(Submission {
                handle,
                messages: part.ids(),
            });
        }
        Ok(out)
    }

    #[tracing::instrument(name = "fabric_outcome", skip_all, fields(domain = %self.config.domain))]
    /// The recorded signed envelope is not sent again: a transaction the orderer never got
    /// is reported dropped after `drop_after`, and its messages are prepared again (a new
    /// transaction id; the inbox's replay record keeps delivery exactly once).
    async fn outcome_recorded(
        &self,
        handle: &SubmissionHandle,
        _signed: Option<&[u8]>,
    ) -> Result<SubmissionOutcome, Error> {
        let sub = FabricSubmission::from_handle(handle)?;
        let tx_id = super::identity::TransactionId(sub.tx_id.clone());
        let status = tokio::time::timeout(
            self.config.commit_wait,
            self.client.commit_status(&tx_id, &sub.channel),
        )
        .await;
        let CommitStatus { code, block_number } = match status {
            Err(_elapsed)
                if unix_now().saturating_sub(sub.submitted_at)
                    >= self.config.drop_after.as_secs() =>
            {
                return Ok(SubmissionOutcome::Dropped);
            }
            Err(_elapsed) => return Ok(SubmissionOutcome::Pending),
            Ok(status) => status?,
        };
        let (block, committed) = self.committed(block_number, &sub.tx_id, code).await?;
        if !code.is_valid() {
            return Ok(SubmissionOutcome::Reverted {
                block,
                reason: RevertReason::Message {
                    message: format!("transaction {} invalidated at commit: {code}", sub.tx_id),
                },
            });
        }
        let results = match committed {
            Some(payload) => parse_results(&payload)?,
            None => sub.results,
        };
        Ok(SubmissionOutcome::Included {
            block,
            confirmations: u64::MAX,
            messages: results.into_iter().map(|r| (r.id, r.outcome)).collect(),
        })
    }

    async fn delivery_status(&self, id: &MessageId) -> Result<DeliveryStatus, Error> {
        let invocation = self.invocation("status", vec![id.to_hex().into_bytes()]);
        let response = self
            .client
            .evaluate(&invocation, &[])
            .await
            .map_err(refusal)?;
        if response.status != 200 {
            return Err(Error::Decode {
                what: "inbox status",
                reason: format!("status {}: {}", response.status, response.message),
            });
        }
        match response.payload.as_slice() {
            b"none" => Ok(DeliveryStatus::NotDelivered),
            b"delivered" => Ok(DeliveryStatus::Delivered),
            b"failed" => Ok(DeliveryStatus::Failed),
            b"refused" => Ok(DeliveryStatus::Refused),
            other => Err(Error::Decode {
                what: "inbox status",
                reason: format!("unknown status {:?}", String::from_utf8_lossy(other)),
            }),
        }
    }
}

/// Seconds since the Unix epoch (0 before it: a clock that wrong drops nothing early).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
