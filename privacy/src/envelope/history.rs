//! The grant history of an envelope: signed entries appended after sealing.
//!
//! ```text
//! entry (193 bytes) = kind (1: grant, 2: revoke) ‖ actor X25519 public key (32) ‖
//!                     subject key id (16) ‖ enc (32) ‖ wrapped content key (48) ‖ signature (64)
//! h_0               = SHA-256("causeway/grant-history/v2" ‖ header digest)
//! h_i               = SHA-256(h_{i-1} ‖ entry_i)
//! signature_i       = XEdDSA by the actor over
//!                     "causeway/grant-history/v2/entry" ‖ h_{i-1} ‖ entry_i without its signature
//! ```
//!
//! Security decisions:
//! - The actor is a public key, not a label: its key id must be a reader at that point, and the
//!   signature must verify under it, so no reader can write an entry in another member's name.
//! - Each signature covers `h_{i-1}`, hence every earlier entry and the sealed header (key
//!   commitment included): an earlier entry cannot be altered, reordered, removed or moved to
//!   another envelope without breaking every later signature. Only newest entries can be cut
//!   off the end, which yields the envelope exactly as it was before them.
//! - Revocation is an entry by the grant's grantor; an open by a revoked grantee is refused.
//!   It cannot make the grantee forget a content key it already unwrapped.
//! - Parsing enforces the structural rules (who may act on whom); signatures need no secret
//!   and are checked by every open and by [`EnvelopeHeader::verify_history`].

use std::collections::{BTreeMap, BTreeSet};

use causeway_proofs::Hash32;
use sha2::{Digest as _, Sha256};

use super::header::{EnvelopeHeader, WRAPPED_LEN};
use crate::Error;
use crate::hpke::EncappedKey;
use crate::keys::{KEY_ID_LEN, KEY_LEN, KeyId, PublicKey, SIGNATURE_LEN, Signature};

/// Bytes of a history entry.
pub(crate) const ENTRY_LEN: usize =
    1 + KEY_LEN + KEY_ID_LEN + KEY_LEN + WRAPPED_LEN + SIGNATURE_LEN;
const UNSIGNED_LEN: usize = ENTRY_LEN - SIGNATURE_LEN;
const CHAIN_TAG: &[u8] = b"causeway/grant-history/v2";
const ENTRY_TAG: &[u8] = b"causeway/grant-history/v2/entry";

/// What a history entry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The actor gave the subject access (a wrapped content key for it).
    Grant,
    /// The actor withdrew the access it granted to the subject.
    Revoke,
}

impl EntryKind {
    fn byte(self) -> u8 {
        match self {
            EntryKind::Grant => 1,
            EntryKind::Revoke => 2,
        }
    }
}

/// One signed entry of the grant history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HistoryEntry {
    pub(crate) kind: EntryKind,
    pub(crate) actor: PublicKey,
    pub(crate) subject: KeyId,
    pub(crate) enc: EncappedKey,
    pub(crate) wrapped: [u8; WRAPPED_LEN],
    pub(crate) signature: Signature,
}

impl HistoryEntry {
    pub(crate) fn unsigned_bytes(&self) -> [u8; UNSIGNED_LEN] {
        let mut out = [0u8; UNSIGNED_LEN];
        out[0] = self.kind.byte();
        out[1..33].copy_from_slice(self.actor.as_bytes());
        out[33..49].copy_from_slice(&self.subject.0);
        out[49..81].copy_from_slice(&self.enc.0);
        out[81..].copy_from_slice(&self.wrapped);
        out
    }

    pub(crate) fn to_bytes(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[..UNSIGNED_LEN].copy_from_slice(&self.unsigned_bytes());
        out[UNSIGNED_LEN..].copy_from_slice(&self.signature.0);
        out
    }

    /// Parses an entry (the actor key is checked; the signature is not, yet).
    pub(crate) fn from_bytes(b: &[u8; ENTRY_LEN], index: usize) -> Result<Self, Error> {
        let kind = match b[0] {
            1 => EntryKind::Grant,
            2 => EntryKind::Revoke,
            other => {
                return Err(Error::MalformedHistory {
                    index,
                    reason: format!("unknown entry kind {other}"),
                });
            }
        };
        let actor = PublicKey::from_slice(&b[1..33]).map_err(|e| Error::MalformedHistory {
            index,
            reason: format!("actor key: {e}"),
        })?;
        let mut subject = [0u8; KEY_ID_LEN];
        subject.copy_from_slice(&b[33..49]);
        let mut enc = [0u8; KEY_LEN];
        enc.copy_from_slice(&b[49..81]);
        let mut wrapped = [0u8; WRAPPED_LEN];
        wrapped.copy_from_slice(&b[81..UNSIGNED_LEN]);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(&b[UNSIGNED_LEN..]);
        Ok(HistoryEntry {
            kind,
            actor,
            subject: KeyId(subject),
            enc: EncappedKey(enc),
            wrapped,
            signature: Signature(signature),
        })
    }

    /// The message the actor signs, given the chain hash before this entry.
    pub(crate) fn signed_message(&self, previous: &[u8; 32]) -> Vec<u8> {
        [ENTRY_TAG, previous, &self.unsigned_bytes()].concat()
    }
}

/// Who holds access at some point of the history (the structural rules).
#[derive(Default)]
pub(crate) struct Access {
    /// Everyone who ever was a reader (recipients and grantees, revoked or not).
    pub(crate) ever: BTreeSet<KeyId>,
    /// Active grantees and who granted to them.
    pub(crate) granted_by: BTreeMap<KeyId, KeyId>,
    /// Original recipients.
    pub(crate) recipients: BTreeSet<KeyId>,
    /// Revoked grantees.
    pub(crate) revoked: BTreeSet<KeyId>,
}

impl Access {
    pub(crate) fn is_reader(&self, id: &KeyId) -> bool {
        self.recipients.contains(id) || self.granted_by.contains_key(id)
    }

    /// Applies entry `index`, refusing it if its actor may not do it.
    pub(crate) fn apply(&mut self, index: usize, e: &HistoryEntry) -> Result<(), Error> {
        let actor = e.actor.key_id();
        match e.kind {
            EntryKind::Grant => {
                if !self.is_reader(&actor) {
                    return Err(Error::UnknownGrantor {
                        index,
                        grantor: actor,
                    });
                }
                if !self.ever.insert(e.subject) {
                    return Err(Error::DuplicateRecipient { key_id: e.subject });
                }
                self.granted_by.insert(e.subject, actor);
            }
            EntryKind::Revoke => {
                if self.granted_by.get(&e.subject) != Some(&actor) {
                    return Err(Error::InvalidRevocation {
                        index,
                        reason: format!(
                            "{actor} did not grant {} access that is still active",
                            e.subject
                        ),
                    });
                }
                if e.enc.0 != [0; KEY_LEN] || e.wrapped != [0; WRAPPED_LEN] {
                    return Err(Error::MalformedHistory {
                        index,
                        reason: "a revocation carries no wrapped key".to_owned(),
                    });
                }
                self.granted_by.remove(&e.subject);
                self.revoked.insert(e.subject);
            }
        }
        Ok(())
    }
}

/// The record of one history entry: who gave (or withdrew) whose access to which envelope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The envelope.
    pub envelope_id: super::EnvelopeId,
    /// Position of the entry in the history.
    pub index: usize,
    /// Grant or revocation.
    pub kind: EntryKind,
    /// Key id of the member who signed the entry.
    pub grantor: KeyId,
    /// Key id of the member given (or withdrawn) access.
    pub grantee: KeyId,
    /// The chain hash after this entry: identifies the whole history up to it.
    pub chain: Hash32,
}

impl EnvelopeHeader {
    /// `h_0`: the chain hash before any entry.
    pub(crate) fn history_root(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(CHAIN_TAG);
        h.update(self.header_digest().0);
        h.finalize().into()
    }

    /// The history records, in order (structure checked when parsed, signatures not: see
    /// [`EnvelopeHeader::verify_history`]).
    pub fn grants(&self) -> Vec<Grant> {
        let mut chain = self.history_root();
        self.history
            .iter()
            .enumerate()
            .map(|(index, e)| {
                chain = next_chain(&chain, e);
                Grant {
                    envelope_id: self.id,
                    index,
                    kind: e.kind,
                    grantor: e.actor.key_id(),
                    grantee: e.subject,
                    chain: Hash32(chain),
                }
            })
            .collect()
    }

    /// Checks every entry's signature and rules, without any secret (a store, an auditor, any
    /// reader can), and returns the records. Fails on the first entry that does not verify.
    pub fn verify_history(&self) -> Result<Vec<Grant>, Error> {
        let mut access = self.initial_access();
        let mut chain = self.history_root();
        for (index, e) in self.history.iter().enumerate() {
            access.apply(index, e)?;
            e.actor
                .verify(&e.signed_message(&chain), &e.signature)
                .map_err(|_| Error::GrantSignature {
                    index,
                    grantor: e.actor.key_id(),
                })?;
            chain = next_chain(&chain, e);
        }
        Ok(self.grants())
    }

    pub(crate) fn initial_access(&self) -> Access {
        let recipients: BTreeSet<KeyId> = self.recipients.iter().map(|r| r.key_id).collect();
        Access {
            ever: recipients.clone(),
            recipients,
            ..Access::default()
        }
    }

    /// The access state after the whole history.
    pub(crate) fn access(&self) -> Result<Access, Error> {
        let mut access = self.initial_access();
        for (index, e) in self.history.iter().enumerate() {
            access.apply(index, e)?;
        }
        Ok(access)
    }

    /// The chain hash after the last entry.
    pub(crate) fn history_head(&self) -> [u8; 32] {
        self.history
            .iter()
            .fold(self.history_root(), |chain, e| next_chain(&chain, e))
    }
}

fn next_chain(previous: &[u8; 32], e: &HistoryEntry) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(e.to_bytes());
    h.finalize().into()
}
