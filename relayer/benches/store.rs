//! The durable store's cost per message: one message's whole life in the SQLite store as the
//! pipeline drives it, in batches — accept a batch of final events (message, log leaf, delivery
//! row), lease a batch for delivery, record its submission (before broadcast) and confirm it.
//! Reported per batch; divide by the batch size for the cost per message. The store is a real
//! file with the production settings (WAL, `synchronous = FULL`), so every commit is an fsync.
//!
//! `store_ops` runs the same operations on SQLite and on PostgreSQL in one run (a private
//! cluster started by the bench, commits flushed as PostgreSQL's defaults do, over loopback TCP):
//! accept a batch of 100 events, lease 128 messages, record a batch's submission (128, with its
//! signed bytes), confirm a submitted batch of 128, record an outcome (confirm one delivery).

// criterion's macros define undocumented functions.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use causeway_adapters::SubmissionHandle;
use causeway_devnet::postgres::{Durability, PostgresNode};
use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, Hash32, LogSize, Message, MessageId, Nonce};
use causeway_relayer::store::{
    AcceptBatch, AcceptedEvent, Confirmation, Lane, LeaseOwner, LeaseRequest, LeaseToken, PgStore,
    RetryPolicy, SourceCursor, SqliteStore, Store, Submission, UnixMillis,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A signed delivery transaction of a full batch is tens of KiB (calldata of 128 messages).
static SIGNED: [u8; 48 * 1024] = [0x02; 48 * 1024];

const LANE: Lane = Lane {
    origin: Domain(1),
    destination: Domain(2),
};

/// A store and the next nonce and block of its origin.
struct Fixture {
    store: Box<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    nonce: u64,
    block: u64,
    owner: LeaseOwner,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = SqliteStore::open(dir.path().join("bench.sqlite")).expect("the store opens");
        Fixture {
            store: Box::new(store),
            _dir: Some(dir),
            nonce: 0,
            block: 0,
            owner: LeaseOwner("bench".into()),
        }
    }

    fn postgres(url: &str) -> Self {
        Fixture {
            store: Box::new(PgStore::open(url).expect("the PostgreSQL store opens")),
            _dir: None,
            nonce: 0,
            block: 0,
            owner: LeaseOwner("bench".into()),
        }
    }

    /// `n` fresh final events in one block.
    fn events(&mut self, n: usize) -> (Vec<AcceptedEvent>, SourceCursor) {
        self.block += 1;
        let block_hash = keccak256(&self.block.to_be_bytes());
        let events = (0..n)
            .map(|i| {
                let message = Message::new(
                    Nonce(self.nonce + i as u64),
                    LANE.origin,
                    Address32([0x51; 32]),
                    LANE.destination,
                    Address32([0x52; 32]),
                    vec![0xab; 256],
                )
                .expect("a valid message");
                let tx = keccak256(&message.encode());
                AcceptedEvent {
                    message,
                    source: SourceReference {
                        block_number: Some(self.block),
                        block_hash: Some(block_hash),
                        transaction_hash: Some(tx),
                        fabric_tx_id: None,
                        event_index: Some(i as u64),
                    },
                    native_proof: Some(NativeProof {
                        family: ChainFamily::Evm,
                        data: serde_json::json!({ "receipt_proof": [tx.to_hex()] }),
                    }),
                }
            })
            .collect();
        self.nonce += n as u64;
        (
            events,
            SourceCursor {
                block_number: self.block,
                block_hash: Hash32(block_hash.0),
            },
        )
    }

    /// Accepts `n` new events in one batch.
    fn accept(&mut self, n: usize) {
        let now = UnixMillis(1_000 + self.block);
        let (events, cursor) = self.events(n);
        self.store
            .accept_events(&AcceptBatch {
                origin: LANE.origin,
                events: &events,
                cursor,
                now,
            })
            .expect("accept");
    }

    /// Leases up to `n` pending messages; their ids.
    fn lease(&mut self, n: usize) -> Vec<MessageId> {
        self.store
            .lease_pending(&LeaseRequest {
                lane: LANE,
                owner: &self.owner,
                limit: n,
                lease_for: Duration::from_secs(3600),
                covered_by: LogSize(u64::MAX),
                policy: RetryPolicy::default(),
                now: UnixMillis::now(),
                rota: None,
            })
            .expect("lease")
            .iter()
            .map(|m| m.message.id())
            .collect()
    }

    /// Leases up to `n` pending messages for a minute: their lease and ids.
    fn lease_batch(&mut self, n: usize) -> (LeaseToken, Vec<MessageId>) {
        let leased = self
            .store
            .lease_pending(&LeaseRequest {
                lane: LANE,
                owner: &self.owner,
                limit: n,
                lease_for: Duration::from_secs(60),
                covered_by: LogSize(u64::MAX),
                policy: RetryPolicy::default(),
                now: UnixMillis::now(),
                rota: None,
            })
            .expect("lease");
        assert_eq!(leased.len(), n, "every accepted message is leased");
        (
            leased[0].lease,
            leased.iter().map(|m| m.message.id()).collect(),
        )
    }

    /// Records the submission of `ids` (leased under `lease`) with its signed bytes.
    fn submit(&mut self, lease: LeaseToken, ids: &[MessageId]) {
        let handle = SubmissionHandle {
            family: ChainFamily::Evm,
            data: serde_json::json!({ "tx": keccak256(&ids[0].0.0).to_hex() }),
        };
        self.store
            .mark_submitted(&Submission {
                owner: &self.owner,
                lease,
                ids,
                handle: &handle,
                signed: Some(&SIGNED),
                replaces: None,
                now: UnixMillis::now(),
            })
            .expect("submitted");
    }

    /// Confirms `ids`.
    fn confirm(&mut self, ids: &[MessageId]) {
        self.store
            .confirm(&Confirmation {
                ids,
                block: self.block,
                now: UnixMillis::now(),
            })
            .expect("confirm");
    }

    /// One batch's life: accept, lease, submitted, confirmed.
    fn lifecycle(&mut self, n: usize) {
        let now = UnixMillis(1_000 + self.block);
        let (events, cursor) = self.events(n);
        self.store
            .accept_events(&AcceptBatch {
                origin: LANE.origin,
                events: &events,
                cursor,
                now,
            })
            .expect("accept");
        let leased = self
            .store
            .lease_pending(&LeaseRequest {
                lane: LANE,
                owner: &self.owner,
                limit: n,
                lease_for: Duration::from_secs(60),
                covered_by: LogSize(u64::MAX),
                policy: RetryPolicy::default(),
                now,
                rota: None,
            })
            .expect("lease");
        assert_eq!(leased.len(), n, "every accepted message is leased");
        let ids: Vec<MessageId> = leased.iter().map(|m| m.message.id()).collect();
        let handle = SubmissionHandle {
            family: ChainFamily::Evm,
            data: serde_json::json!({ "tx": keccak256(&self.block.to_le_bytes()).to_hex() }),
        };
        self.store
            .mark_submitted(&Submission {
                owner: &self.owner,
                lease: leased[0].lease,
                ids: &ids,
                handle: &handle,
                signed: Some(&SIGNED),
                replaces: None,
                now,
            })
            .expect("submitted");
        self.store
            .confirm(&Confirmation {
                ids: &ids,
                block: self.block,
                now,
            })
            .expect("confirm");
    }
}

fn lifecycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_lifecycle");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for n in [100usize, 128] {
        group.throughput(Throughput::Elements(n as u64));
        let mut f = Fixture::new();
        group.bench_with_input(BenchmarkId::new("sqlite", n), &n, |b, &n| {
            b.iter(|| f.lifecycle(n));
        });
    }
    group.finish();
}

/// The same three operations on SQLite and PostgreSQL (see the module docs).
fn ops(c: &mut Criterion) {
    let node = PostgresNode::start_with(Durability::Durable).expect("a PostgreSQL cluster");
    let mut group = c.benchmark_group("store_ops");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    for backend in ["sqlite", "postgres"] {
        let fixture = || match backend {
            "sqlite" => Fixture::new(),
            _ => {
                let name = format!("bench_{}", UnixMillis::now().0);
                Fixture::postgres(&node.create_database(&name).expect("a database"))
            }
        };
        let mut f = fixture();
        group.throughput(Throughput::Elements(100));
        group.bench_function(BenchmarkId::new("accept_100", backend), |b| {
            b.iter(|| f.accept(100));
        });
        let mut f = fixture();
        group.throughput(Throughput::Elements(128));
        group.bench_function(BenchmarkId::new("lease_128", backend), |b| {
            // Only the lease is timed; the 128 messages it takes are accepted before it and
            // confirmed after it, as the pipeline does (a lease checks the lane's live leases
            // for expiry first: left leased, they would pile up and be read at every lease).
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    f.accept(128);
                    let started = Instant::now();
                    let leased = f.lease(128);
                    total += started.elapsed();
                    assert_eq!(leased.len(), 128, "every accepted message is leased");
                    f.confirm(&leased);
                }
                total
            });
        });
        let mut f = fixture();
        group.throughput(Throughput::Elements(128));
        group.bench_function(BenchmarkId::new("submit_128", backend), |b| {
            // Only recording the submission (before broadcast, with its signed bytes) is
            // timed; the batch is accepted and leased before it and confirmed after it.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    f.accept(128);
                    let (lease, ids) = f.lease_batch(128);
                    let started = Instant::now();
                    f.submit(lease, &ids);
                    total += started.elapsed();
                    f.confirm(&ids);
                }
                total
            });
        });
        let mut f = fixture();
        group.throughput(Throughput::Elements(128));
        group.bench_function(BenchmarkId::new("confirm_128", backend), |b| {
            // Only the confirmation of a submitted batch of 128 is timed.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    f.accept(128);
                    let (lease, ids) = f.lease_batch(128);
                    f.submit(lease, &ids);
                    let started = Instant::now();
                    f.confirm(&ids);
                    total += started.elapsed();
                }
                total
            });
        });
        let mut f = fixture();
        let mut leased: Vec<MessageId> = Vec::new();
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("record_outcome", backend), |b| {
            // Only the outcome (one delivery confirmed) is timed.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if leased.is_empty() {
                        f.accept(100);
                        leased = f.lease(100);
                    }
                    let id = leased.pop().expect("a leased message");
                    let started = Instant::now();
                    f.store
                        .confirm(&Confirmation {
                            ids: &[id],
                            block: 1,
                            now: UnixMillis::now(),
                        })
                        .expect("confirm");
                    total += started.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, lifecycle, ops);
criterion_main!(benches);
