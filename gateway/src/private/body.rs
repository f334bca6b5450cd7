//! The on-chain body of a private message: `"CWPM"` ‖ `abi.encode(PrivateBody)`, what
//! `contracts/src/lib/PrivateMessage.sol` decodes (`PrivateMessage.decodeBody`).
//!
//! It carries the message commitment, its public inputs (so a contract checks a field with one
//! SHA-256 and an inclusion proof), the disclosed fields with their proofs, and the public inputs
//! of the envelope digest: the envelope id, header and payload digests and the recipients' key ids,
//! so anyone can check from the chain alone which keys (an auditor's, say) the envelope was sealed
//! for. No plaintext of an undisclosed field is in it.

#![allow(missing_docs)] // the `sol!` items carry the Solidity names documented in PrivateMessage.sol

use alloy::primitives::{B256, Bytes, FixedBytes};
use alloy::sol_types::SolValue as _;
use causeway_privacy::envelope::{EnvelopeContext, EnvelopeDigestInputs, ExpectedMessage};
use causeway_privacy::{AnchoredDisclosure, KeyId, MessageCommitment};
use causeway_proofs::{Address32, Hash32, Message};

/// The first bytes of every private message body.
pub const MAGIC: [u8; 4] = *b"CWPM";

alloy::sol! {
    /// `PrivateMessage.Commitment`.
    #[derive(Debug, PartialEq, Eq)]
    struct Commitment {
        uint32 origin;
        uint32 destination;
        uint64 nonce;
        bytes32 sender;
        bytes32 envelopeDigest;
        bytes32 disclosureRoot;
        uint64 disclosureLeaves;
    }

    /// `PrivateMessage.Field`.
    #[derive(Debug, PartialEq, Eq)]
    struct Field {
        bytes32 salt;
        bytes name;
        bytes value;
        uint64 index;
        bytes32[] path;
    }

    /// `PrivateMessage.EnvelopeInfo`.
    #[derive(Debug, PartialEq, Eq)]
    struct EnvelopeInfo {
        bytes16 id;
        bytes32 headerDigest;
        bytes32 payloadDigest;
        bytes16[] recipients;
    }

    /// `PrivateMessage.Body`.
    #[derive(Debug, PartialEq, Eq)]
    struct Body {
        bytes32 commitment;
        Commitment inputs;
        Field[] fields;
        EnvelopeInfo envelope;
    }
}

/// Why a body is not a well-formed private message body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// It does not start with [`MAGIC`]: a public message.
    #[error("the body is not a private message (no CWPM prefix)")]
    NotPrivate,
    /// The ABI part does not decode.
    #[error("the private message body does not decode: {reason}")]
    Malformed {
        /// The decoder's complaint.
        reason: String,
    },
    /// The inputs do not hash, with the message's own context, to the commitment it carries.
    #[error(
        "the private message body's commitment does not match its inputs and the message's \
         origin, destination, nonce and sender"
    )]
    CommitmentMismatch,
    /// A disclosed field's value is not canonical JSON.
    #[error("disclosed field {name:?}: {reason}")]
    BadField {
        /// The field.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// Encodes the body of a private message: the commitment, its inputs under `context`, the
/// disclosed fields of `disclosure` (if any) and the envelope's public digest inputs.
pub fn encode(
    context: &EnvelopeContext,
    commitment: &MessageCommitment,
    inputs: &causeway_privacy::CommitmentInputs,
    disclosure: Option<&AnchoredDisclosure>,
    envelope: &EnvelopeDigestInputs,
) -> Result<Vec<u8>, BodyError> {
    let mut fields = Vec::new();
    for f in disclosure
        .map(|d| d.disclosure.fields.as_slice())
        .unwrap_or(&[])
    {
        let value = causeway_privacy::disclosure::canonical_json(&f.value).map_err(|e| {
            BodyError::BadField {
                name: f.name.clone(),
                reason: e.to_string(),
            }
        })?;
        fields.push(Field {
            salt: B256::from(*f.salt.as_bytes()),
            name: Bytes::copy_from_slice(f.name.as_bytes()),
            value: Bytes::from(value),
            index: f.proof.index.0,
            path: f.proof.path.iter().map(|h| B256::from(h.0)).collect(),
        });
    }
    let body = Body {
        commitment: B256::from(commitment.0),
        inputs: Commitment {
            origin: context.origin.0,
            destination: context.destination.0,
            nonce: context.nonce.0,
            sender: B256::from(context.sender.0),
            envelopeDigest: B256::from(inputs.envelope_digest.0),
            disclosureRoot: B256::from(inputs.disclosure_root.0),
            disclosureLeaves: inputs.disclosure_leaves,
        },
        fields,
        envelope: EnvelopeInfo {
            id: FixedBytes::from(envelope.envelope_id.0),
            headerDigest: B256::from(envelope.header_digest.0),
            payloadDigest: B256::from(envelope.payload_digest.0),
            recipients: envelope
                .recipients
                .iter()
                .map(|k| FixedBytes::from(k.0))
                .collect(),
        },
    };
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&body.abi_encode());
    Ok(out)
}

/// A private message read from the chain: what its envelope must open against, and the public
/// parts its body carries.
#[derive(Clone, Debug)]
pub struct PrivateMessage {
    /// The message's context and commitment, from the message itself.
    pub expected: ExpectedMessage,
    /// The commitment's public inputs besides the context.
    pub inputs: causeway_privacy::CommitmentInputs,
    /// The envelope digest's public inputs (its recipients' key ids).
    pub envelope: EnvelopeDigestInputs,
    /// The decoded body.
    pub body: Body,
}

impl PrivateMessage {
    /// Whether the envelope was sealed for `key` (checked from the chain alone: the recipients
    /// hash, with the other public inputs, to the commitment the message carries).
    pub fn is_for(&self, key: &KeyId) -> bool {
        self.envelope
            .check_recipient(
                key,
                &self.expected.context,
                &self.inputs,
                &self.expected.commitment,
            )
            .is_ok()
    }
}

/// Reads the private body of `message`: `Err(NotPrivate)` for a public one. The commitment is
/// recomputed from the message's own origin, destination, nonce and sender and the body's
/// inputs, and must equal the one the body carries, and the envelope inputs must hash to the
/// envelope digest: nothing is taken on the body's word.
pub fn decode(message: &Message) -> Result<PrivateMessage, BodyError> {
    let raw = message.body();
    let rest = raw.strip_prefix(&MAGIC).ok_or(BodyError::NotPrivate)?;
    let body = Body::abi_decode(rest).map_err(|e| BodyError::Malformed {
        reason: e.to_string(),
    })?;
    let context = EnvelopeContext {
        origin: message.origin(),
        destination: message.destination(),
        nonce: message.nonce(),
        sender: message.sender(),
    };
    let inputs = causeway_privacy::CommitmentInputs {
        envelope_digest: Hash32(body.inputs.envelopeDigest.0),
        disclosure_root: Hash32(body.inputs.disclosureRoot.0),
        disclosure_leaves: body.inputs.disclosureLeaves,
    };
    let commitment = MessageCommitment(body.commitment.0);
    let same_context = body.inputs.origin == context.origin.0
        && body.inputs.destination == context.destination.0
        && body.inputs.nonce == context.nonce.0
        && Address32(body.inputs.sender.0) == context.sender;
    if !same_context || inputs.commitment(&context) != commitment {
        return Err(BodyError::CommitmentMismatch);
    }
    let envelope = EnvelopeDigestInputs {
        envelope_id: causeway_privacy::EnvelopeId(body.envelope.id.0),
        header_digest: Hash32(body.envelope.headerDigest.0),
        recipients: body
            .envelope
            .recipients
            .iter()
            .map(|k| KeyId(k.0))
            .collect(),
        payload_digest: Hash32(body.envelope.payloadDigest.0),
    };
    if envelope.envelope_digest() != inputs.envelope_digest {
        return Err(BodyError::CommitmentMismatch);
    }
    Ok(PrivateMessage {
        expected: ExpectedMessage {
            context,
            commitment,
        },
        inputs,
        envelope,
        body,
    })
}

/// The disclosure the body carries, as an [`AnchoredDisclosure`] (`None` without fields).
pub fn disclosure_of(private: &PrivateMessage) -> Result<Option<AnchoredDisclosure>, BodyError> {
    if private.body.fields.is_empty() {
        return Ok(None);
    }
    let mut fields = Vec::with_capacity(private.body.fields.len());
    for f in &private.body.fields {
        let name = String::from_utf8(f.name.to_vec()).map_err(|_| BodyError::BadField {
            name: hex::encode(&f.name),
            reason: "the name is not UTF-8".into(),
        })?;
        let text = std::str::from_utf8(&f.value).map_err(|_| BodyError::BadField {
            name: name.clone(),
            reason: "the value is not UTF-8".into(),
        })?;
        let value = causeway_privacy::disclosure::parse_exact_json(text).map_err(|e| {
            BodyError::BadField {
                name: name.clone(),
                reason: e.to_string(),
            }
        })?;
        fields.push(causeway_privacy::disclosure::DisclosedField {
            name,
            value,
            salt: causeway_privacy::disclosure::FieldSalt::from_bytes(f.salt.0),
            proof: causeway_proofs::InclusionProof {
                index: causeway_proofs::LeafIndex(f.index),
                size: causeway_proofs::LogSize(private.inputs.disclosure_leaves),
                path: f.path.iter().map(|h| Hash32(h.0)).collect(),
            },
        });
    }
    Ok(Some(AnchoredDisclosure {
        inputs: private.inputs,
        disclosure: causeway_privacy::Disclosure { fields },
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use causeway_privacy::KeyPair;
    use causeway_privacy::disclosure::Padding;
    use causeway_privacy::envelope::SealRequest;
    use causeway_proofs::{Domain, Nonce};

    fn message(body: Vec<u8>, context: &EnvelopeContext) -> Message {
        Message::new(
            context.nonce,
            context.origin,
            context.sender,
            context.destination,
            Address32([9; 32]),
            body,
        )
        .unwrap()
    }

    fn sealed() -> (EnvelopeContext, Vec<u8>, KeyPair, KeyPair) {
        let (a, b) = (KeyPair::generate(), KeyPair::generate());
        let context = EnvelopeContext {
            origin: Domain(1),
            destination: Domain(2),
            nonce: Nonce(7),
            sender: Address32([3; 32]),
        };
        let (_, sealed, tree) = causeway_privacy::envelope::seal_json(
            &SealRequest {
                context,
                recipients: &[*a.public_key(), *b.public_key()],
            },
            r#"{"amount": 1.5, "secret": "s3cr3t"}"#,
            Padding::PowerOfTwo,
        )
        .unwrap();
        let disclosure = sealed.disclose(&tree, &["amount"]).unwrap();
        let body = encode(
            &context,
            &sealed.commitment,
            &sealed.inputs,
            Some(&disclosure),
            &sealed.envelope,
        )
        .unwrap();
        (context, body, a, b)
    }

    #[test]
    fn a_body_decodes_against_its_own_message_only() {
        let (context, body, a, b) = sealed();
        let decoded = decode(&message(body.clone(), &context)).unwrap();
        assert!(decoded.is_for(&a.key_id()) && decoded.is_for(&b.key_id()));
        assert!(!decoded.is_for(&KeyPair::generate().key_id()));
        let fields = disclosure_of(&decoded)
            .unwrap()
            .unwrap()
            .verify(&decoded.expected)
            .unwrap();
        assert_eq!(fields["amount"], serde_json::json!(1.5));
        assert!(!body.windows(6).any(|w| w == b"s3cr3t"));

        // The same body under another nonce or sender: not that message's commitment.
        let mut other = context;
        other.nonce = Nonce(8);
        assert!(matches!(
            decode(&message(body.clone(), &other)),
            Err(BodyError::CommitmentMismatch)
        ));
        other = context;
        other.sender = Address32([4; 32]);
        assert!(matches!(
            decode(&message(body.clone(), &other)),
            Err(BodyError::CommitmentMismatch)
        ));
        // A recipient list edited in the body no longer hashes to the commitment.
        let mut parsed = Body::abi_decode(&body[4..]).unwrap();
        parsed.envelope.recipients.pop();
        let mut edited = MAGIC.to_vec();
        edited.extend_from_slice(&parsed.abi_encode());
        assert!(matches!(
            decode(&message(edited, &context)),
            Err(BodyError::CommitmentMismatch)
        ));
        // Public bodies and garbage.
        assert!(matches!(
            decode(&message(b"hello".to_vec(), &context)),
            Err(BodyError::NotPrivate)
        ));
        assert!(matches!(
            decode(&message(b"CWPM\x00\x01".to_vec(), &context)),
            Err(BodyError::Malformed { .. })
        ));
    }
}
