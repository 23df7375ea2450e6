//! Storage robustness on every runtime, against the fake Globus Auth with real
//! files: one unreadable entry does not block the app (it counts as missing, a
//! login replaces it, a logout removes it, and every other entry keeps its value);
//! a closed app says so on every method of every clone, the hot path included; a
//! held lock is waited for only as long as configured. Test names read
//! `runtime::test` or `runtime::backend::test`.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::{TokenStorageChoice, scopes};
use globus_app_core::app::Error;
use globus_app_e2e::{AppApi, Backend, ClientApi, Runtime, TRANSFER, UserApi, World};
use globus_app_storage::{SqliteTokenStorage, StorageError, TokenStorage as _};
use globus_app_testing::Endpoint;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

macro_rules! suite {
    (files: [$($files:ident),*], all: [$($all:ident),*], once: [$($once:ident),*]) => {
        suite!(@runtime blocking, globus_app_e2e::Blocking, [$($files),*], [$($all),*], [$($once),*]);
        suite!(@runtime tokio, globus_app_e2e::Tokio, [$($files),*], [$($all),*], [$($once),*]);
        suite!(@runtime async_std, globus_app_e2e::AsyncStd, [$($files),*], [$($all),*], [$($once),*]);
    };
    (@runtime $module:ident, $runtime:ty, [$($files:ident),*], [$($all:ident),*], [$($once:ident),*]) => {
        mod $module {
            mod memory {
                $( #[test] fn $all() { crate::$all::<$runtime>(globus_app_e2e::Backend::Memory) } )*
            }
            mod json {
                $( #[test] fn $files() { crate::$files::<$runtime>(globus_app_e2e::Backend::Json) } )*
                $( #[test] fn $all() { crate::$all::<$runtime>(globus_app_e2e::Backend::Json) } )*
            }
            mod sqlite {
                $( #[test] fn $files() { crate::$files::<$runtime>(globus_app_e2e::Backend::Sqlite) } )*
                $( #[test] fn $all() { crate::$all::<$runtime>(globus_app_e2e::Backend::Sqlite) } )*
            }
            $( #[test] fn $once() { crate::$once::<$runtime>() } )*
        }
    };
}

suite!(
    files: [an_unreadable_entry_counts_as_missing, a_held_lock_is_waited_for_as_configured],
    all: [a_closed_app_says_so],
    once: [a_closed_client_app_says_so]
);

const GROUPS: &str = "groups.api.globus.org";
/// Every secret in the damaged entries contains this.
const SECRET: &str = "SECRET";

/// A stored entry whose `expires_at_seconds` is not a number.
fn damaged(resource_server: &str) -> serde_json::Value {
    serde_json::json!({
        "resource_server": resource_server,
        "scope": "s",
        "access_token": format!("{SECRET}-AT-{resource_server}"),
        "expires_at_seconds": "x",
    })
}

fn valid(resource_server: &str) -> serde_json::Value {
    serde_json::to_value(globus_app_storage::testing::sample_token(resource_server)).unwrap()
}

/// The token file of a backend, read and written behind the app's back: every entry
/// as a JSON value, by namespace and resource server.
struct File<'a> {
    backend: Backend,
    path: &'a Path,
}

type Entries = Vec<(String, String, serde_json::Value)>;

impl File<'_> {
    fn entries(&self) -> Entries {
        match self.backend {
            Backend::Json => {
                let file: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(self.path).unwrap()).unwrap();
                let mut entries = Entries::new();
                for (ns, by_rs) in file["data"].as_object().unwrap() {
                    for (rs, value) in by_rs.as_object().unwrap() {
                        entries.push((ns.clone(), rs.clone(), value.clone()));
                    }
                }
                entries
            }
            Backend::Sqlite => {
                let raw = rusqlite::Connection::open(self.path).unwrap();
                raw.prepare(
                    "SELECT namespace, resource_server, token_data_json FROM token_storage \
                     ORDER BY namespace, resource_server",
                )
                .unwrap()
                .query_map([], |r| {
                    let json: String = r.get(2)?;
                    Ok((r.get(0)?, r.get(1)?, serde_json::from_str(&json).unwrap()))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            Backend::Memory => unreachable!("no file"),
        }
    }

    /// The raw SQLite rows (to compare byte for byte).
    fn rows(&self) -> Vec<(String, String, String)> {
        let raw = rusqlite::Connection::open(self.path).unwrap();
        raw.prepare("SELECT * FROM token_storage ORDER BY namespace, resource_server")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn put(&self, namespace: &str, resource_server: &str, value: &serde_json::Value) {
        match self.backend {
            Backend::Json => {
                let mut file: serde_json::Value = std::fs::read_to_string(self.path)
                    .map(|text| serde_json::from_str(&text).unwrap())
                    .unwrap_or_else(|_| {
                        serde_json::json!({"data": {}, "format_version": "2.0",
                                           "globus-sdk.version": "4.10.0"})
                    });
                file["data"][namespace][resource_server] = value.clone();
                std::fs::write(self.path, file.to_string()).unwrap();
            }
            Backend::Sqlite => {
                SqliteTokenStorage::open(self.path)
                    .unwrap()
                    .close()
                    .unwrap();
                rusqlite::Connection::open(self.path)
                    .unwrap()
                    .execute(
                        "REPLACE INTO token_storage VALUES (?1, ?2, ?3)",
                        [namespace, resource_server, &value.to_string()],
                    )
                    .unwrap();
            }
            Backend::Memory => unreachable!("no file"),
        }
    }

    /// The entries other than those of `namespace`/`resource_server` pairs listed.
    fn others(&self, except: &[(&str, &str)]) -> Entries {
        self.entries()
            .into_iter()
            .filter(|(ns, rs, _)| !except.contains(&(ns.as_str(), rs.as_str())))
            .collect()
    }
}

fn token_file(w: &World) -> std::path::PathBuf {
    match w.storage() {
        TokenStorageChoice::JsonFile(path) | TokenStorageChoice::SqliteFile(path) => path,
        other => panic!("not a file: {other:?}"),
    }
}

fn an_unreadable_entry_counts_as_missing<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let path = token_file(&w);
    let file = File {
        backend,
        path: &path,
    };
    // Another app's tokens, one of them damaged, and two damaged entries of this
    // app: a required resource server's and another's.
    file.put("other-app", "x", &damaged("x"));
    file.put("other-app", "y", &valid("y"));
    file.put("DEFAULT", TRANSFER, &damaged(TRANSFER));
    file.put("DEFAULT", GROUPS, &damaged(GROUPS));
    let before = file.entries();
    let rows_before = (backend == Backend::Sqlite).then(|| file.rows());

    let app = w.user_app::<R>(w.config());
    // Counts as missing: a login is required (not an error), and runs.
    assert!(app.login_required().unwrap());
    assert_eq!(w.authorize_count(), 0);
    let header = app.authorization_header(TRANSFER).unwrap();
    assert!(header.starts_with("Bearer "));
    assert_eq!(w.authorize_count(), 1);

    // The login replaced the damaged entry and added auth's; everything else kept
    // its value (identical rows in SQLite).
    let after = file.entries();
    let replaced = &after
        .iter()
        .find(|(ns, rs, _)| ns == "DEFAULT" && rs == TRANSFER)
        .unwrap()
        .2;
    assert_eq!(
        replaced["access_token"],
        header.trim_start_matches("Bearer ")
    );
    assert_eq!(
        file.others(&[("DEFAULT", TRANSFER), ("DEFAULT", "auth.globus.org")]),
        before
            .iter()
            .filter(|(ns, rs, _)| !(ns == "DEFAULT" && rs == TRANSFER))
            .cloned()
            .collect::<Entries>()
    );
    if let Some(rows_before) = &rows_before {
        let rows = file.rows();
        for row in rows_before {
            if row.1 != TRANSFER {
                assert!(rows.contains(row), "{row:?} changed");
            }
        }
    }

    // Damaged again: a logout removes it with the readable ones, and leaves the
    // unrequired damaged entry and the other app's alone.
    file.put("DEFAULT", TRANSFER, &damaged(TRANSFER));
    let report = app.logout(false).unwrap();
    let removed: BTreeSet<&str> = report.removed.iter().map(String::as_str).collect();
    assert_eq!(removed, BTreeSet::from(["auth.globus.org", TRANSFER]));
    assert_eq!(
        file.entries(),
        before
            .iter()
            .filter(|(ns, rs, _)| !(ns == "DEFAULT" && rs == TRANSFER))
            .cloned()
            .collect::<Entries>()
    );
    // With sweep, every entry of the app's namespace goes.
    let report = app.logout(true).unwrap();
    assert_eq!(report.removed, [GROUPS]);
    assert_eq!(
        file.entries(),
        before
            .iter()
            .filter(|(ns, _, _)| ns == "other-app")
            .cloned()
            .collect::<Entries>()
    );
}

fn a_held_lock_is_waited_for_as_configured<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let path = token_file(&w);
    let timeout = Duration::from_millis(100);
    let app = w.user_app::<R>(w.config().storage_lock_timeout(timeout));
    // Another process's lock, held as long as this test likes.
    let holder: Box<dyn std::any::Any> = match backend {
        Backend::Json => {
            let lock = std::fs::File::create(path.with_file_name("tokens.json.lock")).unwrap();
            lock.lock().unwrap();
            Box::new(lock)
        }
        Backend::Sqlite => {
            let raw = rusqlite::Connection::open(&path).unwrap();
            raw.execute_batch("BEGIN EXCLUSIVE").unwrap();
            Box::new(raw)
        }
        Backend::Memory => unreachable!("no file"),
    };
    let started = std::time::Instant::now();
    let err = app.login(None, false).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let Error::Storage(inner) = &err else {
        panic!("{err:?}")
    };
    let inner = inner.downcast_ref::<StorageError>().unwrap();
    assert!(matches!(inner, StorageError::Locked { .. }), "{inner:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("locked by another process"), "{message}");
    drop(holder);
    app.login(None, false).unwrap();
    assert!(!app.login_required().unwrap());
}

fn assert_closed<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::Closed) => {}
        other => panic!("expected Error::Closed, got {other:?}"),
    }
}

fn a_closed_app_says_so<R: Runtime>(backend: Backend) {
    let w = World::new(backend);
    let app = w.user_app::<R>(w.config());
    let clone = app.clone();
    app.authorization_header(TRANSFER).unwrap();
    let requests = w.fake.requests_to(Endpoint::Token).len();

    clone.close().unwrap();
    clone.close().unwrap();
    app.close().unwrap();
    for app in [&app, &clone] {
        // The hot path too: a valid token is cached, and is not served.
        assert_closed(app.authorization_header(TRANSFER));
        assert_closed(app.get_authorizer(TRANSFER));
        assert_closed(app.login_required());
        assert_closed(app.login(None, true));
        assert_closed(app.logout(true));
        assert_closed(app.add_scope_requirements(
            GROUPS,
            scopes::parse("urn:globus:auth:scope:groups.api.globus.org:all").unwrap(),
        ));
    }
    assert_eq!(w.fake.requests_to(Endpoint::Token).len(), requests);
    assert_eq!(w.fake.requests_to(Endpoint::Revoke).len(), 0);
    let message = Error::Closed.to_string();
    assert!(message.contains("closed"), "{message}");
    // The storage the app created is closed with it.
    let err = app
        .token_storage()
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap_err();
    assert!(matches!(err, StorageError::Closed { .. }), "{err:?}");
}

fn a_closed_client_app_says_so<R: Runtime>() {
    let w = World::new(Backend::Memory);
    let app = w.client_app::<R>();
    app.authorization_header(TRANSFER).unwrap();
    app.clone().close().unwrap();
    assert_closed(app.authorization_header(TRANSFER));
    assert_closed(app.login(true));
    assert_closed(app.logout(false));
    app.close().unwrap();
}
