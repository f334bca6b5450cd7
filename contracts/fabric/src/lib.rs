//! `causeway-chaincode`: the on-chain half of Causeway on Hyperledger Fabric, the twin of the
//! Solidity contracts beside it in `contracts/src/`.
//!
//! - [`outbox`] (`causeway_outbox`): `dispatch` turns an invocation into a Causeway message,
//!   emitted as the chaincode event the Fabric source adapter reads.
//! - [`inbox`] (`causeway_inbox`): `deliverBatch` makes `Inbox.sol`'s checks (checkpoint
//!   signatures, inclusion proofs, replay, pause, forbidden recipients) and hands each message
//!   to its recipient chaincode; failed deliveries can be retried.
//! - [`recipient`] (`causeway_recipient`): an example application, `ExampleRecipient.sol`'s twin.
//!
//! A chaincode is a [`Chaincode`]: called with a [`Stub`], the small interface it needs from the
//! peer that runs it (Fabric's `ChaincodeStubInterface`, reduced to what these chaincodes use:
//! world state, the chaincode event, the creator, the transaction, calls to other chaincodes).
//! [`host::run`] is the one implementation of [`Stub`]: a peer supplies its transaction
//! simulator's state ([`host::TxState`]); the Fabric test network of `causeway-devnet` and the
//! in-memory peer of this crate's tests are the two hosts.

mod args;
pub mod host;
pub mod inbox;
pub mod outbox;
pub mod recipient;
mod stub;
#[cfg(test)]
mod support;
mod wire;

pub use inbox::{INBOX_CHAINCODE, Inbox};
pub use outbox::{DISPATCH_EVENT, OUTBOX_CHAINCODE, Outbox};
pub use recipient::{RECIPIENT_CHAINCODE, Recipient};
pub use stub::{Chaincode, ChaincodeError, NetworkInfo, Response, Stub};
