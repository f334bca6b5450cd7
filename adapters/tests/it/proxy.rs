//! A JSON-RPC proxy in front of anvil that plays a misbehaving node: it forwards every request
//! and lets the test rewrite the reply (refuse wide log queries, inject foreign logs).
//!
//! Minimal HTTP/1.1: one request after another per connection, `Content-Length` bodies only
//! (what alloy's reqwest client sends).

use std::sync::Arc;

use alloy::transports::http::reqwest;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Turns (request, upstream reply) into the reply the client gets.
pub(crate) type Rewrite = Arc<dyn Fn(&Value, Value) -> Value + Send + Sync>;

/// A running proxy; stopped when dropped.
pub(crate) struct Proxy {
    pub(crate) url: String,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a proxy to `upstream` on a free loopback port.
pub(crate) async fn start(upstream: String, rewrite: Rewrite) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let client = reqwest::Client::new();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (upstream, rewrite, client) = (upstream.clone(), rewrite.clone(), client.clone());
            tokio::spawn(async move {
                let _ = serve(stream, &upstream, &rewrite, &client).await;
            });
        }
    });
    Proxy { url, task }
}

async fn serve(
    stream: TcpStream,
    upstream: &str,
    rewrite: &Rewrite,
    client: &reqwest::Client,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if read.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        read.read_exact(&mut body).await?;
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let reply = client
            .post(upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(std::io::Error::other)?
            .bytes()
            .await
            .map_err(std::io::Error::other)?;
        let reply: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
        let out = serde_json::to_vec(&rewrite(&request, reply)).unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            out.len()
        );
        write.write_all(head.as_bytes()).await?;
        write.write_all(&out).await?;
    }
}

/// The block span of an `eth_getLogs` request, if it is one.
pub(crate) fn log_query_span(request: &Value) -> Option<(u64, u64)> {
    if request["method"] != "eth_getLogs" {
        return None;
    }
    let filter = &request["params"][0];
    let number = |v: &Value| {
        v.as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|s| u64::from_str_radix(s, 16).ok())
    };
    Some((number(&filter["fromBlock"])?, number(&filter["toBlock"])?))
}
