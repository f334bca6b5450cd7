//! The signature checks of a block's contents, as Fabric's committer and Causeway's verifier
//! make them: the ordering service's block signature, each transaction's creator signature and
//! tx id, and each endorsement (see `shared/protocol/fabric.md` A.8 items 4, 7, 8, 9).

use std::time::SystemTime;

use super::block::{EndorsedAction, FabricBlock, FabricTransaction, header_bytes};
use super::error::{FabricError, decode};
use super::identity::{FabricIdentity, TransactionId, TrustedMsps};
use super::proto::common::{BlockMetadataIndex, HeaderType, Metadata, SignatureHeader};
use super::proto::protos::Endorsement;

impl FabricBlock {
    /// Verifies the ordering service's signatures in the SIGNATURES metadata: each signs
    /// `Metadata.value || signature_header || header_bytes` (Fabric's `BlockSignatureVerifier`)
    /// with a low-S signature of an orderer identity trusted at `at`. Returns the distinct
    /// orderers whose signature verified; fails unless there are at least `required` (and at
    /// least one). Signatures that fail are not counted. BFT signatures that carry only an
    /// `identifier_header` are not supported yet and do not count.
    pub fn verify_orderer_signatures(
        &self,
        orderers: &TrustedMsps,
        at: SystemTime,
        required: usize,
    ) -> Result<Vec<FabricIdentity>, FabricError> {
        let metadata: Metadata = decode(self.metadata(BlockMetadataIndex::Signatures), || {
            format!("common.Metadata (SIGNATURES) of block {}", self.number())
        })?;
        let header = header_bytes(self.header());
        let mut signers: Vec<FabricIdentity> = Vec::new();
        for signature in &metadata.signatures {
            let Ok(signature_header) =
                decode::<SignatureHeader>(&signature.signature_header, || {
                    "common.SignatureHeader".to_owned()
                })
            else {
                continue;
            };
            let Ok(identity) = FabricIdentity::from_serialized(&signature_header.creator) else {
                continue;
            };
            let signed = [
                metadata.value.as_slice(),
                signature.signature_header.as_slice(),
                header.as_slice(),
            ]
            .concat();
            if orderers.validate(&identity, at).is_ok()
                && identity.verify(&signed, &signature.signature).is_ok()
                && !signers
                    .iter()
                    .any(|s| s.serialized() == identity.serialized())
            {
                signers.push(identity);
            }
        }
        if signers.len() >= required.max(1) {
            Ok(signers)
        } else {
            Err(FabricError::NoValidOrdererSignature {
                number: self.number(),
                signatures: metadata.signatures.len(),
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
            let computed =
                TransactionId::derive(&self.signature_header.nonce, &self.signature_header.creator);
            if computed.0 != self.tx_id() {
                return Err(FabricError::TxIdMismatch {
                    claimed: self.tx_id().to_owned(),
                    computed: computed.0,
                });
            }
        }
        Ok(creator)
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

    /// Checks one endorsement: its endorser is a trusted identity at `at` and its low-S
    /// signature over [`EndorsedAction::signed_data`] verifies. Returns the endorser.
    pub fn verify_endorsement(
        &self,
        endorsement: &Endorsement,
        trusted: &TrustedMsps,
        at: SystemTime,
    ) -> Result<FabricIdentity, FabricError> {
        let identity = FabricIdentity::from_serialized(&endorsement.endorser)?;
        trusted.validate(&identity, at)?;
        identity.verify(&self.signed_data(endorsement), &endorsement.signature)?;
        Ok(identity)
    }
}
