//! The operations the model test generates, and their proptest strategies.

use causeway_relayer::store::DeliveryStateKind;
use proptest::prelude::*;

use super::{DESTS, ORIGINS, OWNERS};

#[derive(Clone, Debug)]
pub(super) enum Item {
    New { dest: usize },
    Replay { pick: usize },
}

/// A bad event slipped into a batch: the whole batch must be refused.
#[derive(Clone, Debug)]
pub(super) enum Poison {
    /// Another message under a stored message's nonce.
    Equivocate { pick: usize, variant: u8 },
    /// A message of the other origin.
    Foreign,
}

/// Which message an op targets: preferably one in a given state, so that the interesting
/// transitions happen often; any message otherwise.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pick {
    pub(super) prefer: Option<DeliveryStateKind>,
    pub(super) n: usize,
}

/// Who claims a lease: the message's current holder (the honest case) or a named instance.
#[derive(Clone, Copy, Debug)]
pub(super) enum Who {
    Holder,
    Named(usize),
}

#[derive(Clone, Debug)]
pub(super) enum Op {
    Accept {
        origin: usize,
        advance: u64,
        regress: bool,
        items: Vec<Item>,
        poison: Option<(usize, Poison)>,
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
        uncovered: u64,
    },
    Submit {
        who: Who,
        picks: Vec<Pick>,
        nonce: u64,
    },
    Confirm {
        picks: Vec<Pick>,
        block: u64,
    },
    Fail {
        pick: Pick,
        /// `None`: a submitted transaction failed; `Some`: a failure under a lease.
        who: Option<Who>,
        jitter: u64,
    },
    RetryDead {
        pick: Pick,
    },
    Checkpoint {
        origin: usize,
        dest: usize,
        back: u64,
        beyond: bool,
        variant: u8,
        signers: Vec<u8>,
    },
    Tick {
        ms: u64,
    },
    /// Drop the handle (closing the connection) and reopen the file.
    Crash,
}

#[derive(Clone, Debug)]
pub(super) struct Step {
    pub(super) op: Op,
    /// Run the op's writes but die before COMMIT, then reopen.
    pub(super) crash_before_commit: bool,
}

pub(super) fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => (0..DESTS.len()).prop_map(|dest| Item::New { dest }),
        1 => any::<usize>().prop_map(|pick| Item::Replay { pick }),
    ]
}

pub(super) fn poison() -> impl Strategy<Value = Option<(usize, Poison)>> {
    let p = prop_oneof![
        2 => (any::<usize>(), 1..=255u8).prop_map(|(pick, variant)| Poison::Equivocate { pick, variant }),
        1 => Just(Poison::Foreign),
    ];
    prop::option::weighted(0.12, (any::<usize>(), p))
}

pub(super) fn pick(prefer: DeliveryStateKind) -> impl Strategy<Value = Pick> {
    (prop::option::weighted(0.85, Just(prefer)), any::<usize>())
        .prop_map(|(prefer, n)| Pick { prefer, n })
}

pub(super) fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => Just(Who::Holder),
        1 => (0..OWNERS.len()).prop_map(Who::Named),
    ]
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    use DeliveryStateKind::{DeadLetter, Leased, Submitted};
    let o = 0..ORIGINS.len();
    let d = 0..DESTS.len();
    prop_oneof![
        8 => (o.clone(), 0..3u64, prop::bool::weighted(0.05), prop::collection::vec(item(), 0..5), poison())
            .prop_map(|(origin, advance, regress, items, poison)| Op::Accept { origin, advance, regress, items, poison }),
        1 => (o.clone(), 0..4u64).prop_map(|(origin, back)| Op::Rollback { origin, back }),
        6 => (o.clone(), d.clone(), 0..OWNERS.len(), 0..5usize, 50..600u64, prop_oneof![3 => Just(0u64), 1 => 0..3u64])
            .prop_map(|(origin, dest, owner, limit, lease_ms, uncovered)| Op::Lease { origin, dest, owner, limit, lease_ms, uncovered }),
        4 => (who(), prop::collection::vec(pick(Leased), 1..3), any::<u64>())
            .prop_map(|(who, picks, nonce)| Op::Submit { who, picks, nonce }),
        3 => (prop::collection::vec(pick(Submitted), 1..3), 0..1_000u64)
            .prop_map(|(picks, block)| Op::Confirm { picks, block }),
        5 => prop_oneof![
                (pick(Leased), who().prop_map(Some)),
                (pick(Submitted), Just(None)),
            ]
            .prop_flat_map(|(pick, who)| any::<u64>().prop_map(move |jitter| Op::Fail { pick, who, jitter })),
        1 => pick(DeadLetter).prop_map(|pick| Op::RetryDead { pick }),
        3 => (o, d, 0..3u64, prop::bool::weighted(0.1), prop_oneof![6 => Just(0u8), 1 => Just(1u8)], prop::collection::vec(1..5u8, 0..4))
            .prop_map(|(origin, dest, back, beyond, variant, signers)| Op::Checkpoint { origin, dest, back, beyond, variant, signers }),
        3 => (0..700u64).prop_map(|ms| Op::Tick { ms }),
        2 => Just(Op::Crash),
    ]
}

pub(super) fn step() -> impl Strategy<Value = Step> {
    (op(), prop::bool::weighted(0.1)).prop_map(|(op, crash_before_commit)| Step {
        op,
        crash_before_commit,
    })
}
