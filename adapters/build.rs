//! Compiles the gRPC services of Fabric's wire protocol (`proto/`, our restatement of
//! hyperledger/fabric-protos: Gateway, Deliver, Endorser, AtomicBroadcast) into tonic client and
//! server stubs. Their messages are `causeway-proofs`' (generated there from
//! `../proofs/proto/`, messages only): every package is an extern path, so one Rust type exists
//! per Fabric message. protox parses the files in pure Rust, so no system `protoc` is needed; it
//! also supplies the well-known `google/protobuf` types.

use std::error::Error;

/// The service files; the messages they use are found under `../proofs/proto/`.
const FILES: &[&str] = &[
    "proto/orderer/ab_service.proto",
    "proto/peer/events_service.proto",
    "proto/peer/peer.proto",
    "proto/gateway/gateway_service.proto",
];

/// The protobuf packages whose messages `causeway_proofs::fabric::proto` holds.
const PACKAGES: &[&str] = &["common", "msp", "rwset", "orderer", "protos", "gateway"];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=../proofs/proto");
    let descriptors = protox::compile(FILES, ["proto", "../proofs/proto"])?;
    let mut builder = tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // The transport (channel and server) is wired by hand with rustls later; the stubs only
        // need tonic's codegen.
        .build_transport(false);
    for package in PACKAGES {
        builder = builder.extern_path(
            format!(".{package}"),
            format!("::causeway_proofs::fabric::proto::{package}"),
        );
    }
    builder.compile_fds(descriptors)?;
    Ok(())
}
