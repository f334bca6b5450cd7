//! `causeway config check --config FILE`: loads the configuration and runs every startup check
//! `causeway run` would (files, keys, endpoints, contracts, validator sets on chain), reports
//! every problem at once and starts no work (as `hermes config validate` does).
//!
//! Exit codes: 0 when nothing keeps the gateway from starting (warnings allowed), 1 when
//! something does, 2 when the check could not run (e.g. an unreadable file).

use std::path::PathBuf;

use anyhow::{Context, Result};
use causeway_config::{Config, ConfigError};
use causeway_gateway::wiring;
use clap::{Args, Subcommand};

use super::Outcome;

/// `causeway config ...`
#[derive(Subcommand, Debug)]
pub(crate) enum ConfigCommand {
    /// Check a configuration as `causeway run` would at startup, without starting work: the
    /// file and key files, every chain endpoint (reachable, right chain id), the contracts
    /// (Causeway code, configured domain), Fabric peers and chaincodes, and each lane's
    /// validator set on its destination. Prints every problem; exit 0 clean, 1 problems found,
    /// 2 could not run.
    Check(CheckArgs),
}

/// Arguments of `causeway config check`.
#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// The gateway's configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

/// Runs a config subcommand.
pub(crate) fn run(cmd: &ConfigCommand) -> Result<Outcome> {
    match cmd {
        ConfigCommand::Check(args) => check(args),
    }
}

fn check(args: &CheckArgs) -> Result<Outcome> {
    let shown = args.config.display();
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(e @ ConfigError::Read { .. }) => return Err(e.into()),
        Err(e) => {
            let problems = e.problems();
            for problem in problems {
                println!("error: {problem}");
            }
            println!(
                "{shown}: {} problem(s) in the file; fix them first (chains were not checked)",
                problems.len()
            );
            return Ok(Outcome::Rejected);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    let report = runtime.block_on(wiring::check(&config));
    for problem in report.errors() {
        println!("error: {problem}");
    }
    for problem in report.warnings() {
        println!("warning: {problem}");
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    let checked = format!(
        "{} chain(s), {} lane(s)",
        config.chains().len(),
        config.lanes().len()
    );
    if errors == 0 {
        println!("{shown}: OK ({checked} checked, {warnings} warning(s))");
        Ok(Outcome::Success)
    } else {
        println!(
            "{shown}: {errors} problem(s) keep the gateway from starting, {warnings} warning(s) \
             ({checked} checked)"
        );
        Ok(Outcome::Rejected)
    }
}
