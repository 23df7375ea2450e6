//! The conformance suite, run against every storage of this crate.

use globus_app_storage::testing::{conformance, conformance_lease, conformance_shared};
use globus_app_storage::{JsonTokenStorage, MemoryTokenStorage, TokenStorage};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn memory() {
    // One handle per store: there is no second handle to check with
    // `conformance_shared` (clones of an `Arc` share one close).
    conformance(MemoryTokenStorage::new);
}

#[test]
fn memory_leases() {
    // Leases on a clock the test moves: no waiting.
    use std::sync::atomic::AtomicI64;
    let now = Arc::new(AtomicI64::new(0));
    let clock = Arc::clone(&now);
    let store =
        Arc::new(MemoryTokenStorage::new().with_lease_clock(move || clock.load(Ordering::SeqCst)));
    conformance_lease(
        || Arc::clone(&store),
        |d| {
            now.fetch_add(i64::try_from(d.as_millis()).expect("ms"), Ordering::SeqCst);
        },
    );
}

#[test]
fn json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    conformance(|| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        JsonTokenStorage::new(dir.path().join(format!("dir-{i}/tokens.json")))
    });
    conformance_shared(|| JsonTokenStorage::new(dir.path().join("shared.json")));
    // Leases in `<file>.leases`, on the machine's clock: the expiry case waits.
    conformance_lease(
        || JsonTokenStorage::new(dir.path().join("leases.json")),
        std::thread::sleep,
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite() {
    use globus_app_storage::SqliteTokenStorage;
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    conformance(|| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        SqliteTokenStorage::open(dir.path().join(format!("dir-{i}/tokens.db"))).expect("open")
    });
    conformance_shared(|| SqliteTokenStorage::open(dir.path().join("shared.db")).expect("open"));
    // SQLite's clock is the system's: the expiry case waits for it (half a second).
    conformance_lease(
        || SqliteTokenStorage::open(dir.path().join("leases.db")).expect("open"),
        std::thread::sleep,
    );
}

#[test]
fn through_arc_dyn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    conformance(|| -> Arc<dyn TokenStorage> {
        let i = n.fetch_add(1, Ordering::Relaxed);
        Arc::new(JsonTokenStorage::new(dir.path().join(format!("{i}.json"))))
    });
}

/// The suite must catch a storage that breaks the contract.
#[test]
fn catches_a_broken_storage() {
    use globus_app_storage::{StorageError, TokenData};
    use std::collections::BTreeMap;

    /// Forgets every store but the last resource server's.
    #[derive(Debug, Default)]
    struct Forgetful(MemoryTokenStorage);
    impl TokenStorage for Forgetful {
        fn store_token_data(&self, ns: &str, tokens: &[TokenData]) -> Result<(), StorageError> {
            self.0
                .store_token_data(ns, tokens.last().map(std::slice::from_ref).unwrap_or(&[]))
        }
        fn get_token_data_by_resource_server(
            &self,
            ns: &str,
        ) -> Result<BTreeMap<String, TokenData>, StorageError> {
            self.0.get_token_data_by_resource_server(ns)
        }
        fn remove_token_data(&self, ns: &str, rs: &str) -> Result<bool, StorageError> {
            self.0.remove_token_data(ns, rs)
        }
    }
    let panic =
        std::panic::catch_unwind(|| conformance(Forgetful::default)).expect_err("must fail");
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        message.contains("case \"store several resource servers at once\" failed"),
        "{message}"
    );
}
