//! The durable store's cost per message: one message's whole life in the SQLite store as the
//! pipeline drives it, in batches — accept a batch of final events (message, log leaf, delivery
//! row), lease a batch for delivery, record its submission (before broadcast) and confirm it.
//! Reported per batch; divide by the batch size for the cost per message. The store is a real
//! file with the production settings (WAL, `synchronous = FULL`), so every commit is an fsync.

// criterion's macros define undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use causeway_adapters::SubmissionHandle;
use causeway_proofs::bundle::{ChainFamily, NativeProof, SourceReference};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{Address32, Domain, Hash32, LogSize, Message, MessageId, Nonce};
use causeway_relayer::store::{
    AcceptBatch, AcceptedEvent, Confirmation, DeliveryStore, Lane, LeaseOwner, LeaseRequest,
    RetryPolicy, SourceCursor, SourceStore, SqliteStore, Submission, UnixMillis,
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
    store: SqliteStore,
    _dir: tempfile::TempDir,
    nonce: u64,
    block: u64,
    owner: LeaseOwner,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = SqliteStore::open(dir.path().join("bench.sqlite")).expect("the store opens");
        Fixture {
            store,
            _dir: dir,
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

criterion_group!(benches, lifecycle);
criterion_main!(benches);
