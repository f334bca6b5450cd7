//! Attacks on the envelope that need its internals: invisible salamanders (T44), nonce reuse
//! (T42), counter exhaustion. Behavioural tests through the public API live in `tests/it`.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use aes_gcm::aead::AeadInPlace as _;
use aes_gcm::aes::Aes256;
use aes_gcm::aes::cipher::{BlockEncrypt as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce};
use causeway_proofs::Domain;
use causeway_proofs::message::{Address32, Nonce as MessageNonce};

use super::secrets::{self, ContentKey, EnvelopeKeys};
use super::stream::{CHUNK_SIZE, ChunkCipher};
use super::*;

/// Multiplication in GF(2^128) with GCM's bit order (NIST SP 800-38D, Algorithm 1).
fn gf_mul(x: u128, y: u128) -> u128 {
    const R: u128 = 0xe1 << 120;
    let (mut z, mut v) = (0u128, y);
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ R } else { v >> 1 };
    }
    z
}

fn gf_pow(x: u128, mut e: u128) -> u128 {
    // The multiplicative identity is the block 0x80 00 .. 00 in GCM's bit order.
    let (mut acc, mut base) = (1u128 << 127, x);
    while e > 0 {
        if e & 1 == 1 {
            acc = gf_mul(acc, base);
        }
        base = gf_mul(base, base);
        e >>= 1;
    }
    acc
}

fn gf_inv(x: u128) -> u128 {
    gf_pow(x, u128::MAX - 1) // x^(2^128 - 2)
}

fn gf_sqrt(x: u128) -> u128 {
    let mut r = x;
    for _ in 0..127 {
        r = gf_mul(r, r); // x^(2^127): squaring is a bijection in characteristic 2
    }
    r
}

fn aes_block(key: &[u8; 32], block: [u8; 16]) -> u128 {
    let aes = Aes256::new(key.into());
    let mut b = block.into();
    aes.encrypt_block(&mut b);
    u128::from_be_bytes(b.into())
}

fn be(b: &[u8]) -> u128 {
    u128::from_be_bytes(b.try_into().unwrap())
}

fn context() -> EnvelopeContext {
    EnvelopeContext {
        origin: Domain(1),
        destination: Domain(2),
        nonce: MessageNonce(7),
        sender: Address32([0x11; 32]),
    }
}

#[test]
fn gf128_arithmetic_is_a_field() {
    let one = 1u128 << 127;
    let a = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
    assert_eq!(gf_mul(a, one), a);
    assert_eq!(gf_mul(a, gf_inv(a)), one);
    assert_eq!(gf_sqrt(gf_mul(a, a)), a);
}

/// T42 (d): what a repeated (key, nonce) would give away. With raw AES-GCM (the envelope API
/// takes no nonce, so no such hook exists in the library), two messages under one nonce leak
/// P1 ⊕ P2 and the GHASH key H, which allows universal forgery.
#[test]
fn nonce_reuse_leaks_xor_and_ghash_key() {
    let key = [0x42u8; 32];
    let nonce = [9u8; 12];
    let aes = Aes256Gcm::new(&key.into());
    let (p1, p2) = (*b"attack at dawn!!", *b"retreat at dusk!");
    let (mut c1, mut c2) = (p1, p2);
    let t1 = aes
        .encrypt_in_place_detached(&Nonce::from(nonce), b"", &mut c1)
        .unwrap();
    let t2 = aes
        .encrypt_in_place_detached(&Nonce::from(nonce), b"", &mut c2)
        .unwrap();
    let xor = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| x ^ y).collect::<Vec<_>>();
    assert_eq!(xor(&c1, &c2), xor(&p1, &p2));
    // T1 ⊕ T2 = (C1 ⊕ C2) · H^2, as the length block and E(J0) cancel.
    let h_squared = gf_mul(be(&t1) ^ be(&t2), gf_inv(be(&c1) ^ be(&c2)));
    let h = gf_sqrt(h_squared);
    assert_eq!(h, aes_block(&key, [0u8; 16]), "H = AES_K(0^128) recovered");
}

/// T44: the sender builds one chunk that authenticates under two payload keys (invisible
/// salamanders: Dodis, Grubbs, Ristenpart, Woodage, CRYPTO 2018) and wraps a different content
/// key for each recipient. AES-GCM accepts both; the key commitment rejects recipient B.
#[test]
fn invisible_salamander_is_rejected_by_the_key_commitment() {
    let (a, b) = (
        KeyPair::from_secret_bytes([1; 32]),
        KeyPair::from_secret_bytes([2; 32]),
    );
    let (ka, kb) = ([0xaa; 32], [0xbb; 32]);
    let mut rng = rand_core::OsRng;
    let mut header = EnvelopeHeader {
        id: EnvelopeId([3; 16]),
        context: context(),
        disclosure_root: causeway_proofs::Hash32([0; 32]),
        disclosure_leaves: 0,
        recipients: vec![],
        key_commitment: [0; 32],
        history: vec![],
    };
    let pre = header.preamble_digest();
    header.recipients = vec![
        secrets::wrap(&ContentKey::from_bytes(ka), a.public_key(), &pre, &mut rng).unwrap(),
        secrets::wrap(&ContentKey::from_bytes(kb), b.public_key(), &pre, &mut rng).unwrap(),
    ];
    let digest = header.core_digest();
    let keys_a = EnvelopeKeys::derive(&ContentKey::from_bytes(ka), &digest);
    let keys_b = EnvelopeKeys::derive(&ContentKey::from_bytes(kb), &digest);
    header.key_commitment = keys_a.key_commitment;

    // One final chunk of m = 4 blocks. Tag under key X with nonce N_X:
    // T_X = C1·H^5 ⊕ C2·H^4 ⊕ C3·H^3 ⊕ C4·H^2 ⊕ L·H ⊕ E_X(J0_X). Pick C1..C3, solve for C4.
    let (ca, cb) = (
        ChunkCipher::new(&keys_a).unwrap(),
        ChunkCipher::new(&keys_b).unwrap(),
    );
    let blocks = [0x1111u128, 0x2222, 0x3333];
    let len_block: u128 = 512; // len(aad) = 0 bits ‖ len(ciphertext) = 512 bits
    let partial = |keys: &EnvelopeKeys, cipher: &ChunkCipher| {
        let h = aes_block(&keys.payload_key, [0; 16]);
        let mut j0 = [0u8; 16];
        j0[..12].copy_from_slice(&cipher.nonce(0, true).unwrap());
        j0[15] = 1;
        let mut acc = aes_block(&keys.payload_key, j0) ^ gf_mul(len_block, h);
        for (i, c) in blocks.iter().enumerate() {
            acc ^= gf_mul(*c, gf_pow(h, 5 - i as u128));
        }
        (acc, gf_mul(h, h))
    };
    let (ra, ha2) = partial(&keys_a, &ca);
    let (rb, hb2) = partial(&keys_b, &cb);
    let c4 = gf_mul(ra ^ rb, gf_inv(ha2 ^ hb2));
    let tag = ra ^ gf_mul(c4, ha2);
    let mut chunk = Vec::new();
    for c in blocks.iter().chain([&c4]) {
        chunk.extend_from_slice(&c.to_be_bytes());
    }
    chunk.extend_from_slice(&tag.to_be_bytes());

    // GCM alone is fooled: the chunk authenticates under both keys, to different plaintexts.
    let decrypt = |cipher: &ChunkCipher| {
        let mut ct = chunk[..64].to_vec();
        let tag: [u8; 16] = chunk[64..].try_into().unwrap();
        let ok = cipher.decrypt(0, true, &mut ct, &tag).unwrap();
        (ok, ct)
    };
    let (ok_a, pt_a) = decrypt(&ca);
    let (ok_b, pt_b) = decrypt(&cb);
    assert!(ok_a && ok_b, "one ciphertext, two valid keys");
    assert_ne!(pt_a, pt_b);

    // The envelope is not: A opens, B is refused before any plaintext is produced.
    let mut envelope = header.to_bytes();
    envelope.extend_from_slice(&chunk);
    let on_chain = claimed(&envelope);
    let opened = open_to_vec(&a, &envelope, &on_chain).unwrap();
    assert_eq!(&opened.plaintext[..], &pt_a[..]);
    let mut out = Vec::new();
    assert!(matches!(
        open(&b, &envelope[..], &on_chain, &mut out),
        Err(Error::KeyCommitmentMismatch)
    ));
    assert!(out.is_empty(), "nothing released to B");

    // Nor can the sender hand B another header with B's key commitment over the same chunks:
    // the key commitment is inside the on-chain commitment.
    header.key_commitment = keys_b.key_commitment;
    let mut for_b = header.to_bytes();
    for_b.extend_from_slice(&chunk);
    assert!(
        open_to_vec(&b, &for_b, &claimed(&for_b)).is_ok(),
        "B alone is fooled by GCM"
    );
    let mut out = Vec::new();
    assert!(matches!(
        open(&b, &for_b[..], &on_chain, &mut out),
        Err(Error::MessageCommitmentMismatch)
    ));
    assert!(matches!(
        open_to_vec(&b, &for_b, &on_chain),
        Err(Error::MessageCommitmentMismatch)
    ));
}

/// The context and commitment envelope bytes claim for themselves (computed without a key).
fn claimed(bytes: &[u8]) -> ExpectedMessage {
    let (header, sealed) = inspect(bytes).unwrap();
    ExpectedMessage {
        context: header.context,
        commitment: sealed.commitment,
    }
}

/// T42 (a, b): every seal draws a fresh content key and ephemeral keys, so (payload key,
/// nonce) pairs never repeat, within an envelope or across envelopes.
#[test]
fn key_nonce_pairs_never_repeat() {
    let r = KeyPair::from_secret_bytes([5; 32]);
    let recipients = [*r.public_key()];
    let request = SealRequest {
        context: context(),
        recipients: &recipients,
    };
    let payload = vec![0u8; CHUNK_SIZE + 5]; // two chunks
    let (mut pairs, mut encs, mut ciphertexts) = (HashSet::new(), HashSet::new(), HashSet::new());
    let seals = 200;
    for _ in 0..seals {
        let (bytes, _) = seal_to_vec(&request, &payload).unwrap();
        let header = EnvelopeHeader::read_from(&bytes[..]).unwrap();
        let (_, keys, _) = header.unlock(&r).unwrap();
        let cipher = ChunkCipher::new(&keys).unwrap();
        for (i, last) in [(0, false), (1, true)] {
            assert!(pairs.insert((*keys.payload_key, cipher.nonce(i, last).unwrap())));
        }
        assert!(encs.insert(header.recipients[0].enc));
        assert!(ciphertexts.insert(bytes[header.encoded_len()..][..64].to_vec()));
    }
    assert_eq!(pairs.len(), 2 * seals);
}

/// T42 (c): the chunk counter is 32 bits and never wraps.
#[test]
fn chunk_counter_never_wraps() {
    let keys = EnvelopeKeys::derive(&ContentKey::from_bytes([1; 32]), &[2; 32]);
    let cipher = ChunkCipher::new(&keys).unwrap();
    let last_ok = cipher.nonce(u64::from(u32::MAX), true).unwrap();
    assert_eq!(&last_ok[7..11], &u32::MAX.to_be_bytes());
    assert!(matches!(
        cipher.nonce(u64::from(u32::MAX) + 1, false),
        Err(Error::NonceExhausted { .. })
    ));
}

/// The nonce layout is prefix ‖ counter ‖ last flag, and the flag changes the nonce.
#[test]
fn stream_nonce_layout() {
    let keys = EnvelopeKeys::derive(&ContentKey::from_bytes([1; 32]), &[2; 32]);
    let cipher = ChunkCipher::new(&keys).unwrap();
    let n = cipher.nonce(0x0102_0304, true).unwrap();
    assert_eq!(&n[..7], &keys.nonce_prefix);
    assert_eq!(&n[7..11], &[1, 2, 3, 4]);
    assert_eq!(n[11], 1);
    assert_eq!(cipher.nonce(0x0102_0304, false).unwrap()[11], 0);
}

/// An envelope for `reader` built by hand from chunks `(plaintext, last flag)`, as a malicious
/// sender could.
fn forge(reader: &KeyPair, chunks: &[(&[u8], bool)]) -> Vec<u8> {
    let ck = [0x77; 32];
    let mut header = EnvelopeHeader {
        id: EnvelopeId([4; 16]),
        context: context(),
        disclosure_root: causeway_proofs::Hash32([0; 32]),
        disclosure_leaves: 0,
        recipients: vec![],
        key_commitment: [0; 32],
        history: vec![],
    };
    let pre = header.preamble_digest();
    let block = secrets::wrap(
        &ContentKey::from_bytes(ck),
        reader.public_key(),
        &pre,
        &mut rand_core::OsRng,
    );
    header.recipients = vec![block.unwrap()];
    let keys = EnvelopeKeys::derive(&ContentKey::from_bytes(ck), &header.core_digest());
    header.key_commitment = keys.key_commitment;
    let cipher = ChunkCipher::new(&keys).unwrap();
    let aes = Aes256Gcm::new(keys.payload_key.as_ref().into());
    let mut out = header.to_bytes();
    for (i, (pt, last)) in chunks.iter().enumerate() {
        let nonce = cipher.nonce(i as u64, *last).unwrap();
        let mut buf = pt.to_vec();
        let tag = aes
            .encrypt_in_place_detached(&Nonce::from(nonce), b"", &mut buf)
            .unwrap();
        out.extend_from_slice(&buf);
        out.extend_from_slice(&tag);
    }
    out
}

/// A sealer never ends a non-empty payload with an empty chunk; the opener refuses one, so
/// each payload has exactly one chunking.
#[test]
fn empty_final_chunk_after_data_is_refused() {
    let r = KeyPair::from_secret_bytes([6; 32]);
    let full = vec![0x61u8; CHUNK_SIZE];
    let canonical = forge(&r, &[(&full, true)]);
    let open_claimed = |bytes: &[u8]| open_to_vec(&r, bytes, &claimed(bytes));
    assert_eq!(&open_claimed(&canonical).unwrap().plaintext[..], &full[..]);
    let padded = forge(&r, &[(&full, false), (b"", true)]);
    assert!(matches!(
        open_claimed(&padded),
        Err(Error::EmptyFinalChunk { index: 1 })
    ));
    // A short chunk that is not final is refused as well (it is read as the final one).
    let short_first = forge(&r, &[(b"abc", false), (b"def", true)]);
    assert!(open_claimed(&short_first).is_err());
    // The empty payload is one empty final chunk.
    let empty = forge(&r, &[(b"", true)]);
    assert_eq!(&open_claimed(&empty).unwrap().plaintext[..], b"");
}

/// A dishonest sender states a disclosure tree in the header that is not the plaintext's
/// (e.g. it discloses amount 10 while the payload says 10000). The envelope is otherwise
/// valid and matches its commitment; every recipient's in-memory open rebuilds the tree from
/// the plaintext and refuses it.
#[test]
fn a_header_tree_that_is_not_the_plaintexts_is_refused() {
    let r = KeyPair::from_secret_bytes([6; 32]);
    let request = SealRequest {
        context: context(),
        recipients: &[*r.public_key()],
    };
    let mut rng = rand_core::OsRng;
    let content_key = ContentKey::generate(&mut rng);
    let id = new_id(&mut rng);
    // The tree of the payload the sender discloses from ...
    let shown = serde_json::json!({"amount": 10, "to": "Org A"});
    let salts_key = secrets::disclosure_salts_key(&content_key, &id, &request.context);
    let names: Vec<String> = vec!["amount".into(), "to".into()];
    let opening = CommitmentOpening::derive(&salts_key, names.iter(), 0);
    let tree = CommittedPayload::from_opening(&shown, &opening).unwrap();
    // ... over a payload that says something else.
    let mut bytes = Vec::new();
    seal_inner(
        &request,
        &content_key,
        id,
        Some((tree.root().0, tree.leaf_count())),
        &br#"{"amount": 10000, "to": "Org A"}"#[..],
        &mut bytes,
        &mut rng,
    )
    .unwrap();
    assert!(matches!(
        open_to_vec(&r, &bytes, &claimed(&bytes)),
        Err(Error::DisclosureRootMismatch)
    ));
    // The honest version opens.
    let mut honest = Vec::new();
    seal_inner(
        &request,
        &content_key,
        id,
        Some((tree.root().0, tree.leaf_count())),
        &br#"{"amount": 10, "to": "Org A"}"#[..],
        &mut honest,
        &mut rng,
    )
    .unwrap();
    let opened = open_to_vec(&r, &honest, &claimed(&honest)).unwrap();
    assert_eq!(opened.disclosure.unwrap().root(), tree.root());
}

/// Differential: AWS-LC's AES-256-GCM (the payload cipher) and RustCrypto's `aes-gcm` (the
/// oracle) give the same ciphertext and tag for the same key, nonce and data, at random sizes
/// and every chunk boundary, and each opens the other's output.
#[test]
fn aws_lc_aes_gcm_matches_the_rustcrypto_oracle() {
    use rand_core::RngCore as _;
    let mut rng = rand_core::OsRng;
    let mut sizes = vec![
        0,
        1,
        15,
        16,
        17,
        255,
        256,
        4095,
        4096,
        4097,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
    ];
    sizes.extend((0..48).map(|_| (rng.next_u32() as usize) % (CHUNK_SIZE + 1)));
    for (i, size) in sizes.into_iter().enumerate() {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        let mut prefix = [0u8; 7];
        rng.fill_bytes(&mut prefix);
        let cipher = ChunkCipher::from_parts(&key, prefix).unwrap();
        let last = i % 2 == 0;
        let index = u64::from(rng.next_u32());
        let nonce = cipher.nonce(index, last).unwrap();
        let mut data = vec![0u8; size];
        rng.fill_bytes(&mut data);

        let mut ours = data.clone();
        let our_tag = cipher.encrypt(index, last, &mut ours).unwrap();
        let oracle = Aes256Gcm::new(&key.into());
        let mut theirs = data.clone();
        let their_tag = oracle
            .encrypt_in_place_detached(&Nonce::from(nonce), b"", &mut theirs)
            .unwrap();
        assert_eq!(ours, theirs, "ciphertext, size {size}");
        assert_eq!(&our_tag[..], &their_tag[..], "tag, size {size}");

        let mut back = vec![0u8; size];
        assert!(
            cipher
                .decrypt_into(index, last, &theirs, &their_tag.into(), &mut back)
                .unwrap()
        );
        assert_eq!(back, data);
        let mut flipped_tag: [u8; 16] = their_tag.into();
        flipped_tag[size % 16] ^= 1;
        assert!(
            !cipher
                .decrypt_into(index, last, &theirs, &flipped_tag, &mut back)
                .unwrap()
        );
        assert!(
            !cipher
                .decrypt_into(index, !last, &theirs, &their_tag.into(), &mut back)
                .unwrap()
        );
        let mut again = ours.clone();
        oracle
            .decrypt_in_place_detached(&Nonce::from(nonce), b"", &mut again, &our_tag.into())
            .unwrap();
        assert_eq!(again, data);
    }
}
