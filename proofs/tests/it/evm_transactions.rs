//! EVM transactions: the transactions trie against alloy's transactions root, and source proofs
//! that carry the emitting transaction, so a bundle's transaction hash is proven (or, when
//! edited, refused).

#![allow(clippy::unwrap_used)]

use alloy_consensus::proofs::calculate_transaction_root;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use causeway_proofs::bundle::SourceReference;
use causeway_proofs::evm::{
    EvmSourceProof, ReceiptProof, TransactionTrie, TxType, dispatch_topic0, encode_dispatch_data,
    receipts_root,
};
use causeway_proofs::{Error, EvmAddress, Hash32};

use crate::evm_receipts::{
    DISPATCH_INDEX, OUTBOX, alloy_block, alloy_log, cancun_header, dispatch_topics, encode_all,
    envelope, message,
};

/// `n` signed transactions of both kinds (the signature is a fixed valid-looking one: the trie
/// and the hash do not check it).
fn transactions(n: usize) -> Vec<TxEnvelope> {
    let signature = Signature::new(U256::from(1u8), U256::from(2u8), false);
    (0..n)
        .map(|i| {
            let input = Bytes::from(vec![i as u8; i * 3]);
            let to = TxKind::Call(Address::repeat_byte(i as u8));
            if i % 2 == 0 {
                TxEnvelope::from(
                    TxEip1559 {
                        chain_id: 31_337,
                        nonce: i as u64,
                        gas_limit: 100_000,
                        max_fee_per_gas: 2_000_000_000,
                        max_priority_fee_per_gas: 1_000_000_000,
                        to,
                        value: U256::from(i),
                        input,
                        ..Default::default()
                    }
                    .into_signed(signature),
                )
            } else {
                TxEnvelope::from(
                    TxLegacy {
                        chain_id: Some(31_337),
                        nonce: i as u64,
                        gas_price: 1_000_000_000,
                        gas_limit: 21_000,
                        to,
                        value: U256::from(i),
                        input,
                    }
                    .into_signed(signature),
                )
            }
        })
        .collect()
}

#[test]
fn transactions_roots_and_hashes_match_alloy() {
    for n in [1usize, 2, 12, 130] {
        let txs = transactions(n);
        let encoded: Vec<Vec<u8>> = txs.iter().map(Encodable2718::encoded_2718).collect();
        let trie = TransactionTrie::new(&encoded);
        assert_eq!(trie.root().0, calculate_transaction_root(&txs).0, "{n}");
        for (i, tx) in txs.iter().enumerate() {
            let proof = trie.proof(i as u64).unwrap();
            assert_eq!(
                proof.verify(&trie.root(), i as u64).unwrap().0,
                tx.tx_hash().0
            );
        }
    }
}

/// A 12-transaction block whose transaction 5 emitted the sample message's `Dispatch` (as its
/// receipt's second log); the proof carries that transaction. Returns the proof, the block
/// hash, the message bytes and the dispatching transaction's hash.
fn proof_with_transaction() -> (EvmSourceProof, Hash32, Vec<u8>, Hash32) {
    let m = message();
    let bytes = m.encode();
    let mut receipts = alloy_block(12, 91);
    let transfer = alloy_log(EvmAddress([0xcc; 20]), &[Hash32([3; 32])], &[1; 32]);
    receipts[DISPATCH_INDEX as usize] = envelope(
        TxType::Eip1559,
        true,
        1_000_000,
        vec![
            transfer,
            alloy_log(OUTBOX, &dispatch_topics(&m), &encode_dispatch_data(&bytes)),
        ],
    );
    let receipts = encode_all(&receipts);
    let txs = transactions(12);
    let mut header = cancun_header(receipts_root(&receipts));
    header.transactions_root = B256::from(calculate_transaction_root(&txs).0);
    let block_hash = Hash32(header.hash_slow().0);
    let encoded: Vec<Vec<u8>> = txs.iter().map(Encodable2718::encoded_2718).collect();
    let proof = EvmSourceProof {
        header: alloy_rlp::encode(&header),
        receipt_proof: ReceiptProof::build(&receipts, DISPATCH_INDEX)
            .unwrap()
            .with_block_hash(block_hash),
        log_index_in_receipt: 1,
        transaction_proof: Some(
            TransactionTrie::new(&encoded)
                .proof(DISPATCH_INDEX)
                .unwrap(),
        ),
    };
    let tx_hash = Hash32(txs[DISPATCH_INDEX as usize].tx_hash().0);
    (proof, block_hash, bytes, tx_hash)
}

#[test]
fn a_source_proof_with_its_transaction_proves_the_transaction_hash() {
    let (proof, block_hash, bytes, tx_hash) = proof_with_transaction();
    let proven = proof
        .verify_source(&block_hash, &OUTBOX, &dispatch_topic0(), &bytes)
        .unwrap();
    assert_eq!(proven.transaction_hash, Some(tx_hash));
    assert_eq!(proven.tx_index, DISPATCH_INDEX);
    assert_eq!(proven.log_index_in_receipt, 1);
    assert_eq!(proven.block_number, 21_000_000);

    let reference = SourceReference {
        block_number: Some(21_000_000),
        block_hash: Some(block_hash),
        transaction_hash: Some(tx_hash),
        fabric_tx_id: None,
        event_index: Some(9),
    };
    let unproved = proven.check_reference(&reference).unwrap();
    let fields: Vec<&str> = unproved.iter().map(|u| u.field).collect();
    assert_eq!(fields, ["event_index"], "{unproved:?}");

    let mut edited = reference.clone();
    edited.transaction_hash = Some(Hash32([0xee; 32]));
    assert!(matches!(
        proven.check_reference(&edited),
        Err(Error::SourceReferenceMismatch {
            field: "transaction_hash",
            ..
        })
    ));

    // JSON round trip through a bundle's native proof keeps the transaction.
    let back = EvmSourceProof::from_native_proof(&proof.to_native_proof().unwrap()).unwrap();
    assert_eq!(back, proof);
}

#[test]
fn a_carried_transaction_that_is_not_the_blocks_is_refused() {
    let (proof, block_hash, bytes, _) = proof_with_transaction();
    let check = |p: &EvmSourceProof| p.verify(&block_hash, &OUTBOX, &dispatch_topic0(), &bytes);
    // Another transaction's bytes and nodes (index 4's proof presented for receipt 5).
    let mut other = proof.clone();
    let txs: Vec<Vec<u8>> = transactions(12)
        .iter()
        .map(Encodable2718::encoded_2718)
        .collect();
    other.transaction_proof = Some(TransactionTrie::new(&txs).proof(4).unwrap());
    assert!(matches!(
        check(&other),
        Err(Error::TransactionProofInvalid { tx_index: 5, .. })
    ));
    // An edited transaction.
    let mut edited = proof.clone();
    let tx = &mut edited.transaction_proof.as_mut().unwrap().transaction;
    let last = tx.len() - 1;
    tx[last] ^= 1;
    assert!(matches!(
        check(&edited),
        Err(Error::TransactionProofInvalid { .. })
    ));
    // A transaction proven under another block's transactions root.
    let mut foreign = proof;
    let others: Vec<Vec<u8>> = transactions(13)
        .iter()
        .map(Encodable2718::encoded_2718)
        .collect();
    foreign.transaction_proof = Some(TransactionTrie::new(&others).proof(5).unwrap());
    assert!(matches!(
        check(&foreign),
        Err(Error::TransactionProofInvalid { .. })
    ));
}
