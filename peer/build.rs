//! Compiles `proto/peer.proto` (package `causeway.peer.v1`) into tonic client and server stubs.
//! protox parses it in pure Rust, so no system `protoc` is needed.

use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["peer.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Channel and server are wired by hand over our own mutual-TLS connector and acceptor;
        // the stubs need only tonic's codegen.
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
