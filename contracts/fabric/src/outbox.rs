//! The outbox chaincode `causeway_outbox`: `dispatch` turns an invocation into a Causeway
//! [`Message`] (v1) from this network's domain, emitted as the transaction's chaincode event
//! `causeway.Dispatch` with the exact encoded message as payload; `nonce` reads the next nonce.
//!
//! The sender of a message is keccak-256 of the creator's serialized `msp.SerializedIdentity`
//! (its MSP id and certificate), so a message names who asked for it. Every dispatch reads and
//! writes the key `nonce`, so two dispatches endorsed against the same state conflict at
//! commit (the later one is `MVCC_READ_CONFLICT`), exactly as in Fabric.

use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, Message, Nonce};

use crate::args::{decimal, expect_args, hex_digits, stored_count};
use crate::{Chaincode, ChaincodeError, Response, Stub};

/// The chaincode name the network installs the outbox under.
pub const OUTBOX_CHAINCODE: &str = "causeway_outbox";

/// The chaincode event name of a dispatched message.
pub const DISPATCH_EVENT: &str = "causeway.Dispatch";

/// The world-state key of the next nonce (decimal ASCII; absent means 0).
const NONCE_KEY: &str = "nonce";

/// The outbox chaincode.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outbox;

impl Chaincode for Outbox {
    fn invoke(&self, stub: &mut dyn Stub, function: &str, args: &[Vec<u8>]) -> Response {
        match function {
            "dispatch" => dispatch(stub, args),
            "nonce" => {
                expect_args("nonce", args, 0)?;
                Ok(next_nonce(stub)?.to_string().into_bytes())
            }
            other => Err(ChaincodeError(format!(
                "{OUTBOX_CHAINCODE} has no function {other:?} (dispatch, nonce)"
            ))),
        }
    }
}

/// `dispatch(destination_domain, recipient, body)`: returns the 32-byte message id.
fn dispatch(stub: &mut dyn Stub, args: &[Vec<u8>]) -> Response {
    expect_args("dispatch", args, 3)?;
    let destination = parse_domain(&args[0])?;
    let recipient = parse_recipient(&args[1])?;
    let nonce = next_nonce(stub)?;
    let sender = Address32(keccak256(stub.creator_bytes()).0);
    let message = Message::new(
        Nonce(nonce),
        stub.network().domain,
        sender,
        destination,
        recipient,
        args[2].clone(),
    )
    .map_err(|e| ChaincodeError(format!("dispatch: {e}")))?;
    let following = nonce
        .checked_add(1)
        .ok_or_else(|| ChaincodeError("dispatch: nonce space exhausted".to_owned()))?;
    stub.put_state(NONCE_KEY, following.to_string().into_bytes());
    stub.set_event(DISPATCH_EVENT, message.encode());
    Ok(message.id().as_hash().0.to_vec())
}

/// The next nonce stored under [`NONCE_KEY`].
fn next_nonce(stub: &mut dyn Stub) -> Result<u64, ChaincodeError> {
    stored_count(stub, NONCE_KEY, "nonce")
}

/// A decimal ASCII `u32` domain.
fn parse_domain(arg: &[u8]) -> Result<Domain, ChaincodeError> {
    decimal(arg).map(Domain).ok_or_else(|| {
        ChaincodeError(format!(
            "dispatch: destination domain {:?} is not a decimal u32",
            String::from_utf8_lossy(arg)
        ))
    })
}

/// 64 hex characters, optionally `0x`-prefixed.
fn parse_recipient(arg: &[u8]) -> Result<Address32, ChaincodeError> {
    let hex_part = hex_digits(arg);
    let mut out = [0u8; 32];
    if hex_part.len() == 64 && hex::decode_to_slice(hex_part, &mut out).is_ok() {
        Ok(Address32(out))
    } else {
        Err(ChaincodeError(format!(
            "dispatch: recipient {:?} is not 64 hex characters",
            String::from_utf8_lossy(arg)
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn arguments_parse_strictly() {
        let hex = "cd".repeat(32);
        assert_eq!(
            parse_recipient(hex.as_bytes()).unwrap(),
            Address32([0xcd; 32])
        );
        assert_eq!(
            parse_recipient(format!("0x{hex}").as_bytes()).unwrap(),
            Address32([0xcd; 32])
        );
        for bad in ["", "0x", &hex[2..], &format!("{hex}00"), &"zz".repeat(32)] {
            assert!(parse_recipient(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert_eq!(parse_domain(b"4294967295").unwrap(), Domain(u32::MAX));
        for bad in ["", "+1", "-1", "4294967296", " 1", "0x1"] {
            assert!(parse_domain(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
