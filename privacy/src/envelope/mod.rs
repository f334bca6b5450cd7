//! Envelopes: a payload encrypted once, readable by several recipients, committed on chain.
//!
//! A random 256-bit content key encrypts the payload (AES-256-GCM in a STREAM of 64 KiB
//! chunks); the content key is wrapped for each recipient with HPKE base mode
//! (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM); an explicit key commitment makes the
//! envelope key-committing, so all recipients read the same plaintext or nothing.
//!
//! # Byte format (version 2, suite 1; integers big-endian)
//!
//! ```text
//! offset          size      field
//! 0               4         magic "CWEV"
//! 4               1         version = 2
//! 5               1         suite = 1
//! 6               16        envelope id (random)
//! 22              48        context: origin u32 ‖ destination u32 ‖ nonce u64 ‖ sender [32]
//! 70              32        disclosure root (zero when the payload has no disclosure tree)
//! 102             8         disclosure leaves (u64, 0..=65536; 0 exactly when the root is zero)
//! 110             2         n = recipient count, 1..=1024
//! 112             96·n      recipient blocks: key id [16] ‖ enc [32] ‖ wrapped content key [32+16]
//! 112+96n         32        key commitment
//! 144+96n         2         g = grant count, n+g <= 1024
//! 146+96n         144·g     grant blocks: grantor id [16] ‖ grantee id [16] ‖ enc [32] ‖
//!                           wrapped content key [48] ‖ grant tag [32]
//! 146+96n+144g    ...       chunk stream to the end of the input: ceil(L / 65536) chunks (at
//!                           least one), each AES-256-GCM ciphertext ‖ 16-byte tag
//! ```
//!
//! What authenticates what (see `secrets.rs` for the derivations):
//! - each recipient wrap binds, through HPKE `info`, the preamble (magic … context), and through
//!   its `aad` the recipient's key id; HPKE's `kem_context` binds `enc` and the recipient key;
//! - the key commitment, an HMAC-based PRF output under the content key, covers the preamble and
//!   every recipient block, and is checked in constant time before anything is decrypted;
//! - the payload key and nonce prefix are derived from the content key *and* that same header
//!   digest, so the chunks belong to exactly this header;
//! - grants (added later without touching the payload) are entries of a history signed by
//!   their grantors' privacy keys (XEdDSA), each signature covering all earlier entries (see
//!   `history.rs` and [`crate::grant`]).
//!
//! What a reader of the bytes learns without a key: the context, the recipients' and
//! grantees' key ids, who granted to whom, and the payload length to within 16 bytes per chunk.
//!
//! # Releasing plaintext
//!
//! [`open`] streams: a chunk is written to the caller's writer only after its tag verified, and
//! the final chunk only after it verified as final, but truncation or tampering of a *later*
//! chunk, and a commitment that differs from the chain's, are only detected at the end. **If
//! [`open`] returns `Err`, everything it wrote is unauthenticated and must be discarded.**
//! [`open_to_vec`] returns the plaintext only when the whole envelope authenticated and matched
//! the chain; it is the one to use for payloads with a disclosure tree, which it also checks
//! against the plaintext ([`open`] refuses those).
//!
//! # For the gateway
//!
//! Read the message from the chain first; pass its context (origin, destination, nonce,
//! sender) and body (the [`MessageCommitment`]) as [`ExpectedMessage`]. Never open an envelope
//! against values taken from the envelope itself: a co-recipient can re-encrypt another payload
//! under the same envelope id and context, and only the chain's commitment tells them apart.

mod commitment;
mod header;
mod history;
mod secrets;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::io::{Read, Write};

use causeway_proofs::Hash32;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

pub use commitment::{
    COMMITMENT_TAG, CommitmentInputs, EnvelopeDigestInputs, ExpectedMessage, MessageCommitment,
    recipients_digest,
};
pub use header::{
    CONTEXT_LEN, ENVELOPE_ID_LEN, EnvelopeContext, EnvelopeHeader, EnvelopeId, MAGIC, MAX_READERS,
    SUITE, VERSION,
};
pub use stream::{CHUNK_SIZE, CHUNK_TAG_LEN};

pub(crate) use history::HistoryEntry;
pub use history::{EntryKind, Grant};
pub(crate) use secrets::{ContentKey, EnvelopeKeys, wrap_grant};

use crate::Error;
use crate::disclosure::{self, CommitmentOpening, CommittedPayload, Padding};
use crate::keys::{KeyPair, PublicKey};
use commitment::PayloadHasher;
use stream::ChunkCipher;

/// What to seal: the message context and the recipients' public keys.
#[derive(Clone, Copy, Debug)]
pub struct SealRequest<'a> {
    /// The message the payload belongs to.
    pub context: EnvelopeContext,
    /// Who may open it (1 to [`MAX_READERS`], distinct). Auditors named by the lane belong
    /// here: the recipient list is bound into the on-chain commitment.
    pub recipients: &'a [PublicKey],
}

/// The outcome of sealing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The new envelope's id.
    pub envelope_id: EnvelopeId,
    /// The message commitment: the message body to put on chain.
    pub commitment: MessageCommitment,
    /// Its public inputs besides the context (what disclosures carry).
    pub inputs: CommitmentInputs,
    /// The public inputs of the envelope digest (what an auditor's presence is checked with).
    pub envelope: EnvelopeDigestInputs,
    /// Plaintext bytes sealed.
    pub plaintext_len: u64,
    /// Envelope bytes written (header and chunks).
    pub envelope_len: u64,
}

/// How the opener holds access to an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// As the original recipient at this position.
    Recipient {
        /// Position among the recipient blocks.
        index: usize,
    },
    /// Through the grant at this position.
    Grantee {
        /// Position of the grant in the history.
        index: usize,
    },
}

/// The outcome of opening: the envelope authenticated and matched the expected message.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The envelope's id.
    pub envelope_id: EnvelopeId,
    /// The message context (equal to the expected one).
    pub context: EnvelopeContext,
    /// How the opener was given access.
    pub access: Access,
    /// Plaintext bytes.
    pub plaintext_len: u64,
    /// The message commitment (equal to the expected one).
    pub commitment: MessageCommitment,
    /// Its public inputs besides the context.
    pub inputs: CommitmentInputs,
    /// The public inputs of the envelope digest.
    pub envelope: EnvelopeDigestInputs,
}

/// An envelope opened in memory: the plaintext (zeroized on drop), what was checked, and the
/// disclosure tree rebuilt from the plaintext when the payload has one (to disclose fields).
#[derive(Debug)]
pub struct OpenedPayload {
    /// The plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// What was authenticated.
    pub opened: Opened,
    /// The payload's disclosure tree, checked against the commitment (`None` without one).
    pub disclosure: Option<CommittedPayload>,
}

/// Seals `plaintext` (bytes, no disclosure tree) for the request's recipients, writing the
/// envelope to `out`, with the operating system's random number generator.
///
/// The header is written first, then one chunk per 64 KiB read, so memory stays bounded. On
/// `Err` (a read or write failure), what was written is an incomplete envelope: discard it.
pub fn seal(
    request: &SealRequest<'_>,
    plaintext: impl Read,
    out: impl Write,
) -> Result<Sealed, Error> {
    seal_with_rng(request, plaintext, out, &mut rand_core::OsRng)
}

/// [`seal`] with the given random number generator (content key, envelope id, ephemeral keys).
pub fn seal_with_rng(
    request: &SealRequest<'_>,
    plaintext: impl Read,
    out: impl Write,
    rng: &mut impl CryptoRngCore,
) -> Result<Sealed, Error> {
    check_request(request)?;
    let content_key = ContentKey::generate(rng);
    let id = new_id(rng);
    seal_inner(request, &content_key, id, None, plaintext, out, rng)
}

/// Seals an in-memory payload; returns the envelope bytes.
pub fn seal_to_vec(
    request: &SealRequest<'_>,
    plaintext: &[u8],
) -> Result<(Vec<u8>, Sealed), Error> {
    let mut out = Vec::new();
    let sealed = seal(request, plaintext, &mut out)?;
    Ok((out, sealed))
}

/// Seals the JSON object `json` with a selective-disclosure tree over its top-level fields,
/// bound into the message commitment. Numbers JSON cannot carry exactly are refused
/// ([`disclosure::parse_exact_json`]). Returns the envelope bytes, the outcome, and the tree
/// to disclose fields from ([`Sealed::disclose`]). Salts come from the content key, so every
/// reader rebuilds the same tree.
pub fn seal_json(
    request: &SealRequest<'_>,
    json: &str,
    padding: Padding,
) -> Result<(Vec<u8>, Sealed, CommittedPayload), Error> {
    seal_json_with_rng(request, json, padding, &mut rand_core::OsRng)
}

/// [`seal_json`] with the given random number generator.
pub fn seal_json_with_rng(
    request: &SealRequest<'_>,
    json: &str,
    padding: Padding,
    rng: &mut impl CryptoRngCore,
) -> Result<(Vec<u8>, Sealed, CommittedPayload), Error> {
    check_request(request)?;
    let value = disclosure::parse_exact_json(json)?;
    let fields = disclosure::object(&value)?;
    let extra = CommittedPayload::padding_for(fields.len(), padding);
    if fields.len() + extra > disclosure::MAX_FIELDS {
        return Err(Error::TooManyFields {
            count: fields.len() + extra,
            max: disclosure::MAX_FIELDS,
        });
    }
    let content_key = ContentKey::generate(rng);
    let id = new_id(rng);
    let salts_key = secrets::disclosure_salts_key(&content_key, &id, &request.context);
    let opening = CommitmentOpening::derive(&salts_key, fields.keys(), extra);
    let committed = CommittedPayload::from_opening(&value, &opening)?;
    let tree = (committed.root().0, committed.leaf_count());
    let mut out = Vec::with_capacity(json.len() + json.len() / 4096 + 4096);
    let sealed = seal_inner(
        request,
        &content_key,
        id,
        Some(tree),
        json.as_bytes(),
        &mut out,
        rng,
    )?;
    Ok((out, sealed, committed))
}

impl Sealed {
    /// A disclosure of the fields `names` of `committed` (this envelope's tree), anchored to
    /// this envelope's commitment.
    pub fn disclose<S: AsRef<str>>(
        &self,
        committed: &CommittedPayload,
        names: &[S],
    ) -> Result<disclosure::AnchoredDisclosure, Error> {
        anchored(&self.inputs, committed, names)
    }
}

impl OpenedPayload {
    /// A disclosure of the fields `names`, anchored to the commitment this envelope matched.
    pub fn disclose<S: AsRef<str>>(
        &self,
        names: &[S],
    ) -> Result<disclosure::AnchoredDisclosure, Error> {
        let committed = self.disclosure.as_ref().ok_or(Error::NoDisclosureTree)?;
        anchored(&self.opened.inputs, committed, names)
    }
}

fn anchored<S: AsRef<str>>(
    inputs: &CommitmentInputs,
    committed: &CommittedPayload,
    names: &[S],
) -> Result<disclosure::AnchoredDisclosure, Error> {
    if committed.root().0 != inputs.disclosure_root
        || committed.leaf_count() != inputs.disclosure_leaves
    {
        return Err(Error::DisclosureRootMismatch);
    }
    Ok(disclosure::AnchoredDisclosure {
        inputs: *inputs,
        disclosure: committed.disclose(names)?,
    })
}

fn check_request(request: &SealRequest<'_>) -> Result<(), Error> {
    if request.recipients.is_empty() {
        return Err(Error::NoRecipients);
    }
    header::check_readers(request.recipients.len())?;
    let mut seen = BTreeSet::new();
    for pk in request.recipients {
        if !seen.insert(pk.key_id()) {
            return Err(Error::DuplicateRecipient {
                key_id: pk.key_id(),
            });
        }
    }
    Ok(())
}

fn new_id(rng: &mut impl CryptoRngCore) -> EnvelopeId {
    let mut id = [0u8; ENVELOPE_ID_LEN];
    rng.fill_bytes(&mut id);
    EnvelopeId(id)
}

fn seal_inner(
    request: &SealRequest<'_>,
    content_key: &ContentKey,
    id: EnvelopeId,
    tree: Option<(Hash32, u64)>,
    plaintext: impl Read,
    mut out: impl Write,
    rng: &mut impl CryptoRngCore,
) -> Result<Sealed, Error> {
    let (disclosure_root, disclosure_leaves) = tree.unwrap_or((Hash32([0; 32]), 0));
    let mut header = EnvelopeHeader {
        id,
        context: request.context,
        disclosure_root,
        disclosure_leaves,
        recipients: Vec::with_capacity(request.recipients.len()),
        key_commitment: [0u8; 32],
        history: Vec::new(),
    };
    let preamble_digest = header.preamble_digest();
    for pk in request.recipients {
        header
            .recipients
            .push(secrets::wrap(content_key, pk, &preamble_digest, rng)?);
    }
    let keys = EnvelopeKeys::derive(content_key, &header.core_digest());
    header.key_commitment = keys.key_commitment;

    header.write_to(&mut out)?;
    let cipher = ChunkCipher::new(&keys)?;
    let mut hasher = PayloadHasher::new();
    let (plaintext_len, chunks_len) =
        stream::seal_chunks(&cipher, &mut hasher, plaintext, &mut out)?;
    out.flush().map_err(|source| Error::Io {
        during: "writing the envelope",
        source,
    })?;
    let (envelope, inputs) = header.commitment_inputs(&hasher);
    Ok(Sealed {
        envelope_id: header.id,
        commitment: inputs.commitment(&header.context),
        inputs,
        envelope,
        plaintext_len,
        envelope_len: header.encoded_len() as u64 + chunks_len,
    })
}

impl EnvelopeHeader {
    /// Unwraps the content key with `key` and authenticates the whole header: the key
    /// commitment, then every signature of the grant history. A revoked grantee is refused.
    pub(crate) fn unlock(
        &self,
        key: &KeyPair,
    ) -> Result<(ContentKey, EnvelopeKeys, Access), Error> {
        let id = key.key_id();
        let core_digest = self.core_digest();
        let (content_key, access) =
            if let Some(index) = self.recipients.iter().position(|r| r.key_id == id) {
                let ck = secrets::unwrap(&self.recipients[index], key, &self.preamble_digest())?;
                (ck, Access::Recipient { index })
            } else if let Some(index) = self
                .history
                .iter()
                .position(|e| e.kind == EntryKind::Grant && e.subject == id)
            {
                if self.access()?.revoked.contains(&id) {
                    return Err(Error::GrantRevoked { key_id: id });
                }
                let ck = secrets::unwrap_grant(&self.history[index], key, &core_digest)?;
                (ck, Access::Grantee { index })
            } else {
                return Err(Error::NotARecipient { key_id: id });
            };
        let keys = EnvelopeKeys::derive(&content_key, &core_digest);
        keys.check_commitment(&self.key_commitment)?;
        self.verify_history()?;
        Ok((content_key, keys, access))
    }

    fn commitment_inputs(
        &self,
        payload: &PayloadHasher,
    ) -> (EnvelopeDigestInputs, CommitmentInputs) {
        let envelope = EnvelopeDigestInputs {
            envelope_id: self.id,
            header_digest: self.header_digest(),
            recipients: self.recipients(),
            payload_digest: Hash32(payload.finish()),
        };
        let inputs = CommitmentInputs {
            envelope_digest: envelope.envelope_digest(),
            disclosure_root: self.disclosure_root,
            disclosure_leaves: self.disclosure_leaves,
        };
        (envelope, inputs)
    }

    /// Opens the payload chunks that follow this header (read from `body`), writing plaintext
    /// to `out`, and checks the result against `expected`. **On `Err`, discard everything
    /// written to `out`.** The disclosure tree is not checked here ([`open_to_vec`] does).
    fn open_payload(
        &self,
        key: &KeyPair,
        expected: &ExpectedMessage,
        body: impl Read,
        out: impl Write,
    ) -> Result<(Opened, ContentKey), Error> {
        if self.context != expected.context {
            return Err(Error::ContextMismatch {
                expected: Box::new(expected.context),
                found: Box::new(self.context),
            });
        }
        let (content_key, keys, access) = self.unlock(key)?;
        let cipher = ChunkCipher::new(&keys)?;
        let mut hasher = PayloadHasher::new();
        let plaintext_len = stream::open_chunks(&cipher, &mut hasher, body, out)?;
        let (envelope, inputs) = self.commitment_inputs(&hasher);
        let commitment = inputs.commitment(&self.context);
        commitment.verify(&expected.commitment)?;
        let opened = Opened {
            envelope_id: self.id,
            context: self.context,
            access,
            plaintext_len,
            commitment,
            inputs,
            envelope,
        };
        Ok((opened, content_key))
    }
}

/// Opens the envelope read from `envelope` with `key`, streaming the plaintext to `out`, and
/// refuses it unless its context and message commitment are `expected` (read from the chain).
/// Refuses envelopes with a disclosure tree ([`Error::DisclosureNeedsWholePayload`]): open
/// those with [`open_to_vec`], which checks the tree against the plaintext.
///
/// **On `Err`, everything written to `out` is unauthenticated and must be discarded** (write to
/// a temporary location and move it into place on `Ok`). Memory use is bounded by one chunk.
pub fn open(
    key: &KeyPair,
    mut envelope: impl Read,
    expected: &ExpectedMessage,
    out: impl Write,
) -> Result<Opened, Error> {
    EnvelopeHeader::read_from(&mut envelope)?.open_body(key, expected, envelope, out)
}

impl EnvelopeHeader {
    /// [`open`] for a header stored apart from its chunk stream `body`: same checks, same
    /// rule (**on `Err`, discard everything written to `out`**).
    pub fn open_body(
        &self,
        key: &KeyPair,
        expected: &ExpectedMessage,
        body: impl Read,
        out: impl Write,
    ) -> Result<Opened, Error> {
        if self.disclosure_leaves > 0 {
            return Err(Error::DisclosureNeedsWholePayload);
        }
        self.open_payload(key, expected, body, out)
            .map(|(opened, _)| opened)
    }
}

/// Opens an in-memory envelope against `expected` (see [`open`]). Returns the plaintext only
/// if the whole envelope authenticated, matched the expected context and commitment, and (when
/// it has one) its disclosure tree is the plaintext's; on error, the partial plaintext is
/// zeroized and nothing is returned.
pub fn open_to_vec(
    key: &KeyPair,
    envelope: &[u8],
    expected: &ExpectedMessage,
) -> Result<OpenedPayload, Error> {
    let mut input = envelope;
    let header = EnvelopeHeader::read_from(&mut input)?;
    // Sized once so no reallocation leaves an unzeroized copy behind (plaintext < envelope).
    let mut plaintext = Zeroizing::new(Vec::with_capacity(input.len()));
    let (opened, content_key) = header.open_payload(key, expected, input, &mut *plaintext)?;
    let disclosure = if header.disclosure_leaves > 0 {
        Some(rebuild_tree(&header, &content_key, &plaintext)?)
    } else {
        None
    };
    Ok(OpenedPayload {
        plaintext,
        opened,
        disclosure,
    })
}

/// Rebuilds the disclosure tree of an opened payload and checks it against the header.
fn rebuild_tree(
    header: &EnvelopeHeader,
    content_key: &ContentKey,
    plaintext: &[u8],
) -> Result<CommittedPayload, Error> {
    let text = std::str::from_utf8(plaintext).map_err(|_| Error::DisclosureRootMismatch)?;
    let value = disclosure::parse_exact_json(text).map_err(|_| Error::DisclosureRootMismatch)?;
    let fields = disclosure::object(&value).map_err(|_| Error::DisclosureRootMismatch)?;
    let padding = usize::try_from(header.disclosure_leaves)
        .ok()
        .and_then(|leaves| leaves.checked_sub(fields.len()))
        .ok_or(Error::DisclosureRootMismatch)?;
    let salts_key = secrets::disclosure_salts_key(content_key, &header.id, &header.context);
    let opening = CommitmentOpening::derive(&salts_key, fields.keys(), padding);
    let committed = CommittedPayload::from_opening(&value, &opening)?;
    if committed.root().0 != header.disclosure_root
        || committed.leaf_count() != header.disclosure_leaves
    {
        return Err(Error::DisclosureRootMismatch);
    }
    Ok(committed)
}

/// The message commitment of the envelope read from `envelope`, computed without any key: what
/// a gateway checks a fetched envelope against before storing it, and what an auditor's
/// presence is proven with ([`EnvelopeDigestInputs::check_recipient`]). Reads to the end.
pub fn inspect(mut envelope: impl Read) -> Result<(EnvelopeHeader, Sealed), Error> {
    let header = EnvelopeHeader::read_from(&mut envelope)?;
    let mut hasher = PayloadHasher::new();
    let mut buf = Zeroizing::new(vec![0u8; CHUNK_SIZE]);
    let mut chunks_len = 0u64;
    loop {
        let n = match envelope.read(&mut buf[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::Io {
                    during: "reading the envelope",
                    source,
                });
            }
        };
        hasher.update(&buf[..n]);
        chunks_len += n as u64;
    }
    let (digest_inputs, inputs) = header.commitment_inputs(&hasher);
    let sealed = Sealed {
        envelope_id: header.id,
        commitment: inputs.commitment(&header.context),
        inputs,
        envelope: digest_inputs,
        plaintext_len: stream::plaintext_len(chunks_len),
        envelope_len: header.encoded_len() as u64 + chunks_len,
    };
    Ok((header, sealed))
}
