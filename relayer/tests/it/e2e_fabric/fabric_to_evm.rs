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
use causeway_adapters::NativeVerifier;
use causeway_adapters::evm::{EvmDestination, EvmDestinationConfig};
use causeway_adapters::fabric::{FabricSource, FabricSourceConfig, FabricVerifierConfig};
use causeway_devnet::contracts::ExampleRecipient;
use causeway_devnet::fabric::{
    FabricNetwork, FabricNetworkOptions, ORG1, OUTBOX_CHAINCODE, dispatch,
};
use causeway_devnet::fixtures::{Committee, address32};
use causeway_devnet::{CHAIN_B, DevChain};
use causeway_proofs::hash::keccak256;
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{Address32, LeafIndex, Message, Nonce, TrustAnchor};
use causeway_relayer::store::{CheckpointStore, Lane, QueryStore, SourceStore, SqliteStore};

use super::support::{config, relay_all, spawn_relayer};
use crate::e2e_evm::support::{assert_record_verifies, validators};

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
    let signing_domain = committee
        .install(&chain.inbox, origin, net.chain_id())
        .await
        .unwrap();
    let validators = validators(&committee);

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
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.db");
    let handle = spawn_relayer(
        &db,
        &committee,
        config("e2e-fabric-to-evm"),
        (Arc::new(source), Arc::new(verifier.clone())),
        Arc::new(destination),
        signing_domain,
    )
    .await;

    // Dispatch while the relayer runs.
    let user = net.client(ORG1).await.unwrap();
    let recipient = address32(*chain.recipient.address());
    let bodies: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("fabric-to-evm message {i:05}").into_bytes())
        .collect();
    let sender = Address32(keccak256(user.signer().creator()).0);
    let mut messages = Vec::with_capacity(N);
    for (i, body) in bodies.iter().enumerate() {
        dispatch(&user, net.channel(), CHAIN_B.domain, recipient, body)
            .await
            .unwrap();
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

    relay_all(handle, lane, N, started).await;

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
        assert_record_verifies(record, &log, cp, &signatures, trust, verifier);
    }
}
