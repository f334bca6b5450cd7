//! Operators' limits on a lane's deliveries (`[lanes.*] paused` and `rate_limit`): a paused lane
//! delivers nothing (its messages are still observed, logged and attested, so resuming delivers
//! them at once), and a rate-limited one submits at most so many messages per sliding window.
//! The window is this gateway's own: each member gateway keeps to the limit in what it sends.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A lane's delivery limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LaneLimits {
    /// Deliver nothing.
    pub paused: bool,
    /// At most this many messages submitted per window.
    pub rate: Option<DeliveryRate>,
    /// This relayer never delivers the lane (its gateway has no signer key for the
    /// destination): it watches, logs and attests, and the other members deliver. Unlike
    /// `paused`, nothing waits to be resumed.
    pub attest_only: bool,
}

/// At most `max_messages` messages submitted per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryRate {
    /// Messages per window (at least 1).
    pub max_messages: u64,
    /// The window's length.
    pub window: Duration,
}

/// The messages a lane submitted in the current window (shared by its delivery rounds, which
/// run concurrently: a round reserves its share before it leases, so two rounds never both
/// take what only one may send, and gives back what it did not send).
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    state: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    /// Reservations in the window: when, how many, and their ticket.
    sent: VecDeque<(Instant, u64, u64)>,
    next_ticket: u64,
}

/// A round's share of the window ([`RateWindow::reserve`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reservation {
    /// Messages the round may send (`usize::MAX` without a rate).
    pub(crate) allowed: usize,
    ticket: Option<u64>,
}

impl RateWindow {
    /// Reserves up to `want` messages of what the window has left now (everything without a
    /// rate), after dropping what left the window.
    pub(crate) fn reserve(&self, rate: Option<DeliveryRate>, want: usize) -> Reservation {
        let Some(rate) = rate else {
            return Reservation {
                allowed: want,
                ticket: None,
            };
        };
        let now = Instant::now();
        let mut w = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while w
            .sent
            .front()
            .is_some_and(|(at, _, _)| now.duration_since(*at) >= rate.window)
        {
            w.sent.pop_front();
        }
        let used: u64 = w.sent.iter().map(|(_, n, _)| n).sum();
        let left = usize::try_from(rate.max_messages.saturating_sub(used)).unwrap_or(usize::MAX);
        let allowed = left.min(want);
        if allowed == 0 {
            return Reservation {
                allowed,
                ticket: None,
            };
        }
        let ticket = w.next_ticket;
        w.next_ticket += 1;
        w.sent.push_back((now, allowed as u64, ticket));
        Reservation {
            allowed,
            ticket: Some(ticket),
        }
    }

    /// Settles a reservation: only `sent` of its messages count against the window.
    pub(crate) fn settle(&self, reservation: Reservation, sent: usize) {
        let Some(ticket) = reservation.ticket else {
            return;
        };
        let mut w = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = w.sent.iter_mut().find(|(_, _, t)| *t == ticket) {
            entry.1 = entry.1.min(sent as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn reservations_share_the_window_and_free_as_it_slides() {
        let rate = Some(DeliveryRate {
            max_messages: 10,
            window: Duration::from_secs(60),
        });
        let w = RateWindow::default();
        // Two rounds at once: the second gets only what the first left.
        let a = w.reserve(rate, 7);
        let b = w.reserve(rate, 7);
        assert_eq!((a.allowed, b.allowed), (7, 3));
        assert_eq!(w.reserve(rate, 7).allowed, 0);
        // The first sent only 5 of its 7: 2 come back.
        w.settle(a, 5);
        assert_eq!(w.reserve(rate, 7).allowed, 2);
        // Everything leaves the window 60 s after it was reserved.
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(w.reserve(rate, 20).allowed, 10);
        // Without a rate, nothing is counted or limited.
        let free = w.reserve(None, 500);
        assert_eq!(free.allowed, 500);
        w.settle(free, 500);
    }
}
