//! Progress of the long commands: `causeway devnet` (a consortium without Fabric, a few
//! messages) writes whole lines without control characters when standard error is a pipe, as in
//! a CI log; nothing but the result with `--quiet`; and a redrawn bar on a terminal (a
//! pseudo-terminal from util-linux's `script`, part of every Debian system).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::text;

fn devnet(dir: &Path, extra: &[&str], messages: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(extra)
        .args(["devnet", "--no-fabric", "--timeout", "120", "--messages"])
        .arg(messages)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Every character is printable or a newline, and the text ends with one.
fn assert_line_oriented(stderr: &str) {
    for (n, line) in stderr.lines().enumerate() {
        assert!(
            !line.chars().any(char::is_control),
            "line {n} has a control character: {line:?}"
        );
    }
    assert!(stderr.ends_with('\n'), "{stderr:?}");
}

#[test]
fn devnet_progress_is_whole_lines_off_a_terminal_and_nothing_with_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let out = devnet(&dir.path().join("lines"), &[], "3");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_line_oriented(&stderr);
    for expected in [
        "[1/4] starting two anvil chains",
        "[4/4] sending 3 messages each way",
        "      alliance->public: 3/3 delivered  |  public->alliance: 3/3 delivered",
        "delivered exactly once",
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(expected)),
            "{expected:?} missing from\n{stderr}"
        );
    }

    let out = devnet(&dir.path().join("quiet"), &["--quiet"], "2");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_line_oriented(&stderr);
    assert!(!stderr.contains("[1/4]"), "{stderr}");
    assert!(!stderr.contains("/2 delivered"), "{stderr}");
    assert!(stderr.contains("delivered exactly once"), "{stderr}");
    assert!(stderr.contains("4 proof bundles verified"), "{stderr}");
}

#[test]
fn devnet_draws_a_bar_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "{} devnet --no-fabric --timeout 120 --messages 20 --dir {}",
        env!("CARGO_BIN_EXE_causeway"),
        dir.path().join("tty").display()
    );
    // `script` runs the command on a pseudo-terminal and copies what it wrote to stdout.
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("util-linux script (Debian's bsdutils)");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains('\u{1b}'),
        "no terminal control sequence: the bar was not drawn\n{shown}"
    );
    assert!(shown.contains("delivered exactly once"), "{shown}");
}
