//! The Fabric test network driven through the adapter's `FabricClient` over real TLS: blocks
//! it commits check with the adapter's offline verifiers (hash chain, data hash, orderer
//! signature, creator, endorsements under AND(Org1MSP, Org2MSP), transaction filter), events
//! and blocks stream from a position, the committer rejects what Fabric's rejects (MVCC
//! conflicts, duplicate transaction ids, bad creator signatures), a restart keeps the chain,
//! and each fault hook produces the fault it names.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use causeway_adapters::Error as AdapterError;
use causeway_adapters::fabric::proto::common::{
    BlockMetadataIndex, Envelope, HeaderType, Status as FabricStatus,
};
use causeway_adapters::fabric::proto::gateway::gateway_client::GatewayClient;
use causeway_adapters::fabric::proto::gateway::{EndorseRequest, SubmitRequest};
use causeway_adapters::fabric::proto::orderer::seek_position::Type as SeekType;
use causeway_adapters::fabric::proto::orderer::{SeekInfo, SeekPosition, SeekSpecified};
use causeway_adapters::fabric::proto::protos::TxValidationCode;
use causeway_adapters::fabric::proto::protos::deliver_client::DeliverClient;
use causeway_adapters::fabric::proto::protos::deliver_response::Type as DeliverType;
use causeway_adapters::fabric::request::{self, Invocation, TlsCertHash};
use causeway_adapters::fabric::{
    CommitStatus, EndorsedTransaction, FabricBlock, FabricClient, FabricError, MspRole, TlsConfig,
    TransactionId, ValidationCode, verify_chain,
};
use causeway_devnet::fabric::{
    DISPATCH_EVENT, EndorsementFault, FABRIC_CHAIN_ID, FabricNetwork, FabricNetworkOptions, Fault,
    IdentityKind, ORG1, ORG2, ORG3, OUTBOX_CHAINCODE, RwSet, TlsServing, dispatch_invocation,
};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, Message};
use tokio_stream::StreamExt as _;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn the_network_handle_can_be_shared_across_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<FabricNetwork>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_channel_has_its_configured_non_zero_chain_id() {
    assert_ne!(FABRIC_CHAIN_ID, 0);
    assert_eq!(network().await.chain_id(), FABRIC_CHAIN_ID);
    let configured = FabricNetwork::start(FabricNetworkOptions {
        chain_id: 4242,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(configured.chain_id(), 4242);
    let refused = FabricNetwork::start(FabricNetworkOptions {
        chain_id: 0,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("chain id 0"), "{refused}");
}

async fn network() -> FabricNetwork {
    FabricNetwork::start(FabricNetworkOptions::default())
        .await
        .unwrap()
}

/// A network that requires a client TLS certificate.
async fn mutual_tls_network() -> FabricNetwork {
    FabricNetwork::start(FabricNetworkOptions {
        require_client_tls: true,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn dispatch(network: &FabricNetwork, body: &[u8]) -> Invocation {
    dispatch_invocation(network.channel(), Domain(7), Address32([0xab; 32]), body)
}

fn nonce_query(network: &FabricNetwork) -> Invocation {
    Invocation::new(network.channel(), OUTBOX_CHAINCODE, "nonce", Vec::new())
}

async fn next_nonce(client: &FabricClient, network: &FabricNetwork) -> String {
    let response = client.evaluate(&nonce_query(network), &[]).await.unwrap();
    assert_eq!(response.status, 200);
    String::from_utf8(response.payload).unwrap()
}

/// The next item of `stream`: it must come within [`WAIT`] and be no error.
async fn next_within_wait<T, E: std::fmt::Debug>(
    stream: &mut (impl tokio_stream::Stream<Item = Result<T, E>> + Unpin),
) -> T {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("an item within the wait")
        .expect("the stream stays open")
        .unwrap()
}

/// Endorses, submits and waits for the commit of `invocation`.
async fn commit(
    client: &FabricClient,
    invocation: &Invocation,
) -> (EndorsedTransaction, CommitStatus) {
    let endorsed = client.endorse(invocation, &[]).await.unwrap();
    client.submit(&endorsed).await.unwrap();
    let status = tokio::time::timeout(
        WAIT,
        client.commit_status(&endorsed.tx_id, &endorsed.channel_id),
    )
    .await
    .unwrap()
    .unwrap();
    (endorsed, status)
}

fn code(code: TxValidationCode) -> ValidationCode {
    ValidationCode(code as u8)
}

/// All blocks of the network, from the ledger.
fn blocks(network: &FabricNetwork) -> Vec<FabricBlock> {
    (0..network.height())
        .map(|n| network.block(n).unwrap())
        .collect()
}

/// The transaction `tx_id` of `block`: its index and decoded form.
fn find_tx(
    block: &FabricBlock,
    tx_id: &TransactionId,
) -> (usize, causeway_adapters::fabric::FabricTransaction) {
    let tx = block
        .transactions()
        .unwrap()
        .into_iter()
        .find(|tx| tx.tx_id() == tx_id.0)
        .unwrap();
    (tx.index, tx)
}

/// A gRPC Gateway client over the network's TLS, for requests FabricClient never sends.
async fn raw_gateway(network: &FabricNetwork) -> GatewayClient<Channel> {
    let tls = ClientTlsConfig::new().ca_certificate(tonic::transport::Certificate::from_pem(
        network.tls_ca_pem(),
    ));
    GatewayClient::new(raw_channel(network, tls).await)
}

/// A gRPC channel to the network's peer with `tls`.
async fn raw_channel(network: &FabricNetwork, tls: ClientTlsConfig) -> Channel {
    Endpoint::from_shared(network.endpoint())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_is_committed_in_a_block_every_offline_check_accepts() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    assert_eq!(network.height(), 1);
    assert_eq!(next_nonce(&client, &network).await, "0");

    let (endorsed, status) = commit(&client, &dispatch(&network, b"hello fabric")).await;
    assert_eq!(status.code, ValidationCode::VALID);
    assert_eq!(status.block_number, 1);
    assert_eq!(next_nonce(&client, &network).await, "1");

    // Block 0 is the genesis config block, signed by the orderer like every block.
    let all = blocks(&network);
    let genesis = all[0].transactions().unwrap();
    assert_eq!(genesis[0].header_type(), HeaderType::Config as i32);
    verify_chain(&all).unwrap();
    let now = SystemTime::now();
    for block in &all {
        block.verify_data_hash().unwrap();
        let signers = block
            .verify_orderer_signatures(&network.orderer_msps(), MspRole::Orderer, now, 1)
            .unwrap();
        assert_eq!(signers[0].mspid(), "OrdererMSP");
    }
    // Application MSPs do not sign blocks.
    assert!(matches!(
        all[1].verify_orderer_signatures(&network.trusted_msps(), MspRole::Orderer, now, 1),
        Err(FabricError::NoValidOrdererSignature { .. })
    ));

    let block = &all[1];
    let (index, tx) = find_tx(block, &endorsed.tx_id);
    assert_eq!(
        block.validation_codes().unwrap()[index],
        ValidationCode::VALID
    );
    assert_eq!(
        block.metadata(BlockMetadataIndex::TransactionsFilter),
        &[0u8][..]
    );
    let creator = tx.verify_creator(&network.trusted_msps(), now).unwrap();
    assert_eq!(creator.mspid(), ORG1);
    assert_eq!(tx.actions.len(), 1);
    let action = &tx.actions[0];
    let endorsed_by = network
        .endorsement_policy()
        .check(action, &network.trusted_msps(), MspRole::Peer, now)
        .unwrap();
    assert_eq!(
        endorsed_by,
        BTreeSet::from([ORG1.to_owned(), ORG2.to_owned()])
    );
    assert_eq!(
        action.chaincode_action.chaincode_id.as_ref().unwrap().name,
        OUTBOX_CHAINCODE
    );

    // The event is the exact encoded message; the response is its id.
    let event = action.event.as_ref().unwrap();
    assert_eq!(event.event_name, DISPATCH_EVENT);
    assert_eq!(event.tx_id, endorsed.tx_id.0);
    let message = Message::decode(&event.payload).unwrap();
    assert_eq!(message.nonce().0, 0);
    assert_eq!(message.origin(), network.domain());
    assert_eq!(message.destination(), Domain(7));
    assert_eq!(message.recipient(), Address32([0xab; 32]));
    assert_eq!(message.body(), b"hello fabric");
    assert_eq!(
        message.sender(),
        Address32(keccak256(client.signer().creator()).0)
    );
    let response = action.chaincode_action.response.as_ref().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.payload, message.id().as_hash().0.to_vec());

    // The read/write set is a real kvrwset: read `nonce` absent, wrote "1".
    let rwset = RwSet::decode(&action.chaincode_action.results).unwrap();
    assert_eq!(rwset.read(OUTBOX_CHAINCODE, "nonce"), Some(None));
    assert_eq!(
        rwset.write(OUTBOX_CHAINCODE, "nonce"),
        Some(Some(&b"1"[..]))
    );
    assert_eq!(
        network.state(OUTBOX_CHAINCODE, "nonce").as_deref(),
        Some(&b"1"[..])
    );

    // Deliver serves the same bytes the ledger holds.
    let mut stream = client.deliver_blocks(network.channel(), 0).await.unwrap();
    for expected in &all {
        let got = next_within_wait(&mut stream).await;
        assert_eq!(got.encode(), expected.encode());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_a_chaincode_error_and_write_nothing() {
    let network = network().await;
    let client = network.client(ORG2).await.unwrap();
    let mut invocation = dispatch(&network, b"x");
    invocation.args[1] = b"0x1234".to_vec();
    let error = client.endorse(&invocation, &[]).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("chaincode response 500"), "{text}");
    assert!(text.contains("is not 64 hex characters"), "{text}");
    invocation.args[0] = b"-1".to_vec();
    let error = client.evaluate(&invocation, &[]).await.unwrap_err();
    assert!(error.to_string().contains("not a decimal u32"), "{error}");
    assert_eq!(network.height(), 1);
    assert_eq!(network.state(OUTBOX_CHAINCODE, "nonce"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaincode_events_stream_from_a_start_block_and_wait_for_new_ones() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    let mut committed = Vec::new();
    for i in 0..3u8 {
        let (endorsed, status) = commit(&client, &dispatch(&network, &[i])).await;
        assert_eq!(status.code, ValidationCode::VALID);
        committed.push((endorsed.tx_id, status.block_number));
    }

    // From block 0: the three events, one per block, in order.
    let mut events = client
        .chaincode_events(network.channel(), OUTBOX_CHAINCODE, 0, None)
        .await
        .unwrap();
    for (i, (tx_id, block)) in committed.iter().enumerate() {
        let response = next_within_wait(&mut events).await;
        assert_eq!(response.block_number, *block);
        assert_eq!(response.events.len(), 1);
        assert_eq!(response.events[0].tx_id, tx_id.0);
        assert_eq!(response.events[0].event_name, DISPATCH_EVENT);
        let message = Message::decode(&response.events[0].payload).unwrap();
        assert_eq!(message.body(), &[u8::try_from(i).unwrap()]);
    }
    // The stream waits for the next commit.
    let (endorsed, status) = commit(&client, &dispatch(&network, b"live")).await;
    let response = next_within_wait(&mut events).await;
    assert_eq!(response.block_number, status.block_number);
    assert_eq!(response.events[0].tx_id, endorsed.tx_id.0);

    // From the third block, after its transaction: the live one comes first.
    let (third_tx, third_block) = &committed[2];
    let mut later = client
        .chaincode_events(
            network.channel(),
            OUTBOX_CHAINCODE,
            *third_block,
            Some(third_tx),
        )
        .await
        .unwrap();
    let response = next_within_wait(&mut later).await;
    assert_eq!(response.events[0].tx_id, endorsed.tx_id.0);

    // Another chaincode's stream sees none of them.
    let mut none = client
        .chaincode_events(network.channel(), "causeway_inbox", 0, None)
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), none.next())
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_streams_from_a_position_and_waits_for_new_blocks() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    for i in 0..2u8 {
        commit(&client, &dispatch(&network, &[i])).await;
    }
    assert_eq!(network.height(), 3);
    let mut stream = client.deliver_blocks(network.channel(), 2).await.unwrap();
    let first = next_within_wait(&mut stream).await;
    assert_eq!(first.number(), 2);
    let (_, status) = commit(&client, &dispatch(&network, b"next")).await;
    assert_eq!(status.block_number, 3);
    let second = next_within_wait(&mut stream).await;
    assert_eq!(second.number(), 3);
    verify_chain(&[first, second]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_later_of_two_transactions_reading_the_same_key_is_an_mvcc_conflict() {
    let network = network().await;
    let org1 = network.client(ORG1).await.unwrap();
    let org2 = network.client(ORG2).await.unwrap();
    // Both simulated against nonce = 0, so both read `nonce` at the same (absent) version.
    let first = org1.endorse(&dispatch(&network, b"a"), &[]).await.unwrap();
    let second = org2.endorse(&dispatch(&network, b"b"), &[]).await.unwrap();
    org1.submit(&first).await.unwrap();
    org2.submit(&second).await.unwrap();
    let first_status = org1
        .commit_status(&first.tx_id, network.channel())
        .await
        .unwrap();
    let second_status = org2
        .commit_status(&second.tx_id, network.channel())
        .await
        .unwrap();
    assert_eq!(first_status.code, ValidationCode::VALID);
    assert_eq!(second_status.code, code(TxValidationCode::MvccReadConflict));
    // The invalid transaction stays in its block with its code; its write did not land.
    let block = network.block(second_status.block_number).unwrap();
    let (index, _) = find_tx(&block, &second.tx_id);
    assert_eq!(
        block.validation_codes().unwrap()[index],
        code(TxValidationCode::MvccReadConflict)
    );
    assert_eq!(next_nonce(&org1, &network).await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_transaction_id_is_rejected() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    let (endorsed, status) = commit(&client, &dispatch(&network, b"once")).await;
    assert_eq!(status.code, ValidationCode::VALID);

    // The same signed transaction again: ordered, then marked DUPLICATE_TXID.
    client.submit(&endorsed).await.unwrap();
    network.wait_for_height(3, WAIT).await.unwrap();
    let block = network.block(2).unwrap();
    assert_eq!(
        block.validation_codes().unwrap(),
        vec![code(TxValidationCode::DuplicateTxid)]
    );
    assert_eq!(next_nonce(&client, &network).await, "1");

    // A proposal reusing the committed id (same nonce and creator) is refused at Endorse.
    let signer = network.client_identity(ORG1);
    let nonce = [9u8; request::NONCE_LEN];
    let invocation = dispatch(&network, b"again");
    let mut gateway = raw_gateway(&network).await;
    let propose = || request::propose(&signer, &invocation, nonce, SystemTime::now());
    let proposed = propose();
    let endorse = |p: request::ProposedTransaction| EndorseRequest {
        transaction_id: p.tx_id.0,
        channel_id: network.channel().to_owned(),
        proposed_transaction: Some(p.signed_proposal),
        endorsing_organizations: Vec::new(),
    };
    let response = gateway.endorse(endorse(proposed.clone())).await.unwrap();
    let mut prepared = response.into_inner().prepared_transaction.unwrap();
    request::sign_prepared(&signer, &mut prepared);
    gateway
        .submit(SubmitRequest {
            transaction_id: proposed.tx_id.0.clone(),
            channel_id: network.channel().to_owned(),
            prepared_transaction: Some(prepared),
        })
        .await
        .unwrap();
    network.wait_for_height(4, WAIT).await.unwrap();
    let refused = gateway.endorse(endorse(propose())).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::AlreadyExists);
    assert!(refused.message().contains("duplicate transaction"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_creator_signature_is_rejected() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    let mut gateway = raw_gateway(&network).await;
    let signer = network.client_identity(ORG1);
    let invocation = dispatch(&network, b"signed");

    // A proposal whose signature is not over its bytes.
    let mut proposed = request::propose(&signer, &invocation, [1; 24], SystemTime::now());
    proposed.signed_proposal.signature = signer.sign(b"something else");
    let refused = gateway
        .endorse(EndorseRequest {
            transaction_id: proposed.tx_id.0.clone(),
            channel_id: network.channel().to_owned(),
            proposed_transaction: Some(proposed.signed_proposal),
            endorsing_organizations: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    // A transaction signed by another identity than its creator: the orderer refuses it.
    let endorsed = client.endorse(&invocation, &[]).await.unwrap();
    let mut prepared = endorsed.prepared.clone();
    request::sign_prepared(&network.client_identity(ORG2), &mut prepared);
    let refused = gateway
        .submit(SubmitRequest {
            transaction_id: endorsed.tx_id.0.clone(),
            channel_id: network.channel().to_owned(),
            prepared_transaction: Some(prepared),
        })
        .await
        .unwrap_err();
    assert!(refused.message().contains("FORBIDDEN"), "{refused:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(network.height(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_ledger_and_continues_the_chain() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    commit(&client, &dispatch(&network, b"before")).await;
    let port = network.port();
    let height = network.height();

    network.stop().await;
    assert!(matches!(
        client.evaluate(&nonce_query(&network), &[]).await,
        Err(AdapterError::RpcUnavailable { .. })
    ));
    network.restart().await.unwrap();
    assert_eq!(network.port(), port);
    assert_eq!(network.height(), height);

    let client = network.client(ORG1).await.unwrap();
    assert_eq!(next_nonce(&client, &network).await, "1");
    let (_, status) = commit(&client, &dispatch(&network, b"after")).await;
    assert_eq!(status.block_number, height);
    let mut stream = client.deliver_blocks(network.channel(), 0).await.unwrap();
    let mut streamed = Vec::new();
    for _ in 0..network.height() {
        streamed.push(next_within_wait(&mut stream).await);
    }
    verify_chain(&streamed).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_faults_damage_exactly_the_next_block() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();

    network.inject(Fault::InvalidateNextTransaction(
        TxValidationCode::EndorsementPolicyFailure,
    ));
    let (invalid, status) = commit(&client, &dispatch(&network, b"invalid")).await;
    assert_eq!(
        status.code,
        code(TxValidationCode::EndorsementPolicyFailure)
    );
    assert_eq!(next_nonce(&client, &network).await, "0");

    network.inject(Fault::WrongDataHash);
    let (valid, status) = commit(&client, &dispatch(&network, b"data")).await;
    // The invalid transaction's event is not served; the next valid one is.
    let mut events = client
        .chaincode_events(network.channel(), OUTBOX_CHAINCODE, 0, None)
        .await
        .unwrap();
    let first = next_within_wait(&mut events).await;
    assert_eq!(first.events[0].tx_id, valid.tx_id.0);
    assert_ne!(first.events[0].tx_id, invalid.tx_id.0);
    let damaged = network.block(status.block_number).unwrap();
    assert!(matches!(
        damaged.verify_data_hash(),
        Err(FabricError::DataHashMismatch { .. })
    ));

    network.inject(Fault::BrokenPreviousHash);
    let (_, status) = commit(&client, &dispatch(&network, b"link")).await;
    let broken = status.block_number;
    let (_, status) = commit(&client, &dispatch(&network, b"after")).await;
    let all = blocks(&network);
    assert!(matches!(
        verify_chain(&all),
        Err(FabricError::BrokenHashChain { number, .. }) if number == broken
    ));
    // Only that link is broken: the chain after it and before it checks.
    verify_chain(&all[usize::try_from(broken).unwrap()..]).unwrap();
    verify_chain(&all[..usize::try_from(broken).unwrap()]).unwrap();
    assert_eq!(status.block_number, broken + 1);
    for block in &all[usize::try_from(broken).unwrap()..] {
        block.verify_data_hash().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endorsement_faults_are_valid_blocks_the_policy_check_refuses() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    let now = SystemTime::now();
    let trusted = network.trusted_msps();
    let policy = network.endorsement_policy();

    let cases = [
        (EndorsementFault::OutsideOrgInsteadOfOrg2, false),
        (EndorsementFault::ExpiredOrg2Certificate, false),
        (EndorsementFault::Org2CertificateFromOtherCa, false),
        (EndorsementFault::AlsoOutsideOrg, true),
    ];
    for (fault, satisfied) in cases {
        network.inject(Fault::Endorsement(fault));
        let (endorsed, status) = commit(&client, &dispatch(&network, b"endorsed")).await;
        // A lying committer marks it VALID; only the verifier's own checks catch it.
        assert_eq!(status.code, ValidationCode::VALID, "{fault:?}");
        let block = network.block(status.block_number).unwrap();
        let (_, tx) = find_tx(&block, &endorsed.tx_id);
        let action = &tx.actions[0];
        let checked = policy.check(action, &trusted, MspRole::Peer, now);
        assert_eq!(checked.is_ok(), satisfied, "{fault:?}: {checked:?}");
        let second = &action.endorsements[1];
        let endorser = action.verify_endorsement(second, &trusted, MspRole::Peer, now);
        match fault {
            EndorsementFault::OutsideOrgInsteadOfOrg2 => {
                assert!(
                    matches!(endorser, Err(FabricError::UnknownMsp { ref mspid }) if mspid == ORG3)
                );
            }
            EndorsementFault::ExpiredOrg2Certificate => {
                assert!(matches!(
                    endorser,
                    Err(FabricError::CertificateNotValidAt { .. })
                ));
            }
            EndorsementFault::Org2CertificateFromOtherCa => {
                assert!(matches!(
                    endorser,
                    Err(FabricError::UntrustedCertificate { .. })
                ));
            }
            _ => {
                assert_eq!(action.endorsements.len(), 3);
                assert!(endorser.is_ok());
            }
        }
    }

    // Without a fault, endorsing with Org1MSP alone fails the policy at commit.
    let endorsed = client
        .endorse(&dispatch(&network, b"org1 only"), &[ORG1.to_owned()])
        .await
        .unwrap();
    client.submit(&endorsed).await.unwrap();
    let status = client
        .commit_status(&endorsed.tx_id, network.channel())
        .await
        .unwrap();
    assert_eq!(
        status.code,
        code(TxValidationCode::EndorsementPolicyFailure)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_other_ca_creators_are_refused_unless_a_fault_lets_them_in() {
    let network = network().await;
    for kind in [IdentityKind::Expired, IdentityKind::OtherCa] {
        let identity = network.issue_identity(ORG1, kind).unwrap();
        let client = network.connect(identity).await.unwrap();
        let mut blocks = client.deliver_blocks(network.channel(), 0).await.unwrap();
        let forbidden = tokio::time::timeout(WAIT, blocks.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert!(forbidden.to_string().contains("FORBIDDEN"), "{forbidden}");
        let refused = client
            .endorse(&dispatch(&network, b"creator"), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AdapterError::Rpc { code, .. } if code == tonic::Code::PermissionDenied as i64),
            "{kind:?}: {refused}"
        );

        network.inject(Fault::AcceptUntrustedCreator);
        let (endorsed, status) = commit(&client, &dispatch(&network, b"creator")).await;
        assert_eq!(status.code, ValidationCode::VALID);
        let block = network.block(status.block_number).unwrap();
        let (_, tx) = find_tx(&block, &endorsed.tx_id);
        let refused = tx
            .verify_creator(&network.trusted_msps(), SystemTime::now())
            .unwrap_err();
        match kind {
            IdentityKind::Expired => {
                assert!(matches!(refused, FabricError::CertificateNotValidAt { .. }));
            }
            _ => assert!(matches!(refused, FabricError::UntrustedCertificate { .. })),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_certificate_of_another_ca_is_refused() {
    let network = FabricNetwork::start(FabricNetworkOptions {
        tls: TlsServing::OtherCa,
        ..Default::default()
    })
    .await
    .unwrap();
    let refused = FabricClient::connect(
        &network.endpoint(),
        network.tls_config(),
        network.client_identity(ORG1),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(refused, AdapterError::RpcUnavailable { .. }),
        "{refused}"
    );
    network.set_tls_serving(TlsServing::NetworkCa);
    network.restart().await.unwrap();
    let client = network.client(ORG1).await.unwrap();
    assert_eq!(next_nonce(&client, &network).await, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_client_certificate() {
    let network = mutual_tls_network().await;
    let client = network.client(ORG1).await.unwrap();
    assert_eq!(next_nonce(&client, &network).await, "0");

    let anonymous = TlsConfig {
        client_identity: None,
        ..network.tls_config()
    };
    let outcome = async {
        let client = FabricClient::connect(
            &network.endpoint(),
            anonymous,
            network.client_identity(ORG1),
        )
        .await?;
        client.evaluate(&nonce_query(&network), &[]).await
    }
    .await;
    assert!(outcome.is_err());
}

/// A raw Deliver client over the network's TLS settings (with its client certificate under
/// mutual TLS), for requests FabricClient never sends.
async fn raw_deliver(network: &FabricNetwork) -> DeliverClient<Channel> {
    let config = network.tls_config();
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&config.ca_pem));
    if let Some(id) = &config.client_identity {
        tls = tls.identity(tonic::transport::Identity::from_pem(
            &id.cert_pem,
            id.key_pem.as_slice(),
        ));
    }
    DeliverClient::new(raw_channel(network, tls).await)
}

/// A signed seek request for block 0 alone, carrying `tls_cert_hash`.
fn seek_genesis(network: &FabricNetwork, tls_cert_hash: Option<&TlsCertHash>) -> Envelope {
    let genesis = SeekPosition {
        r#type: Some(SeekType::Specified(SeekSpecified { number: 0 })),
    };
    let seek = SeekInfo {
        start: Some(genesis),
        stop: Some(genesis),
        ..Default::default()
    };
    request::seek_envelope(
        &network.client_identity(ORG1),
        network.channel(),
        &seek,
        tls_cert_hash,
        [3; request::NONCE_LEN],
        SystemTime::now(),
    )
}

/// What the peer answers on one Deliver stream carrying `requests`, until it ends: block
/// numbers as `Ok`, statuses as `Err`.
async fn deliver_answers(
    network: &FabricNetwork,
    requests: Vec<Envelope>,
) -> Vec<Result<u64, i32>> {
    let mut stream = raw_deliver(network)
        .await
        .deliver(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut answers = Vec::new();
    while let Some(response) = tokio::time::timeout(WAIT, stream.next()).await.unwrap() {
        match response.unwrap().r#type.unwrap() {
            DeliverType::Block(block) => answers.push(Ok(block.header.unwrap().number)),
            DeliverType::Status(code) => answers.push(Err(code)),
            other => panic!("unexpected {other:?}"),
        }
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_under_mutual_tls_binds_each_request_to_the_client_certificate() {
    let network = mutual_tls_network().await;
    let ours = network.client_tls_identity().cert_hash().unwrap();
    let bad_request = Err(FabricStatus::BadRequest as i32);
    let served = vec![Ok(0), Err(FabricStatus::Success as i32)];
    // Fabric's BindingInspector (mutualTLSBinding): no hash, or another certificate's hash,
    // and the request is answered BAD_REQUEST, with no block.
    let other = TlsCertHash::of_der(b"another certificate");
    for claimed in [None, Some(&other)] {
        assert_eq!(
            deliver_answers(&network, vec![seek_genesis(&network, claimed)]).await,
            vec![bad_request],
            "{claimed:?}"
        );
    }
    // The hash of the certificate presented in the handshake: served.
    assert_eq!(
        deliver_answers(&network, vec![seek_genesis(&network, Some(&ours))]).await,
        served
    );
    // As in Fabric, a refused request ends the stream: the good one after it is not served.
    assert_eq!(
        deliver_answers(
            &network,
            vec![
                seek_genesis(&network, None),
                seek_genesis(&network, Some(&ours))
            ]
        )
        .await,
        vec![bad_request]
    );
    // Our client binds its requests itself: blocks stream over mutual TLS.
    let client = network.client(ORG1).await.unwrap();
    assert_eq!(client.tls_cert_hash(), Some(&ours));
    commit(&client, &dispatch(&network, b"bound")).await;
    let mut blocks = client.deliver_blocks(network.channel(), 0).await.unwrap();
    for number in 0..2 {
        let block = next_within_wait(&mut blocks).await;
        assert_eq!(block.number(), number);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_over_server_authenticated_tls_checks_no_binding() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    assert_eq!(client.tls_cert_hash(), None);
    let served = vec![Ok(0), Err(FabricStatus::Success as i32)];
    // Without client certificates Fabric's inspector is the no-op one: any hash, or none.
    let any = TlsCertHash::of_der(b"any certificate");
    for claimed in [None, Some(&any)] {
        assert_eq!(
            deliver_answers(&network, vec![seek_genesis(&network, claimed)]).await,
            served,
            "{claimed:?}"
        );
    }
    let mut blocks = client.deliver_blocks(network.channel(), 0).await.unwrap();
    let genesis = next_within_wait(&mut blocks).await;
    assert_eq!(genesis.number(), 0);
}

/// `prepared` with its (single) action's `ChaincodeActionPayload` changed by `edit`.
fn edit_action(
    prepared: &causeway_adapters::fabric::proto::common::Envelope,
    edit: impl FnOnce(&mut causeway_adapters::fabric::proto::protos::ChaincodeActionPayload),
) -> causeway_adapters::fabric::proto::common::Envelope {
    use causeway_adapters::fabric::proto::common::{Envelope, Payload};
    use causeway_adapters::fabric::proto::protos::{ChaincodeActionPayload, Transaction};
    use prost::Message as _;
    let mut payload = Payload::decode(prepared.payload.as_slice()).unwrap();
    let mut transaction = Transaction::decode(payload.data.as_slice()).unwrap();
    let mut action =
        ChaincodeActionPayload::decode(transaction.actions[0].payload.as_slice()).unwrap();
    edit(&mut action);
    transaction.actions[0].payload = action.encode_to_vec();
    payload.data = transaction.encode_to_vec();
    Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    }
}

/// Submits `endorsed` with `prepared` in place of its own transaction; returns its status.
async fn submit_as(
    client: &FabricClient,
    endorsed: &EndorsedTransaction,
    prepared: causeway_adapters::fabric::proto::common::Envelope,
) -> CommitStatus {
    let forged = EndorsedTransaction {
        prepared,
        ..endorsed.clone()
    };
    client.submit(&forged).await.unwrap();
    tokio::time::timeout(
        WAIT,
        client.commit_status(&forged.tx_id, &forged.channel_id),
    )
    .await
    .unwrap()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endorsement_by_a_client_or_admin_certificate_fails_the_policy() {
    use causeway_adapters::fabric::FabricIdentity;
    use causeway_adapters::fabric::proto::protos::Endorsement;

    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    let now = SystemTime::now();
    // Org2's user and admin: trusted identities of Org2, but not its peers (OU=client, admin).
    for impostor in [
        network.client_identity(ORG2),
        network.org(ORG2).admin().clone(),
    ] {
        let endorsed = client
            .endorse(&dispatch(&network, b"impostor"), &[])
            .await
            .unwrap();
        let forged = edit_action(&endorsed.prepared, |action| {
            let action = action.action.as_mut().unwrap();
            let prp = action.proposal_response_payload.clone();
            for endorsement in &mut action.endorsements {
                let mspid = FabricIdentity::from_serialized(&endorsement.endorser)
                    .unwrap()
                    .mspid()
                    .to_owned();
                if mspid == ORG2 {
                    let endorser = impostor.creator().to_vec();
                    *endorsement = Endorsement {
                        signature: impostor.sign(&[prp.as_slice(), endorser.as_slice()].concat()),
                        endorser,
                    };
                }
            }
        });
        let status = submit_as(&client, &endorsed, forged).await;
        assert_eq!(
            status.code,
            code(TxValidationCode::EndorsementPolicyFailure),
            "{:?}",
            impostor.identity()
        );
        // The adapter's own policy check refuses it too, naming the role.
        let block = network.block(status.block_number).unwrap();
        let (_, tx) = find_tx(&block, &endorsed.tx_id);
        let action = &tx.actions[0];
        let org2 = action
            .endorsements
            .iter()
            .find(|e| {
                FabricIdentity::from_serialized(&e.endorser)
                    .unwrap()
                    .mspid()
                    == ORG2
            })
            .unwrap();
        assert!(matches!(
            action.verify_endorsement(org2, &network.trusted_msps(), MspRole::Peer, now),
            Err(FabricError::RoleNotAllowed { .. })
        ));
        action
            .verify_endorsement(org2, &network.trusted_msps(), MspRole::Member, now)
            .unwrap();
    }
    // Nothing was dispatched.
    assert_eq!(next_nonce(&client, &network).await, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endorsements_of_another_proposal_are_an_invalid_endorser_transaction() {
    let network = network().await;
    let client = network.client(ORG1).await.unwrap();
    let wanted = client
        .endorse(&dispatch(&network, b"wanted"), &[])
        .await
        .unwrap();
    let other = client
        .endorse(&dispatch(&network, b"other"), &[])
        .await
        .unwrap();
    // The other proposal's endorsed action (valid signatures, its proposal hash) under the
    // wanted transaction's header and proposal.
    let other_action = edit_action(&other.prepared, |_| {});
    let mut endorsed_other = None;
    let _ = edit_action(&other_action, |action| {
        endorsed_other = action.action.clone()
    });
    let forged = edit_action(&wanted.prepared, |action| action.action = endorsed_other);
    let status = submit_as(&client, &wanted, forged).await;
    // Fabric's ValidateTransaction: "proposal hash does not match".
    assert_eq!(
        status.code,
        code(TxValidationCode::InvalidEndorserTransaction)
    );
    let block = network.block(status.block_number).unwrap();
    let (_, tx) = find_tx(&block, &wanted.tx_id);
    assert!(matches!(
        tx.verify_proposal_hashes(),
        Err(FabricError::ProposalHashMismatch { .. })
    ));
    // Honest transactions carry their own proposal's hash.
    let (endorsed, status) = commit(&client, &dispatch(&network, b"honest")).await;
    assert_eq!(status.code, ValidationCode::VALID);
    let block = network.block(status.block_number).unwrap();
    find_tx(&block, &endorsed.tx_id)
        .1
        .verify_proposal_hashes()
        .unwrap();
}
