//! `causeway-devnet`: local networks for tests and for `causeway devnet`.
//!
//! It starts real `anvil` nodes on free loopback ports ([`anvil`]: the npm package
//! `@foundry-rs/anvil-linux-amd64`, pinned and installed by `scripts/setup.sh` into `.tools/`,
//! never taken from `PATH`), deploys the compiled Causeway contracts from
//! `contracts/artifacts/` ([`contracts`]), and assembles the two-chain [`Devnet`]. [`fixtures`]
//! holds what tests need to drive the contracts with values computed by `causeway_proofs`
//! (committees, origin logs, ABI conversions). [`fabric`] is the Fabric test network: a
//! protocol-faithful peer and ordering service serving Fabric's Gateway and Deliver services
//! over TLS, with generated organisations, running the Causeway chaincodes of
//! `causeway-chaincode` (`contracts/fabric/`) through its implementation of their `Stub`
//! interface. [`node`] runs the Node scripts of `devnet/fidelity/` that check our Fabric wire
//! format with Fabric's official Node packages (pinned, installed into `.tools/` by
//! `scripts/setup.sh`). [`pki`] is the consortium's test PKI: a CA issuing the member gateways'
//! mutual-TLS certificates as PEM files. [`postgres`] starts a private PostgreSQL cluster (Debian's
//! `postgresql` 15, installed by `scripts/setup.sh`) for the PostgreSQL store's tests. Only tests and the `devnet` command use this crate; no production path
//! does.

pub mod anvil;
pub mod contracts;
mod devnet;
mod error;
pub mod fabric;
pub mod fisco;
pub mod fixtures;
pub mod logs;
pub mod node;
pub mod pki;
pub mod ports;
pub mod postgres;

pub use causeway_proofs::Domain;
pub use devnet::{ADMIN_KEY_INDEX, CHAIN_A, CHAIN_B, ChainSpec, DevChain, Devnet};
pub use error::{Error, Result};
pub use ports::free_port;
