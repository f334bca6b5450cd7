//! `causeway-adapters`: the boundary between Causeway and the chains it connects.
//!
//! The relayer talks to "a chain" only through the small traits of [`chain`], defined here for
//! it: a [`Source`] streams finalized messages from a cursor with their native proofs (and
//! detects reorganisations below the cursor), a [`NativeVerifier`] re-checks such a proof
//! offline, a [`Destination`] submits delivery batches and reports their outcomes, and a
//! [`StateReader`] reads a value with a proof. Each chain family implements them in its own
//! module: [`evm`] (alloy), [`fabric`] (tonic gRPC: Fabric's Gateway and Deliver services) and
//! [`fisco`] (FISCO BCOS's JSON-RPC, either crypto mode; not yet wired into the gateway).
//! Nothing above this crate touches a
//! chain client; `memory` (feature `test-utils`, never in a production build) is an in-memory
//! chain for the relayer's tests.
//!
//! A watch loop, against the in-memory chain (an EVM chain is the same with
//! [`evm::EvmSource`]):
//!
//! ```
//! use causeway_adapters::memory::MemoryChain;
//! use causeway_adapters::{Cursor, Error, NativeVerifier, Source};
//! use causeway_proofs::{Address32, Domain, Message, Nonce};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let origin = MemoryChain::new(Domain(1), 2); // final 2 blocks below the head
//! let message = Message::new(Nonce(0), Domain(1), Address32([1; 32]), Domain(2),
//!     Address32([2; 32]), b"hello".to_vec())?;
//! origin.emit(vec![message.clone()]);
//! origin.mine(2);
//!
//! let mut cursor = Cursor::Start { height: 0 };
//! let mut seen = Vec::new();
//! loop {
//!     let batch = origin.next_batch(&cursor).await?;
//!     for observed in &batch.messages {
//!         origin.verify(observed)?; // the relayer's verify stage, offline
//!         seen.push(observed.id());
//!     }
//!     cursor = batch.cursor.clone(); // persisted with the messages, atomically
//!     if batch.caught_up() {
//!         break;
//!     }
//! }
//! assert_eq!(seen, vec![message.id()]);
//! # Ok(())
//! # }
//! ```
//!
//! Dependencies point down only: this crate depends on `causeway-proofs` (messages, proofs) and
//! on the chain clients.

pub mod chain;
mod error;
pub mod evm;
pub mod fabric;
pub mod fisco;
#[cfg(any(test, feature = "test-utils"))]
pub mod memory;
pub mod metrics;
pub mod retry;

pub use causeway_proofs::{Domain, Message, MessageId};
pub use chain::{
    BlockId, BlockRef, Cursor, DeliveryBatch, DeliveryItem, DeliveryStatus, Destination,
    DynDestination, DynSource, DynStateReader, MessageOutcome, NativeVerifier, NoRecorder,
    ObservedMessage, ReadAt, ReadKind, Recorder, RevertReason, SignedSubmission, Source,
    SourceBatch, StateQuery, StateRead, StateReader, Submission, SubmissionHandle,
    SubmissionOutcome,
};
pub use error::{BoxError, Error, redact_endpoint};
