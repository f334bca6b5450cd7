//! The Anchor records only checkpoints that extend the last one (T21), and its RFC 9162
//! consistency check agrees with `causeway_proofs` on random pairs of sizes.

use alloy::primitives::{B256, Bytes};
use causeway_devnet::contracts::{Anchor, AnchorHandle, deploy_anchor};
use causeway_devnet::fixtures::{
    Committee, GovernanceDomain, OriginLog, ValidatorSetChange, anchor_checkpoint, b256,
    evm_signing_domain,
};
use causeway_devnet::{CHAIN_B, DevChain, Domain};
use causeway_proofs::{Checkpoint, Hash32, HashAlgorithm, LogSize, MessageId, SigningDomain};

use crate::mined;
use crate::support::{Rng, decode_revert, events};

use Anchor::AnchorErrors as E;

/// An Anchor with `committee` configured for `origin` (origin chain id 31337), and its signing
/// domain (destination 0).
async fn anchor_with(
    b: &DevChain,
    anchor: &AnchorHandle,
    origin: Domain,
    committee: &Committee,
) -> SigningDomain {
    mined!(anchor.setValidators(
        origin.0,
        31337,
        committee.addresses(),
        committee.threshold()
    ));
    let epoch = anchor.validatorSet(origin.0).call().await.unwrap().epoch;
    evm_signing_domain(
        origin,
        31337,
        Domain(0),
        b.spec.chain_id,
        *anchor.address(),
        epoch,
    )
}

fn checkpoint(log: &OriginLog, origin: Domain, size: u64) -> Checkpoint {
    let root = log.log().root_at(LogSize(size)).unwrap();
    Checkpoint::new(origin, HashAlgorithm::Sha256, LogSize(size), root).unwrap()
}

fn consistency(log: &OriginLog, old: u64, new: u64) -> Vec<B256> {
    log.log()
        .consistency_proof(LogSize(old), LogSize(new))
        .unwrap()
        .path
        .into_iter()
        .map(b256)
        .collect()
}

fn random_log(rng: &mut Rng, n: usize) -> OriginLog {
    let mut log = OriginLog::new();
    for _ in 0..n {
        let mut id = [0u8; 32];
        for chunk in id.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_be_bytes());
        }
        log.append_id(MessageId(Hash32(id)));
    }
    log
}

async fn anchor_err(
    anchor: &AnchorHandle,
    cp: &Checkpoint,
    sigs: Vec<Bytes>,
    proof: Vec<B256>,
) -> E {
    let err = anchor
        .anchor(anchor_checkpoint(cp), sigs, proof)
        .send()
        .await
        .unwrap_err();
    decode_revert::<E>(&err)
}

#[tokio::test]
async fn the_anchor_accepts_only_consistent_growing_checkpoints() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let anchor = deploy_anchor(&b.provider, b.admin).await.unwrap();
    let committee = Committee::new("anchor", 5, 3);
    let origin = Domain(1);
    let domain = anchor_with(&b, &anchor, origin, &committee).await;
    let mut rng = Rng::new(7);
    let log = random_log(&mut rng, 12);

    // The first checkpoint needs no consistency proof.
    let cp5 = checkpoint(&log, origin, 5);
    let on_chain = anchor
        .checkpointDigest(anchor_checkpoint(&cp5))
        .call()
        .await
        .unwrap();
    assert_eq!(
        on_chain.0,
        cp5.signing_digest(&domain).0,
        "destination 0, this chain and address"
    );
    let receipt = mined!(anchor.anchor(
        anchor_checkpoint(&cp5),
        committee.sign(&cp5, &domain),
        vec![]
    ));
    let ev = events::<Anchor::Anchored>(&receipt).remove(0);
    assert_eq!((ev.origin, ev.size, ev.root), (1, 5, b256(cp5.root())));
    let latest = anchor.latest(1).call().await.unwrap();
    assert_eq!((latest.size, latest.root), (5, b256(cp5.root())));

    // A consistent extension.
    let cp9 = checkpoint(&log, origin, 9);
    mined!(anchor.anchor(
        anchor_checkpoint(&cp9),
        committee.sign(&cp9, &domain),
        consistency(&log, 5, 9)
    ));
    assert_eq!(anchor.latest(1).call().await.unwrap().size, 9);
    // The same checkpoint again (equal size, equal root, empty proof) is accepted.
    mined!(anchor.anchor(
        anchor_checkpoint(&cp9),
        committee.sign(&cp9, &domain),
        vec![]
    ));

    // A rewritten history: a fork sharing the first 4 leaves (same seed), then other leaves,
    // signed by the committee.
    let mut fork = random_log(&mut Rng::new(7), 4);
    let mut other = Rng::new(8);
    for _ in 4..12 {
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&other.next_u64().to_be_bytes());
        fork.append_id(MessageId(Hash32(id)));
    }
    assert_eq!(
        fork.log().root_at(LogSize(4)).unwrap(),
        log.log().root_at(LogSize(4)).unwrap()
    );
    let forged12 = checkpoint(&fork, origin, 12);
    let e = anchor_err(
        &anchor,
        &forged12,
        committee.sign(&forged12, &domain),
        consistency(&fork, 9, 12),
    )
    .await;
    assert_eq!(
        e,
        E::InconsistentCheckpoint(Anchor::InconsistentCheckpoint {})
    );
    let forged9 = checkpoint(&fork, origin, 9);
    let e = anchor_err(&anchor, &forged9, committee.sign(&forged9, &domain), vec![]).await;
    assert_eq!(
        e,
        E::InconsistentCheckpoint(Anchor::InconsistentCheckpoint {})
    );
    // The genuine extension with a damaged or missing proof.
    let cp12 = checkpoint(&log, origin, 12);
    let mut bad = consistency(&log, 9, 12);
    bad[0].0[0] ^= 0x80;
    let e = anchor_err(&anchor, &cp12, committee.sign(&cp12, &domain), bad).await;
    assert_eq!(
        e,
        E::InconsistentCheckpoint(Anchor::InconsistentCheckpoint {})
    );
    let e = anchor_err(&anchor, &cp12, committee.sign(&cp12, &domain), vec![]).await;
    assert_eq!(
        e,
        E::InconsistentCheckpoint(Anchor::InconsistentCheckpoint {})
    );
    // A smaller log (root regression).
    let cp4 = checkpoint(&log, origin, 4);
    let e = anchor_err(&anchor, &cp4, committee.sign(&cp4, &domain), vec![]).await;
    assert_eq!(
        e,
        E::StaleCheckpoint(Anchor::StaleCheckpoint { last: 9, got: 4 })
    );
    // Signatures still matter: below threshold, or made for an Inbox's domain instead.
    let e = anchor_err(
        &anchor,
        &cp12,
        committee.sign_with(&cp12, &domain, &[0, 1]),
        consistency(&log, 9, 12),
    )
    .await;
    assert!(matches!(e, E::BelowThreshold(_)), "{e:?}");
    let inbox_domain = SigningDomain {
        destination: Domain(2),
        ..domain
    };
    let e = anchor_err(
        &anchor,
        &cp12,
        committee.sign(&cp12, &inbox_domain),
        consistency(&log, 9, 12),
    )
    .await;
    assert!(matches!(e, E::UnknownValidator(_)), "{e:?}");
    let latest = anchor.latest(1).call().await.unwrap();
    assert_eq!(
        (latest.size, latest.root),
        (9, b256(cp9.root())),
        "nothing changed"
    );

    mined!(anchor.anchor(
        anchor_checkpoint(&cp12),
        committee.sign(&cp12, &domain),
        consistency(&log, 9, 12)
    ));
    assert_eq!(anchor.latest(1).call().await.unwrap().size, 12);
}

#[tokio::test]
async fn anchoring_random_pairs_agrees_with_causeway_proofs() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let anchor = deploy_anchor(&b.provider, b.admin).await.unwrap();
    let committee = Committee::new("anchor pairs", 3, 2);
    let mut rng = Rng::new(0x5eed);
    let log = random_log(&mut rng, 200);
    for k in 0..6u32 {
        let origin = Domain(100 + k);
        let domain = anchor_with(&b, &anchor, origin, &committee).await;
        let old = rng.range(1, 199);
        let new = rng.range(old + 1, 200);
        let cp_old = checkpoint(&log, origin, old);
        let cp_new = checkpoint(&log, origin, new);
        mined!(anchor.anchor(
            anchor_checkpoint(&cp_old),
            committee.sign(&cp_old, &domain),
            vec![]
        ));
        let proof = log
            .log()
            .consistency_proof(LogSize(old), LogSize(new))
            .unwrap();
        // A damaged proof: Rust's verifier and the Anchor both refuse it.
        let mut damaged = proof.clone();
        let node = (rng.next_u64() as usize) % damaged.path.len();
        damaged.path[node].0[(rng.next_u64() % 32) as usize] ^= 1 << (rng.next_u64() % 8);
        assert!(
            damaged
                .verify(HashAlgorithm::Sha256, &cp_old.root(), &cp_new.root())
                .is_err()
        );
        let sigs = committee.sign(&cp_new, &domain);
        let e = anchor_err(
            &anchor,
            &cp_new,
            sigs.clone(),
            damaged.path.into_iter().map(b256).collect(),
        )
        .await;
        assert_eq!(
            e,
            E::InconsistentCheckpoint(Anchor::InconsistentCheckpoint {}),
            "{old} -> {new}"
        );
        // The genuine proof: both accept.
        assert!(
            proof
                .verify(HashAlgorithm::Sha256, &cp_old.root(), &cp_new.root())
                .is_ok()
        );
        mined!(anchor.anchor(
            anchor_checkpoint(&cp_new),
            sigs,
            proof.path.into_iter().map(b256).collect()
        ));
        let latest = anchor.latest(origin.0).call().await.unwrap();
        assert_eq!(
            (latest.size, latest.root),
            (new, b256(cp_new.root())),
            "{old} -> {new}"
        );
    }
}

#[tokio::test]
async fn the_anchors_validators_change_only_with_their_threshold_and_after_the_delay() {
    // Issue 9 item 3 on the Anchor (the same ValidatorRegistry as the Inbox).
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let anchor = deploy_anchor(&b.provider, b.admin).await.unwrap();
    let committee = Committee::new("anchor", 5, 3);
    let origin = Domain(1);
    let domain = anchor_with(&b, &anchor, origin, &committee).await;
    let err = anchor
        .setValidators(1, 31337, vec![b.admin], 1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        decode_revert::<E>(&err),
        E::AlreadyConfigured(Anchor::AlreadyConfigured { origin: 1 })
    );
    let next = Committee::new("anchor-next", 3, 2);
    let change = ValidatorSetChange {
        origin_chain_id: 31337,
        validators: next.addresses(),
        threshold: 2,
        epoch: 2,
    };
    let gov = GovernanceDomain {
        origin,
        origin_chain_id: 31337,
        epoch: 1,
        chain_id: b.spec.chain_id,
        verifier: *anchor.address(),
    };
    let digest = gov.change_digest(&change);
    // An Inbox's signatures (another verifier) do not count here.
    let elsewhere = GovernanceDomain {
        verifier: alloy::primitives::Address::repeat_byte(0x1b),
        ..gov
    };
    let wrong = committee.sign_digest(elsewhere.change_digest(&change), &[0, 1, 2]);
    let propose =
        |sigs: Vec<Bytes>| anchor.proposeValidatorSet(1, 31337, next.addresses(), 2, 2, sigs);
    let err = propose(wrong).send().await.unwrap_err();
    assert!(matches!(decode_revert::<E>(&err), E::UnknownValidator(_)));
    mined!(propose(committee.sign_digest(digest, &[0, 2, 4])));
    let err = anchor.applyValidatorSetChange(1).send().await.unwrap_err();
    assert!(matches!(decode_revert::<E>(&err), E::ChangeNotReady(_)));
    // The old set still anchors during the delay.
    let log = random_log(&mut Rng::new(3), 4);
    let cp = checkpoint(&log, origin, 4);
    mined!(anchor.anchor(anchor_checkpoint(&cp), committee.sign(&cp, &domain), vec![]));
    crate::support::advance_time(&b, causeway_devnet::contracts::DEVNET_CHANGE_DELAY).await;
    mined!(anchor.applyValidatorSetChange(1));
    assert_eq!(anchor.validatorSet(1).call().await.unwrap().epoch, 2);
    let domain2 = SigningDomain {
        validator_epoch: 2,
        ..domain
    };
    let cp6 = {
        let log = random_log(&mut Rng::new(3), 6);
        (checkpoint(&log, origin, 6), consistency(&log, 4, 6))
    };
    mined!(anchor.anchor(
        anchor_checkpoint(&cp6.0),
        next.sign(&cp6.0, &domain2),
        cp6.1
    ));
}
