//! `[chains.<name>]`: domain, family, chain id, endpoints, finality, contracts, signer keys.

use std::collections::BTreeMap;
use std::path::Path;

use causeway_proofs::{Domain, EvmAddress};
use core::num::NonZeroU64;

use super::files::{Located, located, public_file, secret_file};
use super::members::NAME_FIX;
use super::{Ctx, Source};
use crate::env::{self, ChainVar};
use crate::error::Rule;
use crate::model::{Chain, ChainKind, EvmChain, FabricChain, Finality, FiscoChain};
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
        let built = ChainCheck { ctx: &mut *ctx, name, table: Source::File(chain.span()) }.run(
            chain.get_ref(),
            &mut domains,
            &mut chain_ids,
        );
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
        if field.is_empty() { format!("chains.{}", self.name) } else { format!("chains.{}.{field}", self.name) }
    }

    fn report(&mut self, field: &str, source: &Source, rule: Rule, problem: impl Into<String>, fix: impl Into<String>) {
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
            self.report("", &table, Rule::InvalidName, format!("chain {problem}"), NAME_FIX);
        }
        let family = *raw.family.get_ref();
        let domain = self.domain(raw, domains);
        let endpoints = self.endpoints(raw, family);
        let finality = self.finality(raw, family);
        let signer_key_files = self.signer_keys(raw);
        let kind = match family {
            RawFamily::Evm => self.evm(raw, chain_ids).map(ChainKind::Evm),
            RawFamily::Fabric => {
                let has_signers = signer_key_files.as_ref().is_some_and(|files| !files.is_empty());
                self.fabric(raw, has_signers).map(ChainKind::Fabric)
            }
            RawFamily::Fisco => self.fisco(raw, chain_ids).map(ChainKind::Fisco),
        };
        Some(Chain {
            name: self.name.to_owned(),
            domain: domain?,
            endpoints: endpoints?,
            finality: finality?,
            signer_key_files: signer_key_files?,
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
            (value.split(',').map(|s| (s.trim().to_owned(), source.clone())).collect(), true)
        } else {
            match &raw.endpoints {
                Some(list) if !list.get_ref().is_empty() => (
                    list.get_ref().iter().map(|e| (e.get_ref().clone(), Source::File(e.span()))).collect(),
                    false,
                ),
                other => {
                    let source = other.as_ref().map_or(self.table.clone(), |l| Source::File(l.span()));
                    self.report(
                        "endpoints",
                        &source,
                        Rule::EmptyEndpoints,
                        "the chain has no endpoint to talk to",
                        format!("list at least one node URL, e.g. endpoints = [\"{}\"], or set {var}", example_url(family)),
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
                    self.report(&field, source, Rule::InvalidValue, format!("{problem}{}", source.note()), format!(
                        "write a URL such as \"{}\"",
                        example_url(family)
                    ));
                    ok = false;
                    continue;
                }
            };
            if !schemes.contains(&endpoint.scheme()) {
                self.report(
                    &field,
                    source,
                    Rule::InvalidValue,
                    format!("scheme `{}` is not one a {} node speaks{}", endpoint.scheme(), family_name(family), source.note()),
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
                self.report(&field, source, Rule::InvalidValue, format!("{endpoint} is listed twice"), "remove the duplicate");
                ok = false;
            } else {
                out.push(endpoint);
            }
        }
        ok.then_some(out)
    }

    fn finality(&mut self, raw: &RawChain, family: RawFamily) -> Option<Finality> {
        let evm_fix = "write finality = { confirmations = 12 } (blocks on top of the event) or finality = { tag = \"finalized\" }";
        let commit_fix = "write finality = \"on-commit\" (or leave finality out)";
        let Some(value) = &raw.finality else {
            return match family {
                RawFamily::Evm => {
                    let table = self.table.clone();
                    self.report(
                        "finality",
                        &table,
                        Rule::MissingField,
                        "an EVM chain needs an explicit finality rule: blocks can be reorganised",
                        evm_fix,
                    );
                    None
                }
                RawFamily::Fabric | RawFamily::Fisco => Some(Finality::OnCommit),
            };
        };
        let source = Source::File(value.span());
        let parsed = match value.get_ref() {
            toml::Value::String(s) if s == "on-commit" => Finality::OnCommit,
            toml::Value::Table(t) if t.len() == 1 && t.contains_key("confirmations") => match &t["confirmations"] {
                toml::Value::Integer(0) => {
                    self.report(
                        "finality.confirmations",
                        &source,
                        Rule::UnsafeFinality,
                        "0 confirmations accepts events from blocks that a reorganisation can remove",
                        evm_fix,
                    );
                    return None;
                }
                toml::Value::Integer(n) if *n > 0 => {
                    Finality::Confirmations(NonZeroU64::new(n.unsigned_abs()).expect("n > 0 was just checked"))
                }
                other => {
                    self.report(
                        "finality.confirmations",
                        &source,
                        Rule::InvalidValue,
                        format!("`{other}` is not a positive number of blocks"),
                        evm_fix,
                    );
                    return None;
                }
            },
            toml::Value::Table(t) if t.len() == 1 && t.contains_key("tag") => match t["tag"].as_str() {
                Some("finalized") => Finality::Finalized,
                Some(tag @ ("latest" | "safe" | "pending")) => {
                    self.report(
                        "finality.tag",
                        &source,
                        Rule::UnsafeFinality,
                        format!("the `{tag}` block is not final: it can still be reorganised away"),
                        "write finality = { tag = \"finalized\" } or finality = { confirmations = 12 }",
                    );
                    return None;
                }
                _ => {
                    self.report(
                        "finality.tag",
                        &source,
                        Rule::InvalidValue,
                        format!("`{}` is not a block tag Causeway accepts", t["tag"]),
                        "write finality = { tag = \"finalized\" }",
                    );
                    return None;
                }
            },
            other => {
                self.report(
                    "finality",
                    &source,
                    Rule::InvalidValue,
                    format!("`{other}` is not a finality rule"),
                    format!("for an EVM chain: {evm_fix}; for fabric and fisco: finality = \"on-commit\""),
                );
                return None;
            }
        };
        match (family, parsed) {
            (RawFamily::Evm, Finality::OnCommit) => {
                self.report(
                    "finality",
                    &source,
                    Rule::UnsafeFinality,
                    "\"on-commit\" applies to fabric and fisco chains; an EVM block can be reorganised after it is produced",
                    evm_fix,
                );
                None
            }
            (RawFamily::Fabric | RawFamily::Fisco, Finality::Confirmations(_) | Finality::Finalized) => {
                self.report(
                    "finality",
                    &source,
                    Rule::NotForFamily,
                    format!("{} chains are final when a block is committed; confirmations and tags do not apply", family_name(family)),
                    commit_fix,
                );
                None
            }
            (_, f) => Some(f),
        }
    }

    fn signer_keys(&mut self, raw: &RawChain) -> Option<Vec<std::path::PathBuf>> {
        let var = env::chain_var(self.name, ChainVar::SignerKeyFile);
        let key = self.key("signer_key_files");
        let files: Vec<Located> = if self.ctx.env.var(&var).is_some() {
            let value = self.ctx.env_value(&var, &key)?;
            std::env::split_paths(&value)
                .map(|p| Located { path: self.ctx.resolve(Path::new(&p)), source: Source::EnvOwned(var.clone()) })
                .collect()
        } else {
            raw.signer_key_files.iter().map(|p| located(self.ctx, p)).collect()
        };
        let mut ok = true;
        for (i, file) in files.iter().enumerate() {
            ok &= secret_file(self.ctx, &format!("{key}[{i}]"), file);
        }
        ok.then(|| files.into_iter().map(|f| f.path).collect())
    }

    /// An address key that the family requires.
    fn address(&mut self, field: &str, raw: Option<&S<String>>, required: bool, what: &str) -> Option<Option<EvmAddress>> {
        let Some(raw) = raw else {
            if required {
                let table = self.table.clone();
                self.report(
                    field,
                    &table,
                    Rule::MissingContract,
                    format!("no {what} address is configured"),
                    format!("add {field} = \"0x…\" with the address of the deployed {what} contract"),
                );
                return None;
            }
            return Some(None);
        };
        let source = Source::File(raw.span());
        match raw.get_ref().parse::<EvmAddress>() {
            Ok(a) if a.is_zero() => {
                self.report(
                    field,
                    &source,
                    Rule::ZeroValue,
                    format!("the zero address cannot be the {what} contract"),
                    format!("write the address of the deployed {what} contract"),
                );
                None
            }
            Ok(a) => Some(Some(a)),
            Err(e) => {
                self.report(
                    field,
                    &source,
                    Rule::InvalidValue,
                    format!("`{}` is not an address: {e}", raw.get_ref()),
                    "write 0x followed by 40 hex digits",
                );
                None
            }
        }
    }

    /// Refuses keys that belong to other families.
    fn not_for_family<T>(&mut self, family: RawFamily, fields: &[(&str, Option<&S<T>>)]) -> bool {
        let mut ok = true;
        for (field, value) in fields {
            if let Some(v) = value {
                let source = Source::File(v.span());
                self.report(
                    field,
                    &source,
                    Rule::NotForFamily,
                    format!("`{field}` does not apply to {} chains", family_name(family)),
                    format!("remove `{field}` or correct `family`"),
                );
                ok = false;
            }
        }
        ok
    }

    /// A text key that the family requires.
    fn text(&mut self, field: &str, raw: Option<&S<String>>, rule: Rule, example: &str) -> Option<String> {
        match raw {
            Some(v) if !v.get_ref().is_empty() && !v.get_ref().contains(char::is_whitespace) => Some(v.get_ref().clone()),
            Some(v) => {
                let source = Source::File(v.span());
                self.report(field, &source, Rule::InvalidValue, format!("`{}` is empty or contains spaces", v.get_ref()), format!(
                    "write {field} = \"{example}\""
                ));
                None
            }
            None => {
                let table = self.table.clone();
                self.report(field, &table, rule, format!("no {field} is configured"), format!("add {field} = \"{example}\""));
                None
            }
        }
    }

    fn evm(&mut self, raw: &RawChain, chain_ids: &mut BTreeMap<(RawFamily, String), &'n str>) -> Option<EvmChain> {
        let others = self.not_for_family(
            RawFamily::Evm,
            &[("channel", raw.channel.as_ref()), ("chaincode", raw.chaincode.as_ref()), ("msp_id", raw.msp_id.as_ref()), ("group", raw.group.as_ref())],
        ) & self.not_for_family(
            RawFamily::Evm,
            &[("tls_ca_file", raw.tls_ca_file.as_ref()), ("identity_cert_file", raw.identity_cert_file.as_ref())],
        );
        let chain_id = match &raw.chain_id {
            Some(v) => match v.get_ref() {
                toml::Value::Integer(0) => {
                    self.report("chain_id", &Source::File(v.span()), Rule::ZeroValue, "chain id 0 is not an EVM chain id", "write the chain's EIP-155 chain id (what eth_chainId returns)");
                    None
                }
                toml::Value::Integer(n) if *n > 0 => self.unique_chain_id(RawFamily::Evm, n.to_string(), v, chain_ids).map(|()| n.unsigned_abs()),
                other => {
                    self.report("chain_id", &Source::File(v.span()), Rule::InvalidValue, format!("`{other}` is not an EVM chain id"), "write the chain's EIP-155 chain id as a positive integer");
                    None
                }
            },
            None => {
                let table = self.table.clone();
                self.report("chain_id", &table, Rule::MissingField, "an EVM chain needs its chain id", "add chain_id = <the chain's EIP-155 chain id, as eth_chainId returns it>");
                None
            }
        };
        let outbox = self.address("outbox", raw.outbox.as_ref(), true, "Outbox");
        let inbox = self.address("inbox", raw.inbox.as_ref(), true, "Inbox");
        let anchor = self.address("anchor", raw.anchor.as_ref(), false, "Anchor");
        if !others {
            return None;
        }
        Some(EvmChain { chain_id: chain_id?, outbox: outbox??, inbox: inbox??, anchor: anchor? })
    }

    /// An optional certificate file: `Some(None)` when absent, `None` when present but missing.
    fn optional_file(&mut self, field: &str, raw: Option<&S<std::path::PathBuf>>) -> Option<Option<std::path::PathBuf>> {
        let Some(p) = raw else { return Some(None) };
        let file = located(self.ctx, p);
        let key = self.key(field);
        public_file(self.ctx, &key, &file).then_some(Some(file.path))
    }

    fn fabric(&mut self, raw: &RawChain, has_signers: bool) -> Option<FabricChain> {
        let others = self.not_for_family(
            RawFamily::Fabric,
            &[("outbox", raw.outbox.as_ref()), ("inbox", raw.inbox.as_ref()), ("anchor", raw.anchor.as_ref()), ("group", raw.group.as_ref())],
        ) & self.not_for_family(RawFamily::Fabric, &[("chain_id", raw.chain_id.as_ref())]);
        let channel = self.text("channel", raw.channel.as_ref(), Rule::MissingContract, "mychannel");
        let chaincode = self.text("chaincode", raw.chaincode.as_ref(), Rule::MissingContract, "causeway");
        let msp_id = self.text("msp_id", raw.msp_id.as_ref(), Rule::MissingField, "Org1MSP");
        let tls_ca_file = self.optional_file("tls_ca_file", raw.tls_ca_file.as_ref());
        let identity_cert_file = self.optional_file("identity_cert_file", raw.identity_cert_file.as_ref());
        if has_signers && raw.identity_cert_file.is_none() {
            let table = self.table.clone();
            self.report(
                "identity_cert_file",
                &table,
                Rule::MissingField,
                "a Fabric signer key needs the X.509 certificate of its identity",
                "add identity_cert_file = \"msp/signcerts/cert.pem\" (the certificate issued by the MSP for the signer key)",
            );
            return None;
        }
        if !others {
            return None;
        }
        Some(FabricChain {
            channel: channel?,
            chaincode: chaincode?,
            msp_id: msp_id?,
            identity_cert_file: identity_cert_file?,
            tls_ca_file: tls_ca_file?,
        })
    }

    fn fisco(&mut self, raw: &RawChain, chain_ids: &mut BTreeMap<(RawFamily, String), &'n str>) -> Option<FiscoChain> {
        let others = self.not_for_family(
            RawFamily::Fisco,
            &[("channel", raw.channel.as_ref()), ("chaincode", raw.chaincode.as_ref()), ("msp_id", raw.msp_id.as_ref()), ("anchor", raw.anchor.as_ref())],
        ) & self.not_for_family(
            RawFamily::Fisco,
            &[("tls_ca_file", raw.tls_ca_file.as_ref()), ("identity_cert_file", raw.identity_cert_file.as_ref())],
        );
        let group = self.text("group", raw.group.as_ref(), Rule::MissingField, "group0");
        let chain_id = match &raw.chain_id {
            Some(v) => match v.get_ref() {
                toml::Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => group
                    .as_ref()
                    .and_then(|g| self.unique_chain_id(RawFamily::Fisco, format!("{s}/{g}"), v, chain_ids))
                    .map(|()| s.clone()),
                other => {
                    self.report("chain_id", &Source::File(v.span()), Rule::InvalidValue, format!("`{other}` is not a FISCO BCOS chain id"), "write the node's chain id as a string, e.g. chain_id = \"chain0\"");
                    None
                }
            },
            None => {
                let table = self.table.clone();
                self.report("chain_id", &table, Rule::MissingField, "a FISCO BCOS chain needs its chain id", "add chain_id = \"chain0\" (the node's configured chain id)");
                None
            }
        };
        let outbox = self.address("outbox", raw.outbox.as_ref(), true, "Outbox");
        let inbox = self.address("inbox", raw.inbox.as_ref(), true, "Inbox");
        if !others {
            return None;
        }
        Some(FiscoChain { chain_id: chain_id?, group: group?, outbox: outbox??, inbox: inbox?? })
    }

    fn unique_chain_id(
        &mut self,
        family: RawFamily,
        id: String,
        raw: &S<toml::Value>,
        seen: &mut BTreeMap<(RawFamily, String), &'n str>,
    ) -> Option<()> {
        if let Some(first) = seen.get(&(family, id.clone())) {
            self.report(
                "chain_id",
                &Source::File(raw.span()),
                Rule::DuplicateChainId,
                format!("chain `{first}` already has chain id {id}: two entries for one chain would let messages be replayed between them"),
                "give each chain its real chain id, and configure each chain once",
            );
            return None;
        }
        seen.insert((family, id), self.name);
        Some(())
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
