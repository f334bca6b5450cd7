//! EVM receipts: receipts roots, receipt proofs and their verification, receipt and header
//! decoding, and the `EvmSourceProof` chain from a block hash to an Outbox `Dispatch` log.
//!
//! Published values reproduced (sources beside each constant): a real mainnet Cancun block's
//! header, receipts root and receipt proof (block 19,432,673, transaction 8), a real mainnet
//! Shanghai header's hash (block 17,819,525), and reth's receipts-root test value. Everything
//! else is differential against alloy (alloy-consensus receipt envelopes of every type and its
//! receipts root, alloy-trie's proof verifier, alloy-consensus `Header` encoding and hash).

#![allow(clippy::unwrap_used)]

use alloy_consensus::proofs::calculate_receipt_root;
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Eip658Value, Header, Receipt as AlloyReceipt,
    ReceiptEnvelope, TxReceipt,
};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B64, B256, Bloom as AlloyBloom, Bytes, Log as AlloyLog, U256};
use alloy_trie::Nibbles;
use causeway_proofs::bundle::{ChainFamily, NativeProof};
use causeway_proofs::evm::{
    EMPTY_ROOT, EvmSourceProof, MAX_PROOF_NODES, ReceiptProof, ReceiptTrie, TxType, decode_header,
    decode_receipt, dispatch_topic0, encode_dispatch_data, header_hash, receipt_key, receipts_root,
};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, Error, EvmAddress, Hash32, Message, Nonce};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn h32(s: &str) -> Hash32 {
    s.parse().unwrap()
}

// ---- Published values ------------------------------------------------------------------------

// Mainnet block 19,432,673 (Cancun), transaction 8 (a LINK transfer), from vlayer-xyz/monorepo
// ethereum/circuits/lib/src/fixtures/mainnet/cancun/small_block/: header.nr (stored version
// 566191fe: block hash, receipts root, header RLP of 601 bytes), receipt.nr (1f6e07e6) and
// receipt_proof.nr (15811375: the two branch nodes and the leaf), zero padding removed.
const BLOCK_19432673_HASH: &str =
    "0x7306134ec4774f63f023a641c25fcf11f9625cfe5dcb1c29cdd13732e4a583aa";
const BLOCK_19432673_RECEIPTS_ROOT: &str =
    "0xf470a81ee134b6d421ae6e46c7fa53760571e50c6bf6db0fafe8ccd20e1256dc";
const BLOCK_19432673_HEADER: &str = "f90256a01a92e56fecc003df22483edae9df2c162d4cefb4a0021507d77474b85eaa011aa01dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d4934794229b8325bb9ac04602898b7e8989998710235d5fa0292508fa90c87a73e7ad2a64380bc8b209ed07d4aa9087ef2dbca4365d640b69a0072ea72725b7bc3693f41fe5e07d8109918c02fc76a125fa6e25c8f9acb68958a0f470a81ee134b6d421ae6e46c7fa53760571e50c6bf6db0fafe8ccd20e1256dcb901000020000000000020020000008000100000820004000002000200000002000004000000004000000002000002080000001200000108202040000000200020000000000418000100184900000800008024000000000040000010000040c0204000000000010000200004008003010000000000200000000400808000100008000000000100000200800000000000000000000000010800008800000040800000000200000000000000400000000800800000000000000000000000000080000000000000020410004000000000001800040000000000001010010080820000000000142000000000400100000100000000000010040000204000010000020800008084012884e18401c9c380830abc878465f2d20790492063616e2068617a20626c6f636b3fa0a32c17db8cce6069c09f259c48f9685eb2490edfb0b78a2a5f2ea3fc4a0fb3e9880000000000000000850b252c2981a0d3d07be0060cb1457f82e14b7682728af5ee8fcd95c08517ba59173babe35d568080a0b2c1b0e6281bbc96d8d1645f10a07b4ab315696e851f77faeca3ef8727c10938";
const BLOCK_19432673_PROOF: [&str; 3] = [
    "f851a041263a0a46ddf1b1304bcaba8eb7d275d3489526f91e4841d97d424680395bab80808080808080a037a61bd17ff773410b42b60a3f46f193ea9f46bd9d8ab359d0c335444fbeb2598080808080808080",
    "f9015180a0b739771d144c34aac1de52a969f8683cf4a8fa6932500d9a947e2172a7b3097fa0bbe658f23567bb192b2870a18e4840feb2fb06054aa13f57181db1550b310f95a0523b3fc4525079e73f3521e45c64300d8f2de9483e45ee299070c506ddce5680a03c50477cbb06b3ebf9ab5ee7e008cd6d2fc4e4caa56cc03815730a90f732bf4ba0252251be431be39facd0c4a465118a1c0d2cae9c497c14e3ecd099c9ba4e43eca0626d9fb8668e391eedc2d3ac2023bc2611479a316b6916022198d6ddd91710fea087ba6dd587e34e986cfb48ded123281f3bccd5108e3eeb04839126c7d96a8f56a0fb8140b05b00881ae897564bfe835142093460fb282967ce3ea4b2cf9de3488aa066c2bb326f55a443129c78e022b6b793ee5a0e992233c1667b453cc97a9a1f2ca08847e518b3f27bedc7ef6a0a07a087eb396e48f19d803b62b0912217bb3c7568808080808080",
    "f901af20b901ab02f901a701830a17e1b9010000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001040000008000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000010000000000000000000020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002000000400000000000000004000000000000100000000000000000000000000000000000000000000000000000000000000000000000000002000000f89df89b94514910771af9ca656af840dff83e8264ecf986caf863a0ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3efa0000000000000000000000000fa4d81487ece32e95ae2bee5fc860f189fe163d8a0000000000000000000000000125f660239707c9de3462d3fa633f2723ad0b884a000000000000000000000000000000000000000000000003f44127fb43fa10000",
];

/// The receipt is the value of the proof's leaf (after `f901af 20 b901ab`).
fn block_19432673_receipt() -> Vec<u8> {
    h(BLOCK_19432673_PROOF[2])[7..].to_vec()
}

fn block_19432673_receipt_proof() -> ReceiptProof {
    ReceiptProof {
        block_hash: Some(h32(BLOCK_19432673_HASH)),
        receipts_root: h32(BLOCK_19432673_RECEIPTS_ROOT),
        tx_index: 8,
        receipt: block_19432673_receipt(),
        nodes: BLOCK_19432673_PROOF.iter().map(|n| h(n)).collect(),
    }
}

#[test]
fn mainnet_cancun_header_hash_and_fields() {
    let raw = h(BLOCK_19432673_HEADER);
    assert_eq!(raw.len(), 601);
    assert_eq!(header_hash(&raw), h32(BLOCK_19432673_HASH));
    let header = decode_header(&raw).unwrap();
    assert_eq!(header.number, 19_432_673);
    assert_eq!(header.receipts_root, h32(BLOCK_19432673_RECEIPTS_ROOT));
    assert_eq!(
        header.parent_hash,
        h32("0x1a92e56fecc003df22483edae9df2c162d4cefb4a0021507d77474b85eaa011a")
    );
    assert_eq!(
        header.state_root,
        h32("0x292508fa90c87a73e7ad2a64380bc8b209ed07d4aa9087ef2dbca4365d640b69")
    );
    assert_eq!(header.field_count, 20, "Cancun headers have 20 fields");
    assert_eq!(header.hash, h32(BLOCK_19432673_HASH));
    assert_eq!(header.raw, raw);
    // Differential: alloy decodes the same header to the same hash and fields.
    let alloy: Header = alloy_rlp::Decodable::decode(&mut raw.as_slice()).unwrap();
    assert_eq!(alloy.hash_slow().0, header.hash.0);
    assert_eq!(alloy.gas_used, header.gas_used);
    assert_eq!(alloy.timestamp, header.timestamp);
}

#[test]
fn mainnet_cancun_receipt_proof_verifies() {
    let proof = block_19432673_receipt_proof();
    proof.verify(&h32(BLOCK_19432673_RECEIPTS_ROOT)).unwrap();
    // Same with alloy-trie's verifier.
    let nodes: Vec<Bytes> = proof.nodes.iter().map(|n| Bytes::from(n.clone())).collect();
    alloy_trie::proof::verify_proof(
        B256::from(h32(BLOCK_19432673_RECEIPTS_ROOT).0),
        Nibbles::unpack(receipt_key(8)),
        Some(proof.receipt.clone()),
        &nodes,
    )
    .unwrap();
    // receipt.nr: type 2, status 1, cumulative gas 661473, one LINK Transfer log.
    let receipt = decode_receipt(&proof.receipt).unwrap();
    assert_eq!(receipt.tx_type, TxType::Eip1559);
    assert!(receipt.status);
    assert_eq!(receipt.cumulative_gas_used, 661_473);
    assert_eq!(receipt.logs.len(), 1);
    let log = &receipt.logs[0];
    assert_eq!(
        log.address,
        "0x514910771af9ca656af840dff83e8264ecf986ca"
            .parse()
            .unwrap()
    );
    assert_eq!(
        log.topics[0],
        keccak256(b"Transfer(address,address,uint256)")
    );
    assert_eq!(receipt.encode(), proof.receipt);
    // The proof for index 8 is not one for any other index.
    for other in [0, 7, 9, 0x80, 0x88] {
        let mut p = proof.clone();
        p.tx_index = other;
        assert!(p.verify(&h32(BLOCK_19432673_RECEIPTS_ROOT)).is_err());
    }
}

#[test]
fn mainnet_cancun_source_chain_checks_up_to_the_log() {
    // A real block, header and receipt: every link holds until the event checks, where a
    // LINK Transfer (3 topics) is not a Dispatch (4 topics).
    let source = EvmSourceProof {
        header: h(BLOCK_19432673_HEADER),
        receipt_proof: block_19432673_receipt_proof(),
        log_index_in_receipt: 0,
        transaction_proof: None,
    };
    let link: EvmAddress = "0x514910771af9ca656af840dff83e8264ecf986ca"
        .parse()
        .unwrap();
    let transfer = keccak256(b"Transfer(address,address,uint256)");
    assert_eq!(
        source.verify(&h32(BLOCK_19432673_HASH), &link, &transfer, b"x"),
        Err(Error::LogTopicCount {
            expected: 4,
            actual: 3
        })
    );
    assert!(matches!(
        source.verify(
            &h32(BLOCK_19432673_HASH),
            &EvmAddress([1; 20]),
            &transfer,
            b"x"
        ),
        Err(Error::LogEmitterMismatch { .. })
    ));
    assert_eq!(source.decode_header().unwrap().number, 19_432_673);
}

// Mainnet block 17,819,525 (Shanghai): fields of eth_getBlockByNumber("0x10FE785"), hash as on
// https://etherscan.io/block/17819525 (copied from a public Rust test, `test_block_17819525`,
// that asserts the same hash). Encoded with alloy's `Header`, decoded and hashed by ours.
#[test]
fn mainnet_shanghai_header_hash() {
    let header = Header {
        parent_hash: B256::from_slice(&h(
            "57788a1d18e41704faafe17649d735efa2654e648707246ae78071654db64363",
        )),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: Address::from_slice(&h("95222290dd7278aa3ddd389cc1e1d165cc4bafe5")),
        state_root: B256::from_slice(&h(
            "3befce142543d32f9a4aa209d76361a9f14e307c9f3b347a01c3c9cf194f8dcc",
        )),
        transactions_root: B256::from_slice(&h(
            "921355a0945f1861fbd6581db1df0b4f59a7937aef800db27b2ceb09a2e63e6f",
        )),
        receipts_root: B256::from_slice(&h(
            "65c4e84c69c03bf12c42643cf15b55775a4c62bd7d728a3b641f66673b3b51a2",
        )),
        logs_bloom: AlloyBloom::from_slice(&h(
            "a36710b1555713853e7c2974af0c5281a2e00270c6bd6020924118016073a543d1609be18c0e068cd1051f2a8ac5319cde07442f8a83ea135336b6b2c82c22a4ec28c49e48440879c8a7419f732832a28c41248527c48936f82006e790731b41da0174ac0219945b0428d1b401b03c15b1db4242a9d9249696745e1711de3100c88783d206dc1922025446f661262c1e049654d3c53924486ead407804de343aa2ac2ce4de8034502e1954c18083948b0d3a44ea9a2c12ac29f198671a1b425d31360812580ecc538301b3850d3ef60026f4aa43342aab191828694a0891f57866302f08d4672408024786b47c22c542a47cf170af40c8412003a80202c97663",
        )),
        difficulty: U256::ZERO,
        number: 0x10fe785,
        gas_limit: 0x1c9c380,
        gas_used: 0xec8823,
        timestamp: 0x64c8dcf7,
        extra_data: Bytes::from(b"beaverbuild.org".to_vec()),
        mix_hash: B256::from_slice(&h(
            "b3941446d0aa46c87a1117565c922e00e4f4111c602a2583d9a7d25521b0f932",
        )),
        nonce: B64::ZERO,
        base_fee_per_gas: Some(0x65a3cb387),
        withdrawals_root: Some(B256::from_slice(&h(
            "5d908bbdb4303d3be4ec0565005a0bc4ca3ad820143fba16351f1d7fb4dfbfe9",
        ))),
        ..Header::default()
    };
    let raw = alloy_rlp::encode(&header);
    let expected = h32("0xef6f592b69bceca6bf801f0b32a0173007e4e6e9f375c49841c18eacbb5c37ff");
    assert_eq!(header_hash(&raw), expected);
    let decoded = decode_header(&raw).unwrap();
    assert_eq!(decoded.number, 17_819_525);
    assert_eq!(decoded.field_count, 17, "Shanghai headers have 17 fields");
    assert_eq!(
        decoded.receipts_root,
        h32("0x65c4e84c69c03bf12c42643cf15b55775a4c62bd7d728a3b641f66673b3b51a2")
    );
    assert_eq!(decoded.beneficiary.0, header.beneficiary.0.0);
}

// reth crates/primitives proofs.rs `check_receipt_root`: one EIP-2930 receipt (success,
// cumulative gas 102068, one log from the zero address with no topics and no data, and the
// test's bloom whose last bit only is set) has receipts root fe70ae4a….
#[test]
fn reth_published_receipts_root() {
    let mut bloom = [0u8; 256];
    bloom[255] = 1;
    let receipt = causeway_proofs::evm::Receipt {
        tx_type: TxType::Eip2930,
        status: true,
        cumulative_gas_used: 102_068,
        logs_bloom: causeway_proofs::evm::Bloom(bloom),
        logs: vec![causeway_proofs::evm::Log {
            address: EvmAddress([0; 20]),
            topics: vec![],
            data: vec![],
        }],
    };
    let encoded = receipt.encode();
    assert_eq!(
        receipts_root(&[&encoded]),
        h32("0xfe70ae4a136d98944951b2123859698d59ad251a381abc9960fa81cae3d0d4a0")
    );
    assert_eq!(decode_receipt(&encoded).unwrap(), receipt);
}

#[test]
fn empty_block_receipts_root() {
    let none: [Vec<u8>; 0] = [];
    assert_eq!(receipts_root(&none), EMPTY_ROOT);
    assert_eq!(EMPTY_ROOT.0, EMPTY_ROOT_HASH.0);
    assert!(matches!(
        ReceiptProof::build(&none, 0),
        Err(Error::ReceiptIndexOutOfRange {
            index: 0,
            receipts: 0
        })
    ));
}

// ---- Synthesized blocks, differential against alloy -------------------------------------------

/// A deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

pub(crate) fn alloy_log(address: EvmAddress, topics: &[Hash32], data: &[u8]) -> AlloyLog {
    AlloyLog::new_unchecked(
        Address::from(address.0),
        topics.iter().map(|t| B256::from(t.0)).collect(),
        Bytes::from(data.to_vec()),
    )
}

pub(crate) fn envelope(
    ty: TxType,
    status: bool,
    cumulative: u64,
    logs: Vec<AlloyLog>,
) -> ReceiptEnvelope {
    let receipt = AlloyReceipt {
        status: Eip658Value::Eip658(status),
        cumulative_gas_used: cumulative,
        logs,
    }
    .with_bloom();
    match ty {
        TxType::Legacy => ReceiptEnvelope::Legacy(receipt),
        TxType::Eip2930 => ReceiptEnvelope::Eip2930(receipt),
        TxType::Eip1559 => ReceiptEnvelope::Eip1559(receipt),
        TxType::Eip4844 => ReceiptEnvelope::Eip4844(receipt),
        TxType::Eip7702 => ReceiptEnvelope::Eip7702(receipt),
    }
}

const TYPES: [TxType; 5] = [
    TxType::Legacy,
    TxType::Eip2930,
    TxType::Eip1559,
    TxType::Eip4844,
    TxType::Eip7702,
];

/// A block of `n` receipts of every type, with 0-3 logs of 0-4 topics and up to 300 data bytes.
pub(crate) fn alloy_block(n: usize, seed: u64) -> Vec<ReceiptEnvelope> {
    let mut rng = Rng(seed | 1);
    let mut cumulative = 0;
    (0..n)
        .map(|i| {
            cumulative += 21_000 + rng.below(200_000);
            let logs = (0..rng.below(4))
                .map(|_| {
                    let topics: Vec<Hash32> = (0..rng.below(5))
                        .map(|_| Hash32(rng.bytes(32).try_into().unwrap()))
                        .collect();
                    let len = rng.below(300) as usize;
                    let address = EvmAddress(rng.bytes(20).try_into().unwrap());
                    alloy_log(address, &topics, &rng.bytes(len))
                })
                .collect();
            envelope(TYPES[i % 5], rng.below(8) != 0, cumulative, logs)
        })
        .collect()
}

pub(crate) fn encode_all(envelopes: &[ReceiptEnvelope]) -> Vec<Vec<u8>> {
    envelopes.iter().map(|e| e.encoded_2718()).collect()
}

#[test]
fn receipts_of_every_type_decode_like_alloy() {
    for envelope in alloy_block(60, 7) {
        let bytes = envelope.encoded_2718();
        let ours = decode_receipt(&bytes).unwrap();
        assert_eq!(
            ours.tx_type.type_byte().unwrap_or(0),
            envelope.tx_type() as u8
        );
        assert_eq!(ours.status, envelope.status());
        assert_eq!(ours.cumulative_gas_used, envelope.cumulative_gas_used());
        assert_eq!(ours.logs_bloom.0, envelope.bloom().0.0);
        let logs = envelope.logs();
        assert_eq!(ours.logs.len(), logs.len());
        for (a, b) in ours.logs.iter().zip(logs) {
            assert_eq!(a.address.0, b.address.0.0);
            assert_eq!(a.data, b.data.data.to_vec());
            let topics: Vec<[u8; 32]> = b.topics().iter().map(|t| t.0).collect();
            assert_eq!(a.topics.iter().map(|t| t.0).collect::<Vec<_>>(), topics);
        }
        // Our bloom computation and encoding agree with alloy's, byte for byte.
        assert_eq!(
            causeway_proofs::evm::Bloom::from_logs(&ours.logs),
            ours.logs_bloom
        );
        assert_eq!(ours.encode(), bytes);
    }
}

#[test]
fn pre_byzantium_receipts_are_refused() {
    let receipt = AlloyReceipt {
        status: Eip658Value::PostState(B256::repeat_byte(7)),
        cumulative_gas_used: 1,
        logs: vec![],
    }
    .with_bloom();
    let bytes = ReceiptEnvelope::Legacy(receipt).encoded_2718();
    assert!(matches!(decode_receipt(&bytes), Err(Error::Rlp { .. })));
}

const SIZES: [usize; 6] = [1, 2, 16, 17, 128, 300];

#[test]
fn receipts_roots_match_alloy_and_every_proof_verifies() {
    for (s, &n) in SIZES.iter().enumerate() {
        let envelopes = alloy_block(n, 100 + s as u64);
        let receipts = encode_all(&envelopes);
        let root = receipts_root(&receipts);
        assert_eq!(root.0, calculate_receipt_root(&envelopes).0, "{n} receipts");
        let trie = ReceiptTrie::new(&receipts);
        assert_eq!(trie.root(), root);
        assert_eq!(trie.len(), n);
        for i in 0..n as u64 {
            let proof = trie.proof(i).unwrap();
            proof.verify(&root).unwrap();
            let nodes: Vec<Bytes> = proof.nodes.iter().map(|n| Bytes::from(n.clone())).collect();
            alloy_trie::proof::verify_proof(
                B256::from(root.0),
                Nibbles::unpack(receipt_key(i)),
                Some(receipts[i as usize].clone()),
                &nodes,
            )
            .unwrap();
        }
        assert!(matches!(
            trie.proof(n as u64),
            Err(Error::ReceiptIndexOutOfRange { .. })
        ));
        assert_eq!(
            ReceiptProof::build(&receipts, 0).unwrap(),
            trie.proof(0).unwrap()
        );
    }
}

/// Whether `e` is one of the trie-proof errors.
fn is_mpt_error(e: &Error) -> bool {
    matches!(
        e,
        Error::MptMissingNode { .. }
            | Error::MptNodeHashMismatch { .. }
            | Error::MptMalformedNode { .. }
            | Error::MptUnusedNodes { .. }
            | Error::MptKeyAbsent { .. }
            | Error::MptValueMismatch { .. }
    )
}

/// Every tampering of the proof of receipt `i` fails with a typed error. `all_bytes` flips
/// every byte of every node; otherwise the first, middle and last byte of each.
fn assert_tampering_fails(trie: &ReceiptTrie, receipts: &[Vec<u8>], i: u64, all_bytes: bool) {
    let root = trie.root();
    let proof = trie.proof(i).unwrap();
    let n = receipts.len() as u64;
    // A byte flipped in any node.
    for k in 0..proof.nodes.len() {
        let len = proof.nodes[k].len();
        let positions: Vec<usize> = if all_bytes {
            (0..len).collect()
        } else {
            vec![0, len / 2, len - 1]
        };
        for pos in positions {
            let mut bad = proof.clone();
            bad.nodes[k][pos] ^= 0x80;
            let err = bad.verify(&root).unwrap_err();
            assert!(
                matches!(err, Error::MptNodeHashMismatch { index, .. } if index == k),
                "node {k} byte {pos}: {err:?}"
            );
        }
    }
    // The wrong index, and the proof of i presented as the proof of j (with j's receipt).
    for j in [i.wrapping_sub(1), i + 1, i ^ 0x80, i + 0x100, u64::MAX] {
        if j == i {
            continue;
        }
        let mut bad = proof.clone();
        bad.tx_index = j;
        assert!(is_mpt_error(&bad.verify(&root).unwrap_err()), "index {j}");
        if j < n {
            bad.receipt = receipts[j as usize].clone();
            assert!(is_mpt_error(&bad.verify(&root).unwrap_err()));
            // j's nodes with i's index and receipt.
            let mut swapped = trie.proof(j).unwrap();
            swapped.tx_index = i;
            swapped.receipt = receipts[i as usize].clone();
            assert!(is_mpt_error(&swapped.verify(&root).unwrap_err()));
        }
    }
    // The wrong receipt.
    let mut bad = proof.clone();
    bad.receipt.push(0);
    assert!(matches!(
        bad.verify(&root),
        Err(Error::MptValueMismatch { .. })
    ));
    let mut bad = proof.clone();
    bad.receipt[0] ^= 1;
    assert!(matches!(
        bad.verify(&root),
        Err(Error::MptValueMismatch { .. })
    ));
    // The wrong root: as expected root, and claimed by the proof too.
    let other = Hash32([0x5a; 32]);
    assert!(matches!(
        proof.verify(&other),
        Err(Error::ReceiptsRootMismatch { .. })
    ));
    let mut bad = proof.clone();
    bad.receipts_root = other;
    assert!(matches!(
        bad.verify(&other),
        Err(Error::MptNodeHashMismatch { index: 0, .. })
    ));
    assert_eq!(proof.verify(&Hash32::ZERO), Err(Error::ZeroRoot));
    // Truncated node list, first node dropped, no nodes.
    let mut bad = proof.clone();
    bad.nodes.pop();
    if bad.nodes.is_empty() {
        assert!(matches!(
            bad.verify(&root),
            Err(Error::MptMissingNode { index: 0 })
        ));
    } else {
        assert!(matches!(
            bad.verify(&root),
            Err(Error::MptMissingNode { .. })
        ));
        let mut bad = proof.clone();
        bad.nodes.remove(0);
        assert!(matches!(
            bad.verify(&root),
            Err(Error::MptNodeHashMismatch { index: 0, .. })
        ));
    }
    // Extra nodes: a repeated node, a junk node.
    for extra in [proof.nodes[0].clone(), vec![0xc0]] {
        let mut bad = proof.clone();
        bad.nodes.push(extra);
        assert!(matches!(
            bad.verify(&root),
            Err(Error::MptUnusedNodes { .. })
        ));
    }
}

#[test]
fn every_tampering_fails_with_a_typed_error() {
    for (s, &n) in SIZES.iter().enumerate() {
        let receipts = encode_all(&alloy_block(n, 200 + s as u64));
        let trie = ReceiptTrie::new(&receipts);
        for i in 0..n as u64 {
            assert_tampering_fails(&trie, &receipts, i, false);
        }
    }
    // Every byte of every node, for a few proofs.
    let receipts = encode_all(&alloy_block(17, 3));
    let trie = ReceiptTrie::new(&receipts);
    for i in [0, 1, 15, 16] {
        assert_tampering_fails(&trie, &receipts, i, true);
    }
}

#[test]
fn receipt_proof_json_round_trip_and_limits() {
    let receipts = encode_all(&alloy_block(20, 9));
    let proof = ReceiptProof::build(&receipts, 3)
        .unwrap()
        .with_block_hash(Hash32([9; 32]));
    let json = serde_json::to_string(&proof).unwrap();
    assert!(json.contains("\"receipt\":\"0x"));
    assert!(json.contains("\"block_hash\":\"0x0909"));
    let back: ReceiptProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proof);
    back.verify(&receipts_root(&receipts)).unwrap();

    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["unexpected"] = serde_json::Value::Bool(true);
    assert!(serde_json::from_value::<ReceiptProof>(value).is_err());

    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["nodes"] = serde_json::Value::Array(vec!["0xc0".into(); MAX_PROOF_NODES + 1]);
    let err = serde_json::from_value::<ReceiptProof>(value).unwrap_err();
    assert!(err.to_string().contains("more than"), "{err}");

    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["receipt"] = "0xzz".into();
    assert!(serde_json::from_value::<ReceiptProof>(value).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary nodes, receipt, index and root: never a panic, and never accepted unless the
    /// first node really hashes to the root.
    #[test]
    fn arbitrary_receipt_proofs_never_panic(
        nodes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..6),
        receipt in prop::collection::vec(any::<u8>(), 0..200),
        tx_index in any::<u64>(),
        root in any::<[u8; 32]>(),
    ) {
        let root = Hash32(root);
        let proof = ReceiptProof { block_hash: None, receipts_root: root, tx_index, receipt, nodes };
        if proof.verify(&root).is_ok() {
            prop_assert_eq!(keccak256(&proof.nodes[0]), root);
        }
        if let Some(first) = proof.nodes.first() {
            let rooted = ReceiptProof { receipts_root: keccak256(first), ..proof.clone() };
            let _ = rooted.verify(&keccak256(first));
        }
        let _ = decode_receipt(&proof.receipt);
        let _ = decode_header(&proof.receipt);
    }

    /// Random mutations of a valid proof (byte changes, insertions, deletions, node swaps)
    /// are never accepted.
    #[test]
    fn mutated_proofs_are_rejected(
        i in 0u64..17,
        edits in prop::collection::vec((any::<u8>(), any::<u16>(), any::<u8>(), 0u8..4), 1..4),
    ) {
        let receipts = encode_all(&alloy_block(17, 11));
        let trie = ReceiptTrie::new(&receipts);
        let proof = trie.proof(i).unwrap();
        let mut bad = proof.clone();
        for (node, pos, byte, op) in edits {
            let k = usize::from(node) % bad.nodes.len();
            let len = bad.nodes[k].len();
            let p = usize::from(pos) % (len + 1);
            match op {
                0 if p < len => bad.nodes[k][p] = byte,
                1 => bad.nodes[k].insert(p, byte),
                2 if p < len && len > 1 => { bad.nodes[k].remove(p); }
                _ => { let j = usize::from(byte) % bad.nodes.len(); bad.nodes.swap(k, j); }
            }
        }
        prop_assume!(bad != proof);
        prop_assert!(bad.verify(&trie.root()).is_err());
    }
}

// ---- EvmSourceProof: header -> receipts root -> receipt -> Dispatch log -> message ------------

pub(crate) const OUTBOX: EvmAddress = EvmAddress([0x0b; 20]);
pub(crate) const DISPATCH_INDEX: u64 = 5;

fn word(v: u64) -> Hash32 {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    Hash32(w)
}

pub(crate) fn message() -> Message {
    Message::new(
        Nonce(7),
        Domain(31_337),
        Address32::from(EvmAddress([0xaa; 20])),
        Domain(42),
        Address32::from(EvmAddress([0xbb; 20])),
        b"hello across chains".to_vec(),
    )
    .unwrap()
}

/// The Dispatch log of `message` as an Outbox emits it.
pub(crate) fn dispatch_topics(message: &Message) -> Vec<Hash32> {
    vec![
        dispatch_topic0(),
        message.id().into(),
        word(message.nonce().0),
        word(u64::from(message.destination().0)),
    ]
}

/// A realistic Cancun header committing to `receipts_root`.
pub(crate) fn cancun_header(receipts_root: Hash32) -> Header {
    Header {
        parent_hash: B256::repeat_byte(0x11),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: Address::repeat_byte(0x22),
        state_root: B256::repeat_byte(0x33),
        transactions_root: B256::repeat_byte(0x44),
        receipts_root: B256::from(receipts_root.0),
        logs_bloom: AlloyBloom::repeat_byte(0x01),
        difficulty: U256::ZERO,
        number: 21_000_000,
        gas_limit: 36_000_000,
        gas_used: 12_345_678,
        timestamp: 1_735_000_000,
        extra_data: Bytes::from_static(b"causeway devnet"),
        mix_hash: B256::repeat_byte(0x55),
        nonce: B64::ZERO,
        base_fee_per_gas: Some(7_000_000_000),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(131_072),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::repeat_byte(0x66)),
        requests_hash: None,
    }
}

/// A 12-receipt block whose receipt 5 holds, as its second log, `dispatch` emitted by
/// `emitter` (its first log is an unrelated transfer), with `status`.
fn source_proof_with(
    emitter: EvmAddress,
    topics: &[Hash32],
    data: &[u8],
    status: bool,
) -> (EvmSourceProof, Hash32) {
    let mut envelopes = alloy_block(12, 77);
    let transfer = alloy_log(
        EvmAddress([0xcc; 20]),
        &[keccak256(b"Transfer(address,address,uint256)")],
        &[1; 32],
    );
    envelopes[DISPATCH_INDEX as usize] = envelope(
        TxType::Eip1559,
        status,
        1_000_000,
        vec![transfer, alloy_log(emitter, topics, data)],
    );
    let receipts = encode_all(&envelopes);
    let root = receipts_root(&receipts);
    let header = cancun_header(root);
    let raw = alloy_rlp::encode(&header);
    let block_hash = Hash32(header.hash_slow().0);
    let proof = EvmSourceProof {
        header: raw,
        receipt_proof: ReceiptProof::build(&receipts, DISPATCH_INDEX)
            .unwrap()
            .with_block_hash(block_hash),
        log_index_in_receipt: 1,
        transaction_proof: None,
    };
    (proof, block_hash)
}

fn honest_source_proof() -> (EvmSourceProof, Hash32, Vec<u8>) {
    let m = message();
    let bytes = m.encode();
    let (proof, hash) = source_proof_with(
        OUTBOX,
        &dispatch_topics(&m),
        &encode_dispatch_data(&bytes),
        true,
    );
    (proof, hash, bytes)
}

#[test]
fn source_proof_accepts_the_honest_chain() {
    let (proof, block_hash, bytes) = honest_source_proof();
    proof
        .verify(&block_hash, &OUTBOX, &dispatch_topic0(), &bytes)
        .unwrap();
    // Our header hash and decoding agree with alloy's on a Cancun header.
    assert_eq!(header_hash(&proof.header), block_hash);
    let header = proof.decode_header().unwrap();
    assert_eq!(header.number, 21_000_000);
    assert_eq!(header.field_count, 20);
    assert_eq!(header.parent_hash, Hash32([0x11; 32]));
    assert_eq!(header.receipts_root, proof.receipt_proof.receipts_root);
    // As a bundle's native proof, and back.
    let native = proof.to_native_proof().unwrap();
    assert_eq!(native.family, ChainFamily::Evm);
    let text = serde_json::to_string(&native).unwrap();
    let back: NativeProof = serde_json::from_str(&text).unwrap();
    let back = EvmSourceProof::from_native_proof(&back).unwrap();
    assert_eq!(back, proof);
    back.verify(&block_hash, &OUTBOX, &dispatch_topic0(), &bytes)
        .unwrap();
    let fabric = NativeProof {
        family: ChainFamily::Fabric,
        data: native.data.clone(),
    };
    assert!(matches!(
        EvmSourceProof::from_native_proof(&fabric),
        Err(Error::Decode { .. })
    ));
    // The same proof without the informative block label still verifies.
    let mut unlabelled = proof.clone();
    unlabelled.receipt_proof.block_hash = None;
    unlabelled
        .verify(&block_hash, &OUTBOX, &dispatch_topic0(), &bytes)
        .unwrap();
}

#[test]
fn source_proof_rejects_each_broken_link() {
    let (proof, block_hash, bytes) = honest_source_proof();
    let topic0 = dispatch_topic0();

    // Wrong outbox (the verifier trusts another contract).
    assert_eq!(
        proof.verify(&block_hash, &EvmAddress([0x0c; 20]), &topic0, &bytes),
        Err(Error::LogEmitterMismatch {
            expected: EvmAddress([0x0c; 20]),
            actual: OUTBOX
        })
    );
    // Wrong event signature.
    let other_topic = keccak256(b"Dispatch(bytes32,uint64,uint32,bytes32)");
    assert!(matches!(
        proof.verify(&block_hash, &OUTBOX, &other_topic, &bytes),
        Err(Error::LogTopicMismatch { position: 0, .. })
    ));
    // Other message bytes.
    let mut other = message().encode();
    *other.last_mut().unwrap() ^= 1;
    assert!(matches!(
        proof.verify(&block_hash, &OUTBOX, &topic0, &other),
        Err(Error::EventDataMismatch { .. })
    ));
    // Header hash mismatch: another block's hash, or a tampered header.
    assert!(matches!(
        proof.verify(&Hash32([0x77; 32]), &OUTBOX, &topic0, &bytes),
        Err(Error::BlockHashMismatch { .. })
    ));
    let mut bad = proof.clone();
    let last = bad.header.len() - 1;
    bad.header[last] ^= 1;
    assert!(matches!(
        bad.verify(&block_hash, &OUTBOX, &topic0, &bytes),
        Err(Error::BlockHashMismatch { .. })
    ));
    // A receipt proof labelled with another block.
    let mut bad = proof.clone();
    bad.receipt_proof.block_hash = Some(Hash32([0x78; 32]));
    assert!(matches!(
        bad.verify(&block_hash, &OUTBOX, &topic0, &bytes),
        Err(Error::BlockHashMismatch { .. })
    ));
    // A trusted header of another block (other receipts root).
    let other_header = cancun_header(Hash32([0x99; 32]));
    let mut bad = proof.clone();
    bad.header = alloy_rlp::encode(&other_header);
    bad.receipt_proof.block_hash = None;
    let other_hash = Hash32(other_header.hash_slow().0);
    assert!(matches!(
        bad.verify(&other_hash, &OUTBOX, &topic0, &bytes),
        Err(Error::ReceiptsRootMismatch { .. })
    ));
    // The log index: out of range, or the unrelated first log.
    let mut bad = proof.clone();
    bad.log_index_in_receipt = 2;
    assert_eq!(
        bad.verify(&block_hash, &OUTBOX, &topic0, &bytes),
        Err(Error::LogIndexOutOfRange { index: 2, logs: 2 })
    );
    bad.log_index_in_receipt = 0;
    assert!(matches!(
        bad.verify(&block_hash, &OUTBOX, &topic0, &bytes),
        Err(Error::LogEmitterMismatch { .. })
    ));
    // A tampered receipt (its proof no longer holds).
    let mut bad = proof.clone();
    let at = bad.receipt_proof.receipt.len() - 40;
    bad.receipt_proof.receipt[at] ^= 1;
    assert!(matches!(
        bad.verify(&block_hash, &OUTBOX, &topic0, &bytes),
        Err(Error::MptValueMismatch { .. })
    ));
}

#[test]
fn source_proof_rejects_failed_and_inconsistent_events() {
    let m = message();
    let bytes = m.encode();
    let data = encode_dispatch_data(&bytes);
    let topics = dispatch_topics(&m);
    let topic0 = dispatch_topic0();

    // The transaction reverted.
    let (proof, hash) = source_proof_with(OUTBOX, &topics, &data, false);
    assert_eq!(
        proof.verify(&hash, &OUTBOX, &topic0, &bytes),
        Err(Error::ReceiptFailed {
            tx_index: DISPATCH_INDEX
        })
    );
    // A look-alike contract emitting an identical event.
    let (proof, hash) = source_proof_with(EvmAddress([0x0d; 20]), &topics, &data, true);
    assert!(matches!(
        proof.verify(&hash, &OUTBOX, &topic0, &bytes),
        Err(Error::LogEmitterMismatch { .. })
    ));
    // Indexed topics that disagree with the message: id, nonce, destination.
    for position in 1..4 {
        let mut wrong = topics.clone();
        wrong[position].0[31] ^= 1;
        let (proof, hash) = source_proof_with(OUTBOX, &wrong, &data, true);
        assert!(
            matches!(
                proof.verify(&hash, &OUTBOX, &topic0, &bytes),
                Err(Error::LogTopicMismatch { position: p, .. }) if p == position
            ),
            "topic {position}"
        );
    }
    // A missing indexed topic.
    let (proof, hash) = source_proof_with(OUTBOX, &topics[..3], &data, true);
    assert_eq!(
        proof.verify(&hash, &OUTBOX, &topic0, &bytes),
        Err(Error::LogTopicCount {
            expected: 4,
            actual: 3
        })
    );
    // Data that is not abi.encode(bytes): the raw message, and non-zero padding.
    let (proof, hash) = source_proof_with(OUTBOX, &topics, &bytes, true);
    assert!(matches!(
        proof.verify(&hash, &OUTBOX, &topic0, &bytes),
        Err(Error::EventDataMismatch { .. })
    ));
    let mut padded = data.clone();
    *padded.last_mut().unwrap() = 1;
    let (proof, hash) = source_proof_with(OUTBOX, &topics, &padded, true);
    assert!(matches!(
        proof.verify(&hash, &OUTBOX, &topic0, &bytes),
        Err(Error::EventDataMismatch { .. })
    ));
}
