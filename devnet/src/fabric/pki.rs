//! Certificates of the test network, generated at start-up with the one test-certificate
//! builder (`causeway_proofs::fabric::testkit`): per organisation a self-signed ECDSA P-256
//! root CA and identities it issues (X.509 leaves with digital-signature key usage, as Fabric's
//! `cryptogen` makes), and a TLS CA issuing the peer's server certificate (for `localhost`,
//! `127.0.0.1` and the peer's host name) and client TLS certificates.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::SystemTime;

use causeway_adapters::fabric::{FabricIdentity, SigningIdentity, TlsIdentity};
use causeway_proofs::fabric::testkit::{self, CertSpec, year};
use der::pem::LineEnding;
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey as _;
use x509_cert::time::Validity;

use crate::{Error, Result};

/// Random bytes from the OS.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut out);
    out
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
    testkit::key()
}

/// The current validity window (a year either side of now).
pub(crate) fn current_validity() -> Result<Validity> {
    Ok(testkit::current())
}

/// A window that ended a year ago (for expired identities).
pub(crate) fn expired_validity() -> Result<Validity> {
    let now = SystemTime::now();
    Ok(testkit::validity(now - 2 * year(), now - year()))
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
#[derive(Clone, Debug)]
pub(crate) struct Ca {
    ca: testkit::Ca,
    pem: Vec<u8>,
}

impl Ca {
    /// A new root CA named `CN=<cn>,O=<org>`.
    pub(crate) fn new(cn: &str, org: &str) -> Result<Self> {
        let ca = testkit::Ca::new(&format!("CN={cn},O={org}"));
        let pem = ca.pem();
        Ok(Self { ca, pem })
    }

    /// The CA certificate, PEM.
    pub(crate) fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// Issues a signing identity of `mspid` named `CN=<cn>,OU=<ou>,O=<org>` with a fresh key.
    pub(crate) fn issue_identity(
        &self,
        mspid: &str,
        cn: &str,
        ou: &str,
        org: &str,
        validity: Validity,
    ) -> Result<(SigningIdentity, SigningKey, Vec<u8>)> {
        let key = new_key();
        let spec = CertSpec::new(format!("CN={cn},OU={ou},O={org}")).validity(validity);
        let pem = testkit::pem(&self.ca.issue(&spec, &key));
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
        let mut spec = CertSpec::new(format!("CN={cn},OU=tls,O=example.com"));
        for name in dns {
            spec = spec.dns(name);
        }
        for ip in ips {
            spec = spec.ip(*ip);
        }
        Ok(TlsIdentity {
            cert_pem: testkit::pem(&self.ca.issue(&spec, &key)),
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
