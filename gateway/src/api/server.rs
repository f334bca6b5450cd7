//! The API's listener: HTTP/1.1 on hyper, in plain TCP or behind rustls, one task per
//! connection under a cap, with bounded headers and a header read timeout (a slow or endless
//! client cannot hold a connection for ever), stopped by the node's cancellation: no new
//! connections, and open ones finish their request and close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Connections served at once; more wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 1024;
/// The largest request head (request line and headers); larger gets 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header fields in a request.
pub const MAX_HEADERS: usize = 64;
/// How long a client may take to send a request head, and a TLS handshake.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish after shutdown begins.
pub const DRAIN: Duration = Duration::from_secs(5);

/// A running listener.
#[derive(Debug)]
pub struct ApiServer {
    local_addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    /// The address it listens on (the port chosen when the configuration said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits until it has stopped (after the cancellation it was started with).
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the API listener task ended abnormally");
        }
    }
}

/// Binds `listen` and serves `router` there (behind TLS when `tls` is given) until `cancel`.
pub async fn serve(
    listen: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    cancel: CancellationToken,
) -> std::io::Result<ApiServer> {
    let listener = TcpListener::bind(listen).await?;
    let local_addr = listener.local_addr()?;
    let acceptor = tls.map(TlsAcceptor::from);
    let task = tokio::spawn(accept_loop(listener, acceptor, router, cancel));
    Ok(ApiServer { local_addr, task })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    router: Router,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            () = cancel.cancelled() => break,
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let tcp = tokio::select! {
            () = cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "the API listener could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (router, cancel, acceptor) = (router.clone(), cancel.clone(), acceptor.clone());
        connections.spawn(async move {
            let _permit = permit;
            match acceptor {
                None => connection(tcp, router, None, cancel).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            // A certificate here chained to `[api] client_ca_file` in the
                            // handshake; which token it stands for is decided per request.
                            let certificate = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|chain| chain.first())
                                .map(|leaf| super::auth::client_certificate_hash(leaf.as_ref()));
                            connection(tls, router, certificate, cancel).await
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "API TLS handshake failed"),
                        Err(_) => tracing::debug!("API TLS handshake timed out"),
                    }
                }
            }
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!("API connections still open after the drain period: closed");
        connections.abort_all();
    }
}

async fn connection<I>(
    io: I,
    router: Router,
    certificate: Option<[u8; 32]>,
    cancel: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES.max(8192))
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let router = TowerToHyperService::new(router);
    // Every request of the connection sees its client certificate (or none) through a
    // task-local, never through anything the client sends (a header could be forged).
    let service = hyper::service::service_fn(move |request| {
        super::auth::CLIENT_CERTIFICATE
            .scope(certificate, hyper::service::Service::call(&router, request))
    });
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "API connection ended with an error");
    }
}
