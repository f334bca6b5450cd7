//! Dispatching on an EVM chain's Outbox: one `dispatchAt` transaction per dispatch from the
//! sender key, naming the nonce the message was sealed for (the Outbox reverts `NonceTaken` if
//! another dispatch took it first, so the message never lands under another nonce), its
//! receipt's `Dispatch` event saying which message it made; after a crash a sealed message is
//! looked up by its id among the Outbox's `Dispatch` logs.

use alloy::eips::BlockId;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent as _;
use alloy::transports::RpcError;
use anyhow::{Context, Result, anyhow};
use causeway_adapters::evm::LogWindows;
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, MessageId};

use super::{Found, Landing, Origin, Prepared, RECEIPT_TIMEOUT, Sealed, SenderRefused};

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
    origin: Domain,
    outbox: Address,
    sender: Address32,
    provider: DynProvider,
    from: Address,
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
        let signer_address = signer.address();
        let url = endpoint
            .parse()
            .with_context(|| format!("the endpoint of domain {origin} is not a URL"))?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url)
            .erased();
        Ok(EvmOrigin {
            origin,
            outbox: Address::from(outbox.0),
            sender,
            provider,
            from: signer_address,
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
    /// Read newest first (after a crash the dispatch is recent) in windows, since nodes refuse
    /// an `eth_getLogs` over the whole chain. No scan while the Outbox has not reached the
    /// sealed nonce: the message's id carries that nonce, so it cannot have been emitted yet
    /// (the common case: a crash before the broadcast, a dispatch still pending).
    async fn find(&self, sealed: &Sealed) -> Result<Found> {
        if self.next_nonce().await? <= sealed.nonce {
            return Ok(Found::NotFound);
        }
        let head = self
            .provider
            .get_block_number()
            .await
            .context("reading the origin's head to look for the message's Dispatch event")?;
        let mut windows = LogWindows::newest_first(head);
        while let Some((from, to)) = windows.next_window() {
            let filter = Filter::new()
                .address(self.outbox)
                .event_signature(IOutbox::Dispatch::SIGNATURE_HASH)
                .topic1(B256::from(sealed.message_id.0.0))
                .from_block(from)
                .to_block(to);
            match self.provider.get_logs(&filter).await {
                Ok(logs) => {
                    windows.served();
                    if let Some(h) = logs.first().and_then(|l| l.transaction_hash) {
                        return Ok(Found::Landed(Hash32(h.0)));
                    }
                }
                // The node answered with a refusal (a range or result cap): ask for less.
                Err(RpcError::ErrorResp(e)) if windows.refused() => {
                    tracing::debug!(from, to, error = %e, "eth_getLogs refused; asking for half the blocks");
                }
                Err(e) => {
                    return Err(anyhow!(e).context(format!(
                        "looking for the message's Dispatch event in blocks {from}..={to}"
                    )));
                }
            }
        }
        Ok(Found::NotFound)
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
        let call = outbox.dispatchAt(
            sealed.nonce,
            sealed.destination.0,
            B256::from(sealed.recipient.0),
            Bytes::from(body),
        );
        // The estimate and the account's transaction nonce first, explicitly: a refused
        // estimate then sends nothing and uses up no transaction nonce (a cached nonce taken by
        // a transaction never sent would leave a gap every later transaction waits behind).
        let sent = match call.estimate_gas().await {
            Ok(gas) => {
                let account_nonce = self
                    .provider
                    .get_transaction_count(self.from)
                    .pending()
                    .await
                    .context("reading the sender account's transaction nonce")?;
                // A transaction of the account not yet mined (another replica's dispatch, or
                // one stuck in the pool with too low a fee) goes first: one sent now would
                // queue behind it and dispatch only after it, if at all. Wait for it instead
                // (contended; replaced once it held on too long, see `replace`).
                let mined = self
                    .provider
                    .get_transaction_count(self.from)
                    .latest()
                    .await
                    .context("reading the sender account's mined transaction nonce")?;
                if mined < account_nonce {
                    return Ok(Landing::Contended(format!(
                        "the sender account's transaction {mined} is not mined yet (nonce {} \
                         waits behind it)",
                        sealed.nonce
                    )));
                }
                call.gas(gas.saturating_add(gas / 5))
                    .nonce(account_nonce)
                    .send()
                    .await
            }
            Err(e) => Err(e),
        };
        let pending = match sent {
            Ok(p) => p,
            Err(e) => return Ok(self.refused(e)),
        };
        self.outcome(sealed, pending).await
    }

    /// Sends the dispatch at the sender account's first unmined transaction nonce (the one
    /// the transaction holding the Outbox nonce waits at, if it is this account's) with
    /// 2^(attempt + 1) times the node's suggested fees, so that a node takes it in place of
    /// that transaction. The estimate runs on the latest block: the pending one shows the
    /// Outbox nonce taken by the very transaction being replaced. Either transaction can be
    /// mined, never both (one account nonce), and whichever lands dispatches at the sealed
    /// nonce, so the message lands at most once.
    async fn replace(&self, sealed: &Sealed, body: &[u8]) -> Result<Option<Landing>> {
        let outbox = IOutbox::new(self.outbox, &self.provider);
        let call = outbox
            .dispatchAt(
                sealed.nonce,
                sealed.destination.0,
                B256::from(sealed.recipient.0),
                Bytes::from(body.to_vec()),
            )
            .block(BlockId::latest());
        let gas = match call.estimate_gas().await {
            Ok(gas) => gas,
            Err(e) => return Ok(Some(self.refused(e))),
        };
        let account_nonce = self
            .provider
            .get_transaction_count(self.from)
            .latest()
            .await
            .context("reading the sender account's first unmined transaction nonce")?;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .context("reading the origin's fees to replace a stuck dispatch")?;
        let factor = 1u128 << (sealed.attempt.min(20) + 1);
        let tip = fees.max_priority_fee_per_gas.max(1_000_000_000);
        let sent = call
            .gas(gas.saturating_add(gas / 5))
            .nonce(account_nonce)
            .max_priority_fee_per_gas(tip.saturating_mul(factor))
            .max_fee_per_gas(
                fees.max_fee_per_gas
                    .saturating_add(tip)
                    .saturating_mul(factor),
            )
            .send()
            .await;
        Ok(Some(match sent {
            Ok(pending) => self.outcome(sealed, pending).await?,
            Err(e) => self.refused(e),
        }))
    }
}

impl EvmOrigin {
    /// Waits (bounded) for a sent dispatch's receipt and reads what it did.
    async fn outcome(
        &self,
        sealed: &Sealed,
        pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    ) -> Result<Landing> {
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

impl EvmOrigin {
    /// What a dispatch the node refused (in its estimate or when sent) means: nothing was
    /// sent. A refusal of the sender account or of any work (out of funds, the pool full, the
    /// node away: [`account_refusal`]) is no fault of the dispatch's.
    fn refused(&self, e: alloy::contract::Error) -> Landing {
        let node_away = matches!(
            &e,
            alloy::contract::Error::TransportError(RpcError::Transport(_))
        );
        let code = match &e {
            alloy::contract::Error::TransportError(RpcError::ErrorResp(payload)) => {
                Some(payload.code)
            }
            _ => None,
        };
        if node_away {
            return Landing::SenderRefused(SenderRefused {
                reason: format!("the origin's node did not answer: {e}"),
                fix: format!(
                    "check chain {}'s node (its endpoint in [chains]): it is down or \
                     unreachable",
                    self.origin
                ),
            });
        }
        if let Some(fix) = account_refusal(code, &e.to_string(), self.from, self.origin) {
            return Landing::SenderRefused(SenderRefused {
                reason: format!("the node refused the dispatch: {e}"),
                fix,
            });
        }
        refused(e)
    }
}

/// What fixes a node's refusal `message` (JSON-RPC error `code`) of a transaction from
/// `account` on chain `origin`, when it concerns the account or the node as a whole and not
/// the transaction: geth's and anvil's wordings (geth's `core` and `txpool` errors: "insufficient
/// funds for gas * price + value", "txpool is full", "account limit exceeded", "nonce too
/// high", "transaction underpriced"; EIP-1474's -32005 "limit exceeded"). `None`: the
/// transaction's own refusal (a revert, too much gas, oversized data).
fn account_refusal(
    code: Option<i64>,
    message: &str,
    account: Address,
    origin: Domain,
) -> Option<String> {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&["insufficient funds", "insufficient balance"]) {
        return Some(format!(
            "fund account {account} on chain {origin} (the sender account pays each dispatch's \
             gas)"
        ));
    }
    if any(&[
        "txpool is full",
        "account limit exceeded",
        "in-flight transaction limit",
        "pool is full",
        "too many transactions",
    ]) {
        return Some(format!(
            "the node's transaction pool is full for account {account} on chain {origin}: wait \
             for its pending transactions to be mined, or raise the node's pool limits (geth \
             --txpool.accountslots, --txpool.globalslots)"
        ));
    }
    if any(&["nonce too high", "nonce gap"]) {
        return Some(format!(
            "account {account} on chain {origin} has a gap in its transaction nonces (a \
             transaction sent by another program at a higher nonce): fill or clear it; use this \
             account for the gateway only"
        ));
    }
    // "replacement transaction underpriced" is another transaction of the account at the same
    // nonce (contended), told apart before this is asked.
    if any(&[
        "transaction underpriced",
        "fee cap less than block base fee",
        "max fee per gas less than block base fee",
    ]) && !m.contains("replacement")
    {
        return Some(format!(
            "the node on chain {origin} takes no transaction at the fee it suggests: check its \
             minimum gas price (geth --txpool.pricelimit, --miner.gasprice)"
        ));
    }
    if code == Some(-32005) || any(&["rate limit", "too many requests"]) {
        return Some(format!(
            "the node on chain {origin} rate-limits this gateway: raise its limits, or use \
             another endpoint"
        ));
    }
    None
}

/// What a dispatch the node refused (in its estimate or when sent) means, once it is not a
/// refusal of the account: nothing was sent.
fn refused(e: alloy::contract::Error) -> Landing {
    match e.as_decoded_interface_error::<IOutbox::IOutboxErrors>() {
        // The estimate ran on the pending block: another dispatch, not yet
        // mined, holds the nonce. Nothing was sent.
        Some(IOutbox::IOutboxErrors::NonceTaken(t)) => Landing::Contended(format!(
            "nonce {} is taken by another dispatch (the Outbox's pending \
                                 nonce is {})",
            t.expected, t.actual
        )),
        // Another dispatch from the same sender account (another replica of
        // this gateway) took the account's transaction nonce first: nothing was
        // sent; try again once it is mined.
        _ if account_nonce_taken(&e.to_string()) => Landing::Contended(format!(
            "the sender account's transaction nonce was taken by another \
                             transaction ({e})"
        )),
        _ => Landing::Missed(format!("the dispatch was refused: {e}")),
    }
}

/// Whether a node's refusal says the sender account's transaction nonce is already used or
/// pending (geth's and anvil's wording): a concurrent transaction of the same account, not a
/// fault of the dispatch.
fn account_nonce_taken(refusal: &str) -> bool {
    let refusal = refusal.to_ascii_lowercase();
    [
        "nonce too low",
        "replacement transaction underpriced",
        "already known",
    ]
    .iter()
    .any(|m| refusal.contains(m))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{account_nonce_taken, account_refusal};
    use alloy::primitives::Address;
    use causeway_proofs::Domain;

    /// The account's and the node's refusals are told from the dispatch's own, with the fix.
    #[test]
    fn a_refusal_of_the_account_is_told_from_the_dispatch_s_own() {
        let (account, origin) = (Address::repeat_byte(0xab), Domain(7));
        let of = |code, m: &str| account_refusal(code, m, account, origin);
        let fund = of(
            Some(-32003),
            "server returned an error response: error code -32003: Insufficient funds for gas * \
             price + value",
        )
        .unwrap();
        assert!(
            fund.contains(&format!("fund account {account} on chain 7")),
            "{fund}"
        );
        assert!(
            of(
                Some(-32000),
                "insufficient funds for gas * price + value: balance 0"
            )
            .is_some()
        );
        for pool in ["txpool is full", "account limit exceeded", "nonce too high"] {
            assert!(of(Some(-32000), pool).is_some(), "{pool}");
        }
        assert!(of(Some(-32000), "transaction underpriced").is_some());
        assert!(of(Some(-32005), "limit exceeded").is_some());
        for own in [
            "execution reverted",
            "replacement transaction underpriced",
            "exceeds block gas limit",
            "oversized data",
            "intrinsic gas too low",
        ] {
            assert_eq!(of(Some(-32000), own), None, "{own}");
        }
    }

    #[test]
    fn a_used_account_nonce_is_told_from_other_refusals() {
        assert!(account_nonce_taken(
            "server returned an error response: error code -32003: nonce too low"
        ));
        assert!(account_nonce_taken("replacement transaction underpriced"));
        assert!(!account_nonce_taken(
            "insufficient funds for gas * price + value"
        ));
    }
}
