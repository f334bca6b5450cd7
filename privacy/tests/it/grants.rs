//! Grants: re-wrapping the content key for a new reader without touching the payload.

use causeway_privacy::Error;
use causeway_privacy::envelope::{self, Access, EnvelopeHeader};
use causeway_privacy::grant::{self, EntryKind, Grant};

use crate::support::{expected, key, payload, publics, seal, self_expected};

/// Bytes of one grant-history entry.
const ENTRY: usize = 193;

fn split(bytes: &[u8]) -> (EnvelopeHeader, &[u8]) {
    let header = EnvelopeHeader::read_from(bytes).unwrap();
    let len = header.encoded_len();
    (header, &bytes[len..])
}

#[test]
fn grant_adds_a_reader_and_leaves_the_payload_untouched() {
    let (a, b, c) = (key(1), key(2), key(3));
    let pt = payload(70_000);
    let (bytes, sealed) = seal(&publics(&[key(1), key(2)]), &pt);
    assert!(matches!(
        envelope::open_to_vec(&c, &bytes, &self_expected(&bytes)),
        Err(Error::NotARecipient { .. })
    ));

    let (granted, record) = grant::grant_to_vec(&bytes, &a, c.public_key()).unwrap();
    assert_eq!(
        record,
        Grant {
            envelope_id: sealed.envelope_id,
            index: 0,
            kind: EntryKind::Grant,
            grantor: a.key_id(),
            grantee: c.key_id(),
            chain: record.chain,
        }
    );
    // The payload chunks are byte-identical; the header grew by one grant block.
    let (h0, body0) = split(&bytes);
    let (h1, body1) = split(&granted);
    assert_eq!(body0, body1);
    assert_eq!(h1.encoded_len(), h0.encoded_len() + ENTRY);
    assert_eq!(h1.grants(), vec![record.clone()]);
    assert_eq!(h1.readers(), vec![a.key_id(), b.key_id(), c.key_id()]);
    assert_eq!(
        &granted[..h0.encoded_len() - 2],
        &bytes[..h0.encoded_len() - 2]
    );

    // Everyone reads the same plaintext, and the same commitment.
    for (k, access) in [
        (&a, Access::Recipient { index: 0 }),
        (&b, Access::Recipient { index: 1 }),
        (&c, Access::Grantee { index: 0 }),
    ] {
        let o = envelope::open_to_vec(k, &granted, &expected(&sealed)).unwrap();
        assert_eq!(&o.plaintext[..], &pt[..]);
        assert_eq!(o.opened.access, access);
        assert_eq!(o.opened.commitment, sealed.commitment);
    }

    // The grant record serialises for storage.
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(serde_json::from_str::<Grant>(&json).unwrap(), record);
}

#[test]
fn grantees_can_grant_onward_and_the_chain_is_checked() {
    let (a, c, d) = (key(1), key(3), key(4));
    let (bytes, _) = seal(&publics(&[key(1)]), b"chained");
    let (g1, r1) = grant::grant_to_vec(&bytes, &a, c.public_key()).unwrap();
    let (g2, r2) = grant::grant_to_vec(&g1, &c, d.public_key()).unwrap();
    assert_eq!(
        (r2.index, r2.grantor, r2.grantee),
        (1, c.key_id(), d.key_id())
    );
    assert_ne!(r1.chain, r2.chain);
    for k in [&a, &c, &d] {
        let o = envelope::open_to_vec(k, &g2, &self_expected(&g2)).unwrap();
        assert_eq!(&o.plaintext[..], b"chained");
    }
    // Swapping the two entries: D's grantor C is then unknown at position 0.
    let (h, _) = split(&g2);
    let start = h.encoded_len() - 2 * ENTRY;
    let mut swapped = g2.clone();
    swapped[start..start + ENTRY].copy_from_slice(&g2[start + ENTRY..start + 2 * ENTRY]);
    swapped[start + ENTRY..start + 2 * ENTRY].copy_from_slice(&g2[start..start + ENTRY]);
    assert!(matches!(
        envelope::open_to_vec(&a, &swapped, &self_expected(&swapped)),
        Err(Error::UnknownGrantor { index: 0, .. })
    ));
    // Dropping the newest grant (and lowering the count) gives back the previous envelope
    // exactly: the list is append-only, and D loses access.
    let g1_header_len = h.encoded_len() - ENTRY;
    let count_at = g1_header_len - ENTRY - 2;
    let mut dropped = g2[..g1_header_len].to_vec();
    dropped[count_at..count_at + 2].copy_from_slice(&1u16.to_be_bytes());
    dropped.extend_from_slice(&g2[h.encoded_len()..]);
    assert_eq!(dropped, g1);
    assert!(matches!(
        envelope::open_to_vec(&d, &dropped, &self_expected(&dropped)),
        Err(Error::NotARecipient { .. })
    ));
}

#[test]
fn every_bit_of_a_grant_block_is_authenticated() {
    let (a, c) = (key(1), key(3));
    let (bytes, _) = seal(&publics(&[key(1)]), b"granted payload");
    let (granted, _) = grant::grant_to_vec(&bytes, &a, c.public_key()).unwrap();
    let (h, _) = split(&granted);
    let start = h.encoded_len() - ENTRY;
    for bit in 0..ENTRY * 8 {
        let mut bad = granted.clone();
        bad[start + bit / 8] ^= 1 << (bit % 8);
        // The original recipient sees a tampered history (or an unknown grantor, a duplicate
        // reader, a malformed entry, when the kind, keys or ids change).
        let e = envelope::open_to_vec(&a, &bad, &self_expected(&bad)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::GrantSignature { index: 0, .. }
                    | Error::UnknownGrantor { .. }
                    | Error::DuplicateRecipient { .. }
                    | Error::MalformedHistory { index: 0, .. }
                    | Error::InvalidRevocation { index: 0, .. }
            ),
            "bit {bit}: {e}"
        );
        assert!(
            envelope::open_to_vec(&c, &bad, &self_expected(&bad)).is_err(),
            "bit {bit}"
        );
    }
}

#[test]
fn grants_are_refused_when_they_should_be() {
    let (a, b, stranger) = (key(1), key(2), key(9));
    let (bytes, _) = seal(&publics(&[key(1), key(2)]), b"x");
    assert!(matches!(
        grant::grant_to_vec(&bytes, &stranger, key(5).public_key()),
        Err(Error::NotARecipient { .. })
    ));
    assert!(matches!(
        grant::grant_to_vec(&bytes, &a, b.public_key()),
        Err(Error::AlreadyRecipient { key_id }) if key_id == b.key_id()
    ));
    assert!(matches!(
        grant::grant_to_vec(&bytes, &a, a.public_key()),
        Err(Error::AlreadyRecipient { .. })
    ));
    // A grantor cannot grant on a header whose commitment was tampered with.
    let mut bad = bytes.clone();
    bad[112 + 2 * 96] ^= 1;
    assert!(matches!(
        grant::grant_to_vec(&bad, &a, key(5).public_key()),
        Err(Error::KeyCommitmentMismatch)
    ));
}

#[test]
fn header_level_grant_matches_streaming_grant() {
    let (a, c) = (key(1), key(3));
    let (bytes, _) = seal(&publics(&[key(1)]), &payload(10));
    let (header, body) = split(&bytes);
    let (next, record) = grant::grant(&header, &a, c.public_key()).unwrap();
    let mut assembled = next.to_bytes();
    assembled.extend_from_slice(body);
    assert_eq!(next.grants(), vec![record]);
    let o = envelope::open_to_vec(&c, &assembled, &self_expected(&assembled)).unwrap();
    assert_eq!(&o.plaintext[..], &payload(10)[..]);
    // Opening via a stored header and a separate body.
    let mut out = Vec::new();
    next.open_body(&c, &self_expected(&bytes), body, &mut out)
        .unwrap();
    assert_eq!(out, payload(10));
}

/// A grant made for one envelope cannot be transplanted into another envelope that C's
/// grantor can read: its wrap and signature bind the first envelope's header.
#[test]
fn grant_blocks_do_not_transplant() {
    let (a, c) = (key(1), key(3));
    let (e1, _) = seal(&publics(&[key(1)]), b"first");
    let (e2, _) = seal(&publics(&[key(1)]), b"second");
    let (g1, _) = grant::grant_to_vec(&e1, &a, c.public_key()).unwrap();
    let (h1, _) = split(&g1);
    let block = &g1[h1.encoded_len() - ENTRY..h1.encoded_len()];
    let (h2, body2) = split(&e2);
    let mut forged = e2[..h2.encoded_len() - 2].to_vec();
    forged.extend_from_slice(&1u16.to_be_bytes());
    forged.extend_from_slice(block);
    forged.extend_from_slice(body2);
    assert!(matches!(
        envelope::open_to_vec(&c, &forged, &self_expected(&forged)),
        Err(Error::UnwrapFailed { .. })
    ));
    assert!(matches!(
        envelope::open_to_vec(&a, &forged, &self_expected(&forged)),
        Err(Error::GrantSignature { index: 0, .. })
    ));
}

/// Finding: the grantor was a label any reader could forge. Reader B writes a grant to D and
/// names A as its grantor (A's public key in the entry): the signature is B's, so every open
/// and the keyless history check refuse it.
#[test]
fn a_forged_grantor_is_refused() {
    let (a, b, d) = (key(1), key(2), key(4));
    let (bytes, sealed) = seal(&publics(&[key(1), key(2)]), b"forge me");
    let (by_b, _) = grant::grant_to_vec(&bytes, &b, d.public_key()).unwrap();
    let (h, body) = split(&by_b);
    let actor_at = h.encoded_len() - ENTRY + 1;
    let mut forged = by_b[..h.encoded_len()].to_vec();
    forged[actor_at..actor_at + 32].copy_from_slice(a.public_key().as_bytes());
    forged.extend_from_slice(body);
    let header = EnvelopeHeader::read_from(&forged[..]).unwrap();
    assert_eq!(header.grants()[0].grantor, a.key_id(), "the label says A");
    assert!(matches!(
        header.verify_history(),
        Err(Error::GrantSignature { index: 0, grantor }) if grantor == a.key_id()
    ));
    for k in [&a, &b, &d] {
        let e = envelope::open_to_vec(k, &forged, &expected(&sealed)).unwrap_err();
        assert!(e.is_authentication_failure(), "{e}");
    }
    // The honest grant by B verifies and names B.
    let honest = EnvelopeHeader::read_from(&by_b[..]).unwrap();
    assert_eq!(honest.verify_history().unwrap()[0].grantor, b.key_id());
    envelope::open_to_vec(&d, &by_b, &expected(&sealed)).unwrap();
}

/// Finding: readers could rewrite the grant history. Reader B replaces A's grant to C by its
/// own (a valid entry by itself) and keeps C's later grant to D: C's signature covered the
/// original history, so the rewrite is refused by everyone, keyless checkers included.
#[test]
fn a_rewritten_history_is_refused() {
    let (a, b, c, d) = (key(1), key(2), key(3), key(4));
    let (bytes, sealed) = seal(&publics(&[key(1), key(2)]), b"history");
    let (g1, _) = grant::grant_to_vec(&bytes, &a, c.public_key()).unwrap();
    let (g2, _) = grant::grant_to_vec(&g1, &c, d.public_key()).unwrap();
    let (b1, _) = grant::grant_to_vec(&bytes, &b, c.public_key()).unwrap();
    let (h2, body) = split(&g2);
    let second = &g2[h2.encoded_len() - ENTRY..h2.encoded_len()];
    let (hb, _) = split(&b1);
    let mut rewritten = b1[..hb.encoded_len()].to_vec();
    let count_at = hb.encoded_len() - ENTRY - 2;
    rewritten[count_at..count_at + 2].copy_from_slice(&2u16.to_be_bytes());
    rewritten.extend_from_slice(second);
    rewritten.extend_from_slice(body);
    let header = EnvelopeHeader::read_from(&rewritten[..]).unwrap();
    assert!(matches!(
        header.verify_history(),
        Err(Error::GrantSignature { index: 1, .. })
    ));
    for k in [&a, &b, &c, &d] {
        assert!(
            envelope::open_to_vec(k, &rewritten, &expected(&sealed)).is_err(),
            "{}",
            k.key_id()
        );
    }
    // Removing A's grant from the middle: C is no longer a reader when it grants to D.
    let mut removed = bytes[..split(&bytes).0.encoded_len()].to_vec();
    let at = removed.len() - 2;
    removed[at..].copy_from_slice(&1u16.to_be_bytes());
    removed.extend_from_slice(second);
    removed.extend_from_slice(body);
    assert!(matches!(
        EnvelopeHeader::read_from(&removed[..]),
        Err(Error::UnknownGrantor { index: 0, .. })
    ));
    // The honest history verifies for every reader and keyless.
    EnvelopeHeader::read_from(&g2[..])
        .unwrap()
        .verify_history()
        .unwrap();
    for k in [&a, &b, &c, &d] {
        envelope::open_to_vec(k, &g2, &expected(&sealed)).unwrap();
    }
}

/// A revoked grantee is refused; only the grantor may revoke; the revocation is signed like a
/// grant; other readers are unaffected.
#[test]
fn a_revoked_grant_is_refused() {
    let (a, b, c, d) = (key(1), key(2), key(3), key(4));
    let (bytes, sealed) = seal(&publics(&[key(1), key(2)]), b"revocable");
    let (g1, _) = grant::grant_to_vec(&bytes, &a, c.public_key()).unwrap();
    let (g2, _) = grant::grant_to_vec(&g1, &c, d.public_key()).unwrap();
    envelope::open_to_vec(&c, &g2, &expected(&sealed)).unwrap();
    // B did not grant C access: it cannot revoke it; nor can anyone revoke a recipient.
    assert!(matches!(
        grant::revoke_to_vec(&g2, &b, &c.key_id()),
        Err(Error::InvalidRevocation { .. })
    ));
    assert!(matches!(
        grant::revoke_to_vec(&g2, &a, &b.key_id()),
        Err(Error::InvalidRevocation { .. })
    ));
    let (revoked, record) = grant::revoke_to_vec(&g2, &a, &c.key_id()).unwrap();
    assert_eq!(
        (record.index, record.kind, record.grantor, record.grantee),
        (2, EntryKind::Revoke, a.key_id(), c.key_id())
    );
    assert!(matches!(
        envelope::open_to_vec(&c, &revoked, &expected(&sealed)),
        Err(Error::GrantRevoked { key_id }) if key_id == c.key_id()
    ));
    let header = EnvelopeHeader::read_from(&revoked[..]).unwrap();
    assert_eq!(header.verify_history().unwrap().len(), 3);
    assert_eq!(header.readers(), vec![a.key_id(), b.key_id(), d.key_id()]);
    for k in [&a, &b, &d] {
        envelope::open_to_vec(k, &revoked, &expected(&sealed)).unwrap();
    }
    // Revoked once is revoked: a second revocation, or a re-grant to C, is refused.
    assert!(matches!(
        grant::revoke_to_vec(&revoked, &a, &c.key_id()),
        Err(Error::InvalidRevocation { .. })
    ));
    assert!(matches!(
        grant::grant_to_vec(&revoked, &b, c.public_key()),
        Err(Error::AlreadyRecipient { .. })
    ));
    // A revocation in another member's name does not verify.
    let (h, body) = split(&revoked);
    let actor_at = h.encoded_len() - ENTRY + 1;
    let mut forged = revoked[..h.encoded_len()].to_vec();
    forged[actor_at..actor_at + 32].copy_from_slice(c.public_key().as_bytes());
    forged.extend_from_slice(body);
    assert!(EnvelopeHeader::read_from(&forged[..]).is_err());
    // C can only cut the revocation off the end, which gives back the earlier envelope
    // exactly; the gateway's stored records show the cut.
    let count_at = h.encoded_len() - 3 * ENTRY - 2;
    let mut cut = revoked[..h.encoded_len() - ENTRY].to_vec();
    cut[count_at..count_at + 2].copy_from_slice(&2u16.to_be_bytes());
    cut.extend_from_slice(body);
    assert_eq!(cut, g2);
}
