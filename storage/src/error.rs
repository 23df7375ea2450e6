//! The error type of every token storage.

use std::error::Error as StdError;
use std::io;
use std::path::{Path, PathBuf};

/// A boxed error from a user's own storage or from a database library.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a token storage operation failed.
///
/// Every variant that concerns a file names it, and every message ends with what the
/// user can do about it. No message contains a token: errors about a file's contents
/// name the namespace, resource server and field at fault, never a value.
///
/// A storage outside this crate (a keyring, a vault) reports its own failures with
/// [`StorageError::Other`] (see [`StorageError::other`]).
///
/// ```
/// use globus_app_storage::{JsonTokenStorage, StorageError, TokenStorage};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("tokens.json");
/// std::fs::write(&path, "{not json").unwrap();
/// let err = JsonTokenStorage::new(&path)
///     .get_token_data_by_resource_server("DEFAULT")
///     .unwrap_err();
/// assert!(matches!(err, StorageError::InvalidFile { .. }));
/// assert_eq!(err.path(), Some(path.as_path()));
/// assert!(err.to_string().contains("move it aside and log in again"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The operating system refused an operation on a file or directory.
    #[error("could not {action} {}: {source}{}", path.display(), io_hint(source))]
    #[non_exhaustive]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done, e.g. `read`, `create the directory`, `lock`.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The file exists but its contents are not token data this crate understands:
    /// invalid JSON, values of the wrong type, or not a token database.
    /// Nothing was written to it.
    #[error(
        "{} is not a valid token file ({reason}); move it aside and log in again",
        path.display()
    )]
    #[non_exhaustive]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the namespace, resource server and field at fault.
        reason: String,
    },

    /// The file declares a format (JSON `format_version` or SQLite
    /// `globus-sdk.database_schema_version`) that this version cannot read.
    /// Nothing was written to it.
    #[error(
        "{} has {what} {found}, which this version of globus-app cannot read \
         (it reads {supported}); upgrade globus-app, or move it aside and log in again",
        path.display()
    )]
    #[non_exhaustive]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// Which marker: `format_version` or `database_schema_version`.
        what: &'static str,
        /// The value found (`missing` if there is none).
        found: String,
        /// The versions this crate reads, e.g. `"1.0" and "2.0"`.
        supported: &'static str,
    },

    /// The SQLite database reported an error.
    #[error(
        "the token database {} failed: {source}{}",
        path.display(),
        database_hint(source.as_ref())
    )]
    #[non_exhaustive]
    Database {
        /// The database file.
        path: PathBuf,
        /// The database library's error.
        #[source]
        source: BoxError,
    },

    /// A path that cannot be used for a token file, e.g. the SQLite `:memory:` database.
    #[error("{} cannot be used for token storage: {reason}", path.display())]
    #[non_exhaustive]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Why, and what to use instead.
        reason: String,
    },

    /// An app name, client id or environment name that cannot be part of a file path.
    #[error("{what} {value:?} cannot be used in a token file path: {reason}")]
    #[non_exhaustive]
    InvalidName {
        /// Which name: `app name`, `client id` or `environment`.
        what: &'static str,
        /// The name as given.
        value: String,
        /// Why, and what to do.
        reason: String,
    },

    /// The user's home (or, on Windows, local application data) directory is unknown.
    #[error(
        "cannot find the directory for token files: {reason}; \
         set it, or give the token storage an explicit file path"
    )]
    #[non_exhaustive]
    NoHomeDirectory {
        /// Which environment variables were tried.
        reason: &'static str,
    },

    /// Another process held the lock on the token file for longer than the storage
    /// waits for it (a [`JsonTokenStorage`](crate::JsonTokenStorage)'s lock timeout,
    /// a `SqliteTokenStorage`'s busy timeout). Nothing was written.
    #[error(
        "the token file {} is locked by another process{}, which did not release it \
         within {timeout:?}; if a program using this file is hung, stop it, else try \
         again or wait longer (raise the lock timeout)",
        path.display(),
        lock_file_note(path, lock_file)
    )]
    #[non_exhaustive]
    Locked {
        /// The token file.
        path: PathBuf,
        /// The file the lock is held on: `<token file>.lock` for a JSON file, the
        /// database itself for SQLite.
        lock_file: PathBuf,
        /// How long the storage waited.
        timeout: std::time::Duration,
    },

    /// The storage was used after [`close`](crate::TokenStorage::close).
    #[error("the token storage{} was closed; open a new one", for_path(path.as_deref()))]
    #[non_exhaustive]
    Closed {
        /// The file of the closed storage (none for a storage in memory).
        path: Option<PathBuf>,
    },

    /// A token store on a server (Redis, PostgreSQL) could not be reached or failed.
    /// The server is shown without its password.
    #[error("could not {action} the token store {server}: {reason}")]
    #[non_exhaustive]
    Server {
        /// The server's URL, without its password.
        server: String,
        /// What was being done.
        action: &'static str,
        /// The client's message.
        reason: String,
    },

    /// A fenced write was refused: another lease holder wrote newer token data since
    /// this writer's lease was taken (its lease had expired). Nothing was written;
    /// read the tokens again.
    #[error(
        "the token write of a lease holder (fence {fence}) was refused: a newer write (fence {written}) came first; the newer tokens are kept"
    )]
    #[non_exhaustive]
    Fenced {
        /// The fence of the refused write.
        fence: u64,
        /// The fence of the last accepted write.
        written: u64,
    },

    /// Any other failure, typically from a user-defined storage.
    #[error(transparent)]
    Other(BoxError),
}

impl StorageError {
    /// Wraps the error of a user-defined storage.
    ///
    /// ```
    /// use globus_app_storage::StorageError;
    /// let err = StorageError::other("the keyring is locked; unlock it and retry");
    /// assert_eq!(err.to_string(), "the keyring is locked; unlock it and retry");
    /// ```
    pub fn other(error: impl Into<BoxError>) -> Self {
        StorageError::Other(error.into())
    }

    /// The error of a storage used after its [`close`](crate::TokenStorage::close),
    /// for a storage of your own: `path` is its file, if it has one.
    ///
    /// ```
    /// use globus_app_storage::StorageError;
    /// let err = StorageError::closed(None);
    /// assert!(matches!(err, StorageError::Closed { .. }));
    /// assert_eq!(err.to_string(), "the token storage was closed; open a new one");
    /// ```
    pub fn closed(path: Option<PathBuf>) -> Self {
        StorageError::Closed { path }
    }

    /// Returns the file or directory the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            StorageError::Io { path, .. }
            | StorageError::InvalidFile { path, .. }
            | StorageError::UnsupportedFormat { path, .. }
            | StorageError::Database { path, .. }
            | StorageError::InvalidPath { path, .. }
            | StorageError::Locked { path, .. } => Some(path),
            StorageError::Closed { path } => path.as_deref(),
            StorageError::InvalidName { .. }
            | StorageError::NoHomeDirectory { .. }
            | StorageError::Fenced { .. }
            | StorageError::Server { .. }
            | StorageError::Other(_) => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        StorageError::Io {
            path: path.into(),
            action,
            source,
        }
    }

    pub(crate) fn invalid_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        StorageError::InvalidFile {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// `" (the lock is on <lock file>)"` if that is another file, else empty.
fn lock_file_note(path: &Path, lock_file: &Path) -> String {
    if path == lock_file {
        String::new()
    } else {
        format!(" (the lock is on {})", lock_file.display())
    }
}

/// `" for <path>"`, or empty.
fn for_path(path: Option<&Path>) -> String {
    path.map(|p| format!(" for {}", p.display()))
        .unwrap_or_default()
}

/// Advice for an I/O error, starting with `"; "`, or empty.
fn io_hint(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::PermissionDenied => {
            "; check that the token file and its directory belong to you and are writable \
             by you (mode 600 for the file, 700 for the directory)"
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            "; the file system is read-only: put the token file in a writable location"
        }
        io::ErrorKind::IsADirectory => "; a directory is in the way: move it aside",
        io::ErrorKind::NotADirectory => {
            "; a file is in the way where a directory should be: move it aside"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => "; free some disk space",
        _ => "",
    }
}

/// Advice for a database error, starting with `"; "`, or empty.
fn database_hint(error: &(dyn StdError + Send + Sync + 'static)) -> &'static str {
    #[cfg(feature = "sqlite")]
    if let Some(code) = error
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
    {
        use rusqlite::ErrorCode;
        // A busy database is `StorageError::Locked`, with its own advice.
        return match code {
            ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen => {
                "; check that the file and its directory exist, belong to you and are \
                 writable by you (mode 600 for the file, 700 for the directory)"
            }
            ErrorCode::DiskFull => "; free some disk space",
            _ => "",
        };
    }
    let _ = error;
    ""
}
