//! A client of a FISCO BCOS 3.x group's JSON-RPC over HTTP (or HTTPS: the node's `[rpc]
//! disable_ssl=false` with an ordinary TLS certificate): positional parameters starting with
//! the group and node name, FISCO BCOS's result shapes (`causeway_proofs::fisco::json`).
//!
//! It holds every configured endpoint of the group and fails over between them: a request
//! that cannot reach a node, times out (a node that stalls), is rate limited or meets a server
//! error goes to the next endpoint, and the endpoint that answered is used first from then on.
//! A `sendTransaction` moves on only when the connection could not be made (a request that
//! reached a node may have entered its pool, and the destination's block limit decides its
//! fate). Every request is counted in the chain's [`ChainMetrics`], like the EVM adapter's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alloy::transports::http::reqwest::{Client, StatusCode};
use causeway_proofs::fisco::json::{BlockJson, ReceiptJson, TransactionJson};
use causeway_proofs::{EvmAddress, Hash32};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::Error;
use crate::error::redact_endpoint;
use crate::metrics::ChainMetrics;

/// Longest a `sendTransaction` may take (it waits for the block that commits it).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest any other request may take before the next endpoint is asked: a node that accepts
/// connections and stalls must not hold the source for a minute.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest reply read from a node: a block of 1,000 full transactions fits many times over.
const MAX_REPLY_BYTES: usize = 64 << 20;

alloy::sol! {
    /// What `FiscoOutbox` adds to the Outbox: the ids it emitted, in storage. Function
    /// selectors are Keccak-256 in both crypto modes (the contracts are compiled once).
    interface IFiscoOutbox {
        function dispatched(bytes32 id) external view returns (bool);
    }
}

/// The nodes of one group, asked in turn.
#[derive(Clone)]
pub struct FiscoRpc {
    client: Client,
    /// The URLs as configured (may carry credentials: only `shown` appears in errors and logs).
    endpoints: Arc<[String]>,
    shown: Arc<[String]>,
    /// The endpoint asked first (the last one that answered).
    current: Arc<AtomicUsize>,
    group: String,
    node: String,
    read_timeout: Duration,
    metrics: ChainMetrics,
}

impl std::fmt::Debug for FiscoRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiscoRpc")
            .field("endpoints", &self.shown)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// A `call` result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallResult {
    /// 0 on success, 16 on revert.
    pub status: i64,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// The block the call ran at, when the node says (`blockNumber`).
    pub block_number: Option<u64>,
}

/// How one attempt at one endpoint failed.
enum Attempt {
    /// The next endpoint may answer (unreachable, stalled, rate limited, server error).
    Next(Error),
    /// The answer is final (the node answered; another would answer alike).
    Final(Error),
}

impl FiscoRpc {
    /// A client of `endpoint` (`http://` or `https://`) for `group`, letting the RPC pick the
    /// node (`""`).
    pub fn new(endpoint: impl Into<String>, group: impl Into<String>) -> Result<Self, Error> {
        Self::with_endpoints(vec![endpoint.into()], group)
    }

    /// A client of the group's nodes at `endpoints`, asked in turn (see the module's docs).
    /// Fails with [`Error::Config`] for an empty list or an endpoint that is not an http or
    /// https URL.
    pub fn with_endpoints(endpoints: Vec<String>, group: impl Into<String>) -> Result<Self, Error> {
        if endpoints.is_empty() {
            return Err(Error::Config {
                reason: "a FISCO BCOS chain needs at least one endpoint (its nodes' JSON-RPC \
                         URLs, http://HOST:20200)"
                    .into(),
            });
        }
        let mut shown = Vec::with_capacity(endpoints.len());
        for url in &endpoints {
            let redacted = redact_endpoint(url);
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Config {
                    reason: format!(
                        "FISCO BCOS endpoint {redacted} must be an http:// or https:// URL"
                    ),
                });
            }
            shown.push(redacted);
        }
        let client = Client::builder()
            .timeout(SEND_TIMEOUT)
            .build()
            .map_err(|e| Error::Config {
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(FiscoRpc {
            client,
            endpoints: endpoints.into(),
            shown: shown.into(),
            current: Arc::new(AtomicUsize::new(0)),
            group: group.into(),
            node: String::new(),
            read_timeout: READ_TIMEOUT,
            metrics: ChainMetrics::default(),
        })
    }

    /// The same client counting its requests in `metrics` (share the chain's).
    pub fn with_metrics(mut self, metrics: ChainMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The same client giving up on a node after `timeout` for requests other than
    /// `sendTransaction` (default [`READ_TIMEOUT`]).
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Where this client's requests are counted.
    pub fn metrics(&self) -> &ChainMetrics {
        &self.metrics
    }

    /// The endpoint asked first, without credentials.
    pub fn endpoint(&self) -> &str {
        let at = self.current.load(Ordering::Relaxed) % self.shown.len();
        &self.shown[at]
    }

    /// Calls `method` with `[group, node, …rest]` and decodes the result.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        rest: Vec<Value>,
    ) -> Result<T, Error> {
        let mut params = vec![json!(self.group), json!(self.node)];
        params.extend(rest);
        self.call_with(method, params).await
    }

    /// Calls `method` with exactly `params` on the endpoints in turn, from the last one that
    /// answered; decodes the result.
    async fn call_with<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Vec<Value>,
    ) -> Result<T, Error> {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        let n = self.endpoints.len();
        let first = self.current.load(Ordering::Relaxed) % n;
        let mut last = None;
        for step in 0..n {
            let at = (first + step) % n;
            let started = Instant::now();
            let attempt = self.once(at, method, &body).await;
            let failed = matches!(&attempt, Err(Attempt::Next(_)));
            self.metrics.request(method, started.elapsed(), failed);
            match attempt {
                Ok(reply) => {
                    if at != first {
                        self.current.store(at, Ordering::Relaxed);
                        tracing::warn!(
                            group = %self.group,
                            from = %self.shown[first],
                            to = %self.shown[at],
                            method,
                            "FISCO BCOS endpoint failover: the node answered, asked first from now on"
                        );
                    }
                    return serde_json::from_value(reply).map_err(|e| Error::Decode {
                        what: method,
                        reason: e.to_string(),
                    });
                }
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::Next(e)) => {
                    if n > 1 {
                        tracing::warn!(
                            group = %self.group,
                            endpoint = %self.shown[at],
                            method,
                            error = %e,
                            "FISCO BCOS endpoint failed; asking the next"
                        );
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Config {
            reason: "a FISCO BCOS chain needs at least one endpoint".into(),
        }))
    }

    /// One request to endpoint `at`: the JSON-RPC `result`, or how it failed.
    async fn once(&self, at: usize, method: &'static str, body: &Value) -> Result<Value, Attempt> {
        let endpoint = &self.shown[at];
        let send = method == "sendTransaction";
        let timeout = if send {
            SEND_TIMEOUT
        } else {
            self.read_timeout
        };
        let unavailable = |e: alloy::transports::http::reqwest::Error| {
            let connect = e.is_connect();
            let error = if e.is_timeout() {
                Error::Timeout {
                    endpoint: endpoint.clone(),
                    method,
                }
            } else {
                Error::RpcUnavailable {
                    endpoint: endpoint.clone(),
                    source: Box::new(e.without_url()),
                }
            };
            (error, connect)
        };
        let classify = |(error, connect): (Error, bool)| {
            // A transaction that reached a node may be in its pool: never sent twice.
            if send && !connect {
                Attempt::Final(error)
            } else {
                Attempt::Next(error)
            }
        };
        let response = self
            .client
            .post(self.endpoints[at].as_str())
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| classify(unavailable(e)))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Refused before anything was done: safe to ask another node, a send included.
            return Err(classify((
                Error::RateLimited {
                    endpoint: endpoint.clone(),
                    retry_after: None,
                },
                true,
            )));
        }
        if status.is_server_error() {
            // The request reached something: a transaction may be in a pool (not sent again).
            return Err(classify((
                Error::Rpc {
                    endpoint: endpoint.clone(),
                    method,
                    code: -32603,
                    message: format!("HTTP {status}"),
                },
                false,
            )));
        }
        let too_large = || Error::MissingData {
            what: format!("{method} reply under {MAX_REPLY_BYTES} bytes"),
        };
        if response.content_length().unwrap_or(0) > MAX_REPLY_BYTES as u64 {
            return Err(Attempt::Final(too_large()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| classify(unavailable(e)))?;
        if bytes.len() > MAX_REPLY_BYTES {
            return Err(Attempt::Final(too_large()));
        }
        let reply: Value = serde_json::from_slice(&bytes).map_err(|e| {
            // Not JSON-RPC: a proxy's error page, a node restarting. Another node may answer.
            Attempt::Next(Error::Decode {
                what: "JSON-RPC reply",
                reason: format!("from {endpoint}: {e}"),
            })
        })?;
        if let Some(err) = reply.get("error").filter(|e| !e.is_null()) {
            return Err(Attempt::Final(Error::Rpc {
                endpoint: endpoint.clone(),
                method,
                code: err.get("code").and_then(Value::as_i64).unwrap_or(-1),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }));
        }
        Ok(reply.get("result").cloned().unwrap_or(Value::Null))
    }

    /// The head block number (every committed block is final: PBFT).
    pub async fn block_number(&self) -> Result<u64, Error> {
        let n: i64 = self.call("getBlockNumber", vec![]).await?;
        u64::try_from(n).map_err(|_| Error::Decode {
            what: "getBlockNumber",
            reason: format!("negative block number {n}"),
        })
    }

    /// Block `number`: the header and signatures, with transaction hashes unless
    /// `only_header`.
    pub async fn block(&self, number: u64, only_header: bool) -> Result<BlockJson, Error> {
        self.call(
            "getBlockByNumber",
            vec![json!(number), json!(only_header), json!(true)],
        )
        .await
    }

    /// The receipt of `tx` with its Merkle proof, or `None` while it is not committed.
    pub async fn receipt(&self, tx: &Hash32) -> Result<Option<ReceiptJson>, Error> {
        self.call(
            "getTransactionReceipt",
            vec![json!(tx.to_hex()), json!(true)],
        )
        .await
    }

    /// The committed transaction `tx` (`getTransaction`), or `None` while it is not committed.
    pub async fn transaction(&self, tx: &Hash32) -> Result<Option<TransactionJson>, Error> {
        self.call("getTransaction", vec![json!(tx.to_hex()), json!(false)])
            .await
    }

    /// Sends a signed transaction (its TARS bytes) and waits for its receipt.
    pub async fn send_transaction(&self, signed: &[u8]) -> Result<ReceiptJson, Error> {
        self.call(
            "sendTransaction",
            vec![json!(format!("0x{}", hex::encode(signed))), json!(false)],
        )
        .await
    }

    /// The code at `address` (`getCode`); empty when none is deployed there.
    pub async fn code(&self, address: &[u8; 20]) -> Result<Vec<u8>, Error> {
        let text: String = self
            .call(
                "getCode",
                vec![json!(format!("0x{}", hex::encode(address)))],
            )
            .await?;
        hex::decode(text.trim_start_matches("0x")).map_err(|e| Error::Decode {
            what: "getCode",
            reason: e.to_string(),
        })
    }

    /// The value of the group's system configuration `key` (`getSystemConfigByKey`), e.g.
    /// `web3_chain_id`.
    pub async fn system_config(&self, key: &str) -> Result<String, Error> {
        let v: Value = self.call("getSystemConfigByKey", vec![json!(key)]).await?;
        v.get("value")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::Decode {
                what: "getSystemConfigByKey",
                reason: format!("no string `value` in {v}"),
            })
    }

    /// The node ids (128 hex digits) `getSealerList` names.
    pub async fn sealer_list(&self) -> Result<Vec<String>, Error> {
        let v: Vec<Value> = self.call("getSealerList", vec![]).await?;
        v.iter()
            .map(|s| {
                s.get("nodeID")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| Error::Decode {
                        what: "getSealerList",
                        reason: format!("no nodeID in {s}"),
                    })
            })
            .collect()
    }

    /// The chain id the group belongs to (`getGroupInfo`'s `chainID`). Its only parameter is
    /// the group, so it is asked directly rather than through [`FiscoRpc::call`].
    pub async fn group_chain_id(&self) -> Result<String, Error> {
        let v: Value = self
            .call_with("getGroupInfo", vec![json!(self.group)])
            .await?;
        v.get("chainID")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::Decode {
                what: "getGroupInfo",
                reason: format!("no chainID in {v}"),
            })
    }

    /// Calls `to` with `data` at the head, without a transaction.
    pub async fn call_contract(&self, to: &[u8; 20], data: &[u8]) -> Result<CallResult, Error> {
        let v: Value = self
            .call(
                "call",
                vec![
                    json!(format!("0x{}", hex::encode(to))),
                    json!(format!("0x{}", hex::encode(data))),
                ],
            )
            .await?;
        let output = v
            .get("output")
            .and_then(Value::as_str)
            .unwrap_or("0x")
            .trim_start_matches("0x");
        Ok(CallResult {
            block_number: v.get("blockNumber").and_then(Value::as_u64),
            status: v.get("status").and_then(Value::as_i64).unwrap_or(-1),
            output: hex::decode(output).map_err(|e| Error::Decode {
                what: "call output",
                reason: e.to_string(),
            })?,
        })
    }

    /// Whether the FISCO BCOS Outbox at `outbox` recorded message `id` (`dispatched(id)` at
    /// the head), a message of block `number`: the state read that confirms a receipt proof
    /// independently of how its receipt was split into logs (docs/fisco.md, "Receipt hash").
    ///
    /// Fails with [`Error::InvalidNativeProof`] when the call reverts or answers anything but
    /// a bool (no `FiscoOutbox` at that address), and with the retryable
    /// [`Error::MissingData`] when the node that answered "not recorded" has not reached block
    /// `number` yet (an endpoint that lags behind the one the block came from).
    pub async fn dispatched(
        &self,
        outbox: &EvmAddress,
        id: &Hash32,
        number: u64,
    ) -> Result<bool, Error> {
        use alloy::sol_types::SolCall;
        let call = IFiscoOutbox::dispatchedCall { id: id.0.into() };
        let out = self.call_contract(&outbox.0, &call.abi_encode()).await?;
        let not_fisco_outbox = |why: String| Error::InvalidNativeProof {
            reason: format!(
                "dispatched({}) on the Outbox {outbox} {why}: a FISCO BCOS origin needs the \
                 FiscoOutbox contract (contracts/artifacts/FiscoOutbox.json), whose storage \
                 confirms each message",
                id.to_hex()
            ),
        };
        if out.status != 0 {
            return Err(not_fisco_outbox(format!(
                "reverted (status {})",
                out.status
            )));
        }
        let recorded =
            IFiscoOutbox::dispatchedCall::abi_decode_returns(&out.output).map_err(|e| {
                not_fisco_outbox(format!("answered 0x{} ({e})", hex::encode(&out.output)))
            })?;
        if !recorded && out.block_number.is_some_and(|at| at < number) {
            return Err(Error::MissingData {
                what: format!(
                    "the Outbox's record of message {} at block {number} or later (the node \
                     answered at block {})",
                    id.to_hex(),
                    out.block_number
                        .map_or_else(|| "unknown".to_owned(), |n| n.to_string())
                ),
            });
        }
        Ok(recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MethodClass;

    #[test]
    fn fisco_methods_are_counted_in_their_classes() {
        for (method, class) in [
            ("getBlockNumber", MethodClass::Block),
            ("getBlockByNumber", MethodClass::Block),
            ("getTransactionReceipt", MethodClass::Receipt),
            ("call", MethodClass::Call),
            ("getCode", MethodClass::Account),
            ("getSealerList", MethodClass::Account),
            ("getSystemConfigByKey", MethodClass::Account),
            ("getGroupInfo", MethodClass::Account),
            ("sendTransaction", MethodClass::Send),
        ] {
            assert_eq!(MethodClass::of(method), class, "{method}");
        }
    }

    #[test]
    fn endpoints_must_be_http_urls_and_are_never_shown_with_credentials() {
        assert!(FiscoRpc::with_endpoints(vec![], "group0").is_err());
        assert!(FiscoRpc::with_endpoints(vec!["ws://node:20200".into()], "group0").is_err());
        let rpc = FiscoRpc::with_endpoints(
            vec![
                "http://user:secret@node:20200/key".into(),
                "https://b:20200".into(),
            ],
            "group0",
        )
        .expect("two endpoints");
        assert_eq!(rpc.endpoint(), "http://node:20200");
        assert!(!format!("{rpc:?}").contains("secret"));
    }

    #[test]
    fn the_dispatched_selector_is_keccak_of_its_signature() {
        use alloy::sol_types::SolCall;
        let digest = alloy::primitives::keccak256("dispatched(bytes32)");
        assert_eq!(IFiscoOutbox::dispatchedCall::SELECTOR, digest[..4]);
    }
}
