//! One refresh across apps that share a storage with leases: each app here has its
//! own single flight (as separate processes do), so only the storage's lease keeps
//! them from renewing the same token several times.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_blocking::TokenStorageChoice;
use globus_app_e2e::{Backend, TOKEN_LIFETIME, TRANSFER, World};
use std::sync::{Arc, Barrier};

fn apps_sharing_one_store_refresh_once(storage: TokenStorageChoice) {
    let w = World::new(Backend::Memory);
    let config = || {
        w.config()
            .request_refresh_tokens(true)
            .token_storage(storage.clone())
    };
    let apps: Vec<_> = (0..8)
        .map(|_| w.user_app::<globus_app_e2e::Blocking>(config()))
        .collect();
    apps[0].login(None, false).unwrap();
    w.advance(TOKEN_LIFETIME + 1);
    let start = Arc::new(Barrier::new(apps.len()));
    let headers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = apps
            .iter()
            .map(|app| {
                let start = Arc::clone(&start);
                scope.spawn(move || {
                    start.wait();
                    app.authorization_header(TRANSFER).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(w.refresh_count(), 1, "one refresh for eight apps");
    assert!(
        headers.windows(2).all(|pair| pair[0] == pair[1]),
        "{headers:?}"
    );
    assert_eq!(w.authorize_count(), 1);
}

#[test]
fn apps_sharing_a_sqlite_file_refresh_once() {
    let dir = tempfile::tempdir().unwrap();
    apps_sharing_one_store_refresh_once(TokenStorageChoice::SqliteFile(
        dir.path().join("tokens.db"),
    ));
}

#[test]
fn apps_sharing_a_json_file_refresh_once() {
    let dir = tempfile::tempdir().unwrap();
    apps_sharing_one_store_refresh_once(TokenStorageChoice::JsonFile(
        dir.path().join("tokens.json"),
    ));
}

#[test]
fn apps_sharing_a_memory_storage_refresh_once() {
    let storage = Arc::new(globus_app_storage::MemoryTokenStorage::new());
    apps_sharing_one_store_refresh_once(TokenStorageChoice::Custom(storage));
}

#[test]
#[ignore = "needs Redis at 127.0.0.1:6379 (or $GLOBUS_APP_REDIS_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn apps_sharing_a_redis_server_refresh_once() {
    let url = std::env::var("GLOBUS_APP_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let prefix = format!("globus-app-test:e2e:{}:{nanos}", std::process::id());
    apps_sharing_one_store_refresh_once(TokenStorageChoice::Redis(format!(
        "{url}?prefix={prefix}"
    )));
}

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (or $GLOBUS_APP_POSTGRES_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn apps_sharing_a_postgres_database_refresh_once() {
    let base = std::env::var("GLOBUS_APP_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let schema = format!("globus_app_test_e2e_{}_{nanos}", std::process::id());
    apps_sharing_one_store_refresh_once(TokenStorageChoice::Postgres(format!(
        "{base}?schema={schema}"
    )));
    if let Ok(mut client) = postgres_client(&base) {
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
    }
}

fn postgres_client(url: &str) -> Result<postgres::Client, postgres::Error> {
    postgres::Client::connect(url, postgres::NoTls)
}
