//! What the storages on a server (Redis, PostgreSQL) share: URLs shown without
//! their password, typed errors, and rows read into token data.

use crate::token::{describe_entry, read_token_json_text};
use crate::{LoadedNamespace, StorageError, TokenData, UnreadableEntry};
use std::collections::BTreeMap;
use std::fmt;

/// The URL without its password (nor its query), for messages; `kind` names the
/// store when the URL does not parse.
pub(crate) fn redact(url: &str, kind: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => format!("(an unparsable {kind} URL)"),
    }
}

/// The error of a store on a server.
pub(crate) fn server_error(
    shown: &str,
    action: &'static str,
    error: &dyn fmt::Display,
) -> StorageError {
    StorageError::Server {
        server: shown.to_owned(),
        action,
        reason: error.to_string(),
    }
}

/// Reads a namespace's rows strictly: an unreadable entry fails the read.
pub(crate) fn strict(
    shown: &str,
    namespace: &str,
    rows: Vec<(String, Vec<u8>)>,
) -> Result<BTreeMap<String, TokenData>, StorageError> {
    rows.into_iter()
        .map(|(resource_server, json)| {
            let token = read_token_json_text(&json)
                .map_err(|problem| entry_error(shown, namespace, &resource_server, &problem))?;
            Ok((resource_server, token))
        })
        .collect()
}

/// Reads a namespace's rows, setting the unreadable entries aside.
pub(crate) fn lenient(namespace: &str, rows: Vec<(String, Vec<u8>)>) -> LoadedNamespace {
    let mut loaded = LoadedNamespace::default();
    for (resource_server, json) in rows {
        match read_token_json_text(&json) {
            Ok(token) => {
                loaded.tokens.insert(resource_server, token);
            }
            Err(reason) => loaded.unreadable.push(UnreadableEntry::new(
                None,
                namespace,
                resource_server,
                reason,
            )),
        }
    }
    loaded
        .unreadable
        .sort_by(|a, b| a.resource_server.cmp(&b.resource_server));
    loaded
}

/// The error for one entry that cannot be read (no value from it).
pub(crate) fn entry_error(
    shown: &str,
    namespace: &str,
    resource_server: &str,
    problem: &str,
) -> StorageError {
    server_error(
        shown,
        "read tokens from",
        &format!("{}: {problem}", describe_entry(namespace, resource_server)),
    )
}
