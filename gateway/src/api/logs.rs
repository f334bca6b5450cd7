//! `GET /v1/logs/{origin}/consistency`: an RFC 9162 consistency proof between two sizes of an
//! origin's SHA-256 log, in the format `causeway verify --anchored --consistency FILE` reads
//! (`causeway-anchor-consistency/1`, [`crate::anchor::consistency`]), so a verifier holding a
//! bundle whose checkpoint is older (or newer) than the anchored one asks any member for the
//! link instead of needing a copy of its store.
//!
//! Built from the running pipeline's in-memory log (the one this gateway signs roots of and
//! anchors from): no store read, a few dozen hashes per proof. Like the file, the answer is
//! untrusted: the verifier checks it against the bundle's signed root and the root it reads
//! from the Anchor, so a wrong proof can only fail.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use causeway_proofs::{Domain, HashAlgorithm, LogSize};
use causeway_relayer::store::Scope;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::authorize;
use super::error::{ApiError, ErrorBody};
use crate::anchor::consistency::FORMAT;

/// The sizes to link.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The older size (at least 1): a bundle's checkpoint size, or an anchored size.
    #[param(minimum = 1)]
    pub from: u64,
    /// The newer size (at least `from`); absent: the log's size now.
    #[param(minimum = 1)]
    pub to: Option<u64>,
}

/// The RFC 9162 proof itself.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProofView {
    /// The older size.
    pub old_size: u64,
    /// The newer size.
    pub new_size: u64,
    /// The proof's nodes (SHA-256, `0x` and 64 hex digits each).
    pub path: Vec<String>,
}

/// A consistency proof between two sizes of an origin's SHA-256 log: the JSON
/// `causeway verify --anchored --consistency FILE` reads.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyView {
    /// Always `causeway-anchor-consistency/1`.
    pub format: String,
    /// The origin whose log it is.
    pub origin: u32,
    /// The proof.
    pub proof: ConsistencyProofView,
}

fn bad_sizes(message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_query",
        message,
        "give 1 <= from <= to (sizes of the origin's log, in leaves)",
    )
}

/// A consistency proof between two sizes of an origin's SHA-256 log (the log anchored on the
/// public chain), for `causeway verify --anchored --consistency`.
#[utoipa::path(get, path = "/v1/logs/{origin}/consistency", tag = "logs",
    params(
        ("origin" = u32, Path, description = "The origin chain's domain"),
        ConsistencyParams,
    ),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The proof", body = ConsistencyView),
        (status = 400, description = "Malformed origin or sizes", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
        (status = 404, description = "No SHA-256 log of that origin here, or the log is shorter than `to`", body = ErrorBody),
    ))]
pub async fn consistency(
    State(state): State<ApiState>,
    headers: HeaderMap,
    origin: Result<Path<u32>, PathRejection>,
    params: Result<Query<ConsistencyParams>, QueryRejection>,
) -> Result<Json<ConsistencyView>, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let Path(origin) = origin?;
    let Query(p) = params?;
    let origin = Domain(origin);
    let no_log = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "log_not_kept",
            format!("this gateway keeps no SHA-256 log of origin {origin}"),
            "ask a member whose lanes or anchorings have this origin (anchored origins always \
             keep one)",
        )
    };
    let logs = state.context().logs.as_ref().ok_or_else(no_log)?;
    let size = logs.size(origin).ok_or_else(no_log)?;
    let to = p.to.unwrap_or(size.0);
    if p.from == 0 {
        return Err(bad_sizes("`from` is 0".to_owned()));
    }
    if p.from > to {
        return Err(bad_sizes(format!(
            "`from` ({}) is above `to` ({to})",
            p.from
        )));
    }
    if to > size.0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "size_not_reached",
            format!(
                "origin {origin}'s log here has {} leaves, fewer than {to}",
                size.0
            ),
            "ask again later, or ask a member whose log is longer",
        ));
    }
    // Only SHA-256: the Anchor holds SHA-256 roots (a log kept under another hash alone is
    // "not kept" here).
    let proof = logs
        .consistency_proof(origin, HashAlgorithm::Sha256, LogSize(p.from), LogSize(to))
        .map_err(|e| {
            tracing::debug!(%origin, error = %e, "no consistency proof");
            no_log()
        })?;
    Ok(Json(ConsistencyView {
        format: FORMAT.to_owned(),
        origin: origin.0,
        proof: ConsistencyProofView {
            old_size: proof.old_size.0,
            new_size: proof.new_size.0,
            path: proof.path.iter().map(|h| h.to_string()).collect(),
        },
    }))
}
