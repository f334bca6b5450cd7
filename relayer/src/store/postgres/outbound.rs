//! Send requests, envelopes and grants ([`OutboundStore`](crate::store::OutboundStore)); rows
//! are decoded by the SQLite store's decoders.

use causeway_proofs::{Domain, Hash32, MessageId};
use postgres::Row;

use super::api::audit;
use super::{Tx, col, dom, i64_of};
use crate::Error;
use crate::store::sqlite::codec;
use crate::store::sqlite::outbound::{
    REQUEST_COLUMNS, RawRequest, address, failure_target, fence, json_list,
};
use crate::store::{
    AfterFailure, EnvelopeRecord, GrantKind, GrantRecord, Holdup, NewEnvelope, NewGrant,
    NewSendRequest, Result, SendLease, SendLeaseRequest, SendRequest, SendRequestId, SendState,
    UnixMillis,
};

pub(super) fn record_requests(
    tx: &mut Tx<'_>,
    requests: &[NewSendRequest<'_>],
    now: UnixMillis,
) -> Result<Vec<SendRequestId>> {
    let at = i64_of("time", now.0)?;
    let mut ids = Vec::with_capacity(requests.len());
    for r in requests {
        let (readers, disclose) = (json_list(r.readers)?, json_list(r.disclose)?);
        let recipient: &[u8] = &r.recipient.0[..];
        let row = tx.one(
            "INSERT INTO send_request (id, origin, destination, recipient, kind, payload, readers,
                 disclose, state, actor, created_at, updated_at)
             VALUES ((SELECT coalesce(max(id), 0) + 1 FROM send_request),
                     $1, $2, $3, $4, $5, $6, $7, 'accepted', $8, $9, $9) RETURNING id",
            &[
                &dom(r.origin),
                &dom(r.destination),
                &recipient,
                &r.kind.as_str(),
                &r.payload,
                &readers,
                &disclose,
                &r.actor,
                &at,
            ],
        )?;
        let id = SendRequestId(codec::to_u64("request id", col(&row, 0)?)?);
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

fn request_row(r: &Row) -> Result<SendRequest> {
    RawRequest {
        id: col(r, 0)?,
        origin: col(r, 1)?,
        destination: col(r, 2)?,
        recipient: col(r, 3)?,
        kind: col(r, 4)?,
        payload: col(r, 5)?,
        readers: col(r, 6)?,
        disclose: col(r, 7)?,
        state: col(r, 8)?,
        nonce: col(r, 9)?,
        message_id: col(r, 10)?,
        tx_hash: col(r, 11)?,
        attempts: col(r, 12)?,
        error: col(r, 13)?,
        created_at: col(r, 14)?,
        updated_at: col(r, 15)?,
        lease_owner: col(r, 16)?,
        lease_until: col(r, 17)?,
        lease_generation: col(r, 18)?,
        retry_at: col(r, 19)?,
        deferrals: col(r, 20)?,
        contended_since: col(r, 21)?,
    }
    .decode()
}

pub(super) fn request(tx: &mut Tx<'_>, id: SendRequestId) -> Result<Option<SendRequest>> {
    let key = i64_of("request id", id.0)?;
    tx.opt(
        &format!("SELECT {REQUEST_COLUMNS} FROM send_request WHERE id = $1"),
        &[&key],
    )?
    .as_ref()
    .map(request_row)
    .transpose()
}

pub(super) fn open_requests(
    tx: &mut Tx<'_>,
    origin: Domain,
    limit: usize,
) -> Result<Vec<SendRequest>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.query(
        &format!(
            "SELECT {REQUEST_COLUMNS} FROM send_request
             WHERE origin = $1 AND state IN ('accepted', 'sealed') ORDER BY id LIMIT $2"
        ),
        &[&dom(origin), &limit],
    )?;
    rows.iter().map(request_row).collect()
}

/// Leases as SQLite's `lease_requests` does; `req.now` is already on the lease clock.
pub(super) fn lease_requests(
    tx: &mut Tx<'_>,
    req: &SendLeaseRequest<'_>,
) -> Result<Vec<SendRequest>> {
    if req.limit == 0 {
        return Ok(Vec::new());
    }
    let now = i64_of("time", req.now.0)?;
    let until = i64_of("lease end", req.now.saturating_add(req.lease_for).0)?;
    let limit = i64::try_from(req.limit).unwrap_or(i64::MAX);
    // One statement under the write lock: a live lease is never handed out twice.
    let rows = tx.query(
        &format!(
            "UPDATE send_request
             SET lease_owner = $1, lease_until = $2, lease_generation = lease_generation + 1
             WHERE id IN (
                 SELECT id FROM send_request
                 WHERE origin = $3 AND state IN ('accepted', 'sealed')
                   AND (lease_until IS NULL OR lease_until <= $4 OR lease_owner = $1)
                   AND (retry_at IS NULL OR retry_at <= $4)
                 ORDER BY id LIMIT $5)
             RETURNING {REQUEST_COLUMNS}"
        ),
        &[&req.owner.0, &until, &dom(req.origin), &now, &limit],
    )?;
    let mut leased = rows.iter().map(request_row).collect::<Result<Vec<_>>>()?;
    leased.sort_by_key(|r| r.id);
    Ok(leased)
}

/// Renews `lease` to `until` (on the lease clock).
pub(super) fn renew_lease(
    tx: &mut Tx<'_>,
    lease: &SendLease,
    until: UnixMillis,
) -> Result<SendLease> {
    let found = request(tx, lease.request)?.ok_or(Error::UnknownSendRequest {
        id: lease.request.0,
    })?;
    fence(&found, lease)?;
    let (key, end) = (
        i64_of("request id", lease.request.0)?,
        i64_of("lease end", until.0)?,
    );
    tx.exec(
        "UPDATE send_request SET lease_until = $2 WHERE id = $1",
        &[&key, &end],
    )?;
    Ok(SendLease {
        until,
        ..lease.clone()
    })
}

/// The request of `lease` in one of the `allowed` states, still carrying `lease`.
fn expect_state(
    tx: &mut Tx<'_>,
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
    tx: &mut Tx<'_>,
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
        let old: &[u8] = &old.0.0[..];
        tx.exec(
            "DELETE FROM envelope WHERE message_id = $1 AND fetched_from IS NULL",
            &[&old],
        )?;
    }
    let at = i64_of("time", now.0)?;
    let key = i64_of("request id", id.0)?;
    let mid: &[u8] = &message_id.0.0[..];
    tx.exec(
        "UPDATE send_request SET state = 'sealed', nonce = $2, message_id = $3, tx_hash = NULL,
             retry_at = NULL, deferrals = 0, contended_since = NULL, updated_at = $4
         WHERE id = $1",
        &[&key, &codec::bits_to_i64(nonce), &mid, &at],
    )?;
    if let Some(envelope) = envelope {
        insert_envelope(tx, envelope, now)?;
    }
    Ok(())
}

pub(super) fn record_submitted(
    tx: &mut Tx<'_>,
    lease: &SendLease,
    tx_hash: Hash32,
    now: UnixMillis,
) -> Result<()> {
    let id = lease.request;
    expect_state(tx, lease, &[SendState::Sealed], "given its transaction")?;
    let at = i64_of("time", now.0)?;
    let key = i64_of("request id", id.0)?;
    let hash: &[u8] = &tx_hash.0[..];
    tx.exec(
        "UPDATE send_request SET tx_hash = $2, updated_at = $3 WHERE id = $1",
        &[&key, &hash, &at],
    )?;
    Ok(())
}

pub(super) fn record_dispatched(
    tx: &mut Tx<'_>,
    lease: &SendLease,
    tx_hash: Hash32,
    now: UnixMillis,
) -> Result<()> {
    let id = lease.request;
    expect_state(tx, lease, &[SendState::Sealed], "marked dispatched")?;
    let at = i64_of("time", now.0)?;
    let key = i64_of("request id", id.0)?;
    let hash: &[u8] = &tx_hash.0[..];
    tx.exec(
        "UPDATE send_request SET state = 'dispatched', tx_hash = $2, payload = NULL,
             error = NULL, lease_until = NULL, retry_at = NULL, deferrals = 0,
             contended_since = NULL, updated_at = $3
         WHERE id = $1",
        &[&key, &hash, &at],
    )?;
    Ok(())
}

/// Records a failed attempt as SQLite's `record_failure` does; `retry_at` on the lease clock.
pub(super) fn record_failure(
    tx: &mut Tx<'_>,
    lease: &SendLease,
    reason: &str,
    then: AfterFailure,
    retry_at: Option<UnixMillis>,
    now: UnixMillis,
) -> Result<()> {
    let id = lease.request;
    let (allowed, state) = failure_target(then);
    expect_state(tx, lease, allowed, "marked failed")?;
    let at = i64_of("time", now.0)?;
    let key = i64_of("request id", id.0)?;
    let retry = retry_at.map(|r| i64_of("retry time", r.0)).transpose()?;
    tx.exec(
        "UPDATE send_request SET state = $2,
             attempts = attempts + CASE WHEN $2 = 'accepted' THEN 0 ELSE 1 END, error = $3,
             payload = CASE WHEN $2 = 'failed' THEN NULL ELSE payload END,
             tx_hash = CASE WHEN $2 = 'sealed' THEN NULL ELSE tx_hash END, lease_until = NULL,
             retry_at = $5, deferrals = 0, contended_since = NULL, updated_at = $4
         WHERE id = $1",
        &[&key, &state, &reason, &at, &retry],
    )?;
    Ok(())
}

/// Puts a request off as SQLite's `defer` does; `now` and `retry_at` on the lease clock.
pub(super) fn defer(
    tx: &mut Tx<'_>,
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
    let key = i64_of("request id", lease.request.0)?;
    let (retry, at) = (i64_of("retry time", retry_at.0)?, i64_of("time", now.0)?);
    let (contended, sender) = (holdup == Holdup::Contended, holdup == Holdup::Sender);
    tx.exec(
        "UPDATE send_request SET error = $2, retry_at = $3,
             deferrals = deferrals + CASE WHEN $6 THEN 0 ELSE 1 END,
             contended_since = CASE WHEN $4 THEN coalesce(contended_since, $5)
                                    ELSE contended_since END,
             lease_until = NULL, updated_at = $5
         WHERE id = $1",
        &[&key, &reason, &retry, &contended, &at, &sender],
    )?;
    Ok(())
}

pub(super) fn insert_envelope(
    tx: &mut Tx<'_>,
    e: &NewEnvelope<'_>,
    now: UnixMillis,
) -> Result<bool> {
    let at = i64_of("time", now.0)?;
    let (mid, sender, commitment): (&[u8], &[u8], &[u8]) =
        (&e.message_id.0.0[..], &e.sender.0[..], &e.commitment[..]);
    let inserted = tx.exec(
        "INSERT INTO envelope (message_id, origin, destination, nonce, sender, commitment,
             bytes, disclosure, fetched_from, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (message_id) DO NOTHING",
        &[
            &mid,
            &dom(e.origin),
            &dom(e.destination),
            &codec::bits_to_i64(e.nonce),
            &sender,
            &commitment,
            &e.bytes,
            &e.disclosure,
            &e.fetched_from,
            &at,
        ],
    )?;
    Ok(inserted == 1)
}

pub(super) fn envelope(tx: &mut Tx<'_>, id: MessageId) -> Result<Option<EnvelopeRecord>> {
    let key: &[u8] = &id.0.0[..];
    let Some(r) = tx.opt(
        "SELECT origin, destination, nonce, sender, commitment, bytes, disclosure,
             fetched_from, created_at
         FROM envelope WHERE message_id = $1",
        &[&key],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(EnvelopeRecord {
        message_id: id,
        origin: codec::domain(col(&r, 0)?)?,
        destination: codec::domain(col(&r, 1)?)?,
        nonce: col::<i64>(&r, 2)?.cast_unsigned(),
        sender: address("sender", col(&r, 3)?)?,
        commitment: codec::hash32("commitment", col(&r, 4)?)?.0,
        bytes: col(&r, 5)?,
        disclosure: col(&r, 6)?,
        fetched_from: col(&r, 7)?,
        created_at: codec::millis(col(&r, 8)?)?,
    }))
}

pub(super) fn record_grant(tx: &mut Tx<'_>, g: &NewGrant<'_>) -> Result<GrantRecord> {
    let at = i64_of("time", g.now.0)?;
    let mid: &[u8] = &g.message_id.0.0[..];
    let changed = tx.exec(
        "UPDATE envelope SET bytes = $2, updated_at = $3 WHERE message_id = $1",
        &[&mid, &g.bytes, &at],
    )?;
    if changed != 1 {
        return Err(Error::UnknownEnvelope { id: g.message_id });
    }
    let chain: &[u8] = &g.chain.0[..];
    let row = tx.one(
        "INSERT INTO envelope_grant (seq, message_id, kind, grantor, grantee, chain, actor, at)
         VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM envelope_grant),
                 $1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        &[
            &mid,
            &g.kind.as_str(),
            &g.grantor,
            &g.grantee,
            &chain,
            &g.actor,
            &at,
        ],
    )?;
    let seq = codec::to_u64("grant seq", col(&row, 0)?)?;
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

pub(super) fn grants(tx: &mut Tx<'_>, id: MessageId) -> Result<Vec<GrantRecord>> {
    let key: &[u8] = &id.0.0[..];
    let rows = tx.query(
        "SELECT seq, kind, grantor, grantee, chain, actor, at FROM envelope_grant
         WHERE message_id = $1 ORDER BY seq",
        &[&key],
    )?;
    rows.iter()
        .map(|r| {
            let kind: &str = col(r, 1)?;
            Ok(GrantRecord {
                seq: codec::to_u64("grant seq", col(r, 0)?)?,
                message_id: id,
                kind: match kind {
                    "grant" => GrantKind::Grant,
                    "revoke" => GrantKind::Revoke,
                    other => return Err(codec::corrupt("grant kind", other.to_owned())),
                },
                grantor: col(r, 2)?,
                grantee: col(r, 3)?,
                chain: codec::hash32("grant chain", col(r, 4)?)?,
                actor: col(r, 5)?,
                at: codec::millis(col(r, 6)?)?,
            })
        })
        .collect()
}
