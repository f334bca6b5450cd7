//! The file as written: serde structs that mirror the TOML one to one. Every table denies
//! unknown keys; values keep their byte spans so validation can name the line. Nothing here is
//! trusted: `validate` turns these into the typed [`crate::Config`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use causeway_proofs::{Domain, HashAlgorithm};
use serde::Deserialize;
use toml::Spanned;

/// A value with its byte range in the file.
pub(crate) type S<T> = Spanned<T>;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) gateway: S<RawGateway>,
    #[serde(default)]
    pub(crate) members: Vec<S<RawMember>>,
    #[serde(default)]
    pub(crate) chains: BTreeMap<String, S<RawChain>>,
    #[serde(default)]
    pub(crate) lanes: BTreeMap<String, S<RawLane>>,
    /// `[anchors.<name>]`: public anchoring of consortium logs.
    #[serde(default)]
    pub(crate) anchors: BTreeMap<String, S<RawAnchoring>>,
    pub(crate) api: Option<S<RawApi>>,
    pub(crate) storage: Option<S<RawStorage>>,
    pub(crate) monitoring: Option<S<RawMonitoring>>,
    pub(crate) relayer: Option<S<RawRelayer>>,
}

/// `[gateway]`: this gateway's organisation and keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGateway {
    pub(crate) organisation: S<String>,
    pub(crate) instance: Option<S<String>>,
    pub(crate) validator_key_file: Option<S<PathBuf>>,
    pub(crate) privacy_key_file: Option<S<PathBuf>>,
    pub(crate) peer_listen: S<String>,
    pub(crate) tls: S<RawTlsIdentity>,
}

/// A TLS identity: certificate chain and private key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTlsIdentity {
    pub(crate) cert_file: S<PathBuf>,
    pub(crate) key_file: Option<S<PathBuf>>,
}

/// `[[members]]`: one organisation of the consortium.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMember {
    pub(crate) name: S<String>,
    pub(crate) validator_address: S<String>,
    pub(crate) privacy_public_key: S<String>,
    pub(crate) peer_endpoint: S<String>,
    pub(crate) tls: S<RawMemberTls>,
    pub(crate) custody: Option<S<RawCustody>>,
}

/// `members[i].tls`: how to authenticate that member's gateway.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMemberTls {
    pub(crate) ca_file: S<PathBuf>,
    pub(crate) server_name: Option<S<String>>,
    pub(crate) cert_file: Option<S<PathBuf>>,
}

/// `members[i].custody`: who really holds the validator key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCustody {
    pub(crate) operator: Option<S<String>>,
    pub(crate) host: Option<S<String>>,
    pub(crate) hsm: Option<S<String>>,
    pub(crate) custodian: Option<S<String>>,
}

/// The chain families, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawFamily {
    Evm,
    Fabric,
    Fisco,
}

/// `[chains.<name>]`. Family-specific keys are all optional here; validation checks which
/// ones the family requires and refuses the ones it does not use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChain {
    pub(crate) domain: S<Domain>,
    pub(crate) family: S<RawFamily>,
    /// An integer for EVM, a string for FISCO BCOS; absent for Fabric.
    pub(crate) chain_id: Option<S<toml::Value>>,
    pub(crate) endpoints: Option<S<Vec<S<String>>>>,
    /// `{ confirmations = n }`, `{ tag = "finalized" }` or `"on-commit"`.
    pub(crate) finality: Option<S<toml::Value>>,
    #[serde(default)]
    pub(crate) signer_key_files: Vec<S<PathBuf>>,
    /// The key `POST /v1/messages` dispatches on this chain's Outbox with (every family).
    pub(crate) sender_key_file: Option<S<PathBuf>>,
    /// Fabric: the certificate of the sender's identity (its key is `sender_key_file`).
    pub(crate) sender_cert_file: Option<S<PathBuf>>,
    // EVM and FISCO BCOS
    pub(crate) outbox: Option<S<String>>,
    pub(crate) inbox: Option<S<String>>,
    // EVM only
    pub(crate) anchor: Option<S<String>>,
    // Fabric
    pub(crate) channel: Option<S<String>>,
    /// Refused with a pointer to `outbox_chaincode` and `inbox_chaincode` (one chaincode each).
    pub(crate) chaincode: Option<S<String>>,
    pub(crate) outbox_chaincode: Option<S<String>>,
    pub(crate) inbox_chaincode: Option<S<String>>,
    pub(crate) verifier: Option<S<RawFabricVerifier>>,
    pub(crate) msp_id: Option<S<String>>,
    pub(crate) identity_cert_file: Option<S<PathBuf>>,
    pub(crate) tls_ca_file: Option<S<PathBuf>>,
    /// The client certificate (PEM) presented to peers that require mutual TLS; with
    /// `tls_client_key_file`, never alone.
    pub(crate) tls_client_cert_file: Option<S<PathBuf>>,
    /// Its private key (PEM, a secret file).
    pub(crate) tls_client_key_file: Option<S<PathBuf>>,
    // FISCO BCOS
    pub(crate) group: Option<S<String>>,
    /// `"ecdsa"` (the default) or `"sm"`: the chain's `[chain] sm_crypto`.
    pub(crate) crypto: Option<S<String>>,
    /// The sealers' node ids (hex), as `getSealerList` lists them.
    pub(crate) sealers: Option<S<Vec<S<String>>>>,
    /// The group's `web3_chain_id` system configuration (`block.chainid` in its EVM).
    pub(crate) web3_chain_id: Option<S<u64>>,
}

/// `[chains.<name>.verifier]`: what a Fabric chain's blocks and transactions are checked
/// against.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFabricVerifier {
    #[serde(default)]
    pub(crate) orgs: Vec<S<RawFabricMsp>>,
    #[serde(default)]
    pub(crate) orderers: Vec<S<RawFabricMsp>>,
    pub(crate) endorsement_policy: Option<S<String>>,
    pub(crate) orderer_signatures: Option<S<u32>>,
    #[serde(default)]
    pub(crate) consenters: Vec<S<RawFabricConsenter>>,
}

/// One consenter (ordering node) of a Fabric channel: its MSP id and certificate file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFabricConsenter {
    pub(crate) msp_id: S<String>,
    pub(crate) cert_file: S<PathBuf>,
}

/// One organisation of a Fabric verifier: its MSP id and root CA certificate files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFabricMsp {
    pub(crate) msp_id: S<String>,
    #[serde(default)]
    pub(crate) root_cert_files: Vec<S<PathBuf>>,
}

/// `[lanes.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLane {
    pub(crate) origin: S<String>,
    pub(crate) destination: S<String>,
    pub(crate) hash: Option<S<HashAlgorithm>>,
    pub(crate) validators: S<Vec<S<String>>>,
    pub(crate) threshold: S<u32>,
    #[serde(default)]
    pub(crate) paused: bool,
    pub(crate) rate_limit: Option<S<RawRateLimit>>,
    /// Members that are recipients of every private message on the lane.
    pub(crate) auditors: Option<S<Vec<S<String>>>>,
}

/// `[anchors.<name>]`: one origin's log anchored on a public chain's Anchor contract.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAnchoring {
    pub(crate) origin: S<String>,
    pub(crate) chain: S<String>,
    pub(crate) validators: S<Vec<S<String>>>,
    pub(crate) threshold: S<u32>,
    pub(crate) every_secs: Option<S<u64>>,
    pub(crate) every_messages: Option<S<u64>>,
    pub(crate) hash: Option<S<HashAlgorithm>>,
    pub(crate) key_file: S<PathBuf>,
    pub(crate) takeover_secs: Option<S<u64>>,
}

/// `lanes.<name>.rate_limit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    pub(crate) max_messages: S<u64>,
    pub(crate) window_secs: S<u64>,
}

/// `[api]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub(crate) listen: Option<S<String>>,
    pub(crate) tls: Option<S<RawTlsIdentity>>,
    pub(crate) client_ca_file: Option<S<PathBuf>>,
}

/// `[storage]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorage {
    pub(crate) sqlite_path: Option<S<PathBuf>>,
    pub(crate) postgres_url: Option<S<String>>,
    pub(crate) postgres_password_file: Option<S<PathBuf>>,
    pub(crate) postgres_dead_peer_ms: Option<S<u64>>,
    pub(crate) postgres_statement_timeout_ms: Option<S<u64>>,
}

/// `[monitoring]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMonitoring {
    pub(crate) listen: Option<S<String>>,
}

/// `[relayer]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRelayer {
    pub(crate) batch_size: Option<S<u64>>,
    pub(crate) delivery_grace_ms: Option<S<u64>>,
    pub(crate) poll_interval_ms: Option<S<u64>>,
    pub(crate) lease_ms: Option<S<u64>>,
    pub(crate) send_replace_after_ms: Option<S<u64>>,
}
