//! A transcript read from JSON, redacted and replayed against the core.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::transcript(data));
