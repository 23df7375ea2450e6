//! [`MemoryTokenStorage`]: tokens that live as long as the process.

use crate::{StorageError, TokenData, TokenStorage};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

type Namespaces = BTreeMap<String, BTreeMap<String, TokenData>>;

/// The token data, or `None` once the storage is closed.
type Contents = Option<Namespaces>;

/// A token storage that keeps token data in memory; it is lost when the process exits.
///
/// Useful for tests, for short-lived service processes using client credentials, and
/// for users who must never have tokens written to disk. The Python equivalent is
/// `MemoryTokenStorage`.
///
/// [`close`](TokenStorage::close) drops the tokens; every operation afterwards fails
/// with [`StorageError::Closed`].
///
/// ```
/// use globus_app_storage::{DEFAULT_NAMESPACE, MemoryTokenStorage, TokenStorage};
/// use globus_app_storage::testing::sample_token;
///
/// let storage = MemoryTokenStorage::new();
/// storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("transfer.api.globus.org")])?;
/// assert!(storage.get_token_data(DEFAULT_NAMESPACE, "transfer.api.globus.org")?.is_some());
/// assert!(storage.remove_token_data(DEFAULT_NAMESPACE, "transfer.api.globus.org")?);
/// # Ok::<(), globus_app_storage::StorageError>(())
/// ```
pub struct MemoryTokenStorage {
    namespaces: Mutex<Contents>,
}

impl Default for MemoryTokenStorage {
    fn default() -> Self {
        Self {
            namespaces: Mutex::new(Some(Namespaces::new())),
        }
    }
}

impl MemoryTokenStorage {
    /// Creates an empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the namespaces that hold token data, in sorted order (none once
    /// closed).
    pub fn namespaces(&self) -> Vec<String> {
        self.lock()
            .iter()
            .flatten()
            .filter(|(_, tokens)| !tokens.is_empty())
            .map(|(namespace, _)| namespace.clone())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Contents> {
        // No code path panics while holding the lock; if one ever did, the map is
        // still consistent (every update is a single insert or remove).
        self.namespaces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the token data, unless the storage is closed.
    fn with<R>(&self, f: impl FnOnce(&mut Namespaces) -> R) -> Result<R, StorageError> {
        match self.lock().as_mut() {
            Some(namespaces) => Ok(f(namespaces)),
            None => Err(StorageError::Closed { path: None }),
        }
    }
}

impl fmt::Debug for MemoryTokenStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTokenStorage")
            .field("namespaces", &self.namespaces())
            .finish_non_exhaustive()
    }
}

impl TokenStorage for MemoryTokenStorage {
    fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
        self.with(|namespaces| {
            if tokens.is_empty() {
                return;
            }
            let entries = namespaces.entry(namespace.to_owned()).or_default();
            for token in tokens {
                entries.insert(token.resource_server.clone(), token.clone());
            }
        })
    }

    fn get_token_data_by_resource_server(
        &self,
        namespace: &str,
    ) -> Result<BTreeMap<String, TokenData>, StorageError> {
        self.with(|namespaces| namespaces.get(namespace).cloned().unwrap_or_default())
    }

    fn get_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<Option<TokenData>, StorageError> {
        self.with(|namespaces| {
            namespaces
                .get(namespace)
                .and_then(|tokens| tokens.get(resource_server))
                .cloned()
        })
    }

    fn remove_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<bool, StorageError> {
        self.with(|namespaces| {
            let Some(tokens) = namespaces.get_mut(namespace) else {
                return false;
            };
            let removed = tokens.remove(resource_server).is_some();
            if tokens.is_empty() {
                namespaces.remove(namespace);
            }
            removed
        })
    }

    /// Drops the tokens; every later operation fails with [`StorageError::Closed`].
    /// Closing again does nothing.
    fn close(&self) -> Result<(), StorageError> {
        *self.lock() = None;
        Ok(())
    }
}
