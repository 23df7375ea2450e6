//! [`JsonTokenStorage`]: the Python SDK's JSON token file, written atomically under a
//! lock.
//!
//! # File format
//!
//! The file is the one the Python globus-sdk's `JSONTokenStorage` reads and writes,
//! format `2.0`:
//!
//! ```json
//! {"data": {"DEFAULT": {"transfer.api.globus.org": {"resource_server": "…", "…": "…"}}},
//!  "format_version": "2.0", "globus-sdk.version": "…"}
//! ```
//!
//! A format `1.0` file (`{"by_rs": {…}, "format_version": "1.0", …}`, written by the
//! SDK's old `SimpleJSONFileAdapter`) is read as namespace `DEFAULT`, and written back
//! as `2.0` by the next store or remove. Any other `format_version` is an
//! [`UnsupportedFormat`](StorageError::UnsupportedFormat) error. A store or remove
//! keeps the other namespaces, and any top-level keys this crate does not know, as
//! they were (the Python SDK does too for `2.0` files). `globus-sdk.version` is set to
//! [`WRITER_VERSION`]; Python only requires it to be a string.
//!
//! A file that is not JSON, or whose structure is wrong (`data` or the namespace not
//! an object), is an [`InvalidFile`](StorageError::InvalidFile) error for every
//! operation, and is never written. A single entry with a field of the wrong type is
//! an error only when that entry is read; an app's
//! [`load_namespace`](TokenStorage::load_namespace) reports it as unreadable and
//! reads the others. A store replaces it and a remove removes it; every write keeps
//! the other entries (damaged or not) as the same JSON values, so a damaged entry
//! never stands in the way of a new login.
//! A store that would leave a file this crate cannot read back (token data nested
//! deeper than serde_json's limit of 128 levels, which the upgrade of a format `1.0`
//! file can reach, as it adds a level) is an `InvalidFile` error too, and writes
//! nothing.
//!
//! # Atomic writes
//!
//! A write never modifies the token file in place: the new contents go to a temporary
//! file in the same directory (mode `0600`), which is flushed to disk (`fsync`) and
//! then renamed over the token file; finally the directory is flushed so that the
//! rename itself survives a power cut. A crash at any point leaves either the old or
//! the new file, never a truncated one. (The Python SDK truncates and rewrites the
//! file in place: a crash in the middle loses every token.) A directory this crate
//! creates gets mode `0700`.
//!
//! A crash between the creation of the temporary file and its rename leaves the
//! temporary file behind (`.<token file name>.<random>.tmp`, e.g.
//! `.tokens.json.a1B2c3.tmp`), and it holds tokens. The next write, holding the lock,
//! removes those of the token file that are more than a minute old (a write takes
//! milliseconds, so they are not a write in progress); reads remove nothing.
//!
//! If the token file is a symbolic link, the file it points to is replaced, and the
//! link is kept. (The lock file stays beside the link: processes that name the same
//! file by different paths do not exclude each other.)
//!
//! # Locking
//!
//! Every read-modify-write (a store, or a remove that finds something to remove)
//! holds an exclusive OS advisory lock (`flock` on Unix, `LockFileEx` on Windows,
//! through [`std::fs::File::lock`]) from before the read until after the rename. Two
//! processes storing different resource servers at the same moment therefore both keep
//! theirs. (The Python SDK does not lock: one of the two updates is lost.)
//!
//! A writer waits for the lock at most its lock timeout
//! ([`DEFAULT_LOCK_TIMEOUT`](JsonTokenStorage::DEFAULT_LOCK_TIMEOUT) unless set with
//! [`with_lock_timeout`](JsonTokenStorage::with_lock_timeout)), then fails with
//! [`StorageError::Locked`], which names the token file and the lock file, and writes
//! nothing. Only a live process can hold the lock that long: a hung one, or one that
//! keeps its lock for long.
//!
//! The lock is taken on a sibling file, `<token file>.lock` (e.g. `tokens.json.lock`),
//! not on the token file itself: a rename replaces the token file with a new inode, so
//! a lock on the old one would not exclude a process that opened the new one. The lock
//! file is created with mode `0600`, is never written, and is never deleted (deleting
//! it would let two processes lock two different files). Its existence means nothing:
//! only the OS lock does, and the OS releases it when its holder exits or dies, so a
//! crashed process never blocks the others.
//!
//! Reads take no lock: thanks to the rename, a reader always sees a complete file, and
//! a read does not need write access to the directory. A file system where locking is
//! unsupported (the OS says so) gets unlocked writes, as in the Python SDK.
//!
//! # Leases
//!
//! The storage keeps leases ([`LeaseStorage`]) in `<token file>.leases` (e.g.
//! `tokens.json.leases`): per namespace, the holder and when its lease ends on this
//! machine's clock, the last fence given out and the fence of the last fenced write,
//! read and written under the same lock as the tokens. A holder that dies frees its
//! lease when the time to live ends. The Python SDK ignores this file.
//!
//! Processes that use the Python SDK on the same file do not take the lock, so a Python
//! write racing with a Rust write can still lose one of them, and a Rust read racing
//! with a Python in-place rewrite can see a partial file and report it as invalid.

use crate::lease::LeaseRow;
use crate::token::{kind_of, read_token_value, token_from_value, token_to_value};
use crate::{
    Fence, LeaseOutcome, LeaseStorage, LoadedNamespace, StorageError, TokenData, TokenStorage,
    WRITER_VERSION,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The format version this crate writes.
const FORMAT_VERSION: &str = "2.0";
/// The format versions this crate reads.
const SUPPORTED_VERSIONS: &str = "\"1.0\" and \"2.0\"";
/// How old a temporary file must be for a writer to remove it as the leftover of an
/// interrupted write: a write takes milliseconds, so one a minute old is no write in
/// progress.
const LEFTOVER_AGE: Duration = Duration::from_secs(60);
/// The suffix of temporary files.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// Token data in a JSON file, in the same format as the Python SDK's
/// `JSONTokenStorage`, with atomic writes and an exclusive lock around every update.
///
/// Creating the storage does no I/O. A missing file reads as empty; the first store
/// creates it (mode `0600`) and any missing directories (mode `0700`). See the
/// [module documentation](self) for the format, the atomic write and the lock.
///
/// ```
/// use globus_app_storage::{JsonTokenStorage, TokenStorage};
/// use globus_app_storage::testing::sample_token;
///
/// let dir = tempfile::tempdir()?;
/// let storage = JsonTokenStorage::new(dir.path().join("app/tokens.json"));
/// storage.store_token_data("DEFAULT", &[
///     sample_token("auth.globus.org"),
///     sample_token("transfer.api.globus.org"),
/// ])?;
/// let tokens = storage.get_token_data_by_resource_server("DEFAULT")?;
/// assert_eq!(tokens.len(), 2);
/// assert!(storage.remove_token_data("DEFAULT", "auth.globus.org")?);
/// assert!(!storage.remove_token_data("DEFAULT", "auth.globus.org")?);
/// assert_eq!(storage.namespaces()?, ["DEFAULT"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JsonTokenStorage {
    path: PathBuf,
    lock_path: PathBuf,
    lock_timeout: Duration,
    closed: AtomicBool,
    #[cfg(test)]
    before_persist: Option<fn(&Path) -> io::Result<()>>,
}

impl JsonTokenStorage {
    /// How long a write waits for another process's lock on the file before failing
    /// with [`StorageError::Locked`]: 30 seconds.
    pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

    /// Creates a storage for the JSON token file at `path`. No I/O happens until the
    /// first read or write.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let lock_path = match path.file_name() {
            Some(name) => {
                let mut lock_name = name.to_owned();
                lock_name.push(".lock");
                path.with_file_name(lock_name)
            }
            // Not a file name ("/", ".."): every operation fails on the path itself.
            None => path.join(".lock"),
        };
        Self {
            path,
            lock_path,
            lock_timeout: Self::DEFAULT_LOCK_TIMEOUT,
            closed: AtomicBool::new(false),
            #[cfg(test)]
            before_persist: None,
        }
    }

    /// Sets how long a write waits for another process's lock on the file before
    /// failing with [`StorageError::Locked`] (default
    /// [`DEFAULT_LOCK_TIMEOUT`](Self::DEFAULT_LOCK_TIMEOUT)). A zero timeout tries
    /// once.
    ///
    /// ```
    /// use globus_app_storage::JsonTokenStorage;
    /// use std::time::Duration;
    /// let storage = JsonTokenStorage::new("tokens.json").with_lock_timeout(Duration::from_secs(5));
    /// assert_eq!(storage.lock_timeout(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Returns how long a write waits for another process's lock.
    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// Returns the token file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the path of the lock file that writers lock, `<token file>.lock`.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Returns the namespaces in the file, in sorted order (like the Python
    /// `SQLiteTokenStorage.iter_namespaces`). A missing file has none.
    pub fn namespaces(&self) -> Result<Vec<String>, StorageError> {
        Ok(match self.read()? {
            Some(document) => document.data.keys().cloned().collect(),
            None => Vec::new(),
        })
    }

    /// Fails if the storage was closed.
    fn check_open(&self) -> Result<(), StorageError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed {
                path: Some(self.path.clone()),
            });
        }
        Ok(())
    }

    /// Reads and parses the file; `None` if it does not exist.
    fn read(&self) -> Result<Option<Document>, StorageError> {
        self.check_open()?;
        match fs::read(&self.path) {
            Ok(bytes) => Document::parse(&self.path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io(&self.path, "read", e)),
        }
    }

    /// Runs a read-modify-write under the lock. `update` returns whether it changed
    /// anything; nothing is written if not, or if it fails.
    fn update<R>(
        &self,
        update: impl FnOnce(&mut Document) -> Result<(R, bool), StorageError>,
    ) -> Result<R, StorageError> {
        self.check_open()?;
        if self.path.file_name().is_none() {
            return Err(StorageError::InvalidPath {
                path: self.path.clone(),
                reason: "the path does not name a file; give a path such as tokens.json".into(),
            });
        }
        let dir = parent_dir(&self.path);
        create_private_dir_all(dir)?;
        let _lock = self.lock_exclusive()?;
        let mut document = self.read()?.unwrap_or_else(Document::empty);
        let (result, changed) = update(&mut document)?;
        if changed {
            self.write(document)?;
        }
        Ok(result)
        // `_lock` is dropped here, after the rename: closing the file releases the lock.
    }

    /// Replaces the file atomically with `document`.
    fn write(&self, document: Document) -> Result<(), StorageError> {
        let bytes = document.into_bytes(&self.path)?;
        // Replace the file a symbolic link points to, not the link.
        let target = match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(&self.path)
                .map_err(|e| StorageError::io(&self.path, "resolve the symbolic link", e))?,
            _ => self.path.clone(),
        };
        let dir = parent_dir(&target);
        let prefix = format!(
            ".{}.",
            target
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        remove_leftovers(dir, &prefix);
        // tempfile creates the file with mode 0600 on Unix.
        let mut temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(TEMPORARY_SUFFIX)
            .tempfile_in(dir)
            .map_err(|e| StorageError::io(dir, "create a temporary file in", e))?;
        temp.write_all(&bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| StorageError::io(temp.path(), "write", e))?;
        #[cfg(test)]
        if let Some(hook) = self.before_persist {
            hook(temp.path()).map_err(|e| StorageError::io(temp.path(), "write", e))?;
        }
        // On failure the temporary file is deleted and the old token file is intact.
        temp.persist(&target)
            .map_err(|e| StorageError::io(&target, "replace", e.error))?;
        sync_dir(dir)
    }
}

impl TokenStorage for JsonTokenStorage {
    fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
        self.check_open()?;
        if tokens.is_empty() {
            return Ok(());
        }
        let path = &self.path;
        self.update(|document| {
            let entries = document.namespace_mut(path, namespace)?;
            for token in tokens {
                entries.insert(token.resource_server.clone(), token_to_value(token));
            }
            Ok(((), true))
        })
    }

    fn get_token_data_by_resource_server(
        &self,
        namespace: &str,
    ) -> Result<BTreeMap<String, TokenData>, StorageError> {
        let Some(mut document) = self.read()? else {
            return Ok(BTreeMap::new());
        };
        let Some(entries) = document.take_namespace(&self.path, namespace)? else {
            return Ok(BTreeMap::new());
        };
        entries
            .into_iter()
            .map(|(resource_server, value)| {
                let token = token_from_value(value, namespace, &resource_server)
                    .map_err(|reason| StorageError::invalid_file(&self.path, reason))?;
                Ok((resource_server, token))
            })
            .collect()
    }

    fn load_namespace(&self, namespace: &str) -> Result<LoadedNamespace, StorageError> {
        let mut loaded = LoadedNamespace::default();
        let Some(mut document) = self.read()? else {
            return Ok(loaded);
        };
        let Some(entries) = document.take_namespace(&self.path, namespace)? else {
            return Ok(loaded);
        };
        for (resource_server, value) in entries {
            loaded.add(
                &self.path,
                namespace,
                resource_server,
                read_token_value(value),
            );
        }
        Ok(loaded)
    }

    fn get_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<Option<TokenData>, StorageError> {
        let Some(mut document) = self.read()? else {
            return Ok(None);
        };
        let Some(mut entries) = document.take_namespace(&self.path, namespace)? else {
            return Ok(None);
        };
        entries
            .remove(resource_server)
            .map(|value| {
                token_from_value(value, namespace, resource_server)
                    .map_err(|reason| StorageError::invalid_file(&self.path, reason))
            })
            .transpose()
    }

    fn remove_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<bool, StorageError> {
        self.check_open()?;
        // Nothing to remove from a missing file: do not create it, nor its directory.
        if let Err(e) = fs::symlink_metadata(&self.path)
            && e.kind() == io::ErrorKind::NotFound
        {
            return Ok(false);
        }
        let path = &self.path;
        self.update(|document| {
            let removed = match document.data.get_mut(namespace) {
                None => false,
                Some(Value::Object(entries)) => entries.remove(resource_server).is_some(),
                Some(other) => return Err(bad_namespace(path, namespace, other)),
            };
            Ok((removed, removed))
        })
    }

    /// Marks the storage closed: every later operation fails with
    /// [`StorageError::Closed`] (other storages on the same file are not affected).
    /// Closing again does nothing.
    fn close(&self) -> Result<(), StorageError> {
        self.closed.store(true, Ordering::Release);
        Ok(())
    }

    fn leases(&self) -> Option<&dyn LeaseStorage> {
        Some(self)
    }
}

/// A parsed token file, normalized to format 2.0.
pub(crate) struct Document {
    /// `data`: namespace → resource server → token data (the entries are validated
    /// only when read, so that a bad entry elsewhere does not block this app).
    pub(crate) data: Map<String, Value>,
    /// Every other top-level key, kept as it was.
    rest: Map<String, Value>,
}

impl Document {
    fn empty() -> Self {
        Self {
            data: Map::new(),
            rest: Map::new(),
        }
    }

    /// Parses the bytes of a token file; `path` is only for the error messages.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<Self, StorageError> {
        // serde_json's syntax errors give a position, never the text.
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| StorageError::invalid_file(path, format!("invalid JSON: {e}")))?;
        let Value::Object(mut rest) = value else {
            return Err(StorageError::invalid_file(
                path,
                format!("the top level is {}, not an object", kind_of(&value)),
            ));
        };
        let version = match rest.get("format_version") {
            Some(Value::String(v)) if v == "1.0" || v == "2.0" => v.clone(),
            found => {
                return Err(StorageError::UnsupportedFormat {
                    path: path.to_owned(),
                    what: "format_version",
                    found: match found {
                        None => "missing".to_owned(),
                        // A short marker, not a secret: show it so the user can tell.
                        Some(Value::String(s)) => format!("{:?}", truncate(s, 20)),
                        Some(other) => kind_of(other).to_owned(),
                    },
                    supported: SUPPORTED_VERSIONS,
                });
            }
        };
        let (key, what) = if version == "1.0" {
            ("by_rs", "format 1.0 file's \"by_rs\"")
        } else {
            ("data", "\"data\"")
        };
        let data = match rest.remove(key) {
            Some(Value::Object(map)) if version == "1.0" => {
                let mut data = Map::new();
                data.insert(crate::DEFAULT_NAMESPACE.to_owned(), Value::Object(map));
                data
            }
            Some(Value::Object(map)) => map,
            None => {
                return Err(StorageError::invalid_file(
                    path,
                    format!("{what} is missing"),
                ));
            }
            Some(other) => {
                return Err(StorageError::invalid_file(
                    path,
                    format!("{what} is {}, not an object", kind_of(&other)),
                ));
            }
        };
        Ok(Self { data, rest })
    }

    /// Removes and returns one namespace's entries, if there are any.
    pub(crate) fn take_namespace(
        &mut self,
        path: &Path,
        namespace: &str,
    ) -> Result<Option<Map<String, Value>>, StorageError> {
        match self.data.remove(namespace) {
            None => Ok(None),
            Some(Value::Object(entries)) => Ok(Some(entries)),
            Some(other) => Err(bad_namespace(path, namespace, &other)),
        }
    }

    /// Returns one namespace's entries for update, creating it if missing.
    pub(crate) fn namespace_mut(
        &mut self,
        path: &Path,
        namespace: &str,
    ) -> Result<&mut Map<String, Value>, StorageError> {
        match self
            .data
            .entry(namespace)
            .or_insert_with(|| Value::Object(Map::new()))
        {
            Value::Object(entries) => Ok(entries),
            other => Err(bad_namespace(path, namespace, other)),
        }
    }

    /// The bytes of the file to write, after checking that they read back.
    ///
    /// They always do, except when the token data nests so deeply that the file
    /// would pass serde_json's nesting limit: the upgrade of a format 1.0 file to
    /// 2.0 adds a level, and a token's `extra` can hold anything. Such a file is
    /// never written, since it could not be read afterwards.
    pub(crate) fn into_bytes(self, path: &Path) -> Result<Vec<u8>, StorageError> {
        let bytes = serde_json::to_vec(&self.into_value()).map_err(StorageError::other)?;
        match Document::parse(path, &bytes) {
            Ok(_) => Ok(bytes),
            Err(StorageError::InvalidFile { reason, .. }) => Err(StorageError::invalid_file(
                path,
                format!(
                    "once updated it would not read back ({reason}): its token data \
                     nests too deeply; nothing was written"
                ),
            )),
            Err(other) => Err(other),
        }
    }

    /// The file's JSON, as format 2.0 with this crate's version.
    fn into_value(self) -> Value {
        let mut top = self.rest;
        top.insert("data".into(), Value::Object(self.data));
        top.insert("format_version".into(), FORMAT_VERSION.into());
        top.insert("globus-sdk.version".into(), WRITER_VERSION.into());
        Value::Object(top)
    }
}

fn bad_namespace(path: &Path, namespace: &str, found: &Value) -> StorageError {
    StorageError::invalid_file(
        path,
        format!(
            "namespace {namespace:?} is {}, not an object of token data by resource server",
            kind_of(found)
        ),
    )
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing ancestors, each with mode `0700` on Unix.
pub(crate) fn create_private_dir_all(dir: &Path) -> Result<(), StorageError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| StorageError::io(dir, "create the directory", e))
}

/// Removes the temporary files that interrupted writes of a token file left in `dir`
/// (named `<prefix><random>.tmp`) once they are [`LEFTOVER_AGE`] old. Best effort:
/// a file that cannot be examined or removed is left.
fn remove_leftovers(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_ours = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.strip_suffix(TEMPORARY_SUFFIX))
            .is_some_and(|random| {
                !random.is_empty() && random.chars().all(|c| c.is_ascii_alphanumeric())
            });
        if !is_ours {
            continue;
        }
        // `DirEntry::metadata` does not follow a symbolic link: only plain files go.
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let old = metadata
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > LEFTOVER_AGE);
        if metadata.is_file() && old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

impl JsonTokenStorage {
    /// Opens (creating it `0600` if needed) and exclusively locks the lock file,
    /// waiting at most the lock timeout. The lock is released when the returned file
    /// is closed.
    fn lock_exclusive(&self) -> Result<File, StorageError> {
        let lock_path = &self.lock_path;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(lock_path)
            .map_err(|e| StorageError::io(lock_path, "create the lock file", e))?;
        // The OS has no lock call with a timeout: try, and pause between tries (at
        // most 10 ms, so a released lock is taken soon after).
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) => {}
                // Some network file systems cannot lock; write unlocked, like the
                // Python SDK.
                Err(std::fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                    return Ok(file);
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StorageError::io(lock_path, "lock", e));
                }
            }
            let Some(left) = self.lock_timeout.checked_sub(start.elapsed()) else {
                return Err(StorageError::Locked {
                    path: self.path.clone(),
                    lock_file: lock_path.clone(),
                    timeout: self.lock_timeout,
                });
            };
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }
}

/// Flushes a directory, so that a rename in it is durable.
fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        let result = File::open(dir).and_then(|d| d.sync_all());
        match result {
            // Some file systems cannot fsync a directory; the rename is still done.
            Err(e)
                if !matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                ) =>
            {
                return Err(StorageError::io(dir, "flush to disk", e));
            }
            _ => {}
        }
    }
    // Windows has no directory fsync; the rename (MoveFileEx) is journaled by NTFS.
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The lease file's contents: a row per namespace, and the fence a new namespace
/// starts from.
#[derive(Debug, Default)]
struct Leases {
    rows: BTreeMap<String, LeaseRow>,
    floor: u64,
}

impl Leases {
    fn row(&mut self, namespace: &str) -> &mut LeaseRow {
        let floor = self.floor;
        self.rows
            .entry(namespace.to_owned())
            .or_insert_with(|| LeaseRow {
                holder: None,
                issued: floor,
                written: floor,
            })
    }
}

/// The machine's clock in milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

// The lease file of a token file: `<token file>.leases` (`{"floor": N, "namespaces":
// {ns: row}}`), read and written under the token file's lock.
impl JsonTokenStorage {
    fn leases_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_default();
        name.push(".leases");
        self.path.with_file_name(name)
    }

    /// Reads the lease file: the rows, and the fence floor of namespaces without one.
    /// A damaged file holds no tokens: it starts again, with a floor above every
    /// fence given before (the clock in milliseconds is far above any count), so a
    /// holder from before cannot write over what comes after.
    fn read_leases(&self) -> Result<Leases, StorageError> {
        let path = self.leases_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Leases::default()),
            Err(e) => return Err(StorageError::io(&path, "read", e)),
        };
        let parsed = serde_json::from_slice::<Value>(&bytes).ok();
        let (Some(floor), Some(namespaces)) = (
            parsed.as_ref().and_then(|v| v.get("floor")?.as_u64()),
            parsed
                .as_ref()
                .and_then(|v| v.get("namespaces")?.as_object()),
        ) else {
            return Ok(Leases {
                rows: BTreeMap::new(),
                floor: u64::try_from(now_ms()).unwrap_or(u64::MAX / 2),
            });
        };
        let mut rows = BTreeMap::new();
        for (namespace, row) in namespaces {
            let number = |key: &str| row.get(key).and_then(Value::as_u64).unwrap_or(floor);
            let holder = match (
                row.get("owner").and_then(Value::as_str),
                row.get("expires_at_ms").and_then(Value::as_i64),
            ) {
                (Some(owner), Some(until)) => Some((owner.to_owned(), until)),
                _ => None,
            };
            rows.insert(
                namespace.clone(),
                LeaseRow {
                    holder,
                    issued: number("issued"),
                    written: number("written"),
                },
            );
        }
        Ok(Leases { rows, floor })
    }

    fn write_leases(&self, leases: &Leases) -> Result<(), StorageError> {
        let path = self.leases_path();
        let namespaces: Map<String, Value> = leases
            .rows
            .iter()
            .map(|(namespace, row)| {
                let mut value = serde_json::json!({"issued": row.issued, "written": row.written});
                if let Some((owner, until)) = &row.holder {
                    value["owner"] = owner.clone().into();
                    value["expires_at_ms"] = (*until).into();
                }
                (namespace.clone(), value)
            })
            .collect();
        let document = serde_json::json!({"floor": leases.floor, "namespaces": namespaces});
        let bytes =
            serde_json::to_vec(&document).map_err(|e| StorageError::other(e.to_string()))?;
        let dir = parent_dir(&path);
        let mut temp = tempfile::Builder::new()
            .prefix(".leases.")
            .suffix(TEMPORARY_SUFFIX)
            .tempfile_in(dir)
            .map_err(|e| StorageError::io(dir, "create a temporary file in", e))?;
        temp.write_all(&bytes)
            .map_err(|e| StorageError::io(temp.path(), "write", e))?;
        temp.persist(&path)
            .map_err(|e| StorageError::io(&path, "replace", e.error))?;
        Ok(())
    }

    /// Runs `f` on a namespace's lease row under the token file's lock, with the
    /// machine's clock (the processes sharing a file share the machine), and writes
    /// the rows back.
    fn with_lease<R>(
        &self,
        namespace: &str,
        f: impl FnOnce(&mut LeaseRow, i64) -> R,
    ) -> Result<R, StorageError> {
        self.check_open()?;
        create_private_dir_all(parent_dir(&self.path))?;
        let _lock = self.lock_exclusive()?;
        let mut leases = self.read_leases()?;
        let result = f(leases.row(namespace), now_ms());
        self.write_leases(&leases)?;
        Ok(result)
    }
}

impl LeaseStorage for JsonTokenStorage {
    fn acquire_lease(
        &self,
        namespace: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StorageError> {
        self.with_lease(namespace, |row, now| row.acquire(owner, ttl, now))
    }

    fn release_lease(&self, namespace: &str, owner: &str) -> Result<(), StorageError> {
        self.with_lease(namespace, |row, _| row.release(owner))
    }

    fn store_token_data_fenced(
        &self,
        namespace: &str,
        tokens: &[TokenData],
        fence: Fence,
    ) -> Result<(), StorageError> {
        self.check_open()?;
        create_private_dir_all(parent_dir(&self.path))?;
        // One lock around the check, the token write and the fence's record.
        let _lock = self.lock_exclusive()?;
        let mut leases = self.read_leases()?;
        if let Err((fence, written)) = leases.row(namespace).accept_write(fence) {
            return Err(StorageError::Fenced { fence, written });
        }
        let mut document = self.read()?.unwrap_or_else(Document::empty);
        let entries = document.namespace_mut(&self.path, namespace)?;
        for token in tokens {
            entries.insert(token.resource_server.clone(), token_to_value(token));
        }
        self.write(document)?;
        self.write_leases(&leases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_token;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn failed_write_before_rename_leaves_the_old_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.json");
        let mut storage = JsonTokenStorage::new(&path);
        storage
            .store_token_data("DEFAULT", &[sample_token("a")])
            .expect("first store");
        let before = fs::read(&path).expect("read");

        storage.before_persist = Some(|temp| {
            // The new contents are complete and on disk, but not yet renamed.
            let written = fs::read(temp)?;
            assert!(String::from_utf8_lossy(&written).contains("\"b\""));
            Err(io::Error::other("simulated failure before the rename"))
        });
        let err = storage
            .store_token_data("DEFAULT", &[sample_token("b")])
            .expect_err("the hook fails the write");
        assert!(matches!(err, StorageError::Io { .. }), "{err}");
        assert_eq!(fs::read(&path).expect("read"), before, "old file intact");
        assert_eq!(entries(dir.path()), ["tokens.json", "tokens.json.lock"]);

        storage.before_persist = None;
        let tokens = storage
            .get_token_data_by_resource_server("DEFAULT")
            .expect("read");
        assert_eq!(tokens.keys().collect::<Vec<_>>(), ["a"]);
    }

    /// The child half of `crash_before_rename_leaves_the_old_file`: stores with a hook
    /// that ends the process between the fsync of the new file and its rename.
    #[test]
    fn crash_child() {
        let Some(path) = std::env::var_os("GLOBUS_APP_STORAGE_CRASH_CHILD") else {
            return;
        };
        let mut storage = JsonTokenStorage::new(PathBuf::from(path));
        // `exit` runs no destructor: the temporary file stays, as after a crash.
        storage.before_persist = Some(|_| std::process::exit(77));
        let _ = storage.store_token_data("DEFAULT", &[sample_token("b")]);
        unreachable!("the hook aborts the process");
    }

    #[test]
    fn crash_before_rename_leaves_the_old_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.json");
        let storage = JsonTokenStorage::new(&path);
        storage
            .store_token_data("DEFAULT", &[sample_token("a")])
            .expect("first store");
        let before = fs::read(&path).expect("read");

        let status = std::process::Command::new(std::env::current_exe().expect("current_exe"))
            .args([
                "--exact",
                "json::tests::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GLOBUS_APP_STORAGE_CRASH_CHILD", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("spawn the child");
        assert_eq!(
            status.code(),
            Some(77),
            "the child must have died in the hook"
        );

        // The crash left its temporary file behind, and the token file untouched.
        let names = entries(dir.path());
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(
            names[0].starts_with(".tokens.json.") && names[0].ends_with(".tmp"),
            "{names:?}"
        );
        assert_eq!(fs::read(&path).expect("read"), before, "old file intact");

        // The lock died with the child: the next store proceeds and keeps both.
        storage
            .store_token_data("DEFAULT", &[sample_token("c")])
            .expect("store after the crash");
        let tokens = storage
            .get_token_data_by_resource_server("DEFAULT")
            .expect("read");
        assert_eq!(tokens.keys().collect::<Vec<_>>(), ["a", "c"]);
    }

    #[test]
    fn upgrades_format_1_and_keeps_unknown_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.json");
        let old = serde_json::json!({
            "by_rs": {"a": token_to_value(&sample_token("a"))},
            "format_version": "1.0", "globus-sdk.version": "3.0.0", "x-other": [1]
        });
        fs::write(&path, old.to_string()).expect("write");
        let storage = JsonTokenStorage::new(&path);
        assert!(
            storage
                .get_token_data("DEFAULT", "a")
                .expect("get")
                .is_some()
        );
        assert!(storage.get_token_data("other", "a").expect("get").is_none());
        // Reading does not rewrite.
        assert_eq!(fs::read_to_string(&path).expect("read"), old.to_string());

        storage
            .store_token_data("ns2", &[sample_token("b")])
            .expect("store");
        let written: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert_eq!(written["format_version"], "2.0");
        assert_eq!(written["globus-sdk.version"], WRITER_VERSION);
        assert_eq!(written["x-other"], serde_json::json!([1]));
        assert!(written.get("by_rs").is_none());
        assert!(written["data"]["DEFAULT"]["a"].is_object());
        assert!(written["data"]["ns2"]["b"].is_object());
    }

    #[test]
    fn a_file_that_would_not_read_back_is_not_written() {
        // A format 1.0 file nested just within serde_json's limit reads fine, but
        // its upgrade to 2.0 adds a level: the store fails and leaves it as it was.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.json");
        let deep = format!("{}{}", "[".repeat(124), "]".repeat(124));
        let old = format!(
            r#"{{"by_rs": {{"a": {{"resource_server": "a", "scope": "s", "access_token": "AT", "expires_at_seconds": 1, "x": {deep}}}}}, "format_version": "1.0"}}"#
        );
        fs::write(&path, &old).expect("write");
        let storage = JsonTokenStorage::new(&path);
        assert!(
            storage
                .get_token_data("DEFAULT", "a")
                .expect("get")
                .is_some()
        );
        let err = storage
            .store_token_data("DEFAULT", &[sample_token("b")])
            .expect_err("the upgraded file would nest too deeply");
        assert!(matches!(err, StorageError::InvalidFile { .. }), "{err}");
        assert!(err.to_string().contains("nests too deeply"), "{err}");
        assert_eq!(fs::read_to_string(&path).expect("read"), old);
        assert!(
            storage
                .get_token_data("DEFAULT", "a")
                .expect("get")
                .is_some()
        );
    }

    #[test]
    fn remove_of_missing_file_creates_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = JsonTokenStorage::new(dir.path().join("sub/tokens.json"));
        assert!(!storage.remove_token_data("DEFAULT", "a").expect("remove"));
        assert!(entries(dir.path()).is_empty());
        storage
            .store_token_data("DEFAULT", &[])
            .expect("empty store");
        assert!(entries(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn modes_and_symlinks() {
        use std::os::unix::fs::{PermissionsExt as _, symlink};
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real/tokens.json");
        let storage = JsonTokenStorage::new(&real);
        storage
            .store_token_data("DEFAULT", &[sample_token("a")])
            .expect("store");
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&real), 0o600);
        assert_eq!(mode(&dir.path().join("real/tokens.json.lock")), 0o600);
        assert_eq!(mode(&dir.path().join("real")), 0o700);

        let link = dir.path().join("link.json");
        symlink(&real, &link).expect("symlink");
        JsonTokenStorage::new(&link)
            .store_token_data("DEFAULT", &[sample_token("b")])
            .expect("store through link");
        assert!(
            fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        let tokens = storage
            .get_token_data_by_resource_server("DEFAULT")
            .expect("read");
        assert_eq!(tokens.len(), 2);
    }
}
