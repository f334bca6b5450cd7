//! Tests of the inbox chaincode through the [`crate::Stub`] of a transaction simulated on the
//! in-memory test peer ([`crate::support::Peer`]): each Solidity check by name, nothing
//! written on refusal, failed recipients and `retry`, validator-set administration.

#![allow(clippy::unwrap_used)]

use causeway_proofs::{Nonce, SigningDomain};

use super::*;
use crate::recipient::{RECIPIENT_CHAINCODE, Recipient};
use crate::support::{Committee, OriginLog, Peer};
use crate::wire::{DeliveryBatch, DeliveryItem, WireBytes, decode_revert, parse_results};
use crate::{Chaincode, NetworkInfo};

const CHANNEL: &str = "causeway";
const LOCAL: Domain = Domain(7);
const ORIGIN: Domain = Domain(1);
const ORIGIN_CHAIN_ID: u64 = 31337;
/// The configured chain id of the inbox's channel.
const LOCAL_CHAIN_ID: u64 = 2001;

/// The serialized identity of `cn` in `mspid`: the chaincodes only compare and hash the
/// creator's bytes, so any distinct bytes stand for a `msp.SerializedIdentity` here.
fn identity(mspid: &str, cn: &str) -> Vec<u8> {
    format!("{mspid}/{cn}").into_bytes()
}

/// A chaincode event: its name and payload.
type Event = (String, Vec<u8>);

struct Net {
    peer: Peer,
    user: Vec<u8>,
    committee: Committee,
}

impl Net {
    fn new() -> Net {
        let mut peer = Peer::new(NetworkInfo {
            channel: CHANNEL.to_owned(),
            domain: LOCAL,
            chain_id: LOCAL_CHAIN_ID,
            admin: identity("Org1MSP", "Admin@org1"),
        });
        peer.install(INBOX_CHAINCODE, Inbox);
        peer.install(RECIPIENT_CHAINCODE, Recipient);
        let mut net = Net {
            peer,
            user: identity("Org1MSP", "User1@org1"),
            committee: Committee::new("fabric-inbox-unit", 3),
        };
        let validators: Vec<String> = net
            .committee
            .keys()
            .iter()
            .map(|k| k.address().to_hex())
            .collect();
        let admin = net.admin();
        let epoch = net
            .inbox(
                &admin,
                "setValidators",
                &[
                    b"1".to_vec(),
                    ORIGIN_CHAIN_ID.to_string().into_bytes(),
                    b"2".to_vec(),
                    validators.join(",").into_bytes(),
                ],
            )
            .unwrap();
        assert_eq!(epoch, b"1");
        net
    }

    /// The inbox admin's identity.
    fn admin(&self) -> Vec<u8> {
        self.peer.network.admin.clone()
    }

    /// Installs `chaincode` under `name`.
    fn install(&mut self, name: &str, chaincode: impl Chaincode + 'static) {
        self.peer.install(name, chaincode);
    }

    /// The committed value of `key` in `namespace`.
    fn stored(&self, namespace: &str, key: &str) -> Option<&Vec<u8>> {
        self.peer.world.get(&(namespace.to_owned(), key.to_owned()))
    }

    /// Simulates and, on success, commits.
    fn call(
        &mut self,
        creator: &[u8],
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ChaincodeError> {
        self.call_with_event(creator, chaincode, function, args).0
    }

    /// [`Net::call`], with the event the transaction set.
    fn call_with_event(
        &mut self,
        creator: &[u8],
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
    ) -> (Result<Vec<u8>, ChaincodeError>, Option<Event>) {
        let tx = self.peer.submit(creator, chaincode, function, args);
        (tx.result, tx.event)
    }

    fn deliver(&mut self, json: Vec<u8>) -> Result<Vec<DeliveryResult>, RevertReason> {
        let user = self.user.clone();
        self.inbox(&user, "deliverBatch", &[json])
            .map(|payload| parse_results(&payload).unwrap())
            .map_err(|e| decode_revert(&e.0).unwrap_or(RevertReason::Message { message: e.0 }))
    }

    fn query(&mut self, chaincode: &str, function: &str, arg: &[u8]) -> String {
        let user = self.user.clone();
        let out = self
            .call(&user, chaincode, function, &[arg.to_vec()])
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// `function` of the inbox as `creator`.
    fn inbox(
        &mut self,
        creator: &[u8],
        function: &str,
        args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ChaincodeError> {
        self.call(creator, INBOX_CHAINCODE, function, args)
    }

    /// `retry(message)` on the inbox, as the user.
    fn retry(&mut self, message: &Message) -> Result<Vec<u8>, ChaincodeError> {
        let user = self.user.clone();
        self.inbox(&user, "retry", &[hex_message(message)])
    }

    /// Installs the [`Gate`] recipient, delivers a message to it while it is closed (the
    /// message fails) and opens it: a failed message that `retry` can deliver. Returns the
    /// gate's identity and the message.
    fn knock_at_gate(&mut self) -> (Address32, Message) {
        self.install("gate", Gate);
        let gate = Address32::from_name(&format!("{CHANNEL}/gate"));
        let knock = self.batch(&["knock"], gate, &[0, 1]);
        assert!(matches!(
            self.deliver(json(&knock)).unwrap()[0].outcome,
            MessageOutcome::Failed { .. }
        ));
        let user = self.user.clone();
        self.call(&user, "gate", "open", &[]).unwrap();
        (gate, knock.items[0].message.clone())
    }

    /// The outcome of `retry(message)`, which must succeed.
    fn retry_outcome(&mut self, message: &Message) -> MessageOutcome {
        let payload = self.retry(message).unwrap();
        parse_results(&payload).unwrap().remove(0).outcome
    }

    /// The inbox reports message `id` (hex) delivered: by `isDelivered` and by `status`.
    fn assert_delivered(&mut self, id: &str) {
        assert_eq!(
            self.query(INBOX_CHAINCODE, "isDelivered", id.as_bytes()),
            "true"
        );
        assert_eq!(
            self.query(INBOX_CHAINCODE, "status", id.as_bytes()),
            "delivered"
        );
    }

    fn count(&mut self) -> String {
        let user = self.user.clone();
        String::from_utf8(self.call(&user, RECIPIENT_CHAINCODE, "count", &[]).unwrap()).unwrap()
    }

    fn domain(&self) -> SigningDomain {
        inbox_signing_domain(
            ORIGIN,
            ORIGIN_CHAIN_ID,
            LOCAL,
            LOCAL_CHAIN_ID,
            CHANNEL,
            INBOX_CHAINCODE,
            1,
        )
    }

    /// A batch of `bodies` to `recipient`, signed by committee members `signers`.
    fn batch(&self, bodies: &[&str], recipient: Address32, signers: &[usize]) -> DeliveryBatch {
        let messages: Vec<Message> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                Message::new(
                    Nonce(i as u64),
                    ORIGIN,
                    Address32([5; 32]),
                    LOCAL,
                    recipient,
                    b.as_bytes().to_vec(),
                )
                .unwrap()
            })
            .collect();
        self.signed(messages, signers)
    }

    /// A batch of `messages`, logged in order and signed by committee members `signers`.
    fn signed(&self, messages: Vec<Message>, signers: &[usize]) -> DeliveryBatch {
        let mut log = OriginLog::default();
        for m in &messages {
            log.append(m);
        }
        let checkpoint = log.checkpoint(ORIGIN);
        let signatures = self.committee.sign(&checkpoint, &self.domain(), signers);
        DeliveryBatch {
            checkpoint,
            signatures,
            items: messages
                .into_iter()
                .enumerate()
                .map(|(i, message)| DeliveryItem {
                    message,
                    proof: log.proof(i),
                })
                .collect(),
        }
    }
}

fn recipient() -> Address32 {
    Address32::from_name(&format!("{CHANNEL}/{RECIPIENT_CHAINCODE}"))
}

fn json(batch: &DeliveryBatch) -> Vec<u8> {
    FabricDeliveryBatch::from_batch(batch).to_json()
}

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
    let replay = net.deliver(json(&batch)).unwrap_err();
    assert_eq!(
        replay,
        RevertReason::AlreadyDelivered {
            id: batch.items[0].message.id()
        }
    );
    assert_eq!(net.count(), "3");
    // A batch repeating one message in itself is a replay too.
    let twice = net.batch(&["d"], recipient(), &[0, 1]);
    let mut doubled = twice.clone();
    doubled.items.push(twice.items[0].clone());
    assert_eq!(
        net.deliver(json(&doubled)).unwrap_err(),
        RevertReason::AlreadyDelivered {
            id: twice.items[0].message.id()
        }
    );
    assert_eq!(net.count(), "3");
}

#[test]
fn each_bad_batch_is_refused_with_the_solidity_error_and_nothing_is_written() {
    let mut net = Net::new();
    let good = net.batch(&["x", "y"], recipient(), &[0, 1]);
    let id0 = good.items[0].message.id();
    let keys = net.committee.keys();
    let digest = good.checkpoint.signing_digest(&net.domain());

    let mut cases: Vec<(&str, Vec<u8>, RevertReason)> = Vec::new();
    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.checkpoint.root = Hash32::ZERO;
    cases.push(("zero root", wire.to_json(), RevertReason::ZeroRoot));

    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.checkpoint.origin = Domain(99);
    cases.push((
        "unknown origin",
        wire.to_json(),
        RevertReason::UnknownOrigin { origin: Domain(99) },
    ));

    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.checkpoint.hash_algorithm = HashAlgorithm::Keccak256;
    cases.push((
        "keccak log",
        wire.to_json(),
        RevertReason::UnsupportedHash { hash_algorithm: 2 },
    ));

    let outsider = causeway_proofs::ValidatorKey::from_bytes(&[7; 32]).unwrap();
    let mut forged = good.clone();
    forged.signatures[1] = outsider.sign(&digest);
    cases.push((
        "non-validator",
        json(&forged),
        RevertReason::UnknownValidator {
            signer: outsider.address().to_hex(),
        },
    ));

    let mut duplicate = good.clone();
    duplicate.signatures = vec![good.signatures[0], good.signatures[0]];
    cases.push((
        "duplicate",
        json(&duplicate),
        RevertReason::DuplicateSigner {
            signer: keys[0].address().to_hex(),
        },
    ));

    let mut descending = good.clone();
    descending.signatures.reverse();
    cases.push((
        "descending",
        json(&descending),
        RevertReason::SignersNotAscending { position: 1 },
    ));

    let mut high = good.clone();
    high.signatures[0] = malleate(&good.signatures[0]);
    cases.push(("high s", json(&high), RevertReason::HighS { position: 0 }));

    let mut one = good.clone();
    one.signatures.truncate(1);
    cases.push((
        "one of two",
        json(&one),
        RevertReason::BelowThreshold {
            valid: 1,
            threshold: 2,
        },
    ));

    let mut wire = FabricDeliveryBatch::from_batch(&good);
    wire.signatures[1] = WireBytes(vec![1; 64]);
    cases.push((
        "64-byte signature",
        wire.to_json(),
        RevertReason::InvalidSignature { position: 1 },
    ));

    let mut garbage = good.clone();
    garbage.signatures[0] = Signature([0; 65]);
    cases.push((
        "zero signature",
        json(&garbage),
        RevertReason::InvalidSignature { position: 0 },
    ));

    let mut swapped = good.clone();
    swapped.items[0].proof = good.items[1].proof.clone();
    cases.push((
        "proof of another message",
        json(&swapped),
        RevertReason::InvalidProof,
    ));

    let elsewhere = {
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
        net.signed(vec![other], &[0, 1])
    };
    cases.push((
        "wrong destination",
        json(&elsewhere),
        RevertReason::WrongDestination {
            expected: LOCAL,
            actual: Domain(8),
        },
    ));

    let to_inbox = net.batch(
        &["pwn"],
        Address32::from_name(&format!("{CHANNEL}/{INBOX_CHAINCODE}")),
        &[0, 1],
    );
    cases.push((
        "recipient = inbox",
        json(&to_inbox),
        RevertReason::ForbiddenRecipient {
            recipient: Address32::from_name(&format!("{CHANNEL}/{INBOX_CHAINCODE}")).to_hex(),
        },
    ));

    // Per-message checks, after the (valid) signatures, as `MessageCodec.check` and
    // `_deliver` make them.
    let bad_message = |bytes: Vec<u8>| {
        let mut wire = FabricDeliveryBatch::from_batch(&good);
        wire.items[0].message = WireBytes(bytes);
        wire.to_json()
    };
    let encoded = good.items[0].message.encode();
    cases.push((
        "80-byte message",
        bad_message(encoded[..80].to_vec()),
        RevertReason::MessageTooShort,
    ));
    let mut v2 = encoded.clone();
    v2[0] = 2;
    cases.push((
        "version 2",
        bad_message(v2),
        RevertReason::UnsupportedVersion { version: 2 },
    ));
    let mut huge = encoded.clone();
    huge.resize(81 + 65_537, 0);
    cases.push((
        "oversize body",
        bad_message(huge),
        RevertReason::BodyTooLarge,
    ));
    let mut other_origin = encoded.clone();
    other_origin[9..13].copy_from_slice(&2u32.to_be_bytes());
    cases.push((
        "message from another origin",
        bad_message(other_origin),
        RevertReason::WrongDomain {
            expected: ORIGIN,
            actual: Domain(2),
        },
    ));

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
    replayed.signatures = vec![
        keys[0].sign_checkpoint(&good.checkpoint, &other_channel),
        keys[1].sign_checkpoint(&good.checkpoint, &other_channel),
    ];
    let refused = net.deliver(json(&replayed)).unwrap_err();
    assert!(
        matches!(refused, RevertReason::UnknownValidator { .. }),
        "{refused:?}"
    );

    for (name, input, expected) in cases {
        let before = net.peer.world.clone();
        assert_eq!(net.deliver(input).unwrap_err(), expected, "{name}");
        assert_eq!(net.peer.world, before, "{name}: nothing written");
    }
    assert_eq!(
        net.query(INBOX_CHAINCODE, "status", id0.to_hex().as_bytes()),
        "none"
    );
    // The good batch still goes through afterwards.
    assert_eq!(net.deliver(json(&good)).unwrap().len(), 2);
}

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
    // Failed is not "never seen": delivering it again is a replay.
    assert!(matches!(
        net.deliver(json(&batch)),
        Err(RevertReason::AlreadyDelivered { .. })
    ));

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

/// A recipient that refuses messages until its `open` function was called.
struct Gate;

impl Chaincode for Gate {
    fn invoke(
        &self,
        stub: &mut dyn Stub,
        function: &str,
        _args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ChaincodeError> {
        match function {
            "open" => {
                stub.put_state("open", b"1".to_vec());
                Ok(Vec::new())
            }
            "handle" if stub.get_state("open").is_some() => {
                stub.put_state("handled", b"1".to_vec());
                Ok(Vec::new())
            }
            _ => Err(ChaincodeError::new("closed")),
        }
    }
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

/// The malleated twin of a low-s signature: (r, n - s, v ^ 1).
fn malleate(sig: &Signature) -> Signature {
    // secp256k1 group order (SEC 2 v2, section 2.4.1).
    let n =
        hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").unwrap();
    let s = sig.s();
    let mut out = sig.0;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[32 + i] = u8::try_from(d).unwrap();
    }
    out[64] ^= 27 ^ 28; // 27 <-> 28
    Signature(out)
}

/// A recipient that counts its attempts *before* checking that it accepts the message, the
/// mistake the inbox's docs warn about: on Fabric the count of a failed attempt is kept.
struct CountsFirst;

impl Chaincode for CountsFirst {
    fn invoke(
        &self,
        stub: &mut dyn Stub,
        function: &str,
        args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ChaincodeError> {
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

fn hex_message(m: &Message) -> Vec<u8> {
    format!("0x{}", hex::encode(m.encode())).into_bytes()
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
    fn invoke(
        &self,
        stub: &mut dyn Stub,
        _function: &str,
        _args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ChaincodeError> {
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

/// A recipient that, while handling its message, delivers `batch` again through the inbox and
/// stores what the inbox answered.
struct Reenter(Vec<u8>);

impl Chaincode for Reenter {
    fn invoke(
        &self,
        stub: &mut dyn Stub,
        _function: &str,
        _args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ChaincodeError> {
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
    assert!(nested.contains("AlreadyDelivered"), "{nested}");
    assert_eq!(stored("handled"), vec![1], "handled once");
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
