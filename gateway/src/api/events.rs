//! `GET /v1/events`: Server-Sent Events of status changes, from the store's event sequence.
//! Each event's id is its sequence number; a client that reconnects with `Last-Event-ID`
//! resumes right after it and misses nothing (the store's sequence only grows, and writers
//! are serialised, so nothing appears later below a number already seen). A new client starts
//! at the present.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use causeway_relayer::store::{Scope, Store};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::ApiState;
use super::auth::authorize;
use super::error::{ApiError, ErrorBody};
use crate::heights::scrub_urls;

/// How often the stream looks for new events.
const POLL: Duration = Duration::from_millis(200);
/// Events read from the store at once.
const BATCH: usize = 256;

/// One status change, the `data` of an SSE event named `status`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusEventView {
    /// The event's sequence number (also its SSE id).
    pub seq: u64,
    /// The message id.
    pub id: String,
    /// Origin domain.
    pub origin: u32,
    /// Destination domain.
    pub destination: u32,
    /// `logged`, `leased`, `submitted`, `confirmed`, `failed`, `retried` or `dead_lettered`.
    pub status: String,
    /// Why, for `failed` and `dead_lettered`.
    pub reason: Option<String>,
    /// When (Unix milliseconds).
    pub at_ms: u64,
}

struct Cursor {
    store: Arc<dyn Store>,
    after: u64,
    queued: VecDeque<StatusEventView>,
    cancel: CancellationToken,
    _permit: OwnedSemaphorePermit,
}

fn stream(cursor: Cursor) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(view) = c.queued.pop_front() {
                let event = Event::default()
                    .id(view.seq.to_string())
                    .event("status")
                    .json_data(&view)
                    .unwrap_or_else(|_| Event::default().comment("unencodable event"));
                return Some((Ok(event), c));
            }
            let store = Arc::clone(&c.store);
            let after = c.after;
            let read = tokio::task::spawn_blocking(move || store.events_after(after, BATCH)).await;
            match read {
                Ok(Ok(events)) if !events.is_empty() => {
                    c.after = events.last().map_or(after, |e| e.seq);
                    c.queued.extend(events.iter().map(|e| StatusEventView {
                        seq: e.seq,
                        id: e.id.to_hex(),
                        origin: e.lane.origin.0,
                        destination: e.lane.destination.0,
                        status: e.status.as_str().to_owned(),
                        reason: e.reason.as_deref().map(scrub_urls),
                        at_ms: e.at.0,
                    }));
                    continue;
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the event stream could not read the store")
                }
                Err(_) => return None,
            }
            tokio::select! {
                () = c.cancel.cancelled() => return None,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    })
}

/// Status changes as Server-Sent Events (`event: status`, `id`: the sequence number).
/// Reconnect with `Last-Event-ID` to resume after the last event received.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "An endless stream of `status` events", content_type = "text/event-stream", body = StatusEventView),
        (status = 400, description = "Malformed Last-Event-ID", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
        (status = 429, description = "Too many open streams", body = ErrorBody),
    ))]
pub async fn events(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match open(state, headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn open(state: ApiState, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .filter(|n| *n <= i64::MAX as u64)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_last_event_id",
                        "Last-Event-ID is not an event id of this stream",
                        "send the `id` of the last event received, or no Last-Event-ID to start now",
                    )
                })?,
        ),
    };
    let permit = Arc::clone(state.streams())
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                "this gateway serves as many event streams as it allows",
                "close another stream, or retry later",
            )
        })?;
    let store = state.store();
    let after = match resume {
        Some(n) => n,
        None => {
            let s = state.store();
            tokio::task::spawn_blocking(move || s.last_event_seq())
                .await
                .map_err(|_| ApiError::unavailable("the store read was interrupted"))?
                .map_err(|e| ApiError::store(&e))?
        }
    };
    let cursor = Cursor {
        store,
        after,
        queued: VecDeque::new(),
        cancel: state.cancel().clone(),
        _permit: permit,
    };
    Ok(Sse::new(stream(cursor))
        .keep_alive(KeepAlive::default())
        .into_response())
}
