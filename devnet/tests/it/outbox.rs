//! The Outbox emits exactly the bytes `causeway_proofs::Message::encode` produces.

use alloy::primitives::{B256, Bytes};
use causeway_devnet::contracts::Outbox;
use causeway_devnet::fixtures::address32;
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use causeway_proofs::{Address32, Message, Nonce};

use crate::mined;
use crate::support::{decode_revert, dev, events};

#[tokio::test]
async fn dispatch_emits_the_canonical_message_and_its_id() {
    let a = DevChain::start(CHAIN_A).await.unwrap();
    // Send from a dev account other than the deployer, so the sender field is really msg.sender.
    let sender = dev(&a, 3);
    let outbox = Outbox::new(*a.outbox.address(), a.node.provider(3));
    let recipient = Address32([0xcd; 32]);
    let bodies: [Vec<u8>; 4] = [vec![], b"hello".to_vec(), vec![0xab; 1000], vec![7; 65_536]];
    for (i, body) in bodies.iter().enumerate() {
        let call = outbox.dispatch(
            CHAIN_B.domain.0,
            B256::from(recipient.0),
            Bytes::from(body.clone()),
        );
        let returned = call.call().await.unwrap();
        let receipt = mined!(call);
        let expected = Message::new(
            Nonce(i as u64),
            CHAIN_A.domain,
            address32(sender),
            CHAIN_B.domain,
            recipient,
            body.clone(),
        )
        .unwrap();
        let dispatched = events::<Outbox::Dispatch>(&receipt);
        assert_eq!(dispatched.len(), 1);
        let ev = &dispatched[0];
        assert_eq!(
            ev.message.as_ref(),
            expected.encode().as_slice(),
            "message {i}"
        );
        assert_eq!(ev.id.0, expected.id().0.0, "id {i}");
        assert_eq!(returned, ev.id, "dispatch returns the id it emits");
        assert_eq!(ev.nonce, i as u64);
        assert_eq!(ev.destination, CHAIN_B.domain.0);
        assert_eq!(Message::decode(&ev.message).unwrap(), expected);
    }
    assert_eq!(outbox.nonce().call().await.unwrap(), 4);
    assert_eq!(outbox.localDomain().call().await.unwrap(), CHAIN_A.domain.0);

    // T39: a body over 64 KiB is refused at the source.
    let err = outbox
        .dispatch(CHAIN_B.domain.0, B256::ZERO, Bytes::from(vec![0u8; 65_537]))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        decode_revert::<Outbox::OutboxErrors>(&err),
        Outbox::OutboxErrors::BodyTooLarge(_)
    ));
    assert_eq!(outbox.nonce().call().await.unwrap(), 4, "nothing was sent");
}
