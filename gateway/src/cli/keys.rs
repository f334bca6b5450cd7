//! `causeway keys`: make and inspect the key files a gateway needs.
//!
//! Key files are created with mode 0600 and never overwritten; their secrets are never
//! printed, only the public half (validator address, privacy public key and key id).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use causeway_proofs::attestation::ValidatorKey;
use zeroize::Zeroizing;

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

fn generate(kind: KeyKind, out: &Path) -> Result<()> {
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
            key.write_to_file(out)
                .with_context(|| format!("while writing the privacy key {}", out.display()))?;
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
            let key = causeway_privacy::keys::KeyPair::read_from_file(file)
                .with_context(|| format!("while reading the privacy key {}", file.display()))?;
            println!("public key {}", key.public_key().to_base64());
            println!("key id     {}", key.key_id());
        }
    }
    Ok(())
}

/// Reads a validator key file: one line of 64 hex digits (optionally `0x`-prefixed).
pub(crate) fn read_validator_key(path: &Path) -> Result<ValidatorKey> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("while reading the validator key {}", path.display()))?,
    );
    let bytes = Zeroizing::new(
        causeway_proofs::hash::parse_hex_array::<32>(text.trim(), "validator key")
            .with_context(|| format!("in the validator key file {}", path.display()))?,
    );
    ValidatorKey::from_bytes(&bytes)
        .with_context(|| format!("in the validator key file {}", path.display()))
}

/// Creates `path` with mode 0600 and writes `bytes`; never overwrites an existing file.
fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "while creating {} (it must not exist yet; key files are never overwritten)",
                path.display()
            )
        })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("while writing {}", path.display()))
}
