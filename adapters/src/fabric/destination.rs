//! [`FabricDestination`]: delivers batches to the `causeway_inbox` chaincode the way Fabric's
//! Gateway SDKs submit a transaction: Endorse, then Submit, then CommitStatus.
//!
//! - **Sizing**: a batch is split into parts of at most `max_items` messages and `max_bytes` of
//!   [`FabricDeliveryBatch`] JSON (the inbox refuses more than 512 items or 1 MiB).
//! - **Refusals before anything is sent**: endorsement *is* the simulation. A part the inbox
//!   refuses (a bad signature, a replay, ...) fails at Endorse with the inbox's named reason,
//!   decoded into [`Error::Reverted`]; nothing is submitted.
//! - **Outcome**: CommitStatus of the transaction. `VALID` is [`SubmissionOutcome::Included`],
//!   with the per-message results the committed transaction's response carries (read from its
//!   block; the endorsed ones in the handle otherwise). Any other validation code
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

use std::time::Duration;

use causeway_proofs::bundle::ChainFamily;
use causeway_proofs::{Domain, MessageId, SigningDomain};
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt as _;

use super::block::{FabricBlock, FabricTransaction, ValidationCode};
use super::client::{CommitStatus, EndorsedTransaction, FabricClient};
use super::inbox_wire::{
    DeliveryResult, FabricDeliveryBatch, INBOX_CHAINCODE, MAX_BATCH_BYTES, MAX_BATCH_ITEMS,
    decode_revert, inbox_signing_domain, parse_results,
};
use super::request::Invocation;
use crate::Error;
use crate::chain::{
    BlockId, BlockRef, DeliveryBatch, DeliveryStatus, Destination, RevertReason, Submission,
    SubmissionHandle, SubmissionOutcome,
};

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

/// The data of a Fabric [`SubmissionHandle`]: the transaction, its channel, and the results the
/// endorsed simulation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricSubmission {
    /// The transaction id.
    pub tx_id: String,
    /// The channel.
    pub channel: String,
    /// When it was submitted, in seconds since the Unix epoch.
    pub submitted_at: u64,
    /// Per-message results of the endorsement (what the commit makes true if it is VALID).
    pub results: Vec<DeliveryResult>,
}

impl FabricSubmission {
    /// The handle carrying this submission.
    pub fn to_handle(&self) -> SubmissionHandle {
        SubmissionHandle {
            family: ChainFamily::Fabric,
            data: serde_json::to_value(self).expect("plain data serialises"),
        }
    }

    /// The submission a handle carries; [`Error::InvalidHandle`] if it is not a Fabric one.
    pub fn from_handle(handle: &SubmissionHandle) -> Result<Self, Error> {
        if handle.family != ChainFamily::Fabric {
            return Err(Error::InvalidHandle {
                reason: format!("handle of family {:?}, not fabric", handle.family),
            });
        }
        FabricSubmission::deserialize(&handle.data).map_err(|e| Error::InvalidHandle {
            reason: e.to_string(),
        })
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
        Invocation {
            channel_id: self.config.channel.clone(),
            chaincode: self.config.inbox_chaincode.clone(),
            function: function.to_owned(),
            args,
            ..Default::default()
        }
    }
}

/// Splits `batch` into consecutive ranges within the item and byte budgets of `config`.
fn plan(
    batch: &DeliveryBatch,
    config: &FabricDestinationConfig,
) -> Result<Vec<core::ops::Range<usize>>, Error> {
    let wire = FabricDeliveryBatch::from_batch(batch);
    let mut empty = wire.clone();
    empty.items.clear();
    // The JSON of a part: the envelope, plus each item and a comma.
    let overhead = empty.to_json().len();
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0, overhead);
    for (i, item) in wire.items.iter().enumerate() {
        let size = serde_json::to_vec(item)
            .expect("plain data serialises")
            .len()
            + 1;
        if overhead + size > config.max_bytes {
            return Err(Error::InvalidBatch {
                reason: format!(
                    "message {} needs {} bytes, over the budget of {} per transaction",
                    batch.items[i].message.id(),
                    overhead + size,
                    config.max_bytes
                ),
            });
        }
        if i > start && (i - start == config.max_items || bytes + size > config.max_bytes) {
            parts.push(start..i);
            start = i;
            bytes = overhead;
        }
        bytes += size;
    }
    parts.push(start..wire.items.len());
    Ok(parts)
}

impl FabricDestination {
    /// Endorses `deliverBatch` of `part`; a refusal by the inbox is [`Error::Reverted`].
    async fn endorse(
        &self,
        part: &DeliveryBatch,
    ) -> Result<(EndorsedTransaction, Vec<DeliveryResult>), Error> {
        let json = FabricDeliveryBatch::from_batch(part).to_json();
        let invocation = self.invocation("deliverBatch", vec![json]);
        let endorsed = self
            .client
            .endorse(&invocation, &self.config.endorsing_orgs)
            .await
            .map_err(refusal)?;
        let payload = response_payload(&endorsed)?;
        let results = parse_results(&payload)?;
        Ok((endorsed, results))
    }

    /// The block `number`'s header hash and the response payload of the transaction `tx_id`
    /// committed in it with `code` (see [`committed_response`]).
    async fn committed(
        &self,
        number: u64,
        tx_id: &str,
        code: ValidationCode,
    ) -> Result<(BlockRef, Option<Vec<u8>>), Error> {
        let mut blocks = self
            .client
            .deliver_blocks(&self.config.channel, number)
            .await?;
        let block = blocks.next().await.ok_or_else(|| Error::MissingData {
            what: format!("block {number} of channel {}", self.config.channel),
        })??;
        let at = BlockRef {
            height: number,
            id: BlockId::from(block.header_hash().0),
        };
        let payload = committed_response(&block, tx_id, code)?;
        Ok((at, payload))
    }
}

/// The response payload (status 200) of the transaction `tx_id` whose TRANSACTIONS_FILTER code
/// in `block` is `code`, the one CommitStatus reported. A block may hold the same tx id more
/// than once (a resubmitted envelope, which the committer marks `DUPLICATE_TXID`, or another
/// envelope under the same id): copies with another code are skipped, so the results of the
/// committed transaction are never taken from an invalid twin. `None` when no such transaction
/// is in the block or it has no successful response.
fn committed_response(
    block: &FabricBlock,
    tx_id: &str,
    code: ValidationCode,
) -> Result<Option<Vec<u8>>, Error> {
    let codes = block.validation_codes()?;
    Ok(block
        .data()
        .data
        .iter()
        .zip(codes)
        .enumerate()
        .filter(|(_, (_, c))| *c == code)
        .filter_map(|(i, (bytes, _))| FabricTransaction::decode(i, bytes).ok())
        .find(|tx| tx.tx_id() == tx_id)
        .and_then(|tx| tx.actions.into_iter().next())
        .and_then(|action| action.chaincode_action.response)
        .filter(|response| response.status == 200)
        .map(|response| response.payload))
}

/// Seconds since the Unix epoch (0 before it: a clock that wrong drops nothing early).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An endorsement failure: the inbox's named reason when its message carries one, else the
/// gateway's error as it was.
fn refusal(error: Error) -> Error {
    let text = match &error {
        Error::Rpc { message, .. } => message.clone(),
        other => other.to_string(),
    };
    match decode_revert(&text) {
        Some(reason) => Error::Reverted { reason },
        None => error,
    }
}

/// The chaincode response payload of an endorsed transaction (fabric-gateway's
/// `transactionparser.go`: the first action's `ChaincodeAction.response`).
fn response_payload(endorsed: &EndorsedTransaction) -> Result<Vec<u8>, Error> {
    let bytes = prost::Message::encode_to_vec(&endorsed.prepared);
    let tx = FabricTransaction::decode(0, &bytes)?;
    let response = tx
        .actions
        .into_iter()
        .next()
        .and_then(|a| a.chaincode_action.response)
        .ok_or_else(|| Error::MissingData {
            what: format!(
                "chaincode response of endorsed transaction {}",
                endorsed.tx_id
            ),
        })?;
    if response.status != 200 {
        return Err(Error::Reverted {
            reason: decode_revert(&response.message).unwrap_or(RevertReason::Message {
                message: response.message,
            }),
        });
    }
    Ok(response.payload)
}

impl Destination for FabricDestination {
    fn domain(&self) -> Domain {
        self.config.domain
    }

    #[tracing::instrument(name = "fabric_submit", skip_all,
        fields(domain = %self.config.domain, messages = batch.items.len()))]
    async fn submit(&self, batch: &DeliveryBatch) -> Result<Vec<Submission>, Error> {
        batch.check_shape()?;
        let mut out = Vec::new();
        for range in plan(batch, &self.config)? {
            let part = batch.slice(range);
            let sent = async {
                let (endorsed, results) = self.endorse(&part).await?;
                self.client.submit(&endorsed).await?;
                Ok::<_, Error>((endorsed, results))
            }
            .await;
            let (endorsed, results) = match sent {
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
                handle: FabricSubmission {
                    tx_id: endorsed.tx_id.0.clone(),
                    channel: endorsed.channel_id.clone(),
                    submitted_at: unix_now(),
                    results,
                }
                .to_handle(),
                messages: part.ids(),
            });
        }
        Ok(out)
    }

    #[tracing::instrument(name = "fabric_outcome", skip_all, fields(domain = %self.config.domain))]
    async fn outcome(&self, handle: &SubmissionHandle) -> Result<SubmissionOutcome, Error> {
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
            other => Err(Error::Decode {
                what: "inbox status",
                reason: format!("unknown status {:?}", String::from_utf8_lossy(other)),
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use causeway_proofs::{Hash32, MessageId};

    use super::*;
    use crate::chain::MessageOutcome;
    use crate::fabric::proto::protos::TxValidationCode;

    /// An endorser transaction `tx_id` whose chaincode answered `status` with `payload`.
    fn envelope(tx_id: &str, status: i32, payload: &[u8]) -> Vec<u8> {
        use prost::Message as _;

        use crate::fabric::proto::common::{
            ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader,
        };
        use crate::fabric::proto::protos::{
            ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction,
            ProposalResponsePayload, Response, Transaction, TransactionAction,
        };
        let signature_header = SignatureHeader::default().encode_to_vec();
        let action = ChaincodeAction {
            response: Some(Response {
                status,
                payload: payload.to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let transaction = Transaction {
            actions: vec![TransactionAction {
                header: signature_header.clone(),
                payload: ChaincodeActionPayload {
                    chaincode_proposal_payload: Vec::new(),
                    action: Some(ChaincodeEndorsedAction {
                        proposal_response_payload: ProposalResponsePayload {
                            proposal_hash: vec![1; 32],
                            extension: action.encode_to_vec(),
                        }
                        .encode_to_vec(),
                        endorsements: Vec::new(),
                    }),
                }
                .encode_to_vec(),
            }],
        };
        Envelope {
            payload: Payload {
                header: Some(Header {
                    channel_header: ChannelHeader {
                        r#type: HeaderType::EndorserTransaction as i32,
                        channel_id: "causeway".to_owned(),
                        tx_id: tx_id.to_owned(),
                        ..Default::default()
                    }
                    .encode_to_vec(),
                    signature_header,
                }),
                data: transaction.encode_to_vec(),
            }
            .encode_to_vec(),
            signature: Vec::new(),
        }
        .encode_to_vec()
    }

    /// A block of `txs` with TRANSACTIONS_FILTER `filter`.
    fn block(txs: Vec<Vec<u8>>, filter: Vec<u8>) -> FabricBlock {
        use crate::fabric::proto::common::{Block, BlockData, BlockHeader, BlockMetadata};
        FabricBlock::new(Block {
            header: Some(BlockHeader {
                number: 5,
                ..Default::default()
            }),
            data: Some(BlockData { data: txs }),
            metadata: Some(BlockMetadata {
                metadata: vec![Vec::new(), Vec::new(), filter, Vec::new(), Vec::new()],
            }),
        })
        .expect("header, data and metadata are present")
    }

    #[test]
    fn the_committed_response_is_the_one_with_the_reported_code() {
        let valid = ValidationCode::VALID;
        let duplicate = ValidationCode(TxValidationCode::DuplicateTxid as u8);
        let mvcc = ValidationCode(TxValidationCode::MvccReadConflict as u8);
        // An invalid twin under the same tx id before the committed transaction.
        let twins = block(
            vec![
                envelope("other", 200, b"unrelated"),
                envelope("tx", 200, b"twin"),
                envelope("tx", 200, b"committed"),
            ],
            vec![valid.0, mvcc.0, valid.0],
        );
        assert_eq!(
            committed_response(&twins, "tx", valid).unwrap().as_deref(),
            Some(&b"committed"[..])
        );
        assert_eq!(
            committed_response(&twins, "tx", mvcc).unwrap().as_deref(),
            Some(&b"twin"[..])
        );
        // The committed transaction first, its resubmitted copy marked DUPLICATE_TXID after it.
        let resubmitted = block(
            vec![envelope("tx", 200, b"first"), envelope("tx", 200, b"copy")],
            vec![valid.0, duplicate.0],
        );
        assert_eq!(
            committed_response(&resubmitted, "tx", valid)
                .unwrap()
                .as_deref(),
            Some(&b"first"[..])
        );
        // No transaction with the reported code, or a failed response: nothing.
        assert_eq!(committed_response(&resubmitted, "tx", mvcc).unwrap(), None);
        assert_eq!(committed_response(&twins, "absent", valid).unwrap(), None);
        let failed = block(vec![envelope("tx", 500, b"no")], vec![valid.0]);
        assert_eq!(committed_response(&failed, "tx", valid).unwrap(), None);
        // A block without a filter entry per transaction is not a committed block.
        let unfiltered = block(vec![envelope("tx", 200, b"x")], Vec::new());
        assert!(committed_response(&unfiltered, "tx", valid).is_err());
    }

    #[test]
    fn handles_round_trip_and_refuse_other_families() {
        let sub = FabricSubmission {
            tx_id: "ab".repeat(32),
            channel: "causeway".into(),
            submitted_at: 1_700_000_000,
            results: vec![DeliveryResult {
                id: MessageId(Hash32([3; 32])),
                outcome: MessageOutcome::Delivered,
            }],
        };
        let handle = sub.to_handle();
        assert_eq!(FabricSubmission::from_handle(&handle).unwrap(), sub);
        let json = serde_json::to_string(&handle).unwrap();
        let back: SubmissionHandle = serde_json::from_str(&json).unwrap();
        assert_eq!(FabricSubmission::from_handle(&back).unwrap(), sub);
        let evm = SubmissionHandle {
            family: ChainFamily::Evm,
            data: handle.data.clone(),
        };
        assert!(matches!(
            FabricSubmission::from_handle(&evm),
            Err(Error::InvalidHandle { .. })
        ));
    }

    fn batch(n: usize, body: usize) -> DeliveryBatch {
        use causeway_proofs::log::Sha256Log;
        use causeway_proofs::{Address32, Checkpoint, HashAlgorithm, LeafIndex, Message, Nonce};
        let mut log = Sha256Log::new();
        let messages: Vec<Message> = (0..n)
            .map(|i| {
                Message::new(
                    Nonce(i as u64),
                    Domain(1),
                    Address32([1; 32]),
                    Domain(2),
                    Address32([2; 32]),
                    vec![7; body],
                )
                .unwrap()
            })
            .collect();
        for m in &messages {
            log.append(m.id().as_hash());
        }
        let checkpoint =
            Checkpoint::new(Domain(1), HashAlgorithm::Sha256, log.size(), log.root()).unwrap();
        DeliveryBatch {
            checkpoint,
            signatures: vec![causeway_proofs::Signature([1; 65])],
            items: messages
                .into_iter()
                .enumerate()
                .map(|(i, message)| crate::chain::DeliveryItem {
                    message,
                    proof: log
                        .inclusion_proof(LeafIndex(i as u64), log.size())
                        .unwrap(),
                })
                .collect(),
        }
    }

    #[test]
    fn batches_split_by_count_and_by_bytes_and_every_part_fits() {
        let mut config = FabricDestinationConfig::new(Domain(2), 2001, "causeway");
        config.max_items = 4;
        let b = batch(10, 10);
        assert_eq!(plan(&b, &config).unwrap(), vec![0..4, 4..8, 8..10]);
        // 20 KiB bodies (40 KiB of hex each) in a 128 KiB budget: 3 per part.
        let b = batch(7, 20 * 1024);
        config.max_items = 128;
        config.max_bytes = 128 * 1024;
        let parts = plan(&b, &config).unwrap();
        assert_eq!(parts, vec![0..3, 3..6, 6..7]);
        for range in parts {
            let json = FabricDeliveryBatch::from_batch(&b.slice(range)).to_json();
            assert!(json.len() <= config.max_bytes, "{}", json.len());
        }
        config.max_bytes = 30 * 1024;
        assert!(matches!(plan(&b, &config), Err(Error::InvalidBatch { .. })));
        assert_eq!(plan(&batch(1, 1), &config).unwrap(), vec![0..1]);
    }

    #[test]
    fn refusals_carry_the_inbox_reason() {
        let reason = RevertReason::ZeroRoot;
        let error = Error::Rpc {
            endpoint: "https://127.0.0.1:1".into(),
            method: "gateway.Gateway/Endorse",
            code: 10,
            message: format!(
                "failed to endorse; peer p (Org1MSP): chaincode response 500, {}",
                super::super::inbox_wire::encode_revert(&reason)
            ),
        };
        assert!(matches!(
            refusal(error),
            Error::Reverted {
                reason: RevertReason::ZeroRoot
            }
        ));
        let other = refusal(Error::Rpc {
            endpoint: "https://127.0.0.1:1".into(),
            method: "gateway.Gateway/Endorse",
            code: 14,
            message: "peer down".into(),
        });
        assert!(matches!(other, Error::Rpc { .. }));
    }
}
