//! `causeway`: the command-line entry point of a Causeway gateway.
//!
//! Today it verifies proof bundles offline (`causeway verify`) and makes key files
//! (`causeway keys`); the gateway's HTTP API, peer protocol and pipeline wiring (`run`,
//! `devnet`, `send`, `status`, `bench`) arrive with the issues that build them.

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
    /// Measure the relayer end to end on local anvil chains.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Verify(args) => cli::verify::run(&args),
        Command::Keys(cmd) => cli::keys::run(&cmd).map(|()| cli::Outcome::Success),
        Command::Bench(cmd) => cli::bench::run(&cmd).map(|()| cli::Outcome::Success),
    };
    match outcome {
        Ok(cli::Outcome::Success) => ExitCode::SUCCESS,
        Ok(cli::Outcome::Rejected) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {}", cli::error_report(&err));
            ExitCode::from(2)
        }
    }
}
