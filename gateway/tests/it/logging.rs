//! The binary's logs: `tracing` events on standard error (standard output stays the command's),
//! as text or JSON lines, filtered by `--log-level` over `RUST_LOG`; a bad filter is refused.

use std::process::Command;

use crate::store::store_with_events;
use crate::support::text;

/// Rolls the store at `db` back to block 10 with `args` before the command.
fn rollback(db: &std::path::Path, args: &[&str], rust_log: Option<&str>) -> std::process::Output {
    let hash10 = format!("{}", crate::store::block_hash(10));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_causeway"));
    cmd.args(args).args([
        "store",
        "rollback",
        "--db",
        db.to_str().unwrap(),
        "--origin",
        "1",
        "--to",
        "10",
        "--hash",
        &hash10,
    ]);
    match rust_log {
        Some(v) => cmd.env("RUST_LOG", v),
        None => cmd.env_remove("RUST_LOG"),
    };
    cmd.output().unwrap()
}

#[test]
fn events_are_logged_to_stderr_as_text_or_json_at_the_chosen_level() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");

    // JSON: one object per line on stderr, the store's warning among them; stdout untouched.
    store_with_events(&db);
    let out = rollback(&db, &["--log-format", "json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let rolled = events
        .iter()
        .find(|e| e["message"] == "rolled source cursor back")
        .unwrap_or_else(|| panic!("no rollback event: {stderr}"));
    assert_eq!(rolled["level"], "WARN");
    assert_eq!(rolled["to"], 10);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("rolled source cursor back"));

    // Text, and --log-level wins over RUST_LOG.
    let db2 = dir.path().join("second.db");
    store_with_events(&db2);
    let out = rollback(&db2, &["--log-level", "error"], Some("trace"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("rolled source cursor back"),
        "{}",
        text(&out)
    );
    let db3 = dir.path().join("third.db");
    store_with_events(&db3);
    let out = rollback(&db3, &[], Some("warn"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("rolled source cursor back"),
        "{}",
        text(&out)
    );

    // A filter that does not parse is refused before anything runs.
    let db4 = dir.path().join("fourth.db");
    store_with_events(&db4);
    let out = rollback(&db4, &["--log-level", "info,=["], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is not a log filter"), "{}", text(&out));
    let store = causeway_relayer::store::SqliteStore::open(&db4).unwrap();
    let cursor = causeway_relayer::store::SourceStore::cursor(&store, causeway_proofs::Domain(1));
    assert_eq!(cursor.unwrap().unwrap().block_number, 12, "nothing ran");
}
