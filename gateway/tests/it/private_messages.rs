//! Private messages end to end with real processes (issue 12): four member organisations, each
//! its own `causeway run`, over two anvil chains; org4 is the lane's auditor. An application
//! posts a private message to org1's API for org2 disclosing one field; org1's gateway seals
//! and dispatches it; the example `PrivateRecipient` on the destination accepts it only because
//! the disclosed field proves against the commitment. Then: the recipient decrypts; a
//! non-recipient gets 403 (its gateway is refused by the others' peer servers); the auditor
//! decrypts and its presence is visible from the chain alone; a grant lets the third member
//! decrypt and its revocation stops it; no chain holds the undisclosed field's plaintext.

use std::path::Path;
use std::time::{Duration, Instant};

use alloy::eips::BlockNumberOrTag;
use alloy::providers::Provider as _;
use alloy::providers::ext::AnvilApi as _;
use alloy::rpc::types::Filter;
use alloy::transports::http::reqwest;
use causeway_devnet::contracts::deploy_private_recipient;
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_B, DevChain};
use causeway_privacy::KeyPair;
use serde_json::{Value, json};

use crate::consortium::{Member, chains, members, tail, wait_delivered};
use crate::support::{causeway, text};

const SECRET: &str = "123-45-6789";

pub(crate) fn api_of(member: &Member) -> String {
    let toml = std::fs::read_to_string(member.config()).unwrap();
    let listen = toml
        .lines()
        .skip_while(|l| l.trim() != "[api]")
        .find_map(|l| l.trim().strip_prefix("listen = "))
        .expect("an [api] listen");
    format!("http://{}", listen.trim_matches('"'))
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from} in {}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

pub(crate) fn token(member: &Member) -> String {
    let config = member.config();
    let out = causeway(&[
        "token",
        "create",
        "--config",
        config.to_str().unwrap(),
        "--name",
        "app",
        "--scope",
        "read,send,decrypt",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Starts every member's `causeway run` and waits (bounded by `limit`) until each one's API
/// answers `/healthz`; a member that exits meanwhile fails the test with its log.
pub(crate) async fn start_with_apis(members: &mut [Member], limit: Duration) -> Vec<Api> {
    let apis: Vec<Api> = members
        .iter()
        .map(|m| Api {
            base: api_of(m),
            token: token(m),
            client: reqwest::Client::new(),
        })
        .collect();
    for m in members.iter_mut() {
        m.start();
    }
    let deadline = Instant::now() + limit;
    for (api, m) in apis.iter().zip(members.iter_mut()) {
        loop {
            let up = api.client.get(format!("{}/healthz", api.base)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            m.assert_running();
            assert!(
                Instant::now() < deadline,
                "{} API not up:\n{}",
                m.name,
                tail(&m.log(), 40)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    apis
}

pub(crate) struct Api {
    pub(crate) base: String,
    pub(crate) token: String,
    pub(crate) client: reqwest::Client,
}

impl Api {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn decrypt(&self, id: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/envelopes/{id}/decrypt"),
            None,
        )
        .await
    }
}

/// `causeway_envelope_operations_total{operation, outcome}` as `member`'s `/metrics` shows it.
async fn envelope_operations(member: &Member, operation: &str, outcome: &str) -> f64 {
    let listen = causeway_config::Config::load(member.config())
        .unwrap()
        .monitoring()
        .listen;
    let text = reqwest::get(format!("http://{listen}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!(
        r#"causeway_envelope_operations_total{{operation="{operation}",outcome="{outcome}"}} "#
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: no {series}in\n{text}", member.name))
}

/// Every byte any block of `chain` holds in a transaction's input or a log's data.
async fn chain_bytes(chain: &DevChain) -> Vec<u8> {
    let mut all = Vec::new();
    let head = chain.provider.get_block_number().await.unwrap();
    for n in 0..=head {
        let block = chain
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .full()
            .await
            .unwrap()
            .expect("a block");
        for tx in block.transactions.txns() {
            all.extend_from_slice(alloy::consensus::Transaction::input(tx));
        }
    }
    for log in chain
        .provider
        .get_logs(&Filter::new().from_block(0))
        .await
        .unwrap()
    {
        all.extend_from_slice(&log.data().data);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_message_travels_end_to_end_between_member_processes() {
    let committee = Committee::new("causeway-gateway-private", 4, 3);
    let devnet = chains(&committee).await;
    let dir = tempfile::tempdir().unwrap();
    let mut members = members(dir.path(), &devnet, &committee);
    assert_eq!(members.len(), 4);
    // org4 audits alpha -> beta; org1 sends on alpha with a key of its own.
    for m in &members {
        edit(
            &m.config(),
            "[lanes.alpha-to-beta]\n",
            "[lanes.alpha-to-beta]\nauditors = [\"org4\"]\n",
        );
    }
    let sender_key = devnet.a.node.dev_keys()[9].to_bytes();
    let key_file = members[0].dir.join("keys/alpha-sender.key");
    std::fs::write(&key_file, format!("0x{}\n", hex::encode(sender_key.0))).unwrap();
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    edit(
        &members[0].config(),
        "signer_key_files = [\"keys/alpha-signer.key\"]\n",
        "signer_key_files = [\"keys/alpha-signer.key\"]\nsender_key_file = \"keys/alpha-sender.key\"\n",
    );
    for m in &members {
        let out = causeway(&["config", "check", "--config", m.config().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", m.name, text(&out));
    }
    let apis = start_with_apis(&mut members, Duration::from_secs(60)).await;

    let recipient = deploy_private_recipient(
        &devnet.b.provider,
        *devnet.b.inbox.address(),
        CHAIN_B.domain.0,
        "amount",
    )
    .await
    .unwrap();
    let to = address32(*recipient.address()).to_hex();
    let payload = json!({"amount": 125, "ssn": SECRET, "memo": "invoice 7"});
    let send = |recipients: Value| {
        json!({
            "origin": devnet.a.spec.domain.0,
            "destination": devnet.b.spec.domain.0,
            "recipient": to,
            "private": {"payload": payload, "recipients": recipients, "disclose": ["amount"]},
        })
    };
    // Refused before anything is written: an unknown recipient, unknown fields, a member's API
    // without a sender key.
    let (status, body) = apis[0]
        .call(
            reqwest::Method::POST,
            "/v1/messages",
            Some(send(json!(["nobody"]))),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("unknown_recipient")),
        "{body}"
    );
    let mut extra = send(json!(["org2"]));
    extra["colour"] = json!("blue");
    let (status, body) = apis[0]
        .call(reqwest::Method::POST, "/v1/messages", Some(extra))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_json")),
        "{body}"
    );
    let (status, body) = apis[1]
        .call(
            reqwest::Method::POST,
            "/v1/messages",
            Some(send(json!(["org1"]))),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("origin_not_sendable")),
        "{body}"
    );

    let (status, accepted) = apis[0]
        .call(
            reqwest::Method::POST,
            "/v1/messages",
            Some(send(json!(["org2"]))),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["readers"], json!(["org1", "org2", "org4"]));
    let request = accepted["request_id"].as_u64().unwrap();
    assert_eq!(request, 1, "the refused requests wrote nothing");

    // Dispatched by org1's gateway: the request names the message id.
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let (_, r) = apis[0]
            .call(
                reqwest::Method::GET,
                &format!("/v1/requests/{request}"),
                None,
            )
            .await;
        if r["state"] == "dispatched" {
            break r["message_id"].as_str().unwrap().to_owned();
        }
        assert_ne!(r["state"], "failed", "{r}");
        members[0].assert_running();
        assert!(
            Instant::now() < deadline,
            "not dispatched: {r}\n{}",
            tail(&members[0].log(), 60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id32: alloy::primitives::B256 = id.parse().unwrap();
    wait_delivered(
        &devnet,
        &mut members,
        &[id32],
        &[],
        Duration::from_secs(180),
    )
    .await;
    // The example recipient accepted it: the disclosed amount proved against the commitment.
    assert_eq!(
        recipient.accepted().call().await.unwrap(),
        alloy::primitives::U256::from(1)
    );
    assert_eq!(recipient.lastValue().call().await.unwrap().to_vec(), b"125");

    // The recipient reads it (its gateway fetched the envelope from org1's).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = apis[1].decrypt(&id).await;
        if status == 200 {
            assert_eq!(body["payload"], payload);
            assert_eq!(body["access"], "recipient");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "org2 cannot decrypt: {status} {body}\n{}",
            tail(&members[1].log(), 60)
        );
        devnet.a.provider.evm_mine(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A member that is not a recipient: 403, from every other member's peer server too.
    let (status, body) = apis[2].decrypt(&id).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_a_reader")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("not a reader"),
        "{body}"
    );
    // Each decryption is in the decrypting gateway's audit table with the token that asked; the
    // refused one wrote nothing.
    let decrypts = |m: &Member| {
        let config = causeway_config::Config::load(m.config()).unwrap();
        let causeway_config::Storage::Sqlite { path } = config.storage() else {
            panic!("a SQLite store")
        };
        let store = causeway_relayer::store::SqliteStore::open(path).unwrap();
        causeway_relayer::store::ApiStore::audit_trail(&store, 0, 1000)
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "envelope.decrypt")
            .collect::<Vec<_>>()
    };
    let audited = decrypts(&members[1]);
    assert!(!audited.is_empty(), "org2's decryption is audited");
    assert!(audited.iter().all(|r| r.target == id), "{audited:?}");
    assert!(
        audited
            .iter()
            .all(|r| r.actor.starts_with("token:") && r.actor.ends_with(":app")),
        "{audited:?}"
    );
    assert!(
        decrypts(&members[2]).is_empty(),
        "a refused decryption is not audited"
    );
    // The auditor reads it, and anyone can see from the chain that it could.
    let (status, body) = apis[3].decrypt(&id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["payload"], payload);
    let auditor = KeyPair::read_from_file(&members[3].dir.join("keys/privacy.key")).unwrap();
    let (status, disclosed) = apis[2]
        .call(
            reqwest::Method::GET,
            &format!("/v1/messages/{id}/disclosure"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{disclosed}");
    assert_eq!(disclosed["fields"], json!({"amount": 125}));
    assert!(
        disclosed["recipients"]
            .as_array()
            .unwrap()
            .contains(&json!(hex::encode(auditor.key_id().0))),
        "{disclosed}"
    );

    // org2 grants org3: it reads it; revoked: refused again.
    let (status, body) = apis[1]
        .call(
            reqwest::Method::POST,
            &format!("/v1/envelopes/{id}/grants"),
            Some(json!({"member": "org3"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = apis[2].decrypt(&id).await;
    assert_eq!(
        (status, body["access"].as_str()),
        (200, Some("grantee")),
        "{body}"
    );
    assert_eq!(body["payload"], payload);
    let (status, body) = apis[1]
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/envelopes/{id}/grants/org3"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = apis[2].decrypt(&id).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_a_reader")),
        "{body}"
    );
    let (_, grants) = apis[1]
        .call(
            reqwest::Method::GET,
            &format!("/v1/envelopes/{id}/grants"),
            None,
        )
        .await;
    assert_eq!(grants["grants"].as_array().unwrap().len(), 2, "{grants}");

    // Each gateway counted what was done with the envelope, by operation and outcome.
    for (member, operation, outcome, expected) in [
        (2, "decrypt", "denied", 2.0),
        (2, "decrypt", "ok", 1.0),
        (2, "disclosure", "ok", 1.0),
        (1, "grant", "ok", 1.0),
        (1, "revoke", "ok", 1.0),
        (1, "decrypt", "denied", 0.0),
        (3, "decrypt", "ok", 1.0),
    ] {
        assert_eq!(
            envelope_operations(&members[member], operation, outcome).await,
            expected,
            "{} {operation} {outcome}",
            members[member].name
        );
    }
    // org1's peer server served the envelope to org2's and org4's gateways and refused org3's.
    assert!(envelope_operations(&members[0], "fetch", "ok").await >= 2.0);
    assert!(envelope_operations(&members[0], "fetch", "denied").await >= 2.0);

    // No chain holds the undisclosed field.
    for chain in [&devnet.a, &devnet.b] {
        let bytes = chain_bytes(chain).await;
        assert!(!bytes.is_empty());
        assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
        assert!(!bytes.windows(9).any(|w| w == b"invoice 7"));
    }
    for m in &mut members {
        assert!(m.terminate().success(), "{}", tail(&m.log(), 40));
    }
}
