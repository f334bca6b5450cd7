//! `causeway-monitoring`: what operators see of a Causeway gateway.
//!
//! - [`Family`]: every exported metric family (name, type, labels, help) in one table,
//!   documented in `monitoring/README.md`; label values are configured names (chains, lanes,
//!   members) or fixed words, never a message id or an address, so cardinality stays bounded.
//! - [`GatewayCollector`] / [`Metrics`]: a `prometheus` collector that builds those families
//!   at scrape time from a [`GatewaySnapshot`] (the gateway reads it from its relayer's
//!   counters, its store and its peer protocol), so nothing is counted twice.
//! - [`MetricsServer`]: the `/metrics` listener (`[monitoring] listen`), hyper over HTTP/1.1,
//!   bounded.
//! - `grafana/` holds the dashboards and `prometheus/` the alert rules with their `promtool`
//!   unit tests (`tests/it/rules.rs`).
//!
//! This crate depends on nothing of ours: the gateway (`causeway_gateway::metrics`) fills the
//! snapshot.
//!
//! ```
//! use std::sync::Arc;
//! use causeway_monitoring::{GatewaySnapshot, Metrics};
//!
//! let metrics = Metrics::new(
//!     Arc::new(|| GatewaySnapshot { member: "org1".into(), ..GatewaySnapshot::default() }),
//!     "0.1.0",
//! )?;
//! let text = metrics.render()?;
//! assert!(text.contains(r#"causeway_build_info{member="org1",version="0.1.0"} 1"#));
//! # Ok::<(), causeway_monitoring::Error>(())
//! ```

mod collector;
mod envelopes;
mod families;
mod server;
mod snapshot;

pub use collector::{CONTENT_TYPE, GatewayCollector, Metrics, SnapshotSource};
pub use envelopes::{EnvelopeFigures, EnvelopeOperation, Outcome};
pub use families::{Family, FamilySpec, Kind};
pub use server::{CONNECTION_LIFETIME, HEADER_TIMEOUT, MAX_CONNECTIONS, MetricsServer};
pub use snapshot::{
    AnchorFigures, ApiRouteFigures, ChainFigures, CheckpointFigures, GatewaySnapshot, Histogram,
    LaneCounters, LaneFigures, LaneStoreFigures, NodeFigures, PeerFigures, PeerServerFigures,
    RpcFigures, StatusCounts, StoreTransactionFigures, ValidatorFigures,
};

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A family of the table is not a valid Prometheus family (a bug in the table).
    #[error("metric family {name} is invalid: {reason}")]
    Family {
        /// The family's name.
        name: &'static str,
        /// What the prometheus crate said.
        reason: String,
    },
    /// The metrics listener could not bind its address.
    #[error(
        "cannot listen for /metrics on {addr} (fix: free the port or change [monitoring] listen)"
    )]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The families could not be written in the text format.
    #[error("encoding the metrics failed: {reason}")]
    Encode {
        /// What the encoder said.
        reason: String,
    },
    /// The listener's task failed.
    #[error("the metrics listener's task failed: {reason}")]
    Task {
        /// Why.
        reason: String,
    },
}
