//! `causeway config check` and `wiring` with a Fabric channel: an anvil chain and the Fabric
//! test network of `causeway_devnet`, a 2-of-3 committee installed on the Inbox (for the
//! channel) and on the inbox chaincode (for the anvil chain). The configuration names the
//! channel's MSP roots, orderers, policy, the gateway's Fabric identity and the peers' TLS CA,
//! and, for peers that require client certificates, the gateway's client TLS certificate and key.

use causeway_adapters::fabric::inbox_wire::inbox_signing_domain;
use causeway_adapters::fabric::request::Invocation;
use causeway_config::Config;
use causeway_devnet::fabric::{
    FabricNetwork, FabricNetworkOptions, INBOX_CHAINCODE, ORDERER, ORG1, ORG2, OUTBOX_CHAINCODE,
    commit_invocation,
};
use causeway_devnet::fixtures::{Committee, evm_signing_domain};
use causeway_devnet::{CHAIN_A, DevChain};
use causeway_gateway::wiring;

use crate::config_check::{Org, chain_toml, check, lanes_toml, secret_file};
use crate::support::text;

/// The committee's deterministic keys.
const COMMITTEE: &str = "causeway-gateway-config-check-fabric";

/// The `[chains.ledger]` entry for `net`, with the files it names copied into `org`'s folder
/// and the inbox chaincode called `inbox`.
fn fabric_toml(org: &Org, net: &FabricNetwork, inbox: &str) -> String {
    let dir = org.path().join("fabric");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = |from: std::path::PathBuf, name: &str| {
        std::fs::copy(from, dir.join(name)).unwrap();
        format!("fabric/{name}")
    };
    let cacert = |mspid: &str| {
        let folder = net.org(mspid).org_msp_folder();
        copy(
            folder.path().join("cacerts/ca.pem"),
            &format!("{mspid}-ca.pem"),
        )
    };
    let user = net.org(ORG1).msp_folder();
    let cert = copy(user.path().join("signcerts/cert.pem"), "user1.pem");
    let key = std::fs::read(user.path().join("keystore/key_sk")).unwrap();
    secret_file(&org.path().join("keys/fabric-signer.key"), &key);
    std::fs::write(dir.join("tlsca.pem"), net.tls_ca_pem()).unwrap();
    format!(
        r#"
[chains.ledger]
domain = {domain}
family = "fabric"
chain_id = {chain_id}
endpoints = ["grpcs://127.0.0.1:{port}"]
finality = "on-commit"
channel = "{channel}"
outbox_chaincode = "{OUTBOX_CHAINCODE}"
inbox_chaincode = "{inbox}"
msp_id = "{ORG1}"
identity_cert_file = "{cert}"
signer_key_files = ["keys/fabric-signer.key"]
tls_ca_file = "fabric/tlsca.pem"

[chains.ledger.verifier]
orgs = [
    {{ msp_id = "{ORG1}", root_cert_files = ["{org1_ca}"] }},
    {{ msp_id = "{ORG2}", root_cert_files = ["{org2_ca}"] }},
]
orderers = [{{ msp_id = "{ORDERER}", root_cert_files = ["{orderer_ca}"] }}]
endorsement_policy = "AND({ORG1},{ORG2})"
"#,
        domain = net.domain().0,
        chain_id = net.chain_id(),
        port = net.port(),
        channel = net.channel(),
        org1_ca = cacert(ORG1),
        org2_ca = cacert(ORG2),
        orderer_ca = cacert(ORDERER),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_with_a_fabric_channel_wires_and_a_missing_chaincode_is_reported() {
    let (chain, net) = tokio::join!(
        DevChain::start(CHAIN_A),
        FabricNetwork::start(FabricNetworkOptions::default())
    );
    let (chain, net) = (chain.unwrap(), net.unwrap());
    let committee = Committee::new(COMMITTEE, 3, 2);
    committee
        .install(&chain.inbox, net.domain(), net.chain_id())
        .await
        .unwrap();
    let org = Org::new(&committee);
    org.evm_signer("alpha", &chain);
    let base = org.gateway_toml(&committee, None)
        + &lanes_toml("alpha", "ledger")
        + &chain_toml(
            "alpha",
            &chain,
            CHAIN_A.chain_id,
            &chain.outbox.address().to_string(),
        );
    let path = org.write_config(&(base.clone() + &fabric_toml(&org, &net, INBOX_CHAINCODE)));

    // The inbox chaincode holds no set for chain A yet: reported with the call that installs it.
    let out = tokio::task::spawn_blocking({
        let path = path.clone();
        move || check(&path)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "error: lane alpha-to-ledger: ledger holds no validator set for origin alpha (domain {})",
            CHAIN_A.domain.0
        )),
        "{}",
        text(&out)
    );

    let admin = net.connect(net.admin_identity()).await.unwrap();
    let install = Invocation::new(
        net.channel(),
        INBOX_CHAINCODE,
        "setValidators",
        committee.fabric_set_validators_args(CHAIN_A.domain, CHAIN_A.chain_id),
    );
    let (_, status) = commit_invocation(&admin, &install).await.unwrap();
    assert!(status.code.is_valid(), "{}", status.code);

    let out = tokio::task::spawn_blocking({
        let path = path.clone();
        move || check(&path)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let config = Config::load(&path).unwrap();
    let wired = wiring::wire(&config).await.unwrap();
    assert_eq!(wired.origins.len(), 2);
    let ledger = wired.chain("ledger").unwrap();
    assert_eq!(ledger.domain, net.domain());
    assert!(ledger.destination.is_some());
    let epoch_on_a = chain
        .inbox
        .validatorSet(net.domain().0)
        .call()
        .await
        .unwrap()
        .epoch;
    for (name, lane) in &wired.lanes {
        let expected = match name.as_str() {
            // The inbox chaincode's first set for chain A has epoch 1.
            "alpha-to-ledger" => inbox_signing_domain(
                CHAIN_A.domain,
                CHAIN_A.chain_id,
                net.domain(),
                net.chain_id(),
                net.channel(),
                INBOX_CHAINCODE,
                1,
            ),
            "ledger-to-alpha" => evm_signing_domain(
                net.domain(),
                net.chain_id(),
                CHAIN_A.domain,
                CHAIN_A.chain_id,
                *chain.inbox.address(),
                epoch_on_a,
            ),
            other => panic!("unexpected lane {other}"),
        };
        assert_eq!(lane.signing_domain, expected, "{name}");
    }
    assert_eq!(wired.lanes.len(), 2);

    // A sender identity: the signer's own passes; a certificate that is not the key's is
    // reported with what to set, exit 1.
    let signer_line = "signer_key_files = [\"keys/fabric-signer.key\"]\n";
    let fabric = fabric_toml(&org, &net, INBOX_CHAINCODE);
    let with_sender = |cert: &str| {
        base.clone()
            + &fabric.replacen(
                signer_line,
                &format!(
                    "{signer_line}sender_key_file = \"keys/fabric-signer.key\"\nsender_cert_file = \"{cert}\"\n"
                ),
                1,
            )
    };
    let path = org.write_config(&with_sender("fabric/user1.pem"));
    let out = tokio::task::spawn_blocking(move || check(&path))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let other = org.path().join("fabric/org2-user.pem");
    std::fs::copy(
        net.org(ORG2).msp_folder().path().join("signcerts/cert.pem"),
        &other,
    )
    .unwrap();
    let path = org.write_config(&with_sender("fabric/org2-user.pem"));
    let out = tokio::task::spawn_blocking(move || check(&path))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "error: chain ledger: the sender identity ({ORG1}) cannot be loaded"
        )) && stdout.contains("set chains.ledger.sender_cert_file and sender_key_file"),
        "{}",
        text(&out)
    );

    // The same channel with an inbox chaincode that is not installed: reported, exit 1.
    let path = org.write_config(&(base + &fabric_toml(&org, &net, "no_such_inbox")));
    let out = tokio::task::spawn_blocking(move || check(&path))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "error: chain ledger: the inbox chaincode no_such_inbox on channel {} does not answer",
            net.channel()
        )),
        "{}",
        text(&out)
    );
}

/// A peer that requires client certificates (mutual TLS): without a client identity the check
/// fails and says to configure one; a certificate without its key, a key without its
/// certificate, or a key that is not the certificate's is refused before any peer is dialled;
/// the certificate and key of the network's TLS CA pass the check and wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_requiring_client_certificates_is_reached_with_key_and_certificate_and_one_alone_is_refused()
 {
    let (chain, net) = tokio::join!(
        DevChain::start(CHAIN_A),
        FabricNetwork::start(FabricNetworkOptions {
            require_client_tls: true,
            ..FabricNetworkOptions::default()
        })
    );
    let (chain, net) = (chain.unwrap(), net.unwrap());
    let committee = Committee::new(COMMITTEE, 3, 2);
    committee
        .install(&chain.inbox, net.domain(), net.chain_id())
        .await
        .unwrap();
    // The admin's client presents the network's client certificate (`tls_config`).
    let admin = net.connect(net.admin_identity()).await.unwrap();
    let install = Invocation::new(
        net.channel(),
        INBOX_CHAINCODE,
        "setValidators",
        committee.fabric_set_validators_args(CHAIN_A.domain, CHAIN_A.chain_id),
    );
    let (_, status) = commit_invocation(&admin, &install).await.unwrap();
    assert!(status.code.is_valid(), "{}", status.code);

    let org = Org::new(&committee);
    org.evm_signer("alpha", &chain);
    let base = org.gateway_toml(&committee, None)
        + &lanes_toml("alpha", "ledger")
        + &chain_toml(
            "alpha",
            &chain,
            CHAIN_A.chain_id,
            &chain.outbox.address().to_string(),
        );
    let fabric = fabric_toml(&org, &net, INBOX_CHAINCODE);
    let client = net.client_tls_identity();
    std::fs::write(org.path().join("fabric/client.pem"), &client.cert_pem).unwrap();
    secret_file(&org.path().join("keys/fabric-tls.key"), &client.key_pem);
    let ca_line = "tls_ca_file = \"fabric/tlsca.pem\"\n";
    assert!(fabric.contains(ca_line));
    let cert = "tls_client_cert_file = \"fabric/client.pem\"\n";
    let key = "tls_client_key_file = \"keys/fabric-tls.key\"\n";
    let other_key = "tls_client_key_file = \"keys/fabric-signer.key\"\n";
    let config = |lines: &str| {
        org.write_config(&(base.clone() + &fabric.replace(ca_line, &format!("{ca_line}{lines}"))))
    };
    async fn checked(path: std::path::PathBuf) -> std::process::Output {
        tokio::task::spawn_blocking(move || check(&path))
            .await
            .unwrap()
    }

    // No client identity: the peer ends the connection; the fix names the two settings.
    let out = checked(config("")).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "if the peers require client certificates (mutual TLS), set \
             chains.ledger.tls_client_cert_file and tls_client_key_file"
        ),
        "{}",
        text(&out)
    );

    // One without the other: refused when the file is read, naming what is missing.
    let out = checked(config(cert)).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("tls_client_cert_file is set without tls_client_key_file"),
        "{}",
        text(&out)
    );
    let out = checked(config(key)).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("tls_client_key_file is set without tls_client_cert_file"),
        "{}",
        text(&out)
    );

    // A key that is not the certificate's (the Fabric signer's): refused, not dialled with.
    let out = checked(config(&format!("{cert}{other_key}"))).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the client TLS identity cannot be loaded")
            && text(&out).contains("does not match the certificate"),
        "{}",
        text(&out)
    );

    // Certificate and key: the check passes over mutual TLS, and the chain wires.
    let path = config(&format!("{cert}{key}"));
    let out = checked(path.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let wired = wiring::wire(&Config::load(&path).unwrap()).await.unwrap();
    assert!(wired.chain("ledger").unwrap().destination.is_some());
    assert_eq!(wired.lanes.len(), 2);

    // `causeway status` reads the channel's heights over the same mutual TLS: the newest
    // block is the head and the final height (final on commit), lag 0.
    let db = org.path().join("data/causeway.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    drop(causeway_relayer::store::SqliteStore::open(&db).unwrap());
    let newest = net.height() - 1;
    let out = tokio::task::spawn_blocking(move || {
        crate::support::causeway(&["status", "--config", path.to_str().unwrap(), "--json"])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ledger = report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ledger")
        .unwrap_or_else(|| panic!("no ledger in {report}"));
    assert_eq!(ledger["status"], "up", "{ledger}");
    assert_eq!(ledger["head"], newest, "{ledger}");
    assert_eq!(ledger["final_height"], newest, "{ledger}");
    assert_eq!(ledger["lag"], 0, "{ledger}");
}
