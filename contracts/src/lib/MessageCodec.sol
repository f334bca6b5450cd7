// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MessageTooShort, UnsupportedVersion, BodyTooLarge} from "../Errors.sol";

/// @title MessageCodec
/// @notice The canonical Causeway message v1 (docs/wire-format.md; Rust `causeway_proofs::Message`):
/// packed, big-endian, `version(1) ‖ nonce(8) ‖ origin(4) ‖ sender(32) ‖ destination(4) ‖
/// recipient(32) ‖ body(0..=65536)`. Its id is keccak256 of these bytes.
/// @dev Accessors read straight from calldata; call `check` first, they assume a checked message.
library MessageCodec {
    /// The only message version this code speaks.
    uint8 internal constant VERSION = 1;
    /// Length of the fixed header before the body.
    uint256 internal constant HEADER_LEN = 81;
    /// Largest body, in bytes (Rust `MAX_BODY_LEN`).
    uint256 internal constant MAX_BODY_LEN = 65_536;

    /// @notice Reverts unless `m` is a well-formed v1 message, with the same rules and order as
    /// Rust's `Message::decode`: too short, then version, then body size.
    function check(bytes calldata m) internal pure {
        if (m.length < HEADER_LEN) revert MessageTooShort();
        if (uint8(m[0]) != VERSION) revert UnsupportedVersion(uint8(m[0]));
        if (m.length - HEADER_LEN > MAX_BODY_LEN) revert BodyTooLarge();
    }

    /// @notice The Outbox nonce (bytes 1..9).
    function nonce(bytes calldata m) internal pure returns (uint64) {
        return uint64(bytes8(m[1:9]));
    }

    /// @notice The origin domain (bytes 9..13).
    function origin(bytes calldata m) internal pure returns (uint32) {
        return uint32(bytes4(m[9:13]));
    }

    /// @notice The sender identity (bytes 13..45).
    function sender(bytes calldata m) internal pure returns (bytes32) {
        return bytes32(m[13:45]);
    }

    /// @notice The destination domain (bytes 45..49).
    function destination(bytes calldata m) internal pure returns (uint32) {
        return uint32(bytes4(m[45:49]));
    }

    /// @notice The recipient identity (bytes 49..81).
    function recipient(bytes calldata m) internal pure returns (bytes32) {
        return bytes32(m[49:81]);
    }

    /// @notice The application payload (bytes 81..).
    function body(bytes calldata m) internal pure returns (bytes calldata) {
        return m[HEADER_LEN:];
    }

    /// @notice The message id: keccak256 of the whole encoding.
    function id(bytes calldata m) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, m.offset, m.length)
            h := keccak256(p, m.length)
        }
    }

    /// @notice The canonical encoding of a v1 message (what the Outbox emits).
    function encode(
        uint64 nonce_,
        uint32 origin_,
        bytes32 sender_,
        uint32 destination_,
        bytes32 recipient_,
        bytes calldata body_
    ) internal pure returns (bytes memory) {
        return abi.encodePacked(VERSION, nonce_, origin_, sender_, destination_, recipient_, body_);
    }
}
