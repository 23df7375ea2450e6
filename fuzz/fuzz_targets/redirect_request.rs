//! The request head that reaches the local server's loopback socket.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::redirect_request(data));
