// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Outbox} from "./Outbox.sol";

/// @title FiscoOutbox
/// @notice The Outbox deployed on FISCO BCOS groups: the same `dispatch`, `dispatchAt` and
/// `Dispatch` event, and every message id recorded in storage, readable with `dispatched(id)`.
/// @dev FISCO BCOS hashes a receipt by concatenating its fields without lengths, so another
/// contract's log data can be re-split into a forged `Dispatch` log with the same receipt hash,
/// Merkle proof and sealed header (docs/fisco.md, "Receipt hash"). What this contract stored
/// cannot be imitated by a log: a gateway confirms each id with a state read of `dispatched`
/// before accepting a FISCO BCOS receipt proof. EVM chains keep the plain Outbox: their
/// receipts are RLP (length-prefixed), and the extra storage write (22,100 gas per message)
/// would buy nothing there.
contract FiscoOutbox is Outbox {
    /// Whether this Outbox emitted the message with this id.
    mapping(bytes32 id => bool) public dispatched;

    /// @param localDomain_ This chain's Causeway domain.
    constructor(uint32 localDomain_) Outbox(localDomain_) {}

    /// @dev Both entry points (`dispatch`, `dispatchAt`) record the id.
    function _dispatch(uint32 destination, bytes32 recipient, bytes calldata body)
        internal
        override
        returns (bytes32 id)
    {
        id = super._dispatch(destination, recipient, body);
        dispatched[id] = true;
    }
}
