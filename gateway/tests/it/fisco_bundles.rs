//! `causeway verify` on bundles of messages from the FISCO BCOS test node, in both crypto
//! modes: the trust file names the group's sealers, crypto mode and `FiscoOutbox`, and the CLI
//! checks each bundle's FISCO BCOS native proof (the header's seal by 2f+1 configured sealers,
//! the receipt's Merkle proof, the Outbox's `Dispatch`) beside its checkpoint and inclusion
//! proof. Without `--rpc` the verdict says a FISCO BCOS proof alone does not prove the message;
//! with `--rpc` the Outbox's record of each id is read, and a `Dispatch` forged from a crafted
//! log (docs/fisco.md, "Receipt hash") is refused even under a checkpoint the validators signed.
//! Proofs that miss the receipts root, seals below the quorum, unknown sealers and the other
//! mode's trust are refused.

use std::path::PathBuf;

use causeway_adapters::Source;
use causeway_adapters::chain::{Cursor, ObservedMessage};
use causeway_adapters::fisco::{FiscoSource, FiscoSourceConfig};
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::fisco::{CryptoMode, FiscoSourceProof, NodeSecret, SealerSet};
use causeway_proofs::{Address32, Domain, Message, Nonce};
use rand_core::OsRng;

use crate::sample::{sample_domain, sample_validators, write_attested_bundles};
use crate::support::{text, verify_all};

const FISCO: Domain = Domain(3001);
const DESTINATION: Domain = Domain(2);
/// Messages the Outbox sends.
const N: usize = 3;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fisco_bundles_verify_with_the_cli_and_a_forged_dispatch_is_refused_with_rpc() {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let node = FiscoNode::start(FiscoNodeConfig::new(mode)).await.unwrap();
        let contracts = node.deploy_causeway(FISCO).await.unwrap();
        let user = NodeSecret::generate(mode, &mut OsRng);
        for i in 0..N {
            contracts
                .dispatch(
                    &node,
                    &user,
                    DESTINATION,
                    [0x42; 20].into(),
                    format!("fisco message {i}").into_bytes(),
                )
                .await
                .unwrap();
        }
        let sealers = SealerSet::new(mode, node.sealer_keys()).unwrap();
        let source = FiscoSource::new(FiscoSourceConfig {
            endpoint: node.endpoint(),
            group: node.group().to_owned(),
            domain: FISCO,
            outbox: contracts.outbox,
            sealers: sealers.clone(),
            range: 64,
        })
        .unwrap();
        let mut observed: Vec<ObservedMessage> = source
            .next_batch(&Cursor::Start { height: 0 })
            .await
            .unwrap()
            .messages;
        assert_eq!(observed.len(), N, "{mode}");

        // The forgery: an attacker's log split into a Dispatch the Outbox never sent, appended
        // to the log and signed as if the validators had been fooled (the native proof is then
        // the last line of defence).
        let forged_message = Message::new(
            Nonce(N as u64),
            FISCO,
            Address32([0x77; 32]),
            DESTINATION,
            Address32([0x66; 32]),
            b"pay the attacker".to_vec(),
        )
        .unwrap();
        let attacker = NodeSecret::generate(mode, &mut OsRng);
        let forgery = contracts
            .forge_dispatch(&node, &attacker, &forged_message)
            .await
            .unwrap();
        let proof = FiscoSourceProof {
            block: forgery.block.clone(),
            receipt: forgery.forged.clone(),
        };
        let verified = proof.verify(&sealers, &contracts.outbox).unwrap();
        observed.push(ObservedMessage {
            message: forged_message,
            source: SourceReference {
                block_number: Some(u64::try_from(forgery.block.number).unwrap()),
                block_hash: Some(verified.block_hash),
                transaction_hash: Some(forgery.transaction),
                fabric_tx_id: None,
                event_index: Some(forgery.log_index as u64),
            },
            proof: NativeProof {
                family: ChainFamily::Fisco,
                data: serde_json::to_value(&proof).unwrap(),
            },
        });

        let mut domain = sample_domain();
        domain.origin = FISCO;
        domain.origin_chain_id = node.web3_chain_id();
        let dir = tempfile::tempdir().unwrap();
        let bundles = write_attested_bundles(dir.path(), domain, &observed);
        let (good, forged) = (&bundles[..N], &bundles[N]);
        let trust_json = |crypto: &str, sealers: Vec<String>| {
            serde_json::json!({
                "signing_domain": domain,
                "validators": sample_validators().iter().map(|k| k.address()).collect::<Vec<_>>(),
                "threshold": 3,
                "source": {
                    "family": "fisco",
                    "crypto": crypto,
                    "sealers": sealers,
                    "outbox": contracts.outbox,
                    "group": node.group(),
                },
            })
        };
        let node_ids: Vec<String> = node.sealer_keys().iter().map(|k| k.to_hex()).collect();
        let trust = dir.path().join("trust.json");
        std::fs::write(
            &trust,
            trust_json(mode.name(), node_ids.clone()).to_string(),
        )
        .unwrap();

        // Offline: every proof checks, and the verdict says the message itself is unproved.
        let out = verify_all(&bundles, &trust, &[]);
        let report = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out));
        assert_eq!(
            report.matches("native proof   Fisco proof checked").count(),
            N + 1,
            "{report}"
        );
        assert_eq!(
            report
                .matches("unproved       message: a FISCO BCOS receipt proof alone")
                .count(),
            N + 1,
            "{report}"
        );

        // With a node of the group: the genuine messages are confirmed, the forged one refused.
        let endpoint = node.endpoint();
        let out = verify_all(good, &trust, &["--rpc", &endpoint]);
        let report = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out));
        assert_eq!(
            report
                .matches("the Outbox recorded the message (dispatched(id) at")
                .count(),
            N,
            "{report}"
        );
        assert!(!report.contains("unproved"), "{report}");
        let out = verify_all(
            &[good[0].clone(), forged.clone()],
            &trust,
            &["--rpc", &endpoint],
        );
        let report = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{mode}: {}", text(&out));
        assert_eq!(
            report.matches("VALID: ").count() - report.matches("INVALID: ").count(),
            1
        );
        assert!(report.contains("has no record of message"), "{report}");

        // A receipt proof that does not reach the receipts root: the receipt's gas changed (a
        // one-receipt block's proof is its root, so the receipt's hash must be the root).
        let tamper = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| -> PathBuf {
            let mut bundle: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&good[1]).unwrap()).unwrap();
            edit(&mut bundle["native_proof"]["data"]);
            let path = dir.path().join(name);
            std::fs::write(&path, bundle.to_string()).unwrap();
            path
        };
        let bad_proof = tamper("bad-proof.json", &|data| {
            let gas: u64 = data["receipt"]["gasUsed"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            data["receipt"]["gasUsed"] = (gas + 1).to_string().into();
        });
        // Two of four sealers' signatures: below the quorum of three.
        let below_quorum = tamper("below-quorum.json", &|data| {
            data["block"]["signatureList"]
                .as_array_mut()
                .unwrap()
                .truncate(2);
        });
        // One signature given twice: one sealer does not count twice.
        let duplicate = tamper("duplicate.json", &|data| {
            let list = data["block"]["signatureList"].as_array_mut().unwrap();
            list.truncate(2);
            let first = list[0].clone();
            list.push(first);
        });
        let out = verify_all(&[bad_proof, below_quorum, duplicate], &trust, &[]);
        let report = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{mode}: {}", text(&out));
        assert_eq!(report.matches("INVALID: ").count(), 3, "{report}");
        assert!(report.contains("native proof:"), "{report}");

        // A trust with another sealer in place of one of the group's: that sealer is unknown.
        let mut other = node_ids.clone();
        let stranger = NodeSecret::generate(mode, &mut OsRng).public_key().to_hex();
        other[0] = stranger;
        let wrong = dir.path().join("wrong-sealers.json");
        std::fs::write(&wrong, trust_json(mode.name(), other).to_string()).unwrap();
        let out = verify_all(good, &wrong, &[]);
        let report = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{mode}: {}", text(&out));
        assert_eq!(report.matches("INVALID: ").count(), N, "{report}");

        // The other crypto mode's trust: the group's node ids are not its sealers (the SM2
        // and secp256k1 curves differ), so the trust file is refused before any bundle.
        let other_mode = match mode {
            CryptoMode::Ecdsa => CryptoMode::Sm,
            CryptoMode::Sm => CryptoMode::Ecdsa,
        };
        let other_keys: Vec<String> = (0..4)
            .map(|_| {
                NodeSecret::generate(other_mode, &mut OsRng)
                    .public_key()
                    .to_hex()
            })
            .collect();
        let crossed = dir.path().join("other-mode.json");
        std::fs::write(
            &crossed,
            trust_json(other_mode.name(), other_keys).to_string(),
        )
        .unwrap();
        let out = verify_all(good, &crossed, &[]);
        let report = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{mode}: {}", text(&out));
        assert_eq!(report.matches("INVALID: ").count(), N, "{report}");
    }
}
