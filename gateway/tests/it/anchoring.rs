//! Public anchoring, asserted inside the consortium's multi-process run (no slow test of its
//! own): alpha's log is anchored on beta's Anchor by the three `causeway run` processes, through
//! the kills and restarts; each anchor is a prefix of the real log (so they grew consistently);
//! `causeway verify --anchored` passes on a real bundle with its consistency proof (served by a
//! member's `GET /v1/logs/{origin}/consistency`, equal to the store's), with the Anchor named by
//! the trust file and nothing but `--anchor-rpc` on the command line, and refuses a bundle whose
//! checkpoint a colluding threshold signed over a rewritten history (which the lane's own checks
//! accept), a trust file whose Anchor is on another chain, and a bundle when nothing is anchored
//! yet. `causeway status` shows the anchoring: the anchored size, when, and the attempts the
//! running gateway counted. The Anchor's client fails over to the chain's next endpoint when one
//! is down, and reads the Anchor's events through a node that caps `eth_getLogs` ranges (against a
//! real anvil, in-process).

use std::path::Path;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider as _;
use alloy::providers::ext::AnvilApi as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use causeway_devnet::contracts::{Anchor, AnchorHandle, deploy_anchor};
use causeway_devnet::fixtures::{Committee, evm_signing_domain};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain, Devnet};
use causeway_gateway::anchor::consistency::ConsistencyFile;
use causeway_gateway::devnet::{AnchorEntry, Layout, LocalChain, write_anchored_members};
use causeway_gateway::proof::{LaneTrust, bundle_of};
use causeway_proofs::hash::keccak256;
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{
    Checkpoint, Hash32, HashAlgorithm, LeafIndex, LogSize, Message, MessageId, ProofBundle,
    Signature, SigningDomain, ValidatorSet,
};
use causeway_relayer::store::{Lane, QueryStore, SourceStore, SqliteStore};

use crate::consortium::{Member, member, tail};
use crate::private_messages::{Api, api_of, token};
use crate::support::{causeway, text, verify};
use alloy::transports::http::reqwest;

/// An Anchor on `chain` with the committee installed for alpha's log (beta's, in the consortium
/// tests).
pub(crate) async fn deploy(chain: &DevChain, committee: &Committee) -> AnchorHandle {
    let anchor = deploy_anchor(&chain.provider, chain.admin).await.unwrap();
    let receipt = anchor
        .setValidators(
            CHAIN_A.domain.0,
            CHAIN_A.chain_id,
            committee.addresses(),
            committee.threshold(),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    anchor
}

/// The consortium's members ([`crate::consortium::members`]) with alpha anchored on `anchor`
/// every 2 s, each member sending from its own anvil account.
pub(crate) fn anchored_members(
    dir: &Path,
    devnet: &Devnet,
    committee: &Committee,
    anchor: Address,
) -> Vec<Member> {
    let chains = [
        LocalChain {
            name: "alpha",
            chain: &devnet.a,
        },
        LocalChain {
            name: "beta",
            chain: &devnet.b,
        },
    ];
    let layout = Layout {
        batch_size: 16,
        delivery_grace_ms: 1500,
        poll_interval_ms: 100,
        first_signer: 5,
    };
    let mut entry = AnchorEntry::of_local("alpha", &chains[1], anchor, 3, 2).unwrap();
    entry.every_secs = 2;
    entry.takeover_secs = 4;
    let lanes = [("alpha", "beta"), ("beta", "alpha")];
    write_anchored_members(
        dir,
        committee,
        &chains,
        None,
        &[],
        &lanes,
        &[entry],
        &layout,
    )
    .unwrap()
    .into_iter()
    .map(member)
    .collect()
}

/// The lane alpha -> beta as its Inbox checks it.
async fn lane_trust(devnet: &Devnet, committee: &Committee) -> LaneTrust {
    let set = devnet
        .b
        .inbox
        .validatorSet(CHAIN_A.domain.0)
        .call()
        .await
        .unwrap();
    LaneTrust {
        lane: Lane {
            origin: CHAIN_A.domain,
            destination: CHAIN_B.domain,
        },
        signing_domain: evm_signing_domain(
            CHAIN_A.domain,
            CHAIN_A.chain_id,
            CHAIN_B.domain,
            CHAIN_B.chain_id,
            *devnet.b.inbox.address(),
            set.epoch,
        ),
        validators: ValidatorSet::new(
            committee.keys().iter().map(|k| k.address()).collect(),
            usize::from(committee.threshold()),
        )
        .unwrap(),
    }
}

/// Writes the lane's trust file into `dir`.
fn write_trust(dir: &Path, trust: &LaneTrust) -> std::path::PathBuf {
    let path = dir.join("trust.json");
    std::fs::write(&path, trust_json(trust).to_string()).unwrap();
    path
}

/// The lane's trust file.
fn trust_json(trust: &LaneTrust) -> serde_json::Value {
    let mut domain = serde_json::json!(trust.signing_domain);
    domain["inbox"] = serde_json::json!(trust.signing_domain.inbox.to_evm().unwrap());
    serde_json::json!({
        "signing_domain": domain,
        "validators": trust.validators.members(),
        "threshold": trust.validators.threshold(),
    })
}

/// Writes the lane's trust file naming `anchor` on chain `chain_id` into `dir/name`.
fn write_trust_with_anchor(
    dir: &Path,
    name: &str,
    trust: &LaneTrust,
    anchor: Address,
    chain_id: u64,
) -> std::path::PathBuf {
    let mut json = trust_json(trust);
    json["anchor"] = serde_json::json!({ "address": anchor.to_string(), "chain_id": chain_id });
    let path = dir.join(name);
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

/// A bundle of `message` at leaf 0 of a log of `leaves`, its checkpoint signed by the
/// committee's threshold (as a colluding threshold could sign any history).
fn forged_bundle(
    committee: &Committee,
    domain: SigningDomain,
    message: Message,
    leaves: &[Hash32],
) -> ProofBundle {
    let log = Sha256Log::from_leaves(leaves);
    let size = LogSize(leaves.len() as u64);
    let cp = Checkpoint::new(CHAIN_A.domain, HashAlgorithm::Sha256, size, log.root()).unwrap();
    let signatures = committee
        .sign(&cp, &domain)
        .iter()
        .map(|s| Signature::from_slice(s).unwrap())
        .collect();
    ProofBundle::assemble(
        message,
        log.inclusion_proof(LeafIndex(0), size).unwrap(),
        cp,
        domain,
        signatures,
    )
    .unwrap()
}

/// The `--anchored` arguments for `anchor` on beta.
fn anchored_args(devnet: &Devnet, anchor: &AnchorHandle) -> Vec<String> {
    vec![
        "--anchored".into(),
        "--anchor-rpc".into(),
        devnet.b.node.endpoint(),
        "--anchor".into(),
        anchor.address().to_string(),
    ]
}

/// Before anything is anchored: `verify --anchored` says so and refuses.
pub(crate) async fn nothing_anchored_is_refused(
    dir: &Path,
    devnet: &Devnet,
    committee: &Committee,
    anchor: &AnchorHandle,
) {
    let trust = lane_trust(devnet, committee).await;
    let trust_file = write_trust(dir, &trust);
    let message = causeway_devnet::fixtures::message(
        0,
        CHAIN_A.domain,
        devnet.b.admin,
        CHAIN_B.domain,
        *devnet.b.recipient.address(),
        b"before any anchor",
    );
    let bundle = forged_bundle(
        committee,
        trust.signing_domain,
        message.clone(),
        &[*message.id().as_hash()],
    );
    let path = dir.join("early.json");
    std::fs::write(&path, bundle.to_json_pretty()).unwrap();
    let args = anchored_args(devnet, anchor);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = verify(&path, &trust_file, &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing is anchored for origin"),
        "{}",
        text(&out)
    );
}

/// Waits until the Anchor holds alpha's whole log (`a_to_b`, in dispatch order), then checks
/// the anchored history and `verify --anchored` on a real and a rewritten bundle.
pub(crate) async fn anchored_history_is_the_log(
    dir: &Path,
    devnet: &Devnet,
    committee: &Committee,
    anchor: &AnchorHandle,
    members: &mut [Member],
    a_to_b: &[B256],
) {
    let total = a_to_b.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let latest = anchor.latest(CHAIN_A.domain.0).call().await.unwrap();
        if latest.size == total {
            break;
        }
        assert!(
            latest.size < total,
            "anchored beyond the log: {}",
            latest.size
        );
        if Instant::now() > deadline {
            let logs: Vec<String> = members
                .iter()
                .map(|m| format!("--- {} ---\n{}", m.name, tail(&m.log(), 40)))
                .collect();
            panic!(
                "the Anchor holds {} of {total} entries after 90 s\n{}",
                latest.size,
                logs.join("\n")
            );
        }
        devnet.a.provider.evm_mine(None).await.unwrap();
        devnet.b.provider.evm_mine(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every anchor is a prefix of the log the Outbox emitted, larger than the one before.
    let leaves: Vec<Hash32> = a_to_b.iter().map(|id| Hash32(id.0)).collect();
    let log = Sha256Log::from_leaves(&leaves);
    let events = devnet
        .b
        .provider
        .get_logs(
            &Filter::new()
                .address(*anchor.address())
                .event_signature(Anchor::Anchored::SIGNATURE_HASH)
                .topic1(B256::from(U256::from(CHAIN_A.domain.0)))
                .from_block(0),
        )
        .await
        .unwrap();
    let history: Vec<(u64, B256)> = events
        .iter()
        .map(|l| {
            let e = Anchor::Anchored::decode_log_data(l.data()).unwrap();
            (e.size, e.root)
        })
        .collect();
    assert!(history.len() >= 3, "the anchors grew in steps: {history:?}");
    assert!(history.windows(2).all(|w| w[0].0 < w[1].0), "{history:?}");
    for (size, root) in &history {
        assert_eq!(
            log.root_at(LogSize(*size)).unwrap().0,
            root.0,
            "the anchor at {size} is not the log's root there"
        );
    }
    // The members submitted anchors, and none was refused other than as stale.
    assert!(
        members
            .iter()
            .any(|m| m.log().contains("submitting an anchor")),
        "no gateway submitted an anchor"
    );
    for m in members.iter() {
        assert!(
            !m.log().contains("the Anchor refuses this anchor"),
            "{}: {}",
            m.name,
            tail(&m.log(), 30)
        );
    }

    // A real bundle, from the first member's store, checked against the anchor.
    let trust = lane_trust(devnet, committee).await;
    let trust_file = write_trust(dir, &trust);
    let store = SqliteStore::open(members[0].dir.join("causeway.sqlite")).unwrap();
    // The first member was killed and restarted: let its log catch up with the anchor.
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.log_size(CHAIN_A.domain).unwrap().0 < total {
        assert!(Instant::now() < deadline, "org1's log did not catch up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let record = store
        .message(MessageId(Hash32(a_to_b[0].0)))
        .unwrap()
        .expect("the first message is in the store");
    let message = record.message.clone();
    let bundle = bundle_of(&store, &trust, record).unwrap();
    let size = bundle.checkpoint().size();
    let real = dir.join("real.json");
    std::fs::write(&real, bundle.to_json_pretty()).unwrap();
    let args = anchored_args(devnet, anchor);
    let mut with_proof: Vec<&str> = args.iter().map(String::as_str).collect();
    let proof_file = dir.join("consistency.json");
    // The proof from the bundle's size to the anchored one, served by org1's API: the same
    // proof its store gives, and what verify reads.
    let api = Api {
        base: api_of(&members[0]),
        token: token(&members[0]),
        client: reqwest::Client::new(),
    };
    let from = if size.0 == total { 1 } else { size.0 };
    let (status, served) = api
        .call(
            reqwest::Method::GET,
            &format!(
                "/v1/logs/{}/consistency?from={from}&to={total}",
                CHAIN_A.domain.0
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{served}");
    let served = ConsistencyFile::from_json(&served.to_string()).unwrap();
    assert_eq!(
        served,
        ConsistencyFile::from_store(&store, CHAIN_A.domain, LogSize(from), LogSize(total)).unwrap()
    );
    if size.0 != total {
        std::fs::write(&proof_file, serde_json::to_string(&served).unwrap()).unwrap();
        with_proof.extend(["--consistency", proof_file.to_str().unwrap()]);
    }
    // Sizes it cannot link are refused with a clear code; so is an origin it keeps no log of.
    for (query, code, expected) in [
        (
            format!("{}/consistency?from=0&to={total}", CHAIN_A.domain.0),
            "bad_query",
            400,
        ),
        (
            format!("{}/consistency?from={total}&to=1", CHAIN_A.domain.0),
            "bad_query",
            400,
        ),
        (
            format!(
                "{}/consistency?from=1&to={}",
                CHAIN_A.domain.0,
                total + 1_000_000
            ),
            "size_not_reached",
            404,
        ),
        ("77/consistency?from=1".to_owned(), "log_not_kept", 404),
    ] {
        let (status, body) = api
            .call(reqwest::Method::GET, &format!("/v1/logs/{query}"), None)
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (expected, Some(code)),
            "{query}: {body}"
        );
    }
    let out = verify(&real, &trust_file, &with_proof);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("anchored       consistent with"),
        "{}",
        text(&out)
    );
    // The trust file names the Anchor and its chain: --anchor-rpc is all verify needs. A
    // trust file whose Anchor is on another chain than the node's, or an --anchor that is
    // not the trust file's, is refused before any bundle is judged.
    let named = write_trust_with_anchor(
        dir,
        "trust-anchor.json",
        &trust,
        *anchor.address(),
        CHAIN_B.chain_id,
    );
    let rpc = devnet.b.node.endpoint();
    let mut only_rpc = vec!["--anchored", "--anchor-rpc", rpc.as_str()];
    if size.0 != total {
        only_rpc.extend(["--consistency", proof_file.to_str().unwrap()]);
    }
    let out = verify(&real, &named, &only_rpc);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("anchored       consistent with"),
        "{}",
        text(&out)
    );
    let elsewhere = write_trust_with_anchor(
        dir,
        "trust-elsewhere.json",
        &trust,
        *anchor.address(),
        CHAIN_A.chain_id,
    );
    let out = verify(&real, &elsewhere, &only_rpc);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("serves chain {}", CHAIN_B.chain_id)),
        "{}",
        text(&out)
    );
    let other = Address::repeat_byte(0x42).to_string();
    let mut conflicting = only_rpc.clone();
    conflicting.extend(["--anchor", other.as_str()]);
    let out = verify(&real, &named, &conflicting);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("is not the Anchor the trust file"),
        "{}",
        text(&out)
    );
    let out = verify(&real, &trust_file, &only_rpc);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("needs the Anchor's address"),
        "{}",
        text(&out)
    );

    // `causeway status` shows the anchoring as the chain holds it, and what each running
    // gateway's anchoring task counted since it started (read from its /metrics: a member
    // restarted after the last anchor landed counts none, so only the counters' presence is
    // asserted, not that one landed; a CI run's restarts left every count at 0).
    let mut ready = 0;
    for m in members.iter() {
        let out = causeway(&["status", "--config", m.config().to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let a = &report["anchors"][0];
        assert_eq!(a["origin"]["domain"], CHAIN_A.domain.0, "{a}");
        assert_eq!(a["anchored"]["size"], total, "{a}");
        assert_eq!(a["anchored"]["root"], log.root().to_string(), "{a}");
        assert!(a["anchored"]["at_block"].as_u64().unwrap() > 0, "{a}");
        assert!(
            a["anchored_error"].is_null() && a["attempts_error"].is_null(),
            "{a}"
        );
        ready = ready.max(a["ready"]["size"].as_u64().unwrap_or(0));
        assert!(
            a["attempts"]["landed"].as_u64().is_some()
                && a["attempts"]["failed"].as_u64().is_some(),
            "{}: no anchoring counters read from the running gateway: {a}",
            m.name
        );
    }
    assert!(
        ready >= total,
        "no store holds the anchored checkpoint: {ready}"
    );
    let out = causeway(&["status", "--config", members[0].config().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("anchored        size {total} in block")),
        "{}",
        text(&out)
    );

    // A history rewritten after the first message (its last entry replaced), signed by a
    // colluding threshold at the anchored size: the lane's own checks pass, the anchor does not.
    let mut rewritten = leaves.clone();
    *rewritten.last_mut().unwrap() = keccak256(b"a message that never was");
    let forged = forged_bundle(committee, trust.signing_domain, message, &rewritten);
    let forged_path = dir.join("rewritten.json");
    std::fs::write(&forged_path, forged.to_json_pretty()).unwrap();
    let out = verify(&forged_path, &trust_file, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the lane's checks alone: {}",
        text(&out)
    );
    let plain: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = verify(&forged_path, &trust_file, &plain);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("INVALID") && stdout.contains("rewritten"),
        "{}",
        text(&out)
    );
}

/// The Anchor's client, as the anchoring task and `causeway status` use it, fails over: with
/// the chain's first endpoint down (nothing listens there), a read goes to the next one at
/// once and the requests after it stay there; with every endpoint down, the error names the
/// failure instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anchor_client_fails_over_to_the_chains_next_endpoint() {
    use causeway_gateway::anchor::{AnchorCallError, AnchorContract};
    let chain = causeway_devnet::DevChain::start(CHAIN_B).await.unwrap();
    let anchor = deploy_anchor(&chain.provider, chain.admin).await.unwrap();
    let address = causeway_proofs::EvmAddress(anchor.address().0.0);
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}")
    };
    let live = chain.node.endpoint();
    let contract = AnchorContract::connect_all(&[&dead, &live], address).unwrap();
    assert!(dead.ends_with(contract.node().rsplit(':').next().unwrap()));
    let latest = contract.latest(CHAIN_A.domain).await.unwrap();
    assert_eq!(latest.size, LogSize(0));
    let now = contract.node().to_owned();
    assert!(live.contains(now.rsplit("//").next().unwrap()), "{now}");
    // A clone (the task's copy) goes to the live node first, and the code is the Anchor's.
    let code = contract.clone().code().await.unwrap();
    assert!(causeway_gateway::wiring::is_causeway_anchor(&code));
    assert_eq!(contract.node(), now);

    let down = AnchorContract::connect_all(&[&dead], address).unwrap();
    match down.latest(CHAIN_A.domain).await {
        Err(AnchorCallError::Node(reason)) => {
            assert!(reason.contains("latest"), "{reason}");
        }
        other => panic!("expected a node error, got {other:?}"),
    }
}

/// A JSON-RPC node in front of `upstream` that refuses every `eth_getLogs` spanning more than
/// `cap` blocks (or with an open end), as public providers do, and forwards everything else;
/// counts what it refused.
async fn capped_log_node(
    upstream: String,
    cap: u64,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::body::Bytes;
    use axum::extract::State;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Clone)]
    struct Capped {
        upstream: String,
        cap: u64,
        refused: Arc<AtomicUsize>,
        client: reqwest::Client,
    }

    fn block(v: &serde_json::Value) -> Option<u64> {
        u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
    }

    async fn handle(State(c): State<Capped>, body: Bytes) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if request["method"] == "eth_getLogs" {
            let filter = &request["params"][0];
            let span = block(&filter["fromBlock"])
                .zip(block(&filter["toBlock"]))
                .map(|(from, to)| to.saturating_sub(from) + 1);
            if span.is_none_or(|n| n > c.cap) {
                c.refused.fetch_add(1, Ordering::Relaxed);
                let refusal = serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": request["id"],
                    "error": {"code": -32005, "message": format!("query exceeds max block range {}", c.cap)},
                });
                return axum::Json(refusal).into_response();
            }
        }
        let answer = c
            .client
            .post(&c.upstream)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            answer.to_vec(),
        )
            .into_response()
    }

    let refused = Arc::new(AtomicUsize::new(0));
    let state = Capped {
        upstream,
        cap,
        refused: Arc::clone(&refused),
        client: reqwest::Client::new(),
    };
    let app = axum::Router::new()
        .route("/", axum::routing::post(handle))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, refused)
}

/// The Anchor's client reads its events window by window, newest first: through a node that
/// refuses any `eth_getLogs` over more than 200 blocks (as public providers cap a request's
/// range, at 10,000 blocks or fewer), on a chain of 2,800 blocks with one anchor near its start
/// and one near its head,
/// `verify --anchored`'s history finds both and `status`'s last-anchored block is the newer one.
/// (One request from block 0, as before, was refused there.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anchor_client_reads_its_events_through_a_node_that_caps_log_ranges() {
    use causeway_gateway::anchor::{AnchorContract, Landed};
    use causeway_relayer::store::ValidatorSignature;
    let chain = DevChain::start(CHAIN_B).await.unwrap();
    let committee = Committee::new("capped", 3, 2);
    let handle = deploy(&chain, &committee).await;
    let address = causeway_proofs::EvmAddress(handle.address().0.0);
    let direct = AnchorContract::connect_all(&[&chain.node.endpoint()], address).unwrap();
    let sender = chain.node.dev_keys()[1].clone();
    let leaves: Vec<Hash32> = (0u8..6).map(|i| keccak256(&[i])).collect();
    let log = Sha256Log::from_leaves(&leaves);
    let checkpoint = |size: u64| {
        Checkpoint::new(
            CHAIN_A.domain,
            HashAlgorithm::Sha256,
            LogSize(size),
            log.root_at(LogSize(size)).unwrap(),
        )
        .unwrap()
    };
    let anchor_at = |cp: Checkpoint, proof: Vec<Hash32>| {
        let direct = direct.clone();
        let sender = sender.clone();
        let committee = &committee;
        async move {
            let digest = direct.checkpoint_digest(&cp).await.unwrap();
            let signatures: Vec<ValidatorSignature> = committee.keys()[..2]
                .iter()
                .map(|k| ValidatorSignature {
                    validator: k.address(),
                    signature: k.sign(&digest),
                })
                .collect();
            match direct
                .anchor(&sender, CHAIN_B.chain_id, &cp, &signatures, &proof)
                .await
                .unwrap()
            {
                Landed::Landed { tx } => tx,
                other => panic!("the anchor did not land: {other:?}"),
            }
        }
    };
    anchor_at(checkpoint(2), vec![]).await;
    chain.provider.anvil_mine(Some(2_500), None).await.unwrap();
    let newer = anchor_at(
        checkpoint(6),
        log.consistency_proof(LogSize(2), LogSize(6)).unwrap().path,
    )
    .await;
    let newer_block = chain
        .provider
        .get_transaction_receipt(newer)
        .await
        .unwrap()
        .unwrap()
        .block_number
        .unwrap();
    chain.provider.anvil_mine(Some(300), None).await.unwrap();

    let (capped, refused) = capped_log_node(chain.node.endpoint(), 200).await;
    let contract = AnchorContract::connect_all(&[&capped], address).unwrap();
    let history = contract.history(CHAIN_A.domain).await.unwrap();
    let sizes: Vec<(u64, Hash32)> = history.iter().map(|a| (a.size.0, a.root)).collect();
    assert_eq!(
        sizes,
        vec![
            (2, log.root_at(LogSize(2)).unwrap()),
            (6, log.root_at(LogSize(6)).unwrap())
        ]
    );
    let refused_by_history = refused.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        refused_by_history > 0,
        "the windows were never too wide: the test did not exercise the cap"
    );
    let (block, time) = contract
        .last_anchored_at(CHAIN_A.domain)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block, newer_block);
    let header = chain
        .provider
        .get_block_by_number(block.into())
        .await
        .unwrap()
        .unwrap()
        .header;
    assert_eq!(time, header.timestamp);
    // The same answers straight from anvil, which serves any range.
    assert_eq!(direct.history(CHAIN_A.domain).await.unwrap(), history);
    assert_eq!(
        direct.last_anchored_at(CHAIN_A.domain).await.unwrap(),
        Some((block, time))
    );
    // Nothing anchored for another origin: no scan at all.
    let before = refused.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        contract
            .last_anchored_at(causeway_proofs::Domain(999))
            .await
            .unwrap(),
        None
    );
    assert_eq!(refused.load(std::sync::atomic::Ordering::Relaxed), before);
}
