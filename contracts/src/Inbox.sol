// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Checkpoint, InclusionProof, IMessageRecipient} from "./Types.sol";
import {ValidatorRegistry} from "./ValidatorRegistry.sol";
import {MessageCodec} from "./lib/MessageCodec.sol";
import {MerkleLog} from "./lib/MerkleLog.sol";
import {
    ConflictingCheckpoint,
    ForbiddenRecipient,
    InsufficientGas,
    InvalidProof,
    InvalidRateLimit,
    NotFailed,
    NotPaused,
    NotValidator,
    Paused,
    WrongDestination,
    WrongDomain
} from "./Errors.sol";

/// @title Inbox
/// @notice Destination side of Causeway on an EVM chain. A relayer (anyone: relayers are
/// untrusted) submits messages with their RFC 9162 inclusion proofs and one checkpoint signed by
/// m-of-n validators of the origin; the Inbox checks the signatures once per batch, then for each
/// message its origin, destination, that it was never delivered and its proof, and calls
/// `recipient.handle(origin, sender, body)`. A recipient that reverts is recorded as failed and
/// can be retried; it never blocks the batch's other messages.
/// @dev Security (docs: security/bridge-exploits.md):
/// - everything is recomputed from stored state and the running chain (digest, root, replay key);
/// - the replay key is the message id, never a signature or a (root, index) pair (T11, T19, T25);
/// - the Inbox holds no privileges, no allowances and no ether (no payable function), and a
///   message can never target the Inbox itself, its admin or a target the admin denied (T23);
/// - the recipient gets a fixed gas budget that the relayer cannot shrink (T26), and at most
///   `MAX_REASON_LEN` bytes of its revert data are copied (no return-data bombs).
contract Inbox is ValidatorRegistry {
    using MessageCodec for bytes;

    /// `status`: never seen.
    uint8 public constant STATUS_NONE = 0;
    /// `status`: delivered (the recipient's `handle` returned).
    uint8 public constant STATUS_DELIVERED = 1;
    /// `status`: the recipient reverted; `retry` may deliver it later.
    uint8 public constant STATUS_FAILED = 2;
    /// `status`: refused for good (a forbidden recipient); `retry` cannot change it.
    uint8 public constant STATUS_REFUSED = 3;
    /// Gas every recipient call gets on first delivery; a transaction that cannot give it reverts
    /// `InsufficientGas` as a whole. `retry` forwards all the gas its caller supplies.
    uint256 public constant HANDLE_GAS = 500_000;
    /// Gas kept back after a recipient call for the Inbox's own bookkeeping.
    uint256 internal constant GAS_RESERVE = 30_000;
    /// Most revert-data bytes of a failed recipient kept in `DeliveryFailed`.
    uint256 public constant MAX_REASON_LEN = 512;

    /// This chain's Causeway domain (the destination every delivered message must name).
    uint32 public immutable localDomain;

    /// `laneFlags` bit (in the origin's validator-set slot, read by every delivery): deliveries
    /// and retries from the origin are refused (`Paused`).
    uint8 private constant LANE_PAUSED = 1;
    /// `laneFlags` bit: the origin has a rate limit (its `Lane` is read and counted).
    uint8 private constant LANE_LIMITED = 2;

    /// One origin's pause count and rate limit, packed in one storage slot (read only when the
    /// lane is rate limited, or paused and unpaused).
    struct Lane {
        /// How many times the lane was paused: part of the unpause digest, so signatures for
        /// one unpause never lift a later pause.
        uint32 pauses;
        /// Most messages handed to recipients per window (0: no limit).
        uint32 maxMessages;
        /// The window's length in seconds.
        uint32 window;
        /// Messages handed to recipients in the current window.
        uint32 count;
        /// When the current window started (unix seconds).
        uint64 windowStart;
    }

    /// keccak256 of the EIP-712 type string of an unpause (governance domain).
    bytes32 public constant UNPAUSE_TYPEHASH = keccak256("Unpause(uint32 originDomain,uint32 pauses)");

    mapping(bytes32 id => uint8) private _status;
    mapping(uint32 origin => Lane) private _lanes;
    /// The first root accepted for each (origin, log hash, log size): a different signed root for
    /// the same size is equivocation by the signing threshold and is refused with both roots.
    /// (A SHA-256 and a Keccak-256 root of the same log differ without any equivocation, so the
    /// hash algorithm is part of the key: `_rootKey`.)
    mapping(uint32 origin => mapping(uint72 key => bytes32 root)) private _roots;
    mapping(address target => bool) private _forbidden;

    /// The message was delivered: its recipient's `handle` returned.
    event Delivered(bytes32 indexed id, uint32 indexed origin, uint64 nonce);
    /// The message was proven but its recipient reverted with `reason` (truncated to
    /// `MAX_REASON_LEN` bytes); it is retryable with `retry`.
    event DeliveryFailed(bytes32 indexed id, uint32 indexed origin, uint64 nonce, bytes reason);
    /// Deliveries from `origin` were paused (by a validator or the admin) or resumed (by a
    /// threshold of the validators).
    event PauseChanged(uint32 indexed origin, bool paused);
    /// The message was already delivered, failed or refused (`status` != 0), for instance by
    /// another relayer's transaction: it is skipped and the batch goes on.
    event AlreadyDeliveredSkipped(bytes32 indexed id, uint8 status);
    /// The message was proven but its recipient is forbidden (the Inbox, its admin, a denied
    /// target, or a 32-byte identity that is not an address): recorded refused (status 3) for
    /// good, never delivered nor retried; the batch goes on.
    event DeliveryRefused(bytes32 indexed id, uint32 indexed origin, uint64 nonce, bytes32 recipient);
    /// The message was proven but left undelivered (status still 0) because its origin's rate
    /// limit for the current window is used up; it can be delivered in a later window.
    event RateLimited(bytes32 indexed id, uint32 indexed origin, uint64 nonce);
    /// The admin set the rate limit of `origin` (0 messages: no limit).
    event RateLimitChanged(uint32 indexed origin, uint32 maxMessages, uint32 window);
    /// The admin added or removed a privileged target that messages may never call.
    event ForbiddenRecipientChanged(address indexed target, bool forbidden);

    /// @param localDomain_ This chain's Causeway domain.
    /// @param admin_ The account that installs first validator sets, denies targets, sets rate
    /// limits and may pause.
    /// @param changeDelay_ Seconds a validator-set change stays pending (see ValidatorRegistry).
    constructor(uint32 localDomain_, address admin_, uint64 changeDelay_) ValidatorRegistry(admin_, changeDelay_) {
        localDomain = localDomain_;
    }

    /// @notice Delivers one message, under the rules of `deliverBatch` (a message already seen is
    /// skipped and a forbidden recipient refused, without reverting).
    function deliver(
        bytes calldata message,
        InclusionProof calldata proof,
        Checkpoint calldata cp,
        bytes[] calldata signatures
    ) external {
        (Lane storage lane, bool limited) = _openLane(cp.origin);
        _verifyCheckpoint(cp, signatures);
        _acceptRoot(cp);
        _deliver(message, proof.index, proof.path, cp, lane, limited);
    }

    /// @notice Delivers `messages[i]` with `proofs[i]` under one checkpoint `cp` and its
    /// validator `signatures` (65-byte r ‖ s ‖ v, v in {27, 28}, ascending by signer). The
    /// signatures are verified once. An invalid checkpoint, signature, message encoding, domain
    /// or proof reverts the whole batch (only a buggy or hostile relayer builds those). One
    /// message never sinks the others: one already delivered (or failed, or refused) is skipped
    /// (`AlreadyDeliveredSkipped`), one to a forbidden recipient is refused for good
    /// (`DeliveryRefused`, status 3), one over the rate limit is left undelivered
    /// (`RateLimited`), and a reverting recipient only records its own message as failed.
    function deliverBatch(
        bytes[] calldata messages,
        InclusionProof[] calldata proofs,
        Checkpoint calldata cp,
        bytes[] calldata signatures
    ) external {
        if (messages.length != proofs.length) revert InvalidProof();
        (Lane storage lane, bool limited) = _openLane(cp.origin);
        _verifyCheckpoint(cp, signatures);
        _acceptRoot(cp);
        // Each message's memory (the recipient call's arguments, a revert reason) is dead once
        // it is handled: the free memory pointer goes back after each one, so memory (whose
        // cost grows with the square of its size) stays one message large whatever the batch.
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        for (uint256 i = 0; i < messages.length; ++i) {
            InclusionProof calldata proof = proofs[i];
            _deliver(messages[i], proof.index, proof.path, cp, lane, limited);
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
        }
    }

    /// @notice `deliverBatch` with a packed encoding that costs less calldata and decoding (issue
    /// 9 item 5), under the same rules and checks in the same order. `signatures` are the
    /// validator signatures back to back, 65 bytes each (r ‖ s ‖ v, ascending by signer);
    /// `items` are the messages with their proofs, each
    /// `index (8 bytes) ‖ n (1 byte) ‖ n × 32-byte path ‖ length (4 bytes) ‖ message`, integers
    /// big-endian, back to back up to the end. Items that do not parse exactly (a field cut
    /// short, or bytes left over) revert `InvalidProof`, as a proof list of the wrong length does.
    function deliverPacked(Checkpoint calldata cp, bytes calldata signatures, bytes calldata items) external {
        (Lane storage lane, bool limited) = _openLane(cp.origin);
        _verifyCheckpointPacked(cp, signatures);
        _acceptRoot(cp);
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        uint256 at = 0;
        while (at < items.length) {
            at = _deliverItem(items, at, cp, lane, limited);
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
        }
    }

    /// @notice Delivers the packed item of `deliverPacked` at `at`; returns where the next starts.
    function _deliverItem(bytes calldata items, uint256 at, Checkpoint calldata cp, Lane storage lane, bool limited)
        private
        returns (uint256 next)
    {
        bytes calldata message;
        uint64 index;
        bytes32[] calldata path;
        (message, index, path, next) = _item(items, at);
        _deliver(message, index, path, cp, lane, limited);
    }

    /// @notice The packed item of `deliverPacked` that starts at `at` (< `items.length`) and
    /// where the next one starts; reverts `InvalidProof` when it runs past the end of `items`.
    function _item(bytes calldata items, uint256 at)
        private
        pure
        returns (bytes calldata message, uint64 index, bytes32[] calldata path, uint256 next)
    {
        uint256 end = items.length;
        bool short;
        assembly ("memory-safe") {
            let base := items.offset
            // index (8) ‖ n (1): 9 bytes.
            let pathAt := add(at, 9)
            short := gt(pathAt, end)
            let word := calldataload(add(base, at))
            index := shr(192, word)
            let n := byte(8, word)
            // path (32 n) ‖ length (4). Every quantity is below 2^64 (`end` is a calldata
            // length), so none of these sums can wrap.
            let lengthAt := add(pathAt, shl(5, n))
            let messageAt := add(lengthAt, 4)
            short := or(short, gt(messageAt, end))
            next := add(messageAt, shr(224, calldataload(add(base, lengthAt))))
            short := or(short, gt(next, end))
            path.offset := add(base, pathAt)
            path.length := n
            message.offset := add(base, messageAt)
            message.length := sub(next, messageAt)
        }
        if (short) revert InvalidProof();
    }

    /// @notice Calls the recipient of a message recorded as failed again, with all the gas the
    /// caller supplies (minus a small reserve). On success the message becomes delivered; on
    /// another revert it stays failed and `DeliveryFailed` is emitted again.
    function retry(bytes calldata message) external {
        message.check();
        bytes32 id = message.id();
        if (_status[id] != STATUS_FAILED) revert NotFailed(id);
        uint32 origin = message.origin();
        if (_sets[origin].laneFlags & LANE_PAUSED != 0) revert Paused(origin);
        address recipient = _recipient(message);
        _status[id] = STATUS_DELIVERED;
        _requireGas();
        _call(id, message, recipient, gasleft() - GAS_RESERVE);
    }

    /// @notice 0 never seen, 1 delivered, 2 failed (retryable), 3 refused (for good).
    function status(bytes32 id) external view returns (uint8) {
        return _status[id];
    }

    /// @notice `status` of each of `ids`, in order: a relayer reads a whole batch's replay
    /// records in one call instead of one call per message.
    function statuses(bytes32[] calldata ids) external view returns (uint8[] memory out) {
        out = new uint8[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            out[i] = _status[ids[i]];
        }
    }

    /// @notice Pauses deliveries and retries from `origin`: any one current validator of the
    /// origin, or the admin, may (pausing is safe). A no-op when already paused.
    function pause(uint32 origin) external {
        if (msg.sender != admin && !_isValidator(origin, msg.sender)) revert NotValidator(msg.sender);
        ValidatorSetData storage set = _sets[origin];
        uint8 flags = set.laneFlags;
        if (flags & LANE_PAUSED != 0) return;
        set.laneFlags = flags | LANE_PAUSED;
        _lanes[origin].pauses += 1;
        emit PauseChanged(origin, true);
    }

    /// @notice Resumes deliveries from `origin`, signed by a threshold of its current validators
    /// over `unpauseDigest(origin)` (the governance domain; the digest names the pause count, so
    /// signatures lift exactly one pause). The admin alone cannot unpause.
    function unpause(uint32 origin, bytes[] calldata signatures) external {
        ValidatorSetData storage set = _sets[origin];
        if (set.laneFlags & LANE_PAUSED == 0) revert NotPaused(origin);
        _verifyQuorum(origin, _unpauseDigest(origin, _lanes[origin].pauses), signatures);
        set.laneFlags &= ~LANE_PAUSED;
        emit PauseChanged(origin, false);
    }

    /// @notice The digest a threshold of the validators of `origin` signs to lift its current
    /// pause.
    function unpauseDigest(uint32 origin) external view returns (bytes32) {
        return _unpauseDigest(origin, _lanes[origin].pauses);
    }

    /// @notice Whether deliveries from `origin` are paused.
    function paused(uint32 origin) external view returns (bool) {
        return _sets[origin].laneFlags & LANE_PAUSED != 0;
    }

    /// @notice Limits deliveries from `origin` to `maxMessages` handed to recipients per
    /// `window` seconds (admin only; 0 and 0 remove the limit). Messages beyond the limit are left
    /// undelivered with `RateLimited`, never reverted, so the rest of a batch is not lost. The
    /// current window restarts.
    function setRateLimit(uint32 origin, uint32 maxMessages, uint32 window) external onlyAdmin {
        if ((maxMessages == 0) != (window == 0)) revert InvalidRateLimit();
        Lane storage lane = _lanes[origin];
        lane.maxMessages = maxMessages;
        lane.window = window;
        lane.count = 0;
        lane.windowStart = uint64(block.timestamp);
        ValidatorSetData storage set = _sets[origin];
        set.laneFlags = maxMessages == 0 ? set.laneFlags & ~LANE_LIMITED : set.laneFlags | LANE_LIMITED;
        emit RateLimitChanged(origin, maxMessages, window);
    }

    /// @notice The rate limit of `origin` and the current window's use.
    function rateLimit(uint32 origin)
        external
        view
        returns (uint32 maxMessages, uint32 window, uint32 count, uint64 windowStart)
    {
        Lane storage lane = _lanes[origin];
        return (lane.maxMessages, lane.window, lane.count, lane.windowStart);
    }

    /// @notice Denies (or allows again) a privileged target, such as an Anchor, a proxy admin or a
    /// token the Inbox was wrongly given rights on, as a message recipient (admin only). The Inbox
    /// itself and its admin are always denied.
    function setForbiddenRecipient(address target, bool forbidden) external onlyAdmin {
        _forbidden[target] = forbidden;
        emit ForbiddenRecipientChanged(target, forbidden);
    }

    /// @notice Whether a message may never be delivered to `target`.
    function isForbiddenRecipient(address target) public view returns (bool) {
        return target == address(this) || target == admin || _forbidden[target];
    }

    /// @notice Whether `path` proves the message id `id` at `index` in the SHA-256 log of `size`
    /// leaves with root `root` (RFC 9162 §2.1.3.2), exactly as deliveries check it.
    function verifyInclusion(bytes32 id, uint64 index, uint64 size, bytes32[] calldata path, bytes32 root)
        external
        view
        returns (bool)
    {
        return MerkleLog.verifyInclusion(false, index, size, MerkleLog.leafHash(false, id), path, root);
    }

    /// @notice Checkpoints of SHA-256 and Keccak-256 logs are verified (Keccak-256 lanes cost
    /// less: the KECCAK256 opcode per proof level instead of a call to the SHA-256 precompile).
    function _supportsHash(uint8 hashAlgorithm) internal pure override returns (bool) {
        return hashAlgorithm == SHA256 || hashAlgorithm == KECCAK256;
    }

    function _signingDestination() internal view override returns (uint32) {
        return localDomain;
    }

    /// @notice The root first accepted for `origin`'s log hashed with `hashAlgorithm` at log size
    /// `size` (0 if none yet).
    function acceptedRoot(uint32 origin, uint8 hashAlgorithm, uint64 size) external view returns (bytes32) {
        return _roots[origin][_rootKey(hashAlgorithm, size)];
    }

    /// @notice The key of a root record under its origin: the log's hash algorithm and size.
    function _rootKey(uint8 hashAlgorithm, uint64 size) private pure returns (uint72) {
        return (uint72(hashAlgorithm) << 64) | size;
    }

    /// @notice Records the first verified root of (origin, hash algorithm, size); reverts
    /// `ConflictingCheckpoint` with both roots when a different one was accepted before.
    function _acceptRoot(Checkpoint calldata cp) private {
        mapping(uint72 => bytes32) storage roots = _roots[cp.origin];
        uint72 key = _rootKey(cp.hashAlgorithm, cp.size);
        bytes32 known = roots[key];
        if (known == bytes32(0)) {
            roots[key] = cp.root;
        } else if (known != cp.root) {
            revert ConflictingCheckpoint(cp.origin, cp.size, known, cp.root);
        }
    }

    /// @notice The lane of `origin` and whether it is rate limited; reverts `Paused` when it is
    /// paused. Reads only the origin's validator-set slot (which the checkpoint check reads next).
    function _openLane(uint32 origin) private view returns (Lane storage lane, bool limited) {
        uint8 flags = _sets[origin].laneFlags;
        if (flags & LANE_PAUSED != 0) revert Paused(origin);
        return (_lanes[origin], flags & LANE_LIMITED != 0);
    }

    /// @notice Counts one message against the rate limit of `lane`; false when the current
    /// window is used up. Written before the recipient runs, so a re-entrant delivery sees it.
    function _admit(Lane storage lane) private returns (bool) {
        uint64 now_ = uint64(block.timestamp);
        if (now_ >= lane.windowStart + lane.window) {
            lane.windowStart = now_;
            lane.count = 0;
        }
        uint32 count = lane.count;
        if (count >= lane.maxMessages) return false;
        lane.count = count + 1;
        return true;
    }

    function _unpauseDigest(uint32 origin, uint32 pauses) private view returns (bytes32) {
        return _governanceDigest(origin, keccak256(abi.encode(UNPAUSE_TYPEHASH, origin, pauses)));
    }

    /// @notice Checks one message against the verified checkpoint and hands it to its recipient
    /// (or leaves it undelivered with `RateLimited` when its lane's window is used up).
    function _deliver(
        bytes calldata message,
        uint64 index,
        bytes32[] calldata path,
        Checkpoint calldata cp,
        Lane storage lane,
        bool limited
    ) private {
        message.check();
        {
            uint32 origin = message.origin();
            // The caller checked that cp.origin is not paused; this makes it the message's origin.
            if (origin != cp.origin) revert WrongDomain(cp.origin, origin);
            uint32 destination = message.destination();
            if (destination != localDomain) revert WrongDestination(localDomain, destination);
        }
        bytes32 id = message.id();
        uint8 seen = _status[id];
        if (seen != STATUS_NONE) {
            // Delivered by someone else first (or failed, or refused): nothing to do here. Its
            // proof was checked when it was first recorded.
            emit AlreadyDeliveredSkipped(id, seen);
            return;
        }
        {
            bool keccak = cp.hashAlgorithm == KECCAK256;
            bytes32 leaf = MerkleLog.leafHash(keccak, id);
            if (!MerkleLog.verifyInclusion(keccak, index, cp.size, leaf, path, cp.root)) {
                revert InvalidProof();
            }
        }
        _hand(message, id, lane, limited);
    }

    /// @notice Hands a proven, never seen message to its recipient, or records it refused (a
    /// forbidden recipient), or leaves it undelivered (`RateLimited`).
    function _hand(bytes calldata message, bytes32 id, Lane storage lane, bool limited) private {
        uint256 raw = uint256(message.recipient());
        address recipient = address(uint160(raw));
        if (raw >> 160 != 0 || isForbiddenRecipient(recipient)) {
            _status[id] = STATUS_REFUSED;
            emit DeliveryRefused(id, message.origin(), message.nonce(), bytes32(raw));
            return;
        }
        if (limited && !_admit(lane)) {
            emit RateLimited(id, message.origin(), message.nonce());
            return;
        }
        // Effects before the interaction: a re-entrant delivery of the same id sees it delivered.
        _status[id] = STATUS_DELIVERED;
        _requireGas();
        _call(id, message, recipient, HANDLE_GAS);
    }

    /// @notice The recipient as an EVM address; reverts `ForbiddenRecipient` for a privileged
    /// target or a 32-byte identity that is not a left-padded address.
    function _recipient(bytes calldata message) private view returns (address recipient) {
        uint256 raw = uint256(message.recipient());
        recipient = address(uint160(raw));
        if (raw >> 160 != 0 || isForbiddenRecipient(recipient)) revert ForbiddenRecipient(recipient);
    }

    /// @notice Reverts the whole transaction unless the recipient can get `HANDLE_GAS` in full
    /// (EIP-150 passes at most 63/64 of what is left) with `GAS_RESERVE` to spare.
    function _requireGas() private view {
        uint256 required = HANDLE_GAS + HANDLE_GAS / 63 + GAS_RESERVE;
        uint256 available = gasleft();
        if (available < required) revert InsufficientGas(available, required);
    }

    /// @notice Calls `handle` with `gasLimit` gas; records a revert (or a recipient without code)
    /// as a retryable failure. The status was already set to delivered by the caller.
    function _call(bytes32 id, bytes calldata message, address recipient, uint256 gasLimit) private {
        uint32 origin = message.origin();
        uint64 nonce = message.nonce();
        bool ok = false;
        bytes memory reason;
        if (recipient.code.length == 0) {
            reason = abi.encodeWithSignature("Error(string)", "recipient has no code");
        } else {
            bytes memory data =
                abi.encodeCall(IMessageRecipient.handle, (origin, message.sender(), message.body()));
            assembly ("memory-safe") {
                ok := call(gasLimit, recipient, 0, add(data, 0x20), mload(data), 0, 0)
                if iszero(ok) {
                    let size := returndatasize()
                    if gt(size, MAX_REASON_LEN) { size := MAX_REASON_LEN }
                    reason := mload(0x40)
                    mstore(reason, size)
                    returndatacopy(add(reason, 0x20), 0, size)
                    mstore(0x40, add(add(reason, 0x20), and(add(size, 31), not(31))))
                }
            }
        }
        if (ok) {
            emit Delivered(id, origin, nonce);
        } else {
            _status[id] = STATUS_FAILED;
            emit DeliveryFailed(id, origin, nonce, reason);
        }
    }
}
