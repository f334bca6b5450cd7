//! Transaction receipts in their consensus encoding (what the receipts trie stores), decoded
//! strictly enough to read their status and logs.
//!
//! A receipt is `rlp([status, cumulativeGasUsed, logsBloom, logs])`, prefixed by its
//! transaction type byte for EIP-2718 typed transactions (1 = EIP-2930, 2 = EIP-1559,
//! 3 = EIP-4844, 4 = EIP-7702); legacy receipts have no prefix. A log is
//! `rlp([address, [topic...], data])`. Pre-Byzantium receipts (a 32-byte post-state root in
//! place of the status) are refused: their success cannot be read from the receipt.

use core::fmt;

use super::rlp::{Ctx, Item, encode_bytes, encode_list, encode_list_header, encode_u64};
use crate::hash::keccak256;
use crate::{Error, EvmAddress, Hash32};

/// Most topics a log can have (LOG0..LOG4).
pub const MAX_TOPICS: usize = 4;

/// The transaction type a receipt belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxType {
    /// Untyped (pre-EIP-2718) transaction: the receipt has no type prefix.
    Legacy,
    /// EIP-2930 access-list transaction (type 1).
    Eip2930,
    /// EIP-1559 fee-market transaction (type 2).
    Eip1559,
    /// EIP-4844 blob transaction (type 3).
    Eip4844,
    /// EIP-7702 set-code transaction (type 4).
    Eip7702,
}

impl TxType {
    /// The EIP-2718 type byte, or `None` for legacy.
    pub fn type_byte(self) -> Option<u8> {
        match self {
            TxType::Legacy => None,
            TxType::Eip2930 => Some(1),
            TxType::Eip1559 => Some(2),
            TxType::Eip4844 => Some(3),
            TxType::Eip7702 => Some(4),
        }
    }

    /// The typed-envelope type for `byte`; [`Error::UnsupportedReceiptType`] otherwise (0 is
    /// not a valid envelope type: legacy receipts carry no prefix).
    pub fn from_type_byte(byte: u8) -> Result<Self, Error> {
        match byte {
            1 => Ok(TxType::Eip2930),
            2 => Ok(TxType::Eip1559),
            3 => Ok(TxType::Eip4844),
            4 => Ok(TxType::Eip7702),
            other => Err(Error::UnsupportedReceiptType { tx_type: other }),
        }
    }
}

/// A 2048-bit log bloom filter (Yellow Paper §4.3.1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bloom(pub [u8; 256]);

impl Bloom {
    /// The bloom of `logs`: for the address and each topic, three bits chosen by the first
    /// three byte pairs of its keccak-256.
    pub fn from_logs(logs: &[Log]) -> Self {
        let mut bloom = [0u8; 256];
        let mut accrue = |data: &[u8]| {
            let h = keccak256(data);
            for i in [0, 2, 4] {
                let bit = ((usize::from(h.0[i]) << 8) | usize::from(h.0[i + 1])) & 2047;
                bloom[255 - bit / 8] |= 1 << (bit % 8);
            }
        };
        for log in logs {
            accrue(&log.address.0);
            for topic in &log.topics {
                accrue(&topic.0);
            }
        }
        Bloom(bloom)
    }
}

impl fmt::Debug for Bloom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// One event log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Log {
    /// The contract that emitted it.
    pub address: EvmAddress,
    /// Its topics: the event signature hash first (for non-anonymous events), then the indexed
    /// arguments. At most [`MAX_TOPICS`].
    pub topics: Vec<Hash32>,
    /// Its non-indexed arguments, ABI-encoded.
    pub data: Vec<u8>,
}

/// A decoded receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Its transaction's type.
    pub tx_type: TxType,
    /// Whether the transaction succeeded (EIP-658 status 1).
    pub status: bool,
    /// Gas used in the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// The bloom filter as committed (normally [`Bloom::from_logs`] of the logs).
    pub logs_bloom: Bloom,
    /// The logs, in emission order.
    pub logs: Vec<Log>,
}

impl Receipt {
    /// A receipt with the bloom computed from its logs.
    pub fn new(tx_type: TxType, status: bool, cumulative_gas_used: u64, logs: Vec<Log>) -> Self {
        Receipt {
            tx_type,
            status,
            cumulative_gas_used,
            logs_bloom: Bloom::from_logs(&logs),
            logs,
        }
    }

    /// The consensus encoding (type byte, if any, then the RLP list): what the receipts trie
    /// stores. [`decode_receipt`] of it returns `self`.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        encode_bytes(if self.status { &[1] } else { &[] }, &mut payload);
        payload.extend_from_slice(&encode_u64(self.cumulative_gas_used));
        encode_bytes(&self.logs_bloom.0, &mut payload);
        let mut logs = Vec::new();
        for log in &self.logs {
            let mut fields = Vec::new();
            encode_bytes(&log.address.0, &mut fields);
            let mut topics = Vec::new();
            for topic in &log.topics {
                encode_bytes(&topic.0, &mut topics);
            }
            encode_list_header(topics.len(), &mut fields);
            fields.extend_from_slice(&topics);
            encode_bytes(&log.data, &mut fields);
            logs.extend_from_slice(&encode_list(&fields));
        }
        encode_list_header(logs.len(), &mut payload);
        payload.extend_from_slice(&logs);
        let mut out = Vec::with_capacity(payload.len() + 10);
        out.extend(self.tx_type.type_byte());
        out.extend_from_slice(&encode_list(&payload));
        out
    }
}

/// Decodes a receipt's consensus encoding, strictly: canonical RLP with nothing trailing,
/// exactly four fields, a status of 0 or 1, a 256-byte bloom, logs of exactly three fields
/// with a 20-byte address and at most four 32-byte topics.
pub fn decode_receipt(bytes: &[u8]) -> Result<Receipt, Error> {
    let ctx = Ctx::new(bytes, "receipt");
    let (tx_type, body) = match bytes.first() {
        None => {
            return Err(Error::Rlp {
                what: "receipt",
                offset: 0,
                reason: "empty receipt".into(),
            });
        }
        Some(&b) if b >= 0xc0 => (TxType::Legacy, bytes),
        Some(&b) if b <= 0x7f => (TxType::from_type_byte(b)?, &bytes[1..]),
        Some(_) => {
            return Err(Error::Rlp {
                what: "receipt",
                offset: 0,
                reason: "neither a typed envelope nor an RLP list".into(),
            });
        }
    };
    let (list, fields) = ctx.list_at(body)?;
    let [status, gas, bloom, logs] = fields.as_slice() else {
        return Err(ctx.fail(
            &list,
            format!("a receipt has 4 fields, not {}", fields.len()),
        ));
    };
    let status = match status.bytes().map_err(|e| ctx.rlp(status, e))? {
        [] => false,
        [1] => true,
        s if s.len() == 32 => {
            return Err(ctx.fail(
                status,
                "pre-Byzantium receipt (post-state root instead of a status)",
            ));
        }
        _ => return Err(ctx.fail(status, "status must be 0 or 1")),
    };
    let cumulative_gas_used = gas.u64().map_err(|e| ctx.rlp(gas, e))?;
    let logs_bloom = Bloom(bloom.fixed::<256>().map_err(|e| ctx.rlp(bloom, e))?);
    let logs = logs
        .list()
        .map_err(|e| ctx.rlp(logs, e))?
        .iter()
        .map(|log| decode_log(&ctx, log))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Receipt {
        tx_type,
        status,
        cumulative_gas_used,
        logs_bloom,
        logs,
    })
}

fn decode_log(ctx: &Ctx<'_>, log: &Item<'_>) -> Result<Log, Error> {
    let fields = log.list().map_err(|e| ctx.rlp(log, e))?;
    let [address, topics, data] = fields.as_slice() else {
        return Err(ctx.fail(log, format!("a log has 3 fields, not {}", fields.len())));
    };
    let address = EvmAddress(address.fixed::<20>().map_err(|e| ctx.rlp(address, e))?);
    let topic_items = topics.list().map_err(|e| ctx.rlp(topics, e))?;
    if topic_items.len() > MAX_TOPICS {
        return Err(ctx.fail(
            topics,
            format!(
                "a log has at most {MAX_TOPICS} topics, not {}",
                topic_items.len()
            ),
        ));
    }
    let topics = topic_items
        .iter()
        .map(|t| t.fixed::<32>().map(Hash32).map_err(|e| ctx.rlp(t, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let data = data.bytes().map_err(|e| ctx.rlp(data, e))?.to_vec();
    Ok(Log {
        address,
        topics,
        data,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample(tx_type: TxType, status: bool) -> Receipt {
        Receipt::new(
            tx_type,
            status,
            0x1234_5678,
            vec![
                Log {
                    address: EvmAddress([0x11; 20]),
                    topics: vec![Hash32([0xaa; 32]), Hash32([0xbb; 32])],
                    data: vec![1, 2, 3],
                },
                Log {
                    address: EvmAddress([0x22; 20]),
                    topics: vec![],
                    data: vec![0u8; 100],
                },
            ],
        )
    }

    #[test]
    fn encode_decode_round_trip_for_every_type() {
        for ty in [
            TxType::Legacy,
            TxType::Eip2930,
            TxType::Eip1559,
            TxType::Eip4844,
            TxType::Eip7702,
        ] {
            for status in [true, false] {
                let r = sample(ty, status);
                let enc = r.encode();
                assert_eq!(decode_receipt(&enc).unwrap(), r);
                assert_eq!(enc[0] >= 0xc0, ty == TxType::Legacy);
            }
        }
    }

    #[test]
    fn strictness() {
        let enc = sample(TxType::Eip1559, true).encode();
        // Trailing byte.
        let mut bad = enc.clone();
        bad.push(0);
        assert!(matches!(decode_receipt(&bad), Err(Error::Rlp { .. })));
        // Unknown and zero type bytes.
        for ty in [0u8, 5, 0x7e, 0x7f] {
            let mut bad = enc.clone();
            bad[0] = ty;
            assert_eq!(
                decode_receipt(&bad),
                Err(Error::UnsupportedReceiptType { tx_type: ty })
            );
        }
        // A string where the list belongs.
        assert!(decode_receipt(&[0x02, 0x80]).is_err());
        assert!(decode_receipt(&[0x85, 1, 2, 3, 4, 5]).is_err());
        assert!(decode_receipt(&[]).is_err());
        // Status 2.
        // The status follows the type byte and the list header.
        let header = if enc[1] >= 0xf8 {
            1 + usize::from(enc[1] - 0xf7)
        } else {
            1
        };
        let status_at = 1 + header;
        assert_eq!(enc[status_at], 0x01);
        let mut bad = enc.clone();
        bad[status_at] = 0x02;
        assert!(decode_receipt(&bad).is_err());
    }
}
