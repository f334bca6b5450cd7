//! The canonical cross-chain [`Message`]: one packed byte layout, the same on every chain, whose
//! keccak-256 is its [`MessageId`].
//!
//! Layout (version 1, big-endian integers; Solidity slices it with `abi.decodePacked`-style
//! offsets, see `notes/wire.md`):
//!
//! | offset | size | field                               |
//! |-------:|-----:|-------------------------------------|
//! | 0      | 1    | version (= 1)                       |
//! | 1      | 8    | nonce (u64)                         |
//! | 9      | 4    | origin domain (u32)                 |
//! | 13     | 32   | sender                              |
//! | 45     | 4    | destination domain (u32)            |
//! | 49     | 32   | recipient                           |
//! | 81     | ..   | body, 0..=[`MAX_BODY_LEN`] bytes    |
//!
//! The id covers the origin's identity (origin domain, sender) and the Outbox nonce, so it is the
//! replay key at every destination: never a signature, a block position or a log index.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::attestation::EvmAddress;
use crate::hash::{keccak256, parse_hex_array, parse_hex_vec};
use crate::{Error, Hash32};

/// Largest message body, in bytes (64 KiB). Bounds what a relayer, a destination contract or a
/// proof-bundle reader ever has to hold for one message.
pub const MAX_BODY_LEN: usize = 65_536;
/// Length of the fixed header before the body.
pub const HEADER_LEN: usize = 81;
/// Largest encoded message: header plus the largest body.
pub const MAX_MESSAGE_LEN: usize = HEADER_LEN + MAX_BODY_LEN;

/// A configured chain's identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Domain(pub u32);

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The per-origin sequence number the Outbox assigns to each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Nonce(pub u64);

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A 32-byte account identity: a message's sender or recipient, or a destination's inbox.
///
/// An EVM address is left-padded with 12 zero bytes (as Solidity's `bytes32(uint256(uint160(a)))`);
/// other chain families use the keccak-256 of a name (see [`Address32::from_name`]).
/// Serialised as `0x`-prefixed lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address32(pub [u8; 32]);

impl Address32 {
    /// The identity of a non-EVM account or contract: keccak-256 of its UTF-8 name, e.g.
    /// `"channel/chaincode"` for a Fabric chaincode.
    pub fn from_name(name: &str) -> Self {
        Address32(keccak256(name.as_bytes()).0)
    }

    /// The EVM address this value left-pads, if its first 12 bytes are zero.
    pub fn to_evm(&self) -> Option<EvmAddress> {
        let (pad, addr) = self.0.split_at(12);
        if pad.iter().any(|b| *b != 0) {
            return None;
        }
        let mut out = [0u8; 20];
        out.copy_from_slice(addr);
        Some(EvmAddress(out))
    }

    /// Whether every byte is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0u8; 32]
    }

    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        crate::hash::to_0x_hex(&self.0)
    }
}

impl From<EvmAddress> for Address32 {
    fn from(a: EvmAddress) -> Self {
        let mut out = [0u8; 32];
        out[12..].copy_from_slice(&a.0);
        Address32(out)
    }
}

impl From<Hash32> for Address32 {
    fn from(h: Hash32) -> Self {
        Address32(h.0)
    }
}

impl fmt::Display for Address32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Address32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Address32 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        parse_hex_array::<32>(s, "32-byte address").map(Address32)
    }
}

crate::serde_as_text!(Address32, Address32::to_hex);

/// A message's identity: keccak-256 of its canonical encoding. It is the Merkle leaf data
/// (the log stores `H(0x00 ‖ id)`) and the replay key at every destination.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub Hash32);

impl MessageId {
    /// The id as a [`Hash32`], the form `MerkleLog::append` and `InclusionProof::verify` take.
    pub fn as_hash(&self) -> &Hash32 {
        &self.0
    }

    /// `0x`-prefixed lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.to_hex()
    }
}

impl From<MessageId> for Hash32 {
    fn from(id: MessageId) -> Self {
        id.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.0)
    }
}

impl FromStr for MessageId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        s.parse().map(MessageId)
    }
}

/// A version-1 cross-chain message. One that exists has a body of at most [`MAX_BODY_LEN`]
/// bytes, so it always encodes; [`Message::decode`] accepts exactly the bytes
/// [`Message::encode`] produces.
///
/// Its JSON form (for APIs) names every field, with hex for the byte fields:
/// `{"version":1,"nonce":7,"origin":1,"sender":"0x…","destination":2,"recipient":"0x…","body":"0x…"}`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Message {
    nonce: Nonce,
    origin: Domain,
    sender: Address32,
    destination: Domain,
    recipient: Address32,
    body: Vec<u8>,
    /// keccak-256 of the encoding, computed once: the fields never change after construction,
    /// and the pipeline asks for a message's id at every step (store, batch, proof, Inbox
    /// check), which re-encoded and re-hashed it each time (~6 % of a gateway's CPU in
    /// `bench pipeline`).
    id: MessageId,
}

impl Message {
    /// The message format version this build speaks.
    pub const VERSION: u8 = 1;

    /// A message; fails with [`Error::BodyTooLarge`] if `body` exceeds [`MAX_BODY_LEN`].
    pub fn new(
        nonce: Nonce,
        origin: Domain,
        sender: Address32,
        destination: Domain,
        recipient: Address32,
        body: Vec<u8>,
    ) -> Result<Self, Error> {
        if body.len() > MAX_BODY_LEN {
            return Err(Error::BodyTooLarge {
                len: body.len(),
                max: MAX_BODY_LEN,
            });
        }
        let mut m = Message {
            nonce,
            origin,
            sender,
            destination,
            recipient,
            body,
            id: MessageId(Hash32([0; 32])),
        };
        m.id = MessageId(keccak256(&m.encode()));
        Ok(m)
    }

    /// The format version (always [`Message::VERSION`]).
    pub fn version(&self) -> u8 {
        Self::VERSION
    }
    /// The Outbox nonce.
    pub fn nonce(&self) -> Nonce {
        self.nonce
    }
    /// The origin chain's domain.
    pub fn origin(&self) -> Domain {
        self.origin
    }
    /// Who sent it on the origin chain.
    pub fn sender(&self) -> Address32 {
        self.sender
    }
    /// The destination chain's domain.
    pub fn destination(&self) -> Domain {
        self.destination
    }
    /// Who receives it on the destination chain.
    pub fn recipient(&self) -> Address32 {
        self.recipient
    }
    /// The application payload (for a private message, a commitment, never plaintext).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The canonical packed encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.body.len());
        out.push(Self::VERSION);
        out.extend_from_slice(&self.nonce.0.to_be_bytes());
        out.extend_from_slice(&self.origin.0.to_be_bytes());
        out.extend_from_slice(&self.sender.0);
        out.extend_from_slice(&self.destination.0.to_be_bytes());
        out.extend_from_slice(&self.recipient.0);
        out.extend_from_slice(&self.body);
        out
    }

    /// Parses the canonical encoding, strictly: fewer than [`HEADER_LEN`] bytes is
    /// [`Error::MessageTooShort`], a version other than 1 is [`Error::UnsupportedVersion`], a body
    /// over [`MAX_BODY_LEN`] is [`Error::BodyTooLarge`]. Every accepted input re-encodes to itself.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let Some((header, body)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(Error::MessageTooShort {
                len: bytes.len(),
                min: HEADER_LEN,
            });
        };
        if header[0] != Self::VERSION {
            return Err(Error::UnsupportedVersion {
                version: header[0],
                supported: Self::VERSION,
            });
        }
        if body.len() > MAX_BODY_LEN {
            return Err(Error::BodyTooLarge {
                len: body.len(),
                max: MAX_BODY_LEN,
            });
        }
        let nonce = u64::from_be_bytes(fixed(&header[1..9]));
        let origin = u32::from_be_bytes(fixed(&header[9..13]));
        let sender = fixed(&header[13..45]);
        let destination = u32::from_be_bytes(fixed(&header[45..49]));
        let recipient = fixed(&header[49..81]);
        Ok(Message {
            nonce: Nonce(nonce),
            origin: Domain(origin),
            sender: Address32(sender),
            destination: Domain(destination),
            recipient: Address32(recipient),
            body: body.to_vec(),
            id: MessageId(keccak256(bytes)),
        })
    }

    /// keccak-256 of [`Message::encode`] (computed when the message was made).
    pub fn id(&self) -> MessageId {
        self.id
    }
}

/// Copies a slice whose length the caller fixed by its range into an array.
fn fixed<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    out
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("nonce", &self.nonce.0)
            .field("origin", &self.origin.0)
            .field("sender", &self.sender)
            .field("destination", &self.destination.0)
            .field("recipient", &self.recipient)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The JSON shape of a [`Message`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageJson {
    version: u8,
    nonce: Nonce,
    origin: Domain,
    sender: Address32,
    destination: Domain,
    recipient: Address32,
    body: String,
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MessageJson {
            version: Self::VERSION,
            nonce: self.nonce,
            origin: self.origin,
            sender: self.sender,
            destination: self.destination,
            recipient: self.recipient,
            body: crate::hash::to_0x_hex(&self.body),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = MessageJson::deserialize(d)?;
        if j.version != Self::VERSION {
            return Err(serde::de::Error::custom(Error::UnsupportedVersion {
                version: j.version,
                supported: Self::VERSION,
            }));
        }
        let body = parse_hex_vec(&j.body, "message body", MAX_BODY_LEN)
            .map_err(serde::de::Error::custom)?;
        Message::new(
            j.nonce,
            j.origin,
            j.sender,
            j.destination,
            j.recipient,
            body,
        )
        .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evm_address_left_pads_and_back() {
        let a = EvmAddress([0x11; 20]);
        let p = Address32::from(a);
        assert_eq!(&p.0[..12], &[0u8; 12]);
        assert_eq!(p.to_evm(), Some(a));
        assert_eq!(Address32([1; 32]).to_evm(), None);
    }

    /// The id is computed once, when the message is made: every way of making one (new,
    /// decode, JSON) must give keccak-256 of the encoding.
    #[test]
    fn the_kept_id_is_the_hash_of_the_encoding_however_the_message_was_made() {
        let m = Message::new(
            Nonce(9),
            Domain(7),
            Address32([3; 32]),
            Domain(8),
            Address32([4; 32]),
            b"hello".to_vec(),
        )
        .expect("small body");
        let want = MessageId(keccak256(&m.encode()));
        assert_eq!(m.id(), want);
        let decoded = Message::decode(&m.encode()).expect("decodes");
        assert_eq!(decoded.id(), want);
        let json: Message =
            serde_json::from_str(&serde_json::to_string(&m).expect("serialises")).expect("parses");
        assert_eq!(json.id(), want);
        let other = Message::new(
            Nonce(10),
            Domain(7),
            Address32([3; 32]),
            Domain(8),
            Address32([4; 32]),
            b"hello".to_vec(),
        )
        .expect("small body");
        assert_ne!(other.id(), want, "another nonce, another id");
    }

    #[test]
    fn json_round_trip_and_body_limit() {
        let m = Message::new(
            Nonce(3),
            Domain(1),
            Address32([1; 32]),
            Domain(2),
            Address32([2; 32]),
            vec![0xde, 0xad],
        )
        .expect("small body");
        let j = serde_json::to_string(&m).expect("serialises");
        assert!(j.contains("\"body\":\"0xdead\""), "{j}");
        assert_eq!(serde_json::from_str::<Message>(&j).expect("parses"), m);
        let big = j.replace("0xdead", &format!("0x{}", "00".repeat(MAX_BODY_LEN + 1)));
        assert!(serde_json::from_str::<Message>(&big).is_err());
        let v2 = j.replace("\"version\":1", "\"version\":2");
        assert!(serde_json::from_str::<Message>(&v2).is_err());
    }
}
