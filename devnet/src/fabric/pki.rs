//! Certificates of the test network, generated at start-up: per organisation a self-signed
//! ECDSA P-256 root CA and identities it issues (X.509 leaves with digital-signature key
//! usage, as Fabric's `cryptogen` makes), and a TLS CA issuing the peer's server certificate
//! (for `localhost`, `127.0.0.1` and the peer's host name) and client TLS certificates.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::str::FromStr as _;
use std::time::{Duration, SystemTime};

use causeway_adapters::fabric::{FabricIdentity, SigningIdentity, TlsIdentity};
use der::EncodePem as _;
use der::asn1::{Ia5String, OctetString};
use der::pem::LineEnding;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePrivateKey as _;
use x509_cert::Certificate;
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use crate::{Error, Result};

/// How long generated certificates are valid either side of start-up.
const VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// Random bytes from the OS.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut out);
    out
}

fn random_u64() -> u64 {
    u64::from_be_bytes(random_bytes())
}

/// Maps any error to [`Error::Fabric`] with `context`.
pub(crate) fn err<E: std::fmt::Display>(context: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Fabric {
        context,
        reason: e.to_string(),
    }
}

/// A fresh P-256 key.
pub(crate) fn new_key() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

fn validity(from: SystemTime, to: SystemTime) -> Result<Validity> {
    let time = |t: SystemTime| Time::try_from(t).map_err(err("certificate validity"));
    Ok(Validity {
        not_before: time(from)?,
        not_after: time(to)?,
    })
}

/// The current validity window (a year either side of now).
pub(crate) fn current_validity() -> Result<Validity> {
    let now = SystemTime::now();
    validity(now - VALIDITY, now + VALIDITY)
}

/// A window that ended a year ago (for expired identities).
pub(crate) fn expired_validity() -> Result<Validity> {
    let now = SystemTime::now();
    validity(now - 2 * VALIDITY, now - VALIDITY)
}

fn serial() -> SerialNumber {
    // Positive and non-zero: a random 63-bit value.
    SerialNumber::from((random_u64() >> 1) | 1)
}

/// PEM of a certificate.
pub(crate) fn cert_pem(certificate: &Certificate) -> Result<Vec<u8>> {
    Ok(certificate
        .to_pem(LineEnding::LF)
        .map_err(err("encoding a certificate"))?
        .into_bytes())
}

/// PKCS#8 PEM of a key.
pub(crate) fn key_pem(key: &SigningKey) -> Result<Vec<u8>> {
    Ok(key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(err("encoding a private key"))?
        .as_bytes()
        .to_vec())
}

/// A certificate authority: its key and self-signed certificate.
#[derive(Clone)]
pub(crate) struct Ca {
    key: SigningKey,
    cert: Certificate,
    pem: Vec<u8>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.cert.tbs_certificate.subject.to_string())
            .finish_non_exhaustive()
    }
}

/// What a leaf certificate is for.
pub(crate) enum LeafKind<'a> {
    /// A signing identity (creator, endorser, orderer).
    Identity,
    /// A TLS certificate for these DNS names and IP addresses.
    Tls {
        dns: &'a [&'a str],
        ips: &'a [Ipv4Addr],
    },
}

impl Ca {
    /// A new root CA named `CN=<cn>,O=<org>`.
    pub(crate) fn new(cn: &str, org: &str) -> Result<Self> {
        let key = new_key();
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
            .map_err(err("CA public key"))?;
        let subject = Name::from_str(&format!("CN={cn},O={org}")).map_err(err("CA name"))?;
        let cert = CertificateBuilder::new(
            Profile::Root,
            serial(),
            current_validity()?,
            subject,
            spki,
            &key,
        )
        .map_err(err("CA certificate"))?
        .build::<DerSignature>()
        .map_err(err("signing a CA certificate"))?;
        let pem = cert_pem(&cert)?;
        Ok(Self { key, cert, pem })
    }

    /// The CA certificate, PEM.
    pub(crate) fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// Issues a leaf for `key` named `CN=<cn>,OU=<ou>,O=<org>`.
    pub(crate) fn issue(
        &self,
        key: &SigningKey,
        cn: &str,
        ou: &str,
        org: &str,
        validity: Validity,
        kind: LeafKind<'_>,
    ) -> Result<Certificate> {
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
            .map_err(err("leaf public key"))?;
        let subject =
            Name::from_str(&format!("CN={cn},OU={ou},O={org}")).map_err(err("leaf name"))?;
        let mut builder = CertificateBuilder::new(
            Profile::Leaf {
                issuer: self.cert.tbs_certificate.subject.clone(),
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            serial(),
            validity,
            subject,
            spki,
            &self.key,
        )
        .map_err(err("leaf certificate"))?;
        if let LeafKind::Tls { dns, ips } = kind {
            let mut names = Vec::new();
            for name in dns {
                names.push(GeneralName::DnsName(
                    Ia5String::new(name).map_err(err("TLS DNS name"))?,
                ));
            }
            for ip in ips {
                names.push(GeneralName::IpAddress(
                    OctetString::new(ip.octets().to_vec()).map_err(err("TLS IP address"))?,
                ));
            }
            builder
                .add_extension(&SubjectAltName(names))
                .map_err(err("TLS subject alternative names"))?;
        }
        builder
            .build::<DerSignature>()
            .map_err(err("signing a leaf certificate"))
    }

    /// Issues a signing identity of `mspid` with a fresh key.
    pub(crate) fn issue_identity(
        &self,
        mspid: &str,
        cn: &str,
        ou: &str,
        org: &str,
        validity: Validity,
    ) -> Result<(SigningIdentity, SigningKey, Vec<u8>)> {
        let key = new_key();
        let cert = self.issue(&key, cn, ou, org, validity, LeafKind::Identity)?;
        let pem = cert_pem(&cert)?;
        let identity = FabricIdentity::from_pem(mspid, &pem).map_err(err("identity"))?;
        let signer = SigningIdentity::new(identity, key.clone()).map_err(err("identity"))?;
        Ok((signer, key, pem))
    }

    /// Issues a TLS certificate (server or client) for these names, PEM with its key.
    pub(crate) fn issue_tls(
        &self,
        cn: &str,
        dns: &[&str],
        ips: &[Ipv4Addr],
    ) -> Result<TlsIdentity> {
        let key = new_key();
        let cert = self.issue(
            &key,
            cn,
            "tls",
            "example.com",
            current_validity()?,
            LeafKind::Tls { dns, ips },
        )?;
        Ok(TlsIdentity {
            cert_pem: cert_pem(&cert)?,
            key_pem: key_pem(&key)?.into(),
        })
    }
}

/// Writes an MSP folder in Fabric's layout: `signcerts/cert.pem` and `keystore/key_sk` (when
/// an identity is given), `cacerts/ca.pem`, `tlscacerts/tlsca.pem`.
pub(crate) fn write_msp(
    dir: &Path,
    identity: Option<(&[u8], &SigningKey)>,
    ca_pem: &[u8],
    tls_ca_pem: &[u8],
) -> Result<()> {
    let write = |sub: &str, file: &str, bytes: &[u8]| -> Result<()> {
        let folder = dir.join(sub);
        fs::create_dir_all(&folder).map_err(err("creating an MSP folder"))?;
        fs::write(folder.join(file), bytes).map_err(err("writing an MSP file"))
    };
    if let Some((cert, key)) = identity {
        write("signcerts", "cert.pem", cert)?;
        write("keystore", "key_sk", &key_pem(key)?)?;
    }
    write("cacerts", "ca.pem", ca_pem)?;
    write("tlscacerts", "tlsca.pem", tls_ca_pem)
}
