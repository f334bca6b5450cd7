//! The example `PrivateRecipient` contract on anvil against the gateway's private message body
//! (issue 12): a message whose disclosed field proves against its commitment is accepted once;
//! a tampered disclosure, another field, another sender's context or a replay is refused. The
//! same tampered body fails `causeway verify --disclosure` offline.

use alloy::primitives::{B256, Bytes};
use causeway_devnet::contracts::deploy_private_recipient;
use causeway_devnet::{CHAIN_B, DevChain};
use causeway_gateway::private::Directory;
use causeway_gateway::private::body;
use causeway_gateway::private::dispatch::seal;
use causeway_privacy::KeyPair;
use causeway_privacy::envelope::EnvelopeContext;
use causeway_proofs::message::{Address32, Nonce};
use causeway_proofs::{Domain, Message};

use crate::support::{causeway, text};

fn directory() -> Directory {
    let own = KeyPair::generate();
    let other = KeyPair::generate();
    let members = [
        ("org1".to_owned(), *own.public_key()),
        ("org2".to_owned(), *other.public_key()),
    ]
    .into();
    Directory::new("org1".into(), own, members, Default::default())
}

/// The private body of a message from `sender` with `{"amount": 125, "ssn": "123-45-6789"}`,
/// disclosing `amount`; and the message.
fn private_message(sender: Address32, destination: Domain) -> (Vec<u8>, Message) {
    let context = EnvelopeContext {
        origin: Domain(77),
        destination,
        nonce: Nonce(3),
        sender,
    };
    let (body, _) = seal(
        &directory(),
        context,
        br#"{"amount": 125, "ssn": "123-45-6789"}"#,
        &["org1".to_owned(), "org2".to_owned()],
        &["amount".to_owned()],
    )
    .expect("seals");
    let message = Message::new(
        context.nonce,
        context.origin,
        sender,
        destination,
        Address32([0; 32]),
        body.clone(),
    )
    .expect("a message");
    (body, message)
}

#[tokio::test]
async fn the_example_recipient_accepts_only_a_field_that_proves_against_the_commitment() {
    let chain = DevChain::start(CHAIN_B).await.unwrap();
    // The test's admin account plays the Inbox, so it can call `handle` directly.
    let recipient =
        deploy_private_recipient(&chain.provider, chain.admin, CHAIN_B.domain.0, "amount")
            .await
            .unwrap();
    let sender = Address32([0x5e; 32]);
    let (good, message) = private_message(sender, CHAIN_B.domain);
    // Nothing of the undisclosed field is in the body.
    assert!(!good.windows(11).any(|w| w == b"123-45-6789"));
    let decoded = body::decode(&message).expect("decodes against its own message");
    assert_eq!(decoded.envelope.recipients.len(), 2);

    let handle = |origin: u32, sender: Address32, b: Vec<u8>| {
        recipient.handle(origin, B256::from(sender.0), Bytes::from(b))
    };
    // Tampered: the disclosed value 125 becomes 999 (same length, so only the proof fails).
    let at = good
        .windows(3)
        .position(|w| w == b"125")
        .expect("the value is in the body");
    let mut tampered = good.clone();
    tampered[at..at + 3].copy_from_slice(b"999");
    assert!(handle(77, sender, tampered.clone()).call().await.is_err());
    // The right body, but claimed by another sender: not this message's commitment.
    assert!(
        handle(77, Address32([0x11; 32]), good.clone())
            .call()
            .await
            .is_err()
    );
    // A public body.
    assert!(handle(77, sender, b"hello".to_vec()).call().await.is_err());

    let receipt = handle(77, sender, good.clone())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(
        recipient.accepted().call().await.unwrap(),
        alloy::primitives::U256::from(1)
    );
    assert_eq!(
        recipient.lastValue().call().await.unwrap(),
        Bytes::from_static(b"125")
    );
    // Accepted once.
    assert!(handle(77, sender, good.clone()).call().await.is_err());

    // A recipient that wants another field refuses it.
    let other = deploy_private_recipient(&chain.provider, chain.admin, CHAIN_B.domain.0, "ssn")
        .await
        .unwrap();
    assert!(
        other
            .handle(77, B256::from(sender.0), Bytes::from(good.clone()))
            .call()
            .await
            .is_err()
    );

    // Offline: `causeway verify --disclosure` takes the message; the tampered one fails.
    let dir = tempfile::tempdir().unwrap();
    let ok_file = dir.path().join("ok.hex");
    std::fs::write(&ok_file, format!("0x{}", hex::encode(message.encode()))).unwrap();
    let out = causeway(&["verify", "--disclosure", ok_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("amount = 125"), "{}", text(&out));
    let bad = Message::new(
        message.nonce(),
        message.origin(),
        message.sender(),
        message.destination(),
        message.recipient(),
        tampered,
    )
    .unwrap();
    let bad_file = dir.path().join("bad.hex");
    std::fs::write(&bad_file, format!("0x{}", hex::encode(bad.encode()))).unwrap();
    let out = causeway(&["verify", "--disclosure", bad_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
