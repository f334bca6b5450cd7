//! The store conformance suite, API part ([`ApiStore`]): tokens (hashes only, revocation,
//! expiry), the audit trail of every write, the status history the store keeps wherever a
//! delivery changes state, the event sequence the event stream resumes from, and the keyset
//! search. Written against the traits; SQLite runs it, a PostgreSQL backend adds one line.

use causeway_proofs::{Address32, EvmAddress, MessageId};
use causeway_relayer::Error;
use causeway_relayer::store::{
    ApiStore, Attempt, CheckpointRecord, Confirmation, DeliveryStateKind, DeliveryStore,
    FailureReport, Lane, LeaseRequest, MessageFilter, MessageRead, MessageReadout, MessageStatus,
    NewToken, ReadWait, Scope, StatusEvent, Store, TokenId,
};

use crate::support::*;

macro_rules! api_conformance_suite {
    ($name:ident, $backend:expr) => {
        mod $name {
            use super::*;
            api_conformance_suite!(@tests $backend;
                tokens_are_stored_as_hashes_revoked_and_audited,
                invalid_tokens_store_nothing,
                status_history_follows_every_state_change,
                events_have_one_growing_sequence_across_handles,
                retry_is_audited_and_a_refused_retry_writes_nothing,
                search_filters_and_pages_by_keyset,
                message_readout_is_the_single_reads_in_one,
            );
        }
    };
    (@tests $backend:expr; $($test:ident),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                let backend = $backend;
                super::$test(&backend);
            }
        )+
    };
}

api_conformance_suite!(sqlite, SqliteBackend::new());
api_conformance_suite!(postgres, PgBackend::new());

fn new_token<'a>(name: &'a str, hash: u8, scopes: &'a [Scope], now: u64) -> NewToken<'a> {
    NewToken {
        name,
        hash: [hash; 32],
        scopes,
        expires_at: None,
        actor: "cli",
        now: t(now),
    }
}

pub fn tokens_are_stored_as_hashes_revoked_and_audited<B: Backend>(b: &B) {
    let s = b.open();
    let a = s
        .create_token(&new_token(
            "ci",
            1,
            &[Scope::Admin, Scope::Read, Scope::Read],
            10,
        ))
        .unwrap();
    let mut expiring = new_token("short", 2, &[Scope::Read], 20);
    expiring.expires_at = Some(t(100));
    let e = s.create_token(&expiring).unwrap();
    assert_ne!(a, e);
    let all = s.tokens().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, a);
    assert_eq!(all[0].name, "ci");
    assert_eq!(
        all[0].scopes,
        vec![Scope::Read, Scope::Admin],
        "sorted, once each"
    );
    assert_eq!(all[0].hash, [1; 32]);
    assert_eq!(all[0].created_at, t(10));
    assert!(all[0].is_live(t(1_000_000)));
    assert_eq!(all[1].expires_at, Some(t(100)));
    assert!(all[1].is_live(t(99)));
    assert!(!all[1].is_live(t(100)), "expired at its expiry");

    let found = s.token_by_hash(&[2; 32]).unwrap().expect("stored");
    assert_eq!(found.id, e);
    assert_eq!(s.token_by_hash(&[3; 32]).unwrap(), None);

    // A second handle sees the revocation at once.
    s.revoke_token(a, "cli", t(50)).unwrap();
    let other = b.open();
    let revoked = other.token_by_hash(&[1; 32]).unwrap().expect("kept");
    assert_eq!(revoked.revoked_at, Some(t(50)));
    assert!(!revoked.is_live(t(51)));
    // Revoking again changes nothing; an unknown token is an error.
    s.revoke_token(a, "cli", t(60)).unwrap();
    assert_eq!(
        s.token_by_hash(&[1; 32]).unwrap().unwrap().revoked_at,
        Some(t(50))
    );
    assert!(matches!(
        s.revoke_token(TokenId(999), "cli", t(60)),
        Err(Error::UnknownToken { id: 999 })
    ));

    let trail = s.audit_trail(0, 100).unwrap();
    let rows: Vec<(&str, &str, &str, u64)> = trail
        .iter()
        .map(|r| {
            (
                r.actor.as_str(),
                r.action.as_str(),
                r.target.as_str(),
                r.at.0,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("cli", "token.create", &*format!("token:{a}:ci"), 10),
            ("cli", "token.create", &*format!("token:{e}:short"), 20),
            ("cli", "token.revoke", &*format!("token:{a}:ci"), 50),
        ]
    );
    assert!(trail.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        s.audit_trail(trail[1].seq, 100).unwrap(),
        trail[2..].to_vec()
    );
}

pub fn invalid_tokens_store_nothing<B: Backend>(b: &B) {
    let s = b.open();
    for bad in [
        new_token("", 1, &[Scope::Read], 1),
        new_token(&"x".repeat(65), 1, &[Scope::Read], 1),
        new_token("none", 1, &[], 1),
    ] {
        assert!(matches!(
            s.create_token(&bad),
            Err(Error::InvalidToken { .. })
        ));
    }
    s.create_token(&new_token("one", 1, &[Scope::Read], 1))
        .unwrap();
    // The same secret twice is refused (hashes are unique), and not audited.
    assert!(
        s.create_token(&new_token("two", 1, &[Scope::Read], 2))
            .is_err()
    );
    assert_eq!(s.tokens().unwrap().len(), 1);
    assert_eq!(s.audit_trail(0, 100).unwrap().len(), 1);
}

fn statuses(history: &[StatusEvent]) -> Vec<(MessageStatus, Option<&str>)> {
    history
        .iter()
        .map(|e| (e.status, e.reason.as_deref()))
        .collect()
}

fn lease_one(s: &dyn Store, now: u64) -> causeway_relayer::store::LeasedMessage {
    let who = owner("a");
    let mut got = s
        .lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &who,
            limit: 1,
            lease_for: std::time::Duration::from_secs(60),
            covered_by: causeway_proofs::LogSize(u64::MAX / 4),
            policy: policy(1),
            rota: None,
            now: t(now),
        })
        .unwrap();
    assert_eq!(got.len(), 1, "one message to lease at {now}");
    got.remove(0)
}

fn fail(s: &dyn Store, leased: &causeway_relayer::store::LeasedMessage, reason: &str, now: u64) {
    let who = owner("a");
    s.record_failure(&FailureReport {
        id: leased.message.id(),
        attempt: Attempt::Leased {
            owner: &who,
            lease: leased.lease,
        },
        reason,
        policy: policy(2),
        jitter: 0,
        now: t(now),
    })
    .unwrap();
}

pub fn status_history_follows_every_state_change<B: Backend>(b: &B) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 2, 1, 100);
    let (m, other) = (msgs[0].id(), msgs[1].id());
    let first = lease_one(&s, 200);
    assert_eq!(first.message.id(), m);
    fail(&s, &first, "rpc timeout", 300);
    let second = lease_one(&s, 10_000);
    assert_eq!(second.message.id(), m);
    fail(&s, &second, "the recipient reverted", 10_100);
    s.retry_dead_letter_as(m, "token:1:ops", t(20_000)).unwrap();
    s.confirm(&Confirmation {
        ids: &[m],
        block: 9,
        now: t(30_000),
    })
    .unwrap();
    let history = s.message_history(m).unwrap();
    assert_eq!(
        statuses(&history),
        vec![
            (MessageStatus::Logged, None),
            (MessageStatus::Leased, None),
            (MessageStatus::Failed, Some("rpc timeout")),
            (MessageStatus::Leased, None),
            (MessageStatus::DeadLettered, Some("the recipient reverted")),
            (MessageStatus::Retried, None),
            (MessageStatus::Confirmed, None),
        ]
    );
    let times: Vec<u64> = history.iter().map(|e| e.at.0).collect();
    assert_eq!(times, vec![100, 200, 300, 10_000, 10_100, 20_000, 30_000]);
    assert!(history.iter().all(|e| e.id == m && e.lane == LANE));
    assert_eq!(
        statuses(&s.message_history(other).unwrap()),
        vec![(MessageStatus::Logged, None)]
    );
    assert!(
        s.message_history(MessageId([7; 32].into()))
            .unwrap()
            .is_empty()
    );
}

pub fn events_have_one_growing_sequence_across_handles<B: Backend>(b: &B) {
    let s = b.open();
    assert_eq!(s.last_event_seq().unwrap(), 0);
    let msgs = accept_new(&s, 0, 3, 1, 100);
    let other = b.open();
    let leased = lease_one(&other, 200);
    let all = s.events_after(0, 100).unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(s.last_event_seq().unwrap(), all[3].seq);
    let logged: Vec<MessageId> = all[..3].iter().map(|e| e.id).collect();
    assert_eq!(logged, msgs.iter().map(|m| m.id()).collect::<Vec<_>>());
    assert_eq!(all[3].id, leased.message.id());
    assert_eq!(all[3].status, MessageStatus::Leased);
    // Resuming after any event gives exactly the ones after it, in pages.
    assert_eq!(s.events_after(all[1].seq, 100).unwrap(), all[2..].to_vec());
    assert_eq!(s.events_after(all[0].seq, 2).unwrap(), all[1..3].to_vec());
    assert!(s.events_after(all[3].seq, 100).unwrap().is_empty());
}

pub fn retry_is_audited_and_a_refused_retry_writes_nothing<B: Backend>(b: &B) {
    let s = b.open();
    let m = accept_new(&s, 0, 1, 1, 100).remove(0).id();
    let before = s.last_event_seq().unwrap();
    assert!(matches!(
        s.retry_dead_letter_as(m, "token:1:ops", t(200)),
        Err(Error::InvalidTransition {
            state: DeliveryStateKind::Pending,
            ..
        })
    ));
    assert!(s.audit_trail(0, 10).unwrap().is_empty());
    assert_eq!(s.last_event_seq().unwrap(), before);
    let leased = lease_one(&s, 300);
    let who = owner("a");
    s.record_failure(&FailureReport {
        id: m,
        attempt: Attempt::Leased {
            owner: &who,
            lease: leased.lease,
        },
        reason: "gave up",
        policy: policy(1),
        jitter: 0,
        now: t(400),
    })
    .unwrap();
    s.retry_dead_letter_as(m, "token:1:ops", t(500)).unwrap();
    let trail = s.audit_trail(0, 10).unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].actor, "token:1:ops");
    assert_eq!(trail[0].action, "message.retry");
    assert_eq!(trail[0].target, m.to_string());
    assert_eq!(trail[0].at, t(500));
}

pub fn search_filters_and_pages_by_keyset<B: Backend>(b: &B) {
    let s = b.open();
    // Five messages at times 100..500 on LANE, one the other way at 250.
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(accept_new(&s, i, 1, 1 + i, 100 * (i + 1)).remove(0).id());
    }
    let back = message(DEST, 0, ORIGIN, 0);
    accept(&s, DEST, &[event(back.clone(), 1)], 1, 250).unwrap();
    s.confirm(&Confirmation {
        ids: &[ids[1]],
        block: 3,
        now: t(600),
    })
    .unwrap();

    let find = |f: MessageFilter| -> Vec<MessageId> {
        s.search_messages(&f)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    let all = MessageFilter {
        limit: 100,
        ..MessageFilter::default()
    };
    let mut everything = ids.clone();
    everything.insert(2, back.id());
    assert_eq!(find(all), everything, "(accepted_at, id) order");
    assert_eq!(
        find(MessageFilter {
            origin: Some(DEST),
            ..all
        }),
        vec![back.id()]
    );
    assert_eq!(
        find(MessageFilter {
            destination: Some(DEST),
            ..all
        }),
        ids
    );
    assert_eq!(
        find(MessageFilter {
            state: Some(DeliveryStateKind::Confirmed),
            ..all
        }),
        vec![ids[1]]
    );
    assert_eq!(
        find(MessageFilter {
            since: Some(t(200)),
            until: Some(t(400)),
            origin: Some(ORIGIN),
            ..all
        }),
        ids[1..3].to_vec()
    );
    let sender = Address32::from(EvmAddress([0x11; 20]));
    assert_eq!(
        find(MessageFilter {
            sender: Some(sender),
            ..all
        }),
        everything
    );
    assert!(
        find(MessageFilter {
            sender: Some(Address32::from(EvmAddress([0x33; 20]))),
            ..all
        })
        .is_empty()
    );
    let first = s.search_messages(&all).unwrap();
    assert_eq!(first[0].sender, sender);
    assert_eq!(first[0].lane, LANE);
    assert_eq!(first[0].accepted_at, t(100));
    assert_eq!(first[1].state, DeliveryStateKind::Confirmed);

    // Pages of two, each starting after the previous page's last: every message once, even
    // when a new message arrives between pages.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .search_messages(&MessageFilter {
                after,
                limit: 2,
                ..MessageFilter::default()
            })
            .unwrap();
        if page.is_empty() {
            break;
        }
        if paged.is_empty() {
            accept_new(&s, 5, 1, 6, 1_000);
        }
        let last = page.last().unwrap();
        after = Some((last.accepted_at, last.id));
        paged.extend(page.into_iter().map(|m| m.id));
    }
    assert_eq!(paged.len(), 7);
    assert_eq!(&paged[..6], &everything[..]);
}

/// A store with a reader's token (hash `[9; 32]`), two messages (the first leased: two
/// history entries) and a checkpoint of size 2 signed by two validators.
fn readout_fixture(s: &dyn Store) -> MessageId {
    let msgs = accept_new(s, 0, 2, 1, 100);
    let leased = lease_one(s, 200);
    assert_eq!(leased.message.id(), msgs[0].id());
    s.create_token(&new_token("reader", 9, &[Scope::Read], 10))
        .unwrap();
    s.record_checkpoint(&CheckpointRecord {
        lane: LANE,
        checkpoint: checkpoint(2, 0),
        signatures: &[validator_sig(1), validator_sig(2)],
        now: t(300),
    })
    .unwrap();
    msgs[0].id()
}

/// What `GET /v1/messages/{id}` reads, one read at a time.
fn single_reads(
    s: &dyn Store,
    credential: &[u8; 32],
    id: MessageId,
    threshold: usize,
) -> MessageReadout {
    MessageReadout {
        token: s.token_by_hash(credential).unwrap(),
        message: s.message(id).unwrap(),
        history: s.message_history(id).unwrap(),
        checkpoint: s.latest_checkpoint(LANE, threshold).unwrap(),
    }
}

fn serves_lane(lane: Lane) -> Option<usize> {
    (lane == LANE).then_some(2)
}

/// A store that reads a message with its token in one call reads exactly what the single
/// reads give; nothing but the token for an unknown credential; no checkpoint for a lane the
/// caller does not serve.
pub fn message_readout_is_the_single_reads_in_one<B: Backend>(b: &B) {
    let s = b.open();
    let m = readout_fixture(&s);
    let single = single_reads(&s, &[9; 32], m, 2);
    assert!(single.token.is_some() && single.message.is_some() && single.checkpoint.is_some());
    assert_eq!(single.history.len(), 2);
    let read = MessageRead {
        credential: &[9; 32],
        id: m,
        threshold: &serves_lane,
        wait: ReadWait::Block,
    };
    if let Some(out) = s.message_readout(&read) {
        assert_eq!(out.unwrap(), single);
        let stranger = MessageRead {
            credential: &[8; 32],
            ..read
        };
        assert_eq!(
            s.message_readout(&stranger).unwrap().unwrap(),
            MessageReadout {
                token: None,
                message: None,
                history: Vec::new(),
                checkpoint: None,
            }
        );
        let unserved = MessageRead {
            threshold: &|_| None,
            ..read
        };
        let out = s.message_readout(&unserved).unwrap().unwrap();
        assert_eq!(
            (out.checkpoint, out.history),
            (None, single.history.clone())
        );
        let unknown = MessageRead {
            id: MessageId([7; 32].into()),
            ..read
        };
        let out = s.message_readout(&unknown).unwrap().unwrap();
        assert!(out.token.is_some() && out.message.is_none() && out.history.is_empty());
    }
}

/// SQLite offers the one-call read, waiting or not (its connection is idle here).
#[test]
fn sqlite_reads_a_message_with_its_token_in_one_call() {
    let backend = SqliteBackend::new();
    let s = backend.open();
    let m = readout_fixture(&s);
    let single = single_reads(&s, &[9; 32], m, 2);
    for wait in [ReadWait::Block, ReadWait::IfIdle] {
        let read = MessageRead {
            credential: &[9; 32],
            id: m,
            threshold: &serves_lane,
            wait,
        };
        let out = s
            .message_readout(&read)
            .expect("SQLite offers the one-call read")
            .unwrap();
        assert_eq!(out, single, "{wait:?}");
    }
}
