//! `POST /v1/messages` in process (no chain: nothing is dispatched): the token's scope is
//! checked, every refusal is a 4xx with a code and writes nothing, an accepted request is
//! recorded durably and audited before the 202, and `GET /v1/requests/{id}` reports it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use alloy::transports::http::reqwest;
use causeway_gateway::api::send::Sending;
use causeway_gateway::api::{self, ApiState};
use causeway_gateway::private::Directory;
use causeway_gateway::private::fetch::Envelopes;
use causeway_privacy::KeyPair;
use causeway_proofs::Domain;
use causeway_relayer::store::{
    ApiStore, Lane, NewToken, OutboundStore, Scope, SendKind, SendRequestId, SqliteStore, Store,
    UnixMillis,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn token(store: &SqliteStore, scopes: &[Scope]) -> String {
    let secret = api::auth::new_secret();
    store
        .create_token(&NewToken {
            name: "app",
            hash: secret.hash,
            scopes,
            expires_at: None,
            actor: "test",
            now: UnixMillis::now(),
        })
        .unwrap();
    secret.token.to_string()
}

#[tokio::test]
async fn a_send_is_recorded_and_audited_before_the_answer_and_a_refusal_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("api.sqlite")).unwrap());
    let sender = token(&store, &[Scope::Send]);
    let reader = token(&store, &[Scope::Read]);
    let own = KeyPair::generate();
    let members = BTreeMap::from([
        ("org1".to_owned(), *own.public_key()),
        ("org2".to_owned(), *KeyPair::generate().public_key()),
        ("org3".to_owned(), *KeyPair::generate().public_key()),
    ]);
    let lane = Lane {
        origin: Domain(1),
        destination: Domain(2),
    };
    let directory = Arc::new(Directory::new(
        "org1".into(),
        own,
        members,
        [(lane, vec!["org3".to_owned()])].into(),
    ));
    let dyn_store: Arc<dyn Store> = store.clone();
    let sending = Sending::start(
        Arc::clone(&dyn_store),
        HashSet::from([Domain(1)]),
        HashSet::from([lane]),
        Envelopes::new(Arc::clone(&dyn_store), directory, None),
    );
    let cancel = CancellationToken::new();
    let state = ApiState::new(dyn_store, vec![], vec![], cancel.clone()).with_sending(sending);
    let (router, _) = api::router(state);
    let server = api::server::serve("127.0.0.1:0".parse().unwrap(), None, router, cancel.clone())
        .await
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    let client = reqwest::Client::new();
    let post = |token: Option<&str>, body: String| {
        let mut r = client
            .post(format!("{base}/v1/messages"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (status, serde_json::from_str::<Value>(&text).unwrap())
        }
    };
    let public = |body: &str| {
        json!({"origin": 1, "destination": 2, "recipient": format!("0x{}", "22".repeat(20)), "body": body})
            .to_string()
    };
    let private = |payload: &str, disclose: Value| {
        format!(
            r#"{{"origin":1,"destination":2,"recipient":"0x{}","private":{{"payload":{payload},"recipients":["org2"],"disclose":{disclose}}}}}"#,
            "22".repeat(20)
        )
    };

    let refusals: Vec<(Option<&str>, String, u16, &str)> = vec![
        (None, public("0x01"), 401, "unauthenticated"),
        (Some(&reader), public("0x01"), 403, "missing_scope"),
        (Some(&sender), public("0xzz"), 400, "bad_body"),
        (Some(&sender), public(&format!("0x{}", "ab".repeat(70_000))), 413, "body_too_large"),
        (
            Some(&sender),
            json!({"origin": 2, "destination": 1, "recipient": format!("0x{}", "22".repeat(20)), "body": "0x"}).to_string(),
            409,
            "origin_not_sendable",
        ),
        (
            Some(&sender),
            json!({"origin": 1, "destination": 3, "recipient": format!("0x{}", "22".repeat(20)), "body": "0x"}).to_string(),
            400,
            "no_lane",
        ),
        (Some(&sender), private(r#"{"amount": 1}"#, json!(["price"])), 400, "unknown_field"),
        (
            Some(&sender),
            private(r#"{"amount": 115792089237316195423570985008687907853269984665640564039457584007913129639935}"#, json!([])),
            400,
            "bad_payload",
        ),
        (Some(&sender), private(r#"[1, 2]"#, json!([])), 400, "bad_payload"),
        (
            Some(&sender),
            private(r#"{"amount": 1, "amount": 2}"#, json!([])),
            400,
            "bad_payload",
        ),
    ];
    for (token, body, status, code) in refusals {
        let (got, answer) = post(token, body.clone()).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{body:.200}: {answer}"
        );
        assert!(answer["hint"].as_str().is_some_and(|h| !h.is_empty()));
    }
    assert!(
        store.send_request(SendRequestId(1)).unwrap().is_none(),
        "a refusal wrote nothing"
    );
    let audited = |s: &SqliteStore| {
        s.audit_trail(0, 100)
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "message.send")
            .count()
    };
    assert_eq!(audited(&store), 0);

    let (status, answer) = post(Some(&sender), public("0x68656c6c6f")).await;
    assert_eq!(status, 202, "{answer}");
    let first = SendRequestId(answer["request_id"].as_u64().unwrap());
    // Durable and audited when the answer came, seen from another connection.
    let other = SqliteStore::open(store.path()).unwrap();
    let recorded = other.send_request(first).unwrap().expect("recorded");
    assert_eq!(recorded.kind, SendKind::Public);
    assert_eq!(recorded.payload.as_deref(), Some(&b"hello"[..]));
    assert_eq!(audited(&other), 1);

    let (status, answer) = post(
        Some(&sender),
        private(r#"{"amount": 125, "note": "x"}"#, json!(["amount"])),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer["readers"],
        json!(["org1", "org2", "org3"]),
        "the lane's auditor reads it"
    );
    let (status, view) = {
        let resp = client
            .get(format!("{base}/v1/requests/{}", answer["request_id"]))
            .bearer_auth(&sender)
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            serde_json::from_str::<Value>(&resp.text().await.unwrap()).unwrap(),
        )
    };
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["state"].as_str(), view["kind"].as_str()),
        (Some("accepted"), Some("private"))
    );
    assert_eq!(view["message_id"], Value::Null);
    cancel.cancel();
    server.join().await;
}
