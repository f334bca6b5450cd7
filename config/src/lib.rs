//! `causeway-config`: the typed TOML configuration of a Causeway gateway, validated fail-closed.
//!
//! This crate sits at the bottom of the architecture beside `causeway-proofs` (whose value types
//! it uses: [`Domain`](causeway_proofs::Domain), [`HashAlgorithm`](causeway_proofs::HashAlgorithm),
//! [`EvmAddress`](causeway_proofs::EvmAddress)). The gateway loads one [`Config`] at start-up
//! and hands its parts to the adapters, the relayer and the servers; nobody else reads TOML.
//!
//! # Shape
//!
//! `config/examples/gateway.toml` documents every key. In short: `[gateway]` (this gateway's
//! organisation, key files, peer listener, TLS identity), `[[members]]` (the consortium's
//! organisations), `[chains.<name>]` (domain, family, endpoints, finality, contracts),
//! `[lanes.<name>]` (origin → destination, validator set, threshold), `[api]`, `[storage]`,
//! `[monitoring]`.
//!
//! # Secrets
//!
//! The file holds no secret: only paths to key files, which must be private to their owner
//! (`chmod 600`). Key file paths, the PostgreSQL URL and RPC URLs with credentials can come from
//! the environment instead ([`env`](mod@env) lists the variables). `Debug` of a [`Config`] prints no
//! secret.
//!
//! # Validation
//!
//! [`Config::load`] reports every problem it finds, not only the first, each as
//! `<file>:<line>:<col>: <key>: <problem> (fix: <fix>)` with a [`Rule`] for programs. It refuses,
//! among others: unknown keys; thresholds of 0, above the validator count, or not a strict
//! majority; one validator address, privacy key, member name, domain or chain id used twice;
//! lanes to unknown chains, to themselves or with unknown validators; one operator, host, HSM
//! or custodian holding a threshold of a lane's keys; EVM chains without Outbox or Inbox; Fabric
//! chains without a chain id or a verifier (MSP roots, orderers, a satisfiable endorsement
//! policy);
//! unsafe finality (0 confirmations, `latest`, `on-commit` on EVM); empty endpoint lists; zero
//! addresses and domains; missing files; key files readable by group or others; and own keys
//! that do not match this organisation's published address and privacy key. Relative paths are
//! resolved against the configuration file's folder.
//!
//! ```no_run
//! let config = causeway_config::Config::load("/etc/causeway/gateway.toml")?;
//! for lane in config.lanes() {
//!     println!("{}: {} of {} validators", lane.name, lane.threshold, lane.validators.len());
//! }
//! # Ok::<(), causeway_config::ConfigError>(())
//! ```

mod config;
pub mod env;
mod error;
pub mod keyfile;
mod load;
mod model;
mod raw;
mod threshold;
mod validate;
mod values;

pub use config::Config;
pub use env::{Env, NoEnv, ProcessEnv};
pub use error::{ConfigError, ConfigErrors, Position, Rule};
pub use keyfile::{Secret32, open_regular_file, read_secret_key_file};
pub use model::{
    Anchoring, Api, Chain, ChainFamily, ChainKind, ChainRef, Custody, EvmChain, FabricChain,
    FabricClientTls, FabricConsenter, FabricMsp, FabricPolicy, FabricVerifier, Finality,
    FiscoChain, Gateway, Lane, Member, Monitoring, PeerTls, RateLimit, Relaying, Storage,
    TlsIdentity, Validator,
};
pub use threshold::{ThresholdRefusal, check_threshold};
pub use values::{Endpoint, PostgresUrl, PrivacyPublicKey};
