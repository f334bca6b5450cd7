//! The subcommands of `causeway`, one module each.

#[cfg(feature = "devnet")]
pub(crate) mod bench;
#[cfg(feature = "devnet")]
pub(crate) mod bench_consortium;
#[cfg(feature = "devnet")]
pub(crate) mod bench_pipeline;
#[cfg(feature = "devnet")]
pub(crate) mod bundles;
mod chain;
pub(crate) mod config;
#[cfg(feature = "devnet")]
pub(crate) mod devnet;
#[cfg(feature = "devnet")]
mod devnet_anchor;
#[cfg(feature = "devnet")]
pub(crate) mod devnet_fisco;
pub(crate) mod init;
mod input;
pub(crate) mod keys;
pub(crate) mod logging;
pub(crate) mod progress;
pub(crate) mod run;
pub(crate) mod status;
pub(crate) mod status_anchors;
pub(crate) mod store;
pub(crate) mod token;
pub(crate) mod verify;
mod verify_anchored;
mod verify_disclosure;
mod verify_fisco;
mod verify_query;

/// How a command that ran to completion ended: exit code 0 or 1. Errors that kept it from
/// running at all (unreadable files, bad arguments) are `Err` and exit with 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything checked out.
    Success,
    /// The input was examined and rejected (e.g. a bundle that fails verification).
    Rejected,
}
