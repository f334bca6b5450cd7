//! Grants: re-wrapping the content key for a new reader without touching the payload.

use causeway_privacy::Error;
use causeway_privacy::envelope::{self, Access, EnvelopeHeader};
use causeway_privacy::grant::{self, Grant};

use crate::support::{expected, key, payload, publics, seal, self_expected};

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
            grantor: a.key_id(),
            grantee: c.key_id(),
            tag: record.tag,
        }
    );
    // The payload chunks are byte-identical; the header grew by one grant block.
    let (h0, body0) = split(&bytes);
    let (h1, body1) = split(&granted);
    assert_eq!(body0, body1);
    assert_eq!(h1.encoded_len(), h0.encoded_len() + 144);
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
    assert_ne!(r1.tag, r2.tag);
    for k in [&a, &c, &d] {
        let o = envelope::open_to_vec(k, &g2, &self_expected(&g2)).unwrap();
        assert_eq!(&o.plaintext[..], b"chained");
    }
    // Swapping the two grant blocks: D's grantor C is then unknown at position 0.
    let (h, _) = split(&g2);
    let start = h.encoded_len() - 2 * 144;
    let mut swapped = g2.clone();
    swapped[start..start + 144].copy_from_slice(&g2[start + 144..start + 288]);
    swapped[start + 144..start + 288].copy_from_slice(&g2[start..start + 144]);
    assert!(matches!(
        envelope::open_to_vec(&a, &swapped, &self_expected(&swapped)),
        Err(Error::UnknownGrantor { index: 0, .. })
    ));
    // Dropping the newest grant (and lowering the count) gives back the previous envelope
    // exactly: the list is append-only, and D loses access.
    let g1_header_len = h.encoded_len() - 144;
    let count_at = g1_header_len - 144 - 2;
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
    let start = h.encoded_len() - 144;
    for bit in 0..144 * 8 {
        let mut bad = granted.clone();
        bad[start + bit / 8] ^= 1 << (bit % 8);
        // The original recipient sees a tampered grant list (or an unknown grantor / a
        // duplicate reader, when the ids change).
        let e = envelope::open_to_vec(&a, &bad, &self_expected(&bad)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::GrantTagMismatch { index: 0 }
                    | Error::UnknownGrantor { .. }
                    | Error::DuplicateRecipient { .. }
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
/// grantor can read: its wrap and tag bind the first envelope's header.
#[test]
fn grant_blocks_do_not_transplant() {
    let (a, c) = (key(1), key(3));
    let (e1, _) = seal(&publics(&[key(1)]), b"first");
    let (e2, _) = seal(&publics(&[key(1)]), b"second");
    let (g1, _) = grant::grant_to_vec(&e1, &a, c.public_key()).unwrap();
    let (h1, _) = split(&g1);
    let block = &g1[h1.encoded_len() - 144..h1.encoded_len()];
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
        Err(Error::GrantTagMismatch { index: 0 })
    ));
}
