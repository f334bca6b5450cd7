//! `causeway verify` on bundles of messages from the Fabric test network: the trust file names
//! the channel's MSP roots, orderer and endorsement policy, and the CLI checks each bundle's
//! Fabric native proof (the whole block: data hash, orderer signature, VALID code, creator,
//! endorsements under the policy, the outbox chaincode's event) beside its checkpoint and
//! inclusion proof. Tampered blocks and a trust with the wrong roots are refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use causeway_adapters::Source;
use causeway_adapters::chain::{Cursor, ObservedMessage};
use causeway_adapters::fabric::{FabricSource, FabricSourceConfig, FabricVerifierConfig};
use causeway_devnet::fabric::{FabricNetwork, FabricNetworkOptions, ORDERER, ORG1, ORG2, dispatch};
use causeway_proofs::{Address32, Domain};

use crate::sample::{sample_domain, sample_validators, write_attested_bundles};
use crate::support::{text, verify_all};

/// Messages dispatched on the channel.
const N: usize = 3;

fn verify(bundles: &[PathBuf], trust: &Path) -> Output {
    verify_all(bundles, trust, &[])
}

fn pem(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fabric_bundles_verify_with_the_cli_native_proof_included() {
    let net = FabricNetwork::start(FabricNetworkOptions {
        max_message_count: 1,
        batch_timeout: Duration::from_millis(5),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = net.client(ORG1).await.unwrap();
    for i in 0..N {
        let body = format!("fabric message {i}");
        let recipient = Address32([0x42; 32]);
        dispatch(
            &client,
            net.channel(),
            Domain(2),
            recipient,
            body.as_bytes(),
        )
        .await
        .unwrap();
    }

    // What a gateway observes: the source verifies every block before yielding a message.
    let config = FabricVerifierConfig::new(
        net.channel(),
        net.trusted_msps(),
        net.orderer_msps(),
        net.endorsement_policy(),
    );
    let source = FabricSource::new(
        net.client(ORG1).await.unwrap(),
        net.endpoint(),
        FabricSourceConfig::new(net.domain(), config),
    )
    .unwrap();
    let mut cursor = Cursor::Start { height: 0 };
    let mut observed: Vec<ObservedMessage> = Vec::new();
    while observed.len() < N {
        let batch = source.next_batch(&cursor).await.unwrap();
        observed.extend(batch.messages);
        cursor = batch.cursor;
    }
    assert_eq!(observed.len(), N);

    // The origin's log and a checkpoint signed by 3 of the sample's 5 validators.
    let mut domain = sample_domain();
    domain.origin = net.domain();
    domain.origin_chain_id = net.chain_id();
    let keys = sample_validators();
    let dir = tempfile::tempdir().unwrap();
    let bundles = write_attested_bundles(dir.path(), domain, &observed);
    let trust_json = |org2_root: &[u8]| {
        serde_json::json!({
            "signing_domain": domain,
            "validators": keys.iter().map(|k| k.address()).collect::<Vec<_>>(),
            "threshold": 3,
            "source": {
                "family": "fabric",
                "channel": net.channel(),
                "orgs": [
                    { "msp_id": ORG1, "root_certs": [pem(net.org(ORG1).ca_pem())] },
                    { "msp_id": ORG2, "root_certs": [pem(org2_root)] },
                ],
                "orderers": [
                    { "msp_id": ORDERER, "root_certs": [pem(net.org(ORDERER).ca_pem())] },
                ],
                "endorsement_policy": "AND(Org1MSP,Org2MSP)",
            },
        })
    };
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, trust_json(net.org(ORG2).ca_pem()).to_string()).unwrap();

    let out = verify(&bundles, &trust);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        report
            .matches("native proof   Fabric proof checked")
            .count(),
        N,
        "{report}"
    );
    // The VALID code is nobody's signature: the verdict says it is not proved by the block.
    assert_eq!(
        report
            .matches("unproved       validation_code: the transaction's VALID code")
            .count(),
        N,
        "{report}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(["verify", bundles[0].to_str().unwrap(), "--json", "--trust"])
        .arg(&trust)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["unproved"][0]["reason"]
            .as_str()
            .is_some_and(|u| u.contains("nobody signs it")),
        "{json}"
    );

    // A block byte changed inside the proof: the data hash no longer matches.
    let mut tampered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundles[1]).unwrap()).unwrap();
    let block = tampered["native_proof"]["data"]["block"]
        .as_str()
        .unwrap()
        .to_owned();
    let mid = block.len() / 2;
    let flipped = if &block[mid..=mid] == "A" { "B" } else { "A" };
    tampered["native_proof"]["data"]["block"] =
        serde_json::Value::String(format!("{}{flipped}{}", &block[..mid], &block[mid + 1..]));
    let bad = dir.path().join("tampered.json");
    std::fs::write(&bad, tampered.to_string()).unwrap();
    let out = verify(&[bundles[0].clone(), bad], &trust);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(report.contains("INVALID: "), "{report}");
    assert!(report.contains("native proof:"), "{report}");

    // A verifier that trusts another CA for Org2MSP refuses every endorsement Org2 made.
    let wrong = dir.path().join("wrong-roots.json");
    std::fs::write(&wrong, trust_json(net.org(ORG1).ca_pem()).to_string()).unwrap();
    let out = verify(&bundles, &wrong);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        report
            .lines()
            .filter(|l| l.starts_with("INVALID: "))
            .count(),
        N,
        "{report}"
    );

    // A BFT quorum must be counted from named consenters: without them the trust file is
    // refused (exit 2); named, only their signatures count.
    let orderer_cert = |folder: causeway_adapters::fabric::MspFolder| {
        pem(&std::fs::read(folder.path().join("signcerts/cert.pem")).unwrap())
    };
    let mut quorum = trust_json(net.org(ORG2).ca_pem());
    quorum["source"]["orderer_signatures"] = 2.into();
    let path = dir.path().join("quorum.json");
    std::fs::write(&path, quorum.to_string()).unwrap();
    let out = verify(&bundles, &path);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no consenters are named"),
        "{}",
        text(&out)
    );
    let mut named = trust_json(net.org(ORG2).ca_pem());
    named["source"]["consenters"] = serde_json::json!([
        { "msp_id": ORDERER, "cert": orderer_cert(net.org(ORDERER).node_msp_folder()) },
    ]);
    let path = dir.path().join("consenters.json");
    std::fs::write(&path, named.to_string()).unwrap();
    let out = verify(&bundles, &path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A consenter that is not an orderer node (the orderer organisation's admin) is refused.
    named["source"]["consenters"] = serde_json::json!([
        { "msp_id": ORDERER, "cert": orderer_cert(net.org(ORDERER).admin_msp_folder()) },
    ]);
    std::fs::write(&path, named.to_string()).unwrap();
    let out = verify(&bundles, &path);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("does not have the orderer role"),
        "{}",
        text(&out)
    );

    // A policy naming an organisation without roots is a trust-file error (exit 2).
    let mut bad_policy = trust_json(net.org(ORG2).ca_pem());
    bad_policy["source"]["endorsement_policy"] = "AND(Org1MSP,Org3MSP)".into();
    let path = dir.path().join("bad-policy.json");
    std::fs::write(&path, bad_policy.to_string()).unwrap();
    let out = verify(&bundles, &path);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
