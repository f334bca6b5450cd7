//! What the peer protocol is doing, for `causeway status` and metrics: per other member the
//! client's link ([`PeerStatus`]), and the server's counters ([`ServerStats`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The state of the client link to one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkState {
    /// Connecting (TCP, TLS handshake, subscription).
    Connecting,
    /// Subscribed and receiving the member's signatures.
    Connected,
    /// Waiting before the next attempt, after a failure or a cut-off.
    BackingOff,
    /// The service has shut down.
    Stopped,
}

/// The client link to one member.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PeerStatus {
    /// The member's name.
    pub member: String,
    /// Its link's state.
    pub state: LinkState,
    /// When the link entered that state.
    pub since: Instant,
    /// Subscriptions established so far.
    pub sessions: u64,
    /// Signatures received and handed to the attest stage's lane channel.
    pub signatures_received: u64,
    /// Times the member was cut off for a protocol violation (another validator's signature,
    /// a malformed or oversized message, a lane not asked for).
    pub violations: u64,
    /// Failed connection attempts and broken streams.
    pub failures: u64,
    /// The last failure or violation, as logged.
    pub last_error: Option<String>,
}

pub(crate) struct StatusBoard {
    peers: Mutex<Vec<PeerStatus>>,
}

impl StatusBoard {
    pub(crate) fn new<'a>(members: impl Iterator<Item = &'a str>) -> Self {
        let now = Instant::now();
        let peers = members
            .map(|member| PeerStatus {
                member: member.to_owned(),
                state: LinkState::Connecting,
                since: now,
                sessions: 0,
                signatures_received: 0,
                violations: 0,
                failures: 0,
                last_error: None,
            })
            .collect();
        StatusBoard {
            peers: Mutex::new(peers),
        }
    }

    fn peers(&self) -> MutexGuard<'_, Vec<PeerStatus>> {
        // Every update is a plain field write: a poisoned lock holds consistent values.
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, index: usize, f: impl FnOnce(&mut PeerStatus)) {
        if let Some(peer) = self.peers().get_mut(index) {
            f(peer);
        }
    }

    pub(crate) fn set_state(&self, index: usize, state: LinkState) {
        self.update(index, |p| {
            if p.state != state {
                p.state = state;
                p.since = Instant::now();
            }
            if state == LinkState::Connected {
                p.sessions += 1;
            }
        });
    }

    pub(crate) fn received(&self, index: usize) {
        self.update(index, |p| p.signatures_received += 1);
    }

    pub(crate) fn violation(&self, index: usize, reason: String) {
        self.update(index, |p| {
            p.violations += 1;
            p.last_error = Some(reason);
        });
    }

    pub(crate) fn failure(&self, index: usize, reason: String) {
        self.update(index, |p| {
            p.failures += 1;
            p.last_error = Some(reason);
        });
    }

    pub(crate) fn snapshot(&self) -> Vec<PeerStatus> {
        self.peers().clone()
    }
}

/// The server's counters since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections whose client certificate mapped to a member.
    pub connections_accepted: u64,
    /// Handshakes refused (no member's certificate, expired, ambiguous, not TLS, too slow).
    pub handshakes_refused: u64,
    /// Connections closed at once because the server or the member had too many.
    pub connections_over_limit: u64,
    /// Signature subscriptions served.
    pub subscriptions: u64,
    /// Subscriptions refused as malformed (too many lanes, a lane twice).
    pub subscriptions_refused: u64,
    /// Signature streams open now.
    pub streams_open: u64,
    /// `FetchEnvelope` calls answered with the envelope.
    pub envelopes_served: u64,
    /// `FetchEnvelope` calls refused because the member may not read the envelope (or has no
    /// privacy key configured here).
    pub envelopes_denied: u64,
    /// `FetchEnvelope` calls for a message whose envelope this gateway does not hold.
    pub envelopes_not_found: u64,
    /// `FetchEnvelope` calls refused as malformed (a message id that is not 32 bytes).
    pub envelopes_rejected: u64,
    /// `FetchEnvelope` calls this gateway could not answer (store busy, a stored envelope that
    /// does not parse or verify, no envelopes served).
    pub envelopes_failed: u64,
}

#[derive(Default)]
pub(crate) struct ServerCounters {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) handshakes_refused: AtomicU64,
    pub(crate) connections_over_limit: AtomicU64,
    pub(crate) subscriptions: AtomicU64,
    pub(crate) subscriptions_refused: AtomicU64,
    pub(crate) streams_open: AtomicU64,
    pub(crate) envelopes_served: AtomicU64,
    pub(crate) envelopes_denied: AtomicU64,
    pub(crate) envelopes_not_found: AtomicU64,
    pub(crate) envelopes_rejected: AtomicU64,
    pub(crate) envelopes_failed: AtomicU64,
}

impl ServerCounters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one `FetchEnvelope` answer by its class.
    pub(crate) fn envelope_answered(&self, code: tonic::Code) {
        let counter = match code {
            tonic::Code::Ok => &self.envelopes_served,
            tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => &self.envelopes_denied,
            tonic::Code::NotFound => &self.envelopes_not_found,
            tonic::Code::InvalidArgument => &self.envelopes_rejected,
            _ => &self.envelopes_failed,
        };
        Self::bump(counter);
    }

    pub(crate) fn snapshot(&self) -> ServerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            connections_accepted: get(&self.connections_accepted),
            handshakes_refused: get(&self.handshakes_refused),
            connections_over_limit: get(&self.connections_over_limit),
            subscriptions: get(&self.subscriptions),
            subscriptions_refused: get(&self.subscriptions_refused),
            streams_open: get(&self.streams_open),
            envelopes_served: get(&self.envelopes_served),
            envelopes_denied: get(&self.envelopes_denied),
            envelopes_not_found: get(&self.envelopes_not_found),
            envelopes_rejected: get(&self.envelopes_rejected),
            envelopes_failed: get(&self.envelopes_failed),
        }
    }
}
