//! Integration tests of `causeway-proofs`, one binary (see STYLE.md): published vectors,
//! differential tests against other Merkle implementations, and property tests.

mod attestation;
mod bundle;
mod checkpoint;
mod eth_trie;
mod ethereum_signing;
mod evm_checked_blocks;
mod evm_receipts;
mod evm_transactions;
mod fisco;
mod hmac_sm3;
mod merkle;
mod message;
mod rfc6962;
mod sm2;
mod sm3;
mod vectors;
mod wycheproof_secp256k1;
