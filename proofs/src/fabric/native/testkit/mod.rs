//! Test fixtures: the one builder of test certificates ([`Ca`], [`CertSpec`]), organisations
//! with generated CAs, identities, and signed blocks holding outbox transactions, built as a
//! client, peers, orderer and committer would.

#![allow(clippy::unwrap_used)]

mod certs;

use std::time::{Duration, SystemTime};

use crate::{Address32, Domain, Message, Nonce};
use prost::Message as _;
use x509_cert::time::{Time, Validity};

pub use certs::{Ca, CertSpec, key, pem};

use super::{DISPATCH_EVENT, FabricVerifierConfig};
use crate::fabric::block::proposal_hash;
use crate::fabric::proto::common::{
    Block, BlockData, BlockHeader, BlockMetadata, ChannelHeader, Envelope, Header, HeaderType,
    Metadata, MetadataSignature, Payload, SignatureHeader,
};
use crate::fabric::proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeEvent, ChaincodeId,
    ChaincodeInput, ChaincodeInvocationSpec, ChaincodeProposalPayload, ChaincodeSpec, Endorsement,
    ProposalResponsePayload, Transaction, TransactionAction,
};
use crate::fabric::{
    EndorsementPolicy, FabricBlock, HeaderHash, MspRoots, SigningIdentity, TransactionId,
    TrustedMsps, ValidationCode, data_hash, header_bytes,
};

/// The test network's channel.
pub const CHANNEL: &str = "causeway";
/// The test network's outbox chaincode.
pub const OUTBOX: &str = "causeway_outbox";
/// The test network's Causeway domain.
pub const DOMAIN: Domain = Domain(2001);

/// A year.
pub fn year() -> Duration {
    Duration::from_secs(365 * 24 * 3600)
}

/// Valid from `from` to `to`.
pub fn validity(from: SystemTime, to: SystemTime) -> Validity {
    Validity {
        not_before: Time::try_from(from).unwrap(),
        not_after: Time::try_from(to).unwrap(),
    }
}

/// Valid from a year ago to a year ahead.
pub fn current() -> Validity {
    let now = SystemTime::now();
    validity(now - year(), now + year())
}

/// Expired yesterday.
pub fn expired() -> Validity {
    let now = SystemTime::now();
    validity(now - year(), now - Duration::from_secs(24 * 3600))
}

/// An organisation: its MSP id and root CA.
pub struct Org {
    /// The MSP id.
    pub mspid: &'static str,
    /// The root CA (`CN=ca.<mspid>,O=<mspid>`).
    pub ca: Ca,
}

impl Org {
    /// An organisation with a fresh P-256 root CA.
    pub fn new(mspid: &'static str) -> Self {
        Self::with_root_validity(mspid, current())
    }

    /// An organisation whose root CA certificate is valid for `validity`.
    pub fn with_root_validity(mspid: &'static str, validity: Validity) -> Self {
        let spec = CertSpec::new(format!("CN=ca.{mspid},O={mspid}"))
            .serial(1)
            .validity(validity);
        Self {
            mspid,
            ca: Ca::from_spec(&spec, key()),
        }
    }

    /// The root certificate, PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        self.ca.pem()
    }

    /// The MSP roots of the organisation (its CA).
    pub fn roots(&self) -> MspRoots {
        MspRoots::new(self.mspid, &[self.ca.pem()]).unwrap()
    }

    /// A peer identity (`OU=peer`) issued by this organisation's CA.
    pub fn member_valid(&self, validity: Validity) -> SigningIdentity {
        self.with_ou("peer", validity)
    }

    /// A signing identity of NodeOU role `ou` issued by this organisation's CA.
    pub fn with_ou(&self, ou: &str, validity: Validity) -> SigningIdentity {
        let mspid = self.mspid;
        let spec = CertSpec::new(format!("CN={ou}.{mspid},OU={ou},O={mspid}"))
            .serial(2)
            .validity(validity);
        self.ca.identity(mspid, &spec)
    }

    /// A peer of this organisation, valid now.
    pub fn member(&self) -> SigningIdentity {
        self.member_valid(current())
    }

    /// An identity of NodeOU role `ou`, valid now.
    pub fn role(&self, ou: &str) -> SigningIdentity {
        self.with_ou(ou, current())
    }
}

/// Two endorsing organisations, an outsider, an orderer, and identities of each.
pub struct Net {
    /// The first endorsing organisation (`Org1MSP`).
    pub org1: Org,
    /// The second endorsing organisation (`Org2MSP`).
    pub org2: Org,
    /// An organisation the policy does not name (`Org3MSP`).
    pub org3: Org,
    /// The ordering organisation.
    pub orderer_org: Org,
    /// A client of Org1 (the transactions' creator).
    pub client: SigningIdentity,
    /// A peer of Org1.
    pub peer1: SigningIdentity,
    /// A peer of Org2.
    pub peer2: SigningIdentity,
    /// The orderer (block signer).
    pub orderer: SigningIdentity,
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

impl Net {
    /// A network with fresh keys for every organisation and identity.
    pub fn new() -> Self {
        let org1 = Org::new("Org1MSP");
        let org2 = Org::new("Org2MSP");
        let org3 = Org::new("Org3MSP");
        let orderer_org = Org::new("OrdererMSP");
        let (client, peer1, peer2, orderer) = (
            org1.role("client"),
            org1.role("peer"),
            org2.role("peer"),
            orderer_org.role("orderer"),
        );
        Self {
            org1,
            org2,
            org3,
            orderer_org,
            client,
            peer1,
            peer2,
            orderer,
        }
    }

    /// Trusts Org1 and Org2 (not Org3) under AND(Org1MSP, Org2MSP), and the orderer.
    pub fn config(&self) -> FabricVerifierConfig {
        let mut config = FabricVerifierConfig::new(
            CHANNEL,
            TrustedMsps::new([self.org1.roots(), self.org2.roots()]),
            TrustedMsps::new([self.orderer_org.roots()]),
            EndorsementPolicy::AllOf(vec!["Org1MSP".into(), "Org2MSP".into()]),
        );
        config.outbox_chaincode = OUTBOX.into();
        config
    }

    /// An outbox dispatch of message `nonce` by the client, endorsed by both peers.
    pub fn dispatch(&self, nonce: u64) -> TxSpec<'_> {
        TxSpec {
            creator: &self.client,
            endorsers: vec![&self.peer1, &self.peer2],
            chaincode: OUTBOX.into(),
            event_chaincode: OUTBOX.into(),
            event_name: DISPATCH_EVENT.into(),
            payload: message(nonce).encode(),
            channel: CHANNEL.into(),
            tx_id: None,
            nonce: nonce.to_be_bytes().repeat(3),
            code: ValidationCode::VALID,
            proposal_hash: None,
        }
    }
}

/// The test message with `nonce`.
pub fn message(nonce: u64) -> Message {
    Message::new(
        Nonce(nonce),
        DOMAIN,
        Address32([1; 32]),
        Domain(1),
        Address32([2; 32]),
        format!("hello {nonce}").into_bytes(),
    )
    .unwrap()
}

/// One endorser transaction to build; every field can be bent by a test.
pub struct TxSpec<'a> {
    /// Who creates (signs) the transaction.
    pub creator: &'a SigningIdentity,
    /// Who endorses it.
    pub endorsers: Vec<&'a SigningIdentity>,
    /// The chaincode of the endorsed action.
    pub chaincode: String,
    /// The chaincode the event names.
    pub event_chaincode: String,
    /// The event's name.
    pub event_name: String,
    /// The event's payload.
    pub payload: Vec<u8>,
    /// The channel in the channel header.
    pub channel: String,
    /// A tx id instead of the one derived from nonce and creator.
    pub tx_id: Option<String>,
    /// The signature header's nonce.
    pub nonce: Vec<u8>,
    /// The committer's validation code in the block's filter.
    pub code: ValidationCode,
    /// The proposal hash the endorsers sign, instead of the hash of this proposal.
    pub proposal_hash: Option<Vec<u8>>,
}

impl TxSpec<'_> {
    /// The derived transaction id (or the override).
    pub fn id(&self) -> String {
        self.tx_id
            .clone()
            .unwrap_or_else(|| TransactionId::derive(&self.nonce, self.creator.creator()).0)
    }

    /// The serialized channel header and chaincode proposal payload (function and argument,
    /// no transient data) of the proposal, as a client sends them.
    fn proposal(&self) -> (Vec<u8>, Vec<u8>) {
        let channel_header = ChannelHeader {
            r#type: HeaderType::EndorserTransaction as i32,
            channel_id: self.channel.clone(),
            tx_id: self.id(),
            ..Default::default()
        }
        .encode_to_vec();
        let chaincode_proposal_payload = ChaincodeProposalPayload {
            input: ChaincodeInvocationSpec {
                chaincode_spec: Some(ChaincodeSpec {
                    chaincode_id: Some(ChaincodeId {
                        name: self.chaincode.clone(),
                        ..Default::default()
                    }),
                    input: Some(ChaincodeInput {
                        args: vec![b"dispatch".to_vec(), self.nonce.clone()],
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }
            .encode_to_vec(),
            transient_map: Default::default(),
        }
        .encode_to_vec();
        (channel_header, chaincode_proposal_payload)
    }

    /// Fabric's proposal hash of this proposal (what honest endorsers sign).
    pub fn own_proposal_hash(&self) -> Vec<u8> {
        let (channel_header, chaincode_proposal_payload) = self.proposal();
        proposal_hash(
            &channel_header,
            &self.signature_header(),
            &chaincode_proposal_payload,
        )
        .to_vec()
    }

    fn signature_header(&self) -> Vec<u8> {
        SignatureHeader {
            creator: self.creator.creator().to_vec(),
            nonce: self.nonce.clone(),
        }
        .encode_to_vec()
    }

    /// The signed envelope bytes.
    pub fn envelope(&self) -> Vec<u8> {
        let signature_header = self.signature_header();
        let tx_id = self.id();
        let (channel_header, chaincode_proposal_payload) = self.proposal();
        let hash = self
            .proposal_hash
            .clone()
            .unwrap_or_else(|| self.own_proposal_hash());
        let prp = ProposalResponsePayload {
            proposal_hash: hash,
            extension: ChaincodeAction {
                events: ChaincodeEvent {
                    chaincode_id: self.event_chaincode.clone(),
                    tx_id: tx_id.clone(),
                    event_name: self.event_name.clone(),
                    payload: self.payload.clone(),
                }
                .encode_to_vec(),
                chaincode_id: Some(ChaincodeId {
                    name: self.chaincode.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        }
        .encode_to_vec();
        let endorsements = self
            .endorsers
            .iter()
            .map(|peer| Endorsement {
                endorser: peer.creator().to_vec(),
                signature: peer.sign(&[prp.as_slice(), peer.creator()].concat()),
            })
            .collect();
        let transaction = Transaction {
            actions: vec![TransactionAction {
                header: signature_header.clone(),
                payload: ChaincodeActionPayload {
                    chaincode_proposal_payload,
                    action: Some(ChaincodeEndorsedAction {
                        proposal_response_payload: prp,
                        endorsements,
                    }),
                }
                .encode_to_vec(),
            }],
        };
        let payload = Payload {
            header: Some(Header {
                channel_header,
                signature_header,
            }),
            data: transaction.encode_to_vec(),
        }
        .encode_to_vec();
        Envelope {
            signature: self.creator.sign(&payload),
            payload,
        }
        .encode_to_vec()
    }
}

/// Block `number` after `previous` holding `txs` with their codes, signed by `orderer`.
pub fn block(
    number: u64,
    previous: Option<HeaderHash>,
    txs: &[TxSpec<'_>],
    orderer: &SigningIdentity,
) -> FabricBlock {
    let codes: Vec<u8> = txs.iter().map(|t| t.code.0).collect();
    raw_block(
        number,
        previous,
        txs.iter().map(TxSpec::envelope).collect(),
        codes,
        orderer,
    )
}

/// A block from envelope bytes and filter codes, signed by `orderer`.
pub fn raw_block(
    number: u64,
    previous: Option<HeaderHash>,
    envelopes: Vec<Vec<u8>>,
    codes: Vec<u8>,
    orderer: &SigningIdentity,
) -> FabricBlock {
    let data = BlockData { data: envelopes };
    let header = BlockHeader {
        number,
        previous_hash: previous.map_or_else(Vec::new, |h| h.0.to_vec()),
        data_hash: data_hash(&data).to_vec(),
    };
    FabricBlock::new(Block {
        metadata: Some(BlockMetadata {
            metadata: vec![
                orderer_signatures(&header, orderer).encode_to_vec(),
                vec![],
                codes,
                vec![],
                vec![],
            ],
        }),
        header: Some(header),
        data: Some(data),
    })
    .unwrap()
}

/// The SIGNATURES metadata of `header` by `orderer`.
pub fn orderer_signatures(header: &BlockHeader, orderer: &SigningIdentity) -> Metadata {
    orderer_signatures_as(header, &[(orderer.creator().to_vec(), orderer)])
}

/// The SIGNATURES metadata of `header` with one signature per entry: each signer's key signs
/// under the given creator bytes (its serialized identity, or another encoding of it).
pub fn orderer_signatures_as(
    header: &BlockHeader,
    signers: &[(Vec<u8>, &SigningIdentity)],
) -> Metadata {
    let value = b"last config".to_vec();
    let signatures = signers
        .iter()
        .map(|(creator, orderer)| {
            let signature_header = SignatureHeader {
                creator: creator.clone(),
                nonce: vec![3; 24],
            }
            .encode_to_vec();
            let signed = [
                value.as_slice(),
                signature_header.as_slice(),
                &header_bytes(header),
            ]
            .concat();
            MetadataSignature {
                signature: orderer.sign(&signed),
                signature_header,
                identifier_header: vec![],
            }
        })
        .collect();
    Metadata { value, signatures }
}

/// `block` with its SIGNATURES metadata replaced by `signatures`.
pub fn resigned(block: &FabricBlock, signatures: &Metadata) -> FabricBlock {
    let mut raw: Block = block.block().clone();
    raw.metadata.as_mut().unwrap().metadata[0] = signatures.encode_to_vec();
    FabricBlock::new(raw).unwrap()
}
