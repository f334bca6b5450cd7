//! A lane's validator set as its destination holds it, compared with the configured one.

use std::collections::BTreeSet;

use causeway_config::{Lane, Validator};
use causeway_proofs::EvmAddress;

/// The validator set a destination holds for one origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OnChainSet {
    /// Its members (empty when the origin has no set there).
    pub(crate) validators: Vec<EvmAddress>,
    /// Signatures needed (0 when the origin has no set there).
    pub(crate) threshold: u64,
    /// The set's epoch: signatures name it, so it goes into the lane's signing domain.
    pub(crate) epoch: u64,
    /// The origin chain id the set was installed for.
    pub(crate) origin_chain_id: u64,
}

/// How the destination's set differs from the lane's configuration: one sentence per
/// difference, empty when they agree. Addresses are compared as values (never as text), so
/// checksummed and lower-case spellings are the same address.
pub(crate) fn differences(lane: &Lane, origin_chain_id: u64, set: &OnChainSet) -> Vec<String> {
    differences_of(&lane.validators, lane.threshold, origin_chain_id, set)
}

/// [`differences`] of any configured validators and threshold (a lane's, an anchoring's).
pub(crate) fn differences_of(
    validators: &[Validator],
    threshold: u32,
    origin_chain_id: u64,
    set: &OnChainSet,
) -> Vec<String> {
    let configured: BTreeSet<EvmAddress> = validators.iter().map(|v| v.address).collect();
    let on_chain: BTreeSet<EvmAddress> = set.validators.iter().copied().collect();
    let mut out = Vec::new();
    let list = |set: &BTreeSet<&EvmAddress>| {
        set.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing: BTreeSet<&EvmAddress> = configured.difference(&on_chain).collect();
    if !missing.is_empty() {
        let names: Vec<String> = validators
            .iter()
            .filter(|v| missing.contains(&v.address))
            .map(|v| format!("{} ({})", v.member, v.address))
            .collect();
        out.push(format!(
            "configured validators missing on chain: {}",
            names.join(", ")
        ));
    }
    let extra: BTreeSet<&EvmAddress> = on_chain.difference(&configured).collect();
    if !extra.is_empty() {
        out.push(format!(
            "validators on chain that the configuration does not list: {}",
            list(&extra)
        ));
    }
    if set.validators.len() != on_chain.len() {
        out.push("the on-chain set lists a validator twice".to_owned());
    }
    if set.threshold != u64::from(threshold) {
        out.push(format!(
            "threshold {} on chain, {threshold} configured",
            set.threshold
        ));
    }
    if set.origin_chain_id != origin_chain_id {
        out.push(format!(
            "the set was installed for origin chain id {}, but the origin's chain id is \
             {origin_chain_id}",
            set.origin_chain_id
        ));
    }
    out
}
