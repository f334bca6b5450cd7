//! `causeway init`: an organisation's folder with its keys (0600), a TLS certificate request or
//! a self-signed certificate that verify, and a configuration naming it; never overwriting.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{DerSignature, VerifyingKey};
use x509_cert::der::{DecodePem as _, Encode as _};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::support::{causeway, text};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The value after `key = "` on the first line starting with `key` in `block`.
pub(crate) fn value<'a>(block: &'a str, key: &str) -> &'a str {
    block
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no {key} in:\n{block}"))
}

/// The DNS names of a subject-alternative-name extension.
fn dns_names(extension: &x509_cert::ext::Extension) -> Vec<String> {
    let san = <SubjectAltName as x509_cert::der::Decode>::from_der(extension.extn_value.as_bytes())
        .unwrap();
    san.0
        .iter()
        .filter_map(|n| match n {
            GeneralName::DnsName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn init_makes_keys_a_verifiable_request_and_a_config_naming_the_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let gw = dir.path().join("acme");
    let gw_arg = gw.to_str().unwrap();
    let out = causeway(&[
        "init",
        "--org",
        "acme",
        "--dir",
        gw_arg,
        "--peer-endpoint",
        "https://gw.acme.example:7443",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();

    // Secrets are 0600, never printed; their public halves are what the entry says.
    for key in ["keys/validator.key", "keys/privacy.key", "tls/gateway.key"] {
        assert_eq!(mode(&gw.join(key)), 0o600, "{key}");
        let secret = std::fs::read_to_string(gw.join(key)).unwrap();
        let body: String = secret.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!stdout.contains(body.trim()), "{key} printed");
    }
    assert_eq!(mode(&gw), 0o700);
    let entry = &stdout[stdout.find("[[members]]").expect("the member entry")..];
    assert_eq!(value(entry, "name"), "acme");
    assert_eq!(
        value(entry, "peer_endpoint"),
        "https://gw.acme.example:7443"
    );
    let shown = causeway(&[
        "keys",
        "show",
        "validator",
        &format!("{gw_arg}/keys/validator.key"),
    ]);
    assert!(
        text(&shown).contains(value(entry, "validator_address")),
        "{}",
        text(&shown)
    );
    let shown = causeway(&[
        "keys",
        "show",
        "privacy",
        &format!("{gw_arg}/keys/privacy.key"),
    ]);
    assert!(
        text(&shown).contains(value(entry, "privacy_public_key")),
        "{}",
        text(&shown)
    );

    // The certificate request names the host and is signed by the TLS key.
    let csr = std::fs::read_to_string(gw.join("tls/gateway.csr")).unwrap();
    let request = x509_cert::request::CertReq::from_pem(csr.as_bytes()).unwrap();
    let key = VerifyingKey::from_sec1_bytes(
        request
            .info
            .public_key
            .subject_public_key
            .as_bytes()
            .unwrap(),
    )
    .unwrap();
    let signature = DerSignature::try_from(request.signature.as_bytes().unwrap()).unwrap();
    key.verify(&request.info.to_der().unwrap(), &signature)
        .expect("the request's signature verifies");
    let tls_key = std::fs::read_to_string(gw.join("tls/gateway.key")).unwrap();
    let secret =
        <p256::SecretKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_pem(&tls_key).unwrap();
    assert_eq!(
        VerifyingKey::from(&p256::ecdsa::SigningKey::from(secret)),
        key
    );
    let requested = request
        .info
        .attributes
        .iter()
        .flat_map(|a| a.values.iter())
        .flat_map(|v| {
            <Vec<x509_cert::ext::Extension> as x509_cert::der::Decode>::from_der(
                &v.to_der().unwrap(),
            )
            .unwrap()
        })
        .flat_map(|e| dns_names(&e))
        .collect::<Vec<_>>();
    assert_eq!(requested, ["gw.acme.example"]);

    // The configuration is this organisation's: its name, key address, privacy key, endpoint.
    let config = std::fs::read_to_string(gw.join("causeway.toml")).unwrap();
    assert!(config.contains("organisation = \"acme\""));
    let first = &config[config.find("[[members]]").unwrap()..];
    assert_eq!(value(first, "name"), "acme");
    assert_eq!(
        value(first, "validator_address"),
        value(entry, "validator_address")
    );
    assert_eq!(
        value(first, "privacy_public_key"),
        value(entry, "privacy_public_key")
    );
    assert_eq!(
        value(first, "peer_endpoint"),
        "https://gw.acme.example:7443"
    );
    assert!(config.contains("name = \"org2\" # EXAMPLE"));
    assert!(!config.contains("org1"), "org1 left in the configuration");

    // Never overwritten: a second run writes nothing and says so.
    let before = std::fs::read(gw.join("keys/validator.key")).unwrap();
    let again = causeway(&["init", "--org", "acme", "--dir", gw_arg]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("never overwrites"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read(gw.join("keys/validator.key")).unwrap(),
        before
    );
}

#[test]
fn a_self_signed_certificate_is_an_end_entity_for_the_host_signed_by_the_tls_key() {
    let dir = tempfile::tempdir().unwrap();
    let gw = dir.path().join("solo");
    let out = causeway(&[
        "init",
        "--org",
        "solo",
        "--dir",
        gw.to_str().unwrap(),
        "--self-signed",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!gw.join("tls/gateway.csr").exists());
    let pem = std::fs::read_to_string(gw.join("tls/gateway.crt")).unwrap();
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes()).unwrap();
    let tbs = &cert.tbs_certificate;
    assert_eq!(tbs.subject, tbs.issuer, "self-issued");
    let key = VerifyingKey::from_sec1_bytes(
        tbs.subject_public_key_info
            .subject_public_key
            .as_bytes()
            .unwrap(),
    )
    .unwrap();
    let signature = DerSignature::try_from(cert.signature.as_bytes().unwrap()).unwrap();
    key.verify(&tbs.to_der().unwrap(), &signature)
        .expect("signed by its own key");
    let extensions = tbs.extensions.as_deref().unwrap_or_default();
    let names: Vec<String> = extensions
        .iter()
        .filter(|e| e.extn_id == x509_cert::der::oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
        .flat_map(dns_names)
        .collect();
    assert_eq!(names, ["localhost"]);
    // Not a CA: TLS libraries refuse a CA certificate as a peer's own.
    for e in extensions
        .iter()
        .filter(|e| e.extn_id == x509_cert::der::oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS)
    {
        let bc = <x509_cert::ext::pkix::BasicConstraints as x509_cert::der::Decode>::from_der(
            e.extn_value.as_bytes(),
        )
        .unwrap();
        assert!(!bc.ca, "a CA certificate");
    }
    let lifetime =
        tbs.validity.not_after.to_unix_duration() - tbs.validity.not_before.to_unix_duration();
    assert_eq!(lifetime.as_secs(), 365 * 24 * 3600);

    // With the files only the consortium can supply (its CA, the chains' signer keys and the
    // anchoring account's key), the configuration loads: its own validator and privacy keys
    // match its own member entry.
    std::fs::copy(gw.join("tls/gateway.crt"), gw.join("tls/consortium-ca.crt")).unwrap();
    for key in ["evm-a-signer", "evm-b-signer", "evm-a-anchor"] {
        let out = causeway(&[
            "keys",
            "generate",
            "validator",
            "--out",
            gw.join(format!("keys/{key}.key")).to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let config = causeway_config::Config::load(gw.join("causeway.toml"))
        .unwrap_or_else(|e| panic!("the made configuration does not load:\n{e}"));
    assert_eq!(config.gateway().organisation, "solo");
}

#[test]
fn a_bad_name_or_endpoint_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (vec!["--org", "Acme Corp"], "lower-case letters"),
        (
            vec!["--org", "acme", "--peer-endpoint", "http://gw:7443"],
            "https://host:port",
        ),
    ] {
        let gw = dir.path().join("bad");
        let mut all = vec!["init", "--dir", gw.to_str().unwrap()];
        all.extend(args);
        let out = causeway(&all);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(says), "{}", text(&out));
        assert!(!gw.exists(), "nothing written");
    }
}
