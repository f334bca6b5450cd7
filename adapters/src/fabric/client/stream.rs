//! The streams the client returns: chaincode events, and full blocks checked to arrive in
//! order.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio_stream::Stream;
use tonic::Streaming;

use super::status::status_error;
use crate::Error;
use crate::fabric::block::FabricBlock;
use crate::fabric::proto::common::Status as FabricStatus;
use crate::fabric::proto::gateway::ChaincodeEventsResponse;
use crate::fabric::proto::protos::DeliverResponse;
use crate::fabric::proto::protos::deliver_response::Type as DeliverType;

/// The chaincode events of successive blocks, from [`super::FabricClient::chaincode_events`].
#[derive(Debug)]
pub struct ChaincodeEventStream {
    endpoint: String,
    inner: Streaming<ChaincodeEventsResponse>,
}

impl ChaincodeEventStream {
    pub(super) fn new(endpoint: String, inner: Streaming<ChaincodeEventsResponse>) -> Self {
        Self { endpoint, inner }
    }
}

impl Stream for ChaincodeEventStream {
    type Item = Result<ChaincodeEventsResponse, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        Pin::new(&mut this.inner).poll_next(cx).map(|item| {
            item.map(|r| {
                r.map_err(|s| status_error(&this.endpoint, "gateway.Gateway/ChaincodeEvents", s))
            })
        })
    }
}

/// Full blocks in order, from [`super::FabricClient::deliver_blocks`]. A block that does not decode
/// or is not the next number is an error, after which the stream ends.
#[derive(Debug)]
pub struct BlockStream {
    endpoint: String,
    inner: Streaming<DeliverResponse>,
    next: u64,
    done: bool,
}

impl BlockStream {
    pub(super) fn new(endpoint: String, inner: Streaming<DeliverResponse>, from: u64) -> Self {
        Self {
            endpoint,
            inner,
            next: from,
            done: false,
        }
    }

    fn handle(&mut self, response: DeliverResponse) -> Option<Result<FabricBlock, Error>> {
        match response.r#type {
            Some(DeliverType::Block(block)) => {
                let result = FabricBlock::new(block)
                    .map_err(Error::from)
                    .and_then(|block| {
                        if block.number() == self.next {
                            self.next += 1;
                            Ok(block)
                        } else {
                            Err(Error::InvalidNativeProof {
                                reason: format!(
                                    "Deliver sent block {} where block {} was due",
                                    block.number(),
                                    self.next
                                ),
                            })
                        }
                    });
                self.done = result.is_err();
                Some(result)
            }
            Some(DeliverType::Status(code)) => {
                self.done = true;
                if code == FabricStatus::Success as i32 {
                    None
                } else {
                    let name = FabricStatus::try_from(code)
                        .map(|s| s.as_str_name().to_owned())
                        .unwrap_or_else(|_| code.to_string());
                    Some(Err(Error::Rpc {
                        endpoint: self.endpoint.clone(),
                        method: "protos.Deliver/Deliver",
                        code: i64::from(code),
                        message: format!(
                            "Deliver ended with status {name} before block {}",
                            self.next
                        ),
                    }))
                }
            }
            Some(_) | None => {
                self.done = true;
                Some(Err(Error::Decode {
                    what: "protos.DeliverResponse",
                    reason: "neither a block nor a status".to_owned(),
                }))
            }
        }
    }
}

impl Stream for BlockStream {
    type Item = Result<FabricBlock, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(status))) => {
                this.done = true;
                Poll::Ready(Some(Err(status_error(
                    &this.endpoint,
                    "protos.Deliver/Deliver",
                    status,
                ))))
            }
            Poll::Ready(Some(Ok(response))) => Poll::Ready(this.handle(response)),
        }
    }
}
