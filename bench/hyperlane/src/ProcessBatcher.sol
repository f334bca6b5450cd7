// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

interface IProcess {
    function process(bytes calldata metadata, bytes calldata message) external payable;
}

/// @title ProcessBatcher
/// @notice What Hyperlane's relayer does to batch deliveries (Multicall3 `aggregate3` over
/// `Mailbox.process`, each call allowed to fail): one transaction, one call per message.
contract ProcessBatcher {
    function processAll(address mailbox, bytes[] calldata metadata, bytes[] calldata messages)
        external
        returns (uint256 failed)
    {
        for (uint256 i = 0; i < messages.length; ++i) {
            (bool ok,) = mailbox.call(abi.encodeCall(IProcess.process, (metadata[i], messages[i])));
            if (!ok) failed += 1;
        }
    }
}
