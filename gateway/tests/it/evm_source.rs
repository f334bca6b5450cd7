//! `causeway verify` on bundles of messages dispatched on a real (anvil) chain: every field of
//! the source reference is proven, refused when edited, or reported as unproved; `--rpc` ties
//! the proven block to the chain (and refuses a block the chain does not have).

use std::path::{Path, PathBuf};

use alloy::primitives::{B256, Bytes};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use causeway_adapters::evm::{EvmSource, EvmSourceConfig, Finality};
use causeway_adapters::{Cursor, ObservedMessage, Source};
use causeway_devnet::contracts::Outbox;
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use serde_json::Value;

use crate::sample::{sample_bundle, sample_domain, write_attested_bundles};
use crate::support::{causeway, text, verify};

/// Dispatches two messages in one block (transactions 0 and 1) and observes them with the
/// EVM source, native proofs included.
async fn dispatch_two(chain: &DevChain) -> Vec<ObservedMessage> {
    let p = &chain.provider;
    p.anvil_set_auto_mine(false).await.unwrap();
    for i in 0..2u8 {
        let call = Outbox::dispatchCall {
            destination: CHAIN_B.domain.0,
            recipient: B256::repeat_byte(0x70 + i),
            body: Bytes::from(format!("order {i}").into_bytes()),
        };
        let request = TransactionRequest::default()
            .from(chain.admin)
            .to(*chain.outbox.address())
            .input(Bytes::from(call.abi_encode()).into())
            .gas_limit(500_000);
        let _pending = p.send_transaction(request).await.unwrap();
    }
    p.evm_mine(None).await.unwrap();
    p.anvil_set_auto_mine(true).await.unwrap();
    let source = EvmSource::new(EvmSourceConfig::new(
        chain.node.endpoint(),
        CHAIN_A.domain,
        *chain.outbox.address(),
        Finality::Confirmations(0),
    ))
    .unwrap();
    let mut cursor = Cursor::Start { height: 0 };
    let mut all = Vec::new();
    loop {
        let batch = source.next_batch(&cursor).await.unwrap();
        let caught_up = batch.cursor == cursor;
        all.extend(batch.messages);
        cursor = batch.cursor;
        if caught_up {
            return all;
        }
    }
}

/// Bundles of `observed` (one log, attested by 3 of the sample's 5 validators) and the trust
/// file naming the chain's Outbox, written into `dir`.
fn write_bundles(
    dir: &Path,
    chain: &DevChain,
    observed: &[ObservedMessage],
) -> (Vec<PathBuf>, PathBuf) {
    let paths = write_attested_bundles(dir, sample_domain(), observed);
    let (_, mut trust) = sample_bundle();
    trust["source"] = serde_json::json!({ "family": "evm", "outbox": chain.outbox.address() });
    let trust_path = dir.join("trust.json");
    std::fs::write(&trust_path, serde_json::to_string_pretty(&trust).unwrap()).unwrap();
    (paths, trust_path)
}

fn edited(dir: &Path, name: &str, src: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    edit(&mut v);
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    p
}

#[test]
fn every_source_field_is_proven_refused_or_reported_and_rpc_checks_the_chain() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let chain = rt.block_on(DevChain::start(CHAIN_A)).unwrap();
    let before = rt.block_on(chain.provider.anvil_snapshot()).unwrap();
    let observed = rt.block_on(dispatch_two(&chain));
    assert_eq!(observed.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let (bundles, trust) = write_bundles(dir.path(), &chain, &observed);
    let rpc = chain.node.endpoint();

    // Transaction 0: every field proven but the chain tie, which needs --rpc.
    let out = verify(&bundles[0], &trust, &[]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        report.contains("native proof   Evm proof checked"),
        "{report}"
    );
    let tx_hash = observed[0].source.transaction_hash.unwrap();
    assert!(
        report.contains(&format!("transaction 0 ({tx_hash}), log 0 of its receipt")),
        "{report}"
    );
    assert!(
        report.contains("unproved       block_hash: not compared"),
        "{report}"
    );
    assert!(!report.contains("unproved       event_index"), "{report}");
    assert!(
        !report.contains("unproved       transaction_hash"),
        "{report}"
    );

    // Transaction 1: its block-wide log index counts transaction 0's logs: reported.
    let out = verify(&bundles[1], &trust, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unproved: Vec<&str> = v["unproved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["field"].as_str().unwrap())
        .collect();
    assert_eq!(unproved, ["block_hash", "event_index"], "{v}");
    assert_eq!(v["source"]["proven"]["tx_index"], 1, "{v}");

    // Edited fields: refused where proven, reported where not.
    let d = dir.path();
    let other_hash = format!("0x{}", "ee".repeat(32));
    let tx_edit = edited(d, "tx.json", &bundles[0], |b| {
        b["source"]["transaction_hash"] = other_hash.clone().into()
    });
    let out = verify(&tx_edit, &trust, &[]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("transaction_hash"), "{report}");

    let index_edit = edited(d, "index.json", &bundles[0], |b| {
        b["source"]["event_index"] = 1.into()
    });
    let out = verify(&index_edit, &trust, &[]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("event_index"), "{report}");

    let later_index_edit = edited(d, "later-index.json", &bundles[1], |b| {
        b["source"]["event_index"] = 7.into()
    });
    let out = verify(&later_index_edit, &trust, &[]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        report.contains("unproved       event_index: the proof shows log 0 of transaction 1's receipt; the block-wide index 7"),
        "{report}"
    );

    // A proof without the transaction (as made before it carried one): the hash is unproved.
    let old_format = edited(d, "old.json", &bundles[0], |b| {
        b["native_proof"]["data"]
            .as_object_mut()
            .unwrap()
            .remove("transaction_proof")
            .unwrap();
    });
    let out = verify(&old_format, &trust, &[]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        report.contains("unproved       transaction_hash"),
        "{report}"
    );

    // --rpc: the node's block at the proven number has the proven hash.
    let out = verify(&bundles[0], &trust, &["--rpc", &rpc]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report.contains("on chain       block"), "{report}");
    assert!(!report.contains("unproved       block_hash"), "{report}");
    let out = verify(&bundles[1], &trust, &["--rpc", &rpc, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["source"]["on_chain_at"].is_string(), "{v}");

    // A node of another chain id is refused before any bundle is checked.
    let other_chain = edited(d, "other-chain.json", &trust, |t| {
        t["signing_domain"]["origin_chain_id"] = 1.into()
    });
    let out = verify(&bundles[0], &other_chain, &["--rpc", &rpc]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("serves chain id 31337"),
        "{}",
        text(&out)
    );

    // The chain forgets the block (revert to before the dispatches, mine others): the proof's
    // block is no longer the chain's block at that number.
    rt.block_on(async {
        assert!(chain.provider.anvil_revert(before).await.unwrap());
        chain.provider.anvil_mine(Some(3), None).await.unwrap();
    });
    let out = verify(&bundles[0], &trust, &["--rpc", &rpc]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("is not on the chain"), "{report}");
    // Without --rpc nothing can tell: it verifies, with the block hash reported as unproved.
    let out = verify(&bundles[0], &trust, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn rpc_needs_an_evm_source_in_the_trust_file() {
    let dir = crate::sample::examples_dir();
    let out = causeway(&[
        "verify",
        dir.join("bundle.json").to_str().unwrap(),
        "--trust",
        dir.join("trust.json").to_str().unwrap(),
        "--rpc",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("names no EVM or FISCO BCOS source"),
        "{}",
        text(&out)
    );
}
