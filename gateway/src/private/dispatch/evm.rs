//! Dispatching on an EVM chain's Outbox: one `dispatchAt` transaction per dispatch from the
//! sender key, naming the nonce the message was sealed for (the Outbox reverts `NonceTaken` if
//! another dispatch took it first, so the message never lands under another nonce), its
//! receipt's `Dispatch` event saying which message it made; after a crash a sealed message is
//! looked up by its id among the Outbox's `Dispatch` logs.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent as _;
use anyhow::{Context, Result, anyhow};
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, MessageId};

use super::{Found, Landing, Origin, Prepared, RECEIPT_TIMEOUT, Sealed};

alloy::sol! {
    /// The Outbox calls the dispatcher makes (contracts/src/Outbox.sol).
    #[sol(rpc)]
    #[allow(missing_docs)]
    interface IOutbox {
        event Dispatch(bytes32 indexed id, uint64 indexed nonce, uint32 indexed destination, bytes message);
        function dispatch(uint32 destination, bytes32 recipient, bytes calldata body) external returns (bytes32 id);
        function dispatchAt(uint64 expectedNonce, uint32 destination, bytes32 recipient, bytes calldata body) external returns (bytes32 id);
        function nonce() external view returns (uint64);
        error NonceTaken(uint64 expected, uint64 actual);
    }
}

/// An EVM Outbox and the sender key dispatching on it.
pub struct EvmOrigin {
    outbox: Address,
    sender: Address32,
    provider: DynProvider,
}

impl core::fmt::Debug for EvmOrigin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EvmOrigin")
            .field("outbox", &self.outbox)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl EvmOrigin {
    /// The Outbox `outbox` of domain `origin` through `endpoint`, sending with the 32-byte
    /// secp256k1 `secret`.
    pub fn new(
        origin: Domain,
        endpoint: &str,
        outbox: EvmAddress,
        secret: &[u8; 32],
    ) -> Result<Self> {
        let signer = PrivateKeySigner::from_bytes(&B256::from(*secret))
            .map_err(|e| anyhow!("the sender key is not a secp256k1 secret key: {e}"))?;
        let sender = Address32::from(EvmAddress(signer.address().0.0));
        let url = endpoint
            .parse()
            .with_context(|| format!("the endpoint of domain {origin} is not a URL"))?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url)
            .erased();
        Ok(EvmOrigin {
            outbox: Address::from(outbox.0),
            sender,
            provider,
        })
    }
}

impl Origin for EvmOrigin {
    /// The body: the transaction is built, signed and sent in one step.
    type Transaction = Vec<u8>;

    fn sender(&self) -> Address32 {
        self.sender
    }

    async fn next_nonce(&self) -> Result<u64> {
        Ok(IOutbox::new(self.outbox, &self.provider)
            .nonce()
            .call()
            .await?)
    }

    /// The transaction whose `Dispatch` event carries the message id, if the Outbox emitted it.
    async fn find(&self, sealed: &Sealed) -> Result<Found> {
        let filter = Filter::new()
            .address(self.outbox)
            .event_signature(IOutbox::Dispatch::SIGNATURE_HASH)
            .topic1(B256::from(sealed.message_id.0.0))
            .from_block(0);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .context("looking for the message's Dispatch event")?;
        Ok(logs
            .first()
            .and_then(|l| l.transaction_hash)
            .map_or(Found::NotFound, |h| Found::Landed(Hash32(h.0))))
    }

    async fn prepare(&self, _: &Sealed, body: &[u8]) -> Result<Prepared<Vec<u8>>> {
        Ok(Prepared::Ready {
            tx: None,
            transaction: body.to_vec(),
        })
    }

    /// Sends the dispatch transaction (`dispatchAt` the sealed nonce) and reads the outcome
    /// from its receipt. A nonce already taken shows in the gas estimate (nothing is sent) or,
    /// if another dispatch of it was mined first, as a reverted transaction.
    async fn broadcast(&self, sealed: &Sealed, body: Vec<u8>) -> Result<Landing> {
        let outbox = IOutbox::new(self.outbox, &self.provider);
        let pending = match outbox
            .dispatchAt(
                sealed.nonce,
                sealed.destination.0,
                B256::from(sealed.recipient.0),
                Bytes::from(body),
            )
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                return Ok(
                    match e.as_decoded_interface_error::<IOutbox::IOutboxErrors>() {
                        // The estimate ran on the pending block: another dispatch, not yet
                        // mined, holds the nonce. Nothing was sent.
                        Some(IOutbox::IOutboxErrors::NonceTaken(t)) => Landing::Contended(format!(
                            "nonce {} is taken by another dispatch (the Outbox's pending \
                                 nonce is {})",
                            t.expected, t.actual
                        )),
                        _ => Landing::Missed(format!("the dispatch was refused: {e}")),
                    },
                );
            }
        };
        let receipt = pending
            .with_timeout(Some(RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .context("waiting for the dispatch transaction's receipt")?;
        let tx = Hash32(receipt.transaction_hash.0);
        if !receipt.status() {
            return Ok(Landing::Missed(format!(
                "the dispatch transaction {tx} reverted (nonce {} taken by another dispatch \
                 mined first, if the Outbox is past it)",
                sealed.nonce
            )));
        }
        let got = receipt
            .inner
            .logs()
            .iter()
            .filter(|l| l.address() == self.outbox)
            .find_map(|l| IOutbox::Dispatch::decode_log_data(l.data()).ok())
            .map(|e| MessageId(Hash32(e.id.0)));
        Ok(if got == Some(sealed.message_id) {
            Landing::Landed(tx)
        } else {
            Landing::Missed(format!(
                "the Outbox gave the message another nonce than it was sealed for (another \
                 sender was first); transaction {tx}; sealing again"
            ))
        })
    }
}
