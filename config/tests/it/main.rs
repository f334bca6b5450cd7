//! Integration tests of `causeway-config`: every example loads, and every validation rule
//! refuses what it should with the key path and fix it promises.
#![allow(clippy::unwrap_used)]

mod anchors;
mod chains;
mod env;
mod examples;
mod fabric;
mod files;
mod lanes;
mod members;
mod parse;
mod services;
mod support;
