//! The FISCO BCOS test node over its JSON-RPC, in both crypto modes: transactions are admitted
//! only with a signature of the chain's mode, Outbox messages come back in receipts whose proofs
//! and sealed headers verify with `causeway_proofs::fisco`, and the node's faults (too few
//! sealers, forged proofs) produce data a verifier refuses.

use alloy::sol_types::{SolCall, SolConstructor};
use alloy::transports::http::reqwest::Client;
use causeway_devnet::contracts::Artifact;
use causeway_devnet::contracts::bindings::Outbox;
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_proofs::EvmAddress;
use causeway_proofs::fisco::json::{BlockJson, ReceiptJson};
use causeway_proofs::fisco::{
    CryptoMode, FiscoError, FiscoSourceProof, NodeSecret, SealerSet, Transaction, TransactionData,
};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};

async fn rpc(client: &Client, node: &FiscoNode, method: &str, params: Value) -> Value {
    let response: Value = client
        .post(node.endpoint())
        .json(&json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}))
        .send()
        .await
        .expect("node answers")
        .json()
        .await
        .expect("JSON");
    response
}

fn signed(node: &FiscoNode, secret: &NodeSecret, to: &str, input: Vec<u8>) -> Transaction {
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let data = TransactionData {
        chain_id: node.chain_id().to_owned(),
        group_id: node.group().to_owned(),
        block_limit: node.block_number() + 500,
        nonce: u128::from_be_bytes(nonce).to_string(),
        to: to.to_owned(),
        input,
        ..TransactionData::default()
    };
    Transaction::sign(data, secret, &mut OsRng).expect("signs")
}

async fn deploy_outbox(node: &FiscoNode, secret: &NodeSecret) -> String {
    let artifact = Artifact::load("Outbox").expect("artifact");
    let mut code = artifact.bytecode.to_vec();
    code.extend_from_slice(&Outbox::constructorCall { localDomain_: 3001 }.abi_encode()[..]);
    let receipt = node
        .submit(signed(node, secret, "", code))
        .await
        .expect("deployed");
    assert_eq!(receipt.status, 0);
    receipt.contract_address.trim_start_matches("0x").to_owned()
}

fn dispatch_input(n: u8) -> Vec<u8> {
    Outbox::dispatchCall {
        destination: 3002,
        recipient: [n; 32].into(),
        body: vec![n; 40].into(),
    }
    .abi_encode()
}

async fn proof_of(client: &Client, node: &FiscoNode, tx_hash: &str) -> FiscoSourceProof {
    let receipt = rpc(
        client,
        node,
        "getTransactionReceipt",
        json!(["group0", "", tx_hash, true]),
    )
    .await;
    let receipt: ReceiptJson = serde_json::from_value(receipt["result"].clone()).expect("receipt");
    let block = rpc(
        client,
        node,
        "getBlockByNumber",
        json!(["group0", "", receipt.block_number, true, false]),
    )
    .await;
    let block: BlockJson = serde_json::from_value(block["result"].clone()).expect("block");
    FiscoSourceProof { block, receipt }
}

fn address(text: &str) -> EvmAddress {
    let mut a = [0u8; 20];
    hex::decode_to_slice(text, &mut a).expect("40 hex digits");
    EvmAddress(a)
}

#[tokio::test]
async fn fisco_node_serves_provable_outbox_messages_in_both_modes() {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let node = FiscoNode::start(FiscoNodeConfig::new(mode))
            .await
            .expect("starts");
        let client = Client::new();
        let user = NodeSecret::generate(mode, &mut OsRng);
        let outbox = deploy_outbox(&node, &user).await;
        let sealers = SealerSet::new(mode, node.sealer_keys()).expect("four sealers");

        // Three dispatches sent at once land in one block of three receipts (a multi-leaf tree).
        let sends = (1..=3u8).map(|n| {
            let tx = signed(&node, &user, &outbox, dispatch_input(n));
            let client = client.clone();
            let node = &node;
            async move {
                let hex_tx = format!("0x{}", hex::encode(tx.encode()));
                rpc(
                    &client,
                    node,
                    "sendTransaction",
                    json!(["group0", "", hex_tx, false]),
                )
                .await
            }
        });
        let results = futures_util::future::join_all(sends).await;
        let mut hashes = Vec::new();
        for r in &results {
            assert_eq!(r["result"]["status"], 0, "{mode}: {r}");
            hashes.push(
                r["result"]["transactionHash"]
                    .as_str()
                    .expect("hash")
                    .to_owned(),
            );
        }
        for hash in &hashes {
            let proof = proof_of(&client, &node, hash).await;
            let verified = proof.verify(&sealers, &address(&outbox)).expect("proven");
            assert_eq!(verified.messages.len(), 1, "{mode}");
        }

        // getTransaction with proof: the hash is proven under the txs root.
        let tx = rpc(
            &client,
            &node,
            "getTransaction",
            json!(["group0", "", hashes[0], true]),
        )
        .await;
        assert_eq!(tx["result"]["hash"], hashes[0].as_str());

        // A signature of the other mode is refused at admission.
        let other = match mode {
            CryptoMode::Ecdsa => CryptoMode::Sm,
            CryptoMode::Sm => CryptoMode::Ecdsa,
        };
        let stranger = NodeSecret::generate(other, &mut OsRng);
        let wrong = signed(&node, &stranger, &outbox, dispatch_input(9));
        let r = rpc(
            &client,
            &node,
            "sendTransaction",
            json!([
                "group0",
                "",
                format!("0x{}", hex::encode(wrong.encode())),
                false
            ]),
        )
        .await;
        assert_eq!(r["error"]["code"], 10008, "{mode}: {r}");

        // Blocks sealed by two of four sealers are refused by a verifier.
        node.set_signing_sealers(Some(2));
        let r = node
            .submit(signed(&node, &user, &outbox, dispatch_input(4)))
            .await
            .expect("sealed");
        let proof = proof_of(&client, &node, &r.transaction_hash).await;
        assert!(matches!(
            proof.verify(&sealers, &address(&outbox)),
            Err(FiscoError::BelowQuorum {
                signed: 2,
                quorum: 3,
                ..
            })
        ));
        node.set_signing_sealers(None);

        // A forged receipt proof (another receipt's) is refused.
        node.set_forge_receipt_proofs(true);
        let proof = proof_of(&client, &node, &hashes[0]).await;
        assert!(proof.verify(&sealers, &address(&outbox)).is_err());
        node.set_forge_receipt_proofs(false);

        // `call` reads state: the Outbox's nonce is 4.
        let r = rpc(
            &client,
            &node,
            "call",
            json!([
                "group0",
                "",
                outbox,
                format!("0x{}", hex::encode(Outbox::nonceCall {}.abi_encode()))
            ]),
        )
        .await;
        assert_eq!(r["result"]["status"], 0);
        let output = r["result"]["output"].as_str().expect("hex");
        assert!(output.ends_with('4'), "{output}");
    }
}
