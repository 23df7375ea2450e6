//! Your own `TokenStorage`: an audit trail around any storage.
//!
//! ```sh
//! cargo run --example custom_storage -- --self-test      # offline: the conformance suite
//! GLOBUS_CLIENT_ID=<native client id> cargo run --example custom_storage
//! GLOBUS_CLIENT_ID=<native client id> cargo run --example custom_storage -- --memory
//! ```
//!
//! `AuditedStorage` wraps another storage (here the JSON file the Python SDK would use,
//! or memory with `--memory`) and appends one line per call to an audit log: when,
//! which operation, namespace, resource servers, scopes, expiry, identity, whether a
//! refresh token is present, how long the call took, and whether it failed. Never a
//! token. It is the kind of storage a site with an audit requirement writes, and it
//! shows what an app does with its storage: one read when it starts, one write per
//! login or refresh, none while a cached token is valid.
//!
//! The audit log goes to standard error, or to a file (`--audit-log PATH`, opened for
//! appending with mode 0600).
//!
//! A storage of your own should pass the conformance suite every storage of this
//! crate passes; `--self-test` runs it on `AuditedStorage` (no client id needed).
//! In your project, call it from a `#[test]`.
//!
//! Needs a native client id in `GLOBUS_CLIENT_ID` (see `examples/login.rs`) for the
//! login.

use globus_app::blocking::UserApp;
use globus_app::core::UnixTime;
use globus_app::scopes::transfer;
use globus_app::storage::paths::{FileFormat, default_token_file_path};
use globus_app::storage::{
    JsonTokenStorage, LoadedNamespace, MemoryTokenStorage, StorageError, TokenData, testing,
};
use globus_app::{AppConfig, OAuthClient, ScopeRequirements, TokenStorage, TokenStorageChoice};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const APP_NAME: &str = "Custom Storage Example";

/// A storage that records every call made to the storage it wraps.
struct AuditedStorage<S> {
    inner: S,
    log: Mutex<Box<dyn Write + Send>>,
}

impl<S: TokenStorage> AuditedStorage<S> {
    fn new(inner: S, log: impl Write + Send + 'static) -> Self {
        AuditedStorage {
            inner,
            log: Mutex::new(Box::new(log)),
        }
    }

    /// Runs `call` on the inner storage and writes one audit line about it.
    fn audited<T>(
        &self,
        operation: &str,
        namespace: &str,
        what: impl FnOnce(&T) -> String,
        call: impl FnOnce(&S) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let started = Instant::now();
        let result = call(&self.inner);
        let outcome = match &result {
            Ok(value) => what(value),
            // Storage errors name files and fields, never tokens.
            Err(e) => format!("FAILED: {e}"),
        };
        let line = format!(
            "{} {operation} ns={namespace} {outcome} ({:.3} ms)\n",
            UnixTime(now_seconds()).iso8601(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        // An audit line that cannot be written fails the call: the audit trail must
        // be complete.
        log.write_all(line.as_bytes())
            .and_then(|()| log.flush())
            .map_err(|e| StorageError::other(format!("cannot write the audit log: {e}")))?;
        result
    }
}

/// One token's description for the log: everything but the secrets.
fn describe(token: &TokenData) -> String {
    format!(
        "[{} scope={:?} expires={} identity={} refresh_token={}]",
        token.resource_server,
        token.scope,
        token.expires_at().iso8601(),
        token.identity_id.as_deref().unwrap_or("-"),
        if token.refresh_token.is_some() {
            "yes"
        } else {
            "no"
        }
    )
}

impl<S: TokenStorage> TokenStorage for AuditedStorage<S> {
    fn store_token_data(&self, namespace: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
        let described: Vec<String> = tokens.iter().map(describe).collect();
        self.audited(
            "store",
            namespace,
            |()| described.join(" "),
            |s| s.store_token_data(namespace, tokens),
        )
    }

    fn get_token_data_by_resource_server(
        &self,
        namespace: &str,
    ) -> Result<BTreeMap<String, TokenData>, StorageError> {
        self.audited(
            "get-all",
            namespace,
            |found: &BTreeMap<String, TokenData>| {
                let described: Vec<String> = found.values().map(describe).collect();
                format!("found {}: {}", found.len(), described.join(" "))
            },
            |s| s.get_token_data_by_resource_server(namespace),
        )
    }

    // An app loads with this: forwarding it keeps the inner storage's handling of an
    // entry it cannot read (it counts as missing instead of failing the load).
    fn load_namespace(&self, namespace: &str) -> Result<LoadedNamespace, StorageError> {
        self.audited(
            "load",
            namespace,
            |loaded: &LoadedNamespace| {
                let described: Vec<String> = loaded.tokens.values().map(describe).collect();
                let unreadable: Vec<&str> = loaded
                    .unreadable
                    .iter()
                    .map(|e| e.resource_server.as_str())
                    .collect();
                format!(
                    "found {}: {} unreadable: {unreadable:?}",
                    loaded.tokens.len(),
                    described.join(" ")
                )
            },
            |s| s.load_namespace(namespace),
        )
    }

    fn get_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<Option<TokenData>, StorageError> {
        self.audited(
            "get",
            namespace,
            |found: &Option<TokenData>| match found {
                Some(token) => describe(token),
                None => format!("[{resource_server}: none]"),
            },
            |s| s.get_token_data(namespace, resource_server),
        )
    }

    fn remove_token_data(
        &self,
        namespace: &str,
        resource_server: &str,
    ) -> Result<bool, StorageError> {
        self.audited(
            "remove",
            namespace,
            |removed| {
                format!(
                    "[{resource_server}: {}]",
                    if *removed { "removed" } else { "none" }
                )
            },
            |s| s.remove_token_data(namespace, resource_server),
        )
    }

    fn close(&self) -> Result<(), StorageError> {
        self.audited("close", "-", |()| String::new(), |s| s.close())
    }
}

// `TokenStorage` requires `Debug`; show the inner storage, not the log.
impl<S: fmt::Debug> fmt::Debug for AuditedStorage<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditedStorage")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--self-test") {
        self_test();
        return ExitCode::SUCCESS;
    }
    let Some(client_id) = std::env::var("GLOBUS_CLIENT_ID")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        eprintln!(
            "This example logs in to Globus and needs a native client id in GLOBUS_CLIENT_ID \
             (register one at https://app.globus.org/settings/developers):\n\n    \
             GLOBUS_CLIENT_ID=<client id> cargo run --example custom_storage\n\n\
             Without one, `cargo run --example custom_storage -- --self-test` checks the \
             storage offline."
        );
        return ExitCode::from(2);
    };
    match run(&client_id, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The conformance suite, run on the wrapper around memory and around a JSON file
/// (and the shared-store checks on the file, where each handle is its own: clones of
/// an `Arc` around one memory storage would share its close).
fn self_test() {
    testing::conformance(|| AuditedStorage::new(MemoryTokenStorage::new(), std::io::sink()));
    match tempfile::tempdir() {
        Ok(dir) => {
            let path = dir.path().join("tokens.json");
            testing::conformance_shared(|| {
                AuditedStorage::new(JsonTokenStorage::new(path.clone()), std::io::sink())
            });
        }
        Err(e) => eprintln!("skipping the JSON file case: no temporary directory ({e})"),
    }
    println!("AuditedStorage passes the TokenStorage conformance suite");
}

fn run(client_id: &str, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let log: Box<dyn Write + Send> = match args.iter().position(|a| a == "--audit-log") {
        Some(i) => {
            let path = args.get(i + 1).ok_or("--audit-log needs a path")?;
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            Box::new(options.open(path)?)
        }
        None => Box::new(std::io::stderr()),
    };
    let storage: Arc<dyn TokenStorage> = if args.iter().any(|a| a == "--memory") {
        Arc::new(AuditedStorage::new(MemoryTokenStorage::new(), log))
    } else {
        // The file the Python SDK's UserApp would use for this client and app name.
        let environment =
            std::env::var("GLOBUS_SDK_ENVIRONMENT").unwrap_or_else(|_| "production".into());
        let path = default_token_file_path(client_id, APP_NAME, &environment, FileFormat::Json)?;
        println!("tokens in {}", path.display());
        Arc::new(AuditedStorage::new(JsonTokenStorage::new(path), log))
    };

    let mut requirements = ScopeRequirements::new();
    requirements.add(transfer::RESOURCE_SERVER, [transfer::ALL])?;
    let app = UserApp::new(
        APP_NAME,
        OAuthClient::native(client_id),
        requirements,
        AppConfig::default()
            .token_storage(TokenStorageChoice::Custom(Arc::clone(&storage)))
            .request_refresh_tokens(true),
    )?;
    // The first call reads the storage (and logs in and stores, if needed); the rest
    // are served from the app's memory: the audit log shows no further reads.
    for _ in 0..3 {
        let header = app.authorization_header(transfer::RESOURCE_SERVER)?;
        println!("got a header of {} characters", header.len());
    }
    // A storage passed in as `Custom` stays open when the app closes (it may be
    // shared); close it ourselves.
    app.close()?;
    storage.close()?;
    Ok(())
}
