//! `causeway bench relay`: a small run over real anvil chains prints the table with numbers,
//! and every message it delivered has a bundle that `causeway verify` accepts, receipt proof
//! included; tampered copies are refused.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::{causeway, text, verify_all};

/// Edits a bundle's JSON.
type Tamper = fn(&mut serde_json::Value);

/// Messages the run relays.
const MESSAGES: usize = 64;

fn verify(bundles: &[PathBuf], trust: &Path, json: bool) -> Output {
    verify_all(bundles, trust, if json { &["--json"] } else { &[] })
}

#[test]
fn bench_relay_measures_and_its_bundles_verify_with_the_cli() {
    let export = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let messages = MESSAGES.to_string();
    let out = causeway(&[
        "bench",
        "relay",
        "--messages",
        &messages,
        "--batch-sizes",
        "16",
        // A short baseline (one transfer per fresh sender, see `raw_transfers`); the baseline
        // is not under test.
        "--transfers",
        "64",
        "--timeout-secs",
        "50",
        "--export-bundles",
        export.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "| batch size | messages | msgs/s | p50 ms | p99 ms | gas/msg | raw transfers/s | ratio | automine kicks | relay kicks | relay CPU µs/msg | batch ceiling msgs/s | relay/ceiling |"
    );
    assert_eq!(lines.len(), 3, "{stdout}");
    let cells: Vec<&str> = lines[2]
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(cells.len(), 13, "{stdout}");
    assert_eq!(&cells[..2], &["16", messages.as_str()]);
    let numbers: Vec<f64> = cells[2..8].iter().map(|c| c.parse().unwrap()).collect();
    // Every figure is a positive measurement; latencies are ordered; a delivery costs gas.
    assert!(
        numbers.iter().all(|x| x.is_finite() && *x > 0.0),
        "{stdout}"
    );
    let (p50, p99) = (numbers[1], numbers[2]);
    assert!(p50 <= p99, "{stdout}");
    assert!(numbers[3] > 21_000.0, "gas per message: {stdout}");
    cells[8]
        .parse::<usize>()
        .expect("a count of automine kicks");
    cells[9]
        .parse::<usize>()
        .expect("a count of the relay's automine kicks");
    // The relaying process's CPU per delivered message, from /proc: a positive figure.
    let cpu: f64 = cells[10].parse().unwrap();
    assert!(cpu.is_finite() && cpu > 0.0, "{stdout}");
    // The chain's batch ceiling for the same messages and batch size, and the relay's share of it.
    let ceiling: f64 = cells[11].parse().unwrap();
    let share: f64 = cells[12].parse().unwrap();
    assert!(ceiling > 0.0 && share > 0.0, "{stdout}");
    assert!(
        (share - numbers[0] / ceiling).abs() < 0.01,
        "relay/ceiling is msgs/s over the ceiling: {stdout}"
    );
    // Progress on standard error, a pipe here: whole lines naming each phase and the
    // deliveries (a bar only on a terminal).
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for line in stderr.lines() {
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }
    for expected in [
        "[1/1] batch size 16: starting two anvil chains",
        "baseline: 64 raw transfers",
        &format!("relaying {MESSAGES} messages A -> B in batches of 16"),
        &format!("batch size 16: {MESSAGES}/{MESSAGES} delivered"),
        &format!("batch ceiling: {MESSAGES} messages"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(expected)),
            "{expected:?} missing from\n{stderr}"
        );
    }

    // Every delivered message's bundle, checked by the CLI with its receipt proof.
    let dir = export.path().join("batch-16");
    let trust = dir.join("trust.json");
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("bundle-")
        })
        .collect();
    bundles.sort();
    assert_eq!(bundles.len(), MESSAGES, "one bundle per message");
    let out = verify(&bundles, &trust, false);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let valid = report.lines().filter(|l| l.starts_with("VALID: ")).count();
    assert_eq!(valid, MESSAGES, "{report}");
    assert_eq!(
        report.matches("native proof   Evm proof checked").count(),
        MESSAGES,
        "{report}"
    );
    let out = verify(&bundles, &trust, true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let verdicts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts = verdicts.as_array().unwrap();
    assert_eq!(verdicts.len(), MESSAGES);
    let mut nonces: Vec<u64> = verdicts
        .iter()
        .map(|v| {
            assert_eq!(v["valid"], true, "{v}");
            assert_eq!(v["verdict"]["native_proof_checked"], true, "{v}");
            v["verdict"]["nonce"].as_u64().unwrap()
        })
        .collect();
    nonces.sort_unstable();
    assert_eq!(nonces, (0..MESSAGES as u64).collect::<Vec<_>>());

    // Tampered copies: each refused (exit 1) with its reason, the good one beside it still valid.
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundles[5]).unwrap()).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let cases: [(&str, Tamper, &str); 3] = [
        (
            "receipt",
            |b| {
                let r = b["native_proof"]["data"]["receipt_proof"]["receipt"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let last = if r.ends_with('0') { "1" } else { "0" };
                b["native_proof"]["data"]["receipt_proof"]["receipt"] =
                    serde_json::Value::String(format!("{}{last}", &r[..r.len() - 1]));
            },
            "native proof:",
        ),
        (
            "no-native",
            |b| {
                b.as_object_mut().unwrap().remove("native_proof");
            },
            "no native proof",
        ),
        (
            "other-block",
            |b| {
                b["source"]["block_hash"] =
                    serde_json::Value::String(format!("0x{}", "ab".repeat(32)));
            },
            "native proof:",
        ),
    ];
    for (name, edit, reason) in cases {
        let mut tampered = original.clone();
        edit(&mut tampered);
        let path = scratch.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&tampered).unwrap()).unwrap();
        let out = verify(&[bundles[4].clone(), path], &trust, false);
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        let starting = |p: &str| report.lines().filter(|l| l.starts_with(p)).count();
        assert_eq!(starting("VALID: "), 1, "{name}: {report}");
        assert_eq!(starting("INVALID: "), 1, "{name}: {report}");
        assert!(report.contains(reason), "{name}: {report}");
    }
}

/// `causeway bench consortium`: three gateway processes under a small offered load report the
/// latency, duplicate and CPU lines with numbers, every message delivered.
#[test]
fn bench_consortium_reports_latency_duplicates_and_cpu_per_gateway() {
    let out = causeway(&[
        "bench",
        "consortium",
        "--rate",
        "20",
        "--seconds",
        "2",
        "--batch-size",
        "8",
        "--grace-ms",
        "1000",
        "--timeout",
        "60",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("(40 messages)"), "{stdout}");
    assert!(stdout.contains("deliveries: 40 messages"), "{stdout}");
    for org in ["org1", "org2", "org3"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{org}: CPU")))
            .unwrap_or_else(|| panic!("no CPU line for {org}: {stdout}"));
        let per_message: f64 = line
            .split(", ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no figure in {line}"));
        assert!(per_message > 0.0, "{line}");
    }
    let p50: f64 = stdout
        .split("p50 ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no p50 in {stdout}"));
    assert!(p50 > 0.0 && p50 < 30.0, "{stdout}");
}

/// `causeway bench pipeline`: three member processes on in-memory chains each hold every
/// message at their destination, having exchanged signatures over the peer protocol, and the
/// table reports positive figures for every gateway and stage.
#[test]
fn bench_pipeline_runs_three_gateways_through_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let out = causeway(&[
        "bench",
        "pipeline",
        "--messages",
        "600",
        "--per-block",
        "50",
        "--batch-size",
        "64",
        "--timeout",
        "90",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("| gateways | messages | batch | msgs/s |"),
        "{stdout}"
    );
    let cells: Vec<&str> = lines[2]
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(cells.len(), 10, "{stdout}");
    assert_eq!(&cells[..3], &["3", "600", "64"], "{stdout}");
    let rate: f64 = cells[3].parse().unwrap();
    assert!(rate > 0.0, "{stdout}");
    // One CPU figure per gateway, each a positive number of microseconds per message.
    let cpu: Vec<f64> = cells[4]
        .split(", ")
        .map(|c| c.split_once(' ').unwrap().1.parse().unwrap())
        .collect();
    assert_eq!(cpu.len(), 3, "{stdout}");
    assert!(cpu.iter().all(|c| *c > 0.0), "{stdout}");
    // Every stage ran: watch, verify, log, sign, batch.
    for stage in &cells[5..] {
        let micros: f64 = stage.parse().unwrap();
        assert!(micros > 0.0, "{stdout}");
    }
    // Each member signed, received the others' signatures over the peer protocol, and
    // assembled batches.
    for org in ["org1", "org2", "org3"] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("{org}: ")) && l.contains("checkpoints signed"))
            .unwrap_or_else(|| panic!("no figures line for {org}: {stderr}"));
        let numbers: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().unwrap())
            .collect();
        // [org number, checkpoints, signatures received, batches]
        assert_eq!(numbers.len(), 4, "{line}");
        assert!(numbers[1] > 0 && numbers[2] > 0 && numbers[3] > 0, "{line}");
    }
    // Progress off a terminal: whole lines, the last one when every delivery is in.
    assert!(
        stderr
            .lines()
            .any(|l| l.trim() == "every gateway delivered every message"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
}

/// `causeway bench pipeline --no-metrics`: the gateways carry every message with metric updates
/// off, so the figures they report from their metrics (stage times, checkpoints, signatures,
/// batches) stay 0 while the work is done: the baseline `BENCHMARKS.md`'s metrics overhead is
/// measured against.
#[test]
fn bench_pipeline_without_metrics_updates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = causeway(&[
        "bench",
        "pipeline",
        "--messages",
        "300",
        "--per-block",
        "50",
        "--batch-size",
        "64",
        "--timeout",
        "90",
        "--no-metrics",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("metrics off"), "{stderr}");
    let row = stdout.lines().nth(2).unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
    assert_eq!(cells.len(), 10, "{stdout}");
    assert_eq!(&cells[..3], &["3", "300", "64"], "{stdout}");
    assert!(cells[3].parse::<f64>().unwrap() > 0.0, "{stdout}");
    for stage in &cells[5..] {
        assert_eq!(
            stage.parse::<f64>().unwrap(),
            0.0,
            "no stage was timed: {stdout}"
        );
    }
    for org in ["org1", "org2", "org3"] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("{org}: ")) && l.contains("checkpoints signed"))
            .unwrap_or_else(|| panic!("no figures line for {org}: {stderr}"));
        assert!(
            line.contains(
                ": 0 checkpoints signed, 0 signatures received from the other members, 0 batches"
            ),
            "nothing was counted: {line}"
        );
    }
}
