//! A Globus service's error body read for login requirements (GARE).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::gare(data));
