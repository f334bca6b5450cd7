//! A chain's heights as a gateway reports them (`causeway status`, the API's `/v1/chains` and
//! `/readyz`): the head and the final height under the configured finality, read with a short
//! timeout; errors never carry an endpoint's credentials.

use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::transports::http::reqwest;
use causeway_adapters::redact_endpoint;
use causeway_config::{Endpoint, Finality};

/// How long one chain or peer probe may take, connection included.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `request` within [`PROBE_TIMEOUT`]; the error names the call, never the URL's secrets.
pub async fn ask<T, E: core::fmt::Display>(
    method: &str,
    request: impl core::future::IntoFuture<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(PROBE_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{method} failed: {}", scrub_urls(&e.to_string()))),
        Err(_) => Err(format!(
            "{method} got no answer within {} s",
            PROBE_TIMEOUT.as_secs()
        )),
    }
}

/// The head and the final height (under `finality`) of the EVM chain at `endpoint`, after
/// checking that it serves `chain_id`.
pub async fn evm_heights(
    endpoint: &Endpoint,
    chain_id: u64,
    finality: Finality,
) -> Result<(u64, Option<u64>), String> {
    let url: reqwest::Url = endpoint
        .as_str()
        .parse()
        .map_err(|e| format!("not a URL: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .connect_timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let provider: RootProvider = RootProvider::new(RpcClient::new_http_with_client(client, url));
    let served = ask("eth_chainId", provider.get_chain_id()).await?;
    if served != chain_id {
        return Err(format!(
            "serves chain id {served}, the configuration says {chain_id}: fix `chain_id` or the endpoint"
        ));
    }
    let head = ask("eth_blockNumber", provider.get_block_number()).await?;
    let final_height = match finality {
        Finality::Confirmations(n) => head.checked_sub(n.get()),
        Finality::Finalized => ask(
            "eth_getBlockByNumber(finalized)",
            provider.get_block_by_number(BlockNumberOrTag::Finalized),
        )
        .await?
        .map(|b| b.header.number),
        _ => Some(head),
    };
    Ok((head, final_height))
}

/// The head of the FISCO BCOS group `group` at `endpoint` (every committed block is final:
/// PBFT, so it is the final height too).
pub async fn fisco_head(endpoint: &Endpoint, group: &str) -> Result<u64, String> {
    let rpc = causeway_adapters::fisco::FiscoRpc::new(endpoint.as_str(), group)
        .map_err(|e| scrub_urls(&e.to_string()))?;
    ask("getBlockNumber", rpc.block_number()).await
}

/// Replaces every URL in `text` by its redacted form (errors from HTTP clients quote the URL,
/// credentials included).
pub fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '-' && c != '.')
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str(&redact_endpoint(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Whether `endpoint` accepts a TCP connection within [`PROBE_TIMEOUT`].
pub async fn tcp_reachable(endpoint: &Endpoint) -> Result<(), String> {
    let host = endpoint
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = endpoint.port().unwrap_or(match endpoint.scheme() {
        "http" => 80,
        _ => 443,
    });
    match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no connection within {} s",
            PROBE_TIMEOUT.as_secs()
        )),
    }
}
