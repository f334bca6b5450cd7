//! `POST /v1/queries`: a cross-ledger query with proof (see [`crate::query`]): one value of a
//! chain's state with the chain's proof of it, read by this gateway or, for a chain it does not
//! serve, forwarded to the member that serves it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use causeway_peer::ForwardedQuery;
use causeway_proofs::Domain;
use causeway_relayer::store::Scope;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiState;
use super::auth::authorize;
use super::error::{ApiError, ErrorBody, strict_json};
use crate::query::{QueryAnswer, QueryError, QueryKind};

/// The longest key accepted, in bytes (a Fabric call's JSON; an EVM slot is 32).
pub const MAX_KEY_LEN: usize = 4 * 1024;

/// A query: which chain, contract and key, at which block.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// The chain's consortium domain (any member's chain: one this gateway does not serve is
    /// forwarded to the member that serves it).
    pub domain: u32,
    /// EVM and FISCO BCOS: the contract's `0x` address; Fabric: `"<channel>/<chaincode>"`.
    pub contract: String,
    /// `0x` hex: EVM, the 32-byte storage slot (kind `storage`) or the call data (kind `call`);
    /// FISCO BCOS, the call data; Fabric, the UTF-8 JSON array `[function, args...]`.
    pub key: String,
    /// The block height to read at (EVM only); absent: the latest final block.
    #[serde(default)]
    pub height: Option<u64>,
    /// What the key is: `storage` (the default; EVM, a 32-byte slot) or `call` (EVM, a contract
    /// call's data, answered with the call re-executed over proven state).
    #[serde(default)]
    pub kind: QueryKind,
}

/// Reads one value of a chain's state with the chain's proof: an EVM storage slot with its
/// `eth_getProof` account and storage proofs against a final block, an EVM contract call
/// re-executed over the proven accounts, slots and code it reads, a Fabric evaluation with
/// its endorsements, a FISCO BCOS view call (unproven). `causeway verify --query FILE` checks
/// the answer offline.
#[utoipa::path(post, path = "/v1/queries", tag = "queries",
    request_body(content = QueryRequest, description = "The chain, contract and key"),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The value with its proof", body = QueryAnswer),
        (status = 400, description = "Malformed query (nothing read)", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "The token lacks `read`", body = ErrorBody),
        (status = 404, description = "No gateway of the consortium serves that chain", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "The chain refused the read (a call that reverts or halts, an unknown block)", body = ErrorBody),
        (status = 502, description = "The answer did not verify", body = ErrorBody),
        (status = 503, description = "The chain or the member serving it cannot answer now", body = ErrorBody),
    ))]
pub async fn query(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<QueryAnswer>, ApiError> {
    authorize(&state, &headers, Scope::Read).await?;
    let request: QueryRequest = strict_json(&body?)?;
    let key = request
        .key
        .strip_prefix("0x")
        .and_then(|digits| hex::decode(digits).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "key is not 0x-prefixed hex",
                "give the key as 0x hex (an EVM slot is 32 bytes; a Fabric call is the hex of \
                 its JSON array)",
            )
        })?;
    if key.len() > MAX_KEY_LEN {
        return Err(ApiError::bad_request(
            format!("the key is {} bytes, more than {MAX_KEY_LEN}", key.len()),
            "query with a shorter key",
        ));
    }
    if request.contract.is_empty() || request.contract.len() > 512 {
        return Err(ApiError::bad_request(
            "contract is empty or longer than 512 characters",
            "give the contract's address, or \"<channel>/<chaincode>\" for Fabric",
        ));
    }
    let query = ForwardedQuery {
        domain: Domain(request.domain),
        contract: request.contract,
        key,
        height: request.height,
        kind: request.kind.into(),
    };
    let Some(queries) = state.context().queries.clone() else {
        return Err(not_served(&QueryError::NotServed {
            domain: query.domain,
            tried: Vec::new(),
        }));
    };
    match queries.answer(&query).await {
        Ok(answer) => Ok(Json(answer)),
        Err(e) => Err(match &e {
            QueryError::NotServed { .. } => not_served(&e),
            QueryError::Invalid { .. } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                e.to_string(),
                "EVM: a 0x contract address and a 32-byte slot, or call data with kind \"call\"; \
                 Fabric: \
                 \"<channel>/<chaincode>\" and the hex of a JSON array [function, args...]; \
                 FISCO BCOS: an address and call data",
            ),
            QueryError::Refused { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "query_refused",
                e.to_string(),
                "check the contract, the key and the height (a final block the chain has)",
            ),
            QueryError::BadAnswer { .. } => {
                tracing::warn!(error = %e, "a forwarded query's answer was refused");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "answer_refused",
                    e.to_string(),
                    "the member serving the chain answered wrongly: tell its operator",
                )
            }
            _ => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                e.to_string(),
                "retry in a moment; if it persists, check the chain's nodes and /readyz",
            ),
        }),
    }
}

fn not_served(e: &QueryError) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "chain_not_served",
        e.to_string(),
        "name the chain by the domain in the consortium's configuration; a chain no member \
         serves cannot be queried",
    )
}
