//! [`MemoryTokenStorage`]: tokens that live as long as the process.

use crate::lease::LeaseRow;
use crate::{Fence, LeaseOutcome, LeaseStorage, StorageError, TokenData, TokenStorage};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The clock of the leases, in milliseconds.
type LeaseClock = Arc<dyn Fn() -> i64 + Send + Sync>;

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
///
/// It keeps leases ([`LeaseStorage`]), so the apps of one process that share it (each
/// with its own single flight) renew a token once between them; their clock is the
/// process's monotonic clock, or the one given to
/// [`with_lease_clock`](Self::with_lease_clock).
pub struct MemoryTokenStorage {
    namespaces: Mutex<Contents>,
    leases: Mutex<BTreeMap<String, LeaseRow>>,
    clock: LeaseClock,
}

impl Default for MemoryTokenStorage {
    fn default() -> Self {
        let epoch = Instant::now();
        Self {
            namespaces: Mutex::new(Some(Namespaces::new())),
            leases: Mutex::new(BTreeMap::new()),
            clock: Arc::new(move || i64::try_from(epoch.elapsed().as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

impl MemoryTokenStorage {
    /// Creates an empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `clock` (milliseconds) for the leases' time to live: a simulation or a
    /// test moves it instead of waiting.
    ///
    /// ```
    /// use globus_app_storage::{Fence, LeaseOutcome, LeaseStorage, MemoryTokenStorage, TokenStorage};
    /// use std::sync::atomic::{AtomicI64, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// let now = Arc::new(AtomicI64::new(0));
    /// let clock = Arc::clone(&now);
    /// let storage = MemoryTokenStorage::new().with_lease_clock(move || clock.load(Ordering::SeqCst));
    /// let leases = storage.leases().unwrap();
    /// let ttl = Duration::from_secs(10);
    /// assert_eq!(leases.acquire_lease("DEFAULT", "a", ttl)?, LeaseOutcome::Acquired(Fence(1)));
    /// assert!(matches!(leases.acquire_lease("DEFAULT", "b", ttl)?, LeaseOutcome::Busy { .. }));
    /// now.store(10_000, Ordering::SeqCst);
    /// assert_eq!(leases.acquire_lease("DEFAULT", "b", ttl)?, LeaseOutcome::Acquired(Fence(2)));
    /// # Ok::<(), globus_app_storage::StorageError>(())
    /// ```
    #[must_use]
    pub fn with_lease_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
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

    fn leases(&self) -> Option<&dyn LeaseStorage> {
        Some(self)
    }
}

impl MemoryTokenStorage {
    /// Runs `f` on a namespace's lease row, unless the storage is closed.
    fn with_lease<R>(
        &self,
        namespace: &str,
        f: impl FnOnce(&mut LeaseRow) -> R,
    ) -> Result<R, StorageError> {
        self.with(|_| ())?;
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(f(leases.entry(namespace.to_owned()).or_default()))
    }
}

impl LeaseStorage for MemoryTokenStorage {
    fn acquire_lease(
        &self,
        namespace: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StorageError> {
        let now = (self.clock)();
        self.with_lease(namespace, |row| row.acquire(owner, ttl, now))
    }

    fn release_lease(&self, namespace: &str, owner: &str) -> Result<(), StorageError> {
        self.with_lease(namespace, |row| row.release(owner))
    }

    fn store_token_data_fenced(
        &self,
        namespace: &str,
        tokens: &[TokenData],
        fence: Fence,
    ) -> Result<(), StorageError> {
        // The lease table's lock is held across the write, so the check and the
        // write are one step.
        self.with(|_| ())?;
        let mut leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        let row = leases.entry(namespace.to_owned()).or_default();
        if let Err((fence, written)) = row.accept_write(fence) {
            return Err(StorageError::Fenced { fence, written });
        }
        self.store_token_data(namespace, tokens)
    }
}
