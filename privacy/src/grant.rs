//! Grants: a holder of an envelope gives a new reader access without re-encrypting.
//!
//! The grantor unwraps the content key, checks the envelope's key commitment and earlier
//! grants, wraps the content key for the grantee (HPKE base mode, `info` binding the core header
//! digest, `aad` the two key ids), and appends a grant block whose tag chains on the previous
//! tag (the key commitment for the first grant). The payload chunks, the original recipient
//! blocks and the key commitment are untouched, so every existing reader still opens the
//! envelope, and the payload bytes stay identical.
//!
//! Security decisions, and limits to know:
//! - Anyone who can read an envelope can grant it onward (that is what holding the key means);
//!   a [`Grant`] record names who did, for the grantor's gateway to store.
//! - Grant tags are keyed by the content key, so a party without access (the store, the relayer)
//!   cannot add, alter or reorder grants unseen; it can only drop the newest ones, which yields
//!   the envelope as it was before them.
//! - A grant cannot be revoked: the grantee may have kept the content key.
//! - Granting does not decrypt the payload; the grantee's open authenticates it.

use std::io::{Read, Write};

use causeway_proofs::Hash32;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::envelope::{EnvelopeHeader, EnvelopeId, GrantBlock, MAX_READERS};
use crate::keys::{KeyId, KeyPair, PublicKey};

/// The record of one grant: who gave whom access to which envelope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The envelope.
    pub envelope_id: EnvelopeId,
    /// Position of the grant block in the envelope.
    pub index: usize,
    /// Key id of the reader who granted.
    pub grantor: KeyId,
    /// Key id of the new reader.
    pub grantee: KeyId,
    /// The grant block's tag: identifies this exact grant.
    pub tag: Hash32,
}

impl EnvelopeHeader {
    /// The grant records carried by this header, in order (not authenticated until opened).
    pub fn grants(&self) -> Vec<Grant> {
        self.grants
            .iter()
            .enumerate()
            .map(|(index, g)| Grant {
                envelope_id: self.id,
                index,
                grantor: g.grantor,
                grantee: g.grantee,
                tag: Hash32(g.tag),
            })
            .collect()
    }
}

/// Grants `grantee` access to the envelope with `header`, as `grantor` (a recipient or
/// earlier grantee). Returns the new header and the grant record.
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
    if header.readers().contains(&grantee_id) {
        return Err(Error::AlreadyRecipient { key_id: grantee_id });
    }
    let count = header.recipients.len() + header.grants.len() + 1;
    if count > MAX_READERS {
        return Err(Error::TooManyRecipients {
            count,
            max: MAX_READERS,
        });
    }
    let (content_key, keys, _) = header.unlock(grantor)?;
    let core_digest = header.core_digest();
    let grantor_id = grantor.key_id();
    let (enc, wrapped) =
        crate::envelope::wrap_grant(&content_key, &grantor_id, grantee, &core_digest, rng)?;
    let previous = header.grants.last().map_or(keys.key_commitment, |g| g.tag);
    let tag = keys.grant_tag(&previous, &grantor_id, &grantee_id, &enc, &wrapped);
    let mut next = header.clone();
    next.grants.push(GrantBlock {
        grantor: grantor_id,
        grantee: grantee_id,
        enc,
        wrapped,
        tag,
    });
    let record = Grant {
        envelope_id: header.id,
        index: header.grants.len(),
        grantor: grantor_id,
        grantee: grantee_id,
        tag: Hash32(tag),
    };
    Ok((next, record))
}

/// Grants access to the envelope read from `envelope`, writing the envelope with the new grant
/// to `out`: the new header, then the payload chunks copied byte for byte.
pub fn grant_stream(
    grantor: &KeyPair,
    grantee: &PublicKey,
    mut envelope: impl Read,
    mut out: impl Write,
) -> Result<Grant, Error> {
    let header = EnvelopeHeader::read_from(&mut envelope)?;
    let (next, record) = grant(&header, grantor, grantee)?;
    next.write_to(&mut out)?;
    std::io::copy(&mut envelope, &mut out).map_err(|source| Error::Io {
        during: "copying the payload chunks",
        source,
    })?;
    out.flush().map_err(|source| Error::Io {
        during: "writing the envelope",
        source,
    })?;
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
