//! Environment overrides, injected as a map (the process environment is never touched).

use std::collections::BTreeMap;

use causeway_config::{Rule, Storage, env};

use crate::support::{BASE, Fixture, edit, validator_secret_hex};

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_variable_names_are_the_documented_ones() {
    assert_eq!(env::VALIDATOR_KEY_FILE, "CAUSEWAY_VALIDATOR_KEY_FILE");
    assert_eq!(env::PRIVACY_KEY_FILE, "CAUSEWAY_PRIVACY_KEY_FILE");
    assert_eq!(env::TLS_KEY_FILE, "CAUSEWAY_TLS_KEY_FILE");
    assert_eq!(env::API_TLS_KEY_FILE, "CAUSEWAY_API_TLS_KEY_FILE");
    assert_eq!(env::POSTGRES_URL, "CAUSEWAY_POSTGRES_URL");
    assert_eq!(
        env::POSTGRES_PASSWORD_FILE,
        "CAUSEWAY_POSTGRES_PASSWORD_FILE"
    );
    assert_eq!(
        env::chain_var("evm-a", env::ChainVar::SignerKeyFile),
        "CAUSEWAY_CHAIN_EVM_A_SIGNER_KEY_FILE"
    );
    assert_eq!(
        env::chain_var("evm-a", env::ChainVar::Endpoints),
        "CAUSEWAY_CHAIN_EVM_A_ENDPOINTS"
    );
}

#[test]
fn key_file_variables_override_the_file() {
    let f = Fixture::new();
    let validator = f.secret("secrets/validator.key", &validator_secret_hex(1));
    let privacy = f.path("keys/privacy.key");
    let tls_key = f.secret("secrets/tls.key", "-----BEGIN PRIVATE KEY-----\n");
    let env = vars(&[
        (
            "CAUSEWAY_VALIDATOR_KEY_FILE",
            validator.to_str().expect("utf-8"),
        ),
        ("CAUSEWAY_PRIVACY_KEY_FILE", "keys/privacy.key"),
        ("CAUSEWAY_TLS_KEY_FILE", tls_key.to_str().expect("utf-8")),
    ]);
    // The file names none of them: the environment supplies all three.
    let text = edit(
        &edit(
            BASE,
            "validator_key_file = \"keys/validator.key\"\nprivacy_key_file = \"keys/privacy.key\"\n",
            "",
        ),
        ", key_file = \"tls/gateway.key\"",
        "",
    );
    let config = f.load_env(&text, &env).expect("overrides fill the gaps");
    assert_eq!(config.gateway().validator_key_file, validator);
    assert_eq!(
        config.gateway().privacy_key_file,
        privacy,
        "relative to the configuration folder"
    );
    assert_eq!(config.gateway().tls.key_file, tls_key);

    // And they win over values in the file.
    let config = f.load_env(BASE, &env).expect("overrides win");
    assert_eq!(config.gateway().validator_key_file, validator);
}

#[test]
fn a_problem_with_an_overridden_path_names_the_variable() {
    let f = Fixture::new();
    let env = vars(&[("CAUSEWAY_VALIDATOR_KEY_FILE", "/nonexistent/validator.key")]);
    let err = f.load_env(BASE, &env).expect_err("missing override target");
    assert_eq!(
        (err.key(), err.rule()),
        (Some("gateway.validator_key_file"), Some(Rule::FileMissing))
    );
    assert!(
        err.to_string()
            .contains("(from CAUSEWAY_VALIDATOR_KEY_FILE) does not exist"),
        "{err}"
    );
    assert_eq!(
        err.fix(),
        Some("create /nonexistent/validator.key or correct CAUSEWAY_VALIDATOR_KEY_FILE")
    );
    assert_eq!(err.position(), None, "the value did not come from the file");
}

#[test]
fn an_empty_variable_is_an_error_not_unset() {
    let f = Fixture::new();
    let err = f
        .load_env(BASE, &vars(&[("CAUSEWAY_PRIVACY_KEY_FILE", "")]))
        .expect_err("empty");
    assert_eq!(
        (err.key(), err.rule()),
        (Some("gateway.privacy_key_file"), Some(Rule::EnvOverride))
    );
    assert_eq!(
        err.fix(),
        Some("unset CAUSEWAY_PRIVACY_KEY_FILE or give it a value")
    );
}

#[test]
fn chain_signer_and_endpoint_variables_override_the_chain() {
    let f = Fixture::new();
    let one = f.secret("keys/relayer-1.key", &validator_secret_hex(5));
    let two = f.secret("keys/relayer-2.key", &validator_secret_hex(6));
    let env = vars(&[
        (
            "CAUSEWAY_CHAIN_EVM_B_SIGNER_KEY_FILE",
            "keys/relayer-1.key:keys/relayer-2.key",
        ),
        (
            "CAUSEWAY_CHAIN_EVM_A_ENDPOINTS",
            "https://user:pa55@rpc.provider.example/v3/KEY123, wss://backup.example:8546",
        ),
    ]);
    let config = f.load_env(BASE, &env).expect("valid overrides");
    assert_eq!(
        config.chain("evm-b").expect("evm-b").signer_key_files,
        vec![one, two]
    );
    let endpoints = &config.chain("evm-a").expect("evm-a").endpoints;
    assert_eq!(endpoints.len(), 2);
    assert_eq!(
        endpoints[0].as_str(),
        "https://user:pa55@rpc.provider.example/v3/KEY123"
    );
    assert_eq!(endpoints[1].host(), "backup.example");

    let bad = vars(&[("CAUSEWAY_CHAIN_EVM_A_SIGNER_KEY_FILE", "keys/absent.key")]);
    let err = f.load_env(BASE, &bad).expect_err("missing signer key");
    assert_eq!(
        (err.key(), err.rule()),
        (
            Some("chains.evm-a.signer_key_files[0]"),
            Some(Rule::FileMissing)
        )
    );
    assert!(
        err.fix()
            .is_some_and(|x| x.ends_with("or correct CAUSEWAY_CHAIN_EVM_A_SIGNER_KEY_FILE")),
        "{err}"
    );
}

#[test]
fn the_postgres_url_variable_selects_postgres() {
    let f = Fixture::new();
    let url = "postgres://causeway:hunter2@db.internal:5432/causeway";
    let config = f
        .load_env(BASE, &vars(&[("CAUSEWAY_POSTGRES_URL", url)]))
        .expect("postgres from env");
    match config.storage() {
        Storage::Postgres {
            url: u,
            password_file: None,
            ..
        } => assert_eq!(u.expose_secret(), url),
        other => panic!("expected postgres, got {other:?}"),
    }

    // Contradicting an explicit SQLite choice in the file is an error, not a silent switch.
    let text = format!("{BASE}\n[storage]\nsqlite_path = \"data/c.sqlite\"\n");
    let err = f
        .load_env(&text, &vars(&[("CAUSEWAY_POSTGRES_URL", url)]))
        .expect_err("conflict");
    assert_eq!(
        (err.key(), err.rule()),
        (Some("storage.sqlite_path"), Some(Rule::StorageConflict))
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn a_postgres_password_file_can_come_from_the_environment() {
    let f = Fixture::new();
    let pw = f.secret("keys/pg.password", "hunter2\n");
    let text =
        format!("{BASE}\n[storage]\npostgres_url = \"postgres://causeway@db:5432/causeway\"\n");
    let config = f
        .load_env(
            &text,
            &vars(&[("CAUSEWAY_POSTGRES_PASSWORD_FILE", "keys/pg.password")]),
        )
        .expect("valid");
    assert!(
        matches!(config.storage(), Storage::Postgres { password_file: Some(p), .. } if *p == pw)
    );
}

#[test]
fn the_api_tls_key_variable_needs_an_api_certificate() {
    let f = Fixture::new();
    let err = f
        .load_env(
            BASE,
            &vars(&[("CAUSEWAY_API_TLS_KEY_FILE", "keys/api.key")]),
        )
        .expect_err("no [api.tls]");
    assert_eq!(
        (err.key(), err.rule()),
        (Some("api.tls"), Some(Rule::EnvOverride))
    );

    let key = f.secret("keys/api.key", "-----BEGIN PRIVATE KEY-----\n");
    f.public("tls/api.crt");
    let text = format!(
        "{BASE}\n[api]\nlisten = \"0.0.0.0:8443\"\ntls = {{ cert_file = \"tls/api.crt\" }}\n"
    );
    let config = f
        .load_env(
            &text,
            &vars(&[("CAUSEWAY_API_TLS_KEY_FILE", "keys/api.key")]),
        )
        .expect("valid");
    assert_eq!(
        config.api().tls.as_ref().map(|t| t.key_file.clone()),
        Some(key)
    );
}

#[test]
fn a_client_ca_needs_api_tls_and_an_existing_file() {
    let f = Fixture::new();
    let err = f
        .load_env(
            &format!("{BASE}\n[api]\nclient_ca_file = \"tls/apps-ca.crt\"\n"),
            &vars(&[]),
        )
        .expect_err("client certificates without TLS");
    assert_eq!(
        (err.key(), err.rule()),
        (Some("api.client_ca_file"), Some(Rule::InvalidValue))
    );

    f.secret("keys/api.key", "-----BEGIN PRIVATE KEY-----\n");
    f.public("tls/api.crt");
    let with_tls = format!(
        "{BASE}\n[api]\ntls = {{ cert_file = \"tls/api.crt\", key_file = \"keys/api.key\" }}\nclient_ca_file = \"tls/apps-ca.crt\"\n"
    );
    let err = f
        .load_env(&with_tls, &vars(&[]))
        .expect_err("the CA file does not exist");
    assert_eq!(err.key(), Some("api.client_ca_file"));

    f.public("tls/apps-ca.crt");
    let config = f.load_env(&with_tls, &vars(&[])).expect("valid");
    assert!(
        config
            .api()
            .client_ca_file
            .as_ref()
            .is_some_and(|p| p.ends_with("tls/apps-ca.crt"))
    );
}
