//! The `/metrics` listener: hyper 1 over HTTP/1.1, one task per connection, a semaphore capping
//! connections, a deadline on reading headers and on each connection's life, and shutdown
//! passed in as a future (mini-redis' `server.rs` shape). It serves the text exposition format
//! at `/metrics` (GET and HEAD), 404 anywhere else, and never reads a request body.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::collector::{CONTENT_TYPE, Metrics};

/// Connections served at once; further clients wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 16;
/// How long a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one connection (keep-alive included), so a client cannot hold a slot for ever.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Largest buffered request (headers): hyper's minimum.
const MAX_BUF: usize = 8 * 1024;
/// How long open connections get to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(2);

/// A running `/metrics` listener. Dropping it without [`MetricsServer::join`] stops it at once.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` and serves `metrics` until `shutdown` completes.
    pub async fn start(
        addr: SocketAddr,
        metrics: Metrics,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        Self::start_with_listener(listener, metrics, shutdown)
    }

    /// Serves `metrics` on a bound listener until `shutdown` completes.
    pub fn start_with_listener(
        listener: TcpListener,
        metrics: Metrics,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Self, Error> {
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;
        let task = tokio::spawn(accept_loop(listener, metrics, shutdown));
        Ok(MetricsServer {
            local_addr,
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits until it has stopped (after the shutdown future completed), open connections
    /// drained or cut.
    pub async fn join(mut self) -> Result<(), Error> {
        match self.task.take() {
            Some(task) => task.await.map_err(|e| Error::Task {
                reason: e.to_string(),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let stop = CancellationToken::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break, // never closed
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = &e as &dyn std::error::Error, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            serve_connection(stream, metrics, stop).await;
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    stop.cancel();
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    metrics: Metrics,
    stop: CancellationToken,
) {
    let service = service_fn(move |req| answer(req, metrics.clone()));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_BUF)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        served = conn.as_mut() => {
            if let Err(e) = served {
                tracing::debug!(error = &e as &dyn std::error::Error, "metrics connection ended with an error");
            }
        }
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN, conn).await;
        }
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {}
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn answer(
    req: Request<Incoming>,
    metrics: Metrics,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/metrics" {
        return Ok(text(
            StatusCode::NOT_FOUND,
            "not found: this listener serves Prometheus metrics at /metrics only\n",
        ));
    }
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: /metrics answers GET and HEAD\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return Ok(r);
    }
    // The snapshot reads the store: off the runtime's workers.
    let rendered = tokio::task::spawn_blocking(move || metrics.render()).await;
    Ok(match rendered {
        Ok(Ok(body)) => {
            let body = if head {
                Bytes::new()
            } else {
                Bytes::from(body)
            };
            let mut r = Response::new(Full::new(body));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(CONTENT_TYPE),
            );
            r
        }
        Ok(Err(e)) => {
            tracing::warn!(
                error = &e as &dyn std::error::Error,
                "rendering /metrics failed"
            );
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the metrics could not be rendered (the gateway's log says why)\n",
            )
        }
        Err(e) => {
            tracing::warn!(
                error = &e as &dyn std::error::Error,
                "the /metrics task failed"
            );
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the metrics could not be rendered (the gateway's log says why)\n",
            )
        }
    })
}
