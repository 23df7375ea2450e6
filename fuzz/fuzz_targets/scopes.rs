//! Scope strings: scopes::parse and Scope::from_str.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::scopes(data));
