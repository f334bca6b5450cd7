//! `[chains.<name>.verifier]`: a Fabric chain is refused without it, and each of its parts
//! (organisations and their roots, orderers, endorsement policy, orderer signatures) is refused
//! when it could not verify anything, with the key and the fix.

use causeway_config::{ChainKind, FabricPolicy, Rule};

use crate::chains::{FABRIC, fabric_fixture};
use crate::support::{BASE, edit};

const VERIFIER_LINE_START: &str = "verifier = { orgs = [";

/// [`FABRIC`] with its verifier line replaced by `verifier` (a whole `verifier = …` line, or
/// nothing).
fn with_verifier(verifier: &str) -> String {
    let start = FABRIC.find(VERIFIER_LINE_START).expect("the verifier line");
    let end = start + FABRIC[start..].find('\n').expect("its end");
    format!("{BASE}{}{verifier}{}", &FABRIC[..start], &FABRIC[end..])
}

const ORGS: &str = r#"orgs = [{ msp_id = "Org1MSP", root_cert_files = ["msp/org1.pem"] }, { msp_id = "Org2MSP", root_cert_files = ["msp/org2.pem"] }]"#;
const ORDERERS: &str =
    r#"orderers = [{ msp_id = "OrdererMSP", root_cert_files = ["msp/orderer.pem"] }]"#;

fn verifier(parts: &[&str]) -> String {
    with_verifier(&format!("verifier = {{ {} }}", parts.join(", ")))
}

#[test]
fn the_verifier_is_loaded_with_roots_orderers_and_policy() {
    let f = consenters_fixture();
    let config = f.load(&format!("{BASE}{FABRIC}")).expect("valid");
    let ChainKind::Fabric(c) = &config.chain("fab").expect("fab").kind else {
        panic!("a Fabric chain")
    };
    let v = &c.verifier;
    assert_eq!(
        v.orgs.iter().map(|o| o.msp_id.as_str()).collect::<Vec<_>>(),
        ["Org1MSP", "Org2MSP"]
    );
    assert_eq!(v.orgs[0].root_cert_files, vec![f.path("msp/org1.pem")]);
    assert_eq!(v.orderers[0].msp_id, "OrdererMSP");
    assert_eq!(
        v.endorsement_policy,
        FabricPolicy::AllOf(vec!["Org1MSP".into(), "Org2MSP".into()])
    );
    assert_eq!(v.orderer_signatures, 1);

    // MAJORITY resolves to the configured organisations.
    let text = verifier(&[
        ORGS,
        ORDERERS,
        r#"endorsement_policy = "MAJORITY""#,
        "orderer_signatures = 3",
        CONSENTERS,
    ]);
    let config = f.load(&text).expect("majority");
    let ChainKind::Fabric(c) = &config.chain("fab").expect("fab").kind else {
        panic!("a Fabric chain")
    };
    assert_eq!(
        c.verifier.endorsement_policy,
        FabricPolicy::Majority(vec!["Org1MSP".into(), "Org2MSP".into()])
    );
    assert_eq!(c.verifier.endorsement_policy.required(), 2);
    assert_eq!(c.verifier.orderer_signatures, 3);
}

#[test]
fn a_fabric_chain_without_a_verifier_is_refused_with_the_fix() {
    let f = fabric_fixture();
    let err = f.one_problem(
        &with_verifier(""),
        "chains.fab.verifier",
        Rule::MissingVerifier,
    );
    let text = err.to_string();
    assert!(text.contains("nothing it reads could be trusted"), "{text}");
    let fix = err.fix().expect("a fix");
    assert!(
        fix.contains("[chains.<name>.verifier]")
            && fix.contains("root_cert_files")
            && fix.contains("orderers")
            && fix.contains("endorsement_policy"),
        "{fix}"
    );
}

#[test]
fn empty_organisation_lists_and_missing_roots_are_refused() {
    let f = fabric_fixture();
    let policy = r#"endorsement_policy = "AND(Org1MSP)""#;
    f.one_problem(
        &verifier(&["orgs = []", ORDERERS, policy]),
        "chains.fab.verifier.orgs",
        Rule::MissingVerifier,
    );
    f.one_problem(
        &verifier(&[ORGS, policy]),
        "chains.fab.verifier.orderers",
        Rule::MissingVerifier,
    );
    f.one_problem(
        &verifier(&[r#"orgs = [{ msp_id = "Org1MSP" }]"#, ORDERERS, policy]),
        "chains.fab.verifier.orgs[0].root_cert_files",
        Rule::MissingField,
    );
    let err = f.one_problem(
        &verifier(&[
            r#"orgs = [{ msp_id = "Org1MSP", root_cert_files = ["msp/nowhere.pem"] }]"#,
            ORDERERS,
            policy,
        ]),
        "chains.fab.verifier.orgs[0].root_cert_files[0]",
        Rule::FileMissing,
    );
    assert!(err.to_string().contains("does not exist"), "{err}");
    f.one_problem(
        &verifier(&[
            r#"orgs = [{ msp_id = "Org1MSP", root_cert_files = ["msp/org1.pem"] }, { msp_id = "Org1MSP", root_cert_files = ["msp/org2.pem"] }]"#,
            ORDERERS,
            policy,
        ]),
        "chains.fab.verifier.orgs[1].msp_id",
        Rule::InvalidValue,
    );
    f.one_problem(
        &verifier(&[ORGS, ORDERERS, policy, "orderer_signatures = 0"]),
        "chains.fab.verifier.orderer_signatures",
        Rule::ZeroValue,
    );
    f.one_problem(
        &verifier(&[ORGS, ORDERERS]),
        "chains.fab.verifier.endorsement_policy",
        Rule::MissingField,
    );
}

#[test]
fn policies_that_name_unknown_organisations_or_cannot_work_are_refused() {
    let f = fabric_fixture();
    let policy = |p: &str| verifier(&[ORGS, ORDERERS, &format!("endorsement_policy = \"{p}\"")]);
    let err = f.one_problem(
        &policy("OutOf(2,Org1MSP,Org2MSP,Org3MSP)"),
        "chains.fab.verifier.endorsement_policy",
        Rule::InvalidPolicy,
    );
    assert!(
        err.to_string()
            .contains("names Org3MSP, whose MSP root certificates are not configured"),
        "{err}"
    );
    assert!(
        err.fix()
            .is_some_and(|fix| fix.contains("msp_id = \"Org3MSP\"")),
        "{err}"
    );
    for (text, problem) in [
        ("AND('Org1MSP.peer','Org2MSP.peer')", "names a role"),
        ("OutOf(3,Org1MSP,Org2MSP)", "needs 3 of 2"),
        ("ANY", "not a policy"),
        ("AND(Org1MSP,OR(Org2MSP))", "nests"),
    ] {
        let err = f.one_problem(
            &policy(text),
            "chains.fab.verifier.endorsement_policy",
            Rule::InvalidPolicy,
        );
        assert!(err.to_string().contains(problem), "{text}: {err}");
        assert!(
            err.fix().is_some_and(|fix| fix.contains("OutOf(2,")),
            "{err}"
        );
    }
    // OR and OutOf within the configured organisations load.
    f.load(&policy("OR(Org1MSP,Org2MSP)")).expect("OR");
    f.load(&policy("OutOf(1,Org2MSP)")).expect("OutOf");
}

#[test]
fn fabric_keys_are_refused_on_other_families() {
    let f = fabric_fixture();
    let text = edit(
        BASE,
        "signer_key_files = [\"keys/evm-a-signer.key\"]\n",
        "signer_key_files = [\"keys/evm-a-signer.key\"]\noutbox_chaincode = \"causeway_outbox\"\nverifier = { endorsement_policy = \"MAJORITY\" }\n",
    );
    let err = f.load(&text).expect_err("refused");
    for key in ["chains.evm-a.outbox_chaincode", "chains.evm-a.verifier"] {
        let p = crate::support::problem(&err, key);
        assert_eq!(p.rule(), Some(Rule::NotForFamily), "{err}");
    }
}

/// Root CA certificates made for these tests with `openssl req -x509 -sha256` on P-256 keys:
/// [`ROOT_A`] and [`ROOT_A_REISSUED`] share one key (different subject and serial); [`ROOT_B`]
/// and [`ROOT_C`] have their own.
const ROOT_A: &str = include_str!("../../testdata/root-a.pem");
const ROOT_A_REISSUED: &str = "-----BEGIN CERTIFICATE-----
MIIBuDCCAV6gAwIBAgIBBzAKBggqhkjOPQQDAjA6MRkwFwYDVQQKDBBvcmcxLmV4
YW1wbGUuY29tMR0wGwYDVQQDDBRjYTIub3JnMS5leGFtcGxlLmNvbTAgFw0yNjEx
MjQwODQzMThaGA8yMTI2MTAzMTA4NDMxOFowOjEZMBcGA1UECgwQb3JnMS5leGFt
cGxlLmNvbTEdMBsGA1UEAwwUY2EyLm9yZzEuZXhhbXBsZS5jb20wWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAATKT5xwwH4bMnEk1RMnDD8qNsAnKiuBsgZ6u+JPJqwy
WfMY4VrOVdCSat86ncH/XaIkOo52PcVZTxmOLkiKWgh9o1MwUTAdBgNVHQ4EFgQU
nrtuvxjLErenC02XhW+6F5s/aDMwHwYDVR0jBBgwFoAUnrtuvxjLErenC02XhW+6
F5s/aDMwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAxtcHg45F
1Hq6wB7E1YNWa/xDJXc5SjizRc2SZjaFAzQCIFPJaJISp3uy6pxlHwcAF+6SrWv/
BM3jZzEMdKnvEGky
-----END CERTIFICATE-----
";
const ROOT_B: &str = "-----BEGIN CERTIFICATE-----
MIIByTCCAW+gAwIBAgIUZfxj0nMKVtTo0Op8Wl0hGUN57+IwCgYIKoZIzj0EAwIw
OTEZMBcGA1UECgwQb3JnMi5leGFtcGxlLmNvbTEcMBoGA1UEAwwTY2Eub3JnMi5l
eGFtcGxlLmNvbTAgFw0yNjExMjQwODQzMThaGA8yMTI2MTAzMTA4NDMxOFowOTEZ
MBcGA1UECgwQb3JnMi5leGFtcGxlLmNvbTEcMBoGA1UEAwwTY2Eub3JnMi5leGFt
cGxlLmNvbTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABIQrW3Iwm7bqjVZnSVvJ
KTTdPFgD1AMQfrNxhHG6nwU+JZqWMZGrtEUWvaau5s2JgFHUfzxmPd9h7o7pYf3M
GPCjUzBRMB0GA1UdDgQWBBTh8v6tLaHukxJywMWop7wX3YTP7TAfBgNVHSMEGDAW
gBTh8v6tLaHukxJywMWop7wX3YTP7TAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0gAMEUCIQCuP62Z9l8SinNilehwGkjx7zyZfRP1YjGC2WbGL8ElKwIgCEez
HKsPSyKgtH0P7l9O7LDplchsu0IvpbxzCr27Ul4=
-----END CERTIFICATE-----
";
const ROOT_C: &str = "-----BEGIN CERTIFICATE-----
MIIBtjCCAVugAwIBAgIUTKzgDVRaA+5aJu/+sNwKFoIoGqowCgYIKoZIzj0EAwIw
LzEUMBIGA1UECgwLZXhhbXBsZS5jb20xFzAVBgNVBAMMDmNhLmV4YW1wbGUuY29t
MCAXDTI2MTEyNDA4NDQxMVoYDzIxMjYxMDMxMDg0NDExWjAvMRQwEgYDVQQKDAtl
eGFtcGxlLmNvbTEXMBUGA1UEAwwOY2EuZXhhbXBsZS5jb20wWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAR2/yGJH7geS5fYdfbwvoQ3jo+2SwTxSFph5ERw0vQQCccx
VFI+C3i8ldtY4eIH4GNdzLX9jZTri38yJjJK0zzmo1MwUTAdBgNVHQ4EFgQUT3iE
ymrJZHVXfaTvxa4k4AIyrs4wHwYDVR0jBBgwFoAUT3iEymrJZHVXfaTvxa4k4AIy
rs4wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAuz1zmXkCxOwW
btR2jRj3fTaVYP+IPt48llxAbkb7I9ACIQC9at505CqIk72Pkuzn3HJbvNnuuZAf
gqIn/Gwwlj/cXA==
-----END CERTIFICATE-----
";

/// [`FABRIC`]'s fixture with real root certificates: `org1`, `org2` and `orderer` are the PEM
/// texts of Org1MSP's, Org2MSP's and OrdererMSP's root files.
fn roots_fixture(org1: &str, org2: &str, orderer: &str) -> crate::support::Fixture {
    let f = fabric_fixture();
    f.file("msp/org1.pem", org1);
    f.file("msp/org2.pem", org2);
    f.file("msp/orderer.pem", orderer);
    f
}

#[test]
fn a_root_under_two_msp_ids_is_refused() {
    let config = format!("{BASE}{FABRIC}");
    // Distinct roots load.
    roots_fixture(ROOT_A, ROOT_B, ROOT_C)
        .load(&config)
        .expect("distinct roots");

    // The same certificate under Org1MSP and Org2MSP.
    let err = roots_fixture(ROOT_A, ROOT_A, ROOT_C).one_problem(
        &config,
        "chains.fab.verifier.orgs[1].root_cert_files[0]",
        Rule::OverlappingTrustRoots,
    );
    let text = err.to_string();
    assert!(
        text.contains(
            "same public key as a root of Org1MSP (chains.fab.verifier.orgs[0].root_cert_files[0])"
        ) && text.contains("count as both Org2MSP and Org1MSP"),
        "{text}"
    );
    assert!(
        err.fix().is_some_and(|fix| fix.contains("its own root CA")),
        "{text}"
    );

    // The orderer's root re-issues Org1MSP's key in another certificate: the same root.
    let err = roots_fixture(ROOT_A, ROOT_B, ROOT_A_REISSUED).one_problem(
        &config,
        "chains.fab.verifier.orderers[0].root_cert_files[0]",
        Rule::OverlappingTrustRoots,
    );
    assert!(err.to_string().contains("root of Org1MSP"), "{err}");

    // A file of several roots, the second of them Org1MSP's.
    roots_fixture(ROOT_A, &format!("{ROOT_B}{ROOT_A_REISSUED}"), ROOT_C).one_problem(
        &config,
        "chains.fab.verifier.orgs[1].root_cert_files[0]",
        Rule::OverlappingTrustRoots,
    );

    // One MSP listing the same root in two files is not an overlap.
    let twice = verifier(&[
        r#"orgs = [{ msp_id = "Org1MSP", root_cert_files = ["msp/org1.pem", "msp/org1-copy.pem"] }, { msp_id = "Org2MSP", root_cert_files = ["msp/org2.pem"] }]"#,
        ORDERERS,
        r#"endorsement_policy = "AND(Org1MSP,Org2MSP)""#,
    ]);
    let f = roots_fixture(ROOT_A, ROOT_B, ROOT_C);
    f.file("msp/org1-copy.pem", ROOT_A_REISSUED);
    f.load(&twice).expect("one MSP, one root twice");
}

#[test]
fn an_msp_that_is_both_an_organisation_and_an_orderer_is_refused() {
    let f = fabric_fixture();
    let err = f.one_problem(
        &verifier(&[
            ORGS,
            r#"orderers = [{ msp_id = "OrdererMSP", root_cert_files = ["msp/orderer.pem"] }, { msp_id = "Org2MSP", root_cert_files = ["msp/org2.pem"] }]"#,
            r#"endorsement_policy = "AND(Org1MSP,Org2MSP)""#,
        ]),
        "chains.fab.verifier.orderers[1].msp_id",
        Rule::OverlappingTrustRoots,
    );
    assert!(
        err.to_string().contains(
            "Org2MSP is both an endorsing organisation (verifier.orgs[1]) and an orderer"
        ),
        "{err}"
    );
    assert!(
        err.fix()
            .is_some_and(|fix| fix.contains("its own MSP") && fix.contains("not both")),
        "{err}"
    );
}

const CONSENTERS: &str = r#"consenters = [{ msp_id = "OrdererMSP", cert_file = "msp/o0.pem" }, { msp_id = "OrdererMSP", cert_file = "msp/o1.pem" }, { msp_id = "OrdererMSP", cert_file = "msp/o2.pem" }]"#;

/// [`fabric_fixture`] with three consenter certificates (distinct keys).
fn consenters_fixture() -> crate::support::Fixture {
    let f = fabric_fixture();
    f.file("msp/o0.pem", ROOT_A);
    f.file("msp/o1.pem", ROOT_B);
    f.file("msp/o2.pem", ROOT_C);
    f
}

#[test]
fn the_consenters_a_bft_quorum_counts_from_are_loaded_and_checked() {
    let policy = r#"endorsement_policy = "AND(Org1MSP,Org2MSP)""#;
    let f = consenters_fixture();
    // None by default: any orderer certificate of the orderer MSPs counts.
    let config = f.load(&format!("{BASE}{FABRIC}")).expect("valid");
    let ChainKind::Fabric(c) = &config.chain("fab").expect("fab").kind else {
        panic!("a Fabric chain")
    };
    assert!(c.verifier.consenters.is_empty());

    let config = f
        .load(&verifier(&[
            ORGS,
            ORDERERS,
            policy,
            "orderer_signatures = 2",
            CONSENTERS,
        ]))
        .expect("three consenters, two signatures per block");
    let ChainKind::Fabric(c) = &config.chain("fab").expect("fab").kind else {
        panic!("a Fabric chain")
    };
    assert_eq!(c.verifier.orderer_signatures, 2);
    assert_eq!(
        c.verifier
            .consenters
            .iter()
            .map(|c| (c.msp_id.as_str(), c.cert_file.clone()))
            .collect::<Vec<_>>(),
        [
            ("OrdererMSP", f.path("msp/o0.pem")),
            ("OrdererMSP", f.path("msp/o1.pem")),
            ("OrdererMSP", f.path("msp/o2.pem")),
        ]
    );

    // A BFT quorum without consenters: one orderer holding several certificates of the
    // orderer CA could meet it alone.
    let err = f.one_problem(
        &verifier(&[ORGS, ORDERERS, policy, "orderer_signatures = 2"]),
        "chains.fab.verifier.orderer_signatures",
        Rule::InvalidValue,
    );
    assert!(
        err.to_string().contains("no consenters are listed")
            && err.fix().is_some_and(|fix| fix.contains("consenters = [")),
        "{err}"
    );

    // More signatures required than consenters listed: no block could verify.
    let err = f.one_problem(
        &verifier(&[ORGS, ORDERERS, policy, "orderer_signatures = 4", CONSENTERS]),
        "chains.fab.verifier.orderer_signatures",
        Rule::InvalidValue,
    );
    assert!(
        err.to_string().contains("only 3 consenters are listed"),
        "{err}"
    );

    // One consenter's key twice (a certificate re-issued for the same key).
    f.file("msp/o2.pem", ROOT_A_REISSUED);
    let err = f.one_problem(
        &verifier(&[ORGS, ORDERERS, policy, "orderer_signatures = 3", CONSENTERS]),
        "chains.fab.verifier.consenters[2].cert_file",
        Rule::DuplicateConsenter,
    );
    assert!(
        err.to_string().contains("same public key as consenter 0"),
        "{err}"
    );
    f.file("msp/o2.pem", ROOT_C);

    // A consenter of an MSP that is not an orderer, and one whose file is missing.
    f.one_problem(
        &verifier(&[
            ORGS,
            ORDERERS,
            policy,
            r#"consenters = [{ msp_id = "Org1MSP", cert_file = "msp/o0.pem" }]"#,
        ]),
        "chains.fab.verifier.consenters[0].msp_id",
        Rule::InvalidValue,
    );
    f.one_problem(
        &verifier(&[
            ORGS,
            ORDERERS,
            policy,
            r#"consenters = [{ msp_id = "OrdererMSP", cert_file = "msp/nowhere.pem" }]"#,
        ]),
        "chains.fab.verifier.consenters[0].cert_file",
        Rule::FileMissing,
    );
    // An endless device as certificate file: named as not a regular file, and never read (before,
    // validation read /dev/zero until memory ran out).
    f.one_problem(
        &verifier(&[
            ORGS,
            ORDERERS,
            policy,
            r#"consenters = [{ msp_id = "OrdererMSP", cert_file = "/dev/zero" }]"#,
        ]),
        "chains.fab.verifier.consenters[0].cert_file",
        Rule::FileMissing,
    );
}
