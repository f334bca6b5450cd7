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

use causeway_adapters::fabric::{FabricIdentity, SigningIdentity};
use causeway_devnet::node::{fidelity_script, run_json};
use causeway_proofs::fabric::testkit::{Ca, CertSpec, key, pem};
use serde_json::Value;

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

/// A member of `mspid` whose certificate a fresh self-signed CA issued (ECDSA P-256).
pub(crate) fn member(mspid: &str) -> Member {
    let ca = Ca::from_spec(
        &CertSpec::new(format!("CN=ca.{mspid},O={mspid}")).serial(1),
        key(),
    );
    let key = key();
    let spec = CertSpec::new(format!("CN=user1,OU=client,O={mspid}")).serial(2);
    let certificate_pem = String::from_utf8(pem(&ca.issue(&spec, &key))).unwrap();
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
