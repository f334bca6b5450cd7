//! Real `anvil` nodes on free loopback ports, killed when their handle is dropped.
//!
//! The binary is the pinned npm package `@foundry-rs/anvil-linux-amd64` that `scripts/setup.sh`
//! installs into the project's `.tools/`; it is found at `$CAUSEWAY_ANVIL`, else in the `.tools/`
//! of the project folder ([`workspace_root`]: no path of the build checkout is compiled in), else
//! on `PATH`. Each node listens on `127.0.0.1` with a port the OS
//! picks (`--port 0`, read back from anvil's "Listening on" line), so tests running in parallel
//! never collide and never talk to a chain they did not start.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::Signer;
use alloy::signers::local::PrivateKeySigner;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{Error, Result};

/// Environment variable that overrides the anvil binary's location.
pub const ANVIL_ENV: &str = "CAUSEWAY_ANVIL";
/// Where `scripts/setup.sh` installs anvil, relative to the workspace root.
pub const ANVIL_RELATIVE_PATH: &str = ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
/// How long anvil may take to report that it listens.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// The project folder a Causeway checkout's tools live in: the first of the current directory,
/// its ancestors, then the running executable's folder and its ancestors (a binary built in a
/// checkout sits in its `target/`) that holds a `.tools/` folder; else the first that holds the
/// workspace's `Cargo.toml` with `contracts/`; else the current directory. Found at run time,
/// never compiled in, so a binary moved to another machine does not look in the build's folder.
pub fn workspace_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let exe = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    let candidates: Vec<PathBuf> = cwd
        .ancestors()
        .chain(exe.iter().flat_map(|e| e.ancestors()))
        .map(Path::to_path_buf)
        .collect();
    candidates
        .iter()
        .find(|dir| dir.join(".tools").is_dir())
        .or_else(|| {
            candidates
                .iter()
                .find(|dir| dir.join("Cargo.toml").is_file() && dir.join("contracts").is_dir())
        })
        .cloned()
        .unwrap_or(cwd)
}

/// The anvil binary: `$CAUSEWAY_ANVIL` if set, else [`ANVIL_RELATIVE_PATH`] under
/// [`workspace_root`] when it is there, else `anvil` on `PATH`; when none exists, the path under
/// the project folder (so the error names the setup script).
pub fn anvil_path() -> PathBuf {
    match std::env::var_os(ANVIL_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            let local = workspace_root().join(ANVIL_RELATIVE_PATH);
            if local.is_file() {
                return local;
            }
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|dir| dir.join("anvil"))
                .find(|p| p.is_file())
                .unwrap_or(local)
        }
    }
}

/// How a node produces blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mining {
    /// One block per transaction, immediately (anvil's default; fastest for tests).
    #[default]
    Automine,
    /// A block every interval (`--block-time`), whether or not transactions are pending.
    Interval(Duration),
    /// No blocks until `evm_mine` / `anvil_mine` (`--no-mining`), for same-block races.
    Manual,
}

/// What to start: chain id, mining mode, and any extra anvil arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnvilConfig {
    /// The EIP-155 chain id (`--chain-id`).
    pub chain_id: u64,
    /// Block production.
    pub mining: Mining,
    /// `--slots-in-an-epoch`; 1 makes block `head - 2` the `finalized` block, so finality tests
    /// need only a few blocks.
    pub slots_in_an_epoch: u64,
    /// Further arguments passed verbatim (e.g. `--gas-limit`, `--fork-url`).
    pub extra_args: Vec<String>,
}

impl AnvilConfig {
    /// Chain `chain_id`, automine, one slot per epoch, no extra arguments.
    pub fn new(chain_id: u64) -> Self {
        AnvilConfig {
            chain_id,
            mining: Mining::Automine,
            slots_in_an_epoch: 1,
            extra_args: Vec::new(),
        }
    }

    /// The same configuration with another mining mode.
    pub fn with_mining(mut self, mining: Mining) -> Self {
        self.mining = mining;
        self
    }

    /// The same configuration with one more verbatim argument.
    pub fn with_arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// The command-line arguments for this configuration.
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--host".to_owned(),
            "127.0.0.1".to_owned(),
            "--port".to_owned(),
            "0".to_owned(),
            "--chain-id".to_owned(),
            self.chain_id.to_string(),
            "--slots-in-an-epoch".to_owned(),
            self.slots_in_an_epoch.to_string(),
        ];
        match self.mining {
            Mining::Automine => {}
            Mining::Interval(d) => {
                args.push("--block-time".to_owned());
                args.push(format!("{}", d.as_secs_f64()));
            }
            Mining::Manual => args.push("--no-mining".to_owned()),
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// A running anvil node. Dropping it kills the process.
#[derive(Debug)]
pub struct AnvilNode {
    /// The child process, killed on drop (`kill_on_drop`).
    _child: Child,
    /// Where anvil persists the states it no longer keeps in memory (`--cache-path`), removed
    /// when the node is dropped, after the process. anvil's default is a new folder under
    /// `~/.foundry/anvil/tmp/` per run, which a killed anvil never removes: the tests' nodes
    /// left tens of GiB there on one machine.
    cache: tempfile::TempDir,
    port: u16,
    chain_id: u64,
    dev_keys: Vec<PrivateKeySigner>,
}

impl AnvilNode {
    /// Starts anvil as `config` says, with the binary at [`anvil_path`].
    pub async fn spawn(config: &AnvilConfig) -> Result<Self> {
        Self::spawn_at(&anvil_path(), config).await
    }

    /// Starts the anvil binary at `path` as `config` says, and waits until it listens.
    pub async fn spawn_at(path: &Path, config: &AnvilConfig) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::AnvilNotFound {
                path: path.to_path_buf(),
            });
        }
        let cache = tempfile::Builder::new()
            .prefix("causeway-anvil-")
            .tempdir()
            .map_err(|source| Error::AnvilSpawn {
                path: path.to_path_buf(),
                source,
            })?;
        let mut child = Command::new(path)
            .args(config.args())
            .arg("--cache-path")
            .arg(cache.path())
            .env("NO_COLOR", "1")
            .env("FOUNDRY_DISABLE_NIGHTLY_WARNING", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| Error::AnvilSpawn {
                path: path.to_path_buf(),
                source,
            })?;
        let (stdout, stderr) = match (child.stdout.take(), child.stderr.take()) {
            (Some(o), Some(e)) => (o, e),
            _ => {
                return Err(Error::AnvilStartup {
                    reason: "no stdout/stderr pipe".to_owned(),
                    output: String::new(),
                });
            }
        };
        let mut lines = BufReader::new(stdout).lines();
        let mut output = String::new();
        let startup = async {
            let mut keys = Vec::new();
            let mut in_keys = false;
            loop {
                let line = match lines.next_line().await {
                    Ok(Some(line)) => line,
                    Ok(None) => return Err("anvil exited".to_owned()),
                    Err(e) => return Err(format!("unreadable output: {e}")),
                };
                output.push_str(&line);
                output.push('\n');
                if let Some(addr) = line.trim().strip_prefix("Listening on") {
                    let port = addr
                        .trim()
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.parse::<u16>().ok())
                        .ok_or_else(|| format!("cannot parse listening address {addr:?}"))?;
                    return Ok((port, keys));
                }
                let trimmed = line.trim();
                if trimmed.starts_with("Private Keys") {
                    in_keys = true;
                } else if in_keys && trimmed.starts_with('(') {
                    let hex = trimmed.rsplit(' ').next().unwrap_or_default();
                    let key: PrivateKeySigner = hex
                        .parse()
                        .map_err(|e| format!("cannot parse dev key {hex:?}: {e}"))?;
                    keys.push(key.with_chain_id(Some(config.chain_id)));
                } else if in_keys && !trimmed.is_empty() && !trimmed.starts_with('=') {
                    in_keys = false;
                }
            }
        };
        let outcome = tokio::time::timeout(STARTUP_TIMEOUT, startup).await;
        let (port, dev_keys) = match outcome {
            Ok(Ok(found)) => found,
            Ok(Err(reason)) => {
                let mut output = output;
                append_stderr(stderr, &mut output).await;
                return Err(Error::AnvilStartup { reason, output });
            }
            Err(_) => {
                return Err(Error::AnvilStartup {
                    reason: format!("no \"Listening on\" line within {STARTUP_TIMEOUT:?}"),
                    output,
                });
            }
        };
        // Keep reading both pipes so anvil never blocks on (or dies from) a full or closed pipe.
        tokio::spawn(drain(lines));
        tokio::spawn(drain(BufReader::new(stderr).lines()));
        Ok(AnvilNode {
            _child: child,
            cache,
            port,
            chain_id: config.chain_id,
            dev_keys,
        })
    }

    /// The folder anvil persists old states in (removed with the node).
    pub fn cache_dir(&self) -> &Path {
        self.cache.path()
    }

    /// The port anvil listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The chain id it was started with.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The HTTP JSON-RPC endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The HTTP JSON-RPC endpoint as a URL.
    pub fn endpoint_url(&self) -> alloy::transports::http::reqwest::Url {
        // A loopback address and a port always form a valid URL.
        self.endpoint()
            .parse()
            .expect("http://127.0.0.1:<port> is a valid URL")
    }

    /// The funded developer accounts anvil created (10 by default, 10 000 ETH each), in order.
    pub fn dev_keys(&self) -> &[PrivateKeySigner] {
        &self.dev_keys
    }

    /// The address of dev account `index`.
    pub fn dev_address(&self, index: usize) -> Option<Address> {
        self.dev_keys.get(index).map(PrivateKeySigner::address)
    }

    /// A provider that signs with dev account `index` by default and can sign for every dev
    /// account (pick one with the transaction's `from`).
    pub fn provider(&self, index: usize) -> DynProvider {
        let mut wallet = None::<EthereumWallet>;
        let chosen = self.dev_keys.get(index).cloned();
        for key in chosen.into_iter().chain(self.dev_keys.iter().cloned()) {
            match wallet.as_mut() {
                None => wallet = Some(EthereumWallet::new(key)),
                Some(w) => w.register_signer(key),
            }
        }
        match wallet {
            Some(w) => self.signing_provider(w),
            None => self.read_provider(),
        }
    }

    /// A provider that signs with `signer` (which must be funded to send transactions).
    pub fn provider_with(&self, signer: PrivateKeySigner) -> DynProvider {
        self.signing_provider(EthereumWallet::new(
            signer.with_chain_id(Some(self.chain_id)),
        ))
    }

    /// A provider that fills gas (estimated), the nonce and the chain id, and signs with
    /// `wallet`.
    ///
    /// The nonce is read from the node for every transaction (alloy's "simple" nonce manager),
    /// not cached: tests send many transactions that are rejected during gas estimation, and a
    /// cached nonce would be consumed by each, leaving a gap that stalls every later one.
    fn signing_provider(&self, wallet: EthereumWallet) -> DynProvider {
        ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .with_chain_id(self.chain_id)
            .wallet(wallet)
            .connect_http(self.endpoint_url())
            .erased()
    }

    /// A provider without a wallet, for reads.
    pub fn read_provider(&self) -> DynProvider {
        ProviderBuilder::new()
            .connect_http(self.endpoint_url())
            .erased()
    }
}

/// Reads and discards lines until the pipe closes.
async fn drain<R: tokio::io::AsyncBufRead + Unpin>(mut lines: tokio::io::Lines<R>) {
    while let Ok(Some(_)) = lines.next_line().await {}
}

/// Appends what anvil wrote to stderr (it has exited, so this ends) for an error message.
async fn append_stderr(stderr: tokio::process::ChildStderr, output: &mut String) {
    let mut lines = BufReader::new(stderr).lines();
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            output.push_str(&line);
            output.push('\n');
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_follow_the_configuration() {
        let args = AnvilConfig::new(31338)
            .with_mining(Mining::Interval(Duration::from_millis(500)))
            .with_arg("--gas-limit")
            .with_arg("100000000")
            .args();
        let joined = args.join(" ");
        assert!(joined.contains("--port 0"), "{joined}");
        assert!(joined.contains("--chain-id 31338"), "{joined}");
        assert!(joined.contains("--slots-in-an-epoch 1"), "{joined}");
        assert!(joined.contains("--block-time 0.5"), "{joined}");
        assert!(joined.ends_with("--gas-limit 100000000"), "{joined}");
        assert!(
            AnvilConfig::new(1)
                .with_mining(Mining::Manual)
                .args()
                .contains(&"--no-mining".to_owned())
        );
    }

    #[test]
    fn the_binary_is_found_in_the_project_folder_found_at_run_time() {
        if std::env::var_os(ANVIL_ENV).is_none() {
            assert_eq!(anvil_path(), workspace_root().join(ANVIL_RELATIVE_PATH));
        }
        // Tests run in the crate's folder: its parent is the project folder.
        let root = workspace_root();
        assert!(root.join("Cargo.toml").is_file(), "{}", root.display());
        assert!(root.join("devnet").is_dir(), "{}", root.display());
    }
}
