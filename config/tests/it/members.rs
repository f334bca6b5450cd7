//! `[gateway]` and `[[members]]` rules.

use causeway_config::Rule;

use crate::support::{
    BASE, Fixture, ORG1_ADDRESS, ORG1_PRIVACY, ORG2_ADDRESS, ORG2_PRIVACY, ORG4_ADDRESS,
    ORG4_PRIVACY, edit,
};

#[test]
fn the_base_configuration_loads() {
    let config = Fixture::new()
        .load(BASE)
        .expect("the base configuration is valid");
    assert_eq!(config.own_member().name, "org1");
    let org2 = config
        .member_by_validator(&ORG2_ADDRESS.parse().expect("address"))
        .expect("org2");
    assert_eq!(org2.name, "org2");
    assert_eq!(
        org2.tls.server_name, "gateway.org2.example",
        "defaults to the endpoint's host"
    );
}

#[test]
fn duplicate_validator_addresses_are_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        &format!("validator_address = \"{ORG2_ADDRESS}\""),
        &format!("validator_address = \"{ORG1_ADDRESS}\""),
    );
    let err = f.one_problem(
        &text,
        "members[1].validator_address",
        Rule::DuplicateValidatorAddress,
    );
    assert!(
        err.to_string()
            .contains("already the validator address of members[0] (`org1`)"),
        "{err}"
    );
    assert_eq!(
        err.fix(),
        Some("give each member its own validator key and write that key's address here")
    );
}

#[test]
fn duplicate_member_names_are_refused() {
    let f = Fixture::new();
    let text = edit(BASE, "name = \"org3\"", "name = \"org2\"");
    let err = f.load(&text).expect_err("two org2");
    let p = crate::support::problem(&err, "members[2].name");
    assert_eq!(p.rule(), Some(Rule::DuplicateMemberName));
    assert!(
        p.to_string()
            .contains("`org2` is already the name of members[1]"),
        "{p}"
    );
    assert!(p.fix().is_some_and(|f| f.contains("its own name")));
}

#[test]
fn a_zero_validator_address_is_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        &format!("validator_address = \"{ORG2_ADDRESS}\""),
        "validator_address = \"0x0000000000000000000000000000000000000000\"",
    );
    let err = f.one_problem(&text, "members[1].validator_address", Rule::ZeroValue);
    assert!(err.to_string().contains("ecrecover"), "{err}");
}

#[test]
fn malformed_addresses_and_keys_are_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        &format!("validator_address = \"{ORG2_ADDRESS}\""),
        "validator_address = \"0x1234\"",
    );
    f.one_problem(&text, "members[1].validator_address", Rule::InvalidValue);
    let text = edit(
        BASE,
        &format!("privacy_public_key = \"{ORG2_PRIVACY}\""),
        "privacy_public_key = \"c2hvcnQ=\"",
    );
    f.one_problem(&text, "members[1].privacy_public_key", Rule::InvalidValue);
}

#[test]
fn small_order_and_shared_privacy_keys_are_refused() {
    let f = Fixture::new();
    let zero = format!("0x{}", "00".repeat(32));
    let text = edit(
        BASE,
        &format!("privacy_public_key = \"{ORG2_PRIVACY}\""),
        &format!("privacy_public_key = \"{zero}\""),
    );
    f.one_problem(&text, "members[1].privacy_public_key", Rule::WeakPrivacyKey);

    let text = edit(
        BASE,
        &format!("privacy_public_key = \"{ORG2_PRIVACY}\""),
        &format!("privacy_public_key = \"{ORG1_PRIVACY}\""),
    );
    f.one_problem(
        &text,
        "members[1].privacy_public_key",
        Rule::DuplicatePrivacyKey,
    );
}

#[test]
fn peer_endpoints_must_be_https_without_credentials() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        "https://gateway.org2.example:7443",
        "http://gateway.org2.example:7443",
    );
    let err = f.one_problem(&text, "members[1].peer_endpoint", Rule::InvalidValue);
    assert!(err.to_string().contains("mutual TLS"), "{err}");
    let text = edit(
        BASE,
        "https://gateway.org2.example:7443",
        "https://u:p@gateway.org2.example:7443",
    );
    f.one_problem(&text, "members[1].peer_endpoint", Rule::SecretInFile);
}

#[test]
fn invalid_names_are_refused() {
    let f = Fixture::new();
    let text = BASE.replace("\"org3\"", "\"Org_3\"");
    let err = f.load(&text).expect_err("bad name");
    let p = crate::support::problem(&err, "members[2].name");
    assert_eq!(p.rule(), Some(Rule::InvalidName));
    assert!(
        p.fix()
            .is_some_and(|f| f.contains("lower-case letters, digits and '-'"))
    );
}

#[test]
fn the_organisation_must_be_a_member() {
    let f = Fixture::new();
    let text = edit(BASE, "organisation = \"org1\"", "organisation = \"org9\"");
    let err = f.one_problem(&text, "gateway.organisation", Rule::UnknownOrganisation);
    assert!(
        err.fix()
            .is_some_and(|f| f.contains("known members: `org1`, `org2`, `org3`")),
        "{err}"
    );
}

#[test]
fn the_validator_key_must_match_the_published_address() {
    let f = Fixture::new();
    // org4's secret in org1's key file.
    f.secret(
        "keys/validator.key",
        &crate::support::validator_secret_hex(4),
    );
    let err = f.one_problem(BASE, "gateway.validator_key_file", Rule::KeyMismatch);
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("belongs to validator {ORG4_ADDRESS}")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "members[0].validator_address publishes {ORG1_ADDRESS}"
        )),
        "{shown}"
    );
    assert!(err.fix().is_some_and(|f| f.contains(&format!(
        "set members[0].validator_address = \"{ORG4_ADDRESS}\""
    ))));
}

#[test]
fn the_privacy_key_must_match_the_published_key() {
    let f = Fixture::new();
    f.secret("keys/privacy.key", &crate::support::privacy_secret_hex(4));
    let err = f.one_problem(BASE, "gateway.privacy_key_file", Rule::KeyMismatch);
    assert!(
        err.to_string()
            .contains(&format!("has public key {ORG4_PRIVACY}")),
        "{err}"
    );
}

#[test]
fn a_key_file_that_is_not_a_key_is_refused_without_echoing_it() {
    let f = Fixture::new();
    f.secret("keys/validator.key", "correct horse battery staple");
    let err = f.one_problem(BASE, "gateway.validator_key_file", Rule::KeyFileContents);
    assert!(!err.to_string().contains("horse"), "{err}");
}

#[test]
fn a_missing_listen_address_shape_is_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        "peer_listen = \"0.0.0.0:7443\"",
        "peer_listen = \"localhost:7443\"",
    );
    let err = f.one_problem(&text, "gateway.peer_listen", Rule::InvalidValue);
    assert!(err.fix().is_some_and(|f| f.contains("0.0.0.0:7443")));
}
