//! EVM → FISCO BCOS: 500 messages per crypto mode from an anvil chain's Outbox, delivered by
//! `FiscoDestination` to the Inbox on the FISCO BCOS test node (transactions signed in the
//! chain's mode), each exactly once: checked there (`Inbox.status`, the recipient's count).

use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use alloy::sol_types::{SolCall, SolConstructor};
use causeway_adapters::fisco::{FiscoDestination, FiscoDestinationConfig, FiscoRpc};
use causeway_devnet::contracts::bindings::{ExampleRecipient, Inbox};
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_devnet::fixtures::{Committee, evm_signing_domain, message};
use causeway_devnet::{CHAIN_A, DevChain};
use causeway_proofs::fisco::{CryptoMode, NodeSecret};
use causeway_proofs::{Domain, EvmAddress};
use causeway_relayer::store::Lane;
use rand_core::OsRng;

use super::fisco_to_evm::{deploy, signed};
use crate::e2e_evm::support::{CONFIRMATIONS, evm_source};
use crate::e2e_fabric::support::{config, relay_all, spawn_relayer};

const N: usize = 500;
const FISCO: Domain = Domain(3001);
const COMMITTEE: &str = "causeway-relayer-e2e-evm-to-fisco";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_messages_from_evm_are_delivered_to_the_fisco_inbox_exactly_once_in_both_modes()
 {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let started = Instant::now();
        let (chain, node) = tokio::join!(
            DevChain::start(CHAIN_A),
            FiscoNode::start(FiscoNodeConfig::new(mode))
        );
        let (chain, node) = (chain.unwrap(), node.unwrap());
        let lane = Lane {
            origin: CHAIN_A.domain,
            destination: FISCO,
        };

        // On FISCO BCOS: the Inbox (administered by `admin`), a recipient, and the committee.
        let admin = NodeSecret::generate(mode, &mut OsRng);
        let admin_address = Address::from(admin.public_key().address());
        let inbox = deploy(
            &node,
            &admin,
            "Inbox",
            Inbox::constructorCall {
                localDomain_: FISCO.0,
                admin_: admin_address,
                changeDelay_: 60,
            }
            .abi_encode(),
        )
        .await;
        let recipient = deploy(
            &node,
            &admin,
            "ExampleRecipient",
            ExampleRecipient::constructorCall {
                inbox_: Address::from(inbox),
            }
            .abi_encode(),
        )
        .await;
        let committee = Committee::new(COMMITTEE, 3, 2);
        let install = Inbox::setValidatorsCall {
            origin: CHAIN_A.domain.0,
            originChainId: CHAIN_A.chain_id,
            validators: committee.addresses(),
            threshold: committee.threshold(),
        }
        .abi_encode();
        let r = node
            .submit(signed(&node, &admin, &hex::encode(inbox), install))
            .await
            .unwrap();
        assert_eq!(r.status, 0, "setValidators");
        let signing_domain = evm_signing_domain(
            CHAIN_A.domain,
            CHAIN_A.chain_id,
            FISCO,
            // `block.chainid` in the test node's EVM: its `web3_chain_id`.
            node.web3_chain_id(),
            Address::from(inbox),
            1,
        );

        let source = evm_source(chain.node.endpoint(), *chain.outbox.address());
        let verifier = source.verifier();
        let destination = FiscoDestination::new(
            FiscoDestinationConfig {
                endpoint: node.endpoint(),
                chain_id: node.chain_id().to_owned(),
                group: node.group().to_owned(),
                domain: FISCO,
                inbox: EvmAddress(inbox),
            },
            NodeSecret::generate(mode, &mut OsRng),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("relayer.db");
        let handle = spawn_relayer(
            &db,
            &committee,
            config(&format!("e2e-evm-to-fisco-{mode}")),
            (Arc::new(source), Arc::new(verifier)),
            Arc::new(destination),
            signing_domain,
        )
        .await;

        let mut messages = Vec::with_capacity(N);
        for i in 0..N {
            let body = format!("evm-to-fisco-{mode} message {i:05}").into_bytes();
            let receipt = chain
                .outbox
                .dispatch(
                    FISCO.0,
                    causeway_devnet::fixtures::address32(Address::from(recipient))
                        .0
                        .into(),
                    body.clone().into(),
                )
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(receipt.status());
            messages.push(message(
                i as u64,
                CHAIN_A.domain,
                chain.admin,
                FISCO,
                Address::from(recipient),
                &body,
            ));
        }
        chain
            .provider
            .anvil_mine(Some(CONFIRMATIONS), None)
            .await
            .unwrap();
        eprintln!(
            "{mode}: {N} dispatched on anvil after {:?}",
            started.elapsed()
        );

        relay_all(handle, lane, N, started).await;

        let rpc = FiscoRpc::new(node.endpoint(), node.group()).unwrap();
        for m in &messages {
            let call = Inbox::statusCall {
                id: m.id().as_hash().0.into(),
            }
            .abi_encode();
            let out = rpc.call_contract(&inbox, &call).await.unwrap();
            assert_eq!(out.status, 0);
            assert_eq!(
                out.output.last(),
                Some(&1),
                "{mode}: message {:?} not delivered",
                m.nonce()
            );
        }
        let handled = rpc
            .call_contract(&recipient, &ExampleRecipient::handledCall {}.abi_encode())
            .await
            .unwrap();
        assert_eq!(U256::from_be_slice(&handled.output), U256::from(N));
    }
}
