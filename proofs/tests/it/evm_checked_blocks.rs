//! `CheckedBlocks` and `TrieNodes`: the proofs of one block's messages check its header and the
//! trie nodes they share once, and refuse exactly what each proof checked alone refuses
//! (bridge-exploits T17–T22, T27, T36: a forged receipt, a wrong header, a receipt from another
//! block, a proof for one log presented for another), whatever earlier proofs left held.

#![allow(clippy::unwrap_used)]

use alloy_primitives::B256;
use causeway_proofs::evm::{
    CheckedBlocks, EvmSourceProof, ReceiptProof, ReceiptTrie, TransactionTrie, TrieNodes, TxType,
    dispatch_topic0, encode_dispatch_data, verify_proof, verify_proof_with,
};
use causeway_proofs::{Address32, Domain, Error, EvmAddress, Hash32, Message, Nonce};
use proptest::prelude::*;

use crate::evm_receipts::{
    OUTBOX, alloy_block, alloy_log, cancun_header, dispatch_topics, encode_all, envelope,
};

/// A message with nonce `n`.
fn message(n: u64) -> Message {
    Message::new(
        Nonce(n),
        Domain(31_337),
        Address32::from(EvmAddress([0xaa; 20])),
        Domain(42),
        Address32::from(EvmAddress([0xbb; 20])),
        format!("message {n}").into_bytes(),
    )
    .unwrap()
}

/// One block's source proofs: `txs` transactions, each emitting an unrelated log and then the
/// `Dispatch` log of message `seed + i`; returns each message's bytes with its proof, and the
/// block hash.
struct Block {
    hash: Hash32,
    proofs: Vec<(Vec<u8>, EvmSourceProof)>,
}

fn block(txs: usize, seed: u64) -> Block {
    let messages: Vec<Message> = (0..txs as u64).map(|i| message(seed + i)).collect();
    let envelopes: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let transfer = alloy_log(EvmAddress([0xcc; 20]), &[Hash32([seed as u8; 32])], &[1]);
            let dispatch = alloy_log(
                OUTBOX,
                &dispatch_topics(m),
                &encode_dispatch_data(&m.encode()),
            );
            envelope(
                TxType::Eip1559,
                true,
                21_000 * (i as u64 + 1),
                vec![transfer, dispatch],
            )
        })
        .collect();
    let receipts = encode_all(&envelopes);
    let transactions: Vec<Vec<u8>> = (0..txs)
        .map(|i| {
            let mut t = vec![0x02];
            t.extend(std::iter::repeat_n((i as u64 + seed) as u8, 90 + i % 7));
            t
        })
        .collect();
    let receipt_trie = ReceiptTrie::new(&receipts);
    let transaction_trie = TransactionTrie::new(&transactions);
    let mut header = cancun_header(receipt_trie.root());
    header.transactions_root = B256::from(transaction_trie.root().0);
    header.number = 1_000 + seed;
    let raw = alloy_rlp::encode(&header);
    let hash = Hash32(header.hash_slow().0);
    let proofs = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let proof = EvmSourceProof {
                header: raw.clone(),
                receipt_proof: receipt_trie.proof(i as u64).unwrap().with_block_hash(hash),
                log_index_in_receipt: 1,
                transaction_proof: Some(transaction_trie.proof(i as u64).unwrap()),
            };
            (m.encode(), proof)
        })
        .collect();
    Block { hash, proofs }
}

/// The proof checked alone and with `blocks`: both results must be the same.
fn both(
    proof: &EvmSourceProof,
    hash: &Hash32,
    bytes: &[u8],
    blocks: &mut CheckedBlocks,
) -> Result<(), Error> {
    let alone = proof.verify_source(hash, &OUTBOX, &dispatch_topic0(), bytes);
    let with = proof.verify_source_with(hash, &OUTBOX, &dispatch_topic0(), bytes, blocks);
    assert_eq!(with, alone, "checked with held blocks and alone");
    with.map(|_| ())
}

#[test]
fn a_blocks_proofs_share_one_header_check_and_its_interior_nodes() {
    let a = block(60, 0);
    let b = block(40, 100);
    let mut blocks = CheckedBlocks::new();
    for (bytes, proof) in a.proofs.iter() {
        both(proof, &a.hash, bytes, &mut blocks).unwrap();
    }
    // One header, and only nodes shared by several proofs: the roots and the second-level
    // branches of the two tries (receipt keys rlp(0..60) branch on their first nibble), never
    // one leaf per message.
    assert_eq!(blocks.blocks(), 1);
    let after_a = blocks.trie_nodes();
    assert!(
        (2..=20).contains(&after_a),
        "{after_a} nodes held for 60 messages"
    );
    for (bytes, proof) in b.proofs.iter() {
        both(proof, &b.hash, bytes, &mut blocks).unwrap();
    }
    assert_eq!(blocks.blocks(), 2);
    assert!(blocks.trie_nodes() > after_a);
    // Checked again, nothing new is held.
    let held = blocks.trie_nodes();
    for (bytes, proof) in a.proofs.iter() {
        both(proof, &a.hash, bytes, &mut blocks).unwrap();
    }
    assert_eq!((blocks.blocks(), blocks.trie_nodes()), (2, held));
}

#[test]
fn held_blocks_refuse_every_forgery_as_a_proof_alone_does() {
    let a = block(30, 0);
    let b = block(30, 500);
    let mut blocks = CheckedBlocks::new();
    for block in [&a, &b] {
        for (bytes, proof) in &block.proofs {
            both(proof, &block.hash, bytes, &mut blocks).unwrap();
        }
    }
    let (bytes, honest) = &a.proofs[17];

    // A forged receipt: the receipt bytes alone, and the receipt with its leaf rewritten to
    // match (its parent, held, names the old leaf's hash).
    let mut forged = honest.clone();
    let at = forged.receipt_proof.receipt.len() - 40;
    forged.receipt_proof.receipt[at] ^= 1;
    assert!(matches!(
        both(&forged, &a.hash, bytes, &mut blocks),
        Err(Error::MptValueMismatch { .. })
    ));
    let leaf = forged.receipt_proof.nodes.len() - 1;
    let old = honest.receipt_proof.receipt.clone();
    let new = forged.receipt_proof.receipt.clone();
    let node = &mut forged.receipt_proof.nodes[leaf];
    let start = node
        .windows(old.len())
        .position(|w| w == old.as_slice())
        .unwrap();
    node[start..start + old.len()].copy_from_slice(&new);
    assert!(matches!(
        both(&forged, &a.hash, bytes, &mut blocks),
        Err(Error::MptNodeHashMismatch { .. })
    ));
    // A forged interior node in place of a held one.
    let mut forged = honest.clone();
    forged.receipt_proof.nodes[0][40] ^= 1;
    assert!(matches!(
        both(&forged, &a.hash, bytes, &mut blocks),
        Err(Error::MptNodeHashMismatch { index: 0, .. })
    ));
    // A wrong header under the held block's hash, and the held header for another hash.
    let mut forged = honest.clone();
    let last = forged.header.len() - 1;
    forged.header[last] ^= 1;
    assert!(matches!(
        both(&forged, &a.hash, bytes, &mut blocks),
        Err(Error::BlockHashMismatch { .. })
    ));
    assert!(matches!(
        both(honest, &b.hash, bytes, &mut blocks),
        Err(Error::BlockHashMismatch { .. })
    ));
    // A receipt (and transaction) from another held block, under this block's header.
    let (b_bytes, b_proof) = &b.proofs[17];
    let mut moved = b_proof.clone();
    moved.header = honest.header.clone();
    moved.receipt_proof.block_hash = Some(a.hash);
    assert!(matches!(
        both(&moved, &a.hash, b_bytes, &mut blocks),
        Err(Error::ReceiptsRootMismatch { .. })
    ));
    moved.receipt_proof.receipts_root = honest.receipt_proof.receipts_root;
    assert!(matches!(
        both(&moved, &a.hash, b_bytes, &mut blocks),
        Err(Error::MptNodeHashMismatch { .. })
    ));
    // Another receipt of the same block under this receipt's index.
    let mut swapped = honest.clone();
    swapped.receipt_proof = a.proofs[18].1.receipt_proof.clone();
    swapped.receipt_proof.tx_index = 17;
    assert!(both(&swapped, &a.hash, bytes, &mut blocks).is_err());
    // The proof of one log presented for another message, or at another log position.
    let (other_bytes, _) = &a.proofs[18];
    assert!(matches!(
        both(honest, &a.hash, other_bytes, &mut blocks),
        Err(Error::EventDataMismatch { .. })
    ));
    let mut moved_log = honest.clone();
    moved_log.log_index_in_receipt = 0;
    assert!(matches!(
        both(&moved_log, &a.hash, bytes, &mut blocks),
        Err(Error::LogEmitterMismatch { .. })
    ));
    // Another transaction of the block under this receipt.
    let mut other_tx = honest.clone();
    other_tx.transaction_proof = a.proofs[18].1.transaction_proof.clone();
    assert!(matches!(
        both(&other_tx, &a.hash, bytes, &mut blocks),
        Err(Error::TransactionProofInvalid { tx_index: 17, .. })
    ));
    // The honest proofs still pass after all of that.
    both(honest, &a.hash, bytes, &mut blocks).unwrap();
}

#[test]
fn held_nodes_never_change_a_trie_proofs_result() {
    // Proofs of every key of several tries, checked with one `TrieNodes` across all of them,
    // give the result each gives alone; present and absent keys.
    let mut known = TrieNodes::default();
    for (n, seed) in [(1usize, 3u64), (2, 4), (17, 5), (130, 6)] {
        let receipts = encode_all(&alloy_block(n, seed));
        let trie = ReceiptTrie::new(&receipts);
        for i in 0..n as u64 + 2 {
            let proof = match trie.proof(i) {
                Ok(p) => p,
                Err(_) => continue,
            };
            let key = causeway_proofs::evm::receipt_key(i);
            assert_eq!(
                verify_proof_with(&trie.root(), &key, &proof.nodes, Some(&mut known)),
                verify_proof(&trie.root(), &key, &proof.nodes)
            );
            let other = causeway_proofs::evm::receipt_key(i + 1_000);
            assert_eq!(
                verify_proof_with(&trie.root(), &other, &proof.nodes, Some(&mut known)),
                verify_proof(&trie.root(), &other, &proof.nodes)
            );
        }
    }
    assert!(!known.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A mutated receipt proof checked with every node of its honest siblings held is refused
    /// with the error it gets alone.
    #[test]
    fn mutated_proofs_are_refused_with_held_nodes_as_alone(
        i in 0u64..40,
        edits in prop::collection::vec((any::<u8>(), any::<u16>(), any::<u8>(), 0u8..4), 1..4),
    ) {
        let receipts = encode_all(&alloy_block(40, 21));
        let trie = ReceiptTrie::new(&receipts);
        let mut known = TrieNodes::default();
        for j in 0..40 {
            trie.proof(j).unwrap().verify_with(&trie.root(), Some(&mut known)).unwrap();
        }
        let proof: ReceiptProof = trie.proof(i).unwrap();
        let mut bad = proof.clone();
        for (node, pos, byte, op) in edits {
            let k = usize::from(node) % bad.nodes.len();
            let len = bad.nodes[k].len();
            let p = usize::from(pos) % (len + 1);
            match op {
                0 if p < len => bad.nodes[k][p] = byte,
                1 => bad.nodes[k].insert(p, byte),
                2 if p < len && len > 1 => { bad.nodes[k].remove(p); }
                _ => { let j = usize::from(byte) % bad.nodes.len(); bad.nodes.swap(k, j); }
            }
        }
        prop_assume!(bad != proof);
        let alone = bad.verify(&trie.root());
        prop_assert!(alone.is_err());
        prop_assert_eq!(bad.verify_with(&trie.root(), Some(&mut known)), alone);
    }
}
