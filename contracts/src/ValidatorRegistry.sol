// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Checkpoint} from "./Types.sol";
import {
    BelowThreshold,
    DuplicateSigner,
    HighS,
    InvalidSignature,
    InvalidValidatorSet,
    NotAdmin,
    SignersNotAscending,
    UnknownOrigin,
    UnknownValidator,
    UnsupportedHash,
    ZeroAdmin,
    ZeroRoot
} from "./Errors.sol";

/// @title ValidatorRegistry
/// @notice Per-origin validator sets (m-of-n, strict majority) changed only by the admin, and the
/// checkpoint check shared by the Inbox and the Anchor: the EIP-712-style digest of
/// docs/wire-format.md recomputed from stored state and the running chain, then ecrecover over
/// distinct, ascending, low-s validator signatures.
/// @dev Security: nothing about the signing domain comes from the caller. `block.chainid` and
/// `address(this)` are read at run time (a fork or a second deployment gets other digests), the
/// origin chain id and epoch come from storage, and each epoch has its own membership map, so a
/// validator removed by `setValidators` stops counting at once.
abstract contract ValidatorRegistry {
    /// secp256k1 group order / 2: the largest s accepted (EIP-2).
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// secp256k1 group order n.
    uint256 internal constant ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
    /// The largest validator set (signers are tracked in a 256-bit bitmap; threshold is uint8).
    uint256 public constant MAX_VALIDATORS = 255;
    /// The only hash algorithm verified on chain: SHA-256 (`HashAlgorithm::Sha256.id()`).
    uint8 public constant SHA256 = 1;
    /// The checkpoint format version that is signed.
    uint8 public constant CHECKPOINT_VERSION = 1;

    /// keccak256 of the EIP-712 type string of the domain separator.
    bytes32 public constant DOMAIN_TYPEHASH = keccak256(
        "CausewayDomain(string name,string version,uint32 originDomain,uint256 originChainId,uint32 destinationDomain,uint256 destinationChainId,bytes32 inbox,uint64 validatorEpoch)"
    );
    /// keccak256 of the EIP-712 type string of a checkpoint.
    bytes32 public constant CHECKPOINT_TYPEHASH =
        keccak256("Checkpoint(uint8 version,uint32 originDomain,uint8 hashAlgorithm,uint64 logSize,bytes32 root)");
    bytes32 internal constant NAME_HASH = keccak256("Causeway");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    /// One origin's validator set.
    struct ValidatorSetData {
        address[] validators;
        uint8 threshold;
        uint64 epoch;
        uint64 originChainId;
    }

    /// The only account allowed to change validator sets (and, in the Inbox, to pause).
    address public immutable admin;

    mapping(uint32 origin => ValidatorSetData) internal _sets;
    /// 1-based position of a validator in the set of (origin, epoch); 0 = not a member.
    mapping(uint32 origin => mapping(uint64 epoch => mapping(address validator => uint256))) internal _slot;

    /// A new validator set for `origin` takes effect from `epoch` on.
    event ValidatorSetChanged(uint32 indexed origin, uint64 epoch, address[] validators, uint8 threshold);

    /// @param admin_ The account that may change validator sets; never zero.
    constructor(address admin_) {
        if (admin_ == address(0)) revert ZeroAdmin();
        admin = admin_;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    /// @notice Replaces the validator set of `origin` (admin only) and bumps its epoch, so
    /// signatures made for the previous set stop verifying.
    /// @param origin The origin domain whose checkpoints the set signs.
    /// @param originChainId The origin chain's chain id, part of the signing domain (never 0).
    /// @param validators Strictly ascending, non-zero addresses, at most 255.
    /// @param threshold Distinct signatures required: 1 <= threshold <= n and 2 * threshold > n.
    function setValidators(uint32 origin, uint64 originChainId, address[] calldata validators, uint8 threshold)
        external
        onlyAdmin
    {
        uint256 n = validators.length;
        if (n == 0) revert InvalidValidatorSet("empty validator set");
        if (n > MAX_VALIDATORS) revert InvalidValidatorSet("more than 255 validators");
        if (originChainId == 0) revert InvalidValidatorSet("zero origin chain id");
        if (threshold == 0) revert InvalidValidatorSet("zero threshold");
        if (threshold > n) revert InvalidValidatorSet("threshold above validator count");
        if (2 * uint256(threshold) <= n) revert InvalidValidatorSet("threshold is not a strict majority");
        ValidatorSetData storage set = _sets[origin];
        uint64 epoch = set.epoch + 1;
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            address v = validators[i];
            if (v == address(0)) revert InvalidValidatorSet("zero address validator");
            if (v == previous) revert InvalidValidatorSet("duplicate validator");
            if (v < previous) revert InvalidValidatorSet("validators not strictly ascending");
            _slot[origin][epoch][v] = i + 1;
            previous = v;
        }
        set.validators = validators;
        set.threshold = threshold;
        set.epoch = epoch;
        set.originChainId = originChainId;
        emit ValidatorSetChanged(origin, epoch, validators, threshold);
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

    /// @notice `keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash)` (docs/wire-format.md).
    function _digest(Checkpoint calldata cp, uint64 originChainId, uint64 epoch) internal view returns (bytes32) {
        bytes32 separator = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                NAME_HASH,
                VERSION_HASH,
                cp.origin,
                originChainId,
                _signingDestination(),
                block.chainid,
                bytes32(uint256(uint160(address(this)))),
                epoch
            )
        );
        bytes32 structHash =
            keccak256(abi.encode(CHECKPOINT_TYPEHASH, CHECKPOINT_VERSION, cp.origin, cp.hashAlgorithm, cp.size, cp.root));
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    /// @notice Reverts unless `cp` is a SHA-256 checkpoint with a non-zero root signed by at
    /// least `threshold` distinct validators of its origin's current set.
    /// @dev Per signature, in the order of Rust's `verify_attestations`: canonical form (65 bytes,
    /// 0 < r, s < n, then s <= n/2, then v in {27, 28}), ecrecover != 0, membership, not seen
    /// before (bitmap of set positions), strictly above the previous signer. Any failure fails
    /// the whole call. Ascending order bounds the work to n + 1 recoveries.
    function _verifyCheckpoint(Checkpoint calldata cp, bytes[] calldata signatures) internal view {
        if (cp.hashAlgorithm != SHA256) revert UnsupportedHash(cp.hashAlgorithm);
        if (cp.root == bytes32(0)) revert ZeroRoot();
        ValidatorSetData storage set = _sets[cp.origin];
        uint256 threshold = set.threshold;
        if (threshold == 0) revert UnknownOrigin(cp.origin);
        uint64 epoch = set.epoch;
        bytes32 digest = _digest(cp, set.originChainId, epoch);
        mapping(address => uint256) storage slotOf = _slot[cp.origin][epoch];
        uint256 seen = 0;
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = _recover(digest, signatures[i], i);
            uint256 slot = slotOf[signer];
            if (slot == 0) revert UnknownValidator(signer);
            uint256 bit = 1 << (slot - 1);
            if (seen & bit != 0) revert DuplicateSigner(signer);
            if (signer <= previous) revert SignersNotAscending(i);
            seen |= bit;
            previous = signer;
        }
        if (signatures.length < threshold) revert BelowThreshold(signatures.length, threshold);
    }

    /// @notice The signer of `digest` under a canonical 65-byte r ‖ s ‖ v signature.
    function _recover(bytes32 digest, bytes calldata sig, uint256 position) private pure returns (address signer) {
        if (sig.length != 65) revert InvalidSignature(position);
        uint256 r = uint256(bytes32(sig[0:32]));
        uint256 s = uint256(bytes32(sig[32:64]));
        uint8 v = uint8(sig[64]);
        if (r == 0 || r >= ORDER || s == 0 || s >= ORDER) revert InvalidSignature(position);
        if (s > HALF_ORDER) revert HighS(position);
        if (v != 27 && v != 28) revert InvalidSignature(position);
        signer = ecrecover(digest, v, bytes32(r), bytes32(s));
        if (signer == address(0)) revert InvalidSignature(position);
    }
}
