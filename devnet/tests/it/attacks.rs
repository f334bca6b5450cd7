//! Every attack of issue 3 (and the matching rows of Table B in
//! shared/security/bridge-exploits.md) rejected on chain with its named custom error, and
//! nothing delivered.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use causeway_devnet::contracts::{Inbox, deploy_anchor};
use causeway_devnet::fixtures::{
    Committee, OriginLog, address32, inbox_checkpoint, inbox_proof, message,
};
use causeway_devnet::{CHAIN_B, DevChain, Domain};
use causeway_proofs::attestation::testkit;
use causeway_proofs::{
    Address32, Checkpoint, Hash32, HashAlgorithm, LeafIndex, LogSize, Message, Nonce, Signature,
    ValidatorKey,
};

use crate::mined;
use crate::support::{Lane, events, inbox_error, origin_sender};

use Inbox::InboxErrors as E;

/// secp256k1 group order n (SEC 2, §2.4.1).
const ORDER: U256 = alloy::primitives::uint!(
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256
);

/// Submits a batch with explicit arguments and returns the Inbox error it reverts with.
async fn rejected(
    lane: &Lane,
    messages: Vec<Bytes>,
    proofs: Vec<Inbox::InclusionProof>,
    cp: Inbox::Checkpoint,
    sigs: Vec<Bytes>,
) -> E {
    let err = lane
        .inbox
        .deliverBatch(messages, proofs, cp, sigs)
        .send()
        .await
        .expect_err("the batch must be rejected");
    inbox_error(&err)
}

/// The one-message batch of `item` under the lane's checkpoint, with `sigs` instead of valid
/// signatures.
async fn with_sigs(lane: &Lane, item: &(Message, LeafIndex), sigs: Vec<Bytes>) -> E {
    let (messages, proofs, cp, _) = lane.batch_args(std::slice::from_ref(item));
    rejected(lane, messages, proofs, cp, sigs).await
}

/// The malleated twin (r, n - s, v ^ 1) of a low-s signature: the same signer, high s.
fn malleate(sig: &Bytes) -> Bytes {
    let sig = Signature(sig[..].try_into().expect("a 65-byte signature"));
    Bytes::from(testkit::malleate(&sig).0.to_vec())
}

fn unknown_validator(e: &E) -> Address {
    match e {
        E::UnknownValidator(u) => u.signer,
        other => panic!("expected UnknownValidator, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_signatures_are_rejected_with_their_reason() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let item = lane.push(*b.recipient.address(), b"mint 1e24 to attacker");
    let cp = lane.checkpoint();
    let domain = lane.domain();
    let members = lane.committee.addresses();
    let all = lane.committee.sign_with(&cp, &domain, &[0, 1, 2, 3, 4]);
    let (s0, s1, s2) = (all[0].clone(), all[1].clone(), all[2].clone());

    // T09: a non-member's valid signature over the right digest.
    let outsider = ValidatorKey::from_bytes(&[0x11; 32]).unwrap();
    let foreign = Bytes::copy_from_slice(outsider.sign_checkpoint(&cp, &domain).as_bytes());
    let e = with_sigs(&lane, &item, vec![s0.clone(), s1.clone(), foreign]).await;
    assert_eq!(unknown_validator(&e), Address::from(outsider.address().0));

    // Forged: a member's signature over another checkpoint (a root with a fabricated leaf)
    // recovers to an unrelated address for this digest.
    let mut fake = OriginLog::new();
    fake.append(item.0.clone());
    fake.append(message(
        99,
        Domain(1),
        origin_sender(),
        Domain(2),
        Address::ZERO,
        b"fake",
    ));
    let forged = lane
        .committee
        .sign_with(&fake.checkpoint(Domain(1)), &domain, &[0]);
    let e = with_sigs(
        &lane,
        &item,
        vec![forged[0].clone(), s1.clone(), s2.clone()],
    )
    .await;
    assert!(!members.contains(&unknown_validator(&e)));

    // T10: one member's signature counted twice, adjacent or not.
    let e = with_sigs(&lane, &item, vec![s0.clone(), s0.clone(), s1.clone()]).await;
    assert_eq!(
        e,
        E::DuplicateSigner(Inbox::DuplicateSigner { signer: members[0] })
    );
    let e = with_sigs(&lane, &item, vec![s0.clone(), s1.clone(), s0.clone()]).await;
    assert_eq!(
        e,
        E::DuplicateSigner(Inbox::DuplicateSigner { signer: members[0] })
    );
    // T10c: signers out of order.
    let e = with_sigs(&lane, &item, vec![s1.clone(), s0.clone(), s2.clone()]).await;
    assert_eq!(
        e,
        E::SignersNotAscending(Inbox::SignersNotAscending {
            position: U256::from(1)
        })
    );

    // T11: the malleated (high-s) twin of a valid signature, alone or as a "second" signature.
    let e = with_sigs(&lane, &item, vec![s0.clone(), s1.clone(), malleate(&s2)]).await;
    assert_eq!(
        e,
        E::HighS(Inbox::HighS {
            position: U256::from(2)
        })
    );
    let e = with_sigs(&lane, &item, vec![s0.clone(), malleate(&s0), s1.clone()]).await;
    assert_eq!(
        e,
        E::HighS(Inbox::HighS {
            position: U256::from(1)
        })
    );
    // T11/T12: encodings ecrecover would accept or answer with address(0).
    let invalid = |position: u64| {
        E::InvalidSignature(Inbox::InvalidSignature {
            position: U256::from(position),
        })
    };
    let zeros = Bytes::from(vec![0u8; 65]);
    assert_eq!(
        with_sigs(&lane, &item, vec![s0.clone(), zeros, s2.clone()]).await,
        invalid(1)
    );
    let mut v01 = s0.to_vec();
    v01[64] -= 27;
    assert_eq!(
        with_sigs(&lane, &item, vec![Bytes::from(v01), s1.clone(), s2.clone()]).await,
        invalid(0)
    );
    let mut v29 = s0.to_vec();
    v29[64] = 29;
    assert_eq!(
        with_sigs(&lane, &item, vec![Bytes::from(v29), s1.clone(), s2.clone()]).await,
        invalid(0)
    );
    let compact = Bytes::copy_from_slice(&s0[..64]);
    assert_eq!(
        with_sigs(&lane, &item, vec![compact, s1.clone(), s2.clone()]).await,
        invalid(0)
    );
    let mut trailing = s0.to_vec();
    trailing.push(0);
    assert_eq!(
        with_sigs(
            &lane,
            &item,
            vec![Bytes::from(trailing), s1.clone(), s2.clone()]
        )
        .await,
        invalid(0)
    );
    let mut s_is_n = s0.to_vec();
    s_is_n[32..64].copy_from_slice(&ORDER.to_be_bytes::<32>());
    assert_eq!(
        with_sigs(
            &lane,
            &item,
            vec![Bytes::from(s_is_n), s1.clone(), s2.clone()]
        )
        .await,
        invalid(0)
    );

    // T01: threshold - 1 valid signatures, or none at all.
    let below = |valid: u64| {
        E::BelowThreshold(Inbox::BelowThreshold {
            valid: U256::from(valid),
            threshold: U256::from(3),
        })
    };
    assert_eq!(
        with_sigs(&lane, &item, vec![s0.clone(), s1.clone()]).await,
        below(2)
    );
    assert_eq!(with_sigs(&lane, &item, vec![]).await, below(0));

    // Nothing was delivered by any of these.
    assert_eq!(lane.status(&item.0).await, 0);
    assert_eq!(b.recipient.handled().call().await.unwrap(), U256::ZERO);
    // Four of five (more than the threshold) in order is fine.
    let (messages, proofs, cpa, _) = lane.batch_args(std::slice::from_ref(&item));
    mined!(lane.inbox.deliverBatch(
        messages,
        proofs,
        cpa,
        vec![
            all[0].clone(),
            all[2].clone(),
            all[3].clone(),
            all[4].clone()
        ]
    ));
    assert_eq!(lane.status(&item.0).await, 1);
}

#[tokio::test]
async fn bad_checkpoints_and_proofs_are_rejected() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    let items: Vec<_> = (0..13)
        .map(|i| lane.push(to, format!("m{i}").as_bytes()))
        .collect();
    let cp = lane.checkpoint();
    let sigs = lane.sign(&cp);
    let six = &items[6];
    let msg6 = vec![Bytes::from(six.0.encode())];
    let good_proof = lane.log.proof(six.1);

    // T16 (Nomad): a zero root, even one every validator signed.
    let zero = Inbox::Checkpoint {
        origin: 1,
        hashAlgorithm: 1,
        size: 13,
        root: B256::ZERO,
    };
    let digest = lane
        .inbox
        .checkpointDigest(zero.clone())
        .call()
        .await
        .unwrap();
    let zero_sigs: Vec<Bytes> = lane.committee.keys()[..3]
        .iter()
        .map(|k| Bytes::copy_from_slice(k.sign(&Hash32(digest.0)).as_bytes()))
        .collect();
    let e = rejected(
        &lane,
        msg6.clone(),
        vec![inbox_proof(&good_proof)],
        zero,
        zero_sigs,
    )
    .await;
    assert_eq!(e, E::ZeroRoot(Inbox::ZeroRoot {}));
    // T16b: a signed checkpoint of the empty log proves nothing.
    let empty = Checkpoint::new(
        Domain(1),
        HashAlgorithm::Sha256,
        LogSize(0),
        OriginLog::new().log().root(),
    )
    .unwrap();
    let e = rejected(
        &lane,
        msg6.clone(),
        vec![Inbox::InclusionProof {
            index: 0,
            path: vec![],
        }],
        inbox_checkpoint(&empty),
        lane.sign(&empty),
    )
    .await;
    assert_eq!(e, E::InvalidProof(Inbox::InvalidProof {}));

    let invalid = E::InvalidProof(Inbox::InvalidProof {});
    let cp_abi = inbox_checkpoint(&cp);
    let try_proof = |proof: Inbox::InclusionProof| {
        let (lane, msg6, cp_abi, sigs) = (&lane, msg6.clone(), cp_abi.clone(), sigs.clone());
        async move { rejected(lane, msg6, vec![proof], cp_abi, sigs).await }
    };
    // Proof for another message: leaf 7's (valid) proof, and leaf 6's path at index 7 (T17f).
    assert_eq!(
        try_proof(inbox_proof(&lane.log.proof(items[7].1))).await,
        invalid
    );
    let mut p = inbox_proof(&good_proof);
    p.index = 7;
    assert_eq!(try_proof(p).await, invalid);
    // T17a/b: an extra trailing sibling, a dropped sibling.
    let mut p = inbox_proof(&good_proof);
    p.path.push(B256::repeat_byte(1));
    assert_eq!(try_proof(p).await, invalid);
    let mut p = inbox_proof(&good_proof);
    p.path.pop();
    assert_eq!(try_proof(p).await, invalid);
    // T17c: index >= size.
    let mut p = inbox_proof(&good_proof);
    p.index = 13;
    assert_eq!(try_proof(p).await, invalid);
    // Every single-bit flip of the path.
    for node in 0..good_proof.path.len() {
        let mut p = inbox_proof(&good_proof);
        p.path[node].0[31 - node] ^= 1;
        assert_eq!(try_proof(p).await, invalid);
    }
    // T17e: a path valid for (6, 16) presented with a signed checkpoint of size 13.
    let mut longer = OriginLog::new();
    for (m, _) in &items {
        longer.append(m.clone());
    }
    for i in 13..16 {
        longer.append(message(
            i,
            Domain(1),
            origin_sender(),
            Domain(2),
            to,
            b"later",
        ));
    }
    let p16 = longer
        .log()
        .inclusion_proof(LeafIndex(6), LogSize(16))
        .unwrap();
    assert_eq!(try_proof(inbox_proof(&p16)).await, invalid);
    // A message that is in no signed log, with the proof of the message at its index.
    let stranger = message(
        6,
        Domain(1),
        origin_sender(),
        Domain(2),
        to,
        b"never appended",
    );
    let e = rejected(
        &lane,
        vec![Bytes::from(stranger.encode())],
        vec![inbox_proof(&good_proof)],
        cp_abi.clone(),
        sigs.clone(),
    )
    .await;
    assert_eq!(e, invalid);
    // T25d (Nomad copy-paste): the same calldata with the recipient changed.
    let retargeted = message(
        six.0.nonce().0,
        Domain(1),
        origin_sender(),
        Domain(2),
        Address::repeat_byte(0xaa),
        six.0.body(),
    );
    let e = rejected(
        &lane,
        vec![Bytes::from(retargeted.encode())],
        vec![inbox_proof(&good_proof)],
        cp_abi.clone(),
        sigs.clone(),
    )
    .await;
    assert_eq!(e, invalid);
    // A batch whose proof list does not match its messages.
    let e = rejected(&lane, msg6.clone(), vec![], cp_abi.clone(), sigs.clone()).await;
    assert_eq!(e, invalid);

    // A log under a hash algorithm the Inbox cannot compute (SM3) is not verifiable on chain.
    let sm3 = Checkpoint::new(Domain(1), HashAlgorithm::Sm3, LogSize(13), Hash32([9; 32])).unwrap();
    let e = rejected(
        &lane,
        msg6.clone(),
        vec![inbox_proof(&good_proof)],
        inbox_checkpoint(&sm3),
        lane.sign(&sm3),
    )
    .await;
    assert_eq!(
        e,
        E::UnsupportedHash(Inbox::UnsupportedHash { hashAlgorithm: 3 })
    );
    // Keccak-256 logs are verified since issue 9 item 5: a signed Keccak-256 checkpoint does not
    // accept the SHA-256 proof of this lane (nor any proof of another root).
    let keccak = Checkpoint::new(
        Domain(1),
        HashAlgorithm::Keccak256,
        LogSize(13),
        Hash32([9; 32]),
    )
    .unwrap();
    let e = rejected(
        &lane,
        msg6.clone(),
        vec![inbox_proof(&good_proof)],
        inbox_checkpoint(&keccak),
        lane.sign(&keccak),
    )
    .await;
    assert_eq!(e, invalid);
    // An origin without a configured validator set never verifies (no default set).
    let mut unknown = cp_abi.clone();
    unknown.origin = 9;
    let e = rejected(
        &lane,
        msg6.clone(),
        vec![inbox_proof(&good_proof)],
        unknown,
        sigs.clone(),
    )
    .await;
    assert_eq!(e, E::UnknownOrigin(Inbox::UnknownOrigin { origin: 9 }));

    // Malformed messages (checked before their proofs).
    let raw = |bytes: Vec<u8>| {
        let (lane, cp_abi, sigs) = (&lane, cp_abi.clone(), sigs.clone());
        let proof = inbox_proof(&good_proof);
        async move { rejected(lane, vec![Bytes::from(bytes)], vec![proof], cp_abi, sigs).await }
    };
    assert_eq!(
        raw(six.0.encode()[..80].to_vec()).await,
        E::MessageTooShort(Inbox::MessageTooShort {})
    );
    let mut v2 = six.0.encode();
    v2[0] = 2;
    assert_eq!(
        raw(v2).await,
        E::UnsupportedVersion(Inbox::UnsupportedVersion { version: 2 })
    );
    let mut huge = six.0.encode()[..81].to_vec();
    huge.extend(std::iter::repeat_n(0u8, 65_537));
    assert_eq!(raw(huge).await, E::BodyTooLarge(Inbox::BodyTooLarge {}));

    // Nothing was delivered; the genuine proof still works.
    assert_eq!(lane.status(&six.0).await, 0);
    lane.deliver(std::slice::from_ref(six)).await;
    assert_eq!(lane.status(&six.0).await, 1);
}

#[tokio::test]
async fn checkpoints_and_messages_for_other_lanes_are_rejected() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let to = *b.recipient.address();
    let mut lane = Lane::open(&b).await;
    // The same committee also serves origin 3 on this Inbox.
    let mut lane3 = Lane::open_on(
        b.inbox.clone(),
        b.spec,
        Domain(3),
        Committee::new("lane", 5, 3),
    )
    .await;

    // A message of origin 1 inside origin 3's (validly signed) log: WrongDomain.
    let m = message(
        0,
        Domain(1),
        origin_sender(),
        Domain(2),
        to,
        b"from origin 1",
    );
    let i = lane3.push_message(m.clone());
    let e = lane3.deliver_err(&[(m.clone(), i)]).await;
    assert_eq!(
        e,
        E::WrongDomain(Inbox::WrongDomain {
            expected: 3,
            actual: 1
        })
    );

    // T15: a message for destination 3 delivered to the Inbox of domain 2.
    let m3 = message(
        0,
        Domain(1),
        origin_sender(),
        Domain(3),
        to,
        b"for domain 3",
    );
    let i3 = lane.push_message(m3.clone());
    let e = lane.deliver_err(&[(m3.clone(), i3)]).await;
    assert_eq!(
        e,
        E::WrongDestination(Inbox::WrongDestination {
            expected: 2,
            actual: 3
        })
    );

    // A checkpoint signed for another lane's signing domain (destination domain, origin chain id,
    // epoch, verifier or chain id) recovers to non-members.
    let (ok, ok_i) = lane.push(to, b"fine");
    let cp = lane.checkpoint();
    let (messages, proofs, cp_abi, _) = lane.batch_args(&[(ok.clone(), ok_i)]);
    let members = lane.committee.addresses();
    let base = lane.domain();
    let variants = [
        causeway_proofs::SigningDomain {
            destination: Domain(3),
            ..base
        },
        causeway_proofs::SigningDomain {
            origin_chain_id: 1,
            ..base
        },
        causeway_proofs::SigningDomain {
            validator_epoch: base.validator_epoch + 1,
            ..base
        },
        causeway_proofs::SigningDomain {
            destination_chain_id: 31337,
            ..base
        },
        causeway_proofs::SigningDomain {
            inbox: Address32([0x42; 32]),
            ..base
        },
    ];
    for domain in variants {
        let sigs = lane.committee.sign(&cp, &domain);
        let err = lane
            .inbox
            .deliverBatch(messages.clone(), proofs.clone(), cp_abi.clone(), sigs)
            .send()
            .await
            .unwrap_err();
        assert!(
            !members.contains(&unknown_validator(&inbox_error(&err))),
            "{domain:?}"
        );
    }
    assert_eq!(lane.status(&m).await, 0);
    assert_eq!(lane.status(&m3).await, 0);
    assert_eq!(lane.status(&ok).await, 0);
    lane.deliver(&[(ok.clone(), ok_i)]).await;
}

/// Delivers `items` and returns the ids the Inbox skipped as already recorded, with the status
/// it reported, after checking that none of them reached a recipient again.
async fn skipped(lane: &Lane, items: &[(Message, LeafIndex)]) -> Vec<(B256, u8)> {
    let receipt = lane.deliver(items).await;
    events::<Inbox::AlreadyDeliveredSkipped>(&receipt)
        .into_iter()
        .map(|e| (e.id, e.status))
        .collect()
}

#[tokio::test]
async fn a_message_is_delivered_once_whatever_the_proof_or_signatures() {
    // Issue 9: a replay no longer reverts the batch; it is skipped (`AlreadyDeliveredSkipped`)
    // and its recipient is never called again.
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let to = *b.recipient.address();
    let mut lane = Lane::open(&b).await;
    let first = lane.push(to, b"once");
    lane.deliver(std::slice::from_ref(&first)).await;
    let id = B256::from(first.0.id().0.0);

    // T25a: the same batch again.
    assert_eq!(
        skipped(&lane, std::slice::from_ref(&first)).await,
        vec![(id, 1)]
    );
    // T25b: with a proof against a later checkpoint, signed by another threshold subset.
    for i in 0..5 {
        lane.push(to, format!("later {i}").as_bytes());
    }
    let cp = lane.checkpoint();
    let sigs = lane.committee.sign_with(&cp, &lane.domain(), &[1, 3, 4]);
    let (messages, proofs, cp_abi, _) = lane.batch_args(std::slice::from_ref(&first));
    let receipt =
        mined!(
            lane.inbox
                .deliverBatch(messages.clone(), proofs.clone(), cp_abi.clone(), sigs)
        );
    assert_eq!(events::<Inbox::AlreadyDeliveredSkipped>(&receipt)[0].id, id);
    assert!(events::<Inbox::Delivered>(&receipt).is_empty());
    // T11 replay variant: malleating a signature does not make a new message (and is refused:
    // an invalid signature still reverts the whole batch).
    let mut sigs = lane.sign(&cp);
    sigs[0] = malleate(&sigs[0]);
    let err = lane
        .inbox
        .deliverBatch(messages, proofs, cp_abi, sigs)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        inbox_error(&err),
        E::HighS(Inbox::HighS {
            position: U256::ZERO
        })
    );

    // T19c: the same message appended twice to the log; the second copy is still a replay.
    let dup_index = lane.push_message(first.0.clone());
    assert_eq!(
        skipped(&lane, &[(first.0.clone(), dup_index)]).await,
        vec![(id, 1)]
    );
    // The same new message twice in one batch: delivered once, the copy skipped.
    let fresh = lane.push(to, b"twice in a batch");
    let fresh_id = B256::from(fresh.0.id().0.0);
    assert_eq!(
        skipped(&lane, &[fresh.clone(), fresh.clone()]).await,
        vec![(fresh_id, 1)]
    );
    assert_eq!(lane.status(&fresh.0).await, 1);
    assert_eq!(b.recipient.handled().call().await.unwrap(), U256::from(2));
}

/// Delivers `item` (which must not revert) and checks that the Inbox refused it for good.
async fn assert_refused(lane: &Lane, item: &(Message, LeafIndex)) {
    let receipt = lane.deliver(std::slice::from_ref(item)).await;
    let ev = events::<Inbox::DeliveryRefused>(&receipt);
    assert_eq!(ev.len(), 1, "{receipt:?}");
    assert_eq!(ev[0].id.0, item.0.id().0.0);
    assert_eq!(ev[0].recipient.0, item.0.recipient().0);
    assert!(events::<Inbox::Delivered>(&receipt).is_empty());
    assert!(events::<Inbox::DeliveryFailed>(&receipt).is_empty());
    assert_eq!(lane.status(&item.0).await, 3);
}

#[tokio::test]
async fn messages_can_never_reach_the_inbox_or_its_admin() {
    // T23 (Poly Network): validly signed and proven messages aimed at privileged targets are
    // recorded refused for good (status 3, `DeliveryRefused`; issue 9), never called.
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let inbox = *b.inbox.address();

    // A payload that would re-configure the validators if the Inbox ever executed it.
    let payload = Inbox::setValidatorsCall {
        origin: 1,
        originChainId: 1,
        validators: vec![Address::repeat_byte(0xee)],
        threshold: 1,
    };
    let body = alloy::sol_types::SolCall::abi_encode(&payload);
    let to_inbox = lane.push(inbox, &body);
    assert_refused(&lane, &to_inbox).await;
    let to_admin = lane.push(b.admin, b"transferOwnership");
    assert_refused(&lane, &to_admin).await;

    // A privileged contract the admin names (here an Anchor) is denied too; only the admin may
    // name one.
    let anchor = deploy_anchor(&b.provider, b.admin).await.unwrap();
    let stranger = Inbox::new(inbox, b.node.provider(5));
    let err = stranger
        .setForbiddenRecipient(*anchor.address(), true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(inbox_error(&err), E::NotAdmin(Inbox::NotAdmin {}));
    mined!(b.inbox.setForbiddenRecipient(*anchor.address(), true));
    assert!(
        b.inbox
            .isForbiddenRecipient(*anchor.address())
            .call()
            .await
            .unwrap()
    );
    let to_anchor = lane.push(*anchor.address(), b"anchor(...)");
    assert_refused(&lane, &to_anchor).await;

    // A 32-byte recipient that is not an EVM address cannot be called here.
    let mut wide = address32(*b.recipient.address());
    wide.0[0] = 1;
    let odd = Message::new(
        Nonce(99),
        Domain(1),
        address32(origin_sender()),
        Domain(2),
        wide,
        vec![],
    )
    .unwrap();
    let odd_i = lane.push_message(odd.clone());
    assert_refused(&lane, &(odd.clone(), odd_i)).await;

    // A refusal is for good: `retry` cannot change it, and delivering it again skips it.
    for m in [&to_inbox.0, &to_admin.0, &to_anchor.0, &odd] {
        let err = b
            .inbox
            .retry(Bytes::from(m.encode()))
            .send()
            .await
            .unwrap_err();
        assert!(matches!(inbox_error(&err), E::NotFailed(_)));
    }
    assert_eq!(
        skipped(&lane, std::slice::from_ref(&to_inbox)).await,
        vec![(B256::from(to_inbox.0.id().0.0), 3)]
    );
    // Even if the admin allows the target again.
    mined!(b.inbox.setForbiddenRecipient(*anchor.address(), false));
    assert_eq!(
        skipped(&lane, std::slice::from_ref(&to_anchor)).await,
        vec![(B256::from(to_anchor.0.id().0.0), 3)]
    );

    // The validator set is untouched and nothing was delivered.
    let set = b.inbox.validatorSet(1).call().await.unwrap();
    assert_eq!(set.validators, lane.committee.addresses());
    assert_eq!(set.epoch, 1);
    for m in [&to_inbox.0, &to_admin.0, &to_anchor.0, &odd] {
        assert_eq!(lane.status(m).await, 3);
    }

    // The Inbox holds no ether: it has no payable entry point.
    let tx = TransactionRequest::default()
        .with_to(inbox)
        .with_value(U256::from(1));
    assert!(b.provider.send_transaction(tx).await.is_err());
    assert_eq!(b.provider.get_balance(inbox).await.unwrap(), U256::ZERO);
}

#[tokio::test]
async fn a_conflicting_checkpoint_is_refused_with_both_roots() {
    // Issue 9 item 4: a threshold that signs two roots for one (origin, size) has equivocated;
    // the Inbox keeps the first root it accepted and refuses the other with both as evidence.
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    let honest = lane.push(to, b"honest history");
    lane.deliver(std::slice::from_ref(&honest)).await;
    let known = lane.checkpoint();
    assert_eq!(
        b.inbox
            .acceptedRoot(1, known.hash_algorithm().id(), known.size().0)
            .call()
            .await
            .unwrap()
            .0,
        known.root().0
    );

    // A forked log of the same size, signed by the same threshold.
    let honest_log = std::mem::replace(&mut lane.log, OriginLog::new());
    let forged = lane.push(to, b"rewritten history");
    let offered = lane.checkpoint();
    assert_eq!(offered.size(), known.size());
    assert_eq!(
        lane.deliver_err(std::slice::from_ref(&forged)).await,
        E::ConflictingCheckpoint(Inbox::ConflictingCheckpoint {
            origin: 1,
            size: known.size().0,
            known: B256::from(known.root().0),
            offered: B256::from(offered.root().0),
        })
    );
    assert_eq!(lane.status(&forged.0).await, 0);

    // The honest history goes on: the same checkpoint again, and larger ones.
    lane.log = honest_log;
    let again = lane.push(to, b"more honest history");
    lane.deliver(std::slice::from_ref(&again)).await;
    assert_eq!(lane.status(&again.0).await, 1);
}
