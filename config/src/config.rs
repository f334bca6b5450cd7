//! [`Config`]: the loaded, validated configuration and its accessors.

use std::path::{Path, PathBuf};

use causeway_proofs::{Domain, EvmAddress};

use crate::env::{Env, ProcessEnv};
use crate::error::ConfigError;
use crate::model::{Anchoring, Api, Chain, Gateway, Lane, Member, Monitoring, Relaying, Storage};

/// The whole configuration of one gateway, validated. Obtain it with [`Config::load`] (or
/// [`Config::load_with_env`] / [`Config::from_toml_str`]); every value in it has passed the
/// checks listed in the crate documentation, and every path in it is absolute.
///
/// `Debug` is safe to log: it holds no secret (only paths to key files), and the PostgreSQL
/// URL and endpoint URLs print without credentials.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) file: PathBuf,
    pub(crate) gateway: Gateway,
    pub(crate) members: Vec<Member>,
    pub(crate) chains: Vec<Chain>,
    pub(crate) lanes: Vec<Lane>,
    pub(crate) anchors: Vec<Anchoring>,
    pub(crate) api: Api,
    pub(crate) storage: Storage,
    pub(crate) monitoring: Monitoring,
    pub(crate) relaying: Relaying,
}

impl Config {
    /// Reads, parses and validates the file at `path`, with overrides from the process
    /// environment (see [`crate::env`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Config::load_with_env(path, &ProcessEnv)
    }

    /// [`Config::load`] with overrides read from `env` instead of the process environment.
    pub fn load_with_env(path: impl AsRef<Path>, env: &dyn Env) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = read_config_text(path).map_err(|source| ConfigError::Read {
            file: path.to_owned(),
            source,
        })?;
        Config::from_toml_str(&text, path, env)
    }

    /// Parses and validates `text` as if read from `origin`: errors name `origin`, and relative
    /// paths are resolved against its folder.
    pub fn from_toml_str(
        text: &str,
        origin: impl AsRef<Path>,
        env: &dyn Env,
    ) -> Result<Config, ConfigError> {
        crate::load::from_toml_str(text, origin.as_ref(), env)
    }

    /// The file this configuration was loaded from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// This gateway's own settings.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// This gateway's own organisation among the members.
    pub fn own_member(&self) -> &Member {
        self.member(&self.gateway.organisation)
            .expect("validation checked that gateway.organisation names a member")
    }

    /// All members, in file order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member named `name`.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The member whose validator address is `address`.
    pub fn member_by_validator(&self, address: &EvmAddress) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| &m.validator_address == address)
    }

    /// All chains, sorted by name.
    pub fn chains(&self) -> &[Chain] {
        &self.chains
    }

    /// The chain named `name`.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// The chain with domain `domain`.
    pub fn chain_by_domain(&self, domain: Domain) -> Option<&Chain> {
        self.chains.iter().find(|c| c.domain == domain)
    }

    /// All lanes, sorted by name.
    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }

    /// The `[anchors.*]` entries: origins anchored on a public chain.
    pub fn anchors(&self) -> &[Anchoring] {
        &self.anchors
    }

    /// The lane named `name`.
    pub fn lane(&self, name: &str) -> Option<&Lane> {
        self.lanes.iter().find(|l| l.name == name)
    }

    /// The lane from `origin` to `destination`, if one is configured.
    pub fn lane_between(&self, origin: Domain, destination: Domain) -> Option<&Lane> {
        self.lanes
            .iter()
            .find(|l| l.origin.domain == origin && l.destination.domain == destination)
    }

    /// The lanes whose messages come from `origin`.
    pub fn lanes_from(&self, origin: Domain) -> impl Iterator<Item = &Lane> {
        self.lanes.iter().filter(move |l| l.origin.domain == origin)
    }

    /// The lanes whose messages go to `destination`.
    pub fn lanes_to(&self, destination: Domain) -> impl Iterator<Item = &Lane> {
        self.lanes
            .iter()
            .filter(move |l| l.destination.domain == destination)
    }

    /// The HTTP API settings.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The storage settings.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The monitoring settings.
    pub fn monitoring(&self) -> &Monitoring {
        &self.monitoring
    }

    /// The `[relayer]` settings (defaults when the section is absent).
    pub fn relaying(&self) -> &Relaying {
        &self.relaying
    }
}

/// Largest configuration file read (a consortium's configuration is a few kilobytes).
const MAX_CONFIG_FILE_LEN: u64 = 16 * 1024 * 1024;

/// The text of the configuration file: a regular file (a FIFO or `/dev/zero` is refused
/// unread) of at most [`MAX_CONFIG_FILE_LEN`] bytes.
fn read_config_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    crate::keyfile::open_regular_file(path)?
        .take(MAX_CONFIG_FILE_LEN + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_FILE_LEN {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than the {MAX_CONFIG_FILE_LEN} bytes accepted for a configuration"),
        ));
    }
    Ok(text)
}
