//! What `wiring::wire` builds is what the relayer runs on: a configuration for a devnet (two
//! anvil chains, a 2-of-3 committee on both Inboxes) wired and handed to the relayer delivers a
//! message each way, checked by each destination Inbox (signatures under the wired signing
//! domain, proofs, replay protection).

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes};
use alloy::providers::ext::AnvilApi as _;
use causeway_config::Config;
use causeway_devnet::DevChain;
use causeway_devnet::contracts::Outbox;
use causeway_devnet::fixtures::address32;
use causeway_gateway::wiring;
use causeway_proofs::ValidatorKey;
use causeway_relayer::Relayer;
use causeway_relayer::pipeline::{MultiSigner, PipelineConfig};
use causeway_relayer::store::{LeaseOwner, SqliteStore};

use crate::config_check::{Faults, Org, devnet, write_config};

/// `Inbox.status` of a delivered message.
const DELIVERED: u8 = 1;

/// Dispatches `body` on `from`'s Outbox to `to`'s recipient; returns the message id.
async fn dispatch(from: &DevChain, to: &DevChain, body: &str) -> B256 {
    let receipt = from
        .outbox
        .dispatch(
            to.spec.domain.0,
            address32(*to.recipient.address()).0.into(),
            Bytes::from(body.as_bytes().to_vec()),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let log = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<Outbox::Dispatch>().ok())
        .expect("the dispatch emitted its event");
    log.inner.data.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wired_lanes_deliver_a_message_each_way() {
    let (devnet, committee) = devnet().await;
    let org = Org::new(&committee);
    let path = write_config(&org, &devnet, &committee, &Faults::default());
    let config = Config::load(&path).unwrap();
    let wired = wiring::wire(&config).await.unwrap();

    // Two of the three validators sign (the peer protocol's stand-in in one process).
    let copy = |k: &ValidatorKey| ValidatorKey::from_bytes(&k.secret_bytes()).unwrap();
    let keys = committee.keys();
    let signer = MultiSigner::new(vec![copy(&keys[0]), copy(&keys[2])]);
    let store = Arc::new(SqliteStore::open(org.path().join("relayer.db")).unwrap());
    let pipeline = PipelineConfig {
        owner: LeaseOwner("wiring-test".into()),
        source_poll: Duration::from_millis(50),
        deliver_poll: Duration::from_millis(50),
        confirm_poll: Duration::from_millis(50),
        ..PipelineConfig::default()
    };
    let mut relayer = Relayer::new(store, Arc::new(signer), pipeline);
    for origin in wired.origins.clone() {
        relayer = relayer.origin(origin);
    }
    for (_, lane) in wired.lanes.clone() {
        relayer = relayer.lane(lane);
    }
    let handle = relayer.spawn().await.unwrap();

    let a_to_b = dispatch(&devnet.a, &devnet.b, "alpha to beta").await;
    let b_to_a = dispatch(&devnet.b, &devnet.a, "beta to alpha").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let on_b = devnet.b.inbox.status(a_to_b).call().await.unwrap();
        let on_a = devnet.a.inbox.status(b_to_a).call().await.unwrap();
        if on_b == DELIVERED && on_a == DELIVERED {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not delivered within 60 s (status on beta {on_b}, on alpha {on_a}): {:?}",
            handle.progress().await
        );
        // One confirmation: keep both chains moving.
        devnet.a.provider.evm_mine(None).await.unwrap();
        devnet.b.provider.evm_mine(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    handle.shutdown().await;
}
