//! `causeway keys`: key files are created 0600, never overwritten, and never echo a secret.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::causeway;

#[test]
fn validator_and_privacy_keys_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["validator", "privacy"] {
        let path = dir.path().join(format!("{kind}.key"));
        let p = path.to_str().unwrap();
        let out = causeway(&["keys", "generate", kind, "--out", p]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{kind} key file mode");
        let generated = String::from_utf8(out.stdout).unwrap();
        let secret = std::fs::read_to_string(&path).unwrap();
        let secret_line = secret
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .unwrap()
            .trim();
        assert!(
            secret_line.len() >= 44,
            "{kind}: secret line {secret_line:?}"
        );
        assert!(
            !generated.contains(secret_line),
            "secret printed for {kind}"
        );

        // `show` prints the same public half that `generate` printed.
        let out = causeway(&["keys", "show", kind, p]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = String::from_utf8(out.stdout).unwrap();
        for line in shown.lines() {
            assert!(
                generated.contains(line),
                "{kind}: {line:?} not in {generated:?}"
            );
        }

        // Never overwritten.
        let out = causeway(&["keys", "generate", kind, "--out", p]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), secret);
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A validator key file others may read is refused, as a privacy key file is.
#[test]
fn a_validator_key_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("validator.key");
    let p = path.to_str().unwrap();
    assert!(
        causeway(&["keys", "generate", "validator", "--out", p])
            .status
            .success()
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = causeway(&["keys", "show", "validator", p]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("has mode 644"), "{e}");
    assert!(e.contains(&format!("chmod 600 {p}")), "{e}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(causeway(&["keys", "show", "validator", p]).status.success());
}

/// Showing a key as the other kind says which kind the file holds.
#[test]
fn a_key_of_the_other_kind_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, other) in [("validator", "privacy"), ("privacy", "validator")] {
        let path = dir.path().join(format!("{kind}.key"));
        let p = path.to_str().unwrap();
        assert!(
            causeway(&["keys", "generate", kind, "--out", p])
                .status
                .success()
        );
        let out = causeway(&["keys", "show", other, p]);
        assert_eq!(out.status.code(), Some(2));
        let e = stderr(&out);
        assert!(
            e.contains(&format!("holds a {kind} key, not a {other} key")),
            "{kind} shown as {other}: {e}"
        );
        assert!(e.contains(&format!("causeway keys show {kind} {p}")), "{e}");
    }
}

/// "File exists" is said once, not once per level of the cause chain.
#[test]
fn an_existing_file_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["validator", "privacy"] {
        let path = dir.path().join(format!("{kind}.key"));
        let p = path.to_str().unwrap();
        assert!(
            causeway(&["keys", "generate", kind, "--out", p])
                .status
                .success()
        );
        let out = causeway(&["keys", "generate", kind, "--out", p]);
        assert_eq!(out.status.code(), Some(2));
        let e = stderr(&out);
        assert_eq!(e.matches("File exists").count(), 1, "{kind}: {e}");
    }
}

/// A missing folder is named as such, and nothing is created.
#[test]
fn a_missing_parent_folder_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("no-such-folder");
    let path = folder.join("key");
    for kind in ["validator", "privacy"] {
        let out = causeway(&["keys", "generate", kind, "--out", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let e = stderr(&out);
        assert!(
            e.contains(&format!("the folder {} does not exist", folder.display())),
            "{kind}: {e}"
        );
        assert!(out.stdout.is_empty(), "{kind}");
    }
    assert!(!folder.exists());
}

/// `--out -` is refused clearly (a secret on standard output is a secret leaked), and no file
/// named `-` appears.
#[test]
fn out_dash_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["validator", "privacy"] {
        let out = Command::new(env!("CARGO_BIN_EXE_causeway"))
            .args(["keys", "generate", kind, "--out", "-"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let e = stderr(&out);
        assert!(
            e.contains("--out - would write the secret key to standard output"),
            "{e}"
        );
        assert!(out.stdout.is_empty(), "{kind}: nothing on standard output");
        assert!(
            !dir.path().join("-").exists(),
            "{kind}: a file named - was created"
        );
    }
}

/// A key file that never ends (`/dev/zero`, a pipe) is refused, not read forever.
#[test]
fn an_endless_key_file_is_refused() {
    // Not a regular file, and unreadable by the mode check: /dev/zero is 0666.
    let out = causeway(&["keys", "show", "validator", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("/dev/zero"), "{e}");
    // A private regular file far larger than a key: refused after the limit.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.key");
    std::fs::write(&big, "0".repeat(1 << 20)).unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = causeway(&["keys", "show", "validator", big.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("larger than the 4096 bytes accepted"), "{e}");
}

/// A named pipe as key file, private (mode 600) so the mode check lets it through: refused
/// unopened. Before, opening it waited for a writer for ever.
#[test]
fn a_named_pipe_as_key_file_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("key.fifo");
    let made = Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for kind in ["validator", "privacy"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_causeway"))
            .args(["keys", "show", kind, fifo.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the causeway binary runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{kind}: `causeway keys show` still waits on the named pipe");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut e = String::new();
        child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
        assert_eq!(status.code(), Some(2), "{kind}: {e}");
        assert!(
            e.contains("named pipe") || e.contains("not a regular file"),
            "{kind}: {e}"
        );
    }
}
