//! The in-memory model of the store: what every call should do, computed the simple way.

use std::collections::{BTreeMap, BTreeSet};

use causeway_proofs::bundle::{NativeProof, SourceReference};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{
    Checkpoint, Domain, EvmAddress, HashAlgorithm, LeafIndex, LogSize, Message, MessageId,
    Signature,
};
use causeway_relayer::store::{
    AcceptedEvent, Delivery, DeliveryState, FailureOutcome, LEASE_EXPIRED_REASON, Lane, LaneStats,
    LeaseOwner, LeaseToken, LeasedMessage, MessageRecord, SourceCursor, StateCounts,
    StoredCheckpoint, SubmissionId, UnixMillis, ValidatorSignature,
};

use super::ops::{Item, Pick, Poison, Who};
use super::{DESTS, ORIGINS, OWNERS, POLICY};
use crate::support::{event, handle, message};

/// The model's copy of one message.
#[derive(Clone, Debug)]
pub(super) struct Rec {
    pub(super) message: Message,
    pub(super) leaf_index: u64,
    pub(super) source: SourceReference,
    pub(super) native_proof: Option<NativeProof>,
    pub(super) accepted_at: u64,
    pub(super) delivery: Delivery,
}

#[derive(Clone, Debug, Default)]
pub(super) struct CheckpointEntry {
    pub(super) checkpoint: Option<Checkpoint>,
    pub(super) signatures: BTreeMap<EvmAddress, Signature>,
    pub(super) recorded_at: u64,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Model {
    pub(super) now: u64,
    pub(super) messages: BTreeMap<MessageId, Rec>,
    /// Insertion order of ids, so picks index a stable list.
    pub(super) order: Vec<MessageId>,
    pub(super) leaves: BTreeMap<Domain, Vec<MessageId>>,
    pub(super) cursors: BTreeMap<Domain, SourceCursor>,
    pub(super) checkpoints: BTreeMap<(Lane, u64), CheckpointEntry>,
    /// Messages a store call refused; they must never appear.
    pub(super) refused: BTreeSet<MessageId>,
    /// The last lease token handed out (store-wide).
    pub(super) lease_seq: u64,
    /// The token of each leased message's current lease.
    pub(super) tokens: BTreeMap<MessageId, u64>,
}

/// The attempt a modelled failure report names.
pub(super) enum ModelAttempt {
    Leased(LeaseOwner, LeaseToken),
    Submitted(SubmissionId),
}

/// The error variant a store call is expected to fail with.
pub(super) type Expect<T> = Result<T, &'static str>;

pub(super) fn lease_owner(i: usize) -> LeaseOwner {
    LeaseOwner(OWNERS[i].to_owned())
}

pub(super) fn cp(origin: Domain, size: u64, variant: u8) -> Checkpoint {
    let mut seed = origin.0.to_be_bytes().to_vec();
    seed.extend(size.to_be_bytes());
    seed.push(variant);
    Checkpoint::new(
        origin,
        HashAlgorithm::Sha256,
        LogSize(size),
        keccak256(&seed),
    )
    .unwrap()
}

impl Model {
    pub(super) fn log_size(&self, origin: Domain) -> u64 {
        self.leaves.get(&origin).map_or(0, |l| l.len() as u64)
    }

    pub(super) fn of_origin(&self, origin: Domain) -> Vec<MessageId> {
        self.leaves.get(&origin).cloned().unwrap_or_default()
    }

    pub(super) fn pick(&self, pick: Pick) -> Option<MessageId> {
        let preferred: Vec<MessageId> = match pick.prefer {
            Some(kind) => self
                .order
                .iter()
                .filter(|id| self.messages[*id].delivery.state.kind() == kind)
                .copied()
                .collect(),
            None => Vec::new(),
        };
        let pool = if preferred.is_empty() {
            &self.order
        } else {
            &preferred
        };
        (!pool.is_empty()).then(|| pool[pick.n % pool.len()])
    }

    pub(super) fn resolve(&self, who: Who, id: MessageId) -> LeaseOwner {
        match (who, &self.messages[&id].delivery.state) {
            (Who::Holder, DeliveryState::Leased { owner, .. }) => owner.clone(),
            (Who::Holder, _) => lease_owner(0),
            (Who::Named(i), _) => lease_owner(i),
        }
    }

    /// The token of `id`'s current lease (0, which no lease has, when it has none).
    pub(super) fn token_of(&self, id: MessageId) -> LeaseToken {
        LeaseToken(self.tokens.get(&id).copied().unwrap_or(0))
    }

    /// The submission `id` is in, or one it is not in.
    pub(super) fn submission_of(&self, id: MessageId) -> SubmissionId {
        match &self.messages[&id].delivery.state {
            DeliveryState::Submitted { submission, .. } => *submission,
            _ => SubmissionId::of(&handle(0)),
        }
    }

    pub(super) fn next_nonce(&self, origin: Domain) -> u64 {
        self.log_size(origin)
    }

    /// Builds the concrete batch for an `Accept` op.
    pub(super) fn batch(
        &self,
        origin: Domain,
        items: &[Item],
        poison: &Option<(usize, Poison)>,
        block: u64,
    ) -> Vec<AcceptedEvent> {
        let stored = self.of_origin(origin);
        let mut nonce = self.next_nonce(origin);
        let mut out = Vec::new();
        for it in items {
            match it {
                Item::New { dest } => {
                    out.push(event(message(origin, nonce, DESTS[*dest], 0), block));
                    nonce += 1;
                }
                Item::Replay { pick } if !stored.is_empty() => {
                    let r = &self.messages[&stored[pick % stored.len()]];
                    out.push(AcceptedEvent {
                        message: r.message.clone(),
                        source: r.source.clone(),
                        native_proof: r.native_proof.clone(),
                    });
                }
                Item::Replay { .. } => {}
            }
        }
        let bad = match poison {
            Some((_, Poison::Equivocate { pick, variant })) if !stored.is_empty() => {
                let r = &self.messages[&stored[pick % stored.len()]];
                Some(message(origin, r.message.nonce().0, DESTS[0], *variant))
            }
            Some((_, Poison::Foreign)) => {
                let other = if origin == ORIGINS[0] {
                    ORIGINS[1]
                } else {
                    ORIGINS[0]
                };
                Some(message(other, 1_000, DESTS[0], 0))
            }
            _ => None,
        };
        if let (Some(m), Some((at, _))) = (bad, poison) {
            out.insert(at % (out.len() + 1), event(m, block));
        }
        out
    }

    pub(super) fn accept(
        &mut self,
        origin: Domain,
        events: &[AcceptedEvent],
        to: SourceCursor,
    ) -> Expect<Vec<MessageId>> {
        if let Some(c) = self.cursors.get(&origin)
            && to.block_number < c.block_number
        {
            // Behind the stored cursor: a no-op when every event is already stored.
            let known = |ev: &AcceptedEvent| {
                self.messages
                    .get(&ev.message.id())
                    .is_some_and(|r| r.message.origin() == origin)
            };
            return if events.iter().all(known) {
                Ok(Vec::new())
            } else {
                Err("CursorRegression")
            };
        }
        let mut appended = Vec::new();
        for ev in events {
            if ev.message.origin() != origin {
                return Err("WrongOrigin");
            }
            let id = ev.message.id();
            if self.messages.contains_key(&id) {
                continue;
            }
            let clash = self
                .messages
                .values()
                .any(|r| r.message.origin() == origin && r.message.nonce() == ev.message.nonce());
            if clash {
                return Err("Equivocation");
            }
            let leaf_index = self.log_size(origin);
            self.messages.insert(
                id,
                Rec {
                    message: ev.message.clone(),
                    leaf_index,
                    source: ev.source.clone(),
                    native_proof: ev.native_proof.clone(),
                    accepted_at: self.now,
                    delivery: Delivery {
                        lane: Lane {
                            origin,
                            destination: ev.message.destination(),
                        },
                        state: DeliveryState::Pending,
                        attempts: 0,
                        next_attempt_at: UnixMillis(self.now),
                        last_error: None,
                    },
                },
            );
            self.order.push(id);
            self.refused.remove(&id);
            self.leaves.entry(origin).or_default().push(id);
            appended.push(id);
        }
        self.cursors.insert(origin, to);
        Ok(appended)
    }

    pub(super) fn rollback(&mut self, origin: Domain, to: SourceCursor) -> Expect<()> {
        let above = self.of_origin(origin).iter().any(|id| {
            self.messages[id]
                .source
                .block_number
                .is_some_and(|b| b > to.block_number)
        });
        if above {
            return Err("RollbackBelowFinal");
        }
        self.cursors.insert(origin, to);
        Ok(())
    }

    pub(super) fn lease(
        &mut self,
        lane: Lane,
        owner: &LeaseOwner,
        limit: usize,
        lease_ms: u64,
        covered: u64,
    ) -> Vec<LeasedMessage> {
        if limit == 0 {
            return Vec::new();
        }
        let now = self.now;
        // Expired leases of the lane used an attempt: back to pending, or dead letter.
        for id in self.of_origin(lane.origin) {
            let r = self.messages.get_mut(&id).unwrap();
            if r.delivery.lane != lane {
                continue;
            }
            if let DeliveryState::Leased { until, .. } = &r.delivery.state
                && until.0 <= now
            {
                r.delivery.attempts += 1;
                r.delivery.last_error = Some(LEASE_EXPIRED_REASON.to_owned());
                r.delivery.next_attempt_at = UnixMillis(now);
                r.delivery.state = if POLICY.exhausted(r.delivery.attempts) {
                    DeliveryState::DeadLetter {
                        reason: LEASE_EXPIRED_REASON.to_owned(),
                    }
                } else {
                    DeliveryState::Pending
                };
                self.tokens.remove(&id);
            }
        }
        self.lease_seq += 1;
        let lease = self.lease_seq;
        let until = UnixMillis(now + lease_ms);
        let mut out = Vec::new();
        for id in self.of_origin(lane.origin) {
            if out.len() >= limit {
                break;
            }
            let r = self.messages.get_mut(&id).unwrap();
            if r.delivery.lane != lane || r.leaf_index >= covered {
                continue;
            }
            let eligible = match &r.delivery.state {
                DeliveryState::Pending => r.delivery.next_attempt_at.0 <= now,
                _ => false,
            };
            if eligible {
                r.delivery.state = DeliveryState::Leased {
                    owner: owner.clone(),
                    until,
                };
                out.push(LeasedMessage {
                    leaf_index: LeafIndex(r.leaf_index),
                    message: r.message.clone(),
                    attempts: r.delivery.attempts,
                    lease_until: until,
                    lease: LeaseToken(lease),
                });
                self.tokens.insert(id, lease);
            }
        }
        out
    }

    pub(super) fn submit(
        &mut self,
        owner: &LeaseOwner,
        lease: LeaseToken,
        ids: &[MessageId],
        nonce: u64,
    ) -> Expect<()> {
        let submission = SubmissionId::of(&handle(nonce));
        for id in ids {
            let token = self.tokens.remove(id);
            let r = self.messages.get_mut(id).ok_or("UnknownMessage")?;
            match &r.delivery.state {
                DeliveryState::Leased { owner: o, .. } if o == owner && token == Some(lease.0) => {}
                _ => return Err("LeaseLost"),
            }
            r.delivery.state = DeliveryState::Submitted {
                owner: owner.clone(),
                submission,
                submitted_at: UnixMillis(self.now),
            };
        }
        Ok(())
    }

    pub(super) fn confirm(&mut self, ids: &[MessageId], block: u64) -> Expect<()> {
        for id in ids {
            let r = self.messages.get_mut(id).ok_or("UnknownMessage")?;
            if !matches!(r.delivery.state, DeliveryState::Confirmed { .. }) {
                r.delivery.state = DeliveryState::Confirmed { block };
            }
        }
        Ok(())
    }

    pub(super) fn fail(
        &mut self,
        id: MessageId,
        attempt: &ModelAttempt,
        jitter: u64,
        reason: &str,
    ) -> Expect<FailureOutcome> {
        let now = self.now;
        let token = self.tokens.get(&id).copied();
        let r = self.messages.get_mut(&id).ok_or("UnknownMessage")?;
        match (attempt, &r.delivery.state) {
            (ModelAttempt::Leased(o, lease), DeliveryState::Leased { owner, .. })
                if owner == o && token == Some(lease.0) => {}
            (ModelAttempt::Leased(..), _) => return Err("LeaseLost"),
            (ModelAttempt::Submitted(s), DeliveryState::Submitted { submission, .. })
                if submission == s => {}
            (ModelAttempt::Submitted(_), _) => return Err("InvalidTransition"),
        }
        self.tokens.remove(&id);
        let attempts = r.delivery.attempts + 1;
        r.delivery.attempts = attempts;
        r.delivery.last_error = Some(reason.to_owned());
        if POLICY.exhausted(attempts) {
            r.delivery.state = DeliveryState::DeadLetter {
                reason: reason.to_owned(),
            };
            r.delivery.next_attempt_at = UnixMillis(now);
            Ok(FailureOutcome::DeadLetter { attempts })
        } else {
            let next = UnixMillis(now).saturating_add(POLICY.delay(attempts, jitter));
            r.delivery.state = DeliveryState::Pending;
            r.delivery.next_attempt_at = next;
            Ok(FailureOutcome::Retry {
                attempts,
                next_attempt_at: next,
            })
        }
    }

    pub(super) fn retry_dead(&mut self, id: MessageId) -> Expect<()> {
        let now = self.now;
        let r = self.messages.get_mut(&id).ok_or("UnknownMessage")?;
        if !matches!(r.delivery.state, DeliveryState::DeadLetter { .. }) {
            return Err("InvalidTransition");
        }
        r.delivery.state = DeliveryState::Pending;
        r.delivery.attempts = 0;
        r.delivery.next_attempt_at = UnixMillis(now);
        Ok(())
    }

    pub(super) fn checkpoint(
        &mut self,
        lane: Lane,
        c: Checkpoint,
        sigs: &[ValidatorSignature],
    ) -> Expect<(usize, usize)> {
        if c.size().0 > self.log_size(lane.origin) {
            return Err("CheckpointBeyondLog");
        }
        let now = self.now;
        let entry = self.checkpoints.entry((lane, c.size().0)).or_default();
        match entry.checkpoint {
            Some(stored) if stored != c => return Err("CheckpointConflict"),
            Some(_) => {}
            None => {
                entry.checkpoint = Some(c);
                entry.recorded_at = now;
            }
        }
        let mut new = 0;
        for s in sigs {
            if let std::collections::btree_map::Entry::Vacant(v) =
                entry.signatures.entry(s.validator)
            {
                v.insert(s.signature);
                new += 1;
            }
        }
        Ok((new, entry.signatures.len()))
    }

    pub(super) fn latest(&self, lane: Lane, min: usize) -> Option<StoredCheckpoint> {
        self.checkpoints
            .iter()
            .filter(|((l, _), e)| *l == lane && e.checkpoint.is_some() && e.signatures.len() >= min)
            .max_by_key(|((_, size), _)| *size)
            .map(|(_, e)| StoredCheckpoint {
                lane,
                checkpoint: e.checkpoint.unwrap(),
                signatures: e
                    .signatures
                    .iter()
                    .map(|(v, s)| ValidatorSignature {
                        validator: *v,
                        signature: *s,
                    })
                    .collect(),
                recorded_at: UnixMillis(e.recorded_at),
            })
    }

    pub(super) fn lane_stats(&self) -> Vec<LaneStats> {
        let mut lanes: BTreeMap<Lane, (StateCounts, Option<u64>)> = BTreeMap::new();
        for r in self.messages.values() {
            let (counts, oldest) = lanes.entry(r.delivery.lane).or_default();
            *counts.get_mut(r.delivery.state.kind()) += 1;
            if matches!(
                r.delivery.state,
                DeliveryState::Pending
                    | DeliveryState::Leased { .. }
                    | DeliveryState::Submitted { .. }
            ) {
                *oldest = Some(oldest.map_or(r.accepted_at, |o| o.min(r.accepted_at)));
            }
        }
        lanes
            .into_iter()
            .map(|(lane, (counts, oldest))| LaneStats {
                lane,
                counts,
                oldest_pending_since: oldest.map(UnixMillis),
            })
            .collect()
    }

    pub(super) fn record(&self, id: &MessageId) -> MessageRecord {
        let r = &self.messages[id];
        MessageRecord {
            message: r.message.clone(),
            leaf_index: LeafIndex(r.leaf_index),
            source: r.source.clone(),
            native_proof: r.native_proof.clone(),
            accepted_at: UnixMillis(r.accepted_at),
            delivery: r.delivery.clone(),
        }
    }
}
