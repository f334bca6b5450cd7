//! The envelope routes of private messages: the ciphertext this gateway holds, its decryption
//! for this organisation (403 for a non-reader), grants to another member without
//! re-encryption and their revocation, the grant record, and the selective disclosure the
//! message carries on chain (readable by anyone, with its proofs, checked here against the
//! message's commitment before it is served).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use causeway_privacy::envelope::Access;
use causeway_proofs::MessageId;
use causeway_relayer::store::{GrantKind, GrantRecord, NewGrant, Scope, UnixMillis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use causeway_monitoring::EnvelopeOperation;

use super::ApiState;
use super::auth::authorize;
use super::error::{ApiError, ErrorBody, strict_json};
use super::send::Sending;
use crate::private::body::BodyError;
use crate::private::fetch::ReadError;

/// The envelope operation of each route here, by method and route template: `/metrics` counts
/// `causeway_envelope_operations_total` from the API's responses to them (their status gives
/// the outcome class), so every refusal is counted, those before a handler runs included.
pub const OPERATIONS: [(&str, &str, EnvelopeOperation); 5] = [
    ("GET", "/v1/envelopes/{id}", EnvelopeOperation::Read),
    (
        "POST",
        "/v1/envelopes/{id}/decrypt",
        EnvelopeOperation::Decrypt,
    ),
    (
        "POST",
        "/v1/envelopes/{id}/grants",
        EnvelopeOperation::Grant,
    ),
    (
        "DELETE",
        "/v1/envelopes/{id}/grants/{member}",
        EnvelopeOperation::Revoke,
    ),
    (
        "GET",
        "/v1/messages/{id}/disclosure",
        EnvelopeOperation::Disclosure,
    ),
];

fn parse_id(raw: Result<Path<String>, PathRejection>) -> Result<MessageId, ApiError> {
    let Path(raw) = raw?;
    parse_message_id(&raw)
}

fn parse_message_id(raw: &str) -> Result<MessageId, ApiError> {
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

fn sending(state: &ApiState) -> Result<&Sending, ApiError> {
    state.sending().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "privacy_disabled",
            "this gateway serves no private messages",
            "start the gateway with its privacy key configured",
        )
    })
}

fn read_error(e: ReadError) -> ApiError {
    match e {
        ReadError::UnknownMessage { id } => ApiError::not_found(
            format!("no message {id} in this gateway's store"),
            "wait until the message is final on its origin chain, or check the id",
        ),
        ReadError::Body(BodyError::NotPrivate) => ApiError::new(
            StatusCode::CONFLICT,
            "not_private",
            "the message is public: it has no envelope",
            "read its body with GET /v1/messages/{id}",
        ),
        ReadError::Body(e) => ApiError::new(
            StatusCode::CONFLICT,
            "malformed_private_message",
            e.to_string(),
            "the sender's gateway wrote a body no recipient can check; ask its operator",
        ),
        ReadError::NotAReader { id, reason } => ApiError::new(
            StatusCode::FORBIDDEN,
            "not_a_reader",
            format!("this organisation may not read message {id}: {reason}"),
            "ask a reader of the message for a grant (POST /v1/envelopes/{id}/grants on its gateway)",
        ),
        ReadError::NoEnvelope { id } => ApiError::not_found(
            format!("no member holds the envelope of message {id}"),
            "retry later; the sender's gateway keeps the envelope of every message it sent",
        ),
        ReadError::Unavailable(reason) => {
            tracing::warn!(%reason, "an envelope could not be read");
            ApiError::unavailable("the envelope could not be read now")
        }
    }
}

/// `GET /v1/envelopes/{id}`: the ciphertext.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeView {
    /// The message id.
    pub message_id: String,
    /// The envelope bytes (base64), with the grant history as this gateway holds it.
    pub envelope: String,
    /// The member it was fetched from; `null` when this gateway sealed it.
    pub fetched_from: Option<String>,
    /// The key ids of the readers now (recipients, then live grantees), hex.
    pub readers: Vec<String>,
}

/// The encrypted envelope this gateway holds for a private message (scope `read`).
#[utoipa::path(get, path = "/v1/envelopes/{id}", tag = "envelopes",
    params(("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The envelope", body = EnvelopeView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
        (status = 404, description = "This gateway holds no envelope for it", body = ErrorBody),
        (status = 409, description = "This gateway serves no private messages", body = ErrorBody),
    ))]
pub async fn get_envelope(
    State(state): State<ApiState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<EnvelopeView>, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let id = parse_id(id)?;
    sending(&state)?;
    let store = state.store();
    let found = tokio::task::spawn_blocking(move || store.envelope(id))
        .await
        .map_err(|_| ApiError::unavailable("the store read was interrupted"))?
        .map_err(|e| ApiError::store(&e))?
        .ok_or_else(|| {
            ApiError::not_found(
                format!("this gateway holds no envelope for {id}"),
                "POST /v1/envelopes/{id}/decrypt fetches it from the members when this organisation may read it",
            )
        })?;
    let readers = causeway_privacy::EnvelopeHeader::read_from(found.bytes.as_slice())
        .map(|h| h.readers().iter().map(|k| hex::encode(k.0)).collect())
        .unwrap_or_default();
    Ok(Json(EnvelopeView {
        message_id: id.to_hex(),
        envelope: STANDARD.encode(&found.bytes),
        fetched_from: found.fetched_from,
        readers,
    }))
}

/// `POST /v1/envelopes/{id}/decrypt`: the plaintext.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decrypted {
    /// The message id.
    pub message_id: String,
    /// The payload (the JSON object the sender posted).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// `recipient` or `grantee`.
    pub access: String,
}

/// The decrypt body: empty or `{}`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecryptRequest {}

/// Decrypts a private message for this organisation (scope `decrypt`): opened only against the
/// commitment of the message in this gateway's store; 403 when this organisation is not a
/// reader. Audited (`envelope.decrypt`, with the caller) before the plaintext is returned.
#[utoipa::path(post, path = "/v1/envelopes/{id}/decrypt", tag = "envelopes",
    params(("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$")),
    request_body(content = Option<DecryptRequest>, description = "Empty, or `{}`"),
    security(("bearer" = ["decrypt"])),
    responses(
        (status = 200, description = "The plaintext", body = Decrypted),
        (status = 400, description = "Malformed id or body", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `decrypt`, or this organisation is not a reader", body = ErrorBody),
        (status = 404, description = "Unknown message, or no envelope anywhere", body = ErrorBody),
        (status = 409, description = "A public message, or this gateway serves no private messages", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 503, description = "The store or the members could not answer now", body = ErrorBody),
    ))]
pub async fn decrypt(
    State(state): State<ApiState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Decrypted>, ApiError> {
    let caller = authorize(&state, &headers, Scope::Decrypt).await?;
    let id = parse_id(id)?;
    let DecryptRequest {} = strict_json(&body?)?;
    let envelopes = sending(&state)?.envelopes().clone();
    let opened = envelopes.open(id).await.map_err(read_error)?;
    let payload: serde_json::Value = serde_json::from_slice(&opened.plaintext).map_err(|e| {
        tracing::warn!(message_id = %id, error = %e, "an opened payload is not JSON");
        ApiError::new(
            StatusCode::CONFLICT,
            "not_json",
            "the payload is not JSON",
            "the sender sealed bytes, not a JSON object",
        )
    })?;
    let access = match opened.opened.access {
        Access::Recipient { .. } => "recipient",
        Access::Grantee { .. } => "grantee",
    };
    // Audited before the plaintext leaves: no audit row, no plaintext.
    let store = state.store();
    let actor = caller.actor();
    let target = id.to_string();
    tokio::task::spawn_blocking(move || {
        store.audit(&actor, "envelope.decrypt", &target, UnixMillis::now())
    })
    .await
    .map_err(|_| ApiError::unavailable("auditing the decryption was interrupted"))?
    .map_err(|e| ApiError::store(&e))?;
    tracing::info!(message_id = %id, actor = %caller.actor(), access, "private message decrypted");
    Ok(Json(Decrypted {
        message_id: id.to_hex(),
        payload,
        access: access.into(),
    }))
}

/// A grant or revocation made through this gateway.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantView {
    /// Its place in this gateway's record.
    pub seq: u64,
    /// `grant` or `revoke`.
    pub kind: String,
    /// The member that signed it (this organisation).
    pub grantor: String,
    /// The member concerned.
    pub grantee: String,
    /// The grant history's chain hash after it (hex).
    pub chain: String,
    /// Who asked.
    pub actor: String,
    /// When (Unix milliseconds).
    pub at_ms: u64,
}

impl From<GrantRecord> for GrantView {
    fn from(g: GrantRecord) -> Self {
        GrantView {
            seq: g.seq,
            kind: g.kind.as_str().into(),
            grantor: g.grantor,
            grantee: g.grantee,
            chain: g.chain.to_hex(),
            actor: g.actor,
            at_ms: g.at.0,
        }
    }
}

/// `GET /v1/envelopes/{id}/grants`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantList {
    /// Oldest first.
    pub grants: Vec<GrantView>,
}

/// The grants and revocations made through this gateway for a message (scope `read`).
#[utoipa::path(get, path = "/v1/envelopes/{id}/grants", tag = "envelopes",
    params(("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The grants", body = GrantList),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
    ))]
pub async fn list_grants(
    State(state): State<ApiState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<GrantList>, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let id = parse_id(id)?;
    let store = state.store();
    let grants = tokio::task::spawn_blocking(move || store.grants(id))
        .await
        .map_err(|_| ApiError::unavailable("the store read was interrupted"))?
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(GrantList {
        grants: grants.into_iter().map(GrantView::from).collect(),
    }))
}

/// `POST /v1/envelopes/{id}/grants`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The member to give access to.
    pub member: String,
}

fn grant_refused(e: &causeway_privacy::Error) -> ApiError {
    if e.is_authentication_failure() {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "not_a_reader",
            format!("this organisation cannot grant access: {e}"),
            "only a reader of the message can grant it onward",
        )
    } else {
        ApiError::new(
            StatusCode::CONFLICT,
            "grant_refused",
            e.to_string(),
            "a member that is already a reader needs no grant; a revoked member cannot be granted again",
        )
    }
}

async fn change_access(
    state: &ApiState,
    headers: &HeaderMap,
    id: MessageId,
    member: String,
    kind: GrantKind,
) -> Result<GrantView, ApiError> {
    let caller = authorize(state, headers, Scope::Decrypt).await?;
    let sending = sending(state)?;
    let directory = std::sync::Arc::clone(sending.envelopes().directory());
    let Some(grantee) = directory.public_key(&member).copied() else {
        return Err(ApiError::bad_request(
            format!("`{member}` is not a member of the consortium"),
            "name a member by its [[members]] name",
        ));
    };
    let store = state.store();
    let actor = caller.actor();
    tokio::task::spawn_blocking(move || {
        let envelope = store
            .envelope(id)
            .map_err(|e| ApiError::store(&e))?
            .ok_or_else(|| {
                ApiError::not_found(
                    format!("this gateway holds no envelope for {id}"),
                    "grant from a gateway whose organisation is a recipient of the message",
                )
            })?;
        let (bytes, record) = match kind {
            GrantKind::Grant => {
                causeway_privacy::grant::grant_to_vec(&envelope.bytes, directory.key(), &grantee)
            }
            _ => causeway_privacy::grant::revoke_to_vec(
                &envelope.bytes,
                directory.key(),
                &grantee.key_id(),
            ),
        }
        .map_err(|e| grant_refused(&e))?;
        store
            .record_grant(&NewGrant {
                message_id: id,
                bytes: &bytes,
                kind,
                grantor: directory.own(),
                grantee: &member,
                chain: record.chain,
                actor: &actor,
                now: UnixMillis::now(),
            })
            .map(GrantView::from)
            .map_err(|e| ApiError::store(&e))
    })
    .await
    .map_err(|_| ApiError::unavailable("the grant was interrupted"))?
}

/// Grants a member access to a private message without re-encrypting it (scope `decrypt`):
/// this organisation signs the grant with its privacy key. Audited.
#[utoipa::path(post, path = "/v1/envelopes/{id}/grants", tag = "envelopes",
    params(("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$")),
    request_body(content = GrantRequest, description = "The member"),
    security(("bearer" = ["decrypt"])),
    responses(
        (status = 201, description = "Granted", body = GrantView),
        (status = 400, description = "Malformed id or body, or not a member", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `decrypt`, or this organisation is not a reader", body = ErrorBody),
        (status = 404, description = "No envelope here", body = ErrorBody),
        (status = 409, description = "Already a reader, or revoked before", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    ))]
pub async fn grant(
    State(state): State<ApiState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<GrantView>), ApiError> {
    let id = parse_id(id)?;
    let GrantRequest { member } = strict_json(&body?)?;
    change_access(&state, &headers, id, member, GrantKind::Grant)
        .await
        .map(|g| (StatusCode::CREATED, Json(g)))
}

/// Revokes a grant this organisation made (scope `decrypt`): the member's gateway is refused
/// from then on. Audited.
#[utoipa::path(delete, path = "/v1/envelopes/{id}/grants/{member}", tag = "envelopes",
    params(
        ("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$"),
        ("member" = String, Path, description = "The member whose grant is revoked"),
    ),
    security(("bearer" = ["decrypt"])),
    responses(
        (status = 200, description = "Revoked", body = GrantView),
        (status = 400, description = "Malformed id, or not a member", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `decrypt`", body = ErrorBody),
        (status = 404, description = "No envelope here", body = ErrorBody),
        (status = 409, description = "No live grant by this organisation to that member", body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<ApiState>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<GrantView>, ApiError> {
    let Path((id, member)) = path?;
    let id = parse_message_id(&id)?;
    change_access(&state, &headers, id, member, GrantKind::Revoke)
        .await
        .map(Json)
}

/// `GET /v1/messages/{id}/disclosure`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureView {
    /// The message id.
    pub message_id: String,
    /// The on-chain commitment (hex).
    pub commitment: String,
    /// The disclosed fields' values, checked against the commitment.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// The disclosure with its proofs (what `causeway verify --disclosure` checks).
    #[schema(value_type = Object)]
    pub disclosure: serde_json::Value,
    /// The key ids of the envelope's recipients (hex), checked against the commitment.
    pub recipients: Vec<String>,
}

/// The fields a private message discloses on chain, with their proofs, checked against the
/// message's commitment here too (no token: what the chain shows anyone).
#[utoipa::path(get, path = "/v1/messages/{id}/disclosure", tag = "envelopes",
    params(("id" = String, Path, description = "The message id: 0x and 64 hex digits", pattern = "^0x[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The disclosed fields", body = DisclosureView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "Unknown message, or it discloses nothing", body = ErrorBody),
        (status = 409, description = "A public message", body = ErrorBody),
    ))]
pub async fn get_disclosure(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<DisclosureView>, ApiError> {
    let id = parse_id(id)?;
    let store = state.store();
    let record = tokio::task::spawn_blocking(move || store.message(id))
        .await
        .map_err(|_| ApiError::unavailable("the store read was interrupted"))?
        .map_err(|e| ApiError::store(&e))?
        .ok_or_else(|| read_error(ReadError::UnknownMessage { id }))?;
    let private = crate::private::body::decode(&record.message)
        .map_err(|e| read_error(ReadError::Body(e)))?;
    let disclosure = crate::private::body::disclosure_of(&private)
        .map_err(|e| read_error(ReadError::Body(e)))?
        .ok_or_else(|| {
            ApiError::not_found(
                format!("message {id} discloses no field"),
                "its sender disclosed nothing",
            )
        })?;
    let fields = disclosure.verify(&private.expected).map_err(|e| {
        ApiError::new(
            StatusCode::CONFLICT,
            "disclosure_invalid",
            format!("the disclosure does not verify: {e}"),
            "the sender's gateway wrote a disclosure that does not match its commitment",
        )
    })?;
    Ok(Json(DisclosureView {
        message_id: id.to_hex(),
        commitment: private.expected.commitment.to_hex(),
        fields: serde_json::to_value(fields).unwrap_or_default(),
        disclosure: serde_json::to_value(&disclosure).unwrap_or_default(),
        recipients: private
            .envelope
            .recipients
            .iter()
            .map(|k| hex::encode(k.0))
            .collect(),
    }))
}
