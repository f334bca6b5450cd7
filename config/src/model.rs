//! The validated configuration. A value of these types has passed every check in `validate`:
//! names are well formed and unique, references resolve, thresholds are strict majorities,
//! paths are absolute, key files exist with owner-only permissions.
//!
//! Structs are `#[non_exhaustive]`: other crates read their fields but cannot build them, so
//! the only way to get one is through [`crate::Config::load`].

use core::fmt;
use core::num::NonZeroU64;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use causeway_proofs::{Domain, EvmAddress, HashAlgorithm};

use crate::values::{Endpoint, PostgresUrl, PrivacyPublicKey};

/// `[gateway]`: who this gateway is and where its own keys live.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Gateway {
    /// This gateway's organisation: the name of one of the [`Member`]s.
    pub organisation: String,
    /// This replica's name among the organisation's gateways on one PostgreSQL store
    /// (`[gateway] instance`), `None` for the only one. Each replica leases work under its own
    /// name (the organisation's name, then `/` and this), and a replica restarted under the
    /// same name takes its own submissions back at once.
    pub instance: Option<String>,
    /// secp256k1 validator secret; its address is this organisation's `validator_address`.
    pub validator_key_file: PathBuf,
    /// X25519 privacy secret; its public key is this organisation's `privacy_public_key`.
    pub privacy_key_file: PathBuf,
    /// Where the peer protocol (gRPC over mutual TLS) listens.
    pub peer_listen: SocketAddr,
    /// The TLS identity this gateway presents to its peers (as server and as client).
    pub tls: TlsIdentity,
}

/// A certificate chain and its private key (PEM files).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsIdentity {
    /// Certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Private key (owner-only permissions checked).
    pub key_file: PathBuf,
}

/// `[[members]]`: one organisation of the consortium and its gateway.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Member {
    /// Unique name, `[a-z][a-z0-9-]*`.
    pub name: String,
    /// The address its validator key signs checkpoints as (never zero, unique).
    pub validator_address: EvmAddress,
    /// Its X25519 public key for private payloads (not of small order, unique).
    pub privacy_public_key: PrivacyPublicKey,
    /// Its gateway's peer-protocol URL (`https://`).
    pub peer_endpoint: Endpoint,
    /// How to authenticate its gateway.
    pub tls: PeerTls,
    /// Who controls its validator key, for the concentration rule.
    pub custody: Custody,
}

/// How a member's gateway is authenticated over mutual TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerTls {
    /// CA certificate(s) that issue the member's gateway certificates.
    pub ca_file: PathBuf,
    /// The name its certificate must carry (defaults to the endpoint's host).
    pub server_name: String,
    /// An exact certificate to pin, when given.
    pub cert_file: Option<PathBuf>,
}

/// Who really controls a validator key. Each tag is free text; members sharing a tag value
/// share a single point of compromise, and no such group may reach a lane's threshold
/// (the Ronin, Orbit and Multichain lesson). An untagged member is taken to hold its own key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Custody {
    /// The organisation or team that operates the key.
    pub operator: Option<String>,
    /// The machine or cluster that holds it.
    pub host: Option<String>,
    /// The HSM or KMS that holds it.
    pub hsm: Option<String>,
    /// The legal custodian of the key (or of its MPC shares).
    pub custodian: Option<String>,
}

/// The chain families Causeway speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChainFamily {
    /// Ethereum and enterprise Ethereum (Besu, Quorum).
    Evm,
    /// Hyperledger Fabric.
    Fabric,
    /// FISCO BCOS.
    Fisco,
}

impl fmt::Display for ChainFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChainFamily::Evm => "evm",
            ChainFamily::Fabric => "fabric",
            ChainFamily::Fisco => "fisco",
        })
    }
}

/// When an event on a chain is final, so a gateway may append it to the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finality {
    /// EVM: this many blocks on top of the event's block (at least 1).
    Confirmations(NonZeroU64),
    /// EVM: the block is at or below the node's `finalized` block.
    Finalized,
    /// Fabric and FISCO BCOS: final once committed.
    OnCommit,
}

/// `[chains.<name>]`: one configured chain.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Chain {
    /// Unique name, `[a-z][a-z0-9-]*`.
    pub name: String,
    /// Unique, non-zero domain id.
    pub domain: Domain,
    /// Node URLs, at least one, tried in order.
    pub endpoints: Vec<Endpoint>,
    /// When events are final.
    pub finality: Finality,
    /// Key files this gateway signs the chain's transactions with (may be empty when it only
    /// watches the chain; several keys spread nonce contention).
    pub signer_key_files: Vec<PathBuf>,
    /// The key applications' messages are dispatched with on this chain's Outbox
    /// (`POST /v1/messages`); `None`: this gateway does not send on the chain. EVM and FISCO
    /// BCOS: a secret key of the chain's signature scheme; on EVM never one of
    /// `signer_key_files` (the relayer manages their transaction nonces). Fabric: the PKCS#8
    /// key of the identity whose certificate is [`FabricChain::sender_cert_file`].
    pub sender_key_file: Option<PathBuf>,
    /// Family-specific settings.
    pub kind: ChainKind,
}

impl Chain {
    /// The chain's family.
    pub fn family(&self) -> ChainFamily {
        match self.kind {
            ChainKind::Evm(_) => ChainFamily::Evm,
            ChainKind::Fabric(_) => ChainFamily::Fabric,
            ChainKind::Fisco(_) => ChainFamily::Fisco,
        }
    }
}

/// Family-specific chain settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
// Built once per configured chain when the configuration loads: its size does not matter, and
// boxing the Fabric settings would only make every match on it noisier.
#[allow(clippy::large_enum_variant)]
pub enum ChainKind {
    /// An EVM chain.
    Evm(EvmChain),
    /// A Hyperledger Fabric channel.
    Fabric(FabricChain),
    /// A FISCO BCOS group.
    Fisco(FiscoChain),
}

/// EVM settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvmChain {
    /// EIP-155 chain id (non-zero, unique among EVM chains). Adapters still compare it with
    /// the node's `eth_chainId` at run time.
    pub chain_id: u64,
    /// The Outbox contract whose events are the only source of messages.
    pub outbox: EvmAddress,
    /// The Inbox contract that verifies and dispatches deliveries.
    pub inbox: EvmAddress,
    /// The Anchor contract checkpoints are anchored to, when this chain anchors.
    pub anchor: Option<EvmAddress>,
}

/// Hyperledger Fabric settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FabricChain {
    /// The channel's chain id, assigned by the consortium (non-zero, unique among its Fabric
    /// chains): Fabric has none of its own, and checkpoint signing domains name the ledger by it
    /// (the destination chain id at this channel's inbox, the origin chain id of its messages).
    pub chain_id: u64,
    /// The channel (Fabric's ledger).
    pub channel: String,
    /// The outbox chaincode: the only emitter whose `causeway.Dispatch` events count.
    pub outbox_chaincode: String,
    /// The inbox chaincode deliveries are submitted to.
    pub inbox_chaincode: String,
    /// Whose MSP roots, orderers and endorsement policy the channel's blocks are checked
    /// against (always present: a Fabric chain without it is refused at load).
    pub verifier: FabricVerifier,
    /// The MSP id this gateway's Fabric identity belongs to.
    pub msp_id: String,
    /// The X.509 certificate of that identity (its key is the chain's signer key); present
    /// whenever signer keys are configured.
    pub identity_cert_file: Option<PathBuf>,
    /// The X.509 certificate (of `msp_id`) of the identity applications' messages are
    /// dispatched as, whose key is the chain's `sender_key_file`; present exactly when that is.
    pub sender_cert_file: Option<PathBuf>,
    /// CA certificate for the peers' TLS, when the endpoints use `grpcs`.
    pub tls_ca_file: Option<PathBuf>,
    /// The client certificate and key presented to peers that require mutual TLS (both or
    /// neither: the configuration refuses one without the other).
    pub tls_client: Option<FabricClientTls>,
}

/// A Fabric gateway connection's client TLS identity: `tls_client_cert_file` and
/// `tls_client_key_file`, always together.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FabricClientTls {
    /// The client's TLS certificate (PEM; a chain, leaf first).
    pub cert_file: PathBuf,
    /// Its private key (PEM, PKCS#8), a secret file.
    pub key_file: PathBuf,
}

/// What a Fabric chain's blocks and transactions are verified against.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FabricVerifier {
    /// The organisations whose clients create and whose peers endorse transactions (at least
    /// one; MSP ids unique).
    pub orgs: Vec<FabricMsp>,
    /// The ordering service's organisations, whose identities sign blocks (at least one).
    pub orderers: Vec<FabricMsp>,
    /// Which organisations must endorse an outbox transaction; every one it names is in
    /// `orgs`.
    pub endorsement_policy: FabricPolicy,
    /// Distinct orderer signatures each block needs (at least 1; default 1, as Raft signs
    /// with one orderer), orderers told apart by public key.
    pub orderer_signatures: u32,
    /// The channel's consenters (its ordering nodes' certificates): when listed, only their
    /// signatures count toward `orderer_signatures`, each once. Empty: any orderer certificate
    /// of `orderers` counts. Every consenter's MSP is in `orderers`, no public key is listed
    /// twice, and there are at least `orderer_signatures` of them.
    pub consenters: Vec<FabricConsenter>,
}

/// A consenter of a Fabric channel: an ordering node whose signature counts toward a block's
/// quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FabricConsenter {
    /// Its MSP id (one of the verifier's `orderers`).
    pub msp_id: String,
    /// Its signing certificate (PEM), as the channel configuration's consenter lists it.
    pub cert_file: PathBuf,
}

/// An organisation (MSP) and its root CA certificates (PEM files, its MSP folder's
/// `cacerts/`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FabricMsp {
    /// The MSP id, e.g. `Org1MSP`.
    pub msp_id: String,
    /// Its root CA certificate files (at least one).
    pub root_cert_files: Vec<PathBuf>,
}

/// A Fabric endorsement policy over organisations, with `MAJORITY` resolved to the configured
/// `orgs`. Every variant names at least one organisation and needs between one and all of
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FabricPolicy {
    /// `AND(a, b, …)`: every listed organisation.
    AllOf(Vec<String>),
    /// `OutOf(n, a, b, …)` (and `OR(…)`, which is `OutOf(1, …)`): at least `n` of them.
    OutOf {
        /// How many must endorse.
        n: usize,
        /// The organisations that count.
        msps: Vec<String>,
    },
    /// `MAJORITY` (of the configured orgs) or `MAJORITY(a, b, …)`: more than half of them.
    Majority(Vec<String>),
}

impl FabricPolicy {
    /// The organisations the policy names.
    pub fn msps(&self) -> &[String] {
        match self {
            FabricPolicy::AllOf(m)
            | FabricPolicy::OutOf { msps: m, .. }
            | FabricPolicy::Majority(m) => m,
        }
    }

    /// How many of [`FabricPolicy::msps`] must endorse.
    pub fn required(&self) -> usize {
        match self {
            FabricPolicy::AllOf(m) => m.len(),
            FabricPolicy::OutOf { n, .. } => *n,
            FabricPolicy::Majority(m) => m.len() / 2 + 1,
        }
    }
}

impl fmt::Display for FabricPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FabricPolicy::AllOf(m) => write!(f, "AND({})", m.join(",")),
            FabricPolicy::OutOf { n, msps } => write!(f, "OutOf({n},{})", msps.join(",")),
            FabricPolicy::Majority(m) => write!(f, "MAJORITY({})", m.join(",")),
        }
    }
}

/// FISCO BCOS settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FiscoChain {
    /// The chain id (e.g. `chain0`).
    pub chain_id: String,
    /// The group (e.g. `group0`).
    pub group: String,
    /// The Outbox contract.
    pub outbox: EvmAddress,
    /// The Inbox contract.
    pub inbox: EvmAddress,
    /// The sealers whose 2f+1 signatures make a block committed, and the chain's crypto mode
    /// (ECDSA + Keccak-256, or SM2 + SM3).
    pub sealers: causeway_proofs::fisco::SealerSet,
    /// What `block.chainid` returns inside the group's EVM: the group's `web3_chain_id` system
    /// configuration (FISCO BCOS's default 0). The Inbox binds validator signatures to it, so
    /// it is this chain's chain id in signing domains (docs/fisco.md).
    pub web3_chain_id: u64,
}

/// A chain named by a lane: its name and domain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainRef {
    /// The chain's name.
    pub name: String,
    /// The chain's domain.
    pub domain: Domain,
}

/// One validator of a lane: a member and its address.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Validator {
    /// The member's name.
    pub member: String,
    /// Its validator address.
    pub address: EvmAddress,
}

/// A rate limit on a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// At most this many messages …
    pub max_messages: NonZeroU64,
    /// … per window of this length (non-zero).
    pub window: Duration,
}

/// `[lanes.<name>]`: messages from one chain to another, attested by a validator set.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Lane {
    /// Unique name, `[a-z][a-z0-9-]*`.
    pub name: String,
    /// Where messages come from.
    pub origin: ChainRef,
    /// Where they go (never the origin).
    pub destination: ChainRef,
    /// The lane's Merkle log hash (SHA-256 unless the lane asks otherwise).
    pub hash: HashAlgorithm,
    /// Distinct members whose signatures count, in configuration order.
    pub validators: Vec<Validator>,
    /// Signatures needed: `1 ≤ threshold ≤ n` and `2·threshold > n`.
    pub threshold: u32,
    /// Whether delivery on this lane is paused.
    pub paused: bool,
    /// Optional rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Members that are recipients of every private message on this lane (a regulator, say),
    /// distinct, in configuration order; their presence is bound into each message's on-chain
    /// commitment through the envelope's recipient list.
    pub auditors: Vec<String>,
}

impl Lane {
    /// The validator addresses, in configuration order.
    pub fn validator_addresses(&self) -> Vec<EvmAddress> {
        self.validators.iter().map(|v| v.address).collect()
    }
}

/// `[anchors.<name>]`: one consortium origin's log anchored on a public chain's Anchor
/// contract (docs/anchoring.md). The member gateways sign the origin's SHA-256 checkpoints under
/// the Anchor's own signing domain (destination 0), exchange those signatures over the peer
/// protocol and one of them submits each threshold checkpoint with its consistency proof.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Anchoring {
    /// Unique name, `[a-z][a-z0-9-]*`.
    pub name: String,
    /// The chain whose log is anchored (the origin of at least one lane).
    pub origin: ChainRef,
    /// The public chain the Anchor runs on (an EVM chain with `anchor` set, never the origin).
    pub chain: ChainRef,
    /// The Anchor contract (`chains.<chain>.anchor`).
    pub anchor: EvmAddress,
    /// Distinct members whose signatures the Anchor counts for the origin, in configuration
    /// order (the set registered on the Anchor).
    pub validators: Vec<Validator>,
    /// Signatures needed: `1 ≤ threshold ≤ n` and `2·threshold > n`.
    pub threshold: u32,
    /// Anchor at most this often while the log grows (`None`: only by `every_messages`).
    pub every: Option<Duration>,
    /// Anchor as soon as the log grew by this many entries since the last anchor.
    pub every_messages: Option<NonZeroU64>,
    /// The account that sends this gateway's anchor transactions on the public chain (never a
    /// key the relayer or the API sends with: one account, one writer of its nonces).
    pub key_file: PathBuf,
    /// How long the other members wait for the member whose turn it is before one of them
    /// submits the anchor itself.
    pub takeover_after: Duration,
}

impl Anchoring {
    /// Default `takeover_secs`.
    pub const DEFAULT_TAKEOVER: Duration = Duration::from_secs(60);

    /// The validator addresses, in configuration order.
    pub fn validator_addresses(&self) -> Vec<EvmAddress> {
        self.validators.iter().map(|v| v.address).collect()
    }
}

/// `[api]`: the HTTP API.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Api {
    /// Listen address (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// TLS identity; plain HTTP when absent.
    pub tls: Option<TlsIdentity>,
    /// CA certificate(s) (PEM) that issue the applications' client certificates: with it, a
    /// client may authenticate with a certificate instead of a bearer token (needs `tls`).
    pub client_ca_file: Option<PathBuf>,
}

/// `[storage]`: where the pipeline's durable state lives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Storage {
    /// One SQLite file (the default: `causeway.sqlite` beside the configuration file).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// PostgreSQL, for several replicas.
    Postgres {
        /// Connection URL (a secret; redacted in `Debug`).
        url: PostgresUrl,
        /// File holding the password, when the URL has none.
        password_file: Option<PathBuf>,
        /// How long either side of a session may go without the other taking what it sent
        /// before it ends the session (TCP user timeout and keepalives, on both sides): a
        /// replica killed, cut off or frozen mid-transaction releases its locks within it.
        dead_peer: Duration,
        /// The longest a statement may run before the server cancels it.
        statement_timeout: Duration,
    },
}

impl Storage {
    /// Default `postgres_dead_peer_ms`.
    pub const DEFAULT_DEAD_PEER: Duration = Duration::from_secs(30);
    /// Default `postgres_statement_timeout_ms`.
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
}

/// `[monitoring]`: the Prometheus `/metrics` endpoint.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Monitoring {
    /// Listen address (default `127.0.0.1:9464`).
    pub listen: SocketAddr,
}

/// `[relayer]`: how this gateway delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Relaying {
    /// Most messages per delivery batch (default [`Relaying::DEFAULT_BATCH_SIZE`], at most
    /// [`Relaying::MAX_BATCH_SIZE`]).
    pub batch_size: usize,
    /// How long the next member waits after the member whose turn it is before it delivers a
    /// run of messages itself (when the destination still shows them undelivered).
    pub delivery_grace: Duration,
    /// How often chains are polled for new blocks and submissions for their outcome.
    pub poll_interval: Duration,
    /// How long a lease on a batch of messages lasts: a gateway (or replica) that dies holding
    /// one leaves its messages to the others this long after it took them (default
    /// [`Relaying::DEFAULT_LEASE`]).
    pub lease: Duration,
    /// How long a send request's Outbox nonce may stay held by a transaction not yet final
    /// (one stuck in the origin node's pool) before the dispatcher sends the request in its
    /// place (default [`Relaying::DEFAULT_SEND_REPLACE_AFTER`]).
    pub send_replace_after: Duration,
}

impl Relaying {
    /// Default batch size.
    pub const DEFAULT_BATCH_SIZE: usize = 128;
    /// Largest batch size (512 messages fill an EVM block of 30M gas).
    pub const MAX_BATCH_SIZE: usize = 512;
    /// Default delivery grace.
    pub const DEFAULT_DELIVERY_GRACE: Duration = Duration::from_secs(10);
    /// Default poll interval.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
    /// Default lease.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);
    /// Default wait before a stuck dispatch is replaced.
    pub const DEFAULT_SEND_REPLACE_AFTER: Duration = Duration::from_secs(180);
}

impl Default for Relaying {
    fn default() -> Self {
        Relaying {
            batch_size: Self::DEFAULT_BATCH_SIZE,
            delivery_grace: Self::DEFAULT_DELIVERY_GRACE,
            poll_interval: Self::DEFAULT_POLL_INTERVAL,
            lease: Self::DEFAULT_LEASE,
            send_replace_after: Self::DEFAULT_SEND_REPLACE_AFTER,
        }
    }
}
