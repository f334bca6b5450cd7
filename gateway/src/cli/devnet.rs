//! `causeway devnet`: a whole consortium on this machine, no docker. Two anvil chains (an
//! alliance chain and a public chain) with the contracts deployed and a 2-of-3 committee on both
//! Inboxes, and three member gateways as separate `causeway run` processes, each with its own
//! keys, store and mutual-TLS certificate from a devnet CA. It sends messages both ways and
//! shows them move; with `--messages N` it stops once N messages per lane are delivered and
//! every delivered message's proof bundle verified (`causeway verify`), and exits 0.
//!
//! SIGINT (Ctrl-C) or SIGTERM stops everything it started: the gateways drain (SIGTERM) and the
//! anvil nodes are killed; the members' folders stay for a look.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes};
use alloy::providers::Provider as _;
use alloy::providers::ext::AnvilApi as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use anyhow::{Context, Result, bail, ensure};
use causeway_adapters::fabric::FabricClient;
use causeway_adapters::fabric::request::Invocation;
use causeway_devnet::contracts::{AnchorHandle, Inbox, Outbox, deploy_anchor};
use causeway_devnet::fabric::{
    FabricNetwork, FabricNetworkOptions, INBOX_CHAINCODE, ORG1, OUTBOX_CHAINCODE,
    RECIPIENT_CHAINCODE, commit_invocation, evaluate_text,
};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use causeway_gateway::devnet::{
    AnchorEntry, Layout, LocalChain, LocalFabric, MemberFolder, write_anchored_members,
};
use causeway_proofs::fisco::CryptoMode;

use super::devnet_fisco::{self, LocalFisco};
use causeway_proofs::fabric::inbox_wire::inbox_signing_domain;
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, EvmAddress, Message, Nonce, SigningDomain, ValidatorSet};
use causeway_relayer::store::{Lane, SqliteStore};
use tokio::process::{Child, Command};

use super::progress::{self, Progress};

/// The committee's deterministic key label (three members, threshold 2).
const COMMITTEE: &str = "causeway-devnet";
/// Member `i` sends its anchors from anvil dev account `FIRST_ANCHOR_KEY + i` (no other role
/// of the devnet uses accounts 2 to 4).
const FIRST_ANCHOR_KEY: usize = 2;
/// How long a gateway may take to say it runs.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a gateway may take to drain after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Arguments of `causeway devnet`.
#[derive(clap::Args, Debug)]
pub(crate) struct DevnetArgs {
    /// Stop once this many messages per lane are delivered and their proof bundles verified,
    /// and exit 0 (for CI and the README). Without it, a message per lane every second until
    /// Ctrl-C.
    #[arg(long, value_name = "N")]
    messages: Option<usize>,
    /// Where to write the members' folders (keys, configuration, store, log); must be empty or
    /// absent. Default: a new folder in the system's temporary directory, kept after exit.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// With --messages: give up (exit 1) if they are not all delivered within this many seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    timeout: u64,
    /// Leave out the Fabric test network (and the lanes between it and the alliance chain).
    #[arg(long)]
    no_fabric: bool,
    /// Add the FISCO BCOS test node (chain `fisco`, ECDSA mode) with lanes to and from the
    /// alliance chain.
    #[arg(long)]
    fisco: bool,
    /// With --fisco: run the FISCO BCOS test node in SM mode (SM2 signatures, SM3 hashes).
    #[arg(long, requires = "fisco")]
    fisco_sm: bool,
}

pub(crate) fn run(args: &DevnetArgs) -> Result<()> {
    run_local("devnet", async |net| devnet(args, net).await)
}

/// Runs `body` with a new [`LocalNet`] on a new runtime until it ends or SIGINT/SIGTERM arrives
/// (`what` names the command in the message), then stops everything it started.
pub(crate) fn run_local(
    what: &str,
    body: impl AsyncFnOnce(&mut LocalNet) -> Result<()>,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    runtime.block_on(async {
        let mut net = LocalNet::default();
        let outcome = tokio::select! {
            r = body(&mut net) => r,
            signal = stop_signal() => {
                eprintln!("\n{}: stopping everything {what} started", signal?);
                Ok(())
            }
        };
        net.stop().await;
        outcome
    })
}

/// What devnet started: stopped in [`LocalNet::stop`], and by `Drop` (kill) on any other exit.
#[derive(Default)]
pub(crate) struct LocalNet {
    pub(crate) gateways: Vec<(String, Child)>,
    pub(crate) chains: Vec<DevChain>,
    /// The Fabric test network (served by this process) and an Org1 client of it.
    pub(crate) fabric: Option<(FabricNetwork, FabricClient)>,
    /// The crypto mode of the FISCO BCOS test node to start (`--fisco`), and then the node.
    pub(crate) fisco_mode: Option<CryptoMode>,
    pub(crate) fisco: Option<LocalFisco>,
    /// The Anchor on the public chain, with the committee installed for the alliance chain.
    pub(crate) anchor: Option<AnchorHandle>,
}

impl LocalNet {
    /// SIGTERM to every gateway (they drain and exit 0), SIGKILL after [`STOP_TIMEOUT`], then
    /// the chains.
    pub(crate) async fn stop(&mut self) {
        self.stop_gateways().await;
        // Dropping a chain kills its anvil process; the Fabric network stops serving.
        self.chains.clear();
        self.fisco = None;
        if let Some((net, _)) = self.fabric.take() {
            net.stop().await;
        }
    }

    /// SIGTERM to every gateway (they drain and exit 0), SIGKILL after [`STOP_TIMEOUT`]; the
    /// chains go on.
    pub(crate) async fn stop_gateways(&mut self) {
        for (_, child) in &self.gateways {
            if let Some(pid) = child.id() {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await;
            }
        }
        for (name, mut child) in self.gateways.drain(..) {
            match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
                Ok(Ok(status)) if status.success() => {}
                Ok(Ok(status)) => eprintln!("gateway {name} exited with {status}"),
                Ok(Err(e)) => eprintln!("gateway {name}: {e}"),
                Err(_) => {
                    eprintln!("gateway {name} did not stop within {STOP_TIMEOUT:?}; killing it");
                    let _ = child.kill().await;
                }
            }
        }
    }
}

/// Waits for SIGTERM or SIGINT; returns its name.
pub(crate) async fn stop_signal() -> Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// A chain of the local consortium: an anvil chain (by index) or the Fabric channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Evm(usize),
    Fabric,
    Fisco,
}

/// One direction between two chains.
pub(crate) struct Route {
    pub(crate) name: String,
    pub(crate) from: Side,
    pub(crate) to: Side,
    pub(crate) signing_domain: SigningDomain,
    /// Dispatched message ids and when their dispatch was mined.
    pub(crate) sent: Vec<(B256, Instant)>,
    /// Delivered ids and when they were seen delivered.
    pub(crate) delivered: HashMap<B256, Instant>,
    /// The first destination block not yet read for deliveries.
    next_block: u64,
    /// `Delivered` events seen for a message already delivered (never, with replay protection).
    pub(crate) repeated: usize,
}

/// A route with nothing sent yet.
fn route(name: &str, from: Side, to: Side, signing_domain: SigningDomain) -> Route {
    Route {
        name: name.to_owned(),
        from,
        to,
        signing_domain,
        sent: Vec::new(),
        delivered: HashMap::new(),
        next_block: 0,
        repeated: 0,
    }
}

/// Starts the chains (and, with `fabric`, the Fabric test network), installs the committee on
/// every destination, writes the members' folders under `dir` and starts their gateways; all of
/// it goes into `net`. Returns the members and the routes (nothing sent yet): alliance <-> public,
/// and alliance <-> ledger with Fabric.
pub(crate) async fn start_consortium(
    dir: &Path,
    layout: &Layout,
    net: &mut LocalNet,
    fabric: bool,
) -> Result<(Vec<MemberFolder>, Vec<Route>, Committee)> {
    let (routes, committee) = start_chains(net, fabric).await?;
    let members = start_gateways(dir, layout, net, &committee).await?;
    Ok((members, routes, committee))
}

/// Starts the chains (and the Fabric test network when `fabric`) with the consortium's
/// committee installed on every inbox: `net` holds them; the routes between them are returned.
pub(crate) async fn start_chains(
    net: &mut LocalNet,
    fabric: bool,
) -> Result<(Vec<Route>, Committee)> {
    progress::step(format!(
        "[1/4] starting two anvil chains: alliance (chain id {}) and public (chain id {}){}",
        CHAIN_A.chain_id,
        CHAIN_B.chain_id,
        if fabric {
            ", and the Fabric test network (channel ledger)"
        } else {
            ""
        }
    ));
    let (alliance, public) =
        tokio::try_join!(DevChain::start(CHAIN_A), DevChain::start(CHAIN_B))
            .context("starting the chains (is anvil installed? scripts/setup.sh installs it)")?;
    let committee = Committee::new(COMMITTEE, 3, 2);
    let to_public = committee
        .install(&public.inbox, CHAIN_A.domain, CHAIN_A.chain_id)
        .await
        .context("installing the committee on the public chain's Inbox")?;
    let to_alliance = committee
        .install(&alliance.inbox, CHAIN_B.domain, CHAIN_B.chain_id)
        .await
        .context("installing the committee on the alliance chain's Inbox")?;
    // Public anchoring: the alliance chain's log on the public chain's Anchor, 2 of 3.
    let anchor = deploy_anchor(&public.provider, public.admin)
        .await
        .context("deploying the Anchor on the public chain")?;
    let installed = anchor
        .setValidators(
            CHAIN_A.domain.0,
            CHAIN_A.chain_id,
            committee.addresses(),
            committee.threshold(),
        )
        .send()
        .await
        .context("installing the committee on the Anchor")?
        .get_receipt()
        .await
        .context("waiting for the Anchor's setValidators")?;
    ensure!(installed.status(), "the Anchor's setValidators reverted");
    net.anchor = Some(anchor);
    let mut routes = vec![
        route("alliance->public", Side::Evm(0), Side::Evm(1), to_public),
        route("public->alliance", Side::Evm(1), Side::Evm(0), to_alliance),
    ];
    if fabric {
        let ledger = FabricNetwork::start(FabricNetworkOptions::default())
            .await
            .context("starting the Fabric test network")?;
        let from_ledger = committee
            .install(&alliance.inbox, ledger.domain(), ledger.chain_id())
            .await
            .context("installing the committee on the alliance chain's Inbox for the ledger")?;
        let admin = ledger
            .connect(ledger.admin_identity())
            .await
            .context("connecting to the Fabric test network as its admin")?;
        let install = Invocation::new(
            ledger.channel(),
            INBOX_CHAINCODE,
            "setValidators",
            committee.fabric_set_validators_args(CHAIN_A.domain, CHAIN_A.chain_id),
        );
        let (_, status) = commit_invocation(&admin, &install)
            .await
            .context("installing the committee on the inbox chaincode")?;
        ensure!(
            status.code.is_valid(),
            "setValidators committed as {}",
            status.code
        );
        // The inbox chaincode's first set for an origin has epoch 1.
        let to_ledger = inbox_signing_domain(
            CHAIN_A.domain,
            CHAIN_A.chain_id,
            ledger.domain(),
            ledger.chain_id(),
            ledger.channel(),
            INBOX_CHAINCODE,
            1,
        );
        routes.push(route(
            "alliance->ledger",
            Side::Evm(0),
            Side::Fabric,
            to_ledger,
        ));
        routes.push(route(
            "ledger->alliance",
            Side::Fabric,
            Side::Evm(0),
            from_ledger,
        ));
        let client = ledger
            .client(ORG1)
            .await
            .context("connecting to the Fabric test network as Org1's client")?;
        net.fabric = Some((ledger, client));
    }
    if let Some(mode) = net.fisco_mode {
        eprintln!("      and the FISCO BCOS test node ({mode} mode, chain fisco)");
        let (fisco, to_fisco, from_fisco) =
            devnet_fisco::start(mode, &alliance, &committee).await?;
        routes.push(route(
            "alliance->fisco",
            Side::Evm(0),
            Side::Fisco,
            to_fisco,
        ));
        routes.push(route(
            "fisco->alliance",
            Side::Fisco,
            Side::Evm(0),
            from_fisco,
        ));
        net.fisco = Some(fisco);
    }
    net.chains = vec![alliance, public];
    Ok((routes, committee))
}

/// Writes the members' folders for the chains `net` holds and starts their gateways (one
/// `causeway run` process each), waiting until each runs.
pub(crate) async fn start_gateways(
    dir: &Path,
    layout: &Layout,
    net: &mut LocalNet,
    committee: &Committee,
) -> Result<Vec<MemberFolder>> {
    progress::step(format!(
        "[2/4] writing the members' keys, certificates and configurations to {}",
        dir.display()
    ));
    let chains = [
        LocalChain {
            name: "alliance",
            chain: &net.chains[0],
        },
        LocalChain {
            name: "public",
            chain: &net.chains[1],
        },
    ];
    let local_fabric = net.fabric.as_ref().map(|(ledger, _)| LocalFabric {
        name: "ledger",
        net: ledger,
        inbox_chaincode: INBOX_CHAINCODE,
    });
    let mut lanes = vec![("alliance", "public"), ("public", "alliance")];
    if local_fabric.is_some() {
        lanes.extend([("alliance", "ledger"), ("ledger", "alliance")]);
    }
    let fisco: Vec<_> = net
        .fisco
        .iter()
        .map(|f| f.entry(committee.keys().len()))
        .collect();
    if !fisco.is_empty() {
        lanes.extend([("alliance", "fisco"), ("fisco", "alliance")]);
    }
    let anchors = match &net.anchor {
        Some(anchor) => vec![AnchorEntry::of_local(
            "alliance",
            &chains[1],
            *anchor.address(),
            committee.keys().len(),
            FIRST_ANCHOR_KEY,
        )?],
        None => Vec::new(),
    };
    let members = write_anchored_members(
        dir,
        committee,
        &chains,
        local_fabric,
        &fisco,
        &lanes,
        &anchors,
        layout,
    )?;

    progress::step("[3/4] starting the member gateways (causeway run, one process each)");
    let exe = std::env::current_exe().context("finding this program's path")?;
    for m in &members {
        let log = std::fs::File::create(m.log())
            .with_context(|| format!("creating {}", m.log().display()))?;
        let child = Command::new(&exe)
            .args(["run", "--config"])
            .arg(m.config())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}'s gateway", m.name))?;
        net.gateways.push((m.name.clone(), child));
    }
    wait_running(&members, net).await?;
    for m in &members {
        progress::step(format!(
            "      {}: config {}  store {}  log {}",
            m.name,
            m.config().display(),
            m.store().display(),
            m.log().display()
        ));
    }
    Ok(members)
}

async fn devnet(args: &DevnetArgs, net: &mut LocalNet) -> Result<()> {
    let dir = folder(args.dir.as_deref())?;
    progress::step(
        "causeway devnet: a local consortium of three member gateways (2 of 3), no docker",
    );
    net.fisco_mode = args.fisco.then_some(if args.fisco_sm {
        CryptoMode::Sm
    } else {
        CryptoMode::Ecdsa
    });
    let (members, mut routes, committee) =
        start_consortium(&dir, &Layout::default(), net, !args.no_fabric).await?;
    let exe = std::env::current_exe().context("finding this program's path")?;
    match args.messages {
        Some(n) => {
            progress::step(format!(
                "[4/4] sending {n} messages each way and waiting for them to be delivered"
            ));
            let mut bar = Progress::new(n as u64 * routes.len() as u64, Duration::ZERO);
            // One message per route in turn, so every route is sent at the same pace and the
            // latencies are those of a steady flow.
            let mut last = Instant::now();
            for i in 0..n {
                for route in &mut routes {
                    let tag = format!("{} #{i}", route.name);
                    let sent = send_route(net, route, 1, &tag).await?;
                    route.sent.extend(sent);
                }
                if last.elapsed() >= Duration::from_secs(1) {
                    check_running(net)?;
                    observe(net, &mut routes).await?;
                    bar.set(delivered(&routes), progress(&routes));
                    last = Instant::now();
                }
            }
            let deadline = Instant::now() + Duration::from_secs(args.timeout);
            loop {
                check_running(net)?;
                observe(net, &mut routes).await?;
                let done = routes.iter().all(|r| r.delivered.len() >= r.sent.len());
                if done {
                    bar.finish(progress(&routes));
                    break;
                }
                if last.elapsed() >= Duration::from_secs(1) {
                    bar.set(delivered(&routes), progress(&routes));
                    last = Instant::now();
                }
                ensure!(
                    Instant::now() < deadline,
                    "not every message was delivered within {} s; the gateways' logs are in {}",
                    args.timeout,
                    dir.display()
                );
                mine(&net.chains).await?;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            exactly_once(net, &routes).await?;
            let verified =
                verify_bundles(&exe, &dir, &members[0], &routes, &committee, net).await?;
            let anchored =
                super::devnet_anchor::check(&exe, &dir, &members[0], &routes, net).await?;
            summary(&routes, verified, &dir, &members);
            anchored.print();
            Ok(())
        }
        None => {
            progress::step(
                "[4/4] sending a message each way every second; Ctrl-C stops everything",
            );
            let mut bar = Progress::new(0, Duration::ZERO);
            let mut i = 0usize;
            loop {
                check_running(net)?;
                for route in &mut routes {
                    let tag = format!("{} #{i}", route.name);
                    let sent = send_route(net, route, 1, &tag).await?;
                    route.sent.extend(sent);
                }
                observe(net, &mut routes).await?;
                bar.set_total(routes.iter().map(|r| r.sent.len() as u64).sum());
                bar.set(delivered(&routes), progress(&routes));
                i += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The members' root folder: `dir` (empty or absent), else a new folder in the temporary
/// directory that is kept.
fn folder(dir: Option<&Path>) -> Result<PathBuf> {
    match dir {
        Some(d) => {
            if d.exists() {
                let empty = std::fs::read_dir(d)
                    .with_context(|| format!("reading {}", d.display()))?
                    .next()
                    .is_none();
                ensure!(
                    empty,
                    "{} is not empty: give an empty or new --dir",
                    d.display()
                );
            }
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            Ok(d.to_path_buf())
        }
        None => Ok(tempfile::Builder::new()
            .prefix("causeway-devnet-")
            .tempdir()
            .context("creating a folder in the temporary directory")?
            .keep()),
    }
}

/// Waits until every gateway's log says it runs (each refuses to start, with the reason in its
/// log, if anything about its chains, keys or validator sets is wrong).
async fn wait_running(members: &[MemberFolder], net: &mut LocalNet) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Err(e) = check_running(net) {
            // Say why here, not only where: the folder may be a temporary one that is gone
            // by the time someone reads the error.
            let tails: Vec<String> = members
                .iter()
                .filter_map(|m| {
                    let log = std::fs::read_to_string(m.log()).ok()?;
                    let lines: Vec<&str> = log.lines().collect();
                    let tail = lines[lines.len().saturating_sub(8)..].join("\n");
                    Some(format!(
                        "{}'s log ({}) ends with:\n{tail}",
                        m.name,
                        m.log().display()
                    ))
                })
                .collect();
            bail!("{e}\n{}", tails.join("\n"));
        }
        let running = members
            .iter()
            .filter(|m| {
                std::fs::read_to_string(m.log()).is_ok_and(|log| log.contains("gateway running"))
            })
            .count();
        if running == members.len() {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{} of {} gateways started within {START_TIMEOUT:?}; see their logs",
            running,
            members.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fails (naming the log) when a gateway has exited.
pub(crate) fn check_running(net: &mut LocalNet) -> Result<()> {
    for (name, child) in &mut net.gateways {
        if let Some(status) = child.try_wait()? {
            bail!("gateway {name} exited with {status}; its log says why");
        }
    }
    Ok(())
}

/// Dispatches `n` messages from `from`'s Outbox to `recipient` on `to`.
async fn dispatch(
    from: &DevChain,
    to: causeway_proofs::Domain,
    recipient: Address32,
    n: usize,
    tag: &str,
) -> Result<Vec<(B256, Instant)>> {
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let body = Bytes::from(format!("{tag} message {i}").into_bytes());
        pending.push(
            from.outbox
                .dispatch(to.0, recipient.0.into(), body)
                .send()
                .await
                .context("sending a dispatch")?,
        );
    }
    let mut sent = Vec::with_capacity(n);
    for tx in pending {
        let receipt = tx.get_receipt().await.context("waiting for a dispatch")?;
        ensure!(receipt.status(), "a dispatch reverted");
        let id = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<Outbox::Dispatch>().ok())
            .map(|e| e.inner.data.id)
            .context("a dispatch without its Dispatch event")?;
        sent.push((id, Instant::now()));
    }
    Ok(sent)
}

/// Sends `n` messages along `route` (the recipient: the destination's example recipient
/// contract or chaincode); their ids and when each was committed.
async fn send_route(
    net: &LocalNet,
    route: &Route,
    n: usize,
    tag: &str,
) -> Result<Vec<(B256, Instant)>> {
    let fabric = net.fabric.as_ref();
    let (to_domain, recipient) = match route.to {
        Side::Evm(j) => {
            let to = &net.chains[j];
            (to.spec.domain, address32(*to.recipient.address()))
        }
        Side::Fabric => {
            let (ledger, _) = fabric.context("no Fabric network")?;
            (
                ledger.domain(),
                Address32::from_name(&format!("{}/{RECIPIENT_CHAINCODE}", ledger.channel())),
            )
        }
        Side::Fisco => {
            let fisco = net.fisco.as_ref().context("no FISCO BCOS node")?;
            (devnet_fisco::FISCO_DOMAIN, fisco.recipient())
        }
    };
    match route.from {
        Side::Evm(i) => dispatch(&net.chains[i], to_domain, recipient, n, tag).await,
        Side::Fisco => {
            let fisco = net.fisco.as_ref().context("no FISCO BCOS node")?;
            fisco.dispatch(to_domain, recipient, n, tag).await
        }
        Side::Fabric => {
            let (ledger, client) = fabric.context("no Fabric network")?;
            let first: u64 =
                evaluate_text(client, ledger.channel(), OUTBOX_CHAINCODE, "nonce", vec![])
                    .await?
                    .trim()
                    .parse()
                    .context("the outbox chaincode's nonce is not a number")?;
            let sender = Address32(keccak256(client.signer().creator()).0);
            let mut sent = Vec::with_capacity(n);
            for i in 0..n {
                let body = format!("{tag} message {i}").into_bytes();
                causeway_devnet::fabric::dispatch(
                    client,
                    ledger.channel(),
                    to_domain,
                    recipient,
                    &body,
                )
                .await?;
                let message = Message::new(
                    Nonce(first + i as u64),
                    ledger.domain(),
                    sender,
                    to_domain,
                    recipient,
                    body,
                )?;
                sent.push((B256::from(message.id().as_hash().0), Instant::now()));
            }
            Ok(sent)
        }
    }
}

/// Marks the messages each route's destination reports delivered: an Inbox's `Delivered` events
/// (reading only the blocks not read before), the inbox chaincode's `isDelivered`.
pub(crate) async fn observe(net: &LocalNet, routes: &mut [Route]) -> Result<()> {
    for route in routes {
        match route.to {
            Side::Evm(j) => {
                let dest = &net.chains[j];
                let head = dest
                    .provider
                    .get_block_number()
                    .await
                    .context("reading the destination's head")?;
                if head < route.next_block {
                    continue;
                }
                let logs = dest
                    .provider
                    .get_logs(
                        &Filter::new()
                            .address(*dest.inbox.address())
                            .event_signature(Inbox::Delivered::SIGNATURE_HASH)
                            .from_block(route.next_block)
                            .to_block(head),
                    )
                    .await
                    .context("reading the Inbox's Delivered events")?;
                // The Inbox also delivers other routes' messages: only this route's count.
                let sent: std::collections::HashSet<B256> =
                    route.sent.iter().map(|(id, _)| *id).collect();
                let now = Instant::now();
                for log in logs {
                    if let Some(id) = log.topics().get(1)
                        && sent.contains(id)
                        && route.delivered.insert(*id, now).is_some()
                    {
                        route.repeated += 1;
                    }
                }
                route.next_block = head + 1;
            }
            Side::Fabric => {
                let (ledger, client) = net.fabric.as_ref().context("no Fabric network")?;
                let waiting: Vec<B256> = route
                    .sent
                    .iter()
                    .map(|(id, _)| *id)
                    .filter(|id| !route.delivered.contains_key(id))
                    .collect();
                for id in waiting {
                    let answer = evaluate_text(
                        client,
                        ledger.channel(),
                        INBOX_CHAINCODE,
                        "isDelivered",
                        vec![format!("{id:#x}").into_bytes()],
                    )
                    .await?;
                    if answer.trim() == "true" {
                        route.delivered.insert(id, Instant::now());
                    }
                }
            }
            Side::Fisco => {
                let fisco = net.fisco.as_ref().context("no FISCO BCOS node")?;
                let waiting: Vec<B256> = route
                    .sent
                    .iter()
                    .map(|(id, _)| *id)
                    .filter(|id| !route.delivered.contains_key(id))
                    .collect();
                for id in waiting {
                    if fisco.delivered(id).await? {
                        route.delivered.insert(id, Instant::now());
                    }
                }
            }
        }
    }
    Ok(())
}

/// One block on each chain: the last dispatches need one on top to be final.
pub(crate) async fn mine(chains: &[DevChain]) -> Result<()> {
    for c in chains {
        c.provider.evm_mine(None).await.context("mining a block")?;
    }
    Ok(())
}

/// Messages delivered on every route, counting at most the sent ones of each.
pub(crate) fn delivered(routes: &[Route]) -> u64 {
    routes
        .iter()
        .map(|r| r.delivered.len().min(r.sent.len()) as u64)
        .sum()
}

pub(crate) fn progress(routes: &[Route]) -> String {
    routes
        .iter()
        .map(|r| {
            format!(
                "{}: {}/{} delivered",
                r.name,
                r.delivered.len().min(r.sent.len()),
                r.sent.len()
            )
        })
        .collect::<Vec<_>>()
        .join("  |  ")
}

/// Checks that no message was delivered twice: each EVM Inbox emitted one `Delivered` per
/// message, and the Fabric recipient chaincode handled as many messages as were sent to it.
async fn exactly_once(net: &LocalNet, routes: &[Route]) -> Result<()> {
    for route in routes {
        ensure!(
            route.repeated == 0,
            "{}: {} messages were delivered twice",
            route.name,
            route.repeated
        );
        if route.to == Side::Fabric {
            let (ledger, client) = net.fabric.as_ref().context("no Fabric network")?;
            let handled: usize = evaluate_text(
                client,
                ledger.channel(),
                RECIPIENT_CHAINCODE,
                "count",
                vec![],
            )
            .await?
            .trim()
            .parse()
            .context("the recipient chaincode's count is not a number")?;
            ensure!(
                handled == route.sent.len(),
                "{}: the recipient chaincode handled {handled} messages, {} were sent",
                route.name,
                route.sent.len()
            );
        }
        if route.to == Side::Fisco {
            let fisco = net.fisco.as_ref().context("no FISCO BCOS node")?;
            let handled = fisco.handled().await?;
            ensure!(
                handled == alloy::primitives::U256::from(route.sent.len()),
                "{}: the FISCO BCOS recipient handled {handled} messages, {} were sent",
                route.name,
                route.sent.len()
            );
        }
    }
    Ok(())
}

/// Exports every delivered message's proof bundle from the first member's store and checks each
/// with `causeway verify` against a trust file of the lane. Returns how many verified.
async fn verify_bundles(
    exe: &Path,
    dir: &Path,
    member: &MemberFolder,
    routes: &[Route],
    committee: &Committee,
    net: &LocalNet,
) -> Result<usize> {
    let validators = ValidatorSet::new(
        committee.keys().iter().map(|k| k.address()).collect(),
        usize::from(committee.threshold()),
    )?;
    let store = SqliteStore::open(member.store())
        .with_context(|| format!("opening {}", member.store().display()))?;
    let mut verified = 0;
    for route in routes {
        let out = dir.join("bundles").join(route.name.replace("->", "-to-"));
        let lane = Lane {
            origin: route.signing_domain.origin,
            destination: route.signing_domain.destination,
        };
        // An EVM origin's native proofs are checked against its Outbox; a Fabric origin's
        // would need its MSP roots in the trust file (reported as not checked).
        let outbox = match route.from {
            Side::Evm(i) => Some(EvmAddress(net.chains[i].outbox.address().into_array())),
            Side::Fabric | Side::Fisco => None,
        };
        // The member's own store may need a moment to catch up with the checkpoint the
        // delivering member used (its log, or a co-signature, still on the way).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let written = super::bundles::export(
                &store,
                lane,
                route.signing_domain,
                &validators,
                outbox,
                &out,
            )
            .unwrap_or(0);
            if written >= route.sent.len() {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "{}: {} holds a threshold checkpoint over {written} of the {} messages",
                route.name,
                member.store().display(),
                route.sent.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut bundles: Vec<PathBuf> = std::fs::read_dir(&out)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("bundle-"))
            })
            .collect();
        bundles.sort();
        let status = Command::new(exe)
            .arg("verify")
            .args(&bundles)
            .arg("--trust")
            .arg(out.join("trust.json"))
            .stdout(Stdio::null())
            .status()
            .await?;
        ensure!(
            status.success(),
            "{}: `causeway verify` rejected a bundle in {}",
            route.name,
            out.display()
        );
        verified += bundles.len();
    }
    Ok(verified)
}

fn summary(routes: &[Route], verified: usize, dir: &Path, members: &[MemberFolder]) {
    eprintln!(
        "\ndone: every message delivered exactly once where it was sent, and its proof verified"
    );
    for r in routes {
        let mut latencies: Vec<f64> = r
            .sent
            .iter()
            .filter_map(|(id, at)| {
                r.delivered
                    .get(id)
                    .map(|d| d.saturating_duration_since(*at).as_secs_f64())
            })
            .collect();
        latencies.sort_by(f64::total_cmp);
        let pick = |p: f64| {
            let i =
                ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
            latencies.get(i).copied().unwrap_or(0.0)
        };
        eprintln!(
            "  {:<18} {:>5} messages  dispatch mined -> delivered: p50 {:.2} s, p99 {:.2} s",
            r.name,
            r.sent.len(),
            pick(0.5),
            pick(0.99)
        );
    }
    eprintln!(
        "  {verified} proof bundles verified by `causeway verify` (in {}/bundles)",
        dir.display()
    );
    eprintln!("next:");
    eprintln!(
        "  the gateways' logs:     {}/org*/gateway.log",
        dir.display()
    );
    eprintln!(
        "  a gateway's config:     {}",
        members[0].config().display()
    );
    let lane_dir = dir.join("bundles").join("alliance-to-public");
    let first = std::fs::read_dir(&lane_dir).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("bundle-"))
            })
            .min()
    });
    if let Some(bundle) = first {
        eprintln!(
            "  check a bundle:         causeway verify {} --trust {}",
            bundle.display(),
            lane_dir.join("trust.json").display()
        );
    }
}
