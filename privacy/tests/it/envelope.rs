//! Envelopes through the public API: round trips, every kind of tampering, context binding
//! (T45), plaintext commitment (T44 variant), bounded-memory streaming.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use causeway_privacy::envelope::{
    self, Access, CHUNK_SIZE, CHUNK_TAG_LEN, EnvelopeHeader, ExpectedMessage, MAX_READERS,
    MessageCommitment, SealRequest,
};
use causeway_privacy::keys::KeyPair;
use causeway_privacy::{Error, PublicKey};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::support::{context, expected, key, payload, publics, seal, self_expected};

const EDGE_SIZES: [usize; 7] = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    2 * CHUNK_SIZE,
    2 * CHUNK_SIZE + 3,
];

fn header_len(bytes: &[u8]) -> usize {
    EnvelopeHeader::read_from(bytes).unwrap().encoded_len()
}

#[test]
fn round_trip_edge_sizes_and_recipient_counts() {
    for n in [1usize, 2, 5] {
        let keys: Vec<KeyPair> = (1..=n as u8).map(key).collect();
        for size in EDGE_SIZES {
            let pt = payload(size);
            let (bytes, sealed) = seal(&publics(&keys), &pt);
            assert_eq!(sealed.envelope_len, bytes.len() as u64);
            assert_eq!(sealed.plaintext_len, size as u64);
            let chunks = size.div_ceil(CHUNK_SIZE).max(1);
            assert_eq!(bytes.len(), 146 + 96 * n + size + chunks * CHUNK_TAG_LEN);
            for (i, k) in keys.iter().enumerate() {
                let o = envelope::open_to_vec(k, &bytes, &expected(&sealed)).unwrap();
                let (out, opened) = (o.plaintext.to_vec(), o.opened);
                assert_eq!(out, pt, "size {size}, recipient {i}");
                assert_eq!(opened.access, Access::Recipient { index: i });
                assert_eq!(opened.context, context());
                assert_eq!(opened.envelope_id, sealed.envelope_id);
                assert_eq!(opened.plaintext_len, size as u64);
                assert_eq!(opened.commitment, sealed.commitment);
                // Anyone recomputes the commitment from the envelope bytes, without a key.
                assert_eq!(envelope::inspect(&bytes[..]).unwrap().1, sealed);
            }
        }
    }
}

#[test]
fn header_describes_the_envelope() {
    let keys = [key(1), key(2)];
    let (bytes, sealed) = seal(&publics(&keys), b"x");
    let header = EnvelopeHeader::read_from(&bytes[..]).unwrap();
    assert_eq!(header.id(), sealed.envelope_id);
    assert_eq!(header.context(), &context());
    assert_eq!(
        header.recipients(),
        vec![keys[0].key_id(), keys[1].key_id()]
    );
    assert!(header.grants().is_empty());
    assert_eq!(&header.to_bytes()[..], &bytes[..header.encoded_len()]);
    assert_eq!(&bytes[..6], b"CWEV\x02\x01");
}

#[test]
fn seal_request_is_checked() {
    let none: [PublicKey; 0] = [];
    let req = |r: &[PublicKey]| {
        envelope::seal_to_vec(
            &SealRequest {
                context: context(),
                recipients: r,
            },
            b"",
        )
    };
    assert!(matches!(req(&none), Err(Error::NoRecipients)));
    let k = *key(1).public_key();
    assert!(matches!(
        req(&[k, k]),
        Err(Error::DuplicateRecipient { .. })
    ));
    let many: Vec<PublicKey> = (0..=MAX_READERS as u32)
        .map(|i| {
            let mut s = [0u8; 32];
            s[..4].copy_from_slice(&i.to_le_bytes());
            *KeyPair::from_secret_bytes(s).public_key()
        })
        .collect();
    assert!(matches!(
        req(&many),
        Err(Error::TooManyRecipients {
            count: 1025,
            max: 1024
        })
    ));
}

/// The error of opening `bytes` against the context and commitment they claim themselves, so
/// the cryptographic checks behind the chain comparison are reached (a gateway opens against
/// the chain's values, which only adds a check).
fn open_err(k: &KeyPair, bytes: &[u8]) -> Error {
    let claimed = self_expected(bytes);
    let mut sink = Vec::new();
    let streamed = envelope::open(k, bytes, &claimed, &mut sink).unwrap_err();
    let in_memory = envelope::open_to_vec(k, bytes, &claimed).unwrap_err();
    assert_eq!(streamed.to_string(), in_memory.to_string());
    streamed
}

/// Every single-bit flip of a small two-recipient envelope fails for both recipients.
#[test]
fn every_bit_flip_fails() {
    let keys = [key(1), key(2)];
    let (bytes, _) = seal(&publics(&keys), b"a small private payload");
    for bit in 0..bytes.len() * 8 {
        let mut bad = bytes.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        for k in &keys {
            let e = open_err(k, &bad);
            assert!(!matches!(e, Error::Io { .. }), "bit {bit}: {e}");
        }
    }
}

/// Flips in each field give the error that names it.
#[test]
fn flips_name_the_damaged_field() {
    let (a, b) = (key(1), key(2));
    let (bytes, _) = seal(&publics(&[key(1), key(2)]), &payload(100));
    let flip = |at: usize| {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        bad
    };
    assert!(matches!(open_err(&a, &flip(0)), Error::BadMagic { .. }));
    assert!(matches!(
        open_err(&a, &flip(4)),
        Error::UnsupportedVersion {
            found: 3,
            supported: 2
        }
    ));
    assert!(matches!(
        open_err(&a, &flip(5)),
        Error::UnsupportedSuite {
            found: 0,
            supported: 1
        }
    ));
    // Envelope id and context (origin, destination, nonce, sender): every unwrap fails.
    for at in [6, 21, 22, 26, 30, 38, 69] {
        assert!(
            matches!(open_err(&a, &flip(at)), Error::UnwrapFailed { .. }),
            "byte {at}"
        );
        assert!(
            matches!(open_err(&b, &flip(at)), Error::UnwrapFailed { .. }),
            "byte {at}"
        );
    }
    // The disclosure root and leaf count (none here): a non-zero root without leaves, or
    // leaves without a root, is refused while parsing.
    for at in [70, 101, 102, 109] {
        assert!(
            matches!(open_err(&a, &flip(at)), Error::MalformedDisclosure { .. }),
            "byte {at}"
        );
    }
    // Recipient count 2 -> 3: the parser reads past the blocks into the commitment and chunks.
    let e = open_err(&a, &flip(111));
    assert!(
        matches!(
            e,
            Error::KeyCommitmentMismatch
                | Error::TooManyRecipients { .. }
                | Error::HeaderTruncated { .. }
                | Error::UnknownGrantor { .. }
                | Error::DuplicateRecipient { .. }
        ),
        "{e}"
    );
    // A's block: key id -> A is no longer named; enc or wrapped key -> A's unwrap fails.
    assert!(matches!(
        open_err(&a, &flip(112)),
        Error::NotARecipient { .. }
    ));
    assert!(matches!(
        open_err(&a, &flip(112 + 16)),
        Error::UnwrapFailed { .. }
    ));
    assert!(matches!(
        open_err(&a, &flip(112 + 48)),
        Error::UnwrapFailed { .. }
    ));
    // ... and B, who unwraps its own intact block, sees the header changed.
    for at in [112, 112 + 16, 112 + 48] {
        assert!(
            matches!(open_err(&b, &flip(at)), Error::KeyCommitmentMismatch),
            "byte {at}"
        );
    }
    // The key commitment.
    assert!(matches!(
        open_err(&a, &flip(112 + 192)),
        Error::KeyCommitmentMismatch
    ));
    // The grant count 0 -> 1 swallows payload bytes as a grant block naming an unknown grantor.
    assert!(matches!(
        open_err(&a, &flip(112 + 192 + 32 + 1)),
        Error::UnknownGrantor { .. } | Error::HeaderTruncated { .. }
    ));
    // The payload chunk.
    let chunk_at = header_len(&bytes);
    assert!(matches!(
        open_err(&a, &flip(chunk_at)),
        Error::ChunkAuthentication { index: 0 }
    ));
    assert!(matches!(
        open_err(&a, &flip(bytes.len() - 1)),
        Error::ChunkAuthentication { index: 0 }
    ));
}

#[test]
fn swapped_recipient_blocks_fail() {
    let (a, b) = (key(1), key(2));
    let (bytes, _) = seal(&publics(&[key(1), key(2)]), b"payload");
    let mut swapped = bytes.clone();
    let (first, second) = (112..208, 208..304);
    swapped[first.clone()].copy_from_slice(&bytes[second.clone()]);
    swapped[second].copy_from_slice(&bytes[first]);
    assert!(matches!(
        open_err(&a, &swapped),
        Error::KeyCommitmentMismatch
    ));
    assert!(matches!(
        open_err(&b, &swapped),
        Error::KeyCommitmentMismatch
    ));
}

#[test]
fn wrong_key_is_not_a_recipient() {
    let (bytes, _) = seal(&publics(&[key(1)]), b"payload");
    let stranger = key(9);
    assert!(matches!(
        open_err(&stranger, &bytes),
        Error::NotARecipient { key_id } if key_id == stranger.key_id()
    ));
}

/// Three chunks: [0, 1, 2(final, short)].
fn three_chunks() -> (KeyPair, Vec<u8>, usize, Vec<u8>) {
    let k = key(1);
    let pt = payload(2 * CHUNK_SIZE + 10);
    let (bytes, _) = seal(&publics(&[key(1)]), &pt);
    let h = header_len(&bytes);
    (k, bytes, h, pt)
}

const FULL: usize = CHUNK_SIZE + CHUNK_TAG_LEN;

#[test]
fn reordered_dropped_and_duplicated_chunks_fail() {
    let (k, bytes, h, _) = three_chunks();
    let chunk = |i: usize| &bytes[h + i * FULL..(h + (i + 1) * FULL).min(bytes.len())];
    let assemble = |order: &[usize]| {
        let mut out = bytes[..h].to_vec();
        for i in order {
            out.extend_from_slice(chunk(*i));
        }
        out
    };
    assert_eq!(assemble(&[0, 1, 2]), bytes);
    assert!(matches!(
        open_err(&k, &assemble(&[1, 0, 2])),
        Error::ChunkAuthentication { index: 0 }
    ));
    assert!(matches!(
        open_err(&k, &assemble(&[0, 2])),
        Error::ChunkAuthentication { index: 1 }
    ));
    assert!(matches!(
        open_err(&k, &assemble(&[0, 0, 1, 2])),
        Error::ChunkAuthentication { index: 1 }
    ));
    // Dropping the final chunk is a truncation at a chunk boundary.
    assert!(matches!(
        open_err(&k, &assemble(&[0, 1])),
        Error::StreamTruncated { chunks: 2 }
    ));
    assert!(matches!(
        open_err(&k, &assemble(&[])),
        Error::StreamTruncated { chunks: 0 }
    ));
    // Chunks of another envelope (same recipient, same context) do not fit this header.
    let (_, other, h2, _) = three_chunks();
    let mut mixed = bytes[..h].to_vec();
    mixed.extend_from_slice(&other[h2..]);
    assert!(matches!(
        open_err(&k, &mixed),
        Error::ChunkAuthentication { index: 0 }
    ));
}

#[test]
fn truncation_anywhere_fails() {
    let (k, bytes, h, _) = three_chunks();
    let cuts = [
        0,
        3,
        6,
        70,
        72,
        110,
        112,
        h - 1,
        h,
        h + 1,
        h + 15,
        h + 16,
        h + FULL - 1,
        h + FULL,
        h + 2 * FULL,
        bytes.len() - 1,
    ];
    for cut in cuts {
        let e = open_err(&k, &bytes[..cut]);
        match e {
            Error::HeaderTruncated { .. } => assert!(cut < h, "cut {cut}"),
            Error::StreamTruncated { .. } | Error::ChunkAuthentication { .. } => assert!(cut >= h),
            other => panic!("cut {cut}: unexpected {other}"),
        }
    }
}

#[test]
fn trailing_data_fails() {
    // Final chunk full: the extra byte makes it a non-final chunk, which it is not.
    let k = key(1);
    let (bytes, _) = seal(&publics(&[key(1)]), &payload(2 * CHUNK_SIZE));
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(matches!(
        open_err(&k, &extra),
        Error::TrailingData { index: 1 }
    ));
    // Final chunk short: the extra bytes become part of it.
    let (bytes, _) = seal(&publics(&[key(1)]), b"short");
    let mut extra = bytes.clone();
    extra.extend_from_slice(b"more");
    assert!(matches!(
        open_err(&k, &extra),
        Error::ChunkAuthentication { index: 0 }
    ));
    // A whole second envelope appended.
    let mut two = bytes.clone();
    two.extend_from_slice(&bytes);
    assert!(open_err(&k, &two).is_authentication_failure());
}

/// A writer that records what it received.
#[derive(Default)]
struct Recorder {
    bytes: Vec<u8>,
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The final chunk's plaintext is never written unless it authenticates as final; earlier
/// chunks may have been written, which is why `open` documents discarding output on `Err`.
#[test]
fn final_chunk_is_withheld_until_it_authenticates() {
    let (k, bytes, h, pt) = three_chunks();
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let mut rec = Recorder::default();
    assert!(matches!(
        envelope::open(&k, &bad[..], &self_expected(&bad), &mut rec),
        Err(Error::ChunkAuthentication { index: 2 })
    ));
    assert_eq!(
        rec.bytes,
        pt[..2 * CHUNK_SIZE],
        "only the two verified chunks"
    );
    // Truncated before the final chunk: chunk 1 was sealed as non-final, so it is released
    // only as an ordinary chunk and the error says the stream was cut.
    let mut rec = Recorder::default();
    assert!(matches!(
        envelope::open(&k, &bytes[..h + 2 * FULL], &self_expected(&bytes), &mut rec),
        Err(Error::StreamTruncated { chunks: 2 })
    ));
    assert!(envelope::open_to_vec(&k, &bytes[..h + 2 * FULL], &self_expected(&bytes)).is_err());
}

/// T45: context and addressing are bound.
#[test]
fn context_and_addressing_are_bound() {
    let (a, b) = (key(1), key(2));
    let (bytes_a, _) = seal(&publics(&[key(1)]), b"for a");
    // Re-address A's block to B by rewriting the key id.
    let mut readdressed = bytes_a.clone();
    readdressed[112..128].copy_from_slice(b.key_id().as_bytes());
    assert!(matches!(
        open_err(&b, &readdressed),
        Error::UnwrapFailed { .. }
    ));
    assert!(matches!(
        open_err(&a, &readdressed),
        Error::NotARecipient { .. }
    ));
    // Swap `enc` between two envelopes for the same recipient.
    let (bytes_a2, _) = seal(&publics(&[key(1)]), b"for a again");
    let mut swapped = bytes_a.clone();
    swapped[128..160].copy_from_slice(&bytes_a2[128..160]);
    assert!(matches!(open_err(&a, &swapped), Error::UnwrapFailed { .. }));
    // Replay under another message: a different nonce in the context.
    let mut replayed = bytes_a.clone();
    replayed[30..38].copy_from_slice(&43u64.to_be_bytes());
    assert!(matches!(
        open_err(&a, &replayed),
        Error::UnwrapFailed { .. }
    ));
    // Move A's whole recipient block into another envelope for A.
    let mut moved = bytes_a2.clone();
    moved[112..208].copy_from_slice(&bytes_a[112..208]);
    assert!(matches!(open_err(&a, &moved), Error::UnwrapFailed { .. }));
}

/// T44 variant: two envelopes with different plaintexts; the on-chain commitment of one
/// rejects the other, equal plaintexts get unrelated commitments, and the context is bound.
#[test]
fn message_commitment_binds_the_envelope() {
    let a = key(1);
    let (one, sealed_one) = seal(&publics(&[key(1)]), b"pay 10");
    let (two, sealed_two) = seal(&publics(&[key(1)]), b"pay 10000");
    assert!(matches!(
        envelope::open_to_vec(&a, &two, &expected(&sealed_one)),
        Err(Error::MessageCommitmentMismatch)
    ));
    let mut sink = Vec::new();
    assert!(matches!(
        envelope::open(&a, &two[..], &expected(&sealed_one), &mut sink),
        Err(Error::MessageCommitmentMismatch)
    ));
    envelope::open_to_vec(&a, &two, &expected(&sealed_two)).unwrap();
    envelope::open_to_vec(&a, &one, &expected(&sealed_one)).unwrap();
    let (_, again) = seal(&publics(&[key(1)]), b"pay 10");
    assert_ne!(
        again.commitment, sealed_one.commitment,
        "fresh keys, fresh ciphertext"
    );
    // The commitment also binds the context: the right commitment under another message fails.
    let mut other_ctx = context();
    other_ctx.nonce.0 += 1;
    assert_ne!(
        sealed_one.inputs.commitment(&other_ctx),
        sealed_one.commitment
    );
    let e = envelope::open_to_vec(
        &a,
        &one,
        &ExpectedMessage {
            context: other_ctx,
            commitment: sealed_one.commitment,
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::ContextMismatch { .. }), "{e}");
    // Text form round trip.
    let text = sealed_one.commitment.to_string();
    assert_eq!(
        text.parse::<MessageCommitment>().unwrap(),
        sealed_one.commitment
    );
}

#[test]
fn header_parser_is_bounded() {
    let (bytes, _) = seal(&publics(&[key(1)]), b"x");
    // Recipient count 0 and 1025, before any block is read.
    let mut zero = bytes.clone();
    zero[110..112].copy_from_slice(&0u16.to_be_bytes());
    assert!(matches!(
        EnvelopeHeader::read_from(&zero[..]),
        Err(Error::NoRecipients)
    ));
    let mut huge = bytes[..112].to_vec();
    huge[110..112].copy_from_slice(&1025u16.to_be_bytes());
    assert!(matches!(
        EnvelopeHeader::read_from(&huge[..]),
        Err(Error::TooManyRecipients { count: 1025, .. })
    ));
    // 65535 claimed recipients with no bytes behind them: refused by count, not by reading.
    huge[110..112].copy_from_slice(&u16::MAX.to_be_bytes());
    assert!(matches!(
        EnvelopeHeader::read_from(&huge[..]),
        Err(Error::TooManyRecipients { .. })
    ));
    // A grant count that overflows the total.
    let mut grants = bytes[..header_len(&bytes)].to_vec();
    let at = grants.len() - 2;
    grants[at..].copy_from_slice(&1024u16.to_be_bytes());
    assert!(matches!(
        EnvelopeHeader::read_from(&grants[..]),
        Err(Error::TooManyRecipients { count: 1025, .. })
    ));
    assert!(matches!(
        EnvelopeHeader::read_from(&b"CWE"[..]),
        Err(Error::HeaderTruncated { .. })
    ));
}

/// A reader that produces `len` pseudo-random bytes without holding them, hashing what it
/// produces, and marks when it is exhausted.
struct Source {
    left: usize,
    state: u64,
    hash: Sha256,
    done: Arc<AtomicBool>,
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left).min(7 * 1024); // odd-sized reads on purpose
        for b in &mut buf[..n] {
            self.state = self
                .state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (self.state >> 56) as u8;
        }
        self.hash.update(&buf[..n]);
        self.left -= n;
        if self.left == 0 {
            self.done.store(true, Ordering::SeqCst);
        }
        Ok(n)
    }
}

/// A writer that hashes, counts, remembers its largest write and whether output arrived
/// before the source was exhausted.
struct Sink {
    hash: Sha256,
    len: u64,
    max_write: Arc<AtomicUsize>,
    early: Arc<AtomicBool>,
    source_done: Arc<AtomicBool>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.source_done.load(Ordering::SeqCst) {
            self.early.store(true, Ordering::SeqCst);
        }
        self.max_write.fetch_max(buf.len(), Ordering::SeqCst);
        self.hash.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// 64 MiB sealed and opened through a pipe: neither side ever holds the payload. The opener's
/// output starts before the plaintext source is exhausted, and no write exceeds one chunk.
#[test]
fn streams_64_mib_in_bounded_memory() {
    const LEN: usize = 64 << 20;
    let k = key(1);
    let recipients = publics(&[key(1)]);
    // The chain's commitment is known before the fetch: seal once with a seeded generator to
    // learn it, then again with the same seed through the pipe (the same bytes).
    let seeded = || <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let first = envelope::seal_with_rng(
        &SealRequest {
            context: context(),
            recipients: &recipients,
        },
        &mut Source {
            left: LEN,
            state: 1,
            hash: Sha256::new(),
            done: Arc::new(AtomicBool::new(false)),
        },
        std::io::sink(),
        &mut seeded(),
    )
    .unwrap();
    let claimed = expected(&first);
    let source_done = Arc::new(AtomicBool::new(false));
    let (reader, writer) = std::io::pipe().unwrap();
    let done = source_done.clone();
    let sealer = std::thread::spawn(move || {
        let mut source = Source {
            left: LEN,
            state: 1,
            hash: Sha256::new(),
            done,
        };
        let request = SealRequest {
            context: context(),
            recipients: &recipients,
        };
        let sealed = envelope::seal_with_rng(&request, &mut source, writer, &mut seeded()).unwrap();
        (sealed, source.hash.finalize())
    });
    let max_write = Arc::new(AtomicUsize::new(0));
    let early = Arc::new(AtomicBool::new(false));
    let mut sink = Sink {
        hash: Sha256::new(),
        len: 0,
        max_write: max_write.clone(),
        early: early.clone(),
        source_done,
    };
    let opened = envelope::open(&k, reader, &claimed, &mut sink).unwrap();
    let (sealed, source_hash) = sealer.join().unwrap();
    assert_eq!(sink.len, LEN as u64);
    assert_eq!(sink.hash.finalize(), source_hash);
    assert_eq!(opened.plaintext_len, LEN as u64);
    assert_eq!(opened.commitment, sealed.commitment);
    assert!(
        early.load(Ordering::SeqCst),
        "plaintext flowed before the source was exhausted"
    );
    assert!(max_write.load(Ordering::SeqCst) <= CHUNK_SIZE);
}

fn arb_size() -> impl Strategy<Value = usize> {
    prop_oneof![prop::sample::select(EDGE_SIZES.to_vec()), 0..3 * CHUNK_SIZE,]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn prop_round_trip(size in arb_size(), recipients in 1usize..=4, seed in any::<u8>()) {
        let keys: Vec<KeyPair> = (0..recipients).map(|i| key(seed.wrapping_add(i as u8) | 1)).collect();
        let keys: Vec<KeyPair> = {
            // Distinct keys even if the seeds collide.
            let mut seen = std::collections::BTreeSet::new();
            keys.into_iter().filter(|k| seen.insert(k.key_id())).collect()
        };
        let pt = payload(size);
        let (bytes, sealed) = seal(&publics(&keys), &pt);
        for k in &keys {
            let o = envelope::open_to_vec(k, &bytes, &expected(&sealed)).unwrap();
            let (out, opened) = (o.plaintext.to_vec(), o.opened);
            prop_assert_eq!(&out, &pt);
            prop_assert_eq!(opened.commitment, sealed.commitment);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_single_bit_flip_fails(size in 0usize..CHUNK_SIZE + 64, bit in any::<prop::sample::Index>()) {
        let k = key(1);
        let pt = payload(size);
        let (mut bytes, sealed) = seal(&publics(&[key(1), key(2)]), &pt);
        let at = bit.index(bytes.len() * 8);
        bytes[at / 8] ^= 1 << (at % 8);
        // Against the chain's values, and against what the tampered bytes claim themselves.
        for claimed in [expected(&sealed), self_expected(&bytes)] {
            prop_assert!(envelope::open_to_vec(&k, &bytes, &claimed).is_err());
            let mut rec = Recorder::default();
            prop_assert!(envelope::open(&k, &bytes[..], &claimed, &mut rec).is_err());
            prop_assert!(rec.bytes.len() % CHUNK_SIZE == 0);
        }
        let mut rec = Recorder::default();
        prop_assert!(envelope::open(&k, &bytes[..], &expected(&sealed), &mut rec).is_err());
        // Whatever was released before the error is a prefix of verified chunks only.
        prop_assert!(rec.bytes.len() % CHUNK_SIZE == 0);
    }
}
