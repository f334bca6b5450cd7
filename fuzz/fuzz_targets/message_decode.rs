//! `Message::decode` on arbitrary bytes: never panics, and whatever it accepts re-encodes to
//! exactly the input (the encoding is canonical, so a message id names one byte string).
#![no_main]

use causeway_proofs::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        assert_eq!(message.encode(), data, "decode accepted a non-canonical encoding");
        let _ = message.id();
    }
});
