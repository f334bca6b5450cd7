//! Fabric blocks from untrusted bytes (what a peer's Deliver stream or a native proof carries):
//! `FabricBlock::decode` and every offline check that reads a decoded block (header hash, data
//! hash, validation codes, each transaction's envelope, payload, actions and endorsements, the
//! hash chain) must fail cleanly, never panic. A block that decodes re-encodes to a block that
//! decodes to itself.
#![no_main]

use causeway_proofs::fabric::{FabricBlock, FabricTransaction, verify_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(block) = FabricBlock::decode(data) else {
        return;
    };
    let _ = block.header_hash();
    let _ = block.verify_data_hash();
    let _ = block.validation_codes();
    for (index, bytes) in block.data().data.iter().enumerate() {
        if let Ok(tx) = FabricTransaction::decode(index, bytes) {
            let _ = (tx.tx_id(), tx.channel_id(), tx.header_type());
        }
    }
    let _ = block.transactions();
    let again = FabricBlock::decode(&block.encode()).expect("a decoded block re-encodes");
    assert_eq!(again, block);
    let _ = verify_chain(&[block.clone(), again]);
});
