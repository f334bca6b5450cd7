//! `causeway-peer`: the peer protocol of a Causeway consortium (`causeway.peer.v1`, gRPC over
//! mutual TLS).
//!
//! Each member organisation runs one gateway. Its attest stage signs checkpoints over roots it
//! rebuilt itself through [`PeerCollector`], the relayer's
//! [`SignatureCollector`](causeway_relayer::pipeline::SignatureCollector) for a consortium: the
//! collector signs with this gateway's validator key and publishes the signature; the peer
//! server streams it to every other member; the peer clients receive the other members'
//! signatures and hand them to the attest stage through
//! [`SignatureCollector::subscribe`](causeway_relayer::pipeline::SignatureCollector::subscribe).
//! The attest stage recovers and checks every signature itself: this crate only guarantees
//! that a signature handed over came from the member whose validator it names, over a
//! connection authenticated as that member.
//!
//! Who gets in: a client certificate maps to exactly one configured member (a pinned
//! certificate, or a chain to the member's CA carrying the member's name), or the TLS handshake
//! fails; a client accepts a server only as the member it dialled ([`MemberTrust`]).
//!
//! ```no_run
//! # async fn run(config: causeway_config::Config, key: causeway_proofs::ValidatorKey) -> Result<(), causeway_peer::Error> {
//! use std::sync::Arc;
//! use causeway_peer::{Peer, PeerCollector, PeerConfig};
//!
//! let collector = Arc::new(PeerCollector::new(key));
//! // The relayer gets `collector` as its SignatureCollector.
//! let peer = Peer::start(PeerConfig::from_config(&config)?, collector, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! println!("connected to {:?}", peer.connected());
//! peer.join().await
//! # }
//! ```

mod client;
mod collector;
mod config;
mod envelopes;
mod error;
mod flood;
mod probe;
mod query;
mod server;
mod service;
mod status;
mod tls;
pub mod wire;

pub use collector::{DEFAULT_BROADCAST_CAPACITY, DEFAULT_LANE_CHANNEL_CAPACITY, PeerCollector};
pub use config::{Limits, MemberPeer, PeerConfig, PeerEndpoint};
pub use envelopes::{EnvelopeFetcher, EnvelopeFuture, EnvelopeSource, FetchError};
pub use error::{Error, Result};
pub use probe::{Probe, probe};
pub use query::{
    ForwardError, ForwardedQuery, QueryForwarder, QueryFuture, QueryRefusal, QuerySource,
};
pub use service::{Peer, PeerHandle, PeerStatusReader};
pub use status::{LinkState, PeerStatus, ServerStats};
pub use tls::{MemberTrust, TlsIdentity};
pub use wire::Violation;
