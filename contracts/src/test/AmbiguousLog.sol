// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title AmbiguousLog
/// @notice Tests only: emits a log with no topics and caller-chosen data, as any contract that
/// logs user bytes can. On FISCO BCOS such data can spell `<Outbox address>‖<topics>‖<data>`,
/// and the receipt then hashes exactly like one carrying a forged Outbox `Dispatch` log
/// (docs/fisco.md, "Receipt hash"); the exploit tests use it to show that forgery refused.
contract AmbiguousLog {
    /// Emits `LOG0(data)`.
    function emitRaw(bytes calldata data) external {
        bytes memory copy = data;
        assembly ("memory-safe") {
            log0(add(copy, 32), mload(copy))
        }
    }
}
