//! `causeway verify BUNDLE... --trust TRUST [--rpc URL]`: check proof bundles offline.
//!
//! The bundle is untrusted input. What the verifier trusts comes from a separate trust file
//! (the lane's signing domain and validator set, as the destination would configure them), so
//! a forged bundle cannot bring its own validators. Every file is read up to a limit, every
//! bundle gets a verdict (an unreadable one too), and what the checks did not prove (a source
//! reference field, a block not compared with its chain) is said in the verdict.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use causeway_adapters::NativeVerifier;
use causeway_adapters::chain::ObservedMessage;
use causeway_adapters::evm::{CheckedSource, EvmNativeVerifier};
use causeway_config::FabricPolicy;
use causeway_proofs::bundle::{ChainFamily, MAX_BUNDLE_JSON_LEN, TrustAnchor, Verdict};
use causeway_proofs::evm::{ProvenSource, Unproved};
use causeway_proofs::fabric::{
    EndorsementPolicy, FabricIdentity, FabricNativeVerifier, FabricVerifierConfig, MspRoots,
    TrustedMsps,
};
use causeway_proofs::message::Address32;
use causeway_proofs::{Domain, EvmAddress, ProofBundle, SigningDomain, ValidatorSet};
use serde::{Deserialize, Serialize};

use super::Outcome;
use super::chain::OriginNode;
use super::input::read_text;
use super::verify_fisco::{FiscoCheck, FiscoNode, FiscoTrust};

/// Arguments of `causeway verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The proof bundles (JSON, format `causeway-proof-bundle/1`), one or more.
    #[arg(required_unless_present_any = ["evidence", "disclosure", "query"], num_args = 1..)]
    bundles: Vec<PathBuf>,
    /// Check equivocation evidence instead of bundles (JSON, format
    /// `causeway-equivocation-v1`, as `causeway store evidence` exports it): one validator's
    /// signatures over two roots for one lane and log size. With --trust, the evidence must also
    /// be for that lane's signing domain and name one of its validators.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["bundles", "rpc"])]
    evidence: Vec<PathBuf>,
    /// The trust file: the lane's signing domain, validators and threshold, and optionally the
    /// origin's native-proof settings (JSON).
    #[arg(long, required_unless_present_any = ["evidence", "disclosure", "query"])]
    trust: Option<PathBuf>,
    /// Print the verdicts as JSON instead of text (one object for one bundle, else an array).
    #[arg(long)]
    json: bool,
    /// An origin node's JSON-RPC URL. EVM origins: each proven block's hash is compared with
    /// the chain's block at that number, which ties the proof to the chain; without it, the
    /// verdict reports the block hash as not compared with the chain. FISCO BCOS origins: the
    /// block is compared likewise and the Outbox's record of each message is read
    /// (`dispatched(id)`); without it, the verdict reports the message as unproved.
    #[arg(long, value_name = "URL")]
    rpc: Option<String>,
    /// Check the disclosed fields of a private message instead (its canonical encoding, 0x and
    /// hex, as the Outbox's `Dispatch` event carries it): they must prove against the commitment
    /// the message carries for its own origin, destination, nonce and sender.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bundles", "evidence", "rpc", "trust"])]
    pub(crate) disclosure: Option<PathBuf>,
    /// Check a cross-ledger query's answer instead (the JSON `POST /v1/queries` answered): its
    /// proof must be of the query and prove the value. EVM: from the block header down the
    /// state and storage tries (with --rpc, the block is compared with the chain's); Fabric:
    /// the endorsements, with --trust naming the channel's MSP roots and endorsement policy.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bundles", "evidence", "disclosure"])]
    pub(crate) query: Option<PathBuf>,
    /// Also check that each bundle's checkpoint is of the history anchored on a public chain
    /// (docs/anchoring.md): the same root as an anchored checkpoint of its size, or consistent
    /// with one through a proof from --consistency. Fails when nothing is anchored or the
    /// histories differ. Needs --anchor-rpc, and the Anchor's address from the trust file's
    /// `anchor` or from --anchor.
    #[arg(long, requires = "anchor_rpc", conflicts_with_all = ["evidence", "disclosure", "query"])]
    anchored: bool,
    /// With --anchored: a JSON-RPC URL of a node of the public chain the Anchor runs on (--rpc
    /// stays the origin's node).
    #[arg(long, value_name = "URL", requires = "anchored")]
    anchor_rpc: Option<String>,
    /// With --anchored: the Anchor contract's address (its code and its validator set for the
    /// origin are checked against this build and the trust file). Not needed when the trust
    /// file names it (`"anchor": {"address": …, "chain_id": …}`); when both do, they must agree.
    #[arg(long, value_name = "ADDRESS", requires = "anchored")]
    anchor: Option<String>,
    /// With --anchored: consistency proofs between a bundle's checkpoint size and an anchored
    /// size (`causeway store consistency` writes them), needed when the sizes differ.
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "anchored")]
    consistency: Vec<PathBuf>,
}

/// The trust file: what the verifier's own configuration says about the lane. Its format is
/// documented in `docs/trust-file.md`:
///
/// ```json
/// { "signing_domain": { "origin": 1, "origin_chain_id": 31337, "destination": 2,
///                       "destination_chain_id": 31338, "inbox": "0x…(20 or 32 bytes)",
///                       "validator_epoch": 1 },
///   "validators": ["0x…", "0x…", "0x…"], "threshold": 2,
///   "source": { "family": "evm", "outbox": "0x…" } }
/// ```
///
/// or, for a FISCO BCOS group, `"source": { "family": "fisco", "crypto": "ecdsa" | "sm",
/// "sealers": ["<node id>", …], "outbox": "0x…", "group": "group0" }`,
///
/// or, for a Fabric origin,
/// `"source": { "family": "fabric", "channel": "trade", "orgs": [{ "msp_id": "Org1MSP",
/// "root_certs": ["-----BEGIN CERTIFICATE-----…"] }, …], "orderers": [{ "msp_id": "OrdererMSP",
/// "root_certs": […] }], "endorsement_policy": "AND(Org1MSP,Org2MSP)" }`.
///
/// The threshold is held to the configuration's rule (a strict majority, see
/// [`causeway_config::check_threshold`]). With `source`, every bundle must carry a native proof
/// of that family, and it is checked (EVM: the receipt-trie proof against the block's
/// receiptsRoot, the event from the named Outbox, the emitting transaction against the
/// transactionsRoot, and every field of the source reference proven or reported unproved;
/// Fabric: the block's data hash and orderer signatures, its creator and endorsements under the
/// policy, the event from the outbox chaincode; the transaction's VALID code, which nobody signs,
/// is reported as unproved). Without it, native proofs are reported but not checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrustFile {
    signing_domain: TrustDomain,
    validators: Vec<EvmAddress>,
    threshold: u64,
    #[serde(default)]
    source: Option<SourceTrust>,
    /// The Anchor the lane's origin is anchored on, for `--anchored`.
    #[serde(default)]
    anchor: Option<AnchorTrust>,
}

/// The trust file's `anchor`: the Anchor contract the origin's log is anchored on, and the
/// public chain it runs on (the `--anchor-rpc` node must serve that chain).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnchorTrust {
    /// The Anchor's address.
    pub(crate) address: EvmAddress,
    /// The public chain's id (EIP-155).
    pub(crate) chain_id: u64,
}

/// The lane's signing domain as a trust file writes it: [`SigningDomain`], with the inbox
/// given as the configuration gives it (a 20-byte EVM address) or in its 32-byte form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustDomain {
    origin: Domain,
    origin_chain_id: u64,
    destination: Domain,
    destination_chain_id: u64,
    inbox: TrustInbox,
    validator_epoch: u64,
}

impl From<TrustDomain> for SigningDomain {
    fn from(d: TrustDomain) -> Self {
        SigningDomain {
            origin: d.origin,
            origin_chain_id: d.origin_chain_id,
            destination: d.destination,
            destination_chain_id: d.destination_chain_id,
            inbox: d.inbox.0,
            validator_epoch: d.validator_epoch,
        }
    }
}

/// The destination's inbox: `0x` + 40 hex digits (an EVM Inbox contract, as in the
/// configuration's `[chains.<name>] inbox`) or `0x` + 64 hex digits (the 32-byte form the
/// signatures commit to: an EVM address left-padded with zeros, or a named inbox's hash).
#[derive(Debug)]
struct TrustInbox(Address32);

impl<'de> Deserialize<'de> for TrustInbox {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(&s)
            .len();
        let parsed = match digits {
            40 => s.parse::<EvmAddress>().map(SigningDomain::evm_inbox),
            _ => s.parse::<Address32>(),
        };
        parsed.map(TrustInbox).map_err(|e| {
            serde::de::Error::custom(format!(
                "inbox {s:?}: {e}; write an EVM inbox as 0x and 40 hex digits (as in the \
                 configuration), or the 32-byte form as 0x and 64 hex digits"
            ))
        })
    }
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
    /// A FISCO BCOS group.
    Fisco(FiscoTrust),
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
    /// The channel's consenters a quorum above one is counted from (required then).
    #[serde(default)]
    consenters: Vec<TrustConsenter>,
}

/// One consenter of a Fabric trust: its orderer MSP and signing certificate (PEM).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustConsenter {
    msp_id: String,
    cert: String,
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

/// A Fabric channel's endorsers as the trust file at `path` names them in its `source` (the
/// rest of the file is not needed): the channel, its organisations' MSP roots and the
/// endorsement policy.
pub(crate) fn fabric_endorsers(path: &Path) -> Result<(String, TrustedMsps, EndorsementPolicy)> {
    let text = read_text(path, MAX_BUNDLE_JSON_LEN as u64)?;
    let file: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("the trust file {} is not JSON", path.display()))?;
    let source = file.get("source").cloned().with_context(|| {
        format!(
            "the trust file {} has no \"source\" (fix: add the Fabric channel's \
             {{\"family\": \"fabric\", \"channel\", \"orgs\", \"orderers\", \
             \"endorsement_policy\"}})",
            path.display()
        )
    })?;
    let SourceTrust::Fabric(trust) = SourceTrust::deserialize(source)
        .with_context(|| format!("the source in the trust file {}", path.display()))?
    else {
        anyhow::bail!(
            "the trust file {} names an EVM source, not a Fabric channel",
            path.display()
        );
    };
    let ids: Vec<String> = trust.orgs.iter().map(|m| m.msp_id.clone()).collect();
    let policy = match FabricPolicy::parse(&trust.endorsement_policy, &ids)
        .map_err(|e| anyhow::anyhow!("endorsement_policy in the trust file: {e}"))?
    {
        FabricPolicy::AllOf(m) => EndorsementPolicy::AllOf(m),
        FabricPolicy::OutOf { n, msps } => EndorsementPolicy::OutOf { n, msps },
        FabricPolicy::Majority(m) => EndorsementPolicy::Majority(m),
        other => anyhow::bail!("endorsement policy {other} is not supported by this build"),
    };
    Ok((
        trust.channel,
        trusted_msps(&trust.orgs, "organisation")?,
        policy,
    ))
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
        consenters,
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
    config.consenters = consenters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            FabricIdentity::from_pem(&c.msp_id, c.cert.as_bytes()).with_context(|| {
                format!(
                    "consenters[{i}] ({}) in the trust file: give the consenter's signing certificate in PEM",
                    c.msp_id
                )
            })
        })
        .collect::<Result<_>>()?;
    Ok(Box::new(
        FabricNativeVerifier::new(origin, config).context("the Fabric source in the trust file")?,
    ))
}

/// What `causeway verify` trusts: the lane's anchor and, optionally, a native-proof checker.
pub(crate) struct Trust {
    anchor: TrustAnchor,
    native: Option<Native>,
    /// The Anchor of the origin's log, when the trust file names it.
    anchored_on: Option<AnchorTrust>,
}

/// The origin's native-proof checker.
enum Native {
    /// An EVM origin: checked here field by field, so the verdict says what is unproved.
    Evm(EvmNativeVerifier),
    /// A FISCO BCOS group: checked offline, then confirmed with a node (`--rpc`).
    Fisco(FiscoCheck),
    /// Another family, checked as a whole.
    Other(Box<dyn NativeVerifier>),
}

impl Native {
    fn family(&self) -> ChainFamily {
        match self {
            Native::Evm(v) => v.family(),
            Native::Fisco(f) => f.verifier().family(),
            Native::Other(v) => v.family(),
        }
    }
}

/// Largest trust file read (it holds at most a few hundred validators).
const MAX_TRUST_FILE_LEN: u64 = 1024 * 1024;

/// Reads and checks the trust file: its validator set is held to the configuration's
/// threshold rule ([`causeway_config::check_threshold`]), so a trust file cannot accept what a
/// gateway's configuration would refuse.
pub(crate) fn load_trust(path: &Path) -> Result<Trust> {
    let text = read_text(path, MAX_TRUST_FILE_LEN)
        .with_context(|| format!("while reading the trust file {}", path.display()))?;
    let file: TrustFile = serde_json::from_str(&text)
        .with_context(|| format!("while parsing the trust file {}", path.display()))?;
    causeway_config::check_threshold(file.threshold, file.validators.len())
        .with_context(|| format!("in the trust file {}: threshold", path.display()))?;
    let threshold = usize::try_from(file.threshold)
        .context("the threshold does not fit in memory addresses")?;
    let validators = ValidatorSet::new(file.validators, threshold)
        .with_context(|| format!("in the trust file {}", path.display()))?;
    let signing_domain = SigningDomain::from(file.signing_domain);
    let native = match file.source {
        None => None,
        Some(SourceTrust::Evm { outbox }) => Some(Native::Evm(EvmNativeVerifier {
            domain: signing_domain.origin,
            outbox: outbox.0.into(),
        })),
        Some(SourceTrust::Fisco(fisco)) => {
            Some(Native::Fisco(fisco.build().with_context(|| {
                format!("in the trust file {}", path.display())
            })?))
        }
        Some(SourceTrust::Fabric(fabric)) => Some(Native::Other(
            fabric_verifier(signing_domain.origin, fabric)
                .with_context(|| format!("in the trust file {}", path.display()))?,
        )),
    };
    Ok(Trust {
        anchor: TrustAnchor {
            signing_domain,
            validators,
        },
        native,
        anchored_on: file.anchor,
    })
}

/// A verified bundle: the verdict, for an EVM origin what its source proof established, and
/// for any origin what the verdict relies on without proof.
struct Checked {
    verdict: Verdict,
    source: Option<EvmFindings>,
    /// Fields nothing here proved, with the reason (EVM: parts of the source reference; Fabric:
    /// the transaction's validation code, which nobody signs; FISCO BCOS without `--rpc`: the
    /// message itself).
    unproved: Vec<Unproved>,
    /// What a FISCO BCOS node (`--rpc`) confirmed.
    confirmed: Option<String>,
    /// With `--anchored`: the anchored checkpoint the bundle's is consistent with.
    anchored: Option<super::verify_anchored::AnchoredFinding>,
}

/// The origin node `--rpc` names, of the trust file's family.
pub(crate) enum Node {
    /// An EVM chain's node.
    Evm(OriginNode),
    /// A node of a FISCO BCOS group.
    Fisco(FiscoNode),
}

/// What an EVM native proof established about the bundle's source reference, and what not.
#[derive(Serialize)]
struct EvmFindings {
    /// Where the proof shows the message was emitted.
    proven: ProvenSource,
    /// The node (`--rpc`) whose chain has the proven block, if one was asked.
    on_chain_at: Option<String>,
}

/// Why a bundle did not verify.
pub(crate) enum Refusal {
    /// The bundle is refused: it is malformed or a check failed.
    Invalid(String),
    /// A check could not be made (the `--rpc` node failed): neither valid nor refused.
    Unchecked(String),
}

/// Verifies one parsed bundle: the checkpoint, signatures and inclusion proof against the
/// anchor, then the native proof when the trust file configures the origin, then (EVM, with
/// `--rpc`) that the proven block is on the origin chain.
fn check(bundle: &ProofBundle, trust: &Trust, node: Option<&Node>) -> Result<Checked, Refusal> {
    let invalid = |reason: String| Refusal::Invalid(reason);
    let mut verdict = bundle
        .verify(&trust.anchor)
        .map_err(|e| invalid(e.to_string()))?;
    let Some(native) = &trust.native else {
        return Ok(Checked {
            verdict,
            source: None,
            unproved: Vec::new(),
            confirmed: None,
            anchored: None,
        });
    };
    let (Some(proof), Some(source)) = (bundle.native_proof(), bundle.source()) else {
        return Err(invalid(format!(
            "the trust file requires a {:?} native proof and its source reference, and the bundle has {}",
            native.family(),
            if bundle.native_proof().is_none() {
                "no native proof"
            } else {
                "no source reference"
            }
        )));
    };
    let observed = ObservedMessage {
        message: bundle.message().clone(),
        source: source.clone(),
        proof: proof.clone(),
    };
    let native_error = |e: causeway_adapters::Error| invalid(format!("native proof: {e}"));
    let mut confirmed = None;
    let (findings, unproved) = match native {
        Native::Fisco(fisco) => {
            let node = match node {
                Some(Node::Fisco(n)) => Some(n),
                _ => None,
            };
            let (confirmation, unproved) = fisco.check(&observed, node)?;
            confirmed = confirmation;
            (None, unproved)
        }
        Native::Other(verifier) => {
            verifier.verify(&observed).map_err(native_error)?;
            let unproved = match verifier.family() {
                ChainFamily::Fabric => vec![Unproved {
                    field: "validation_code",
                    reason: causeway_proofs::fabric::VALIDATION_CODE_UNPROVED.to_owned(),
                }],
                _ => Vec::new(),
            };
            (None, unproved)
        }
        Native::Evm(verifier) => {
            let CheckedSource {
                proven,
                mut unproved,
            } = verifier.check(&observed).map_err(native_error)?;
            let on_chain_at = match node {
                Some(Node::Evm(node)) => {
                    check_on_chain(node, &proven)?;
                    Some(node.shown().to_owned())
                }
                Some(Node::Fisco(_)) | None => {
                    unproved.insert(
                        0,
                        Unproved {
                            field: "block_hash",
                            reason: "not compared with the origin chain: the proof shows that \
                                     the block's header holds the event, not that the block is \
                                     on the chain (pass --rpc URL of an origin node you trust)"
                                .to_owned(),
                        },
                    );
                    None
                }
            };
            (
                Some(EvmFindings {
                    proven,
                    on_chain_at,
                }),
                unproved,
            )
        }
    };
    verdict.native_proof_checked = true;
    Ok(Checked {
        verdict,
        source: findings,
        unproved,
        confirmed,
        anchored: None,
    })
}

/// Asks the origin node for the block at the proven number and compares its hash.
fn check_on_chain(node: &OriginNode, proven: &ProvenSource) -> Result<(), Refusal> {
    let number = proven.block_number;
    match node.block_hash(number) {
        Err(e) => Err(Refusal::Unchecked(format!(
            "the proven block could not be compared with the origin chain: {e:#}"
        ))),
        Ok(None) => Err(Refusal::Invalid(format!(
            "the origin chain at {} has no block {number}: the proof's block {} is not on it",
            node.shown(),
            proven.block_hash
        ))),
        Ok(Some(hash)) if hash != proven.block_hash => Err(Refusal::Invalid(format!(
            "the origin chain's block {number} at {} has hash {hash}, not the proof's {}: the \
             proof's block is not on the chain (a fork, or a forged header)",
            node.shown(),
            proven.block_hash
        ))),
        Ok(Some(_)) => Ok(()),
    }
}

/// What became of one bundle file.
enum Report {
    /// The file could not be read (missing, unreadable, too large, not UTF-8), or a check
    /// could not be made (the `--rpc` node failed).
    Unchecked(String),
    /// Read and refused, with the reason.
    Invalid(String),
    /// Verified.
    Valid(Box<Checked>),
}

impl Report {
    fn to_json(&self, path: &Path) -> serde_json::Value {
        match self {
            Report::Valid(c) => {
                let mut v =
                    serde_json::json!({ "bundle": path, "valid": true, "verdict": c.verdict });
                if let Some(source) = &c.source {
                    v["source"] = serde_json::json!(source);
                }
                if !c.unproved.is_empty() {
                    v["unproved"] = serde_json::json!(c.unproved);
                }
                if let Some(confirmed) = &c.confirmed {
                    v["confirmed"] = serde_json::json!(confirmed);
                }
                if let Some(anchored) = &c.anchored {
                    v["anchored"] = serde_json::json!(anchored);
                }
                v
            }
            Report::Invalid(e) => {
                serde_json::json!({ "bundle": path, "valid": false, "reason": e })
            }
            Report::Unchecked(e) => serde_json::json!({
                "bundle": path, "valid": false, "unchecked": true, "reason": e
            }),
        }
    }
}

/// Reads and checks one bundle file (and, with `anchored`, its checkpoint against the
/// anchored history).
fn report(
    path: &Path,
    trust: &Trust,
    node: Option<&Node>,
    anchored: Option<&super::verify_anchored::AnchoredCheck>,
) -> Report {
    let text = match read_text(path, MAX_BUNDLE_JSON_LEN as u64)
        .with_context(|| format!("while reading the bundle {}", path.display()))
    {
        Ok(text) => text,
        Err(e) => return Report::Unchecked(format!("{e:#}")),
    };
    match ProofBundle::from_json(&text)
        .map_err(|e| Refusal::Invalid(e.to_string()))
        .and_then(|bundle| check(&bundle, trust, node))
    {
        Ok(mut checked) => match anchored.map(|a| a.check(&checked.verdict)) {
            None => Report::Valid(Box::new(checked)),
            Some(Ok(finding)) => {
                checked.anchored = Some(finding);
                Report::Valid(Box::new(checked))
            }
            Some(Err((true, reason))) => Report::Invalid(format!("anchored: {reason}")),
            Some(Err((false, reason))) => Report::Unchecked(format!("anchored: {reason}")),
        },
        Err(Refusal::Invalid(reason)) => Report::Invalid(reason),
        Err(Refusal::Unchecked(reason)) => Report::Unchecked(reason),
    }
}

/// Checks every bundle and prints every verdict, an unreadable or malformed file included.
/// Exit codes: 0 if all are valid, 1 if one was refused, 2 (an error) if one could not be read
/// or checked (after all verdicts are printed).
pub(crate) fn run(args: &VerifyArgs) -> Result<Outcome> {
    if let Some(file) = &args.disclosure {
        return super::verify_disclosure::run(file, args.json);
    }
    if let Some(file) = &args.query {
        return super::verify_query::run(
            file,
            args.trust.as_deref(),
            args.rpc.as_deref(),
            args.json,
        );
    }
    if !args.evidence.is_empty() {
        return evidence(args);
    }
    let trust_path = args
        .trust
        .as_deref()
        .context("--trust is required to verify bundles")?;
    let trust = load_trust(trust_path)?;
    let node = match &args.rpc {
        None => None,
        Some(url) => match &trust.native {
            Some(Native::Evm(_)) => Some(Node::Evm(OriginNode::connect(
                url,
                trust.anchor.signing_domain.origin_chain_id,
            )?)),
            Some(Native::Fisco(fisco)) => {
                Some(Node::Fisco(FiscoNode::connect(url, fisco.group())?))
            }
            _ => anyhow::bail!(
                "--rpc ties a proven block to its chain, but the trust file {} names no EVM or \
                 FISCO BCOS source (add \"source\": {{ \"family\": \"evm\", \"outbox\": \"0x…\" }})",
                trust_path.display()
            ),
        },
    };
    let anchored = match (args.anchored, &args.anchor_rpc) {
        (true, Some(url)) => Some(super::verify_anchored::AnchoredCheck::connect(
            url,
            &super::verify_anchored::anchor_of(
                args.anchor.as_deref(),
                trust.anchored_on,
                trust_path,
            )?,
            trust.anchor.signing_domain.origin,
            trust.anchor.validators.members(),
            trust.anchor.validators.threshold(),
            &args.consistency,
        )?),
        _ => None,
    };
    let mut all_valid = true;
    let mut unreadable = 0usize;
    let mut json = Vec::with_capacity(args.bundles.len());
    for path in &args.bundles {
        let report = report(path, &trust, node.as_ref(), anchored.as_ref());
        match &report {
            Report::Valid(_) => {}
            Report::Invalid(_) => all_valid = false,
            Report::Unchecked(e) => {
                all_valid = false;
                unreadable += 1;
                eprintln!("error: {e}");
            }
        }
        if args.json {
            json.push(report.to_json(path));
        } else {
            print_text(path, &report);
        }
    }
    if args.json {
        let out = match <[serde_json::Value; 1]>::try_from(json) {
            Ok([one]) => one,
            Err(many) => serde_json::Value::Array(many),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    anyhow::ensure!(
        unreadable == 0,
        "{unreadable} of {} bundles could not be read or checked (each is named above)",
        args.bundles.len()
    );
    Ok(if all_valid {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

/// `causeway verify --evidence FILE…`: each file's verdict; exit 1 when any proves nothing.
fn evidence(args: &VerifyArgs) -> Result<Outcome> {
    use causeway_proofs::attestation::{Equivocation, evidence::MAX_EVIDENCE_JSON_LEN};
    let trust = args.trust.as_deref().map(load_trust).transpose()?;
    let mut all_valid = true;
    for path in &args.evidence {
        let text = read_text(path, MAX_EVIDENCE_JSON_LEN as u64)?;
        let verdict = Equivocation::from_json(text.as_bytes())
            .map_err(anyhow::Error::from)
            .and_then(|e| {
                let validator = e.verify()?;
                let mut earlier_epoch = None;
                if let Some(trust) = &trust {
                    let lane = &trust.anchor.signing_domain;
                    // The lane is everything the domain names but the validator epoch.
                    let mut same_lane = e.domain;
                    same_lane.validator_epoch = lane.validator_epoch;
                    anyhow::ensure!(
                        same_lane == *lane,
                        "the evidence is for another lane than the trust file's"
                    );
                    anyhow::ensure!(
                        e.domain.validator_epoch <= lane.validator_epoch,
                        "the evidence is signed under validator epoch {}, later than the trust \
                         file's epoch {}: check it against a trust file of that epoch",
                        e.domain.validator_epoch,
                        lane.validator_epoch
                    );
                    if e.domain.validator_epoch == lane.validator_epoch {
                        anyhow::ensure!(
                            trust.anchor.validators.contains(&validator),
                            "{validator} is not a validator of the trust file's lane"
                        );
                    } else {
                        // Equivocation under an earlier set stays evidence after the set
                        // changed; who was in that set is not in this trust file.
                        earlier_epoch = Some(lane.validator_epoch);
                    }
                }
                Ok((e, validator, earlier_epoch))
            });
        match verdict {
            Ok((e, validator, earlier_epoch)) => {
                println!("VALID EVIDENCE: {}", path.display());
                println!("  validator      {validator} signed two roots");
                println!(
                    "  lane           domain {} -> domain {} (epoch {})",
                    e.domain.origin, e.domain.destination, e.domain.validator_epoch
                );
                if let Some(current) = earlier_epoch {
                    println!(
                        "  epoch          signed under epoch {}, before the trust file's epoch \
                         {current}: the trust file does not say who validated then (check \
                         {validator} against that epoch's set)",
                        e.domain.validator_epoch
                    );
                }
                println!(
                    "  log size       {} ({})",
                    e.first.checkpoint.size().0,
                    e.first.checkpoint.hash_algorithm()
                );
                println!("  first root     {}", e.first.checkpoint.root());
                println!("  second root    {}", e.second.checkpoint.root());
            }
            Err(reason) => {
                all_valid = false;
                println!("INVALID EVIDENCE: {}", path.display());
                println!("  reason: {reason:#}");
            }
        }
    }
    Ok(if all_valid {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

fn print_text(path: &Path, report: &Report) {
    let (v, findings, unproved, confirmed) = match report {
        Report::Valid(c) => (&c.verdict, &c.source, &c.unproved, &c.confirmed),
        Report::Invalid(reason) => {
            println!("INVALID: {}", path.display());
            println!("  reason: {reason}");
            return;
        }
        Report::Unchecked(reason) => {
            println!("UNCHECKED: {}", path.display());
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
    if let Some(f) = findings {
        let p = &f.proven;
        let tx = p
            .transaction_hash
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        println!(
            "  source         block {} ({}), transaction {}{tx}, log {} of its receipt",
            p.block_number, p.block_hash, p.tx_index, p.log_index_in_receipt
        );
        if let Some(node) = &f.on_chain_at {
            println!(
                "  on chain       block {} has this hash at {node}",
                p.block_number
            );
        }
    }
    if let Some(confirmed) = confirmed {
        println!("  confirmed      {confirmed}");
    }
    if let Report::Valid(c) = report
        && let Some(a) = &c.anchored
    {
        println!(
            "  anchored       consistent with the checkpoint of {} leaves ({}) on the Anchor {}",
            a.anchored_size, a.anchored_root, a.anchor
        );
    }
    for u in unproved {
        println!("  unproved       {}: {}", u.field, u.reason);
    }
}
