//! The Solidity `PrivateMessage` library against `causeway_privacy` (issue 12): a field
//! disclosed from a really sealed envelope verifies on chain against the message commitment;
//! a tampered value, salt, index or path, another tree size, or another message's commitment
//! does not.

use alloy::primitives::{B256, Bytes};
use causeway_devnet::contracts::Artifact;
use causeway_devnet::{CHAIN_B, DevChain};
use causeway_privacy::disclosure::{self, DisclosedField, Padding};
use causeway_privacy::envelope::{self, EnvelopeContext, SealRequest};
use causeway_privacy::keys::KeyPair;
use causeway_proofs::Domain;
use causeway_proofs::message::{Address32, Nonce};

alloy::sol! {
    #[sol(rpc)]
    contract PrivateMessageHarness {
        struct Commitment {
            uint32 origin;
            uint32 destination;
            uint64 nonce;
            bytes32 sender;
            bytes32 envelopeDigest;
            bytes32 disclosureRoot;
            uint64 disclosureLeaves;
        }
        struct Field {
            bytes32 salt;
            bytes name;
            bytes value;
            uint64 index;
            bytes32[] path;
        }
        function commitment(Commitment calldata c) external pure returns (bytes32);
        function leafData(Field calldata f) external pure returns (bytes32);
        function verifyField(bytes32 onChain, Commitment calldata c, Field calldata f)
            external view returns (bool);
    }
}

fn field(f: &DisclosedField) -> PrivateMessageHarness::Field {
    PrivateMessageHarness::Field {
        salt: B256::from(*f.salt.as_bytes()),
        name: Bytes::from(f.name.clone().into_bytes()),
        value: Bytes::from(disclosure::canonical_json(&f.value).unwrap()),
        index: f.proof.index.0,
        path: f.proof.path.iter().map(|h| B256::from(h.0)).collect(),
    }
}

#[tokio::test]
async fn a_disclosed_field_verifies_on_chain_against_the_message_commitment() {
    let chain = DevChain::start(CHAIN_B).await.unwrap();
    let address = Artifact::load("PrivateMessageHarness")
        .unwrap()
        .deploy(&chain.provider, &[])
        .await
        .unwrap();
    let harness = PrivateMessageHarness::new(address, chain.provider.clone());

    let context = EnvelopeContext {
        origin: Domain(31337),
        destination: Domain(1),
        nonce: Nonce(42),
        sender: Address32([0x5e; 32]),
    };
    let reader = KeyPair::generate();
    let (_, sealed, tree) = envelope::seal_json(
        &SealRequest {
            context,
            recipients: &[*reader.public_key()],
        },
        r#"{"amount": "1250.00", "buyer": "Org B", "rate": 1.5, "paid": false, "to": "Org A",
            "items": [{"sku": "X1", "qty": 3}]}"#,
        Padding::PowerOfTwo,
    )
    .unwrap();
    let anchored = sealed
        .disclose(&tree, &["amount", "items", "rate"])
        .unwrap();
    let on_chain = B256::from(sealed.commitment.0);
    let c = PrivateMessageHarness::Commitment {
        origin: 31337,
        destination: 1,
        nonce: 42,
        sender: B256::from([0x5e; 32]),
        envelopeDigest: B256::from(sealed.inputs.envelope_digest.0),
        disclosureRoot: B256::from(sealed.inputs.disclosure_root.0),
        disclosureLeaves: sealed.inputs.disclosure_leaves,
    };
    assert_eq!(sealed.inputs.disclosure_leaves, 8);
    assert_eq!(
        harness.commitment(c.clone()).call().await.unwrap(),
        on_chain
    );

    for f in &anchored.disclosure.fields {
        let good = field(f);
        let leaf = disclosure::leaf_data(&f.salt, &f.name, &f.value).unwrap();
        assert_eq!(
            harness.leafData(good.clone()).call().await.unwrap(),
            B256::from(leaf.0)
        );
        assert!(
            harness
                .verifyField(on_chain, c.clone(), good.clone())
                .call()
                .await
                .unwrap(),
            "{}",
            f.name
        );

        // Tampered disclosures fail on chain as offline.
        let mut bad = good.clone();
        bad.value = Bytes::from(b"\"9999.00\"".to_vec());
        let mut salt = bad.salt;
        salt.0[0] ^= 1;
        let mut wrong_salt = good.clone();
        wrong_salt.salt = salt;
        let mut wrong_index = good.clone();
        wrong_index.index ^= 1;
        let mut wrong_path = good.clone();
        wrong_path.path[0].0[31] ^= 1;
        let mut short_path = good.clone();
        short_path.path.pop();
        for (what, f) in [
            ("value", bad),
            ("salt", wrong_salt),
            ("index", wrong_index),
            ("path", wrong_path),
            ("short path", short_path),
        ] {
            assert!(
                !harness
                    .verifyField(on_chain, c.clone(), f)
                    .call()
                    .await
                    .unwrap(),
                "{what}"
            );
        }
        // The tree size is the commitment's: another size, or another message, fails.
        for leaves in [0u64, 4, 7, 9, 16] {
            let mut other = c.clone();
            other.disclosureLeaves = leaves;
            assert!(
                !harness
                    .verifyField(on_chain, other, good.clone())
                    .call()
                    .await
                    .unwrap(),
                "{leaves} leaves"
            );
        }
        let mut moved = c.clone();
        moved.nonce = 43;
        assert!(
            !harness
                .verifyField(on_chain, moved, good.clone())
                .call()
                .await
                .unwrap()
        );
    }
    // The offline check agrees.
    anchored
        .verify(&envelope::ExpectedMessage {
            context,
            commitment: sealed.commitment,
        })
        .unwrap();
}
