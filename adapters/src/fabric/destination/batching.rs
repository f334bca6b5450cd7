//! How a delivery batch is cut into transactions: parts of at most `max_items` messages and
//! `max_bytes` of [`FabricDeliveryBatch`] JSON each (the inbox refuses more than 512 items or
//! 1 MiB).

use super::FabricDestinationConfig;
use crate::Error;
use crate::chain::DeliveryBatch;
use crate::fabric::inbox_wire::FabricDeliveryBatch;

/// Splits `batch` into consecutive ranges within the item and byte budgets of `config`.
pub(super) fn plan(
    batch: &DeliveryBatch,
    config: &FabricDestinationConfig,
) -> Result<Vec<core::ops::Range<usize>>, Error> {
    let wire = FabricDeliveryBatch::from_batch(batch);
    let mut empty = wire.clone();
    empty.items.clear();
    // The JSON of a part: the envelope, plus each item and a comma.
    let overhead = empty.to_json().len();
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0, overhead);
    for (i, item) in wire.items.iter().enumerate() {
        let size = serde_json::to_vec(item)
            .expect("plain data serialises")
            .len()
            + 1;
        if overhead + size > config.max_bytes {
            return Err(Error::InvalidBatch {
                reason: format!(
                    "message {} needs {} bytes, over the budget of {} per transaction",
                    batch.items[i].message.id(),
                    overhead + size,
                    config.max_bytes
                ),
            });
        }
        if i > start && (i - start == config.max_items || bytes + size > config.max_bytes) {
            parts.push(start..i);
            start = i;
            bytes = overhead;
        }
        bytes += size;
    }
    parts.push(start..wire.items.len());
    Ok(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use causeway_proofs::Domain;

    use super::*;

    fn batch(n: usize, body: usize) -> DeliveryBatch {
        use causeway_proofs::{Address32, Message, Nonce};
        let messages: Vec<Message> = (0..n)
            .map(|i| {
                Message::new(
                    Nonce(i as u64),
                    Domain(1),
                    Address32([1; 32]),
                    Domain(2),
                    Address32([2; 32]),
                    vec![7; body],
                )
                .unwrap()
            })
            .collect();
        DeliveryBatch::logged(
            Domain(1),
            messages,
            vec![causeway_proofs::Signature([1; 65])],
        )
    }

    #[test]
    fn batches_split_by_count_and_by_bytes_and_every_part_fits() {
        let mut config = FabricDestinationConfig::new(Domain(2), 2001, "causeway");
        config.max_items = 4;
        let b = batch(10, 10);
        assert_eq!(plan(&b, &config).unwrap(), vec![0..4, 4..8, 8..10]);
        // 20 KiB bodies (40 KiB of hex each) in a 128 KiB budget: 3 per part.
        let b = batch(7, 20 * 1024);
        config.max_items = 128;
        config.max_bytes = 128 * 1024;
        let parts = plan(&b, &config).unwrap();
        assert_eq!(parts, vec![0..3, 3..6, 6..7]);
        for range in parts {
            let json = FabricDeliveryBatch::from_batch(&b.slice(range)).to_json();
            assert!(json.len() <= config.max_bytes, "{}", json.len());
        }
        config.max_bytes = 30 * 1024;
        assert!(matches!(plan(&b, &config), Err(Error::InvalidBatch { .. })));
        assert_eq!(plan(&batch(1, 1), &config).unwrap(), vec![0..1]);
    }
}
