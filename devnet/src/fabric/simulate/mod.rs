//! How the test peer runs a chaincode: [`simulate`] calls a chaincode of `causeway_chaincode`
//! through [`causeway_chaincode::host::run`] (the one implementation of the chaincodes'
//! [`causeway_chaincode::Stub`] interface) over the peer's state, [`PeerState`], and records
//! what the transaction read and wrote.
//!
//! Keys are namespaced per chaincode, as Fabric's world state is. Every `get_state` records the
//! committed version of the key in the transaction's read set and every `put_state` /
//! `del_state` lands in its write set; both become a real `kvrwset.KVRWSet` in the
//! `ChaincodeAction.results` of the transaction. Unlike Fabric's `GetState`, a read returns the
//! transaction's own pending write of the key when there is one (the read set still records
//! the committed version, so MVCC checks are unchanged).
//!
//! A chaincode may call another with `invoke_chaincode` (Fabric's `InvokeChaincode` on the
//! same channel): the callee's reads and writes join the transaction's read/write set **even
//! when the callee fails**, as in Fabric, where the callee shares the transaction simulator and
//! only its response status tells the caller it failed. A callee learns who called it from
//! `top_level_chaincode` (what Fabric offers: the chaincode of the signed proposal),
//! `call_depth` and `caller` (what the test peer knows besides).
//!
//! The built-in chaincodes are `causeway_chaincode`'s outbox, inbox and recipient; tests may
//! register more with [`super::FabricNetwork::register_chaincode`].

mod rwset;

use std::collections::BTreeMap;

use causeway_adapters::fabric::FabricIdentity;
use causeway_chaincode::NetworkInfo;
use causeway_chaincode::Response;
use causeway_chaincode::host::{Outcome, Proposal, TxState, run};

pub(crate) use causeway_chaincode::host::Chaincodes;
pub use rwset::{RwSet, Version};

/// The world state a simulation reads: `(namespace, key)` to value and committed version.
pub(crate) type WorldState = BTreeMap<(String, String), (Vec<u8>, Version)>;

/// The proposal a simulation runs for: who asked, under which transaction id.
#[derive(Clone, Debug)]
pub(crate) struct TxContext {
    pub(crate) creator: FabricIdentity,
    pub(crate) tx_id: String,
}

/// What one simulation produced.
pub(crate) struct Simulation {
    /// The chaincode's result.
    pub(crate) result: Response,
    /// Reads and writes of every namespace touched (writes empty when `result` is an error).
    pub(crate) rwset: RwSet,
    /// The chaincode event of the top-level chaincode, if it set one.
    pub(crate) event: Option<(String, Vec<u8>)>,
}

/// Runs `function` of chaincode `name` against `world`.
pub(crate) fn simulate(
    network: &NetworkInfo,
    chaincodes: &Chaincodes,
    world: &WorldState,
    tx: &TxContext,
    name: &str,
    function: &str,
    args: &[Vec<u8>],
) -> Simulation {
    let proposal = Proposal {
        network,
        chaincodes,
        creator: tx.creator.serialized(),
        tx_id: &tx.tx_id,
    };
    let mut state = PeerState {
        world,
        rwset: RwSet::default(),
    };
    let Outcome { result, event } = run(proposal, &mut state, name, function, args);
    Simulation {
        result,
        rwset: state.rwset,
        event,
    }
}

/// The peer's transaction simulator: reads record the committed version of the key (for MVCC)
/// and see the transaction's own pending writes.
struct PeerState<'a> {
    world: &'a WorldState,
    rwset: RwSet,
}

impl TxState for PeerState<'_> {
    fn get(&mut self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        let committed = self.world.get(&(namespace.to_owned(), key.to_owned()));
        self.rwset
            .record_read(namespace, key, committed.map(|(_, version)| *version));
        match self.rwset.pending_write(namespace, key) {
            Some(pending) => pending.cloned(),
            None => committed.map(|(value, _)| value.clone()),
        }
    }

    fn put(&mut self, namespace: &str, key: &str, value: Option<Vec<u8>>) {
        self.rwset.record_write(namespace, key, value);
    }

    fn discard_writes(&mut self) {
        self.rwset.discard_writes();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::fabric::pki::{Ca, current_validity};
    use causeway_chaincode::{Chaincode, ChaincodeError, Stub};
    use causeway_proofs::Domain;

    /// Writes `mine`, calls `callee` (which reads `seen`, writes `theirs`, sets an event and
    /// fails when asked), then fails itself when asked.
    struct Caller;
    struct Callee;

    impl Chaincode for Caller {
        fn invoke(&self, stub: &mut dyn Stub, function: &str, args: &[Vec<u8>]) -> Response {
            assert_eq!(
                (stub.top_level_chaincode(), stub.caller(), stub.call_depth()),
                ("caller", None, 0)
            );
            stub.put_state("mine", b"1".to_vec());
            stub.set_event("caller", Vec::new());
            let called = stub.invoke_chaincode("callee", function, args);
            assert_eq!(stub.chaincode_name(), "caller");
            if function == "fail_caller" {
                return Err(ChaincodeError::new("caller failed"));
            }
            Ok(format!("{called:?}").into_bytes())
        }
    }

    impl Chaincode for Callee {
        fn invoke(&self, stub: &mut dyn Stub, function: &str, _args: &[Vec<u8>]) -> Response {
            assert_eq!(stub.get_state("seen").as_deref(), Some(&b"old"[..]));
            stub.put_state("theirs", b"2".to_vec());
            let who = format!(
                "{} {:?} {}",
                stub.top_level_chaincode(),
                stub.caller(),
                stub.call_depth()
            );
            stub.put_state("who", who.into_bytes());
            stub.set_event("callee", Vec::new());
            if function == "fail_callee" {
                Err(ChaincodeError::new("callee failed"))
            } else {
                Ok(b"ok".to_vec())
            }
        }
    }

    fn run(function: &str) -> Simulation {
        let ca = Ca::new("ca.org1.example.com", "org1.example.com").unwrap();
        let (signer, _, _) = ca
            .issue_identity(
                "Org1MSP",
                "User1",
                "client",
                "org1",
                current_validity().unwrap(),
            )
            .unwrap();
        let network = NetworkInfo {
            channel: "causeway".to_owned(),
            domain: Domain(3),
            chain_id: 2001,
            admin: signer.identity().serialized().to_vec(),
        };
        let mut chaincodes = Chaincodes::new();
        chaincodes.insert("caller".to_owned(), Arc::new(Caller));
        chaincodes.insert("callee".to_owned(), Arc::new(Callee));
        let version = Version {
            block_num: 4,
            tx_num: 1,
        };
        let world = WorldState::from([(
            ("callee".to_owned(), "seen".to_owned()),
            (b"old".to_vec(), version),
        )]);
        let tx = TxContext {
            creator: signer.identity().clone(),
            tx_id: "tx".to_owned(),
        };
        simulate(&network, &chaincodes, &world, &tx, "caller", function, &[])
    }

    #[test]
    fn a_called_chaincode_writes_in_its_namespace_and_its_event_is_dropped() {
        let sim = run("ok");
        assert_eq!(sim.result.unwrap(), b"Ok([111, 107])");
        assert_eq!(sim.rwset.write("caller", "mine"), Some(Some(&b"1"[..])));
        assert_eq!(sim.rwset.write("callee", "theirs"), Some(Some(&b"2"[..])));
        assert_eq!(sim.rwset.write("caller", "theirs"), None);
        assert_eq!(
            sim.rwset.write("callee", "who"),
            Some(Some(&b"caller Some(\"caller\") 1"[..])),
            "the callee sees the proposal's chaincode, its caller and its depth"
        );
        assert_eq!(
            sim.rwset.read("callee", "seen"),
            Some(Some(Version {
                block_num: 4,
                tx_num: 1
            }))
        );
        assert_eq!(sim.event.unwrap().0, "caller");
        // The encoding round-trips through kvrwset protos.
        assert_eq!(RwSet::decode(&sim.rwset.encode()).unwrap(), sim.rwset);
    }

    /// Fabric's `InvokeChaincode` shares the transaction simulator with the callee: an error
    /// response from the callee does not undo its writes, and a caller that goes on commits
    /// them.
    #[test]
    fn a_failing_callee_keeps_its_writes_and_reads_as_in_fabric() {
        let sim = run("fail_callee");
        assert_eq!(
            sim.result.unwrap(),
            format!(
                "{:?}",
                Err::<Vec<u8>, _>(ChaincodeError::new("callee failed"))
            )
            .into_bytes()
        );
        assert_eq!(sim.rwset.write("caller", "mine"), Some(Some(&b"1"[..])));
        assert_eq!(sim.rwset.write("callee", "theirs"), Some(Some(&b"2"[..])));
        assert!(sim.rwset.read("callee", "seen").is_some());
    }

    #[test]
    fn a_failing_chaincode_writes_nothing() {
        let sim = run("fail_caller");
        assert_eq!(sim.result, Err(ChaincodeError::new("caller failed")));
        assert_eq!(sim.rwset.write("caller", "mine"), None);
        assert_eq!(sim.rwset.write("callee", "theirs"), None);
    }
}
