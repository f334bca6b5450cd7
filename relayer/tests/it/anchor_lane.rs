//! An attested-only lane (a public Anchor's, destination domain 0, its own signing domain)
//! between three member gateways, each with its own store and key, exchanging signatures
//! through an in-process stand-in for the peer protocol: the honest two reach 2 of 3 on the
//! Anchor's lane by co-signing each other's checkpoints on the entries schedule; a member that
//! offers anchor signatures over roots it did not rebuild (as no honest gateway could have) is a
//! root mismatch, never counted and never co-signed; nothing is delivered on the lane.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use causeway_adapters::chain::BoxFuture;
use causeway_adapters::memory::MemoryChain;
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{Checkpoint, Domain, Hash32, HashAlgorithm, SigningDomain, ValidatorKey};
use causeway_relayer::pipeline::{
    AttestLaneConfig, OriginConfig, PeerSignature, SignatureCollector, SignatureRequest,
};
use causeway_relayer::store::{
    CheckpointStore, Lane, Result as StoreResult, SqliteStore, Store, ValidatorSignature,
};
use causeway_relayer::{Relayer, RelayerHandle};
use tokio::sync::mpsc;

use crate::support::pipeline::*;

/// The Anchor's lane of `P_ORIGIN`.
fn anchor_lane() -> Lane {
    Lane {
        origin: P_ORIGIN,
        destination: Domain(0),
    }
}

/// The Anchor's signing domain for `P_ORIGIN`.
fn anchor_domain() -> SigningDomain {
    SigningDomain {
        origin: P_ORIGIN,
        origin_chain_id: 1010,
        destination: Domain(0),
        destination_chain_id: 1,
        inbox: SigningDomain::evm_inbox(
            "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
                .parse()
                .unwrap(),
        ),
        validator_epoch: 1,
    }
}

/// Every member's channel on the anchor lane.
type Wires = Arc<Mutex<Vec<(usize, mpsc::Sender<PeerSignature>)>>>;

/// Signs with its own key and sends each signature to the other members; a liar signs another
/// root than the one its attest stage rebuilt (and keeps no signature of its own).
struct Member {
    index: usize,
    key: ValidatorKey,
    liar: bool,
    wires: Wires,
}

impl SignatureCollector for Member {
    fn collect<'a>(
        &'a self,
        request: &'a SignatureRequest,
    ) -> BoxFuture<'a, StoreResult<Vec<ValidatorSignature>>> {
        Box::pin(async move {
            assert_eq!(
                request.domain,
                anchor_domain(),
                "signed for the Anchor's domain"
            );
            let cp = if self.liar {
                let mut root = request.checkpoint.root().0;
                root[0] ^= 0xff;
                Checkpoint::new(
                    request.checkpoint.origin(),
                    request.checkpoint.hash_algorithm(),
                    request.checkpoint.size(),
                    Hash32(root),
                )
                .unwrap()
            } else {
                request.checkpoint
            };
            let signed = PeerSignature {
                checkpoint: cp,
                signature: ValidatorSignature {
                    validator: self.key.address(),
                    signature: self.key.sign_checkpoint(&cp, &request.domain),
                },
            };
            let others: Vec<mpsc::Sender<PeerSignature>> = self
                .wires
                .lock()
                .unwrap()
                .iter()
                .filter(|(m, _)| *m != self.index)
                .map(|(_, tx)| tx.clone())
                .collect();
            for tx in others {
                let _ = tx.send(signed.clone()).await;
            }
            Ok(if self.liar {
                vec![]
            } else {
                vec![signed.signature]
            })
        })
    }

    fn subscribe(&self, lane: Lane) -> Option<mpsc::Receiver<PeerSignature>> {
        assert_eq!(
            lane,
            anchor_lane(),
            "only the Anchor's lane is attested here"
        );
        let (tx, rx) = mpsc::channel(256);
        self.wires.lock().unwrap().push((self.index, tx));
        Some(rx)
    }
}

async fn member(
    dir: &std::path::Path,
    index: usize,
    source: &MemoryChain,
    collector: Arc<Member>,
) -> (RelayerHandle, Arc<SqliteStore>) {
    let keys = [key(0), key(1), key(2)];
    let store = Arc::new(SqliteStore::open(dir.join(format!("member-{index}.db"))).unwrap());
    let handle = Relayer::new(
        Arc::clone(&store) as Arc<dyn Store>,
        collector,
        named_config(&format!("member-{index}")),
    )
    .origin(OriginConfig {
        source: Arc::new(source.clone()),
        verifier: Arc::new(source.clone()),
        start_height: 0,
    })
    .attest_lane(AttestLaneConfig {
        signing_domain: anchor_domain(),
        validators: validators(&keys, 2),
        hash_algorithm: HashAlgorithm::Sha256,
        // Every 20 new entries, and the tail after 300 ms.
        every: Some(Duration::from_millis(300)),
        every_entries: Some(20),
    })
    .spawn()
    .await
    .unwrap();
    (handle, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchor_signatures_over_a_root_a_member_did_not_rebuild_are_refused() {
    const N: u64 = 100;
    let dir = tempfile::tempdir().unwrap();
    let source = MemoryChain::new(P_ORIGIN, 0);
    let msgs = messages(0, N);
    let wires = Wires::default();
    let liar = key(2).address();
    let mut members = Vec::new();
    for i in 0..3 {
        let collector = Arc::new(Member {
            index: i,
            key: key(i as u8),
            liar: i == 2,
            wires: Arc::clone(&wires),
        });
        members.push(member(dir.path(), i, &source, collector).await);
    }
    // Every member is subscribed before the origin's messages appear (this stand-in does not
    // replay a member's latest signature to a late subscriber, as the peer protocol does).
    emit(&source, &msgs, 5);
    let leaves: Vec<Hash32> = msgs.iter().map(|m| *m.id().as_hash()).collect();
    let log = Sha256Log::from_leaves(&leaves);

    // The honest two reach the threshold on the whole log.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut last: BTreeMap<usize, u64> = BTreeMap::new();
    loop {
        for (i, (_, store)) in members.iter().enumerate().take(2) {
            if let Some(cp) = store.latest_checkpoint(anchor_lane(), 2).unwrap() {
                last.insert(i, cp.checkpoint.size().0);
            }
        }
        if last.len() == 2 && last.values().all(|s| *s == N) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the honest members' threshold checkpoints on the Anchor's lane: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (i, (handle, store)) in members.iter().enumerate().take(2) {
        let cp = store.latest_checkpoint(anchor_lane(), 2).unwrap().unwrap();
        // The root is the log's, signed by the two honest validators only.
        assert_eq!(cp.checkpoint.root(), log.root(), "member {i}");
        assert!(
            cp.signatures.iter().all(|s| s.validator != liar),
            "member {i} counted the liar: {cp:?}"
        );
        assert!(cp.signatures.len() >= 2, "{cp:?}");
        // Every signature verifies under the Anchor's domain, never the delivery lane's.
        for s in &cp.signatures {
            let digest = cp.checkpoint.signing_digest(&anchor_domain());
            assert_eq!(
                causeway_proofs::attestation::recover(&digest, &s.signature, 0).unwrap(),
                s.validator
            );
            let lane_digest = cp.checkpoint.signing_digest(&signing_domain());
            assert_ne!(
                causeway_proofs::attestation::recover(&lane_digest, &s.signature, 0).ok(),
                Some(s.validator)
            );
        }
        // The liar's offers were root mismatches on the Anchor's lane, not equivocation.
        let m = metrics_when(handle, |m| m.lane(anchor_lane()).root_mismatches > 0).await;
        assert!(
            m.lane(anchor_lane()).root_mismatches > 0,
            "member {i}: {m:?}"
        );
        assert_eq!(m.lane(anchor_lane()).equivocations, 0);
        assert!(store.equivocations(anchor_lane()).unwrap().is_empty());
        // Own checkpoints followed the schedule (one per 20 entries and the tail, and a
        // co-signature per honest member's own), not one per origin block (20 blocks).
        assert!(
            m.lane(anchor_lane()).checkpoints < 20,
            "member {i} signed {} checkpoints",
            m.lane(anchor_lane()).checkpoints
        );
        // Nothing is delivered on an attested-only lane.
        assert_eq!(m.lane(anchor_lane()).messages_submitted, 0);
    }
    for (handle, _) in members {
        handle.shutdown().await;
    }
}
