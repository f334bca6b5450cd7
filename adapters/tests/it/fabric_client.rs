//! The Fabric peer client over real TLS on loopback: a minimal Gateway + Deliver peer
//! (`server.rs`, the generated server stubs served by tonic over rustls) checks every
//! signature, and the client's certificate checks, mutual TLS and MSP folder loading are
//! exercised with certificates generated here.

mod server;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use causeway_adapters::Error;
use causeway_adapters::fabric::proto::common::{Block, BlockData, BlockHeader, BlockMetadata};
use causeway_adapters::fabric::request::Invocation;
use causeway_adapters::fabric::{
    CommitStatus, FabricBlock, FabricClient, FabricError, FabricIdentity, MspFolder,
    SigningIdentity, TlsConfig, TlsIdentity, TransactionId, TrustedMsps, ValidationCode, data_hash,
    header_hash, verify_chain,
};
use causeway_adapters::metrics::{ChainMetrics, MethodClass};
use causeway_proofs::fabric::testkit::{Ca, CertSpec, key, pem};
use der::pem::LineEnding;
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey as _;
use tokio_stream::StreamExt as _;

use crate::fabric_identity::{Org, leaf, org1, root};
use server::{COMMIT_BLOCK, Peer, PreparedFault, ServerTls, serve};

const PEER_NAME: &str = "peer0.org1.example.com";
const CHANNEL: &str = "mychannel";

fn key_pem(key: &SigningKey) -> Vec<u8> {
    key.to_pkcs8_pem(LineEnding::LF)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// A TLS certificate from `tls_ca` (like an organisation's `tlsca`) for `dns`, and its key,
/// both PEM.
fn tls_identity(tls_ca: &Ca, dns: &str, serial: u64) -> TlsIdentity {
    let key = key();
    let spec = CertSpec::new(format!("CN={dns},O=Org1"))
        .serial(serial)
        .dns(dns);
    TlsIdentity {
        cert_pem: pem(&tls_ca.issue(&spec, &key)),
        key_pem: key_pem(&key).into(),
    }
}

/// An Org1MSP member signed by `org`'s CA.
fn member(org: &Org) -> SigningIdentity {
    let key = key();
    let cert = leaf(&org.ca, &key);
    SigningIdentity::new(
        FabricIdentity::from_pem("Org1MSP", &pem(&cert)).unwrap(),
        key,
    )
    .unwrap()
}

/// Blocks 0..count, hash-linked, each with one data entry.
fn chain(count: u64) -> Vec<FabricBlock> {
    let mut blocks: Vec<FabricBlock> = Vec::new();
    for number in 0..count {
        let data = BlockData {
            data: vec![format!("tx of block {number}").into_bytes()],
        };
        let previous_hash = blocks
            .last()
            .map(|b| b.header_hash().0.to_vec())
            .unwrap_or_default();
        let block = Block {
            header: Some(BlockHeader {
                number,
                previous_hash,
                data_hash: data_hash(&data).to_vec(),
            }),
            data: Some(data),
            metadata: Some(BlockMetadata {
                metadata: vec![vec![], vec![], vec![0], vec![], vec![]],
            }),
        };
        blocks.push(FabricBlock::new(block).unwrap());
    }
    blocks
}

struct Net {
    org: Org,
    tls_ca: Ca,
    peer: Arc<Peer>,
    endpoint: String,
}

/// A peer serving `blocks` over TLS as `PEER_NAME`, requiring client certificates from its TLS
/// CA when `mutual`.
async fn network(blocks: Vec<FabricBlock>, mutual: bool, skip_block: Option<u64>) -> Net {
    network_with(blocks, mutual, |peer| peer.skip_block = skip_block).await
}

/// As [`network`], with the peer set up by `configure`.
async fn network_with(
    blocks: Vec<FabricBlock>,
    mutual: bool,
    configure: impl FnOnce(&mut Peer),
) -> Net {
    let org = org1();
    let tls_ca = root("tlsca.org1.example.com");
    let mut peer = Peer::new(org.trusted.clone(), blocks);
    configure(&mut peer);
    let peer = Arc::new(peer);
    let server = tls_identity(&tls_ca, PEER_NAME, 10);
    let address = serve(
        peer.clone(),
        ServerTls {
            cert_pem: server.cert_pem,
            key_pem: server.key_pem.to_vec(),
            client_ca_pem: mutual.then(|| tls_ca.pem()),
        },
    )
    .await;
    Net {
        org,
        tls_ca,
        peer,
        endpoint: format!("https://{address}"),
    }
}

impl Net {
    fn tls(&self, client_identity: Option<TlsIdentity>) -> TlsConfig {
        TlsConfig {
            ca_pem: self.tls_ca.pem(),
            client_identity,
            server_name: Some(PEER_NAME.to_owned()),
        }
    }

    async fn client(&self) -> FabricClient {
        FabricClient::connect(&self.endpoint, self.tls(None), member(&self.org))
            .await
            .unwrap()
    }
}

fn invocation(function: &str, args: &[&str]) -> Invocation {
    Invocation::new(
        CHANNEL,
        "basic",
        function,
        args.iter().map(|a| a.as_bytes().to_vec()).collect(),
    )
}

fn rpc_code(error: &Error) -> i64 {
    match error {
        Error::Rpc { code, .. } => *code,
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

#[tokio::test]
async fn evaluate_round_trip_with_the_proposal_signature_checked_by_the_peer() {
    let net = network(chain(1), false, None).await;
    let client = net.client().await;
    let response = client
        .evaluate(&invocation("ReadAsset", &["asset1", "v2"]), &[])
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.payload, b"ReadAsset(asset1,v2)");

    // A member of an organisation the peer does not trust: its signed proposal is refused.
    let stranger = member(&org1());
    let client = FabricClient::connect(&net.endpoint, net.tls(None), stranger)
        .await
        .unwrap();
    let error = client
        .evaluate(&invocation("ReadAsset", &["asset1"]), &[])
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&error), tonic::Code::PermissionDenied as i64);
}

#[tokio::test]
async fn gateway_error_details_reach_the_error() {
    let net = network(chain(1), false, None).await;
    let error = net
        .client()
        .await
        .evaluate(&invocation("fail", &[]), &[])
        .await
        .unwrap_err();
    match &error {
        Error::Rpc {
            method,
            code,
            message,
            ..
        } => {
            assert_eq!(*method, "gateway.Gateway/Evaluate");
            assert_eq!(*code, tonic::Code::Aborted as i64);
            assert!(message.contains("evaluate call to endorser returned error"));
            assert!(
                message.contains(
                    "peer peer0.org1.example.com:7051 (Org1MSP): chaincode response 500, asset missing"
                ),
                "{message}"
            );
        }
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

#[tokio::test]
async fn endorse_submit_and_commit_status() {
    let net = network(chain(1), false, None).await;
    let client = net.client().await;
    // With transient data, which the gateway leaves out of the transaction (as Fabric does)
    // and the client's check of the prepared transaction accounts for.
    let mut transfer = invocation("Transfer", &["asset1", "bob"]);
    transfer
        .transient
        .insert("price".to_owned(), b"100".to_vec());
    let endorsed = client.endorse(&transfer, &[]).await.unwrap();
    assert_eq!(endorsed.channel_id, CHANNEL);
    // Not submitted yet: the peer does not know it.
    let error = client
        .commit_status(&endorsed.tx_id, CHANNEL)
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&error), tonic::Code::NotFound as i64);

    client.submit(&endorsed).await.unwrap();
    assert_eq!(
        client
            .commit_status(&endorsed.tx_id, CHANNEL)
            .await
            .unwrap(),
        CommitStatus {
            code: ValidationCode(0),
            block_number: COMMIT_BLOCK,
        }
    );

    // Submitting a transaction that was never endorsed fails at the peer.
    let mut forged = endorsed.clone();
    forged.tx_id = TransactionId("00".repeat(32));
    let error = client.submit(&forged).await.unwrap_err();
    assert_eq!(rpc_code(&error), tonic::Code::FailedPrecondition as i64);
}

#[tokio::test]
async fn a_prepared_transaction_other_than_our_proposal_is_refused_unsigned() {
    for (fault, part) in [
        (
            PreparedFault::OtherCall,
            "chaincode proposal payload (chaincode, function or arguments)",
        ),
        (
            PreparedFault::OtherChannelHeader,
            "channel header (type, channel, tx id, time or chaincode)",
        ),
        (PreparedFault::WrongProposalHash, "endorsed proposal hash"),
    ] {
        let net = network_with(chain(1), false, |peer| peer.prepared_fault = Some(fault)).await;
        let client = net.client().await;
        let error = client
            .endorse(&invocation("Transfer", &["asset1", "bob"]), &[])
            .await
            .unwrap_err();
        match &error {
            Error::PreparedTransactionRefused { endpoint, reason } => {
                assert_eq!(endpoint, &net.endpoint, "{fault:?}");
                match reason.as_ref() {
                    FabricError::PreparedTransactionMismatch { part: found, .. } => {
                        assert_eq!(*found, part, "{fault:?}");
                    }
                    other => panic!("{fault:?}: expected a mismatch, got {other:?}"),
                }
            }
            other => panic!("{fault:?}: expected a refusal, got {other:?}"),
        }
        assert!(error.to_string().contains(part), "{error}");
        assert!(!error.is_retryable());
        // Endorse reached the peer; nothing was submitted.
        assert_eq!(net.peer.requests.load(Ordering::SeqCst), 1, "{fault:?}");
        assert_eq!(net.peer.submissions.load(Ordering::SeqCst), 0, "{fault:?}");
    }
}

#[tokio::test]
async fn chaincode_events_stream_from_a_block() {
    let net = network(chain(1), false, None).await;
    let client = net.client().await;
    let responses: Vec<_> = client
        .chaincode_events(CHANNEL, "basic", 10, None)
        .await
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let blocks: Vec<u64> = responses.iter().map(|r| r.block_number).collect();
    assert_eq!(blocks, [10, 11, 12]);
    for response in &responses {
        assert_eq!(response.events.len(), 1);
        let event = &response.events[0];
        assert_eq!(event.chaincode_id, "basic");
        assert_eq!(event.tx_id, format!("tx{}", response.block_number));
        assert_eq!(event.payload, response.block_number.to_be_bytes());
    }
}

#[tokio::test]
async fn deliver_streams_full_blocks_in_order_from_a_position() {
    let blocks = chain(6);
    let net = network(blocks.clone(), false, None).await;
    let client = net.client().await;
    let received: Vec<FabricBlock> = client
        .deliver_blocks(CHANNEL, 2)
        .await
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let numbers: Vec<u64> = received.iter().map(FabricBlock::number).collect();
    assert_eq!(numbers, [2, 3, 4, 5]);
    for block in &received {
        assert_eq!(block.encode(), blocks[block.number() as usize].encode());
        block.verify_data_hash().unwrap();
    }
    verify_chain(&received).unwrap();
    assert_eq!(
        header_hash(blocks[1].header()).0.to_vec(),
        received[0].header().previous_hash
    );

    // Past the end: the peer's NOT_FOUND status is an error.
    let mut stream = client.deliver_blocks(CHANNEL, 9).await.unwrap();
    match stream.next().await {
        Some(Err(Error::Rpc { code: 404, .. })) => {}
        other => panic!("expected NOT_FOUND, got {other:?}"),
    }
    assert!(stream.next().await.is_none());
}

/// Every call of the client is counted once in its chain's metrics, by method class, with its
/// failures; a stream is one request whose later break is its error; Deliver raises the head.
#[tokio::test]
async fn every_call_is_counted_by_method_class() {
    let net = network(chain(6), false, None).await;
    let metrics = ChainMetrics::default();
    let client = net.client().await.with_metrics(metrics.clone());
    // Clones (the adapters' copies) count into the same figures.
    let other = client.clone();
    other
        .evaluate(&invocation("ReadAsset", &["asset1"]), &[])
        .await
        .unwrap();
    client
        .evaluate(&invocation("fail", &[]), &[])
        .await
        .unwrap_err();
    let endorsed = client
        .endorse(&invocation("Transfer", &["asset1", "bob"]), &[])
        .await
        .unwrap();
    client
        .commit_status(&endorsed.tx_id, CHANNEL)
        .await
        .unwrap_err();
    client.submit(&endorsed).await.unwrap();
    client
        .commit_status(&endorsed.tx_id, CHANNEL)
        .await
        .unwrap();
    let events: Vec<_> = client
        .chaincode_events(CHANNEL, "basic", 10, None)
        .await
        .unwrap()
        .collect()
        .await;
    assert!(events.iter().all(Result::is_ok));
    let blocks: Vec<_> = client
        .deliver_blocks(CHANNEL, 2)
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(blocks.len(), 4);
    // Past the end: the stream opens, then breaks with NOT_FOUND: one request, one error.
    let broken: Vec<_> = client
        .deliver_blocks(CHANNEL, 9)
        .await
        .unwrap()
        .collect()
        .await;
    assert!(matches!(broken.as_slice(), [Err(_)]));

    let snapshot = metrics.snapshot();
    let of = |class: MethodClass| {
        let r = snapshot.requests.iter().find(|r| r.class == class).unwrap();
        assert_eq!(
            r.cumulative.last().copied().unwrap_or_default(),
            r.calls,
            "{class:?}: every call on loopback took under 30 s"
        );
        (r.calls, r.errors)
    };
    assert_eq!(
        of(MethodClass::Call),
        (3, 1),
        "Evaluate twice, Endorse once"
    );
    assert_eq!(of(MethodClass::Receipt), (2, 1), "CommitStatus");
    assert_eq!(of(MethodClass::Send), (1, 0), "Submit");
    assert_eq!(of(MethodClass::Logs), (1, 0), "ChaincodeEvents");
    assert_eq!(of(MethodClass::Block), (2, 1), "Deliver");
    assert_eq!(of(MethodClass::Other), (0, 0));
    assert_eq!(snapshot.head, Some(5), "the highest block delivered");
}

#[tokio::test]
async fn deliver_with_a_gap_is_an_error() {
    let net = network(chain(6), false, Some(3)).await;
    let client = net.client().await;
    let mut stream = client.deliver_blocks(CHANNEL, 1).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap().number(), 1);
    assert_eq!(stream.next().await.unwrap().unwrap().number(), 2);
    match stream.next().await {
        Some(Err(Error::InvalidNativeProof { reason })) => {
            assert!(reason.contains("block 4 where block 3 was due"), "{reason}");
        }
        other => panic!("expected an order error, got {other:?}"),
    }
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate() {
    let net = network(chain(1), true, None).await;
    // With a certificate from the TLS CA the peer trusts: served.
    let tls = net.tls(Some(tls_identity(
        &net.tls_ca,
        "client.org1.example.com",
        20,
    )));
    let client = FabricClient::connect(&net.endpoint, tls, member(&net.org))
        .await
        .unwrap();
    client
        .evaluate(&invocation("ReadAsset", &["a"]), &[])
        .await
        .unwrap();
    assert_eq!(net.peer.requests.load(Ordering::SeqCst), 1);

    // Without one (TLS 1.3 may finish the client's side of the handshake before the server
    // refuses): no request reaches the peer.
    let refused = match FabricClient::connect(&net.endpoint, net.tls(None), member(&net.org)).await
    {
        Err(error) => error,
        Ok(client) => client
            .evaluate(&invocation("ReadAsset", &["a"]), &[])
            .await
            .unwrap_err(),
    };
    assert!(
        matches!(refused, Error::RpcUnavailable { .. } | Error::Rpc { .. }),
        "{refused:?}"
    );

    // A certificate from another CA is refused too.
    let other = root("tlsca.org2.example.com");
    let tls = net.tls(Some(tls_identity(&other, "client.org2.example.com", 21)));
    let refused = match FabricClient::connect(&net.endpoint, tls, member(&net.org)).await {
        Err(error) => error,
        Ok(client) => client
            .evaluate(&invocation("ReadAsset", &["a"]), &[])
            .await
            .unwrap_err(),
    };
    assert!(
        matches!(refused, Error::RpcUnavailable { .. } | Error::Rpc { .. }),
        "{refused:?}"
    );
    assert_eq!(net.peer.requests.load(Ordering::SeqCst), 1);
}

/// The message of a refused connection, with its sources.
fn refusal(result: Result<FabricClient, Error>) -> String {
    match result {
        Err(Error::RpcUnavailable { source, .. }) => source.to_string(),
        Err(other) => panic!("expected RpcUnavailable, got {other:?}"),
        Ok(_) => panic!("the connection was accepted"),
    }
}

#[tokio::test]
async fn a_peer_certificate_for_another_name_or_from_another_ca_is_refused() {
    let net = network(chain(1), false, None).await;
    // The peer's certificate names peer0.org1.example.com, not peer1.org2.example.com.
    let mut tls = net.tls(None);
    tls.server_name = Some("peer1.org2.example.com".to_owned());
    let message = refusal(FabricClient::connect(&net.endpoint, tls, member(&net.org)).await);
    assert!(message.contains("not valid for name"), "{message}");

    // Trusting only another CA.
    let mut tls = net.tls(None);
    tls.ca_pem = root("tlsca.org2.example.com").pem();
    let message = refusal(FabricClient::connect(&net.endpoint, tls, member(&net.org)).await);
    assert!(message.contains("UnknownIssuer"), "{message}");

    // A CA that is not PEM is a configuration error, before any connection.
    let mut tls = net.tls(None);
    tls.ca_pem = b"not a certificate".to_vec();
    assert!(matches!(
        FabricClient::connect(&net.endpoint, tls, member(&net.org)).await,
        Err(Error::Config { .. })
    ));
    assert_eq!(net.peer.requests.load(Ordering::SeqCst), 0);
}

/// Writes an MSP folder as cryptogen does, for a member of `org` and TLS CA `tls_ca`.
fn write_msp(dir: &std::path::Path, org: &Org, tls_ca: &Ca) -> SigningIdentity {
    let key = key();
    let cert = leaf(&org.ca, &key);
    for sub in ["signcerts", "keystore", "cacerts", "tlscacerts"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(
        dir.join("signcerts/User1@org1.example.com-cert.pem"),
        pem(&cert),
    )
    .unwrap();
    std::fs::write(dir.join("keystore/priv_sk"), key_pem(&key)).unwrap();
    std::fs::write(
        dir.join("cacerts/ca.org1.example.com-cert.pem"),
        org.ca.pem(),
    )
    .unwrap();
    std::fs::write(
        dir.join("tlscacerts/tlsca.org1.example.com-cert.pem"),
        tls_ca.pem(),
    )
    .unwrap();
    SigningIdentity::new(
        FabricIdentity::from_pem("Org1MSP", &pem(&cert)).unwrap(),
        key,
    )
    .unwrap()
}

fn config_reason<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Config { reason }) => reason,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_msp_folder_gives_the_identity_roots_and_tls_roots() {
    let net = network(chain(1), false, None).await;
    let dir = tempfile::tempdir().unwrap();
    let written = write_msp(dir.path(), &net.org, &net.tls_ca);
    let msp = MspFolder::new(dir.path(), "Org1MSP");

    let identity = msp.signing_identity().unwrap();
    assert_eq!(identity.creator(), written.creator());
    let trusted = TrustedMsps::new([msp.roots().unwrap()]);
    trusted
        .validate(identity.identity(), SystemTime::now())
        .unwrap();

    // The folder's TLS roots authenticate the peer, and its identity signs accepted requests.
    let tls = TlsConfig {
        ca_pem: msp.tls_roots_pem().unwrap(),
        client_identity: None,
        server_name: Some(PEER_NAME.to_owned()),
    };
    let client = FabricClient::connect(&net.endpoint, tls, identity)
        .await
        .unwrap();
    let response = client
        .evaluate(&invocation("ReadAsset", &["x"]), &[])
        .await
        .unwrap();
    assert_eq!(response.payload, b"ReadAsset(x)");
}

#[test]
fn msp_folder_errors_name_the_path() {
    let org = org1();
    let tls_ca = root("tlsca.org1.example.com");
    let dir = tempfile::tempdir().unwrap();
    write_msp(dir.path(), &org, &tls_ca);
    let msp = MspFolder::new(dir.path(), "Org1MSP");
    let keystore = dir.path().join("keystore");

    // A key that is not the certificate's.
    std::fs::write(keystore.join("priv_sk"), key_pem(&key())).unwrap();
    let reason = config_reason(msp.signing_identity());
    assert!(reason.contains("does not match"), "{reason}");
    assert!(reason.contains(&keystore.display().to_string()), "{reason}");

    // Two keys: which one is ours is ambiguous.
    std::fs::write(keystore.join("other_sk"), key_pem(&key())).unwrap();
    let reason = config_reason(msp.signing_identity());
    assert!(reason.contains("holds 2 files"), "{reason}");
    assert!(reason.contains(&keystore.display().to_string()), "{reason}");

    // A key that is not PEM.
    std::fs::remove_file(keystore.join("other_sk")).unwrap();
    std::fs::write(keystore.join("priv_sk"), b"garbage").unwrap();
    let reason = config_reason(msp.signing_identity());
    assert!(reason.contains("PKCS#8"), "{reason}");

    // No keystore at all.
    std::fs::remove_dir_all(&keystore).unwrap();
    let reason = config_reason(msp.signing_identity());
    assert!(reason.contains("cannot read MSP folder"), "{reason}");
    assert!(reason.contains(&keystore.display().to_string()), "{reason}");

    // Empty cacerts and tlscacerts.
    let cacerts = dir.path().join("cacerts");
    std::fs::remove_file(cacerts.join("ca.org1.example.com-cert.pem")).unwrap();
    let reason = config_reason(msp.roots());
    assert!(reason.contains("no .pem certificate"), "{reason}");
    assert!(reason.contains(&cacerts.display().to_string()), "{reason}");
    std::fs::remove_dir_all(dir.path().join("tlscacerts")).unwrap();
    let reason = config_reason(msp.tls_roots_pem());
    assert!(reason.contains("tlscacerts"), "{reason}");

    // A root that is not a CA certificate.
    let leaf_key = key();
    let not_ca = leaf(&org.ca, &leaf_key);
    std::fs::write(cacerts.join("leaf.pem"), pem(&not_ca)).unwrap();
    let reason = config_reason(msp.roots());
    assert!(reason.contains(&cacerts.display().to_string()), "{reason}");
}
