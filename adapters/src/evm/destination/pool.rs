//! [`EvmSignerPool`]: one EVM destination sending from several accounts, so that one account's
//! nonce sequence is not the bottleneck of a busy lane (DESIGN: "several signer keys per chain
//! where one key's nonce becomes the bottleneck").
//!
//! Each account is an [`EvmDestination`] of its own, with its own nonce counter and in-flight
//! record. A delivery round ([`Destination::submit_recorded`]) takes one account that no other
//! round is using, the next in turn (so a relayer delivering one round at a time still spreads
//! its transactions over every account), and gives it back when the round has broadcast; while
//! every account is busy a round waits for one. A submission is followed by the account that
//! sent it (the handle names its sender); a handle from an account the pool does not hold (a
//! key removed from the configuration, another instance's submission taken over) is followed by
//! the first account, as a single-key destination follows it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use alloy::primitives::Address;
use causeway_proofs::{Domain, MessageId};
use tokio::sync::Semaphore;

use super::{EvmDestination, EvmSubmission, lock};
use crate::Error;
use crate::chain::{
    DeliveryBatch, DeliveryStatus, Destination, Recorder, Submission, SubmissionHandle,
    SubmissionOutcome,
};

/// Several [`EvmDestination`]s of one Inbox, one per sending account; a cloneable handle.
#[derive(Clone)]
pub struct EvmSignerPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    members: Vec<EvmDestination>,
    /// Which members a round is using now.
    busy: Mutex<Vec<bool>>,
    /// One permit per member not in use: a round holds one while it holds a member.
    free: Semaphore,
    /// Where the search for a free member starts next (turns between members).
    next: AtomicUsize,
}

impl core::fmt::Debug for EvmSignerPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EvmSignerPool")
            .field("senders", &self.senders())
            .finish_non_exhaustive()
    }
}

/// A member taken for one round; given back when dropped.
struct Taken<'a> {
    pool: &'a PoolInner,
    at: usize,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        lock(&self.pool.busy)[self.at] = false;
    }
}

impl EvmSignerPool {
    /// A pool of `members`, which must all deliver to the same Inbox of the same domain from
    /// distinct accounts; [`Error::Config`] otherwise, or when there is none.
    pub fn new(members: Vec<EvmDestination>) -> Result<Self, Error> {
        let Some(first) = members.first() else {
            return Err(Error::Config {
                reason: "a signer pool needs at least one account".into(),
            });
        };
        let (domain, inbox) = (first.inner.config.domain, first.inner.config.inbox);
        let mut seen = std::collections::HashSet::new();
        for m in &members {
            if m.inner.config.domain != domain || m.inner.config.inbox != inbox {
                return Err(Error::Config {
                    reason: format!(
                        "the pool's accounts deliver to different Inboxes ({inbox} of domain \
                         {domain}, {} of domain {})",
                        m.inner.config.inbox, m.inner.config.domain
                    ),
                });
            }
            if !seen.insert(m.address()) {
                return Err(Error::Config {
                    reason: format!(
                        "account {} is in the pool twice: two writers of one account's nonces",
                        m.address()
                    ),
                });
            }
        }
        let n = members.len();
        Ok(EvmSignerPool {
            inner: Arc::new(PoolInner {
                members,
                busy: Mutex::new(vec![false; n]),
                free: Semaphore::new(n),
                next: AtomicUsize::new(0),
            }),
        })
    }

    /// The sending accounts, in the order given.
    pub fn senders(&self) -> Vec<Address> {
        self.inner.members.iter().map(|m| m.address()).collect()
    }

    /// The member that sent `handle`'s submission, else the first.
    fn follower(&self, handle: &SubmissionHandle) -> &EvmDestination {
        let members = &self.inner.members;
        EvmSubmission::from_handle(handle)
            .ok()
            .and_then(|sub| members.iter().find(|m| m.address() == sub.from))
            .unwrap_or(&members[0])
    }

    /// A member no other round is using, the next in turn; waits while all are busy.
    async fn take(&self) -> Result<Taken<'_>, Error> {
        let inner = &*self.inner;
        let permit = inner.free.acquire().await.map_err(|_| Error::Config {
            reason: "the signer pool is closed".into(),
        })?;
        let n = inner.members.len();
        let start = inner.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut busy = lock(&inner.busy);
        // A permit means at least one member is free.
        let at = (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| !busy[i])
            .expect("a free member for every permit held");
        busy[at] = true;
        Ok(Taken {
            pool: inner,
            at,
            _permit: permit,
        })
    }
}

impl Destination for EvmSignerPool {
    fn domain(&self) -> Domain {
        self.inner.members[0].inner.config.domain
    }

    async fn submit_recorded(
        &self,
        batch: &DeliveryBatch,
        recorder: &dyn Recorder,
    ) -> Result<Vec<Submission>, Error> {
        let taken = self.take().await?;
        let member = &self.inner.members[taken.at];
        tracing::debug!(sender = %member.address(), "delivery round takes signer account");
        member.submit_recorded(batch, recorder).await
    }

    async fn outcome_recorded(
        &self,
        handle: &SubmissionHandle,
        signed: Option<&[u8]>,
    ) -> Result<SubmissionOutcome, Error> {
        self.follower(handle).outcome_recorded(handle, signed).await
    }

    async fn delivery_status(&self, id: &MessageId) -> Result<DeliveryStatus, Error> {
        self.inner.members[0].delivery_status(id).await
    }

    async fn delivery_statuses(&self, ids: &[MessageId]) -> Result<Vec<DeliveryStatus>, Error> {
        self.inner.members[0].delivery_statuses(ids).await
    }
}
