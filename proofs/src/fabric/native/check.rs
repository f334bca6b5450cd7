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

use crate::{Domain, Message};

use super::FabricVerifierConfig;
use super::cache::{IdentityCache, Role, Validated};
use crate::fabric::FabricError as Error;
use crate::fabric::proto::common::HeaderType;
use crate::fabric::verify::{endorsements, orderer_signatures};
use crate::fabric::{
    FabricBlock, FabricError, FabricIdentity, FabricTransaction, MspRole, ValidationCode,
};

/// The chaincode event name of a Causeway message (spec: one event per transaction).
pub const DISPATCH_EVENT: &str = "causeway.Dispatch";

/// Why a transaction holds no message to yield. The source ignores these (and counts them); the
/// verifier refuses a proof that points at one.
#[derive(Debug)]
pub enum Skip {
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
pub struct Candidate {
    /// The transaction.
    pub tx: FabricTransaction,
    /// The message its event carries.
    pub message: Message,
}

/// The configuration, the origin domain and the identity cache.
#[derive(Debug)]
pub struct Checker {
    /// Whom to trust, and for what.
    pub config: FabricVerifierConfig,
    /// The origin domain every message must name.
    pub domain: Domain,
    cache: IdentityCache,
}

fn invalid(reason: String) -> Error {
    Error::InvalidProof { reason }
}

impl Checker {
    /// A checker for messages of `domain`, with an empty identity cache.
    pub fn new(config: FabricVerifierConfig, domain: Domain) -> Arc<Self> {
        Arc::new(Self {
            config,
            domain,
            cache: IdentityCache::default(),
        })
    }

    /// The identity in `bytes`, validated (through the cache) against the roots of `roots` and
    /// checked to play `role`.
    fn resolve(
        &self,
        roots: Role,
        role: MspRole,
        at: SystemTime,
    ) -> impl Fn(&[u8]) -> Result<Arc<Validated>, FabricError> + '_ {
        move |bytes| {
            let trusted = match roots {
                Role::Member => &self.config.trusted,
                Role::Orderer => &self.config.orderers,
            };
            let identity = self.cache.validated(roots, bytes, trusted, at)?;
            role.check(&identity)?;
            Ok(identity)
        }
    }

    /// The block-level checks: data hash, and the required number of distinct orderers (in the
    /// configured orderer role, among the configured consenters when named, each public key
    /// once) whose low-S signature over `Metadata.value || signature_header || header_bytes`
    /// verifies (Fabric's `BlockSignatureVerifier`).
    pub fn check_block(&self, block: &FabricBlock, at: SystemTime) -> Result<(), Error> {
        block.verify_data_hash()?;
        let orderer = self.resolve(Role::Orderer, self.config.orderer_role, at);
        let consenters = &self.config.consenters;
        let checked = orderer_signatures(block, |bytes: &[u8]| {
            let identity = orderer(bytes)?;
            if consenters.is_empty()
                || consenters.iter().any(|c| {
                    c.verifying_key() == identity.verifying_key() && c.mspid() == identity.mspid()
                })
            {
                Ok(identity)
            } else {
                Err(FabricError::NotAConsenter {
                    mspid: identity.mspid().to_owned(),
                    subject: identity.certificate().tbs_certificate.subject.to_string(),
                })
            }
        })?;
        let required = self.config.orderer_signatures_required;
        if checked.signers.len() >= required {
            return Ok(());
        }
        Err(invalid(format!(
            "block {}: {} valid orderer signature(s) of {} present, {required} required{}",
            block.number(),
            checked.signers.len(),
            checked.present,
            if checked.refused.is_empty() {
                String::new()
            } else {
                format!(" (refused: {})", checked.refused.join("; "))
            }
        )))
    }

    /// Decodes transaction `index` of `block` and says whether it carries a message to check.
    /// Errors only for a VALID transaction that does not decode or is on another channel.
    pub fn classify(
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

    /// Whether a transaction's creator may have created it, by its NodeOU role. Fabric lets a
    /// creator submit when it satisfies the channel's Writers policy: the orderer checks it at
    /// Broadcast and the endorsers at Propose, and the committer re-checks only the
    /// identity and its signature, so a block carries no proof of it. The application Writers
    /// policies Fabric ships (`OR('Org.admin', 'Org.client')` in the test network,
    /// `OR('Org.member')` in the samples made with cryptogen) admit the admins, clients and,
    /// under `member`, the peers of the application organisations, never an `orderer`; and with
    /// NodeOUs Fabric refuses an identity with no role at all (`validateIdentityOUsV142`). So,
    /// when the organisations use NodeOUs (endorsers are counted as [`MspRole::Peer`]s), the
    /// creator must be a client, an admin or a peer; without NodeOUs
    /// ([`MspRole::Member`] endorsers) no role can be read and any trusted identity may create.
    fn check_creator_role(&self, creator: &FabricIdentity) -> Result<(), FabricError> {
        if self.config.endorser_role == MspRole::Member {
            return Ok(());
        }
        match creator.node_role() {
            Some(MspRole::Client | MspRole::Admin | MspRole::Peer) => Ok(()),
            found => Err(FabricError::CreatorRoleNotAllowed {
                mspid: creator.mspid().to_owned(),
                subject: creator.certificate().tbs_certificate.subject.to_string(),
                found,
            }),
        }
    }

    /// The checks of a candidate transaction: its creator (trusted identity, low-S signature
    /// over the payload, tx id derived from nonce and creator, a client, admin or peer: see
    /// [`Checker::check_creator_role`]), the proposal hash its
    /// endorsers signed (that of this transaction's proposal), and its endorsements (only valid
    /// ones by identities of the configured endorser role of the policy's organisations count,
    /// each organisation once) against the endorsement policy.
    pub fn check_transaction(&self, tx: &FabricTransaction, at: SystemTime) -> Result<(), Error> {
        let id = tx.tx_id();
        let creator = self.resolve(Role::Member, MspRole::Member, at)(&tx.signature_header.creator)
            .and_then(|creator| self.check_creator_role(&creator).map(|()| creator))
            .map_err(|e| invalid(format!("transaction {id}: creator refused: {e}")))?;
        creator
            .verify(&tx.payload, &tx.signature)
            .map_err(|e| invalid(format!("transaction {id}: creator signature: {e}")))?;
        tx.check_tx_id()?;
        tx.verify_proposal_hashes()?;
        let policy = &self.config.policy;
        let mut endorsed_by = BTreeSet::new();
        let mut refused = Vec::new();
        let resolve = self.resolve(Role::Member, self.config.endorser_role, at);
        for action in &tx.actions {
            let (_, endorsed) = endorsements(policy, action, &resolve);
            endorsed_by.extend(endorsed.by);
            refused.extend(endorsed.refused);
        }
        if !tx.actions.is_empty() && policy.is_satisfied_by(&endorsed_by) {
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
