//! The finality rule of a chain: `{ confirmations = n }` or `{ tag = "finalized" }` for EVM,
//! `"on-commit"` for Fabric and FISCO BCOS (bridge-exploits T38: unsafe rules are refused).

use core::num::NonZeroU64;

use super::{ChainCheck, family_name};
use crate::error::Rule;
use crate::model::Finality;
use crate::raw::{RawChain, RawFamily};
use crate::validate::Source;

impl ChainCheck<'_, '_, '_> {
    pub(super) fn finality(&mut self, raw: &RawChain, family: RawFamily) -> Option<Finality> {
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
            toml::Value::Table(t) if t.len() == 1 && t.contains_key("confirmations") => {
                match &t["confirmations"] {
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
                    toml::Value::Integer(n) if *n > 0 => Finality::Confirmations(
                        NonZeroU64::new(n.unsigned_abs()).expect("n > 0 was just checked"),
                    ),
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
                }
            }
            toml::Value::Table(t) if t.len() == 1 && t.contains_key("tag") => {
                match t["tag"].as_str() {
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
                }
            }
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
            (
                RawFamily::Fabric | RawFamily::Fisco,
                Finality::Confirmations(_) | Finality::Finalized,
            ) => {
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
}
