//! The bytes of a JSON token file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_storage::fuzzing::json_token_file(data));
