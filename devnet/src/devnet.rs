//! [`Devnet`]: two anvil chains with the Causeway contracts deployed, the setup of most
//! end-to-end tests and of `causeway devnet`.

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};
use causeway_proofs::Domain;

use crate::anvil::{AnvilConfig, AnvilNode, Mining};
use crate::contracts::{
    InboxHandle, OutboxHandle, RecipientHandle, deploy_example_recipient, deploy_inbox,
    deploy_outbox,
};
use crate::{Error, Result};

/// A chain's identity in the devnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainSpec {
    /// Its EIP-155 chain id.
    pub chain_id: u64,
    /// Its Causeway domain.
    pub domain: Domain,
}

/// Chain A: chain id 31337, domain 1.
pub const CHAIN_A: ChainSpec = ChainSpec {
    chain_id: 31337,
    domain: Domain(1),
};

/// Chain B: chain id 31338, domain 2.
pub const CHAIN_B: ChainSpec = ChainSpec {
    chain_id: 31338,
    domain: Domain(2),
};

/// The dev account that deploys the contracts and administers the Inbox.
pub const ADMIN_KEY_INDEX: usize = 0;

/// One running chain with an Outbox, an Inbox and an ExampleRecipient, all deployed by the admin
/// dev account (in that order, so their addresses are the same on every devnet chain).
#[derive(Debug)]
pub struct DevChain {
    /// Chain id and domain.
    pub spec: ChainSpec,
    /// The anvil process (killed when this is dropped).
    pub node: AnvilNode,
    /// A provider signing as the admin by default (and able to sign as any dev account).
    pub provider: DynProvider,
    /// The admin (dev account [`ADMIN_KEY_INDEX`]).
    pub admin: Address,
    /// The Outbox (`localDomain = spec.domain`).
    pub outbox: OutboxHandle,
    /// The Inbox (`localDomain = spec.domain`, admin = [`DevChain::admin`]), with no validator
    /// sets yet.
    pub inbox: InboxHandle,
    /// An ExampleRecipient trusting the Inbox.
    pub recipient: RecipientHandle,
}

impl DevChain {
    /// Starts anvil for `spec` (automine) and deploys the contracts.
    pub async fn start(spec: ChainSpec) -> Result<Self> {
        Self::start_with(spec, Mining::Automine).await
    }

    /// Starts anvil for `spec` with the given mining mode and deploys the contracts. With
    /// [`Mining::Manual`] the chain automines during deployment and stops mining afterwards.
    pub async fn start_with(spec: ChainSpec, mining: Mining) -> Result<Self> {
        Self::start_configured(spec, mining, &[]).await
    }

    /// Starts anvil for `spec` (automine) with opcode tracing on (`--steps-tracing`, so that
    /// `debug_traceTransaction` returns struct logs: the gas breakdowns of the gas benchmark).
    pub async fn start_traced(spec: ChainSpec) -> Result<Self> {
        Self::start_configured(spec, Mining::Automine, &["--steps-tracing"]).await
    }

    async fn start_configured(spec: ChainSpec, mining: Mining, args: &[&str]) -> Result<Self> {
        let startup = match mining {
            Mining::Manual => Mining::Automine,
            other => other,
        };
        let config = args.iter().fold(
            AnvilConfig::new(spec.chain_id).with_mining(startup),
            |config, arg| config.with_arg(*arg),
        );
        let node = AnvilNode::spawn(&config).await?;
        let provider = node.provider(ADMIN_KEY_INDEX);
        let admin = node
            .dev_address(ADMIN_KEY_INDEX)
            .ok_or_else(|| Error::AnvilStartup {
                reason: "anvil listed no funded dev accounts".to_owned(),
                output: String::new(),
            })?;
        let outbox = deploy_outbox(&provider, spec.domain).await?;
        let inbox = deploy_inbox(&provider, spec.domain, admin).await?;
        let recipient = deploy_example_recipient(&provider, *inbox.address()).await?;
        if mining == Mining::Manual {
            provider
                .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,))
                .await
                .map_err(|source| Error::Rpc {
                    context: "switching automine off",
                    source: Box::new(source),
                })?;
        }
        Ok(DevChain {
            spec,
            node,
            provider,
            admin,
            outbox,
            inbox,
            recipient,
        })
    }
}

/// Two chains: A (chain id 31337, domain 1) and B (chain id 31338, domain 2), each with its
/// Outbox, Inbox and ExampleRecipient.
#[derive(Debug)]
pub struct Devnet {
    /// Chain A.
    pub a: DevChain,
    /// Chain B.
    pub b: DevChain,
}

impl Devnet {
    /// Starts both chains concurrently and deploys the contracts on each.
    pub async fn start() -> Result<Self> {
        let (a, b) = tokio::try_join!(DevChain::start(CHAIN_A), DevChain::start(CHAIN_B))?;
        Ok(Devnet { a, b })
    }
}
