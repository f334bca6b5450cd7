//! Integration tests of the EVM adapter against real anvil chains started by `causeway_devnet`
//! (the pinned anvil from `.tools/`, on free loopback ports; no test talks to a chain it did
//! not start).

#![allow(clippy::unwrap_used, missing_docs)]

mod destination;
mod fabric_blocks;
mod fabric_client;
mod fabric_destination;
mod fabric_identity;
mod fabric_signatures;
mod fabric_source;
mod fisco;
mod fisco_forgery;
mod hostile_node;
mod memory_inbox;
mod proxy;
mod source;
mod state;
mod support;
