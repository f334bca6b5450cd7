//! The two certificate verifiers of the peer protocol.
//!
//! [`MembersVerifier`] (server side) maps a client certificate to exactly one configured
//! member; [`MemberServerVerifier`] (client side) accepts only the member the client dialled.
//! A member is recognised either by a pinned certificate (exact DER, still within its validity
//! period) or by a chain to its CA (webpki, with the usage of the side: clientAuth or
//! serverAuth) AND its configured name among the certificate's subject alternative names.
//! Handshake signatures are checked by rustls with ring's algorithms as usual.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};
use x509_cert::der::Decode as _;

use super::{MemberTrust, provider};

/// The members a server accepts connections from (every member but itself).
#[derive(Debug)]
pub(crate) struct Members {
    members: Vec<(Arc<str>, MemberTrust)>,
}

/// A refusal that names why each member did not match (certificate facts only).
#[derive(Debug)]
struct NoMember(String);

impl fmt::Display for NoMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoMember {}

fn refused(reason: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(NoMember(
        reason,
    )))))
}

impl Members {
    pub(crate) fn new(members: Vec<(Arc<str>, MemberTrust)>) -> Self {
        Members { members }
    }

    /// The one member whose certificate `end_entity` is; an error naming, per member, why it
    /// is none, or that it is more than one.
    pub(crate) fn identify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Arc<str>, rustls::Error> {
        let mut matched = Vec::new();
        let mut reasons = Vec::new();
        for (name, trust) in &self.members {
            match check_client(trust, end_entity, intermediates, now) {
                Ok(()) => matched.push(name.clone()),
                Err(e) => reasons.push(format!("not `{name}`: {e}")),
            }
        }
        match matched.as_slice() {
            [one] => Ok(one.clone()),
            [] if reasons.is_empty() => Err(refused("no other member is configured".to_owned())),
            [] => Err(refused(format!(
                "the certificate is no configured member's ({})",
                reasons.join("; ")
            ))),
            many => Err(refused(format!(
                "the certificate matches {} members; each member needs its own identity",
                many.len()
            ))),
        }
    }
}

/// Whether `end_entity` is `trust`'s member's client certificate.
fn check_client(
    trust: &MemberTrust,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<(), rustls::Error> {
    if let Some(pin) = &trust.pin {
        return check_pinned(pin, end_entity, now);
    }
    trust
        .as_client
        .verify_client_cert(end_entity, intermediates, now)?;
    // webpki's client verification checks no name: the member's name is what ties this
    // certificate to one member among several issued by one consortium CA.
    rustls::client::verify_server_name(
        &ParsedCertificate::try_from(end_entity)?,
        &trust.server_name,
    )
}

/// Whether `end_entity` is `trust`'s member's server certificate.
fn check_server(
    trust: &MemberTrust,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<(), rustls::Error> {
    if let Some(pin) = &trust.pin {
        return check_pinned(pin, end_entity, now);
    }
    // The member's configured name, not whatever name the connection was opened with.
    trust
        .as_server
        .verify_server_cert(end_entity, intermediates, &trust.server_name, &[], now)
        .map(|_| ())
}

/// A pinned certificate: the same DER bytes (certificates are public, so no constant-time
/// comparison is needed), within its validity period.
fn check_pinned(
    pin: &CertificateDer<'_>,
    end_entity: &CertificateDer<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    if pin.as_ref() != end_entity.as_ref() {
        return Err(refused("not the pinned certificate".to_owned()));
    }
    let certificate = x509_cert::Certificate::from_der(end_entity.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let validity = &certificate.tbs_certificate.validity;
    let now = now.as_secs();
    if now < validity.not_before.to_unix_duration().as_secs() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > validity.not_after.to_unix_duration().as_secs() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

fn schemes() -> Vec<SignatureScheme> {
    provider()
        .signature_verification_algorithms
        .supported_schemes()
}

/// The server's client-certificate verifier: a client certificate must be exactly one
/// member's, or the handshake fails.
#[derive(Debug)]
pub(crate) struct MembersVerifier {
    members: Arc<Members>,
}

impl MembersVerifier {
    pub(crate) fn new(members: Arc<Members>) -> Self {
        MembersVerifier { members }
    }
}

impl ClientCertVerifier for MembersVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: the client has exactly one identity to present.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.members
            .identify(end_entity, intermediates, now)
            .map(|_| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(verify_tls12_signature, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(verify_tls13_signature, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        schemes()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }
}

/// The client's server-certificate verifier for one member.
#[derive(Debug)]
pub(crate) struct MemberServerVerifier {
    trust: MemberTrust,
}

impl MemberServerVerifier {
    pub(crate) fn new(trust: MemberTrust) -> Self {
        MemberServerVerifier { trust }
    }
}

impl ServerCertVerifier for MemberServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        check_server(&self.trust, end_entity, intermediates, now)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(verify_tls12_signature, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(verify_tls13_signature, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        schemes()
    }
}

/// A handshake signature checked by rustls' `verify` (TLS 1.2 or 1.3) with this crate's
/// provider's algorithms: the one body both verifiers share.
fn handshake_signature(
    verify: fn(
        &[u8],
        &CertificateDer<'_>,
        &DigitallySignedStruct,
        &rustls::crypto::WebPkiSupportedAlgorithms,
    ) -> Result<HandshakeSignatureValid, rustls::Error>,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    verify(
        message,
        cert,
        dss,
        &provider().signature_verification_algorithms,
    )
}
