//! Sending from Fabric and FISCO BCOS origins through the API of a real gateway process (issue
//! 12): three member organisations, each its own `causeway run` (2 of 3 over the peer
//! protocol), over the Fabric test network, the FISCO BCOS test node (ECDSA) and an anvil chain.
//! An application posts a public and a private message from each consortium chain to org1's
//! API; org1's gateway dispatches them through the outbox chaincode (as its MSP identity) and
//! the FiscoOutbox (from its FISCO BCOS sender key); the consortium relays them to anvil. Each
//! is delivered exactly once (one `Delivered` event per id on the anvil Inbox), and the
//! recipient organisation org2 opens each private one through its own API.

use std::time::{Duration, Instant};

use alloy::transports::http::reqwest;
use causeway_devnet::fabric::{FabricNetwork, FabricNetworkOptions, INBOX_CHAINCODE};
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_A, DevChain, Domain};
use causeway_gateway::devnet::{
    ChainEntry, FiscoEntry, Layout, LocalChain, LocalFabric, write_consortium,
};
use causeway_proofs::fisco::{CryptoMode, NodeSecret};
use rand_core::OsRng;
use serde_json::{Value, json};

use crate::consortium::{Member, deliveries, member, tail};
use crate::private_messages::{Api, start_with_apis};
use crate::support::{causeway, text};

const COMMITTEE: &str = "causeway-gateway-send-origins";
/// The FISCO BCOS group's domain.
const FISCO: Domain = Domain(3001);

fn edit(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from} in {}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Waits until request `id` of `api` is dispatched; its message id.
async fn dispatched(api: &Api, member: &mut Member, id: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, r) = api
            .call(reqwest::Method::GET, &format!("/v1/requests/{id}"), None)
            .await;
        if r["state"] == "dispatched" {
            return r["message_id"].as_str().unwrap().to_owned();
        }
        assert_ne!(r["state"], "failed", "{r}");
        member.assert_running();
        assert!(
            Instant::now() < deadline,
            "request {id} not dispatched: {r}\n{}",
            tail(&member.log(), 60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_sends_from_fabric_and_fisco_origins_through_the_api() {
    let committee = Committee::new(COMMITTEE, 3, 2);
    let (chain, node, net) = tokio::join!(
        DevChain::start(CHAIN_A),
        FiscoNode::start(FiscoNodeConfig::new(CryptoMode::Ecdsa)),
        FabricNetwork::start(FabricNetworkOptions::default()),
    );
    let (chain, node, net) = (chain.unwrap(), node.unwrap(), net.unwrap());
    let contracts = node.deploy_causeway(FISCO).await.unwrap();
    // The anvil Inbox holds the committee for both consortium origins.
    committee
        .install(&chain.inbox, FISCO, node.web3_chain_id())
        .await
        .unwrap();
    committee
        .install(&chain.inbox, net.domain(), net.chain_id())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let layout = Layout {
        batch_size: 16,
        delivery_grace_ms: 1500,
        poll_interval_ms: 100,
        first_signer: 5,
    };
    let alpha = ChainEntry::of_local(
        &LocalChain {
            name: "alpha",
            chain: &chain,
        },
        3,
        &layout,
    )
    .unwrap();
    let fisco = FiscoEntry::of_node("fisco", FISCO.0, &node, &contracts, 3);
    let ledger = LocalFabric {
        name: "ledger",
        net: &net,
        inbox_chaincode: INBOX_CHAINCODE,
    };
    let lanes = [("ledger", "alpha"), ("fisco", "alpha")];
    let mut members: Vec<Member> = write_consortium(
        dir.path(),
        &committee,
        &[alpha],
        Some(ledger),
        &[fisco],
        &lanes,
        &layout,
    )
    .unwrap()
    .into_iter()
    .map(member)
    .collect();

    // org1 sends: on the ledger as its Fabric identity (Fabric has no account nonces, so the
    // signer identity serves), on the FISCO BCOS group from a key of its own.
    let fisco_sender = NodeSecret::generate(CryptoMode::Ecdsa, &mut OsRng);
    causeway_gateway::files::write_secret_file(
        &members[0].dir.join("keys/fisco-sender.key"),
        format!("0x{}\n", hex::encode(*fisco_sender.secret_bytes())).as_bytes(),
    )
    .unwrap();
    edit(
        &members[0].config(),
        "signer_key_files = [\"keys/fabric-signer.key\"]\n",
        "signer_key_files = [\"keys/fabric-signer.key\"]\nsender_key_file = \"keys/fabric-signer.key\"\nsender_cert_file = \"fabric/client.pem\"\n",
    );
    edit(
        &members[0].config(),
        "signer_key_files = [\"keys/fisco-signer.key\"]\n",
        "signer_key_files = [\"keys/fisco-signer.key\"]\nsender_key_file = \"keys/fisco-sender.key\"\n",
    );
    for m in &members {
        let out = causeway(&["config", "check", "--config", m.config().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", m.name, text(&out));
    }
    let apis = start_with_apis(&mut members, Duration::from_secs(90)).await;

    let to = address32(*chain.recipient.address()).to_hex();
    let payload = json!({"amount": 125, "memo": "invoice 7"});
    let mut sent: Vec<(u64, Option<Value>)> = Vec::new();
    for origin in [net.domain(), FISCO] {
        let public = json!({
            "origin": origin.0,
            "destination": CHAIN_A.domain.0,
            "recipient": to,
            "body": format!("0x{}", hex::encode(format!("public from {origin}"))),
        });
        let private = json!({
            "origin": origin.0,
            "destination": CHAIN_A.domain.0,
            "recipient": to,
            "private": {"payload": payload, "recipients": ["org2"], "disclose": []},
        });
        for (body, private) in [(public, None), (private, Some(payload.clone()))] {
            let (status, accepted) = apis[0]
                .call(reqwest::Method::POST, "/v1/messages", Some(body))
                .await;
            assert_eq!(status, 202, "{accepted}");
            sent.push((accepted["request_id"].as_u64().unwrap(), private));
        }
    }
    // org2 has no sender key: its API refuses to send from the ledger.
    let (status, body) = apis[1]
        .call(
            reqwest::Method::POST,
            "/v1/messages",
            Some(json!({
                "origin": net.domain().0,
                "destination": CHAIN_A.domain.0,
                "recipient": to,
                "body": "0x01",
            })),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("origin_not_sendable")),
        "{body}"
    );

    let mut ids = Vec::new();
    for (request, private) in &sent {
        let id = dispatched(&apis[0], &mut members[0], *request).await;
        ids.push((id, private.clone()));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (delivered, _) = deliveries(&chain).await;
        let counts: Vec<u32> = ids
            .iter()
            .map(|(id, _)| {
                let key: alloy::primitives::B256 = id.parse().unwrap();
                delivered.get(&key).copied().unwrap_or(0)
            })
            .collect();
        if counts.iter().all(|c| *c >= 1) {
            assert!(
                counts.iter().all(|c| *c == 1),
                "delivered more than once: {counts:?}"
            );
            break;
        }
        for m in members.iter_mut() {
            m.assert_running();
        }
        assert!(
            Instant::now() < deadline,
            "not delivered: {counts:?}\n{}",
            members
                .iter()
                .map(|m| format!("--- {} ---\n{}", m.name, tail(&m.log(), 40)))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The recipient organisation opens each private message through its own gateway.
    for (id, private) in &ids {
        let Some(expected) = private else { continue };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = apis[1]
                .call(
                    reqwest::Method::POST,
                    &format!("/v1/envelopes/{id}/decrypt"),
                    None,
                )
                .await;
            if status == 200 {
                assert_eq!(&body["payload"], expected);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "org2 cannot decrypt {id}: {status} {body}\n{}",
                tail(&members[1].log(), 60)
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    // Still once each, after every member had time for a second turn.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (delivered, _) = deliveries(&chain).await;
    for (id, _) in &ids {
        let key: alloy::primitives::B256 = id.parse().unwrap();
        assert_eq!(delivered.get(&key), Some(&1), "{id}");
    }
    for m in &mut members {
        assert!(m.terminate().success(), "{}", m.name);
    }
}
