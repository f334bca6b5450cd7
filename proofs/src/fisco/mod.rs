//! Native proofs of FISCO BCOS 3.x chains: that a block committed by its sealers holds a
//! receipt whose Outbox logs carry given messages, checked offline in either crypto mode.
//!
//! - [`CryptoMode`], [`NodeKey`], [`NodeSecret`]: Keccak-256 + secp256k1 or SM3 + SM2, node
//!   ids and the signatures of transactions and sealers.
//! - [`Transaction`], [`Receipt`], [`Header`]: the hashed fields and FISCO BCOS's hashes
//!   (field concatenation, no length prefixes); [`tars`] the binary form of a signed
//!   transaction.
//! - [`merkle`]: the width-2 Merkle tree of a block's transactions and receipts and its proofs.
//! - [`SealerSet`]: the configured sealers and the 2f+1 distinct-sealer seal check.
//! - [`FiscoSourceProof`]: header seal → receipts root → receipt → `Dispatch` logs.
//! - [`json`]: the JSON-RPC shapes of blocks, receipts and transactions.
//!
//! Facts and sources: `docs/fisco.md`. Everything here is computation over bytes: no I/O.

pub mod block;
mod crypto;
mod error;
pub mod json;
pub mod merkle;
mod sealer;
mod source;
pub mod tars;
mod types;

pub use block::{BlockParams, HEADER_VERSION, SealedBlock};
pub use crypto::{CryptoMode, ECDSA_SIGNATURE_LEN, NodeKey, NodeSecret, SM2_SIGNATURE_LEN};
pub use error::FiscoError;
pub use sealer::{MAX_SIGNATURES, MIN_SEALERS, SealerSet, VerifiedSeal};
pub use source::{DispatchedMessage, FiscoSourceProof, VerifiedSource};
pub use types::{
    Header, LogEntry, ParentInfo, Receipt, SealerSignature, Transaction, TransactionData,
    VerifiedTransaction,
};
