//! The dispatcher of one origin chain: sends the requests `POST /v1/messages` recorded on the
//! chain's Outbox from the configured sender key, oldest first, one at a time.
//!
//! The Outbox numbers messages with one counter for every sender, and a private message's
//! commitment binds its nonce, so a request is sealed for the nonce the Outbox shows *now*,
//! recorded as sealed (nonce, message id, envelope) **before** the transaction is sent, then
//! sent. The receipt's `Dispatch` event says whether it got that nonce: if another sender took
//! it in between, the request is sealed again for the next one (bounded attempts, then
//! `failed` with the reason). After a crash, a sealed request is looked up on chain by its
//! message id first, so it is never sent twice.

use std::sync::Arc;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent as _;
use anyhow::{Context, Result, anyhow};
use causeway_privacy::disclosure::Padding;
use causeway_privacy::envelope::{EnvelopeContext, SealRequest};
use causeway_proofs::message::MAX_BODY_LEN;
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, Message, MessageId, Nonce};
use causeway_relayer::store::{NewEnvelope, SendKind, SendRequest, SendState, Store, UnixMillis};
use tokio_util::sync::CancellationToken;

use super::Directory;
use super::body;

alloy::sol! {
    /// The Outbox calls the dispatcher makes (contracts/src/Outbox.sol).
    #[sol(rpc)]
    #[allow(missing_docs)]
    interface IOutbox {
        event Dispatch(bytes32 indexed id, uint64 indexed nonce, uint32 indexed destination, bytes message);
        function dispatch(uint32 destination, bytes32 recipient, bytes calldata body) external returns (bytes32 id);
        function nonce() external view returns (uint64);
    }
}

/// Attempts before a request is given up (a nonce taken by another sender, a revert, an RPC
/// failure each count one).
pub const MAX_ATTEMPTS: u32 = 8;
/// How long a dispatch transaction may take to be mined.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// One origin chain's dispatcher.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    origin: Domain,
    outbox: Address,
    sender: Address32,
    provider: DynProvider,
    directory: Arc<Directory>,
    poll: Duration,
}

impl core::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("origin", &self.origin)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// What sealing a request produced: the body to dispatch and the id it will have.
struct Prepared {
    body: Vec<u8>,
    message_id: MessageId,
    nonce: u64,
}

impl Dispatcher {
    /// A dispatcher sending on `outbox` through `endpoint` with the 32-byte secp256k1 `secret`.
    pub fn new(
        store: Arc<dyn Store>,
        origin: Domain,
        endpoint: &str,
        outbox: EvmAddress,
        secret: &[u8; 32],
        directory: Arc<Directory>,
        poll: Duration,
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
        Ok(Dispatcher {
            store,
            origin,
            outbox: Address::from(outbox.0),
            sender,
            provider,
            directory,
            poll,
        })
    }

    /// The messages' sender: the sender key's address.
    pub fn sender(&self) -> Address32 {
        self.sender
    }

    /// Works through the open requests until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            let store = Arc::clone(&self.store);
            let origin = self.origin;
            let open =
                tokio::task::spawn_blocking(move || store.open_send_requests(origin, 32)).await;
            let open = match open {
                Ok(Ok(open)) => open,
                Ok(Err(e)) => {
                    tracing::warn!(origin = %self.origin, error = %e, "dispatcher: reading the send requests failed");
                    Vec::new()
                }
                Err(_) => return,
            };
            if open.is_empty() {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(self.poll) => continue,
                }
            }
            for request in open {
                if cancel.is_cancelled() {
                    return;
                }
                let id = request.id;
                // Stopping mid-dispatch is safe: a request recorded as sealed is looked up on
                // chain by its message id at the next start.
                let outcome = tokio::select! {
                    () = cancel.cancelled() => return,
                    outcome = self.dispatch(request) => outcome,
                };
                if let Err(e) = outcome {
                    tracing::warn!(origin = %self.origin, request = %id, error = %format!("{e:#}"), "dispatcher: a send request failed; it will be tried again");
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(self.poll) => {}
                    }
                }
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> causeway_relayer::store::Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .context("a store task was interrupted")?
            .context("writing the send request to the store")
    }

    async fn fail(&self, request: &SendRequest, reason: String) -> Result<()> {
        let give_up = request.attempts + 1 >= MAX_ATTEMPTS;
        let id = request.id;
        tracing::warn!(origin = %self.origin, request = %id, give_up, %reason, "dispatcher: attempt failed");
        self.blocking(move |s| s.record_send_failure(id, &reason, give_up, UnixMillis::now()))
            .await
    }

    async fn dispatch(&self, request: SendRequest) -> Result<()> {
        let outbox = IOutbox::new(self.outbox, &self.provider);
        if request.state == SendState::Sealed {
            // Sealed before (a crash or an error since): on chain already, or still to send?
            let (Some(nonce), Some(id)) = (request.nonce, request.message_id) else {
                return self.fail(&request, "sealed without a nonce".into()).await;
            };
            if let Some(tx) = self.find_dispatch(id).await? {
                let rid = request.id;
                return self
                    .blocking(move |s| s.record_dispatched(rid, tx, UnixMillis::now()))
                    .await;
            }
            let now = outbox
                .nonce()
                .call()
                .await
                .context("reading the Outbox nonce")?;
            if now != nonce {
                return self
                    .fail(
                        &request,
                        format!("nonce {nonce} was taken by another sender (the Outbox is at {now}); sealing again"),
                    )
                    .await;
            }
            let Some(body) = self.resend_body(&request).await? else {
                return self
                    .fail(&request, "its sealed body is no longer available".into())
                    .await;
            };
            return self.send(&request, body, id).await;
        }
        let nonce = outbox
            .nonce()
            .call()
            .await
            .context("reading the Outbox nonce")?;
        let prepared = match self.prepare(&request, nonce).await {
            Ok(p) => p,
            Err(e) => {
                // Nothing a retry changes (the payload itself is refused): give up at once.
                let rid = request.id;
                let reason = format!("{e:#}");
                return self
                    .blocking(move |s| s.record_send_failure(rid, &reason, true, UnixMillis::now()))
                    .await;
            }
        };
        self.send(&request, prepared.body, prepared.message_id)
            .await
            .map(|_| ())
            .inspect(|()| tracing::debug!(nonce = prepared.nonce, "dispatched"))
    }

    /// The body of a sealed request, rebuilt for a resend: a public body is its payload; a
    /// private one is re-encoded from its stored envelope and disclosure.
    async fn resend_body(&self, request: &SendRequest) -> Result<Option<Vec<u8>>> {
        match request.kind {
            SendKind::Public => Ok(request.payload.clone()),
            _ => {
                let Some(id) = request.message_id else {
                    return Ok(None);
                };
                let Some(env) = self.blocking(move |s| s.envelope(id)).await? else {
                    return Ok(None);
                };
                Ok(body_of_envelope(&env.bytes, env.disclosure.as_deref()))
            }
        }
    }

    /// Seals `request` for `nonce` and records it as sealed (with its envelope) before anything
    /// is sent.
    async fn prepare(&self, request: &SendRequest, nonce: u64) -> Result<Prepared> {
        let payload = request
            .payload
            .clone()
            .context("the request's payload is gone")?;
        let context = EnvelopeContext {
            origin: self.origin,
            destination: request.destination,
            nonce: Nonce(nonce),
            sender: self.sender,
        };
        let (body, envelope) = match request.kind {
            SendKind::Public => (payload, None),
            _ => {
                let directory = Arc::clone(&self.directory);
                let readers = request.readers.clone();
                let disclose = request.disclose.clone();
                tokio::task::spawn_blocking(move || {
                    seal(&directory, context, &payload, &readers, &disclose)
                })
                .await
                .context("the sealing task was interrupted")??
            }
        };
        let message = Message::new(
            Nonce(nonce),
            self.origin,
            self.sender,
            request.destination,
            request.recipient,
            body.clone(),
        )
        .context("the message cannot be encoded")?;
        let message_id = message.id();
        let rid = request.id;
        self.blocking(move |s| {
            let env = envelope
                .as_ref()
                .map(|(bytes, commitment, disclosure)| NewEnvelope {
                    message_id,
                    origin: context.origin,
                    destination: context.destination,
                    nonce,
                    sender: context.sender,
                    commitment: *commitment,
                    bytes,
                    disclosure: disclosure.as_deref(),
                    fetched_from: None,
                });
            s.record_sealed(rid, nonce, message_id, env.as_ref(), UnixMillis::now())
        })
        .await?;
        Ok(Prepared {
            body,
            message_id,
            nonce,
        })
    }

    /// Sends the dispatch transaction and records the outcome from its receipt.
    async fn send(&self, request: &SendRequest, body: Vec<u8>, id: MessageId) -> Result<()> {
        let outbox = IOutbox::new(self.outbox, &self.provider);
        let pending = match outbox
            .dispatch(
                request.destination.0,
                B256::from(request.recipient.0),
                Bytes::from(body),
            )
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                return self
                    .fail(request, format!("the dispatch was refused: {e}"))
                    .await;
            }
        };
        let receipt = pending
            .with_timeout(Some(RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .context("waiting for the dispatch transaction's receipt")?;
        let tx = Hash32(receipt.transaction_hash.0);
        if !receipt.status() {
            return self
                .fail(request, format!("the dispatch transaction {tx} reverted"))
                .await;
        }
        let got = receipt
            .inner
            .logs()
            .iter()
            .filter(|l| l.address() == self.outbox)
            .find_map(|l| IOutbox::Dispatch::decode_log_data(l.data()).ok())
            .map(|e| MessageId(Hash32(e.id.0)));
        if got == Some(id) {
            let rid = request.id;
            tracing::info!(origin = %self.origin, request = %rid, message_id = %id, "dispatched");
            self.blocking(move |s| s.record_dispatched(rid, tx, UnixMillis::now()))
                .await
        } else {
            self.fail(
                request,
                format!(
                    "the Outbox gave the message another nonce than it was sealed for (another \
                     sender was first); transaction {tx}; sealing again"
                ),
            )
            .await
        }
    }

    /// The transaction that dispatched `id`, if the Outbox has emitted it.
    async fn find_dispatch(&self, id: MessageId) -> Result<Option<Hash32>> {
        let filter = Filter::new()
            .address(self.outbox)
            .event_signature(IOutbox::Dispatch::SIGNATURE_HASH)
            .topic1(B256::from(id.0.0))
            .from_block(0);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .context("looking for the message's Dispatch event")?;
        Ok(logs
            .first()
            .and_then(|l| l.transaction_hash)
            .map(|h| Hash32(h.0)))
    }
}

/// The on-chain body of a private message rebuilt from its stored envelope and disclosure JSON
/// (what a resend after a crash sends: the same bytes as first sealed).
pub fn body_of_envelope(envelope: &[u8], disclosure: Option<&str>) -> Option<Vec<u8>> {
    let (header, sealed) = causeway_privacy::envelope::inspect(envelope).ok()?;
    let disclosure = match disclosure {
        Some(text) => Some(serde_json::from_str(text).ok()?),
        None => None,
    };
    body::encode(
        header.context(),
        &sealed.commitment,
        &sealed.inputs,
        disclosure.as_ref(),
        &sealed.envelope,
    )
    .ok()
}

/// The sealed parts of a private request: its on-chain body, and the envelope with its
/// commitment and public disclosure JSON.
type SealedParts = (Vec<u8>, Option<(Vec<u8>, [u8; 32], Option<String>)>);

/// Seals a private payload for `context` to `readers` (member names: the sender, recipients and
/// auditors), disclosing `disclose`; the body is refused if it would exceed the message limit.
pub fn seal(
    directory: &Directory,
    context: EnvelopeContext,
    payload: &[u8],
    readers: &[String],
    disclose: &[String],
) -> Result<SealedParts> {
    let keys = directory.keys_of(readers);
    if keys.len() != readers.len() {
        return Err(anyhow!(
            "a reader is no longer a configured member (readers: {})",
            readers.join(", ")
        ));
    }
    let text = std::str::from_utf8(payload).context("the private payload is not UTF-8")?;
    let (bytes, sealed, committed) = causeway_privacy::envelope::seal_json(
        &SealRequest {
            context,
            recipients: &keys,
        },
        text,
        Padding::PowerOfTwo,
    )
    .context("sealing the private payload")?;
    let disclosure = if disclose.is_empty() {
        None
    } else {
        Some(
            sealed
                .disclose(&committed, disclose)
                .context("disclosing the requested fields")?,
        )
    };
    let body = body::encode(
        &context,
        &sealed.commitment,
        &sealed.inputs,
        disclosure.as_ref(),
        &sealed.envelope,
    )?;
    if body.len() > MAX_BODY_LEN {
        return Err(anyhow!(
            "the on-chain body would be {} bytes, more than the {MAX_BODY_LEN} a message carries \
             (disclose fewer or smaller fields)",
            body.len()
        ));
    }
    let disclosure_json = disclosure
        .map(|d| serde_json::to_string(&d))
        .transpose()
        .context("encoding the disclosure")?;
    Ok((body, Some((bytes, sealed.commitment.0, disclosure_json))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use causeway_privacy::KeyPair;

    #[test]
    fn a_resend_sends_the_body_first_sealed() {
        let own = KeyPair::generate();
        let members = [("org1".to_owned(), *own.public_key())].into();
        let directory = Directory::new("org1".into(), own, members, Default::default());
        let context = EnvelopeContext {
            origin: Domain(1),
            destination: Domain(2),
            nonce: Nonce(4),
            sender: Address32([1; 32]),
        };
        for disclose in [vec![], vec!["a".to_owned()]] {
            let (body, envelope) = seal(
                &directory,
                context,
                br#"{"a": 1, "b": "two"}"#,
                &["org1".to_owned()],
                &disclose,
            )
            .unwrap();
            let (bytes, _, disclosure) = envelope.unwrap();
            assert_eq!(
                body_of_envelope(&bytes, disclosure.as_deref()),
                Some(body),
                "disclosing {disclose:?}"
            );
        }
    }
}
