//! The signature checks of a block's contents, as Fabric's committer and Causeway's verifier
//! make them: the ordering service's block signature, each transaction's creator signature,
//! tx id and proposal hash, and each endorsement (see `shared/protocol/fabric.md` A.8 items 4,
//! 5, 7, 8, 9).
//!
//! The loops over block signatures and endorsements are written once, here, over a `resolve`
//! step that turns serialized identity bytes into a trusted identity of the required role: the
//! public checks below resolve by parsing and validating each time, the native verifier and the
//! source resolve through their cache of validated identities (`native/cache.rs`).

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::block::{EndorsedAction, FabricBlock, FabricTransaction, header_bytes, proposal_hash};
use super::error::{FabricError, decode};
use super::identity::{FabricIdentity, MspRole, TransactionId, TrustedMsps};
use super::policy::EndorsementPolicy;
use super::proto::common::{BlockMetadataIndex, HeaderType, Metadata, SignatureHeader};
use super::proto::protos::Endorsement;

/// An identity that passed validation and checks Fabric signatures (low-S, strict DER).
pub(crate) trait Signer {
    /// The identity.
    fn identity(&self) -> &FabricIdentity;
    /// Verifies its signature over `message`.
    fn verify_signature(&self, message: &[u8], der_signature: &[u8]) -> Result<(), FabricError>;
}

impl Signer for FabricIdentity {
    fn identity(&self) -> &FabricIdentity {
        self
    }

    fn verify_signature(&self, message: &[u8], der_signature: &[u8]) -> Result<(), FabricError> {
        self.verify(message, der_signature)
    }
}

/// Parses `bytes` as an identity and checks it is trusted by `trusted` in `role` at `at`.
pub(crate) fn resolve_with(
    trusted: &TrustedMsps,
    role: MspRole,
    at: SystemTime,
) -> impl Fn(&[u8]) -> Result<FabricIdentity, FabricError> + '_ {
    move |bytes| {
        let identity = FabricIdentity::from_serialized(bytes)?;
        trusted.validate_role(&identity, role, at)?;
        Ok(identity)
    }
}

/// The outcome of checking a block's SIGNATURES metadata.
pub(crate) struct OrdererSignatures<S> {
    /// Distinct signers whose signature verified, in metadata order.
    pub(crate) signers: Vec<S>,
    /// How many signatures the metadata held.
    pub(crate) present: usize,
    /// Why the others did not count.
    pub(crate) refused: Vec<String>,
}

/// Checks every signature of `block`'s SIGNATURES metadata: each signs `Metadata.value ||
/// signature_header || header_bytes` (Fabric's `BlockSignatureVerifier`) and counts when
/// `resolve` accepts its creator and the signature verifies, each public key once. BFT
/// signatures that carry only an `identifier_header` are not supported yet and do not count.
pub(crate) fn orderer_signatures<S: Signer>(
    block: &FabricBlock,
    resolve: impl Fn(&[u8]) -> Result<S, FabricError>,
) -> Result<OrdererSignatures<S>, FabricError> {
    let metadata: Metadata = decode(block.metadata(BlockMetadataIndex::Signatures), || {
        format!("common.Metadata (SIGNATURES) of block {}", block.number())
    })?;
    let header = header_bytes(block.header());
    let mut signers: Vec<S> = Vec::new();
    let mut refused = Vec::new();
    for signature in &metadata.signatures {
        let identity = decode::<SignatureHeader>(&signature.signature_header, || {
            "common.SignatureHeader of an orderer signature".to_owned()
        })
        .and_then(|h| resolve(&h.creator));
        let identity = match identity {
            Ok(identity) => identity,
            Err(e) => {
                refused.push(e.to_string());
                continue;
            }
        };
        // One orderer counts once: told apart by public key, as Fabric tells its consenters
        // apart, not by the serialized identity, of which one certificate has many encodings
        // (PEM or DER, extra protobuf fields).
        if signers
            .iter()
            .any(|s| s.identity().verifying_key() == identity.identity().verifying_key())
        {
            continue;
        }
        let signed = [
            metadata.value.as_slice(),
            signature.signature_header.as_slice(),
            header.as_slice(),
        ]
        .concat();
        match identity.verify_signature(&signed, &signature.signature) {
            Ok(()) => signers.push(identity),
            Err(e) => refused.push(format!("{}: {e}", identity.identity().mspid())),
        }
    }
    Ok(OrdererSignatures {
        signers,
        present: metadata.signatures.len(),
        refused,
    })
}

/// The organisations whose endorsements counted, and why the others did not.
pub(crate) struct Endorsed {
    /// Organisations (named by the policy) with a valid endorsement.
    pub(crate) by: BTreeSet<String>,
    /// Why the other endorsements did not count.
    pub(crate) refused: Vec<String>,
}

/// Evaluates `policy` over the endorsements of `action` as Fabric's validator does: an
/// endorsement counts when `resolve` accepts its endorser (trusted, in the required role), its
/// organisation is named by the policy, and its low-S signature over
/// [`EndorsedAction::signed_data`] verifies; each organisation counts once. Stops verifying once
/// the policy is satisfied. Returns whether it is, with what counted.
pub(crate) fn endorsements<S: Signer>(
    policy: &EndorsementPolicy,
    action: &EndorsedAction,
    resolve: impl Fn(&[u8]) -> Result<S, FabricError>,
) -> (bool, Endorsed) {
    let named = policy.msps();
    let mut endorsed = Endorsed {
        by: BTreeSet::new(),
        refused: Vec::new(),
    };
    for endorsement in &action.endorsements {
        if policy.is_satisfied_by(&endorsed.by) {
            break;
        }
        let identity = match resolve(&endorsement.endorser) {
            Ok(identity) => identity,
            Err(e) => {
                endorsed.refused.push(e.to_string());
                continue;
            }
        };
        let mspid = identity.identity().mspid();
        if !named.iter().any(|m| m == mspid) {
            endorsed
                .refused
                .push(format!("{mspid} is not named by the policy"));
            continue;
        }
        if endorsed.by.contains(mspid) {
            continue;
        }
        match identity.verify_signature(&action.signed_data(endorsement), &endorsement.signature) {
            Ok(()) => {
                endorsed.by.insert(mspid.to_owned());
            }
            Err(e) => endorsed.refused.push(format!("{mspid}: {e}")),
        }
    }
    (policy.is_satisfied_by(&endorsed.by), endorsed)
}

impl FabricBlock {
    /// Verifies the ordering service's signatures in the SIGNATURES metadata: each signs
    /// `Metadata.value || signature_header || header_bytes` (Fabric's `BlockSignatureVerifier`)
    /// with a low-S signature of an identity trusted by `orderers` at `at` in `role` (normally
    /// [`MspRole::Orderer`]). Returns the orderers whose signature verified, each public key
    /// once (one certificate serialized several ways is one orderer); fails
    /// unless there are at least `required` (and at least one). Signatures that fail are not
    /// counted.
    pub fn verify_orderer_signatures(
        &self,
        orderers: &TrustedMsps,
        role: MspRole,
        at: SystemTime,
        required: usize,
    ) -> Result<Vec<FabricIdentity>, FabricError> {
        let checked = orderer_signatures(self, resolve_with(orderers, role, at))?;
        if checked.signers.len() >= required.max(1) {
            Ok(checked.signers)
        } else {
            Err(FabricError::NoValidOrdererSignature {
                number: self.number(),
                signatures: checked.present,
            })
        }
    }
}

impl FabricTransaction {
    /// Checks the creator: a trusted identity at `at` whose low-S signature over the payload
    /// verifies, and, for endorser transactions, a tx id equal to hex(SHA-256(nonce ||
    /// creator)) (Fabric's `CheckTxID`). Returns the creator.
    pub fn verify_creator(
        &self,
        trusted: &TrustedMsps,
        at: SystemTime,
    ) -> Result<FabricIdentity, FabricError> {
        let creator = FabricIdentity::from_serialized(&self.signature_header.creator)?;
        trusted.validate(&creator, at)?;
        creator.verify(&self.payload, &self.signature)?;
        if self.header_type() == HeaderType::EndorserTransaction as i32 {
            self.check_tx_id()?;
        }
        Ok(creator)
    }

    /// Fabric's `CheckTxID`: the tx id is hex(SHA-256(nonce || creator)).
    pub(crate) fn check_tx_id(&self) -> Result<(), FabricError> {
        let computed =
            TransactionId::derive(&self.signature_header.nonce, &self.signature_header.creator);
        if computed.0 == self.tx_id() {
            Ok(())
        } else {
            Err(FabricError::TxIdMismatch {
                claimed: self.tx_id().to_owned(),
                computed: computed.0,
            })
        }
    }

    /// Checks that every action's endorsed `proposal_hash` is the [`proposal_hash`] of the
    /// transaction's channel header, the action's signature header and its proposal payload,
    /// as Fabric's `validateEndorserTransaction` does: endorsements of another proposal (other
    /// arguments, another creator or nonce) do not endorse this transaction.
    pub fn verify_proposal_hashes(&self) -> Result<(), FabricError> {
        for action in &self.actions {
            let computed = proposal_hash(
                &self.channel_header_bytes,
                &action.header,
                &action.chaincode_proposal_payload,
            );
            if action.proposal_hash.as_slice() != computed.as_slice() {
                return Err(FabricError::ProposalHashMismatch {
                    tx_id: self.tx_id().to_owned(),
                    claimed: hex::encode(&action.proposal_hash),
                    computed: hex::encode(computed),
                });
            }
        }
        Ok(())
    }
}

impl EndorsedAction {
    /// The bytes an endorser signs: `proposal_response_payload || endorser` (Fabric's
    /// validators build the same signed data per endorsement).
    pub fn signed_data(&self, endorsement: &Endorsement) -> Vec<u8> {
        [
            self.proposal_response_payload.as_slice(),
            endorsement.endorser.as_slice(),
        ]
        .concat()
    }

    /// Checks one endorsement: its endorser is an identity trusted at `at` in `role` (normally
    /// [`MspRole::Peer`]) and its low-S signature over [`EndorsedAction::signed_data`]
    /// verifies. Returns the endorser.
    pub fn verify_endorsement(
        &self,
        endorsement: &Endorsement,
        trusted: &TrustedMsps,
        role: MspRole,
        at: SystemTime,
    ) -> Result<FabricIdentity, FabricError> {
        let identity = resolve_with(trusted, role, at)(&endorsement.endorser)?;
        identity.verify(&self.signed_data(endorsement), &endorsement.signature)?;
        Ok(identity)
    }
}
