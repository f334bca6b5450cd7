//! `causeway verify BUNDLE --trust TRUST`: check a proof bundle offline.
//!
//! The bundle is untrusted input. What the verifier trusts comes from a separate trust file
//! (the lane's signing domain and validator set, as the destination would configure them), so
//! a forged bundle cannot bring its own validators.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use causeway_proofs::bundle::{MAX_BUNDLE_JSON_LEN, TrustAnchor};
use causeway_proofs::{EvmAddress, ProofBundle, SigningDomain, ValidatorSet};
use serde::Deserialize;

use super::Outcome;

/// Arguments of `causeway verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The proof bundle (JSON, format `causeway-proof-bundle/1`).
    bundle: PathBuf,
    /// The trust file: the lane's signing domain, validators and threshold (JSON).
    #[arg(long)]
    trust: PathBuf,
    /// Print the verdict as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The trust file: what the verifier's own configuration says about the lane.
///
/// ```json
/// { "signing_domain": { "origin": 1, "origin_chain_id": 31337, "destination": 2,
///                       "destination_chain_id": 31338, "inbox": "0x…", "validator_epoch": 1 },
///   "validators": ["0x…", "0x…"], "threshold": 2 }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrustFile {
    signing_domain: SigningDomain,
    validators: Vec<EvmAddress>,
    threshold: usize,
}

/// Largest trust file read (it holds at most a few hundred validators).
const MAX_TRUST_FILE_LEN: u64 = 1024 * 1024;

pub(crate) fn load_trust(path: &Path) -> Result<TrustAnchor> {
    let text = read_bounded(path, MAX_TRUST_FILE_LEN)
        .with_context(|| format!("while reading the trust file {}", path.display()))?;
    let file: TrustFile = serde_json::from_str(&text)
        .with_context(|| format!("while parsing the trust file {}", path.display()))?;
    let validators = ValidatorSet::new(file.validators, file.threshold)
        .with_context(|| format!("in the trust file {}", path.display()))?;
    Ok(TrustAnchor {
        signing_domain: file.signing_domain,
        validators,
    })
}

fn read_bounded(path: &Path, max: u64) -> Result<String> {
    let len = std::fs::metadata(path)?.len();
    anyhow::ensure!(
        len <= max,
        "{} is {len} bytes, larger than the {max} bytes accepted",
        path.display()
    );
    Ok(std::fs::read_to_string(path)?)
}

pub(crate) fn run(args: &VerifyArgs) -> Result<Outcome> {
    let trust = load_trust(&args.trust)?;
    let text = read_bounded(&args.bundle, MAX_BUNDLE_JSON_LEN as u64)
        .with_context(|| format!("while reading the bundle {}", args.bundle.display()))?;
    let verdict = ProofBundle::from_json(&text).and_then(|bundle| bundle.verify(&trust));
    match verdict {
        Ok(v) => {
            if args.json {
                let out = serde_json::json!({ "valid": true, "verdict": v });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("VALID: {}", args.bundle.display());
                println!("  message id     {}", v.message_id.to_hex());
                println!(
                    "  lane           domain {} -> domain {} (nonce {})",
                    v.origin, v.destination, v.nonce.0
                );
                println!(
                    "  included at    index {} of {} leaves ({} root {})",
                    v.leaf_index.0, v.log_size.0, v.hash_algorithm, v.root
                );
                println!(
                    "  attested by    {} validators (threshold {}):",
                    v.signers.len(),
                    v.threshold
                );
                for s in &v.signers {
                    println!("                 {s}");
                }
                match v.native_proof {
                    Some(f) => println!(
                        "  native proof   {f:?} proof present, NOT checked offline by this build"
                    ),
                    None => println!("  native proof   none in the bundle"),
                }
            }
            Ok(Outcome::Success)
        }
        Err(e) => {
            if args.json {
                let out = serde_json::json!({ "valid": false, "reason": e.to_string() });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("INVALID: {}", args.bundle.display());
                println!("  reason: {e}");
            }
            Ok(Outcome::Rejected)
        }
    }
}
