//! # globus-app-storage
//!
//! Where globus-app keeps an app's tokens between runs: the [`TokenStorage`] trait and
//! three implementations, [`MemoryTokenStorage`], [`JsonTokenStorage`] and
//! `SqliteTokenStorage` (feature `sqlite`, on by default in the `globus-app` facade).
//! They read and write the same files as the Python globus-sdk 4.10, so a Rust tool
//! and a Python script can share one login.
//!
//! ## Choosing a backend
//!
//! | backend | keeps tokens | good for |
//! |---|---|---|
//! | [`JsonTokenStorage`] | in a JSON file | most command-line tools and scripts (the Python SDK's default) |
//! | `SqliteTokenStorage` | in a SQLite database | many namespaces or resource servers, many processes at once |
//! | [`MemoryTokenStorage`] | until the process exits | tests, client-credentials services, "never on disk" |
//! | `RedisTokenStorage` (feature `redis`) | in Redis, a hash per namespace | fleets of services and replicas on several hosts |
//! | `PostgresTokenStorage` (feature `postgres`) | in PostgreSQL tables | portals and services keeping many users' tokens, several hosts |
//! | your own type | wherever you like | a keyring, a vault: implement [`TokenStorage`] and run [`testing::conformance`] |
//!
//! Both file backends are safe with several processes at once, and never leave a
//! half-written file behind. JSON rewrites the whole file at each update, which is
//! fine for the handful of resource servers an app uses; SQLite updates rows in
//! place. See the benchmark table in `benches/README.md`.
//!
//! Every backend of this crate keeps **leases** ([`lease`]): the apps that share a
//! store (processes, hosts) renew each token once between them, and a writer whose
//! lease ran out cannot overwrite a newer token. [`testing::conformance_lease`] checks
//! a backend's leases.
//!
//! ## Namespaces
//!
//! Every operation names a namespace ([`DEFAULT_NAMESPACE`] unless the app says
//! otherwise), and each namespace holds token data by resource server. Two apps (or
//! two users of one app) can share one file with different namespaces; a store or
//! remove in one namespace leaves the others as they were.
//!
//! ## File locations
//!
//! An app's default token file is
//! `~/.globus/app/{client_id}/{app name slug}/{env-}tokens.{json|db}` (Windows:
//! `%LOCALAPPDATA%\globus\app\…`), as computed by [`paths::default_token_file_path`];
//! the Python SDK's `GlobusApp` uses the same path for the same client id, app name
//! and environment. Token files are created with mode `0600` and directories with
//! `0700` on Unix.
//!
//! ## Sharing files with Python
//!
//! - JSON: the Python `JSONTokenStorage` format `2.0`; format `1.0` is read too and
//!   upgraded at the next write (see [`json`]).
//! - SQLite: the Python `SQLiteTokenStorage` schema, exactly (see `sqlite`).
//! - Token data keeps fields this version does not know ([`TokenData::extra`]), so a
//!   file written by a newer SDK loses nothing when this crate updates it. (The
//!   Python SDK itself drops unknown fields when it writes.)
//! - `globus-sdk.version` in the files is set to [`WRITER_VERSION`].
//!
//! ## What this crate does better than the reference
//!
//! - **Atomic writes**: the JSON file is replaced by a rename of a fully written and
//!   flushed temporary file; the Python SDK truncates and rewrites it in place, so a
//!   crash or a full disk in the middle loses every token.
//! - **Locking**: every JSON update holds an exclusive OS lock, so two processes that
//!   log in to different resource servers at once both keep their tokens; the Python
//!   SDK does not lock, and one of them is lost. A dead process never leaves a stale
//!   lock behind. A writer waits for another's lock at most 30 s (configurable),
//!   then fails with [`StorageError::Locked`], which names the file; SQLite waits on
//!   a busy database likewise, and stores several resource servers in one
//!   transaction.
//! - **No leftovers**: a temporary file that a crash left behind (it holds tokens)
//!   is removed by the next write once it is a minute old.
//! - **Errors that say what to do**, naming the file, the namespace, the resource
//!   server and the field at fault, and never showing a token ([`StorageError`]). A
//!   file this crate cannot read is never overwritten.
//! - **Thread safety**: every storage is `Send + Sync`; the Python storages are not
//!   thread safe.
//!
//! ## Example
//!
//! ```
//! use globus_app_storage::paths::{FileFormat, app_data_dir_in_home, token_file_path};
//! use globus_app_storage::{DEFAULT_NAMESPACE, JsonTokenStorage, TokenStorage};
//! use std::sync::Arc;
//!
//! let home = tempfile::tempdir()?;
//! let path = token_file_path(
//!     &app_data_dir_in_home(home.path()),
//!     "6d6e6b0c-0000-4000-8000-000000000000",
//!     "My Tool",
//!     "production",
//!     FileFormat::Json,
//! )?;
//! let storage: Arc<dyn TokenStorage> = Arc::new(JsonTokenStorage::new(path));
//! let token = globus_app_storage::testing::sample_token("transfer.api.globus.org");
//! storage.store_token_data(DEFAULT_NAMESPACE, &[token])?;
//! let tokens = storage.get_token_data_by_resource_server(DEFAULT_NAMESPACE)?;
//! assert!(tokens.contains_key("transfer.api.globus.org"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
pub mod lease;
mod loaded;
mod memory;
pub mod paths;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod server;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod testing;
mod token;

pub use error::{BoxError, StorageError};
pub use globus_app_core::{AccessToken, RefreshToken, TokenData};
pub use json::JsonTokenStorage;
pub use lease::{Fence, LeaseOutcome, LeaseStorage};
pub use loaded::{LoadedNamespace, UnreadableEntry};
pub use memory::MemoryTokenStorage;
#[cfg(feature = "postgres")]
pub use postgres::PostgresTokenStorage;
#[cfg(feature = "redis")]
pub use redis::RedisTokenStorage;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteTokenStorage;

use std::collections::BTreeMap;
use std::sync::Arc;

/// The namespace an app uses unless told otherwise, as in the Python SDK.
pub const DEFAULT_NAMESPACE: &str = "DEFAULT";

/// The value this crate writes as `globus-sdk.version` in token files, e.g.
/// `globus-app-storage-rs 0.1.0`. The Python SDK requires only that it be a string.
pub const WRITER_VERSION: &str = concat!("globus-app-storage-rs ", env!("CARGO_PKG_VERSION"));

/// A place to keep token data, partitioned by namespace, then by resource server.
///
/// The Rust form of the Python SDK's `TokenStorage`; the namespace is an argument of
/// each call, so that one storage can be shared by several apps. Implementations must
/// be `Send + Sync` (an app is used from many threads) and `Debug` (without showing a
/// token). The trait is object safe: apps hold an `Arc<dyn TokenStorage>`, and it is
/// implemented for `Arc<T>`, `Box<T>` and `&T`.
///
/// A user-defined storage (a keyring, a vault) implements the four required methods
/// and [`close`](Self::close), reports failures with [`StorageError::other`], and
/// should pass [`testing::conformance`]:
///
/// ```
/// use globus_app_storage::{StorageError, TokenData, TokenStorage};
/// use std::collections::BTreeMap;
/// use std::sync::{Mutex, MutexGuard};
///
/// type Map = BTreeMap<(String, String), TokenData>;
///
/// /// Keeps tokens in a map (`None` once closed); a real one would talk to a keyring.
/// #[derive(Debug)]
/// struct MyStorage(Mutex<Option<Map>>);
///
/// impl MyStorage {
///     fn new() -> Self {
///         MyStorage(Mutex::new(Some(Map::new())))
///     }
///     fn map(&self) -> Result<MutexGuard<'_, Option<Map>>, StorageError> {
///         let guard = self.0.lock().map_err(|_| StorageError::other("poisoned"))?;
///         match *guard {
///             Some(_) => Ok(guard),
///             None => Err(StorageError::closed(None)),
///         }
///     }
/// }
///
/// impl TokenStorage for MyStorage {
///     fn store_token_data(&self, ns: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
///         let mut guard = self.map()?;
///         let map = guard.get_or_insert_default();
///         for t in tokens {
///             map.insert((ns.to_owned(), t.resource_server.clone()), t.clone());
///         }
///         Ok(())
///     }
///     fn get_token_data_by_resource_server(
///         &self,
///         ns: &str,
///     ) -> Result<BTreeMap<String, TokenData>, StorageError> {
///         let guard = self.map()?;
///         Ok(guard
///             .iter()
///             .flatten()
///             .filter(|((n, _), _)| n == ns)
///             .map(|((_, rs), t)| (rs.clone(), t.clone()))
///             .collect())
///     }
///     fn remove_token_data(&self, ns: &str, rs: &str) -> Result<bool, StorageError> {
///         let mut guard = self.map()?;
///         let map = guard.get_or_insert_default();
///         Ok(map.remove(&(ns.to_owned(), rs.to_owned())).is_some())
///     }
///     fn close(&self) -> Result<(), StorageError> {
///         *self.0.lock().map_err(|_| StorageError::other("poisoned"))? = None;
///         Ok(())
///     }
/// }
///
/// globus_app_storage::testing::conformance(MyStorage::new);
/// ```
pub trait TokenStorage: Send + Sync + std::fmt::Debug {
    /// Upserts token data for several resource servers at once, in one atomic write:
    /// each entry replaces any data stored for its `resource_server` in `namespace`;
    /// other resource servers are kept. If two entries name the same resource server,
    /// the last one wins. Storing nothing does nothing.
    fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError>;

    /// Returns all token data of the namespace, by resource server (empty if there is
    /// none).
    fn get_token_data_by_resource_server(
        &self,
        namespace: &str,
    ) -> Result<BTreeMap<String, TokenData>, StorageError>;

    /// Returns all token data of the namespace like
    /// [`get_token_data_by_resource_server`](Self::get_token_data_by_resource_server),
    /// except that an entry that is stored but cannot be read (a field of the wrong
    /// type, text that is not JSON) does not fail the whole read: it is left out of
    /// [`tokens`](LoadedNamespace::tokens) and described in
    /// [`unreadable`](LoadedNamespace::unreadable), and so counts as missing. An app
    /// loads its tokens with this, so that one damaged entry does not stand in the
    /// way of the others, of a login that replaces it, or of a logout that removes it
    /// ([`store_token_data`](Self::store_token_data) and
    /// [`remove_token_data`](Self::remove_token_data) of this crate's storages work on
    /// a damaged entry, and leave the others as they were).
    ///
    /// A file that cannot be read at all (not JSON, not a token database) is still
    /// an error. The default calls `get_token_data_by_resource_server`, so it reports
    /// nothing unreadable; the file storages of this crate override it.
    fn load_namespace(&self, namespace: &str) -> Result<LoadedNamespace, StorageError> {
        self.get_token_data_by_resource_server(namespace)
            .map(LoadedNamespace::from)
    }

    /// Returns one resource server's token data, if stored.
    ///
    /// The default reads the whole namespace with
    /// [`get_token_data_by_resource_server`](Self::get_token_data_by_resource_server);
    /// the storages of this crate read only the one entry.
    fn get_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<Option<TokenData>, StorageError> {
        Ok(self
            .get_token_data_by_resource_server(namespace)?
            .remove(resource_server))
    }

    /// Removes one resource server's token data from the namespace; returns `Ok(true)`
    /// if there was some.
    fn remove_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<bool, StorageError>;

    /// Releases the storage's resources (the SQLite connection, the tokens held in
    /// memory). Afterwards every other method fails with [`StorageError::Closed`];
    /// closing again is harmless and returns `Ok`. Other handles on the same store
    /// (another storage opened on the same file) are not affected.
    ///
    /// Every storage of this crate does so, and [`testing::conformance`] checks it.
    /// The default does nothing, so a storage of your own should override it (use
    /// [`StorageError::closed`]).
    fn close(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Returns the storage's leases, if it keeps them (see [`LeaseStorage`]): an app
    /// then takes its namespace's lease before every renewal, so that the processes
    /// and hosts sharing the store renew a token once. `None` (the default) keeps the
    /// apps' in-process single flight.
    fn leases(&self) -> Option<&dyn LeaseStorage> {
        None
    }
}

macro_rules! forward_token_storage {
    ($($ty:ty),*) => {$(
        impl<T: TokenStorage + ?Sized> TokenStorage for $ty {
            fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
                (**self).store_token_data(namespace, tokens)
            }
            fn get_token_data_by_resource_server(
                &self,
                namespace: &str,
            ) -> Result<BTreeMap<String, TokenData>, StorageError> {
                (**self).get_token_data_by_resource_server(namespace)
            }
            fn load_namespace(&self, namespace: &str) -> Result<LoadedNamespace, StorageError> {
                (**self).load_namespace(namespace)
            }
            fn get_token_data(
                &self,
                namespace: &str,
                resource_server: &str,
            ) -> Result<Option<TokenData>, StorageError> {
                (**self).get_token_data(namespace, resource_server)
            }
            fn remove_token_data(&self, namespace: &str, resource_server: &str) -> Result<bool, StorageError> {
                (**self).remove_token_data(namespace, resource_server)
            }
            fn close(&self) -> Result<(), StorageError> {
                (**self).close()
            }
            fn leases(&self) -> Option<&dyn LeaseStorage> {
                (**self).leases()
            }
        }
    )*};
}

forward_token_storage!(Arc<T>, Box<T>, &T);

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_object_safe(_: &dyn TokenStorage) {}

    #[test]
    fn trait_objects_and_forwarding() {
        let boxed: Box<dyn TokenStorage> = Box::new(MemoryTokenStorage::new());
        assert_object_safe(&boxed);
        let shared: Arc<dyn TokenStorage> = Arc::new(boxed);
        let clone = Arc::clone(&shared);
        std::thread::spawn(move || {
            clone
                .store_token_data(DEFAULT_NAMESPACE, &[testing::sample_token("a")])
                .expect("store")
        })
        .join()
        .expect("thread");
        assert!(
            shared
                .get_token_data(DEFAULT_NAMESPACE, "a")
                .expect("get")
                .is_some()
        );
    }

    #[test]
    fn memory_conformance() {
        testing::conformance(MemoryTokenStorage::new);
    }

    #[test]
    fn boxed_dyn_conformance() {
        testing::conformance(|| -> Box<dyn TokenStorage> { Box::new(MemoryTokenStorage::new()) });
    }
}
