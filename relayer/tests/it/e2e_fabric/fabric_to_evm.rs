//! Fabric → EVM end to end: 500 messages dispatched on the Fabric test network's
//! `causeway_outbox` are read by `FabricSource` (every block verified: hash chain, data hash,
//! orderer signature, creator and endorsements against the MSP roots and AND(Org1MSP,
//! Org2MSP)), re-checked by `FabricNativeVerifier`, logged, attested by a 2-of-3 committee and
//! delivered by `EvmDestination` to an anvil chain's Inbox, which checks the signatures and
//! inclusion proofs on chain. Checked on the EVM chain: `Inbox.status(id)` for every id, and the
//! ExampleRecipient handled each body exactly once, from the Fabric origin and the dispatching
//! identity; and offline, every stored message assembles into a verifying proof bundle whose
//! Fabric native proof verifies.
//!
//! The relayer runs while the messages are dispatched (each dispatch reads and writes the
//! outbox's nonce, so dispatches are sequential, one block each, as two in one block would
//! conflict at commit).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use causeway_adapters::evm::{EvmDestination, EvmDestinationConfig};
use causeway_adapters::fabric::request::Invocation;
use causeway_adapters::fabric::{
    FabricClient, FabricSource, FabricSourceConfig, FabricVerifierConfig,
};
use causeway_adapters::{NativeVerifier, ObservedMessage};
use causeway_devnet::contracts::ExampleRecipient;
use causeway_devnet::fabric::{FabricNetwork, FabricNetworkOptions, ORG1, OUTBOX_CHAINCODE};
use causeway_devnet::fixtures::{Committee, address32, evm_signing_domain};
use causeway_devnet::{CHAIN_B, DevChain};
use causeway_proofs::hash::keccak256;
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{
    Address32, HashAlgorithm, LeafIndex, Message, Nonce, ProofBundle, TrustAnchor, ValidatorKey,
    ValidatorSet,
};
use causeway_relayer::pipeline::{LaneConfig, MultiSigner, OriginConfig, PipelineConfig};
use causeway_relayer::store::{
    CheckpointStore, Lane, LeaseOwner, QueryStore, RetryPolicy, SourceStore, SqliteStore,
    StateCounts,
};
use causeway_relayer::{Relayer, RelayerHandle};

/// Messages relayed.
const N: usize = 500;
/// The committee's deterministic keys.
const COMMITTEE: &str = "causeway-relayer-e2e-fabric-to-evm";
/// Dev account of the anvil chain the relayer sends from (the admin is account 0).
const RELAYER_ACCOUNT: usize = 5;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_messages_from_fabric_are_delivered_to_the_evm_inbox_exactly_once() {
    let started = Instant::now();
    let (chain, net) = tokio::join!(
        DevChain::start(CHAIN_B),
        FabricNetwork::start(FabricNetworkOptions {
            max_message_count: 1,
            batch_timeout: Duration::from_millis(5),
            ..Default::default()
        })
    );
    let (chain, net) = (chain.unwrap(), net.unwrap());
    let origin = net.domain();
    let lane = Lane {
        origin,
        destination: CHAIN_B.domain,
    };

    // The EVM Inbox trusts a 2-of-3 committee for the Fabric origin, whose origin chain id is
    // the channel's configured one; the signing domain is the one it recomputes on chain.
    let committee = Committee::new(COMMITTEE, 3, 2);
    let receipt = chain
        .inbox
        .setValidators(origin.0, net.chain_id(), committee.addresses(), 2)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let set = chain.inbox.validatorSet(origin.0).call().await.unwrap();
    let local = chain.inbox.localDomain().call().await.unwrap();
    let chain_id = chain.provider.get_chain_id().await.unwrap();
    let signing_domain = evm_signing_domain(
        origin,
        net.chain_id(),
        causeway_proofs::Domain(local),
        chain_id,
        *chain.inbox.address(),
        set.epoch,
    );
    let validators = ValidatorSet::new(
        committee.keys().iter().map(ValidatorKey::address).collect(),
        2,
    )
    .unwrap();

    // The relayer: FabricSource (its verifier trusts the channel's MSP roots, the orderer and
    // the chaincodes' policy) to the Inbox.
    let mut verifier_config = FabricVerifierConfig::new(
        net.channel(),
        net.trusted_msps(),
        net.orderer_msps(),
        net.endorsement_policy(),
    );
    verifier_config.outbox_chaincode = OUTBOX_CHAINCODE.to_owned();
    let source = FabricSource::new(
        net.client(ORG1).await.unwrap(),
        net.endpoint(),
        FabricSourceConfig::new(origin, verifier_config),
    )
    .unwrap();
    let verifier = source.verifier();
    let mut destination_config = EvmDestinationConfig::new(
        chain.node.endpoint(),
        CHAIN_B.domain,
        *chain.inbox.address(),
    );
    destination_config.chain_id = Some(CHAIN_B.chain_id);
    let key = chain.node.dev_keys()[RELAYER_ACCOUNT].to_bytes();
    let destination = EvmDestination::new(destination_config, &key.0).unwrap();
    let keys = committee.keys();
    let copy = |k: &ValidatorKey| ValidatorKey::from_bytes(&k.secret_bytes()).unwrap();
    let signer = MultiSigner::new(vec![copy(&keys[0]), copy(&keys[2])]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let handle = Relayer::new(store, Arc::new(signer), config())
        .origin(OriginConfig {
            verifier: Arc::new(verifier.clone()),
            source: Arc::new(source),
            start_height: 0,
        })
        .lane(LaneConfig {
            destination: Arc::new(destination),
            signing_domain,
            validators: validators.clone(),
            hash_algorithm: HashAlgorithm::Sha256,
            batch_size: 100,
        })
        .spawn()
        .await
        .unwrap();

    // Dispatch while the relayer runs.
    let user = net.client(ORG1).await.unwrap();
    let recipient = address32(*chain.recipient.address());
    let bodies: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("fabric-to-evm message {i:05}").into_bytes())
        .collect();
    let sender = Address32(keccak256(user.signer().creator()).0);
    let mut messages = Vec::with_capacity(N);
    for (i, body) in bodies.iter().enumerate() {
        dispatch(&user, &net, recipient, body).await;
        messages.push(
            Message::new(
                Nonce(i as u64),
                origin,
                sender,
                CHAIN_B.domain,
                recipient,
                body.clone(),
            )
            .unwrap(),
        );
    }
    eprintln!(
        "{N} dispatched on Fabric in {} blocks after {:?}",
        net.height(),
        started.elapsed()
    );

    let counts = wait_until(&handle, lane, Duration::from_secs(60), |c| {
        c.confirmed == N as u64
    })
    .await;
    assert_eq!(
        (
            counts.pending,
            counts.leased,
            counts.submitted,
            counts.dead_letter
        ),
        (0, 0, 0, 0)
    );
    let metrics = handle.metrics();
    handle.shutdown().await;
    eprintln!("relayed after {:?}: {metrics:?}", started.elapsed());
    assert_eq!(metrics.accepted, N as u64);

    // On the EVM chain: every id delivered, each body handled once, from the Fabric origin and
    // the identity that dispatched it.
    for m in &messages {
        let status = chain
            .inbox
            .status(m.id().as_hash().0.into())
            .call()
            .await
            .unwrap();
        assert_eq!(status, 1, "message {:?} not delivered", m.nonce());
    }
    let filter = Filter::new()
        .address(*chain.recipient.address())
        .event_signature(ExampleRecipient::Handled::SIGNATURE_HASH)
        .from_block(0);
    let mut handled: HashMap<Vec<u8>, u32> = HashMap::new();
    for log in chain.provider.get_logs(&filter).await.unwrap() {
        let event = ExampleRecipient::Handled::decode_log_data(log.data()).unwrap();
        assert_eq!(event.origin, origin.0);
        assert_eq!(event.sender.0, sender.0);
        *handled.entry(event.body.to_vec()).or_default() += 1;
    }
    assert_eq!(handled.len(), N);
    for body in &bodies {
        assert_eq!(handled.get(body), Some(&1));
    }
    assert_eq!(
        chain.recipient.handled().call().await.unwrap(),
        alloy::primitives::U256::from(N)
    );

    // Offline, from the store alone: bundles verify against the Inbox's trust anchor, and each
    // Fabric native proof verifies.
    assert_bundles_verify(
        &db,
        lane,
        &messages,
        &TrustAnchor {
            signing_domain,
            validators,
        },
        &verifier,
    );
    eprintln!("checked after {:?}", started.elapsed());
}

/// Dispatches `body` to `recipient` on chain B through the outbox, and waits for its commit.
async fn dispatch(client: &FabricClient, net: &FabricNetwork, recipient: Address32, body: &[u8]) {
    let invocation = Invocation {
        channel_id: net.channel().to_owned(),
        chaincode: OUTBOX_CHAINCODE.to_owned(),
        function: "dispatch".to_owned(),
        args: vec![
            CHAIN_B.domain.0.to_string().into_bytes(),
            recipient.to_hex().into_bytes(),
            body.to_vec(),
        ],
        ..Default::default()
    };
    let endorsed = client.endorse(&invocation, &[]).await.unwrap();
    client.submit(&endorsed).await.unwrap();
    let status = client
        .commit_status(&endorsed.tx_id, net.channel())
        .await
        .unwrap();
    assert!(
        status.code.is_valid(),
        "dispatch committed as {}",
        status.code
    );
}

fn assert_bundles_verify(
    db: &std::path::Path,
    lane: Lane,
    msgs: &[Message],
    trust: &TrustAnchor,
    verifier: &dyn NativeVerifier,
) {
    let store = SqliteStore::open(db).unwrap();
    let size = store.log_size(lane.origin).unwrap();
    assert_eq!(size.0, msgs.len() as u64);
    let mut log = Sha256Log::new();
    let page = store.leaves(lane.origin, LeafIndex(0), 10_000).unwrap();
    for id in &page {
        log.append(id.as_hash());
    }
    let stored = store.latest_checkpoint(lane, 2).unwrap().unwrap();
    let cp = stored.checkpoint;
    assert_eq!(cp.root(), log.root_at(cp.size()).unwrap());
    let signatures: Vec<_> = stored.signatures.iter().map(|s| s.signature).collect();
    for m in msgs {
        let record = store.message(m.id()).unwrap().unwrap();
        assert_eq!(&record.message, m);
        // The log follows the origin's order: the nonce is the leaf index.
        assert_eq!(record.leaf_index.0, m.nonce().0);
        let inclusion = log.inclusion_proof(record.leaf_index, cp.size()).unwrap();
        let native = record.native_proof.clone().unwrap();
        let bundle = ProofBundle::assemble(
            record.message.clone(),
            inclusion,
            cp,
            trust.signing_domain,
            signatures.clone(),
        )
        .unwrap()
        .with_source(record.source.clone())
        .with_native_proof(native.clone());
        let bundle = ProofBundle::from_json(&bundle.to_json_pretty()).unwrap();
        let verdict = bundle.verify(trust).unwrap();
        assert_eq!(verdict.message_id, m.id());
        verifier
            .verify(&ObservedMessage {
                message: record.message,
                source: record.source,
                proof: native,
            })
            .unwrap();
    }
}

/// Pipeline knobs for real chains: quick polls, leases longer than a submission takes.
fn config() -> PipelineConfig {
    PipelineConfig {
        owner: LeaseOwner("e2e-fabric-to-evm".into()),
        channel_capacity: 4,
        max_in_flight: 4,
        source_poll: Duration::from_millis(50),
        source_backoff: Duration::from_millis(100),
        source_backoff_max: Duration::from_secs(1),
        deliver_poll: Duration::from_millis(50),
        confirm_poll: Duration::from_millis(50),
        confirmations: 1,
        lease_for: Duration::from_secs(20),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_attempts: 100,
        },
    }
}

/// Polls the lane's counts until `done` holds; panics after `timeout` or if anything halted.
async fn wait_until(
    handle: &RelayerHandle,
    lane: Lane,
    timeout: Duration,
    done: impl Fn(&StateCounts) -> bool,
) -> StateCounts {
    let deadline = Instant::now() + timeout;
    loop {
        let p = handle.progress().await.unwrap();
        assert!(p.halted.is_empty(), "halted: {:?}", p.halted);
        let counts = p
            .lanes
            .iter()
            .find(|s| s.lane == lane)
            .map(|s| s.counts)
            .unwrap_or_default();
        if done(&counts) {
            return counts;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; progress {p:?}, metrics {:?}",
            handle.metrics()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
