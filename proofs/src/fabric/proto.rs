//! Fabric's protobuf messages and gRPC stubs, generated at build time from `proofs/proto/`
//! (our restatement of hyperledger/fabric-protos: same packages, names and field numbers, since
//! they are the wire protocol). One Rust module per protobuf package; messages only (the gRPC
//! stubs are generated over these types in `causeway-adapters`).

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

/// Package `common`: envelopes, headers, blocks, signature policies, MSP principals.
pub mod common {
    include!(concat!(env!("OUT_DIR"), "/common.rs"));
}

/// Package `msp`: serialized identities.
pub mod msp {
    include!(concat!(env!("OUT_DIR"), "/msp.rs"));
}

/// Package `rwset`: private read/write sets (only as carried by `BlockAndPrivateData`).
pub mod rwset {
    include!(concat!(env!("OUT_DIR"), "/rwset.rs"));
}

/// Package `orderer`: seek positions, `AtomicBroadcast`.
pub mod orderer {
    include!(concat!(env!("OUT_DIR"), "/orderer.rs"));
}

/// Package `protos` (Fabric's peer package): proposals, transactions, events, `Deliver`,
/// `Endorser`.
pub mod protos {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}

/// Package `gateway`: the peer's Gateway service.
pub mod gateway {
    include!(concat!(env!("OUT_DIR"), "/gateway.rs"));
}
