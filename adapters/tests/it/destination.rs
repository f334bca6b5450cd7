//! `EvmDestination` against anvil: per-message outcomes, replay refused with its name, batch
//! splitting by gas, many transactions in flight from one key, replacement of a stuck one, and
//! the decoded reason of a transaction that reverted on chain, and record-before-broadcast
//! (a restart sends the recorded transaction again, byte for byte).

use std::time::Duration;

use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use causeway_adapters::chain::BoxFuture;
use causeway_adapters::evm::{EvmDestination, EvmDestinationConfig, EvmSubmission};
use causeway_adapters::{
    DeliveryBatch, DeliveryItem, DeliveryStatus, Destination, Error, MessageOutcome, Recorder,
    RevertReason, SignedSubmission, Submission, SubmissionHandle, SubmissionOutcome,
};
use causeway_devnet::contracts::{deploy_example_recipient, deploy_gas_burning_recipient};
use causeway_devnet::fixtures::{
    Committee, OriginLog, evm_signing_domain, inbox_checkpoint, inbox_proof, message,
};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use causeway_proofs::{LeafIndex, Message, MessageId, Signature};

/// Dev account used as the relayer (the admin is account 0).
const RELAYER: usize = 5;

/// Chain B with the Inbox trusting a 2-of-3 committee for origin domain 1 (chain A).
struct Lane {
    chain: DevChain,
    committee: Committee,
    epoch: u64,
}

impl Lane {
    async fn start() -> Lane {
        let chain = DevChain::start(CHAIN_B).await.unwrap();
        let committee = Committee::new("causeway-adapters-it", 3, 2);
        let domain = committee
            .install(&chain.inbox, CHAIN_A.domain, CHAIN_A.chain_id)
            .await
            .unwrap();
        Lane {
            chain,
            committee,
            epoch: domain.validator_epoch,
        }
    }

    fn inbox(&self) -> Address {
        *self.chain.inbox.address()
    }

    fn config(&self) -> EvmDestinationConfig {
        let mut c =
            EvmDestinationConfig::new(self.chain.node.endpoint(), CHAIN_B.domain, self.inbox());
        c.chain_id = Some(CHAIN_B.chain_id);
        c
    }

    fn destination(&self, config: EvmDestinationConfig) -> EvmDestination {
        let key = self.chain.node.dev_keys()[RELAYER].to_bytes();
        EvmDestination::new(config, &key.0).unwrap()
    }

    /// A message from chain A to `recipient` on chain B.
    fn message(&self, nonce: u64, recipient: Address) -> Message {
        message(
            nonce,
            CHAIN_A.domain,
            Address::repeat_byte(0xaa),
            CHAIN_B.domain,
            recipient,
            format!("body {nonce:04}").as_bytes(),
        )
    }

    /// The batch delivering `log`'s messages at `indexes` under a checkpoint of the whole log.
    fn batch(&self, log: &OriginLog, indexes: &[usize]) -> DeliveryBatch {
        let cp = log.checkpoint(CHAIN_A.domain);
        let domain = evm_signing_domain(
            CHAIN_A.domain,
            CHAIN_A.chain_id,
            CHAIN_B.domain,
            CHAIN_B.chain_id,
            self.inbox(),
            self.epoch,
        );
        let signatures = self
            .committee
            .sign(&cp, &domain)
            .iter()
            .map(|s| Signature::from_slice(s).unwrap())
            .collect();
        DeliveryBatch {
            checkpoint: cp,
            signatures,
            items: indexes
                .iter()
                .map(|&i| DeliveryItem {
                    message: log.messages()[i].clone(),
                    proof: log.proof(LeafIndex(i as u64)),
                })
                .collect(),
        }
    }
}

/// The gas the lane's Inbox guarantees each recipient.
async fn handle_gas(lane: &Lane) -> u64 {
    lane.chain
        .inbox
        .HANDLE_GAS()
        .call()
        .await
        .unwrap()
        .try_into()
        .unwrap()
}

/// Polls `outcome` until it is no longer pending.
async fn settle(dest: &EvmDestination, handle: &SubmissionHandle) -> SubmissionOutcome {
    for _ in 0..100 {
        match dest.outcome(handle).await.unwrap() {
            SubmissionOutcome::Pending => tokio::time::sleep(Duration::from_millis(50)).await,
            other => return other,
        }
    }
    panic!("submission still pending");
}

fn delivered(ids: &[MessageId]) -> Vec<(MessageId, MessageOutcome)> {
    ids.iter()
        .map(|id| (*id, MessageOutcome::Delivered))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_a_batch_with_per_message_outcomes_and_skips_a_replay() {
    let lane = Lane::start().await;
    let refusing = deploy_example_recipient(&lane.chain.provider, lane.inbox())
        .await
        .unwrap();
    refusing
        .setShouldRevert(true)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    log.append(lane.message(0, good));
    log.append(lane.message(1, *refusing.address()));
    log.append(lane.message(2, good));
    let ids: Vec<MessageId> = log.messages().iter().map(Message::id).collect();
    let dest = lane.destination(lane.config());
    let batch = lane.batch(&log, &[0, 1, 2]);

    let subs = dest.submit(&batch).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].messages, ids);
    let Submission { handle, .. } = &subs[0];
    let sub = EvmSubmission::from_handle(handle).unwrap();
    assert_eq!(sub.from, dest.address());
    match settle(&dest, handle).await {
        SubmissionOutcome::Included {
            confirmations,
            messages,
            block,
        } => {
            assert!(confirmations >= 1);
            assert!(block.height > 0);
            assert_eq!(messages.len(), 3);
            assert_eq!(messages[0], (ids[0], MessageOutcome::Delivered));
            assert_eq!(messages[1].0, ids[1]);
            assert!(
                matches!(&messages[1].1, MessageOutcome::Failed { reason } if !reason.is_empty())
            );
            assert_eq!(messages[2], (ids[2], MessageOutcome::Delivered));
        }
        other => panic!("expected Included, got {other:?}"),
    }
    assert_eq!(
        dest.delivery_status(&ids[0]).await.unwrap(),
        DeliveryStatus::Delivered
    );
    assert_eq!(
        dest.delivery_status(&ids[1]).await.unwrap(),
        DeliveryStatus::Failed
    );
    let other = lane.message(9, good).id();
    assert_eq!(
        dest.delivery_status(&other).await.unwrap(),
        DeliveryStatus::NotDelivered
    );
    // The whole batch's replay records in one `Inbox.statuses` call, in the order asked.
    assert_eq!(
        dest.delivery_statuses(&[other, ids[1], ids[0], other])
            .await
            .unwrap(),
        [
            DeliveryStatus::NotDelivered,
            DeliveryStatus::Failed,
            DeliveryStatus::Delivered,
            DeliveryStatus::NotDelivered
        ]
    );
    assert!(dest.delivery_statuses(&[]).await.unwrap().is_empty());
    assert_eq!(
        lane.chain.recipient.handled().call().await.unwrap(),
        alloy::primitives::U256::from(2)
    );

    // T25: the same batch again does not revert (issue 9): each message is skipped and reported
    // as the Inbox recorded it, and no recipient runs again.
    let subs = dest.submit(&batch).await.unwrap();
    match settle(&dest, &subs[0].handle).await {
        SubmissionOutcome::Included { messages, .. } => assert_eq!(
            messages,
            vec![
                (ids[0], MessageOutcome::Delivered),
                (
                    ids[1],
                    MessageOutcome::Failed {
                        reason: "recorded failed by an earlier transaction".into()
                    }
                ),
                (ids[2], MessageOutcome::Delivered),
            ]
        ),
        other => panic!("expected Included, got {other:?}"),
    }
    assert_eq!(
        lane.chain.recipient.handled().call().await.unwrap(),
        alloy::primitives::U256::from(2)
    );

    // Other refusals are named too: a proof for another message, a checkpoint for another
    // origin.
    let mut log2 = OriginLog::new();
    log2.append(lane.message(20, good));
    log2.append(lane.message(21, good));
    let mut swapped = lane.batch(&log2, &[0]);
    swapped.items[0].proof = log2.proof(LeafIndex(1));
    assert!(matches!(
        dest.submit(&swapped).await,
        Err(Error::Reverted {
            reason: RevertReason::InvalidProof
        })
    ));
    let mut unsigned = lane.batch(&log2, &[0]);
    unsigned.signatures.truncate(1);
    assert!(matches!(
        dest.submit(&unsigned).await,
        Err(Error::Reverted {
            reason: RevertReason::BelowThreshold {
                valid: 1,
                threshold: 2
            }
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splits_a_batch_that_exceeds_the_gas_budget() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for n in 0..4 {
        log.append(lane.message(n, good));
    }
    let ids: Vec<MessageId> = log.messages().iter().map(Message::id).collect();
    let probe = lane.destination(lane.config());
    let single = causeway_adapters::evm::bindings::deliver_packed_calldata(&lane.batch(&log, &[0]));
    let pair =
        causeway_adapters::evm::bindings::deliver_packed_calldata(&lane.batch(&log, &[0, 1]));
    let one = probe.estimate(&single).await.unwrap();
    let two = probe.estimate(&pair).await.unwrap();
    assert!(
        two > one + 1_000,
        "a second message costs gas ({one} vs {two})"
    );

    // A part's gas limit is its estimate plus the gas the Inbox guarantees each recipient.
    let handle_gas = handle_gas(&lane).await;
    let mut config = lane.config();
    config.gas_budget = one + handle_gas + 1_000;
    let dest = lane.destination(config);
    let subs = dest.submit(&lane.batch(&log, &[0, 1, 2, 3])).await.unwrap();
    assert_eq!(subs.len(), 4, "one message per transaction");
    for (sub, id) in subs.iter().zip(&ids) {
        assert_eq!(sub.messages, vec![*id]);
        match settle(&dest, &sub.handle).await {
            SubmissionOutcome::Included { messages, .. } => {
                assert_eq!(messages, delivered(&[*id]));
            }
            other => panic!("{other:?}"),
        }
    }

    let mut tiny = lane.config();
    tiny.gas_budget = 100_000;
    let mut log2 = OriginLog::new();
    log2.append(lane.message(10, good));
    assert!(matches!(
        lane.destination(tiny)
            .submit(&lane.batch(&log2, &[0]))
            .await,
        Err(Error::GasBudgetExceeded {
            budget: 100_000,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_many_transactions_in_flight_from_one_signer() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for n in 0..20 {
        log.append(lane.message(n, good));
    }
    let dest = lane.destination(lane.config());
    let start = lane
        .chain
        .provider
        .get_transaction_count(dest.address())
        .await
        .unwrap();
    lane.chain
        .provider
        .anvil_set_auto_mine(false)
        .await
        .unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let dest = dest.clone();
        let batch = lane.batch(&log, &[i]);
        tasks.spawn(async move { dest.submit(&batch).await.unwrap() });
    }
    let subs: Vec<Submission> = tasks.join_all().await.into_iter().flatten().collect();
    assert_eq!(subs.len(), 20);
    let mut nonces: Vec<u64> = subs
        .iter()
        .map(|s| EvmSubmission::from_handle(&s.handle).unwrap().nonce)
        .collect();
    nonces.sort_unstable();
    assert_eq!(
        nonces,
        (start..start + 20).collect::<Vec<_>>(),
        "contiguous"
    );
    for s in &subs {
        assert_eq!(
            dest.outcome(&s.handle).await.unwrap(),
            SubmissionOutcome::Pending
        );
    }

    lane.chain.provider.evm_mine(None).await.unwrap();
    lane.chain.provider.anvil_set_auto_mine(true).await.unwrap();
    let mut blocks = std::collections::BTreeSet::new();
    for s in &subs {
        match settle(&dest, &s.handle).await {
            SubmissionOutcome::Included {
                block, messages, ..
            } => {
                assert_eq!(messages, delivered(&s.messages));
                blocks.insert(block.height);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        blocks.len(),
        1,
        "all twenty were pending together and mined in one block"
    );
    assert_eq!(
        lane.chain.recipient.handled().call().await.unwrap(),
        alloy::primitives::U256::from(20)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaces_a_stuck_transaction_with_bumped_fees() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    log.append(lane.message(0, good));
    let mut config = lane.config();
    config.replace_after = Duration::ZERO;
    config.fee_bump_per_mille = 125;
    let dest = lane.destination(config);
    lane.chain
        .provider
        .anvil_set_auto_mine(false)
        .await
        .unwrap();

    let subs = dest.submit(&lane.batch(&log, &[0])).await.unwrap();
    let sub = EvmSubmission::from_handle(&subs[0].handle).unwrap();
    assert_eq!(dest.sent_transactions(sub.nonce), sub.transactions);
    let p = &lane.chain.provider;
    // (The node drops the original from its pool once replaced: read it now.)
    let old = p
        .get_transaction_by_hash(sub.transactions[0])
        .await
        .unwrap()
        .unwrap();
    // Pending past `replace_after`: the outcome query re-sends it with higher fees.
    assert_eq!(
        dest.outcome(&subs[0].handle).await.unwrap(),
        SubmissionOutcome::Pending
    );
    let sent = dest.sent_transactions(sub.nonce);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sub.transactions[0]);
    let new = p.get_transaction_by_hash(sent[1]).await.unwrap().unwrap();
    use alloy::consensus::Transaction as _;
    assert_eq!(old.nonce(), new.nonce());
    assert!(new.max_fee_per_gas() * 1000 >= old.max_fee_per_gas() * 1125);
    let (old_tip, new_tip) = (
        old.max_priority_fee_per_gas().unwrap(),
        new.max_priority_fee_per_gas().unwrap(),
    );
    assert!(new_tip * 1000 >= old_tip * 1125, "{old_tip} -> {new_tip}");

    lane.chain.provider.evm_mine(None).await.unwrap();
    lane.chain.provider.anvil_set_auto_mine(true).await.unwrap();
    match settle(&dest, &subs[0].handle).await {
        SubmissionOutcome::Included { messages, .. } => {
            assert_eq!(messages, delivered(&subs[0].messages));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        p.get_transaction_receipt(sent[0]).await.unwrap().is_none(),
        "the original was replaced, never mined"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_beaten_by_another_relayer_reports_delivered_by_someone_else() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    log.append(lane.message(0, good));
    let batch = lane.batch(&log, &[0]);
    let dest = lane.destination(lane.config());
    lane.chain
        .provider
        .anvil_set_auto_mine(false)
        .await
        .unwrap();
    let subs = dest.submit(&batch).await.unwrap();

    // T25(c): another relayer (the admin account) delivers the same message in the same block
    // with a much higher tip, so it executes first.
    let cp = log.checkpoint(CHAIN_A.domain);
    let sigs: Vec<Bytes> = batch
        .signatures
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    let competitor = lane
        .chain
        .inbox
        .deliver(
            Bytes::from(log.messages()[0].encode()),
            inbox_proof(&log.proof(LeafIndex(0))),
            inbox_checkpoint(&cp),
            sigs,
        )
        .gas(2_000_000)
        .max_fee_per_gas(1_000_000_000_000)
        .max_priority_fee_per_gas(500_000_000_000)
        .send()
        .await
        .unwrap();
    lane.chain.provider.evm_mine(None).await.unwrap();
    lane.chain.provider.anvil_set_auto_mine(true).await.unwrap();
    assert!(competitor.get_receipt().await.unwrap().status());
    // Issue 9: the beaten transaction does not revert; the message counts as delivered (by
    // someone else).
    match settle(&dest, &subs[0].handle).await {
        SubmissionOutcome::Included { messages, .. } => {
            assert_eq!(messages, delivered(&[log.messages()[0].id()]))
        }
        other => panic!("expected Included, got {other:?}"),
    }
    assert_eq!(
        dest.delivery_status(&log.messages()[0].id()).await.unwrap(),
        DeliveryStatus::Delivered
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_recipient_is_reported_refused_and_the_rest_delivered() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    log.append(lane.message(0, good));
    log.append(lane.message(1, lane.inbox()));
    log.append(lane.message(2, good));
    let ids: Vec<MessageId> = log.messages().iter().map(Message::id).collect();
    let dest = lane.destination(lane.config());
    let subs = dest.submit(&lane.batch(&log, &[0, 1, 2])).await.unwrap();
    match settle(&dest, &subs[0].handle).await {
        SubmissionOutcome::Included { messages, .. } => {
            assert_eq!(messages.len(), 3);
            assert_eq!(messages[0], (ids[0], MessageOutcome::Delivered));
            assert_eq!(messages[1].0, ids[1]);
            assert!(
                matches!(&messages[1].1, MessageOutcome::Refused { reason } if reason.contains("forbidden recipient")),
                "{:?}",
                messages[1]
            );
            assert_eq!(messages[2], (ids[2], MessageOutcome::Delivered));
        }
        other => panic!("expected Included, got {other:?}"),
    }
    assert_eq!(
        dest.delivery_status(&ids[1]).await.unwrap(),
        DeliveryStatus::Refused
    );
    assert_eq!(
        dest.delivery_statuses(&ids).await.unwrap()[1],
        DeliveryStatus::Refused
    );
}

/// A recorder that keeps what it is given, then says yes, or no (as a store that failed, or a
/// process that died right after recording: either way the adapter must not broadcast).
struct Keep {
    accept: bool,
    kept: std::sync::Mutex<Vec<SignedSubmission>>,
    left: std::sync::Mutex<Vec<(MessageId, RevertReason)>>,
}

impl Keep {
    fn new(accept: bool) -> Keep {
        Keep {
            accept,
            kept: std::sync::Mutex::new(Vec::new()),
            left: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn kept(&self) -> Vec<SignedSubmission> {
        self.kept.lock().unwrap().clone()
    }
}

impl Recorder for Keep {
    fn record<'a>(&'a self, s: &'a SignedSubmission) -> BoxFuture<'a, Result<(), Error>> {
        self.kept.lock().unwrap().push(s.clone());
        let result = if self.accept {
            Ok(())
        } else {
            Err(Error::NotRecorded {
                reason: "the test's store refused it".into(),
            })
        };
        Box::pin(std::future::ready(result))
    }

    fn left_out(&self, id: &MessageId, reason: &RevertReason) {
        self.left.lock().unwrap().push((*id, reason.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_is_recorded_before_it_is_broadcast_and_a_refused_record_sends_nothing() {
    let lane = Lane::start().await;
    let to = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for i in 0..2 {
        log.append(lane.message(i, to));
    }
    let dest = lane.destination(lane.config());
    let from = dest.address();
    let nonce_before = lane
        .chain
        .provider
        .get_transaction_count(from)
        .await
        .unwrap();

    // The store refuses the record: nothing reaches the node, and the nonce is not used up.
    let refusing = Keep::new(false);
    let err = dest
        .submit_recorded(&lane.batch(&log, &[0, 1]), &refusing)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotRecorded { .. }), "{err}");
    let [signed] = &refusing.kept()[..] else {
        panic!("one part signed: {:?}", refusing.kept());
    };
    let sub = EvmSubmission::from_handle(&signed.handle).unwrap();
    assert_eq!(sub.nonce, nonce_before);
    let tx = lane
        .chain
        .provider
        .get_transaction_by_hash(sub.transactions[0])
        .await
        .unwrap();
    assert!(tx.is_none(), "a transaction whose record failed was sent");

    // Recorded first, then sent: the record names the transaction that lands, with its bytes.
    let keeping = Keep::new(true);
    let subs = dest
        .submit_recorded(&lane.batch(&log, &[0, 1]), &keeping)
        .await
        .unwrap();
    let [recorded] = &keeping.kept()[..] else {
        panic!("one part recorded: {:?}", keeping.kept());
    };
    assert_eq!(subs.len(), 1);
    assert_eq!(
        subs[0].handle, recorded.handle,
        "the sent handle is the recorded one"
    );
    assert_eq!(subs[0].messages, recorded.messages);
    let sent = EvmSubmission::from_handle(&recorded.handle).unwrap();
    assert_eq!(
        sent.nonce, nonce_before,
        "the refused record's nonce is reused"
    );
    assert_eq!(
        alloy::primitives::keccak256(&recorded.signed),
        sent.transactions[0],
        "the recorded bytes are the sent transaction"
    );
    match settle(&dest, &subs[0].handle).await {
        SubmissionOutcome::Included { messages, .. } => {
            assert_eq!(messages, delivered(&recorded.messages));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_sends_the_recorded_transaction_again_not_a_new_one() {
    let lane = Lane::start().await;
    let to = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for i in 0..3 {
        log.append(lane.message(i, to));
    }
    // The first process signs and records, and dies before broadcasting (the recorder's
    // answer never reaches it: as far as the chain knows, nothing was sent).
    let crashed = Keep::new(false);
    let first = lane.destination(lane.config());
    first
        .submit_recorded(&lane.batch(&log, &[0, 1, 2]), &crashed)
        .await
        .unwrap_err();
    drop(first);
    let [recorded] = &crashed.kept()[..] else {
        panic!("one part signed: {:?}", crashed.kept());
    };
    let sub = EvmSubmission::from_handle(&recorded.handle).unwrap();

    // The restarted process follows the record. Bytes that are not the recorded transaction
    // are never sent.
    let restarted = lane.destination(lane.config());
    let mut forged = recorded.signed.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(
        restarted
            .outcome_recorded(&recorded.handle, Some(&forged))
            .await
            .unwrap(),
        SubmissionOutcome::Pending
    );
    assert!(
        lane.chain
            .provider
            .get_transaction_by_hash(sub.transactions[0])
            .await
            .unwrap()
            .is_none()
    );
    // With the recorded bytes, the very same transaction lands.
    let mut outcome = SubmissionOutcome::Pending;
    for _ in 0..100 {
        outcome = restarted
            .outcome_recorded(&recorded.handle, Some(&recorded.signed))
            .await
            .unwrap();
        if outcome != SubmissionOutcome::Pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    match outcome {
        SubmissionOutcome::Included { messages, .. } => {
            assert_eq!(messages, delivered(&recorded.messages));
        }
        other => panic!("{other:?}"),
    }
    let receipt = lane
        .chain
        .provider
        .get_transaction_receipt(sub.transactions[0])
        .await
        .unwrap()
        .expect("the recorded transaction itself was mined");
    assert!(receipt.status());
    // And the restarted process's next transaction takes the following nonce.
    log.append(lane.message(3, to));
    let next = restarted.submit(&lane.batch(&log, &[3])).await.unwrap();
    let next = EvmSubmission::from_handle(&next[0].handle).unwrap();
    assert_eq!(next.nonce, sub.nonce + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_whose_nonce_another_transaction_took_is_dropped_after_the_grace() {
    let lane = Lane::start().await;
    let to = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for i in 0..2 {
        log.append(lane.message(i, to));
    }
    let mut config = lane.config();
    config.drop_grace = Duration::from_millis(500);
    let first = lane.destination(config.clone());
    let p = &lane.chain.provider;
    p.anvil_set_auto_mine(false).await.unwrap();
    let lost = first.submit(&lane.batch(&log, &[0])).await.unwrap();
    let lost_sub = EvmSubmission::from_handle(&lost[0].handle).unwrap();
    // The node forgets it, and another process with the same key uses its nonce.
    p.anvil_drop_transaction(lost_sub.transactions[0])
        .await
        .unwrap();
    let other = lane.destination(config);
    let took = other.submit(&lane.batch(&log, &[1])).await.unwrap();
    let took_sub = EvmSubmission::from_handle(&took[0].handle).unwrap();
    assert_eq!(took_sub.nonce, lost_sub.nonce);
    p.evm_mine(None).await.unwrap();
    p.anvil_set_auto_mine(true).await.unwrap();

    // The nonce is used and the lost transaction has no receipt: pending through the grace
    // (a node may show the nonce a moment before the receipt), then dropped.
    let started = std::time::Instant::now();
    assert_eq!(
        first.outcome(&lost[0].handle).await.unwrap(),
        SubmissionOutcome::Pending
    );
    let outcome = loop {
        match first.outcome(&lost[0].handle).await.unwrap() {
            SubmissionOutcome::Pending => tokio::time::sleep(Duration::from_millis(50)).await,
            other => break other,
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never dropped");
    };
    assert_eq!(outcome, SubmissionOutcome::Dropped);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "dropped within the grace"
    );
    assert!(matches!(
        other.outcome(&took[0].handle).await.unwrap(),
        SubmissionOutcome::Included { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_that_burns_its_gas_only_outside_estimates_cannot_sink_the_batch() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let burner = deploy_gas_burning_recipient(&lane.chain.provider)
        .await
        .unwrap();
    let hostile = |i: u64| [1, 2, 5, 6].contains(&i);
    let mut log = OriginLog::new();
    // Honest messages around four hostile ones.
    for i in 0..8 {
        log.append(lane.message(i, if hostile(i) { burner } else { good }));
    }
    let ids: Vec<MessageId> = log.messages().iter().map(Message::id).collect();
    let dest = lane.destination(lane.config());
    let batch = lane.batch(&log, &(0..8).collect::<Vec<_>>());
    // The first transaction covers two recipients burning their whole allowance, not four:
    // it reverts on chain although its simulation passed.
    let first = dest.submit(&batch).await.unwrap();
    let mut reverted = 0;
    for sub in &first {
        if let SubmissionOutcome::Reverted { .. } = settle(&dest, &sub.handle).await {
            reverted += 1;
        }
    }
    assert!(reverted >= 1, "four burners in one transaction");
    // From then on every recipient's allowance is covered: the same batch goes through, the
    // hostile messages fail (retryable), the honest ones are delivered.
    let mut outcomes = Vec::new();
    for sub in dest.submit(&batch).await.unwrap() {
        match settle(&dest, &sub.handle).await {
            SubmissionOutcome::Included { messages, .. } => outcomes.extend(messages),
            other => panic!("the batch must not revert again: {other:?}"),
        }
    }
    for (i, id) in ids.iter().enumerate() {
        let status = dest.delivery_status(id).await.unwrap();
        if hostile(i as u64) {
            assert_eq!(status, DeliveryStatus::Failed, "message {i}");
        } else {
            assert_eq!(status, DeliveryStatus::Delivered, "message {i}");
        }
        if let Some((_, outcome)) = outcomes.iter().find(|(m, _)| m == id) {
            assert_eq!(
                matches!(outcome, MessageOutcome::Failed { .. }),
                hostile(i as u64),
                "message {i}: {outcome:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_delivery_alone_reverts_is_left_out_and_the_rest_is_sent() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for i in 0..6 {
        log.append(lane.message(i, good));
    }
    let ids: Vec<MessageId> = log.messages().iter().map(Message::id).collect();
    // Message 4's proof is wrong (as a buggy or hostile peer would hand it over).
    let mut batch = lane.batch(&log, &[0, 1, 2, 3, 4, 5]);
    batch.items[4].proof = log.proof(LeafIndex(3));
    let dest = lane.destination(lane.config());
    let told = Keep::new(true);
    let subs = dest.submit_recorded(&batch, &told).await.unwrap();
    assert_eq!(
        *told.left.lock().unwrap(),
        [(ids[4], RevertReason::InvalidProof)],
        "the recorder hears which message was left out, and why"
    );
    let sent: Vec<MessageId> = subs.iter().flat_map(|s| s.messages.clone()).collect();
    assert_eq!(
        sent,
        [ids[0], ids[1], ids[2], ids[3], ids[5]],
        "all but the culprit, in order"
    );
    for sub in &subs {
        match settle(&dest, &sub.handle).await {
            SubmissionOutcome::Included { messages, .. } => {
                assert_eq!(messages, delivered(&sub.messages));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        dest.delivery_status(&ids[4]).await.unwrap(),
        DeliveryStatus::NotDelivered
    );
    // A reason the whole batch shares (here, no signatures) still fails all of it.
    let mut unsigned = lane.batch(&log, &[4]);
    unsigned.signatures.clear();
    assert!(matches!(
        dest.submit(&unsigned).await,
        Err(Error::Reverted {
            reason: RevertReason::BelowThreshold { .. }
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_transaction_whose_fees_fell_behind_is_replaced_not_resent_for_ever() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    log.append(lane.message(0, good));
    // Replacement by age is far away: only the node's refusal can trigger it.
    let dest = lane.destination(lane.config());
    let p = &lane.chain.provider;
    p.anvil_set_auto_mine(false).await.unwrap();
    let subs = dest.submit(&lane.batch(&log, &[0])).await.unwrap();
    let sub = EvmSubmission::from_handle(&subs[0].handle).unwrap();
    // The node loses it, and the base fee climbs far above what it offered.
    p.anvil_drop_transaction(sub.transactions[0]).await.unwrap();
    let old = dest.sent_transactions(sub.nonce);
    assert_eq!(old.len(), 1);
    p.anvil_set_next_block_base_fee_per_gas(1_000_000_000_000)
        .await
        .unwrap();
    p.evm_mine(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    // Sent again, refused for its fees: replaced at once with fees the node takes.
    assert_eq!(
        dest.outcome(&subs[0].handle).await.unwrap(),
        SubmissionOutcome::Pending
    );
    let sent = dest.sent_transactions(sub.nonce);
    assert_eq!(sent.len(), 2, "replaced: {sent:?}");
    assert!(
        p.get_transaction_by_hash(sent[1]).await.unwrap().is_some(),
        "the node has the replacement"
    );
    p.anvil_set_auto_mine(true).await.unwrap();
    p.evm_mine(None).await.unwrap();
    match settle(&dest, &subs[0].handle).await {
        SubmissionOutcome::Included { messages, .. } => {
            assert_eq!(messages, delivered(&subs[0].messages));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_like_the_last_is_planned_with_one_simulation_and_anything_else_is_estimated() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for i in 0..16 {
        log.append(lane.message(i, good));
    }
    let ids: Vec<MessageId> = log.messages().iter().map(Message::id).collect();
    let dest = lane.destination(lane.config());
    let send_and_settle = |batch: DeliveryBatch| {
        let dest = dest.clone();
        async move {
            let subs = dest.submit(&batch).await.unwrap();
            let mut sent = Vec::new();
            for sub in &subs {
                match settle(&dest, &sub.handle).await {
                    SubmissionOutcome::Included { messages, .. } => {
                        assert_eq!(messages, delivered(&sub.messages));
                    }
                    other => panic!("{other:?}"),
                }
                sent.extend(sub.messages.iter().copied());
            }
            sent
        }
    };

    // No estimate yet: the first batch is estimated.
    send_and_settle(lane.batch(&log, &[0, 1, 2, 3])).await;
    let stats = dest.planning_stats();
    assert_eq!((stats.estimates, stats.predicted_plans), (1, 0));

    // A batch like it goes out at the predicted limit, checked by one simulation.
    let sent = send_and_settle(lane.batch(&log, &[4, 5, 6, 7])).await;
    assert_eq!(sent, ids[4..8]);
    let stats = dest.planning_stats();
    assert_eq!((stats.estimates, stats.predicted_plans), (1, 1));

    // A batch that does not complete at the prediction (one bad proof) is estimated part by
    // part as before: the culprit is left out, the rest delivered.
    let mut bad = lane.batch(&log, &[8, 9, 10, 11]);
    bad.items[2].proof = log.proof(LeafIndex(3));
    let sent = send_and_settle(bad).await;
    assert_eq!(sent, [ids[8], ids[9], ids[11]]);
    let stats = dest.planning_stats();
    assert_eq!(stats.predicted_plans, 1);
    assert!(stats.estimates > 1, "{stats:?}");

    // The next good batch is predicted again, from the latest estimate.
    let sent = send_and_settle(lane.batch(&log, &[12, 13, 14, 15])).await;
    assert_eq!(sent, ids[12..16]);
    assert_eq!(dest.planning_stats().predicted_plans, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_predicted_batch_over_the_budget_goes_out_in_equal_parts_that_fit() {
    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for i in 0..12 {
        log.append(lane.message(i, good));
    }
    let ids: Vec<MessageId> = log.messages().iter().map(Message::id).collect();
    let handle_gas = handle_gas(&lane).await;
    let four = lane
        .destination(lane.config())
        .estimate(&causeway_adapters::evm::bindings::deliver_packed_calldata(
            &lane.batch(&log, &[0, 1, 2, 3]),
        ))
        .await
        .unwrap();
    // Four messages fit a transaction, eight do not.
    let mut config = lane.config();
    config.gas_budget = four + 2 * handle_gas + 20_000;
    let dest = lane.destination(config);
    let first = dest.submit(&lane.batch(&log, &[0, 1, 2, 3])).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(dest.planning_stats().predicted_plans, 0);

    let subs = dest
        .submit(&lane.batch(&log, &(4..12).collect::<Vec<_>>()))
        .await
        .unwrap();
    let stats = dest.planning_stats();
    assert_eq!(stats.predicted_plans, 1, "{stats:?}");
    assert_eq!(stats.estimates, 1, "no estimate for the parts: {stats:?}");
    let parts: Vec<Vec<MessageId>> = subs.iter().map(|s| s.messages.clone()).collect();
    assert_eq!(parts, [ids[4..8].to_vec(), ids[8..12].to_vec()]);
    for sub in first.iter().chain(&subs) {
        match settle(&dest, &sub.handle).await {
            SubmissionOutcome::Included { messages, .. } => {
                assert_eq!(messages, delivered(&sub.messages));
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Three signer accounts of one Inbox: rounds one after another take the accounts in turn,
/// concurrent rounds each take a free account (nonces per account, in order), every
/// submission is followed by the account that sent it, and one account twice is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_pool_sends_from_every_account_in_turn_with_nonces_per_account() {
    use causeway_adapters::evm::EvmSignerPool;

    let lane = Lane::start().await;
    let good = *lane.chain.recipient.address();
    let mut log = OriginLog::new();
    for n in 0..9 {
        log.append(lane.message(n, good));
    }
    let keys = lane.chain.node.dev_keys();
    let member = |i: usize| EvmDestination::new(lane.config(), &keys[i].to_bytes().0).unwrap();
    let pool = EvmSignerPool::new(vec![member(RELAYER), member(6), member(7)]).unwrap();
    let senders = pool.senders();
    assert_eq!(senders.len(), 3);
    match EvmSignerPool::new(vec![member(6), member(6)]) {
        Err(Error::Config { reason }) => assert!(reason.contains("twice"), "{reason}"),
        other => panic!("one account twice must be refused: {other:?}"),
    }
    let mut starts = std::collections::HashMap::new();
    for s in &senders {
        starts.insert(
            *s,
            lane.chain.provider.get_transaction_count(*s).await.unwrap(),
        );
    }

    // One round at a time: each takes the next account.
    let mut subs = Vec::new();
    for i in 0..3 {
        subs.extend(pool.submit(&lane.batch(&log, &[i])).await.unwrap());
    }
    let from = |s: &Submission| EvmSubmission::from_handle(&s.handle).unwrap().from;
    let used: std::collections::BTreeSet<Address> = subs.iter().map(from).collect();
    assert_eq!(
        used.len(),
        3,
        "three rounds in a row use the three accounts"
    );

    // Six rounds at once, nothing mined meanwhile: every account sends, its nonces in order.
    lane.chain
        .provider
        .anvil_set_auto_mine(false)
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 3..9 {
        let pool = pool.clone();
        let batch = lane.batch(&log, &[i]);
        tasks.spawn(async move { pool.submit(&batch).await.unwrap() });
    }
    let concurrent: Vec<Submission> = tasks.join_all().await.into_iter().flatten().collect();
    assert_eq!(concurrent.len(), 6);
    subs.extend(concurrent);
    let mut per_sender: std::collections::HashMap<Address, Vec<u64>> = Default::default();
    for s in &subs {
        let sub = EvmSubmission::from_handle(&s.handle).unwrap();
        per_sender.entry(sub.from).or_default().push(sub.nonce);
    }
    assert_eq!(per_sender.len(), 3, "every account sent: {per_sender:?}");
    for (sender, nonces) in &mut per_sender {
        nonces.sort_unstable();
        let start = starts[sender];
        assert_eq!(
            *nonces,
            (start..start + nonces.len() as u64).collect::<Vec<_>>(),
            "{sender}'s nonces are its own and contiguous"
        );
    }

    lane.chain.provider.evm_mine(None).await.unwrap();
    lane.chain.provider.anvil_set_auto_mine(true).await.unwrap();
    for s in &subs {
        let outcome = loop {
            match pool.outcome(&s.handle).await.unwrap() {
                SubmissionOutcome::Pending => tokio::time::sleep(Duration::from_millis(50)).await,
                other => break other,
            }
        };
        match outcome {
            SubmissionOutcome::Included { messages, .. } => {
                assert_eq!(messages, delivered(&s.messages))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        lane.chain.recipient.handled().call().await.unwrap(),
        alloy::primitives::U256::from(9)
    );
    let ids: Vec<MessageId> = log.messages().iter().map(Message::id).collect();
    assert!(
        pool.delivery_statuses(&ids)
            .await
            .unwrap()
            .iter()
            .all(|s| *s == DeliveryStatus::Delivered)
    );
}
