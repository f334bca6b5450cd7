//! Gas per delivered message for batches of 1, 16 and 128 (a measurement aid: the figures are
//! printed; the assertion is only that batching lowers the per-message cost).

use causeway_devnet::{CHAIN_B, DevChain};

use crate::support::Lane;

#[tokio::test]
async fn batching_lowers_the_gas_per_delivered_message() {
    let b = DevChain::start(CHAIN_B).await.unwrap();
    let mut lane = Lane::open(&b).await;
    let to = *b.recipient.address();
    // Warm the recipient's storage so every measured batch pays the same per-message writes.
    let warm = lane.push(to, &[0u8; 32]);
    lane.deliver(&[warm]).await;
    let mut per_message = Vec::new();
    for n in [1usize, 16, 128] {
        let items: Vec<_> = (0..n)
            .map(|i| lane.push(to, &[(i % 251) as u8 + 1; 32]))
            .collect();
        let receipt = lane.deliver(&items).await;
        let per = receipt.gas_used / n as u64;
        println!(
            "gas: batch of {n:>3} (3-of-5 checkpoint, log size {}, 32-byte bodies to ExampleRecipient): {} total, {per} per message",
            lane.log.size().0,
            receipt.gas_used
        );
        per_message.push(per);
    }
    assert!(per_message[1] < per_message[0], "{per_message:?}");
    assert!(per_message[2] < per_message[1], "{per_message:?}");
}
