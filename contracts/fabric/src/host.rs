//! How a peer runs these chaincodes: [`run`] calls the proposal's [`Chaincode`] with the one
//! implementation of [`Stub`] there is, over the peer's [`TxState`] (its transaction simulator:
//! what the transaction read and wrote over the committed world state). The [`Stub`] contract
//! (namespaced keys, a failed callee's writes kept, a failed proposal's writes dropped, one
//! event per transaction, bounded call depth) is kept here, once; a peer supplies only the
//! state.
//!
//! The in-memory peer of this crate's tests and the Fabric test network of `causeway-devnet`
//! (which records versions for MVCC and encodes real `kvrwset`s) are the two hosts.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{Chaincode, ChaincodeError, NetworkInfo, Response, Stub};

/// The chaincodes installed on a peer, by name.
pub type Chaincodes = BTreeMap<String, Arc<dyn Chaincode>>;

/// How deep chaincode-to-chaincode calls may nest before the call fails.
pub const MAX_CALL_DEPTH: usize = 8;

/// A transaction's view of the world state while it is simulated: the peer records every read
/// and keeps writes pending until commit.
pub trait TxState {
    /// The value of `key` in `namespace`: the transaction's own pending write if any, else the
    /// committed value (`None`: absent or deleted). The read is recorded.
    fn get(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>>;

    /// Records a pending write of `key` in `namespace` (`None`: delete).
    fn put(&mut self, namespace: &str, key: &str, value: Option<Vec<u8>>);

    /// Drops every pending write, keeping the reads (the proposal's chaincode failed).
    fn discard_writes(&mut self);
}

/// The signed proposal a simulation runs for, on a peer with these chaincodes.
#[derive(Clone, Copy)]
pub struct Proposal<'a> {
    /// What the chaincodes read through [`Stub::network`].
    pub network: &'a NetworkInfo,
    /// The chaincodes installed on the peer.
    pub chaincodes: &'a Chaincodes,
    /// The creator's serialized identity ([`Stub::creator_bytes`]).
    pub creator: &'a [u8],
    /// The transaction id.
    pub tx_id: &'a str,
}

/// What the proposal's chaincode answered.
#[derive(Debug)]
pub struct Outcome {
    /// Its response payload or error.
    pub result: Response,
    /// The chaincode event it set, if any (a callee's events are dropped).
    pub event: Option<(String, Vec<u8>)>,
}

/// Runs `function` of chaincode `name` for `proposal` over `state`; when the chaincode fails,
/// its writes (and those of every chaincode it called) are discarded.
pub fn run(
    proposal: Proposal<'_>,
    state: &mut dyn TxState,
    name: &str,
    function: &str,
    args: &[Vec<u8>],
) -> Outcome {
    let Some(chaincode) = proposal.chaincodes.get(name).cloned() else {
        return Outcome {
            result: Err(ChaincodeError(format!(
                "chaincode {name} is not installed on channel {}",
                proposal.network.channel
            ))),
            event: None,
        };
    };
    let mut stub = HostStub {
        proposal,
        state: &mut *state,
        namespace: name.to_owned(),
        top_level: name,
        caller: None,
        depth: 0,
        event: None,
    };
    let result = chaincode.invoke(&mut stub, function, args);
    let event = stub.event.take();
    if result.is_err() {
        state.discard_writes();
    }
    Outcome { result, event }
}

/// The [`Stub`] one chaincode invocation of a simulated transaction sees.
struct HostStub<'a> {
    proposal: Proposal<'a>,
    state: &'a mut dyn TxState,
    namespace: String,
    /// The chaincode the signed proposal invokes.
    top_level: &'a str,
    /// The chaincode that called this one with `invoke_chaincode`, if any.
    caller: Option<String>,
    depth: usize,
    event: Option<(String, Vec<u8>)>,
}

impl Stub for HostStub<'_> {
    fn get_state(&mut self, key: &str) -> Option<Vec<u8>> {
        self.state.get(&self.namespace, key)
    }

    fn put_state(&mut self, key: &str, value: Vec<u8>) {
        self.state.put(&self.namespace, key, Some(value));
    }

    fn del_state(&mut self, key: &str) {
        self.state.put(&self.namespace, key, None);
    }

    fn set_event(&mut self, name: &str, payload: Vec<u8>) {
        self.event = Some((name.to_owned(), payload));
    }

    fn creator_bytes(&self) -> &[u8] {
        self.proposal.creator
    }

    fn tx_id(&self) -> &str {
        self.proposal.tx_id
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
        self.proposal.network
    }

    fn chaincode_names(&self) -> Vec<String> {
        self.proposal.chaincodes.keys().cloned().collect()
    }

    fn invoke_chaincode(&mut self, name: &str, function: &str, args: &[Vec<u8>]) -> Response {
        let chaincode = self
            .proposal
            .chaincodes
            .get(name)
            .cloned()
            .ok_or_else(|| ChaincodeError(format!("chaincode {name} is not installed")))?;
        if self.depth >= MAX_CALL_DEPTH {
            return Err(ChaincodeError(format!(
                "chaincode call depth {MAX_CALL_DEPTH} exceeded calling {name}"
            )));
        }
        let mut callee = HostStub {
            proposal: self.proposal,
            state: &mut *self.state,
            namespace: name.to_owned(),
            top_level: self.top_level,
            caller: Some(self.namespace.clone()),
            depth: self.depth + 1,
            event: None,
        };
        chaincode.invoke(&mut callee, function, args)
    }
}
