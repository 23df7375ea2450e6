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
        assert_eq!(
            SqliteTokenStorage::DEFAULT_BUSY_TIMEOUT,
            Duration::from_secs(30)
        );
    }
}

/// A stored entry whose `expires_at_seconds` is not a number, holding secrets.
fn damaged_entry(resource_server: &str) -> serde_json::Value {
    serde_json::json!({
        "resource_server": resource_server,
        "scope": "s",
        "access_token": format!("{SECRET}-AT-{resource_server}"),
        "refresh_token": format!("{SECRET}-RT-{resource_server}"),
        "expires_at_seconds": "x",
    })
}

fn entry_value(resource_server: &str) -> serde_json::Value {
    serde_json::to_value(sample_token(resource_server)).expect("json")
}

/// Checks what a load of namespace DEFAULT reports: `good` read, `damaged`
/// unreadable, each named with the file and no secret.
fn check_load(storage: &dyn TokenStorage, path: &Path, good: &[&str], damaged: &[(&str, &str)]) {
    let loaded = storage.load_namespace(DEFAULT_NAMESPACE).expect("load");
    assert_eq!(
        loaded.tokens.keys().map(String::as_str).collect::<Vec<_>>(),
        good
    );
    let found: Vec<&str> = loaded
        .unreadable
        .iter()
        .map(|e| e.resource_server.as_str())
        .collect();
    let expected: Vec<&str> = damaged.iter().map(|(rs, _)| *rs).collect();
    assert_eq!(found, expected);
    for (entry, (rs, reason)) in loaded.unreadable.iter().zip(damaged) {
        assert_eq!(entry.path.as_deref(), Some(path));
        assert_eq!(entry.namespace, DEFAULT_NAMESPACE);
        assert!(entry.reason.contains(reason), "{}", entry.reason);
        let message = entry.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(&format!("{rs:?}")), "{message}");
        assert!(message.contains("log in again to replace it"), "{message}");
        assert!(!message.contains(SECRET), "a secret leaked: {message}");
        assert!(!format!("{entry:?}").contains(SECRET), "{entry:?}");
    }
    assert!(!format!("{loaded:?}").contains(SECRET));
}

#[test]
fn a_damaged_json_entry_counts_as_missing_and_the_others_keep_their_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    let original = serde_json::json!({
        "data": {
            "DEFAULT": {
                "good": entry_value("good"),
                "damaged": damaged_entry("damaged"),
                "not-an-object": format!("{SECRET}-string"),
            },
            "other-app": {
                "other-damaged": damaged_entry("other-damaged"),
                "other-good": entry_value("other-good"),
            },
        },
        "format_version": "2.0",
        "globus-sdk.version": "4.10.0",
        "x-unknown": [1, {"two": 2.5}],
    });
    fs::write(&path, original.to_string()).expect("write");
    let storage = JsonTokenStorage::new(&path);

    check_load(
        &storage,
        &path,
        &["good"],
        &[
            (
                "damaged",
                "field \"expires_at_seconds\" is a string, expected an integer",
            ),
            ("not-an-object", "it is a string, not an object"),
        ],
    );
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        original.to_string(),
        "a load changed the file"
    );

    // A login replaces just the damaged entry.
    storage
        .store_token_data(DEFAULT_NAMESPACE, &[sample_token("damaged")])
        .expect("store over the damaged entry");
    let written: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
    let mut expected = original.clone();
    expected["data"]["DEFAULT"]["damaged"] = entry_value("damaged");
    expected["globus-sdk.version"] = written["globus-sdk.version"].clone();
    assert_eq!(written, expected, "other values changed");
    check_load(
        &storage,
        &path,
        &["damaged", "good"],
        &[("not-an-object", "not an object")],
    );

    // A logout removes a damaged entry; the rest keeps its values.
    assert!(
        storage
            .remove_token_data(DEFAULT_NAMESPACE, "not-an-object")
            .expect("remove")
    );
    let written: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
    expected["data"]["DEFAULT"]
        .as_object_mut()
        .expect("object")
        .remove("not-an-object");
    assert_eq!(written, expected);
    check_load(&storage, &path, &["damaged", "good"], &[]);
}

#[test]
fn a_file_that_cannot_be_read_at_all_fails_every_load_and_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    let contents = format!(r#"{{"data": {{"DEFAULT": {{"a": "{SECRET}"#);
    fs::write(&path, &contents).expect("write");
    let storage = JsonTokenStorage::new(&path);
    let err = storage.load_namespace(DEFAULT_NAMESPACE).expect_err("load");
    assert!(matches!(err, StorageError::InvalidFile { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("move it aside and log in again"),
        "{message}"
    );
    assert!(!message.contains(SECRET), "{message}");
    storage
        .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
        .expect_err("store");
    assert_eq!(fs::read_to_string(&path).expect("read"), contents);
}

#[cfg(feature = "sqlite")]
mod sqlite_entries {
    use super::*;
    use globus_app_storage::SqliteTokenStorage;

    type Rows = Vec<(String, String, rusqlite::types::Value)>;

    fn rows(path: &Path) -> Rows {
        let raw = rusqlite::Connection::open(path).expect("open");
        let mut statement = raw
            .prepare(
                "SELECT namespace, resource_server, token_data_json FROM token_storage \
                 ORDER BY namespace, resource_server",
            )
            .expect("prepare");
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn a_damaged_sqlite_row_counts_as_missing_and_the_others_stay_identical() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.db");
        let storage = SqliteTokenStorage::open(&path).expect("open");
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("good")])
            .expect("store");
        storage
            .store_token_data("other-app", &[sample_token("other-good")])
            .expect("store");
        let raw = rusqlite::Connection::open(&path).expect("open");
        let insert = |namespace: &str, rs: &str, json: rusqlite::types::Value| {
            raw.execute(
                "INSERT INTO token_storage VALUES (?1, ?2, ?3)",
                rusqlite::params![namespace, rs, json],
            )
            .expect("insert");
        };
        insert(
            DEFAULT_NAMESPACE,
            "damaged",
            damaged_entry("damaged").to_string().into(),
        );
        insert(
            DEFAULT_NAMESPACE,
            "not-json",
            format!("{SECRET} not json").into(),
        );
        insert(DEFAULT_NAMESPACE, "blob", vec![0_u8, 255].into());
        insert(
            "other-app",
            "other-damaged",
            damaged_entry("other-damaged").to_string().into(),
        );
        drop(raw);
        let before = rows(&path);

        check_load(
            &storage,
            &path,
            &["good"],
            &[
                ("blob", "token_data_json is not text"),
                ("damaged", "field \"expires_at_seconds\" is a string"),
                ("not-json", "token_data_json is not valid JSON"),
            ],
        );
        assert_eq!(rows(&path), before, "a load changed the database");

        // A login replaces just the damaged row.
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("damaged")])
            .expect("store over the damaged row");
        let after = rows(&path);
        assert_eq!(after.len(), before.len());
        for (old, new) in before.iter().zip(&after) {
            if old.1 == "damaged" && old.0 == DEFAULT_NAMESPACE {
                assert_ne!(old, new);
            } else {
                assert_eq!(old, new, "another row changed");
            }
        }
        check_load(
            &storage,
            &path,
            &["damaged", "good"],
            &[("blob", "not text"), ("not-json", "not valid JSON")],
        );

        // A logout removes a damaged row; the others stay identical.
        assert!(
            storage
                .remove_token_data(DEFAULT_NAMESPACE, "not-json")
                .expect("remove")
        );
        let expected: Rows = after
            .into_iter()
            .filter(|row| row.1 != "not-json")
            .collect();
        assert_eq!(rows(&path), expected);
    }
}

/// A damaged lease file (it holds no tokens) does not stop renewals: it starts again,
/// with fences above any given before, so a holder from before cannot write over
/// what comes after it.
#[test]
fn a_damaged_lease_file_starts_again_above_every_earlier_fence() {
    use globus_app_storage::{Fence, LeaseOutcome, TokenStorage};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let storage = globus_app_storage::JsonTokenStorage::new(dir.path().join("tokens.json"));
    let leases = storage.leases().unwrap();
    let ttl = Duration::from_secs(30);
    let LeaseOutcome::Acquired(old) = leases.acquire_lease("DEFAULT", "a", ttl).unwrap() else {
        panic!("the lease")
    };
    std::fs::write(
        dir.path().join("tokens.json.leases"),
        b"{\"floor\": 3, \"namesp",
    )
    .unwrap();
    let LeaseOutcome::Acquired(new) = leases.acquire_lease("DEFAULT", "b", ttl).unwrap() else {
        panic!("the lease after the damage")
    };
    assert!(new > Fence(1_000_000_000_000) && new > old, "{new}");
    let token = globus_app_storage::testing::sample_token("transfer.api.globus.org");
    leases
        .store_token_data_fenced("DEFAULT", std::slice::from_ref(&token), new)
        .unwrap();
    assert!(matches!(
        leases.store_token_data_fenced("DEFAULT", &[token], old),
        Err(globus_app_storage::StorageError::Fenced { .. })
    ));
}
