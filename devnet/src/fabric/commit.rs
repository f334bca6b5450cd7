//! The committer: validates each transaction of a cut block as Fabric's committing peer does
//! and applies the writes of the valid ones. Checks, in Fabric's order: the envelope decodes,
//! the channel, the header type, the creator (trusted identity, low-S signature over the
//! payload), the transaction id (`CheckTxID`), duplicates (`DUPLICATE_TXID`, against the
//! ledger and earlier transactions of the block), the chaincode actions (installed chaincode,
//! successful response), the proposal hash the endorsers signed (`INVALID_ENDORSER_TRANSACTION`),
//! the endorsement policy over the endorsements by peers (NodeOU `peer`) that verify
//! (`ENDORSEMENT_POLICY_FAILURE`) and the read set against the current versions
//! (`MVCC_READ_CONFLICT`, counting the writes of earlier valid transactions of the block).
//! Invalid transactions stay in the block with their code; only valid ones change the state.

use std::collections::HashSet;
use std::time::SystemTime;

use causeway_adapters::fabric::proto::common::{Envelope, HeaderType};
use causeway_adapters::fabric::proto::protos::TxValidationCode;
use causeway_adapters::fabric::{FabricTransaction, MspRole, TransactionId, ValidationCode};
use prost::Message as _;

use super::faults::Faults;
use super::ledger::{BlockDamage, Ledger, is_known};
use super::peer::{Peer, lock, read, write};
use super::simulate::{RwSet, Version};

/// One transaction's verdict.
struct Verdict {
    tx_id: String,
    code: TxValidationCode,
    rwsets: Vec<RwSet>,
}

impl Verdict {
    fn invalid(tx_id: String, code: TxValidationCode) -> Self {
        Self {
            tx_id,
            code,
            rwsets: Vec::new(),
        }
    }
}

impl Peer {
    /// Validates and commits one cut batch as the next block.
    pub(crate) fn commit_batch(&self, batch: Vec<Envelope>) {
        let height = {
            let mut faults = lock(&self.faults);
            let damage = BlockDamage {
                wrong_data_hash: std::mem::take(&mut faults.wrong_data_hash),
                broken_previous_hash: std::mem::take(&mut faults.broken_previous_hash),
            };
            let chaincodes: HashSet<String> = read(&self.chaincodes).keys().cloned().collect();
            let mut ledger = write(&self.ledger);
            let number = ledger.height();
            let mut in_block = HashSet::new();
            let mut envelopes = Vec::with_capacity(batch.len());
            let mut codes = Vec::with_capacity(batch.len());
            let mut tx_ids = Vec::with_capacity(batch.len());
            for (index, envelope) in batch.into_iter().enumerate() {
                let bytes = envelope.encode_to_vec();
                let mut verdict =
                    self.validate(&ledger, &faults, &chaincodes, &in_block, index, &bytes);
                if let Some(code) = faults.invalidate_next.take() {
                    verdict.code = code;
                }
                if verdict.code == TxValidationCode::Valid {
                    let version = Version {
                        block_num: number,
                        tx_num: index as u64,
                    };
                    for rwset in &verdict.rwsets {
                        for (namespace, ns) in &rwset.namespaces {
                            for (key, value) in &ns.writes {
                                let slot = (namespace.clone(), key.clone());
                                match value {
                                    Some(value) => {
                                        ledger.world.insert(slot, (value.clone(), version));
                                    }
                                    None => {
                                        ledger.world.remove(&slot);
                                    }
                                }
                            }
                        }
                    }
                }
                if !verdict.tx_id.is_empty() {
                    in_block.insert(verdict.tx_id.clone());
                }
                envelopes.push(bytes);
                codes.push(ValidationCode(verdict.code as u8));
                tx_ids.push(verdict.tx_id);
            }
            ledger.append(envelopes, codes, tx_ids, &self.orderer, damage);
            ledger.height()
        };
        self.height.send_replace(height);
    }

    fn validate(
        &self,
        ledger: &Ledger,
        faults: &Faults,
        chaincodes: &HashSet<String>,
        in_block: &HashSet<String>,
        index: usize,
        bytes: &[u8],
    ) -> Verdict {
        let Ok(tx) = FabricTransaction::decode(index, bytes) else {
            return Verdict::invalid(String::new(), TxValidationCode::BadPayload);
        };
        let tx_id = tx.tx_id().to_owned();
        if tx.channel_id() != self.network.channel {
            return Verdict::invalid(tx_id, TxValidationCode::TargetChainNotFound);
        }
        if tx.header_type() != HeaderType::EndorserTransaction as i32 {
            return Verdict::invalid(tx_id, TxValidationCode::UnknownTxType);
        }
        let lenient = faults.lenient_creator.contains(&tx_id);
        if self
            .check_signed(
                &tx.signature_header.creator,
                &tx.payload,
                &tx.signature,
                lenient,
            )
            .is_err()
        {
            return Verdict::invalid(tx_id, TxValidationCode::BadCreatorSignature);
        }
        let computed =
            TransactionId::derive(&tx.signature_header.nonce, &tx.signature_header.creator);
        if computed.0 != tx_id {
            return Verdict::invalid(tx_id, TxValidationCode::BadProposalTxid);
        }
        // The endorsed proposal hash must be the hash of this transaction's proposal: Fabric's
        // `validateEndorserTransaction` ("proposal hash does not match"), whose error
        // `ValidateTransaction` turns into INVALID_ENDORSER_TRANSACTION
        // (hyperledger/fabric core/common/validation/msgvalidation.go), before the duplicate
        // and policy checks.
        if tx.verify_proposal_hashes().is_err() {
            return Verdict::invalid(tx_id, TxValidationCode::InvalidEndorserTransaction);
        }
        if is_known(ledger, &tx_id) || in_block.contains(&tx_id) {
            return Verdict::invalid(tx_id, TxValidationCode::DuplicateTxid);
        }
        if tx.actions.is_empty() {
            return Verdict::invalid(tx_id, TxValidationCode::NilTxaction);
        }
        let mut rwsets = Vec::with_capacity(tx.actions.len());
        for action in &tx.actions {
            let chaincode = action
                .chaincode_action
                .chaincode_id
                .as_ref()
                .map(|id| id.name.as_str())
                .unwrap_or_default();
            if !chaincodes.contains(chaincode) {
                return Verdict::invalid(tx_id, TxValidationCode::InvalidChaincode);
            }
            let status = action
                .chaincode_action
                .response
                .as_ref()
                .map_or(0, |r| r.status);
            if !(200..400).contains(&status) {
                return Verdict::invalid(tx_id, TxValidationCode::InvalidEndorserTransaction);
            }
            if !faults.forced_valid.contains(&tx_id)
                && self
                    .policy
                    .check(action, &self.channel_msps, MspRole::Peer, SystemTime::now())
                    .is_err()
            {
                return Verdict::invalid(tx_id, TxValidationCode::EndorsementPolicyFailure);
            }
            let Ok(rwset) = RwSet::decode(&action.chaincode_action.results) else {
                return Verdict::invalid(tx_id, TxValidationCode::BadRwset);
            };
            rwsets.push(rwset);
        }
        for rwset in &rwsets {
            for (namespace, ns) in &rwset.namespaces {
                for (key, read_version) in &ns.reads {
                    let current = ledger
                        .world
                        .get(&(namespace.clone(), key.clone()))
                        .map(|(_, version)| *version);
                    if current != *read_version {
                        return Verdict::invalid(tx_id, TxValidationCode::MvccReadConflict);
                    }
                }
            }
        }
        Verdict {
            tx_id,
            code: TxValidationCode::Valid,
            rwsets,
        }
    }
}
