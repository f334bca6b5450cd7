//! Fabric ingestion: events per second (and blocks per second) that [`FabricSource`] reads from
//! the devnet test peer's Deliver stream with full verification (hash chain, data hash, orderer
//! signature, creator and two endorsements per event), on 1 and 2 worker threads; and ECDSA
//! P-256 endorsement verifications per second on one core (ring, which the source uses, beside
//! the p256 crate), the cost that bounds it.
//!
//! The ledger is filled before measuring: `EVENTS` outbox events in blocks of 10 transactions
//! (Fabric's default `max_message_count`). The outbox is a variant of the built-in one that
//! takes its nonce from the arguments, so that concurrent dispatches do not conflict on the
//! nonce key (the source neither knows nor cares). Target: >= 5,000 events/s on 2 cores.
//!
//! Run: `cargo bench -p causeway-adapters --bench fabric` (fills the ledger once, then a few
//! seconds per figure); `-- --quick` for a smoke run. Set `CAUSEWAY_BENCH_FABRIC_EVENTS` to
//! change the ledger size (default 4000).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_adapters::fabric::request::Invocation;
use causeway_adapters::fabric::{
    FabricSource, FabricSourceConfig, FabricVerifierConfig, SigningIdentity,
};
use causeway_adapters::{Cursor, Source};
use causeway_devnet::fabric::{
    Chaincode, ChaincodeError, DISPATCH_EVENT, FabricNetwork, FabricNetworkOptions, ORG1,
    OUTBOX_CHAINCODE, Response, Stub,
};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, Message, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use p256::ecdsa::SigningKey;

/// An outbox whose `dispatch(nonce, body)` emits message `nonce` without touching the state.
struct BenchOutbox;

impl Chaincode for BenchOutbox {
    fn invoke(&self, stub: &mut dyn Stub, _function: &str, args: &[Vec<u8>]) -> Response {
        let nonce: u64 = std::str::from_utf8(&args[0])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ChaincodeError::new("nonce"))?;
        let message = Message::new(
            Nonce(nonce),
            stub.network().domain,
            Address32(keccak256(stub.creator_bytes()).0),
            Domain(1),
            Address32([2; 32]),
            args[1].clone(),
        )
        .map_err(|e| ChaincodeError::new(e.to_string()))?;
        stub.set_event(DISPATCH_EVENT, message.encode());
        Ok(message.id().as_hash().0.to_vec())
    }
}

fn events() -> u64 {
    std::env::var("CAUSEWAY_BENCH_FABRIC_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000)
}

/// Starts the network and commits `count` dispatches, endorsed 64 at a time.
async fn filled_network(count: u64) -> FabricNetwork {
    let net = FabricNetwork::start(FabricNetworkOptions {
        chaincodes: vec![(OUTBOX_CHAINCODE.to_owned(), Arc::new(BenchOutbox) as _)],
        ..Default::default()
    })
    .await
    .unwrap();
    let client = net.client(ORG1).await.unwrap();
    let channel = net.channel().to_owned();
    let started = Instant::now();
    // Endorse 64 at a time concurrently, then submit in nonce order: the source checks that the
    // outbox's nonces follow each other in block order (a gap or a repeat is refused).
    let mut next = 0;
    while next < count {
        let wave = next..count.min(next + 64);
        next = wave.end;
        let mut tasks = tokio::task::JoinSet::new();
        for nonce in wave {
            let client = client.clone();
            let channel = channel.clone();
            tasks.spawn(async move {
                let invocation = Invocation::new(
                    &channel,
                    OUTBOX_CHAINCODE,
                    "dispatch",
                    vec![nonce.to_string().into_bytes(), vec![0xb0; 64]],
                );
                (nonce, client.endorse(&invocation, &[]).await.unwrap())
            });
        }
        let mut endorsed = tasks.join_all().await;
        endorsed.sort_by_key(|(nonce, _)| *nonce);
        for (_, transaction) in &endorsed {
            client.submit(transaction).await.unwrap();
        }
    }
    // Every transaction is committed once the ledger stops growing.
    let mut height = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if net.height() == height {
            break;
        }
        height = net.height();
    }
    eprintln!(
        "fabric bench: {count} dispatches committed in {} blocks in {:.1?}",
        net.height(),
        started.elapsed()
    );
    net
}

/// Reads every event from block 0 with a fresh source (so no cached identity or stream helps
/// from one iteration to the next beyond what one run builds itself).
async fn ingest(net: &FabricNetwork, client_id: &SigningIdentity, workers: usize, count: u64) {
    let client = net.connect(client_id.clone()).await.unwrap();
    let mut verifier = FabricVerifierConfig::new(
        net.channel(),
        net.trusted_msps(),
        net.orderer_msps(),
        net.endorsement_policy(),
    );
    verifier.outbox_chaincode = OUTBOX_CHAINCODE.to_owned();
    let mut config = FabricSourceConfig::new(net.domain(), verifier);
    config.workers = workers;
    let source = FabricSource::new(client, net.endpoint(), config).unwrap();
    let mut cursor = Cursor::Start { height: 0 };
    let mut seen = 0u64;
    while seen < count {
        let batch = source.next_batch(&cursor).await.unwrap();
        seen += batch.messages.len() as u64;
        cursor = batch.cursor;
        black_box(&batch.messages);
    }
    assert_eq!(seen, count, "every event exactly once");
}

fn bench_ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let count = events();
    let net = runtime.block_on(filled_network(count));
    let blocks = net.height();
    let client_id = net.client_identity(ORG1);

    let mut group = c.benchmark_group("fabric_ingest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for workers in [1usize, 2] {
        group.throughput(Throughput::Elements(count));
        group.bench_function(format!("events_{workers}_workers"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    runtime.block_on(ingest(&net, &client_id, workers, count));
                }
                start.elapsed()
            });
        });
    }
    group.throughput(Throughput::Elements(blocks));
    group.bench_function("blocks_2_workers", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                runtime.block_on(ingest(&net, &client_id, 2, count));
            }
            start.elapsed()
        });
    });
    group.finish();
    drop(net);
}

fn bench_p256(c: &mut Criterion) {
    let key = SigningKey::random(&mut rand_core::OsRng);
    // An endorsement-sized message: a proposal response payload and the endorser's identity.
    let message = vec![0x5a; 2_048];
    let signature: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&key, &message);
    let der = signature.to_der().as_bytes().to_vec();
    let verifying = *key.verifying_key();
    let mut group = c.benchmark_group("p256");
    group.throughput(Throughput::Elements(1));
    // What the source and the native verifier run (ring's curve arithmetic).
    let sec1 = verifying.to_encoded_point(false).as_bytes().to_vec();
    group.bench_function("endorsement_verify_ring_1_core", |b| {
        b.iter(|| {
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_ASN1,
                black_box(&sec1),
            )
            .verify(black_box(&message), black_box(&der))
            .unwrap();
        });
    });
    // The RustCrypto p256 crate, for comparison.
    group.bench_function("endorsement_verify_p256_crate_1_core", |b| {
        b.iter(|| {
            causeway_adapters::fabric::verify_signature(
                black_box(&verifying),
                black_box(&message),
                black_box(&der),
            )
            .unwrap();
        });
    });
    group.finish();
}

criterion_group!(benches, bench_p256, bench_ingest);
criterion_main!(benches);
