//! `causeway-devnet`: local networks for tests and for `causeway devnet`.
//!
//! It will start real `anvil` nodes on free loopback ports (the npm package
//! `@foundry-rs/anvil-linux-amd64`, installed by `scripts/setup.sh` into `.tools/`), deploy the
//! compiled contracts from `contracts/`, and run the protocol-faithful Fabric test network and
//! FISCO BCOS test node that stand in where the real nodes cannot run on these machines. Only
//! tests and the `devnet` command use it; no production path does.

pub use causeway_proofs::Domain;
