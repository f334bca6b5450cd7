//! `causeway store`: what an operator does on a relayer's store file by hand, today the one
//! repair a halted origin may need: moving its source cursor back after a reorganisation.
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
use causeway_relayer::store::{SourceCursor, SourceStore, SqliteStore, UnixMillis};

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
    }
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
