//! Logging of the `causeway` binary: `tracing` events to standard error (standard output stays
//! the commands' own), as text for people or JSON lines for log collectors, filtered by
//! `--log-level` or else `RUST_LOG`.

use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event (timestamp, level, target, fields, spans).
    Json,
}

/// The level used when neither `--log-level` nor `RUST_LOG` says.
const DEFAULT_FILTER: &str = "info";

/// Installs the process's subscriber. `level`: the `--log-level` value, which wins over
/// `RUST_LOG`.
pub(crate) fn init(level: Option<&str>, format: LogFormat) -> Result<()> {
    let filter = match level {
        Some(level) => EnvFilter::try_new(level).with_context(|| {
            format!(
                "--log-level {level:?} is not a log filter: give a level (error, warn, info, \
                 debug, trace) or directives such as info,causeway_relayer=debug"
            )
        })?,
        None => match std::env::var(EnvFilter::DEFAULT_ENV) {
            Ok(text) => EnvFilter::try_new(&text).with_context(|| {
                format!(
                    "RUST_LOG={text:?} is not a log filter: unset it or give a level (error, \
                     warn, info, debug, trace)"
                )
            })?,
            Err(_) => EnvFilter::new(DEFAULT_FILTER),
        },
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
