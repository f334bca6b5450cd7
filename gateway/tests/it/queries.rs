//! Cross-ledger queries with proof between member processes (issue 12): three `causeway run`
//! processes over two anvil chains, and a third chain, gamma, that only org1's gateway serves.
//! An application asks org2's API for a storage slot of gamma: org2 does not serve gamma, so it
//! forwards the query over the peer protocol; org1 reads it with `eth_getProof`, verified
//! against a final block, and the answer comes back saying who answered and how far it is
//! proven. `causeway verify --query` checks the answer offline against gamma's node; a tampered
//! value or proof node fails. A contract call is answered the same way, re-executed over the
//! state org1 proved; a forwarded call that reverts or halts and a block gamma does not have come
//! back as 422 `query_refused`, and a member whose chain is down as 503. A chain no member serves gets
//! 404; no token, 401.

use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::providers::Provider as _;
use alloy::providers::ext::AnvilApi as _;
use alloy::sol_types::SolCall as _;
use alloy::transports::http::reqwest;
use causeway_adapters::evm::bindings::IOutbox;
use causeway_devnet::fixtures::Committee;
use causeway_devnet::{ChainSpec, DevChain, Domain};
use serde_json::{Value, json};

use crate::consortium::{chains, members, tail};
use crate::private_messages::start_with_apis;
use crate::support::{causeway, text};

const GAMMA: ChainSpec = ChainSpec {
    chain_id: 31339,
    domain: Domain(3),
};

fn verify_query(file: &std::path::Path, rpc: &str) -> std::process::Output {
    causeway(&["verify", "--query", file.to_str().unwrap(), "--rpc", rpc])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_for_a_chain_another_member_serves_is_forwarded_and_its_proof_verifies() {
    let committee = Committee::new("causeway-gateway-queries", 3, 2);
    let devnet = chains(&committee).await;
    let gamma = DevChain::start(GAMMA).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut members = members(dir.path(), &devnet, &committee);
    // Only org1 serves gamma (no lane uses it: it is read, never relayed).
    let config = members[0].config();
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml += &format!(
        r#"
[chains.gamma]
domain = {domain}
family = "evm"
chain_id = {chain_id}
endpoints = ["{endpoint}"]
finality = {{ confirmations = 1 }}
outbox = "{outbox}"
inbox = "{inbox}"
"#,
        domain = GAMMA.domain.0,
        chain_id = GAMMA.chain_id,
        endpoint = gamma.node.endpoint(),
        outbox = gamma.outbox.address(),
        inbox = gamma.inbox.address(),
    );
    std::fs::write(&config, toml).unwrap();
    for m in &members {
        let out = causeway(&["config", "check", "--config", m.config().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", m.name, text(&out));
    }

    // A known value in a slot of gamma's Outbox, then blocks on top so it is final.
    let contract = *gamma.outbox.address();
    let slot = B256::with_last_byte(0x77);
    let value = B256::from(U256::from(0xC0FFEE_u64));
    gamma
        .provider
        .anvil_set_storage_at(contract, U256::from_be_bytes(slot.0), value)
        .await
        .unwrap();
    gamma.provider.anvil_mine(Some(3), None).await.unwrap();

    let apis = start_with_apis(&mut members, Duration::from_secs(60)).await;

    let query = json!({
        "domain": GAMMA.domain.0,
        "contract": contract.to_string(),
        "key": slot.to_string(),
    });
    // org1 serves gamma: it reads it itself.
    let (status, local) = apis[0]
        .call(reqwest::Method::POST, "/v1/queries", Some(query.clone()))
        .await;
    assert_eq!(status, 200, "{local}");
    assert_eq!(local["forwarded"], false);
    assert_eq!(local["proof_state"], "verified");
    assert_eq!(local["answered_by"], "org1");
    assert_eq!(local["value"], value.to_string());

    // org2 does not: it forwards to the member that does (the peers may still be connecting).
    let deadline = Instant::now() + Duration::from_secs(60);
    let forwarded = loop {
        let (status, body) = apis[1]
            .call(reqwest::Method::POST, "/v1/queries", Some(query.clone()))
            .await;
        if status == 200 {
            break body;
        }
        assert_eq!(status, 503, "{body}");
        assert!(Instant::now() < deadline, "no forwarded answer: {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(forwarded["forwarded"], true, "{forwarded}");
    assert_eq!(forwarded["answered_by"], "org1");
    assert_eq!(forwarded["proof_state"], "verified_by_member");
    assert_eq!(forwarded["chain"], "gamma");
    assert_eq!(forwarded["family"], "evm");
    assert_eq!(forwarded["value"], value.to_string());

    // The answer verifies offline against gamma's node; tampered, it fails.
    let answers = tempfile::tempdir().unwrap();
    let file = answers.path().join("answer.json");
    std::fs::write(&file, forwarded.to_string()).unwrap();
    let rpc = gamma.node.endpoint();
    let out = verify_query(&file, &rpc);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("VALID"), "{}", text(&out));

    let mut tampered = forwarded.clone();
    tampered["value"] = json!(B256::from(U256::from(0xBAD_u64)).to_string());
    std::fs::write(&file, tampered.to_string()).unwrap();
    let out = verify_query(&file, &rpc);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("INVALID"), "{}", text(&out));

    let mut tampered = forwarded.clone();
    let node = tampered["proof"]["data"]["storage_proof"][0]
        .as_str()
        .unwrap()
        .to_owned();
    tampered["proof"]["data"]["storage_proof"][0] = Value::String(flip_last(&node));
    std::fs::write(&file, tampered.to_string()).unwrap();
    let out = verify_query(&file, &rpc);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // A proof of another block than the chain's at that height fails with --rpc.
    let mut tampered = forwarded.clone();
    tampered["height"] = json!(forwarded["height"].as_u64().unwrap() - 1);
    std::fs::write(&file, tampered.to_string()).unwrap();
    let out = verify_query(&file, &rpc);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // A contract call (Outbox.dispatch, run as a call: it reads the nonce slot and hashes the
    // message), forwarded: org1 re-executes it over the state it proved; the answer says what
    // gamma's node answers for the same call at that block, and verifies offline.
    let call = IOutbox::dispatchCall {
        destination: 9,
        recipient: B256::repeat_byte(0x11),
        body: alloy::primitives::Bytes::from_static(b"queried, never sent"),
    }
    .abi_encode();
    let call_query = json!({
        "domain": GAMMA.domain.0,
        "contract": contract.to_string(),
        "key": format!("0x{}", hex::encode(&call)),
        "kind": "call",
    });
    let (status, called) = apis[1]
        .call(reqwest::Method::POST, "/v1/queries", Some(call_query))
        .await;
    assert_eq!(status, 200, "{called}");
    assert_eq!(called["kind"], "call");
    assert_eq!(called["proof_state"], "verified_by_member");
    let at = called["height"].as_u64().unwrap();
    let node = gamma
        .provider
        .call(
            alloy::rpc::types::TransactionRequest::default()
                .from(alloy::primitives::Address::ZERO)
                .to(contract)
                .input(alloy::primitives::Bytes::from(call.clone()).into()),
        )
        .block(at.into())
        .await
        .unwrap();
    assert_eq!(called["value"], node.to_string());
    std::fs::write(&file, called.to_string()).unwrap();
    let out = verify_query(&file, &rpc);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("re-executed"), "{}", text(&out));
    // Tampered return data, or tampered code, fails offline.
    let mut tampered = called.clone();
    tampered["value"] = json!(B256::from(U256::from(0xBAD_u64)).to_string());
    tampered["proof"]["data"]["output"] = tampered["value"].clone();
    std::fs::write(&file, tampered.to_string()).unwrap();
    let out = verify_query(&file, &rpc);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("returns"), "{}", text(&out));
    let mut tampered = called.clone();
    let code = tampered["proof"]["data"]["code"][0]
        .as_str()
        .unwrap()
        .to_owned();
    tampered["proof"]["data"]["code"][0] = Value::String(flip_last(&code));
    std::fs::write(&file, tampered.to_string()).unwrap();
    let out = verify_query(&file, &rpc);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Refusals keep their meaning across the hop: a call that reverts, and a block gamma does
    // not have, are 422 query_refused with the chain's reason, not a gateway failure.
    let (status, body) = apis[1]
        .call(
            reqwest::Method::POST,
            "/v1/queries",
            Some(json!({
                "domain": GAMMA.domain.0,
                "contract": contract.to_string(),
                "key": "0xdeadbeef",
                "kind": "call",
            })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "query_refused");
    assert!(
        body["message"].as_str().unwrap().contains("revert"),
        "{body}"
    );
    let (status, body) = apis[1]
        .call(
            reqwest::Method::POST,
            "/v1/queries",
            Some(json!({
                "domain": GAMMA.domain.0,
                "contract": contract.to_string(),
                "key": slot.to_string(),
                "height": 1_000_000,
            })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "query_refused");
    assert!(
        body["message"].as_str().unwrap().contains("1000000"),
        "{body}"
    );

    // A call that halts (here on an invalid opcode: the contract's code is the single byte
    // 0xfe) has no answer on the chain: 422 with the EVM's reason, not 400 (the query itself
    // is well formed).
    let halting = alloy::primitives::Address::repeat_byte(0xfe);
    gamma
        .provider
        .anvil_set_code(halting, alloy::primitives::Bytes::from_static(&[0xfe]))
        .await
        .unwrap();
    gamma.provider.anvil_mine(Some(3), None).await.unwrap();
    let (status, body) = apis[1]
        .call(
            reqwest::Method::POST,
            "/v1/queries",
            Some(json!({
                "domain": GAMMA.domain.0,
                "contract": halting.to_string(),
                "key": "0x12345678",
                "kind": "call",
            })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "query_refused");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("halts") && message.contains("InvalidFEOpcode"),
        "{body}"
    );

    // A chain nobody serves: 404 with a clear code; a malformed key: 400; no token: 401.
    let (status, body) = apis[1]
        .call(
            reqwest::Method::POST,
            "/v1/queries",
            Some(json!({"domain": 77, "contract": contract.to_string(), "key": slot.to_string()})),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "chain_not_served");
    let (status, body) = apis[1]
        .call(
            reqwest::Method::POST,
            "/v1/queries",
            Some(
                json!({"domain": GAMMA.domain.0, "contract": contract.to_string(), "key": "0x01"}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_query");
    let response = apis[1]
        .client
        .post(format!("{}/v1/queries", apis[1].base))
        .header("content-type", "application/json")
        .body(query.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    // The member serving gamma cannot answer once gamma's node is gone: 503, not a refusal.
    drop(gamma);
    let (status, body) = apis[1]
        .call(reqwest::Method::POST, "/v1/queries", Some(query.clone()))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "chain_unavailable");

    for m in &mut members {
        assert!(m.terminate().success(), "{}", tail(&m.log(), 40));
    }
}

/// `hex` with its last digit changed.
fn flip_last(hex: &str) -> String {
    let (head, last) = hex.split_at(hex.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

/// A Fabric chaincode evaluation forwarded from org2 (no Fabric channel) to org1 (serving the
/// Fabric test network's channel as domain 7) over the peer protocol, in process: the answer
/// carries the endorsements, and `causeway verify --query` checks them against the channel's
/// MSP roots; a tampered value or a trust file with another organisation's root fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_fabric_query_returns_endorsements_that_verify() {
    use std::sync::Arc;

    use causeway_adapters::fabric::inbox_wire::INBOX_CHAINCODE;
    use causeway_adapters::fabric::{FabricStateReader, FabricStateReaderConfig};
    use causeway_devnet::fabric::{FabricNetwork, FabricNetworkOptions, ORDERER, ORG1, ORG2};
    use causeway_gateway::query::{LocalChain, ProofState, Queries};
    use causeway_peer::{ForwardedQuery, Peer, PeerCollector, PeerConfig, QueryForwarder};
    use causeway_proofs::ValidatorKey;

    const FABRIC: Domain = Domain(7);
    let net = FabricNetwork::start(FabricNetworkOptions::default())
        .await
        .unwrap();
    // A block beyond the genesis block, through which the reader verifies block 0's header.
    let user = net.client(ORG1).await.unwrap();
    causeway_devnet::fabric::dispatch(
        &user,
        net.channel(),
        Domain(1),
        causeway_proofs::Address32([7; 32]),
        b"a first block",
    )
    .await
    .unwrap();
    let committee = Committee::new("causeway-gateway-fabric-query", 3, 2);
    let devnet = chains(&committee).await;
    let dir = tempfile::tempdir().unwrap();
    let members = members(dir.path(), &devnet, &committee);
    let config = |i: usize| causeway_config::Config::load(members[i].config()).unwrap();
    let (org1, org2) = (config(0), config(1));

    let reader = FabricStateReader::new(
        net.client(ORG1).await.unwrap(),
        FabricStateReaderConfig::new(
            net.trusted_msps(),
            net.orderer_msps(),
            net.endorsement_policy(),
        ),
    );
    let serving = Queries::new(
        "org1".into(),
        vec![LocalChain {
            name: "trade".into(),
            domain: FABRIC,
            reader: Arc::new(reader),
        }],
        vec!["org2".into(), "org3".into()],
        None,
    );
    let peer_config = PeerConfig::from_config(&org1).unwrap();
    let key = ValidatorKey::from_bytes(&committee.keys()[0].secret_bytes()).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let listener = tokio::net::TcpListener::bind(peer_config.listen())
        .await
        .unwrap();
    let shutdown = stop.clone();
    let peer = Peer::start_all(
        peer_config,
        listener,
        Arc::new(PeerCollector::new(key)),
        None,
        Some(Arc::new(serving)),
        async move { shutdown.cancelled().await },
    )
    .await
    .unwrap();

    let asking = Queries::new(
        "org2".into(),
        Vec::new(),
        vec!["org1".into(), "org3".into()],
        Some(QueryForwarder::new(&PeerConfig::from_config(&org2).unwrap()).unwrap()),
    );
    let id = format!("0x{}", "ab".repeat(32));
    let query = ForwardedQuery {
        domain: FABRIC,
        contract: format!("{}/{INBOX_CHAINCODE}", net.channel()),
        key: serde_json::to_vec(&["isDelivered", id.as_str()]).unwrap(),
        height: None,
        kind: causeway_adapters::ReadKind::Storage,
    };
    let answer = asking.answer(&query).await.unwrap();
    assert!(answer.forwarded);
    assert_eq!(answer.answered_by, "org1");
    assert_eq!(answer.proof_state, ProofState::VerifiedByMember);
    assert_eq!(answer.family, "fabric");
    assert_eq!(answer.value_bytes().unwrap(), b"false");

    let files = tempfile::tempdir().unwrap();
    let pem = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).unwrap();
    let trust = |org2_root: &[u8]| {
        json!({"source": {
            "family": "fabric",
            "channel": net.channel(),
            "orgs": [
                { "msp_id": ORG1, "root_certs": [pem(net.org(ORG1).ca_pem())] },
                { "msp_id": ORG2, "root_certs": [pem(org2_root)] },
            ],
            "orderers": [{ "msp_id": ORDERER, "root_certs": [pem(net.org(ORDERER).ca_pem())] }],
            "endorsement_policy": "AND(Org1MSP,Org2MSP)",
        }})
    };
    let trust_file = files.path().join("trust.json");
    std::fs::write(&trust_file, trust(net.org(ORG2).ca_pem()).to_string()).unwrap();
    let file = files.path().join("answer.json");
    let verify = |answer: &Value, trust: &std::path::Path| {
        std::fs::write(&file, answer.to_string()).unwrap();
        causeway(&[
            "verify",
            "--query",
            file.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
        ])
    };
    let json_answer = serde_json::to_value(&answer).unwrap();
    let out = verify(&json_answer, &trust_file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("endorsed by Org1MSP, Org2MSP"),
        "{}",
        text(&out)
    );

    // The value "true" is not what was endorsed.
    let mut tampered = json_answer.clone();
    tampered["value"] = json!(format!("0x{}", hex::encode("true")));
    let out = verify(&tampered, &trust_file);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Another call than the one endorsed.
    let mut tampered = json_answer.clone();
    tampered["key"] = json!(format!(
        "0x{}",
        hex::encode(serde_json::to_vec(&["isDelivered", "0x00"]).unwrap())
    ));
    let out = verify(&tampered, &trust_file);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Org2's endorsement does not chain to the root the trust file names for it.
    let wrong = files.path().join("wrong.json");
    std::fs::write(&wrong, trust(net.org(ORG1).ca_pem()).to_string()).unwrap();
    let out = verify(&json_answer, &wrong);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Without the channel's roots nothing is claimed.
    std::fs::write(&file, json_answer.to_string()).unwrap();
    let out = causeway(&["verify", "--query", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--trust"), "{}", text(&out));

    stop.cancel();
    peer.join().await.unwrap();
}
