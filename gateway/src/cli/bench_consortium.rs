//! `causeway bench consortium`: the gateway service as a consortium runs it — three member
//! gateways (`causeway run` processes, 2 of 3 over mutual TLS) and two anvil chains, as `causeway
//! devnet` starts them — under an offered load: `--rate` messages per second dispatched on the
//! alliance chain to the public chain for `--seconds`. Reports latency from the dispatch's block
//! to the delivery seen on the destination (p50, p99), duplicate deliveries and the gas they
//! wasted, and each gateway's CPU time per delivered message (from /proc).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes};
use alloy::providers::Provider as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use anyhow::{Context, Result, ensure};
use causeway_devnet::DevChain;
use causeway_devnet::contracts::{Inbox, Outbox};
use causeway_devnet::fixtures::address32;
use causeway_gateway::devnet::Layout;
use clap::Args;

use super::devnet::{
    LocalNet, Route, check_running, mine, observe, run_local, start_chains, start_consortium,
    start_gateways,
};

/// Arguments of `causeway bench consortium`.
#[derive(Args, Debug)]
pub(crate) struct ConsortiumArgs {
    /// Messages offered per second (alliance -> public).
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// How long the load is offered.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// `[relayer] batch_size` of the gateways.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// `[relayer] delivery_grace_ms` of the gateways.
    #[arg(long, default_value_t = 2000)]
    grace_ms: u64,
    /// Give up waiting for the last deliveries after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Catch-up instead of an offered load: dispatch MESSAGES (final) before the gateways
    /// start, time the three gateways delivering them from their start, and compare with the
    /// public chain's batch ceiling measured right after on the same chains (`--rate` and
    /// `--seconds` are not used).
    #[arg(long, value_name = "MESSAGES")]
    catch_up: Option<usize>,
}

pub(crate) fn run(args: &ConsortiumArgs) -> Result<()> {
    ensure!(
        args.rate > 0 && args.seconds > 0,
        "--rate and --seconds must be positive"
    );
    match args.catch_up {
        Some(n) => {
            ensure!(n > 0, "--catch-up needs at least 1 message");
            run_local("the bench", async |net| catch_up(args, n, net).await)
        }
        None => run_local("the bench", async |net| consortium(args, net).await),
    }
}

/// `--catch-up N`: N final messages waiting before the gateways start.
async fn catch_up(args: &ConsortiumArgs, n: usize, net: &mut LocalNet) -> Result<()> {
    let (dir, layout) = folder_and_layout(args)?;
    let (mut routes, committee) = start_chains(net, false).await?;
    routes.truncate(1); // alliance -> public carries the load
    eprintln!("dispatching {n} messages alliance -> public before the gateways start");
    super::bench::dispatch(&net.chains[0], *net.chains[1].recipient.address(), n).await?;
    mine(&net.chains).await?;
    let from = &net.chains[0];
    let dispatched = from
        .provider
        .get_logs(
            &Filter::new()
                .address(*from.outbox.address())
                .event_signature(Outbox::Dispatch::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .context("reading the dispatches")?;
    let at = Instant::now();
    for log in dispatched {
        if let Some(id) = log.topics().get(1) {
            routes[0].sent.push((*id, at));
        }
    }
    ensure!(
        routes[0].sent.len() == n,
        "{} dispatches found on the alliance chain, {n} expected",
        routes[0].sent.len()
    );

    let started = Instant::now();
    start_gateways(dir.path(), &layout, net, &committee).await?;
    let running_after = started.elapsed();
    let pids = gateway_pids(net);
    let tick = clock_ticks_per_second()?;
    // Every dispatch is final already: no blocks on the origin (see `wait_delivered`).
    wait_delivered(net, &mut routes, n, args.timeout, dir.path(), false).await?;
    // Everything since each process started (start-up and catching up the chains included).
    let cpu = cpu_of(&pids, tick)?;
    let last = routes[0]
        .delivered
        .values()
        .max()
        .copied()
        .context("nothing delivered")?;
    let elapsed = last.saturating_duration_since(started).as_secs_f64();
    let waste = duplicate_gas(&net.chains[1]).await?;
    // The chain's ceiling on the same chains, the gateways stopped (they would relay the
    // ceiling's fresh messages too).
    net.stop_gateways().await;
    let ceiling = super::bench::batch_ceiling(
        &net.chains[0],
        &net.chains[1],
        &committee,
        routes[0].signing_domain,
        args.batch_size,
        n,
    )
    .await
    .context("measuring the batch ceiling")?;
    let rate = n as f64 / elapsed;
    println!(
        "bench consortium --catch-up: 3 gateways (2 of 3), {n} messages final before they started, batch {}, grace {} ms",
        args.batch_size, args.grace_ms
    );
    println!(
        "  relay {rate:.1} msgs/s (all delivered {elapsed:.2} s after the gateways were started; running after {:.2} s), batch ceiling {ceiling:.1} msgs/s: relay / ceiling {:.2}",
        running_after.as_secs_f64(),
        rate / ceiling
    );
    waste.print();
    for (i, (name, _)) in pids.iter().enumerate() {
        println!(
            "  {name}: CPU {:.2} s, {:.0} µs per delivered message (start-up included)",
            cpu[i],
            cpu[i] * 1e6 / n as f64
        );
    }
    Ok(())
}

async fn consortium(args: &ConsortiumArgs, net: &mut LocalNet) -> Result<()> {
    let (dir, layout) = folder_and_layout(args)?;
    let (_members, mut routes, _committee) =
        start_consortium(dir.path(), &layout, net, false).await?;
    routes.truncate(1); // alliance -> public carries the load
    let pids = gateway_pids(net);
    let tick = clock_ticks_per_second()?;
    let cpu_before = cpu_of(&pids, tick)?;

    let n = (u64::from(args.rate) * args.seconds) as usize;
    eprintln!(
        "offering {} messages/s alliance -> public for {} s ({n} messages), batch size {}, grace {} ms",
        args.rate, args.seconds, args.batch_size, args.grace_ms
    );
    let (from, to) = (&net.chains[0], &net.chains[1]);
    let period = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let start = tokio::time::Instant::now();
    let mut pending = Vec::with_capacity(n);
    let mut last_report = Instant::now();
    let mut bar = super::progress::Progress::new(n as u64, Duration::ZERO);
    for i in 0..n {
        tokio::time::sleep_until(start + period * i as u32).await;
        // Automine: the dispatch is mined when the node accepts it.
        pending.push((send(from, to, i).await?, Instant::now()));
        if i % 64 == 0 {
            resolve(&mut pending, &mut routes[0].sent).await?;
            observe(net, &mut routes).await?;
            if last_report.elapsed() >= Duration::from_secs(2) {
                let delivered = super::devnet::delivered(&routes);
                bar.set(delivered, super::devnet::progress(&routes));
                last_report = Instant::now();
            }
        }
    }
    drop(bar);
    let offered_for = start.elapsed();
    while !pending.is_empty() {
        resolve(&mut pending, &mut routes[0].sent).await?;
    }
    wait_delivered(net, &mut routes, n, args.timeout, dir.path(), true).await?;
    let cpu_after = cpu_of(&pids, tick)?;

    let route = &routes[0];
    let mut latencies: Vec<f64> = route
        .sent
        .iter()
        .filter_map(|(id, at)| {
            route
                .delivered
                .get(id)
                .map(|d| d.saturating_duration_since(*at).as_secs_f64())
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pick = |p: f64| {
        let i = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    let waste = duplicate_gas(&net.chains[1]).await?;
    println!(
        "bench consortium: 3 gateways (2 of 3), offered {} msg/s for {:.1} s, batch {}, grace {} ms",
        args.rate,
        offered_for.as_secs_f64(),
        args.batch_size,
        args.grace_ms
    );
    println!(
        "  latency dispatch mined -> delivered seen (20 ms polling): p50 {:.3} s, p99 {:.3} s, max {:.3} s ({} messages)",
        pick(0.5),
        pick(0.99),
        pick(1.0),
        latencies.len()
    );
    waste.print();
    for (i, (name, _)) in pids.iter().enumerate() {
        let cpu = cpu_after[i] - cpu_before[i];
        println!(
            "  {name}: CPU {:.2} s, {:.0} µs per delivered message",
            cpu,
            cpu * 1e6 / n as f64
        );
    }
    Ok(())
}

/// The bench's folder (removed at the end) and the gateways' layout from `args`.
fn folder_and_layout(args: &ConsortiumArgs) -> Result<(tempfile::TempDir, Layout)> {
    let dir = tempfile::Builder::new()
        .prefix("causeway-bench-consortium-")
        .tempdir()
        .context("creating a folder in the temporary directory")?;
    let layout = Layout {
        batch_size: args.batch_size,
        delivery_grace_ms: args.grace_ms,
        ..Layout::default()
    };
    Ok((dir, layout))
}

/// Each running gateway's name and process id.
fn gateway_pids(net: &LocalNet) -> Vec<(String, u32)> {
    net.gateways
        .iter()
        .filter_map(|(name, child)| child.id().map(|pid| (name.clone(), pid)))
        .collect()
}

/// The CPU seconds each of `pids` has used so far.
fn cpu_of(pids: &[(String, u32)], tick: f64) -> Result<Vec<f64>> {
    pids.iter()
        .map(|(_, pid)| cpu_seconds(*pid, tick))
        .collect()
}

/// Mines and watches the destination until `n` messages of the first route are delivered (a
/// line of progress every 2 s), failing after `timeout_secs` or when a gateway exits.
/// `mine_origin` false (catch-up: every dispatch final before the gateways start) mines only the
/// other chains: an empty block on the origin every 20 ms cost its anvil about half of its CPU
/// in `bench relay`'s catch-up profile, on the cores the gateways run on.
async fn wait_delivered(
    net: &mut LocalNet,
    routes: &mut [Route],
    n: usize,
    timeout_secs: u64,
    logs: &std::path::Path,
    mine_origin: bool,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    let mut last_report = Instant::now();
    let mut bar = super::progress::Progress::new(n as u64, Duration::ZERO);
    loop {
        check_running(net)?;
        observe(net, routes).await?;
        if routes[0].delivered.len() >= n {
            bar.finish(format!("{n} of {n} delivered"));
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{} of {n} delivered within the timeout; logs in {}",
            routes[0].delivered.len(),
            logs.display()
        );
        if last_report.elapsed() >= Duration::from_secs(2) {
            let delivered = routes[0].delivered.len();
            bar.set(delivered as u64, format!("{delivered} of {n} delivered"));
            last_report = Instant::now();
        }
        let from = usize::from(!mine_origin);
        mine(net.chains.get(from..).unwrap_or_default()).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send(
    from: &DevChain,
    to: &DevChain,
    i: usize,
) -> Result<alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>> {
    from.outbox
        .dispatch(
            to.spec.domain.0,
            address32(*to.recipient.address()).0.into(),
            Bytes::from(format!("bench message {i}").into_bytes()),
        )
        .send()
        .await
        .context("sending a dispatch")
}

/// A dispatch sent, and when (automine: when it was mined).
type Pending = (
    alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    Instant,
);

/// Resolves the ids of the dispatches sent, with when each was mined.
async fn resolve(pending: &mut Vec<Pending>, sent: &mut Vec<(B256, Instant)>) -> Result<()> {
    for (tx, at) in pending.drain(..) {
        let receipt = tx.get_receipt().await.context("waiting for a dispatch")?;
        ensure!(receipt.status(), "a dispatch reverted");
        let id = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<Outbox::Dispatch>().ok())
            .map(|e| e.inner.data.id)
            .context("a dispatch without its Dispatch event")?;
        sent.push((id, at));
    }
    Ok(())
}

/// Deliveries on a destination and the gas duplicates cost.
struct Waste {
    delivered: usize,
    skipped: usize,
    transactions: usize,
    gas_total: u128,
    gas_wasted: u128,
}

impl Waste {
    /// One line of the bench's report.
    fn print(&self) {
        println!(
            "  deliveries: {} messages, {} duplicate sends skipped by the Inbox; {} delivery transactions, gas {} of which {} ({:.3}%) on duplicates",
            self.delivered,
            self.skipped,
            self.transactions,
            self.gas_total,
            self.gas_wasted,
            100.0 * self.gas_wasted as f64 / self.gas_total.max(1) as f64
        );
    }
}

/// Each delivery transaction's gas, shared among its messages: the share of the messages the
/// Inbox skipped as already delivered is wasted.
async fn duplicate_gas(dest: &DevChain) -> Result<Waste> {
    let logs = dest
        .provider
        .get_logs(&Filter::new().address(*dest.inbox.address()).from_block(0))
        .await?;
    let mut per_tx: HashMap<B256, (usize, usize)> = HashMap::new();
    for log in logs {
        let Some(tx) = log.transaction_hash else {
            continue;
        };
        match log.topic0() {
            Some(t) if *t == Inbox::Delivered::SIGNATURE_HASH => {
                per_tx.entry(tx).or_default().0 += 1
            }
            Some(t) if *t == Inbox::AlreadyDeliveredSkipped::SIGNATURE_HASH => {
                per_tx.entry(tx).or_default().1 += 1
            }
            _ => {}
        }
    }
    let mut waste = Waste {
        delivered: 0,
        skipped: 0,
        transactions: per_tx.len(),
        gas_total: 0,
        gas_wasted: 0,
    };
    for (tx, (delivered, skipped)) in per_tx {
        let receipt = dest
            .provider
            .get_transaction_receipt(tx)
            .await?
            .context("a delivery transaction without a receipt")?;
        let gas = u128::from(receipt.gas_used);
        waste.delivered += delivered;
        waste.skipped += skipped;
        waste.gas_total += gas;
        waste.gas_wasted += gas * skipped as u128 / (delivered + skipped).max(1) as u128;
    }
    Ok(waste)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of /proc CPU times.
pub(crate) fn clock_ticks_per_second() -> Result<f64> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .context("running getconf CLK_TCK")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("getconf CLK_TCK did not print a number")
}

/// User plus system CPU seconds of process `pid` so far (/proc/PID/stat fields 14 and 15).
pub(crate) fn cpu_seconds(pid: u32, tick: f64) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("an unexpected /proc stat line")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) / tick)
}
