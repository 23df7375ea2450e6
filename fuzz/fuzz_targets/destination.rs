//! URLs a token might be sent to: destinations::Origin::of and TokenDestinations.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::destination(data));
