//! `causeway keys`: make and inspect the key files a gateway needs.
//!
//! Key files are created with mode 0600 and never overwritten; their secrets are never
//! printed, only the public half (validator address, privacy public key and key id). Key
//! files are read only if no one but their owner may read them, and at most 4 KiB of them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use causeway_proofs::attestation::ValidatorKey;
use zeroize::Zeroizing;

use super::input::read_secret_text;

/// `causeway keys …`
#[derive(clap::Subcommand, Debug)]
pub(crate) enum KeysCommand {
    /// Generate a new key file (mode 0600; refuses to overwrite).
    Generate {
        /// Which key: `validator` (secp256k1, signs checkpoints) or `privacy` (X25519, opens envelopes).
        kind: KeyKind,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public half of a key file (address, public key, key id).
    Show {
        /// Which key the file holds.
        kind: KeyKind,
        /// The key file.
        file: PathBuf,
    },
}

/// The two kinds of keys a member gateway holds.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub(crate) enum KeyKind {
    /// secp256k1 key that signs checkpoints; named by its Ethereum-style address.
    Validator,
    /// X25519 key that opens envelopes addressed to this organisation.
    Privacy,
}

pub(crate) fn run(cmd: &KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Generate { kind, out } => generate(*kind, out),
        KeysCommand::Show { kind, file } => show(*kind, file),
    }
}

/// Refuses an output path that cannot be a key file before any key is made: `-` (standard
/// output: a secret printed to a terminal or a pipe is a secret leaked, and key files must be
/// mode 0600) and a path whose folder does not exist.
fn check_out(out: &Path) -> Result<()> {
    anyhow::ensure!(
        out != Path::new("-"),
        "--out - would write the secret key to standard output; key files are only written to \
         a new file (mode 0600): give a path such as --out ./validator.key"
    );
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(parent) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => anyhow::bail!(
                "cannot create {}: {} is not a folder",
                out.display(),
                parent.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
                "cannot create {}: the folder {} does not exist (create it first, e.g. \
                 `mkdir -p {}`, and keep it private)",
                out.display(),
                parent.display(),
                parent.display()
            ),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot create {}: the folder {} cannot be read",
                        out.display(),
                        parent.display()
                    )
                });
            }
        }
    }
    Ok(())
}

fn generate(kind: KeyKind, out: &Path) -> Result<()> {
    check_out(out)?;
    match kind {
        KeyKind::Validator => {
            let key = ValidatorKey::generate(&mut rand_core::OsRng);
            let text = Zeroizing::new(format!("0x{}\n", hex::encode(*key.secret_bytes())));
            write_secret_file(out, text.as_bytes())?;
            println!("validator key written to {} (mode 0600)", out.display());
            println!("address {}", key.address());
        }
        KeyKind::Privacy => {
            let key = causeway_privacy::keys::KeyPair::generate();
            // The error names the file and the cause ("key file …: cannot create: …").
            key.write_to_file(out)?;
            println!("privacy key written to {} (mode 0600)", out.display());
            println!("public key {}", key.public_key().to_base64());
            println!("key id     {}", key.key_id());
        }
    }
    Ok(())
}

fn show(kind: KeyKind, file: &Path) -> Result<()> {
    match kind {
        KeyKind::Validator => {
            let key = read_validator_key(file)?;
            println!("address {}", key.address());
        }
        KeyKind::Privacy => {
            let key = match causeway_privacy::keys::KeyPair::read_from_file(file) {
                Ok(key) => key,
                Err(causeway_privacy::Error::KeyFileFormat { .. })
                    if holds(file, KeyKind::Validator) =>
                {
                    anyhow::bail!(wrong_kind(file, KeyKind::Validator, KeyKind::Privacy));
                }
                Err(e) => return Err(e.into()),
            };
            println!("public key {}", key.public_key().to_base64());
            println!("key id     {}", key.key_id());
        }
    }
    Ok(())
}

/// Largest key file read (a validator key file is 67 bytes, a privacy key file about 200).
const MAX_KEY_FILE_LEN: u64 = 4096;

/// The prefix of a privacy key file's key line (see `causeway_privacy::keys`).
const PRIVACY_KEY_PREFIX: &str = "causeway-x25519-secret-key-v1:";

/// Whether the text of a key file looks like a key of `kind` (without checking the key).
fn looks_like(text: &str, kind: KeyKind) -> bool {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return false;
    };
    match kind {
        KeyKind::Privacy => line.starts_with(PRIVACY_KEY_PREFIX),
        KeyKind::Validator => {
            let digits = line.strip_prefix("0x").unwrap_or(line);
            digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit())
        }
    }
}

/// Whether `path` (read again, bounded, only after the expected kind was refused) holds a key
/// of `kind`.
fn holds(path: &Path, kind: KeyKind) -> bool {
    causeway_config::open_regular_file(path)
        .ok()
        .and_then(|f| read_secret_text(f, path, MAX_KEY_FILE_LEN).ok())
        .is_some_and(|text| looks_like(&text, kind))
}

fn wrong_kind(path: &Path, found: KeyKind, wanted: KeyKind) -> String {
    let name = |k| match k {
        KeyKind::Validator => "validator",
        KeyKind::Privacy => "privacy",
    };
    format!(
        "{} holds a {} key, not a {} key: run `causeway keys show {} {}`",
        path.display(),
        name(found),
        name(wanted),
        name(found),
        path.display()
    )
}

/// Reads a validator key file: one line of 64 hex digits (optionally `0x`-prefixed).
///
/// As for privacy keys (and OpenSSH identity files), a file that group or others may read is
/// refused, checked on the opened handle so the file cannot be swapped between check and read;
/// anything but a regular file, or a file over [`MAX_KEY_FILE_LEN`], is refused unread.
pub(crate) fn read_validator_key(path: &Path) -> Result<ValidatorKey> {
    let file = causeway_config::open_regular_file(path)
        .with_context(|| format!("while opening the validator key {}", path.display()))?;
    let metadata = file
        .metadata()
        .with_context(|| format!("while reading the metadata of {}", path.display()))?;
    let mode = metadata.permissions().mode() & 0o7777;
    anyhow::ensure!(
        mode & 0o077 == 0,
        "validator key file {} has mode {mode:o}, readable by group or others; run `chmod 600 {}` \
         and consider the key compromised if others could have read it",
        path.display(),
        path.display()
    );
    anyhow::ensure!(
        metadata.is_file(),
        "validator key file {} is not a regular file",
        path.display()
    );
    let text = read_secret_text(file, path, MAX_KEY_FILE_LEN)
        .with_context(|| format!("while reading the validator key {}", path.display()))?;
    if looks_like(&text, KeyKind::Privacy) {
        anyhow::bail!(wrong_kind(path, KeyKind::Privacy, KeyKind::Validator));
    }
    let bytes = Zeroizing::new(
        causeway_proofs::hash::parse_hex_array::<32>(text.trim(), "validator key")
            .with_context(|| format!("in the validator key file {}", path.display()))?,
    );
    ValidatorKey::from_bytes(&bytes)
        .with_context(|| format!("in the validator key file {}", path.display()))
}

pub(crate) use causeway_gateway::files::write_secret_file;
