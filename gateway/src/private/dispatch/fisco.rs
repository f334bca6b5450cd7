//! Dispatching on a FISCO BCOS group's Outbox (`FiscoOutbox`, the EVM Outbox that also
//! records every id in `dispatched(id)`): one transaction per dispatch, signed in the chain's
//! crypto mode by the sender key as the FISCO BCOS destination signs its deliveries.
//!
//! A message id lands at most once (it binds the Outbox nonce); what must not happen is to seal
//! a message again while a transaction carrying it can still land, which would dispatch the
//! body a second time under the next nonce. So each attempt's transaction nonce (FISCO BCOS's
//! replay guard: a node refuses a nonce it has seen within the block-limit window) is derived
//! from what the store recorded (the request, its message id and the attempt), its hash is
//! recorded before it is sent, and a restart that finds the message neither recorded by the
//! Outbox nor refused by a receipt sends the same nonce again: while the first transaction is
//! pending or committed the node refuses the second, so at most one of them lands.

use alloy::primitives::{B256, U256};
use alloy::sol_types::{SolCall as _, SolEvent as _};
use anyhow::{Context, Result, anyhow, bail};
use causeway_adapters::Error as AdapterError;
use causeway_adapters::fisco::FiscoRpc;
use causeway_proofs::fisco::json::ReceiptJson;
use causeway_proofs::fisco::{NodeSecret, Transaction, TransactionData};
use causeway_proofs::{Address32, EvmAddress, Hash32};
use sha2::{Digest as _, Sha256};

use super::evm::IOutbox;
use super::{Found, Landing, Origin, Prepared, Sealed};

/// How many blocks past the head a dispatch transaction stays valid (FISCO BCOS allows up to
/// 1,000).
const BLOCK_LIMIT_MARGIN: u64 = 500;

/// Domain separation of the transaction nonces a dispatcher derives.
const NONCE_DOMAIN: &[u8] = b"causeway/fisco-dispatch/v1";

/// FISCO BCOS's transaction-pool refusals of a transaction it already has, or whose nonce it
/// has seen (NonceCheckFail, AlreadyInTxPool, TxAlreadyInChain).
const ALREADY_KNOWN: [i64; 3] = [10000, 10004, 10005];

/// Where a FISCO BCOS origin dispatches.
#[derive(Clone, Debug)]
pub struct FiscoOriginConfig {
    /// The chain id, e.g. `chain0`.
    pub chain_id: String,
    /// The group, e.g. `group0`.
    pub group: String,
    /// The FiscoOutbox contract.
    pub outbox: EvmAddress,
}

/// A FISCO BCOS Outbox and the sender key dispatching on it.
pub struct FiscoOrigin {
    rpc: FiscoRpc,
    config: FiscoOriginConfig,
    key: NodeSecret,
    sender: Address32,
}

impl core::fmt::Debug for FiscoOrigin {
    /// Never prints the key.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FiscoOrigin")
            .field("outbox", &self.config.outbox)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// A signed dispatch transaction, ready to send.
#[derive(Debug)]
pub struct SignedDispatch {
    hash: Hash32,
    bytes: Vec<u8>,
}

impl FiscoOrigin {
    /// The Outbox of `config` through `rpc`, sending with `key` (of the chain's crypto mode).
    pub fn new(rpc: FiscoRpc, config: FiscoOriginConfig, key: NodeSecret) -> Self {
        let sender = Address32::from(EvmAddress(key.public_key().address()));
        FiscoOrigin {
            rpc,
            config,
            key,
            sender,
        }
    }

    /// The dispatch call of `sealed` with `body`: `dispatchAt` its sealed nonce, so the Outbox
    /// reverts rather than dispatch it under another one.
    fn calldata(sealed: &Sealed, body: &[u8]) -> Vec<u8> {
        IOutbox::dispatchAtCall {
            expectedNonce: sealed.nonce,
            destination: sealed.destination.0,
            recipient: B256::from(sealed.recipient.0),
            body: body.to_vec().into(),
        }
        .abi_encode()
    }

    /// The message id the Outbox's `Dispatch` event in `receipt` names, if any.
    fn dispatched_id(&self, receipt: &ReceiptJson) -> Option<[u8; 32]> {
        let outbox = hex::encode(self.config.outbox.0);
        let signature = IOutbox::Dispatch::SIGNATURE_HASH;
        receipt.log_entries.iter().find_map(|log| {
            if !log
                .address
                .trim_start_matches("0x")
                .eq_ignore_ascii_case(&outbox)
            {
                return None;
            }
            let topic = |i: usize| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(log.topics.get(i)?.trim_start_matches("0x"), &mut out).ok()?;
                Some(out)
            };
            (topic(0)? == signature.0).then(|| topic(1)).flatten()
        })
    }

    /// What a committed receipt of `sealed`'s transaction `tx` says.
    fn landing(&self, sealed: &Sealed, tx: Hash32, receipt: &ReceiptJson) -> Landing {
        if receipt.status != 0 {
            return Landing::Missed(format!(
                "the dispatch transaction {tx} reverted (status {}): {}",
                receipt.status, receipt.message
            ));
        }
        if self.dispatched_id(receipt) == Some(sealed.message_id.0.0) {
            Landing::Landed(tx)
        } else {
            Landing::Missed(format!(
                "the Outbox gave the message another nonce than {} (another sender was first); \
                 transaction {tx}; sealing again",
                sealed.nonce
            ))
        }
    }
}

/// The transaction nonce of an attempt: SHA-256 over a domain tag, the request's number, its
/// message id and the attempt, as the decimal number FISCO BCOS carries.
fn transaction_nonce(sealed: &Sealed) -> String {
    let digest = Sha256::new()
        .chain_update(NONCE_DOMAIN)
        .chain_update(sealed.request.0.to_be_bytes())
        .chain_update(sealed.message_id.0.0)
        .chain_update(sealed.attempt.to_be_bytes())
        .finalize();
    U256::from_be_slice(&digest).to_string()
}

impl Origin for FiscoOrigin {
    type Transaction = SignedDispatch;

    fn sender(&self) -> Address32 {
        self.sender
    }

    async fn next_nonce(&self) -> Result<u64> {
        let out = self
            .rpc
            .call_contract(&self.config.outbox.0, &IOutbox::nonceCall {}.abi_encode())
            .await
            .context("calling the Outbox's nonce()")?;
        if out.status != 0 {
            bail!(
                "the Outbox {} answered nonce() with status {}: is it a Causeway Outbox?",
                self.config.outbox,
                out.status
            );
        }
        IOutbox::nonceCall::abi_decode_returns(&out.output)
            .map_err(|e| anyhow!("the Outbox's nonce() answered something else: {e}"))
    }

    /// Recorded by the Outbox: landed. Else the recorded transaction's receipt, when there is
    /// one, says it never will be under this attempt. Else it is sent again (same nonce).
    async fn find(&self, sealed: &Sealed) -> Result<Found> {
        let landed = self
            .rpc
            .dispatched(&self.config.outbox, &sealed.message_id.0, 0)
            .await
            .context("asking the Outbox whether the message was dispatched")?;
        if landed {
            let tx = sealed.tx.unwrap_or_else(|| {
                tracing::warn!(message_id = %sealed.message_id, "the Outbox recorded a dispatch whose transaction was not recorded");
                Hash32([0; 32])
            });
            return Ok(Found::Landed(tx));
        }
        let Some(tx) = sealed.tx else {
            return Ok(Found::NotFound);
        };
        Ok(match self.rpc.receipt(&tx).await? {
            Some(receipt) => match self.landing(sealed, tx, &receipt) {
                // Committed after the read above.
                Landing::Landed(tx) => Found::Landed(tx),
                Landing::Missed(reason) | Landing::Contended(reason) => Found::Missed(reason),
                Landing::SenderRefused(refusal) => return Err(anyhow::anyhow!(refusal)),
            },
            None => Found::NotFound,
        })
    }

    /// Simulates the dispatch first (a call the Outbox refuses is not sent; FISCO BCOS's `call`
    /// has no sender, so the id it would get is read from the receipt), then signs this
    /// attempt's transaction.
    async fn prepare(&self, sealed: &Sealed, body: &[u8]) -> Result<Prepared<SignedDispatch>> {
        let input = Self::calldata(sealed, body);
        let simulated = self
            .rpc
            .call_contract(&self.config.outbox.0, &input)
            .await
            .context("simulating the dispatch")?;
        if simulated.status != 0 {
            return Ok(Prepared::Missed(format!(
                "the Outbox refuses the dispatch (status {})",
                simulated.status
            )));
        }
        let head = self.rpc.block_number().await?;
        let data = TransactionData {
            chain_id: self.config.chain_id.clone(),
            group_id: self.config.group.clone(),
            block_limit: i64::try_from(head + BLOCK_LIMIT_MARGIN).unwrap_or(i64::MAX),
            nonce: transaction_nonce(sealed),
            to: hex::encode(self.config.outbox.0),
            input,
            ..TransactionData::default()
        };
        let tx = Transaction::sign(data, &self.key, &mut rand_core::OsRng)
            .context("signing the dispatch transaction")?;
        let hash = tx.data.hash(self.key.mode());
        Ok(Prepared::Ready {
            tx: Some(hash),
            transaction: SignedDispatch {
                hash,
                bytes: tx.encode(),
            },
        })
    }

    /// Sends the transaction; the node answers with its receipt once committed.
    async fn broadcast(&self, sealed: &Sealed, signed: SignedDispatch) -> Result<Landing> {
        match self.rpc.send_transaction(&signed.bytes).await {
            Ok(receipt) => Ok(self.landing(sealed, signed.hash, &receipt)),
            Err(AdapterError::Rpc { code, message, .. }) if ALREADY_KNOWN.contains(&code) => {
                bail!(
                    "the node already has this dispatch's transaction nonce ({message}): an \
                     earlier transaction of it is pending or committed; waiting for it"
                )
            }
            Err(e) => {
                Err(anyhow!(e).context(format!("sending the dispatch transaction {}", signed.hash)))
            }
        }
    }
}
