//! Proof bundles: a real bundle (log of N messages, 3-of-5 validators) verifies; its JSON form is
//! stable and strict; every tampering fails with its own error (bridge-exploits T01, T13, T15,
//! T16, T17).

#![allow(clippy::unwrap_used)]

use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::log::{Keccak256Log, Sha256Log, Sm3Log};
use causeway_proofs::{
    Address32, Checkpoint, Domain, Error, EvmAddress, Hash32, HashAlgorithm, InclusionProof,
    LeafIndex, LogSize, MerkleLog, Message, Nonce, ProofBundle, SigningDomain, TrustAnchor,
    ValidatorKey,
};
use merkle_light::hash::Algorithm;
use serde_json::{Value, json};

use crate::attestation::{keys, lane, set_of};

const N_MESSAGES: u64 = 10;
const TARGET: u64 = 6;

fn message(nonce: u64, destination: Domain) -> Message {
    Message::new(
        Nonce(nonce),
        Domain(1),
        Address32::from(EvmAddress([0xa1; 20])),
        destination,
        Address32::from(EvmAddress([0xb2; 20])),
        format!("transfer #{nonce}").into_bytes(),
    )
    .unwrap()
}

struct Fixture {
    keys: Vec<ValidatorKey>,
    trust: TrustAnchor,
    bundle: ProofBundle,
}

/// A log of `N_MESSAGES` messages from origin 1 (the one at `TARGET` going to `target_dest`),
/// checkpointed, signed by validators 0, 2 and 4 of a 3-of-5 set.
fn build_with<A: Algorithm<Hash32>>(alg: HashAlgorithm, target_dest: Domain) -> Fixture {
    let keys = keys(5, 1);
    let trust = TrustAnchor {
        signing_domain: lane(),
        validators: set_of(&keys, 3),
    };
    let mut log = MerkleLog::<A>::new();
    let mut target = None;
    for nonce in 0..N_MESSAGES {
        let dest = if nonce == TARGET {
            target_dest
        } else {
            Domain(2)
        };
        let m = message(nonce, dest);
        let index = log.append(m.id().as_hash());
        if nonce == TARGET {
            target = Some((m, index));
        }
    }
    let (msg, index) = target.unwrap();
    let cp = Checkpoint::new(Domain(1), alg, log.size(), log.root()).unwrap();
    let proof = log.inclusion_proof(index, log.size()).unwrap();
    let sigs = [0, 2, 4]
        .iter()
        .map(|i| keys[*i].sign_checkpoint(&cp, &lane()))
        .collect();
    let bundle = ProofBundle::assemble(msg, proof, cp, lane(), sigs).unwrap();
    Fixture {
        keys,
        trust,
        bundle,
    }
}

fn build() -> Fixture {
    build_with::<causeway_proofs::hash::Sha256Algorithm>(HashAlgorithm::Sha256, Domain(2))
}

fn to_value(b: &ProofBundle) -> Value {
    serde_json::from_str(&b.to_json_pretty()).unwrap()
}

fn from_value(v: &Value) -> Result<ProofBundle, Error> {
    ProofBundle::from_json(&v.to_string())
}

/// Flips the lowest bit of the hex string at `v[ptr]` (a JSON pointer).
fn flip_hex(v: &mut Value, ptr: &str) {
    let s = v.pointer_mut(ptr).unwrap();
    let mut bytes = hex::decode(s.as_str().unwrap().trim_start_matches("0x")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    *s = Value::String(format!("0x{}", hex::encode(bytes)));
}

#[test]
fn real_bundle_verifies() {
    let f = build();
    let v = f.bundle.verify(&f.trust).unwrap();
    let m = message(TARGET, Domain(2));
    assert_eq!(v.message_id, m.id());
    assert_eq!(
        (v.origin, v.destination, v.nonce),
        (Domain(1), Domain(2), Nonce(TARGET))
    );
    assert_eq!(
        (v.log_size, v.leaf_index),
        (LogSize(N_MESSAGES), LeafIndex(TARGET))
    );
    assert_eq!(v.hash_algorithm, HashAlgorithm::Sha256);
    let expected_signers: Vec<EvmAddress> =
        [0, 2, 4].iter().map(|i| f.keys[*i].address()).collect();
    assert_eq!(v.signers, expected_signers);
    assert_eq!(v.threshold, 3);
    assert_eq!((v.native_proof, v.native_proof_checked), (None, false));
}

#[test]
fn keccak_and_sm3_logs_verify_too() {
    let k = build_with::<causeway_proofs::hash::Keccak256Algorithm>(
        HashAlgorithm::Keccak256,
        Domain(2),
    );
    assert_eq!(
        k.bundle.verify(&k.trust).unwrap().hash_algorithm,
        HashAlgorithm::Keccak256
    );
    let s = build_with::<causeway_proofs::hash::Sm3Algorithm>(HashAlgorithm::Sm3, Domain(2));
    assert_eq!(
        s.bundle.verify(&s.trust).unwrap().hash_algorithm,
        HashAlgorithm::Sm3
    );
    // The type aliases are the same logs.
    let _: (Sha256Log, Keccak256Log, Sm3Log) =
        (MerkleLog::new(), MerkleLog::new(), MerkleLog::new());

    // A SHA-256 proof presented as a Keccak-256 checkpoint is rejected.
    let f = build();
    let mut v = to_value(&f.bundle);
    v["checkpoint"]["hash_algorithm"] = json!("keccak256");
    assert!(matches!(
        from_value(&v).unwrap().verify(&f.trust),
        Err(Error::RootMismatch { .. })
    ));
}

#[test]
fn json_round_trip_is_stable_and_names_its_fields() {
    let f = build();
    let source = SourceReference {
        block_number: Some(12),
        block_hash: Some(Hash32([0x0b; 32])),
        transaction_hash: Some(Hash32([0x0c; 32])),
        fabric_tx_id: None,
        event_index: Some(0),
    };
    let native = NativeProof {
        family: ChainFamily::Evm,
        data: json!({"receipt_proof": ["0xf9"], "block_header": "0x00"}),
    };
    let full = f
        .bundle
        .clone()
        .with_source(source.clone())
        .with_native_proof(native.clone());
    for b in [&f.bundle, &full] {
        let a = b.to_json_pretty();
        assert_eq!(
            a,
            b.to_json_pretty(),
            "serialising twice gives the same text"
        );
        let back = ProofBundle::from_json(&a).unwrap();
        assert_eq!(&back, b);
        assert_eq!(back.to_json_pretty(), a, "parse then print is the identity");
        // serde impls agree with from_json / to_json_pretty.
        assert_eq!(serde_json::from_str::<ProofBundle>(&a).unwrap(), back);
        assert_eq!(serde_json::to_value(b).unwrap(), to_value(b));
    }
    assert_eq!(full.source(), Some(&source));
    let verdict = full.verify(&f.trust).unwrap();
    assert_eq!(verdict.native_proof, Some(ChainFamily::Evm));
    assert!(
        !verdict.native_proof_checked,
        "native proofs are not checked here"
    );

    let v = to_value(&full);
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let mut top = keys(&v);
    top.sort();
    assert_eq!(
        top,
        [
            "checkpoint",
            "format",
            "inclusion",
            "message",
            "message_id",
            "native_proof",
            "signatures",
            "signing_domain",
            "source"
        ]
    );
    assert_eq!(v["format"], "causeway-proof-bundle/1");
    assert_eq!(
        v["message_id"],
        json!(message(TARGET, Domain(2)).id().to_hex())
    );
    assert_eq!(
        v["message"],
        json!(format!(
            "0x{}",
            hex::encode(message(TARGET, Domain(2)).encode())
        ))
    );
    let mut inclusion = keys(&v["inclusion"]);
    inclusion.sort();
    assert_eq!(inclusion, ["index", "path", "size"]);
    // Field order in the text is the documented one.
    let text = full.to_json_pretty();
    let order = [
        "\"format\"",
        "\"message_id\"",
        "\"message\"",
        "\"inclusion\"",
        "\"index\"",
        "\"size\"",
        "\"path\"",
        "\"checkpoint\"",
        "\"signing_domain\"",
        "\"signatures\"",
        "\"source\"",
        "\"native_proof\"",
    ];
    let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert_eq!(v["inclusion"]["index"], json!(TARGET));
    assert_eq!(
        v["checkpoint"],
        json!({"version": 1, "origin": 1, "hash_algorithm": "sha256", "size": N_MESSAGES,
               "root": f.bundle.checkpoint().root().to_hex()})
    );
    assert_eq!(v["signing_domain"], serde_json::to_value(lane()).unwrap());
    assert_eq!(v["signatures"].as_array().unwrap().len(), 3);
    assert_eq!(v["native_proof"]["family"], "evm");
    assert_eq!(
        v["source"],
        json!({"block_number": 12, "block_hash": Hash32([0x0b; 32]).to_hex(),
        "transaction_hash": Hash32([0x0c; 32]).to_hex(), "event_index": 0})
    );
    // Optional parts are omitted when absent.
    assert!(to_value(&f.bundle).get("source").is_none());
    assert!(to_value(&f.bundle).get("native_proof").is_none());
}

/// Every single tampering fails, each with its own error.
#[test]
fn tampering_fails_with_the_right_error() {
    let f = build();
    let good = to_value(&f.bundle);
    let check = |what: &str, v: &Value, ok: &dyn Fn(&Error) -> bool| {
        let result = from_value(v).and_then(|b| b.verify(&f.trust));
        match result {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(_) => panic!("{what}: tampered bundle verified"),
        }
    };

    // A flipped message bit: caught at load by message_id, or (with a matching id) by the proof.
    let mut v = good.clone();
    flip_hex(&mut v, "/message");
    check("message bit", &v, &|e| {
        matches!(e, Error::InconsistentBundle { .. })
    });
    let tampered = Message::decode(
        &hex::decode(v["message"].as_str().unwrap().trim_start_matches("0x")).unwrap(),
    )
    .unwrap();
    v["message_id"] = json!(tampered.id().to_hex());
    check("message bit with matching id", &v, &|e| {
        matches!(e, Error::RootMismatch { .. })
    });

    let mut v = good.clone();
    flip_hex(&mut v, "/inclusion/path/1");
    check("path node bit", &v, &|e| {
        matches!(e, Error::RootMismatch { .. })
    });

    let mut v = good.clone();
    flip_hex(&mut v, "/checkpoint/root");
    check("root bit", &v, &|e| matches!(e, Error::RootMismatch { .. }));

    let mut v = good.clone();
    v["inclusion"]["index"] = json!(TARGET ^ 1);
    check("index bit", &v, &|e| {
        matches!(e, Error::RootMismatch { .. })
    });

    let mut v = good.clone();
    v["checkpoint"]["size"] = json!(N_MESSAGES + 1);
    check("checkpoint size", &v, &|e| {
        matches!(e, Error::InconsistentBundle { .. })
    });
    let mut v = good.clone();
    v["inclusion"]["size"] = json!(N_MESSAGES - 1);
    check("proof size", &v, &|e| {
        matches!(e, Error::InconsistentBundle { .. })
    });
    // Both sizes changed together: 6's audit path in a log of 10 also recomputes the root for a
    // claimed size of 11 (a proof does not bind the size), but the size is signed, so the
    // signatures no longer recover to validators. Size 17 needs a longer path (6 sits in a 16-leaf
    // subtree there).
    let mut v = good.clone();
    v["inclusion"]["size"] = json!(N_MESSAGES + 1);
    v["checkpoint"]["size"] = json!(N_MESSAGES + 1);
    check("both sizes + 1", &v, &|e| {
        matches!(e, Error::UnknownValidator { position: 0, .. })
    });
    let mut v = good.clone();
    v["inclusion"]["size"] = json!(17);
    v["checkpoint"]["size"] = json!(17);
    check("both sizes 17", &v, &|e| {
        matches!(e, Error::ProofLength { .. })
    });
    let mut v = good.clone();
    v["inclusion"]["path"].as_array_mut().unwrap().pop();
    check("dropped path node", &v, &|e| {
        matches!(e, Error::ProofLength { .. })
    });

    // Signatures: a changed s or v recovers to someone else; a dropped one is below threshold.
    let mut v = good.clone();
    let s = v["signatures"][1].as_str().unwrap().to_owned();
    let mut raw = hex::decode(&s[2..]).unwrap();
    raw[63] ^= 1;
    v["signatures"][1] = json!(format!("0x{}", hex::encode(&raw)));
    check("signature s bit", &v, &|e| {
        matches!(e, Error::UnknownValidator { position: 1, .. })
    });
    let mut v = good.clone();
    let mut raw = hex::decode(&s[2..]).unwrap();
    raw[64] = if raw[64] == 27 { 28 } else { 27 };
    v["signatures"][1] = json!(format!("0x{}", hex::encode(&raw)));
    check("signature v", &v, &|e| {
        matches!(e, Error::UnknownValidator { position: 1, .. })
    });
    let mut v = good.clone();
    v["signatures"].as_array_mut().unwrap().remove(2);
    check("dropped signature", &v, &|e| {
        matches!(
            e,
            Error::BelowThreshold {
                valid: 2,
                threshold: 3
            }
        )
    });
    let mut v = good.clone();
    let sigs = v["signatures"].as_array_mut().unwrap();
    sigs.swap(0, 1);
    check("swapped signatures", &v, &|e| {
        matches!(e, Error::SignersNotAscending { position: 1 })
    });

    // T13: the bundle claims another lane.
    let mut v = good.clone();
    v["signing_domain"]["destination_chain_id"] = json!(1);
    check("domain chain id", &v, &|e| {
        matches!(
            e,
            Error::SigningDomainMismatch {
                field: "destination_chain_id",
                ..
            }
        )
    });
    let mut v = good.clone();
    v["signing_domain"]["validator_epoch"] = json!(0);
    check("domain epoch", &v, &|e| {
        matches!(
            e,
            Error::SigningDomainMismatch {
                field: "validator_epoch",
                ..
            }
        )
    });
    let mut v = good.clone();
    v["checkpoint"]["origin"] = json!(9);
    check("checkpoint origin", &v, &|e| {
        matches!(
            e,
            Error::WrongDomain {
                expected: Domain(1),
                actual: Domain(9)
            }
        )
    });
}

/// T13: the bundle is consistent with itself but the verifier trusts another lane.
#[test]
fn verifier_trusts_only_its_own_domain() {
    let f = build();
    for (field, d) in [
        (
            "destination_chain_id",
            SigningDomain {
                destination_chain_id: 31339,
                ..lane()
            },
        ),
        (
            "inbox",
            SigningDomain {
                inbox: Address32([9; 32]),
                ..lane()
            },
        ),
        (
            "validator_epoch",
            SigningDomain {
                validator_epoch: 2,
                ..lane()
            },
        ),
        (
            "origin_chain_id",
            SigningDomain {
                origin_chain_id: 5,
                ..lane()
            },
        ),
    ] {
        let trust = TrustAnchor {
            signing_domain: d,
            validators: f.trust.validators.clone(),
        };
        assert!(
            matches!(f.bundle.verify(&trust), Err(Error::SigningDomainMismatch { field: x, .. }) if x == field),
            "{field}"
        );
    }

    // Signatures made for another lane, relabelled with the verifier's lane: unknown signers.
    let other = SigningDomain {
        destination_chain_id: 31339,
        ..lane()
    };
    let b = &f.bundle;
    let sigs = [0, 2, 4]
        .iter()
        .map(|i| f.keys[*i].sign_checkpoint(b.checkpoint(), &other))
        .collect();
    let relabelled = ProofBundle::assemble(
        b.message().clone(),
        b.inclusion().clone(),
        *b.checkpoint(),
        lane(),
        sigs,
    )
    .unwrap();
    assert!(matches!(
        relabelled.verify(&f.trust),
        Err(Error::UnknownValidator { position: 0, .. })
    ));

    // A stricter threshold than the bundle meets.
    let keys = keys(5, 1);
    let strict = TrustAnchor {
        signing_domain: lane(),
        validators: set_of(&keys, 4),
    };
    assert_eq!(
        f.bundle.verify(&strict),
        Err(Error::BelowThreshold {
            valid: 3,
            threshold: 4
        })
    );
}

/// T15: a message legitimately in the log but destined elsewhere.
#[test]
fn message_for_another_destination_is_rejected() {
    let f = build_with::<causeway_proofs::hash::Sha256Algorithm>(HashAlgorithm::Sha256, Domain(3));
    assert_eq!(
        f.bundle.verify(&f.trust),
        Err(Error::WrongDestination {
            expected: Domain(2),
            actual: Domain(3)
        })
    );
}

/// A message from another origin than the checkpointed log.
#[test]
fn message_from_another_origin_is_wrong_domain() {
    let f = build();
    let b = &f.bundle;
    let foreign = Message::new(
        Nonce(1),
        Domain(7),
        Address32::default(),
        Domain(2),
        Address32::default(),
        vec![],
    )
    .unwrap();
    let sigs = b.signatures().to_vec();
    let bad = ProofBundle::assemble(
        foreign,
        b.inclusion().clone(),
        *b.checkpoint(),
        lane(),
        sigs,
    )
    .unwrap();
    assert_eq!(
        bad.verify(&f.trust),
        Err(Error::WrongDomain {
            expected: Domain(1),
            actual: Domain(7)
        })
    );
}

/// T16: zero root, and a correctly signed checkpoint of the empty log.
#[test]
fn zero_root_and_empty_log() {
    let f = build();
    let mut v = to_value(&f.bundle);
    v["checkpoint"]["root"] = json!(Hash32::ZERO.to_hex());
    assert_eq!(from_value(&v), Err(Error::ZeroRoot));

    // Empty log: root H(""), size 0, validly signed: still nothing can be proven in it.
    let empty_root = HashAlgorithm::Sha256.digest(b"");
    let cp = Checkpoint::new(Domain(1), HashAlgorithm::Sha256, LogSize(0), empty_root).unwrap();
    let sigs = [0, 2, 4]
        .iter()
        .map(|i| f.keys[*i].sign_checkpoint(&cp, &lane()))
        .collect();
    let proof = InclusionProof {
        index: LeafIndex(0),
        size: LogSize(0),
        path: vec![],
    };
    let b = ProofBundle::assemble(message(0, Domain(2)), proof, cp, lane(), sigs).unwrap();
    assert!(matches!(
        b.verify(&f.trust),
        Err(Error::IndexOutOfRange { index: 0, size: 0 })
    ));
}

#[test]
fn unknown_fields_and_wrong_format_are_rejected() {
    let f = build()
        .bundle
        .with_source(SourceReference::default())
        .with_native_proof(NativeProof {
            family: ChainFamily::Fabric,
            data: json!(null),
        });
    let good = to_value(&f);
    from_value(&good).unwrap();
    for ptr in [
        "",
        "/inclusion",
        "/checkpoint",
        "/signing_domain",
        "/source",
        "/native_proof",
    ] {
        let mut v = good.clone();
        v.pointer_mut(ptr)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert("extra".into(), json!(1));
        assert!(
            matches!(from_value(&v), Err(Error::Decode { .. })),
            "unknown field under {ptr:?}"
        );
    }
    let mut v = good.clone();
    v["format"] = json!("causeway-proof-bundle/2");
    let err = from_value(&v).unwrap_err();
    assert!(err.to_string().contains("unsupported format"), "{err}");
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("format");
    let err = from_value(&v).unwrap_err();
    assert!(err.to_string().contains("missing \"format\""), "{err}");
    let mut v = good.clone();
    v["native_proof"]["family"] = json!("bitcoin");
    assert!(matches!(from_value(&v), Err(Error::Decode { .. })));
    assert!(matches!(
        ProofBundle::from_json("not json"),
        Err(Error::Decode { .. })
    ));
    assert!(matches!(
        ProofBundle::from_json("[]"),
        Err(Error::Decode { .. })
    ));
}

#[test]
fn oversized_parts_are_rejected_while_parsing() {
    let f = build();
    let good = to_value(&f.bundle);

    // 65 signatures: refused at the 65th, long before the end of a huge list.
    let sig = good["signatures"][0].clone();
    let mut v = good.clone();
    v["signatures"] = Value::Array(vec![sig.clone(); 65]);
    let err = from_value(&v).unwrap_err();
    assert!(err.to_string().contains("more than 64 signatures"), "{err}");
    let huge = good.to_string().replacen(
        "\"signatures\":[",
        &format!("\"signatures\":[{}", format!("{sig},").repeat(100_000)),
        1,
    );
    let err = ProofBundle::from_json(&huge).unwrap_err().to_string();
    let column: usize = err.rsplit("column ").next().unwrap().parse().unwrap();
    assert!(
        column < huge.len() / 100,
        "stopped at column {column} of {}",
        huge.len()
    );

    let node = good["inclusion"]["path"][0].clone();
    let mut v = good.clone();
    v["inclusion"]["path"] = Value::Array(vec![node; 65]);
    let err = from_value(&v).unwrap_err();
    assert!(err.to_string().contains("more than 64"), "{err}");

    // A message body over the limit, and a truncated message.
    let mut v = good.clone();
    v["message"] = json!(format!("0x01{}", "00".repeat(80 + 65_537)));
    assert!(matches!(from_value(&v), Err(Error::Decode { .. })));
    let mut v = good.clone();
    v["message"] = json!("0x01");
    assert_eq!(
        from_value(&v),
        Err(Error::MessageTooShort { len: 1, min: 81 })
    );

    // The builder refuses what a reader would refuse.
    let b = &f.bundle;
    let too_many = vec![b.signatures()[0]; 65];
    assert!(matches!(
        ProofBundle::assemble(
            b.message().clone(),
            b.inclusion().clone(),
            *b.checkpoint(),
            lane(),
            too_many
        ),
        Err(Error::InconsistentBundle { .. })
    ));

    // A Fabric tx id beyond any real one.
    let mut v = good.clone();
    v["source"] = json!({"fabric_tx_id": "a".repeat(129)});
    assert!(matches!(from_value(&v), Err(Error::Decode { .. })));
}
