//! Tests of the inbox chaincode through the [`crate::Stub`] of a transaction simulated on the
//! in-memory test peer ([`crate::support::Peer`]), by topic: delivery and replay
//! ([`delivery`]), each Solidity check by name with nothing written on refusal ([`refusals`]),
//! failed recipients and `retry` ([`recipients`]), the admin's validator sets and emergency
//! controls ([`admin`]). This module holds the network they share ([`Net`]).

#![allow(clippy::unwrap_used)]

mod admin;
mod delivery;
mod recipients;
mod refusals;

use causeway_proofs::{Nonce, SigningDomain};

use super::*;
use crate::recipient::{RECIPIENT_CHAINCODE, Recipient};
use crate::support::{Committee, Peer};
use crate::wire::{DeliveryBatch, WireBytes, decode_revert, parse_results};
use crate::{Chaincode, NetworkInfo, Response};

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
    ) -> Response {
        self.call_with_event(creator, chaincode, function, args).0
    }

    /// [`Net::call`], with the event the transaction set.
    fn call_with_event(
        &mut self,
        creator: &[u8],
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
    ) -> (Response, Option<Event>) {
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
    fn inbox(&mut self, creator: &[u8], function: &str, args: &[Vec<u8>]) -> Response {
        self.call(creator, INBOX_CHAINCODE, function, args)
    }

    /// `retry(message)` on the inbox, as the user.
    fn retry(&mut self, message: &Message) -> Response {
        let user = self.user.clone();
        self.inbox(&user, "retry", &[hex_message(message)])
    }

    /// Installs the [`Gate`] recipient, delivers a message to it while it is closed (the
    /// message fails) and opens it: a failed message that `retry` can deliver. Returns the
    /// gate's identity and the message.
    fn knock_at_gate(&mut self) -> (Address32, Message) {
        self.install("gate", Gate);
        let gate = Address32::from_name(&format!("{CHANNEL}/gate"));
        // Two undelivered leaves before it give the knock's log a size (3) of its own, so its
        // root never conflicts with the one-message logs the tests deliver afterwards.
        let mut knock = self.batch(&["pad", "pad", "knock"], gate, &[0, 1]);
        knock.items.drain(..2);
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

    /// Delivering `input` is refused with `expected` (case `name`), and nothing is written.
    fn assert_refused(&mut self, name: &str, input: Vec<u8>, expected: RevertReason) {
        let before = self.peer.world.clone();
        assert_eq!(self.deliver(input).unwrap_err(), expected, "{name}");
        assert_eq!(self.peer.world, before, "{name}: nothing written");
    }

    /// After refusals of its variants, `good` was never recorded and still goes through whole.
    fn assert_still_deliverable(&mut self, good: &DeliveryBatch) {
        let id0 = good.items[0].message.id();
        assert_eq!(
            self.query(INBOX_CHAINCODE, "status", id0.to_hex().as_bytes()),
            "none"
        );
        assert_eq!(self.deliver(json(good)).unwrap().len(), good.items.len());
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
        let mut batch = DeliveryBatch::logged(ORIGIN, messages, Vec::new());
        batch.signatures = self
            .committee
            .sign(&batch.checkpoint, &self.domain(), signers);
        batch
    }
}

fn recipient() -> Address32 {
    Address32::from_name(&format!("{CHANNEL}/{RECIPIENT_CHAINCODE}"))
}

fn json(batch: &DeliveryBatch) -> Vec<u8> {
    FabricDeliveryBatch::from_batch(batch).to_json()
}

fn hex_message(m: &Message) -> Vec<u8> {
    format!("0x{}", hex::encode(m.encode())).into_bytes()
}

/// A recipient that refuses messages until its `open` function was called.
struct Gate;

impl Chaincode for Gate {
    fn invoke(&self, stub: &mut dyn Stub, function: &str, _args: &[Vec<u8>]) -> Response {
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
