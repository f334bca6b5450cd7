//! Member gateways attesting together: three relayers, each with its own store and its own
//! validator key, exchange their checkpoint signatures through an in-process stand-in for the
//! peer protocol ([`Mesh`]: what `causeway-peer` carries over mutual TLS). No gateway holds
//! another's key, so a 2-of-3 lane delivers only if the attest stages co-sign each other's
//! checkpoints. Also: root mismatches and equivocation from a faulty member (caught by a gateway
//! whose log lags too), and the delivery rota.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use causeway_adapters::chain::BoxFuture;
use causeway_adapters::memory::MemoryChain;
use causeway_adapters::{DeliveryStatus, Destination};
use causeway_proofs::{Checkpoint, Hash32, LeafIndex, ValidatorKey};
use causeway_relayer::pipeline::{
    LaneConfig, OriginConfig, PeerSignature, SignatureCollector, SignatureRequest,
};
use causeway_relayer::store::{
    CheckpointStore, Lane, Result as StoreResult, Rota, SourceStore, SqliteStore, Store,
    ValidatorSignature,
};
use causeway_relayer::{Relayer, RelayerHandle};
use tokio::sync::mpsc;

use crate::support::pipeline::*;

/// How a member's gateway signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Signs the root its attest stage rebuilt.
    Honest,
    /// Signs another root instead (a buggy or hostile gateway, one root per size).
    WrongRoot,
    /// Signs the right root and another one for the same size.
    Equivocate,
}

/// The members' lane channels, and what each member sent last (by member).
#[derive(Default)]
struct Wires {
    inboxes: Vec<(usize, mpsc::Sender<PeerSignature>)>,
    latest: std::collections::BTreeMap<usize, Vec<PeerSignature>>,
}

type Inboxes = Arc<Mutex<Wires>>;

/// An in-process stand-in for the peer protocol between `n` members: each member's collector
/// signs with its own key and sends the signature to every other member's lane channel; a member
/// that subscribes late first gets what each other member sent last (as the peer protocol's
/// server sends its latest signature to a member that connects).
struct Mesh {
    inboxes: Inboxes,
}

impl Mesh {
    fn new() -> Self {
        Mesh {
            inboxes: Arc::default(),
        }
    }

    fn member(&self, index: usize, behaviour: Behaviour) -> Arc<MeshCollector> {
        Arc::new(MeshCollector {
            index,
            key: key(index as u8),
            behaviour,
            inboxes: Arc::clone(&self.inboxes),
        })
    }
}

struct MeshCollector {
    index: usize,
    key: ValidatorKey,
    behaviour: Behaviour,
    inboxes: Inboxes,
}

impl MeshCollector {
    fn signed(&self, checkpoint: Checkpoint, request: &SignatureRequest) -> PeerSignature {
        PeerSignature {
            checkpoint,
            signature: ValidatorSignature {
                validator: self.key.address(),
                signature: self.key.sign_checkpoint(&checkpoint, &request.domain),
            },
        }
    }
}

/// `cp` with another (deterministic, non-zero) root.
fn wrong(cp: &Checkpoint) -> Checkpoint {
    let mut root = cp.root().0;
    root[0] ^= 0xff;
    root[31] ^= 0x01;
    Checkpoint::new(cp.origin(), cp.hash_algorithm(), cp.size(), Hash32(root)).unwrap()
}

impl SignatureCollector for MeshCollector {
    fn collect<'a>(
        &'a self,
        request: &'a SignatureRequest,
    ) -> BoxFuture<'a, StoreResult<Vec<ValidatorSignature>>> {
        Box::pin(async move {
            let good = self.signed(request.checkpoint, request);
            let (own, sent) = match self.behaviour {
                Behaviour::Honest => (vec![good.signature], vec![good]),
                Behaviour::WrongRoot => (
                    vec![],
                    vec![self.signed(wrong(&request.checkpoint), request)],
                ),
                Behaviour::Equivocate => (
                    vec![good.signature],
                    vec![good, self.signed(wrong(&request.checkpoint), request)],
                ),
            };
            let others: Vec<(usize, mpsc::Sender<PeerSignature>)> = {
                let mut wires = self.inboxes.lock().unwrap();
                wires.latest.insert(self.index, sent.clone());
                wires.inboxes.clone()
            };
            let others = others
                .into_iter()
                .filter(|(member, _)| *member != self.index)
                .map(|(_, tx)| tx);
            for tx in others {
                for s in &sent {
                    // A member that stopped has dropped its receiver: nothing to deliver to.
                    let _ = tx.send(s.clone()).await;
                }
            }
            Ok(own)
        })
    }

    fn subscribe(&self, lane: Lane) -> Option<mpsc::Receiver<PeerSignature>> {
        assert_eq!(
            lane,
            Lane {
                origin: P_ORIGIN,
                destination: P_DEST
            }
        );
        let (tx, rx) = mpsc::channel(256);
        let mut wires = self.inboxes.lock().unwrap();
        for (_, sent) in wires.latest.iter().filter(|(m, _)| **m != self.index) {
            for s in sent {
                tx.try_send(s.clone()).unwrap();
            }
        }
        wires.inboxes.push((self.index, tx));
        Some(rx)
    }
}

const MEMBERS: u32 = 3;
const BATCH: usize = 20;

/// Member `index`'s gateway: its own store, the shared origin, a probe over the shared
/// destination, and its turn in the rota.
async fn gateway(
    dir: &std::path::Path,
    index: usize,
    source: &MemoryChain,
    probe: Arc<Probe>,
    collector: Arc<MeshCollector>,
) -> (RelayerHandle, Arc<SqliteStore>) {
    let rota = Rota {
        members: MEMBERS,
        position: index as u32,
        run: BATCH as u64,
        grace: Duration::from_millis(1500),
    };
    gateway_with(dir, index, source, probe, collector, Some(rota)).await
}

/// A member's gateway with any collector and delivery turn.
async fn gateway_with(
    dir: &std::path::Path,
    index: usize,
    source: &MemoryChain,
    probe: Arc<Probe>,
    collector: Arc<dyn SignatureCollector>,
    rota: Option<Rota>,
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
    .lane(LaneConfig {
        limits: Default::default(),
        destination: probe,
        signing_domain: signing_domain(),
        validators: validators(&keys, 2),
        hash_algorithm: causeway_proofs::HashAlgorithm::Sha256,
        batch_size: BATCH,
        rota,
    })
    .spawn()
    .await
    .unwrap();
    (handle, store)
}

/// Runs three member gateways with `behaviours` over `n` messages until each of `honest` has
/// every message confirmed; returns each gateway's metrics, the probes and the stores.
async fn consortium(
    n: u64,
    behaviours: [Behaviour; 3],
) -> (
    Vec<causeway_relayer::pipeline::PipelineMetricsSnapshot>,
    Vec<Arc<Probe>>,
    Vec<Arc<SqliteStore>>,
    MemoryChain,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let source = MemoryChain::new(P_ORIGIN, 0);
    emit(&source, &messages(0, n), 7);
    let chain = destination_chain(&[key(0), key(1), key(2)], 2);
    let mesh = Mesh::new();
    let mut handles = Vec::new();
    let mut probes = Vec::new();
    let mut stores = Vec::new();
    for (i, behaviour) in behaviours.into_iter().enumerate() {
        let probe = Arc::new(Probe::new(chain.clone()));
        let (handle, store) = gateway(
            dir.path(),
            i,
            &source,
            Arc::clone(&probe),
            mesh.member(i, behaviour),
        )
        .await;
        handles.push(handle);
        probes.push(probe);
        stores.push(store);
    }
    for (i, handle) in handles.iter().enumerate() {
        if behaviours[i] == Behaviour::Honest {
            wait_until(handle, Duration::from_secs(60), |p| {
                counts(p).confirmed == n
            })
            .await;
        }
    }
    // The honest two can reach their threshold and deliver everything before a faulty
    // member's signatures (sent with its co-signatures) are processed: give those a moment to
    // arrive before stopping, so the tests see what the faulty member did.
    let faulty =
        behaviours.contains(&Behaviour::Equivocate) || behaviours.contains(&Behaviour::WrongRoot);
    let mut metrics = Vec::new();
    for (i, handle) in handles.into_iter().enumerate() {
        let m = if faulty && behaviours[i] == Behaviour::Honest {
            metrics_when(&handle, |m| {
                m.all_lanes().equivocations > 0 || m.all_lanes().root_mismatches > 0
            })
            .await
        } else {
            handle.metrics()
        };
        metrics.push(m);
        handle.shutdown().await;
    }
    (metrics, probes, stores, chain, dir)
}

fn lane() -> Lane {
    Lane {
        origin: P_ORIGIN,
        destination: P_DEST,
    }
}

/// Every message applied at the destination exactly once, whoever sent it.
fn assert_exactly_once(probes: &[Arc<Probe>], n: u64) -> u32 {
    let mut total = std::collections::HashMap::new();
    for probe in probes {
        for (id, times) in probe.deliveries() {
            *total.entry(id).or_insert(0u32) += times;
        }
    }
    assert_eq!(total.len() as u64, n, "every message delivered");
    total.values().copied().max().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_each_with_one_key_reach_two_of_three_by_co_signing() {
    const N: u64 = 200;
    let (metrics, probes, stores, chain, _dir) = consortium(N, [Behaviour::Honest; 3]).await;
    assert_eq!(
        assert_exactly_once(&probes, N),
        1,
        "no message applied twice"
    );
    for m in messages(0, N) {
        assert_eq!(
            chain.delivery_status(&m.id()).await.unwrap(),
            DeliveryStatus::Delivered
        );
    }
    // Every member's store holds a threshold checkpoint signed by at least two members.
    for store in &stores {
        let cp = store
            .latest_checkpoint(lane(), 2)
            .unwrap()
            .expect("a threshold checkpoint");
        assert!(cp.signatures.len() >= 2, "{cp:?}");
        assert!(store.equivocations(lane()).unwrap().is_empty());
    }
    // The rota spread the work: each member sent messages, and duplicates stayed rare.
    let submitted: Vec<u64> = metrics
        .iter()
        .map(|m| m.all_lanes().messages_submitted)
        .collect();
    assert!(
        submitted.iter().all(|s| *s > 0),
        "every member delivered its runs: {submitted:?}"
    );
    let sent: u64 = submitted.iter().sum();
    assert!(
        sent <= N + N / 10,
        "at most 10% duplicate sends: {submitted:?}"
    );
    for m in &metrics {
        assert_eq!(m.all_lanes().root_mismatches, 0);
        assert_eq!(m.all_lanes().equivocations, 0);
        assert_eq!(m.all_lanes().invalid_member_signatures, 0);
        assert!(m.all_lanes().member_signatures > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signing_other_roots_is_a_root_mismatch_never_counted() {
    const N: u64 = 60;
    let (metrics, probes, stores, _chain, _dir) = consortium(
        N,
        [Behaviour::Honest, Behaviour::Honest, Behaviour::WrongRoot],
    )
    .await;
    assert_eq!(assert_exactly_once(&probes, N), 1);
    let faulty = key(2).address();
    for (i, store) in stores.iter().enumerate().take(2) {
        assert!(
            metrics[i].all_lanes().root_mismatches > 0,
            "{:?}",
            metrics[i]
        );
        assert!(
            store.equivocations(lane()).unwrap().is_empty(),
            "one root per size is no equivocation"
        );
        let cp = store.latest_checkpoint(lane(), 2).unwrap().unwrap();
        assert!(
            cp.signatures.iter().all(|s| s.validator != faulty),
            "{cp:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equivocating_member_is_caught_with_evidence_and_the_honest_two_go_on() {
    const N: u64 = 60;
    let (metrics, probes, stores, _chain, _dir) = consortium(
        N,
        [Behaviour::Honest, Behaviour::Honest, Behaviour::Equivocate],
    )
    .await;
    assert_eq!(assert_exactly_once(&probes, N), 1);
    let faulty = key(2).address();
    for (i, store) in stores.iter().enumerate().take(2) {
        let evidence = store.equivocations(lane()).unwrap();
        assert_eq!(evidence.len(), 1, "one evidence per validator and lane");
        assert_eq!(evidence[0].verify().unwrap(), faulty);
        assert_eq!(evidence[0].domain, signing_domain());
        assert!(metrics[i].all_lanes().equivocations >= 1);
        // Its signatures stop counting, even those over honest roots.
        let cp = store.latest_checkpoint(lane(), 2).unwrap().unwrap();
        assert!(
            cp.signatures.iter().all(|s| s.validator != faulty),
            "{cp:?}"
        );
        assert!(store.latest_checkpoint(lane(), 3).unwrap().is_none());
    }
}

/// A collector for one gateway whose members' signatures the test sends itself: it signs with
/// its own key only, and its lane channel is the test's.
struct HandFed {
    key: ValidatorKey,
    inbox: Mutex<Option<mpsc::Receiver<PeerSignature>>>,
}

impl SignatureCollector for HandFed {
    fn collect<'a>(
        &'a self,
        request: &'a SignatureRequest,
    ) -> BoxFuture<'a, StoreResult<Vec<ValidatorSignature>>> {
        Box::pin(async move {
            Ok(vec![ValidatorSignature {
                validator: self.key.address(),
                signature: self
                    .key
                    .sign_checkpoint(&request.checkpoint, &request.domain),
            }])
        })
    }

    fn subscribe(&self, _lane: Lane) -> Option<mpsc::Receiver<PeerSignature>> {
        self.inbox.lock().unwrap().take()
    }
}

/// A gateway whose log lags behind a member that signed two roots for one size: both signatures
/// wait for the log, and once it reaches that size both are settled, the second as evidence.
/// (Kept by size and validator alone, the later signature replaced the earlier one while
/// waiting, and the lagging gateway saw one root mismatch and never the equivocation: the
/// multi-process test caught that only by timing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_gateway_keeps_both_roots_a_member_signed_and_catches_the_equivocation() {
    const N: u64 = 12;
    let dir = tempfile::tempdir().unwrap();
    let source = MemoryChain::new(P_ORIGIN, 0);
    let keys = [key(0), key(1), key(2)];
    let (tx, rx) = mpsc::channel(16);
    let collector = Arc::new(HandFed {
        key: key(0),
        inbox: Mutex::new(Some(rx)),
    });
    let probe = Arc::new(Probe::new(destination_chain(&keys, 2)));
    let (handle, store) = gateway_with(dir.path(), 0, &source, probe, collector, None).await;

    // The faulty member signs the true root of the first N messages and another one, before
    // this gateway has seen any of them.
    let msgs = messages(0, N);
    let mut log = causeway_proofs::log::Sha256Log::new();
    for m in &msgs {
        log.append(m.id().as_hash());
    }
    let size = causeway_proofs::LogSize(N);
    let good = Checkpoint::new(
        P_ORIGIN,
        causeway_proofs::HashAlgorithm::Sha256,
        size,
        log.root_at(size).unwrap(),
    )
    .unwrap();
    let faulty = key(2);
    for cp in [good, wrong(&good)] {
        let signature = ValidatorSignature {
            validator: faulty.address(),
            signature: faulty.sign_checkpoint(&cp, &signing_domain()),
        };
        tx.send(PeerSignature {
            checkpoint: cp,
            signature,
        })
        .await
        .unwrap();
    }
    let received = metrics_when(&handle, |m| m.all_lanes().member_signatures == 2).await;
    assert_eq!(received.all_lanes().member_signatures, 2);
    assert_eq!(received.all_lanes().invalid_member_signatures, 0);
    assert_eq!(
        store.log_size(P_ORIGIN).unwrap(),
        causeway_proofs::LogSize(0)
    );
    assert!(store.equivocations(lane()).unwrap().is_empty());

    // Now the log reaches that size: both waiting signatures are settled.
    emit(&source, &msgs, 5);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let evidence = loop {
        let evidence = store.equivocations(lane()).unwrap();
        if !evidence.is_empty() || tokio::time::Instant::now() >= deadline {
            break evidence;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(evidence.len(), 1, "the lagging gateway kept both roots");
    assert_eq!(evidence[0].verify().unwrap(), faulty.address());
    let m = metrics_when(&handle, |m| m.all_lanes().equivocations >= 1).await;
    assert_eq!(m.all_lanes().equivocations, 1);
    handle.shutdown().await;
}

#[test]
fn the_rota_gives_each_member_its_runs_first_and_the_next_one_after_a_grace() {
    let rota = |position| Rota {
        members: 3,
        position,
        run: 10,
        grace: Duration::from_secs(2),
    };
    // Leaves 0-9 are member 0's, 10-19 member 1's, 20-29 member 2's, 30-39 member 0's again.
    assert_eq!(rota(0).wait(LeafIndex(0)), Duration::ZERO);
    assert_eq!(rota(1).wait(LeafIndex(0)), Duration::from_secs(2));
    assert_eq!(rota(2).wait(LeafIndex(9)), Duration::from_secs(4));
    assert_eq!(rota(1).wait(LeafIndex(10)), Duration::ZERO);
    assert_eq!(rota(0).wait(LeafIndex(10)), Duration::from_secs(4));
    assert_eq!(rota(0).wait(LeafIndex(35)), Duration::ZERO);
    assert_eq!(rota(2).wait(LeafIndex(35)), Duration::from_secs(4));
}
