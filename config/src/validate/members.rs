//! `[[members]]`: names, validator addresses, privacy keys, peer endpoints, TLS and custody.

use std::collections::BTreeMap;

use causeway_proofs::EvmAddress;

use super::files::{located, public_file};
use super::{Ctx, Source};
use crate::error::Rule;
use crate::model::{Custody, Member, PeerTls};
use crate::raw::{RawCustody, RawMember, S};
use crate::values::{Endpoint, PrivacyPublicKey, check_name};

/// The members as far as they could be validated.
pub(crate) struct Members {
    /// Every name written in the file (valid or not), so that references to a member with
    /// other problems are not reported a second time as "unknown".
    declared: BTreeMap<String, usize>,
    /// The members that passed every check, by index in the file.
    valid: Vec<Option<Member>>,
}

impl Members {
    /// Whether a member of this name is written in the file.
    pub(crate) fn is_declared(&self, name: &str) -> bool {
        self.declared.contains_key(name)
    }

    /// The names written in the file, for "known members: …" hints.
    pub(crate) fn names(&self) -> String {
        list(self.declared.keys())
    }

    /// The index in the file of the member named `name`.
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.declared.get(name).copied()
    }

    /// The member named `name`, when it passed every check.
    pub(crate) fn valid(&self, name: &str) -> Option<&Member> {
        self.valid.get(self.index(name)?)?.as_ref()
    }

    /// All members, when every one of them passed.
    pub(crate) fn complete(self) -> Option<Vec<Member>> {
        self.valid.into_iter().collect()
    }
}

/// Renders names as "`a`, `b`" (or "none").
pub(crate) fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if all.is_empty() {
        "none".to_owned()
    } else {
        all.join(", ")
    }
}

pub(crate) const NAME_FIX: &str = "use lower-case letters, digits and '-', starting with a letter and not ending with '-' (at most 63 characters)";

pub(crate) fn members(ctx: &mut Ctx<'_>, raw: &[S<RawMember>]) -> Members {
    let mut declared = BTreeMap::new();
    let mut addresses: BTreeMap<EvmAddress, usize> = BTreeMap::new();
    let mut privacy_keys: BTreeMap<[u8; 32], usize> = BTreeMap::new();
    let mut valid = Vec::with_capacity(raw.len());
    for (i, m) in raw.iter().enumerate() {
        let m = m.get_ref();
        let at = |field: &str| format!("members[{i}].{field}");
        let before = ctx.error_count();

        let name = m.name.get_ref();
        if let Err(problem) = check_name(name) {
            ctx.report(
                at("name"),
                &Source::File(m.name.span()),
                Rule::InvalidName,
                problem,
                NAME_FIX,
            );
        }
        // Invalid names are still declared, so that lanes naming them are not also reported.
        if let Some(&first) = declared.get(name) {
            ctx.report(
                at("name"),
                &Source::File(m.name.span()),
                Rule::DuplicateMemberName,
                format!("`{name}` is already the name of members[{first}]"),
                "give each member organisation its own name, or remove the duplicate entry",
            );
        } else {
            declared.insert(name.clone(), i);
        }

        let validator_address = validator_address(ctx, i, m, &mut addresses, raw);
        let privacy_public_key = privacy_key(ctx, i, m, &mut privacy_keys, raw);
        let peer_endpoint = peer_endpoint(ctx, &at("peer_endpoint"), &m.peer_endpoint);

        let tls = m.tls.get_ref();
        let ca_file = located(ctx, &tls.ca_file);
        public_file(ctx, &at("tls.ca_file"), &ca_file);
        let cert_file = tls.cert_file.as_ref().map(|c| located(ctx, c));
        if let Some(cert) = &cert_file {
            public_file(ctx, &at("tls.cert_file"), cert);
        }
        let server_name = match &tls.server_name {
            Some(s)
                if s.get_ref().trim().is_empty() || s.get_ref().contains(char::is_whitespace) =>
            {
                ctx.report(
                    at("tls.server_name"),
                    &Source::File(s.span()),
                    Rule::InvalidValue,
                    format!("`{}` is not a DNS name", s.get_ref()),
                    "give the name the member's certificate carries, or remove the key to use the endpoint's host",
                );
                None
            }
            Some(s) => Some(s.get_ref().clone()),
            None => peer_endpoint.as_ref().map(|e| {
                e.host()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned()
            }),
        };
        let custody = custody(ctx, i, m.custody.as_ref());

        let member = if ctx.error_count() == before {
            match (
                validator_address,
                privacy_public_key,
                peer_endpoint,
                server_name,
            ) {
                (
                    Some(validator_address),
                    Some(privacy_public_key),
                    Some(peer_endpoint),
                    Some(server_name),
                ) => Some(Member {
                    name: name.clone(),
                    validator_address,
                    privacy_public_key,
                    peer_endpoint,
                    tls: PeerTls {
                        ca_file: ca_file.path,
                        server_name,
                        cert_file: cert_file.map(|c| c.path),
                    },
                    custody,
                }),
                _ => None,
            }
        } else {
            None
        };
        valid.push(member);
    }
    Members { declared, valid }
}

fn validator_address(
    ctx: &mut Ctx<'_>,
    i: usize,
    m: &RawMember,
    seen: &mut BTreeMap<EvmAddress, usize>,
    raw: &[S<RawMember>],
) -> Option<EvmAddress> {
    let key = format!("members[{i}].validator_address");
    let source = Source::File(m.validator_address.span());
    let address: EvmAddress = match m.validator_address.get_ref().parse() {
        Ok(a) => a,
        Err(e) => {
            ctx.report(
                key,
                &source,
                Rule::InvalidValue,
                format!("`{}` is not an address: {e}", m.validator_address.get_ref()),
                "write the validator's 20-byte address as 0x followed by 40 hex digits",
            );
            return None;
        }
    };
    if address.is_zero() {
        ctx.report(
            key,
            &source,
            Rule::ZeroValue,
            "the zero address is what ecrecover returns for an invalid signature; it can never be a validator",
            "write the address of this member's validator key",
        );
        return None;
    }
    if let Some(&first) = seen.get(&address) {
        ctx.report(
            key,
            &source,
            Rule::DuplicateValidatorAddress,
            format!(
                "{address} is already the validator address of members[{first}] (`{}`): one key would count twice toward every threshold",
                raw[first].get_ref().name.get_ref()
            ),
            "give each member its own validator key and write that key's address here",
        );
        return None;
    }
    seen.insert(address, i);
    Some(address)
}

fn privacy_key(
    ctx: &mut Ctx<'_>,
    i: usize,
    m: &RawMember,
    seen: &mut BTreeMap<[u8; 32], usize>,
    raw: &[S<RawMember>],
) -> Option<PrivacyPublicKey> {
    let key = format!("members[{i}].privacy_public_key");
    let source = Source::File(m.privacy_public_key.span());
    let public: PrivacyPublicKey = match m.privacy_public_key.get_ref().parse() {
        Ok(k) => k,
        Err(problem) => {
            ctx.report(
                key,
                &source,
                Rule::InvalidValue,
                problem,
                "write the member's X25519 public key as base64 (44 characters) or 0x-hex (66 characters)",
            );
            return None;
        }
    };
    if public.is_low_order() {
        ctx.report(
            key,
            &source,
            Rule::WeakPrivacyKey,
            "this X25519 key has small order: every shared secret computed with it is predictable",
            "ask the member for its real privacy public key",
        );
        return None;
    }
    if let Some(&first) = seen.get(public.as_bytes()) {
        ctx.report(
            key,
            &source,
            Rule::DuplicatePrivacyKey,
            format!(
                "this key is already the privacy key of members[{first}] (`{}`)",
                raw[first].get_ref().name.get_ref()
            ),
            "give each member its own privacy key pair",
        );
        return None;
    }
    seen.insert(*public.as_bytes(), i);
    Some(public)
}

fn peer_endpoint(ctx: &mut Ctx<'_>, key: &str, raw: &S<String>) -> Option<Endpoint> {
    let source = Source::File(raw.span());
    let example = "write it as https://gateway.member.example:7443";
    let endpoint = match Endpoint::parse(raw.get_ref()) {
        Ok(e) => e,
        Err(problem) => {
            ctx.report(key, &source, Rule::InvalidValue, problem, example);
            return None;
        }
    };
    if endpoint.scheme() != "https" {
        ctx.report(
            key,
            &source,
            Rule::InvalidValue,
            format!(
                "scheme `{}`: gateways talk to each other only over mutual TLS",
                endpoint.scheme()
            ),
            example,
        );
        return None;
    }
    if endpoint.has_userinfo() {
        ctx.report(
            key,
            &source,
            Rule::SecretInFile,
            "a peer endpoint carries no credentials: mutual TLS authenticates both sides",
            "remove the user[:password]@ part",
        );
        return None;
    }
    Some(endpoint)
}

fn custody(ctx: &mut Ctx<'_>, i: usize, raw: Option<&S<RawCustody>>) -> Custody {
    let Some(raw) = raw else {
        return Custody::default();
    };
    let raw = raw.get_ref();
    let mut tag = |field: &str, value: &Option<S<String>>| -> Option<String> {
        let value = value.as_ref()?;
        if value.get_ref().trim().is_empty() {
            ctx.report(
                format!("members[{i}].custody.{field}"),
                &Source::File(value.span()),
                Rule::InvalidValue,
                "the tag is empty",
                format!("name the {field} or remove the key"),
            );
            return None;
        }
        Some(value.get_ref().clone())
    };
    Custody {
        operator: tag("operator", &raw.operator),
        host: tag("host", &raw.host),
        hsm: tag("hsm", &raw.hsm),
        custodian: tag("custodian", &raw.custodian),
    }
}
