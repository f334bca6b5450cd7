//! Stateful property test: random operation sequences, with crashes (drop and reopen) and
//! crashes just before a commit, run against the store and an in-memory model. After every step
//! the store's observable state must equal the model's; on top of that, nothing accepted is
//! ever lost, a confirmed message is never leased again, and every log stays contiguous.

use std::time::Duration;

use causeway_proofs::{Domain, LeafIndex, LogSize, MessageId};
use causeway_relayer::Error;
use causeway_relayer::store::{
    AcceptBatch, Attempt, CheckpointRecord, CheckpointStore, Confirmation, DeliveryState,
    DeliveryStore, FailureReport, Lane, LeaseRequest, RetryPolicy, SourceStore, Store, Submission,
    UnixMillis, ValidatorSignature,
};
use proptest::prelude::*;

use crate::support::{Backend, PgBackend, SqliteBackend, cursor, handle, validator_sig};

mod ops;
mod state;

use ops::{Op, Step, step};
use state::{Expect, Model, ModelAttempt, cp, lease_owner};

const ORIGINS: [Domain; 2] = [Domain(1), Domain(2)];
const DESTS: [Domain; 2] = [Domain(10), Domain(11)];
const OWNERS: [&str; 2] = ["relayer-a", "relayer-b"];
const POLICY: RetryPolicy = RetryPolicy {
    base_delay: Duration::from_millis(100),
    max_delay: Duration::from_millis(400),
    max_attempts: 3,
};

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Equivocation { .. } => "Equivocation",
        Error::WrongOrigin { .. } => "WrongOrigin",
        Error::CursorRegression { .. } => "CursorRegression",
        Error::RollbackBelowFinal { .. } => "RollbackBelowFinal",
        Error::CheckpointConflict { .. } => "CheckpointConflict",
        Error::CheckpointBeyondLog { .. } => "CheckpointBeyondLog",
        Error::UnknownMessage { .. } => "UnknownMessage",
        Error::InvalidTransition { .. } => "InvalidTransition",
        Error::LeaseLost { .. } => "LeaseLost",
        Error::InjectedCrash { .. } => "InjectedCrash",
        other => panic!("unexpected error from the store: {other:?}"),
    }
}

/// Compares everything a caller can observe.
fn check(store: &dyn Store, model: &Model) {
    for origin in ORIGINS {
        assert_eq!(
            store.cursor(origin).unwrap(),
            model.cursors.get(&origin).copied()
        );
        let leaves = store.leaves(origin, LeafIndex(0), 10_000).unwrap();
        assert_eq!(leaves, model.of_origin(origin), "log of {origin}");
        assert_eq!(
            store.log_size(origin).unwrap(),
            LogSize(leaves.len() as u64)
        );
        for (i, id) in leaves.iter().enumerate() {
            let rec = store
                .message(*id)
                .unwrap()
                .expect("a logged message is stored");
            assert_eq!(
                rec.leaf_index,
                LeafIndex(i as u64),
                "contiguous leaf indices"
            );
        }
        for dest in DESTS {
            let lane = Lane {
                origin,
                destination: dest,
            };
            for min in 0..=3 {
                assert_eq!(
                    store.latest_checkpoint(lane, min).unwrap(),
                    model.latest(lane, min)
                );
            }
        }
    }
    for id in &model.order {
        assert_eq!(
            store.message(*id).unwrap().as_ref(),
            Some(&model.record(id))
        );
    }
    for id in &model.refused {
        assert_eq!(
            store.message(*id).unwrap(),
            None,
            "refused message {id} stored"
        );
    }
    assert_eq!(store.lane_stats().unwrap(), model.lane_stats());
}

/// Runs one step on the store and the model; returns the store to use next (a new handle after
/// a crash).
fn run<B: Backend>(backend: &B, mut store: B::S, model: &mut Model, step: &Step) -> B::S {
    if step.crash_before_commit && !matches!(step.op, Op::Tick { .. } | Op::Crash) {
        B::crash_before_next_commit(&store);
    }
    let mut next = model.clone();
    let now = UnixMillis(model.now);
    // `outcome`: the model's expectation compared with what the store did.
    let result: Result<(), (Option<&'static str>, Error)> = match &step.op {
        Op::Tick { ms } => {
            next.now += ms;
            Ok(())
        }
        Op::Crash => {
            drop(store);
            store = backend.open();
            B::integrity_check(&store);
            Ok(())
        }
        Op::Accept {
            origin,
            advance,
            regress,
            items,
            poison,
        } => {
            let origin = ORIGINS[*origin];
            let current = model.cursors.get(&origin).map_or(0, |c| c.block_number);
            let block = if *regress {
                current.saturating_sub(1)
            } else {
                current + advance
            };
            let events = model.batch(origin, items, poison, block);
            let expected = next.accept(origin, &events, cursor(block));
            let got = store.accept_events(&AcceptBatch {
                origin,
                events: &events,
                cursor: cursor(block),
                now,
            });
            match (&expected, got) {
                (Ok(appended), Ok(out)) => {
                    let got_ids: Vec<MessageId> = out.appended.iter().map(|(_, id)| *id).collect();
                    assert_eq!(&got_ids, appended);
                    for (leaf, id) in &out.appended {
                        assert_eq!(leaf.0, next.messages[id].leaf_index);
                    }
                    assert_eq!(out.log_size, LogSize(next.log_size(origin)));
                    Ok(())
                }
                (_, Ok(out)) => panic!("store accepted {out:?}, model expected {expected:?}"),
                (Ok(_), Err(e)) => Err((None, e)),
                (Err(k), Err(e)) => {
                    if *k == "Equivocation" || *k == "WrongOrigin" {
                        for ev in &events {
                            if !model.messages.contains_key(&ev.message.id()) {
                                next.refused.insert(ev.message.id());
                            }
                        }
                    }
                    Err((Some(k), e))
                }
            }
        }
        Op::Rollback { origin, back } => {
            let origin = ORIGINS[*origin];
            let to = cursor(
                model
                    .cursors
                    .get(&origin)
                    .map_or(0, |c| c.block_number.saturating_sub(*back)),
            );
            let expected = next.rollback(origin, to);
            let got = store.rollback_to(origin, to, now);
            match (expected, got) {
                (Ok(()), Ok(prev)) => {
                    assert_eq!(prev, model.cursors.get(&origin).copied());
                    Ok(())
                }
                (e, g) => compare_err(e.err(), g.err()),
            }
        }
        Op::Lease {
            origin,
            dest,
            owner,
            limit,
            lease_ms,
            uncovered,
        } => {
            let lane = Lane {
                origin: ORIGINS[*origin],
                destination: DESTS[*dest],
            };
            let covered = model.log_size(lane.origin).saturating_sub(*uncovered);
            let who = lease_owner(*owner);
            let expected = next.lease(lane, &who, *limit, *lease_ms, covered);
            let got = store.lease_pending(&LeaseRequest {
                lane,
                owner: &who,
                limit: *limit,
                lease_for: Duration::from_millis(*lease_ms),
                covered_by: LogSize(covered),
                policy: POLICY,
                now,
                rota: None,
            });
            match got {
                Ok(got) => {
                    for m in &got {
                        let before = &model.messages[&m.message.id()].delivery.state;
                        assert!(
                            !matches!(
                                before,
                                DeliveryState::Confirmed { .. }
                                    | DeliveryState::Submitted { .. }
                                    | DeliveryState::DeadLetter { .. }
                            ),
                            "leased a message that was {before:?}"
                        );
                        if let DeliveryState::Leased { until, .. } = before {
                            assert!(until.0 <= model.now, "leased a message under a live lease");
                        }
                    }
                    assert_eq!(got, expected);
                    Ok(())
                }
                Err(e) => Err((None, e)),
            }
        }
        Op::Submit { who, picks, nonce } => match picks
            .iter()
            .map(|p| model.pick(*p))
            .collect::<Option<Vec<_>>>()
        {
            None => Ok(()),
            Some(ids) => {
                let who = model.resolve(*who, ids[0]);
                let lease = model.token_of(ids[0]);
                let expected = next.submit(&who, lease, &ids, *nonce);
                let got = store.mark_submitted(&Submission {
                    owner: &who,
                    lease,
                    ids: &ids,
                    handle: &handle(*nonce),
                    signed: None,
                    replaces: None,
                    now,
                });
                compare_unit(expected, got)
            }
        },
        Op::Confirm { picks, block } => match picks
            .iter()
            .map(|p| model.pick(*p))
            .collect::<Option<Vec<_>>>()
        {
            None => Ok(()),
            Some(ids) => {
                let expected = next.confirm(&ids, *block);
                compare_unit(
                    expected,
                    store.confirm(&Confirmation {
                        ids: &ids,
                        block: *block,
                        now,
                    }),
                )
            }
        },
        Op::Fail { pick, who, jitter } => match model.pick(*pick) {
            None => Ok(()),
            Some(id) => {
                let attempt = match who {
                    Some(w) => ModelAttempt::Leased(model.resolve(*w, id), model.token_of(id)),
                    None => ModelAttempt::Submitted(model.submission_of(id)),
                };
                let reason = format!("failure at {}", model.now);
                let expected = next.fail(id, &attempt, *jitter, &reason);
                let got = store.record_failure(&FailureReport {
                    id,
                    attempt: match &attempt {
                        ModelAttempt::Leased(owner, lease) => Attempt::Leased {
                            owner,
                            lease: *lease,
                        },
                        ModelAttempt::Submitted(submission) => Attempt::Submitted {
                            submission: *submission,
                        },
                    },
                    reason: &reason,
                    policy: POLICY,
                    jitter: *jitter,
                    now,
                });
                match (expected, got) {
                    (Ok(e), Ok(g)) => {
                        assert_eq!(g, e);
                        Ok(())
                    }
                    (e, g) => compare_err(e.err(), g.err()),
                }
            }
        },
        Op::RetryDead { pick } => match model.pick(*pick) {
            None => Ok(()),
            Some(id) => compare_unit(next.retry_dead(id), store.retry_dead_letter(id, now)),
        },
        Op::Checkpoint {
            origin,
            dest,
            back,
            beyond,
            variant,
            signers,
        } => {
            let lane = Lane {
                origin: ORIGINS[*origin],
                destination: DESTS[*dest],
            };
            let log = model.log_size(lane.origin);
            let size = if *beyond {
                log + 1
            } else {
                log.saturating_sub(*back)
            };
            let c = cp(lane.origin, size, *variant);
            let sigs: Vec<ValidatorSignature> = signers.iter().map(|v| validator_sig(*v)).collect();
            let expected = next.checkpoint(lane, c, &sigs);
            let got = store.record_checkpoint(&CheckpointRecord {
                lane,
                checkpoint: c,
                signatures: &sigs,
                now,
            });
            match (expected, got) {
                (Ok((new, total)), Ok(out)) => {
                    assert_eq!((out.new_signatures, out.total_signatures), (new, total));
                    Ok(())
                }
                (e, g) => compare_err(e.err(), g.err()),
            }
        }
    };
    match result {
        Ok(()) => *model = next,
        Err((expected, err)) => match (expected, kind(&err)) {
            // The op would have succeeded, but the process "died" before COMMIT: nothing
            // happened (the handle is reopened below, as a restarted relayer would).
            (None, "InjectedCrash") => assert!(step.crash_before_commit, "unexpected crash"),
            (Some(k), got) => {
                assert_eq!(got, k, "store failed with {err:?}, model expected {k}");
                model.refused.extend(next.refused.iter().copied());
            }
            (None, got) => panic!("store failed with {got} ({err:?}); model expected success"),
        },
    }
    if step.crash_before_commit {
        // Whether the failpoint fired or the call was refused before reaching COMMIT (leaving it
        // armed), the process is gone: reopen.
        drop(store);
        store = backend.open();
        B::integrity_check(&store);
    }
    store
}

fn compare_unit(
    expected: Expect<()>,
    got: causeway_relayer::store::Result<()>,
) -> Result<(), (Option<&'static str>, Error)> {
    match (expected, got) {
        (Ok(()), Ok(())) => Ok(()),
        (e, g) => compare_err(e.err(), g.err()),
    }
}

fn compare_err(
    expected: Option<&'static str>,
    got: Option<Error>,
) -> Result<(), (Option<&'static str>, Error)> {
    match (expected, got) {
        (None, None) => Ok(()),
        (Some(k), None) => panic!("store succeeded, model expected {k}"),
        (e, Some(err)) => Err((e, err)),
    }
}

/// One generated sequence on one backend: the store matches the model after every step and
/// after a final crash.
fn matches_model<B: Backend>(backend: &B, steps: &[Step]) {
    let mut store = backend.open();
    let mut model = Model {
        now: 1_000,
        ..Model::default()
    };
    for s in steps {
        store = run(backend, store, &mut model, s);
        check(&store, &model);
    }
    // A final crash loses nothing.
    drop(store);
    let store = backend.open();
    B::integrity_check(&store);
    check(&store, &model);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_matches_model_through_crashes(steps in prop::collection::vec(step(), 1..80)) {
        matches_model(&SqliteBackend::new(), &steps);
    }
}

proptest! {
    // Fewer cases: every step is a few network round trips to the test cluster.
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn postgres_store_matches_model_through_crashes(steps in prop::collection::vec(step(), 1..80)) {
        matches_model(&PgBackend::new(), &steps);
    }
}
