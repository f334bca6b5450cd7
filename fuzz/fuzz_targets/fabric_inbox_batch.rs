//! The Fabric inbox chaincode's `deliverBatch` argument from untrusted bytes: `WireBatch::parse`
//! must fail cleanly (bounded before allocating per item), never panic, and a batch it accepts
//! prints to JSON that parses back to the same batch; its checkpoint converts or is refused.
#![no_main]

use causeway_proofs::fabric::inbox_wire::WireBatch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = WireBatch::parse(data) else {
        return;
    };
    let _ = batch.checkpoint.to_checkpoint();
    let again = WireBatch::parse(&batch.to_json()).expect("a parsed batch prints to a valid one");
    assert_eq!(again, batch);
});
