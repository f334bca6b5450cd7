//! `[api]`, `[storage]`, `[monitoring]`; secrets kept out of the file and out of `Debug`; all
//! problems reported together.

use std::collections::BTreeMap;

use causeway_config::{ConfigError, Rule, Storage};

use crate::support::{BASE, Fixture, edit, privacy_secret_hex, validator_secret_hex};

#[test]
fn defaults_are_loopback_listeners_and_sqlite_beside_the_file() {
    let f = Fixture::new();
    let config = f.load(BASE).expect("valid");
    assert_eq!(config.api().listen.to_string(), "127.0.0.1:8080");
    assert!(config.api().tls.is_none());
    assert_eq!(config.monitoring().listen.to_string(), "127.0.0.1:9464");
    assert!(
        matches!(config.storage(), Storage::Sqlite { path } if *path == f.path("causeway.sqlite"))
    );
}

#[test]
fn a_password_in_the_postgres_url_in_the_file_is_refused() {
    let f = Fixture::new();
    let text = format!(
        "{BASE}\n[storage]\npostgres_url = \"postgres://causeway:hunter2@db:5432/causeway\"\n"
    );
    let err = f.one_problem(&text, "storage.postgres_url", Rule::SecretInFile);
    assert!(
        err.fix()
            .is_some_and(|x| x.contains("CAUSEWAY_POSTGRES_URL")),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let text =
        format!("{BASE}\n[storage]\npostgres_url = \"postgres://db/causeway?password=hunter2\"\n");
    f.one_problem(&text, "storage.postgres_url", Rule::SecretInFile);
}

#[test]
fn two_storage_back_ends_are_refused() {
    let f = Fixture::new();
    let text = format!(
        "{BASE}\n[storage]\nsqlite_path = \"a.sqlite\"\npostgres_url = \"postgres://c@db/c\"\n"
    );
    f.one_problem(&text, "storage.sqlite_path", Rule::StorageConflict);
    f.secret("keys/pg.password", "pw");
    let text = format!("{BASE}\n[storage]\npostgres_password_file = \"keys/pg.password\"\n");
    f.one_problem(
        &text,
        "storage.postgres_password_file",
        Rule::StorageConflict,
    );
}

#[test]
fn postgres_session_bounds_have_defaults_bounds_and_need_postgres() {
    let f = Fixture::new();
    let pg = format!("{BASE}\n[storage]\npostgres_url = \"postgres://c@db/c\"\n");
    let Storage::Postgres {
        dead_peer,
        statement_timeout,
        ..
    } = *f.load(&pg).expect("valid").storage()
    else {
        panic!("postgres")
    };
    assert_eq!(
        (dead_peer, statement_timeout),
        (
            Storage::DEFAULT_DEAD_PEER,
            Storage::DEFAULT_STATEMENT_TIMEOUT
        )
    );
    let set = format!("{pg}postgres_dead_peer_ms = 5000\npostgres_statement_timeout_ms = 2500\n");
    let Storage::Postgres {
        dead_peer,
        statement_timeout,
        ..
    } = *f.load(&set).expect("valid").storage()
    else {
        panic!("postgres")
    };
    assert_eq!(
        (dead_peer, statement_timeout),
        (
            std::time::Duration::from_secs(5),
            std::time::Duration::from_millis(2500)
        )
    );
    for (line, key) in [
        (
            "postgres_dead_peer_ms = 999",
            "storage.postgres_dead_peer_ms",
        ),
        (
            "postgres_statement_timeout_ms = 3600001",
            "storage.postgres_statement_timeout_ms",
        ),
    ] {
        f.one_problem(&format!("{pg}{line}\n"), key, Rule::InvalidValue);
    }
    f.one_problem(
        &format!("{BASE}\n[storage]\npostgres_dead_peer_ms = 5000\n"),
        "storage.postgres_dead_peer_ms",
        Rule::StorageConflict,
    );
}

#[test]
fn listeners_on_one_socket_are_refused() {
    let f = Fixture::new();
    let text = format!("{BASE}\n[monitoring]\nlisten = \"127.0.0.1:7443\"\n");
    let err = f.one_problem(&text, "monitoring.listen", Rule::DuplicateListenAddress);
    assert!(
        err.to_string()
            .contains("collides with gateway.peer_listen = 0.0.0.0:7443"),
        "{err}"
    );
    let text = format!("{BASE}\n[api]\nlisten = \"127.0.0.1:9464\"\n");
    f.one_problem(&text, "monitoring.listen", Rule::DuplicateListenAddress);
    let text = format!(
        "{BASE}\n[api]\nlisten = \"10.0.0.1:7000\"\n[monitoring]\nlisten = \"10.0.0.1:7000\"\n"
    );
    f.one_problem(&text, "monitoring.listen", Rule::DuplicateListenAddress);
    let text = format!(
        "{BASE}\n[api]\nlisten = \"10.0.0.1:7000\"\n[monitoring]\nlisten = \"10.0.0.2:7000\"\n"
    );
    f.load(&text).expect("one port on two addresses");
}

#[test]
fn debug_of_a_loaded_configuration_prints_no_secret() {
    let f = Fixture::new();
    let env: BTreeMap<String, String> = [
        (
            "CAUSEWAY_POSTGRES_URL",
            "postgres://causeway:hunter2@db.internal:5432/causeway?password=hunter3",
        ),
        (
            "CAUSEWAY_CHAIN_EVM_A_ENDPOINTS",
            "https://alice:pa55word@rpc.provider.example/v3/APIKEY42",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = f.load_env(BASE, &env).expect("valid");
    let debug = format!("{config:?}");
    let pretty = format!("{config:#?}");
    for secret in [
        "hunter2".to_owned(),
        "hunter3".to_owned(),
        "pa55word".to_owned(),
        "APIKEY42".to_owned(),
        validator_secret_hex(1),
        privacy_secret_hex(1),
        validator_secret_hex(9),
    ] {
        assert!(
            !debug.contains(&secret) && !pretty.contains(&secret),
            "Debug shows {secret}:\n{pretty}"
        );
    }
    // The redacted forms are still informative.
    assert!(
        debug.contains("postgres://causeway:***@db.internal:5432/causeway?password=***"),
        "{debug}"
    );
    assert!(
        debug.contains("https://***@rpc.provider.example/…"),
        "{debug}"
    );
    // And the driver still gets the real URL.
    let Storage::Postgres { url, .. } = config.storage() else {
        panic!("postgres")
    };
    assert!(url.expose_secret().contains("hunter2"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let f = Fixture::new();
    std::fs::remove_file(f.path("keys/evm-a-signer.key")).expect("remove");
    let mut text = edit(BASE, "domain = 1002", "domain = 1001");
    text = edit(
        &text,
        "inbox = \"0xe7f1725e7734ce288f8367e1bb143e90bb3f0512\"\n",
        "",
    );
    text = edit(
        &text,
        "validators = [\"org1\", \"org2\", \"org3\"]\nthreshold = 2\n\n",
        "validators = [\"org1\", \"org2\", \"org3\"]\nthreshold = 1\n\n",
    );
    text = edit(&text, "name = \"org3\"", "name = \"org2\"");
    let err = f.load(&text).expect_err("five problems");
    let ConfigError::Several(list) = &err else {
        panic!("several problems expected, got {err}")
    };
    let keys: Vec<&str> = list.as_slice().iter().filter_map(|p| p.key()).collect();
    for key in [
        "members[2].name",
        "chains.evm-a.signer_key_files[0]",
        "chains.evm-a.inbox",
        "chains.evm-b.domain",
        "lanes.evm-a-to-evm-b.threshold",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("the configuration has {} problems:", list.len())),
        "{shown}"
    );
    assert_eq!(shown.lines().count(), list.len() + 1, "{shown}");
    for line in shown.lines().skip(1) {
        assert!(
            line.starts_with("  - ") && line.contains(" (fix: "),
            "{line}"
        );
    }
}

#[test]
fn relayer_settings_have_defaults_and_bounds() {
    let f = Fixture::new();
    let defaults = *f.load(BASE).expect("valid").relaying();
    assert_eq!(defaults, causeway_config::Relaying::default());
    assert_eq!(defaults.batch_size, 128);
    let text = format!(
        "{BASE}\n[relayer]\nbatch_size = 64\ndelivery_grace_ms = 2500\npoll_interval_ms = 100\nlease_ms = 4000\n"
    );
    let r = *f.load(&text).expect("valid").relaying();
    assert_eq!(r.lease, std::time::Duration::from_millis(4000));
    assert_eq!(defaults.lease, std::time::Duration::from_secs(120));
    assert_eq!(r.batch_size, 64);
    assert_eq!(r.delivery_grace, std::time::Duration::from_millis(2500));
    assert_eq!(r.poll_interval, std::time::Duration::from_millis(100));
    assert_eq!(
        defaults.send_replace_after,
        std::time::Duration::from_secs(180)
    );
    let r = *f
        .load(&format!(
            "{BASE}\n[relayer]\nsend_replace_after_ms = 5000\n"
        ))
        .expect("valid")
        .relaying();
    assert_eq!(r.send_replace_after, std::time::Duration::from_secs(5));
    for (line, key) in [
        ("batch_size = 0", "relayer.batch_size"),
        ("batch_size = 513", "relayer.batch_size"),
        ("delivery_grace_ms = 3600001", "relayer.delivery_grace_ms"),
        ("poll_interval_ms = 5", "relayer.poll_interval_ms"),
        ("lease_ms = 999", "relayer.lease_ms"),
        ("lease_ms = 3600001", "relayer.lease_ms"),
        (
            "send_replace_after_ms = 999",
            "relayer.send_replace_after_ms",
        ),
        (
            "send_replace_after_ms = 86400001",
            "relayer.send_replace_after_ms",
        ),
    ] {
        f.one_problem(
            &format!("{BASE}\n[relayer]\n{line}\n"),
            key,
            Rule::InvalidValue,
        );
    }
    f.one_problem(
        &format!("{BASE}\n[relayer]\nbatch = 5\n"),
        "relayer.batch",
        Rule::UnknownField,
    );
}

#[test]
fn a_replica_names_its_instance_and_a_bad_name_is_refused() {
    let f = Fixture::new();
    assert_eq!(f.load(BASE).expect("valid").gateway().instance, None);
    let with = |line: &str| BASE.replacen("[gateway]\n", &format!("[gateway]\n{line}\n"), 1);
    assert!(
        with("").contains("[gateway]"),
        "the fixture has a [gateway] table"
    );
    let config = f.load(&with("instance = \"replica-b.2\"")).expect("valid");
    assert_eq!(config.gateway().instance.as_deref(), Some("replica-b.2"));
    for bad in [
        "\"\"",
        "\"a/b\"",
        "\"has space\"",
        &format!("\"{}\"", "x".repeat(65)),
    ] {
        let err = f.one_problem(
            &with(&format!("instance = {bad}")),
            "gateway.instance",
            Rule::InvalidValue,
        );
        assert!(err.fix().is_some_and(|x| x.contains("replica")), "{err}");
    }
}
