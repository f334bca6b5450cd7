// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MerkleLog} from "./MerkleLog.sol";

/// @title PrivateMessage
/// @notice Checks a selectively disclosed field of a private message against the message's
/// on-chain commitment, byte for byte as `causeway_privacy` computes it (layout:
/// docs/private-messages.md). The commitment is one SHA-256 over a fixed 152-byte input:
/// `TAG ‖ origin (u32) ‖ destination (u32) ‖ nonce (u64) ‖ sender (32) ‖ envelope digest (32) ‖
/// disclosure root (32) ‖ disclosure leaves (u64)`. A field's leaf data is
/// `SHA-256(lp(LEAF_TAG) ‖ lp(salt) ‖ lp(name) ‖ lp(RFC 8785 JSON of the value))` with
/// `lp(x) = u64 big-endian length ‖ x`, proven in the RFC 9162 tree of exactly `leaves` leaves
/// (the size comes from the commitment, never from the discloser).
library PrivateMessage {
    /// `"causeway/message-commitment/v2"`, zero-padded to 32 bytes.
    bytes32 internal constant TAG = "causeway/message-commitment/v2";
    /// The leaf domain tag (27 bytes).
    bytes internal constant LEAF_TAG = "causeway/disclosure-leaf/v1";
    /// The first four bytes of a private message's body; `abi.encode(Body)` follows.
    bytes4 internal constant MAGIC = "CWPM";

    /// The public inputs of a message commitment.
    struct Commitment {
        uint32 origin;
        uint32 destination;
        uint64 nonce;
        bytes32 sender;
        bytes32 envelopeDigest;
        bytes32 disclosureRoot;
        uint64 disclosureLeaves;
    }

    /// One disclosed field and its inclusion proof.
    struct Field {
        bytes32 salt;
        bytes name;
        /// The RFC 8785 canonical JSON of the value.
        bytes value;
        uint64 index;
        bytes32[] path;
    }

    /// The public inputs of the envelope digest: the envelope id, its header and payload
    /// digests and its recipients' key ids (an auditor's presence is checked with them).
    struct EnvelopeInfo {
        bytes16 id;
        bytes32 headerDigest;
        bytes32 payloadDigest;
        bytes16[] recipients;
    }

    /// A private message's body after `MAGIC` (gateway/src/private/body.rs writes it): the
    /// commitment, its inputs, the disclosed fields with their proofs, the envelope's inputs.
    struct Body {
        bytes32 commitment;
        Commitment inputs;
        Field[] fields;
        EnvelopeInfo envelope;
    }

    /// @notice The commitment of `c` (what the private message carries as its body).
    function commitment(Commitment calldata c) internal pure returns (bytes32) {
        return sha256(
            abi.encodePacked(
                TAG,
                c.origin,
                c.destination,
                c.nonce,
                c.sender,
                c.envelopeDigest,
                c.disclosureRoot,
                c.disclosureLeaves
            )
        );
    }

    /// @notice The leaf data of field `f` (before the RFC 9162 leaf hash).
    function leafData(Field calldata f) internal pure returns (bytes32) {
        return sha256(
            abi.encodePacked(
                uint64(LEAF_TAG.length),
                LEAF_TAG,
                uint64(32),
                f.salt,
                uint64(f.name.length),
                f.name,
                uint64(f.value.length),
                f.value
            )
        );
    }

    /// @notice Whether field `f` is part of the private message whose on-chain commitment is
    /// `onChain`: `c` hashes to it, and `f` proves against `c`'s disclosure root in a tree of
    /// `c.disclosureLeaves` leaves. Malformed input returns false, never reverts.
    function verifyField(bytes32 onChain, Commitment calldata c, Field calldata f)
        internal
        view
        returns (bool)
    {
        if (c.disclosureLeaves == 0 || commitment(c) != onChain) return false;
        return MerkleLog.verifyInclusion(
            false, f.index, c.disclosureLeaves, MerkleLog.leafHash(leafData(f)), f.path, c.disclosureRoot
        );
    }
}
