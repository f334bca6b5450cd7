//! Fabric blocks: decoding `common.Block`, the header hash chain, the data hash, the
//! TRANSACTIONS_FILTER validation codes and, per transaction, the chaincode actions with their
//! endorsements and chaincode event.
//!
//! The hashes follow hyperledger/fabric `protoutil/blockutils.go` (see
//! `shared/protocol/fabric.md` A.8): the header hash is SHA-256 of the ASN.1 DER
//! `SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }`, the data
//! hash SHA-256 of the plain concatenation of the data entries (no Merkle tree, despite the
//! proto comment).

use std::fmt;

use prost::Message as _;
use sha2::{Digest, Sha256};

use super::error::{FabricError, decode};
use super::proto::common::{
    Block, BlockData, BlockHeader, BlockMetadataIndex, ChannelHeader, Envelope, HeaderType,
    Payload, SignatureHeader,
};
use super::proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, Endorsement, ProposalResponsePayload,
    Transaction, TxValidationCode,
};

/// A SHA-256 block header hash: what the next block's `previous_hash` holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderHash(pub [u8; 32]);

impl fmt::Debug for HeaderHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeaderHash({})", hex::encode(self.0))
    }
}

impl fmt::Display for HeaderHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A transaction's validation code as the committing peer wrote it into TRANSACTIONS_FILTER
/// (one byte per transaction; `protos.TxValidationCode`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ValidationCode(pub u8);

impl ValidationCode {
    /// `VALID` (0): the only code whose transaction's effects and events count.
    pub const VALID: Self = Self(TxValidationCode::Valid as u8);

    /// Whether the committer accepted the transaction.
    pub fn is_valid(self) -> bool {
        self == Self::VALID
    }

    /// The enum value, when the byte is one Fabric defines.
    pub fn known(self) -> Option<TxValidationCode> {
        TxValidationCode::try_from(i32::from(self.0)).ok()
    }
}

impl fmt::Display for ValidationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.known() {
            Some(code) => write!(f, "{} ({})", code.as_str_name(), self.0),
            None => write!(f, "unknown ({})", self.0),
        }
    }
}

/// The DER bytes Fabric hashes for a block header: `SEQUENCE { INTEGER number, OCTET STRING
/// previous_hash, OCTET STRING data_hash }`, with `number` as Go's `asn1` encodes a
/// non-negative `big.Int` (minimal two's complement: `00` for zero, a leading `00` when the top
/// bit is set) and an absent hash as an empty OCTET STRING.
pub fn header_bytes(header: &BlockHeader) -> Vec<u8> {
    let number = header.number.to_be_bytes();
    let first = number
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(number.len() - 1);
    let mut integer = Vec::with_capacity(9);
    if number[first] & 0x80 != 0 {
        integer.push(0);
    }
    integer.extend_from_slice(&number[first..]);

    let mut body = Vec::with_capacity(
        integer.len() + header.previous_hash.len() + header.data_hash.len() + 12,
    );
    der_tlv(&mut body, 0x02, &integer);
    der_tlv(&mut body, 0x04, &header.previous_hash);
    der_tlv(&mut body, 0x04, &header.data_hash);
    let mut out = Vec::with_capacity(body.len() + 6);
    der_tlv(&mut out, 0x30, &body);
    out
}

/// Appends one DER tag-length-value (definite length, short form below 128, long form above).
fn der_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(u8::try_from(len).expect("below 0x80"));
    } else {
        let bytes = len.to_be_bytes();
        let first = bytes
            .iter()
            .position(|&b| b != 0)
            .expect("len >= 0x80 is non-zero");
        out.push(0x80 | u8::try_from(bytes.len() - first).expect("at most 8 length bytes"));
        out.extend_from_slice(&bytes[first..]);
    }
    out.extend_from_slice(value);
}

/// SHA-256 of [`header_bytes`]: the hash the next block links to.
pub fn header_hash(header: &BlockHeader) -> HeaderHash {
    HeaderHash(Sha256::digest(header_bytes(header)).into())
}

/// SHA-256 of the concatenation of the block's data entries, in order, without length
/// prefixes (Fabric's `BlockDataHash`).
pub fn data_hash(data: &BlockData) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for entry in &data.data {
        hasher.update(entry);
    }
    hasher.finalize().into()
}

/// Fabric's proposal hash (`protoutil.GetProposalHash2`): SHA-256 of the channel header, the
/// proposal's signature header and the `ChaincodeProposalPayload` without transient data, each
/// as serialized. Endorsers sign it inside the `ProposalResponsePayload`.
pub fn proposal_hash(
    channel_header: &[u8],
    signature_header: &[u8],
    chaincode_proposal_payload: &[u8],
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(channel_header);
    hasher.update(signature_header);
    hasher.update(chaincode_proposal_payload);
    hasher.finalize().into()
}

/// A decoded block that has a header, data and metadata. Decoding checks structure only; call
/// [`FabricBlock::verify_data_hash`] and [`verify_chain`] to check its hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct FabricBlock {
    block: Block,
}

impl FabricBlock {
    /// Decodes `common.Block` bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, FabricError> {
        let block: Block = decode(bytes, || "common.Block".to_owned())?;
        Self::new(block)
    }

    /// Wraps an already decoded block, checking that header, data and metadata are present.
    pub fn new(block: Block) -> Result<Self, FabricError> {
        if block.header.is_none() {
            return Err(FabricError::MissingField {
                what: "common.Block.header",
            });
        }
        if block.data.is_none() {
            return Err(FabricError::MissingField {
                what: "common.Block.data",
            });
        }
        if block.metadata.is_none() {
            return Err(FabricError::MissingField {
                what: "common.Block.metadata",
            });
        }
        Ok(Self { block })
    }

    /// The protobuf block.
    pub fn block(&self) -> &Block {
        &self.block
    }

    /// The protobuf encoding of the block (equal to the decoded bytes when they were canonical).
    pub fn encode(&self) -> Vec<u8> {
        self.block.encode_to_vec()
    }

    /// The block header.
    pub fn header(&self) -> &BlockHeader {
        self.block
            .header
            .as_ref()
            .expect("checked in FabricBlock::new")
    }

    /// The block's data entries (serialized envelopes).
    pub fn data(&self) -> &BlockData {
        self.block
            .data
            .as_ref()
            .expect("checked in FabricBlock::new")
    }

    /// The block number.
    pub fn number(&self) -> u64 {
        self.header().number
    }

    /// The header hash of this block.
    pub fn header_hash(&self) -> HeaderHash {
        header_hash(self.header())
    }

    /// Checks that the header's `data_hash` commits to the block's data.
    pub fn verify_data_hash(&self) -> Result<(), FabricError> {
        let computed = data_hash(self.data());
        if computed.as_slice() == self.header().data_hash.as_slice() {
            Ok(())
        } else {
            Err(FabricError::DataHashMismatch {
                number: self.number(),
                claimed: hex::encode(&self.header().data_hash),
                computed: hex::encode(computed),
            })
        }
    }

    /// The metadata entry at `index` (empty when the block has fewer entries).
    pub fn metadata(&self, index: BlockMetadataIndex) -> &[u8] {
        let metadata = self
            .block
            .metadata
            .as_ref()
            .expect("checked in FabricBlock::new");
        usize::try_from(index as i32)
            .ok()
            .and_then(|i| metadata.metadata.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// The committer's validation code of every transaction, from TRANSACTIONS_FILTER. Fails
    /// unless there is exactly one code per data entry (e.g. on a block straight from the
    /// orderer, which has no filter yet).
    pub fn validation_codes(&self) -> Result<Vec<ValidationCode>, FabricError> {
        let filter = self.metadata(BlockMetadataIndex::TransactionsFilter);
        let transactions = self.data().data.len();
        if filter.len() != transactions {
            return Err(FabricError::TransactionsFilterLength {
                number: self.number(),
                transactions,
                filter: filter.len(),
            });
        }
        Ok(filter.iter().copied().map(ValidationCode).collect())
    }

    /// Decodes every transaction of the block, without its validation code.
    pub fn transactions(&self) -> Result<Vec<FabricTransaction>, FabricError> {
        self.data()
            .data
            .iter()
            .enumerate()
            .map(|(index, bytes)| FabricTransaction::decode(index, bytes))
            .collect()
    }
}

/// Checks that `blocks` are consecutive and each links to the header hash of the one before.
pub fn verify_chain(blocks: &[FabricBlock]) -> Result<(), FabricError> {
    for pair in blocks.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        if previous.number().checked_add(1) != Some(next.number()) {
            return Err(FabricError::NotConsecutive {
                previous: previous.number(),
                next: next.number(),
            });
        }
        let computed = previous.header_hash();
        if computed.0.as_slice() != next.header().previous_hash.as_slice() {
            return Err(FabricError::BrokenHashChain {
                number: next.number(),
                claimed: hex::encode(&next.header().previous_hash),
                computed: computed.to_string(),
            });
        }
    }
    Ok(())
}

/// One transaction of a block: its envelope's headers and, for endorser transactions, its
/// chaincode actions.
#[derive(Clone, Debug, PartialEq)]
pub struct FabricTransaction {
    /// Position in the block (index into TRANSACTIONS_FILTER).
    pub index: usize,
    /// The decoded channel header (type, channel id, tx id, ...).
    pub channel_header: ChannelHeader,
    /// The serialized channel header, as the creator signed it and the proposal hash covers it.
    pub channel_header_bytes: Vec<u8>,
    /// The decoded signature header (creator and nonce).
    pub signature_header: SignatureHeader,
    /// The envelope's payload bytes: what the creator signed.
    pub payload: Vec<u8>,
    /// The creator's signature over `payload`.
    pub signature: Vec<u8>,
    /// The chaincode actions; empty unless the type is ENDORSER_TRANSACTION.
    pub actions: Vec<EndorsedAction>,
}

impl FabricTransaction {
    /// Decodes the envelope at `index` of a block.
    pub fn decode(index: usize, bytes: &[u8]) -> Result<Self, FabricError> {
        let envelope: Envelope =
            decode(bytes, || format!("common.Envelope of transaction {index}"))?;
        let payload: Payload = decode(&envelope.payload, || {
            format!("common.Payload of transaction {index}")
        })?;
        let header = payload.header.as_ref().ok_or(FabricError::MissingField {
            what: "common.Payload.header",
        })?;
        let channel_header: ChannelHeader = decode(&header.channel_header, || {
            format!("common.ChannelHeader of transaction {index}")
        })?;
        let signature_header: SignatureHeader = decode(&header.signature_header, || {
            format!("common.SignatureHeader of transaction {index}")
        })?;
        let actions = if channel_header.r#type == HeaderType::EndorserTransaction as i32 {
            let transaction: Transaction =
                decode(&payload.data, || format!("protos.Transaction {index}"))?;
            transaction
                .actions
                .iter()
                .map(|action| EndorsedAction::decode(index, &action.header, &action.payload))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Self {
            index,
            channel_header,
            channel_header_bytes: header.channel_header.clone(),
            signature_header,
            payload: envelope.payload,
            signature: envelope.signature,
            actions,
        })
    }

    /// The header type (`common.HeaderType` value).
    pub fn header_type(&self) -> i32 {
        self.channel_header.r#type
    }

    /// The channel id.
    pub fn channel_id(&self) -> &str {
        &self.channel_header.channel_id
    }

    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.channel_header.tx_id
    }
}

/// One chaincode action of an endorser transaction, as the endorsers signed it.
#[derive(Clone, Debug, PartialEq)]
pub struct EndorsedAction {
    /// The action's serialized SignatureHeader (the proposal's).
    pub header: Vec<u8>,
    /// The serialized `ChaincodeProposalPayload` (without transient data) of the proposal.
    pub chaincode_proposal_payload: Vec<u8>,
    /// The `ProposalResponsePayload.proposal_hash` the endorsers signed.
    pub proposal_hash: Vec<u8>,
    /// The serialized `ProposalResponsePayload` every endorser signed (with its identity
    /// appended: the signed data is `proposal_response_payload || endorser`).
    pub proposal_response_payload: Vec<u8>,
    /// The endorsements.
    pub endorsements: Vec<Endorsement>,
    /// The decoded chaincode action (results, events, response, chaincode id).
    pub chaincode_action: ChaincodeAction,
    /// The chaincode event, when the action emitted one.
    pub event: Option<ChaincodeEvent>,
}

impl EndorsedAction {
    fn decode(index: usize, header: &[u8], payload: &[u8]) -> Result<Self, FabricError> {
        let action_payload: ChaincodeActionPayload = decode(payload, || {
            format!("protos.ChaincodeActionPayload of transaction {index}")
        })?;
        let endorsed = action_payload.action.ok_or(FabricError::MissingField {
            what: "protos.ChaincodeActionPayload.action",
        })?;
        let response_payload: ProposalResponsePayload =
            decode(&endorsed.proposal_response_payload, || {
                format!("protos.ProposalResponsePayload of transaction {index}")
            })?;
        let chaincode_action: ChaincodeAction = decode(&response_payload.extension, || {
            format!("protos.ChaincodeAction of transaction {index}")
        })?;
        let event = if chaincode_action.events.is_empty() {
            None
        } else {
            Some(decode(&chaincode_action.events, || {
                format!("protos.ChaincodeEvent of transaction {index}")
            })?)
        };
        Ok(Self {
            header: header.to_vec(),
            chaincode_proposal_payload: action_payload.chaincode_proposal_payload,
            proposal_hash: response_payload.proposal_hash,
            proposal_response_payload: endorsed.proposal_response_payload,
            endorsements: endorsed.endorsements,
            chaincode_action,
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(number: u64) -> BlockHeader {
        BlockHeader {
            number,
            previous_hash: vec![],
            data_hash: vec![],
        }
    }

    #[test]
    fn header_integer_is_minimal_twos_complement() {
        // Go's asn1 encodes big.Int 0 as 02 01 00, 127 as 02 01 7f, 128 as 02 02 00 80.
        assert_eq!(
            header_bytes(&header(0)),
            [0x30, 0x07, 0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]
        );
        assert_eq!(&header_bytes(&header(127))[2..5], &[0x02, 0x01, 0x7f]);
        assert_eq!(&header_bytes(&header(128))[2..6], &[0x02, 0x02, 0x00, 0x80]);
        assert_eq!(&header_bytes(&header(256))[2..6], &[0x02, 0x02, 0x01, 0x00]);
        let max = header_bytes(&header(u64::MAX));
        assert_eq!(
            &max[2..13],
            &[
                0x02, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
            ]
        );
    }

    #[test]
    fn long_values_use_long_form_lengths() {
        let h = BlockHeader {
            number: 1,
            previous_hash: vec![7; 200],
            data_hash: vec![],
        };
        let bytes = header_bytes(&h);
        // SEQUENCE of 3 + 203 + 2 = 208 bytes: 30 81 d0; OCTET STRING of 200: 04 81 c8.
        assert_eq!(&bytes[..3], &[0x30, 0x81, 0xd0]);
        assert_eq!(&bytes[6..9], &[0x04, 0x81, 0xc8]);
        assert_eq!(bytes.len(), 3 + 0xd0);
    }

    #[test]
    fn validation_code_names() {
        assert!(ValidationCode(0).is_valid());
        assert_eq!(
            ValidationCode(9).known(),
            Some(TxValidationCode::DuplicateTxid)
        );
        assert_eq!(
            ValidationCode(10).known(),
            Some(TxValidationCode::EndorsementPolicyFailure)
        );
        assert_eq!(
            ValidationCode(11).known(),
            Some(TxValidationCode::MvccReadConflict)
        );
        assert_eq!(
            ValidationCode(255).to_string(),
            "INVALID_OTHER_REASON (255)"
        );
        assert_eq!(ValidationCode(26).known(), None);
    }
}
