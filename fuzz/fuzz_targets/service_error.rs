//! Any Globus service's error answer (first byte: status and content type).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::service_error(data));
