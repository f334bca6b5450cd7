//! Fabric MSP identities: `msp.SerializedIdentity` (MSP id + PEM X.509 certificate), their
//! checks against the configured organisations' root CA certificates, ECDSA P-256 signatures
//! as Fabric makes and checks them, and transaction ids.
//!
//! Security decisions, each as Fabric makes them (`shared/protocol/fabric.md` A.7, A.8):
//! - Signatures are ECDSA P-256 over SHA-256 of the message, DER `SEQUENCE { r, s }` (strict
//!   DER: no BER, no trailing bytes, 0 < r, s < n).
//! - Endorsement and creator signatures must be low-S (s <= n/2): Fabric's `bccsp` refuses
//!   high-S ones, so accepting them would let a proof pass here that no peer accepted.
//!   Certificate signatures (made by CAs, which do not normalise) are checked without that rule.
//! - An identity is trusted only if its MSP is configured, a root of that MSP signed its
//!   certificate, both certificates are valid at the supplied time, neither has a critical
//!   extension this verifier does not know (RFC 5280, Go's x509), the identity is not itself
//!   a CA and its key usage (when present) allows digital signatures.
//! - Being trusted is not enough to endorse or sign blocks: with Fabric's NodeOUs, an identity's
//!   role is the one `client`, `peer`, `admin` or `orderer` organisational unit of its
//!   certificate's subject, read from whichever string type the certificate uses (an identity
//!   with none has no role; one with several, or with an OU that is not a readable string, is
//!   refused outright, as Fabric refuses it), and a principal
//!   such as `Org1MSP.peer` admits only identities of that role ([`MspRole`]). A client or admin
//!   certificate of an organisation is therefore never that organisation's endorsement.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use der::asn1::ObjectIdentifier;
use der::{Decode as _, DecodePem as _, Encode as _, Tagged as _};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use prost::Message as _;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use super::error::{FabricError, decode};
use super::proto::msp::SerializedIdentity;

/// `ecdsa-with-SHA256` (RFC 5758 §3.2): the only certificate signature algorithm accepted.
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// `id-at-organizationalUnitName` (RFC 4519 §2.20): where NodeOUs put an identity's role.
const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");

/// Which identities of an organisation a policy principal admits: Fabric's `msp.MSPRole`
/// (`Org1MSP.member`, `Org1MSP.peer`, ...). Every role but [`MspRole::Member`] is read from the
/// certificate's subject OU as Fabric's NodeOUs define it (`client`, `peer`, `admin`,
/// `orderer`, the identifiers of the test network's and `cryptogen`'s `config.yaml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MspRole {
    /// Any valid identity of the organisation (for MSPs that do not enable NodeOUs).
    Member,
    /// Administrators (`OU=admin`).
    Admin,
    /// Client applications (`OU=client`).
    Client,
    /// Peers (`OU=peer`): the endorsers of `Org.peer` policies and, with NodeOUs, of
    /// `MAJORITY Endorsement`.
    Peer,
    /// Ordering service nodes (`OU=orderer`): the block signers.
    Orderer,
}

impl MspRole {
    /// The NodeOU roles, by their organisational unit identifier.
    const NODE_ROLES: [(&'static str, MspRole); 4] = [
        ("client", MspRole::Client),
        ("peer", MspRole::Peer),
        ("admin", MspRole::Admin),
        ("orderer", MspRole::Orderer),
    ];

    /// Checks that `identity` plays this role: always for [`MspRole::Member`], otherwise its
    /// certificate has exactly one NodeOU role and it is this one.
    pub fn check(self, identity: &FabricIdentity) -> Result<(), FabricError> {
        if self == MspRole::Member || identity.node_role() == Some(self) {
            return Ok(());
        }
        Err(FabricError::RoleNotAllowed {
            mspid: identity.mspid().to_owned(),
            subject: subject(identity.certificate()),
            required: self,
            found: identity.node_role(),
        })
    }
}

impl fmt::Display for MspRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MspRole::Member => "member",
            MspRole::Admin => "admin",
            MspRole::Client => "client",
            MspRole::Peer => "peer",
            MspRole::Orderer => "orderer",
        })
    }
}

/// The NodeOU roles a certificate's subject names, as Fabric reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NodeRoles {
    /// Exactly one of `client`, `peer`, `admin`, `orderer` (once).
    One(MspRole),
    /// None of them: the identity can only be a [`MspRole::Member`] (MSPs without NodeOUs).
    None,
    /// Why the identity has no usable role and is refused outright: several role OUs
    /// (Fabric's `validateIdentityOUsV142`: "the identity must be a client, a peer, an orderer
    /// or an admin identity to be valid, not a combination of them"), or an organisational unit
    /// in an encoding that is not a string (Go's x509 refuses such a certificate to parse).
    Refused(String),
}

/// The text of a subject attribute in any of the string types an X.509 name may use: every
/// `DirectoryString` choice (UTF8String, PrintableString, TeletexString, BMPString; a
/// UniversalString does not even parse as a certificate here), and the IA5String,
/// NumericString and VisibleString that Go's x509 also reads. Reading only some of them would
/// let a role written in another type go unseen. `None` for any other type, or bytes that are
/// not text in the type's encoding.
fn attribute_text(value: &der::Any) -> Option<String> {
    use der::Tag;
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String => std::str::from_utf8(bytes).ok().map(str::to_owned),
        Tag::PrintableString | Tag::Ia5String | Tag::NumericString | Tag::VisibleString => bytes
            .is_ascii()
            .then(|| bytes.iter().map(|&b| char::from(b)).collect()),
        // T.61 as Go reads it: byte by byte (the role names are ASCII either way).
        Tag::TeletexString | Tag::VideotexString => {
            Some(bytes.iter().map(|&b| char::from(b)).collect())
        }
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        _ => None,
    }
}

/// The NodeOU roles of a certificate's subject (see [`NodeRoles`]).
fn node_roles(certificate: &Certificate) -> NodeRoles {
    let mut found = Vec::new();
    for rdn in certificate.tbs_certificate.subject.0.iter() {
        for attribute in rdn.0.iter() {
            if attribute.oid != ORGANIZATIONAL_UNIT {
                continue;
            }
            let Some(value) = attribute_text(&attribute.value) else {
                return NodeRoles::Refused(format!(
                    "an organisational unit is not a readable string (ASN.1 tag {})",
                    attribute.value.tag()
                ));
            };
            if let Some((_, role)) = MspRole::NODE_ROLES.iter().find(|(ou, _)| *ou == value) {
                found.push(*role);
            }
        }
    }
    match found.as_slice() {
        [] => NodeRoles::None,
        [role] => NodeRoles::One(*role),
        several => NodeRoles::Refused(format!(
            "its subject names several NodeOU roles ({}): an identity is a client, a peer, an admin or an orderer, not a combination",
            several
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A Fabric transaction id: lowercase hex of SHA-256(nonce || creator), where creator is the
/// serialized `msp.SerializedIdentity` (Fabric `protoutil.ComputeTxID`; peers recompute it and
/// refuse a channel header whose `tx_id` differs).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct TransactionId(pub String);

impl TransactionId {
    /// Derives the id of a proposal from its nonce and serialized creator.
    pub fn derive(nonce: &[u8], creator: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(nonce);
        hasher.update(creator);
        Self(hex::encode(hasher.finalize()))
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a DER ECDSA signature strictly.
fn parse_der_signature(der: &[u8]) -> Result<Signature, FabricError> {
    Signature::from_der(der).map_err(|_| FabricError::MalformedSignature)
}

/// Plain ECDSA P-256 verification of a DER signature over SHA-256(`message`), accepting either
/// S (as Go's `ecdsa.Verify` and certificate checks do).
pub fn verify_signature(
    key: &VerifyingKey,
    message: &[u8],
    der_signature: &[u8],
) -> Result<(), FabricError> {
    let signature = parse_der_signature(der_signature)?;
    key.verify(message, &signature)
        .map_err(|_| FabricError::BadSignature)
}

/// Fabric's verification of endorsement and creator signatures: as [`verify_signature`], but a
/// high-S signature is refused with [`FabricError::HighS`] whether or not it verifies.
pub fn verify_endorsement_signature(
    key: &VerifyingKey,
    message: &[u8],
    der_signature: &[u8],
) -> Result<(), FabricError> {
    let signature = parse_der_signature(der_signature)?;
    if signature.normalize_s().is_some() {
        return Err(FabricError::HighS);
    }
    key.verify(message, &signature)
        .map_err(|_| FabricError::BadSignature)
}

/// Whether `issuer` signed `certificate` with ECDSA P-256 / SHA-256.
fn signed_by(certificate: &Certificate, issuer: &VerifyingKey) -> bool {
    if certificate.signature_algorithm.oid != ECDSA_WITH_SHA256
        || certificate.tbs_certificate.signature != certificate.signature_algorithm
    {
        return false;
    }
    let Some(signature) = certificate.signature.as_bytes() else {
        return false;
    };
    let Ok(tbs) = certificate.tbs_certificate.to_der() else {
        return false;
    };
    verify_signature(issuer, &tbs, signature).is_ok()
}

/// The subject of a certificate, for error messages.
fn subject(certificate: &Certificate) -> String {
    certificate.tbs_certificate.subject.to_string()
}

/// The P-256 key of a certificate.
fn p256_key(mspid: &str, certificate: &Certificate) -> Result<VerifyingKey, FabricError> {
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad_certificate(mspid, e))?;
    VerifyingKey::from_public_key_der(&spki).map_err(|e| FabricError::BadCertificate {
        mspid: mspid.to_owned(),
        reason: format!("key is not ECDSA P-256: {e}"),
    })
}

fn bad_certificate(mspid: &str, error: impl fmt::Display) -> FabricError {
    FabricError::BadCertificate {
        mspid: mspid.to_owned(),
        reason: error.to_string(),
    }
}

/// Parses a certificate given as PEM (as in MSP folders and `id_bytes`) or DER.
fn parse_certificate(mspid: &str, bytes: &[u8]) -> Result<Certificate, FabricError> {
    if bytes.starts_with(b"-----BEGIN") {
        Certificate::from_pem(bytes).map_err(|e| bad_certificate(mspid, e))
    } else {
        Certificate::from_der(bytes).map_err(|e| bad_certificate(mspid, e))
    }
}

/// Checks that `certificate` is valid at `at`.
fn check_validity(certificate: &Certificate, at: SystemTime) -> Result<(), FabricError> {
    let validity = &certificate.tbs_certificate.validity;
    let not_before = validity.not_before.to_system_time();
    let not_after = validity.not_after.to_system_time();
    if at < not_before || at > not_after {
        return Err(FabricError::CertificateNotValidAt {
            subject: subject(certificate),
            not_before,
            not_after,
            at,
        });
    }
    Ok(())
}

/// Whether the certificate says it is a CA (basic constraints with `cA` true).
fn is_ca(certificate: &Certificate) -> Result<bool, der::Error> {
    Ok(certificate
        .tbs_certificate
        .get::<BasicConstraints>()?
        .is_some_and(|(_, constraints)| constraints.ca))
}

/// The extensions a certificate may mark critical here: those Go's x509 parser handles (so
/// that Fabric's MSP accepts them critical) and whose meaning this verifier either enforces
/// (key usage, basic constraints) or that cannot widen what a certificate may do (key ids,
/// names, CRL and CA-issuer locations, policies, extended key usage, which Fabric's MSP
/// verifies with `ExtKeyUsageAny`). Left out although Go handles them: name constraints,
/// policy mappings, policy constraints and inhibit-any-policy, which constrain a chain and
/// which Go enforces but this verifier does not, so a critical one is refused rather than
/// ignored.
const KNOWN_CRITICAL_EXTENSIONS: [ObjectIdentifier; 9] = [
    ObjectIdentifier::new_unwrap("2.5.29.14"), // subjectKeyIdentifier
    ObjectIdentifier::new_unwrap("2.5.29.15"), // keyUsage
    ObjectIdentifier::new_unwrap("2.5.29.17"), // subjectAltName
    ObjectIdentifier::new_unwrap("2.5.29.19"), // basicConstraints
    ObjectIdentifier::new_unwrap("2.5.29.31"), // cRLDistributionPoints
    ObjectIdentifier::new_unwrap("2.5.29.32"), // certificatePolicies
    ObjectIdentifier::new_unwrap("2.5.29.35"), // authorityKeyIdentifier
    ObjectIdentifier::new_unwrap("2.5.29.37"), // extKeyUsage
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1"), // authorityInfoAccess
];

/// Refuses a certificate with a critical extension this verifier does not know (RFC 5280
/// §4.2: a certificate with an unrecognised critical extension must be rejected; Go's x509
/// `Verify`, and so Fabric, fails it with `UnhandledCriticalExtension`).
fn check_critical_extensions(certificate: &Certificate) -> Result<(), FabricError> {
    let unknown = certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.critical && !KNOWN_CRITICAL_EXTENSIONS.contains(&e.extn_id));
    match unknown {
        None => Ok(()),
        Some(extension) => Err(FabricError::UnknownCriticalExtension {
            subject: subject(certificate),
            oid: extension.extn_id.to_string(),
        }),
    }
}

/// Whether the certificate's key usage extension, when present, has the bit `allows` reads.
fn key_usage_allows(
    mspid: &str,
    certificate: &Certificate,
    allows: fn(&KeyUsage) -> bool,
) -> Result<bool, FabricError> {
    Ok(certificate
        .tbs_certificate
        .get::<KeyUsage>()
        .map_err(|e| bad_certificate(mspid, e))?
        .is_none_or(|(_, usage)| allows(&usage)))
}

/// An identity as it appears in a creator or endorsement: `msp.SerializedIdentity` with an
/// X.509 certificate holding a P-256 key. Parsing does not make it trusted; see
/// [`TrustedMsps::validate`].
#[derive(Clone)]
pub struct FabricIdentity {
    mspid: String,
    certificate: Certificate,
    key: VerifyingKey,
    serialized: Vec<u8>,
    roles: NodeRoles,
}

impl fmt::Debug for FabricIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FabricIdentity")
            .field("mspid", &self.mspid)
            .field("subject", &subject(&self.certificate))
            .finish()
    }
}

impl FabricIdentity {
    /// Parses serialized `msp.SerializedIdentity` bytes (a creator or `Endorsement.endorser`).
    pub fn from_serialized(bytes: &[u8]) -> Result<Self, FabricError> {
        let identity: SerializedIdentity = decode(bytes, || "msp.SerializedIdentity".to_owned())?;
        let certificate = parse_certificate(&identity.mspid, &identity.id_bytes)?;
        let key = p256_key(&identity.mspid, &certificate)?;
        let roles = node_roles(&certificate);
        Ok(Self {
            mspid: identity.mspid,
            certificate,
            key,
            serialized: bytes.to_vec(),
            roles,
        })
    }

    /// Builds the identity of `mspid` with a PEM certificate, serialized as Fabric clients do
    /// (`id_bytes` = the PEM bytes).
    pub fn from_pem(mspid: &str, certificate_pem: &[u8]) -> Result<Self, FabricError> {
        let serialized = SerializedIdentity {
            mspid: mspid.to_owned(),
            id_bytes: certificate_pem.to_vec(),
        }
        .encode_to_vec();
        Self::from_serialized(&serialized)
    }

    /// The MSP id the identity claims.
    pub fn mspid(&self) -> &str {
        &self.mspid
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The certificate's NodeOU role (see [`MspRole`]); `None` when its subject names no
    /// role or several. Never [`MspRole::Member`].
    pub fn node_role(&self) -> Option<MspRole> {
        match self.roles {
            NodeRoles::One(role) => Some(role),
            NodeRoles::None | NodeRoles::Refused(_) => None,
        }
    }

    /// The certificate's P-256 key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The serialized `msp.SerializedIdentity` (the creator bytes of transaction ids).
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }

    /// Verifies an endorsement or creator signature of this identity over `message` (low-S).
    pub fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), FabricError> {
        verify_endorsement_signature(&self.key, message, der_signature)
    }
}

/// A root CA certificate of an MSP, with its key.
#[derive(Clone, Debug)]
struct Root {
    certificate: Certificate,
    key: VerifyingKey,
}

/// The root CA certificates of one organisation (MSP), as in its MSP folder's `cacerts/`.
#[derive(Clone, Debug)]
pub struct MspRoots {
    mspid: String,
    roots: Vec<Root>,
}

impl MspRoots {
    /// Parses the root certificates (PEM or DER) of `mspid`. Each must be a self-signed
    /// P-256 CA certificate.
    pub fn new<C: AsRef<[u8]>>(mspid: &str, certificates: &[C]) -> Result<Self, FabricError> {
        let roots = certificates
            .iter()
            .map(|bytes| {
                let certificate = parse_certificate(mspid, bytes.as_ref())?;
                let key = p256_key(mspid, &certificate)?;
                if !signed_by(&certificate, &key) {
                    return Err(bad_certificate(
                        mspid,
                        "root certificate is not self-signed",
                    ));
                }
                check_critical_extensions(&certificate)?;
                if !is_ca(&certificate).map_err(|e| bad_certificate(mspid, e))? {
                    return Err(FabricError::UsageNotAllowed {
                        subject: subject(&certificate),
                        usage: "a root CA (basic constraints do not say CA)",
                    });
                }
                Ok(Root { certificate, key })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if roots.is_empty() {
            return Err(bad_certificate(mspid, "no root certificate configured"));
        }
        Ok(Self {
            mspid: mspid.to_owned(),
            roots,
        })
    }

    /// The MSP id.
    pub fn mspid(&self) -> &str {
        &self.mspid
    }
}

/// The organisations whose identities Causeway accepts, by MSP id.
#[derive(Clone, Debug, Default)]
pub struct TrustedMsps {
    msps: BTreeMap<String, MspRoots>,
}

impl TrustedMsps {
    /// The given organisations (a later entry with the same MSP id replaces an earlier one).
    pub fn new(msps: impl IntoIterator<Item = MspRoots>) -> Self {
        Self {
            msps: msps.into_iter().map(|m| (m.mspid.clone(), m)).collect(),
        }
    }

    /// Whether `mspid` is configured.
    pub fn contains(&self, mspid: &str) -> bool {
        self.msps.contains_key(mspid)
    }

    /// Whether no organisation is configured (nothing would ever be trusted).
    pub fn is_empty(&self) -> bool {
        self.msps.is_empty()
    }

    /// The configured MSP ids, sorted.
    pub fn mspids(&self) -> impl Iterator<Item = &str> {
        self.msps.keys().map(String::as_str)
    }

    /// Checks that `identity` is a signing identity issued by a root of its MSP, valid at `at`:
    /// both certificates within their validity, no unknown critical extension in either, key
    /// usages that allow certificate and digital signatures, the identity not a CA, and its
    /// subject naming at most one NodeOU role, in readable strings.
    pub fn validate(&self, identity: &FabricIdentity, at: SystemTime) -> Result<(), FabricError> {
        self.validate_window(identity, at).map(|_| ())
    }

    /// [`TrustedMsps::validate`], returning the window in which the validation holds for time
    /// alone: from the later `not_before` to the earlier `not_after` of the identity's
    /// certificate and the root that issued it (what a cache of validations must re-check).
    pub(crate) fn validate_window(
        &self,
        identity: &FabricIdentity,
        at: SystemTime,
    ) -> Result<(SystemTime, SystemTime), FabricError> {
        let mspid = identity.mspid();
        let msp = self
            .msps
            .get(mspid)
            .ok_or_else(|| FabricError::UnknownMsp {
                mspid: mspid.to_owned(),
            })?;
        let certificate = identity.certificate();
        let root = msp
            .roots
            .iter()
            .find(|root| {
                root.certificate.tbs_certificate.subject == certificate.tbs_certificate.issuer
                    && signed_by(certificate, &root.key)
            })
            .ok_or_else(|| FabricError::UntrustedCertificate {
                mspid: mspid.to_owned(),
            })?;
        check_validity(&root.certificate, at)?;
        check_validity(certificate, at)?;
        check_critical_extensions(&root.certificate)?;
        check_critical_extensions(certificate)?;
        if let NodeRoles::Refused(reason) = &identity.roles {
            return Err(FabricError::RoleRefused {
                mspid: mspid.to_owned(),
                subject: subject(certificate),
                reason: reason.clone(),
            });
        }
        if !key_usage_allows(mspid, &root.certificate, KeyUsage::key_cert_sign)? {
            return Err(FabricError::UsageNotAllowed {
                subject: subject(&root.certificate),
                usage: "signing certificates",
            });
        }
        if is_ca(certificate).map_err(|e| bad_certificate(mspid, e))? {
            return Err(FabricError::UsageNotAllowed {
                subject: subject(certificate),
                usage: "an identity (it is a CA)",
            });
        }
        if !key_usage_allows(mspid, certificate, KeyUsage::digital_signature)? {
            return Err(FabricError::UsageNotAllowed {
                subject: subject(certificate),
                usage: "digital signatures",
            });
        }
        let window = |c: &Certificate| {
            let v = &c.tbs_certificate.validity;
            (v.not_before.to_system_time(), v.not_after.to_system_time())
        };
        let (root_from, root_to) = window(&root.certificate);
        let (from, to) = window(certificate);
        Ok((from.max(root_from), to.min(root_to)))
    }

    /// [`TrustedMsps::validate`], then [`MspRole::check`]: a trusted identity playing `role`.
    pub fn validate_role(
        &self,
        identity: &FabricIdentity,
        role: MspRole,
        at: SystemTime,
    ) -> Result<(), FabricError> {
        self.validate(identity, at)?;
        role.check(identity)
    }
}

/// Our own identity with its private key, signing as Fabric clients do: ECDSA P-256 over
/// SHA-256, S normalised to the low half, DER encoded. `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningIdentity {
    identity: FabricIdentity,
    key: SigningKey,
}

impl fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("identity", &self.identity)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl SigningIdentity {
    /// Pairs an identity with its key; fails if the key is not the certificate's.
    pub fn new(identity: FabricIdentity, key: SigningKey) -> Result<Self, FabricError> {
        if key.verifying_key() != identity.verifying_key() {
            return Err(bad_certificate(
                identity.mspid(),
                "the private key does not match the certificate",
            ));
        }
        Ok(Self { identity, key })
    }

    /// Loads an identity from an MSP folder's PEM files: the certificate (`signcerts/`) and a
    /// PKCS#8 P-256 private key (`keystore/`).
    pub fn from_pem(
        mspid: &str,
        certificate_pem: &[u8],
        key_pem: &str,
    ) -> Result<Self, FabricError> {
        let identity = FabricIdentity::from_pem(mspid, certificate_pem)?;
        let key = SigningKey::from_pkcs8_pem(key_pem).map_err(|e| {
            bad_certificate(mspid, format_args!("private key is not PKCS#8 P-256: {e}"))
        })?;
        Self::new(identity, key)
    }

    /// The public identity.
    pub fn identity(&self) -> &FabricIdentity {
        &self.identity
    }

    /// The serialized creator bytes.
    pub fn creator(&self) -> &[u8] {
        self.identity.serialized()
    }

    /// Signs SHA-256(`message`); returns a low-S DER signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        let signature = signature.normalize_s().unwrap_or(signature);
        signature.to_der().as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_id_is_hex_sha256_of_nonce_and_creator() {
        // Hand-computed: SHA-256("abc") is the FIPS 180-2 example digest, so nonce "a" and
        // creator "bc" give ba7816bf....
        assert_eq!(
            TransactionId::derive(b"a", b"bc").0,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
