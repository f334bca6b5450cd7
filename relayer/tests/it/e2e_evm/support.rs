//! The two-chain setup shared by the end-to-end tests: chains, committee, relayer wiring and
//! the on-chain and offline checks.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use causeway_adapters::NativeVerifier;
use causeway_adapters::ObservedMessage;
use causeway_adapters::evm::{
    EvmDestination, EvmDestinationConfig, EvmSource, EvmSourceConfig, Finality,
};
use causeway_devnet::contracts::{ExampleRecipient, Outbox};
use causeway_devnet::fixtures::{Committee, address32, message};
use causeway_devnet::{CHAIN_A, CHAIN_B, DevChain};
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{
    Checkpoint, HashAlgorithm, LeafIndex, Message, ProofBundle, Signature, SigningDomain,
    TrustAnchor, ValidatorKey, ValidatorSet, Verdict,
};
use causeway_relayer::pipeline::{LaneConfig, MultiSigner, OriginConfig, PipelineConfig, Progress};
use causeway_relayer::store::{
    CheckpointStore, Lane, LeaseOwner, MessageRecord, QueryStore, RetryPolicy, SourceStore,
    SqliteStore, StateCounts,
};
use causeway_relayer::{Relayer, RelayerHandle};

/// The lane every test relays: chain A (domain 1) to chain B (domain 2).
pub const LANE: Lane = Lane {
    origin: CHAIN_A.domain,
    destination: CHAIN_B.domain,
};
/// Dev account of chain B the relayer sends from (the admin is account 0).
pub const RELAYER_ACCOUNT: usize = 5;
/// Confirmations on chain A before an Outbox event is final.
pub const CONFIRMATIONS: u64 = 3;
/// Gas limit of one dispatch (explicit: no estimate per transaction, and `anvil_reorg` needs it).
pub const DISPATCH_GAS: u64 = 200_000;

/// Two chains, the committee trusted by chain B's Inbox for origin A, and the signing domain
/// the Inbox computes on chain.
pub struct Bridge {
    pub a: DevChain,
    pub b: DevChain,
    pub committee: Committee,
    pub signing_domain: SigningDomain,
}

impl Bridge {
    pub async fn start() -> Bridge {
        let (a, b) = tokio::try_join!(DevChain::start(CHAIN_A), DevChain::start(CHAIN_B)).unwrap();
        let committee = Committee::new(COMMITTEE, 3, 2);
        // What the Inbox hashes: origin and its chain id as configured, its own localDomain,
        // block.chainid, address(this) left-padded, the epoch setValidators moved to.
        let signing_domain = committee
            .install(&b.inbox, CHAIN_A.domain, CHAIN_A.chain_id)
            .await
            .unwrap();
        let set = b.inbox.validatorSet(CHAIN_A.domain.0).call().await.unwrap();
        assert_eq!(set.threshold, 2);
        assert_eq!(set.originChainId, CHAIN_A.chain_id);
        assert_eq!(set.epoch, signing_domain.validator_epoch);
        Bridge {
            a,
            b,
            committee,
            signing_domain,
        }
    }

    pub fn validators(&self) -> ValidatorSet {
        validators(&self.committee)
    }

    pub fn trust(&self) -> TrustAnchor {
        TrustAnchor {
            signing_domain: self.signing_domain,
            validators: self.validators(),
        }
    }

    pub fn source(&self, url: String) -> EvmSource {
        evm_source(url, *self.a.outbox.address())
    }

    pub fn destination(&self, url: String) -> EvmDestination {
        self.destination_with(url, |_| {})
    }

    pub fn destination_with(
        &self,
        url: String,
        tweak: impl FnOnce(&mut EvmDestinationConfig),
    ) -> EvmDestination {
        self.destination_as(url, RELAYER_ACCOUNT, tweak)
    }

    /// A destination sending from chain B's dev account `account`.
    pub fn destination_as(
        &self,
        url: String,
        account: usize,
        tweak: impl FnOnce(&mut EvmDestinationConfig),
    ) -> EvmDestination {
        let mut config = EvmDestinationConfig::new(url, CHAIN_B.domain, *self.b.inbox.address());
        config.chain_id = Some(CHAIN_B.chain_id);
        tweak(&mut config);
        let key = self.b.node.dev_keys()[account].to_bytes();
        EvmDestination::new(config, &key.0).unwrap()
    }

    /// A relayer of the lane over the given endpoints, on the SQLite file `db`.
    pub fn relayer(&self, db: &Path, source_url: String, destination_url: String) -> Relayer {
        self.relayer_to(db, source_url, self.destination(destination_url))
    }

    /// A relayer of the lane to `destination`, on the SQLite file `db`.
    pub fn relayer_to(
        &self,
        db: &Path,
        source_url: String,
        destination: EvmDestination,
    ) -> Relayer {
        build_relayer(
            db,
            self.source(source_url),
            destination,
            self.signing_domain,
            e2e_config(),
            100,
        )
    }

    /// The message chain A's Outbox emits for the dispatch of `body` with `nonce` by its admin.
    pub fn message(&self, nonce: u64, body: &[u8]) -> Message {
        message(
            nonce,
            CHAIN_A.domain,
            self.a.admin,
            CHAIN_B.domain,
            *self.b.recipient.address(),
            body,
        )
    }

    /// The transaction dispatching `body` to chain B's ExampleRecipient.
    pub fn dispatch_request(&self, body: &[u8]) -> TransactionRequest {
        let call = Outbox::dispatchCall {
            destination: CHAIN_B.domain.0,
            recipient: address32(*self.b.recipient.address()).0.into(),
            body: Bytes::copy_from_slice(body),
        };
        TransactionRequest::default()
            .from(self.a.admin)
            .to(*self.a.outbox.address())
            .input(Bytes::from(call.abi_encode()).into())
            .gas_limit(DISPATCH_GAS)
    }

    /// Dispatches every body on chain A, `per_block` transactions per block (automine off
    /// meanwhile), and returns the messages.
    pub async fn dispatch(&self, bodies: &[Vec<u8>], per_block: usize) -> Vec<Message> {
        let p = &self.a.provider;
        let first = self.a.outbox.nonce().call().await.unwrap();
        p.anvil_set_auto_mine(false).await.unwrap();
        for chunk in bodies.chunks(per_block) {
            for body in chunk {
                // Not awaiting receipts: the node pools them until the block is mined.
                let _pending = p
                    .send_transaction(self.dispatch_request(body))
                    .await
                    .unwrap();
            }
            p.evm_mine(None).await.unwrap();
        }
        let want = first + bodies.len() as u64;
        for _ in 0..100 {
            if self.a.outbox.nonce().call().await.unwrap() == want {
                break;
            }
            p.evm_mine(None).await.unwrap();
        }
        p.anvil_set_auto_mine(true).await.unwrap();
        assert_eq!(self.a.outbox.nonce().call().await.unwrap(), want);
        bodies
            .iter()
            .enumerate()
            .map(|(i, body)| self.message(first + i as u64, body))
            .collect()
    }

    /// Mines `n` empty blocks on chain A.
    pub async fn mine_a(&self, n: u64) {
        self.a.provider.anvil_mine(Some(n), None).await.unwrap();
    }

    /// `Inbox.status(id)` on chain B for each message.
    pub async fn statuses(&self, msgs: &[Message]) -> Vec<u8> {
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            let id = m.id().as_hash().0.into();
            out.push(self.b.inbox.status(id).call().await.unwrap());
        }
        out
    }

    /// How many times chain B's ExampleRecipient handled each body (its `Handled` events).
    pub async fn handled(&self) -> HashMap<Vec<u8>, u32> {
        let filter = Filter::new()
            .address(*self.b.recipient.address())
            .event_signature(ExampleRecipient::Handled::SIGNATURE_HASH)
            .from_block(0);
        let logs = self.b.provider.get_logs(&filter).await.unwrap();
        let mut seen = HashMap::new();
        for log in logs {
            let event = ExampleRecipient::Handled::decode_log_data(log.data()).unwrap();
            assert_eq!(event.origin, CHAIN_A.domain.0);
            assert_eq!(
                event.sender,
                alloy::primitives::B256::from(address32(self.a.admin).0)
            );
            *seen.entry(event.body.to_vec()).or_default() += 1;
        }
        seen
    }

    /// Asserts that exactly `delivered` were delivered and handled once each, and that none of
    /// `never` reached chain B.
    pub async fn assert_delivered_exactly_once(&self, delivered: &[Message], never: &[Message]) {
        let statuses = self.statuses(delivered).await;
        let undelivered: Vec<usize> = (0..statuses.len()).filter(|&i| statuses[i] != 1).collect();
        assert!(undelivered.is_empty(), "not delivered: {undelivered:?}");
        assert!(self.statuses(never).await.iter().all(|s| *s == 0));
        let handled = self.handled().await;
        assert_eq!(handled.len(), delivered.len(), "distinct bodies handled");
        for m in delivered {
            assert_eq!(
                handled.get(m.body()),
                Some(&1),
                "handled once: {:?}",
                m.nonce()
            );
        }
        let count = self.b.recipient.handled().call().await.unwrap();
        assert_eq!(count, alloy::primitives::U256::from(delivered.len()));
    }

    /// Assembles, from the store at `db` alone, the proof bundle of every message (what
    /// `causeway verify` is given) and verifies it offline against the Inbox's trust anchor;
    /// the native receipt proof kept beside it verifies too.
    pub fn assert_bundles_verify(&self, db: &Path, msgs: &[Message]) {
        let store = SqliteStore::open(db).unwrap();
        let size = store.log_size(LANE.origin).unwrap();
        let mut log = Sha256Log::new();
        let mut from = 0;
        while from < size.0 {
            let page = store.leaves(LANE.origin, LeafIndex(from), 10_000).unwrap();
            assert!(!page.is_empty());
            for id in &page {
                log.append(id.as_hash());
            }
            from += page.len() as u64;
        }
        let stored = store.latest_checkpoint(LANE, 2).unwrap().unwrap();
        let cp = stored.checkpoint;
        assert_eq!(
            cp.root(),
            log.root_at(cp.size()).unwrap(),
            "the signed root"
        );
        let signatures: Vec<_> = stored.signatures.iter().map(|s| s.signature).collect();
        let trust = self.trust();
        let verifier = causeway_adapters::evm::EvmNativeVerifier {
            domain: CHAIN_A.domain,
            outbox: *self.a.outbox.address(),
        };
        for m in msgs {
            let record = store.message(m.id()).unwrap().unwrap();
            assert_eq!(&record.message, m);
            assert!(
                record.leaf_index.0 < cp.size().0,
                "covered by the checkpoint"
            );
            let leaf_index = record.leaf_index;
            let verdict = assert_record_verifies(record, &log, cp, &signatures, &trust, &verifier);
            assert_eq!(verdict.leaf_index, leaf_index);
            assert_eq!(verdict.signers.len(), 2);
        }
    }
}

/// Assembles the proof bundle of `record` under `cp`, a checkpoint of `log` (what `causeway
/// verify` is given), verifies it through its JSON form against `trust`, and verifies the
/// native proof kept beside it with `verifier`. Returns the bundle's verdict.
pub fn assert_record_verifies(
    record: MessageRecord,
    log: &Sha256Log,
    cp: Checkpoint,
    signatures: &[Signature],
    trust: &TrustAnchor,
    verifier: &dyn NativeVerifier,
) -> Verdict {
    let inclusion = log.inclusion_proof(record.leaf_index, cp.size()).unwrap();
    let native = record.native_proof.clone().unwrap();
    let bundle = ProofBundle::assemble(
        record.message.clone(),
        inclusion,
        cp,
        trust.signing_domain,
        signatures.to_vec(),
    )
    .unwrap()
    .with_source(record.source.clone())
    .with_native_proof(native.clone());
    // Through its JSON form, as a verifier elsewhere receives it.
    let bundle = ProofBundle::from_json(&bundle.to_json_pretty()).unwrap();
    let verdict = bundle.verify(trust).unwrap();
    assert_eq!(verdict.message_id, record.message.id());
    verifier
        .verify(&ObservedMessage {
            message: record.message,
            source: record.source,
            proof: native,
        })
        .unwrap();
    verdict
}

/// The label the committee's deterministic keys derive from (a child process rebuilds them).
pub const COMMITTEE: &str = "causeway-relayer-e2e";

pub fn validators(committee: &Committee) -> ValidatorSet {
    ValidatorSet::new(
        committee.keys().iter().map(ValidatorKey::address).collect(),
        2,
    )
    .unwrap()
}

/// Two of the three validators (the first and the last by address) sign.
pub fn collector(committee: &Committee) -> MultiSigner {
    let keys = committee.keys();
    let copy = |k: &ValidatorKey| ValidatorKey::from_bytes(&k.secret_bytes()).unwrap();
    MultiSigner::new(vec![copy(&keys[0]), copy(&keys[2])])
}

/// The source of chain A's Outbox at `url`, final after [`CONFIRMATIONS`].
pub fn evm_source(url: String, outbox: Address) -> EvmSource {
    EvmSource::new(EvmSourceConfig::new(
        url,
        CHAIN_A.domain,
        outbox,
        Finality::Confirmations(CONFIRMATIONS),
    ))
    .unwrap()
}

/// A relayer of the lane A -> B on the SQLite file `db`, signing with two of the committee.
pub fn build_relayer(
    db: &Path,
    source: EvmSource,
    destination: impl causeway_adapters::Destination + 'static,
    signing_domain: SigningDomain,
    config: PipelineConfig,
    batch_size: usize,
) -> Relayer {
    build_relayer_hashed(
        db,
        source,
        destination,
        signing_domain,
        config,
        batch_size,
        HashAlgorithm::Sha256,
    )
}

/// [`build_relayer`] with a lane log hashed by `hash`.
pub fn build_relayer_hashed(
    db: &Path,
    source: EvmSource,
    destination: impl causeway_adapters::Destination + 'static,
    signing_domain: SigningDomain,
    config: PipelineConfig,
    batch_size: usize,
    hash: HashAlgorithm,
) -> Relayer {
    let committee = Committee::new(COMMITTEE, 3, 2);
    let store = Arc::new(SqliteStore::open(db).unwrap());
    Relayer::new(store, Arc::new(collector(&committee)), config)
        .origin(OriginConfig {
            verifier: Arc::new(source.verifier()),
            source: Arc::new(source),
            start_height: 0,
        })
        .lane(LaneConfig {
            limits: Default::default(),
            destination: Arc::new(destination),
            signing_domain,
            validators: validators(&committee),
            hash_algorithm: hash,
            batch_size,
            rota: None,
        })
}

/// Pipeline knobs for real chains: quick polls, leases longer than a submission takes.
pub fn e2e_config() -> PipelineConfig {
    PipelineConfig {
        owner: LeaseOwner("e2e-relayer".into()),
        channel_capacity: 4,
        max_in_flight: 4,
        source_poll: Duration::from_millis(50),
        source_backoff: Duration::from_millis(100),
        source_backoff_max: Duration::from_secs(1),
        deliver_poll: Duration::from_millis(50),
        confirm_poll: Duration::from_millis(50),
        confirmations: 1,
        lease_for: Duration::from_secs(20),
        clock_skew: Duration::from_secs(2),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_attempts: 100,
        },
        checkpoint_interval: Duration::ZERO,
        deliver_workers: 2,
    }
}

pub use crate::support::pipeline::assert_settled;

/// The lane's counts (zero before its first message).
pub fn counts(p: &Progress) -> StateCounts {
    p.lanes
        .iter()
        .find(|s| s.lane == LANE)
        .map(|s| s.counts)
        .unwrap_or_default()
}

/// Polls until `done` holds; panics after `timeout`. While waiting, calls `tick` (e.g. to mine
/// blocks on chain A so events become final).
pub async fn wait_until<F, Fut>(
    handle: &RelayerHandle,
    timeout: Duration,
    mut tick: F,
    done: impl Fn(&StateCounts) -> bool,
) -> Progress
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let p = handle.progress().await.unwrap();
        assert!(p.halted.is_empty(), "halted: {:?}", p.halted);
        if done(&counts(&p)) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; progress {p:?}, metrics {:?}",
            handle.metrics()
        );
        tick().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn bodies(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{tag} message {i:05}").into_bytes())
        .collect()
}
