//! `EvmStateReader` against anvil: a storage slot with `eth_getProof`, verified, and re-checked
//! offline.

use alloy::primitives::Address;
use causeway_adapters::evm::{EvmStateProof, EvmStateReader, Finality, RpcConfig};
use causeway_adapters::{Error, ReadAt, ReadKind, StateQuery, StateReader};
use causeway_devnet::{CHAIN_A, DevChain};
use causeway_proofs::Hash32;

use crate::support::{dispatch, mine, recipient};

fn word(v: u64) -> Vec<u8> {
    let mut w = vec![0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_a_storage_slot_with_a_verified_proof() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    let (_, first) = dispatch(&chain, outbox, 2, recipient(1), b"a").await;
    dispatch(&chain, outbox, 2, recipient(1), b"b").await;
    dispatch(&chain, outbox, 2, recipient(1), b"c").await;
    mine(&chain, 1).await;
    let reader = EvmStateReader::new(
        RpcConfig::new(chain.node.endpoint()),
        Finality::Confirmations(1),
    )
    .unwrap();
    // Outbox storage slot 0 holds `uint64 nonce` (localDomain is immutable).
    let query = |contract: String, slot: u64, at| StateQuery {
        contract,
        key: word(slot),
        at,
        kind: ReadKind::Storage,
    };
    let read = reader
        .read(&query(format!("{outbox:#x}"), 0, ReadAt::Final))
        .await
        .unwrap();
    assert_eq!(read.value, word(3));
    let proof = EvmStateProof::from_native_proof(&read.proof).unwrap();
    let block_hash = Hash32(read.at.id.as_bytes().try_into().unwrap());
    assert_eq!(proof.verify(&block_hash).unwrap(), read.at.height);

    // Offline re-verification catches a changed value or another block.
    let mut lie = proof.clone();
    lie.value = alloy::primitives::U256::from(4);
    assert!(matches!(
        lie.verify(&block_hash),
        Err(Error::InvalidNativeProof { .. })
    ));
    assert!(proof.verify(&Hash32([1; 32])).is_err());

    // At an earlier block, an unused slot, and an account that does not exist.
    let earlier = reader
        .read(&query(format!("{outbox:#x}"), 0, ReadAt::Height(first)))
        .await
        .unwrap();
    assert_eq!(earlier.value, word(1));
    let unused = reader
        .read(&query(format!("{outbox:#x}"), 5, ReadAt::Final))
        .await
        .unwrap();
    assert_eq!(unused.value, word(0));
    let nobody = Address::repeat_byte(0x42);
    let absent = reader
        .read(&query(format!("{nobody:#x}"), 0, ReadAt::Final))
        .await
        .unwrap();
    assert_eq!(absent.value, word(0));
    EvmStateProof::from_native_proof(&absent.proof)
        .unwrap()
        .verify(&Hash32(absent.at.id.as_bytes().try_into().unwrap()))
        .unwrap();

    // Malformed queries.
    assert!(matches!(
        reader
            .read(&StateQuery {
                contract: "not an address".into(),
                key: word(0),
                at: ReadAt::Final,
                kind: ReadKind::Storage,
            })
            .await,
        Err(Error::InvalidQuery { .. })
    ));
    assert!(matches!(
        reader
            .read(&StateQuery {
                contract: format!("{outbox:#x}"),
                key: vec![0; 31],
                at: ReadAt::Final,
                kind: ReadKind::Storage,
            })
            .await,
        Err(Error::InvalidQuery { .. })
    ));
}

/// A chain configured with a node that is down and one that is up: the reader's first request
/// fails on the dead node, the next goes to the live one, and the read succeeds. Without the
/// fallback the same reader gives up with the dead node's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_fails_over_to_the_chains_next_endpoint() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    dispatch(&chain, outbox, 2, recipient(1), b"a").await;
    mine(&chain, 1).await;
    // A loopback port nothing listens on: connections are refused at once.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let query = StateQuery {
        contract: format!("{outbox:#x}"),
        key: word(0),
        at: ReadAt::Final,
        kind: ReadKind::Storage,
    };
    let mut alone = RpcConfig::new(dead.clone());
    alone.retry.max_attempts = 2;
    let reader = EvmStateReader::new(alone.clone(), Finality::Confirmations(1)).unwrap();
    let err = reader.read(&query).await.unwrap_err();
    assert!(
        matches!(err, Error::RpcUnavailable { .. }),
        "without a fallback: {err}"
    );

    let mut config = alone;
    config.fallbacks = vec![chain.node.endpoint()];
    let metrics = config.metrics.clone();
    let reader = EvmStateReader::new(config, Finality::Confirmations(1)).unwrap();
    let read = reader.read(&query).await.unwrap();
    assert_eq!(read.value, word(1));
    // The dead node refused the first requests (those in flight together), then every
    // request went to the live one and stays there.
    let figures = metrics.snapshot();
    let failed: u64 = figures.requests.iter().map(|f| f.errors).sum();
    assert!(failed >= 1, "{:?}", figures.requests);
    let again = reader.read(&query).await.unwrap();
    assert_eq!(again.value, word(1));
    assert_eq!(
        metrics
            .snapshot()
            .requests
            .iter()
            .map(|f| f.errors)
            .sum::<u64>(),
        failed,
        "the reader went back to the dead node"
    );
}

/// A contract call answered with proof: `Outbox.dispatch` run as a call (it reads the nonce slot,
/// writes it, hashes the message) at a final block returns what the node's `eth_call` returns,
/// and its proof re-executes offline to the same output. Tampered return data, code, account
/// or storage proofs, a dropped slot or account (state the call reads that the proof no longer
/// covers, which must not read as zero) and another block all fail; a call that reverts is
/// refused with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contract_call_is_answered_with_a_proof_of_the_state_it_reads() {
    use alloy::primitives::{B256, Bytes, U256};
    use alloy::providers::Provider as _;
    use alloy::rpc::types::TransactionRequest;
    use alloy::sol_types::SolCall as _;
    use causeway_adapters::evm::EvmCallProof;
    use causeway_adapters::evm::bindings::IOutbox;

    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    dispatch(&chain, outbox, 2, recipient(1), b"a").await;
    dispatch(&chain, outbox, 2, recipient(1), b"b").await;
    mine(&chain, 1).await;
    let reader = EvmStateReader::new(
        RpcConfig::new(chain.node.endpoint()),
        Finality::Confirmations(1),
    )
    .unwrap();
    let data = IOutbox::dispatchCall {
        destination: 9,
        recipient: B256::repeat_byte(0x11),
        body: Bytes::from_static(b"queried, never sent"),
    }
    .abi_encode();
    let read = reader
        .read(&StateQuery {
            contract: format!("{outbox:#x}"),
            key: data.clone(),
            at: ReadAt::Final,
            kind: ReadKind::Call,
        })
        .await
        .unwrap();
    // What the node itself answers for the same call at that block.
    let node = chain
        .provider
        .call(
            TransactionRequest::default()
                .from(Address::ZERO)
                .to(outbox)
                .input(Bytes::from(data.clone()).into()),
        )
        .block(read.at.height.into())
        .await
        .unwrap();
    assert_eq!(read.value, node.to_vec());
    let id = IOutbox::dispatchCall::abi_decode_returns(&read.value).unwrap();
    assert_ne!(id, B256::ZERO);

    let proof = EvmCallProof::from_native_proof(&read.proof).unwrap();
    let block = Hash32(read.at.id.as_bytes().try_into().unwrap());
    assert_eq!(proof.verify(&block).unwrap(), read.at.height);
    assert_eq!(proof.to, outbox);
    assert_eq!(proof.data.to_vec(), data);
    let outbox_account = proof
        .accounts
        .iter()
        .position(|a| a.address == outbox)
        .expect("the callee is proven");
    // The nonce (slot 0) is read, so proven.
    assert!(
        proof.accounts[outbox_account]
            .storage
            .iter()
            .any(|s| s.slot == B256::ZERO && s.value == U256::from(2)),
        "{:?}",
        proof.accounts[outbox_account].storage
    );
    assert!(!proof.code.is_empty());

    let fails = |tamper: &dyn Fn(&mut EvmCallProof), expect: &str| {
        let mut lie = proof.clone();
        tamper(&mut lie);
        match lie.verify(&block) {
            Err(Error::InvalidNativeProof { reason }) => {
                assert!(reason.contains(expect), "{expect:?} not in {reason:?}")
            }
            other => panic!("a tampered proof ({expect}) gave {other:?}"),
        }
    };
    // Tampered return data.
    fails(
        &|p| p.output = Bytes::from(vec![0u8; 32]),
        "re-executed over the proven state the call returns",
    );
    // Tampered code: its hash is no proven account's code hash.
    fails(
        &|p| {
            let mut code = p.code[0].to_vec();
            let last = code.len() - 1;
            code[last] ^= 1;
            p.code[0] = Bytes::from(code);
        },
        "is no proven account's code",
    );
    // The code left out: the call reads code the proof does not carry.
    fails(&|p| p.code.clear(), "which the proof does not prove");
    // A slot the call reads left out: it must not read as zero.
    fails(
        &|p| {
            p.accounts[outbox_account]
                .storage
                .retain(|s| s.slot != B256::ZERO)
        },
        "storage slot",
    );
    // The callee's account left out.
    fails(
        &|p| {
            p.accounts.retain(|a| a.address != outbox);
            p.code.clear();
        },
        "which the proof does not prove",
    );
    // Another nonce for the callee, or another value for the slot: the proofs do not prove them.
    fails(
        &|p| p.accounts[outbox_account].account.nonce += 1,
        "other account fields",
    );
    fails(
        &|p| {
            for s in &mut p.accounts[outbox_account].storage {
                if s.slot == B256::ZERO {
                    s.value = U256::from(7);
                }
            }
        },
        "storage proof",
    );
    // Another chain id changes nothing the call reads here, but another call data does.
    fails(
        &|p| p.data = Bytes::from(vec![0xde, 0xad, 0xbe, 0xef]),
        "reverts",
    );
    assert!(proof.verify(&Hash32([1; 32])).is_err());

    // A call that reverts (no function with that selector, no fallback) is refused.
    let err = reader
        .read(&StateQuery {
            contract: format!("{outbox:#x}"),
            key: vec![0xde, 0xad, 0xbe, 0xef],
            at: ReadAt::Final,
            kind: ReadKind::Call,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Reverted { .. }), "{err}");
}
