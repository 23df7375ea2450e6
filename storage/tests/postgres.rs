//! The PostgreSQL storage against a real server (`$GLOBUS_APP_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`): the conformance suites, leases, many
//! namespaces, tables created by processes starting at once, and a server that
//! cannot be reached. Each test works in a schema of its own, dropped at the end.
#![cfg(feature = "postgres")]

use globus_app_storage::testing::{
    conformance, conformance_lease, conformance_shared, sample_token,
};
use globus_app_storage::{PostgresTokenStorage, StorageError, TokenStorage};
use std::sync::atomic::{AtomicUsize, Ordering};

fn base() -> String {
    std::env::var("GLOBUS_APP_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema for one test, dropped when it ends.
struct Schema(String);

impl Schema {
    fn new(name: &str) -> Schema {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Schema(format!(
            "globus_app_test_{name}_{}_{nanos}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }

    fn open(&self) -> PostgresTokenStorage {
        PostgresTokenStorage::open(&format!("{}?schema={}", base(), self.0)).expect("open")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&base(), postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0));
        }
    }
}

const NEEDS: &str = "needs PostgreSQL at 127.0.0.1:5432 (or $GLOBUS_APP_POSTGRES_URL); run with `cargo test -- --ignored` (bash .ci/run does)";

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (or $GLOBUS_APP_POSTGRES_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn passes_the_conformance_suites() {
    let _ = NEEDS;
    let fresh: Vec<Schema> = (0..40).map(|_| Schema::new("fresh")).collect();
    let next = AtomicUsize::new(0);
    conformance(|| fresh[next.fetch_add(1, Ordering::Relaxed)].open());
    let shared = Schema::new("shared");
    conformance_shared(|| shared.open());
    let leases = Schema::new("leases");
    conformance_lease(|| leases.open(), std::thread::sleep);
}

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (or $GLOBUS_APP_POSTGRES_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn keeps_thousands_of_namespaces_and_creates_its_tables_once_under_a_race() {
    let schema = Schema::new("many");
    // Eight processes' first use at once: one creates the tables, none fails.
    std::thread::scope(|scope| {
        for i in 0..8 {
            let schema = &schema;
            scope.spawn(move || {
                schema
                    .open()
                    .store_token_data(&format!("racer-{i}"), &[sample_token("auth.globus.org")])
                    .expect("first use");
            });
        }
    });
    let storage = schema.open();
    for i in 0..2000 {
        storage
            .store_token_data(
                &format!("user-{i}"),
                &[sample_token("transfer.api.globus.org")],
            )
            .expect("store");
    }
    for i in [0, 1234, 1999] {
        let tokens = storage
            .get_token_data_by_resource_server(&format!("user-{i}"))
            .expect("read");
        assert_eq!(tokens.len(), 1);
    }
}

#[test]
fn a_server_that_cannot_be_reached_is_a_typed_error_without_the_password() {
    let storage =
        PostgresTokenStorage::open("postgres://user:hunter2@127.0.0.1:1/db").expect("open");
    let error = storage
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap_err();
    assert!(matches!(error, StorageError::Server { .. }), "{error:?}");
    let shown = format!("{error} {error:?} {storage:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}
