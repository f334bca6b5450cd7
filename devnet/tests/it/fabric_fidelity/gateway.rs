//! The test network seen through Fabric's official Node code: the blocks our client fetches
//! from it decode and verify with `@hyperledger/fabric-protos`, and the official client
//! `@hyperledger/fabric-gateway` evaluates, submits and reads chaincode and block events on it.

use std::time::Duration;

use causeway_adapters::fabric::proto::gateway::PreparedTransaction;
use causeway_adapters::fabric::{FabricBlock, TransactionId};
use causeway_devnet::fabric::{
    DISPATCH_EVENT, FabricNetwork, FabricNetworkOptions, ORDERER, ORG1, ORG2, OUTBOX_CHAINCODE,
    dispatch, dispatch_invocation,
};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, Message, Nonce};
use prost::Message as _;
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;

use super::blocks::{assert_same_block, decode_in_node};
use causeway_devnet::node::{fidelity_script, run_json};

use super::{at, node, text};

/// A good signature check by `mspid`, as blocks.mjs reports it.
fn signed_by(mspid: &str) -> Value {
    json!({"mspid": mspid, "curve": "prime256v1", "valid": true, "low_s": true, "strict_der": true})
}

fn dispatch_args(destination: u32, recipient: &Address32, body: &[u8]) -> Vec<Vec<u8>> {
    dispatch_invocation("", Domain(destination), *recipient, body).args
}

#[tokio::test]
async fn test_network_blocks_fetched_by_our_client_decode_and_verify_with_the_official_protos() {
    let net = FabricNetwork::start(FabricNetworkOptions::default())
        .await
        .unwrap();
    let client = net.client(ORG1).await.unwrap();
    // Three dispatches through our client: endorse, submit, commit status.
    let recipient = Address32([0x42; 32]);
    let mut tx_ids: Vec<TransactionId> = Vec::new();
    for i in 0..3u8 {
        let (tx_id, _) = dispatch(&client, net.channel(), Domain(7), recipient, &[i; 5])
            .await
            .unwrap();
        tx_ids.push(tx_id);
    }
    // Every block, genesis included, from the peer's Deliver service through our client.
    let height = net.height();
    let mut stream = client.deliver_blocks(net.channel(), 0).await.unwrap();
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    while (blocks.len() as u64) < height {
        let block = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("the peer delivers every block")
            .expect("the stream stays open")
            .unwrap();
        blocks.push(block.encode());
    }
    drop(stream);

    let seen = decode_in_node(&blocks).await;
    let ours: Vec<FabricBlock> = blocks
        .iter()
        .zip(&seen)
        .map(|(bytes, seen)| assert_same_block(bytes, seen))
        .collect();
    assert_eq!(text(&seen[0], "transactions.0.type_name"), "CONFIG");
    let mut found = Vec::new();
    let seen_all = &seen;
    for (n, (block, seen)) in ours.iter().zip(seen_all).enumerate() {
        // Node's header hash of each block is the next block's previous_hash; its data hash
        // is the header's.
        if n > 0 {
            assert_eq!(
                text(seen, "previous_hash"),
                text(&seen_all[n - 1], "header_hash")
            );
        }
        assert_eq!(text(seen, "data_hash"), text(seen, "computed_data_hash"));
        // The orderer's block signature verifies in node:crypto, low S.
        let signatures = at(seen, "signatures.signatures").as_array().unwrap();
        assert!(!signatures.is_empty(), "block {n} is signed");
        for signature in signatures {
            assert_eq!(signature, &signed_by(ORDERER), "block {n}");
        }
        // One validation code per transaction.
        assert_eq!(
            text(seen, "transactions_filter").len() / 2,
            block.data().data.len()
        );
        for (i, tx) in at(seen, "transactions")
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            if text(tx, "type_name") != "ENDORSER_TRANSACTION" {
                continue;
            }
            // Node recomputes the tx id and verifies the client's signature and both
            // organisations' endorsements (over proposal_response_payload || endorser).
            assert_eq!(text(tx, "computed_tx_id"), text(tx, "tx_id"));
            assert_eq!(at(tx, "creator_signature"), &signed_by(ORG1));
            assert_eq!(text(tx, "chaincode"), OUTBOX_CHAINCODE);
            let action = at(tx, "actions.0");
            let mut endorsers: Vec<&str> = at(action, "endorsements")
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    assert_eq!(e, &signed_by(e["mspid"].as_str().unwrap()));
                    e["mspid"].as_str().unwrap()
                })
                .collect();
            endorsers.sort_unstable();
            assert_eq!(endorsers, [ORG1, ORG2]);
            assert_eq!(text(action, "chaincode_id.name"), OUTBOX_CHAINCODE);
            assert_eq!(at(action, "response.status"), 200);
            assert_eq!(text(action, "event.event_name"), DISPATCH_EVENT);
            assert_eq!(text(action, "event.chaincode_id"), OUTBOX_CHAINCODE);
            assert_eq!(text(action, "event.tx_id"), text(tx, "tx_id"));
            // The event payload is the message whose id the chaincode returned.
            let message =
                Message::decode(&hex::decode(text(action, "event.payload")).unwrap()).unwrap();
            assert_eq!(
                text(action, "response.payload"),
                hex::encode(message.id().as_hash().0)
            );
            assert_eq!(message.origin(), net.domain());
            assert_eq!(message.recipient(), recipient);
            // The read/write set Node decodes: the outbox read and advanced its nonce.
            let ns = at(action, "rwset")
                .as_array()
                .unwrap()
                .iter()
                .find(|ns| ns["namespace"] == OUTBOX_CHAINCODE)
                .unwrap_or_else(|| panic!("no {OUTBOX_CHAINCODE} namespace in {action:#}"));
            assert_eq!(at(ns, "reads.0.key"), "nonce");
            assert_eq!(at(ns, "writes.0.key"), "nonce");
            assert_eq!(
                text(ns, "writes.0.value"),
                hex::encode((message.nonce().0 + 1).to_string())
            );
            // VALID in TRANSACTIONS_FILTER.
            assert_eq!(&text(seen, "transactions_filter")[i * 2..i * 2 + 2], "00");
            found.push(text(tx, "tx_id").to_owned());
        }
    }
    let expected: Vec<String> = tx_ids.iter().map(|id| id.0.clone()).collect();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn the_official_client_evaluates_submits_and_reads_events_on_the_test_network() {
    let net = FabricNetwork::start(FabricNetworkOptions::default())
        .await
        .unwrap();
    let org1 = net.org(ORG1);
    let folder = org1.msp_folder();
    let recipient = Address32([0xab; 32]);
    let body = b"hello from fabric-gateway \x00\xff".to_vec();
    let input = json!({
        "endpoint": net.endpoint(),
        "tls_ca_pem": String::from_utf8(net.tls_ca_pem().to_vec()).unwrap(),
        "msp": {"mspid": ORG1, "path": folder.path()},
        "channel": net.channel(),
        "chaincode": OUTBOX_CHAINCODE,
        "dispatch": dispatch_args(7, &recipient, &body).iter().map(hex::encode).collect::<Vec<_>>(),
        // Not a decimal domain: the chaincode refuses it, nothing is written.
        "bad_dispatch": dispatch_args(7, &recipient, b"x")
            .into_iter()
            .enumerate()
            .map(|(i, arg)| hex::encode(if i == 0 { b"seven".to_vec() } else { arg }))
            .collect::<Vec<_>>(),
        "events_start_block": 0,
        "timeout_ms": 20_000,
    });
    let out = node("gateway.mjs", &input).await;

    // Evaluate: the outbox's next nonce, before and after one dispatch, and after a second
    // one (unchanged by the refused one).
    assert_eq!(text(&out, "nonce_before"), "0");
    assert_eq!(text(&out, "nonce_after"), "1");
    assert_eq!(text(&out, "nonce_at_end"), "2");

    // Submit: endorsed, ordered, committed VALID (code 0) in a block after genesis.
    let submitted = at(&out, "submitted");
    let tx_id = text(submitted, "transaction_id").to_owned();
    assert_eq!(text(submitted, "proposal_transaction_id"), tx_id);
    assert_eq!(
        at(submitted, "status"),
        &json!({
            "code": 0,
            "successful": true,
            "block_number": at(submitted, "status.block_number"),
            "transaction_id": tx_id,
        })
    );
    let block_number: u64 = text(submitted, "status.block_number").parse().unwrap();
    assert!(block_number >= 1);

    // The message the chaincode built: from this network's domain, sent by keccak-256 of the
    // official client's creator bytes (SerializedIdentity of the MSP folder's certificate).
    let creator = org1.user().creator().to_vec();
    let expected = Message::new(
        Nonce(0),
        net.domain(),
        Address32(keccak256(&creator).0),
        Domain(7),
        recipient,
        body.clone(),
    )
    .unwrap();
    // The result the official client parsed out of the prepared transaction is its id.
    assert_eq!(
        text(submitted, "result"),
        hex::encode(expected.id().as_hash().0)
    );

    // Chaincode events from block 0: exactly our dispatch, with the exact message bytes.
    let events = at(&out, "events").as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(text(event, "transaction_id"), tx_id);
    assert_eq!(text(event, "block_number"), block_number.to_string());
    assert_eq!(text(event, "chaincode_name"), OUTBOX_CHAINCODE);
    assert_eq!(text(event, "event_name"), DISPATCH_EVENT);
    let payload = hex::decode(text(event, "payload")).unwrap();
    assert_eq!(payload, expected.encode());
    assert_eq!(Message::decode(&payload).unwrap(), expected);

    // Resumed from the official checkpointer set at our event: the stream starts at our
    // block, skips our transaction and delivers the second dispatch first.
    let resumed = at(&out, "resumed");
    assert_eq!(
        at(resumed, "checkpoint"),
        &json!({"block_number": block_number.to_string(), "transaction_id": tx_id})
    );
    let second_tx = text(resumed, "second.transaction_id");
    assert_ne!(second_tx, tx_id);
    assert_eq!(at(resumed, "second.code"), 0);
    let second_block: u64 = text(resumed, "second.block_number").parse().unwrap();
    assert!(second_block > block_number);
    let first = at(resumed, "first_event");
    assert_eq!(text(first, "transaction_id"), second_tx);
    assert_eq!(text(first, "block_number"), second_block.to_string());
    assert_eq!(text(first, "event_name"), DISPATCH_EVENT);
    let second = Message::decode(&hex::decode(text(first, "payload")).unwrap()).unwrap();
    assert_eq!(second.nonce(), Nonce(1));
    assert_eq!(
        text(resumed, "second.result"),
        hex::encode(second.id().as_hash().0)
    );

    // Block events from block 0: every block byte for byte the peer's ledger block, the last
    // one holding the prepared transaction the official client signed, VALID.
    let blocks = at(&out, "blocks").as_array().unwrap();
    assert_eq!(blocks.len() as u64, block_number + 1);
    for (n, block) in blocks.iter().enumerate() {
        assert_eq!(at(block, "number").as_u64(), Some(n as u64));
        assert_eq!(
            hex::decode(text(block, "bytes")).unwrap(),
            net.block(n as u64).unwrap().encode()
        );
    }
    let block_bytes = hex::decode(text(&blocks[blocks.len() - 1], "bytes")).unwrap();
    let block = FabricBlock::decode(&block_bytes).unwrap();
    let transactions = block.transactions().unwrap();
    let index = transactions
        .iter()
        .position(|tx| tx.tx_id() == tx_id)
        .expect("the transaction is in its block");
    assert!(block.validation_codes().unwrap()[index].is_valid());
    let prepared =
        PreparedTransaction::decode(hex::decode(text(submitted, "prepared")).unwrap().as_slice())
            .unwrap();
    assert_eq!(prepared.transaction_id, tx_id);
    let envelope = prepared.envelope.unwrap();
    assert_eq!(envelope.payload, transactions[index].payload);
    // The client signed the payload with the MSP folder's key, low S, as a Fabric committer
    // requires.
    let client_identity = org1.user().identity();
    assert_eq!(transactions[index].signature_header.creator, creator);
    causeway_adapters::fabric::verify_endorsement_signature(
        client_identity.verifying_key(),
        &transactions[index].payload,
        &transactions[index].signature,
    )
    .unwrap();

    // An unknown function: Evaluate fails as Fabric's gateway fails it, gRPC status UNKNOWN
    // (2), "evaluate call to endorser returned error: chaincode response 500, <message>", with
    // the peer's ErrorDetail.
    let error = at(&out, "bad_evaluate.error");
    assert_eq!(text(error, "name"), "GatewayError", "{error:#}");
    assert_eq!(at(error, "code"), 2, "{error:#}");
    // (Fabric's internal/pkg/gateway/evaluate.go: the status message is "evaluate call to
    // endorser returned error: " + the detail's message, which for a chaincode error is
    // "chaincode response <status>, <chaincode message>".)
    let expected_prefix =
        "2 UNKNOWN: evaluate call to endorser returned error: chaincode response 500, ";
    let message = text(error, "message");
    assert!(
        message.starts_with(expected_prefix),
        "Evaluate error message\n expected prefix: {expected_prefix}\n got: {message}\n{error:#}"
    );
    let details = at(error, "details").as_array().unwrap();
    assert!(!details.is_empty(), "{error:#}");

    // A refused dispatch: the official client reports an EndorseError with gRPC status
    // ABORTED (10) and one ErrorDetail per failing peer carrying the chaincode's message, as
    // Fabric's gateway does ("chaincode response 500, <message>").
    let error = at(&out, "bad_dispatch.error");
    assert_eq!(text(error, "name"), "EndorseError", "{error:#}");
    assert_eq!(at(error, "code"), 10, "{error:#}");
    let details = at(error, "details").as_array().unwrap();
    assert!(!details.is_empty(), "{error:#}");
    for detail in details {
        assert!(
            text(detail, "message").starts_with("chaincode response 500, "),
            "{error:#}"
        );
    }
}

#[tokio::test]
async fn the_official_client_needs_and_uses_a_client_certificate_under_mutual_tls() {
    let net = FabricNetwork::start(FabricNetworkOptions {
        require_client_tls: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let recipient = Address32([0xcd; 32]);
    let mut input = json!({
        "endpoint": net.endpoint(),
        "tls_ca_pem": String::from_utf8(net.tls_ca_pem().to_vec()).unwrap(),
        "msp": {"mspid": ORG2, "path": net.org(ORG2).msp_folder().path()},
        "channel": net.channel(),
        "chaincode": OUTBOX_CHAINCODE,
        "dispatch": dispatch_args(9, &recipient, b"mtls").iter().map(hex::encode).collect::<Vec<_>>(),
        "bad_dispatch": [hex::encode("9")],
        "events_start_block": 0,
        "timeout_ms": 5_000,
    });
    // Without a client certificate the TLS handshake is refused: the first call fails.
    let refused = run_json(&fidelity_script("gateway.mjs"), &input).await;
    let Err(causeway_devnet::Error::NodeScript { stderr, .. }) = refused else {
        panic!("a client without a TLS certificate got through: {refused:?}");
    };
    assert!(stderr.contains("UNAVAILABLE"), "{stderr}");
    // With the network's client certificate, the whole flow works, as Org2MSP's user.
    let tls = net.client_tls_identity();
    input["client_tls"] = json!({
        "cert_pem": String::from_utf8(tls.cert_pem).unwrap(),
        "key_pem": String::from_utf8(tls.key_pem.to_vec()).unwrap(),
    });
    input["timeout_ms"] = json!(20_000);
    let out = node("gateway.mjs", &input).await;
    assert_eq!(text(&out, "nonce_after"), "1");
    assert_eq!(at(&out, "submitted.status.code"), 0);
    assert_eq!(text(&out, "identity.mspid"), ORG2);
    let event = at(&out, "events.0");
    let message = Message::decode(&hex::decode(text(event, "payload")).unwrap()).unwrap();
    assert_eq!(
        message.sender(),
        Address32(keccak256(net.org(ORG2).user().creator()).0)
    );
    assert_eq!(message.body(), b"mtls");
    // A dispatch with one argument instead of three is refused at endorsement.
    assert_eq!(text(&out, "bad_dispatch.error.name"), "EndorseError");
    // Block events bound to the client certificate (tlsClientCertificateHash) stream; without
    // the hash the peer answers BAD_REQUEST (400), as Fabric's deliver BindingInspector does,
    // and the official client reports that status.
    assert!(!at(&out, "blocks").as_array().unwrap().is_empty());
    let unbound = text(&out, "unbound_block_events.error.message");
    assert!(unbound.contains("400"), "{unbound}");
}
