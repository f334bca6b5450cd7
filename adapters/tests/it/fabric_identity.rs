//! Fabric identities and signatures: Wycheproof ECDSA P-256 vectors (see
//! `shared/vectors/wycheproof/SOURCE.txt`) against plain and low-S (endorsement) verification,
//! and MSP certificate checks with a CA and leaves generated here.

use std::time::SystemTime;

use causeway_adapters::fabric::proto::msp::SerializedIdentity;
use causeway_adapters::fabric::{
    FabricError, FabricIdentity, MspRole, MspRoots, SigningIdentity, TransactionId, TrustedMsps,
    verify_endorsement_signature, verify_signature,
};
use causeway_proofs::fabric::testkit::{Ca, CertSpec, key, pem, validity, year};
use der::{Decode as _, Encode as _, pem::LineEnding};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use prost::Message as _;
use serde_json::Value;
use x509_cert::Certificate;

const WYCHEPROOF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/wycheproof/"
);

/// floor(n / 2) for P-256: s above it is "high".
const HALF_N: &str = "7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8";

struct Case {
    key: VerifyingKey,
    msg: Vec<u8>,
    sig: Vec<u8>,
    valid: bool,
    id: u64,
}

fn cases(file: &str) -> Vec<Case> {
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{WYCHEPROOF}{file}")).unwrap())
            .unwrap();
    let mut out = Vec::new();
    for group in json["testGroups"].as_array().unwrap() {
        let key = hex::decode(group["publicKey"]["uncompressed"].as_str().unwrap()).unwrap();
        let key = VerifyingKey::from_sec1_bytes(&key).unwrap();
        for test in group["tests"].as_array().unwrap() {
            let result = test["result"].as_str().unwrap();
            assert!(
                result == "valid" || result == "invalid",
                "unexpected result {result}"
            );
            out.push(Case {
                key,
                msg: hex::decode(test["msg"].as_str().unwrap()).unwrap(),
                sig: hex::decode(test["sig"].as_str().unwrap()).unwrap(),
                valid: result == "valid",
                id: test["tcId"].as_u64().unwrap(),
            });
        }
    }
    out
}

fn is_high(s: &[u8]) -> bool {
    hex::encode(s).as_str() > HALF_N
}

#[test]
fn wycheproof_der_plain_and_low_s() {
    let cases = cases("wycheproof_ecdsa_secp256r1_sha256_test.json");
    assert_eq!(cases.len(), 484);
    let mut high_s_valid = 0;
    for case in &cases {
        let plain = verify_signature(&case.key, &case.msg, &case.sig).is_ok();
        assert_eq!(plain, case.valid, "tcId {}", case.id);
        let low = verify_endorsement_signature(&case.key, &case.msg, &case.sig);
        if case.valid {
            let s = Signature::from_der(&case.sig).unwrap().s().to_bytes();
            if is_high(&s) {
                high_s_valid += 1;
                assert!(matches!(low, Err(FabricError::HighS)), "tcId {}", case.id);
            } else {
                assert!(low.is_ok(), "tcId {}", case.id);
            }
        } else {
            assert!(low.is_err(), "tcId {}", case.id);
        }
    }
    // The vectors do contain valid high-S signatures for the low-S rule to reject.
    assert!(high_s_valid > 0);
}

#[test]
fn wycheproof_p1363_plain_and_low_s() {
    let cases = cases("wycheproof_ecdsa_secp256r1_sha256_p1363_test.json");
    let mut high_s_valid = 0;
    for case in &cases {
        // P1363 is r || s, 32 bytes each; anything else is malformed. Re-encode as DER, the only
        // form Fabric carries.
        let der = Signature::from_slice(&case.sig)
            .ok()
            .map(|s| s.to_der().as_bytes().to_vec());
        let plain = der
            .as_ref()
            .is_some_and(|der| verify_signature(&case.key, &case.msg, der).is_ok());
        assert_eq!(plain, case.valid, "tcId {}", case.id);
        let low = der
            .as_ref()
            .map(|der| verify_endorsement_signature(&case.key, &case.msg, der));
        if case.valid {
            if is_high(&case.sig[32..]) {
                high_s_valid += 1;
                assert!(
                    matches!(low, Some(Err(FabricError::HighS))),
                    "tcId {}",
                    case.id
                );
            } else {
                assert!(matches!(low, Some(Ok(()))), "tcId {}", case.id);
            }
        } else {
            assert!(!matches!(low, Some(Ok(()))), "tcId {}", case.id);
        }
    }
    assert!(high_s_valid > 0);
}

/// A root CA named `CN=<cn>,O=Org1`.
pub(crate) fn root(cn: &str) -> Ca {
    Ca::new(&format!("CN={cn},O=Org1"))
}

/// Org1's `peer0` with the organisational units `ous` (e.g. `OU=client`).
pub(crate) fn subject(ous: &str) -> CertSpec {
    CertSpec::new(format!("CN=peer0.org1.example.com,{ous},O=Org1"))
}

/// A peer's certificate (`OU=peer`, Fabric's NodeOU role of an endorser) for `key`.
pub(crate) fn leaf(ca: &Ca, key: &SigningKey) -> Certificate {
    leaf_as(ca, key, "OU=peer")
}

/// A certificate for `key` whose subject's organisational units are `ous`.
pub(crate) fn leaf_as(ca: &Ca, key: &SigningKey, ous: &str) -> Certificate {
    ca.issue(&subject(ous), key)
}

pub(crate) struct Org {
    pub(crate) ca: Ca,
    pub(crate) trusted: TrustedMsps,
}

pub(crate) fn org1() -> Org {
    let ca = root("ca.org1.example.com");
    let trusted = TrustedMsps::new([MspRoots::new("Org1MSP", &[ca.pem()]).unwrap()]);
    Org { ca, trusted }
}

#[test]
fn a_leaf_of_the_configured_ca_is_trusted_and_signs_low_s() {
    let org = org1();
    let peer_key = key();
    let cert = leaf(&org.ca, &peer_key);
    let signer = SigningIdentity::new(
        FabricIdentity::from_pem("Org1MSP", &pem(&cert)).unwrap(),
        peer_key,
    )
    .unwrap();
    let identity = FabricIdentity::from_serialized(signer.creator()).unwrap();
    assert_eq!(identity.mspid(), "Org1MSP");
    org.trusted.validate(&identity, SystemTime::now()).unwrap();

    // The creator bytes are msp.SerializedIdentity{mspid, id_bytes = PEM}.
    let serialized = SerializedIdentity::decode(signer.creator()).unwrap();
    assert_eq!(serialized.id_bytes, pem(&cert));

    // An endorsement signs proposal_response_payload || endorser (fabric.md A.8 item 8).
    for i in 0..32u8 {
        let mut data = vec![i; 40];
        data.extend_from_slice(signer.creator());
        let signature = signer.sign(&data);
        let parsed = Signature::from_der(&signature).unwrap();
        assert!(parsed.normalize_s().is_none(), "signatures are low-S");
        identity.verify(&data, &signature).unwrap();
        data[0] ^= 1;
        assert!(matches!(
            identity.verify(&data, &signature),
            Err(FabricError::BadSignature)
        ));
    }

    // The high-S twin of a valid signature verifies mathematically but is refused.
    let data = b"endorsed".to_vec();
    let low = Signature::from_der(&signer.sign(&data)).unwrap();
    let high = Signature::from_scalars(low.r(), -*low.s()).unwrap();
    let high = high.to_der().as_bytes().to_vec();
    verify_signature(identity.verifying_key(), &data, &high).unwrap();
    assert!(matches!(
        identity.verify(&data, &high),
        Err(FabricError::HighS)
    ));
}

#[test]
fn a_cert_from_another_ca_is_rejected() {
    let org = org1();
    // Same subject name as the configured CA, different key.
    let rogue = root("ca.org1.example.com");
    let cert = leaf(&rogue, &key());
    let identity = FabricIdentity::from_pem("Org1MSP", &pem(&cert)).unwrap();
    assert!(matches!(
        org.trusted.validate(&identity, SystemTime::now()),
        Err(FabricError::UntrustedCertificate { .. })
    ));
    // Claiming an MSP that is not configured.
    let cert = leaf(&org.ca, &key());
    let identity = FabricIdentity::from_pem("Org2MSP", &pem(&cert)).unwrap();
    assert!(matches!(
        org.trusted.validate(&identity, SystemTime::now()),
        Err(FabricError::UnknownMsp { .. })
    ));
}

#[test]
fn an_expired_or_not_yet_valid_cert_is_rejected() {
    let org = org1();
    let now = SystemTime::now();
    let expired = org.ca.issue(
        &subject("OU=peer").validity(validity(now - year(), now - year() / 2)),
        &key(),
    );
    let identity = FabricIdentity::from_pem("Org1MSP", &pem(&expired)).unwrap();
    assert!(matches!(
        org.trusted.validate(&identity, now),
        Err(FabricError::CertificateNotValidAt { .. })
    ));
    // The same certificate was fine while it was valid.
    org.trusted
        .validate(&identity, now - year() * 3 / 4)
        .unwrap();
    // A valid leaf checked after its CA expired.
    let cert = leaf(&org.ca, &key());
    let identity = FabricIdentity::from_pem("Org1MSP", &pem(&cert)).unwrap();
    assert!(matches!(
        org.trusted.validate(&identity, now + year() * 2),
        Err(FabricError::CertificateNotValidAt { .. })
    ));
}

#[test]
fn a_tampered_cert_is_rejected() {
    let org = org1();
    let cert = leaf(&org.ca, &key());
    let mut der = cert.to_der().unwrap();
    let at = der.windows(5).position(|w| w == b"peer0").unwrap();
    der[at + 4] = b'1'; // peer0 -> peer1: still well-formed, no longer what the CA signed
    let tampered = Certificate::from_der(&der).unwrap();
    let identity = FabricIdentity::from_pem("Org1MSP", &pem(&tampered)).unwrap();
    assert!(matches!(
        org.trusted.validate(&identity, SystemTime::now()),
        Err(FabricError::UntrustedCertificate { .. })
    ));
}

#[test]
fn the_ca_itself_is_not_an_identity_and_garbage_is_refused() {
    let org = org1();
    let identity = FabricIdentity::from_pem("Org1MSP", &org.ca.pem()).unwrap();
    assert!(matches!(
        org.trusted.validate(&identity, SystemTime::now()),
        Err(FabricError::UsageNotAllowed { .. })
    ));
    assert!(matches!(
        FabricIdentity::from_pem(
            "Org1MSP",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        ),
        Err(FabricError::BadCertificate { .. })
    ));
    // A leaf is not accepted as a root.
    let cert = leaf(&org.ca, &key());
    assert!(MspRoots::new("Org1MSP", &[pem(&cert)]).is_err());
    // A key that is not the certificate's.
    let identity = FabricIdentity::from_pem("Org1MSP", &pem(&cert)).unwrap();
    assert!(SigningIdentity::new(identity, key()).is_err());
}

#[test]
fn transaction_id_is_sha256_of_nonce_and_creator() {
    // Hand-computed with Python: hashlib.sha256(bytes(range(24)) + b"creator").hexdigest().
    let nonce: Vec<u8> = (0..24).collect();
    assert_eq!(
        TransactionId::derive(&nonce, b"creator").0,
        "151635d156b87fcdd972bf6d45d83eb75864e6b9caff423a784c5c4e58051968"
    );
}

#[test]
fn endorsements_verify_against_the_configured_msps() {
    use causeway_adapters::fabric::EndorsedAction;
    use causeway_adapters::fabric::proto::protos::{ChaincodeAction, Endorsement};

    let org = org1();
    let peer_key = key();
    let cert = leaf(&org.ca, &peer_key);
    let peer = SigningIdentity::from_pem(
        "Org1MSP",
        &pem(&cert),
        &p256::pkcs8::EncodePrivateKey::to_pkcs8_pem(&peer_key, LineEnding::LF).unwrap(),
    )
    .unwrap();
    let mut action = EndorsedAction {
        header: vec![],
        chaincode_proposal_payload: vec![],
        proposal_hash: vec![],
        proposal_response_payload: b"proposal response payload".to_vec(),
        endorsements: vec![],
        chaincode_action: ChaincodeAction::default(),
        event: None,
    };
    let mut endorsement = Endorsement {
        endorser: peer.creator().to_vec(),
        signature: vec![],
    };
    endorsement.signature = peer.sign(&action.signed_data(&endorsement));
    let now = SystemTime::now();
    let endorser = action
        .verify_endorsement(&endorsement, &org.trusted, MspRole::Peer, now)
        .unwrap();
    assert_eq!(endorser.mspid(), "Org1MSP");

    // The signature covers the payload: any change to it fails.
    action.proposal_response_payload.push(0);
    assert!(matches!(
        action.verify_endorsement(&endorsement, &org.trusted, MspRole::Peer, now),
        Err(FabricError::BadSignature)
    ));
    action.proposal_response_payload.pop();

    // The same signature under an identity of an MSP that is not configured.
    let foreign = TrustedMsps::new([]);
    assert!(matches!(
        action.verify_endorsement(&endorsement, &foreign, MspRole::Peer, now),
        Err(FabricError::UnknownMsp { .. })
    ));
}

#[test]
fn the_node_role_is_the_one_node_ou_of_the_subject() {
    let org = org1();
    let identity = |ous: &str| {
        let cert = leaf_as(&org.ca, &key(), ous);
        FabricIdentity::from_pem("Org1MSP", &pem(&cert)).unwrap()
    };
    assert_eq!(identity("OU=peer").node_role(), Some(MspRole::Peer));
    assert_eq!(identity("OU=client").node_role(), Some(MspRole::Client));
    assert_eq!(identity("OU=admin").node_role(), Some(MspRole::Admin));
    assert_eq!(identity("OU=orderer").node_role(), Some(MspRole::Orderer));
    // Other OUs are ignored; none, or two roles, is no role (Fabric: "not a combination").
    assert_eq!(
        identity("OU=org1,OU=peer,OU=department1").node_role(),
        Some(MspRole::Peer)
    );
    assert_eq!(identity("OU=department1").node_role(), None);
    assert_eq!(identity("OU=peer,OU=client").node_role(), None);
    assert_eq!(identity("OU=PEER").node_role(), None);

    // A trusted client certificate is a member, not a peer.
    let now = SystemTime::now();
    let client = identity("OU=client");
    org.trusted
        .validate_role(&client, MspRole::Member, now)
        .unwrap();
    org.trusted
        .validate_role(&client, MspRole::Client, now)
        .unwrap();
    let err = org
        .trusted
        .validate_role(&client, MspRole::Peer, now)
        .unwrap_err();
    assert!(matches!(
        &err,
        FabricError::RoleNotAllowed {
            required: MspRole::Peer,
            found: Some(MspRole::Client),
            ..
        }
    ));
    assert!(
        err.to_string()
            .contains("does not have the peer role (its NodeOU role: client)"),
        "{err}"
    );
}

#[test]
fn a_role_in_any_string_type_is_read_and_a_second_role_refuses_the_identity() {
    let org = org1();
    let now = SystemTime::now();
    let identity = |ous: &str| {
        let cert = leaf_as(&org.ca, &key(), ous);
        FabricIdentity::from_pem("Org1MSP", &pem(&cert)).unwrap()
    };
    // "client" as a BMPString (UTF-16), a TeletexString and an IA5String; "peer" as a
    // BMPString (RFC 4514 `#` hex: the attribute value's DER).
    const BMP_CLIENT: &str = "OU=#1E0C0063006C00690065006E0074";
    const T61_CLIENT: &str = "OU=#1406636C69656E74";
    const IA5_CLIENT: &str = "OU=#1606636C69656E74";
    const BMP_PEER: &str = "OU=#1E080070006500650072";
    assert_eq!(identity(BMP_PEER).node_role(), Some(MspRole::Peer));
    assert_eq!(identity(T61_CLIENT).node_role(), Some(MspRole::Client));
    org.trusted
        .validate_role(&identity(BMP_PEER), MspRole::Peer, now)
        .unwrap();
    // A peer certificate with an extra client OU in another string type is no peer, and no
    // identity at all: Fabric refuses a combination of roles whatever the use.
    for extra in [BMP_CLIENT, T61_CLIENT, IA5_CLIENT] {
        let mixed = identity(&format!("OU=peer,{extra}"));
        assert_eq!(mixed.node_role(), None, "{extra}");
        for role in [MspRole::Peer, MspRole::Member] {
            let err = org.trusted.validate_role(&mixed, role, now).unwrap_err();
            // The subject's order: the RDN sequence, the reverse of the RFC 4514 text.
            assert!(
                matches!(err, FabricError::RoleRefused { .. })
                    && err
                        .to_string()
                        .contains("several NodeOU roles (client, peer)"),
                "{extra}: {err}"
            );
        }
    }
    // An OU that is not a string at all (an OCTET STRING "peer"): Go's x509 refuses to parse
    // such a certificate, and so is it refused here.
    let odd = identity("OU=client,OU=#040470656572");
    let err = org.trusted.validate(&odd, now).unwrap_err();
    assert!(err.to_string().contains("not a readable string"), "{err}");
}

/// An extension nobody knows (a private-enterprise OID), `critical` or not.
fn unknown_extension(critical: bool) -> x509_cert::ext::Extension {
    x509_cert::ext::Extension {
        extn_id: der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.55555.1"),
        critical,
        extn_value: der::asn1::OctetString::new(vec![0x05, 0x00]).unwrap(),
    }
}

#[test]
fn a_certificate_with_an_unknown_critical_extension_is_refused() {
    let org = org1();
    let now = SystemTime::now();
    let peer = |critical: bool| {
        let spec = subject("OU=peer").extension(unknown_extension(critical));
        org.ca.issue(&spec, &key())
    };
    // Not critical: ignored, as RFC 5280 says.
    let lenient = peer(false);
    org.trusted
        .validate(
            &FabricIdentity::from_pem("Org1MSP", &pem(&lenient)).unwrap(),
            now,
        )
        .unwrap();
    // Critical: refused, as Go's x509 (and so Fabric) refuses it.
    let strict = peer(true);
    let err = org
        .trusted
        .validate(
            &FabricIdentity::from_pem("Org1MSP", &pem(&strict)).unwrap(),
            now,
        )
        .unwrap_err();
    assert!(
        matches!(&err, FabricError::UnknownCriticalExtension { oid, .. } if oid == "1.3.6.1.4.1.55555.1"),
        "{err}"
    );
    // A root with one is refused when it is loaded.
    let odd_root = Ca::from_spec(
        &CertSpec::new("CN=ca.odd.example.com,O=Org1").extension(unknown_extension(true)),
        key(),
    );
    let err = MspRoots::new("Org1MSP", &[odd_root.pem()]).unwrap_err();
    assert!(
        err.to_string()
            .contains("has critical extension 1.3.6.1.4.1.55555.1"),
        "{err}"
    );
}
