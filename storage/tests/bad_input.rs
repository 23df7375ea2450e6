//! Bad files and bad places: typed errors naming the path, no panic, no token in any
//! message, and the file left exactly as it was.

use globus_app_storage::testing::sample_token;
use globus_app_storage::{DEFAULT_NAMESPACE, JsonTokenStorage, StorageError, TokenStorage};
use std::fs;
use std::path::Path;

/// Every secret in the bad files contains this; no error message may.
const SECRET: &str = "SECRET";

/// Checks what every error must be: about `path`, naming it, with no secret.
fn check_error(err: &StorageError, path: &Path) -> String {
    let message = err.to_string();
    assert_eq!(err.path(), Some(path), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(!message.contains(SECRET), "a secret leaked: {message}");
    assert!(
        !format!("{err:?}").contains(SECRET),
        "a secret leaked: {err:?}"
    );
    message
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// True if permission bits do not stop this process (root in CI containers).
fn permissions_are_ignored(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let probe = dir.join("probe");
        fs::write(&probe, "x").expect("write probe");
        fs::set_permissions(&probe, fs::Permissions::from_mode(0o000)).expect("chmod");
        let ignored = fs::read(&probe).is_ok();
        fs::remove_file(&probe).expect("remove probe");
        if ignored {
            eprintln!(
                "note: permission bits do not apply to this user (root?): testing the fallback case"
            );
        }
        ignored
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        true
    }
}

const V2: &str = r#""format_version": "2.0", "globus-sdk.version": "4.10.0""#;

/// Files whose structure is bad: every operation fails and nothing is written.
#[test]
fn json_files_with_a_bad_structure() {
    let deep = "[".repeat(100_000);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "empty",
            b"".to_vec(),
            "not a valid token file (invalid JSON: EOF while parsing",
        ),
        (
            "truncated",
            br#"{"data": {"DEFAULT": {"a": {"access_token": "SECRET-A"#.to_vec(),
            "invalid JSON: EOF while parsing a string at line 1 column",
        ),
        (
            "not UTF-8",
            b"{\"data\": \"\xff\xfe SECRET\"}".to_vec(),
            "invalid JSON",
        ),
        ("too deep", deep.into_bytes(), "recursion limit exceeded"),
        (
            "an array",
            br#"["SECRET-A"]"#.to_vec(),
            "the top level is an array, not an object",
        ),
        (
            "data is a string",
            format!(r#"{{"data": "SECRET-A", {V2}}}"#).into_bytes(),
            "\"data\" is a string, not an object",
        ),
        (
            "data is missing",
            format!("{{{V2}}}").into_bytes(),
            "\"data\" is missing",
        ),
        (
            "format 1.0 without by_rs",
            br#"{"format_version": "1.0", "data": {}}"#.to_vec(),
            "format 1.0 file's \"by_rs\" is missing",
        ),
        (
            "unknown format_version",
            br#"{"format_version": "3.0", "data": {"DEFAULT": {}}}"#.to_vec(),
            "has format_version \"3.0\", which this version of globus-app cannot read (it reads \"1.0\" and \"2.0\"); upgrade globus-app",
        ),
        (
            "format_version is a number",
            br#"{"format_version": 2, "data": {}}"#.to_vec(),
            "has format_version an integer",
        ),
        (
            "no format_version",
            br#"{"data": {"DEFAULT": {}}}"#.to_vec(),
            "has format_version missing",
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, contents, expected) in cases {
        let path = dir.path().join(format!("{}.json", name.replace(' ', "-")));
        fs::write(&path, &contents).expect("write");
        let storage = JsonTokenStorage::new(&path);
        let errors = [
            storage
                .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
                .map(|_| ()),
            storage.get_token_data(DEFAULT_NAMESPACE, "a").map(|_| ()),
            storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")]),
            storage
                .remove_token_data(DEFAULT_NAMESPACE, "a")
                .map(|_| ()),
            storage.namespaces().map(|_| ()),
        ];
        for result in errors {
            let err = result.expect_err(name);
            let message = check_error(&err, &path);
            assert!(message.contains(expected), "{name}: {message}");
            let unsupported = name.contains("format_version");
            assert_eq!(
                matches!(err, StorageError::UnsupportedFormat { .. }),
                unsupported,
                "{name}: {err:?}"
            );
            assert_eq!(
                matches!(err, StorageError::InvalidFile { .. }),
                !unsupported,
                "{name}"
            );
            assert!(
                message.contains("move it aside and log in again"),
                "{name}: {message}"
            );
        }
        assert_eq!(
            fs::read(&path).expect("read"),
            contents,
            "{name}: file changed"
        );
    }
    // Nothing but the bad files and the lock file of each: no temporary file was left.
    for name in dir_entries(dir.path()) {
        assert!(
            name.ends_with(".json") || name.ends_with(".json.lock"),
            "{name}"
        );
    }
}

/// Entries with values of the wrong type: reading them fails, naming the namespace,
/// resource server and field but not the value; storing other resource servers still
/// works (and keeps the bad entry), and storing the bad one's resource server heals it.
#[test]
fn json_entries_with_wrong_types() {
    let token = |field: &str, value: &str| {
        let mut entry: serde_json::Value = serde_json::to_value(sample_token("bad")).expect("json");
        entry[field] = serde_json::from_str(value).expect("value");
        entry
    };
    let cases = [
        (
            token("expires_at_seconds", r#""SECRET-1""#),
            "field \"expires_at_seconds\" is a string, expected an integer",
        ),
        (
            token("expires_at_seconds", "1.5"),
            "field \"expires_at_seconds\" is a non-integer number",
        ),
        (
            token("access_token", r#"["SECRET-2"]"#),
            "field \"access_token\" is an array, expected a string",
        ),
        (
            token("access_token", "null"),
            "field \"access_token\" is null, expected a string",
        ),
        (
            token("refresh_token", "12"),
            "field \"refresh_token\" is an integer, expected a string or null",
        ),
        (serde_json::json!("SECRET-3"), "is a string, not an object"),
        (
            serde_json::json!({"access_token": "SECRET-4"}),
            "field \"resource_server\" is missing",
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, (entry, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("{i}.json"));
        let file = serde_json::json!({
            "data": {"DEFAULT": {"bad": entry, "good": serde_json::to_value(sample_token("good")).expect("json")}},
            "format_version": "2.0", "globus-sdk.version": "4.10.0"
        });
        let contents = file.to_string();
        fs::write(&path, &contents).expect("write");
        let storage = JsonTokenStorage::new(&path);
        for result in [
            storage
                .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
                .map(|_| ()),
            storage.get_token_data(DEFAULT_NAMESPACE, "bad").map(|_| ()),
        ] {
            let err = result.expect_err(expected);
            let message = check_error(&err, &path);
            assert!(matches!(err, StorageError::InvalidFile { .. }), "{err:?}");
            assert!(
                message
                    .contains("the token data of resource server \"bad\" in namespace \"DEFAULT\""),
                "{message}"
            );
            assert!(message.contains(expected), "{message}");
        }
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            contents,
            "reads changed the file"
        );
        // The good entry can still be read on its own.
        assert!(
            storage
                .get_token_data(DEFAULT_NAMESPACE, "good")
                .expect("good")
                .is_some()
        );
        // A store elsewhere keeps the bad entry as it was.
        storage
            .store_token_data("other", &[sample_token("x")])
            .expect("store elsewhere");
        let written: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(
            written["data"]["DEFAULT"]["bad"],
            file["data"]["DEFAULT"]["bad"]
        );
        // A new login for the bad resource server replaces it.
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("bad")])
            .expect("heal");
        assert_eq!(
            storage
                .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
                .expect("all")
                .len(),
            2
        );
    }
}

/// A namespace that is not an object: reading or writing it fails, other namespaces
/// work.
#[test]
fn json_namespace_of_the_wrong_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    let contents = format!(r#"{{"data": {{"DEFAULT": ["SECRET-A"], "ok": {{}}}}, {V2}}}"#);
    fs::write(&path, &contents).expect("write");
    let storage = JsonTokenStorage::new(&path);
    for result in [
        storage
            .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            .map(|_| ()),
        storage.get_token_data(DEFAULT_NAMESPACE, "a").map(|_| ()),
        storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")]),
        storage
            .remove_token_data(DEFAULT_NAMESPACE, "a")
            .map(|_| ()),
    ] {
        let err = result.expect_err("bad namespace");
        let message = check_error(&err, &path);
        assert!(
            message.contains("namespace \"DEFAULT\" is an array, not an object"),
            "{message}"
        );
    }
    assert_eq!(fs::read_to_string(&path).expect("read"), contents);
    assert!(
        storage
            .get_token_data_by_resource_server("ok")
            .expect("ok")
            .is_empty()
    );
}

/// A file that cannot be read: permission 000, or (where permissions do not apply) a
/// directory where the file should be.
#[test]
fn json_unreadable_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    if permissions_are_ignored(dir.path()) {
        fs::create_dir(&path).expect("mkdir");
        let storage = JsonTokenStorage::new(&path);
        let err = storage
            .get_token_data(DEFAULT_NAMESPACE, "a")
            .expect_err("a directory");
        let message = check_error(&err, &path);
        assert!(
            matches!(err, StorageError::Io { action: "read", .. }),
            "{err:?}"
        );
        assert!(
            message.contains("a directory is in the way: move it aside"),
            "{message}"
        );
        let err = storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
            .expect_err("a directory");
        check_error(&err, &path);
        assert!(path.is_dir());
        assert_eq!(dir_entries(dir.path()), ["tokens.json", "tokens.json.lock"]);
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let storage = JsonTokenStorage::new(&path);
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
            .expect("store");
        let contents = fs::read(&path).expect("read");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).expect("chmod");
        for result in [
            storage.get_token_data(DEFAULT_NAMESPACE, "a").map(|_| ()),
            storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")]),
        ] {
            let err = result.expect_err("unreadable");
            let message = check_error(&err, &path);
            assert!(
                matches!(err, StorageError::Io { action: "read", .. }),
                "{err:?}"
            );
            assert!(
                message.contains("Permission denied") && message.contains("mode 600"),
                "{message}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(fs::read(&path).expect("read"), contents);
    }
}

/// A directory that cannot be written: mode 0500, or (where permissions do not apply)
/// a regular file where the directory should be.
#[test]
fn json_unwritable_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    if permissions_are_ignored(dir.path()) {
        let not_a_dir = dir.path().join("file");
        fs::write(&not_a_dir, "x").expect("write");
        let path = not_a_dir.join("tokens.json");
        let storage = JsonTokenStorage::new(&path);
        let err = storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
            .expect_err("not a dir");
        assert_eq!(err.path(), Some(not_a_dir.as_path()));
        assert!(
            matches!(
                err,
                StorageError::Io {
                    action: "create the directory",
                    ..
                }
            ),
            "{err:?}"
        );
        // Reads of a file that cannot exist find nothing, or fail cleanly.
        let _ = storage.get_token_data_by_resource_server(DEFAULT_NAMESPACE);
        assert_eq!(fs::read_to_string(&not_a_dir).expect("read"), "x");
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let sub = dir.path().join("app");
        let path = sub.join("tokens.json");
        let storage = JsonTokenStorage::new(&path);
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
            .expect("store");
        let contents = fs::read(&path).expect("read");
        for with_lock_file in [false, true] {
            if !with_lock_file {
                fs::remove_file(storage.lock_path()).expect("remove the lock file");
            }
            fs::set_permissions(&sub, fs::Permissions::from_mode(0o500)).expect("chmod");
            let err = storage
                .store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")])
                .expect_err("read-only");
            let message = err.to_string();
            assert!(matches!(err, StorageError::Io { .. }), "{err:?}");
            assert!(message.contains("Permission denied"), "{message}");
            // Reading needs no write access.
            assert!(
                storage
                    .get_token_data(DEFAULT_NAMESPACE, "a")
                    .expect("read")
                    .is_some()
            );
            fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).expect("chmod");
            assert_eq!(fs::read(&path).expect("read"), contents);
            if !with_lock_file {
                fs::File::create(storage.lock_path()).expect("lock file");
            }
        }
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use globus_app_storage::SqliteTokenStorage;

    fn open_err(path: &Path) -> StorageError {
        SqliteTokenStorage::open(path).expect_err("must not open")
    }

    /// A directory where the database should be: the same advice as the JSON store's.
    #[test]
    fn a_directory_in_the_way() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.db");
        fs::create_dir(&path).expect("mkdir");
        for err in [
            open_err(&path),
            SqliteTokenStorage::open_read_only(&path).expect_err("must not open"),
        ] {
            let message = check_error(&err, &path);
            assert!(
                matches!(err, StorageError::Io { action: "open", .. }),
                "{err:?}"
            );
            assert!(
                message.contains("a directory is in the way: move it aside"),
                "{message}"
            );
        }
        assert!(path.is_dir());
    }

    #[test]
    fn not_a_token_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases: [(&str, Vec<u8>, &str); 3] = [
            (
                "json.db",
                br#"{"data": {"DEFAULT": {"a": "SECRET"}}}"#.to_vec(),
                "it is not a SQLite database",
            ),
            (
                "garbage.db",
                (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect(),
                "it is not a SQLite database",
            ),
            (
                "truncated-header.db",
                b"SQLite format 3\0".to_vec(),
                "it is not a SQLite database",
            ),
        ];
        for (name, contents, expected) in cases {
            let path = dir.path().join(name);
            fs::write(&path, &contents).expect("write");
            let err = open_err(&path);
            let message = check_error(&err, &path);
            assert!(
                matches!(err, StorageError::InvalidFile { .. }),
                "{name}: {err:?}"
            );
            assert!(message.contains(expected), "{name}: {message}");
            assert!(SqliteTokenStorage::open_read_only(&path).is_err());
            assert_eq!(fs::read(&path).expect("read"), contents, "{name}: changed");
        }

        // Another program's database.
        let path = dir.path().join("other.db");
        RawDb::open(&path)
            .execute_batch("CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('SECRET');");
        let contents = fs::read(&path).expect("read");
        let err = open_err(&path);
        let message = check_error(&err, &path);
        assert!(
            message.contains("without a token_storage table (it has notes)"),
            "{message}"
        );
        assert_eq!(fs::read(&path).expect("read"), contents);
    }

    /// Direct SQL access, to damage databases.
    struct RawDb(rusqlite::Connection);
    impl RawDb {
        fn open(path: &Path) -> Self {
            Self(rusqlite::Connection::open(path).expect("open raw"))
        }
        fn execute_batch(&self, sql: &str) {
            self.0.execute_batch(sql).expect("sql");
        }
    }

    #[test]
    fn unsupported_schema_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.db");
        SqliteTokenStorage::open(&path)
            .expect("open")
            .close()
            .expect("close");
        RawDb::open(&path).execute_batch(
            "UPDATE sdk_storage_adapter_internal SET value = '99' \
             WHERE attribute = 'globus-sdk.database_schema_version'",
        );
        let contents = fs::read(&path).expect("read");
        let err = open_err(&path);
        let message = check_error(&err, &path);
        assert!(
            matches!(err, StorageError::UnsupportedFormat { .. }),
            "{err:?}"
        );
        assert!(
            message.contains("database_schema_version \"99\""),
            "{message}"
        );
        assert_eq!(fs::read(&path).expect("read"), contents);
    }

    #[test]
    fn bad_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.db");
        let storage = SqliteTokenStorage::open(&path).expect("open");
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("good")])
            .expect("store");
        let raw = RawDb::open(&path);
        raw.execute_batch(
            "INSERT INTO token_storage VALUES ('DEFAULT', 'not-json', 'SECRET not json'); \
             INSERT INTO token_storage VALUES ('DEFAULT', 'blob', x'00ff'); \
             INSERT INTO token_storage VALUES ('DEFAULT', 'wrong-type', \
               '{\"resource_server\": \"wrong-type\", \"scope\": \"s\", \"access_token\": \"SECRET\", \
                 \"expires_at_seconds\": \"SECRET\"}');",
        );
        for (rs, expected) in [
            ("not-json", "token_data_json is not valid JSON"),
            ("blob", "token_data_json is not text"),
            (
                "wrong-type",
                "field \"expires_at_seconds\" is a string, expected an integer",
            ),
        ] {
            let err = storage.get_token_data(DEFAULT_NAMESPACE, rs).expect_err(rs);
            let message = check_error(&err, &path);
            assert!(matches!(err, StorageError::InvalidFile { .. }), "{err:?}");
            assert!(
                message.contains(&format!("resource server {rs:?} in namespace \"DEFAULT\"")),
                "{message}"
            );
            assert!(message.contains(expected), "{message}");
        }
        let err = storage
            .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            .expect_err("all");
        check_error(&err, &path);
        // The good row, other namespaces and new stores still work.
        assert!(
            storage
                .get_token_data(DEFAULT_NAMESPACE, "good")
                .expect("good")
                .is_some()
        );
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("not-json")])
            .expect("heal");
        assert!(
            storage
                .get_token_data(DEFAULT_NAMESPACE, "not-json")
                .expect("healed")
                .is_some()
        );
    }

    #[test]
    fn refused_paths_and_closed_storage() {
        for path in [":memory:", ""] {
            let err = SqliteTokenStorage::open(path).expect_err(path);
            assert!(matches!(err, StorageError::InvalidPath { .. }), "{err:?}");
            assert!(err.to_string().contains("use MemoryTokenStorage"), "{err}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.db");
        let err = SqliteTokenStorage::open_read_only(&missing).expect_err("missing");
        check_error(&err, &missing);
        assert!(!missing.exists(), "a read-only open created the file");

        let path = dir.path().join("tokens.db");
        let storage = SqliteTokenStorage::open(&path).expect("open");
        storage.close().expect("close");
        storage.close().expect("closing twice is fine");
        for result in [
            storage.get_token_data(DEFAULT_NAMESPACE, "a").map(|_| ()),
            storage
                .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
                .map(|_| ()),
            storage.store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")]),
            storage
                .remove_token_data(DEFAULT_NAMESPACE, "a")
                .map(|_| ()),
            storage.namespaces().map(|_| ()),
        ] {
            let err = result.expect_err("closed");
            assert!(matches!(err, StorageError::Closed { .. }), "{err:?}");
            assert!(
                err.to_string().contains("was closed; open a new one"),
                "{err}"
            );
        }
    }

    #[test]
    fn read_only_storage_refuses_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.db");
        let storage = SqliteTokenStorage::open(&path).expect("open");
        storage
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
            .expect("store");
        let reader = SqliteTokenStorage::open_read_only(&path).expect("open read-only");
        assert!(
            reader
                .get_token_data(DEFAULT_NAMESPACE, "a")
                .expect("get")
                .is_some()
        );
        let err = reader
            .store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")])
            .expect_err("read-only");
        let message = check_error(&err, &path);
        assert!(matches!(err, StorageError::Database { .. }), "{err:?}");
        assert!(message.contains("readonly"), "{message}");
    }

    #[test]
    fn unreadable_or_unwritable_places() {
        let dir = tempfile::tempdir().expect("tempdir");
        if permissions_are_ignored(dir.path()) {
            let as_dir = dir.path().join("tokens.db");
            fs::create_dir(&as_dir).expect("mkdir");
            let err = open_err(&as_dir);
            check_error(&err, &as_dir);
            assert!(as_dir.is_dir());
            let file = dir.path().join("file");
            fs::write(&file, "x").expect("write");
            let err = open_err(&file.join("tokens.db"));
            assert!(
                matches!(
                    err,
                    StorageError::Io {
                        action: "create the directory",
                        ..
                    }
                ),
                "{err:?}"
            );
            return;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let path = dir.path().join("tokens.db");
            SqliteTokenStorage::open(&path)
                .expect("open")
                .close()
                .expect("close");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).expect("chmod");
            let err = open_err(&path);
            check_error(&err, &path);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
            let storage =
                SqliteTokenStorage::open(&path).expect("a read-only file opens for reading");
            let err = storage
                .store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")])
                .expect_err("read-only");
            let message = check_error(&err, &path);
            assert!(
                message.contains("readonly") && message.contains("writable by you"),
                "{message}"
            );
            let sub = dir.path().join("ro");
            fs::create_dir(&sub).expect("mkdir");
            fs::set_permissions(&sub, fs::Permissions::from_mode(0o500)).expect("chmod");
            let err = open_err(&sub.join("tokens.db"));
            assert!(
                matches!(
                    err,
                    StorageError::Io {
                        action: "create",
                        ..
                    }
                ),
                "{err:?}"
            );
            fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).expect("chmod");
        }
    }
}
