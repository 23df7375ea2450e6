//! The Redis storage against a real Redis (`$GLOBUS_APP_REDIS_URL`, default
//! `redis://127.0.0.1:6379/`): the conformance suites, leases, many namespaces, and
//! a server that cannot be reached. Each run keeps its keys under a prefix of its
//! own, and removes them.
#![cfg(feature = "redis")]

use globus_app_storage::testing::{
    conformance, conformance_lease, conformance_shared, sample_token,
};
use globus_app_storage::{RedisTokenStorage, StorageError, TokenStorage};
use std::sync::atomic::{AtomicUsize, Ordering};

fn url() -> String {
    std::env::var("GLOBUS_APP_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// A prefix no other run uses.
fn prefix(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "globus-app-test:{name}:{}:{nanos}:{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn open(prefix: &str) -> RedisTokenStorage {
    RedisTokenStorage::open(&url())
        .expect("open")
        .with_prefix(prefix)
}

#[test]
#[ignore = "needs Redis at 127.0.0.1:6379 (or $GLOBUS_APP_REDIS_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn passes_the_conformance_suites() {
    conformance(|| open(&prefix("fresh")));
    let shared = prefix("shared");
    conformance_shared(|| open(&shared));
    let leases = prefix("leases");
    conformance_lease(|| open(&leases), std::thread::sleep);
}

#[test]
#[ignore = "needs Redis at 127.0.0.1:6379 (or $GLOBUS_APP_REDIS_URL); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn keeps_thousands_of_namespaces() {
    let prefix = prefix("many");
    let storage = open(&prefix);
    for i in 0..3000 {
        storage
            .store_token_data(
                &format!("user-{i}"),
                &[sample_token("transfer.api.globus.org")],
            )
            .expect("store");
    }
    for i in [0, 1234, 2999] {
        let tokens = storage
            .get_token_data_by_resource_server(&format!("user-{i}"))
            .expect("read");
        assert_eq!(tokens.len(), 1);
    }
    for i in 0..3000 {
        storage
            .remove_token_data(&format!("user-{i}"), "transfer.api.globus.org")
            .expect("remove");
    }
}

#[test]
fn a_server_that_cannot_be_reached_is_a_typed_error_without_the_password() {
    let storage = RedisTokenStorage::open("redis://user:hunter2@127.0.0.1:1/").expect("open");
    let error = storage
        .get_token_data_by_resource_server("DEFAULT")
        .unwrap_err();
    assert!(matches!(error, StorageError::Server { .. }), "{error:?}");
    let shown = format!("{error} {error:?} {storage:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
}
