//! The store conformance suite: what every [`Store`] backend must do, written against the trait
//! and a [`Backend`] that opens handles on one database. SQLite runs it below; a PostgreSQL
//! backend adds one `conformance_suite!(postgres, PgBackend::new())` line.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use causeway_adapters::SubmissionHandle;
use causeway_proofs::bundle::ChainFamily;
use causeway_proofs::{Domain, LeafIndex, LogSize, MessageId};
use causeway_relayer::Error;
use causeway_relayer::store::{
    Attempt, CheckpointRecord, CheckpointStore, Confirmation, DeliveryState, DeliveryStateKind,
    DeliveryStore, FailureOutcome, FailureReport, KeptHandle, Lane, LeaseOwner, LeaseRequest,
    LeaseToken, LeasedMessage, MemberSignatureOutcome, MemberSignatureRecord, QueryStore, Renewal,
    RetryPolicy, SourceStore, StateCounts, Store, Submission, SubmissionId, TakeOver,
};
use causeway_relayer::store::{DeadLetter, LastDelivery, ValidatorActivity};

use crate::support::*;

macro_rules! conformance_suite {
    ($name:ident, $backend:expr) => {
        mod $name {
            use super::*;
            conformance_suite!(@tests $backend;
                accept_appends_contiguous_leaves_with_pending_deliveries,
                accept_is_idempotent_on_message_id,
                equivocation_is_rejected_and_the_whole_batch_with_it,
                batch_and_cursor_checks,
                rollback_moves_only_the_cursor_and_never_below_logged_events,
                leaves_page_through_the_log,
                checkpoints_count_each_validator_once,
                member_signatures_catch_equivocation_in_either_order,
                leases_are_exclusive_ordered_and_bounded,
                leases_expire,
                an_expired_lease_uses_an_attempt_until_the_message_is_a_dead_letter,
                leases_are_exclusive_across_handles_and_threads,
                failures_back_off_then_dead_letter_then_retry,
                submit_confirm_and_revert_transitions,
                lane_stats_count_states_and_oldest_pending,
                validator_activity_and_last_delivery_per_lane,
                dead_letters_are_listed_most_recent_first,
                reopening_preserves_everything,
                unknown_ids_are_none_or_errors,
                submitted_lists_in_flight_messages_of_a_lane,
                submitted_messages_are_followed_under_a_lease_and_taken_over_when_it_ends,
                signed_submissions_are_kept_until_settled_and_a_resigned_part_replaces_its_record,
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

conformance_suite!(sqlite, SqliteBackend::new());
conformance_suite!(postgres, PgBackend::new());

fn lease(
    s: &dyn Store,
    who: &LeaseOwner,
    limit: usize,
    lease_ms: u64,
    covered: u64,
    now: u64,
) -> Vec<LeasedMessage> {
    s.lease_pending(&LeaseRequest {
        lane: LANE,
        owner: who,
        limit,
        lease_for: Duration::from_millis(lease_ms),
        covered_by: LogSize(covered),
        policy: RetryPolicy::default(),
        now: t(now),
        rota: None,
    })
    .unwrap()
}

fn state_of(s: &dyn Store, id: MessageId) -> DeliveryState {
    s.message(id).unwrap().expect("stored").delivery.state
}

fn ids(leased: &[LeasedMessage]) -> Vec<MessageId> {
    leased.iter().map(|m| m.message.id()).collect()
}

pub fn accept_appends_contiguous_leaves_with_pending_deliveries<B: Backend>(b: &B) {
    let s = b.open();
    assert_eq!(s.cursor(ORIGIN).unwrap(), None);
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(0));
    let first = accept_new(&s, 0, 3, 10, 1_000);
    let second = accept_new(&s, 3, 2, 11, 2_000);
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(11)));
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(5));
    let all: Vec<MessageId> = first.iter().chain(&second).map(|m| m.id()).collect();
    assert_eq!(s.leaves(ORIGIN, LeafIndex(0), 100).unwrap(), all);
    for (i, m) in first.iter().chain(&second).enumerate() {
        let rec = s.message(m.id()).unwrap().expect("accepted");
        assert_eq!(rec.message, *m);
        assert_eq!(rec.leaf_index, LeafIndex(i as u64));
        assert_eq!(
            rec.source,
            event(m.clone(), if i < 3 { 10 } else { 11 }).source
        );
        assert_eq!(
            rec.native_proof,
            event(m.clone(), if i < 3 { 10 } else { 11 }).native_proof
        );
        assert_eq!(rec.accepted_at, t(if i < 3 { 1_000 } else { 2_000 }));
        assert_eq!(rec.delivery.lane, LANE);
        assert_eq!(rec.delivery.state, DeliveryState::Pending);
        assert_eq!(rec.delivery.attempts, 0);
        assert_eq!(rec.delivery.next_attempt_at, rec.accepted_at);
        assert_eq!(rec.delivery.last_error, None);
    }
    // Another origin has its own log, starting at 0.
    let other = Domain(9);
    let m = message(other, 0, DEST, 0);
    let out = accept(&s, other, &[event(m.clone(), 5)], 5, 3_000).unwrap();
    assert_eq!(out.appended, vec![(LeafIndex(0), m.id())]);
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(5));
}

pub fn accept_is_idempotent_on_message_id<B: Backend>(b: &B) {
    let s = b.open();
    let msgs: Vec<_> = (0..3).map(|n| message(ORIGIN, n, DEST, 0)).collect();
    let events: Vec<_> = msgs.iter().map(|m| event(m.clone(), 7)).collect();
    let first = accept(&s, ORIGIN, &events, 7, 100).unwrap();
    assert_eq!(first.appended.len(), 3);
    assert_eq!(first.already_known, 0);
    assert_eq!(first.log_size, LogSize(3));
    // Replaying the batch (a crash after commit, before the watcher moved on) changes nothing.
    let again = accept(&s, ORIGIN, &events, 7, 999).unwrap();
    assert_eq!(again.appended, vec![]);
    assert_eq!(again.already_known, 3);
    assert_eq!(again.log_size, LogSize(3));
    assert_eq!(
        s.message(msgs[0].id()).unwrap().unwrap().accepted_at,
        t(100)
    );
    // An overlapping batch appends only the new message; a duplicate inside a batch counts once.
    let m3 = message(ORIGIN, 3, DEST, 0);
    let overlap = vec![
        events[2].clone(),
        event(m3.clone(), 8),
        event(m3.clone(), 8),
    ];
    let out = accept(&s, ORIGIN, &overlap, 8, 200).unwrap();
    assert_eq!(out.appended, vec![(LeafIndex(3), m3.id())]);
    assert_eq!(out.already_known, 2);
    assert_eq!(s.leaves(ORIGIN, LeafIndex(0), 10).unwrap().len(), 4);
}

pub fn equivocation_is_rejected_and_the_whole_batch_with_it<B: Backend>(b: &B) {
    let s = b.open();
    let honest = message(ORIGIN, 0, DEST, 0);
    accept(&s, ORIGIN, &[event(honest.clone(), 1)], 1, 10).unwrap();
    let fresh = message(ORIGIN, 1, DEST, 0);
    let forged = message(ORIGIN, 0, DEST, 1);
    let batch = [event(fresh.clone(), 2), event(forged.clone(), 2)];
    let err = accept(&s, ORIGIN, &batch, 2, 20).unwrap_err();
    match err {
        Error::Equivocation {
            origin,
            nonce,
            stored,
            offered,
        } => {
            assert_eq!(origin, ORIGIN);
            assert_eq!(nonce, honest.nonce());
            assert_eq!(stored, honest.id());
            assert_eq!(offered, forged.id());
        }
        other => panic!("expected Equivocation, got {other:?}"),
    }
    // Nothing of the batch is stored: not the fresh message before the forgery, not the cursor.
    assert!(s.message(fresh.id()).unwrap().is_none());
    assert!(s.message(forged.id()).unwrap().is_none());
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(1)));
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(1));
    // Equivocation inside one batch is caught too.
    let twins = [
        event(fresh.clone(), 2),
        event(message(ORIGIN, 1, DEST, 9), 2),
    ];
    assert!(matches!(
        accept(&s, ORIGIN, &twins, 2, 30),
        Err(Error::Equivocation { .. })
    ));
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(1));
}

pub fn batch_and_cursor_checks<B: Backend>(b: &B) {
    let s = b.open();
    let first = accept_new(&s, 0, 1, 10, 1).remove(0);
    // A message of another origin.
    let foreign = message(Domain(7), 1, DEST, 0);
    assert!(matches!(
        accept(&s, ORIGIN, &[event(foreign, 11)], 11, 2),
        Err(Error::WrongOrigin {
            expected: ORIGIN,
            actual: Domain(7)
        })
    ));
    // An event from a block past the batch's cursor.
    let late = message(ORIGIN, 1, DEST, 0);
    assert!(matches!(
        accept(&s, ORIGIN, &[event(late.clone(), 12)], 11, 2),
        Err(Error::EventBeyondCursor {
            block: 12,
            cursor: 11,
            ..
        })
    ));
    // The cursor never moves back, nor changes hash at its height. A batch behind it whose
    // events are all stored (another instance on this store accepted those blocks first) is a
    // no-op; one with an event the store has not seen there is refused.
    let out = accept(&s, ORIGIN, &[event(first, 9)], 9, 2).unwrap();
    assert_eq!((out.appended.len(), out.already_known), (0, 1));
    assert_eq!(out.log_size, LogSize(1));
    assert!(accept(&s, ORIGIN, &[], 9, 2).unwrap().appended.is_empty());
    assert_eq!(
        s.cursor(ORIGIN).unwrap(),
        Some(cursor(10)),
        "not moved back"
    );
    assert!(matches!(
        accept(&s, ORIGIN, &[event(late.clone(), 9)], 9, 2),
        Err(Error::CursorRegression {
            stored: 10,
            offered: 9,
            ..
        })
    ));
    let mut forked = cursor(10);
    forked.block_hash = block_hash(1_000);
    let batch = causeway_relayer::store::AcceptBatch {
        origin: ORIGIN,
        events: &[],
        cursor: forked,
        now: t(2),
    };
    assert!(matches!(
        s.accept_events(&batch),
        Err(Error::CursorConflict { block: 10, .. })
    ));
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(10)));
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(1));
    // An empty range still advances the cursor.
    accept(&s, ORIGIN, &[], 20, 3).unwrap();
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(20)));
}

pub fn rollback_moves_only_the_cursor_and_never_below_logged_events<B: Backend>(b: &B) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 2, 10, 1);
    accept(&s, ORIGIN, &[], 15, 2).unwrap();
    // Back to 12: no logged event above it.
    assert_eq!(
        s.rollback_to(ORIGIN, cursor(12), t(3)).unwrap(),
        Some(cursor(15))
    );
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(12)));
    // Forward is not a rollback.
    assert!(matches!(
        s.rollback_to(ORIGIN, cursor(13), t(4)),
        Err(Error::RollbackForward {
            stored: 12,
            target: 13,
            ..
        })
    ));
    // Below block 10 would orphan logged (final, maybe attested) leaves: refused.
    match s.rollback_to(ORIGIN, cursor(9), t(5)).unwrap_err() {
        Error::RollbackBelowFinal {
            target,
            id,
            leaf_index,
            block,
            ..
        } => {
            assert_eq!((target, leaf_index, block), (9, 0, 10));
            assert_eq!(id, msgs[0].id());
        }
        other => panic!("expected RollbackBelowFinal, got {other:?}"),
    }
    assert_eq!(s.cursor(ORIGIN).unwrap(), Some(cursor(12)));
    assert_eq!(s.log_size(ORIGIN).unwrap(), LogSize(2));
    // Re-scanning from the rolled-back cursor re-offers the same events: a no-op.
    let replay: Vec<_> = msgs.iter().map(|m| event(m.clone(), 10)).collect();
    let out = accept(&s, ORIGIN, &replay, 14, 6).unwrap();
    assert_eq!((out.appended.len(), out.already_known), (0, 2));
}

pub fn leaves_page_through_the_log<B: Backend>(b: &B) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 10, 1, 1);
    let mut paged = Vec::new();
    let mut from = 0;
    loop {
        let page = s.leaves(ORIGIN, LeafIndex(from), 3).unwrap();
        if page.is_empty() {
            break;
        }
        from += page.len() as u64;
        paged.extend(page);
    }
    assert_eq!(paged, msgs.iter().map(|m| m.id()).collect::<Vec<_>>());
    assert!(s.leaves(ORIGIN, LeafIndex(10), 5).unwrap().is_empty());
    assert!(s.leaves(ORIGIN, LeafIndex(3), 0).unwrap().is_empty());
    assert!(s.leaves(Domain(42), LeafIndex(0), 5).unwrap().is_empty());
}

pub fn checkpoints_count_each_validator_once<B: Backend>(b: &B) {
    let s = b.open();
    accept_new(&s, 0, 4, 1, 1);
    let record = |size, variant, sigs: &[_]| {
        s.record_checkpoint(&CheckpointRecord {
            lane: LANE,
            checkpoint: checkpoint(size, variant),
            signatures: sigs,
            now: t(50),
        })
    };
    assert_eq!(s.latest_checkpoint(LANE, 0).unwrap(), None);
    let out = record(2, 0, &[validator_sig(3), validator_sig(1)]).unwrap();
    assert_eq!((out.new_signatures, out.total_signatures), (2, 2));
    // Same validator again (even with other bytes) and a newcomer: only the newcomer counts.
    let mut again = validator_sig(3);
    again.signature.0[0] ^= 1;
    let out = record(2, 0, &[again, validator_sig(2), validator_sig(2)]).unwrap();
    assert_eq!((out.new_signatures, out.total_signatures), (1, 3));
    let latest = s.latest_checkpoint(LANE, 1).unwrap().expect("recorded");
    assert_eq!(latest.checkpoint, checkpoint(2, 0));
    assert_eq!(latest.lane, LANE);
    assert_eq!(
        latest.signatures,
        vec![validator_sig(1), validator_sig(2), validator_sig(3)],
        "ascending by validator, first signature kept"
    );
    // Another root at the same size is a conflict.
    assert!(matches!(
        record(2, 1, &[]),
        Err(Error::CheckpointConflict {
            size: LogSize(2),
            ..
        })
    ));
    // A checkpoint beyond the stored log cannot be ours.
    assert!(matches!(
        record(5, 0, &[]),
        Err(Error::CheckpointBeyondLog {
            size: LogSize(5),
            log_size: LogSize(4),
            ..
        })
    ));
    // A checkpoint of another origin does not belong on this lane.
    let other_lane = Lane {
        origin: Domain(9),
        destination: DEST,
    };
    assert!(matches!(
        s.record_checkpoint(&CheckpointRecord {
            lane: other_lane,
            checkpoint: checkpoint(1, 0),
            signatures: &[],
            now: t(1),
        }),
        Err(Error::WrongOrigin { .. })
    ));
    // A larger checkpoint with one signature: latest overall, but not with a quorum of 2.
    record(4, 0, &[validator_sig(5)]).unwrap();
    assert_eq!(
        s.latest_checkpoint(LANE, 1).unwrap().unwrap().checkpoint,
        checkpoint(4, 0)
    );
    assert_eq!(
        s.latest_checkpoint(LANE, 2).unwrap().unwrap().checkpoint,
        checkpoint(2, 0)
    );
    assert_eq!(s.latest_checkpoint(LANE, 4).unwrap(), None);
    // Lanes are separate: the same origin to another destination has no checkpoint.
    let lane2 = Lane {
        origin: ORIGIN,
        destination: Domain(3),
    };
    assert_eq!(s.latest_checkpoint(lane2, 0).unwrap(), None);
}

/// Other members' signatures: over this gateway's own root they count; over another root they
/// are kept apart (a root mismatch); a validator that signed two roots for one size, in either
/// order, is caught with evidence anyone can check, and its signatures stop counting.
pub fn member_signatures_catch_equivocation_in_either_order<B: Backend>(b: &B) {
    let s = b.open();
    accept_new(&s, 0, 4, 1, 1);
    let domain = causeway_proofs::SigningDomain {
        origin: ORIGIN,
        origin_chain_id: 1,
        destination: DEST,
        destination_chain_id: 2,
        inbox: causeway_proofs::SigningDomain::named_inbox("conformance"),
        validator_epoch: 1,
    };
    let record = |size, variant, validator, own: bool| {
        s.record_member_signature(&MemberSignatureRecord {
            lane: LANE,
            domain,
            checkpoint: checkpoint(size, variant),
            signature: validator_sig(validator),
            matches_own_root: own,
            now: t(60),
        })
    };
    // Validator 1 signs our root at size 2, validator 2 another root at size 2.
    assert_eq!(
        record(2, 0, 1, true).unwrap(),
        MemberSignatureOutcome::Counted {
            total_signatures: 1
        }
    );
    assert_eq!(
        record(2, 1, 2, false).unwrap(),
        MemberSignatureOutcome::RootMismatch
    );
    // Again the same: still one each (no equivocation with itself).
    assert_eq!(
        record(2, 0, 1, true).unwrap(),
        MemberSignatureOutcome::Counted {
            total_signatures: 1
        }
    );
    assert_eq!(
        record(2, 1, 2, false).unwrap(),
        MemberSignatureOutcome::RootMismatch
    );
    assert!(s.equivocations(LANE).unwrap().is_empty());
    // Validator 3 counts at size 2: the checkpoint has two signatures.
    record(2, 0, 3, true).unwrap();
    assert_eq!(
        s.latest_checkpoint(LANE, 2)
            .unwrap()
            .unwrap()
            .signatures
            .len(),
        2
    );

    // Counted first, then another root: equivocation.
    let MemberSignatureOutcome::Equivocation(first) = record(2, 1, 1, false).unwrap() else {
        panic!("validator 1 signed two roots at size 2");
    };
    assert_eq!(first.validator, validator_sig(1).validator);
    assert_eq!(first.first.checkpoint, checkpoint(2, 0));
    assert_eq!(first.second.checkpoint, checkpoint(2, 1));
    assert_eq!(first.domain, domain);
    // Mismatch first, then our root: equivocation too.
    let MemberSignatureOutcome::Equivocation(second) = record(2, 0, 2, true).unwrap() else {
        panic!("validator 2 signed two roots at size 2");
    };
    assert_eq!(second.first.checkpoint, checkpoint(2, 1));
    assert_eq!(second.second.checkpoint, checkpoint(2, 0));
    // From now on they are excluded, at every size.
    assert_eq!(
        record(3, 0, 1, true).unwrap(),
        MemberSignatureOutcome::Excluded
    );
    assert_eq!(
        record(3, 0, 2, true).unwrap(),
        MemberSignatureOutcome::Excluded
    );
    let evidence = s.equivocations(LANE).unwrap();
    assert_eq!(evidence.len(), 2);
    assert_eq!(evidence[0], *first);
    assert_eq!(evidence[1], *second);
    // Their signatures stop counting, also the ones recorded before: only validator 3's is left.
    assert_eq!(s.latest_checkpoint(LANE, 2).unwrap(), None);
    let cp = s.latest_checkpoint(LANE, 1).unwrap().unwrap();
    assert_eq!(cp.signatures, vec![validator_sig(3)]);
    // Another lane is not affected.
    let other = Lane {
        origin: ORIGIN,
        destination: Domain(DEST.0 + 1),
    };
    assert!(s.equivocations(other).unwrap().is_empty());
    // Beyond the log: refused, nothing recorded.
    assert!(record(9, 0, 3, false).is_err());
}

pub fn leases_are_exclusive_ordered_and_bounded<B: Backend>(b: &B) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 6, 1, 1_000);
    let (a, bb) = (owner("a"), owner("b"));
    // Only leaves below the checkpoint size, lowest first, at most `limit`.
    let got = lease(&s, &a, 2, 10_000, 5, 1_000);
    assert_eq!(ids(&got), vec![msgs[0].id(), msgs[1].id()]);
    assert_eq!(got[0].leaf_index, LeafIndex(0));
    assert_eq!(got[0].attempts, 0);
    assert_eq!(got[0].lease_until, t(11_000));
    assert_eq!(
        state_of(&s, msgs[0].id()),
        DeliveryState::Leased {
            owner: a.clone(),
            until: t(11_000)
        }
    );
    let got_b = lease(&s, &bb, 10, 10_000, 5, 1_001);
    assert_eq!(
        ids(&got_b),
        vec![msgs[2].id(), msgs[3].id(), msgs[4].id()],
        "live leases are never handed out again; leaf 5 is not covered"
    );
    assert!(lease(&s, &a, 10, 10_000, 5, 1_002).is_empty());
    assert!(lease(&s, &a, 0, 10_000, 6, 1_002).is_empty(), "limit 0");
    // Another lane sees nothing.
    let other = s
        .lease_pending(&LeaseRequest {
            lane: Lane {
                origin: ORIGIN,
                destination: Domain(3),
            },
            owner: &a,
            limit: 10,
            lease_for: Duration::from_secs(1),
            covered_by: LogSize(100),
            policy: RetryPolicy::default(),
            now: t(1_003),
            rota: None,
        })
        .unwrap();
    assert!(other.is_empty());
}

pub fn leases_expire<B: Backend>(b: &B) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 2, 1, 0);
    let (a, bb) = (owner("a"), owner("b"));
    let first = lease(&s, &a, 10, 500, 2, 100);
    assert_eq!(first.len(), 2);
    assert!(
        lease(&s, &bb, 10, 500, 2, 599).is_empty(),
        "still live at 599"
    );
    // At 600 the lease has ended: b takes both over; a can no longer act on them.
    let got = lease(&s, &bb, 10, 500, 2, 600);
    assert_eq!(ids(&got), vec![msgs[0].id(), msgs[1].id()]);
    assert!(got[0].lease > first[0].lease, "tokens only grow");
    assert_eq!(got[0].attempts, 1, "the expired lease used an attempt");
    let err = s
        .mark_submitted(&Submission {
            owner: &a,
            lease: first[0].lease,
            ids: &[msgs[0].id()],
            handle: &handle(1),
            signed: None,
            replaces: None,
            now: t(601),
        })
        .unwrap_err();
    match err {
        Error::LeaseLost {
            id, owner, holder, ..
        } => {
            assert_eq!(id, msgs[0].id());
            assert_eq!(owner, a);
            assert_eq!(holder, Some(bb.clone()));
        }
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    // An expired lease not yet taken over can be re-leased by its own holder too.
    assert_eq!(lease(&s, &bb, 10, 500, 2, 1_100).len(), 2);
}

/// A message whose every attempt dies before anything is recorded (its holder crashes, or
/// fails before calling the store) must not be leased for ever: each expired lease counts.
pub fn an_expired_lease_uses_an_attempt_until_the_message_is_a_dead_letter<B: Backend>(b: &B) {
    let s = b.open();
    let m = accept_new(&s, 0, 1, 1, 0).remove(0);
    let a = owner("a");
    let lease3 = |now: u64| {
        s.lease_pending(&LeaseRequest {
            lane: LANE,
            owner: &a,
            limit: 10,
            lease_for: Duration::from_millis(100),
            covered_by: LogSize(1),
            policy: policy(3),
            now: t(now),
            rota: None,
        })
        .unwrap()
    };
    assert_eq!(lease3(0)[0].attempts, 0);
    assert!(lease3(50).is_empty(), "live");
    assert_eq!(lease3(100)[0].attempts, 1, "expired once");
    let rec = s.message(m.id()).unwrap().unwrap();
    assert!(
        rec.delivery
            .last_error
            .is_some_and(|e| e.contains("lease expired without an outcome"))
    );
    assert_eq!(lease3(200)[0].attempts, 2, "expired twice");
    // The third expiry uses up the policy's three attempts: a dead letter, leased no more.
    assert!(lease3(300).is_empty());
    match state_of(&s, m.id()) {
        DeliveryState::DeadLetter { reason } => {
            assert!(
                reason.contains("lease expired without an outcome"),
                "{reason}"
            )
        }
        other => panic!("expected a dead letter, got {other:?}"),
    }
    assert_eq!(s.message(m.id()).unwrap().unwrap().delivery.attempts, 3);
    // The operator's retry brings it back, as for any dead letter.
    s.retry_dead_letter(m.id(), t(400)).unwrap();
    assert_eq!(lease3(400)[0].attempts, 0);
}

pub fn leases_are_exclusive_across_handles_and_threads<B: Backend>(b: &B) {
    let total = 120u64;
    accept_new(&b.open(), 0, total, 1, 0);
    let handles: Vec<Arc<dyn Store>> = vec![Arc::new(b.open()), Arc::new(b.open())];
    let threads: Vec<_> = handles
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            std::thread::spawn(move || {
                let me = owner(&format!("instance-{i}"));
                let mut mine = Vec::new();
                loop {
                    let got = lease(&*s, &me, 3, 60_000, total, 1);
                    if got.is_empty() {
                        break;
                    }
                    mine.extend(ids(&got));
                }
                (me, mine)
            })
        })
        .collect();
    let results: Vec<(LeaseOwner, Vec<MessageId>)> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();
    let s = b.open();
    let mut seen = BTreeSet::new();
    for (me, mine) in &results {
        for id in mine {
            assert!(seen.insert(*id), "{id} leased twice");
            match state_of(&s, *id) {
                DeliveryState::Leased { owner, .. } => assert_eq!(&owner, me),
                other => panic!("{id} is {other:?}"),
            }
        }
    }
    assert_eq!(
        seen.len() as u64,
        total,
        "every message leased exactly once"
    );
}

pub fn failures_back_off_then_dead_letter_then_retry<B: Backend>(b: &B) {
    let s = b.open();
    let m = accept_new(&s, 0, 1, 1, 0).remove(0);
    let a = owner("a");
    let policy = policy(3);
    let fail = |attempt: Attempt<'_>, now: u64, jitter: u64| {
        s.record_failure(&FailureReport {
            id: m.id(),
            attempt,
            reason: "rpc timeout",
            policy,
            jitter,
            now: t(now),
        })
    };
    // Attempt 1 fails under the lease: back off 1 s (jitter picks the full step).
    let got = lease(&s, &a, 1, 60_000, 1, 0);
    assert_eq!(got.len(), 1);
    let leased = |lease| Attempt::Leased { owner: &a, lease };
    let out = fail(leased(got[0].lease), 100, 500).unwrap();
    let next = 100 + policy.delay(1, 500).as_millis() as u64;
    assert_eq!(
        out,
        FailureOutcome::Retry {
            attempts: 1,
            next_attempt_at: t(next)
        }
    );
    let rec = s.message(m.id()).unwrap().unwrap();
    assert_eq!(rec.delivery.state, DeliveryState::Pending);
    assert_eq!(rec.delivery.attempts, 1);
    assert_eq!(rec.delivery.next_attempt_at, t(next));
    assert_eq!(rec.delivery.last_error.as_deref(), Some("rpc timeout"));
    // Not leasable before its time, leasable at it.
    assert!(lease(&s, &a, 1, 60_000, 1, next - 1).is_empty());
    let got = lease(&s, &a, 1, 60_000, 1, next);
    assert_eq!(got[0].attempts, 1);
    // Attempt 2: submitted, then reverted (the confirm stage reports it, naming the submission).
    s.mark_submitted(&Submission {
        owner: &a,
        lease: got[0].lease,
        ids: &[m.id()],
        handle: &handle(77),
        signed: None,
        replaces: None,
        now: t(next + 1),
    })
    .unwrap();
    assert!(matches!(
        fail(leased(got[0].lease), next + 2, 0),
        Err(Error::LeaseLost { .. })
    ));
    // A report about another submission (a stale follower of an older transaction) is refused.
    let submitted = |n| Attempt::Submitted {
        submission: SubmissionId::of(&handle(n)),
    };
    assert!(matches!(
        fail(submitted(76), next + 2, 0),
        Err(Error::InvalidTransition { .. })
    ));
    let out = fail(submitted(77), next + 2, 0).unwrap();
    let next2 = next + 2 + policy.delay(2, 0).as_millis() as u64;
    assert_eq!(
        out,
        FailureOutcome::Retry {
            attempts: 2,
            next_attempt_at: t(next2)
        }
    );
    assert_eq!(
        next2 - (next + 2),
        1_000,
        "second step is 2 s, jitter 0 takes its half"
    );
    // Attempt 3 uses up the policy: dead letter, never leased again.
    let got = lease(&s, &a, 1, 60_000, 1, next2);
    assert_eq!(
        fail(leased(got[0].lease), next2 + 1, 0).unwrap(),
        FailureOutcome::DeadLetter { attempts: 3 }
    );
    assert_eq!(
        state_of(&s, m.id()),
        DeliveryState::DeadLetter {
            reason: "rpc timeout".into()
        }
    );
    assert!(lease(&s, &a, 1, 60_000, 1, u64::MAX / 4).is_empty());
    assert!(matches!(
        fail(submitted(77), next2 + 2, 0),
        Err(Error::InvalidTransition {
            state: DeliveryStateKind::DeadLetter,
            ..
        })
    ));
    // The operator retries it: pending now, attempts reset.
    s.retry_dead_letter(m.id(), t(900_000)).unwrap();
    let rec = s.message(m.id()).unwrap().unwrap();
    assert_eq!(rec.delivery.state, DeliveryState::Pending);
    assert_eq!(rec.delivery.attempts, 0);
    assert_eq!(rec.delivery.next_attempt_at, t(900_000));
    assert!(matches!(
        s.retry_dead_letter(m.id(), t(900_001)),
        Err(Error::InvalidTransition {
            state: DeliveryStateKind::Pending,
            ..
        })
    ));
    assert_eq!(lease(&s, &a, 1, 60_000, 1, 900_000).len(), 1);
}

pub fn submit_confirm_and_revert_transitions<B: Backend>(b: &B) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 4, 1, 0);
    let (a, bb) = (owner("a"), owner("b"));
    let got = lease(&s, &a, 3, 60_000, 4, 10);
    assert_eq!(got.len(), 3);
    // All or nothing: message 3 is not leased by a, so nothing is recorded.
    let batch = [msgs[0].id(), msgs[1].id(), msgs[3].id()];
    let lease_a = got[0].lease;
    assert!(matches!(
        s.mark_submitted(&Submission {
            owner: &a,
            lease: lease_a,
            ids: &batch,
            handle: &handle(1),
            signed: None,
            replaces: None,
            now: t(11),
        }),
        Err(Error::LeaseLost {
            state: DeliveryStateKind::Pending,
            holder: None,
            ..
        })
    ));
    assert!(matches!(
        state_of(&s, msgs[0].id()),
        DeliveryState::Leased { .. }
    ));
    assert!(matches!(
        s.mark_submitted(&Submission {
            owner: &bb,
            lease: lease_a,
            ids: &[msgs[0].id()],
            handle: &handle(1),
            signed: None,
            replaces: None,
            now: t(11),
        }),
        Err(Error::LeaseLost { .. })
    ));
    // Right owner, an older lease: refused too.
    assert!(matches!(
        s.mark_submitted(&Submission {
            owner: &a,
            lease: LeaseToken(lease_a.0 - 1),
            ids: &batch[..2],
            handle: &handle(1),
            signed: None,
            replaces: None,
            now: t(11),
        }),
        Err(Error::LeaseLost { .. })
    ));
    s.mark_submitted(&Submission {
        owner: &a,
        lease: lease_a,
        ids: &batch[..2],
        handle: &handle(1),
        signed: None,
        replaces: None,
        now: t(12),
    })
    .unwrap();
    assert_eq!(
        state_of(&s, msgs[0].id()),
        DeliveryState::Submitted {
            owner: a.clone(),
            submission: SubmissionId::of(&handle(1)),
            submitted_at: t(12)
        }
    );
    // Submitted messages are not leased even after the lease time passes.
    assert_eq!(
        ids(&lease(&s, &bb, 10, 1, 4, 100_000)),
        vec![msgs[2].id(), msgs[3].id()]
    );
    // Confirm message 0; message 1's transaction was reorganised out: back to pending.
    s.confirm(&Confirmation {
        ids: &[msgs[0].id()],
        block: 42,
        now: t(200_000),
    })
    .unwrap();
    assert_eq!(
        state_of(&s, msgs[0].id()),
        DeliveryState::Confirmed { block: 42 }
    );
    s.record_failure(&FailureReport {
        id: msgs[1].id(),
        attempt: Attempt::Submitted {
            submission: SubmissionId::of(&handle(1)),
        },
        reason: "reorged out",
        policy: policy(5),
        jitter: 0,
        now: t(200_000),
    })
    .unwrap();
    assert_eq!(state_of(&s, msgs[1].id()), DeliveryState::Pending);
    // Confirmed is final: confirming again keeps the first block; it is never leased again.
    s.confirm(&Confirmation {
        ids: &[msgs[0].id()],
        block: 43,
        now: t(200_001),
    })
    .unwrap();
    assert_eq!(
        state_of(&s, msgs[0].id()),
        DeliveryState::Confirmed { block: 42 }
    );
    let later = lease(&s, &a, 10, 1_000, 4, u64::MAX / 4);
    assert!(!ids(&later).contains(&msgs[0].id()));
    assert!(ids(&later).contains(&msgs[1].id()));
    assert!(matches!(
        s.record_failure(&FailureReport {
            id: msgs[0].id(),
            attempt: Attempt::Submitted {
                submission: SubmissionId::of(&handle(1)),
            },
            reason: "late revert",
            policy: policy(5),
            jitter: 0,
            now: t(1),
        }),
        Err(Error::InvalidTransition {
            state: DeliveryStateKind::Confirmed,
            ..
        })
    ));
    // The destination says message 2 is delivered (another instance did it): confirmed from
    // whatever state it is in.
    s.confirm(&Confirmation {
        ids: &[msgs[2].id()],
        block: 50,
        now: t(1),
    })
    .unwrap();
    assert_eq!(
        state_of(&s, msgs[2].id()),
        DeliveryState::Confirmed { block: 50 }
    );
}

pub fn lane_stats_count_states_and_oldest_pending<B: Backend>(b: &B) {
    let s = b.open();
    assert!(s.lane_stats().unwrap().is_empty());
    let msgs = accept_new(&s, 0, 3, 1, 1_000);
    let lane2 = Lane {
        origin: ORIGIN,
        destination: Domain(3),
    };
    let m = message(ORIGIN, 3, lane2.destination, 0);
    accept(&s, ORIGIN, &[event(m, 2)], 2, 5_000).unwrap();
    let a = owner("a");
    lease(&s, &a, 1, 60_000, 10, 6_000);
    s.confirm(&Confirmation {
        ids: &[msgs[0].id()],
        block: 9,
        now: t(7_000),
    })
    .unwrap();
    let stats = s.lane_stats().unwrap();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].lane, LANE);
    assert_eq!(
        stats[0].counts,
        StateCounts {
            pending: 2,
            confirmed: 1,
            ..StateCounts::default()
        }
    );
    // Message 0 (accepted at 1 000) is delivered; the oldest waiting one was accepted then too.
    assert_eq!(stats[0].oldest_pending_since, Some(t(1_000)));
    assert_eq!(
        stats[0].oldest_pending_age(t(4_000)),
        Some(Duration::from_millis(3_000))
    );
    assert_eq!(stats[1].lane, lane2);
    assert_eq!(stats[1].counts.get(DeliveryStateKind::Pending), 1);
    assert_eq!(stats[1].counts.leased, 0);
    assert_eq!(stats[1].oldest_pending_since, Some(t(5_000)));
    s.confirm(&Confirmation {
        ids: &[msgs[1].id(), msgs[2].id()],
        block: 9,
        now: t(8_000),
    })
    .unwrap();
    let stats = s.lane_stats().unwrap();
    assert_eq!(stats[0].counts.confirmed, 3);
    assert_eq!(stats[0].oldest_pending_since, None);
}

/// What the status page reads: per validator, the checkpoints of a lane it signed and the
/// largest size; the lane's last confirmed delivery. Lanes are separate; a root mismatch is not
/// a signature of the lane's checkpoints.
pub fn validator_activity_and_last_delivery_per_lane<B: Backend>(b: &B) {
    let s = b.open();
    assert!(s.validator_activity(LANE).unwrap().is_empty());
    assert_eq!(s.last_delivery(LANE).unwrap(), None);
    let msgs = accept_new(&s, 0, 4, 1, 1);
    let record = |size, sigs: &[_], now| {
        s.record_checkpoint(&CheckpointRecord {
            lane: LANE,
            checkpoint: checkpoint(size, 0),
            signatures: sigs,
            now: t(now),
        })
        .unwrap()
    };
    record(1, &[validator_sig(1)], 10);
    record(2, &[validator_sig(1), validator_sig(2)], 20);
    record(3, &[validator_sig(1)], 30);
    // Validator 3 signs another root at size 4: a root mismatch, not listed.
    let domain = causeway_proofs::SigningDomain {
        origin: ORIGIN,
        origin_chain_id: 1,
        destination: DEST,
        destination_chain_id: 2,
        inbox: causeway_proofs::SigningDomain::named_inbox("conformance"),
        validator_epoch: 1,
    };
    assert_eq!(
        s.record_member_signature(&MemberSignatureRecord {
            lane: LANE,
            domain,
            checkpoint: checkpoint(4, 1),
            signature: validator_sig(3),
            matches_own_root: false,
            now: t(40),
        })
        .unwrap(),
        MemberSignatureOutcome::RootMismatch
    );
    // Another lane from the same origin, signed by validator 2 only.
    let lane2 = Lane {
        origin: ORIGIN,
        destination: Domain(3),
    };
    s.record_checkpoint(&CheckpointRecord {
        lane: lane2,
        checkpoint: checkpoint(4, 0),
        signatures: &[validator_sig(2)],
        now: t(50),
    })
    .unwrap();
    assert_eq!(
        s.validator_activity(LANE).unwrap(),
        vec![
            ValidatorActivity {
                validator: validator_sig(1).validator,
                checkpoints: 3,
                last_size: LogSize(3),
                last_recorded_at: t(30),
            },
            ValidatorActivity {
                validator: validator_sig(2).validator,
                checkpoints: 1,
                last_size: LogSize(2),
                last_recorded_at: t(20),
            },
        ]
    );
    assert_eq!(
        s.validator_activity(lane2).unwrap(),
        vec![ValidatorActivity {
            validator: validator_sig(2).validator,
            checkpoints: 1,
            last_size: LogSize(4),
            last_recorded_at: t(50),
        }]
    );

    // Deliveries: the latest confirmation counts, whatever the leaf order.
    s.confirm(&Confirmation {
        ids: &[msgs[2].id()],
        block: 7,
        now: t(100),
    })
    .unwrap();
    s.confirm(&Confirmation {
        ids: &[msgs[0].id(), msgs[1].id()],
        block: 9,
        now: t(200),
    })
    .unwrap();
    // Confirming an already confirmed message again changes nothing.
    s.confirm(&Confirmation {
        ids: &[msgs[2].id()],
        block: 11,
        now: t(300),
    })
    .unwrap();
    assert_eq!(
        s.last_delivery(LANE).unwrap(),
        Some(LastDelivery {
            confirmed_at: t(200),
            block: 9,
        })
    );
    assert_eq!(s.last_delivery(lane2).unwrap(), None);
}

/// The dead letters of a lane, most recently given up first, with why and after how many
/// attempts; a retried one leaves the list.
pub fn dead_letters_are_listed_most_recent_first<B: Backend>(b: &B) {
    let s = b.open();
    assert!(s.dead_letters(LANE, 10).unwrap().is_empty());
    let msgs = accept_new(&s, 0, 3, 1, 0);
    let a = owner("a");
    let give_up = |reason: &str, now: u64| {
        let got = lease(&s, &a, 1, 60_000, 3, now);
        let out = s
            .record_failure(&FailureReport {
                id: got[0].message.id(),
                attempt: Attempt::Leased {
                    owner: &a,
                    lease: got[0].lease,
                },
                reason,
                policy: policy(1),
                jitter: 0,
                now: t(now),
            })
            .unwrap();
        assert_eq!(out, FailureOutcome::DeadLetter { attempts: 1 });
    };
    give_up("recipient reverted", 10);
    give_up("message too large", 20);
    let dead = |id: MessageId, leaf: u64, reason: &str, since: u64| DeadLetter {
        id,
        leaf_index: LeafIndex(leaf),
        attempts: 1,
        reason: reason.to_owned(),
        since: t(since),
    };
    assert_eq!(
        s.dead_letters(LANE, 10).unwrap(),
        vec![
            dead(msgs[1].id(), 1, "message too large", 20),
            dead(msgs[0].id(), 0, "recipient reverted", 10),
        ]
    );
    assert_eq!(s.dead_letters(LANE, 1).unwrap().len(), 1);
    let lane2 = Lane {
        origin: ORIGIN,
        destination: Domain(3),
    };
    assert!(s.dead_letters(lane2, 10).unwrap().is_empty());
    s.retry_dead_letter(msgs[1].id(), t(30)).unwrap();
    assert_eq!(
        s.dead_letters(LANE, 10).unwrap(),
        vec![dead(msgs[0].id(), 0, "recipient reverted", 10)]
    );
}

pub fn reopening_preserves_everything<B: Backend>(b: &B) {
    let msgs;
    let before;
    {
        let s = b.open();
        msgs = accept_new(&s, 0, 5, 3, 100);
        let a = owner("a");
        let got = lease(&s, &a, 2, 60_000, 5, 200);
        s.mark_submitted(&Submission {
            owner: &a,
            lease: got[0].lease,
            ids: &[msgs[0].id()],
            handle: &handle(9),
            signed: None,
            replaces: None,
            now: t(300),
        })
        .unwrap();
        s.confirm(&Confirmation {
            ids: &[msgs[2].id()],
            block: 4,
            now: t(400),
        })
        .unwrap();
        s.record_checkpoint(&CheckpointRecord {
            lane: LANE,
            checkpoint: checkpoint(5, 0),
            signatures: &[validator_sig(1)],
            now: t(500),
        })
        .unwrap();
        before = snapshot(&s, &msgs);
    }
    let s = b.open();
    assert_eq!(snapshot(&s, &msgs), before);
}

type Snapshot = (
    Option<causeway_relayer::store::SourceCursor>,
    Vec<MessageId>,
    Vec<causeway_relayer::store::MessageRecord>,
    Option<causeway_relayer::store::StoredCheckpoint>,
    Vec<causeway_relayer::store::LaneStats>,
);

fn snapshot(s: &dyn Store, msgs: &[causeway_proofs::Message]) -> Snapshot {
    (
        s.cursor(ORIGIN).unwrap(),
        s.leaves(ORIGIN, LeafIndex(0), 1_000).unwrap(),
        msgs.iter()
            .map(|m| s.message(m.id()).unwrap().unwrap())
            .collect(),
        s.latest_checkpoint(LANE, 1).unwrap(),
        s.lane_stats().unwrap(),
    )
}

pub fn unknown_ids_are_none_or_errors<B: Backend>(b: &B) {
    let s = b.open();
    let ghost = message(ORIGIN, 99, DEST, 0).id();
    assert!(s.message(ghost).unwrap().is_none());
    assert!(matches!(
        s.retry_dead_letter(ghost, t(1)),
        Err(Error::UnknownMessage { id }) if id == ghost
    ));
    assert!(matches!(
        s.confirm(&Confirmation {
            ids: &[ghost],
            block: 1,
            now: t(1)
        }),
        Err(Error::UnknownMessage { .. })
    ));
    assert!(matches!(
        s.mark_submitted(&Submission {
            owner: &owner("a"),
            lease: LeaseToken(1),
            ids: &[ghost],
            handle: &handle(1),
            signed: None,
            replaces: None,
            now: t(1)
        }),
        Err(Error::UnknownMessage { .. })
    ));
}

pub fn submitted_lists_in_flight_messages_of_a_lane<B: Backend>(b: &B) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 4, 1, 0);
    let a = owner("a");
    assert!(s.submitted(LANE, 10).unwrap().is_empty());
    let got = lease(&s, &a, 3, 60_000, 4, 10);
    assert_eq!(got.len(), 3);
    assert!(
        s.submitted(LANE, 10).unwrap().is_empty(),
        "leased is not submitted"
    );
    let ids = [msgs[2].id(), msgs[0].id()];
    s.mark_submitted(&Submission {
        owner: &a,
        lease: got[0].lease,
        ids: &ids,
        handle: &handle(7),
        signed: None,
        replaces: None,
        now: t(11),
    })
    .unwrap();
    let listed = s.submitted(LANE, 10).unwrap();
    let listed_ids: Vec<MessageId> = listed.iter().map(|m| m.id).collect();
    assert_eq!(listed_ids, vec![msgs[0].id(), msgs[2].id()], "leaf order");
    assert_eq!(listed[0].leaf_index, LeafIndex(0));
    assert_eq!(listed[0].owner, a);
    assert_eq!(listed[0].submission, SubmissionId::of(&handle(7)));
    assert_eq!(
        listed[1].submission, listed[0].submission,
        "one submission, one id"
    );
    assert_ne!(listed[0].submission, SubmissionId::of(&handle(8)));
    assert_eq!(
        listed[0].handle,
        KeptHandle::Kept(handle(7)),
        "the handle is kept as is"
    );
    assert_eq!(listed[0].submitted_at, t(11));
    assert_eq!(s.submitted(LANE, 1).unwrap().len(), 1, "limit");
    let other = Lane {
        origin: LANE.origin,
        destination: Domain(LANE.destination.0 + 1),
    };
    assert!(s.submitted(other, 10).unwrap().is_empty());
    s.confirm(&Confirmation {
        ids: &[msgs[0].id()],
        block: 5,
        now: t(12),
    })
    .unwrap();
    let left: Vec<MessageId> = s
        .submitted(LANE, 10)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(left, vec![msgs[2].id()]);

    // A handle longer than the store keeps is refused, and the lease is left as it was.
    let long = SubmissionHandle {
        family: ChainFamily::Evm,
        data: serde_json::Value::String("x".repeat(Submission::MAX_HANDLE_LEN)),
    };
    assert!(matches!(
        s.mark_submitted(&Submission {
            owner: &a,
            lease: got[0].lease,
            ids: &[msgs[1].id()],
            handle: &long,
            signed: None,
            replaces: None,
            now: t(13),
        }),
        Err(Error::HandleTooLong { .. })
    ));
    assert!(matches!(
        state_of(&s, msgs[1].id()),
        DeliveryState::Leased { .. }
    ));
}

/// Submitted messages keep a follow lease (from their lease, renewed by their follower); once
/// it ends another instance takes them over, and the first one's renewal then says it no
/// longer follows them.
pub fn submitted_messages_are_followed_under_a_lease_and_taken_over_when_it_ends<B: Backend>(
    b: &B,
) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 3, 1, 0);
    let (a, bb) = (owner("a"), owner("b"));
    let got = lease(&s, &a, 2, 1_000, 3, 0);
    s.mark_submitted(&Submission {
        owner: &a,
        lease: got[0].lease,
        ids: &[msgs[0].id(), msgs[1].id()],
        handle: &handle(5),
        signed: None,
        replaces: None,
        now: t(10),
    })
    .unwrap();
    let take = |who: &LeaseOwner, include_own: bool, now: u64| {
        s.take_over_submitted(&TakeOver {
            lane: LANE,
            owner: who,
            follow_for: Duration::from_millis(1_000),
            limit: 10,
            include_own,
            now: t(now),
        })
        .unwrap()
    };
    let submission = SubmissionId::of(&handle(5));
    // Followed under the lease it was submitted in (until 1 000): nobody else takes it.
    assert!(take(&bb, true, 500).is_empty());
    // Its own name takes it back at once when asked to (a restart), and renews it.
    assert_eq!(take(&a, true, 600).len(), 2);
    let renew = |who: &LeaseOwner, now: u64| {
        s.renew_submitted(&Renewal {
            owner: who,
            submission,
            until: t(now + 1_000),
            now: t(now),
        })
        .unwrap()
    };
    assert_eq!(renew(&a, 1_500), 2, "until 2 500");
    assert!(
        take(&bb, false, 2_400).is_empty(),
        "renewed: still followed"
    );
    // Its own name, when not asked for its own, never takes them, even past the lease: they
    // are this instance's, in flight between its stages.
    assert!(take(&a, false, 2_500).is_empty());
    // a stops renewing: at 2 500 b takes both over, in their submission, with their handle.
    let taken = take(&bb, false, 2_500);
    assert_eq!(
        taken.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![msgs[0].id(), msgs[1].id()]
    );
    assert!(taken.iter().all(|m| m.submission == submission
        && m.handle == KeptHandle::Kept(handle(5))
        && m.owner == bb));
    assert!(matches!(
        state_of(&s, msgs[0].id()),
        DeliveryState::Submitted { owner, .. } if owner == bb
    ));
    // a wakes up: it follows nothing any more; b renews.
    assert_eq!(renew(&a, 2_600), 0);
    assert_eq!(renew(&bb, 2_600), 2);
    // The leased, unsubmitted message is not a submission to take over.
    assert!(
        take(&owner("c"), false, 10_000)
            .iter()
            .all(|m| m.id != msgs[2].id())
    );
}

pub fn signed_submissions_are_kept_until_settled_and_a_resigned_part_replaces_its_record<
    B: Backend,
>(
    b: &B,
) {
    let s = b.open();
    let msgs = accept_new(&s, 0, 4, 1, 0);
    let (a, bb) = (owner("a"), owner("b"));
    let got = lease(&s, &a, 4, 60_000, 4, 10);
    let lease_a = got[0].lease;
    let first = [msgs[0].id(), msgs[1].id()];
    let second = [msgs[2].id(), msgs[3].id()];
    let submit = |who: &LeaseOwner, ids: &[MessageId], n: u64, signed: &[u8], replaces| {
        s.mark_submitted(&Submission {
            owner: who,
            lease: lease_a,
            ids,
            handle: &handle(n),
            signed: Some(signed),
            replaces,
            now: t(11),
        })
    };
    let signed_of = |n| s.signed_submission(SubmissionId::of(&handle(n))).unwrap();
    submit(&a, &first, 1, b"signed one", None).unwrap();
    assert_eq!(signed_of(1).as_deref(), Some(&b"signed one"[..]));
    assert_eq!(
        signed_of(2),
        None,
        "nothing recorded for another submission"
    );

    // The node refused submission 1, and the adapter signed its messages again (another
    // nonce): the new record replaces it. Only its owner may, and only for the messages
    // submitted in it.
    assert!(matches!(
        submit(
            &bb,
            &first,
            2,
            b"signed two",
            Some(SubmissionId::of(&handle(1)))
        ),
        Err(Error::LeaseLost { .. })
    ));
    assert!(matches!(
        submit(
            &a,
            &first,
            2,
            b"signed two",
            Some(SubmissionId::of(&handle(9)))
        ),
        Err(Error::LeaseLost { .. })
    ));
    assert!(matches!(
        submit(&a, &first, 2, b"signed two", None),
        Err(Error::LeaseLost { .. })
    ));
    assert_eq!(signed_of(2), None, "a refused record keeps nothing");
    submit(
        &a,
        &first,
        2,
        b"signed two",
        Some(SubmissionId::of(&handle(1))),
    )
    .unwrap();
    assert_eq!(signed_of(1), None, "the replaced record's bytes are gone");
    assert_eq!(signed_of(2).as_deref(), Some(&b"signed two"[..]));
    assert!(matches!(
        state_of(&s, msgs[1].id()),
        DeliveryState::Submitted { submission, .. } if submission == SubmissionId::of(&handle(2))
    ));

    // Kept while a message is still submitted in it; gone once all are settled, whichever way.
    submit(&a, &second, 3, b"signed three", None).unwrap();
    s.confirm(&Confirmation {
        ids: &first[..1],
        block: 5,
        now: t(20),
    })
    .unwrap();
    assert!(signed_of(2).is_some(), "message 1 is still submitted in it");
    s.record_failure(&FailureReport {
        id: first[1],
        attempt: Attempt::Submitted {
            submission: SubmissionId::of(&handle(2)),
        },
        reason: "reverted",
        policy: RetryPolicy::default(),
        jitter: 0,
        now: t(21),
    })
    .unwrap();
    assert_eq!(signed_of(2), None);
    s.confirm(&Confirmation {
        ids: &second,
        block: 6,
        now: t(22),
    })
    .unwrap();
    assert_eq!(signed_of(3), None);

    // Bytes over the limit are refused, and nothing is recorded.
    let got = lease(&s, &a, 1, 60_000, 4, 100_000);
    let too_long = vec![1u8; Submission::MAX_SIGNED_LEN + 1];
    assert!(matches!(
        s.mark_submitted(&Submission {
            owner: &a,
            lease: got[0].lease,
            ids: &ids(&got),
            handle: &handle(4),
            signed: Some(&too_long),
            replaces: None,
            now: t(100_001),
        }),
        Err(Error::SignedTooLong { .. })
    ));
    assert!(matches!(
        state_of(&s, got[0].message.id()),
        DeliveryState::Leased { .. }
    ));
}
