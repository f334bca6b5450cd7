//! The EVM decoders of untrusted bytes: receipts (typed and legacy) and block headers. They must
//! return an error or a value, never panic; an accepted receipt re-encodes to the same bytes.
#![no_main]

use causeway_proofs::evm::{decode_header, decode_receipt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(receipt) = decode_receipt(data) {
        assert_eq!(receipt.encode(), data, "strict decoding must be canonical");
    }
    let _ = decode_header(data);
});
