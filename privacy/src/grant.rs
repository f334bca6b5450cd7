//! Grants: a holder of an envelope gives a new reader access without re-encrypting, and the
//! grantor can revoke it.
//!
//! The grantor unwraps the content key, checks the envelope's key commitment and its grant
//! history, wraps the content key for the grantee (HPKE base mode, `info` binding the core
//! header digest, `aad` the two key ids), and appends a history entry signed with its own
//! privacy key (XEdDSA) over the chain of all earlier entries. The payload chunks, the original
//! recipient blocks and the key commitment are untouched, so every existing reader still opens
//! the envelope, the payload bytes stay identical, and the on-chain commitment is unchanged.
//! The entry format and the hash chain are in `envelope/history.rs`; why they hold, in
//! `docs/private-messages.md`.
//!
//! Security decisions, and limits to know:
//! - Anyone who can read an envelope can grant it onward (that is what holding the key means);
//!   but only under its own key: the grantor is a public key that signs, not a label, so no
//!   reader can write a grant in another member's name, and the history verifies without any
//!   secret ([`crate::envelope::EnvelopeHeader::verify_history`]).
//! - No one can alter, reorder or remove an earlier entry; the newest entries can only be cut
//!   off the end, which yields the envelope as it was before them. The gateway stores each
//!   [`Grant`] record (with its chain hash), so a cut is visible there.
//! - A revocation is a signed entry by the grant's grantor: from then on `open` refuses the
//!   grantee, and the gateway stops serving it. It cannot make the grantee forget a content key
//!   it already unwrapped. Grants the revoked grantee made onward stay (their grantors may
//!   revoke them); a revoked key cannot be granted access again (grant to a new key instead).
//! - Granting does not decrypt the payload; the grantee's open authenticates it.

use std::io::{Read, Write};

use rand_core::CryptoRngCore;

use crate::Error;
pub use crate::envelope::{EntryKind, Grant};
use crate::envelope::{EnvelopeHeader, HistoryEntry, MAX_READERS};
use crate::hpke::EncappedKey;
use crate::keys::{KeyId, KeyPair, PublicKey};

/// Grants `grantee` access to the envelope with `header`, as `grantor` (a recipient or
/// active grantee). Returns the new header and the grant record.
pub fn grant(
    header: &EnvelopeHeader,
    grantor: &KeyPair,
    grantee: &PublicKey,
) -> Result<(EnvelopeHeader, Grant), Error> {
    grant_with_rng(header, grantor, grantee, &mut rand_core::OsRng)
}

/// [`grant`] with the given random number generator.
pub fn grant_with_rng(
    header: &EnvelopeHeader,
    grantor: &KeyPair,
    grantee: &PublicKey,
    rng: &mut impl CryptoRngCore,
) -> Result<(EnvelopeHeader, Grant), Error> {
    let grantee_id = grantee.key_id();
    if header.access()?.ever.contains(&grantee_id) {
        return Err(Error::AlreadyRecipient { key_id: grantee_id });
    }
    check_count(header)?;
    // Unlocking checks the key commitment and every signature of the history so far.
    let (content_key, _, _) = header.unlock(grantor)?;
    let grantor_id = grantor.key_id();
    let (enc, wrapped) = crate::envelope::wrap_grant(
        &content_key,
        &grantor_id,
        grantee,
        &header.core_digest(),
        rng,
    )?;
    append(
        header,
        grantor,
        EntryKind::Grant,
        grantee_id,
        enc,
        wrapped,
        rng,
    )
}

/// Revokes the access `grantor` granted to `grantee` on the envelope with `header`. Only the
/// grantor of an active grant may revoke it. Returns the new header and the record.
pub fn revoke(
    header: &EnvelopeHeader,
    grantor: &KeyPair,
    grantee: &KeyId,
) -> Result<(EnvelopeHeader, Grant), Error> {
    revoke_with_rng(header, grantor, grantee, &mut rand_core::OsRng)
}

/// [`revoke`] with the given random number generator (the signature's nonce input).
pub fn revoke_with_rng(
    header: &EnvelopeHeader,
    grantor: &KeyPair,
    grantee: &KeyId,
    rng: &mut impl CryptoRngCore,
) -> Result<(EnvelopeHeader, Grant), Error> {
    header.verify_history()?;
    check_count(header)?;
    let access = header.access()?;
    if access.granted_by.get(grantee) != Some(&grantor.key_id()) {
        return Err(Error::InvalidRevocation {
            index: header.history.len(),
            reason: format!(
                "{} did not grant {grantee} access that is still active",
                grantor.key_id()
            ),
        });
    }
    append(
        header,
        grantor,
        EntryKind::Revoke,
        *grantee,
        EncappedKey([0; 32]),
        [0; 48],
        rng,
    )
}

fn check_count(header: &EnvelopeHeader) -> Result<(), Error> {
    let count = header.recipients.len() + header.history.len() + 1;
    if count > MAX_READERS {
        return Err(Error::TooManyRecipients {
            count,
            max: MAX_READERS,
        });
    }
    Ok(())
}

fn append(
    header: &EnvelopeHeader,
    actor: &KeyPair,
    kind: EntryKind,
    subject: KeyId,
    enc: EncappedKey,
    wrapped: [u8; 48],
    rng: &mut impl CryptoRngCore,
) -> Result<(EnvelopeHeader, Grant), Error> {
    let mut entry = HistoryEntry {
        kind,
        actor: *actor.public_key(),
        subject,
        enc,
        wrapped,
        signature: crate::keys::Signature([0; 64]),
    };
    entry.signature = actor.sign(&entry.signed_message(&header.history_head()), rng);
    let mut next = header.clone();
    next.history.push(entry);
    let record = next
        .grants()
        .pop()
        .expect("the history just received an entry");
    Ok((next, record))
}

/// Grants access to the envelope read from `envelope`, writing the envelope with the new grant
/// to `out`: the new header, then the payload chunks copied byte for byte.
pub fn grant_stream(
    grantor: &KeyPair,
    grantee: &PublicKey,
    mut envelope: impl Read,
    out: impl Write,
) -> Result<Grant, Error> {
    let header = EnvelopeHeader::read_from(&mut envelope)?;
    let (next, record) = grant(&header, grantor, grantee)?;
    rewrite(&next, envelope, out)?;
    Ok(record)
}

/// [`grant_stream`] over an in-memory envelope.
pub fn grant_to_vec(
    envelope: &[u8],
    grantor: &KeyPair,
    grantee: &PublicKey,
) -> Result<(Vec<u8>, Grant), Error> {
    let mut out = Vec::with_capacity(envelope.len() + 256);
    let record = grant_stream(grantor, grantee, envelope, &mut out)?;
    Ok((out, record))
}

/// [`revoke`] over an in-memory envelope: the envelope with the revocation appended.
pub fn revoke_to_vec(
    envelope: &[u8],
    grantor: &KeyPair,
    grantee: &KeyId,
) -> Result<(Vec<u8>, Grant), Error> {
    let mut input = envelope;
    let header = EnvelopeHeader::read_from(&mut input)?;
    let (next, record) = revoke(&header, grantor, grantee)?;
    let mut out = Vec::with_capacity(envelope.len() + 256);
    rewrite(&next, input, &mut out)?;
    Ok((out, record))
}

fn rewrite(header: &EnvelopeHeader, body: impl Read, mut out: impl Write) -> Result<(), Error> {
    let mut body = body;
    header.write_to(&mut out)?;
    std::io::copy(&mut body, &mut out).map_err(|source| Error::Io {
        during: "copying the payload chunks",
        source,
    })?;
    out.flush().map_err(|source| Error::Io {
        during: "writing the envelope",
        source,
    })
}
