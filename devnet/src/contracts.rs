//! The compiled Causeway contracts: typed bindings and deployment.
//!
//! The bindings come from the committed artifacts' ABIs (`sol!` reads
//! `contracts/artifacts/<Name>.json` at compile time); the bytecode that is deployed is read from
//! the same files at run time, so a rebuilt artifact is what tests deploy without recompiling
//! Rust. Deployment sends a plain contract-creation transaction (bytecode followed by the
//! ABI-encoded constructor arguments) and waits for its receipt.

use std::path::{Path, PathBuf};

use alloy::json_abi::JsonAbi;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolConstructor;
use causeway_proofs::Domain;

use crate::anvil::workspace_root;
use crate::{Error, Result};

/// Bindings generated from the committed artifact ABIs.
///
/// Each module (`Outbox`, `Inbox`, `Anchor`, `ExampleRecipient`) has the contract's call and
/// event types, its `…Errors` enum for decoding reverts and an `…Instance` for calling it.
pub mod bindings {
    #![allow(missing_docs, clippy::too_many_arguments, unreachable_pub)]

    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        Outbox,
        "../contracts/artifacts/Outbox.json"
    );
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        Inbox,
        "../contracts/artifacts/Inbox.json"
    );
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        Anchor,
        "../contracts/artifacts/Anchor.json"
    );
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        ExampleRecipient,
        "../contracts/artifacts/ExampleRecipient.json"
    );
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        PrivateRecipient,
        "../contracts/artifacts/PrivateRecipient.json"
    );
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        FiscoOutbox,
        "../contracts/artifacts/FiscoOutbox.json"
    );
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        AmbiguousLog,
        "../contracts/artifacts/AmbiguousLog.json"
    );
}

pub use bindings::{Anchor, ExampleRecipient, Inbox, Outbox, PrivateRecipient};

/// A deployed Outbox.
pub type OutboxHandle = Outbox::OutboxInstance<DynProvider>;
/// A deployed Inbox.
pub type InboxHandle = Inbox::InboxInstance<DynProvider>;
/// A deployed Anchor.
pub type AnchorHandle = Anchor::AnchorInstance<DynProvider>;
/// A deployed ExampleRecipient.
pub type RecipientHandle = ExampleRecipient::ExampleRecipientInstance<DynProvider>;
/// A deployed PrivateRecipient.
pub type PrivateRecipientHandle = PrivateRecipient::PrivateRecipientInstance<DynProvider>;

/// Environment variable naming another artifacts folder (e.g. the output of
/// `scripts/build-contracts.sh /tmp/x` while experimenting with the sources).
pub const ARTIFACTS_ENV: &str = "CAUSEWAY_CONTRACT_ARTIFACTS";

/// Where the artifacts are read from when not embedded: `$CAUSEWAY_CONTRACT_ARTIFACTS` if set,
/// else the committed `contracts/artifacts/` under the project folder.
///
/// Only the bytecode is read from there; the bindings' ABI is always the committed one.
pub fn artifacts_dir() -> PathBuf {
    match std::env::var_os(ARTIFACTS_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("contracts").join("artifacts"),
    }
}

/// The committed artifacts, compiled into the binary: `causeway devnet` and `bench` deploy
/// these wherever the binary runs (`scripts/check-contracts.sh` keeps them equal to the sources).
const EMBEDDED: &[(&str, &str)] = &[
    (
        "AmbiguousLog",
        include_str!("../../contracts/artifacts/AmbiguousLog.json"),
    ),
    (
        "Anchor",
        include_str!("../../contracts/artifacts/Anchor.json"),
    ),
    (
        "ExampleRecipient",
        include_str!("../../contracts/artifacts/ExampleRecipient.json"),
    ),
    (
        "FiscoOutbox",
        include_str!("../../contracts/artifacts/FiscoOutbox.json"),
    ),
    (
        "GasBurningRecipient",
        include_str!("../../contracts/artifacts/GasBurningRecipient.json"),
    ),
    (
        "Inbox",
        include_str!("../../contracts/artifacts/Inbox.json"),
    ),
    (
        "Outbox",
        include_str!("../../contracts/artifacts/Outbox.json"),
    ),
    (
        "PrivateMessageHarness",
        include_str!("../../contracts/artifacts/PrivateMessageHarness.json"),
    ),
    (
        "PrivateRecipient",
        include_str!("../../contracts/artifacts/PrivateRecipient.json"),
    ),
];

/// One compiled contract as `scripts/build-contracts.sh` writes it.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// The contract's name.
    pub contract_name: String,
    /// Its JSON ABI.
    pub abi: JsonAbi,
    /// Creation bytecode (constructor arguments go after it).
    pub bytecode: Bytes,
    /// Runtime bytecode (immutables are zero here; the deployed code has their values).
    pub deployed_bytecode: Bytes,
}

impl Artifact {
    /// The artifact of contract `name`: from `$CAUSEWAY_CONTRACT_ARTIFACTS/<name>.json` when
    /// that is set, else the one compiled into the binary.
    pub fn load(name: &str) -> Result<Self> {
        match std::env::var_os(ARTIFACTS_ENV) {
            Some(p) if !p.is_empty() => {
                Self::load_from(&artifacts_dir().join(format!("{name}.json")))
            }
            _ => match EMBEDDED.iter().find(|(n, _)| *n == name) {
                Some((_, text)) => Self::parse(text, Path::new(&format!("<embedded {name}.json>"))),
                None => Self::load_from(&artifacts_dir().join(format!("{name}.json"))),
            },
        }
    }

    /// Loads an artifact file.
    pub fn load_from(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ArtifactRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::ArtifactFormat {
            path: path.to_path_buf(),
            reason,
        };
        let mut value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut take = |key: &str| {
            value
                .get_mut(key)
                .map(serde_json::Value::take)
                .ok_or_else(|| bad(format!("missing \"{key}\"")))
        };
        let contract_name = take("contractName")?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad("\"contractName\" is not a string".to_owned()))?;
        let abi: JsonAbi =
            serde_json::from_value(take("abi")?).map_err(|e| bad(format!("abi: {e}")))?;
        let hex = |v: serde_json::Value, key: &str| -> Result<Bytes> {
            let s = v
                .as_str()
                .ok_or_else(|| bad(format!("\"{key}\" is not a string")))?;
            let bytes: Bytes = s.parse().map_err(|e| bad(format!("{key}: {e}")))?;
            if bytes.is_empty() {
                return Err(bad(format!("\"{key}\" is empty")));
            }
            Ok(bytes)
        };
        let bytecode = hex(take("bytecode")?, "bytecode")?;
        let deployed_bytecode = hex(take("deployedBytecode")?, "deployedBytecode")?;
        Ok(Artifact {
            contract_name,
            abi,
            bytecode,
            deployed_bytecode,
        })
    }

    /// Deploys this contract from the provider's default account with `constructor_args`
    /// (ABI-encoded) and returns its address.
    pub async fn deploy(&self, provider: &DynProvider, constructor_args: &[u8]) -> Result<Address> {
        let mut code = self.bytecode.to_vec();
        code.extend_from_slice(constructor_args);
        let tx = TransactionRequest::default().with_deploy_code(code);
        let receipt = provider
            .send_transaction(tx)
            .await
            .map_err(|source| Error::Rpc {
                context: "sending a deployment",
                source: Box::new(source),
            })?
            .get_receipt()
            .await
            .map_err(|source| Error::Pending {
                context: "waiting for a deployment",
                source: Box::new(source),
            })?;
        let fail = |reason: &str| Error::Deploy {
            contract: self.contract_name.clone(),
            reason: reason.to_owned(),
        };
        if !receipt.status() {
            return Err(fail("the creation transaction reverted"));
        }
        receipt
            .contract_address
            .ok_or_else(|| fail("the receipt names no contract address"))
    }
}

/// Deploys an `Outbox` whose messages originate from `local_domain`.
pub async fn deploy_outbox(provider: &DynProvider, local_domain: Domain) -> Result<OutboxHandle> {
    let args = Outbox::constructorCall {
        localDomain_: local_domain.0,
    }
    .abi_encode();
    let address = Artifact::load("Outbox")?.deploy(provider, &args).await?;
    Ok(Outbox::new(address, provider.clone()))
}

/// Seconds a validator-set change stays pending on the devnet's contracts (production
/// deployments use a day or more; tests move anvil's clock with `evm_increaseTime`).
pub const DEVNET_CHANGE_DELAY: u64 = 60;

/// Deploys an `Inbox` for destination `local_domain`, configured by `admin`, with the devnet's
/// validator-set change delay ([`DEVNET_CHANGE_DELAY`]).
pub async fn deploy_inbox(
    provider: &DynProvider,
    local_domain: Domain,
    admin: Address,
) -> Result<InboxHandle> {
    deploy_inbox_with_delay(provider, local_domain, admin, DEVNET_CHANGE_DELAY).await
}

/// Deploys an `Inbox` whose validator-set changes wait `change_delay` seconds.
pub async fn deploy_inbox_with_delay(
    provider: &DynProvider,
    local_domain: Domain,
    admin: Address,
    change_delay: u64,
) -> Result<InboxHandle> {
    let args = Inbox::constructorCall {
        localDomain_: local_domain.0,
        admin_: admin,
        changeDelay_: change_delay,
    }
    .abi_encode();
    let address = Artifact::load("Inbox")?.deploy(provider, &args).await?;
    Ok(Inbox::new(address, provider.clone()))
}

/// Deploys an `Anchor` configured by `admin` with the devnet's change delay.
pub async fn deploy_anchor(provider: &DynProvider, admin: Address) -> Result<AnchorHandle> {
    let args = Anchor::constructorCall {
        admin_: admin,
        changeDelay_: DEVNET_CHANGE_DELAY,
    }
    .abi_encode();
    let address = Artifact::load("Anchor")?.deploy(provider, &args).await?;
    Ok(Anchor::new(address, provider.clone()))
}

/// Deploys a `GasBurningRecipient` (a hostile recipient for tests: it burns all the gas it is
/// given in a real transaction, and none in a gas estimate); returns its address.
pub async fn deploy_gas_burning_recipient(provider: &DynProvider) -> Result<Address> {
    Artifact::load("GasBurningRecipient")?
        .deploy(provider, &[])
        .await
}

/// Deploys an `ExampleRecipient` that accepts messages from `inbox` (owner: the deployer).
pub async fn deploy_example_recipient(
    provider: &DynProvider,
    inbox: Address,
) -> Result<RecipientHandle> {
    let args = ExampleRecipient::constructorCall { inbox_: inbox }.abi_encode();
    let address = Artifact::load("ExampleRecipient")?
        .deploy(provider, &args)
        .await?;
    Ok(ExampleRecipient::new(address, provider.clone()))
}

/// Deploys a `PrivateRecipient` on the chain of `domain` that accepts private messages from
/// `inbox` whose disclosed field `field` proves against their commitment.
pub async fn deploy_private_recipient(
    provider: &DynProvider,
    inbox: Address,
    domain: u32,
    field: &str,
) -> Result<PrivateRecipientHandle> {
    let args = PrivateRecipient::constructorCall {
        inbox_: inbox,
        localDomain_: domain,
        fieldName_: field.as_bytes().to_vec().into(),
    }
    .abi_encode();
    let address = Artifact::load("PrivateRecipient")?
        .deploy(provider, &args)
        .await?;
    Ok(PrivateRecipient::new(address, provider.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_artifacts_are_the_committed_files() {
        for (name, text) in EMBEDDED {
            let file = workspace_root()
                .join("contracts/artifacts")
                .join(format!("{name}.json"));
            let on_disk = std::fs::read_to_string(&file).expect("committed artifact");
            assert_eq!(
                *text, on_disk,
                "{name}: rebuild (cargo build) after scripts/build-contracts.sh"
            );
            let artifact = Artifact::parse(text, &file).expect("parses");
            assert_eq!(artifact.contract_name, *name);
        }
        // Every committed artifact is embedded.
        let committed = std::fs::read_dir(workspace_root().join("contracts/artifacts"))
            .expect("artifacts folder")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
            })
            .count();
        assert_eq!(committed, EMBEDDED.len());
    }
}
