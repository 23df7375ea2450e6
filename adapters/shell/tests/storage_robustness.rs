//! The shell's side of storage robustness, through `AppCore` and real files, with
//! no network: an unreadable entry is reported once and counts as missing, a logout
//! removes it; a closed app refuses everything; the lock timeout comes from the
//! configuration.
#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_core::OAuthClient;
use globus_app_core::app::ScopeRequirements;
use globus_app_core::app::{AppKind, Error, Input, LogoutReport, Operation, OperationOutput};
use globus_app_shell::AppCore;
use globus_app_shell::config::{AppConfig, TokenStorageChoice};
use globus_app_shell::io::Action;
use globus_app_storage::testing::sample_token;
use globus_app_storage::{JsonTokenStorage, StorageError, TokenStorage};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TRANSFER: &str = "transfer.api.globus.org";
const GROUPS: &str = "groups.api.globus.org";
/// Every secret in the test files contains this; no message may.
const SECRET: &str = "SECRET";

fn app(config: AppConfig) -> AppCore {
    let mut requirements = ScopeRequirements::new();
    requirements
        .add_str(
            TRANSFER,
            "urn:globus:auth:scope:transfer.api.globus.org:all",
        )
        .unwrap();
    AppCore::new(
        AppKind::User,
        "Robust App",
        OAuthClient::native("6d6e6b0c-0000-4000-8000-000000000000"),
        requirements,
        config,
    )
    .unwrap()
}

/// Drives an operation that needs no network (storage steps and notices only).
fn drive<T: OperationOutput>(core: &AppCore, operation: Operation<T>) -> Result<T, Error> {
    let mut run = core.start(operation, ());
    let mut input = Input::Start;
    loop {
        input = match run.next(input) {
            Action::Local(action) => run.perform(action),
            Action::Done(result) => return result,
            other => panic!("unexpected step {other:?}"),
        };
    }
}

fn logout(core: &AppCore, sweep: bool) -> Result<LogoutReport, Error> {
    drive(core, Operation::logout(sweep))
}

/// A stored entry whose `expires_at_seconds` is not a number, holding secrets.
fn damaged(resource_server: &str) -> serde_json::Value {
    serde_json::json!({
        "resource_server": resource_server,
        "scope": "s",
        "access_token": format!("{SECRET}-AT"),
        "refresh_token": format!("{SECRET}-RT"),
        "expires_at_seconds": "x",
    })
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The warnings logged (target `globus_app`), with their fields.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        // Nothing logged at any level may show a secret.
        assert!(
            !fields.0.contains(SECRET),
            "a secret was logged: {}",
            fields.0
        );
        if *event.metadata().level() == tracing::Level::WARN
            && event.metadata().target() == "globus_app"
        {
            self.0.lock().unwrap().push(fields.0);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn check_unreadable_entries(path: &Path, choice: TokenStorageChoice, damage: impl Fn(&str)) {
    let warnings = Warnings::default();
    tracing::subscriber::with_default(warnings.clone(), || {
        let core = app(AppConfig::default().token_storage(choice));
        damage(TRANSFER);
        damage(GROUPS);

        // Unreadable entries count as missing: a login is required, not an error.
        assert!(drive(&core, Operation::login_required()).unwrap());
        let logged = warnings.take();
        assert_eq!(logged.len(), 2, "{logged:?}");
        for (warning, rs) in logged.iter().zip([GROUPS, TRANSFER]) {
            assert!(warning.contains(&path.display().to_string()), "{warning}");
            assert!(
                warning.contains(&format!("resource_server={rs}")),
                "{warning}"
            );
            assert!(warning.contains("cannot be read"), "{warning}");
            assert!(warning.contains("log in again to replace it"), "{warning}");
        }
        // Reported once.
        assert!(drive(&core, Operation::login_required()).unwrap());
        assert!(warnings.take().is_empty());

        // A logout removes the required resource server's unreadable entry...
        let report = logout(&core, false).unwrap();
        assert_eq!(report.removed, [TRANSFER]);
        let storage = core.token_storage();
        let loaded = storage.load_namespace("DEFAULT").unwrap();
        assert!(loaded.tokens.is_empty());
        let left: Vec<&str> = loaded
            .unreadable
            .iter()
            .map(|e| e.resource_server.as_str())
            .collect();
        assert_eq!(left, [GROUPS]);
        assert!(warnings.take().is_empty());
        // ... and with sweep, every one.
        let report = logout(&core, true).unwrap();
        assert_eq!(report.removed, [GROUPS]);
        assert!(
            storage
                .load_namespace("DEFAULT")
                .unwrap()
                .unreadable
                .is_empty()
        );

        // Damaged again: reported again.
        damage(TRANSFER);
        assert!(drive(&core, Operation::login_required()).unwrap());
        let logged = warnings.take();
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(logged[0].contains(TRANSFER), "{logged:?}");
        // A logout that does not run (the app is closed) removes nothing.
        core.close().unwrap();
    });
}

#[test]
fn an_unreadable_json_entry_is_reported_once_and_removed_by_logout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let other = serde_json::json!({"x": damaged("x"), "y": serde_json::to_value(sample_token("y")).unwrap()});
    std::fs::write(
        &path,
        serde_json::json!({
            "data": {"other-app": other},
            "format_version": "2.0",
            "globus-sdk.version": "4.10.0",
        })
        .to_string(),
    )
    .unwrap();
    check_unreadable_entries(&path, TokenStorageChoice::JsonFile(path.clone()), |rs| {
        let mut file = read_json(&path);
        file["data"]["DEFAULT"][rs] = damaged(rs);
        std::fs::write(&path, file.to_string()).unwrap();
    });
    // The other app's namespace kept its values.
    assert_eq!(read_json(&path)["data"]["other-app"], other);
}

#[test]
fn an_unreadable_sqlite_row_is_reported_once_and_removed_by_logout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    // The schema, and another app's rows, before the app opens the database.
    let other = globus_app_storage::SqliteTokenStorage::open(&path).unwrap();
    other
        .store_token_data("other-app", &[sample_token("y")])
        .unwrap();
    other.close().unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let rows = |raw: &rusqlite::Connection| -> Vec<(String, String, String)> {
        raw.prepare("SELECT * FROM token_storage WHERE namespace = 'other-app'")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = rows(&raw);
    check_unreadable_entries(&path, TokenStorageChoice::SqliteFile(path.clone()), |rs| {
        raw.execute(
            "REPLACE INTO token_storage VALUES ('DEFAULT', ?1, ?2)",
            [rs.to_owned(), damaged(rs).to_string()],
        )
        .unwrap();
    });
    assert_eq!(rows(&raw), before);
}

#[test]
fn a_closed_app_refuses_everything_and_keeps_a_storage_passed_in_open() {
    let dir = tempfile::tempdir().unwrap();
    let shared: Arc<dyn TokenStorage> = Arc::new(JsonTokenStorage::new(dir.path().join("s.json")));
    for (choice, owned) in [
        (
            TokenStorageChoice::JsonFile(dir.path().join("owned.json")),
            true,
        ),
        (TokenStorageChoice::Memory, true),
        (TokenStorageChoice::Custom(Arc::clone(&shared)), false),
    ] {
        let core = app(AppConfig::default().token_storage(choice));
        assert!(drive(&core, Operation::login_required()).unwrap());
        core.close().unwrap();
        core.close().unwrap(); // idempotent
        assert!(matches!(core.check_open(), Err(Error::Closed)));
        assert!(matches!(
            drive(&core, Operation::login_required()),
            Err(Error::Closed)
        ));
        assert!(matches!(
            core.add_scope_requirements(GROUPS, []),
            Err(Error::Closed)
        ));
        let message = Error::Closed.to_string();
        assert!(message.contains("closed"), "{message}");
        let storage_result = core.token_storage().load_namespace("DEFAULT");
        if owned {
            assert!(
                matches!(storage_result, Err(StorageError::Closed { .. })),
                "{storage_result:?}"
            );
        } else {
            storage_result.unwrap();
        }
    }
    shared
        .store_token_data("DEFAULT", &[sample_token(TRANSFER)])
        .unwrap();
}

#[test]
fn the_configured_lock_timeout_bounds_a_write() {
    assert_eq!(
        AppConfig::default().storage_lock_timeout_value(),
        Duration::from_secs(30)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let core = app(AppConfig::default()
        .token_storage(TokenStorageChoice::JsonFile(path.clone()))
        .storage_lock_timeout(Duration::from_millis(100)));
    let mut file = serde_json::json!({"data": {}, "format_version": "2.0"});
    file["data"]["DEFAULT"][TRANSFER] = damaged(TRANSFER);
    std::fs::write(&path, file.to_string()).unwrap();
    let holder = std::fs::File::create(dir.path().join("tokens.json.lock")).unwrap();
    holder.lock().unwrap();
    // The logout's removal of the unreadable entry waits for the lock, then fails.
    let err = logout(&core, false).unwrap_err();
    let Error::Storage(inner) = &err else {
        panic!("{err:?}")
    };
    let inner = inner.downcast_ref::<StorageError>().unwrap();
    assert!(matches!(inner, StorageError::Locked { .. }), "{inner:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    drop(holder);
    assert_eq!(logout(&core, false).unwrap().removed, [TRANSFER]);
}
