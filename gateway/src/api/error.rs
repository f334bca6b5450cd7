//! The API's one error shape, `{code, message, hint}`, and the mapping of every refusal to it:
//! the caller's mistakes are 4xx with a stable `code`; the gateway's own trouble (the store
//! busy or failing) is 503 with a hint to retry, never a bare 500. Axum's plain-text rejections
//! (a bad path, query or body) are turned into the same shape here, once, at the edge.

use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Every error the API returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable machine-readable code (e.g. `unauthenticated`, `not_found`, `bad_request`).
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// An error response: a status and its [`ErrorBody`].
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with `status`, `code`, `message` and `hint`.
    pub fn new(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                hint: hint.into(),
            },
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message, hint)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message, hint)
    }

    /// 503 `unavailable`: the gateway cannot answer now (its store is busy or failing).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            message,
            "retry in a moment; if it persists, check the gateway's log and /readyz",
        )
    }

    /// The store failed: logged here with its cause, answered as 503 without internals.
    pub fn store(err: &causeway_relayer::Error) -> Self {
        tracing::warn!(error = %err, "the API could not read the store");
        match err {
            causeway_relayer::Error::Busy { .. } => Self::unavailable("the store is busy"),
            _ => Self::unavailable("the store could not answer"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(
            format!("the path is malformed: {}", r.body_text()),
            "see /v1/openapi.json for the route's parameters",
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("the query string is not accepted: {}", r.body_text()),
            "use only the documented query parameters, with values of their types (see /v1/openapi.json)",
        )
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body exceeds {} bytes", super::MAX_BODY),
                "send a smaller body",
            )
        } else {
            ApiError::bad_request(
                format!("the request body could not be read: {}", r.body_text()),
                "send the whole body with a correct Content-Length",
            )
        }
    }
}

/// The fallback for unknown paths: 404 JSON.
pub async fn route_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "no such route",
        "see /v1/openapi.json for the routes this gateway serves",
    )
}

/// The fallback for a known path with another method: 405 JSON.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
        "see /v1/openapi.json for the methods each route accepts",
    )
}

/// Parses a strict JSON body: empty means `{}`; unknown fields, trailing data and wrong types
/// are 400 `bad_json` (the target type has `deny_unknown_fields`).
pub fn strict_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the JSON body is not accepted: {e}"),
            "send a JSON object with only the documented fields (see /v1/openapi.json)",
        )
    })
}
