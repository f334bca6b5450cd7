//! `causeway keys`: key files are created 0600, never overwritten, and never echo a secret.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn causeway(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(args)
        .output()
        .unwrap()
}

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
