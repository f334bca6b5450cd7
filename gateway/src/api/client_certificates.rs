//! Client certificates for the API (`[api] client_ca_file`): an application may authenticate
//! with a TLS client certificate instead of a bearer token. The handshake accepts a
//! certificate only when it chains to the configured CA (rustls' WebPKI verifier: signature,
//! validity period, client-auth usage); a client without one still connects, and then needs a
//! bearer token. Which scopes a certificate has is a token's: `causeway token create
//! --client-cert FILE` records the certificate's fingerprint
//! ([`super::auth::client_certificate_hash`]) in place of a secret's hash, so certificates are
//! listed, expire and are revoked exactly like tokens, and a CA-issued certificate that no token
//! names is refused (401): the CA says who the client is, the token what it may do.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;

/// The largest CA file read.
const MAX_CA_FILE: u64 = 1024 * 1024;

/// The certificates of the PEM file at `path`.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let mut pem = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
            MAX_CA_FILE + 1,
        ),
        &mut pem,
    )
    .with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(
        pem.len() as u64 <= MAX_CA_FILE,
        "{} is larger than {MAX_CA_FILE} bytes: not a certificate file",
        path.display()
    );
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not PEM certificates", path.display()))?;
    anyhow::ensure!(
        !certificates.is_empty(),
        "{} holds no certificate (fix: write the CA's certificate in PEM)",
        path.display()
    );
    Ok(certificates)
}

/// A verifier accepting client certificates issued by the CA(s) in `ca_file`, and clients
/// without a certificate (they need a bearer token).
pub fn verifier(
    ca_file: &Path,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    for ca in
        read_certificates(ca_file).with_context(|| "reading [api] client_ca_file".to_owned())?
    {
        roots
            .add(ca)
            .with_context(|| format!("a CA certificate in {}", ca_file.display()))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .allow_unauthenticated()
        .build()
        .with_context(|| format!("the client CA {}", ca_file.display()))
}
