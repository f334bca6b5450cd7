//! Family-specific chain settings: EVM and FISCO BCOS contracts and chain ids (Fabric's are in
//! `fabric`); keys of one family are refused on another.

use std::collections::BTreeMap;

use causeway_proofs::EvmAddress;

use super::{ChainCheck, family_name};
use crate::error::Rule;
use causeway_proofs::fisco::{CryptoMode, NodeKey, SealerSet};

use crate::model::{EvmChain, FiscoChain};
use crate::raw::{RawChain, RawFamily, S};
use crate::validate::Source;
use crate::validate::files::{located, public_file};

impl<'n> ChainCheck<'_, 'n, '_> {
    /// An address key that the family requires.
    fn address(
        &mut self,
        field: &str,
        raw: Option<&S<String>>,
        required: bool,
        what: &str,
    ) -> Option<Option<EvmAddress>> {
        let Some(raw) = raw else {
            if required {
                let table = self.table.clone();
                self.report(
                    field,
                    &table,
                    Rule::MissingContract,
                    format!("no {what} address is configured"),
                    format!(
                        "add {field} = \"0x…\" with the address of the deployed {what} contract"
                    ),
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

    /// Refuses the keys of `raw` that belong to other families than `family` (one table of
    /// which family each key is for, in the order its problems are reported).
    pub(super) fn not_for_family(&mut self, family: RawFamily, raw: &RawChain) -> bool {
        use RawFamily::{Evm, Fabric, Fisco};
        fn at<T>(value: &Option<S<T>>) -> Option<std::ops::Range<usize>> {
            value.as_ref().map(S::span)
        }
        // A key, where it is written (if it is), and the families it is for.
        type FamilyKey = (
            &'static str,
            Option<std::ops::Range<usize>>,
            &'static [RawFamily],
        );
        fn at_list<T>(value: &Option<S<Vec<T>>>) -> Option<std::ops::Range<usize>> {
            value.as_ref().map(S::span)
        }
        let keys: [FamilyKey; 18] = [
            ("outbox", at(&raw.outbox), &[Evm, Fisco]),
            ("inbox", at(&raw.inbox), &[Evm, Fisco]),
            ("channel", at(&raw.channel), &[Fabric]),
            ("chaincode", at(&raw.chaincode), &[Fabric]),
            ("msp_id", at(&raw.msp_id), &[Fabric]),
            ("anchor", at(&raw.anchor), &[Evm]),
            ("group", at(&raw.group), &[Fisco]),
            ("crypto", at(&raw.crypto), &[Fisco]),
            ("sealers", at_list(&raw.sealers), &[Fisco]),
            ("web3_chain_id", at(&raw.web3_chain_id), &[Fisco]),
            ("tls_ca_file", at(&raw.tls_ca_file), &[Fabric]),
            ("identity_cert_file", at(&raw.identity_cert_file), &[Fabric]),
            ("sender_cert_file", at(&raw.sender_cert_file), &[Fabric]),
            (
                "tls_client_cert_file",
                at(&raw.tls_client_cert_file),
                &[Fabric],
            ),
            (
                "tls_client_key_file",
                at(&raw.tls_client_key_file),
                &[Fabric],
            ),
            ("outbox_chaincode", at(&raw.outbox_chaincode), &[Fabric]),
            ("inbox_chaincode", at(&raw.inbox_chaincode), &[Fabric]),
            ("verifier", at(&raw.verifier), &[Fabric]),
        ];
        let mut ok = true;
        for (field, span, families) in keys {
            if let Some(span) = span.filter(|_| !families.contains(&family)) {
                self.report(
                    field,
                    &Source::File(span),
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
    pub(super) fn text(
        &mut self,
        field: &str,
        raw: Option<&S<String>>,
        rule: Rule,
        example: &str,
    ) -> Option<String> {
        match raw {
            Some(v) if !v.get_ref().is_empty() && !v.get_ref().contains(char::is_whitespace) => {
                Some(v.get_ref().clone())
            }
            Some(v) => {
                let source = Source::File(v.span());
                self.report(
                    field,
                    &source,
                    Rule::InvalidValue,
                    format!("`{}` is empty or contains spaces", v.get_ref()),
                    format!("write {field} = \"{example}\""),
                );
                None
            }
            None => {
                let table = self.table.clone();
                self.report(
                    field,
                    &table,
                    rule,
                    format!("no {field} is configured"),
                    format!("add {field} = \"{example}\""),
                );
                None
            }
        }
    }

    pub(super) fn evm(
        &mut self,
        raw: &RawChain,
        chain_ids: &mut BTreeMap<(RawFamily, String), &'n str>,
    ) -> Option<EvmChain> {
        let others = self.not_for_family(RawFamily::Evm, raw);
        let chain_id = match &raw.chain_id {
            Some(v) => match v.get_ref() {
                toml::Value::Integer(0) => self.chain_id_problem(
                    Some(v),
                    Rule::ZeroValue,
                    "chain id 0 is not an EVM chain id",
                    "write the chain's EIP-155 chain id (what eth_chainId returns)",
                ),
                toml::Value::Integer(n) if *n > 0 => self
                    .unique_chain_id(RawFamily::Evm, n.to_string(), v, chain_ids)
                    .map(|()| n.unsigned_abs()),
                other => self.chain_id_problem(
                    Some(v),
                    Rule::InvalidValue,
                    format!("`{other}` is not an EVM chain id"),
                    "write the chain's EIP-155 chain id as a positive integer",
                ),
            },
            None => self.chain_id_problem(
                None,
                Rule::MissingField,
                "an EVM chain needs its chain id",
                "add chain_id = <the chain's EIP-155 chain id, as eth_chainId returns it>",
            ),
        };
        let outbox = self.address("outbox", raw.outbox.as_ref(), true, "Outbox");
        let inbox = self.address("inbox", raw.inbox.as_ref(), true, "Inbox");
        let anchor = self.address("anchor", raw.anchor.as_ref(), false, "Anchor");
        if !others {
            return None;
        }
        Some(EvmChain {
            chain_id: chain_id?,
            outbox: outbox??,
            inbox: inbox??,
            anchor: anchor?,
        })
    }

    /// An optional certificate file: `Some(None)` when absent, `None` when present but missing.
    pub(super) fn optional_file(
        &mut self,
        field: &str,
        raw: Option<&S<std::path::PathBuf>>,
    ) -> Option<Option<std::path::PathBuf>> {
        let Some(p) = raw else { return Some(None) };
        let file = located(self.ctx, p);
        let key = self.key(field);
        public_file(self.ctx, &key, &file).then_some(Some(file.path))
    }

    pub(super) fn fisco(
        &mut self,
        raw: &RawChain,
        chain_ids: &mut BTreeMap<(RawFamily, String), &'n str>,
    ) -> Option<FiscoChain> {
        let others = self.not_for_family(RawFamily::Fisco, raw);
        let group = self.text("group", raw.group.as_ref(), Rule::MissingField, "group0");
        let chain_id = match &raw.chain_id {
            Some(v) => match v.get_ref() {
                toml::Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => {
                    group
                        .as_ref()
                        .and_then(|g| {
                            self.unique_chain_id(RawFamily::Fisco, format!("{s}/{g}"), v, chain_ids)
                        })
                        .map(|()| s.clone())
                }
                other => self.chain_id_problem(
                    Some(v),
                    Rule::InvalidValue,
                    format!("`{other}` is not a FISCO BCOS chain id"),
                    "write the node's chain id as a string, e.g. chain_id = \"chain0\"",
                ),
            },
            None => self.chain_id_problem(
                None,
                Rule::MissingField,
                "a FISCO BCOS chain needs its chain id",
                "add chain_id = \"chain0\" (the node's configured chain id)",
            ),
        };
        let outbox = self.address("outbox", raw.outbox.as_ref(), true, "Outbox");
        let inbox = self.address("inbox", raw.inbox.as_ref(), true, "Inbox");
        let sealers = self.fisco_sealers(raw);
        let web3_chain_id = self.web3_chain_id(raw);
        if !others {
            return None;
        }
        Some(FiscoChain {
            chain_id: chain_id?,
            group: group?,
            outbox: outbox??,
            inbox: inbox??,
            sealers: sealers?,
            web3_chain_id: web3_chain_id?,
        })
    }

    /// `web3_chain_id` of a FISCO BCOS chain: what `block.chainid` returns in the group's EVM,
    /// required and non-zero. Zero (FISCO BCOS's default) names no chain: every group that never
    /// set it has it, and the contracts refuse a zero origin chain id (docs/fisco.md).
    fn web3_chain_id(&mut self, raw: &RawChain) -> Option<u64> {
        match raw.web3_chain_id.as_ref() {
            Some(v) if *v.get_ref() != 0 => Some(*v.get_ref()),
            Some(v) => {
                self.report(
                    "web3_chain_id",
                    &Source::File(v.span()),
                    Rule::InvalidValue,
                    "web3_chain_id 0 cannot name this chain in signing domains: every FISCO BCOS \
                     group that never set it has 0, and the contracts refuse a zero origin chain id",
                    "set the group's web3_chain_id to a non-zero id no other chain uses \
                     (setSystemConfigByKey web3_chain_id <id>, FISCO BCOS 3.9 or later) and write \
                     the same value here",
                );
                None
            }
            None => {
                let table = self.table.clone();
                self.report(
                    "web3_chain_id",
                    &table,
                    Rule::MissingField,
                    "a FISCO BCOS chain needs the chain id block.chainid returns in its EVM (the \
                     group's web3_chain_id): validator signatures are bound to it",
                    "add web3_chain_id = <getSystemConfigByKey web3_chain_id> (set a non-zero id \
                     on the group first if it is 0)",
                );
                None
            }
        }
    }

    /// `crypto` and `sealers` of a FISCO BCOS chain: distinct node ids, points of the mode's
    /// curve, at least four (so no single key is a quorum).
    fn fisco_sealers(&mut self, raw: &RawChain) -> Option<SealerSet> {
        let mode = match raw.crypto.as_ref() {
            None => CryptoMode::Ecdsa,
            Some(v) => match v.get_ref().as_str() {
                "ecdsa" => CryptoMode::Ecdsa,
                "sm" => CryptoMode::Sm,
                other => {
                    self.report(
                        "crypto",
                        &Source::File(v.span()),
                        Rule::InvalidValue,
                        format!("`{other}` is not a FISCO BCOS crypto mode"),
                        "write crypto = \"ecdsa\" or crypto = \"sm\" (the node's [chain] sm_crypto)",
                    );
                    return None;
                }
            },
        };
        let Some(list) = raw.sealers.as_ref() else {
            let table = self.table.clone();
            self.report(
                "sealers",
                &table,
                Rule::MissingField,
                "a FISCO BCOS chain needs its sealers' node ids to check block signatures",
                "add sealers = [\"<node id>\", …] with every nodeID of getSealerList",
            );
            return None;
        };
        let mut keys = Vec::with_capacity(list.get_ref().len());
        for id in list.get_ref() {
            match NodeKey::from_hex(mode, id.get_ref()) {
                Ok(key) => keys.push(key),
                Err(e) => {
                    self.report(
                        "sealers",
                        &Source::File(id.span()),
                        Rule::InvalidValue,
                        e.to_string(),
                        "copy the nodeID from getSealerList (128 hex digits of the node's public key)",
                    );
                    return None;
                }
            }
        }
        match SealerSet::new(mode, keys) {
            Ok(set) => Some(set),
            Err(e) => {
                self.report(
                    "sealers",
                    &Source::File(list.span()),
                    Rule::InvalidValue,
                    e.to_string(),
                    "list every sealer of the group once (getSealerList)",
                );
                None
            }
        }
    }

    /// Reports a problem with `chain_id`: at its value when it is written (`Some`), else at the
    /// chain's table; always `None` (no chain id to use).
    pub(super) fn chain_id_problem<T>(
        &mut self,
        value: Option<&S<toml::Value>>,
        rule: Rule,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Option<T> {
        let source = match value {
            Some(v) => Source::File(v.span()),
            None => self.table.clone(),
        };
        self.report("chain_id", &source, rule, problem, fix);
        None
    }

    pub(super) fn unique_chain_id(
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
