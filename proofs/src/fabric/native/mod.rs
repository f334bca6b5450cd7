//! The native proof of a message dispatched on Fabric, and [`FabricNativeVerifier`], its
//! offline check.
//!
//! The proof is the whole committed block and the position of the transaction in it
//! ([`FabricSourceProof`]; NativeProof data `{"block": "<base64 common.Block>", "tx_index": n}`).
//! The check, from the bytes alone and the verifier's own configuration:
//! 1. the block decodes; its header hash is the block hash the source reference names, and its
//!    number the block number;
//! 2. its `data_hash` commits to its data;
//! 3. enough distinct orderers (trusted under the orderer MSP roots, NodeOU role `orderer`,
//!    among the configured consenters when named, told apart by public key) signed it;
//! 4. transaction `tx_index` has the source reference's tx id and the committer's code VALID;
//! 5. its creator is a trusted identity (a client, admin or peer, with NodeOUs) whose
//!    signature over the envelope verifies, and whose tx id is derived from nonce and creator;
//! 6. the proposal hash its endorsers signed is the hash of its own proposal, and its
//!    endorsements, by peers (NodeOU role, [`FabricVerifierConfig::endorser_role`]) verified
//!    against the organisations' MSP roots, satisfy the endorsement policy, and the endorsed
//!    chaincode action is the configured outbox's;
//! 7. its chaincode event is `causeway.Dispatch` from the outbox, and its payload decodes
//!    strictly as the observed message, whose origin is this chain's domain.
//!
//! Whether the block is on the channel's hash chain is the source's check (its cursor holds the
//! previous header hash); an offline proof of one block cannot know it.
//!
//! What no check of a block can establish: the TRANSACTIONS_FILTER (validation codes) is
//! written by the committing peer and covered by no signature, so a proof read from one peer
//! trusts that peer's validation, as Fabric's own clients do, and anyone building a proof can
//! relabel an invalid transaction (the losing dispatch of an MVCC conflict, another message
//! under the same nonce) as VALID. Offline verification says so ([`VALIDATION_CODE_UNPROVED`],
//! which `causeway verify` prints). A lying peer is covered by the consortium's threshold: each
//! member gateway reads its own organisation's peer, and its source refuses a nonce seen twice
//! (equivocation) or a gap in the outbox's nonces.

mod cache;
mod check;
#[cfg(any(test, feature = "test-utils"))]
pub mod testkit;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::SystemTime;

use crate::bundle::{ChainFamily, NativeProof, SourceReference};
use crate::{Domain, Message};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

pub use check::DISPATCH_EVENT;
pub use check::{Candidate, Checker, Skip};

use crate::fabric::FabricError as Error;
use crate::fabric::{EndorsementPolicy, FabricBlock, FabricIdentity, MspRole, TrustedMsps};

/// Largest block a proof may carry, in bytes: the largest gRPC message the adapters' Fabric
/// client accepts by default (its `DEFAULT_MAX_MESSAGE_LEN`, asserted equal there), so that every
/// block the source can read can also be proven. Fabric's `AbsoluteMaxBytes` defaults to 10 MB
/// and is 99 MB in its test network.
pub const MAX_PROOF_BLOCK_LEN: usize = 100 * 1024 * 1024;

/// What a checked Fabric native proof does not prove, for verdicts to say so: the
/// transaction's validation code is the committing peer's TRANSACTIONS_FILTER byte, which no
/// one signs (see the module docs).
pub const VALIDATION_CODE_UNPROVED: &str = "the transaction's VALID code: the committing peer writes it into the block's TRANSACTIONS_FILTER and nobody signs it, so the block does not prove it; the gateways' threshold attests it, each gateway reading its own organisation's peers";

/// The default name of the outbox chaincode.
pub const DEFAULT_OUTBOX_CHAINCODE: &str = "causeway_outbox";

/// What a Fabric origin's proofs are checked against: whom to trust, and for what.
#[derive(Clone, Debug)]
pub struct FabricVerifierConfig {
    /// Root CAs of the organisations whose clients create and whose peers endorse
    /// transactions.
    pub trusted: TrustedMsps,
    /// Root CAs of the ordering service's organisations (block signers).
    pub orderers: TrustedMsps,
    /// Which organisations must have endorsed an outbox transaction.
    pub policy: EndorsementPolicy,
    /// The outbox chaincode: the only emitter whose events count.
    pub outbox_chaincode: String,
    /// The channel.
    pub channel: String,
    /// Distinct orderers (told apart by public key, as Fabric does) that must have signed each
    /// block (1 for Raft; a BFT quorum otherwise, which needs
    /// [`FabricVerifierConfig::consenters`]).
    pub orderer_signatures_required: usize,
    /// The channel's consenters (orderer certificates, as the channel configuration lists
    /// them): when given, only their signatures count toward
    /// [`FabricVerifierConfig::orderer_signatures_required`], each consenter once. Empty: any
    /// orderer certificate of the orderer MSPs counts, each public key once: enough for Raft's
    /// one signature, and refused for more, since an orderer holding several certificates
    /// (keys) of its CA would count several times.
    pub consenters: Vec<FabricIdentity>,
    /// The role an endorser's certificate must have for its endorsement to count: with
    /// NodeOUs, [`MspRole::Peer`] (the default: `Org.peer` principals, `MAJORITY Endorsement`);
    /// [`MspRole::Member`] only for organisations without NodeOUs.
    pub endorser_role: MspRole,
    /// The role a block signer's certificate must have: [`MspRole::Orderer`] by default.
    pub orderer_role: MspRole,
}

impl FabricVerifierConfig {
    /// A configuration for `channel` with the default outbox chaincode
    /// ([`DEFAULT_OUTBOX_CHAINCODE`]), one orderer signature per block, endorsements counted
    /// only from peers ([`MspRole::Peer`]) and block signatures only from orderers
    /// ([`MspRole::Orderer`]).
    pub fn new(
        channel: impl Into<String>,
        trusted: TrustedMsps,
        orderers: TrustedMsps,
        policy: EndorsementPolicy,
    ) -> Self {
        Self {
            trusted,
            orderers,
            policy,
            outbox_chaincode: DEFAULT_OUTBOX_CHAINCODE.to_owned(),
            channel: channel.into(),
            orderer_signatures_required: 1,
            consenters: Vec::new(),
            endorser_role: MspRole::Peer,
            orderer_role: MspRole::Orderer,
        }
    }

    /// Refuses a configuration under which nothing, or anything, would verify: no trusted
    /// organisation or orderer, a policy that names no organisation, needs none or more than
    /// it names, names one twice or one without roots, no channel or outbox, no orderer
    /// signature, more than one without named consenters, or consenters that are not distinct
    /// orderers of the orderer MSPs valid now, or fewer of them than the signatures required.
    pub fn validate(&self) -> Result<(), Error> {
        let refuse = |reason: String| Err(Error::Config { reason });
        if self.trusted.is_empty() {
            return refuse("the Fabric verifier trusts no organisation: configure the MSP root certificates of the endorsing organisations".into());
        }
        if self.orderers.is_empty() {
            return refuse("the Fabric verifier trusts no orderer: configure the ordering service's MSP root certificates".into());
        }
        let msps = self.policy.msps();
        let distinct: std::collections::BTreeSet<&String> = msps.iter().collect();
        if distinct.is_empty() {
            return refuse(format!(
                "endorsement policy {} names no organisation",
                self.policy
            ));
        }
        let needed = match &self.policy {
            EndorsementPolicy::AllOf(_) => distinct.len(),
            EndorsementPolicy::OutOf { n, .. } => *n,
            EndorsementPolicy::Majority(_) => distinct.len() / 2 + 1,
        };
        if needed == 0 || needed > distinct.len() {
            return refuse(format!(
                "endorsement policy {} needs {needed} of {} distinct organisations: it could never, or always, be satisfied",
                self.policy,
                distinct.len()
            ));
        }
        if let Some(twice) = msps
            .iter()
            .enumerate()
            .find_map(|(i, m)| msps[..i].contains(m).then_some(m))
        {
            return refuse(format!(
                "endorsement policy {} names {twice} twice: an organisation counts once however often it is named, so the policy could not mean what it says (AND with a repeated organisation is never satisfied); name each organisation once",
                self.policy
            ));
        }
        if let Some(missing) = distinct.iter().find(|m| !self.trusted.contains(m)) {
            return refuse(format!(
                "endorsement policy {} names {missing}, whose MSP root certificates are not configured",
                self.policy
            ));
        }
        if self.channel.is_empty() {
            return refuse("the Fabric verifier has no channel".into());
        }
        if self.outbox_chaincode.is_empty() {
            return refuse("the Fabric verifier has no outbox chaincode".into());
        }
        if self.orderer_signatures_required == 0 {
            return refuse(
                "orderer_signatures_required is 0: blocks would be accepted unsigned".into(),
            );
        }
        self.validate_consenters()
    }

    /// The consenters, when named: each an orderer-role identity of an orderer MSP, valid now,
    /// no public key twice, and at least as many as the signatures each block needs.
    fn validate_consenters(&self) -> Result<(), Error> {
        let refuse = |reason: String| Err(Error::Config { reason });
        if self.consenters.is_empty() {
            if self.orderer_signatures_required > 1 {
                // One orderer CA can issue one node as many keys as the quorum needs.
                return refuse(format!(
                    "{} orderer signatures are required but no consenters are named: any certificate the orderer CA issues would count, so one orderer holding {} certificates could meet the quorum alone; name the channel's consenters (their signing certificates)",
                    self.orderer_signatures_required, self.orderer_signatures_required
                ));
            }
            return Ok(());
        }
        let now = SystemTime::now();
        for (i, consenter) in self.consenters.iter().enumerate() {
            if let Some(first) = self.consenters[..i]
                .iter()
                .position(|c| c.verifying_key() == consenter.verifying_key())
            {
                return refuse(format!(
                    "consenters {first} and {i} have the same public key: one orderer would count twice toward the {} signatures a block needs; list each consenter once",
                    self.orderer_signatures_required
                ));
            }
            if let Err(e) = self
                .orderers
                .validate_role(consenter, self.orderer_role, now)
            {
                return refuse(format!(
                    "consenter {i} ({:?}) is not an orderer the verifier trusts: {e}; give the certificate of a consenter of the channel, issued by the orderer MSP's roots",
                    consenter
                ));
            }
        }
        if self.orderer_signatures_required > self.consenters.len() {
            return refuse(format!(
                "{} orderer signatures are required but only {} consenters are named: no block could ever verify; name every consenter of the channel, or require at most {}",
                self.orderer_signatures_required,
                self.consenters.len(),
                self.consenters.len()
            ));
        }
        Ok(())
    }
}

/// A Fabric native proof: the committed block holding the transaction, and the transaction's
/// position in it.
#[derive(Clone, Debug, PartialEq)]
pub struct FabricSourceProof {
    /// The whole block.
    pub block: FabricBlock,
    /// Index of the transaction in the block's data (and its TRANSACTIONS_FILTER).
    pub tx_index: u32,
}

/// The JSON of [`NativeProof::data`] for Fabric.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofJson {
    block: String,
    tx_index: u32,
}

impl FabricSourceProof {
    /// The proof as a [`NativeProof`] (family `fabric`).
    pub fn to_native_proof(&self) -> NativeProof {
        native_proof(&BASE64.encode(self.block.encode()), self.tx_index)
    }

    /// Parses a [`NativeProof`] of family `fabric`: base64 of at most
    /// [`MAX_PROOF_BLOCK_LEN`] bytes that decode as a block.
    pub fn from_native_proof(proof: &NativeProof) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidProof { reason };
        if proof.family != ChainFamily::Fabric {
            return Err(invalid(format!(
                "a {:?} proof is not a Fabric proof",
                proof.family
            )));
        }
        let json: ProofJson = serde_json::from_value(proof.data.clone())
            .map_err(|e| invalid(format!("Fabric proof data: {e}")))?;
        if json.block.len() > MAX_PROOF_BLOCK_LEN.div_ceil(3) * 4 {
            return Err(invalid(format!(
                "the proof's block exceeds {MAX_PROOF_BLOCK_LEN} bytes"
            )));
        }
        let bytes = BASE64
            .decode(json.block.as_bytes())
            .map_err(|e| invalid(format!("the proof's block is not base64: {e}")))?;
        Ok(Self {
            block: FabricBlock::decode(&bytes)?,
            tx_index: json.tx_index,
        })
    }
}

/// A Fabric [`NativeProof`] from the base64 of a block (so that the source encodes a block once
/// for all of its messages).
pub fn native_proof(block_base64: &str, tx_index: u32) -> NativeProof {
    NativeProof {
        family: ChainFamily::Fabric,
        data: serde_json::json!({ "block": block_base64, "tx_index": tx_index }),
    }
}

/// Checks Fabric native proofs offline for one origin (see the module docs). A cheap handle:
/// clones share the configuration and the cache of validated identities.
#[derive(Clone, Debug)]
pub struct FabricNativeVerifier {
    checker: Arc<Checker>,
}

impl FabricNativeVerifier {
    /// A verifier for messages of `domain`; fails closed on a configuration that
    /// [`FabricVerifierConfig::validate`] refuses.
    pub fn new(domain: Domain, config: FabricVerifierConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            checker: Checker::new(config, domain),
        })
    }

    /// The shared checks (for a source that verifies every block it reads with this
    /// verifier's configuration and cache).
    pub fn checker(&self) -> &Arc<Checker> {
        &self.checker
    }

    /// The origin domain.
    pub fn domain(&self) -> crate::Domain {
        self.checker.domain
    }

    /// The configuration.
    pub fn config(&self) -> &FabricVerifierConfig {
        &self.checker.config
    }

    /// Checks that `proof` proves `message` was dispatched where `source` says (see the module
    /// docs), with certificates checked now.
    pub fn check(
        &self,
        message: &Message,
        source: &SourceReference,
        proof: &NativeProof,
    ) -> Result<(), Error> {
        self.check_at(message, source, proof, SystemTime::now())
    }

    /// [`FabricNativeVerifier::check`] with certificates checked at `at` instead of now.
    pub fn check_at(
        &self,
        message: &Message,
        source: &SourceReference,
        proof: &NativeProof,
        at: SystemTime,
    ) -> Result<(), Error> {
        let invalid = |reason: String| Error::InvalidProof { reason };
        let checker = &self.checker;
        let proof = FabricSourceProof::from_native_proof(proof)?;
        let block = &proof.block;
        let hash = block.header_hash();
        match source.block_hash {
            Some(claimed) if claimed.0 == hash.0 => {}
            Some(claimed) => {
                return Err(invalid(format!(
                    "the proof's block has header hash {hash}, the source reference says {claimed}"
                )));
            }
            None => return Err(invalid("the source reference names no block hash".into())),
        }
        if source.block_number != Some(block.number()) {
            return Err(invalid(format!(
                "the proof's block is number {}, the source reference says {:?}",
                block.number(),
                source.block_number
            )));
        }
        if source.event_index != Some(0) {
            return Err(invalid(format!(
                "event index {:?}: a Fabric transaction has one event, index 0",
                source.event_index
            )));
        }
        let Some(tx_id) = source.fabric_tx_id.as_deref() else {
            return Err(invalid("the source reference names no Fabric tx id".into()));
        };
        // Every field of the reference is proven or refused: a Fabric transaction is named by its
        // tx id, so an EVM-style transaction hash here is a claim nothing could back.
        if let Some(hash) = source.transaction_hash {
            return Err(invalid(format!(
                "the source reference carries an EVM transaction hash {hash}; a Fabric transaction is named by its tx id only"
            )));
        }
        checker.check_block(block, at)?;
        let index = usize::try_from(proof.tx_index).map_err(|_| {
            invalid(format!(
                "tx index {} does not fit this platform",
                proof.tx_index
            ))
        })?;
        let codes = block.validation_codes()?;
        let code = *codes.get(index).ok_or_else(|| {
            invalid(format!(
                "block {} has no transaction {index} ({} transactions)",
                block.number(),
                codes.len()
            ))
        })?;
        let candidate = match checker.classify(block, code, index)? {
            Ok(candidate) => candidate,
            Err(Skip::NotValid { code }) => {
                return Err(crate::fabric::FabricError::NotValid {
                    tx_id: tx_id.to_owned(),
                    code,
                });
            }
            Err(Skip::Foreign { chaincode }) => {
                return Err(Error::ForeignEmitter {
                    emitter: format!("chaincode `{chaincode}`"),
                    expected: format!("chaincode `{}`", checker.config.outbox_chaincode),
                });
            }
            Err(Skip::NoDispatch) => {
                return Err(invalid(format!(
                    "transaction {index} of block {} has no {DISPATCH_EVENT} event",
                    block.number()
                )));
            }
            Err(Skip::Malformed { reason }) => return Err(invalid(reason)),
        };
        if candidate.tx.tx_id() != tx_id {
            return Err(invalid(format!(
                "transaction {index} of block {} is {}, the source reference says {tx_id}",
                block.number(),
                candidate.tx.tx_id()
            )));
        }
        if candidate.message != *message {
            return Err(invalid(format!(
                "the event carries message {}, not the observed {}",
                candidate.message.id(),
                message.id()
            )));
        }
        checker.check_transaction(&candidate.tx, at)
    }
}
