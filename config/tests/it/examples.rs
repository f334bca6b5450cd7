//! Every file in `config/examples/` loads. The folder is listed at run time, so a new example is
//! covered without touching this test; the key files it names are generated here (mode 0600),
//! from the keys' names: `validator_key_file` gets org1's validator secret, `privacy_key_file`
//! its privacy secret, other `*key*` files a dummy secret, other files a dummy certificate.

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use causeway_config::{ChainFamily, ChainKind, Config, FabricPolicy, Finality, NoEnv, Storage};
use causeway_proofs::{Domain, HashAlgorithm};

use crate::support::{Fixture, ORG1_ADDRESS, privacy_secret_hex, validator_secret_hex};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Every path value in the example (keys ending in `_file` or `_files`), with its key name.
fn referenced_files(value: &toml::Value, key: &str, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                referenced_files(v, k, out);
            }
        }
        toml::Value::Array(items) => {
            for item in items {
                referenced_files(item, key, out);
            }
        }
        toml::Value::String(s) if key.ends_with("_file") || key.ends_with("_files") => {
            out.push((key.to_owned(), s.clone()));
        }
        _ => {}
    }
}

/// Copies one example into a fresh folder with the files it names, and loads it.
fn load_example(path: &Path) -> Config {
    let text = std::fs::read_to_string(path).expect("read the example");
    let value: toml::Value = toml::from_str(&text).expect("the example is TOML");
    let mut files = Vec::new();
    referenced_files(&value, "", &mut files);
    assert!(!files.is_empty(), "{} names no file at all", path.display());

    let fixture = Fixture::new();
    for (key, rel) in files {
        match key.as_str() {
            "validator_key_file" => fixture.secret(&rel, &validator_secret_hex(1)),
            "privacy_key_file" => fixture.secret(&rel, &privacy_secret_hex(1)),
            k if k.contains("key") || k.contains("password") => {
                fixture.secret(&rel, &validator_secret_hex(7))
            }
            _ => fixture.public(&rel),
        };
    }
    let copy = fixture.path(
        path.file_name()
            .and_then(|n| n.to_str())
            .expect("a file name"),
    );
    std::fs::write(&copy, &text).expect("copy the example");
    let config = Config::load_with_env(&copy, &NoEnv)
        .unwrap_or_else(|e| panic!("example {} does not load:\n{e}", path.display()));
    // Paths are resolved into the copy's folder.
    assert!(
        config
            .gateway()
            .validator_key_file
            .starts_with(fixture.dir())
    );
    config
}

#[test]
fn every_example_loads() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).expect("config/examples exists") {
        let path = entry.expect("a folder entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let config = load_example(&path);
            assert_eq!(config.own_member().validator_address.to_hex(), ORG1_ADDRESS);
            seen.push(
                path.file_name()
                    .expect("file")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    seen.sort();
    for expected in ["fabric-evm.toml", "fisco-evm.toml", "gateway.toml"] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} missing from {seen:?}"
        );
    }
}

#[test]
fn the_reference_example_is_a_three_member_two_chain_consortium() {
    let config = load_example(&examples_dir().join("gateway.toml"));
    assert_eq!(config.gateway().organisation, "org1");
    assert_eq!(config.members().len(), 3);
    assert_eq!(config.chains().len(), 2);
    assert!(
        config
            .chains()
            .iter()
            .all(|c| c.family() == ChainFamily::Evm)
    );
    let a = config.chain("evm-a").expect("evm-a");
    assert_eq!(a.domain, Domain(1001));
    assert_eq!(
        a.finality,
        Finality::Confirmations(NonZeroU64::new(12).expect("non-zero"))
    );
    assert_eq!(a.endpoints.len(), 2);
    let ChainKind::Evm(evm) = &a.kind else {
        panic!("evm-a is an EVM chain")
    };
    assert_eq!(evm.chain_id, 1338);
    assert!(evm.anchor.is_some());
    // evm-b's log is anchored on evm-a's Anchor, 2 of 3, on both schedules.
    let [anchoring] = config.anchors() else {
        panic!("one anchoring: {:?}", config.anchors())
    };
    assert_eq!(anchoring.origin.name, "evm-b");
    assert_eq!(anchoring.chain.name, "evm-a");
    assert_eq!(Some(anchoring.anchor), evm.anchor);
    assert_eq!((anchoring.validators.len(), anchoring.threshold), (3, 2));
    assert_eq!(anchoring.every, Some(std::time::Duration::from_secs(600)));
    assert_eq!(anchoring.every_messages, NonZeroU64::new(1000));
    assert_eq!(
        config
            .chain_by_domain(Domain(1002))
            .map(|c| c.name.as_str()),
        Some("evm-b")
    );

    let lane = config.lane("evm-a-to-evm-b").expect("lane");
    assert_eq!((lane.threshold, lane.validators.len()), (2, 3));
    assert_eq!(lane.hash, HashAlgorithm::Sha256);
    assert_eq!(lane.rate_limit.map(|r| r.window.as_secs()), Some(3600));
    assert!(config.lane_between(Domain(1002), Domain(1001)).is_some());
    assert_eq!(config.lanes_from(Domain(1001)).count(), 1);
    assert_eq!(config.lanes_to(Domain(1001)).count(), 1);
    assert!(
        matches!(config.storage(), Storage::Sqlite { path } if path.ends_with("data/causeway.sqlite"))
    );
    assert_eq!(config.api().listen.port(), 8080);
    assert_eq!(config.monitoring().listen.port(), 9464);
}

#[test]
fn the_fabric_and_fisco_examples_use_their_families_settings() {
    let fabric = load_example(&examples_dir().join("fabric-evm.toml"));
    let chain = fabric.chain("fabric").expect("fabric chain");
    assert_eq!(chain.finality, Finality::OnCommit);
    let ChainKind::Fabric(f) = &chain.kind else {
        panic!("a Fabric chain")
    };
    assert_eq!(
        (
            f.channel.as_str(),
            f.outbox_chaincode.as_str(),
            f.inbox_chaincode.as_str(),
            f.msp_id.as_str()
        ),
        ("trade", "causeway_outbox", "causeway_inbox", "Org1MSP")
    );
    assert_eq!(f.chain_id, 2001);
    assert!(f.identity_cert_file.is_some() && f.tls_ca_file.is_some());
    let v = &f.verifier;
    assert_eq!(
        v.orgs.iter().map(|o| o.msp_id.as_str()).collect::<Vec<_>>(),
        ["Org1MSP", "Org2MSP"]
    );
    assert_eq!(v.orderers.len(), 1);
    assert_eq!(
        v.endorsement_policy,
        FabricPolicy::AllOf(vec!["Org1MSP".into(), "Org2MSP".into()])
    );
    assert_eq!(v.orderer_signatures, 1);

    let fisco = load_example(&examples_dir().join("fisco-evm.toml"));
    let ChainKind::Fisco(f) = &fisco.chain("fisco").expect("fisco chain").kind else {
        panic!("a FISCO chain")
    };
    assert_eq!(
        (f.chain_id.as_str(), f.group.as_str()),
        ("chain0", "group0")
    );
    assert_eq!(f.sealers.mode(), causeway_proofs::fisco::CryptoMode::Sm);
    assert_eq!((f.sealers.len(), f.sealers.quorum()), (4, 3));
    assert_eq!(
        fisco.lane("quorum-to-fisco").expect("lane").hash,
        HashAlgorithm::Sm3
    );
    assert!(matches!(
        fisco.storage(),
        Storage::Postgres {
            password_file: Some(_),
            ..
        }
    ));
}
