//! Hyperlane's Mailbox with its message-id multisig ISM (`StaticMessageIdMultisigIsm`, as its
//! factory deploys it), compiled from the pinned `@hyperlane-xyz/core` by
//! `bench/hyperlane/build.mjs`, measured on the same set-up as Causeway's gas benchmark: the
//! same 3-of-5 committee keys, 32-byte bodies, the same recipient code, one warm-up delivery.
//! Hyperlane has no batch: batch 1 is one `Mailbox.process` transaction; larger batches go
//! through one transaction calling `process` per message (what its relayer does with
//! Multicall3), as the issue measured it.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::SolCall;
use causeway_devnet::anvil::workspace_root;
use causeway_devnet::contracts::Artifact;
use causeway_devnet::fixtures::Committee;
use causeway_devnet::{CHAIN_B, DevChain};
use causeway_proofs::Hash32;

alloy::sol! {
    #[sol(rpc)]
    interface IMailbox {
        function initialize(address owner, address defaultIsm, address defaultHook, address requiredHook) external;
        function process(bytes calldata metadata, bytes calldata message) external payable;
        function delivered(bytes32 id) external view returns (bool);
    }
    #[sol(rpc)]
    interface IIsmFactory {
        function deploy(address[] calldata validators, uint8 threshold) external returns (address);
    }
    #[sol(rpc)]
    interface IBatcher {
        function processAll(address mailbox, bytes[] calldata metadata, bytes[] calldata messages) external returns (uint256 failed);
    }
    #[sol(rpc)]
    interface IRecipient {
        function handled() external view returns (uint256);
    }
}

/// The origin and destination domains (Causeway's chains A and B).
const ORIGIN: u32 = 1;
const DESTINATION: u32 = 2;

async fn deploy(provider: &DynProvider, name: &str, args: &[u8]) -> Address {
    let path = workspace_root()
        .join("bench/hyperlane/artifacts")
        .join(format!("{name}.json"));
    Artifact::load_from(&path)
        .unwrap()
        .deploy(provider, args)
        .await
        .unwrap()
}

/// A Hyperlane message (`contracts/libs/Message.sol`, version 3).
fn message(nonce: u32, sender: B256, recipient: Address, body: &[u8]) -> Vec<u8> {
    let mut m = vec![3u8];
    m.extend_from_slice(&nonce.to_be_bytes());
    m.extend_from_slice(&ORIGIN.to_be_bytes());
    m.extend_from_slice(sender.as_slice());
    m.extend_from_slice(&DESTINATION.to_be_bytes());
    m.extend_from_slice(recipient.into_word().as_slice());
    m.extend_from_slice(body);
    m
}

/// `MessageIdMultisigIsmMetadata`: merkle tree hook, root, index, then the signatures of the
/// first three members over `CheckpointLib.digest` (in validator order).
fn metadata(committee: &Committee, msg: &[u8], index: u32) -> Vec<u8> {
    let hook = B256::repeat_byte(0x11);
    let root = keccak256(index.to_be_bytes());
    let mut domain = ORIGIN.to_be_bytes().to_vec();
    domain.extend_from_slice(hook.as_slice());
    domain.extend_from_slice(b"HYPERLANE");
    let mut signed = keccak256(&domain).to_vec();
    signed.extend_from_slice(root.as_slice());
    signed.extend_from_slice(&index.to_be_bytes());
    signed.extend_from_slice(keccak256(msg).as_slice());
    let mut eth = b"\x19Ethereum Signed Message:\n32".to_vec();
    eth.extend_from_slice(keccak256(&signed).as_slice());
    let digest = Hash32(keccak256(&eth).0);
    let mut out = hook.to_vec();
    out.extend_from_slice(root.as_slice());
    out.extend_from_slice(&index.to_be_bytes());
    for sig in committee.sign_digest(digest, &[0, 1, 2]) {
        out.extend_from_slice(&sig);
    }
    out
}

/// Gas per delivered message through Hyperlane at each of `batches` (each at most 128: a
/// larger one would not fit anvil's 30M block gas limit at Hyperlane's cost per message).
pub async fn measure(batches: &[usize]) -> Vec<u64> {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let p = b.provider.clone();
    let committee = Committee::new("lane", 5, 3);
    let factory = deploy(&p, "StaticMessageIdMultisigIsmFactory", &[]).await;
    // `deploy(validators, threshold)` (its name clashes with the bindings' own `deploy`).
    let call = IIsmFactory::deployCall {
        validators: committee.addresses(),
        threshold: 3,
    };
    let tx = alloy::rpc::types::TransactionRequest::default()
        .to(factory)
        .input(Bytes::from(call.abi_encode()).into());
    let ism =
        IIsmFactory::deployCall::abi_decode_returns(&p.call(tx.clone()).await.unwrap()).unwrap();
    let r = p
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status());
    let mailbox_address = deploy(
        &p,
        "Mailbox",
        U256::from(DESTINATION).to_be_bytes::<32>().as_slice(),
    )
    .await;
    let mailbox = IMailbox::new(mailbox_address, p.clone());
    // Hooks are only used when dispatching; any contract satisfies `initialize`.
    let r = mailbox
        .initialize(b.admin, ism, ism, ism)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status());
    let recipient_address = deploy(
        &p,
        "HyperlaneExampleRecipient",
        mailbox_address.into_word().as_slice(),
    )
    .await;
    let recipient = IRecipient::new(recipient_address, p.clone());
    let batcher = IBatcher::new(deploy(&p, "ProcessBatcher", &[]).await, p.clone());
    let sender = Address::repeat_byte(0x5e).into_word();

    let mut nonce = 0u32;
    let mut next = |body: &[u8]| {
        let m = message(nonce, sender, recipient_address, body);
        let md = metadata(&committee, &m, nonce);
        nonce += 1;
        (Bytes::from(md), Bytes::from(m))
    };
    let (md, m) = next(&[0xff; 32]);
    let warm = mailbox
        .process(md, m)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(warm.status());
    let mut per_message = Vec::new();
    for &n in batches {
        let before = recipient.handled().call().await.unwrap();
        let items: Vec<_> = (0..n).map(|i| next(&[(i % 251) as u8 + 1; 32])).collect();
        let receipt = if n == 1 {
            let (md, m) = items[0].clone();
            mailbox
                .process(md, m)
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap()
        } else {
            let (mds, ms): (Vec<_>, Vec<_>) = items.into_iter().unzip();
            // An explicit gas limit: an estimate would stop where the last inner call runs out
            // of gas, since the batcher lets inner calls fail.
            batcher
                .processAll(mailbox_address, mds, ms)
                .gas(200_000 * n as u64)
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap()
        };
        assert!(receipt.status());
        let after = recipient.handled().call().await.unwrap();
        assert_eq!(after - before, U256::from(n), "every message is delivered");
        let per = receipt.gas_used / n as u64;
        println!(
            "gas: hyperlane Mailbox + StaticMessageIdMultisigIsm (3-of-5), {n:>3} message(s) per transaction: {} total, {per} per message",
            receipt.gas_used
        );
        per_message.push(per);
    }
    per_message
}
