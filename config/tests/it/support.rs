//! A temporary gateway folder with dummy-but-valid key files (mode 0600) and a base
//! configuration that loads cleanly; tests change one thing and look for the one error.

use std::path::{Path, PathBuf};

use causeway_config::{Config, ConfigError, Env, NoEnv, Rule};

/// Dummy secrets, generated here rather than committed (git would not keep mode 0600).
/// Validator secret of org`n` is 32 bytes of `n`; its privacy secret 32 bytes of `0x10 + n`.
/// The addresses and public keys below are derived from them (and `keyfile`'s unit tests pin
/// the 0x01…01 → 0x1a642f…14f1 pair to its published value).
pub(crate) fn validator_secret_hex(org: u8) -> String {
    hex::encode([org; 32])
}

pub(crate) fn privacy_secret_hex(org: u8) -> String {
    hex::encode([0x10 + org; 32])
}

pub(crate) const ORG1_ADDRESS: &str = "0x1a642f0e3c3af545e7acbd38b07251b3990914f1";
pub(crate) const ORG2_ADDRESS: &str = "0x5050a4f4b3f9338c3472dcc01a87c76a144b3c9c";
pub(crate) const ORG4_ADDRESS: &str = "0xc48b812bb43401392c037381aca934f4069c0517";
pub(crate) const ORG1_PRIVACY: &str = "e06Qm75//kTEZaIgA31gjuNYl9Me+XLwf3SJLLD3PxM=";
pub(crate) const ORG2_PRIVACY: &str = "BSpQdzrI2Rdz8tyWYuEvDe/pFeQVuKHI4gpaPWqyuEM=";
pub(crate) const ORG4_PRIVACY: &str = "GKb4waf93yK9QQE4959ymM040dClQtQmbVVr6GCdiGI=";

/// A minimal valid configuration: three members, two EVM chains, lanes both ways.
pub(crate) const BASE: &str = r#"
[gateway]
organisation = "org1"
validator_key_file = "keys/validator.key"
privacy_key_file = "keys/privacy.key"
peer_listen = "0.0.0.0:7443"
tls = { cert_file = "tls/gateway.crt", key_file = "tls/gateway.key" }

[[members]]
name = "org1"
validator_address = "0x1a642f0e3c3af545e7acbd38b07251b3990914f1"
privacy_public_key = "e06Qm75//kTEZaIgA31gjuNYl9Me+XLwf3SJLLD3PxM="
peer_endpoint = "https://gateway.org1.example:7443"
tls = { ca_file = "tls/ca.crt" }

[[members]]
name = "org2"
validator_address = "0x5050a4f4b3f9338c3472dcc01a87c76a144b3c9c"
privacy_public_key = "BSpQdzrI2Rdz8tyWYuEvDe/pFeQVuKHI4gpaPWqyuEM="
peer_endpoint = "https://gateway.org2.example:7443"
tls = { ca_file = "tls/ca.crt" }

[[members]]
name = "org3"
validator_address = "0x3325a78425f17a7e487eb5666b2bfd93abb06c70"
privacy_public_key = "GX/CxWfcA+4qrfDthmgdrCTap26DylVYdd075zduUwY="
peer_endpoint = "https://gateway.org3.example:7443"
tls = { ca_file = "tls/ca.crt" }

[chains.evm-a]
domain = 1001
family = "evm"
chain_id = 1338
endpoints = ["http://127.0.0.1:8545"]
finality = { confirmations = 12 }
outbox = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
inbox = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
signer_key_files = ["keys/evm-a-signer.key"]

[chains.evm-b]
domain = 1002
family = "evm"
chain_id = 1339
endpoints = ["http://127.0.0.1:8546"]
finality = { tag = "finalized" }
outbox = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
inbox = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"

[lanes.evm-a-to-evm-b]
origin = "evm-a"
destination = "evm-b"
validators = ["org1", "org2", "org3"]
threshold = 2

[lanes.evm-b-to-evm-a]
origin = "evm-b"
destination = "evm-a"
validators = ["org1", "org2", "org3"]
threshold = 2
"#;

/// `text` with the one occurrence of `from` replaced by `to` (panics when `from` is absent or
/// ambiguous, so a test never passes because its edit silently did nothing).
pub(crate) fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "edit: `{from}` must occur exactly once"
    );
    text.replacen(from, to, 1)
}

/// A temporary gateway folder.
pub(crate) struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    /// A folder holding every file [`BASE`] names, key files with mode 0600.
    pub(crate) fn new() -> Fixture {
        let fixture = Fixture {
            dir: tempfile::tempdir().expect("temporary folder"),
        };
        fixture.secret("keys/validator.key", &validator_secret_hex(1));
        fixture.secret("keys/privacy.key", &privacy_secret_hex(1));
        fixture.secret("keys/evm-a-signer.key", &validator_secret_hex(9));
        fixture.secret(
            "tls/gateway.key",
            "-----BEGIN PRIVATE KEY-----\ndummy\n-----END PRIVATE KEY-----\n",
        );
        fixture.public("tls/gateway.crt");
        fixture.public("tls/ca.crt");
        fixture
    }

    /// The folder.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The absolute path of `rel` in the folder.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a secret file with mode 0600.
    pub(crate) fn secret(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.write(rel, contents);
        set_mode(&path, 0o600);
        path
    }

    /// Writes a (dummy PEM) public file.
    pub(crate) fn public(&self, rel: &str) -> PathBuf {
        self.write(
            rel,
            "-----BEGIN CERTIFICATE-----\ndummy\n-----END CERTIFICATE-----\n",
        )
    }

    /// Writes a public file with `contents`.
    pub(crate) fn file(&self, rel: &str, contents: &str) -> PathBuf {
        self.write(rel, contents)
    }

    fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("inside the folder")).expect("create folder");
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// Writes `toml` as `gateway.toml` in the folder and loads it with no environment.
    pub(crate) fn load(&self, toml: &str) -> Result<Config, ConfigError> {
        self.load_env(toml, &NoEnv)
    }

    /// Writes `toml` as `gateway.toml` in the folder and loads it with `env`.
    pub(crate) fn load_env(&self, toml: &str, env: &dyn Env) -> Result<Config, ConfigError> {
        let path = self.write("gateway.toml", toml);
        Config::load_with_env(path, env)
    }

    /// Loads `toml` and returns the single problem it must cause, checking its key and rule.
    pub(crate) fn one_problem(&self, toml: &str, key: &str, rule: Rule) -> ConfigError {
        let err = self
            .load(toml)
            .expect_err("the configuration must be refused");
        assert_eq!(
            err.problems().len(),
            1,
            "expected exactly one problem, got:\n{err}"
        );
        let problem = err.problems().first().expect("one");
        assert_eq!(problem.key(), Some(key), "wrong key in:\n{err}");
        assert_eq!(problem.rule(), Some(rule), "wrong rule in:\n{err}");
        err
    }
}

/// The problem with `key` among those of `err` (panics listing them all when absent).
pub(crate) fn problem<'e>(err: &'e ConfigError, key: &str) -> &'e ConfigError {
    err.problems()
        .iter()
        .find(|p| p.key() == Some(key))
        .unwrap_or_else(|| panic!("no problem at `{key}` in:\n{err}"))
}

#[cfg(unix)]
pub(crate) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
pub(crate) fn set_mode(_path: &Path, _mode: u32) {}
