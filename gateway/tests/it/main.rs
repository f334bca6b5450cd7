//! Integration tests of the `causeway` binary: the committed sample bundle and the CLI's
//! verdicts, exit codes and key files.
#![allow(clippy::unwrap_used)]

// Public anchoring, asserted inside the consortium test.
#[cfg(feature = "devnet")]
mod anchoring;
mod api;
mod api_schemathesis;
mod api_send;
// A member without a signer key for a chain attests and leaves delivering to the others.
#[cfg(feature = "devnet")]
mod attest_only;
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
mod dispatch_origins;
mod dispatcher;
mod evidence;
mod evm_source;
mod fabric_bundles;
mod fisco_bundles;
// Three `causeway run` processes between a FISCO BCOS test node and anvil.
#[cfg(feature = "devnet")]
mod fisco_consortium;
mod help;
mod init;
mod keys;
mod logging;
// Progress of the long commands on and off a terminal (runs `causeway devnet`).
#[cfg(feature = "devnet")]
mod progress;
// A real consortium scraped by promtool and a real Prometheus server (uses consortium's helpers).
#[cfg(feature = "devnet")]
mod metrics;
mod private_messages;
mod private_recipient;
mod queries;
// Two replicas of one member's gateway on PostgreSQL beside two members on SQLite (issue 15).
#[cfg(feature = "devnet")]
mod replicas;
mod sample;
// Three `causeway run` processes sending from Fabric and FISCO BCOS origins through the API.
#[cfg(feature = "devnet")]
mod send_origins;
mod status;
mod store;
mod support;
mod token;
// The status page in headless Chromium against a running consortium (consortium's helpers).
#[cfg(feature = "devnet")]
mod ui_browser;
mod verify;
mod wiring_relay;
