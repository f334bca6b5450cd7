//! The message routes: one message with its status history, the search, its proof bundle and
//! an operator's retry of a dead letter.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use causeway_proofs::{Address32, Domain, EvmAddress, MessageId};
use causeway_relayer::store::{
    DeliveryState, DeliveryStateKind, Lane, MessageFilter, MessageRead, MessageReadout,
    MessageRecord, MessageSummary, ReadWait, Scope, StatusEvent, UnixMillis,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::{Credential, authorize};
use super::error::{ApiError, ErrorBody, strict_json};
use crate::heights::scrub_urls;
use crate::proof::{ProofError, bundle_of};

/// A message's delivery state now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateName {
    /// Waiting to be delivered.
    Pending,
    /// Taken by a relayer for delivery.
    Leased,
    /// Sent; the destination transaction is not final yet.
    Submitted,
    /// Delivered in a final destination block.
    Confirmed,
    /// Given up; an operator may retry it.
    DeadLetter,
}

impl From<DeliveryStateKind> for StateName {
    fn from(k: DeliveryStateKind) -> Self {
        match k {
            DeliveryStateKind::Pending => StateName::Pending,
            DeliveryStateKind::Leased => StateName::Leased,
            DeliveryStateKind::Submitted => StateName::Submitted,
            DeliveryStateKind::Confirmed => StateName::Confirmed,
            DeliveryStateKind::DeadLetter => StateName::DeadLetter,
        }
    }
}

impl From<StateName> for DeliveryStateKind {
    fn from(k: StateName) -> Self {
        match k {
            StateName::Pending => DeliveryStateKind::Pending,
            StateName::Leased => DeliveryStateKind::Leased,
            StateName::Submitted => DeliveryStateKind::Submitted,
            StateName::Confirmed => DeliveryStateKind::Confirmed,
            StateName::DeadLetter => DeliveryStateKind::DeadLetter,
        }
    }
}

/// One status change of a message.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// Its place in the gateway's event sequence (the event stream's id).
    pub seq: u64,
    /// `logged`, `leased`, `submitted`, `confirmed`, `failed`, `retried` or `dead_lettered`.
    pub status: String,
    /// Why, for `failed` and `dead_lettered` (URLs without credentials).
    pub reason: Option<String>,
    /// When (Unix milliseconds).
    pub at_ms: u64,
}

impl From<&StatusEvent> for HistoryEntry {
    fn from(e: &StatusEvent) -> Self {
        HistoryEntry {
            seq: e.seq,
            status: e.status.as_str().to_owned(),
            reason: e.reason.as_deref().map(scrub_urls),
            at_ms: e.at.0,
        }
    }
}

/// Where a message was observed on its origin chain.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceView {
    /// The origin block.
    pub block_number: Option<u64>,
    /// Its hash.
    pub block_hash: Option<String>,
    /// The transaction (EVM).
    pub transaction_hash: Option<String>,
    /// The transaction (Fabric).
    pub fabric_tx_id: Option<String>,
    /// The event's index.
    pub event_index: Option<u64>,
}

/// The checkpoint that attests a message: the lane's latest with a quorum of signatures.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// The checkpoint's log size (it covers leaves below it).
    pub checkpoint_size: u64,
    /// Its root.
    pub root: String,
    /// How many validators signed it.
    pub signatures: u64,
}

/// `GET /v1/messages/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageView {
    /// The message id (keccak-256 of its encoding).
    pub id: String,
    /// Origin domain.
    pub origin: u32,
    /// Destination domain.
    pub destination: u32,
    /// Nonce at the origin.
    pub nonce: u64,
    /// Sender (32 bytes, hex).
    pub sender: String,
    /// Recipient (32 bytes, hex).
    pub recipient: String,
    /// Body (hex).
    pub body: String,
    /// Position in the origin's log.
    pub leaf_index: u64,
    /// When the gateway accepted it (Unix milliseconds).
    pub accepted_at_ms: u64,
    /// Where it was observed.
    pub source: SourceView,
    /// Its delivery state now.
    pub state: StateName,
    /// Failed attempts since acceptance or the last retry.
    pub attempts: u32,
    /// The last failure (URLs without credentials).
    pub last_error: Option<String>,
    /// The destination block it was delivered in, once confirmed.
    pub confirmed_block: Option<u64>,
    /// The checkpoint that attests it, once one with a quorum covers it.
    pub attested: Option<Attestation>,
    /// Every status change, oldest first.
    pub history: Vec<HistoryEntry>,
}

fn parse_id(raw: Result<Path<String>, PathRejection>) -> Result<MessageId, ApiError> {
    let Path(raw) = raw?;
    raw.parse::<MessageId>().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_id",
            format!(
                "`{}` is not a message id: {e}",
                raw.chars().take(80).collect::<String>()
            ),
            "a message id is 0x and 64 hex digits",
        )
    })
}

fn unknown(id: MessageId) -> ApiError {
    ApiError::not_found(
        format!("no message {id} in this gateway's store"),
        "check the id; `GET /v1/messages` lists the messages this gateway has seen",
    )
}

/// Runs a blocking store read off the runtime, mapping its failure to 503.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::unavailable("the store read was interrupted"))?
}

/// `0x` and the lowercase hex of `bytes`, through the `hex` crate's slice encoder (its
/// `encode` yields a `char` at a time: ~3 % of this route's CPU for a 256-byte body).
fn hex_0x(bytes: &[u8]) -> String {
    let mut out = vec![0u8; 2 + 2 * bytes.len()];
    out[..2].copy_from_slice(b"0x");
    // The output is sized exactly, the only way `encode_to_slice` can fail.
    if hex::encode_to_slice(bytes, &mut out[2..]).is_err() {
        return format!("0x{}", hex::encode(bytes));
    }
    // ASCII by construction.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn view(
    record: MessageRecord,
    history: &[StatusEvent],
    attested: Option<Attestation>,
) -> MessageView {
    let m = &record.message;
    let confirmed_block = match record.delivery.state {
        DeliveryState::Confirmed { block } => Some(block),
        _ => None,
    };
    MessageView {
        id: m.id().to_hex(),
        origin: m.origin().0,
        destination: m.destination().0,
        nonce: m.nonce().0,
        sender: m.sender().to_hex(),
        recipient: m.recipient().to_hex(),
        body: hex_0x(m.body()),
        leaf_index: record.leaf_index.0,
        accepted_at_ms: record.accepted_at.0,
        source: SourceView {
            block_number: record.source.block_number,
            block_hash: record.source.block_hash.map(|h| h.to_hex()),
            transaction_hash: record.source.transaction_hash.map(|h| h.to_hex()),
            fabric_tx_id: record.source.fabric_tx_id.clone(),
            event_index: record.source.event_index,
        },
        state: record.delivery.state.kind().into(),
        attempts: record.delivery.attempts,
        last_error: record.delivery.last_error.as_deref().map(scrub_urls),
        confirmed_block,
        attested,
        history: history.iter().map(HistoryEntry::from).collect(),
    }
}

/// A message with its status history.
#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages",
    params(("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The message", body = MessageView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
        (status = 404, description = "Unknown message", body = ErrorBody),
    ))]
pub async fn get_message(
    State(state): State<ApiState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<MessageView>, ApiError> {
    let credential = Credential::of(&headers)?;
    let id = match parse_id(id) {
        Ok(id) => id,
        // Authenticated first, as every route: a caller without a live token learns nothing,
        // not even that the id is malformed.
        Err(malformed) => {
            authorize(&state, &headers, Scope::Read).await?;
            return Err(malformed);
        }
    };
    let lanes = state.clone();
    let threshold = move |lane: Lane| lanes.lane(lane).map(|t| t.validators.threshold());
    // The token, the message, its history and its lane's checkpoint in one store call and one
    // read transaction. First on this runtime thread, on a store handle that is idle now
    // (never waiting for a handle's mutex): a few indexed reads of pages in the handle's cache,
    // tens of microseconds (34 us of CPU per request in all, BENCHMARKS.md), so a request
    // costs no thread hand-off (profiled: the blocking pool's wake-ups were most of this
    // route's time under load). A WAL reader does not wait for writers; SQLite's own file
    // locks are held for the length of an `fcntl`.
    let read = MessageRead {
        credential: credential.hash(),
        id,
        threshold: &threshold,
        wait: ReadWait::IfIdle,
    };
    for store in state.stores() {
        if let Some(out) = store.message_readout(&read) {
            return answer(&state, &credential, id, out);
        }
    }
    // Every handle busy (or a store without the one-call read): wait for one as a task, then
    // read on a blocking thread.
    let permit = state.read_permit().await?;
    let s = state.clone();
    let out = blocking(move || {
        let _permit = permit;
        let store = s.store();
        let lanes = s.clone();
        let threshold = move |lane: Lane| lanes.lane(lane).map(|t| t.validators.threshold());
        let read = MessageRead {
            credential: credential.hash(),
            id,
            threshold: &threshold,
            wait: ReadWait::Block,
        };
        Ok(match store.message_readout(&read) {
            Some(out) => out,
            None => single_reads(store.as_ref(), &read),
        })
    })
    .await?;
    answer(&state, &credential, id, out)
}

/// [`MessageRead`]'s reads one by one, for a store that does not offer them in one call.
fn single_reads(
    store: &dyn causeway_relayer::store::Store,
    read: &MessageRead<'_>,
) -> causeway_relayer::store::Result<MessageReadout> {
    let token = store.token_by_hash(read.credential)?;
    let mut out = MessageReadout {
        token,
        message: None,
        history: Vec::new(),
        checkpoint: None,
    };
    if out.token.is_none() {
        return Ok(out);
    }
    out.message = store.message(read.id)?;
    if let Some(record) = &out.message {
        out.history = store.message_history(read.id)?;
        let lane = record.delivery.lane;
        if let Some(threshold) = (read.threshold)(lane) {
            out.checkpoint = store.latest_checkpoint(lane, threshold)?;
        }
    }
    Ok(out)
}

/// The answer to `GET /v1/messages/{id}` from what the store read.
fn answer(
    state: &ApiState,
    credential: &Credential,
    id: MessageId,
    out: causeway_relayer::store::Result<MessageReadout>,
) -> Result<Json<MessageView>, ApiError> {
    let out = out.map_err(|e| ApiError::store(&e))?;
    credential.admit(out.token, Scope::Read)?;
    let record = out.message.ok_or_else(|| unknown(id))?;
    let attested = state
        .lane(record.delivery.lane)
        .and(out.checkpoint)
        .filter(|c| c.checkpoint.size().0 > record.leaf_index.0)
        .map(|c| Attestation {
            checkpoint_size: c.checkpoint.size().0,
            root: c.checkpoint.root().to_hex(),
            signatures: c.signatures.len() as u64,
        });
    Ok(Json(view(record, &out.history, attested)))
}

/// The search's query parameters.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Only messages from this origin domain.
    pub origin: Option<u32>,
    /// Only messages to this destination domain.
    pub destination: Option<u32>,
    /// Only messages from this sender: 0x and 40 hex digits (EVM) or 64 (32 bytes).
    #[param(pattern = "^0x([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")]
    pub sender: Option<String>,
    /// Only messages in this delivery state now.
    #[param(inline)]
    pub status: Option<StateName>,
    /// Only messages accepted at or after this time (Unix milliseconds).
    pub since_ms: Option<u64>,
    /// Only messages accepted before this time (Unix milliseconds).
    pub until_ms: Option<u64>,
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One message found.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSummaryView {
    /// The message id.
    pub id: String,
    /// Origin domain.
    pub origin: u32,
    /// Destination domain.
    pub destination: u32,
    /// Sender (32 bytes, hex).
    pub sender: String,
    /// Delivery state now.
    pub state: StateName,
    /// When the gateway accepted it (Unix milliseconds).
    pub accepted_at_ms: u64,
}

/// `GET /v1/messages`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagePage {
    /// The messages, oldest first.
    pub messages: Vec<MessageSummaryView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn bad_query(message: String, hint: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message, hint)
}

/// The cursor's text: unpadded base64url of the last row's (accepted_at, id).
fn encode_cursor(at: UnixMillis, id: MessageId) -> String {
    let mut raw = [0u8; 40];
    raw[..8].copy_from_slice(&at.0.to_be_bytes());
    raw[8..].copy_from_slice(&id.0.0);
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(text: &str) -> Result<(UnixMillis, MessageId), ApiError> {
    let bad = || {
        bad_query(
            "the cursor is not one this API returned".to_owned(),
            "pass the `next_cursor` of the previous page unchanged, or omit it for the first page",
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let raw: [u8; 40] = raw.as_slice().try_into().map_err(|_| bad())?;
    let (at, id) = raw.split_at(8);
    let at = u64::from_be_bytes(at.try_into().map_err(|_| bad())?);
    let id: [u8; 32] = id.try_into().map_err(|_| bad())?;
    if at > i64::MAX as u64 {
        return Err(bad());
    }
    Ok((UnixMillis(at), MessageId(id.into())))
}

fn time_param(name: &str, value: Option<u64>) -> Result<Option<UnixMillis>, ApiError> {
    match value {
        Some(v) if v > i64::MAX as u64 => Err(bad_query(
            format!("`{name}` is beyond the largest time the store keeps"),
            "give Unix milliseconds below 2^63",
        )),
        v => Ok(v.map(UnixMillis)),
    }
}

fn sender_param(text: &str) -> Result<Address32, ApiError> {
    let hint = "a sender is 0x and 40 hex digits (EVM) or 64 hex digits (32 bytes)";
    let bad = |e: String| bad_query(format!("`sender` is not an address: {e}"), hint);
    let digits = text.strip_prefix("0x").unwrap_or(text);
    match digits.len() {
        40 => text
            .parse::<EvmAddress>()
            .map(Address32::from)
            .map_err(|e| bad(e.to_string())),
        64 => text.parse::<Address32>().map_err(|e| bad(e.to_string())),
        n => Err(bad(format!("{n} hex digits"))),
    }
}

/// Messages by origin, destination, sender, state and time, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/messages", tag = "messages",
    params(SearchParams),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 400, description = "A malformed parameter or cursor", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
    ))]
pub async fn search_messages(
    State(state): State<ApiState>,
    headers: HeaderMap,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let Query(p) = params?;
    let limit = match p.limit {
        None => 100,
        Some(n @ 1..=1000) => n as usize,
        Some(n) => {
            return Err(bad_query(
                format!("`limit` is {n}"),
                "give a limit from 1 to 1000",
            ));
        }
    };
    let filter = MessageFilter {
        origin: p.origin.map(Domain),
        destination: p.destination.map(Domain),
        sender: p.sender.as_deref().map(sender_param).transpose()?,
        state: p.status.map(Into::into),
        since: time_param("since_ms", p.since_ms)?,
        until: time_param("until_ms", p.until_ms)?,
        after: p.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
    };
    let store = state.store();
    let found: Vec<MessageSummary> = blocking(move || {
        store
            .search_messages(&filter)
            .map_err(|e| ApiError::store(&e))
    })
    .await?;
    let next_cursor = if found.len() == limit {
        found.last().map(|m| encode_cursor(m.accepted_at, m.id))
    } else {
        None
    };
    Ok(Json(MessagePage {
        messages: found
            .into_iter()
            .map(|m| MessageSummaryView {
                id: m.id.to_hex(),
                origin: m.lane.origin.0,
                destination: m.lane.destination.0,
                sender: m.sender.to_hex(),
                state: m.state.into(),
                accepted_at_ms: m.accepted_at.0,
            })
            .collect(),
        next_cursor,
    }))
}

/// The message's proof bundle: its inclusion in the lane's latest checkpoint signed by a quorum,
/// the JSON `causeway verify` checks offline.
#[utoipa::path(get, path = "/v1/messages/{id}/proof", tag = "messages",
    params(("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The proof bundle", body = Object),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
        (status = 404, description = "Unknown message", body = ErrorBody),
        (status = 409, description = "Not yet attested, or on a lane this gateway does not serve", body = ErrorBody),
    ))]
pub async fn get_proof(
    State(state): State<ApiState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let id = parse_id(id)?;
    let s = state.clone();
    let json = blocking(move || {
        let store = s.store();
        let record = store
            .message(id)
            .map_err(|e| ApiError::store(&e))?
            .ok_or_else(|| unknown(id))?;
        let lane = record.delivery.lane;
        let trust = s.lane(lane).ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "lane_not_served",
                format!("message {id} travels lane {lane}, which this gateway does not serve"),
                "ask a gateway configured with that lane",
            )
        })?;
        match bundle_of(&*store, trust, record) {
            Ok(bundle) => Ok(bundle.to_json_pretty()),
            Err(e @ (ProofError::NoQuorumCheckpoint { .. } | ProofError::NotYetAttested { .. })) => {
                Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "not_attested",
                    e.to_string(),
                    "try again once a checkpoint with a quorum of signatures covers the message",
                ))
            }
            Err(ProofError::Store(e)) => Err(ApiError::store(&e)),
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "no proof bundle for a stored message");
                Err(ApiError::unavailable(
                    "the proof could not be assembled from this gateway's store",
                ))
            }
        }
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// The retry's body: nothing to say (an empty body or `{}`); unknown fields are refused.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {}

/// What a retry did.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryOutcome {
    /// The message.
    pub id: String,
    /// Its state now (`pending`).
    pub state: StateName,
}

/// Sends a dead letter back to pending with its attempts reset (admin). Audited.
#[utoipa::path(post, path = "/v1/messages/{id}/retry", tag = "messages",
    params(("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$")),
    request_body(content = Option<RetryRequest>, description = "Empty, or `{}`"),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Sent back to pending", body = RetryOutcome),
        (status = 400, description = "Malformed id or body", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `admin`", body = ErrorBody),
        (status = 404, description = "Unknown message", body = ErrorBody),
        (status = 409, description = "The message is not a dead letter", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    ))]
pub async fn retry_message(
    State(state): State<ApiState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RetryOutcome>, ApiError> {
    let caller = authorize(&state, &headers, Scope::Admin).await?;
    let id = parse_id(id)?;
    let RetryRequest {} = strict_json(&body?)?;
    let store = state.store();
    let actor = caller.actor();
    blocking(
        move || match store.retry_dead_letter_as(id, &actor, UnixMillis::now()) {
            Ok(()) => Ok(()),
            Err(causeway_relayer::Error::UnknownMessage { .. }) => Err(unknown(id)),
            Err(causeway_relayer::Error::InvalidTransition { state, .. }) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_dead_lettered",
                format!("message {id} is {}, not a dead letter", state.as_str()),
                "only dead-lettered messages are retried; the pipeline retries the others itself",
            )),
            Err(e) => Err(ApiError::store(&e)),
        },
    )
    .await?;
    tracing::info!(message_id = %id, actor = %caller.actor(), "dead letter retried through the API");
    Ok(Json(RetryOutcome {
        id: id.to_hex(),
        state: StateName::Pending,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_0x_is_the_hex_crates_encoding() {
        for len in [0usize, 1, 20, 32, 256, 1025] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(hex_0x(&bytes), format!("0x{}", hex::encode(&bytes)));
        }
    }
}
