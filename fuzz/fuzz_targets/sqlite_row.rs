//! The JSON text of a SQLite token row.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| globus_app_storage::fuzzing::sqlite_row(data));
