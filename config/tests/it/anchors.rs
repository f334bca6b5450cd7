//! `[anchors.<name>]` rules: what the Anchor contract can check (SHA-256 logs, EVM chains, an
//! `anchor` address), a schedule that anchors something, an origin some lane leaves, a
//! validator set held to the lanes' rules, and an account of its own.

use std::time::Duration;

use causeway_config::Rule;

use crate::support::{BASE, Fixture, edit, problem};

/// evm-b's log anchored on evm-a, whose chain entry gets an Anchor address.
fn with_anchoring(body: &str) -> String {
    let text = edit(
        BASE,
        "signer_key_files = [\"keys/evm-a-signer.key\"]\n",
        "signer_key_files = [\"keys/evm-a-signer.key\"]\nanchor = \"0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0\"\n",
    );
    format!("{text}\n[anchors.evm-b-on-evm-a]\n{body}")
}

const GOOD: &str = r#"origin = "evm-b"
chain = "evm-a"
validators = ["org1", "org2", "org3"]
threshold = 2
every_secs = 600
key_file = "keys/anchor.key"
"#;

fn fixture() -> Fixture {
    let f = Fixture::new();
    f.secret(
        "keys/anchor.key",
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
    );
    f
}

#[test]
fn a_well_formed_anchoring_loads_with_its_schedule_and_default_takeover() {
    let f = fixture();
    let config = f.load(&with_anchoring(GOOD)).unwrap();
    let [a] = config.anchors() else {
        panic!("one anchoring")
    };
    assert_eq!(
        (a.origin.name.as_str(), a.chain.name.as_str()),
        ("evm-b", "evm-a")
    );
    assert_eq!(
        a.anchor.to_string(),
        "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
    );
    assert_eq!(a.every, Some(Duration::from_secs(600)));
    assert_eq!(a.every_messages, None);
    assert_eq!(a.threshold, 2);
    assert_eq!(a.takeover_after, Duration::from_secs(60));
    assert_eq!(a.key_file, f.path("keys/anchor.key"));
}

#[test]
fn a_keccak_log_cannot_be_anchored_and_the_error_says_why() {
    let f = fixture();
    let err = f.one_problem(
        &with_anchoring(&format!("{GOOD}hash = \"keccak256\"\n")),
        "anchors.evm-b-on-evm-a.hash",
        Rule::HashUnsupported,
    );
    let shown = err.to_string();
    assert!(
        shown.contains("a keccak256 log cannot be anchored") && shown.contains("SHA-256 logs only"),
        "{shown}"
    );
    // sha256, spelled out, is fine.
    f.load(&with_anchoring(&format!("{GOOD}hash = \"sha256\"\n")))
        .unwrap();
}

#[test]
fn a_chain_without_an_anchor_address_is_refused_with_the_key_to_set() {
    let f = fixture();
    // The base's evm-a has no anchor address.
    let text = format!("{BASE}\n[anchors.evm-b-on-evm-a]\n{GOOD}");
    let err = f.one_problem(&text, "anchors.evm-b-on-evm-a.chain", Rule::MissingContract);
    assert!(err.to_string().contains("set chains.evm-a.anchor"), "{err}");
}

#[test]
fn anchoring_a_chain_on_itself_or_an_origin_no_lane_leaves_is_refused() {
    let f = fixture();
    let err = f.one_problem(
        &with_anchoring(&GOOD.replace("origin = \"evm-b\"", "origin = \"evm-a\"")),
        "anchors.evm-b-on-evm-a.chain",
        Rule::LaneToSelf,
    );
    assert!(err.to_string().contains("anchored on itself"), "{err}");

    let err = f.one_problem(
        &with_anchoring(&GOOD.replace("origin = \"evm-b\"", "origin = \"evm-c\"")),
        "anchors.evm-b-on-evm-a.origin",
        Rule::UnknownChain,
    );
    assert!(
        err.to_string().contains("`evm-c` is not configured"),
        "{err}"
    );

    // Without the lane leaving evm-b, no gateway keeps evm-b's log.
    let text = edit(
        &with_anchoring(GOOD),
        "[lanes.evm-b-to-evm-a]\norigin = \"evm-b\"\ndestination = \"evm-a\"\nvalidators = [\"org1\", \"org2\", \"org3\"]\nthreshold = 2\n",
        "",
    );
    let err = f.one_problem(&text, "anchors.evm-b-on-evm-a.origin", Rule::InvalidValue);
    assert!(err.to_string().contains("no lane leaves `evm-b`"), "{err}");
}

#[test]
fn a_schedule_must_anchor_something() {
    let f = fixture();
    let err = f.one_problem(
        &with_anchoring(&GOOD.replace("every_secs = 600\n", "")),
        "anchors.evm-b-on-evm-a",
        Rule::MissingField,
    );
    assert!(err.to_string().contains("every_messages"), "{err}");
    f.one_problem(
        &with_anchoring(&GOOD.replace("every_secs = 600", "every_secs = 0")),
        "anchors.evm-b-on-evm-a.every_secs",
        Rule::InvalidValue,
    );
    f.one_problem(
        &with_anchoring(&GOOD.replace("every_secs = 600", "every_messages = 0")),
        "anchors.evm-b-on-evm-a.every_messages",
        Rule::InvalidValue,
    );
    // Messages alone are a schedule.
    let config = f
        .load(&with_anchoring(
            &GOOD.replace("every_secs = 600", "every_messages = 50"),
        ))
        .unwrap();
    assert_eq!(config.anchors()[0].every, None);
    assert_eq!(
        config.anchors()[0].every_messages.map(|m| m.get()),
        Some(50)
    );
}

#[test]
fn the_validator_set_is_held_to_the_lanes_rules() {
    let f = fixture();
    f.one_problem(
        &with_anchoring(&GOOD.replace("threshold = 2", "threshold = 1")),
        "anchors.evm-b-on-evm-a.threshold",
        Rule::ThresholdNotMajority,
    );
    f.one_problem(
        &with_anchoring(
            &GOOD.replace(r#"["org1", "org2", "org3"]"#, r#"["org1", "org2", "org2"]"#),
        ),
        "anchors.evm-b-on-evm-a.validators[2]",
        Rule::DuplicateValidator,
    );
}

#[test]
fn the_anchoring_key_is_never_a_key_the_relayer_sends_with() {
    let f = fixture();
    let err = f.one_problem(
        &with_anchoring(&GOOD.replace("keys/anchor.key", "keys/evm-a-signer.key")),
        "anchors.evm-b-on-evm-a.key_file",
        Rule::DuplicateKeyUse,
    );
    assert!(err.to_string().contains("nonces"), "{err}");
    // A missing key file names the key.
    let err = f
        .load(&with_anchoring(
            &GOOD.replace("keys/anchor.key", "keys/none.key"),
        ))
        .unwrap_err();
    problem(&err, "anchors.evm-b-on-evm-a.key_file");
}

#[test]
fn one_origin_is_anchored_once_per_chain() {
    let f = fixture();
    let twice = format!("{}\n[anchors.zz-again]\n{GOOD}", with_anchoring(GOOD));
    let err = f.one_problem(&twice, "anchors.zz-again", Rule::DuplicateLane);
    assert!(
        err.to_string().contains("anchors `evm-b` on `evm-a`"),
        "{err}"
    );
}
