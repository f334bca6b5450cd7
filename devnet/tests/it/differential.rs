//! The contracts' RFC 9162 verifiers against `causeway_proofs` on random logs: the same
//! accept/reject verdict for genuine proofs and for every kind of mutation (T17, T18).

use alloy::primitives::B256;
use causeway_devnet::contracts::deploy_anchor;
use causeway_devnet::fixtures::{OriginLog, b256};
use causeway_devnet::{CHAIN_B, DevChain};
use causeway_proofs::{
    ConsistencyProof, Hash32, HashAlgorithm, InclusionProof, LeafIndex, LogSize, MessageId,
};

use crate::support::Rng;

/// A log of `n` pseudo-random ids (the ids are kept for inclusion checks).
fn random_log(rng: &mut Rng, n: usize) -> (OriginLog, Vec<Hash32>) {
    let mut log = OriginLog::new();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let mut id = [0u8; 32];
        for chunk in id.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_be_bytes());
        }
        log.append_id(MessageId(Hash32(id)));
        ids.push(Hash32(id));
    }
    (log, ids)
}

/// A random change to a path: flip a bit, drop, add or duplicate a node (or nothing when the
/// path is empty and the draw says so).
fn mutate_path(rng: &mut Rng, path: &mut Vec<Hash32>) {
    match rng.next_u64() % 4 {
        0 if !path.is_empty() => {
            let i = (rng.next_u64() as usize) % path.len();
            path[i].0[(rng.next_u64() % 32) as usize] ^= 1 << (rng.next_u64() % 8);
        }
        1 if !path.is_empty() => {
            path.pop();
        }
        2 if !path.is_empty() => {
            let first = path[0];
            path.insert(0, first);
        }
        _ => path.push(Hash32([0x5a; 32])),
    }
}

fn abi_path(path: &[Hash32]) -> Vec<B256> {
    path.iter().copied().map(b256).collect()
}

#[tokio::test]
async fn inclusion_and_consistency_verdicts_match_causeway_proofs() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let anchor = deploy_anchor(&b.provider, b.admin).await.unwrap();
    let inbox = &b.inbox;
    let mut rng = Rng::new(2024);
    let (log, ids) = random_log(&mut rng, 300);
    let sha = HashAlgorithm::Sha256;
    let (mut accepted, mut rejected) = (0, 0);

    for case in 0..48 {
        let size = rng.range(1, 300);
        let index = rng.range(0, size - 1);
        let root = log.log().root_at(LogSize(size)).unwrap();
        let proof = log
            .log()
            .inclusion_proof(LeafIndex(index), LogSize(size))
            .unwrap();
        let id = ids[index as usize];
        // The genuine proof, then one mutation of the path, index, size, leaf or root.
        let mut variants = vec![(proof.clone(), id, root)];
        let mut p = proof.clone();
        let (mut leaf, mut r) = (id, root);
        match case % 6 {
            0 | 1 => mutate_path(&mut rng, &mut p.path),
            2 => p.index = LeafIndex(rng.range(0, 400)),
            3 => p.size = LogSize(rng.range(0, 400)),
            4 => leaf = ids[rng.range(0, 299) as usize],
            _ => r.0[0] ^= 1,
        }
        variants.push((p, leaf, r));
        // T18: an interior node posing as a leaf, with the path above it.
        if proof.path.len() > 1 && case % 8 == 0 {
            let node = proof.path.first().copied().expect("checked non-empty");
            let short = InclusionProof {
                index: LeafIndex(index / 2),
                size: LogSize(size),
                path: proof.path[1..].to_vec(),
            };
            variants.push((short, node, root));
        }
        for (p, leaf, r) in variants {
            let rust = p.verify(sha, &leaf, &r).is_ok();
            let chain = inbox
                .verifyInclusion(b256(leaf), p.index.0, p.size.0, abi_path(&p.path), b256(r))
                .call()
                .await
                .unwrap();
            assert_eq!(chain, rust, "inclusion {p:?} of {leaf} in {r}");
            if rust { accepted += 1 } else { rejected += 1 }
        }
    }

    for case in 0..48 {
        let new = rng.range(1, 300);
        let old = rng.range(1, new);
        let (old_root, new_root) = (
            log.log().root_at(LogSize(old)).unwrap(),
            log.log().root_at(LogSize(new)).unwrap(),
        );
        let proof = log
            .log()
            .consistency_proof(LogSize(old), LogSize(new))
            .unwrap();
        let mut variants = vec![(proof.clone(), old_root, new_root)];
        let mut p = proof.clone();
        let (mut o, mut n) = (old_root, new_root);
        match case % 5 {
            0 | 1 => mutate_path(&mut rng, &mut p.path),
            2 => p.old_size = LogSize(rng.range(0, 310)),
            3 => p.new_size = LogSize(rng.range(0, 310)),
            _ => {
                o.0[31] ^= 1;
                n = if case % 2 == 0 { n } else { Hash32([0; 32]) };
            }
        }
        variants.push((p, o, n));
        for (p, o, n) in variants {
            let rust = ConsistencyProof::verify(&p, sha, &o, &n).is_ok();
            let chain = anchor
                .verifyConsistency(
                    p.old_size.0,
                    p.new_size.0,
                    b256(o),
                    b256(n),
                    abi_path(&p.path),
                )
                .call()
                .await
                .unwrap();
            assert_eq!(chain, rust, "consistency {p:?} from {o} to {n}");
            if rust { accepted += 1 } else { rejected += 1 }
        }
    }
    // Both verdicts occurred often enough for the comparison to mean something.
    assert!(
        accepted >= 96 && rejected >= 60,
        "accepted {accepted}, rejected {rejected}"
    );
}
