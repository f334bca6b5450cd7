//! Errors the TOML layer finds: unknown keys, missing keys, wrong types, duplicate tables. Each
//! names the file, the line and column, and the dotted key.

use causeway_config::{Position, Rule};

use crate::support::{BASE, Fixture, edit};

/// The 1-based line number of the line at 0-based `index`.
fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap()
}

#[test]
fn an_unknown_key_is_refused_with_its_line_and_key_path() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        "threshold = 2\n\n[lanes.evm-b-to-evm-a]",
        "treshold = 2\n\n[lanes.evm-b-to-evm-a]",
    );
    let err = f.load(&text).expect_err("typo");
    assert_eq!(err.rule(), Some(Rule::UnknownField));
    assert_eq!(err.key(), Some("lanes.evm-a-to-evm-b.treshold"));
    let line = text
        .lines()
        .position(|l| l.starts_with("treshold"))
        .map(line_number)
        .expect("the line");
    assert_eq!(err.position(), Some(Position { line, column: 1 }));
    let shown = err.to_string();
    let file = f.path("gateway.toml");
    assert!(
        shown.starts_with(&format!(
            "{}:{line}:1: lanes.evm-a-to-evm-b.treshold: unknown field `treshold`",
            file.display()
        )),
        "{shown}"
    );
    assert!(
        shown.contains("(fix: remove `treshold` or correct its spelling"),
        "{shown}"
    );
}

#[test]
fn unknown_keys_are_refused_in_arrays_of_tables_inline_tables_and_at_the_top() {
    let f = Fixture::new();
    let cases = [
        (
            edit(
                BASE,
                "name = \"org2\"\n",
                "name = \"org2\"\nnickname = \"two\"\n",
            ),
            "members[1].nickname",
        ),
        (
            edit(
                BASE,
                "tls = { cert_file = \"tls/gateway.crt\",",
                "tls = { cert = \"x\", cert_file = \"tls/gateway.crt\",",
            ),
            "gateway.tls.cert",
        ),
        (
            format!("{BASE}\n[monitor]\nlisten = \"127.0.0.1:9464\"\n"),
            "monitor",
        ),
        (
            edit(
                BASE,
                "finality = { confirmations = 12 }",
                "finality = { confirmations = 12 }\nconfirmations = 3",
            ),
            "chains.evm-a.confirmations",
        ),
    ];
    for (text, key) in cases {
        let err = f.load(&text).expect_err(key);
        assert_eq!(
            (err.key(), err.rule()),
            (Some(key), Some(Rule::UnknownField)),
            "{err}"
        );
        assert!(err.position().is_some(), "{err}");
    }
}

#[test]
fn a_missing_key_names_the_table_and_the_key() {
    let f = Fixture::new();
    let text = edit(BASE, "peer_listen = \"0.0.0.0:7443\"\n", "");
    let err = f.load(&text).expect_err("no peer_listen");
    assert_eq!(
        (err.key(), err.rule()),
        (Some("gateway.peer_listen"), Some(Rule::MissingField))
    );
    assert_eq!(err.fix(), Some("add `peer_listen` to this table"));

    let text = edit(
        BASE,
        "threshold = 2\n\n[lanes.evm-b-to-evm-a]",
        "\n[lanes.evm-b-to-evm-a]",
    );
    let err = f.load(&text).expect_err("no threshold");
    assert_eq!(err.key(), Some("lanes.evm-a-to-evm-b.threshold"));
}

#[test]
fn a_value_of_the_wrong_type_names_its_line() {
    let f = Fixture::new();
    let text = edit(
        BASE,
        "threshold = 2\n\n[lanes.evm-b-to-evm-a]",
        "threshold = \"2\"\n\n[lanes.evm-b-to-evm-a]",
    );
    let err = f.load(&text).expect_err("string threshold");
    assert_eq!(
        (err.key(), err.rule()),
        (
            Some("lanes.evm-a-to-evm-b.threshold"),
            Some(Rule::InvalidValue)
        )
    );
    let line = text
        .lines()
        .position(|l| l == "threshold = \"2\"")
        .map(line_number)
        .expect("the line");
    assert_eq!(err.position().map(|p| p.line), Some(line));

    let text = edit(
        BASE,
        "family = \"evm\"\nchain_id = 1338",
        "family = \"cosmos\"\nchain_id = 1338",
    );
    let err = f.load(&text).expect_err("unknown family");
    assert_eq!(
        (err.key(), err.rule()),
        (Some("chains.evm-a.family"), Some(Rule::InvalidValue))
    );
    assert!(
        err.to_string().contains("unknown variant `cosmos`"),
        "{err}"
    );
}

#[test]
fn a_chain_or_lane_defined_twice_is_refused_with_its_line() {
    let f = Fixture::new();
    let text = format!("{BASE}\n[chains.evm-a]\ndomain = 7\nfamily = \"evm\"\n");
    let err = f.load(&text).expect_err("duplicate chain name");
    assert_eq!(
        (err.key(), err.rule()),
        (Some("chains.evm-a"), Some(Rule::Syntax))
    );
    assert!(err.to_string().contains("duplicate key `evm-a`"), "{err}");
    assert!(
        err.fix()
            .is_some_and(|f| f.contains("define `chains.evm-a` once")),
        "{err}"
    );
    let line = text
        .lines()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|l| *l == "[chains.evm-a]")
        .map(line_number)
        .expect("the line");
    assert_eq!(err.position().map(|p| p.line), Some(line));

    let text = format!("{BASE}\n[lanes.evm-a-to-evm-b]\norigin = \"evm-a\"\n");
    let err = f.load(&text).expect_err("duplicate lane name");
    assert_eq!(err.key(), Some("lanes.evm-a-to-evm-b"));
}

#[test]
fn broken_toml_is_a_syntax_error_with_a_position() {
    let f = Fixture::new();
    let err = f
        .load(&format!("{BASE}\n[chains\n"))
        .expect_err("unclosed header");
    assert_eq!(err.rule(), Some(Rule::Syntax));
    assert!(err.position().is_some());
}
