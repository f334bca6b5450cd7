//! [`PeerCollector`]: the relayer's [`SignatureCollector`] for a consortium. It signs with this
//! gateway's validator key, remembers and publishes its own signatures to the peer server's
//! subscribers, and hands the signatures the peer clients receive to the attest stage.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use causeway_proofs::{Checkpoint, EvmAddress, ValidatorKey};
use causeway_relayer::adapters::chain::BoxFuture;
use causeway_relayer::pipeline::{PeerSignature, SignatureCollector, SignatureRequest};
use causeway_relayer::store::{Lane, Result as StoreResult, ValidatorSignature};
use tokio::sync::{broadcast, mpsc, watch};

/// Signatures buffered per lane channel before a receiving peer client waits (backpressure).
pub const DEFAULT_LANE_CHANNEL_CAPACITY: usize = 256;
/// Own signatures buffered for the peer server's subscribers; a subscriber further behind is
/// sent the latest signature per lane again.
pub const DEFAULT_BROADCAST_CAPACITY: usize = 1024;

/// This gateway's signer and the meeting point of the peer server (which streams this gateway's
/// signatures) and the peer clients (which receive the other members').
///
/// Security: it holds the gateway's [`ValidatorKey`] (zeroized on drop, `Debug` redacted) and
/// signs only what the attest stage asks for in [`SignatureCollector::collect`], which is a root
/// the attest stage rebuilt itself; nothing received from a peer is ever signed here.
pub struct PeerCollector {
    key: ValidatorKey,
    /// Test builds only: also publish a signature over another root for every checkpoint.
    #[cfg(feature = "test-faults")]
    equivocate: bool,
    state: Mutex<State>,
    published: broadcast::Sender<(Lane, PeerSignature)>,
    lanes: watch::Sender<BTreeSet<Lane>>,
    lane_capacity: usize,
}

#[derive(Default)]
struct State {
    /// Per lane, this gateway's signature over the largest size it signed.
    latest: HashMap<Lane, PeerSignature>,
    /// Per lane, the checkpoint last published (a repeated `collect` is not sent again).
    last_published: HashMap<Lane, Checkpoint>,
    /// Per lane, where other members' signatures go (the attest stage reads the other end).
    subscribers: HashMap<Lane, mpsc::Sender<PeerSignature>>,
}

impl std::fmt::Debug for PeerCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerCollector")
            .field("validator", &self.key.address())
            .finish_non_exhaustive()
    }
}

/// What became of a signature a peer client handed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Forwarded {
    /// Queued for the attest stage.
    Delivered,
    /// Nobody subscribed the lane, or the attest stage dropped its receiver.
    NoSubscriber,
}

impl PeerCollector {
    /// A collector signing with `key`, with [`DEFAULT_LANE_CHANNEL_CAPACITY`] per lane.
    pub fn new(key: ValidatorKey) -> Self {
        Self::with_capacity(key, DEFAULT_LANE_CHANNEL_CAPACITY)
    }

    /// A collector whose lane channels buffer `lane_capacity` signatures (at least one).
    pub fn with_capacity(key: ValidatorKey, lane_capacity: usize) -> Self {
        let (published, _) = broadcast::channel(DEFAULT_BROADCAST_CAPACITY);
        let (lanes, _) = watch::channel(BTreeSet::new());
        PeerCollector {
            key,
            #[cfg(feature = "test-faults")]
            equivocate: false,
            state: Mutex::new(State::default()),
            published,
            lanes,
            lane_capacity: lane_capacity.max(1),
        }
    }

    /// A FAULTY collector, for tests of equivocation detection across gateway processes: for
    /// every checkpoint it signs, it also signs and publishes another root for the same lane and
    /// size. Exists only with the `test-faults` feature (never in a production build).
    #[cfg(feature = "test-faults")]
    pub fn equivocating(key: ValidatorKey) -> Self {
        PeerCollector {
            equivocate: true,
            ..Self::new(key)
        }
    }

    /// The address this gateway's validator signs as.
    pub fn validator(&self) -> EvmAddress {
        self.key.address()
    }

    /// This gateway's latest signature on `lane` (over the largest size it signed), if any.
    pub fn latest(&self, lane: Lane) -> Option<PeerSignature> {
        self.state().latest.get(&lane).cloned()
    }

    /// The lanes the attest stage subscribed (what the peer clients ask the other members for).
    pub fn subscribed_lanes(&self) -> BTreeSet<Lane> {
        self.lanes.borrow().clone()
    }

    /// A receiver of every signature this gateway makes from now on (the peer server's streams).
    pub(crate) fn own_signatures(&self) -> broadcast::Receiver<(Lane, PeerSignature)> {
        self.published.subscribe()
    }

    /// Watches the set of subscribed lanes (a peer client reconnects to ask for new ones).
    pub(crate) fn watch_lanes(&self) -> watch::Receiver<BTreeSet<Lane>> {
        self.lanes.subscribe()
    }

    /// Hands `signature`, received from another member and checked by the peer client, to the
    /// attest stage's channel for `lane`; waits while that channel is full.
    pub(crate) async fn forward(&self, lane: Lane, signature: PeerSignature) -> Forwarded {
        let sender = self.state().subscribers.get(&lane).cloned();
        match sender {
            Some(sender) if sender.send(signature).await.is_ok() => Forwarded::Delivered,
            _ => Forwarded::NoSubscriber,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent (each update is a
        // single insert), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records and publishes this gateway's signature over `checkpoint` on `lane`.
    fn remember(&self, lane: Lane, signature: &PeerSignature) {
        let mut state = self.state();
        let newer = state
            .latest
            .get(&lane)
            .is_none_or(|latest| signature.checkpoint.size() >= latest.checkpoint.size());
        if newer {
            state.latest.insert(lane, signature.clone());
        }
        if state.last_published.get(&lane) != Some(&signature.checkpoint) {
            state.last_published.insert(lane, signature.checkpoint);
            // No subscriber (no peer connected) is not an error: peers catch up from `latest`.
            let _ = self.published.send((lane, signature.clone()));
        }
    }
}

impl SignatureCollector for PeerCollector {
    fn collect<'a>(
        &'a self,
        request: &'a SignatureRequest,
    ) -> BoxFuture<'a, StoreResult<Vec<ValidatorSignature>>> {
        let own = ValidatorSignature {
            validator: self.key.address(),
            signature: self
                .key
                .sign_checkpoint(&request.checkpoint, &request.domain),
        };
        self.remember(
            request.lane(),
            &PeerSignature {
                checkpoint: request.checkpoint,
                signature: own,
            },
        );
        #[cfg(feature = "test-faults")]
        if self.equivocate {
            let cp = request.checkpoint;
            let mut root = cp.root().0;
            root[0] ^= 0xff;
            if let Ok(other) = Checkpoint::new(
                cp.origin(),
                cp.hash_algorithm(),
                cp.size(),
                causeway_proofs::Hash32(root),
            ) {
                let signature = ValidatorSignature {
                    validator: self.key.address(),
                    signature: self.key.sign_checkpoint(&other, &request.domain),
                };
                self.remember(
                    request.lane(),
                    &PeerSignature {
                        checkpoint: other,
                        signature,
                    },
                );
            }
        }
        Box::pin(async move { Ok(vec![own]) })
    }

    fn subscribe(&self, lane: Lane) -> Option<mpsc::Receiver<PeerSignature>> {
        let (sender, receiver) = mpsc::channel(self.lane_capacity);
        // A second subscription of the same lane replaces the first (its receiver then ends).
        self.state().subscribers.insert(lane, sender);
        self.lanes.send_modify(|lanes| {
            lanes.insert(lane);
        });
        Some(receiver)
    }
}

#[cfg(test)]
mod tests {
    use causeway_proofs::{Address32, Domain, Hash32, HashAlgorithm, LogSize, SigningDomain};

    use super::*;

    fn request(size: u64) -> SignatureRequest {
        SignatureRequest {
            checkpoint: Checkpoint::new(
                Domain(1),
                HashAlgorithm::Sha256,
                LogSize(size),
                Hash32([size as u8 + 1; 32]),
            )
            .expect("non-zero root"),
            domain: SigningDomain {
                origin: Domain(1),
                origin_chain_id: 10,
                destination: Domain(2),
                destination_chain_id: 20,
                inbox: Address32([9; 32]),
                validator_epoch: 0,
            },
        }
    }

    #[tokio::test]
    async fn collect_signs_remembers_the_largest_size_and_publishes_each_new_checkpoint() {
        let key = ValidatorKey::from_bytes(&[0x11; 32]).expect("valid key");
        let address = key.address();
        let collector = PeerCollector::new(key);
        let mut published = collector.own_signatures();
        let lane = request(0).lane();

        let own = collector.collect(&request(5)).await.expect("signs");
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].validator, address);
        let recovered = causeway_proofs::attestation::recover(
            &request(5).checkpoint.signing_digest(&request(5).domain),
            &own[0].signature,
            0,
        )
        .expect("recovers");
        assert_eq!(recovered, address);

        collector.collect(&request(5)).await.expect("signs again");
        collector
            .collect(&request(3))
            .await
            .expect("co-signs a smaller size");
        assert_eq!(
            collector.latest(lane).map(|s| s.checkpoint.size()),
            Some(LogSize(5))
        );
        let sizes: Vec<u64> = std::iter::from_fn(|| published.try_recv().ok())
            .map(|(_, s)| s.checkpoint.size().0)
            .collect();
        assert_eq!(sizes, vec![5, 3], "a repeated checkpoint is published once");
    }

    #[tokio::test]
    async fn subscribe_returns_a_channel_that_forward_feeds() {
        let collector = PeerCollector::with_capacity(
            ValidatorKey::from_bytes(&[0x12; 32]).expect("valid key"),
            1,
        );
        let lane = request(0).lane();
        let signature = PeerSignature {
            checkpoint: request(4).checkpoint,
            signature: ValidatorSignature {
                validator: EvmAddress([1; 20]),
                signature: causeway_proofs::Signature([2; 65]),
            },
        };
        assert_eq!(
            collector.forward(lane, signature.clone()).await,
            Forwarded::NoSubscriber
        );
        let mut receiver = collector
            .subscribe(lane)
            .expect("a networked collector subscribes");
        assert_eq!(collector.subscribed_lanes(), BTreeSet::from([lane]));
        assert_eq!(
            collector.forward(lane, signature.clone()).await,
            Forwarded::Delivered
        );
        assert_eq!(receiver.recv().await, Some(signature));
    }
}
