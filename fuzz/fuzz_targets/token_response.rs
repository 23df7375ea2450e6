//! A token endpoint response (first byte: status and content type).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::token_response(data));
