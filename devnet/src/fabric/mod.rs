//! The Fabric test network: a protocol-faithful peer with its ordering service, in-process.
//!
//! No Fabric peer runs on the machines Causeway is tested on, so [`FabricNetwork`] plays one:
//! it serves Fabric's `gateway.Gateway` (Evaluate, Endorse, Submit, CommitStatus,
//! ChaincodeEvents) and `protos.Deliver` services over TLS (rustls) on a loopback port, with
//! the wire types of `causeway_adapters::fabric::proto`. At start-up it generates the
//! organisations Org1MSP and Org2MSP (channel members, endorsers), Org3MSP (outside the
//! channel) and OrdererMSP (block signer): ECDSA P-256 root CAs and X.509 identities in MSP
//! folders of Fabric's layout ([`Org`]), a TLS CA and the peer's server certificate.
//!
//! Blocks are real: block 0 is a config block, each block's header links to the previous
//! header hash and commits to its data, the SIGNATURES metadata holds the orderer's
//! signature and TRANSACTIONS_FILTER the committer's validation codes. Endorsements are made
//! with the peer keys of Org1MSP and Org2MSP over real `kvrwset` read/write sets; the
//! committer checks creators, transaction ids, duplicates, the endorsement policy and MVCC
//! versions like Fabric's. Chaincodes are Rust ([`Chaincode`]s of `causeway_chaincode`, run
//! through the peer's implementation of their [`Stub`]); the outbox, the inbox and the example
//! recipient of `contracts/fabric/` are installed at start-up. [`Fault`]s make the network
//! misbehave in named ways for rejection tests.

mod commit;
mod deliver;
mod dispatch;
mod endorse;
mod faults;
mod gateway;
mod ledger;
mod network;
mod org;
mod peer;
mod pki;
pub mod proto;
mod server;
mod simulate;

pub use causeway_chaincode::{
    Chaincode, ChaincodeError, DISPATCH_EVENT, INBOX_CHAINCODE, NetworkInfo, OUTBOX_CHAINCODE,
    RECIPIENT_CHAINCODE, Response, Stub,
};
pub use dispatch::{commit_invocation, dispatch, dispatch_invocation, evaluate_text};
pub use faults::{EndorsementFault, Fault};
pub use network::{
    DEFAULT_CHANNEL, FABRIC_CHAIN_ID, FABRIC_DOMAIN, FabricNetwork, FabricNetworkOptions,
    PEER_HOST, TlsServing,
};
pub use org::{IdentityKind, ORDERER, ORG1, ORG2, ORG3, Org};
pub use server::PeerServices;
pub use simulate::{RwSet, Version};
