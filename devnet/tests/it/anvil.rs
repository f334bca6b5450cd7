//! The anvil harness itself: free ports, chain ids, mining modes, dev keys, kill on drop.

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256, address};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use causeway_devnet::anvil::{AnvilConfig, AnvilNode, Mining};

#[tokio::test]
async fn nodes_get_their_own_port_chain_id_and_funded_dev_keys() {
    let (ca, cb) = (
        AnvilConfig::new(31337),
        AnvilConfig::new(31338).with_mining(Mining::Manual),
    );
    let (a, b) = tokio::try_join!(AnvilNode::spawn(&ca), AnvilNode::spawn(&cb)).unwrap();
    assert_ne!(a.port(), b.port());
    assert_eq!(a.read_provider().get_chain_id().await.unwrap(), 31337);
    assert_eq!(b.read_provider().get_chain_id().await.unwrap(), 31338);
    // anvil's default mnemonic ("test test ... junk"); account 0 is the well-known
    // 0xf39F…2266 listed in anvil's own startup banner and the Foundry book.
    assert_eq!(a.dev_keys().len(), 10);
    assert_eq!(
        a.dev_address(0),
        Some(address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"))
    );
    let balance = a
        .read_provider()
        .get_balance(a.dev_address(9).unwrap())
        .await
        .unwrap();
    assert_eq!(
        balance,
        U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18u64))
    );

    // Manual mining: a sent transaction waits for an explicit mine.
    let pb = b.provider(1);
    let tx = TransactionRequest::default()
        .with_to(Address::repeat_byte(1))
        .with_value(U256::from(1));
    let pending = pb.send_transaction(tx).await.unwrap();
    assert_eq!(pb.get_block_number().await.unwrap(), 0);
    pb.raw_request::<_, serde_json::Value>("evm_mine".into(), ())
        .await
        .unwrap();
    let receipt = pending.get_receipt().await.unwrap();
    assert_eq!(receipt.block_number, Some(1));

    // Dropping a node kills it: its port stops answering.
    let port = a.port();
    drop(a);
    let mut closed = false;
    for _ in 0..40 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        closed,
        "anvil still listens on {port} after its handle was dropped"
    );
}

#[tokio::test]
async fn interval_mining_produces_blocks_on_its_own() {
    let node = AnvilNode::spawn(
        &AnvilConfig::new(31339).with_mining(Mining::Interval(Duration::from_millis(200))),
    )
    .await
    .unwrap();
    let p = node.read_provider();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let n = p.get_block_number().await.unwrap();
    assert!(n >= 2, "only {n} blocks after 0.9 s at one per 0.2 s");
}

#[tokio::test]
async fn a_missing_binary_is_reported_with_the_fix() {
    let err = AnvilNode::spawn_at(
        std::path::Path::new("/nonexistent/anvil"),
        &AnvilConfig::new(1),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("scripts/setup.sh") && text.contains("/nonexistent/anvil"),
        "{text}"
    );
    // A binary that exits at once (bad arguments) is reported with its output.
    let err = AnvilNode::spawn(&AnvilConfig::new(1).with_arg("--no-such-flag"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no-such-flag"), "{err}");
}

#[tokio::test]
async fn a_manual_devnet_chain_is_deployed_then_stops_mining() {
    let chain = causeway_devnet::DevChain::start_with(causeway_devnet::CHAIN_A, Mining::Manual)
        .await
        .unwrap();
    let p = &chain.provider;
    let height = p.get_block_number().await.unwrap();
    assert_eq!(height, 3, "one block per deployment");
    let pending = chain
        .outbox
        .dispatch(
            2,
            alloy::primitives::B256::ZERO,
            alloy::primitives::Bytes::new(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(p.get_block_number().await.unwrap(), height);
    p.raw_request::<_, serde_json::Value>("evm_mine".into(), ())
        .await
        .unwrap();
    assert!(pending.get_receipt().await.unwrap().status());
}

/// anvil persists the states it drops from memory into the node's own folder, which goes
/// with the node: a long run leaves nothing behind in `~/.foundry/anvil/tmp` (1,024 blocks
/// persisted ~80 MB there per node before, and the tests' nodes filled the disk).
#[tokio::test]
async fn persisted_states_go_to_the_nodes_own_folder_and_leave_with_it() {
    let node = AnvilNode::spawn(&AnvilConfig::new(31337)).await.unwrap();
    let cache = node.cache_dir().to_path_buf();
    let _: () = node
        .read_provider()
        .raw_request("anvil_mine".into(), ("0x400",))
        .await
        .unwrap();
    let persisted = walk(&cache);
    assert!(
        persisted > 0,
        "anvil persisted nothing into {}",
        cache.display()
    );
    drop(node);
    // The process is killed first, then its folder removed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!cache.exists(), "{} is still there", cache.display());
}

/// Files under `dir`, recursively.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
