//! Deliveries that must succeed: an Outbox batch end to end, failed recipients and retries,
//! pausing, and the gas floor that stops relayer griefing.

use alloy::primitives::{Address, B256, Bytes};
use alloy::sol_types::{SolError, SolValue};
use causeway_devnet::contracts::{ExampleRecipient, Inbox, Outbox, deploy_example_recipient};
use causeway_devnet::fixtures::{address32, inbox_checkpoint, inbox_proof};
use causeway_devnet::{CHAIN_B, DevChain, Devnet};
use causeway_proofs::Message;

use crate::mined;
use crate::support::{Lane, dev, events, inbox_error};

fn id(m: &Message) -> B256 {
    B256::from(m.id().0.0)
}

#[tokio::test]
async fn a_signed_and_proven_batch_from_the_outbox_reaches_its_recipient() {
    let net = Devnet::start().await.unwrap();
    let sender = dev(&net.a, 4);
    let outbox = Outbox::new(*net.a.outbox.address(), net.a.node.provider(4));
    let recipient = *net.b.recipient.address();
    // Three messages sent on chain A, read back from the Dispatch events as a watcher would.
    let mut sent = Vec::new();
    for body in [b"first".as_slice(), b"", &[0x42; 300]] {
        let receipt = mined!(outbox.dispatch(
            net.b.spec.domain.0,
            address32(recipient).0.into(),
            Bytes::copy_from_slice(body)
        ));
        let ev = events::<Outbox::Dispatch>(&receipt).remove(0);
        sent.push(Message::decode(&ev.message).unwrap());
    }
    // A gateway appends them (after some other traffic) and a 3-of-5 committee signs.
    let mut lane = Lane::open(&net.b).await;
    lane.push(Address::repeat_byte(0x77), b"someone else's message");
    let items: Vec<_> = sent
        .iter()
        .map(|m| (m.clone(), lane.push_message(m.clone())))
        .collect();
    lane.push(Address::repeat_byte(0x77), b"a later message");
    // The Inbox recomputes exactly the digest causeway_proofs signs (docs/wire-format.md).
    let cp = lane.checkpoint();
    let on_chain = lane
        .inbox
        .checkpointDigest(inbox_checkpoint(&cp))
        .call()
        .await
        .unwrap();
    assert_eq!(on_chain.0, cp.signing_digest(&lane.domain()).0);
    let receipt = lane.deliver(&items).await;

    let delivered = events::<Inbox::Delivered>(&receipt);
    assert_eq!(delivered.len(), 3);
    for (ev, m) in delivered.iter().zip(&sent) {
        assert_eq!(ev.id, id(m));
        assert_eq!(ev.origin, 1);
        assert_eq!(ev.nonce, m.nonce().0);
        assert_eq!(lane.status(m).await, 1);
    }
    let handled = events::<ExampleRecipient::Handled>(&receipt);
    assert_eq!(handled.len(), 3);
    for (ev, m) in handled.iter().zip(&sent) {
        assert_eq!(ev.origin, 1);
        assert_eq!(ev.sender.0, address32(sender).0);
        assert_eq!(ev.body.as_ref(), m.body());
    }
    let r = &net.b.recipient;
    assert_eq!(
        r.handled().call().await.unwrap(),
        alloy::primitives::U256::from(3)
    );
    assert_eq!(r.lastOrigin().call().await.unwrap(), 1);
    assert_eq!(r.lastSender().call().await.unwrap().0, address32(sender).0);
    assert_eq!(r.lastBody().call().await.unwrap().as_ref(), &[0x42; 300]);

    // The single-message entry point delivers too.
    let (m, i) = lane.push(recipient, b"alone");
    let cp = lane.checkpoint();
    let receipt = mined!(lane.inbox.deliver(
        Bytes::from(m.encode()),
        inbox_proof(&lane.log.proof(i)),
        inbox_checkpoint(&cp),
        lane.sign(&cp)
    ));
    assert_eq!(events::<Inbox::Delivered>(&receipt).len(), 1);
    assert_eq!(r.lastBody().call().await.unwrap().as_ref(), b"alone");
}

#[tokio::test]
async fn a_reverting_recipient_fails_alone_and_can_be_retried() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let good = *b.recipient.address();
    let bad = deploy_example_recipient(&b.provider, *b.inbox.address())
        .await
        .unwrap();
    mined!(bad.setShouldRevert(true));
    let eoa = dev(&b, 6);
    let mut lane = Lane::open(&b).await;
    let g1 = lane.push(good, b"g1");
    let x = lane.push(*bad.address(), b"poison");
    let g2 = lane.push(good, b"g2");
    let e = lane.push(eoa, b"to an account without code");
    let receipt = lane
        .deliver(&[g1.clone(), x.clone(), g2.clone(), e.clone()])
        .await;

    // T40: the poison message fails alone, the others are delivered in order.
    let delivered: Vec<B256> = events::<Inbox::Delivered>(&receipt)
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(delivered, vec![id(&g1.0), id(&g2.0)]);
    let failed = events::<Inbox::DeliveryFailed>(&receipt);
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].id, id(&x.0));
    assert_eq!(failed[0].nonce, x.0.nonce().0);
    let reason = ExampleRecipient::Rejected::abi_decode(&failed[0].reason).unwrap();
    assert_eq!(reason.origin, 1);
    assert_eq!(failed[1].id, id(&e.0));
    assert_eq!(
        &failed[1].reason[..4],
        &[0x08, 0xc3, 0x79, 0xa0],
        "Error(string) selector"
    );
    assert_eq!(
        String::abi_decode(&failed[1].reason[4..]).unwrap(),
        "recipient has no code"
    );
    assert_eq!(lane.status(&g1.0).await, 1);
    assert_eq!(lane.status(&x.0).await, 2);
    assert_eq!(lane.status(&e.0).await, 2);
    assert_eq!(
        b.recipient.handled().call().await.unwrap(),
        alloy::primitives::U256::from(2)
    );

    // A failed message is not deliverable again through deliverBatch (the replay key is its id):
    // it is skipped with its status.
    let receipt = lane.deliver(std::slice::from_ref(&x)).await;
    let skipped = events::<Inbox::AlreadyDeliveredSkipped>(&receipt);
    assert_eq!((skipped[0].id, skipped[0].status), (id(&x.0), 2));
    assert!(events::<Inbox::DeliveryFailed>(&receipt).is_empty());
    // Retrying while the recipient still reverts records the failure again.
    let receipt = mined!(lane.inbox.retry(Bytes::from(x.0.encode())));
    assert_eq!(events::<Inbox::DeliveryFailed>(&receipt).len(), 1);
    assert_eq!(lane.status(&x.0).await, 2);
    // Only failed messages can be retried.
    let err = lane
        .inbox
        .retry(Bytes::from(g1.0.encode()))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        inbox_error(&err),
        Inbox::InboxErrors::NotFailed(Inbox::NotFailed { id: got }) if got == id(&g1.0)
    ));
    let (never, _) = lane.push(good, b"never delivered");
    let err = lane
        .inbox
        .retry(Bytes::from(never.encode()))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        inbox_error(&err),
        Inbox::InboxErrors::NotFailed(_)
    ));

    // Once the recipient accepts, a retry (by anyone) delivers exactly once.
    mined!(bad.setShouldRevert(false));
    let anyone = Inbox::new(*lane.inbox.address(), b.node.provider(8));
    let receipt = mined!(anyone.retry(Bytes::from(x.0.encode())));
    let delivered = events::<Inbox::Delivered>(&receipt);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].id, id(&x.0));
    assert_eq!(lane.status(&x.0).await, 1);
    assert_eq!(bad.lastBody().call().await.unwrap().as_ref(), b"poison");
    let err = anyone
        .retry(Bytes::from(x.0.encode()))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        inbox_error(&err),
        Inbox::InboxErrors::NotFailed(_)
    ));
}

#[tokio::test]
async fn a_relayer_cannot_make_a_recipient_fail_by_withholding_gas() {
    // T26: with too little gas the whole transaction reverts; the message is never recorded as
    // failed, and a later delivery with enough gas succeeds.
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let item = lane.push(*b.recipient.address(), b"gas");
    let (messages, proofs, cp, sigs) = lane.batch_args(std::slice::from_ref(&item));
    let call = lane
        .inbox
        .deliverBatch(messages, proofs, cp, sigs)
        .gas(300_000);
    let err = call.call().await.unwrap_err();
    match inbox_error(&err) {
        Inbox::InboxErrors::InsufficientGas(e) => {
            assert!(e.available < e.required, "{e:?}");
            assert!(e.required > alloy::primitives::U256::from(500_000u64));
        }
        other => panic!("expected InsufficientGas, got {other:?}"),
    }
    // Mined with that gas limit, the transaction reverts on chain.
    let receipt = call.send().await.unwrap().get_receipt().await.unwrap();
    assert!(!receipt.status());
    assert_eq!(lane.status(&item.0).await, 0);
    lane.deliver(std::slice::from_ref(&item)).await;
    assert_eq!(lane.status(&item.0).await, 1);
}

#[tokio::test]
async fn a_front_run_batch_delivers_the_rest() {
    // Issue 9 item 2: someone delivers one message of a pending batch first; the batch still
    // delivers the others and reports the front-run one as skipped (delivered by someone else).
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    let items: Vec<_> = (0..4u8).map(|i| lane.push(to, &[i; 8])).collect();
    // The front-runner: another account, the same signed checkpoint, one message.
    let (messages, proofs, cp, sigs) = lane.batch_args(&items[2..3]);
    let front = Inbox::new(*b.inbox.address(), b.node.provider(5));
    mined!(front.deliverBatch(messages, proofs, cp, sigs));
    assert_eq!(lane.status(&items[2].0).await, 1);

    let receipt = lane.deliver(&items).await;
    let delivered: Vec<B256> = events::<Inbox::Delivered>(&receipt)
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        delivered,
        vec![id(&items[0].0), id(&items[1].0), id(&items[3].0)]
    );
    let skipped = events::<Inbox::AlreadyDeliveredSkipped>(&receipt);
    assert_eq!(skipped.len(), 1);
    assert_eq!((skipped[0].id, skipped[0].status), (id(&items[2].0), 1));
    for item in &items {
        assert_eq!(lane.status(&item.0).await, 1);
    }
    assert_eq!(
        b.recipient.handled().call().await.unwrap(),
        alloy::primitives::U256::from(4)
    );
}

#[tokio::test]
async fn a_batch_with_a_forbidden_recipient_delivers_the_rest_and_records_the_refusal() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    let first = lane.push(to, b"before");
    let hostile = lane.push(*b.inbox.address(), b"call the inbox");
    let last = lane.push(to, b"after");
    let receipt = lane
        .deliver(&[first.clone(), hostile.clone(), last.clone()])
        .await;
    assert_eq!(events::<Inbox::Delivered>(&receipt).len(), 2);
    let refused = events::<Inbox::DeliveryRefused>(&receipt);
    assert_eq!(refused.len(), 1);
    assert_eq!(
        (refused[0].id, refused[0].origin, refused[0].nonce),
        (id(&hostile.0), 1, 1)
    );
    assert_eq!(refused[0].recipient, b.inbox.address().into_word());
    assert_eq!(lane.status(&first.0).await, 1);
    assert_eq!(lane.status(&hostile.0).await, 3);
    assert_eq!(lane.status(&last.0).await, 1);
    // Refused for good: retry cannot change it.
    let err = lane
        .inbox
        .retry(Bytes::from(hostile.0.encode()))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        inbox_error(&err),
        Inbox::InboxErrors::NotFailed(_)
    ));
}

#[tokio::test]
async fn a_keccak256_lane_delivers_every_leaf_and_keeps_its_own_root_record() {
    // Issue 9 item 5: a lane configured with `hash = "keccak256"` is verified on chain with the
    // KECCAK256 opcode. Every leaf of logs of several sizes (odd, power of two, one past it) is
    // delivered under the lane's Keccak-256 checkpoint, whose proofs must match Rust's byte for
    // byte; a SHA-256 checkpoint of the same log and size is not mistaken for equivocation.
    use causeway_proofs::HashAlgorithm;
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open_hashed(&b, HashAlgorithm::Keccak256).await;
    let to = *b.recipient.address();
    let mut delivered = 0u64;
    for grow_to in [1u64, 3, 8, 9, 21] {
        let mut items = Vec::new();
        while lane.log.size().0 < grow_to {
            items.push(lane.push(to, &lane.log.size().0.to_be_bytes()));
        }
        assert_eq!(lane.checkpoint().hash_algorithm(), HashAlgorithm::Keccak256);
        let receipt = lane.deliver(&items).await;
        delivered += items.len() as u64;
        assert_eq!(events::<Inbox::Delivered>(&receipt).len(), items.len());
        for (m, _) in &items {
            assert_eq!(lane.status(m).await, 1);
        }
    }
    assert_eq!(
        b.recipient.handled().call().await.unwrap(),
        alloy::primitives::U256::from(delivered)
    );
    let keccak_cp = lane.checkpoint();
    assert_eq!(
        b.inbox
            .acceptedRoot(lane.origin.0, 2, keccak_cp.size().0)
            .call()
            .await
            .unwrap()
            .0,
        keccak_cp.root().0
    );

    // The same messages in a SHA-256 log of the same size: another root, no conflict.
    let mut sha = causeway_devnet::fixtures::OriginLog::with_algorithm(HashAlgorithm::Sha256);
    for m in lane.log.messages() {
        sha.append(m.clone());
    }
    let sha_cp = sha.checkpoint(lane.origin);
    assert_eq!(sha_cp.size(), keccak_cp.size());
    assert_ne!(sha_cp.root(), keccak_cp.root());
    let last = lane.log.messages().last().unwrap().clone();
    let receipt = mined!(b.inbox.deliverBatch(
        vec![Bytes::from(last.encode())],
        vec![inbox_proof(
            &sha.proof(causeway_proofs::LeafIndex(keccak_cp.size().0 - 1))
        )],
        inbox_checkpoint(&sha_cp),
        lane.sign(&sha_cp),
    ));
    // Already delivered through the Keccak-256 lane: skipped, not a conflict.
    assert_eq!(events::<Inbox::AlreadyDeliveredSkipped>(&receipt).len(), 1);
    assert_eq!(
        b.inbox
            .acceptedRoot(lane.origin.0, 1, sha_cp.size().0)
            .call()
            .await
            .unwrap()
            .0,
        sha_cp.root().0
    );
    // A Keccak-256 proof under the SHA-256 checkpoint (and the reverse) does not verify.
    let fresh = lane.push(to, b"one more");
    sha.append(fresh.0.clone());
    let keccak_proof = inbox_proof(&lane.log.proof(fresh.1));
    let sha_cp = sha.checkpoint(lane.origin);
    let err = b
        .inbox
        .deliverBatch(
            vec![Bytes::from(fresh.0.encode())],
            vec![keccak_proof],
            inbox_checkpoint(&sha_cp),
            lane.sign(&sha_cp),
        )
        .send()
        .await
        .expect_err("a Keccak-256 proof never verifies against a SHA-256 root");
    assert_eq!(
        inbox_error(&err),
        Inbox::InboxErrors::InvalidProof(Inbox::InvalidProof {})
    );
    let err = b
        .inbox
        .deliverBatch(
            vec![Bytes::from(fresh.0.encode())],
            vec![inbox_proof(&sha.proof(fresh.1))],
            inbox_checkpoint(&lane.checkpoint()),
            lane.sign(&lane.checkpoint()),
        )
        .send()
        .await
        .expect_err("a SHA-256 proof never verifies against a Keccak-256 root");
    assert_eq!(
        inbox_error(&err),
        Inbox::InboxErrors::InvalidProof(Inbox::InvalidProof {})
    );
    lane.deliver(&[fresh]).await;
}

#[tokio::test]
async fn a_packed_batch_is_checked_like_an_abi_batch_and_refuses_bad_packing() {
    // Issue 9 item 5: `deliverPacked` carries the same batch in packed bytes. Its parser takes
    // untrusted bytes: every field cut short or left over reverts, and the signatures go
    // through the same checks in the same order as `deliverBatch`'s.
    use causeway_proofs::Signature;
    use causeway_proofs::attestation::testkit::malleate;
    type E = Inbox::InboxErrors;
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    let first: Vec<_> = (0..3u8).map(|i| lane.push(to, &[i; 40])).collect();
    let receipt = lane.deliver_packed(&first).await;
    assert_eq!(events::<Inbox::Delivered>(&receipt).len(), 3);
    for (m, _) in &first {
        assert_eq!(lane.status(m).await, 1);
    }

    let items: Vec<_> = (0..3u8).map(|i| lane.push(to, &[0x80 | i; 7])).collect();
    let (cp, sigs, packed) = lane.packed_args(&items);
    let refused = |sigs: Vec<u8>, packed: Vec<u8>| {
        let (inbox, cp) = (b.inbox.clone(), cp.clone());
        async move {
            let err = inbox
                .deliverPacked(cp, Bytes::from(sigs), Bytes::from(packed))
                .send()
                .await
                .expect_err("the packed batch must revert");
            inbox_error(&err)
        }
    };
    let invalid = E::InvalidProof(Inbox::InvalidProof {});
    let (sigs, packed) = (sigs.to_vec(), packed.to_vec());
    // The items cut short by one byte, or followed by one stray byte.
    assert_eq!(
        refused(sigs.clone(), packed[..packed.len() - 1].to_vec()).await,
        invalid
    );
    let mut longer = packed.clone();
    longer.push(0);
    assert_eq!(refused(sigs.clone(), longer).await, invalid);
    // The first item's path count or message length one too large (or a length past the end).
    let mut more_nodes = packed.clone();
    more_nodes[8] += 1;
    assert_eq!(refused(sigs.clone(), more_nodes).await, invalid);
    let n = usize::from(packed[8]);
    let len_at = 9 + 32 * n;
    let mut longer_message = packed.clone();
    longer_message[len_at + 3] += 1;
    assert_eq!(refused(sigs.clone(), longer_message).await, invalid);
    let mut huge = packed.clone();
    huge[len_at..len_at + 4].copy_from_slice(&[0xff; 4]);
    assert_eq!(refused(sigs.clone(), huge).await, invalid);
    // A flipped path bit is a bad proof.
    let mut flipped = packed.clone();
    flipped[9] ^= 1;
    assert_eq!(refused(sigs.clone(), flipped).await, invalid);

    // Signatures: a stray byte after the whole ones, one too few, out of order, high s.
    let mut stray = sigs.clone();
    stray.push(27);
    assert_eq!(
        refused(stray, packed.clone()).await,
        E::InvalidSignature(Inbox::InvalidSignature {
            position: alloy::primitives::U256::from(3)
        })
    );
    assert_eq!(
        refused(sigs[..130].to_vec(), packed.clone()).await,
        E::BelowThreshold(Inbox::BelowThreshold {
            valid: alloy::primitives::U256::from(2),
            threshold: alloy::primitives::U256::from(3)
        })
    );
    let mut swapped = sigs[65..130].to_vec();
    swapped.extend_from_slice(&sigs[..65]);
    swapped.extend_from_slice(&sigs[130..]);
    assert_eq!(
        refused(swapped, packed.clone()).await,
        E::SignersNotAscending(Inbox::SignersNotAscending {
            position: alloy::primitives::U256::from(1)
        })
    );
    let mut high_s = malleate(&Signature(sigs[..65].try_into().unwrap()))
        .0
        .to_vec();
    high_s.extend_from_slice(&sigs[65..]);
    assert_eq!(
        refused(high_s, packed.clone()).await,
        E::HighS(Inbox::HighS {
            position: alloy::primitives::U256::ZERO
        })
    );
    for (m, _) in &items {
        assert_eq!(
            lane.status(m).await,
            0,
            "nothing was recorded by a refused batch"
        );
    }

    // One of them front-run through deliverBatch: the packed batch skips it and delivers the rest.
    lane.deliver(&items[1..2]).await;
    let receipt = mined!(
        b.inbox
            .deliverPacked(cp, Bytes::from(sigs), Bytes::from(packed))
    );
    assert_eq!(events::<Inbox::Delivered>(&receipt).len(), 2);
    assert_eq!(events::<Inbox::AlreadyDeliveredSkipped>(&receipt).len(), 1);
    for (m, _) in &items {
        assert_eq!(lane.status(m).await, 1);
    }
    // An empty packed batch under a valid checkpoint delivers nothing and reverts nothing.
    let (cp, sigs, _) = lane.packed_args(&[]);
    let receipt = mined!(b.inbox.deliverPacked(cp, sigs, Bytes::new()));
    assert!(events::<Inbox::Delivered>(&receipt).is_empty());
}
