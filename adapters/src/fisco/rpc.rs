//! A client of a FISCO BCOS 3.x node's JSON-RPC over HTTP (or HTTPS: the node's `[rpc]
//! disable_ssl=false` with an ordinary TLS certificate): positional parameters starting with
//! the group and node name, FISCO BCOS's result shapes (`causeway_proofs::fisco::json`).

use std::time::Duration;

use alloy::transports::http::reqwest::Client;
use causeway_proofs::Hash32;
use causeway_proofs::fisco::json::{BlockJson, ReceiptJson};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::Error;

/// Longest a request may take (a `sendTransaction` waits for the block that commits it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest reply read from a node: a block of 1,000 full transactions fits many times over.
const MAX_REPLY_BYTES: usize = 64 << 20;

/// One node of one group.
#[derive(Clone, Debug)]
pub struct FiscoRpc {
    client: Client,
    endpoint: String,
    group: String,
    node: String,
}

/// A `call` result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallResult {
    /// 0 on success, 16 on revert.
    pub status: i64,
    /// Return or revert data.
    pub output: Vec<u8>,
}

impl FiscoRpc {
    /// A client of `endpoint` (`http://` or `https://`) for `group`, letting the RPC pick the
    /// node (`""`).
    pub fn new(endpoint: impl Into<String>, group: impl Into<String>) -> Result<Self, Error> {
        let client = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Config {
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(FiscoRpc {
            client,
            endpoint: endpoint.into(),
            group: group.into(),
            node: String::new(),
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
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

    /// Calls `method` with exactly `params` and decodes the result.
    async fn call_with<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Vec<Value>,
    ) -> Result<T, Error> {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        let unavailable = |e: alloy::transports::http::reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout {
                    endpoint: self.endpoint.clone(),
                    method,
                }
            } else {
                Error::RpcUnavailable {
                    endpoint: self.endpoint.clone(),
                    source: Box::new(e),
                }
            }
        };
        let response = self
            .client
            .post(&self.endpoint)
            .json(&body)
            .send()
            .await
            .map_err(unavailable)?;
        if response.status().as_u16() == 429 {
            return Err(Error::RateLimited {
                endpoint: self.endpoint.clone(),
                retry_after: None,
            });
        }
        if response.content_length().unwrap_or(0) > MAX_REPLY_BYTES as u64 {
            return Err(Error::MissingData {
                what: format!("{method} reply under {MAX_REPLY_BYTES} bytes"),
            });
        }
        let bytes = response.bytes().await.map_err(unavailable)?;
        if bytes.len() > MAX_REPLY_BYTES {
            return Err(Error::MissingData {
                what: format!("{method} reply under {MAX_REPLY_BYTES} bytes"),
            });
        }
        let reply: Value = serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            what: "JSON-RPC reply",
            reason: e.to_string(),
        })?;
        if let Some(err) = reply.get("error").filter(|e| !e.is_null()) {
            return Err(Error::Rpc {
                endpoint: self.endpoint.clone(),
                method,
                code: err.get("code").and_then(Value::as_i64).unwrap_or(-1),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        serde_json::from_value(reply.get("result").cloned().unwrap_or(Value::Null)).map_err(|e| {
            Error::Decode {
                what: method,
                reason: e.to_string(),
            }
        })
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
            status: v.get("status").and_then(Value::as_i64).unwrap_or(-1),
            output: hex::decode(output).map_err(|e| Error::Decode {
                what: "call output",
                reason: e.to_string(),
            })?,
        })
    }
}
