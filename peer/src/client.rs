//! The peer client: one task per other member. It connects to the member's endpoint with this
//! gateway's certificate, checks the server is that member, subscribes to the member's
//! signatures with its cursors, and hands each received signature to the attest stage's lane
//! channel only if it is the member's own validator's, on a lane this gateway asked for, and well
//! formed, and within the flood bounds ([`crate::flood`]). Anything else cuts the member off;
//! every failure is followed by an exponential backoff with jitter.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use causeway_proofs::LogSize;
use causeway_relayer::store::Lane;
use hyper_util::rt::TokioIo;
use rand::Rng as _;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::codegen::Service;
use tonic::codegen::http::Uri;
use tonic::transport::Endpoint;
use tracing::{debug, info, warn};

use crate::collector::{Forwarded, PeerCollector};
use crate::config::{Limits, MemberPeer};
use crate::flood::FloodGuard;
use crate::status::{LinkState, StatusBoard};
use crate::wire::{self, Violation, proto};

/// Opens TCP then TLS to one member, for tonic's channel.
#[derive(Clone)]
pub(crate) struct MemberConnector {
    pub(crate) tls: TlsConnector,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) host: String,
    pub(crate) port: u16,
}

type ConnectFuture = Pin<
    Box<
        dyn Future<Output = io::Result<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>> + Send,
    >,
>;

impl Service<Uri> for MemberConnector {
    type Response = TokioIo<tokio_rustls::client::TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let tcp = TcpStream::connect((this.host.as_str(), this.port)).await?;
            let _ = tcp.set_nodelay(true);
            let tls = this.tls.connect(this.server_name, tcp).await?;
            Ok(TokioIo::new(tls))
        })
    }
}

/// How a session ended.
enum SessionEnd {
    /// The subscribed lanes changed: resubscribe at once.
    LanesChanged,
    /// The server ended the stream (it shut down, or the connection closed).
    Closed,
}

/// Why a session failed.
enum SessionError {
    /// The member broke the protocol: cut off.
    Violation(Violation),
    /// Connecting, the handshake or the stream failed.
    Failed(String),
}

/// The client task of one member.
pub(crate) struct MemberClient {
    pub(crate) index: usize,
    pub(crate) member: MemberPeer,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) collector: Arc<PeerCollector>,
    pub(crate) status: Arc<StatusBoard>,
    pub(crate) limits: Limits,
}

impl MemberClient {
    /// Runs until `cancel` fires.
    pub(crate) async fn run(self, cancel: CancellationToken) {
        let mut cursors: HashMap<Lane, LogSize> = HashMap::new();
        let mut backoff = self.limits.backoff_initial;
        let mut failures_in_a_row: u64 = 0;
        let name = self.member.name.clone();
        loop {
            self.status.set_state(self.index, LinkState::Connecting);
            let started = Instant::now();
            let outcome = tokio::select! {
                _ = cancel.cancelled() => break,
                outcome = self.session(&mut cursors) => outcome,
            };
            // A session that stayed up for a while resets the backoff.
            if started.elapsed() >= self.limits.backoff_max {
                backoff = self.limits.backoff_initial;
                failures_in_a_row = 0;
            }
            if outcome.is_ok() {
                failures_in_a_row = 0;
            }
            match outcome {
                Ok(SessionEnd::LanesChanged) => continue,
                Ok(SessionEnd::Closed) => {
                    info!(member = %name, "peer client: the member closed the stream; reconnecting");
                }
                Err(SessionError::Violation(violation)) => {
                    warn!(member = %name, %violation, "peer client: cut off a member that broke the protocol");
                    self.status.violation(self.index, violation.to_string());
                }
                Err(SessionError::Failed(reason)) => {
                    // The first failure, then every tenth: an unreachable member is visible
                    // without one line per attempt.
                    failures_in_a_row += 1;
                    if failures_in_a_row % 10 == 1 {
                        warn!(member = %name, %reason, failures_in_a_row, "peer client: cannot reach the member; retrying with backoff");
                    } else {
                        debug!(member = %name, %reason, failures_in_a_row, "peer client: connection failed");
                    }
                    self.status.failure(self.index, reason);
                }
            }
            self.status.set_state(self.index, LinkState::BackingOff);
            // Full jitter over the upper half: between backoff/2 and backoff.
            let delay = jitter(backoff);
            backoff = (backoff * 2).min(self.limits.backoff_max);
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        self.status.set_state(self.index, LinkState::Stopped);
    }

    async fn session(
        &self,
        cursors: &mut HashMap<Lane, LogSize>,
    ) -> Result<SessionEnd, SessionError> {
        let mut lanes_watch = self.collector.watch_lanes();
        let lanes: BTreeSet<Lane> = lanes_watch.borrow_and_update().clone();
        let endpoint = &self.member.endpoint;
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            SessionError::Failed(format!("{what} {endpoint}: {e}"))
        };
        // The URI only names the :authority of requests; the connector dials the member.
        let uri = Endpoint::from_shared(format!("http://{endpoint}"))
            .map_err(|e| failed("invalid endpoint", &e))?
            .connect_timeout(self.limits.connect_timeout)
            .http2_keep_alive_interval(self.limits.keepalive_interval)
            .keep_alive_timeout(self.limits.keepalive_timeout)
            .keep_alive_while_idle(true);
        let connector = MemberConnector {
            tls: TlsConnector::from(self.tls.clone()),
            server_name: self.member.trust.server_name().clone(),
            host: endpoint.host().to_owned(),
            port: endpoint.port(),
        };
        let channel = tokio::time::timeout(
            self.limits.connect_timeout,
            uri.connect_with_connector(connector),
        )
        .await
        .map_err(|_| {
            failed(
                "no connection within the deadline to",
                &format!("{:?}", self.limits.connect_timeout),
            )
        })?
        .map_err(|e| failed("cannot connect to", &error_chain(&e)))?;
        let mut client = proto::peer_client::PeerClient::new(channel)
            .max_decoding_message_size(self.limits.max_message_size)
            .max_encoding_message_size(self.limits.max_message_size);
        let request = proto::StreamSignaturesRequest {
            cursors: lanes
                .iter()
                .map(|lane| proto::LaneCursor {
                    origin: lane.origin.0,
                    destination: lane.destination.0,
                    last_size: cursors.get(lane).map(|size| size.0),
                })
                .collect(),
        };
        let mut stream = tokio::time::timeout(
            self.limits.connect_timeout,
            client.stream_signatures(request),
        )
        .await
        .map_err(|_| {
            failed(
                "no answer to the subscription within the deadline from",
                &format!("{:?}", self.limits.connect_timeout),
            )
        })?
        .map_err(|status| classify(status, endpoint))?
        .into_inner();
        self.status.set_state(self.index, LinkState::Connected);
        info!(member = %self.member.name, %endpoint, lanes = lanes.len(), "peer client: subscribed");
        let mut flood = FloodGuard::new(&self.limits, lanes.len());
        loop {
            let message = tokio::select! {
                changed = lanes_watch.changed() => {
                    if changed.is_err() {
                        return Ok(SessionEnd::Closed);
                    }
                    return Ok(SessionEnd::LanesChanged);
                }
                message = stream.message() => message,
            };
            let message = match message {
                Ok(Some(message)) => message,
                Ok(None) => return Ok(SessionEnd::Closed),
                Err(status) => return Err(classify(status, endpoint)),
            };
            let (lane, signature) = wire::decode(&message, self.member.validator, &lanes)
                .map_err(SessionError::Violation)?;
            flood
                .admit(lane, &message)
                .map_err(SessionError::Violation)?;
            let size = signature.checkpoint.size();
            let seen = cursors.entry(lane).or_insert(size);
            *seen = (*seen).max(size);
            if self.collector.forward(lane, signature).await == Forwarded::Delivered {
                self.status.received(self.index);
            }
        }
    }
}

/// A stream error: decoding failures are the member's violations, the rest are failures.
fn classify(status: tonic::Status, endpoint: &crate::config::PeerEndpoint) -> SessionError {
    let message = status.message().to_owned();
    match status.code() {
        // tonic's decoder: "decoded message length too large" (our max_decoding_message_size).
        Code::OutOfRange | Code::ResourceExhausted if message.contains("too large") => {
            SessionError::Violation(Violation::Oversized { reason: message })
        }
        Code::Internal if message.contains("decode") => {
            SessionError::Violation(Violation::Undecodable { reason: message })
        }
        code => SessionError::Failed(format!(
            "stream from {endpoint} failed: {code:?}: {message}"
        )),
    }
}

/// `error` and its sources, joined (tonic's transport errors hide the TLS reason in a source).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

/// A delay between `backoff / 2` and `backoff`.
fn jitter(backoff: Duration) -> Duration {
    let half = backoff / 2;
    half + rand::thread_rng().gen_range(Duration::ZERO..=half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_the_upper_half() {
        for _ in 0..100 {
            let d = jitter(Duration::from_millis(800));
            assert!(
                d >= Duration::from_millis(400) && d <= Duration::from_millis(800),
                "{d:?}"
            );
        }
    }
}
