//! `causeway bench relay`: a small run over real anvil chains prints the table with numbers.

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn bench_relay_prints_a_table_of_measured_figures() {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args([
            "bench",
            "relay",
            "--messages",
            "64",
            "--batch-sizes",
            "16",
            "--transfers",
            "200",
            "--timeout-secs",
            "50",
        ])
        .output()
        .expect("the causeway binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "| batch size | messages | msgs/s | p50 ms | p99 ms | gas/msg | raw transfers/s | ratio |"
    );
    assert_eq!(lines.len(), 3, "{stdout}");
    let cells: Vec<&str> = lines[2]
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(cells.len(), 8, "{stdout}");
    assert_eq!(&cells[..2], &["16", "64"]);
    let numbers: Vec<f64> = cells[2..].iter().map(|c| c.parse().unwrap()).collect();
    // Every figure is a positive measurement; latencies are ordered; a delivery costs gas.
    assert!(
        numbers.iter().all(|x| x.is_finite() && *x > 0.0),
        "{stdout}"
    );
    let (p50, p99) = (numbers[1], numbers[2]);
    assert!(p50 <= p99, "{stdout}");
    assert!(numbers[3] > 21_000.0, "gas per message: {stdout}");
}
