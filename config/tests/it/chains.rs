//! `[chains.<name>]` rules.

use causeway_config::{ChainKind, Finality, Rule};

use crate::support::{BASE, Fixture, edit};

const EVM_A_OUTBOX: &str = "outbox = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"\n";
const EVM_A_INBOX: &str = "inbox = \"0xe7f1725e7734ce288f8367e1bb143e90bb3f0512\"\n";

#[test]
fn an_evm_chain_without_outbox_or_inbox_is_refused() {
    let f = Fixture::new();
    let err = f.one_problem(
        &edit(BASE, EVM_A_OUTBOX, ""),
        "chains.evm-a.outbox",
        Rule::MissingContract,
    );
    assert_eq!(
        err.fix(),
        Some("add outbox = \"0x…\" with the address of the deployed Outbox contract")
    );
    f.one_problem(
        &edit(BASE, EVM_A_INBOX, ""),
        "chains.evm-a.inbox",
        Rule::MissingContract,
    );
}

#[test]
fn a_zero_contract_address_or_domain_is_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        EVM_A_INBOX,
        "inbox = \"0x0000000000000000000000000000000000000000\"\n",
    );
    f.one_problem(&text, "chains.evm-a.inbox", Rule::ZeroValue);
    let text = edit(BASE, "domain = 1001", "domain = 0");
    f.one_problem(&text, "chains.evm-a.domain", Rule::ZeroValue);
    let text = edit(BASE, "chain_id = 1338", "chain_id = 0");
    f.one_problem(&text, "chains.evm-a.chain_id", Rule::ZeroValue);
}

#[test]
fn duplicate_domains_are_refused() {
    let f = Fixture::new();
    let err = f.one_problem(
        &edit(BASE, "domain = 1002", "domain = 1001"),
        "chains.evm-b.domain",
        Rule::DuplicateDomain,
    );
    assert!(
        err.to_string()
            .contains("domain 1001 is already the domain of chain `evm-a`"),
        "{err}"
    );
    assert_eq!(err.fix(), Some("give every chain its own domain id"));
}

#[test]
fn duplicate_evm_chain_ids_are_refused() {
    let f = Fixture::new();
    f.one_problem(
        &edit(BASE, "chain_id = 1339", "chain_id = 1338"),
        "chains.evm-b.chain_id",
        Rule::DuplicateChainId,
    );
}

#[test]
fn an_empty_or_missing_endpoint_list_is_refused() {
    let f = Fixture::new();
    let err = f.one_problem(
        &edit(
            BASE,
            "endpoints = [\"http://127.0.0.1:8545\"]",
            "endpoints = []",
        ),
        "chains.evm-a.endpoints",
        Rule::EmptyEndpoints,
    );
    assert!(
        err.fix()
            .is_some_and(|f| f.contains("CAUSEWAY_CHAIN_EVM_A_ENDPOINTS")),
        "{err}"
    );
    f.one_problem(
        &edit(BASE, "endpoints = [\"http://127.0.0.1:8545\"]\n", ""),
        "chains.evm-a.endpoints",
        Rule::EmptyEndpoints,
    );
}

#[test]
fn bad_endpoints_are_refused_one_by_one() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        "endpoints = [\"http://127.0.0.1:8545\"]",
        "endpoints = [\"http://127.0.0.1:8545\", \"grpcs://x:1\", \"nonsense\"]",
    );
    let err = f.load(&text).expect_err("bad endpoints");
    assert_eq!(err.problems().len(), 2, "{err}");
    assert_eq!(
        crate::support::problem(&err, "chains.evm-a.endpoints[1]").rule(),
        Some(Rule::InvalidValue)
    );
    assert_eq!(
        crate::support::problem(&err, "chains.evm-a.endpoints[2]").rule(),
        Some(Rule::InvalidValue)
    );
}

#[test]
fn credentials_in_an_endpoint_in_the_file_are_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        "\"http://127.0.0.1:8545\"",
        "\"https://alice:s3cret@rpc.example:8545\"",
    );
    let err = f.one_problem(&text, "chains.evm-a.endpoints[0]", Rule::SecretInFile);
    assert!(
        err.fix()
            .is_some_and(|f| f.contains("CAUSEWAY_CHAIN_EVM_A_ENDPOINTS"))
    );
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn unsafe_finality_is_refused() {
    let f = Fixture::new();
    let cases = [
        (
            "finality = { confirmations = 0 }",
            "chains.evm-a.finality.confirmations",
            Rule::UnsafeFinality,
        ),
        (
            "finality = { tag = \"latest\" }",
            "chains.evm-a.finality.tag",
            Rule::UnsafeFinality,
        ),
        (
            "finality = { tag = \"safe\" }",
            "chains.evm-a.finality.tag",
            Rule::UnsafeFinality,
        ),
        (
            "finality = \"on-commit\"",
            "chains.evm-a.finality",
            Rule::UnsafeFinality,
        ),
        (
            "finality = { confirmations = -3 }",
            "chains.evm-a.finality.confirmations",
            Rule::InvalidValue,
        ),
        (
            "finality = \"whenever\"",
            "chains.evm-a.finality",
            Rule::InvalidValue,
        ),
        (
            "finality = { blocks = 3 }",
            "chains.evm-a.finality",
            Rule::InvalidValue,
        ),
    ];
    for (finality, key, rule) in cases {
        let err = f.one_problem(
            &edit(BASE, "finality = { confirmations = 12 }", finality),
            key,
            rule,
        );
        assert!(
            err.fix()
                .is_some_and(|f| f.contains("{ tag = \"finalized\" }")),
            "{finality}: {err}"
        );
    }
    let err = f.one_problem(
        &edit(BASE, "finality = { confirmations = 12 }\n", ""),
        "chains.evm-a.finality",
        Rule::MissingField,
    );
    assert!(err.to_string().contains("explicit finality rule"), "{err}");
}

/// A Fabric chain with its verifier; [`fabric_fixture`] writes the root certificates it names.
pub(crate) const FABRIC: &str = r#"
[chains.fab]
domain = 2001
family = "fabric"
chain_id = 7001
endpoints = ["grpcs://peer0.org1.example.com:7051"]
channel = "trade"
outbox_chaincode = "causeway_outbox"
inbox_chaincode = "causeway_inbox"
msp_id = "Org1MSP"
verifier = { orgs = [{ msp_id = "Org1MSP", root_cert_files = ["msp/org1.pem"] }, { msp_id = "Org2MSP", root_cert_files = ["msp/org2.pem"] }], orderers = [{ msp_id = "OrdererMSP", root_cert_files = ["msp/orderer.pem"] }], endorsement_policy = "AND(Org1MSP,Org2MSP)" }
"#;

/// A fixture with the files [`FABRIC`] names.
pub(crate) fn fabric_fixture() -> Fixture {
    let f = Fixture::new();
    for rel in ["msp/org1.pem", "msp/org2.pem", "msp/orderer.pem"] {
        f.public(rel);
    }
    f
}

#[test]
fn fabric_chains_are_final_on_commit_and_take_channel_and_chaincodes() {
    let f = fabric_fixture();
    let config = f
        .load(&format!("{BASE}{FABRIC}"))
        .expect("valid fabric chain");
    let fab = config.chain("fab").expect("fab");
    assert_eq!(fab.finality, Finality::OnCommit, "the default for fabric");
    let ChainKind::Fabric(c) = &fab.kind else {
        panic!("a Fabric chain")
    };
    assert_eq!(
        (
            c.channel.as_str(),
            c.outbox_chaincode.as_str(),
            c.inbox_chaincode.as_str()
        ),
        ("trade", "causeway_outbox", "causeway_inbox")
    );

    let text = format!(
        "{BASE}{}",
        edit(
            FABRIC,
            "\nmsp_id = ",
            "\nfinality = { confirmations = 3 }\nmsp_id = "
        )
    );
    let err = f.one_problem(&text, "chains.fab.finality", Rule::NotForFamily);
    assert_eq!(
        err.fix(),
        Some("write finality = \"on-commit\" (or leave finality out)")
    );

    let text = format!("{BASE}{}", edit(FABRIC, "channel = \"trade\"\n", ""));
    f.one_problem(&text, "chains.fab.channel", Rule::MissingContract);
    let text = format!(
        "{BASE}{}",
        edit(FABRIC, "outbox_chaincode = \"causeway_outbox\"\n", "")
    );
    let err = f.one_problem(&text, "chains.fab.outbox_chaincode", Rule::MissingContract);
    assert_eq!(
        err.fix(),
        Some("add outbox_chaincode = \"causeway_outbox\"")
    );

    let text = format!(
        "{BASE}{}",
        edit(
            FABRIC,
            "inbox_chaincode = \"causeway_inbox\"\n",
            "chaincode = \"causeway\"\n"
        )
    );
    let err = f.load(&text).expect_err("the old single chaincode key");
    let old = crate::support::problem(&err, "chains.fab.chaincode");
    assert!(
        old.fix()
            .is_some_and(|fix| fix.contains("outbox_chaincode") && fix.contains("inbox_chaincode")),
        "{err}"
    );

    let text = format!(
        "{BASE}{}outbox = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"\n",
        FABRIC
    );
    let err = f.one_problem(&text, "chains.fab.outbox", Rule::NotForFamily);
    assert_eq!(err.fix(), Some("remove `outbox` or correct `family`"));
}

#[test]
fn a_fabric_chain_needs_a_non_zero_chain_id_unique_among_fabric_chains() {
    let f = fabric_fixture();
    let config = f.load(&format!("{BASE}{FABRIC}")).expect("valid");
    let ChainKind::Fabric(c) = &config.chain("fab").expect("fab").kind else {
        panic!("a Fabric chain")
    };
    assert_eq!(c.chain_id, 7001);

    let missing = format!("{BASE}{}", edit(FABRIC, "chain_id = 7001\n", ""));
    let err = f.one_problem(&missing, "chains.fab.chain_id", Rule::MissingField);
    assert!(err.to_string().contains("checkpoint signatures"), "{err}");
    assert!(
        err.fix()
            .is_some_and(|fix| fix.starts_with("add chain_id = ") && fix.contains("unique")),
        "{err}"
    );
    let zero = format!("{BASE}{}", edit(FABRIC, "chain_id = 7001", "chain_id = 0"));
    let err = f.one_problem(&zero, "chains.fab.chain_id", Rule::ZeroValue);
    assert!(err.to_string().contains("never trusted"), "{err}");
    for bad in ["\"trade\"", "-5", "1.5"] {
        let text = format!(
            "{BASE}{}",
            edit(FABRIC, "chain_id = 7001", &format!("chain_id = {bad}"))
        );
        let err = f.one_problem(&text, "chains.fab.chain_id", Rule::InvalidValue);
        assert!(
            err.fix()
                .is_some_and(|fix| fix.contains("positive integer")),
            "{err}"
        );
    }

    let second = FABRIC
        .replace("chains.fab]", "chains.fab2]")
        .replace("domain = 2001", "domain = 2002");
    let twice = format!("{BASE}{FABRIC}{second}");
    let err = f.one_problem(&twice, "chains.fab2.chain_id", Rule::DuplicateChainId);
    assert!(
        err.to_string()
            .contains("chain `fab` already has chain id 7001"),
        "{err}"
    );
    let second = edit(&second, "chain_id = 7001", "chain_id = 7002");
    let config = f
        .load(&format!("{BASE}{FABRIC}{second}"))
        .expect("two channels, two chain ids");
    let ids: Vec<u64> = ["fab", "fab2"]
        .iter()
        .map(|n| match &config.chain(n).expect("chain").kind {
            ChainKind::Fabric(c) => c.chain_id,
            _ => panic!("a Fabric chain"),
        })
        .collect();
    assert_eq!(ids, [7001, 7002]);
    // Chain ids are unique per family, as EVM chain ids are: a Fabric chain may share a
    // number with an EVM chain.
    let shared = format!(
        "{BASE}{}",
        edit(FABRIC, "chain_id = 7001", "chain_id = 1338")
    );
    f.load(&shared)
        .expect("an EVM chain's id on a Fabric chain");
}

#[test]
fn a_fabric_signer_needs_its_certificate() {
    let f = fabric_fixture();
    f.secret("keys/fab.key", "-----BEGIN PRIVATE KEY-----\n");
    let text = format!("{BASE}{FABRIC}signer_key_files = [\"keys/fab.key\"]\n");
    f.one_problem(&text, "chains.fab.identity_cert_file", Rule::MissingField);
    f.public("msp/cert.pem");
    let config = f
        .load(&format!("{text}identity_cert_file = \"msp/cert.pem\"\n"))
        .expect("with its certificate");
    assert_eq!(
        config.chain("fab").expect("fab").signer_key_files,
        vec![f.path("keys/fab.key")]
    );
}

#[test]
fn a_fabric_sender_needs_its_certificate_and_a_certificate_its_key() {
    let f = fabric_fixture();
    f.secret("keys/sender.key", "-----BEGIN PRIVATE KEY-----\n");
    f.public("msp/sender.pem");
    let keyed = format!("{BASE}{FABRIC}sender_key_file = \"keys/sender.key\"\n");
    let err = f.one_problem(&keyed, "chains.fab.sender_cert_file", Rule::MissingField);
    assert!(
        err.fix()
            .is_some_and(|fix| fix.contains("sender_cert_file = ")),
        "{err}"
    );
    let certified = format!("{BASE}{FABRIC}sender_cert_file = \"msp/sender.pem\"\n");
    f.one_problem(
        &certified,
        "chains.fab.sender_cert_file",
        Rule::MissingField,
    );
    let config = f
        .load(&format!("{keyed}sender_cert_file = \"msp/sender.pem\"\n"))
        .expect("a Fabric sender identity");
    let fab = config.chain("fab").expect("fab");
    assert_eq!(fab.sender_key_file, Some(f.path("keys/sender.key")));
    let causeway_config::ChainKind::Fabric(fabric) = &fab.kind else {
        panic!("not fabric");
    };
    assert_eq!(fabric.sender_cert_file, Some(f.path("msp/sender.pem")));
    // A certificate is for Fabric identities only.
    let evm = edit(
        BASE,
        SIGNER_LINE,
        &format!("{SIGNER_LINE}sender_cert_file = \"msp/sender.pem\"\n"),
    );
    f.one_problem(&evm, "chains.evm-a.sender_cert_file", Rule::NotForFamily);
}

#[test]
fn a_fisco_sender_key_is_read_like_an_evm_one() {
    let f = Fixture::new();
    f.secret(
        "keys/fisco-sender.key",
        &crate::support::validator_secret_hex(9),
    );
    let text = format!("{BASE}{FISCO}sender_key_file = \"keys/fisco-sender.key\"\n");
    let config = f.load(&text).expect("a FISCO BCOS sender key");
    assert_eq!(
        config.chain("fisco").expect("fisco").sender_key_file,
        Some(f.path("keys/fisco-sender.key"))
    );
    f.secret("keys/fisco-sender.key", "not a key\n");
    f.one_problem(&text, "chains.fisco.sender_key_file", Rule::KeyFileContents);
}

const FISCO: &str = r#"
[chains.fisco]
domain = 3001
family = "fisco"
chain_id = "chain0"
group = "group0"
endpoints = ["http://127.0.0.1:20200"]
outbox = "0x6849f21d1e455e9f0712b1e99fa4fcd23758e8f1"
inbox = "0x31ed5233b81c79d5adddeef71df34703d1cf9a4c"
web3_chain_id = 20200
sealers = [
  "6029233fd923b680e4d8fbcebb2de894d4605cf442fd58bc86cd1956a9b0056772c2b5bd971dc78c9ffcb1e78c416251ffaa73e830d18dd22827606c8cf0bba8",
  "558f4cba0507b69d562a13348c2d0b5aec156bc3822daabe3e25501fadf3564fc884b8aaefc259916d9f7bf003ae75a935e27abdc523272c1fa4542ddac73004",
  "227da47a4991a32ff6b592b4856d5fb882bf637abb6c376509dc2c707cb8016ce234c89380f14e1457a7248b37bc5817522a826a3751938ecc53e755d88f44f7",
  "7d2b5ff24186a0cf874deccb1a43bd7fb7a2e90bc1e454250a0ab8373fd7ed3ce0dcb64ff5d69a47547f6673089e31b53ec6fdbe8ba29cf9ab39074fa0a76301",
]
"#;

/// The first sealer of [`FISCO`] (a secp256k1 node id).
const SEALER0: &str = "6029233fd923b680e4d8fbcebb2de894d4605cf442fd58bc86cd1956a9b0056772c2b5bd971dc78c9ffcb1e78c416251ffaa73e830d18dd22827606c8cf0bba8";

#[test]
fn fisco_sealers_are_distinct_points_of_the_crypto_mode_at_least_four() {
    let f = Fixture::new();
    let config = f
        .load(&format!("{BASE}{FISCO}"))
        .expect("valid fisco chain");
    let ChainKind::Fisco(chain) = &config.chain("fisco").expect("fisco").kind else {
        panic!("a FISCO BCOS chain")
    };
    assert_eq!(
        chain.sealers.mode(),
        causeway_proofs::fisco::CryptoMode::Ecdsa
    );
    assert_eq!(chain.sealers.quorum(), 3);
    // Missing.
    let start = FISCO.find("sealers = [").expect("sealers");
    let without = &FISCO[..start];
    f.one_problem(
        &format!("{BASE}{without}"),
        "chains.fisco.sealers",
        Rule::MissingField,
    );
    // One listed twice (in another spelling: upper case with 0x04): the same sealer.
    let dup = FISCO.replacen(
        "\n]",
        &format!("\n  \"0x04{}\",\n]", SEALER0.to_uppercase()),
        1,
    );
    f.one_problem(
        &format!("{BASE}{dup}"),
        "chains.fisco.sealers",
        Rule::InvalidValue,
    );
    // Three: one key would nearly decide.
    let three = FISCO.replacen(&format!("  \"{SEALER0}\",\n"), "", 1);
    f.one_problem(
        &format!("{BASE}{three}"),
        "chains.fisco.sealers",
        Rule::InvalidValue,
    );
    // secp256k1 ids on an SM chain are not points of sm2p256v1.
    let sm = FISCO.replace("sealers = [", "crypto = \"sm\"\nsealers = [");
    f.one_problem(
        &format!("{BASE}{sm}"),
        "chains.fisco.sealers",
        Rule::InvalidValue,
    );
    let bad_mode = FISCO.replace("sealers = [", "crypto = \"gm\"\nsealers = [");
    f.one_problem(
        &format!("{BASE}{bad_mode}"),
        "chains.fisco.crypto",
        Rule::InvalidValue,
    );
}

#[test]
fn fisco_chains_need_group_chain_id_and_contracts() {
    let f = Fixture::new();
    let config = f
        .load(&format!("{BASE}{FISCO}"))
        .expect("valid fisco chain");
    assert_eq!(
        config.chain("fisco").expect("fisco").finality,
        Finality::OnCommit
    );
    f.one_problem(
        &format!("{BASE}{}", FISCO.replace("group = \"group0\"\n", "")),
        "chains.fisco.group",
        Rule::MissingField,
    );
    f.one_problem(
        &format!(
            "{BASE}{}",
            FISCO.replace("chain_id = \"chain0\"", "chain_id = 1")
        ),
        "chains.fisco.chain_id",
        Rule::InvalidValue,
    );
    f.one_problem(
        &format!(
            "{BASE}{}",
            FISCO.replace(
                "inbox = \"0x31ed5233b81c79d5adddeef71df34703d1cf9a4c\"\n",
                ""
            )
        ),
        "chains.fisco.inbox",
        Rule::MissingContract,
    );
    let twice = format!(
        "{BASE}{FISCO}{}",
        FISCO
            .replace("chains.fisco", "chains.fisco2")
            .replace("3001", "3002")
    );
    f.one_problem(&twice, "chains.fisco2.chain_id", Rule::DuplicateChainId);
}

#[test]
fn a_chain_name_must_be_well_formed() {
    let f = Fixture::new();
    let text = format!("{BASE}{}", FISCO.replace("chains.fisco", "chains.Fisco_1"));
    let err = f.one_problem(&text, "chains.Fisco_1", Rule::InvalidName);
    assert!(
        err.fix()
            .is_some_and(|f| f.starts_with("use lower-case letters"))
    );
}

const SIGNER_LINE: &str = "signer_key_files = [\"keys/evm-a-signer.key\"]\n";

#[test]
fn a_sender_key_is_read_and_must_not_be_a_signer_key() {
    let f = Fixture::new();
    f.secret("keys/sender.key", &crate::support::validator_secret_hex(7));
    let ok = edit(
        BASE,
        SIGNER_LINE,
        &format!("{SIGNER_LINE}sender_key_file = \"keys/sender.key\"\n"),
    );
    let config = f.load(&ok).expect("valid");
    assert_eq!(
        config.chain("evm-a").expect("evm-a").sender_key_file,
        Some(f.path("keys/sender.key"))
    );
    assert_eq!(config.chain("evm-b").expect("evm-b").sender_key_file, None);
    let shared = edit(
        BASE,
        SIGNER_LINE,
        &format!("{SIGNER_LINE}sender_key_file = \"keys/evm-a-signer.key\"\n"),
    );
    f.one_problem(
        &shared,
        "chains.evm-a.sender_key_file",
        Rule::DuplicateKeyUse,
    );
    f.secret("keys/sender.key", "not a key\n");
    f.one_problem(&ok, "chains.evm-a.sender_key_file", Rule::KeyFileContents);
}

#[test]
fn fisco_web3_chain_id_is_required_and_never_zero() {
    let f = Fixture::new();
    let config = f
        .load(&format!("{BASE}{FISCO}"))
        .expect("valid fisco chain");
    let ChainKind::Fisco(chain) = &config.chain("fisco").expect("fisco").kind else {
        panic!("a FISCO BCOS chain")
    };
    assert_eq!(chain.web3_chain_id, 20200);
    // Missing: no default (FISCO BCOS's own default, 0, names no chain).
    let without = FISCO.replace("web3_chain_id = 20200\n", "");
    f.one_problem(
        &format!("{BASE}{without}"),
        "chains.fisco.web3_chain_id",
        Rule::MissingField,
    );
    // Zero: refused, with the way to set it on the group.
    let zero = FISCO.replace("web3_chain_id = 20200", "web3_chain_id = 0");
    let err = f.one_problem(
        &format!("{BASE}{zero}"),
        "chains.fisco.web3_chain_id",
        Rule::InvalidValue,
    );
    assert!(
        err.fix()
            .is_some_and(|f| f.contains("setSystemConfigByKey web3_chain_id")),
        "{err}"
    );
    // Not a u64: refused, never read as something else.
    let text = FISCO.replace("web3_chain_id = 20200", "web3_chain_id = \"chain0\"");
    assert!(f.load(&format!("{BASE}{text}")).is_err());
}
