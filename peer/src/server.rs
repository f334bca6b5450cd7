//! The peer server: a TLS acceptor that admits only configured members (mini-redis style: one
//! listener, a semaphore capping connections, a task per handshake, a shutdown future), and the
//! `causeway.peer.v1.Peer` service streaming this gateway's own signatures.
//!
//! The handshake happens here, before tonic sees the connection: a client whose certificate is
//! not exactly one member's never reaches HTTP/2. Each admitted connection carries its member's
//! name to the service ([`PeerConnInfo`]).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use causeway_proofs::{Domain, LogSize};
use causeway_relayer::store::Lane;
use rustls::pki_types::UnixTime;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};
use tracing::{debug, info, warn};

use crate::collector::PeerCollector;
use crate::config::Limits;
use crate::error::{Error, Result};
use crate::status::ServerCounters;
use crate::tls::verify::Members;
use crate::wire::{self, proto};

/// Who is on the other end of an admitted connection.
#[derive(Clone, Debug)]
pub(crate) struct PeerConnInfo {
    /// The member its certificate maps to.
    pub(crate) member: Arc<str>,
    /// Its address.
    pub(crate) remote: SocketAddr,
}

/// At most one warning per second for refusals an outsider can cause at will (a handshake
/// flood must not become a log flood); the others are counted and reported with the next one.
#[derive(Default)]
struct LogThrottle {
    next: Mutex<Option<std::time::Instant>>,
    suppressed: std::sync::atomic::AtomicU64,
}

impl LogThrottle {
    /// `Some(warnings suppressed since the last one)` if a warning may be logged now.
    fn allow(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        let now = std::time::Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if next.is_some_and(|next| now < next) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *next = Some(now + Duration::from_secs(1));
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

/// Connections per member, released when a connection closes.
#[derive(Default)]
struct MemberSlots(Mutex<HashMap<Arc<str>, usize>>);

struct MemberSlot {
    slots: Arc<MemberSlots>,
    member: Arc<str>,
}

impl MemberSlots {
    fn take(self: &Arc<Self>, member: &Arc<str>, max: usize) -> Option<MemberSlot> {
        let mut slots = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = slots.entry(member.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(MemberSlot {
            slots: self.clone(),
            member: member.clone(),
        })
    }
}

impl Drop for MemberSlot {
    fn drop(&mut self) {
        let mut slots = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = slots.get_mut(&self.member) {
            *count = count.saturating_sub(1);
        }
    }
}

/// An admitted connection: TLS done, member known, its connection slots held until it closes.
pub(crate) struct PeerConnection {
    stream: TlsStream<TcpStream>,
    info: PeerConnInfo,
    _permit: OwnedSemaphorePermit,
    _slot: MemberSlot,
}

impl Connected for PeerConnection {
    type ConnectInfo = PeerConnInfo;
    fn connect_info(&self) -> PeerConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for PeerConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for PeerConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// What the server needs, shared by its tasks.
pub(crate) struct ServerParts {
    pub(crate) listener: TcpListener,
    pub(crate) tls: Arc<rustls::ServerConfig>,
    pub(crate) members: Arc<Members>,
    pub(crate) collector: Arc<PeerCollector>,
    pub(crate) limits: Limits,
    pub(crate) counters: Arc<ServerCounters>,
    pub(crate) envelopes: Option<Arc<dyn crate::envelopes::EnvelopeSource>>,
    pub(crate) queries: Option<Arc<dyn crate::query::QuerySource>>,
}

/// Serves until `cancel` fires, then closes every stream and connection.
pub(crate) async fn serve(parts: ServerParts, cancel: CancellationToken) -> Result<()> {
    let ServerParts {
        listener,
        tls,
        members,
        collector,
        limits,
        counters,
        envelopes,
        queries,
    } = parts;
    let (admitted, incoming) = mpsc::channel(limits.max_connections.max(1));
    let acceptor = tokio::spawn(accept_loop(
        listener,
        TlsAcceptor::from(tls),
        members,
        limits.clone(),
        counters.clone(),
        admitted,
        cancel.clone(),
    ));
    let service = PeerService {
        collector,
        limits: limits.clone(),
        counters,
        cancel: cancel.clone(),
        envelopes,
        queries,
    };
    let service = proto::peer_server::PeerServer::new(service)
        .max_decoding_message_size(limits.max_message_size)
        .max_encoding_message_size(limits.max_message_size.max(limits.max_envelope_size));
    let server = tonic::transport::Server::builder()
        .max_concurrent_streams(limits.max_streams_per_connection)
        .concurrency_limit_per_connection(limits.max_streams_per_connection as usize)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        .http2_max_header_list_size(16 * 1024)
        // Bounds the time to the response headers of a call (not the signature stream itself).
        .timeout(limits.connect_timeout)
        .serve_with_incoming_shutdown(service, ReceiverStream::new(incoming), cancel.cancelled());
    // After shutdown, connections get `shutdown_grace` to close (a peer that stopped reading
    // would otherwise hold the graceful close, and with it the gateway's exit, for ever).
    let grace = limits.shutdown_grace;
    let deadline = async {
        cancel.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    let result = tokio::select! {
        served = server => served.map_err(|e| Error::Serve {
            reason: e.to_string(),
        }),
        () = deadline => {
            warn!(?grace, "peer server: connections still open after the shutdown grace period; leaving them");
            Ok(())
        }
    };
    cancel.cancel();
    acceptor.await.map_err(|e| Error::Task {
        reason: e.to_string(),
    })?;
    result
}

/// Accepts TCP connections and runs each TLS handshake in its own task, so a slow or hostile
/// client never holds up the others.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    members: Arc<Members>,
    limits: Limits,
    counters: Arc<ServerCounters>,
    admitted: mpsc::Sender<io::Result<PeerConnection>>,
    cancel: CancellationToken,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let throttle = Arc::new(LogThrottle::default());
    let slots = Arc::new(MemberSlots::default());
    loop {
        let (tcp, remote) = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, as mini-redis does, then go on.
                    warn!(error = %e, "peer server: accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            ServerCounters::bump(&counters.connections_over_limit);
            if let Some(suppressed) = throttle.allow() {
                warn!(%remote, limit = limits.max_connections, suppressed, "peer server: too many connections, closing a new one");
            }
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let handshake = Handshake {
            acceptor: acceptor.clone(),
            members: members.clone(),
            slots: slots.clone(),
            limits: limits.clone(),
            counters: counters.clone(),
            admitted: admitted.clone(),
            throttle: throttle.clone(),
        };
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = handshake.run(tcp, remote, permit) => {}
            }
        });
    }
}

struct Handshake {
    acceptor: TlsAcceptor,
    members: Arc<Members>,
    slots: Arc<MemberSlots>,
    limits: Limits,
    counters: Arc<ServerCounters>,
    admitted: mpsc::Sender<io::Result<PeerConnection>>,
    throttle: Arc<LogThrottle>,
}

impl Handshake {
    async fn run(self, tcp: TcpStream, remote: SocketAddr, permit: OwnedSemaphorePermit) {
        let refused = |reason: String| {
            ServerCounters::bump(&self.counters.handshakes_refused);
            if let Some(suppressed) = self.throttle.allow() {
                warn!(%remote, %reason, suppressed, "peer server: refused a connection at the TLS handshake");
            }
        };
        let stream =
            match tokio::time::timeout(self.limits.handshake_timeout, self.acceptor.accept(tcp))
                .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return refused(e.to_string()),
                Err(_) => {
                    return refused(format!(
                        "no complete handshake within {:?}",
                        self.limits.handshake_timeout
                    ));
                }
            };
        // The verifier admitted the certificate; identify which member it is (the same check).
        let member = {
            let (_, connection) = stream.get_ref();
            match connection.peer_certificates() {
                Some([end_entity, intermediates @ ..]) => {
                    self.members
                        .identify(end_entity, intermediates, UnixTime::now())
                }
                _ => Err(rustls::Error::NoCertificatesPresented),
            }
        };
        let member = match member {
            Ok(member) => member,
            Err(e) => return refused(e.to_string()),
        };
        let Some(slot) = self
            .slots
            .take(&member, self.limits.max_connections_per_member)
        else {
            ServerCounters::bump(&self.counters.connections_over_limit);
            warn!(%remote, %member, limit = self.limits.max_connections_per_member,
                "peer server: member has too many connections, closing a new one");
            return;
        };
        ServerCounters::bump(&self.counters.connections_accepted);
        info!(%remote, %member, "peer server: member connected");
        let connection = PeerConnection {
            stream,
            info: PeerConnInfo { member, remote },
            _permit: permit,
            _slot: slot,
        };
        let _ = self.admitted.send(Ok(connection)).await;
    }
}

/// The `causeway.peer.v1.Peer` service.
#[derive(Clone)]
struct PeerService {
    collector: Arc<PeerCollector>,
    limits: Limits,
    counters: Arc<ServerCounters>,
    cancel: CancellationToken,
    envelopes: Option<Arc<dyn crate::envelopes::EnvelopeSource>>,
    queries: Option<Arc<dyn crate::query::QuerySource>>,
}

/// Per requested lane, the last size the subscriber has seen (`None`: nothing yet).
type Cursors = HashMap<Lane, Option<LogSize>>;

fn parse_cursors(request: &proto::StreamSignaturesRequest, max: usize) -> Result<Cursors, String> {
    if request.cursors.len() > max {
        return Err(format!(
            "{} lanes requested, at most {max} per subscription",
            request.cursors.len()
        ));
    }
    let mut cursors = HashMap::new();
    for cursor in &request.cursors {
        let lane = Lane {
            origin: Domain(cursor.origin),
            destination: Domain(cursor.destination),
        };
        if cursors
            .insert(lane, cursor.last_size.map(LogSize))
            .is_some()
        {
            return Err(format!("lane {lane} requested twice"));
        }
    }
    Ok(cursors)
}

#[tonic::async_trait]
impl proto::peer_server::Peer for PeerService {
    type StreamSignaturesStream = ReceiverStream<Result<proto::SignedCheckpoint, Status>>;

    async fn stream_signatures(
        &self,
        request: Request<proto::StreamSignaturesRequest>,
    ) -> Result<Response<Self::StreamSignaturesStream>, Status> {
        let Some(info) = request.extensions().get::<PeerConnInfo>().cloned() else {
            // Every connection comes through the acceptor; this cannot happen.
            return Err(Status::unauthenticated(
                "no member identity on this connection",
            ));
        };
        let cursors = match parse_cursors(request.get_ref(), self.limits.max_lanes_per_subscription)
        {
            Ok(cursors) => cursors,
            Err(reason) => {
                ServerCounters::bump(&self.counters.subscriptions_refused);
                warn!(member = %info.member, remote = %info.remote, %reason, "peer server: refused a subscription");
                return Err(Status::invalid_argument(reason));
            }
        };
        ServerCounters::bump(&self.counters.subscriptions);
        debug!(member = %info.member, lanes = cursors.len(), "peer server: streaming signatures");
        // Subscribe before reading the latest signatures, so none made in between is missed.
        let own = self.collector.own_signatures();
        let (sender, receiver) = mpsc::channel(self.limits.stream_buffer.max(1));
        let stream = SignatureStream {
            collector: self.collector.clone(),
            cursors,
            sent: HashMap::new(),
            sender,
            member: info.member,
        };
        let cancel = self.cancel.clone();
        let counters = self.counters.clone();
        counters
            .streams_open
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = stream.run(own) => {}
            }
            counters
                .streams_open
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn fetch_envelope(
        &self,
        request: Request<proto::FetchEnvelopeRequest>,
    ) -> Result<Response<proto::Envelope>, Status> {
        let Some(info) = request.extensions().get::<PeerConnInfo>().cloned() else {
            self.counters
                .envelope_answered(tonic::Code::Unauthenticated);
            return Err(Status::unauthenticated(
                "no member identity on this connection",
            ));
        };
        let Some(source) = &self.envelopes else {
            self.counters.envelope_answered(tonic::Code::Unimplemented);
            return Err(Status::unimplemented(
                "this gateway serves no envelopes (it was started without a store of them)",
            ));
        };
        let reply = crate::envelopes::serve(&**source, &info.member, request.get_ref()).await;
        match &reply {
            Ok(_) => {
                self.counters.envelope_answered(tonic::Code::Ok);
                info!(member = %info.member, "peer server: served an envelope")
            }
            Err(s) => {
                self.counters.envelope_answered(s.code());
                warn!(member = %info.member, code = ?s.code(), reason = s.message(), "peer server: refused an envelope")
            }
        }
        reply.map(Response::new)
    }

    async fn query(
        &self,
        request: Request<proto::QueryRequest>,
    ) -> Result<Response<proto::QueryReply>, Status> {
        let Some(info) = request.extensions().get::<PeerConnInfo>().cloned() else {
            return Err(Status::unauthenticated(
                "no member identity on this connection",
            ));
        };
        let Some(source) = &self.queries else {
            return Err(Status::not_found(
                "this gateway answers no forwarded queries (it was started without chains to \
                 read)",
            ));
        };
        let domain = request.get_ref().domain;
        let reply = crate::query::serve(&**source, &info.member, request.into_inner()).await;
        match &reply {
            Ok(_) => {
                info!(member = %info.member, domain, "peer server: answered a forwarded query")
            }
            Err(s) => {
                debug!(member = %info.member, domain, code = ?s.code(), reason = s.message(), "peer server: no answer to a forwarded query")
            }
        }
        reply.map(Response::new)
    }
}

/// One subscriber's stream of this gateway's signatures.
struct SignatureStream {
    collector: Arc<PeerCollector>,
    cursors: Cursors,
    /// Per lane, the checkpoint last sent (never the same one twice in a row).
    sent: HashMap<Lane, causeway_proofs::Checkpoint>,
    sender: mpsc::Sender<Result<proto::SignedCheckpoint, Status>>,
    member: Arc<str>,
}

impl SignatureStream {
    async fn run(
        mut self,
        mut own: broadcast::Receiver<(Lane, causeway_relayer::pipeline::PeerSignature)>,
    ) {
        // First the latest signature per lane beyond the subscriber's cursor.
        let lanes: Vec<Lane> = self.cursors.keys().copied().collect();
        for lane in &lanes {
            if !self.send_latest(*lane, true).await {
                return;
            }
        }
        loop {
            // A subscriber that went away ends its stream at once, not at the next signature
            // (else a member reconnecting in a loop could pile up idle streams).
            let next = tokio::select! {
                () = self.sender.closed() => return,
                next = own.recv() => next,
            };
            match next {
                Ok((lane, signature)) => {
                    if !self.cursors.contains_key(&lane)
                        || self.sent.get(&lane) == Some(&signature.checkpoint)
                    {
                        continue;
                    }
                    if !self.send(lane, &signature).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Too slow: the latest per lane again, then on with new ones.
                    debug!(member = %self.member, missed, "peer server: subscriber lagged; sending the latest signatures");
                    for lane in &lanes {
                        if !self.send_latest(*lane, false).await {
                            return;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Sends the latest signature of `lane` unless already sent (or, `initial`, unless it is
    /// not beyond the cursor). False once the subscriber is gone.
    async fn send_latest(&mut self, lane: Lane, initial: bool) -> bool {
        let Some(latest) = self.collector.latest(lane) else {
            return true;
        };
        let wanted = if initial {
            self.cursors
                .get(&lane)
                .copied()
                .flatten()
                .is_none_or(|seen| latest.checkpoint.size() > seen)
        } else {
            self.sent.get(&lane) != Some(&latest.checkpoint)
        };
        if !wanted {
            return true;
        }
        self.send(lane, &latest).await
    }

    async fn send(
        &mut self,
        lane: Lane,
        signature: &causeway_relayer::pipeline::PeerSignature,
    ) -> bool {
        self.sent.insert(lane, signature.checkpoint);
        self.sender
            .send(Ok(wire::encode(lane, signature)))
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_warnings_are_throttled_and_the_suppressed_ones_counted() {
        let throttle = LogThrottle::default();
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), None);
        assert_eq!(throttle.allow(), None);
        // A second later (moved back rather than waited for).
        *throttle.next.lock().expect("not poisoned") = Some(std::time::Instant::now());
        assert_eq!(throttle.allow(), Some(2));
    }

    #[test]
    fn subscriptions_with_too_many_or_repeated_lanes_are_refused() {
        let cursor = |origin| proto::LaneCursor {
            origin,
            destination: 2,
            last_size: None,
        };
        let ok = proto::StreamSignaturesRequest {
            cursors: vec![cursor(1), cursor(3)],
        };
        assert_eq!(parse_cursors(&ok, 2).map(|c| c.len()), Ok(2));
        assert!(parse_cursors(&ok, 1).is_err());
        let repeated = proto::StreamSignaturesRequest {
            cursors: vec![cursor(1), cursor(1)],
        };
        let err = parse_cursors(&repeated, 8).expect_err("repeated lane");
        assert!(err.contains("twice"), "{err}");
    }
}
