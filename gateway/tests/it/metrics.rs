//! `/metrics` of a running consortium, judged by Prometheus' own tools: three `causeway run`
//! processes (the consortium test's members, 2 of 3 over mutual TLS, two anvil chains) carry
//! messages both ways; each gateway's scrape passes `promtool check metrics` and its figures
//! move with the traffic; a real Prometheus server (Debian's package, from `.tools/debian`)
//! scrapes all three and loads the alert rules, and every Grafana panel's expression and every
//! alert's expression is evaluated through its HTTP API: each must parse, each panel must
//! return data, and every metric a dashboard names must exist.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::transports::http::reqwest;
use causeway_config::Config;
use causeway_devnet::fixtures::Committee;
use causeway_gateway::devnet::free_port;
use serde_json::Value;

use crate::consortium::{COMMITTEE, Member, chains, dispatch, tail, wait_delivered};

/// The workspace's folder.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A binary of Debian's prometheus package: `$env`, else `.tools/debian/usr/bin/<name>`
/// (`scripts/setup.sh` installs it).
fn debian_tool(env: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".tools/debian/usr/bin").join(name));
    assert!(
        path.is_file(),
        "{name} not found at {} (fix: run scripts/setup.sh, or set {env})",
        path.display()
    );
    path
}

/// A Prometheus server scraping the gateways every second, with the alert rules loaded.
struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Prometheus {
    fn start(dir: &Path, targets: &[SocketAddr]) -> Self {
        let rules = workspace().join("monitoring/prometheus/alerts.yml");
        let targets = targets
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
                 scrape_configs:\n  - job_name: causeway\n    static_configs:\n      - targets: [{targets}]\n",
                rules.display()
            ),
        )
        .unwrap();
        let port = free_port().unwrap();
        let log = dir.join("prometheus.log");
        let child = Command::new(debian_tool("CAUSEWAY_PROMETHEUS", "prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prometheus-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// `GET /api/v1/<path>` with `params`; the response's `data` (fails on an error status).
    async fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let url = reqwest::Url::parse_with_params(&format!("{}/api/v1/{path}", self.url), params)
            .unwrap();
        let reply = reqwest::get(url).await.map_err(|e| e.to_string())?;
        let body: Value = reply.json().await.map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(body.to_string());
        }
        Ok(body["data"].clone())
    }

    /// An instant query's result vector.
    async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.api("query", &[("query", expr)]).await?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /metrics` of a gateway: (Content-Type, body).
async fn scrape(addr: SocketAddr) -> Result<(String, String), String> {
    let reply = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .map_err(|e| e.to_string())?;
    if !reply.status().is_success() {
        return Err(format!("status {}", reply.status()));
    }
    let content_type = reply
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((content_type, reply.text().await.map_err(|e| e.to_string())?))
}

/// The value of the sample `series` (name and labels exactly as exposed) in a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

fn promtool_check(text: &str) -> (bool, String) {
    use std::io::Write as _;
    let mut child = Command::new(debian_tool("CAUSEWAY_PROMTOOL", "promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every panel query of a Grafana dashboard (rows' panels included), with its panel's title.
fn panel_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = stack.pop() {
        if let Some(inner) = panel["panels"].as_array() {
            stack.extend(inner);
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push((panel["title"].as_str().unwrap().to_owned(), expr.to_owned()));
            }
        }
    }
    out
}

/// A dashboard expression as Grafana would send it with "All" selected.
fn grafana_expands(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$lane", ".+")
        .replace("$chain", ".+")
        .replace("$instance", ".+")
}

/// The `causeway_*` metric names an expression mentions (histogram series folded to their
/// family).
fn causeway_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("causeway_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn check_running(members: &mut [Member]) {
    for m in members {
        m.assert_running();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_a_running_consortium_pass_promtool_and_feed_every_dashboard_and_alert() {
    let committee = Committee::new(COMMITTEE, 3, 2);
    let devnet = chains(&committee).await;
    let dir = tempfile::tempdir().unwrap();
    // Alpha is anchored on beta's Anchor, so the anchoring panel and its metrics have data.
    let anchor = crate::anchoring::deploy(&devnet.b, &committee).await;
    let mut members =
        crate::anchoring::anchored_members(dir.path(), &devnet, &committee, *anchor.address());
    let targets: Vec<SocketAddr> = members
        .iter()
        .map(|m| Config::load(m.config()).unwrap().monitoring().listen)
        .collect();
    for m in &mut members {
        m.start();
    }

    // 1. Before traffic: every gateway serves /metrics in the text format, and promtool agrees.
    let mut before = Vec::new();
    for addr in &targets {
        let (content_type, text) =
            wait_for("/metrics answers", Duration::from_secs(60), async || {
                check_running(&mut members);
                scrape(*addr).await.ok()
            })
            .await;
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        let (ok, out) = promtool_check(&text);
        assert!(ok, "promtool check metrics: {out}\n{text}");
        before.push(text);
    }
    let accepted_alpha = r#"causeway_chain_messages_accepted_total{chain="alpha"}"#;
    assert_eq!(
        sample(&before[0], accepted_alpha),
        Some(0.0),
        "{}",
        before[0]
    );
    let not_found = reqwest::get(format!("http://{}/v1/other", targets[0]))
        .await
        .unwrap();
    assert_eq!(not_found.status().as_u16(), 404);

    // The API counts its requests by route template, never by raw path.
    let apis: Vec<SocketAddr> = members
        .iter()
        .map(|m| Config::load(m.config()).unwrap().api().listen)
        .collect();
    for api in &apis {
        for (path, status) in [("/healthz", 200), ("/v1/no-such-route-0x1234", 404)] {
            let reply = reqwest::get(format!("http://{api}{path}")).await.unwrap();
            assert_eq!(reply.status().as_u16(), status, "{path}");
        }
        // Ready or not, /readyz reads the store through the API's own handles (timed).
        reqwest::get(format!("http://{api}/readyz")).await.unwrap();
    }

    // 2. Traffic both ways; Prometheus scrapes the three gateways meanwhile.
    let mut a_to_b = dispatch(&devnet.a, &devnet.b, 20, "metrics a-b").await;
    let b_to_a = dispatch(&devnet.b, &devnet.a, 10, "metrics b-a").await;
    let prometheus = Prometheus::start(dir.path(), &targets);
    wait_delivered(
        &devnet,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(120),
    )
    .await;
    a_to_b.extend(dispatch(&devnet.a, &devnet.b, 10, "metrics a-b again").await);
    wait_delivered(
        &devnet,
        &mut members,
        &a_to_b,
        &b_to_a,
        Duration::from_secs(120),
    )
    .await;

    // 3. Every gateway's figures moved: every message accepted from both chains, and (once each
    //    member saw the others' deliveries at the destination) every message confirmed in its
    //    store; promtool still agrees.
    for (m, addr) in members.iter().zip(&targets) {
        let text = wait_for(
            &format!("{}'s store to show every message confirmed", m.name),
            Duration::from_secs(90),
            async || {
                let (_, text) = scrape(*addr).await.ok()?;
                let confirmed = |lane: &str| {
                    sample(
                        &text,
                        &format!(r#"causeway_lane_messages{{lane="{lane}",status="confirmed"}}"#),
                    )
                };
                (confirmed("alpha-to-beta") == Some(30.0)
                    && confirmed("beta-to-alpha") == Some(10.0))
                .then_some(text)
            },
        )
        .await;
        let (ok, out) = promtool_check(&text);
        assert!(ok, "{}: promtool check metrics: {out}\n{text}", m.name);
        for (series, at_least) in [
            (accepted_alpha, 30.0),
            (
                r#"causeway_chain_messages_accepted_total{chain="beta"}"#,
                10.0,
            ),
            (r#"causeway_log_leaves{chain="alpha"}"#, 30.0),
            (
                r#"causeway_lane_checkpoints_signed_total{lane="alpha-to-beta"}"#,
                1.0,
            ),
            (
                r#"causeway_lane_member_signatures_total{lane="alpha-to-beta"}"#,
                1.0,
            ),
            (
                r#"causeway_lane_checkpoint_size_leaves{lane="alpha-to-beta",kind="threshold"}"#,
                30.0,
            ),
            (
                r#"causeway_origin_stage_duration_seconds_count{chain="alpha",stage="append"}"#,
                1.0,
            ),
            (r#"causeway_chain_final_height{chain="alpha"}"#, 1.0),
            (r#"causeway_chain_head_height{chain="alpha"}"#, 2.0),
            (
                r#"causeway_chain_rpc_requests_total{chain="alpha",method="block"}"#,
                1.0,
            ),
            (
                r#"causeway_chain_rpc_requests_total{chain="alpha",method="logs"}"#,
                1.0,
            ),
            (
                r#"causeway_chain_rpc_duration_seconds_count{chain="alpha",method="logs"}"#,
                1.0,
            ),
            (
                r#"causeway_api_requests_total{route="/healthz",method="GET",status="200"}"#,
                1.0,
            ),
            (
                r#"causeway_api_requests_total{route="unmatched",method="GET",status="404"}"#,
                1.0,
            ),
            ("causeway_store_size_bytes", 4096.0),
            (
                r#"causeway_store_transaction_duration_seconds_count{handle="pipeline",kind="write"}"#,
                1.0,
            ),
            (
                r#"causeway_store_transaction_duration_seconds_count{handle="pipeline",kind="read"}"#,
                1.0,
            ),
            // The API's and the scrape's own read handles are timed too.
            (
                r#"causeway_store_transaction_duration_seconds_count{handle="api",kind="read"}"#,
                1.0,
            ),
            (
                r#"causeway_store_transaction_duration_seconds_count{handle="scrape",kind="read"}"#,
                1.0,
            ),
            // Envelope operations are exported for every operation and outcome, zeros included.
            (
                r#"causeway_envelope_operations_total{operation="fetch",outcome="ok"}"#,
                0.0,
            ),
            ("causeway_store_up", 1.0),
        ] {
            let v = sample(&text, series);
            assert!(
                v.is_some_and(|v| v >= at_least),
                "{}: {series} = {v:?}, expected >= {at_least}\n{text}",
                m.name
            );
        }
        for series in [
            r#"causeway_lane_backlog_messages{lane="alpha-to-beta"}"#,
            r#"causeway_chain_halted{chain="alpha"}"#,
            r#"causeway_chain_halted{chain="beta"}"#,
        ] {
            assert_eq!(sample(&text, series), Some(0.0), "{}: {series}", m.name);
        }
        let connected = ["org1", "org2", "org3"]
            .iter()
            .filter(|o| **o != m.name)
            .filter(|o| {
                sample(
                    &text,
                    &format!(r#"causeway_peer_connected{{member="{o}"}}"#),
                ) == Some(1.0)
            })
            .count();
        assert_eq!(
            connected, 2,
            "{}: both other members connected\n{text}",
            m.name
        );
        if let Some(scrape_took) = sample(&text, "causeway_scrape_duration_seconds") {
            eprintln!(
                "{}: /metrics gathered in {:.2} ms",
                m.name,
                scrape_took * 1e3
            );
        }
    }
    // Whoever delivered counted its gas and read its deliverer's balance.
    let mut gas = 0.0;
    let mut balances = 0;
    for addr in &targets {
        let (_, text) = scrape(*addr).await.unwrap();
        assert!(
            !text.contains("no-such-route"),
            "a raw path became a label:\n{text}"
        );
        gas += sample(&text, r#"causeway_chain_delivery_gas_total{chain="beta"}"#).unwrap_or(0.0);
        if sample(
            &text,
            r#"causeway_chain_deliverer_balance_wei{chain="beta"}"#,
        )
        .is_some_and(|b| b > 1e18)
        {
            balances += 1;
        }
    }
    assert!(gas > 21_000.0, "delivery gas to beta: {gas}");
    assert!(
        balances >= 1,
        "no gateway read its deliverer's balance on beta"
    );

    // Submissions and duplicates add up to at least every message, across the members.
    let delivered_or_skipped: f64 = {
        let mut total = 0.0;
        for addr in &targets {
            let (_, text) = scrape(*addr).await.unwrap();
            for series in [
                r#"causeway_lane_messages_submitted_total{lane="alpha-to-beta"}"#,
                r#"causeway_lane_duplicates_total{lane="alpha-to-beta"}"#,
            ] {
                total += sample(&text, series).unwrap_or(0.0);
            }
        }
        total
    };
    assert!(delivered_or_skipped >= 30.0, "{delivered_or_skipped}");

    // 4. Prometheus has data from all three (a few scrapes each, so rates have two points).
    wait_for(
        "Prometheus to scrape every gateway 5 times",
        Duration::from_secs(60),
        async || {
            let up = prometheus
                .query(
                    r#"count_over_time(up{job="causeway"}[1m]) >= 5 and up{job="causeway"} == 1"#,
                )
                .await
                .ok()?;
            (up.len() == targets.len()).then_some(())
        },
    )
    .await;

    // 5. Every dashboard: every panel's expression parses and returns data; every metric it
    //    names exists; its template variables' metrics exist.
    let names: Vec<String> =
        serde_json::from_value(prometheus.api("label/__name__/values", &[]).await.unwrap())
            .unwrap();
    let exists = |name: &str| {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|f| names.iter().any(|n| n == &format!("{f}_bucket")))
            .unwrap_or(name);
        names
            .iter()
            .any(|n| n == name || n == &format!("{family}_bucket"))
    };
    let grafana = workspace().join("monitoring/grafana");
    let mut dashboards = std::fs::read_dir(&grafana)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect::<Vec<_>>();
    dashboards.sort();
    assert_eq!(dashboards.len(), 4, "{dashboards:?}");
    let mut panels = 0;
    for file in &dashboards {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for variable in dashboard["templating"]["list"].as_array().unwrap() {
            if let Some(query) = variable["definition"].as_str() {
                for metric in causeway_names(query) {
                    assert!(
                        exists(&metric),
                        "{name}: variable {}: no metric {metric}",
                        variable["name"]
                    );
                }
            }
        }
        for (title, expr) in panel_queries(&dashboard) {
            for metric in causeway_names(&expr) {
                assert!(
                    exists(&metric),
                    "{name}: panel {title:?} names {metric}, which no gateway exports"
                );
            }
            let expanded = grafana_expands(&expr);
            let result = prometheus.query(&expanded).await;
            let result =
                result.unwrap_or_else(|e| panic!("{name}: panel {title:?}: {expanded}: {e}"));
            assert!(
                !result.is_empty(),
                "{name}: panel {title:?} returns no data: {expanded}"
            );
            panels += 1;
        }
    }
    eprintln!(
        "{panels} panel queries of {} dashboards returned data",
        dashboards.len()
    );

    // 6. Every alert rule's expression parses and evaluates; Prometheus loaded every rule and
    //    evaluates each without error.
    let rules_text =
        std::fs::read_to_string(workspace().join("monitoring/prometheus/alerts.yml")).unwrap();
    let exprs: Vec<String> = rules_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .map(|e| serde_json::from_str::<String>(e).unwrap_or_else(|_| e.to_owned()))
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    for expr in &exprs {
        prometheus
            .query(expr)
            .await
            .unwrap_or_else(|e| panic!("alert expression {expr}: {e}"));
    }
    let rules = wait_for(
        "every rule evaluated",
        Duration::from_secs(30),
        async || {
            let groups = prometheus.api("rules", &[]).await.ok()?;
            let rules: Vec<Value> = groups["groups"]
                .as_array()?
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect();
            rules.iter().all(|r| r["health"] == "ok").then_some(rules)
        },
    )
    .await;
    assert_eq!(rules.len(), exprs.len(), "Prometheus loaded every rule");
    // A healthy consortium fires nothing.
    let firing: Vec<&Value> = rules.iter().filter(|r| r["state"] == "firing").collect();
    assert!(
        firing.is_empty(),
        "alerts firing on a healthy consortium: {firing:?}\n{}",
        tail(&prometheus.log(), 20)
    );

    // 7. SIGTERM: each gateway drains, its /metrics listener too, and exits 0.
    for m in &mut members {
        let status = m.terminate();
        assert!(
            status.success(),
            "{}: {status}\n{}",
            m.name,
            tail(&m.log(), 30)
        );
    }
    for addr in &targets {
        assert!(
            scrape(*addr).await.is_err(),
            "/metrics on {addr} after SIGTERM"
        );
    }
}
