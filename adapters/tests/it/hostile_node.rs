//! `EvmSource` behind a node that refuses wide log queries, and behind one that ignores the
//! address filter and serves a look-alike contract's logs as if they were the Outbox's.

use std::sync::Arc;

use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use causeway_adapters::evm::{EvmSource, EvmSourceConfig, Finality};
use causeway_adapters::{Cursor, NativeVerifier};
use causeway_devnet::{CHAIN_A, DevChain};
use serde_json::{Value, json};

use crate::proxy::{self, log_query_span};
use crate::support::{chain_with_look_alike, dispatch, drain, mine, recipient};

fn source_at(url: String, chain: &DevChain, initial_range: u64) -> EvmSource {
    let mut config = EvmSourceConfig::new(
        url,
        chain.spec.domain,
        *chain.outbox.address(),
        Finality::Confirmations(0),
    );
    config.initial_range = initial_range;
    EvmSource::new(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapts_the_log_range_to_a_node_that_refuses_wide_queries() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    for i in 0..3u8 {
        dispatch(&chain, outbox, 2, recipient(i), &[i]).await;
        mine(&chain, 5).await;
    }
    const LIMIT: u64 = 4;
    let refusing: proxy::Rewrite = Arc::new(|request, reply| match log_query_span(request) {
        Some((from, to)) if to - from + 1 > LIMIT => json!({
            "jsonrpc": "2.0",
            "id": request["id"],
            "error": { "code": -32005, "message": "query returned more than 10000 results" },
        }),
        _ => reply,
    });
    let node = proxy::start(chain.node.endpoint(), refusing).await;
    let src = source_at(node.url.clone(), &chain, 1_000);
    let (messages, _) = drain(&src, Cursor::Start { height: 0 }).await;
    let nonces: Vec<u64> = messages.iter().map(|m| m.message.nonce().0).collect();
    assert_eq!(nonces, vec![0, 1, 2]);
    let counters = src.counters();
    // The refused span (the whole chain, about 20 blocks) is halved until it fits.
    assert!(counters.range_refusals >= 2, "{counters:?}");
    assert!(src.range() <= LIMIT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_a_node_serves_from_a_look_alike_are_ignored_and_counted() {
    let (chain, outbox, look_alike) = chain_with_look_alike().await;
    dispatch(&chain, look_alike, 2, recipient(6), b"forged").await;
    dispatch(&chain, outbox, 2, recipient(7), b"genuine").await;
    let forged: Vec<Value> = chain
        .provider
        .get_logs(&Filter::new().address(look_alike).from_block(0))
        .await
        .unwrap()
        .iter()
        .map(|l| serde_json::to_value(l).unwrap())
        .collect();
    assert_eq!(forged.len(), 1);
    // T27: a node that ignores the address filter and adds the look-alike's log.
    let injecting: proxy::Rewrite = Arc::new(move |request, mut reply| {
        if log_query_span(request).is_some()
            && let Some(logs) = reply["result"].as_array_mut()
        {
            logs.extend(forged.iter().cloned());
        }
        reply
    });
    let node = proxy::start(chain.node.endpoint(), injecting).await;
    let src = source_at(node.url.clone(), &chain, 1_000);
    let (messages, _) = drain(&src, Cursor::Start { height: 0 }).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message.body(), b"genuine");
    src.verifier().verify(&messages[0]).unwrap();
    assert!(src.counters().foreign_logs >= 1, "{:?}", src.counters());
}
