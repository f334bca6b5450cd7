//! [`FabricSource`] against the devnet Fabric test network (`causeway_devnet::fabric`): outbox
//! events read from Deliver with every block verified; the network's fault hooks for each
//! rejection (invalid transaction, endorsement outside the policy, tampered data hash, broken
//! hash chain, expired or wrong-CA certificates, a peer with another CA's TLS certificate); a
//! look-alike chaincode's events; a transaction larger than tonic's 4 MiB default message size;
//! a state read endorsed by a client certificate; and a peer stopped and restarted while the
//! source reads.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use causeway_adapters::fabric::proto::common::{Envelope, Payload};
use causeway_adapters::fabric::proto::protos::{
    ChaincodeActionPayload, Endorsement, Transaction, TxValidationCode,
};
use causeway_adapters::fabric::request::Invocation;
use causeway_adapters::fabric::{
    CommitStatus, DEFAULT_READ_MAX_AGE, FabricClient, FabricIdentity, FabricSource,
    FabricSourceConfig, FabricStateProof, FabricVerifierConfig, MspRole, SigningIdentity,
};
use causeway_adapters::{Cursor, Error, NativeVerifier, ObservedMessage, Source};
use causeway_devnet::fabric::{
    Chaincode, ChaincodeError, DISPATCH_EVENT, EndorsementFault, FabricNetwork,
    FabricNetworkOptions, Fault, IdentityKind, ORG1, ORG2, OUTBOX_CHAINCODE, Response, Stub,
    TlsServing, commit_invocation, dispatch_invocation,
};
use causeway_proofs::{Address32, Domain, Message, Nonce};
use prost::Message as _;

/// A network that cuts a block per transaction, so that each dispatch is committed at once
/// (every dispatch reads and writes the outbox's nonce: two in one block would conflict).
async fn network() -> FabricNetwork {
    FabricNetwork::start(FabricNetworkOptions {
        max_message_count: 1,
        batch_timeout: Duration::from_millis(5),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn verifier_config(net: &FabricNetwork) -> FabricVerifierConfig {
    let mut config = FabricVerifierConfig::new(
        net.channel(),
        net.trusted_msps(),
        net.orderer_msps(),
        net.endorsement_policy(),
    );
    config.outbox_chaincode = OUTBOX_CHAINCODE.to_owned();
    config
}

async fn source(net: &FabricNetwork) -> FabricSource {
    let client = net.client(ORG1).await.unwrap();
    let mut config = FabricSourceConfig::new(net.domain(), verifier_config(net));
    config.idle_wait = Duration::from_millis(100);
    FabricSource::new(client, net.endpoint(), config).unwrap()
}

/// Dispatches `body` to domain 1 on the outbox as `client`; returns where it was committed.
async fn dispatch(net: &FabricNetwork, client: &FabricClient, body: &str) -> CommitStatus {
    let invocation = outbox_dispatch(net, body.as_bytes());
    commit_invocation(client, &invocation).await.unwrap().1
}

/// The outbox's `dispatch` of `body` to domain 1.
fn outbox_dispatch(net: &FabricNetwork, body: &[u8]) -> Invocation {
    dispatch_invocation(net.channel(), Domain(1), Address32([0x22; 32]), body)
}

/// Reads batches from `cursor` until the source reports it caught up; verifies every message
/// with the source's offline verifier.
async fn drain(
    source: &FabricSource,
    mut cursor: Cursor,
) -> Result<(Vec<ObservedMessage>, Cursor), Error> {
    let verifier = source.verifier();
    let mut out = Vec::new();
    loop {
        let batch = source.next_batch(&cursor).await?;
        for m in &batch.messages {
            verifier.verify(m).unwrap();
        }
        out.extend(batch.messages.iter().cloned());
        cursor = batch.cursor.clone();
        if batch.caught_up() {
            return Ok((out, cursor));
        }
    }
}

fn bodies(messages: &[ObservedMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|m| String::from_utf8(m.message.body().to_vec()).unwrap())
        .collect()
}

fn refusal(result: Result<(Vec<ObservedMessage>, Cursor), Error>) -> (u64, String) {
    match result {
        Err(Error::InvalidBlock { number, reason, .. }) => (number, reason),
        Err(other) => panic!("expected a refused block, got {other}"),
        Ok((messages, _)) => panic!("accepted {:?}", bodies(&messages)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_events_are_read_with_verified_proofs_from_a_cursor() {
    let net = network().await;
    let client = net.client(ORG1).await.unwrap();
    let source = source(&net).await;
    for i in 0..4 {
        let status = dispatch(&net, &client, &format!("m{i}")).await;
        assert!(status.code.is_valid());
    }
    let (messages, cursor) = drain(&source, Cursor::Start { height: 0 }).await.unwrap();
    assert_eq!(bodies(&messages), ["m0", "m1", "m2", "m3"]);
    let nonces: Vec<u64> = messages.iter().map(|m| m.message.nonce().0).collect();
    assert_eq!(nonces, [0, 1, 2, 3]);
    for m in &messages {
        assert_eq!(m.message.origin(), net.domain());
        assert_eq!(m.source.event_index, Some(0));
        assert_eq!(m.source.fabric_tx_id.as_ref().map(String::len), Some(64));
    }
    assert_eq!(cursor.processed().map(|(h, _)| h), Some(net.height() - 1));

    // From the cursor on: only what is new.
    dispatch(&net, &client, "m4").await;
    let (more, _) = drain(&source, cursor.clone()).await.unwrap();
    assert_eq!(bodies(&more), ["m4"]);
    let counters = source.counters();
    assert_eq!(counters.messages, 5);
    assert_eq!(counters.refused_blocks, 0);
    // A cursor whose block hash is not the chain's is a broken hash chain, never a skip.
    let (height, _) = cursor.processed().unwrap();
    let forged = Cursor::After {
        height,
        block_id: causeway_adapters::BlockId::new(vec![0xab; 32]),
    };
    let (number, reason) = refusal(drain(&source, forged).await);
    assert_eq!(number, height + 1);
    assert!(
        reason.contains("is not the previous header hash abab"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_reads_over_mutual_tls_with_requests_bound_to_its_certificate() {
    // A peer requiring client certificates refuses Deliver requests that do not carry the
    // hash of the connection's certificate (Fabric's BindingInspector): the source's client
    // sets it, so the whole path works over mutual TLS.
    let net = FabricNetwork::start(FabricNetworkOptions {
        max_message_count: 1,
        batch_timeout: Duration::from_millis(5),
        require_client_tls: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = net.client(ORG1).await.unwrap();
    assert_eq!(
        client.tls_cert_hash(),
        Some(&net.client_tls_identity().cert_hash().unwrap())
    );
    let source = source(&net).await;
    for body in ["t0", "t1"] {
        assert!(dispatch(&net, &client, body).await.code.is_valid());
    }
    // "Caught up" is the stream going quiet for a moment: on a loaded machine that can come
    // before the second block, so read on (from where the last read stopped) until both.
    let (mut messages, mut cursor) = drain(&source, Cursor::Start { height: 0 }).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while messages.len() < 2 && tokio::time::Instant::now() < deadline {
        let (more, next) = drain(&source, cursor).await.unwrap();
        messages.extend(more);
        cursor = next;
    }
    assert_eq!(bodies(&messages), ["t0", "t1"]);
    assert_eq!(source.counters().refused_blocks, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_in_a_transaction_marked_invalid_is_not_delivered() {
    let net = network().await;
    let client = net.client(ORG1).await.unwrap();
    let source = source(&net).await;
    net.inject(Fault::InvalidateNextTransaction(
        TxValidationCode::MvccReadConflict,
    ));
    let status = dispatch(&net, &client, "invalid").await;
    assert!(!status.code.is_valid());
    dispatch(&net, &client, "valid").await;
    let (messages, _) = drain(&source, Cursor::Start { height: 0 }).await.unwrap();
    assert_eq!(bodies(&messages), ["valid"]);
    assert_eq!(source.counters().invalid_tx_events, 1);
}

/// A chaincode that emits well-formed Causeway messages under the outbox's event name: what a
/// look-alike deployed beside the outbox would do.
struct Copycat;

impl Chaincode for Copycat {
    fn invoke(&self, stub: &mut dyn Stub, _function: &str, args: &[Vec<u8>]) -> Response {
        let message = Message::new(
            Nonce(0),
            stub.network().domain,
            Address32([0xcc; 32]),
            Domain(1),
            Address32([0x22; 32]),
            args.first().cloned().unwrap_or_default(),
        )
        .map_err(|e| ChaincodeError::new(e.to_string()))?;
        stub.set_event(DISPATCH_EVENT, message.encode());
        Ok(Vec::new())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_alike_event_from_another_chaincode_is_ignored_and_counted() {
    let net = network().await;
    net.register_chaincode("copycat", std::sync::Arc::new(Copycat));
    let client = net.client(ORG1).await.unwrap();
    let source = source(&net).await;
    let invocation = Invocation::new(
        net.channel(),
        "copycat",
        "dispatch",
        vec![b"forged".to_vec()],
    );
    let (_, status) = commit_invocation(&client, &invocation).await.unwrap();
    assert!(
        status.code.is_valid(),
        "a valid, properly endorsed transaction"
    );
    dispatch(&net, &client, "real").await;
    let (messages, _) = drain(&source, Cursor::Start { height: 0 }).await.unwrap();
    assert_eq!(bodies(&messages), ["real"]);
    assert_eq!(source.counters().foreign_events, 1);
}

/// Dispatches a good message, then one under `fault`; the source yields the good one and
/// refuses the faulty block (again on a retry); returns the refusal.
async fn refused_after_fault(net: &FabricNetwork, fault: Fault) -> (u64, String) {
    let client = net.client(ORG1).await.unwrap();
    let source = source(net).await;
    dispatch(net, &client, "good").await;
    let (good, cursor) = drain(&source, Cursor::Start { height: 0 }).await.unwrap();
    assert_eq!(bodies(&good), ["good"]);
    net.inject(fault);
    let status = dispatch(net, &client, "faulty").await;
    assert!(status.code.is_valid(), "the faulty peer reports it valid");
    let first = refusal(drain(&source, cursor.clone()).await);
    // Retryable, and the same answer from the same cursor: nothing was skipped.
    let again = source.next_batch(&cursor).await.unwrap_err();
    assert!(again.is_retryable());
    assert!(matches!(again, Error::InvalidBlock { number, .. } if number == first.0));
    assert_eq!(first.0, status.block_number);
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endorsement_by_an_organisation_outside_the_policy_is_refused() {
    let net = network().await;
    let (_, reason) = refused_after_fault(
        &net,
        Fault::Endorsement(EndorsementFault::OutsideOrgInsteadOfOrg2),
    )
    .await;
    assert!(
        reason.contains("endorsement policy 2 of [Org1MSP, Org2MSP] not satisfied")
            && reason.contains("unknown MSP Org3MSP"),
        "{reason}"
    );
    // An extra endorsement from outside does not hurt.
    let client = net.client(ORG1).await.unwrap();
    let source = source(&net).await;
    net.inject(Fault::Endorsement(EndorsementFault::AlsoOutsideOrg));
    let status = dispatch(&net, &client, "extra").await;
    let cursor = Cursor::Start {
        height: status.block_number,
    };
    let (messages, _) = drain(&source, cursor).await.unwrap();
    assert_eq!(bodies(&messages), ["extra"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_block_is_refused() {
    let net = network().await;
    let (_, reason) = refused_after_fault(&net, Fault::WrongDataHash).await;
    assert!(reason.contains("data_hash"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_hash_chain_is_refused() {
    let net = network().await;
    let (_, reason) = refused_after_fault(&net, Fault::BrokenPreviousHash).await;
    assert!(
        reason.contains("is not the previous header hash"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_wrong_ca_certificates_are_refused() {
    let net = network().await;
    let (_, reason) = refused_after_fault(
        &net,
        Fault::Endorsement(EndorsementFault::ExpiredOrg2Certificate),
    )
    .await;
    assert!(
        reason.contains("not satisfied") && reason.contains("is not valid at"),
        "{reason}"
    );

    let net = network().await;
    let (_, reason) = refused_after_fault(
        &net,
        Fault::Endorsement(EndorsementFault::Org2CertificateFromOtherCa),
    )
    .await;
    assert!(
        reason.contains("not satisfied")
            && reason.contains("not issued by any of its MSP's root CAs"),
        "{reason}"
    );

    // Creators: an expired client certificate, and one from another CA, that a lying peer let
    // through.
    for (kind, expected) in [
        (IdentityKind::Expired, "is not valid at"),
        (
            IdentityKind::OtherCa,
            "not issued by any of its MSP's root CAs",
        ),
    ] {
        let net = network().await;
        let source = source(&net).await;
        let good_client = net.client(ORG1).await.unwrap();
        dispatch(&net, &good_client, "good").await;
        let (good, cursor) = drain(&source, Cursor::Start { height: 0 }).await.unwrap();
        assert_eq!(bodies(&good), ["good"]);
        let identity: SigningIdentity = net.issue_identity(ORG1, kind).unwrap();
        let bad_client = net.connect(identity).await.unwrap();
        net.inject(Fault::AcceptUntrustedCreator);
        let status = dispatch(&net, &bad_client, "untrusted creator").await;
        assert!(status.code.is_valid());
        let (number, reason) = refusal(drain(&source, cursor).await);
        assert_eq!(number, status.block_number);
        assert!(
            reason.contains("creator refused") && reason.contains(expected),
            "{kind:?}: {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_tls_certificate_does_not_match_is_refused() {
    let net = network().await;
    net.set_tls_serving(TlsServing::OtherCa);
    net.restart().await.unwrap();
    let err = FabricClient::connect(&net.endpoint(), net.tls_config(), net.client_identity(ORG1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RpcUnavailable { .. }), "{err}");
    let chain = format!("{:?}", err);
    assert!(
        chain.contains("TLS connection failed") && chain.to_lowercase().contains("certificate"),
        "{chain}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_restarted_mid_stream_resumes_from_the_cursor_without_gap_or_repeat() {
    const TOTAL: usize = 24;
    let net = std::sync::Arc::new(network().await);
    let source = source(&net).await;
    // A dispatcher that keeps going through the outage, retrying what fails.
    let dispatcher = {
        let net = std::sync::Arc::clone(&net);
        tokio::spawn(async move {
            let client = net.client(ORG1).await.unwrap();
            let mut sent = 0;
            while sent < TOTAL {
                match commit_invocation(&client, &outbox_dispatch(&net, b"x")).await {
                    Ok((_, status)) if status.code.is_valid() => sent += 1,
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
    };
    let mut cursor = Cursor::Start { height: 0 };
    let mut nonces = Vec::new();
    let mut restarted = false;
    let mut errors = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while nonces.len() < TOTAL {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stuck at {nonces:?}"
        );
        if !restarted && nonces.len() >= 6 {
            net.stop().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            net.restart().await.unwrap();
            restarted = true;
        }
        match source.next_batch(&cursor).await {
            Ok(batch) => {
                nonces.extend(batch.messages.iter().map(|m| m.message.nonce().0));
                cursor = batch.cursor;
            }
            Err(e) => {
                assert!(e.is_retryable(), "{e}");
                errors += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    dispatcher.await.unwrap();
    // A dispatch whose commit status was lost in the outage may have been sent twice: compare
    // with what the outbox really assigned.
    let (rest, _) = drain(&source, cursor).await.unwrap();
    nonces.extend(rest.iter().map(|m| m.message.nonce().0));
    let assigned: u64 = String::from_utf8(net.state(OUTBOX_CHAINCODE, "nonce").unwrap())
        .unwrap()
        .parse()
        .unwrap();
    assert!(assigned >= TOTAL as u64);
    let expected: Vec<u64> = (0..assigned).collect();
    assert_eq!(nonces, expected, "no gap, no repeat");
    let distinct: BTreeSet<u64> = nonces.iter().copied().collect();
    assert_eq!(distinct.len() as u64, assigned);
    assert!(restarted);
    assert!(errors > 0, "the outage was seen");
    assert!(
        source.counters().streams_opened >= 2,
        "the stream was reopened"
    );
}

/// Accepts any call and writes nothing: a transaction as large as its arguments.
struct Blob;

impl Chaincode for Blob {
    fn invoke(&self, _stub: &mut dyn Stub, _function: &str, args: &[Vec<u8>]) -> Response {
        Ok(args
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            .to_string()
            .into_bytes())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_larger_than_four_mib_does_not_stop_the_source() {
    let net = network().await;
    net.register_chaincode("blob", std::sync::Arc::new(Blob));
    let client = net.client(ORG1).await.unwrap();
    dispatch(&net, &client, "before").await;
    // 5 MiB of argument: above tonic's 4 MiB default message limit, both ways.
    let invocation = Invocation::new(net.channel(), "blob", "store", vec![vec![0x5a; 5 << 20]]);
    let (_, big) = commit_invocation(&client, &invocation).await.unwrap();
    assert!(big.code.is_valid());
    assert!(net.block(big.block_number).unwrap().encode().len() > 5 << 20);
    dispatch(&net, &client, "after").await;

    // A byte budget of 1 MiB: the big block is read alone, then the source goes on.
    let mut config = FabricSourceConfig::new(net.domain(), verifier_config(&net));
    config.idle_wait = Duration::from_millis(100);
    config.max_batch_bytes = 1 << 20;
    let source = FabricSource::new(client.clone(), net.endpoint(), config).unwrap();
    let verifier = source.verifier();
    let mut cursor = Cursor::Start { height: 0 };
    let mut messages = Vec::new();
    let mut ended_on_big_block = false;
    loop {
        let batch = source.next_batch(&cursor).await.unwrap();
        for m in &batch.messages {
            verifier.verify(m).unwrap();
        }
        messages.extend(batch.messages.iter().cloned());
        ended_on_big_block |= batch.cursor.processed().map(|(h, _)| h) == Some(big.block_number);
        cursor = batch.cursor.clone();
        // (Not `caught_up`: a 5 MiB block may take longer than the linger to arrive.)
        if cursor.processed().map(|(h, _)| h) == Some(net.height() - 1) {
            break;
        }
    }
    assert_eq!(bodies(&messages), ["before", "after"]);
    assert!(
        ended_on_big_block,
        "the budget ends a batch at the big block"
    );
    assert_eq!(cursor.processed().map(|(h, _)| h), Some(net.height() - 1));
}

/// `prepared` with the endorsement of `mspid` replaced by one `signer` makes (a valid
/// signature over the same proposal response).
fn endorsed_instead(prepared: &Envelope, mspid: &str, signer: &SigningIdentity) -> Envelope {
    let mut payload = Payload::decode(prepared.payload.as_slice()).unwrap();
    let mut transaction = Transaction::decode(payload.data.as_slice()).unwrap();
    let mut action =
        ChaincodeActionPayload::decode(transaction.actions[0].payload.as_slice()).unwrap();
    let endorsed = action.action.as_mut().unwrap();
    let prp = endorsed.proposal_response_payload.clone();
    for endorsement in &mut endorsed.endorsements {
        if FabricIdentity::from_serialized(&endorsement.endorser)
            .unwrap()
            .mspid()
            == mspid
        {
            let endorser = signer.creator().to_vec();
            *endorsement = Endorsement {
                signature: signer.sign(&[prp.as_slice(), endorser.as_slice()].concat()),
                endorser,
            };
        }
    }
    transaction.actions[0].payload = action.encode_to_vec();
    payload.data = transaction.encode_to_vec();
    Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_read_endorsed_by_a_client_certificate_is_refused() {
    let net = network().await;
    let client = net.client(ORG1).await.unwrap();
    let query = Invocation::new(net.channel(), OUTBOX_CHAINCODE, "nonce", Vec::new());
    let endorsed = client.endorse(&query, &[]).await.unwrap();
    let proof = |transaction: &Envelope| FabricStateProof {
        channel: net.channel().to_owned(),
        chaincode: OUTBOX_CHAINCODE.to_owned(),
        function: "nonce".to_owned(),
        args: Vec::new(),
        transaction: transaction.encode_to_vec(),
    };
    let (trusted, policy, now) = (
        net.trusted_msps(),
        net.endorsement_policy(),
        SystemTime::now(),
    );
    let honest = proof(&endorsed.prepared)
        .verify(&trusted, &policy, now, DEFAULT_READ_MAX_AGE)
        .unwrap();
    assert_eq!(honest.value, b"0");
    // Org2's user (OU=client) signs the same response in place of Org2's peer.
    let forged = proof(&endorsed_instead(
        &endorsed.prepared,
        ORG2,
        &net.client_identity(ORG2),
    ));
    match forged.verify(&trusted, &policy, now, DEFAULT_READ_MAX_AGE) {
        Err(e @ (Error::InvalidNativeProof { .. } | Error::Fabric(_))) => {
            let reason = e.to_string();
            assert!(
                reason.contains("not satisfied") && reason.contains("[\"Org1MSP\"]"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Only an MSP configured without NodeOUs (role `member`) would take it.
    forged
        .verify_with_role(
            &trusted,
            &policy,
            MspRole::Member,
            now,
            DEFAULT_READ_MAX_AGE,
        )
        .unwrap();
}
