//! What both directions share: the pipeline settings, the relayer of one lane signed by two of
//! a 2-of-3 committee, and the wait until every message is confirmed.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_adapters::NativeVerifier;
use causeway_adapters::chain::{DynDestination, DynSource};
use causeway_devnet::fixtures::Committee;
use causeway_proofs::{HashAlgorithm, SigningDomain};
use causeway_relayer::pipeline::{LaneConfig, OriginConfig, PipelineConfig};
use causeway_relayer::store::{Lane, LeaseOwner, SqliteStore, StateCounts};
use causeway_relayer::{Relayer, RelayerHandle};

use crate::e2e_evm::support::{collector, e2e_config, validators};

/// Pipeline knobs for real chains (quick polls, leases longer than a submission takes), with
/// the lease owner `owner`.
pub fn config(owner: &str) -> PipelineConfig {
    PipelineConfig {
        owner: LeaseOwner(owner.into()),
        ..e2e_config()
    }
}

/// Spawns a relayer of one origin (scanned from height 0) and one lane on the SQLite file `db`,
/// signing with two of `committee` (the first and the last) for its 2-of-3 validator set.
pub async fn spawn_relayer(
    db: &Path,
    committee: &Committee,
    config: PipelineConfig,
    (source, verifier): (Arc<dyn DynSource>, Arc<dyn NativeVerifier>),
    destination: Arc<dyn DynDestination>,
    signing_domain: SigningDomain,
) -> RelayerHandle {
    let store = Arc::new(SqliteStore::open(db).unwrap());
    Relayer::new(store, Arc::new(collector(committee)), config)
        .origin(OriginConfig {
            verifier,
            source,
            start_height: 0,
        })
        .lane(LaneConfig {
            limits: Default::default(),
            destination,
            signing_domain,
            validators: validators(committee),
            hash_algorithm: HashAlgorithm::Sha256,
            batch_size: 100,
            rota: None,
        })
        .spawn()
        .await
        .unwrap()
}

/// Waits (up to 60 s) until all `n` messages of `lane` are confirmed with none pending,
/// leased, submitted or dead-lettered, shuts the relayer down and checks it accepted exactly
/// `n`.
pub async fn relay_all(handle: RelayerHandle, lane: Lane, n: usize, started: Instant) {
    let counts = wait_until(&handle, lane, Duration::from_secs(60), |c| {
        c.confirmed == n as u64
    })
    .await;
    assert_eq!(
        (
            counts.pending,
            counts.leased,
            counts.submitted,
            counts.dead_letter
        ),
        (0, 0, 0, 0)
    );
    let metrics = handle.metrics();
    handle.shutdown().await;
    eprintln!("relayed after {:?}: {metrics:?}", started.elapsed());
    assert_eq!(metrics.all_origins().accepted, n as u64);
}

/// Polls the lane's counts until `done` holds; panics after `timeout` or if anything halted.
async fn wait_until(
    handle: &RelayerHandle,
    lane: Lane,
    timeout: Duration,
    done: impl Fn(&StateCounts) -> bool,
) -> StateCounts {
    let deadline = Instant::now() + timeout;
    loop {
        let p = handle.progress().await.unwrap();
        assert!(p.halted.is_empty(), "halted: {:?}", p.halted);
        let counts = p
            .lanes
            .iter()
            .find(|s| s.lane == lane)
            .map(|s| s.counts)
            .unwrap_or_default();
        if done(&counts) {
            return counts;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; progress {p:?}, metrics {:?}",
            handle.metrics()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
