//! Envelope parsing and opening on untrusted bytes (`causeway-privacy`).
//!
//! Input byte 0 picks the mode:
//! - even: the rest is an envelope as read from a store or a peer. `EnvelopeHeader::read_from`,
//!   `inspect` and `open_to_vec` (against the commitment the bytes claim, and against the
//!   fixture's) never panic, and an accepted header re-encodes to exactly the bytes it was read
//!   from (the format has no slack).
//! - odd: the rest is a list of (u16 position, u8 xor mask) edits applied to a fixed valid
//!   envelope (deterministic keys and randomness). The untouched envelope opens to its
//!   plaintext against the on-chain context and commitment; any edit that changes a byte makes
//!   opening fail, for the recipient and for the grantee, with nothing returned.
#![no_main]

use std::sync::OnceLock;

use causeway_privacy::envelope::{
    self, EnvelopeContext, EnvelopeHeader, ExpectedMessage, SealRequest,
};
use causeway_privacy::grant;
use causeway_privacy::keys::KeyPair;
use causeway_proofs::Domain;
use causeway_proofs::message::{Address32, Nonce};
use libfuzzer_sys::fuzz_target;
use rand_core::{CryptoRng, RngCore};

/// A deterministic byte stream (SplitMix64), so that a crash reproduces from its input alone.
struct Deterministic(u64);

impl RngCore for Deterministic {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Deterministic {}

struct Fixture {
    recipient: KeyPair,
    grantee: KeyPair,
    plaintext: Vec<u8>,
    envelope: Vec<u8>,
    on_chain: ExpectedMessage,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let recipient = KeyPair::from_secret_bytes([1; 32]);
        let other = KeyPair::from_secret_bytes([2; 32]);
        let grantee = KeyPair::from_secret_bytes([3; 32]);
        let plaintext: Vec<u8> = (0..70_000u32).map(|i| (i * 7) as u8).collect();
        let recipients = [*recipient.public_key(), *other.public_key()];
        let request = SealRequest {
            context: EnvelopeContext {
                origin: Domain(1),
                destination: Domain(2),
                nonce: Nonce(3),
                sender: Address32([4; 32]),
            },
            recipients: &recipients,
        };
        let mut rng = Deterministic(42);
        let mut sealed = Vec::new();
        let outcome = envelope::seal_with_rng(&request, &plaintext[..], &mut sealed, &mut rng)
            .expect("sealing the fixture");
        let header = EnvelopeHeader::read_from(&sealed[..]).expect("fixture header");
        let (granted, _) = grant::grant_with_rng(&header, &recipient, grantee.public_key(), &mut rng)
            .expect("granting the fixture");
        let mut envelope = granted.to_bytes();
        envelope.extend_from_slice(&sealed[header.encoded_len()..]);
        Fixture {
            recipient,
            grantee,
            plaintext,
            envelope,
            on_chain: ExpectedMessage {
                context: request.context,
                commitment: outcome.commitment,
            },
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    if mode % 2 == 0 {
        if let Ok(header) = EnvelopeHeader::read_from(rest) {
            assert_eq!(header.to_bytes(), &rest[..header.encoded_len()], "non-canonical header");
        }
        let mut expected = vec![f.on_chain];
        if let Ok((header, claimed)) = envelope::inspect(rest) {
            expected.push(ExpectedMessage {
                context: *header.context(),
                commitment: claimed.commitment,
            });
        }
        for on_chain in &expected {
            if let Ok(opened) = envelope::open_to_vec(&f.recipient, rest, on_chain) {
                assert_eq!(opened.plaintext.len() as u64, opened.opened.plaintext_len);
            }
        }
        return;
    }
    let mut bytes = f.envelope.clone();
    for edit in rest.chunks_exact(3) {
        let at = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % bytes.len();
        bytes[at] ^= edit[2];
    }
    let changed = bytes != f.envelope;
    for reader in [&f.recipient, &f.grantee] {
        match envelope::open_to_vec(reader, &bytes, &f.on_chain) {
            Ok(opened) => {
                assert!(!changed, "a modified envelope opened");
                assert_eq!(&opened.plaintext[..], &f.plaintext[..]);
            }
            Err(e) => assert!(changed, "the fixture failed to open: {e}"),
        }
    }
});
