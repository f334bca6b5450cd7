//! Test support: [`Peer`], an in-memory peer that runs chaincodes with [`crate::host::run`]
//! (the one implementation of the [`crate::Stub`] contract) over a world-state map, and the
//! committee that signs the inbox's batches.
//!
//! The Fabric test network of `causeway-devnet` is the other host: it runs these chaincodes
//! behind real endorsements, blocks and MVCC checks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use causeway_proofs::Checkpoint;
use causeway_proofs::attestation::testkit::derived_keys;
use causeway_proofs::{SigningDomain, ValidatorKey};

use crate::host::{Chaincodes, Outcome, Proposal, TxState, run};
use crate::{Chaincode, NetworkInfo, Response};

/// A key of the world state: `(namespace, key)`.
pub(crate) type StateKey = (String, String);

/// An in-memory peer: installed chaincodes over a committed world state, run by
/// [`crate::host::run`] (one transaction per block: no conflict to check).
pub(crate) struct Peer {
    /// What the chaincodes read through [`crate::Stub::network`].
    pub(crate) network: NetworkInfo,
    chaincodes: Chaincodes,
    /// The committed world state.
    pub(crate) world: BTreeMap<StateKey, Vec<u8>>,
    transactions: u64,
}

/// What one simulated transaction did.
#[derive(Debug)]
pub(crate) struct Transaction {
    /// The proposal's chaincode's response.
    pub(crate) result: Response,
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
            chaincodes: Chaincodes::new(),
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
        let proposal = Proposal {
            network: &self.network,
            chaincodes: &self.chaincodes,
            creator,
            tx_id: &tx_id,
        };
        let mut state = Effects {
            world: &self.world,
            reads: BTreeSet::new(),
            writes: BTreeMap::new(),
        };
        let Outcome { result, event } = run(proposal, &mut state, chaincode, function, args);
        Transaction {
            result,
            reads: state.reads,
            writes: state.writes,
            event,
        }
    }

    /// [`Peer::simulate`], then commits the writes when the chaincode succeeded.
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

/// The reads and writes of a transaction being simulated over the committed world state.
struct Effects<'a> {
    world: &'a BTreeMap<StateKey, Vec<u8>>,
    reads: BTreeSet<StateKey>,
    writes: BTreeMap<StateKey, Option<Vec<u8>>>,
}

impl TxState for Effects<'_> {
    fn get(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        let key = (namespace.to_owned(), key.to_owned());
        self.reads.insert(key.clone());
        match self.writes.get(&key) {
            Some(pending) => pending.clone(),
            None => self.world.get(&key).cloned(),
        }
    }

    fn put(&mut self, namespace: &str, key: &str, value: Option<Vec<u8>>) {
        self.writes
            .insert((namespace.to_owned(), key.to_owned()), value);
    }

    fn discard_writes(&mut self) {
        self.writes.clear();
    }
}

/// A validator committee with deterministic keys, sorted by address (the order signatures
/// must come in).
pub(crate) struct Committee {
    keys: Vec<ValidatorKey>,
}

impl Committee {
    /// `n` keys derived from `label` (see [`derived_keys`]).
    pub(crate) fn new(label: &str, n: usize) -> Self {
        Committee {
            keys: derived_keys(label, n),
        }
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
