//! `GET /v1/chains`, `/healthz` and `/readyz`: each configured chain's head, final height and
//! lag, read with a short timeout and kept for a moment (so a burst of requests costs one read
//! per chain), and the readiness that depends on them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use causeway_config::{Chain, ChainKind};
use causeway_relayer::store::{Scope, UnixMillis};
use futures_util::future::BoxFuture;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;
use super::auth::authorize;
use super::error::{ApiError, ErrorBody};
use crate::heights::{evm_heights, scrub_urls, tcp_reachable};

/// How long a chain's reading is reused.
pub const CACHE_FOR: Duration = Duration::from_secs(2);
/// How long one reading of a chain may take before it counts as no answer.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// A chain is ready if it answered within this long.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

/// A chain's heights: `head` and `final_height` are `None` where the family's heights are not
/// read yet (the chain answered but only its reachability is known).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heights {
    /// The highest block.
    pub head: Option<u64>,
    /// The highest final block under the configured finality.
    pub final_height: Option<u64>,
}

/// How the API reads one chain (a trait so tests can stand in for a chain).
pub trait ChainHeights: Send + Sync {
    /// The chain's heights now, or why it did not answer (no credentials in the text).
    fn heights(&self) -> BoxFuture<'_, Result<Heights, String>>;
}

/// A configured chain read through its endpoints, the first that answers.
pub struct ConfiguredChain(pub Chain);

impl ChainHeights for ConfiguredChain {
    fn heights(&self) -> BoxFuture<'_, Result<Heights, String>> {
        Box::pin(async move {
            let mut failures = Vec::new();
            for endpoint in &self.0.endpoints {
                let answer = match &self.0.kind {
                    ChainKind::Evm(evm) => evm_heights(endpoint, evm.chain_id, self.0.finality)
                        .await
                        .map(|(head, final_height)| Heights {
                            head: Some(head),
                            final_height,
                        }),
                    _ => tcp_reachable(endpoint).await.map(|()| Heights::default()),
                };
                match answer {
                    Ok(h) => return Ok(h),
                    Err(e) => failures.push(e),
                }
            }
            Err(failures.join("; "))
        })
    }
}

/// One chain the API reports.
pub struct ChainEntry {
    /// Its configured name.
    pub name: String,
    /// Its domain.
    pub domain: u32,
    /// Its family (`evm`, `fabric`, …).
    pub family: String,
    /// How to read it.
    pub reader: Arc<dyn ChainHeights>,
    reading: tokio::sync::Mutex<Option<Reading>>,
}

impl ChainEntry {
    /// A chain to report.
    pub fn new(name: String, domain: u32, family: String, reader: Arc<dyn ChainHeights>) -> Self {
        ChainEntry {
            name,
            domain,
            family,
            reader,
            reading: tokio::sync::Mutex::new(None),
        }
    }

    /// The chain's view: the cached reading if fresh, else a new one (one at a time per chain).
    async fn view(&self) -> (ChainView, Option<Instant>) {
        let mut reading = self.reading.lock().await;
        let fresh = reading.as_ref().is_some_and(|r| r.at.elapsed() < CACHE_FOR);
        if !fresh {
            let result = match tokio::time::timeout(READ_TIMEOUT, self.reader.heights()).await {
                Ok(r) => r.map_err(|e| scrub_urls(&e)),
                Err(_) => Err(format!("no answer within {} ms", READ_TIMEOUT.as_millis())),
            };
            let last_ok = match (&result, reading.as_ref()) {
                (Ok(_), _) => Some(Instant::now()),
                (Err(_), Some(prev)) => prev.last_ok,
                (Err(_), None) => None,
            };
            *reading = Some(Reading {
                at: Instant::now(),
                at_ms: UnixMillis::now().0,
                result,
                last_ok,
            });
        }
        let r = reading
            .as_ref()
            .expect("a reading was just stored or is fresh");
        let (status, head, final_height, error) = match &r.result {
            Ok(h) => ("up", h.head, h.final_height, None),
            Err(e) => ("down", None, None, Some(e.clone())),
        };
        (
            ChainView {
                name: self.name.clone(),
                domain: self.domain,
                family: self.family.clone(),
                status: status.to_owned(),
                head,
                final_height,
                lag: head.zip(final_height).map(|(h, f)| h.saturating_sub(f)),
                error,
                checked_at_ms: r.at_ms,
            },
            r.last_ok,
        )
    }
}

struct Reading {
    at: Instant,
    at_ms: u64,
    result: Result<Heights, String>,
    last_ok: Option<Instant>,
}

/// One chain as `GET /v1/chains` shows it.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainView {
    /// Its configured name.
    pub name: String,
    /// Its Causeway domain.
    pub domain: u32,
    /// Its family (`evm`, `fabric`, `fisco`).
    pub family: String,
    /// `up` (an endpoint answered) or `down` (none did; see `error`).
    pub status: String,
    /// The highest block (`null` when down, or when the family's heights are not read).
    pub head: Option<u64>,
    /// The highest final block under the configured finality.
    pub final_height: Option<u64>,
    /// `head - final_height`.
    pub lag: Option<u64>,
    /// Why no endpoint answered (endpoints without credentials).
    pub error: Option<String>,
    /// When it was read (Unix milliseconds).
    pub checked_at_ms: u64,
}

/// `GET /v1/chains`.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainList {
    /// Every configured chain, in configuration order.
    pub chains: Vec<ChainView>,
}

/// The configured chains with their head, final height and lag.
#[utoipa::path(get, path = "/v1/chains", tag = "chains",
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "Every configured chain", body = ChainList),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
    ))]
pub async fn list_chains(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<ChainList>, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let views = futures_util::future::join_all(state.chains().iter().map(|c| c.view())).await;
    Ok(Json(ChainList {
        chains: views.into_iter().map(|(v, _)| v).collect(),
    }))
}

/// `/healthz` and `/readyz` when all is well.
#[derive(Clone, Debug, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// The process is up (no authentication).
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// Ready: the store answers and every configured chain answered within the last 30 s
/// (no authentication; the reason names the chain, `GET /v1/chains` says why).
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready, with the reason", body = ErrorBody),
    ))]
pub async fn readyz(State(state): State<ApiState>) -> Response {
    let store = state.store();
    let store_ok = matches!(
        tokio::time::timeout(
            READ_TIMEOUT,
            tokio::task::spawn_blocking(move || store.last_event_seq())
        )
        .await,
        Ok(Ok(Ok(_)))
    );
    let mut reasons = Vec::new();
    if !store_ok {
        reasons.push("the store does not answer".to_owned());
    }
    let views = futures_util::future::join_all(state.chains().iter().map(|c| c.view())).await;
    for (view, last_ok) in views {
        if last_ok.is_none_or(|t| t.elapsed() >= READY_WITHIN) {
            // No error text here: /readyz needs no token, and errors name endpoints' hosts
            // (`GET /v1/chains` shows them to token holders).
            reasons.push(format!(
                "chain {} has not answered in the last {} s",
                view.name,
                READY_WITHIN.as_secs()
            ));
        }
    }
    if reasons.is_empty() {
        Json(Health {
            status: "ready".to_owned(),
        })
        .into_response()
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            reasons.join("; "),
            "check the store file and the chains' endpoints (`causeway status`)",
        )
        .into_response()
    }
}
