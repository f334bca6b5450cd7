//! Each bad batch is refused with the Solidity error `Inbox.sol` gives it, in the Solidity
//! order of checks (checkpoint, then signatures, then each message), and nothing is written:
//! afterwards the good batch the bad ones were made from is still new and goes through.

use super::*;
use causeway_proofs::attestation::testkit::malleate;

/// A network and a good batch of two messages to the example recipient, signed by members 0
/// and 1.
fn good_batch() -> (Net, DeliveryBatch) {
    let net = Net::new();
    let good = net.batch(&["x", "y"], recipient(), &[0, 1]);
    (net, good)
}

#[test]
fn a_bad_checkpoint_is_refused_by_name() {
    let (mut net, good) = good_batch();

    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.checkpoint.root = Hash32::ZERO;
    net.assert_refused("zero root", wire.to_json(), RevertReason::ZeroRoot);

    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.checkpoint.origin = Domain(99);
    net.assert_refused(
        "unknown origin",
        wire.to_json(),
        RevertReason::UnknownOrigin { origin: Domain(99) },
    );

    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.checkpoint.hash_algorithm = HashAlgorithm::Keccak256;
    net.assert_refused(
        "keccak log",
        wire.to_json(),
        RevertReason::UnsupportedHash { hash_algorithm: 2 },
    );

    net.assert_still_deliverable(&good);
}

#[test]
fn signatures_that_are_not_a_quorum_of_the_set_are_refused_by_name() {
    let (mut net, good) = good_batch();
    let digest = good.checkpoint.signing_digest(&net.domain());
    let signer0 = net.committee.keys()[0].address().to_hex();

    let outsider = causeway_proofs::ValidatorKey::from_bytes(&[7; 32]).unwrap();
    let mut forged = good.clone();
    forged.signatures[1] = outsider.sign(&digest);
    net.assert_refused(
        "non-validator",
        json(&forged),
        RevertReason::UnknownValidator {
            signer: outsider.address().to_hex(),
        },
    );

    let mut duplicate = good.clone();
    duplicate.signatures = vec![good.signatures[0], good.signatures[0]];
    net.assert_refused(
        "duplicate",
        json(&duplicate),
        RevertReason::DuplicateSigner { signer: signer0 },
    );

    let mut descending = good.clone();
    descending.signatures.reverse();
    net.assert_refused(
        "descending",
        json(&descending),
        RevertReason::SignersNotAscending { position: 1 },
    );

    let mut one = good.clone();
    one.signatures.truncate(1);
    net.assert_refused(
        "one of two",
        json(&one),
        RevertReason::BelowThreshold {
            valid: 1,
            threshold: 2,
        },
    );

    net.assert_still_deliverable(&good);
}

#[test]
fn malformed_and_high_s_signatures_are_refused_at_their_position() {
    let (mut net, good) = good_batch();

    let mut high = good.clone();
    high.signatures[0] = malleate(&good.signatures[0]);
    net.assert_refused("high s", json(&high), RevertReason::HighS { position: 0 });

    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.signatures[1] = WireBytes(vec![1; 64]);
    net.assert_refused(
        "64-byte signature",
        wire.to_json(),
        RevertReason::InvalidSignature { position: 1 },
    );

    let mut garbage = good.clone();
    garbage.signatures[0] = Signature([0; 65]);
    net.assert_refused(
        "zero signature",
        json(&garbage),
        RevertReason::InvalidSignature { position: 0 },
    );

    net.assert_still_deliverable(&good);
}

#[test]
fn a_checkpoint_signed_for_another_channels_inbox_is_refused() {
    let (mut net, good) = good_batch();
    // Signed for another channel's inbox: the digest differs, the signer is nobody.
    let other_channel = inbox_signing_domain(
        ORIGIN,
        ORIGIN_CHAIN_ID,
        LOCAL,
        LOCAL_CHAIN_ID,
        "other",
        INBOX_CHAINCODE,
        1,
    );
    let mut replayed = good.clone();
    replayed.signatures = net
        .committee
        .sign(&good.checkpoint, &other_channel, &[0, 1]);
    let refused = net.deliver(json(&replayed)).unwrap_err();
    assert!(
        matches!(refused, RevertReason::UnknownValidator { .. }),
        "{refused:?}"
    );
    net.assert_still_deliverable(&good);
}

#[test]
fn a_message_the_checkpoint_does_not_prove_for_this_inbox_is_refused_by_name() {
    let (mut net, good) = good_batch();

    let mut swapped = good.clone();
    swapped.items[0].proof = good.items[1].proof.clone();
    net.assert_refused(
        "proof of another message",
        json(&swapped),
        RevertReason::InvalidProof,
    );

    let m = &good.items[0].message;
    let other = Message::new(
        m.nonce(),
        ORIGIN,
        m.sender(),
        Domain(8),
        recipient(),
        b"x".to_vec(),
    )
    .unwrap();
    let elsewhere = net.signed(vec![other], &[0, 1]);
    net.assert_refused(
        "wrong destination",
        json(&elsewhere),
        RevertReason::WrongDestination {
            expected: LOCAL,
            actual: Domain(8),
        },
    );

    net.assert_still_deliverable(&good);

    // A message to the inbox itself does not refuse the batch: it is refused for good.
    let inbox = Address32::from_name(&format!("{CHANNEL}/{INBOX_CHAINCODE}"));
    let mut to_inbox = net.batch(&["p", "q", "pwn"], inbox, &[0, 1]);
    to_inbox.items.drain(..2);
    let results = net.deliver(json(&to_inbox)).unwrap();
    assert_eq!(
        results[0].outcome,
        MessageOutcome::Refused {
            reason: format!("forbidden recipient {inbox}")
        }
    );
}

#[test]
fn malformed_message_bytes_are_refused_by_name() {
    let (mut net, good) = good_batch();
    // Per-message checks, after the (valid) signatures, as `MessageCodec.check` and
    // `_deliver` make them.
    let bad_message = |bytes: Vec<u8>| {
        let mut wire = FabricDeliveryBatch::from_batch(&good);
        wire.items[0].message = WireBytes(bytes);
        wire.to_json()
    };
    let encoded = good.items[0].message.encode();
    net.assert_refused(
        "80-byte message",
        bad_message(encoded[..80].to_vec()),
        RevertReason::MessageTooShort,
    );
    let mut v2 = encoded.clone();
    v2[0] = 2;
    net.assert_refused(
        "version 2",
        bad_message(v2),
        RevertReason::UnsupportedVersion { version: 2 },
    );
    let mut huge = encoded.clone();
    huge.resize(81 + 65_537, 0);
    net.assert_refused(
        "oversize body",
        bad_message(huge),
        RevertReason::BodyTooLarge,
    );
    let mut other_origin = encoded.clone();
    other_origin[9..13].copy_from_slice(&2u32.to_be_bytes());
    net.assert_refused(
        "message from another origin",
        bad_message(other_origin),
        RevertReason::WrongDomain {
            expected: ORIGIN,
            actual: Domain(2),
        },
    );

    net.assert_still_deliverable(&good);
}

#[test]
fn a_checkpoint_signed_for_another_chain_id_is_refused() {
    let mut net = Net::new();
    let good = net.batch(&["a", "b"], recipient(), &[0, 1]);
    // The right channel and chaincode, domains, origin chain id and epoch; only the destination
    // chain id differs: another Fabric chain of the consortium with a same-named channel, or 0
    // (the old "Fabric has no chain id" convention).
    for chain_id in [LOCAL_CHAIN_ID + 1, 0] {
        let mut other = net.domain();
        other.destination_chain_id = chain_id;
        assert_eq!(
            other,
            inbox_signing_domain(
                ORIGIN,
                ORIGIN_CHAIN_ID,
                LOCAL,
                chain_id,
                CHANNEL,
                INBOX_CHAINCODE,
                1
            )
        );
        let mut replayed = good.clone();
        replayed.signatures = [0, 1]
            .iter()
            .map(|&i| net.committee.keys()[i].sign_checkpoint(&good.checkpoint, &other))
            .collect();
        let before = net.peer.world.clone();
        let refused = net.deliver(json(&replayed)).unwrap_err();
        assert!(
            matches!(refused, RevertReason::UnknownValidator { .. }),
            "chain id {chain_id}: {refused:?}"
        );
        assert_eq!(
            net.peer.world, before,
            "chain id {chain_id}: nothing written"
        );
    }
    assert_eq!(net.count(), "0");
    // Signed for this channel's chain id, the same checkpoint is delivered.
    assert_eq!(net.deliver(json(&good)).unwrap().len(), 2);
    assert_eq!(net.count(), "2");
}

#[test]
fn a_conflicting_checkpoint_is_refused_with_both_roots() {
    let (mut net, good) = good_batch();
    assert_eq!(net.deliver(json(&good)).unwrap().len(), 2);
    // The same threshold signs another log of the same size.
    let forged = net.batch(&["rewritten", "history"], recipient(), &[0, 1]);
    assert_eq!(forged.checkpoint.size(), good.checkpoint.size());
    net.assert_refused(
        "equivocation",
        json(&forged),
        RevertReason::ConflictingCheckpoint {
            origin: ORIGIN,
            size: 2,
            known: good.checkpoint.root(),
            offered: forged.checkpoint.root(),
        },
    );
    let id = forged.items[0].message.id().to_hex();
    assert_eq!(net.query(INBOX_CHAINCODE, "status", id.as_bytes()), "none");
}
