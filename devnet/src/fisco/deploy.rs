//! The Causeway contracts on a [`FiscoNode`]: a `FiscoOutbox` (the Outbox that also records
//! each id it emits, docs/fisco.md "Receipt hash"), an Inbox and an `ExampleRecipient`
//! deployed by an administrator account of the chain's crypto mode, a committee installed on
//! the Inbox, messages dispatched from the Outbox. What `causeway devnet --fisco` and the
//! gateway's multi-process tests set up (the relayer's in-process tests do the same by hand).

use alloy::primitives::Address;
use alloy::sol_types::{SolCall, SolConstructor};
use causeway_proofs::fisco::json::ReceiptJson;
use causeway_proofs::fisco::{NodeSecret, Transaction, TransactionData};
use causeway_proofs::{Domain, EvmAddress};
use rand_core::{OsRng, RngCore};

use super::{FiscoNode, node_error};
use crate::contracts::bindings::{ExampleRecipient, Inbox, Outbox};
use crate::contracts::{Artifact, DEVNET_CHANGE_DELAY};
use crate::fixtures::Committee;
use crate::{Error, Result};

/// The Causeway contracts deployed on a FISCO BCOS test node, and their administrator.
pub struct FiscoContracts {
    /// The `FiscoOutbox` (messages from this group).
    pub outbox: EvmAddress,
    /// The Inbox (messages to this group).
    pub inbox: EvmAddress,
    /// An `ExampleRecipient` accepting messages from the Inbox.
    pub recipient: EvmAddress,
    admin: NodeSecret,
}

impl std::fmt::Debug for FiscoContracts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiscoContracts")
            .field("outbox", &self.outbox)
            .field("inbox", &self.inbox)
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

impl FiscoNode {
    /// A transaction calling `to` (20 bytes; `None` deploys) with `input`, signed by `secret`
    /// for this node's chain and group, with a random nonce and the widest block limit.
    pub fn transaction(
        &self,
        secret: &NodeSecret,
        to: Option<EvmAddress>,
        input: Vec<u8>,
    ) -> Result<Transaction> {
        let mut nonce = [0u8; 16];
        OsRng.fill_bytes(&mut nonce);
        let data = TransactionData {
            chain_id: self.chain_id().to_owned(),
            group_id: self.group().to_owned(),
            block_limit: self.block_number() + 500,
            nonce: u128::from_be_bytes(nonce).to_string(),
            to: to.map(|a| hex::encode(a.0)).unwrap_or_default(),
            input,
            ..TransactionData::default()
        };
        Transaction::sign(data, secret, &mut OsRng)
            .map_err(|e| node_error("signing a transaction", e))
    }

    /// Sends `input` to `to` signed by `secret`; the receipt of a successful transaction.
    pub async fn send(
        &self,
        secret: &NodeSecret,
        to: EvmAddress,
        input: Vec<u8>,
        call: &'static str,
    ) -> Result<ReceiptJson> {
        let receipt = self
            .submit(self.transaction(secret, Some(to), input)?)
            .await?;
        if receipt.status != 0 {
            return Err(Error::Reverted { call });
        }
        Ok(receipt)
    }

    pub(crate) async fn deploy(
        &self,
        admin: &NodeSecret,
        name: &str,
        args: Vec<u8>,
    ) -> Result<EvmAddress> {
        let mut code = Artifact::load(name)?.bytecode.to_vec();
        code.extend_from_slice(&args);
        let receipt = self.submit(self.transaction(admin, None, code)?).await?;
        let fail = |reason: String| Error::Deploy {
            contract: name.to_owned(),
            reason,
        };
        if receipt.status != 0 {
            return Err(fail(format!("status {}", receipt.status)));
        }
        let mut address = [0u8; 20];
        hex::decode_to_slice(
            receipt.contract_address.trim_start_matches("0x"),
            &mut address,
        )
        .map_err(|e| {
            fail(format!(
                "contract address {}: {e}",
                receipt.contract_address
            ))
        })?;
        Ok(EvmAddress(address))
    }

    /// Deploys a `FiscoOutbox` and an Inbox for `domain` and an `ExampleRecipient` of that Inbox, by a
    /// new administrator account of the node's crypto mode.
    pub async fn deploy_causeway(&self, domain: Domain) -> Result<FiscoContracts> {
        let admin = NodeSecret::generate(self.mode(), &mut OsRng);
        let admin_address = Address::from(admin.public_key().address());
        let outbox = self
            .deploy(
                &admin,
                "FiscoOutbox",
                Outbox::constructorCall {
                    localDomain_: domain.0,
                }
                .abi_encode(),
            )
            .await?;
        let inbox = self
            .deploy(
                &admin,
                "Inbox",
                Inbox::constructorCall {
                    localDomain_: domain.0,
                    admin_: admin_address,
                    changeDelay_: DEVNET_CHANGE_DELAY,
                }
                .abi_encode(),
            )
            .await?;
        let recipient = self
            .deploy(
                &admin,
                "ExampleRecipient",
                ExampleRecipient::constructorCall {
                    inbox_: Address::from(inbox.0),
                }
                .abi_encode(),
            )
            .await?;
        Ok(FiscoContracts {
            outbox,
            inbox,
            recipient,
            admin,
        })
    }
}

impl FiscoContracts {
    /// Makes `committee` the Inbox's validator set for `origin` (chain id `origin_chain_id`).
    pub async fn install(
        &self,
        node: &FiscoNode,
        committee: &Committee,
        origin: Domain,
        origin_chain_id: u64,
    ) -> Result<()> {
        let call = Inbox::setValidatorsCall {
            origin: origin.0,
            originChainId: origin_chain_id,
            validators: committee.addresses(),
            threshold: committee.threshold(),
        }
        .abi_encode();
        node.send(&self.admin, self.inbox, call, "setValidators")
            .await
            .map(drop)
    }

    /// Dispatches `body` from the Outbox to `recipient` (an EVM address) on `destination`, sent
    /// by `sender`; the receipt.
    pub async fn dispatch(
        &self,
        node: &FiscoNode,
        sender: &NodeSecret,
        destination: Domain,
        recipient: Address,
        body: Vec<u8>,
    ) -> Result<ReceiptJson> {
        let call = Outbox::dispatchCall {
            destination: destination.0,
            recipient: crate::fixtures::address32(recipient).0.into(),
            body: body.into(),
        }
        .abi_encode();
        node.send(sender, self.outbox, call, "dispatch").await
    }
}
