//! `[chains.<name>.verifier]`: a Fabric chain is refused without it, and each of its parts
//! (organisations and their roots, orderers, endorsement policy, orderer signatures) is refused
//! when it could not verify anything, with the key and the fix.

use causeway_config::{ChainKind, FabricPolicy, Rule};

use crate::chains::{FABRIC, fabric_fixture};
use crate::fixture::{BASE, edit};

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
    let f = fabric_fixture();
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
        let p = crate::fixture::problem(&err, key);
        assert_eq!(p.rule(), Some(Rule::NotForFamily), "{err}");
    }
}
