//! `causeway-gateway`: the service behind the `causeway` binary.
//!
//! The binary (`src/main.rs` and its `cli/` modules) parses arguments and prints; everything a
//! running gateway is made of lives here so that it can be started and tested in-process.
//! - [`wiring`]: the one place that turns a validated [`causeway_config::Config`] into chain
//!   adapters, relayer origins and lanes, after checking every chain, contract, key and
//!   validator set the configuration names;
//! - [`node`]: [`node::Node::start`] runs every role of one organisation's gateway (the relayer
//!   pipeline, the peer protocol, the HTTP API) and [`node::NodeHandle::shutdown`] drains it;
//! - [`api`]: the `/v1` HTTP API (routes, bearer tokens, OpenAPI document, event stream);
//! - [`private`]: sending applications' messages and private messages end to end (sealing,
//!   the on-chain body, fetching envelopes from the other members);
//! - [`proof`] and [`heights`]: proof bundles out of the store and chains' heights, shared by
//!   the API and the CLI.

pub mod anchor;
pub mod api;
#[cfg(feature = "devnet")]
pub mod devnet;
pub mod files;
pub mod heights;
pub mod lanes;
#[cfg(feature = "devnet")]
pub mod memnet;
pub mod metrics;
pub mod node;
pub mod private;
pub mod proof;
pub mod query;
pub mod wiring;
