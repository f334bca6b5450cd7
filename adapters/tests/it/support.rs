//! Shared helpers: dispatching messages, mining, building adapters for a devnet chain.

use alloy::primitives::{Address, B256, Bytes, TxHash};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use causeway_adapters::evm::bindings::IOutbox;
use causeway_adapters::evm::{EvmSource, EvmSourceConfig, Finality};
use causeway_adapters::{Cursor, Source, SourceBatch};
use causeway_devnet::contracts::deploy_outbox;
use causeway_devnet::{CHAIN_A, DevChain};

/// Sends `Outbox.dispatch(destination, recipient, body)` on `outbox` from the admin account and
/// returns the transaction hash and its block number.
pub(crate) async fn dispatch(
    chain: &DevChain,
    outbox: Address,
    destination: u32,
    recipient: B256,
    body: &[u8],
) -> (TxHash, u64) {
    let receipt = chain
        .provider
        .send_transaction(dispatch_request(
            chain,
            outbox,
            destination,
            recipient,
            body,
        ))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "dispatch succeeded");
    (receipt.transaction_hash, receipt.block_number.unwrap())
}

/// The transaction request of a dispatch from the admin account.
pub(crate) fn dispatch_request(
    chain: &DevChain,
    outbox: Address,
    destination: u32,
    recipient: B256,
    body: &[u8],
) -> TransactionRequest {
    let call = IOutbox::dispatchCall {
        destination,
        recipient,
        body: Bytes::copy_from_slice(body),
    };
    TransactionRequest::default()
        .from(chain.admin)
        .to(outbox)
        .input(Bytes::from(call.abi_encode()).into())
        // Explicit: `anvil_reorg` mines JSON transactions without estimating their gas.
        .gas_limit(500_000)
}

/// Mines `n` empty blocks.
pub(crate) async fn mine(chain: &DevChain, n: u64) {
    chain.provider.anvil_mine(Some(n), None).await.unwrap();
}

/// The chain's head.
pub(crate) async fn head(chain: &DevChain) -> u64 {
    chain.provider.get_block_number().await.unwrap()
}

/// A source for `chain`'s Outbox (or another emitter address).
pub(crate) fn source(chain: &DevChain, outbox: Address, finality: Finality) -> EvmSource {
    EvmSource::new(EvmSourceConfig::new(
        chain.node.endpoint(),
        chain.spec.domain,
        outbox,
        finality,
    ))
    .unwrap()
}

/// Polls `source` from `cursor` until it reports being caught up; returns every batch's
/// messages and the last cursor.
pub(crate) async fn drain(
    source: &EvmSource,
    cursor: Cursor,
) -> (Vec<causeway_adapters::ObservedMessage>, Cursor) {
    let mut cursor = cursor;
    let mut all = Vec::new();
    loop {
        let SourceBatch {
            messages,
            cursor: next,
            ..
        } = source.next_batch(&cursor).await.unwrap();
        let batch_caught_up = next == cursor;
        all.extend(messages);
        cursor = next;
        if batch_caught_up {
            return (all, cursor);
        }
    }
}

/// A 32-byte recipient identity.
pub(crate) fn recipient(byte: u8) -> B256 {
    B256::repeat_byte(byte)
}

/// Chain A with its Outbox and a look-alike: a second Outbox of the same domain, which emits
/// the identical `Dispatch` event (T27). Returns the chain and the two addresses.
pub(crate) async fn chain_with_look_alike() -> (DevChain, Address, Address) {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let outbox = *chain.outbox.address();
    let look_alike = *deploy_outbox(&chain.provider, chain.spec.domain)
        .await
        .unwrap()
        .address();
    (chain, outbox, look_alike)
}
