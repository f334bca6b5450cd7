//! A consortium relaying between a FISCO BCOS group and an EVM chain as it runs: three member
//! organisations, each its own `causeway run` process (2 of 3 over the peer protocol), over the
//! FISCO BCOS test node (SM and ECDSA modes, four sealers) and an anvil chain, lanes both ways.
//! Every message is delivered exactly once: on anvil, one `Delivered` event per message; on the
//! FISCO BCOS group, `Inbox.status` delivered for each id and the recipient's count equal to
//! the number sent (the Inbox refuses a replay, so a count equal to the number of distinct ids
//! means each once).

use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::sol_types::SolCall as _;
use causeway_adapters::fisco::FiscoRpc;
use causeway_devnet::contracts::{ExampleRecipient, Inbox, Outbox};
use causeway_devnet::fisco::{FiscoContracts, FiscoNode, FiscoNodeConfig};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_A, DevChain, Domain};
use causeway_gateway::devnet::{ChainEntry, FiscoEntry, Layout, LocalChain, write_consortium};
use causeway_proofs::fisco::{CryptoMode, NodeSecret};
use futures_util::future::join_all;
use rand_core::OsRng;

use crate::consortium::{Member, deliveries, member, tail};
use crate::support::{causeway, text};

/// The committee's deterministic keys: member `i` holds key `i` only.
const COMMITTEE: &str = "causeway-gateway-fisco-consortium";
/// The FISCO BCOS group's domain.
const FISCO: Domain = Domain(3001);
/// Messages each way, per crypto mode.
const N: usize = 100;

/// Dispatches `n` messages on anvil to the FISCO BCOS recipient; their ids.
async fn dispatch_to_fisco(chain: &DevChain, contracts: &FiscoContracts, n: usize) -> Vec<B256> {
    let recipient = address32(alloy::primitives::Address::from(contracts.recipient.0));
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        pending.push(
            chain
                .outbox
                .dispatch(
                    FISCO.0,
                    recipient.0.into(),
                    Bytes::from(format!("alpha to fisco {i}").into_bytes()),
                )
                .send()
                .await
                .unwrap(),
        );
    }
    let mut ids = Vec::with_capacity(n);
    for tx in pending {
        let receipt = tx.get_receipt().await.unwrap();
        assert!(receipt.status());
        let event = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<Outbox::Dispatch>().ok())
            .expect("Dispatch event");
        ids.push(event.inner.data.id);
    }
    ids
}

/// How many of `ids` the FISCO BCOS Inbox holds as delivered, and the recipient's count.
async fn fisco_delivered(
    rpc: &FiscoRpc,
    contracts: &FiscoContracts,
    ids: &[B256],
) -> (usize, U256) {
    let mut delivered = 0;
    for id in ids {
        let out = rpc
            .call_contract(
                &contracts.inbox.0,
                &Inbox::statusCall { id: *id }.abi_encode(),
            )
            .await
            .unwrap();
        assert_eq!(out.status, 0);
        if out.output.last() == Some(&1) {
            delivered += 1;
        }
    }
    let handled = rpc
        .call_contract(
            &contracts.recipient.0,
            &ExampleRecipient::handledCall {}.abi_encode(),
        )
        .await
        .unwrap();
    (delivered, U256::from_be_slice(&handled.output))
}

async fn relay_both_ways(mode: CryptoMode) {
    let started = Instant::now();
    let committee = Committee::new(COMMITTEE, 3, 2);
    let (chain, node) = tokio::join!(
        DevChain::start(CHAIN_A),
        FiscoNode::start(FiscoNodeConfig::new(mode))
    );
    let (chain, node) = (chain.unwrap(), node.unwrap());
    let contracts = node.deploy_causeway(FISCO).await.unwrap();
    contracts
        .install(&node, &committee, CHAIN_A.domain, CHAIN_A.chain_id)
        .await
        .unwrap();
    // The anvil Inbox binds signatures for the FISCO BCOS origin to its web3_chain_id.
    committee
        .install(&chain.inbox, FISCO, node.web3_chain_id())
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
    let lanes = [("alpha", "fisco"), ("fisco", "alpha")];
    let mut members: Vec<Member> = write_consortium(
        dir.path(),
        &committee,
        &[alpha],
        None,
        &[fisco],
        &lanes,
        &layout,
    )
    .unwrap()
    .into_iter()
    .map(member)
    .collect();
    for m in &members {
        let out = causeway(&["config", "check", "--config", m.config().to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{mode} {}: {}",
            m.name,
            text(&out)
        );
    }
    for m in &mut members {
        m.start();
    }

    // FISCO BCOS -> anvil: N transactions of a user of the group, sealed as they come.
    let user = NodeSecret::generate(mode, &mut OsRng);
    let receipts = join_all((0..N).map(|i| {
        contracts.dispatch(
            &node,
            &user,
            CHAIN_A.domain,
            *chain.recipient.address(),
            format!("fisco to alpha {i}").into_bytes(),
        )
    }))
    .await;
    assert!(receipts.iter().all(Result::is_ok), "{receipts:?}");
    // anvil -> FISCO BCOS.
    let to_fisco = dispatch_to_fisco(&chain, &contracts, N).await;

    let rpc = FiscoRpc::new(node.endpoint(), node.group()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (on_alpha, _) = deliveries(&chain).await;
        let (on_fisco, handled) = fisco_delivered(&rpc, &contracts, &to_fisco).await;
        if on_alpha.len() >= N && on_fisco == N {
            assert_eq!(
                on_alpha.len(),
                N,
                "{mode}: no message beyond those dispatched"
            );
            assert!(
                on_alpha.values().all(|n| *n == 1),
                "{mode}: each message delivered once on anvil"
            );
            assert_eq!(handled, U256::from(N), "{mode}: each message handled once");
            break;
        }
        for m in &mut members {
            m.assert_running();
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = members
                .iter()
                .map(|m| format!("--- {} ---\n{}", m.name, tail(&m.log(), 40)))
                .collect();
            panic!(
                "{mode}: {} of {N} fisco->alpha and {on_fisco} of {N} alpha->fisco delivered \
                 within 60 s\n{}",
                on_alpha.len(),
                logs.join("\n")
            );
        }
        // One confirmation on anvil; the test node seals as transactions arrive.
        chain.provider.evm_mine(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for m in &mut members {
        let status = m.terminate();
        assert!(
            status.success(),
            "{mode} {}: {}",
            m.name,
            tail(&m.log(), 30)
        );
    }
    eprintln!(
        "{mode}: {N} messages each way between the FISCO BCOS test node and anvil, three \
         processes, in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_member_processes_relay_between_fisco_and_anvil_exactly_once_in_both_modes() {
    for mode in [CryptoMode::Sm, CryptoMode::Ecdsa] {
        relay_both_ways(mode).await;
    }
}

/// `causeway devnet --fisco` (ECDSA by default): the FISCO BCOS test node joins the local
/// consortium with lanes to and from the alliance chain, and its messages are delivered
/// exactly once with every bundle verified, as the other routes' are.
#[test]
fn devnet_with_fisco_delivers_to_and_from_the_alliance_chain_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("net");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args([
            "devnet",
            "--messages",
            "20",
            "--no-fabric",
            "--fisco",
            "--timeout",
            "120",
            "--dir",
        ])
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("FISCO BCOS test node (ecdsa mode"),
        "{stderr}"
    );
    for route in ["alliance->fisco", "fisco->alliance"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.trim_start().starts_with(route) && l.contains("20 messages")),
            "{route}: {stderr}"
        );
    }
    assert!(stderr.contains("delivered exactly once"), "{stderr}");
    assert!(stderr.contains("80 proof bundles verified"), "{stderr}");
    let config = std::fs::read_to_string(folder.join("org1/causeway.toml")).unwrap();
    assert!(config.contains("[chains.fisco]") && config.contains("crypto = \"ecdsa\""));
}
