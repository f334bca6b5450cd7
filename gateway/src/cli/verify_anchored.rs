//! `causeway verify BUNDLE… --trust TRUST --anchored --anchor-rpc URL [--anchor ADDRESS]
//! [--consistency FILE…]`: besides the bundle's own checks, its checkpoint must be of the
//! history anchored on the public chain.
//!
//! The verifier trusts the Anchor it names: the trust file's `anchor` (its address and its
//! chain's id, so the `--anchor-rpc` node must serve that chain) or `--anchor`. It checks that the address holds the Causeway
//! Anchor's code and that the Anchor counts the trust file's validators for the origin (so its
//! anchors were signed by the same committee the bundle's checkpoint was). Then, per bundle:
//! the checkpoint must be a SHA-256 one (the Anchor holds SHA-256 roots only), something must
//! be anchored for its origin, and the checkpoint must be consistent with an anchored
//! checkpoint (the latest, or any earlier one from the Anchor's `Anchored` events: the
//! contract only ever accepted an anchor that extends the previous one): the same root at the
//! same size, or an RFC 9162 consistency proof between the two sizes (`--consistency`, see
//! [`causeway_gateway::anchor::consistency`]) that links both roots. A rewritten history fails with the
//! reason; a missing proof names the command that writes it.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use causeway_proofs::bundle::Verdict;
use causeway_proofs::{Domain, EvmAddress, HashAlgorithm};

use super::input::read_text;
use causeway_gateway::anchor::consistency::{
    ConsistencyFile, Inconsistent, MAX_CONSISTENCY_JSON_LEN, check_consistent,
};
use causeway_gateway::anchor::{AnchorContract, Anchored};

/// The Anchor to check against: `--anchor`, the trust file's `anchor`, or both when they
/// agree (an address and, from the trust file, the chain id its node must serve).
pub(crate) struct AnchorChoice {
    address: EvmAddress,
    chain_id: Option<u64>,
}

/// Picks the Anchor from `--anchor` (`flag`) and the trust file's `anchor` (`trusted`, read
/// from `trust_path`): refuses neither, a malformed flag, or two different addresses.
pub(crate) fn anchor_of(
    flag: Option<&str>,
    trusted: Option<super::verify::AnchorTrust>,
    trust_path: &std::path::Path,
) -> Result<AnchorChoice> {
    let flag = flag
        .map(|a| {
            a.parse::<EvmAddress>().with_context(|| {
                format!("--anchor {a}: give the Anchor's address as 0x and 40 hex digits")
            })
        })
        .transpose()?;
    match (flag, trusted) {
        (None, None) => anyhow::bail!(
            "--anchored needs the Anchor's address: add \"anchor\": {{\"address\": \"0x…\", \
             \"chain_id\": N}} to the trust file {} or give --anchor ADDRESS",
            trust_path.display()
        ),
        (Some(a), Some(t)) if a != t.address => anyhow::bail!(
            "--anchor {a} is not the Anchor the trust file {} names ({}): drop --anchor or \
             correct the trust file",
            trust_path.display(),
            t.address
        ),
        (_, Some(t)) => Ok(AnchorChoice {
            address: t.address,
            chain_id: Some(t.chain_id),
        }),
        (Some(a), None) => Ok(AnchorChoice {
            address: a,
            chain_id: None,
        }),
    }
}

/// The Anchor a verifier checks bundles against, and the proofs it was given.
pub(crate) struct AnchoredCheck {
    contract: AnchorContract,
    address: EvmAddress,
    proofs: Vec<ConsistencyFile>,
    runtime: tokio::runtime::Runtime,
    /// Per origin, the anchored history read once (latest first, then the events).
    history: std::cell::RefCell<Vec<(Domain, Vec<Anchored>)>>,
}

/// What the anchored check found for one bundle.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct AnchoredFinding {
    /// The anchored checkpoint the bundle's is consistent with.
    pub(crate) anchored_size: u64,
    /// Its root.
    pub(crate) anchored_root: String,
    /// The Anchor.
    pub(crate) anchor: String,
}

impl AnchoredCheck {
    /// Connects to the Anchor `anchor` names through `url` (which must serve its chain, when
    /// the trust file names it), checks its code and that it counts `validators` (threshold
    /// `threshold`) for `origin`, and reads the consistency files.
    pub(crate) fn connect(
        url: &str,
        anchor: &AnchorChoice,
        origin: Domain,
        validators: &[EvmAddress],
        threshold: usize,
        consistency: &[PathBuf],
    ) -> Result<Self> {
        let address = anchor.address;
        let contract = AnchorContract::connect(url, address)
            .map_err(|e| anyhow::anyhow!("--anchor-rpc: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("while starting the async runtime")?;
        if let Some(expected) = anchor.chain_id {
            let served = runtime
                .block_on(contract.chain_id())
                .map_err(|e| anyhow::anyhow!("asking --anchor-rpc for its chain id: {e}"))?;
            ensure!(
                served == expected,
                "--anchor-rpc {} serves chain {served}, but the trust file's Anchor is on chain \
                 {expected}: give a node of chain {expected}",
                contract.node()
            );
        }
        let code = runtime
            .block_on(contract.code())
            .map_err(|e| anyhow::anyhow!("reading the Anchor's code: {e}"))?;
        ensure!(
            causeway_gateway::wiring::is_causeway_anchor(&code),
            "the contract at {address} on {} is not the Causeway Anchor this build knows (its \
             code differs{}): point --anchor at the consortium's Anchor",
            contract.node(),
            if code.is_empty() {
                ": there is no code"
            } else {
                ""
            }
        );
        let (on_chain, t, _, _) = runtime
            .block_on(contract.validator_set(origin))
            .map_err(|e| anyhow::anyhow!("reading the Anchor's validator set: {e}"))?;
        let mut a: Vec<EvmAddress> = on_chain.clone();
        let mut b: Vec<EvmAddress> = validators.to_vec();
        a.sort();
        b.sort();
        ensure!(
            a == b && t == threshold as u64,
            "the Anchor at {address} counts {} validator(s) with threshold {t} for origin \
             {origin}, not the trust file's {} with threshold {threshold}: its anchors are \
             not signed by the lane's committee",
            on_chain.len(),
            validators.len()
        );
        let mut proofs = Vec::with_capacity(consistency.len());
        for path in consistency {
            let text = read_text(path, MAX_CONSISTENCY_JSON_LEN)
                .with_context(|| format!("while reading {}", path.display()))?;
            proofs.push(
                ConsistencyFile::from_json(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            );
        }
        Ok(AnchoredCheck {
            contract,
            address,
            proofs,
            runtime,
            history: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// The Anchor's checkpoints for `origin`: the latest first, then every earlier one.
    fn anchored(&self, origin: Domain) -> Result<Vec<Anchored>, String> {
        if let Some((_, h)) = self.history.borrow().iter().find(|(o, _)| *o == origin) {
            return Ok(h.clone());
        }
        let latest = self
            .runtime
            .block_on(self.contract.latest(origin))
            .map_err(|e| format!("reading the Anchor's latest checkpoint: {e}"))?;
        let mut all = vec![latest];
        if latest.size.0 > 0 {
            let mut events = self
                .runtime
                .block_on(self.contract.history(origin))
                .map_err(|e| format!("reading the Anchor's Anchored events: {e}"))?;
            events.reverse();
            all.extend(events.into_iter().filter(|e| *e != latest));
        }
        self.history.borrow_mut().push((origin, all.clone()));
        Ok(all)
    }

    /// Checks one verified bundle's checkpoint. `Err((true, reason))` refuses the bundle;
    /// `Err((false, reason))` means the Anchor could not be read.
    pub(crate) fn check(&self, verdict: &Verdict) -> Result<AnchoredFinding, (bool, String)> {
        if verdict.hash_algorithm != HashAlgorithm::Sha256 {
            return Err((
                true,
                format!(
                    "the bundle's log hashes with {}; the Anchor holds SHA-256 roots only, so \
                     this lane's checkpoints cannot be compared with them",
                    verdict.hash_algorithm
                ),
            ));
        }
        let origin = verdict.origin;
        let anchored = self.anchored(origin).map_err(|e| (false, e))?;
        let Some(latest) = anchored.first().copied().filter(|l| l.size.0 > 0) else {
            return Err((
                true,
                format!(
                    "nothing is anchored for origin {origin} on the Anchor at {} ({}): there is \
                     no public record to compare the checkpoint with yet",
                    self.address,
                    self.contract.node()
                ),
            ));
        };
        let mut refusal: Option<Inconsistent> = None;
        for a in &anchored {
            match check_consistent(
                origin,
                verdict.log_size,
                verdict.root,
                a.size,
                a.root,
                &self.proofs,
            ) {
                Ok(_) => {
                    return Ok(AnchoredFinding {
                        anchored_size: a.size.0,
                        anchored_root: a.root.to_string(),
                        anchor: self.address.to_string(),
                    });
                }
                Err(e @ (Inconsistent::RootDiffers { .. } | Inconsistent::ProofFails { .. })) => {
                    refusal.get_or_insert(e);
                }
                Err(Inconsistent::NoProof { .. }) => {}
            }
        }
        let reason = match refusal {
            Some(e) => e.to_string(),
            None => Inconsistent::NoProof {
                origin,
                checkpoint: verdict.log_size.0,
                anchored: latest.size.0,
            }
            .to_string(),
        };
        Err((true, reason))
    }
}
