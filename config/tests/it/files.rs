//! Files the configuration names: present, key files private to their owner, relative paths
//! resolved against the configuration file's folder.

use causeway_config::{Config, NoEnv, Rule};

use crate::support::{BASE, Fixture, edit, set_mode};

#[cfg(unix)]
#[test]
fn a_key_file_readable_by_others_or_group_is_refused_with_the_chmod_fix() {
    let f = Fixture::new();
    let path = f.path("keys/validator.key");
    for mode in [0o644, 0o640, 0o604, 0o660, 0o602, 0o610] {
        set_mode(&path, mode);
        let err = f.one_problem(BASE, "gateway.validator_key_file", Rule::KeyFilePermissions);
        assert_eq!(
            err.fix(),
            Some(format!("chmod 600 {}", path.display()).as_str()),
            "mode {mode:o}"
        );
        assert!(
            err.to_string().contains(&format!("has mode {mode:04o}")),
            "{err}"
        );
    }
    for mode in [0o600, 0o400] {
        set_mode(&path, mode);
        f.load(BASE)
            .unwrap_or_else(|e| panic!("mode {mode:o} is private: {e}"));
    }
}

#[cfg(unix)]
#[test]
fn every_kind_of_key_file_is_checked() {
    let f = Fixture::new();
    for (rel, key) in [
        ("keys/privacy.key", "gateway.privacy_key_file"),
        ("tls/gateway.key", "gateway.tls.key_file"),
        ("keys/evm-a-signer.key", "chains.evm-a.signer_key_files[0]"),
    ] {
        let path = f.path(rel);
        set_mode(&path, 0o644);
        f.one_problem(BASE, key, Rule::KeyFilePermissions);
        set_mode(&path, 0o600);
    }
}

#[test]
fn a_missing_key_file_is_refused_naming_its_path() {
    let f = Fixture::new();
    std::fs::remove_file(f.path("keys/validator.key")).expect("remove");
    let err = f.one_problem(BASE, "gateway.validator_key_file", Rule::FileMissing);
    let path = f.path("keys/validator.key");
    assert!(
        err.to_string()
            .contains(&format!("key file {} does not exist", path.display())),
        "{err}"
    );
    assert!(
        err.fix()
            .is_some_and(|x| x.starts_with(&format!("create {}", path.display()))),
        "{err}"
    );
    assert!(
        err.position().is_some(),
        "the value came from the file: {err}"
    );
}

#[test]
fn a_missing_certificate_is_refused() {
    let f = Fixture::new();
    std::fs::remove_file(f.path("tls/ca.crt")).expect("remove");
    let err = f.load(BASE).expect_err("no CA file");
    // All three members name it.
    assert_eq!(err.problems().len(), 3, "{err}");
    assert_eq!(
        crate::support::problem(&err, "members[2].tls.ca_file").rule(),
        Some(Rule::FileMissing)
    );
}

#[test]
fn a_key_file_that_is_a_folder_is_refused() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("keys/folder.key")).expect("mkdir");
    let text = edit(BASE, "\"keys/validator.key\"", "\"keys/folder.key\"");
    let err = f.one_problem(&text, "gateway.validator_key_file", Rule::FileMissing);
    assert!(err.to_string().contains("is not a regular file"), "{err}");
}

#[test]
fn a_key_file_that_is_not_configured_is_reported_with_both_ways_to_set_it() {
    let f = Fixture::new();
    let text = edit(BASE, "validator_key_file = \"keys/validator.key\"\n", "");
    let err = f.one_problem(&text, "gateway.validator_key_file", Rule::MissingField);
    assert_eq!(
        err.fix(),
        Some(
            "add validator_key_file = \"keys/validator.key\" or set the environment variable CAUSEWAY_VALIDATOR_KEY_FILE"
        )
    );
}

#[test]
fn relative_paths_are_resolved_against_the_configuration_folder() {
    let f = Fixture::new();
    // The configuration lives in a sub-folder and reaches the keys through `..`.
    let sub = f.path("etc");
    std::fs::create_dir_all(&sub).expect("mkdir");
    let text = BASE
        .replace("\"keys/", "\"../keys/")
        .replace("\"tls/", "\"../tls/");
    let path = sub.join("gateway.toml");
    std::fs::write(&path, text).expect("write");
    let config = Config::load_with_env(&path, &NoEnv).expect("loads from its own folder");
    assert_eq!(
        config.gateway().validator_key_file,
        sub.join("../keys/validator.key")
    );
    assert!(config.gateway().validator_key_file.is_absolute());
    assert_eq!(config.members()[0].tls.ca_file, sub.join("../tls/ca.crt"));
    assert!(
        matches!(config.storage(), causeway_config::Storage::Sqlite { path } if *path == sub.join("causeway.sqlite"))
    );
    assert_eq!(config.file(), path);
}

#[test]
fn absolute_paths_are_kept() {
    let f = Fixture::new();
    let abs = f.path("keys/validator.key");
    let text = edit(
        BASE,
        "\"keys/validator.key\"",
        &format!("{:?}", abs.display().to_string()),
    );
    let config = f.load(&text).expect("absolute path");
    assert_eq!(config.gateway().validator_key_file, abs);
}

#[test]
fn an_unreadable_configuration_file_is_a_read_error() {
    let f = Fixture::new();
    let err = Config::load_with_env(f.path("nope.toml"), &NoEnv).expect_err("no such file");
    assert!(
        matches!(err, causeway_config::ConfigError::Read { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("nope.toml: cannot read the configuration file"),
        "{err}"
    );
}

/// Runs `f` on a thread and fails the test if it has not returned within 20 s (a read that
/// waits for a writer, or reads an endless file, would never return).
#[cfg(unix)]
fn within_20s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} still reading after 20 s"))
}

#[cfg(unix)]
#[test]
fn a_configuration_or_key_file_that_never_ends_is_refused_unread() {
    let f = Fixture::new();
    let fifo = f.path("endless.fifo");
    let made = std::process::Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for path in [fifo.clone(), "/dev/zero".into()] {
        let shown = path.display().to_string();
        let p = path.clone();
        let err = within_20s(&shown, move || Config::load_with_env(p, &NoEnv))
            .expect_err("not a configuration file");
        assert!(
            matches!(err, causeway_config::ConfigError::Read { .. })
                && chain(&err).contains("not a regular file"),
            "{shown}: {}",
            chain(&err)
        );
        let err = within_20s(&shown, move || causeway_config::read_secret_key_file(&path))
            .expect_err("not a key file");
        assert!(
            chain(&err).contains("not a regular file"),
            "{shown}: {}",
            chain(&err)
        );
    }
    let err = within_20s("fifo", move || Config::load_with_env(fifo, &NoEnv)).unwrap_err();
    assert!(chain(&err).contains("named pipe"), "{}", chain(&err));
}

/// An error and its causes, as `{err:#}` would print them.
#[cfg(unix)]
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        text = format!("{text}: {e}");
        cause = e.source();
    }
    text
}
