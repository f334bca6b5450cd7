//! Integration tests of the `causeway` binary: the committed sample bundle and the CLI's
//! verdicts, exit codes and key files.
#![allow(clippy::unwrap_used)]

mod api;
mod api_schemathesis;
// `causeway bench` exists only in builds with the `devnet` feature (the default).
#[cfg(feature = "devnet")]
mod bench;
mod config_check;
mod config_check_fabric;
#[cfg(feature = "devnet")]
mod config_check_fisco;
#[cfg(feature = "devnet")]
mod consortium;
#[cfg(feature = "devnet")]
mod devnet;
mod evidence;
mod evm_source;
mod fabric_bundles;
// Three `causeway run` processes between a FISCO BCOS test node and anvil.
#[cfg(feature = "devnet")]
mod fisco_consortium;
mod help;
mod init;
mod keys;
mod logging;
// A real consortium scraped by promtool and a real Prometheus server (uses consortium's helpers).
#[cfg(feature = "devnet")]
mod metrics;
mod sample;
mod status;
mod store;
mod support;
mod token;
mod verify;
mod wiring_relay;
