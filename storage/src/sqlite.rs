//! [`SqliteTokenStorage`]: the Python SDK's SQLite token database.
//!
//! # Schema
//!
//! Exactly the one the Python globus-sdk's `SQLiteTokenStorage` creates, so that a
//! database written by either is read by the other:
//!
//! ```sql
//! CREATE TABLE token_storage (
//!     namespace VARCHAR NOT NULL,
//!     resource_server VARCHAR NOT NULL,
//!     token_data_json VARCHAR NOT NULL,
//!     PRIMARY KEY (namespace, resource_server)
//! );
//! CREATE TABLE sdk_storage_adapter_internal (
//!     attribute VARCHAR NOT NULL,
//!     value VARCHAR NOT NULL,
//!     PRIMARY KEY (attribute)
//! );
//! ```
//!
//! `sdk_storage_adapter_internal` holds `globus-sdk.version` (the writer's version;
//! this crate writes [`WRITER_VERSION`]) and
//! `globus-sdk.database_schema_version` = `"2"`. A database of schema version `"1"`
//! (the SDK's older `SQLiteAdapter`, whose `token_storage` table is the same) is read
//! too; any other version is an [`UnsupportedFormat`](StorageError::UnsupportedFormat)
//! error. `token_data_json` holds the same JSON object as an entry of the JSON file.
//!
//! # Concurrency and durability
//!
//! SQLite's own locking makes every statement atomic across processes. A connection
//! that finds the database locked by another process waits for it, up to a busy
//! timeout ([`DEFAULT_BUSY_TIMEOUT`](SqliteTokenStorage::DEFAULT_BUSY_TIMEOUT) unless
//! set with [`open_with_busy_timeout`](SqliteTokenStorage::open_with_busy_timeout)
//! or [`set_busy_timeout`](SqliteTokenStorage::set_busy_timeout)), then fails with
//! [`StorageError::Locked`], which names the database file. (The Python SDK's
//! connection waits 5 seconds, then fails with "database is locked".) A store of several resource servers runs in
//! one `BEGIN IMMEDIATE` transaction: all or nothing, and never a lock upgrade
//! deadlock. The journal mode is left as the Python SDK leaves it (`DELETE`), so no
//! `-wal` file appears and Python sees no change of behaviour.
//!
//! A new database file is created with mode `0600` (by this crate, before SQLite opens
//! it) and any missing directories with mode `0700`; SQLite gives its journal the
//! database's mode.

use crate::json::{create_private_dir_all, parent_dir};
use crate::lease::LeaseRow;
use crate::token::{describe_entry, read_token_json_text, token_to_value};
use crate::{
    Fence, LeaseOutcome, LeaseStorage, LoadedNamespace, StorageError, TokenData, TokenStorage,
    WRITER_VERSION,
};
use rusqlite::types::ValueRef;
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension as _, TransactionBehavior, params,
};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The tables and rows of a new database, as the Python SDK creates them.
const CREATE_SCHEMA: &str = "
CREATE TABLE token_storage (
    namespace VARCHAR NOT NULL,
    resource_server VARCHAR NOT NULL,
    token_data_json VARCHAR NOT NULL,
    PRIMARY KEY (namespace, resource_server)
);
CREATE TABLE sdk_storage_adapter_internal (
    attribute VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    PRIMARY KEY (attribute)
);
";
const SCHEMA_VERSION: &str = "2";

/// Token data in a SQLite database, with the same schema as the Python SDK's
/// `SQLiteTokenStorage`.
///
/// The connection sits behind a mutex, so one storage can be shared by threads
/// (`Arc<SqliteTokenStorage>`); several processes can use one file at once. See the
/// [module documentation](self) for the schema and the concurrency guarantees.
///
/// ```
/// use globus_app_storage::{SqliteTokenStorage, StorageError, TokenStorage};
/// use globus_app_storage::testing::sample_token;
///
/// let dir = tempfile::tempdir()?;
/// let storage = SqliteTokenStorage::open(dir.path().join("tokens.db"))?;
/// storage.store_token_data("DEFAULT", &[sample_token("auth.globus.org")])?;
/// assert!(storage.get_token_data("DEFAULT", "auth.globus.org")?.is_some());
/// storage.close()?;
/// assert!(matches!(
///     storage.get_token_data("DEFAULT", "auth.globus.org"),
///     Err(StorageError::Closed { .. })
/// ));
///
/// // Like the Python SDK, an in-memory database is refused.
/// assert!(matches!(
///     SqliteTokenStorage::open(":memory:"),
///     Err(StorageError::InvalidPath { .. })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteTokenStorage {
    path: PathBuf,
    connection: Mutex<Option<Connection>>,
    /// The busy timeout in milliseconds (SQLite's unit), for error messages.
    busy_timeout_ms: AtomicU64,
}

impl SqliteTokenStorage {
    /// How long an operation waits for another process's lock on the database before
    /// failing with [`StorageError::Locked`]: 30 seconds.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

    /// Opens the database at `path`, creating it (mode `0600`), its directories (mode
    /// `0700`) and its tables if needed.
    ///
    /// The path is a file name, never a URI. `:memory:` is refused: use
    /// [`MemoryTokenStorage`](crate::MemoryTokenStorage) for tokens that live in
    /// memory. A file that is not a token database is an
    /// [`InvalidFile`](StorageError::InvalidFile) error and is not modified.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StorageError> {
        Self::open_with_busy_timeout(path, Self::DEFAULT_BUSY_TIMEOUT)
    }

    /// Opens the database like [`open`](Self::open), waiting at most `timeout` for
    /// another process's lock on it, then and in every later operation (until
    /// [`set_busy_timeout`](Self::set_busy_timeout)).
    pub fn open_with_busy_timeout(
        path: impl Into<PathBuf>,
        timeout: Duration,
    ) -> Result<Self, StorageError> {
        let path = path.into();
        check_path(&path)?;
        create_private_dir_all(parent_dir(&path))?;
        create_private_file(&path)?;
        let connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(&path, e, timeout))?;
        Self::init(path, connection, true, timeout)
    }

    /// Opens an existing database for reading only, e.g. to inspect it: nothing is
    /// created, and every store or remove fails.
    pub fn open_read_only(path: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let path = path.into();
        check_path(&path)?;
        // SQLite's "unable to open database file" does not say why; the OS does.
        std::fs::metadata(&path).map_err(|e| StorageError::io(&path, "open", e))?;
        let connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(&path, e, Self::DEFAULT_BUSY_TIMEOUT))?;
        Self::init(path, connection, false, Self::DEFAULT_BUSY_TIMEOUT)
    }

    fn init(
        path: PathBuf,
        mut connection: Connection,
        writable: bool,
        busy_timeout: Duration,
    ) -> Result<Self, StorageError> {
        connection
            .busy_timeout(busy_timeout)
            .map_err(|e| db_error(&path, e, busy_timeout))?;
        init_schema(&path, &mut connection, writable, busy_timeout)?;
        Ok(Self {
            path,
            connection: Mutex::new(Some(connection)),
            busy_timeout_ms: AtomicU64::new(millis(busy_timeout)),
        })
    }

    /// Returns the database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets how long operations wait for another process's lock on the database
    /// before failing with [`StorageError::Locked`].
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StorageError> {
        self.with_connection(|connection| connection.busy_timeout(timeout))?;
        self.busy_timeout_ms
            .store(millis(timeout), Ordering::Relaxed);
        Ok(())
    }

    /// Returns how long operations wait for another process's lock on the database.
    pub fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.busy_timeout_ms.load(Ordering::Relaxed))
    }

    /// Maps a SQLite error of an operation.
    fn error(&self, error: rusqlite::Error) -> StorageError {
        db_error(&self.path, error, self.busy_timeout())
    }

    /// Returns the namespaces in the database, in sorted order (the Python
    /// `iter_namespaces`).
    pub fn namespaces(&self) -> Result<Vec<String>, StorageError> {
        self.with_connection(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT DISTINCT namespace FROM token_storage ORDER BY namespace",
            )?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect()
        })
    }

    fn closed(&self) -> StorageError {
        StorageError::Closed {
            path: Some(self.path.clone()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        // A panic while holding the lock cannot leave the connection half-updated:
        // SQLite rolls back an unfinished transaction when it is next used or dropped.
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the open connection, mapping its errors.
    fn with_connection<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>,
    ) -> Result<R, StorageError> {
        let mut guard = self.lock();
        let connection = guard.as_mut().ok_or_else(|| self.closed())?;
        f(connection).map_err(|e| self.error(e))
    }

    fn parse_row(
        &self,
        namespace: &str,
        resource_server: &str,
        json: ValueRef<'_>,
    ) -> Result<TokenData, StorageError> {
        read_row(json).map_err(|problem| self.row_error(namespace, resource_server, &problem))
    }

    /// The error for a row whose token data cannot be read (no value in it).
    fn row_error(&self, namespace: &str, resource_server: &str, problem: &str) -> StorageError {
        StorageError::invalid_file(
            &self.path,
            format!("{}: {problem}", describe_entry(namespace, resource_server)),
        )
    }

    /// Reads every row of `namespace`, handing each resource server and its token
    /// data (or why it cannot be read) to `each`.
    fn read_namespace(
        &self,
        namespace: &str,
        mut each: impl FnMut(String, Result<TokenData, String>) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut guard = self.lock();
        let connection = guard.as_mut().ok_or_else(|| self.closed())?;
        let db = |e| self.error(e);
        let mut statement = connection
            .prepare_cached(
                "SELECT resource_server, token_data_json FROM token_storage WHERE namespace = ?1",
            )
            .map_err(db)?;
        let mut rows = statement.query([namespace]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let resource_server: String = row.get(0).map_err(db)?;
            each(resource_server, read_row(row.get_ref(1).map_err(db)?))?;
        }
        Ok(())
    }
}

/// Reads a row's `token_data_json`; the error says what is wrong, never a value.
fn read_row(json: ValueRef<'_>) -> Result<TokenData, String> {
    match json {
        ValueRef::Text(bytes) => read_token_json_text(bytes),
        _ => Err("token_data_json is not text".to_owned()),
    }
}

impl fmt::Debug for SqliteTokenStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTokenStorage")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TokenStorage for SqliteTokenStorage {
    fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
        if tokens.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&str, String)> = tokens
            .iter()
            .map(|token| {
                (
                    token.resource_server.as_str(),
                    token_to_value(token).to_string(),
                )
            })
            .collect();
        self.with_connection(|connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut statement = transaction.prepare_cached(
                    "REPLACE INTO token_storage(namespace, resource_server, token_data_json) \
                     VALUES (?1, ?2, ?3)",
                )?;
                for (resource_server, json) in &rows {
                    statement.execute(params![namespace, resource_server, json])?;
                }
            }
            transaction.commit()
        })
    }

    fn get_token_data_by_resource_server(
        &self,
        namespace: &str,
    ) -> Result<BTreeMap<String, TokenData>, StorageError> {
        let mut tokens = BTreeMap::new();
        self.read_namespace(namespace, |resource_server, read| {
            let token =
                read.map_err(|problem| self.row_error(namespace, &resource_server, &problem))?;
            tokens.insert(resource_server, token);
            Ok(())
        })?;
        Ok(tokens)
    }

    fn load_namespace(&self, namespace: &str) -> Result<LoadedNamespace, StorageError> {
        let mut loaded = LoadedNamespace::default();
        self.read_namespace(namespace, |resource_server, read| {
            loaded.add(&self.path, namespace, resource_server, read);
            Ok(())
        })?;
        loaded
            .unreadable
            .sort_by(|a, b| a.resource_server.cmp(&b.resource_server));
        Ok(loaded)
    }

    fn get_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<Option<TokenData>, StorageError> {
        let mut guard = self.lock();
        let connection = guard.as_mut().ok_or_else(|| self.closed())?;
        let db = |e| self.error(e);
        let mut statement = connection
            .prepare_cached(
                "SELECT token_data_json FROM token_storage \
                 WHERE namespace = ?1 AND resource_server = ?2",
            )
            .map_err(db)?;
        let mut rows = statement.query([namespace, resource_server]).map_err(db)?;
        match rows.next().map_err(db)? {
            None => Ok(None),
            Some(row) => self
                .parse_row(namespace, resource_server, row.get_ref(0).map_err(db)?)
                .map(Some),
        }
    }

    fn remove_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<bool, StorageError> {
        self.with_connection(|connection| {
            let removed = connection
                .prepare_cached(
                    "DELETE FROM token_storage WHERE namespace = ?1 AND resource_server = ?2",
                )?
                .execute([namespace, resource_server])?;
            Ok(removed != 0)
        })
    }

    /// Closes the connection. Later operations fail with
    /// [`StorageError::Closed`]; closing again does nothing.
    fn close(&self) -> Result<(), StorageError> {
        let mut guard = self.lock();
        let Some(connection) = guard.take() else {
            return Ok(());
        };
        connection.close().map_err(|(connection, e)| {
            // Keep the connection usable (it is still open) and report why.
            *guard = Some(connection);
            self.error(e)
        })
    }

    fn leases(&self) -> Option<&dyn LeaseStorage> {
        Some(self)
    }
}

/// The lease table, created on first use (the Python SDK ignores it).
const CREATE_LEASES: &str = "CREATE TABLE IF NOT EXISTS globus_app_lease (
    namespace VARCHAR NOT NULL PRIMARY KEY,
    owner VARCHAR,
    expires_at_ms INTEGER,
    issued INTEGER NOT NULL,
    written INTEGER NOT NULL
)";

/// SQLite's own clock, in milliseconds since the Unix epoch.
const NOW_MS: &str = "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

impl SqliteTokenStorage {
    /// Runs `f` on a namespace's lease row inside one `BEGIN IMMEDIATE` transaction
    /// (so a compare-and-set across processes), with SQLite's clock; writes the row
    /// back, then lets `then` act in the same transaction.
    fn with_lease<R>(
        &self,
        namespace: &str,
        f: impl FnOnce(&mut LeaseRow, i64) -> R,
        then: impl FnOnce(&rusqlite::Transaction<'_>, &R) -> rusqlite::Result<()>,
    ) -> Result<R, StorageError> {
        self.with_connection(|connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            transaction.execute(CREATE_LEASES, [])?;
            let now: i64 = transaction.query_row(NOW_MS, [], |row| row.get(0))?;
            let mut row = transaction
                .query_row(
                    "SELECT owner, expires_at_ms, issued, written FROM globus_app_lease \
                     WHERE namespace = ?1",
                    [namespace],
                    |row| {
                        let owner: Option<String> = row.get(0)?;
                        let until: Option<i64> = row.get(1)?;
                        Ok(LeaseRow {
                            holder: owner.zip(until),
                            issued: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                            written: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                        })
                    },
                )
                .optional()?
                .unwrap_or_default();
            let result = f(&mut row, now);
            let (owner, until) = row.holder.clone().unzip();
            transaction.execute(
                "REPLACE INTO globus_app_lease(namespace, owner, expires_at_ms, issued, written) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    namespace,
                    owner,
                    until,
                    i64::try_from(row.issued).unwrap_or(i64::MAX),
                    i64::try_from(row.written).unwrap_or(i64::MAX)
                ],
            )?;
            then(&transaction, &result)?;
            transaction.commit()?;
            Ok(result)
        })
    }
}

impl LeaseStorage for SqliteTokenStorage {
    fn acquire_lease(
        &self,
        namespace: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StorageError> {
        self.with_lease(
            namespace,
            |row, now| row.acquire(owner, ttl, now),
            |_, _| Ok(()),
        )
    }

    fn release_lease(&self, namespace: &str, owner: &str) -> Result<(), StorageError> {
        self.with_lease(namespace, |row, _| row.release(owner), |_, ()| Ok(()))
    }

    fn store_token_data_fenced(
        &self,
        namespace: &str,
        tokens: &[TokenData],
        fence: Fence,
    ) -> Result<(), StorageError> {
        let rows: Vec<(&str, String)> = tokens
            .iter()
            .map(|token| {
                (
                    token.resource_server.as_str(),
                    token_to_value(token).to_string(),
                )
            })
            .collect();
        // The check and the write commit together.
        let accepted = self.with_lease(
            namespace,
            |row, _| row.accept_write(fence),
            |transaction, accepted| {
                if accepted.is_ok() {
                    let mut statement = transaction.prepare_cached(
                        "REPLACE INTO token_storage(namespace, resource_server, token_data_json) \
                         VALUES (?1, ?2, ?3)",
                    )?;
                    for (resource_server, json) in &rows {
                        statement.execute(params![namespace, resource_server, json])?;
                    }
                }
                Ok(())
            },
        )?;
        accepted.map_err(|(fence, written)| StorageError::Fenced { fence, written })
    }
}

/// Refuses what SQLite would not treat as a file: `:memory:` and the empty path (a
/// private temporary database).
fn check_path(path: &Path) -> Result<(), StorageError> {
    let os = path.as_os_str();
    if os == ":memory:" || os.is_empty() {
        return Err(StorageError::InvalidPath {
            path: path.to_owned(),
            reason: "an in-memory SQLite database would lose the tokens when closed; \
                     use MemoryTokenStorage to keep tokens in memory, or give a file path"
                .into(),
        });
    }
    if path.is_dir() {
        // SQLite would only say "unable to open database file".
        return Err(StorageError::io(
            path,
            "open",
            io::Error::from(io::ErrorKind::IsADirectory),
        ));
    }
    Ok(())
}

/// Creates the file with mode `0600` if it does not exist, so that SQLite never
/// creates it with the process's default mode.
fn create_private_file(path: &Path) -> Result<(), StorageError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StorageError::io(path, "create", e)),
    }
}

/// Checks an existing database's schema, or creates the schema in an empty one.
fn init_schema(
    path: &Path,
    connection: &mut Connection,
    writable: bool,
    busy_timeout: Duration,
) -> Result<(), StorageError> {
    let db = |e| db_error(path, e, busy_timeout);
    if !check_schema(path, connection, busy_timeout)? {
        if !writable {
            return Err(StorageError::invalid_file(
                path,
                "it has no token_storage table",
            ));
        }
        // Two processes may create the same new database at once: the immediate
        // transaction serializes them, and the second one finds the tables.
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        if !check_schema(path, &transaction, busy_timeout)? {
            transaction.execute_batch(CREATE_SCHEMA).map_err(db)?;
            let mut insert = transaction
                .prepare(
                    "INSERT INTO sdk_storage_adapter_internal(attribute, value) VALUES (?1, ?2)",
                )
                .map_err(db)?;
            insert
                .execute(["globus-sdk.version", WRITER_VERSION])
                .map_err(db)?;
            insert
                .execute(["globus-sdk.database_schema_version", SCHEMA_VERSION])
                .map_err(db)?;
        }
        transaction.commit().map_err(db)?;
    }
    Ok(())
}

/// Returns `Ok(true)` if the database holds a usable `token_storage` table,
/// `Ok(false)` if it holds no table at all, and an error otherwise.
fn check_schema(
    path: &Path,
    connection: &Connection,
    busy_timeout: Duration,
) -> Result<bool, StorageError> {
    let db = |e| db_error(path, e, busy_timeout);
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
        .map_err(db)?;
    if tables.is_empty() {
        return Ok(false);
    }
    if !tables.iter().any(|t| t == "token_storage") {
        return Err(StorageError::invalid_file(
            path,
            format!(
                "it is a SQLite database without a token_storage table (it has {}); \
                 is it another program's database?",
                tables.join(", ")
            ),
        ));
    }
    let columns: Vec<String> = connection
        .prepare("SELECT name FROM pragma_table_info('token_storage')")
        .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
        .map_err(db)?;
    for needed in ["namespace", "resource_server", "token_data_json"] {
        if !columns.iter().any(|c| c == needed) {
            return Err(StorageError::invalid_file(
                path,
                format!("its token_storage table has no {needed} column"),
            ));
        }
    }
    if tables.iter().any(|t| t == "sdk_storage_adapter_internal") {
        let version: Option<Option<String>> = connection
            .query_row(
                "SELECT value FROM sdk_storage_adapter_internal \
                 WHERE attribute = 'globus-sdk.database_schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)?;
        if let Some(Some(version)) = version
            && version != "1"
            && version != SCHEMA_VERSION
        {
            return Err(StorageError::UnsupportedFormat {
                path: path.to_owned(),
                what: "database_schema_version",
                found: format!("{version:?}"),
                supported: "\"1\" and \"2\"",
            });
        }
    }
    Ok(true)
}

/// Milliseconds, saturating.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Maps a SQLite error: a file that is not a database is an invalid token file, and
/// a database another process kept locked past `busy_timeout` is
/// [`StorageError::Locked`].
fn db_error(path: &Path, error: rusqlite::Error, busy_timeout: Duration) -> StorageError {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StorageError::Locked {
            path: path.to_owned(),
            lock_file: path.to_owned(),
            timeout: busy_timeout,
        },
        Some(ErrorCode::NotADatabase) => {
            StorageError::invalid_file(path, "it is not a SQLite database")
        }
        Some(ErrorCode::DatabaseCorrupt) => {
            StorageError::invalid_file(path, "the SQLite database is corrupt")
        }
        _ => StorageError::Database {
            path: path.to_owned(),
            source: Box::new(error),
        },
    }
}
