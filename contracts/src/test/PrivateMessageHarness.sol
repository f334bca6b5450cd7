// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {PrivateMessage} from "../lib/PrivateMessage.sol";

/// @notice Exposes the PrivateMessage library for tests (devnet/tests/it/private_message.rs).
contract PrivateMessageHarness {
    function commitment(PrivateMessage.Commitment calldata c) external pure returns (bytes32) {
        return PrivateMessage.commitment(c);
    }

    function leafData(PrivateMessage.Field calldata f) external pure returns (bytes32) {
        return PrivateMessage.leafData(f);
    }

    function verifyField(bytes32 onChain, PrivateMessage.Commitment calldata c, PrivateMessage.Field calldata f)
        external
        view
        returns (bool)
    {
        return PrivateMessage.verifyField(onChain, c, f);
    }
}
