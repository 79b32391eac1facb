//! See `gateway_transport::fuzzing::sse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gateway_transport::fuzzing::sse(data));
