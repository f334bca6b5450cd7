//! The inbox's emergency controls, as `Inbox.sol` has them: the admin pauses deliveries and
//! retries per origin (`setPaused`, `paused`; a threshold of the validators resumes them with
//! `unpause`), and denies (or allows again)
//! privileged message recipients (`setForbiddenRecipient`, `isForbiddenRecipient`; the inbox
//! itself and its admin are always denied). Only the configured admin may change either
//! (`NotAdmin`); each change sets its event, named after the Solidity event.

use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain};

use super::{FORBIDDEN_RECIPIENT_CHANGED_EVENT, PAUSE_CHANGED_EVENT, own_address};
use crate::wire::RevertReason;
use crate::{ChaincodeError, Response, Stub};

fn paused_key(origin: Domain) -> String {
    format!("paused/{}", origin.0)
}

fn forbidden_key(target: &Address32) -> String {
    format!("forbidden/{}", hex::encode(target.0))
}

/// Whether deliveries and retries from `origin` are paused.
pub(super) fn is_paused(stub: &mut dyn Stub, origin: Domain) -> bool {
    stub.get_state(&paused_key(origin)).is_some()
}

/// `Paused(origin)` when deliveries from `origin` are paused.
pub(super) fn require_not_paused(stub: &mut dyn Stub, origin: Domain) -> Result<(), RevertReason> {
    if is_paused(stub, origin) {
        Err(RevertReason::Paused { origin })
    } else {
        Ok(())
    }
}

/// The admin's identity as a message recipient: keccak-256 of its serialized identity.
pub(super) fn admin_address(stub: &dyn Stub) -> Address32 {
    Address32(keccak256(stub.network().admin.as_slice()).0)
}

/// `isForbiddenRecipient`: the inbox itself, its admin, or a target the admin denied.
pub(super) fn is_forbidden(stub: &mut dyn Stub, target: &Address32) -> bool {
    *target == own_address(stub)
        || *target == admin_address(stub)
        || stub.get_state(&forbidden_key(target)).is_some()
}

/// `ForbiddenRecipient(recipient)` when messages may never be delivered to `recipient`.
pub(super) fn require_allowed(
    stub: &mut dyn Stub,
    recipient: &Address32,
) -> Result<(), RevertReason> {
    if is_forbidden(stub, recipient) {
        Err(RevertReason::ForbiddenRecipient {
            recipient: recipient.to_hex(),
        })
    } else {
        Ok(())
    }
}

fn require_admin(stub: &dyn Stub) -> Result<(), RevertReason> {
    if stub.creator_bytes() == stub.network().admin.as_slice() {
        Ok(())
    } else {
        Err(RevertReason::NotAdmin)
    }
}

/// `setPaused(origin, true)`, admin only. Sets the event `causeway.PauseChanged` with
/// `{"origin": n, "paused": true}`; returns `true`. Pausing an origin already paused changes
/// nothing. `setPaused(origin, false)` is refused: unpausing needs a threshold of the
/// validators (`unpause`).
pub(super) fn set_paused(stub: &mut dyn Stub, args: &[Vec<u8>]) -> Response {
    require_admin(stub).map_err(super::revert)?;
    let origin = Domain(crate::args::parse_decimal::<u32>("origin", &args[0])?);
    let paused = parse_bool("paused", &args[1])?;
    if !paused {
        return Err(ChaincodeError(
            "unpausing needs a threshold of the origin's validators: call unpause(origin, \
             signatures)"
                .to_owned(),
        ));
    }
    if !is_paused(stub, origin) {
        super::governance::count_pause(stub, origin);
        stub.put_state(&paused_key(origin), b"1".to_vec());
    }
    let event = serde_json::json!({ "origin": origin.0, "paused": true });
    stub.set_event(PAUSE_CHANGED_EVENT, event.to_string().into_bytes());
    Ok(b"true".to_vec())
}

/// `unpause(origin, signatures)`: anyone, with a threshold of the origin's current validators'
/// signatures over the unpause digest of the current pause ([`super::governance`]); `NotPaused`
/// when it is not paused. Sets `causeway.PauseChanged` with `"paused": false`.
pub(super) fn unpause(stub: &mut dyn Stub, args: &[Vec<u8>]) -> Result<Vec<u8>, ChaincodeError> {
    let origin = Domain(super::parse_decimal::<u32>("origin", &args[0])?);
    if !is_paused(stub, origin) {
        return Err(super::revert(RevertReason::NotPaused { origin }));
    }
    super::governance::check_unpause(stub, origin, &args[1]).map_err(super::revert)?;
    stub.del_state(&paused_key(origin));
    let event = serde_json::json!({ "origin": origin.0, "paused": false });
    stub.set_event(PAUSE_CHANGED_EVENT, event.to_string().into_bytes());
    Ok(b"false".to_vec())
}

/// `setForbiddenRecipient(target, forbidden)`, admin only: `target` is a 32-byte recipient
/// identity in hex (`0x` optional), `forbidden` is `true` or `false`. Sets the event
/// `causeway.ForbiddenRecipientChanged` with `{"target": "0x..", "forbidden": bool}`; returns
/// the new value.
pub(super) fn set_forbidden_recipient(stub: &mut dyn Stub, args: &[Vec<u8>]) -> Response {
    require_admin(stub).map_err(super::revert)?;
    let target = parse_target(&args[0])?;
    let forbidden = parse_bool("forbidden", &args[1])?;
    if forbidden {
        stub.put_state(&forbidden_key(&target), b"1".to_vec());
    } else {
        stub.del_state(&forbidden_key(&target));
    }
    let event = serde_json::json!({ "target": target.to_hex(), "forbidden": forbidden });
    stub.set_event(
        FORBIDDEN_RECIPIENT_CHANGED_EVENT,
        event.to_string().into_bytes(),
    );
    Ok(forbidden.to_string().into_bytes())
}

/// A recipient identity argument: 64 hex digits, `0x` optional.
pub(super) fn parse_target(arg: &[u8]) -> Result<Address32, ChaincodeError> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            ChaincodeError(format!(
                "target {:?} is not a 32-byte hex identity",
                String::from_utf8_lossy(arg)
            ))
        })
}

fn parse_bool(what: &str, arg: &[u8]) -> Result<bool, ChaincodeError> {
    match arg {
        b"true" => Ok(true),
        b"false" => Ok(false),
        _ => Err(ChaincodeError(format!(
            "{what} {:?} is neither true nor false",
            String::from_utf8_lossy(arg)
        ))),
    }
}
