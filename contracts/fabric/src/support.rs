//! Test support: [`Peer`], an in-memory test double of the peer that keeps the [`Stub`]
//! contract (namespaced keys, reads that see the transaction's own writes, a failed callee's
//! writes kept, a failed proposal's writes dropped, one event per transaction), and the
//! committee and origin log that sign and prove the inbox's batches.
//!
//! The Fabric test network of `causeway-devnet` is the other implementation of [`Stub`]: it
//! runs these chaincodes behind real endorsements, blocks and MVCC checks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use causeway_proofs::hash::keccak256;
use causeway_proofs::log::Sha256Log;
use causeway_proofs::{Checkpoint, Domain, HashAlgorithm, InclusionProof, LeafIndex, Message};
use causeway_proofs::{SigningDomain, ValidatorKey};

use crate::{Chaincode, ChaincodeError, NetworkInfo, Stub};

/// A key of the world state: `(namespace, key)`.
pub(crate) type StateKey = (String, String);

/// How deep chaincode-to-chaincode calls may nest before the call fails.
const MAX_CALL_DEPTH: usize = 8;

/// An in-memory peer: installed chaincodes over a committed world state.
pub(crate) struct Peer {
    /// What the chaincodes read through [`Stub::network`].
    pub(crate) network: NetworkInfo,
    chaincodes: BTreeMap<String, Arc<dyn Chaincode>>,
    /// The committed world state.
    pub(crate) world: BTreeMap<StateKey, Vec<u8>>,
    transactions: u64,
}

/// What one simulated transaction did.
#[derive(Debug)]
pub(crate) struct Transaction {
    /// The proposal's chaincode's response.
    pub(crate) result: Result<Vec<u8>, ChaincodeError>,
    /// Every key read, in any namespace.
    pub(crate) reads: BTreeSet<StateKey>,
    /// Every key written (`None`: deleted); empty when `result` is an error.
    pub(crate) writes: BTreeMap<StateKey, Option<Vec<u8>>>,
    /// The proposal's chaincode's event, if it set one.
    pub(crate) event: Option<(String, Vec<u8>)>,
}

impl Transaction {
    /// The value the transaction writes to `key` of `namespace` (`Some(None)`: deleted).
    pub(crate) fn write(&self, namespace: &str, key: &str) -> Option<Option<&[u8]>> {
        self.writes
            .get(&(namespace.to_owned(), key.to_owned()))
            .map(Option::as_deref)
    }

    /// Whether the transaction read `key` of `namespace`.
    pub(crate) fn read(&self, namespace: &str, key: &str) -> bool {
        self.reads.contains(&(namespace.to_owned(), key.to_owned()))
    }
}

impl Peer {
    /// A peer of `network` with no chaincode installed.
    pub(crate) fn new(network: NetworkInfo) -> Self {
        Peer {
            network,
            chaincodes: BTreeMap::new(),
            world: BTreeMap::new(),
            transactions: 0,
        }
    }

    /// Installs `chaincode` under `name` (replacing one of that name).
    pub(crate) fn install(&mut self, name: &str, chaincode: impl Chaincode + 'static) {
        self.chaincodes.insert(name.to_owned(), Arc::new(chaincode));
    }

    /// Runs `function` of `chaincode` for a proposal signed by `creator`; commits nothing.
    pub(crate) fn simulate(
        &self,
        creator: &[u8],
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
    ) -> Transaction {
        let tx_id = format!("tx{}", self.transactions);
        let mut effects = Effects::default();
        let mut stub = TestStub {
            peer: self,
            creator,
            tx_id: &tx_id,
            namespace: chaincode.to_owned(),
            top_level: chaincode,
            caller: None,
            depth: 0,
            effects: &mut effects,
            event: None,
        };
        let result = match self.chaincodes.get(chaincode).cloned() {
            Some(code) => code.invoke(&mut stub, function, args),
            None => Err(ChaincodeError(format!(
                "chaincode {chaincode} is not installed"
            ))),
        };
        let event = stub.event.take();
        if result.is_err() {
            effects.writes.clear();
        }
        Transaction {
            result,
            reads: effects.reads,
            writes: effects.writes,
            event,
        }
    }

    /// [`Peer::simulate`], then commits the writes when the chaincode succeeded (one
    /// transaction per block: no conflict to check).
    pub(crate) fn submit(
        &mut self,
        creator: &[u8],
        chaincode: &str,
        function: &str,
        args: &[Vec<u8>],
    ) -> Transaction {
        let tx = self.simulate(creator, chaincode, function, args);
        for (key, value) in &tx.writes {
            match value {
                Some(value) => self.world.insert(key.clone(), value.clone()),
                None => self.world.remove(key),
            };
        }
        self.transactions += 1;
        tx
    }
}

/// The reads and writes of a transaction being simulated, shared by every chaincode it calls.
#[derive(Default)]
struct Effects {
    reads: BTreeSet<StateKey>,
    writes: BTreeMap<StateKey, Option<Vec<u8>>>,
}

/// The [`Stub`] one chaincode invocation of a simulated transaction sees.
struct TestStub<'a> {
    peer: &'a Peer,
    creator: &'a [u8],
    tx_id: &'a str,
    namespace: String,
    top_level: &'a str,
    caller: Option<String>,
    depth: usize,
    effects: &'a mut Effects,
    event: Option<(String, Vec<u8>)>,
}

impl TestStub<'_> {
    fn key(&self, key: &str) -> StateKey {
        (self.namespace.clone(), key.to_owned())
    }
}

impl Stub for TestStub<'_> {
    fn get_state(&mut self, key: &str) -> Option<Vec<u8>> {
        let key = self.key(key);
        self.effects.reads.insert(key.clone());
        match self.effects.writes.get(&key) {
            Some(pending) => pending.clone(),
            None => self.peer.world.get(&key).cloned(),
        }
    }

    fn put_state(&mut self, key: &str, value: Vec<u8>) {
        let key = self.key(key);
        self.effects.writes.insert(key, Some(value));
    }

    fn del_state(&mut self, key: &str) {
        let key = self.key(key);
        self.effects.writes.insert(key, None);
    }

    fn set_event(&mut self, name: &str, payload: Vec<u8>) {
        self.event = Some((name.to_owned(), payload));
    }

    fn creator_bytes(&self) -> &[u8] {
        self.creator
    }

    fn tx_id(&self) -> &str {
        self.tx_id
    }

    fn chaincode_name(&self) -> &str {
        &self.namespace
    }

    fn top_level_chaincode(&self) -> &str {
        self.top_level
    }

    fn call_depth(&self) -> usize {
        self.depth
    }

    fn caller(&self) -> Option<&str> {
        self.caller.as_deref()
    }

    fn network(&self) -> &NetworkInfo {
        &self.peer.network
    }

    fn chaincode_names(&self) -> Vec<String> {
        self.peer.chaincodes.keys().cloned().collect()
    }

    fn invoke_chaincode(
        &mut self,
        name: &str,
        function: &str,
        args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ChaincodeError> {
        let chaincode = self
            .peer
            .chaincodes
            .get(name)
            .cloned()
            .ok_or_else(|| ChaincodeError(format!("chaincode {name} is not installed")))?;
        if self.depth >= MAX_CALL_DEPTH {
            return Err(ChaincodeError(format!(
                "chaincode call depth {MAX_CALL_DEPTH} exceeded calling {name}"
            )));
        }
        let mut callee = TestStub {
            peer: self.peer,
            creator: self.creator,
            tx_id: self.tx_id,
            namespace: name.to_owned(),
            top_level: self.top_level,
            caller: Some(self.namespace.clone()),
            depth: self.depth + 1,
            effects: &mut *self.effects,
            event: None,
        };
        chaincode.invoke(&mut callee, function, args)
    }
}

/// A validator committee with deterministic keys, sorted by address (the order signatures
/// must come in).
pub(crate) struct Committee {
    keys: Vec<ValidatorKey>,
}

impl Committee {
    /// `n` keys derived from `label` (keccak-256 of `label ‖ i`, skipping non-scalars).
    pub(crate) fn new(label: &str, n: usize) -> Self {
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
        Committee { keys }
    }

    /// The keys, ascending by address.
    pub(crate) fn keys(&self) -> &[ValidatorKey] {
        &self.keys
    }

    /// The signatures of `checkpoint` on `domain` by the members at `members`, in that order.
    pub(crate) fn sign(
        &self,
        checkpoint: &Checkpoint,
        domain: &SigningDomain,
        members: &[usize],
    ) -> Vec<causeway_proofs::Signature> {
        members
            .iter()
            .map(|&i| self.keys[i].sign_checkpoint(checkpoint, domain))
            .collect()
    }
}

/// An origin's SHA-256 Merkle log of message ids, as the gateways keep it.
#[derive(Default)]
pub(crate) struct OriginLog {
    log: Sha256Log,
}

impl OriginLog {
    /// Appends `message`'s id.
    pub(crate) fn append(&mut self, message: &Message) {
        self.log.append(message.id().as_hash());
    }

    /// The checkpoint of the whole log for `origin`.
    pub(crate) fn checkpoint(&self, origin: Domain) -> Checkpoint {
        Checkpoint::new(
            origin,
            HashAlgorithm::Sha256,
            self.log.size(),
            self.log.root(),
        )
        .expect("a SHA-256 root is never all zeros")
    }

    /// The inclusion proof of leaf `index` in the whole log.
    pub(crate) fn proof(&self, index: usize) -> InclusionProof {
        self.log
            .inclusion_proof(LeafIndex(index as u64), self.log.size())
            .expect("tests ask only for leaves they appended")
    }
}
