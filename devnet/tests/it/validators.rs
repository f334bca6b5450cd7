//! Validator sets: only the admin changes them, unsafe sets are refused, and rotating a set
//! (new epoch) stops the old signatures and removed members from counting (T02, T03, T07,
//! T10d, T12).

use alloy::primitives::Address;
use causeway_devnet::contracts::Inbox;
use causeway_devnet::fixtures::Committee;
use causeway_devnet::{CHAIN_B, DevChain};

use crate::mined;
use crate::support::{Lane, ORIGIN, events, inbox_error};

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
    let receipt = mined!(
        b.inbox
            .setValidators(1, ORIGIN.chain_id, remaining.clone(), 3)
    );
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
