//! The one builder of test certificates: [`Ca`], a P-256 root CA, issues leaves described by a
//! [`CertSpec`] (subject, serial, validity, TLS names, extra extensions), as Fabric's
//! `cryptogen` would. Tests that need odd certificates (expired, an OU in another string type,
//! an unknown critical extension) say so in the spec.

use std::net::IpAddr;
use std::str::FromStr as _;

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use x509_cert::Certificate;
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::der::asn1::{BitString, Ia5String, OctetString};
use x509_cert::der::pem::LineEnding;
use x509_cert::der::{Encode as _, EncodePem as _};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use super::current;
use crate::fabric::{FabricIdentity, SigningIdentity};

/// A fresh P-256 key.
pub fn key() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

/// PEM of a certificate.
pub fn pem(certificate: &Certificate) -> Vec<u8> {
    certificate.to_pem(LineEnding::LF).unwrap().into_bytes()
}

/// What a certificate says: its subject (RFC 4514 text, e.g. `CN=peer0,OU=peer,O=Org1`; an
/// attribute may be `#` and the hex of its DER value, for other string types), serial, validity,
/// TLS subject alternative names and extensions added as they are.
#[derive(Clone, Debug)]
pub struct CertSpec {
    subject: String,
    serial: u64,
    validity: Validity,
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    extensions: Vec<Extension>,
}

impl CertSpec {
    /// A certificate for `subject`, valid now ([`current`]), with a random serial.
    pub fn new(subject: impl Into<String>) -> Self {
        let mut serial = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut serial);
        Self {
            subject: subject.into(),
            // Positive and non-zero: a random 63-bit value.
            serial: (u64::from_be_bytes(serial) >> 1) | 1,
            validity: current(),
            dns: Vec::new(),
            ips: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// With serial number `serial`.
    pub fn serial(mut self, serial: u64) -> Self {
        self.serial = serial;
        self
    }

    /// Valid for `validity`.
    pub fn validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }

    /// With the DNS name `name` among its subject alternative names.
    pub fn dns(mut self, name: &str) -> Self {
        self.dns.push(name.to_owned());
        self
    }

    /// With the IP address `ip` among its subject alternative names.
    pub fn ip(mut self, ip: impl Into<IpAddr>) -> Self {
        self.ips.push(ip.into());
        self
    }

    /// With `extension` added as it is (critical or not, known or not).
    pub fn extension(mut self, extension: Extension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// The certificate for `subject_key`, signed by `issuer_key`: a root when `issuer` is
    /// `None`, else a leaf (digital-signature key usage) of `issuer`.
    fn sign(
        &self,
        issuer: Option<&Certificate>,
        issuer_key: &SigningKey,
        subject_key: &SigningKey,
    ) -> Certificate {
        let profile = match issuer {
            None => Profile::Root,
            Some(issuer) => Profile::Leaf {
                issuer: issuer.tbs_certificate.subject.clone(),
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
        };
        let spki = SubjectPublicKeyInfoOwned::from_key(*subject_key.verifying_key()).unwrap();
        let mut builder = CertificateBuilder::new(
            profile,
            SerialNumber::from(self.serial),
            self.validity,
            Name::from_str(&self.subject).unwrap(),
            spki,
            issuer_key,
        )
        .unwrap();
        let dns = self
            .dns
            .iter()
            .map(|name| Ia5String::new(name).map(GeneralName::DnsName));
        let ips = self.ips.iter().map(|ip| {
            let octets = match ip {
                IpAddr::V4(ip) => ip.octets().to_vec(),
                IpAddr::V6(ip) => ip.octets().to_vec(),
            };
            OctetString::new(octets).map(GeneralName::IpAddress)
        });
        let names = dns.chain(ips).collect::<Result<Vec<_>, _>>().unwrap();
        if !names.is_empty() {
            builder.add_extension(&SubjectAltName(names)).unwrap();
        }
        let mut certificate = builder.build::<DerSignature>().unwrap();
        if !self.extensions.is_empty() {
            // The builder takes only extensions it knows the type of: add these to the signed
            // part as they are, and sign it again.
            certificate
                .tbs_certificate
                .extensions
                .get_or_insert_with(Vec::new)
                .extend(self.extensions.iter().cloned());
            let tbs = certificate.tbs_certificate.to_der().unwrap();
            let signature: p256::ecdsa::Signature = issuer_key.sign(&tbs);
            certificate.signature = BitString::from_bytes(signature.to_der().as_bytes()).unwrap();
        }
        certificate
    }
}

/// A certificate authority: a P-256 key and its self-signed root certificate.
#[derive(Clone)]
pub struct Ca {
    key: SigningKey,
    certificate: Certificate,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field(
                "subject",
                &self.certificate.tbs_certificate.subject.to_string(),
            )
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// A root CA named `subject`, valid now, with a fresh key.
    pub fn new(subject: &str) -> Self {
        Self::from_spec(&CertSpec::new(subject), key())
    }

    /// A root CA of `key` whose certificate says what `spec` says.
    pub fn from_spec(spec: &CertSpec, key: SigningKey) -> Self {
        let certificate = spec.sign(None, &key, &key);
        Self { key, certificate }
    }

    /// The CA's key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The CA's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> Vec<u8> {
        pem(&self.certificate)
    }

    /// A leaf certificate for `key` saying what `spec` says, issued by this CA.
    pub fn issue(&self, spec: &CertSpec, key: &SigningKey) -> Certificate {
        spec.sign(Some(&self.certificate), &self.key, key)
    }

    /// A signing identity of `mspid` with a fresh key and a certificate from [`Ca::issue`].
    pub fn identity(&self, mspid: &str, spec: &CertSpec) -> SigningIdentity {
        let key = key();
        let certificate = self.issue(spec, &key);
        SigningIdentity::new(
            FabricIdentity::from_pem(mspid, &pem(&certificate)).unwrap(),
            key,
        )
        .unwrap()
    }
}
