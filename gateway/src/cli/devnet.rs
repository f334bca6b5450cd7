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
use causeway_devnet::contracts::{Inbox, Outbox};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use causeway_gateway::devnet::{Layout, LocalChain, MemberFolder, write_members};
use causeway_proofs::{EvmAddress, SigningDomain, ValidatorSet};
use causeway_relayer::store::{Lane, SqliteStore};
use tokio::process::{Child, Command};

/// The committee's deterministic key label (three members, threshold 2).
const COMMITTEE: &str = "causeway-devnet";
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
}

pub(crate) fn run(args: &DevnetArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    runtime.block_on(async {
        let mut net = LocalNet::default();
        let outcome = tokio::select! {
            r = devnet(args, &mut net) => r,
            signal = stop_signal() => {
                eprintln!("\n{}: stopping everything devnet started", signal?);
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
}

impl LocalNet {
    /// SIGTERM to every gateway (they drain and exit 0), SIGKILL after [`STOP_TIMEOUT`], then
    /// the chains.
    pub(crate) async fn stop(&mut self) {
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
        // Dropping a chain kills its anvil process.
        self.chains.clear();
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

/// One direction between the two chains.
pub(crate) struct Route {
    pub(crate) name: String,
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) signing_domain: SigningDomain,
    /// Dispatched message ids and when their dispatch was mined.
    pub(crate) sent: Vec<(B256, Instant)>,
    /// Delivered ids and when they were seen delivered.
    pub(crate) delivered: HashMap<B256, Instant>,
    /// The first destination block not yet read for deliveries.
    next_block: u64,
}

/// Starts the chains, writes the members' folders under `dir` and starts their gateways; the
/// chains and gateways go into `net`. Returns the members and the two routes (nothing sent yet).
pub(crate) async fn start_consortium(
    dir: &Path,
    layout: &Layout,
    net: &mut LocalNet,
) -> Result<(Vec<MemberFolder>, Vec<Route>, Committee)> {
    eprintln!(
        "[1/4] starting two anvil chains: alliance (chain id {}) and public (chain id {})",
        CHAIN_A.chain_id, CHAIN_B.chain_id
    );
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
    net.chains = vec![alliance, public];

    eprintln!(
        "[2/4] writing the members' keys, certificates and configurations to {}",
        dir.display()
    );
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
    let members = write_members(dir, &committee, &chains, layout)?;

    eprintln!("[3/4] starting the member gateways (causeway run, one process each)");
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
        eprintln!(
            "      {}: config {}  store {}  log {}",
            m.name,
            m.config().display(),
            m.store().display(),
            m.log().display()
        );
    }
    let routes = vec![
        Route {
            name: "alliance->public".into(),
            from: 0,
            to: 1,
            signing_domain: to_public,
            sent: Vec::new(),
            delivered: HashMap::new(),
            next_block: 0,
        },
        Route {
            name: "public->alliance".into(),
            from: 1,
            to: 0,
            signing_domain: to_alliance,
            sent: Vec::new(),
            delivered: HashMap::new(),
            next_block: 0,
        },
    ];
    Ok((members, routes, committee))
}

async fn devnet(args: &DevnetArgs, net: &mut LocalNet) -> Result<()> {
    let dir = folder(args.dir.as_deref())?;
    eprintln!("causeway devnet: a local consortium of three member gateways (2 of 3), no docker");
    let (members, mut routes, committee) = start_consortium(&dir, &Layout::default(), net).await?;
    let exe = std::env::current_exe().context("finding this program's path")?;
    match args.messages {
        Some(n) => {
            eprintln!("[4/4] sending {n} messages each way and waiting for them to be delivered");
            for route in &mut routes {
                let (from, to) = (&net.chains[route.from], &net.chains[route.to]);
                route.sent = dispatch(from, to, n, &route.name).await?;
            }
            let deadline = Instant::now() + Duration::from_secs(args.timeout);
            let mut last = Instant::now();
            loop {
                check_running(net)?;
                observe(&net.chains, &mut routes).await?;
                let done = routes.iter().all(|r| r.delivered.len() >= r.sent.len());
                if done || last.elapsed() >= Duration::from_secs(1) {
                    eprintln!("      {}", progress(&routes));
                    last = Instant::now();
                }
                if done {
                    break;
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
            let verified =
                verify_bundles(&exe, &dir, &members[0], &routes, &committee, &net.chains).await?;
            summary(&routes, verified, &dir, &members);
            Ok(())
        }
        None => {
            eprintln!("[4/4] sending a message each way every second; Ctrl-C stops everything");
            let mut i = 0usize;
            loop {
                check_running(net)?;
                for route in &mut routes {
                    let (from, to) = (&net.chains[route.from], &net.chains[route.to]);
                    let tag = format!("{} #{i}", route.name);
                    route.sent.extend(dispatch(from, to, 1, &tag).await?);
                }
                observe(&net.chains, &mut routes).await?;
                eprintln!("      {}", progress(&routes));
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
        check_running(net)?;
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

/// Dispatches `n` messages from `from`'s Outbox to `to`'s example recipient.
async fn dispatch(
    from: &DevChain,
    to: &DevChain,
    n: usize,
    tag: &str,
) -> Result<Vec<(B256, Instant)>> {
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let body = Bytes::from(format!("{tag} message {i}").into_bytes());
        pending.push(
            from.outbox
                .dispatch(
                    to.spec.domain.0,
                    address32(*to.recipient.address()).0.into(),
                    body,
                )
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

/// Marks the messages each destination's Inbox reports delivered (reading only the blocks not
/// read before).
pub(crate) async fn observe(chains: &[DevChain], routes: &mut [Route]) -> Result<()> {
    for route in routes {
        let dest = &chains[route.to];
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
        let now = Instant::now();
        for log in logs {
            if let Some(id) = log.topics().get(1) {
                route.delivered.entry(*id).or_insert(now);
            }
        }
        route.next_block = head + 1;
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

/// Exports every delivered message's proof bundle from the first member's store and checks each
/// with `causeway verify` against a trust file of the lane. Returns how many verified.
async fn verify_bundles(
    exe: &Path,
    dir: &Path,
    member: &MemberFolder,
    routes: &[Route],
    committee: &Committee,
    chains: &[DevChain],
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
        let outbox = EvmAddress(chains[route.from].outbox.address().into_array());
        let written = super::bundles::export(
            &store,
            lane,
            route.signing_domain,
            &validators,
            outbox,
            &out,
        )?;
        ensure!(
            written >= route.sent.len(),
            "{}: {written} bundles exported for {} messages",
            route.name,
            route.sent.len()
        );
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
    eprintln!("\ndone: every message delivered exactly where it was sent, and its proof verified");
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
    eprintln!(
        "  check a bundle:         causeway verify {}/bundles/alliance-to-public/bundle-000000.json --trust {}/bundles/alliance-to-public/trust.json",
        dir.display(),
        dir.display()
    );
}
