//! The read-only routes the status page (`/ui`) needs beside `/v1/chains` and `/v1/messages`:
//! `GET /v1/lanes` (each lane's backlog, last threshold checkpoint, validators' last signatures,
//! equivocators and root mismatches) and `GET /v1/activity` (the latest status changes, newest
//! first, with the sequence number to resume the event stream from). Both need the `read` scope
//! like every other data route, and both are in the OpenAPI document.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use causeway_proofs::{Domain, EvmAddress};
use causeway_relayer::pipeline::PipelineMetricsReader;
use causeway_relayer::store::{Lane, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::authorize;
use super::error::{ApiError, ErrorBody};
use super::events::StatusEventView;
use super::requests::ApiRequests;
use crate::heights::scrub_urls;
use crate::lanes::LaneState;

/// The most status changes `/v1/activity` returns at once.
pub const MAX_ACTIVITY: u32 = 500;

/// What the API reads beside the store: the configured lanes (names, members), the running
/// relayer's counters (root mismatches and equivocations since the gateway started), and where
/// requests are counted for `/metrics`. [`Default`] is an API with no lanes configured and no
/// relayer (tests of other routes).
#[derive(Clone, Debug, Default)]
pub struct ApiContext {
    /// The lanes of the configuration, in its order.
    pub lanes: Vec<LaneSpec>,
    /// The running relayer's figures, when one runs beside the API.
    pub pipeline: Option<PipelineMetricsReader>,
    /// Where the requests are counted.
    pub requests: ApiRequests,
    /// Where the API's own store handles count their transactions (SQLite; for `/metrics`).
    pub store_timings: causeway_relayer::store::StoreTimings,
    /// Cross-ledger queries (`POST /v1/queries`), when this gateway answers them.
    pub queries: Option<crate::query::Queries>,
    /// The running pipeline's origin logs (`GET /v1/logs/{origin}/consistency`).
    pub logs: Option<causeway_relayer::pipeline::LogReader>,
}

/// What the configuration says of a lane, as `/v1/lanes` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneSpec {
    /// The lane's name.
    pub name: String,
    /// Its origin chain's name and domain.
    pub origin: (String, Domain),
    /// Its destination chain's name and domain.
    pub destination: (String, Domain),
    /// Signatures a checkpoint needs.
    pub threshold: u32,
    /// Paused in the configuration.
    pub paused: bool,
    /// Its validators: member name and address, in configuration order.
    pub validators: Vec<(String, EvmAddress)>,
}

impl From<&causeway_config::Lane> for LaneSpec {
    fn from(lane: &causeway_config::Lane) -> Self {
        LaneSpec {
            name: lane.name.clone(),
            origin: (lane.origin.name.clone(), lane.origin.domain),
            destination: (lane.destination.name.clone(), lane.destination.domain),
            threshold: lane.threshold,
            paused: lane.paused,
            validators: lane
                .validators
                .iter()
                .map(|v| (v.member.clone(), v.address))
                .collect(),
        }
    }
}

impl LaneSpec {
    fn key(&self) -> Lane {
        Lane {
            origin: self.origin.1,
            destination: self.destination.1,
        }
    }
}

/// A chain a lane connects.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LaneEnd {
    /// The chain's configured name.
    pub name: String,
    /// Its domain.
    pub domain: u32,
}

/// A lane's messages per delivery state (over every run, from the store).
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Backlog {
    /// Waiting to be leased.
    pub pending: u64,
    /// Leased by a relayer.
    pub leased: u64,
    /// Sent, not yet final.
    pub submitted: u64,
    /// Delivered.
    pub confirmed: u64,
    /// Given up (an operator may retry them).
    pub dead_letter: u64,
    /// When the oldest undelivered message was accepted (ms since the epoch); none when
    /// nothing waits.
    pub oldest_pending_since_ms: Option<u64>,
}

/// The lane's largest checkpoint with its threshold of signatures.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CheckpointView {
    /// Its log size.
    pub size: u64,
    /// Its Merkle root, 0x-hex.
    pub root: String,
    /// Signatures it carries.
    pub signatures: u64,
    /// When it was recorded (ms since the epoch).
    pub recorded_at_ms: u64,
}

/// One configured validator of a lane and its last signature, as recorded in the store.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ValidatorView {
    /// The member it belongs to.
    pub member: String,
    /// Its address, 0x-hex.
    pub address: String,
    /// Checkpoints of the lane it signed.
    pub checkpoints_signed: u64,
    /// The largest size it signed (none: never signed).
    pub last_signed_size: Option<u64>,
    /// When its last signature was recorded (ms since the epoch).
    pub last_signed_at_ms: Option<u64>,
    /// It signed two roots for one size on this lane: its signatures no longer count.
    pub equivocated: bool,
}

/// One configured lane as the store and the running relayer see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LaneView {
    /// The lane's configured name.
    pub name: String,
    /// Its origin chain.
    pub origin: LaneEnd,
    /// Its destination chain.
    pub destination: LaneEnd,
    /// Signatures of distinct validators a checkpoint needs.
    pub threshold: u32,
    /// Paused in the configuration.
    pub paused: bool,
    /// Leaves in the origin's log.
    pub log_size: u64,
    /// Messages per delivery state.
    pub backlog: Backlog,
    /// The last checkpoint with the threshold of signatures (none yet: nothing attested).
    pub threshold_checkpoint: Option<CheckpointView>,
    /// When the last delivery was confirmed (ms since the epoch).
    pub last_delivery_at_ms: Option<u64>,
    /// Every configured validator, in configuration order.
    pub validators: Vec<ValidatorView>,
    /// Member signatures over another root than this gateway's own, since it started (none:
    /// no relayer runs beside this API).
    pub root_mismatches: Option<u64>,
    /// Equivocations caught since the gateway started (none: no relayer runs beside it).
    pub equivocations: Option<u64>,
}

/// The lanes this gateway is configured with.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LaneList {
    /// In configuration order.
    pub lanes: Vec<LaneView>,
}

/// The latest status changes.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Activity {
    /// Newest first.
    pub events: Vec<StatusEventView>,
    /// The newest event's sequence number (0 before the first): send it as `Last-Event-ID` to
    /// `/v1/events` to follow on from here without a gap.
    pub last_seq: u64,
}

/// `/v1/activity`'s query.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// How many status changes, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::unavailable("the store read was interrupted"))?
}

fn lane_view(
    lane: &LaneSpec,
    state: &LaneState,
    pipeline: Option<&PipelineMetricsReader>,
) -> LaneView {
    let counters = pipeline.map(|p| p.snapshot().lane(lane.key()));
    let c = state.counts;
    LaneView {
        name: lane.name.clone(),
        origin: LaneEnd {
            name: lane.origin.0.clone(),
            domain: lane.origin.1.0,
        },
        destination: LaneEnd {
            name: lane.destination.0.clone(),
            domain: lane.destination.1.0,
        },
        threshold: lane.threshold,
        paused: lane.paused,
        log_size: state.log_size.0,
        backlog: Backlog {
            pending: c.pending,
            leased: c.leased,
            submitted: c.submitted,
            confirmed: c.confirmed,
            dead_letter: c.dead_letter,
            oldest_pending_since_ms: state.oldest_pending_since.map(|t| t.0),
        },
        threshold_checkpoint: state.threshold_checkpoint.as_ref().map(|t| CheckpointView {
            size: t.checkpoint.size().0,
            root: t.checkpoint.root().to_hex(),
            signatures: t.signatures.len() as u64,
            recorded_at_ms: t.recorded_at.0,
        }),
        last_delivery_at_ms: state.last_delivery.map(|d| d.confirmed_at.0),
        validators: lane
            .validators
            .iter()
            .map(|(member, address)| {
                let a = state.activity_of(*address);
                ValidatorView {
                    member: member.clone(),
                    address: address.to_string(),
                    checkpoints_signed: a.map_or(0, |a| a.checkpoints),
                    last_signed_size: a.map(|a| a.last_size.0),
                    last_signed_at_ms: a.map(|a| a.last_recorded_at.0),
                    equivocated: state.equivocators.contains(address),
                }
            })
            .collect(),
        root_mismatches: counters.map(|m| m.root_mismatches),
        equivocations: counters.map(|m| m.equivocations),
    }
}

/// Every configured lane: backlog, last threshold checkpoint, validators' last signatures,
/// equivocators and root mismatches.
#[utoipa::path(get, path = "/v1/lanes", tag = "status",
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The lanes", body = LaneList),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
    ))]
pub async fn list_lanes(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<LaneList>, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let s = state.clone();
    let lanes = blocking(move || {
        let store = s.store();
        let stats = store.lane_stats().map_err(|e| ApiError::store(&e))?;
        let context = s.context();
        context
            .lanes
            .iter()
            .map(|lane| {
                let lane_state = LaneState::read_lane(
                    &*store,
                    lane.key(),
                    &lane.name,
                    lane.threshold as usize,
                    &stats,
                    0,
                )
                .map_err(|e| {
                    tracing::warn!(lane = %lane.name, error = format!("{e:#}"), "/v1/lanes: reading the lane failed");
                    ApiError::unavailable("the lane could not be read from this gateway's store")
                })?;
                Ok(lane_view(lane, &lane_state, context.pipeline.as_ref()))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    Ok(Json(LaneList { lanes }))
}

/// The latest status changes of every message, newest first, and the sequence number to follow
/// the event stream from.
#[utoipa::path(get, path = "/v1/activity", tag = "status",
    params(ActivityParams),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The latest status changes", body = Activity),
        (status = 400, description = "A malformed parameter", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
    ))]
pub async fn activity(
    State(state): State<ApiState>,
    headers: HeaderMap,
    params: Result<Query<ActivityParams>, QueryRejection>,
) -> Result<Json<Activity>, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let Query(p) = params?;
    let limit = match p.limit {
        None => 50,
        Some(n @ 1..=MAX_ACTIVITY) => n,
        Some(n) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("`limit` is {n}"),
                format!("give a limit from 1 to {MAX_ACTIVITY}"),
            ));
        }
    };
    let store = state.store();
    blocking(move || {
        let last_seq = store.last_event_seq().map_err(|e| ApiError::store(&e))?;
        let from = last_seq.saturating_sub(u64::from(limit));
        let mut events = store
            .events_after(from, limit as usize)
            .map_err(|e| ApiError::store(&e))?;
        events.reverse();
        Ok(Json(Activity {
            events: events
                .iter()
                .map(|e| StatusEventView {
                    seq: e.seq,
                    id: e.id.to_hex(),
                    origin: e.lane.origin.0,
                    destination: e.lane.destination.0,
                    status: e.status.as_str().to_owned(),
                    reason: e.reason.as_deref().map(scrub_urls),
                    at_ms: e.at.0,
                })
                .collect(),
            last_seq,
        }))
    })
    .await
}
