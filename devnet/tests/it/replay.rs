//! T13: a delivery replayed on another chain (an Inbox at the same address, same domain and
//! validators, only the chain id differs) or on another Inbox instance does not verify, because
//! the Inbox reads `block.chainid` and `address(this)` at run time.

use causeway_devnet::contracts::{Inbox, deploy_example_recipient, deploy_inbox};
use causeway_devnet::fixtures::Committee;
use causeway_devnet::{CHAIN_B, Devnet, Domain};

use crate::mined;
use crate::support::{Lane, ORIGIN, dev, inbox_error};

#[tokio::test]
async fn a_delivery_cannot_be_replayed_on_another_chain_or_inbox() {
    let net = Devnet::start().await.unwrap();
    // Dev account 7 deploys on both chains at nonce 0 and 1: same addresses everywhere.
    let deployer = dev(&net.a, 7);
    let (pa, pb) = (net.a.node.provider(7), net.b.node.provider(7));
    let inbox_a = deploy_inbox(&pa, Domain(2), deployer).await.unwrap();
    let inbox_b = deploy_inbox(&pb, Domain(2), deployer).await.unwrap();
    assert_eq!(inbox_a.address(), inbox_b.address());
    let rec_a = deploy_example_recipient(&pa, *inbox_a.address())
        .await
        .unwrap();
    let rec_b = deploy_example_recipient(&pb, *inbox_b.address())
        .await
        .unwrap();
    assert_eq!(rec_a.address(), rec_b.address());

    let mut lane = Lane::open_on(
        inbox_b.clone(),
        CHAIN_B,
        ORIGIN.domain,
        Committee::new("t13", 5, 3),
    )
    .await;
    mined!(inbox_a.setValidators(
        ORIGIN.domain.0,
        ORIGIN.chain_id,
        lane.committee.addresses(),
        3
    ));
    let item = lane.push(*rec_b.address(), b"replay me");
    let (messages, proofs, cp, sigs) = lane.batch_args(std::slice::from_ref(&item));
    mined!(inbox_b.deliverBatch(messages.clone(), proofs.clone(), cp.clone(), sigs.clone()));

    // The identical calldata on chain 31337: the digest names 31338, so the signatures recover
    // to strangers.
    let members = lane.committee.addresses();
    let err = inbox_a
        .deliverBatch(messages.clone(), proofs.clone(), cp.clone(), sigs.clone())
        .send()
        .await
        .unwrap_err();
    match inbox_error(&err) {
        Inbox::InboxErrors::UnknownValidator(u) => assert!(!members.contains(&u.signer)),
        other => panic!("expected UnknownValidator, got {other:?}"),
    }
    let id = alloy::primitives::B256::from(item.0.id().0.0);
    assert_eq!(inbox_a.status(id).call().await.unwrap(), 0);
    assert_eq!(
        rec_a.handled().call().await.unwrap(),
        alloy::primitives::U256::ZERO
    );

    // A second Inbox on the same chain (another address, same domain and validators).
    let second = deploy_inbox(&pb, Domain(2), deployer).await.unwrap();
    mined!(second.setValidators(ORIGIN.domain.0, ORIGIN.chain_id, members.clone(), 3));
    let err = second
        .deliverBatch(messages, proofs, cp, sigs)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        inbox_error(&err),
        Inbox::InboxErrors::UnknownValidator(_)
    ));

    // The original delivery is unaffected.
    assert_eq!(inbox_b.status(id).call().await.unwrap(), 1);
    assert_eq!(
        rec_b.handled().call().await.unwrap(),
        alloy::primitives::U256::from(1)
    );
}
