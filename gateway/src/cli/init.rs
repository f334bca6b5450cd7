//! `causeway init`: one organisation's gateway folder, ready to fill in: its validator,
//! privacy and TLS keys (mode 0600), a certificate request for the consortium's CA (or a
//! self-signed certificate), and a configuration made from the reference example with this
//! organisation's own values; then it prints what the other members need.
//!
//! Nothing is overwritten: if any file it would write exists, it writes none.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use anyhow::{Context, Result};
use causeway_proofs::attestation::ValidatorKey;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePrivateKey as _;
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile, RequestBuilder};
use x509_cert::der::EncodePem as _;
use x509_cert::der::asn1::Ia5String;
use x509_cert::der::pem::LineEnding;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;
use zeroize::Zeroizing;

use super::keys::write_secret_file;

/// The reference configuration the new one is made from.
const REFERENCE: &str = include_str!("../../../config/examples/gateway.toml");

/// How long a self-signed certificate is valid.
const SELF_SIGNED_FOR: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// `causeway init`
#[derive(clap::Args, Debug)]
pub(crate) struct InitArgs {
    /// The organisation's name in the consortium (lower-case letters, digits and '-', starting
    /// with a letter).
    #[arg(long)]
    org: String,
    /// The folder to set up (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Where the other gateways will reach this one (https://host:port).
    #[arg(long, default_value = "https://localhost:7443")]
    peer_endpoint: String,
    /// Write a self-signed TLS certificate instead of a certificate request for the
    /// consortium's CA (for trials; members then pin each other's certificates).
    #[arg(long)]
    self_signed: bool,
}

/// The files `init` writes, relative to the folder.
struct Layout {
    validator: PathBuf,
    privacy: PathBuf,
    tls_key: PathBuf,
    tls_cert_or_request: PathBuf,
    config: PathBuf,
}

impl Layout {
    fn new(dir: &Path, self_signed: bool) -> Self {
        Layout {
            validator: dir.join("keys/validator.key"),
            privacy: dir.join("keys/privacy.key"),
            tls_key: dir.join("tls/gateway.key"),
            tls_cert_or_request: dir.join(if self_signed {
                "tls/gateway.crt"
            } else {
                "tls/gateway.csr"
            }),
            config: dir.join("causeway.toml"),
        }
    }

    fn all(&self) -> [&Path; 5] {
        [
            &self.validator,
            &self.privacy,
            &self.tls_key,
            &self.tls_cert_or_request,
            &self.config,
        ]
    }
}

pub(crate) fn run(args: &InitArgs) -> Result<()> {
    check_name(&args.org)?;
    let host = endpoint_host(&args.peer_endpoint)?;
    let layout = Layout::new(&args.dir, args.self_signed);
    let existing: Vec<String> = layout
        .all()
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    anyhow::ensure!(
        existing.is_empty(),
        "{} already exist(s); init never overwrites: choose another --dir or move them away",
        existing.join(", ")
    );
    for sub in ["", "keys", "tls"] {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(args.dir.join(sub))
            .with_context(|| format!("while creating {}", args.dir.join(sub).display()))?;
    }

    let validator = ValidatorKey::generate(&mut rand_core::OsRng);
    let text = Zeroizing::new(format!("0x{}\n", hex::encode(*validator.secret_bytes())));
    write_secret_file(&layout.validator, text.as_bytes())?;
    let privacy = causeway_privacy::keys::KeyPair::generate();
    privacy.write_to_file(&layout.privacy)?;

    let tls = SigningKey::random(&mut rand_core::OsRng);
    let pem = tls
        .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the TLS key: {e}"))?;
    write_secret_file(&layout.tls_key, pem.as_bytes())?;
    let subject = Name::from_str(&format!("CN={host},O={}", args.org))
        .with_context(|| format!("{host} cannot be a certificate's common name"))?;
    let names = SubjectAltName(vec![GeneralName::DnsName(
        Ia5String::new(&host).with_context(|| format!("{host} is not an ASCII host name"))?,
    )]);
    let tls_pem = if args.self_signed {
        self_signed(&tls, subject, names)?
    } else {
        let mut request = RequestBuilder::new(subject, &tls)
            .map_err(|e| anyhow::anyhow!("cannot start the certificate request: {e}"))?;
        request
            .add_extension(&names)
            .map_err(|e| anyhow::anyhow!("cannot name {host} in the request: {e}"))?;
        request
            .build::<DerSignature>()
            .map_err(|e| anyhow::anyhow!("cannot sign the certificate request: {e}"))?
            .to_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("cannot encode the certificate request: {e}"))?
    };
    std::fs::write(&layout.tls_cert_or_request, tls_pem)
        .with_context(|| format!("while writing {}", layout.tls_cert_or_request.display()))?;

    let address = format!("0x{}", hex::encode(validator.address().0));
    let public = privacy.public_key().to_base64();
    let config = configure(&args.org, &address, &public, &args.peer_endpoint, &host);
    std::fs::write(&layout.config, config)
        .with_context(|| format!("while writing {}", layout.config.display()))?;

    println!("{} is ready:", args.dir.display());
    for path in layout.all() {
        println!("  {}", path.display());
    }
    if !args.self_signed {
        println!(
            "Have the consortium's CA sign {} and save the certificate as tls/gateway.crt.",
            layout.tls_cert_or_request.display()
        );
    }
    println!("Give the other members this entry for their [[members]]:\n");
    print!(
        "{}",
        member_entry(&args.org, &address, &public, &args.peer_endpoint)
    );
    println!(
        "\nThen replace the other members (marked EXAMPLE), the chains and the lanes in {} with \
         your consortium's.",
        layout.config.display()
    );
    Ok(())
}

/// A self-signed end-entity certificate (not a CA: TLS libraries refuse a CA certificate as a
/// peer's own), valid for a year from now.
fn self_signed(key: &SigningKey, subject: Name, names: SubjectAltName) -> Result<String> {
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
        .map_err(|e| anyhow::anyhow!("cannot encode the TLS public key: {e}"))?;
    let mut serial = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut serial);
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial)
        .map_err(|e| anyhow::anyhow!("cannot make a serial number: {e}"))?;
    let validity = Validity::from_now(SELF_SIGNED_FOR)
        .map_err(|e| anyhow::anyhow!("cannot date the certificate: {e}"))?;
    let mut builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        serial,
        validity,
        subject,
        spki,
        key,
    )
    .map_err(|e| anyhow::anyhow!("cannot start the certificate: {e}"))?;
    builder
        .add_extension(&names)
        .map_err(|e| anyhow::anyhow!("cannot name the host in the certificate: {e}"))?;
    builder
        .build::<DerSignature>()
        .map_err(|e| anyhow::anyhow!("cannot sign the certificate: {e}"))?
        .to_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the certificate: {e}"))
}

/// Names of members: lower-case letters, digits and '-', starting with a letter (the
/// configuration's own rule).
fn check_name(name: &str) -> Result<()> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    anyhow::ensure!(
        ok,
        "--org {name:?}: use lower-case letters, digits and '-', starting with a letter (at most \
         63 characters), e.g. --org org1"
    );
    Ok(())
}

/// The host of an `https://host:port` endpoint.
fn endpoint_host(endpoint: &str) -> Result<String> {
    let rest = endpoint.strip_prefix("https://").with_context(|| {
        format!("--peer-endpoint {endpoint}: gateways talk over TLS: give https://host:port")
    })?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _port)| host);
    anyhow::ensure!(
        !host.is_empty() && !host.starts_with('['),
        "--peer-endpoint {endpoint}: give a host name, as https://gateway.example:7443"
    );
    Ok(host.to_owned())
}

/// This organisation's `[[members]]` entry.
fn member_entry(org: &str, address: &str, public: &str, endpoint: &str) -> String {
    format!(
        "[[members]]\nname = \"{org}\"\nvalidator_address = \"{address}\"\n\
         privacy_public_key = \"{public}\"\npeer_endpoint = \"{endpoint}\"\n"
    )
}

/// The reference example with this organisation in the place of its first member, `org1`,
/// everywhere (the other members' entries stay as examples, marked to be replaced).
fn configure(org: &str, address: &str, public: &str, endpoint: &str, host: &str) -> String {
    let header = format!(
        "# Made by `causeway init --org {org}` from the reference example. Replace the other\n\
         # members (marked EXAMPLE), the chains and the lanes with your consortium's.\n\n"
    );
    let text = REFERENCE.replacen(
        "organisation = \"org1\"",
        &format!("organisation = \"{org}\""),
        1,
    );
    let first = text.find("[[members]]").unwrap_or(text.len());
    let (head, members) = text.split_at(first);
    let members = members
        .replacen("name = \"org1\"", &format!("name = \"{org}\""), 1)
        .replacen(
            "validator_address = \"0x1a642f0e3c3af545e7acbd38b07251b3990914f1\"",
            &format!("validator_address = \"{address}\""),
            1,
        )
        .replacen(
            "privacy_public_key = \"e06Qm75//kTEZaIgA31gjuNYl9Me+XLwf3SJLLD3PxM=\"",
            &format!("privacy_public_key = \"{public}\""),
            1,
        )
        .replacen(
            "peer_endpoint = \"https://gateway.org1.example:7443\"",
            &format!("peer_endpoint = \"{endpoint}\""),
            1,
        )
        .replacen(
            "server_name = \"gateway.org1.example\"",
            &format!("server_name = \"{host}\""),
            1,
        )
        .replace("name = \"org2\"", "name = \"org2\" # EXAMPLE")
        .replace("name = \"org3\"", "name = \"org3\" # EXAMPLE");
    // Everything else that named org1 (the lanes' validators, custody, comments) names `org`.
    format!("{header}{head}{members}").replace("org1", org)
}
