//! What a user pastes into the command-line login.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_core::fuzzing::redirect_pasted(data));
