//! A signed batch is delivered once; replays, in a later batch, in the same batch or from a
//! recipient re-entering the inbox, are skipped (reported as recorded), never delivered again.

use super::*;

#[test]
fn a_signed_batch_is_delivered_once_and_replay_is_refused() {
    let mut net = Net::new();
    let batch = net.batch(&["a", "b", "c"], recipient(), &[0, 2]);
    let results = net.deliver(json(&batch)).unwrap();
    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|r| r.outcome == MessageOutcome::Delivered)
    );
    assert_eq!(results[1].id, batch.items[1].message.id());
    assert_eq!(net.count(), "3");
    assert_eq!(net.query(RECIPIENT_CHAINCODE, "received", b"1"), "b");
    for item in &batch.items {
        let id = item.message.id().to_hex();
        net.assert_delivered(&id);
    }
    // Issue 9: a replay does not refuse the batch; each message is reported as recorded.
    let replay = net.deliver(json(&batch)).unwrap();
    assert_eq!(replay, results);
    assert_eq!(net.count(), "3");
    // A batch repeating one message in itself delivers it once.
    let mut batch_d = net.batch(&["a", "b", "c", "d"], recipient(), &[0, 1]);
    batch_d.items.drain(..3);
    let mut doubled = batch_d.clone();
    doubled.items.push(batch_d.items[0].clone());
    let results = net.deliver(json(&doubled)).unwrap();
    assert_eq!(results.len(), 2);
    assert!(
        results.iter().all(
            |r| r.outcome == MessageOutcome::Delivered && r.id == batch_d.items[0].message.id()
        )
    );
    assert_eq!(net.count(), "4");
}

/// A recipient that, while handling its message, delivers `batch` again through the inbox and
/// stores what the inbox answered.
struct Reenter(Vec<u8>);

impl Chaincode for Reenter {
    fn invoke(&self, stub: &mut dyn Stub, _function: &str, _args: &[Vec<u8>]) -> Response {
        let nested = stub.invoke_chaincode(
            INBOX_CHAINCODE,
            "deliverBatch",
            std::slice::from_ref(&self.0),
        );
        let handled = stub.get_state("handled").map_or(0, |v| v.len());
        stub.put_state("handled", vec![1; handled + 1]);
        stub.put_state("nested", format!("{nested:?}").into_bytes());
        Ok(Vec::new())
    }
}

#[test]
fn a_message_is_recorded_delivered_before_its_recipient_runs() {
    let mut net = Net::new();
    let batch = net.batch(
        &["m"],
        Address32::from_name(&format!("{CHANNEL}/reenter")),
        &[0, 1],
    );
    net.install("reenter", Reenter(json(&batch)));
    let results = net.deliver(json(&batch)).unwrap();
    assert_eq!(results[0].outcome, MessageOutcome::Delivered);
    let stored = |key: &str| net.stored("reenter", key).cloned().unwrap();
    let nested = String::from_utf8(stored("nested")).unwrap();
    // The nested delivery saw the message delivered and skipped it (issue 9).
    assert!(nested.starts_with("Ok("), "{nested}");
    assert_eq!(stored("handled"), vec![1], "handled once");
}
