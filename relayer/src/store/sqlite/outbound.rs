//! Send requests, envelopes and grants in SQLite ([`OutboundStore`](crate::store::OutboundStore)),
//! tables of migration `0009`; send requests' leases of migration `0013`.

use causeway_proofs::{Address32, Domain, Hash32, MessageId};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::api::audit;
use super::codec::{self, bits_to_i64, to_i64};
use super::sql;
use crate::Error;
use crate::store::{
    AfterFailure, EnvelopeRecord, GrantKind, GrantRecord, Holdup, LeaseOwner, NewEnvelope,
    NewGrant, NewSendRequest, Result, SendKind, SendLease, SendLeaseRequest, SendRequest,
    SendRequestId, SendState, UnixMillis,
};

pub(crate) fn json_list(items: &[String]) -> Result<String> {
    serde_json::to_string(items).map_err(|e| codec::corrupt("name list", e.to_string()))
}

pub(crate) fn parse_list(what: &'static str, text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| codec::corrupt(what, e.to_string()))
}

pub(crate) fn address(what: &'static str, blob: &[u8]) -> Result<Address32> {
    codec::hash32(what, blob).map(|h| Address32(h.0))
}

pub(super) fn record_requests(
    tx: &Transaction<'_>,
    requests: &[NewSendRequest<'_>],
    now: UnixMillis,
) -> Result<Vec<SendRequestId>> {
    let at = to_i64("time", now.0)?;
    let mut ids = Vec::with_capacity(requests.len());
    for r in requests {
        let (readers, disclose) = (json_list(r.readers)?, json_list(r.disclose)?);
        tx.prepare_cached(
            "INSERT INTO send_request (origin, destination, recipient, kind, payload, readers,
                 disclose, state, actor, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'accepted', ?8, ?9, ?9)",
        )
        .and_then(|mut s| {
            s.execute(params![
                r.origin.0,
                r.destination.0,
                &r.recipient.0[..],
                r.kind.as_str(),
                r.payload,
                readers,
                disclose,
                r.actor,
                at
            ])
        })
        .map_err(sql("record send request"))?;
        let id = SendRequestId(codec::to_u64("request id", tx.last_insert_rowid())?);
        audit(
            tx,
            r.actor,
            "message.send",
            &format!("request:{id}:{}", r.kind.as_str()),
            now,
        )?;
        ids.push(id);
    }
    Ok(ids)
}

pub(crate) const REQUEST_COLUMNS: &str = "id, origin, destination, recipient, kind, payload, readers, \
     disclose, state, nonce, message_id, tx_hash, attempts, error, created_at, updated_at, \
     lease_owner, lease_until, lease_generation, retry_at, deferrals, contended_since";

pub(crate) struct RawRequest {
    pub(crate) id: i64,
    pub(crate) origin: i64,
    pub(crate) destination: i64,
    pub(crate) recipient: Vec<u8>,
    pub(crate) kind: String,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) readers: String,
    pub(crate) disclose: String,
    pub(crate) state: String,
    pub(crate) nonce: Option<i64>,
    pub(crate) message_id: Option<Vec<u8>>,
    pub(crate) tx_hash: Option<Vec<u8>>,
    pub(crate) attempts: i64,
    pub(crate) error: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) lease_owner: Option<String>,
    pub(crate) lease_until: Option<i64>,
    pub(crate) lease_generation: i64,
    pub(crate) retry_at: Option<i64>,
    pub(crate) deferrals: i64,
    pub(crate) contended_since: Option<i64>,
}

fn request_row(r: &Row<'_>) -> rusqlite::Result<RawRequest> {
    Ok(RawRequest {
        id: r.get(0)?,
        origin: r.get(1)?,
        destination: r.get(2)?,
        recipient: r.get(3)?,
        kind: r.get(4)?,
        payload: r.get(5)?,
        readers: r.get(6)?,
        disclose: r.get(7)?,
        state: r.get(8)?,
        nonce: r.get(9)?,
        message_id: r.get(10)?,
        tx_hash: r.get(11)?,
        attempts: r.get(12)?,
        error: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
        lease_owner: r.get(16)?,
        lease_until: r.get(17)?,
        lease_generation: r.get(18)?,
        retry_at: r.get(19)?,
        deferrals: r.get(20)?,
        contended_since: r.get(21)?,
    })
}

impl RawRequest {
    pub(crate) fn decode(self) -> Result<SendRequest> {
        let kind = match self.kind.as_str() {
            "public" => SendKind::Public,
            "private" => SendKind::Private,
            other => return Err(codec::corrupt("send kind", other.to_owned())),
        };
        let state = SendState::from_name(&self.state)
            .ok_or_else(|| codec::corrupt("send state", self.state.clone()))?;
        let id = SendRequestId(codec::to_u64("request id", self.id)?);
        // Held while it has an end; the owner and generation stay after a release (who last
        // had it), and only a lease with an end fences writes in.
        let lease = match (self.lease_owner, self.lease_until) {
            (Some(owner), Some(until)) => Some(SendLease {
                request: id,
                owner: LeaseOwner(owner),
                generation: codec::to_u64("lease generation", self.lease_generation)?,
                until: codec::millis(until)?,
            }),
            _ => None,
        };
        Ok(SendRequest {
            id,
            origin: codec::domain(self.origin)?,
            destination: codec::domain(self.destination)?,
            recipient: address("recipient", &self.recipient)?,
            kind,
            payload: self.payload,
            readers: parse_list("readers", &self.readers)?,
            disclose: parse_list("disclosed fields", &self.disclose)?,
            state,
            nonce: self.nonce.map(i64::cast_unsigned),
            message_id: self
                .message_id
                .as_deref()
                .map(codec::message_id)
                .transpose()?,
            tx_hash: self
                .tx_hash
                .as_deref()
                .map(|b| codec::hash32("transaction hash", b))
                .transpose()?,
            attempts: codec::to_u32("attempts", self.attempts)?,
            error: self.error,
            created_at: codec::millis(self.created_at)?,
            updated_at: codec::millis(self.updated_at)?,
            lease,
            retry_at: self.retry_at.map(codec::millis).transpose()?,
            deferrals: codec::to_u32("deferrals", self.deferrals)?,
            contended_since: self.contended_since.map(codec::millis).transpose()?,
        })
    }
}

pub(super) fn request(tx: &Transaction<'_>, id: SendRequestId) -> Result<Option<SendRequest>> {
    let key = to_i64("request id", id.0)?;
    tx.prepare_cached(&format!(
        "SELECT {REQUEST_COLUMNS} FROM send_request WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([key], request_row).optional())
    .map_err(sql("read send request"))?
    .map(RawRequest::decode)
    .transpose()
}

pub(super) fn open_requests(
    tx: &Transaction<'_>,
    origin: Domain,
    limit: usize,
) -> Result<Vec<SendRequest>> {
    let limit = to_i64("limit", limit as u64)?;
    let rows = tx
        .prepare_cached(&format!(
            "SELECT {REQUEST_COLUMNS} FROM send_request
             WHERE origin = ?1 AND state IN ('accepted', 'sealed') ORDER BY id LIMIT ?2"
        ))
        .and_then(|mut s| {
            s.query_map(params![origin.0, limit], request_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql("read open send requests"))?;
    rows.into_iter().map(RawRequest::decode).collect()
}

pub(super) fn lease_requests(
    tx: &Transaction<'_>,
    req: &SendLeaseRequest<'_>,
) -> Result<Vec<SendRequest>> {
    if req.limit == 0 {
        return Ok(Vec::new());
    }
    let now = to_i64("time", req.now.0)?;
    let until = to_i64("lease end", req.now.saturating_add(req.lease_for).0)?;
    let limit = i64::try_from(req.limit).unwrap_or(i64::MAX);
    // One statement under the write lock: a live lease is never handed out twice.
    let mut rows = tx
        .prepare_cached(&format!(
            "UPDATE send_request
             SET lease_owner = ?1, lease_until = ?2, lease_generation = lease_generation + 1
             WHERE id IN (
                 SELECT id FROM send_request
                 WHERE origin = ?3 AND state IN ('accepted', 'sealed')
                   AND (lease_until IS NULL OR lease_until <= ?4 OR lease_owner = ?1)
                   AND (retry_at IS NULL OR retry_at <= ?4)
                 ORDER BY id LIMIT ?5)
             RETURNING {REQUEST_COLUMNS}"
        ))
        .and_then(|mut s| {
            s.query_map(
                params![req.owner.0, until, req.origin.0, now, limit],
                request_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql("lease send requests"))?;
    rows.sort_by_key(|r| r.id);
    rows.into_iter().map(RawRequest::decode).collect()
}

pub(super) fn renew_lease(
    tx: &Transaction<'_>,
    lease: &SendLease,
    until: UnixMillis,
) -> Result<SendLease> {
    let found = request(tx, lease.request)?.ok_or(Error::UnknownSendRequest {
        id: lease.request.0,
    })?;
    fence(&found, lease)?;
    let (key, end) = (
        to_i64("request id", lease.request.0)?,
        to_i64("lease end", until.0)?,
    );
    tx.prepare_cached("UPDATE send_request SET lease_until = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![key, end]))
        .map_err(sql("renew a send request's lease"))?;
    Ok(SendLease {
        until,
        ..lease.clone()
    })
}

/// Refuses a write under `lease` unless the request still carries it: the same owner and
/// generation, not released.
pub(crate) fn fence(found: &SendRequest, lease: &SendLease) -> Result<()> {
    match &found.lease {
        Some(held) if held.owner == lease.owner && held.generation == lease.generation => Ok(()),
        held => Err(Error::SendLeaseLost {
            id: lease.request.0,
            owner: lease.owner.clone(),
            generation: lease.generation,
            holder: held.as_ref().map(|h| h.owner.clone()),
        }),
    }
}

/// The request of `lease` if it is in one of the `allowed` states (else
/// [`Error::SendRequestState`]) and still carries `lease` (else [`Error::SendLeaseLost`]).
fn expect_state(
    tx: &Transaction<'_>,
    lease: &SendLease,
    allowed: &[SendState],
    action: &'static str,
) -> Result<SendRequest> {
    let id = lease.request;
    let found = request(tx, id)?.ok_or(Error::UnknownSendRequest { id: id.0 })?;
    if !allowed.contains(&found.state) {
        return Err(Error::SendRequestState {
            id: id.0,
            state: found.state.as_str().to_owned(),
            action,
        });
    }
    fence(&found, lease)?;
    Ok(found)
}

pub(super) fn record_sealed(
    tx: &Transaction<'_>,
    lease: &SendLease,
    nonce: u64,
    message_id: MessageId,
    envelope: Option<&NewEnvelope<'_>>,
    now: UnixMillis,
) -> Result<()> {
    let id = lease.request;
    let before = expect_state(
        tx,
        lease,
        &[SendState::Accepted, SendState::Sealed],
        "sealed",
    )?;
    if let Some(old) = before.message_id {
        tx.prepare_cached("DELETE FROM envelope WHERE message_id = ?1 AND fetched_from IS NULL")
            .and_then(|mut s| s.execute([&old.0.0[..]]))
            .map_err(sql("drop an undispatched envelope"))?;
    }
    let at = to_i64("time", now.0)?;
    let key = to_i64("request id", id.0)?;
    tx.prepare_cached(
        "UPDATE send_request SET state = 'sealed', nonce = ?2, message_id = ?3, tx_hash = NULL,
             retry_at = NULL, deferrals = 0, contended_since = NULL, updated_at = ?4
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![key, bits_to_i64(nonce), &message_id.0.0[..], at]))
    .map_err(sql("record sealed request"))?;
    if let Some(envelope) = envelope {
        insert_envelope(tx, envelope, now)?;
    }
    Ok(())
}

pub(super) fn record_submitted(
    tx: &Transaction<'_>,
    lease: &SendLease,
    tx_hash: Hash32,
    now: UnixMillis,
) -> Result<()> {
    let id = lease.request;
    expect_state(tx, lease, &[SendState::Sealed], "given its transaction")?;
    let at = to_i64("time", now.0)?;
    let key = to_i64("request id", id.0)?;
    tx.prepare_cached("UPDATE send_request SET tx_hash = ?2, updated_at = ?3 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![key, &tx_hash.0[..], at]))
        .map_err(sql("record a sealed request's transaction"))?;
    Ok(())
}

pub(super) fn record_dispatched(
    tx: &Transaction<'_>,
    lease: &SendLease,
    tx_hash: Hash32,
    now: UnixMillis,
) -> Result<()> {
    let id = lease.request;
    expect_state(tx, lease, &[SendState::Sealed], "marked dispatched")?;
    let at = to_i64("time", now.0)?;
    let key = to_i64("request id", id.0)?;
    tx.prepare_cached(
        "UPDATE send_request SET state = 'dispatched', tx_hash = ?2, payload = NULL,
             error = NULL, lease_until = NULL, retry_at = NULL, deferrals = 0,
             contended_since = NULL, updated_at = ?3
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![key, &tx_hash.0[..], at]))
    .map_err(sql("record dispatched request"))?;
    Ok(())
}

/// Records a failed attempt; `retry_at` is when a request sent again may be leased again (on
/// the lease clock; see [`retry_after_failure`]).
pub(super) fn record_failure(
    tx: &Transaction<'_>,
    lease: &SendLease,
    reason: &str,
    then: AfterFailure,
    retry_at: Option<UnixMillis>,
    now: UnixMillis,
) -> Result<()> {
    let id = lease.request;
    let (allowed, state): (&[SendState], _) = failure_target(then);
    expect_state(tx, lease, allowed, "marked failed")?;
    let at = to_i64("time", now.0)?;
    let key = to_i64("request id", id.0)?;
    let retry = retry_at.map(|r| to_i64("retry time", r.0)).transpose()?;
    tx.prepare_cached(
        "UPDATE send_request SET state = ?2,
             attempts = attempts + CASE WHEN ?2 = 'accepted' THEN 0 ELSE 1 END, error = ?3,
             payload = CASE WHEN ?2 = 'failed' THEN NULL ELSE payload END,
             tx_hash = CASE WHEN ?2 = 'sealed' THEN NULL ELSE tx_hash END, lease_until = NULL,
             retry_at = ?5, deferrals = 0, contended_since = NULL, updated_at = ?4
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![key, state, reason, at, retry]))
    .map_err(sql("record send failure"))?;
    Ok(())
}

/// When a request whose attempt failed `then`, at `now` on the lease clock, may be leased
/// again: after its backoff if it is sent again, else at once (`None`).
pub(crate) fn retry_after_failure(then: AfterFailure, now: UnixMillis) -> Option<UnixMillis> {
    match then {
        AfterFailure::SendAgain { after } => Some(now.saturating_add(after)),
        _ => None,
    }
}

pub(super) fn defer(
    tx: &Transaction<'_>,
    lease: &SendLease,
    reason: &str,
    retry_at: UnixMillis,
    holdup: Holdup,
    now: UnixMillis,
) -> Result<()> {
    expect_state(
        tx,
        lease,
        &[SendState::Accepted, SendState::Sealed],
        "put off",
    )?;
    let key = to_i64("request id", lease.request.0)?;
    let (retry, at) = (to_i64("retry time", retry_at.0)?, to_i64("time", now.0)?);
    tx.prepare_cached(
        "UPDATE send_request SET error = ?2, retry_at = ?3,
             deferrals = deferrals + CASE WHEN ?6 THEN 0 ELSE 1 END,
             contended_since = CASE WHEN ?4 THEN coalesce(contended_since, ?5)
                                    ELSE contended_since END,
             lease_until = NULL, updated_at = ?5
         WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            key,
            reason,
            retry,
            holdup == Holdup::Contended,
            at,
            holdup == Holdup::Sender
        ])
    })
    .map_err(sql("put a send request off"))?;
    Ok(())
}

/// The states a failure may be recorded in, and the state it leaves the request in (sent
/// again: the transaction recorded for the missed attempt is forgotten, the next is another).
pub(crate) fn failure_target(then: AfterFailure) -> (&'static [SendState], &'static str) {
    match then {
        AfterFailure::SendAgain { .. } => (&[SendState::Sealed], "sealed"),
        AfterFailure::SealAgain => (&[SendState::Accepted, SendState::Sealed], "accepted"),
        _ => (&[SendState::Accepted, SendState::Sealed], "failed"),
    }
}

fn insert_envelope(tx: &Transaction<'_>, e: &NewEnvelope<'_>, now: UnixMillis) -> Result<bool> {
    let at = to_i64("time", now.0)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO envelope (message_id, origin, destination, nonce, sender, commitment,
                 bytes, disclosure, fetched_from, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
             ON CONFLICT (message_id) DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                &e.message_id.0.0[..],
                e.origin.0,
                e.destination.0,
                bits_to_i64(e.nonce),
                &e.sender.0[..],
                &e.commitment[..],
                e.bytes,
                e.disclosure,
                e.fetched_from,
                at
            ])
        })
        .map_err(sql("store envelope"))?;
    Ok(inserted == 1)
}

pub(super) fn store_envelope(
    tx: &Transaction<'_>,
    e: &NewEnvelope<'_>,
    now: UnixMillis,
) -> Result<bool> {
    insert_envelope(tx, e, now)
}

pub(super) fn envelope(tx: &Transaction<'_>, id: MessageId) -> Result<Option<EnvelopeRecord>> {
    type Raw = (
        i64,
        i64,
        i64,
        Vec<u8>,
        Vec<u8>,
        Vec<u8>,
        Option<String>,
        Option<String>,
        i64,
    );
    let raw: Option<Raw> = tx
        .prepare_cached(
            "SELECT origin, destination, nonce, sender, commitment, bytes, disclosure,
                 fetched_from, created_at
             FROM envelope WHERE message_id = ?1",
        )
        .and_then(|mut s| s.query_row([&id.0.0[..]], |r| r.try_into()).optional())
        .map_err(sql("read envelope"))?;
    let Some((origin, destination, nonce, sender, commitment, bytes, disclosure, from, at)) = raw
    else {
        return Ok(None);
    };
    Ok(Some(EnvelopeRecord {
        message_id: id,
        origin: codec::domain(origin)?,
        destination: codec::domain(destination)?,
        nonce: nonce.cast_unsigned(),
        sender: address("sender", &sender)?,
        commitment: codec::hash32("commitment", &commitment)?.0,
        bytes,
        disclosure,
        fetched_from: from,
        created_at: codec::millis(at)?,
    }))
}

pub(super) fn record_grant(tx: &Transaction<'_>, g: &NewGrant<'_>) -> Result<GrantRecord> {
    let at = to_i64("time", g.now.0)?;
    let changed = tx
        .prepare_cached("UPDATE envelope SET bytes = ?2, updated_at = ?3 WHERE message_id = ?1")
        .and_then(|mut s| s.execute(params![&g.message_id.0.0[..], g.bytes, at]))
        .map_err(sql("replace envelope"))?;
    if changed != 1 {
        return Err(Error::UnknownEnvelope { id: g.message_id });
    }
    tx.prepare_cached(
        "INSERT INTO envelope_grant (message_id, kind, grantor, grantee, chain, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            &g.message_id.0.0[..],
            g.kind.as_str(),
            g.grantor,
            g.grantee,
            &g.chain.0[..],
            g.actor,
            at
        ])
    })
    .map_err(sql("record grant"))?;
    let seq = codec::to_u64("grant seq", tx.last_insert_rowid())?;
    audit(
        tx,
        g.actor,
        match g.kind {
            GrantKind::Grant => "envelope.grant",
            GrantKind::Revoke => "envelope.revoke",
        },
        &format!("{}:{}", g.message_id, g.grantee),
        g.now,
    )?;
    Ok(GrantRecord {
        seq,
        message_id: g.message_id,
        kind: g.kind,
        grantor: g.grantor.to_owned(),
        grantee: g.grantee.to_owned(),
        chain: g.chain,
        actor: g.actor.to_owned(),
        at: g.now,
    })
}

pub(super) fn grants(tx: &Transaction<'_>, id: MessageId) -> Result<Vec<GrantRecord>> {
    type Raw = (i64, String, String, String, Vec<u8>, String, i64);
    let rows: Vec<Raw> = tx
        .prepare_cached(
            "SELECT seq, kind, grantor, grantee, chain, actor, at FROM envelope_grant
             WHERE message_id = ?1 ORDER BY seq",
        )
        .and_then(|mut s| s.query_map([&id.0.0[..]], |r| r.try_into())?.collect())
        .map_err(sql("read grants"))?;
    rows.into_iter()
        .map(|(seq, kind, grantor, grantee, chain, actor, at)| {
            Ok(GrantRecord {
                seq: codec::to_u64("grant seq", seq)?,
                message_id: id,
                kind: match kind.as_str() {
                    "grant" => GrantKind::Grant,
                    "revoke" => GrantKind::Revoke,
                    other => return Err(codec::corrupt("grant kind", other.to_owned())),
                },
                grantor,
                grantee,
                chain: codec::hash32("grant chain", &chain)?,
                actor,
                at: codec::millis(at)?,
            })
        })
        .collect()
}
