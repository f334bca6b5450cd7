//! EVM receipt proofs: receipts-root construction for a block of 300 receipts (ours beside
//! alloy-trie's `ordered_trie_root_encoded` on the same bytes), proof generation, and
//! verification of one receipt proof and of a whole `EvmSourceProof`.
//!
//! Run: `cargo bench -p causeway-proofs --bench evm` (a few seconds per figure).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use causeway_proofs::evm::{
    EvmSourceProof, Log, Receipt, ReceiptTrie, TxType, dispatch_topic0, encode_dispatch_data,
    receipts_root,
};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, Message, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const RECEIPTS: usize = 300;
const OUTBOX: EvmAddress = EvmAddress([0x0b; 20]);

fn word(v: u64) -> Hash32 {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    Hash32(w)
}

/// A busy block: 300 EIP-1559 receipts with two logs each (an ERC-20 transfer and 256 bytes of
/// data), and a `Dispatch` of `message` in receipt 150.
fn block(message: &Message) -> Vec<Vec<u8>> {
    let transfer = keccak256(b"Transfer(address,address,uint256)");
    (0..RECEIPTS)
        .map(|i| {
            let mut logs = vec![
                Log {
                    address: EvmAddress([i as u8; 20]),
                    topics: vec![transfer, word(i as u64), word(i as u64 + 1)],
                    data: vec![7; 32],
                },
                Log {
                    address: EvmAddress([0x5e; 20]),
                    topics: vec![word(i as u64)],
                    data: vec![i as u8; 256],
                },
            ];
            if i == 150 {
                logs.push(Log {
                    address: OUTBOX,
                    topics: vec![
                        dispatch_topic0(),
                        message.id().into(),
                        word(message.nonce().0),
                        word(u64::from(message.destination().0)),
                    ],
                    data: encode_dispatch_data(&message.encode()),
                });
            }
            Receipt::new(TxType::Eip1559, true, 21_000 * (i as u64 + 1), logs).encode()
        })
        .collect()
}

/// A minimal Frontier-layout header (15 fields) committing to `receipts_root`.
fn header(receipts_root: Hash32) -> Vec<u8> {
    let mut fields = Vec::new();
    let mut string = |bytes: &[u8]| {
        if bytes.len() == 1 && bytes[0] < 0x80 {
            fields.push(bytes[0]);
        } else if bytes.len() <= 55 {
            fields.push(0x80 + bytes.len() as u8);
            fields.extend_from_slice(bytes);
        } else {
            fields.extend_from_slice(&[0xb9, (bytes.len() >> 8) as u8, bytes.len() as u8]);
            fields.extend_from_slice(bytes);
        }
    };
    for part in [
        &[0x11; 32][..],
        &[0x22; 32],
        &[0x33; 20],
        &[0x44; 32],
        &[0x55; 32],
        &receipts_root.0,
        &[0; 256],
        &[],
        &[0x01, 0x40, 0x00, 0x00],
        &[0x02, 0x25, 0x51, 0x00],
        &[0x01, 0x00, 0x00],
        &[0x65, 0x00, 0x00, 0x00],
        b"bench",
        &[0x66; 32],
        &[0; 8],
    ] {
        string(part);
    }
    let mut out = vec![0xf9, (fields.len() >> 8) as u8, fields.len() as u8];
    out.extend_from_slice(&fields);
    out
}

fn receipts(c: &mut Criterion) {
    let message = Message::new(
        Nonce(1),
        Domain(1),
        Address32::from(EvmAddress([0xaa; 20])),
        Domain(2),
        Address32::from(EvmAddress([0xbb; 20])),
        vec![0x42; 200],
    )
    .unwrap();
    let receipts = block(&message);
    let root = receipts_root(&receipts);

    let mut group = c.benchmark_group("evm_receipts_root_300");
    group.throughput(Throughput::Elements(RECEIPTS as u64));
    group.bench_function("causeway", |b| {
        b.iter(|| receipts_root(black_box(&receipts)))
    });
    group.bench_function("alloy_trie_ordered_trie_root_encoded", |b| {
        b.iter(|| alloy_trie::root::ordered_trie_root_encoded(black_box(&receipts)))
    });
    group.finish();

    let trie = ReceiptTrie::new(&receipts);
    let mut group = c.benchmark_group("evm_receipt_proof");
    group.throughput(Throughput::Elements(1));
    group.bench_function("build_trie_and_prove_one", |b| {
        b.iter(|| ReceiptTrie::new(black_box(&receipts)).proof(150).unwrap())
    });
    group.bench_function("prove_one_from_built_trie", |b| {
        b.iter(|| trie.proof(black_box(150)).unwrap())
    });
    let proof = trie.proof(150).unwrap();
    group.bench_function("verify", |b| {
        b.iter(|| black_box(&proof).verify(&root).unwrap())
    });

    let header = header(root);
    let block_hash = keccak256(&header);
    let source = EvmSourceProof {
        header,
        receipt_proof: proof,
        log_index_in_receipt: 2,
        transaction_proof: None,
    };
    let bytes = message.encode();
    source
        .verify(&block_hash, &OUTBOX, &dispatch_topic0(), &bytes)
        .unwrap();
    group.bench_function("verify_source_proof", |b| {
        b.iter(|| {
            black_box(&source)
                .verify(&block_hash, &OUTBOX, &dispatch_topic0(), &bytes)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, receipts);
criterion_main!(benches);
