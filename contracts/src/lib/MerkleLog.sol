// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title MerkleLog
/// @notice RFC 9162 §2 Merkle log verification over SHA-256 (the precompile at address 0x02) or,
/// for inclusion proofs of Keccak-256 lanes, the KECCAK256 opcode: byte for byte what Rust's
/// `causeway_proofs::log` computes with `HashAlgorithm::Sha256` / `Keccak256`: leaf hash
/// `H(0x00 ‖ data)`, node hash `H(0x01 ‖ left ‖ right)`. The verifiers follow RFC 9162 §2.1.3.2 (inclusion) and
/// §2.1.4.2 (consistency) step by step; any malformed input (index >= size, size 0, a path of
/// the wrong length, a zero root) makes them return false, never revert.
/// @dev There is deliberately no verifier taking a bare leaf hash from the caller: the Inbox
/// always hashes the message id itself, so an interior node can never pose as a leaf (T18).
library MerkleLog {
    /// The longest inclusion path a log of at most 2^64 - 1 leaves has.
    uint256 internal constant MAX_INCLUSION_PATH = 64;
    /// The longest consistency proof between two such logs.
    uint256 internal constant MAX_CONSISTENCY_PATH = 65;

    /// @notice `SHA-256(0x00 ‖ data)`: the leaf hash of a 32-byte leaf (a message id).
    function leafHash(bytes32 data) internal view returns (bytes32) {
        return leafHash(false, data);
    }

    /// @notice `H(0x00 ‖ data)` with H = Keccak-256 when `keccak`, else SHA-256.
    function leafHash(bool keccak, bytes32 data) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x00)
            mstore(add(p, 1), data)
            switch keccak
            case 0 {
                if iszero(staticcall(gas(), 0x02, p, 33, 0x00, 0x20)) { revert(0, 0) }
                h := mload(0x00)
            }
            default { h := keccak256(p, 33) }
        }
    }

    /// @notice `SHA-256(0x01 ‖ left ‖ right)`: an interior node.
    function nodeHash(bytes32 left, bytes32 right) internal view returns (bytes32) {
        return nodeHash(false, left, right);
    }

    /// @notice `H(0x01 ‖ left ‖ right)` with H = Keccak-256 when `keccak`, else SHA-256.
    function nodeHash(bool keccak, bytes32 left, bytes32 right) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 1), left)
            mstore(add(p, 33), right)
            switch keccak
            case 0 {
                if iszero(staticcall(gas(), 0x02, p, 65, 0x00, 0x20)) { revert(0, 0) }
                h := mload(0x00)
            }
            default { h := keccak256(p, 65) }
        }
    }

    /// @notice The root that `path` proves for the leaf hash `leaf` at `index` in a log of `size`
    /// leaves (RFC 9162 §2.1.3.2), or `ok == false` when `index >= size` or when the path's
    /// length is not the one the index and size imply. Nodes are hashed with Keccak-256 when
    /// `keccak`, else SHA-256.
    function rootFromInclusionProof(bool keccak, uint64 index, uint64 size, bytes32 leaf, bytes32[] calldata path)
        internal
        view
        returns (bool ok, bytes32 root)
    {
        // 1. leaf_index >= tree_size fails (this also rejects size 0).
        if (index >= size || path.length > MAX_INCLUSION_PATH) return (false, bytes32(0));
        // Steps 2.-5. in assembly (the hot loop of every delivery): the same steps, without
        // Solidity's per-element bounds checks (the loop stays within `path`).
        assembly ("memory-safe") {
            // 2.-3. fn = leaf_index, sn = tree_size - 1, r = leaf hash (the uint64s cleaned of
            // any high bits they may carry on the stack; size >= 1 was checked above).
            let fn := and(index, 0xffffffffffffffff)
            let sn := sub(and(size, 0xffffffffffffffff), 1)
            let r := leaf
            // Scratch for 0x01 ‖ left ‖ right above the free memory pointer (not allocated).
            let p := mload(0x40)
            mstore8(p, 0x01)
            ok := 1
            // 4. For each value c in the inclusion path:
            for {
                let at := path.offset
                let end := add(at, shl(5, path.length))
            } lt(at, end) { at := add(at, 0x20) } {
                // a. If sn is 0, the path is too long: fail.
                if iszero(sn) {
                    ok := 0
                    break
                }
                let c := calldataload(at)
                switch or(and(fn, 1), eq(fn, sn))
                case 0 {
                    // c. c is a right sibling: H(0x01 ‖ r ‖ c).
                    mstore(add(p, 1), r)
                    mstore(add(p, 33), c)
                }
                default {
                    // b. c is a left sibling: H(0x01 ‖ c ‖ r); then skip the levels where this
                    // node has no right sibling.
                    mstore(add(p, 1), c)
                    mstore(add(p, 33), r)
                    for {} and(iszero(and(fn, 1)), iszero(iszero(fn))) {} {
                        fn := shr(1, fn)
                        sn := shr(1, sn)
                    }
                }
                switch keccak
                case 0 {
                    if iszero(staticcall(gas(), 0x02, p, 65, 0x00, 0x20)) { revert(0, 0) }
                    r := mload(0x00)
                }
                default { r := keccak256(p, 65) }
                // d. Up one level.
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
            // 5. sn must be 0: otherwise the path is too short.
            if sn { ok := 0 }
            root := mul(r, ok)
        }
    }

    /// @notice Whether the leaf hash `leaf` sits at `index` in the log of `size` leaves whose root
    /// is `root` (RFC 9162 §2.1.3.2), nodes hashed with Keccak-256 when `keccak`, else SHA-256.
    /// A zero root never verifies.
    function verifyInclusion(
        bool keccak,
        uint64 index,
        uint64 size,
        bytes32 leaf,
        bytes32[] calldata path,
        bytes32 root
    ) internal view returns (bool) {
        if (root == bytes32(0)) return false;
        (bool ok, bytes32 computed) = rootFromInclusionProof(keccak, index, size, leaf, path);
        return ok && computed == root;
    }

    /// @notice Whether the log of `second` leaves with root `secondRoot` extends the log of `first`
    /// leaves with root `firstRoot` (RFC 9162 §2.1.4.2). `first` must be in 1..=second; equal sizes
    /// need an empty path and equal roots (as Rust's `verify_consistency`); zero roots never verify.
    function verifyConsistency(
        uint64 first,
        uint64 second,
        bytes32 firstRoot,
        bytes32 secondRoot,
        bytes32[] calldata path
    ) internal view returns (bool) {
        if (first == 0 || first > second) return false;
        if (firstRoot == bytes32(0) || secondRoot == bytes32(0)) return false;
        if (first == second) return path.length == 0 && firstRoot == secondRoot;
        // 1. An empty path fails (and no proof is longer than 65 nodes).
        if (path.length == 0 || path.length > MAX_CONSISTENCY_PATH) return false;
        // 2. If first is an exact power of 2, first_hash is prepended to the path (it becomes the
        //    first value; every element of `path` is then a "subsequent value").
        uint256 next = 0;
        bytes32 fr;
        if (first & (first - 1) == 0) {
            fr = firstRoot;
        } else {
            fr = path[0];
            next = 1;
        }
        // 3. fn = first - 1, sn = second - 1.
        uint256 fn = uint256(first) - 1;
        uint256 sn = uint256(second) - 1;
        // 4. If LSB(fn) is set, right-shift fn and sn equally until it is not.
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        // 5. fr = sr = the first value.
        bytes32 sr = fr;
        // 6. For each subsequent value c:
        for (uint256 i = next; i < path.length; ++i) {
            // a. If sn is 0, fail.
            if (sn == 0) return false;
            bytes32 c = path[i];
            // b. LSB(fn) set or fn == sn: c is a left sibling in both trees.
            if (fn & 1 == 1 || fn == sn) {
                fr = nodeHash(c, fr);
                sr = nodeHash(c, sr);
                if (fn & 1 == 0) {
                    while (fn & 1 == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                // c. Otherwise c is a right sibling, present only in the new tree.
                sr = nodeHash(sr, c);
            }
            // d. Up one level.
            fn >>= 1;
            sn >>= 1;
        }
        // 7. fr must equal first_hash, sr second_hash, and sn must be 0.
        return sn == 0 && fr == firstRoot && sr == secondRoot;
    }
}
