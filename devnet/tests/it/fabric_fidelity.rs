//! Wire fidelity of our Fabric code, proven with Fabric's own official Node code (issue 4,
//! "Fidelity, proven with Fabric's own code"): the Node scripts in `devnet/fidelity/` load the
//! pinned `@hyperledger/fabric-protos`, `@hyperledger/fabric-gateway` and `@grpc/grpc-js`
//! (installed into `.tools/` by `scripts/setup.sh`) and print JSON that these tests assert on.
//! A missing `node` or package fails the test with the reason and the script's stderr.
//!
//! - [`requests`]: what our adapter signs (proposals, prepared transactions, CommitStatus,
//!   ChaincodeEvents and Deliver requests) decodes with fabric-protos, carries the tx id Node
//!   recomputes, and verifies with node:crypto (P-256, DER, low S); the official client builds
//!   the same requests.
//! - [`blocks`]: Fabric's own blocks (shared vectors) and the test network's blocks decode with
//!   fabric-protos, and Node's header hash (DER) and data hash equal ours.
//! - [`gateway`]: the official client evaluates, submits and reads chaincode and block events on
//!   the test network.

mod blocks;
mod gateway;
mod requests;

use std::str::FromStr as _;
use std::time::{Duration, SystemTime};

use causeway_adapters::fabric::{FabricIdentity, SigningIdentity};
use causeway_devnet::node::{fidelity_script, run_json};
use der::EncodePem as _;
use der::pem::LineEnding;
use p256::ecdsa::SigningKey;
use serde_json::Value;
use x509_cert::Certificate;
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// Runs `devnet/fidelity/<script>` with `input`; panics with the error (which carries the
/// script's stderr) if node, the packages or the script fail.
pub(crate) async fn node(script: &str, input: &Value) -> Value {
    match run_json(&fidelity_script(script), input).await {
        Ok(output) => output,
        Err(e) => panic!("{e}"),
    }
}

/// A fresh CA and a member identity it issued: the member's signer and its PEM certificate.
pub(crate) struct Member {
    pub(crate) signer: SigningIdentity,
    pub(crate) certificate_pem: String,
}

fn validity() -> Validity {
    let now = SystemTime::now();
    let year = Duration::from_secs(365 * 24 * 3600);
    Validity {
        not_before: Time::try_from(now - year).unwrap(),
        not_after: Time::try_from(now + year).unwrap(),
    }
}

/// A member of `mspid` whose certificate a fresh self-signed CA issued (ECDSA P-256).
pub(crate) fn member(mspid: &str) -> Member {
    let ca_key = SigningKey::random(&mut rand_core::OsRng);
    let ca_name = Name::from_str(&format!("CN=ca.{mspid},O={mspid}")).unwrap();
    let ca = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity(),
        ca_name.clone(),
        SubjectPublicKeyInfoOwned::from_key(*ca_key.verifying_key()).unwrap(),
        &ca_key,
    )
    .unwrap()
    .build::<p256::ecdsa::DerSignature>()
    .unwrap();
    let key = SigningKey::random(&mut rand_core::OsRng);
    let certificate: Certificate = CertificateBuilder::new(
        Profile::Leaf {
            issuer: ca.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(2u32),
        validity(),
        Name::from_str(&format!("CN=user1,OU=client,O={mspid}")).unwrap(),
        SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap(),
        &ca_key,
    )
    .unwrap()
    .build::<p256::ecdsa::DerSignature>()
    .unwrap();
    let certificate_pem = certificate.to_pem(LineEnding::LF).unwrap();
    let signer = SigningIdentity::new(
        FabricIdentity::from_pem(mspid, certificate_pem.as_bytes()).unwrap(),
        key,
    )
    .unwrap();
    Member {
        signer,
        certificate_pem,
    }
}

/// `value[path...]`, panicking with the path and the whole value when absent.
pub(crate) fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    let mut current = value;
    for part in path.split('.') {
        let next = match part.parse::<usize>() {
            Ok(index) => current.get(index),
            Err(_) => current.get(part),
        };
        current = next.unwrap_or_else(|| panic!("no {path} (at {part}) in {value:#}"));
    }
    current
}

/// `value[path]` as a string.
pub(crate) fn text<'a>(value: &'a Value, path: &str) -> &'a str {
    at(value, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string in {value:#}"))
}

/// Asserts that the signature check Node reported (`value[path]`) is a valid, low-S, strict-DER
/// ECDSA signature on P-256.
pub(crate) fn assert_good_signature(value: &Value, path: &str) {
    let check = at(value, path);
    assert_eq!(
        check,
        &serde_json::json!({"curve": "prime256v1", "valid": true, "low_s": true, "strict_der": true}),
        "{path}"
    );
}
