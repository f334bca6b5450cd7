//! The checks themselves, shared by [`super::FabricNativeVerifier`] (one transaction of one
//! block) and the source (every dispatching transaction of every block): the block's data hash
//! and orderer signatures, then per transaction its validation code, chaincode, event, creator
//! and endorsements.
//!
//! Split in a cheap part ([`Checker::classify`]: decoding, no cryptography) and the signature
//! checks ([`Checker::check_block`], [`Checker::check_transaction`]) so that the source can run
//! the latter on several cores.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use causeway_proofs::{Domain, Message};

use super::FabricVerifierConfig;
use super::cache::{IdentityCache, Role, Validated};
use crate::Error;
use crate::fabric::error::decode;
use crate::fabric::proto::common::{BlockMetadataIndex, HeaderType, Metadata, SignatureHeader};
use crate::fabric::{
    EndorsementPolicy, FabricBlock, FabricError, FabricTransaction, TransactionId, ValidationCode,
    header_bytes,
};

/// The chaincode event name of a Causeway message (spec: one event per transaction).
pub const DISPATCH_EVENT: &str = "causeway.Dispatch";

/// Why a transaction holds no message to yield. The source ignores these (and counts them); the
/// verifier refuses a proof that points at one.
#[derive(Debug)]
pub(crate) enum Skip {
    /// Not an endorser transaction, no chaincode event, or an event of another name.
    NoDispatch,
    /// A `causeway.Dispatch` event from another chaincode than the outbox (a look-alike).
    Foreign {
        /// The chaincode that emitted it.
        chaincode: String,
    },
    /// An outbox `causeway.Dispatch` event in a transaction the committer marked invalid.
    NotValid {
        /// The committer's code.
        code: ValidationCode,
    },
    /// An outbox event whose payload is not a message of this origin.
    Malformed {
        /// Why.
        reason: String,
    },
}

/// An outbox `causeway.Dispatch` event of a VALID transaction, before its signatures are
/// checked.
#[derive(Debug)]
pub(crate) struct Candidate {
    /// The transaction.
    pub(crate) tx: FabricTransaction,
    /// The message its event carries.
    pub(crate) message: Message,
}

/// The configuration, the origin domain and the identity cache.
#[derive(Debug)]
pub(crate) struct Checker {
    pub(crate) config: FabricVerifierConfig,
    pub(crate) domain: Domain,
    /// The MSP ids the policy names: only their endorsements can count.
    policy_msps: BTreeSet<String>,
    cache: IdentityCache,
}

fn invalid(reason: String) -> Error {
    Error::InvalidNativeProof { reason }
}

/// The organisations an endorsement policy names.
pub(crate) fn policy_msps(policy: &EndorsementPolicy) -> &[String] {
    match policy {
        EndorsementPolicy::AllOf(msps)
        | EndorsementPolicy::OutOf { msps, .. }
        | EndorsementPolicy::Majority(msps) => msps,
    }
}

impl Checker {
    pub(crate) fn new(config: FabricVerifierConfig, domain: Domain) -> Arc<Self> {
        let policy_msps = policy_msps(&config.policy).iter().cloned().collect();
        Arc::new(Self {
            config,
            domain,
            policy_msps,
            cache: IdentityCache::default(),
        })
    }

    /// The block-level checks: data hash, and the required number of distinct orderer
    /// identities whose low-S signature over `Metadata.value || signature_header ||
    /// header_bytes` verifies (Fabric's `BlockSignatureVerifier`).
    pub(crate) fn check_block(&self, block: &FabricBlock, at: SystemTime) -> Result<(), Error> {
        block.verify_data_hash()?;
        let metadata: Metadata = decode(block.metadata(BlockMetadataIndex::Signatures), || {
            format!("common.Metadata (SIGNATURES) of block {}", block.number())
        })?;
        let header = header_bytes(block.header());
        let mut signers: Vec<Arc<Validated>> = Vec::new();
        let mut refused: Vec<String> = Vec::new();
        for signature in &metadata.signatures {
            let identity = decode::<SignatureHeader>(&signature.signature_header, || {
                "common.SignatureHeader of an orderer signature".to_owned()
            })
            .and_then(|h| {
                self.cache
                    .validated(Role::Orderer, &h.creator, &self.config.orderers, at)
            });
            let identity = match identity {
                Ok(identity) => identity,
                Err(e) => {
                    refused.push(e.to_string());
                    continue;
                }
            };
            if signers
                .iter()
                .any(|s| s.serialized() == identity.serialized())
            {
                continue;
            }
            let signed = [
                metadata.value.as_slice(),
                signature.signature_header.as_slice(),
                header.as_slice(),
            ]
            .concat();
            match identity.verify(&signed, &signature.signature) {
                Ok(()) => signers.push(identity),
                Err(e) => refused.push(format!("{}: {e}", identity.mspid())),
            }
        }
        let required = self.config.orderer_signatures_required;
        if signers.len() >= required {
            return Ok(());
        }
        Err(invalid(format!(
            "block {}: {} valid orderer signature(s) of {} present, {required} required{}",
            block.number(),
            signers.len(),
            metadata.signatures.len(),
            if refused.is_empty() {
                String::new()
            } else {
                format!(" (refused: {})", refused.join("; "))
            }
        )))
    }

    /// Decodes transaction `index` of `block` and says whether it carries a message to check.
    /// Errors only for a VALID transaction that does not decode or is on another channel.
    pub(crate) fn classify(
        &self,
        block: &FabricBlock,
        code: ValidationCode,
        index: usize,
    ) -> Result<Result<Candidate, Skip>, Error> {
        let bytes = block.data().data.get(index).ok_or_else(|| {
            invalid(format!(
                "block {} has no transaction {index} ({} transactions)",
                block.number(),
                block.data().data.len()
            ))
        })?;
        let tx = match FabricTransaction::decode(index, bytes) {
            Ok(tx) => tx,
            // An invalid transaction may be garbage (BAD_PAYLOAD and the like); it is ignored.
            Err(_) if !code.is_valid() => return Ok(Err(Skip::NoDispatch)),
            Err(e) => {
                return Err(invalid(format!(
                    "block {}: VALID transaction {index} does not decode: {e}",
                    block.number()
                )));
            }
        };
        if tx.header_type() != HeaderType::EndorserTransaction as i32 {
            return Ok(Err(Skip::NoDispatch));
        }
        // Fabric accepts exactly one action per transaction; a transaction with several is
        // not something the outbox produces, so none of its events count.
        let [action] = tx.actions.as_slice() else {
            return Ok(Err(Skip::NoDispatch));
        };
        let Some(event) = action.event.as_ref() else {
            return Ok(Err(Skip::NoDispatch));
        };
        if event.event_name != DISPATCH_EVENT {
            return Ok(Err(Skip::NoDispatch));
        }
        let outbox = self.config.outbox_chaincode.as_str();
        let action_chaincode = action
            .chaincode_action
            .chaincode_id
            .as_ref()
            .map_or("", |id| id.name.as_str());
        if action_chaincode != outbox {
            return Ok(Err(Skip::Foreign {
                chaincode: action_chaincode.to_owned(),
            }));
        }
        if event.chaincode_id != outbox {
            return Ok(Err(Skip::Foreign {
                chaincode: event.chaincode_id.clone(),
            }));
        }
        if !code.is_valid() {
            return Ok(Err(Skip::NotValid { code }));
        }
        if tx.channel_id() != self.config.channel {
            return Err(invalid(format!(
                "transaction {} is on channel `{}`, not `{}`",
                tx.tx_id(),
                tx.channel_id(),
                self.config.channel
            )));
        }
        if !event.tx_id.is_empty() && event.tx_id != tx.tx_id() {
            return Ok(Err(Skip::Malformed {
                reason: format!(
                    "event names transaction {}, it is in {}",
                    event.tx_id,
                    tx.tx_id()
                ),
            }));
        }
        let message = match Message::decode(&event.payload) {
            Ok(m) => m,
            Err(e) => {
                return Ok(Err(Skip::Malformed {
                    reason: format!("payload is not a Causeway message: {e}"),
                }));
            }
        };
        if message.origin() != self.domain {
            return Ok(Err(Skip::Malformed {
                reason: format!(
                    "message origin {} is not this chain's domain {}",
                    message.origin(),
                    self.domain
                ),
            }));
        }
        Ok(Ok(Candidate { tx, message }))
    }

    /// The signature checks of a candidate transaction: its creator (trusted identity, low-S
    /// signature over the payload, tx id derived from nonce and creator) and its endorsements
    /// (only valid ones of the policy's organisations count, each organisation once) against
    /// the endorsement policy.
    pub(crate) fn check_transaction(
        &self,
        tx: &FabricTransaction,
        at: SystemTime,
    ) -> Result<(), Error> {
        let trusted = &self.config.trusted;
        let id = tx.tx_id();
        let creator = self
            .cache
            .validated(Role::Member, &tx.signature_header.creator, trusted, at)
            .map_err(|e| invalid(format!("transaction {id}: creator refused: {e}")))?;
        creator
            .verify(&tx.payload, &tx.signature)
            .map_err(|e| invalid(format!("transaction {id}: creator signature: {e}")))?;
        let derived =
            TransactionId::derive(&tx.signature_header.nonce, &tx.signature_header.creator);
        if derived.0 != id {
            return Err(FabricError::TxIdMismatch {
                claimed: id.to_owned(),
                computed: derived.0,
            }
            .into());
        }
        let policy = &self.config.policy;
        let mut endorsed_by = BTreeSet::new();
        let mut refused = Vec::new();
        for action in &tx.actions {
            for endorsement in &action.endorsements {
                if policy.is_satisfied_by(&endorsed_by) {
                    break;
                }
                let identity =
                    match self
                        .cache
                        .validated(Role::Member, &endorsement.endorser, trusted, at)
                    {
                        Ok(identity) => identity,
                        Err(e) => {
                            refused.push(e.to_string());
                            continue;
                        }
                    };
                let mspid = identity.mspid();
                if !self.policy_msps.contains(mspid) {
                    refused.push(format!("{mspid} is not named by the policy"));
                    continue;
                }
                if endorsed_by.contains(mspid) {
                    continue;
                }
                match identity.verify(&action.signed_data(endorsement), &endorsement.signature) {
                    Ok(()) => {
                        endorsed_by.insert(mspid.to_owned());
                    }
                    Err(e) => refused.push(format!("{mspid}: {e}")),
                }
            }
        }
        if policy.is_satisfied_by(&endorsed_by) {
            return Ok(());
        }
        Err(invalid(format!(
            "transaction {id}: endorsement policy {policy} not satisfied: valid endorsements from {:?}{}",
            endorsed_by,
            if refused.is_empty() {
                String::new()
            } else {
                format!("; refused: {}", refused.join("; "))
            }
        )))
    }
}
