//! The `/metrics` listener over real TCP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_monitoring::{CONTENT_TYPE, HEADER_TIMEOUT, Metrics, MetricsServer};
use tokio::io::AsyncReadExt;

use crate::support::{http, run_promtool, sample};

async fn start() -> (MetricsServer, tokio::sync::oneshot::Sender<()>) {
    let metrics = Metrics::new(Arc::new(sample), "9.9.9").expect("valid families");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = MetricsServer::start(
        "127.0.0.1:0".parse().expect("an address"),
        metrics,
        async move {
            let _ = stopped.await;
        },
    )
    .await
    .expect("binds");
    (server, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_in_the_text_format_and_pass_promtool() {
    let (server, stop) = start().await;
    let addr = server.local_addr();
    let reply = http(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some(CONTENT_TYPE));
    for expected in [
        r#"causeway_build_info{member="org1",version="9.9.9"} 1"#,
        r#"causeway_lane_messages{lane="alliance-to-public",status="confirmed"} 40"#,
        r#"causeway_lane_backlog_messages{lane="public-to-alliance"} 3"#,
        r#"causeway_validator_last_signed_size_leaves{lane="alliance-to-public",member="org2"} 43"#,
        r#"causeway_chain_watch_lag_blocks{chain="alliance"} 2"#,
        r#"causeway_lane_stage_duration_seconds_bucket{lane="alliance-to-public",stage="submit",le="0.1"} 3"#,
        r#"causeway_lane_stage_duration_seconds_count{lane="alliance-to-public",stage="submit"} 5"#,
        r#"causeway_peer_connected{member="org3"} 0"#,
        "# TYPE causeway_lane_messages_confirmed_total counter",
        "causeway_scrape_duration_seconds ",
        r#"causeway_chain_head_height{chain="alliance"} 126"#,
        r#"causeway_store_transaction_duration_seconds_count{handle="pipeline",kind="write"} 5"#,
        r#"causeway_store_transaction_failures_total{handle="pipeline",kind="write"} 1"#,
        r#"causeway_envelope_operations_total{operation="decrypt",outcome="denied"} 2"#,
        r#"causeway_anchor_info{anchoring="alliance-on-public",origin="alliance",chain="public"} 1"#,
        r#"causeway_anchors_landed_total{anchoring="alliance-on-public"} 3"#,
        r#"causeway_anchors_stale_total{anchoring="alliance-on-public"} 1"#,
        r#"causeway_anchored_size_leaves{anchoring="alliance-on-public"} 40"#,
        r#"causeway_chain_head_lag_blocks{chain="alliance"} 8"#,
        r#"causeway_chain_rpc_requests_total{chain="alliance",method="logs"} 9"#,
        r#"causeway_chain_rpc_errors_total{chain="alliance",method="logs"} 1"#,
        r#"causeway_chain_rpc_duration_seconds_count{chain="alliance",method="logs"} 5"#,
        r#"causeway_chain_reorgs_total{chain="alliance",depth="above_cursor"} 1"#,
        r#"causeway_chain_reorgs_total{chain="alliance",depth="below_cursor"} 0"#,
        r#"causeway_chain_delivery_gas_total{chain="public"} 300000"#,
        r#"causeway_chain_delivery_fees_wei_total{chain="public"} 600000000000000"#,
        r#"causeway_chain_deliverer_balance_wei{chain="public"} 10000000000000000000"#,
        r#"causeway_api_requests_total{route="/v1/messages/{id}",method="GET",status="404"} 1"#,
        r#"causeway_api_request_duration_seconds_count{route="/v1/messages/{id}",method="GET"} 5"#,
    ] {
        assert!(
            reply.body.contains(expected),
            "{expected} missing from\n{}",
            reply.body
        );
    }
    // A validator that never signed has no last size (not a made-up 0).
    assert!(!reply.body.contains(
        r#"causeway_validator_last_signed_size_leaves{lane="alliance-to-public",member="org3"}"#
    ));
    let (ok, out) = run_promtool(&["check", "metrics"], Some(&reply.body));
    assert!(ok, "promtool check metrics: {out}\n{}", reply.body);

    let head = http(
        addr,
        "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    let missing = http(
        addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("/metrics"), "{}", missing.body);
    let post = http(
        addr,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    stop.send(()).expect("the server waits for it");
    tokio::time::timeout(Duration::from_secs(5), server.join())
        .await
        .expect("stops within 5 s")
        .expect("stops cleanly");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_server_stops_listening() {
    let (server, _stop) = start().await;
    let addr = server.local_addr();
    assert_eq!(
        http(
            addr,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .await
        .status,
        200
    );
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still listening 5 s after the drop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_sends_its_headers_is_cut_off() {
    let (server, _stop) = start().await;
    let mut idle = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .expect("connects");
    let started = Instant::now();
    let mut buf = Vec::new();
    // Closed (a clean end or a reset) well before the test's own deadline.
    let _closed = tokio::time::timeout(HEADER_TIMEOUT * 3, idle.read_to_end(&mut buf))
        .await
        .expect("the server closes the connection");
    let took = started.elapsed();
    assert!(
        took >= HEADER_TIMEOUT - Duration::from_millis(500) && took < HEADER_TIMEOUT * 3,
        "cut off after {took:?}"
    );
    // Huge headers are refused, not buffered.
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let reply = http(server.local_addr(), &big).await;
    assert_eq!(reply.status, 431, "{reply:?}");
}
