//! Recipients that fail: the message is recorded failed, the rest of the batch delivered, and
//! `retry` delivers it once the recipient accepts it; what a failing recipient wrote stays (as
//! in Fabric); another recipient cannot forge a message to the example recipient.

use super::*;

#[test]
fn a_failing_recipient_is_recorded_failed_and_the_rest_delivered_and_retry_works() {
    let mut net = Net::new();
    let nowhere = Address32([0x42; 32]);
    let mut batch = net.batch(&["one", "revert please", "three"], recipient(), &[1, 2]);
    // Re-sign a batch whose last message names a recipient that is not installed.
    let messages = batch
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let m = &item.message;
            let to = if i == 2 { nowhere } else { m.recipient() };
            Message::new(m.nonce(), ORIGIN, m.sender(), LOCAL, to, m.body().to_vec()).unwrap()
        })
        .collect();
    batch = net.signed(messages, &[1, 2]);

    let results = net.deliver(json(&batch)).unwrap();
    assert_eq!(results[0].outcome, MessageOutcome::Delivered);
    assert!(
        matches!(&results[1].outcome, MessageOutcome::Failed { reason } if reason.starts_with("Rejected(1, 0x0505")),
        "{results:?}"
    );
    assert!(
        matches!(&results[2].outcome, MessageOutcome::Failed { reason } if reason.contains("no chaincode")),
        "{results:?}"
    );
    assert_eq!(
        net.count(),
        "1",
        "the example recipient refuses before it writes: its failed call wrote nothing"
    );
    let failed = batch.items[1].message.clone();
    assert_eq!(
        net.query(INBOX_CHAINCODE, "status", failed.id().to_hex().as_bytes()),
        "failed"
    );
    assert_eq!(
        net.query(
            INBOX_CHAINCODE,
            "isDelivered",
            failed.id().to_hex().as_bytes()
        ),
        "false"
    );
    // Failed is not "never seen": delivering it again is a replay, skipped and reported failed.
    let replay = net.deliver(json(&batch)).unwrap();
    assert!(
        matches!(&replay[1].outcome, MessageOutcome::Failed { reason } if reason.contains("earlier")),
        "{replay:?}"
    );

    let again = net.retry(&failed).unwrap();
    let again = parse_results(&again).unwrap();
    assert!(matches!(again[0].outcome, MessageOutcome::Failed { .. }));
    let delivered = batch.items[0].message.clone();
    let refused = net.retry(&delivered).unwrap_err();
    assert_eq!(
        decode_revert(&refused.0),
        Some(RevertReason::NotFailed { id: delivered.id() })
    );
}

#[test]
fn a_failed_message_is_delivered_by_retry_once_its_recipient_accepts_it() {
    let mut net = Net::new();
    net.install("gate", Gate);
    let gate = Address32::from_name(&format!("{CHANNEL}/gate"));
    let batch = net.batch(&["knock"], gate, &[0, 1]);
    let message = batch.items[0].message.clone();
    let id = message.id().to_hex();
    let results = net.deliver(json(&batch)).unwrap();
    assert_eq!(
        results[0].outcome,
        MessageOutcome::Failed {
            reason: "closed".into()
        }
    );
    assert_eq!(
        net.query(INBOX_CHAINCODE, "status", id.as_bytes()),
        "failed"
    );
    assert!(net.stored("gate", "handled").is_none());

    let user = net.user.clone();
    net.call(&user, "gate", "open", &[]).unwrap();
    assert_eq!(net.retry_outcome(&message), MessageOutcome::Delivered);
    net.assert_delivered(&id);
    assert!(net.stored("gate", "handled").is_some());
    let again = net.retry(&message).unwrap_err();
    assert_eq!(
        decode_revert(&again.0),
        Some(RevertReason::NotFailed { id: message.id() })
    );
}

/// A recipient that counts its attempts *before* checking that it accepts the message, the
/// mistake the inbox's docs warn about: on Fabric the count of a failed attempt is kept.
struct CountsFirst;

impl Chaincode for CountsFirst {
    fn invoke(&self, stub: &mut dyn Stub, function: &str, args: &[Vec<u8>]) -> Response {
        if function == "handle" {
            let attempts = stub
                .get_state("attempts")
                .map_or(0, |v| String::from_utf8(v).unwrap().parse::<u64>().unwrap());
            stub.put_state("attempts", (attempts + 1).to_string().into_bytes());
        }
        // Past the count, it opens, accepts and refuses as the gate does.
        match function {
            "open" | "handle" => Gate.invoke(stub, function, args),
            _ => Err(ChaincodeError::new("no such function")),
        }
    }
}

#[test]
fn a_recipient_that_writes_before_failing_keeps_its_writes_and_retry_delivers() {
    let mut net = Net::new();
    net.install("counts_first", CountsFirst);
    let to = Address32::from_name(&format!("{CHANNEL}/counts_first"));
    let batch = net.batch(&["m"], to, &[0, 1]);
    let message = batch.items[0].message.clone();
    let id = message.id().to_hex();
    let attempts = |net: &Net| {
        net.stored("counts_first", "attempts")
            .map(|v| String::from_utf8(v.clone()).unwrap())
    };

    let results = net.deliver(json(&batch)).unwrap();
    assert_eq!(
        results[0].outcome,
        MessageOutcome::Failed {
            reason: "closed".into()
        }
    );
    // As in Fabric: the failed callee's write is committed with the inbox's transaction.
    assert_eq!(attempts(&net).as_deref(), Some("1"));
    assert!(net.stored("counts_first", "handled").is_none());
    assert_eq!(
        net.query(INBOX_CHAINCODE, "status", id.as_bytes()),
        "failed"
    );

    let user = net.user.clone();
    assert!(matches!(
        net.retry_outcome(&message),
        MessageOutcome::Failed { .. }
    ));
    assert_eq!(attempts(&net).as_deref(), Some("2"));
    assert_eq!(
        net.query(INBOX_CHAINCODE, "status", id.as_bytes()),
        "failed"
    );

    net.call(&user, "counts_first", "open", &[]).unwrap();
    assert_eq!(net.retry_outcome(&message), MessageOutcome::Delivered);
    assert_eq!(attempts(&net).as_deref(), Some("3"));
    assert!(net.stored("counts_first", "handled").is_some());
    assert_eq!(
        net.query(INBOX_CHAINCODE, "status", id.as_bytes()),
        "delivered"
    );
}

/// A recipient that, while handling its message, calls the example recipient's `handle` with
/// an origin, sender and body of its choosing, and answers what it got.
struct Forger;

impl Chaincode for Forger {
    fn invoke(&self, stub: &mut dyn Stub, _function: &str, _args: &[Vec<u8>]) -> Response {
        stub.invoke_chaincode(
            RECIPIENT_CHAINCODE,
            "handle",
            &[
                b"1".to_vec(),
                Address32([9; 32]).to_hex().into_bytes(),
                b"forged".to_vec(),
            ],
        )
    }
}

#[test]
fn another_recipient_cannot_hand_the_example_recipient_a_forged_message() {
    let mut net = Net::new();
    net.install("forger", Forger);
    let batch = net.batch(
        &["m"],
        Address32::from_name(&format!("{CHANNEL}/forger")),
        &[0, 1],
    );
    let results = net.deliver(json(&batch)).unwrap();
    assert!(
        matches!(&results[0].outcome, MessageOutcome::Failed { reason }
            if reason.starts_with("NotInbox(caller: forger, proposal for: causeway_inbox, depth: 2)")),
        "{results:?}"
    );
    assert_eq!(net.count(), "0");
    // Submitted directly, handle is refused too and nothing is committed.
    let user = net.user.clone();
    let before = net.peer.world.clone();
    let err = net
        .call(
            &user,
            RECIPIENT_CHAINCODE,
            "handle",
            &[b"1".to_vec(), b"0x05".to_vec(), b"forged".to_vec()],
        )
        .unwrap_err();
    assert!(err.0.starts_with("NotInbox(caller: a client"), "{err}");
    assert_eq!(net.peer.world, before);
    assert_eq!(net.count(), "0");
}
