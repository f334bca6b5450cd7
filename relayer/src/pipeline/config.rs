//! What a relayer is configured with: its origins, its lanes and the pipeline's knobs.

use std::sync::Arc;
use std::time::Duration;

use causeway_adapters::NativeVerifier;
use causeway_adapters::chain::{DynDestination, DynSource};
use causeway_proofs::{HashAlgorithm, SigningDomain, ValidatorSet};

use crate::store::{Lane, LeaseOwner, RetryPolicy, Rota};

/// One origin chain: where its messages come from and how their native proofs are checked.
#[derive(Clone)]
pub struct OriginConfig {
    /// The origin's source (its domain names the origin).
    pub source: Arc<dyn DynSource>,
    /// Re-checks each observed message's native proof before it is accepted.
    pub verifier: Arc<dyn NativeVerifier>,
    /// The first block to scan when the store has no cursor for this origin yet.
    pub start_height: u64,
}

/// One lane: where an origin's messages go and what the destination will check.
#[derive(Clone)]
pub struct LaneConfig {
    /// The destination chain (its domain names the lane's destination).
    pub destination: Arc<dyn DynDestination>,
    /// The domain the checkpoint signatures are made for (names the lane's origin, the
    /// destination's chain id, Inbox and validator epoch).
    pub signing_domain: SigningDomain,
    /// The validators whose signatures the destination counts, and its threshold.
    pub validators: ValidatorSet,
    /// The lane's log hash algorithm (SHA-256 for the EVM Inbox).
    pub hash_algorithm: HashAlgorithm,
    /// Most messages per delivery batch.
    pub batch_size: usize,
    /// Turns with the other member gateways delivering the lane (`None`: this gateway delivers
    /// everything as soon as it can).
    pub rota: Option<Rota>,
    /// Operators' limits: paused, rate limit (none by default).
    pub limits: super::LaneLimits,
}

impl LaneConfig {
    /// The lane: the signing domain's origin to the destination's domain.
    pub fn lane(&self) -> Lane {
        Lane {
            origin: self.signing_domain.origin,
            destination: self.destination.domain(),
        }
    }
}

/// A lane whose checkpoints are signed and exchanged with the members but never delivered by
/// the pipeline: a public Anchor's (destination domain 0 and the Anchor's own signing domain,
/// docs/anchoring.md). The attest stage signs the origin's root of its own accord on this
/// lane's schedule (and co-signs the members' checkpoints whose root it rebuilt, as on any
/// lane); the threshold checkpoints land in the store under [`AttestLaneConfig::lane`], where the
/// anchoring task reads them.
#[derive(Clone, Debug)]
pub struct AttestLaneConfig {
    /// The domain the signatures are made for (its destination names the lane's destination:
    /// 0 for an Anchor).
    pub signing_domain: SigningDomain,
    /// The validators whose signatures count, and the threshold.
    pub validators: ValidatorSet,
    /// The log hash the checkpoints are of (SHA-256 for the Anchor).
    pub hash_algorithm: HashAlgorithm,
    /// Shortest time between two checkpoints this gateway signs of its own accord (`None`:
    /// only by `every_entries`).
    pub every: Option<Duration>,
    /// Sign at once when the log grew by this many entries since this gateway's last own
    /// checkpoint on the lane.
    pub every_entries: Option<u64>,
}

impl AttestLaneConfig {
    /// The lane: the signing domain's origin and destination.
    pub fn lane(&self) -> Lane {
        Lane {
            origin: self.signing_domain.origin,
            destination: self.signing_domain.destination,
        }
    }
}

/// The pipeline's knobs, shared by every origin and lane.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// This relayer instance's name in the store's leases: one live instance per name and
    /// store (a second is refused at spawn). The default is unique per process
    /// ([`LeaseOwner::unique`]); a name kept across restarts lets a restarted instance take
    /// its own submissions back at once, where another name waits for their follow lease to
    /// end.
    pub owner: LeaseOwner,
    /// Capacity of each channel between the source stages (in batches).
    pub channel_capacity: usize,
    /// Most submissions in flight (submitted, not yet settled) per lane.
    pub max_in_flight: usize,
    /// Wait between source polls once the source is caught up.
    pub source_poll: Duration,
    /// First backoff after a retryable source error; doubled per failure.
    pub source_backoff: Duration,
    /// Largest backoff after source errors.
    pub source_backoff_max: Duration,
    /// Wait between looks for deliverable work when there was none.
    pub deliver_poll: Duration,
    /// Wait between polls of in-flight submissions.
    pub confirm_poll: Duration,
    /// Confirmations a submission needs before its messages count as delivered.
    pub confirmations: u64,
    /// How long a lease lasts (longer than a submission takes).
    pub lease_for: Duration,
    /// The most the clocks of instances sharing the store may differ by: a lease holder stops
    /// acting on a lease (sends nothing under it) this long before it ends by its own
    /// monotonic clock, so that an instance whose clock runs ahead never takes over a lease
    /// still in use. Less than `lease_for`.
    pub clock_skew: Duration,
    /// Persisted backoff and attempt bound of failed deliveries.
    pub retry: RetryPolicy,
    /// Shortest time between two checkpoints this gateway signs of its own accord on one lane:
    /// while the log grows faster, the latest size is signed once the interval has passed
    /// (co-signing a member's checkpoint is never delayed). Each signature is recorded,
    /// published to every member and co-signed by them, so signing every origin block would
    /// cost all members CPU and store writes for nothing; zero signs every size at once.
    pub checkpoint_interval: Duration,
    /// Delivery rounds (lease, replay check, proofs, submit) each lane runs at once: while one
    /// round waits for the destination (a simulation, a broadcast), the next leases and proves
    /// the following messages. Their leases never overlap; the destination adapter keeps one
    /// signer's nonces in order. At least 1; 1 by default (several take smaller batches when
    /// messages trickle in, and no gain over one is measured yet).
    pub deliver_workers: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            owner: LeaseOwner::unique(),
            channel_capacity: 4,
            max_in_flight: 8,
            source_poll: Duration::from_secs(2),
            source_backoff: Duration::from_millis(500),
            source_backoff_max: Duration::from_secs(60),
            deliver_poll: Duration::from_secs(1),
            confirm_poll: Duration::from_secs(2),
            confirmations: 1,
            lease_for: Duration::from_secs(120),
            clock_skew: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            checkpoint_interval: Duration::from_millis(100),
            deliver_workers: 1,
        }
    }
}
