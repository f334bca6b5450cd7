//! `causeway devnet --fisco`: the FISCO BCOS test node as a member chain of the local
//! consortium (chain `fisco`, domain 3001), with the Causeway contracts deployed, the committee
//! installed on its Inbox for the alliance chain and on the alliance chain's Inbox for it, and
//! its side of the routes: dispatching from its Outbox, reading its Inbox's deliveries and its
//! recipient's count. Kept apart from `devnet.rs` so that file only names it.

use std::time::Instant;

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::{SolCall as _, SolEvent as _};
use anyhow::{Context, Result, ensure};
use causeway_adapters::fisco::FiscoRpc;
use causeway_devnet::contracts::{ExampleRecipient, Inbox, Outbox};
use causeway_devnet::fisco::{FiscoContracts, FiscoNode, FiscoNodeConfig};
use causeway_devnet::fixtures::{Committee, evm_signing_domain};
use causeway_devnet::{CHAIN_A, DevChain};
use causeway_gateway::devnet::FiscoEntry;
use causeway_proofs::fisco::{CryptoMode, NodeSecret};
use causeway_proofs::{Address32, Domain, SigningDomain};
use rand_core::OsRng;

/// The FISCO BCOS group's domain in the local consortium.
pub(crate) const FISCO_DOMAIN: Domain = Domain(3001);
/// Its name in the members' configurations.
pub(crate) const FISCO_NAME: &str = "fisco";

/// The running test node, its contracts, a user account that dispatches, and a client.
pub(crate) struct LocalFisco {
    node: FiscoNode,
    contracts: FiscoContracts,
    user: NodeSecret,
    rpc: FiscoRpc,
}

/// Starts the test node in `mode`, deploys the contracts and installs `committee` both ways
/// with the alliance chain; returns it and the signing domains of alliance->fisco and
/// fisco->alliance.
pub(crate) async fn start(
    mode: CryptoMode,
    alliance: &DevChain,
    committee: &Committee,
) -> Result<(LocalFisco, SigningDomain, SigningDomain)> {
    let node = FiscoNode::start(FiscoNodeConfig::new(mode))
        .await
        .context("starting the FISCO BCOS test node")?;
    let contracts = node
        .deploy_causeway(FISCO_DOMAIN)
        .await
        .context("deploying the contracts on the FISCO BCOS test node")?;
    contracts
        .install(&node, committee, CHAIN_A.domain, CHAIN_A.chain_id)
        .await
        .context("installing the committee on the FISCO BCOS Inbox")?;
    let from_fisco = committee
        .install(&alliance.inbox, FISCO_DOMAIN, node.web3_chain_id())
        .await
        .context("installing the committee on the alliance chain's Inbox for FISCO BCOS")?;
    // The Inbox's first set for an origin has epoch 1.
    let to_fisco = evm_signing_domain(
        CHAIN_A.domain,
        CHAIN_A.chain_id,
        FISCO_DOMAIN,
        node.web3_chain_id(),
        Address::from(contracts.inbox.0),
        1,
    );
    let rpc = FiscoRpc::new(node.endpoint(), node.group())?;
    let user = NodeSecret::generate(mode, &mut OsRng);
    Ok((
        LocalFisco {
            node,
            contracts,
            user,
            rpc,
        },
        to_fisco,
        from_fisco,
    ))
}

impl LocalFisco {
    /// Its `[chains.fisco]` entry, a new signer account per member.
    pub(crate) fn entry(&self, members: usize) -> FiscoEntry {
        FiscoEntry::of_node(
            FISCO_NAME,
            FISCO_DOMAIN.0,
            &self.node,
            &self.contracts,
            members,
        )
    }

    /// The recipient contract messages to the group go to.
    pub(crate) fn recipient(&self) -> Address32 {
        causeway_devnet::fixtures::address32(Address::from(self.contracts.recipient.0))
    }

    /// Dispatches `n` messages to `recipient` on `to`; their ids and when each was sealed.
    pub(crate) async fn dispatch(
        &self,
        to: Domain,
        recipient: Address32,
        n: usize,
        tag: &str,
    ) -> Result<Vec<(B256, Instant)>> {
        let mut sent = Vec::with_capacity(n);
        for i in 0..n {
            let call = Outbox::dispatchCall {
                destination: to.0,
                recipient: recipient.0.into(),
                body: format!("{tag} message {i}").into_bytes().into(),
            };
            let receipt = self
                .node
                .send(
                    &self.user,
                    self.contracts.outbox,
                    call.abi_encode(),
                    "dispatch",
                )
                .await?;
            let topic = format!("{:#x}", Outbox::Dispatch::SIGNATURE_HASH);
            let id = receipt
                .log_entries
                .iter()
                .find(|l| {
                    l.topics
                        .first()
                        .is_some_and(|t| t.eq_ignore_ascii_case(&topic))
                })
                .and_then(|l| l.topics.get(1))
                .and_then(|t| t.parse::<B256>().ok())
                .context("a dispatch without its Dispatch event")?;
            sent.push((id, Instant::now()));
        }
        Ok(sent)
    }

    /// Whether the Inbox holds `id` as delivered.
    pub(crate) async fn delivered(&self, id: B256) -> Result<bool> {
        let out = self
            .rpc
            .call_contract(
                &self.contracts.inbox.0,
                &Inbox::statusCall { id }.abi_encode(),
            )
            .await?;
        ensure!(out.status == 0, "Inbox.status reverted ({})", out.status);
        Ok(out.output.last() == Some(&1))
    }

    /// How many messages the recipient contract handled.
    pub(crate) async fn handled(&self) -> Result<U256> {
        let out = self
            .rpc
            .call_contract(
                &self.contracts.recipient.0,
                &ExampleRecipient::handledCall {}.abi_encode(),
            )
            .await?;
        ensure!(out.status == 0, "handled() reverted ({})", out.status);
        Ok(U256::from_be_slice(&out.output))
    }
}
