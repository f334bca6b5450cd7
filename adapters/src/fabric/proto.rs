//! Fabric's protobuf messages (`causeway_proofs::fabric::proto`, one Rust type per message) and
//! the gRPC stubs of its services, generated at build time from `adapters/proto/` over those
//! messages (our restatement of hyperledger/fabric-protos: same packages, names and field
//! numbers, since they are the wire protocol). One Rust module per protobuf package.

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

/// Package `common`: envelopes, headers, blocks, signature policies, MSP principals.
pub mod common {
    pub use causeway_proofs::fabric::proto::common::*;
}

/// Package `msp`: serialized identities.
pub mod msp {
    pub use causeway_proofs::fabric::proto::msp::*;
}

/// Package `rwset`: private read/write sets (only as carried by `BlockAndPrivateData`).
pub mod rwset {
    pub use causeway_proofs::fabric::proto::rwset::*;
}

/// Package `orderer`: seek positions, `AtomicBroadcast`.
pub mod orderer {
    pub use causeway_proofs::fabric::proto::orderer::*;
    include!(concat!(env!("OUT_DIR"), "/orderer.rs"));
}

/// Package `protos` (Fabric's peer package): proposals, transactions, events, `Deliver`,
/// `Endorser`.
pub mod protos {
    pub use causeway_proofs::fabric::proto::protos::*;
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}

/// Package `gateway`: the peer's Gateway service.
pub mod gateway {
    pub use causeway_proofs::fabric::proto::gateway::*;
    include!(concat!(env!("OUT_DIR"), "/gateway.rs"));
}
