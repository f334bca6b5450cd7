//! [`Node`]: one organisation's gateway, every role in one process. `Node::start` wires the
//! configured chains ([`crate::wiring`]), opens the store, starts the relayer pipeline (watch,
//! verify, log, attest, deliver, confirm) with this member's validator key signing through the
//! peer protocol, and the peer protocol's server and clients; [`NodeHandle::shutdown`] stops
//! them in order. The HTTP API ([`crate::api`]) and the `/metrics` listener
//! ([`crate::metrics`]) start here too, on the same shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use causeway_config::{Config, Storage};
use causeway_peer::{Peer, PeerCollector, PeerConfig, PeerHandle};
use causeway_proofs::ValidatorKey;
use causeway_relayer::pipeline::PipelineConfig;
use causeway_relayer::store::{LeaseOwner, Rota, SqliteStore, Store};
use causeway_relayer::{Relayer, RelayerHandle};
use tokio_util::sync::CancellationToken;

use crate::wiring;

/// How a gateway runs beyond what its configuration names: the pipeline's knobs and the grace
/// period between members' delivery turns. [`NodeOptions::from_config`] takes them from the
/// configuration's `[relayer]` section.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The pipeline's knobs (its `owner` is replaced by the organisation's name and the
    /// replica's `[gateway] instance`: a restarted gateway takes its own submissions back at
    /// once).
    pub pipeline: PipelineConfig,
    /// How long the next member waits after the member whose turn it is before it delivers a
    /// run of messages itself (when the destination still shows them undelivered).
    pub delivery_grace: Duration,
    /// Whether the gateway keeps and serves metrics (the default). Off, no `/metrics` listener
    /// starts and every metric update of the process is skipped
    /// ([`causeway_adapters::metrics::set_updates`]): what `bench pipeline --no-metrics`
    /// compares against.
    pub metrics: bool,
}

impl NodeOptions {
    /// The options `config`'s `[relayer]` section sets (defaults where it is silent).
    pub fn from_config(config: &Config) -> Self {
        let r = config.relaying();
        // One delivery round per signer account at a time (`wiring`'s signer pools): a chain
        // with several accounts is delivered to by as many rounds at once.
        let accounts = config
            .chains()
            .iter()
            .map(|c| c.signer_key_files.len())
            .max()
            .unwrap_or(0);
        let defaults = PipelineConfig::default();
        NodeOptions {
            pipeline: PipelineConfig {
                source_poll: r.poll_interval,
                deliver_poll: r.poll_interval,
                confirm_poll: r.poll_interval,
                deliver_workers: defaults.deliver_workers.max(accounts),
                lease_for: r.lease,
                // A holder stops sending under a lease this long before it ends: the default
                // margin, or a quarter of a short lease (the margin must be less than it).
                clock_skew: defaults.clock_skew.min(r.lease / 4),
                ..defaults
            },
            delivery_grace: r.delivery_grace,
            metrics: true,
        }
    }
}

/// A gateway.
#[derive(Debug)]
pub struct Node;

/// A running gateway: observe it, stop it.
pub struct NodeHandle {
    relayer: RelayerHandle,
    peer: PeerHandle,
    /// `None` when the options turned metrics off.
    metrics: Option<causeway_monitoring::MetricsServer>,
    store: Arc<dyn Store>,
    api: crate::api::ApiServer,
    cancel: CancellationToken,
    /// The dispatchers and the envelope follower ([`crate::private::start`]), and the
    /// anchoring tasks ([`crate::anchor::start`]), each watched ([`supervise`]).
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Those of them that died while the gateway ran.
    died: tokio::sync::mpsc::UnboundedReceiver<TaskDied>,
}

/// A long-running task of the gateway (a dispatcher, the envelope follower, an anchoring) that
/// ended while the gateway was running: it panicked (a bug) or returned. Its work stops with
/// it, so the gateway must stop too ([`NodeHandle::died`]; `causeway run` then exits non-zero)
/// rather than run on without it; a restart resumes it from the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDied {
    /// Which task (`the dispatcher of chain alliance`).
    pub task: String,
    /// Why: its panic's message, or that it returned.
    pub cause: String,
}

impl core::fmt::Display for TaskDied {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} died while the gateway ran: {} (fix: restart the gateway, it resumes from the \
             store; report the cause if it recurs)",
            self.task, self.cause
        )
    }
}

impl std::error::Error for TaskDied {}

/// Watches each named task of `tasks`: one that panics or returns before `cancel` fires is
/// logged at error with its cause and reported on the receiver; once `cancel` fired, tasks end
/// quietly (a panic while stopping is still logged). The handles returned end when the tasks
/// do.
pub fn supervise(
    tasks: Vec<(String, tokio::task::JoinHandle<()>)>,
    cancel: &CancellationToken,
) -> (
    Vec<tokio::task::JoinHandle<()>>,
    tokio::sync::mpsc::UnboundedReceiver<TaskDied>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let handles = tasks
        .into_iter()
        .map(|(task, handle)| {
            let (tx, cancel) = (tx.clone(), cancel.clone());
            tokio::spawn(async move {
                let cause = match handle.await {
                    Ok(()) if cancel.is_cancelled() => return,
                    Ok(()) => "it returned".to_owned(),
                    Err(e) if e.is_panic() => {
                        let panic = e.into_panic();
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|m| (*m).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic without a message".to_owned());
                        format!("it panicked: {message}")
                    }
                    Err(_) if cancel.is_cancelled() => return,
                    Err(e) => format!("it was cancelled: {e}"),
                };
                let died = TaskDied { task, cause };
                if cancel.is_cancelled() {
                    tracing::error!(task = %died.task, cause = %died.cause, "a gateway task died while stopping");
                    return;
                }
                tracing::error!(task = %died.task, cause = %died.cause, "a gateway task died; stopping the gateway (restart it: it resumes from the store)");
                let _ = tx.send(died);
            })
        })
        .collect();
    (handles, rx)
}

impl Node {
    /// Checks and wires everything `config` names, then starts every role. Fails, saying what
    /// to fix, before any work is accepted when a chain, contract, key, validator set or the
    /// store is not as configured.
    pub async fn start(config: &Config, options: NodeOptions) -> Result<NodeHandle> {
        let wired = wiring::wire(config).await?;
        Self::start_wired(config, wired, options).await
    }

    /// Starts every role on chains already built: [`Node::start`] after its checks, or chains
    /// built another way (the pipeline benchmark's in-memory chains). `config` still gives
    /// the organisation, its keys, the members, the store and the listeners.
    pub async fn start_wired(
        config: &Config,
        wired: wiring::Wired,
        options: NodeOptions,
    ) -> Result<NodeHandle> {
        for warning in &wired.warnings {
            tracing::warn!("{warning}");
        }
        causeway_adapters::metrics::set_updates(options.metrics);
        let store_timings;
        let store: Arc<dyn Store> = match config.storage() {
            Storage::Sqlite { path } => {
                let store = SqliteStore::open(path)
                    .with_context(|| format!("opening the store {}", path.display()))?;
                store_timings = Some(store.timings());
                Arc::new(store)
            }
            Storage::Postgres {
                url,
                password_file,
                dead_peer,
                statement_timeout,
            } => {
                let options = causeway_relayer::store::PgOptions {
                    dead_peer: *dead_peer,
                    statement_timeout: *statement_timeout,
                    ..Default::default()
                };
                let store = open_postgres(url, password_file.as_deref(), options).await?;
                store_timings = Some(store.timings());
                Arc::new(store)
            }
            _ => bail!("this [storage] kind is not supported by this build"),
        };
        let key_file = &config.gateway().validator_key_file;
        let secret = causeway_config::read_secret_key_file(key_file)
            .with_context(|| format!("reading the validator key {}", key_file.display()))?;
        let key = ValidatorKey::from_bytes(secret.expose_secret()).with_context(|| {
            format!(
                "{} does not hold a secp256k1 secret key (fix: `causeway keys` makes one)",
                key_file.display()
            )
        })?;
        let own = config.own_member();
        if key.address() != own.validator_address {
            bail!(
                "the validator key {} signs as {}, but the configuration names {} as {}'s \
                 validator (fix: point gateway.validator_key_file at {}'s key, or correct \
                 validator_address in its [[members]] entry)",
                key_file.display(),
                key.address(),
                own.validator_address,
                own.name,
                own.name
            );
        }
        let collector = Arc::new(collector(key));
        #[cfg(feature = "devnet")]
        pipeline_faults()?;

        // Turns in delivering: the consortium's members, in configuration order (the same in
        // every member's file).
        let members = config.members();
        let position = members
            .iter()
            .position(|m| m.name == own.name)
            .context("this gateway's organisation is not among [[members]]")?;
        let mut pipeline = options.pipeline.clone();
        // One name per replica of the organisation's gateway (`[gateway] instance`), kept
        // across restarts: a restarted replica takes its own submissions back at once, the
        // others' once their follow leases end.
        pipeline.owner = LeaseOwner(match &config.gateway().instance {
            Some(instance) => format!("{}/{instance}", own.name),
            None => own.name.clone(),
        });
        let api_lanes = crate::api::lanes_of(&wired.lanes);
        let observed = crate::metrics::Observed {
            chains: wired
                .chains
                .iter()
                .map(|c| (c.name.clone(), c.metrics.clone()))
                .collect(),
            api: crate::api::ApiRequests::default(),
            // The pipeline's handle is timed on either store.
            store_handles: store_timings
                .into_iter()
                .map(|t| (crate::metrics::HANDLE_PIPELINE, t))
                .chain([(
                    crate::metrics::HANDLE_API,
                    causeway_relayer::store::StoreTimings::default(),
                )])
                .collect(),
            anchors: crate::anchor::AnchorMetrics::new(
                wired.anchors.iter().map(|a| a.name.clone()),
            ),
            // PostgreSQL: the scrape reads through the gateway's pooled handle.
            store: matches!(config.storage(), Storage::Postgres { .. }).then(|| Arc::clone(&store)),
        };
        let api_store_timings = observed
            .store_handles
            .last()
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        let api_requests = observed.api.clone();
        let anchor_metrics = observed.anchors.clone();
        let dispatch_owner = pipeline.owner.clone();
        let mut relayer = Relayer::new(Arc::clone(&store), Arc::clone(&collector) as _, pipeline);
        for origin in wired.origins {
            relayer = relayer.origin(origin);
        }
        for (name, mut lane) in wired.lanes {
            lane.rota = Some(Rota {
                members: u32::try_from(members.len()).unwrap_or(u32::MAX),
                position: u32::try_from(position).unwrap_or(u32::MAX),
                run: lane.batch_size as u64,
                grace: options.delivery_grace,
            });
            tracing::info!(lane = %name, route = %lane.lane(), batch = lane.batch_size, "lane configured");
            relayer = relayer.lane(lane);
        }
        // Public anchoring: the Anchor's lane is attested like any other (signed, exchanged
        // with the members), and submitted by the anchoring tasks below.
        for anchor in &wired.anchors {
            tracing::info!(anchoring = %anchor.name, route = %anchor.lane.lane(), chain = %anchor.chain, "anchoring configured");
            relayer = relayer.attest_lane(anchor.lane.clone());
        }
        // The relayer first: it subscribes its lanes to the collector, which the peer clients
        // then feed.
        let relayer = relayer.spawn().await.map_err(|e| {
            let replica = matches!(e, causeway_relayer::Error::OwnerInUse { .. });
            anyhow::Error::new(e).context(if replica {
                "starting the relayer pipeline (each replica of an organisation's gateway on one \
                 store needs its own [gateway] instance)"
            } else {
                "starting the relayer pipeline"
            })
        })?;
        let cancel = CancellationToken::new();
        let anchor_tasks = crate::anchor::start(
            wired.anchors.clone(),
            Arc::clone(&store),
            relayer.logs(),
            crate::anchor::Turns {
                members: members.len() as u64,
                position: position as u64,
            },
            options.pipeline.source_poll,
            &anchor_metrics,
            cancel.clone(),
        );
        let peer_config =
            PeerConfig::from_config(config).context("the peer protocol's settings")?;
        let outbound = match crate::private::start(
            config,
            Arc::clone(&store),
            &peer_config,
            options.pipeline.source_poll,
            // Send requests are leased under the replica's name too (one live instance per name).
            (dispatch_owner, options.pipeline.lease_for),
            cancel.clone(),
        ) {
            Ok(outbound) => outbound,
            Err(e) => {
                cancel.cancel();
                relayer.shutdown().await;
                return Err(e.context("starting sending and private messages"));
            }
        };
        // Cross-ledger queries: this gateway's chains, others forwarded to the members.
        let forwarder = causeway_peer::QueryForwarder::new(&peer_config)
            .context("the peer protocol's query forwarding")?;
        let queries = crate::query::Queries::from_wired(config, &wired.chains, Some(forwarder));
        let stop = cancel.clone();
        let peer = Peer::start_with_sources(
            peer_config,
            collector,
            Arc::clone(&outbound.peer_source),
            Arc::new(queries.clone()),
            async move { stop.cancelled().await },
        )
        .await
        .context("starting the peer protocol")?;
        let stop = cancel.clone();
        let metrics = if options.metrics {
            match crate::metrics::start(
                config,
                relayer.metrics_reader(),
                peer.status_reader(),
                observed,
                async move { stop.cancelled().await },
            )
            .await
            {
                Ok(metrics) => Some(metrics),
                Err(e) => {
                    cancel.cancel();
                    relayer.shutdown().await;
                    let _ = peer.join().await;
                    return Err(e);
                }
            }
        } else {
            None
        };
        let api = match crate::api::start_with(
            config,
            Arc::clone(&store),
            api_lanes,
            crate::api::ApiContext {
                lanes: config.lanes().iter().map(Into::into).collect(),
                pipeline: Some(relayer.metrics_reader()),
                requests: api_requests,
                store_timings: api_store_timings,
                queries: Some(queries),
                logs: Some(relayer.logs()),
            },
            Some(outbound.sending),
            cancel.clone(),
        )
        .await
        {
            Ok(api) => api,
            Err(e) => {
                cancel.cancel();
                relayer.shutdown().await;
                let _ = peer.join().await;
                if let Some(metrics) = metrics {
                    let _ = metrics.join().await;
                }
                return Err(e.context("starting the HTTP API"));
            }
        };
        tracing::info!(
            organisation = %own.name,
            instance = config.gateway().instance.as_deref().unwrap_or("-"),
            peer_listen = %peer.local_addr(),
            metrics_listen = ?metrics.as_ref().map(|m| m.local_addr()),
            chains = wired.chains.len(),
            "gateway running"
        );
        let mut tasks = outbound.tasks;
        tasks.extend(anchor_tasks);
        let (tasks, died) = supervise(tasks, &cancel);
        Ok(NodeHandle {
            relayer,
            peer,
            metrics,
            store,
            api,
            cancel,
            tasks,
            died,
        })
    }
}

/// The environment variable that makes a devnet build's gateway FAULTY for tests: `equivocate`
/// (a validator that signs two roots for every checkpoint), `hold-after-lease:MS` or
/// `hold-after-dispatch:MS` (see `pipeline_faults`). Read only in builds with the `devnet` feature; a production build has no
/// such mode.
#[cfg(feature = "devnet")]
pub const TEST_FAULT_ENV: &str = "CAUSEWAY_DEVNET_FAULT";

/// This gateway's signature collector (a faulty one only in devnet builds, when asked).
fn collector(key: ValidatorKey) -> PeerCollector {
    #[cfg(feature = "devnet")]
    if std::env::var(TEST_FAULT_ENV).as_deref() == Ok("equivocate") {
        tracing::error!(
            "{TEST_FAULT_ENV}=equivocate: this gateway is a FAULTY validator for tests and signs \
             two roots for every checkpoint"
        );
        return PeerCollector::equivocating(key);
    }
    PeerCollector::new(key)
}

/// The pipeline's test fault a devnet build's gateway takes from [`TEST_FAULT_ENV`]:
/// `hold-after-lease:MS` holds every batch it leases for MS milliseconds, after logging
/// [`causeway_relayer::pipeline::faults::HOLDING_LEASE`] (a test kills or stops it there, while
/// it provably holds a lease). A production build has no such mode.
#[cfg(feature = "devnet")]
fn pipeline_faults() -> Result<()> {
    let Ok(fault) = std::env::var(TEST_FAULT_ENV) else {
        return Ok(());
    };
    if let Some(ms) = fault.strip_prefix("hold-after-lease:") {
        let ms: u64 = ms.parse().with_context(|| {
            format!("{TEST_FAULT_ENV}={fault}: the hold is a number of milliseconds")
        })?;
        tracing::error!(
            "{TEST_FAULT_ENV}={fault}: this gateway is FAULTY for tests and holds every batch \
             it leases for {ms} ms before sending it"
        );
        causeway_relayer::pipeline::faults::hold_after_lease(Duration::from_millis(ms));
    }
    // The dispatcher's: every landed dispatch held unrecorded (`private::dispatch::faults`).
    if let Some(ms) = fault.strip_prefix("hold-after-dispatch:") {
        let ms: u64 = ms.parse().with_context(|| {
            format!("{TEST_FAULT_ENV}={fault}: the hold is a number of milliseconds")
        })?;
        tracing::error!(
            "{TEST_FAULT_ENV}={fault}: this gateway is FAULTY for tests and holds every \
             dispatch that landed for {ms} ms before recording it"
        );
        crate::private::dispatch::faults::hold_after_dispatch(Duration::from_millis(ms));
    }
    Ok(())
}

impl NodeHandle {
    /// The relayer (progress, metrics).
    pub fn relayer(&self) -> &RelayerHandle {
        &self.relayer
    }

    /// The peer protocol (connected members).
    pub fn peer(&self) -> &PeerHandle {
        &self.peer
    }

    /// Where `/metrics` is served (`None` when the options turned metrics off).
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(|m| m.local_addr())
    }

    /// Resolves when one of the gateway's long-running tasks died while it ran (see
    /// [`TaskDied`]): the caller then stops the gateway ([`NodeHandle::shutdown`]) and fails.
    /// Never resolves while they all run.
    pub async fn died(&mut self) -> TaskDied {
        match self.died.recv().await {
            Some(died) => died,
            None => std::future::pending().await,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Where the HTTP API listens.
    pub fn api_addr(&self) -> std::net::SocketAddr {
        self.api.local_addr()
    }

    /// Stops every role: the pipeline first (work in progress ends at a safe point: everything
    /// accepted is in the store), then the HTTP API (open requests finish, event streams end),
    /// the peer protocol and the `/metrics` listener.
    pub async fn shutdown(self) -> Result<()> {
        self.relayer.shutdown().await;
        self.cancel.cancel();
        self.api.join().await;
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a dispatcher or envelope task ended abnormally");
            }
        }
        let peer = self.peer.join().await.context("stopping the peer protocol");
        let metrics = match self.metrics {
            Some(metrics) => metrics
                .join()
                .await
                .context("stopping the /metrics listener"),
            None => Ok(()),
        };
        peer.and(metrics)
    }
}

/// The most a PostgreSQL password file may hold. A password is far shorter; a larger file is
/// not a password file (a log, a key bundle), and the read stops there whatever the file is.
const MAX_PASSWORD_FILE_LEN: u64 = 4096;

/// The password in `[storage] postgres_password_file`, if one is set, without its trailing
/// whitespace; the bytes read are zeroized, and so is the password when dropped. Only a regular
/// file is opened (a FIFO would wait for a writer for ever) and at most
/// [`MAX_PASSWORD_FILE_LEN`] bytes are read.
pub fn read_postgres_password(
    password_file: Option<&std::path::Path>,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    use std::io::Read as _;
    let Some(path) = password_file else {
        return Ok(None);
    };
    let context = || format!("reading the PostgreSQL password file {}", path.display());
    let file = causeway_config::open_regular_file(path).with_context(context)?;
    // Allocated once, so no reallocation leaves a copy of the password behind.
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(
        usize::try_from(MAX_PASSWORD_FILE_LEN + 1).unwrap_or(usize::MAX),
    ));
    file.take(MAX_PASSWORD_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .with_context(context)?;
    if bytes.len() as u64 > MAX_PASSWORD_FILE_LEN {
        anyhow::bail!(
            "the PostgreSQL password file {} is larger than {MAX_PASSWORD_FILE_LEN} bytes: it \
             must hold the password alone (check [storage] postgres_password_file)",
            path.display()
        );
    }
    Ok(Some(zeroize::Zeroizing::new(
        bytes.trim_ascii_end().to_vec(),
    )))
}

/// The longest wait between attempts to reach PostgreSQL at start-up.
const PG_RETRY_MAX: Duration = Duration::from_secs(30);

/// Opens the PostgreSQL store (`[storage] postgres_url`, the password from the URL or from
/// `postgres_password_file`), migrating it under its advisory lock. A database that cannot be
/// reached yet is waited for, with capped exponential backoff and a warning per attempt that
/// names the server but never the password; any other refusal ends the start-up.
async fn open_postgres(
    url: &causeway_config::PostgresUrl,
    password_file: Option<&std::path::Path>,
    options: causeway_relayer::store::PgOptions,
) -> Result<causeway_relayer::store::PgStore> {
    let password = read_postgres_password(password_file)?;
    let url = zeroize::Zeroizing::new(url.expose_secret().to_owned());
    let mut wait = Duration::from_millis(500);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let (url, password) = (url.clone(), password.clone());
        let opened = tokio::task::spawn_blocking(move || {
            causeway_relayer::store::PgStore::open_with(
                &url,
                password.as_ref().map(|p| p.as_slice()),
                options,
            )
        })
        .await
        .context("opening the PostgreSQL store: the worker thread failed")?;
        match opened {
            Ok(store) => {
                tracing::info!(target = store.target(), "opened the PostgreSQL store");
                return Ok(store);
            }
            Err(e @ causeway_relayer::Error::Unavailable { .. }) => {
                tracing::warn!(
                    attempt,
                    retry_in_ms = wait.as_millis() as u64,
                    error = %e,
                    "PostgreSQL is not reachable yet; retrying (fix: start the database or \
                     correct [storage] postgres_url)"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(PG_RETRY_MAX);
            }
            Err(e) => {
                return Err(e).context(
                    "opening the PostgreSQL store ([storage] postgres_url; fix the URL, the \
                     password or the database's permissions)",
                );
            }
        }
    }
}

#[cfg(test)]
mod postgres_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use causeway_devnet::postgres::PostgresNode;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_down_at_start_up_is_waited_for_with_the_password_from_its_file() {
        let mut node = PostgresNode::start().unwrap();
        let url = node.create_database("gateway").unwrap();
        // The URL without its password; the password in a file, as an operator keeps it.
        let without = url.replace(&format!(":{}@", node.password()), "@");
        assert!(!without.contains(node.password()));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pg-password");
        std::fs::write(&file, format!("{}\n", node.password())).unwrap();
        node.stop().unwrap();

        let parsed = causeway_config::PostgresUrl::parse(&without).unwrap();
        let path = file.clone();
        let opening =
            tokio::spawn(
                async move { open_postgres(&parsed, Some(&path), Default::default()).await },
            );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !opening.is_finished(),
            "gave up while the database was down"
        );
        let node = tokio::task::spawn_blocking(move || {
            node.restart().unwrap();
            node
        })
        .await
        .unwrap();
        let store = tokio::time::timeout(Duration::from_secs(30), opening)
            .await
            .expect("opened once the database is back")
            .unwrap()
            .unwrap();
        assert_eq!(
            tokio::task::spawn_blocking(move || store.schema_version().unwrap())
                .await
                .unwrap(),
            causeway_relayer::store::PG_SCHEMA_VERSION
        );

        // A wrong password is not waited for: a clear error at once, without the password.
        std::fs::write(&file, "wrong-password-42\n").unwrap();
        let parsed = causeway_config::PostgresUrl::parse(&without).unwrap();
        let err = open_postgres(&parsed, Some(&file), Default::default())
            .await
            .unwrap_err();
        let shown = format!("{err:#}");
        assert!(shown.contains("PostgreSQL"), "{shown}");
        assert!(
            !shown.contains("wrong-password-42") && !shown.contains(node.password()),
            "{shown}"
        );
    }
}

#[cfg(test)]
mod password_file_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The password is the file less its trailing whitespace; a file too large to be a password
    /// file, a FIFO and a missing file are refused with the path and what to check, and the
    /// contents never appear in the error.
    #[test]
    fn a_password_file_is_read_bounded_and_only_if_it_is_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pg-password");
        std::fs::write(&file, "s3cret pass\r\n\n").unwrap();
        let read = read_postgres_password(Some(&file)).unwrap().unwrap();
        assert_eq!(read.as_slice(), b"s3cret pass");
        assert!(read_postgres_password(None).unwrap().is_none());

        let large = dir.path().join("large");
        let body = "hunter2-".repeat(600);
        std::fs::write(&large, &body).unwrap();
        let shown = format!("{:#}", read_postgres_password(Some(&large)).unwrap_err());
        assert!(shown.contains("larger than 4096 bytes"), "{shown}");
        assert!(shown.contains("postgres_password_file"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        // Exactly the limit is still a password file.
        std::fs::write(&large, &body[..4096]).unwrap();
        assert_eq!(
            read_postgres_password(Some(&large)).unwrap().unwrap().len(),
            4096
        );

        let missing = dir.path().join("missing");
        let shown = format!("{:#}", read_postgres_password(Some(&missing)).unwrap_err());
        assert!(
            shown.contains("reading the PostgreSQL password file"),
            "{shown}"
        );

        // A FIFO is refused before it is opened: opening it would wait for a writer for ever.
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let shown = format!("{:#}", read_postgres_password(Some(&fifo)).unwrap_err());
        assert!(shown.contains("not a regular file"), "{shown}");
    }
}

#[cfg(test)]
mod supervise_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use causeway_devnet::logs::Captured;

    /// A task that panics and one that returns while the gateway runs are each logged at error
    /// with their cause and reported (the gateway stops on the first); one that runs until the
    /// cancellation ends quietly, and nothing more is reported after it.
    #[tokio::test]
    async fn a_task_that_dies_while_the_gateway_runs_is_logged_with_its_cause_and_reported() {
        let captured = Captured::default();
        let _guard = captured.install();

        let cancel = CancellationToken::new();
        let runs = cancel.clone();
        let tasks = vec![
            (
                "the dispatcher of chain alliance".to_owned(),
                tokio::spawn(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    panic!("leasing a send request panicked: boom");
                }),
            ),
            (
                "the envelope follower".to_owned(),
                tokio::spawn(async {
                    tokio::time::sleep(Duration::from_millis(60)).await;
                }),
            ),
            (
                "the anchoring public".to_owned(),
                tokio::spawn(async move { runs.cancelled().await }),
            ),
        ];
        let (handles, died) = supervise(tasks, &cancel);
        let mut node_died = NodeDied(died);
        let first = tokio::time::timeout(Duration::from_secs(5), node_died.next())
            .await
            .unwrap();
        assert_eq!(first.task, "the dispatcher of chain alliance");
        assert_eq!(
            first.cause,
            "it panicked: leasing a send request panicked: boom"
        );
        assert!(first.to_string().contains("restart the gateway"), "{first}");
        let second = tokio::time::timeout(Duration::from_secs(5), node_died.next())
            .await
            .unwrap();
        assert_eq!(
            (second.task.as_str(), second.cause.as_str()),
            ("the envelope follower", "it returned")
        );
        cancel.cancel();
        for h in handles {
            h.await.unwrap();
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(200), node_died.next())
                .await
                .is_err(),
            "nothing more once the gateway stops"
        );
        let logs = captured.text();
        assert_eq!(
            captured.count("a gateway task died; stopping the gateway"),
            2,
            "{logs}"
        );
        assert!(
            logs.contains("ERROR") && logs.contains("boom"),
            "logged at error with the cause: {logs}"
        );
    }

    /// [`NodeHandle::died`] on the receiver alone.
    struct NodeDied(tokio::sync::mpsc::UnboundedReceiver<TaskDied>);

    impl NodeDied {
        async fn next(&mut self) -> TaskDied {
            match self.0.recv().await {
                Some(died) => died,
                None => std::future::pending().await,
            }
        }
    }
}
