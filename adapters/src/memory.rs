//! [`MemoryChain`]: an in-memory chain implementing [`Source`], [`NativeVerifier`] and
//! [`Destination`] with the same contracts as the real adapters, for the relayer's tests
//! (restarts, reorganisations, outages, poison messages) without a node.
//!
//! Its "native proof" is a commitment `keccak256(block id ‖ message bytes)` labelled family
//! `evm` (the family list is closed); an EVM verifier rejects it, this chain's verifier checks
//! it. As a destination it checks inclusion proofs against the checkpoint and, when given a
//! [`TrustAnchor`], the validators' signatures, exactly like the Inbox, and, like the Inbox's
//! `deliverBatch`, skips a message it has already recorded (delivered, failed or refused)
//! without checking its proof again, reporting it as that record says, instead of refusing the
//! batch.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Domain, Hash32, Message, MessageId, TrustAnchor, verify_attestations};

use crate::Error;

/// A submission applied to the memory chain: its block and per-message results.
type Applied = (u64, Vec<(MessageId, MessageOutcome)>);
use crate::chain::{
    BlockId, BlockRef, Cursor, DeliveryBatch, DeliveryStatus, Destination, MessageOutcome,
    NativeVerifier, ObservedMessage, Recorder, RevertReason, SignedSubmission, Source, SourceBatch,
    Submission, SubmissionHandle, SubmissionOutcome,
};

/// Most blocks one [`Source::next_batch`] covers.
const BLOCKS_PER_BATCH: u64 = 64;

#[derive(Debug, Default)]
struct State {
    /// Block ids and their messages; block `i` is at height `i`.
    blocks: Vec<(BlockId, Vec<Message>)>,
    /// Bumped on every reorganisation so that replaced blocks get new ids.
    fork: u64,
    unavailable: bool,
    delivered: HashMap<MessageId, DeliveryStatus>,
    /// How many of `delivered` are [`DeliveryStatus::Delivered`] (read often by benchmarks).
    delivered_ok: usize,
    refusing_recipients: BTreeSet<MessageId>,
    forbidden_recipients: BTreeSet<MessageId>,
    /// Submissions: block they were included in and per-message results.
    /// By submission number: its block and results once applied (`None`: signed and handed to
    /// the recorder, not applied yet, or never because the recorder refused it).
    submissions: Vec<Option<Applied>>,
}

impl State {
    fn push_block(&mut self, messages: Vec<Message>) -> u64 {
        let height = self.blocks.len() as u64;
        let mut seed = Vec::with_capacity(16);
        seed.extend_from_slice(&height.to_be_bytes());
        seed.extend_from_slice(&self.fork.to_be_bytes());
        self.blocks
            .push((BlockId::from(keccak256(&seed).0), messages));
        height
    }
}

/// An in-memory chain (a cloneable handle; clones share the chain).
#[derive(Clone, Debug)]
pub struct MemoryChain {
    domain: Domain,
    confirmations: u64,
    trust: Option<Arc<TrustAnchor>>,
    /// How many times a batch's checkpoint signatures were verified (see
    /// [`MemoryChain::signature_checks`]).
    signature_checks: Arc<AtomicU64>,
    state: Arc<Mutex<State>>,
}

impl MemoryChain {
    /// A chain of `domain` with a genesis block, where a block is final `confirmations` blocks
    /// below the head.
    pub fn new(domain: Domain, confirmations: u64) -> Self {
        let mut state = State::default();
        state.push_block(Vec::new());
        MemoryChain {
            domain,
            confirmations,
            trust: None,
            signature_checks: Arc::new(AtomicU64::new(0)),
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// The same chain checking delivered batches' signatures against `trust`.
    pub fn with_trust(mut self, trust: TrustAnchor) -> Self {
        self.trust = Some(Arc::new(trust));
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Mines a block holding `messages` (as if the Outbox emitted them); returns its height.
    pub fn emit(&self, messages: Vec<Message>) -> u64 {
        self.state().push_block(messages)
    }

    /// Mines `n` empty blocks.
    pub fn mine(&self, n: u64) {
        let mut s = self.state();
        for _ in 0..n {
            s.push_block(Vec::new());
        }
    }

    /// Replaces the last `depth` blocks by `replacement` blocks (each a list of messages).
    pub fn reorg(&self, depth: u64, replacement: Vec<Vec<Message>>) {
        let mut s = self.state();
        let keep = s.blocks.len().saturating_sub(depth as usize).max(1);
        s.blocks.truncate(keep);
        s.fork += 1;
        for messages in replacement {
            s.push_block(messages);
        }
    }

    /// Makes every call fail with [`Error::RpcUnavailable`] (retryable) until switched back.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.state().unavailable = unavailable;
    }

    /// Makes the recipient of message `id` refuse it (delivered as [`MessageOutcome::Failed`]).
    pub fn refuse(&self, id: MessageId) {
        self.state().refusing_recipients.insert(id);
    }

    /// Makes message `id`'s recipient forbidden: the destination refuses it for good
    /// ([`MessageOutcome::Refused`], status [`DeliveryStatus::Refused`]), as the Inbox does.
    pub fn forbid(&self, id: MessageId) {
        self.state().forbidden_recipients.insert(id);
    }

    /// How many messages the chain's blocks hold.
    pub fn message_count(&self) -> usize {
        self.state().blocks.iter().map(|(_, m)| m.len()).sum()
    }

    /// How many messages the destination holds as delivered.
    pub fn delivered_count(&self) -> usize {
        self.state().delivered_ok
    }

    /// How many times the chain verified a batch's checkpoint signatures (as a destination
    /// with a trust anchor): once per submitted batch, as the Inbox does.
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks.load(Ordering::Relaxed)
    }

    /// The current head height.
    pub fn head(&self) -> u64 {
        self.state().blocks.len() as u64 - 1
    }

    fn check_available(&self) -> Result<(), Error> {
        if self.state().unavailable {
            return Err(Error::RpcUnavailable {
                endpoint: "memory".into(),
                source: "the in-memory chain is switched off".into(),
            });
        }
        Ok(())
    }

    fn commitment(block: &BlockId, message: &Message) -> Hash32 {
        let mut data = block.as_bytes().to_vec();
        data.extend_from_slice(&message.encode());
        keccak256(&data)
    }

    /// The Inbox's checkpoint check (`_verifyCheckpoint`): the threshold of validator
    /// signatures over the batch's checkpoint, once per batch. It depends on the batch alone
    /// (the trust anchor never changes), so a batch checked once needs no second check.
    fn check_signatures(&self, batch: &DeliveryBatch) -> Result<(), RevertReason> {
        let Some(trust) = &self.trust else {
            return Ok(());
        };
        self.signature_checks.fetch_add(1, Ordering::Relaxed);
        let digest = batch.checkpoint.signing_digest(&trust.signing_domain);
        verify_attestations(&trust.validators, &digest, &batch.signatures)
            .map(drop)
            .map_err(|e| RevertReason::Message {
                message: e.to_string(),
            })
    }

    /// The Inbox's per-message checks of a batch whose checkpoint is verified, in its order
    /// (`_deliver`): domains, then, unless the message is recorded already (in the chain's
    /// state `s`, or earlier in the batch: skipped, its proof not checked again), its
    /// inclusion proof.
    fn check_items(&self, s: &State, batch: &DeliveryBatch) -> Result<(), RevertReason> {
        let cp = &batch.checkpoint;
        let mut seen = std::collections::HashSet::new();
        for item in &batch.items {
            let m = &item.message;
            if m.origin() != cp.origin() {
                return Err(RevertReason::WrongDomain {
                    expected: cp.origin(),
                    actual: m.origin(),
                });
            }
            if m.destination() != self.domain {
                return Err(RevertReason::WrongDestination {
                    expected: self.domain,
                    actual: m.destination(),
                });
            }
            let id = m.id();
            if s.delivered.contains_key(&id) || !seen.insert(id) {
                continue;
            }
            if item.proof.size != cp.size()
                || item
                    .proof
                    .verify(cp.hash_algorithm(), id.as_hash(), &cp.root())
                    .is_err()
            {
                return Err(RevertReason::InvalidProof);
            }
        }
        Ok(())
    }

    /// What the Inbox reports for a message it skips because it recorded it with `status`
    /// before (`AlreadyDeliveredSkipped`), as the EVM adapter reads that event.
    fn skipped(status: DeliveryStatus) -> MessageOutcome {
        match status {
            DeliveryStatus::Failed => MessageOutcome::Failed {
                reason: "recorded failed by an earlier transaction".into(),
            },
            DeliveryStatus::Refused => MessageOutcome::Refused {
                reason: "recorded refused by an earlier transaction".into(),
            },
            _ => MessageOutcome::Delivered,
        }
    }
}

impl Source for MemoryChain {
    fn domain(&self) -> Domain {
        self.domain
    }

    async fn next_batch(&self, cursor: &Cursor) -> Result<SourceBatch, Error> {
        self.check_available()?;
        let s = self.state();
        let head = s.blocks.len() as u64 - 1;
        let Some(final_height) = head.checked_sub(self.confirmations) else {
            return Ok(SourceBatch {
                messages: Vec::new(),
                cursor: cursor.clone(),
                final_height: 0,
            });
        };
        if let Some((height, expected)) = cursor.processed() {
            let actual = s
                .blocks
                .get(height as usize)
                .map(|(id, _)| id.clone())
                .unwrap_or_else(|| BlockId::new(Vec::new()));
            if actual != *expected {
                return Err(Error::ReorgBelowCursor {
                    height,
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        let from = cursor.next_height();
        if from > final_height {
            return Ok(SourceBatch {
                messages: Vec::new(),
                cursor: cursor.clone(),
                final_height,
            });
        }
        let to = final_height.min(from + BLOCKS_PER_BATCH - 1);
        let mut messages = Vec::new();
        for height in from..=to {
            let (id, block_messages) = &s.blocks[height as usize];
            for (i, message) in block_messages.iter().enumerate() {
                let commitment = Self::commitment(id, message);
                messages.push(ObservedMessage {
                    message: message.clone(),
                    source: SourceReference {
                        block_number: Some(height),
                        block_hash: Some(Hash32(id.as_bytes().try_into().unwrap_or([0; 32]))),
                        event_index: Some(i as u64),
                        ..SourceReference::default()
                    },
                    proof: NativeProof {
                        family: ChainFamily::Evm,
                        data: serde_json::json!({ "memory_commitment": commitment }),
                    },
                });
            }
        }
        Ok(SourceBatch {
            messages,
            cursor: Cursor::After {
                height: to,
                block_id: s.blocks[to as usize].0.clone(),
            },
            final_height,
        })
    }
}

impl NativeVerifier for MemoryChain {
    fn family(&self) -> ChainFamily {
        ChainFamily::Evm
    }

    fn verify(&self, observed: &ObservedMessage) -> Result<(), Error> {
        let invalid = |reason: &str| Error::InvalidNativeProof {
            reason: reason.to_owned(),
        };
        let block = observed
            .source
            .block_hash
            .ok_or_else(|| invalid("no block hash"))?;
        let claimed: Hash32 = observed
            .proof
            .data
            .get("memory_commitment")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .ok_or_else(|| invalid("not a memory-chain proof"))?;
        let expected = Self::commitment(&BlockId::from(block.0), &observed.message);
        if claimed != expected || observed.message.origin() != self.domain {
            return Err(invalid("commitment does not match the message and block"));
        }
        Ok(())
    }
}

impl Destination for MemoryChain {
    fn domain(&self) -> Domain {
        self.domain
    }

    async fn submit_recorded(
        &self,
        batch: &DeliveryBatch,
        recorder: &dyn Recorder,
    ) -> Result<Vec<Submission>, Error> {
        self.check_available()?;
        if batch.items.is_empty() {
            return Err(Error::InvalidBatch {
                reason: "no messages".into(),
            });
        }
        // "Sign": check the batch as the Inbox's `deliverBatch` would (its checkpoint's
        // signatures, then each message) and reserve the submission's number.
        self.check_signatures(batch)
            .map_err(|reason| Error::Reverted { reason })?;
        let number = {
            let mut s = self.state();
            self.check_items(&s, batch)
                .map_err(|reason| Error::Reverted { reason })?;
            s.submissions.push(None);
            s.submissions.len() - 1
        };
        let handle = SubmissionHandle {
            family: ChainFamily::Evm,
            data: serde_json::json!({ "memory_submission": number }),
        };
        let signed = SignedSubmission {
            handle: handle.clone(),
            messages: batch.ids(),
            signed: number.to_be_bytes().to_vec(),
        };
        recorder.record(&signed).await?;
        // "Broadcast": apply it, message by message as the Inbox does. The chain may have
        // changed since the check (another submission delivered some of these messages):
        // those are skipped and reported as recorded, as is a message that comes twice in the
        // batch. The signatures and the inclusion proofs of the others depend on the batch
        // alone and were verified above, once, as the Inbox verifies them once per
        // `deliverBatch`.
        let mut s = self.state();
        let mut results = Vec::with_capacity(batch.items.len());
        for item in &batch.items {
            let id = item.message.id();
            let outcome = if let Some(status) = s.delivered.get(&id) {
                Self::skipped(*status)
            } else if s.forbidden_recipients.contains(&id) {
                s.delivered.insert(id, DeliveryStatus::Refused);
                MessageOutcome::Refused {
                    reason: "forbidden recipient".into(),
                }
            } else if s.refusing_recipients.contains(&id) {
                s.delivered.insert(id, DeliveryStatus::Failed);
                MessageOutcome::Failed {
                    reason: "recipient refused".into(),
                }
            } else {
                if s.delivered.insert(id, DeliveryStatus::Delivered)
                    != Some(DeliveryStatus::Delivered)
                {
                    s.delivered_ok += 1;
                }
                MessageOutcome::Delivered
            };
            results.push((id, outcome));
        }
        let height = s.push_block(Vec::new());
        s.submissions[number] = Some((height, results));
        Ok(vec![Submission {
            handle,
            messages: batch.ids(),
        }])
    }

    async fn outcome_recorded(
        &self,
        handle: &SubmissionHandle,
        _signed: Option<&[u8]>,
    ) -> Result<SubmissionOutcome, Error> {
        self.check_available()?;
        let number = handle
            .data
            .get("memory_submission")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| Error::InvalidHandle {
                reason: "not a memory-chain handle".into(),
            })?;
        let s = self.state();
        let Some(submission) = s.submissions.get(number as usize) else {
            return Ok(SubmissionOutcome::Dropped);
        };
        let Some((height, results)) = submission else {
            return Ok(SubmissionOutcome::Pending);
        };
        let Some((id, _)) = s.blocks.get(*height as usize) else {
            return Ok(SubmissionOutcome::Dropped);
        };
        Ok(SubmissionOutcome::Included {
            block: BlockRef {
                height: *height,
                id: id.clone(),
            },
            confirmations: s.blocks.len() as u64 - height,
            messages: results.clone(),
        })
    }

    async fn delivery_status(&self, id: &MessageId) -> Result<DeliveryStatus, Error> {
        self.check_available()?;
        Ok(self
            .state()
            .delivered
            .get(id)
            .copied()
            .unwrap_or(DeliveryStatus::NotDelivered))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use causeway_proofs::log::Sha256Log;
    use causeway_proofs::{Address32, Checkpoint, HashAlgorithm, LeafIndex, Nonce};

    use super::*;
    use crate::chain::DeliveryItem;

    fn message(nonce: u64, destination: u32) -> Message {
        Message::new(
            Nonce(nonce),
            Domain(1),
            Address32([1; 32]),
            Domain(destination),
            Address32([2; 32]),
            vec![nonce as u8],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn source_contract_finality_order_and_reorg_below_cursor() {
        let chain = MemoryChain::new(Domain(1), 2);
        chain.emit(vec![message(0, 2), message(1, 2)]);
        let start = Cursor::Start { height: 0 };
        let b = chain.next_batch(&start).await.unwrap();
        assert!(b.messages.is_empty(), "not final yet");
        chain.mine(2);
        let b = chain.next_batch(&start).await.unwrap();
        assert_eq!(b.messages.len(), 2);
        assert_eq!(b.messages[0].message.nonce(), Nonce(0));
        for m in &b.messages {
            chain.verify(m).unwrap();
        }
        let mut forged = b.messages[0].clone();
        forged.message = message(5, 2);
        assert!(chain.verify(&forged).is_err());
        let again = chain.next_batch(&b.cursor).await.unwrap();
        assert!(again.messages.is_empty(), "each message once");
        chain.reorg(4, vec![vec![], vec![], vec![], vec![]]);
        assert!(matches!(
            chain.next_batch(&b.cursor).await,
            Err(Error::ReorgBelowCursor { .. })
        ));
        chain.set_unavailable(true);
        let e = chain.next_batch(&start).await.unwrap_err();
        assert!(e.is_retryable());
    }

    #[tokio::test]
    async fn destination_contract_delivers_once_and_checks_proofs() {
        let chain = MemoryChain::new(Domain(2), 0);
        let messages = [message(0, 2), message(1, 2)];
        let mut log = Sha256Log::new();
        for m in &messages {
            log.append(m.id().as_hash());
        }
        let cp = Checkpoint::new(Domain(1), HashAlgorithm::Sha256, log.size(), log.root()).unwrap();
        let items: Vec<_> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| DeliveryItem {
                message: m.clone(),
                proof: log
                    .inclusion_proof(LeafIndex(i as u64), log.size())
                    .unwrap(),
            })
            .collect();
        let batch = DeliveryBatch {
            checkpoint: cp,
            signatures: vec![],
            items,
        };
        chain.refuse(messages[1].id());
        let subs = chain.submit(&batch).await.unwrap();
        match chain.outcome(&subs[0].handle).await.unwrap() {
            SubmissionOutcome::Included { messages: r, .. } => {
                assert_eq!(r[0], (messages[0].id(), MessageOutcome::Delivered));
                assert!(matches!(r[1].1, MessageOutcome::Failed { .. }));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            chain.delivery_status(&messages[0].id()).await.unwrap(),
            DeliveryStatus::Delivered
        );
        // The same batch again: skipped as recorded, as the Inbox does, not refused.
        let subs = chain.submit(&batch).await.unwrap();
        match chain.outcome(&subs[0].handle).await.unwrap() {
            SubmissionOutcome::Included { messages: r, .. } => assert_eq!(
                r,
                [
                    (messages[0].id(), MessageOutcome::Delivered),
                    (
                        messages[1].id(),
                        MessageOutcome::Failed {
                            reason: "recorded failed by an earlier transaction".into()
                        }
                    )
                ]
            ),
            other => panic!("{other:?}"),
        }
        let mut bad = batch.slice(0..1);
        bad.items[0].message = message(7, 2);
        assert!(matches!(
            chain.submit(&bad).await,
            Err(Error::Reverted {
                reason: RevertReason::InvalidProof
            })
        ));
    }

    /// The Inbox's `deliverBatch` verifies a batch's checkpoint signatures once; so does this
    /// chain (it verified them twice per batch, at signing and again at broadcast, before), and
    /// it still refuses every batch the Inbox refuses for its signatures, applying nothing.
    #[tokio::test]
    async fn destination_verifies_a_batchs_signatures_once_and_refuses_what_the_inbox_refuses() {
        use causeway_proofs::{SigningDomain, ValidatorKey, ValidatorSet};
        let keys: Vec<ValidatorKey> = (1..=4u8)
            .map(|b| ValidatorKey::from_bytes(&[b; 32]).unwrap())
            .collect();
        let (members, outsider) = (&keys[..3], &keys[3]);
        let domain = SigningDomain {
            origin: Domain(1),
            origin_chain_id: 1,
            destination: Domain(2),
            destination_chain_id: 2,
            inbox: SigningDomain::named_inbox("memory-test-inbox"),
            validator_epoch: 1,
        };
        let set = ValidatorSet::new(members.iter().map(ValidatorKey::address).collect(), 2);
        let chain = MemoryChain::new(Domain(2), 0).with_trust(TrustAnchor {
            signing_domain: domain,
            validators: set.unwrap(),
        });
        let messages: Vec<Message> = (0..4).map(|n| message(n, 2)).collect();
        let mut log = Sha256Log::new();
        for m in &messages {
            log.append(m.id().as_hash());
        }
        let cp = Checkpoint::new(Domain(1), HashAlgorithm::Sha256, log.size(), log.root()).unwrap();
        // Ascending by signer, as the Inbox requires.
        let signed = |signers: &[&ValidatorKey], cp: &Checkpoint| {
            let mut signers = signers.to_vec();
            signers.sort_by_key(|k| k.address());
            signers
                .iter()
                .map(|k| k.sign_checkpoint(cp, &domain))
                .collect::<Vec<_>>()
        };
        let batch = |range: std::ops::Range<usize>, signatures| DeliveryBatch {
            checkpoint: cp,
            signatures,
            items: messages[range.clone()]
                .iter()
                .zip(range)
                .map(|(m, i)| DeliveryItem {
                    message: m.clone(),
                    proof: log
                        .inclusion_proof(LeafIndex(i as u64), log.size())
                        .unwrap(),
                })
                .collect(),
        };
        let refused = |r: Result<Vec<Submission>, Error>, what: &str| match r {
            Err(Error::Reverted {
                reason: RevertReason::Message { message },
            }) => message,
            other => panic!("{what}: {other:?}"),
        };

        // Below the threshold, a non-member, a signer twice, a checkpoint other than the one
        // signed: refused, nothing applied.
        let one = refused(
            chain
                .submit(&batch(0..2, signed(&[&members[0]], &cp)))
                .await,
            "one signature of two",
        );
        assert!(one.contains("threshold"), "{one}");
        let outside = refused(
            chain
                .submit(&batch(0..2, signed(&[&members[0], outsider], &cp)))
                .await,
            "a non-member's signature",
        );
        assert!(outside.contains("validator"), "{outside}");
        let twice = signed(&[&members[0]], &cp);
        refused(
            chain.submit(&batch(0..2, vec![twice[0], twice[0]])).await,
            "one member twice",
        );
        let other = Checkpoint::new(
            Domain(1),
            HashAlgorithm::Sha256,
            log.size(),
            Hash32([9; 32]),
        )
        .unwrap();
        refused(
            chain
                .submit(&batch(0..2, signed(&[&members[0], &members[1]], &other)))
                .await,
            "signatures over another checkpoint",
        );
        assert_eq!(
            chain.delivered_count(),
            0,
            "a refused batch applies nothing"
        );
        assert_eq!(chain.signature_checks(), 4, "one check per refused batch");

        // Two of three members: each batch is delivered, its signatures verified once.
        let quorum = signed(&[&members[2], &members[1]], &cp);
        chain.submit(&batch(0..2, quorum.clone())).await.unwrap();
        assert_eq!(chain.signature_checks(), 5);
        chain.submit(&batch(2..4, quorum.clone())).await.unwrap();
        assert_eq!(chain.signature_checks(), 6);
        assert_eq!(chain.delivered_count(), 4);
        // A replay inside a batch is skipped, as the Inbox does: the batch goes through,
        // its signatures verified once.
        chain.submit(&batch(1..3, quorum.clone())).await.unwrap();
        assert_eq!(chain.signature_checks(), 7);
        assert_eq!(chain.delivered_count(), 4);
        // So is a message another submission delivered while this one was being recorded
        // (between signing and broadcast): skipped as recorded, the rest applied.
        let fresh =
            MemoryChain::new(Domain(2), 0).with_trust(chain.trust.as_deref().unwrap().clone());
        let overtaken = DeliverWhileRecording {
            chain: fresh.clone(),
            batch: batch(1..2, quorum.clone()),
        };
        let subs = fresh
            .submit_recorded(&batch(0..2, quorum), &overtaken)
            .await
            .unwrap();
        match fresh.outcome(&subs[0].handle).await.unwrap() {
            SubmissionOutcome::Included { messages: r, .. } => assert_eq!(
                r,
                [
                    (messages[0].id(), MessageOutcome::Delivered),
                    (messages[1].id(), MessageOutcome::Delivered)
                ]
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(fresh.delivered_count(), 2, "each message delivered once");
    }

    /// A recorder that delivers `batch` to `chain` while it records a submission (another
    /// member's delivery landing between this one's signing and its broadcast).
    struct DeliverWhileRecording {
        chain: MemoryChain,
        batch: DeliveryBatch,
    }

    impl Recorder for DeliverWhileRecording {
        fn record<'a>(
            &'a self,
            _: &'a SignedSubmission,
        ) -> crate::chain::BoxFuture<'a, Result<(), Error>> {
            Box::pin(async move { self.chain.submit(&self.batch).await.map(drop) })
        }
    }
}
