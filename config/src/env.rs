//! Environment overrides: where secrets (key file paths, database URLs, RPC URLs with credentials)
//! come from when they should not sit in the configuration file.
//!
//! | variable | overrides |
//! |---|---|
//! | `CAUSEWAY_VALIDATOR_KEY_FILE` | `gateway.validator_key_file` |
//! | `CAUSEWAY_PRIVACY_KEY_FILE` | `gateway.privacy_key_file` |
//! | `CAUSEWAY_TLS_KEY_FILE` | `gateway.tls.key_file` |
//! | `CAUSEWAY_API_TLS_KEY_FILE` | `api.tls.key_file` |
//! | `CAUSEWAY_POSTGRES_URL` | `storage.postgres_url` (may carry the password) |
//! | `CAUSEWAY_POSTGRES_PASSWORD_FILE` | `storage.postgres_password_file` |
//! | `CAUSEWAY_CHAIN_<NAME>_SIGNER_KEY_FILE` | `chains.<name>.signer_key_files` (several paths separated by `:`, like `PATH`) |
//! | `CAUSEWAY_CHAIN_<NAME>_ENDPOINTS` | `chains.<name>.endpoints` (comma-separated URLs, which may carry credentials) |
//!
//! `<NAME>` is the chain name in upper case with `-` replaced by `_` (chain `evm-a` →
//! `CAUSEWAY_CHAIN_EVM_A_SIGNER_KEY_FILE`); names allow no `_`, so the mapping is one-to-one.
//! A variable that is set wins over the file. A variable set to the empty string is an error, not
//! "unset". Relative paths from the environment are resolved against the configuration file's
//! folder, like those in the file.

use std::collections::{BTreeMap, HashMap};

/// Overrides `gateway.validator_key_file`.
pub const VALIDATOR_KEY_FILE: &str = "CAUSEWAY_VALIDATOR_KEY_FILE";
/// Overrides `gateway.privacy_key_file`.
pub const PRIVACY_KEY_FILE: &str = "CAUSEWAY_PRIVACY_KEY_FILE";
/// Overrides `gateway.tls.key_file` (the peer-protocol TLS private key).
pub const TLS_KEY_FILE: &str = "CAUSEWAY_TLS_KEY_FILE";
/// Overrides `api.tls.key_file` (the HTTP API's TLS private key).
pub const API_TLS_KEY_FILE: &str = "CAUSEWAY_API_TLS_KEY_FILE";
/// Overrides `storage.postgres_url`; selects PostgreSQL storage.
pub const POSTGRES_URL: &str = "CAUSEWAY_POSTGRES_URL";
/// Overrides `storage.postgres_password_file`.
pub const POSTGRES_PASSWORD_FILE: &str = "CAUSEWAY_POSTGRES_PASSWORD_FILE";

/// A per-chain override.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainVar {
    /// `CAUSEWAY_CHAIN_<NAME>_SIGNER_KEY_FILE`: the chain's transaction signer key file(s).
    SignerKeyFile,
    /// `CAUSEWAY_CHAIN_<NAME>_ENDPOINTS`: the chain's endpoint URLs.
    Endpoints,
}

/// The name of the per-chain variable `var` for chain `chain` (e.g. `evm-a` →
/// `CAUSEWAY_CHAIN_EVM_A_SIGNER_KEY_FILE`).
pub fn chain_var(chain: &str, var: ChainVar) -> String {
    let name: String = chain
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let suffix = match var {
        ChainVar::SignerKeyFile => "SIGNER_KEY_FILE",
        ChainVar::Endpoints => "ENDPOINTS",
    };
    format!("CAUSEWAY_CHAIN_{name}_{suffix}")
}

/// Where overrides are read from. Tests pass a map or a closure instead of touching the
/// process environment.
pub trait Env {
    /// The value of variable `name`, or `None` when it is not set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment. A variable whose value is not valid Unicode is returned as its
/// lossy conversion, so that validation rejects it rather than silently ignoring it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

/// No overrides at all.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEnv;

impl Env for NoEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<S: std::hash::BuildHasher> Env for HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_variables_upper_case_the_name_and_replace_dashes() {
        assert_eq!(
            chain_var("evm-a", ChainVar::SignerKeyFile),
            "CAUSEWAY_CHAIN_EVM_A_SIGNER_KEY_FILE"
        );
        assert_eq!(
            chain_var("fisco2", ChainVar::Endpoints),
            "CAUSEWAY_CHAIN_FISCO2_ENDPOINTS"
        );
    }

    #[test]
    fn maps_and_closures_are_environments() {
        let map: BTreeMap<String, String> = [("A".to_owned(), "1".to_owned())].into();
        assert_eq!(map.var("A").as_deref(), Some("1"));
        assert_eq!(map.var("B"), None);
        let f = |n: &str| (n == "B").then(|| "2".to_owned());
        assert_eq!(f.var("B").as_deref(), Some("2"));
        assert_eq!(NoEnv.var("A"), None);
    }
}
