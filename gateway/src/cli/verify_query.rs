//! `causeway verify --query FILE`: checks a cross-ledger query's answer (the JSON `POST
//! /v1/queries` returned) offline. The proof must be of the query the answer states and prove
//! its value:
//!
//! - EVM: the header hashes to the answer's block, and the account and storage proofs lead from
//!   its state root to the value; a contract call is re-executed over the proven accounts, slots
//!   and code alone and must return the value. With `--rpc URL` the block (and a call's chain
//!   id) is compared with the chain's at that height (without, the verdict says it was not).
//! - Fabric: the endorsements, against the channel's MSP roots and endorsement policy from
//!   `--trust FILE` (its `source`), endorse exactly this call and its response is the value.
//!   The proposal's time is reported: an endorsement shows what the state was then.
//! - FISCO BCOS: no state proofs exist; the answer is refused as unproven.

use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use causeway_adapters::evm::EvmCallProof;
use causeway_adapters::fabric::FabricStateProof;
use causeway_gateway::query::{QueryAnswer, QueryKind, check_binding};
use causeway_peer::ForwardedQuery;
use causeway_proofs::Domain;
use causeway_proofs::bundle::ChainFamily;
use serde::Deserialize as _;

use super::Outcome;
use super::chain::OriginNode;
use super::input::read_text;

/// The largest answer file read.
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// How old an endorsed Fabric read may be when checked offline: any age (the verdict reports
/// when it was proposed; freshness is the reader's judgement).
const OFFLINE_MAX_AGE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Checks `file`; prints the verdict (text, or JSON with `json`).
pub(crate) fn run(
    file: &Path,
    trust: Option<&Path>,
    rpc: Option<&str>,
    json: bool,
) -> Result<Outcome> {
    let text = read_text(file, MAX_FILE)?;
    let answer: QueryAnswer = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a query answer (fix: save the JSON POST /v1/queries answered)",
            file.display()
        )
    })?;
    let query = ForwardedQuery {
        domain: Domain(answer.domain),
        contract: answer.contract.clone(),
        key: answer
            .key
            .strip_prefix("0x")
            .and_then(|d| hex::decode(d).ok())
            .context("the answer's key is not 0x hex")?,
        height: Some(answer.height),
        kind: answer.kind.into(),
    };
    let mut notes: Vec<String> = Vec::new();
    let verdict = check_binding(&answer, &query).and_then(|()| match answer.proof.family {
        ChainFamily::Evm => evm(&answer, rpc, &mut notes),
        ChainFamily::Fabric => fabric(&answer, trust, &mut notes),
        ChainFamily::Fisco => Err(
            "FISCO BCOS has no state proofs: the value is the node's answer to a call, not proven"
                .to_owned(),
        ),
    });
    let valid = verdict.is_ok();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "valid": valid,
                "domain": answer.domain,
                "family": answer.family,
                "contract": answer.contract,
                "key": answer.key,
                "height": answer.height,
                "block": answer.block,
                "value": answer.value,
                "answered_by": answer.answered_by,
                "notes": notes,
                "reason": verdict.as_ref().err(),
            })
        );
    } else {
        match &verdict {
            Ok(()) => println!(
                "query answer {}: VALID ({} {} key {} = {} at block {} {})",
                file.display(),
                answer.family,
                answer.contract,
                answer.key,
                answer.value,
                answer.height,
                answer.block
            ),
            Err(reason) => println!("query answer {}: INVALID: {reason}", file.display()),
        }
        for note in &notes {
            println!("  {note}");
        }
    }
    Ok(if valid {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

/// EVM: [`check_binding`] verified the tries from the header; this ties the block to the chain.
fn evm(answer: &QueryAnswer, rpc: Option<&str>, notes: &mut Vec<String>) -> Result<(), String> {
    let call_chain_id = if answer.kind == QueryKind::Call {
        let proof = EvmCallProof::from_native_proof(&answer.proof).map_err(|e| e.to_string())?;
        notes.push(format!(
            "the call, re-executed over the {} accounts and {} slots proven from block {}'s \
             state root (and only them), returns the value",
            proof.accounts.len(),
            proof
                .accounts
                .iter()
                .map(|a| a.storage.len())
                .sum::<usize>(),
            answer.height
        ));
        Some(proof.chain_id)
    } else {
        notes.push(format!(
            "the account and storage proofs lead from block {}'s state root to the value",
            answer.height
        ));
        None
    };
    let Some(url) = rpc else {
        notes.push(
            "the block hash was NOT compared with the chain (pass --rpc URL of a node you trust)"
                .to_owned(),
        );
        if let Some(id) = call_chain_id {
            notes.push(format!(
                "the call ran with chain id {id}, the answering node's word (--rpc checks it)"
            ));
        }
        return Ok(());
    };
    let (node, chain_id) = OriginNode::connect_any(url).map_err(|e| format!("{e:#}"))?;
    if let Some(stated) = call_chain_id
        && stated != chain_id
    {
        return Err(format!(
            "the call ran with chain id {stated}, the node at {} is of chain {chain_id}",
            node.shown()
        ));
    }
    let hash = node
        .block_hash(answer.height)
        .map_err(|e| format!("{e:#}"))?
        .ok_or_else(|| {
            format!(
                "the node at {} has no block {}",
                node.shown(),
                answer.height
            )
        })?;
    let stated = answer.block.to_lowercase();
    if hash.to_string().to_lowercase() != stated {
        return Err(format!(
            "the chain's block {} at {} (chain id {chain_id}) is {hash}, not the answer's {}",
            answer.height,
            node.shown(),
            answer.block
        ));
    }
    notes.push(format!(
        "block {} is the chain's block at {} (chain id {chain_id})",
        answer.height,
        node.shown()
    ));
    Ok(())
}

/// Fabric: the endorsements under the trust file's policy, and the endorsed response is the value.
fn fabric(
    answer: &QueryAnswer,
    trust: Option<&Path>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let trust = trust.ok_or_else(|| {
        "a Fabric answer's endorsements need the channel's MSP roots and endorsement policy: \
         pass --trust FILE with a Fabric \"source\""
            .to_owned()
    })?;
    let (channel, msps, policy) =
        super::verify::fabric_endorsers(trust).map_err(|e| format!("{e:#}"))?;
    let proof = FabricStateProof::deserialize(&answer.proof.data)
        .map_err(|e| format!("the proof is not a Fabric state proof: {e}"))?;
    if proof.channel != channel {
        return Err(format!(
            "the proof is of channel {:?}, the trust file's is {channel:?}",
            proof.channel
        ));
    }
    let read = proof
        .verify(&msps, &policy, SystemTime::now(), OFFLINE_MAX_AGE)
        .map_err(|e| format!("the endorsements do not verify: {e}"))?;
    if answer.value_bytes()? != read.value {
        return Err("the endorsed response is not the answer's value".to_owned());
    }
    let when = read
        .proposed_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    notes.push(format!(
        "endorsed by {} under the trust file's policy; proposed at unix time {when}",
        read.endorsed_by.join(", ")
    ));
    Ok(())
}
