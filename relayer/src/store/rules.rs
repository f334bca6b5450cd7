//! The delivery state machine's rules, shared by every store backend: which recorded state a
//! transition may start from, and what a failed attempt leads to. Each backend reads the row
//! ([`Current`]) and writes the outcome in its own SQL; the decisions are made here once, so
//! SQLite and PostgreSQL cannot drift apart (the differential test checks the SQL around them).

use causeway_proofs::MessageId;

use crate::Error;
use crate::store::{
    Attempt, DeliveryStateKind, FailureOutcome, FailureReport, LeaseOwner, LeaseToken, Result,
    SubmissionId, UnixMillis,
};

/// The parts of a delivery row a transition depends on.
pub(crate) struct Current {
    pub(crate) state: DeliveryStateKind,
    pub(crate) owner: Option<LeaseOwner>,
    pub(crate) attempts: u32,
    pub(crate) lease: Option<LeaseToken>,
    pub(crate) submission: Option<SubmissionId>,
}

impl Current {
    /// Whether the message is still leased by `owner` under `lease`.
    pub(crate) fn leased_by(&self, owner: &LeaseOwner, lease: LeaseToken) -> bool {
        self.state == DeliveryStateKind::Leased
            && self.owner.as_ref() == Some(owner)
            && self.lease == Some(lease)
    }

    /// [`Error::LeaseLost`] for a write by `owner` about a lease the message moved on from.
    pub(crate) fn lease_lost(self, id: MessageId, owner: &LeaseOwner) -> Error {
        Error::LeaseLost {
            id,
            owner: owner.clone(),
            holder: self
                .owner
                .filter(|_| self.state == DeliveryStateKind::Leased),
            state: self.state,
        }
    }
}

/// What a failed attempt leaves in the row.
pub(crate) struct FailureStep<'a> {
    /// What the caller is told.
    pub(crate) outcome: FailureOutcome,
    /// The new state: pending again, or dead letter once the attempts are used up.
    pub(crate) state: DeliveryStateKind,
    /// The attempts so far, this one included.
    pub(crate) attempts: u32,
    /// When the message may be leased again (now, for a dead letter).
    pub(crate) next_attempt_at: UnixMillis,
    /// The dead-letter reason, for a dead letter.
    pub(crate) dead_reason: Option<&'a str>,
    /// The submission the message leaves (its signed bytes may be forgotten).
    pub(crate) submission: Option<SubmissionId>,
}

/// Checks that `f` reports on the attempt the row `cur` is in (the lease still held, or the
/// submission still current) and decides what the failure leads to under `f.policy`.
pub(crate) fn failure<'a>(cur: Current, f: &FailureReport<'a>) -> Result<FailureStep<'a>> {
    match f.attempt {
        Attempt::Leased { owner, lease } => {
            if !cur.leased_by(owner, lease) {
                return Err(cur.lease_lost(f.id, owner));
            }
        }
        Attempt::Submitted { submission } => {
            if cur.state != DeliveryStateKind::Submitted || cur.submission != Some(submission) {
                return Err(Error::InvalidTransition {
                    id: f.id,
                    action: "record a failed submission of",
                    state: cur.state,
                });
            }
        }
    }
    let attempts = cur.attempts.saturating_add(1);
    Ok(if f.policy.exhausted(attempts) {
        FailureStep {
            outcome: FailureOutcome::DeadLetter { attempts },
            state: DeliveryStateKind::DeadLetter,
            attempts,
            next_attempt_at: f.now,
            dead_reason: Some(f.reason),
            submission: cur.submission,
        }
    } else {
        let next = f.now.saturating_add(f.policy.delay(attempts, f.jitter));
        FailureStep {
            outcome: FailureOutcome::Retry {
                attempts,
                next_attempt_at: next,
            },
            state: DeliveryStateKind::Pending,
            attempts,
            next_attempt_at: next,
            dead_reason: None,
            submission: cur.submission,
        }
    })
}
