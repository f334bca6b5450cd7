//! FISCO BCOS → EVM: 500 messages per crypto mode, each delivered exactly once to the anvil
//! chain's Inbox, checked there (`Inbox.status`, the recipient's count).

use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::U256;
use alloy::sol_types::{SolCall, SolConstructor};
use causeway_adapters::evm::{EvmDestination, EvmDestinationConfig};
use causeway_adapters::fisco::{FiscoSource, FiscoSourceConfig};
use causeway_devnet::contracts::Artifact;
use causeway_devnet::contracts::bindings::Outbox;
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_B, DevChain};
use causeway_proofs::fisco::{CryptoMode, NodeSecret, SealerSet, Transaction, TransactionData};
use causeway_proofs::{Address32, Domain, EvmAddress, Message, Nonce};
use causeway_relayer::store::Lane;
use rand_core::{OsRng, RngCore};

use crate::e2e_fabric::support::{config, relay_all, spawn_relayer};

/// Messages relayed per crypto mode.
const N: usize = 500;
/// The FISCO BCOS group's domain.
const FISCO: Domain = Domain(3001);
const COMMITTEE: &str = "causeway-relayer-e2e-fisco-to-evm";
/// Dev account of the anvil chain the relayer sends from.
const RELAYER_ACCOUNT: usize = 5;

pub(super) fn signed(
    node: &FiscoNode,
    secret: &NodeSecret,
    to: &str,
    input: Vec<u8>,
) -> Transaction {
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let data = TransactionData {
        chain_id: node.chain_id().to_owned(),
        group_id: node.group().to_owned(),
        block_limit: node.block_number() + 500,
        nonce: u128::from_be_bytes(nonce).to_string(),
        to: to.to_owned(),
        input,
        ..TransactionData::default()
    };
    Transaction::sign(data, secret, &mut OsRng).unwrap()
}

pub(super) async fn deploy(
    node: &FiscoNode,
    admin: &NodeSecret,
    name: &str,
    args: Vec<u8>,
) -> [u8; 20] {
    let mut code = Artifact::load(name).unwrap().bytecode.to_vec();
    code.extend_from_slice(&args);
    let receipt = node.submit(signed(node, admin, "", code)).await.unwrap();
    assert_eq!(receipt.status, 0, "deploying {name}");
    let mut a = [0u8; 20];
    hex::decode_to_slice(receipt.contract_address.trim_start_matches("0x"), &mut a).unwrap();
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_messages_from_fisco_are_delivered_to_the_evm_inbox_exactly_once_in_both_modes()
 {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let started = Instant::now();
        let (chain, node) = tokio::join!(
            DevChain::start(CHAIN_B),
            FiscoNode::start(FiscoNodeConfig::new(mode))
        );
        let (chain, node) = (chain.unwrap(), node.unwrap());
        let user = NodeSecret::generate(mode, &mut OsRng);
        let outbox = deploy(
            &node,
            &user,
            "FiscoOutbox",
            Outbox::constructorCall {
                localDomain_: FISCO.0,
            }
            .abi_encode(),
        )
        .await;
        let lane = Lane {
            origin: FISCO,
            destination: CHAIN_B.domain,
        };

        let committee = Committee::new(COMMITTEE, 3, 2);
        let signing_domain = committee
            .install(&chain.inbox, FISCO, node.web3_chain_id())
            .await
            .unwrap();
        let source = FiscoSource::new(FiscoSourceConfig {
            endpoint: node.endpoint(),
            group: node.group().to_owned(),
            domain: FISCO,
            outbox: EvmAddress(outbox),
            sealers: SealerSet::new(mode, node.sealer_keys()).unwrap(),
            range: 64,
        })
        .unwrap();
        let verifier = source.verifier();
        let mut destination_config = EvmDestinationConfig::new(
            chain.node.endpoint(),
            CHAIN_B.domain,
            *chain.inbox.address(),
        );
        destination_config.chain_id = Some(CHAIN_B.chain_id);
        let key = chain.node.dev_keys()[RELAYER_ACCOUNT].to_bytes();
        let destination = EvmDestination::new(destination_config, &key.0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("relayer.db");
        let handle = spawn_relayer(
            &db,
            &committee,
            config(&format!("e2e-fisco-to-evm-{mode}")),
            (Arc::new(source), Arc::new(verifier)),
            Arc::new(destination),
            signing_domain,
        )
        .await;

        // Dispatch while the relayer runs, one transaction each (the Outbox assigns nonces in
        // execution order).
        let recipient = address32(*chain.recipient.address());
        let sender = Address32({
            let mut a = [0u8; 32];
            a[12..].copy_from_slice(&user.public_key().address());
            a
        });
        let mut messages = Vec::with_capacity(N);
        for i in 0..N {
            let body = format!("fisco-{mode}-to-evm message {i:05}").into_bytes();
            let input = Outbox::dispatchCall {
                destination: CHAIN_B.domain.0,
                recipient: recipient.0.into(),
                body: body.clone().into(),
            }
            .abi_encode();
            let receipt = node
                .submit(signed(&node, &user, &hex::encode(outbox), input))
                .await
                .unwrap();
            assert_eq!(receipt.status, 0);
            messages.push(
                Message::new(
                    Nonce(i as u64),
                    FISCO,
                    sender,
                    CHAIN_B.domain,
                    recipient,
                    body,
                )
                .unwrap(),
            );
        }
        eprintln!(
            "{mode}: {N} dispatched on FISCO BCOS after {:?}",
            started.elapsed()
        );

        relay_all(handle, lane, N, started).await;

        for m in &messages {
            let status = chain
                .inbox
                .status(m.id().as_hash().0.into())
                .call()
                .await
                .unwrap();
            assert_eq!(status, 1, "{mode}: message {:?} not delivered", m.nonce());
        }
        assert_eq!(
            chain.recipient.handled().call().await.unwrap(),
            U256::from(N)
        );
    }
}
