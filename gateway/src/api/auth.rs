//! Bearer tokens: `cwt_` followed by 32 random bytes in unpadded base64url, shown once by
//! `causeway token create`. The store keeps only their SHA-256 (right for high-entropy
//! secrets: nothing to brute-force, so no slow password hash is needed), with a name, scopes
//! and an optional expiry.
//!
//! Security: the token is looked up by its hash (an index lookup can leak, by timing, how much of
//! a *hash* matched, which reveals nothing about a secret); the stored hash is then compared
//! with the computed one in constant time anyway, so no byte comparison of secret-derived data
//! depends on where they differ. Tokens never reach logs; their secrets are wiped after use.

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use causeway_relayer::store::{Scope, Store, TokenRecord, UnixMillis};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::ApiState;
use super::error::ApiError;

/// The prefix of every token (so secret scanners recognise a leaked one).
pub const TOKEN_PREFIX: &str = "cwt_";

/// A new token's secret (wiped when dropped) and the hash the store keeps.
pub struct NewSecret {
    /// The token as the user gives it (`cwt_…`): show it once, never store it.
    pub token: Zeroizing<String>,
    /// Its SHA-256.
    pub hash: [u8; 32],
}

impl core::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NewSecret(<redacted>)")
    }
}

/// 32 bytes from the operating system's random generator, as a token and its hash.
pub fn new_secret() -> NewSecret {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    let mut token = Zeroizing::new(String::with_capacity(TOKEN_PREFIX.len() + 43));
    token.push_str(TOKEN_PREFIX);
    URL_SAFE_NO_PAD.encode_string(bytes.as_ref(), &mut token);
    NewSecret {
        hash: Sha256::digest(bytes.as_ref()).into(),
        token,
    }
}

/// The hash of a presented token, or `None` if it is not of the token form.
pub fn hash_of(token: &str) -> Option<[u8; 32]> {
    let encoded = token.strip_prefix(TOKEN_PREFIX)?;
    if encoded.len() != 43 {
        return None;
    }
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(encoded).ok()?);
    if bytes.len() != 32 {
        return None;
    }
    Some(Sha256::digest(bytes.as_slice()).into())
}

/// The domain tag of a client certificate's fingerprint, so it can never equal a bearer
/// token's hash (SHA-256 of 32 random bytes).
const CLIENT_CERT_TAG: &[u8] = b"causeway-api-client-certificate-v1\0";

/// The fingerprint the store keeps for a client certificate (`causeway token create
/// --client-cert`): SHA-256 over a domain tag and the certificate's DER. The certificate is
/// named by its exact bytes (one encoding: the DER the client presented in the handshake).
pub fn client_certificate_hash(der: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(CLIENT_CERT_TAG);
    hasher.update(der);
    hasher.finalize().into()
}

tokio::task_local! {
    /// The fingerprint of the client certificate of the connection a request came on, set by
    /// the listener ([`super::server`]) around each request of a TLS connection that presented
    /// one (verified against `[api] client_ca_file` in the handshake).
    pub static CLIENT_CERTIFICATE: Option<[u8; 32]>;
}

/// Who made an authenticated request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token.
    pub token: TokenRecord,
}

impl Caller {
    /// The audit trail's name for this caller: `token:<id>:<name>`.
    pub fn actor(&self) -> String {
        format!("token:{}:{}", self.token.id, self.token.name)
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        message,
        "send `Authorization: Bearer <token>` with a live token (`causeway token create`)",
    )
}

/// Authenticates the request's bearer token, or without one the connection's client
/// certificate, and checks it has `scope`: 401 without either, with a malformed, unknown,
/// expired or revoked token or a certificate no token names; 403 without the scope.
pub async fn authorize(
    state: &ApiState,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<Caller, ApiError> {
    let hash = match headers.get(header::AUTHORIZATION) {
        Some(value) => bearer_hash(value)?,
        None => match CLIENT_CERTIFICATE.try_with(|c| *c).ok().flatten() {
            Some(hash) => hash,
            None => {
                return Err(unauthenticated(
                    "this route needs a bearer token or a client certificate",
                ));
            }
        },
    };
    check(state, hash, scope).await
}

/// What a request presents to authenticate (a bearer token's or a client certificate's hash),
/// read from the request alone: [`Credential::check`] then checks it against the store on the
/// blocking thread a handler reads from anyway (one thread hop per request instead of two).
#[derive(Clone, Copy)]
pub struct Credential([u8; 32]);

impl core::fmt::Debug for Credential {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

impl Credential {
    /// The request's credential: 401 without one, or with a malformed bearer token.
    pub fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        match headers.get(header::AUTHORIZATION) {
            Some(value) => bearer_hash(value).map(Credential),
            None => CLIENT_CERTIFICATE
                .try_with(|c| *c)
                .ok()
                .flatten()
                .map(Credential)
                .ok_or_else(|| {
                    unauthenticated("this route needs a bearer token or a client certificate")
                }),
        }
    }

    /// [`authorize`]'s checks, on the calling (blocking) thread with `store`.
    pub fn check(&self, store: &dyn Store, scope: Scope) -> Result<Caller, ApiError> {
        let found = store
            .token_by_hash(&self.0)
            .map_err(|e| ApiError::store(&e))?;
        self.admit(found, scope)
    }

    /// The hash the store looks the token up by.
    pub fn hash(&self) -> &[u8; 32] {
        &self.0
    }

    /// [`authorize`]'s checks on `found`, the token the store holds for this credential's
    /// hash (read by the caller, e.g. in one transaction with what the request reads).
    pub fn admit(&self, found: Option<TokenRecord>, scope: Scope) -> Result<Caller, ApiError> {
        live(found, &self.0, scope)
    }
}

/// The hash of the `Authorization: Bearer` token `value`.
fn bearer_hash(value: &axum::http::HeaderValue) -> Result<[u8; 32], ApiError> {
    let value = value
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not ASCII"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| unauthenticated("the Authorization header is not `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthenticated(
            "the Authorization header is not `Bearer <token>`",
        ));
    }
    hash_of(token.trim()).ok_or_else(|| unauthenticated("the bearer token is not a Causeway token"))
}

/// The live token whose hash is `hash`, if it has `scope`.
async fn check(state: &ApiState, hash: [u8; 32], scope: Scope) -> Result<Caller, ApiError> {
    let store = state.store();
    let found = tokio::task::spawn_blocking(move || store.token_by_hash(&hash))
        .await
        .map_err(|_| ApiError::unavailable("the token check was interrupted"))?
        .map_err(|e| ApiError::store(&e))?;
    live(found, &hash, scope)
}

/// `found` (the token the store holds for `hash`) when it is that token, live and has `scope`.
fn live(found: Option<TokenRecord>, hash: &[u8; 32], scope: Scope) -> Result<Caller, ApiError> {
    let token = match found {
        Some(t) if bool::from(t.hash.ct_eq(hash)) => t,
        _ => {
            return Err(unauthenticated(
                "the bearer token (or client certificate) is not known",
            ));
        }
    };
    if token.revoked_at.is_some() {
        return Err(unauthenticated("the bearer token was revoked"));
    }
    if !token.is_live(UnixMillis::now()) {
        return Err(unauthenticated("the bearer token has expired"));
    }
    if !token.scopes.contains(&scope) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing_scope",
            format!("this route needs the `{scope}` scope, which the token lacks"),
            format!("use a token created with `--scope {scope}`"),
        ));
    }
    Ok(Caller { token })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_new_token_hashes_to_its_hash_and_nothing_else_does() {
        let s = new_secret();
        assert!(s.token.starts_with(TOKEN_PREFIX));
        assert_eq!(hash_of(&s.token), Some(s.hash));
        let other = new_secret();
        assert_ne!(other.hash, s.hash);
        assert_eq!(hash_of(&s.token[1..]), None);
        assert_eq!(hash_of(&format!("{}A", &*s.token)), None);
        assert_eq!(hash_of("cwt_"), None);
        assert_eq!(hash_of(&format!("{TOKEN_PREFIX}{}", "!".repeat(43))), None);
        assert!(!format!("{s:?}").contains(&s.token[4..]));
    }
}
