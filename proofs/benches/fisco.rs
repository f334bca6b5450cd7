//! FISCO BCOS: receipt-proof verifications, SM2 and secp256k1 sealer-signature verifications,
//! and whole source proofs (seal + receipt proof + `Dispatch`) per event, in both crypto modes,
//! on a block of 100 receipts that each dispatch one message.
//!
//! Run: `cargo bench -p causeway-proofs --bench fisco` (a few seconds per figure).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use causeway_proofs::evm::{dispatch_topic0, encode_dispatch_data};
use causeway_proofs::fisco::json::{BlockJson, ReceiptJson};
use causeway_proofs::fisco::merkle::verify_proof;
use causeway_proofs::fisco::{
    BlockParams, CryptoMode, FiscoSourceProof, LogEntry, NodeSecret, Receipt, SealedBlock,
    SealerSet,
};
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, Message, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_core::OsRng;

const RECEIPTS: usize = 100;
const OUTBOX: [u8; 20] = [0x0b; 20];

fn word(v: u64) -> Vec<u8> {
    let mut w = vec![0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

fn receipt(i: u64) -> Receipt {
    let message = Message::new(
        Nonce(i),
        Domain(3001),
        Address32([1; 32]),
        Domain(3002),
        Address32([2; 32]),
        vec![7; 128],
    )
    .unwrap();
    let id: Hash32 = message.id().into();
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
                word(i),
                word(3002),
            ],
            data: encode_dispatch_data(&message.encode()),
        }],
        block_number: 7,
    }
}

struct Fixture {
    block: SealedBlock,
    sealers: SealerSet,
    proofs: Vec<FiscoSourceProof>,
}

fn fixture(mode: CryptoMode) -> Fixture {
    let secrets: Vec<NodeSecret> = (0..4)
        .map(|_| NodeSecret::generate(mode, &mut OsRng))
        .collect();
    let receipts: Vec<Receipt> = (0..RECEIPTS as u64).map(receipt).collect();
    let txs = (0..RECEIPTS as u64)
        .map(|i| mode.hash(&i.to_be_bytes()))
        .collect();
    let params = BlockParams {
        number: 7,
        parent: None,
        timestamp: 1,
        state_root: Hash32([3; 32]),
    };
    let block = SealedBlock::build(mode, &params, txs, receipts, &secrets, 3, &mut OsRng).unwrap();
    let json = BlockJson::from_header(&block.header, &block.signatures, mode);
    let proofs = (0..RECEIPTS)
        .map(|i| FiscoSourceProof {
            block: json.clone(),
            receipt: ReceiptJson::from_receipt(
                &block.receipts[i],
                &block.tx_hashes[i],
                mode,
                Some(&block.receipt_proof(i).unwrap()),
            ),
        })
        .collect();
    let sealers = SealerSet::new(mode, secrets.iter().map(NodeSecret::public_key)).unwrap();
    Fixture {
        block,
        sealers,
        proofs,
    }
}

fn bench(c: &mut Criterion) {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let f = fixture(mode);
        let outbox = EvmAddress(OUTBOX);
        let mut group = c.benchmark_group(format!("fisco_{mode}"));
        group.sample_size(20);

        let leaf = f.block.receipts[50].hash(mode);
        let proof = f.block.receipt_proof(50).unwrap();
        group.throughput(Throughput::Elements(1));
        group.bench_function("receipt_merkle_proof_verify", |b| {
            b.iter(|| {
                verify_proof(
                    black_box(&proof),
                    &leaf,
                    &f.block.header.receipts_root,
                    mode,
                    "receipt",
                )
                .unwrap()
            })
        });

        let hash = f.block.hash();
        // A sealer that signed this block (3 of the 4 sign; the set's order is not theirs).
        let (key, first) = f
            .sealers
            .keys()
            .find_map(|key| {
                f.block
                    .signatures
                    .iter()
                    .find(|s| f.block.header.sealer_list[s.sealer_index as usize] == key.to_bytes())
                    .map(|s| (*key, s.clone()))
            })
            .unwrap();
        group.bench_function("sealer_signature_verify", |b| {
            b.iter(|| {
                mode.verify_sealer_signature(black_box(&hash), &first.signature, &key, 7, 0)
                    .unwrap()
            })
        });

        // The same signature through the code paths it replaced, for a same-run comparison on
        // a busy machine: k256 recovery (ECDSA) and the sm2 crate's generic verifier (SM).
        group.bench_function("sealer_signature_verify_before", |b| match mode {
            CryptoMode::Ecdsa => b.iter(|| {
                assert_eq!(
                    mode.signer(black_box(&hash), &first.signature, 7, 0)
                        .unwrap(),
                    key
                )
            }),
            CryptoMode::Sm => {
                let public =
                    causeway_proofs::sm::Sm2PublicKey::from_bytes(&key.to_bytes()).unwrap();
                let sig =
                    causeway_proofs::sm::Sm2Signature::from_bytes(&first.signature[..64]).unwrap();
                b.iter(|| {
                    causeway_proofs::sm::verify(
                        &public,
                        causeway_proofs::sm::DEFAULT_USER_ID,
                        &black_box(hash).0,
                        &sig,
                    )
                    .unwrap()
                })
            }
        });

        group.bench_function("source_proof_verify_per_event_seal_included", |b| {
            b.iter(|| f.proofs[50].verify(black_box(&f.sealers), &outbox).unwrap())
        });

        // What the source does: the block's seal once, then each receipt.
        group.throughput(Throughput::Elements(RECEIPTS as u64));
        group.bench_function("block_of_100_events_seal_once", |b| {
            b.iter(|| {
                let header = f.proofs[0].block.header().unwrap();
                let seal = f
                    .sealers
                    .verify_seal(&header, &f.proofs[0].block.signatures().unwrap())
                    .unwrap();
                for p in &f.proofs {
                    black_box(p.verify_receipt(&header, seal.hash, mode, &outbox).unwrap());
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
