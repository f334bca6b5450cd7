//! `causeway store`: what an operator does on a relayer's store file by hand: the one repair a
//! halted origin may need (moving its source cursor back after a reorganisation), and exporting
//! the equivocation evidence a lane recorded.
//!
//! A source that finds the block under its cursor reorganised away halts its origin (the
//! halt names the origin and the height). If no accepted message came from the blocks above
//! the last block both forks share, rolling the cursor back to that block lets the gateway
//! read the new fork from there. If accepted messages did come from them, the store refuses:
//! those messages are in the origin's log and may be attested already, and a log never
//! forgets (that is an incident for the consortium, not a repair).

use std::path::PathBuf;

use anyhow::{Context, Result};
use causeway_proofs::{Domain, Hash32};
use causeway_relayer::store::{
    CheckpointStore, Lane, SourceCursor, SourceStore, SqliteStore, UnixMillis,
};

use super::Outcome;

/// `causeway store …`
#[derive(clap::Subcommand, Debug)]
pub(crate) enum StoreCommand {
    /// Print an origin's source cursor and log size.
    Cursor {
        /// The relayer's SQLite store file.
        #[arg(long)]
        db: PathBuf,
        /// The origin's Causeway domain.
        #[arg(long)]
        origin: u32,
    },
    /// Move an origin's source cursor back to a block both forks share, after a
    /// reorganisation below it halted the origin. Refused when an accepted message came from a
    /// block above it. Stop the gateway first; start it again after.
    Rollback {
        /// The relayer's SQLite store file.
        #[arg(long)]
        db: PathBuf,
        /// The origin's Causeway domain.
        #[arg(long)]
        origin: u32,
        /// The height of the last block both forks share.
        #[arg(long)]
        to: u64,
        /// That block's hash (0x and 64 hex digits), as the origin chain has it now.
        #[arg(long)]
        hash: String,
    },
    /// Write the equivocation evidence recorded for a lane (a validator that signed two roots
    /// for one log size) as JSON files anyone can check with `causeway verify --evidence`.
    /// Read-only: works while the gateway runs.
    Evidence {
        /// The relayer's SQLite store file.
        #[arg(long)]
        db: PathBuf,
        /// The lane's origin domain.
        #[arg(long)]
        origin: u32,
        /// The lane's destination domain.
        #[arg(long)]
        destination: u32,
        /// The folder to write `equivocation-<validator>.json` files into (created if missing;
        /// existing files are never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the RFC 9162 consistency proof between two sizes of an origin's SHA-256 log
    /// (format `causeway-anchor-consistency/1`), for `causeway verify --anchored` when a
    /// bundle's checkpoint and the anchored one differ in size. Read-only: works while the
    /// gateway runs.
    Consistency {
        /// The relayer's SQLite store file.
        #[arg(long)]
        db: PathBuf,
        /// The origin's Causeway domain.
        #[arg(long)]
        origin: u32,
        /// One size (the bundle's checkpoint size, say).
        #[arg(long)]
        from: u64,
        /// The other size (the anchored size, say); either may be the larger.
        #[arg(long)]
        to: u64,
        /// Where to write the file (never overwritten); standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub(crate) fn run(cmd: &StoreCommand) -> Result<Outcome> {
    match cmd {
        StoreCommand::Cursor { db, origin } => {
            let store = open(db)?;
            let origin = Domain(*origin);
            let cursor = store.cursor(origin).context("while reading the cursor")?;
            let size = store
                .log_size(origin)
                .context("while reading the log size")?;
            match cursor {
                Some(c) => println!(
                    "origin {origin}: cursor at block {} ({}), log of {} messages",
                    c.block_number, c.block_hash, size.0
                ),
                None => println!("origin {origin}: no cursor yet, log of {} messages", size.0),
            }
            Ok(Outcome::Success)
        }
        StoreCommand::Rollback {
            db,
            origin,
            to,
            hash,
        } => {
            let block_hash = parse_hash(hash)?;
            let store = open(db)?;
            // No gateway runs on the store, and none starts, until the rollback is done.
            let _held = store.hold_for_maintenance()?;
            let origin = Domain(*origin);
            let target = SourceCursor {
                block_number: *to,
                block_hash,
            };
            let previous = store
                .rollback_to(origin, target, UnixMillis::now())
                .with_context(|| format!("while rolling origin {origin} back to block {to}"))?;
            match previous {
                Some(p) => println!(
                    "origin {origin}: cursor moved back from block {} ({}) to block {to} ({block_hash}); start the gateway to read from there",
                    p.block_number, p.block_hash
                ),
                None => println!(
                    "origin {origin}: cursor set to block {to} ({block_hash}); start the gateway to read from there"
                ),
            }
            Ok(Outcome::Success)
        }
        StoreCommand::Evidence {
            db,
            origin,
            destination,
            out,
        } => export_evidence(
            db,
            Lane {
                origin: Domain(*origin),
                destination: Domain(*destination),
            },
            out,
        ),
        StoreCommand::Consistency {
            db,
            origin,
            from,
            to,
            out,
        } => consistency(db, Domain(*origin), *from, *to, out.as_deref()),
    }
}

/// `causeway store consistency`.
fn consistency(
    db: &std::path::Path,
    origin: Domain,
    from: u64,
    to: u64,
    out: Option<&std::path::Path>,
) -> Result<Outcome> {
    use causeway_gateway::anchor::consistency::ConsistencyFile;
    let store = open(db)?;
    let file = ConsistencyFile::from_store(
        &store,
        origin,
        causeway_proofs::LogSize(from),
        causeway_proofs::LogSize(to),
    )
    .map_err(|e| anyhow::anyhow!("origin {origin}, sizes {from} and {to}: {e}"))?;
    let json = serde_json::to_string_pretty(&file)?;
    match out {
        None => println!("{json}"),
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| {
                    format!(
                        "while creating {} (an existing file is never overwritten)",
                        path.display()
                    )
                })?;
            std::io::Write::write_all(&mut f, json.as_bytes())
                .with_context(|| format!("while writing {}", path.display()))?;
            eprintln!(
                "origin {origin}: consistency proof between {from} and {to} leaves written to {}",
                path.display()
            );
        }
    }
    Ok(Outcome::Success)
}

/// `causeway store evidence`.
fn export_evidence(db: &std::path::Path, lane: Lane, out: &std::path::Path) -> Result<Outcome> {
    let store = open(db)?;
    let evidence = store
        .equivocations(lane)
        .with_context(|| format!("while reading the evidence of lane {lane}"))?;
    if evidence.is_empty() {
        println!("lane {lane}: no equivocation recorded");
        return Ok(Outcome::Success);
    }
    std::fs::create_dir_all(out).with_context(|| format!("while creating {}", out.display()))?;
    for e in &evidence {
        let path = out.join(format!("equivocation-{}.json", e.validator));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "while creating {} (an existing file is never overwritten: choose another --out)",
                    path.display()
                )
            })?;
        std::io::Write::write_all(&mut file, e.to_json().as_bytes())
            .with_context(|| format!("while writing {}", path.display()))?;
        println!(
            "lane {lane}: validator {} signed two roots at log size {}: {}",
            e.validator,
            e.first.checkpoint.size().0,
            path.display()
        );
    }
    Ok(Outcome::Success)
}

fn open(db: &std::path::Path) -> Result<SqliteStore> {
    anyhow::ensure!(
        db.is_file(),
        "{} is not a store file: give the relayer's SQLite database (--db)",
        db.display()
    );
    SqliteStore::open(db).with_context(|| format!("while opening the store {}", db.display()))
}

fn parse_hash(text: &str) -> Result<Hash32> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .with_context(|| format!("--hash {text}: give the block hash as 0x and 64 hex digits"))?;
    Ok(Hash32(bytes))
}
