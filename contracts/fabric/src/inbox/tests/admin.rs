//! The admin's functions: the first validator set (only safe ones; later ones need the current
//! set's threshold, each change a new epoch), pausing an origin (unpausing needs the
//! threshold) and forbidding a recipient; anyone else gets `NotAdmin`.

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
    // After the bootstrap the admin alone changes nothing (issue 9).
    let err = net
        .inbox(&admin, "setValidators", &args("2", &format!("{a},{b}")))
        .unwrap_err();
    assert_eq!(
        decode_revert(&err.0),
        Some(RevertReason::AlreadyConfigured { origin: ORIGIN })
    );
    // A change needs a threshold of the current set over the change digest, for the next epoch.
    let change = |epoch: &str, sigs: &str| {
        let mut v = args("2", &format!("{a},{b}"));
        v.push(epoch.as_bytes().to_vec());
        v.push(sigs.as_bytes().to_vec());
        v
    };
    let digest_args = {
        let mut v = args("2", &format!("{a},{b}"));
        v.push(b"2".to_vec());
        v
    };
    let digest_hex = String::from_utf8(
        net.inbox(&user, "validatorSetChangeDigest", &digest_args)
            .unwrap(),
    )
    .unwrap();
    let digest: Hash32 = digest_hex.parse().unwrap();
    let sign = |net: &Net, d: &Hash32, members: &[usize]| -> String {
        members
            .iter()
            .map(|&i| net.committee.keys()[i].sign(d).to_hex())
            .collect::<Vec<_>>()
            .join(",")
    };
    let one = sign(&net, &digest, &[0]);
    let err = net
        .inbox(&user, "changeValidators", &change("2", &one))
        .unwrap_err();
    assert!(
        matches!(
            decode_revert(&err.0),
            Some(RevertReason::BelowThreshold {
                valid: 1,
                threshold: 2
            })
        ),
        "{err}"
    );
    // A checkpoint signature is not a change signature.
    let cp_sigs = net.batch(&["x"], recipient(), &[0, 1]).signatures;
    let cp_hex: Vec<String> = cp_sigs.iter().map(|s| s.to_hex()).collect();
    let err = net
        .inbox(&user, "changeValidators", &change("2", &cp_hex.join(",")))
        .unwrap_err();
    assert!(
        matches!(
            decode_revert(&err.0),
            Some(RevertReason::UnknownValidator { .. })
        ),
        "{err}"
    );
    let two = sign(&net, &digest, &[0, 1]);
    let err = net
        .inbox(&user, "changeValidators", &change("3", &two))
        .unwrap_err();
    assert_eq!(
        decode_revert(&err.0),
        Some(RevertReason::WrongEpoch {
            expected: 2,
            actual: 3
        })
    );
    assert_eq!(
        net.inbox(&user, "changeValidators", &change("2", &two))
            .unwrap(),
        b"2"
    );
    let set: serde_json::Value =
        serde_json::from_str(&net.query(INBOX_CHAINCODE, "getValidators", b"1")).unwrap();
    assert_eq!(set["epoch"], 2);
    assert_eq!(set["origin_chain_id"], 5);
    // The same signatures cannot be used again (the epoch moved).
    let err = net
        .inbox(&user, "changeValidators", &change("2", &two))
        .unwrap_err();
    assert!(matches!(
        decode_revert(&err.0),
        Some(RevertReason::WrongEpoch { .. })
    ));
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

    // Unpausing is not the admin's alone (issue 9): a threshold of the validators signs it.
    let err = net.inbox(&admin, "setPaused", &pause(false)).unwrap_err();
    assert!(err.0.contains("threshold"), "{err}");
    let unpause_digest: Hash32 =
        String::from_utf8(net.inbox(&user, "unpauseDigest", &[b"1".to_vec()]).unwrap())
            .unwrap()
            .parse()
            .unwrap();
    let sigs = |net: &Net, members: &[usize]| -> Vec<u8> {
        members
            .iter()
            .map(|&i| net.committee.keys()[i].sign(&unpause_digest).to_hex())
            .collect::<Vec<_>>()
            .join(",")
            .into_bytes()
    };
    let err = net
        .inbox(&user, "unpause", &[b"1".to_vec(), sigs(&net, &[1])])
        .unwrap_err();
    assert!(matches!(
        decode_revert(&err.0),
        Some(RevertReason::BelowThreshold { .. })
    ));
    let (resumed, event) = net.call_with_event(
        &user,
        INBOX_CHAINCODE,
        "unpause",
        &[b"1".to_vec(), sigs(&net, &[0, 2])],
    );
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
    // Not paused: nothing to lift. Paused again: the old signatures lift nothing.
    let err = net
        .inbox(&user, "unpause", &[b"1".to_vec(), sigs(&net, &[0, 2])])
        .unwrap_err();
    assert_eq!(
        decode_revert(&err.0),
        Some(RevertReason::NotPaused { origin: ORIGIN })
    );
    net.inbox(&admin, "setPaused", &pause(true)).unwrap();
    let err = net
        .inbox(&user, "unpause", &[b"1".to_vec(), sigs(&net, &[0, 2])])
        .unwrap_err();
    assert!(matches!(
        decode_revert(&err.0),
        Some(RevertReason::UnknownValidator { .. })
    ));
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

    // A batch to a forbidden recipient is not refused: the message is refused for good (issue
    // 9) and nothing reaches the recipient.
    let forbidden_batch = net.batch(&["a"], recipient(), &[0, 1]);
    let results = net.deliver(json(&forbidden_batch)).unwrap();
    assert!(
        matches!(&results[0].outcome, MessageOutcome::Refused { reason } if reason.contains("forbidden")),
        "{results:?}"
    );
    let refused_id = forbidden_batch.items[0].message.id().to_hex();
    assert_eq!(
        net.query(INBOX_CHAINCODE, "status", refused_id.as_bytes()),
        "refused"
    );
    assert_eq!(net.count(), "0");
    let err = net.retry(&forbidden_batch.items[0].message).unwrap_err();
    assert!(matches!(
        decode_revert(&err.0),
        Some(RevertReason::NotFailed { .. })
    ));
    // Another message to it, from a log of another size.
    let batch = {
        let mut b = net.batch(&["z", "a"], recipient(), &[0, 1]);
        b.items.remove(0);
        b
    };
    let before = net.peer.world.clone();
    let err = net.retry(&knock).unwrap_err();
    assert_eq!(
        decode_revert(&err.0),
        Some(RevertReason::ForbiddenRecipient {
            recipient: gate.to_hex()
        })
    );
    assert_eq!(
        net.peer.world, before,
        "nothing written for a forbidden recipient's retry"
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
