//! In-memory chains for a gateway that runs without any chain node: `causeway bench pipeline`
//! measures the gateway itself (verify, log, sign, exchange over the peer protocol, batch
//! assembly) on messages from an in-memory source, with no chain submission. Built only with
//! the `devnet` feature.
//!
//! Every member gateway of the benchmark builds the same chains from the same configuration and
//! [`Load`]: each lane's origin holds the same messages in the same blocks (block ids are
//! deterministic), so the members' logs and checkpoints agree and they attest together as they
//! would on a real chain. A lane's destination is an in-memory chain that checks each batch as
//! the Inbox does (the validators' signatures once per batch, each message's inclusion proof)
//! and records the messages delivered; nothing is sent anywhere.

use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use causeway_adapters::NativeVerifier;
use causeway_adapters::chain::DynDestination;
use causeway_adapters::memory::MemoryChain;
use causeway_config::{Chain, Config};
use causeway_proofs::{
    Address32, Domain, Message, Nonce, SigningDomain, TrustAnchor, ValidatorSet,
};
use causeway_relayer::pipeline::{LaneConfig, OriginConfig};

use crate::wiring::{DEFAULT_START_HEIGHT, Wired, WiredChain};

/// The messages every lane's origin holds when the gateway starts.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Messages per lane.
    pub messages: usize,
    /// Messages per source block.
    pub per_block: usize,
    /// Body size of each message, in bytes.
    pub body_bytes: usize,
}

/// The epoch the in-memory destinations hold their validator sets at.
const MEMORY_EPOCH: u64 = 1;

/// The in-memory chains of one gateway, wired, and each lane's destination to watch.
pub struct MemoryWiring {
    /// What [`crate::node::Node::start_wired`] runs on.
    pub wired: Wired,
    /// Per lane (by name), the in-memory chain its messages are delivered to.
    pub destinations: Vec<(String, MemoryChain)>,
}

/// Builds one in-memory chain per configured chain, each lane's messages ([`Load`]) final on
/// its origin, and the lanes as [`crate::wiring::wire`] would (signing domains from the
/// configured chain ids and Inboxes, the configured validators and threshold).
pub fn wire(config: &Config, load: Load) -> Result<MemoryWiring> {
    ensure!(load.per_block > 0, "messages per block must be at least 1");
    let chains: Vec<(Chain, MemoryChain)> = config
        .chains()
        .iter()
        .map(|c| (c.clone(), MemoryChain::new(c.domain, 0)))
        .collect();
    let memory = |name: &str| -> Result<&(Chain, MemoryChain)> {
        chains
            .iter()
            .find(|(c, _)| c.name == name)
            .with_context(|| format!("no chain {name} in the configuration"))
    };

    // Each origin's messages: per lane from it, `load.messages` to the lane's destination, the
    // origin's nonces counting up across its lanes (as its Outbox numbers them).
    let mut lanes = Vec::new();
    let mut destinations = Vec::new();
    let mut trusts: Vec<(Domain, TrustAnchor)> = Vec::new();
    for lane in config.lanes() {
        let (origin, origin_chain) = memory(&lane.origin.name)?;
        let (destination, _) = memory(&lane.destination.name)?;
        // The origin's next nonce (its Outbox numbers messages across its lanes).
        let first = origin_chain.message_count() as u64;
        let mut block = Vec::with_capacity(load.per_block);
        for (i, nonce) in (0..load.messages).zip(first..) {
            let body = body(i, load.body_bytes);
            block.push(
                Message::new(
                    Nonce(nonce),
                    origin.domain,
                    Address32([0x51; 32]),
                    destination.domain,
                    Address32([0x52; 32]),
                    body,
                )
                .context("building a benchmark message")?,
            );
            if block.len() == load.per_block {
                origin_chain.emit(std::mem::take(&mut block));
            }
        }
        if !block.is_empty() {
            origin_chain.emit(block);
        }
        let signing_domain = SigningDomain {
            origin: origin.domain,
            origin_chain_id: evm_chain_id(origin)?,
            destination: destination.domain,
            destination_chain_id: evm_chain_id(destination)?,
            inbox: SigningDomain::evm_inbox(evm_inbox(destination)?),
            validator_epoch: MEMORY_EPOCH,
        };
        let validators = ValidatorSet::new(lane.validator_addresses(), lane.threshold as usize)
            .with_context(|| format!("lane {}: the configured validator set", lane.name))?;
        trusts.push((
            destination.domain,
            TrustAnchor {
                signing_domain,
                validators: validators.clone(),
            },
        ));
        lanes.push((
            lane.name.clone(),
            destination.domain,
            signing_domain,
            validators,
            lane.hash,
        ));
    }

    let mut wired_chains = Vec::new();
    let mut origins = Vec::new();
    let mut by_domain = Vec::new();
    for (chain, memory) in &chains {
        // A destination checks signatures when exactly one lane delivers to it (one signing
        // domain); the benchmark's configurations have one lane per destination.
        let anchors: Vec<&TrustAnchor> = trusts
            .iter()
            .filter(|(d, _)| *d == chain.domain)
            .map(|(_, t)| t)
            .collect();
        let destination = match anchors.as_slice() {
            [one] => memory.clone().with_trust((*one).clone()),
            _ => memory.clone(),
        };
        by_domain.push((chain.domain, destination.clone()));
        wired_chains.push(WiredChain {
            name: chain.name.clone(),
            domain: chain.domain,
            family: chain.family(),
            state_reader: None,
            // No node is asked anything: the chain is in memory.
            metrics: causeway_adapters::metrics::ChainMetrics::default(),
            destination: Some(Arc::new(destination) as Arc<dyn DynDestination>),
        });
        if config.lanes_from(chain.domain).next().is_some() {
            origins.push(OriginConfig {
                source: Arc::new(memory.clone()),
                verifier: Arc::new(memory.clone()) as Arc<dyn NativeVerifier>,
                start_height: DEFAULT_START_HEIGHT,
            });
        }
    }
    let mut wired_lanes = Vec::new();
    for (name, destination, signing_domain, validators, hash_algorithm) in lanes {
        let chain = by_domain
            .iter()
            .find(|(d, _)| *d == destination)
            .map(|(_, c)| c.clone())
            .with_context(|| format!("lane {name}: no destination chain"))?;
        destinations.push((name.clone(), chain.clone()));
        wired_lanes.push((
            name,
            LaneConfig {
                limits: Default::default(),
                destination: Arc::new(chain) as Arc<dyn DynDestination>,
                signing_domain,
                validators,
                hash_algorithm,
                batch_size: config.relaying().batch_size,
                rota: None,
            },
        ));
    }
    Ok(MemoryWiring {
        wired: Wired::new(wired_chains, origins, wired_lanes),
        destinations,
    })
}

/// Message `i`'s body: `len` bytes that differ per message.
fn body(i: usize, len: usize) -> Vec<u8> {
    let seed = (i as u64).to_be_bytes();
    (0..len).map(|j| seed[j % 8] ^ (j as u8)).collect()
}

fn evm_chain_id(chain: &Chain) -> Result<u64> {
    match &chain.kind {
        causeway_config::ChainKind::Evm(evm) => Ok(evm.chain_id),
        _ => bail!(
            "chain {}: in-memory chains stand in for EVM chains only",
            chain.name
        ),
    }
}

fn evm_inbox(chain: &Chain) -> Result<causeway_proofs::EvmAddress> {
    match &chain.kind {
        causeway_config::ChainKind::Evm(evm) => Ok(evm.inbox),
        _ => bail!(
            "chain {}: in-memory chains stand in for EVM chains only",
            chain.name
        ),
    }
}
