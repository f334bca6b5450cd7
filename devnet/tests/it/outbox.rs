//! The Outbox emits exactly the bytes `causeway_proofs::Message::encode` produces.

use alloy::primitives::{B256, Bytes};
use alloy::providers::ext::AnvilApi as _;
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

/// Two senders race for one nonce with `dispatchAt` (both transactions in one block): the first
/// mined lands at that nonce, the other reverts `NonceTaken` instead of sending its message under
/// the next nonce; read again and sent again, it lands once at the next. `dispatch` (no expected
/// nonce) still takes whatever nonce is next.
#[tokio::test]
async fn dispatch_at_lands_only_at_the_nonce_it_names() {
    let a = DevChain::start_with(CHAIN_A, causeway_devnet::anvil::Mining::Manual)
        .await
        .unwrap();
    let senders = [3usize, 4];
    let outboxes = senders.map(|i| Outbox::new(*a.outbox.address(), a.node.provider(i)));
    let recipient = B256::from([0xcd; 32]);
    let body = |i: usize| Bytes::from(format!("from sender {i}").into_bytes());
    let n = outboxes[0].nonce().call().await.unwrap();

    // Both sealed for nonce n; a fixed gas limit so both are sent (an estimate would already
    // see the other's pending dispatch).
    let mut pending = Vec::new();
    for (i, outbox) in outboxes.iter().enumerate() {
        pending.push(
            outbox
                .dispatchAt(n, CHAIN_B.domain.0, recipient, body(i))
                .gas(300_000)
                .send()
                .await
                .unwrap(),
        );
    }
    a.provider.evm_mine(None).await.unwrap();
    let mut receipts = Vec::new();
    for p in pending {
        receipts.push(p.get_receipt().await.unwrap());
    }
    assert_eq!(
        receipts[0].block_number, receipts[1].block_number,
        "one block"
    );
    let won: Vec<usize> = (0..2).filter(|&i| receipts[i].status()).collect();
    assert_eq!(won.len(), 1, "exactly one lands: {receipts:?}");
    let (winner, loser) = (won[0], 1 - won[0]);
    let landed = events::<Outbox::Dispatch>(&receipts[winner]);
    assert_eq!(landed.len(), 1);
    assert_eq!(landed[0].nonce, n);
    assert_eq!(
        Message::decode(&landed[0].message).unwrap().sender(),
        address32(dev(&a, senders[winner]))
    );
    assert!(events::<Outbox::Dispatch>(&receipts[loser]).is_empty());
    assert_eq!(outboxes[0].nonce().call().await.unwrap(), n + 1);

    // The loser is told why: its nonce was taken, and which one is next.
    let err = outboxes[loser]
        .dispatchAt(n, CHAIN_B.domain.0, recipient, body(loser))
        .call()
        .await
        .unwrap_err();
    assert_eq!(
        decode_revert::<Outbox::OutboxErrors>(&err),
        Outbox::OutboxErrors::NonceTaken(Outbox::NonceTaken {
            expected: n,
            actual: n + 1
        })
    );
    // Read again, sealed again: it lands once, at n + 1.
    let again = outboxes[loser]
        .dispatchAt(n + 1, CHAIN_B.domain.0, recipient, body(loser))
        .gas(300_000)
        .send()
        .await
        .unwrap();
    a.provider.evm_mine(None).await.unwrap();
    let receipt = again.get_receipt().await.unwrap();
    assert!(receipt.status());
    let second = events::<Outbox::Dispatch>(&receipt);
    assert_eq!(second[0].nonce, n + 1);
    let message = Message::decode(&second[0].message).unwrap();
    assert_eq!(message.sender(), address32(dev(&a, senders[loser])));
    assert_eq!(message.body(), &body(loser)[..]);

    // The entry point without an expected nonce is unchanged.
    let plain = outboxes[0]
        .dispatch(CHAIN_B.domain.0, recipient, Bytes::from_static(b"plain"))
        .gas(300_000)
        .send()
        .await
        .unwrap();
    a.provider.evm_mine(None).await.unwrap();
    let receipt = plain.get_receipt().await.unwrap();
    assert_eq!(events::<Outbox::Dispatch>(&receipt)[0].nonce, n + 2);
}
