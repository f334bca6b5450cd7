//! FISCO BCOS 3.x: hashes, signatures, Merkle proofs and the sealer check against the published
//! examples of FISCO-BCOS-DOC (3.x `docs/develop/api.md`: the national-cryptography
//! sendTransaction example in `../shared/vectors/fisco/`, and block 2 with its receipt and its
//! three SM2 sealer signatures, copied below), plus blocks sealed here in both crypto modes.

use causeway_proofs::evm::{dispatch_topic0, encode_dispatch_data};
use causeway_proofs::fisco::json::{BlockJson, ReceiptJson};
use causeway_proofs::fisco::merkle::{merkle_proof, merkle_root, verify_proof};
use causeway_proofs::fisco::{
    BlockParams, CryptoMode, FiscoError, FiscoSourceProof, LogEntry, NodeKey, NodeSecret,
    ParentInfo, Receipt, SealedBlock, SealerSet, Transaction,
};
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, Message, Nonce};
use rand_core::OsRng;

use crate::vectors::read_vector;

fn h(text: &str) -> Hash32 {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim_start_matches("0x"), &mut out).expect("32-byte hex");
    Hash32(out)
}

/// Block 2 of the api.md examples (getBlockByHash), an SM chain with four sealers.
const BLOCK2: &str = r#"{
  "consensusWeights": [1, 1, 1, 1],
  "extraData": "0x",
  "gasUsed": "24363",
  "hash": "0x2fbafbf71395bb07d1d6e142a06fa3cd9436aee3e91b5b9e6ffc5c47133c3738",
  "number": 2,
  "parentInfo": [{"blockHash": "0x1498f2ff420fb9c240c7081b99bd76819c7348fb1a899095476afa29146c8874", "blockNumber": 1}],
  "receiptsRoot": "0xf18d1984c7745a826e4b8d608b823534f1e44b273f75972e16cf2ac3ff313e14",
  "sealer": 1,
  "sealerList": [
    "0x0055dcaf073a332aa1ad90ff53ef028680d24f9bf2fcbc07ec4bbd4879413f75118a570bcf8001c4526fdb8c1319e51ae63444431ec8ab839465c05e178e7c49",
    "0x2a7aecf4acf010b0c13697e84ffd4f18544835662845621f936166d88cf073f16b1daa6883de457e6129377d21412b4c77099e8a50e8ea521752adcddeb8b331",
    "0x535439908979b89171283dca78520763e0a32c64631d7f34ee1d3f74c408a31aaa8565c50924ba6817cd33c13fe9dc928e36b8a1df022fc825d3687c2b273258",
    "0xdd99ab883677a8aef2c2a3847b9671e501bd6930792700398627eb0a1ba04fe81015745b6287be5f36786c0cc8ff12e9dd3215dc5a4210b012d77330a739a2c3"
  ],
  "signatureList": [
    {"sealerIndex": 0, "signature": "0xbc1c559adb2723b31b6f75d4f7bd06b204563d238ebc53774b0a621d586482573ae320a6dcca9bd03a2a6af0d8c368cdd660c56b27c8af0c154947f3e6252074"},
    {"sealerIndex": 1, "signature": "0x3490744fc8370eb65649b8bb89a0a53623838e37e37bbb66e3f26f67e81dabe8b34a7e10d85520c475bf92cc89da705aa3d76a0b8316784733301e7af57004a6"},
    {"sealerIndex": 2, "signature": "0x9b7f9b3d18b619ea66f2a028f9980c09b3a83c0a6595da0fed4441a175a165154973a5b21eabf817311d0305b6b194818fab7308335760d10b584c954cf052eb"}
  ],
  "stateRoot": "0xc81a18b17f22851cd19f48d2fcf875bebea711d7b5823b99a983c2ecbfc48f1a",
  "timestamp": 1680598474810,
  "txsRoot": "0xdce357d4a81bfe2c9b9cc83fde7576a8ae8dede910b70cdf9abed71a32ed10bf",
  "version": 50528256
}"#;

/// The receipt of block 2's only transaction (getTransactionReceipt with proof; `input` left
/// out: it is not hashed).
const RECEIPT2: &str = r#"{
  "blockNumber": 2,
  "contractAddress": "0x82a3c3289a9f234a38aceed3016d1ff0e0f922b3",
  "from": "0xf3293c3452b3b0479e64a4c612e8c1b0da5fe1af",
  "gasUsed": "24363",
  "hash": "0xf18d1984c7745a826e4b8d608b823534f1e44b273f75972e16cf2ac3ff313e14",
  "logEntries": [],
  "message": "",
  "output": "0x",
  "status": 0,
  "to": "",
  "transactionHash": "0xdce357d4a81bfe2c9b9cc83fde7576a8ae8dede910b70cdf9abed71a32ed10bf",
  "txReceiptProof": ["f18d1984c7745a826e4b8d608b823534f1e44b273f75972e16cf2ac3ff313e14"],
  "version": 0
}"#;

fn block2() -> BlockJson {
    serde_json::from_str(BLOCK2).expect("block 2 parses")
}

fn receipt2() -> ReceiptJson {
    serde_json::from_str(RECEIPT2).expect("receipt 2 parses")
}

fn sealers2() -> SealerSet {
    let keys = block2()
        .sealer_list
        .iter()
        .map(|id| NodeKey::from_hex(CryptoMode::Sm, id).expect("an SM2 node id"))
        .collect::<Vec<_>>();
    SealerSet::new(CryptoMode::Sm, keys).expect("four distinct sealers")
}

#[test]
fn sm_send_transaction_example_data_hash_and_sender() {
    let hex_text = read_vector("fisco/sm-sendtransaction-example.tx.hex");
    let bytes = hex::decode(hex_text.trim().trim_start_matches("0x")).expect("hex");
    let tx = Transaction::decode(&bytes).expect("a TARS transaction");
    assert_eq!(tx.data.chain_id, "chain0");
    assert_eq!(tx.data.group_id, "group0");
    assert_eq!(tx.data.block_limit, 507);
    assert_eq!(tx.data.input.len(), 1131);
    assert_eq!(tx.data.abi.len(), 342);
    let expected = h("867fc7059f04e9f172202b777673a8413c9e47990dcd09b11311a2f1f5b55a4f");
    assert_eq!(tx.data.hash(CryptoMode::Sm), expected);
    assert_eq!(tx.data_hash, expected.0.to_vec());
    // The signature (SM2 over e = SM3(Z_A ‖ dataHash), default identity) verifies, and the
    // sender is the last 20 bytes of SM3 of the appended key.
    let verified = tx
        .verify(CryptoMode::Sm)
        .expect("the published signature verifies");
    assert_eq!(
        hex::encode(verified.sender),
        "f3293c3452b3b0479e64a4c612e8c1b0da5fe1af"
    );
    // Re-encoding reproduces the published bytes.
    assert_eq!(tx.encode(), bytes);
    // The same transaction read as an ECDSA chain's: another hash, and refused.
    assert!(tx.verify(CryptoMode::Ecdsa).is_err());
}

#[test]
fn block2_receipt_and_header_hashes() {
    let receipt = receipt2().receipt().expect("fields");
    let receipt_hash = h("f18d1984c7745a826e4b8d608b823534f1e44b273f75972e16cf2ac3ff313e14");
    assert_eq!(receipt.hash(CryptoMode::Sm), receipt_hash);
    // One receipt: the root is the leaf, the proof is the root.
    assert_eq!(merkle_root(&[receipt_hash], CryptoMode::Sm), receipt_hash);
    let header = block2().header().expect("fields");
    assert_eq!(header.receipts_root, receipt_hash);
    assert_eq!(
        header.hash(CryptoMode::Sm),
        h("2fbafbf71395bb07d1d6e142a06fa3cd9436aee3e91b5b9e6ffc5c47133c3738")
    );
}

#[test]
fn block2_published_sealer_signatures_reach_the_quorum() {
    let block = block2();
    let seal = sealers2()
        .verify_seal(
            &block.header().expect("fields"),
            &block.signatures().expect("hex"),
        )
        .expect("3 of 4 sealers signed block 2");
    assert_eq!(seal.signers.len(), 3);
    assert_eq!(sealers2().quorum(), 3);
    // The whole source proof of its receipt (no Outbox logs) verifies.
    let proof = FiscoSourceProof {
        block: block.clone(),
        receipt: receipt2(),
    };
    let outbox = EvmAddress([0x11; 20]);
    let verified = proof.verify(&sealers2(), &outbox).expect("proven");
    assert_eq!(verified.number, 2);
    assert!(verified.messages.is_empty());
}

#[test]
fn block2_forged_duplicated_below_quorum_and_unknown_signatures_are_refused() {
    let block = block2();
    let header = block.header().expect("fields");
    let sigs = block.signatures().expect("hex");
    let set = sealers2();

    let mut forged = sigs.clone();
    forged[1].signature[10] ^= 1;
    assert!(matches!(
        set.verify_seal(&header, &forged),
        Err(FiscoError::BadSignature { index: 1, .. })
    ));

    let mut duplicated = sigs[..2].to_vec();
    duplicated.push(sigs[0].clone());
    assert!(matches!(
        set.verify_seal(&header, &duplicated),
        Err(FiscoError::DuplicateSealer { .. })
    ));

    assert!(matches!(
        set.verify_seal(&header, &sigs[..2]),
        Err(FiscoError::BelowQuorum {
            signed: 2,
            quorum: 3,
            sealers: 4,
            ..
        })
    ));

    // A signature moved to another sealer's index does not verify under that key.
    let mut moved = sigs.clone();
    moved[0].sealer_index = 3;
    assert!(matches!(
        set.verify_seal(&header, &moved),
        Err(FiscoError::BadSignature { index: 0, .. })
    ));

    // Sealer 0 replaced in the configuration by another key: its signature is by a stranger.
    let mut keys: Vec<NodeKey> = set
        .keys()
        .copied()
        .filter(|k| k.to_bytes()[0] != 0x00)
        .collect();
    keys.push(NodeSecret::generate(CryptoMode::Sm, &mut OsRng).public_key());
    let other = SealerSet::new(CryptoMode::Sm, keys).expect("four keys");
    assert!(matches!(
        other.verify_seal(&header, &sigs),
        Err(FiscoError::UnknownSealer { index: 0, .. })
    ));

    // Any change to the header changes the signed hash.
    let mut changed = header.clone();
    changed.timestamp += 1;
    assert!(matches!(
        set.verify_seal(&changed, &sigs),
        Err(FiscoError::BadSignature { index: 0, .. })
    ));
}

#[test]
fn sealer_sets_refuse_duplicates_small_sets_and_other_modes() {
    let keys: Vec<NodeKey> = sealers2().keys().copied().collect();
    let mut dup = keys.clone();
    dup.push(keys[0]);
    assert!(matches!(
        SealerSet::new(CryptoMode::Sm, dup),
        Err(FiscoError::SealerSet { .. })
    ));
    assert!(matches!(
        SealerSet::new(CryptoMode::Sm, keys[..3].to_vec()),
        Err(FiscoError::SealerSet { .. })
    ));
    assert!(matches!(
        SealerSet::new(CryptoMode::Ecdsa, keys),
        Err(FiscoError::SealerSet { .. })
    ));
    // The same key written with the 0x04 prefix is the same sealer.
    let id = block2().sealer_list[0].clone();
    let prefixed = format!("04{}", id.trim_start_matches("0x"));
    assert_eq!(
        NodeKey::from_hex(CryptoMode::Sm, &prefixed),
        NodeKey::from_hex(CryptoMode::Sm, &id)
    );
}

const OUTBOX: [u8; 20] = [0x6b; 20];

fn dispatch_log(nonce: u64) -> (LogEntry, Vec<u8>) {
    let message = Message::new(
        Nonce(nonce),
        Domain(3001),
        Address32([1; 32]),
        Domain(3002),
        Address32([2; 32]),
        format!("hello {nonce}").into_bytes(),
    )
    .expect("small body");
    let bytes = message.encode();
    let word = |v: u64| {
        let mut w = vec![0u8; 32];
        w[24..].copy_from_slice(&v.to_be_bytes());
        w
    };
    let id: Hash32 = message.id().into();
    let log = LogEntry {
        address: hex::encode(OUTBOX),
        topics: vec![
            dispatch_topic0().0.to_vec(),
            id.0.to_vec(),
            word(nonce),
            word(3002),
        ],
        data: encode_dispatch_data(&bytes),
    };
    (log, bytes)
}

fn receipt_with(logs: Vec<LogEntry>, number: i64) -> Receipt {
    Receipt {
        version: 0,
        gas_used: "21000".into(),
        contract_address: String::new(),
        status: 0,
        output: Vec::new(),
        effective_gas_price: String::new(),
        logs,
        block_number: number,
    }
}

/// A block of five transactions; the third dispatches two messages.
fn sealed(mode: CryptoMode, signing: usize) -> (SealedBlock, Vec<NodeSecret>, Vec<Vec<u8>>) {
    let sealers: Vec<NodeSecret> = (0..4)
        .map(|_| NodeSecret::generate(mode, &mut OsRng))
        .collect();
    let (l1, m1) = dispatch_log(7);
    let (l2, m2) = dispatch_log(8);
    let other = LogEntry {
        address: hex::encode([0x22; 20]),
        topics: vec![vec![0x33; 32]],
        data: vec![1, 2, 3],
    };
    let receipts = vec![
        receipt_with(vec![], 9),
        receipt_with(vec![other.clone()], 9),
        receipt_with(vec![other, l1, l2], 9),
        receipt_with(vec![], 9),
        receipt_with(vec![], 9),
    ];
    let txs = (0..5u8).map(|i| mode.hash(&[i])).collect();
    let params = BlockParams {
        number: 9,
        parent: Some(ParentInfo {
            number: 8,
            hash: Hash32([8; 32]),
        }),
        timestamp: 1_700_000_000_000,
        state_root: Hash32([5; 32]),
    };
    let block = SealedBlock::build(mode, &params, txs, receipts, &sealers, signing, &mut OsRng)
        .expect("builds");
    (block, sealers, vec![m1, m2])
}

fn source_proof(block: &SealedBlock, index: usize) -> FiscoSourceProof {
    let receipt = &block.receipts[index];
    let proof = block.receipt_proof(index).expect("in range");
    FiscoSourceProof {
        block: BlockJson::from_header(&block.header, &block.signatures, block.mode),
        receipt: ReceiptJson::from_receipt(
            receipt,
            &block.tx_hashes[index],
            block.mode,
            Some(&proof),
        ),
    }
}

fn set_of(mode: CryptoMode, sealers: &[NodeSecret]) -> SealerSet {
    SealerSet::new(mode, sealers.iter().map(NodeSecret::public_key)).expect("four sealers")
}

#[test]
fn sealed_blocks_prove_their_outbox_messages_in_both_modes() {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let (block, sealers, messages) = sealed(mode, 3);
        let set = set_of(mode, &sealers);
        let verified = source_proof(&block, 2)
            .verify(&set, &EvmAddress(OUTBOX))
            .expect("proven");
        assert_eq!(verified.block_hash, block.hash());
        let got: Vec<Vec<u8>> = verified
            .messages
            .iter()
            .map(|m| m.message.clone())
            .collect();
        assert_eq!(got, messages, "{mode}");
        assert_eq!(verified.messages[0].log_index, 1);
        // A receipt with only another contract's log proves no message.
        let none = source_proof(&block, 1)
            .verify(&set, &EvmAddress(OUTBOX))
            .expect("proven");
        assert!(none.messages.is_empty());
        // Every transaction proof of the block reaches the txs root.
        for i in 0..block.tx_hashes.len() {
            let proof = block.transaction_proof(i).expect("in range");
            verify_proof(
                &proof,
                &block.tx_hashes[i],
                &block.header.txs_root,
                mode,
                "transaction",
            )
            .expect("proven");
        }
    }
}

#[test]
fn forged_receipts_proofs_and_seals_are_refused() {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let (block, sealers, _) = sealed(mode, 3);
        let set = set_of(mode, &sealers);
        let outbox = EvmAddress(OUTBOX);

        // A message changed in the receipt: its hash no longer reaches the receipts root.
        let mut changed = source_proof(&block, 2);
        let data = &mut changed.receipt.log_entries[1].data;
        let last = data.pop().expect("hex digit");
        data.push(if last == '0' { '1' } else { '0' });
        assert!(matches!(
            changed.verify(&set, &outbox),
            Err(FiscoError::LeafNotInProof { .. } | FiscoError::Event { .. })
        ));

        // The proof of another receipt.
        let mut other = source_proof(&block, 2);
        other.receipt.tx_receipt_proof = source_proof(&block, 0).receipt.tx_receipt_proof;
        assert!(matches!(
            other.verify(&set, &outbox),
            Err(FiscoError::LeafNotInProof { .. })
        ));

        // A receipt of another block number.
        let mut moved = source_proof(&block, 2);
        moved.receipt.block_number = 10;
        assert!(moved.verify(&set, &outbox).is_err());

        // Two signatures are not a quorum of four.
        let (thin, thin_sealers, _) = sealed(mode, 2);
        assert!(matches!(
            source_proof(&thin, 2).verify(&set_of(mode, &thin_sealers), &outbox),
            Err(FiscoError::BelowQuorum {
                signed: 2,
                quorum: 3,
                ..
            })
        ));

        // A block sealed by another chain's sealers.
        let strangers: Vec<NodeSecret> = (0..4)
            .map(|_| NodeSecret::generate(mode, &mut OsRng))
            .collect();
        assert!(matches!(
            source_proof(&block, 2).verify(&set_of(mode, &strangers), &outbox),
            Err(FiscoError::UnknownSealer { .. })
        ));

        // A malformed receipt form (a topic of 31 bytes) is refused before hashing.
        let mut short = source_proof(&block, 2);
        short.receipt.log_entries[0].topics[0].truncate(64);
        assert!(matches!(
            short.verify(&set, &outbox),
            Err(FiscoError::Malformed { .. })
        ));
    }
}

#[test]
fn signatures_of_the_other_crypto_mode_are_refused() {
    let (sm_block, sm_sealers, _) = sealed(CryptoMode::Sm, 4);
    let (ecdsa_block, ecdsa_sealers, _) = sealed(CryptoMode::Ecdsa, 4);
    // SM2 signatures on a header read as ECDSA: the wrong length.
    let mut mixed = ecdsa_block.clone();
    mixed.signatures = sm_block.signatures.clone();
    assert!(matches!(
        set_of(CryptoMode::Ecdsa, &ecdsa_sealers).verify_seal(&mixed.header, &mixed.signatures),
        Err(FiscoError::SignatureForm { .. })
    ));
    let mut mixed = sm_block.clone();
    mixed.signatures = ecdsa_block.signatures.clone();
    assert!(matches!(
        set_of(CryptoMode::Sm, &sm_sealers).verify_seal(&mixed.header, &mixed.signatures),
        Err(FiscoError::SignatureForm { .. } | FiscoError::InvalidPublicKey { .. })
    ));
}

#[test]
fn merkle_proofs_of_wide_blocks_and_their_tampering() {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let leaves: Vec<Hash32> = (0..100u32).map(|i| mode.hash(&i.to_be_bytes())).collect();
        let root = merkle_root(&leaves, mode);
        for i in [0, 1, 50, 98, 99] {
            let proof = merkle_proof(&leaves, i, mode).expect("in range");
            verify_proof(&proof, &leaves[i], &root, mode, "receipt").expect("proven");
            let mut bad = proof.clone();
            let last = bad.len() - 1;
            bad[last].0[31] ^= 1;
            assert!(verify_proof(&bad, &leaves[i], &root, mode, "receipt").is_err());
        }
    }
}

mod properties {
    use causeway_proofs::fisco::{CryptoMode, Transaction, TransactionData};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every transaction's TARS encoding decodes to itself, and its hash survives the trip.
        #[test]
        fn transactions_round_trip_through_tars(
            version in 0i32..3,
            block_limit in any::<i64>(),
            nonce in "[0-9]{1,78}",
            to in proptest::option::of("[0-9a-f]{40}"),
            input in proptest::collection::vec(any::<u8>(), 0..600),
            abi in "[ -~]{0,300}",
            gas_limit in any::<i64>(),
            extension in proptest::collection::vec(any::<u8>(), 0..40),
            signature in proptest::collection::vec(any::<u8>(), 0..130),
            attribute in 0i32..16,
        ) {
            let data = TransactionData {
                version,
                chain_id: "chain0".into(),
                group_id: "group0".into(),
                block_limit,
                nonce,
                to: to.unwrap_or_default(),
                input,
                abi,
                value: if version >= 1 { "1".into() } else { String::new() },
                gas_price: if version >= 1 { "0".into() } else { String::new() },
                gas_limit: if version >= 1 { gas_limit } else { 0 },
                max_fee_per_gas: String::new(),
                max_priority_fee_per_gas: String::new(),
                extension: if version >= 2 { extension } else { Vec::new() },
            };
            let hash = data.hash(CryptoMode::Sm);
            let tx = Transaction {
                data,
                data_hash: hash.0.to_vec(),
                signature,
                import_time: 0,
                attribute,
                sender: Vec::new(),
                extra_data: String::new(),
            };
            let decoded = Transaction::decode(&tx.encode()).expect("decodes");
            prop_assert_eq!(&decoded, &tx);
            prop_assert_eq!(decoded.data.hash(CryptoMode::Sm), hash);
        }

        /// A truncated encoding is refused, or (cut at a field boundary) read as a transaction
        /// without the cut fields: never as the original.
        #[test]
        fn truncated_transactions_never_read_as_the_original(cut in 1usize..200) {
            let data = TransactionData {
                chain_id: "chain0".into(),
                group_id: "group0".into(),
                block_limit: 9,
                nonce: "1".into(),
                input: vec![1; 150],
                ..TransactionData::default()
            };
            let tx = Transaction {
                data,
                data_hash: vec![2; 32],
                signature: vec![3; 65],
                import_time: 0,
                attribute: 0,
                sender: Vec::new(),
                extra_data: String::new(),
            };
            let bytes = tx.encode();
            let cut = cut.min(bytes.len() - 1);
            if let Ok(decoded) = Transaction::decode(&bytes[..bytes.len() - cut]) {
                prop_assert_ne!(decoded, tx);
            }
        }
    }
}
