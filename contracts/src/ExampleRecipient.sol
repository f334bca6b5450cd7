// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IMessageRecipient} from "./Types.sol";

/// @title ExampleRecipient
/// @notice A small Causeway application: accepts messages only from its Inbox and records the
/// last one. Its owner can make it revert, to exercise failed deliveries and `Inbox.retry`.
contract ExampleRecipient is IMessageRecipient {
    /// The Inbox whose calls are trusted.
    address public immutable inbox;
    /// Who may toggle `shouldRevert` (the deployer).
    address public immutable owner;
    /// When true, `handle` reverts with `Rejected`.
    bool public shouldRevert;
    /// Number of messages handled.
    uint256 public handled;
    /// Origin domain of the last message.
    uint32 public lastOrigin;
    /// Sender of the last message.
    bytes32 public lastSender;
    /// Body of the last message.
    bytes public lastBody;

    /// A message was handled.
    event Handled(uint32 indexed origin, bytes32 indexed sender, bytes body);

    /// `handle` was called by someone other than the Inbox.
    error NotInbox(address caller);
    /// `setShouldRevert` was called by someone other than the owner.
    error NotOwner(address caller);
    /// The recipient was told to refuse messages.
    error Rejected(uint32 origin, bytes32 sender);

    /// @param inbox_ The Inbox allowed to call `handle`.
    constructor(address inbox_) {
        inbox = inbox_;
        owner = msg.sender;
    }

    /// @notice Makes `handle` revert (or stop reverting). Owner only.
    function setShouldRevert(bool value) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        shouldRevert = value;
    }

    /// @inheritdoc IMessageRecipient
    function handle(uint32 origin, bytes32 sender, bytes calldata body) external {
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        if (shouldRevert) revert Rejected(origin, sender);
        handled += 1;
        lastOrigin = origin;
        lastSender = sender;
        lastBody = body;
        emit Handled(origin, sender, body);
    }
}
