//! What [`TokenStorage::load_namespace`](crate::TokenStorage::load_namespace) returns:
//! the token data that could be read, and the entries that could not.

use crate::TokenData;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// One namespace's token data, as an app loads it: the entries that could be read,
/// and those that could not (which count as missing).
///
/// ```
/// use globus_app_storage::{LoadedNamespace, UnreadableEntry};
/// use globus_app_storage::testing::sample_token;
/// use std::collections::BTreeMap;
///
/// let tokens = BTreeMap::from([("a".to_owned(), sample_token("a"))]);
/// let loaded = LoadedNamespace::new(tokens, Vec::new());
/// assert!(loaded.tokens.contains_key("a"));
/// assert!(loaded.unreadable.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct LoadedNamespace {
    /// The token data that could be read, by resource server.
    pub tokens: BTreeMap<String, TokenData>,
    /// The entries that could not be read, in resource server order.
    pub unreadable: Vec<UnreadableEntry>,
}

impl LoadedNamespace {
    /// Token data and unreadable entries, e.g. from a storage of your own.
    pub fn new(tokens: BTreeMap<String, TokenData>, unreadable: Vec<UnreadableEntry>) -> Self {
        Self { tokens, unreadable }
    }

    /// Adds one entry as read from `path`: its token data, or why it could not be
    /// read (a reason that must not contain a value from the entry).
    pub(crate) fn add(
        &mut self,
        path: &std::path::Path,
        namespace: &str,
        resource_server: String,
        read: Result<TokenData, String>,
    ) {
        match read {
            Ok(token) => {
                self.tokens.insert(resource_server, token);
            }
            Err(reason) => self.unreadable.push(UnreadableEntry::new(
                Some(path.to_owned()),
                namespace,
                resource_server,
                reason,
            )),
        }
    }
}

impl From<BTreeMap<String, TokenData>> for LoadedNamespace {
    /// Token data with nothing unreadable.
    fn from(tokens: BTreeMap<String, TokenData>) -> Self {
        Self::new(tokens, Vec::new())
    }
}

/// A resource server's entry that is stored but cannot be read as token data (a
/// field of the wrong type, text that is not JSON). It counts as missing: a login
/// replaces it, a logout removes it, and the other entries keep their values.
///
/// Neither `Display` nor `Debug` shows a value from the entry: the reason names the
/// field at fault and what is wrong with it.
///
/// ```
/// use globus_app_storage::UnreadableEntry;
/// let entry = UnreadableEntry::new(
///     Some("/home/me/tokens.json".into()),
///     "DEFAULT",
///     "transfer.api.globus.org",
///     "field \"expires_at_seconds\" is a string, expected an integer",
/// );
/// let message = entry.to_string();
/// assert!(message.starts_with("/home/me/tokens.json: the token data of resource server"));
/// assert!(message.contains("log in again to replace it"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnreadableEntry {
    /// The file that holds it, if the storage has one.
    pub path: Option<PathBuf>,
    /// Its namespace.
    pub namespace: String,
    /// Its resource server.
    pub resource_server: String,
    /// What is wrong with it, naming the field at fault but no value.
    pub reason: String,
}

impl UnreadableEntry {
    /// Describes an unreadable entry. `reason` must not contain a value from the
    /// entry (it may be a token).
    pub fn new(
        path: Option<PathBuf>,
        namespace: impl Into<String>,
        resource_server: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            path,
            namespace: namespace.into(),
            resource_server: resource_server.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for UnreadableEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        write!(
            f,
            "the token data of resource server {:?} in namespace {:?} cannot be read ({}); \
             it counts as missing: log in again to replace it, or log out to remove it \
             (the other tokens are kept)",
            self.resource_server, self.namespace, self.reason
        )
    }
}
