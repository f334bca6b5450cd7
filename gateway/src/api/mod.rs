//! The `/v1` HTTP API for applications (DESIGN.md "Interfaces"): read-only routes over the
//! store and the chains, an event stream, an operator's retry, bearer-token authentication
//! with scopes, and an OpenAPI 3.1 document generated from the handlers.
//!
//! - [`router`] builds the routes over an [`ApiState`] (the store, the lanes' trust anchors,
//!   the chains), so tests serve it in-process; [`start`] serves it on `[api] listen`;
//! - every error is `{code, message, hint}` ([`error`]); bodies, headers and connections are
//!   bounded ([`server`]); a refused request writes nothing;
//! - tokens are in the store as hashes ([`auth`]), made by `causeway token`.

pub mod auth;
pub mod chains;
pub mod client_certificates;
pub mod envelopes;
pub mod error;
pub mod events;
pub mod logs;
pub mod messages;
pub mod queries;
pub mod requests;
pub mod send;
pub mod server;
pub mod ui;
pub mod ui_status;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use causeway_config::Config;
use causeway_relayer::store::{Lane, Store};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use chains::{ChainEntry, ChainHeights, ConfiguredChain, Heights};
pub use requests::ApiRequests;
pub use server::ApiServer;
pub use ui_status::{ApiContext, LaneSpec};

use crate::proof::LaneTrust;

/// The store connections the API reads through (see [`start`]).
pub const API_HANDLES: usize = 4;
/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Event streams served at once.
pub const MAX_STREAMS: usize = 64;
/// How long a request may take until its response starts (its body read included, so a client
/// that trickles a body cannot hold a connection): then 408. An event stream's body is not
/// bounded by it, only its start.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the API serves from: shared by every request.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

struct Inner {
    /// Handles on the store, used in turn: each is one SQLite connection behind a mutex, so
    /// several let requests read in parallel (WAL) and apart from the pipeline's writes.
    stores: Vec<Arc<dyn Store>>,
    next: std::sync::atomic::AtomicUsize,
    lanes: HashMap<Lane, LaneTrust>,
    chains: Vec<ChainEntry>,
    streams: Arc<Semaphore>,
    /// One permit per store handle: the hot reads (`GET /v1/messages/{id}`) wait for one here,
    /// as tasks, instead of as blocking threads on the handles' mutexes.
    reads: Arc<Semaphore>,
    cancel: CancellationToken,
    /// Sending and private messages, when this gateway is configured for them.
    sending: std::sync::OnceLock<send::Sending>,
    /// The configured lanes, the relayer's counters and where requests are counted.
    context: ApiContext,
}

impl ApiState {
    /// The API over `store`, the lanes this gateway serves and the chains it reports; event
    /// streams end when `cancel` fires.
    pub fn new(
        store: Arc<dyn Store>,
        lanes: Vec<LaneTrust>,
        chains: Vec<ChainEntry>,
        cancel: CancellationToken,
    ) -> Self {
        Self::with_handles(
            store,
            Vec::new(),
            lanes,
            chains,
            ApiContext::default(),
            cancel,
        )
    }

    /// [`ApiState::new`] with `more` handles on the same store, used in turn with `store`, and
    /// what `context` adds (the configured lanes, the relayer's counters, request counting).
    pub fn with_handles(
        store: Arc<dyn Store>,
        more: Vec<Arc<dyn Store>>,
        lanes: Vec<LaneTrust>,
        chains: Vec<ChainEntry>,
        context: ApiContext,
        cancel: CancellationToken,
    ) -> Self {
        let mut stores = vec![store];
        stores.extend(more);
        let reads = Arc::new(Semaphore::new(stores.len()));
        ApiState(Arc::new(Inner {
            reads,
            stores,
            next: std::sync::atomic::AtomicUsize::new(0),
            lanes: lanes.into_iter().map(|l| (l.lane, l)).collect(),
            chains,
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            cancel,
            sending: std::sync::OnceLock::new(),
            context,
        }))
    }

    /// This state, accepting sends and serving private messages through `sending` (set once;
    /// a second call is ignored).
    pub fn with_sending(self, sending: send::Sending) -> Self {
        let _ = self.0.sending.set(sending);
        self
    }

    /// Sending and private messages, when configured.
    pub fn sending(&self) -> Option<&send::Sending> {
        self.0.sending.get()
    }

    /// A handle on the store (the next in turn).
    pub fn store(&self) -> Arc<dyn Store> {
        let n = self
            .0
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Arc::clone(&self.0.stores[n % self.0.stores.len()])
    }

    /// Every handle on the store, starting with the next in turn (so concurrent requests
    /// start on different handles).
    pub fn stores(&self) -> impl Iterator<Item = &Arc<dyn Store>> {
        let n = self
            .0
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let len = self.0.stores.len();
        (0..len).map(move |i| &self.0.stores[(n + i) % len])
    }

    /// The trust anchors of `lane`, if this gateway serves it.
    pub fn lane(&self, lane: Lane) -> Option<&LaneTrust> {
        self.0.lanes.get(&lane)
    }

    /// The chains reported by `/v1/chains`.
    pub fn chains(&self) -> &[ChainEntry] {
        &self.0.chains
    }

    fn streams(&self) -> &Arc<Semaphore> {
        &self.0.streams
    }

    /// A permit to read on a blocking thread (at most one per store handle at once).
    async fn read_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, error::ApiError> {
        Arc::clone(&self.0.reads)
            .acquire_owned()
            .await
            .map_err(|_| error::ApiError::unavailable("the API is stopping"))
    }

    fn cancel(&self) -> &CancellationToken {
        &self.0.cancel
    }

    fn context(&self) -> &ApiContext {
        &self.0.context
    }
}

impl core::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ApiState")
            .field("lanes", &self.0.lanes.len())
            .field("chains", &self.0.chains.len())
            .finish_non_exhaustive()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Causeway gateway API",
        version = "1",
        description = "Send messages, public or private; read a gateway's chains and messages, \
                       their status history and proof bundles; follow status changes; retry \
                       dead letters; read, grant and revoke private messages' envelopes. Every \
                       error is {code, message, hint}."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness (no token)"),
        (name = "chains", description = "The configured chains"),
        (name = "messages", description = "Messages, their history and proofs"),
        (name = "events", description = "Status changes as Server-Sent Events"),
        (name = "queries", description = "Cross-ledger queries: a chain's state with its proof"),
        (name = "envelopes", description = "Private messages: envelopes, decryption, grants, disclosures"),
        (name = "status", description = "Lanes, validators and recent activity (the status page's data)"),
        (name = "logs", description = "The origins' Merkle logs: consistency proofs between two sizes (for verify --anchored)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of this API (no token needed).
#[utoipa::path(get, path = "/v1/openapi.json", tag = "health",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object)))]
async fn openapi_json(
    axum::Extension(doc): axum::Extension<Arc<String>>,
) -> axum::response::Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.as_str().to_owned(),
    )
        .into_response()
}

/// Every route of the API with its document: the routes are registered from the same
/// annotations the document is generated from.
pub fn router(state: ApiState) -> (Router, utoipa::openapi::OpenApi) {
    router_with_timeout(state, REQUEST_TIMEOUT)
}

/// [`router`] with another request timeout than [`REQUEST_TIMEOUT`] (tests).
pub fn router_with_timeout(
    state: ApiState,
    timeout: Duration,
) -> (Router, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(chains::healthz))
        .routes(routes!(chains::readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(chains::list_chains))
        .routes(routes!(messages::search_messages, send::send_message))
        .routes(routes!(send::get_request))
        .routes(routes!(envelopes::get_envelope))
        .routes(routes!(envelopes::decrypt))
        .routes(routes!(envelopes::list_grants, envelopes::grant))
        .routes(routes!(envelopes::revoke))
        .routes(routes!(envelopes::get_disclosure))
        .routes(routes!(messages::get_message))
        .routes(routes!(messages::get_proof))
        .routes(routes!(messages::retry_message))
        .routes(routes!(events::events))
        .routes(routes!(queries::query))
        .routes(routes!(ui_status::list_lanes))
        .routes(routes!(ui_status::activity))
        .routes(routes!(logs::consistency))
        .split_for_parts();
    let json = doc
        .to_json()
        .expect("the generated document has only string keys");
    let counted = state.0.context.requests.clone();
    let router = router
        .merge(ui::routes())
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::Extension(Arc::new(json)))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| deadline(timeout, req, next),
        ))
        // Outermost, so a 408 of the deadline and a 413 of the body limit are counted too.
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| requests::count(counted.clone(), req, next),
        ))
        .with_state(state);
    (router, doc)
}

/// Answers 408 when `req`'s response has not started within `timeout`.
async fn deadline(timeout: Duration, req: Request, next: Next) -> axum::response::Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => error::ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request took longer than {} s", timeout.as_secs()),
            "send the whole request at once; retry if the gateway was slow",
        )
        .into_response(),
    }
}

/// The trust anchors of the wired lanes (their signing domains and validator sets).
pub fn lanes_of(lanes: &[(String, causeway_relayer::pipeline::LaneConfig)]) -> Vec<LaneTrust> {
    lanes
        .iter()
        .map(|(_, l)| LaneTrust {
            lane: l.lane(),
            signing_domain: l.signing_domain,
            validators: l.validators.clone(),
        })
        .collect()
}

/// The chains of `config`, read through their configured endpoints.
pub fn chains_of(config: &Config) -> Vec<ChainEntry> {
    config
        .chains()
        .iter()
        .map(|c| {
            ChainEntry::new(
                c.name.clone(),
                c.domain.0,
                c.family().to_string(),
                Arc::new(ConfiguredChain(c.clone())),
            )
        })
        .collect()
}

/// Serves the API over `store`, `lanes` and `config`'s chains on `config`'s `[api]` (TLS when it
/// names an identity), with what `context` adds, until `cancel` fires. With a SQLite store, the API reads through
/// [`API_HANDLES`] connections of its own on the same file, so it neither waits behind the
/// pipeline's writes nor delays them.
pub async fn start(
    config: &Config,
    store: Arc<dyn Store>,
    lanes: Vec<LaneTrust>,
    context: ApiContext,
    cancel: CancellationToken,
) -> Result<ApiServer> {
    start_with(config, store, lanes, context, None, cancel).await
}

/// [`start`], accepting sends and serving private messages through `sending` when given.
pub async fn start_with(
    config: &Config,
    store: Arc<dyn Store>,
    lanes: Vec<LaneTrust>,
    context: ApiContext,
    sending: Option<send::Sending>,
    cancel: CancellationToken,
) -> Result<ApiServer> {
    let state = match config.storage() {
        causeway_config::Storage::Sqlite { path } => {
            let mut handles: Vec<Arc<dyn Store>> = Vec::new();
            for _ in 0..API_HANDLES {
                let handle = causeway_relayer::store::SqliteStore::open(path)
                    .with_context(|| format!("opening the store {} for the API", path.display()))?
                    .with_timings(context.store_timings.clone());
                handles.push(Arc::new(handle));
            }
            let first = handles.remove(0);
            ApiState::with_handles(
                first,
                handles,
                lanes,
                chains_of(config),
                context,
                cancel.clone(),
            )
        }
        _ => ApiState::with_handles(
            store,
            Vec::new(),
            lanes,
            chains_of(config),
            context,
            cancel.clone(),
        ),
    };
    let state = match sending {
        Some(s) => state.with_sending(s),
        None => state,
    };
    let api = config.api();
    let tls = match &api.tls {
        None => None,
        Some(identity) => {
            let id =
                causeway_peer::TlsIdentity::from_pem_files(&identity.cert_file, &identity.key_file)
                    .context("loading the API's TLS identity ([api.tls])")?;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
                .with_safe_default_protocol_versions()
                .context("the API's TLS protocol versions")?;
            let builder = match &api.client_ca_file {
                None => builder.with_no_client_auth(),
                Some(ca) => {
                    builder.with_client_cert_verifier(client_certificates::verifier(ca, provider)?)
                }
            };
            let mut server = builder.with_cert_resolver(id.cert_resolver());
            server.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(Arc::new(server))
        }
    };
    let (router, _) = router(state);
    let server = server::serve(api.listen, tls, router, cancel)
        .await
        .with_context(|| {
            format!(
                "listening for the API on {} (fix: free the port or change [api] listen)",
                api.listen
            )
        })?;
    tracing::info!(listen = %server.local_addr(), tls = api.tls.is_some(), "API listening");
    Ok(server)
}
