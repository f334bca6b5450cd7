//! `causeway`: the command-line entry point of a Causeway gateway.
//!
//! It runs an organisation's gateway (`causeway run`, every role in one process: the
//! `causeway_gateway` library's `node`), a whole local consortium (`causeway devnet`), checks a
//! configuration against its chains (`causeway config check`) and reports a gateway's state
//! (`causeway status`); it verifies proof bundles and equivocation evidence offline (`causeway
//! verify`), makes key files and gateway folders (`causeway keys`, `causeway init`), repairs a
//! store after a reorganisation (`causeway store rollback`) and measures the relayer and the
//! consortium (`causeway bench relay`, `causeway bench consortium`); `causeway token` makes the
//! HTTP API's bearer tokens. `send` is not a command yet (the API issue). Every command logs through `tracing` to standard error (`--log-level`,
//! `--log-format`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// The environment variables `causeway` reads, shown by `causeway --help`.
const ENVIRONMENT: &str = "\
Environment:
  RUST_LOG                               log filter when --log-level is not given
  A configuration's secrets and endpoints (instead of the file's values; see
  config/examples/gateway.toml):
  CAUSEWAY_VALIDATOR_KEY_FILE            gateway.validator_key_file
  CAUSEWAY_PRIVACY_KEY_FILE              gateway.privacy_key_file
  CAUSEWAY_TLS_KEY_FILE                  gateway.tls.key_file
  CAUSEWAY_API_TLS_KEY_FILE              api.tls.key_file
  CAUSEWAY_POSTGRES_URL                  storage.postgres_url (may hold the password)
  CAUSEWAY_POSTGRES_PASSWORD_FILE        storage.postgres_password_file
  CAUSEWAY_CHAIN_<NAME>_SIGNER_KEY_FILE  chains.<name>.signer_key_files (':'-separated)
  CAUSEWAY_CHAIN_<NAME>_ENDPOINTS        chains.<name>.endpoints (','-separated)
                                         (<NAME>: the chain name upper-cased, '-' as '_')
  devnet and bench:
  CAUSEWAY_ANVIL                         the anvil binary (default: .tools/ of the project
                                         folder, then PATH; scripts/setup.sh installs it)
  CAUSEWAY_CONTRACT_ARTIFACTS            another contract artifacts folder (default: the
                                         artifacts compiled into this binary)
  CAUSEWAY_DEVNET_FAULT=equivocate       tests only: `run` signs two roots per checkpoint (a
                                         faulty validator; devnet builds only)";

/// Causeway: a privacy-preserving cross-chain gateway and relayer.
///
/// Logs go to standard error (--log-level, --log-format).
#[derive(Parser, Debug)]
#[command(
    name = "causeway",
    version,
    about,
    long_about,
    propagate_version = true,
    after_long_help = ENVIRONMENT
)]
struct Cli {
    /// Log level (error, warn, info, debug, trace), or a filter such as
    /// `info,causeway_relayer=debug`. Default: RUST_LOG if set, else `info`.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    /// Log format: `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = cli::logging::LogFormat::Text)]
    log_format: cli::logging::LogFormat,
    /// No progress (bars on a terminal, progress lines otherwise) from the long commands
    /// (devnet, bench, run's catch-up); results and errors are still printed.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Set up one organisation's gateway folder: keys (0600), a TLS certificate request or a
    /// self-signed certificate, and a configuration to fill in. Never overwrites.
    Init(cli::init::InitArgs),
    /// Run this organisation's gateway: every role (watch, verify, log, attest, peer, deliver,
    /// confirm) in one process. Checks every chain, contract, key and validator set first and
    /// refuses to start, listing every problem, when one is wrong. SIGTERM or Ctrl-C drains
    /// work in progress and exits 0.
    Run(cli::run::RunArgs),
    /// Check a configuration without starting work (`config check --config FILE`): files,
    /// keys, endpoints, contracts and validator sets on chain; every problem at once.
    #[command(subcommand)]
    Config(cli::config::ConfigCommand),
    /// Report what this gateway has done and where it stands (read-only, beside the running
    /// gateway): per lane log, checkpoints, signatures, backlog, deliveries and dead letters;
    /// per chain head, final height and lag; peers reachable now. `--json` for scripts.
    Status(cli::status::StatusArgs),
    /// Verify a proof bundle offline: message, inclusion proof, checkpoint and signatures.
    Verify(cli::verify::VerifyArgs),
    /// Generate and inspect key files (validator and privacy keys).
    #[command(subcommand)]
    Keys(cli::keys::KeysCommand),
    /// Bearer tokens for the HTTP API: create (printed once, stored as a hash), list, revoke.
    /// Works while the gateway runs.
    #[command(subcommand)]
    Token(cli::token::TokenCommand),
    /// Inspect and repair a relayer's store (roll a source cursor back after a reorganisation).
    #[command(subcommand)]
    Store(cli::store::StoreCommand),
    /// A whole consortium on this machine: two anvil chains and three member gateways
    /// (`causeway run` each, 2 of 3 over mutual TLS) sending messages both ways. `--messages N`
    /// exits 0 once N per lane are delivered and verified; otherwise it runs until Ctrl-C.
    #[cfg(feature = "devnet")]
    Devnet(cli::devnet::DevnetArgs),
    /// Measure the relayer end to end on local anvil chains.
    #[cfg(feature = "devnet")]
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::progress::set_quiet(cli.quiet);
    if let Err(err) = cli::logging::init(cli.log_level.as_deref(), cli.log_format) {
        eprintln!("error: {err:#}");
        return ExitCode::from(2);
    }
    let outcome = match cli.command {
        Command::Init(args) => cli::init::run(&args).map(|()| cli::Outcome::Success),
        Command::Run(args) => cli::run::run(&args).map(|()| cli::Outcome::Success),
        Command::Config(cmd) => cli::config::run(&cmd),
        Command::Status(args) => cli::status::run(&args),
        Command::Verify(args) => cli::verify::run(&args),
        Command::Keys(cmd) => cli::keys::run(&cmd).map(|()| cli::Outcome::Success),
        Command::Store(cmd) => cli::store::run(&cmd),
        Command::Token(cmd) => cli::token::run(&cmd),
        #[cfg(feature = "devnet")]
        Command::Devnet(args) => cli::devnet::run(&args).map(|()| cli::Outcome::Success),
        #[cfg(feature = "devnet")]
        Command::Bench(cmd) => cli::bench::run(&cmd).map(|()| cli::Outcome::Success),
    };
    match outcome {
        Ok(cli::Outcome::Success) => ExitCode::SUCCESS,
        Ok(cli::Outcome::Rejected) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
