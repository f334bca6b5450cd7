//! Integration tests of the peer protocol: real gateways over real mutual TLS on loopback.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod config;
mod envelopes;
mod exchange;
mod refusals;
mod support;
