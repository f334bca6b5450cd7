//! The receipt-hash forgery (docs/fisco.md, "Receipt hash") against the FISCO BCOS adapter,
//! and the client's endpoint failover.
//!
//! A real `AmbiguousLog` contract on the test node emits one log whose bytes, split
//! differently, are an Outbox `Dispatch` of a message the Outbox never sent: the same receipt
//! hash, Merkle proof and seal. The offline proof check cannot tell the two splits apart (shown
//! here, so the forgery is known to be genuine); the source, served the forged split by a node
//! in the middle, asks the `FiscoOutbox` whether it recorded the id and refuses the batch.

use std::sync::Arc;
use std::time::Duration;

use causeway_adapters::fisco::{FiscoRpc, FiscoSource, FiscoSourceConfig};
use causeway_adapters::metrics::{ChainMetrics, MethodClass};
use causeway_adapters::{Cursor, Error, NativeVerifier, ObservedMessage, Source};
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::fisco::{CryptoMode, FiscoSourceProof, NodeSecret, SealerSet};
use causeway_proofs::{Address32, Message, Nonce};
use rand_core::OsRng;

use crate::fisco::{FISCO_DOMAIN, OTHER_DOMAIN, deploy, dispatch};
use crate::proxy::{self, Rewrite};

fn sealers(node: &FiscoNode) -> SealerSet {
    SealerSet::new(node.mode(), node.sealer_keys()).expect("four sealers")
}

fn source_over(
    rpc: FiscoRpc,
    node: &FiscoNode,
    outbox: causeway_proofs::EvmAddress,
) -> FiscoSource {
    FiscoSource::with_rpc(
        FiscoSourceConfig {
            endpoint: String::new(),
            group: "group0".into(),
            domain: FISCO_DOMAIN,
            outbox,
            sealers: sealers(node),
            range: 64,
        },
        rpc,
    )
    .expect("source")
}

/// Every message the source yields from the start to the head.
async fn drain(src: &FiscoSource) -> Result<Vec<ObservedMessage>, Error> {
    let mut cursor = Cursor::Start { height: 0 };
    let mut out = Vec::new();
    loop {
        let batch = src.next_batch(&cursor).await?;
        let done = batch.caught_up();
        out.extend(batch.messages);
        cursor = batch.cursor;
        if done {
            return Ok(out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_forged_from_a_crafted_log_is_refused_and_nothing_is_yielded_in_both_modes() {
    for mode in [CryptoMode::Ecdsa, CryptoMode::Sm] {
        let node = FiscoNode::start(FiscoNodeConfig::new(mode))
            .await
            .expect("node");
        let contracts = node.deploy_causeway(FISCO_DOMAIN).await.expect("contracts");
        let user = NodeSecret::generate(mode, &mut OsRng);
        contracts
            .dispatch(
                &node,
                &user,
                OTHER_DOMAIN,
                [0x11; 20].into(),
                b"genuine".to_vec(),
            )
            .await
            .expect("dispatched");

        // The attacker forges a message "from" a victim account, with a nonce of its choice.
        let victim = Address32([0x77; 32]);
        let forged_message = Message::new(
            Nonce(1),
            FISCO_DOMAIN,
            victim,
            OTHER_DOMAIN,
            Address32([0x66; 32]),
            b"pay the attacker".to_vec(),
        )
        .expect("message");
        let attacker = NodeSecret::generate(mode, &mut OsRng);
        let forgery = contracts
            .forge_dispatch(&node, &attacker, &forged_message)
            .await
            .expect("forged");

        // The forgery is genuine: both splits hash alike, and the offline check accepts the
        // forged one (the limit of FISCO BCOS's receipt hash this defence exists for).
        let genuine = forgery.genuine.receipt().expect("genuine receipt");
        let split = forgery.forged.receipt().expect("forged receipt");
        assert_ne!(genuine, split, "{mode}");
        assert_eq!(genuine.hash(mode), split.hash(mode), "{mode}");
        let proof = FiscoSourceProof {
            block: forgery.block.clone(),
            receipt: forgery.forged.clone(),
        };
        let verified = proof
            .verify(&sealers(&node), &contracts.outbox)
            .expect("the offline check cannot tell the splits apart");
        assert_eq!(verified.messages.len(), 1, "{mode}");
        assert_eq!(verified.messages[0].message, forged_message.encode());
        let observed = ObservedMessage {
            message: forged_message.clone(),
            source: SourceReference {
                block_number: Some(u64::try_from(forgery.block.number).unwrap()),
                block_hash: Some(verified.block_hash),
                transaction_hash: Some(forgery.transaction),
                fabric_tx_id: None,
                event_index: Some(forgery.log_index as u64),
            },
            proof: NativeProof {
                family: ChainFamily::Fisco,
                data: serde_json::to_value(&proof).unwrap(),
            },
        };
        let honest = source_over(
            FiscoRpc::new(node.endpoint(), "group0").unwrap(),
            &node,
            contracts.outbox,
        );
        honest
            .verifier()
            .verify(&observed)
            .expect("offline, the forged split passes: a FISCO BCOS proof alone is not enough");

        // A node in the middle serves the forged split of the attacker's receipt: the source
        // finds no record of the id in the FiscoOutbox and refuses the batch.
        let tx = forgery.transaction.to_hex();
        let forged_json = serde_json::to_value(&forgery.forged).unwrap();
        let rewrite: Rewrite = Arc::new(move |request, mut reply| {
            if request["method"] == "getTransactionReceipt"
                && request["params"][2]
                    .as_str()
                    .is_some_and(|h| h.trim_start_matches("0x") == tx.trim_start_matches("0x"))
            {
                reply["result"] = forged_json.clone();
            }
            reply
        });
        let middle = proxy::start(node.endpoint(), rewrite).await;
        let fooled = source_over(
            FiscoRpc::new(middle.url.clone(), "group0").unwrap(),
            &node,
            contracts.outbox,
        );
        match drain(&fooled).await {
            Err(Error::InvalidNativeProof { reason }) => {
                assert!(reason.contains("no record"), "{mode}: {reason}");
                assert!(
                    reason.contains(&forged_message.id().to_hex()),
                    "{mode}: {reason}"
                );
            }
            other => panic!("{mode}: expected the forged Dispatch refused, got {other:?}"),
        }

        // The same, but the node that answers the read lags behind the block (an endpoint
        // behind the one the block came from): "not recorded" is not believed yet, the source
        // retries later (a retryable error) and accepts nothing meanwhile.
        let tx = forgery.transaction.to_hex();
        let forged_json = serde_json::to_value(&forgery.forged).unwrap();
        let lagging: Rewrite = Arc::new(move |request, mut reply| {
            if request["method"] == "getTransactionReceipt"
                && request["params"][2]
                    .as_str()
                    .is_some_and(|h| h.trim_start_matches("0x") == tx.trim_start_matches("0x"))
            {
                reply["result"] = forged_json.clone();
            }
            if request["method"] == "call" {
                reply["result"]["blockNumber"] = 1.into();
            }
            reply
        });
        let behind = proxy::start(node.endpoint(), lagging).await;
        let waiting = source_over(
            FiscoRpc::new(behind.url.clone(), "group0").unwrap(),
            &node,
            contracts.outbox,
        );
        match drain(&waiting).await {
            Err(e @ Error::MissingData { .. }) => assert!(e.is_retryable(), "{mode}: {e}"),
            other => {
                panic!("{mode}: expected a retryable wait for the lagging node, got {other:?}")
            }
        }

        // The honest node's own split has no Outbox log in the attacker's receipt: the source
        // yields the genuine message only.
        let yielded = drain(&honest).await.expect("honest source");
        let nonces: Vec<u64> = yielded.iter().map(|m| m.message.nonce().0).collect();
        assert_eq!(nonces, vec![0], "{mode}");
        assert_eq!(yielded[0].message.body(), b"genuine");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fisco_source_refuses_an_outbox_that_records_nothing() {
    let node = FiscoNode::start(FiscoNodeConfig::new(CryptoMode::Ecdsa))
        .await
        .expect("node");
    let user = NodeSecret::generate(CryptoMode::Ecdsa, &mut OsRng);
    let plain = deploy(
        &node,
        &user,
        "Outbox",
        alloy::sol_types::SolConstructor::abi_encode(
            &causeway_devnet::contracts::bindings::Outbox::constructorCall {
                localDomain_: FISCO_DOMAIN.0,
            },
        ),
    )
    .await;
    dispatch(&node, &user, &plain, 1).await;
    let src = source_over(
        FiscoRpc::new(node.endpoint(), "group0").unwrap(),
        &node,
        causeway_proofs::EvmAddress(plain),
    );
    match drain(&src).await {
        Err(Error::InvalidNativeProof { reason }) => {
            assert!(reason.contains("FiscoOutbox"), "{reason}")
        }
        other => panic!("expected the plain Outbox refused, got {other:?}"),
    }
}

/// A port nothing listens on.
async fn dead_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// A node that accepts connections and never answers (it stalls).
async fn stalled_endpoint() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (url, task)
}

fn block_requests(metrics: &ChainMetrics) -> (u64, u64) {
    let snapshot = metrics.snapshot();
    let block = snapshot
        .requests
        .iter()
        .find(|r| r.class == MethodClass::Block)
        .expect("a block class");
    (block.calls, block.errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fisco_client_fails_over_from_stalled_and_stopped_nodes_and_counts_every_request() {
    let node = FiscoNode::start(FiscoNodeConfig::new(CryptoMode::Sm))
        .await
        .expect("node");
    let contracts = node.deploy_causeway(FISCO_DOMAIN).await.expect("contracts");
    let user = NodeSecret::generate(CryptoMode::Sm, &mut OsRng);
    for n in 0..3u8 {
        contracts
            .dispatch(&node, &user, OTHER_DOMAIN, [n; 20].into(), vec![n; 8])
            .await
            .expect("dispatched");
    }
    let (stalled, stall_task) = stalled_endpoint().await;
    let stopped = dead_endpoint().await;
    let metrics = ChainMetrics::default();
    let rpc = FiscoRpc::with_endpoints(vec![stalled.clone(), stopped, node.endpoint()], "group0")
        .unwrap()
        .with_read_timeout(Duration::from_millis(300))
        .with_metrics(metrics.clone());

    // The stalled node times out, the stopped one refuses the connection, the third answers.
    let head = rpc
        .block_number()
        .await
        .expect("the third endpoint answers");
    assert_eq!(head, u64::try_from(node.block_number()).unwrap());
    assert_eq!(rpc.endpoint(), node.endpoint());
    assert_eq!(block_requests(&metrics), (3, 2));
    // From then on the endpoint that answered is asked first.
    rpc.block_number().await.expect("asked directly");
    assert_eq!(block_requests(&metrics), (4, 2));

    // A source over the same client yields every message, its requests counted in the chain's
    // metrics (blocks, receipts, and the Outbox's records as calls).
    let src = source_over(rpc.clone(), &node, contracts.outbox);
    let messages = drain(&src).await.expect("source");
    assert_eq!(messages.len(), 3);
    let snapshot = metrics.snapshot();
    let calls = |class| {
        snapshot
            .requests
            .iter()
            .find(|r| r.class == class)
            .map(|r| r.calls)
            .unwrap_or(0)
    };
    assert!(calls(MethodClass::Receipt) >= 3, "{snapshot:?}");
    assert_eq!(
        calls(MethodClass::Call),
        3,
        "one dispatched(id) read per message"
    );

    // Every endpoint down: the error names the last one tried, nothing hangs.
    let all_down = FiscoRpc::with_endpoints(vec![dead_endpoint().await, stalled], "group0")
        .unwrap()
        .with_read_timeout(Duration::from_millis(300));
    let err = all_down.block_number().await.expect_err("nobody answers");
    assert!(err.is_retryable(), "{err}");
    stall_task.abort();
}
