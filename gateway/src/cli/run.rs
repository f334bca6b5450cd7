//! `causeway run --config FILE`: this organisation's gateway, every role in one process
//! ([`causeway_gateway::node::Node`]). Startup checks everything the configuration names and
//! refuses, listing every problem, before any work is accepted. SIGTERM or SIGINT (Ctrl-C)
//! drains: the pipeline stops at a safe point (everything accepted is in the store, submissions
//! in flight are followed again on the next start) and the process exits 0.

use std::path::PathBuf;

use anyhow::{Context, Result};
use causeway_config::{Config, ConfigError};
use causeway_gateway::node::{Node, NodeOptions};

/// Arguments of `causeway run`.
#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    /// The gateway's configuration file (see config/examples/gateway.toml; `causeway init`
    /// writes one to fill in).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

pub(crate) fn run(args: &RunArgs) -> Result<()> {
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(e @ ConfigError::Read { .. }) => return Err(e.into()),
        Err(e) => {
            for problem in e.problems() {
                eprintln!("error: {problem}");
            }
            anyhow::bail!(
                "{}: {} problem(s) in the configuration (each is listed above); `causeway config \
                 check --config {}` checks it without starting",
                args.config.display(),
                e.problems().len(),
                args.config.display()
            );
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    runtime.block_on(serve(&config))
}

async fn serve(config: &Config) -> Result<()> {
    let node = Node::start(config, NodeOptions::from_config(config)).await?;
    let signal = stop_signal().await?;
    tracing::info!(signal, "stopping: draining work in progress");
    node.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGTERM or SIGINT; returns its name.
async fn stop_signal() -> Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term =
        signal(SignalKind::terminate()).context("while installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("while installing the SIGINT handler")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
