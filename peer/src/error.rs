//! The peer crate's error type: what can stop the peer protocol from starting, each variant
//! naming what went wrong and how to fix it. Problems with a running peer (a refused handshake,
//! a misbehaving member) are not errors of the service: they are logged, counted and shown in
//! [`crate::PeerStatus`], and the service goes on.

use std::net::SocketAddr;
use std::path::PathBuf;

use causeway_proofs::EvmAddress;

/// Everything that can keep the peer protocol from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A certificate or key file could not be read.
    #[error("cannot read the {what} {}: {reason}; check that the file exists and is readable by this user", path.display())]
    ReadFile {
        /// Which file (`TLS certificate`, `TLS key`, `CA certificate of member org2`, …).
        what: String,
        /// Its path.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },

    /// A PEM file holds no usable certificate or key.
    #[error("the {what} is not usable: {reason}; {fix}")]
    Pem {
        /// Which file or value.
        what: String,
        /// What is wrong (never the key's bytes).
        reason: String,
        /// How to fix it.
        fix: &'static str,
    },

    /// The TLS private key is not the key of the certificate it is configured with.
    #[error(
        "the TLS key does not belong to the TLS certificate (their public keys differ); \
         point gateway.tls.key_file at the key the certificate was issued for"
    )]
    KeyMismatch,

    /// A member's `tls.server_name` is not a DNS name or an IP address.
    #[error(
        "member `{member}`: `{name}` is not a valid TLS server name; write the DNS name its certificate carries"
    )]
    InvalidServerName {
        /// The member.
        member: String,
        /// The configured name.
        name: String,
    },

    /// Two members would accept the same certificate, so a certificate could not map to
    /// exactly one member.
    #[error(
        "members `{first}` and `{second}` have the same TLS identity (the same pinned certificate, \
         or the same CA and server name); give each member its own certificate name"
    )]
    DuplicateIdentity {
        /// One member.
        first: String,
        /// The other.
        second: String,
    },

    /// Two members share a name or a validator address.
    #[error(
        "member `{name}` is listed twice (by name or by validator address); list each organisation once"
    )]
    DuplicateMember {
        /// The member listed twice.
        name: String,
    },

    /// The gateway's own organisation is not among the members.
    #[error(
        "this gateway's organisation `{name}` is not among the members; add its [[members]] entry"
    )]
    UnknownOwnMember {
        /// The organisation.
        name: String,
    },

    /// The collector signs with a key other than the own member's validator address.
    #[error(
        "the validator key signs as {key}, but this gateway's member entry publishes {configured}; \
         use the key of gateway.validator_key_file or correct members.validator_address"
    )]
    ValidatorMismatch {
        /// The key's address.
        key: EvmAddress,
        /// The configured address.
        configured: EvmAddress,
    },

    /// A member's endpoint is not a URL the peer client can connect to.
    #[error(
        "member `{member}`: the peer endpoint {endpoint} has no usable host; write it as https://host:port"
    )]
    InvalidEndpoint {
        /// The member.
        member: String,
        /// The endpoint (without credentials).
        endpoint: String,
    },

    /// rustls refused the TLS settings.
    #[error("TLS settings refused: {reason}")]
    Tls {
        /// rustls' reason.
        reason: String,
    },

    /// The listener could not be bound.
    #[error(
        "cannot listen for peers on {address}: {reason}; free the port or change gateway.peer_listen"
    )]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        reason: String,
    },

    /// The gRPC server stopped with an error.
    #[error("the peer server stopped: {reason}")]
    Serve {
        /// tonic's reason.
        reason: String,
    },

    /// A task of the service panicked.
    #[error("a peer task failed: {reason}")]
    Task {
        /// The join error.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
