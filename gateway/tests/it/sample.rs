//! The sample bundle behind the README's Quickstart (`examples/bundle.json`, verified against
//! `examples/trust.json`). It is generated deterministically here; this test fails if the
//! committed files drift from what the current code produces. Regenerate with
//! `CAUSEWAY_BLESS=1 cargo test -p causeway-gateway --test it sample`.

use std::path::PathBuf;

use causeway_proofs::attestation::{ValidatorKey, order_signatures};
use causeway_proofs::bundle::SourceReference;
use causeway_proofs::hash::keccak256;
use causeway_proofs::log::Sha256Log;
use causeway_proofs::message::{Address32, Nonce};
use causeway_proofs::{
    Checkpoint, Domain, EvmAddress, HashAlgorithm, LeafIndex, Message, ProofBundle, SigningDomain,
};

/// Validator keys of the sample: secret i = keccak256("causeway sample validator i").
/// Public test keys only; never use them for anything else.
pub(crate) fn sample_validators() -> Vec<ValidatorKey> {
    (0..5)
        .map(|i| {
            let seed = keccak256(format!("causeway sample validator {i}").as_bytes());
            ValidatorKey::from_bytes(&seed.0).unwrap()
        })
        .collect()
}

pub(crate) fn sample_domain() -> SigningDomain {
    SigningDomain {
        origin: Domain(1),
        origin_chain_id: 31337,
        destination: Domain(2),
        destination_chain_id: 31338,
        inbox: SigningDomain::evm_inbox(
            "0x5fbdb2315678afecb367f032d93f642f64180aa3"
                .parse()
                .unwrap(),
        ),
        validator_epoch: 1,
    }
}

/// The sample: message 5 of an 8-message log from domain 1 to domain 2, attested by 3 of 5.
pub(crate) fn sample_bundle() -> (ProofBundle, serde_json::Value) {
    let domain = sample_domain();
    let sender: EvmAddress = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
        .parse()
        .unwrap();
    let recipient: EvmAddress = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
        .parse()
        .unwrap();
    let messages: Vec<Message> = (0..8u64)
        .map(|n| {
            Message::new(
                Nonce(n),
                domain.origin,
                Address32::from(sender),
                domain.destination,
                Address32::from(recipient),
                format!("{{\"invoice\":{n},\"amount\":\"{}.00\"}}", 100 * (n + 1)).into_bytes(),
            )
            .unwrap()
        })
        .collect();
    let mut log = Sha256Log::new();
    for m in &messages {
        log.append(m.id().as_hash());
    }
    let checkpoint =
        Checkpoint::new(domain.origin, HashAlgorithm::Sha256, log.size(), log.root()).unwrap();
    let digest = checkpoint.signing_digest(&domain);
    let keys = sample_validators();
    let sigs: Vec<_> = keys[..3].iter().map(|k| k.sign(&digest)).collect();
    let sigs = order_signatures(&digest, &sigs).unwrap();
    let index = LeafIndex(5);
    let bundle = ProofBundle::assemble(
        messages[5].clone(),
        log.inclusion_proof(index, log.size()).unwrap(),
        checkpoint,
        domain,
        sigs,
    )
    .unwrap()
    .with_source(SourceReference {
        block_number: Some(42),
        block_hash: Some(keccak256(b"sample block 42")),
        transaction_hash: Some(keccak256(b"sample transaction")),
        fabric_tx_id: None,
        event_index: Some(0),
    });
    // The inbox in the configuration's 20-byte form (the trust file also takes the 32-byte one).
    let mut trust_domain = serde_json::json!(domain);
    trust_domain["inbox"] = serde_json::json!(domain.inbox.to_evm().unwrap());
    let trust = serde_json::json!({
        "signing_domain": trust_domain,
        "validators": keys.iter().map(|k| k.address()).collect::<Vec<_>>(),
        "threshold": 3,
    });
    (bundle, trust)
}

pub(crate) fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn committed_sample_matches_the_generator() {
    let (bundle, trust) = sample_bundle();
    let bundle_json = bundle.to_json_pretty() + "\n";
    let trust_json = serde_json::to_string_pretty(&trust).unwrap() + "\n";
    let dir = examples_dir();
    if std::env::var_os("CAUSEWAY_BLESS").is_some() {
        std::fs::write(dir.join("bundle.json"), &bundle_json).unwrap();
        std::fs::write(dir.join("trust.json"), &trust_json).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("bundle.json")).unwrap(),
        bundle_json,
        "examples/bundle.json is stale: rerun with CAUSEWAY_BLESS=1"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("trust.json")).unwrap(),
        trust_json,
        "examples/trust.json is stale: rerun with CAUSEWAY_BLESS=1"
    );
}

/// Writes one proof bundle per message of `observed` into `dir` (`bundle-<i>.json`): one SHA-256
/// log of their ids in that order, its checkpoint for `domain.origin` signed by 3 of the sample's
/// 5 validators, each message's source reference and native proof. Returns the paths in order.
pub(crate) fn write_attested_bundles(
    dir: &std::path::Path,
    domain: SigningDomain,
    observed: &[causeway_adapters::ObservedMessage],
) -> Vec<PathBuf> {
    let mut log = Sha256Log::new();
    for o in observed {
        log.append(o.message.id().as_hash());
    }
    let checkpoint = causeway_proofs::Checkpoint::new(
        domain.origin,
        causeway_proofs::HashAlgorithm::Sha256,
        log.size(),
        log.root(),
    )
    .unwrap();
    let digest = checkpoint.signing_digest(&domain);
    let sigs: Vec<_> = sample_validators()[..3]
        .iter()
        .map(|k| k.sign(&digest))
        .collect();
    let sigs = order_signatures(&digest, &sigs).unwrap();
    let mut paths = Vec::new();
    for (i, o) in observed.iter().enumerate() {
        let bundle = ProofBundle::assemble(
            o.message.clone(),
            log.inclusion_proof(causeway_proofs::LeafIndex(i as u64), log.size())
                .unwrap(),
            checkpoint,
            domain,
            sigs.clone(),
        )
        .unwrap()
        .with_source(o.source.clone())
        .with_native_proof(o.proof.clone());
        let path = dir.join(format!("bundle-{i}.json"));
        std::fs::write(&path, bundle.to_json_pretty()).unwrap();
        paths.push(path);
    }
    paths
}
