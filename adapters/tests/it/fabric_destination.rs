//! `FabricDestination` and `FabricStateReader` against the Fabric test network of
//! `causeway_devnet` (a real gRPC/TLS peer with the `causeway_inbox` and `causeway_recipient`
//! chaincodes): batches signed by real validator keys are delivered once; every bad batch is
//! refused at endorsement with the inbox's named reason and nothing reaches the ledger; a
//! failing recipient is recorded failed while the rest is delivered; a transaction the
//! committer invalidates is reported reverted; state reads come with verified endorsements.

use std::time::{Duration, Instant, SystemTime};

use causeway_adapters::chain::{
    DeliveryBatch, DeliveryItem, DeliveryStatus, Destination, MessageOutcome, ReadAt, RevertReason,
    StateQuery, StateReader, SubmissionHandle, SubmissionOutcome,
};
use causeway_adapters::fabric::inbox_wire::{
    FabricDeliveryBatch, INBOX_CHAINCODE, decode_revert, inbox_signing_domain,
};
use causeway_adapters::fabric::proto::protos::TxValidationCode;
use causeway_adapters::fabric::request::Invocation;
use causeway_adapters::fabric::{
    EndorsementPolicy, FabricClient, FabricDestination, FabricDestinationConfig, FabricError,
    FabricStateProof, FabricStateReader, FabricStateReaderConfig, FabricSubmission,
};
use causeway_adapters::{Error, MessageId};
use causeway_devnet::fabric::RECIPIENT_CHAINCODE;
use causeway_devnet::fabric::{
    EndorsementFault, FabricNetwork, FabricNetworkOptions, Fault, ORG1, ORG2,
};
use causeway_devnet::fixtures::{Committee, OriginLog};
use causeway_proofs::attestation::testkit::malleate;
use causeway_proofs::{
    Address32, Domain, Hash32, LeafIndex, Message, Nonce, SigningDomain, ValidatorKey,
};

/// The origin whose checkpoints the inbox trusts in these tests.
const ORIGIN: Domain = Domain(1);
const ORIGIN_CHAIN_ID: u64 = 31337;

struct Setup {
    net: FabricNetwork,
    committee: Committee,
    destination: FabricDestination,
    user: FabricClient,
}

impl Setup {
    async fn start() -> Setup {
        Setup::start_with(|_| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut FabricDestinationConfig)) -> Setup {
        let net = FabricNetwork::start(FabricNetworkOptions::default())
            .await
            .unwrap();
        let committee = Committee::new("fabric-destination-it", 3, 2);
        let admin = net.connect(net.admin_identity()).await.unwrap();
        let args = committee.fabric_set_validators_args(ORIGIN, ORIGIN_CHAIN_ID);
        let epoch = invoke(&admin, &net, "setValidators", args).await;
        assert_eq!(epoch, b"1");
        let mut config = FabricDestinationConfig::new(net.domain(), net.chain_id(), net.channel());
        tweak(&mut config);
        let destination = FabricDestination::new(net.client(ORG1).await.unwrap(), config).unwrap();
        let user = net.client(ORG2).await.unwrap();
        Setup {
            net,
            committee,
            destination,
            user,
        }
    }

    fn domain(&self) -> SigningDomain {
        inbox_signing_domain(
            ORIGIN,
            ORIGIN_CHAIN_ID,
            self.net.domain(),
            self.net.chain_id(),
            self.net.channel(),
            INBOX_CHAINCODE,
            1,
        )
    }

    fn recipient(&self) -> Address32 {
        Address32::from_name(&format!("{}/{RECIPIENT_CHAINCODE}", self.net.channel()))
    }

    fn message(
        &self,
        nonce: u64,
        recipient: Address32,
        destination: Domain,
        body: &str,
    ) -> Message {
        Message::new(
            Nonce(nonce),
            ORIGIN,
            Address32([5; 32]),
            destination,
            recipient,
            body.as_bytes().to_vec(),
        )
        .unwrap()
    }

    /// `messages`, proven in a log of exactly them, signed by committee members `signers`.
    fn batch_of(&self, messages: Vec<Message>, signers: &[usize]) -> DeliveryBatch {
        let mut log = OriginLog::new();
        for m in &messages {
            log.append(m.clone());
        }
        let checkpoint = log.checkpoint(ORIGIN);
        DeliveryBatch {
            checkpoint,
            signatures: signers
                .iter()
                .map(|&i| self.committee.keys()[i].sign_checkpoint(&checkpoint, &self.domain()))
                .collect(),
            items: messages
                .into_iter()
                .enumerate()
                .map(|(i, message)| DeliveryItem {
                    message,
                    proof: log.proof(LeafIndex(i as u64)),
                })
                .collect(),
        }
    }

    /// A batch of `bodies` to the example recipient, signed by members 0 and 2.
    fn batch(&self, tag: &str, bodies: &[&str]) -> DeliveryBatch {
        let messages = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                self.message(
                    i as u64,
                    self.recipient(),
                    self.net.domain(),
                    &format!("{tag} {b}"),
                )
            })
            .collect();
        self.batch_of(messages, &[0, 2])
    }

    async fn evaluate(&self, chaincode: &str, function: &str, args: Vec<Vec<u8>>) -> String {
        causeway_devnet::fabric::evaluate_text(
            &self.user,
            self.net.channel(),
            chaincode,
            function,
            args,
        )
        .await
        .unwrap()
    }

    async fn count(&self) -> u64 {
        self.evaluate(RECIPIENT_CHAINCODE, "count", vec![])
            .await
            .parse()
            .unwrap()
    }

    async fn is_delivered(&self, id: &MessageId) -> bool {
        let text = self
            .evaluate(
                INBOX_CHAINCODE,
                "isDelivered",
                vec![id.to_hex().into_bytes()],
            )
            .await;
        text == "true"
    }

    /// Polls the outcome of `handle` until it is no longer pending.
    async fn settle(&self, handle: &SubmissionHandle) -> SubmissionOutcome {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let outcome = self.destination.outcome(handle).await.unwrap();
            if outcome != SubmissionOutcome::Pending {
                return outcome;
            }
            assert!(Instant::now() < deadline, "still pending");
        }
    }
}

/// Endorses, submits and commits `function` of the inbox as `client`; returns the response.
async fn invoke(
    client: &FabricClient,
    net: &FabricNetwork,
    function: &str,
    args: Vec<Vec<u8>>,
) -> Vec<u8> {
    let invocation = Invocation::new(net.channel(), INBOX_CHAINCODE, function, args);
    let endorsed = client.endorse(&invocation, &[]).await.unwrap();
    let payload = {
        use prost::Message as _;
        let tx = causeway_adapters::fabric::FabricTransaction::decode(
            0,
            &endorsed.prepared.encode_to_vec(),
        )
        .unwrap();
        tx.actions[0]
            .chaincode_action
            .response
            .clone()
            .unwrap()
            .payload
    };
    client.submit(&endorsed).await.unwrap();
    let status = client
        .commit_status(&endorsed.tx_id, &endorsed.channel_id)
        .await
        .unwrap();
    assert!(status.code.is_valid(), "{}", status.code);
    payload
}

fn included(outcome: SubmissionOutcome) -> Vec<(MessageId, MessageOutcome)> {
    match outcome {
        SubmissionOutcome::Included {
            messages,
            confirmations,
            ..
        } => {
            assert_eq!(confirmations, u64::MAX, "a committed Fabric block is final");
            messages
        }
        other => panic!("not included: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_batch_is_delivered_once_and_its_replay_is_skipped() {
    let s = Setup::start().await;
    let batch = s.batch("once", &["a", "b", "c"]);
    for item in &batch.items {
        assert_eq!(
            s.destination
                .delivery_status(&item.message.id())
                .await
                .unwrap(),
            DeliveryStatus::NotDelivered
        );
    }
    let subs = s.destination.submit(&batch).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].messages, batch.ids());
    let results = included(s.settle(&subs[0].handle).await);
    assert_eq!(
        results,
        batch
            .ids()
            .into_iter()
            .map(|id| (id, MessageOutcome::Delivered))
            .collect::<Vec<_>>()
    );
    for id in batch.ids() {
        assert!(s.is_delivered(&id).await);
        assert_eq!(
            s.destination.delivery_status(&id).await.unwrap(),
            DeliveryStatus::Delivered
        );
    }
    assert_eq!(s.count().await, 3);

    // Issue 9: the replay does not refuse the batch; each message is reported delivered (by the
    // earlier transaction) and no recipient runs again.
    let subs = s.destination.submit(&batch).await.unwrap();
    let results = included(s.settle(&subs[0].handle).await);
    assert_eq!(
        results,
        batch
            .ids()
            .into_iter()
            .map(|id| (id, MessageOutcome::Delivered))
            .collect::<Vec<_>>()
    );
    assert_eq!(s.count().await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_batch_is_refused_with_its_named_reason_and_nothing_is_written() {
    let s = Setup::start().await;
    let keys = s.committee.keys();
    let good = s.batch("good", &["x", "y"]);
    let digest = good.checkpoint.signing_digest(&s.domain());
    let local = s.net.domain();
    // The destination names the inbox as validators must: by the channel's configured chain id.
    assert_eq!(
        s.destination
            .config()
            .signing_domain(ORIGIN, ORIGIN_CHAIN_ID, 1),
        s.domain()
    );
    let unconfigured = FabricDestinationConfig::new(local, 0, s.net.channel());
    assert!(matches!(
        FabricDestination::new(s.net.client(ORG1).await.unwrap(), unconfigured),
        Err(Error::Config { .. })
    ));

    let mut cases: Vec<(&str, DeliveryBatch, RevertReason)> = Vec::new();
    let outsider = ValidatorKey::from_bytes(&[0x77; 32]).unwrap();
    let mut forged = good.clone();
    forged.signatures[1] = outsider.sign(&digest);
    cases.push((
        "signature by a non-validator",
        forged,
        RevertReason::UnknownValidator {
            signer: outsider.address().to_hex(),
        },
    ));
    let mut duplicate = good.clone();
    duplicate.signatures = vec![good.signatures[0]; 2];
    cases.push((
        "one validator twice",
        duplicate,
        RevertReason::DuplicateSigner {
            signer: keys[0].address().to_hex(),
        },
    ));
    let mut high = good.clone();
    high.signatures[0] = malleate(&good.signatures[0]);
    cases.push(("high-s twin", high, RevertReason::HighS { position: 0 }));
    let mut forged_bytes = good.clone();
    forged_bytes.signatures[1].0[5] ^= 1;
    // A changed r recovers to some other key, or to none.
    let tampered_reason =
        match causeway_proofs::attestation::recover(&digest, &forged_bytes.signatures[1], 1) {
            Ok(signer) => RevertReason::UnknownValidator {
                signer: signer.to_hex(),
            },
            Err(_) => RevertReason::InvalidSignature { position: 1 },
        };
    cases.push(("tampered signature", forged_bytes, tampered_reason));
    let mut one = good.clone();
    one.signatures.truncate(1);
    cases.push((
        "below threshold",
        one,
        RevertReason::BelowThreshold {
            valid: 1,
            threshold: 2,
        },
    ));
    let mut other_proof = good.clone();
    other_proof.items[0].proof = good.items[1].proof.clone();
    cases.push((
        "proof for another message",
        other_proof,
        RevertReason::InvalidProof,
    ));
    let elsewhere = s.batch_of(
        vec![s.message(0, s.recipient(), Domain(local.0 + 1), "elsewhere")],
        &[0, 1],
    );
    cases.push((
        "wrong destination",
        elsewhere,
        RevertReason::WrongDestination {
            expected: local,
            actual: Domain(local.0 + 1),
        },
    ));
    // (A message to the inbox itself no longer refuses its batch: it is refused for good, see
    // a_message_to_the_inbox_is_refused_for_good.)
    // Signed for another channel's inbox: the digest differs, the signers are nobody.
    let other_channel = inbox_signing_domain(
        ORIGIN,
        ORIGIN_CHAIN_ID,
        local,
        s.net.chain_id(),
        "another-channel",
        INBOX_CHAINCODE,
        1,
    );
    let mut replayed = good.clone();
    replayed.signatures = vec![
        keys[0].sign_checkpoint(&good.checkpoint, &other_channel),
        keys[2].sign_checkpoint(&good.checkpoint, &other_channel),
    ];
    let replayed_signer =
        causeway_proofs::attestation::recover(&digest, &replayed.signatures[0], 0).unwrap();
    cases.push((
        "signed for another channel",
        replayed,
        RevertReason::UnknownValidator {
            signer: replayed_signer.to_hex(),
        },
    ));
    // Signed for this channel and inbox chaincode under another chain id (another Fabric
    // chain's, or 0): the digest differs too.
    let mut other_chain = s.domain();
    other_chain.destination_chain_id = s.net.chain_id() + 1;
    let mut replayed = good.clone();
    replayed.signatures = vec![
        keys[0].sign_checkpoint(&good.checkpoint, &other_chain),
        keys[2].sign_checkpoint(&good.checkpoint, &other_chain),
    ];
    // What the inbox recovers over its own digest: nobody it knows.
    let replayed_signer =
        causeway_proofs::attestation::recover(&digest, &replayed.signatures[0], 0).unwrap();
    assert_ne!(replayed_signer, keys[0].address());
    cases.push((
        "signed for another chain id",
        replayed,
        RevertReason::UnknownValidator {
            signer: replayed_signer.to_hex(),
        },
    ));

    let height = s.net.height();
    for (name, batch, expected) in cases {
        match s.destination.submit(&batch).await {
            Err(Error::Reverted { reason }) => assert_eq!(reason, expected, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        for id in batch.ids() {
            assert!(!s.is_delivered(&id).await, "{name}");
            assert_eq!(
                s.net.state(
                    INBOX_CHAINCODE,
                    &format!("failed/{}", hex::encode(id.as_hash().0))
                ),
                None
            );
        }
    }

    // A zero root cannot even be built as a `Checkpoint`: sent as raw JSON, the inbox names it.
    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.checkpoint.root = Hash32::ZERO;
    let invocation = Invocation::new(
        s.net.channel(),
        INBOX_CHAINCODE,
        "deliverBatch",
        vec![wire.to_json()],
    );
    let err = s.user.endorse(&invocation, &[]).await.unwrap_err();
    assert_eq!(
        decode_revert(&err.to_string()).or_else(|| match &err {
            Error::Rpc { message, .. } => decode_revert(message),
            _ => None,
        }),
        Some(RevertReason::ZeroRoot),
        "{err}"
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.net.height(), height, "no transaction reached the orderer");
    assert_eq!(s.count().await, 0);
    // The good batch is still deliverable.
    let subs = s.destination.submit(&good).await.unwrap();
    assert_eq!(included(s.settle(&subs[0].handle).await).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_recipient_is_recorded_failed_and_the_rest_is_delivered() {
    let s = Setup::start().await;
    let batch = s.batch("mixed", &["first", "second"]);
    let messages = vec![
        batch.items[0].message.clone(),
        s.message(7, s.recipient(), s.net.domain(), "revert this one"),
        batch.items[1].message.clone(),
    ];
    let batch = s.batch_of(messages, &[1, 2]);
    let subs = s.destination.submit(&batch).await.unwrap();
    let results = included(s.settle(&subs[0].handle).await);
    let ids = batch.ids();
    assert_eq!(results[0], (ids[0], MessageOutcome::Delivered));
    assert_eq!(results[2], (ids[2], MessageOutcome::Delivered));
    match &results[1] {
        (id, MessageOutcome::Failed { reason }) => {
            assert_eq!(*id, ids[1]);
            assert!(reason.starts_with("Rejected(1, 0x0505"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.destination.delivery_status(&ids[1]).await.unwrap(),
        DeliveryStatus::Failed
    );
    assert!(!s.is_delivered(&ids[1]).await);
    assert_eq!(
        s.count().await,
        2,
        "the example recipient refuses before it writes, so its failed call wrote nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recipient_refuses_handle_from_anyone_but_the_inbox() {
    let s = Setup::start().await;
    let height = s.net.height();
    // A channel member submits `handle` itself, with an origin, sender and body of its choice.
    let invocation = Invocation::new(
        s.net.channel(),
        RECIPIENT_CHAINCODE,
        "handle",
        vec![
            ORIGIN.0.to_string().into_bytes(),
            Address32([5; 32]).to_hex().into_bytes(),
            b"forged".to_vec(),
        ],
    );
    let err = s.user.endorse(&invocation, &[]).await.unwrap_err();
    assert!(
        err.to_string().contains(
            "NotInbox(caller: a client, proposal for: causeway_recipient, depth: 0): only \
             causeway_inbox may call handle"
        ),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.net.height(), height, "no transaction reached the orderer");
    assert_eq!(s.count().await, 0);
    // The inbox's call still reaches it.
    let batch = s.batch("through the inbox", &["real"]);
    let subs = s.destination.submit(&batch).await.unwrap();
    assert_eq!(
        included(s.settle(&subs[0].handle).await),
        vec![(batch.ids()[0], MessageOutcome::Delivered)]
    );
    assert_eq!(s.count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_the_committer_invalidates_is_reverted_and_can_be_sent_again() {
    let s = Setup::start().await;
    let batch = s.batch("mvcc", &["p", "q"]);
    s.net.inject(Fault::InvalidateNextTransaction(
        TxValidationCode::MvccReadConflict,
    ));
    let subs = s.destination.submit(&batch).await.unwrap();
    match s.settle(&subs[0].handle).await {
        SubmissionOutcome::Reverted { reason, block } => {
            assert!(block.height > 0);
            assert!(
                reason.to_string().contains("MVCC_READ_CONFLICT"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    for id in batch.ids() {
        assert_eq!(
            s.destination.delivery_status(&id).await.unwrap(),
            DeliveryStatus::NotDelivered
        );
    }
    let subs = s.destination.submit(&batch).await.unwrap();
    assert_eq!(included(s.settle(&subs[0].handle).await).len(), 2);
    assert_eq!(s.count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_the_orderer_never_commits_is_pending_then_dropped() {
    let s = Setup::start_with(|c| {
        c.commit_wait = Duration::from_millis(200);
        c.drop_after = Duration::from_secs(30);
    })
    .await;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let lost = |submitted_at: u64| {
        FabricSubmission {
            tx_id: "ab".repeat(32),
            channel: s.net.channel().to_owned(),
            submitted_at,
            results: Vec::new(),
        }
        .to_handle()
    };
    assert_eq!(
        s.destination.outcome(&lost(now)).await.unwrap(),
        SubmissionOutcome::Pending
    );
    assert_eq!(
        s.destination.outcome(&lost(now - 31)).await.unwrap(),
        SubmissionOutcome::Dropped
    );
    // A handle of another family is refused, not guessed at.
    let mut evm = lost(now);
    evm.family = causeway_proofs::bundle::ChainFamily::Evm;
    assert!(matches!(
        s.destination.outcome(&evm).await,
        Err(Error::InvalidHandle { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_is_split_into_transactions_within_the_budget() {
    let s = Setup::start_with(|c| c.max_items = 2).await;
    let batch = s.batch("split", &["1", "2", "3", "4", "5"]);
    let subs = s.destination.submit(&batch).await.unwrap();
    assert_eq!(
        subs.iter().map(|s| s.messages.len()).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let mut delivered = Vec::new();
    for sub in &subs {
        // Parts endorsed before the previous one committed may conflict on the recipient's
        // counter (MVCC): such a part is re-sent, as the relayer would.
        let mut handle = sub.handle.clone();
        loop {
            match s.settle(&handle).await {
                SubmissionOutcome::Reverted { .. } => {
                    let ids = &sub.messages;
                    let part = DeliveryBatch {
                        items: batch
                            .items
                            .iter()
                            .filter(|i| ids.contains(&i.message.id()))
                            .cloned()
                            .collect(),
                        ..batch.clone()
                    };
                    handle = s.destination.submit(&part).await.unwrap()[0].handle.clone();
                }
                outcome => {
                    delivered.extend(included(outcome));
                    break;
                }
            }
        }
    }
    assert_eq!(delivered.len(), 5);
    assert_eq!(s.count().await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_reads_carry_verified_endorsements_and_tampering_is_refused() {
    let s = Setup::start().await;
    let batch = s.batch("read", &["r"]);
    let subs = s.destination.submit(&batch).await.unwrap();
    included(s.settle(&subs[0].handle).await);
    let id = batch.ids()[0];

    let trusted = s.net.trusted_msps();
    let policy = s.net.endorsement_policy();
    let config =
        FabricStateReaderConfig::new(trusted.clone(), s.net.orderer_msps(), policy.clone());
    let reader = FabricStateReader::new(s.net.client(ORG1).await.unwrap(), config.clone());
    let query = StateQuery {
        contract: format!("{}/{INBOX_CHAINCODE}", s.net.channel()),
        key: serde_json::to_vec(&["isDelivered", &id.to_hex()]).unwrap(),
        at: ReadAt::Final,
        kind: causeway_adapters::ReadKind::Storage,
    };
    let before = SystemTime::now();
    let read = reader.read(&query).await.unwrap();
    assert_eq!(read.value, b"true");
    let committed = s.net.block(read.at.height).unwrap();
    assert_eq!(read.at.id.as_bytes(), committed.header_hash().0);
    assert!(
        read.at.height > 0,
        "the delivered record was written in a block"
    );

    // Offline, from the JSON alone.
    let proof: FabricStateProof = serde_json::from_value(read.proof.data.clone()).unwrap();
    let now = SystemTime::now();
    let verified = proof.verify(&trusted, &policy, now, MAX_AGE).unwrap();
    assert_eq!(verified.value, b"true");
    assert_eq!(verified.endorsed_by, vec![ORG1.to_owned(), ORG2.to_owned()]);
    assert_eq!(verified.min_height, read.at.height);
    // The time the read was proposed, bound by the endorsements.
    assert!(before <= verified.proposed_at && verified.proposed_at <= now);
    // Freshness: checked later than `max_age` after the proposal (an old result replayed),
    // or earlier (a proposal dated ahead), the same proof is refused.
    for at in [now + 2 * MAX_AGE, verified.proposed_at - 2 * MAX_AGE] {
        match proof.verify(&trusted, &policy, at, MAX_AGE) {
            // A Fabric check's typed error.
            Err(Error::Fabric(e @ FabricError::StaleRead { .. })) => {
                let reason = e.to_string();
                assert!(reason.contains("too old (or dated ahead)"), "{reason}");
            }
            other => panic!("a stale read was accepted: {other:?}"),
        }
    }
    assert!(
        proof
            .verify(&trusted, &policy, verified.proposed_at + MAX_AGE, MAX_AGE)
            .is_ok()
    );

    // The value changed in the endorsed bytes: no endorsement verifies any more.
    let mut tampered = proof.clone();
    let at = find(&tampered.transaction, b"true").expect("the value is in the transaction");
    tampered.transaction[at..at + 4].copy_from_slice(b"fals");
    assert!(matches!(
        tampered.verify(&trusted, &policy, SystemTime::now(), MAX_AGE),
        Err(e @ (Error::InvalidNativeProof { .. } | Error::Fabric(_))) if e.to_string().contains("not satisfied")
    ));
    // The proof passed off as the answer to another query.
    let mut other = proof.clone();
    other.args = vec![MessageId(Hash32([1; 32])).to_hex()];
    assert!(matches!(
        other.verify(&trusted, &policy, SystemTime::now(), MAX_AGE),
        Err(Error::InvalidNativeProof { reason })
            if reason == "the endorsed proposal calls another function or other arguments"
    ));
    // ... or as the answer of another function.
    let mut other = proof.clone();
    other.function = "status".to_owned();
    assert!(matches!(
        other.verify(&trusted, &policy, SystemTime::now(), MAX_AGE),
        Err(Error::InvalidNativeProof { reason })
            if reason == "the endorsed proposal calls another function or other arguments"
    ));
    // A stricter policy than the endorsements give.
    let strict = EndorsementPolicy::AllOf(vec![ORG1.into(), ORG2.into(), "Org3MSP".into()]);
    assert!(matches!(
        proof.verify(&trusted, &strict, SystemTime::now(), MAX_AGE),
        Err(e @ (Error::InvalidNativeProof { .. } | Error::Fabric(_))) if e.to_string().contains("not satisfied")
    ));

    // A peer endorsing with an organisation outside the policy: refused by the reader itself.
    s.net.inject(Fault::Endorsement(
        EndorsementFault::OutsideOrgInsteadOfOrg2,
    ));
    match reader.read(&query).await {
        Err(e @ (Error::InvalidNativeProof { .. } | Error::Fabric(_))) => {
            let reason = e.to_string();
            assert!(
                reason.contains(
                    &FabricError::PolicyNotSatisfied {
                        policy: policy.to_string(),
                        endorsed_by: vec![ORG1.to_owned()],
                    }
                    .to_string()
                ),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Historical reads do not exist in Fabric.
    let mut old = query.clone();
    old.at = ReadAt::Height(1);
    assert!(matches!(
        reader.read(&old).await,
        Err(Error::InvalidQuery { .. })
    ));

    // A message never delivered: the read touched only an absent key, so it is at the
    // genesis block, whose header hash the reader verified through block 1's signed header.
    let absent = StateQuery {
        key: serde_json::to_vec(&["isDelivered", &MessageId(Hash32([9; 32])).to_hex()]).unwrap(),
        ..query.clone()
    };
    let read = reader.read(&absent).await.unwrap();
    assert_eq!(read.value, b"false");
    assert_eq!(read.at.height, 0);
    assert_eq!(
        read.at.id.as_bytes(),
        s.net.block(0).unwrap().header_hash().0
    );

    // The reported block must carry the configured orderers' signature: a reader trusting
    // other block signers (here the application organisations' roots) refuses the read.
    let wrong_orderers = FabricStateReader::new(
        s.net.client(ORG1).await.unwrap(),
        FabricStateReaderConfig {
            orderers: trusted.clone(),
            ..config
        },
    );
    for q in [&query, &absent] {
        match wrong_orderers.read(q).await {
            Err(Error::InvalidBlock { reason, .. }) => {
                assert!(reason.contains("orderer signature"), "{reason}");
            }
            other => panic!("an unverified block was reported: {other:?}"),
        }
    }
}

/// How far a state read's proposal time may be from the time it is checked, in these tests.
const MAX_AGE: Duration = Duration::from_secs(60);

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_to_the_inbox_is_refused_for_good() {
    let s = Setup::start().await;
    let local = s.net.domain();
    let inbox = Address32::from_name(&format!("{}/{INBOX_CHAINCODE}", s.net.channel()));
    let batch = s.batch_of(vec![s.message(0, inbox, local, "pwn")], &[0, 1]);
    let subs = s.destination.submit(&batch).await.unwrap();
    let results = included(s.settle(&subs[0].handle).await);
    assert_eq!(
        results,
        vec![(
            batch.ids()[0],
            MessageOutcome::Refused {
                reason: format!("forbidden recipient {inbox}")
            }
        )]
    );
    assert_eq!(
        s.destination
            .delivery_status(&batch.ids()[0])
            .await
            .unwrap(),
        DeliveryStatus::Refused
    );
}
