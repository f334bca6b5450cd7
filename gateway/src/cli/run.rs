//! `causeway run --config FILE`: this organisation's gateway, every role in one process
//! ([`causeway_gateway::node::Node`]). Startup checks everything the configuration names and
//! refuses, listing every problem, before any work is accepted. SIGTERM or SIGINT (Ctrl-C)
//! drains: the pipeline stops at a safe point (everything accepted is in the store, submissions
//! in flight are followed again on the next start) and the process exits 0.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use causeway_config::{Config, ConfigError};
use causeway_gateway::node::{Node, NodeOptions};
use causeway_proofs::Domain;
use causeway_relayer::pipeline::PipelineMetricsReader;
use causeway_relayer::store::Store;

use super::progress::{self, Mode, Progress};

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
    let mut node = Node::start(config, NodeOptions::from_config(config)).await?;
    let chains = config
        .chains()
        .iter()
        .map(|c| (c.name.clone(), c.domain))
        .collect();
    let catching_up = tokio::spawn(catch_up(
        chains,
        node.relayer().metrics_reader(),
        Arc::clone(node.store()),
    ));
    // A task of the gateway that dies takes the gateway down (non-zero exit), as a fatal error
    // at start does: a service manager restarts it, and it resumes from the store.
    let stopped = tokio::select! {
        signal = stop_signal() => Ok(signal?),
        died = node.died() => Err(died),
    };
    catching_up.abort();
    match stopped {
        Ok(signal) => {
            tracing::info!(signal, "stopping: draining work in progress");
            node.shutdown().await?;
            tracing::info!("stopped");
            Ok(())
        }
        Err(died) => {
            tracing::error!(task = %died.task, "stopping: a gateway task died; draining work in progress");
            if let Err(e) = node.shutdown().await {
                tracing::warn!(error = %format!("{e:#}"), "stopping after a task died");
            }
            Err(died.into())
        }
    }
}

/// How often the catch-up is looked at.
const CATCH_UP_POLL: Duration = Duration::from_secs(1);
/// How often a catch-up line is logged when standard error is not a terminal.
const CATCH_UP_LINE_EVERY: Duration = Duration::from_secs(10);

/// Shows the start-up catch-up until every watched chain's cursor reached its final height: a
/// bar on a terminal, an `info` log line every [`CATCH_UP_LINE_EVERY`] otherwise (a log line,
/// not a bare one, so `--log-format json` stays JSON), nothing with `--quiet`.
async fn catch_up(
    chains: Vec<(String, Domain)>,
    reader: PipelineMetricsReader,
    store: Arc<dyn Store>,
) {
    let mode = progress::mode();
    if mode == Mode::Quiet {
        return;
    }
    let mut from: HashMap<Domain, u64> = HashMap::new();
    let mut bar: Option<Progress> = None;
    let mut logged: Option<Instant> = None;
    loop {
        tokio::time::sleep(CATCH_UP_POLL).await;
        let snapshot = reader.snapshot();
        // A halted watcher does not catch up; the gateway's log says why.
        let halted = reader.halted_origins();
        let origins: Vec<(String, Domain, u64)> = chains
            .iter()
            .filter(|(_, d)| !halted.contains(d))
            .filter_map(|(name, d)| {
                let o = snapshot.origins.get(d)?;
                Some((name.clone(), *d, o.final_height))
            })
            .collect();
        let s = Arc::clone(&store);
        let domains: Vec<Domain> = origins.iter().map(|(_, d, _)| *d).collect();
        let cursors = tokio::task::spawn_blocking(move || {
            domains
                .iter()
                .map(|d| s.cursor(*d).ok().flatten().map_or(0, |c| c.block_number))
                .collect::<Vec<u64>>()
        })
        .await
        .unwrap_or_default();
        let (mut total, mut done, mut known) = (0u64, 0u64, true);
        let mut behind = Vec::new();
        for ((name, domain, final_height), cursor) in origins.iter().zip(cursors) {
            if *final_height == 0 {
                // The watcher has not read the chain yet.
                known = false;
                continue;
            }
            let start = *from.entry(*domain).or_insert(cursor.min(*final_height));
            total += final_height.saturating_sub(start);
            done += cursor.min(*final_height).saturating_sub(start);
            if cursor < *final_height {
                behind.push(format!("{name} block {cursor} of {final_height}"));
            }
        }
        if known && behind.is_empty() {
            if let Some(bar) = bar.take() {
                bar.finish("caught up with every chain's final height");
            } else if logged.is_some() {
                tracing::info!("caught up with every chain's final height");
            }
            return;
        }
        let what = format!("catching up: {}", behind.join(", "));
        match mode {
            Mode::Bar if total > 0 => {
                let bar = bar.get_or_insert_with(|| Progress::new(total, CATCH_UP_POLL));
                bar.set_total(total);
                bar.set(done, what);
            }
            Mode::Lines
                if !behind.is_empty()
                    && logged.is_none_or(|t| t.elapsed() >= CATCH_UP_LINE_EVERY) =>
            {
                tracing::info!(behind = %behind.join(", "), "catching up with the chains");
                logged = Some(Instant::now());
            }
            _ => {}
        }
    }
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
