//! gRPC statuses as the crate's [`Error`], with the `google.rpc.Status` details Fabric's
//! gateway attaches (a `gateway.ErrorDetail` per failing peer).

use prost::Message as _;
use tonic::{Code, Status};

use crate::Error;
use crate::fabric::proto::gateway::ErrorDetail;

/// `google.rpc.Status`, as carried in the `grpc-status-details-bin` trailer.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// The type URL of the details Fabric's gateway attaches, one per failing peer.
const ERROR_DETAIL_TYPE: &str = "type.googleapis.com/gateway.ErrorDetail";

/// The status Fabric's gateway answers with when a peer failed: `code` and `message`, with
/// `detail` (naming the peer) in a `google.rpc.Status` — what [`status_error`] reads back. Test
/// gateways (the devnet's, the client tests') answer with it.
pub fn gateway_error(code: Code, message: &str, detail: &ErrorDetail) -> Status {
    let status = RpcStatus {
        code: code as i32,
        message: message.to_owned(),
        details: vec![prost_types::Any {
            type_url: ERROR_DETAIL_TYPE.to_owned(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(code, message, status.encode_to_vec().into())
}

/// Maps a gRPC status: UNAVAILABLE is [`Error::RpcUnavailable`], DEADLINE_EXCEEDED
/// [`Error::Timeout`], anything else [`Error::Rpc`] with the gateway's error details.
pub(super) fn status_error(endpoint: &str, method: &'static str, status: Status) -> Error {
    let mut message = status.message().to_owned();
    if let Ok(rpc) = RpcStatus::decode(status.details()) {
        for any in rpc.details {
            if any.type_url == ERROR_DETAIL_TYPE {
                if let Ok(detail) = ErrorDetail::decode(any.value.as_slice()) {
                    message.push_str(&format!(
                        "; peer {} ({}): {}",
                        detail.address, detail.msp_id, detail.message
                    ));
                }
            } else {
                message.push_str(&format!("; detail {}", any.type_url));
            }
        }
    }
    match status.code() {
        Code::Unavailable => Error::RpcUnavailable {
            endpoint: endpoint.to_owned(),
            source: format!("{method}: {message}").into(),
        },
        Code::DeadlineExceeded => Error::Timeout {
            endpoint: endpoint.to_owned(),
            method,
        },
        code => Error::Rpc {
            endpoint: endpoint.to_owned(),
            method,
            code: i64::from(code as i32),
            message,
        },
    }
}
