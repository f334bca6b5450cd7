//! `causeway devnet`'s public anchoring, checked at the end of a `--messages` run: the alliance
//! chain's log must be anchored on the public chain's Anchor up to its last message, every
//! anchor larger than the one before (the contract checked each consistency proof), and every
//! proof bundle from the alliance chain must pass `causeway verify --anchored` against it, with
//! the consistency files (`causeway-anchor-consistency/1`) written beside the bundles from the
//! first member's store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use anyhow::{Context, Result, ensure};
use causeway_devnet::CHAIN_A;
use causeway_devnet::contracts::Anchor;
use causeway_gateway::anchor::consistency::ConsistencyFile;
use causeway_gateway::devnet::MemberFolder;
use causeway_proofs::{LogSize, ProofBundle};
use causeway_relayer::store::{SourceStore, SqliteStore};
use tokio::process::Command;

use super::devnet::{LocalNet, Route, Side, mine};

/// How long the anchors may take to catch up with the alliance chain's log at the end.
const ANCHOR_TIMEOUT: Duration = Duration::from_secs(90);

/// What was anchored, for the summary.
pub(crate) struct AnchorSummary {
    /// The Anchor (`None`: the devnet anchors nothing).
    anchor: Option<Address>,
    /// `Anchored` events for the alliance chain.
    anchors: usize,
    /// The last anchored size.
    size: u64,
    /// Bundles that passed `verify --anchored`.
    verified: usize,
}

impl AnchorSummary {
    /// The summary's lines.
    pub(crate) fn print(&self) {
        if let Some(anchor) = self.anchor {
            eprintln!(
                "  anchored: the alliance chain's log, {} anchors on the public chain's Anchor \
                 {anchor}, the last at {} leaves; {} bundles from alliance passed `causeway \
                 verify --anchored`",
                self.anchors, self.size, self.verified
            );
        }
    }
}

/// Waits until the Anchor holds the alliance chain's whole log, checks that the anchors grew,
/// and runs `causeway verify --anchored` on the alliance chain's bundles.
pub(crate) async fn check(
    exe: &Path,
    dir: &Path,
    member: &MemberFolder,
    routes: &[Route],
    net: &LocalNet,
) -> Result<AnchorSummary> {
    let Some(anchor) = &net.anchor else {
        return Ok(AnchorSummary {
            anchor: None,
            anchors: 0,
            size: 0,
            verified: 0,
        });
    };
    let origin = CHAIN_A.domain;
    let expected: u64 = routes
        .iter()
        .filter(|r| matches!(r.from, Side::Evm(0)))
        .map(|r| r.sent.len() as u64)
        .sum();
    let deadline = Instant::now() + ANCHOR_TIMEOUT;
    let size = loop {
        let latest = anchor
            .latest(origin.0)
            .call()
            .await
            .context("reading the Anchor's latest checkpoint")?;
        if latest.size >= expected {
            break latest.size;
        }
        ensure!(
            Instant::now() < deadline,
            "the Anchor holds {} of the alliance chain's {expected} log entries after {} s; the \
             gateways' logs are in {} (grep anchoring)",
            latest.size,
            ANCHOR_TIMEOUT.as_secs(),
            dir.display()
        );
        mine(&net.chains).await?;
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    ensure!(
        size == expected,
        "the Anchor holds {size} entries of the alliance chain, more than the {expected} sent"
    );
    let public = &net.chains[1];
    let logs = public
        .provider
        .get_logs(
            &Filter::new()
                .address(*anchor.address())
                .event_signature(Anchor::Anchored::SIGNATURE_HASH)
                .topic1(B256::from(U256::from(origin.0)))
                .from_block(0),
        )
        .await
        .context("reading the Anchor's Anchored events")?;
    let sizes: Vec<u64> = logs
        .iter()
        .filter_map(|l| Anchor::Anchored::decode_log_data(l.data()).ok())
        .map(|e| e.size)
        .collect();
    ensure!(
        sizes.windows(2).all(|w| w[0] < w[1]) && sizes.last() == Some(&size),
        "the Anchor's anchors of the alliance chain do not grow to its last one: {sizes:?}"
    );

    // Every alliance bundle against the anchor, with the proofs its sizes need.
    let store = SqliteStore::open(member.store())
        .with_context(|| format!("opening {}", member.store().display()))?;
    let mut verified = 0;
    for route in routes.iter().filter(|r| matches!(r.from, Side::Evm(0))) {
        let folder = dir.join("bundles").join(route.name.replace("->", "-to-"));
        let bundles = bundle_files(&folder)?;
        let mut checkpoint_sizes = BTreeSet::new();
        for b in &bundles {
            let text =
                std::fs::read_to_string(b).with_context(|| format!("reading {}", b.display()))?;
            let bundle = ProofBundle::from_json(&text)
                .with_context(|| format!("parsing {}", b.display()))?;
            checkpoint_sizes.insert(bundle.checkpoint().size().0);
        }
        let proofs_dir = folder.join("anchored");
        std::fs::create_dir_all(&proofs_dir)
            .with_context(|| format!("creating {}", proofs_dir.display()))?;
        let mut proofs = Vec::new();
        for s in checkpoint_sizes.into_iter().filter(|s| *s != size) {
            let file = ConsistencyFile::from_store(
                &store as &dyn SourceStore,
                origin,
                LogSize(s),
                LogSize(size),
            )
            .map_err(|e| anyhow::anyhow!("{}: {e}", member.store().display()))?;
            let path = proofs_dir.join(format!("consistency-{s}-{size}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&file)?)
                .with_context(|| format!("writing {}", path.display()))?;
            proofs.push(path);
        }
        // The lane's trust file names the Anchor and its chain, so `verify --anchored` needs
        // only a node of that chain.
        let trust_path = folder.join("trust.json");
        let mut trust: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&trust_path)
                .with_context(|| format!("reading {}", trust_path.display()))?,
        )
        .with_context(|| format!("parsing {}", trust_path.display()))?;
        trust["anchor"] = serde_json::json!({
            "address": anchor.address().to_string(),
            "chain_id": public.spec.chain_id,
        });
        std::fs::write(&trust_path, serde_json::to_string_pretty(&trust)?)
            .with_context(|| format!("writing {}", trust_path.display()))?;
        let mut cmd = Command::new(exe);
        cmd.arg("verify")
            .args(&bundles)
            .arg("--trust")
            .arg(&trust_path)
            .arg("--anchored")
            .arg("--anchor-rpc")
            .arg(public.node.endpoint());
        if !proofs.is_empty() {
            cmd.arg("--consistency").args(&proofs);
        }
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .context("running causeway verify --anchored")?;
        ensure!(
            out.status.success(),
            "{}: `causeway verify --anchored` rejected a bundle in {}:\n{}",
            route.name,
            folder.display(),
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.contains("INVALID") || l.contains("reason"))
                .take(6)
                .collect::<Vec<_>>()
                .join("\n")
        );
        verified += bundles.len();
    }
    Ok(AnchorSummary {
        anchor: Some(*anchor.address()),
        anchors: sizes.len(),
        size,
        verified,
    })
}

/// The `bundle-*` files of a route's folder, sorted.
fn bundle_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("reading {}", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("bundle-"))
        })
        .collect();
    bundles.sort();
    Ok(bundles)
}
