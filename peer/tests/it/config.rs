//! `PeerConfig::from_config`: a gateway's configuration file gives the peer protocol its
//! identity, its listener and every member's endpoint and trust.

use std::path::Path;

use causeway_config::{Config, NoEnv};
use causeway_devnet::pki::{ConsortiumCa, GatewayCertSpec};
use causeway_peer::{Error, PeerConfig, PeerEndpoint};
use rustls::pki_types::ServerName;

const TOML: &str = r#"
[gateway]
organisation = "org1"
validator_key_file = "keys/validator.key"
privacy_key_file = "keys/privacy.key"
peer_listen = "127.0.0.1:7443"
tls = { cert_file = "tls/gateway.crt", key_file = "tls/gateway.key" }

[[members]]
name = "org1"
validator_address = "0x1a642f0e3c3af545e7acbd38b07251b3990914f1"
privacy_public_key = "e06Qm75//kTEZaIgA31gjuNYl9Me+XLwf3SJLLD3PxM="
peer_endpoint = "https://gateway.org1.example:7443"
tls = { ca_file = "tls/ca.crt" }

[[members]]
name = "org2"
validator_address = "0x5050a4f4b3f9338c3472dcc01a87c76a144b3c9c"
privacy_public_key = "BSpQdzrI2Rdz8tyWYuEvDe/pFeQVuKHI4gpaPWqyuEM="
peer_endpoint = "https://gateway.org2.example:7444"
tls = { ca_file = "tls/ca.crt", cert_file = "tls/org2.crt" }

[[members]]
name = "org3"
validator_address = "0x3325a78425f17a7e487eb5666b2bfd93abb06c70"
privacy_public_key = "GX/CxWfcA+4qrfDthmgdrCTap26DylVYdd075zduUwY="
peer_endpoint = "https://10.0.0.3"
tls = { ca_file = "tls/ca.crt", server_name = "org3.causeway.test" }

[chains.evm-a]
domain = 1001
family = "evm"
chain_id = 1338
endpoints = ["http://127.0.0.1:8545"]
finality = { confirmations = 12 }
outbox = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
inbox = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
signer_key_files = ["keys/evm-a-signer.key"]

[chains.evm-b]
domain = 1002
family = "evm"
chain_id = 1339
endpoints = ["http://127.0.0.1:8546"]
finality = { tag = "finalized" }
outbox = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
inbox = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"

[lanes.evm-a-to-evm-b]
origin = "evm-a"
destination = "evm-b"
validators = ["org1", "org2", "org3"]
threshold = 2
"#;

fn write(dir: &Path, rel: &str, contents: &[u8], secret: bool) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, contents).unwrap();
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// A gateway folder for `TOML`; `gateway_key` is the TLS key written for org1's certificate.
fn folder(gateway_key: Option<&[u8]>) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let ca = ConsortiumCa::new("consortium");
    let org1 = ca
        .issue(&GatewayCertSpec::new("org1", "gateway.org1.example"))
        .unwrap();
    let org2 = ca
        .issue(&GatewayCertSpec::new("org2", "gateway.org2.example"))
        .unwrap();
    write(
        dir.path(),
        "keys/validator.key",
        "01".repeat(32).as_bytes(),
        true,
    );
    write(
        dir.path(),
        "keys/privacy.key",
        "11".repeat(32).as_bytes(),
        true,
    );
    write(
        dir.path(),
        "keys/evm-a-signer.key",
        "09".repeat(32).as_bytes(),
        true,
    );
    write(dir.path(), "tls/gateway.crt", &org1.cert_pem, false);
    write(
        dir.path(),
        "tls/gateway.key",
        gateway_key.unwrap_or(org1.key_pem.as_bytes()),
        true,
    );
    write(dir.path(), "tls/ca.crt", &ca.ca_pem(), false);
    write(dir.path(), "tls/org2.crt", &org2.cert_pem, false);
    write(dir.path(), "gateway.toml", TOML.as_bytes(), false);
    let config = Config::load_with_env(dir.path().join("gateway.toml"), &NoEnv)
        .unwrap_or_else(|e| panic!("the test configuration loads:\n{e}"));
    (dir, config)
}

#[test]
fn a_gateway_configuration_gives_the_peer_protocol_everything_it_needs() {
    let (_dir, config) = folder(None);
    let peer = PeerConfig::from_config(&config).expect("peer settings");
    assert_eq!(peer.listen(), "127.0.0.1:7443".parse().unwrap());
    assert_eq!(peer.own().name, "org1");
    let others: Vec<_> = peer
        .others()
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.endpoint.clone(),
                m.trust.server_name().clone(),
            )
        })
        .collect();
    assert_eq!(
        others,
        vec![
            (
                "org2",
                PeerEndpoint::new("gateway.org2.example", 7444),
                ServerName::try_from("gateway.org2.example").unwrap()
            ),
            (
                "org3",
                PeerEndpoint::new("10.0.0.3", 443),
                ServerName::try_from("org3.causeway.test").unwrap()
            ),
        ]
    );
    assert_eq!(
        peer.others()[0].validator,
        "0x5050a4f4b3f9338c3472dcc01a87c76a144b3c9c"
            .parse()
            .unwrap()
    );
}

#[test]
fn a_tls_key_that_is_not_the_certificates_is_named_as_such() {
    let other = ConsortiumCa::new("other")
        .issue(&GatewayCertSpec::new("org1", "gateway.org1.example"))
        .unwrap();
    let (_dir, config) = folder(Some(other.key_pem.as_bytes()));
    let err = PeerConfig::from_config(&config).expect_err("mismatched key");
    assert!(matches!(err, Error::KeyMismatch), "{err}");
    assert!(err.to_string().contains("gateway.tls.key_file"), "{err}");
}
