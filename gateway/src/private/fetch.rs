//! Envelopes of private messages addressed to this organisation: fetched from the members that
//! hold them, opened only against the message read from this gateway's own store (the chain's
//! context and commitment), and kept only once they opened as an original recipient.
//!
//! [`Envelopes`] is shared by the background [`Envelopes::follow`] task (which watches the
//! messages this gateway logs and fetches those whose on-chain recipient list names its key)
//! and the API's decrypt route (which fetches on demand, e.g. for a grantee). A grantee's copy
//! is never cached: each read fetches the grantor's current copy, so a revocation stops it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_peer::{EnvelopeFetcher, EnvelopeFuture, EnvelopeSource, FetchError};
use causeway_privacy::envelope::Access;
use causeway_privacy::{KeyId, OpenedPayload};
use causeway_proofs::MessageId;
use causeway_relayer::pipeline::outage::{Outage, OutageStep};
use causeway_relayer::store::{MessageStatus, NewEnvelope, Store, UnixMillis};
use tokio_util::sync::CancellationToken;

use super::Directory;
use super::body::{self, BodyError, PrivateMessage};

/// Why a private message could not be read here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No such message in this gateway's store (not yet final, or never sent).
    #[error("no message {id} in this gateway's store")]
    UnknownMessage {
        /// The message.
        id: MessageId,
    },
    /// The message is public, or its body is malformed.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// This organisation is not a reader (not a recipient, no live grant).
    #[error("this organisation may not read message {id}: {reason}")]
    NotAReader {
        /// The message.
        id: MessageId,
        /// Why.
        reason: String,
    },
    /// No member that was asked holds its envelope.
    #[error("no member holds the envelope of message {id}")]
    NoEnvelope {
        /// The message.
        id: MessageId,
    },
    /// The store or the members could not answer now.
    #[error("{0}")]
    Unavailable(String),
}

/// The envelopes this gateway holds and fetches.
#[derive(Clone)]
pub struct Envelopes {
    store: Arc<dyn Store>,
    directory: Arc<Directory>,
    fetcher: Option<EnvelopeFetcher>,
}

impl core::fmt::Debug for Envelopes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Envelopes")
            .field("own", &self.directory.own())
            .finish_non_exhaustive()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> causeway_relayer::store::Result<T> + Send + 'static,
) -> Result<T, ReadError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ReadError::Unavailable("a store task was interrupted".into()))?
        .map_err(|e| ReadError::Unavailable(format!("the store could not answer: {e}")))
}

impl Envelopes {
    /// Envelopes in `store`, readable with `directory`'s key, fetched with `fetcher` (none:
    /// only what the store holds).
    pub fn new(
        store: Arc<dyn Store>,
        directory: Arc<Directory>,
        fetcher: Option<EnvelopeFetcher>,
    ) -> Self {
        Envelopes {
            store,
            directory,
            fetcher,
        }
    }

    /// The directory.
    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The private message `id` as this gateway's store has it (from the chain).
    pub async fn message(&self, id: MessageId) -> Result<PrivateMessage, ReadError> {
        let store = Arc::clone(&self.store);
        // The body alone: the follower reads every new message this way, most of them public.
        let message = blocking(move || store.message_body(id))
            .await?
            .ok_or(ReadError::UnknownMessage { id })?;
        Ok(body::decode(&message)?)
    }

    /// Opens message `id` for this organisation: from the stored envelope when it has one,
    /// else fetched from the members (cached only when this organisation is an original
    /// recipient). Always against the commitment in the store's copy of the message.
    pub async fn open(&self, id: MessageId) -> Result<OpenedPayload, ReadError> {
        let private = self.message(id).await?;
        let store = Arc::clone(&self.store);
        if let Some(local) = blocking(move || store.envelope(id)).await? {
            match self.open_bytes(id, &private, &local.bytes).await {
                Ok(opened) => return Ok(opened),
                // A copy granted to us and since revoked on our own copy, or cut: ask again.
                Err(ReadError::NotAReader { .. }) if self.fetcher.is_some() => {}
                Err(e) => return Err(e),
            }
        }
        let (member, bytes) = self.fetch(id).await?;
        let opened = self.open_bytes(id, &private, &bytes).await?;
        if matches!(opened.opened.access, Access::Recipient { .. }) {
            self.keep(&private, id, &bytes, &member).await?;
        }
        Ok(opened)
    }

    async fn open_bytes(
        &self,
        id: MessageId,
        private: &PrivateMessage,
        bytes: &[u8],
    ) -> Result<OpenedPayload, ReadError> {
        let directory = Arc::clone(&self.directory);
        let expected = private.expected;
        let bytes = bytes.to_vec();
        let opened = tokio::task::spawn_blocking(move || {
            causeway_privacy::envelope::open_to_vec(directory.key(), &bytes, &expected)
        })
        .await
        .map_err(|_| ReadError::Unavailable("the opening task was interrupted".into()))?;
        opened.map_err(|e| {
            if e.is_authentication_failure() {
                ReadError::NotAReader {
                    id,
                    reason: e.to_string(),
                }
            } else {
                ReadError::Unavailable(format!("the envelope does not open: {e}"))
            }
        })
    }

    async fn keep(
        &self,
        private: &PrivateMessage,
        id: MessageId,
        bytes: &[u8],
        member: &str,
    ) -> Result<(), ReadError> {
        let store = Arc::clone(&self.store);
        let context = private.expected.context;
        let commitment = private.expected.commitment.0;
        let disclosure = body::disclosure_of(private)?
            .map(|d| serde_json::to_string(&d))
            .transpose()
            .map_err(|e| ReadError::Unavailable(e.to_string()))?;
        let bytes = bytes.to_vec();
        let member = member.to_owned();
        blocking(move || {
            store.store_envelope(
                &NewEnvelope {
                    message_id: id,
                    origin: context.origin,
                    destination: context.destination,
                    nonce: context.nonce.0,
                    sender: context.sender,
                    commitment,
                    bytes: &bytes,
                    disclosure: disclosure.as_deref(),
                    fetched_from: Some(&member),
                },
                UnixMillis::now(),
            )
        })
        .await?;
        Ok(())
    }

    /// The first copy a member serves us: `NotAReader` if every member that holds one refused.
    async fn fetch(&self, id: MessageId) -> Result<(String, Vec<u8>), ReadError> {
        let Some(fetcher) = &self.fetcher else {
            return Err(ReadError::NoEnvelope { id });
        };
        let mut denied = Vec::new();
        let mut failed = Vec::new();
        for member in fetcher.members() {
            match fetcher.fetch(&member, id).await {
                Ok(Some(bytes)) => return Ok((member, bytes)),
                Ok(None) => {}
                Err(FetchError::Denied { member, reason }) => {
                    denied.push(format!("{member}: {reason}"))
                }
                Err(e) => failed.push(e.to_string()),
            }
        }
        if !denied.is_empty() {
            return Err(ReadError::NotAReader {
                id,
                reason: denied.join("; "),
            });
        }
        if !failed.is_empty() {
            return Err(ReadError::Unavailable(failed.join("; ")));
        }
        Err(ReadError::NoEnvelope { id })
    }

    /// Follows the messages this gateway logs and fetches, from the other members, the
    /// envelope of each private message whose on-chain recipients name this organisation's
    /// key, until `cancel`. A message whose envelope cannot be had yet is tried again each
    /// `poll`, up to `attempts` times (then logged and left to the decrypt route).
    pub async fn follow(self, poll: Duration, attempts: u32, cancel: CancellationToken) {
        let own: KeyId = self.directory.key().key_id();
        let mut after = 0u64;
        let mut waiting: Vec<(MessageId, u32)> = Vec::new();
        let mut outage = Outage::default();
        loop {
            let store = Arc::clone(&self.store);
            let events = blocking(move || store.events_after(after, 256)).await;
            match events {
                Ok(events) => {
                    if let Some(ended) = outage.succeeded(Instant::now()) {
                        tracing::info!(
                            failed_polls = ended.failures,
                            down_ms = ended.lasted.as_millis() as u64,
                            "envelopes: reading new messages works again"
                        );
                    }
                    for e in &events {
                        after = after.max(e.seq);
                        if e.status == MessageStatus::Logged {
                            waiting.push((e.id, 0));
                        }
                    }
                }
                Err(e) => match outage.failed(Instant::now()) {
                    OutageStep::Began => tracing::warn!(
                        error = %e,
                        "envelopes: reading new messages failed; retrying every poll (one line \
                         when it works again, a reminder every 5 minutes until then)"
                    ),
                    OutageStep::Remind { failures, lasted } => tracing::warn!(
                        error = %e,
                        failed_polls = failures,
                        down_s = lasted.as_secs(),
                        "envelopes: reading new messages still fails"
                    ),
                    OutageStep::Quiet => {
                        tracing::debug!(error = %e, "envelopes: reading new messages failed")
                    }
                },
            }
            let mut next = Vec::new();
            for (id, tries) in waiting.drain(..) {
                let taken = tokio::select! {
                    () = cancel.cancelled() => return,
                    taken = self.take(id, own) => taken,
                };
                match taken {
                    Ok(()) => {}
                    Err(e) if tries + 1 < attempts => {
                        tracing::debug!(message_id = %id, error = %e, "envelopes: not fetched yet");
                        next.push((id, tries + 1));
                    }
                    Err(e) => {
                        tracing::warn!(message_id = %id, error = %e, "envelopes: giving up fetching")
                    }
                }
            }
            waiting = next;
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Fetches and keeps the envelope of `id` if it is a private message for `own`.
    async fn take(&self, id: MessageId, own: KeyId) -> Result<(), ReadError> {
        let private = match self.message(id).await {
            Ok(p) => p,
            Err(ReadError::Body(BodyError::NotPrivate)) => return Ok(()),
            Err(e) => return Err(e),
        };
        if !private.is_for(&own) {
            return Ok(());
        }
        let store = Arc::clone(&self.store);
        if blocking(move || store.envelope(id)).await?.is_some() {
            return Ok(());
        }
        self.open(id).await.map(|_| {
            tracing::info!(message_id = %id, "envelopes: fetched and opened a private message for this organisation");
        })
    }
}

/// The peer server's view of this gateway's envelopes: the stored bytes, and the members'
/// privacy key ids (the server decides who may read).
#[derive(Clone, Debug)]
pub struct StoredEnvelopes(pub Envelopes);

impl EnvelopeSource for StoredEnvelopes {
    fn envelope(&self, id: MessageId) -> EnvelopeFuture<'_> {
        let store = Arc::clone(&self.0.store);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || store.envelope(id))
                .await
                .map_err(|_| "the store task was interrupted".to_owned())?
                .map(|e| e.map(|e| e.bytes))
                .map_err(|e| format!("the store could not answer: {e}"))
        })
    }

    fn member_key(&self, member: &str) -> Option<KeyId> {
        self.0.directory.public_key(member).map(|pk| pk.key_id())
    }
}
