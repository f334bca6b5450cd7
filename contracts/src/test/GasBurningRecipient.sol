// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IMessageRecipient} from "../Types.sol";

/// @title GasBurningRecipient
/// @notice A hostile recipient, for tests only: in a real transaction (gas price above zero) it
/// burns every unit of gas it is given, while a gas estimate (run at gas price zero) sees it
/// return at once. A relayer that sized its transactions by the estimate alone would run out
/// of gas for the messages after it.
contract GasBurningRecipient is IMessageRecipient {
    /// @inheritdoc IMessageRecipient
    function handle(uint32, bytes32, bytes calldata) external view {
        if (tx.gasprice == 0) return;
        assembly {
            invalid()
        }
    }
}
