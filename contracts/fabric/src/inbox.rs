//! The inbox chaincode `causeway_inbox`: the Fabric twin of `contracts/src/Inbox.sol`. A relayer
//! (anyone) calls `deliverBatch` with a [`FabricDeliveryBatch`]; the inbox makes exactly the
//! Solidity Inbox's checks, in its order, and refuses a bad batch as a whole with the Solidity
//! custom error's name (the chaincode error message is [`encode_revert`] of the
//! [`RevertReason`]):
//!
//! 0. the checkpoint's origin is not paused by the admin (`Paused(origin)`);
//! 1. the checkpoint (`_verifyCheckpoint`): SHA-256 log (`UnsupportedHash`), non-zero root
//!    (`ZeroRoot`), a validator set configured for its origin (`UnknownOrigin`), then per
//!    signature, in order: 65 bytes with r, s in range and v in {27, 28} (`InvalidSignature(i)`),
//!    low s (`HighS(i)`), a member of the set (`UnknownValidator`), not seen before
//!    (`DuplicateSigner`), strictly above the previous signer (`SignersNotAscending(i)`), and at
//!    least the threshold (`BelowThreshold`). The digest is recomputed from stored state and
//!    the running network: the [`inbox_signing_domain`] of this channel's configured chain id
//!    and chaincode name, the stored origin chain id and epoch; then the first root accepted for
//!    (origin, size) is kept and a different one refused with both roots
//!    (`ConflictingCheckpoint`);
//! 2. per message (`_deliver`): decodes (`MessageTooShort`, `UnsupportedVersion`,
//!    `BodyTooLarge`), origin is the checkpoint's (`WrongDomain`), destination is this network
//!    (`WrongDestination`), the RFC 9162 SHA-256 inclusion proof against the checkpoint's size
//!    and root (`InvalidProof`); any of these refuses the whole batch. One message never sinks
//!    the batch (issue 9): one recorded before, or earlier in this batch, is skipped and
//!    reported as recorded (delivered, failed or refused); one whose recipient is the inbox
//!    itself, its admin or a target the admin denied is recorded refused for good
//!    (`refused/<id>`, result `refused`, status `refused`; `retry` cannot change it);
//! 3. the recipient chaincode's `handle(origin, sender, body, id)`, with the message recorded
//!    delivered first (effects before the interaction, as `_deliver`: a re-entrant delivery of
//!    the same id sees it delivered, on the test peer whose reads see the transaction's own
//!    writes; a real peer's `GetState` does not, so there re-entrancy is only stopped by the
//!    recipients' caller check); one that fails (or is not installed) is recorded failed
//!    instead (`failed/<id>`, retryable with `retry`) and the batch goes on.
//!
//! A failed recipient's writes are **not** undone: Fabric merges what a chaincode called with
//! `InvokeChaincode` wrote into the transaction even when it returns an error (the test peer
//! does the same, see [`Stub::invoke_chaincode`]), where the EVM reverts the failed call's
//! storage. A recipient must therefore validate before it writes (the example recipient makes
//! every check before its first write), and authenticate the inbox as its caller (see
//! [`crate::recipient`]).
//!
//! No single key changes the validator set ([`governance`]): the admin installs an origin's
//! first set (`setValidators`, once), later sets need a threshold of the current set
//! (`changeValidators`). The admin's emergency controls are `Inbox.sol`'s: `setPaused(origin,
//! true)` pauses `deliverBatch` and `retry` for an origin (event `causeway.PauseChanged`, query
//! `paused`), lifted only by a threshold of the validators (`unpause(origin, signatures)`),
//! and `setForbiddenRecipient(target, true|false)` denies a recipient identity (event
//! `causeway.ForbiddenRecipientChanged`, query `isForbiddenRecipient`); anyone else gets
//! `NotAdmin`.
//!
//! Differences from the EVM, by nature of Fabric: no gas (no `InsufficientGas`), the recipient
//! is the installed chaincode whose `Address32::from_name("<channel>/<name>")` the message
//! names, and a failed recipient keeps its writes (above). The response payload and the
//! `causeway.Delivered` event carry the results ([`encode_results`]).

use std::collections::{BTreeMap, BTreeSet};

use causeway_proofs::{
    Address32, Checkpoint, Domain, Hash32, HashAlgorithm, InclusionProof, Message, MessageId,
    Signature, ValidatorSet, verify_attestations,
};

use crate::args::{expect_args, hex_digits, parse_decimal};
use crate::wire::{
    DeliveryResult, FabricDeliveryBatch, MessageOutcome, RevertReason, WireCheckpoint,
    encode_results, encode_revert, inbox_signing_domain,
};
use crate::{Chaincode, ChaincodeError, Response, Stub};
use controls::{is_forbidden, is_paused, require_allowed, require_not_paused};
use validators::{StoredSet, set_validators};

mod controls;
mod governance;
mod validators;

pub use crate::wire::INBOX_CHAINCODE;

/// The event `deliverBatch` and `retry` set, with the results as payload.
pub const DELIVERED_EVENT: &str = "causeway.Delivered";
/// The event `setValidators` sets, with the stored set as payload.
pub const VALIDATORS_SET_EVENT: &str = "causeway.ValidatorsSet";
/// The event `setPaused` sets (`Inbox.sol`'s `PauseChanged`), with
/// `{"origin": n, "paused": bool}` as payload.
pub const PAUSE_CHANGED_EVENT: &str = "causeway.PauseChanged";
/// The event `setForbiddenRecipient` sets (`Inbox.sol`'s `ForbiddenRecipientChanged`), with
/// `{"target": "0x..", "forbidden": bool}` as payload.
pub const FORBIDDEN_RECIPIENT_CHANGED_EVENT: &str = "causeway.ForbiddenRecipientChanged";
/// The largest validator set (as the Solidity registry's `MAX_VALIDATORS`).
pub const MAX_VALIDATORS: usize = 255;
/// Most bytes of a failed recipient's message kept as the failure reason.
pub const MAX_REASON_LEN: usize = 512;

/// The inbox chaincode. Its configuration (channel, domain, admin) is the network's
/// ([`crate::NetworkInfo`]); its name is the one it is installed under.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inbox;

impl Chaincode for Inbox {
    fn invoke(&self, stub: &mut dyn Stub, function: &str, args: &[Vec<u8>]) -> Response {
        match function {
            "deliverBatch" => {
                expect_args(function, args, 1)?;
                deliver_batch(stub, &args[0]).map_err(revert)
            }
            "retry" => {
                expect_args(function, args, 1)?;
                let bytes = parse_hex_arg(
                    "message",
                    &args[0],
                    causeway_proofs::message::MAX_MESSAGE_LEN + 32,
                )?;
                retry(stub, &bytes).map_err(revert)
            }
            "setValidators" => {
                expect_args(function, args, 4)?;
                set_validators(stub, args).map_err(revert)
            }
            "changeValidators" => {
                expect_args(function, args, 6)?;
                governance::change_validators(stub, args).map_err(revert)
            }
            "validatorSetChangeDigest" => {
                expect_args(function, args, 5)?;
                governance::change_digest_view(stub, args)
                    .map(|d| d.to_hex().into_bytes())
                    .map_err(revert)
            }
            "unpauseDigest" => {
                expect_args(function, args, 1)?;
                let origin = Domain(parse_decimal::<u32>("origin", &args[0])?);
                governance::unpause_digest_view(stub, origin)
                    .map(|d| d.to_hex().into_bytes())
                    .map_err(revert)
            }
            "unpause" => {
                expect_args(function, args, 2)?;
                controls::unpause(stub, args)
            }
            "setPaused" => {
                expect_args(function, args, 2)?;
                controls::set_paused(stub, args)
            }
            "paused" => {
                expect_args(function, args, 1)?;
                let origin = Domain(parse_decimal::<u32>("origin", &args[0])?);
                Ok(is_paused(stub, origin).to_string().into_bytes())
            }
            "setForbiddenRecipient" => {
                expect_args(function, args, 2)?;
                controls::set_forbidden_recipient(stub, args)
            }
            "isForbiddenRecipient" => {
                expect_args(function, args, 1)?;
                let target = controls::parse_target(&args[0])?;
                Ok(is_forbidden(stub, &target).to_string().into_bytes())
            }
            "getValidators" => {
                expect_args(function, args, 1)?;
                let origin = Domain(parse_decimal::<u32>("origin", &args[0])?);
                let set = StoredSet::load(stub, origin)?
                    .ok_or(RevertReason::UnknownOrigin { origin })
                    .map_err(revert)?;
                Ok(set.to_json(origin))
            }
            "isDelivered" => {
                expect_args(function, args, 1)?;
                let id = parse_id(&args[0])?;
                let delivered = status(stub, &id) == Status::Delivered;
                Ok(delivered.to_string().into_bytes())
            }
            "status" => {
                expect_args(function, args, 1)?;
                let id = parse_id(&args[0])?;
                Ok(status(stub, &id).name().as_bytes().to_vec())
            }
            other => Err(ChaincodeError(format!(
                "{INBOX_CHAINCODE} has no function {other:?} (deliverBatch, retry, setValidators, \
                 changeValidators, getValidators, setPaused, unpause, paused, setForbiddenRecipient, isForbiddenRecipient, \
                 isDelivered, status)"
            ))),
        }
    }
}

/// A refused call: the Solidity error's name for people, the reason's JSON for adapters.
fn revert(reason: RevertReason) -> ChaincodeError {
    ChaincodeError(encode_revert(&reason))
}

// ---- state ------------------------------------------------------------------------------------

/// A message's record, as `Inbox.status` has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    None,
    Delivered,
    Failed,
    Refused,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::None => "none",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Refused => "refused",
        }
    }
}

fn delivered_key(id: &MessageId) -> String {
    format!("delivered/{}", hex::encode(id.as_hash().0))
}

fn failed_key(id: &MessageId) -> String {
    format!("failed/{}", hex::encode(id.as_hash().0))
}

fn refused_key(id: &MessageId) -> String {
    format!("refused/{}", hex::encode(id.as_hash().0))
}

fn status(stub: &mut dyn Stub, id: &MessageId) -> Status {
    if stub.get_state(&delivered_key(id)).is_some() {
        Status::Delivered
    } else if stub.get_state(&failed_key(id)).is_some() {
        Status::Failed
    } else if stub.get_state(&refused_key(id)).is_some() {
        Status::Refused
    } else {
        Status::None
    }
}

// ---- deliverBatch -----------------------------------------------------------------------------

/// `deliverBatch(batch_json)`.
fn deliver_batch(stub: &mut dyn Stub, json: &[u8]) -> Result<Vec<u8>, RevertReason> {
    let batch = FabricDeliveryBatch::parse(json).map_err(|e| RevertReason::Message {
        message: e.to_string(),
    })?;
    require_not_paused(stub, batch.checkpoint.origin)?;
    let checkpoint = verify_checkpoint(stub, &batch)?;
    accept_root(stub, &checkpoint)?;
    let local = stub.network().domain;
    // The stub reads the transaction's own writes, but a set keeps the in-batch replay guard
    // independent of that.
    let mut seen = BTreeSet::new();
    let mut steps = Vec::with_capacity(batch.items.len());
    for item in &batch.items {
        let message = decode_message(&item.message.0)?;
        if message.origin() != checkpoint.origin() {
            return Err(RevertReason::WrongDomain {
                expected: checkpoint.origin(),
                actual: message.origin(),
            });
        }
        if message.destination() != local {
            return Err(RevertReason::WrongDestination {
                expected: local,
                actual: message.destination(),
            });
        }
        let id = message.id();
        if !seen.insert(id) || status(stub, &id) != Status::None {
            // Recorded before (or earlier in this batch): skipped, the batch goes on (issue 9).
            steps.push(Step::Skip(id));
            continue;
        }
        // As the Solidity Inbox: the proof's path at its index against the checkpoint's size
        // and root (the size the proof claims is not trusted).
        let proof = InclusionProof {
            index: item.proof.index,
            size: checkpoint.size(),
            path: item.proof.path.clone(),
        };
        if proof
            .verify(HashAlgorithm::Sha256, id.as_hash(), &checkpoint.root())
            .is_err()
        {
            return Err(RevertReason::InvalidProof);
        }
        if is_forbidden(stub, &message.recipient()) {
            steps.push(Step::Refuse(message));
        } else {
            steps.push(Step::Call(message));
        }
    }
    // Every check passed: now the effects, in the batch's order.
    let mut outcomes: BTreeMap<MessageId, Status> = BTreeMap::new();
    let mut results = Vec::with_capacity(steps.len());
    for step in steps {
        let result = match step {
            Step::Call(message) => {
                let result = call(stub, &message, false);
                let now = match result.outcome {
                    MessageOutcome::Delivered => Status::Delivered,
                    _ => Status::Failed,
                };
                outcomes.insert(result.id, now);
                result
            }
            Step::Refuse(message) => {
                let id = message.id();
                stub.put_state(&refused_key(&id), b"1".to_vec());
                outcomes.insert(id, Status::Refused);
                DeliveryResult {
                    id,
                    outcome: MessageOutcome::Refused {
                        reason: format!("forbidden recipient {}", message.recipient()),
                    },
                }
            }
            Step::Skip(id) => {
                // This batch's own record first: a real peer's GetState does not read the
                // transaction's own writes.
                let recorded = match outcomes.get(&id) {
                    Some(s) => *s,
                    None => status(stub, &id),
                };
                DeliveryResult {
                    id,
                    outcome: skipped_outcome(recorded),
                }
            }
        };
        results.push(result);
    }
    let payload = encode_results(&results);
    stub.set_event(DELIVERED_EVENT, payload.clone());
    Ok(payload)
}

fn root_key(origin: Domain, size: u64) -> String {
    format!("roots/{}/{size}", origin.0)
}

/// `_acceptRoot`: records the first verified root of (origin, size) (key `roots/<origin>/<size>`)
/// and refuses a different one with both roots (`ConflictingCheckpoint`): the threshold that
/// signed both has equivocated.
fn accept_root(stub: &mut dyn Stub, checkpoint: &Checkpoint) -> Result<(), RevertReason> {
    let key = root_key(checkpoint.origin(), checkpoint.size().0);
    let offered = checkpoint.root();
    match stub.get_state(&key) {
        None => {
            stub.put_state(&key, offered.0.to_vec());
            Ok(())
        }
        Some(known) if known.as_slice() == offered.0.as_slice() => Ok(()),
        Some(known) => Err(RevertReason::ConflictingCheckpoint {
            origin: checkpoint.origin(),
            size: checkpoint.size().0,
            known: Hash32(known.try_into().map_err(|_| RevertReason::Message {
                message: "stored root is not 32 bytes".to_owned(),
            })?),
            offered,
        }),
    }
}

/// What `deliverBatch` does with one checked message.
enum Step {
    /// Hand it to its recipient.
    Call(Message),
    /// Record it refused for good (a forbidden recipient).
    Refuse(Message),
    /// Recorded before: report it as recorded.
    Skip(MessageId),
}

/// The outcome reported for a message skipped because it was recorded before (`Inbox.sol`'s
/// `AlreadyDeliveredSkipped(id, status)`).
fn skipped_outcome(recorded: Status) -> MessageOutcome {
    match recorded {
        Status::Failed => MessageOutcome::Failed {
            reason: "recorded failed by an earlier transaction".into(),
        },
        Status::Refused => MessageOutcome::Refused {
            reason: "recorded refused by an earlier transaction".into(),
        },
        Status::Delivered | Status::None => MessageOutcome::Delivered,
    }
}

/// `_verifyCheckpoint`: returns the checkpoint once its signatures meet the threshold.
fn verify_checkpoint(
    stub: &mut dyn Stub,
    batch: &FabricDeliveryBatch,
) -> Result<Checkpoint, RevertReason> {
    let wire: &WireCheckpoint = &batch.checkpoint;
    if wire.hash_algorithm != HashAlgorithm::Sha256 {
        return Err(RevertReason::UnsupportedHash {
            hash_algorithm: wire.hash_algorithm.id(),
        });
    }
    if wire.root.is_zero() {
        return Err(RevertReason::ZeroRoot);
    }
    let checkpoint = wire.to_checkpoint().map_err(|e| RevertReason::Message {
        message: e.to_string(),
    })?;
    let origin = checkpoint.origin();
    let stored = StoredSet::load(stub, origin)
        .map_err(|e| RevertReason::Message { message: e.0 })?
        .ok_or(RevertReason::UnknownOrigin { origin })?;
    let domain = inbox_signing_domain(
        origin,
        stored.origin_chain_id,
        stub.network().domain,
        stub.network().chain_id,
        stub.channel(),
        stub.chaincode_name(),
        stored.epoch,
    );
    let digest = checkpoint.signing_digest(&domain);
    let signatures: Vec<&[u8]> = batch.signatures.iter().map(|s| s.0.as_slice()).collect();
    verify_signatures(&stored.set, &digest, &signatures)?;
    Ok(checkpoint)
}

/// The per-signature loop of `_verifyCheckpoint` over raw signature bytes, through
/// `causeway_proofs::verify_attestations` (same order of checks as the Solidity loop: canonical
/// form, low s, membership, distinct, ascending; then the threshold). A signature that is not
/// 65 bytes is `InvalidSignature` at its position, after the signatures before it were checked.
fn verify_signatures(
    set: &ValidatorSet,
    digest: &Hash32,
    signatures: &[&[u8]],
) -> Result<(), RevertReason> {
    let wrong_length = signatures.iter().position(|s| s.len() != 65);
    let well_formed: Vec<Signature> = signatures[..wrong_length.unwrap_or(signatures.len())]
        .iter()
        .map(|s| Signature::from_slice(s).expect("checked to be 65 bytes"))
        .collect();
    match (verify_attestations(set, digest, &well_formed), wrong_length) {
        (Ok(_) | Err(causeway_proofs::Error::BelowThreshold { .. }), Some(position)) => {
            Err(RevertReason::InvalidSignature {
                position: position as u64,
            })
        }
        (Ok(_), None) => Ok(()),
        (Err(e), _) => Err(attestation_reason(e)),
    }
}

/// The Solidity error of an attestation failure.
fn attestation_reason(error: causeway_proofs::Error) -> RevertReason {
    use causeway_proofs::Error as E;
    match error {
        E::UnknownValidator { address, .. } => RevertReason::UnknownValidator { signer: address },
        E::DuplicateSigner { address, .. } => RevertReason::DuplicateSigner { signer: address },
        E::SignersNotAscending { position } => RevertReason::SignersNotAscending {
            position: position as u64,
        },
        E::HighS { position } => RevertReason::HighS {
            position: position as u64,
        },
        E::MalformedSignature { position, .. } => RevertReason::InvalidSignature {
            position: position as u64,
        },
        E::BelowThreshold { valid, threshold } => RevertReason::BelowThreshold {
            valid: valid as u64,
            threshold: threshold as u64,
        },
        other => RevertReason::Message {
            message: other.to_string(),
        },
    }
}

/// `MessageCodec.check` and the accessors: the message, or the Solidity error of its bytes.
fn decode_message(bytes: &[u8]) -> Result<Message, RevertReason> {
    Message::decode(bytes).map_err(|e| match e {
        causeway_proofs::Error::MessageTooShort { .. } => RevertReason::MessageTooShort,
        causeway_proofs::Error::UnsupportedVersion { version, .. } => {
            RevertReason::UnsupportedVersion { version }
        }
        causeway_proofs::Error::BodyTooLarge { .. } => RevertReason::BodyTooLarge,
        other => RevertReason::Message {
            message: other.to_string(),
        },
    })
}

/// The inbox's own identity as a recipient: `Address32::from_name("<channel>/<chaincode>")`.
fn own_address(stub: &dyn Stub) -> Address32 {
    Address32::from_name(&format!("{}/{}", stub.channel(), stub.chaincode_name()))
}

/// The installed chaincode whose identity is `recipient`.
fn resolve(stub: &dyn Stub, recipient: &Address32) -> Option<String> {
    let channel = stub.channel().to_owned();
    stub.chaincode_names()
        .into_iter()
        .find(|name| Address32::from_name(&format!("{channel}/{name}")) == *recipient)
}

/// `_call`: records a checked message delivered, hands it to its recipient's
/// `handle(origin, sender, body, id)`, and records it failed instead (`failed/<id>`) when the
/// recipient fails or is not installed (what the recipient wrote stays, as in Fabric).
/// `retrying`: the message is recorded failed.
fn call(stub: &mut dyn Stub, message: &Message, retrying: bool) -> DeliveryResult {
    let id = message.id();
    // Effects before the interaction, as `_deliver` and `retry`: a recipient that calls the
    // inbox back sees the message delivered, not retryable nor new.
    if retrying {
        stub.del_state(&failed_key(&id));
    }
    stub.put_state(&delivered_key(&id), b"1".to_vec());
    let result = match resolve(stub, &message.recipient()) {
        None => Err(format!(
            "no chaincode on channel {} has identity {}",
            stub.channel(),
            message.recipient()
        )),
        Some(name) => stub
            .invoke_chaincode(
                &name,
                "handle",
                &[
                    message.origin().0.to_string().into_bytes(),
                    message.sender().to_hex().into_bytes(),
                    message.body().to_vec(),
                    id.to_hex().into_bytes(),
                ],
            )
            .map_err(|e| e.0),
    };
    match result {
        Ok(_) => DeliveryResult {
            id,
            outcome: MessageOutcome::Delivered,
        },
        Err(mut reason) => {
            if reason.len() > MAX_REASON_LEN {
                let mut end = MAX_REASON_LEN;
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                reason.truncate(end);
            }
            stub.del_state(&delivered_key(&id));
            stub.put_state(&failed_key(&id), b"1".to_vec());
            DeliveryResult {
                id,
                outcome: MessageOutcome::Failed { reason },
            }
        }
    }
}

// ---- retry ------------------------------------------------------------------------------------

/// `retry(message hex)`: calls the recipient of a message recorded failed again; delivered on
/// success, still failed otherwise (the result says which). Checked as `Inbox.retry`: the
/// message decodes, is recorded failed (`NotFailed`), its origin is not paused (`Paused`) and
/// its recipient not forbidden (`ForbiddenRecipient`).
fn retry(stub: &mut dyn Stub, bytes: &[u8]) -> Result<Vec<u8>, RevertReason> {
    let message = decode_message(bytes)?;
    let id = message.id();
    if status(stub, &id) != Status::Failed {
        return Err(RevertReason::NotFailed { id });
    }
    require_not_paused(stub, message.origin())?;
    require_allowed(stub, &message.recipient())?;
    let results = vec![call(stub, &message, true)];
    let payload = encode_results(&results);
    stub.set_event(DELIVERED_EVENT, payload.clone());
    Ok(payload)
}

// ---- arguments --------------------------------------------------------------------------------

fn parse_hex_arg(what: &str, arg: &[u8], max: usize) -> Response {
    let digits = hex_digits(arg);
    if digits.len() / 2 > max {
        return Err(ChaincodeError(format!("{what} is longer than {max} bytes")));
    }
    hex::decode(digits).map_err(|e| ChaincodeError(format!("{what} is not hex: {e}")))
}

fn parse_id(arg: &[u8]) -> Result<MessageId, ChaincodeError> {
    let bytes = parse_hex_arg("message id", arg, 32)?;
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ChaincodeError("message id is not 32 bytes".to_owned()))?;
    Ok(MessageId(Hash32(array)))
}

#[cfg(test)]
mod tests;
