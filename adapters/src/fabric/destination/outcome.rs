//! Reading a committed transaction back: the block CommitStatus named, and the response of the
//! transaction committed in it with the reported validation code (never an invalid twin's).

use tokio_stream::StreamExt as _;

use super::FabricDestination;
use crate::Error;
use crate::chain::{BlockId, BlockRef};
use crate::fabric::block::{FabricBlock, FabricTransaction, ValidationCode};

impl FabricDestination {
    /// The block `number`'s header hash and the response payload of the transaction `tx_id`
    /// committed in it with `code` (see [`committed_response`]).
    pub(super) async fn committed(
        &self,
        number: u64,
        tx_id: &str,
        code: ValidationCode,
    ) -> Result<(BlockRef, Option<Vec<u8>>), Error> {
        let mut blocks = self
            .client
            .deliver_blocks(&self.config.channel, number)
            .await?;
        let block = blocks.next().await.ok_or_else(|| Error::MissingData {
            what: format!("block {number} of channel {}", self.config.channel),
        })??;
        let at = BlockRef {
            height: number,
            id: BlockId::from(block.header_hash().0),
        };
        let payload = committed_response(&block, tx_id, code)?;
        Ok((at, payload))
    }
}

/// The response payload (status 200) of the transaction `tx_id` whose TRANSACTIONS_FILTER code
/// in `block` is `code`, the one CommitStatus reported. A block may hold the same tx id more
/// than once (a resubmitted envelope, which the committer marks `DUPLICATE_TXID`, or another
/// envelope under the same id): copies with another code are skipped, so the results of the
/// committed transaction are never taken from an invalid twin. `None` when no such transaction
/// is in the block or it has no successful response.
fn committed_response(
    block: &FabricBlock,
    tx_id: &str,
    code: ValidationCode,
) -> Result<Option<Vec<u8>>, Error> {
    let codes = block.validation_codes()?;
    Ok(block
        .data()
        .data
        .iter()
        .zip(codes)
        .enumerate()
        .filter(|(_, (_, c))| *c == code)
        .filter_map(|(i, (bytes, _))| FabricTransaction::decode(i, bytes).ok())
        .find(|tx| tx.tx_id() == tx_id)
        .and_then(|tx| tx.actions.into_iter().next())
        .and_then(|action| action.chaincode_action.response)
        .filter(|response| response.status == 200)
        .map(|response| response.payload))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fabric::proto::protos::TxValidationCode;

    /// An endorser transaction `tx_id` whose chaincode answered `status` with `payload`.
    fn envelope(tx_id: &str, status: i32, payload: &[u8]) -> Vec<u8> {
        use prost::Message as _;

        use crate::fabric::proto::common::{
            ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader,
        };
        use crate::fabric::proto::protos::{
            ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction,
            ProposalResponsePayload, Response, Transaction, TransactionAction,
        };
        let signature_header = SignatureHeader::default().encode_to_vec();
        let action = ChaincodeAction {
            response: Some(Response {
                status,
                payload: payload.to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let transaction = Transaction {
            actions: vec![TransactionAction {
                header: signature_header.clone(),
                payload: ChaincodeActionPayload {
                    chaincode_proposal_payload: Vec::new(),
                    action: Some(ChaincodeEndorsedAction {
                        proposal_response_payload: ProposalResponsePayload {
                            proposal_hash: vec![1; 32],
                            extension: action.encode_to_vec(),
                        }
                        .encode_to_vec(),
                        endorsements: Vec::new(),
                    }),
                }
                .encode_to_vec(),
            }],
        };
        Envelope {
            payload: Payload {
                header: Some(Header {
                    channel_header: ChannelHeader {
                        r#type: HeaderType::EndorserTransaction as i32,
                        channel_id: "causeway".to_owned(),
                        tx_id: tx_id.to_owned(),
                        ..Default::default()
                    }
                    .encode_to_vec(),
                    signature_header,
                }),
                data: transaction.encode_to_vec(),
            }
            .encode_to_vec(),
            signature: Vec::new(),
        }
        .encode_to_vec()
    }

    /// A block of `txs` with TRANSACTIONS_FILTER `filter`.
    fn block(txs: Vec<Vec<u8>>, filter: Vec<u8>) -> FabricBlock {
        use crate::fabric::proto::common::{Block, BlockData, BlockHeader, BlockMetadata};
        FabricBlock::new(Block {
            header: Some(BlockHeader {
                number: 5,
                ..Default::default()
            }),
            data: Some(BlockData { data: txs }),
            metadata: Some(BlockMetadata {
                metadata: vec![Vec::new(), Vec::new(), filter, Vec::new(), Vec::new()],
            }),
        })
        .expect("header, data and metadata are present")
    }

    #[test]
    fn the_committed_response_is_the_one_with_the_reported_code() {
        let valid = ValidationCode::VALID;
        let duplicate = ValidationCode(TxValidationCode::DuplicateTxid as u8);
        let mvcc = ValidationCode(TxValidationCode::MvccReadConflict as u8);
        // An invalid twin under the same tx id before the committed transaction.
        let twins = block(
            vec![
                envelope("other", 200, b"unrelated"),
                envelope("tx", 200, b"twin"),
                envelope("tx", 200, b"committed"),
            ],
            vec![valid.0, mvcc.0, valid.0],
        );
        assert_eq!(
            committed_response(&twins, "tx", valid).unwrap().as_deref(),
            Some(&b"committed"[..])
        );
        assert_eq!(
            committed_response(&twins, "tx", mvcc).unwrap().as_deref(),
            Some(&b"twin"[..])
        );
        // The committed transaction first, its resubmitted copy marked DUPLICATE_TXID after it.
        let resubmitted = block(
            vec![envelope("tx", 200, b"first"), envelope("tx", 200, b"copy")],
            vec![valid.0, duplicate.0],
        );
        assert_eq!(
            committed_response(&resubmitted, "tx", valid)
                .unwrap()
                .as_deref(),
            Some(&b"first"[..])
        );
        // No transaction with the reported code, or a failed response: nothing.
        assert_eq!(committed_response(&resubmitted, "tx", mvcc).unwrap(), None);
        assert_eq!(committed_response(&twins, "absent", valid).unwrap(), None);
        let failed = block(vec![envelope("tx", 500, b"no")], vec![valid.0]);
        assert_eq!(committed_response(&failed, "tx", valid).unwrap(), None);
        // A block without a filter entry per transaction is not a committed block.
        let unfiltered = block(vec![envelope("tx", 200, b"x")], Vec::new());
        assert!(committed_response(&unfiltered, "tx", valid).is_err());
    }
}
