//! Compiles the messages of Fabric's wire protocol (`proto/`, our restatement of
//! hyperledger/fabric-protos: same packages, names and field numbers) into prost types. Only
//! messages: the gRPC services are declared and stubbed in `causeway-adapters`, over these types.
//! protox parses the files in pure Rust, so no system `protoc` is needed; it also supplies the
//! well-known `google/protobuf` types.

use std::error::Error;

/// The root files; their imports are found under `proto/`.
const FILES: &[&str] = &[
    "proto/common/common.proto",
    "proto/common/policies.proto",
    "proto/msp/identities.proto",
    "proto/msp/msp_principal.proto",
    "proto/ledger/rwset/rwset.proto",
    "proto/orderer/ab.proto",
    "proto/peer/chaincode.proto",
    "proto/peer/chaincode_event.proto",
    "proto/peer/proposal.proto",
    "proto/peer/proposal_response.proto",
    "proto/peer/transaction.proto",
    "proto/peer/events.proto",
    "proto/gateway/gateway.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(FILES, ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
