// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// Custom errors shared by Causeway's contracts. The names and arguments are fixed by issue 3 and
// mirror `causeway_proofs::Error` so that a relayer can report the same reason off chain and on
// chain. Each reverts the whole transaction: nothing is delivered, no state changes.

/// A checkpoint with an all-zero root (the Nomad failure: a default value treated as proven).
error ZeroRoot();
/// The checkpoint's origin is not the message's origin.
error WrongDomain(uint32 expected, uint32 actual);
/// The message is addressed to another destination domain than this contract's.
error WrongDestination(uint32 expected, uint32 actual);
/// A signature recovers to an address outside the stored validator set of the origin.
error UnknownValidator(address signer);
/// The same validator signed twice (repeated bytes, a second nonce or a malleated twin).
error DuplicateSigner(address signer);
/// Signers must be strictly ascending by address; the signature at `position` is not.
error SignersNotAscending(uint256 position);
/// The signature at `position` has s > secp256k1n / 2 (EIP-2 malleability).
error HighS(uint256 position);
/// The signature at `position` is not 65 bytes, has r or s zero or out of range, v not in
/// {27, 28}, or recovers to no address.
error InvalidSignature(uint256 position);
/// Fewer valid distinct validator signatures than the stored threshold.
error BelowThreshold(uint256 valid, uint256 threshold);
/// An RFC 9162 inclusion proof that does not lead to the checkpoint's root (or is malformed).
error InvalidProof();
/// The message id was already delivered (or recorded as failed; use `retry`).
error AlreadyDelivered(bytes32 id);
/// The message targets a privileged address: the Inbox itself, its admin or a denied target.
error ForbiddenRecipient(address recipient);
/// Deliveries from this origin are paused by the admin.
error Paused(uint32 origin);
/// Only the configured admin may call this function.
error NotAdmin();
/// A validator set that would be unsafe: empty, a zero or repeated address, unsorted, or a
/// threshold that is zero, above the set size or not a strict majority.
error InvalidValidatorSet(string reason);
/// Message format version other than 1.
error UnsupportedVersion(uint8 version);
/// Checkpoint hash algorithm other than SHA-256 (id 1), the only one verified on chain.
error UnsupportedHash(uint8 hashAlgorithm);
/// The new checkpoint does not extend the anchored one (RFC 9162 consistency proof fails).
error InconsistentCheckpoint();
/// The new checkpoint's log is smaller than the anchored one (no root regression).
error StaleCheckpoint(uint64 last, uint64 got);
/// `retry` of a message that is not recorded as failed.
error NotFailed(bytes32 id);
/// Fewer bytes than the 81-byte message header.
error MessageTooShort();
/// A body over 65 536 bytes.
error BodyTooLarge();

// Errors added by the contracts beyond the fixed list.

/// No validator set was ever configured for this origin (a default, empty set never verifies).
error UnknownOrigin(uint32 origin);
/// The transaction does not carry enough gas to call the recipient with its full gas budget:
/// a relayer could otherwise make a recipient fail on purpose (EIP-150 63/64 griefing).
error InsufficientGas(uint256 available, uint256 required);
/// The admin of a contract cannot be the zero address.
error ZeroAdmin();
/// `Outbox.dispatchAt`: the Outbox's next nonce is `actual`, not the `expected` one the message
/// was sealed for (another dispatch took it first). Read the nonce again, seal again, retry.
error NonceTaken(uint64 expected, uint64 actual);

// Validator-set governance, pausing and rate limits (issue 9).

/// The origin already has a validator set: only its current validators (a threshold of their
/// signatures, after the change delay) may change it, never the admin alone.
error AlreadyConfigured(uint32 origin);
/// A validator-set change is already pending for this origin (cancel or apply it first).
error ChangePending(uint32 origin, uint64 epoch);
/// No validator-set change is pending for this origin.
error NoPendingChange(uint32 origin);
/// The pending change may not be applied before `executableAt` (a unix time in seconds).
error ChangeNotReady(uint64 executableAt, uint64 now_);
/// A proposed change must name the next unused epoch of its origin.
error WrongEpoch(uint64 expected, uint64 actual);
/// Only a current validator of the origin (or the admin) may pause it.
error NotValidator(address account);
/// `unpause` of an origin that is not paused.
error NotPaused(uint32 origin);
/// A signed checkpoint whose root differs from the root already accepted for the same origin and
/// log size: the signing threshold has equivocated, and both roots are the evidence.
error ConflictingCheckpoint(uint32 origin, uint64 size, bytes32 known, bytes32 offered);
/// A rate limit needs both a message count and a window (or neither, to remove it).
error InvalidRateLimit();
