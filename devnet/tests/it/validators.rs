//! Validator sets: the admin installs only the first one, unsafe sets are refused, later sets
//! need the current set's threshold and a delay during which the old set rules and the change
//! can be cancelled, and rotating a set (new epoch) stops the old signatures and removed
//! members from counting (T02, T03, T07, T10d, T12; issue 9 item 3).

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use causeway_devnet::contracts::{DEVNET_CHANGE_DELAY, Inbox};
use causeway_devnet::fixtures::{Committee, GovernanceDomain, ValidatorSetChange};
use causeway_devnet::{CHAIN_B, DevChain};

use crate::mined;
use crate::support::{Lane, ORIGIN, advance_time, events, inbox_error};

use Inbox::InboxErrors as E;

#[tokio::test]
async fn validator_sets_are_checked_and_changed_by_the_admin_only() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let committee = Committee::new("validators", 5, 3);
    let a = committee.addresses();
    let stranger = Inbox::new(*b.inbox.address(), b.node.provider(5));
    let err = stranger
        .setValidators(1, 31337, a.clone(), 3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(inbox_error(&err), E::NotAdmin(Inbox::NotAdmin {}));

    let with_zero: Vec<Address> = std::iter::once(Address::ZERO)
        .chain(a.iter().copied())
        .collect();
    let cases: Vec<(Vec<Address>, u64, u8, &str)> = vec![
        (vec![], 31337, 1, "empty validator set"),
        (with_zero, 31337, 4, "zero address validator"),
        (vec![a[0], a[0], a[1]], 31337, 2, "duplicate validator"),
        (
            vec![a[1], a[0], a[2]],
            31337,
            2,
            "validators not strictly ascending",
        ),
        (a.clone(), 31337, 0, "zero threshold"),
        (a.clone(), 31337, 6, "threshold above validator count"),
        // Harmony's 2-of-5 and an even split are not majorities.
        (a.clone(), 31337, 2, "threshold is not a strict majority"),
        (
            a[..4].to_vec(),
            31337,
            2,
            "threshold is not a strict majority",
        ),
        (a.clone(), 0, 3, "zero origin chain id"),
        (
            (1..=256u16)
                .map(|i| Address::left_padding_from(&i.to_be_bytes()))
                .collect(),
            31337,
            200,
            "more than 255 validators",
        ),
    ];
    for (validators, chain_id, threshold, reason) in cases {
        let err = b
            .inbox
            .setValidators(1, chain_id, validators, threshold)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            inbox_error(&err),
            E::InvalidValidatorSet(Inbox::InvalidValidatorSet {
                reason: reason.to_owned()
            }),
            "{reason}"
        );
    }
    let set = b.inbox.validatorSet(1).call().await.unwrap();
    assert_eq!(
        (set.validators.len(), set.threshold, set.epoch),
        (0, 0, 0),
        "nothing was configured"
    );

    let receipt = mined!(b.inbox.setValidators(1, 31337, a.clone(), 3));
    let ev = events::<Inbox::ValidatorSetChanged>(&receipt).remove(0);
    assert_eq!(
        (ev.origin, ev.epoch, ev.validators.clone(), ev.threshold),
        (1, 1, a.clone(), 3)
    );
    let set = b.inbox.validatorSet(1).call().await.unwrap();
    assert_eq!(
        (set.validators, set.threshold, set.epoch, set.originChainId),
        (a.clone(), 3, 1, 31337)
    );
    // 1-of-1 is a (trivial) majority.
    mined!(b.inbox.setValidators(7, 7, vec![a[0]], 1));

    // After the bootstrap the admin alone can change nothing, not even to a safe set.
    for (origin, set, threshold) in [(1, vec![a[0]], 1), (7, a.clone(), 3)] {
        let err = b
            .inbox
            .setValidators(origin, 31337, set, threshold)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            inbox_error(&err),
            E::AlreadyConfigured(Inbox::AlreadyConfigured { origin })
        );
    }
    // Nor with a "proposal" it signs itself: it is no member of the set.
    let admin_key = b.node.dev_keys()[causeway_devnet::ADMIN_KEY_INDEX].clone();
    let change = ValidatorSetChange {
        origin_chain_id: 31337,
        validators: vec![b.admin],
        threshold: 1,
        epoch: 2,
    };
    let gov = GovernanceDomain {
        origin: causeway_devnet::Domain(1),
        origin_chain_id: 31337,
        epoch: 1,
        chain_id: CHAIN_B.chain_id,
        verifier: *b.inbox.address(),
    };
    let digest = gov.change_digest(&change);
    let admin_as_validator =
        causeway_proofs::ValidatorKey::from_bytes(&admin_key.to_bytes().0).unwrap();
    let bytes = admin_as_validator.sign(&digest).as_bytes().to_vec();
    let err = b
        .inbox
        .proposeValidatorSet(1, 31337, vec![b.admin], 1, 2, vec![Bytes::from(bytes)])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        inbox_error(&err),
        E::UnknownValidator(Inbox::UnknownValidator { signer: b.admin })
    );
    assert_eq!(b.inbox.validatorSet(1).call().await.unwrap().epoch, 1);
}

#[tokio::test]
async fn rotating_the_set_stops_old_signatures_and_removed_members() {
    // T03a: after a rotation the removed member's fresh signature does not count, and signatures
    // made for the previous epoch no longer verify.
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    let first = lane.push(to, b"epoch 1");
    lane.deliver(std::slice::from_ref(&first)).await;

    let old_members = lane.committee.addresses();
    let rotated = Committee::new("lane", 5, 3); // the same keys; member 0 is dropped below
    let remaining: Vec<Address> = old_members[1..].to_vec();
    let change = ValidatorSetChange {
        origin_chain_id: ORIGIN.chain_id,
        validators: remaining.clone(),
        threshold: 3,
        epoch: 2,
    };
    propose(&lane, &change, &[0, 1, 2]).await;
    advance_time(&b, DEVNET_CHANGE_DELAY).await;
    let receipt = mined!(b.inbox.applyValidatorSetChange(1));
    assert_eq!(events::<Inbox::ValidatorSetChanged>(&receipt)[0].epoch, 2);
    let item = lane.push(to, b"epoch 2");
    let (messages, proofs, cp_abi, old_epoch_sigs) = lane.batch_args(std::slice::from_ref(&item));
    let err = b
        .inbox
        .deliverBatch(
            messages.clone(),
            proofs.clone(),
            cp_abi.clone(),
            old_epoch_sigs,
        )
        .send()
        .await
        .unwrap_err();
    match inbox_error(&err) {
        E::UnknownValidator(u) => assert!(!old_members.contains(&u.signer)),
        other => panic!("expected UnknownValidator, got {other:?}"),
    }
    lane.epoch = 2;
    let cp = lane.checkpoint();
    let with_removed = rotated.sign_with(&cp, &lane.domain(), &[0, 1, 2]);
    let err = b
        .inbox
        .deliverBatch(
            messages.clone(),
            proofs.clone(),
            cp_abi.clone(),
            with_removed,
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        inbox_error(&err),
        E::UnknownValidator(Inbox::UnknownValidator {
            signer: old_members[0]
        })
    );
    assert_eq!(lane.status(&item.0).await, 0);

    let current = rotated.sign_with(&cp, &lane.domain(), &[1, 2, 4]);
    mined!(b.inbox.deliverBatch(messages, proofs, cp_abi, current));
    assert_eq!(lane.status(&item.0).await, 1);
}

/// Proposes `change` on `lane`'s Inbox with the signatures of its current members `signers`.
async fn propose(lane: &Lane, change: &ValidatorSetChange, signers: &[usize]) {
    let sigs = lane
        .committee
        .sign_digest(lane.governance().change_digest(change), signers);
    let receipt = mined!(lane.inbox.proposeValidatorSet(
        lane.origin.0,
        change.origin_chain_id,
        change.validators.clone(),
        change.threshold,
        change.epoch,
        sigs
    ));
    let ev = events::<Inbox::ValidatorSetChangeProposed>(&receipt).remove(0);
    assert_eq!(
        (ev.origin, ev.epoch, ev.validators, ev.threshold),
        (
            lane.origin.0,
            change.epoch,
            change.validators.clone(),
            change.threshold
        )
    );
}

/// The revert of proposing `change` with the given signatures.
async fn propose_err(lane: &Lane, change: &ValidatorSetChange, sigs: Vec<Bytes>) -> E {
    let err = lane
        .inbox
        .proposeValidatorSet(
            lane.origin.0,
            change.origin_chain_id,
            change.validators.clone(),
            change.threshold,
            change.epoch,
            sigs,
        )
        .send()
        .await
        .unwrap_err();
    inbox_error(&err)
}

#[tokio::test]
async fn a_change_needs_the_threshold_and_waits_for_its_delay() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    let next = Committee::new("next", 3, 2);
    let change = ValidatorSetChange {
        origin_chain_id: ORIGIN.chain_id,
        validators: next.addresses(),
        threshold: 2,
        epoch: 2,
    };
    let gov = lane.governance();
    let digest = gov.change_digest(&change);
    assert_eq!(
        b.inbox
            .validatorSetChangeDigest(1, ORIGIN.chain_id, next.addresses(), 2, 2)
            .call()
            .await
            .unwrap()
            .0,
        digest.0,
        "the governance digest is recomputed off chain"
    );
    assert_eq!(b.inbox.nextEpoch(1).call().await.unwrap(), 2);

    // Fewer than the threshold.
    let two = lane.committee.sign_digest(digest, &[0, 1]);
    assert_eq!(
        propose_err(&lane, &change, two).await,
        E::BelowThreshold(Inbox::BelowThreshold {
            valid: alloy::primitives::U256::from(2),
            threshold: alloy::primitives::U256::from(3)
        })
    );
    // The new set cannot vote itself in.
    let by_new = next.sign_digest(digest, &[0, 1]);
    assert!(matches!(
        propose_err(&lane, &change, by_new).await,
        E::UnknownValidator(_)
    ));
    // A checkpoint signature is never a change signature (distinct domain and struct types).
    lane.push(to, b"a checkpoint");
    let cp_sigs = lane.sign(&lane.checkpoint());
    assert!(matches!(
        propose_err(&lane, &change, cp_sigs).await,
        E::UnknownValidator(_)
    ));
    // High-s, unsorted and repeated signers are refused as for checkpoints.
    let mut unsorted = lane.committee.sign_digest(digest, &[0, 1, 2]);
    unsorted.swap(0, 1);
    assert!(matches!(
        propose_err(&lane, &change, unsorted).await,
        E::SignersNotAscending(_)
    ));
    let repeated = lane.committee.sign_digest(digest, &[0, 0, 1]);
    assert!(matches!(
        propose_err(&lane, &change, repeated).await,
        E::DuplicateSigner(_)
    ));
    // Signatures for one epoch do not propose another.
    let other_epoch = ValidatorSetChange {
        epoch: 3,
        ..change.clone()
    };
    let sigs = lane
        .committee
        .sign_digest(gov.change_digest(&other_epoch), &[0, 1, 2]);
    assert_eq!(
        propose_err(&lane, &other_epoch, sigs).await,
        E::WrongEpoch(Inbox::WrongEpoch {
            expected: 2,
            actual: 3
        })
    );
    // An unsafe new set is refused before any signature is looked at.
    let unsafe_set = ValidatorSetChange {
        threshold: 1,
        ..change.clone()
    };
    let sigs = lane
        .committee
        .sign_digest(gov.change_digest(&unsafe_set), &[0, 1, 2]);
    assert!(matches!(
        propose_err(&lane, &unsafe_set, sigs).await,
        E::InvalidValidatorSet(_)
    ));

    propose(&lane, &change, &[1, 3, 4]).await;
    let pending = b.inbox.pendingValidatorSet(1).call().await.unwrap();
    assert_eq!(
        (pending.validators, pending.threshold, pending.epoch),
        (next.addresses(), 2, 2)
    );
    // One change at a time.
    let sigs = lane.committee.sign_digest(digest, &[0, 1, 2]);
    assert_eq!(
        propose_err(&lane, &change, sigs).await,
        E::ChangePending(Inbox::ChangePending {
            origin: 1,
            epoch: 2
        })
    );
    // Not before its time.
    let err = b.inbox.applyValidatorSetChange(1).send().await.unwrap_err();
    assert!(matches!(inbox_error(&err), E::ChangeNotReady(_)));

    // During the delay the old set rules and the new one does not.
    let first = lane.push(to, b"during the delay");
    lane.deliver(std::slice::from_ref(&first)).await;
    assert_eq!(lane.status(&first.0).await, 1);
    let set = b.inbox.validatorSet(1).call().await.unwrap();
    assert_eq!((set.epoch, set.threshold), (1, 3));

    advance_time(&b, DEVNET_CHANGE_DELAY).await;
    // Anyone applies it.
    let stranger = Inbox::new(*b.inbox.address(), b.node.provider(5));
    let receipt = mined!(stranger.applyValidatorSetChange(1));
    assert_eq!(
        events::<Inbox::ValidatorSetChangeApplied>(&receipt)[0].epoch,
        2
    );
    let ev = events::<Inbox::ValidatorSetChanged>(&receipt).remove(0);
    assert_eq!(
        (ev.epoch, ev.validators, ev.threshold),
        (2, next.addresses(), 2)
    );
    let err = b.inbox.applyValidatorSetChange(1).send().await.unwrap_err();
    assert_eq!(
        inbox_error(&err),
        E::NoPendingChange(Inbox::NoPendingChange { origin: 1 })
    );

    // After it the new set rules and the old one does not.
    let second = lane.push(to, b"after the delay");
    lane.epoch = 2;
    assert!(matches!(
        lane.deliver_err(std::slice::from_ref(&second)).await,
        E::UnknownValidator(_)
    ));
    lane.committee = next;
    lane.deliver(std::slice::from_ref(&second)).await;
    assert_eq!(lane.status(&second.0).await, 1);
}

#[tokio::test]
async fn a_cancelled_change_never_applies() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let hostile = Committee::new("hostile", 1, 1);
    let change = ValidatorSetChange {
        origin_chain_id: ORIGIN.chain_id,
        validators: hostile.addresses(),
        threshold: 1,
        epoch: 2,
    };
    let gov = lane.governance();
    propose(&lane, &change, &[0, 1, 2]).await;
    let cancel = gov.cancel_digest(&change);
    assert_eq!(b.inbox.cancelDigest(1).call().await.unwrap().0, cancel.0);
    // The proposal's signatures do not cancel it, nor do fewer than the threshold.
    let proposal_sigs = lane
        .committee
        .sign_digest(gov.change_digest(&change), &[0, 1, 2]);
    let err = b
        .inbox
        .cancelValidatorSetChange(1, proposal_sigs.clone())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(inbox_error(&err), E::UnknownValidator(_)));
    let err = b
        .inbox
        .cancelValidatorSetChange(1, lane.committee.sign_digest(cancel, &[2, 3]))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(inbox_error(&err), E::BelowThreshold(_)));
    let stranger = Inbox::new(*b.inbox.address(), b.node.provider(5));
    let receipt = mined!(
        stranger.cancelValidatorSetChange(1, lane.committee.sign_digest(cancel, &[2, 3, 4]))
    );
    assert_eq!(
        events::<Inbox::ValidatorSetChangeCancelled>(&receipt)[0].epoch,
        2
    );
    advance_time(&b, DEVNET_CHANGE_DELAY * 2).await;
    let err = b.inbox.applyValidatorSetChange(1).send().await.unwrap_err();
    assert_eq!(
        inbox_error(&err),
        E::NoPendingChange(Inbox::NoPendingChange { origin: 1 })
    );
    // The cancelled proposal cannot be submitted again: its epoch is burnt.
    assert_eq!(
        propose_err(&lane, &change, proposal_sigs).await,
        E::WrongEpoch(Inbox::WrongEpoch {
            expected: 3,
            actual: 2
        })
    );
    let set = b.inbox.validatorSet(1).call().await.unwrap();
    assert_eq!((set.epoch, set.validators), (1, lane.committee.addresses()));
    let item = lane.push(*b.recipient.address(), b"still the old set");
    lane.deliver(std::slice::from_ref(&item)).await;
    assert_eq!(lane.status(&item.0).await, 1);
    // A later change names the next unused epoch and works as usual.
    let later = ValidatorSetChange {
        epoch: 3,
        validators: lane.committee.addresses()[1..].to_vec(),
        threshold: 3,
        ..change
    };
    propose(&lane, &later, &[0, 1, 2]).await;
    advance_time(&b, DEVNET_CHANGE_DELAY).await;
    mined!(b.inbox.applyValidatorSetChange(1));
    assert_eq!(b.inbox.validatorSet(1).call().await.unwrap().epoch, 3);
}

#[tokio::test]
async fn one_member_pauses_and_only_the_threshold_unpauses() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let item = lane.push(*b.recipient.address(), b"pause me");
    let stranger = Inbox::new(*b.inbox.address(), b.node.provider(5));
    let err = stranger.pause(1).send().await.unwrap_err();
    assert_eq!(
        inbox_error(&err),
        E::NotValidator(Inbox::NotValidator {
            account: super::support::dev(&b, 5)
        })
    );

    // One validator (funded to send a transaction) pauses.
    let member = &lane.committee.keys()[3];
    let signer = PrivateKeySigner::from_bytes(&B256::from(*member.secret_bytes())).unwrap();
    let member_address = signer.address();
    let _: serde_json::Value = b
        .provider
        .raw_request(
            "anvil_setBalance".into(),
            (member_address, "0x56bc75e2d63100000"),
        )
        .await
        .unwrap();
    let as_member = Inbox::new(*b.inbox.address(), b.node.provider_with(signer));
    let receipt = mined!(as_member.pause(1));
    let ev = events::<Inbox::PauseChanged>(&receipt).remove(0);
    assert_eq!((ev.origin, ev.paused), (1, true));
    assert!(b.inbox.paused(1).call().await.unwrap());
    assert!(matches!(
        lane.deliver_err(std::slice::from_ref(&item)).await,
        E::Paused(Inbox::Paused { origin: 1 })
    ));
    // The admin may pause too (a no-op now), but cannot unpause alone.
    mined!(b.inbox.pause(1));
    let err = b.inbox.unpause(1, vec![]).send().await.unwrap_err();
    assert!(matches!(inbox_error(&err), E::BelowThreshold(_)));

    let gov = lane.governance();
    let digest = gov.unpause_digest(1);
    assert_eq!(b.inbox.unpauseDigest(1).call().await.unwrap().0, digest.0);
    let err = b
        .inbox
        .unpause(1, lane.committee.sign_digest(digest, &[0, 1]))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(inbox_error(&err), E::BelowThreshold(_)));
    let unpause_sigs = lane.committee.sign_digest(digest, &[0, 1, 2]);
    let receipt = mined!(stranger.unpause(1, unpause_sigs.clone()));
    let ev = events::<Inbox::PauseChanged>(&receipt).remove(0);
    assert_eq!((ev.origin, ev.paused), (1, false));
    lane.deliver(std::slice::from_ref(&item)).await;
    assert_eq!(lane.status(&item.0).await, 1);

    // The same signatures never lift a later pause.
    mined!(as_member.pause(1));
    let err = b.inbox.unpause(1, unpause_sigs).send().await.unwrap_err();
    assert!(matches!(inbox_error(&err), E::UnknownValidator(_)));
    let err = b
        .inbox
        .unpause(2, lane.committee.sign_digest(digest, &[0, 1, 2]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        inbox_error(&err),
        E::NotPaused(Inbox::NotPaused { origin: 2 })
    );
    mined!(
        b.inbox.unpause(
            1,
            lane.committee
                .sign_digest(gov.unpause_digest(2), &[2, 3, 4])
        )
    );
    assert!(!b.inbox.paused(1).call().await.unwrap());
}

#[tokio::test]
async fn the_rate_limit_leaves_extra_messages_undelivered_without_reverting() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    let stranger = Inbox::new(*b.inbox.address(), b.node.provider(5));
    let err = stranger.setRateLimit(1, 2, 3600).send().await.unwrap_err();
    assert_eq!(inbox_error(&err), E::NotAdmin(Inbox::NotAdmin {}));
    let err = b.inbox.setRateLimit(1, 2, 0).send().await.unwrap_err();
    assert_eq!(
        inbox_error(&err),
        E::InvalidRateLimit(Inbox::InvalidRateLimit {})
    );
    let receipt = mined!(b.inbox.setRateLimit(1, 2, 3600));
    let ev = events::<Inbox::RateLimitChanged>(&receipt).remove(0);
    assert_eq!((ev.origin, ev.maxMessages, ev.window), (1, 2, 3600));

    let items: Vec<_> = (0..3u8).map(|i| lane.push(to, &[i; 4])).collect();
    let receipt = lane.deliver(&items).await;
    assert_eq!(events::<Inbox::Delivered>(&receipt).len(), 2);
    let limited = events::<Inbox::RateLimited>(&receipt);
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].id.0, items[2].0.id().0.0);
    assert_eq!(lane.status(&items[2].0).await, 0);
    let state = b.inbox.rateLimit(1).call().await.unwrap();
    assert_eq!((state.maxMessages, state.count), (2, 2));
    // Still limited in the same window; delivered in the next one.
    let receipt = lane.deliver(std::slice::from_ref(&items[2])).await;
    assert_eq!(events::<Inbox::RateLimited>(&receipt).len(), 1);
    advance_time(&b, 3600).await;
    lane.deliver(std::slice::from_ref(&items[2])).await;
    assert_eq!(lane.status(&items[2].0).await, 1);
    // 0, 0 removes the limit.
    mined!(b.inbox.setRateLimit(1, 0, 0));
    let more: Vec<_> = (3..8u8).map(|i| lane.push(to, &[i; 4])).collect();
    let receipt = lane.deliver(&more).await;
    assert_eq!(events::<Inbox::Delivered>(&receipt).len(), 5);
}

#[tokio::test]
async fn a_pause_and_a_rate_limit_survive_a_validator_set_change() {
    // Issue 9 item 5 keeps the lane's paused and rate-limited bits in the validator set's storage
    // slot (one cold read less per batch): installing a new set must keep them.
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    mined!(b.inbox.setRateLimit(1, 1, 3600));
    mined!(b.inbox.pause(1));
    let change = ValidatorSetChange {
        origin_chain_id: ORIGIN.chain_id,
        validators: lane.committee.addresses()[1..].to_vec(),
        threshold: 3,
        epoch: 2,
    };
    propose(&lane, &change, &[0, 1, 2]).await;
    advance_time(&b, DEVNET_CHANGE_DELAY).await;
    mined!(b.inbox.applyValidatorSetChange(1));
    lane.epoch = 2;
    assert!(b.inbox.paused(1).call().await.unwrap());
    let items: Vec<_> = (0..2u8).map(|i| lane.push(to, &[i; 4])).collect();
    let (messages, proofs, cp, _) = lane.batch_args(&items);
    let sigs = lane
        .committee
        .sign_with(&lane.checkpoint(), &lane.domain(), &[1, 2, 3]);
    let err = b
        .inbox
        .deliverBatch(messages.clone(), proofs.clone(), cp.clone(), sigs.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(inbox_error(&err), E::Paused(Inbox::Paused { origin: 1 }));
    // The new set lifts the pause (pause number 1); the rate limit still holds.
    let gov = lane.governance();
    mined!(
        b.inbox.unpause(
            1,
            lane.committee
                .sign_digest(gov.unpause_digest(1), &[1, 2, 3])
        )
    );
    let receipt = mined!(b.inbox.deliverBatch(messages, proofs, cp, sigs));
    assert_eq!(events::<Inbox::Delivered>(&receipt).len(), 1);
    assert_eq!(events::<Inbox::RateLimited>(&receipt).len(), 1);
}
