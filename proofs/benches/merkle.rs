//! Merkle log figures at 1M leaves: build rate (one by one and bulk), root time, and
//! inclusion / consistency proof generation and verification per second, beside the raw cost
//! of the same 2n SHA-256 hashes, `merkle_light` and `rs_merkle` on the same leaves.
//!
//! Run: `cargo bench -p causeway-proofs --bench merkle` (whole file: about two minutes).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use causeway_proofs::hash::Sha256Algorithm;
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{
    ConsistencyProof, Hash32, HashAlgorithm, InclusionProof, LeafIndex, LogSize,
};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use merkle_light::merkle::MerkleTree;
use sha2::{Digest, Sha256};

const LEAVES: usize = 1_000_000;
/// Distinct proofs cycled through by the per-proof benchmarks.
const PROOFS: usize = 1024;

/// Pseudo-random message ids (SplitMix64 expanded to 32 bytes; no RNG dependency needed).
fn random_ids(n: usize) -> Vec<Hash32> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let mut id = [0u8; 32];
            for chunk in id.chunks_exact_mut(8) {
                chunk.copy_from_slice(&next().to_le_bytes());
            }
            Hash32(id)
        })
        .collect()
}

/// The floor our log is measured against: the same 2n - 1 SHA-256 hashes with nothing else,
/// n leaf hashes of 33 bytes (0x00 ‖ id) and n - 1 node hashes of 65 bytes (0x01 ‖ l ‖ r),
/// written to preallocated buffers like a tree would be; a fresh hasher per hash (the usual
/// `Sha256::digest` idiom).
fn raw_sha256_2n(ids: &[Hash32]) -> Hash32 {
    let mut leaves = Vec::with_capacity(ids.len());
    for id in ids {
        leaves.push(<[u8; 32]>::from(
            Sha256::new()
                .chain_update([0u8])
                .chain_update(id.0)
                .finalize(),
        ));
    }
    let mut nodes = Vec::with_capacity(ids.len());
    let mut buf = [0u8; 65];
    buf[0] = 1;
    for pair in leaves.windows(2) {
        buf[1..33].copy_from_slice(&pair[0]);
        buf[33..].copy_from_slice(&pair[1]);
        nodes.push(<[u8; 32]>::from(Sha256::digest(buf)));
    }
    Hash32(nodes.last().copied().unwrap_or_default())
}

/// The same hashes through one reused hasher (`finalize_into_reset`), the tightest floor.
fn raw_sha256_2n_reused_hasher(ids: &[Hash32]) -> Hash32 {
    let mut hasher = Sha256::new();
    let mut out = [0u8; 32];
    let mut leaves = Vec::with_capacity(ids.len());
    for id in ids {
        hasher.update([0u8]);
        hasher.update(id.0);
        hasher.finalize_into_reset((&mut out).into());
        leaves.push(out);
    }
    let mut nodes = Vec::with_capacity(ids.len());
    for pair in leaves.windows(2) {
        hasher.update([1u8]);
        hasher.update(pair[0]);
        hasher.update(pair[1]);
        hasher.finalize_into_reset((&mut out).into());
        nodes.push(out);
    }
    Hash32(nodes.last().copied().unwrap_or_default())
}

fn build(c: &mut Criterion) {
    let ids = random_ids(LEAVES);
    let leaf_hashes: Vec<[u8; 32]> = ids
        .iter()
        .map(|id| HashAlgorithm::Sha256.leaf_hash(&id.0).0)
        .collect();

    let mut g = c.benchmark_group("merkle_build_1m");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(LEAVES as u64));

    g.bench_function("raw_sha256_2n_hashes", |b| {
        b.iter(|| raw_sha256_2n(black_box(&ids)))
    });
    g.bench_function("raw_sha256_2n_hashes_reused_hasher", |b| {
        b.iter(|| raw_sha256_2n_reused_hasher(black_box(&ids)))
    });
    g.bench_function("causeway_append_one_by_one", |b| {
        b.iter(|| {
            let mut log = Sha256Log::new();
            for id in black_box(&ids) {
                log.append(id);
            }
            log.root()
        })
    });
    g.bench_function("causeway_from_leaves_bulk", |b| {
        b.iter(|| Sha256Log::from_leaves(black_box(&ids)).root())
    });
    g.bench_function("merkle_light_from_iter", |b| {
        b.iter(|| {
            MerkleTree::<Hash32, Sha256Algorithm>::from_iter(black_box(&ids).iter().copied()).root()
        })
    });
    g.bench_function("rs_merkle_from_leaves", |b| {
        b.iter(|| {
            rs_merkle::MerkleTree::<rs_merkle::algorithms::Sha256>::from_leaves(black_box(
                &leaf_hashes,
            ))
            .root()
        })
    });
    g.finish();
}

fn roots_and_proofs(c: &mut Criterion) {
    let ids = random_ids(LEAVES);
    let log = Sha256Log::from_leaves(&ids);
    let n = LogSize(LEAVES as u64);
    let root = log.root();
    // Spread indices and old sizes over the whole log (odd multiplier: distinct mod 2^k).
    let index = |k: usize| (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) % LEAVES as u64;

    let mut g = c.benchmark_group("merkle_proofs_1m");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));

    g.bench_function("root_full_log", |b| b.iter(|| black_box(&log).root()));
    // 2^19 - 1 leaves: the most complete subtrees to fold (19) of any size below 1M.
    let odd = LogSize((1 << 19) - 1);
    g.bench_with_input(BenchmarkId::new("root_at", odd.0), &odd, |b, &s| {
        b.iter(|| black_box(&log).root_at(s).unwrap())
    });

    let mut k = 0;
    g.bench_function("inclusion_proof_generate", |b| {
        b.iter(|| {
            k += 1;
            log.inclusion_proof(LeafIndex(index(k)), n).unwrap()
        })
    });
    let inclusion: Vec<(InclusionProof, Hash32)> = (0..PROOFS)
        .map(|k| {
            let i = index(k);
            (
                log.inclusion_proof(LeafIndex(i), n).unwrap(),
                ids[i as usize],
            )
        })
        .collect();
    let mut k = 0;
    g.bench_function("inclusion_proof_verify", |b| {
        b.iter(|| {
            k = (k + 1) % PROOFS;
            let (p, id) = &inclusion[k];
            p.verify(HashAlgorithm::Sha256, id, &root).unwrap()
        })
    });

    let old = |k: usize| 1 + index(k) % (LEAVES as u64 - 1);
    let mut k = 0;
    g.bench_function("consistency_proof_generate", |b| {
        b.iter(|| {
            k += 1;
            log.consistency_proof(LogSize(old(k)), n).unwrap()
        })
    });
    let consistency: Vec<(ConsistencyProof, Hash32)> = (0..PROOFS)
        .map(|k| {
            let m = LogSize(old(k));
            (
                log.consistency_proof(m, n).unwrap(),
                log.root_at(m).unwrap(),
            )
        })
        .collect();
    let mut k = 0;
    g.bench_function("consistency_proof_verify", |b| {
        b.iter(|| {
            k = (k + 1) % PROOFS;
            let (p, old_root) = &consistency[k];
            p.verify(HashAlgorithm::Sha256, old_root, &root).unwrap()
        })
    });
    g.finish();
}

/// The same inclusion proofs from `merkle_light` and `rs_merkle` over the same 1M ids (neither
/// offers consistency proofs). `merkle_light` pads its tree to 2^20 leaves; `rs_merkle` uses its
/// default unprefixed SHA-256. Verification includes the comparison with the trusted root.
fn alternatives_proofs(c: &mut Criterion) {
    let ids = random_ids(LEAVES);
    let index = |k: usize| (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) % LEAVES as u64;
    let mut g = c.benchmark_group("merkle_proofs_1m_alternatives");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));

    let ml = MerkleTree::<Hash32, Sha256Algorithm>::from_iter(ids.iter().copied());
    let ml_root = ml.root();
    let mut k = 0;
    g.bench_function("merkle_light_inclusion_generate", |b| {
        b.iter(|| {
            k += 1;
            ml.gen_proof(index(k) as usize)
        })
    });
    let ml_proofs: Vec<_> = (0..PROOFS)
        .map(|k| ml.gen_proof(index(k) as usize))
        .collect();
    let mut k = 0;
    g.bench_function("merkle_light_inclusion_verify", |b| {
        b.iter(|| {
            k = (k + 1) % PROOFS;
            let p = &ml_proofs[k];
            assert!(p.validate::<Sha256Algorithm>() && p.root() == ml_root);
        })
    });
    drop(ml_proofs);
    drop(ml);

    let leaf_hashes: Vec<[u8; 32]> = ids
        .iter()
        .map(|id| HashAlgorithm::Sha256.leaf_hash(&id.0).0)
        .collect();
    let rs = rs_merkle::MerkleTree::<rs_merkle::algorithms::Sha256>::from_leaves(&leaf_hashes);
    let rs_root = rs.root().unwrap();
    let mut k = 0;
    g.bench_function("rs_merkle_inclusion_generate", |b| {
        b.iter(|| {
            k += 1;
            rs.proof(&[index(k) as usize])
        })
    });
    let rs_proofs: Vec<_> = (0..PROOFS)
        .map(|k| (index(k) as usize, rs.proof(&[index(k) as usize])))
        .collect();
    let mut k = 0;
    g.bench_function("rs_merkle_inclusion_verify", |b| {
        b.iter(|| {
            k = (k + 1) % PROOFS;
            let (i, p) = &rs_proofs[k];
            assert!(p.verify(rs_root, &[*i], &[leaf_hashes[*i]], LEAVES));
        })
    });
    g.finish();
}

criterion_group!(benches, build, roots_and_proofs, alternatives_proofs);
criterion_main!(benches);
