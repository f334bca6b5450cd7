//! The tonic server plumbing: both services on one connection, and binding the port.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::task::{Context, Poll};
use std::time::Duration;

use causeway_adapters::fabric::proto::gateway::gateway_server::GatewayServer;
use causeway_adapters::fabric::proto::protos::deliver_server::DeliverServer;
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};

use super::peer::PeerService;
use crate::{Error, Result};

/// Gateway and Deliver on one connection, dispatched by the path's service name (tonic's
/// router needs its `router` feature).
#[derive(Clone)]
pub(crate) struct Services {
    pub(crate) gateway: GatewayServer<PeerService>,
    pub(crate) deliver: DeliverServer<PeerService>,
}

impl Service<http::Request<Body>> for Services {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // Requests and responses up to the adapter client's limit (tonic's server default, 4
        // MiB, would refuse a large transaction that a Fabric peer with the test network's
        // 99 MB `AbsoluteMaxBytes` accepts).
        let limit = causeway_adapters::fabric::client::DEFAULT_MAX_MESSAGE_LEN;
        if request.uri().path().starts_with("/gateway.Gateway/") {
            self.gateway
                .clone()
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit)
                .call(request)
        } else {
            self.deliver
                .clone()
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit)
                .call(request)
        }
    }
}

/// Binds `127.0.0.1:port`, retrying briefly (a port just released may still be held while
/// the previous server's connections close).
pub(crate) async fn bind(port: u16) -> Result<TcpListener> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut attempts = 0;
    loop {
        match TcpListener::bind(address).await {
            Ok(listener) => return Ok(listener),
            Err(e) if attempts < 50 && port != 0 => {
                attempts += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                return Err(Error::Fabric {
                    context: "binding the peer's port",
                    reason: format!("{address}: {e}"),
                });
            }
        }
    }
}
