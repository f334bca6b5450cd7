//! Shared helpers: Debian's promtool, a sample gateway snapshot, a raw HTTP/1.1 client.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use causeway_monitoring::{
    AnchorFigures, ApiRouteFigures, ChainFigures, CheckpointFigures, EnvelopeFigures,
    EnvelopeOperation, GatewaySnapshot, Histogram, LaneFigures, LaneStoreFigures, NodeFigures,
    Outcome, PeerFigures, RpcFigures, StatusCounts, StoreTransactionFigures, ValidatorFigures,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The crate's folder (`monitoring/`).
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Debian's promtool: `CAUSEWAY_PROMTOOL`, else `.tools/debian/usr/bin/promtool` of the
/// workspace (installed by `scripts/setup.sh`).
pub(crate) fn promtool() -> PathBuf {
    let path = std::env::var_os("CAUSEWAY_PROMTOOL")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("../.tools/debian/usr/bin/promtool"));
    assert!(
        path.is_file(),
        "promtool not found at {} (fix: run scripts/setup.sh, or set CAUSEWAY_PROMTOOL)",
        path.display()
    );
    path
}

/// Runs promtool with `args` (and `stdin`), returns (success, stdout + stderr).
pub(crate) fn run_promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write as _;
    let mut child = Command::new(promtool())
        .args(args)
        .current_dir(crate_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool starts");
    {
        let mut input = child.stdin.take().expect("stdin is piped");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("promtool reads");
        }
    }
    let out = child.wait_with_output().expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn histogram() -> Histogram {
    Histogram {
        buckets: vec![(0.01, 1), (0.1, 3), (1.0, 4)],
        count: 5,
        sum_seconds: 2.5,
    }
}

/// A gateway of org1 with two chains, one lane each way and two other members.
pub(crate) fn sample() -> GatewaySnapshot {
    let lane = |name: &str, origin: &str, destination: &str| LaneFigures {
        lane: name.into(),
        origin: origin.into(),
        destination: destination.into(),
        threshold: 2,
        validators_configured: 3,
        paused: false,
        store: Some(LaneStoreFigures {
            messages: StatusCounts {
                pending: 1,
                leased: 0,
                submitted: 2,
                confirmed: 40,
                dead_letter: 0,
            },
            oldest_pending_age_seconds: Some(1.5),
            own_checkpoint: Some(CheckpointFigures {
                size: 43,
                age_seconds: 0.5,
            }),
            threshold_checkpoint: None,
            last_delivery_age_seconds: Some(2.0),
            equivocators: 0,
            validators: ["org1", "org2", "org3"]
                .iter()
                .map(|m| ValidatorFigures {
                    member: (*m).into(),
                    checkpoints_signed: 7,
                    last_signed: (*m != "org3").then_some(CheckpointFigures {
                        size: 43,
                        age_seconds: 0.5,
                    }),
                    equivocated: false,
                })
                .collect(),
        }),
        counters: Default::default(),
        stages: vec![("attest", histogram()), ("submit", histogram())],
    };
    let chain = |name: &str| ChainFigures {
        chain: name.into(),
        final_height: Some(120),
        cursor_height: Some(118),
        log_leaves: Some(43),
        observed: 43,
        verified: 43,
        accepted: 43,
        source_errors: 1,
        invalid_proofs: 0,
        halted: false,
        stages: vec![("watch", histogram())],
        nodes: NodeFigures {
            head_height: Some(126),
            rpc: vec![RpcFigures {
                method: "logs",
                requests: 9,
                errors: 1,
                latency: histogram(),
            }],
            reorgs_above_cursor: 1,
            deliveries_mined: 2,
            delivery_gas: 300_000,
            delivery_fees_wei: 6.0e14,
            deliverer_balance_wei: Some(1.0e19),
            ..NodeFigures::default()
        },
    };
    GatewaySnapshot {
        member: "org1".into(),
        store_up: true,
        store_size_bytes: Some(65_536),
        chains: vec![chain("alliance"), chain("public")],
        lanes: vec![
            lane("alliance-to-public", "alliance", "public"),
            lane("public-to-alliance", "public", "alliance"),
        ],
        peers: ["org2", "org3"]
            .iter()
            .map(|m| PeerFigures {
                member: (*m).into(),
                connected: *m == "org2",
                ..PeerFigures::default()
            })
            .collect(),
        peer_server: Default::default(),
        store_transactions: vec![StoreTransactionFigures {
            handle: "pipeline",
            kind: "write",
            latency: histogram(),
            failures: 1,
        }],
        envelope_operations: vec![EnvelopeFigures {
            operation: EnvelopeOperation::Decrypt,
            outcome: Outcome::Denied,
            count: 2,
        }],
        anchors: vec![AnchorFigures {
            anchoring: "alliance-on-public".into(),
            origin: "alliance".into(),
            chain: "public".into(),
            sent: 4,
            landed: 3,
            stale: 1,
            failed: 2,
            anchored_size: 40,
        }],
        api: vec![ApiRouteFigures {
            route: "/v1/messages/{id}".into(),
            method: "GET",
            statuses: vec![(200, 5), (404, 1)],
            latency: histogram(),
        }],
    }
}

/// A response as read off the wire: status line, headers (lower-cased names), body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    /// The first header named `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` (raw bytes; it should say `Connection: close`) to `addr` and reads the
/// whole reply.
pub(crate) async fn http(addr: std::net::SocketAddr, request: &str) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the listener accepts");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("the reply comes within 20 s")
        .expect("the reply is read");
    let raw = String::from_utf8(raw).expect("the reply is UTF-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}
