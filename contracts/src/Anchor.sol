// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Checkpoint} from "./Types.sol";
import {ValidatorRegistry} from "./ValidatorRegistry.sol";
import {MerkleLog} from "./lib/MerkleLog.sol";
import {InconsistentCheckpoint, StaleCheckpoint} from "./Errors.sol";

/// @title Anchor
/// @notice Records checkpoints of consortium logs on a public chain. Each origin's log may only
/// grow: a new checkpoint must be signed by the origin's validators (signing domain with
/// destination 0) and be consistent with the last one recorded (RFC 9162 §2.1.4.2 consistency
/// proof verified on chain), so history cannot be rewritten unseen.
/// @dev Rules: the first checkpoint of an origin needs no proof; later ones need size >= last
/// size (`StaleCheckpoint` otherwise); equal size needs the equal root and an empty proof;
/// a larger size needs a valid consistency proof (`InconsistentCheckpoint` otherwise).
contract Anchor is ValidatorRegistry {
    /// The last anchored checkpoint of one origin.
    struct Anchored_ {
        uint64 size;
        bytes32 root;
    }

    mapping(uint32 origin => Anchored_) private _latest;

    /// A checkpoint of `origin`'s log was recorded.
    event Anchored(uint32 indexed origin, uint64 size, bytes32 root);

    /// @param admin_ The account that installs first validator sets.
    /// @param changeDelay_ Seconds a validator-set change stays pending (see ValidatorRegistry).
    constructor(address admin_, uint64 changeDelay_) ValidatorRegistry(admin_, changeDelay_) {}

    /// @notice Records `cp` if signed by the origin's validators and consistent with the last
    /// checkpoint recorded for that origin (`consistencyProof` from the last size to `cp.size`).
    function anchor(Checkpoint calldata cp, bytes[] calldata signatures, bytes32[] calldata consistencyProof)
        external
    {
        Anchored_ storage last = _latest[cp.origin];
        uint64 lastSize = last.size;
        if (cp.size == 0 || cp.size < lastSize) revert StaleCheckpoint(lastSize, cp.size);
        _verifyCheckpoint(cp, signatures);
        if (lastSize != 0) {
            if (!MerkleLog.verifyConsistency(lastSize, cp.size, last.root, cp.root, consistencyProof)) {
                revert InconsistentCheckpoint();
            }
        }
        last.size = cp.size;
        last.root = cp.root;
        emit Anchored(cp.origin, cp.size, cp.root);
    }

    /// @notice The last checkpoint recorded for `origin` (0, 0 if none).
    function latest(uint32 origin) external view returns (uint64 size, bytes32 root) {
        Anchored_ storage last = _latest[origin];
        return (last.size, last.root);
    }

    /// @notice Whether `path` proves that the SHA-256 log (`second`, `secondRoot`) extends
    /// (`first`, `firstRoot`), exactly as `anchor` checks it.
    function verifyConsistency(
        uint64 first,
        uint64 second,
        bytes32 firstRoot,
        bytes32 secondRoot,
        bytes32[] calldata path
    ) external view returns (bool) {
        return MerkleLog.verifyConsistency(first, second, firstRoot, secondRoot, path);
    }

    /// The Anchor's signing domain names destination 0.
    function _signingDestination() internal pure override returns (uint32) {
        return 0;
    }

    /// Consistency proofs are verified over SHA-256 only.
    function _supportsHash(uint8 hashAlgorithm) internal pure override returns (bool) {
        return hashAlgorithm == SHA256;
    }
}
