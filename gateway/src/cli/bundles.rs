//! Proof bundles out of a relayer's store: what `causeway bench relay --export-bundles` writes,
//! so that every delivered message can be checked afterwards with `causeway verify`.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use causeway_gateway::proof;
use causeway_proofs::{EvmAddress, SigningDomain, ValidatorSet};
use causeway_relayer::store::{CheckpointStore, Lane, QueryStore, SqliteStore};

/// Writes `dir/trust.json` (the lane's signing domain, validators and threshold, and an EVM
/// origin's Outbox for the native-proof check) and one `dir/bundle-<leaf index>.json` per
/// message of the lane covered by its latest checkpoint that has `validators.threshold()`
/// signatures. Returns how many bundles were written.
pub(crate) fn export(
    store: &SqliteStore,
    lane: Lane,
    signing_domain: SigningDomain,
    validators: &ValidatorSet,
    outbox: Option<EvmAddress>,
    dir: &Path,
) -> Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut domain = serde_json::json!(signing_domain);
    if let Some(inbox) = signing_domain.inbox.to_evm() {
        // The configuration's form of an EVM inbox (the trust file takes both).
        domain["inbox"] = serde_json::json!(inbox);
    }
    let mut trust = serde_json::json!({
        "signing_domain": domain,
        "validators": validators.members(),
        "threshold": validators.threshold(),
    });
    if let Some(outbox) = outbox {
        trust["source"] = serde_json::json!({ "family": "evm", "outbox": outbox });
    }
    std::fs::write(
        dir.join("trust.json"),
        serde_json::to_string_pretty(&trust)?,
    )?;

    let stored = store
        .latest_checkpoint(lane, validators.threshold())?
        .ok_or_else(|| anyhow!("lane {lane} has no checkpoint with a quorum of signatures"))?;
    // The origin's log, rebuilt from the store's leaves, must have the signed root.
    let (log, ids) = proof::signed_log(store, lane, &stored)?;
    let mut written = 0;
    for (index, id) in ids.iter().enumerate() {
        let record = store
            .message(*id)?
            .ok_or_else(|| anyhow!("leaf {index} names message {id}, which the store lacks"))?;
        // The origin's log holds every lane's messages from it: only this lane's are bundled.
        if record.message.destination() != lane.destination {
            continue;
        }
        let bundle = proof::assemble(record, &log, &stored, signing_domain)?;
        std::fs::write(
            dir.join(format!("bundle-{index:06}.json")),
            bundle.to_json_pretty(),
        )?;
        written += 1;
    }
    Ok(written)
}
