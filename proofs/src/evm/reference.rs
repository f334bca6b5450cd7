//! What a verified [`EvmSourceProof`] proves about a bundle's [`SourceReference`].
//!
//! A source reference is written by whoever built the bundle; a verifier that checked the
//! native proof must not vouch for the reference's other fields by association. Each field is
//! therefore either proven (the proof shows the same value), refused
//! ([`Error::SourceReferenceMismatch`]: the proof shows another value), or reported as
//! [`Unproved`] with the reason, so the user sees exactly what was checked.

use serde::Serialize;

use super::checked::CheckedBlocks;
use super::source::EvmSourceProof;
use crate::bundle::SourceReference;
use crate::{Error, EvmAddress, Hash32};

/// The facts a verified [`EvmSourceProof`] establishes: where the log was emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProvenSource {
    /// The block's hash (the header hashes to it; that the block is on the origin chain is for
    /// the caller to establish, e.g. by asking a node it trusts).
    pub block_hash: Hash32,
    /// The block's number, from the header.
    pub block_number: u64,
    /// The emitting transaction's index in the block (the key of the proven receipt).
    pub tx_index: u64,
    /// The log's position among its receipt's logs.
    pub log_index_in_receipt: u32,
    /// The emitting transaction's hash, if the proof carries the transaction (proven against
    /// the header's transactions root).
    pub transaction_hash: Option<Hash32>,
}

/// A field of a source reference that the native proof neither proves nor contradicts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unproved {
    /// The field's name in the bundle's `source` object.
    pub field: &'static str,
    /// Why the proof cannot vouch for it.
    pub reason: String,
}

impl EvmSourceProof {
    /// [`EvmSourceProof::verify`], then the facts the proof established.
    pub fn verify_source(
        &self,
        expected_block_hash: &Hash32,
        outbox: &EvmAddress,
        dispatch_topic0: &Hash32,
        message_bytes: &[u8],
    ) -> Result<ProvenSource, Error> {
        self.verify_source_in(
            expected_block_hash,
            outbox,
            dispatch_topic0,
            message_bytes,
            None,
        )
    }

    /// [`EvmSourceProof::verify_source`] for one of many proofs of the same blocks (see
    /// [`EvmSourceProof::verify_with`]); same result and errors.
    pub fn verify_source_with(
        &self,
        expected_block_hash: &Hash32,
        outbox: &EvmAddress,
        dispatch_topic0: &Hash32,
        message_bytes: &[u8],
        blocks: &mut CheckedBlocks,
    ) -> Result<ProvenSource, Error> {
        self.verify_source_in(
            expected_block_hash,
            outbox,
            dispatch_topic0,
            message_bytes,
            Some(blocks),
        )
    }

    fn verify_source_in(
        &self,
        expected_block_hash: &Hash32,
        outbox: &EvmAddress,
        dispatch_topic0: &Hash32,
        message_bytes: &[u8],
        blocks: Option<&mut CheckedBlocks>,
    ) -> Result<ProvenSource, Error> {
        let (header, transaction_hash) = self.verify_in(
            expected_block_hash,
            outbox,
            dispatch_topic0,
            message_bytes,
            blocks,
        )?;
        Ok(ProvenSource {
            block_hash: *expected_block_hash,
            block_number: header.number,
            tx_index: self.receipt_proof.tx_index,
            log_index_in_receipt: self.log_index_in_receipt,
            transaction_hash,
        })
    }
}

impl ProvenSource {
    /// Compares every field of `reference` with what was proven: a contradiction is
    /// [`Error::SourceReferenceMismatch`]; a field the proof cannot decide is returned as
    /// [`Unproved`]. Absent fields claim nothing.
    ///
    /// `event_index` is the block-wide log index. The proof shows the log's position within
    /// its receipt, which is the block-wide index for the block's first transaction; for a
    /// later one the index also counts the earlier transactions' logs, which the proof does not
    /// carry, so it is only bounded from below.
    pub fn check_reference(&self, reference: &SourceReference) -> Result<Vec<Unproved>, Error> {
        let mismatch = |field, claimed: String, proven: String| {
            Err(Error::SourceReferenceMismatch {
                field,
                claimed,
                proven,
            })
        };
        let mut unproved = Vec::new();
        if let Some(claimed) = reference.block_hash
            && claimed != self.block_hash
        {
            return mismatch(
                "block_hash",
                claimed.to_string(),
                self.block_hash.to_string(),
            );
        }
        if let Some(claimed) = reference.block_number
            && claimed != self.block_number
        {
            return mismatch(
                "block_number",
                claimed.to_string(),
                format!("block {}", self.block_number),
            );
        }
        match (reference.transaction_hash, self.transaction_hash) {
            (Some(claimed), Some(proven)) if claimed != proven => {
                return mismatch(
                    "transaction_hash",
                    claimed.to_string(),
                    format!("transaction {} with hash {proven}", self.tx_index),
                );
            }
            (Some(_), None) => unproved.push(Unproved {
                field: "transaction_hash",
                reason: "the native proof carries no transaction (it was made before proofs \
                         carried one), so the hash is not tied to the block"
                    .to_owned(),
            }),
            _ => {}
        }
        if let Some(claimed) = reference.event_index {
            let within = u64::from(self.log_index_in_receipt);
            let tx = self.tx_index;
            if claimed < within || (tx == 0 && claimed != within) {
                let proven = if tx == 0 {
                    format!(
                        "log {within} of the block's first transaction, block-wide log index {within}"
                    )
                } else {
                    format!(
                        "log {within} of transaction {tx}'s receipt, a block-wide log index of at least {within}"
                    )
                };
                return mismatch("event_index", claimed.to_string(), proven);
            }
            if tx > 0 {
                unproved.push(Unproved {
                    field: "event_index",
                    reason: format!(
                        "the proof shows log {within} of transaction {tx}'s receipt; the \
                         block-wide index {claimed} also counts the logs of the {tx} earlier \
                         transactions, whose receipts the proof does not carry"
                    ),
                });
            }
        }
        if let Some(id) = &reference.fabric_tx_id {
            return mismatch(
                "fabric_tx_id",
                format!("{id:?}"),
                "an EVM transaction, which has no Fabric transaction id".to_owned(),
            );
        }
        Ok(unproved)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn proven(tx_index: u64, within: u32) -> ProvenSource {
        ProvenSource {
            block_hash: Hash32([1; 32]),
            block_number: 42,
            tx_index,
            log_index_in_receipt: within,
            transaction_hash: Some(Hash32([2; 32])),
        }
    }

    fn honest(p: &ProvenSource, event_index: u64) -> SourceReference {
        SourceReference {
            block_number: Some(p.block_number),
            block_hash: Some(p.block_hash),
            transaction_hash: p.transaction_hash,
            fabric_tx_id: None,
            event_index: Some(event_index),
        }
    }

    fn mismatched_field(r: Result<Vec<Unproved>, Error>) -> &'static str {
        match r {
            Err(Error::SourceReferenceMismatch { field, .. }) => field,
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }

    #[test]
    fn the_first_transaction_proves_every_field() {
        let p = proven(0, 2);
        assert_eq!(p.check_reference(&honest(&p, 2)).unwrap(), vec![]);
        assert_eq!(
            p.check_reference(&SourceReference::default()).unwrap(),
            vec![]
        );
    }

    #[test]
    fn each_edited_field_is_refused() {
        let p = proven(0, 2);
        type Edit = fn(&mut SourceReference);
        let edits: [(&str, Edit); 6] = [
            ("block_hash", |r| r.block_hash = Some(Hash32([9; 32]))),
            ("block_number", |r| r.block_number = Some(43)),
            ("transaction_hash", |r| {
                r.transaction_hash = Some(Hash32([9; 32]))
            }),
            ("event_index", |r| r.event_index = Some(3)),
            ("event_index", |r| r.event_index = Some(0)),
            ("fabric_tx_id", |r| r.fabric_tx_id = Some("abc".into())),
        ];
        for (field, edit) in edits {
            let mut r = honest(&p, 2);
            edit(&mut r);
            assert_eq!(mismatched_field(p.check_reference(&r)), field);
        }
    }

    #[test]
    fn what_a_later_transaction_cannot_prove_is_reported() {
        let p = proven(3, 1);
        let unproved = p.check_reference(&honest(&p, 7)).unwrap();
        assert_eq!(unproved.len(), 1);
        assert_eq!(unproved[0].field, "event_index");
        assert!(
            unproved[0].reason.contains("3 earlier transactions"),
            "{unproved:?}"
        );
        // Below the position within the receipt: impossible, refused.
        assert_eq!(
            mismatched_field(p.check_reference(&honest(&p, 0))),
            "event_index"
        );

        let mut old = proven(0, 0);
        old.transaction_hash = None;
        let mut r = honest(&old, 0);
        r.transaction_hash = Some(Hash32([5; 32]));
        let unproved = old.check_reference(&r).unwrap();
        assert_eq!(unproved.len(), 1);
        assert_eq!(unproved[0].field, "transaction_hash");
    }
}
