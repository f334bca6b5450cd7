//! The one on-chain message commitment (issue 12): it binds the envelope, its recipient list
//! and its disclosure tree; `open` refuses anything but the chain's context and commitment.

use causeway_privacy::Error;
use causeway_privacy::disclosure::Padding;
use causeway_privacy::envelope::{self, EnvelopeHeader, MessageCommitment, SealRequest};
use causeway_privacy::keys::KeyPair;
use causeway_proofs::{Hash32, LogSize};
use rand_core::{CryptoRng, RngCore};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::support::{context, expected, key, publics, seal};

const INVOICE: &str = r#"{"invoice": "INV-7", "amount": "1250.00", "currency": "EUR", "buyer": "Org B", "paid": false}"#;

fn seal_invoice(
    recipients: &[KeyPair],
    padding: Padding,
) -> (
    Vec<u8>,
    envelope::Sealed,
    causeway_privacy::CommittedPayload,
) {
    envelope::seal_json(
        &SealRequest {
            context: context(),
            recipients: &publics(recipients),
        },
        INVOICE,
        padding,
    )
    .unwrap()
}

/// A disclosed field verifies against the on-chain commitment, for the sealer and for every
/// recipient (who rebuild the same tree from the plaintext), and against nothing else.
#[test]
fn disclosures_verify_against_the_message_commitment() {
    let (a, b) = (key(1), key(2));
    let (bytes, sealed, committed) = seal_invoice(&[key(1), key(2)], Padding::PowerOfTwo);
    assert_eq!(sealed.inputs.disclosure_leaves, 8);
    assert_eq!(sealed.inputs.disclosure_root, committed.root().0);
    let on_chain = expected(&sealed);

    let by_sealer = sealed
        .disclose(&committed, &["amount", "currency"])
        .unwrap();
    let shown = by_sealer.verify(&on_chain).unwrap();
    assert_eq!(shown["amount"], json!("1250.00"));
    assert_eq!(shown.len(), 2);
    // A recipient opens, gets the tree back, and discloses the same way.
    for k in [&a, &b] {
        let opened = envelope::open_to_vec(k, &bytes, &on_chain).unwrap();
        let by_reader = opened.disclose(&["buyer"]).unwrap();
        assert_eq!(
            by_reader.verify(&on_chain).unwrap()["buyer"],
            json!("Org B")
        );
        assert_eq!(opened.disclosure.as_ref().unwrap().root(), committed.root());
    }
    // The JSON form travels and verifies.
    let text = serde_json::to_string(&by_sealer).unwrap();
    assert!(!text.contains("INV-7") && !text.contains("Org B"));
    let back: causeway_privacy::AnchoredDisclosure = serde_json::from_str(&text).unwrap();
    back.verify(&on_chain).unwrap();

    // Another message's commitment, another context: refused.
    let (_, other, _) = seal_invoice(&[key(1)], Padding::PowerOfTwo);
    assert!(matches!(
        by_sealer.verify(&expected(&other)),
        Err(Error::MessageCommitmentMismatch)
    ));
    let mut moved = on_chain;
    moved.context.nonce.0 += 1;
    assert!(matches!(
        by_sealer.verify(&moved),
        Err(Error::MessageCommitmentMismatch)
    ));
    // Any changed input breaks the commitment.
    let mut d = by_sealer.clone();
    d.inputs.envelope_digest.0[0] ^= 1;
    assert!(matches!(
        d.verify(&on_chain),
        Err(Error::MessageCommitmentMismatch)
    ));
    let mut d = by_sealer.clone();
    d.inputs.disclosure_root.0[0] ^= 1;
    assert!(matches!(
        d.verify(&on_chain),
        Err(Error::MessageCommitmentMismatch)
    ));
}

/// The tree size is bound by the commitment: a discloser cannot state another one, in the
/// inputs or in the proofs.
#[test]
fn the_disclosure_tree_size_is_not_the_disclosers_choice() {
    let (_, sealed, committed) = seal_invoice(&[key(1)], Padding::None);
    let on_chain = expected(&sealed);
    let good = sealed.disclose(&committed, &["paid"]).unwrap();
    good.verify(&on_chain).unwrap();
    for leaves in [0, 4, 6, 8] {
        let mut d = good.clone();
        d.inputs.disclosure_leaves = leaves;
        assert!(
            matches!(d.verify(&on_chain), Err(Error::MessageCommitmentMismatch)),
            "{leaves}"
        );
    }
    let mut d = good.clone();
    d.disclosure.fields[0].proof.size = LogSize(8);
    assert!(matches!(
        d.verify(&on_chain),
        Err(Error::MalformedDisclosure { .. })
    ));
}

/// An auditor's presence is checkable from the chain alone: the recipients' key ids, with the
/// other public inputs, hash to the on-chain commitment. No key is needed, by anyone.
#[test]
fn recipients_are_checkable_from_the_chain_alone() {
    let (sender, auditor, outsider) = (key(1), key(7), key(9));
    let (bytes, sealed) = seal(&publics(&[key(1), key(7)]), b"supervised");
    let on_chain = sealed.commitment;
    // What anyone can get: the public inputs (from the sealer, or recomputed from the bytes).
    let (_, inspected) = envelope::inspect(&bytes[..]).unwrap();
    assert_eq!(inspected, sealed);
    let public = inspected.envelope;
    assert_eq!(public.recipients, vec![sender.key_id(), auditor.key_id()]);
    public
        .check_recipient(&auditor.key_id(), &context(), &inspected.inputs, &on_chain)
        .unwrap();
    assert!(matches!(
        public.check_recipient(&outsider.key_id(), &context(), &inspected.inputs, &on_chain),
        Err(Error::NotARecipient { .. })
    ));
    // A list with the auditor dropped (or replaced) does not hash to the commitment.
    let mut without = public.clone();
    without.recipients = vec![sender.key_id()];
    assert!(matches!(
        without.check_recipient(&sender.key_id(), &context(), &inspected.inputs, &on_chain),
        Err(Error::MessageCommitmentMismatch)
    ));
    let mut replaced = public.clone();
    replaced.recipients[1] = outsider.key_id();
    assert!(matches!(
        replaced.check_recipient(&outsider.key_id(), &context(), &inspected.inputs, &on_chain),
        Err(Error::MessageCommitmentMismatch)
    ));
}

/// Known answer for the commitment's fixed 152-byte layout, recomputed here with plain SHA-256
/// (what the Solidity library does): TAG ‖ context ‖ envelope digest ‖ root ‖ leaves.
#[test]
fn commitment_layout_known_answer() {
    let (_, sealed, _) = seal_invoice(&[key(1)], Padding::None);
    let mut input = Vec::new();
    input.extend_from_slice(b"causeway/message-commitment/v2\0\0");
    input.extend_from_slice(&context().to_bytes());
    input.extend_from_slice(&sealed.inputs.envelope_digest.0);
    input.extend_from_slice(&sealed.inputs.disclosure_root.0);
    input.extend_from_slice(&5u64.to_be_bytes());
    assert_eq!(input.len(), 152);
    let digest: [u8; 32] = Sha256::digest(&input).into();
    assert_eq!(MessageCommitment(digest), sealed.commitment);
    // And the envelope digest from its public parts.
    let mut e = Vec::new();
    e.extend_from_slice(b"causeway/envelope-digest/v2");
    e.extend_from_slice(&sealed.envelope.envelope_id.0);
    e.extend_from_slice(&sealed.envelope.header_digest.0);
    let mut r = Vec::new();
    r.extend_from_slice(b"causeway/recipients/v2");
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(key(1).key_id().as_bytes());
    e.extend_from_slice(&Sha256::digest(&r));
    e.extend_from_slice(&sealed.envelope.payload_digest.0);
    assert_eq!(
        Hash32(Sha256::digest(&e).into()),
        sealed.inputs.envelope_digest
    );
}

/// A generator that replays chosen bytes first (to reuse an envelope id), then the OS's.
struct Scripted(Vec<u8>);

impl RngCore for Scripted {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let n = dest.len().min(self.0.len());
        dest[..n].copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
        rand_core::OsRng.fill_bytes(&mut dest[n..]);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Scripted {}

/// Finding: a co-recipient re-encrypts another payload under the same envelope id and
/// context (a perfectly valid envelope for every recipient). The gateway's `open` takes the
/// chain's commitment and refuses it; the honest envelope opens.
#[test]
fn a_co_recipients_re_encryption_under_the_same_envelope_id_is_refused() {
    let (a, mallory) = (key(1), key(2));
    let (honest, sealed) = seal(&publics(&[key(1), key(2)]), b"pay Org A 10");
    let on_chain = expected(&sealed);
    // Mallory reads it, then seals her own payload with the same id, context and recipients.
    envelope::open_to_vec(&mallory, &honest, &on_chain).unwrap();
    let mut script = vec![0x42; 32]; // her content key
    script.extend_from_slice(&sealed.envelope_id.0);
    let (forged, _) = {
        let mut out = Vec::new();
        let s = envelope::seal_with_rng(
            &SealRequest {
                context: context(),
                recipients: &publics(&[key(1), key(2)]),
            },
            &b"pay Mallory 10000"[..],
            &mut out,
            &mut Scripted(script),
        )
        .unwrap();
        (out, s)
    };
    let header = EnvelopeHeader::read_from(&forged[..]).unwrap();
    assert_eq!(header.id(), sealed.envelope_id);
    assert_eq!(header.context(), &context());
    // Both the streaming and the in-memory open refuse it, releasing nothing.
    assert!(matches!(
        envelope::open_to_vec(&a, &forged, &on_chain),
        Err(Error::MessageCommitmentMismatch)
    ));
    let mut out = Vec::new();
    let e = envelope::open(&a, &forged[..], &on_chain, &mut out).unwrap_err();
    assert!(matches!(e, Error::MessageCommitmentMismatch), "{e}");
    assert!(e.is_authentication_failure());
    let opened = envelope::open_to_vec(&a, &honest, &on_chain).unwrap();
    assert_eq!(&opened.plaintext[..], b"pay Org A 10");
}

/// A sender whose header states a disclosure tree that is not the plaintext's is caught by
/// every recipient's in-memory open; the streaming open refuses tree-bearing envelopes.
#[test]
fn a_disclosure_tree_that_is_not_the_plaintexts_is_refused() {
    let a = key(1);
    let (bytes, sealed, _) = seal_invoice(&[key(1)], Padding::None);
    let mut sink = Vec::new();
    assert!(matches!(
        envelope::open(&a, &bytes[..], &expected(&sealed), &mut sink),
        Err(Error::DisclosureNeedsWholePayload)
    ));
    assert!(sink.is_empty());
    // A JSON payload sealed as plain bytes has no tree to disclose from.
    let (plain, plain_sealed) = seal(&publics(&[key(1)]), INVOICE.as_bytes());
    let opened = envelope::open_to_vec(&a, &plain, &expected(&plain_sealed)).unwrap();
    assert!(matches!(
        opened.disclose(&["amount"]),
        Err(Error::NoDisclosureTree)
    ));
    // A sender lying about the tree is caught by the in-memory open: see the unit test
    // `a_header_tree_that_is_not_the_plaintexts_is_refused` (it needs the sealer's internals).
}

/// Numbers JSON cannot carry exactly are refused before anything is sealed.
#[test]
fn seal_json_refuses_inexact_numbers() {
    let e = envelope::seal_json(
        &SealRequest {
            context: context(),
            recipients: &publics(&[key(1)]),
        },
        r#"{"amount": 115792089237316195423570985008687907853269984665640564039457584007913129639935}"#,
        Padding::None,
    )
    .unwrap_err();
    assert!(matches!(e, Error::InexactNumber { .. }), "{e}");
}
