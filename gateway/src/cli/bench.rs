//! `causeway bench relay`: the relayer end to end on two fresh local anvil chains, beside the
//! raw rate at which the destination chain accepts plain value transfers.
//!
//! Times are wall-clock [`Instant`]s (anvil block timestamps have 1 s resolution): a source
//! block's instant is taken when the `evm_mine` that produced it returns; a delivery's
//! instant is taken when a poller (every 10 ms) first sees the destination block holding its
//! `Delivered` event.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use anyhow::{Context, Result, anyhow, bail, ensure};
use causeway_adapters::evm::{
    EvmDestination, EvmDestinationConfig, EvmSource, EvmSourceConfig, Finality,
};
use causeway_devnet::contracts::{Inbox, Outbox};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use causeway_proofs::{EvmAddress, HashAlgorithm, ValidatorKey, ValidatorSet};
use causeway_relayer::Relayer;
use causeway_relayer::pipeline::{LaneConfig, MultiSigner, OriginConfig, PipelineConfig};
use causeway_relayer::store::{Lane, LeaseOwner, RetryPolicy, SqliteStore};
use clap::{Args, Subcommand};

use super::progress::{Progress, step};

/// Dev account of chain B the relayer sends from (account 0 is the admin).
const RELAYER_ACCOUNT: usize = 5;
/// Dispatch transactions per source block.
const PER_BLOCK: usize = 100;
/// Gas limit of one dispatch.
const DISPATCH_GAS: u64 = 200_000;
/// Lowest max fee per gas of a raw transfer (wei): 100 gwei.
const MAX_FEE_FLOOR: u128 = 100_000_000_000;
/// The label the bench committee's keys derive from.
const COMMITTEE: &str = "causeway-bench";

/// `causeway bench ...`
#[derive(Subcommand, Debug)]
pub(crate) enum BenchCommand {
    /// Relay messages A -> B on fresh anvil chains for each batch size and compare with the
    /// raw value-transfer rate of chain B.
    Relay(RelayArgs),
    /// Three member gateways (`causeway run` processes, 2 of 3 over mutual TLS) under an
    /// offered load: latency, duplicate deliveries and their gas, CPU per delivered message.
    Consortium(super::bench_consortium::ConsortiumArgs),
    /// The gateway without chains: three member gateways (processes, 2 of 3 over mutual TLS)
    /// take messages from an in-memory source through verify, log, sign, the exchange of
    /// signatures and batch assembly (no chain submission): messages per second, CPU per
    /// message per gateway, time per stage.
    Pipeline(super::bench_pipeline::PipelineArgs),
    /// One member gateway of `bench pipeline` (started by it).
    #[command(hide = true)]
    PipelineMember(super::bench_pipeline::MemberArgs),
}

/// Arguments of `causeway bench relay`.
#[derive(Args, Debug)]
pub(crate) struct RelayArgs {
    /// Messages dispatched on chain A per batch size.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Batch sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,128")]
    batch_sizes: Vec<usize>,
    /// Confirmations on chain A before a dispatch is final (and on B before a delivery is).
    #[arg(long, default_value_t = 1)]
    confirmations: u64,
    /// Raw value transfers for the baseline.
    #[arg(long, default_value_t = 2000)]
    transfers: usize,
    /// Give up on one batch size after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
    /// After each batch size, write every delivered message's proof bundle and the lane's
    /// trust file into DIR/batch-<size>/ (check them with `causeway verify`).
    #[arg(long, value_name = "DIR")]
    export_bundles: Option<PathBuf>,
    /// Dispatch every message (and make it final) before the relayer starts, and time the
    /// relay from its start: the rate a relayer catches up at, comparable with the chain's
    /// batch ceiling. Without it, messages are relayed while they are dispatched.
    #[arg(long)]
    catch_up: bool,
    /// Delivery rounds the relayer runs at once per lane (see `PipelineConfig::deliver_workers`).
    #[arg(long, default_value_t = 1)]
    deliver_workers: usize,
}

/// Runs a bench subcommand.
pub(crate) fn run(cmd: &BenchCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cmd {
        // A signal drops the run, and with it every anvil node it started.
        BenchCommand::Relay(args) => runtime.block_on(async {
            tokio::select! {
                r = relay(args) => r,
                signal = super::devnet::stop_signal() => {
                    eprintln!("\n{}: stopping the anvil nodes the bench started", signal?);
                    Ok(())
                }
            }
        }),
        BenchCommand::Consortium(args) => {
            drop(runtime);
            super::bench_consortium::run(args)
        }
        BenchCommand::Pipeline(args) => {
            drop(runtime);
            super::bench_pipeline::run(args)
        }
        BenchCommand::PipelineMember(args) => {
            drop(runtime);
            super::bench_pipeline::member(args)
        }
    }
}

/// One row of the table.
#[derive(Debug)]
struct Row {
    batch_size: usize,
    messages: usize,
    msgs_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    gas_per_msg: f64,
    raw_per_sec: f64,
    raw_kicks: usize,
    /// Automine kicks chain B needed while the relayer's transactions waited (see
    /// [`kick_stalled_automine`]).
    relay_kicks: usize,
    /// CPU (user and system, from /proc) of this process per delivered message, from the
    /// relayer's start to the last delivery: the relayer, and the bench's own polling.
    cpu_us_per_msg: f64,
    /// The chain's batch ceiling: the same number of fresh messages, in pre-built, pre-signed
    /// delivery transactions of the same batch size, sent back to back by a trivial sender.
    ceiling_per_sec: f64,
}

async fn relay(args: &RelayArgs) -> Result<()> {
    ensure!(args.messages > 0, "--messages must be at least 1");
    ensure!(args.transfers > 0, "--transfers must be at least 1");
    ensure!(
        !args.batch_sizes.is_empty() && args.batch_sizes.iter().all(|b| *b > 0),
        "--batch-sizes must list positive sizes"
    );
    step(format!(
        "mode: {}",
        if args.catch_up {
            "catch-up (every message final before the relayer starts; rates and latencies from its start)"
        } else {
            "live (messages relayed while they are dispatched; latencies from each source block)"
        }
    ));
    let mut rows = Vec::new();
    let sizes = args.batch_sizes.len();
    for (i, &batch_size) in args.batch_sizes.iter().enumerate() {
        let started = Instant::now();
        step(format!(
            "[{}/{sizes}] batch size {batch_size}: starting two anvil chains (and a third for the baseline)",
            i + 1
        ));
        let row = one_batch_size(args, batch_size).await?;
        step(format!(
            "      batch size {batch_size}: done in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        rows.push(row);
    }
    print_table(&rows);
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "| batch size | messages | msgs/s | p50 ms | p99 ms | gas/msg | raw transfers/s | ratio | automine kicks | relay kicks | relay CPU µs/msg | batch ceiling msgs/s | relay/ceiling |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.1} | {:.2} | {} | {} | {:.0} | {:.1} | {:.2} |",
            r.batch_size,
            r.messages,
            r.msgs_per_sec,
            r.p50_ms,
            r.p99_ms,
            r.gas_per_msg,
            r.raw_per_sec,
            r.msgs_per_sec / r.raw_per_sec,
            r.raw_kicks,
            r.relay_kicks,
            r.cpu_us_per_msg,
            r.ceiling_per_sec,
            r.msgs_per_sec / r.ceiling_per_sec,
        );
    }
}

/// What the destination poller saw.
#[derive(Default)]
struct Deliveries {
    /// Message id -> instant its delivery block was observed.
    seen: HashMap<B256, Instant>,
    /// Gas used by the transactions that delivered them.
    gas: u128,
}

async fn one_batch_size(args: &RelayArgs, batch_size: usize) -> Result<Row> {
    // The raw-transfer baseline runs on its own node, a fresh copy of B (same chain id and
    // contracts), stopped before the relay starts. On B itself it wedged the relay: anvil's
    // automine stalls now and then under a deep queue from one sender (foundry-rs/foundry
    // #10122), the baseline kicks it with `evm_mine`, and that one block takes the whole
    // backlog (1,042 transfers in one run) while automine still holds one ready-notification per
    // transaction: it then mines one empty block per notification before it looks at a new
    // transaction. The relayer's first deliveries waited behind thousands of empty blocks (each
    // slower as the node writes old states to its cache), 2–6 minutes, replaced every 60 s.
    // Reproduced without Causeway (anvil 1.7.1: 2,000 back-to-back transfers, one `evm_mine`
    // with 847 pending, then a transfer from another account waited 6 s behind 844 empty blocks).
    let (a, b, baseline_chain) = tokio::try_join!(
        DevChain::start(CHAIN_A),
        DevChain::start(CHAIN_B),
        DevChain::start(CHAIN_B)
    )
    .context("starting the chains")?;
    let committee = Committee::new(COMMITTEE, 3, 2);
    let signing_domain = committee
        .install(&b.inbox, CHAIN_A.domain, CHAIN_A.chain_id)
        .await
        .context("configuring the committee on chain B")?;

    // The baseline first, on a fresh copy of chain B (see above), stopped before the relay.
    step(format!(
        "      baseline: {} raw transfers on a fresh copy of chain B",
        args.transfers
    ));
    let raw = raw_transfers(&baseline_chain, args.transfers).await?;
    drop(baseline_chain);

    // The destination poller.
    let n = args.messages;
    let delivered = Arc::new(AtomicUsize::new(0));
    let watcher = tokio::spawn(watch_deliveries(
        b.provider.clone(),
        *b.inbox.address(),
        n,
        Duration::from_secs(args.timeout_secs),
        Arc::clone(&delivered),
    ));
    step(format!(
        "      relaying {n} messages A -> B in batches of {batch_size}"
    ));

    // Live: the relayer runs before anything is dispatched. Catch-up: every message is
    // dispatched and final first, and the relay is timed from the relayer's start.
    let tick = super::bench_consortium::clock_ticks_per_second()?;
    let mut cpu_before = super::bench_consortium::cpu_seconds(std::process::id(), tick)?;
    let (mined, first_mined, relayer) = if args.catch_up {
        let mined = dispatch(&a, *b.recipient.address(), n).await?;
        for _ in 0..args.confirmations {
            a.provider.evm_mine(None).await?;
        }
        cpu_before = super::bench_consortium::cpu_seconds(std::process::id(), tick)?;
        let started = Instant::now();
        let relayer = start_relayer(&a, &b, &committee, signing_domain, batch_size, args).await?;
        (mined, started, relayer)
    } else {
        let relayer = start_relayer(&a, &b, &committee, signing_domain, batch_size, args).await?;
        // Dispatch on A, PER_BLOCK per block, recording when each block was mined.
        let mined = dispatch(&a, *b.recipient.address(), n).await?;
        let first_mined = mined
            .values()
            .min()
            .copied()
            .ok_or_else(|| anyhow!("no block mined"))?;
        (mined, first_mined, relayer)
    };
    let BenchRelayer {
        handle,
        store: store_for_export,
        trusted,
        _dir,
    } = relayer;

    // Live: keep A moving so the last dispatches become final, until everything is delivered.
    // Catch-up: every dispatch is final already, and an empty block on A costs anvil
    // milliseconds (more as the chain grows): mining one every 50 ms took ~half of A's CPU
    // in a profile of the catch-up, beside the relayer on the same cores.
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut bar = Progress::new(n as u64, Duration::from_secs(2));
    let mut automine = AutomineWatch::new(b.provider.get_block_number().await?);
    while !watcher.is_finished() {
        if Instant::now() > deadline {
            bail!("timed out waiting for {n} deliveries");
        }
        let so_far = delivered.load(Ordering::Relaxed);
        bar.set(
            so_far as u64,
            format!("batch size {batch_size}: {so_far}/{n} delivered"),
        );
        if !args.catch_up {
            a.provider.evm_mine(None).await?;
        }
        kick_stalled_automine(&b, &mut automine).await?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deliveries = watcher.await.context("destination poller")??;
    let cpu = super::bench_consortium::cpu_seconds(std::process::id(), tick)? - cpu_before;
    bar.finish(format!("batch size {batch_size}: {n}/{n} delivered"));
    handle.shutdown().await;
    if let Some(root) = &args.export_bundles {
        let out = root.join(format!("batch-{batch_size}"));
        let written = super::bundles::export(
            &store_for_export,
            Lane {
                origin: CHAIN_A.domain,
                destination: CHAIN_B.domain,
            },
            signing_domain,
            &trusted,
            Some(EvmAddress(a.outbox.address().into_array())),
            &out,
        )?;
        eprintln!(
            "batch size {batch_size}: {written} bundles in {}",
            out.display()
        );
    }

    // Source inclusion per message: its Dispatch event's block.
    let filter = Filter::new()
        .address(*a.outbox.address())
        .event_signature(Outbox::Dispatch::SIGNATURE_HASH)
        .from_block(0);
    let mut latencies = Vec::with_capacity(n);
    let mut last_delivery = first_mined;
    for log in a.provider.get_logs(&filter).await? {
        let id = *log
            .topics()
            .get(1)
            .ok_or_else(|| anyhow!("Dispatch without id"))?;
        let block = log
            .block_number
            .ok_or_else(|| anyhow!("Dispatch log without block"))?;
        let source = mined
            .get(&block)
            .ok_or_else(|| anyhow!("dispatch in block {block}, which the bench did not mine"))?;
        let delivered = deliveries
            .seen
            .get(&id)
            .ok_or_else(|| anyhow!("message {id} dispatched but not delivered"))?;
        last_delivery = last_delivery.max(*delivered);
        // Catch-up: from the relayer's start (every message was final before it).
        let from = (*source).max(first_mined);
        latencies.push(delivered.duration_since(from).as_secs_f64() * 1e3);
    }
    ensure!(
        latencies.len() == n,
        "{} dispatches found, {n} expected",
        latencies.len()
    );
    latencies.sort_by(f64::total_cmp);
    let elapsed = last_delivery.duration_since(first_mined).as_secs_f64();

    // The chain's ceiling, on the same chains right after the relay: as many fresh messages,
    // in pre-built, pre-signed batches of the same size.
    step(format!(
        "      batch ceiling: {n} messages in pre-signed batches of {batch_size}"
    ));
    let ceiling_per_sec = batch_ceiling(&a, &b, &committee, signing_domain, batch_size, n)
        .await
        .context("measuring the batch ceiling")?;

    Ok(Row {
        batch_size,
        messages: n,
        msgs_per_sec: n as f64 / elapsed,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        gas_per_msg: deliveries.gas as f64 / n as f64,
        raw_per_sec: raw.per_sec,
        raw_kicks: raw.kicks,
        relay_kicks: automine.kicks,
        cpu_us_per_msg: cpu * 1e6 / n as f64,
        ceiling_per_sec,
    })
}

/// The relayer of one `bench relay` run, running.
struct BenchRelayer {
    handle: causeway_relayer::RelayerHandle,
    store: Arc<SqliteStore>,
    trusted: ValidatorSet,
    /// The store's directory, removed when the run ends.
    _dir: tempfile::TempDir,
}

/// Starts the relayer A -> B (one process, 2 of 3 local keys) with a fresh store.
async fn start_relayer(
    a: &DevChain,
    b: &DevChain,
    committee: &Committee,
    signing_domain: causeway_proofs::SigningDomain,
    batch_size: usize,
    args: &RelayArgs,
) -> Result<BenchRelayer> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let store = Arc::new(SqliteStore::open(dir.path().join("relayer.db"))?);
    let store_for_export = Arc::clone(&store);
    let source = EvmSource::new(EvmSourceConfig::new(
        a.node.endpoint(),
        CHAIN_A.domain,
        *a.outbox.address(),
        Finality::Confirmations(args.confirmations),
    ))?;
    let mut dest_config =
        EvmDestinationConfig::new(b.node.endpoint(), CHAIN_B.domain, *b.inbox.address());
    dest_config.chain_id = Some(CHAIN_B.chain_id);
    let key = b
        .node
        .dev_keys()
        .get(RELAYER_ACCOUNT)
        .ok_or_else(|| anyhow!("anvil has no dev account {RELAYER_ACCOUNT}"))?
        .to_bytes();
    let destination = EvmDestination::new(dest_config, &key.0)?;
    let keys = committee.keys();
    let copy = |k: &ValidatorKey| ValidatorKey::from_bytes(&k.secret_bytes());
    let signer = MultiSigner::new(vec![copy(&keys[0])?, copy(&keys[2])?]);
    let validators = ValidatorSet::new(keys.iter().map(ValidatorKey::address).collect(), 2)?;
    let trusted = validators.clone();
    let handle = Relayer::new(
        store,
        Arc::new(signer),
        pipeline_config(args.confirmations, args.deliver_workers),
    )
    .origin(OriginConfig {
        verifier: Arc::new(source.verifier()),
        source: Arc::new(source),
        start_height: 0,
    })
    .lane(LaneConfig {
        limits: Default::default(),
        destination: Arc::new(destination),
        signing_domain,
        validators,
        hash_algorithm: HashAlgorithm::Sha256,
        batch_size,
        rota: None,
    })
    .spawn()
    .await?;

    Ok(BenchRelayer {
        handle,
        store: store_for_export,
        trusted,
        _dir: dir,
    })
}

/// Nearest-rank percentile of sorted, non-empty `values`.
fn percentile(values: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn pipeline_config(confirmations: u64, deliver_workers: usize) -> PipelineConfig {
    PipelineConfig {
        owner: LeaseOwner("bench-relayer".into()),
        channel_capacity: 4,
        max_in_flight: 4,
        source_poll: Duration::from_millis(20),
        source_backoff: Duration::from_millis(100),
        source_backoff_max: Duration::from_secs(1),
        deliver_poll: Duration::from_millis(20),
        confirm_poll: Duration::from_millis(20),
        confirmations,
        lease_for: Duration::from_secs(30),
        clock_skew: Duration::from_secs(3),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_attempts: 100,
        },
        checkpoint_interval: Duration::ZERO,
        deliver_workers,
    }
}

/// Dispatches `n` messages to `recipient` on chain `a` with automine off, [`PER_BLOCK`] per
/// block, and returns the instant each block was mined, by block number.
pub(crate) async fn dispatch(
    a: &DevChain,
    recipient: Address,
    n: usize,
) -> Result<HashMap<u64, Instant>> {
    let p = &a.provider;
    let first = a.outbox.nonce().call().await?;
    let mut mined = HashMap::new();
    p.anvil_set_auto_mine(false).await?;
    let indices: Vec<usize> = (0..n).collect();
    for chunk in indices.chunks(PER_BLOCK) {
        for i in chunk {
            let call = Outbox::dispatchCall {
                destination: CHAIN_B.domain.0,
                recipient: address32(recipient).0.into(),
                body: Bytes::from(format!("bench message {i:06}").into_bytes()),
            };
            let request = TransactionRequest::default()
                .from(a.admin)
                .to(*a.outbox.address())
                .input(Bytes::from(call.abi_encode()).into())
                .gas_limit(DISPATCH_GAS);
            // Not awaiting receipts: the node pools them until the block is mined.
            let _pending = p.send_transaction(request).await?;
        }
        p.evm_mine(None).await?;
        mined.insert(p.get_block_number().await?, Instant::now());
    }
    let want = first + n as u64;
    for _ in 0..100 {
        if a.outbox.nonce().call().await? == want {
            break;
        }
        p.evm_mine(None).await?;
        mined.insert(p.get_block_number().await?, Instant::now());
    }
    p.anvil_set_auto_mine(true).await?;
    ensure!(
        a.outbox.nonce().call().await? == want,
        "not every dispatch was mined"
    );
    Ok(mined)
}

/// Polls chain B every 10 ms for new blocks and their `Delivered` events until `n` messages
/// were delivered; sums the gas of the delivering transactions.
/// The fields of a `Delivered` log [`watch_deliveries`] reads (the node's JSON has more).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveredLog {
    topics: Vec<B256>,
    transaction_hash: Option<B256>,
}

async fn watch_deliveries<P: Provider>(
    provider: P,
    inbox: Address,
    n: usize,
    timeout: Duration,
    delivered: Arc<AtomicUsize>,
) -> Result<Deliveries> {
    let deadline = Instant::now() + timeout;
    let mut out = Deliveries::default();
    let mut txs = HashSet::new();
    let mut next = provider.get_block_number().await? + 1;
    while out.seen.len() < n {
        ensure!(
            Instant::now() < deadline,
            "timed out waiting for deliveries"
        );
        let head = provider.get_block_number().await?;
        if head >= next {
            let observed = Instant::now();
            let filter = Filter::new()
                .address(inbox)
                .event_signature(Inbox::Delivered::SIGNATURE_HASH)
                .from_block(next)
                .to_block(head);
            // Only the id topic and the transaction are read: the node's logs are parsed
            // into `DeliveredLog`, not alloy's `Log` (this loop runs in the process whose CPU
            // the bench reports as the relay's, once per block).
            let logs: Vec<DeliveredLog> = provider
                .raw_request("eth_getLogs".into(), (&filter,))
                .await?;
            for log in logs {
                let id = *log
                    .topics
                    .get(1)
                    .ok_or_else(|| anyhow!("Delivered without id"))?;
                out.seen.entry(id).or_insert(observed);
                if let Some(tx) = log.transaction_hash
                    && txs.insert(tx)
                {
                    let receipt = provider
                        .get_transaction_receipt(tx)
                        .await?
                        .ok_or_else(|| anyhow!("no receipt for delivery {tx}"))?;
                    out.gas += u128::from(receipt.gas_used);
                }
            }
            next = head + 1;
            delivered.store(out.seen.len(), Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(out)
}

/// The baseline's result.
struct RawRate {
    /// Transfers per second, first send to last receipt.
    per_sec: f64,
    /// How often automine had to be kicked with `evm_mine` (see [`raw_transfers`]).
    kicks: usize,
}

/// How long the baseline waits for the next block while transfers are pending before it
/// kicks anvil's automine with one `evm_mine`.
const AUTOMINE_STALL: Duration = Duration::from_millis(500);

/// How long the account's nonce may stay put, with blocks coming or kicked, before the
/// pre-signed transactions from that nonce on are sent again (see [`send_pre_signed`]); and
/// how long a raw transfer of the baseline may go without a receipt before it is sent again
/// (see [`raw_transfers`]).
const NONCE_STALL: Duration = Duration::from_secs(3);

/// Sends `m` plain value transfers to `b`, each from its own fresh account (nonce 0, funded
/// with `anvil_setBalance` before the clock starts; signed locally), back to back without
/// awaiting receipts (automine), and returns the accepted transfers per second from the first
/// send to the last receipt.
///
/// One sender per transfer, not one account's nonce chain: anvil's `eth_sendRawTransaction`
/// reads the sender's on-chain nonce, awaits the transaction's validation, then files it in
/// its pool as requiring the marker `(sender, nonce - 1)` whenever its nonce is above the one
/// it read. Under load a block can be mined in that await, taking `nonce - 1` out of the pool:
/// the new transaction then waits forever for a marker nothing in the pool provides; it and
/// every later nonce stay pending (not ready), every `evm_mine` kick mines an empty block, and
/// a copy sent again is refused as known. (Reproduced at load ~12 with two busy loops beside
/// the bench: "58 of 64 mined after 120 s, 227 automine kicks, 0 re-sent".) A transaction at
/// its sender's on-chain nonce requires no marker, so it is ready the moment it is filed and
/// nothing mined in between can strand it. The transfers stay what they were (21,000 gas,
/// automine, the same node), so the figure still measures the chain's raw transfer rate.
///
/// anvil's automine also sometimes stops with ready transactions in its pool (foundry-rs/foundry
/// #10122: `txpool_status` shows them pending, the head stays put until something else mines).
/// The baseline therefore kicks it with one `evm_mine` after [`AUTOMINE_STALL`] without a new
/// block, counts the kicks, and keeps the stall time in its elapsed time (the rate is not
/// flattered).
async fn raw_transfers(b: &DevChain, m: usize) -> Result<RawRate> {
    ensure!(m > 0, "--transfers must be at least 1");
    let to = Address::repeat_byte(0x42);
    let p = &b.provider;
    let chain_id = p.get_chain_id().await?;
    let fees = p.estimate_eip1559_fees().await?;
    let mut raws = Vec::with_capacity(m);
    let mut hashes = Vec::with_capacity(m);
    for i in 0..m {
        // A fixed, distinct key per transfer (a bench key, never a secret): keccak of a label
        // and the index, far below the curve order.
        let seed = alloy::primitives::keccak256(format!("causeway bench raw transfer {i}"));
        let signer = alloy::signers::local::PrivateKeySigner::from_bytes(&seed)?;
        p.anvil_set_balance(signer.address(), U256::from(10u128.pow(21)))
            .await?;
        let mut tx = TxEip1559 {
            chain_id,
            nonce: p.get_transaction_count(signer.address()).await?,
            gas_limit: 21_000,
            max_fee_per_gas: fees.max_fee_per_gas.max(MAX_FEE_FLOOR) * 4,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: TxKind::Call(to),
            value: U256::from(1),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let signature = signer.sign_transaction_sync(&mut tx)?;
        let envelope: TxEnvelope = tx.into_signed(signature).into();
        hashes.push(*envelope.tx_hash());
        raws.push(envelope.encoded_2718());
    }

    let started = Instant::now();
    for (raw, hash) in raws.iter().zip(&hashes) {
        let sent = *p.send_raw_transaction(raw).await?.tx_hash();
        ensure!(
            sent == *hash,
            "anvil returned hash {sent} for raw transfer {hash}: the node is not the one signed for"
        );
    }
    // Receipts are awaited in send order; `mined` counts the leading run that has one.
    let mut mined = 0;
    let mut kicks = 0;
    let mut resent = 0;
    let mut head = p.get_block_number().await?;
    let mut head_seen = Instant::now();
    let mut progress_seen = Instant::now();
    while mined < m {
        while mined < m && p.get_transaction_receipt(hashes[mined]).await?.is_some() {
            mined += 1;
            progress_seen = Instant::now();
        }
        if mined == m {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(120),
            "raw transfers not all mined after 120 s: {mined} of {m}, {kicks} automine kicks, \
             {resent} re-sent"
        );
        if progress_seen.elapsed() > NONCE_STALL {
            // Blocks come (or are kicked) but this transfer has no receipt: the node lost it.
            // It needs nothing else in the pool, so sending it again is safe (a copy the pool
            // still holds is refused as known, and that refusal is ignored).
            if p.send_raw_transaction(&raws[mined]).await.is_ok() {
                resent += 1;
            }
            progress_seen = Instant::now();
        }
        let now = p.get_block_number().await?;
        if now != head {
            head = now;
            head_seen = Instant::now();
        } else if head_seen.elapsed() > AUTOMINE_STALL {
            p.evm_mine(None).await?;
            kicks += 1;
            head_seen = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    if resent > 0 {
        tracing::warn!(
            resent,
            kicks,
            "anvil lost raw transfers of the baseline; they were sent again"
        );
    }
    Ok(RawRate {
        per_sec: m as f64 / elapsed.as_secs_f64(),
        kicks,
    })
}

/// Chain B's head as the relay phase last saw it move, and the kicks it took.
struct AutomineWatch {
    head: u64,
    since: Instant,
    kicks: usize,
}

impl AutomineWatch {
    fn new(head: u64) -> Self {
        AutomineWatch {
            head,
            since: Instant::now(),
            kicks: 0,
        }
    }
}

/// During the relay: when chain B's head has not moved for [`AUTOMINE_STALL`] while
/// deliveries are outstanding, kicks B with one `evm_mine` (the automine stall of
/// [`raw_transfers`]). A delivery every few tens of milliseconds moves the head in a healthy
/// run; the kicks are counted, and the stall stays in the relay's elapsed time. (The minutes-long
/// stalls of the relayer's first deliveries were the baseline's kick on the same node, see
/// [`one_batch_size`]; a kick here takes at most the relayer's few pending transactions.)
async fn kick_stalled_automine(b: &DevChain, watch: &mut AutomineWatch) -> Result<()> {
    let p = &b.provider;
    let head = p.get_block_number().await?;
    if head != watch.head {
        watch.head = head;
        watch.since = Instant::now();
    } else if watch.since.elapsed() > AUTOMINE_STALL {
        p.evm_mine(None).await?;
        watch.kicks += 1;
        watch.since = Instant::now();
    }
    Ok(())
}

/// One call to pre-sign: recipient, value, input, gas limit.
type Call = (Address, U256, Bytes, u64);

/// Signs `calls` locally from dev account `account` of `b` (local nonces), sends the raw
/// transactions back to back without awaiting receipts (automine), and returns the time from the
/// first send to the last receipt and the automine kicks it took (see [`raw_transfers`]).
async fn send_pre_signed(
    b: &DevChain,
    account: usize,
    calls: Vec<Call>,
) -> Result<(Duration, usize)> {
    let signer = b
        .node
        .dev_keys()
        .get(account)
        .ok_or_else(|| anyhow!("anvil has no dev account {account}"))?
        .clone();
    let from = signer.address();
    let p = &b.provider;
    let chain_id = p.get_chain_id().await?;
    let nonce0 = p.get_transaction_count(from).await?;
    let fees = p.estimate_eip1559_fees().await?;
    let m = calls.len();
    let mut raws = Vec::with_capacity(m);
    let mut hashes = Vec::with_capacity(m);
    for (i, (to, value, input, gas_limit)) in calls.into_iter().enumerate() {
        let mut tx = TxEip1559 {
            chain_id,
            nonce: nonce0 + i as u64,
            gas_limit,
            // Room for the base fee to rise while the transactions land (after a relay run the
            // base fee has decayed to a few wei, and full blocks raise it 12.5% each).
            max_fee_per_gas: fees.max_fee_per_gas.max(MAX_FEE_FLOOR) * 4,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input,
        };
        let signature = signer.sign_transaction_sync(&mut tx)?;
        let envelope: TxEnvelope = tx.into_signed(signature).into();
        hashes.push(*envelope.tx_hash());
        raws.push(envelope.encoded_2718());
    }

    let started = Instant::now();
    let mut last = None;
    // In nonce order, without waiting for receipts: sends racing each other leave nonce gaps
    // anvil's automine does not always close.
    for raw in &raws {
        last = Some(*p.send_raw_transaction(raw).await?.tx_hash());
    }
    let last = last.ok_or_else(|| anyhow!("no transaction sent"))?;
    let want = nonce0 + m as u64;
    let mut kicks = 0;
    let mut head = p.get_block_number().await?;
    let mut head_seen = Instant::now();
    let mut nonce = nonce0;
    let mut nonce_seen = Instant::now();
    let mut resent = 0;
    loop {
        let now_nonce = p.get_transaction_count(from).await?;
        if now_nonce == want && p.get_transaction_receipt(last).await?.is_some() {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(120),
            "pre-signed transactions not all mined after 120 s: {} of {m} (account nonce \
             {now_nonce}, from {nonce0}), {kicks} automine kicks, {resent} re-sent",
            now_nonce.saturating_sub(nonce0),
        );
        if now_nonce != nonce {
            nonce = now_nonce;
            nonce_seen = Instant::now();
        } else if nonce_seen.elapsed() > NONCE_STALL {
            // Blocks come (or are kicked) but the account's nonce stays put: the pool lost the
            // next transaction, or holds it where its miner no longer looks (a CI run saw 33
            // transfers pending through 233 kicks, every copy sent again refused as known).
            // The rest are dropped from the pool and sent again from the account's nonce.
            let from_index = usize::try_from(now_nonce.saturating_sub(nonce0))?;
            for hash in hashes.iter().skip(from_index) {
                // Absent from the pool (lost) is fine: it is sent again below.
                let _ = p.anvil_drop_transaction(*hash).await;
            }
            for raw in raws.iter().skip(from_index) {
                if p.send_raw_transaction(raw).await.is_ok() {
                    resent += 1;
                }
            }
            nonce_seen = Instant::now();
        }
        let now = p.get_block_number().await?;
        if now != head {
            head = now;
            head_seen = Instant::now();
        } else if head_seen.elapsed() > AUTOMINE_STALL {
            p.evm_mine(None).await?;
            kicks += 1;
            head_seen = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    if resent > 0 {
        tracing::warn!(
            resent,
            kicks,
            "anvil stopped mining pre-signed transactions; they were dropped from its pool and sent again"
        );
    }
    Ok((started.elapsed(), kicks))
}

/// The dev account whose pre-signed delivery transactions measure the batch ceiling.
const CEILING_ACCOUNT: usize = 8;

/// The chain's own ceiling for deliveries of `n` fresh messages in batches of `batch_size`:
/// dispatches them on `a`, builds origin A's log from its Outbox's events, signs its checkpoint
/// with the committee (threshold), builds every `Inbox.deliverPacked` transaction (messages,
/// inclusion proofs, checkpoint, signatures), signs them all, then sends them back to back from
/// one account ([`send_pre_signed`]) and counts the `Delivered` events. Messages per second from
/// the first send to the last receipt.
pub(crate) async fn batch_ceiling(
    a: &DevChain,
    b: &DevChain,
    committee: &Committee,
    signing_domain: causeway_proofs::SigningDomain,
    batch_size: usize,
    n: usize,
) -> Result<f64> {
    use causeway_adapters::{DeliveryBatch, DeliveryItem};
    use causeway_proofs::log::Sha256Log;
    use causeway_proofs::{Checkpoint, LeafIndex, Message, Signature};

    dispatch(a, *b.recipient.address(), n).await?;
    a.provider.evm_mine(None).await?;
    let filter = Filter::new()
        .address(*a.outbox.address())
        .event_signature(Outbox::Dispatch::SIGNATURE_HASH)
        .from_block(0);
    let mut messages = Vec::new();
    for log in a.provider.get_logs(&filter).await? {
        let event = log.log_decode::<Outbox::Dispatch>()?;
        messages.push(Message::decode(&event.inner.data.message)?);
    }
    messages.sort_by_key(|m| m.nonce().0);
    let mut log = Sha256Log::new();
    for m in &messages {
        log.append(m.id().as_hash());
    }
    let size = log.size();
    let checkpoint = Checkpoint::new(CHAIN_A.domain, HashAlgorithm::Sha256, size, log.root())?;
    let signatures = committee
        .sign(&checkpoint, &signing_domain)
        .iter()
        .map(|s| Signature::from_slice(s))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let fresh = messages.len() - n;
    let block_gas_limit = b
        .provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .ok_or_else(|| anyhow!("chain B has no latest block"))?
        .header
        .gas_limit;
    let mut calls = Vec::new();
    let mut expected = 0;
    for chunk in (fresh..messages.len())
        .collect::<Vec<_>>()
        .chunks(batch_size)
    {
        let mut items = Vec::with_capacity(chunk.len());
        for &i in chunk {
            items.push(DeliveryItem {
                message: messages[i].clone(),
                proof: log.inclusion_proof(LeafIndex(i as u64), size)?,
            });
        }
        expected += items.len();
        let batch = DeliveryBatch {
            checkpoint,
            signatures: signatures.clone(),
            items,
        };
        // The Inbox gives every message its HANDLE_GAS: room for that at the end, and ~50k per
        // message (44-46k measured) before it; never above the block's gas limit.
        let gas = (1_000_000 + 50_000 * chunk.len() as u64).min(block_gas_limit);
        calls.push((
            *b.inbox.address(),
            U256::ZERO,
            causeway_adapters::evm::bindings::deliver_packed_calldata(&batch),
            gas,
        ));
    }
    let first_block = b.provider.get_block_number().await? + 1;
    let (elapsed, _kicks) = send_pre_signed(b, CEILING_ACCOUNT, calls).await?;
    let delivered = b
        .provider
        .get_logs(
            &Filter::new()
                .address(*b.inbox.address())
                .event_signature(Inbox::Delivered::SIGNATURE_HASH)
                .from_block(first_block),
        )
        .await?
        .len();
    ensure!(
        delivered == expected,
        "the ceiling's pre-signed batches delivered {delivered} of {expected} messages"
    );
    Ok(n as f64 / elapsed.as_secs_f64())
}
