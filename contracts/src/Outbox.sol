// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MessageCodec} from "./lib/MessageCodec.sol";
import {BodyTooLarge, NonceTaken} from "./Errors.sol";

/// @title Outbox
/// @notice Origin side of Causeway on an EVM chain: `dispatch` assigns the next nonce and emits
/// the canonical message bytes (docs/wire-format.md), which gateways append to this origin's
/// Merkle log once final.
/// @dev The sender is always `msg.sender`, left-padded to 32 bytes; the origin is the immutable
/// `localDomain`. Gateways accept `Dispatch` logs only from the configured Outbox address.
/// One nonce counter serves every sender, so a sender that seals a message for the nonce it
/// read (a private payload's envelope binds it) sends it with `dispatchAt`: if another dispatch
/// took that nonce first, the transaction reverts instead of sending the message a second time
/// under the next nonce.
contract Outbox {
    /// This chain's Causeway domain, the origin of every message sent here.
    uint32 public immutable localDomain;
    /// The nonce the next message gets (starts at 0).
    uint64 public nonce;

    /// A message was sent; `message` is its exact canonical encoding and `id` its keccak256.
    event Dispatch(bytes32 indexed id, uint64 indexed nonce, uint32 indexed destination, bytes message);

    /// @param localDomain_ This chain's Causeway domain.
    constructor(uint32 localDomain_) {
        localDomain = localDomain_;
    }

    /// @notice Sends `body` to `recipient` on `destination` under the next nonce; returns the
    /// message id.
    function dispatch(uint32 destination, bytes32 recipient, bytes calldata body)
        external
        returns (bytes32 id)
    {
        return _dispatch(destination, recipient, body);
    }

    /// @notice Sends `body` to `recipient` on `destination` only under nonce `expectedNonce`,
    /// the one the sender read and sealed the message for; reverts `NonceTaken` if the next
    /// nonce is another (another dispatch was first), so a lost race costs a reverted
    /// transaction, never a second message. Returns the message id.
    function dispatchAt(uint64 expectedNonce, uint32 destination, bytes32 recipient, bytes calldata body)
        external
        returns (bytes32 id)
    {
        uint64 next = nonce;
        if (next != expectedNonce) revert NonceTaken(expectedNonce, next);
        return _dispatch(destination, recipient, body);
    }

    /// @dev Assigns the next nonce and emits the message.
    function _dispatch(uint32 destination, bytes32 recipient, bytes calldata body)
        internal
        virtual
        returns (bytes32 id)
    {
        if (body.length > MessageCodec.MAX_BODY_LEN) revert BodyTooLarge();
        uint64 n = nonce;
        nonce = n + 1;
        bytes memory message = MessageCodec.encode(
            n, localDomain, bytes32(uint256(uint160(msg.sender))), destination, recipient, body
        );
        id = keccak256(message);
        emit Dispatch(id, n, destination, message);
    }
}
