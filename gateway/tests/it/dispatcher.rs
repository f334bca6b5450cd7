//! The dispatcher's crash windows and races on anvil (issue 12): a request recorded as sealed
//! but never sent is sent after a restart; one sent but not recorded is found on chain and not
//! sent again; one whose nonce another sender took is sealed again for the next nonce.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{B256, Bytes};
use alloy::providers::ext::AnvilApi as _;
use causeway_devnet::logs::Captured;
use causeway_devnet::{CHAIN_A, DevChain};
use causeway_gateway::private::Directory;
use causeway_gateway::private::dispatch::{Dispatcher, Origin};
use causeway_privacy::KeyPair;
use causeway_proofs::{Address32, Domain, EvmAddress, Message, MessageId, Nonce};
use causeway_relayer::store::{
    LeaseOwner, NewSendRequest, OutboundStore, SendKind, SendLease, SendLeaseRequest, SendRequest,
    SendRequestId, SendState, SqliteStore, Store, UnixMillis,
};
use tokio_util::sync::CancellationToken;

const SENDER_KEY: usize = 9;

fn request(store: &SqliteStore, body: &[u8]) -> SendRequestId {
    store
        .record_send_requests(
            &[NewSendRequest {
                origin: CHAIN_A.domain,
                destination: Domain(2),
                recipient: Address32([0x22; 32]),
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

fn id_at(nonce: u64, sender: Address32, body: &[u8]) -> MessageId {
    Message::new(
        Nonce(nonce),
        CHAIN_A.domain,
        sender,
        Domain(2),
        Address32([0x22; 32]),
        body.to_vec(),
    )
    .unwrap()
    .id()
}

/// The lease under which a dispatcher that then crashed held request `id` (the only open one of
/// `origin`): taken an hour ago for a second, so it has ended and any dispatcher takes the
/// request over, resuming from what was recorded under it.
pub(crate) fn crashed_lease(store: &dyn Store, origin: Domain, id: SendRequestId) -> SendLease {
    let leased = store
        .lease_send_requests(&SendLeaseRequest {
            origin,
            owner: &LeaseOwner("crashed".into()),
            limit: 1,
            lease_for: Duration::from_secs(1),
            now: UnixMillis(UnixMillis::now().0 - 3_600_000),
        })
        .unwrap();
    assert_eq!(leased.len(), 1, "one open request");
    assert_eq!(leased[0].id, id);
    leased[0].lease.clone().unwrap()
}

/// The directory of a lone member, org1, with a fresh privacy key.
pub(crate) fn lone_directory() -> Arc<Directory> {
    let own = KeyPair::generate();
    let members = [("org1".to_owned(), *own.public_key())].into();
    Arc::new(Directory::new(
        "org1".into(),
        own,
        members,
        Default::default(),
    ))
}

/// Runs `dispatcher` until request `id` is dispatched or failed (bounded by `limit`), then
/// stops it.
pub(crate) async fn drive<O: Origin>(
    dispatcher: Dispatcher<O>,
    store: &SqliteStore,
    id: SendRequestId,
    limit: Duration,
) -> SendRequest {
    let cancel = CancellationToken::new();
    let task = tokio::spawn(dispatcher.run(cancel.clone()));
    let deadline = tokio::time::Instant::now() + limit;
    let done = loop {
        let r = store.send_request(id).unwrap().unwrap();
        if matches!(r.state, SendState::Dispatched | SendState::Failed) {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not done: {r:?} {:?}",
            r.error
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    cancel.cancel();
    task.await.unwrap();
    done
}

/// An EVM dispatcher on `chain`'s alliance Outbox sending from dev key `key`, polling every 50 ms.
fn evm_dispatcher(chain: &DevChain, store: Arc<dyn Store>, key: usize) -> Dispatcher {
    Dispatcher::new(
        store,
        CHAIN_A.domain,
        &chain.node.endpoint(),
        EvmAddress(chain.outbox.address().0.0),
        &chain.node.dev_keys()[key].to_bytes().0,
        lone_directory(),
        Duration::from_millis(50),
    )
    .unwrap()
}

/// Runs an EVM dispatcher until `id` is dispatched or failed.
async fn run_until_done(
    chain: &DevChain,
    store: &Arc<SqliteStore>,
    id: SendRequestId,
) -> SendRequest {
    let dispatcher = evm_dispatcher(chain, Arc::clone(store) as Arc<dyn Store>, SENDER_KEY);
    drive(dispatcher, store, id, Duration::from_secs(60)).await
}

#[tokio::test]
async fn a_dispatch_survives_its_crash_windows_and_a_taken_nonce() {
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("s.sqlite")).unwrap());
    let sender_address = chain.node.dev_keys()[SENDER_KEY].address();
    let sender = Address32::from(EvmAddress(sender_address.0.0));
    let nonce = || async { chain.outbox.nonce().call().await.unwrap() };

    // 1. Sealed, then the process died before sending: sent once after the restart.
    let first = request(&store, b"one");
    let n = nonce().await;
    store
        .record_sealed(
            &crashed_lease(&*store, CHAIN_A.domain, first),
            n,
            id_at(n, sender, b"one"),
            None,
            UnixMillis::now(),
        )
        .unwrap();
    let done = run_until_done(&chain, &store, first).await;
    assert_eq!(done.state, SendState::Dispatched, "{:?}", done.error);
    assert_eq!(done.message_id, Some(id_at(n, sender, b"one")));
    assert_eq!(nonce().await, n + 1);

    // 2. Sent, then the process died before recording it: found on chain, not sent again.
    let second = request(&store, b"two");
    let n = nonce().await;
    store
        .record_sealed(
            &crashed_lease(&*store, CHAIN_A.domain, second),
            n,
            id_at(n, sender, b"two"),
            None,
            UnixMillis::now(),
        )
        .unwrap();
    let sent = chain
        .outbox
        .dispatch(2, B256::from([0x22; 32]), Bytes::from_static(b"two"))
        .from(sender_address)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let done = run_until_done(&chain, &store, second).await;
    assert_eq!(done.state, SendState::Dispatched);
    assert_eq!(done.tx_hash.map(|h| h.0), Some(sent.transaction_hash.0));
    assert_eq!(nonce().await, n + 1, "not dispatched twice");

    // 3. Sealed for a nonce another sender then took: sealed again for the next one.
    let third = request(&store, b"three");
    let n = nonce().await;
    store
        .record_sealed(
            &crashed_lease(&*store, CHAIN_A.domain, third),
            n,
            id_at(n, sender, b"three"),
            None,
            UnixMillis::now(),
        )
        .unwrap();
    chain
        .outbox
        .dispatch(
            2,
            B256::from([0x33; 32]),
            Bytes::from_static(b"someone else"),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let done = run_until_done(&chain, &store, third).await;
    assert_eq!(done.state, SendState::Dispatched, "{:?}", done.error);
    assert_eq!(done.attempts, 0, "a lost nonce is not a failed attempt");
    assert_eq!(done.nonce, Some(n + 1));
    assert_eq!(done.message_id, Some(id_at(n + 1, sender, b"three")));
    assert_eq!(nonce().await, n + 2);
}

/// Two senders (two organisations' gateways: a store and a sender key each) hold a request
/// sealed for the same Outbox nonce and dispatch at once, both transactions reaching the node
/// before a block is mined: the Outbox's expected nonce lets one land there and turns the other
/// away (a reverted transaction, or a refused estimate) instead of landing it under the next
/// nonce; that one is sealed again for the next nonce and lands once. Exactly one message per
/// sender, each at the nonce its request was sealed for.
#[tokio::test]
async fn two_senders_racing_for_one_nonce_each_dispatch_once() {
    let chain = DevChain::start_with(CHAIN_A, causeway_devnet::anvil::Mining::Manual)
        .await
        .unwrap();
    let n = chain.outbox.nonce().call().await.unwrap();
    let keys = [SENDER_KEY, SENDER_KEY - 1];
    let bodies: [&[u8]; 2] = [b"first sender", b"second sender"];
    let senders = keys.map(|k| Address32::from(EvmAddress(chain.node.dev_keys()[k].address().0.0)));
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let stores =
        [0, 1].map(|i| Arc::new(SqliteStore::open(dirs[i].path().join("s.sqlite")).unwrap()));
    let mut ids = Vec::new();
    for i in 0..2 {
        let id = request(&stores[i], bodies[i]);
        stores[i]
            .record_sealed(
                &crashed_lease(&*stores[i], CHAIN_A.domain, id),
                n,
                id_at(n, senders[i], bodies[i]),
                None,
                UnixMillis::now(),
            )
            .unwrap();
        ids.push(id);
    }
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for i in 0..2 {
        let dispatcher = evm_dispatcher(&chain, Arc::clone(&stores[i]) as Arc<dyn Store>, keys[i]);
        tasks.push(tokio::spawn(dispatcher.run(cancel.clone())));
    }
    // A block every 300 ms: both sealed for nonce n, both send for it before the first block.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        chain.provider.evm_mine(None).await.unwrap();
        let now: Vec<SendRequest> = (0..2)
            .map(|i| stores[i].send_request(ids[i]).unwrap().unwrap())
            .collect();
        if now.iter().all(|r| r.state == SendState::Dispatched) {
            break now;
        }
        assert!(tokio::time::Instant::now() < deadline, "not done: {now:?}");
    };
    cancel.cancel();
    for t in tasks {
        t.await.unwrap();
    }

    // Two messages in all, one per sender, each the id its request recorded at its nonce.
    assert_eq!(chain.outbox.nonce().call().await.unwrap(), n + 2);
    let logs = chain
        .outbox
        .Dispatch_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    let landed: Vec<Message> = logs
        .iter()
        .filter(|(e, _)| e.nonce >= n)
        .map(|(e, _)| Message::decode(&e.message).unwrap())
        .collect();
    assert_eq!(landed.len(), 2, "{landed:?}");
    for i in 0..2 {
        let r = &done[i];
        let nonce = r.nonce.unwrap();
        assert_eq!(r.message_id, Some(id_at(nonce, senders[i], bodies[i])));
        let mine: Vec<&Message> = landed.iter().filter(|m| m.sender() == senders[i]).collect();
        assert_eq!(mine.len(), 1, "sender {i}: exactly one message");
        assert_eq!(
            mine[0].nonce(),
            Nonce(nonce),
            "sender {i}: at the sealed nonce"
        );
        assert_eq!(Some(mine[0].id()), r.message_id);
    }

    // One won nonce n; the other lost it, was sealed again and landed at n + 1 (a lost nonce
    // is not a failed attempt).
    let mut outcome: Vec<(u64, u32)> = done
        .iter()
        .map(|r| (r.nonce.unwrap(), r.attempts))
        .collect();
    outcome.sort_unstable();
    assert_eq!(
        outcome,
        [(n, 0), (n + 1, 0)],
        "{:?}",
        done.iter().map(|r| &r.error).collect::<Vec<_>>()
    );
}

/// Two replicas of one organisation's gateway on one PostgreSQL database (the same sender key,
/// each its own instance name) dispatch the requests the API recorded: each request is leased
/// to one of them at a time, so every request lands exactly once, under the id it recorded.
#[tokio::test]
async fn two_replicas_on_one_postgres_store_dispatch_each_request_once() {
    const REQUESTS: usize = 12;
    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let pg = causeway_devnet::postgres::PostgresNode::start().unwrap();
    let url = pg.create_database("sends").unwrap();
    // The PostgreSQL client blocks: every store call of the test runs off the runtime.
    let open = || {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                Arc::new(causeway_relayer::store::PgStore::open(&url).unwrap())
            })
            .await
            .unwrap()
        }
    };
    let store = open().await;
    let handles = [open().await, open().await];
    let n = chain.outbox.nonce().call().await.unwrap();
    let bodies: Vec<Vec<u8>> = (0..REQUESTS)
        .map(|i| format!("request {i}").into_bytes())
        .collect();
    let ids = {
        let (store, bodies) = (Arc::clone(&store), bodies.clone());
        tokio::task::spawn_blocking(move || {
            store.record_send_requests(
                &bodies
                    .iter()
                    .map(|b| NewSendRequest {
                        origin: CHAIN_A.domain,
                        destination: Domain(2),
                        recipient: Address32([0x22; 32]),
                        kind: SendKind::Public,
                        payload: b,
                        readers: &[],
                        disclose: &[],
                        actor: "test",
                    })
                    .collect::<Vec<_>>(),
                UnixMillis::now(),
            )
        })
        .await
        .unwrap()
        .unwrap()
    };
    let cancel = CancellationToken::new();
    let tasks: Vec<_> = ["org1/a", "org1/b"]
        .into_iter()
        .zip(&handles)
        .map(|(name, handle)| {
            let dispatcher =
                evm_dispatcher(&chain, Arc::clone(handle) as Arc<dyn Store>, SENDER_KEY)
                    .leased_as(LeaseOwner(name.into()), Duration::from_secs(5));
            tokio::spawn(dispatcher.run(cancel.clone()))
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let done = loop {
        let (s, wanted) = (Arc::clone(&store), ids.clone());
        let now: Vec<SendRequest> = tokio::task::spawn_blocking(move || {
            wanted
                .iter()
                .map(|id| s.send_request(*id).unwrap().unwrap())
                .collect()
        })
        .await
        .unwrap();
        if now
            .iter()
            .all(|r| matches!(r.state, SendState::Dispatched | SendState::Failed))
        {
            break now;
        }
        assert!(tokio::time::Instant::now() < deadline, "not done: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    cancel.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    tokio::task::spawn_blocking(move || drop((store, handles)))
        .await
        .unwrap();
    let sender = Address32::from(EvmAddress(chain.node.dev_keys()[SENDER_KEY].address().0.0));
    for (i, r) in done.iter().enumerate() {
        assert_eq!(r.state, SendState::Dispatched, "request {i}: {:?}", r.error);
        assert_eq!(
            r.message_id,
            Some(id_at(r.nonce.unwrap(), sender, &bodies[i])),
            "request {i}: the id of its body at its recorded nonce"
        );
    }
    // Exactly once: as many messages as requests, each a request's.
    assert_eq!(
        chain.outbox.nonce().call().await.unwrap(),
        n + REQUESTS as u64
    );
    let landed: std::collections::BTreeSet<MessageId> = chain
        .outbox
        .Dispatch_filter()
        .from_block(0)
        .query()
        .await
        .unwrap()
        .iter()
        .filter(|(e, _)| e.nonce >= n)
        .map(|(e, _)| MessageId(causeway_proofs::Hash32(e.id.0)))
        .collect();
    let recorded: std::collections::BTreeSet<MessageId> =
        done.iter().filter_map(|r| r.message_id).collect();
    assert_eq!(landed, recorded);
}

/// A dispatch from the sender's account that the node keeps pending and never mines (too low a
/// tip; an earlier replica's, say) holds the Outbox nonce the request was sealed for. The
/// dispatcher waits for it (one warning, not one per poll), and once it has held the nonce for
/// `replacing_after` sends the request in its place at the same account nonce with a higher
/// fee: the stuck transaction is gone from the pool, and the request lands once, at its nonce.
#[tokio::test]
async fn a_nonce_held_by_a_transaction_never_mined_is_replaced_and_the_request_lands_once() {
    use alloy::network::EthereumWallet;
    use alloy::providers::{Provider as _, ProviderBuilder};

    let captured = Captured::default();
    let _guard = captured.install();

    let chain = DevChain::start_with(CHAIN_A, causeway_devnet::anvil::Mining::Manual)
        .await
        .unwrap();
    let n = chain.outbox.nonce().call().await.unwrap();
    let key = chain.node.dev_keys()[SENDER_KEY].clone();
    let sender = Address32::from(EvmAddress(key.address().0.0));
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(chain.node.endpoint_url());
    let outbox = causeway_devnet::contracts::Outbox::new(*chain.outbox.address(), &wallet);
    let base = wallet.get_gas_price().await.unwrap();
    let stuck = outbox
        .dispatchAt(
            n,
            2,
            B256::repeat_byte(0x22),
            Bytes::from_static(b"an earlier replica's"),
        )
        .gas(200_000)
        .max_priority_fee_per_gas(1)
        .max_fee_per_gas(base)
        .send()
        .await
        .unwrap();
    let stuck = *stuck.tx_hash();

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("s.sqlite")).unwrap());
    let body = b"the request";
    let id = request(&store, body);
    let replace_after = Duration::from_secs(2);
    let dispatcher = evm_dispatcher(&chain, Arc::clone(&store) as Arc<dyn Store>, SENDER_KEY)
        .replacing_after(replace_after);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(dispatcher.run(cancel.clone()));

    // Waiting: sealed for n, put off while the stuck transaction holds n, never counted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let waiting = loop {
        let r = store.send_request(id).unwrap().unwrap();
        if r.contended_since.is_some() {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never waited: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(waiting.state, SendState::Sealed, "{waiting:?}");
    assert_eq!((waiting.nonce, waiting.attempts), (Some(n), 0));
    assert!(waiting.contended_since.is_some(), "{waiting:?}");
    assert!(
        waiting
            .error
            .as_deref()
            .unwrap_or("")
            .contains("not mined yet"),
        "the API shows what it waits for: {:?}",
        waiting.error
    );

    // Replaced in the pool once it held the nonce past the bound (the node drops the stuck one).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while wallet
        .get_transaction_by_hash(stuck)
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stuck transaction was never replaced: {:?}",
            store.send_request(id).unwrap().unwrap().error
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        chain.provider.evm_mine(None).await.unwrap();
        let r = store.send_request(id).unwrap().unwrap();
        if r.state == SendState::Dispatched {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not dispatched: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    cancel.cancel();
    task.await.unwrap();

    assert_eq!(done.nonce, Some(n));
    assert_eq!(done.message_id, Some(id_at(n, sender, body)));
    assert!(
        wallet
            .get_transaction_receipt(stuck)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(chain.outbox.nonce().call().await.unwrap(), n + 1);
    let landed: Vec<Message> = chain
        .outbox
        .Dispatch_filter()
        .from_block(0)
        .query()
        .await
        .unwrap()
        .iter()
        .filter(|(e, _)| e.nonce >= n)
        .map(|(e, _)| Message::decode(&e.message).unwrap())
        .collect();
    assert_eq!(landed.len(), 1, "{landed:?}");
    assert_eq!(Some(landed[0].id()), done.message_id);
    // One warning for the episode, one for the replacement: not one per poll.
    assert_eq!(captured.count("held by a transaction not yet final"), 1);
    assert_eq!(captured.count("sending the request in its place"), 1);
}

/// A sender account with no ether on the origin: the node refuses every dispatch for the
/// account's sake (insufficient funds for gas), not for any one request's. No request is
/// charged an attempt or given up; the dispatcher backs off as a whole and warns once, naming
/// the account and the fix; once the account is funded every request goes out, none failed.
#[tokio::test]
async fn a_sender_account_out_of_funds_fails_no_request_and_all_go_out_once_funded() {
    use alloy::primitives::U256;
    use alloy::signers::local::PrivateKeySigner;

    let captured = Captured::default();
    let _guard = captured.install();

    let chain = DevChain::start(CHAIN_A).await.unwrap();
    // A fresh key: its account holds nothing on the chain.
    let key = PrivateKeySigner::random();
    let account = key.address();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("s.sqlite")).unwrap());
    let bodies: [&[u8]; 3] = [b"one", b"two", b"three"];
    let ids: Vec<SendRequestId> = bodies.iter().map(|b| request(&store, b)).collect();
    let dispatcher = Dispatcher::new(
        Arc::clone(&store) as Arc<dyn Store>,
        CHAIN_A.domain,
        &chain.node.endpoint(),
        EvmAddress(chain.outbox.address().0.0),
        &key.to_bytes().0,
        lone_directory(),
        Duration::from_millis(50),
    )
    .unwrap();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(dispatcher.run(cancel.clone()));

    // Refused for several seconds (without the distinction, 8 counted attempts at a 50 ms
    // backoff doubling take ~13 s, and the first is counted within the first poll).
    tokio::time::sleep(Duration::from_secs(4)).await;
    for id in &ids {
        let r = store.send_request(*id).unwrap().unwrap();
        assert!(
            matches!(r.state, SendState::Accepted | SendState::Sealed),
            "{r:?} {:?}",
            r.error
        );
        assert_eq!(
            r.attempts, 0,
            "the account's refusal is no attempt of request {id}: {:?}",
            r.error
        );
    }
    let fix = format!("fund account {account}");
    let logs = captured.text();
    assert!(
        logs.contains(&fix) || logs.contains(&fix.to_lowercase()),
        "the warning names the account and the fix: {logs}"
    );
    assert_eq!(
        captured.count("refuses the sender account"),
        1,
        "one warning for the episode, not one per poll: {logs}"
    );

    chain
        .provider
        .anvil_set_balance(account, U256::from(10u128.pow(20)))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let now: Vec<SendRequest> = ids
            .iter()
            .map(|id| store.send_request(*id).unwrap().unwrap())
            .collect();
        if now
            .iter()
            .all(|r| r.state != SendState::Accepted && r.state != SendState::Sealed)
        {
            break now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all sent once funded: {:?}",
            now.iter().map(|r| (r, &r.error)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    cancel.cancel();
    task.await.unwrap();
    for r in &done {
        assert_eq!(r.state, SendState::Dispatched, "{r:?} {:?}", r.error);
        assert_eq!(r.attempts, 0, "{r:?}");
    }
    assert!(
        captured
            .text()
            .contains("takes the sender account's transactions again"),
        "the end of the episode is logged: {}",
        captured.text()
    );
}

/// The dispatcher's lease of send requests while its store refuses writes (the PostgreSQL
/// server turned read-only, as after a failover to a standby): the lease fails at every 20 ms
/// poll for three seconds, and that is one warning with the cause and the fix when it starts
/// and one line with the count of failures when it works again, not a warning per poll. A
/// request recorded meanwhile is dispatched once the store takes writes again.
#[tokio::test]
async fn a_store_refusing_the_dispatchers_lease_is_warned_about_once_and_its_end_once() {
    let captured = Captured::default();
    let _guard = captured.install();

    let chain = DevChain::start(CHAIN_A).await.unwrap();
    let pg = causeway_devnet::postgres::PostgresNode::start().unwrap();
    let url = pg.create_database("lease_outage").unwrap();
    let store = tokio::task::spawn_blocking(move || {
        Arc::new(causeway_relayer::store::PgStore::open(&url).unwrap())
    })
    .await
    .unwrap();
    let cancel = CancellationToken::new();
    let dispatcher = evm_dispatcher(&chain, Arc::clone(&store) as Arc<dyn Store>, SENDER_KEY);
    let task = tokio::spawn(dispatcher.run(cancel.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;

    pg.set_read_only(true).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg.set_read_only(false).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while captured.count("leasing send requests works again") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dispatcher never said leasing works again:\n{}",
            captured.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Working again: a request is leased and dispatched.
    let id = {
        let store = Arc::clone(&store);
        tokio::task::spawn_blocking(move || {
            store
                .record_send_requests(
                    &[NewSendRequest {
                        origin: CHAIN_A.domain,
                        destination: Domain(2),
                        recipient: Address32([0x22; 32]),
                        kind: SendKind::Public,
                        payload: b"after the outage",
                        readers: &[],
                        disclose: &[],
                        actor: "test",
                    }],
                    UnixMillis::now(),
                )
                .unwrap()[0]
        })
        .await
        .unwrap()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = Arc::clone(&store);
        let r = tokio::task::spawn_blocking(move || s.send_request(id).unwrap().unwrap())
            .await
            .unwrap();
        if r.state == SendState::Dispatched {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not dispatched: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cancel.cancel();
    task.await.unwrap();

    let logs = captured.text();
    assert_eq!(
        captured.count("leasing a send request failed"),
        1,
        "one warning for the outage, not one per poll:\n{logs}"
    );
    assert!(
        logs.contains("read-only") && logs.contains("writable"),
        "the warning gives the cause and the fix:\n{logs}"
    );
    let ended = logs
        .lines()
        .find(|l| l.contains("leasing send requests works again"))
        .unwrap();
    let failures: u64 = ended
        .split("failures=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the count of failures: {ended}"));
    assert!(failures > 10, "every failed poll is counted: {ended}");
}
