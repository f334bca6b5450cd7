//! Test fixtures for attestations, shared by every crate's tests: deterministic validator keys,
//! the malleated twin of a signature, and an origin's log whose checkpoints they sign.

use super::{Signature, ValidatorKey};
use crate::hash::keccak256;
use crate::log::{Keccak256Log, Sha256Log, Sm3Log};
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

/// One origin's append-only Merkle log of messages, as the gateways keep it: SHA-256 unless
/// built with [`OriginLog::with_algorithm`].
#[derive(Debug, Default)]
pub struct OriginLog {
    log: Tree,
    messages: Vec<Message>,
}

/// The tree of an [`OriginLog`], in the lane's hash algorithm.
enum Tree {
    Sha256(Sha256Log),
    Keccak256(Box<Keccak256Log>),
    Sm3(Box<Sm3Log>),
}

impl Default for Tree {
    fn default() -> Self {
        Tree::Sha256(Sha256Log::new())
    }
}

impl core::fmt::Debug for Tree {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Tree::Sha256(log) => log.fmt(f),
            Tree::Keccak256(log) => log.fmt(f),
            Tree::Sm3(log) => log.fmt(f),
        }
    }
}

/// Runs `$body` with `$log` bound to the tree of `$tree`, whatever its algorithm.
macro_rules! on_tree {
    ($tree:expr, $log:ident => $body:expr) => {
        match $tree {
            Tree::Sha256($log) => $body,
            Tree::Keccak256($log) => $body,
            Tree::Sm3($log) => $body,
        }
    };
}

impl OriginLog {
    /// An empty SHA-256 log.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty log hashed with `alg` (a lane configured with `hash = "keccak256"`, say).
    pub fn with_algorithm(alg: HashAlgorithm) -> Self {
        let log = match alg {
            HashAlgorithm::Sha256 => Tree::Sha256(Sha256Log::new()),
            HashAlgorithm::Keccak256 => Tree::Keccak256(Box::default()),
            HashAlgorithm::Sm3 => Tree::Sm3(Box::default()),
        };
        OriginLog {
            log,
            messages: Vec::new(),
        }
    }

    /// The hash algorithm of the log (and of its checkpoints).
    pub fn algorithm(&self) -> HashAlgorithm {
        match self.log {
            Tree::Sha256(_) => HashAlgorithm::Sha256,
            Tree::Keccak256(_) => HashAlgorithm::Keccak256,
            Tree::Sm3(_) => HashAlgorithm::Sm3,
        }
    }

    /// Appends `message` (its id is the leaf data) and returns its index.
    pub fn append(&mut self, message: Message) -> LeafIndex {
        let index = self.append_id(message.id());
        self.messages.push(message);
        index
    }

    /// Appends a bare id (a message not kept here, e.g. filler) and returns its index.
    pub fn append_id(&mut self, id: MessageId) -> LeafIndex {
        on_tree!(&mut self.log, log => log.append(id.as_hash()))
    }

    /// The messages appended with [`append`](Self::append), in order.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Number of leaves.
    pub fn size(&self) -> LogSize {
        on_tree!(&self.log, log => log.size())
    }

    /// The underlying SHA-256 log (for consistency proofs and roots at earlier sizes).
    ///
    /// # Panics
    /// If the log was built with another algorithm ([`with_algorithm`](Self::with_algorithm)).
    pub fn log(&self) -> &Sha256Log {
        match &self.log {
            Tree::Sha256(log) => log,
            _ => panic!(
                "OriginLog::log is for SHA-256 logs; this one is {}",
                self.algorithm()
            ),
        }
    }

    /// The checkpoint of the whole log for `origin`.
    pub fn checkpoint(&self, origin: Domain) -> Checkpoint {
        let root = on_tree!(&self.log, log => log.root());
        Checkpoint::new(origin, self.algorithm(), self.size(), root)
            .expect("a Merkle root is never all zeros")
    }

    /// The inclusion proof of leaf `index` in the whole log.
    pub fn proof(&self, index: LeafIndex) -> InclusionProof {
        let size = self.size();
        on_tree!(&self.log, log => log.inclusion_proof(index, size))
            .expect("callers ask only for leaves they appended")
    }
}
