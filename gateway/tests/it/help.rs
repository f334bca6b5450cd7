//! `causeway --help` lists every environment variable the configuration reads.

use crate::support::{causeway, text};

#[test]
fn help_lists_every_configuration_override() {
    let out = causeway(&["--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        causeway_config::env::VALIDATOR_KEY_FILE,
        causeway_config::env::PRIVACY_KEY_FILE,
        causeway_config::env::TLS_KEY_FILE,
        causeway_config::env::API_TLS_KEY_FILE,
        causeway_config::env::POSTGRES_URL,
        causeway_config::env::POSTGRES_PASSWORD_FILE,
        "CAUSEWAY_CHAIN_<NAME>_SIGNER_KEY_FILE",
        "CAUSEWAY_CHAIN_<NAME>_ENDPOINTS",
        "CAUSEWAY_ANVIL",
        "CAUSEWAY_CONTRACT_ARTIFACTS",
        "RUST_LOG",
    ] {
        assert!(help.contains(var), "{var} is missing from --help:\n{help}");
    }
}
