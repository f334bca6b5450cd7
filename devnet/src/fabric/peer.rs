//! The peer's shared state (ledger, chaincodes, identities, faults) and its ordering service:
//! submitted envelopes queue up and are cut into blocks like Fabric's orderer cuts them (at
//! `max_message_count` transactions or `batch_timeout` after the first), then validated and
//! committed like Fabric's committer (see [`super::commit`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};

use causeway_adapters::fabric::proto::common::Envelope;
use causeway_adapters::fabric::{EndorsementPolicy, FabricIdentity, SigningIdentity, TrustedMsps};
use tokio::sync::{mpsc, watch};
use tonic::Status;

use super::faults::Faults;
use super::ledger::Ledger;
use super::simulate::Chaincodes;
use causeway_chaincode::NetworkInfo;

/// The identities the peer endorses with when a fault asks for a faulty endorsement.
#[derive(Debug)]
pub(crate) struct FaultyEndorsers {
    pub(crate) org3: SigningIdentity,
    pub(crate) expired_org2: SigningIdentity,
    pub(crate) other_ca_org2: SigningIdentity,
}

/// Everything the Gateway and Deliver services and the orderer share.
pub(crate) struct Peer {
    pub(crate) network: NetworkInfo,
    /// The application organisations of the channel (creators and endorsers).
    pub(crate) channel_msps: TrustedMsps,
    /// The endorsing peer of each channel organisation.
    pub(crate) endorsers: BTreeMap<String, SigningIdentity>,
    pub(crate) faulty: FaultyEndorsers,
    pub(crate) orderer: SigningIdentity,
    pub(crate) policy: EndorsementPolicy,
    pub(crate) chaincodes: RwLock<Chaincodes>,
    pub(crate) ledger: RwLock<Ledger>,
    pub(crate) faults: Mutex<Faults>,
    /// The ledger height, for those waiting for blocks.
    pub(crate) height: watch::Sender<u64>,
    /// Bumped when the server stops, ending the streams it served.
    pub(crate) generation: watch::Sender<u64>,
    /// Submitted transactions, to the orderer.
    pub(crate) orderer_queue: mpsc::UnboundedSender<Envelope>,
    /// The address named in `gateway.ErrorDetail`s.
    pub(crate) address: String,
    /// Whether the server requires client certificates (Fabric's `mutualTLS = UseTLS &&
    /// RequireClientCert`): Deliver then binds each request to the connection's certificate.
    pub(crate) mutual_tls: bool,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("channel", &self.network.channel)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Locks `mutex`, ignoring poisoning (a panicking test thread leaves consistent state: every
/// critical section either completes or changes nothing).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Read-locks `lock`, ignoring poisoning.
pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write-locks `lock`, ignoring poisoning.
pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Peer {
    /// Checks a signed request as a peer checks its creator: the identity parses, is
    /// issued by a channel organisation and valid now (unless `lenient`), and its low-S
    /// signature over `message` verifies.
    pub(crate) fn check_signed(
        &self,
        creator: &[u8],
        message: &[u8],
        signature: &[u8],
        lenient: bool,
    ) -> Result<FabricIdentity, Status> {
        let identity = FabricIdentity::from_serialized(creator)
            .map_err(|e| Status::permission_denied(format!("creator is not an identity: {e}")))?;
        if !lenient {
            self.channel_msps
                .validate(&identity, SystemTime::now())
                .map_err(|e| {
                    Status::permission_denied(format!("creator {}: {e}", identity.mspid()))
                })?;
        }
        identity
            .verify(message, signature)
            .map_err(|e| Status::permission_denied(format!("creator signature: {e}")))?;
        Ok(identity)
    }

    /// Whether the creator checks of `tx_id` are relaxed by [`super::Fault::AcceptUntrustedCreator`].
    pub(crate) fn lenient(&self, tx_id: &str) -> bool {
        lock(&self.faults).lenient_creator.contains(tx_id)
    }

    /// The serving generation now (streams end when it changes).
    pub(crate) fn current_generation(&self) -> u64 {
        *self.generation.borrow()
    }

    /// Completes when the server stops serving generation `generation`.
    pub(crate) async fn stopped(&self, generation: u64) {
        let mut stopped = self.generation.subscribe();
        while *stopped.borrow_and_update() == generation {
            if stopped.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits until the ledger is higher than `number` (block `number` exists); `false` if the
    /// server stopped serving generation `generation` first.
    pub(crate) async fn wait_for_block(&self, number: u64, generation: u64) -> bool {
        let mut height = self.height.subscribe();
        let mut stopped = self.generation.subscribe();
        loop {
            if *height.borrow_and_update() > number {
                return true;
            }
            if *stopped.borrow_and_update() != generation {
                return false;
            }
            tokio::select! {
                changed = height.changed() => if changed.is_err() { return false },
                changed = stopped.changed() => if changed.is_err() { return false },
            }
        }
    }
}

/// Runs the ordering service: cuts the queued envelopes into blocks and commits them. Ends
/// when the peer is dropped.
pub(crate) fn spawn_orderer(
    peer: Weak<Peer>,
    mut queue: mpsc::UnboundedReceiver<Envelope>,
    max_message_count: usize,
    batch_timeout: Duration,
) {
    tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + batch_timeout;
            while batch.len() < max_message_count {
                match tokio::time::timeout_at(deadline, queue.recv()).await {
                    Ok(Some(envelope)) => batch.push(envelope),
                    Ok(None) | Err(_) => break,
                }
            }
            let Some(peer) = peer.upgrade() else { return };
            peer.commit_batch(batch);
        }
    });
}

/// Creates the orderer queue.
pub(crate) fn orderer_queue() -> (
    mpsc::UnboundedSender<Envelope>,
    mpsc::UnboundedReceiver<Envelope>,
) {
    mpsc::unbounded_channel()
}

/// The handle the gRPC services are implemented on (streams keep the peer alive).
#[derive(Clone, Debug)]
pub(crate) struct PeerService(pub(crate) Arc<Peer>);

impl std::ops::Deref for PeerService {
    type Target = Peer;

    fn deref(&self) -> &Peer {
        &self.0
    }
}
