//! The test node's JSON-RPC over HTTP: the methods the FISCO BCOS adapter uses, with FISCO
//! BCOS 3.x's parameter lists and result shapes (`docs/fisco.md`, "JSON-RPC").

use std::sync::Arc;

use alloy::providers::Provider;
use axum::Json;
use axum::extract::State;
use causeway_proofs::Hash32;
use causeway_proofs::fisco::Transaction;
use causeway_proofs::fisco::json::from_hex;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::chain::{self, Ledger, Pending, RpcError};

/// What a handler needs.
#[derive(Clone)]
pub(crate) struct NodeState {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) pool: mpsc::Sender<Pending>,
    pub(crate) engine: alloy::providers::DynProvider,
    /// `block.chainid` in the engine, served as the `web3_chain_id` system configuration.
    pub(crate) web3_chain_id: u64,
}

fn param<'a>(params: &'a [Value], i: usize, name: &str) -> Result<&'a Value, RpcError> {
    params
        .get(i)
        .ok_or_else(|| RpcError::new(-32602, format!("missing parameter {i} ({name})")))
}

fn str_param<'a>(params: &'a [Value], i: usize, name: &str) -> Result<&'a str, RpcError> {
    param(params, i, name)?
        .as_str()
        .ok_or_else(|| RpcError::new(-32602, format!("parameter {i} ({name}) is not a string")))
}

fn hash_param(params: &[Value], i: usize, name: &str) -> Result<Hash32, RpcError> {
    let bytes = from_hex(name, str_param(params, i, name)?)
        .map_err(|e| RpcError::new(-32602, e.to_string()))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(Hash32)
        .map_err(|_| RpcError::new(-32602, format!("{name} is not 32 bytes")))
}

fn bool_param(params: &[Value], i: usize) -> bool {
    params.get(i).and_then(Value::as_bool).unwrap_or(false)
}

/// One JSON-RPC request → one response (`{"jsonrpc","id","result"|"error"}`).
pub(crate) async fn handle(
    State(state): State<NodeState>,
    Json(request): Json<Value>,
) -> Json<Value> {
    let id = request.get("id").cloned().unwrap_or(json!(0));
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let params = request
        .get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let outcome = dispatch(&state, method, &params).await;
    Json(match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}})
        }
    })
}

async fn dispatch(state: &NodeState, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    let ledger = &state.ledger;
    // Methods that start with [group, node, …] check the group as a node does.
    let group_checked = |params: &[Value]| -> Result<(), RpcError> {
        let group = str_param(params, 0, "group")?;
        if group != ledger.group {
            return Err(RpcError::new(
                -32602,
                format!("group {group} does not exist"),
            ));
        }
        Ok(())
    };
    let to_value =
        |v: Result<Value, serde_json::Error>| v.map_err(|e| RpcError::new(-1, e.to_string()));
    match method {
        "getBlockNumber" => {
            group_checked(params)?;
            Ok(json!(ledger.head()))
        }
        "getBlockByNumber" => {
            group_checked(params)?;
            let number = param(params, 2, "blockNumber")?
                .as_i64()
                .ok_or_else(|| RpcError::new(-32602, "blockNumber is not an integer"))?;
            let block = ledger
                .block_json(number, bool_param(params, 3), bool_param(params, 4))
                .ok_or_else(|| RpcError::new(-32602, format!("block {number} does not exist")))?;
            to_value(serde_json::to_value(block))
        }
        "getBlockByHash" => {
            group_checked(params)?;
            let hash = hash_param(params, 2, "blockHash")?;
            let number = ledger
                .number_of(&hash)
                .ok_or_else(|| RpcError::new(-32602, "block not found"))?;
            let block = ledger
                .block_json(number, bool_param(params, 3), bool_param(params, 4))
                .ok_or_else(|| RpcError::new(-32602, "block not found"))?;
            to_value(serde_json::to_value(block))
        }
        "getBlockHashByNumber" => {
            group_checked(params)?;
            let number = param(params, 2, "blockNumber")?.as_i64().unwrap_or(-1);
            let block = ledger
                .block_json(number, true, true)
                .ok_or_else(|| RpcError::new(-32602, format!("block {number} does not exist")))?;
            Ok(json!(block.hash))
        }
        "getTransactionReceipt" => {
            group_checked(params)?;
            let hash = hash_param(params, 2, "txHash")?;
            match ledger.receipt_json(&hash, bool_param(params, 3)) {
                Some(r) => to_value(serde_json::to_value(r)),
                None => Ok(Value::Null),
            }
        }
        "getTransaction" => {
            group_checked(params)?;
            let hash = hash_param(params, 2, "txHash")?;
            match ledger.transaction_json(&hash, bool_param(params, 3)) {
                Some(t) => to_value(serde_json::to_value(t)),
                None => Ok(Value::Null),
            }
        }
        "getGroupInfo" => {
            // [group]: the fields of FISCO BCOS 3.x's reply the gateway reads.
            let group = str_param(params, 0, "group")?;
            if group != ledger.group {
                return Err(RpcError::new(
                    -32602,
                    format!("group {group} does not exist"),
                ));
            }
            Ok(json!({
                "chainID": ledger.chain_id,
                "groupID": ledger.group,
                "genesisConfig": {"smCryptoType": ledger.mode == causeway_proofs::fisco::CryptoMode::Sm},
            }))
        }
        "getSystemConfigByKey" => {
            group_checked(params)?;
            let key = str_param(params, 2, "key")?;
            let value = match key {
                "web3_chain_id" => state.web3_chain_id.to_string(),
                "tx_count_limit" => chain::MAX_BLOCK_TXS.to_string(),
                other => {
                    return Err(RpcError::new(
                        -32602,
                        format!("system config {other} does not exist"),
                    ));
                }
            };
            Ok(json!({"blockNumber": ledger.head(), "value": value}))
        }
        "getCode" => {
            group_checked(params)?;
            let address = str_param(params, 2, "address")?;
            let address = format!("0x{}", address.trim_start_matches("0x"));
            state
                .engine
                .raw_request::<Value, Value>("eth_getCode".into(), json!([address, "latest"]))
                .await
                .map_err(|e| RpcError::new(-1, e.to_string()))
        }
        "getSealerList" => {
            group_checked(params)?;
            Ok(Value::Array(
                ledger
                    .sealers
                    .iter()
                    .map(|s| json!({"nodeID": s.public_key().to_hex(), "weight": 1, "termWeight": 1}))
                    .collect(),
            ))
        }
        "sendTransaction" => {
            group_checked(params)?;
            let bytes = from_hex("signed transaction", str_param(params, 2, "data")?)
                .map_err(|e| RpcError::new(10003, format!("Malform: {e}")))?;
            let tx = Transaction::decode(&bytes)
                .map_err(|e| RpcError::new(10003, format!("Malform: {e}")))?;
            let verified = ledger.admit(&tx)?;
            let (reply, answer) = oneshot::channel();
            state
                .pool
                .send(Pending {
                    tx,
                    verified,
                    reply,
                })
                .await
                .map_err(|_| RpcError::new(-1, "the node is stopping"))?;
            let receipt = answer
                .await
                .map_err(|_| RpcError::new(-1, "the node is stopping"))??;
            to_value(serde_json::to_value(receipt))
        }
        "call" => {
            group_checked(params)?;
            let to = str_param(params, 2, "to")?;
            let data = str_param(params, 3, "data")?;
            let to = format!("0x{}", to.trim_start_matches("0x"));
            let head = ledger.head();
            let result = state
                .engine
                .raw_request::<Value, Value>(
                    "eth_call".into(),
                    json!([{"to": to, "data": data}, "latest"]),
                )
                .await;
            Ok(match result {
                Ok(output) => json!({"blockNumber": head, "status": 0, "output": output}),
                Err(e) => {
                    let data = e
                        .as_error_resp()
                        .and_then(|r| r.data.as_ref())
                        .map(|d| d.get().trim_matches('"').to_owned())
                        .unwrap_or_else(|| "0x".to_owned());
                    json!({"blockNumber": head, "status": 16, "output": data})
                }
            })
        }
        other => Err(RpcError::new(-32601, format!("method {other} not found"))),
    }
}
