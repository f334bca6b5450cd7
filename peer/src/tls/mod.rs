//! Mutual TLS between member gateways: this gateway's identity ([`TlsIdentity`]), how each
//! member is recognised ([`MemberTrust`]), and the rustls configurations built from them.
//!
//! Security decisions, each next to its code:
//! - TLS 1.3 only, ring as the crypto provider, ALPN `h2`.
//! - No session resumption on either side: every connection presents and checks the full
//!   certificate, so a member removed from the configuration (or whose certificate expired)
//!   cannot come back through a resumed session.
//! - The server's client-certificate verifier accepts a certificate only if it matches exactly
//!   one configured member other than this gateway ([`verify::MembersVerifier`]); the client's
//!   server-certificate verifier accepts only the member it meant to reach
//!   ([`verify::MemberServerVerifier`]). Both refuse during the handshake, before any gRPC.

pub(crate) mod verify;

use std::fmt;
use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::{Error, Result};

/// Longest certificate or key file read (PEM of a short chain is a few KiB).
const MAX_PEM_FILE_LEN: u64 = 256 * 1024;

/// The ALPN protocol of gRPC.
const ALPN_H2: &[u8] = b"h2";

/// The crypto provider of the peer protocol: ring, whatever the process default is.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn tls_error(e: impl fmt::Display) -> Error {
    Error::Tls {
        reason: e.to_string(),
    }
}

/// Reads at most [`MAX_PEM_FILE_LEN`] bytes of a regular file (never a FIFO or a device).
fn read_pem_file(what: &str, path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let unreadable = |e: std::io::Error| Error::ReadFile {
        what: what.to_owned(),
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let file = causeway_config::open_regular_file(path).map_err(unreadable)?;
    // Allocated once, so no reallocation leaves a copy of a key behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_PEM_FILE_LEN as usize + 1));
    file.take(MAX_PEM_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_PEM_FILE_LEN {
        return Err(Error::Pem {
            what: format!("{what} {}", path.display()),
            reason: format!("the file is larger than {MAX_PEM_FILE_LEN} bytes"),
            fix: "point the setting at a PEM file holding only the certificates or the key",
        });
    }
    Ok(bytes)
}

/// Every certificate of a PEM text, in order; at least one.
fn certificates(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Pem {
            what: what.to_owned(),
            reason: e.to_string(),
            fix: "write the certificates as PEM (-----BEGIN CERTIFICATE-----)",
        })?;
    if certificates.is_empty() {
        return Err(Error::Pem {
            what: what.to_owned(),
            reason: "it holds no certificate".to_owned(),
            fix: "write the certificates as PEM (-----BEGIN CERTIFICATE-----)",
        });
    }
    Ok(certificates)
}

/// This gateway's TLS certificate chain and private key, presented to peers as server and as
/// client.
///
/// Security: the private key is parsed straight into ring's signing key; the PEM and DER copies
/// are wiped. `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct TlsIdentity {
    key: Arc<CertifiedKey>,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsIdentity(<certificate chain and redacted key>)")
    }
}

impl TlsIdentity {
    /// The identity of a PEM certificate chain (leaf first) and a PEM private key (PKCS#8,
    /// SEC1 or PKCS#1).
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let chain = certificates("TLS certificate", cert_chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| Error::Pem {
            what: "TLS key".to_owned(),
            // rustls-pki-types' errors name the PEM section, never its contents.
            reason: e.to_string(),
            fix: "write the private key as PEM (-----BEGIN PRIVATE KEY-----)",
        })?;
        let key = WipedKey(key);
        let signer =
            rustls::crypto::ring::sign::any_supported_type(&key.0).map_err(|e| Error::Pem {
                what: "TLS key".to_owned(),
                reason: e.to_string(),
                fix: "use an ECDSA P-256/P-384, Ed25519 or RSA key",
            })?;
        drop(key);
        let certified = CertifiedKey::new(chain, signer);
        match certified.keys_match() {
            Ok(()) => {}
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                return Err(Error::KeyMismatch);
            }
            // `Unknown`: the key type cannot say; the handshake will tell.
            Err(rustls::Error::InconsistentKeys(_)) => {}
            Err(e) => {
                return Err(Error::Pem {
                    what: "TLS certificate".to_owned(),
                    reason: e.to_string(),
                    fix: "write the gateway's certificate (leaf first) as PEM",
                });
            }
        }
        Ok(TlsIdentity {
            key: Arc::new(certified),
        })
    }

    /// [`TlsIdentity::from_pem`] of the files `cert_file` and `key_file`.
    pub fn from_pem_files(cert_file: &Path, key_file: &Path) -> Result<Self> {
        let chain = read_pem_file("TLS certificate", cert_file)?;
        let key = read_pem_file("TLS key", key_file)?;
        Self::from_pem(&chain, &key)
    }

    /// The leaf certificate (DER).
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.key.cert[0]
    }

    /// This identity as a server certificate resolver, for another TLS server of this gateway
    /// (the HTTP API) that presents the same certificate.
    pub fn cert_resolver(&self) -> Arc<dyn rustls::server::ResolvesServerCert> {
        self.resolver()
    }

    fn resolver(&self) -> Arc<SingleCertAndKey> {
        Arc::new(SingleCertAndKey::from(self.key.clone()))
    }
}

/// A private key's DER, wiped when dropped.
struct WipedKey(PrivateKeyDer<'static>);

impl Drop for WipedKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// How one member's gateway is recognised: the CA that issues its certificates and the name
/// they carry, or one pinned certificate.
#[derive(Clone)]
pub struct MemberTrust {
    ca: Vec<CertificateDer<'static>>,
    server_name: ServerName<'static>,
    pin: Option<CertificateDer<'static>>,
    as_client: Arc<dyn ClientCertVerifier>,
    as_server: Arc<WebPkiServerVerifier>,
}

impl fmt::Debug for MemberTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberTrust")
            .field("server_name", &self.server_name)
            .field("ca_certificates", &self.ca.len())
            .field("pinned", &self.pin.is_some())
            .finish()
    }
}

impl MemberTrust {
    /// A member whose certificates chain to one of the PEM CA certificates `ca_pem` and carry
    /// `server_name` (a DNS name, or an IP address) as a subject alternative name.
    pub fn ca(member: &str, ca_pem: &[u8], server_name: &str) -> Result<Self> {
        let ca = certificates(&format!("CA certificate of member `{member}`"), ca_pem)?;
        let server_name =
            ServerName::try_from(server_name.to_owned()).map_err(|_| Error::InvalidServerName {
                member: member.to_owned(),
                name: server_name.to_owned(),
            })?;
        let mut roots = RootCertStore::empty();
        for certificate in &ca {
            roots.add(certificate.clone()).map_err(|e| Error::Pem {
                what: format!("CA certificate of member `{member}`"),
                reason: e.to_string(),
                fix: "configure the member's CA certificate (a self-signed X.509 v3 CA)",
            })?;
        }
        let roots = Arc::new(roots);
        let as_client = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
            .build()
            .map_err(tls_error)?;
        let as_server = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(tls_error)?;
        Ok(MemberTrust {
            ca,
            server_name,
            pin: None,
            as_client,
            as_server,
        })
    }

    /// The same member, recognised by exactly the PEM certificate `cert_pem` instead of by its
    /// CA and name (the certificate's validity period is still checked).
    pub fn pinned(mut self, member: &str, cert_pem: &[u8]) -> Result<Self> {
        let mut pinned = certificates(
            &format!("pinned certificate of member `{member}`"),
            cert_pem,
        )?;
        self.pin = Some(pinned.swap_remove(0));
        Ok(self)
    }

    /// [`MemberTrust::ca`] from `ca_file`, then [`MemberTrust::pinned`] from `cert_file` if given.
    pub fn from_files(
        member: &str,
        ca_file: &Path,
        server_name: &str,
        cert_file: Option<&Path>,
    ) -> Result<Self> {
        let ca_pem = read_pem_file(&format!("CA certificate of member `{member}`"), ca_file)?;
        let trust = Self::ca(member, &ca_pem, server_name)?;
        match cert_file {
            Some(path) => {
                let pem = read_pem_file(&format!("pinned certificate of member `{member}`"), path)?;
                trust.pinned(member, &pem)
            }
            None => Ok(trust),
        }
    }

    /// The name this member's certificates carry (and the TLS server name its client sends).
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    /// Whether one certificate could be accepted as both `self` and `other`.
    pub(crate) fn same_identity(&self, other: &MemberTrust) -> bool {
        match (&self.pin, &other.pin) {
            (Some(a), Some(b)) => a == b,
            (None, None) => {
                // DNS names match case-insensitively, as webpki matches them.
                self.server_name.to_str().to_ascii_lowercase()
                    == other.server_name.to_str().to_ascii_lowercase()
                    && self.ca.iter().any(|c| other.ca.contains(c))
            }
            _ => false,
        }
    }
}

/// The server's TLS configuration: this gateway's identity, client certificates mapped to
/// `members` (this gateway's own entry excluded by the caller).
pub(crate) fn server_config(
    identity: &TlsIdentity,
    members: Arc<verify::Members>,
) -> Result<Arc<rustls::ServerConfig>> {
    let verifier = Arc::new(verify::MembersVerifier::new(members));
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(identity.resolver());
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    // No resumption: every connection is authenticated with the full certificate.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// The client's TLS configuration for connecting to the member recognised by `trust`.
pub(crate) fn client_config(
    identity: &TlsIdentity,
    trust: &MemberTrust,
) -> Result<Arc<rustls::ClientConfig>> {
    let verifier: Arc<dyn ServerCertVerifier> =
        Arc::new(verify::MemberServerVerifier::new(trust.clone()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(identity.resolver());
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}
