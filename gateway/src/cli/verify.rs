//! `causeway verify BUNDLE... --trust TRUST`: check proof bundles offline.
//!
//! The bundle is untrusted input. What the verifier trusts comes from a separate trust file
//! (the lane's signing domain and validator set, as the destination would configure them), so
//! a forged bundle cannot bring its own validators.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use causeway_adapters::NativeVerifier;
use causeway_adapters::chain::ObservedMessage;
use causeway_adapters::evm::EvmNativeVerifier;
use causeway_config::FabricPolicy;
use causeway_proofs::bundle::{MAX_BUNDLE_JSON_LEN, TrustAnchor, Verdict};
use causeway_proofs::fabric::{
    EndorsementPolicy, FabricNativeVerifier, FabricVerifierConfig, MspRoots, TrustedMsps,
};
use causeway_proofs::{Domain, EvmAddress, ProofBundle, SigningDomain, ValidatorSet};
use serde::Deserialize;

use super::Outcome;

/// Arguments of `causeway verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The proof bundles (JSON, format `causeway-proof-bundle/1`), one or more.
    #[arg(required = true, num_args = 1..)]
    bundles: Vec<PathBuf>,
    /// The trust file: the lane's signing domain, validators and threshold, and optionally the
    /// origin's native-proof settings (JSON).
    #[arg(long)]
    trust: PathBuf,
    /// Print the verdicts as JSON instead of text (one object for one bundle, else an array).
    #[arg(long)]
    json: bool,
}

/// The trust file: what the verifier's own configuration says about the lane.
///
/// ```json
/// { "signing_domain": { "origin": 1, "origin_chain_id": 31337, "destination": 2,
///                       "destination_chain_id": 31338, "inbox": "0x…", "validator_epoch": 1 },
///   "validators": ["0x…", "0x…"], "threshold": 2,
///   "source": { "family": "evm", "outbox": "0x…" } }
/// ```
///
/// or, for a Fabric origin,
/// `"source": { "family": "fabric", "channel": "trade", "orgs": [{ "msp_id": "Org1MSP",
/// "root_certs": ["-----BEGIN CERTIFICATE-----…"] }, …], "orderers": [{ "msp_id": "OrdererMSP",
/// "root_certs": […] }], "endorsement_policy": "AND(Org1MSP,Org2MSP)" }`.
///
/// With `source`, every bundle must carry a native proof of that family, and it is checked
/// (EVM: the receipt-trie proof against the block's receiptsRoot, the event from the named
/// Outbox; Fabric: the block's data hash and orderer signatures, the transaction VALID, its
/// creator and endorsements under the policy, the event from the outbox chaincode). Without it,
/// native proofs are reported but not checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrustFile {
    signing_domain: SigningDomain,
    validators: Vec<EvmAddress>,
    threshold: usize,
    #[serde(default)]
    source: Option<SourceTrust>,
}

/// How the origin's native proofs are checked.
#[derive(Debug, Deserialize)]
#[serde(tag = "family", rename_all = "lowercase", deny_unknown_fields)]
enum SourceTrust {
    /// An EVM origin: its Outbox is the only accepted emitter.
    Evm {
        /// The Outbox address.
        outbox: EvmAddress,
    },
    /// A Fabric channel.
    Fabric(FabricTrust),
}

/// A Fabric channel's trust: the block must carry the orderers' signatures, the transaction
/// must be VALID and endorsed under the policy by organisations of these MSP roots, and the
/// event must come from the outbox chaincode.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FabricTrust {
    /// The channel.
    channel: String,
    /// The outbox chaincode (default `causeway_outbox`).
    #[serde(default = "default_outbox_chaincode")]
    outbox_chaincode: String,
    /// The endorsing organisations and their MSP root certificates (PEM).
    orgs: Vec<TrustMsp>,
    /// The ordering service's MSPs and their root certificates (PEM).
    orderers: Vec<TrustMsp>,
    /// As in the gateway configuration: `AND(…)`, `OR(…)`, `OutOf(n, …)`, `MAJORITY`.
    endorsement_policy: String,
    /// Orderer signatures a block needs (default 1).
    #[serde(default = "one")]
    orderer_signatures: usize,
}

/// One MSP of a Fabric trust: its id and root certificates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustMsp {
    msp_id: String,
    root_certs: Vec<String>,
}

fn default_outbox_chaincode() -> String {
    causeway_proofs::fabric::DEFAULT_OUTBOX_CHAINCODE.to_owned()
}

fn one() -> usize {
    1
}

/// The MSPs of a Fabric trust, their roots parsed.
fn trusted_msps(msps: &[TrustMsp], what: &str) -> Result<TrustedMsps> {
    let roots = msps
        .iter()
        .map(|m| {
            MspRoots::new(&m.msp_id, &m.root_certs)
                .with_context(|| format!("the {what} MSP {} in the trust file", m.msp_id))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TrustedMsps::new(roots))
}

/// The Fabric native-proof checker a trust file describes.
fn fabric_verifier(origin: Domain, trust: FabricTrust) -> Result<Box<dyn NativeVerifier>> {
    let FabricTrust {
        channel,
        outbox_chaincode,
        orgs,
        orderers,
        endorsement_policy,
        orderer_signatures,
    } = trust;
    let ids: Vec<String> = orgs.iter().map(|m| m.msp_id.clone()).collect();
    let policy = FabricPolicy::parse(&endorsement_policy, &ids)
        .map_err(|e| anyhow::anyhow!("endorsement_policy in the trust file: {e}"))?;
    let policy = match policy {
        FabricPolicy::AllOf(m) => EndorsementPolicy::AllOf(m),
        FabricPolicy::OutOf { n, msps } => EndorsementPolicy::OutOf { n, msps },
        FabricPolicy::Majority(m) => EndorsementPolicy::Majority(m),
        other => anyhow::bail!("endorsement policy {other} is not supported by this build"),
    };
    let mut config = FabricVerifierConfig::new(
        &channel,
        trusted_msps(&orgs, "organisation")?,
        trusted_msps(&orderers, "orderer")?,
        policy,
    );
    config.outbox_chaincode = outbox_chaincode;
    config.orderer_signatures_required = orderer_signatures;
    Ok(Box::new(
        FabricNativeVerifier::new(origin, config).context("the Fabric source in the trust file")?,
    ))
}

/// What `causeway verify` trusts: the lane's anchor and, optionally, a native-proof checker.
pub(crate) struct Trust {
    anchor: TrustAnchor,
    native: Option<Box<dyn NativeVerifier>>,
}

/// Largest trust file read (it holds at most a few hundred validators).
const MAX_TRUST_FILE_LEN: u64 = 1024 * 1024;

pub(crate) fn load_trust(path: &Path) -> Result<Trust> {
    let text = read_bounded(path, MAX_TRUST_FILE_LEN)
        .with_context(|| format!("while reading the trust file {}", path.display()))?;
    let file: TrustFile = serde_json::from_str(&text)
        .with_context(|| format!("while parsing the trust file {}", path.display()))?;
    let validators = ValidatorSet::new(file.validators, file.threshold)
        .with_context(|| format!("in the trust file {}", path.display()))?;
    let native: Option<Box<dyn NativeVerifier>> = match file.source {
        None => None,
        Some(SourceTrust::Evm { outbox }) => Some(Box::new(EvmNativeVerifier {
            domain: file.signing_domain.origin,
            outbox: outbox.0.into(),
        })),
        Some(SourceTrust::Fabric(fabric)) => Some(
            fabric_verifier(file.signing_domain.origin, fabric)
                .with_context(|| format!("in the trust file {}", path.display()))?,
        ),
    };
    Ok(Trust {
        anchor: TrustAnchor {
            signing_domain: file.signing_domain,
            validators,
        },
        native,
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

/// Verifies one parsed bundle: the checkpoint, signatures and inclusion proof against the
/// anchor, then the native proof when the trust file configures the origin.
fn check(bundle: &ProofBundle, trust: &Trust) -> Result<Verdict, String> {
    let mut verdict = bundle.verify(&trust.anchor).map_err(|e| e.to_string())?;
    if let Some(native) = &trust.native {
        let (Some(proof), Some(source)) = (bundle.native_proof(), bundle.source()) else {
            return Err(format!(
                "the trust file requires a {:?} native proof and its source reference, and the bundle has {}",
                native.family(),
                if bundle.native_proof().is_none() {
                    "no native proof"
                } else {
                    "no source reference"
                }
            ));
        };
        let observed = ObservedMessage {
            message: bundle.message().clone(),
            source: source.clone(),
            proof: proof.clone(),
        };
        native
            .verify(&observed)
            .map_err(|e| format!("native proof: {e}"))?;
        verdict.native_proof_checked = true;
    }
    Ok(verdict)
}

pub(crate) fn run(args: &VerifyArgs) -> Result<Outcome> {
    let trust = load_trust(&args.trust)?;
    let mut all_valid = true;
    let mut json = Vec::with_capacity(args.bundles.len());
    for path in &args.bundles {
        let text = read_bounded(path, MAX_BUNDLE_JSON_LEN as u64)
            .with_context(|| format!("while reading the bundle {}", path.display()))?;
        let verdict = ProofBundle::from_json(&text)
            .map_err(|e| e.to_string())
            .and_then(|bundle| check(&bundle, &trust));
        all_valid &= verdict.is_ok();
        if args.json {
            json.push(match &verdict {
                Ok(v) => serde_json::json!({ "bundle": path, "valid": true, "verdict": v }),
                Err(e) => serde_json::json!({ "bundle": path, "valid": false, "reason": e }),
            });
        } else {
            print_text(path, &verdict);
        }
    }
    if args.json {
        let out = match <[serde_json::Value; 1]>::try_from(json) {
            Ok([one]) => one,
            Err(many) => serde_json::Value::Array(many),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if all_valid {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

fn print_text(path: &Path, verdict: &Result<Verdict, String>) {
    let v = match verdict {
        Ok(v) => v,
        Err(reason) => {
            println!("INVALID: {}", path.display());
            println!("  reason: {reason}");
            return;
        }
    };
    println!("VALID: {}", path.display());
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
    match (v.native_proof, v.native_proof_checked) {
        (Some(f), true) => println!("  native proof   {f:?} proof checked"),
        (Some(f), false) => println!(
            "  native proof   {f:?} proof present, not checked (the trust file names no source)"
        ),
        (None, _) => println!("  native proof   none in the bundle"),
    }
}
