// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// The signed statement "the log of `origin` has `size` leaves and root `root`" (Rust:
/// `causeway_proofs::Checkpoint`). `hashAlgorithm` is `HashAlgorithm::id()`: the Inbox verifies 1
/// (SHA-256) and 2 (Keccak-256), the Anchor only 1.
struct Checkpoint {
    uint32 origin;
    uint8 hashAlgorithm;
    uint64 size;
    bytes32 root;
}

/// An RFC 9162 inclusion proof of leaf `index` in the log of the accompanying checkpoint's size;
/// `path` is the audit path from the leaf's sibling up (Rust: `causeway_proofs::InclusionProof`).
struct InclusionProof {
    uint64 index;
    bytes32[] path;
}

/// What a destination application implements to receive Causeway messages.
interface IMessageRecipient {
    /// Called by the Inbox with a verified message. Implementations must check that
    /// `msg.sender` is the Inbox they trust.
    function handle(uint32 origin, bytes32 sender, bytes calldata body) external;
}
