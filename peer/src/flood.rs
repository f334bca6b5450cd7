//! [`FloodGuard`]: bounds what one member's stream of well-formed signatures may cost this
//! gateway. Every signature that passes [`crate::wire::decode`] is handed to the attest stage,
//! which recovers its signer (an ECDSA recovery) and looks it up in the store; a member that
//! streams valid but useless signatures (the same one again and again, or any at a rate no
//! honest gateway signs at) would spend this gateway's CPU and store for nothing. So, per
//! session (one subscription to one member):
//!
//! - **repeats**: a signature identical to one the member already sent in this session (same
//!   lane, size, root and signature bytes) adds nothing. An honest gateway sends each of its
//!   signatures once per subscription; a few repeats are tolerated, more than
//!   [`Limits::max_repeated_signatures`] is a flood;
//! - **rate**: a token bucket per session, [`Limits::signatures_per_lane_per_second`] tokens a
//!   second per subscribed lane, holding ten seconds' worth (a member signs at most at its
//!   checkpoint interval, 10 a second by default, plus its co-signatures of the other
//!   members' checkpoints); a signature with no token left is a flood.
//!
//! A flood is a [`Violation::Flooding`]: the session ends, the member is cut off (logged and
//! counted as a violation) and reconnected after the client's exponential backoff, so a
//! flooding member costs a bounded amount per backoff period. Other members' sessions are
//! separate tasks with their own guards: an honest member is never slowed by another's flood.

use std::collections::{HashSet, VecDeque};

use causeway_relayer::store::Lane;
use tokio::time::Instant;

use crate::config::Limits;
use crate::wire::{Violation, proto};

/// How many recent signatures a session remembers to recognise repeats.
const REMEMBERED: usize = 4096;

/// Seconds of the per-lane rate a session's bucket holds (its burst).
const BURST_SECONDS: u64 = 10;

/// One session's accounting of a member's signatures.
#[derive(Debug)]
pub(crate) struct FloodGuard {
    recent: HashSet<Key>,
    order: VecDeque<Key>,
    repeats: u64,
    max_repeats: u64,
    lanes: usize,
    per_lane: u32,
    tokens: f64,
    capacity: f64,
    per_second: f64,
    refilled: Instant,
}

/// What makes two signatures the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    lane: Lane,
    size: u64,
    root: Vec<u8>,
    signature: Vec<u8>,
}

impl FloodGuard {
    /// A guard for a session subscribed to `lanes` lanes.
    pub(crate) fn new(limits: &Limits, lanes: usize) -> Self {
        let (lanes, per_lane) = (lanes.max(1), limits.signatures_per_lane_per_second.max(1));
        let per_second = f64::from(per_lane) * lanes as f64;
        let capacity = per_second * BURST_SECONDS as f64;
        FloodGuard {
            recent: HashSet::new(),
            order: VecDeque::new(),
            repeats: 0,
            max_repeats: u64::from(limits.max_repeated_signatures),
            lanes,
            per_lane,
            tokens: capacity,
            capacity,
            per_second,
            refilled: Instant::now(),
        }
    }

    /// Accounts for `message` on `lane`; [`Violation::Flooding`] when it breaks a bound.
    pub(crate) fn admit(
        &mut self,
        lane: Lane,
        message: &proto::SignedCheckpoint,
    ) -> Result<(), Violation> {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.refilled = now;
        if self.tokens < 1.0 {
            return Err(Violation::Flooding {
                reason: format!(
                    "more than {} signatures a second ({} per lane on {} lane(s), a burst of \
                     {BURST_SECONDS} s)",
                    self.per_second as u64, self.per_lane, self.lanes
                ),
            });
        }
        self.tokens -= 1.0;
        let key = Key {
            lane,
            size: message.size,
            root: message.root.clone(),
            signature: message.signature.clone(),
        };
        if self.recent.contains(&key) {
            self.repeats += 1;
            if self.repeats > self.max_repeats {
                return Err(Violation::Flooding {
                    reason: format!(
                        "{} repeated signatures in one subscription (the last: lane {lane}, size \
                         {}); at most {} are tolerated",
                        self.repeats, message.size, self.max_repeats
                    ),
                });
            }
            return Ok(());
        }
        if self.order.len() == REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.recent.remove(&old);
        }
        self.recent.insert(key.clone());
        self.order.push_back(key);
        Ok(())
    }
}
