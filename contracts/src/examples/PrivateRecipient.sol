// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IMessageRecipient} from "../Types.sol";
import {PrivateMessage} from "../lib/PrivateMessage.sol";

/// @title PrivateRecipient
/// @notice An example recipient of private messages: it accepts a message only if the field it
/// was deployed for is disclosed and proves against the message's commitment
/// (`PrivateMessage.verifyField`), the commitment is this message's (its origin, sender and
/// destination), and the commitment was not accepted before. It records the field's canonical
/// JSON value; nothing else of the payload ever reaches the chain.
contract PrivateRecipient is IMessageRecipient {
    /// The Inbox whose calls are trusted.
    address public immutable inbox;
    /// This chain's Causeway domain (a commitment names its destination).
    uint32 public immutable localDomain;
    /// The disclosed field a message must prove (its name's bytes).
    bytes public fieldName;
    /// Messages accepted.
    uint256 public accepted;
    /// The field's value in the last message accepted (RFC 8785 JSON).
    bytes public lastValue;
    /// Commitments accepted (a commitment is accepted once).
    mapping(bytes32 => bool) public seen;

    /// A message's field proved against its commitment and was recorded.
    event Accepted(uint32 indexed origin, bytes32 indexed sender, bytes32 commitment, bytes value);

    /// `handle` was called by someone other than the Inbox.
    error NotInbox(address caller);
    /// The body is not a private message.
    error NotPrivate();
    /// No disclosed field of the configured name proves against the commitment, or the
    /// commitment is not this message's.
    error FieldNotProven();
    /// This commitment was accepted before.
    error Replayed(bytes32 commitment);

    /// @param inbox_ The Inbox allowed to call `handle`.
    /// @param localDomain_ This chain's Causeway domain.
    /// @param fieldName_ The field a message must disclose.
    constructor(address inbox_, uint32 localDomain_, bytes memory fieldName_) {
        inbox = inbox_;
        localDomain = localDomain_;
        fieldName = fieldName_;
    }

    /// @inheritdoc IMessageRecipient
    function handle(uint32 origin, bytes32 sender, bytes calldata body) external {
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        if (body.length < 4 || bytes4(body[:4]) != PrivateMessage.MAGIC) revert NotPrivate();
        // `body[4:]` is `abi.encode(Body)`, exactly the arguments of `provenField`: calling it
        // hands the body over as calldata, which the library verifies in place.
        (bool ok, bytes memory ret) =
            address(this).staticcall(abi.encodePacked(this.provenField.selector, body[4:]));
        if (!ok) revert FieldNotProven();
        (bytes32 commitment, uint32 o, bytes32 s, uint32 d, bytes memory value) =
            abi.decode(ret, (bytes32, uint32, bytes32, uint32, bytes));
        if (o != origin || s != sender || d != localDomain) revert FieldNotProven();
        if (seen[commitment]) revert Replayed(commitment);
        seen[commitment] = true;
        accepted += 1;
        lastValue = value;
        emit Accepted(origin, sender, commitment, value);
    }

    /// @notice The commitment, its context and the value of the configured field of `b`, if that
    /// field proves against the commitment; reverts `FieldNotProven` otherwise.
    function provenField(PrivateMessage.Body calldata b)
        external
        view
        returns (bytes32, uint32, bytes32, uint32, bytes memory)
    {
        bytes32 wanted = keccak256(fieldName);
        for (uint256 i = 0; i < b.fields.length; ++i) {
            if (keccak256(b.fields[i].name) != wanted) continue;
            if (!PrivateMessage.verifyField(b.commitment, b.inputs, b.fields[i])) revert FieldNotProven();
            return (b.commitment, b.inputs.origin, b.inputs.sender, b.inputs.destination, b.fields[i].value);
        }
        revert FieldNotProven();
    }
}
