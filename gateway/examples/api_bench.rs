//! The server side of `scripts/bench-api.sh`: the `/v1` API over a SQLite store holding 1000
//! messages, and beside it, on the same runtime, a plain hyper "hello" handler (the ceiling).
//! The API accepts sends from domain 1 to domain 2 as a gateway does (`POST /v1/messages`
//! recorded durably by the group-commit writer on the store's own connection, reads through
//! [`api::API_HANDLES`] more; no chain: nothing is dispatched).
//! Prints `API <addr> <token> <message id>` and `HELLO <addr>`, then serves until stdin closes.

use std::convert::Infallible;
use std::sync::Arc;

use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashSet};

use causeway_gateway::api::send::Sending;
use causeway_gateway::api::{self, ApiState};
use causeway_gateway::private::Directory;
use causeway_gateway::private::fetch::Envelopes;
use causeway_privacy::KeyPair;
use causeway_proofs::bundle::SourceReference;
use causeway_proofs::{Address32, Domain, EvmAddress, Message, Nonce};
use causeway_relayer::store::{
    AcceptBatch, AcceptedEvent, ApiStore, Lane, NewToken, Scope, SourceCursor, SourceStore,
    SqliteStore, Store, UnixMillis,
};
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;

const MESSAGES: u64 = 1000;

#[tokio::main]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.sqlite"))?);
    let events: Vec<AcceptedEvent> = (0..MESSAGES)
        .map(|n| {
            let message = Message::new(
                Nonce(n),
                Domain(1),
                Address32::from(EvmAddress([0x11; 20])),
                Domain(2),
                Address32::from(EvmAddress([0x22; 20])),
                vec![0xab; 256],
            )?;
            Ok(AcceptedEvent {
                source: SourceReference::default(),
                native_proof: None,
                message,
            })
        })
        .collect::<Result<_, causeway_proofs::Error>>()?;
    store.accept_events(&AcceptBatch {
        origin: Domain(1),
        events: &events,
        cursor: SourceCursor {
            block_number: 1,
            block_hash: [1; 32].into(),
        },
        now: UnixMillis::now(),
    })?;
    let secret = api::auth::new_secret();
    store.create_token(&NewToken {
        name: "bench",
        hash: secret.hash,
        scopes: &[Scope::Read, Scope::Send],
        expires_at: None,
        actor: "bench",
        now: UnixMillis::now(),
    })?;
    let cancel = CancellationToken::new();
    let path = store.path().to_path_buf();
    let dyn_store: Arc<dyn Store> = store;
    let mut readers: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..api::API_HANDLES {
        readers.push(Arc::new(SqliteStore::open(&path)?));
    }
    let first = readers.remove(0);
    let own = KeyPair::generate();
    let members = BTreeMap::from([("bench".to_owned(), *own.public_key())]);
    let directory = Arc::new(Directory::new(
        "bench".into(),
        own,
        members,
        Default::default(),
    ));
    let sending = Sending::start(
        Arc::clone(&dyn_store),
        HashSet::from([Domain(1)]),
        HashSet::from([Lane {
            origin: Domain(1),
            destination: Domain(2),
        }]),
        Envelopes::new(Arc::clone(&dyn_store), directory, None),
    );
    let state = ApiState::with_handles(
        first,
        readers,
        vec![],
        vec![],
        api::ApiContext::default(),
        cancel.clone(),
    )
    .with_sending(sending);
    let (router, _) = api::router(state);
    let server = api::server::serve("127.0.0.1:0".parse()?, None, router, cancel.clone()).await?;
    let id = events[MESSAGES as usize / 2].message.id();
    println!("API {} {} {id}", server.local_addr(), secret.token.as_str());

    let hello = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("HELLO {}", hello.local_addr()?);
    let stop = cancel.clone();
    tokio::spawn(async move {
        loop {
            let tcp = tokio::select! {
                () = stop.cancelled() => break,
                r = hello.accept() => match r { Ok((tcp, _)) => tcp, Err(_) => continue },
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(axum::body::Body::from("hello")))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink)
    })
    .await?
    .context("reading stdin")?;
    cancel.cancel();
    server.join().await;
    Ok(())
}
