//! Test fixtures shared by every crate that exercises the contracts: a validator committee with
//! deterministic keys, an origin's Merkle log, and conversions from `causeway_proofs` values to
//! the contracts' ABI types. Everything here computes with `causeway_proofs`, the reference the
//! contracts must agree with byte for byte.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider as _;
pub use causeway_proofs::attestation::testkit::OriginLog;
use causeway_proofs::attestation::testkit::derived_keys;
use causeway_proofs::{
    Address32, Checkpoint, Domain, EvmAddress, Hash32, InclusionProof, Message, Nonce,
    SigningDomain, ValidatorKey,
};

use crate::contracts::{Anchor, Inbox, InboxHandle};
use crate::{Error, Result};

/// An EVM address as alloy's type.
pub fn to_alloy(address: EvmAddress) -> Address {
    Address::from(address.0)
}

/// An alloy address as `causeway_proofs`' type.
pub fn from_alloy(address: Address) -> EvmAddress {
    EvmAddress(address.into_array())
}

/// An EVM address as the 32-byte identity messages carry (left-padded).
pub fn address32(address: Address) -> Address32 {
    Address32::from(from_alloy(address))
}

/// A 32-byte value as alloy's `B256`.
pub fn b256(h: Hash32) -> B256 {
    B256::from(h.0)
}

/// A checkpoint in the Inbox's ABI shape.
pub fn inbox_checkpoint(cp: &Checkpoint) -> Inbox::Checkpoint {
    Inbox::Checkpoint {
        origin: cp.origin().0,
        hashAlgorithm: cp.hash_algorithm().id(),
        size: cp.size().0,
        root: b256(cp.root()),
    }
}

/// A checkpoint in the Anchor's ABI shape.
pub fn anchor_checkpoint(cp: &Checkpoint) -> Anchor::Checkpoint {
    Anchor::Checkpoint {
        origin: cp.origin().0,
        hashAlgorithm: cp.hash_algorithm().id(),
        size: cp.size().0,
        root: b256(cp.root()),
    }
}

/// An inclusion proof in the Inbox's ABI shape (its size is the checkpoint's).
pub fn inbox_proof(proof: &InclusionProof) -> Inbox::InclusionProof {
    Inbox::InclusionProof {
        index: proof.index.0,
        path: proof.path.iter().copied().map(b256).collect(),
    }
}

/// The signing domain of an EVM Inbox (or, with `destination` 0, an Anchor) at `verifier`.
pub fn evm_signing_domain(
    origin: Domain,
    origin_chain_id: u64,
    destination: Domain,
    destination_chain_id: u64,
    verifier: Address,
    validator_epoch: u64,
) -> SigningDomain {
    SigningDomain {
        origin,
        origin_chain_id,
        destination,
        destination_chain_id,
        inbox: SigningDomain::evm_inbox(from_alloy(verifier)),
        validator_epoch,
    }
}

/// A validator committee with deterministic test keys (never anvil's funded dev keys).
#[derive(Debug)]
pub struct Committee {
    /// Keys sorted by address, ascending (the order signatures must come in).
    keys: Vec<ValidatorKey>,
    threshold: u8,
}

impl Committee {
    /// `n` keys derived from `label` (keccak-256 of `label ‖ i`, skipping the negligible
    /// non-scalars), needing `threshold` signatures.
    pub fn new(label: &str, n: usize, threshold: u8) -> Self {
        Committee {
            keys: derived_keys(label, n),
            threshold,
        }
    }

    /// The keys, ascending by address.
    pub fn keys(&self) -> &[ValidatorKey] {
        &self.keys
    }

    /// Signatures needed.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The addresses, ascending (the form `setValidators` takes).
    pub fn addresses(&self) -> Vec<Address> {
        self.keys.iter().map(|k| to_alloy(k.address())).collect()
    }

    /// Signatures of `cp` on `domain` by the committee members at `members` (positions in
    /// ascending address order), in the order given, as the contracts take them.
    pub fn sign_with(
        &self,
        cp: &Checkpoint,
        domain: &SigningDomain,
        members: &[usize],
    ) -> Vec<Bytes> {
        members
            .iter()
            .map(|&i| Bytes::copy_from_slice(self.keys[i].sign_checkpoint(cp, domain).as_bytes()))
            .collect()
    }

    /// Signatures of a raw `digest` (a governance digest, see [`GovernanceDomain`]) by the
    /// members at `members`, in the order given.
    pub fn sign_digest(&self, digest: Hash32, members: &[usize]) -> Vec<Bytes> {
        members
            .iter()
            .map(|&i| Bytes::copy_from_slice(self.keys[i].sign(&digest).as_bytes()))
            .collect()
    }

    /// A threshold of signatures (the first `threshold` members), ascending by signer.
    pub fn sign(&self, cp: &Checkpoint, domain: &SigningDomain) -> Vec<Bytes> {
        let members: Vec<usize> = (0..usize::from(self.threshold)).collect();
        self.sign_with(cp, domain, &members)
    }

    /// The arguments of the Fabric inbox chaincode's `setValidators` that make this committee
    /// (with its threshold) the validator set of `origin`, whose chain id is `origin_chain_id`.
    pub fn fabric_set_validators_args(&self, origin: Domain, origin_chain_id: u64) -> Vec<Vec<u8>> {
        let validators: Vec<String> = self.keys.iter().map(|k| k.address().to_hex()).collect();
        vec![
            origin.0.to_string().into_bytes(),
            origin_chain_id.to_string().into_bytes(),
            self.threshold.to_string().into_bytes(),
            validators.join(",").into_bytes(),
        ]
    }

    /// Makes this committee (with its threshold) the validator set of `origin`, whose chain id
    /// is `origin_chain_id`, on `inbox` (whose provider must sign as the admin), and returns the
    /// signing domain the Inbox now checks signatures against: its local domain, its chain's id,
    /// its address and the epoch `setValidators` moved to.
    pub async fn install(
        &self,
        inbox: &InboxHandle,
        origin: Domain,
        origin_chain_id: u64,
    ) -> Result<SigningDomain> {
        let receipt = inbox
            .setValidators(origin.0, origin_chain_id, self.addresses(), self.threshold)
            .send()
            .await
            .map_err(contract("sending setValidators"))?
            .get_receipt()
            .await
            .map_err(|source| Error::Pending {
                context: "waiting for setValidators",
                source: Box::new(source),
            })?;
        if !receipt.status() {
            return Err(Error::Reverted {
                call: "setValidators",
            });
        }
        let set = inbox
            .validatorSet(origin.0)
            .call()
            .await
            .map_err(contract("reading the validator set"))?;
        let local = inbox
            .localDomain()
            .call()
            .await
            .map_err(contract("reading the local domain"))?;
        let chain_id = inbox
            .provider()
            .get_chain_id()
            .await
            .map_err(|source| Error::Rpc {
                context: "reading the chain id",
                source: Box::new(source),
            })?;
        Ok(evm_signing_domain(
            origin,
            origin_chain_id,
            Domain(local),
            chain_id,
            *inbox.address(),
            set.epoch,
        ))
    }
}

/// A version-1 message with the given fields (body at most 64 KiB).
pub fn message(
    nonce: u64,
    origin: Domain,
    sender: Address,
    destination: Domain,
    recipient: Address,
    body: &[u8],
) -> Message {
    Message::new(
        Nonce(nonce),
        origin,
        address32(sender),
        destination,
        address32(recipient),
        body.to_vec(),
    )
    .expect("fixture bodies stay under the 64 KiB limit")
}

/// Maps a contract call's error to [`Error::Contract`] with `context`.
fn contract(context: &'static str) -> impl Fn(alloy::contract::Error) -> Error {
    move |source| Error::Contract {
        context,
        source: Box::new(source),
    }
}

/// The governance signing domain of a `ValidatorRegistry` (an Inbox or an Anchor): the current
/// validator set of `origin` (its stored origin chain id and epoch) acting on `verifier` on the
/// chain `chain_id`. The digests below are the registry's `validatorSetChangeDigest`,
/// `cancelDigest` and the Inbox's `unpauseDigest`, recomputed off chain as a gateway must.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GovernanceDomain {
    /// The origin whose validator set acts.
    pub origin: Domain,
    /// The current set's origin chain id.
    pub origin_chain_id: u64,
    /// The current set's epoch.
    pub epoch: u64,
    /// The chain id of the registry's chain.
    pub chain_id: u64,
    /// The registry contract.
    pub verifier: Address,
}

/// A validator-set change as the current set signs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSetChange {
    /// The new set's origin chain id.
    pub origin_chain_id: u64,
    /// The new members, ascending.
    pub validators: Vec<Address>,
    /// The new threshold.
    pub threshold: u8,
    /// The epoch the new set takes (the registry's `nextEpoch`).
    pub epoch: u64,
}

/// `abi.encode` of static words: each value left-padded to 32 bytes.
fn encode_words(words: &[B256]) -> Vec<u8> {
    words.iter().flat_map(|w| w.0).collect()
}

/// An unsigned integer as an ABI word.
fn uint(value: u64) -> B256 {
    B256::from(U256::from(value))
}

impl GovernanceDomain {
    fn separator(&self) -> B256 {
        let typehash = keccak256(
            "CausewayGovernance(string name,string version,uint32 originDomain,uint256 originChainId,uint256 chainId,bytes32 verifier,uint64 validatorEpoch)",
        );
        keccak256(encode_words(&[
            typehash,
            keccak256("Causeway"),
            keccak256("1"),
            uint(self.origin.0.into()),
            uint(self.origin_chain_id),
            uint(self.chain_id),
            self.verifier.into_word(),
            uint(self.epoch),
        ]))
    }

    /// `keccak256(0x19 ‖ 0x01 ‖ separator ‖ struct_hash)`.
    fn digest(&self, struct_hash: B256) -> Hash32 {
        let mut data = vec![0x19, 0x01];
        data.extend_from_slice(self.separator().as_slice());
        data.extend_from_slice(struct_hash.as_slice());
        Hash32(keccak256(data).0)
    }

    /// The EIP-712 struct hash of `change` for this origin.
    pub fn change_hash(&self, change: &ValidatorSetChange) -> B256 {
        let typehash = keccak256(
            "ValidatorSetChange(uint32 originDomain,uint64 originChainId,address[] validators,uint8 threshold,uint64 epoch)",
        );
        let members: Vec<u8> = change
            .validators
            .iter()
            .flat_map(|a| a.into_word().0)
            .collect();
        keccak256(encode_words(&[
            typehash,
            uint(self.origin.0.into()),
            uint(change.origin_chain_id),
            keccak256(members),
            uint(change.threshold.into()),
            uint(change.epoch),
        ]))
    }

    /// What the current set signs to propose `change`.
    pub fn change_digest(&self, change: &ValidatorSetChange) -> Hash32 {
        self.digest(self.change_hash(change))
    }

    /// What the current set signs to cancel the pending `change`.
    pub fn cancel_digest(&self, change: &ValidatorSetChange) -> Hash32 {
        let typehash =
            keccak256("CancelValidatorSetChange(uint32 originDomain,uint64 epoch,bytes32 change)");
        self.digest(keccak256(encode_words(&[
            typehash,
            uint(self.origin.0.into()),
            uint(change.epoch),
            self.change_hash(change),
        ])))
    }

    /// What the current set signs to lift the Inbox's pause number `pauses` of this origin.
    pub fn unpause_digest(&self, pauses: u32) -> Hash32 {
        let typehash = keccak256("Unpause(uint32 originDomain,uint32 pauses)");
        self.digest(keccak256(encode_words(&[
            typehash,
            uint(self.origin.0.into()),
            uint(pauses.into()),
        ])))
    }
}
