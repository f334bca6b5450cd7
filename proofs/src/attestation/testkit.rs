//! Test fixtures for attestations, shared by every crate's tests: deterministic validator keys,
//! the malleated twin of a signature, and an origin's log whose checkpoints they sign.

use super::{Signature, ValidatorKey};
use crate::hash::keccak256;
use crate::log::Sha256Log;
use crate::{
    Checkpoint, Domain, HashAlgorithm, InclusionProof, LeafIndex, LogSize, Message, MessageId,
};

/// `n` validator keys derived from `label` (keccak-256 of `label ‖ i` for i = 0, 1, …, skipping
/// the negligible non-scalars), sorted by address (the order signatures must come in).
pub fn derived_keys(label: &str, n: usize) -> Vec<ValidatorKey> {
    let mut keys = Vec::with_capacity(n);
    let mut counter: u64 = 0;
    while keys.len() < n {
        let mut seed = label.as_bytes().to_vec();
        seed.extend_from_slice(&counter.to_be_bytes());
        counter += 1;
        if let Ok(key) = ValidatorKey::from_bytes(&keccak256(&seed).0) {
            keys.push(key);
        }
    }
    keys.sort_by_key(ValidatorKey::address);
    keys
}

/// The malleated twin of a low-s signature: (r, n - s, v ^ 1), the same signer with a high s.
pub fn malleate(sig: &Signature) -> Signature {
    // secp256k1 group order n (SEC 2 v2, section 2.4.1).
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];
    let s = sig.s();
    let mut out = sig.0;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[32 + i] = u8::try_from(d).expect("a byte after the borrow");
    }
    out[64] ^= 27 ^ 28; // 27 <-> 28
    Signature(out)
}

/// One origin's append-only SHA-256 Merkle log of messages, as the gateways keep it.
#[derive(Debug, Default)]
pub struct OriginLog {
    log: Sha256Log,
    messages: Vec<Message>,
}

impl OriginLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `message` (its id is the leaf data) and returns its index.
    pub fn append(&mut self, message: Message) -> LeafIndex {
        let index = self.log.append(message.id().as_hash());
        self.messages.push(message);
        index
    }

    /// Appends a bare id (a message not kept here, e.g. filler) and returns its index.
    pub fn append_id(&mut self, id: MessageId) -> LeafIndex {
        self.log.append(id.as_hash())
    }

    /// The messages appended with [`append`](Self::append), in order.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Number of leaves.
    pub fn size(&self) -> LogSize {
        self.log.size()
    }

    /// The underlying log (for consistency proofs and roots at earlier sizes).
    pub fn log(&self) -> &Sha256Log {
        &self.log
    }

    /// The checkpoint of the whole log for `origin`.
    pub fn checkpoint(&self, origin: Domain) -> Checkpoint {
        Checkpoint::new(
            origin,
            HashAlgorithm::Sha256,
            self.log.size(),
            self.log.root(),
        )
        .expect("a SHA-256 root is never all zeros")
    }

    /// The inclusion proof of leaf `index` in the whole log.
    pub fn proof(&self, index: LeafIndex) -> InclusionProof {
        self.log
            .inclusion_proof(index, self.log.size())
            .expect("callers ask only for leaves they appended")
    }
}
