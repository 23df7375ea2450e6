//! Tokens that live shorter than the renewal lead: the fake Globus Auth issues 30 s
//! access tokens while the apps renew 60 s before expiry (their default), so every
//! token is due for renewal the moment it arrives. Every operation must still end,
//! and with few requests:
//!
//! - a token just obtained (login, refresh, client credentials) is served by the
//!   operation that obtained it and by the callers queued behind it, as long as it
//!   is valid now, and by the hot path for 2 s of the app's clock (so threads of a
//!   crowd that arrive just after the renewal finished share it too);
//! - a later call that finds a cached token inside the lead renews it, once;
//! - a crowd of callers (200 threads for the blocking adapter, 200 tasks for the
//!   async ones) on a due token causes one token request in all.
//!
//! Every call runs under a watchdog: a call that does not return within
//! [`WATCHDOG`] fails the test with the number of token requests the fake saw
//! meanwhile, instead of hanging. Time moves on the fake's clock and the apps'
//! manual clock together ([`World::advance`]); nothing sleeps. Written once, run
//! for every runtime; test names read `runtime::test`.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use globus_app_core::app::Error;
use globus_app_e2e::{AppApi, Backend, Runtime, TRANSFER, UserApi, World};
use globus_app_testing::Endpoint;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The access-token lifetime the fake issues: shorter than the renewal lead.
const SHORT_LIFETIME: u64 = 30;
/// How far the clock moves between calls, so the next call is a later one: the
/// token is still valid, but inside the lead.
const STEP: i64 = 5;
/// How many callers ask at once.
const CALLERS: usize = 200;
/// How long one call may take before the test fails.
const WATCHDOG: Duration = Duration::from_secs(20);

/// Generates the tests for each runtime.
macro_rules! short_tokens {
    ($($module:ident: $runtime:ty),* $(,)?) => {
        $(
            mod $module {
                #[test]
                fn client_app_renews_once_per_call_and_once_per_crowd() {
                    crate::client_app::<$runtime>();
                }
                #[test]
                fn user_app_renews_once_per_call_and_once_per_crowd() {
                    crate::user_app::<$runtime>();
                }
            }
        )*
    };
}

short_tokens!(
    blocking: globus_app_e2e::Blocking,
    tokio: globus_app_e2e::Tokio,
    async_std: globus_app_e2e::AsyncStd,
);

/// `authorization_header` from many callers at once, each runtime its own way:
/// threads for the blocking adapter, tasks for the async ones. They wait at a
/// barrier first, so they all ask while the token is due.
trait Crowd: AppApi {
    fn crowd_headers(
        &self,
        resource_server: &'static str,
        callers: usize,
    ) -> Vec<Result<String, Error>>;
}

/// Implements [`Crowd`] for a blocking app: one thread per caller.
macro_rules! crowd_of_threads {
    ($($app:ty),*) => {
        $(
            impl Crowd for $app {
                fn crowd_headers(
                    &self,
                    resource_server: &'static str,
                    callers: usize,
                ) -> Vec<Result<String, Error>> {
                    let barrier = Arc::new(std::sync::Barrier::new(callers));
                    let threads: Vec<_> = (0..callers)
                        .map(|_| {
                            let app = self.clone();
                            let barrier = barrier.clone();
                            std::thread::spawn(move || {
                                barrier.wait();
                                app.authorization_header(resource_server)
                            })
                        })
                        .collect();
                    threads.into_iter().map(|t| t.join().unwrap()).collect()
                }
            }
        )*
    };
}

/// Implements [`Crowd`] for an async app: one task per caller, spawned with
/// `$spawn` inside `$block_on`.
macro_rules! crowd_of_tasks {
    ($block_on:path, $spawn:path, $($app:ty),*) => {
        $(
            impl Crowd for $app {
                fn crowd_headers(
                    &self,
                    resource_server: &'static str,
                    callers: usize,
                ) -> Vec<Result<String, Error>> {
                    $block_on(async {
                        let barrier = Arc::new(async_lock::Barrier::new(callers));
                        let tasks: Vec<_> = (0..callers)
                            .map(|_| {
                                let app = self.clone();
                                let barrier = barrier.clone();
                                $spawn(async move {
                                    barrier.wait().await;
                                    <$app>::authorization_header(&app, resource_server).await
                                })
                            })
                            .collect();
                        let mut headers = Vec::with_capacity(callers);
                        for task in tasks {
                            headers.push(task.await);
                        }
                        headers
                    })
                }
            }
        )*
    };
}

crowd_of_threads!(globus_app_blocking::UserApp, globus_app_blocking::ClientApp);
crowd_of_tasks!(
    globus_app_e2e::tokio_block_on,
    tokio_spawn,
    globus_app_tokio::UserApp,
    globus_app_tokio::ClientApp
);
crowd_of_tasks!(
    ::async_std::task::block_on,
    ::async_std::task::spawn,
    globus_app_async_std::UserApp,
    globus_app_async_std::ClientApp
);

fn tokio_spawn<F>(future: F) -> impl Future<Output = F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handle = ::tokio::spawn(future);
    async move { handle.await.unwrap() }
}

/// A ClientApp: its first call makes exactly one request (client credentials) and
/// is served that token; a later call renews once; a crowd renews once.
fn client_app<R: Runtime>()
where
    R::ClientApp: Crowd,
{
    let started = Instant::now();
    let w = world();
    let app = w.client_app::<R>();

    let first = header(&w, &app, "the client app's first authorization_header");
    assert_eq!(
        grants(&w),
        ["client_credentials"],
        "the first call makes exactly one request: {}",
        token_log(&w)
    );
    let first_requests = token_requests(&w);

    w.advance(STEP);
    let second = header(&w, &app, "the client app's second authorization_header");
    assert_ne!(second, first, "a token inside the lead is renewed");
    assert_eq!(
        grants(&w),
        ["client_credentials"; 2],
        "a later call inside the lead renews once: {}",
        token_log(&w)
    );

    w.advance(STEP);
    let what = "the client app's crowd of callers";
    let headers = crowd(&w, &app, what);
    assert_eq!(
        grants(&w),
        ["client_credentials"; 3],
        "{CALLERS} callers on a due token cause one request (they got {} different \
         tokens): {}",
        distinct(&headers),
        token_log(&w)
    );
    one_new_header(&headers, &second, what);

    report::<R>("client app", [first_requests, 1, 1], started);
}

/// A UserApp with refresh tokens: a login makes one code exchange and no refresh;
/// each later call renews at most once (the one after the clock moved, exactly
/// once); a crowd refreshes once.
fn user_app<R: Runtime>()
where
    R::UserApp: Crowd,
{
    let started = Instant::now();
    let w = world();
    let app = w.user_app::<R>(w.config().request_refresh_tokens(true));

    let login = app.clone();
    within(&w, "the user app's login", move || {
        login.login(None, false).unwrap();
    });
    assert_eq!(w.authorize_count(), 1);
    assert_eq!(
        grants(&w),
        ["authorization_code"],
        "a login makes one code exchange and no refresh: {}",
        token_log(&w)
    );

    let before = token_requests(&w);
    let first = header(&w, &app, "the user app's first authorization_header");
    let first_requests = token_requests(&w) - before;
    assert!(
        first_requests <= 1,
        "one call renews at most once: {}",
        token_log(&w)
    );
    assert_eq!(w.refresh_count(), first_requests, "{}", token_log(&w));

    w.advance(STEP);
    let second = header(&w, &app, "the user app's second authorization_header");
    assert_ne!(second, first, "a token inside the lead is renewed");
    assert_eq!(
        w.refresh_count(),
        first_requests + 1,
        "a later call inside the lead refreshes once: {}",
        token_log(&w)
    );

    w.advance(STEP);
    let what = "the user app's crowd of callers";
    let headers = crowd(&w, &app, what);
    assert_eq!(
        w.refresh_count(),
        first_requests + 2,
        "{CALLERS} callers on a due token cause one refresh (they got {} different \
         tokens): {}",
        distinct(&headers),
        token_log(&w)
    );
    one_new_header(&headers, &second, what);

    // A refresh token is enough the whole way: no second login, no other grant.
    assert_eq!(w.authorize_count(), 1);
    assert_eq!(
        token_requests(&w),
        1 + first_requests + 2,
        "{}",
        token_log(&w)
    );
    report::<R>("user app", [first_requests, 1, 1], started);
}

/// A world whose fake Globus Auth issues tokens shorter-lived than the lead.
fn world() -> World {
    let w = World::new(Backend::Memory);
    w.fake.set_token_lifetime(SHORT_LIFETIME);
    w
}

/// One `authorization_header` call under the watchdog; the header must be one the
/// fake accepts.
fn header<A: AppApi>(w: &World, app: &A, what: &str) -> String {
    let app = app.clone();
    let header = within(w, what, move || app.authorization_header(TRANSFER).unwrap());
    assert_accepted(w, &header, what);
    header
}

/// [`CALLERS`] `authorization_header` calls at once, under one watchdog; each
/// must succeed with a header the fake accepts. Returns the headers.
fn crowd<A: Crowd>(w: &World, app: &A, what: &str) -> Vec<String> {
    let app = app.clone();
    let results = within(w, what, move || app.crowd_headers(TRANSFER, CALLERS));
    assert_eq!(results.len(), CALLERS);
    let headers: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{what}: a caller failed: {e}")))
        .collect();
    for header in &headers {
        assert_accepted(w, header, what);
    }
    headers
}

/// The crowd's headers are one and the same, and not `previous`.
fn one_new_header(headers: &[String], previous: &str, what: &str) {
    assert!(
        headers.iter().all(|h| *h == headers[0]),
        "{what}: the callers got {} different tokens",
        distinct(headers)
    );
    assert_ne!(headers[0], previous, "{what}: the token is a renewed one");
}

fn distinct(headers: &[String]) -> usize {
    headers
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Runs `call` on its own thread (an async runtime's `block_on` included) and
/// waits at most [`WATCHDOG`] for it; panics with a clear message, and the fake's
/// count of token requests meanwhile, if it does not return. A stuck call's thread
/// is left behind: it ends once the fake server is dropped with the test.
fn within<T: Send + 'static>(
    w: &World,
    what: &str,
    call: impl FnOnce() -> T + Send + 'static,
) -> T {
    let before = token_requests(w);
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(call());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => {
            let during = token_requests(w) - before;
            panic!(
                "watchdog: {what} did not return within {WATCHDOG:?}; the fake Globus Auth \
                 answered {during} token requests meanwhile (an operation that never ends, \
                 renewing a token shorter-lived than the renewal lead again and again?)"
            );
        }
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("{what} ended without a result"),
        },
    }
}

fn assert_accepted(w: &World, header: &str, what: &str) {
    let token = header
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("{what}: not a bearer header"));
    assert!(
        w.fake.is_access_token_active(token),
        "{what}: the fake Globus Auth does not accept the token returned"
    );
}

/// The token endpoint's log, one line a request (no secrets).
fn token_log(w: &World) -> String {
    let start = w.fake.requests().first().map_or(0, |r| r.at);
    w.fake
        .requests_to(Endpoint::Token)
        .iter()
        .map(|r| {
            format!(
                "\n  {} {} grant_type={} -> {:?} at t0+{}s",
                r.method,
                r.path,
                r.grant_type().unwrap_or("(none)"),
                r.status,
                r.at - start
            )
        })
        .collect()
}

fn token_requests(w: &World) -> usize {
    w.fake.requests_to(Endpoint::Token).len()
}

/// The grant types of the token requests, in order.
fn grants(w: &World) -> Vec<String> {
    w.fake
        .requests_to(Endpoint::Token)
        .iter()
        .map(|r| r.grant_type().unwrap_or("(none)").to_owned())
        .collect()
}

/// Prints what a test saw (`--nocapture` shows it).
fn report<R: Runtime>(app: &str, [first, second, crowd]: [usize; 3], started: Instant) {
    eprintln!(
        "{} {app}: token requests: first call {first}, later call {second}, \
         {CALLERS} callers {crowd}; {:.2?}",
        std::any::type_name::<R>(),
        started.elapsed()
    );
}
