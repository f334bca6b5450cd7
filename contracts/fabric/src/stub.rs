//! The chaincode plug-in API: a [`Chaincode`] is called with a [`Stub`] (Fabric's
//! `ChaincodeStubInterface`, reduced to what Causeway's chaincodes need) and returns its
//! response payload or a [`ChaincodeError`] (a `500` response with that message).
//!
//! The contract a host (a peer) keeps when it implements [`Stub`]:
//!
//! - Keys are namespaced per chaincode, as Fabric's world state is: [`Stub::get_state`],
//!   [`Stub::put_state`] and [`Stub::del_state`] act on the running chaincode's namespace.
//!   A read returns the transaction's own pending write of the key when there is one, else the
//!   committed value. Writes are applied at commit, if the transaction is valid; nothing a
//!   proposal's chaincode wrote is kept when it returns an error.
//! - [`Stub::invoke_chaincode`] is Fabric's `InvokeChaincode` on the same channel: the callee
//!   runs in its own namespace and its reads and writes join the transaction **even when it
//!   fails**, as in Fabric, where the callee shares the transaction simulator and only its
//!   response status tells the caller it failed. A chaincode called by another must therefore
//!   validate before it writes. An event the callee sets is dropped.
//! - A callee learns who called it from [`Stub::top_level_chaincode`] (what Fabric offers: the
//!   chaincode of the signed proposal), [`Stub::call_depth`] and [`Stub::caller`] (what the
//!   test peer knows besides).

use causeway_proofs::Domain;

/// What a chaincode answers: its response payload (status 200), or the error a peer answers
/// with status 500 (Fabric's `pb.Response`).
pub type Response = Result<Vec<u8>, ChaincodeError>;

/// A chaincode: Fabric's `Invoke(stub)` with the function name and arguments already split
/// (`ChaincodeInput.args[0]` is the function).
pub trait Chaincode: Send + Sync {
    /// Runs `function` with `args`; the returned bytes are the response payload (status 200).
    fn invoke(&self, stub: &mut dyn Stub, function: &str, args: &[Vec<u8>]) -> Response;
}

/// A chaincode failure. From the proposal's chaincode, the peer answers with status 500 and
/// this message, and nothing the transaction wrote is kept; from a chaincode called with
/// [`Stub::invoke_chaincode`], the caller gets the error and the callee's writes stay in the
/// transaction (Fabric's semantics).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChaincodeError(pub String);

impl ChaincodeError {
    /// A failure with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Facts about the network every chaincode may read through [`Stub::network`]: what a real
/// deployment would give the chaincodes as their initialisation arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkInfo {
    /// The channel name.
    pub channel: String,
    /// The Causeway domain of this network (origin of the outbox's messages, destination of
    /// the inbox's).
    pub domain: Domain,
    /// The channel's configured chain id (non-zero): the destination chain id of the inbox's
    /// signing domain.
    pub chain_id: u64,
    /// The serialized `msp.SerializedIdentity` (MSP id and certificate) of the inbox admin:
    /// the bytes [`Stub::creator_bytes`] returns when the admin signs the proposal.
    pub admin: Vec<u8>,
}

/// The chaincode's view of the transaction being simulated and of the world state, as the
/// peer running it provides (see the module docs for the contract an implementation keeps).
pub trait Stub {
    /// The value of `key` in this chaincode's namespace: the transaction's own pending write
    /// if any, else the committed value (`None`: absent or deleted). The peer records the read.
    fn get_state(&mut self, key: &str) -> Option<Vec<u8>>;

    /// Writes `value` under `key` in this chaincode's namespace (applied at commit, if the
    /// transaction is valid).
    fn put_state(&mut self, key: &str, value: Vec<u8>);

    /// Deletes `key` from this chaincode's namespace (at commit, if the transaction is valid).
    fn del_state(&mut self, key: &str);

    /// Sets the transaction's chaincode event. As in Fabric, there is one event per
    /// transaction: a second call replaces the first, and events set by a called chaincode are
    /// not part of the transaction.
    fn set_event(&mut self, name: &str, payload: Vec<u8>);

    /// The creator's serialized `msp.SerializedIdentity` bytes (Fabric's `GetCreator`): the
    /// identity that signed the proposal.
    fn creator_bytes(&self) -> &[u8];

    /// The transaction id.
    fn tx_id(&self) -> &str;

    /// The name of the chaincode running (its key namespace).
    fn chaincode_name(&self) -> &str;

    /// The chaincode the transaction's signed proposal invokes: the name Fabric gives a
    /// chaincode as `GetSignedProposal()` -> `Proposal.payload` -> `ChaincodeProposalPayload.input`
    /// -> `ChaincodeInvocationSpec.chaincode_spec.chaincode_id.name`. It is this chaincode's own
    /// name unless another chaincode called it; a client cannot make it differ from the
    /// chaincode its proposal names.
    fn top_level_chaincode(&self) -> &str;

    /// How many [`Stub::invoke_chaincode`] calls this invocation is nested in: 0 for the
    /// proposal's chaincode, 1 for a chaincode it called, and so on. (A chaincode on a real
    /// peer cannot learn this; the test peer knows it.)
    fn call_depth(&self) -> usize;

    /// The chaincode that called this one with [`Stub::invoke_chaincode`], or `None` when this
    /// is the proposal's chaincode. (A chaincode on a real peer cannot learn this; the test
    /// peer knows it.)
    fn caller(&self) -> Option<&str>;

    /// Facts about the network (channel, Causeway domain, chain id, inbox admin).
    fn network(&self) -> &NetworkInfo;

    /// The names of the chaincodes installed on the peer, sorted.
    fn chaincode_names(&self) -> Vec<String>;

    /// Calls `function` of chaincode `name` in the same transaction (Fabric's
    /// `InvokeChaincode` on the same channel). The callee runs in its own key namespace; its
    /// reads and writes join the transaction's read/write set whether it returns `Ok` or an
    /// error (as in Fabric: an error response does not undo what the callee wrote, so a
    /// chaincode meant to be called must validate before it writes), and an event it sets is
    /// dropped.
    fn invoke_chaincode(&mut self, name: &str, function: &str, args: &[Vec<u8>]) -> Response;

    /// The channel name (of [`Stub::network`]).
    fn channel(&self) -> &str {
        &self.network().channel
    }
}
