//! The consortium's test PKI, for the peer protocol's tests and `causeway devnet`: a CA
//! ([`ConsortiumCa`]) that issues member gateways' certificates ([`GatewayCert`]): ECDSA P-256,
//! extended key usage serverAuth and clientAuth (a gateway is both server and client of mutual
//! TLS), the gateway's DNS names (and IP addresses) as subject alternative names, a chosen
//! validity. Certificates come from the one test-certificate builder,
//! `causeway_proofs::fabric::testkit`; they are written as PEM files (keys owner-only).

use std::fs;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use causeway_proofs::fabric::testkit::{self, CertSpec};
use der::Encode as _;
use der::asn1::OctetString;
use der::oid::ObjectIdentifier;
use der::pem::LineEnding;
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::EncodePrivateKey as _;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::time::Validity;

use crate::{Error, Result};

/// `id-kp-serverAuth` (RFC 5280 §4.2.1.12).
const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// `id-kp-clientAuth`.
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
/// `id-ce-extKeyUsage`.
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");

fn pki_error(context: &'static str) -> impl Fn(&dyn std::fmt::Display) -> Error {
    move |e| Error::Pki {
        context,
        reason: e.to_string(),
    }
}

/// What a gateway certificate says: its organisation, names and validity.
#[derive(Clone, Debug)]
pub struct GatewayCertSpec {
    organisation: String,
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    validity: Validity,
}

impl GatewayCertSpec {
    /// A certificate of `organisation`'s gateway named `dns_name`, valid from a year ago to a
    /// year ahead.
    pub fn new(organisation: &str, dns_name: &str) -> Self {
        GatewayCertSpec {
            organisation: organisation.to_owned(),
            dns: vec![dns_name.to_owned()],
            ips: Vec::new(),
            validity: testkit::current(),
        }
    }

    /// With the DNS name `name` too.
    pub fn dns(mut self, name: &str) -> Self {
        self.dns.push(name.to_owned());
        self
    }

    /// With the IP address `ip` among its names.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ips.push(ip);
        self
    }

    /// Valid from `not_before` to `not_after`.
    pub fn valid_between(mut self, not_before: SystemTime, not_after: SystemTime) -> Self {
        self.validity = testkit::validity(not_before, not_after);
        self
    }

    /// Expired yesterday (for refusal tests).
    pub fn expired(mut self) -> Self {
        self.validity = testkit::expired();
        self
    }
}

/// A gateway's certificate and private key, PEM.
pub struct GatewayCert {
    /// The certificate (PEM).
    pub cert_pem: Vec<u8>,
    /// The PKCS#8 private key (PEM), wiped when dropped.
    pub key_pem: Zeroizing<String>,
}

impl std::fmt::Debug for GatewayCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayCert")
            .field("cert_pem", &String::from_utf8_lossy(&self.cert_pem))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl GatewayCert {
    /// Writes `<dir>/<stem>.crt` and `<dir>/<stem>.key` (the key owner-only, 0600) and returns
    /// their paths.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf)> {
        let cert = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        fs::write(&cert, &self.cert_pem).map_err(|e| pki_error("writing a certificate")(&e))?;
        write_private(&key, self.key_pem.as_bytes())?;
        Ok((cert, key))
    }
}

/// Writes `bytes` to a new file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| pki_error("creating a key file")(&e))?;
    file.write_all(bytes)
        .map_err(|e| pki_error("writing a key file")(&e))
}

/// A consortium's certificate authority for gateway TLS certificates (ECDSA P-256).
#[derive(Clone, Debug)]
pub struct ConsortiumCa {
    ca: testkit::Ca,
}

impl ConsortiumCa {
    /// A new root CA named `CN=<name> CA,O=<name>`, valid from a year ago to a year ahead.
    pub fn new(name: &str) -> Self {
        ConsortiumCa {
            ca: testkit::Ca::new(&format!("CN={name} CA,O={name}")),
        }
    }

    /// The CA certificate, PEM (what members configure as `tls.ca_file`).
    pub fn ca_pem(&self) -> Vec<u8> {
        self.ca.pem()
    }

    /// Writes the CA certificate to `path`.
    pub fn write_ca(&self, path: &Path) -> Result<()> {
        fs::write(path, self.ca_pem()).map_err(|e| pki_error("writing the CA certificate")(&e))
    }

    /// Issues a gateway certificate with a fresh key.
    pub fn issue(&self, spec: &GatewayCertSpec) -> Result<GatewayCert> {
        let usage = ExtendedKeyUsage(vec![SERVER_AUTH, CLIENT_AUTH])
            .to_der()
            .map_err(|e| pki_error("encoding the extended key usage")(&e))?;
        let extension = Extension {
            extn_id: EXT_KEY_USAGE,
            critical: false,
            extn_value: OctetString::new(usage)
                .map_err(|e| pki_error("encoding the extended key usage")(&e))?,
        };
        let subject = format!(
            "CN={},OU=gateway,O={}",
            spec.dns
                .first()
                .map_or(spec.organisation.as_str(), String::as_str),
            spec.organisation
        );
        let mut cert_spec = CertSpec::new(subject)
            .validity(spec.validity)
            .extension(extension);
        for name in &spec.dns {
            cert_spec = cert_spec.dns(name);
        }
        for ip in &spec.ips {
            cert_spec = cert_spec.ip(*ip);
        }
        let key = testkit::key();
        let certificate = self.ca.issue(&cert_spec, &key);
        let key_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| pki_error("encoding a private key")(&e))?;
        Ok(GatewayCert {
            cert_pem: testkit::pem(&certificate),
            key_pem,
        })
    }
}
