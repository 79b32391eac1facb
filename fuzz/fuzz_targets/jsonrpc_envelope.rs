//! The JSON-RPC envelope parser: any bytes either fail to parse or round-trip
//! (serialised and parsed again, the same message).
#![no_main]

use gateway_core::jsonrpc::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::parse(data) {
        let bytes = message.to_vec();
        let again = Message::parse(&bytes).expect("a serialised message parses");
        assert_eq!(again.to_vec(), bytes, "serialising is not stable");
        assert_eq!(again.method(), message.method());
    }
});
