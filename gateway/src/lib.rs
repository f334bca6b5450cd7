//! `causeway-gateway`: the service behind the `causeway` binary.
//!
//! The binary (`src/main.rs` and its `cli/` modules) parses arguments and prints; everything a
//! running gateway is made of lives here so that it can be started and tested in-process.
//! Today that is [`wiring`]: the one place that turns a validated
//! [`causeway_config::Config`] into chain adapters, relayer origins and lanes, after checking
//! every chain, contract, key and validator set the configuration names.

pub mod wiring;
