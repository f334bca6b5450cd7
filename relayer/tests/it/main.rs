//! Integration tests of `causeway-relayer`: the store conformance suite (run on SQLite; a
//! PostgreSQL backend runs the same), SQLite specifics and migrations of files written by earlier
//! schemas, a stateful model test with simulated crashes, and a real crash test that SIGKILLs a
//! writer process.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod anchor_lane;
mod conformance;
mod conformance_api;
mod conformance_outbound;
mod consortium;
mod crash;
mod deliver_outage;
mod differential;
mod e2e_evm;
mod e2e_fabric;
mod e2e_fisco;
mod limits;
mod migration;
mod model;
mod pipeline;
mod pipeline_faults;
mod postgres;
mod postgres_stall;
mod sqlite;
mod support;
