//! `causeway verify --rpc URL`: ties a proven EVM block to the origin chain by asking a node
//! the user trusts for the block at that number and comparing hashes.
//!
//! The node is asked two things: `eth_chainId` once (it must serve the trust file's origin
//! chain) and `eth_getBlockByNumber(n, false)` per bundle. Every request has a timeout and
//! every reply is read up to a limit, so a slow or hostile node costs bounded time and memory.

use std::time::Duration;

use alloy::transports::http::reqwest;
use anyhow::{Context, Result, anyhow, bail, ensure};
use causeway_adapters::redact_endpoint;
use causeway_proofs::Hash32;

/// Time allowed for one request, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest reply read: a block without its transactions is a few KiB (its extra data, for
/// QBFT or Clique, a few more).
const MAX_REPLY_LEN: usize = 1024 * 1024;

/// A JSON-RPC connection to one origin node.
pub(crate) struct OriginNode {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL without credentials, path or query, for messages.
    shown: String,
    runtime: tokio::runtime::Runtime,
}

impl OriginNode {
    /// Connects to `url` and checks that it serves chain `chain_id`.
    pub(crate) fn connect(url: &str, chain_id: u64) -> Result<Self> {
        let (node, served) = Self::connect_any(url)?;
        ensure!(
            served == chain_id,
            "the node at {} serves chain id {served}, but the trust file's origin is chain id \
             {chain_id}: point --rpc at a node of the origin chain",
            node.shown
        );
        Ok(node)
    }

    /// Connects to `url`; the node and the chain id it serves.
    pub(crate) fn connect_any(url: &str) -> Result<(Self, u64)> {
        let shown = redact_endpoint(url);
        let parsed: reqwest::Url = url
            .parse()
            .with_context(|| format!("--rpc {shown} is not a URL"))?;
        ensure!(
            matches!(parsed.scheme(), "http" | "https"),
            "--rpc {shown} must be an http or https URL"
        );
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .build()
            .context("while building the HTTP client")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("while starting the runtime for --rpc")?;
        let node = OriginNode {
            client,
            url: parsed,
            shown,
            runtime,
        };
        let served = node.chain_id()?;
        Ok((node, served))
    }

    /// The URL as shown in messages (no credentials, path or query).
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    fn chain_id(&self) -> Result<u64> {
        let result = self.call("eth_chainId", serde_json::json!([]))?;
        let hex = result
            .as_str()
            .ok_or_else(|| anyhow!("eth_chainId answered {result}, not a hex quantity"))?;
        parse_quantity(hex).with_context(|| format!("eth_chainId answered {hex:?}"))
    }

    /// The hash of the chain's block `number`, or `None` if the node has no such block.
    pub(crate) fn block_hash(&self, number: u64) -> Result<Option<Hash32>> {
        let result = self.call(
            "eth_getBlockByNumber",
            serde_json::json!([format!("{number:#x}"), false]),
        )?;
        if result.is_null() {
            return Ok(None);
        }
        let hash = result
            .get("hash")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                anyhow!("eth_getBlockByNumber({number}) answered a block without a hash")
            })?;
        let hash: Hash32 = hash
            .parse()
            .with_context(|| format!("eth_getBlockByNumber({number}) answered hash {hash:?}"))?;
        Ok(Some(hash))
    }

    /// One JSON-RPC call: its `result`, or an error naming the method and the node.
    fn call(&self, method: &str, params: serde_json::Value) -> Result<serde_json::Value> {
        let body =
            serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let reply = self
            .runtime
            .block_on(self.post(&body))
            .with_context(|| format!("while calling {method} on {}", self.shown))?;
        let mut reply: serde_json::Value = serde_json::from_slice(&reply)
            .with_context(|| format!("{method} on {}: the reply is not JSON", self.shown))?;
        if let Some(error) = reply.get("error") {
            bail!("{method} on {} failed: {error}", self.shown);
        }
        reply
            .get_mut("result")
            .map(serde_json::Value::take)
            .ok_or_else(|| anyhow!("{method} on {}: the reply has no result", self.shown))
    }

    /// Posts `body` and reads the reply, at most [`MAX_REPLY_LEN`] bytes.
    async fn post(&self, body: &serde_json::Value) -> Result<Vec<u8>> {
        let mut response = self
            .client
            .post(self.url.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| anyhow!("{}", e.without_url()))?;
        let status = response.status();
        ensure!(status.is_success(), "the node answered HTTP {status}");
        if let Some(len) = response.content_length() {
            ensure!(
                len <= MAX_REPLY_LEN as u64,
                "the reply of {len} bytes is larger than the {MAX_REPLY_LEN} accepted"
            );
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| anyhow!("{}", e.without_url()))?
        {
            ensure!(
                bytes.len() + chunk.len() <= MAX_REPLY_LEN,
                "the reply is larger than the {MAX_REPLY_LEN} bytes accepted"
            );
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// A JSON-RPC quantity (`0x` and hex digits, no leading zeros required) as a `u64`.
fn parse_quantity(s: &str) -> Result<u64> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| anyhow!("a quantity starts with 0x"))?;
    ensure!(
        !digits.is_empty() && digits.len() <= 16,
        "a quantity has 1 to 16 hex digits"
    );
    u64::from_str_radix(digits, 16).context("not hex digits")
}
