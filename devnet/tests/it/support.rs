//! Helpers shared by the contract tests.

use alloy::primitives::{Address, B256, Bytes};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolInterface;
use causeway_adapters::evm::bindings::packed_items;
use causeway_devnet::contracts::{Inbox, InboxHandle};
use causeway_devnet::fixtures::{
    Committee, GovernanceDomain, OriginLog, evm_signing_domain, inbox_checkpoint, inbox_proof,
    message,
};
use causeway_devnet::{CHAIN_A, ChainSpec, DevChain};
use causeway_proofs::{Checkpoint, Domain, HashAlgorithm, LeafIndex, Message, SigningDomain};

/// The origin every Inbox test delivers from: chain A's domain and chain id.
pub const ORIGIN: ChainSpec = CHAIN_A;

/// A stand-in for an origin sender contract.
pub fn origin_sender() -> Address {
    Address::repeat_byte(0x5e)
}

/// The custom error in a revert, decoded with the contract's error enum; panics (failing the
/// test) if the call did not revert with one of `E`'s errors.
pub fn decode_revert<E: SolInterface + std::fmt::Debug>(err: &alloy::contract::Error) -> E {
    err.as_decoded_interface_error::<E>()
        .unwrap_or_else(|| panic!("expected a custom error revert, got: {err}"))
}

/// The Inbox error of a failed call.
pub fn inbox_error(err: &alloy::contract::Error) -> Inbox::InboxErrors {
    decode_revert::<Inbox::InboxErrors>(err)
}

/// One lane into a destination chain's Inbox: a committee configured for [`ORIGIN`] and the
/// origin's Merkle log, kept by the test as a gateway would.
pub struct Lane {
    pub origin: Domain,
    pub origin_chain_id: u64,
    pub committee: Committee,
    pub log: OriginLog,
    pub epoch: u64,
    pub inbox: InboxHandle,
    pub destination: ChainSpec,
}

impl Lane {
    /// Configures a 3-of-5 committee for [`ORIGIN`] on `dest`'s Inbox (as its admin).
    pub async fn open(dest: &DevChain) -> Lane {
        Self::open_on(
            dest.inbox.clone(),
            dest.spec,
            ORIGIN.domain,
            Committee::new("lane", 5, 3),
        )
        .await
    }

    /// Like [`open`](Self::open), for a lane whose log is hashed with `alg`.
    pub async fn open_hashed(dest: &DevChain, alg: HashAlgorithm) -> Lane {
        let mut lane = Self::open(dest).await;
        lane.log = OriginLog::with_algorithm(alg);
        lane
    }

    /// Configures `committee` for `origin` on `inbox` (the provider must be the admin's).
    pub async fn open_on(
        inbox: InboxHandle,
        destination: ChainSpec,
        origin: Domain,
        committee: Committee,
    ) -> Lane {
        let epoch = committee
            .install(&inbox, origin, ORIGIN.chain_id)
            .await
            .unwrap()
            .validator_epoch;
        Lane {
            origin,
            origin_chain_id: ORIGIN.chain_id,
            committee,
            log: OriginLog::new(),
            epoch,
            inbox,
            destination,
        }
    }

    /// The signing domain the Inbox recomputes for this lane.
    pub fn domain(&self) -> SigningDomain {
        evm_signing_domain(
            self.origin,
            self.origin_chain_id,
            self.destination.domain,
            self.destination.chain_id,
            *self.inbox.address(),
            self.epoch,
        )
    }

    /// The governance signing domain of this lane's current validator set on its Inbox.
    pub fn governance(&self) -> GovernanceDomain {
        GovernanceDomain {
            origin: self.origin,
            origin_chain_id: self.origin_chain_id,
            epoch: self.epoch,
            chain_id: self.destination.chain_id,
            verifier: *self.inbox.address(),
        }
    }

    /// Appends a message from [`origin_sender`] to `recipient` (nonce = its position).
    pub fn push(&mut self, recipient: Address, body: &[u8]) -> (Message, LeafIndex) {
        let nonce = self.log.size().0;
        let m = message(
            nonce,
            self.origin,
            origin_sender(),
            self.destination.domain,
            recipient,
            body,
        );
        let index = self.log.append(m.clone());
        (m, index)
    }

    /// Appends an already built message.
    pub fn push_message(&mut self, m: Message) -> LeafIndex {
        self.log.append(m)
    }

    /// The checkpoint of the whole log.
    pub fn checkpoint(&self) -> Checkpoint {
        self.log.checkpoint(self.origin)
    }

    /// A threshold of valid signatures over `cp` on this lane.
    pub fn sign(&self, cp: &Checkpoint) -> Vec<Bytes> {
        self.committee.sign(cp, &self.domain())
    }

    /// The ABI arguments of `deliverBatch` for `items` under the current checkpoint.
    pub fn batch_args(
        &self,
        items: &[(Message, LeafIndex)],
    ) -> (
        Vec<Bytes>,
        Vec<Inbox::InclusionProof>,
        Inbox::Checkpoint,
        Vec<Bytes>,
    ) {
        let cp = self.checkpoint();
        let messages = items.iter().map(|(m, _)| Bytes::from(m.encode())).collect();
        let proofs = items
            .iter()
            .map(|(_, i)| inbox_proof(&self.log.proof(*i)))
            .collect();
        (messages, proofs, inbox_checkpoint(&cp), self.sign(&cp))
    }

    /// Delivers `items` in one batch and returns the mined receipt (panics on any failure).
    pub async fn deliver(&self, items: &[(Message, LeafIndex)]) -> TransactionReceipt {
        let (messages, proofs, cp, sigs) = self.batch_args(items);
        let receipt = self
            .inbox
            .deliverBatch(messages, proofs, cp, sigs)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "delivery reverted: {receipt:?}");
        receipt
    }

    /// The arguments of `deliverPacked` for `items` under the current checkpoint.
    pub fn packed_args(&self, items: &[(Message, LeafIndex)]) -> (Inbox::Checkpoint, Bytes, Bytes) {
        let cp = self.checkpoint();
        let proofs: Vec<_> = items.iter().map(|(_, i)| self.log.proof(*i)).collect();
        let packed = packed_items(items.iter().zip(&proofs).map(|((m, _), p)| (m, p)));
        let sigs: Vec<u8> = self.sign(&cp).iter().flat_map(|s| s.to_vec()).collect();
        (
            inbox_checkpoint(&cp),
            Bytes::from(sigs),
            Bytes::from(packed),
        )
    }

    /// Delivers `items` in one packed batch (`deliverPacked`) and returns the mined receipt
    /// (panics on any failure).
    pub async fn deliver_packed(&self, items: &[(Message, LeafIndex)]) -> TransactionReceipt {
        let (cp, sigs, packed) = self.packed_args(items);
        let receipt = self
            .inbox
            .deliverPacked(cp, sigs, packed)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "delivery reverted: {receipt:?}");
        receipt
    }

    /// Delivers `items` in one batch and returns the revert, which it expects.
    pub async fn deliver_err(&self, items: &[(Message, LeafIndex)]) -> Inbox::InboxErrors {
        let (messages, proofs, cp, sigs) = self.batch_args(items);
        let err = self
            .inbox
            .deliverBatch(messages, proofs, cp, sigs)
            .send()
            .await
            .expect_err("the delivery must revert");
        inbox_error(&err)
    }

    /// The Inbox status of a message (0 none, 1 delivered, 2 failed).
    pub async fn status(&self, m: &Message) -> u8 {
        self.inbox
            .status(B256::from(m.id().0.0))
            .call()
            .await
            .unwrap()
    }
}

/// A small deterministic PRNG (SplitMix64) so that "random" cases are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// The address of dev account `index` on `chain`.
pub fn dev(chain: &DevChain, index: usize) -> Address {
    chain.node.dev_address(index).unwrap()
}

/// Every `E` event in a receipt, in log order.
pub fn events<E: alloy::sol_types::SolEvent>(receipt: &TransactionReceipt) -> Vec<E> {
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| log.log_decode::<E>().ok())
        .map(|log| log.inner.data)
        .collect()
}

/// Moves `chain`'s clock `seconds` ahead and mines a block at the new time.
pub async fn advance_time(chain: &DevChain, seconds: u64) {
    let p = chain.node.read_provider();
    let _: serde_json::Value =
        alloy::providers::Provider::raw_request(&p, "evm_increaseTime".into(), (seconds,))
            .await
            .unwrap();
    let _: serde_json::Value = alloy::providers::Provider::raw_request(&p, "evm_mine".into(), ())
        .await
        .unwrap();
}

/// Sends a call and waits for its successful receipt.
#[macro_export]
macro_rules! mined {
    ($call:expr) => {{
        let receipt = $call.send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status(), "transaction reverted: {receipt:?}");
        receipt
    }};
}
