//! Lanes: the validator set a lane's destination holds for its origin, checked against the
//! configuration, and the lane's [`LaneConfig`] built from it.

use std::collections::HashMap;
use std::sync::Arc;

use causeway_adapters::{
    DeliveryBatch, DeliveryStatus, Destination, Recorder, Submission, SubmissionHandle,
    SubmissionOutcome,
};

use causeway_config::{Chain, ChainKind, Config, Lane};
use causeway_proofs::{SigningDomain, ValidatorSet};
use causeway_relayer::pipeline::{DeliveryRate, LaneConfig, LaneLimits};

use super::validators::{self, OnChainSet};
use super::{Probe, Problem, Report, Subject, WiredChain, evm, fabric};

/// The chain id a chain is known by in signing domains (EVM: EIP-155; Fabric: configured;
/// FISCO BCOS: `block.chainid` in the group's EVM, its `web3_chain_id`, which the probe
/// compared with the node's).
pub(super) fn chain_id(chain: &Chain) -> Option<u64> {
    match &chain.kind {
        ChainKind::Evm(evm) => Some(evm.chain_id),
        ChainKind::Fabric(fabric) => Some(fabric.chain_id),
        ChainKind::Fisco(fisco) => Some(fisco.web3_chain_id),
        _ => None,
    }
}

/// Reads the lane's validator set on its destination and compares it with the configuration.
/// Returns it when it agrees (its epoch goes into the lane's signing domain).
pub(super) async fn check_lane(
    config: &Config,
    lane: &Lane,
    probes: &HashMap<String, Probe>,
    report: &mut Report,
) -> Option<OnChainSet> {
    let subject = || Subject::Lane(lane.name.clone());
    let origin = config.chain(&lane.origin.name)?;
    let destination = config.chain(&lane.destination.name)?;
    if destination.signer_key_files.is_empty() {
        report.push(Problem::warning(
            subject(),
            format!(
                "this gateway has no signer key for {}: it attests this lane and delivers \
                 nothing; the other members deliver, each taking this gateway's delivery turns \
                 after the grace period",
                destination.name
            ),
            format!(
                "add chains.{}.signer_key_files if this gateway should deliver too",
                destination.name
            ),
        ));
    }
    let origin_chain_id = chain_id(origin)?;
    let read = match (probes.get(&destination.name)?, &destination.kind) {
        (Probe::Evm(node), ChainKind::Evm(evm)) => {
            node.validator_set(evm::alloy_address(evm.inbox), origin.domain)
                .await
        }
        (Probe::Fabric(probe), ChainKind::Fabric(fabric)) => {
            fabric::validator_set(&probe.1, fabric, origin.domain).await
        }
        (Probe::Fisco(node), ChainKind::Fisco(fisco)) => {
            node.validator_set(fisco.inbox, origin.domain).await
        }
        // The destination is unreachable: already reported for the chain.
        _ => return None,
    };
    let set = match read {
        Ok(set) => set,
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!(
                    "cannot read the validator set for origin {} on {}: {e}",
                    origin.name, destination.name
                ),
                format!(
                    "check that chains.{} names the Causeway Inbox (or inbox chaincode) and that \
                     it answers",
                    destination.name
                ),
            ));
            return None;
        }
    };
    let addresses: Vec<String> = lane
        .validators
        .iter()
        .map(|v| v.address.to_string())
        .collect();
    let install = format!(
        "have {}'s Inbox admin install the configured set (setValidators({}, {origin_chain_id}, \
         [{}], {})), or, if the chain is right, correct lanes.{}.validators, threshold and the \
         members' validator_address",
        destination.name,
        origin.domain.0,
        addresses.join(", "),
        lane.threshold,
        lane.name
    );
    if set.threshold == 0 && set.validators.is_empty() {
        report.push(Problem::error(
            subject(),
            format!(
                "{} holds no validator set for origin {} (domain {})",
                destination.name, origin.name, origin.domain.0
            ),
            install,
        ));
        return None;
    }
    let differences = validators::differences(lane, origin_chain_id, &set);
    if differences.is_empty() {
        return Some(set);
    }
    report.push(Problem::error(
        subject(),
        format!(
            "the validator set on {} for origin {} differs from the configuration: {}",
            destination.name,
            origin.name,
            differences.join("; ")
        ),
        install,
    ));
    None
}

/// Builds one lane from its checked validator set.
pub(super) fn build_lane(
    config: &Config,
    lane: &Lane,
    chains: &[WiredChain],
    probes: &HashMap<String, Probe>,
    sets: &HashMap<String, OnChainSet>,
    report: &mut Report,
) -> Option<LaneConfig> {
    let subject = || Subject::Lane(lane.name.clone());
    let origin = config.chain(&lane.origin.name)?;
    let dest_chain = config.chain(&lane.destination.name)?;
    let set = sets.get(&lane.name)?;
    let origin_chain_id = chain_id(origin)?;
    let wired_destination = chains
        .iter()
        .find(|c| c.name == dest_chain.name)
        .and_then(|c| c.destination.clone());
    // No signer key for the destination: the lane is attested, never delivered from here.
    let attest_only = wired_destination.is_none() && dest_chain.signer_key_files.is_empty();
    let destination = match wired_destination {
        Some(d) => d,
        None if attest_only => Arc::new(AttestOnly {
            domain: dest_chain.domain,
            chain: dest_chain.name.clone(),
        }),
        None => return None,
    };
    let signing_domain = match (probes.get(&dest_chain.name)?, &dest_chain.kind) {
        (Probe::Evm(_), ChainKind::Evm(evm)) => SigningDomain {
            origin: origin.domain,
            origin_chain_id,
            destination: dest_chain.domain,
            // The node serves this chain id: the probe compared them.
            destination_chain_id: evm.chain_id,
            inbox: SigningDomain::evm_inbox(evm.inbox),
            validator_epoch: set.epoch,
        },
        (Probe::Fisco(_), ChainKind::Fisco(fisco)) => SigningDomain {
            origin: origin.domain,
            origin_chain_id,
            destination: dest_chain.domain,
            // `block.chainid` in the group's EVM: the probe compared it with the node's.
            destination_chain_id: fisco.web3_chain_id,
            inbox: SigningDomain::evm_inbox(fisco.inbox),
            validator_epoch: set.epoch,
        },
        (Probe::Fabric(_), ChainKind::Fabric(fabric)) => {
            let mut inbox = causeway_adapters::fabric::FabricDestinationConfig::new(
                dest_chain.domain,
                fabric.chain_id,
                &fabric.channel,
            );
            inbox.inbox_chaincode.clone_from(&fabric.inbox_chaincode);
            inbox.signing_domain(origin.domain, origin_chain_id, set.epoch)
        }
        _ => return None,
    };
    let validators = match ValidatorSet::new(lane.validator_addresses(), lane.threshold as usize) {
        Ok(v) => v,
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!("the configured validator set is unusable: {e}"),
                format!("correct lanes.{}.validators and threshold", lane.name),
            ));
            return None;
        }
    };
    Some(LaneConfig {
        limits: LaneLimits {
            paused: lane.paused,
            rate: lane.rate_limit.map(|r| DeliveryRate {
                max_messages: r.max_messages.get(),
                window: r.window,
            }),
            attest_only,
        },
        destination,
        signing_domain,
        validators,
        hash_algorithm: lane.hash,
        // `[relayer] batch_size` (128 by default fills an EVM block comfortably, see
        // BENCHMARKS.md, and is the Fabric inbox's default).
        batch_size: config.relaying().batch_size,
        // Turns between members are the node's to set (it knows this gateway's place).
        rota: None,
    })
}

/// The destination of a lane this gateway only attests (no signer key for the chain): the
/// relayer never delivers such a lane ([`LaneLimits::attest_only`]), so nothing here is
/// called; should anything be, it fails saying why.
struct AttestOnly {
    domain: causeway_proofs::Domain,
    chain: String,
}

impl AttestOnly {
    fn refusal(&self) -> causeway_adapters::Error {
        causeway_adapters::Error::Config {
            reason: format!(
                "this gateway has no signer key for {}: it does not deliver there (add \
                 chains.{}.signer_key_files)",
                self.chain, self.chain
            ),
        }
    }
}

impl Destination for AttestOnly {
    fn domain(&self) -> causeway_proofs::Domain {
        self.domain
    }

    async fn submit_recorded(
        &self,
        _: &DeliveryBatch,
        _: &dyn Recorder,
    ) -> Result<Vec<Submission>, causeway_adapters::Error> {
        Err(self.refusal())
    }

    async fn outcome_recorded(
        &self,
        _: &SubmissionHandle,
        _: Option<&[u8]>,
    ) -> Result<SubmissionOutcome, causeway_adapters::Error> {
        Err(self.refusal())
    }

    async fn delivery_status(
        &self,
        _: &causeway_proofs::MessageId,
    ) -> Result<DeliveryStatus, causeway_adapters::Error> {
        Err(self.refusal())
    }
}
