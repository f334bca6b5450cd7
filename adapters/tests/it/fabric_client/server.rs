//! A minimal Fabric peer for the client tests: the Gateway and Deliver services from the
//! generated server stubs, served by tonic over rustls on a loopback port. It checks every
//! signature the way a peer does (creator validated against the configured MSPs, ECDSA over
//! the signed bytes) and answers from a small in-memory state.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use causeway_adapters::fabric::block::proposal_hash;
use causeway_adapters::fabric::client::gateway_error;
use causeway_adapters::fabric::proto::common::{
    ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader, Status as FabricStatus,
};
use causeway_adapters::fabric::proto::gateway::gateway_server::Gateway;
use causeway_adapters::fabric::proto::gateway::{
    ChaincodeEventsRequest, ChaincodeEventsResponse, CommitStatusRequest, CommitStatusResponse,
    EndorseRequest, EndorseResponse, ErrorDetail, EvaluateRequest, EvaluateResponse,
    SignedChaincodeEventsRequest, SignedCommitStatusRequest, SubmitRequest, SubmitResponse,
};
use causeway_adapters::fabric::proto::orderer::SeekInfo;
use causeway_adapters::fabric::proto::orderer::seek_position::Type as SeekType;
use causeway_adapters::fabric::proto::protos::deliver_response::Type as DeliverType;
use causeway_adapters::fabric::proto::protos::deliver_server::Deliver;
use causeway_adapters::fabric::proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeEvent,
    ChaincodeInvocationSpec, ChaincodeProposalPayload, DeliverResponse, Proposal,
    ProposalResponsePayload, Response, SignedProposal, Transaction, TransactionAction,
    TxValidationCode,
};
use causeway_adapters::fabric::{FabricBlock, FabricIdentity, TransactionId, TrustedMsps};
use causeway_devnet::fabric::PeerServices;
use prost::Message;
use tokio_stream::Stream;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Code, Request, Status, Streaming};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The block every submitted transaction is committed in.
pub(crate) const COMMIT_BLOCK: u64 = 5;

/// How the peer's gateway tampers with the prepared transaction it returns from Endorse.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PreparedFault {
    /// A transaction (consistently hashed) for another function and arguments.
    OtherCall,
    /// A transaction (consistently hashed) under a channel header for another channel.
    OtherChannelHeader,
    /// The proposal's transaction, endorsed for another proposal hash.
    WrongProposalHash,
}

/// The peer's state and what it has seen.
pub(crate) struct Peer {
    trusted: TrustedMsps,
    blocks: Vec<FabricBlock>,
    /// A block number Deliver leaves out (to test the client's order check).
    pub(crate) skip_block: Option<u64>,
    /// How Endorse tampers with the prepared transaction, if at all.
    pub(crate) prepared_fault: Option<PreparedFault>,
    /// Requests that reached a service method.
    pub(crate) requests: AtomicUsize,
    /// Submit requests received.
    pub(crate) submissions: AtomicUsize,
    endorsed: Mutex<HashSet<String>>,
    committed: Mutex<HashMap<String, u64>>,
}

impl Peer {
    pub(crate) fn new(trusted: TrustedMsps, blocks: Vec<FabricBlock>) -> Self {
        Self {
            trusted,
            blocks,
            skip_block: None,
            prepared_fault: None,
            requests: AtomicUsize::new(0),
            submissions: AtomicUsize::new(0),
            endorsed: Mutex::new(HashSet::new()),
            committed: Mutex::new(HashMap::new()),
        }
    }

    /// Validates `creator` against the MSPs and `signature` over `message`, as a peer does.
    fn check(&self, creator: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Status> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let identity = FabricIdentity::from_serialized(creator).map_err(denied)?;
        self.trusted
            .validate(&identity, SystemTime::now())
            .map_err(denied)?;
        identity.verify(message, signature).map_err(denied)
    }

    /// Checks a signed proposal and opens it.
    fn open_proposal(
        &self,
        signed: Option<SignedProposal>,
        claimed_tx_id: &str,
    ) -> Result<Opened, Status> {
        let signed = signed.ok_or_else(|| Status::invalid_argument("no proposal"))?;
        let proposal = Proposal::decode(signed.proposal_bytes.as_slice()).map_err(bad)?;
        let header = Header::decode(proposal.header.as_slice()).map_err(bad)?;
        let signature_header =
            SignatureHeader::decode(header.signature_header.as_slice()).map_err(bad)?;
        self.check(
            &signature_header.creator,
            &signed.proposal_bytes,
            &signed.signature,
        )?;
        let tx_id = TransactionId::derive(&signature_header.nonce, &signature_header.creator);
        if tx_id.0 != claimed_tx_id {
            return Err(Status::invalid_argument("transaction id does not match"));
        }
        let mut payload =
            ChaincodeProposalPayload::decode(proposal.payload.as_slice()).map_err(bad)?;
        payload.transient_map.clear();
        let payload_for_tx = payload.encode_to_vec();
        let spec = ChaincodeInvocationSpec::decode(payload.input.as_slice()).map_err(bad)?;
        let mut args = spec
            .chaincode_spec
            .and_then(|s| s.input)
            .map(|i| i.args)
            .unwrap_or_default();
        if args.is_empty() {
            return Err(Status::invalid_argument("no function"));
        }
        let function = String::from_utf8(args.remove(0)).map_err(bad)?;
        Ok(Opened {
            tx_id: tx_id.0,
            header,
            payload_for_tx,
            function,
            args,
        })
    }

    /// The endorser transaction of `opened` as a gateway assembles it (one action, endorsed
    /// for the proposal's hash; no endorsements, this peer checks none), tampered with as
    /// [`Self::prepared_fault`] says.
    fn prepared(&self, opened: &Opened) -> Result<Payload, Status> {
        let mut header = opened.header.clone();
        let mut payload_for_tx = opened.payload_for_tx.clone();
        match self.prepared_fault {
            None | Some(PreparedFault::WrongProposalHash) => {}
            Some(PreparedFault::OtherCall) => {
                let mut payload =
                    ChaincodeProposalPayload::decode(payload_for_tx.as_slice()).map_err(bad)?;
                let mut spec =
                    ChaincodeInvocationSpec::decode(payload.input.as_slice()).map_err(bad)?;
                let input = spec
                    .chaincode_spec
                    .as_mut()
                    .and_then(|s| s.input.as_mut())
                    .ok_or_else(|| bad("no input"))?;
                input.args = vec![
                    b"Transfer".to_vec(),
                    b"asset1".to_vec(),
                    b"mallory".to_vec(),
                ];
                payload.input = spec.encode_to_vec();
                payload_for_tx = payload.encode_to_vec();
            }
            Some(PreparedFault::OtherChannelHeader) => {
                let mut channel_header =
                    ChannelHeader::decode(header.channel_header.as_slice()).map_err(bad)?;
                channel_header.channel_id = "otherchannel".to_owned();
                header.channel_header = channel_header.encode_to_vec();
            }
        }
        let mut hash = proposal_hash(
            &header.channel_header,
            &header.signature_header,
            &payload_for_tx,
        );
        if matches!(self.prepared_fault, Some(PreparedFault::WrongProposalHash)) {
            hash[0] ^= 1;
        }
        let response_payload = ProposalResponsePayload {
            proposal_hash: hash.to_vec(),
            extension: ChaincodeAction {
                response: Some(Response {
                    status: 200,
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        };
        let transaction = Transaction {
            actions: vec![TransactionAction {
                header: header.signature_header.clone(),
                payload: ChaincodeActionPayload {
                    chaincode_proposal_payload: payload_for_tx,
                    action: Some(ChaincodeEndorsedAction {
                        proposal_response_payload: response_payload.encode_to_vec(),
                        endorsements: Vec::new(),
                    }),
                }
                .encode_to_vec(),
            }],
        };
        Ok(Payload {
            header: Some(header),
            data: transaction.encode_to_vec(),
        })
    }
}

/// What the peer reads from a checked proposal.
struct Opened {
    tx_id: String,
    header: Header,
    /// The serialized `ChaincodeProposalPayload` without transient data.
    payload_for_tx: Vec<u8>,
    function: String,
    args: Vec<Vec<u8>>,
}

fn denied(e: impl std::fmt::Display) -> Status {
    Status::permission_denied(e.to_string())
}

fn bad(e: impl std::fmt::Display) -> Status {
    Status::invalid_argument(e.to_string())
}

#[tonic::async_trait]
impl Gateway for Peer {
    async fn evaluate(
        &self,
        request: Request<EvaluateRequest>,
    ) -> Result<tonic::Response<EvaluateResponse>, Status> {
        let request = request.into_inner();
        let Opened { function, args, .. } =
            self.open_proposal(request.proposed_transaction, &request.transaction_id)?;
        if function == "fail" {
            let detail = ErrorDetail {
                address: "peer0.org1.example.com:7051".to_owned(),
                msp_id: "Org1MSP".to_owned(),
                message: "chaincode response 500, asset missing".to_owned(),
            };
            return Err(gateway_error(
                Code::Aborted,
                "evaluate call to endorser returned error",
                &detail,
            ));
        }
        let args: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        Ok(tonic::Response::new(EvaluateResponse {
            result: Some(Response {
                status: 200,
                message: String::new(),
                payload: format!("{function}({})", args.join(",")).into_bytes(),
            }),
        }))
    }

    async fn endorse(
        &self,
        request: Request<EndorseRequest>,
    ) -> Result<tonic::Response<EndorseResponse>, Status> {
        let request = request.into_inner();
        let opened = self.open_proposal(request.proposed_transaction, &request.transaction_id)?;
        let payload = self.prepared(&opened)?;
        self.endorsed
            .lock()
            .expect("no panics while locked")
            .insert(opened.tx_id);
        Ok(tonic::Response::new(EndorseResponse {
            prepared_transaction: Some(Envelope {
                payload: payload.encode_to_vec(),
                signature: Vec::new(),
            }),
        }))
    }

    async fn submit(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<tonic::Response<SubmitResponse>, Status> {
        self.submissions.fetch_add(1, Ordering::SeqCst);
        let request = request.into_inner();
        let envelope = request
            .prepared_transaction
            .ok_or_else(|| Status::invalid_argument("no transaction"))?;
        let payload = Payload::decode(envelope.payload.as_slice()).map_err(bad)?;
        let header = payload.header.ok_or_else(|| bad("no header"))?;
        let signature_header =
            SignatureHeader::decode(header.signature_header.as_slice()).map_err(bad)?;
        self.check(
            &signature_header.creator,
            &envelope.payload,
            &envelope.signature,
        )?;
        if !self
            .endorsed
            .lock()
            .expect("no panics while locked")
            .contains(&request.transaction_id)
        {
            return Err(Status::failed_precondition("transaction was not endorsed"));
        }
        self.committed
            .lock()
            .expect("no panics while locked")
            .insert(request.transaction_id, COMMIT_BLOCK);
        Ok(tonic::Response::new(SubmitResponse {}))
    }

    async fn commit_status(
        &self,
        request: Request<SignedCommitStatusRequest>,
    ) -> Result<tonic::Response<CommitStatusResponse>, Status> {
        let signed = request.into_inner();
        let request = CommitStatusRequest::decode(signed.request.as_slice()).map_err(bad)?;
        self.check(&request.identity, &signed.request, &signed.signature)?;
        let block = self
            .committed
            .lock()
            .expect("no panics while locked")
            .get(&request.transaction_id)
            .copied()
            .ok_or_else(|| Status::not_found(format!("{} not found", request.transaction_id)))?;
        Ok(tonic::Response::new(CommitStatusResponse {
            result: TxValidationCode::Valid as i32,
            block_number: block,
        }))
    }

    type ChaincodeEventsStream = BoxStream<ChaincodeEventsResponse>;

    async fn chaincode_events(
        &self,
        request: Request<SignedChaincodeEventsRequest>,
    ) -> Result<tonic::Response<Self::ChaincodeEventsStream>, Status> {
        let signed = request.into_inner();
        let request = ChaincodeEventsRequest::decode(signed.request.as_slice()).map_err(bad)?;
        self.check(&request.identity, &signed.request, &signed.signature)?;
        let start = match request.start_position.and_then(|p| p.r#type) {
            Some(SeekType::Specified(s)) => s.number,
            _ => return Err(Status::invalid_argument("expected a specified start")),
        };
        let responses: Vec<Result<ChaincodeEventsResponse, Status>> = (start..start + 3)
            .map(|block| {
                Ok(ChaincodeEventsResponse {
                    block_number: block,
                    events: vec![ChaincodeEvent {
                        chaincode_id: request.chaincode_id.clone(),
                        tx_id: format!("tx{block}"),
                        event_name: "MessageSent".to_owned(),
                        payload: block.to_be_bytes().to_vec(),
                    }],
                })
            })
            .collect();
        Ok(tonic::Response::new(Box::pin(tokio_stream::iter(
            responses,
        ))))
    }
}

#[tonic::async_trait]
impl Deliver for Peer {
    type DeliverStream = BoxStream<DeliverResponse>;

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverStream>, Status> {
        let envelope = request
            .into_inner()
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no seek envelope"))?;
        let payload = Payload::decode(envelope.payload.as_slice()).map_err(bad)?;
        let header = payload.header.ok_or_else(|| bad("no header"))?;
        let channel_header =
            ChannelHeader::decode(header.channel_header.as_slice()).map_err(bad)?;
        if channel_header.r#type != HeaderType::DeliverSeekInfo as i32 {
            return Err(bad("not a DELIVER_SEEK_INFO envelope"));
        }
        let signature_header =
            SignatureHeader::decode(header.signature_header.as_slice()).map_err(bad)?;
        self.check(
            &signature_header.creator,
            &envelope.payload,
            &envelope.signature,
        )?;
        let seek = SeekInfo::decode(payload.data.as_slice()).map_err(bad)?;
        let start = match seek.start.and_then(|p| p.r#type) {
            Some(SeekType::Specified(s)) => s.number,
            _ => return Err(bad("expected a specified start")),
        };
        let mut responses = Vec::new();
        if start >= self.blocks.len() as u64 {
            responses.push(DeliverType::Status(FabricStatus::NotFound as i32));
        } else {
            for block in &self.blocks[start as usize..] {
                if Some(block.number()) != self.skip_block {
                    responses.push(DeliverType::Block(block.block().clone()));
                }
            }
            responses.push(DeliverType::Status(FabricStatus::Success as i32));
        }
        let responses: Vec<Result<DeliverResponse, Status>> = responses
            .into_iter()
            .map(|r| Ok(DeliverResponse { r#type: Some(r) }))
            .collect();
        Ok(tonic::Response::new(Box::pin(tokio_stream::iter(
            responses,
        ))))
    }

    type DeliverFilteredStream = BoxStream<DeliverResponse>;

    async fn deliver_filtered(
        &self,
        _request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverFilteredStream>, Status> {
        Err(Status::unimplemented("filtered blocks"))
    }

    type DeliverWithPrivateDataStream = BoxStream<DeliverResponse>;

    async fn deliver_with_private_data(
        &self,
        _request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverWithPrivateDataStream>, Status> {
        Err(Status::unimplemented("private data"))
    }
}

/// The server's TLS: its certificate and key (PEM), and the client CA when it requires mutual
/// TLS.
pub(crate) struct ServerTls {
    pub(crate) cert_pem: Vec<u8>,
    pub(crate) key_pem: Vec<u8>,
    pub(crate) client_ca_pem: Option<Vec<u8>>,
}

/// Serves `peer` over TLS on a free loopback port until the test's runtime ends.
pub(crate) async fn serve(peer: Arc<Peer>, tls: ServerTls) -> SocketAddr {
    // tonic's server takes rustls' process-wide provider; two are compiled in (ring here,
    // aws-lc through alloy), so name one. The client falls back to ring by itself.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(tls.cert_pem, tls.key_pem));
    if let Some(ca) = tls.client_ca_pem {
        config = config.client_ca_root(Certificate::from_pem(ca));
    }
    let services = PeerServices::new(peer);
    let server = Server::builder()
        .tls_config(config)
        .unwrap()
        .serve_with_incoming(services, TcpListenerStream::new(listener));
    tokio::spawn(server);
    address
}
