//! Robustness of the file storages: a closed storage refuses, leftovers of a crashed
//! write are cleaned up, a held lock is waited for only so long, and one damaged
//! entry does not stand in the way of the others.

use globus_app_storage::testing::sample_token;
use globus_app_storage::{
    DEFAULT_NAMESPACE, JsonTokenStorage, MemoryTokenStorage, StorageError, TokenStorage,
};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Every secret in the test files contains this; no error message may.
const SECRET: &str = "SECRET";

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Checks that every operation of a closed storage fails with `Closed`, and that
/// closing again is harmless.
fn assert_refuses_after_close(storage: &dyn TokenStorage) {
    storage.close().expect("close");
    storage.close().expect("closing twice is harmless");
    let results = [
        storage
            .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            .map(|_| ()),
        storage.get_token_data(DEFAULT_NAMESPACE, "a").map(|_| ()),
        storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")]),
        storage
            .remove_token_data(DEFAULT_NAMESPACE, "a")
            .map(|_| ()),
    ];
    for result in results {
        let err = result.expect_err("a closed storage must refuse");
        assert!(matches!(err, StorageError::Closed { .. }), "{err:?}");
        assert!(err.to_string().contains("was closed"), "{err}");
    }
}

#[test]
fn a_closed_json_storage_refuses_reads_and_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    let storage = JsonTokenStorage::new(&path);
    storage
        .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
        .expect("store");
    let before = fs::read(&path).expect("read");
    assert_refuses_after_close(&storage);
    assert_eq!(
        fs::read(&path).expect("read"),
        before,
        "the file was changed"
    );
    let err = storage
        .get_token_data(DEFAULT_NAMESPACE, "a")
        .expect_err("closed");
    assert_eq!(err.path(), Some(path.as_path()));
    // Another handle on the same file is not affected.
    assert!(
        JsonTokenStorage::new(&path)
            .get_token_data(DEFAULT_NAMESPACE, "a")
            .expect("another handle")
            .is_some()
    );
}

#[test]
fn a_closed_memory_storage_refuses_reads_and_writes() {
    let storage = MemoryTokenStorage::new();
    storage
        .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
        .expect("store");
    assert_refuses_after_close(&storage);
    assert!(storage.namespaces().is_empty(), "the tokens were kept");
    let err = storage
        .get_token_data(DEFAULT_NAMESPACE, "a")
        .expect_err("closed");
    assert_eq!(err.path(), None);
}

/// Creates a leftover temporary file of an interrupted write, `age` old.
fn leftover(dir: &Path, name: &str, age: Duration) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!(r#"{{"access_token": "{SECRET}"}}"#)).expect("write leftover");
    let file = fs::File::options()
        .write(true)
        .open(&path)
        .expect("open leftover");
    file.set_modified(SystemTime::now() - age)
        .expect("set the modification time");
    path
}

#[test]
fn a_write_removes_temporary_files_older_than_a_minute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    let storage = JsonTokenStorage::new(&path);
    storage
        .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
        .expect("first store");

    let old = leftover(
        dir.path(),
        ".tokens.json.Ab12Cd.tmp",
        Duration::from_secs(3600),
    );
    let just_old = leftover(
        dir.path(),
        ".tokens.json.Xy34Zw.tmp",
        Duration::from_secs(90),
    );
    let fresh = leftover(
        dir.path(),
        ".tokens.json.Fr56Sh.tmp",
        Duration::from_secs(5),
    );
    // Not this storage's: another token file's, and a file of another shape.
    let other_file = leftover(
        dir.path(),
        ".other.json.Ab12Cd.tmp",
        Duration::from_secs(3600),
    );
    let not_temporary = leftover(dir.path(), ".tokens.json.keep", Duration::from_secs(3600));

    storage
        .store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")])
        .expect("store");

    assert!(!old.exists(), "an hour-old leftover was kept");
    assert!(
        !just_old.exists(),
        "a leftover older than a minute was kept"
    );
    assert!(
        fresh.exists(),
        "a fresh temporary file (a write in progress?) was removed"
    );
    assert!(
        other_file.exists(),
        "another token file's leftover was removed"
    );
    assert!(
        not_temporary.exists(),
        "a file that is not a leftover was removed"
    );
    // A read removes nothing (it may not be allowed to write the directory).
    let old = leftover(
        dir.path(),
        ".tokens.json.Rd78Ab.tmp",
        Duration::from_secs(3600),
    );
    storage
        .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
        .expect("read");
    assert!(old.exists());
    assert_eq!(
        storage
            .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            .expect("read")
            .len(),
        2
    );
    let names = dir_entries(dir.path());
    assert!(names.contains(&"tokens.json".to_owned()), "{names:?}");
}

/// Takes the lock a JSON storage's writers take, as another process would (a lock
/// on another open file description of the lock file conflicts, even in this
/// process).
fn hold_json_lock(storage: &JsonTokenStorage) -> fs::File {
    let holder = fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(storage.lock_path())
        .expect("open the lock file");
    holder.lock().expect("take the lock");
    holder
}

#[test]
fn a_json_writer_waits_for_a_held_lock_only_as_long_as_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    let timeout = Duration::from_millis(200);
    let storage = JsonTokenStorage::new(&path).with_lock_timeout(timeout);
    assert_eq!(
        JsonTokenStorage::new(&path).lock_timeout(),
        JsonTokenStorage::DEFAULT_LOCK_TIMEOUT
    );
    assert_eq!(
        JsonTokenStorage::DEFAULT_LOCK_TIMEOUT,
        Duration::from_secs(30)
    );
    storage
        .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
        .expect("store");
    let before = fs::read(&path).expect("read");

    let holder = hold_json_lock(&storage);
    let started = std::time::Instant::now();
    for result in [
        storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")]),
        storage
            .remove_token_data(DEFAULT_NAMESPACE, "a")
            .map(|_| ()),
    ] {
        let err = result.expect_err("the lock is held");
        assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
        assert_eq!(err.path(), Some(path.as_path()));
        let message = err.to_string();
        for needed in [
            path.display().to_string(),
            storage.lock_path().display().to_string(),
            "locked by another process".to_owned(),
            "200ms".to_owned(),
            "raise the lock timeout".to_owned(),
        ] {
            assert!(message.contains(&needed), "{needed:?} missing: {message}");
        }
    }
    let waited = started.elapsed();
    assert!(
        waited >= 2 * timeout,
        "gave up before the timeout: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(10),
        "waited far longer than the timeout: {waited:?}"
    );
    // Reads take no lock; nothing was written.
    assert!(
        storage
            .get_token_data(DEFAULT_NAMESPACE, "a")
            .expect("read while locked")
            .is_some()
    );
    assert_eq!(fs::read(&path).expect("read"), before);

    drop(holder);
    storage
        .store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")])
        .expect("store once the lock is released");
}

#[test]
fn a_json_writer_takes_a_lock_released_while_it_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    let storage = JsonTokenStorage::new(&path);
    let holder = hold_json_lock(&storage);
    std::thread::scope(|scope| {
        let writer =
            scope.spawn(|| storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")]));
        // Whether or not the writer is already waiting, it gets the lock once freed.
        drop(holder);
        writer.join().expect("writer").expect("store");
    });
    assert!(
        storage
            .get_token_data(DEFAULT_NAMESPACE, "a")
            .expect("read")
            .is_some()
    );
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use globus_app_storage::SqliteTokenStorage;

    /// Another connection holding an exclusive lock on the database.
    fn hold_exclusive(path: &Path) -> rusqlite::Connection {
        let holder = rusqlite::Connection::open(path).expect("open");
        holder
            .execute_batch("BEGIN EXCLUSIVE")
            .expect("take an exclusive lock");
        holder
    }

    fn check_locked(err: &StorageError, path: &Path, timeout: &str) {
        assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
        assert_eq!(err.path(), Some(path));
        let message = err.to_string();
        for needed in [
            path.display().to_string(),
            "locked by another process".to_owned(),
            timeout.to_owned(),
        ] {
            assert!(message.contains(&needed), "{needed:?} missing: {message}");
        }
        assert!(!message.contains("(the lock is on"), "{message}");
    }

    #[test]
    fn a_busy_database_is_waited_for_only_as_long_as_configured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.db");
        let storage = SqliteTokenStorage::open_with_busy_timeout(&path, Duration::from_millis(200))
            .expect("open");
        assert_eq!(storage.busy_timeout(), Duration::from_millis(200));
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
            .expect("store");

        let holder = hold_exclusive(&path);
        let started = std::time::Instant::now();
        for result in [
            storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")]),
            storage
                .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
                .map(|_| ()),
            storage
                .remove_token_data(DEFAULT_NAMESPACE, "a")
                .map(|_| ()),
        ] {
            check_locked(&result.expect_err("locked"), &path, "200ms");
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        // Opening waits the same way.
        let err = SqliteTokenStorage::open_with_busy_timeout(&path, Duration::from_millis(50))
            .expect_err("open while locked");
        check_locked(&err, &path, "50ms");
        storage
            .set_busy_timeout(Duration::from_millis(20))
            .expect("set the timeout");
        let err = storage
            .get_token_data(DEFAULT_NAMESPACE, "a")
            .expect_err("locked");
        check_locked(&err, &path, "20ms");

        holder.execute_batch("COMMIT").expect("release");
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")])
            .expect("store once released");
        assert_eq!(
            SqliteTokenStorage::open(&path)
                .expect("open")
                .busy_timeout(),
            SqliteTokenStorage::DEFAULT_BUSY_TIMEOUT
        );
    }
}
