//! The streams the client returns: chaincode events, and full blocks checked to arrive in
//! order. A stream that breaks counts as an error of the request that opened it (once), and
//! each block delivered raises the chain's head in [`ChainMetrics`].

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
use crate::metrics::ChainMetrics;

/// The chaincode events of successive blocks, from [`super::FabricClient::chaincode_events`].
#[derive(Debug)]
pub struct ChaincodeEventStream {
    endpoint: String,
    inner: Streaming<ChaincodeEventsResponse>,
    metrics: ChainMetrics,
    /// An error was counted (a stream counts as one request, so at most one error).
    failed: bool,
}

impl ChaincodeEventStream {
    pub(super) fn new(
        endpoint: String,
        inner: Streaming<ChaincodeEventsResponse>,
        metrics: ChainMetrics,
    ) -> Self {
        Self {
            endpoint,
            inner,
            metrics,
            failed: false,
        }
    }
}

impl Stream for ChaincodeEventStream {
    type Item = Result<ChaincodeEventsResponse, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        const METHOD: &str = "gateway.Gateway/ChaincodeEvents";
        let this = &mut *self;
        Pin::new(&mut this.inner).poll_next(cx).map(|item| {
            item.map(|r| {
                r.map_err(|s| {
                    if !std::mem::replace(&mut this.failed, true) {
                        this.metrics.stream_failed(METHOD);
                    }
                    status_error(&this.endpoint, METHOD, s)
                })
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
    metrics: ChainMetrics,
}

impl BlockStream {
    pub(super) fn new(
        endpoint: String,
        inner: Streaming<DeliverResponse>,
        from: u64,
        metrics: ChainMetrics,
    ) -> Self {
        Self {
            endpoint,
            inner,
            next: from,
            done: false,
            metrics,
        }
    }

    /// Ends the stream with `item`, counting an error (the stream ends at its first, so it is
    /// counted once).
    fn end(
        &mut self,
        item: Option<Result<FabricBlock, Error>>,
    ) -> Option<Result<FabricBlock, Error>> {
        self.done = true;
        if matches!(item, Some(Err(_))) {
            self.metrics.stream_failed(super::DELIVER);
        }
        item
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
                match result {
                    Ok(block) => {
                        self.metrics.head(block.number());
                        Some(Ok(block))
                    }
                    Err(e) => self.end(Some(Err(e))),
                }
            }
            Some(DeliverType::Status(code)) => {
                if code == FabricStatus::Success as i32 {
                    self.end(None)
                } else {
                    let name = FabricStatus::try_from(code)
                        .map(|s| s.as_str_name().to_owned())
                        .unwrap_or_else(|_| code.to_string());
                    let error = Error::Rpc {
                        endpoint: self.endpoint.clone(),
                        method: super::DELIVER,
                        code: i64::from(code),
                        message: format!(
                            "Deliver ended with status {name} before block {}",
                            self.next
                        ),
                    };
                    self.end(Some(Err(error)))
                }
            }
            Some(_) | None => self.end(Some(Err(Error::Decode {
                what: "protos.DeliverResponse",
                reason: "neither a block nor a status".to_owned(),
            }))),
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
                let error = status_error(&this.endpoint, super::DELIVER, status);
                Poll::Ready(this.end(Some(Err(error))))
            }
            Poll::Ready(Some(Ok(response))) => Poll::Ready(this.handle(response)),
        }
    }
}
