//! FISCO BCOS events ingested with full verification through the adapter's verify path
//! (`FiscoNativeVerifier::verify`: the source proof's JSON parsed, the header's seal by 3 of 4
//! sealers, the receipt's Merkle proof, the Outbox `Dispatch`), in both crypto modes:
//!
//! - `block_of_100`: 100 events of one block; the seal is checked once (a fresh verifier per
//!   iteration, so nothing is remembered across iterations);
//! - `one_per_block_1_thread` / `_2_threads`: 200 events each alone in its block (every seal
//!   checked), on one thread, then split over two threads (both cores).
//!
//! Run: `cargo bench -p causeway-adapters --bench fisco`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use causeway_adapters::NativeVerifier;
use causeway_adapters::chain::ObservedMessage;
use causeway_adapters::fisco::FiscoNativeVerifier;
use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::evm::{dispatch_topic0, encode_dispatch_data};
use causeway_proofs::fisco::json::{BlockJson, ReceiptJson};
use causeway_proofs::fisco::{
    BlockParams, CryptoMode, FiscoSourceProof, LogEntry, NodeSecret, Receipt, SealedBlock,
    SealerSet,
};
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, Message, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_core::OsRng;

const OUTBOX: [u8; 20] = [0x0b; 20];
const SINGLES: usize = 200;

fn word(v: u64) -> Vec<u8> {
    let mut w = vec![0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

fn message(i: u64) -> Message {
    Message::new(
        Nonce(i),
        Domain(3001),
        Address32([1; 32]),
        Domain(3002),
        Address32([2; 32]),
        vec![7; 128],
    )
    .unwrap()
}

fn receipt(m: &Message, number: i64) -> Receipt {
    let id: Hash32 = m.id().into();
    Receipt {
        version: 0,
        gas_used: "52000".into(),
        contract_address: String::new(),
        status: 0,
        output: id.0.to_vec(),
        effective_gas_price: String::new(),
        logs: vec![LogEntry {
            address: hex::encode(OUTBOX),
            topics: vec![
                dispatch_topic0().0.to_vec(),
                id.0.to_vec(),
                word(m.nonce().0),
                word(3002),
            ],
            data: encode_dispatch_data(&m.encode()),
        }],
        block_number: number,
    }
}

/// A sealed block `number` holding one Outbox message per nonce of `nonces`, observed as the
/// source yields them.
fn block(
    mode: CryptoMode,
    secrets: &[NodeSecret],
    number: i64,
    nonces: &[u64],
) -> Vec<ObservedMessage> {
    let messages: Vec<Message> = nonces.iter().map(|n| message(*n)).collect();
    let receipts: Vec<Receipt> = messages.iter().map(|m| receipt(m, number)).collect();
    let txs = nonces.iter().map(|i| mode.hash(&i.to_be_bytes())).collect();
    let params = BlockParams {
        number,
        parent: None,
        timestamp: 1,
        state_root: Hash32([3; 32]),
    };
    let sealed = SealedBlock::build(mode, &params, txs, receipts, secrets, 3, &mut OsRng).unwrap();
    let json = BlockJson::from_header(&sealed.header, &sealed.signatures, mode);
    messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let proof = FiscoSourceProof {
                block: json.clone(),
                receipt: ReceiptJson::from_receipt(
                    &sealed.receipts[i],
                    &sealed.tx_hashes[i],
                    mode,
                    Some(&sealed.receipt_proof(i).unwrap()),
                ),
            };
            ObservedMessage {
                message: m,
                source: SourceReference {
                    block_number: Some(number as u64),
                    block_hash: Some(sealed.hash()),
                    transaction_hash: Some(sealed.tx_hashes[i]),
                    fabric_tx_id: None,
                    event_index: Some(0),
                },
                proof: NativeProof {
                    family: ChainFamily::Fisco,
                    data: serde_json::to_value(&proof).unwrap(),
                },
            }
        })
        .collect()
}

fn verify_all(sealers: &SealerSet, events: &[ObservedMessage]) {
    let verifier = FiscoNativeVerifier::new(sealers.clone(), EvmAddress(OUTBOX));
    for e in events {
        verifier.verify(black_box(e)).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let secrets: Vec<NodeSecret> = (0..4)
            .map(|_| NodeSecret::generate(mode, &mut OsRng))
            .collect();
        let sealers = SealerSet::new(mode, secrets.iter().map(NodeSecret::public_key)).unwrap();
        let full = block(mode, &secrets, 7, &(0..100).collect::<Vec<_>>());
        let singles: Vec<ObservedMessage> = (0..SINGLES as u64)
            .flat_map(|i| block(mode, &secrets, 10 + i as i64, &[i]))
            .collect();

        let mut group = c.benchmark_group(format!("fisco_ingest_{mode}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(full.len() as u64));
        group.bench_function("block_of_100", |b| b.iter(|| verify_all(&sealers, &full)));
        group.throughput(Throughput::Elements(SINGLES as u64));
        group.bench_function("one_per_block_1_thread", |b| {
            b.iter(|| verify_all(&sealers, &singles))
        });
        group.bench_function("one_per_block_2_threads", |b| {
            b.iter(|| {
                let (a, z) = singles.split_at(SINGLES / 2);
                std::thread::scope(|s| {
                    s.spawn(|| verify_all(&sealers, a));
                    s.spawn(|| verify_all(&sealers, z));
                });
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
