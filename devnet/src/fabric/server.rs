//! The tonic server plumbing: both services on one connection, and binding the port.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use causeway_adapters::fabric::proto::gateway::gateway_server::{Gateway, GatewayServer};
use causeway_adapters::fabric::proto::protos::deliver_server::{Deliver, DeliverServer};
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};

use crate::{Error, Result};

/// Gateway and Deliver of one peer on one connection, dispatched by the path's service name
/// (tonic's router needs its `router` feature). The test network's peer serves through it, and
/// so do other test gateways (the Fabric client's tests).
pub struct PeerServices<T> {
    gateway: GatewayServer<T>,
    deliver: DeliverServer<T>,
}

impl<T> PeerServices<T> {
    /// Both services of `peer`.
    pub fn new(peer: Arc<T>) -> Self {
        Self {
            gateway: GatewayServer::from_arc(peer.clone()),
            deliver: DeliverServer::from_arc(peer),
        }
    }
}

impl<T> Clone for PeerServices<T> {
    fn clone(&self) -> Self {
        Self {
            gateway: self.gateway.clone(),
            deliver: self.deliver.clone(),
        }
    }
}

impl<T: Gateway + Deliver> Service<http::Request<Body>> for PeerServices<T> {
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
