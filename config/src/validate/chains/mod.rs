//! `[chains.<name>]`: domain, family, chain id, endpoints, finality, contracts, signer keys.

mod fabric;
mod family;
mod finality;

use std::collections::BTreeMap;
use std::path::Path;

use causeway_proofs::Domain;

use super::files::{Located, located, secret_file};
use super::members::NAME_FIX;
use super::{Ctx, Source};
use crate::env::{self, ChainVar};
use crate::error::Rule;
use crate::model::{Chain, ChainKind};
use crate::raw::{RawChain, RawFamily, S};
use crate::values::{Endpoint, check_name};

/// Checks every chain; `Some` only when all passed.
pub(crate) fn chains(ctx: &mut Ctx<'_>, raw: &BTreeMap<String, S<RawChain>>) -> Option<Vec<Chain>> {
    let mut domains: BTreeMap<Domain, &str> = BTreeMap::new();
    let mut chain_ids: BTreeMap<(RawFamily, String), &str> = BTreeMap::new();
    let mut out = Vec::with_capacity(raw.len());
    let mut all_ok = true;
    for (name, chain) in raw {
        let before = ctx.error_count();
        let built = ChainCheck {
            ctx: &mut *ctx,
            name,
            table: Source::File(chain.span()),
        }
        .run(chain.get_ref(), &mut domains, &mut chain_ids);
        match built {
            Some(c) if ctx.error_count() == before => out.push(c),
            _ => all_ok = false,
        }
    }
    all_ok.then_some(out)
}

struct ChainCheck<'c, 'n, 'a> {
    ctx: &'c mut Ctx<'a>,
    name: &'n str,
    table: Source,
}

impl<'n> ChainCheck<'_, 'n, '_> {
    fn key(&self, field: &str) -> String {
        if field.is_empty() {
            format!("chains.{}", self.name)
        } else {
            format!("chains.{}.{field}", self.name)
        }
    }

    fn report(
        &mut self,
        field: &str,
        source: &Source,
        rule: Rule,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let key = self.key(field);
        self.ctx.report(key, source, rule, problem, fix);
    }

    fn run(
        mut self,
        raw: &RawChain,
        domains: &mut BTreeMap<Domain, &'n str>,
        chain_ids: &mut BTreeMap<(RawFamily, String), &'n str>,
    ) -> Option<Chain> {
        if let Err(problem) = check_name(self.name) {
            let table = self.table.clone();
            self.report(
                "",
                &table,
                Rule::InvalidName,
                format!("chain {problem}"),
                NAME_FIX,
            );
        }
        let family = *raw.family.get_ref();
        let domain = self.domain(raw, domains);
        let endpoints = self.endpoints(raw, family);
        let finality = self.finality(raw, family);
        let signer_key_files = self.signer_keys(raw);
        let sender_key_file = self.sender_key(raw, family, signer_key_files.as_deref());
        let kind = match family {
            RawFamily::Evm => self.evm(raw, chain_ids).map(ChainKind::Evm),
            RawFamily::Fabric => {
                let has_signers = signer_key_files
                    .as_ref()
                    .is_some_and(|files| !files.is_empty());
                self.fabric(raw, has_signers, chain_ids)
                    .map(ChainKind::Fabric)
            }
            RawFamily::Fisco => self.fisco(raw, chain_ids).map(ChainKind::Fisco),
        };
        Some(Chain {
            name: self.name.to_owned(),
            domain: domain?,
            endpoints: endpoints?,
            finality: finality?,
            signer_key_files: signer_key_files?,
            sender_key_file: sender_key_file?,
            kind: kind?,
        })
    }

    fn domain(&mut self, raw: &RawChain, seen: &mut BTreeMap<Domain, &'n str>) -> Option<Domain> {
        let domain = *raw.domain.get_ref();
        let source = Source::File(raw.domain.span());
        if domain.0 == 0 {
            self.report(
                "domain",
                &source,
                Rule::ZeroValue,
                "domain 0 is the default value and is never trusted",
                "give the chain a non-zero domain id agreed by the consortium",
            );
            return None;
        }
        if let Some(first) = seen.get(&domain) {
            self.report(
                "domain",
                &source,
                Rule::DuplicateDomain,
                format!("domain {domain} is already the domain of chain `{first}`"),
                "give every chain its own domain id",
            );
            return None;
        }
        seen.insert(domain, self.name);
        Some(domain)
    }

    fn endpoints(&mut self, raw: &RawChain, family: RawFamily) -> Option<Vec<Endpoint>> {
        let var = env::chain_var(self.name, ChainVar::Endpoints);
        let key = self.key("endpoints");
        let (texts, from_env): (Vec<(String, Source)>, bool) = if self.ctx.env.var(&var).is_some() {
            let value = self.ctx.env_value(&var, &key)?;
            let source = Source::EnvOwned(var.clone());
            (
                value
                    .split(',')
                    .map(|s| (s.trim().to_owned(), source.clone()))
                    .collect(),
                true,
            )
        } else {
            match &raw.endpoints {
                Some(list) if !list.get_ref().is_empty() => (
                    list.get_ref()
                        .iter()
                        .map(|e| (e.get_ref().clone(), Source::File(e.span())))
                        .collect(),
                    false,
                ),
                other => {
                    let source = other
                        .as_ref()
                        .map_or(self.table.clone(), |l| Source::File(l.span()));
                    self.report(
                        "endpoints",
                        &source,
                        Rule::EmptyEndpoints,
                        "the chain has no endpoint to talk to",
                        format!(
                            "list at least one node URL, e.g. endpoints = [\"{}\"], or set {var}",
                            example_url(family)
                        ),
                    );
                    return None;
                }
            }
        };
        let schemes = allowed_schemes(family);
        let mut out: Vec<Endpoint> = Vec::with_capacity(texts.len());
        let mut ok = true;
        for (i, (text, source)) in texts.iter().enumerate() {
            let field = format!("endpoints[{i}]");
            let endpoint = match Endpoint::parse(text) {
                Ok(e) => e,
                Err(problem) => {
                    self.report(
                        &field,
                        source,
                        Rule::InvalidValue,
                        format!("{problem}{}", source.note()),
                        format!("write a URL such as \"{}\"", example_url(family)),
                    );
                    ok = false;
                    continue;
                }
            };
            if !schemes.contains(&endpoint.scheme()) {
                self.report(
                    &field,
                    source,
                    Rule::InvalidValue,
                    format!(
                        "scheme `{}` is not one a {} node speaks{}",
                        endpoint.scheme(),
                        family_name(family),
                        source.note()
                    ),
                    format!("use one of: {}", schemes.join(", ")),
                );
                ok = false;
            } else if endpoint.has_userinfo() && !from_env {
                self.report(
                    &field,
                    source,
                    Rule::SecretInFile,
                    "the URL carries credentials (user[:password]@), which must not be written in the configuration file",
                    format!("remove the credentials here and pass the full URLs in the environment variable {var}"),
                );
                ok = false;
            } else if out.contains(&endpoint) {
                self.report(
                    &field,
                    source,
                    Rule::InvalidValue,
                    format!("{endpoint} is listed twice"),
                    "remove the duplicate",
                );
                ok = false;
            } else {
                out.push(endpoint);
            }
        }
        ok.then_some(out)
    }

    fn signer_keys(&mut self, raw: &RawChain) -> Option<Vec<std::path::PathBuf>> {
        let var = env::chain_var(self.name, ChainVar::SignerKeyFile);
        let key = self.key("signer_key_files");
        let files: Vec<Located> = if self.ctx.env.var(&var).is_some() {
            let value = self.ctx.env_value(&var, &key)?;
            std::env::split_paths(&value)
                .map(|p| Located {
                    path: self.ctx.resolve(Path::new(&p)),
                    source: Source::EnvOwned(var.clone()),
                })
                .collect()
        } else {
            raw.signer_key_files
                .iter()
                .map(|p| located(self.ctx, p))
                .collect()
        };
        let mut ok = true;
        for (i, file) in files.iter().enumerate() {
            ok &= secret_file(self.ctx, &format!("{key}[{i}]"), file);
        }
        ok.then(|| files.into_iter().map(|f| f.path).collect())
    }

    /// `sender_key_file`: optional; a private key file. EVM and FISCO BCOS: a secret key of 32
    /// bytes (the chain's signature scheme is checked against the node by `config check`); on
    /// EVM never one of the relayer's signer keys (one account, two nonce writers). Fabric: the
    /// PEM key of the identity `sender_cert_file` names (paired and checked by `config check`;
    /// it may be the chain's signer identity: Fabric has no account nonces). `Some(None)` when
    /// absent, `None` when refused.
    fn sender_key(
        &mut self,
        raw: &RawChain,
        family: RawFamily,
        signers: Option<&[std::path::PathBuf]>,
    ) -> Option<Option<std::path::PathBuf>> {
        let Some(value) = &raw.sender_key_file else {
            return Some(None);
        };
        let source = Source::File(value.span());
        let file = located(self.ctx, value);
        let key = self.key("sender_key_file");
        if !secret_file(self.ctx, &key, &file) {
            return None;
        }
        if family == RawFamily::Fabric {
            return Some(Some(file.path));
        }
        let contents = crate::keyfile::read_secret_key_file(&file.path)
            .map_err(|e| e.to_string())
            .and_then(|secret| crate::keyfile::validator_address(&secret));
        if let Err(reason) = contents {
            self.report(
                "sender_key_file",
                &source,
                Rule::KeyFileContents,
                format!("{}: {reason}", file.path.display()),
                "write a secp256k1 secret key (32 bytes as hex or base64; `causeway keys` makes one)",
            );
            return None;
        }
        if family == RawFamily::Evm && signers.is_some_and(|s| s.contains(&file.path)) {
            self.report(
                "sender_key_file",
                &source,
                Rule::DuplicateKeyUse,
                "the sender key is also one of signer_key_files: the API's dispatches and the \
                 relayer's deliveries would race for one account's transaction nonces",
                "give the API a key of its own (`causeway keys` makes one) and fund its address",
            );
            return None;
        }
        Some(Some(file.path))
    }
}

fn family_name(family: RawFamily) -> &'static str {
    match family {
        RawFamily::Evm => "evm",
        RawFamily::Fabric => "fabric",
        RawFamily::Fisco => "fisco",
    }
}

fn allowed_schemes(family: RawFamily) -> &'static [&'static str] {
    match family {
        RawFamily::Evm | RawFamily::Fisco => &["http", "https", "ws", "wss"],
        RawFamily::Fabric => &["grpc", "grpcs", "http", "https"],
    }
}

fn example_url(family: RawFamily) -> &'static str {
    match family {
        RawFamily::Evm => "https://rpc.example.org:8545",
        RawFamily::Fabric => "grpcs://peer0.org1.example.com:7051",
        RawFamily::Fisco => "http://127.0.0.1:20200",
    }
}
