//! Envelope figures: seal and open of 1 KiB, 64 KiB and 16 MiB payloads for 1, 5 and 50
//! recipients, as throughput (payload bytes per second), beside single-core ceilings over
//! 16 MiB in 64 KiB calls: AWS-LC's AES-256-GCM (the envelope's cipher), RustCrypto's `aes-gcm`
//! (the test oracle, the cipher before) and BLAKE3 (the payload digest).
//! `scripts/bench-privacy.sh` measures `age` and `openssl speed` on the same sizes.
//!
//! Run: `cargo bench -p causeway-privacy --bench envelope` (whole file: about two minutes), or
//! one case: `cargo bench -p causeway-privacy --bench envelope -- 'seal/64KiB/1r$'`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use aes_gcm::aead::{AeadInPlace as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce};
use causeway_privacy::envelope::{self, EnvelopeContext, SealRequest};
use causeway_privacy::keys::{KeyPair, PublicKey};
use causeway_proofs::Domain;
use causeway_proofs::message::{Address32, Nonce as MessageNonce};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

const SIZES: [(usize, &str); 3] = [(1 << 10, "1KiB"), (64 << 10, "64KiB"), (16 << 20, "16MiB")];
const RECIPIENTS: [usize; 3] = [1, 5, 50];

fn context() -> EnvelopeContext {
    EnvelopeContext {
        origin: Domain(1),
        destination: Domain(2),
        nonce: MessageNonce(3),
        sender: Address32([4; 32]),
    }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(131) >> 3) as u8).collect()
}

fn keys(n: usize) -> (Vec<KeyPair>, Vec<PublicKey>) {
    let keys: Vec<KeyPair> = (0..n).map(|_| KeyPair::generate()).collect();
    let publics = keys.iter().map(|k| *k.public_key()).collect();
    (keys, publics)
}

fn seal_and_open(c: &mut Criterion) {
    for (op, is_seal) in [("seal", true), ("open", false)] {
        let mut group = c.benchmark_group(op);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sampling_mode(SamplingMode::Flat);
        for (size, label) in SIZES {
            let pt = payload(size);
            group.throughput(Throughput::Bytes(size as u64));
            for n in RECIPIENTS {
                let (keys, publics) = keys(n);
                let request = SealRequest {
                    context: context(),
                    recipients: &publics,
                };
                let id = BenchmarkId::new(label, format!("{n}r"));
                if is_seal {
                    let mut out = Vec::with_capacity(size + size / 1024 + 256 * n + 4096);
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            out.clear();
                            envelope::seal(&request, black_box(&pt[..]), &mut out).unwrap()
                        })
                    });
                } else {
                    let (sealed, outcome) = envelope::seal_to_vec(&request, &pt).unwrap();
                    let expected = envelope::ExpectedMessage {
                        context: context(),
                        commitment: outcome.commitment,
                    };
                    let reader = keys.last().unwrap(); // the last block: the longest search
                    let mut out = Vec::with_capacity(size);
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            out.clear();
                            envelope::open(reader, black_box(&sealed[..]), &expected, &mut out)
                                .unwrap()
                        })
                    });
                }
            }
        }
        group.finish();
    }
}

/// The ceiling: AES-256-GCM over 16 MiB on one core with the same crate, in one call and in
/// 64 KiB calls (the envelope's chunking, without key wrapping, hashing or I/O).
fn aes_baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("aes256gcm_baseline");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sampling_mode(SamplingMode::Flat);
    let size = 16 << 20;
    group.throughput(Throughput::Bytes(size as u64));
    let aes = Aes256Gcm::new(&[7u8; 32].into());
    let mut buf = payload(size);
    group.bench_function("16MiB/one_call", |b| {
        b.iter(|| {
            aes.encrypt_in_place_detached(&Nonce::from([1; 12]), b"", black_box(&mut buf[..]))
                .unwrap()
        })
    });
    group.bench_function("16MiB/64KiB_calls", |b| {
        b.iter(|| {
            for (i, chunk) in buf.chunks_mut(64 << 10).enumerate() {
                let mut nonce = [0u8; 12];
                nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
                black_box(
                    aes.encrypt_in_place_detached(&Nonce::from(nonce), b"", chunk)
                        .unwrap(),
                );
            }
        })
    });
    let aws = aws_lc_rs::aead::LessSafeKey::new(
        aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &[7u8; 32]).unwrap(),
    );
    group.bench_function("16MiB/aws_lc_64KiB_calls", |b| {
        b.iter(|| {
            for (i, chunk) in buf.chunks_mut(64 << 10).enumerate() {
                let mut nonce = [0u8; 12];
                nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
                let _tag = black_box(
                    aws.seal_in_place_separate_tag(
                        aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                        aws_lc_rs::aead::Aad::empty(),
                        chunk,
                    )
                    .unwrap(),
                );
            }
        })
    });
    group.bench_function("16MiB/blake3_64KiB_calls", |b| {
        b.iter(|| {
            let mut h = blake3::Hasher::new_derive_key("bench");
            for chunk in buf.chunks(64 << 10) {
                h.update(chunk);
            }
            black_box(h.finalize())
        })
    });
    group.finish();
}

criterion_group!(benches, seal_and_open, aes_baseline);
criterion_main!(benches);
