//! Ethereum block headers: the block hash is keccak-256 of the header's RLP, and the header
//! commits to the receipts root a receipt proof is checked against.
//!
//! Only the first fifteen fields (the Frontier layout, shared by every fork) are decoded
//! positionally and typed; the fields later forks append (base fee, withdrawals root, blob gas,
//! parent beacon root, requests hash, …) and any field a chain adds are accepted as long as
//! they are well-formed RLP. The hash is always taken over the raw bytes, so nothing a fork
//! adds can be lost or reordered.

use super::rlp::Ctx;
use crate::hash::keccak256;
use crate::{Error, EvmAddress, Hash32};

/// Longest header accepted: 64 KiB (mainnet headers are about 600 bytes; QBFT and Clique
/// headers carry validators and seals in their extra data, still a few KiB).
pub const MAX_HEADER_LEN: usize = 64 * 1024;

/// Fields every header has (parentHash … nonce).
const BASE_FIELDS: usize = 15;

/// The block hash of an RLP-encoded header: its keccak-256.
pub fn header_hash(rlp_header: &[u8]) -> Hash32 {
    keccak256(rlp_header)
}

/// The fields of a header a source proof needs, with the raw header they were read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmHeader {
    /// keccak-256 of [`EvmHeader::raw`]: the block hash.
    pub hash: Hash32,
    /// The parent block's hash (reorg detection follows these links).
    pub parent_hash: Hash32,
    /// Fee recipient.
    pub beneficiary: EvmAddress,
    /// State trie root after the block.
    pub state_root: Hash32,
    /// Transactions trie root.
    pub transactions_root: Hash32,
    /// Receipts trie root.
    pub receipts_root: Hash32,
    /// Block number.
    pub number: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Unix timestamp in seconds.
    pub timestamp: u64,
    /// Number of fields (15 for Frontier, 16 London, 17 Shanghai, 20 Cancun, 21 Prague).
    pub field_count: usize,
    /// The header's RLP, as hashed.
    pub raw: Vec<u8>,
}

/// Decodes an RLP header strictly (canonical RLP, nothing trailing, typed base fields: 32-byte
/// hashes, 20-byte beneficiary, 256-byte bloom, canonical integers, 8-byte nonce).
pub fn decode_header(rlp_header: &[u8]) -> Result<EvmHeader, Error> {
    if rlp_header.len() > MAX_HEADER_LEN {
        return Err(Error::Rlp {
            what: "block header",
            offset: MAX_HEADER_LEN,
            reason: format!(
                "header of {} bytes exceeds the maximum of {MAX_HEADER_LEN}",
                rlp_header.len()
            ),
        });
    }
    let ctx = Ctx::new(rlp_header, "block header");
    let (list, fields) = ctx.top_list()?;
    if fields.len() < BASE_FIELDS {
        return Err(ctx.fail(
            &list,
            format!(
                "a header has at least {BASE_FIELDS} fields, not {}",
                fields.len()
            ),
        ));
    }
    let hash32 = |i: usize| {
        fields[i]
            .fixed::<32>()
            .map(Hash32)
            .map_err(|e| ctx.rlp(&fields[i], e))
    };
    let uint = |i: usize| fields[i].u64().map_err(|e| ctx.rlp(&fields[i], e));
    let parent_hash = hash32(0)?;
    hash32(1)?; // ommers hash
    let beneficiary = EvmAddress(
        fields[2]
            .fixed::<20>()
            .map_err(|e| ctx.rlp(&fields[2], e))?,
    );
    let state_root = hash32(3)?;
    let transactions_root = hash32(4)?;
    let receipts_root = hash32(5)?;
    fields[6]
        .fixed::<256>()
        .map_err(|e| ctx.rlp(&fields[6], e))?; // logs bloom
    fields[7]
        .uint_bytes(32)
        .map_err(|e| ctx.rlp(&fields[7], e))?; // difficulty
    let number = uint(8)?;
    let gas_limit = uint(9)?;
    let gas_used = uint(10)?;
    let timestamp = uint(11)?;
    fields[12].bytes().map_err(|e| ctx.rlp(&fields[12], e))?; // extra data
    hash32(13)?; // mix hash / prevRandao
    fields[14]
        .fixed::<8>()
        .map_err(|e| ctx.rlp(&fields[14], e))?; // nonce
    Ok(EvmHeader {
        hash: header_hash(rlp_header),
        parent_hash,
        beneficiary,
        state_root,
        transactions_root,
        receipts_root,
        number,
        gas_limit,
        gas_used,
        timestamp,
        field_count: fields.len(),
        raw: rlp_header.to_vec(),
    })
}
