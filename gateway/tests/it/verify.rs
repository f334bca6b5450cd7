//! `causeway verify`: verdicts and exit codes on the sample bundle and tampered copies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::sample::examples_dir;

fn causeway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(args)
        .output()
        .expect("the causeway binary runs")
}

fn verify(bundle: &Path, trust: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        bundle.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    causeway(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sample_paths() -> (PathBuf, PathBuf) {
    let dir = examples_dir();
    (dir.join("bundle.json"), dir.join("trust.json"))
}

/// Writes `json` with `edit` applied into a temp dir and returns its path.
fn edited(
    dir: &tempfile::TempDir,
    name: &str,
    src: &Path,
    edit: impl FnOnce(&mut serde_json::Value),
) -> PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    edit(&mut v);
    let p = dir.path().join(name);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    p
}

#[test]
fn the_sample_bundle_verifies() {
    let (bundle, trust) = sample_paths();
    let out = verify(&bundle, &trust, &[]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("VALID"), "{text}");
    assert!(text.contains("3 validators (threshold 3)"), "{text}");
    assert!(text.contains("index 5 of 8 leaves"), "{text}");

    let out = verify(&bundle, &trust, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["verdict"]["signers"].as_array().unwrap().len(), 3);
}

/// Each tampering is rejected with exit code 1 and a reason naming what is wrong.
#[test]
fn tampered_bundles_are_rejected_with_their_reason() {
    let (bundle, trust) = sample_paths();
    let dir = tempfile::tempdir().unwrap();
    let flip_hex_char = |s: &str, at: usize| {
        let mut c: Vec<char> = s.chars().collect();
        c[at] = if c[at] == '0' { '1' } else { '0' };
        c.into_iter().collect::<String>()
    };
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "body",
            Box::new(move |v| {
                let m = v["message"].as_str().unwrap().to_owned();
                let at = m.len() - 3;
                v["message"] = flip_hex_char(&m, at).into();
            }),
            "but the message's keccak-256 is",
        ),
        (
            "body-and-id",
            Box::new(move |v| {
                let m = v["message"].as_str().unwrap().to_owned();
                let forged = flip_hex_char(&m, m.len() - 3);
                let bytes = hex::decode(forged.trim_start_matches("0x")).unwrap();
                v["message_id"] = causeway_proofs::hash::keccak256(&bytes).to_hex().into();
                v["message"] = forged.into();
            }),
            "recomputes root",
        ),
        (
            "root",
            Box::new(|v| v["checkpoint"]["root"] = format!("0x{}", "00".repeat(32)).into()),
            "zero root",
        ),
        (
            "path",
            Box::new(move |v| {
                let p = v["inclusion"]["path"][0].as_str().unwrap().to_owned();
                v["inclusion"]["path"][0] = flip_hex_char(&p, 10).into();
            }),
            "recomputes root",
        ),
        (
            "duplicate-signature",
            Box::new(|v| {
                let s = v["signatures"][0].clone();
                v["signatures"][1] = s;
            }),
            "signed more than once",
        ),
        (
            "dropped-signature",
            Box::new(|v| {
                v["signatures"].as_array_mut().unwrap().pop();
            }),
            "threshold is 3",
        ),
        (
            "other-lane",
            Box::new(|v| v["signing_domain"]["destination_chain_id"] = 1.into()),
            "but this verifier trusts 31338",
        ),
        (
            "not-json",
            Box::new(|v| *v = serde_json::json!({"format": "something else"})),
            "decode",
        ),
    ];
    for (name, edit, reason) in cases {
        let p = edited(&dir, &format!("{name}.json"), &bundle, edit);
        let out = verify(&p, &trust, &[]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {text}");
        assert!(text.starts_with("INVALID"), "{name}: {text}");
        assert!(
            text.contains(reason),
            "{name}: expected {reason:?} in {text}"
        );
    }
}

/// The verifier trusts its own trust file, never the bundle: the same bundle fails against a
/// validator set it was not signed by, or against another destination chain id.
#[test]
fn trust_comes_from_the_trust_file() {
    let (bundle, trust) = sample_paths();
    let dir = tempfile::tempdir().unwrap();
    let others = edited(&dir, "others.json", &trust, |v| {
        v["validators"] = serde_json::json!([
            "0x1000000000000000000000000000000000000001",
            "0x1000000000000000000000000000000000000002",
            "0x1000000000000000000000000000000000000003"
        ]);
        v["threshold"] = 2.into();
    });
    let out = verify(&bundle, &others, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("not a configured validator"),
        "{}",
        stdout(&out)
    );

    let fork = edited(&dir, "fork.json", &trust, |v| {
        v["signing_domain"]["destination_chain_id"] = 99.into()
    });
    let out = verify(&bundle, &fork, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    let weak = edited(&dir, "weak.json", &trust, |v| v["threshold"] = 0.into());
    let out = verify(&bundle, &weak, &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a zero threshold is a configuration error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("trust file"));
}

#[test]
fn unreadable_or_oversized_input_is_an_error_not_a_verdict() {
    let (bundle, trust) = sample_paths();
    let out = verify(Path::new("/nonexistent/bundle.json"), &trust, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("while reading the bundle"));

    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.json");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(causeway_proofs::bundle::MAX_BUNDLE_JSON_LEN as u64 + 1)
        .unwrap();
    let out = verify(&huge, &trust, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than"));

    let out = verify(&bundle, Path::new("/nonexistent/trust.json"), &[]);
    assert_eq!(out.status.code(), Some(2));
}
