//! The dispatcher of one origin chain: sends the requests `POST /v1/messages` recorded on the
//! chain's Outbox (an EVM or FISCO BCOS Outbox contract, or Fabric's outbox chaincode) from the
//! configured sender, oldest first, one at a time.
//!
//! What every family shares lives here ([`Dispatcher`]): leasing a request from the store,
//! sealing a private payload for the nonce the Outbox shows *now*, recording the request as
//! sealed (nonce, message id, envelope) **before** anything is sent, recording the outcome,
//! and after a crash or a takeover asking the chain whether a sealed request landed before
//! sending it again. What differs is behind [`Origin`]: reading the Outbox nonce, submitting
//! one dispatch and saying where it landed, and finding whether an earlier submission landed
//! ([`evm`], [`fabric`], [`fisco`]).
//!
//! # Exactly once across replicas
//!
//! Several replicas of one gateway on one store each run a dispatcher per origin. A request is
//! leased to one of them ([`OutboundStore::lease_send_requests`]: owner, end, generation; the
//! lease is renewed while the dispatch runs), and every record about it names the lease, so a
//! dispatcher that stalled past its lease cannot overwrite the record of the one that took the
//! request over; the new holder resumes from that record (sealed: look the message up first).
//!
//! The Outbox numbers messages with one counter for every sender, and a message id binds its
//! nonce, so a message id lands at most once. A dispatch names the nonce it was sealed for
//! (`dispatchAt` on EVM and FISCO BCOS; on Fabric the endorsed transaction commits only if the
//! nonce key it read is unchanged, one commit per transaction id), so if another sender took
//! the nonce the transaction reverts instead of sending the message again under the next one.
//! Before a missed request is sealed again the chain is asked whether its message landed after
//! all (an earlier holder's transaction committed meanwhile); only then is it sealed for the
//! next nonce (bounded attempts, then `failed` with the reason).
//!
//! # One request never holds the others back
//!
//! An attempt that fails for a reason not the request's own (the origin's node unreachable, the
//! store away, the nonce held by a transaction not yet final) is not counted, but the request is
//! put off ([`OutboundStore::defer_send_request`]): released, with a backoff of its own that
//! doubles with every deferral ([`Dispatcher::backoff`]), so the requests behind it are leased
//! meanwhile and none is tried at every poll.
//!
//! It is warned about once (its first deferral, the start of a contention episode), then logged
//! at debug.
//!
//! A refusal that concerns the sender account or the origin's node as a whole
//! ([`Landing::SenderRefused`]: the account out of funds for gas, the node's pool full for it, a
//! gap in its nonces, the node away or rate-limiting) would refuse every request alike, so it
//! is charged to none: the request is released uncounted and the whole dispatcher pauses, its
//! pause doubling with each refusal in a row (up to [`MAX_BACKOFF`]), with one warning that
//! names the fix ("fund account 0x… on chain …") and one line when the chain takes the
//! account's transactions again.
//!
//! An attempt that fails for the request's own reason (a revert or a refusal while its nonce is
//! free) is counted, and the request, sent again as sealed, waits a backoff of its own as well
//! ([`AfterFailure::SendAgain`]: the poll interval doubled with each counted attempt, on the
//! lease clock), so a refusal that lasts a few seconds does not use up its [`MAX_ATTEMPTS`] in
//! as many polls.
//!
//! A nonce held by a transaction that is never mined (too low a fee, dropped by the node) would
//! hold its request forever; once an episode lasted [`Dispatcher::replacing_after`], the
//! dispatcher sends the request in its place ([`Origin::replace`]: on EVM, the same account
//! nonce with a higher fee). Each replacement counts as a failed attempt, so a nonce that stays
//! held ends, after [`MAX_ATTEMPTS`], in `failed` with the reason (shown by
//! `GET /v1/requests/{id}`), never in a silent loop.
//!
//! [`OutboundStore::defer_send_request`]: causeway_relayer::store::OutboundStore::defer_send_request
//! [`OutboundStore::lease_send_requests`]: causeway_relayer::store::OutboundStore::lease_send_requests

pub mod evm;
pub mod fabric;
pub mod fisco;

/// The dispatcher's test fault (devnet builds only).
#[cfg(feature = "devnet")]
pub mod faults;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use causeway_privacy::disclosure::Padding;
use causeway_privacy::envelope::{EnvelopeContext, SealRequest};
use causeway_proofs::message::MAX_BODY_LEN;
use causeway_proofs::{Address32, Domain, EvmAddress, Hash32, Message, MessageId, Nonce};
use causeway_relayer::pipeline::outage::{Outage, OutageStep};
use causeway_relayer::store::{
    AfterFailure, Holdup, LeaseOwner, NewEnvelope, SendKind, SendLease, SendLeaseRequest,
    SendRequest, SendRequestId, SendState, Store, UnixMillis,
};
use tokio_util::sync::CancellationToken;

use super::Directory;
use super::body;

pub use evm::EvmOrigin;
pub use fabric::FabricOrigin;
pub use fisco::FiscoOrigin;

/// Failed attempts before a request is given up (a revert or a refusal while its nonce is
/// free counts one; a nonce another dispatch took first does not: that is someone's progress).
pub const MAX_ATTEMPTS: u32 = 8;
/// How long a dispatch transaction may take to be mined or committed.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a dispatcher's lease on a request lasts unless set ([`Dispatcher::leased_as`]); it
/// is renewed every third of it while the dispatch runs.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// How long a request's nonce may stay held by a transaction not yet final before the
/// dispatcher sends the request in its place, unless set ([`Dispatcher::replacing_after`];
/// `[relayer] send_replace_after_ms`).
pub const DEFAULT_REPLACE_AFTER: Duration = Duration::from_secs(180);
/// The longest a request is put off after attempts that failed for reasons not its own.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A sealed request as an [`Origin`] sees it: the message to dispatch and what the store
/// recorded about it.
#[derive(Clone, Copy, Debug)]
pub struct Sealed {
    /// The request's number (unique in the store).
    pub request: SendRequestId,
    /// The Outbox nonce it was sealed for.
    pub nonce: u64,
    /// The message id it gets at that nonce.
    pub message_id: MessageId,
    /// Failed attempts before this one (a new attempt is a new transaction).
    pub attempt: u32,
    /// The transaction recorded for it before it was broadcast, if any.
    pub tx: Option<Hash32>,
    /// The destination domain.
    pub destination: Domain,
    /// The recipient on the destination.
    pub recipient: Address32,
}

/// What a chain says about a sealed request's earlier submissions ([`Origin::find`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// It landed in this transaction.
    Landed(Hash32),
    /// Its transaction is final and did not dispatch it (the reason): seal it again.
    Missed(String),
    /// Nothing of it is on chain, and no earlier submission can land any more without the
    /// next one being refused by the chain: send it (again).
    NotFound,
}

/// What one submission did ([`Origin::broadcast`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Landing {
    /// Dispatched under the sealed message id, in this transaction.
    Landed(Hash32),
    /// Not dispatched under it (reverted, refused): the reason; the request is sealed again
    /// once the Outbox is past its nonce, else sent again.
    Missed(String),
    /// Not sent: a dispatch not yet final already holds the sealed nonce (the node's pending
    /// block shows it taken). No attempt is counted; the request stays sealed and is tried again
    /// after a poll, when that dispatch is final.
    Contended(String),
    /// Not sent: the chain, or its node, refused the sender account or any work as a whole
    /// (the account out of funds for gas, the node's pool full for it, a gap in its nonces, the
    /// node unreachable or rate-limiting): no fault of this request's. No attempt is counted;
    /// the request is released and the whole dispatcher backs off until the chain takes the
    /// account's transactions again.
    SenderRefused(SenderRefused),
}

/// The chain refused the sender account or its node refused work, not one request
/// ([`Landing::SenderRefused`]): what the node said and what the operator does about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderRefused {
    /// What the node said.
    pub reason: String,
    /// What fixes it (`fund account 0x… on chain …`).
    pub fix: String,
}

impl core::fmt::Display for SenderRefused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "the origin refuses the sender account as a whole: {} (fix: {})",
            self.reason, self.fix
        )
    }
}

impl std::error::Error for SenderRefused {}

/// A request's nonce is held by a dispatch not yet final (the reason): not an attempt of its
/// own; it is put off ([`Holdup::Contended`]) and tried again.
#[derive(Debug)]
struct HeldNonce(String);

impl core::fmt::Display for HeldNonce {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HeldNonce {}

/// A submission made ready by [`Origin::prepare`].
#[derive(Debug)]
pub enum Prepared<T> {
    /// Ready to broadcast; `tx` is its transaction id when it is known before broadcasting
    /// (recorded first, for the crash lookup).
    Ready {
        /// The transaction id, when known in advance.
        tx: Option<Hash32>,
        /// What [`Origin::broadcast`] sends.
        transaction: T,
    },
    /// The chain already shows it would not dispatch the sealed message (the reason).
    Missed(String),
}

/// A chain family's side of dispatching: its Outbox's nonce, one submission, and the lookup
/// of earlier ones. Everything else (the store, sealing, retries) is [`Dispatcher`]'s.
pub trait Origin: Send + Sync + 'static {
    /// What [`Origin::prepare`] hands to [`Origin::broadcast`].
    type Transaction: Send;

    /// The messages' sender on this chain (the Outbox's `sender` field of each message).
    fn sender(&self) -> Address32;

    /// The nonce the Outbox gives the next message.
    fn next_nonce(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Whether an earlier submission of `sealed` landed (after a crash or an error).
    fn find(&self, sealed: &Sealed) -> impl Future<Output = Result<Found>> + Send;

    /// Makes the submission of `sealed` with `body` ready (built, signed, endorsed).
    fn prepare(
        &self,
        sealed: &Sealed,
        body: &[u8],
    ) -> impl Future<Output = Result<Prepared<Self::Transaction>>> + Send;

    /// Sends a prepared submission and waits until it is final (bounded).
    fn broadcast(
        &self,
        sealed: &Sealed,
        transaction: Self::Transaction,
    ) -> impl Future<Output = Result<Landing>> + Send;

    /// Sends `sealed` with `body` in place of the transaction not yet final that has held its
    /// nonce for too long (on an account-nonce chain: at the sender account's first unmined
    /// nonce, with a higher fee the more attempts `sealed` has failed), and waits until it is
    /// final (bounded). `Ok(None)`: this family has nothing to replace (the attempt is counted).
    fn replace(
        &self,
        sealed: &Sealed,
        body: &[u8],
    ) -> impl Future<Output = Result<Option<Landing>>> + Send {
        let _ = (sealed, body);
        async { Ok(None) }
    }
}

/// One origin chain's dispatcher (an EVM one unless named otherwise).
pub struct Dispatcher<O = EvmOrigin> {
    store: Arc<dyn Store>,
    origin: Domain,
    chain: O,
    directory: Arc<Directory>,
    poll: Duration,
    owner: LeaseOwner,
    lease_for: Duration,
    replace_after: Duration,
}

impl<O> core::fmt::Debug for Dispatcher<O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// What sealing a request produced: the body to dispatch and the id it will have.
struct Fresh {
    body: Vec<u8>,
    message_id: MessageId,
    nonce: u64,
}

impl Dispatcher<EvmOrigin> {
    /// A dispatcher sending on the EVM `outbox` through `endpoint` with the 32-byte secp256k1
    /// `secret`.
    pub fn new(
        store: Arc<dyn Store>,
        origin: Domain,
        endpoint: &str,
        outbox: EvmAddress,
        secret: &[u8; 32],
        directory: Arc<Directory>,
        poll: Duration,
    ) -> Result<Self> {
        let chain = EvmOrigin::new(origin, endpoint, outbox, secret)?;
        Ok(Self::with_origin(store, origin, chain, directory, poll))
    }
}

impl<O: Origin> Dispatcher<O> {
    /// A dispatcher of domain `origin` sending through `chain`.
    pub fn with_origin(
        store: Arc<dyn Store>,
        origin: Domain,
        chain: O,
        directory: Arc<Directory>,
        poll: Duration,
    ) -> Self {
        Dispatcher {
            store,
            origin,
            chain,
            directory,
            poll,
            owner: LeaseOwner::unique(),
            lease_for: DEFAULT_LEASE,
            replace_after: DEFAULT_REPLACE_AFTER,
        }
    }

    /// The same dispatcher leasing requests as `owner` (the gateway replica's name: one live
    /// instance per name, and a restart under it takes its requests back at once) for
    /// `lease_for` at a time (another replica takes a request over once its lease ended).
    pub fn leased_as(mut self, owner: LeaseOwner, lease_for: Duration) -> Self {
        self.owner = owner;
        self.lease_for = lease_for.max(Duration::from_millis(30));
        self
    }

    /// The same dispatcher sending a request in place of the transaction not yet final that
    /// held its nonce for `after` ([`Origin::replace`]; see the module docs).
    pub fn replacing_after(mut self, after: Duration) -> Self {
        self.replace_after = after;
        self
    }

    /// How long a request is put off after `n` deferrals in a row, or waits to be sent again
    /// after `n` counted failed attempts before the one that just failed: the poll interval,
    /// doubled each time, at most [`MAX_BACKOFF`].
    pub fn backoff(&self, n: u32) -> Duration {
        self.poll.saturating_mul(1u32 << n.min(16)).min(MAX_BACKOFF)
    }

    /// The messages' sender.
    pub fn sender(&self) -> Address32 {
        self.chain.sender()
    }

    /// Works through the open requests, one lease at a time, until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        // Refusals of the sender account as a whole in a row (see `refused_sender`).
        let mut refusals = 0u32;
        // A lease the store refuses at every poll (a failover, a read-only server) is warned
        // about when it starts failing, recalled every `Outage::REMIND`, and its end logged
        // once, not warned about per poll (the store's failure metrics count each).
        let mut outage = Outage::default();
        loop {
            let store = Arc::clone(&self.store);
            let (origin, owner, lease_for) = (self.origin, self.owner.clone(), self.lease_for);
            // One request at a time: a lease runs while its dispatch does, and the others stay
            // free for the other replicas.
            let leased = tokio::task::spawn_blocking(move || {
                store.lease_send_requests(&SendLeaseRequest {
                    origin,
                    owner: &owner,
                    limit: 1,
                    lease_for,
                    now: UnixMillis::now(),
                })
            })
            .await;
            let leased = match leased {
                Ok(Ok(leased)) => {
                    if let Some(ended) = outage.succeeded(Instant::now()) {
                        tracing::info!(
                            origin = %self.origin,
                            failures = ended.failures,
                            down_ms = ended.lasted.as_millis() as u64,
                            "dispatcher: leasing send requests works again"
                        );
                    }
                    leased
                }
                Ok(Err(e)) => {
                    let error = &e as &dyn std::error::Error;
                    match outage.failed(Instant::now()) {
                        OutageStep::Began => tracing::warn!(
                            origin = %self.origin,
                            error,
                            "dispatcher: leasing a send request failed; retrying at every poll \
                             (the store must take writes again: check that it is up and \
                             writable; one line when it works again, a reminder every {} \
                             minutes until then)",
                            Outage::REMIND.as_secs() / 60
                        ),
                        OutageStep::Remind { failures, lasted } => tracing::warn!(
                            origin = %self.origin,
                            error,
                            failures,
                            down_s = lasted.as_secs(),
                            "dispatcher: leasing send requests still fails"
                        ),
                        OutageStep::Quiet => {
                            tracing::debug!(origin = %self.origin, error, "dispatcher: leasing a send request failed")
                        }
                    }
                    Vec::new()
                }
                // The leasing task panicked (a bug): this dispatcher dies with that panic, so
                // the gateway's supervisor logs its cause and stops the gateway
                // (`node::supervise`), instead of the dispatcher ending silently.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Cancelled: only when the runtime shuts down.
                Err(_) => return,
            };
            if leased.is_empty() {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(self.poll) => continue,
                }
            }
            for request in leased {
                if cancel.is_cancelled() {
                    return;
                }
                let (id, deferrals, contended) =
                    (request.id, request.deferrals, request.contended_since);
                let Some(lease) = request.lease.clone() else {
                    continue;
                };
                // Stopping mid-dispatch is safe: a request recorded as sealed is looked up on
                // chain by whichever dispatcher leases it next.
                let outcome = tokio::select! {
                    () = cancel.cancelled() => return,
                    outcome = self.holding(&lease, self.dispatch(request, &lease)) => outcome,
                };
                let refused =
                    matches!(&outcome, Err(e) if e.chain().any(|c| c.is::<SenderRefused>()));
                if !refused && refusals > 0 {
                    // Whatever came of this attempt, the chain no longer refused the account.
                    tracing::info!(origin = %self.origin, sender = %self.chain.sender(), refusals, "dispatcher: the origin takes the sender account's transactions again");
                    refusals = 0;
                }
                match outcome {
                    Ok(()) => {}
                    Err(e) if lease_lost(&e) => {
                        tracing::info!(origin = %self.origin, request = %id, error = %format!("{e:#}"), "dispatcher: another dispatcher took the send request over; leaving it");
                    }
                    Err(e) if refused => {
                        if !self.refused_sender(&lease, &e, refusals, &cancel).await {
                            return;
                        }
                        refusals = refusals.saturating_add(1);
                    }
                    Err(e) => {
                        let holdup = if e.chain().any(|c| c.is::<HeldNonce>()) {
                            Holdup::Contended
                        } else {
                            Holdup::Fault
                        };
                        self.put_off(&lease, &e, holdup, deferrals, contended.is_some())
                            .await;
                    }
                }
            }
        }
    }

    /// The chain refused the sender account as a whole ([`SenderRefused`] in `e`) for the
    /// `refusals`-th time in a row: the request of `lease` is released uncounted
    /// ([`Holdup::Sender`]: no backoff or deferral of its own, the oldest goes first again),
    /// and the whole dispatcher waits its backoff ([`Dispatcher::backoff`] of `refusals`), since
    /// every other request would be refused alike. Warned about once per episode, with the fix;
    /// `false` once `cancel` fired.
    async fn refused_sender(
        &self,
        lease: &SendLease,
        e: &anyhow::Error,
        refusals: u32,
        cancel: &CancellationToken,
    ) -> bool {
        let (origin, id) = (self.origin, lease.request);
        let pause = self.backoff(refusals);
        let refusal = e.chain().find_map(|c| c.downcast_ref::<SenderRefused>());
        let (reason, fix) = refusal.map_or_else(
            || (format!("{e:#}"), String::new()),
            |r| (r.reason.clone(), r.fix.clone()),
        );
        if refusals == 0 {
            tracing::warn!(
                %origin, request = %id, %reason, %fix, pause_ms = pause.as_millis() as u64,
                "dispatcher: the origin refuses the sender account as a whole, not this request; \
                 no request is charged an attempt, sending pauses (backoff doubling up to a \
                 minute) until it takes the account's transactions again. Fix: {fix}"
            );
        } else {
            tracing::debug!(%origin, request = %id, %reason, refusals, pause_ms = pause.as_millis() as u64, "dispatcher: the sender account is still refused");
        }
        let (held, error) = (lease.clone(), format!("{e:#}"));
        let recorded = self
            .blocking(move |s| {
                s.defer_send_request(
                    &held,
                    &error,
                    Duration::ZERO,
                    Holdup::Sender,
                    UnixMillis::now(),
                )
            })
            .await;
        if let Err(e) = recorded
            && !lease_lost(&e)
        {
            tracing::debug!(%origin, request = %id, error = %format!("{e:#}"), "dispatcher: could not release the send request");
        }
        tokio::select! {
            () = cancel.cancelled() => false,
            () = tokio::time::sleep(pause) => true,
        }
    }

    /// Puts the request of `lease` off after an attempt that failed with `e` for a reason not
    /// its own (`holdup`), so the requests behind it go ahead: warned about on its first
    /// deferral and when a contention episode starts, at debug level after that. If even that
    /// cannot be recorded (the store is away), the lease ends on its own and the request is
    /// leased again then; the loop waits a poll.
    async fn put_off(
        &self,
        lease: &SendLease,
        e: &anyhow::Error,
        holdup: Holdup,
        deferrals: u32,
        contended: bool,
    ) {
        let (origin, id) = (self.origin, lease.request);
        let delay = self.backoff(deferrals);
        let error = format!("{e:#}");
        let retry_ms = delay.as_millis() as u64;
        match holdup {
            Holdup::Contended if !contended => tracing::warn!(
                %origin, request = %id, %error, retry_ms,
                replace_after_s = self.replace_after.as_secs(),
                "dispatcher: the send request's nonce is held by a transaction not yet final; \
                 waiting for it (replaced if it is not final in time)"
            ),
            Holdup::Fault if deferrals == 0 => tracing::warn!(
                %origin, request = %id, %error, retry_ms,
                "dispatcher: a send request's attempt failed; putting it off (backoff doubling \
                 up to a minute; the requests behind it go ahead)"
            ),
            _ => {
                tracing::debug!(%origin, request = %id, %error, retry_ms, deferrals, "dispatcher: send request put off again")
            }
        }
        let held = lease.clone();
        let recorded = self
            .blocking(move |s| {
                s.defer_send_request(&held, &error, delay, holdup, UnixMillis::now())
            })
            .await;
        if let Err(e) = recorded
            && !lease_lost(&e)
        {
            tracing::debug!(%origin, request = %id, error = %format!("{e:#}"), "dispatcher: could not put the send request off");
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Runs `work` while renewing `lease` every third of its length; stops it (an error) once
    /// the lease is lost (another dispatcher took the request over: it resumes from the record).
    async fn holding(
        &self,
        lease: &SendLease,
        work: impl Future<Output = Result<()>>,
    ) -> Result<()> {
        let renewals = async {
            loop {
                tokio::time::sleep(self.lease_for / 3).await;
                let (held, lease_for) = (lease.clone(), self.lease_for);
                match self
                    .blocking(move |s| s.renew_send_lease(&held, lease_for, UnixMillis::now()))
                    .await
                {
                    Ok(_) => {}
                    Err(e) if lease_lost(&e) => return e,
                    // The store is unreachable: try again; if the lease ends meanwhile, the
                    // next write under it says so.
                    Err(e) => {
                        tracing::warn!(origin = %self.origin, request = %lease.request, error = %format!("{e:#}"), "dispatcher: renewing a send request's lease failed");
                    }
                }
            }
        };
        tokio::select! {
            out = work => out,
            lost = renewals => Err(lost.context("the send request's lease was lost mid-dispatch")),
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

    /// Records a failed attempt: `then` is [`AfterFailure::SealAgain`] (a lost nonce, not
    /// counted), [`AfterFailure::GiveUp`], or sent again ([`Dispatcher::send_again`]) after the
    /// backoff of its counted attempts; given up once the attempts are used up.
    async fn fail(
        &self,
        request: &SendRequest,
        lease: &SendLease,
        reason: String,
        then: AfterFailure,
    ) -> Result<()> {
        // A lost nonce (sealed again) is not counted; the others are, up to MAX_ATTEMPTS.
        let then = if then != AfterFailure::SealAgain && request.attempts + 1 >= MAX_ATTEMPTS {
            AfterFailure::GiveUp
        } else {
            then
        };
        let id = request.id;
        tracing::warn!(origin = %self.origin, request = %id, ?then, attempt = request.attempts + 1, %reason, "dispatcher: attempt failed");
        let lease = lease.clone();
        self.blocking(move |s| s.record_send_failure(&lease, &reason, then, UnixMillis::now()))
            .await
    }

    /// The chain did not take `sealed` as sent (`reason`). Unless its message landed after all
    /// (an earlier holder's transaction, committed since), a failed attempt: sealed again for
    /// the next nonce only once the Outbox is past the sealed one (the message id binds its
    /// nonce, so it can never land any more), else sent again as sealed. `contended`: the nonce
    /// is held by a dispatch not yet final, so while the Outbox is not past it nothing is
    /// counted (an error: tried again after a poll).
    async fn missed(
        &self,
        request: &SendRequest,
        lease: &SendLease,
        sealed: &Sealed,
        reason: String,
        contended: bool,
    ) -> Result<()> {
        // The nonce first, then the lookup: a message not found after the Outbox was seen past
        // its nonce never lands.
        let next = self
            .chain
            .next_nonce()
            .await
            .context("reading the Outbox nonce after a missed dispatch")?;
        if let Found::Landed(tx) = self
            .chain
            .find(sealed)
            .await
            .context("checking whether a missed dispatch's message landed anyway")?
        {
            return self.landed(request, lease, sealed.message_id, tx).await;
        }
        if next > sealed.nonce {
            self.fail(request, lease, reason, AfterFailure::SealAgain)
                .await
        } else if contended {
            Err(anyhow!(HeldNonce(format!(
                "{reason}; the Outbox is still at {next}: waiting for the dispatch that holds it"
            ))))
        } else {
            self.fail(request, lease, reason, self.send_again(request))
                .await
        }
    }

    /// A counted failed attempt of `request` whose message can still land at its nonce: sent
    /// again as sealed once the poll interval, doubled with each attempt it failed before this
    /// one, has passed (at most [`MAX_BACKOFF`]), so that a refusal lasting a while (a
    /// recipient or node that refuses for a minute) does not use up its [`MAX_ATTEMPTS`] in as
    /// many polls, and the requests behind it are leased meanwhile.
    fn send_again(&self, request: &SendRequest) -> AfterFailure {
        AfterFailure::SendAgain {
            after: self.backoff(request.attempts),
        }
    }

    async fn landed(
        &self,
        request: &SendRequest,
        lease: &SendLease,
        message_id: MessageId,
        tx: Hash32,
    ) -> Result<()> {
        let rid = request.id;
        tracing::info!(origin = %self.origin, request = %rid, %message_id, %tx, "dispatched");
        let lease = lease.clone();
        self.blocking(move |s| s.record_dispatched(&lease, tx, UnixMillis::now()))
            .await
    }

    async fn dispatch(&self, request: SendRequest, lease: &SendLease) -> Result<()> {
        if request.state == SendState::Sealed {
            // Sealed before (a crash, an error or another dispatcher since): on chain already,
            // or still to send?
            let (Some(nonce), Some(id)) = (request.nonce, request.message_id) else {
                return self
                    .fail(
                        &request,
                        lease,
                        "sealed without a nonce".into(),
                        AfterFailure::SealAgain,
                    )
                    .await;
            };
            let sealed = sealed(&request, nonce, id);
            match self.chain.find(&sealed).await? {
                Found::Landed(tx) => return self.landed(&request, lease, id, tx).await,
                Found::Missed(reason) => {
                    return self.missed(&request, lease, &sealed, reason, false).await;
                }
                Found::NotFound => {}
            }
            let now = self
                .chain
                .next_nonce()
                .await
                .context("reading the Outbox nonce")?;
            if now != nonce {
                // The nonce moved since the lookup: by this very message (an earlier holder's
                // transaction), or by another sender's.
                return self
                    .missed(
                        &request,
                        lease,
                        &sealed,
                        format!("nonce {nonce} was taken by another sender (the Outbox is at {now}); sealing again"),
                        false,
                    )
                    .await;
            }
            let Some(body) = self.resend_body(&request).await? else {
                // Never sent again with another body: given up.
                return self
                    .fail(
                        &request,
                        lease,
                        "its sealed body is no longer available".into(),
                        AfterFailure::GiveUp,
                    )
                    .await;
            };
            return self.send(&request, lease, &sealed, &body).await;
        }
        let nonce = self
            .chain
            .next_nonce()
            .await
            .context("reading the Outbox nonce")?;
        let fresh = match self.prepare(&request, lease, nonce).await {
            Ok(p) => p,
            // The store did not take the seal (the lease was lost, or the store is away):
            // nothing was sent; the next round (of whoever holds the request) tries again.
            Err(e) if store_error(&e) => return Err(e),
            Err(e) => {
                // Nothing a retry changes (the payload itself is refused): give up at once.
                let reason = format!("{e:#}");
                let lease = lease.clone();
                return self
                    .blocking(move |s| {
                        s.record_send_failure(
                            &lease,
                            &reason,
                            AfterFailure::GiveUp,
                            UnixMillis::now(),
                        )
                    })
                    .await;
            }
        };
        let sealed = Sealed {
            tx: None,
            ..sealed(&request, fresh.nonce, fresh.message_id)
        };
        self.send(&request, lease, &sealed, &fresh.body).await
    }

    /// Prepares the submission, records its transaction id when known in advance, broadcasts
    /// it and records the outcome.
    async fn send(
        &self,
        request: &SendRequest,
        lease: &SendLease,
        sealed: &Sealed,
        body: &[u8],
    ) -> Result<()> {
        let transaction = match self.chain.prepare(sealed, body).await? {
            Prepared::Ready { tx, transaction } => {
                if let Some(tx) = tx {
                    let held = lease.clone();
                    self.blocking(move |s| s.record_submitted(&held, tx, UnixMillis::now()))
                        .await?;
                }
                transaction
            }
            Prepared::Missed(reason) => {
                return self.missed(request, lease, sealed, reason, false).await;
            }
        };
        match self.chain.broadcast(sealed, transaction).await? {
            Landing::Landed(tx) => {
                #[cfg(feature = "devnet")]
                faults::after_dispatch(request.id, sealed.message_id, tx).await;
                self.landed(request, lease, sealed.message_id, tx).await
            }
            Landing::Missed(reason) => self.missed(request, lease, sealed, reason, false).await,
            Landing::SenderRefused(refusal) => Err(anyhow!(refusal)),
            Landing::Contended(reason) => match request.contended_since {
                Some(since)
                    if UnixMillis::now().0.saturating_sub(since.0)
                        >= self.replace_after.as_millis() as u64 =>
                {
                    self.replace(request, lease, sealed, body, reason, since)
                        .await
                }
                _ => self.missed(request, lease, sealed, reason, true).await,
            },
        }
    }

    /// The nonce of `sealed` has been held by a transaction not yet final since `since`, past
    /// [`Dispatcher::replacing_after`]: sends the request in its place; a counted attempt
    /// whatever comes of it, unless its message landed.
    async fn replace(
        &self,
        request: &SendRequest,
        lease: &SendLease,
        sealed: &Sealed,
        body: &[u8],
        reason: String,
        since: UnixMillis,
    ) -> Result<()> {
        let held_s = UnixMillis::now().0.saturating_sub(since.0) / 1_000;
        tracing::warn!(
            origin = %self.origin, request = %request.id, nonce = sealed.nonce, held_s,
            attempt = sealed.attempt + 1,
            "dispatcher: the send request's nonce has been held by a transaction not final for \
             too long; sending the request in its place"
        );
        let reason = format!("{reason}; held for {held_s} s");
        match self.chain.replace(sealed, body).await? {
            Some(Landing::Landed(tx)) => self.landed(request, lease, sealed.message_id, tx).await,
            Some(Landing::SenderRefused(refusal)) => Err(anyhow!(refusal)),
            Some(Landing::Missed(why)) | Some(Landing::Contended(why)) => {
                self.missed(
                    request,
                    lease,
                    sealed,
                    format!("{reason}; its replacement: {why}"),
                    false,
                )
                .await
            }
            None => {
                self.missed(
                    request,
                    lease,
                    sealed,
                    format!("{reason}; this chain has no way to replace it"),
                    false,
                )
                .await
            }
        }
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
    async fn prepare(&self, request: &SendRequest, lease: &SendLease, nonce: u64) -> Result<Fresh> {
        let payload = request
            .payload
            .clone()
            .context("the request's payload is gone")?;
        let context = EnvelopeContext {
            origin: self.origin,
            destination: request.destination,
            nonce: Nonce(nonce),
            sender: self.chain.sender(),
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
            self.chain.sender(),
            request.destination,
            request.recipient,
            body.clone(),
        )
        .context("the message cannot be encoded")?;
        let message_id = message.id();
        let lease = lease.clone();
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
            s.record_sealed(&lease, nonce, message_id, env.as_ref(), UnixMillis::now())
        })
        .await?;
        Ok(Fresh {
            body,
            message_id,
            nonce,
        })
    }
}

/// Whether `e` says a send request's lease was lost (another dispatcher holds it now).
fn lease_lost(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<causeway_relayer::Error>(),
            Some(causeway_relayer::Error::SendLeaseLost { .. })
        )
    })
}

/// Whether `e` came from the store (not from the request itself).
fn store_error(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<causeway_relayer::Error>().is_some())
}

/// The [`Sealed`] view of `request` at `nonce` as `message_id`.
fn sealed(request: &SendRequest, nonce: u64, message_id: MessageId) -> Sealed {
    Sealed {
        request: request.id,
        nonce,
        message_id,
        attempt: request.attempts,
        tx: request.tx_hash,
        destination: request.destination,
        recipient: request.recipient,
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
    use causeway_relayer::store::{NewSendRequest, OutboundStore as _, SqliteStore};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// An Outbox in memory that turns away every dispatch of one request (its `target`) with
    /// `refusal` and lands the others. It notes when each try of the target came, and at
    /// which nonce it was sealed.
    struct OneFails {
        nonce: AtomicU64,
        target: SendRequestId,
        refusal: fn() -> Result<Landing>,
        tries: Mutex<Vec<(u64, std::time::Instant)>>,
        landed: Mutex<Vec<SendRequestId>>,
    }

    impl Origin for Arc<OneFails> {
        type Transaction = ();

        fn sender(&self) -> Address32 {
            Address32([7; 32])
        }

        async fn next_nonce(&self) -> Result<u64> {
            Ok(self.nonce.load(Ordering::SeqCst))
        }

        async fn find(&self, _: &Sealed) -> Result<Found> {
            Ok(Found::NotFound)
        }

        async fn prepare(&self, _: &Sealed, _: &[u8]) -> Result<Prepared<()>> {
            Ok(Prepared::Ready {
                tx: None,
                transaction: (),
            })
        }

        async fn broadcast(&self, sealed: &Sealed, (): ()) -> Result<Landing> {
            if sealed.request == self.target {
                self.tries
                    .lock()
                    .unwrap()
                    .push((sealed.nonce, std::time::Instant::now()));
                return (self.refusal)();
            }
            self.nonce.fetch_add(1, Ordering::SeqCst);
            self.landed.lock().unwrap().push(sealed.request);
            Ok(Landing::Landed(Hash32([sealed.request.0 as u8; 32])))
        }
    }

    /// A store in `dir` with one request recorded first (the oldest: the target) and three
    /// after it, an Outbox turning the target away with `refusal`, and a dispatcher polling it
    /// every `poll`.
    fn one_failing(
        dir: &std::path::Path,
        refusal: fn() -> Result<Landing>,
        poll: Duration,
    ) -> (
        Arc<SqliteStore>,
        Vec<SendRequestId>,
        Arc<OneFails>,
        Dispatcher<Arc<OneFails>>,
    ) {
        let store = Arc::new(SqliteStore::open(dir.join("s.sqlite")).unwrap());
        let new = |body: &'static [u8]| NewSendRequest {
            origin: Domain(1),
            destination: Domain(2),
            recipient: Address32([2; 32]),
            kind: SendKind::Public,
            payload: body,
            readers: &[],
            disclose: &[],
            actor: "test",
        };
        let target = store
            .record_send_requests(&[new(b"target")], UnixMillis::now())
            .unwrap()[0];
        let fresh = store
            .record_send_requests(&[new(b"a"), new(b"b"), new(b"c")], UnixMillis::now())
            .unwrap();
        let chain = Arc::new(OneFails {
            nonce: AtomicU64::new(0),
            target,
            refusal,
            tries: Mutex::new(Vec::new()),
            landed: Mutex::new(Vec::new()),
        });
        let own = KeyPair::generate();
        let members = [("org1".to_owned(), *own.public_key())].into();
        let directory = Arc::new(Directory::new(
            "org1".into(),
            own,
            members,
            Default::default(),
        ));
        let dispatcher = Dispatcher::with_origin(
            Arc::clone(&store) as Arc<dyn Store>,
            Domain(1),
            Arc::clone(&chain),
            directory,
            poll,
        );
        (store, fresh, chain, dispatcher)
    }

    /// A request that fails at every attempt for a reason not its own (recorded first, so the
    /// oldest) does not hold back the ones recorded after it: it is put off with a backoff of
    /// its own, and tried a handful of times in two seconds, not at every 10 ms poll.
    #[tokio::test]
    async fn a_request_that_keeps_failing_does_not_hold_back_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let (store, fresh, chain, dispatcher) = one_failing(
            dir.path(),
            || Err(anyhow!("connection refused by the origin's node")),
            Duration::from_millis(10),
        );
        let poisoned = chain.target;
        let cancel = CancellationToken::new();
        let task = tokio::spawn(dispatcher.run(cancel.clone()));
        tokio::time::sleep(Duration::from_secs(2)).await;
        cancel.cancel();
        task.await.unwrap();

        assert_eq!(
            *chain.landed.lock().unwrap(),
            fresh,
            "the fresh requests landed, in order, past the failing one"
        );
        for id in &fresh {
            let r = store.send_request(*id).unwrap().unwrap();
            assert_eq!(r.state, SendState::Dispatched, "{r:?}");
        }
        let stuck = store.send_request(poisoned).unwrap().unwrap();
        assert_eq!(
            stuck.state,
            SendState::Sealed,
            "still to send, not given up"
        );
        assert_eq!(
            stuck.attempts, 0,
            "the node's fault is not the request's attempt"
        );
        assert!(
            stuck.deferrals >= 1 && stuck.retry_at.is_some(),
            "{stuck:?}"
        );
        assert!(
            stuck
                .error
                .as_deref()
                .unwrap()
                .contains("connection refused"),
            "the reason is readable: {:?}",
            stuck.error
        );
        // Between two tries at one nonce, the backoff: 10, 20, 40, ... ms, doubling with each
        // deferral. A new nonce (a fresh request landed at the one it was sealed for, so it is
        // sealed again: an outcome) starts the doubling over. Without the backoff it would be
        // tried at every 10 ms poll, some 200 times.
        let tries = chain.tries.lock().unwrap().clone();
        assert!(tries.len() >= 2, "{} tries in 2 s", tries.len());
        let mut streak = 0u32;
        for pair in tries.windows(2) {
            let ((was, then), (nonce, at)) = (pair[0], pair[1]);
            if nonce != was {
                streak = 0;
                continue;
            }
            // The retry time is kept in whole milliseconds: 1 ms of rounding.
            let least = Duration::from_millis(10 << streak) - Duration::from_millis(1);
            assert!(
                at - then >= least,
                "try {streak} at nonce {nonce} came {:?} after the one before, not {least:?} \
                 ({} tries in all)",
                at - then,
                tries.len()
            );
            streak += 1;
        }
        let nonces = tries
            .iter()
            .map(|(n, _)| *n)
            .collect::<std::collections::BTreeSet<_>>();
        assert!(
            nonces.len() <= fresh.len() + 1,
            "sealed again only when a fresh request took its nonce: {nonces:?}"
        );
    }

    /// A request refused for its own reason at every attempt (counted) waits a backoff of its
    /// own before each new attempt: the poll interval doubled with every counted attempt, so
    /// its eight attempts take 10 + 20 + ... + 640 ms, not eight polls, the requests recorded
    /// after it land meanwhile, and it ends `failed` with the reason.
    #[tokio::test]
    async fn counted_failed_attempts_wait_a_doubling_backoff_and_end_in_failed() {
        let dir = tempfile::tempdir().unwrap();
        let poll = Duration::from_millis(10);
        // A revert while its nonce is free: the request's own fault, a counted attempt.
        let (store, fresh, chain, dispatcher) = one_failing(
            dir.path(),
            || {
                Ok(Landing::Missed(
                    "the dispatch was refused: execution reverted (the recipient refuses)".into(),
                ))
            },
            poll,
        );
        let refused = chain.target;
        let cancel = CancellationToken::new();
        let task = tokio::spawn(dispatcher.run(cancel.clone()));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let given_up = loop {
            let r = store.send_request(refused).unwrap().unwrap();
            if r.state != SendState::Sealed && r.state != SendState::Accepted {
                break r;
            }
            assert!(std::time::Instant::now() < deadline, "not given up: {r:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        cancel.cancel();
        task.await.unwrap();

        assert_eq!(given_up.state, SendState::Failed, "{given_up:?}");
        assert_eq!(given_up.attempts, MAX_ATTEMPTS);
        assert!(
            given_up
                .error
                .as_deref()
                .unwrap()
                .contains("recipient refuses"),
            "{:?}",
            given_up.error
        );
        assert_eq!(
            *chain.landed.lock().unwrap(),
            fresh,
            "the others landed, in order"
        );
        let tries = chain.tries.lock().unwrap().clone();
        assert_eq!(
            tries.len(),
            MAX_ATTEMPTS as usize,
            "one broadcast per attempt"
        );
        // After its k-th counted attempt (k from 0) it waits 10 ms << k before it is sent again
        // at the same nonce. A fresh request landing at its nonce seals it again at once (not
        // counted, no wait): at most three such gaps here.
        let mut waited = 0;
        for (k, pair) in tries.windows(2).enumerate() {
            let ((was, then), (nonce, at)) = (pair[0], pair[1]);
            if nonce != was {
                continue;
            }
            // The retry time is kept in whole milliseconds: 1 ms of rounding.
            let least = poll * (1u32 << k) - Duration::from_millis(1);
            assert!(
                at - then >= least,
                "attempt {} came {:?} after attempt {}, not {least:?} or more: {tries:?}",
                k + 2,
                at - then,
                k + 1
            );
            waited += 1;
        }
        assert!(waited >= 4, "{waited} waits at one nonce: {tries:?}");
    }

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
