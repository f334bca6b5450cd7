//! `[lanes.<name>]` rules: references, thresholds (bridge-exploits T02 (a) and (e)), custody
//! concentration (T02 (c) and (d)), duplicate validators (T10 (d)), rate limits.

use causeway_config::Rule;

use crate::support::{BASE, Fixture, ORG4_ADDRESS, ORG4_PRIVACY, edit};

const LANE_AB: &str = "[lanes.evm-a-to-evm-b]
origin = \"evm-a\"
destination = \"evm-b\"
validators = [\"org1\", \"org2\", \"org3\"]
threshold = 2
";

fn with_lane_ab(validators: &str, threshold: u32) -> String {
    edit(
        BASE,
        LANE_AB,
        &format!(
            "[lanes.evm-a-to-evm-b]\norigin = \"evm-a\"\ndestination = \"evm-b\"\nvalidators = {validators}\nthreshold = {threshold}\n"
        ),
    )
}

const ORG4: &str = r#"
[[members]]
name = "org4"
validator_address = "ORG4_ADDRESS"
privacy_public_key = "ORG4_PRIVACY"
peer_endpoint = "https://gateway.org4.example:7443"
tls = { ca_file = "tls/ca.crt" }
"#;

/// The base configuration with a fourth member inserted before the chains.
fn with_org4(text: &str) -> String {
    let org4 = ORG4
        .replace("ORG4_ADDRESS", ORG4_ADDRESS)
        .replace("ORG4_PRIVACY", ORG4_PRIVACY);
    edit(text, "\n[chains.evm-a]", &format!("{org4}\n[chains.evm-a]"))
}

#[test]
fn a_threshold_of_zero_is_refused() {
    let f = Fixture::new();
    let err = f.one_problem(
        &with_lane_ab(r#"["org1", "org2", "org3"]"#, 0),
        "lanes.evm-a-to-evm-b.threshold",
        Rule::ThresholdZero,
    );
    assert_eq!(
        err.fix(),
        Some("set threshold to between 2 and 3 for 3 validators")
    );
}

#[test]
fn a_threshold_above_the_validator_count_is_refused() {
    let f = Fixture::new();
    let err = f.one_problem(
        &with_lane_ab(r#"["org1", "org2", "org3"]"#, 4),
        "lanes.evm-a-to-evm-b.threshold",
        Rule::ThresholdAboveValidators,
    );
    assert!(
        err.to_string()
            .contains("threshold 4 exceeds the 3 validators"),
        "{err}"
    );
}

#[test]
fn a_threshold_that_is_not_a_strict_majority_is_refused() {
    let f = Fixture::new();
    // 1 of 3, and 2 of 4 (2·2 = 4 is not above 4): both refused.
    let err = f.one_problem(
        &with_lane_ab(r#"["org1", "org2", "org3"]"#, 1),
        "lanes.evm-a-to-evm-b.threshold",
        Rule::ThresholdNotMajority,
    );
    assert!(
        err.to_string()
            .contains("threshold 1 of 3 is not a strict majority"),
        "{err}"
    );
    let four = with_org4(&with_lane_ab(r#"["org1", "org2", "org3", "org4"]"#, 2));
    let err = f.one_problem(
        &four,
        "lanes.evm-a-to-evm-b.threshold",
        Rule::ThresholdNotMajority,
    );
    assert_eq!(
        err.fix(),
        Some("set threshold to between 3 and 4 for 4 validators")
    );
    // 3 of 4 and 1 of 1 are majorities.
    f.load(&with_org4(&with_lane_ab(
        r#"["org1", "org2", "org3", "org4"]"#,
        3,
    )))
    .expect("3 of 4");
    f.load(&with_lane_ab(r#"["org2"]"#, 1)).expect("1 of 1");
}

#[test]
fn harmony_two_of_five_is_refused() {
    // bridge-exploits.md T02 (a): n = 5, m = 2.
    let f = Fixture::new();
    let mut text = with_org4(&with_lane_ab(
        r#"["org1", "org2", "org3", "org4", "org5"]"#,
        2,
    ));
    text = edit(
        &text,
        "\n[chains.evm-a]",
        "\n[[members]]\nname = \"org5\"\nvalidator_address = \"0x00000000000000000000000000000000000000e5\"\nprivacy_public_key = \"0x0900000000000000000000000000000000000000000000000000000000000000\"\npeer_endpoint = \"https://gateway.org5.example:7443\"\ntls = { ca_file = \"tls/ca.crt\" }\n\n[chains.evm-a]",
    );
    f.one_problem(
        &text,
        "lanes.evm-a-to-evm-b.threshold",
        Rule::ThresholdNotMajority,
    );
}

#[test]
fn an_empty_validator_set_is_refused() {
    let f = Fixture::new();
    f.one_problem(
        &with_lane_ab("[]", 1),
        "lanes.evm-a-to-evm-b.validators",
        Rule::EmptyValidatorSet,
    );
}

#[test]
fn a_validator_that_is_not_a_member_is_refused() {
    let f = Fixture::new();
    let err = f.one_problem(
        &with_lane_ab(r#"["org1", "org2", "org9"]"#, 2),
        "lanes.evm-a-to-evm-b.validators[2]",
        Rule::UnknownMember,
    );
    assert_eq!(
        err.fix(),
        Some(
            "name one of the members (`org1`, `org2`, `org3`) or add a [[members]] entry named `org9`"
        )
    );
}

#[test]
fn a_validator_listed_twice_is_refused() {
    let f = Fixture::new();
    f.one_problem(
        &with_lane_ab(r#"["org1", "org2", "org2"]"#, 2),
        "lanes.evm-a-to-evm-b.validators[2]",
        Rule::DuplicateValidator,
    );
}

#[test]
fn a_lane_to_an_unknown_chain_is_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        "origin = \"evm-a\"\ndestination = \"evm-b\"",
        "origin = \"evm-c\"\ndestination = \"evm-b\"",
    );
    let err = f.one_problem(&text, "lanes.evm-a-to-evm-b.origin", Rule::UnknownChain);
    assert_eq!(
        err.fix(),
        Some("name one of the configured chains (`evm-a`, `evm-b`) or add [chains.evm-c]")
    );
    let text = edit(
        BASE,
        "origin = \"evm-b\"\ndestination = \"evm-a\"",
        "origin = \"evm-b\"\ndestination = \"polygon\"",
    );
    f.one_problem(
        &text,
        "lanes.evm-b-to-evm-a.destination",
        Rule::UnknownChain,
    );
}

#[test]
fn a_lane_from_a_chain_to_itself_is_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        "origin = \"evm-a\"\ndestination = \"evm-b\"",
        "origin = \"evm-a\"\ndestination = \"evm-a\"",
    );
    let err = f.one_problem(&text, "lanes.evm-a-to-evm-b.destination", Rule::LaneToSelf);
    assert!(
        err.fix()
            .is_some_and(|f| f.starts_with("set destination to another chain"))
    );
}

#[test]
fn two_lanes_between_the_same_chains_are_refused() {
    let f = Fixture::new();
    let text = format!(
        "{BASE}\n[lanes.again]\norigin = \"evm-a\"\ndestination = \"evm-b\"\nvalidators = [\"org1\"]\nthreshold = 1\n"
    );
    let err = f.one_problem(&text, "lanes.evm-a-to-evm-b", Rule::DuplicateLane);
    assert!(
        err.to_string()
            .contains("lane `again` already goes from `evm-a` to `evm-b`"),
        "{err}"
    );
}

#[test]
fn keys_concentrated_on_one_host_are_refused() {
    // bridge-exploits.md T02 (c) (Orbit: threshold of keys on one host) and (d) (Multichain:
    // one custodian).
    let f = Fixture::new();
    for tag in ["host", "hsm", "custodian", "operator"] {
        let mut text = BASE.to_owned();
        for org in ["org1", "org2"] {
            text = edit(
                &text,
                &format!("peer_endpoint = \"https://gateway.{org}.example:7443\"\n"),
                &format!(
                    "peer_endpoint = \"https://gateway.{org}.example:7443\"\ncustody = {{ {tag} = \"shared\" }}\n"
                ),
            );
        }
        let err = f
            .load(&text)
            .expect_err("two of three keys in one hand, threshold 2");
        assert_eq!(err.problems().len(), 2, "both lanes: {err}");
        let p = crate::support::problem(&err, "lanes.evm-a-to-evm-b.validators");
        assert_eq!(p.rule(), Some(Rule::ConcentratedCustody));
        assert!(
            p.to_string().contains(&format!(
                "2 of its validators (org1, org2) share {tag} = \"shared\""
            )),
            "{p}"
        );
        assert_eq!(
            p.fix(),
            Some(format!("move validator keys to independent {tag}s, or raise lanes.evm-a-to-evm-b.threshold above 2").as_str())
        );
    }
}

#[test]
fn a_shared_host_below_the_threshold_is_allowed() {
    let f = Fixture::new();
    let mut text = with_lane_ab(r#"["org1", "org2", "org3"]"#, 3);
    text = edit(
        &text,
        "[lanes.evm-b-to-evm-a]\norigin = \"evm-b\"\ndestination = \"evm-a\"\nvalidators = [\"org1\", \"org2\", \"org3\"]\nthreshold = 2",
        "[lanes.evm-b-to-evm-a]\norigin = \"evm-b\"\ndestination = \"evm-a\"\nvalidators = [\"org1\", \"org2\", \"org3\"]\nthreshold = 3",
    );
    for org in ["org1", "org2"] {
        text = edit(
            &text,
            &format!("peer_endpoint = \"https://gateway.{org}.example:7443\"\n"),
            &format!(
                "peer_endpoint = \"https://gateway.{org}.example:7443\"\ncustody = {{ host = \"rack-7\" }}\n"
            ),
        );
    }
    let config = f.load(&text).expect("2 keys on one host, threshold 3");
    assert_eq!(
        config.member("org1").expect("org1").custody.host.as_deref(),
        Some("rack-7")
    );
}

#[test]
fn zero_rate_limits_are_refused() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        LANE_AB,
        &format!("{LANE_AB}rate_limit = {{ max_messages = 0, window_secs = 60 }}\n"),
    );
    f.one_problem(
        &text,
        "lanes.evm-a-to-evm-b.rate_limit.max_messages",
        Rule::InvalidRateLimit,
    );
    let text = edit(
        BASE,
        LANE_AB,
        &format!("{LANE_AB}rate_limit = {{ max_messages = 5, window_secs = 0 }}\n"),
    );
    f.one_problem(
        &text,
        "lanes.evm-a-to-evm-b.rate_limit.window_secs",
        Rule::InvalidRateLimit,
    );
    let text = edit(
        BASE,
        LANE_AB,
        &format!("{LANE_AB}paused = true\nrate_limit = {{ max_messages = 5, window_secs = 60 }}\n"),
    );
    let lane = f
        .load(&text)
        .expect("valid")
        .lane("evm-a-to-evm-b")
        .expect("lane")
        .clone();
    assert!(lane.paused);
    assert_eq!(lane.rate_limit.map(|r| r.max_messages.get()), Some(5));
}

/// Nine validators (org1 and v2..v9), threshold 5; the members in `skymavis` (org1 is 1) are
/// tagged `operator = "skymavis"`.
fn nine_validators(skymavis: &[u8]) -> String {
    let tag = |i: u8| {
        if skymavis.contains(&i) {
            "custody = { operator = \"skymavis\" }\n"
        } else {
            ""
        }
    };
    let mut members = String::new();
    for i in 2..=9u8 {
        members.push_str(&format!(
            "\n[[members]]\nname = \"v{i}\"\nvalidator_address = \"0x{:040x}\"\nprivacy_public_key = \"0x{:02x}{}\"\npeer_endpoint = \"https://v{i}.example:7443\"\ntls = {{ ca_file = \"tls/ca.crt\" }}\n{}",
            0xa0 + u32::from(i),
            0x20 + i,
            "00".repeat(31),
            tag(i),
        ));
    }
    let validators = "[\"org1\", \"v2\", \"v3\", \"v4\", \"v5\", \"v6\", \"v7\", \"v8\", \"v9\"]";
    let text = edit(
        &with_lane_ab(validators, 5),
        "peer_endpoint = \"https://gateway.org1.example:7443\"\n",
        &format!(
            "peer_endpoint = \"https://gateway.org1.example:7443\"\n{}",
            tag(1)
        ),
    );
    edit(
        &text,
        "\n[chains.evm-a]",
        &format!("{members}\n[chains.evm-a]"),
    )
}

#[test]
fn ronin_five_of_nine_keys_under_one_operator_is_refused() {
    // bridge-exploits.md T02 (b) / A1: nine validators, threshold 5; Sky Mavis ran four keys
    // and held the Axie DAO's signing delegation, i.e. five keys under one operator.
    let f = Fixture::new();
    let err = f.one_problem(
        &nine_validators(&[1, 2, 3, 4, 5]),
        "lanes.evm-a-to-evm-b.validators",
        Rule::ConcentratedCustody,
    );
    assert!(
        err.to_string()
            .contains("5 of its validators (org1, v2, v3, v4, v5) share operator = \"skymavis\" and the threshold is 5"),
        "{err}"
    );
    // With the delegation revoked, four keys under one operator stay below the threshold.
    f.load(&nine_validators(&[1, 2, 3, 4]))
        .expect("4 of 9 under one operator, threshold 5");
}

#[test]
fn a_lane_whose_hash_its_destination_cannot_verify_is_refused() {
    let f = Fixture::new();
    // The EVM Inbox verifies SHA-256 and Keccak-256 logs, not SM3 ones.
    let text = edit(
        BASE,
        "origin = \"evm-a\"\ndestination = \"evm-b\"",
        "origin = \"evm-a\"\ndestination = \"evm-b\"\nhash = \"sm3\"",
    );
    let err = f.one_problem(&text, "lanes.evm-a-to-evm-b.hash", Rule::HashUnsupported);
    assert!(err.to_string().contains("cannot verify sm3 logs"), "{err}");
    assert_eq!(
        err.fix(),
        Some("set hash to one of \"sha256\", \"keccak256\"")
    );
    // Keccak-256 is fine there.
    let text = edit(
        BASE,
        "origin = \"evm-a\"\ndestination = \"evm-b\"",
        "origin = \"evm-a\"\ndestination = \"evm-b\"\nhash = \"keccak256\"",
    );
    f.load(&text).unwrap();
}

fn with_auditors(auditors: &str) -> String {
    edit(BASE, LANE_AB, &format!("{LANE_AB}auditors = {auditors}\n"))
}

#[test]
fn lane_auditors_are_read_in_order() {
    let f = Fixture::new();
    let config = f
        .load(&with_auditors(r#"["org3", "org2"]"#))
        .expect("valid");
    let lane = config.lane("evm-a-to-evm-b").expect("lane");
    assert_eq!(lane.auditors, ["org3", "org2"]);
    assert!(
        config
            .lane("evm-b-to-evm-a")
            .expect("lane")
            .auditors
            .is_empty()
    );
}

#[test]
fn an_auditor_that_is_not_a_member_is_refused() {
    let f = Fixture::new();
    f.one_problem(
        &with_auditors(r#"["org9"]"#),
        "lanes.evm-a-to-evm-b.auditors[0]",
        Rule::UnknownMember,
    );
}

#[test]
fn an_auditor_listed_twice_is_refused() {
    let f = Fixture::new();
    f.one_problem(
        &with_auditors(r#"["org3", "org3"]"#),
        "lanes.evm-a-to-evm-b.auditors[1]",
        Rule::DuplicateKeyUse,
    );
}
