// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// Hyperlane's recipient interface (`contracts/interfaces/IMessageRecipient.sol`).
interface IHyperlaneRecipient {
    function handle(uint32 origin, bytes32 sender, bytes calldata message) external payable;
}

/// @title HyperlaneExampleRecipient
/// @notice The code of Causeway's `ExampleRecipient` behind Hyperlane's recipient interface (a
/// payable `handle`), so that both protocols deliver to the same work per message: the same
/// checks, the same four storage writes and the same event.
contract HyperlaneExampleRecipient is IHyperlaneRecipient {
    address public immutable inbox;
    address public immutable owner;
    bool public shouldRevert;
    uint256 public handled;
    uint32 public lastOrigin;
    bytes32 public lastSender;
    bytes public lastBody;

    event Handled(uint32 indexed origin, bytes32 indexed sender, bytes body);

    error NotInbox(address caller);
    error NotOwner(address caller);
    error Rejected(uint32 origin, bytes32 sender);

    constructor(address inbox_) {
        inbox = inbox_;
        owner = msg.sender;
    }

    function setShouldRevert(bool value) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        shouldRevert = value;
    }

    function handle(uint32 origin, bytes32 sender, bytes calldata body) external payable {
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        if (shouldRevert) revert Rejected(origin, sender);
        handled += 1;
        lastOrigin = origin;
        lastSender = sender;
        lastBody = body;
        emit Handled(origin, sender, body);
    }
}
