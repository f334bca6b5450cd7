//! The envelope header: its types, its byte encoding and its strict, bounded parser.
//!
//! Every field has a fixed width, so the encoding of a parsed header is byte-identical to its
//! input: there is no slack where a flipped bit could go unnoticed. Counts are checked against
//! [`MAX_READERS`] before anything is read, and nothing is allocated from a length field beyond
//! that bound.

use core::fmt;
use core::str::FromStr;
use std::collections::BTreeSet;
use std::io::{self, Read, Write};

use causeway_proofs::message::{Address32, Nonce};
use causeway_proofs::{Domain, Hash32};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::history::{ENTRY_LEN, EntryKind, HistoryEntry};
use crate::Error;
use crate::disclosure::PayloadRoot;
use crate::hpke::EncappedKey;
use crate::keys::{KEY_ID_LEN, KEY_LEN, KeyId};

/// The first four bytes of every envelope.
pub const MAGIC: [u8; 4] = *b"CWEV";
/// The envelope format version this build writes and reads.
pub const VERSION: u8 = 2;
/// Suite 1: DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 + AES-256-GCM key wrapping (HPKE base
/// mode), HKDF-SHA256 key derivation and commitment, AES-256-GCM STREAM with 64 KiB chunks.
pub const SUITE: u8 = 1;
/// Most recipients plus grantees an envelope may name.
pub const MAX_READERS: usize = 1024;

/// Bytes of the envelope id.
pub const ENVELOPE_ID_LEN: usize = 16;
/// Bytes of the encoded [`EnvelopeContext`].
pub const CONTEXT_LEN: usize = 4 + 4 + 8 + 32;
/// Bytes of magic, version, suite, envelope id, context, disclosure root and leaf count.
pub(crate) const PREAMBLE_LEN: usize = 4 + 1 + 1 + ENVELOPE_ID_LEN + CONTEXT_LEN + 32 + 8;
/// A wrapped 32-byte content key with its 16-byte tag.
pub(crate) const WRAPPED_LEN: usize = 32 + 16;
/// Bytes of a recipient block.
pub(crate) const RECIPIENT_BLOCK_LEN: usize = KEY_ID_LEN + KEY_LEN + WRAPPED_LEN;
/// Bytes of the key commitment.
pub(crate) const TAG_LEN: usize = 32;

/// A random identifier of one envelope. Hex in text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvelopeId(pub [u8; ENVELOPE_ID_LEN]);

impl fmt::Display for EnvelopeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for EnvelopeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnvelopeId({})", hex::encode(self.0))
    }
}

impl FromStr for EnvelopeId {
    type Err = causeway_proofs::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        causeway_proofs::hash::parse_hex_array::<ENVELOPE_ID_LEN>(s, "envelope id").map(EnvelopeId)
    }
}

causeway_proofs::serde_as_text!(EnvelopeId, EnvelopeId::to_string);

/// The message an envelope belongs to. Authenticated by the header: changing any field makes
/// every recipient's unwrap fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeContext {
    /// The origin chain.
    pub origin: Domain,
    /// The destination chain.
    pub destination: Domain,
    /// The message's nonce on its origin.
    pub nonce: Nonce,
    /// The message's sender. Bound, not authenticated: base-mode HPKE does not prove who
    /// sealed; the on-chain message (emitted by the sender) does.
    pub sender: Address32,
}

impl EnvelopeContext {
    /// `origin (u32 BE) ‖ destination (u32 BE) ‖ nonce (u64 BE) ‖ sender (32)`.
    pub fn to_bytes(&self) -> [u8; CONTEXT_LEN] {
        let mut out = [0u8; CONTEXT_LEN];
        out[0..4].copy_from_slice(&self.origin.0.to_be_bytes());
        out[4..8].copy_from_slice(&self.destination.0.to_be_bytes());
        out[8..16].copy_from_slice(&self.nonce.0.to_be_bytes());
        out[16..48].copy_from_slice(&self.sender.0);
        out
    }

    fn from_bytes(b: &[u8; CONTEXT_LEN]) -> Self {
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&b[8..16]);
        let mut sender = [0u8; 32];
        sender.copy_from_slice(&b[16..48]);
        EnvelopeContext {
            origin: Domain(u32_at(0)),
            destination: Domain(u32_at(4)),
            nonce: Nonce(u64::from_be_bytes(nonce)),
            sender: Address32(sender),
        }
    }
}

/// The content key wrapped for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RecipientBlock {
    pub(crate) key_id: KeyId,
    pub(crate) enc: EncappedKey,
    pub(crate) wrapped: [u8; WRAPPED_LEN],
}

/// A parsed envelope header: structurally valid, not yet authenticated (that needs a reader's
/// key; see [`EnvelopeHeader::open_payload`](crate::envelope::EnvelopeHeader::open_payload)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeHeader {
    pub(crate) id: EnvelopeId,
    pub(crate) context: EnvelopeContext,
    pub(crate) disclosure_root: Hash32,
    pub(crate) disclosure_leaves: u64,
    pub(crate) recipients: Vec<RecipientBlock>,
    pub(crate) key_commitment: [u8; TAG_LEN],
    pub(crate) history: Vec<HistoryEntry>,
}

impl EnvelopeHeader {
    /// The envelope's id.
    pub fn id(&self) -> EnvelopeId {
        self.id
    }

    /// The message context.
    pub fn context(&self) -> &EnvelopeContext {
        &self.context
    }

    /// The selective-disclosure root and leaf count this header carries (zero and 0 when the
    /// payload has no disclosure tree). Authenticated once a reader opened the envelope.
    pub fn disclosure(&self) -> (PayloadRoot, u64) {
        (PayloadRoot(self.disclosure_root), self.disclosure_leaves)
    }

    /// Key ids of the original recipients, in header order.
    pub fn recipients(&self) -> Vec<KeyId> {
        self.recipients.iter().map(|r| r.key_id).collect()
    }

    /// Key ids of everyone with access now: recipients, then grantees in grant order
    /// (revoked ones left out).
    pub fn readers(&self) -> Vec<KeyId> {
        let revoked: BTreeSet<KeyId> = self
            .history
            .iter()
            .filter(|e| e.kind == EntryKind::Revoke)
            .map(|e| e.subject)
            .collect();
        let grantees = self
            .history
            .iter()
            .filter(|e| e.kind == EntryKind::Grant && !revoked.contains(&e.subject))
            .map(|e| e.subject);
        self.recipients
            .iter()
            .map(|r| r.key_id)
            .chain(grantees)
            .collect()
    }

    /// Length of the encoded header in bytes.
    pub fn encoded_len(&self) -> usize {
        PREAMBLE_LEN
            + 2
            + self.recipients.len() * RECIPIENT_BLOCK_LEN
            + TAG_LEN
            + 2
            + self.history.len() * ENTRY_LEN
    }

    /// `magic ‖ version ‖ suite ‖ id ‖ context ‖ disclosure root ‖ disclosure leaves`.
    pub(crate) fn preamble_bytes(&self) -> [u8; PREAMBLE_LEN] {
        let mut out = [0u8; PREAMBLE_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = VERSION;
        out[5] = SUITE;
        out[6..22].copy_from_slice(&self.id.0);
        out[22..70].copy_from_slice(&self.context.to_bytes());
        out[70..102].copy_from_slice(&self.disclosure_root.0);
        out[102..].copy_from_slice(&self.disclosure_leaves.to_be_bytes());
        out
    }

    /// The header digest bound by the on-chain commitment: SHA-256 of the header as sealed
    /// (preamble, recipient count, recipient blocks, key commitment), grants excluded (they
    /// come later and do not change the commitment). The key commitment must be in it: with
    /// only the recipient blocks bound, a sender could hand two recipients two key
    /// commitments for two content keys over one ciphertext.
    pub fn header_digest(&self) -> Hash32 {
        let mut h = Sha256::new();
        h.update(self.preamble_bytes());
        h.update(recipient_count(self.recipients.len()).to_be_bytes());
        for r in &self.recipients {
            h.update(r.key_id.0);
            h.update(r.enc.0);
            h.update(r.wrapped);
        }
        h.update(self.key_commitment);
        Hash32(h.finalize().into())
    }

    /// SHA-256 of the preamble: the HPKE `info` of every recipient wrap binds it.
    pub(crate) fn preamble_digest(&self) -> [u8; 32] {
        Sha256::digest(self.preamble_bytes()).into()
    }

    /// SHA-256 of preamble, recipient count and recipient blocks: what the key commitment and
    /// every derived key bind.
    pub(crate) fn core_digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.preamble_bytes());
        h.update(recipient_count(self.recipients.len()).to_be_bytes());
        for r in &self.recipients {
            h.update(r.key_id.0);
            h.update(r.enc.0);
            h.update(r.wrapped);
        }
        h.finalize().into()
    }

    /// The encoded header.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&self.preamble_bytes());
        out.extend_from_slice(&recipient_count(self.recipients.len()).to_be_bytes());
        for r in &self.recipients {
            out.extend_from_slice(&r.key_id.0);
            out.extend_from_slice(&r.enc.0);
            out.extend_from_slice(&r.wrapped);
        }
        out.extend_from_slice(&self.key_commitment);
        out.extend_from_slice(&recipient_count(self.history.len()).to_be_bytes());
        for e in &self.history {
            out.extend_from_slice(&e.to_bytes());
        }
        out
    }

    /// Writes the encoded header.
    pub fn write_to(&self, mut out: impl Write) -> Result<(), Error> {
        out.write_all(&self.to_bytes()).map_err(|source| Error::Io {
            during: "writing the envelope header",
            source,
        })
    }

    /// Reads exactly one header from `input`, leaving the payload chunks unread.
    pub fn read_from(mut input: impl Read) -> Result<Self, Error> {
        let mut preamble = [0u8; PREAMBLE_LEN];
        read_exact(&mut input, &mut preamble[..6], "magic, version and suite")?;
        let mut magic = [0u8; 4];
        magic.copy_from_slice(&preamble[..4]);
        if magic != MAGIC {
            return Err(Error::BadMagic { found: magic });
        }
        if preamble[4] != VERSION {
            return Err(Error::UnsupportedVersion {
                found: preamble[4],
                supported: VERSION,
            });
        }
        if preamble[5] != SUITE {
            return Err(Error::UnsupportedSuite {
                found: preamble[5],
                supported: SUITE,
            });
        }
        read_exact(
            &mut input,
            &mut preamble[6..],
            "envelope id, context and disclosure root",
        )?;
        let mut id = [0u8; ENVELOPE_ID_LEN];
        id.copy_from_slice(&preamble[6..22]);
        let mut ctx = [0u8; CONTEXT_LEN];
        ctx.copy_from_slice(&preamble[22..70]);
        let disclosure_root = Hash32(take(&preamble[70..102]));
        let disclosure_leaves = u64::from_be_bytes(take(&preamble[102..]));
        if disclosure_leaves > crate::disclosure::MAX_FIELDS as u64
            || (disclosure_leaves == 0) != disclosure_root.is_zero()
        {
            return Err(Error::MalformedDisclosure {
                reason: format!(
                    "the envelope header states a disclosure tree of {disclosure_leaves} leaves \
                     with a {} root (at most {} leaves; a zero root exactly when none)",
                    if disclosure_root.is_zero() {
                        "zero"
                    } else {
                        "non-zero"
                    },
                    crate::disclosure::MAX_FIELDS
                ),
            });
        }

        let n = read_u16(&mut input, "recipient count")?;
        if n == 0 {
            return Err(Error::NoRecipients);
        }
        check_readers(n)?;
        let mut seen = BTreeSet::new();
        let mut recipients = Vec::with_capacity(n);
        for _ in 0..n {
            let mut b = [0u8; RECIPIENT_BLOCK_LEN];
            read_exact(&mut input, &mut b, "recipient block")?;
            let block = RecipientBlock {
                key_id: KeyId(take(&b[..16])),
                enc: EncappedKey(take(&b[16..48])),
                wrapped: take(&b[48..]),
            };
            if !seen.insert(block.key_id) {
                return Err(Error::DuplicateRecipient {
                    key_id: block.key_id,
                });
            }
            recipients.push(block);
        }
        let mut key_commitment = [0u8; TAG_LEN];
        read_exact(&mut input, &mut key_commitment, "key commitment")?;

        let g = read_u16(&mut input, "grant history count")?;
        check_readers(n + g)?;
        let mut header = EnvelopeHeader {
            id: EnvelopeId(id),
            context: EnvelopeContext::from_bytes(&ctx),
            disclosure_root,
            disclosure_leaves,
            recipients,
            key_commitment,
            history: Vec::with_capacity(g),
        };
        let mut access = header.initial_access();
        for index in 0..g {
            let mut b = [0u8; ENTRY_LEN];
            read_exact(&mut input, &mut b, "grant history entry")?;
            let entry = HistoryEntry::from_bytes(&b, index)?;
            access.apply(index, &entry)?;
            header.history.push(entry);
        }
        Ok(header)
    }
}

/// A count as its u16 encoding; counts are bounded by [`MAX_READERS`] everywhere they are made.
fn recipient_count(n: usize) -> u16 {
    u16::try_from(n).expect("recipient and grant counts never exceed MAX_READERS (1024)")
}

pub(crate) fn check_readers(count: usize) -> Result<(), Error> {
    if count > MAX_READERS {
        return Err(Error::TooManyRecipients {
            count,
            max: MAX_READERS,
        });
    }
    Ok(())
}

fn take<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(b);
    out
}

fn read_exact(input: &mut impl Read, buf: &mut [u8], what: &'static str) -> Result<(), Error> {
    input.read_exact(buf).map_err(|source| {
        if source.kind() == io::ErrorKind::UnexpectedEof {
            Error::HeaderTruncated { what }
        } else {
            Error::Io {
                during: "reading the envelope header",
                source,
            }
        }
    })
}

fn read_u16(input: &mut impl Read, what: &'static str) -> Result<usize, Error> {
    let mut b = [0u8; 2];
    read_exact(input, &mut b, what)?;
    Ok(usize::from(u16::from_be_bytes(b)))
}
