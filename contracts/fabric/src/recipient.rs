//! The example recipient chaincode `causeway_recipient`, the Fabric twin of
//! `contracts/src/ExampleRecipient.sol`: `handle(origin, sender, body[, id])` stores each body
//! it accepts under `received/<n>` (n counting from 0, the count under `count`) and refuses a
//! body that starts with the bytes `revert` with `Rejected(origin, sender)`, so that tests can
//! exercise failed deliveries and `retry`. `count()` and `received(n)` read what it stored.
//!
//! # How a Fabric recipient must authenticate the inbox
//!
//! Any member of the channel may send a proposal for any installed chaincode, so `handle`
//! would otherwise take a forged origin, sender and body from anyone. `ExampleRecipient.sol`
//! refuses `msg.sender != inbox` with `NotInbox`; a chaincode has no `msg.sender`, so it must
//! check instead that the transaction's signed proposal invokes the inbox. On a real peer that
//! is `GetSignedProposal()` -> `Proposal.payload` (`ChaincodeProposalPayload`) -> `input`
//! (`ChaincodeInvocationSpec`) -> `chaincode_spec.chaincode_id.name == "causeway_inbox"`, here
//! [`Stub::top_level_chaincode`]: a client cannot sign a proposal for the inbox that runs
//! anything but the inbox. This recipient also requires that the inbox called it directly
//! ([`Stub::caller`] is the inbox and [`Stub::call_depth`] is 1), the exact twin of the
//! Solidity check. `handle` refuses any other caller with `NotInbox(...)` before it reads or
//! writes anything.
//!
//! A real peer does not tell a chaincode who called it, only the proposal's chaincode: there,
//! another chaincode the inbox calls in the same transaction (the recipient of another message
//! of the batch) could call `handle` under a proposal for the inbox. A recipient deployed on a
//! real peer must therefore also match its arguments against a message of the batch in the
//! proposal's input that names it (its id is the fourth argument), and handle each id once.

//! # Validate before writing
//!
//! Fabric keeps the writes of a chaincode called with `InvokeChaincode` even when it returns an
//! error (see [`Stub::invoke_chaincode`]): the inbox records the message failed, but whatever
//! the recipient wrote before failing is committed with the transaction. A recipient must
//! therefore make every check that can fail before its first `put_state`/`del_state`, as this
//! one does (`NotInbox`, the arguments, `Rejected`, the stored count, then the writes).
//!
//! Every accepted message reads and writes `count`: two transactions endorsed against the same
//! count conflict at commit (`MVCC_READ_CONFLICT`), as a counter does in Fabric.

use crate::wire::INBOX_CHAINCODE;
use crate::{Chaincode, ChaincodeError, Response, Stub};

/// The chaincode name the network installs the recipient under.
pub const RECIPIENT_CHAINCODE: &str = "causeway_recipient";

/// The prefix of a body the recipient refuses.
pub const REJECT_PREFIX: &[u8] = b"revert";

const COUNT_KEY: &str = "count";

/// The example recipient.
#[derive(Clone, Copy, Debug, Default)]
pub struct Recipient;

impl Chaincode for Recipient {
    fn invoke(&self, stub: &mut dyn Stub, function: &str, args: &[Vec<u8>]) -> Response {
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

/// `handle(origin, sender, body[, id])`: refuses any caller but the inbox (`NotInbox`), then
/// stores the body.
fn handle(stub: &mut dyn Stub, args: &[Vec<u8>]) -> Response {
    require_inbox(stub)?;
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

/// `NotInbox` unless the signed proposal invokes the inbox and the inbox called this chaincode
/// directly (see the module docs).
fn require_inbox(stub: &dyn Stub) -> Result<(), ChaincodeError> {
    let top_level = stub.top_level_chaincode();
    let caller = stub.caller();
    if top_level == INBOX_CHAINCODE && caller == Some(INBOX_CHAINCODE) && stub.call_depth() == 1 {
        return Ok(());
    }
    Err(ChaincodeError(format!(
        "NotInbox(caller: {}, proposal for: {top_level}, depth: {}): only {INBOX_CHAINCODE} may \
         call handle",
        caller.unwrap_or("a client"),
        stub.call_depth()
    )))
}

fn count(stub: &mut dyn Stub) -> Result<u64, ChaincodeError> {
    crate::args::stored_count(stub, COUNT_KEY, "count")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use causeway_proofs::Domain;

    use super::*;
    use crate::NetworkInfo;
    use crate::support::{Peer, Transaction};

    /// Calls the recipient's `handle` with its own arguments, or calls the chaincode named in
    /// its first argument (which then calls the recipient), and answers what it got.
    struct Relay;

    impl Chaincode for Relay {
        fn invoke(&self, stub: &mut dyn Stub, function: &str, args: &[Vec<u8>]) -> Response {
            match function {
                "via" => {
                    let next = String::from_utf8(args[0].clone()).unwrap();
                    stub.invoke_chaincode(&next, "call", &args[1..])
                }
                _ => stub.invoke_chaincode(RECIPIENT_CHAINCODE, "handle", args),
            }
        }
    }

    fn handle_args(body: &[u8]) -> Vec<Vec<u8>> {
        vec![
            b"1".to_vec(),
            format!("0x{}", "05".repeat(32)).into_bytes(),
            body.to_vec(),
        ]
    }

    /// Runs `function` of `chaincode` on a peer where the inbox's name is held by a [`Relay`]
    /// (so the test decides what "the inbox" sends) beside another relay, `forwarder`.
    fn run(chaincode: &str, function: &str, args: &[Vec<u8>]) -> Transaction {
        let user = b"Org1MSP User1".to_vec();
        let mut peer = Peer::new(NetworkInfo {
            channel: "causeway".to_owned(),
            domain: Domain(3),
            chain_id: 2001,
            admin: user.clone(),
        });
        peer.install(RECIPIENT_CHAINCODE, Recipient);
        peer.install(INBOX_CHAINCODE, Relay);
        peer.install("forwarder", Relay);
        peer.simulate(&user, chaincode, function, args)
    }

    #[test]
    fn handle_submitted_directly_is_refused_before_anything_is_read_or_written() {
        let sim = run(RECIPIENT_CHAINCODE, "handle", &handle_args(b"forged"));
        let err = sim.result.as_ref().unwrap_err();
        assert_eq!(
            err.0,
            "NotInbox(caller: a client, proposal for: causeway_recipient, depth: 0): only \
             causeway_inbox may call handle"
        );
        assert!(sim.writes.is_empty());
        assert!(!sim.read(RECIPIENT_CHAINCODE, COUNT_KEY));
    }

    #[test]
    fn handle_called_by_another_chaincode_is_refused() {
        // A proposal for another chaincode that calls handle.
        let sim = run("forwarder", "call", &handle_args(b"forged"));
        assert!(
            sim.result
                .as_ref()
                .unwrap_err()
                .0
                .starts_with("NotInbox(caller: forwarder, proposal for: forwarder, depth: 1)"),
            "{:?}",
            sim.result
        );
        // A proposal for the inbox, whose callee calls handle: the caller is not the inbox.
        let mut args = vec![b"forwarder".to_vec()];
        args.extend(handle_args(b"forged"));
        let sim = run(INBOX_CHAINCODE, "via", &args);
        assert!(
            sim.result
                .as_ref()
                .unwrap_err()
                .0
                .starts_with("NotInbox(caller: forwarder, proposal for: causeway_inbox, depth: 2)"),
            "{:?}",
            sim.result
        );
        assert!(sim.writes.is_empty());
    }

    #[test]
    fn handle_called_by_the_inbox_stores_the_body() {
        let sim = run(INBOX_CHAINCODE, "call", &handle_args(b"hello"));
        assert_eq!(sim.result.as_deref(), Ok(&[][..]));
        assert_eq!(
            sim.write(RECIPIENT_CHAINCODE, "received/0"),
            Some(Some(&b"hello"[..]))
        );
        assert_eq!(
            sim.write(RECIPIENT_CHAINCODE, COUNT_KEY),
            Some(Some(&b"1"[..]))
        );
        // Refused bodies are refused before the first write, so nothing of them is kept even
        // though Fabric keeps a failed callee's writes.
        let sim = run(INBOX_CHAINCODE, "call", &handle_args(b"revert now"));
        assert!(
            sim.result
                .as_ref()
                .unwrap_err()
                .0
                .starts_with("Rejected(1, 0x0505")
        );
        assert!(sim.writes.is_empty());
    }
}
