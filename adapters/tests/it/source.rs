//! `EvmSource` against anvil: exactly the Outbox's messages, with proofs that verify; look-alike
//! emitters ignored; finality by confirmations and by the `finalized` tag; reorganisations
//! before finality and below the cursor.

use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::anvil::{ReorgOptions, TransactionData};
use causeway_adapters::evm::{EvmSource, EvmSourceConfig, Finality};
use causeway_adapters::{Cursor, Error, NativeVerifier, Source};
use causeway_devnet::{CHAIN_A, DevChain};
use causeway_proofs::evm::EvmSourceProof;
use causeway_proofs::{Domain, Nonce};

use crate::support::{
    chain_with_look_alike, dispatch, dispatch_request, drain, head, mine, recipient, source,
};

const START: Cursor = Cursor::Start { height: 0 };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yields_exactly_the_outbox_messages_with_verifying_proofs_and_ignores_a_look_alike() {
    // T27: a second Outbox of the same domain emits the identical Dispatch event.
    let (chain, outbox, look_alike) = chain_with_look_alike().await;

    // Three transactions in one block (real, look-alike, real), then one more real.
    chain.provider.anvil_set_auto_mine(false).await.unwrap();
    let mut pending = Vec::new();
    for (to, body) in [
        (outbox, &b"zero"[..]),
        (look_alike, &b"forged"[..]),
        (outbox, &b"one"[..]),
    ] {
        let tx = chain
            .provider
            .send_transaction(dispatch_request(&chain, to, 2, recipient(7), body))
            .await
            .unwrap();
        pending.push(tx);
    }
    chain.provider.evm_mine(None).await.unwrap();
    chain.provider.anvil_set_auto_mine(true).await.unwrap();
    for tx in pending {
        assert!(tx.get_receipt().await.unwrap().status());
    }
    dispatch(&chain, outbox, 2, recipient(8), b"two").await;
    mine(&chain, 2).await;

    let src = source(&chain, outbox, Finality::Confirmations(2));
    let (messages, cursor) = drain(&src, START).await;
    let bodies: Vec<&[u8]> = messages.iter().map(|m| m.message.body()).collect();
    assert_eq!(bodies, vec![&b"zero"[..], b"one", b"two"]);
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m.message.nonce(), Nonce(i as u64));
        assert_eq!(m.message.origin(), Domain(1));
        assert_eq!(m.message.destination(), Domain(2));
        src.verifier().verify(m).unwrap();
        // The native proof is the proofs crate's EvmSourceProof, in its JSON form.
        EvmSourceProof::from_native_proof(&m.proof).unwrap();
        // What a store keeps re-verifies after a JSON round trip.
        let json = serde_json::to_string(m).unwrap();
        let back: causeway_adapters::ObservedMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, m);
        src.verifier().verify(&back).unwrap();
    }
    // The first two share a block; the look-alike's transaction sits between them.
    assert_eq!(
        messages[0].source.block_number,
        messages[1].source.block_number
    );
    assert!(messages[0].source.event_index < messages[1].source.event_index);
    assert!(matches!(cursor, Cursor::After { height, .. } if height == head(&chain).await - 2));

    // The look-alike's event, observed as if it were an Outbox, is refused by the verifier of
    // the real Outbox: the emitter is checked, the topic is never enough.
    let fake_src = source(&chain, look_alike, Finality::Confirmations(2));
    let (fakes, _) = drain(&fake_src, START).await;
    assert_eq!(fakes.len(), 1);
    assert_eq!(fakes[0].message.body(), b"forged");
    assert!(matches!(
        src.verifier().verify(&fakes[0]),
        Err(Error::ForeignEmitter { .. })
    ));

    // Tampering with a verified observation fails it.
    let mut tampered = messages[0].clone();
    tampered.message = messages[1].message.clone();
    assert!(matches!(
        src.verifier().verify(&tampered),
        Err(Error::InvalidNativeProof { .. })
    ));
    let mut moved = messages[0].clone();
    moved.source.block_hash = messages[2].source.block_hash;
    assert!(src.verifier().verify(&moved).is_err());
    let mut renumbered = messages[0].clone();
    renumbered.source.block_number = Some(0);
    assert!(src.verifier().verify(&renumbered).is_err());
    assert_eq!(src.counters().malformed_logs, 0);

    // A batch checked at once checks each block's header and shared trie nodes once: the
    // honest batch passes, and each forgery placed after honest messages of its block (whose
    // header and nodes are then held) is refused at its position, as it is on its own.
    src.verifier().verify_all(&messages).unwrap();
    for forged in [&tampered, &moved, &renumbered, &fakes[0]] {
        let mut batch = messages.clone();
        batch.insert(2, forged.clone());
        let (at, error) = src.verifier().verify_all(&batch).unwrap_err();
        assert_eq!(at, 2);
        assert_eq!(
            error.to_string(),
            src.verifier().verify(forged).unwrap_err().to_string()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_ranges_resume_exactly_from_the_cursor() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    for i in 0..4u8 {
        dispatch(&chain, outbox, 2, recipient(i), &[i]).await;
        if i > 0 {
            mine(&chain, u64::from(i)).await;
        }
    }
    let mut config = EvmSourceConfig::new(
        chain.node.endpoint(),
        chain.spec.domain,
        outbox,
        Finality::Confirmations(0),
    );
    config.initial_range = 1;
    config.max_range = 2;
    config.grow_after = 1;
    let src = EvmSource::new(config).unwrap();
    let mut cursor = START;
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        let batch = src.next_batch(&cursor).await.unwrap();
        calls += 1;
        seen.extend(batch.messages.iter().map(|m| m.message.nonce().0));
        if batch.caught_up() {
            break;
        }
        cursor = batch.cursor;
    }
    assert_eq!(seen, vec![0, 1, 2, 3], "each message once, in order");
    assert!(calls > 4, "many small ranges ({calls} calls)");
    assert!(src.range() <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_appear_only_after_the_confirmations() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    let src = source(&chain, outbox, Finality::Confirmations(3));
    let (none, cursor) = drain(&src, START).await;
    assert!(none.is_empty());

    let (_, block) = dispatch(&chain, outbox, 2, recipient(1), b"wait for it").await;
    let batch = src.next_batch(&cursor).await.unwrap();
    assert!(batch.messages.is_empty(), "0 confirmations");
    mine(&chain, 2).await;
    let batch = src.next_batch(&batch.cursor).await.unwrap();
    assert!(batch.messages.is_empty(), "2 confirmations");
    mine(&chain, 1).await;
    let batch = src.next_batch(&batch.cursor).await.unwrap();
    assert_eq!(batch.messages.len(), 1, "3 confirmations");
    assert_eq!(batch.messages[0].source.block_number, Some(block));
    assert_eq!(batch.final_height, block);
}

/// A chain final under the `finalized` tag still reports its head to the metrics (read at
/// most every 10 s by one `eth_blockNumber`): operators see the head and the lag on every
/// chain, not only on chains final by confirmations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalized_tag_chain_reports_its_head() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    mine(&chain, 3).await;
    let config = causeway_adapters::evm::EvmSourceConfig::new(
        chain.node.endpoint(),
        chain.spec.domain,
        outbox,
        Finality::FinalizedTag,
    );
    let metrics = config.rpc.metrics.clone();
    let src = causeway_adapters::evm::EvmSource::new(config).unwrap();
    assert_eq!(metrics.snapshot().head, None);
    src.final_height().await.unwrap();
    let head = metrics.snapshot().head.expect("the head was read");
    assert_eq!(head, crate::support::head(&chain).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_appear_only_below_the_finalized_tag() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    let src = source(&chain, outbox, Finality::FinalizedTag);
    let (_, mut cursor) = drain(&src, START).await;
    let (_, block) = dispatch(&chain, outbox, 2, recipient(1), b"finalized").await;
    let mut mined = 0;
    loop {
        let finalized = src.final_height().await.unwrap().unwrap_or(0);
        let batch = src.next_batch(&cursor).await.unwrap();
        if finalized < block {
            assert!(
                batch.messages.is_empty(),
                "not yielded before it is finalized"
            );
        } else {
            assert_eq!(batch.messages.len(), 1);
            assert_eq!(batch.messages[0].message.body(), b"finalized");
            break;
        }
        cursor = batch.cursor;
        mine(&chain, 1).await;
        mined += 1;
        assert!(mined <= 64, "anvil finalizes within a few blocks");
    }
    assert!(
        mined >= 1,
        "the block holding the message was not final when mined"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_before_finality_yields_only_the_replacement() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    let src = source(&chain, outbox, Finality::Confirmations(3));
    let (_, cursor) = drain(&src, START).await;

    let (_, block) = dispatch(&chain, outbox, 2, recipient(1), b"reorged out").await;
    let batch = src.next_batch(&cursor).await.unwrap();
    assert!(batch.messages.is_empty());
    // T36: the block holding the message is replaced by one holding another dispatch.
    let replacement = dispatch_request(&chain, outbox, 2, recipient(2), b"replacement");
    chain
        .provider
        .anvil_reorg(ReorgOptions {
            depth: 1,
            tx_block_pairs: vec![(TransactionData::JSON(replacement), 0)],
        })
        .await
        .unwrap();
    assert_eq!(head(&chain).await, block);
    mine(&chain, 3).await;
    let (messages, _) = drain(&src, batch.cursor).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message.body(), b"replacement");
    assert_eq!(
        messages[0].message.nonce(),
        Nonce(0),
        "the nonce was reused"
    );
    assert_eq!(messages[0].source.block_number, Some(block));
    src.verifier().verify(&messages[0]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_below_the_cursor_is_a_typed_error() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    let src = source(&chain, outbox, Finality::Confirmations(1));
    dispatch(&chain, outbox, 2, recipient(1), b"final").await;
    mine(&chain, 1).await;
    let (messages, cursor) = drain(&src, START).await;
    assert_eq!(messages.len(), 1);
    let Cursor::After {
        height,
        block_id: ref expected,
    } = cursor
    else {
        panic!("the cursor advanced");
    };
    // Deeper than the finality rule: the cursor's block itself is replaced.
    let other = dispatch_request(&chain, outbox, 2, recipient(2), b"rewritten history");
    chain
        .provider
        .anvil_reorg(ReorgOptions {
            depth: 3,
            tx_block_pairs: vec![(TransactionData::JSON(other), 0)],
        })
        .await
        .unwrap();
    match src.next_batch(&cursor).await {
        Err(e @ Error::ReorgBelowCursor { .. }) => {
            assert!(!e.is_retryable());
            let Error::ReorgBelowCursor {
                height: h,
                expected: exp,
                actual,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(h, height);
            assert_eq!(&exp, expected);
            assert_ne!(&actual, expected);
        }
        other => panic!("expected ReorgBelowCursor, got {other:?}"),
    }
}
