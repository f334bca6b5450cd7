//! The store conformance suite, outbound part ([`OutboundStore`]): send requests recorded and
//! audited, leased to one dispatcher at a time across handles (fenced by the lease's
//! generation), sealed (with their envelope, in one transaction), dispatched or failed;
//! envelopes stored once; grants recorded with the envelope they produced.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use causeway_proofs::{Address32, Domain, Hash32, MessageId};
use causeway_relayer::Error;
use causeway_relayer::store::{
    AfterFailure, ApiStore, GrantKind, Holdup, LeaseOwner, NewEnvelope, NewGrant, NewSendRequest,
    OutboundStore, SendKind, SendLease, SendLeaseRequest, SendRequestId, SendState,
};

use crate::support::*;

macro_rules! outbound_conformance_suite {
    ($name:ident, $backend:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn send_requests_are_recorded_audited_sealed_and_dispatched() {
                super::send_requests_are_recorded_audited_sealed_and_dispatched(&$backend);
            }
            #[test]
            fn two_dispatchers_racing_for_one_request_one_wins() {
                super::two_dispatchers_racing_for_one_request_one_wins(&$backend);
            }
            #[test]
            fn a_lapsed_lease_is_taken_over_and_its_holder_is_fenced() {
                super::a_lapsed_lease_is_taken_over_and_its_holder_is_fenced(&$backend);
            }
            #[test]
            fn a_request_put_off_lets_the_others_go_first_until_its_time() {
                super::a_request_put_off_lets_the_others_go_first_until_its_time(&$backend);
            }
            #[test]
            fn a_request_sent_again_waits_its_backoff_and_the_others_go_first() {
                super::a_request_sent_again_waits_its_backoff_and_the_others_go_first(&$backend);
            }
            #[test]
            fn envelopes_are_stored_once_and_grants_replace_them_with_a_record() {
                super::envelopes_are_stored_once_and_grants_replace_them_with_a_record(&$backend);
            }
        }
    };
}

outbound_conformance_suite!(sqlite, SqliteBackend::new());
outbound_conformance_suite!(postgres, PgBackend::new());

fn request<'a>(kind: SendKind, payload: &'a [u8], readers: &'a [String]) -> NewSendRequest<'a> {
    NewSendRequest {
        origin: Domain(1),
        destination: Domain(2),
        recipient: Address32([7; 32]),
        kind,
        payload,
        readers,
        disclose: &[],
        actor: "token:1:app",
    }
}

fn envelope(id: u8, bytes: &[u8]) -> NewEnvelope<'_> {
    NewEnvelope {
        message_id: MessageId(Hash32([id; 32])),
        origin: Domain(1),
        destination: Domain(2),
        nonce: 5,
        sender: Address32([3; 32]),
        commitment: [9; 32],
        bytes,
        disclosure: Some("{}"),
        fetched_from: None,
    }
}

/// Leases up to `limit` requests of origin 1 to `who` at `now` for `lease_ms`.
fn lease(
    s: &dyn OutboundStore,
    who: &LeaseOwner,
    limit: usize,
    now: u64,
    lease_ms: u64,
) -> Vec<SendLease> {
    s.lease_send_requests(&SendLeaseRequest {
        origin: Domain(1),
        owner: who,
        limit,
        lease_for: Duration::from_millis(lease_ms),
        now: t(now),
    })
    .unwrap()
    .into_iter()
    .map(|r| r.lease.expect("a leased request carries its lease"))
    .collect()
}

fn send_requests_are_recorded_audited_sealed_and_dispatched<B: Backend>(b: &B) {
    let s = b.open();
    let readers = vec!["org2".to_owned()];
    let ids = s
        .record_send_requests(
            &[
                request(SendKind::Public, b"hello", &[]),
                request(SendKind::Private, br#"{"a":1}"#, &readers),
            ],
            t(10),
        )
        .unwrap();
    assert_eq!(ids.len(), 2);
    let trail = s.audit_trail(0, 10).unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[1].action, "message.send");
    assert_eq!(trail[1].target, format!("request:{}:private", ids[1]));
    let open = s.open_send_requests(Domain(1), 10).unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(open[1].readers, readers);
    assert_eq!(open[1].payload.as_deref(), Some(&br#"{"a":1}"#[..]));
    assert!(s.open_send_requests(Domain(2), 10).unwrap().is_empty());
    assert_eq!(open[0].lease, None, "not leased yet");
    let leases = lease(&s, &owner("d1"), 10, 10, 60_000);
    assert_eq!(
        leases.iter().map(|l| l.request).collect::<Vec<_>>(),
        ids,
        "oldest first"
    );
    assert_eq!(leases[0].until, t(60_010));

    // Sealed with its envelope, then sealed again for another nonce: the first envelope goes.
    s.record_sealed(
        &leases[1],
        5,
        MessageId(Hash32([1; 32])),
        Some(&envelope(1, b"e1")),
        t(11),
    )
    .unwrap();
    assert!(s.envelope(MessageId(Hash32([1; 32]))).unwrap().is_some());
    // Its transaction recorded before it is sent: still sealed, the transaction kept; only a
    // sealed request takes one.
    s.record_submitted(&leases[1], Hash32([8; 32]), t(11))
        .unwrap();
    let sending = s.send_request(ids[1]).unwrap().unwrap();
    assert_eq!(
        (sending.state, sending.tx_hash),
        (SendState::Sealed, Some(Hash32([8; 32])))
    );
    assert!(matches!(
        s.record_submitted(&leases[0], Hash32([8; 32]), t(11)),
        Err(Error::SendRequestState { .. })
    ));
    s.record_sealed(
        &leases[1],
        6,
        MessageId(Hash32([2; 32])),
        Some(&envelope(2, b"e2")),
        t(12),
    )
    .unwrap();
    assert!(s.envelope(MessageId(Hash32([1; 32]))).unwrap().is_none());
    let stored = s.envelope(MessageId(Hash32([2; 32]))).unwrap().unwrap();
    assert_eq!(stored.bytes, b"e2");
    assert_eq!(stored.fetched_from, None);
    assert_eq!(
        s.send_request(ids[1]).unwrap().unwrap().tx_hash,
        None,
        "sealed again: the earlier transaction is forgotten"
    );
    s.record_dispatched(&leases[1], Hash32([4; 32]), t(13))
        .unwrap();
    let done = s.send_request(ids[1]).unwrap().unwrap();
    assert_eq!(done.state, SendState::Dispatched);
    assert_eq!(done.lease, None, "released by its outcome");
    assert_eq!(done.nonce, Some(6));
    assert_eq!(done.payload, None, "the plaintext is dropped once on chain");
    // A dispatched request is not sealed, dispatched or failed again.
    assert!(matches!(
        s.record_dispatched(&leases[1], Hash32([4; 32]), t(14)),
        Err(Error::SendRequestState { .. })
    ));
    assert!(matches!(
        s.record_send_failure(&leases[1], "x", AfterFailure::GiveUp, t(14)),
        Err(Error::SendRequestState { .. })
    ));

    // A failure sends the public one back to accepted, released: the lease it was recorded
    // under writes nothing more; the next lease gives it up.
    s.record_send_failure(&leases[0], "reverted", AfterFailure::SealAgain, t(15))
        .unwrap();
    let again = s.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(
        (again.state, again.attempts, again.error.as_deref()),
        (SendState::Accepted, 0, Some("reverted")),
        "a lost nonce is not a failed attempt"
    );
    assert_eq!(again.lease, None);
    assert!(matches!(
        s.record_send_failure(&leases[0], "reverted", AfterFailure::GiveUp, t(15)),
        Err(Error::SendLeaseLost { .. })
    ));
    let retaken = lease(&s, &owner("d2"), 10, 16, 60_000);
    assert_eq!(retaken.len(), 1, "only the open one");
    assert_eq!(retaken[0].generation, leases[0].generation + 1);
    // Only a sealed request is sent again as sealed.
    assert!(matches!(
        s.record_send_failure(
            &retaken[0],
            "x",
            AfterFailure::SendAgain {
                after: Duration::ZERO
            },
            t(16)
        ),
        Err(Error::SendRequestState { .. })
    ));
    s.record_send_failure(&retaken[0], "reverted", AfterFailure::GiveUp, t(16))
        .unwrap();
    let failed = s.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(failed.state, SendState::Failed);
    assert_eq!(failed.error.as_deref(), Some("reverted"));
    assert!(s.open_send_requests(Domain(1), 10).unwrap().is_empty());
    assert!(s.send_request(SendRequestId(99)).unwrap().is_none());
}

/// Two handles on one database (two replicas of one gateway) lease at the same moment: each
/// request goes to exactly one of them, and neither gets one the other holds.
fn two_dispatchers_racing_for_one_request_one_wins<B: Backend + Sync>(b: &B)
where
    B::S: Send + Sync,
{
    let setup = b.open();
    let ids = setup
        .record_send_requests(&[request(SendKind::Public, b"one", &[])], t(1))
        .unwrap();
    for round in 0..8u64 {
        let handles = [b.open(), b.open()];
        let start = Arc::new(Barrier::new(2));
        let got: Vec<Vec<SendLease>> = std::thread::scope(|scope| {
            let takers: Vec<_> = handles
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let start = Arc::clone(&start);
                    scope.spawn(move || {
                        start.wait();
                        // Both at a time past every earlier round's lease.
                        lease(
                            h,
                            &owner(&format!("r{round}-{i}")),
                            4,
                            1_000 * (round + 2),
                            500,
                        )
                    })
                })
                .collect();
            takers.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let won: Vec<&SendLease> = got.iter().flatten().collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: exactly one taker wins: {got:?}"
        );
        assert_eq!(won[0].request, ids[0]);
        assert_eq!(won[0].generation, round + 1, "each lease a new generation");
        let held = setup.send_request(ids[0]).unwrap().unwrap().lease;
        assert_eq!(held.as_ref(), Some(won[0]), "the store says who won");
        // While the lease lives, the loser gets nothing however often it asks.
        let loser = owner(&format!("r{round}-{}", usize::from(!got[0].is_empty())));
        assert!(lease(&setup, &loser, 4, 1_000 * (round + 2) + 499, 500).is_empty());
    }
}

/// A holder that stalls past its lease: another dispatcher takes the request over and resumes
/// from what was recorded (sealed, its nonce, message id and transaction), and the stalled
/// holder's writes are refused and change nothing. A renewed lease is not taken; a restart under
/// the holder's own name takes its requests back at once.
fn a_lapsed_lease_is_taken_over_and_its_holder_is_fenced<B: Backend>(b: &B) {
    let (one, two) = (b.open(), b.open());
    let ids = one
        .record_send_requests(
            &[
                request(SendKind::Public, b"one", &[]),
                request(SendKind::Public, b"two", &[]),
            ],
            t(1),
        )
        .unwrap();
    let (a, c) = (owner("replica-a"), owner("replica-c"));
    let held = lease(&one, &a, 1, 10, 1_000);
    assert_eq!(held[0].request, ids[0]);
    one.record_sealed(&held[0], 7, MessageId(Hash32([1; 32])), None, t(20))
        .unwrap();
    one.record_submitted(&held[0], Hash32([9; 32]), t(30))
        .unwrap();
    // Renewed: not taken at its first end, nor by anyone before the new one.
    let renewed = one
        .renew_send_lease(&held[0], Duration::from_millis(1_000), t(900))
        .unwrap();
    assert_eq!(renewed.until, t(1_900));
    assert_eq!(
        lease(&two, &c, 1, 1_500, 1_000)
            .iter()
            .map(|l| l.request)
            .collect::<Vec<_>>(),
        [ids[1]],
        "the renewed one is skipped; the free one is taken"
    );

    // replica-a stalls; past its lease replica-c takes the request, as recorded.
    let taken = two
        .lease_send_requests(&SendLeaseRequest {
            origin: Domain(1),
            owner: &c,
            limit: 1,
            lease_for: Duration::from_millis(1_000),
            now: t(1_900),
        })
        .unwrap();
    assert_eq!(taken.len(), 1);
    let resumed = &taken[0];
    assert_eq!(resumed.id, ids[0]);
    assert_eq!(
        (
            resumed.state,
            resumed.nonce,
            resumed.message_id,
            resumed.tx_hash
        ),
        (
            SendState::Sealed,
            Some(7),
            Some(MessageId(Hash32([1; 32]))),
            Some(Hash32([9; 32]))
        ),
        "resumed from the recorded submission"
    );
    let new = resumed.lease.clone().unwrap();
    assert_eq!(
        (new.owner.clone(), new.generation),
        (c.clone(), held[0].generation + 1)
    );

    // replica-a wakes up: every write under its lease is refused, nothing changes.
    let before = two.send_request(ids[0]).unwrap().unwrap();
    let lost = |r: Result<(), Error>| match r {
        Err(Error::SendLeaseLost { id, holder, .. }) => {
            assert_eq!((id, holder), (ids[0].0, Some(c.clone())));
        }
        other => panic!("expected SendLeaseLost, got {other:?}"),
    };
    lost(one.record_dispatched(&renewed, Hash32([9; 32]), t(2_000)));
    lost(one.record_send_failure(&renewed, "stale", AfterFailure::SealAgain, t(2_000)));
    lost(one.record_sealed(&renewed, 8, MessageId(Hash32([2; 32])), None, t(2_000)));
    lost(one.record_submitted(&renewed, Hash32([3; 32]), t(2_000)));
    lost(
        one.renew_send_lease(&renewed, Duration::from_secs(9), t(2_000))
            .map(|_| ()),
    );
    assert_eq!(two.send_request(ids[0]).unwrap().unwrap(), before);
    // Its holder's name never takes it back while replica-c's lease lives; a restart of
    // replica-c (its own name) does, under a new generation that fences the old one.
    assert!(lease(&one, &a, 4, 2_000, 1_000).is_empty());
    let restarted = lease(&one, &c, 4, 2_000, 1_000);
    assert_eq!(restarted.len(), 2, "its own two, taken back at once");
    assert_eq!(restarted[0].generation, new.generation + 1);
    lost(two.record_dispatched(&new, Hash32([9; 32]), t(2_100)));
    // A missed attempt whose message can still land at its nonce: sent again as sealed (same
    // nonce and message id, the missed transaction forgotten), the attempt counted, released.
    two.record_send_failure(
        &restarted[0],
        "refused",
        AfterFailure::SendAgain {
            after: Duration::from_millis(10),
        },
        t(2_050),
    )
    .unwrap();
    let again = two.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(
        (again.state, again.nonce, again.message_id, again.tx_hash),
        (
            SendState::Sealed,
            Some(7),
            Some(MessageId(Hash32([1; 32]))),
            None
        )
    );
    assert_eq!((again.attempts, again.lease), (1, None));
    let resend = lease(&one, &c, 1, 2_060, 1_000);
    two.record_dispatched(&resend[0], Hash32([9; 32]), t(2_100))
        .unwrap();
    assert_eq!(
        one.send_request(ids[0]).unwrap().unwrap().state,
        SendState::Dispatched
    );
}

/// A request put off (an attempt that failed for a reason not its own) is released, not leased
/// again by anyone before its time, so the newer ones are; it keeps the reason and counts the
/// deferral; a contention episode keeps its start across deferrals; an outcome clears it all;
/// a lease taken over since cannot put it off.
fn a_request_put_off_lets_the_others_go_first_until_its_time<B: Backend>(b: &B) {
    let (one, two) = (b.open(), b.open());
    let ids = one
        .record_send_requests(
            &[
                request(SendKind::Public, b"failing", &[]),
                request(SendKind::Public, b"fresh", &[]),
            ],
            t(1),
        )
        .unwrap();
    let a = owner("replica-a");
    let held = lease(&one, &a, 1, 10, 60_000);
    assert_eq!(held[0].request, ids[0]);
    one.record_sealed(&held[0], 7, MessageId(Hash32([1; 32])), None, t(20))
        .unwrap();
    one.defer_send_request(
        &held[0],
        "the node is away",
        Duration::from_millis(1_000),
        Holdup::Contended,
        t(100),
    )
    .unwrap();
    let put_off = two.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(put_off.state, SendState::Sealed);
    assert_eq!(put_off.lease, None, "released");
    assert_eq!(
        (put_off.retry_at, put_off.deferrals, put_off.contended_since),
        (Some(t(1_100)), 1, Some(t(100)))
    );
    assert_eq!(
        (put_off.attempts, put_off.error.as_deref()),
        (0, Some("the node is away"))
    );
    // Before its time: neither its holder nor another takes it; the fresh one goes first.
    let next = lease(&two, &owner("replica-c"), 2, 500, 60_000);
    assert_eq!(next.iter().map(|l| l.request).collect::<Vec<_>>(), [ids[1]]);
    assert!(lease(&one, &a, 2, 1_099, 60_000).is_empty());
    // Its time come: leased again; a second deferral keeps the episode's start.
    let again = lease(&one, &a, 1, 1_100, 60_000);
    assert_eq!(again[0].request, ids[0]);
    // The lease it was put off under is spent.
    assert!(matches!(
        one.defer_send_request(&held[0], "late", Duration::ZERO, Holdup::Fault, t(1_150)),
        Err(Error::SendLeaseLost { .. })
    ));
    one.defer_send_request(
        &again[0],
        "still held",
        Duration::from_millis(2_000),
        Holdup::Contended,
        t(1_200),
    )
    .unwrap();
    let r = one.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(
        (r.retry_at, r.deferrals, r.contended_since),
        (Some(t(3_200)), 2, Some(t(100)))
    );
    // The sender account refused as a whole: released with its reason, no deferral counted.
    let refused = lease(&one, &a, 1, 3_200, 60_000);
    one.defer_send_request(
        &refused[0],
        "insufficient funds",
        Duration::ZERO,
        Holdup::Sender,
        t(3_200),
    )
    .unwrap();
    let r = one.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(
        (r.lease, r.deferrals, r.attempts, r.error.as_deref()),
        (None, 2, 0, Some("insufficient funds"))
    );
    // An outcome clears the backoff and the episode.
    let last = lease(&two, &a, 1, 3_200, 60_000);
    two.record_dispatched(&last[0], Hash32([5; 32]), t(3_300))
        .unwrap();
    let r = one.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(r.state, SendState::Dispatched);
    assert_eq!(
        (r.retry_at, r.deferrals, r.contended_since),
        (None, 0, None)
    );
}

/// A counted failed attempt whose message can still land at its nonce (sent again as sealed)
/// waits its backoff on the lease clock: released, leased by no one before its time, so the
/// newer requests go first; at its time it is leased again. A lost nonce (sealed again) is
/// leased again at once, and a request given up is never leased again.
fn a_request_sent_again_waits_its_backoff_and_the_others_go_first<B: Backend>(b: &B) {
    let (one, two) = (b.open(), b.open());
    let ids = one
        .record_send_requests(
            &[
                request(SendKind::Public, b"refused", &[]),
                request(SendKind::Public, b"fresh", &[]),
            ],
            t(1),
        )
        .unwrap();
    let a = owner("replica-a");
    let held = lease(&one, &a, 1, 10, 60_000);
    assert_eq!(held[0].request, ids[0]);
    one.record_sealed(&held[0], 7, MessageId(Hash32([1; 32])), None, t(20))
        .unwrap();
    one.record_send_failure(
        &held[0],
        "execution reverted",
        AfterFailure::SendAgain {
            after: Duration::from_millis(1_000),
        },
        t(100),
    )
    .unwrap();
    let waiting = two.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(
        (
            waiting.state,
            waiting.nonce,
            waiting.attempts,
            waiting.lease
        ),
        (SendState::Sealed, Some(7), 1, None),
        "sent again as sealed: counted and released"
    );
    assert_eq!(
        (
            waiting.retry_at,
            waiting.deferrals,
            waiting.error.as_deref()
        ),
        (Some(t(1_100)), 0, Some("execution reverted"))
    );
    // Before its time: neither its holder nor another takes it; the fresh one goes first.
    let next = lease(&two, &owner("replica-c"), 2, 500, 60_000);
    assert_eq!(next.iter().map(|l| l.request).collect::<Vec<_>>(), [ids[1]]);
    assert!(lease(&one, &a, 2, 1_099, 60_000).is_empty());
    // Its time come: leased again, by whoever looks.
    let again = lease(&two, &owner("replica-d"), 2, 1_100, 60_000);
    assert_eq!(
        again.iter().map(|l| l.request).collect::<Vec<_>>(),
        [ids[0]]
    );
    // A lost nonce is sealed again at once: no wait.
    two.record_send_failure(&again[0], "nonce taken", AfterFailure::SealAgain, t(1_200))
        .unwrap();
    let resealed = one.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(
        (resealed.state, resealed.attempts, resealed.retry_at),
        (SendState::Accepted, 1, None)
    );
    let third = lease(&one, &a, 2, 1_200, 60_000);
    assert_eq!(
        third.iter().map(|l| l.request).collect::<Vec<_>>(),
        [ids[0]]
    );
    one.record_send_failure(&third[0], "given up", AfterFailure::GiveUp, t(1_300))
        .unwrap();
    let failed = two.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(
        (failed.state, failed.attempts, failed.retry_at),
        (SendState::Failed, 2, None)
    );
    assert!(
        lease(&two, &a, 2, 90_000, 60_000)
            .iter()
            .all(|l| l.request != ids[0])
    );
}

fn envelopes_are_stored_once_and_grants_replace_them_with_a_record<B: Backend>(b: &B) {
    let s = b.open();
    let mut fetched = envelope(1, b"first");
    fetched.fetched_from = Some("org1");
    assert!(s.store_envelope(&fetched, t(1)).unwrap());
    assert!(!s.store_envelope(&envelope(1, b"second"), t(2)).unwrap());
    let id = MessageId(Hash32([1; 32]));
    assert_eq!(s.envelope(id).unwrap().unwrap().bytes, b"first");
    let grant = NewGrant {
        message_id: id,
        bytes: b"granted",
        kind: GrantKind::Grant,
        grantor: "org2",
        grantee: "org3",
        chain: Hash32([8; 32]),
        actor: "token:2:ops",
        now: t(3),
    };
    let record = s.record_grant(&grant).unwrap();
    assert_eq!(record.grantee, "org3");
    assert_eq!(s.envelope(id).unwrap().unwrap().bytes, b"granted");
    let revoke = NewGrant {
        bytes: b"revoked",
        kind: GrantKind::Revoke,
        now: t(4),
        ..grant
    };
    s.record_grant(&revoke).unwrap();
    let all = s.grants(id).unwrap();
    assert_eq!(
        all.iter().map(|g| g.kind).collect::<Vec<_>>(),
        [GrantKind::Grant, GrantKind::Revoke]
    );
    let trail = s.audit_trail(0, 10).unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0].action, "envelope.grant");
    assert_eq!(trail[1].action, "envelope.revoke");
    // No envelope, no grant, nothing written.
    let unknown = NewGrant {
        message_id: MessageId(Hash32([5; 32])),
        ..grant
    };
    assert!(matches!(
        s.record_grant(&unknown),
        Err(Error::UnknownEnvelope { .. })
    ));
    assert_eq!(s.audit_trail(0, 10).unwrap().len(), 2);
}
