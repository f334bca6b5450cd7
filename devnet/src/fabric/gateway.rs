//! The peer's `gateway.Gateway` service: Evaluate, Endorse (with the peers of Org1MSP and
//! Org2MSP), Submit (to the ordering service), CommitStatus (waits for the commit, as
//! Fabric's does) and ChaincodeEvents (from a start block, waiting for new blocks).
//!
//! No TLS binding here, even under mutual TLS, as in Fabric: its gateway
//! (`internal/pkg/gateway`: `evaluate.go`, `endorse.go`, `submit.go`, `commitstatus.go`,
//! `chaincodeevents.go`) checks only the signed request against the channel ACL
//! (`CheckACL(resources.Gateway_CommitStatus/Gateway_ChaincodeEvents, ...)`) or hands the
//! signed proposal to the endorsers, and never compares `ChannelHeader.tls_cert_hash` with the
//! connection's certificate; fabric-gateway sets that field only in block-event (Deliver)
//! requests. The binding is the Deliver service's (see [`super::deliver`]).

use std::pin::Pin;

use causeway_adapters::fabric::FabricBlock;
use causeway_adapters::fabric::client::gateway_error;
use causeway_adapters::fabric::proto::common::{
    ChannelHeader, HeaderType, Payload, SignatureHeader,
};
use causeway_adapters::fabric::proto::gateway::gateway_server::Gateway;
use causeway_adapters::fabric::proto::gateway::{
    ChaincodeEventsRequest, ChaincodeEventsResponse, CommitStatusRequest, CommitStatusResponse,
    EndorseRequest, EndorseResponse, ErrorDetail, EvaluateRequest, EvaluateResponse,
    SignedChaincodeEventsRequest, SignedCommitStatusRequest, SubmitRequest, SubmitResponse,
};
use causeway_adapters::fabric::proto::orderer::SeekPosition;
use causeway_adapters::fabric::proto::orderer::seek_position::Type as SeekType;
use causeway_adapters::fabric::proto::protos::{ChaincodeEvent, Response};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Status};

use super::endorse::ChaincodeOrStatus;
use super::org::ORG1;
use super::peer::{Peer, PeerService, read};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl Peer {
    /// A gRPC error with one `gateway.ErrorDetail` naming this peer.
    fn peer_error(&self, code: Code, message: &str, detail: String) -> Status {
        let detail = ErrorDetail {
            address: self.address.clone(),
            msp_id: ORG1.to_owned(),
            message: detail,
        };
        gateway_error(code, message, &detail)
    }
}

/// Where a seek position starts, given the current height.
pub(crate) fn start_of(position: Option<&SeekPosition>, height: u64) -> u64 {
    match position.and_then(|p| p.r#type.as_ref()) {
        Some(SeekType::Specified(s)) => s.number,
        Some(SeekType::Oldest(_)) => 0,
        Some(SeekType::Newest(_)) | None => height.saturating_sub(1),
        Some(SeekType::NextCommit(_)) => height,
    }
}

/// The events of `chaincode` in the valid transactions of `block`, skipping those up to and
/// including transaction `after` (when it is in the block).
fn block_events(block: &FabricBlock, chaincode: &str, after: Option<&str>) -> Vec<ChaincodeEvent> {
    let (Ok(codes), Ok(transactions)) = (block.validation_codes(), block.transactions()) else {
        return Vec::new();
    };
    let skip_until = after.and_then(|id| transactions.iter().position(|tx| tx.tx_id() == id));
    transactions
        .iter()
        .zip(codes)
        .enumerate()
        .filter(|(i, _)| skip_until.is_none_or(|last| *i > last))
        .filter(|(_, (_, code))| code.is_valid())
        .flat_map(|(_, (tx, _))| tx.actions.iter().filter_map(|a| a.event.clone()))
        .filter(|event| event.chaincode_id == chaincode)
        .collect()
}

#[tonic::async_trait]
impl Gateway for PeerService {
    async fn evaluate(
        &self,
        request: Request<EvaluateRequest>,
    ) -> Result<tonic::Response<EvaluateResponse>, Status> {
        let request = request.into_inner();
        let opened = self.open_proposal(
            request.proposed_transaction,
            &request.channel_id,
            &request.transaction_id,
        )?;
        match self.simulate(&opened).result {
            Ok(payload) => Ok(tonic::Response::new(EvaluateResponse {
                result: Some(Response {
                    status: 200,
                    message: String::new(),
                    payload,
                }),
            })),
            // Fabric's gateway (internal/pkg/gateway/evaluate.go): the status message is
            // "evaluate call to endorser returned error: " + the detail's message.
            Err(e) => {
                let detail = format!("chaincode response 500, {e}");
                Err(self.peer_error(
                    Code::Unknown,
                    &format!("evaluate call to endorser returned error: {detail}"),
                    detail,
                ))
            }
        }
    }

    async fn endorse(
        &self,
        request: Request<EndorseRequest>,
    ) -> Result<tonic::Response<EndorseResponse>, Status> {
        let request = request.into_inner();
        let opened = self.open_proposal(
            request.proposed_transaction,
            &request.channel_id,
            &request.transaction_id,
        )?;
        let simulation = self.simulate(&opened);
        match self.endorse_proposal(&opened, simulation, &request.endorsing_organizations) {
            Ok(envelope) => Ok(tonic::Response::new(EndorseResponse {
                prepared_transaction: Some(envelope),
            })),
            Err(ChaincodeOrStatus::Status(status)) => Err(status),
            Err(ChaincodeOrStatus::Chaincode(e)) => Err(self.peer_error(
                Code::Aborted,
                "failed to endorse transaction, see attached details for more info",
                format!("chaincode response 500, {e}"),
            )),
        }
    }

    async fn submit(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<tonic::Response<SubmitResponse>, Status> {
        let request = request.into_inner();
        let envelope = request
            .prepared_transaction
            .ok_or_else(|| Status::invalid_argument("a prepared transaction is required"))?;
        let payload = Payload::decode(envelope.payload.as_slice())
            .map_err(|e| Status::invalid_argument(format!("Payload: {e}")))?;
        let header = payload
            .header
            .ok_or_else(|| Status::invalid_argument("the payload has no header"))?;
        let channel_header = ChannelHeader::decode(header.channel_header.as_slice())
            .map_err(|e| Status::invalid_argument(format!("ChannelHeader: {e}")))?;
        let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
            .map_err(|e| Status::invalid_argument(format!("SignatureHeader: {e}")))?;
        if channel_header.channel_id != self.network.channel
            || request.channel_id != self.network.channel
        {
            return Err(Status::not_found(format!(
                "channel {:?} does not exist",
                request.channel_id
            )));
        }
        if channel_header.r#type != HeaderType::EndorserTransaction as i32
            || channel_header.tx_id != request.transaction_id
        {
            return Err(Status::invalid_argument(
                "the prepared transaction is not the endorser transaction named",
            ));
        }
        // The orderer's Broadcast admits only envelopes its writers policy allows: a trusted
        // creator whose signature over the payload verifies (FORBIDDEN otherwise).
        let lenient = self.lenient(&channel_header.tx_id);
        if let Err(e) = self.check_signed(
            &signature_header.creator,
            &envelope.payload,
            &envelope.signature,
            lenient,
        ) {
            return Err(Status::aborted(format!(
                "received unsuccessful response from orderer: status=FORBIDDEN, info={}",
                e.message()
            )));
        }
        self.orderer_queue
            .send(envelope)
            .map_err(|_| Status::unavailable("the ordering service has stopped"))?;
        Ok(tonic::Response::new(SubmitResponse {}))
    }

    async fn commit_status(
        &self,
        request: Request<SignedCommitStatusRequest>,
    ) -> Result<tonic::Response<CommitStatusResponse>, Status> {
        let signed = request.into_inner();
        let request = CommitStatusRequest::decode(signed.request.as_slice())
            .map_err(|e| Status::invalid_argument(format!("CommitStatusRequest: {e}")))?;
        let lenient = self.lenient(&request.transaction_id);
        self.check_signed(
            &request.identity,
            &signed.request,
            &signed.signature,
            lenient,
        )?;
        if request.channel_id != self.network.channel {
            return Err(Status::not_found(format!(
                "channel {:?} does not exist",
                request.channel_id
            )));
        }
        let generation = self.current_generation();
        let mut height = self.height.subscribe();
        loop {
            if let Some((block, code)) = read(&self.ledger).tx_status(&request.transaction_id) {
                return Ok(tonic::Response::new(CommitStatusResponse {
                    result: i32::from(code.0),
                    block_number: block,
                }));
            }
            let now = *height.borrow_and_update();
            if !self.wait_for_block(now, generation).await {
                return Err(Status::unavailable("the peer is shutting down"));
            }
        }
    }

    type ChaincodeEventsStream = BoxStream<ChaincodeEventsResponse>;

    async fn chaincode_events(
        &self,
        request: Request<SignedChaincodeEventsRequest>,
    ) -> Result<tonic::Response<Self::ChaincodeEventsStream>, Status> {
        let signed = request.into_inner();
        let request = ChaincodeEventsRequest::decode(signed.request.as_slice())
            .map_err(|e| Status::invalid_argument(format!("ChaincodeEventsRequest: {e}")))?;
        self.check_signed(&request.identity, &signed.request, &signed.signature, false)?;
        if request.channel_id != self.network.channel {
            return Err(Status::not_found(format!(
                "channel {:?} does not exist",
                request.channel_id
            )));
        }
        let height = read(&self.ledger).height();
        let start = start_of(request.start_position.as_ref(), height);
        let (tx, rx) = mpsc::channel(16);
        let peer = self.0.clone();
        let generation = self.current_generation();
        tokio::spawn(async move {
            let mut number = start;
            let mut after =
                (!request.after_transaction_id.is_empty()).then_some(request.after_transaction_id);
            loop {
                let ready = tokio::select! {
                    ready = peer.wait_for_block(number, generation) => ready,
                    () = tx.closed() => return,
                };
                if !ready {
                    let _ = tx
                        .send(Err(Status::unavailable("the peer is shutting down")))
                        .await;
                    return;
                }
                let block = read(&peer.ledger).block(number).cloned();
                let Some(block) = block else { return };
                let events = block_events(&block, &request.chaincode_id, after.as_deref());
                after = None;
                if !events.is_empty()
                    && tx
                        .send(Ok(ChaincodeEventsResponse {
                            events,
                            block_number: number,
                        }))
                        .await
                        .is_err()
                {
                    return;
                }
                number += 1;
            }
        });
        Ok(tonic::Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
