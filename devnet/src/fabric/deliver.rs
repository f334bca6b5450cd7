//! The peer's `protos.Deliver` service: for each signed DELIVER_SEEK_INFO envelope on the
//! stream, the full blocks from the start position to the stop position (waiting for new
//! blocks when the stop is beyond the height, e.g. "forever" = `u64::MAX`), then a SUCCESS
//! status. A request the peer refuses gets a status instead, as Fabric's deliver handler
//! answers: BAD_REQUEST (malformed, start after stop, or — under mutual TLS — not bound to
//! the connection's client certificate), NOT_FOUND (unknown channel, or not ready with
//! FAIL_IF_NOT_READY), FORBIDDEN (creator not trusted or bad signature). As Fabric's handler
//! (`common/deliver/deliver.go` `Handle`), a request answered with any status but SUCCESS
//! ends the stream.
//!
//! The TLS binding is Fabric's `BindingInspector` (`common/deliver/binding.go`,
//! `mutualTLSBinding`), active when the server requires client certificates (the peer builds
//! its deliver handler with `mutualTLS = UseTLS && RequireClientCert`,
//! `internal/peer/node/start.go`): `ChannelHeader.tls_cert_hash` must be present and equal
//! SHA-256 of the DER of the certificate the client presented in the handshake; otherwise
//! `validateChannelHeader` fails and `deliverBlocks` answers BAD_REQUEST, before the channel
//! is even looked up. The Gateway service has no such binding (see [`super::gateway`]).

use std::pin::Pin;
use std::sync::Arc;

use causeway_adapters::fabric::proto::common::{
    ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader, Status as FabricStatus,
};
use causeway_adapters::fabric::proto::orderer::SeekInfo;
use causeway_adapters::fabric::proto::orderer::seek_info::SeekBehavior;
use causeway_adapters::fabric::proto::orderer::seek_position::Type as SeekType;
use causeway_adapters::fabric::proto::protos::DeliverResponse;
use causeway_adapters::fabric::proto::protos::deliver_response::Type as DeliverType;
use causeway_adapters::fabric::proto::protos::deliver_server::Deliver;
use causeway_adapters::fabric::request::TlsCertHash;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status, Streaming};

use super::gateway::start_of;
use super::peer::{Peer, PeerService, read};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;
type Sender = mpsc::Sender<Result<DeliverResponse, Status>>;

fn status(code: FabricStatus) -> Result<DeliverResponse, Status> {
    Ok(DeliverResponse {
        r#type: Some(DeliverType::Status(code as i32)),
    })
}

/// Fabric's `mutualTLSBinding`: the hash the request claims must be present, the client
/// must have sent a certificate, and the two must match.
fn check_binding(claimed: &[u8], presented: Option<&TlsCertHash>) -> Result<(), &'static str> {
    if claimed.is_empty() {
        return Err("client didn't include its TLS cert hash");
    }
    let Some(actual) = presented else {
        return Err("client didn't send a TLS certificate");
    };
    if claimed != actual.0.as_slice() {
        return Err("claimed TLS cert hash is not the actual TLS cert hash");
    }
    Ok(())
}

/// Why a seek request is answered with a status and no blocks. `client_cert` is the hash of
/// the TLS certificate the client presented on this connection, if any.
fn check_seek(
    peer: &Peer,
    envelope: &Envelope,
    client_cert: Option<&TlsCertHash>,
) -> Result<SeekInfo, FabricStatus> {
    let payload =
        Payload::decode(envelope.payload.as_slice()).map_err(|_| FabricStatus::BadRequest)?;
    let header = payload.header.ok_or(FabricStatus::BadRequest)?;
    let channel_header = ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|_| FabricStatus::BadRequest)?;
    let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
        .map_err(|_| FabricStatus::BadRequest)?;
    if peer.mutual_tls {
        check_binding(&channel_header.tls_cert_hash, client_cert)
            .map_err(|_| FabricStatus::BadRequest)?;
    }
    if channel_header.r#type != HeaderType::DeliverSeekInfo as i32 {
        return Err(FabricStatus::BadRequest);
    }
    if channel_header.channel_id != peer.network.channel {
        return Err(FabricStatus::NotFound);
    }
    peer.check_signed(
        &signature_header.creator,
        &envelope.payload,
        &envelope.signature,
        false,
    )
    .map_err(|_| FabricStatus::Forbidden)?;
    SeekInfo::decode(payload.data.as_slice()).map_err(|_| FabricStatus::BadRequest)
}

/// Answers a refused request with `code`; the stream then ends, as in Fabric.
async fn refuse(tx: &Sender, code: FabricStatus) -> bool {
    let _ = tx.send(status(code)).await;
    false
}

/// Serves one seek request; `false` when the stream must end (request refused, client gone,
/// peer stopping).
async fn serve_seek(
    peer: &Arc<Peer>,
    envelope: Envelope,
    client_cert: Option<&TlsCertHash>,
    tx: &Sender,
    generation: u64,
) -> bool {
    let seek = match check_seek(peer, &envelope, client_cert) {
        Ok(seek) => seek,
        Err(code) => return refuse(tx, code).await,
    };
    let height = read(&peer.ledger).height();
    let start = start_of(seek.start.as_ref(), height);
    let stop = match seek.stop.as_ref().and_then(|p| p.r#type.as_ref()) {
        Some(SeekType::Specified(s)) => s.number,
        Some(SeekType::Newest(_)) => height.saturating_sub(1),
        Some(SeekType::Oldest(_)) => 0,
        Some(SeekType::NextCommit(_)) => height,
        None => return refuse(tx, FabricStatus::BadRequest).await,
    };
    if start > stop {
        return refuse(tx, FabricStatus::BadRequest).await;
    }
    if seek.behavior == SeekBehavior::FailIfNotReady as i32 && start >= height {
        return refuse(tx, FabricStatus::NotFound).await;
    }
    let mut number = start;
    loop {
        let ready = tokio::select! {
            ready = peer.wait_for_block(number, generation) => ready,
            () = tx.closed() => return false,
        };
        if !ready {
            let _ = tx
                .send(Err(Status::unavailable("the peer is shutting down")))
                .await;
            return false;
        }
        let block = read(&peer.ledger).block(number).map(|b| b.block().clone());
        let Some(block) = block else { return false };
        let sent = tx
            .send(Ok(DeliverResponse {
                r#type: Some(DeliverType::Block(block)),
            }))
            .await;
        if sent.is_err() {
            return false;
        }
        if number >= stop {
            break;
        }
        number += 1;
    }
    tx.send(status(FabricStatus::Success)).await.is_ok()
}

#[tonic::async_trait]
impl Deliver for PeerService {
    type DeliverStream = BoxStream<DeliverResponse>;

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverStream>, Status> {
        // The leaf certificate the client presented in the TLS handshake (none without mutual
        // TLS), hashed as Fabric's `ExtractCertificateHashFromContext` does.
        let client_cert = request
            .peer_certs()
            .and_then(|certs| certs.first().map(|der| TlsCertHash::of_der(der.as_ref())));
        let mut requests = request.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let peer = self.0.clone();
        let generation = peer.current_generation();
        tokio::spawn(async move {
            loop {
                let envelope = tokio::select! {
                    message = requests.message() => match message {
                        Ok(Some(envelope)) => envelope,
                        Ok(None) | Err(_) => return,
                    },
                    () = peer.stopped(generation) => return,
                };
                if !serve_seek(&peer, envelope, client_cert.as_ref(), &tx, generation).await {
                    return;
                }
            }
        });
        Ok(tonic::Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    type DeliverFilteredStream = BoxStream<DeliverResponse>;

    async fn deliver_filtered(
        &self,
        _request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverFilteredStream>, Status> {
        Err(Status::unimplemented(
            "filtered blocks are not served by the test network",
        ))
    }

    type DeliverWithPrivateDataStream = BoxStream<DeliverResponse>;

    async fn deliver_with_private_data(
        &self,
        _request: Request<Streaming<Envelope>>,
    ) -> Result<tonic::Response<Self::DeliverWithPrivateDataStream>, Status> {
        Err(Status::unimplemented(
            "private data is not served by the test network",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_refuses_as_fabrics_mutual_tls_binding_does() {
        // The three refusals of Fabric's `mutualTLSBinding` (common/deliver/binding.go), in
        // its order, with its messages.
        let ours = TlsCertHash::of_der(b"client certificate");
        let theirs = TlsCertHash::of_der(b"another certificate");
        assert_eq!(
            check_binding(&[], Some(&ours)),
            Err("client didn't include its TLS cert hash")
        );
        assert_eq!(
            check_binding(&ours.0, None),
            Err("client didn't send a TLS certificate")
        );
        assert_eq!(
            check_binding(&theirs.0, Some(&ours)),
            Err("claimed TLS cert hash is not the actual TLS cert hash")
        );
        assert_eq!(check_binding(&ours.0, Some(&ours)), Ok(()));
    }
}
