//! The JSON-RPC connection shared by the EVM source, destination and state reader: an alloy
//! HTTP provider with a request timeout, retries of retryable failures, and the translation of
//! alloy's transport errors into this crate's [`Error`].

use core::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alloy::providers::RootProvider;
use alloy::rpc::client::RpcClient;
use alloy::transports::http::reqwest;
use alloy::transports::{RpcError, TransportError, TransportErrorKind};

use crate::error::redact_endpoint;
use crate::metrics::ChainMetrics;
use crate::retry::{RetryPolicy, retry};
use crate::{Error, RevertReason};

use super::bindings::decode_revert;

/// Connection settings of one EVM node. Its `Debug` shows the URL without credentials, path or
/// query (see [`redact_endpoint`]).
#[derive(Clone, PartialEq, Eq)]
pub struct RpcConfig {
    /// The node's HTTP(S) JSON-RPC URL (may carry an API key; it is never logged).
    pub url: String,
    /// Further nodes of the same chain, tried in turn when the current one fails with a
    /// transport error, a timeout, a rate limit or a server-side error (see [`Rpc::once`]).
    pub fallbacks: Vec<String>,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Retries of retryable failures.
    pub retry: RetryPolicy,
    /// Where every request is counted (share one per chain; a fresh one by default).
    pub metrics: ChainMetrics,
}

impl RpcConfig {
    /// `url` with a 30 s timeout and the default retry policy.
    pub fn new(url: impl Into<String>) -> Self {
        RpcConfig {
            url: url.into(),
            fallbacks: Vec::new(),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            metrics: ChainMetrics::default(),
        }
    }
}

impl core::fmt::Debug for RpcConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RpcConfig")
            .field("url", &redact_endpoint(&self.url))
            .field(
                "fallbacks",
                &self
                    .fallbacks
                    .iter()
                    .map(|u| redact_endpoint(u))
                    .collect::<Vec<_>>(),
            )
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// An HTTP JSON-RPC connection to one of a chain's nodes (cheap to clone: the clones share the
/// providers and which node is current).
#[derive(Clone, Debug)]
pub(crate) struct Rpc {
    /// Every configured node: its provider and its endpoint without credentials.
    nodes: Arc<[(RootProvider, String)]>,
    /// The index in `nodes` requests go to.
    current: Arc<AtomicUsize>,
    /// When [`Rpc::probe_head`] last asked for the head (milliseconds since this connection's
    /// start, plus one; 0: never).
    head_probed: Arc<std::sync::atomic::AtomicU64>,
    /// This connection's start, the base of `head_probed`.
    started: std::time::Instant,
    timeout: Duration,
    policy: RetryPolicy,
    metrics: ChainMetrics,
}

impl Rpc {
    /// Connects (lazily: nothing is sent until the first call).
    pub(crate) fn connect(config: &RpcConfig) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| Error::Config {
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        let nodes = std::iter::once(&config.url)
            .chain(&config.fallbacks)
            .map(|raw| {
                let endpoint = redact_endpoint(raw);
                let url: reqwest::Url = raw.parse().map_err(|e| Error::Config {
                    reason: format!("RPC URL {endpoint} is invalid: {e}"),
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(Error::Config {
                        reason: format!("RPC URL {endpoint} must be http or https"),
                    });
                }
                let provider =
                    RootProvider::new(RpcClient::new_http_with_client(client.clone(), url));
                Ok((provider, endpoint))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Rpc {
            nodes: nodes.into(),
            current: Arc::new(AtomicUsize::new(0)),
            head_probed: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            started: std::time::Instant::now(),
            timeout: config.request_timeout,
            policy: config.retry,
            metrics: config.metrics.clone(),
        })
    }

    /// Reads the chain's head for [`ChainMetrics`] when the finality rule does not (the
    /// `finalized` tag), at most once per [`HEAD_PROBE_EVERY`]: one `eth_blockNumber` that
    /// only the metrics use, so its failure is only counted, never returned.
    pub(crate) async fn probe_head(&self) {
        use alloy::providers::Provider;
        let now = u64::try_from(self.started.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let last = self.head_probed.load(Ordering::Relaxed);
        let every = u64::try_from(HEAD_PROBE_EVERY.as_millis()).unwrap_or(u64::MAX);
        if last != 0 && now.saturating_sub(last) < every {
            return;
        }
        if self
            .head_probed
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        if let Ok(head) = self
            .once(
                "eth_blockNumber",
                |p| async move { p.get_block_number().await },
            )
            .await
        {
            self.metrics.head(head);
        }
    }

    /// The current node's endpoint without credentials.
    pub(crate) fn endpoint(&self) -> &str {
        &self.nodes[self.current.load(Ordering::Relaxed) % self.nodes.len()].1
    }

    /// The retry policy.
    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Where this connection's requests are counted.
    pub(crate) fn metrics(&self) -> &ChainMetrics {
        &self.metrics
    }

    /// One request to the current node, no retry, with the timeout and error translation;
    /// counted in [`ChainMetrics`] (every request of the EVM adapters passes here). When the
    /// node fails in a way another node may not (unreachable, timed out, rate-limited, a
    /// server-side error) and the chain has further nodes, the next request goes to the next
    /// one, so the retries of [`Rpc::call`] move across the chain's nodes.
    pub(crate) async fn once<T, F, Fut>(&self, method: &'static str, f: F) -> Result<T, Error>
    where
        F: FnOnce(RootProvider) -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let at = self.current.load(Ordering::Relaxed) % self.nodes.len();
        let (provider, endpoint) = &self.nodes[at];
        // The reqwest client has the same timeout; this one also bounds alloy's own work.
        let slack = Duration::from_secs(1);
        let started = std::time::Instant::now();
        let out = match tokio::time::timeout(self.timeout + slack, f(provider.clone())).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(endpoint, method, e)),
            Err(_) => Err(Error::Timeout {
                endpoint: endpoint.clone(),
                method,
            }),
        };
        // A revert is the node answering correctly about a contract, not a failed request.
        let failed = matches!(&out, Err(e) if !matches!(e, Error::Reverted { .. }));
        self.metrics.request(method, started.elapsed(), failed);
        if let Err(e) = &out
            && self.nodes.len() > 1
            && node_failure(e)
        {
            let next = (at + 1) % self.nodes.len();
            // Only the first of concurrent failures on this node moves the others on.
            if self
                .current
                .compare_exchange(at, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                tracing::warn!(
                    failed = %endpoint, next = %self.nodes[next].1, method, error = %e,
                    "node failed; the chain's next endpoint takes the requests"
                );
            }
        }
        out
    }

    /// A request retried with backoff while it fails with a retryable error.
    pub(crate) async fn call<T, F, Fut>(&self, method: &'static str, f: F) -> Result<T, Error>
    where
        F: Fn(RootProvider) -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        retry(&self.policy, method, || self.once(method, &f)).await
    }
}

/// How often a chain final under the `finalized` tag has its head read for the metrics.
pub(crate) const HEAD_PROBE_EVERY: Duration = Duration::from_secs(10);

/// Whether `e` is the node's failure rather than an answer about the request: another node
/// of the chain may serve it.
fn node_failure(e: &Error) -> bool {
    matches!(
        e,
        Error::RpcUnavailable { .. } | Error::Timeout { .. } | Error::RateLimited { .. }
    ) || matches!(e, Error::Rpc { code, .. } if crate::error::is_server_side_code(*code))
}

/// Translates an alloy transport error for `method` into an [`Error`].
pub(crate) fn classify(endpoint: &str, method: &'static str, error: TransportError) -> Error {
    let endpoint = endpoint.to_owned();
    match error {
        RpcError::ErrorResp(payload) => {
            let message = payload.message.to_string();
            let lower = message.to_ascii_lowercase();
            if let Some(data) = payload.as_revert_data() {
                return Error::Reverted {
                    reason: decode_revert(&data),
                };
            }
            if payload.code == 429
                || lower.contains("rate limit")
                || lower.contains("too many requests")
                || lower.contains("exceeded the quota")
            {
                return Error::RateLimited {
                    endpoint,
                    retry_after: None,
                };
            }
            if method == "eth_getLogs" && is_range_error(&lower) {
                return Error::RangeTooLarge {
                    from: 0,
                    to: 0,
                    suggested: suggested_range(&message),
                    message,
                };
            }
            if lower.contains("execution reverted") {
                // ASCII lowercasing keeps byte offsets, so the original text can be sliced.
                const PREFIX: &str = "execution reverted: ";
                let text = lower
                    .find(PREFIX)
                    .map(|at| &message[at + PREFIX.len()..])
                    .filter(|t| !t.is_empty());
                return Error::Reverted {
                    reason: match text {
                        Some(text) => RevertReason::Message {
                            message: text.to_owned(),
                        },
                        None => RevertReason::Unknown { data: "0x".into() },
                    },
                };
            }
            Error::Rpc {
                endpoint,
                method,
                code: payload.code,
                message,
            }
        }
        RpcError::Transport(kind) => match kind {
            TransportErrorKind::HttpError(http) if http.is_rate_limit_err() => Error::RateLimited {
                endpoint,
                retry_after: None,
            },
            TransportErrorKind::Custom(source) if is_timeout(source.as_ref()) => {
                Error::Timeout { endpoint, method }
            }
            TransportErrorKind::Custom(source) => Error::RpcUnavailable { endpoint, source },
            other => Error::RpcUnavailable {
                endpoint,
                source: Box::new(other),
            },
        },
        RpcError::NullResp => Error::MissingData {
            what: format!("result for {method}"),
        },
        // A body that is not JSON-RPC: a proxy's error page or a truncated reply.
        e @ RpcError::DeserError { .. } => Error::RpcUnavailable {
            endpoint,
            source: Box::new(e),
        },
        other => Error::Rpc {
            endpoint,
            method,
            code: 0,
            message: other.to_string(),
        },
    }
}

/// Whether a node's message for a log query means "ask for fewer blocks or fewer results".
/// Covers geth, Erigon, Nethermind, Besu and the hosted providers' wordings.
pub(crate) fn is_range_error(lower: &str) -> bool {
    const PATTERNS: &[&str] = &[
        "block range",
        "range too large",
        "range is too large",
        "too many blocks",
        "query returned more than",
        "more than 10000 results",
        "too many results",
        "response size exceeded",
        "response size should not",
        "log response size",
        "limit exceeded",
        "exceed maximum",
        "query timeout",
        "request timed out",
        "logs are limited",
    ];
    PATTERNS.iter().any(|p| lower.contains(p))
}

/// The block count a node suggests in its refusal, from `[0xFROM, 0xTO]` (Infura, Alchemy) or
/// `block range: N` / `block range of N` (geth-like proxies).
pub(crate) fn suggested_range(message: &str) -> Option<u64> {
    if let Some(open) = message.find('[') {
        let rest = &message[open + 1..];
        if let Some(close) = rest.find(']') {
            let mut parts = rest[..close].split(',').map(str::trim);
            if let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) {
                let parse = |s: &str| {
                    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
                    u64::from_str_radix(digits, 16).ok()
                };
                if let (Some(a), Some(b)) = (parse(a), parse(b))
                    && b >= a
                {
                    return Some(b - a + 1);
                }
            }
        }
    }
    let lower = message.to_ascii_lowercase();
    let at = lower.find("block range")?;
    let digits: String = lower[at + "block range".len()..]
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|n| *n > 0)
}

/// Whether a client error (or one of its causes) is a timeout.
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(r) = e.downcast_ref::<reqwest::Error>()
            && r.is_timeout()
        {
            return true;
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("timed out") || text.contains("timeout") {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use alloy::sol_types::SolError;

    use super::*;
    use crate::evm::bindings::CausewayErrors;

    fn resp(code: i64, message: &str, data: Option<&str>) -> TransportError {
        let mut payload = serde_json::json!({ "code": code, "message": message });
        if let Some(d) = data {
            payload["data"] = serde_json::from_str(d).expect("valid JSON");
        }
        RpcError::ErrorResp(serde_json::from_value(payload).expect("an error payload"))
    }

    #[test]
    fn log_range_refusals_become_range_too_large() {
        let cases = [
            (
                -32005,
                "query returned more than 10000 results. Try with this block range [0x10, 0x2F].",
                Some(32),
            ),
            (-32602, "exceed maximum block range: 5000", Some(5000)),
            (
                -32000,
                "Log response size exceeded. this block range should work: [0x1, 0x1]",
                Some(1),
            ),
            (-32000, "block range too large", None),
            (-32000, "eth_getLogs block range is too large", None),
        ];
        for (code, msg, suggested) in cases {
            match classify("http://n", "eth_getLogs", resp(code, msg, None)) {
                Error::RangeTooLarge {
                    suggested: s,
                    message,
                    ..
                } => {
                    assert_eq!(s, suggested, "{msg}");
                    assert_eq!(message, msg);
                }
                other => panic!("{msg}: {other:?}"),
            }
        }
        // The same words from another method are not a range problem.
        assert!(matches!(
            classify(
                "http://n",
                "eth_call",
                resp(-32000, "block range too large", None)
            ),
            Error::Rpc { .. }
        ));
    }

    #[test]
    fn rate_limits_and_http_errors() {
        assert!(matches!(
            classify(
                "http://n",
                "eth_getLogs",
                resp(429, "Too Many Requests", None)
            ),
            Error::RateLimited { .. }
        ));
        assert!(matches!(
            classify(
                "http://n",
                "eth_blockNumber",
                resp(-32005, "daily request rate limit reached", None)
            ),
            Error::RateLimited { .. }
        ));
        let e = classify(
            "http://n",
            "eth_blockNumber",
            TransportErrorKind::http_error(429, "slow down".into()),
        );
        assert!(matches!(e, Error::RateLimited { .. }));
        assert!(e.is_retryable());
        let e = classify(
            "http://n",
            "eth_blockNumber",
            TransportErrorKind::http_error(502, "bad gateway".into()),
        );
        assert!(matches!(e, Error::RpcUnavailable { .. }));
        assert!(e.is_retryable());
        let e = classify(
            "http://n",
            "eth_blockNumber",
            TransportErrorKind::custom_str("operation timed out"),
        );
        assert!(matches!(e, Error::Timeout { .. }));
        assert!(matches!(
            classify("http://n", "eth_getBlockByNumber", RpcError::NullResp),
            Error::MissingData { .. }
        ));
    }

    #[test]
    fn reverts_are_decoded_from_error_data() {
        let data = CausewayErrors::InvalidProof {}.abi_encode();
        let json = format!("\"0x{}\"", hex::encode(&data));
        let e = classify(
            "http://n",
            "eth_estimateGas",
            resp(3, "execution reverted", Some(&json)),
        );
        assert!(
            matches!(
                e,
                Error::Reverted {
                    reason: RevertReason::InvalidProof
                }
            ),
            "{e:?}"
        );
        assert!(!e.is_retryable());
        let e = classify(
            "http://n",
            "eth_estimateGas",
            resp(-32000, "execution reverted: nope", None),
        );
        assert!(matches!(
            e,
            Error::Reverted {
                reason: RevertReason::Message { .. }
            }
        ));
    }

    #[test]
    fn config_debug_hides_the_api_key() {
        let c = RpcConfig::new("https://mainnet.example.com/v3/SECRETKEY");
        let shown = format!("{c:?}");
        assert!(shown.contains("https://mainnet.example.com"), "{shown}");
        assert!(!shown.contains("SECRETKEY"), "{shown}");
    }

    #[test]
    fn suggested_ranges() {
        assert_eq!(suggested_range("Try [0x0, 0x0]"), Some(1));
        assert_eq!(suggested_range("Try [0x5, 0x4]"), None);
        assert_eq!(suggested_range("block range of 2000 exceeded"), Some(2000));
        assert_eq!(suggested_range("nothing here"), None);
    }
}
