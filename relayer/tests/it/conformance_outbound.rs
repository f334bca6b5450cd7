//! The store conformance suite, outbound part ([`OutboundStore`]): send requests recorded and
//! audited, sealed (with their envelope, in one transaction), dispatched or failed; envelopes
//! stored once; grants recorded with the envelope they produced.

use causeway_proofs::{Address32, Domain, Hash32, MessageId};
use causeway_relayer::Error;
use causeway_relayer::store::{
    ApiStore, GrantKind, NewEnvelope, NewGrant, NewSendRequest, OutboundStore, SendKind,
    SendRequestId, SendState,
};

use crate::support::*;

macro_rules! outbound_conformance_suite {
    ($name:ident, $backend:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn send_requests_are_recorded_audited_sealed_and_dispatched() {
                super::send_requests_are_recorded_audited_sealed_and_dispatched(&$backend);
            }
            #[test]
            fn envelopes_are_stored_once_and_grants_replace_them_with_a_record() {
                super::envelopes_are_stored_once_and_grants_replace_them_with_a_record(&$backend);
            }
        }
    };
}

outbound_conformance_suite!(sqlite, SqliteBackend::new());
outbound_conformance_suite!(postgres, PgBackend::new());

fn request<'a>(kind: SendKind, payload: &'a [u8], readers: &'a [String]) -> NewSendRequest<'a> {
    NewSendRequest {
        origin: Domain(1),
        destination: Domain(2),
        recipient: Address32([7; 32]),
        kind,
        payload,
        readers,
        disclose: &[],
        actor: "token:1:app",
    }
}

fn envelope(id: u8, bytes: &[u8]) -> NewEnvelope<'_> {
    NewEnvelope {
        message_id: MessageId(Hash32([id; 32])),
        origin: Domain(1),
        destination: Domain(2),
        nonce: 5,
        sender: Address32([3; 32]),
        commitment: [9; 32],
        bytes,
        disclosure: Some("{}"),
        fetched_from: None,
    }
}

fn send_requests_are_recorded_audited_sealed_and_dispatched<B: Backend>(b: &B) {
    let s = b.open();
    let readers = vec!["org2".to_owned()];
    let ids = s
        .record_send_requests(
            &[
                request(SendKind::Public, b"hello", &[]),
                request(SendKind::Private, br#"{"a":1}"#, &readers),
            ],
            t(10),
        )
        .unwrap();
    assert_eq!(ids.len(), 2);
    let trail = s.audit_trail(0, 10).unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[1].action, "message.send");
    assert_eq!(trail[1].target, format!("request:{}:private", ids[1]));
    let open = s.open_send_requests(Domain(1), 10).unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(open[1].readers, readers);
    assert_eq!(open[1].payload.as_deref(), Some(&br#"{"a":1}"#[..]));
    assert!(s.open_send_requests(Domain(2), 10).unwrap().is_empty());

    // Sealed with its envelope, then sealed again for another nonce: the first envelope goes.
    s.record_sealed(
        ids[1],
        5,
        MessageId(Hash32([1; 32])),
        Some(&envelope(1, b"e1")),
        t(11),
    )
    .unwrap();
    assert!(s.envelope(MessageId(Hash32([1; 32]))).unwrap().is_some());
    // Its transaction recorded before it is sent: still sealed, the transaction kept; only a
    // sealed request takes one.
    s.record_submitted(ids[1], Hash32([8; 32]), t(11)).unwrap();
    let sending = s.send_request(ids[1]).unwrap().unwrap();
    assert_eq!(
        (sending.state, sending.tx_hash),
        (SendState::Sealed, Some(Hash32([8; 32])))
    );
    assert!(matches!(
        s.record_submitted(ids[0], Hash32([8; 32]), t(11)),
        Err(Error::SendRequestState { .. })
    ));
    s.record_sealed(
        ids[1],
        6,
        MessageId(Hash32([2; 32])),
        Some(&envelope(2, b"e2")),
        t(12),
    )
    .unwrap();
    assert!(s.envelope(MessageId(Hash32([1; 32]))).unwrap().is_none());
    let stored = s.envelope(MessageId(Hash32([2; 32]))).unwrap().unwrap();
    assert_eq!(stored.bytes, b"e2");
    assert_eq!(stored.fetched_from, None);
    assert_eq!(
        s.send_request(ids[1]).unwrap().unwrap().tx_hash,
        None,
        "sealed again: the earlier transaction is forgotten"
    );
    s.record_dispatched(ids[1], Hash32([4; 32]), t(13)).unwrap();
    let done = s.send_request(ids[1]).unwrap().unwrap();
    assert_eq!(done.state, SendState::Dispatched);
    assert_eq!(done.nonce, Some(6));
    assert_eq!(done.payload, None, "the plaintext is dropped once on chain");
    // A dispatched request is not sealed, dispatched or failed again.
    assert!(matches!(
        s.record_dispatched(ids[1], Hash32([4; 32]), t(14)),
        Err(Error::SendRequestState { .. })
    ));
    assert!(matches!(
        s.record_send_failure(ids[1], "x", true, t(14)),
        Err(Error::SendRequestState { .. })
    ));

    // A failure sends the public one back to accepted, then gives up.
    s.record_send_failure(ids[0], "reverted", false, t(15))
        .unwrap();
    let again = s.send_request(ids[0]).unwrap().unwrap();
    assert_eq!((again.state, again.attempts), (SendState::Accepted, 1));
    s.record_send_failure(ids[0], "reverted", true, t(16))
        .unwrap();
    let failed = s.send_request(ids[0]).unwrap().unwrap();
    assert_eq!(failed.state, SendState::Failed);
    assert_eq!(failed.error.as_deref(), Some("reverted"));
    assert!(s.open_send_requests(Domain(1), 10).unwrap().is_empty());
    assert!(s.send_request(SendRequestId(99)).unwrap().is_none());
}

fn envelopes_are_stored_once_and_grants_replace_them_with_a_record<B: Backend>(b: &B) {
    let s = b.open();
    let mut fetched = envelope(1, b"first");
    fetched.fetched_from = Some("org1");
    assert!(s.store_envelope(&fetched, t(1)).unwrap());
    assert!(!s.store_envelope(&envelope(1, b"second"), t(2)).unwrap());
    let id = MessageId(Hash32([1; 32]));
    assert_eq!(s.envelope(id).unwrap().unwrap().bytes, b"first");
    let grant = NewGrant {
        message_id: id,
        bytes: b"granted",
        kind: GrantKind::Grant,
        grantor: "org2",
        grantee: "org3",
        chain: Hash32([8; 32]),
        actor: "token:2:ops",
        now: t(3),
    };
    let record = s.record_grant(&grant).unwrap();
    assert_eq!(record.grantee, "org3");
    assert_eq!(s.envelope(id).unwrap().unwrap().bytes, b"granted");
    let revoke = NewGrant {
        bytes: b"revoked",
        kind: GrantKind::Revoke,
        now: t(4),
        ..grant
    };
    s.record_grant(&revoke).unwrap();
    let all = s.grants(id).unwrap();
    assert_eq!(
        all.iter().map(|g| g.kind).collect::<Vec<_>>(),
        [GrantKind::Grant, GrantKind::Revoke]
    );
    let trail = s.audit_trail(0, 10).unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0].action, "envelope.grant");
    assert_eq!(trail[1].action, "envelope.revoke");
    // No envelope, no grant, nothing written.
    let unknown = NewGrant {
        message_id: MessageId(Hash32([5; 32])),
        ..grant
    };
    assert!(matches!(
        s.record_grant(&unknown),
        Err(Error::UnknownEnvelope { .. })
    ));
    assert_eq!(s.audit_trail(0, 10).unwrap().len(), 2);
}
