//! Members exchange their signatures over real mutual TLS on loopback.

use std::collections::BTreeSet;
use std::time::Duration;

use causeway_peer::LinkState;
use causeway_proofs::LogSize;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_exchange_their_signatures_both_ways() {
    let mut consortium = Consortium::new(&["org1", "org2", "org3"], Pki::Shared).await;
    let mut a = consortium.start("org1", &[L1, L2]).await;
    let mut b = consortium.start("org2", &[L1, L2]).await;
    let mut c = consortium.start("org3", &[L1, L2]).await;
    for (gateway, name) in [(&a, "org1"), (&b, "org2"), (&c, "org3")] {
        eventually(&format!("{name} is connected to both others"), || {
            gateway.handle().connected().len() == 2
        })
        .await;
    }

    sign(&a.collector, L1, 5).await;
    sign(&b.collector, L1, 5).await;
    sign(&c.collector, L1, 7).await;
    sign(&c.collector, L2, 2).await;

    let validators = |names: &[&str]| -> BTreeSet<_> {
        names.iter().map(|n| consortium.org(n).validator).collect()
    };
    for (gateway, others) in [
        (&mut a, ["org2", "org3"]),
        (&mut b, ["org1", "org3"]),
        (&mut c, ["org1", "org2"]),
    ] {
        let mut from = BTreeSet::new();
        for _ in 0..2 {
            let signature = gateway.next(L1).await;
            // What arrives is exactly what the member's validator signed, on this lane.
            assert_eq!(signer_of(L1, &signature), signature.signature.validator);
            let expected_size = if signature.signature.validator == consortium.org("org3").validator
            {
                7
            } else {
                5
            };
            assert_eq!(signature.checkpoint.size(), LogSize(expected_size));
            from.insert(signature.signature.validator);
        }
        assert_eq!(from, validators(&others));
    }
    for gateway in [&mut a, &mut b] {
        let signature = gateway.next(L2).await;
        assert_eq!(
            signature.signature.validator,
            consortium.org("org3").validator
        );
        assert_eq!(signature.checkpoint.size(), LogSize(2));
    }
    // The link's counters are updated beside the delivery, not before it: give them a moment.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while a.link("org2").signatures_received < 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(a.link("org2").signatures_received >= 1);
    assert_eq!(a.link("org2").violations, 0);

    for gateway in [&mut a, &mut b, &mut c] {
        gateway.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_member_catches_up_from_its_cursor() {
    let mut consortium = Consortium::new(&["org1", "org3"], Pki::PerMember).await;
    let mut a = consortium.start("org1", &[]).await;
    let mut c = consortium.start("org3", &[L1, L2]).await;
    eventually("org3 subscribed to org1", || {
        c.link("org1").state == LinkState::Connected
    })
    .await;

    sign(&a.collector, L1, 5).await;
    sign(&a.collector, L2, 3).await;
    assert_eq!(c.next(L1).await.checkpoint.size(), LogSize(5));
    assert_eq!(c.next(L2).await.checkpoint.size(), LogSize(3));

    // org1's gateway goes away; its validator goes on signing.
    a.stop().await;
    eventually("org3 noticed org1 is gone", || {
        c.link("org1").state != LinkState::Connected
    })
    .await;
    sign(&a.collector, L1, 6).await;
    sign(&a.collector, L1, 7).await;

    // Back with the same validator state: org3 resubscribes with its cursors (L1 at 5, L2 at
    // 3) and receives only what is beyond them: the latest of L1, nothing of L2.
    let collector = a.collector.clone();
    let mut a = consortium.start_with("org1", collector, &[]).await;
    assert_eq!(c.next(L1).await.checkpoint.size(), LogSize(7));
    eventually("org3 resubscribed to org1", || c.link("org1").sessions >= 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        c.receiver(L2).try_recv().is_err(),
        "L2's signature at 3 was sent again although org3's cursor was at 3"
    );
    assert!(
        c.receiver(L1).try_recv().is_err(),
        "only the latest of L1 is sent"
    );

    // New signatures flow again.
    sign(&a.collector, L2, 4).await;
    assert_eq!(c.next(L2).await.checkpoint.size(), LogSize(4));

    a.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_goes_away_frees_its_stream_at_once() {
    let mut consortium = Consortium::new(&["org1", "org2"], Pki::Shared).await;
    let mut server = consortium.start("org1", &[]).await;
    let mut subscriber = consortium.start("org2", &[L1]).await;
    eventually("org2 subscribed to org1", || {
        server.handle().server_stats().streams_open == 1
    })
    .await;
    subscriber.stop().await;
    // No signature is made: the stream must end because its subscriber left.
    eventually("org1 closed the stream of the departed subscriber", || {
        server.handle().server_stats().streams_open == 0
    })
    .await;
    server.stop().await;
}
