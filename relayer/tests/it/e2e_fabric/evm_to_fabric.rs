//! EVM → Fabric end to end: 500 messages dispatched on an anvil chain's Outbox are relayed by
//! the pipeline (`EvmSource`, its native verifier, a 2-of-3 committee, `FabricDestination`) to
//! the Fabric test network's `causeway_inbox`, which checks every checkpoint signature and
//! inclusion proof itself. Checked on the Fabric ledger: `isDelivered` for every id, and the
//! example recipient received each body exactly once (its count is 500).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use causeway_adapters::fabric::inbox_wire::{INBOX_CHAINCODE, inbox_signing_domain};
use causeway_adapters::fabric::request::Invocation;
use causeway_adapters::fabric::{FabricClient, FabricDestination, FabricDestinationConfig};
use causeway_devnet::contracts::Outbox;
use causeway_devnet::fabric::RECIPIENT_CHAINCODE;
use causeway_devnet::fabric::{FabricNetwork, FabricNetworkOptions, ORG1, commit_invocation};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_A, DevChain};
use causeway_proofs::{Address32, Message, Nonce};
use causeway_relayer::pipeline::PipelineConfig;
use causeway_relayer::store::{Lane, RetryPolicy};

use super::support::{self, relay_all, spawn_relayer};
use crate::e2e_evm::support::{CONFIRMATIONS, evm_source};

/// Messages relayed.
const N: usize = 500;
/// Dispatches per anvil block.
const PER_BLOCK: usize = 100;
/// The committee's deterministic keys.
const COMMITTEE: &str = "causeway-relayer-e2e-evm-to-fabric";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_messages_from_anvil_are_delivered_to_the_fabric_inbox_exactly_once() {
    let started = Instant::now();
    let (chain, net) = tokio::join!(
        DevChain::start(CHAIN_A),
        FabricNetwork::start(FabricNetworkOptions::default())
    );
    let (chain, net) = (chain.unwrap(), net.unwrap());
    let lane = Lane {
        origin: CHAIN_A.domain,
        destination: net.domain(),
    };

    // The Fabric inbox trusts a 2-of-3 committee for chain A; the signing domain is what the
    // inbox recomputes (its channel's configured chain id, channel and chaincode name, chain
    // A's id, epoch 1).
    let committee = Committee::new(COMMITTEE, 3, 2);
    let admin = net.connect(net.admin_identity()).await.unwrap();
    let args = committee.fabric_set_validators_args(CHAIN_A.domain, CHAIN_A.chain_id);
    let epoch = invoke_inbox(&admin, &net, "setValidators", args).await;
    let epoch: u64 = String::from_utf8(epoch).unwrap().parse().unwrap();
    let signing_domain = inbox_signing_domain(
        CHAIN_A.domain,
        CHAIN_A.chain_id,
        net.domain(),
        net.chain_id(),
        net.channel(),
        INBOX_CHAINCODE,
        epoch,
    );

    let recipient = Address32::from_name(&format!("{}/{RECIPIENT_CHAINCODE}", net.channel()));
    let bodies: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("evm-to-fabric message {i:05}").into_bytes())
        .collect();
    let messages = dispatch(&chain, net.domain(), recipient, &bodies).await;
    chain
        .provider
        .anvil_mine(Some(CONFIRMATIONS), None)
        .await
        .unwrap();
    eprintln!("{N} dispatched after {:?}", started.elapsed());

    let source = evm_source(chain.node.endpoint(), *chain.outbox.address());
    let destination = FabricDestination::new(
        net.client(ORG1).await.unwrap(),
        FabricDestinationConfig::new(net.domain(), net.chain_id(), net.channel()),
    )
    .unwrap();
    assert_eq!(
        destination
            .config()
            .signing_domain(CHAIN_A.domain, CHAIN_A.chain_id, epoch),
        signing_domain
    );
    let verifier = source.verifier();
    let dir = tempfile::tempdir().unwrap();
    let handle = spawn_relayer(
        &dir.path().join("relayer.db"),
        &committee,
        config(),
        (Arc::new(source), Arc::new(verifier)),
        Arc::new(destination),
        signing_domain,
    )
    .await;
    relay_all(handle, lane, N, started).await;

    // On the Fabric ledger: every id delivered (through the peer's Gateway), ...
    let user = net.client(ORG1).await.unwrap();
    for m in &messages {
        let answer = evaluate(
            &user,
            &net,
            INBOX_CHAINCODE,
            "isDelivered",
            vec![m.id().to_hex().into_bytes()],
        )
        .await;
        assert_eq!(answer, "true", "message {:?} not delivered", m.nonce());
    }
    // ... and each body handled exactly once by the recipient.
    let count = evaluate(&user, &net, RECIPIENT_CHAINCODE, "count", vec![]).await;
    assert_eq!(count, N.to_string());
    let mut received: HashMap<Vec<u8>, u32> = HashMap::new();
    for n in 0..N {
        let body = net
            .state(RECIPIENT_CHAINCODE, &format!("received/{n}"))
            .unwrap_or_else(|| panic!("received/{n} missing"));
        *received.entry(body).or_default() += 1;
    }
    assert_eq!(received.len(), N);
    for body in &bodies {
        assert_eq!(received.get(body), Some(&1));
    }
    eprintln!("checked after {:?}", started.elapsed());
}

/// The shared pipeline knobs, with quicker retries.
fn config() -> PipelineConfig {
    PipelineConfig {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 100,
        },
        ..support::config("e2e-evm-to-fabric")
    }
}

/// Dispatches every body from chain A's admin to `recipient` on `destination`,
/// [`PER_BLOCK`] per block; returns the messages the Outbox emitted.
async fn dispatch(
    chain: &DevChain,
    destination: causeway_proofs::Domain,
    recipient: Address32,
    bodies: &[Vec<u8>],
) -> Vec<Message> {
    let p = &chain.provider;
    let outbox: Address = *chain.outbox.address();
    let first = chain.outbox.nonce().call().await.unwrap();
    p.anvil_set_auto_mine(false).await.unwrap();
    for chunk in bodies.chunks(PER_BLOCK) {
        for body in chunk {
            let call = Outbox::dispatchCall {
                destination: destination.0,
                recipient: recipient.0.into(),
                body: Bytes::copy_from_slice(body),
            };
            let request = TransactionRequest::default()
                .from(chain.admin)
                .to(outbox)
                .input(Bytes::from(call.abi_encode()).into())
                .gas_limit(200_000);
            let _pending = p.send_transaction(request).await.unwrap();
        }
        p.evm_mine(None).await.unwrap();
    }
    let want = first + bodies.len() as u64;
    for _ in 0..100 {
        if chain.outbox.nonce().call().await.unwrap() == want {
            break;
        }
        p.evm_mine(None).await.unwrap();
    }
    p.anvil_set_auto_mine(true).await.unwrap();
    assert_eq!(chain.outbox.nonce().call().await.unwrap(), want);
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            Message::new(
                Nonce(first + i as u64),
                CHAIN_A.domain,
                address32(chain.admin),
                destination,
                recipient,
                body.clone(),
            )
            .unwrap()
        })
        .collect()
}

/// Endorses, submits and commits `function` of the inbox as `client`; returns its response.
async fn invoke_inbox(
    client: &FabricClient,
    net: &FabricNetwork,
    function: &str,
    args: Vec<Vec<u8>>,
) -> Vec<u8> {
    let invocation = Invocation::new(net.channel(), INBOX_CHAINCODE, function, args.clone());
    let (_, status) = commit_invocation(client, &invocation).await.unwrap();
    assert!(status.code.is_valid(), "{}", status.code);
    // The committed result, read back the way any client would.
    let set: serde_json::Value = serde_json::from_str(
        &evaluate(
            client,
            net,
            INBOX_CHAINCODE,
            "getValidators",
            vec![args[0].clone()],
        )
        .await,
    )
    .unwrap();
    set["epoch"].to_string().into_bytes()
}

async fn evaluate(
    client: &FabricClient,
    net: &FabricNetwork,
    chaincode: &str,
    function: &str,
    args: Vec<Vec<u8>>,
) -> String {
    causeway_devnet::fabric::evaluate_text(client, net.channel(), chaincode, function, args)
        .await
        .unwrap()
}
