//! `FetchEnvelope` over real mutual TLS: a recipient gets the envelope; a member that is not a
//! reader gets PERMISSION_DENIED; a grant lets a third member fetch it and its revocation stops
//! that; an unknown message is NOT_FOUND (no envelope, no error).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use causeway_peer::{
    EnvelopeFetcher, EnvelopeFuture, EnvelopeSource, FetchError, Peer, PeerCollector,
};
use causeway_privacy::envelope::{self, EnvelopeContext, SealRequest};
use causeway_privacy::{KeyId, KeyPair, grant};
use causeway_proofs::message::{Address32, Nonce};
use causeway_proofs::{Domain, Hash32, MessageId};

use crate::support::*;

/// An in-memory envelope store with the members' privacy keys.
struct Source {
    envelopes: Mutex<HashMap<MessageId, Vec<u8>>>,
    keys: HashMap<String, KeyId>,
}

impl EnvelopeSource for Source {
    fn envelope(&self, id: MessageId) -> EnvelopeFuture<'_> {
        let found = self
            .envelopes
            .lock()
            .expect("not poisoned")
            .get(&id)
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn member_key(&self, member: &str) -> Option<KeyId> {
        self.keys.get(member).copied()
    }
}

#[tokio::test]
async fn only_readers_fetch_an_envelope_and_a_revoked_grant_stops_fetches() {
    let mut consortium = Consortium::new(&["org1", "org2", "org3"], Pki::Shared).await;
    let keys: HashMap<&str, KeyPair> = ["org1", "org2", "org3"]
        .into_iter()
        .map(|n| (n, KeyPair::generate()))
        .collect();
    let (bytes, _) = envelope::seal_to_vec(
        &SealRequest {
            context: EnvelopeContext {
                origin: Domain(1),
                destination: Domain(2),
                nonce: Nonce(0),
                sender: Address32([1; 32]),
            },
            recipients: &[*keys["org1"].public_key(), *keys["org2"].public_key()],
        },
        b"for org1 and org2",
    )
    .expect("seals");
    let id = MessageId(Hash32([7; 32]));
    let source = Arc::new(Source {
        envelopes: Mutex::new(HashMap::from([(id, bytes.clone())])),
        keys: keys
            .iter()
            .map(|(n, k)| (n.to_string(), k.key_id()))
            .collect(),
    });
    let config = consortium.config("org1", consortium.org("org1").identity());
    let listener = consortium.take_listener("org1").await;
    let collector = Arc::new(PeerCollector::new(consortium.org("org1").validator_key()));
    let handle = Peer::start_serving(
        config,
        listener,
        collector,
        Some(source.clone() as Arc<dyn EnvelopeSource>),
        pending(),
    )
    .await
    .expect("starts");
    let fetcher = |name: &str| {
        EnvelopeFetcher::new(&consortium.config(name, consortium.org(name).identity()))
            .expect("a fetcher")
    };
    let org2 = fetcher("org2");
    let org3 = fetcher("org3");

    assert_eq!(
        org2.fetch("org1", id).await.expect("a reader"),
        Some(bytes.clone())
    );
    match org3.fetch("org1", id).await {
        Err(FetchError::Denied { member, .. }) => assert_eq!(member, "org1"),
        other => panic!("org3 is no reader: {other:?}"),
    }
    assert_eq!(
        org2.fetch("org1", MessageId(Hash32([8; 32])))
            .await
            .expect("answers"),
        None
    );

    // org2 grants org3; the served copy carries the grant: org3 fetches and opens it.
    let (granted, _) =
        grant::grant_to_vec(&bytes, &keys["org2"], keys["org3"].public_key()).expect("grants");
    source
        .envelopes
        .lock()
        .expect("not poisoned")
        .insert(id, granted.clone());
    assert_eq!(
        org3.fetch("org1", id).await.expect("a grantee"),
        Some(granted.clone())
    );
    // Revoked: refused again.
    let (revoked, _) =
        grant::revoke_to_vec(&granted, &keys["org2"], &keys["org3"].key_id()).expect("revokes");
    source
        .envelopes
        .lock()
        .expect("not poisoned")
        .insert(id, revoked);
    assert!(matches!(
        org3.fetch("org1", id).await,
        Err(FetchError::Denied { .. })
    ));
    // Every answer is counted by its class (for causeway_envelope_operations_total).
    let stats = handle.server_stats();
    assert_eq!(
        (
            stats.envelopes_served,
            stats.envelopes_denied,
            stats.envelopes_not_found,
            stats.envelopes_rejected,
            stats.envelopes_failed
        ),
        (2, 2, 1, 0, 0)
    );
    handle.stop().await.expect("stops");
}
