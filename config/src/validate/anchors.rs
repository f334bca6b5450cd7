//! `[anchors.<name>]`: which consortium origin is anchored on which public chain's Anchor
//! contract, by which validator set, on what schedule, sent from which account.
//!
//! What the Anchor contract can check decides what is refused here: it runs on EVM chains only
//! (`chains.<chain>.anchor` set), verifies consistency proofs of SHA-256 logs only (a Keccak-256
//! or SM3 log cannot be anchored), and counts a strict majority of the validator set registered
//! for the origin (the lanes' threshold and custody rules apply). An anchoring on the origin
//! itself proves nothing to outsiders, and one origin is anchored once per chain.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use core::num::NonZeroU64;

use causeway_proofs::HashAlgorithm;

use super::files::{located, secret_file};
use super::lanes::{concentration, hash_name, threshold, validator_set};
use super::members::{Members, NAME_FIX, list};
use super::{Ctx, Source};
use crate::error::Rule;
use crate::model::{Anchoring, Chain, ChainKind, ChainRef, Lane};
use crate::raw::{RawAnchoring, RawChain, RawFamily, S};
use crate::values::check_name;

/// Checks every anchoring against the chains and lanes; `Some` only when all passed.
/// `chains` and `lanes` are the validated ones when they passed (the Anchor's address and the
/// chain's keys come from there).
pub(crate) fn anchors(
    ctx: &mut Ctx<'_>,
    raw: &BTreeMap<String, S<RawAnchoring>>,
    raw_chains: &BTreeMap<String, S<RawChain>>,
    chains: Option<&[Chain]>,
    lanes: Option<&[Lane]>,
    members: &Members,
) -> Option<Vec<Anchoring>> {
    let mut pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    let mut all_ok = true;
    for (name, entry) in raw {
        let before = ctx.error_count();
        let built = anchoring(ctx, name, entry, raw_chains, chains, lanes, members);
        let (o, c) = (
            entry.get_ref().origin.get_ref().as_str(),
            entry.get_ref().chain.get_ref().as_str(),
        );
        if !pairs.insert((o, c)) {
            ctx.report(
                format!("anchors.{name}"),
                &Source::File(entry.span()),
                Rule::DuplicateLane,
                format!("another anchoring already anchors `{o}` on `{c}`"),
                "keep one [anchors.*] entry per origin and chain",
            );
        }
        match built {
            Some(a) if ctx.error_count() == before => out.push(a),
            _ => all_ok = false,
        }
    }
    all_ok.then_some(out)
}

fn anchoring(
    ctx: &mut Ctx<'_>,
    name: &str,
    entry: &S<RawAnchoring>,
    raw_chains: &BTreeMap<String, S<RawChain>>,
    chains: Option<&[Chain]>,
    lanes: Option<&[Lane]>,
    members: &Members,
) -> Option<Anchoring> {
    let prefix = format!("anchors.{name}");
    let key = |field: &str| format!("{prefix}.{field}");
    let raw = entry.get_ref();
    if let Err(problem) = check_name(name) {
        ctx.report(
            prefix.clone(),
            &Source::File(entry.span()),
            Rule::InvalidName,
            format!("anchoring {problem}"),
            NAME_FIX,
        );
    }
    let known = list(raw_chains.keys());
    let chain_ref =
        |ctx: &mut Ctx<'_>, field: &str, value: &S<String>| match raw_chains.get(value.get_ref()) {
            Some(c) => Some((
                ChainRef {
                    name: value.get_ref().clone(),
                    domain: *c.get_ref().domain.get_ref(),
                },
                *c.get_ref().family.get_ref(),
            )),
            None => {
                ctx.report(
                    key(field),
                    &Source::File(value.span()),
                    Rule::UnknownChain,
                    format!("chain `{}` is not configured", value.get_ref()),
                    format!(
                        "name one of the configured chains ({known}) or add [chains.{}]",
                        value.get_ref()
                    ),
                );
                None
            }
        };
    let origin = chain_ref(ctx, "origin", &raw.origin);
    let public = chain_ref(ctx, "chain", &raw.chain);

    if let (Some((o, _)), Some((c, _))) = (&origin, &public)
        && o.name == c.name
    {
        ctx.report(
            key("chain"),
            &Source::File(raw.chain.span()),
            Rule::LaneToSelf,
            format!(
                "`{}` would be anchored on itself: whoever could rewrite its history could \
                 rewrite the anchor too",
                o.name
            ),
            "anchor the origin on another (public) chain",
        );
    }
    if let Some((_, family)) = &public
        && *family != RawFamily::Evm
    {
        ctx.report(
            key("chain"),
            &Source::File(raw.chain.span()),
            Rule::NotForFamily,
            format!(
                "the Anchor contract runs on EVM chains, and `{}` is not one",
                raw.chain.get_ref()
            ),
            "name an EVM chain whose [chains.*] entry sets anchor = \"0x…\"",
        );
    }
    // The Anchor's address, from the validated chain.
    let anchor = match (&public, chains) {
        (Some((c, RawFamily::Evm)), Some(chains)) => {
            match chains.iter().find(|x| x.name == c.name).map(|x| &x.kind) {
                Some(ChainKind::Evm(evm)) => match evm.anchor {
                    Some(address) => Some(address),
                    None => {
                        ctx.report(
                            key("chain"),
                            &Source::File(raw.chain.span()),
                            Rule::MissingContract,
                            format!("chains.{} sets no anchor address", c.name),
                            format!(
                                "deploy the Causeway Anchor on {} and set chains.{}.anchor",
                                c.name, c.name
                            ),
                        );
                        None
                    }
                },
                _ => None,
            }
        }
        _ => None,
    };
    // The gateways keep a log of an origin only when a lane leaves it.
    if let (Some((o, _)), Some(lanes)) = (&origin, lanes)
        && !lanes.iter().any(|l| l.origin.name == o.name)
    {
        ctx.report(
            key("origin"),
            &Source::File(raw.origin.span()),
            Rule::InvalidValue,
            format!(
                "no lane leaves `{}`, so no gateway keeps its log and there is nothing to anchor",
                o.name
            ),
            "anchor the origin of a configured lane",
        );
    }
    if let Some(hash) = &raw.hash
        && *hash.get_ref() != HashAlgorithm::Sha256
    {
        ctx.report(
            key("hash"),
            &Source::File(hash.span()),
            Rule::HashUnsupported,
            format!(
                "a {} log cannot be anchored: the Anchor contract verifies consistency proofs \
                 of SHA-256 logs only",
                hash_name(*hash.get_ref())
            ),
            "remove hash (anchors are of the origin's SHA-256 log, whatever hash its lanes \
             deliver with) or set hash = \"sha256\"",
        );
    }

    let (every, every_messages) = schedule(ctx, &prefix, entry);
    let takeover_after = match &raw.takeover_secs {
        None => Some(Anchoring::DEFAULT_TAKEOVER),
        Some(s) if *s.get_ref() == 0 => {
            ctx.report(
                key("takeover_secs"),
                &Source::File(s.span()),
                Rule::InvalidValue,
                "a takeover after 0 seconds makes every member submit every anchor",
                "set takeover_secs to how long the member whose turn it is may take, e.g. 60",
            );
            None
        }
        Some(s) => Some(Duration::from_secs(*s.get_ref())),
    };
    let key_file = sender(ctx, &prefix, raw, public.as_ref().map(|(c, _)| c), chains);

    let validators = validator_set(ctx, &prefix, &raw.validators, members);
    let threshold = threshold(ctx, &prefix, &raw.validators, &raw.threshold);
    if let (Some(validators), Some(t)) = (&validators, threshold) {
        concentration(ctx, &prefix, &raw.validators, validators, t, members);
    }
    Some(Anchoring {
        name: name.to_owned(),
        origin: origin?.0,
        chain: public?.0,
        anchor: anchor?,
        validators: validators?,
        threshold: threshold?,
        every: every?,
        every_messages: every_messages?,
        key_file: key_file?,
        takeover_after: takeover_after?,
    })
}

/// `every_secs` and `every_messages`: at least one, neither zero.
#[allow(clippy::type_complexity)]
fn schedule(
    ctx: &mut Ctx<'_>,
    prefix: &str,
    entry: &S<RawAnchoring>,
) -> (Option<Option<Duration>>, Option<Option<NonZeroU64>>) {
    let raw = entry.get_ref();
    if raw.every_secs.is_none() && raw.every_messages.is_none() {
        ctx.report(
            prefix.to_owned(),
            &Source::File(entry.span()),
            Rule::MissingField,
            "no schedule: neither every_secs nor every_messages is set, so nothing would ever \
             be anchored",
            "set every_secs (anchor at most this often while the log grows, e.g. 600) and/or \
             every_messages (as soon as this many new entries, e.g. 1000)",
        );
        return (None, None);
    }
    let every = match &raw.every_secs {
        None => Some(None),
        Some(s) if *s.get_ref() == 0 => {
            ctx.report(
                format!("{prefix}.every_secs"),
                &Source::File(s.span()),
                Rule::InvalidValue,
                "an interval of 0 seconds would anchor every checkpoint, paying gas for each",
                "set every_secs to the least time between anchors, e.g. 600",
            );
            None
        }
        Some(s) => Some(Some(Duration::from_secs(*s.get_ref()))),
    };
    let every_messages = match &raw.every_messages {
        None => Some(None),
        Some(m) => match NonZeroU64::new(*m.get_ref()) {
            Some(m) => Some(Some(m)),
            None => {
                ctx.report(
                    format!("{prefix}.every_messages"),
                    &Source::File(m.span()),
                    Rule::InvalidValue,
                    "every 0 messages is no schedule",
                    "set every_messages to a positive number of new log entries, e.g. 1000, or \
                     remove it",
                );
                None
            }
        },
    };
    (every, every_messages)
}

/// `key_file`: a private secp256k1 key file, never one the public chain's relayer (signer
/// keys) or API (sender key) sends with.
fn sender(
    ctx: &mut Ctx<'_>,
    prefix: &str,
    raw: &RawAnchoring,
    public: Option<&ChainRef>,
    chains: Option<&[Chain]>,
) -> Option<PathBuf> {
    let key = format!("{prefix}.key_file");
    let file = located(ctx, &raw.key_file);
    if !secret_file(ctx, &key, &file) {
        return None;
    }
    let source = Source::File(raw.key_file.span());
    let contents = crate::keyfile::read_secret_key_file(&file.path)
        .map_err(|e| e.to_string())
        .and_then(|secret| crate::keyfile::validator_address(&secret));
    if let Err(reason) = contents {
        ctx.report(
            key,
            &source,
            Rule::KeyFileContents,
            format!("{}: {reason}", file.path.display()),
            "write a secp256k1 secret key (32 bytes as hex or base64; `causeway keys` makes one)",
        );
        return None;
    }
    let chain = public.and_then(|p| chains?.iter().find(|c| c.name == p.name));
    if let Some(chain) = chain
        && (chain.signer_key_files.contains(&file.path)
            || chain.sender_key_file.as_ref() == Some(&file.path))
    {
        ctx.report(
            key,
            &source,
            Rule::DuplicateKeyUse,
            format!(
                "the anchoring key is also a key of chains.{} (signer_key_files or \
                 sender_key_file): anchors and deliveries or dispatches would race for one \
                 account's transaction nonces",
                chain.name
            ),
            "give anchoring a key of its own (`causeway keys` makes one) and fund its address",
        );
        return None;
    }
    Some(file.path)
}
