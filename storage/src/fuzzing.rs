//! Fuzzing entry points: one function per parser of the bytes of a token store.
//!
//! Each function takes arbitrary bytes, runs them through the parser the way the
//! storages do, and checks a few cheap invariants with `assert!`. None of them may
//! panic on any input: a token file can be damaged, or edited by hand.
//!
//! The cargo-fuzz targets in `fuzz/fuzz_targets/` are one-line calls of these
//! functions, and `tests/fuzz_corpus.rs` replays every file of `fuzz/corpus/<name>/`
//! through the function of the same name, so the corpora run with `cargo test`.
//! Both build without the `sqlite` feature (no `rusqlite`).
//!
//! Not a public API: hidden from the documentation, and free to change.

use crate::json::Document;
use crate::testing::sample_token;
use crate::token::{token_from_json_text, token_from_value, token_to_value};
use crate::{DEFAULT_NAMESPACE, StorageError, TokenData};
use globus_app_core::fuzzing::assert_quotes_no_token;
use std::path::Path;

/// The path error messages name.
const PATH: &str = "fuzz/tokens.json";
/// The resource server a store adds, and a row is read for.
const RESOURCE_SERVER: &str = "transfer.api.globus.org";

/// The bytes of a JSON token file (format `1.0` or `2.0`): what every read of
/// [`JsonTokenStorage`](crate::JsonTokenStorage) does with them (parse, then read
/// each namespace's entries), and what a store does (add an entry, write the file).
///
/// Checks that errors quote no token; that every entry read writes back to the
/// same token data; and that a stored file parses again, with the new entry and
/// every other namespace as they were.
pub fn json_token_file(data: &[u8]) {
    let path = Path::new(PATH);
    let mut document = match Document::parse(path, data) {
        Ok(document) => document,
        Err(error) => {
            check_error(data, &error);
            return;
        }
    };
    // A read: every entry of every namespace.
    let namespaces: Vec<String> = document.data.keys().cloned().collect();
    for namespace in &namespaces {
        match document.take_namespace(path, namespace) {
            Ok(Some(entries)) => {
                for (resource_server, value) in entries {
                    match token_from_value(value, namespace, &resource_server) {
                        Ok(token) => check_round_trip(&token, namespace, &resource_server),
                        Err(reason) => {
                            check_error(data, &StorageError::invalid_file(path, reason));
                        }
                    }
                }
            }
            Ok(None) => unreachable!("the namespace was listed"),
            Err(error) => check_error(data, &error),
        }
    }
    // A store into the default namespace, then the file written read back.
    let Ok(mut document) = Document::parse(path, data) else {
        unreachable!("the same bytes parsed a moment ago");
    };
    let token = sample_token(RESOURCE_SERVER);
    match document.namespace_mut(path, DEFAULT_NAMESPACE) {
        Ok(entries) => {
            entries.insert(RESOURCE_SERVER.to_owned(), token_to_value(&token));
        }
        Err(error) => {
            check_error(data, &error);
            return;
        }
    }
    let expected = document.data.clone();
    match document.into_bytes(path) {
        Ok(written) => match Document::parse(path, &written) {
            Ok(reread) => assert!(
                reread.data == expected,
                "the file written reads back different"
            ),
            Err(error) => panic!("the file written cannot be read back: {error}"),
        },
        // Token data nested too deeply to be written: refused, with a typed error.
        Err(error) => check_error(data, &error),
    }
}

/// The JSON text of a SQLite row's `token_data_json` column, as
/// [`SqliteTokenStorage`](crate::SqliteTokenStorage) reads it; built without the
/// `sqlite` feature (the parsing needs no SQLite).
///
/// Checks that errors quote no token, and that token data read writes back (as a
/// store does) to the same token data.
pub fn sqlite_row(data: &[u8]) {
    match token_from_json_text(data, DEFAULT_NAMESPACE, RESOURCE_SERVER) {
        Ok(token) => check_round_trip(&token, DEFAULT_NAMESPACE, RESOURCE_SERVER),
        Err(reason) => check_error(data, &StorageError::invalid_file(Path::new(PATH), reason)),
    }
}

/// Token data written as a store writes it reads back equal.
fn check_round_trip(token: &TokenData, namespace: &str, resource_server: &str) {
    let text = token_to_value(token).to_string();
    let reread = token_from_json_text(text.as_bytes(), namespace, resource_server);
    assert!(
        reread.as_ref() == Ok(token),
        "token data changed when written and read back"
    );
}

/// An error names the path and quotes no token of the input.
fn check_error(data: &[u8], error: &StorageError) {
    let message = error.to_string();
    assert!(
        message.contains(PATH),
        "the error does not name the file: {message}"
    );
    assert_quotes_no_token(data, &format!("{message} {error:?}"));
}
