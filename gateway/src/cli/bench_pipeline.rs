//! `causeway bench pipeline`: the gateway itself, without chains. Three member gateways (one
//! process each, 2 of 3, the peer protocol over loopback mutual TLS) take the same messages from
//! an in-memory source ([`causeway_gateway::memnet`]) through native-proof verification, the
//! log, signing, the exchange of signatures and batch assembly; the destination is in memory
//! and checks each batch as the Inbox would, with no chain submission. Reports messages per
//! second (every gateway done), each gateway's CPU time per message (from /proc) and the time
//! each stage spent per message.
//!
//! Each member is `causeway bench pipeline-member` (hidden): it builds its in-memory chains from
//! its configuration, starts the gateway ([`Node::start_wired`]), prints one `started` line and,
//! once its destination holds every message, one `done` line with its figures, then serves on
//! (its signatures may still be needed by the others) until SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use causeway_config::Config;
use causeway_devnet::fixtures::Committee;
use causeway_devnet::{CHAIN_A, CHAIN_B};
use causeway_gateway::devnet::{ChainEntry, Layout, write_member_folders};
use causeway_gateway::memnet::{self, Load};
use causeway_gateway::node::{Node, NodeOptions};
use clap::Args;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::devnet::LocalNet;
use zeroize::Zeroizing;

/// The label the pipeline bench committee's keys derive from.
const COMMITTEE: &str = "causeway-bench-pipeline";
/// The label the members' (unused) delivery signer keys derive from.
const SIGNERS: &str = "causeway-bench-pipeline-signers";
/// Members, and how many of them must sign.
const MEMBERS: usize = 3;
const THRESHOLD: u8 = 2;

/// Arguments of `causeway bench pipeline`.
#[derive(Args, Debug)]
pub(crate) struct PipelineArgs {
    /// Messages through the lane.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// `[relayer] batch_size` of the gateways.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Messages per source block.
    #[arg(long, default_value_t = 100)]
    per_block: usize,
    /// Body size of each message, in bytes.
    #[arg(long, default_value_t = 256)]
    body_bytes: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Keep the members' folders (keys, configurations, stores, logs) in DIR instead of a
    /// temporary folder removed at the end.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Run the gateways without metrics: no /metrics listener and no metric updates (to
    /// measure what they cost; the stage columns are then 0).
    #[arg(long)]
    no_metrics: bool,
    /// Keep the first member's store (org1's) in PostgreSQL instead of SQLite: a private
    /// cluster this command starts (Debian's postgresql 15, fsync on) and stops, to compare the
    /// two stores in one run.
    #[arg(long)]
    postgres: bool,
}

/// Arguments of `causeway bench pipeline-member` (started by `bench pipeline`).
#[derive(Args, Debug)]
pub(crate) struct MemberArgs {
    /// The member's configuration.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Messages through each lane.
    #[arg(long)]
    messages: usize,
    /// Messages per source block.
    #[arg(long)]
    per_block: usize,
    /// Body size of each message, in bytes.
    #[arg(long)]
    body_bytes: usize,
    /// No metrics (see `bench pipeline --no-metrics`).
    #[arg(long)]
    no_metrics: bool,
}

/// What a member reports once its destination holds every message.
#[derive(Debug, Serialize, Deserialize)]
struct Done {
    /// Unix time (ms) just before the gateway started.
    started_ms: u64,
    /// Unix time (ms) its destination first held every message.
    done_ms: u64,
    /// Its CPU time so far (user + system), in seconds.
    cpu_seconds: f64,
    /// Stage time summed over the run, in microseconds: watch, verify, append (log), attest
    /// (sign), submit (batch check and delivery to the in-memory destination).
    stages_micros: [u64; 5],
    /// Checkpoints it signed.
    checkpoints: u64,
    /// Signatures it received from the other members.
    member_signatures: u64,
    /// Batches it assembled and delivered.
    submissions: u64,
}

/// The stages in [`Done::stages_micros`]'s order.
const STAGES: [&str; 5] = ["watch", "verify", "log", "sign", "batch"];

/// `causeway bench pipeline`.
pub(crate) fn run(args: &PipelineArgs) -> Result<()> {
    ensure!(args.messages > 0, "--messages must be at least 1");
    ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    ensure!(args.per_block > 0, "--per-block must be at least 1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // `--postgres`: a private cluster that outlives the member gateways (stopped after them).
    let postgres = args
        .postgres
        .then(|| {
            causeway_devnet::postgres::PostgresNode::start_with(
                causeway_devnet::postgres::Durability::Durable,
            )
            .context(
                "starting a private PostgreSQL cluster for --postgres (scripts/setup.sh \
                 installs Debian's postgresql 15)",
            )
        })
        .transpose()?;
    runtime.block_on(async {
        let mut net = LocalNet::default();
        let outcome = tokio::select! {
            r = pipeline(args, postgres.as_ref(), &mut net) => r,
            signal = super::devnet::stop_signal() => {
                eprintln!("\n{}: stopping the member gateways", signal?);
                Ok(())
            }
        };
        net.stop_gateways().await;
        outcome
    })
}

async fn pipeline(
    args: &PipelineArgs,
    postgres: Option<&causeway_devnet::postgres::PostgresNode>,
    net: &mut LocalNet,
) -> Result<()> {
    let temp;
    let dir: &Path = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("causeway-bench-pipeline-")
                .tempdir()
                .context("creating a folder in the temporary directory")?;
            temp.path()
        }
    };
    let committee = Committee::new(COMMITTEE, MEMBERS, THRESHOLD);
    let signers = Committee::new(SIGNERS, MEMBERS, THRESHOLD);
    let entry = |name: &str, spec: causeway_devnet::ChainSpec, outbox: u8, inbox: u8| ChainEntry {
        name: name.to_owned(),
        domain: spec.domain.0,
        chain_id: spec.chain_id,
        // Never contacted: the members run on in-memory chains.
        endpoint: "http://127.0.0.1:9".to_owned(),
        outbox: format!("0x{}", hex::encode([outbox; 20])),
        inbox: format!("0x{}", hex::encode([inbox; 20])),
        signers: signers
            .keys()
            .iter()
            .map(|k| Zeroizing::new(*k.secret_bytes()))
            .collect(),
    };
    let chains = [
        entry("alliance", CHAIN_A, 0xa0, 0xa1),
        entry("public", CHAIN_B, 0xb0, 0xb1),
    ];
    let layout = Layout {
        batch_size: args.batch_size,
        // Every member delivers every batch to its own in-memory destination at once: each
        // assembles and checks every batch.
        delivery_grace_ms: 0,
        poll_interval_ms: 20,
        first_signer: 0,
    };
    let folders = write_member_folders(
        dir,
        &committee,
        &chains,
        None,
        &[("alliance", "public")],
        &layout,
    )?;
    if let (Some(node), Some(first)) = (postgres, folders.first()) {
        postgres_store(node, first)?;
    }
    eprintln!(
        "bench pipeline: {} messages alliance -> public through {MEMBERS} member gateways \
         ({THRESHOLD} of {MEMBERS}, peer protocol over loopback mutual TLS), in-memory source \
         and destination; folders in {}{}{}",
        args.messages,
        dir.display(),
        if args.no_metrics {
            "; metrics off (no /metrics, no metric updates: the stage columns stay 0)"
        } else {
            ""
        },
        match postgres {
            Some(node) => format!(
                "; org1's store on PostgreSQL (127.0.0.1:{}, fsync on), the others' on SQLite",
                node.port()
            ),
            None => String::new(),
        }
    );

    let exe = std::env::current_exe().context("finding this program's path")?;
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<(usize, String)>(64);
    for (i, folder) in folders.iter().enumerate() {
        let log = std::fs::File::create(folder.log())
            .with_context(|| format!("creating {}", folder.log().display()))?;
        let mut child = Command::new(&exe)
            .args(["bench", "pipeline-member", "--config"])
            .arg(folder.config())
            .args(["--messages", &args.messages.to_string()])
            .args(["--per-block", &args.per_block.to_string()])
            .args(["--body-bytes", &args.body_bytes.to_string()])
            .args(args.no_metrics.then_some("--no-metrics"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}'s gateway", folder.name))?;
        let stdout = child.stdout.take().context("the member's stdout")?;
        let tx = lines_tx.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send((i, line)).await.is_err() {
                    return;
                }
            }
        });
        net.gateways.push((folder.name.clone(), child));
    }
    drop(lines_tx);

    let mut done: Vec<Option<Done>> = (0..folders.len()).map(|_| None).collect();
    // Each member's deliveries so far and its total; the bar shows their sum.
    let mut progress_of: Vec<(u64, u64)> = vec![(0, 0); folders.len()];
    let mut bar = super::progress::Progress::new(0, Duration::from_secs(5));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    while done.iter().any(Option::is_none) {
        let next = tokio::time::timeout_at(deadline, lines.recv()).await;
        match next {
            Err(_) => bail!(
                "not every gateway was done within {} s; their logs are in {}",
                args.timeout,
                dir.display()
            ),
            Ok(None) => bail!(
                "a member gateway exited before it was done; its log is in {}",
                dir.display()
            ),
            Ok(Some((i, line))) => {
                if let Some(figures) = line.strip_prefix("progress ") {
                    let mut parts = figures.split(' ').map(str::parse::<u64>);
                    if let (Some(Ok(delivered)), Some(Ok(total))) = (parts.next(), parts.next()) {
                        progress_of[i] = (delivered, total);
                        let (sum, total) = progress_of
                            .iter()
                            .fold((0, 0), |(s, t), (d, n)| (s + d, t + n));
                        bar.set_total(total);
                        bar.set(
                            sum,
                            format_args!("{sum}/{total} deliveries across the gateways"),
                        );
                    }
                } else if let Some(json) = line.strip_prefix("done ") {
                    let report: Done = serde_json::from_str(json)
                        .with_context(|| format!("{}'s report {json}", folders[i].name))?;
                    eprintln!(
                        "{}: done in {:.2} s",
                        folders[i].name,
                        (report.done_ms.saturating_sub(report.started_ms)) as f64 / 1e3
                    );
                    done[i] = Some(report);
                }
            }
        }
    }
    bar.finish("every gateway delivered every message");
    let reports: Vec<Done> = done.into_iter().flatten().collect();
    print_table(args, &reports, &net.gateways);
    if let Some(node) = postgres {
        print_server_cpu(node, args.messages)?;
    }
    Ok(())
}

/// Points `folder`'s member (`--postgres`) at a database of its own on `node` (the password
/// in a file beside its keys, as an operator would).
fn postgres_store(
    node: &causeway_devnet::postgres::PostgresNode,
    folder: &causeway_gateway::devnet::MemberFolder,
) -> Result<()> {
    node.create_database("bench")
        .context("creating the bench database")?;
    causeway_gateway::files::write_secret_file(
        &folder.dir.join("keys/postgres.password"),
        format!("{}\n", node.password()).as_bytes(),
    )?;
    let config = folder.config();
    let mut text = std::fs::read_to_string(&config)
        .with_context(|| format!("reading {}", config.display()))?;
    text += &format!(
        "\n[storage]\npostgres_url = \"postgres://{}@127.0.0.1:{}/bench\"\n\
         postgres_password_file = \"keys/postgres.password\"\n",
        causeway_devnet::postgres::POSTGRES_USER,
        node.port()
    );
    std::fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;
    Ok(())
}

/// `--postgres`: the CPU org1's PostgreSQL server used over the run, per message, beside the
/// gateways' own (work the SQLite members do in their own processes).
fn print_server_cpu(node: &causeway_devnet::postgres::PostgresNode, messages: usize) -> Result<()> {
    let tick = super::bench_consortium::clock_ticks_per_second()?;
    match node.server_cpu_ticks() {
        Some(ticks) => println!(
            "org1's PostgreSQL server: CPU {:.0} µs/msg ({:.2} s user + system: the postmaster, \
             its background processes and the backends)",
            ticks as f64 / tick * 1e6 / messages as f64,
            ticks as f64 / tick
        ),
        None => eprintln!("org1's PostgreSQL server's CPU could not be read from /proc"),
    }
    Ok(())
}

fn print_table(args: &PipelineArgs, reports: &[Done], members: &[(String, Child)]) {
    let n = args.messages as f64;
    let first = reports.iter().map(|r| r.started_ms).min().unwrap_or(0);
    let last = reports.iter().map(|r| r.done_ms).max().unwrap_or(0);
    let seconds = (last.saturating_sub(first)) as f64 / 1e3;
    let cpu: Vec<String> = reports
        .iter()
        .zip(members)
        .map(|(r, (name, _))| format!("{name} {:.0}", r.cpu_seconds * 1e6 / n))
        .collect();
    let stage_mean = |s: usize| {
        reports
            .iter()
            .map(|r| r.stages_micros[s] as f64 / n)
            .sum::<f64>()
            / reports.len() as f64
    };
    println!(
        "| gateways | messages | batch | msgs/s | CPU µs/msg per gateway | {} |",
        STAGES
            .iter()
            .map(|s| format!("{s} µs/msg"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---:|---:|---:|---:|---|{}", "---:|".repeat(STAGES.len()));
    println!(
        "| {} | {} | {} | {:.0} | {} | {} |",
        reports.len(),
        args.messages,
        args.batch_size,
        n / seconds.max(1e-3),
        cpu.join(", "),
        (0..STAGES.len())
            .map(|s| format!("{:.1}", stage_mean(s)))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    eprintln!(
        "msgs/s: from the first gateway's start to the last one holding every message; CPU: \
         each process's user + system time from its start (start-up included) over the \
         messages; stage µs/msg: the time each stage spent, summed over the run, over the \
         messages (mean of the gateways; stages overlap, so they do not add up to the CPU)"
    );
    for (r, (name, _)) in reports.iter().zip(members) {
        eprintln!(
            "{}: {} checkpoints signed, {} signatures received from the other members, {} \
             batches assembled and delivered",
            name, r.checkpoints, r.member_signatures, r.submissions
        );
    }
}

/// `causeway bench pipeline-member`: one member gateway on in-memory chains.
pub(crate) fn member(args: &MemberArgs) -> Result<()> {
    let config =
        Config::load(&args.config).with_context(|| format!("loading {}", args.config.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve_member(args, &config))
}

async fn serve_member(args: &MemberArgs, config: &Config) -> Result<()> {
    let load = Load {
        messages: args.messages,
        per_block: args.per_block,
        body_bytes: args.body_bytes,
    };
    let wiring = memnet::wire(config, load)?;
    let destinations = wiring.destinations;
    let want = args.messages;
    let tick = super::bench_consortium::clock_ticks_per_second()?;
    let started_ms = unix_ms();
    let options = NodeOptions {
        metrics: !args.no_metrics,
        ..NodeOptions::from_config(config)
    };
    let node = Node::start_wired(config, wiring.wired, options).await?;
    println!("started {started_ms}");
    let reader = node.relayer().metrics_reader();
    let stop = super::devnet::stop_signal();
    tokio::pin!(stop);
    let mut reported = false;
    let mut last_progress = std::time::Instant::now();
    loop {
        tokio::select! {
            signal = &mut stop => {
                tracing::info!(signal = signal?, "stopping");
                break;
            }
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if reported {
            continue;
        }
        // Progress for the parent's bar, twice a second (a line on a pipe: no cost to speak of).
        if last_progress.elapsed() >= Duration::from_millis(500) {
            let delivered: u64 = destinations
                .iter()
                .map(|(_, d)| (d.delivered_count() as u64).min(want as u64))
                .sum();
            println!(
                "progress {delivered} {}",
                want as u64 * destinations.len() as u64
            );
            last_progress = std::time::Instant::now();
        }
        let halted = reader.halted_origins();
        if !halted.is_empty() {
            node.shutdown().await?;
            bail!("origin(s) {halted:?} halted; see the log");
        }
        if destinations
            .iter()
            .all(|(_, d)| d.delivered_count() >= want)
        {
            let done_ms = unix_ms();
            let cpu_seconds = super::bench_consortium::cpu_seconds(std::process::id(), tick)?;
            let snapshot = reader.snapshot();
            let (o, l) = (snapshot.all_origins(), snapshot.all_lanes());
            let report = Done {
                started_ms,
                done_ms,
                cpu_seconds,
                stages_micros: [
                    o.watch_seconds.sum_micros,
                    o.verify_seconds.sum_micros,
                    o.append_seconds.sum_micros,
                    l.attest_seconds.sum_micros,
                    l.submit_seconds.sum_micros,
                ],
                checkpoints: l.checkpoints,
                member_signatures: l.member_signatures,
                submissions: l.submissions,
            };
            println!("done {}", serde_json::to_string(&report)?);
            reported = true;
        }
    }
    node.shutdown().await
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
