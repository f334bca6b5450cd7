//! `POST /v1/messages`: an application sends a message, public (its body) or private (a JSON
//! payload sealed for recipient organisations, with fields to disclose on chain), and
//! `GET /v1/requests/{id}`: where the send is.
//!
//! A request is checked in full first (strict JSON, the origin has a sender key, the lane
//! exists, the recipients are members, the disclosed fields exist, the numbers are exact, the
//! on-chain body fits), so a refused request writes nothing. An accepted one is recorded
//! durably (one SQLite transaction, fsynced, shared with the other requests arriving at the
//! same moment: group commit) and audited before the answer; the gateway's dispatcher then
//! sends it on the origin's Outbox. The message id is known once the Outbox has given it a
//! nonce (the Outbox numbers every sender's messages with one counter), and is reported by
//! `GET /v1/requests/{id}`.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use causeway_privacy::envelope::EnvelopeContext;
use causeway_proofs::message::MAX_BODY_LEN;
use causeway_proofs::{Address32, Domain, EvmAddress, Nonce};
use causeway_relayer::store::{
    Lane, NewSendRequest, Scope, SendKind, SendRequestId, Store, UnixMillis,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use utoipa::ToSchema;

use super::ApiState;
use super::auth::authorize;
use super::error::{ApiError, ErrorBody, strict_json};
use crate::private::Directory;
use crate::private::fetch::Envelopes;

/// Requests written in one transaction at most.
pub const GROUP_COMMIT: usize = 512;
/// Requests waiting for the writer at most (then callers wait: backpressure).
pub const QUEUE: usize = 4096;

/// What the API needs to accept sends: the writer, what may be sent where, and the envelopes.
#[derive(Clone, Debug)]
pub struct Sending {
    queue: mpsc::Sender<Pending>,
    origins: Arc<HashSet<Domain>>,
    lanes: Arc<HashSet<Lane>>,
    envelopes: Envelopes,
}

/// One request waiting to be written, with its answer channel.
struct Pending {
    request: OwnedRequest,
    reply: oneshot::Sender<Result<SendRequestId, String>>,
}

impl core::fmt::Debug for Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Pending")
    }
}

struct OwnedRequest {
    origin: Domain,
    destination: Domain,
    recipient: Address32,
    kind: SendKind,
    payload: Vec<u8>,
    readers: Vec<String>,
    disclose: Vec<String>,
    actor: String,
}

impl Sending {
    /// Accepts sends from `origins` (chains with a sender key) over `lanes`, writing them to
    /// `store` from a writer task (stopped when every [`Sending`] is dropped); private payloads
    /// are sealed with `envelopes`' directory.
    pub fn start(
        store: Arc<dyn Store>,
        origins: HashSet<Domain>,
        lanes: HashSet<Lane>,
        envelopes: Envelopes,
    ) -> Self {
        let (queue, incoming) = mpsc::channel(QUEUE);
        tokio::spawn(writer(store, incoming));
        Sending {
            queue,
            origins: Arc::new(origins),
            lanes: Arc::new(lanes),
            envelopes,
        }
    }

    /// The envelopes (for the envelope routes).
    pub fn envelopes(&self) -> &Envelopes {
        &self.envelopes
    }

    fn directory(&self) -> &Arc<Directory> {
        self.envelopes.directory()
    }
}

/// Writes queued requests in groups: one durable transaction for all that are waiting.
async fn writer(store: Arc<dyn Store>, mut incoming: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(GROUP_COMMIT);
    while incoming.recv_many(&mut batch, GROUP_COMMIT).await > 0 {
        let taken = std::mem::take(&mut batch);
        let store = Arc::clone(&store);
        let result = tokio::task::spawn_blocking(move || {
            let requests: Vec<NewSendRequest<'_>> = taken
                .iter()
                .map(|p| NewSendRequest {
                    origin: p.request.origin,
                    destination: p.request.destination,
                    recipient: p.request.recipient,
                    kind: p.request.kind,
                    payload: &p.request.payload,
                    readers: &p.request.readers,
                    disclose: &p.request.disclose,
                    actor: &p.request.actor,
                })
                .collect();
            let written = store.record_send_requests(&requests, UnixMillis::now());
            drop(requests);
            (taken, written)
        })
        .await;
        let Ok((taken, written)) = result else {
            tracing::error!("the send writer task was interrupted");
            continue;
        };
        match written {
            Ok(ids) => {
                for (p, id) in taken.into_iter().zip(ids) {
                    let _ = p.reply.send(Ok(id));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "recording send requests failed");
                let reason = e.to_string();
                for p in taken {
                    let _ = p.reply.send(Err(reason.clone()));
                }
            }
        }
    }
}

/// `POST /v1/messages`: exactly one of `body` (public) and `private`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The origin domain (a chain this gateway has a sender key for).
    pub origin: u32,
    /// The destination domain (a lane must join origin and destination).
    pub destination: u32,
    /// The recipient: 0x and 40 hex digits (EVM) or 64 (32 bytes).
    #[schema(pattern = "^0x([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")]
    pub recipient: String,
    /// A public message's body: 0x and hex digits (at most 65,536 bytes).
    #[schema(pattern = "^0x([0-9a-fA-F]{2})*$")]
    pub body: Option<String>,
    /// A private message.
    pub private: Option<PrivateSend>,
}

/// A private message: sealed for the recipients (and the lane's auditors, and this
/// organisation); the chain sees a commitment and the disclosed fields with their proofs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivateSend {
    /// The payload: a JSON object (numbers must be exact doubles; larger integers as strings).
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
    /// The recipient organisations (member names, at least one).
    pub recipients: Vec<String>,
    /// Top-level fields whose values go on chain with their proofs.
    #[serde(default)]
    pub disclose: Vec<String>,
}

/// What `POST /v1/messages` answers: the request is durably recorded.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendAccepted {
    /// The request's number (`GET /v1/requests/{id}`).
    pub request_id: u64,
    /// `accepted`.
    pub state: String,
    /// `public` or `private`.
    pub kind: String,
    /// Who reads a private message (this organisation, the recipients, the lane's auditors).
    pub readers: Vec<String>,
}

fn refuse(code: &str, message: impl Into<String>, hint: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message, hint)
}

/// A recipient as 32 bytes.
pub(crate) fn recipient_param(text: &str) -> Result<Address32, ApiError> {
    let hint = "a recipient is 0x and 40 hex digits (EVM) or 64 hex digits (32 bytes)";
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let parsed = match digits.len() {
        40 => text
            .parse::<EvmAddress>()
            .map(Address32::from)
            .map_err(|e| e.to_string()),
        64 => text.parse::<Address32>().map_err(|e| e.to_string()),
        n => Err(format!("{n} hex digits")),
    };
    parsed.map_err(|e| {
        refuse(
            "bad_recipient",
            format!("`recipient` is not an address: {e}"),
            hint,
        )
    })
}

/// Sends a message (scope `send`). The request is recorded durably and audited before the
/// answer; a refused request writes nothing.
#[utoipa::path(post, path = "/v1/messages", tag = "messages",
    request_body(content = SendMessage, description = "A public body or a private payload"),
    security(("bearer" = ["send"])),
    responses(
        (status = 202, description = "Recorded; the gateway dispatches it", body = SendAccepted),
        (status = 400, description = "Malformed or refused request (nothing written)", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `send`", body = ErrorBody),
        (status = 409, description = "This gateway cannot send from that origin", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 503, description = "The store could not record it now", body = ErrorBody),
    ))]
pub async fn send_message(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, Scope::Send).await?;
    let request: SendMessage = strict_json(&body?)?;
    let sending = state.sending().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "sending_disabled",
            "this gateway does not send messages",
            "configure sender_key_file on a chain and its privacy key, then restart the gateway",
        )
    })?;
    let origin = Domain(request.origin);
    let destination = Domain(request.destination);
    if !sending.origins.contains(&origin) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "origin_not_sendable",
            format!("this gateway has no sender key for domain {origin}"),
            "send from a chain whose [chains.*] section has sender_key_file (and, on Fabric, sender_cert_file)",
        ));
    }
    let lane = Lane {
        origin,
        destination,
    };
    if !sending.lanes.contains(&lane) {
        return Err(refuse(
            "no_lane",
            format!("no lane joins domain {origin} to domain {destination}"),
            "send along a configured lane (see GET /v1/chains and the gateway's [lanes.*])",
        ));
    }
    let recipient = recipient_param(&request.recipient)?;
    let owned = match (request.body, request.private) {
        (Some(body), None) => {
            let digits = body.strip_prefix("0x").ok_or_else(|| {
                refuse(
                    "bad_body",
                    "`body` does not start with 0x",
                    "send 0x and hex digits",
                )
            })?;
            let bytes = hex::decode(digits).map_err(|e| {
                refuse(
                    "bad_body",
                    format!("`body` is not hex: {e}"),
                    "send 0x and hex digits",
                )
            })?;
            if bytes.len() > MAX_BODY_LEN {
                return Err(refuse(
                    "body_too_large",
                    format!(
                        "the body is {} bytes, more than {MAX_BODY_LEN}",
                        bytes.len()
                    ),
                    "send a smaller body",
                ));
            }
            OwnedRequest {
                origin,
                destination,
                recipient,
                kind: SendKind::Public,
                payload: bytes,
                readers: Vec::new(),
                disclose: Vec::new(),
                actor: caller.actor(),
            }
        }
        (None, Some(private)) => {
            check_private(sending, lane, &private).await?;
            let readers = sending
                .directory()
                .readers(lane, &private.recipients)
                .map_err(|name| {
                    refuse(
                        "unknown_recipient",
                        format!("`{name}` is not a member of the consortium"),
                        "name recipients by their [[members]] name",
                    )
                })?;
            OwnedRequest {
                origin,
                destination,
                recipient,
                kind: SendKind::Private,
                payload: private.payload.get().as_bytes().to_vec(),
                readers,
                disclose: private.disclose,
                actor: caller.actor(),
            }
        }
        _ => {
            return Err(refuse(
                "bad_request",
                "give exactly one of `body` (public) and `private`",
                "a public message has `body`; a private one `private` with payload and recipients",
            ));
        }
    };
    let kind = owned.kind;
    let readers = owned.readers.clone();
    let (reply, answer) = oneshot::channel();
    sending
        .queue
        .send(Pending {
            request: owned,
            reply,
        })
        .await
        .map_err(|_| ApiError::unavailable("the gateway is stopping"))?;
    let id = answer
        .await
        .map_err(|_| ApiError::unavailable("the send writer stopped"))?
        .map_err(|_| ApiError::unavailable("the store could not record the request"))?;
    tracing::info!(request = %id, kind = kind.as_str(), actor = %caller.actor(), "send request recorded");
    Ok((
        StatusCode::ACCEPTED,
        Json(SendAccepted {
            request_id: id.0,
            state: "accepted".into(),
            kind: kind.as_str().into(),
            readers,
        }),
    )
        .into_response())
}

/// Everything about a private request that can be checked before it is recorded: recipients,
/// fields, exact numbers, and that its on-chain body fits (a trial seal, thrown away).
async fn check_private(
    sending: &Sending,
    lane: Lane,
    private: &PrivateSend,
) -> Result<(), ApiError> {
    if private.recipients.is_empty() {
        return Err(refuse(
            "no_recipients",
            "a private message needs at least one recipient organisation",
            "list member names in `recipients`",
        ));
    }
    let mut seen = BTreeSet::new();
    for r in &private.recipients {
        if !seen.insert(r.as_str()) {
            return Err(refuse(
                "duplicate_recipient",
                format!("`{r}` is listed twice"),
                "list each recipient once",
            ));
        }
    }
    let mut fields = BTreeSet::new();
    for f in &private.disclose {
        if !fields.insert(f.as_str()) {
            return Err(refuse(
                "duplicate_field",
                format!("field `{f}` is disclosed twice"),
                "list each field once",
            ));
        }
    }
    let value =
        causeway_privacy::disclosure::parse_exact_json(private.payload.get()).map_err(|e| {
            refuse(
                "bad_payload",
                format!("the payload cannot be committed: {e}"),
                "send a JSON object; write integers beyond 2^53 and exact decimals as strings",
            )
        })?;
    let Some(object) = value.as_object() else {
        return Err(refuse(
            "bad_payload",
            "the payload is not a JSON object",
            "send a JSON object whose top-level fields can be disclosed",
        ));
    };
    if let Some(missing) = private.disclose.iter().find(|f| !object.contains_key(*f)) {
        return Err(refuse(
            "unknown_field",
            format!("field `{missing}` is not in the payload"),
            "disclose top-level fields of the payload",
        ));
    }
    let directory = Arc::clone(sending.directory());
    let readers = directory
        .readers(lane, &private.recipients)
        .map_err(|name| {
            refuse(
                "unknown_recipient",
                format!("`{name}` is not a member of the consortium"),
                "name recipients by their [[members]] name",
            )
        })?;
    let payload = private.payload.get().as_bytes().to_vec();
    let disclose = private.disclose.clone();
    let trial = tokio::task::spawn_blocking(move || {
        let context = EnvelopeContext {
            origin: lane.origin,
            destination: lane.destination,
            nonce: Nonce(u64::MAX),
            sender: Address32([0xff; 32]),
        };
        crate::private::dispatch::seal(&directory, context, &payload, &readers, &disclose)
            .map(|_| ())
    })
    .await
    .map_err(|_| ApiError::unavailable("the check was interrupted"))?;
    trial.map_err(|e| {
        refuse(
            "payload_refused",
            format!("the private message cannot be sealed: {e:#}"),
            "send a smaller payload, or disclose fewer fields",
        )
    })
}

/// `GET /v1/requests/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequestView {
    /// The request's number.
    pub request_id: u64,
    /// `accepted`, `sealed`, `dispatched` or `failed`.
    pub state: String,
    /// `public` or `private`.
    pub kind: String,
    /// Origin domain.
    pub origin: u32,
    /// Destination domain.
    pub destination: u32,
    /// The message id, once sealed for an Outbox nonce (final once `dispatched`).
    pub message_id: Option<String>,
    /// The Outbox nonce.
    pub nonce: Option<u64>,
    /// The dispatch transaction: once dispatched, the one that carried the message; while
    /// sealed, on Fabric and FISCO BCOS origins, the one being sent (recorded before it is sent;
    /// a Fabric transaction id is these 32 bytes in hex).
    pub tx_hash: Option<String>,
    /// Failed attempts.
    pub attempts: u32,
    /// The last failure, or, while it is put off, what it waits for.
    pub error: Option<String>,
    /// Who reads it (private).
    pub readers: Vec<String>,
    /// While it is put off after attempts that failed for reasons not its own (the origin's
    /// node, its nonce held by another transaction): when it is tried again (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
    /// Since when its Outbox nonce has been held by a transaction not yet final (Unix ms):
    /// the dispatcher sends it in that transaction's place once it held on too long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_held_since_ms: Option<u64>,
}

/// Where a send request is (scope `send`).
#[utoipa::path(get, path = "/v1/requests/{id}", tag = "messages",
    params(("id" = u64, Path, description = "The request number POST /v1/messages answered with")),
    security(("bearer" = ["send"])),
    responses(
        (status = 200, description = "The request", body = SendRequestView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `send`", body = ErrorBody),
        (status = 404, description = "Unknown request", body = ErrorBody),
    ))]
pub async fn get_request(
    State(state): State<ApiState>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<SendRequestView>, ApiError> {
    authorize(&state, &headers, Scope::Send).await?;
    let Path(id) = id?;
    if id > i64::MAX as u64 {
        return Err(ApiError::not_found(
            format!("no send request {id}"),
            "use the request_id POST /v1/messages answered with",
        ));
    }
    let store = state.store();
    let found = tokio::task::spawn_blocking(move || store.send_request(SendRequestId(id)))
        .await
        .map_err(|_| ApiError::unavailable("the store read was interrupted"))?
        .map_err(|e| ApiError::store(&e))?
        .ok_or_else(|| {
            ApiError::not_found(
                format!("no send request {id}"),
                "use the request_id POST /v1/messages answered with",
            )
        })?;
    Ok(Json(SendRequestView {
        request_id: found.id.0,
        state: found.state.as_str().into(),
        kind: found.kind.as_str().into(),
        origin: found.origin.0,
        destination: found.destination.0,
        message_id: found.message_id.map(|m| m.to_hex()),
        nonce: found.nonce,
        tx_hash: found.tx_hash.map(|h| h.to_hex()),
        attempts: found.attempts,
        error: found.error.map(|e| crate::heights::scrub_urls(&e)),
        readers: found.readers,
        retry_at_ms: found.retry_at.map(|t| t.0),
        nonce_held_since_ms: found.contended_since.map(|t| t.0),
    }))
}
