//! `causeway verify`: verdicts and exit codes on the sample bundle and tampered copies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::sample::examples_dir;
use crate::support::{causeway, verify};

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

/// Runs `causeway` with `stdin` fed by `feed` (on its own thread), and fails the test instead
/// of hanging if the binary does not exit within a minute.
fn causeway_fed(
    args: &[&str],
    feed: impl FnOnce(std::process::ChildStdin) + Send + 'static,
) -> Output {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || feed(stdin));
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("causeway {args:?} still reading after a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// Writes zeros until the reader goes away.
fn endless(mut stdin: std::process::ChildStdin) {
    use std::io::Write;
    let block = vec![b' '; 64 * 1024];
    while stdin.write_all(&block).is_ok() {}
}

/// `/dev/zero` and an endless pipe report no useful length; the reads stop at the limit.
#[test]
fn endless_inputs_are_refused_at_the_limit() {
    let (bundle, trust) = sample_paths();
    let zero = Path::new("/dev/zero");
    for (b, t, what) in [
        (zero, trust.as_path(), "the bundle"),
        (bundle.as_path(), zero, "the trust file"),
    ] {
        let out = causeway_fed(
            &[
                "verify",
                b.to_str().unwrap(),
                "--trust",
                t.to_str().unwrap(),
            ],
            drop,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains("larger than"), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("while reading {what}")),
            "{stderr}"
        );
    }
    let out = causeway_fed(
        &["verify", "/dev/stdin", "--trust", trust.to_str().unwrap()],
        endless,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
    let out = causeway_fed(
        &["verify", bundle.to_str().unwrap(), "--trust", "/dev/stdin"],
        endless,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
}

/// One unreadable and one malformed file among several: each gets its verdict, in JSON and
/// in text, and the exit code says that not everything could be checked.
#[test]
fn every_bundle_gets_a_verdict_even_an_unreadable_one() {
    let (bundle, trust) = sample_paths();
    let dir = tempfile::tempdir().unwrap();
    let malformed = dir.path().join("malformed.json");
    std::fs::write(&malformed, "{ not json").unwrap();
    let missing = dir.path().join("missing.json");
    let paths = [bundle.clone(), missing.clone(), malformed.clone()];
    let mut args = vec!["verify"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--trust", trust.to_str().unwrap()]);

    let mut json_args = args.clone();
    json_args.push("--json");
    let out = causeway(&json_args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts = v.as_array().unwrap();
    assert_eq!(verdicts.len(), 3, "{v}");
    assert_eq!(verdicts[0]["valid"], true);
    assert_eq!(verdicts[1]["valid"], false);
    assert_eq!(verdicts[1]["unchecked"], true);
    assert_eq!(verdicts[1]["bundle"], missing.to_str().unwrap());
    let reason = verdicts[1]["reason"].as_str().unwrap();
    assert!(reason.contains("while reading the bundle"), "{reason}");
    assert!(reason.contains("No such file"), "{reason}");
    assert_eq!(verdicts[2]["valid"], false);
    assert!(verdicts[2].get("unchecked").is_none(), "{v}");
    assert!(
        verdicts[2]["reason"].as_str().unwrap().contains("decode"),
        "{v}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 of 3 bundles could not be read"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = causeway(&args);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(text.starts_with("VALID: "), "{text}");
    assert!(
        text.contains(&format!("UNCHECKED: {}", missing.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("INVALID: {}", malformed.display())),
        "{text}"
    );
}

/// The trust file takes the inbox as the configuration does (20 bytes) and in the 32-byte
/// form the signatures commit to; anything else is refused with both forms named.
#[test]
fn the_trust_file_takes_a_20_or_32_byte_inbox() {
    let (bundle, trust) = sample_paths();
    let dir = tempfile::tempdir().unwrap();
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trust).unwrap()).unwrap();
    let inbox = sample["signing_domain"]["inbox"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        inbox.len(),
        42,
        "the sample uses the configuration's form: {inbox}"
    );
    let long = edited(&dir, "long.json", &trust, |v| {
        v["signing_domain"]["inbox"] = format!("0x{}{}", "00".repeat(12), &inbox[2..]).into()
    });
    let out = verify(&bundle, &long, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let upper = edited(&dir, "upper.json", &trust, |v| {
        v["signing_domain"]["inbox"] = format!("0x{}", inbox[2..].to_uppercase()).into()
    });
    let out = verify(&bundle, &upper, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let odd = edited(&dir, "odd.json", &trust, |v| {
        v["signing_domain"]["inbox"] = format!("{inbox}00").into()
    });
    let out = verify(&bundle, &odd, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("40 hex digits"), "{stderr}");
    assert!(stderr.contains("64 hex digits"), "{stderr}");
}

/// A threshold the configuration refuses is refused in a trust file too (the config crate's
/// rule), naming the fix.
#[test]
fn the_trust_file_threshold_follows_the_configuration_rule() {
    let (bundle, trust) = sample_paths();
    let dir = tempfile::tempdir().unwrap();
    for (threshold, expected) in [
        (1, "threshold 1 of 5 is not a strict majority"),
        (2, "threshold 2 of 5 is not a strict majority"),
        (6, "threshold 6 exceeds the 5 validators"),
    ] {
        let weak = edited(&dir, &format!("t{threshold}.json"), &trust, |v| {
            v["threshold"] = threshold.into()
        });
        let out = verify(&bundle, &weak, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{threshold}: {stderr}");
        assert!(stderr.contains(expected), "{threshold}: {stderr}");
        assert!(
            stderr.contains("set threshold to between 3 and 5 for 5 validators"),
            "{stderr}"
        );
    }
}
