//! Replays the fuzz corpora of the core's parsers (`fuzz/corpus/<target>/`) through
//! the same entry points as the cargo-fuzz targets (`globus_app_core::fuzzing`), so every
//! seed and every crash input found so far runs with `cargo test`. See fuzz/README.md.

use globus_app_core::fuzzing;
use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

/// Replays every file of `fuzz/corpus/<target>/` through `entry`.
///
/// Fails if the directory is missing or holds no file (so the test cannot pass by
/// finding nothing), and names each file whose input panicked.
fn replay(target: &str, entry: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let listing = fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "corpus directory {} of fuzz target {target} cannot be read: {e}",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = listing
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "corpus directory {} of fuzz target {target} holds no file",
        dir.display()
    );
    let mut panicked = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        if panic::catch_unwind(|| entry(&data)).is_err() {
            // The panic message was printed just above by the panic hook.
            eprintln!("fuzz target {target} panicked on {}", file.display());
            panicked.push(file.display().to_string());
        }
    }
    assert!(
        panicked.is_empty(),
        "fuzz target {target} panicked on {} of {} corpus files:\n  {}",
        panicked.len(),
        files.len(),
        panicked.join("\n  ")
    );
    // Each target of this crate has its cargo-fuzz binary, and the other way round.
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/fuzz_targets")
        .join(format!("{target}.rs"));
    assert!(source.is_file(), "{} is missing", source.display());
}

#[test]
fn scopes() {
    replay("scopes", fuzzing::scopes);
}

#[test]
fn token_response() {
    replay("token_response", fuzzing::token_response);
}

#[test]
fn consents_response() {
    replay("consents_response", fuzzing::consents_response);
}

#[test]
fn gare() {
    replay("gare", fuzzing::gare);
}

#[test]
fn redirect_request() {
    replay("redirect_request", fuzzing::redirect_request);
}

#[test]
fn redirect_pasted() {
    replay("redirect_pasted", fuzzing::redirect_pasted);
}

#[test]
fn id_token() {
    replay("id_token", fuzzing::id_token);
}

#[test]
fn destination() {
    replay("destination", fuzzing::destination);
}

#[test]
fn service_error() {
    replay("service_error", fuzzing::service_error);
}

#[test]
fn transcript() {
    replay("transcript", fuzzing::transcript);
}
