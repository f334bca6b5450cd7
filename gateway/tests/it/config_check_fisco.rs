//! `causeway config check` and `wiring` with a FISCO BCOS group: the FISCO BCOS test node and an
//! anvil chain, a 2-of-3 committee installed on both Inboxes. A correct configuration wires
//! (the lanes' signing domains name the group's `web3_chain_id`); a wrong group, a missing
//! Inbox, another chain id, another `web3_chain_id` and other sealers are each reported with
//! their fix. `causeway status` reads the group's height.

use causeway_config::Config;
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_devnet::fixtures::{Committee, evm_signing_domain};
use causeway_devnet::{CHAIN_A, DevChain, Domain};
use causeway_gateway::devnet::{ChainEntry, FiscoEntry, Layout, LocalChain, write_consortium};
use causeway_gateway::wiring;
use causeway_proofs::fisco::CryptoMode;

use crate::support::{causeway, text};

const COMMITTEE: &str = "causeway-gateway-config-check-fisco";
const FISCO: Domain = Domain(3001);

/// `causeway config check` of `toml` written beside `path`; exit code and stdout.
fn check_text(path: &std::path::Path, toml: &str) -> (Option<i32>, String) {
    std::fs::write(path, toml).unwrap();
    let out = causeway(&["config", "check", "--config", path.to_str().unwrap()]);
    (
        out.status.code(),
        format!("{}\n{}", String::from_utf8_lossy(&out.stdout), text(&out)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_with_a_fisco_group_wires_and_each_mistake_is_reported_with_its_fix() {
    let committee = Committee::new(COMMITTEE, 3, 2);
    let (chain, node) = tokio::join!(
        DevChain::start(CHAIN_A),
        FiscoNode::start(FiscoNodeConfig::new(CryptoMode::Ecdsa))
    );
    let (chain, node) = (chain.unwrap(), node.unwrap());
    let contracts = node.deploy_causeway(FISCO).await.unwrap();
    contracts
        .install(&node, &committee, CHAIN_A.domain, CHAIN_A.chain_id)
        .await
        .unwrap();
    committee
        .install(&chain.inbox, FISCO, node.web3_chain_id())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::default();
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
    let folders = write_consortium(
        dir.path(),
        &committee,
        &[alpha],
        None,
        &[fisco],
        &[("alpha", "fisco"), ("fisco", "alpha")],
        &layout,
    )
    .unwrap();
    let path = folders[0].config();
    let good = std::fs::read_to_string(&path).unwrap();

    let (code, out) = check_text(&path, &good);
    assert_eq!(code, Some(0), "{out}");
    let config = Config::load(&path).unwrap();
    let wired = wiring::wire(&config).await.unwrap();
    assert_eq!(wired.origins.len(), 2);
    assert!(wired.chain("fisco").unwrap().destination.is_some());
    for (name, lane) in &wired.lanes {
        let expected = match name.as_str() {
            "alpha-to-fisco" => evm_signing_domain(
                CHAIN_A.domain,
                CHAIN_A.chain_id,
                FISCO,
                node.web3_chain_id(),
                alloy::primitives::Address::from(contracts.inbox.0),
                1,
            ),
            "fisco-to-alpha" => evm_signing_domain(
                FISCO,
                node.web3_chain_id(),
                CHAIN_A.domain,
                CHAIN_A.chain_id,
                *chain.inbox.address(),
                chain
                    .inbox
                    .validatorSet(FISCO.0)
                    .call()
                    .await
                    .unwrap()
                    .epoch,
            ),
            other => panic!("unexpected lane {other}"),
        };
        assert_eq!(lane.signing_domain, expected, "{name}");
    }

    // `causeway status` reads the group's height (final on commit: head = final, lag 0).
    let causeway_config::Storage::Sqlite { path: db } = config.storage() else {
        panic!("the devnet layout keeps a SQLite store");
    };
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    drop(causeway_relayer::store::SqliteStore::open(db).unwrap());
    let head = causeway_adapters::fisco::FiscoRpc::new(node.endpoint(), "group0")
        .unwrap()
        .block_number()
        .await
        .unwrap();
    let out = tokio::task::spawn_blocking({
        let path = path.clone();
        move || causeway(&["status", "--config", path.to_str().unwrap(), "--json"])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fisco = report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fisco")
        .unwrap_or_else(|| panic!("no fisco in {report}"));
    assert_eq!(fisco["status"], "up", "{fisco}");
    assert!(fisco["head"].as_u64().unwrap() >= head, "{fisco}");
    assert_eq!(fisco["final_height"], fisco["head"], "{fisco}");
    assert_eq!(fisco["lag"], 0, "{fisco}");

    // A group the node does not serve.
    let (code, out) = check_text(
        &path,
        &good.replace("group = \"group0\"", "group = \"group9\""),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("error: chain fisco: endpoint http://127.0.0.1:")
            && out.contains("does not serve group group9")
            && out.contains("set chains.fisco.group to a group the node serves"),
        "{out}"
    );

    // No Inbox at the configured address.
    let inbox = contracts.inbox.to_string();
    let nowhere = "0x00000000000000000000000000000000000000aa";
    let (code, out) = check_text(&path, &good.replace(&inbox, nowhere));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: chain fisco: the Inbox address {nowhere} has no code on this group"
        )) && out.contains("deploy the Causeway Inbox there, or set chains.fisco.inbox"),
        "{out}"
    );

    // Another chain id, another web3_chain_id.
    let (code, out) = check_text(
        &path,
        &good.replace("chain_id = \"chain0\"", "chain_id = \"chain7\""),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("serves group group0 of chain chain0, but chains.fisco.chain_id is chain7"),
        "{out}"
    );
    let web3 = format!("web3_chain_id = {}", node.web3_chain_id());
    let (code, out) = check_text(&path, &good.replace(&web3, "web3_chain_id = 77"));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "group group0 has web3_chain_id {}",
            node.web3_chain_id()
        )) && out.contains(&format!(
            "set chains.fisco.web3_chain_id = {}",
            node.web3_chain_id()
        )),
        "{out}"
    );

    // Sealers of another group (one that never set its web3_chain_id).
    let mut unset = FiscoNodeConfig::new(CryptoMode::Ecdsa);
    unset.engine_chain_id = 0;
    let other = FiscoNode::start(unset).await.unwrap();
    let mut wrong = good.clone();
    for (mine, theirs) in node.sealer_keys().iter().zip(other.sealer_keys()) {
        wrong = wrong.replace(&mine.to_hex(), &theirs.to_hex());
    }
    let (code, out) = check_text(&path, &wrong);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the sealers of group group0 differ from chains.fisco.sealers"),
        "{out}"
    );

    // A node whose group never set web3_chain_id: block.chainid is 0 there.
    let (code, out) = check_text(&path, &good.replace(&node.endpoint(), &other.endpoint()));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("group group0 has web3_chain_id 0 (never set)")
            && out.contains(&format!(
                "setSystemConfigByKey web3_chain_id {}",
                node.web3_chain_id()
            )),
        "{out}"
    );
}
