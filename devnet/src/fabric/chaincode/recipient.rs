//! The example recipient chaincode `causeway_recipient`, the Fabric twin of
//! `contracts/src/ExampleRecipient.sol`: `handle(origin, sender, body[, id])` stores each body
//! it accepts under `received/<n>` (n counting from 0, the count under `count`) and refuses a
//! body that starts with the bytes `revert` with `Rejected(origin, sender)`, so that tests can
//! exercise failed deliveries and `retry`. `count()` and `received(n)` read what it stored.
//!
//! Every accepted message reads and writes `count`: two transactions endorsed against the same
//! count conflict at commit (`MVCC_READ_CONFLICT`), as a counter does in Fabric.

use super::{Chaincode, ChaincodeError, Stub};

/// The chaincode name the network installs the recipient under.
pub const RECIPIENT_CHAINCODE: &str = "causeway_recipient";

/// The prefix of a body the recipient refuses.
pub const REJECT_PREFIX: &[u8] = b"revert";

const COUNT_KEY: &str = "count";

/// The example recipient.
#[derive(Clone, Copy, Debug, Default)]
pub struct Recipient;

impl Chaincode for Recipient {
    fn invoke(
        &self,
        stub: &mut Stub<'_>,
        function: &str,
        args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ChaincodeError> {
        match function {
            "handle" => handle(stub, args),
            "count" => Ok(count(stub)?.to_string().into_bytes()),
            "received" => {
                let [n] = args else {
                    return Err(ChaincodeError("received takes 1 argument".to_owned()));
                };
                let n = std::str::from_utf8(n).unwrap_or("");
                stub.get_state(&format!("received/{n}"))
                    .ok_or_else(|| ChaincodeError(format!("nothing received as number {n:?}")))
            }
            other => Err(ChaincodeError(format!(
                "{RECIPIENT_CHAINCODE} has no function {other:?} (handle, count, received)"
            ))),
        }
    }
}

/// `handle(origin, sender, body[, id])`.
fn handle(stub: &mut Stub<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>, ChaincodeError> {
    let (origin, sender, body) = match args {
        [origin, sender, body] | [origin, sender, body, _] => (origin, sender, body),
        _ => {
            return Err(ChaincodeError(format!(
                "handle takes 3 or 4 arguments, got {}",
                args.len()
            )));
        }
    };
    if body.starts_with(REJECT_PREFIX) {
        return Err(ChaincodeError(format!(
            "Rejected({}, {})",
            String::from_utf8_lossy(origin),
            String::from_utf8_lossy(sender)
        )));
    }
    let n = count(stub)?;
    stub.put_state(&format!("received/{n}"), body.clone());
    stub.put_state(COUNT_KEY, (n + 1).to_string().into_bytes());
    Ok(Vec::new())
}

fn count(stub: &mut Stub<'_>) -> Result<u64, ChaincodeError> {
    match stub.get_state(COUNT_KEY) {
        None => Ok(0),
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ChaincodeError("stored count is not a decimal number".to_owned())),
    }
}
