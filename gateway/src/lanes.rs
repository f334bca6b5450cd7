//! What the store says of one configured lane, read in one place for `causeway status` and
//! `/metrics`: the origin's log size, the validators' signatures, equivocators, the last
//! threshold checkpoint, the backlog, the last delivery and the recent dead letters.

use anyhow::{Context, Result};
use causeway_proofs::{EvmAddress, LogSize};
use causeway_relayer::store::{
    CheckpointStore, DeadLetter, Lane, LaneStats, LastDelivery, QueryStore, SourceStore,
    StateCounts, StoredCheckpoint, UnixMillis, ValidatorActivity,
};

/// One lane's state in the store.
#[derive(Clone, Debug)]
pub struct LaneState {
    /// The lane's key in the store.
    pub lane: Lane,
    /// Leaves in the origin's log.
    pub log_size: LogSize,
    /// Per validator that signed a checkpoint of the lane: how many and the largest size.
    pub activity: Vec<ValidatorActivity>,
    /// Validators with equivocation evidence on the lane.
    pub equivocators: Vec<EvmAddress>,
    /// The largest checkpoint with the lane's threshold of signatures that count.
    pub threshold_checkpoint: Option<StoredCheckpoint>,
    /// Messages per delivery state.
    pub counts: StateCounts,
    /// When the oldest undelivered message was accepted.
    pub oldest_pending_since: Option<UnixMillis>,
    /// The last recorded delivery.
    pub last_delivery: Option<LastDelivery>,
    /// The most recent dead letters (at most the number asked for).
    pub dead_letters: Vec<DeadLetter>,
}

impl LaneState {
    /// Reads `lane`'s state from `store`; `stats` is [`QueryStore::lane_stats`] read once
    /// for every lane. Lists at most `dead_letters` recent dead letters.
    pub fn read<S>(
        store: &S,
        lane: &causeway_config::Lane,
        stats: &[LaneStats],
        dead_letters: usize,
    ) -> Result<Self>
    where
        S: SourceStore + CheckpointStore + QueryStore + ?Sized,
    {
        let key = Lane {
            origin: lane.origin.domain,
            destination: lane.destination.domain,
        };
        Self::read_lane(
            store,
            key,
            &lane.name,
            lane.threshold as usize,
            stats,
            dead_letters,
        )
    }

    /// [`LaneState::read`] of the lane `key`, named `name`, whose checkpoints need `threshold`
    /// signatures.
    pub fn read_lane<S>(
        store: &S,
        key: Lane,
        name: &str,
        threshold: usize,
        stats: &[LaneStats],
        dead_letters: usize,
    ) -> Result<Self>
    where
        S: SourceStore + CheckpointStore + QueryStore + ?Sized,
    {
        let during = |what: &str| format!("while reading {what} of lane {name}");
        let log_size = store
            .log_size(key.origin)
            .with_context(|| during("the log size"))?;
        let activity = store
            .validator_activity(key)
            .with_context(|| during("the signatures"))?;
        let equivocators = store
            .equivocations(key)
            .with_context(|| during("the equivocation evidence"))?
            .into_iter()
            .map(|e| e.validator)
            .collect();
        let threshold_checkpoint = store
            .latest_checkpoint(key, threshold)
            .with_context(|| during("the threshold checkpoint"))?;
        let last_delivery = store
            .last_delivery(key)
            .with_context(|| during("the last delivery"))?;
        let dead = if dead_letters == 0 {
            Vec::new()
        } else {
            store
                .dead_letters(key, dead_letters)
                .with_context(|| during("the dead letters"))?
        };
        let stats = stats.iter().find(|s| s.lane == key);
        Ok(LaneState {
            lane: key,
            log_size,
            activity,
            equivocators,
            threshold_checkpoint,
            counts: stats.map(|s| s.counts).unwrap_or_default(),
            oldest_pending_since: stats.and_then(|s| s.oldest_pending_since),
            last_delivery,
            dead_letters: dead,
        })
    }

    /// What `validator` signed on the lane, if anything.
    pub fn activity_of(&self, validator: EvmAddress) -> Option<&ValidatorActivity> {
        self.activity.iter().find(|a| a.validator == validator)
    }
}
