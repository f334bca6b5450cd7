//! The dispatcher's crash windows and races on the Fabric test network and the FISCO BCOS test
//! node (issue 12): a request sealed but never sent is sent after a restart; one sent (its
//! transaction recorded first) but not recorded as dispatched is found on chain and not sent
//! again; one whose transaction was recorded but never reached the chain is sent once, as the
//! same transaction; one whose nonce another sender took is sealed again for the next nonce.
//! Each time the Outbox's nonce shows how many messages were dispatched.

use std::sync::Arc;
use std::time::Duration;

use causeway_devnet::fabric::{FabricNetwork, FabricNetworkOptions, ORG1, ORG2, OUTBOX_CHAINCODE};
use causeway_devnet::fisco::{FiscoNode, FiscoNodeConfig};
use causeway_gateway::private::dispatch::fabric::FabricOriginConfig;
use causeway_gateway::private::dispatch::fisco::FiscoOriginConfig;
use causeway_gateway::private::dispatch::{
    Dispatcher, FabricOrigin, FiscoOrigin, Origin, Prepared, Sealed,
};
use causeway_proofs::fisco::{CryptoMode, NodeSecret};
use causeway_proofs::{Address32, Domain, Message, MessageId, Nonce};
use causeway_relayer::store::{
    NewSendRequest, OutboundStore, SendKind, SendLease, SendRequest, SendRequestId, SendState,
    SqliteStore, Store, UnixMillis,
};
use rand_core::OsRng;

use crate::dispatcher::{crashed_lease, drive, lone_directory};

const DESTINATION: Domain = Domain(2);
const RECIPIENT: Address32 = Address32([0x22; 32]);
const FISCO: Domain = Domain(3001);

fn request(store: &SqliteStore, origin: Domain, body: &[u8]) -> SendRequestId {
    store
        .record_send_requests(
            &[NewSendRequest {
                origin,
                destination: DESTINATION,
                recipient: RECIPIENT,
                kind: SendKind::Public,
                payload: body,
                readers: &[],
                disclose: &[],
                actor: "test",
            }],
            UnixMillis::now(),
        )
        .unwrap()[0]
}

fn id_at(origin: Domain, nonce: u64, sender: Address32, body: &[u8]) -> MessageId {
    Message::new(
        Nonce(nonce),
        origin,
        sender,
        DESTINATION,
        RECIPIENT,
        body.to_vec(),
    )
    .unwrap()
    .id()
}

/// Seals request `id` for `nonce` under the lease of a dispatcher that then crashed (as it
/// would before sending); its view and that lease.
fn seal(
    store: &SqliteStore,
    origin: Domain,
    id: SendRequestId,
    nonce: u64,
    sender: Address32,
    body: &[u8],
) -> (Sealed, SendLease) {
    let message_id = id_at(origin, nonce, sender, body);
    let lease = crashed_lease(store, origin, id);
    store
        .record_sealed(&lease, nonce, message_id, None, UnixMillis::now())
        .unwrap();
    let sealed = Sealed {
        request: id,
        nonce,
        message_id,
        attempt: 0,
        tx: None,
        destination: DESTINATION,
        recipient: RECIPIENT,
    };
    (sealed, lease)
}

/// Makes the submission of `sealed` ready and records its transaction under `lease`, as the
/// dispatcher does before broadcasting; the transaction.
async fn prepare_recorded<O: Origin>(
    origin: &O,
    store: &SqliteStore,
    (sealed, lease): &(Sealed, SendLease),
    body: &[u8],
) -> O::Transaction {
    let Prepared::Ready { tx, transaction } = origin.prepare(sealed, body).await.unwrap() else {
        panic!("the origin refused to prepare {sealed:?}");
    };
    store
        .record_submitted(
            lease,
            tx.expect("a transaction id known in advance"),
            UnixMillis::now(),
        )
        .unwrap();
    transaction
}

/// Runs a dispatcher of `origin` until request `id` is dispatched or failed.
async fn run_until_done<O: Origin>(
    origin: O,
    domain: Domain,
    store: &Arc<SqliteStore>,
    id: SendRequestId,
) -> SendRequest {
    let dispatcher = Dispatcher::with_origin(
        Arc::clone(store) as Arc<dyn Store>,
        domain,
        origin,
        lone_directory(),
        Duration::from_millis(50),
    );
    drive(dispatcher, store, id, Duration::from_secs(90)).await
}

#[tokio::test]
async fn a_fabric_dispatch_survives_its_crash_windows_and_a_taken_nonce() {
    let net = FabricNetwork::start(FabricNetworkOptions::default())
        .await
        .unwrap();
    let domain = net.domain();
    let config = FabricOriginConfig {
        endpoints: vec![net.endpoint()],
        tls: net.tls_config(),
        sender: net.client_identity(ORG1),
        channel: net.channel().to_owned(),
        outbox_chaincode: OUTBOX_CHAINCODE.to_owned(),
    };
    let origin = || FabricOrigin::new(config.clone());
    let probe = origin();
    let sender = probe.sender();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("s.sqlite")).unwrap());

    // 1. Sealed, then the process died before sending: sent once after the restart.
    let first = request(&store, domain, b"one");
    let n = probe.next_nonce().await.unwrap();
    seal(&store, domain, first, n, sender, b"one");
    let done = run_until_done(origin(), domain, &store, first).await;
    assert_eq!(done.state, SendState::Dispatched, "{:?}", done.error);
    assert_eq!(done.message_id, Some(id_at(domain, n, sender, b"one")));
    assert_eq!(probe.next_nonce().await.unwrap(), n + 1);

    // 2. Its transaction recorded, submitted and committed, then the process died before
    //    recording the dispatch: found by its transaction id, not sent again.
    let second = request(&store, domain, b"two");
    let n = probe.next_nonce().await.unwrap();
    let sealed = seal(&store, domain, second, n, sender, b"two");
    let endorsed = prepare_recorded(&probe, &store, &sealed, b"two").await;
    let recorded = store.send_request(second).unwrap().unwrap().tx_hash;
    assert!(
        matches!(probe.broadcast(&sealed.0, endorsed).await.unwrap(), causeway_gateway::private::dispatch::Landing::Landed(tx) if Some(tx) == recorded)
    );
    let done = run_until_done(origin(), domain, &store, second).await;
    assert_eq!(done.state, SendState::Dispatched, "{:?}", done.error);
    assert_eq!(done.tx_hash, recorded);
    assert_eq!(
        probe.next_nonce().await.unwrap(),
        n + 1,
        "not dispatched twice"
    );

    // 3. Its transaction endorsed and recorded, then the process died before submitting it:
    //    proposed again after the restart as the same transaction, committed once.
    let third = request(&store, domain, b"three");
    let n = probe.next_nonce().await.unwrap();
    let sealed = seal(&store, domain, third, n, sender, b"three");
    let _never_submitted = prepare_recorded(&probe, &store, &sealed, b"three").await;
    let recorded = store.send_request(third).unwrap().unwrap().tx_hash;
    let done = run_until_done(origin(), domain, &store, third).await;
    assert_eq!(done.state, SendState::Dispatched, "{:?}", done.error);
    assert_eq!(done.tx_hash, recorded, "the same transaction id");
    assert_eq!(done.attempts, 0);
    assert_eq!(probe.next_nonce().await.unwrap(), n + 1);

    // 4. Sealed for a nonce another sender then took: sealed again for the next one.
    let fourth = request(&store, domain, b"four");
    let n = probe.next_nonce().await.unwrap();
    seal(&store, domain, fourth, n, sender, b"four");
    let other = net.client(ORG2).await.unwrap();
    causeway_devnet::fabric::dispatch(
        &other,
        net.channel(),
        DESTINATION,
        Address32([0x33; 32]),
        b"someone else",
    )
    .await
    .unwrap();
    let done = run_until_done(origin(), domain, &store, fourth).await;
    assert_eq!(done.state, SendState::Dispatched, "{:?}", done.error);
    assert_eq!(done.attempts, 0, "a lost nonce is not a failed attempt");
    assert_eq!(done.nonce, Some(n + 1));
    assert_eq!(done.message_id, Some(id_at(domain, n + 1, sender, b"four")));
    assert_eq!(probe.next_nonce().await.unwrap(), n + 2);
}

async fn fisco_crash_windows(mode: CryptoMode) {
    let node = FiscoNode::start(FiscoNodeConfig::new(mode)).await.unwrap();
    let contracts = node.deploy_causeway(FISCO).await.unwrap();
    let rpc = || causeway_adapters::fisco::FiscoRpc::new(node.endpoint(), node.group()).unwrap();
    let key = NodeSecret::generate(mode, &mut OsRng);
    let config = FiscoOriginConfig {
        chain_id: node.chain_id().to_owned(),
        group: node.group().to_owned(),
        outbox: contracts.outbox,
    };
    let origin = || {
        FiscoOrigin::new(
            rpc(),
            config.clone(),
            NodeSecret::from_bytes(mode, &key.secret_bytes()).unwrap(),
        )
    };
    let probe = origin();
    let sender = probe.sender();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("s.sqlite")).unwrap());

    // 1. Sealed, then the process died before sending: sent once after the restart.
    let first = request(&store, FISCO, b"one");
    let n = probe.next_nonce().await.unwrap();
    seal(&store, FISCO, first, n, sender, b"one");
    let done = run_until_done(origin(), FISCO, &store, first).await;
    assert_eq!(
        done.state,
        SendState::Dispatched,
        "{mode}: {:?}",
        done.error
    );
    assert_eq!(done.message_id, Some(id_at(FISCO, n, sender, b"one")));
    assert_eq!(probe.next_nonce().await.unwrap(), n + 1);

    // 2. Its transaction recorded, sent and committed, then the process died: found through
    //    the Outbox's record of the id, not sent again.
    let second = request(&store, FISCO, b"two");
    let n = probe.next_nonce().await.unwrap();
    let sealed = seal(&store, FISCO, second, n, sender, b"two");
    let signed = prepare_recorded(&probe, &store, &sealed, b"two").await;
    let recorded = store.send_request(second).unwrap().unwrap().tx_hash;
    assert!(
        matches!(probe.broadcast(&sealed.0, signed).await.unwrap(), causeway_gateway::private::dispatch::Landing::Landed(tx) if Some(tx) == recorded)
    );
    let done = run_until_done(origin(), FISCO, &store, second).await;
    assert_eq!(
        done.state,
        SendState::Dispatched,
        "{mode}: {:?}",
        done.error
    );
    assert_eq!(done.tx_hash, recorded);
    assert_eq!(
        probe.next_nonce().await.unwrap(),
        n + 1,
        "{mode}: not dispatched twice"
    );

    // 3. Its transaction signed and recorded, then the process died before sending it: sent
    //    once after the restart.
    let third = request(&store, FISCO, b"three");
    let n = probe.next_nonce().await.unwrap();
    let sealed = seal(&store, FISCO, third, n, sender, b"three");
    let _never_sent = prepare_recorded(&probe, &store, &sealed, b"three").await;
    let done = run_until_done(origin(), FISCO, &store, third).await;
    assert_eq!(
        done.state,
        SendState::Dispatched,
        "{mode}: {:?}",
        done.error
    );
    assert_eq!(done.attempts, 0);
    assert_eq!(probe.next_nonce().await.unwrap(), n + 1);

    // 4. Sealed for a nonce another sender then took: sealed again for the next one.
    let fourth = request(&store, FISCO, b"four");
    let n = probe.next_nonce().await.unwrap();
    seal(&store, FISCO, fourth, n, sender, b"four");
    let other = NodeSecret::generate(mode, &mut OsRng);
    contracts
        .dispatch(
            &node,
            &other,
            DESTINATION,
            alloy::primitives::Address::from([0x33; 20]),
            b"someone else".to_vec(),
        )
        .await
        .unwrap();
    let done = run_until_done(origin(), FISCO, &store, fourth).await;
    assert_eq!(
        done.state,
        SendState::Dispatched,
        "{mode}: {:?}",
        done.error
    );
    assert_eq!(
        done.attempts, 0,
        "{mode}: a lost nonce is not a failed attempt"
    );
    assert_eq!(done.nonce, Some(n + 1));
    assert_eq!(done.message_id, Some(id_at(FISCO, n + 1, sender, b"four")));
    assert_eq!(probe.next_nonce().await.unwrap(), n + 2);
}

#[tokio::test]
async fn a_fisco_dispatch_survives_its_crash_windows_and_a_taken_nonce() {
    fisco_crash_windows(CryptoMode::Ecdsa).await;
    fisco_crash_windows(CryptoMode::Sm).await;
}
