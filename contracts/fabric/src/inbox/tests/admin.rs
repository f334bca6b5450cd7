//! The admin's functions: validator sets (only safe ones, each change a new epoch), pausing an
//! origin and forbidding a recipient; anyone else gets `NotAdmin`.

use super::*;

#[test]
fn only_the_admin_sets_validators_and_only_safe_sets() {
    let mut net = Net::new();
    let user = net.user.clone();
    let admin = net.admin();
    let a = "0x1000000000000000000000000000000000000001";
    let b = "0x2000000000000000000000000000000000000002";
    let args_for = |chain_id: &str, t: &str, v: &str| {
        vec![
            b"1".to_vec(),
            chain_id.as_bytes().to_vec(),
            t.as_bytes().to_vec(),
            v.as_bytes().to_vec(),
        ]
    };
    let args = |t: &str, v: &str| args_for("5", t, v);
    let err = net
        .inbox(&user, "setValidators", &args("1", a))
        .unwrap_err();
    assert_eq!(decode_revert(&err.0), Some(RevertReason::NotAdmin));
    for (t, v, reason) in [
        ("1", "", "empty validator set"),
        ("0", a, "zero threshold"),
        (
            "1",
            &format!("{a},{b}"),
            "threshold is not a strict majority",
        ),
        (
            "2",
            &format!("{b},{a}"),
            "validators not strictly ascending",
        ),
        ("2", &format!("{a},{a}"), "duplicate validator"),
        ("3", &format!("{a},{b}"), "threshold above validator count"),
    ] {
        let err = net.inbox(&admin, "setValidators", &args(t, v)).unwrap_err();
        assert_eq!(
            decode_revert(&err.0),
            Some(RevertReason::InvalidValidatorSet {
                reason: reason.to_owned()
            }),
            "{t} {v}"
        );
    }
    // As ValidatorRegistry.setValidators: every origin, Fabric ones included, has a non-zero
    // chain id.
    let err = net
        .inbox(
            &admin,
            "setValidators",
            &args_for("0", "2", &format!("{a},{b}")),
        )
        .unwrap_err();
    assert_eq!(
        decode_revert(&err.0),
        Some(RevertReason::InvalidValidatorSet {
            reason: "zero origin chain id".to_owned()
        })
    );
    assert_eq!(
        net.inbox(&admin, "setValidators", &args("2", &format!("{a},{b}")))
            .unwrap(),
        b"2"
    );
    let set: serde_json::Value =
        serde_json::from_str(&net.query(INBOX_CHAINCODE, "getValidators", b"1")).unwrap();
    assert_eq!(set["epoch"], 2);
    assert_eq!(set["origin_chain_id"], 5);
    // The old committee's signatures stop counting with the epoch.
    let batch = net.batch(&["late"], recipient(), &[0, 1]);
    assert!(matches!(
        net.deliver(json(&batch)),
        Err(RevertReason::UnknownValidator { .. })
    ));
}

#[test]
fn only_the_admin_pauses_an_origin_and_a_paused_origin_delivers_and_retries_nothing() {
    let mut net = Net::new();
    let user = net.user.clone();
    let admin = net.admin();
    let pause = |on: bool| {
        vec![
            ORIGIN.0.to_string().into_bytes(),
            on.to_string().into_bytes(),
        ]
    };
    let err = net.inbox(&user, "setPaused", &pause(true)).unwrap_err();
    assert_eq!(decode_revert(&err.0), Some(RevertReason::NotAdmin));
    assert_eq!(net.query(INBOX_CHAINCODE, "paused", b"1"), "false");

    // A message that failed before the pause, for retry.
    let (_, knock) = net.knock_at_gate();

    let (paused, event) = net.call_with_event(&admin, INBOX_CHAINCODE, "setPaused", &pause(true));
    assert_eq!(paused.unwrap(), b"true");
    let (name, payload) = event.unwrap();
    assert_eq!(name, PAUSE_CHANGED_EVENT);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&payload).unwrap(),
        serde_json::json!({ "origin": 1, "paused": true })
    );
    assert_eq!(net.query(INBOX_CHAINCODE, "paused", b"1"), "true");
    assert_eq!(net.query(INBOX_CHAINCODE, "paused", b"2"), "false");

    let batch = net.batch(&["a"], recipient(), &[0, 1]);
    let before = net.peer.world.clone();
    assert_eq!(
        net.deliver(json(&batch)).unwrap_err(),
        RevertReason::Paused { origin: ORIGIN }
    );
    // Checked before the checkpoint, as `deliverBatch` does: an unsigned batch is `Paused` too.
    let mut unsigned = batch.clone();
    unsigned.signatures.clear();
    assert_eq!(
        net.deliver(json(&unsigned)).unwrap_err(),
        RevertReason::Paused { origin: ORIGIN }
    );
    let err = net.retry(&knock).unwrap_err();
    assert_eq!(
        decode_revert(&err.0),
        Some(RevertReason::Paused { origin: ORIGIN })
    );
    assert_eq!(net.peer.world, before, "nothing written while paused");

    let (resumed, event) = net.call_with_event(&admin, INBOX_CHAINCODE, "setPaused", &pause(false));
    assert_eq!(resumed.unwrap(), b"false");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&event.unwrap().1).unwrap(),
        serde_json::json!({ "origin": 1, "paused": false })
    );
    assert_eq!(net.deliver(json(&batch)).unwrap().len(), 1);
    assert_eq!(net.count(), "1");
    assert_eq!(net.retry_outcome(&knock), MessageOutcome::Delivered);
    let err = net
        .inbox(&admin, "setPaused", &[b"1".to_vec(), b"yes".to_vec()])
        .unwrap_err();
    assert!(err.0.contains("neither true nor false"), "{err}");
}

#[test]
fn only_the_admin_forbids_a_recipient_and_a_forbidden_recipient_gets_nothing() {
    let mut net = Net::new();
    let user = net.user.clone();
    let admin = net.admin();
    let forbid = |target: Address32, on: bool| {
        vec![target.to_hex().into_bytes(), on.to_string().into_bytes()]
    };
    let is_forbidden = |net: &mut Net, target: Address32| {
        net.query(
            INBOX_CHAINCODE,
            "isForbiddenRecipient",
            target.to_hex().as_bytes(),
        )
    };
    let err = net
        .inbox(&user, "setForbiddenRecipient", &forbid(recipient(), true))
        .unwrap_err();
    assert_eq!(decode_revert(&err.0), Some(RevertReason::NotAdmin));
    // The inbox itself and its admin are always forbidden.
    let inbox = Address32::from_name(&format!("{CHANNEL}/{INBOX_CHAINCODE}"));
    let admin_address = Address32(causeway_proofs::hash::keccak256(&admin).0);
    assert_eq!(is_forbidden(&mut net, inbox), "true");
    assert_eq!(is_forbidden(&mut net, admin_address), "true");
    assert_eq!(is_forbidden(&mut net, recipient()), "false");

    // A message that failed before its recipient was forbidden, for retry.
    let (gate, knock) = net.knock_at_gate();

    let (forbidden, event) = net.call_with_event(
        &admin,
        INBOX_CHAINCODE,
        "setForbiddenRecipient",
        &forbid(recipient(), true),
    );
    assert_eq!(forbidden.unwrap(), b"true");
    let (name, payload) = event.unwrap();
    assert_eq!(name, FORBIDDEN_RECIPIENT_CHANGED_EVENT);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&payload).unwrap(),
        serde_json::json!({ "target": recipient().to_hex(), "forbidden": true })
    );
    net.inbox(&admin, "setForbiddenRecipient", &forbid(gate, true))
        .unwrap();
    assert_eq!(is_forbidden(&mut net, recipient()), "true");

    let batch = net.batch(&["a"], recipient(), &[0, 1]);
    let before = net.peer.world.clone();
    assert_eq!(
        net.deliver(json(&batch)).unwrap_err(),
        RevertReason::ForbiddenRecipient {
            recipient: recipient().to_hex()
        }
    );
    let err = net.retry(&knock).unwrap_err();
    assert_eq!(
        decode_revert(&err.0),
        Some(RevertReason::ForbiddenRecipient {
            recipient: gate.to_hex()
        })
    );
    assert_eq!(
        net.peer.world, before,
        "nothing written for a forbidden recipient"
    );

    // Allowed again (the 0x prefix is optional).
    let bare = hex::encode(recipient().0).into_bytes();
    net.inbox(&admin, "setForbiddenRecipient", &[bare, b"false".to_vec()])
        .unwrap();
    net.inbox(&admin, "setForbiddenRecipient", &forbid(gate, false))
        .unwrap();
    assert_eq!(is_forbidden(&mut net, recipient()), "false");
    assert_eq!(net.deliver(json(&batch)).unwrap().len(), 1);
    assert_eq!(net.count(), "1");
    assert_eq!(net.retry_outcome(&knock), MessageOutcome::Delivered);
    let err = net
        .inbox(
            &admin,
            "setForbiddenRecipient",
            &[b"0x1234".to_vec(), b"true".to_vec()],
        )
        .unwrap_err();
    assert!(err.0.contains("not a 32-byte hex identity"), "{err}");
}
