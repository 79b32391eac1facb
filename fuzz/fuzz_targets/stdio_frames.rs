//! See `gateway_transport::fuzzing::stdio_frames`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gateway_transport::fuzzing::stdio_frames(data));
