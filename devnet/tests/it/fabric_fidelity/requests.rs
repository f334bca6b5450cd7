//! What our adapter signs, decoded and verified by Fabric's official Node protos and node:crypto,
//! and compared with what the official client `@hyperledger/fabric-gateway` builds itself.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use causeway_adapters::fabric::proto::common::{Envelope, Header, Payload};
use causeway_adapters::fabric::proto::orderer::seek_info::SeekBehavior;
use causeway_adapters::fabric::proto::orderer::seek_position::Type as SeekType;
use causeway_adapters::fabric::proto::orderer::{SeekInfo, SeekPosition, SeekSpecified};
use causeway_adapters::fabric::proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, Endorsement, Proposal,
    ProposalResponsePayload, Response, SignedProposal, Transaction, TransactionAction,
};
use causeway_adapters::fabric::request::{
    Invocation, NONCE_LEN, TlsCertHash, chaincode_events_request, commit_status_request, propose,
    seek_envelope, sign_prepared,
};
use p256::ecdsa::Signature;
use prost::Message as _;
use serde_json::{Value, json};

use super::{Member, assert_good_signature, at, member, node, text};

const CHANNEL: &str = "causeway";
const CHAINCODE: &str = "causeway_outbox";
const NONCE: [u8; NONCE_LEN] = [7; NONCE_LEN];

/// 2023-11-14T22:13:20.123456789Z: a timestamp with nanoseconds, to see every digit survive.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)
}

fn specified(number: u64) -> SeekPosition {
    SeekPosition {
        r#type: Some(SeekType::Specified(SeekSpecified { number })),
    }
}

/// `dispatch(destination, recipient, body)` with a body that is not UTF-8 and one transient
/// entry (a single one: protobuf maps have no defined order, so two could re-encode in another).
fn invocation() -> Invocation {
    let mut invocation = Invocation::new(
        CHANNEL,
        CHAINCODE,
        "dispatch",
        vec![
            b"7".to_vec(),
            b"0x00000000000000000000000000000000000000000000000000000000000000ab".to_vec(),
            vec![0x00, 0xff, 0x80, b'b', b'o', b'd', b'y'],
        ],
    );
    invocation.transient = HashMap::from([("secret".to_owned(), vec![1, 2, 3])]);
    invocation
}

/// The same signature with S replaced by n - S (still valid ECDSA, but Fabric rejects it).
fn high_s(der: &[u8]) -> Vec<u8> {
    let signature = Signature::from_der(der).unwrap();
    let (r, s) = signature.split_scalars();
    let high = Signature::from_scalars(r, -s).unwrap();
    assert!(high.normalize_s().is_some(), "n - low S is high");
    high.to_der().as_bytes().to_vec()
}

/// A prepared transaction as a Gateway assembles it from `proposal` (header and proposal
/// payload of the proposal, one endorsed action whose chaincode response carries `result`),
/// then signed by our `sign_prepared` for Submit.
fn prepared(member: &Member, proposal: &SignedProposal, result: &[u8]) -> Envelope {
    let proposal = Proposal::decode(proposal.proposal_bytes.as_slice()).unwrap();
    let header = Header::decode(proposal.header.as_slice()).unwrap();
    let response_payload = ProposalResponsePayload {
        proposal_hash: vec![0x11; 32],
        extension: ChaincodeAction {
            response: Some(Response {
                status: 200,
                message: String::new(),
                payload: result.to_vec(),
            }),
            ..Default::default()
        }
        .encode_to_vec(),
    }
    .encode_to_vec();
    let endorser = member.signer.creator().to_vec();
    let mut signed_data = response_payload.clone();
    signed_data.extend_from_slice(&endorser);
    let action_payload = ChaincodeActionPayload {
        chaincode_proposal_payload: proposal.payload.clone(),
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: response_payload,
            endorsements: vec![Endorsement {
                endorser,
                signature: member.signer.sign(&signed_data),
            }],
        }),
    };
    let mut envelope = Envelope {
        payload: Payload {
            data: Transaction {
                actions: vec![TransactionAction {
                    header: header.signature_header.clone(),
                    payload: action_payload.encode_to_vec(),
                }],
            }
            .encode_to_vec(),
            header: Some(header),
        }
        .encode_to_vec(),
        signature: Vec::new(),
    };
    sign_prepared(&member.signer, &mut envelope);
    envelope
}

/// The JSON paths at which `a` and `b` differ (objects compared key by key).
fn differences(a: &Value, b: &Value, path: &str, out: &mut BTreeSet<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                differences(
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    &sub,
                    out,
                );
            }
        }
        _ if a != b => {
            out.insert(path.to_owned());
        }
        _ => {}
    }
}

#[tokio::test]
async fn signed_requests_decode_and_verify_with_the_official_protos() {
    let org1 = member("Org1MSP");
    let signer = &org1.signer;
    let call = invocation();
    let proposed = propose(signer, &call, NONCE, now());
    let tx_id = proposed.tx_id.clone();
    // An evaluate-style proposal with no arguments and no transient data.
    let bare = propose(
        signer,
        &Invocation::new(CHANNEL, CHAINCODE, "nonce", Vec::new()),
        [9; NONCE_LEN],
        now(),
    );
    // Two that must fail Node's checks: S flipped high, and one argument byte changed.
    let mut flipped = proposed.signed_proposal.clone();
    flipped.signature = high_s(&flipped.signature);
    let mut tampered = proposed.signed_proposal.clone();
    let last = tampered.proposal_bytes.len() - 1;
    let at_body = tampered
        .proposal_bytes
        .windows(4)
        .rposition(|w| w == b"body")
        .expect("the body argument is in the proposal");
    assert!(at_body < last);
    tampered.proposal_bytes[at_body] = b'B';

    let prepared = prepared(&org1, &proposed.signed_proposal, b"message id");
    let commit = commit_status_request(signer, &tx_id, CHANNEL);
    let events_from_5 = chaincode_events_request(signer, CHANNEL, CHAINCODE, specified(5), None);
    let events_after =
        chaincode_events_request(signer, CHANNEL, CHAINCODE, specified(8), Some(&bare.tx_id));
    // What FabricClient::deliver_blocks sends (under mutual TLS: bound to its certificate).
    let tls_cert_hash = TlsCertHash::of_der(b"a client TLS certificate");
    let seek = seek_envelope(
        signer,
        CHANNEL,
        &SeekInfo {
            start: Some(specified(5)),
            stop: Some(specified(u64::MAX)),
            behavior: SeekBehavior::BlockUntilReady as i32,
            ..Default::default()
        },
        Some(&tls_cert_hash),
        NONCE,
        now(),
    );

    let hex_of = |m: &dyn Fn() -> Vec<u8>| hex::encode(m());
    let input = json!({
        "proposals": [
            hex_of(&|| proposed.signed_proposal.encode_to_vec()),
            hex_of(&|| bare.signed_proposal.encode_to_vec()),
            hex_of(&|| flipped.encode_to_vec()),
            hex_of(&|| tampered.encode_to_vec()),
        ],
        "prepared": [hex::encode(prepared.encode_to_vec())],
        "commit_status": [hex::encode(commit.encode_to_vec())],
        "chaincode_events": [
            hex::encode(events_from_5.encode_to_vec()),
            hex::encode(events_after.encode_to_vec()),
        ],
        "seek": [hex::encode(seek.encode_to_vec())],
        "official": {
            "mspid": "Org1MSP",
            "certificate": org1.certificate_pem,
            "channel": CHANNEL,
            "chaincode": CHAINCODE,
            "function": call.function,
            "args": call.args.iter().map(hex::encode).collect::<Vec<_>>(),
            "transient": {"secret": "010203"},
            "start_block": 5,
        },
    });
    let out = node("requests.mjs", &input).await;

    // 1. The proposal: every field where we put it, the tx id Node recomputes, a good signature.
    let p = at(&out, "proposals.0");
    let header = at(p, "proposal.header");
    assert_eq!(
        at(header, "channel_header"),
        &json!({
            "type": 3,
            "type_name": "ENDORSER_TRANSACTION",
            "version": 0,
            "timestamp": {"seconds": 1_700_000_000u64, "nanos": 123_456_789},
            "channel_id": CHANNEL,
            "tx_id": tx_id.0,
            "epoch": 0,
            "extension": {"chaincode_id": {"name": CHAINCODE, "path": "", "version": ""}, "reencodes": true},
            "extension_hex": text(header, "channel_header.extension_hex"),
            "tls_cert_hash": "",
        })
    );
    assert_eq!(
        at(header, "signature_header.creator"),
        &json!({"mspid": "Org1MSP", "certificate": org1.certificate_pem})
    );
    assert_eq!(
        text(header, "signature_header.creator_hex"),
        hex::encode(signer.creator())
    );
    assert_eq!(text(header, "signature_header.nonce"), hex::encode(NONCE));
    // Node's hex(SHA-256(nonce || creator)) is the id we derived and put in the header.
    assert_eq!(text(header, "computed_tx_id"), tx_id.0);
    assert_eq!(
        at(p, "proposal.payload"),
        &json!({
            "chaincode_spec": {
                "type": 2,
                "chaincode_id": {"name": CHAINCODE, "path": "", "version": ""},
                "args": [hex::encode("dispatch"), hex::encode("7"), hex::encode(&call.args[1]), "00ff80626f6479"],
                "decorations": 0,
                "is_init": false,
                "timeout": 0,
            },
            "transient_map": {"secret": "010203"},
        })
    );
    assert_eq!(text(p, "proposal.extension_hex"), "");
    assert_good_signature(p, "signature");
    // fabric-protos re-serializes every message to our exact bytes: same field numbers, wire
    // types and order, and nothing it does not know.
    assert_eq!(at(p, "proposal.reencodes"), true);
    assert_eq!(at(p, "reencodes"), true);

    let b = at(&out, "proposals.1");
    assert_eq!(
        text(b, "proposal.header.computed_tx_id"),
        bare.tx_id.0.as_str()
    );
    assert_eq!(
        text(b, "proposal.header.channel_header.tx_id"),
        bare.tx_id.0.as_str()
    );
    assert_eq!(
        at(b, "proposal.payload.chaincode_spec.args"),
        &json!([hex::encode("nonce")])
    );
    assert_eq!(at(b, "proposal.payload.transient_map"), &json!({}));
    assert_good_signature(b, "signature");
    assert_eq!(at(b, "reencodes"), true);

    // The checks can fail: node:crypto accepts n - S (plain ECDSA), Fabric's low-S rule does
    // not; a changed byte breaks the signature.
    assert_eq!(
        at(&out, "proposals.2.signature"),
        &json!({"curve": "prime256v1", "valid": true, "low_s": false, "strict_der": true})
    );
    assert_eq!(at(&out, "proposals.3.signature.valid"), false);

    // 2. The prepared transaction signed for Submit; the official client parses it offline.
    let t = at(&out, "prepared.0");
    assert_eq!(text(t, "header.channel_header.tx_id"), tx_id.0);
    assert_eq!(text(t, "header.computed_tx_id"), tx_id.0);
    assert_eq!(text(t, "header.channel_header.channel_id"), CHANNEL);
    assert_eq!(at(t, "transaction.actions"), 1);
    let payload = Payload::decode(prepared.payload.as_slice()).unwrap();
    assert_eq!(
        at(t, "transaction.official"),
        &json!({
            "transaction_id": tx_id.0,
            "result": hex::encode("message id"),
            "digest": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(payload.encode_to_vec())),
        })
    );
    assert_good_signature(t, "signature");
    assert_eq!(at(t, "reencodes"), true);

    // 3. CommitStatus.
    let c = at(&out, "commit_status.0");
    assert_eq!(text(c, "transaction_id"), tx_id.0);
    assert_eq!(text(c, "channel_id"), CHANNEL);
    assert_eq!(text(c, "identity.mspid"), "Org1MSP");
    assert_eq!(text(c, "identity.certificate"), org1.certificate_pem);
    assert_good_signature(c, "signature");
    assert_eq!(at(c, "reencodes"), true);

    // 4. ChaincodeEvents, from a block and after a transaction.
    let e = at(&out, "chaincode_events.0");
    assert_eq!(text(e, "channel_id"), CHANNEL);
    assert_eq!(text(e, "chaincode_id"), CHAINCODE);
    assert_eq!(text(e, "identity.certificate"), org1.certificate_pem);
    assert_eq!(at(e, "start_position"), &json!({"specified": 5}));
    assert_eq!(text(e, "after_transaction_id"), "");
    assert_good_signature(e, "signature");
    assert_eq!(at(e, "reencodes"), true);
    let e = at(&out, "chaincode_events.1");
    assert_eq!(at(e, "start_position"), &json!({"specified": 8}));
    assert_eq!(text(e, "after_transaction_id"), bare.tx_id.0.as_str());
    assert_good_signature(e, "signature");

    // 5. The Deliver seek envelope.
    let s = at(&out, "seek.0");
    assert_eq!(
        text(s, "header.channel_header.type_name"),
        "DELIVER_SEEK_INFO"
    );
    assert_eq!(text(s, "header.channel_header.channel_id"), CHANNEL);
    // ChannelHeader.tls_cert_hash (field 8), where Fabric's deliver BindingInspector reads it.
    assert_eq!(
        text(s, "header.channel_header.tls_cert_hash"),
        hex::encode(tls_cert_hash.0)
    );
    assert_eq!(
        at(s, "header.channel_header.timestamp"),
        &json!({"seconds": 1_700_000_000u64, "nanos": 123_456_789})
    );
    assert_eq!(at(s, "seek_info.start"), &json!({"specified": 5}));
    // google-protobuf reads uint64 as a JS number: 2^64 - 1 arrives rounded to 2^64.
    assert_eq!(
        at(s, "seek_info.stop.specified").as_f64(),
        Some(u64::MAX as f64)
    );
    assert_eq!(
        at(s, "seek_info.behavior"),
        SeekBehavior::BlockUntilReady as i32
    );
    assert_good_signature(s, "signature");

    // 6. The official client's own requests for the same identity and call.
    let official = at(&out, "official");
    // Its ChaincodeEvents request is byte for byte ours (no nonce or time in it).
    assert_eq!(
        text(official, "chaincode_events_request_hex"),
        text(&out, "chaincode_events.0.request_hex")
    );
    // Its proposal has our proposal's shape, field for field (ChaincodeSpec.type = NODE
    // included, as fabric-gateway sets it in every proposal): only the per-call values differ
    // (nonce, tx id, time).
    let mut diff = BTreeSet::new();
    differences(at(official, "proposal"), at(p, "proposal"), "", &mut diff);
    let per_call: BTreeSet<String> = [
        "header.channel_header.timestamp.nanos",
        "header.channel_header.timestamp.seconds",
        "header.channel_header.tx_id",
        "header.computed_tx_id",
        "header.signature_header.nonce",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(diff, per_call, "official vs ours: {official:#}");
    assert_eq!(at(official, "proposal.payload.chaincode_spec.type"), 2);
    assert_eq!(at(p, "proposal.payload.chaincode_spec.type"), 2);
    // And byte for byte: ours, built with the official proposal's nonce and time, is the very
    // proposal the official client signs.
    let official_nonce: [u8; NONCE_LEN] =
        hex::decode(text(official, "proposal.header.signature_header.nonce"))
            .unwrap()
            .try_into()
            .unwrap();
    let official_time = at(official, "proposal.header.channel_header.timestamp");
    let official_now = UNIX_EPOCH
        + Duration::new(
            official_time["seconds"].as_u64().unwrap(),
            u32::try_from(official_time["nanos"].as_u64().unwrap()).unwrap(),
        );
    let rebuilt = propose(signer, &call, official_nonce, official_now);
    assert_eq!(
        hex::encode(&rebuilt.signed_proposal.proposal_bytes),
        text(official, "proposal_hex")
    );
    assert_eq!(rebuilt.tx_id.0, text(official, "transaction_id"));
    assert_eq!(
        text(official, "proposal.header.computed_tx_id"),
        text(official, "transaction_id")
    );
    // Its block events request: the same header type and start; it stops at 2^53 - 1 where we
    // stop at 2^64 - 1 (both mean "never stop"), and it sends no nonce.
    assert_eq!(
        text(official, "block_events.header.channel_header.type_name"),
        "DELIVER_SEEK_INFO"
    );
    assert_eq!(
        at(official, "block_events.seek_info.start"),
        at(s, "seek_info.start")
    );
    assert_eq!(
        at(official, "block_events.seek_info.behavior"),
        at(s, "seek_info.behavior")
    );
}
