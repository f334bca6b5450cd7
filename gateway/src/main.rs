//! `causeway`: the command-line entry point of a Causeway gateway.
//!
//! It verifies proof bundles offline (`causeway verify`, EVM and Fabric native proofs
//! included), makes key files (`causeway keys`), repairs a relayer's store after a
//! reorganisation (`causeway store rollback`) and measures the relayer end to end on local
//! anvil chains (`causeway bench relay`). The gateway's HTTP API, peer protocol and pipeline
//! wiring (`run`, `devnet`, `send`, `status`) are not commands yet.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Causeway: a privacy-preserving cross-chain gateway and relayer.
#[derive(Parser, Debug)]
#[command(name = "causeway", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify a proof bundle offline: message, inclusion proof, checkpoint and signatures.
    Verify(cli::verify::VerifyArgs),
    /// Generate and inspect key files (validator and privacy keys).
    #[command(subcommand)]
    Keys(cli::keys::KeysCommand),
    /// Inspect and repair a relayer's store (roll a source cursor back after a reorganisation).
    #[command(subcommand)]
    Store(cli::store::StoreCommand),
    /// Measure the relayer end to end on local anvil chains.
    #[cfg(feature = "devnet")]
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Verify(args) => cli::verify::run(&args),
        Command::Keys(cmd) => cli::keys::run(&cmd).map(|()| cli::Outcome::Success),
        Command::Store(cmd) => cli::store::run(&cmd),
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
