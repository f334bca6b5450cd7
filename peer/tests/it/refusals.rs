//! Who is refused, and where: certificates that are not exactly one member's are refused at the
//! TLS handshake (both directions); a member that sends what it may not is cut off and nothing
//! it sent reaches the attest stage.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use causeway_devnet::pki::{ConsortiumCa, GatewayCert, GatewayCertSpec};
use causeway_peer::wire::proto;
use causeway_peer::{Error, LinkState, MemberTrust, Peer, PeerCollector, PeerConfig, TlsIdentity};
use causeway_proofs::{LogSize, ValidatorKey};
use causeway_relayer::pipeline::PeerSignature;
use causeway_relayer::store::{Lane, ValidatorSignature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

use crate::support::*;

fn certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .expect("PEM certificates")
}

/// Opens a TLS connection to `server` presenting `client`, trusting `server_ca` for
/// `server_name`. `Ok` if the server admitted the connection (it then speaks HTTP/2 first),
/// `Err` with the reason if it was refused during the handshake.
async fn handshake(
    server: SocketAddr,
    server_ca: &ConsortiumCa,
    server_name: &str,
    client: &GatewayCert,
) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in certificates(&server_ca.ca_pem()) {
        roots.add(ca).expect("a CA");
    }
    let key = PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes()).expect("a key");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_client_auth_cert(certificates(&client.cert_pem), key)
    .expect("a client identity");
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server).await.expect("connects");
    let name = ServerName::try_from(server_name.to_owned()).expect("a name");
    // In TLS 1.3 the client finishes its side first; a refusal arrives as an alert on the
    // first read, an admission as the server's HTTP/2 SETTINGS.
    let mut stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
        Ok(Ok(0)) => Err("closed".to_owned()),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => panic!("the server neither admitted nor refused the connection"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_of_no_single_member_are_refused_at_the_handshake() {
    let mut consortium = Consortium::new(&["org1", "org2", "org3"], Pki::PerMember).await;
    let server = consortium.start("org1", &[]).await;
    let address = consortium.org("org1").address;
    let org1_ca = consortium.org("org1").ca.clone();
    let org2_ca = consortium.org("org2").ca.clone();
    let at_org1 = |cert: GatewayCert| {
        let ca = org1_ca.clone();
        async move { handshake(address, &ca, &dns("org1"), &cert).await }
    };

    // Members' own certificates get in (so the refusals below are the verifier's doing).
    at_org1(
        org2_ca
            .issue(&GatewayCertSpec::new("org2", &dns("org2")))
            .unwrap(),
    )
    .await
    .expect("org2's certificate is admitted");
    let org3 = &consortium.org("org3").cert;
    let org3 = GatewayCert {
        cert_pem: org3.cert_pem.clone(),
        key_pem: org3.key_pem.clone(),
    };
    at_org1(org3).await.expect("org3's certificate is admitted");
    assert_eq!(server.handle().server_stats().connections_accepted, 2);

    let refused = [
        (
            "a non-member's CA",
            ConsortiumCa::new("outsider")
                .issue(&GatewayCertSpec::new("org2", &dns("org2")))
                .unwrap(),
        ),
        (
            "an expired certificate",
            org2_ca
                .issue(&GatewayCertSpec::new("org2", &dns("org2")).expired())
                .unwrap(),
        ),
        (
            "org2 presenting itself as org3 (a certificate of org2's CA with org3's name)",
            org2_ca
                .issue(&GatewayCertSpec::new("org2", &dns("org3")))
                .unwrap(),
        ),
        (
            "the server's own member",
            consortium
                .org("org1")
                .ca
                .issue(&GatewayCertSpec::new("org1", &dns("org1")))
                .unwrap(),
        ),
    ];
    let count = refused.len() as u64;
    for (what, cert) in refused {
        let reason = at_org1(cert).await.expect_err(what);
        assert!(
            reason.contains("alert") || reason.contains("closed") || reason.contains("reset"),
            "{what}: {reason}"
        );
    }
    let stats = server.handle().server_stats();
    assert_eq!(stats.handshakes_refused, count, "{stats:?}");
    assert_eq!(stats.connections_accepted, 2, "{stats:?}");
    let mut server = server;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_stalled_handshakes_are_cut_off_while_members_are_served() {
    let mut consortium = Consortium::new(&["org1", "org2"], Pki::Shared).await;
    consortium.limits.handshake_timeout = Duration::from_millis(500);
    let mut org1 = consortium.start("org1", &[]).await;
    let address = consortium.org("org1").address;
    // Bytes that are not TLS, and connections that never say anything.
    let mut garbage = Vec::new();
    for _ in 0..5 {
        let mut tcp = TcpStream::connect(address).await.expect("connects");
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("writes");
        garbage.push(tcp);
    }
    let mut stalled = Vec::new();
    for _ in 0..5 {
        stalled.push(TcpStream::connect(address).await.expect("connects"));
    }
    // Meanwhile a member subscribes and is served.
    let mut org2 = consortium.start("org2", &[L1]).await;
    sign(&org1.collector, L1, 3).await;
    assert_eq!(org2.next(L1).await.checkpoint.size(), LogSize(3));
    eventually("every bad connection was refused", || {
        org1.handle().server_stats().handshakes_refused == 10
    })
    .await;
    // The server closed them all.
    for mut tcp in garbage.into_iter().chain(stalled) {
        let mut buf = [0u8; 256];
        loop {
            match tokio::time::timeout(PATIENCE, tcp.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => continue, // a TLS alert
                Err(_) => panic!("a bad connection was left open"),
            }
        }
    }
    assert_eq!(org1.handle().server_stats().connections_accepted, 1);
    org2.stop().await;
    org1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_consortium_ca_the_name_decides_and_must_name_one_member() {
    let mut consortium = Consortium::new(&["org1", "org2", "org3"], Pki::Shared).await;
    let mut server = consortium.start("org1", &[]).await;
    let address = consortium.org("org1").address;
    let ca = consortium.org("org1").ca.clone();
    let issue = |spec: GatewayCertSpec| ca.issue(&spec).unwrap();

    handshake(
        address,
        &ca,
        &dns("org1"),
        &issue(GatewayCertSpec::new("org2", &dns("org2"))),
    )
    .await
    .expect("org2 is admitted");
    for (what, spec) in [
        (
            "a name no member has",
            GatewayCertSpec::new("org4", &dns("org4")),
        ),
        (
            "the names of two members",
            GatewayCertSpec::new("org2", &dns("org2")).dns(&dns("org3")),
        ),
    ] {
        handshake(address, &ca, &dns("org1"), &issue(spec))
            .await
            .expect_err(what);
    }
    let stats = server.handle().server_stats();
    assert_eq!(
        (stats.connections_accepted, stats.handshakes_refused),
        (1, 2),
        "{stats:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_refuses_a_server_that_is_not_the_member_it_dialled() {
    let mut consortium = Consortium::new(&["org1", "org2", "org3"], Pki::Shared).await;
    let mut org1 = consortium.start("org1", &[L1]).await;
    // org2's genuine gateway, listening at org3's endpoint.
    let org2_collector = Arc::new(PeerCollector::new(consortium.org("org2").validator_key()));
    let impostor_listener = consortium.take_listener("org3").await;
    let impostor = Peer::start_with_listener(
        consortium.config("org2", consortium.org("org2").identity()),
        impostor_listener,
        org2_collector.clone(),
        pending(),
    )
    .await
    .expect("starts");
    sign(&org2_collector, L1, 1).await;

    eventually("org1 failed to reach org3 a few times", || {
        org1.link("org3").failures >= 3
    })
    .await;
    let link = org1.link("org3");
    assert_eq!(link.sessions, 0, "{link:?}");
    assert_ne!(link.state, LinkState::Connected);
    let reason = link.last_error.unwrap_or_default();
    assert!(reason.contains("certificate"), "{reason}");
    assert!(org1.receiver(L1).try_recv().is_err());
    let stats = impostor.server_stats();
    assert_eq!(stats.connections_accepted, 0, "{stats:?}");
    assert!(stats.handshakes_refused >= 1, "{stats:?}");
    impostor.stop().await.expect("stops");
    org1.stop().await;
}

/// The stream of a TLS connection, for tonic.
struct Io(tokio_rustls::server::TlsStream<TcpStream>);

impl Connected for Io {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A member's server (genuine certificate) that answers every subscription with `messages`
/// and then keeps the stream open until stopped.
#[derive(Clone)]
struct Rogue {
    messages: Vec<proto::SignedCheckpoint>,
    stop: CancellationToken,
}

#[tonic::async_trait]
impl proto::peer_server::Peer for Rogue {
    type StreamSignaturesStream = ReceiverStream<Result<proto::SignedCheckpoint, Status>>;

    async fn stream_signatures(
        &self,
        _: Request<proto::StreamSignaturesRequest>,
    ) -> Result<Response<Self::StreamSignaturesStream>, Status> {
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        let messages = self.messages.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            for message in messages {
                if sender.send(Ok(message)).await.is_err() {
                    return;
                }
            }
            stop.cancelled().await;
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn fetch_envelope(
        &self,
        _: Request<proto::FetchEnvelopeRequest>,
    ) -> Result<Response<proto::Envelope>, Status> {
        Err(Status::unimplemented("a rogue serves no envelopes"))
    }

    async fn query(
        &self,
        _: Request<proto::QueryRequest>,
    ) -> Result<Response<proto::QueryReply>, Status> {
        Err(Status::not_found("a rogue serves no chain"))
    }
}

/// A running rogue server.
struct RogueServer {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RogueServer {
    /// Stops it: its streams, connections and listener are closed when this returns.
    async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Serves `messages` on `listener` as the member whose certificate is `cert`.
fn serve_rogue(
    listener: TcpListener,
    cert: &GatewayCert,
    messages: Vec<proto::SignedCheckpoint>,
) -> RogueServer {
    let identity = certificates(&cert.cert_pem);
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).expect("a key");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(identity, key)
    .expect("a server identity");
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let stop = CancellationToken::new();
    let rogue = Rogue {
        messages,
        stop: stop.clone(),
    };
    let (connections, incoming) = tokio::sync::mpsc::channel::<io::Result<Io>>(8);
    let shutdown = stop.clone();
    let task = tokio::spawn(async move {
        let accept = async move {
            while let Ok((tcp, _)) = listener.accept().await {
                if let Ok(tls) = acceptor.accept(tcp).await
                    && connections.send(Ok(Io(tls))).await.is_err()
                {
                    return;
                }
            }
        };
        let serve = tonic::transport::Server::builder().serve_with_incoming_shutdown(
            proto::peer_server::PeerServer::new(rogue),
            ReceiverStream::new(incoming),
            shutdown.cancelled_owned(),
        );
        tokio::select! {
            _ = accept => {}
            _ = serve => {}
        }
    });
    RogueServer { stop, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sending_what_it_may_not_is_cut_off_and_nothing_reaches_the_lane() {
    let mut consortium = Consortium::new(&["org1", "org2", "org3"], Pki::Shared).await;
    let mut org1 = consortium.start("org1", &[L1, L2]).await;
    let org2_key = consortium.org("org2").validator_key();
    let org3_key = consortium.org("org3").validator_key();
    let org2_cert = {
        let c = &consortium.org("org2").cert;
        GatewayCert {
            cert_pem: c.cert_pem.clone(),
            key_pem: c.key_pem.clone(),
        }
    };
    let signed = |key: &ValidatorKey, lane: Lane, size: u64| {
        let checkpoint = checkpoint(lane, size);
        causeway_peer::wire::encode(
            lane,
            &PeerSignature {
                checkpoint,
                signature: ValidatorSignature {
                    validator: key.address(),
                    signature: key.sign_checkpoint(&checkpoint, &domain(lane)),
                },
            },
        )
    };

    // Control: org2's own signature, from org2's gateway, arrives.
    let listener = consortium.take_listener("org2").await;
    let stop = serve_rogue(listener, &org2_cert, vec![signed(&org2_key, L1, 4)]);
    let arrived = org1.next(L1).await;
    assert_eq!(arrived.checkpoint.size(), LogSize(4));
    assert_eq!(signer_of(L1, &arrived), org2_key.address());
    stop.stop().await;

    let good = signed(&org2_key, L1, 5);
    let cases = [
        ("signature of validator", signed(&org3_key, L1, 5)),
        (
            "malformed root",
            proto::SignedCheckpoint {
                root: vec![1; 31],
                ..good.clone()
            },
        ),
        (
            "malformed root",
            proto::SignedCheckpoint {
                root: vec![0; 32],
                ..good.clone()
            },
        ),
        (
            "malformed signature",
            proto::SignedCheckpoint {
                signature: vec![1; 64],
                ..good.clone()
            },
        ),
        (
            "malformed hash_algorithm",
            proto::SignedCheckpoint {
                hash_algorithm: 9,
                ..good.clone()
            },
        ),
        (
            "was not requested",
            proto::SignedCheckpoint {
                origin: 9,
                ..good.clone()
            },
        ),
        (
            "oversized",
            proto::SignedCheckpoint {
                signature: vec![1; 8 * 1024],
                ..good.clone()
            },
        ),
    ];
    for (expected, message) in cases {
        let before = org1.link("org2").violations;
        let listener = consortium.take_listener("org2").await;
        // The bad message first, then a good one that must never arrive either: the peer is
        // cut off at the first.
        let stop = serve_rogue(listener, &org2_cert, vec![message, good.clone()]);
        eventually(&format!("org1 cut org2 off for: {expected}"), || {
            org1.link("org2").violations > before
        })
        .await;
        let link = org1.link("org2");
        let reason = link.last_error.clone().unwrap_or_default();
        assert!(reason.contains(expected), "{expected}: {reason}");
        stop.stop().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            org1.receiver(L1).try_recv().is_err(),
            "{expected}: a signature reached L1"
        );
        assert!(
            org1.receiver(L2).try_recv().is_err(),
            "{expected}: a signature reached L2"
        );
    }
    org1.stop().await;
}

#[tokio::test]
async fn a_configuration_where_one_certificate_fits_two_members_is_refused() {
    let consortium = Consortium::new(&["org1", "org2"], Pki::Shared).await;
    let org1 = consortium.org("org1");
    let mut twin = consortium.org("org2").member();
    // The same name in other letters' case: webpki would match one certificate to both.
    twin.trust = MemberTrust::ca("org2", &org1.ca.ca_pem(), &dns("ORG1")).unwrap();
    let err = PeerConfig::new(
        "org1",
        org1.address,
        org1.identity(),
        vec![org1.member(), twin],
    )
    .expect_err("two members with one identity");
    assert!(matches!(err, Error::DuplicateIdentity { .. }), "{err}");
}

#[tokio::test]
async fn a_collector_signing_with_another_key_is_refused_at_start() {
    let mut consortium = Consortium::new(&["org1", "org2"], Pki::Shared).await;
    let config = consortium.config("org1", consortium.org("org1").identity());
    let listener = consortium.take_listener("org1").await;
    let wrong = Arc::new(PeerCollector::new(consortium.org("org2").validator_key()));
    let err = Peer::start_with_listener(config, listener, wrong, pending())
        .await
        .expect_err("another validator");
    assert!(matches!(err, Error::ValidatorMismatch { .. }), "{err}");
}

#[test]
fn an_identity_whose_key_is_not_the_certificates_is_refused() {
    let ca = ConsortiumCa::new("consortium");
    let one = ca
        .issue(&GatewayCertSpec::new("org1", &dns("org1")))
        .unwrap();
    let other = ca
        .issue(&GatewayCertSpec::new("org2", &dns("org2")))
        .unwrap();
    let err =
        TlsIdentity::from_pem(&one.cert_pem, other.key_pem.as_bytes()).expect_err("mismatched key");
    assert!(matches!(err, Error::KeyMismatch), "{err}");
    // The error never carries the key.
    assert!(!format!("{err} {err:?}").contains("PRIVATE KEY"));
}

/// Opens TCP then TLS as a member's client, for a raw tonic channel.
#[derive(Clone)]
struct RawConnector(tokio_rustls::TlsConnector, SocketAddr, String);

type RawIo = hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<TcpStream>>;

impl tonic::codegen::Service<tonic::codegen::http::Uri> for RawConnector {
    type Response = RawIo;
    type Error = io::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = io::Result<RawIo>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: tonic::codegen::http::Uri) -> Self::Future {
        let RawConnector(tls, address, name) = self.clone();
        Box::pin(async move {
            let tcp = TcpStream::connect(address).await?;
            let name = ServerName::try_from(name).map_err(io::Error::other)?;
            Ok(hyper_util::rt::TokioIo::new(tls.connect(name, tcp).await?))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_or_unbounded_subscriptions_are_refused_and_the_member_is_still_served() {
    let mut consortium = Consortium::new(&["org1", "org2"], Pki::Shared).await;
    let mut org1 = consortium.start("org1", &[]).await;
    sign(&org1.collector, L1, 6).await;
    // org2's genuine client certificate, on a raw gRPC client.
    let org2 = &consortium.org("org2").cert;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(certificates(&consortium.org("org1").ca.ca_pem())[0].clone())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(
        certificates(&org2.cert_pem),
        PrivateKeyDer::from_pem_slice(org2.key_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = RawConnector(
        tokio_rustls::TlsConnector::from(Arc::new(config)),
        consortium.org("org1").address,
        dns("org1"),
    );
    let channel = tonic::transport::Endpoint::from_static("http://org1.causeway.test")
        .connect_with_connector(connector)
        .await
        .expect("org2 connects");
    let mut client = proto::peer_client::PeerClient::new(channel);
    let cursors = |n: u32| proto::StreamSignaturesRequest {
        cursors: (0..n)
            .map(|origin| proto::LaneCursor {
                origin: origin + 1,
                destination: 2,
                last_size: Some(u64::MAX),
            })
            .collect(),
    };

    let status = client
        .stream_signatures(cursors(200))
        .await
        .expect_err("more lanes than allowed");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let status = client
        .stream_signatures(cursors(2000))
        .await
        .expect_err("a request over the size limit");
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");
    assert_eq!(org1.handle().server_stats().subscriptions_refused, 1);

    // The same member, asking properly, is served.
    let mut stream = client
        .stream_signatures(proto::StreamSignaturesRequest {
            cursors: vec![proto::LaneCursor {
                origin: L1.origin.0,
                destination: L1.destination.0,
                last_size: None,
            }],
        })
        .await
        .expect("subscribes")
        .into_inner();
    let first = tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("in time")
        .expect("a message")
        .expect("not the end");
    assert_eq!(first.size, 6);
    org1.stop().await;
}

/// A member that streams valid signatures it already sent, or more a second than any honest
/// member signs, is cut off as flooding (logged, counted as a violation) after a bounded
/// number reached the lane; an honest member streaming at the same time keeps arriving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_flooding_valid_signatures_is_cut_off_and_an_honest_member_still_arrives() {
    let mut consortium = Consortium::new(&["org1", "org2", "org3"], Pki::Shared).await;
    // Small bounds, so a flood is quick to send: 20 a second on the one lane, a burst of 200.
    consortium.limits.signatures_per_lane_per_second = 20;
    consortium.limits.max_repeated_signatures = 8;
    let mut org1 = consortium.start("org1", &[L1]).await;
    let org3 = consortium.start("org3", &[L1]).await;
    let org2_key = consortium.org("org2").validator_key();
    let (org2, org3_address) = (org2_key.address(), consortium.org("org3").validator);
    let org2_cert = {
        let c = &consortium.org("org2").cert;
        GatewayCert {
            cert_pem: c.cert_pem.clone(),
            key_pem: c.key_pem.clone(),
        }
    };
    let signed = |size: u64| {
        let checkpoint = checkpoint(L1, size);
        causeway_peer::wire::encode(
            L1,
            &PeerSignature {
                checkpoint,
                signature: ValidatorSignature {
                    validator: org2_key.address(),
                    signature: org2_key.sign_checkpoint(&checkpoint, &domain(L1)),
                },
            },
        )
    };

    // org1's attest stage stand-in: drains the lane, counting signatures per signer.
    let counts = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let (_, mut lane) = org1.receivers.pop().expect("L1's receiver");
    let drain = tokio::spawn({
        let counts = Arc::clone(&counts);
        async move {
            while let Some(signature) = lane.recv().await {
                *counts
                    .lock()
                    .unwrap()
                    .entry(signer_of(L1, &signature))
                    .or_insert(0u64) += 1;
            }
        }
    });
    let count = |who| counts.lock().unwrap().get(&who).copied().unwrap_or(0);

    // One signature sent again and again.
    let listener = consortium.take_listener("org2").await;
    let repeats = serve_rogue(listener, &org2_cert, vec![signed(4); 1_000]);
    eventually("org1 cut org2 off for repeating itself", || {
        org1.link("org2").violations >= 1
    })
    .await;
    let reason = org1.link("org2").last_error.unwrap_or_default();
    assert!(
        reason.contains("flooding") && reason.contains("repeated signatures"),
        "{reason}"
    );
    repeats.stop().await;
    // The original and the 8 tolerated repeats reach the lane, nothing after.
    eventually("the admitted signatures are drained", || count(org2) >= 9).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after_repeats = count(org2);
    assert_eq!(after_repeats, 9);

    // Distinct valid signatures, far faster than anyone signs.
    let flood: Vec<proto::SignedCheckpoint> = (10..3_010).map(signed).collect();
    let listener = consortium.take_listener("org2").await;
    let rate = serve_rogue(listener, &org2_cert, flood);
    eventually("org1 cut org2 off for its rate", || {
        org1.link("org2").violations >= 2
    })
    .await;
    let reason = org1.link("org2").last_error.unwrap_or_default();
    assert!(
        reason.contains("flooding") && reason.contains("signatures a second"),
        "{reason}"
    );
    rate.stop().await;
    eventually("the burst is drained", || {
        count(org2) - after_repeats >= 200
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let from_flood = count(org2) - after_repeats;
    assert!(
        (200..1_000).contains(&from_flood),
        "the burst (200) and what the rate refilled meanwhile reach the lane, not {from_flood} of 3000"
    );

    // The honest member, meanwhile and after: its signatures arrive, it is never cut off.
    for size in [5, 6, 7] {
        sign(&org3.collector, L1, size).await;
    }
    eventually("org3's three signatures arrive", || {
        count(org3_address) >= 3
    })
    .await;
    assert_eq!(org1.link("org3").violations, 0);
    org1.stop().await;
    drain.abort();
}
