//! The source's verification of a run of blocks, offline: hash chain from the cursor, the
//! verified prefix before a bad block, what is ignored and counted, and the same answer on one
//! thread or several.

#![allow(clippy::unwrap_used)]

use std::time::SystemTime;

use super::nonces;
use super::verify::{Verified, verify_blocks};
use crate::Error;
use crate::chain::{BlockId, Cursor};
use crate::fabric::proto::common::Block;
use crate::fabric::{FabricBlock, HeaderHash, SigningIdentity, ValidationCode};
use causeway_proofs::fabric::testkit::{DOMAIN, Net, block, message};
use causeway_proofs::fabric::{Checker, FabricSourceProof};

/// A chain of `n` blocks from number 1 after `genesis`, block i holding dispatches
/// 10*i .. 10*i + 2 (the second of each marked invalid when `with_invalid`).
fn chain(net: &Net, genesis: HeaderHash, n: u64, with_invalid: bool) -> Vec<FabricBlock> {
    let mut out: Vec<FabricBlock> = Vec::new();
    let mut previous = genesis;
    for i in 1..=n {
        let mut txs = vec![net.dispatch(10 * i), net.dispatch(10 * i + 1)];
        if with_invalid {
            txs[1].code = ValidationCode(11); // MVCC_READ_CONFLICT
        }
        let b = block(i, Some(previous), &txs, &net.orderer);
        previous = b.header_hash();
        out.push(b);
    }
    out
}

fn after(height: u64, hash: HeaderHash) -> Cursor {
    Cursor::After {
        height,
        block_id: BlockId::from(hash.0),
    }
}

fn run(net: &Net, cursor: &Cursor, blocks: Vec<FabricBlock>, workers: usize) -> Verified {
    let checker = Checker::new(net.config(), DOMAIN);
    verify_blocks(
        &checker,
        "https://peer",
        cursor,
        blocks,
        workers,
        SystemTime::now(),
    )
}

/// [`run`] from the start of the ledger, on two workers.
fn run_from_start(net: &Net, blocks: Vec<FabricBlock>) -> Verified {
    run(net, &Cursor::Start { height: 0 }, blocks, 2)
}

/// `b` without its orderer signature.
fn unsigned(b: FabricBlock) -> FabricBlock {
    let mut raw: Block = b.block().clone();
    raw.metadata.as_mut().unwrap().metadata[0] = vec![];
    FabricBlock::new(raw).unwrap()
}

/// A block 0 holding one transaction whose event is named `event` (no dispatch).
fn genesis_with_event(net: &Net, event: &str) -> FabricBlock {
    let mut config_tx = net.dispatch(0);
    config_tx.event_name = event.into();
    block(0, None, &[config_tx], &net.orderer)
}

/// Block 1 after `genesis`, holding dispatch 10, signed by `signer`.
fn dispatch_10_after(net: &Net, genesis: &FabricBlock, signer: &SigningIdentity) -> FabricBlock {
    block(1, Some(genesis.header_hash()), &[net.dispatch(10)], signer)
}

fn nonces(v: &Verified) -> Vec<u64> {
    v.blocks
        .iter()
        .flat_map(|(_, found)| found.iter().map(|f| f.message.nonce().0))
        .collect()
}

fn refused(v: &Verified) -> (u64, String) {
    match &v.error {
        Some(Error::InvalidBlock { number, reason, .. }) => (*number, reason.clone()),
        other => panic!("expected a refused block, got {other:?}"),
    }
}

#[test]
fn every_dispatch_of_valid_transactions_in_order_on_any_number_of_workers() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    let blocks = chain(&net, genesis, 6, true);
    let one = run(&net, &after(0, genesis), blocks.clone(), 1);
    let four = run(&net, &after(0, genesis), blocks, 4);
    assert!(one.error.is_none() && four.error.is_none());
    assert_eq!(nonces(&one), vec![10, 20, 30, 40, 50, 60]);
    assert_eq!(nonces(&one), nonces(&four));
    assert_eq!(one.ignored.invalid_tx_events, 6);
    assert_eq!(four.ignored, one.ignored);
    // Each found message points at its transaction, and the native verifier accepts it.
    let (b, found) = &one.blocks[2];
    assert_eq!(found[0].tx_index, 0);
    assert_eq!(found[0].message, message(30));
    let proof = FabricSourceProof {
        block: b.clone(),
        tx_index: 0,
    };
    let decoded = FabricSourceProof::from_native_proof(&proof.to_native_proof()).unwrap();
    assert_eq!(decoded.block.header_hash(), b.header_hash());
}

#[test]
fn a_start_cursor_takes_the_first_block_as_it_is() {
    let net = Net::new();
    let blocks = chain(&net, HeaderHash([1; 32]), 2, false);
    let v = run(&net, &Cursor::Start { height: 1 }, blocks, 2);
    assert!(v.error.is_none());
    assert_eq!(nonces(&v), vec![10, 11, 20, 21]);
}

#[test]
fn a_block_that_does_not_link_to_the_cursor_is_refused() {
    let net = Net::new();
    let blocks = chain(&net, HeaderHash([7; 32]), 3, false);
    let v = run(&net, &after(0, HeaderHash([8; 32])), blocks.clone(), 2);
    assert!(v.blocks.is_empty());
    let (number, reason) = refused(&v);
    assert_eq!(number, 1);
    assert!(
        reason.contains("previous_hash 0707")
            && reason.contains("is not the previous header hash 0808"),
        "{reason}"
    );
    // A cursor at another height.
    let v = run(&net, &after(5, HeaderHash([7; 32])), blocks, 2);
    assert!(refused(&v).1.contains("block 1 does not follow block 5"));
}

#[test]
fn a_broken_link_inside_the_run_keeps_the_blocks_before_it() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    let mut blocks = chain(&net, genesis, 4, false);
    // Block 3 re-made (validly signed) with a wrong previous hash.
    blocks[2] = block(
        3,
        Some(HeaderHash([0xaa; 32])),
        &[net.dispatch(30)],
        &net.orderer,
    );
    let v = run(&net, &after(0, genesis), blocks, 3);
    assert_eq!(nonces(&v), vec![10, 11, 20, 21]);
    let (number, reason) = refused(&v);
    assert_eq!(number, 3);
    assert!(reason.contains("previous_hash aaaa"), "{reason}");
}

#[test]
fn a_tampered_or_unsigned_block_stops_the_run_there() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    let mut blocks = chain(&net, genesis, 4, false);
    let mut raw: Block = blocks[1].block().clone();
    raw.data.as_mut().unwrap().data[0] = net.dispatch(99).envelope();
    blocks[1] = FabricBlock::new(raw).unwrap();
    let v = run(&net, &after(0, genesis), blocks, 2);
    assert_eq!(nonces(&v), vec![10, 11]);
    let (number, reason) = refused(&v);
    assert_eq!(number, 2);
    assert!(reason.contains("data_hash"), "{reason}");

    // Signed by someone who is not an orderer.
    let mut blocks = chain(&net, genesis, 2, false);
    blocks[0] = block(1, Some(genesis), &[net.dispatch(10)], &net.peer1);
    let v = run(&net, &after(0, genesis), blocks, 2);
    assert!(v.blocks.is_empty());
    assert!(refused(&v).1.contains("valid orderer signature"));
}

#[test]
fn a_valid_marked_transaction_with_bad_endorsements_is_refused() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    let org3_peer = net.org3.member();
    let mut blocks = chain(&net, genesis, 1, false);
    let mut spec = net.dispatch(20);
    spec.endorsers = vec![&net.peer1, &org3_peer];
    blocks.push(block(
        2,
        Some(blocks[0].header_hash()),
        &[spec],
        &net.orderer,
    ));
    let v = run(&net, &after(0, genesis), blocks, 2);
    assert_eq!(nonces(&v), vec![10, 11]);
    let (number, reason) = refused(&v);
    assert_eq!(number, 2);
    assert!(
        reason.contains("not satisfied") && reason.contains("Org3MSP"),
        "{reason}"
    );
}

#[test]
fn look_alikes_invalid_and_malformed_events_are_ignored_and_counted() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    let mut copycat = net.dispatch(1);
    copycat.chaincode = "copycat".into();
    copycat.event_chaincode = "copycat".into();
    let mut invalid = net.dispatch(2);
    invalid.code = ValidationCode(10);
    let mut malformed = net.dispatch(3);
    malformed.payload = b"garbage".to_vec();
    let mut other_event = net.dispatch(4);
    other_event.event_name = "SomethingElse".into();
    let txs = [copycat, invalid, malformed, other_event, net.dispatch(5)];
    let b = block(1, Some(genesis), &txs, &net.orderer);
    // An invalid transaction whose bytes are garbage is ignored too.
    let mut raw: Block = b.block().clone();
    let data = raw.data.as_mut().unwrap();
    data.data.push(b"\xff\xffnot an envelope".to_vec());
    raw.metadata.as_mut().unwrap().metadata[2].push(1);
    let header = raw.header.as_mut().unwrap();
    header.data_hash = crate::fabric::data_hash(raw.data.as_ref().unwrap()).to_vec();
    let header = raw.header.clone().unwrap();
    raw.metadata.as_mut().unwrap().metadata[0] = prost::Message::encode_to_vec(
        &causeway_proofs::fabric::testkit::orderer_signatures(&header, &net.orderer),
    );
    let b = FabricBlock::new(raw).unwrap();
    let v = run(&net, &after(0, genesis), vec![b], 2);
    assert!(v.error.is_none(), "{:?}", v.error);
    assert_eq!(nonces(&v), vec![5]);
    assert_eq!(v.blocks[0].1[0].tx_index, 4);
    assert_eq!(
        (
            v.ignored.foreign_events,
            v.ignored.invalid_tx_events,
            v.ignored.malformed_events
        ),
        (1, 1, 1)
    );
}

#[test]
fn an_unsigned_genesis_block_is_taken_but_never_for_a_message() {
    let net = Net::new();
    // A genesis block without messages (as configtxgen makes it: no orderer signature).
    let genesis = unsigned(genesis_with_event(&net, "not a dispatch"));
    let next = dispatch_10_after(&net, &genesis, &net.orderer);
    let v = run_from_start(&net, vec![genesis.clone(), next]);
    assert!(v.error.is_none(), "{:?}", v.error);
    assert_eq!(nonces(&v), vec![10]);
    // A block 0 that claims a message needs its signature like any other.
    let claimed = unsigned(block(0, None, &[net.dispatch(1)], &net.orderer));
    let v = run_from_start(&net, vec![claimed]);
    assert!(v.blocks.is_empty());
    assert!(refused(&v).1.contains("0 valid orderer signature(s) of 0"));
    // Its data hash is still checked.
    let mut raw: Block = genesis.block().clone();
    raw.data.as_mut().unwrap().data[0] = b"tampered".to_vec();
    let v = run_from_start(&net, vec![FabricBlock::new(raw).unwrap()]);
    assert!(refused(&v).1.contains("data_hash"));
}

#[test]
fn a_transaction_twice_in_a_block_as_valid_is_refused() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    let b = block(
        1,
        Some(genesis),
        &[net.dispatch(5), net.dispatch(5)],
        &net.orderer,
    );
    let v = run(&net, &after(0, genesis), vec![b], 2);
    assert!(v.blocks.is_empty());
    assert!(refused(&v).1.contains("appears twice marked VALID"));
}

#[test]
fn a_batch_never_ends_on_an_unsigned_genesis_block() {
    let net = Net::new();
    let genesis = unsigned(genesis_with_event(&net, "not a dispatch"));
    // Block 0 alone: nothing is taken, nothing is wrong; the cursor stays at the start.
    let v = run_from_start(&net, vec![genesis.clone()]);
    assert!(v.error.is_none(), "{:?}", v.error);
    assert!(v.blocks.is_empty());
    // A forged genesis: block 1 (signed) does not link to it, so neither is taken.
    let forged = unsigned(genesis_with_event(&net, "forged"));
    let next = dispatch_10_after(&net, &genesis, &net.orderer);
    let v = run_from_start(&net, vec![forged, next.clone()]);
    assert!(v.blocks.is_empty());
    let (number, reason) = refused(&v);
    assert_eq!(
        (number, reason.contains("previous_hash")),
        (1, true),
        "{reason}"
    );
    // Block 1 not signed by an orderer: block 0 is not taken alone either.
    let by_peer = dispatch_10_after(&net, &genesis, &net.peer1);
    let v = run_from_start(&net, vec![genesis.clone(), by_peer]);
    assert!(v.blocks.is_empty());
    assert_eq!(refused(&v).0, 1);
    // With its signed successor, both are taken.
    let v = run_from_start(&net, vec![genesis, next]);
    assert!(v.error.is_none(), "{:?}", v.error);
    assert_eq!(v.blocks.len(), 2);
    // A genesis block that is signed stands on its own.
    let signed = genesis_with_event(&net, "not a dispatch");
    let v = run_from_start(&net, vec![signed]);
    assert_eq!(v.blocks.len(), 1);
}

#[test]
fn a_client_certificate_endorsement_stops_the_run() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    let client2 = net.org2.role("client");
    let mut spec = net.dispatch(10);
    spec.endorsers = vec![&net.peer1, &client2];
    let b = block(1, Some(genesis), &[spec], &net.orderer);
    let v = run(&net, &after(0, genesis), vec![b], 2);
    assert!(v.blocks.is_empty());
    let (number, reason) = refused(&v);
    assert_eq!(number, 1);
    assert!(reason.contains("does not have the peer role"), "{reason}");
}

/// Dispatch `nonce` carrying another message than [`message`]`(nonce)` under another
/// transaction id: the losing twin of an MVCC conflict, as a peer that relabels it VALID
/// would serve it.
fn twin(net: &Net, nonce: u64) -> causeway_proofs::fabric::testkit::TxSpec<'_> {
    let mut spec = net.dispatch(nonce);
    spec.payload = causeway_proofs::Message::new(
        causeway_proofs::Nonce(nonce),
        DOMAIN,
        causeway_proofs::Address32([1; 32]),
        causeway_proofs::Domain(1),
        causeway_proofs::Address32([2; 32]),
        b"the other message".to_vec(),
    )
    .unwrap()
    .encode();
    spec.nonce = vec![0xee; 24];
    spec
}

/// Blocks 1.. after `genesis`, block i holding the dispatches `txs[i - 1]`.
fn blocks_of(
    genesis: HeaderHash,
    txs: Vec<Vec<causeway_proofs::fabric::testkit::TxSpec<'_>>>,
    net: &Net,
) -> Vec<FabricBlock> {
    let mut previous = genesis;
    let mut out = Vec::new();
    for (i, txs) in txs.into_iter().enumerate() {
        let b = block(i as u64 + 1, Some(previous), &txs, &net.orderer);
        previous = b.header_hash();
        out.push(b);
    }
    out
}

#[test]
fn a_relabelled_twin_is_refused_as_equivocation_and_its_block_yields_nothing() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    // The twin of nonce 1 in the next block: blocks 1 is yielded, block 2 not.
    let blocks = blocks_of(
        genesis,
        vec![
            vec![net.dispatch(0), net.dispatch(1)],
            vec![net.dispatch(2), twin(&net, 1)],
        ],
        &net,
    );
    let mut v = run(&net, &after(0, genesis), blocks, 2);
    assert!(v.error.is_none(), "every block verifies on its own");
    let next = nonces::check(Some(0), &mut v, "https://peer");
    assert_eq!(nonces(&v), vec![0, 1]);
    assert_eq!(next, Some(2));
    let (number, reason) = refused(&v);
    assert_eq!(number, 2);
    assert!(
        reason.starts_with("equivocation")
            && reason.contains("under outbox nonce 1, which VALID transaction")
            && reason.contains("relabelled"),
        "{reason}"
    );

    // The twin in the same block as the original: the block yields nothing at all.
    let blocks = blocks_of(genesis, vec![vec![net.dispatch(0), twin(&net, 0)]], &net);
    let mut v = run(&net, &after(0, genesis), blocks, 2);
    assert_eq!(nonces::check(Some(0), &mut v, "https://peer"), Some(0));
    assert!(v.blocks.is_empty());
    assert!(refused(&v).1.starts_with("equivocation"));

    // The twin after the original was yielded in an earlier batch.
    let blocks = blocks_of(genesis, vec![vec![twin(&net, 1)]], &net);
    let mut v = run(&net, &after(0, genesis), blocks, 2);
    nonces::check(Some(2), &mut v, "https://peer");
    assert!(v.blocks.is_empty());
    let reason = refused(&v).1;
    assert!(
        reason.contains("messages up to nonce 1 were already read"),
        "{reason}"
    );
}

#[test]
fn a_nonce_gap_is_refused_and_consecutive_nonces_pass() {
    let net = Net::new();
    let genesis = HeaderHash([7; 32]);
    // Nonce 1 hidden (its transaction marked invalid by the peer).
    let mut hidden = net.dispatch(1);
    hidden.code = ValidationCode(11);
    let blocks = blocks_of(
        genesis,
        vec![vec![net.dispatch(0)], vec![hidden, net.dispatch(2)]],
        &net,
    );
    let mut v = run(&net, &after(0, genesis), blocks.clone(), 2);
    assert_eq!(nonces::check(Some(0), &mut v, "https://peer"), Some(1));
    assert_eq!(nonces(&v), vec![0]);
    let (number, reason) = refused(&v);
    assert_eq!(number, 2);
    assert!(
        reason.starts_with("nonce gap") && reason.contains("nonces 1..2 are missing"),
        "{reason}"
    );

    // From the start of the ledger the first nonce is 0.
    let expected = nonces::expected_from(&Cursor::Start { height: 0 }, None);
    assert_eq!(expected, Some(0));
    let blocks = blocks_of(genesis, vec![vec![net.dispatch(1)]], &net);
    let mut v = run(&net, &after(0, genesis), blocks, 2);
    nonces::check(expected, &mut v, "https://peer");
    assert!(v.blocks.is_empty());
    assert!(refused(&v).1.contains("nonces 0..1 are missing"));

    // Resumed elsewhere, the first message sets the count, and the rest follow it.
    let blocks = blocks_of(
        genesis,
        vec![
            vec![net.dispatch(5), net.dispatch(6)],
            vec![net.dispatch(7)],
        ],
        &net,
    );
    let last = blocks[1].header_hash();
    let mut v = run(&net, &after(0, genesis), blocks, 2);
    assert_eq!(
        nonces::expected_from(&Cursor::Start { height: 3 }, None),
        None
    );
    assert_eq!(nonces::check(None, &mut v, "https://peer"), Some(8));
    assert!(v.error.is_none(), "{:?}", v.error);
    assert_eq!(nonces(&v), vec![5, 6, 7]);
    // The next batch, from the cursor this one ended at, continues the count; from another
    // cursor it is unknown.
    let recorded = nonces::NextNonce {
        height: 2,
        block_id: BlockId::from(last.0),
        next: Some(8),
    };
    assert_eq!(
        nonces::expected_from(&after(2, last), Some(&recorded)),
        Some(8)
    );
    assert_eq!(
        nonces::expected_from(&after(2, HeaderHash([1; 32])), Some(&recorded)),
        None
    );
}
