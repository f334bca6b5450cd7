//! The `/v1` HTTP API served on a real socket over a real SQLite store filled through the store
//! API (messages confirmed, dead-lettered, leased, pending; a checkpoint signed by a quorum over
//! the real log root): authentication and scopes, every route's happy path, JSON errors for
//! every refusal, limits, the event stream resumed with Last-Event-ID, the audited retry, and
//! the OpenAPI document against the router.

use std::sync::Arc;
use std::time::Duration;

use alloy::transports::http::reqwest::{self, Method};
use causeway_devnet::fixtures::Committee;
use causeway_gateway::api::auth::new_secret;
use causeway_gateway::api::{self, ApiState, ChainEntry, ChainHeights, Heights};
use causeway_gateway::proof::LaneTrust;
use causeway_proofs::bundle::SourceReference;
use causeway_proofs::hash::keccak256;
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{
    Address32, Checkpoint, Domain, EvmAddress, HashAlgorithm, LogSize, Message, MessageId, Nonce,
    ProofBundle, SigningDomain, TrustAnchor, ValidatorSet,
};
use causeway_relayer::store::{
    AcceptBatch, AcceptedEvent, ApiStore, Attempt, CheckpointRecord, CheckpointStore, Confirmation,
    DeliveryStore, FailureReport, Lane, LeaseOwner, LeaseRequest, NewToken, RetryPolicy, Scope,
    SourceCursor, SourceStore, SqliteStore, Store, UnixMillis, ValidatorSignature,
};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const ALPHA: Domain = Domain(31_337);
const BETA: Domain = Domain(31_338);
const LANE: Lane = Lane {
    origin: ALPHA,
    destination: BETA,
};

fn signing_domain() -> SigningDomain {
    SigningDomain {
        origin: ALPHA,
        origin_chain_id: 1,
        destination: BETA,
        destination_chain_id: 2,
        inbox: SigningDomain::named_inbox("api-test"),
        validator_epoch: 1,
    }
}

fn message(nonce: u64) -> Message {
    Message::new(
        Nonce(nonce),
        ALPHA,
        Address32::from(EvmAddress([0x11; 20])),
        BETA,
        Address32::from(EvmAddress([0x22; 20])),
        format!("body {nonce}").into_bytes(),
    )
    .unwrap()
}

/// A chain that answers what it was given.
pub(crate) struct Fixed(Result<Heights, String>);

impl ChainHeights for Fixed {
    fn heights(&self) -> BoxFuture<'_, Result<Heights, String>> {
        let answer = self.0.clone();
        Box::pin(async move { answer })
    }
}

fn chain(name: &str, domain: Domain, answer: Result<Heights, String>) -> ChainEntry {
    ChainEntry::new(name.into(), domain.0, "evm".into(), Arc::new(Fixed(answer)))
}

pub(crate) fn up_chains() -> Vec<ChainEntry> {
    vec![
        chain(
            "alpha",
            ALPHA,
            Ok(Heights {
                head: Some(120),
                final_height: Some(100),
            }),
        ),
        chain(
            "beta",
            BETA,
            Ok(Heights {
                head: Some(7),
                final_height: Some(7),
            }),
        ),
    ]
}

/// The API under test, on 127.0.0.1, with its store and tokens.
pub(crate) struct Served {
    pub(crate) base: String,
    store: Arc<SqliteStore>,
    /// Five messages by nonce: 0 confirmed, 1 dead letter, 2 leased, 3 pending (all four
    /// under a quorum checkpoint of size 4), 4 pending beyond it.
    ids: Vec<MessageId>,
    trust: LaneTrust,
    read: String,
    pub(crate) admin: String,
    cancel: CancellationToken,
    server: Option<api::ApiServer>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Served {
    pub(crate) async fn start(chains: Vec<ChainEntry>) -> Served {
        Served::start_with(chains, api::REQUEST_TIMEOUT).await
    }

    async fn start_with(chains: Vec<ChainEntry>, timeout: Duration) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("api.sqlite")).unwrap());
        let committee = Committee::new("api-test", 3, 2);
        let ids = fill(&store, &committee);
        let validators =
            ValidatorSet::new(committee.keys().iter().map(|k| k.address()).collect(), 2).unwrap();
        let trust = LaneTrust {
            lane: LANE,
            signing_domain: signing_domain(),
            validators,
        };
        let read = token(&store, "reader", &[Scope::Read], None);
        let admin = token(&store, "operator", &[Scope::Read, Scope::Admin], None);
        let cancel = CancellationToken::new();
        let dyn_store: Arc<dyn Store> = store.clone();
        let context = api::ApiContext {
            lanes: vec![api::LaneSpec {
                name: "alpha-to-beta".into(),
                origin: ("alpha".into(), ALPHA),
                destination: ("beta".into(), BETA),
                threshold: 2,
                paused: false,
                validators: committee
                    .keys()
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (format!("org{}", i + 1), k.address()))
                    .collect(),
            }],
            ..api::ApiContext::default()
        };
        let state = ApiState::with_handles(
            dyn_store,
            Vec::new(),
            vec![trust.clone()],
            chains,
            context,
            cancel.clone(),
        );
        let (router, _) = api::router_with_timeout(state, timeout);
        let server =
            api::server::serve("127.0.0.1:0".parse().unwrap(), None, router, cancel.clone())
                .await
                .unwrap();
        Served {
            base: format!("http://{}", server.local_addr()),
            store,
            ids,
            trust,
            read,
            admin,
            cancel,
            server: Some(server),
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: status {status}, not JSON ({e}): {text:?}"));
        (status, value)
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub(crate) async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(s) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), s.join())
                .await
                .expect("the API stops on cancellation");
        }
    }
}

/// A token with `scopes`, its secret only in the returned text.
fn token(store: &SqliteStore, name: &str, scopes: &[Scope], expires: Option<UnixMillis>) -> String {
    let secret = new_secret();
    store
        .create_token(&NewToken {
            name,
            hash: secret.hash,
            scopes,
            expires_at: expires,
            actor: "test",
            now: UnixMillis::now(),
        })
        .unwrap();
    secret.token.to_string()
}

/// Accepts messages 0..5 at times 1000, 2000, …; a quorum checkpoint of size 4 over the real
/// log root; 0 delivered in block 42, 1 dead-lettered, 2 leased.
fn fill(store: &SqliteStore, committee: &Committee) -> Vec<MessageId> {
    let mut ids = Vec::new();
    for nonce in 0..5u64 {
        let m = message(nonce);
        ids.push(m.id());
        store
            .accept_events(&AcceptBatch {
                origin: ALPHA,
                events: &[AcceptedEvent {
                    source: SourceReference {
                        block_number: Some(10 + nonce),
                        block_hash: Some(keccak256(&(10 + nonce).to_be_bytes())),
                        transaction_hash: Some(keccak256(&m.encode())),
                        fabric_tx_id: None,
                        event_index: Some(0),
                    },
                    native_proof: None,
                    message: m,
                }],
                cursor: SourceCursor {
                    block_number: 10 + nonce,
                    block_hash: keccak256(&(10 + nonce).to_be_bytes()),
                },
                now: UnixMillis(1000 * (nonce + 1)),
            })
            .unwrap();
    }
    let mut log = Sha256Log::new();
    for id in &ids[..4] {
        log.append(id.as_hash());
    }
    let cp = Checkpoint::new(ALPHA, HashAlgorithm::Sha256, LogSize(4), log.root()).unwrap();
    let sigs: Vec<ValidatorSignature> = committee.keys()[..2]
        .iter()
        .map(|k| ValidatorSignature {
            validator: k.address(),
            signature: k.sign_checkpoint(&cp, &signing_domain()),
        })
        .collect();
    store
        .record_checkpoint(&CheckpointRecord {
            lane: LANE,
            checkpoint: cp,
            signatures: &sigs,
            now: UnixMillis(6000),
        })
        .unwrap();
    store
        .confirm(&Confirmation {
            ids: &[ids[0]],
            block: 42,
            now: UnixMillis(7000),
        })
        .unwrap();
    let owner = LeaseOwner("org1".into());
    let policy = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let lease = |now| {
        store
            .lease_pending(&LeaseRequest {
                lane: LANE,
                owner: &owner,
                limit: 1,
                lease_for: Duration::from_secs(3600),
                covered_by: LogSize(4),
                policy,
                rota: None,
                now: UnixMillis(now),
            })
            .unwrap()
            .remove(0)
    };
    let first = lease(8000);
    assert_eq!(first.message.id(), ids[1]);
    store
        .record_failure(&FailureReport {
            id: ids[1],
            attempt: Attempt::Leased {
                owner: &owner,
                lease: first.lease,
            },
            reason: "the recipient reverted at http://user:hunter2@10.0.0.1:8545/x",
            policy,
            jitter: 0,
            now: UnixMillis(9000),
        })
        .unwrap();
    assert_eq!(lease(10_000).message.id(), ids[2]);
    ids
}

fn code(v: &Value) -> &str {
    v["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in {v}"))
}

/// Every error body is exactly {code, message, hint}, all non-empty strings.
fn assert_error(v: &Value, expected: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["code", "hint", "message"], "{v}");
    for k in ["code", "hint", "message"] {
        assert!(!obj[k].as_str().unwrap().is_empty(), "{k} empty in {v}");
    }
    assert_eq!(code(v), expected, "{v}");
}

#[tokio::test]
async fn tokens_without_the_scope_or_life_are_refused() {
    let api = Served::start(up_chains()).await;
    let path = format!("/v1/messages/{}", api.ids[0]);
    let (status, body) = api.call(Method::GET, &path, None, None).await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthenticated");
    for bad in ["nonsense", "cwt_AAAA", &format!("{}x", api.read)] {
        let (status, body) = api.get(&path, bad).await;
        assert_eq!(status, 401, "{bad}");
        assert_error(&body, "unauthenticated");
    }
    // A well-formed token the store does not know.
    let (status, _) = api.get(&path, &new_secret().token).await;
    assert_eq!(status, 401);
    // Expired.
    let expired = token(&api.store, "old", &[Scope::Read], Some(UnixMillis(1)));
    let (status, body) = api.get(&path, &expired).await;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    // Revoked: works, then does not.
    let soon = token(&api.store, "soon-revoked", &[Scope::Read], None);
    assert_eq!(api.get(&path, &soon).await.0, 200);
    let id = api
        .store
        .tokens()
        .unwrap()
        .into_iter()
        .find(|t| t.name == "soon-revoked")
        .unwrap()
        .id;
    api.store
        .revoke_token(id, "test", UnixMillis::now())
        .unwrap();
    let (status, body) = api.get(&path, &soon).await;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    // Missing scope: 403, and the refused retry writes nothing.
    let retry = format!("/v1/messages/{}/retry", api.ids[1]);
    let audit_before = api.store.audit_trail(0, 100).unwrap();
    let (status, body) = api.call(Method::POST, &retry, Some(&api.read), None).await;
    assert_eq!(status, 403);
    assert_error(&body, "missing_scope");
    let admin_only = token(&api.store, "admin-only", &[Scope::Admin], None);
    let (status, body) = api.get(&path, &admin_only).await;
    assert_eq!(status, 403);
    assert_error(&body, "missing_scope");
    let trail = api.store.audit_trail(0, 100).unwrap();
    assert_eq!(
        trail.len(),
        audit_before.len() + 1,
        "only admin-only's creation"
    );
    assert_eq!(
        api.get(&path, &api.read).await.1["state"],
        "confirmed",
        "nothing changed"
    );
    // Health needs no token.
    assert_eq!(api.call(Method::GET, "/healthz", None, None).await.0, 200);
    api.stop().await;
}

#[tokio::test]
async fn a_message_shows_its_history_attestation_and_source() {
    let api = Served::start(up_chains()).await;
    let (status, m) = api
        .get(&format!("/v1/messages/{}", api.ids[1]), &api.read)
        .await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["id"], api.ids[1].to_hex());
    assert_eq!(m["origin"], ALPHA.0);
    assert_eq!(m["destination"], BETA.0);
    assert_eq!(m["nonce"], 1);
    assert_eq!(m["leaf_index"], 1);
    assert_eq!(m["accepted_at_ms"], 2000);
    assert_eq!(m["state"], "dead_letter");
    assert_eq!(m["source"]["block_number"], 11);
    assert_eq!(m["body"], format!("0x{}", hex::encode(b"body 1")));
    assert_eq!(m["attested"]["checkpoint_size"], 4);
    assert_eq!(m["attested"]["signatures"], 2);
    let history: Vec<(&str, u64)> = m["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["status"].as_str().unwrap(), e["at_ms"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        history,
        [("logged", 2000), ("leased", 8000), ("dead_lettered", 9000)]
    );
    let reason = m["history"][2]["reason"].as_str().unwrap();
    assert!(reason.starts_with("the recipient reverted"), "{reason}");
    assert!(
        !m.to_string().contains("hunter2"),
        "credentials leaked: {m}"
    );

    let (_, delivered) = api
        .get(&format!("/v1/messages/{}", api.ids[0]), &api.read)
        .await;
    assert_eq!(delivered["state"], "confirmed");
    assert_eq!(delivered["confirmed_block"], 42);
    let (_, beyond) = api
        .get(&format!("/v1/messages/{}", api.ids[4]), &api.read)
        .await;
    assert_eq!(beyond["attested"], Value::Null);

    let unknown = MessageId([9; 32].into());
    let (status, body) = api.get(&format!("/v1/messages/{unknown}"), &api.read).await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found");
    let (status, body) = api.get("/v1/messages/0x1234", &api.read).await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_id");
    api.stop().await;
}

#[tokio::test]
async fn search_filters_and_pages_with_an_opaque_cursor() {
    let api = Served::start(up_chains()).await;
    let ids: Vec<String> = api.ids.iter().map(|i| i.to_hex()).collect();
    let page_ids = |v: &Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, all) = api.get("/v1/messages", &api.read).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(page_ids(&all), ids);
    assert_eq!(all["next_cursor"], Value::Null);
    let (_, pending) = api.get("/v1/messages?status=pending", &api.read).await;
    assert_eq!(page_ids(&pending), ids[3..]);
    let sender = EvmAddress([0x11; 20]);
    let (_, by) = api
        .get(
            &format!(
                "/v1/messages?sender={sender}&origin={}&destination={}&since_ms=2000&until_ms=4000",
                ALPHA.0, BETA.0
            ),
            &api.read,
        )
        .await;
    assert_eq!(page_ids(&by), ids[1..3]);
    let (_, none) = api
        .get(&format!("/v1/messages?origin={}", BETA.0), &api.read)
        .await;
    assert!(page_ids(&none).is_empty());

    // Pages of two, following next_cursor, give every message once.
    let mut seen = Vec::new();
    let mut path = "/v1/messages?limit=2".to_owned();
    loop {
        let (status, page) = api.get(&path, &api.read).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page_ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/messages?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    for (bad, code_expected) in [
        ("/v1/messages?cursor=abc", "bad_query"),
        ("/v1/messages?limit=0", "bad_query"),
        ("/v1/messages?limit=5000", "bad_query"),
        ("/v1/messages?status=lost", "bad_query"),
        ("/v1/messages?origin=-1", "bad_query"),
        ("/v1/messages?sender=0x12", "bad_query"),
        ("/v1/messages?since_ms=18446744073709551615", "bad_query"),
        ("/v1/messages?colour=red", "bad_query"),
    ] {
        let (status, body) = api.get(bad, &api.read).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_error(&body, code_expected);
    }
    api.stop().await;
}

#[tokio::test]
async fn the_proof_route_serves_the_bundle_causeway_verify_checks() {
    let api = Served::start(up_chains()).await;
    let (status, bundle) = api
        .get(&format!("/v1/messages/{}/proof", api.ids[2]), &api.read)
        .await;
    assert_eq!(status, 200, "{bundle}");
    let bundle = ProofBundle::from_json(&bundle.to_string()).unwrap();
    let verdict = bundle
        .verify(&TrustAnchor {
            signing_domain: api.trust.signing_domain,
            validators: api.trust.validators.clone(),
        })
        .unwrap();
    assert_eq!(verdict.message_id, api.ids[2]);
    // Beyond the latest quorum checkpoint: not yet.
    let (status, body) = api
        .get(&format!("/v1/messages/{}/proof", api.ids[4]), &api.read)
        .await;
    assert_eq!(status, 409);
    assert_error(&body, "not_attested");
    api.stop().await;
}

#[tokio::test]
async fn retry_sends_a_dead_letter_back_once_and_audits_it() {
    let api = Served::start(up_chains()).await;
    let retry = |id: MessageId| format!("/v1/messages/{id}/retry");
    let before = api.store.audit_trail(0, 100).unwrap().len();
    // Strict JSON: an unknown field is refused and writes nothing.
    let (status, body) = api
        .call(
            Method::POST,
            &retry(api.ids[1]),
            Some(&api.admin),
            Some(r#"{"force":true}"#),
        )
        .await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_json");
    let (status, body) = api
        .call(
            Method::POST,
            &retry(api.ids[1]),
            Some(&api.admin),
            Some("{"),
        )
        .await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_json");
    assert_eq!(api.store.audit_trail(0, 100).unwrap().len(), before);
    assert_eq!(
        api.get(&format!("/v1/messages/{}", api.ids[1]), &api.read)
            .await
            .1["state"],
        "dead_letter"
    );

    let (status, body) = api
        .call(
            Method::POST,
            &retry(api.ids[1]),
            Some(&api.admin),
            Some("{}"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "id": api.ids[1].to_hex(), "state": "pending" })
    );
    let (_, m) = api
        .get(&format!("/v1/messages/{}", api.ids[1]), &api.read)
        .await;
    assert_eq!(m["state"], "pending");
    assert_eq!(
        m["history"].as_array().unwrap().last().unwrap()["status"],
        "retried"
    );
    let trail = api.store.audit_trail(0, 100).unwrap();
    assert_eq!(trail.len(), before + 1);
    let row = trail.last().unwrap();
    assert!(
        row.actor.starts_with("token:") && row.actor.ends_with(":operator"),
        "{row:?}"
    );
    assert_eq!(row.action, "message.retry");
    assert_eq!(row.target, api.ids[1].to_string());

    // Again: no longer a dead letter. Others: 409; unknown: 404. Nothing audited.
    for id in [api.ids[1], api.ids[0]] {
        let (status, body) = api
            .call(Method::POST, &retry(id), Some(&api.admin), None)
            .await;
        assert_eq!(status, 409, "{body}");
        assert_error(&body, "not_dead_lettered");
    }
    let (status, body) = api
        .call(
            Method::POST,
            &retry(MessageId([3; 32].into())),
            Some(&api.admin),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found");
    assert_eq!(api.store.audit_trail(0, 100).unwrap().len(), before + 1);
    api.stop().await;
}

#[tokio::test]
async fn every_refusal_is_a_json_error_with_the_right_status() {
    let api = Served::start(up_chains()).await;
    let (status, body) = api.get("/v1/nothing-here", &api.read).await;
    assert_eq!(status, 404);
    assert_error(&body, "route_not_found");
    let (status, body) = api
        .call(Method::DELETE, "/v1/messages", Some(&api.read), None)
        .await;
    assert_eq!(status, 405);
    assert_error(&body, "method_not_allowed");
    let (status, body) = api
        .call(
            Method::GET,
            &format!("/v1/messages/{}/retry", api.ids[1]),
            Some(&api.admin),
            None,
        )
        .await;
    assert_eq!(status, 405);
    assert_error(&body, "method_not_allowed");
    // A body over the limit: 413, nothing written.
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(api::MAX_BODY + 1));
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/v1/messages/{}/retry", api.ids[1]),
            Some(&api.admin),
            Some(&big),
        )
        .await;
    assert_eq!(status, 413);
    assert_error(&body, "body_too_large");
    assert_eq!(
        api.get(&format!("/v1/messages/{}", api.ids[1]), &api.read)
            .await
            .1["state"],
        "dead_letter"
    );
    // Headers over the limit: refused by the server (431), never a 5xx.
    let resp = api
        .client
        .get(format!("{}/healthz", api.base))
        .header("x-filler", "a".repeat(api::server::MAX_HEADER_BYTES + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 431);
    // Percent-encoded garbage in the path: 400 JSON.
    let (status, body) = api.get("/v1/messages/%FF%FE", &api.read).await;
    assert_eq!(status, 400, "{body}");
    api.stop().await;
}

#[tokio::test]
async fn chains_and_readiness_report_what_the_chains_answer() {
    let api = Served::start(up_chains()).await;
    let (status, chains) = api.get("/v1/chains", &api.read).await;
    assert_eq!(status, 200, "{chains}");
    assert_eq!(chains["chains"][0]["name"], "alpha");
    assert_eq!(chains["chains"][0]["status"], "up");
    assert_eq!(chains["chains"][0]["head"], 120);
    assert_eq!(chains["chains"][0]["final_height"], 100);
    assert_eq!(chains["chains"][0]["lag"], 20);
    let (status, ready) = api.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((status, ready), (200, json!({ "status": "ready" })));
    api.stop().await;

    let down = Served::start(vec![
        up_chains().remove(0),
        chain(
            "beta",
            BETA,
            Err(
                "eth_blockNumber failed: connection refused at http://user:hunter2@10.0.0.9/"
                    .into(),
            ),
        ),
    ])
    .await;
    let (_, chains) = down.get("/v1/chains", &down.read).await;
    assert_eq!(chains["chains"][1]["status"], "down");
    assert_eq!(chains["chains"][1]["head"], Value::Null);
    let error = chains["chains"][1]["error"].as_str().unwrap();
    assert!(
        error.contains("connection refused") && !error.contains("hunter2"),
        "{error}"
    );
    let (status, body) = down.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, 503);
    assert_error(&body, "not_ready");
    assert!(body["message"].as_str().unwrap().contains("beta"), "{body}");
    assert!(
        !body["message"].as_str().unwrap().contains("10.0.0.9"),
        "{body}"
    );
    down.stop().await;
}

#[tokio::test]
async fn lanes_show_backlog_checkpoint_and_each_validators_last_signature() {
    let api = Served::start(up_chains()).await;
    let (status, body) = api.call(Method::GET, "/v1/lanes", None, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = api.get("/v1/lanes", &api.read).await;
    assert_eq!(status, 200, "{body}");
    let lane = &body["lanes"][0];
    assert_eq!(body["lanes"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(lane["name"], "alpha-to-beta");
    assert_eq!(
        lane["origin"],
        json!({ "name": "alpha", "domain": ALPHA.0 })
    );
    assert_eq!(lane["destination"]["name"], "beta");
    assert_eq!(lane["log_size"], 5);
    let backlog = &lane["backlog"];
    assert_eq!(
        (
            &backlog["confirmed"],
            &backlog["dead_letter"],
            &backlog["leased"],
            &backlog["pending"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(2)),
        "{backlog}"
    );
    // The oldest undelivered message is nonce 2 (accepted at 3000): 0 is delivered and 1 a
    // dead letter.
    assert_eq!(backlog["oldest_pending_since_ms"], 3000, "{backlog}");
    assert_eq!(lane["threshold_checkpoint"]["size"], 4);
    assert_eq!(lane["threshold_checkpoint"]["signatures"], 2);
    assert_eq!(lane["threshold_checkpoint"]["recorded_at_ms"], 6000);
    assert_eq!(lane["last_delivery_at_ms"], 7000);
    let validators = lane["validators"].as_array().unwrap();
    assert_eq!(validators.len(), 3);
    for (i, v) in validators.iter().enumerate() {
        assert_eq!(v["member"], format!("org{}", i + 1));
        assert_eq!(v["equivocated"], false);
    }
    assert_eq!(validators[0]["last_signed_size"], 4);
    assert_eq!(validators[1]["checkpoints_signed"], 1);
    assert_eq!(
        validators[2]["last_signed_size"],
        Value::Null,
        "org3 never signed"
    );
    assert_eq!(validators[2]["checkpoints_signed"], 0);
    // No relayer runs beside this API: the counters since start are unknown, not zero.
    assert_eq!(lane["root_mismatches"], Value::Null);
    api.stop().await;
}

#[tokio::test]
async fn activity_lists_the_latest_status_changes_newest_first() {
    let api = Served::start(up_chains()).await;
    let (status, all) = api.get("/v1/activity?limit=500", &api.read).await;
    assert_eq!(status, 200, "{all}");
    let events = all["events"].as_array().unwrap();
    assert!(events.len() >= 5, "{all}");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    assert_eq!(all["last_seq"].as_u64(), Some(seqs[0]));
    let (_, two) = api.get("/v1/activity?limit=2", &api.read).await;
    assert_eq!(two["events"].as_array().unwrap().len(), 2);
    assert_eq!(two["events"][0], events[0]);
    assert_eq!(two["events"][1], events[1]);
    for bad in ["limit=0", "limit=501", "limit=x", "other=1"] {
        let (status, body) = api.get(&format!("/v1/activity?{bad}"), &api.read).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    api.stop().await;
}

#[tokio::test]
async fn the_status_page_is_served_without_a_token_under_a_strict_csp() {
    let api = Served::start(up_chains()).await;
    for (path, content_type) in [
        ("/ui", "text/html; charset=utf-8"),
        ("/ui/app.js", "text/javascript; charset=utf-8"),
        ("/ui/app.css", "text/css; charset=utf-8"),
    ] {
        let resp = api
            .client
            .get(format!("{}{path}", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(header("content-type").as_deref(), Some(content_type));
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some(api::ui::CSP)
        );
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        let body = resp.text().await.unwrap();
        assert!(!body.is_empty());
    }
    let (status, _) = api
        .call(Method::POST, "/ui", Some(&api.admin), Some("{}"))
        .await;
    assert_eq!(status, 405);
    api.stop().await;
}

/// Reads SSE events (id, data) from `resp` until `n` have arrived.
async fn read_events(
    resp: &mut reqwest::Response,
    buf: &mut String,
    n: usize,
) -> Vec<(u64, Value)> {
    let mut out = Vec::new();
    while out.len() < n {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut id = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().parse::<u64>().unwrap());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = Some(serde_json::from_str::<Value>(v.trim()).unwrap());
                }
            }
            if let (Some(id), Some(data)) = (id, data) {
                out.push((id, data));
            }
        }
        if out.len() >= n {
            break;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    out
}

#[tokio::test]
async fn the_event_stream_resumes_after_last_event_id_without_a_gap() {
    let api = Served::start(up_chains()).await;
    let open = |last: Option<u64>| {
        let mut req = api
            .client
            .get(format!("{}/v1/events", api.base))
            .bearer_auth(&api.read);
        if let Some(l) = last {
            req = req.header("Last-Event-ID", l.to_string());
        }
        req.send()
    };
    // From the start of the sequence: every event the store has, in order.
    let mut resp = open(Some(0)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut buf = String::new();
    let all = api.store.events_after(0, 1000).unwrap();
    let first = read_events(&mut resp, &mut buf, all.len()).await;
    let seqs: Vec<u64> = first.iter().map(|(id, _)| *id).collect();
    assert_eq!(seqs, all.iter().map(|e| e.seq).collect::<Vec<_>>());
    assert_eq!(first[0].1["status"], "logged");
    assert_eq!(first[0].1["id"], api.ids[0].to_hex());
    let last_seen = *seqs.last().unwrap();
    drop(resp);

    // While disconnected: the dead letter is retried and message 3 is confirmed.
    api.store
        .retry_dead_letter_as(api.ids[1], "test", UnixMillis(20_000))
        .unwrap();
    api.store
        .confirm(&Confirmation {
            ids: &[api.ids[3]],
            block: 50,
            now: UnixMillis(21_000),
        })
        .unwrap();
    let mut resp = open(Some(last_seen)).await.unwrap();
    let mut buf = String::new();
    let missed = read_events(&mut resp, &mut buf, 2).await;
    assert_eq!(missed[0].0, last_seen + 1, "no gap");
    assert_eq!(missed[0].1["status"], "retried");
    assert_eq!(missed[0].1["id"], api.ids[1].to_hex());
    assert_eq!(missed[1].1["status"], "confirmed");
    assert_eq!(missed[1].1["id"], api.ids[3].to_hex());
    // Live: an event after connecting arrives too.
    api.store
        .confirm(&Confirmation {
            ids: &[api.ids[4]],
            block: 51,
            now: UnixMillis(22_000),
        })
        .unwrap();
    let live = read_events(&mut resp, &mut buf, 1).await;
    assert_eq!(live[0].0, missed[1].0 + 1);
    assert_eq!(live[0].1["id"], api.ids[4].to_hex());
    drop(resp);

    let resp = api
        .client
        .get(format!("{}/v1/events", api.base))
        .bearer_auth(&api.read)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let resp = api
        .client
        .get(format!("{}/v1/events", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    api.stop().await;
}

/// The OpenAPI document and the router agree: every documented (path, method) is routed, no
/// other method is, and an undocumented path is not.
#[tokio::test]
async fn the_openapi_document_and_the_router_agree() {
    let api = Served::start(up_chains()).await;
    let (status, doc) = api.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.push((path.clone(), method.clone()));
            }
        }
    }
    documented.sort();
    let expected: Vec<(String, String)> = [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/v1/activity", "get"),
        ("/v1/chains", "get"),
        ("/v1/envelopes/{id}", "get"),
        ("/v1/envelopes/{id}/decrypt", "post"),
        ("/v1/envelopes/{id}/grants", "get"),
        ("/v1/envelopes/{id}/grants", "post"),
        ("/v1/envelopes/{id}/grants/{member}", "delete"),
        ("/v1/events", "get"),
        ("/v1/lanes", "get"),
        ("/v1/logs/{origin}/consistency", "get"),
        ("/v1/messages", "get"),
        ("/v1/messages", "post"),
        ("/v1/messages/{id}", "get"),
        ("/v1/messages/{id}/disclosure", "get"),
        ("/v1/messages/{id}/proof", "get"),
        ("/v1/messages/{id}/retry", "post"),
        ("/v1/openapi.json", "get"),
        ("/v1/queries", "post"),
        ("/v1/requests/{id}", "get"),
    ]
    .iter()
    .map(|(p, m)| (p.to_string(), m.to_string()))
    .collect();
    assert_eq!(documented, expected);
    let concrete = |p: &str| p.replace("{id}", &api.ids[0].to_hex());
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Skip the endless stream's GET (covered by its own test).
            if path == "/v1/events" && method == "get" {
                continue;
            }
            let (status, body) = api.call(m, &concrete(path), Some(&api.admin), None).await;
            let routed = item.get(method).is_some();
            if routed {
                assert!(
                    status != 404 || body["code"] != "route_not_found",
                    "{method} {path} is documented but not routed: {body}"
                );
                assert_ne!(
                    status, 405,
                    "{method} {path} is documented but refused: {body}"
                );
                let documented_statuses: Vec<&String> = item[method]["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .collect();
                assert!(
                    documented_statuses
                        .iter()
                        .any(|s| **s == status.to_string()),
                    "{method} {path} answered {status}, not among {documented_statuses:?}"
                );
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} is routed but undocumented: {body}"
                );
            }
        }
    }
    api.stop().await;
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_gets_408_and_writes_nothing() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let api = Served::start_with(up_chains(), Duration::from_millis(500)).await;
    let mut tcp = tokio::net::TcpStream::connect(api.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/messages/{}/retry HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        api.ids[1], api.admin
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut response))
        .await
        .expect("answered and closed within 10 s")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response.contains("\"code\":\"request_timeout\""),
        "{response}"
    );
    assert_eq!(
        api.get(&format!("/v1/messages/{}", api.ids[1]), &api.read)
            .await
            .1["state"],
        "dead_letter"
    );
    api.stop().await;
}

#[tokio::test]
async fn with_an_api_tls_identity_the_api_is_served_over_tls_only() {
    use crate::config_check::Org;
    let committee = Committee::new("api-tls", 3, 2);
    let org = Org::new(&committee);
    let toml = format!(
        "{}\n[api]\nlisten = \"127.0.0.1:0\"\ntls = {{ cert_file = \"tls/gateway.crt\", key_file = \"tls/gateway.key\" }}\n",
        org.gateway_toml(&committee, None)
    );
    let config = causeway_config::Config::load(org.write_config(&toml)).unwrap();
    // The API opens its own handles on the configured store.
    std::fs::create_dir_all(org.path().join("data")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("tls.sqlite")).unwrap());
    let cancel = CancellationToken::new();
    let server = api::start(
        &config,
        store,
        vec![],
        api::ApiContext::default(),
        cancel.clone(),
    )
    .await
    .unwrap();
    let port = server.local_addr().port();
    let cert = std::fs::read(org.path().join("tls/gateway.crt")).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
        .build()
        .unwrap();
    let resp = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), r#"{"status":"ok"}"#);
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(15))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
    cancel.cancel();
    server.join().await;
}

/// Client certificates (`[api] client_ca_file`): a certificate issued by the configured CA and
/// named by a token (`causeway token create --client-cert`) authenticates as that token, with
/// its scopes, until revoked; no certificate and no bearer token is 401; a CA-issued certificate
/// no token names is 401; a certificate from another CA fails the TLS handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_from_the_configured_ca_authenticates_as_its_token() {
    use causeway_devnet::pki::{ConsortiumCa, GatewayCertSpec};

    use crate::config_check::Org;
    use crate::support::{causeway, text};
    let committee = Committee::new("api-client-certs", 3, 2);
    let org = Org::new(&committee);
    let apps = ConsortiumCa::new("applications");
    apps.write_ca(&org.path().join("tls/apps-ca.crt")).unwrap();
    let clients = tempfile::tempdir().unwrap();
    let client = |ca: &ConsortiumCa, name: &str| {
        let cert = ca
            .issue(&GatewayCertSpec::new(name, &format!("{name}.example")))
            .unwrap();
        cert.write(clients.path(), name).unwrap();
        let mut pem = cert.cert_pem.clone();
        pem.extend_from_slice(cert.key_pem.as_bytes());
        reqwest::Identity::from_pem(&pem).unwrap()
    };
    let erp = client(&apps, "erp");
    let unnamed = client(&apps, "unnamed");
    let outsider = client(&ConsortiumCa::new("another-ca"), "outsider");
    let toml = format!(
        "{}\n[api]\nlisten = \"127.0.0.1:0\"\ntls = {{ cert_file = \"tls/gateway.crt\", key_file = \"tls/gateway.key\" }}\nclient_ca_file = \"tls/apps-ca.crt\"\n",
        org.gateway_toml(&committee, None)
    );
    let config_file = org.write_config(&toml);
    let config = causeway_config::Config::load(&config_file).unwrap();
    std::fs::create_dir_all(org.path().join("data")).unwrap();
    let out = causeway(&[
        "token",
        "create",
        "--config",
        config_file.to_str().unwrap(),
        "--name",
        "erp",
        "--scope",
        "read",
        "--client-cert",
        clients.path().join("erp.crt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("fingerprint"), "{}", text(&out));

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("c.sqlite")).unwrap());
    let cancel = CancellationToken::new();
    let server = api::start(
        &config,
        store,
        vec![],
        api::ApiContext::default(),
        cancel.clone(),
    )
    .await
    .unwrap();
    let port = server.local_addr().port();
    let server_ca = std::fs::read(org.path().join("tls/gateway.crt")).unwrap();
    let https = |identity: Option<reqwest::Identity>| {
        let mut builder = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&server_ca).unwrap())
            .timeout(Duration::from_secs(15));
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        builder.build().unwrap()
    };
    let get = |client: reqwest::Client, path: &'static str| async move {
        client
            .get(format!("https://localhost:{port}{path}"))
            .send()
            .await
    };
    // The certificate named by the token: its scopes.
    let resp = get(https(Some(erp.clone())), "/v1/chains").await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let id = format!("0x{}", "11".repeat(32));
    let resp = https(Some(erp.clone()))
        .post(format!("https://localhost:{port}/v1/messages/{id}/retry"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403, "the token has read only");
    // No certificate, no token: the handshake succeeds, the request is refused.
    let resp = get(https(None), "/v1/chains").await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("client certificate"),
        "{body}"
    );
    // Issued by the CA, but no token names it.
    let resp = get(https(Some(unnamed)), "/v1/chains").await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // Issued by another CA: no TLS connection at all.
    let refused = get(https(Some(outsider)), "/v1/chains").await;
    assert!(refused.is_err(), "{refused:?}");
    // Revoked: refused from then on.
    let out = causeway(&[
        "token",
        "revoke",
        "--config",
        config_file.to_str().unwrap(),
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let resp = get(https(Some(erp)), "/v1/chains").await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    cancel.cancel();
    server.join().await;
}
