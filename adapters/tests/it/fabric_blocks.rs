//! Fabric blocks: the published blocks in `shared/vectors/fabric/` (see its SOURCE.txt) decode,
//! re-encode to the same bytes and have the data hash and header hash Fabric computes; a
//! synthetic endorser-transaction block yields its events, validation codes and endorsements.

use causeway_adapters::fabric::proto::common::{
    Block, BlockData, BlockHeader, BlockMetadata, ChannelHeader, Envelope, Header, HeaderType,
    Payload, SignatureHeader,
};
use causeway_adapters::fabric::proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeEvent, Endorsement,
    ProposalResponsePayload, Transaction, TransactionAction,
};
use causeway_adapters::fabric::{
    FabricBlock, FabricError, ValidationCode, data_hash, header_bytes, header_hash, verify_chain,
};
use der::Encode as _;
use der::asn1::{Any, OctetStringRef, UintRef};
use prost::Message as _;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/fabric/");

/// Blocks whose data_hash SOURCE.txt says was verified.
const GOOD: &[&str] = &[
    "fabric_orderer_cluster_mychannel.block",
    "fabric_etcdraftgenesis.block",
    "fabric-sdk-go_v1.3_twoorgs.genesis.block",
    "fabric-sdk-go_channel_twoorgs.genesis.block",
];
/// The hand-built fixture whose data_hash is wrong (SOURCE.txt).
const BAD_HASH: &str = "fabric-sdk-go_config.block";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}{name}")).unwrap()
}

/// The header DER built with the `der` crate (an independent encoder) for a differential check.
fn header_der_reference(header: &BlockHeader) -> Vec<u8> {
    let number = header.number.to_be_bytes();
    let fields = vec![
        Any::encode_from(&UintRef::new(&number).unwrap()).unwrap(),
        Any::encode_from(&OctetStringRef::new(&header.previous_hash).unwrap()).unwrap(),
        Any::encode_from(&OctetStringRef::new(&header.data_hash).unwrap()).unwrap(),
    ];
    fields.to_der().unwrap()
}

#[test]
fn every_vector_block_decodes_and_reencodes_to_its_bytes() {
    let mut names = GOOD.to_vec();
    names.push(BAD_HASH);
    for name in names {
        let bytes = read(name);
        let block = FabricBlock::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(block.encode(), bytes, "{name} does not round-trip");
        let transactions = block
            .transactions()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(transactions.len(), block.data().data.len(), "{name}");
        for tx in &transactions {
            // Genesis and config blocks hold one CONFIG envelope.
            assert_eq!(tx.header_type(), HeaderType::Config as i32, "{name}");
            assert!(!tx.channel_id().is_empty(), "{name}");
            assert!(tx.actions.is_empty(), "{name}");
        }
    }
}

#[test]
fn data_hash_matches_except_for_the_hand_built_fixture() {
    for name in GOOD {
        let block = FabricBlock::decode(&read(name)).unwrap();
        block
            .verify_data_hash()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            data_hash(block.data()).as_slice(),
            block.header().data_hash.as_slice()
        );
    }
    let block = FabricBlock::decode(&read(BAD_HASH)).unwrap();
    match block.verify_data_hash() {
        Err(FabricError::DataHashMismatch {
            number,
            claimed,
            computed,
        }) => {
            assert_eq!(number, block.number());
            assert_ne!(claimed, computed);
        }
        other => panic!("expected a data hash mismatch, got {other:?}"),
    }
}

#[test]
fn header_hash_is_sha256_of_the_der_header() {
    for name in GOOD.iter().chain([&BAD_HASH]) {
        let block = FabricBlock::decode(&read(name)).unwrap();
        let der = header_bytes(block.header());
        assert_eq!(der, header_der_reference(block.header()), "{name}");
        let expected: [u8; 32] = sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            &der,
        ))
        .into();
        assert_eq!(block.header_hash().0, expected);
    }
    // Numbers around the sign bit, against the independent encoder.
    for number in [0, 1, 127, 128, 255, 256, 0x7fff, 0x8000, 1 << 63, u64::MAX] {
        let header = BlockHeader {
            number,
            previous_hash: vec![1; 32],
            data_hash: vec![],
        };
        assert_eq!(
            header_bytes(&header),
            header_der_reference(&header),
            "{number}"
        );
    }
}

fn block(number: u64, previous: &BlockHeader, data: Vec<Vec<u8>>, filter: Vec<u8>) -> Block {
    let data = BlockData { data };
    Block {
        header: Some(BlockHeader {
            number,
            previous_hash: header_hash(previous).0.to_vec(),
            data_hash: data_hash(&data).to_vec(),
        }),
        data: Some(data),
        metadata: Some(BlockMetadata {
            metadata: vec![vec![], vec![], filter, vec![], vec![]],
        }),
    }
}

#[test]
fn a_chain_of_blocks_links_by_header_hash() {
    let genesis = FabricBlock::decode(&read(GOOD[0])).unwrap();
    let b1 = FabricBlock::new(block(1, genesis.header(), vec![b"tx".to_vec()], vec![0])).unwrap();
    let b2 = FabricBlock::new(block(2, b1.header(), vec![], vec![])).unwrap();
    verify_chain(&[genesis.clone(), b1.clone(), b2.clone()]).unwrap();

    // A tampered data hash in block 1 changes its header hash: block 2 no longer links.
    let mut tampered = b1.block().clone();
    tampered.header.as_mut().unwrap().data_hash[0] ^= 1;
    let tampered = FabricBlock::new(tampered).unwrap();
    assert!(matches!(
        verify_chain(&[genesis.clone(), tampered, b2.clone()]),
        Err(FabricError::BrokenHashChain { number: 2, .. })
    ));
    assert!(matches!(
        verify_chain(&[genesis, b2]),
        Err(FabricError::NotConsecutive {
            previous: 0,
            next: 2
        })
    ));
}

/// An endorser transaction emitting `event`, endorsed by `endorsements`.
fn endorser_tx(tx_id: &str, event: &ChaincodeEvent, endorsements: Vec<Endorsement>) -> Vec<u8> {
    let prp = ProposalResponsePayload {
        proposal_hash: vec![9; 32],
        extension: ChaincodeAction {
            events: event.encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec(),
    }
    .encode_to_vec();
    let action_payload = ChaincodeActionPayload {
        chaincode_proposal_payload: vec![],
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: prp,
            endorsements,
        }),
    };
    let signature_header = SignatureHeader {
        creator: b"creator".to_vec(),
        nonce: vec![1; 24],
    };
    let transaction = Transaction {
        actions: vec![TransactionAction {
            header: signature_header.encode_to_vec(),
            payload: action_payload.encode_to_vec(),
        }],
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: ChannelHeader {
                r#type: HeaderType::EndorserTransaction as i32,
                channel_id: "mychannel".into(),
                tx_id: tx_id.into(),
                ..Default::default()
            }
            .encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        }),
        data: transaction.encode_to_vec(),
    };
    Envelope {
        payload: payload.encode_to_vec(),
        signature: vec![7; 70],
    }
    .encode_to_vec()
}

#[test]
fn endorser_transactions_yield_events_endorsements_and_validation_codes() {
    let event = ChaincodeEvent {
        chaincode_id: "causeway".into(),
        tx_id: "tx1".into(),
        event_name: "Sent".into(),
        payload: b"message".to_vec(),
    };
    let endorsement = Endorsement {
        endorser: b"peer0".to_vec(),
        signature: vec![3; 71],
    };
    let txs = vec![
        endorser_tx("tx1", &event, vec![endorsement.clone()]),
        endorser_tx("tx2", &event, vec![]),
    ];
    let genesis = BlockHeader::default();
    // tx1 VALID, tx2 MVCC_READ_CONFLICT (11).
    let b = FabricBlock::new(block(5, &genesis, txs, vec![0, 11])).unwrap();
    b.verify_data_hash().unwrap();
    assert_eq!(
        b.validation_codes().unwrap(),
        vec![ValidationCode::VALID, ValidationCode(11)]
    );
    let decoded = b.transactions().unwrap();
    assert_eq!(decoded[0].tx_id(), "tx1");
    assert_eq!(decoded[0].channel_id(), "mychannel");
    assert_eq!(decoded[0].actions.len(), 1);
    assert_eq!(decoded[0].actions[0].event.as_ref(), Some(&event));
    assert_eq!(decoded[0].actions[0].endorsements, vec![endorsement]);
    assert_eq!(decoded[1].tx_id(), "tx2");

    // One filter byte per transaction, or the block is refused.
    let short = FabricBlock::new(block(5, &genesis, vec![vec![]; 2], vec![0])).unwrap();
    assert!(matches!(
        short.validation_codes(),
        Err(FabricError::TransactionsFilterLength {
            transactions: 2,
            filter: 1,
            ..
        })
    ));
    // Garbage where an envelope should be fails to decode (closed).
    let garbage = FabricBlock::new(block(5, &genesis, vec![vec![0xff; 3]], vec![0])).unwrap();
    assert!(matches!(
        garbage.transactions(),
        Err(FabricError::Decode { .. })
    ));
}

#[test]
fn a_block_without_header_is_refused() {
    let bytes = Block {
        header: None,
        ..Default::default()
    }
    .encode_to_vec();
    assert!(matches!(
        FabricBlock::decode(&bytes),
        Err(FabricError::MissingField { .. })
    ));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Our hand-written header DER equals the `der` crate's for any header.
        #[test]
        fn header_bytes_match_the_der_crate(
            number: u64,
            previous_hash in proptest::collection::vec(any::<u8>(), 0..300),
            data_hash in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let header = BlockHeader { number, previous_hash, data_hash };
            prop_assert_eq!(header_bytes(&header), header_der_reference(&header));
        }

        /// Arbitrary bytes never panic the block decoder: they decode or are refused.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(block) = FabricBlock::decode(&bytes) {
                let _ = block.transactions();
                let _ = block.validation_codes();
                let _ = block.verify_data_hash();
            }
        }

        /// Any single-bit change to a vector block's data breaks its data hash.
        #[test]
        fn a_flipped_data_bit_breaks_the_data_hash(entry in any::<prop::sample::Index>(), bit in any::<prop::sample::Index>()) {
            let mut block = FabricBlock::decode(&read(GOOD[1])).unwrap().block().clone();
            let data = &mut block.data.as_mut().unwrap().data;
            let entry = entry.index(data.len());
            let bit = bit.index(data[entry].len() * 8);
            data[entry][bit / 8] ^= 1 << (bit % 8);
            let block = FabricBlock::new(block).unwrap();
            let is_mismatch = matches!(block.verify_data_hash(), Err(FabricError::DataHashMismatch { .. }));
            prop_assert!(is_mismatch);
        }
    }
}
