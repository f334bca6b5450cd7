//! `causeway status --config FILE`: what a gateway has done and where it stands, read beside the
//! running gateway (as `hermes health-check` is): per lane the origin's log, the checkpoints
//! signed, the backlog, the last delivery and the dead letters; per chain the head, the final
//! height and how far the origin's cursor is behind it; per member whether its peer endpoint
//! accepts a connection now.
//!
//! Read-only: the store is opened with [`SqliteStore::open_read_only`] or
//! [`PgStore::open_read_only`] (no write lock, no migration, no instance claim; PostgreSQL's
//! sessions with `default_transaction_read_only = on`), so a running gateway and `status` never
//! wait for each other.
//! Exit 0 when it could report (a chain or peer that does not answer is part of the report), 2
//! when the configuration or the store cannot be read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use causeway_adapters::redact_endpoint;
use causeway_config::{Chain, ChainKind, Config, ConfigError, Endpoint, Finality, Storage};
use causeway_gateway::heights::{
    PROBE_TIMEOUT, evm_heights, fisco_head, scrub_urls, tcp_reachable,
};
use causeway_gateway::lanes::LaneState;
use causeway_relayer::store::{PgOptions, PgStore, SqliteOptions, SqliteStore, Store, UnixMillis};
use serde::Serialize;

use super::Outcome;

/// How many dead letters per lane the report lists.
const RECENT_DEAD_LETTERS: usize = 5;

/// Longest dead-letter reason shown in text, in characters.
const REASON_CHARS: usize = 160;

/// What the peer section checks, said wherever it is shown.
const PEER_NOTE: &str = "reachability checked now from this machine (a TCP connection to each \
                         member's peer endpoint, then a mutual-TLS handshake as this member), not \
                         the running gateway's own view of its links";

/// Arguments of `causeway status`.
#[derive(clap::Args, Debug)]
pub(crate) struct StatusArgs {
    /// The gateway's configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Print one JSON object (for scripts) instead of aligned text.
    #[arg(long)]
    json: bool,
}

/// Everything `status` reports.
#[derive(Serialize, Debug)]
struct Report {
    organisation: String,
    config: String,
    store: String,
    /// When the report was made (Unix milliseconds); every age is relative to it.
    now_ms: u64,
    lanes: Vec<LaneReport>,
    chains: Vec<ChainReport>,
    peers: PeersReport,
    /// The `[anchors.*]` entries (`status_anchors`).
    anchors: Vec<super::status_anchors::AnchorReport>,
}

#[derive(Serialize, Debug)]
pub(crate) struct ChainName {
    pub(crate) name: String,
    pub(crate) domain: u32,
}

#[derive(Serialize, Debug)]
struct LaneReport {
    name: String,
    origin: ChainName,
    destination: ChainName,
    paused: bool,
    /// Leaves in the origin's log.
    log_size: u64,
    threshold: u32,
    validators_configured: usize,
    /// The last checkpoint this gateway's validator signed.
    last_signed: Option<Signed>,
    /// The largest checkpoint with `threshold` signatures that count.
    last_threshold: Option<ThresholdCheckpoint>,
    validators: Vec<ValidatorReport>,
    equivocations: usize,
    backlog: Backlog,
    confirmed: u64,
    last_delivery: Option<Delivered>,
    dead_letters: u64,
    /// The most recent dead letters (at most [`RECENT_DEAD_LETTERS`]).
    recent_dead_letters: Vec<DeadLetterReport>,
}

#[derive(Serialize, Debug)]
struct DeadLetterReport {
    id: String,
    leaf_index: u64,
    attempts: u32,
    /// The last failure, URLs redacted (revert reasons come from recipients: untrusted text).
    reason: String,
    since_ms: u64,
    age_ms: u64,
}

#[derive(Serialize, Debug)]
struct Signed {
    size: u64,
    recorded_at_ms: u64,
    age_ms: u64,
}

#[derive(Serialize, Debug)]
struct ThresholdCheckpoint {
    size: u64,
    signatures: usize,
    recorded_at_ms: u64,
    age_ms: u64,
}

#[derive(Serialize, Debug)]
struct ValidatorReport {
    /// The configured member, or `None` for a validator the configuration does not name.
    member: Option<String>,
    address: String,
    checkpoints_signed: u64,
    last_size: Option<u64>,
    /// It signed two roots for one size on this lane: its signatures no longer count.
    equivocated: bool,
}

#[derive(Serialize, Debug)]
struct Backlog {
    pending: u64,
    leased: u64,
    submitted: u64,
    /// When the oldest message not yet delivered was accepted.
    oldest_since_ms: Option<u64>,
    oldest_age_ms: Option<u64>,
}

#[derive(Serialize, Debug)]
struct Delivered {
    confirmed_at_ms: u64,
    age_ms: u64,
    block: u64,
}

#[derive(Serialize, Debug)]
struct ChainReport {
    name: String,
    domain: u32,
    family: String,
    finality: String,
    /// The block the origin's watcher has read up to (all its events stored).
    source_cursor: Option<u64>,
    #[serde(flatten)]
    state: ChainState,
}

#[derive(Serialize, Debug)]
#[serde(tag = "status", rename_all = "snake_case")]
enum ChainState {
    /// An endpoint answered with the configured chain.
    Up {
        endpoint: String,
        head: u64,
        /// The highest final block under the configured finality (`None` while none is).
        final_height: Option<u64>,
        /// `head - final_height`.
        lag: Option<u64>,
        /// `final_height - source_cursor`: final blocks the watcher has still to read.
        cursor_behind_final: Option<u64>,
    },
    /// No endpoint answered as it should.
    Down { endpoints: Vec<EndpointError> },
    /// Heights are not read for this family; its endpoints accept connections.
    Reachable {
        endpoints: Vec<String>,
        note: String,
    },
}

#[derive(Serialize, Debug)]
struct EndpointError {
    endpoint: String,
    error: String,
}

#[derive(Serialize, Debug)]
struct PeersReport {
    note: &'static str,
    members: Vec<PeerReport>,
}

#[derive(Serialize, Debug)]
struct PeerReport {
    member: String,
    endpoint: String,
    reachable: bool,
    error: Option<String>,
    /// Once reachable: `accepted`, or why the mutual-TLS handshake failed (absent when this
    /// gateway's own TLS settings could not be loaded).
    mutual_tls: Option<String>,
}

/// Runs `causeway status`.
pub(crate) fn run(args: &StatusArgs) -> Result<Outcome> {
    let config = load_config(&args.config)?;
    let (store, store_name) = open_store(&config, &args.config)?;
    let store = &*store;
    let now = UnixMillis::now();
    let stats = store
        .lane_stats()
        .context("while reading the lanes' backlogs")?;
    let lanes = config
        .lanes()
        .iter()
        .map(|lane| lane_report(&config, store, lane, &stats, now))
        .collect::<Result<Vec<_>>>()?;
    let cursors = config
        .chains()
        .iter()
        .map(|c| {
            store
                .cursor(c.domain)
                .map(|cur| cur.map(|c| c.block_number))
                .with_context(|| format!("while reading the source cursor of {}", c.name))
        })
        .collect::<Result<Vec<_>>>()?;
    // Read here, before the runtime: PostgreSQL's store blocks on a runtime of its own.
    let ready = super::status_anchors::ready_to_anchor(&config, store, now)
        .context("while reading the anchorings")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    let (chains, peers, anchors) = runtime.block_on(async {
        let chains = config
            .chains()
            .iter()
            .zip(cursors)
            .map(|(chain, cursor)| tokio::spawn(chain_report(chain.clone(), cursor)))
            .collect::<Vec<_>>();
        let own = &config.own_member().name;
        let peer_config = causeway_peer::PeerConfig::from_config(&config)
            .ok()
            .map(std::sync::Arc::new);
        let peers = config
            .members()
            .iter()
            .filter(|m| &m.name != own)
            .map(|m| {
                tokio::spawn(peer_report(
                    m.name.clone(),
                    m.peer_endpoint.clone(),
                    peer_config.clone(),
                ))
            })
            .collect::<Vec<_>>();
        let mut chain_reports = Vec::new();
        for task in chains {
            chain_reports.push(task.await.context("a chain probe panicked")?);
        }
        let mut peer_reports = Vec::new();
        for task in peers {
            peer_reports.push(task.await.context("a peer probe panicked")?);
        }
        let anchors = super::status_anchors::anchor_reports(&config, ready, now)
            .await
            .context("while reading the anchorings")?;
        anyhow::Ok((chain_reports, peer_reports, anchors))
    })?;
    // A name lookup still running on a blocking thread (no timeout cancels getaddrinfo) must
    // not hold the report back.
    runtime.shutdown_timeout(Duration::from_millis(100));
    let report = Report {
        organisation: config.gateway().organisation.clone(),
        config: args.config.display().to_string(),
        store: store_name,
        now_ms: now.0,
        lanes,
        chains,
        peers: PeersReport {
            note: PEER_NOTE,
            members: peers,
        },
        anchors,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("while writing the JSON report")?
        );
    } else {
        print!("{}", text(&report));
    }
    Ok(Outcome::Success)
}

/// The store of `config` opened read-only, and how the report names it (the SQLite file, or
/// PostgreSQL's host, port and database: never the password).
fn open_store(config: &Config, config_path: &Path) -> Result<(Box<dyn Store>, String)> {
    match config.storage() {
        Storage::Sqlite { path } => {
            if !path.is_file() {
                bail!(
                    "no store at {}: the gateway has not run yet (start it with `causeway run \
                     --config {}`)",
                    path.display(),
                    config_path.display()
                );
            }
            let store = SqliteStore::open_read_only(path, SqliteOptions::default())
                .with_context(|| format!("while opening the store {} read-only", path.display()))?;
            Ok((Box::new(store), path.display().to_string()))
        }
        Storage::Postgres {
            url,
            password_file,
            dead_peer,
            statement_timeout,
        } => {
            let password =
                causeway_gateway::node::read_postgres_password(password_file.as_deref())?;
            let options = PgOptions {
                dead_peer: *dead_peer,
                statement_timeout: *statement_timeout,
                // One reader: one connection.
                max_connections: 1,
                ..PgOptions::default()
            };
            let store = PgStore::open_read_only(
                url.expose_secret(),
                password.as_ref().map(|p| p.as_slice()),
                options,
            )
            .map_err(|e| {
                let fix = match &e {
                    causeway_relayer::Error::SchemaTooOld { .. } => format!(
                        "`causeway run --config {}` migrates it",
                        config_path.display()
                    ),
                    causeway_relayer::Error::Unavailable { .. } => {
                        "start the database, or correct [storage] postgres_url".to_owned()
                    }
                    _ => "fix [storage] postgres_url, the password file or the role's \
                          permissions"
                        .to_owned(),
                };
                // The URL as configured, its password redacted (`PostgresUrl`'s `Display`).
                anyhow::Error::new(e).context(format!(
                    "while opening the PostgreSQL store {url} read-only (fix: {fix})"
                ))
            })?;
            let name = store.target().to_owned();
            Ok((Box::new(store), name))
        }
        other => bail!("{}: unsupported storage {other:?}", config_path.display()),
    }
}

/// The configuration, or an error that lists its problems and names the command that explains
/// them.
pub(crate) fn load_config(path: &Path) -> Result<Config> {
    match Config::load(path) {
        Ok(config) => Ok(config),
        Err(e @ ConfigError::Read { .. }) => Err(e.into()),
        Err(e) => {
            let problems: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
            bail!(
                "{}: {} problem(s) in the configuration (`causeway config check --config {}` \
                 explains each): {}",
                path.display(),
                problems.len(),
                path.display(),
                problems.join("; ")
            )
        }
    }
}

fn age(now: UnixMillis, then: UnixMillis) -> u64 {
    now.0.saturating_sub(then.0)
}

/// One lane's figures from the store.
fn lane_report(
    config: &Config,
    store: &dyn Store,
    lane: &causeway_config::Lane,
    stats: &[causeway_relayer::store::LaneStats],
    now: UnixMillis,
) -> Result<LaneReport> {
    let state = LaneState::read(store, lane, stats, RECENT_DEAD_LETTERS)?;
    let LaneState {
        log_size,
        activity,
        equivocators,
        threshold_checkpoint: threshold,
        counts,
        oldest_pending_since: oldest,
        last_delivery: last,
        dead_letters: dead,
        ..
    } = state;
    let own = config.own_member().validator_address;
    let last_signed = activity
        .iter()
        .find(|a| a.validator == own)
        .map(|a| Signed {
            size: a.last_size.0,
            recorded_at_ms: a.last_recorded_at.0,
            age_ms: age(now, a.last_recorded_at),
        });
    // The configured validators first (configuration order, even those that never signed),
    // then any other validator the store holds signatures of.
    let mut validators: Vec<ValidatorReport> = lane
        .validators
        .iter()
        .map(|v| {
            let a = activity.iter().find(|a| a.validator == v.address);
            ValidatorReport {
                member: Some(v.member.clone()),
                address: v.address.to_string(),
                checkpoints_signed: a.map_or(0, |a| a.checkpoints),
                last_size: a.map(|a| a.last_size.0),
                equivocated: equivocators.contains(&v.address),
            }
        })
        .collect();
    for a in &activity {
        if lane.validators.iter().all(|v| v.address != a.validator) {
            validators.push(ValidatorReport {
                member: config
                    .member_by_validator(&a.validator)
                    .map(|m| m.name.clone()),
                address: a.validator.to_string(),
                checkpoints_signed: a.checkpoints,
                last_size: Some(a.last_size.0),
                equivocated: equivocators.contains(&a.validator),
            });
        }
    }
    Ok(LaneReport {
        name: lane.name.clone(),
        origin: ChainName {
            name: lane.origin.name.clone(),
            domain: lane.origin.domain.0,
        },
        destination: ChainName {
            name: lane.destination.name.clone(),
            domain: lane.destination.domain.0,
        },
        paused: lane.paused,
        log_size: log_size.0,
        threshold: lane.threshold,
        validators_configured: lane.validators.len(),
        last_signed,
        last_threshold: threshold.map(|t| ThresholdCheckpoint {
            size: t.checkpoint.size().0,
            signatures: t.signatures.len(),
            recorded_at_ms: t.recorded_at.0,
            age_ms: age(now, t.recorded_at),
        }),
        validators,
        equivocations: equivocators.len(),
        backlog: Backlog {
            pending: counts.pending,
            leased: counts.leased,
            submitted: counts.submitted,
            oldest_since_ms: oldest.map(|t| t.0),
            oldest_age_ms: oldest.map(|t| age(now, t)),
        },
        confirmed: counts.confirmed,
        last_delivery: last.map(|d| Delivered {
            confirmed_at_ms: d.confirmed_at.0,
            age_ms: age(now, d.confirmed_at),
            block: d.block,
        }),
        dead_letters: counts.dead_letter,
        recent_dead_letters: dead
            .into_iter()
            .map(|d| DeadLetterReport {
                id: d.id.to_string(),
                leaf_index: d.leaf_index.0,
                attempts: d.attempts,
                reason: scrub_urls(&d.reason),
                since_ms: d.since.0,
                age_ms: age(now, d.since),
            })
            .collect(),
    })
}

fn finality_text(finality: Finality) -> String {
    match finality {
        Finality::Confirmations(n) if n.get() == 1 => "1 confirmation".to_owned(),
        Finality::Confirmations(n) => format!("{n} confirmations"),
        Finality::Finalized => "finalized tag".to_owned(),
        Finality::OnCommit => "on commit".to_owned(),
        other => format!("{other:?}"),
    }
}

/// One chain: its heights from the first endpoint that answers with the configured chain.
async fn chain_report(chain: Chain, source_cursor: Option<u64>) -> ChainReport {
    let state = match &chain.kind {
        ChainKind::Evm(evm) => {
            let mut failures = Vec::new();
            let mut up = None;
            for endpoint in &chain.endpoints {
                match evm_heights(endpoint, evm.chain_id, chain.finality).await {
                    Ok((head, final_height)) => {
                        up = Some(ChainState::Up {
                            endpoint: redact_endpoint(endpoint.as_str()),
                            head,
                            final_height,
                            lag: final_height.map(|f| head.saturating_sub(f)),
                            cursor_behind_final: final_height
                                .zip(source_cursor)
                                .map(|(f, c)| f.saturating_sub(c)),
                        });
                        break;
                    }
                    Err(error) => failures.push(EndpointError {
                        endpoint: redact_endpoint(endpoint.as_str()),
                        error,
                    }),
                }
            }
            up.unwrap_or(ChainState::Down {
                endpoints: failures,
            })
        }
        // Final on commit: the newest block is the final height, the lag is zero.
        ChainKind::Fabric(_) => match causeway_gateway::wiring::fabric_newest_block(&chain).await {
            Ok((endpoint, head)) => committed(endpoint, head, source_cursor),
            Err(error) => ChainState::Down {
                endpoints: vec![EndpointError {
                    endpoint: chain
                        .endpoints
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    error: scrub_urls(&error),
                }],
            },
        },
        ChainKind::Fisco(fisco) => {
            let mut failures = Vec::new();
            let mut up = None;
            for endpoint in &chain.endpoints {
                match fisco_head(endpoint, &fisco.group).await {
                    Ok(head) => {
                        up = Some(committed(
                            redact_endpoint(endpoint.as_str()),
                            head,
                            source_cursor,
                        ));
                        break;
                    }
                    Err(error) => failures.push(EndpointError {
                        endpoint: redact_endpoint(endpoint.as_str()),
                        error,
                    }),
                }
            }
            up.unwrap_or(ChainState::Down {
                endpoints: failures,
            })
        }
        _ => {
            let mut failures = Vec::new();
            let mut reachable = Vec::new();
            for endpoint in &chain.endpoints {
                match tcp_reachable(endpoint).await {
                    Ok(()) => reachable.push(redact_endpoint(endpoint.as_str())),
                    Err(error) => failures.push(EndpointError {
                        endpoint: redact_endpoint(endpoint.as_str()),
                        error,
                    }),
                }
            }
            if reachable.is_empty() {
                ChainState::Down {
                    endpoints: failures,
                }
            } else {
                ChainState::Reachable {
                    endpoints: reachable,
                    note: format!(
                        "heights of {} chains are not read by `causeway status` yet",
                        chain.family()
                    ),
                }
            }
        }
    };
    ChainReport {
        name: chain.name.clone(),
        domain: chain.domain.0,
        family: chain.family().to_string(),
        finality: finality_text(chain.finality),
        source_cursor,
        state,
    }
}

/// A chain final on commit (Fabric, FISCO BCOS) whose newest block is `head`.
fn committed(endpoint: String, head: u64, source_cursor: Option<u64>) -> ChainState {
    ChainState::Up {
        endpoint,
        head,
        final_height: Some(head),
        lag: Some(0),
        cursor_behind_final: source_cursor.map(|c| head.saturating_sub(c)),
    }
}

/// `text` safe for a terminal: control characters (escape sequences a hostile recipient could
/// put in a revert reason, or a node in an error) replaced, and cut at [`REASON_CHARS`].
fn printable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(REASON_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > REASON_CHARS {
        out.push('…');
    }
    out
}

async fn peer_report(
    member: String,
    endpoint: Endpoint,
    config: Option<std::sync::Arc<causeway_peer::PeerConfig>>,
) -> PeerReport {
    let result = tcp_reachable(&endpoint).await;
    let mutual_tls = match (&result, config) {
        (Ok(()), Some(config)) => {
            match causeway_peer::probe(&config, &member, PROBE_TIMEOUT).await {
                Some(causeway_peer::Probe::Accepted) => Some("accepted".to_owned()),
                Some(causeway_peer::Probe::Refused(e) | causeway_peer::Probe::Unreachable(e)) => {
                    Some(format!("REFUSED: {}", printable(&scrub_urls(&e))))
                }
                None => None,
            }
        }
        _ => None,
    };
    PeerReport {
        member,
        endpoint: redact_endpoint(endpoint.as_str()),
        reachable: result.is_ok(),
        error: result.err(),
        mutual_tls,
    }
}

/// A duration for people: `42s`, `3m 05s`, `2h 10m`, `4d 03h`.
fn human(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// The aligned text report.
fn text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "Causeway gateway of {}", r.organisation);
    let _ = writeln!(o, "  config  {}", r.config);
    let _ = writeln!(o, "  store   {}", r.store);
    for l in &r.lanes {
        let _ = writeln!(
            o,
            "\nlane {}: {} ({}) -> {} ({}), {} of {} validators{}",
            l.name,
            l.origin.name,
            l.origin.domain,
            l.destination.name,
            l.destination.domain,
            l.threshold,
            l.validators_configured,
            if l.paused { ", PAUSED" } else { "" }
        );
        let row = |o: &mut String, label: &str, value: String| {
            let _ = writeln!(o, "  {label:<16}{value}");
        };
        row(&mut o, "log size", l.log_size.to_string());
        row(
            &mut o,
            "signed by us",
            l.last_signed.as_ref().map_or("nothing yet".into(), |s| {
                format!("size {} ({} ago)", s.size, human(s.age_ms))
            }),
        );
        row(
            &mut o,
            "threshold",
            l.last_threshold.as_ref().map_or(
                format!("no checkpoint with {} signatures yet", l.threshold),
                |t| {
                    format!(
                        "size {} with {} signatures (recorded {} ago)",
                        t.size,
                        t.signatures,
                        human(t.age_ms)
                    )
                },
            ),
        );
        let width = l
            .validators
            .iter()
            .map(|v| v.member.as_deref().unwrap_or("(not a member)").len())
            .max()
            .unwrap_or(0);
        for (i, v) in l.validators.iter().enumerate() {
            let member = v.member.as_deref().unwrap_or("(not a member)");
            let last = v
                .last_size
                .map_or("never signed".into(), |s| format!("last size {s}"));
            let flag = if v.equivocated {
                "  EQUIVOCATED: its signatures no longer count"
            } else {
                ""
            };
            row(
                &mut o,
                if i == 0 { "validators" } else { "" },
                format!(
                    "{member:<width$}  {}  {:>6} checkpoints  {last}{flag}",
                    v.address, v.checkpoints_signed
                ),
            );
        }
        row(&mut o, "equivocations", l.equivocations.to_string());
        let b = &l.backlog;
        row(
            &mut o,
            "backlog",
            format!(
                "{} pending, {} leased, {} submitted{}",
                b.pending,
                b.leased,
                b.submitted,
                b.oldest_age_ms
                    .map_or(String::new(), |a| format!("; oldest waiting {}", human(a)))
            ),
        );
        row(
            &mut o,
            "last delivery",
            l.last_delivery.as_ref().map_or("none yet".into(), |d| {
                format!(
                    "{} ago (destination block {}); {} delivered in all",
                    human(d.age_ms),
                    d.block,
                    l.confirmed
                )
            }),
        );
        row(&mut o, "dead letters", l.dead_letters.to_string());
        for d in &l.recent_dead_letters {
            row(
                &mut o,
                "",
                format!(
                    "leaf {} {}: {} attempt(s), given up {} ago: {}",
                    d.leaf_index,
                    d.id,
                    d.attempts,
                    human(d.age_ms),
                    printable(&d.reason)
                ),
            );
        }
    }
    let _ = writeln!(o, "\nchains");
    let name_width = r.chains.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &r.chains {
        let cursor = c
            .source_cursor
            .map_or("no cursor".into(), |c| format!("cursor {c}"));
        let detail = match &c.state {
            ChainState::Up {
                endpoint,
                head,
                final_height,
                lag,
                cursor_behind_final,
            } => format!(
                "up    head {head:>8}  final {:>8}  lag {:>4}  {cursor}{}  ({endpoint}, {})",
                final_height.map_or("none".into(), |f| f.to_string()),
                lag.map_or("-".into(), |l| l.to_string()),
                cursor_behind_final.map_or(String::new(), |b| format!(", {b} final blocks behind")),
                c.finality
            ),
            ChainState::Down { endpoints } => format!(
                "DOWN  {cursor}; {}",
                endpoints
                    .iter()
                    .map(|e| format!("{}: {}", e.endpoint, printable(&e.error)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            ChainState::Reachable { endpoints, note } => {
                format!("reachable  {cursor}  ({}; {note})", endpoints.join(", "))
            }
        };
        let _ = writeln!(
            o,
            "  {:<name_width$}  domain {:>5}  {detail}",
            c.name, c.domain
        );
    }
    let _ = writeln!(o, "\npeers: {}", r.peers.note);
    let width = r
        .peers
        .members
        .iter()
        .map(|p| p.member.len())
        .max()
        .unwrap_or(0);
    for p in &r.peers.members {
        let state = match (&p.error, &p.mutual_tls) {
            (None, Some(tls)) => format!("reachable, mutual TLS {tls}"),
            (None, None) => "reachable".to_owned(),
            (Some(e), _) => format!("UNREACHABLE: {e}"),
        };
        let _ = writeln!(o, "  {:<width$}  {}  {state}", p.member, p.endpoint);
    }
    if r.peers.members.is_empty() {
        let _ = writeln!(o, "  (no other member)");
    }
    super::status_anchors::text(&mut o, &r.anchors, human);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_errors_lose_their_credentials() {
        let text =
            "error sending request for url (http://user:hunter2@127.0.0.1:1/v3/KEY?x=1): refused";
        let scrubbed = scrub_urls(text);
        assert_eq!(
            scrubbed,
            "error sending request for url (http://127.0.0.1:1): refused"
        );
        assert_eq!(scrub_urls("no url here"), "no url here");
    }

    #[test]
    fn untrusted_reasons_cannot_drive_the_terminal() {
        assert_eq!(printable("bad\u{1b}[2Jrecipient\n"), "bad?[2Jrecipient?");
        let long = "x".repeat(REASON_CHARS + 10);
        assert_eq!(printable(&long).chars().count(), REASON_CHARS + 1);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(999), "0s");
        assert_eq!(human(42_000), "42s");
        assert_eq!(human(185_000), "3m 05s");
        assert_eq!(human(7_800_000), "2h 10m");
        assert_eq!(human(356_400_000), "4d 03h");
    }
}
