//! A member that only attests to a chain: three `causeway run` processes, one of them without a
//! signer key for beta. It starts (a warning, not a refusal), attests the alpha→beta lane and
//! sends nothing to beta; the other two deliver every message exactly once, taking its delivery
//! turns after the grace period.

use std::time::Duration;

use alloy::providers::Provider as _;
use causeway_devnet::fixtures::Committee;

use crate::consortium::{COMMITTEE, chains, deliveries, dispatch, members, tail, wait_delivered};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_a_signer_key_attests_and_the_others_deliver_its_turns() {
    let committee = Committee::new(COMMITTEE, 3, 2);
    let devnet = chains(&committee).await;
    let dir = tempfile::tempdir().unwrap();
    let mut members = members(dir.path(), &devnet, &committee);
    // org3 keeps no key for beta: it may not deliver there.
    let config = members[2].config();
    let text = std::fs::read_to_string(&config).unwrap();
    let line = "signer_key_files = [\"keys/beta-signer.key\"]\n";
    assert!(text.contains(line), "{text}");
    std::fs::write(&config, text.replace(line, "")).unwrap();
    let org3_beta_signer = {
        // The account org3's beta key would have sent from (the first signer of its layout).
        let key = std::fs::read_to_string(members[2].dir.join("keys/beta-signer.key")).unwrap();
        causeway_proofs::ValidatorKey::from_bytes(
            &hex::decode(key.trim().trim_start_matches("0x"))
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .unwrap()
        .address()
    };
    let nonce_before = devnet
        .b
        .provider
        .get_transaction_count(alloy::primitives::Address::from(org3_beta_signer.0))
        .await
        .unwrap();
    for m in &mut members {
        m.start();
    }

    // Three runs of 16 and more: some are org3's turns.
    let a_to_b = dispatch(&devnet.a, &devnet.b, 60, "attest-only").await;
    wait_delivered(
        &devnet,
        &mut members,
        &a_to_b,
        &[],
        Duration::from_secs(120),
    )
    .await;
    let (on_b, _) = deliveries(&devnet.b).await;
    assert!(
        a_to_b.iter().all(|id| on_b.get(id) == Some(&1)),
        "each message delivered exactly once"
    );
    // org3 sent nothing to beta, and said at start-up that it only attests there.
    assert_eq!(
        devnet
            .b
            .provider
            .get_transaction_count(alloy::primitives::Address::from(org3_beta_signer.0))
            .await
            .unwrap(),
        nonce_before
    );
    let log = members[2].log();
    assert!(
        log.contains("this gateway has no signer key for beta: it attests this lane"),
        "{}",
        tail(&log, 40)
    );
    for m in &mut members {
        assert!(m.terminate().success(), "{}", tail(&m.log(), 30));
    }
    // org3 signed the lane's checkpoints: org1's store holds its validator's signatures.
    let out = crate::support::causeway(&[
        "status",
        "--config",
        members[0].config().to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", crate::support::text(&out)));
    let lane = report["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "alpha-to-beta")
        .expect("the lane");
    let org3 = lane["validators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["member"] == "org3")
        .expect("org3's validator");
    assert!(
        org3["checkpoints_signed"].as_u64().unwrap() > 0,
        "org3 attested nothing: {lane}"
    );
}
