//! The channel's ledger: the blocks (block 0 a genesis config block), the world state with
//! key versions, and the index of transaction ids. Blocks are assembled as Fabric's orderer
//! and committer leave them: the header links to the previous header hash and commits to the
//! data, the SIGNATURES metadata carries the orderer's signature over
//! `Metadata.value || signature_header || header bytes`, and TRANSACTIONS_FILTER one
//! validation code per transaction.

use std::collections::HashMap;
use std::time::SystemTime;

use causeway_adapters::fabric::proto::common::{
    Block, BlockData, BlockHeader, BlockMetadata, BlockMetadataIndex, ChannelHeader, Envelope,
    Header, HeaderType, LastConfig, Metadata, MetadataSignature, OrdererBlockMetadata, Payload,
    SignatureHeader,
};
use causeway_adapters::fabric::{
    FabricBlock, SigningIdentity, TransactionId, ValidationCode, data_hash, header_bytes,
};
use prost::Message as _;

use super::org::Org;
use super::pki::random_bytes;
use super::proto::configtx::{
    BatchSize, BatchTimeout, Config, ConfigEnvelope, ConfigGroup, ConfigValue, FabricMspConfig,
    HashingAlgorithm, MspConfig,
};
use super::simulate::WorldState;

/// How a block is to be damaged (fault hooks).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BlockDamage {
    /// Flip a bit of the header's data hash.
    pub(crate) wrong_data_hash: bool,
    /// Flip a bit of the header's previous hash.
    pub(crate) broken_previous_hash: bool,
}

/// The ledger of the channel.
#[derive(Debug)]
pub(crate) struct Ledger {
    blocks: Vec<FabricBlock>,
    pub(crate) world: WorldState,
    txs: HashMap<String, (u64, ValidationCode)>,
}

/// The orderer's batch settings, recorded in the genesis configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchConfig {
    pub(crate) max_message_count: u32,
    pub(crate) batch_timeout_ms: u128,
}

impl Ledger {
    /// A ledger holding the genesis block of `channel`, whose configuration names the
    /// application organisations, the orderer organisation and the batch settings.
    pub(crate) fn genesis(
        channel: &str,
        application: &[&Org],
        orderer_org: &Org,
        tls_ca_pem: &[u8],
        batch: BatchConfig,
    ) -> Self {
        let msp_group = |org: &Org| {
            let config = FabricMspConfig {
                name: org.mspid().to_owned(),
                root_certs: vec![org.ca_pem().to_vec()],
                admins: Vec::new(),
                tls_root_certs: vec![tls_ca_pem.to_vec()],
            };
            let value = MspConfig {
                r#type: 0,
                config: config.encode_to_vec(),
            };
            ConfigGroup {
                values: [("MSP".to_owned(), config_value(value.encode_to_vec()))].into(),
                mod_policy: "Admins".to_owned(),
                ..Default::default()
            }
        };
        let application_group = ConfigGroup {
            groups: application
                .iter()
                .map(|org| (org.mspid().to_owned(), msp_group(org)))
                .collect(),
            mod_policy: "Admins".to_owned(),
            ..Default::default()
        };
        let orderer_group = ConfigGroup {
            groups: [(orderer_org.mspid().to_owned(), msp_group(orderer_org))].into(),
            values: [
                (
                    "BatchSize".to_owned(),
                    config_value(
                        BatchSize {
                            max_message_count: batch.max_message_count,
                            absolute_max_bytes: 10 * 1024 * 1024,
                            preferred_max_bytes: 2 * 1024 * 1024,
                        }
                        .encode_to_vec(),
                    ),
                ),
                (
                    "BatchTimeout".to_owned(),
                    config_value(
                        BatchTimeout {
                            timeout: format!("{}ms", batch.batch_timeout_ms),
                        }
                        .encode_to_vec(),
                    ),
                ),
            ]
            .into(),
            mod_policy: "Admins".to_owned(),
            ..Default::default()
        };
        let channel_group = ConfigGroup {
            groups: [
                ("Application".to_owned(), application_group),
                ("Orderer".to_owned(), orderer_group),
            ]
            .into(),
            values: [(
                "HashingAlgorithm".to_owned(),
                config_value(
                    HashingAlgorithm {
                        name: "SHA256".to_owned(),
                    }
                    .encode_to_vec(),
                ),
            )]
            .into(),
            mod_policy: "Admins".to_owned(),
            ..Default::default()
        };
        let config = ConfigEnvelope {
            config: Some(Config {
                sequence: 0,
                channel_group: Some(channel_group),
            }),
            last_update: None,
        };
        let orderer = orderer_org.node();
        let nonce: [u8; 24] = random_bytes();
        let tx_id = TransactionId::derive(&nonce, orderer.creator());
        let payload = Payload {
            header: Some(Header {
                channel_header: ChannelHeader {
                    r#type: HeaderType::Config as i32,
                    timestamp: Some(SystemTime::now().into()),
                    channel_id: channel.to_owned(),
                    tx_id: tx_id.0.clone(),
                    ..Default::default()
                }
                .encode_to_vec(),
                signature_header: SignatureHeader {
                    creator: orderer.creator().to_vec(),
                    nonce: nonce.to_vec(),
                }
                .encode_to_vec(),
            }),
            data: config.encode_to_vec(),
        }
        .encode_to_vec();
        let envelope = Envelope {
            signature: orderer.sign(&payload),
            payload,
        }
        .encode_to_vec();
        let mut ledger = Self {
            blocks: Vec::new(),
            world: WorldState::new(),
            txs: HashMap::new(),
        };
        ledger.append(
            vec![envelope],
            vec![ValidationCode::VALID],
            vec![tx_id.0],
            orderer,
            BlockDamage::default(),
        );
        ledger
    }

    /// The number of blocks.
    pub(crate) fn height(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// Block `number`.
    pub(crate) fn block(&self, number: u64) -> Option<&FabricBlock> {
        usize::try_from(number)
            .ok()
            .and_then(|n| self.blocks.get(n))
    }

    /// The block and code of the first transaction committed with id `tx_id`.
    pub(crate) fn tx_status(&self, tx_id: &str) -> Option<(u64, ValidationCode)> {
        self.txs.get(tx_id).copied()
    }

    /// Appends the next block with these transactions (serialized envelopes), their codes
    /// and ids, signed by `orderer`.
    pub(crate) fn append(
        &mut self,
        envelopes: Vec<Vec<u8>>,
        codes: Vec<ValidationCode>,
        tx_ids: Vec<String>,
        orderer: &SigningIdentity,
        damage: BlockDamage,
    ) -> u64 {
        let number = self.height();
        let data = BlockData { data: envelopes };
        let mut previous_hash = self
            .blocks
            .last()
            .map(|b| b.header_hash().0.to_vec())
            .unwrap_or_default();
        let mut data_hash = data_hash(&data).to_vec();
        if damage.broken_previous_hash {
            if previous_hash.is_empty() {
                previous_hash = vec![0; 32];
            }
            previous_hash[0] ^= 1;
        }
        if damage.wrong_data_hash {
            data_hash[0] ^= 1;
        }
        let header = BlockHeader {
            number,
            previous_hash,
            data_hash,
        };
        let value = OrdererBlockMetadata {
            last_config: Some(LastConfig { index: 0 }),
            consenter_metadata: Vec::new(),
        }
        .encode_to_vec();
        let signature_header = SignatureHeader {
            creator: orderer.creator().to_vec(),
            nonce: random_bytes::<24>().to_vec(),
        }
        .encode_to_vec();
        let signed = [
            value.as_slice(),
            signature_header.as_slice(),
            header_bytes(&header).as_slice(),
        ]
        .concat();
        let signatures = Metadata {
            value,
            signatures: vec![MetadataSignature {
                signature: orderer.sign(&signed),
                signature_header,
                identifier_header: Vec::new(),
            }],
        };
        let mut metadata = vec![Vec::new(); 5];
        metadata[BlockMetadataIndex::Signatures as usize] = signatures.encode_to_vec();
        // LAST_CONFIG (index 1) is deprecated but still written by Fabric 2.x orderers.
        metadata[1] = Metadata {
            value: LastConfig { index: 0 }.encode_to_vec(),
            signatures: Vec::new(),
        }
        .encode_to_vec();
        metadata[BlockMetadataIndex::TransactionsFilter as usize] =
            codes.iter().map(|c| c.0).collect();
        let block = Block {
            header: Some(header),
            data: Some(data),
            metadata: Some(BlockMetadata { metadata }),
        };
        for (tx_id, code) in tx_ids.into_iter().zip(codes) {
            if !tx_id.is_empty() {
                self.txs.entry(tx_id).or_insert((number, code));
            }
        }
        self.blocks
            .push(FabricBlock::new(block).expect("header, data and metadata are set"));
        number
    }
}

fn config_value(value: Vec<u8>) -> ConfigValue {
    ConfigValue {
        version: 0,
        value,
        mod_policy: "Admins".to_owned(),
    }
}

/// Whether a transaction with id `tx_id` is already in the ledger (whatever its code).
pub(crate) fn is_known(ledger: &Ledger, tx_id: &str) -> bool {
    ledger.txs.contains_key(tx_id)
}
