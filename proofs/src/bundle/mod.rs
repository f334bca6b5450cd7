//! [`ProofBundle`]: everything needed to check one relayed message offline (`causeway verify
//! bundle.json`), and [`ProofBundle::verify`] which checks it against a [`TrustAnchor`].
//!
//! A bundle is untrusted input: whoever relays it may have forged any part. The verifier trusts
//! only its own [`TrustAnchor`] (the lane's signing domain and validator set from its
//! configuration) and recomputes everything else: the message id from the message bytes, the
//! leaf and root from the inclusion proof, the signed digest from the checkpoint fields and its
//! own signing domain, and the signers from the signatures.
//!
//! The JSON form is documented in [`json`].

use serde::{Deserialize, Serialize};

use crate::attestation::{EvmAddress, Signature, ValidatorSet, verify_attestations};
use crate::message::Nonce;
use crate::{
    Checkpoint, Domain, Error, Hash32, HashAlgorithm, InclusionProof, LeafIndex, LogSize, Message,
    MessageId, SigningDomain,
};

pub mod json;

pub use json::{FORMAT, MAX_BUNDLE_JSON_LEN, MAX_PATH_NODES, MAX_SIGNATURES};

/// One message with the proofs that it was emitted on its origin and committed to by a threshold
/// of validators. Construct with [`ProofBundle::assemble`] or [`ProofBundle::from_json`].
#[derive(Clone, Debug, PartialEq)]
pub struct ProofBundle {
    message: Message,
    inclusion: InclusionProof,
    checkpoint: Checkpoint,
    signing_domain: SigningDomain,
    signatures: Vec<Signature>,
    source: Option<SourceReference>,
    native_proof: Option<NativeProof>,
}

/// Where a message was observed on its origin chain. Informative only: not part of the message
/// id and not verified by [`ProofBundle::verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceReference {
    /// Block (EVM, FISCO BCOS) or block number (Fabric) holding the transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    /// That block's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_hash: Option<Hash32>,
    /// The transaction hash (EVM, FISCO BCOS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_hash: Option<Hash32>,
    /// The Fabric transaction id (at most [`SourceReference::MAX_TX_ID_LEN`] characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric_tx_id: Option<String>,
    /// The log index (EVM, FISCO BCOS) or the event's position in the transaction (Fabric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_index: Option<u64>,
}

impl SourceReference {
    /// Longest accepted Fabric transaction id (real ones are 64 hex digits).
    pub const MAX_TX_ID_LEN: usize = 128;
}

/// A chain family whose native proofs an adapter can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainFamily {
    /// Ethereum and EVM chains (Besu, Quorum): receipt-trie proof against a block header.
    Evm,
    /// Hyperledger Fabric: block hash chain, data hash and endorsements.
    Fabric,
    /// FISCO BCOS: receipt proof and sealer signatures.
    Fisco,
}

/// The origin chain's own proof that the message was emitted, in an adapter-defined shape.
/// This crate carries it but does not check it; the [`Verdict`] says so.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeProof {
    /// Which adapter family can check `data`.
    pub family: ChainFamily,
    /// The proof, as that adapter defines it.
    pub data: serde_json::Value,
}

/// What a verifier trusts from its own configuration, never from a bundle: the lane's signing
/// domain (with the destination chain id it reads itself) and the validator set of its epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchor {
    /// The lane, chain ids, Inbox and epoch signatures must be made for.
    pub signing_domain: SigningDomain,
    /// Whose signatures count, and how many.
    pub validators: ValidatorSet,
}

/// The facts a successful [`ProofBundle::verify`] established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The message's id (its replay key).
    pub message_id: MessageId,
    /// Origin domain.
    pub origin: Domain,
    /// Destination domain.
    pub destination: Domain,
    /// Outbox nonce.
    pub nonce: Nonce,
    /// The log's hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The checkpointed log size.
    pub log_size: LogSize,
    /// The message's position in the log.
    pub leaf_index: LeafIndex,
    /// The checkpointed root.
    pub root: Hash32,
    /// Distinct validators whose signatures verified, ascending.
    pub signers: Vec<EvmAddress>,
    /// The threshold they met.
    pub threshold: usize,
    /// Family of the native source proof the bundle carries, if any.
    pub native_proof: Option<ChainFamily>,
    /// Always `false` here: this crate does not check native proofs (adapters do).
    pub native_proof_checked: bool,
}

impl ProofBundle {
    /// A bundle from its parts. Fails with [`Error::InconsistentBundle`] only if the path or the
    /// signature list exceeds what [`ProofBundle::from_json`] accepts; everything else is
    /// [`ProofBundle::verify`]'s job (a bundle is untrusted until verified).
    pub fn assemble(
        message: Message,
        inclusion: InclusionProof,
        checkpoint: Checkpoint,
        signing_domain: SigningDomain,
        signatures: Vec<Signature>,
    ) -> Result<Self, Error> {
        if inclusion.path.len() > MAX_PATH_NODES {
            return Err(Error::InconsistentBundle {
                reason: format!(
                    "{} path nodes exceed the limit of {MAX_PATH_NODES}",
                    inclusion.path.len()
                ),
            });
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(Error::InconsistentBundle {
                reason: format!(
                    "{} signatures exceed the limit of {MAX_SIGNATURES}",
                    signatures.len()
                ),
            });
        }
        Ok(ProofBundle {
            message,
            inclusion,
            checkpoint,
            signing_domain,
            signatures,
            source: None,
            native_proof: None,
        })
    }

    /// The same bundle with where its message was observed.
    pub fn with_source(mut self, source: SourceReference) -> Self {
        self.source = Some(source);
        self
    }

    /// The same bundle with the origin chain's native proof.
    pub fn with_native_proof(mut self, proof: NativeProof) -> Self {
        self.native_proof = Some(proof);
        self
    }

    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }
    /// The inclusion proof of the message id in the checkpointed log.
    pub fn inclusion(&self) -> &InclusionProof {
        &self.inclusion
    }
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
    /// The signing domain the bundle claims its signatures were made for.
    pub fn signing_domain(&self) -> &SigningDomain {
        &self.signing_domain
    }
    /// The validators' signatures over the checkpoint digest.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }
    /// Where the message was observed, if recorded.
    pub fn source(&self) -> Option<&SourceReference> {
        self.source.as_ref()
    }
    /// The origin chain's native proof, if carried.
    pub fn native_proof(&self) -> Option<&NativeProof> {
        self.native_proof.as_ref()
    }

    /// Checks the bundle against what the verifier trusts, cheapest checks first:
    ///
    /// 1. checkpoint and message origin are the trusted origin ([`Error::WrongDomain`]);
    /// 2. the message is for the trusted destination ([`Error::WrongDestination`]);
    /// 3. the bundle's signing domain is the trusted one ([`Error::SigningDomainMismatch`]);
    /// 4. the inclusion proof is for the checkpoint's size ([`Error::InconsistentBundle`]);
    /// 5. the message id is in the checkpointed log (the log's proof errors);
    /// 6. a threshold of distinct validators signed the checkpoint digest computed from the
    ///    *trusted* signing domain (the attestation errors).
    ///
    /// The native proof, if any, is not checked: [`Verdict::native_proof_checked`] is `false`.
    pub fn verify(&self, trust: &TrustAnchor) -> Result<Verdict, Error> {
        let domain = &trust.signing_domain;
        self.checkpoint.check_domain(domain)?;
        if self.message.origin() != domain.origin {
            return Err(Error::WrongDomain {
                expected: domain.origin,
                actual: self.message.origin(),
            });
        }
        if self.message.destination() != domain.destination {
            return Err(Error::WrongDestination {
                expected: domain.destination,
                actual: self.message.destination(),
            });
        }
        check_same_domain(domain, &self.signing_domain)?;
        if self.inclusion.size != self.checkpoint.size() {
            return Err(size_mismatch(&self.inclusion, &self.checkpoint));
        }
        let id = self.message.id();
        self.inclusion.verify(
            self.checkpoint.hash_algorithm(),
            id.as_hash(),
            &self.checkpoint.root(),
        )?;
        let digest = self.checkpoint.signing_digest(domain);
        let quorum = verify_attestations(&trust.validators, &digest, &self.signatures)?;
        Ok(Verdict {
            message_id: id,
            origin: self.message.origin(),
            destination: self.message.destination(),
            nonce: self.message.nonce(),
            hash_algorithm: self.checkpoint.hash_algorithm(),
            log_size: self.checkpoint.size(),
            leaf_index: self.inclusion.index,
            root: self.checkpoint.root(),
            signers: quorum.signers().to_vec(),
            threshold: quorum.threshold(),
            native_proof: self.native_proof.as_ref().map(|p| p.family),
            native_proof_checked: false,
        })
    }
}

fn size_mismatch(inclusion: &InclusionProof, checkpoint: &Checkpoint) -> Error {
    Error::InconsistentBundle {
        reason: format!(
            "inclusion proof is for log size {} but the checkpoint is for size {}",
            inclusion.size.0,
            checkpoint.size().0
        ),
    }
}

/// [`Error::SigningDomainMismatch`] naming the first field in which `found` differs from `trusted`.
fn check_same_domain(trusted: &SigningDomain, found: &SigningDomain) -> Result<(), Error> {
    if trusted == found {
        return Ok(());
    }
    let fields: [(&'static str, String, String); 6] = [
        (
            "origin",
            trusted.origin.to_string(),
            found.origin.to_string(),
        ),
        (
            "origin_chain_id",
            trusted.origin_chain_id.to_string(),
            found.origin_chain_id.to_string(),
        ),
        (
            "destination",
            trusted.destination.to_string(),
            found.destination.to_string(),
        ),
        (
            "destination_chain_id",
            trusted.destination_chain_id.to_string(),
            found.destination_chain_id.to_string(),
        ),
        ("inbox", trusted.inbox.to_hex(), found.inbox.to_hex()),
        (
            "validator_epoch",
            trusted.validator_epoch.to_string(),
            found.validator_epoch.to_string(),
        ),
    ];
    match fields.into_iter().find(|(_, e, f)| e != f) {
        Some((field, expected, found)) => Err(Error::SigningDomainMismatch {
            field,
            expected,
            found,
        }),
        None => Ok(()),
    }
}
