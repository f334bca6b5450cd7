//! The one place that turns the validated [`Config`] into chain adapters and relayer work:
//! per `[chains.*]` entry its source, native verifier, destination and state reader; per
//! `[lanes.*]` entry a [`LaneConfig`] whose signing domain carries the validator epoch the
//! destination holds; per origin an [`OriginConfig`]. `causeway run`, `causeway config check`,
//! `causeway verify`'s trust and `causeway bench` all build chains through here (as Hyperlane's
//! `settings/chains.rs` is its agents' one factory).
//!
//! Before anything is built, [`check`] asks every chain what the configuration assumes of it:
//! every endpoint reachable and serving the configured chain id, the Outbox and Inbox holding
//! the Causeway contracts' code and answering with the configured domain, the Fabric peers
//! reachable and their chaincodes answering, the FISCO BCOS nodes serving the configured group,
//! chain id, `web3_chain_id` and sealers, every key file readable and matching (the
//! validator key is this organisation's published address; signer accounts funded, else a
//! warning), and for every lane the validator set on the destination equal to the configured
//! validators and threshold. It reports every problem at once; [`wire`] refuses to build
//! anything while one remains.
//!
//! The validator epoch in each lane's signing domain is read once, here: after a validator-set
//! rotation on a destination the lane must be wired again (the gateway restarted), or its
//! signatures name the old epoch and the destination refuses them.
//!
//! ```no_run
//! # async fn start() -> Result<(), Box<dyn std::error::Error>> {
//! let config = causeway_config::Config::load("/etc/causeway/gateway.toml")?;
//! let wired = causeway_gateway::wiring::wire(&config).await?;
//! for (name, lane) in &wired.lanes {
//!     println!("{name}: epoch {}", lane.signing_domain.validator_epoch);
//! }
//! # Ok(()) }
//! ```

mod anchors;
mod code;
pub(crate) mod evm;
mod fabric;
mod fisco;
mod lanes;
mod problem;
mod validators;

use std::collections::HashMap;
use std::sync::Arc;

use causeway_adapters::NativeVerifier;
use causeway_adapters::chain::{DynDestination, DynStateReader};
use causeway_adapters::metrics::ChainMetrics;
use causeway_config::{Chain, ChainFamily, ChainKind, Config};
use causeway_proofs::{Domain, ValidatorKey};
use causeway_relayer::pipeline::{LaneConfig, OriginConfig};

pub use anchors::ANCHOR_DESTINATION;
pub use fabric::newest_block as fabric_newest_block;
pub(crate) use fabric::sender_origin as fabric_sender;
pub(crate) use fisco::sender_origin as fisco_sender;
pub use problem::{Problem, Report, Severity, Subject};

use evm::EvmNode;
use fabric::{FabricPeer, FabricSetup};
use fisco::FiscoNode;
use lanes::{build_lane, check_lane};
use validators::OnChainSet;

/// Whether `code` (read from a chain) is the Causeway Anchor this build embeds, immutables
/// aside (`causeway verify --anchored` trusts nothing else at the address it is given).
pub fn is_causeway_anchor(code: &[u8]) -> bool {
    code::matches_artifact(code, &code::Contract::Anchor.runtime_code())
}

/// The first block an origin is scanned from when the store has no cursor for it yet.
pub const DEFAULT_START_HEIGHT: u64 = 0;

/// One configured chain, built.
#[derive(Clone)]
pub struct WiredChain {
    /// Its name in the configuration.
    pub name: String,
    /// Its domain.
    pub domain: Domain,
    /// Its family.
    pub family: ChainFamily,
    /// Reads its state with proofs (`None` for the pipeline benchmark's in-memory chains,
    /// which have no state to read).
    pub state_reader: Option<Arc<dyn DynStateReader>>,
    /// Delivers to its Inbox, when this gateway has a signer key for it.
    pub destination: Option<Arc<dyn DynDestination>>,
    /// What its adapters observed of the chain's nodes (EVM; Fabric's client is not counted
    /// yet, so its figures stay at zero).
    pub metrics: ChainMetrics,
}

impl core::fmt::Debug for WiredChain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WiredChain")
            .field("name", &self.name)
            .field("domain", &self.domain)
            .field("family", &self.family)
            .field("destination", &self.destination.is_some())
            .finish_non_exhaustive()
    }
}

/// Everything the relayer needs, built from a configuration that passed [`check`].
#[derive(Clone)]
#[non_exhaustive]
pub struct Wired {
    /// Every configured chain, in configuration (name) order.
    pub chains: Vec<WiredChain>,
    /// One per chain that is the origin of a lane (its source, verifier, start height).
    pub origins: Vec<OriginConfig>,
    /// One per lane, with the lane's name.
    pub lanes: Vec<(String, LaneConfig)>,
    /// One per `[anchors.*]` entry: the attested lane the relayer signs and the Anchor the
    /// node's anchoring task submits to.
    pub anchors: Vec<crate::anchor::WiredAnchor>,
    /// What the checks warned about (the gateway can run with these).
    pub warnings: Vec<Problem>,
}

impl Wired {
    /// Everything built elsewhere than by [`wire`] (the pipeline benchmark's in-memory chains).
    pub fn new(
        chains: Vec<WiredChain>,
        origins: Vec<OriginConfig>,
        lanes: Vec<(String, LaneConfig)>,
    ) -> Self {
        Wired {
            chains,
            origins,
            lanes,
            anchors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The chain named `name`.
    pub fn chain(&self, name: &str) -> Option<&WiredChain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// The chain with domain `domain`.
    pub fn chain_by_domain(&self, domain: Domain) -> Option<&WiredChain> {
        self.chains.iter().find(|c| c.domain == domain)
    }
}

impl core::fmt::Debug for Wired {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let lanes: Vec<&str> = self.lanes.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Wired")
            .field("chains", &self.chains)
            .field("origins", &self.origins.len())
            .field("lanes", &lanes)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Why [`wire`] built nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WiringError {
    /// The startup checks found problems; every one is in the report.
    #[error("{}", refusal(.report))]
    Refused {
        /// Every problem found (errors and warnings).
        report: Report,
    },
}

fn refusal(report: &Report) -> String {
    let errors: Vec<String> = report.errors().map(|p| format!("  {p}")).collect();
    format!(
        "the gateway cannot start: {} problem(s) in the configured chains, lanes and keys:\n{}",
        errors.len(),
        errors.join("\n")
    )
}

/// What probing one chain gave.
#[derive(Clone)]
enum Probe {
    /// An EVM node serving the chain, with the right contracts.
    Evm(EvmNode),
    /// A Fabric peer that accepted us, and the chain's resolved files.
    Fabric(Box<(FabricSetup, FabricPeer)>),
    /// A FISCO BCOS node serving the configured group, with the right contracts.
    Fisco(FiscoNode),
    /// Nothing usable (the reasons are in the report).
    Unavailable,
}

/// What the checks learned, for [`wire`].
struct Inspection {
    report: Report,
    probes: HashMap<String, Probe>,
    sets: HashMap<String, OnChainSet>,
    anchors: HashMap<String, (crate::anchor::AnchorContract, OnChainSet)>,
}

/// Runs every startup check and reports every problem found (never stops at the first).
/// Nothing is sent to a chain but reads.
pub async fn check(config: &Config) -> Report {
    inspect(config).await.report
}

/// Checks the configuration against its chains ([`check`]) and, when nothing is wrong, builds
/// every chain's adapters, one [`OriginConfig`] per origin and one [`LaneConfig`] per lane.
/// Refuses with every problem found otherwise.
pub async fn wire(config: &Config) -> Result<Wired, WiringError> {
    let Inspection {
        mut report,
        probes,
        sets,
        anchors: checked_anchors,
    } = inspect(config).await;
    if !report.is_clean() {
        return Err(WiringError::Refused { report });
    }
    let mut chains = Vec::new();
    let mut sources = HashMap::new();
    for chain in config.chains() {
        let probe = probes
            .get(&chain.name)
            .cloned()
            .unwrap_or(Probe::Unavailable);
        let built = build_chain(chain, probe, &mut report);
        if let Some((wired, origin)) = built {
            sources.insert(chain.name.clone(), origin);
            chains.push(wired);
        }
    }
    let mut origins = Vec::new();
    for chain in config.chains() {
        if config.lanes_from(chain.domain).next().is_some()
            && let Some(origin) = sources.remove(&chain.name)
        {
            origins.push(origin);
        }
    }
    let mut lanes = Vec::new();
    for lane in config.lanes() {
        match build_lane(config, lane, &chains, &probes, &sets, &mut report) {
            Some(built) => lanes.push((lane.name.clone(), built)),
            None => report.push(Problem::error(
                Subject::Lane(lane.name.clone()),
                "the lane could not be built from its chains",
                "run `causeway config check` and fix what it reports",
            )),
        }
    }
    let mut anchors = Vec::new();
    for anchoring in config.anchors() {
        match anchors::build_anchoring(config, anchoring, &checked_anchors, &mut report) {
            Some(built) => anchors.push(built),
            None => report.push(Problem::error(
                Subject::Anchoring(anchoring.name.clone()),
                "the anchoring could not be built from its chains",
                "run `causeway config check` and fix what it reports",
            )),
        }
    }
    report.sort();
    if !report.is_clean() {
        return Err(WiringError::Refused { report });
    }
    Ok(Wired {
        chains,
        origins,
        lanes,
        anchors,
        warnings: report.warnings().cloned().collect(),
    })
}

/// The checks, keeping what they learned.
async fn inspect(config: &Config) -> Inspection {
    let mut report = Report::default();
    own_validator_key(config, &mut report);
    let mut tasks = tokio::task::JoinSet::new();
    for chain in config.chains() {
        let chain = chain.clone();
        tasks.spawn(async move {
            let mut report = Report::default();
            let probe = probe_chain(&chain, &mut report).await;
            (chain.name, probe, report)
        });
    }
    let mut probes = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((name, probe, found)) => {
                report.extend(found);
                probes.insert(name, probe);
            }
            Err(e) => report.push(Problem::error(
                Subject::Gateway,
                format!("a chain check stopped unexpectedly: {e}"),
                "report this as a bug, with the log",
            )),
        }
    }
    let mut sets = HashMap::new();
    for lane in config.lanes() {
        if let Some(set) = check_lane(config, lane, &probes, &mut report).await {
            sets.insert(lane.name.clone(), set);
        }
    }
    let mut checked_anchors = HashMap::new();
    for anchoring in config.anchors() {
        if let Some(checked) =
            anchors::check_anchoring(config, anchoring, &probes, &mut report).await
        {
            checked_anchors.insert(anchoring.name.clone(), checked);
        }
    }
    report.sort();
    Inspection {
        report,
        probes,
        sets,
        anchors: checked_anchors,
    }
}

/// The validator key file is readable and its address is this organisation's published one.
fn own_validator_key(config: &Config, report: &mut Report) {
    let file = &config.gateway().validator_key_file;
    let member = config.own_member();
    let fix = format!(
        "point gateway.validator_key_file (or CAUSEWAY_VALIDATOR_KEY_FILE) at {}'s validator key",
        member.name
    );
    let secret = match causeway_config::read_secret_key_file(file) {
        Ok(secret) => secret,
        Err(e) => {
            report.push(Problem::error(
                Subject::Gateway,
                format!("gateway.validator_key_file: {e}"),
                fix,
            ));
            return;
        }
    };
    match ValidatorKey::from_bytes(secret.expose_secret()) {
        Ok(key) if key.address() == member.validator_address => {}
        Ok(key) => report.push(Problem::error(
            Subject::Gateway,
            format!(
                "the validator key in {} belongs to {}, but {} publishes validator_address {}",
                file.display(),
                key.address(),
                member.name,
                member.validator_address
            ),
            fix,
        )),
        Err(_) => report.push(Problem::error(
            Subject::Gateway,
            format!("{} is not a secp256k1 secret key", file.display()),
            "generate a validator key with `causeway keys generate validator`",
        )),
    }
}

/// Probes one chain; every problem goes to `report`.
async fn probe_chain(chain: &Chain, report: &mut Report) -> Probe {
    match &chain.kind {
        ChainKind::Evm(evm) => match evm::probe(chain, evm, report).await {
            Some(node) => Probe::Evm(node),
            None => Probe::Unavailable,
        },
        ChainKind::Fabric(fabric) => {
            let Some(setup) = fabric::setup(chain, fabric, report) else {
                return Probe::Unavailable;
            };
            match fabric::probe(chain, fabric, &setup, report).await {
                Some(peer) => Probe::Fabric(Box::new((setup, peer))),
                None => Probe::Unavailable,
            }
        }
        ChainKind::Fisco(fisco) => match fisco::probe(chain, fisco, report).await {
            Some(node) => Probe::Fisco(node),
            None => Probe::Unavailable,
        },
        _ => {
            report.push(Problem::error(
                Subject::Chain(chain.name.clone()),
                format!(
                    "chain family {} has no adapter in this build",
                    chain.family()
                ),
                "upgrade the gateway or remove the chain",
            ));
            Probe::Unavailable
        }
    }
}

/// Builds a probed chain's adapters: the chain and its origin (source and native verifier).
fn build_chain(
    chain: &Chain,
    probe: Probe,
    report: &mut Report,
) -> Option<(WiredChain, OriginConfig)> {
    let wired = |state: Arc<dyn DynStateReader>,
                 destination: Option<Arc<dyn DynDestination>>,
                 metrics: ChainMetrics| WiredChain {
        name: chain.name.clone(),
        domain: chain.domain,
        family: chain.family(),
        state_reader: Some(state),
        destination,
        metrics,
    };
    match (probe, &chain.kind) {
        (Probe::Evm(node), ChainKind::Evm(evm)) => {
            let built = evm::build(chain, evm, &node, report)?;
            let verifier: Arc<dyn NativeVerifier> = Arc::new(built.source.verifier());
            let origin = OriginConfig {
                source: Arc::new(built.source),
                verifier,
                start_height: DEFAULT_START_HEIGHT,
            };
            Some((
                wired(Arc::new(built.state), built.destination, built.metrics),
                origin,
            ))
        }
        (Probe::Fabric(probe), ChainKind::Fabric(fabric)) => {
            let (setup, peer) = *probe;
            let built = fabric::build(chain, fabric, &setup, &peer, report)?;
            let verifier: Arc<dyn NativeVerifier> = Arc::new(built.source.verifier());
            let origin = OriginConfig {
                source: Arc::new(built.source),
                verifier,
                start_height: DEFAULT_START_HEIGHT,
            };
            let destination: Arc<dyn DynDestination> = Arc::new(built.destination);
            Some((
                wired(Arc::new(built.state), Some(destination), built.metrics),
                origin,
            ))
        }
        (Probe::Fisco(node), ChainKind::Fisco(fisco)) => {
            let built = fisco::build(chain, fisco, &node, report)?;
            let verifier: Arc<dyn NativeVerifier> = Arc::new(built.source.verifier());
            let origin = OriginConfig {
                source: Arc::new(built.source),
                verifier,
                start_height: DEFAULT_START_HEIGHT,
            };
            let destination = built
                .destination
                .map(|d| Arc::new(d) as Arc<dyn DynDestination>);
            Some((
                wired(Arc::new(built.state), destination, built.metrics),
                origin,
            ))
        }
        _ => {
            report.push(Problem::error(
                Subject::Chain(chain.name.clone()),
                "the chain was not probed successfully, so it cannot be built",
                "run `causeway config check` and fix what it reports",
            ));
            None
        }
    }
}
