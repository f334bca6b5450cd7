// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Checkpoint} from "./Types.sol";
import {
    AlreadyConfigured,
    BelowThreshold,
    ChangeNotReady,
    ChangePending,
    DuplicateSigner,
    HighS,
    InvalidSignature,
    InvalidValidatorSet,
    NoPendingChange,
    NotAdmin,
    SignersNotAscending,
    UnknownOrigin,
    UnknownValidator,
    UnsupportedHash,
    WrongEpoch,
    ZeroAdmin,
    ZeroRoot
} from "./Errors.sol";

/// @title ValidatorRegistry
/// @notice Per-origin validator sets (m-of-n, strict majority) and the checkpoint check shared by
/// the Inbox and the Anchor: the EIP-712-style digest of docs/wire-format.md recomputed from
/// stored state and the running chain, then ecrecover over distinct, ascending, low-s validator
/// signatures.
/// @dev Governance (no single key changes a set, Ronin's lesson): the admin installs the FIRST
/// set of an origin (`setValidators`, bootstrap) and nothing after. A later set is proposed with
/// a threshold of the current set's signatures over a governance digest (`proposeValidatorSet`),
/// stays pending for `changeDelay` seconds while the current set still rules, may be cancelled
/// in that time by the same threshold (`cancelValidatorSetChange`), and is then installed by
/// anyone (`applyValidatorSetChange`). Every step emits an event that gateways watch.
/// Security: nothing about a signing domain comes from the caller. `block.chainid` and
/// `address(this)` are read at run time (a fork or a second deployment gets other digests), the
/// origin chain id and epoch come from storage, and each epoch has its own membership map, so a
/// validator removed by a change stops counting at once. Governance digests use their own domain
/// type (`CausewayGovernance`) and struct types, so no checkpoint signature is ever one of them.
abstract contract ValidatorRegistry {
    /// secp256k1 group order / 2: the largest s accepted (EIP-2).
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// secp256k1 group order n.
    uint256 internal constant ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
    /// The largest validator set (signers are tracked in a 256-bit bitmap; threshold is uint8).
    uint256 public constant MAX_VALIDATORS = 255;
    /// Checkpoints of SHA-256 logs (`HashAlgorithm::Sha256.id()`): verified by every contract.
    uint8 public constant SHA256 = 1;
    /// Checkpoints of Keccak-256 logs (`HashAlgorithm::Keccak256.id()`): verified by the Inbox
    /// (its inclusion proofs hash with the KECCAK256 opcode), not by the Anchor.
    uint8 public constant KECCAK256 = 2;
    /// The checkpoint format version that is signed.
    uint8 public constant CHECKPOINT_VERSION = 1;

    /// keccak256 of the EIP-712 type string of the domain separator.
    bytes32 public constant DOMAIN_TYPEHASH = keccak256(
        "CausewayDomain(string name,string version,uint32 originDomain,uint256 originChainId,uint32 destinationDomain,uint256 destinationChainId,bytes32 inbox,uint64 validatorEpoch)"
    );
    /// keccak256 of the EIP-712 type string of a checkpoint.
    bytes32 public constant CHECKPOINT_TYPEHASH =
        keccak256("Checkpoint(uint8 version,uint32 originDomain,uint8 hashAlgorithm,uint64 logSize,bytes32 root)");
    /// keccak256 of the EIP-712 type string of the governance domain separator: the current set
    /// of `originDomain` (its chain id and epoch) acting on the contract `verifier` of `chainId`.
    bytes32 public constant GOVERNANCE_DOMAIN_TYPEHASH = keccak256(
        "CausewayGovernance(string name,string version,uint32 originDomain,uint256 originChainId,uint256 chainId,bytes32 verifier,uint64 validatorEpoch)"
    );
    /// keccak256 of the EIP-712 type string of a validator-set change.
    bytes32 public constant VALIDATOR_SET_CHANGE_TYPEHASH = keccak256(
        "ValidatorSetChange(uint32 originDomain,uint64 originChainId,address[] validators,uint8 threshold,uint64 epoch)"
    );
    /// keccak256 of the EIP-712 type string of the cancellation of a pending change.
    bytes32 public constant CANCEL_CHANGE_TYPEHASH =
        keccak256("CancelValidatorSetChange(uint32 originDomain,uint64 epoch,bytes32 change)");
    bytes32 internal constant NAME_HASH = keccak256("Causeway");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    /// One origin's validator set.
    struct ValidatorSetData {
        address[] validators;
        uint8 threshold;
        uint64 epoch;
        uint64 originChainId;
        /// Lane state a derived contract keeps here because every checkpoint verification reads
        /// this slot anyway (the Inbox: paused, rate limited; one cold read less per batch).
        /// Never written by the registry: installing a set keeps it.
        uint8 laneFlags;
    }

    /// A proposed set of one origin, waiting for its delay (`epoch` 0: none pending).
    struct PendingChange {
        address[] validators;
        uint8 threshold;
        uint64 epoch;
        uint64 originChainId;
        uint64 executableAt;
        bytes32 changeHash;
    }

    /// The only account allowed to install an origin's first validator set (and, in the Inbox,
    /// to deny recipients, set rate limits and pause).
    address public immutable admin;
    /// Seconds between a proposed validator-set change and the earliest time it can be applied
    /// (seconds on a devnet; a day or more in production, so gateways can react).
    uint64 public immutable changeDelay;

    mapping(uint32 origin => ValidatorSetData) internal _sets;
    /// 1-based position of a validator in the set of (origin, epoch); 0 = not a member.
    mapping(uint32 origin => mapping(uint64 epoch => mapping(address validator => uint256))) internal _slot;
    mapping(uint32 origin => PendingChange) private _pending;
    /// The highest epoch installed or proposed (cancelled proposals burn their epoch, so their
    /// signatures can never be submitted again).
    mapping(uint32 origin => uint64) private _lastEpoch;

    /// A new validator set for `origin` takes effect from `epoch` on.
    event ValidatorSetChanged(uint32 indexed origin, uint64 epoch, address[] validators, uint8 threshold);
    /// The current set of `origin` signed a change to a new set; it can be applied from
    /// `executableAt` on (unless cancelled).
    event ValidatorSetChangeProposed(
        uint32 indexed origin,
        uint64 epoch,
        uint64 originChainId,
        address[] validators,
        uint8 threshold,
        uint64 executableAt
    );
    /// The pending change to `epoch` was cancelled by the current set; it never applies.
    event ValidatorSetChangeCancelled(uint32 indexed origin, uint64 epoch);
    /// The pending change to `epoch` was applied (a `ValidatorSetChanged` follows).
    event ValidatorSetChangeApplied(uint32 indexed origin, uint64 epoch);

    /// @param admin_ The account that may install first validator sets; never zero.
    /// @param changeDelay_ Seconds a validator-set change stays pending before it can apply.
    constructor(address admin_, uint64 changeDelay_) {
        if (admin_ == address(0)) revert ZeroAdmin();
        admin = admin_;
        changeDelay = changeDelay_;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    /// @notice Installs the first validator set of `origin` (admin only, once: `AlreadyConfigured`
    /// after that) at epoch 1. Later sets need the current set's threshold (`proposeValidatorSet`).
    /// @param origin The origin domain whose checkpoints the set signs.
    /// @param originChainId The origin chain's chain id, part of the signing domain (never 0).
    /// @param validators Strictly ascending, non-zero addresses, at most 255.
    /// @param threshold Distinct signatures required: 1 <= threshold <= n and 2 * threshold > n.
    function setValidators(uint32 origin, uint64 originChainId, address[] calldata validators, uint8 threshold)
        external
        onlyAdmin
    {
        _checkSet(originChainId, validators, threshold);
        if (_sets[origin].threshold != 0) revert AlreadyConfigured(origin);
        _install(origin, 1, originChainId, validators, threshold);
    }

    /// @notice Proposes the validator set of `origin` for `epoch` (the next unused epoch, see
    /// `nextEpoch`), signed by a threshold of its current set over `validatorSetChangeDigest`.
    /// Anyone may submit it; it can be applied after `changeDelay` seconds.
    function proposeValidatorSet(
        uint32 origin,
        uint64 originChainId,
        address[] calldata validators,
        uint8 threshold,
        uint64 epoch,
        bytes[] calldata signatures
    ) external {
        _checkSet(originChainId, validators, threshold);
        ValidatorSetData storage set = _sets[origin];
        if (set.threshold == 0) revert UnknownOrigin(origin);
        PendingChange storage pending = _pending[origin];
        if (pending.epoch != 0) revert ChangePending(origin, pending.epoch);
        uint64 expected = nextEpoch(origin);
        if (epoch != expected) revert WrongEpoch(expected, epoch);
        bytes32 change = _changeHash(origin, originChainId, validators, threshold, epoch);
        _verifyQuorum(origin, _governanceDigest(origin, change), signatures);
        uint64 executableAt = uint64(block.timestamp) + changeDelay;
        pending.validators = validators;
        pending.threshold = threshold;
        pending.epoch = epoch;
        pending.originChainId = originChainId;
        pending.executableAt = executableAt;
        pending.changeHash = change;
        _lastEpoch[origin] = epoch;
        emit ValidatorSetChangeProposed(origin, epoch, originChainId, validators, threshold, executableAt);
    }

    /// @notice Cancels the pending change of `origin`, signed by a threshold of the current set
    /// over `cancelDigest(origin)`. Its epoch stays burnt: the proposal can never come back.
    function cancelValidatorSetChange(uint32 origin, bytes[] calldata signatures) external {
        PendingChange storage pending = _pending[origin];
        uint64 epoch = pending.epoch;
        if (epoch == 0) revert NoPendingChange(origin);
        _verifyQuorum(origin, _cancelDigest(origin, epoch, pending.changeHash), signatures);
        delete _pending[origin];
        emit ValidatorSetChangeCancelled(origin, epoch);
    }

    /// @notice Installs the pending change of `origin` once its delay has passed (anyone).
    function applyValidatorSetChange(uint32 origin) external {
        PendingChange storage pending = _pending[origin];
        uint64 epoch = pending.epoch;
        if (epoch == 0) revert NoPendingChange(origin);
        if (block.timestamp < pending.executableAt) {
            revert ChangeNotReady(pending.executableAt, uint64(block.timestamp));
        }
        address[] memory validators = pending.validators;
        uint8 threshold = pending.threshold;
        uint64 originChainId = pending.originChainId;
        delete _pending[origin];
        emit ValidatorSetChangeApplied(origin, epoch);
        _install(origin, epoch, originChainId, validators, threshold);
    }

    /// @notice The pending change of `origin` (all zero if none).
    function pendingValidatorSet(uint32 origin)
        external
        view
        returns (
            address[] memory validators,
            uint8 threshold,
            uint64 epoch,
            uint64 originChainId,
            uint64 executableAt
        )
    {
        PendingChange storage p = _pending[origin];
        return (p.validators, p.threshold, p.epoch, p.originChainId, p.executableAt);
    }

    /// @notice The epoch the next proposal for `origin` must name.
    function nextEpoch(uint32 origin) public view returns (uint64) {
        uint64 current = _sets[origin].epoch;
        uint64 last = _lastEpoch[origin];
        return (last > current ? last : current) + 1;
    }

    /// @notice The digest the current set of `origin` signs to propose a change (a debugging aid
    /// for gateways; `proposeValidatorSet` recomputes it).
    function validatorSetChangeDigest(
        uint32 origin,
        uint64 originChainId,
        address[] calldata validators,
        uint8 threshold,
        uint64 epoch
    ) external view returns (bytes32) {
        return _governanceDigest(origin, _changeHash(origin, originChainId, validators, threshold, epoch));
    }

    /// @notice The digest the current set of `origin` signs to cancel its pending change.
    function cancelDigest(uint32 origin) external view returns (bytes32) {
        PendingChange storage pending = _pending[origin];
        if (pending.epoch == 0) revert NoPendingChange(origin);
        return _cancelDigest(origin, pending.epoch, pending.changeHash);
    }

    /// @notice Reverts `InvalidValidatorSet` unless the set is safe: non-empty, at most 255,
    /// non-zero strictly ascending members, a strict-majority threshold, a non-zero chain id.
    function _checkSet(uint64 originChainId, address[] calldata validators, uint8 threshold) private pure {
        uint256 n = validators.length;
        if (n == 0) revert InvalidValidatorSet("empty validator set");
        if (n > MAX_VALIDATORS) revert InvalidValidatorSet("more than 255 validators");
        if (originChainId == 0) revert InvalidValidatorSet("zero origin chain id");
        if (threshold == 0) revert InvalidValidatorSet("zero threshold");
        if (threshold > n) revert InvalidValidatorSet("threshold above validator count");
        if (2 * uint256(threshold) <= n) revert InvalidValidatorSet("threshold is not a strict majority");
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            address v = validators[i];
            if (v == address(0)) revert InvalidValidatorSet("zero address validator");
            if (v == previous) revert InvalidValidatorSet("duplicate validator");
            if (v < previous) revert InvalidValidatorSet("validators not strictly ascending");
            previous = v;
        }
    }

    /// @notice Makes a checked set the current one of `origin` at `epoch`.
    function _install(
        uint32 origin,
        uint64 epoch,
        uint64 originChainId,
        address[] memory validators,
        uint8 threshold
    ) private {
        mapping(address => uint256) storage slotOf = _slot[origin][epoch];
        for (uint256 i = 0; i < validators.length; ++i) {
            slotOf[validators[i]] = i + 1;
        }
        ValidatorSetData storage set = _sets[origin];
        set.validators = validators;
        set.threshold = threshold;
        set.epoch = epoch;
        set.originChainId = originChainId;
        emit ValidatorSetChanged(origin, epoch, validators, threshold);
    }

    /// @notice The EIP-712 struct hash of a validator-set change.
    function _changeHash(
        uint32 origin,
        uint64 originChainId,
        address[] calldata validators,
        uint8 threshold,
        uint64 epoch
    ) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                VALIDATOR_SET_CHANGE_TYPEHASH,
                origin,
                originChainId,
                keccak256(abi.encodePacked(validators)),
                threshold,
                epoch
            )
        );
    }

    /// @notice The cancel digest of the pending change `change` to `epoch`.
    function _cancelDigest(uint32 origin, uint64 epoch, bytes32 change) private view returns (bytes32) {
        return _governanceDigest(origin, keccak256(abi.encode(CANCEL_CHANGE_TYPEHASH, origin, epoch, change)));
    }

    /// @notice `keccak256(0x19 ‖ 0x01 ‖ governanceSeparator ‖ structHash)` under the current set
    /// of `origin` (its stored chain id and epoch), this chain and this contract.
    function _governanceDigest(uint32 origin, bytes32 structHash) internal view returns (bytes32) {
        ValidatorSetData storage set = _sets[origin];
        bytes32 separator = keccak256(
            abi.encode(
                GOVERNANCE_DOMAIN_TYPEHASH,
                NAME_HASH,
                VERSION_HASH,
                origin,
                set.originChainId,
                block.chainid,
                bytes32(uint256(uint160(address(this)))),
                set.epoch
            )
        );
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    /// @notice The current validator set of `origin` (empty, 0, 0, 0 if never configured).
    function validatorSet(uint32 origin)
        external
        view
        returns (address[] memory validators, uint8 threshold, uint64 epoch, uint64 originChainId)
    {
        ValidatorSetData storage set = _sets[origin];
        return (set.validators, set.threshold, set.epoch, set.originChainId);
    }

    /// @notice The digest validators must sign for `cp` on this contract, now (current epoch,
    /// this chain, this address). A debugging aid for relayers; verification recomputes it.
    function checkpointDigest(Checkpoint calldata cp) external view returns (bytes32) {
        ValidatorSetData storage set = _sets[cp.origin];
        return _digest(cp, set.originChainId, set.epoch);
    }

    /// @notice The destination domain in this contract's signing domain (0 for the Anchor).
    function _signingDestination() internal view virtual returns (uint32);

    /// @notice Whether this contract verifies proofs of logs hashed with `hashAlgorithm` (the
    /// checkpoint's signed `hashAlgorithm`; anything else reverts `UnsupportedHash`).
    function _supportsHash(uint8 hashAlgorithm) internal pure virtual returns (bool);

    /// @notice `keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash)` (docs/wire-format.md).
    function _digest(Checkpoint calldata cp, uint64 originChainId, uint64 epoch)
        internal
        view
        returns (bytes32 digest)
    {
        // The same words `abi.encode` would lay out (every field a full word), hashed in scratch
        // memory above the free memory pointer: the checkpoint digest of every delivery.
        bytes32[3] memory constants = [DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH];
        bytes32 checkpointTypehash = CHECKPOINT_TYPEHASH;
        uint256 version = CHECKPOINT_VERSION;
        uint256 originDomain = cp.origin;
        uint256 destination = _signingDestination();
        uint256 hashAlgorithm = cp.hashAlgorithm;
        uint256 size = cp.size;
        bytes32 root = cp.root;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, mload(constants))
            mstore(add(p, 0x20), mload(add(constants, 0x20)))
            mstore(add(p, 0x40), mload(add(constants, 0x40)))
            mstore(add(p, 0x60), originDomain)
            // Narrow values on the stack may carry dirty high bits: clean the two uint64s.
            mstore(add(p, 0x80), and(originChainId, 0xffffffffffffffff))
            mstore(add(p, 0xa0), destination)
            mstore(add(p, 0xc0), chainid())
            mstore(add(p, 0xe0), address())
            mstore(add(p, 0x100), and(epoch, 0xffffffffffffffff))
            let separator := keccak256(p, 0x120)
            mstore(p, checkpointTypehash)
            mstore(add(p, 0x20), version)
            mstore(add(p, 0x40), originDomain)
            mstore(add(p, 0x60), hashAlgorithm)
            mstore(add(p, 0x80), size)
            mstore(add(p, 0xa0), root)
            let structHash := keccak256(p, 0xc0)
            mstore(p, 0x1901)
            mstore(add(p, 0x20), separator)
            mstore(add(p, 0x40), structHash)
            digest := keccak256(add(p, 30), 66)
        }
    }

    /// @notice Reverts unless `cp` is a checkpoint of a log hash this contract verifies
    /// (`_supportsHash`) with a non-zero root signed by at
    /// least `threshold` distinct validators of its origin's current set.
    /// @dev Per signature, in the order of Rust's `verify_attestations`: canonical form (65 bytes,
    /// 0 < r, s < n, then s <= n/2, then v in {27, 28}), ecrecover != 0, membership, not seen
    /// before (bitmap of set positions), strictly above the previous signer. Any failure fails
    /// the whole call. Ascending order bounds the work to n + 1 recoveries.
    function _verifyCheckpoint(Checkpoint calldata cp, bytes[] calldata signatures) internal view {
        _verifyQuorum(cp.origin, _checkedDigest(cp), signatures);
    }

    /// @notice `_verifyCheckpoint` with the signatures packed back to back (65 bytes each) in
    /// one `bytes` value: the same checks in the same order.
    function _verifyCheckpointPacked(Checkpoint calldata cp, bytes calldata signatures) internal view {
        _verifyQuorumPacked(cp.origin, _checkedDigest(cp), signatures);
    }

    /// @notice The digest of `cp` after its hash, root and origin checks.
    function _checkedDigest(Checkpoint calldata cp) private view returns (bytes32) {
        if (!_supportsHash(cp.hashAlgorithm)) revert UnsupportedHash(cp.hashAlgorithm);
        if (cp.root == bytes32(0)) revert ZeroRoot();
        ValidatorSetData storage set = _sets[cp.origin];
        if (set.threshold == 0) revert UnknownOrigin(cp.origin);
        return _digest(cp, set.originChainId, set.epoch);
    }

    /// @notice Reverts unless `signatures` over `digest` come from at least the threshold of
    /// distinct validators of the current set of `origin` (checkpoint and governance rules alike).
    function _verifyQuorum(uint32 origin, bytes32 digest, bytes[] calldata signatures) internal view {
        (mapping(address => uint256) storage slotOf, uint256 threshold) = _quorum(origin);
        uint256 seen = 0;
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            (seen, previous) = _countSigner(slotOf, _recover(digest, signatures[i], i), i, seen, previous);
        }
        if (signatures.length < threshold) revert BelowThreshold(signatures.length, threshold);
    }

    /// @notice `_verifyQuorum` over signatures packed back to back, 65 bytes each; trailing
    /// bytes that are not a whole signature are an `InvalidSignature` at their position, checked
    /// after the whole ones (as a short signature of the list form would be at its turn).
    function _verifyQuorumPacked(uint32 origin, bytes32 digest, bytes calldata signatures) internal view {
        (mapping(address => uint256) storage slotOf, uint256 threshold) = _quorum(origin);
        uint256 count = signatures.length / 65;
        uint256 seen = 0;
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            bytes calldata sig = signatures[i * 65:i * 65 + 65];
            (seen, previous) = _countSigner(slotOf, _recover(digest, sig, i), i, seen, previous);
        }
        if (signatures.length != count * 65) revert InvalidSignature(count);
        if (count < threshold) revert BelowThreshold(count, threshold);
    }

    /// @notice The membership map and threshold of the current set of `origin`.
    function _quorum(uint32 origin)
        private
        view
        returns (mapping(address => uint256) storage slotOf, uint256 threshold)
    {
        ValidatorSetData storage set = _sets[origin];
        threshold = set.threshold;
        if (threshold == 0) revert UnknownOrigin(origin);
        slotOf = _slot[origin][set.epoch];
    }

    /// @notice Counts `signer` (the one at `position`): a member, not seen before (bitmap of set
    /// positions), strictly above the previous signer.
    function _countSigner(
        mapping(address => uint256) storage slotOf,
        address signer,
        uint256 position,
        uint256 seen,
        address previous
    ) private view returns (uint256, address) {
        uint256 slot = slotOf[signer];
        if (slot == 0) revert UnknownValidator(signer);
        uint256 bit = 1 << (slot - 1);
        if (seen & bit != 0) revert DuplicateSigner(signer);
        if (signer <= previous) revert SignersNotAscending(position);
        return (seen | bit, signer);
    }

    /// @notice Whether `account` is a member of the current set of `origin`.
    function _isValidator(uint32 origin, address account) internal view returns (bool) {
        return _slot[origin][_sets[origin].epoch][account] != 0;
    }

    /// @notice The signer of `digest` under a canonical 65-byte r ‖ s ‖ v signature.
    function _recover(bytes32 digest, bytes calldata sig, uint256 position) private view returns (address signer) {
        if (sig.length != 65) revert InvalidSignature(position);
        uint256 r;
        uint256 s;
        uint256 v;
        assembly ("memory-safe") {
            r := calldataload(sig.offset)
            s := calldataload(add(sig.offset, 0x20))
            v := byte(0, calldataload(add(sig.offset, 0x40)))
        }
        if (r == 0 || r >= ORDER || s == 0 || s >= ORDER) revert InvalidSignature(position);
        if (s > HALF_ORDER) revert HighS(position);
        if (v != 27 && v != 28) revert InvalidSignature(position);
        assembly ("memory-safe") {
            // ecrecover(digest, v, r, s) in scratch memory above the free memory pointer.
            let p := mload(0x40)
            mstore(p, digest)
            mstore(add(p, 0x20), v)
            mstore(add(p, 0x40), r)
            mstore(add(p, 0x60), s)
            mstore(0x00, 0)
            if iszero(staticcall(gas(), 0x01, p, 0x80, 0x00, 0x20)) { revert(0, 0) }
            signer := mload(0x00)
        }
        if (signer == address(0)) revert InvalidSignature(position);
    }
}
