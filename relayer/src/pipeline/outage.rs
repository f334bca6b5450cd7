//! Logging a step repeated every poll that fails while what it needs is away (PostgreSQL
//! restarting, a network cut): one warning when it starts failing, a reminder every
//! [`Outage::REMIND`] while it goes on, and one line when it works again, not a warning per
//! poll. Used by the deliver stage, the confirm stage's take-over and lease renewals, and the
//! gateway's envelope fetcher and dispatchers.

use std::time::{Duration, Instant};

/// The state of one repeated step's outage (see the module docs).
#[derive(Debug, Default)]
pub struct Outage {
    /// When the current outage began, its failed attempts, and the last warning.
    current: Option<OutageState>,
}

#[derive(Debug)]
struct OutageState {
    since: Instant,
    failures: u64,
    warned: Instant,
}

/// What to log for a failed attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum OutageStep {
    /// The first failure: warn.
    Began,
    /// Still failing, [`Outage::REMIND`] after the last warning: warn again.
    Remind {
        /// Failed attempts so far.
        failures: u64,
        /// Since the first.
        lasted: Duration,
    },
    /// Still failing: nothing above debug.
    Quiet,
}

/// An outage that ended.
#[derive(Debug, PartialEq, Eq)]
pub struct OutageEnded {
    /// Failed attempts in it.
    pub failures: u64,
    /// From the first failure to the success.
    pub lasted: Duration,
}

impl Outage {
    /// How often a lasting outage is warned about again.
    pub const REMIND: Duration = Duration::from_secs(300);

    /// Records a failed attempt at `now`: what to log for it.
    pub fn failed(&mut self, now: Instant) -> OutageStep {
        let Some(state) = &mut self.current else {
            self.current = Some(OutageState {
                since: now,
                failures: 1,
                warned: now,
            });
            return OutageStep::Began;
        };
        state.failures += 1;
        if now.saturating_duration_since(state.warned) < Self::REMIND {
            return OutageStep::Quiet;
        }
        state.warned = now;
        OutageStep::Remind {
            failures: state.failures,
            lasted: now.saturating_duration_since(state.since),
        }
    }

    /// `Some` when this success ends an outage.
    pub fn succeeded(&mut self, now: Instant) -> Option<OutageEnded> {
        self.current.take().map(|state| OutageEnded {
            failures: state.failures,
            lasted: now.saturating_duration_since(state.since),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_warned_about_once_reminded_rarely_and_its_end_reported_once() {
        let mut outage = Outage::default();
        let t0 = Instant::now();
        assert_eq!(outage.succeeded(t0), None, "no outage, nothing to report");
        assert_eq!(outage.failed(t0), OutageStep::Began);
        // One poll every 100 ms for 20 s: quiet after the first warning.
        for i in 1..200 {
            let now = t0 + Duration::from_millis(100 * i);
            assert_eq!(outage.failed(now), OutageStep::Quiet, "poll {i}");
        }
        assert_eq!(
            outage.succeeded(t0 + Duration::from_secs(20)),
            Some(OutageEnded {
                failures: 200,
                lasted: Duration::from_secs(20)
            })
        );
        assert_eq!(outage.succeeded(t0 + Duration::from_secs(21)), None);

        // The next outage warns again; a long one is recalled every REMIND, not every poll.
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(outage.failed(t1), OutageStep::Began);
        assert_eq!(
            outage.failed(t1 + Duration::from_secs(299)),
            OutageStep::Quiet
        );
        assert_eq!(
            outage.failed(t1 + Outage::REMIND),
            OutageStep::Remind {
                failures: 3,
                lasted: Outage::REMIND
            }
        );
        assert_eq!(
            outage.failed(t1 + Outage::REMIND + Duration::from_secs(1)),
            OutageStep::Quiet
        );
    }
}
