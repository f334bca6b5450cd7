//! Anchorings: the Anchor's validator set for the origin checked against the configuration,
//! the Anchor's own digest of a checkpoint compared with the one this gateway would sign (so
//! a wrong chain id, address or epoch is found at start-up, not by a revert), the anchoring
//! account funded; then the [`WiredAnchor`] the node starts.

use std::collections::HashMap;
use std::sync::Arc;

use causeway_config::{Anchoring, ChainKind, Config};
use causeway_proofs::{
    Checkpoint, Domain, Hash32, HashAlgorithm, LogSize, SigningDomain, ValidatorKey, ValidatorSet,
};
use causeway_relayer::pipeline::AttestLaneConfig;

use super::lanes::chain_id;
use super::validators::{OnChainSet, differences_of};
use super::{Probe, Problem, Report, Subject};
use crate::anchor::{AnchorContract, WiredAnchor};

/// The destination domain of every Anchor's signing domain.
pub const ANCHOR_DESTINATION: Domain = Domain(0);

/// Checks one anchoring against its chain; returns the Anchor's set for the origin when it
/// agrees with the configuration (its epoch goes into the signing domain).
pub(super) async fn check_anchoring(
    config: &Config,
    anchoring: &Anchoring,
    probes: &HashMap<String, Probe>,
    report: &mut Report,
) -> Option<(AnchorContract, OnChainSet)> {
    let subject = || Subject::Anchoring(anchoring.name.clone());
    let origin = config.chain(&anchoring.origin.name)?;
    let public = config.chain(&anchoring.chain.name)?;
    let origin_chain_id = chain_id(origin)?;
    let Some(Probe::Evm(node)) = probes.get(&public.name) else {
        // Unreachable or not EVM: reported for the chain (or refused by the configuration).
        return None;
    };
    // The node that passed the probes first, then the chain's other endpoints in their
    // configured order: the anchoring fails over to them (see [`AnchorContract`]).
    let mut urls = vec![node.url()];
    urls.extend(
        public
            .endpoints
            .iter()
            .map(|e| e.as_str())
            .filter(|u| *u != node.url()),
    );
    let contract = match AnchorContract::connect_all(&urls, anchoring.anchor) {
        Ok(c) => c,
        Err(e) => {
            report.push(Problem::error(
                subject(),
                e,
                format!("correct chains.{}.endpoints", public.name),
            ));
            return None;
        }
    };
    let (validators, threshold, epoch, set_chain_id) =
        match contract.validator_set(origin.domain).await {
            Ok(set) => set,
            Err(e) => {
                report.push(Problem::error(
                    subject(),
                    format!(
                        "cannot read the Anchor's validator set for origin {}: {e}",
                        origin.name
                    ),
                    format!(
                        "check that chains.{}.anchor names the Causeway Anchor",
                        public.name
                    ),
                ));
                return None;
            }
        };
    let set = OnChainSet {
        validators,
        threshold,
        epoch,
        origin_chain_id: set_chain_id,
    };
    let addresses: Vec<String> = anchoring
        .validators
        .iter()
        .map(|v| v.address.to_string())
        .collect();
    let install = format!(
        "have the Anchor's admin install the configured set (setValidators({}, \
         {origin_chain_id}, [{}], {})) on {}, or correct anchors.{}.validators and threshold",
        origin.domain.0,
        addresses.join(", "),
        anchoring.threshold,
        public.name,
        anchoring.name
    );
    if set.threshold == 0 && set.validators.is_empty() {
        report.push(Problem::error(
            subject(),
            format!(
                "the Anchor on {} holds no validator set for origin {} (domain {})",
                public.name, origin.name, origin.domain.0
            ),
            install,
        ));
        return None;
    }
    let differences = differences_of(
        &anchoring.validators,
        anchoring.threshold,
        origin_chain_id,
        &set,
    );
    if !differences.is_empty() {
        report.push(Problem::error(
            subject(),
            format!(
                "the Anchor's validator set for origin {} differs from the configuration: {}",
                origin.name,
                differences.join("; ")
            ),
            install,
        ));
        return None;
    }
    let ChainKind::Evm(evm) = &public.kind else {
        return None;
    };
    // What this gateway signs must be what the Anchor checks: compare the digests of one
    // checkpoint (any root will do).
    let domain = signing_domain(anchoring, origin_chain_id, evm.chain_id, set.epoch);
    let probe = Checkpoint::new(
        origin.domain,
        HashAlgorithm::Sha256,
        LogSize(1),
        Hash32([1; 32]),
    )
    .ok()?;
    match contract.checkpoint_digest(&probe).await {
        Ok(digest) if digest == probe.signing_digest(&domain) => {}
        Ok(_) => {
            report.push(Problem::error(
                subject(),
                format!(
                    "the Anchor at {} computes another checkpoint digest than this gateway \
                     (destination 0, chain id {}, epoch {}): its signatures would never count",
                    anchoring.anchor, evm.chain_id, set.epoch
                ),
                format!(
                    "check chains.{}.chain_id and anchor: they must name the deployed Causeway \
                     Anchor",
                    public.name
                ),
            ));
            return None;
        }
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!("the Anchor does not answer checkpointDigest: {e}"),
                format!("set chains.{}.anchor to a Causeway Anchor", public.name),
            ));
            return None;
        }
    }
    // The anchoring account: readable, funded (a warning otherwise).
    match causeway_config::read_secret_key_file(&anchoring.key_file)
        .map_err(|e| e.to_string())
        .and_then(|s| ValidatorKey::from_bytes(s.expose_secret()).map_err(|e| e.to_string()))
    {
        Ok(key) => {
            let account = alloy::primitives::Address::from(key.address().0);
            match contract.balance_is_zero(account).await {
                Ok(true) => report.push(Problem::warning(
                    subject(),
                    format!(
                        "the anchoring account {} has no funds on {}: its anchors would fail",
                        key.address(),
                        public.name
                    ),
                    format!("send gas money to {} on {}", key.address(), public.name),
                )),
                Ok(false) => {}
                Err(e) => report.push(Problem::error(
                    subject(),
                    format!("cannot read the anchoring account's balance: {e}"),
                    format!("check that {} answers eth_getBalance", contract.node()),
                )),
            }
        }
        Err(e) => report.push(Problem::error(
            subject(),
            format!("anchors.{}.key_file: {e}", anchoring.name),
            "point key_file at the anchoring account's secp256k1 key",
        )),
    }
    Some((contract, set))
}

/// The Anchor's signing domain for the origin: destination 0, the public chain's id, the
/// Anchor's address and its epoch for the origin.
fn signing_domain(
    anchoring: &Anchoring,
    origin_chain_id: u64,
    chain_id: u64,
    epoch: u64,
) -> SigningDomain {
    SigningDomain {
        origin: anchoring.origin.domain,
        origin_chain_id,
        destination: ANCHOR_DESTINATION,
        destination_chain_id: chain_id,
        inbox: SigningDomain::evm_inbox(anchoring.anchor),
        validator_epoch: epoch,
    }
}

/// Builds one checked anchoring.
pub(super) fn build_anchoring(
    config: &Config,
    anchoring: &Anchoring,
    checked: &HashMap<String, (AnchorContract, OnChainSet)>,
    report: &mut Report,
) -> Option<WiredAnchor> {
    let subject = || Subject::Anchoring(anchoring.name.clone());
    let (contract, set) = checked.get(&anchoring.name)?;
    let origin = config.chain(&anchoring.origin.name)?;
    let public = config.chain(&anchoring.chain.name)?;
    let ChainKind::Evm(evm) = &public.kind else {
        return None;
    };
    let validators = match ValidatorSet::new(
        anchoring.validator_addresses(),
        anchoring.threshold as usize,
    ) {
        Ok(v) => v,
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!("the configured validator set is unusable: {e}"),
                format!(
                    "correct anchors.{}.validators and threshold",
                    anchoring.name
                ),
            ));
            return None;
        }
    };
    let key = match causeway_config::read_secret_key_file(&anchoring.key_file) {
        Ok(key) => key,
        Err(e) => {
            report.push(Problem::error(
                subject(),
                format!("anchors.{}.key_file: {e}", anchoring.name),
                "point key_file at the anchoring account's secp256k1 key",
            ));
            return None;
        }
    };
    let every_messages = anchoring.every_messages.map(|m| m.get());
    Some(WiredAnchor {
        name: anchoring.name.clone(),
        origin: origin.domain,
        chain: public.name.clone(),
        chain_id: evm.chain_id,
        contract: contract.clone(),
        lane: AttestLaneConfig {
            signing_domain: signing_domain(anchoring, chain_id(origin)?, evm.chain_id, set.epoch),
            validators,
            hash_algorithm: HashAlgorithm::Sha256,
            every: anchoring.every,
            every_entries: every_messages,
        },
        key: Arc::new(key),
        every: anchoring.every,
        every_messages,
        takeover_after: anchoring.takeover_after,
    })
}
