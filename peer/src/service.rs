//! [`Peer`]: starts the peer server and one client per other member, all stopped by one
//! shutdown future; [`PeerHandle`] reports their state and waits for them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::client::MemberClient;
use crate::collector::PeerCollector;
use crate::config::PeerConfig;
use crate::error::{Error, Result};
use crate::server::{ServerParts, serve};
use crate::status::{LinkState, PeerStatus, ServerCounters, ServerStats, StatusBoard};
use crate::tls::verify::Members;
use crate::tls::{client_config, server_config};

/// The peer protocol of one gateway: its server and its clients.
#[derive(Debug)]
pub struct Peer;

impl Peer {
    /// Binds `config.listen()` and starts the service; see [`Peer::start_with_listener`].
    pub async fn start(
        config: PeerConfig,
        collector: Arc<PeerCollector>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<PeerHandle> {
        let address = config.listen();
        let listener = TcpListener::bind(address).await.map_err(|e| Error::Bind {
            address,
            reason: e.to_string(),
        })?;
        Self::start_with_listener(config, listener, collector, shutdown).await
    }

    /// Starts the server on `listener` and a client per other member. `collector` must sign as
    /// this gateway's member's validator. Everything stops when `shutdown` completes (or the
    /// handle is dropped); [`PeerHandle::join`] waits for that.
    pub async fn start_with_listener(
        config: PeerConfig,
        listener: TcpListener,
        collector: Arc<PeerCollector>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<PeerHandle> {
        Self::start_serving(config, listener, collector, None, shutdown).await
    }

    /// Binds `config.listen()` and starts the service serving `FetchEnvelope` from `envelopes`;
    /// see [`Peer::start_serving`].
    pub async fn start_with_envelopes(
        config: PeerConfig,
        collector: Arc<PeerCollector>,
        envelopes: Arc<dyn crate::envelopes::EnvelopeSource>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<PeerHandle> {
        let address = config.listen();
        let listener = TcpListener::bind(address).await.map_err(|e| Error::Bind {
            address,
            reason: e.to_string(),
        })?;
        Self::start_serving(config, listener, collector, Some(envelopes), shutdown).await
    }

    /// Binds `config.listen()` and starts the service serving `FetchEnvelope` from `envelopes`
    /// and forwarded queries (`Query`) from `queries`; see [`Peer::start_serving`].
    pub async fn start_with_sources(
        config: PeerConfig,
        collector: Arc<PeerCollector>,
        envelopes: Arc<dyn crate::envelopes::EnvelopeSource>,
        queries: Arc<dyn crate::query::QuerySource>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<PeerHandle> {
        let address = config.listen();
        let listener = TcpListener::bind(address).await.map_err(|e| Error::Bind {
            address,
            reason: e.to_string(),
        })?;
        Self::start_all(
            config,
            listener,
            collector,
            Some(envelopes),
            Some(queries),
            shutdown,
        )
        .await
    }

    /// [`Peer::start_with_listener`], serving `FetchEnvelope` from `envelopes` when given
    /// (without, the call answers UNIMPLEMENTED).
    pub async fn start_serving(
        config: PeerConfig,
        listener: TcpListener,
        collector: Arc<PeerCollector>,
        envelopes: Option<Arc<dyn crate::envelopes::EnvelopeSource>>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<PeerHandle> {
        Self::start_all(config, listener, collector, envelopes, None, shutdown).await
    }

    /// [`Peer::start_serving`], answering forwarded queries from `queries` when given (without,
    /// `Query` answers NOT_FOUND: this gateway serves no chain for other members).
    pub async fn start_all(
        config: PeerConfig,
        listener: TcpListener,
        collector: Arc<PeerCollector>,
        envelopes: Option<Arc<dyn crate::envelopes::EnvelopeSource>>,
        queries: Option<Arc<dyn crate::query::QuerySource>>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<PeerHandle> {
        if collector.validator() != config.own.validator {
            return Err(Error::ValidatorMismatch {
                key: collector.validator(),
                configured: config.own.validator,
            });
        }
        let local_addr = listener.local_addr().map_err(|e| Error::Bind {
            address: config.listen,
            reason: e.to_string(),
        })?;
        let members = Arc::new(Members::new(
            config
                .others
                .iter()
                .map(|m| (Arc::<str>::from(m.name.as_str()), m.trust.clone()))
                .collect(),
        ));
        let server_tls = server_config(&config.identity, members.clone())?;
        let clients = config
            .others
            .iter()
            .map(|member| client_config(&config.identity, &member.trust))
            .collect::<Result<Vec<_>>>()?;

        let cancel = CancellationToken::new();
        let status = Arc::new(StatusBoard::new(
            config.others.iter().map(|m| m.name.as_str()),
        ));
        let counters = Arc::new(ServerCounters::default());
        let mut tasks = JoinSet::new();
        {
            let cancel = cancel.clone();
            tasks.spawn(async move {
                tokio::select! {
                    _ = shutdown => cancel.cancel(),
                    _ = cancel.cancelled() => {}
                }
                Ok(())
            });
        }
        tasks.spawn(serve(
            ServerParts {
                listener,
                tls: server_tls,
                members,
                collector: collector.clone(),
                limits: config.limits.clone(),
                counters: counters.clone(),
                envelopes,
                queries,
            },
            cancel.clone(),
        ));
        for (index, (member, tls)) in config.others.iter().zip(clients).enumerate() {
            let client = MemberClient {
                index,
                member: member.clone(),
                tls,
                collector: collector.clone(),
                status: status.clone(),
                limits: config.limits.clone(),
            };
            let cancel = cancel.clone();
            tasks.spawn(async move {
                client.run(cancel).await;
                Ok(())
            });
        }
        Ok(PeerHandle {
            local_addr,
            status,
            counters,
            cancel,
            tasks,
        })
    }
}

/// Reads a peer service's links and server counters ([`PeerHandle::status_reader`]).
#[derive(Clone, Debug)]
pub struct PeerStatusReader {
    status: Arc<StatusBoard>,
    counters: Arc<ServerCounters>,
}

impl PeerStatusReader {
    /// The client link to every other member (as [`PeerHandle::peers`]).
    pub fn peers(&self) -> Vec<PeerStatus> {
        self.status.snapshot()
    }

    /// The server's counters (as [`PeerHandle::server_stats`]).
    pub fn server_stats(&self) -> ServerStats {
        self.counters.snapshot()
    }
}

/// A running peer service.
#[derive(Debug)]
pub struct PeerHandle {
    local_addr: SocketAddr,
    status: Arc<StatusBoard>,
    counters: Arc<ServerCounters>,
    cancel: CancellationToken,
    tasks: JoinSet<Result<()>>,
}

impl std::fmt::Debug for StatusBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.snapshot()).finish()
    }
}

impl std::fmt::Debug for ServerCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl PeerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The client link to every other member.
    pub fn peers(&self) -> Vec<PeerStatus> {
        self.status.snapshot()
    }

    /// The members this gateway is currently subscribed to.
    pub fn connected(&self) -> Vec<String> {
        self.status
            .snapshot()
            .into_iter()
            .filter(|p| p.state == LinkState::Connected)
            .map(|p| p.member)
            .collect()
    }

    /// The server's counters.
    pub fn server_stats(&self) -> ServerStats {
        self.counters.snapshot()
    }

    /// A cheap, cloneable view of the links and counters that outlives no task: what a
    /// metrics scrape reads while the handle itself stays with its owner.
    pub fn status_reader(&self) -> PeerStatusReader {
        PeerStatusReader {
            status: Arc::clone(&self.status),
            counters: Arc::clone(&self.counters),
        }
    }

    /// Stops everything now (as the shutdown future would) and waits.
    pub async fn stop(self) -> Result<()> {
        self.cancel.cancel();
        self.join().await
    }

    /// Waits until the service has stopped (after the shutdown future completed): every
    /// stream closed, every client stopped. The first error of any task, if one failed.
    pub async fn join(mut self) -> Result<()> {
        let mut first = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            let result = joined.unwrap_or_else(|e| {
                Err(Error::Task {
                    reason: e.to_string(),
                })
            });
            if let (Ok(()), Err(e)) = (&first, result) {
                first = Err(e);
            }
        }
        first
    }
}

impl Drop for PeerHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
