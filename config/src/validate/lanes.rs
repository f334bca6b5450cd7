//! `[lanes.<name>]`: origin and destination, validator set, threshold, custody concentration,
//! rate limit.
//!
//! The threshold rule is the issue's: `1 ≤ threshold ≤ n` and `2·threshold > n` (a strict
//! majority), so two disjoint quorums can never both attest; it lives in
//! [`crate::threshold`] so trust files are held to it too. The custody rule is the
//! committee-policy lint of `security/bridge-exploits.md` T02: no single operator, host, HSM
//! or custodian may hold `threshold` keys of one lane (Ronin, Orbit, Multichain).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use core::num::NonZeroU64;

use super::members::{Members, NAME_FIX, list};
use super::{Ctx, Source};
use crate::error::Rule;
use crate::model::{ChainRef, Custody, Lane, RateLimit, Validator};
use crate::raw::{RawChain, RawFamily, RawLane, S};
use crate::threshold::check_threshold;
use crate::values::check_name;
use causeway_proofs::HashAlgorithm;

/// Checks every lane; `Some` only when all passed.
pub(crate) fn lanes(
    ctx: &mut Ctx<'_>,
    raw: &BTreeMap<String, S<RawLane>>,
    chains: &BTreeMap<String, S<RawChain>>,
    members: &Members,
) -> Option<Vec<Lane>> {
    let mut pairs: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    let mut out = Vec::with_capacity(raw.len());
    let mut all_ok = true;
    for (name, lane) in raw {
        let before = ctx.error_count();
        let built = lane_one(ctx, name, lane, chains, members, &mut pairs);
        match built {
            Some(l) if ctx.error_count() == before => out.push(l),
            _ => all_ok = false,
        }
    }
    all_ok.then_some(out)
}

fn lane_one<'r>(
    ctx: &mut Ctx<'_>,
    name: &'r str,
    raw_lane: &'r S<RawLane>,
    chains: &BTreeMap<String, S<RawChain>>,
    members: &Members,
    pairs: &mut BTreeMap<(&'r str, &'r str), &'r str>,
) -> Option<Lane> {
    let key = |field: &str| format!("lanes.{name}.{field}");
    let raw = raw_lane.get_ref();
    if let Err(problem) = check_name(name) {
        ctx.report(
            format!("lanes.{name}"),
            &Source::File(raw_lane.span()),
            Rule::InvalidName,
            format!("lane {problem}"),
            NAME_FIX,
        );
    }

    // Origin and destination.
    let known_chains = list(chains.keys());
    let mut chain_ref = |field: &str, value: &S<String>| -> Option<ChainRef> {
        match chains.get(value.get_ref()) {
            Some(c) => Some(ChainRef {
                name: value.get_ref().clone(),
                domain: *c.get_ref().domain.get_ref(),
            }),
            None => {
                ctx.report(
                    key(field),
                    &Source::File(value.span()),
                    Rule::UnknownChain,
                    format!("chain `{}` is not configured", value.get_ref()),
                    format!(
                        "name one of the configured chains ({known_chains}) or add [chains.{}]",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    };
    let origin = chain_ref("origin", &raw.origin);
    let destination = chain_ref("destination", &raw.destination);
    let (o, d) = (
        raw.origin.get_ref().as_str(),
        raw.destination.get_ref().as_str(),
    );
    if o == d {
        ctx.report(
            key("destination"),
            &Source::File(raw.destination.span()),
            Rule::LaneToSelf,
            format!("the lane goes from `{o}` to itself"),
            "set destination to another chain; messages within one chain need no gateway",
        );
    } else if let Some(first) = pairs.get(&(o, d)) {
        ctx.report(
            format!("lanes.{name}"),
            &Source::File(raw_lane.span()),
            Rule::DuplicateLane,
            format!("lane `{first}` already goes from `{o}` to `{d}`"),
            "keep one lane per origin and destination",
        );
    } else {
        pairs.insert((o, d), name);
    }

    // The destination verifies the inclusion proofs: it must know the lane's hash.
    if let (Some(hash), Some(chain)) = (&raw.hash, chains.get(raw.destination.get_ref())) {
        let supported: &[HashAlgorithm] = match chain.get_ref().family.get_ref() {
            RawFamily::Evm => &[HashAlgorithm::Sha256, HashAlgorithm::Keccak256],
            RawFamily::Fabric => &[HashAlgorithm::Sha256],
            // Decided with the FISCO BCOS adapter (its crypto precompiles).
            RawFamily::Fisco => &[
                HashAlgorithm::Sha256,
                HashAlgorithm::Keccak256,
                HashAlgorithm::Sm3,
            ],
        };
        if !supported.contains(hash.get_ref()) {
            let names: Vec<String> = supported
                .iter()
                .map(|h| format!("\"{}\"", hash_name(*h)))
                .collect();
            ctx.report(
                key("hash"),
                &Source::File(hash.span()),
                Rule::HashUnsupported,
                format!(
                    "destination `{}` cannot verify {} logs",
                    raw.destination.get_ref(),
                    hash_name(*hash.get_ref())
                ),
                format!("set hash to one of {}", names.join(", ")),
            );
        }
    }

    let prefix = format!("lanes.{name}");
    let validators = validator_set(ctx, &prefix, &raw.validators, members);
    let threshold = threshold(ctx, &prefix, &raw.validators, &raw.threshold);
    let rate_limit = rate_limit(ctx, name, raw);
    let auditors = auditors(ctx, name, raw, members);

    // Custody concentration, once the set and threshold are sound.
    if let (Some(validators), Some(t)) = (&validators, threshold) {
        concentration(ctx, &prefix, &raw.validators, validators, t, members);
    }

    Some(Lane {
        name: name.to_owned(),
        origin: origin?,
        destination: destination?,
        hash: raw.hash.as_ref().map(|h| *h.get_ref()).unwrap_or_default(),
        validators: validators?,
        threshold: threshold?,
        paused: raw.paused,
        rate_limit: rate_limit?,
        auditors: auditors?,
    })
}

/// `auditors`: configured members, each once.
fn auditors(
    ctx: &mut Ctx<'_>,
    name: &str,
    raw: &RawLane,
    members: &Members,
) -> Option<Vec<String>> {
    let Some(list_raw) = &raw.auditors else {
        return Some(Vec::new());
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut ok = true;
    for (i, v) in list_raw.get_ref().iter().enumerate() {
        let key = format!("lanes.{name}.auditors[{i}]");
        let member = v.get_ref();
        if !members.is_declared(member) {
            ctx.report(
                key,
                &Source::File(v.span()),
                Rule::UnknownMember,
                format!("auditor `{member}` is not a configured member"),
                format!(
                    "name one of the members ({}) or add a [[members]] entry named `{member}` \
                     with its privacy_public_key",
                    members.names()
                ),
            );
            ok = false;
        } else if !seen.insert(member.as_str()) {
            ctx.report(
                key,
                &Source::File(v.span()),
                Rule::DuplicateKeyUse,
                format!("auditor `{member}` is listed twice"),
                "list each auditor once",
            );
            ok = false;
        } else {
            out.push(member.clone());
        }
    }
    ok.then_some(out)
}

/// The validator set at `{prefix}.validators` (a lane's, or an anchoring's): configured
/// members, each once.
pub(super) fn validator_set(
    ctx: &mut Ctx<'_>,
    prefix: &str,
    raw_validators: &S<Vec<S<String>>>,
    members: &Members,
) -> Option<Vec<Validator>> {
    let list_raw = raw_validators.get_ref();
    if list_raw.is_empty() {
        ctx.report(
            format!("{prefix}.validators"),
            &Source::File(raw_validators.span()),
            Rule::EmptyValidatorSet,
            "no validators are listed, so nothing can ever be attested",
            format!(
                "list the member gateways that attest this lane (known members: {})",
                members.names()
            ),
        );
        return None;
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(list_raw.len());
    let mut ok = true;
    for (i, v) in list_raw.iter().enumerate() {
        let key = format!("{prefix}.validators[{i}]");
        let member = v.get_ref();
        if !members.is_declared(member) {
            ctx.report(
                key,
                &Source::File(v.span()),
                Rule::UnknownMember,
                format!("`{member}` is not a configured member"),
                format!(
                    "name one of the members ({}) or add a [[members]] entry named `{member}`",
                    members.names()
                ),
            );
            ok = false;
        } else if !seen.insert(member.as_str()) {
            ctx.report(
                key,
                &Source::File(v.span()),
                Rule::DuplicateValidator,
                format!(
                    "`{member}` is listed twice: one key would count twice toward the threshold"
                ),
                "list each member once",
            );
            ok = false;
        } else if let Some(m) = members.valid(member) {
            out.push(Validator {
                member: member.clone(),
                address: m.validator_address,
            });
        } else {
            // The member has its own reported problems; the lane cannot be built.
            ok = false;
        }
    }
    ok.then_some(out)
}

/// The threshold at `{prefix}.threshold`: a strict majority of the validators.
pub(super) fn threshold(
    ctx: &mut Ctx<'_>,
    prefix: &str,
    raw_validators: &S<Vec<S<String>>>,
    raw_threshold: &S<u32>,
) -> Option<u32> {
    let t = *raw_threshold.get_ref();
    let n = raw_validators.get_ref().len();
    if n == 0 {
        return None; // reported as an empty validator set
    }
    match check_threshold(u64::from(t), n) {
        Ok(()) => Some(t),
        Err(refusal) => {
            let source = Source::File(raw_threshold.span());
            ctx.report(
                format!("{prefix}.threshold"),
                &source,
                refusal.rule,
                refusal.problem,
                refusal.fix,
            );
            None
        }
    }
}

/// No operator, host, HSM or custodian holds `t` of the keys at `{prefix}.validators`.
pub(super) fn concentration(
    ctx: &mut Ctx<'_>,
    prefix: &str,
    raw_validators: &S<Vec<S<String>>>,
    validators: &[Validator],
    t: u32,
    members: &Members,
) {
    type Tag = fn(&Custody) -> Option<&String>;
    let tags: [(&str, Tag); 4] = [
        ("operator", |c| c.operator.as_ref()),
        ("host", |c| c.host.as_ref()),
        ("hsm", |c| c.hsm.as_ref()),
        ("custodian", |c| c.custodian.as_ref()),
    ];
    for (tag, get) in tags {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for v in validators {
            // Only explicit tags count: an untagged member is taken to hold its own key.
            if let Some(value) = members.valid(&v.member).and_then(|m| get(&m.custody)) {
                groups
                    .entry(value.as_str())
                    .or_default()
                    .push(v.member.as_str());
            }
        }
        for (value, holders) in groups {
            // Several keys in one hand, enough of them to attest alone. (A one-validator lane
            // is centralised by construction and allowed, e.g. for a devnet.)
            if holders.len() >= 2 && holders.len() >= t as usize {
                ctx.report(
                    format!("{prefix}.validators"),
                    &Source::File(raw_validators.span()),
                    Rule::ConcentratedCustody,
                    format!(
                        "{} of its validators ({}) share {tag} = \"{value}\" and the threshold is {t}: compromising that one {tag} compromises the lane",
                        holders.len(),
                        holders.join(", ")
                    ),
                    format!("move validator keys to independent {tag}s, or raise {prefix}.threshold above {}", holders.len()),
                );
            }
        }
    }
}

fn rate_limit(ctx: &mut Ctx<'_>, name: &str, raw: &RawLane) -> Option<Option<RateLimit>> {
    let Some(r) = &raw.rate_limit else {
        return Some(None);
    };
    let r = r.get_ref();
    let max = NonZeroU64::new(*r.max_messages.get_ref());
    if max.is_none() {
        ctx.report(
            format!("lanes.{name}.rate_limit.max_messages"),
            &Source::File(r.max_messages.span()),
            Rule::InvalidRateLimit,
            "a limit of 0 messages blocks the lane forever",
            "set a positive max_messages, or use paused = true to stop the lane",
        );
    }
    let window = *r.window_secs.get_ref();
    if window == 0 {
        ctx.report(
            format!("lanes.{name}.rate_limit.window_secs"),
            &Source::File(r.window_secs.span()),
            Rule::InvalidRateLimit,
            "a window of 0 seconds limits nothing",
            "set window_secs to the length of the window, e.g. 3600",
        );
        return None;
    }
    Some(Some(RateLimit {
        max_messages: max?,
        window: Duration::from_secs(window),
    }))
}

/// A hash's name as the configuration spells it.
pub(super) fn hash_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Keccak256 => "keccak256",
        HashAlgorithm::Sm3 => "sm3",
    }
}
