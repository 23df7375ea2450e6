//! The conformance suite every [`TokenStorage`] must pass, for your own storage too.
//!
//! This module is always compiled (it has no dependencies of its own and costs
//! nothing unless called). Call [`conformance`] from a test with a function that
//! makes a fresh, empty storage; a file- or server-backed storage, where several
//! handles can be opened on one store, should also pass [`conformance_shared`],
//! which checks that two handles on one store see each other's writes and that
//! closing one leaves the others working. Both panic with a message naming the
//! failed case.
//!
//! ```
//! use globus_app_storage::{MemoryTokenStorage, testing};
//! testing::conformance(MemoryTokenStorage::new);
//! ```
//!
//! A file-backed storage, each call a new file:
//!
//! ```
//! use globus_app_storage::{JsonTokenStorage, testing};
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let n = AtomicUsize::new(0);
//! testing::conformance(|| {
//!     JsonTokenStorage::new(dir.path().join(format!("{}.json", n.fetch_add(1, Ordering::Relaxed))))
//! });
//! testing::conformance_shared(|| JsonTokenStorage::new(dir.path().join("shared.json")));
//! ```

use crate::{DEFAULT_NAMESPACE, StorageError, TokenData, TokenStorage};
use globus_app_core::{AccessToken, RefreshToken};
use std::collections::BTreeMap;

/// Returns made-up token data for `resource_server`, with every field set and no
/// extra fields. The tokens are not real.
///
/// ```
/// let token = globus_app_storage::testing::sample_token("transfer.api.globus.org");
/// assert_eq!(token.resource_server, "transfer.api.globus.org");
/// assert!(token.refresh_token.is_some());
/// ```
pub fn sample_token(resource_server: &str) -> TokenData {
    TokenData {
        resource_server: resource_server.to_owned(),
        identity_id: Some("b0b1e1e0-0000-4000-8000-00000000c0de".to_owned()),
        scope: format!("urn:globus:auth:scope:{resource_server}:all"),
        access_token: AccessToken::new(format!("fake-access-token-{resource_server}")),
        refresh_token: Some(RefreshToken::new(format!(
            "fake-refresh-token-{resource_server}"
        ))),
        expires_at_seconds: 2_000_000_000,
        token_type: Some("Bearer".to_owned()),
        extra: BTreeMap::new(),
    }
}

/// Token data with only the required fields, and extra fields of every JSON type.
fn sparse_token(resource_server: &str) -> TokenData {
    let mut token = sample_token(resource_server);
    token.identity_id = None;
    token.refresh_token = None;
    token.token_type = None;
    token.expires_at_seconds = -1;
    token.extra = serde_json::json!({
        "future_field": {"nested": [1, "two", null, true, 2.5]},
        "empty": {},
        "null_field": null,
        "big": i64::MAX,
    })
    .as_object()
    .map(|m| m.clone().into_iter().collect())
    .unwrap_or_default();
    token
}

fn with_access_token(mut token: TokenData, access_token: &str) -> TokenData {
    token.access_token = AccessToken::new(access_token);
    token
}

type CaseResult = Result<(), String>;
type Case = (&'static str, fn(&dyn TokenStorage) -> CaseResult);

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Turns a storage error into a case failure.
fn op<T>(what: &str, result: Result<T, StorageError>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e}"))
}

fn keys(map: &BTreeMap<String, TokenData>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

/// Checks that `found` is `expected`, comparing the tokens too (which `Debug` hides).
fn same(what: &str, found: Option<&TokenData>, expected: &TokenData) -> CaseResult {
    let Some(found) = found else {
        return Err(format!("{what}: no token data found"));
    };
    ensure!(
        found.access_token.secret() == expected.access_token.secret(),
        "{what}: wrong access token"
    );
    ensure!(
        found.refresh_token.as_ref().map(RefreshToken::secret)
            == expected.refresh_token.as_ref().map(RefreshToken::secret),
        "{what}: wrong refresh token"
    );
    ensure!(
        found == expected,
        "{what}: found {found:?}, expected {expected:?}"
    );
    Ok(())
}

/// Checks that `result` is the error of a closed storage.
fn refused<T>(what: &str, result: Result<T, StorageError>) -> CaseResult {
    match result {
        Err(StorageError::Closed { .. }) => Ok(()),
        Err(other) => Err(format!(
            "{what} after close failed with {other:?}, expected StorageError::Closed"
        )),
        Ok(_) => Err(format!("{what} after close succeeded; it must fail")),
    }
}

const CASES: [Case; 14] = [
    ("an empty storage has nothing", |s| {
        ensure!(
            op(
                "get all",
                s.get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            )?
            .is_empty(),
            "a new storage returned token data"
        );
        ensure!(
            op("get one", s.get_token_data(DEFAULT_NAMESPACE, "a"))?.is_none(),
            "a new storage returned token data"
        );
        ensure!(
            !op("remove", s.remove_token_data(DEFAULT_NAMESPACE, "a"))?,
            "remove reported removing something from an empty storage"
        );
        op("store nothing", s.store_token_data(DEFAULT_NAMESPACE, &[]))?;
        ensure!(
            op(
                "get all",
                s.get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            )?
            .is_empty(),
            "storing nothing stored something"
        );
        Ok(())
    }),
    ("store one, get it back", |s| {
        let a = sample_token("auth.globus.org");
        op(
            "store",
            s.store_token_data(DEFAULT_NAMESPACE, std::slice::from_ref(&a)),
        )?;
        let one = op(
            "get one",
            s.get_token_data(DEFAULT_NAMESPACE, "auth.globus.org"),
        )?;
        same("get one", one.as_ref(), &a)?;
        let all = op(
            "get all",
            s.get_token_data_by_resource_server(DEFAULT_NAMESPACE),
        )?;
        ensure!(
            keys(&all) == ["auth.globus.org"],
            "get all returned {:?}",
            keys(&all)
        );
        same("get all", all.get("auth.globus.org"), &a)
    }),
    ("store several resource servers at once", |s| {
        let tokens: Vec<TokenData> = [
            "auth.globus.org",
            "transfer.api.globus.org",
            "groups.api.globus.org",
        ]
        .into_iter()
        .map(sample_token)
        .collect();
        op("store", s.store_token_data(DEFAULT_NAMESPACE, &tokens))?;
        let all = op(
            "get all",
            s.get_token_data_by_resource_server(DEFAULT_NAMESPACE),
        )?;
        ensure!(all.len() == 3, "get all returned {:?}", keys(&all));
        for token in &tokens {
            same("get all", all.get(&token.resource_server), token)?;
            let one = op(
                "get one",
                s.get_token_data(DEFAULT_NAMESPACE, &token.resource_server),
            )?;
            same("get one", one.as_ref(), token)?;
        }
        Ok(())
    }),
    (
        "a store replaces one resource server's data and keeps the others",
        |s| {
            let a1 = sample_token("a");
            let b = sample_token("b");
            op(
                "store",
                s.store_token_data(DEFAULT_NAMESPACE, &[a1, b.clone()]),
            )?;
            let a2 = with_access_token(sparse_token("a"), "second-access-token");
            op(
                "store",
                s.store_token_data(DEFAULT_NAMESPACE, std::slice::from_ref(&a2)),
            )?;
            let all = op(
                "get all",
                s.get_token_data_by_resource_server(DEFAULT_NAMESPACE),
            )?;
            ensure!(
                keys(&all) == ["a", "b"],
                "get all returned {:?}",
                keys(&all)
            );
            same("the replaced resource server", all.get("a"), &a2)?;
            same("the other resource server", all.get("b"), &b)
        },
    ),
    (
        "the last of duplicate resource servers in one store wins",
        |s| {
            let first = with_access_token(sample_token("a"), "first");
            let last = with_access_token(sample_token("a"), "last");
            op(
                "store",
                s.store_token_data(DEFAULT_NAMESPACE, &[first, last.clone()]),
            )?;
            let one = op("get one", s.get_token_data(DEFAULT_NAMESPACE, "a"))?;
            same("get one", one.as_ref(), &last)
        },
    ),
    ("namespaces are separate", |s| {
        let a = sample_token("a");
        let b = sample_token("b");
        op(
            "store",
            s.store_token_data("app-one", std::slice::from_ref(&a)),
        )?;
        op(
            "store",
            s.store_token_data("app-two", std::slice::from_ref(&b)),
        )?;
        let one = op("get all", s.get_token_data_by_resource_server("app-one"))?;
        ensure!(
            keys(&one) == ["a"],
            "namespace app-one holds {:?}",
            keys(&one)
        );
        ensure!(
            op("get one", s.get_token_data("app-two", "a"))?.is_none(),
            "namespace app-two returned app-one's data"
        );
        ensure!(
            op(
                "get all",
                s.get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            )?
            .is_empty(),
            "namespace DEFAULT returned another namespace's data"
        );
        ensure!(
            !op("remove", s.remove_token_data("app-two", "a"))?,
            "remove in app-two removed app-one's data"
        );
        same(
            "app-one after a remove in app-two",
            op("get one", s.get_token_data("app-one", "a"))?.as_ref(),
            &a,
        )?;
        same(
            "app-two",
            op("get one", s.get_token_data("app-two", "b"))?.as_ref(),
            &b,
        )
    }),
    ("remove reports what it removed and keeps the rest", |s| {
        let b = sample_token("b");
        op(
            "store",
            s.store_token_data(DEFAULT_NAMESPACE, &[sample_token("a"), b.clone()]),
        )?;
        ensure!(
            op("remove", s.remove_token_data(DEFAULT_NAMESPACE, "a"))?,
            "remove of stored data returned false"
        );
        ensure!(
            !op("remove", s.remove_token_data(DEFAULT_NAMESPACE, "a"))?,
            "a second remove returned true"
        );
        ensure!(
            op("get one", s.get_token_data(DEFAULT_NAMESPACE, "a"))?.is_none(),
            "removed data is still there"
        );
        let all = op(
            "get all",
            s.get_token_data_by_resource_server(DEFAULT_NAMESPACE),
        )?;
        ensure!(
            keys(&all) == ["b"],
            "after the remove, get all returned {:?}",
            keys(&all)
        );
        same("the other resource server", all.get("b"), &b)
    }),
    (
        "absent optional fields and extra fields survive a round trip",
        |s| {
            let sparse = sparse_token("sparse");
            let full = sample_token("full");
            op(
                "store",
                s.store_token_data(DEFAULT_NAMESPACE, &[sparse.clone(), full.clone()]),
            )?;
            same(
                "sparse token data",
                op("get one", s.get_token_data(DEFAULT_NAMESPACE, "sparse"))?.as_ref(),
                &sparse,
            )?;
            same(
                "full token data",
                op("get one", s.get_token_data(DEFAULT_NAMESPACE, "full"))?.as_ref(),
                &full,
            )
        },
    ),
    ("unusual names and values are kept exactly", |s| {
        let namespaces = [
            "ns with spaces/and \"quotes\"",
            "ünïcödé ✓",
            "DEFAULT.lock",
            "'; DROP TABLE token_storage; --",
        ];
        let mut odd = sample_token("rs.with/slash and \u{1F511} and \\backslash");
        odd.scope = "a b[c d] *e".to_owned();
        odd.access_token = AccessToken::new("\"quoted\" \\ \n\t token\u{0}with nul");
        for namespace in namespaces {
            op(
                "store",
                s.store_token_data(namespace, std::slice::from_ref(&odd)),
            )?;
        }
        for namespace in namespaces {
            let all = op("get all", s.get_token_data_by_resource_server(namespace))?;
            ensure!(
                all.len() == 1,
                "namespace {namespace:?} holds {:?}",
                keys(&all)
            );
            same(namespace, all.get(&odd.resource_server), &odd)?;
        }
        Ok(())
    }),
    ("many resource servers in one store", |s| {
        let tokens: Vec<TokenData> = (0..50)
            .map(|i| sample_token(&format!("rs-{i:02}")))
            .collect();
        op("store", s.store_token_data(DEFAULT_NAMESPACE, &tokens))?;
        let all = op(
            "get all",
            s.get_token_data_by_resource_server(DEFAULT_NAMESPACE),
        )?;
        ensure!(all.len() == 50, "get all returned {} of 50", all.len());
        for token in &tokens {
            same("get all", all.get(&token.resource_server), token)?;
        }
        Ok(())
    }),
    (
        "a closed storage refuses every operation; closing again is harmless",
        |s| {
            op(
                "store",
                s.store_token_data(DEFAULT_NAMESPACE, &[sample_token("a")]),
            )?;
            op("close", s.close())?;
            op("a second close", s.close())?;
            refused(
                "get all",
                s.get_token_data_by_resource_server(DEFAULT_NAMESPACE),
            )?;
            refused("get one", s.get_token_data(DEFAULT_NAMESPACE, "a"))?;
            refused(
                "store",
                s.store_token_data(DEFAULT_NAMESPACE, &[sample_token("b")]),
            )?;
            refused("remove", s.remove_token_data(DEFAULT_NAMESPACE, "a"))?;
            refused("load", s.load_namespace(DEFAULT_NAMESPACE))
        },
    ),
    ("load_namespace returns what get all returns", |s| {
        let loaded = op("load", s.load_namespace(DEFAULT_NAMESPACE))?;
        ensure!(
            loaded.tokens.is_empty() && loaded.unreadable.is_empty(),
            "load of an empty storage returned {:?}",
            loaded
        );
        let tokens = [sample_token("a"), sparse_token("b")];
        op("store", s.store_token_data(DEFAULT_NAMESPACE, &tokens))?;
        op("store", s.store_token_data("other", &[sample_token("c")]))?;
        let loaded = op("load", s.load_namespace(DEFAULT_NAMESPACE))?;
        ensure!(
            loaded.unreadable.is_empty(),
            "load reported readable entries as unreadable: {:?}",
            loaded.unreadable
        );
        ensure!(
            keys(&loaded.tokens) == ["a", "b"],
            "load returned {:?}",
            keys(&loaded.tokens)
        );
        for token in &tokens {
            same("load", loaded.tokens.get(&token.resource_server), token)?;
        }
        Ok(())
    }),
    ("concurrent stores from threads are all kept", |s| {
        concurrent_stores(&[s, s, s, s, s, s, s, s])
    }),
    (
        "works through Box<dyn TokenStorage>-style indirection",
        |s| {
            let boxed: Box<&dyn TokenStorage> = Box::new(s);
            let shared = std::sync::Arc::new(boxed);
            let a = sample_token("a");
            op(
                "store",
                shared.store_token_data(DEFAULT_NAMESPACE, std::slice::from_ref(&a)),
            )?;
            same(
                "get one",
                op("get one", s.get_token_data(DEFAULT_NAMESPACE, "a"))?.as_ref(),
                &a,
            )?;
            ensure!(
                op("remove", shared.remove_token_data(DEFAULT_NAMESPACE, "a"))?,
                "remove returned false"
            );
            Ok(())
        },
    ),
];

/// Every handle stores its own resource servers, several times, from its own thread;
/// afterwards every resource server holds its last value.
fn concurrent_stores(handles: &[&dyn TokenStorage]) -> CaseResult {
    const ROUNDS: usize = 5;
    let results: Vec<CaseResult> = std::thread::scope(|scope| {
        let threads: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(i, s)| {
                scope.spawn(move || {
                    for round in 0..ROUNDS {
                        let token = with_access_token(
                            sample_token(&format!("thread-{i}")),
                            &format!("round-{round}"),
                        );
                        op("store", s.store_token_data(DEFAULT_NAMESPACE, &[token]))?;
                    }
                    Ok(())
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("a storing thread panicked".to_owned()))
            })
            .collect()
    });
    results.into_iter().collect::<CaseResult>()?;
    let all = op(
        "get all",
        handles[0].get_token_data_by_resource_server(DEFAULT_NAMESPACE),
    )?;
    for i in 0..handles.len() {
        let rs = format!("thread-{i}");
        let expected = with_access_token(sample_token(&rs), &format!("round-{}", ROUNDS - 1));
        same(
            &format!("{rs} after concurrent stores"),
            all.get(&rs),
            &expected,
        )?;
    }
    ensure!(
        all.len() == handles.len(),
        "get all returned {:?}",
        keys(&all)
    );
    Ok(())
}

/// Runs the conformance suite: `make` must return a new, empty storage at each call.
///
/// Checks storing one and several resource servers, replacing, duplicate resource
/// servers in one call (the last wins), separate namespaces, removing, absent optional
/// fields and extra fields, unusual names and token values, 50 resource servers at
/// once, concurrent stores from threads, use through `dyn TokenStorage`,
/// [`load_namespace`](TokenStorage::load_namespace) of readable data, and that
/// after [`close`](TokenStorage::close) every operation fails with
/// [`StorageError::Closed`] and closing again is harmless.
///
/// # Panics
///
/// On the first failed case, with a message that names it. The message never contains
/// a token (token data is shown through its redacting `Debug`).
pub fn conformance<S: TokenStorage>(make: impl Fn() -> S) {
    for (name, case) in CASES {
        let storage = make();
        if let Err(message) = case(&storage) {
            panic!("TokenStorage conformance: case {name:?} failed for {storage:?}: {message}");
        }
        if let Err(e) = storage.close() {
            panic!(
                "TokenStorage conformance: close failed after case {name:?} for {storage:?}: {e}"
            );
        }
    }
}

/// Runs the checks for storages with several handles on one store (a file, a
/// server): every call of `open` must return a new handle to the same store, which is
/// empty at the first call.
///
/// Checks that one handle's stores and removes are seen by another, that concurrent
/// stores through different handles are all kept, and that closing one handle leaves
/// the others working.
///
/// # Panics
///
/// On the first failed check, with a message that names it.
pub fn conformance_shared<S: TokenStorage>(open: impl Fn() -> S) {
    let fail = |name: &str, message: String| -> ! {
        panic!("TokenStorage shared-store conformance: case {name:?} failed: {message}")
    };
    let check = |name: &str, result: CaseResult| {
        if let Err(message) = result {
            fail(name, message);
        }
    };
    let first = open();
    let second = open();

    check(
        "an empty store",
        (|| {
            ensure!(
                op(
                    "get all",
                    first.get_token_data_by_resource_server(DEFAULT_NAMESPACE)
                )?
                .is_empty(),
                "the first handle found token data in a new store"
            );
            Ok(())
        })(),
    );

    check(
        "one handle sees another's stores and removes",
        (|| {
            let a = sample_token("a");
            op(
                "store",
                first.store_token_data(DEFAULT_NAMESPACE, std::slice::from_ref(&a)),
            )?;
            same(
                "the other handle",
                op("get one", second.get_token_data(DEFAULT_NAMESPACE, "a"))?.as_ref(),
                &a,
            )?;
            let a2 = with_access_token(sparse_token("a"), "replaced");
            op(
                "store",
                second.store_token_data(DEFAULT_NAMESPACE, std::slice::from_ref(&a2)),
            )?;
            same(
                "the first handle",
                op("get one", first.get_token_data(DEFAULT_NAMESPACE, "a"))?.as_ref(),
                &a2,
            )?;
            ensure!(
                op("remove", second.remove_token_data(DEFAULT_NAMESPACE, "a"))?,
                "remove returned false"
            );
            ensure!(
                op("get one", first.get_token_data(DEFAULT_NAMESPACE, "a"))?.is_none(),
                "the first handle still sees data the other removed"
            );
            Ok(())
        })(),
    );

    let handles: Vec<S> = (0..6).map(|_| open()).collect();
    let refs: Vec<&dyn TokenStorage> = handles.iter().map(|h| h as &dyn TokenStorage).collect();
    check(
        "concurrent stores through different handles are all kept",
        concurrent_stores(&refs),
    );

    check(
        "closing one handle leaves the others working",
        (|| {
            op("close", first.close())?;
            let b = sample_token("b");
            op(
                "store",
                second.store_token_data(DEFAULT_NAMESPACE, std::slice::from_ref(&b)),
            )?;
            same(
                "the open handle",
                op("get one", second.get_token_data(DEFAULT_NAMESPACE, "b"))?.as_ref(),
                &b,
            )
        })(),
    );
    for handle in handles.iter().chain([&second]) {
        if let Err(e) = handle.close() {
            fail("close", e.to_string());
        }
    }
}

/// Checks a storage's leases ([`LeaseStorage`](crate::LeaseStorage)): taking one,
/// another owner kept out, extension by the holder, release, expiry on the storage's
/// clock, fences that only grow (across handles too), a fenced write accepted and
/// seen, a stale fenced write refused with nothing written, namespaces kept apart.
///
/// Every call of `open` must return a new handle to the same store (as for
/// [`conformance_shared`]). `wait(d)` must let at least `d` pass on the storage's
/// clock: sleep for a storage that keeps time itself (SQLite, a server), move the
/// clock of one that takes it from you
/// ([`MemoryTokenStorage::with_lease_clock`](crate::MemoryTokenStorage::with_lease_clock)).
/// Leases here live 400 ms.
///
/// # Panics
///
/// On the first failed check, with a message that names it; if the storage keeps no
/// leases.
pub fn conformance_lease<S: TokenStorage>(
    open: impl Fn() -> S,
    wait: impl Fn(std::time::Duration),
) {
    use crate::{Fence, LeaseOutcome};
    use std::time::Duration;
    let fail = |name: &str, message: String| -> ! {
        panic!("LeaseStorage conformance: case {name:?} failed: {message}")
    };
    let first = open();
    let second = open();
    let (Some(a), Some(b)) = (first.leases(), second.leases()) else {
        fail(
            "leases",
            "the storage keeps no leases (`leases()` is None)".to_owned(),
        );
    };
    let ttl = Duration::from_millis(400);
    let ns = "lease-conformance";
    let acquired = |outcome: Result<LeaseOutcome, StorageError>, what: &str| -> Fence {
        match outcome {
            Ok(LeaseOutcome::Acquired(fence)) => fence,
            other => fail(what, format!("expected the lease, got {other:?}")),
        }
    };
    let busy = |outcome: Result<LeaseOutcome, StorageError>, what: &str| match outcome {
        Ok(LeaseOutcome::Busy { remaining }) if remaining <= ttl => {}
        other => fail(
            what,
            format!("expected busy (at most {ttl:?} left), got {other:?}"),
        ),
    };

    let f1 = acquired(a.acquire_lease(ns, "owner-a", ttl), "acquire");
    busy(
        b.acquire_lease(ns, "owner-b", ttl),
        "another owner is kept out",
    );
    let f2 = acquired(a.acquire_lease(ns, "owner-a", ttl), "the holder extends");
    if f2 <= f1 {
        fail("fences grow", format!("{f2} after {f1}"));
    }
    if let Err(e) = b.release_lease(ns, "owner-b") {
        fail("release by another owner", e.to_string());
    }
    busy(
        b.acquire_lease(ns, "owner-b", ttl),
        "a release by another owner does nothing",
    );
    busy(
        b.acquire_lease("lease-conformance-other", "owner-b", ttl)
            .map(|o| match o {
                LeaseOutcome::Acquired(_) => LeaseOutcome::Busy {
                    remaining: Duration::ZERO,
                },
                other => other,
            }),
        "namespaces are apart",
    );
    if let Err(e) = a.release_lease(ns, "owner-a") {
        fail("release", e.to_string());
    }
    let f3 = acquired(b.acquire_lease(ns, "owner-b", ttl), "taken after a release");
    if f3 <= f2 {
        fail("fences grow across handles", format!("{f3} after {f2}"));
    }

    let newer = with_access_token(sample_token("transfer.api.globus.org"), "newer");
    if let Err(e) = b.store_token_data_fenced(ns, std::slice::from_ref(&newer), f3) {
        fail("a fenced write", e.to_string());
    }
    let stale = with_access_token(sample_token("transfer.api.globus.org"), "stale");
    match a.store_token_data_fenced(ns, &[stale], f2) {
        Err(StorageError::Fenced { .. }) => {}
        other => fail("a stale fenced write is refused", format!("{other:?}")),
    }
    match first.get_token_data(ns, "transfer.api.globus.org") {
        Ok(Some(kept)) if kept == newer => {}
        other => fail("the newer token is kept", format!("{other:?}")),
    }

    // b stalls past its time to live: c takes the lease and writes; b's late write
    // is refused.
    wait(ttl + Duration::from_millis(100));
    let f4 = acquired(
        a.acquire_lease(ns, "owner-c", ttl),
        "an expired lease is taken",
    );
    if f4 <= f3 {
        fail("fences grow after expiry", format!("{f4} after {f3}"));
    }
    let third = with_access_token(sample_token("transfer.api.globus.org"), "third");
    if let Err(e) = a.store_token_data_fenced(ns, std::slice::from_ref(&third), f4) {
        fail("the new holder writes", e.to_string());
    }
    match b.store_token_data_fenced(ns, &[newer], f3) {
        Err(StorageError::Fenced { .. }) => {}
        other => fail("the late holder's write is refused", format!("{other:?}")),
    }
    match second.get_token_data(ns, "transfer.api.globus.org") {
        Ok(Some(kept)) if kept == third => {}
        other => fail("the late write changed nothing", format!("{other:?}")),
    }
    let _ = a.release_lease(ns, "owner-c");
    let _ = first.remove_token_data(ns, "transfer.api.globus.org");
    for handle in [&first, &second] {
        if let Err(e) = handle.close() {
            fail("close", e.to_string());
        }
    }
}
