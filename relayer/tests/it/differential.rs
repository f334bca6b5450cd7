//! Differential test of the two stores: one generated operation sequence, with valid and
//! invalid arguments alike, runs on SQLite and on PostgreSQL side by side. Every call must give
//! the same answer on both (the same value, or the same refusal), and after every call what a
//! caller can read must be the same: a backend that accepts what the other refuses, numbers
//! something differently or keeps a different history fails the test.

use std::time::Duration;

use causeway_proofs::{Domain, LeafIndex, LogSize, MessageId};
use causeway_relayer::Error;
use causeway_relayer::store::{
    Attempt, CheckpointRecord, Confirmation, FailureReport, Lane, LeaseRequest, LeaseToken,
    NewToken, Renewal, Scope, Store, Submission, SubmissionId, TakeOver, TokenId,
};
use proptest::prelude::*;

use crate::support::*;

const ORIGINS: [Domain; 2] = [Domain(1), Domain(2)];
const DESTS: [Domain; 2] = [Domain(10), Domain(11)];

#[derive(Clone, Debug)]
enum Op {
    Accept {
        origin: usize,
        /// (nonce, destination, variant): a repeated nonce with another variant equivocates.
        items: Vec<(u64, usize, u8)>,
        block_delta: i64,
    },
    Rollback {
        origin: usize,
        back: u64,
    },
    Lease {
        origin: usize,
        dest: usize,
        owner: usize,
        limit: usize,
        lease_ms: u64,
        covered: u64,
    },
    Submit {
        owner: usize,
        picks: Vec<usize>,
        lease: u64,
        handle: u64,
        replaces: Option<u64>,
    },
    Fail {
        pick: usize,
        owner: Option<usize>,
        lease: u64,
        submission: u64,
    },
    Confirm {
        picks: Vec<usize>,
        block: u64,
    },
    RetryDead {
        pick: usize,
    },
    TakeOver {
        origin: usize,
        dest: usize,
        owner: usize,
        include_own: bool,
        follow_ms: u64,
    },
    Renew {
        owner: usize,
        submission: u64,
        until_ms: u64,
    },
    Checkpoint {
        size: u64,
        variant: u8,
        signers: Vec<u8>,
    },
    CreateToken {
        name_len: usize,
        wide: bool,
        hash: u8,
        scopes: Vec<usize>,
    },
    RevokeToken {
        id: u64,
    },
    Tick {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, prop::collection::vec((0..10u64, 0..2usize, 0..2u8), 0..5), -1..3i64)
            .prop_map(|(origin, items, block_delta)| Op::Accept { origin, items, block_delta }),
        1 => (0..2usize, 0..3u64).prop_map(|(origin, back)| Op::Rollback { origin, back }),
        3 => (0..2usize, 0..2usize, 0..2usize, 0..4usize, 0..300u64, 0..12u64).prop_map(
            |(origin, dest, owner, limit, lease_ms, covered)| Op::Lease {
                origin, dest, owner, limit, lease_ms, covered
            }),
        3 => (0..2usize, prop::collection::vec(0..24usize, 1..3), 0..8u64, 0..3u64,
              prop::option::of(0..3u64)).prop_map(|(owner, picks, lease, handle, replaces)| {
                Op::Submit { owner, picks, lease, handle, replaces }
            }),
        2 => (0..24usize, prop::option::of(0..2usize), 0..8u64, 0..3u64).prop_map(
            |(pick, owner, lease, submission)| Op::Fail { pick, owner, lease, submission }),
        2 => (prop::collection::vec(0..24usize, 1..3), 0..100u64)
            .prop_map(|(picks, block)| Op::Confirm { picks, block }),
        1 => (0..24usize).prop_map(|pick| Op::RetryDead { pick }),
        1 => (0..2usize, 0..2usize, 0..2usize, any::<bool>(), 0..300u64).prop_map(
            |(origin, dest, owner, include_own, follow_ms)| Op::TakeOver {
                origin, dest, owner, include_own, follow_ms
            }),
        1 => (0..2usize, 0..3u64, 0..500u64)
            .prop_map(|(owner, submission, until_ms)| Op::Renew { owner, submission, until_ms }),
        2 => (0..8u64, 0..2u8, prop::collection::vec(0..4u8, 0..3))
            .prop_map(|(size, variant, signers)| Op::Checkpoint { size, variant, signers }),
        1 => (0..70usize, any::<bool>(), 0..3u8, prop::collection::vec(0..4usize, 0..3))
            .prop_map(|(name_len, wide, hash, scopes)| Op::CreateToken {
                name_len, wide, hash, scopes
            }),
        1 => (0..4u64).prop_map(|id| Op::RevokeToken { id }),
        2 => (0..400u64).prop_map(|ms| Op::Tick { ms }),
    ]
}

/// What a call answered, comparable across backends: the value's debug form, or the error's
/// message (a backend's own error by the operation that failed: its text is the engine's).
fn answer<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(Error::Backend { op, .. }) => format!("backend error during {op}"),
        Err(e) => format!("refused: {e}"),
    }
}

/// Everything a caller can read, in one comparable string.
fn snapshot(s: &dyn Store, offered: &[MessageId]) -> String {
    let mut out = String::new();
    for origin in ORIGINS {
        out += &format!(
            "{:?} {:?} {:?}\n",
            s.cursor(origin).unwrap(),
            s.leaves(origin, LeafIndex(0), 1000).unwrap(),
            s.log_size(origin).unwrap()
        );
        for dest in DESTS {
            let lane = Lane {
                origin,
                destination: dest,
            };
            for min in 0..3 {
                out += &format!("{:?}\n", s.latest_checkpoint(lane, min).unwrap());
            }
            out += &format!(
                "{:?} {:?} {:?} {:?}\n",
                s.submitted(lane, 100).unwrap(),
                s.validator_activity(lane).unwrap(),
                s.last_delivery(lane).unwrap(),
                s.dead_letters(lane, 100).unwrap()
            );
        }
    }
    for id in offered {
        out += &format!("{:?}\n", s.message(*id).unwrap());
    }
    // Status events: the same number, and each message's own history in the same order.
    // Events written by one multi-row statement (a batch leased at once) are numbered in the
    // order the engine visits the rows, which SQL leaves open (SQLite's plan visits a lease's
    // rows by message id, PostgreSQL's by position): the interleaving between messages within
    // one call is not part of the contract, each message's sequence is.
    let mut events: Vec<String> = s
        .events_after(0, 10_000)
        .unwrap()
        .into_iter()
        .map(|e| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                e.id, e.lane, e.status, e.reason, e.at
            )
        })
        .collect();
    events.sort();
    out += &format!("{} {events:?}\n", s.last_event_seq().unwrap());
    for id in offered {
        let history: Vec<String> = s
            .message_history(*id)
            .unwrap()
            .into_iter()
            .map(|e| format!("{:?} {:?} {:?}", e.status, e.reason, e.at))
            .collect();
        out += &format!("{history:?}\n");
    }
    out += &format!(
        "{:?}\n{:?}\n{:?}\n",
        s.lane_stats().unwrap(),
        s.tokens().unwrap(),
        s.audit_trail(0, 10_000).unwrap()
    );
    out
}

/// Runs `op` on `s` at time `now`; `offered` lists every message id ever offered (picked by
/// index, so both stores get the same arguments).
fn apply(s: &dyn Store, op: &Op, now: u64, offered: &mut Vec<MessageId>) -> String {
    let pick = |i: usize, offered: &Vec<MessageId>| {
        offered
            .get(i % offered.len().max(1))
            .copied()
            .unwrap_or(MessageId(causeway_proofs::Hash32([0xee; 32])))
    };
    let owners = [owner("a"), owner("b")];
    match op {
        Op::Accept {
            origin,
            items,
            block_delta,
        } => {
            let origin = ORIGINS[*origin];
            let current = s.cursor(origin).unwrap().map_or(0, |c| c.block_number);
            let block = current.saturating_add_signed(*block_delta);
            let events: Vec<_> = items
                .iter()
                .map(|(nonce, dest, variant)| {
                    let m = message(origin, *nonce, DESTS[*dest], *variant);
                    if !offered.contains(&m.id()) {
                        offered.push(m.id());
                    }
                    event(m, block)
                })
                .collect();
            answer(accept(s, origin, &events, block, now))
        }
        Op::Rollback { origin, back } => {
            let origin = ORIGINS[*origin];
            let current = s.cursor(origin).unwrap().map_or(0, |c| c.block_number);
            answer(s.rollback_to(origin, cursor(current.saturating_sub(*back)), t(now)))
        }
        Op::Lease {
            origin,
            dest,
            owner,
            limit,
            lease_ms,
            covered,
        } => answer(s.lease_pending(&LeaseRequest {
            lane: Lane {
                origin: ORIGINS[*origin],
                destination: DESTS[*dest],
            },
            owner: &owners[*owner],
            limit: *limit,
            lease_for: Duration::from_millis(*lease_ms),
            covered_by: LogSize(*covered),
            policy: policy(3),
            now: t(now),
            rota: None,
        })),
        Op::Submit {
            owner,
            picks,
            lease,
            handle: h,
            replaces,
        } => {
            let ids: Vec<MessageId> = picks.iter().map(|i| pick(*i, offered)).collect();
            let h = handle(*h);
            answer(s.mark_submitted(&Submission {
                ids: &ids,
                owner: &owners[*owner],
                lease: LeaseToken(*lease),
                handle: &h,
                signed: Some(b"signed"),
                replaces: replaces.map(|r| SubmissionId::of(&handle(r))),
                now: t(now),
            }))
        }
        Op::Fail {
            pick: p,
            owner,
            lease,
            submission,
        } => {
            let attempt = match owner {
                Some(o) => Attempt::Leased {
                    owner: &owners[*o],
                    lease: LeaseToken(*lease),
                },
                None => Attempt::Submitted {
                    submission: SubmissionId::of(&handle(*submission)),
                },
            };
            answer(s.record_failure(&FailureReport {
                id: pick(*p, offered),
                attempt,
                reason: "reverted",
                policy: policy(3),
                jitter: 7,
                now: t(now),
            }))
        }
        Op::Confirm { picks, block } => {
            let ids: Vec<MessageId> = picks.iter().map(|i| pick(*i, offered)).collect();
            answer(s.confirm(&Confirmation {
                ids: &ids,
                block: *block,
                now: t(now),
            }))
        }
        Op::RetryDead { pick: p } => {
            answer(s.retry_dead_letter_as(pick(*p, offered), "token:1:ops", t(now)))
        }
        Op::TakeOver {
            origin,
            dest,
            owner,
            include_own,
            follow_ms,
        } => answer(s.take_over_submitted(&TakeOver {
            lane: Lane {
                origin: ORIGINS[*origin],
                destination: DESTS[*dest],
            },
            owner: &owners[*owner],
            follow_for: Duration::from_millis(*follow_ms),
            limit: 10,
            include_own: *include_own,
            now: t(now),
        })),
        Op::Renew {
            owner,
            submission,
            until_ms,
        } => answer(s.renew_submitted(&Renewal {
            owner: &owners[*owner],
            submission: SubmissionId::of(&handle(*submission)),
            until: t(now + until_ms),
            now: t(now),
        })),
        Op::Checkpoint {
            size,
            variant,
            signers,
        } => {
            let sigs: Vec<_> = signers.iter().map(|v| validator_sig(*v + 1)).collect();
            answer(s.record_checkpoint(&CheckpointRecord {
                lane: Lane {
                    origin: ORIGIN,
                    destination: DESTS[0],
                },
                checkpoint: checkpoint(*size, *variant),
                signatures: &sigs,
                now: t(now),
            }))
        }
        Op::CreateToken {
            name_len,
            wide,
            hash,
            scopes,
        } => {
            // `wide`: two-byte characters, so a name can be short in characters and long in
            // bytes (the limit is in bytes on both stores).
            let name: String = if *wide {
                "é".repeat(*name_len / 2)
            } else {
                "n".repeat(*name_len)
            };
            let scopes: Vec<Scope> = scopes.iter().map(|i| Scope::ALL[*i]).collect();
            answer(s.create_token(&NewToken {
                name: &name,
                hash: [*hash; 32],
                scopes: &scopes,
                expires_at: None,
                actor: "admin",
                now: t(now),
            }))
        }
        Op::RevokeToken { id } => answer(s.revoke_token(TokenId(*id), "admin", t(now))),
        Op::Tick { .. } => String::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn sqlite_and_postgres_give_the_same_answers(ops in prop::collection::vec(op(), 1..60)) {
        let (sb, pb) = (SqliteBackend::new(), PgBackend::new());
        let (sqlite, pg) = (sb.open(), pb.open());
        let (mut offered_s, mut offered_p) = (Vec::new(), Vec::new());
        let mut now = 1_000;
        for (i, op) in ops.iter().enumerate() {
            if let Op::Tick { ms } = op {
                now += ms;
            }
            let a = apply(&sqlite, op, now, &mut offered_s);
            let b = apply(&pg, op, now, &mut offered_p);
            prop_assert_eq!(&a, &b, "step {}: {:?}", i, op);
            prop_assert_eq!(
                snapshot(&sqlite, &offered_s),
                snapshot(&pg, &offered_p),
                "state after step {}: {:?}", i, op
            );
        }
    }
}
