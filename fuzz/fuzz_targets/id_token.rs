//! An id_token, and JSON claims inside a token.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::id_token(data));
